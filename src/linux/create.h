/* Internal to the create pipeline (container.c: the table and its runner;
 * clone.c: the clone and hand-over steps). */
#ifndef CV_CREATE_H
#define CV_CREATE_H

#include "linux.h"

#define SKIPPED 1 /* a step that had nothing to do: neither timed nor traced */

enum phase { PH_NONE, PH_LAYERS, PH_RESOURCES, PH_NAMESPACES, PH_SECURITY, PH_NETWORK };

struct create_ctx {
    struct containerv_container *c;
    const struct containerv_options *o;
    struct containerv_error *err;
    const char *fault;
    struct cv_child_args a;   /* prepared by the steps before clone, copied into the block */
    struct cv_child_block *block; /* the child's (clone.c), until it executed the init or died */
    int dumpable;      /* 1: a user namespace's child sharing memory, counted (clone.c) */
    int sync_fd;       /* host end */
    uint64_t t_clone;  /* just before clone3 */
    struct cv_sync_msg ready; /* the child's report, then the init's */
    struct cv_place place;
    bool alone; /* no other create of this process in flight */
};

/* clone.c: the steps from clone3 to the child's report */
int step_clone(struct create_ctx *x);
void undo_clone(struct create_ctx *x);
int step_userns(struct create_ctx *x);
int step_cgroup_attach(struct create_ctx *x);
int step_child_ready(struct create_ctx *x);
int step_init_ready(struct create_ctx *x);

#endif
