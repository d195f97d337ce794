/* `containerv daemon`: a client's requests (RUN, STATUS, SIGNAL): the
 * checks of what it sent, the run of its command in a pooled container, and
 * the replies. The event loop (daemon.c) calls cvd_handle_msg. */
#include "server.h"

#include <containerv/pool.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* the message being handled: one at a time, the loop is single-threaded */
union cvd_rx cvd_rx;

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

/* Spawn argv of r in cl->c (fds go to the container and are closed by the
 * caller), watch it, answer STARTED. */
static void start_run(struct daemon *d, struct client *cl, const struct cvd_run *r, char **argv,
                      const int *fds)
{
    struct containerv_spawn_options so;
    struct containerv_error err;
    int master = -1;

    spawn_opts(r, fds, &master, &so);
    int rc = containerv_spawn(cl->c, (const char *const *)argv, &so, &cl->pid, &err);
    if (rc < 0) {
        cl->pid = -1;
        cvd_reclaim(d, cl, NULL, NULL);
        cl->st = C_NEW;
        cvd_fail(d, cl, CVD_ERR_RUNTIME, err.code, err.step, err.message);
        return;
    }
    cl->st = C_RUNNING;
    cl->pidfd = containerv_process_pidfd(cl->c, cl->pid);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &cl->ev_proc};
    if (cl->pidfd < 0 || epoll_ctl(d->ep, EPOLL_CTL_ADD, cl->pidfd, &ev) < 0) {
        /* cannot watch it: do not let it run unwatched */
        containerv_kill(cl->c, cl->pid, SIGKILL, NULL);
        cl->pidfd = -1;
        cvd_reclaim(d, cl, NULL, NULL);
        cl->st = C_NEW;
        if (master >= 0)
            close(master);
        cvd_fail(d, cl, CVD_ERR_RUNTIME, EIO, "daemon.watch", "daemon: cannot watch the process");
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
        cvd_hang_up(d, cl); /* the client cannot hear us: kill the command */
}

/* No warm container: keep the RUN and its fds for a create thread (cold.c). */
static void wait_cold(struct daemon *d, struct client *cl, size_t n, const int *fds, int nfds)
{
    if (!(cl->run = malloc(n))) {
        close_fds((int *)fds, nfds);
        cvd_fail(d, cl, CVD_ERR_RUNTIME, ENOMEM, "daemon.request", "daemon: out of memory");
        return;
    }
    memcpy(cl->run, cvd_rx.buf, n);
    cl->run_len = n;
    memcpy(cl->run_fds, fds, sizeof(int) * (size_t)nfds);
    cl->run_nfds = nfds;
    cl->st = C_WAITING;
    cvd_cold_queue(d, cl);
}

void cvd_drop_run(struct client *cl)
{
    close_fds(cl->run_fds, cl->run_nfds);
    cl->run_nfds = 0;
    free(cl->run);
    cl->run = NULL;
}

void cvd_launch(struct daemon *d, struct client *cl)
{
    char **argv = parse_argv(cl->run, cl->run_len); /* it parsed before */

    if (!argv) {
        cvd_drop_run(cl);
        cvd_reclaim(d, cl, NULL, NULL);
        cl->st = C_NEW;
        cvd_fail(d, cl, CVD_ERR_RUNTIME, ENOMEM, "daemon.request", "daemon: out of memory");
        return;
    }
    cl->st = C_NEW;
    start_run(d, cl, cl->run, argv, cl->run_fds);
    free(argv);
    cvd_drop_run(cl);
}

/* RUN: take a warm container and spawn (fds go to the container and are
 * closed here), answer STARTED; without one, wait for a cold create off the
 * loop. fds are closed (or kept with the RUN) on every path. */
