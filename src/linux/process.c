/* Processes in a container: spawn, wait, kill (host side of proto.h), and
 * attaching to a container another process created. */
#include "linux.h"

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>

void containerv_spawn_options_init(struct containerv_spawn_options *so)
{
    if (!so)
        return;
    memset(so, 0, sizeof(*so));
    so->uid = so->gid = -1;
    so->stdin_fd = so->stdout_fd = so->stderr_fd = -1;
}

static bool env_overridden(const char *const *env, const char *kv)
{
    size_t k = (size_t)(strchr(kv, '=') - kv) + 1;
    for (int i = 0; env && env[i]; i++)
        if (!strncmp(env[i], kv, k))
            return true;
    return false;
}

/* Pack cwd, argv and the merged environment into one request. */
static struct cv_spawn_req *build_request(struct containerv_container *c, const char *const argv[],
                                          const struct containerv_spawn_options *so, size_t *len,
                                          struct containerv_error *err)
{
    const char *cwd = so->cwd ? so->cwd : c->workdir;
    const char *term = so->tty ? "TERM=xterm" : NULL;
    size_t need = sizeof(struct cv_spawn_req) + strlen(cwd) + 1;
    uint32_t argc = 0, envc = 0;
    for (; argv[argc]; argc++)
        need += strlen(argv[argc]) + 1;
    for (int i = 0; i < c->n_env; i++)
        if (!env_overridden(so->env, c->env[i]))
            need += strlen(c->env[i]) + 1, envc++;
    for (int i = 0; so->env && so->env[i]; i++)
        if (strchr(so->env[i], '='))
            need += strlen(so->env[i]) + 1, envc++;
    if (term && !env_overridden(so->env, term))
        need += strlen(term) + 1, envc++;
    if (need > CV_SPAWN_MAX) {
        cv_error_plain(err, E2BIG, "spawn.request", "command line and environment take %zu bytes (at most %d)",
                       need, CV_SPAWN_MAX);
        return NULL;
    }
    struct cv_spawn_req *req = calloc(1, need);
    if (!req) {
        cv_error(err, ENOMEM, "spawn.request", "allocating %zu bytes", need);
        return NULL;
    }
    char *p = req->strings;
#define PUT(s) (p = stpcpy(p, (s)) + 1)
    PUT(cwd);
    for (uint32_t i = 0; i < argc; i++)
        PUT(argv[i]);
    for (int i = 0; i < c->n_env; i++)
        if (!env_overridden(so->env, c->env[i]))
            PUT(c->env[i]);
    for (int i = 0; so->env && so->env[i]; i++)
        if (strchr(so->env[i], '='))
            PUT(so->env[i]);
    if (term && !env_overridden(so->env, term))
        PUT(term);
#undef PUT
    req->type = CV_MSG_SPAWN;
    req->argc = argc;
    req->envc = envc;
    req->uid = so->uid >= 0 ? (uint32_t)so->uid : c->uid;
    req->gid = so->gid >= 0 ? (uint32_t)so->gid : c->gid;
    req->rows = so->rows;
    req->cols = so->cols;
    req->strings_len = (uint32_t)(p - req->strings);
    *len = need;
    return req;
}

/* Receive one message with its fds and, when the sender's credentials came
 * along (SO_PASSCRED), the sender's pid as our pid namespace sees it. The
 * length returned is the message's (MSG_TRUNC), which can exceed len. */
static int recv_with_fds(int sock, void *buf, size_t len, int *fds, int max_fds, int *nfds, pid_t *sender)
{
    char cbuf[CMSG_SPACE(4 * sizeof(int)) + CMSG_SPACE(sizeof(struct ucred))];
    struct iovec iov = {.iov_base = buf, .iov_len = len};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
    ssize_t n;
    do
        n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | MSG_TRUNC);
    while (n < 0 && errno == EINTR);
    *nfds = 0;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); n >= 0 && cm; cm = CMSG_NXTHDR(&mh, cm)) {
        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_CREDENTIALS && sender) {
            struct ucred uc;
            memcpy(&uc, CMSG_DATA(cm), sizeof(uc));
            *sender = uc.pid;
        }
        if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
            continue;
        int k = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        for (int i = 0; i < k; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(cm) + (size_t)i * sizeof(int), sizeof(int));
            if (*nfds < max_fds)
                fds[(*nfds)++] = fd;
            else
                close(fd);
        }
    }
    return n < 0 ? -errno : (n > INT_MAX ? INT_MAX : (int)n);
}

