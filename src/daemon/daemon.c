/* `containerv daemon`: warm pools behind a Unix socket (docs/daemon.md).
 *
 * One event loop (epoll) in the main thread; the pools' background threads
 * do the slow work (create, destroy). Everything the loop waits on is in
 * the epoll set: the listening socket, the clients (nonblocking), the
 * pidfds of the commands that run, a self-pipe for SIGTERM/SIGINT/SIGHUP,
 * and, until the pools are first full, a timer that checks their figures
 * (the pool API has no readiness notification). A client gets one request:
 * RUN (then SIGNALs until EXITED) or STATUS; anything else, or anything
 * malformed, is answered with ERROR and the connection is closed. A client
 * that goes away while its command runs gets the command SIGKILLed, and the
 * container goes back to its pool once the command is reaped. */
#include "daemon.h"

#include <containerv/pool.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

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

static int sig_w = -1;
/* aligned for the structs it holds */
static union {
    char buf[CVD_MAX_MSG];
    struct cvd_run run;
} rx;

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void on_signal(int sig)
{
    int saved = errno;
    char b = (char)sig;

    if (write(sig_w, &b, 1) < 0) {
        /* the pipe is full: a stop is already pending */
    }
    errno = saved;
}

/* ------------------------------------------------------------ replies */

static void send_error(int fd, enum cvd_error_kind kind, int code, const char *step,
                       const char *message)
{
    struct cvd_error e;

    memset(&e, 0, sizeof(e));
    cvd_hdr_init(&e.h, CVD_ERROR, sizeof(e));
    e.kind = kind;
    e.code = code;
    cvd_strlcpy(e.step, step, sizeof(e.step));
    cvd_strlcpy(e.message, message, sizeof(e.message));
    (void)cvd_send(fd, &e, sizeof(e), NULL, 0); /* a client that does not read loses it */
}

/* ------------------------------------------------------------ clients */

static void drop_client_fd(struct daemon *d, struct client *cl)
{
    if (cl->fd < 0)
        return;
    epoll_ctl(d->ep, EPOLL_CTL_DEL, cl->fd, NULL);
    close(cl->fd);
    cl->fd = -1;
}

/* The command is over (or never ran): reap it, give the container back. */
static int reclaim(struct daemon *d, struct client *cl, int *code, struct containerv_error *err)
{
    int rc = 0;

    if (cl->pidfd >= 0) {
        epoll_ctl(d->ep, EPOLL_CTL_DEL, cl->pidfd, NULL);
        cl->pidfd = -1;
    }
    if (cl->pid > 0) {
        do
            rc = containerv_wait(cl->c, cl->pid, code, err);
        while (rc == -EINTR);
        cl->pid = -1;
    }
    if (cl->c) {
        struct containerv_error re;
        if (containerv_pool_return_container(cl->dp->pool, cl->c, &re) < 0)
            fprintf(stderr, "containerv: daemon: returning a container to pool '%s': %s\n",
                    cl->dp->name, re.message);
        cl->c = NULL;
    }
    return rc;
}

/* The client is gone (or is dropped): kill what runs for it; the pidfd
 * tells when it is reaped. */
static void hang_up(struct daemon *d, struct client *cl)
{
    drop_client_fd(d, cl);
    if (cl->st == C_RUNNING) {
        struct containerv_error e;
        if (containerv_kill(cl->c, cl->pid, SIGKILL, &e) < 0 && e.code != ESRCH)
            fprintf(stderr, "containerv: daemon: %s\n", e.message);
        cl->st = C_ORPHAN;
        return;
    }
    if (cl->st != C_ORPHAN)
        cl->st = C_DEAD;
}

static void fail(struct daemon *d, struct client *cl, enum cvd_error_kind kind, int code,
                 const char *step, const char *message)
{
    if (cl->fd >= 0)
        send_error(cl->fd, kind, code, step, message);
    hang_up(d, cl);
}

static void close_fds(int *fds, int n)
{
    for (int i = 0; i < n; i++)
        close(fds[i]);
}

