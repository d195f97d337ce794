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
/* A RUN that finds no warm container waits for a cold create, made by one
 * of COLD_MAX threads (cold.c) while the loop serves the others; at most
 * COLD_PER_UID of the creates in flight are for one uid other than root.
 * Beyond either, the RUN waits in a queue (told QUEUED). */
#define COLD_MAX 4
#define COLD_PER_UID 2

enum ev_kind { EV_LISTEN, EV_SIGNAL, EV_TIMER, EV_CLIENT, EV_PROC, EV_COLD };

struct client;

struct evsrc {
    enum ev_kind kind;
    struct client *cl;
};

enum cstate {
    C_NEW,     /* connected, no request yet */
    C_WAITING, /* its RUN waits in the queue for a cold create (cold.c) */
    C_CREATING, /* a create thread makes its container (the client may be gone) */
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
    /* C_WAITING, C_CREATING: the RUN and its fds, kept until it starts */
    struct cvd_run *run;
    size_t run_len;
    int run_fds[CVD_MAX_FDS];
    int run_nfds;
    /* C_CREATING: written by the create thread, read once it is done */
    int cold_rc;
    struct containerv_error cold_err;
    struct client *qnext; /* the wait queue, or a create thread's list */
    struct client *next;
};

struct cvd_cold;

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
    struct cvd_cold *cold;
    struct evsrc ev_listen, ev_signal, ev_timer, ev_cold;
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
/* The container of a waiting RUN came (cl->c): run the command. */
void cvd_launch(struct daemon *d, struct client *cl);
/* Forget a kept RUN: close its fds, free it. */
void cvd_drop_run(struct client *cl);
/* cold.c: the create threads, their queue and their caps */
int cvd_cold_start(struct daemon *d);
/* cl (C_WAITING, its RUN kept) needs a cold create: start it, or queue it
 * and tell the client QUEUED. */
void cvd_cold_queue(struct daemon *d, struct client *cl);
/* cl left while C_WAITING: out of the queue, C_DEAD. */
void cvd_cold_cancel(struct daemon *d, struct client *cl);
/* EV_COLD: the creates that ended; the next ones start. */
void cvd_cold_done(struct daemon *d);
/* At shutdown: wait for the creates in flight, give back what they made,
 * forget the queue (before the pools go); then stop the threads (after). */
void cvd_cold_quiesce(struct daemon *d);
void cvd_cold_stop(struct daemon *d);
/* socket.c */
int cvd_open_socket(struct daemon *d, const char *path);
int cvd_resolve_group(struct daemon *d, const char *name);

#endif