/* ------------------------------------------------------------ the init's answers */

/* An errno from the init: 0, or 1..4095; anything else is a protocol error
 * (a negative code would turn our -errno returns into success). */
static int32_t init_errno(int32_t e)
{
    return e == 0 || (e > 0 && e < 4096) ? e : EPROTO;
}

int cv_host_parse_spawn_answer(const void *buf, size_t n, struct cv_spawned_msg *out)
{
    uint32_t type;
    if (n < sizeof(type))
        return -EPROTO;
    memcpy(&type, buf, sizeof(type));
    if (type == CV_MSG_HELLO)
        return n == sizeof(type) ? CV_MSG_HELLO : -EPROTO;
    if (type != CV_MSG_SPAWNED || n != sizeof(*out))
        return -EPROTO;
    struct cv_spawned_msg m;
    memcpy(&m, buf, sizeof(m));
    m.step[sizeof(m.step) - 1] = '\0';
    m.error = init_errno(m.error);
    *out = m;
    return CV_MSG_SPAWNED;
}

int cv_host_parse_exited(const void *buf, size_t n, int *code)
{
    struct cv_exited_msg m;
    if (n != sizeof(m))
        return -EPROTO;
    memcpy(&m, buf, sizeof(m));
    if (m.type != CV_MSG_EXITED)
        return -EPROTO;
    if (WIFEXITED(m.status))
        *code = WEXITSTATUS(m.status);
    else if (WIFSIGNALED(m.status))
        *code = 128 + WTERMSIG(m.status);
    else
        return -EPROTO; /* stopped, continued: waitpid without those flags never says so */
    return 0;
}

int cv_host_parse_reset_done(const void *buf, size_t n, struct cv_reset_msg *out)
{
    struct cv_reset_msg m;
    if (n != sizeof(m))
        return -EPROTO;
    memcpy(&m, buf, sizeof(m));
    if (m.type != CV_MSG_RESET_DONE)
        return -EPROTO;
    m.what[sizeof(m.what) - 1] = '\0';
    m.error = init_errno(m.error);
    *out = m;
    return 0;
}

int cv_host_parse_sync(const void *buf, size_t n, struct cv_sync_msg *out)
{
    struct cv_sync_msg m;
    if (n != sizeof(m))
        return -EPROTO;
    memcpy(&m, buf, sizeof(m));
    if (m.step != CV_SYNC_READY && m.step != CV_SYNC_INIT && m.step != CV_SYNC_ERROR)
        return -EPROTO;
    m.where[sizeof(m.where) - 1] = m.what[sizeof(m.what) - 1] = '\0';
    m.code = init_errno(m.code);
    if (m.n_steps > sizeof(m.steps) / sizeof(m.steps[0]))
        m.n_steps = sizeof(m.steps) / sizeof(m.steps[0]);
    for (uint32_t i = 0; i < m.n_steps; i++)
        m.steps[i].name[sizeof(m.steps[i].name) - 1] = '\0';
    *out = m;
    return (int)m.step;
}

static void close_all(const int *fds, int n)
{
    for (int i = 0; i < n; i++)
        close(fds[i]);
}

static int spawn_error(const struct cv_spawned_msg *rep, const char *argv0, const char *cwd,
                       struct containerv_error *err)
{
    const char *step = rep->step[0] ? rep->step : "spawn";
    if (!strcmp(step, "spawn.exec"))
        return cv_error(err, rep->error, step, "executing '%s'", argv0);
    if (!strcmp(step, "spawn.cwd"))
        return cv_error(err, rep->error, step, "working directory '%s'", cwd);
    return cv_error(err, rep->error, step, "starting '%s'", argv0);
}