/* The argv of a RUN: argc NUL-terminated strings filling the blob exactly. */
static char **parse_argv(const struct cvd_run *r, size_t n)
{
    const char *blob = (const char *)r + sizeof(*r);
    size_t len = r->argv_len, nul = 0;
    char **argv;

    if (r->argc < 1 || r->argc > CVD_MAX_ARGS || len == 0 || len > CVD_MAX_MSG ||
        n != sizeof(*r) + len || blob[len - 1] != '\0' || blob[0] == '\0')
        return NULL;
    for (size_t i = 0; i < len; i++)
        nul += blob[i] == '\0';
    if (nul != r->argc || !(argv = calloc(r->argc + 1, sizeof(*argv))))
        return NULL;
    for (size_t i = 0, k = 0; k < r->argc; k++) {
        argv[k] = (char *)blob + i;
        i += strlen(blob + i) + 1;
    }
    return argv;
}

static struct dpool *find_pool(struct daemon *d, const char *name)
{
    for (int i = 0; i < d->n_pools; i++)
        if (strcmp(d->pools[i].name, name) == 0)
            return &d->pools[i];
    return NULL;
}

static bool check_run(const struct cvd_run *r, int nfds, const char **why)
{
    unsigned io = r->flags & (CVD_RUN_STDIN | CVD_RUN_STDOUT | CVD_RUN_STDERR);

    if (r->flags & ~CVD_RUN_FLAGS)
        *why = "unknown RUN flags";
    else if ((r->flags & CVD_RUN_TTY) && io)
        *why = "RUN with a terminal takes no stdio descriptors";
    else if (__builtin_popcount(io) != nfds)
        *why = "RUN: the descriptors do not match the flags";
    else if (memchr(r->template_name, '\0', sizeof(r->template_name)) == NULL ||
             !r->template_name[0])
        *why = "RUN: bad template name";
    else
        return true;
    return false;
}

static void spawn_opts(const struct cvd_run *r, const int *fds, int *master,
                       struct containerv_spawn_options *so)
{
    int k = 0;

    containerv_spawn_options_init(so);
    if (r->flags & CVD_RUN_TTY) {
        so->tty = true;
        so->rows = r->rows;
        so->cols = r->cols;
        so->tty_master_fd = master;
        return;
    }
    if (r->flags & CVD_RUN_STDIN)
        so->stdin_fd = fds[k++];
    if (r->flags & CVD_RUN_STDOUT)
        so->stdout_fd = fds[k++];
    if (r->flags & CVD_RUN_STDERR)
        so->stderr_fd = fds[k++];
}

static bool check_fds(const struct client *cl, const int *fds, int nfds, char *why, size_t n)
{
    static const char *const names[] = {"stdin", "stdout", "stderr"};

    if (cl->uid == 0)
        return true;
    for (int i = 0; i < nfds; i++) {
        const char *r = cvd_fd_refusal(fds[i]);
        if (r) {
            snprintf(why, n, "daemon: refused descriptor %d of the request (%s): %s; a client "
                     "that is not root may pass only pipes, sockets and terminals",
                     i, i < 3 ? names[i] : "?", r);
            return false;
        }
    }
    return true;
}

/* RUN: take a container, spawn (fds go to the container and are closed
 * here), answer STARTED. fds are closed on every path. */