static void do_run(struct daemon *d, struct client *cl, size_t n, int *fds, int nfds)
{
    const struct cvd_run *r = &cvd_rx.run;
    struct containerv_error err;
    const char *why = NULL;
    char **argv = NULL;

    if (!check_run(r, nfds, &why) || !(argv = parse_argv(r, n))) {
        close_fds(fds, nfds);
        cvd_fail(d, cl, CVD_ERR_PROTO, EPROTO, "daemon.request", why ? why : "RUN: malformed argv");
        return;
    }
    char refused[256];
    if (!check_fds(cl, fds, nfds, refused, sizeof(refused))) {
        close_fds(fds, nfds);
        free(argv);
        cvd_fail(d, cl, CVD_ERR_DENIED, EPERM, "daemon.fds", refused);
        return;
    }
    cl->dp = find_pool(d, r->template_name);
    if (!cl->dp) {
        char msg[160];
        close_fds(fds, nfds);
        free(argv);
        snprintf(msg, sizeof(msg), "daemon: no pool for template '%s'", r->template_name);
        cvd_fail(d, cl, CVD_ERR_NOPOOL, ENOENT, "daemon.pool", msg);
        return;
    }
    int rc = containerv_pool_try_get_container(cl->dp->pool, &cl->c, &err);
    if (rc == 0)
        start_run(d, cl, r, argv, fds);
    free(argv);
    if (rc == -EAGAIN) {
        wait_cold(d, cl, n, fds, nfds);
        return;
    }
    close_fds(fds, nfds);
    if (rc < 0)
        cvd_fail(d, cl, CVD_ERR_RUNTIME, err.code, err.step, err.message);
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
            cvd_hang_up(d, cl);
            return;
        }
        count++;
    }
    memset(&end, 0, sizeof(end));
    cvd_hdr_init(&end.h, CVD_STATUS_END, sizeof(end));
    end.count = count;
    (void)cvd_send(cl->fd, &end, sizeof(end), NULL, 0);
    cvd_hang_up(d, cl);
}

static void do_signal(struct daemon *d, struct client *cl, const struct cvd_signal *s)
{
    struct containerv_error e;

    if (s->sig < 1 || s->sig > 64) {
        cvd_fail(d, cl, CVD_ERR_PROTO, EINVAL, "daemon.request", "SIGNAL: no such signal");
        return;
    }
    /* ESRCH: it has just ended; EXITED is on its way */
    if (containerv_kill(cl->c, cl->pid, s->sig, &e) < 0 && e.code != ESRCH)
        fprintf(stderr, "containerv: daemon: %s\n", e.message);
}

/* One message of n bytes from a client; fds are its descriptors. */
void cvd_handle_msg(struct daemon *d, struct client *cl, size_t n, int *fds, int nfds)
{
    int type = cvd_check(cvd_rx.buf, n);

    if (++cl->msgs > MAX_MSGS_PER_CLIENT) {
        close_fds(fds, nfds);
        cvd_fail(d, cl, CVD_ERR_PROTO, EPROTO, "daemon.request", "too many messages");
        return;
    }
    if (cl->denied[0]) {
        /* answered only now that its request is read: closing a socket with
         * unread data would reset the connection and lose the answer */
        close_fds(fds, nfds);
        cvd_fail(d, cl, CVD_ERR_DENIED, EACCES, "daemon.permission", cl->denied);
        return;
    }
    if (type == CVD_RUN && cl->st == C_NEW) {
        do_run(d, cl, n, fds, nfds);
        return;
    }
    close_fds(fds, nfds);
    if (type < 0)
        cvd_fail(d, cl, CVD_ERR_PROTO, EPROTO, "daemon.request",
             "malformed message (bad header, version or length)");
    else if (nfds > 0)
        cvd_fail(d, cl, CVD_ERR_PROTO, EPROTO, "daemon.request", "unexpected file descriptors");
    else if (type == CVD_STATUS && cl->st == C_NEW)
        do_status(d, cl);
    else if (type == CVD_SIGNAL && cl->st == C_RUNNING)
        do_signal(d, cl, (const struct cvd_signal *)cvd_rx.buf);
    else
        cvd_fail(d, cl, CVD_ERR_PROTO, EPROTO, "daemon.request", "unexpected message in this state");
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