int cv_spawn_read_answer(int conn, bool tty, const char *id, const char *argv0, const char *cwd,
                         struct cv_spawn_answer *a, struct containerv_error *err)
{
    union {
        struct cv_spawned_msg m;
        char buf[sizeof(struct cv_spawned_msg) + 1]; /* a longer message shows as one */
    } rx;
    struct cv_spawned_msg rep;
    int got[2], ngot = 0, hellos = 0, r;
    pid_t pid = -1;
    a->pid = -1;
    a->pidfd = a->master = -1;
    a->exec_ns = 0;
    for (;;) {
        pid_t sender = -1;
        r = recv_with_fds(conn, rx.buf, sizeof(rx.buf), got, 2, &ngot, &sender);
        if (r < 0)
            return cv_error(err, -r, "spawn", "no answer from the init of '%s'", id);
        int type = cv_host_parse_spawn_answer(rx.buf, (size_t)r, &rep);
        if (type == CV_MSG_HELLO && ngot == 0 && hellos++ == 0) {
            pid = sender;
            continue;
        }
        if (type != CV_MSG_SPAWNED) {
            close_all(got, ngot);
            return cv_error_plain(err, EPROTO, "spawn", r == 0 ? "no answer from the init of '%s'"
                                  : "unexpected answer from the init of '%s'", id);
        }
        break;
    }
    if (rep.error) {
        close_all(got, ngot);
        return spawn_error(&rep, argv0, cwd, err);
    }
    if (ngot != (tty ? 2 : 1)) {
        close_all(got, ngot);
        return cv_error_plain(err, EPROTO, "spawn", "the init of '%s' sent %d fds (want %d)", id, ngot, tty ? 2 : 1);
    }
    if (pid <= 0) {
        close_all(got, ngot);
        return cv_error_plain(err, EPROTO, "spawn", "process of '%s' did not report its pid", id);
    }
    a->pid = pid;
    a->pidfd = got[0];
    a->master = tty ? got[1] : -1;
    a->exec_ns = rep.exec_ns;
    return 0;
}

static int add_proc(struct containerv_container *c, pid_t pid, int conn, int pidfd)
{
    pthread_mutex_lock(&c->lock);
    if (c->n_procs == c->cap_procs) {
        size_t cap = c->cap_procs ? c->cap_procs * 2 : 8;
        struct cv_proc *n = realloc(c->procs, cap * sizeof(*n));
        if (!n) {
            pthread_mutex_unlock(&c->lock);
            return -ENOMEM;
        }
        c->procs = n;
        c->cap_procs = cap;
    }
    c->procs[c->n_procs++] = (struct cv_proc){pid, conn, pidfd};
    pthread_mutex_unlock(&c->lock);
    return 0;
}

/* The spawn steps, in order: the host's (spawn.request, spawn.send,
 * spawn.answer) around the init's (spawn.request is both). */
static const char *const spawn_steps[] = {
    "spawn.request", "spawn.send", "spawn.tty", "spawn.fork", "spawn.stdio", "spawn.setgroups", "spawn.setgid",
    "spawn.setuid", "spawn.cwd", "spawn.close_range", "spawn.exec", "spawn.answer", NULL,
};

const char *const *containerv_spawn_steps(void)
{
    return spawn_steps;
}

/* Hand the init a fault that names one of its steps (never a pause: that
 * would stop the init itself, with every container's process in it). */
static void spawn_fault_for_init(struct cv_spawn_req *req, const char *fault)
{
    if (!fault || strlen(fault) >= sizeof(req->fault))
        return;
    const char *step = !strncmp(fault, "after:", 6) ? fault + 6 : fault;
    for (size_t i = 2; spawn_steps[i + 1]; i++) /* the init's: spawn.tty .. spawn.exec */
        if (!strcmp(step, spawn_steps[i]))
            snprintf(req->fault, sizeof(req->fault), "%s", fault);
}