static void do_run(struct daemon *d, struct client *cl, size_t n, int *fds, int nfds)
{
    const struct cvd_run *r = &rx.run;
    struct containerv_spawn_options so;
    struct containerv_error err;
    const char *why = NULL;
    char **argv = NULL;
    int master = -1, rc;

    if (!check_run(r, nfds, &why) || !(argv = parse_argv(r, n))) {
        close_fds(fds, nfds);
        fail(d, cl, CVD_ERR_PROTO, EPROTO, "daemon.request", why ? why : "RUN: malformed argv");
        return;
    }
    char refused[256];
    if (!check_fds(cl, fds, nfds, refused, sizeof(refused))) {
        close_fds(fds, nfds);
        free(argv);
        fail(d, cl, CVD_ERR_DENIED, EPERM, "daemon.fds", refused);
        return;
    }
    cl->dp = find_pool(d, r->template_name);
    if (!cl->dp) {
        char msg[160];
        close_fds(fds, nfds);
        free(argv);
        snprintf(msg, sizeof(msg), "daemon: no pool for template '%s'", r->template_name);
        fail(d, cl, CVD_ERR_NOPOOL, ENOENT, "daemon.pool", msg);
        return;
    }
    rc = containerv_pool_get_container(cl->dp->pool, &cl->c, &err);
    if (rc == 0) {
        spawn_opts(r, fds, &master, &so);
        rc = containerv_spawn(cl->c, (const char *const *)argv, &so, &cl->pid, &err);
    }
    close_fds(fds, nfds);
    free(argv);
    if (rc < 0) {
        cl->pid = -1;
        reclaim(d, cl, NULL, NULL);
        fail(d, cl, CVD_ERR_RUNTIME, err.code, err.step, err.message);
        return;
    }
    cl->st = C_RUNNING;
    cl->pidfd = containerv_process_pidfd(cl->c, cl->pid);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &cl->ev_proc};
    if (cl->pidfd < 0 || epoll_ctl(d->ep, EPOLL_CTL_ADD, cl->pidfd, &ev) < 0) {
        /* cannot watch it: do not let it run unwatched */
        containerv_kill(cl->c, cl->pid, SIGKILL, NULL);
        cl->pidfd = -1;
        reclaim(d, cl, NULL, NULL);
        cl->st = C_NEW;
        if (master >= 0)
            close(master);
        fail(d, cl, CVD_ERR_RUNTIME, EIO, "daemon.watch", "daemon: cannot watch the process");
        return;
    }
    struct cvd_started s;
    memset(&s, 0, sizeof(s));
    cvd_hdr_init(&s.h, CVD_STARTED, sizeof(s));
    s.pid = cl->pid;
    s.flags = master >= 0 ? CVD_STARTED_TTY : 0;
    rc = cvd_send(cl->fd, &s, sizeof(s), &master, master >= 0 ? 1 : 0);
    if (master >= 0)
        close(master);
    if (rc < 0)
        hang_up(d, cl); /* the client cannot hear us: kill the command */
}

static void do_status(struct daemon *d, struct client *cl)
{
    struct cvd_status_end end;
    uint32_t count = 0;

    for (int i = 0; i < d->n_pools; i++) {
        struct containerv_pool_stats st;
        struct cvd_status_row row;
        if (containerv_pool_get_stats(d->pools[i].pool, &st) < 0)
            continue;
        memset(&row, 0, sizeof(row));
        cvd_hdr_init(&row.h, CVD_STATUS_ROW, sizeof(row));
        cvd_strlcpy(row.template_name, st.template_name, sizeof(row.template_name));
        row.pool_size = st.pool_size;
        row.warm = st.warm_containers;
        row.in_use = st.in_use;
        row.hits = st.hits;
        row.misses = st.misses;
        row.refills = st.refills;
        row.resets = st.resets;
        row.replaces = st.replaces;
        row.failures = st.failures;
        row.mean_refill_ns = st.mean_refill_ns;
        row.mean_reset_ns = st.mean_reset_ns;
        cvd_strlcpy(row.last_error, st.last_error, sizeof(row.last_error));
        cvd_strlcpy(row.last_replace, st.last_replace, sizeof(row.last_replace));
        if (cvd_send(cl->fd, &row, sizeof(row), NULL, 0) < 0) {
            hang_up(d, cl);
            return;
        }
        count++;
    }
    memset(&end, 0, sizeof(end));
    cvd_hdr_init(&end.h, CVD_STATUS_END, sizeof(end));
    end.count = count;
    (void)cvd_send(cl->fd, &end, sizeof(end), NULL, 0);
    hang_up(d, cl);
}

