/* The daemon's server state, shared by its event loop (daemon.c), the
 * handling of a client's requests (request.c) and the listening socket
 * (socket.c). Internal to src/daemon/. */
#ifndef CV_DAEMON_SERVER_H
#define CV_DAEMON_SERVER_H

#include "daemon.h"

#include <stdint.h>
#include <sys/types.h>

#define MAX_CLIENTS 256        /* beyond: accepted, told BUSY, closed */
#define MAX_CLIENTS_PER_UID (MAX_CLIENTS / 4) /* of one uid other than root */
#define MAX_MSGS_PER_CLIENT 4096
#define READS_PER_WAKEUP 16    /* messages read from one client before others get a turn */
#define ACCEPTS_PER_WAKEUP 64
#define REQUEST_TIMEOUT_NS (10ull * 1000000000ull) /* a connection must ask within 10 s */

enum ev_kind { EV_LISTEN, EV_SIGNAL, EV_TIMER, EV_CLIENT, EV_PROC };

struct client;

struct evsrc {
    enum ev_kind kind;
    struct client *cl;
};

enum cstate {
    C_NEW,     /* connected, no request yet */
    C_RUNNING, /* a command runs for it */
    C_ORPHAN,  /* the client is gone; its command is being killed and reaped */
    C_DEAD,    /* to free at the end of this round */
};

struct dpool {
    char name[CVD_NAME_MAX];
    int size;
    struct containerv_pool *pool;
};

struct client {
    int fd;
    enum cstate st;
    struct evsrc ev_sock, ev_proc;
    struct dpool *dp;
    struct containerv_container *c;
    pid_t pid;
    int pidfd; /* owned by c: only watched here */
    uint64_t deadline;
    unsigned msgs;
    char denied[200]; /* the peer check's refusal, told at its first message */
    bool uncounted;   /* evicted: no longer in n_clients */
    uid_t uid;        /* the peer's, at connect */
    struct client *next;
};

struct daemon {
    int ep, lfd, sig_r, timer, ready_fd;
    bool have_group;
    gid_t gid;
    const char *group;
    const char *socket;
    struct dpool pools[CVD_MAX_POOLS];
    int n_pools;
    struct client *clients;
    int n_clients;
    bool stop;
    struct evsrc ev_listen, ev_signal, ev_timer;
};

/* aligned for the structs it holds (request.c) */
union cvd_rx {
    char buf[CVD_MAX_MSG];
    struct cvd_run run;
};
extern union cvd_rx cvd_rx;

/* daemon.c: the event loop */
void cvd_fail(struct daemon *d, struct client *cl, enum cvd_error_kind kind, int code,
              const char *step, const char *message);
void cvd_hang_up(struct daemon *d, struct client *cl);
int cvd_reclaim(struct daemon *d, struct client *cl, int *code, struct containerv_error *err);
int cvd_watch(struct daemon *d, int fd, struct evsrc *src, enum ev_kind kind);
/* request.c */
void cvd_handle_msg(struct daemon *d, struct client *cl, size_t n, int *fds, int nfds);
/* socket.c */
int cvd_open_socket(struct daemon *d, const char *path);
int cvd_resolve_group(struct daemon *d, const char *name);

#endif
