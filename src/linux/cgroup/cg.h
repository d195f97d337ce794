/* Internal to the cgroup layer (cgroup.c: probe, shared helpers, the
 * dispatch; v1.c and v2.c: each version's create, limits, kill and
 * destroy). Nothing outside src/linux/cgroup/ includes this; the rest of
 * the library uses cgroup.h. */
#ifndef CV_CG_H
#define CV_CG_H

#include "cgroup.h"

#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

#define CG_BASE "/sys/fs/cgroup"
#define CG_PARENT "containerv"
#define CG_DRAIN_TIMEOUT_MS 10000 /* processes that do not exit by then: EBUSY */
#define CG_RMDIR_RETRIES 100      /* rmdir EBUSY although empty: retry (yielding) */
#define CG_FREEZE_RETRIES 1000    /* reads of freezer.state while FREEZING */
#define CG_KILL_PASSES 1000       /* kill(2) fallback: passes over cgroup.procs */
#define CG_MAX_DEPTH 32           /* nested cgroups a container may have made */
#define CG_DEFAULT_PERIOD 100000  /* the kernel's default CFS period, µs */
#define CG_BIT(ctrl) (1u << (ctrl))

struct pidlist {
    pid_t *v;
    size_t n, cap;
};

struct cg_write {
    int ctrl; /* v1 hierarchy; unused on v2 */
    const char *step;
    const char *file;
    char value[256];
};

#define CG_MAX_WRITES 16
struct cg_plan {
    struct cg_write w[CG_MAX_WRITES];
    int n;
};

/* the mode probe (cgroup.c): written once under pthread_once, then read-only */
struct cg_probe {
    pthread_once_t once;
    enum cv_cgroup_mode mode;
    char v1_mnt[CV_V1_COUNT][PATH_MAX]; /* "" when the controller is not mounted, or when it
                                         * shares the hierarchy of an earlier one (v1_alias) */
    int v1_alias[CV_V1_COUNT];          /* that earlier controller ("cpu,cpuacct"), else -1 */
};
extern struct cg_probe cg_probe;
extern const char *const cg_v1_names[CV_V1_COUNT];

#define cg_cleanup_pids __attribute__((cleanup(cg_pidlist_free)))

/* cgroup.c: paths, pid lists, walking a subtree, limits */
int cg_path(char *buf, size_t size, int ctrl, const char *id);
int cg_leaf(char *buf, size_t size, const struct cv_cgroup *cg, int ctrl);
int cg_open_dir(const char *path);
void cg_pidlist_free(struct pidlist *l);
int cg_pidlist_add(struct pidlist *l, pid_t pid);
void cg_pidlist_sort_unique(struct pidlist *l);
int cg_collect_tree(int dfd, struct pidlist *out, int depth);
int cg_rmdir(const char *path);
int cg_kill_tree(int dfd, size_t *found);
int cg_kill_loop(int dfd, const char *path, struct containerv_error *err);
int cg_ms_left(uint64_t deadline_ns);
int cg_mkdir_parent(const char *path, struct containerv_error *err);
int cg_mkdir_leaf(const char *path, struct containerv_error *err);
/* A cgroup path's leaf must not go below a cgroup that has processes of its
 * own (a container's: its destroy would take the new one with it; v2 refuses
 * it anyway): each existing ancestor below root_len is checked. */
int cg_check_ancestors(const char *leaf, size_t root_len, struct containerv_error *err);
/* Make the parents of leaf below its first root_len bytes (the hierarchy's
 * root, which exists), existing ones kept; each (if given) is called on the
 * root and every parent, in order, after it exists (v2 enables controllers
 * for its children there). Made parents are left, as runc and crun leave
 * them: another container may be using them already. */
int cg_mkdir_parents(const char *leaf, size_t root_len, int (*each)(const char *dir, struct containerv_error *err),
                     uint8_t *made, struct containerv_error *err);
/* A cgroup path's leaf in one hierarchy (ctrl; v2: 0): the ancestors
 * checked, the parents made (cg->made[ctrl] counts them), the leaf made;
 * again when a peer removed a parent meanwhile. */
int cg_mkdir_path(struct cv_cgroup *cg, const char *leaf, size_t root_len,
                  int (*each)(const char *dir, struct containerv_error *err), int ctrl, struct containerv_error *err);
/* After the leaf's rmdir: the parents made for it, deepest first, while empty. */
void cg_rmdir_made(struct cv_cgroup *cg, const char *leaf, int ctrl);
/* Take path (cv_cgroup_create's argument) as cg's cgroup path; "" or NULL: none. */
int cg_set_path(struct cv_cgroup *cg, const char *path, const char *step, struct containerv_error *err);
/* v as decimal text in buf, or unlimited (CONTAINERV_UNLIMITED) as that word ("max", "-1") */
const char *cg_num(uint64_t v, const char *unlimited, char buf[24]);
__attribute__((format(printf, 5, 6))) void cg_plan_add(struct cg_plan *p, int ctrl, const char *step,
                                                       const char *file, const char *fmt, ...);
/* v1.c */
void cg_v1_plan(const struct cv_limits *l, struct cg_plan *p);
int cg_v1_apply_write(const struct cv_cgroup *cg, const struct cg_write *w, struct containerv_error *err);
int cg_v1_create(struct cv_cgroup *cg, struct containerv_error *err);
int cg_v1_kill(struct cv_cgroup *cg, struct containerv_error *err);
int cg_v1_destroy(struct cv_cgroup *cg, struct containerv_error *err);
/* an O_RDONLY|O_DIRECTORY fd of cg's leaf in hierarchy ctrl, walked from the
 * kept parent directory; -errno */
int cg_v1_open_leaf(const struct cv_cgroup *cg, int ctrl);
/* devices.c: the device rules (after the limits' plan) */
#define CG_DEVICES_MAX_INSNS (8 + 10 * CV_MAX_DEVICE_RULES)
struct bpf_insn;
int cg_devices_apply(const struct cv_cgroup *cg, const struct cv_limits *l, struct containerv_error *err);
/* The v2 program of l's rules into out (at most max instructions): its
 * length, or -errno; *default_allow (if given) says what it does with a
 * device no rule names. For tests and the fuzz target too. */
int cg_devices_program(const struct cv_limits *l, struct bpf_insn *out, int max, bool *default_allow);
/* v2.c */
void cg_v2_plan(const struct cv_limits *l, struct cg_plan *p);
/* enable the cpuset controller on every ancestor of the leaf (an update's cpuset) */
int cg_v2_enable_cpuset(const struct cv_cgroup *cg, struct containerv_error *err);
int cg_v2_create(struct cv_cgroup *cg, struct containerv_error *err);
int cg_v2_kill(struct cv_cgroup *cg, struct containerv_error *err);
int cg_v2_destroy(struct cv_cgroup *cg, struct containerv_error *err);

#endif