static void do_signal(struct daemon *d, struct client *cl, const struct cvd_signal *s)
{
    struct containerv_error e;

    if (s->sig < 1 || s->sig > 64) {
        fail(d, cl, CVD_ERR_PROTO, EINVAL, "daemon.request", "SIGNAL: no such signal");
        return;
    }
    /* ESRCH: it has just ended; EXITED is on its way */
    if (containerv_kill(cl->c, cl->pid, s->sig, &e) < 0 && e.code != ESRCH)
        fprintf(stderr, "containerv: daemon: %s\n", e.message);
}

/* One message of n bytes from a client; fds are its descriptors. */
static void handle_msg(struct daemon *d, struct client *cl, size_t n, int *fds, int nfds)
{
    int type = cvd_check(rx.buf, n);

    if (++cl->msgs > MAX_MSGS_PER_CLIENT) {
        close_fds(fds, nfds);
        fail(d, cl, CVD_ERR_PROTO, EPROTO, "daemon.request", "too many messages");
        return;
    }
    if (cl->denied[0]) {
        /* answered only now that its request is read: closing a socket with
         * unread data would reset the connection and lose the answer */
        close_fds(fds, nfds);
        fail(d, cl, CVD_ERR_DENIED, EACCES, "daemon.permission", cl->denied);
        return;
    }
    if (type == CVD_RUN && cl->st == C_NEW) {
        do_run(d, cl, n, fds, nfds);
        return;
    }
    close_fds(fds, nfds);
    if (type < 0)
        fail(d, cl, CVD_ERR_PROTO, EPROTO, "daemon.request",
             "malformed message (bad header, version or length)");
    else if (nfds > 0)
        fail(d, cl, CVD_ERR_PROTO, EPROTO, "daemon.request", "unexpected file descriptors");
    else if (type == CVD_STATUS && cl->st == C_NEW)
        do_status(d, cl);
    else if (type == CVD_SIGNAL && cl->st == C_RUNNING)
        do_signal(d, cl, (const struct cvd_signal *)rx.buf);
    else
        fail(d, cl, CVD_ERR_PROTO, EPROTO, "daemon.request", "unexpected message in this state");
}

static void on_client(struct daemon *d, struct client *cl)
{
    for (int i = 0; i < READS_PER_WAKEUP && cl->fd >= 0; i++) {
        int fds[CVD_MAX_FDS], nfds = 0;
        ssize_t n = cvd_recv(cl->fd, rx.buf, sizeof(rx.buf), fds, CVD_MAX_FDS, &nfds);
        if (n == -EAGAIN)
            return;
        if (n == 0 || n == -ECONNRESET) {
            hang_up(d, cl);
            return;
        }
        if (n < 0) {
            fail(d, cl, CVD_ERR_PROTO, (int)-n, "daemon.request",
                 n == -EMSGSIZE ? "message too long" : n == -EPROTO ? "bad control data (too many descriptors or truncated)" : "cannot read the request");
            return;
        }
        handle_msg(d, cl, (size_t)n, fds, nfds);
    }
}

/* The command of cl ended. */
static void on_proc(struct daemon *d, struct client *cl)
{
    struct containerv_error err;
    int code = CLI_EXIT_RUNTIME;
    int rc = reclaim(d, cl, &code, &err);

    if (cl->fd >= 0) {
        if (rc < 0) {
            send_error(cl->fd, CVD_ERR_RUNTIME, err.code, err.step, err.message);
        } else {
            struct cvd_exited x;
            memset(&x, 0, sizeof(x));
            cvd_hdr_init(&x.h, CVD_EXITED, sizeof(x));
            x.code = code;
            (void)cvd_send(cl->fd, &x, sizeof(x), NULL, 0);
        }
    }
    cl->st = C_DEAD;
    drop_client_fd(d, cl);
}

/* ------------------------------------------------------------ accept */