int containerv_spawn(struct containerv_container *c, const char *const argv[],
                     const struct containerv_spawn_options *so, pid_t *pid, struct containerv_error *err)
{
    containerv_error_clear(err);
    uint64_t t0 = cv_now_ns();
    struct containerv_spawn_options defaults;
    if (!so) {
        containerv_spawn_options_init(&defaults);
        so = &defaults;
    }
    if (!c || !argv || !argv[0] || !argv[0][0])
        return cv_error_plain(err, EINVAL, "spawn", "no command given");
    if (c->ctl_fd < 0)
        return cv_error_plain(err, ENOTCONN, "spawn", "container '%s' has no control connection", c->id);
    const char *fault = getenv("CONTAINERV_FAULT");
    if (cv_fault(fault, "spawn.request"))
        return cv_error_plain(err, EIO, "spawn.request", "injected fault");
    size_t len = 0;
    cv_cleanup_free struct cv_spawn_req *req = build_request(c, argv, so, &len, err);
    if (!req)
        return -err->code;
    if (cv_fault_child_after(fault, "spawn.request"))
        return cv_error_plain(err, EIO, "spawn.request", "injected fault after the step");
    spawn_fault_for_init(req, fault);
    if (cv_fault(fault, "spawn.send"))
        return cv_error_plain(err, EIO, "spawn.send", "injected fault");
    int sp[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
        return cv_error(err, errno, "spawn", "socketpair");
    int fds[4] = {sp[1]}, nfds = 1;
    if (so->tty) {
        req->flags |= CV_SPAWN_TTY;
    } else {
        const int io[3] = {so->stdin_fd, so->stdout_fd, so->stderr_fd};
        for (int i = 0; i < 3; i++)
            if (io[i] >= 0) {
                req->flags |= CV_SPAWN_STDIN << i;
                fds[nfds++] = io[i];
            }
    }
    cv_cleanup_fd int conn = sp[0];
    int on = 1;
    int r = setsockopt(conn, SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)) < 0 ? -errno : 0;
    if (r == 0)
        r = cv_send_fds(c->ctl_fd, req, len, fds, nfds);
    close(sp[1]);
    if (r < 0)
        return cv_error(err, -r, "spawn", "sending the request to the init of '%s'", c->id);
    struct cv_spawn_answer a;
    bool answer_fault = cv_fault(fault, "spawn.answer"); /* a pause stops here */
    r = cv_spawn_read_answer(conn, so->tty, c->id, argv[0], so->cwd ? so->cwd : c->workdir, &a, err);
    if (r < 0)
        return r;
    /* after the send or the answer: the process runs; the undo kills it
     * (the init reaps it, and drops its connection with ours) */
    const char *late = answer_fault ? "spawn.answer"
                       : cv_fault_child_after(fault, "spawn.send") ? "spawn.send"
                       : cv_fault_child_after(fault, "spawn.exec") ? "spawn.exec"
                       : cv_fault_child_after(fault, "spawn.answer") ? "spawn.answer" : NULL;
    if (late) {
        syscall(SYS_pidfd_send_signal, a.pidfd, SIGKILL, NULL, 0);
        close(a.pidfd);
        if (a.master >= 0)
            close(a.master);
        return cv_error_plain(err, EIO, late, answer_fault ? "injected fault" : "injected fault after the step");
    }
    pid_t hpid = a.pid;
    if (so->tty) {
        if (so->tty_master_fd)
            *so->tty_master_fd = a.master;
        else
            close(a.master);
    }
    if ((r = add_proc(c, hpid, conn, a.pidfd)) < 0) {
        close(a.pidfd);
        return cv_error(err, -r, "spawn", "recording process %d", hpid);
    }
    conn = -1;
    pthread_mutex_lock(&c->lock);
    if (c->spawn_count++ == 0 && a.exec_ns > t0)
        c->metrics.first_process_ns = a.exec_ns - t0;
    pthread_mutex_unlock(&c->lock);
    if (pid)
        *pid = hpid;
    return 0;
}

static struct cv_proc *find_proc(struct containerv_container *c, pid_t pid)
{
    for (size_t i = 0; i < c->n_procs; i++)
        if (c->procs[i].pid == pid)
            return &c->procs[i];
    return NULL;
}

int containerv_process_pidfd(struct containerv_container *c, pid_t pid)
{
    if (!c)
        return -1;
    pthread_mutex_lock(&c->lock);
    struct cv_proc *p = find_proc(c, pid);
    int fd = p ? p->pidfd : -1;
    pthread_mutex_unlock(&c->lock);
    return fd;
}

int containerv_wait(struct containerv_container *c, pid_t pid, int *exit_code, struct containerv_error *err)
{
    containerv_error_clear(err);
    if (!c)
        return cv_error_plain(err, EINVAL, "wait", "no container given");
    pthread_mutex_lock(&c->lock);
    struct cv_proc *p = find_proc(c, pid);
    int conn = p ? p->conn : -1;
    pthread_mutex_unlock(&c->lock);
    if (conn < 0)
        return cv_error_plain(err, ECHILD, "wait", "process %d was not spawned in '%s'", pid, c->id);
    union {
        struct cv_exited_msg m;
        char buf[sizeof(struct cv_exited_msg) + 1];
    } rx;
    ssize_t n;
    do
        n = recv(conn, rx.buf, sizeof(rx.buf), MSG_TRUNC);
    while (n < 0 && errno == EINTR);
    int code;
    if (n == 0)
        code = 128 + SIGKILL; /* the init is gone: the container was killed */
    else if (n < 0 || cv_host_parse_exited(rx.buf, (size_t)n, &code) < 0)
        return cv_error(err, n < 0 ? errno : EPROTO, "wait", "reading the status of process %d", pid);
    pthread_mutex_lock(&c->lock);
    p = find_proc(c, pid);
    if (p) {
        close(p->conn);
        close(p->pidfd);
        *p = c->procs[--c->n_procs];
    }
    pthread_mutex_unlock(&c->lock);
    if (exit_code)
        *exit_code = code;
    return 0;
}

