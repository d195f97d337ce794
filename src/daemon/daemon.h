/* `containerv daemon`: its configuration (config.c) and the server
 * (daemon.c, request.c, socket.c); the verb is src/cli/daemon.c.
 * docs/daemon.md. */
#ifndef CV_DAEMON_H
#define CV_DAEMON_H

#include "../cli/cli.h"
#include "proto.h"

#define CVD_MAX_POOLS 64

struct cvd_pool_conf {
    char name[CVD_NAME_MAX];
    int size;
};

/* What the config file and the command line say; every string malloc'd. */
struct cvd_config {
    char *socket, *group, *state_dir, *runtime_dir, *id_prefix;
    struct cvd_pool_conf pools[CVD_MAX_POOLS];
    int n_pools;
    int ready_fd; /* -1: none */
};

/* Read FILE into c: 0, or -1 after one line "containerv: daemon: FILE:LINE: ..." */
int cvd_config_load(const char *file, struct cvd_config *c);
/* "TEMPLATE=SIZE" of --pool: add it, or change the size of the one of that
 * name (the command line overrides the file). 0, or -1 after a message. */
int cvd_config_pool_arg(struct cvd_config *c, const char *arg);
void cvd_config_free(struct cvd_config *c);

/* Run the daemon with the final configuration: the exit code. */
int cvd_serve(struct cvd_config *c); /* closes c->ready_fd once ready (sets it to -1) */

/* The daemon's checks of a client's RUN of n bytes (buf aligned as struct
 * cvd_run) with nfds descriptors: its argv (free it; the strings point into
 * buf), or NULL with *why set. For tests/fuzz. */
char **cvd_parse_run(const void *buf, size_t n, int nfds, const char **why);

#endif