/* Root, or a member of the group (primary or supplementary). */
static bool peer_allowed(struct daemon *d, int fd, uid_t *uid, char *why, size_t n)
{
    struct ucred uc;
    socklen_t len = sizeof(uc);
    gid_t small[64], *groups = small;
    bool ok = false;

    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0) {
        snprintf(why, n, "permission denied: cannot identify the client: %s", strerror(errno));
        return false;
    }
    *uid = uc.uid;
    if (uc.uid == 0)
        return true;
    if (d->have_group) {
        ok = uc.gid == d->gid;
        len = sizeof(small);
        int r = getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len);
        if (r < 0 && errno == ERANGE && (groups = malloc(len)))
            r = getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len);
        for (size_t i = 0; !ok && r == 0 && groups && i < len / sizeof(gid_t); i++)
            ok = groups[i] == d->gid;
        if (groups != small)
            free(groups);
    }
    if (!ok && d->have_group)
        snprintf(why, n, "permission denied: uid %u is not root and not in group '%s'",
                 (unsigned)uc.uid, d->group);
    else if (!ok)
        snprintf(why, n, "permission denied: uid %u is not root (the daemon has no --group)",
                 (unsigned)uc.uid);
    return ok;
}

static void add_client(struct daemon *d, int fd, uid_t uid, const char *denied)
{
    struct client *cl = calloc(1, sizeof(*cl));
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP};

    if (!cl) {
        close(fd);
        return;
    }
    cl->fd = fd;
    cl->pid = -1;
    cl->pidfd = -1;
    cl->st = C_NEW;
    cl->uid = uid;
    cl->ev_sock = (struct evsrc){EV_CLIENT, cl};
    cl->ev_proc = (struct evsrc){EV_PROC, cl};
    cl->deadline = now_ns() + REQUEST_TIMEOUT_NS;
    cvd_strlcpy(cl->denied, denied, sizeof(cl->denied));
    ev.data.ptr = &cl->ev_sock;
    if (epoll_ctl(d->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
        close(fd);
        free(cl);
        return;
    }
    cl->next = d->clients;
    d->clients = cl;
    d->n_clients++;
}

/* Full: make room by closing the oldest connection that has not asked
 * anything yet (a client sends its request as soon as it connects; a flood
 * of idle connections must not lock the others out). False when every
 * client has a command running. */
static bool evict_idle(struct daemon *d)
{
    struct client *oldest = NULL;

    for (struct client *cl = d->clients; cl; cl = cl->next)
        if (cl->st == C_NEW && cl->fd >= 0)
            oldest = cl; /* the list is newest first */
    if (!oldest)
        return false;
    fail(d, oldest, CVD_ERR_BUSY, EAGAIN, "daemon.accept", "daemon: too many clients");
    /* freed at the end of the round; it no longer counts */
    oldest->uncounted = true;
    d->n_clients--;
    return true;
}

static void on_listen(struct daemon *d)
{
    static bool told_emfile;

    for (int i = 0; i < ACCEPTS_PER_WAKEUP; i++) {
        char why[200] = "";
        int fd = accept4(d->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if ((errno == EMFILE || errno == ENFILE) && !told_emfile) {
                told_emfile = true;
                fprintf(stderr, "containerv: daemon: accept: %s\n", strerror(errno));
            }
            return;
        }
        if (d->n_clients >= MAX_CLIENTS && !evict_idle(d)) {
            send_error(fd, CVD_ERR_BUSY, EAGAIN, "daemon.accept", "daemon: too many clients");
            close(fd);
        } else {
            /* a refused peer is told at its first message (add_client) */
            uid_t uid = (uid_t)-1; /* unknown: not root */
            bool ok = peer_allowed(d, fd, &uid, why, sizeof(why));
            int mine = 0;
            for (struct client *c = d->clients; ok && uid != 0 && c; c = c->next)
                mine += c->uid == uid && c->st != C_DEAD && !c->uncounted;
            if (mine >= MAX_CLIENTS_PER_UID) {
                /* one member must not take every slot */
                send_error(fd, CVD_ERR_BUSY, EAGAIN, "daemon.accept",
                           "daemon: too many connections of this uid");
                close(fd);
                continue;
            }
            add_client(d, fd, uid, ok ? "" : why);
        }
    }
}