int containerv_kill(struct containerv_container *c, pid_t pid, int sig, struct containerv_error *err)
{
    containerv_error_clear(err);
    int fd = containerv_process_pidfd(c, pid);
    if (fd < 0)
        return cv_error_plain(err, ESRCH, "kill", "process %d was not spawned in this container", pid);
    if (syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0) < 0)
        return cv_error(err, errno, "kill", "signal %d to process %d", sig, pid);
    return 0;
}

/* ------------------------------------------------------------ update */

int containerv_update(struct containerv_container *c, const struct containerv_options *o, struct containerv_error *err)
{
    containerv_error_clear(err);
    if (!c || !o)
        return cv_error_plain(err, EINVAL, "cgroup.update", "no %s given", c ? "options" : "container");
    if (o->cgroup_path)
        return cv_error_plain(err, EINVAL, "cgroup.update", "the cgroup's place cannot be changed by an update");
    return cv_cgroup_update(&c->cg, &o->limits, err);
}

/* ------------------------------------------------------------ reset */

/* What a workload can change in a way a reset does not see or cannot undo:
 * with every capability it could mount, set the hostname or configure the
 * network; with writable /proc/sys, set namespace sysctls; with devices,
 * make nodes in /dev; without seccomp, add keys to the container's session
 * keyring or to its uid's user keyring (keyctl, add_key), which outlive
 * every process. Such containers are always replaced. */
#define CV_RELAX_NO_RESET                                                                                     \
    (CONTAINERV_RELAX_CAPS | CONTAINERV_RELAX_READONLY_PATHS | CONTAINERV_RELAX_DEVICES | CONTAINERV_RELAX_SECCOMP)

int cv_reset_begin(struct containerv_container *c, int *conn, struct containerv_error *err)
{
    containerv_error_clear(err);
    *conn = -1;
    if (!c)
        return cv_error_plain(err, EINVAL, "reset", "no container given");
    if (!c->owner)
        return cv_error_plain(err, EOPNOTSUPP, "reset", "container '%s' was not created by this handle", c->id);
    if (c->shared_pidns) /* the init's kill(-1) would reach processes that are not the container's */
        return cv_error_plain(err, EOPNOTSUPP, "reset",
                              "container '%s' shares a pid namespace: it cannot be reset in place", c->id);
    if (c->relax & CV_RELAX_NO_RESET)
        return cv_error_plain(err, EOPNOTSUPP, "reset",
                              "container '%s' has relaxed security (capabilities, /proc/sys, devices or seccomp)", c->id);
    if (c->ctl_fd < 0)
        return cv_error_plain(err, ENOTCONN, "reset", "container '%s' has no control connection", c->id);
    int sp[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
        return cv_error(err, errno, "reset", "socketpair");
    struct cv_reset_req req = {.type = CV_MSG_RESET};
    int r = cv_send_fds(c->ctl_fd, &req, sizeof(req), &sp[1], 1);
    close(sp[1]);
    if (r < 0) {
        close(sp[0]);
        return cv_error(err, -r, "reset", "sending the request to the init of '%s'", c->id);
    }
    *conn = sp[0];
    return 0;
}

int cv_reset_end(struct containerv_container *c, int conn, struct containerv_error *err)
{
    containerv_error_clear(err);
    union {
        struct cv_reset_msg m;
        char buf[sizeof(struct cv_reset_msg) + 1];
    } rx;
    struct cv_reset_msg rep;
    ssize_t n;
    do
        n = recv(conn, rx.buf, sizeof(rx.buf), MSG_TRUNC);
    while (n < 0 && errno == EINTR);
    int e = errno;
    close(conn);
    if (n <= 0 || cv_host_parse_reset_done(rx.buf, (size_t)n, &rep) < 0)
        return cv_error(err, n < 0 ? e : n == 0 ? EPIPE : EPROTO, "reset", "no answer from the init of '%s'", c->id);
    /* the last user's processes are gone: so are their handles */
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < c->n_procs; i++) {
        close(c->procs[i].conn);
        close(c->procs[i].pidfd);
    }
    c->n_procs = 0;
    pthread_mutex_unlock(&c->lock);
    if (rep.error)
        return cv_error_plain(err, rep.error, "reset", "container '%s' is not as new: %s", c->id, rep.what);
    return 0;
}

