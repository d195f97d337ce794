/* `containerv daemon`: warm pools behind a Unix socket (docs/daemon.md).
 *
 * One event loop (epoll) in the main thread; the pools' background threads
 * do the slow work (create, destroy), and so do the daemon's create threads
 * for a RUN that finds its pool empty (cold.c: capped in flight, globally
 * and per uid, with a queue beyond). Everything the loop waits on is in
 * the epoll set: the listening socket, the clients (nonblocking), the
 * pidfds of the commands that run, the create threads' eventfd, a
 * self-pipe for SIGTERM/SIGINT/SIGHUP, and, until the pools are first
 * full, a timer that checks their figures (the pool API has no readiness
 * notification). A client gets one request:
 * RUN (then SIGNALs until EXITED) or STATUS; anything else, or anything
 * malformed, is answered with ERROR and the connection is closed. A client
 * that goes away while its command runs gets the command SIGKILLed, and the
 * container goes back to its pool once the command is reaped.
 *
 * The server's files: daemon.c (this loop), request.c (what a client asks),
 * socket.c (the listening socket), cold.c (the create threads), config.c
 * (the file), proto.[ch] (the wire
 * format, shared with the client in src/cli/daemon_client.c), server.h. */
#include "server.h"

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

static int sig_w = -1; /* the self-pipe on_signal writes to */

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

/* Close a client's connection without losing what was sent to it: closing
 * a Unix socket with unread messages makes the peer's next read fail with
 * ECONNRESET before it reads what is queued for it (an ERROR BUSY, say).
 * So first refuse anything more (the peer's sends fail with EPIPE from
 * now on), then read and drop what came, then close. */
static void close_conn(int fd)
{
    char b[64];
    int fds[CVD_MAX_FDS], nfds;

    shutdown(fd, SHUT_RD);
    for (int i = 0; i < 64; i++) {
        ssize_t n = cvd_recv(fd, b, sizeof(b), fds, CVD_MAX_FDS, &nfds);
        for (int k = 0; k < nfds; k++)
            close(fds[k]);
        if (n <= 0 && n != -EMSGSIZE && n != -EPROTO)
            break;
    }
    close(fd);
}

static void drop_client_fd(struct daemon *d, struct client *cl)
{
    if (cl->fd < 0)
        return;
    epoll_ctl(d->ep, EPOLL_CTL_DEL, cl->fd, NULL);
    close_conn(cl->fd);
    cl->fd = -1;
}

/* The command is over (or never ran): reap it, give the container back. */
int cvd_reclaim(struct daemon *d, struct client *cl, int *code, struct containerv_error *err)
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
void cvd_hang_up(struct daemon *d, struct client *cl)
{
    drop_client_fd(d, cl);
    if (cl->st == C_WAITING) {
        cvd_cold_cancel(d, cl);
        return;
    }
    if (cl->st == C_CREATING)
        return; /* the create ends, then the container goes back (cold.c) */
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

void cvd_fail(struct daemon *d, struct client *cl, enum cvd_error_kind kind, int code,
              const char *step, const char *message)
{
    if (cl->fd >= 0)
        send_error(cl->fd, kind, code, step, message);
    cvd_hang_up(d, cl);
}

static void on_client(struct daemon *d, struct client *cl)
{
    for (int i = 0; i < READS_PER_WAKEUP && cl->fd >= 0; i++) {
        int fds[CVD_MAX_FDS], nfds = 0;
        ssize_t n = cvd_recv(cl->fd, cvd_rx.buf, sizeof(cvd_rx.buf), fds, CVD_MAX_FDS, &nfds);
        if (n == -EAGAIN)
            return;
        if (n == 0 || n == -ECONNRESET) {
            cvd_hang_up(d, cl);
            return;
        }
        if (n < 0) {
            cvd_fail(d, cl, CVD_ERR_PROTO, (int)-n, "daemon.request",
                 n == -EMSGSIZE ? "message too long" : n == -EPROTO ? "bad control data (too many descriptors or truncated)" : "cannot read the request");
            return;
        }
        cvd_handle_msg(d, cl, (size_t)n, fds, nfds);
    }
}

/* The command of cl ended. */
static void on_proc(struct daemon *d, struct client *cl)
{
    struct containerv_error err;
    int code = CLI_EXIT_RUNTIME;
    int rc = cvd_reclaim(d, cl, &code, &err);

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
    cvd_fail(d, oldest, CVD_ERR_BUSY, EAGAIN, "daemon.accept", "daemon: too many clients");
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
            close_conn(fd);
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
                close_conn(fd);
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
            cvd_fail(d, cl, CVD_ERR_PROTO, ETIMEDOUT, "daemon.request", "no request in time");
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

int cvd_watch(struct daemon *d, int fd, struct evsrc *src, enum ev_kind kind)
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
    if (cvd_watch(d, d->lfd, &d->ev_listen, EV_LISTEN) < 0 ||
        cvd_watch(d, d->sig_r, &d->ev_signal, EV_SIGNAL) < 0 ||
        cvd_watch(d, d->timer, &d->ev_timer, EV_TIMER) < 0)
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
            case EV_COLD: cvd_cold_done(d); break;
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
    /* the creates in flight end and what they made goes back; what still
     * runs is killed; its container goes back before the pools go */
    cvd_cold_quiesce(d);
    while (d->clients) {
        struct client *cl = d->clients;
        d->clients = cl->next;
        if (cl->st == C_RUNNING || cl->st == C_ORPHAN) {
            containerv_kill(cl->c, cl->pid, SIGKILL, NULL);
            cvd_reclaim(d, cl, NULL, NULL);
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
    cvd_cold_stop(d); /* the threads last: what they made dies with them */
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
    if (cvd_resolve_group(&d, c->group) == 0 && setup_signals(&d) == 0 &&
        cvd_open_socket(&d, c->socket) == 0 && open_pools(&d, c) == 0 && setup_loop(&d) == 0 &&
        cvd_cold_start(&d) == 0) {
        loop(&d);
        rc = 0;
    }
    if (shutdown_daemon(&d) != 0)
        rc = CLI_EXIT_RUNTIME;
    c->ready_fd = d.ready_fd; /* -1 once written and closed */
    return rc;
}