/* Free the dead; close the connections that did not ask in time. */
static void sweep(struct daemon *d, uint64_t now, int *timeout_ms)
{
    uint64_t next = UINT64_MAX;

    for (struct client **pp = &d->clients; *pp;) {
        struct client *cl = *pp;
        if (cl->st == C_NEW && now >= cl->deadline)
            fail(d, cl, CVD_ERR_PROTO, ETIMEDOUT, "daemon.request", "no request in time");
        if (cl->st == C_DEAD) {
            *pp = cl->next;
            if (!cl->uncounted)
                d->n_clients--;
            free(cl);
            continue;
        }
        if (cl->st == C_NEW && cl->deadline < next)
            next = cl->deadline;
        pp = &cl->next;
    }
    *timeout_ms = next == UINT64_MAX ? -1 : (int)((next - now) / 1000000 + 1);
}

/* ------------------------------------------------------------ readiness */

static bool pools_ready(struct daemon *d)
{
    for (int i = 0; i < d->n_pools; i++) {
        struct containerv_pool_stats st;
        if (containerv_pool_get_stats(d->pools[i].pool, &st) < 0)
            return false;
        if (st.warm_containers < st.pool_size && st.refills < (uint64_t)st.pool_size &&
            st.failures == 0)
            return false;
    }
    return true;
}