int containerv_reset(struct containerv_container *c, struct containerv_error *err)
{
    int conn;
    int r = cv_reset_begin(c, &conn, err);
    return r < 0 ? r : cv_reset_end(c, conn, err);
}

/* ------------------------------------------------------------ attach */

int cv_load_spawn_defaults(struct containerv_container *c, struct containerv_error *err)
{
    size_t len;
    char *text = cv_state_read(c->runtime_dir, c->id, &len);
    if (!text)
        return cv_error(err, errno, "attach", "reading '%s/%s.json'", c->runtime_dir, c->id);
    struct cv_spawn_defaults d;
    int r = cv_state_parse_spawn_defaults(text, len, &d);
    free(text);
    if (r < 0)
        return r == -EBADMSG
                   ? cv_error_plain(err, EBADMSG, "attach", "'%s/%s.json' is not a valid state", c->runtime_dir, c->id)
                   : cv_error(err, -r, "attach", "loading '%s/%s.json'", c->runtime_dir, c->id);
    c->uid = d.uid;
    c->gid = d.gid;
    c->workdir = d.workdir;
    c->env = d.env;
    c->n_env = d.n_env;
    return 0;
}

static int connect_control(struct containerv_container *c, struct containerv_error *err)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s.sock", c->runtime_dir, c->id);
    c->ctl_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (c->ctl_fd < 0 || connect(c->ctl_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        return cv_error(err, errno, "attach", "connecting to '%s'", sa.sun_path);
    return 0;
}

int containerv_attach(const char *runtime_dir, const char *id, struct containerv_container **out,
                      struct containerv_error *err)
{
    containerv_error_clear(err);
    if (!out)
        return cv_error_plain(err, EINVAL, "attach", "no container pointer given");
    *out = NULL;
    if (!cv_valid_id(id))
        return cv_error_plain(err, EINVAL, "attach", "invalid container id '%s'", id ? id : "");
    if (!runtime_dir)
        runtime_dir = containerv_default_runtime_dir();
    struct containerv_info info;
    int64_t start = -1;
    int r = cv_state_load(runtime_dir, id, &info, &start, err);
    if (r < 0)
        return r;
    struct containerv_container *c = calloc(1, sizeof(*c));
    if (!c)
        return cv_error(err, ENOMEM, "attach", "allocating");
    c->init_pidfd = c->ctl_fd = c->lock_fd = -1;
    c->init_start_time = -1;
    c->cg.v2_fd = -1;
    pthread_mutex_init(&c->lock, NULL);
    snprintf(c->id, sizeof(c->id), "%s", id);
    snprintf(c->runtime_dir, sizeof(c->runtime_dir), "%s", runtime_dir);
    snprintf(c->rootfs_desc, sizeof(c->rootfs_desc), "%s", info.rootfs);
    c->init_pid = info.init_pid;
    c->init_pidfd = (int)syscall(SYS_pidfd_open, info.init_pid, 0);
    if (c->init_pidfd < 0)
        r = cv_error(err, errno, "attach", "the init (pid %d) of '%s'", info.init_pid, id);
    /* the pidfd pins the pid: check it is still our init, not a reused pid
     * (a running container's state always records the init's start time) */
    if (r == 0 && (start < 0 || cv_state_start_time(info.init_pid) != start))
        r = cv_error_plain(err, ESRCH, "attach", "the init of '%s' is gone; run 'containerv gc'", id);
    if (r == 0)
        r = cv_load_spawn_defaults(c, err);
    if (r == 0)
        r = connect_control(c, err);
    if (r == 0)
        r = cv_state_open_cgroup(runtime_dir, id, &c->cg, err);
    if (r == 0)
        snprintf(c->cgroup_path, sizeof(c->cgroup_path), "%s", c->cg.path);
    if (r < 0) {
        cv_container_free(c);
        return r;
    }
    *out = c;
    return 0;
}