static void check_ready(struct daemon *d)
{
    uint64_t ticks;

    if (d->timer >= 0 && read(d->timer, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
        return;
    if (!pools_ready(d))
        return;
    if (d->timer >= 0) {
        close(d->timer); /* leaves the epoll set */
        d->timer = -1;
    }
    /* the last thing: a waiter that sees the byte (and EOF) sees the
     * daemon in its steady state */
    if (d->ready_fd >= 0) {
        ssize_t w;
        do
            w = write(d->ready_fd, "r", 1);
        while (w < 0 && errno == EINTR);
        close(d->ready_fd);
        d->ready_fd = -1;
    }
}

/* ------------------------------------------------------------ setup */

/* The group's gid, from /etc/group (fgetgrent: the CLI is linked
 * statically, and NSS modules do not load into a static binary), or a
 * number. */
static int resolve_group(struct daemon *d, const char *name)
{
    FILE *f;
    struct group *gr;
    uint32_t v;
    bool found = false;

    if (!name)
        return 0;
    d->group = name;
    d->have_group = true;
    if ((f = fopen("/etc/group", "re"))) {
        while (!found && (gr = fgetgrent(f)))
            if (strcmp(gr->gr_name, name) == 0) {
                d->gid = gr->gr_gid;
                found = true;
            }
        fclose(f);
    }
    if (!found && cli_parse_u32(name, &v)) {
        d->gid = (gid_t)v;
        found = true;
    }
    if (!found)
        cli_error("daemon: unknown group '%s' (not in /etc/group, not a number)", name);
    return found ? 0 : -1;
}

static int mkdir_parents(const char *sock)
{
    char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
    char *slash;

    snprintf(dir, sizeof(dir), "%s", sock);
    slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return 0;
    *slash = '\0';
    for (char *p = dir + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        if (mkdir(dir, 0755) == 0)
            chmod(dir, 0755); /* 0755 whatever the umask */
        else if (errno != EEXIST)
            return -1;
        if (!c)
            return 0;
        *p = c;
    }
}

/* Bind and listen; refuse a live daemon, remove a stale socket. */
static int open_socket(struct daemon *d, const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct stat st;
    int fd, live;

    if (path[0] != '/' || strlen(path) >= sizeof(sa.sun_path)) {
        cli_error("daemon: socket path '%s': want an absolute path shorter than %zu bytes", path,
                  sizeof(sa.sun_path));
        return -1;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    if (mkdir_parents(path) < 0) {
        cli_error("daemon: making the directory of '%s': %s", path, strerror(errno));
        return -1;
    }
    live = cvd_connect(path);
    if (live >= 0) {
        close(live);
        cli_error("daemon: another daemon is running on '%s'", path);
        return -1;
    }
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            cli_error("daemon: '%s' exists and is not a socket", path);
            return -1;
        }
        if (live == -ECONNREFUSED && unlink(path) < 0 && errno != ENOENT) {
            cli_error("daemon: removing the stale socket '%s': %s", path, strerror(errno));
            return -1;
        }
    }
    /* Bound in a fresh directory of root's (mode 0700: no one else can put
     * anything there), with the umask that gives the final mode at once;
     * the group is set there, then the socket is renamed into place. No
     * step goes by the public path but the rename, which replaces whatever
     * is there (a symlink swapped in meanwhile) without following it. */
    char tmpl[sizeof(sa.sun_path) + 16], *slash;
    snprintf(tmpl, sizeof(tmpl), "%s", path);
    slash = strrchr(tmpl, '/');
    snprintf(slash + 1, sizeof(tmpl) - (size_t)(slash + 1 - tmpl), ".cvd.XXXXXX");
    if (strlen(tmpl) + 3 > sizeof(sa.sun_path)) {
        cli_error("daemon: socket path '%s': too long for the private bind directory beside it",
                  path);
        return -1;
    }
    if (!mkdtemp(tmpl)) {
        cli_error("daemon: making a private directory beside '%s': %s", path, strerror(errno));
        return -1;
    }
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/s", tmpl);
    int dfd = open(tmpl, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    mode_t old_umask = umask(d->have_group ? 0117 : 0177); /* 0660 / 0600 from creation */
    int b = fd < 0 || dfd < 0 ? -1 : bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    umask(old_umask);
    const char *what = "binding";
    if (b == 0 && (what = "setting the socket's group",
                   fchownat(dfd, "s", 0, d->have_group ? d->gid : 0, AT_SYMLINK_NOFOLLOW) < 0))
        b = -1;
    if (b == 0 && (what = "listening", listen(fd, 128) < 0))
        b = -1;
    if (b == 0 && (what = "moving the socket into place", rename(sa.sun_path, path) < 0))
        b = -1;
    if (b < 0) {
        cli_error("daemon: %s '%s': %s", what, path, strerror(errno));
        unlink(sa.sun_path);
    }
    rmdir(tmpl);
    if (dfd >= 0)
        close(dfd);
    if (b < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    d->lfd = fd;
    return 0;
}

static int open_pools(struct daemon *d, const struct cvd_config *c)
{
    for (int i = 0; i < c->n_pools; i++) {
        struct containerv_pool_config pc;
        struct containerv_error err;
        char prefix[48];
        struct dpool *dp = &d->pools[i];

        containerv_pool_config_init(&pc);
        pc.state_dir = c->state_dir;
        pc.runtime_dir = c->runtime_dir;
        if (c->id_prefix) {
            snprintf(prefix, sizeof(prefix), "%s%dx", c->id_prefix, i);
            pc.id_prefix = prefix;
        }
        cvd_strlcpy(dp->name, c->pools[i].name, sizeof(dp->name));
        dp->size = c->pools[i].size;
        int rc = containerv_pool_create_ex(dp->name, dp->size, &pc, &dp->pool, &err);
        if (rc < 0) {
            cli_error("daemon: pool '%s': %s", dp->name, err.message);
            return -1;
        }
        d->n_pools++;
    }
    return 0;
}

static int watch(struct daemon *d, int fd, struct evsrc *src, enum ev_kind kind)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = src};

    src->kind = kind;
    src->cl = NULL;
    if (epoll_ctl(d->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
        cli_error("daemon: epoll: %s", strerror(errno));
        return -1;
    }
    return 0;
}

/* SIGTERM, SIGINT, SIGHUP: a byte in the self-pipe, read by the loop. */
static int setup_signals(struct daemon *d)
{
    int p[2];
    struct sigaction sa;

    if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0) {
        cli_error("daemon: pipe: %s", strerror(errno));
        return -1;
    }
    d->sig_r = p[0];
    sig_w = p[1];
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    return 0;
}

static int setup_loop(struct daemon *d)
{
    struct itimerspec its = {.it_interval = {0, 2000000}, .it_value = {0, 1000000}};

    d->ep = epoll_create1(EPOLL_CLOEXEC);
    if (d->ep < 0) {
        cli_error("daemon: epoll: %s", strerror(errno));
        return -1;
    }
    d->timer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (d->timer < 0 || timerfd_settime(d->timer, 0, &its, NULL) < 0) {
        cli_error("daemon: timerfd: %s", strerror(errno));
        return -1;
    }
    if (watch(d, d->lfd, &d->ev_listen, EV_LISTEN) < 0 ||
        watch(d, d->sig_r, &d->ev_signal, EV_SIGNAL) < 0 ||
        watch(d, d->timer, &d->ev_timer, EV_TIMER) < 0)
        return -1;
    return 0;
}

static void raise_fd_limit(void)
{
    struct rlimit rl;

    /* a pool of 1024 holds a few thousand fds */
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* ------------------------------------------------------------ run, stop */

static void loop(struct daemon *d)
{
    struct epoll_event evs[64];
    int timeout = -1;

    check_ready(d);
    while (!d->stop) {
        int n = epoll_wait(d->ep, evs, 64, timeout);
        if (n < 0 && errno != EINTR) {
            cli_error("daemon: epoll_wait: %s", strerror(errno));
            break;
        }
        for (int i = 0; i < n && !d->stop; i++) {
            struct evsrc *src = evs[i].data.ptr;
            switch (src->kind) {
            case EV_LISTEN: on_listen(d); break;
            case EV_SIGNAL: d->stop = true; break;
            case EV_TIMER: check_ready(d); break;
            case EV_CLIENT:
                if (src->cl->fd >= 0 && src->cl->st != C_DEAD)
                    on_client(d, src->cl);
                break;
            case EV_PROC:
                if (src->cl->pidfd >= 0)
                    on_proc(d, src->cl);
                break;
            }
        }
        sweep(d, now_ns(), &timeout);
    }
}

static int shutdown_daemon(struct daemon *d)
{
    int rc = 0;

    if (d->lfd >= 0) {
        unlink(d->socket);
        close(d->lfd);
    }
    /* what still runs is killed; its container goes back before the pools go */
    while (d->clients) {
        struct client *cl = d->clients;
        d->clients = cl->next;
        if (cl->st == C_RUNNING || cl->st == C_ORPHAN) {
            containerv_kill(cl->c, cl->pid, SIGKILL, NULL);
            reclaim(d, cl, NULL, NULL);
        }
        drop_client_fd(d, cl);
        free(cl);
    }
    for (int i = 0; i < d->n_pools; i++) {
        struct containerv_error err;
        if (containerv_pool_destroy(d->pools[i].pool, &err) < 0) {
            cli_error("daemon: pool '%s': %s", d->pools[i].name, err.message);
            rc = CLI_EXIT_RUNTIME;
        }
    }
    if (d->timer >= 0)
        close(d->timer);
    if (d->ep >= 0)
        close(d->ep);
    if (d->sig_r >= 0)
        close(d->sig_r);
    if (sig_w >= 0)
        close(sig_w);
    sig_w = -1;
    return rc;
}

int cvd_serve(struct cvd_config *c)
{
    struct daemon d;
    int rc = CLI_EXIT_RUNTIME;

    memset(&d, 0, sizeof(d));
    d.ep = d.lfd = d.sig_r = d.timer = -1;
    d.ready_fd = c->ready_fd;
    d.socket = c->socket;
    raise_fd_limit();
    if (resolve_group(&d, c->group) == 0 && setup_signals(&d) == 0 &&
        open_socket(&d, c->socket) == 0 && open_pools(&d, c) == 0 && setup_loop(&d) == 0) {
        loop(&d);
        rc = 0;
    }
    if (shutdown_daemon(&d) != 0)
        rc = CLI_EXIT_RUNTIME;
    c->ready_fd = d.ready_fd; /* -1 once written and closed */
    return rc;
}

char **cvd_parse_run(const void *buf, size_t n, int nfds, const char **why)
{
    const struct cvd_run *r = buf;
    char **argv;

    *why = NULL;
    if (cvd_check(buf, n) != CVD_RUN) {
        *why = "malformed message (bad header, version or length)";
        return NULL;
    }
    if (!check_run(r, nfds, why))
        return NULL;
    if (!(argv = parse_argv(r, n)))
        *why = "RUN: malformed argv";
    return argv;
}
