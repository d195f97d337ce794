/* The main process of a container (containerv_prepare_main and
 * containerv_start_main): the host side of proto.h's CV_MSG_PREPARE and
 * CV_MSG_START; the init's side is init/mainproc.c. */
#include "linux.h"
#include "security.h"

#include <fcntl.h>
#include <linux/filter.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

void containerv_main_process_init(struct containerv_main_process *p)
{
    memset(p, 0, sizeof(*p));
    p->uid = p->gid = -1;
    p->stdin_fd = p->stdout_fd = p->stderr_fd = -1;
    p->umask = -1;
    p->personality = -1;
}

static size_t strings_size(const char *const *v, uint32_t *count)
{
    size_t n = 0;
    *count = 0;
    for (; v && v[*count]; (*count)++)
        n += strlen(v[*count]) + 1;
    return n;
}

static int check(const struct containerv_main_process *p, struct containerv_error *err)
{
    if (!p->argv || !p->argv[0] || !p->argv[0][0])
        return cv_error_plain(err, EINVAL, "main", "no command given");
    if (p->cwd && p->cwd[0] != '/')
        return cv_error_plain(err, EINVAL, "main", "working directory '%s' is not absolute", p->cwd);
    if (p->n_groups > CV_MAIN_MAX_GROUPS)
        return cv_error_plain(err, E2BIG, "main", "%zu supplementary groups (at most %d)", p->n_groups,
                              CV_MAIN_MAX_GROUPS);
    if (p->n_rlimits > CV_MAIN_MAX_RLIMITS)
        return cv_error_plain(err, E2BIG, "main", "%zu resource limits (at most %d)", p->n_rlimits,
                              CV_MAIN_MAX_RLIMITS);
    for (size_t i = 0; i < p->n_rlimits; i++)
        if (p->rlimits[i].resource < 0 || p->rlimits[i].resource >= RLIM_NLIMITS ||
            p->rlimits[i].soft > p->rlimits[i].hard)
            return cv_error_plain(err, EINVAL, "main", "resource limit %d: soft %llu above hard %llu or unknown",
                                  p->rlimits[i].resource, (unsigned long long)p->rlimits[i].soft,
                                  (unsigned long long)p->rlimits[i].hard);
    if (p->n_extra_fds < 0 || p->n_extra_fds > CV_MAIN_MAX_FDS)
        return cv_error_plain(err, E2BIG, "main", "%d extra fds (at most %d)", p->n_extra_fds, CV_MAIN_MAX_FDS);
    if (p->seccomp_len > CV_MAIN_SECCOMP_MAX || (p->seccomp_len && !p->seccomp_filter))
        return cv_error_plain(err, EINVAL, "main", "a seccomp filter of %zu instructions (at most %d)",
                              p->seccomp_len, CV_MAIN_SECCOMP_MAX);
    if (p->umask > 0777)
        return cv_error_plain(err, EINVAL, "main", "umask %o", (unsigned)p->umask);
    if (p->uid > (int64_t)UINT32_MAX - 1 || p->gid > (int64_t)UINT32_MAX - 1)
        return cv_error_plain(err, EINVAL, "main", "user %lld:%lld", (long long)p->uid, (long long)p->gid);
    return 0;
}

static struct cv_main_req *build(struct containerv_container *c, const struct containerv_main_process *p,
                                 size_t *len, struct containerv_error *err)
{
    const char *cwd = p->cwd ? p->cwd : c->workdir ? c->workdir : "/";
    uint32_t argc, envc;
    size_t text = strlen(cwd) + 1 + strings_size(p->argv, &argc);
    if (p->env) {
        text += strings_size(p->env, &envc);
    } else {
        envc = (uint32_t)c->n_env;
        for (int i = 0; i < c->n_env; i++)
            text += strlen(c->env[i]) + 1;
    }
    size_t filter = p->seccomp_len * sizeof(struct sock_filter);
    size_t pad = filter ? (8 - (sizeof(struct cv_main_req) + text) % 8) % 8 : 0;
    size_t need = sizeof(struct cv_main_req) + text + pad + filter;
    if (need > CV_SPAWN_MAX) {
        cv_error_plain(err, E2BIG, "main", "command line, environment and seccomp filter take %zu bytes (at most %d)",
                       need, CV_SPAWN_MAX);
        return NULL;
    }
    struct cv_main_req *req = calloc(1, need);
    if (!req) {
        cv_error(err, ENOMEM, "main", "allocating %zu bytes", need);
        return NULL;
    }
    char *s = req->strings;
    s = stpcpy(s, cwd) + 1;
    for (uint32_t i = 0; i < argc; i++)
        s = stpcpy(s, p->argv[i]) + 1;
    for (uint32_t i = 0; i < envc; i++)
        s = stpcpy(s, p->env ? p->env[i] : c->env[i]) + 1;
    if (filter)
        memcpy(s + pad, p->seccomp_filter, filter);
    req->type = CV_MSG_PREPARE;
    req->uid = p->uid >= 0 ? (uint32_t)p->uid : c->uid;
    req->gid = p->gid >= 0 ? (uint32_t)p->gid : c->gid;
    req->rows = p->rows;
    req->cols = p->cols;
    req->argc = argc;
    req->envc = envc;
    req->strings_len = (uint32_t)(text + pad + filter);
    req->seccomp_len = (uint32_t)p->seccomp_len;
    req->flags = (p->tty ? CV_MAIN_TTY : 0) | (p->no_new_privs ? CV_MAIN_NNP : 0);
    if (p->set_caps) {
        req->flags |= CV_MAIN_CAPS;
        req->caps[CV_CAP_BOUNDING] = p->caps_bounding;
        req->caps[CV_CAP_EFFECTIVE] = p->caps_effective;
        req->caps[CV_CAP_PERMITTED] = p->caps_permitted;
        req->caps[CV_CAP_INHERITABLE] = p->caps_inheritable;
        req->caps[CV_CAP_AMBIENT] = p->caps_ambient;
    }
    if (p->umask >= 0) {
        req->flags |= CV_MAIN_UMASK;
        req->umask = (uint32_t)p->umask;
    }
    if (p->set_oom_score_adj) {
        req->flags |= CV_MAIN_OOM;
        req->oom_score_adj = p->oom_score_adj;
    }
    if (p->personality >= 0) {
        req->flags |= CV_MAIN_PERSONALITY;
        req->personality = (uint32_t)p->personality;
    }
    if (p->n_groups) {
        req->flags |= CV_MAIN_GROUPS;
        req->n_groups = (uint32_t)p->n_groups;
        for (size_t i = 0; i < p->n_groups; i++)
            req->groups[i] = p->groups[i];
    }
    req->n_rlimits = (uint32_t)p->n_rlimits;
    for (size_t i = 0; i < p->n_rlimits; i++)
        req->rlimits[i] = (struct cv_main_rlimit){.resource = (uint32_t)p->rlimits[i].resource,
                                                  .cur = p->rlimits[i].soft, .max = p->rlimits[i].hard};
    *len = need;
    return req;
}

/* One answer of the init (type want), with at most one fd; 1 when the
 * connection closed without one. */
static int read_reply(int conn, uint32_t want, struct cv_main_reply *rep, int *fd)
{
    union {
        struct cv_main_reply m;
        char buf[sizeof(struct cv_main_reply) + 1];
    } rx;
    char cbuf[CMSG_SPACE(2 * sizeof(int))];
    struct iovec iov = {.iov_base = rx.buf, .iov_len = sizeof(rx.buf)};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
    ssize_t n;
    do
        n = recvmsg(conn, &mh, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    int got[2], ngot = 0;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
            for (size_t i = 0; i < (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int) && ngot < 2; i++)
                memcpy(&got[ngot++], CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
    *fd = -1;
    if (n < 0)
        return -errno;
    if (n == 0 && ngot == 0)
        return 1;
    if ((size_t)n != sizeof(struct cv_main_reply) || rx.m.type != want || ngot > 1 || (mh.msg_flags & MSG_CTRUNC)) {
        for (int i = 0; i < ngot; i++)
            close(got[i]);
        return -EPROTO;
    }
    *rep = rx.m;
    rep->step[sizeof(rep->step) - 1] = rep->what[sizeof(rep->what) - 1] = '\0';
    if (rep->error < 0 || rep->error > 4095)
        rep->error = EPROTO;
    if (ngot == 1) {
        if (rep->error) {
            close(got[0]);
        } else {
            *fd = got[0];
        }
    }
    return 0;
}

static int main_error(const struct cv_main_reply *rep, const char *id, struct containerv_error *err)
{
    const char *step = rep->step[0] ? rep->step : "main";
    if (!strcmp(step, "main.exec") && rep->error == ENOENT)
        return cv_error_plain(err, ENOENT, step, "'%s': executable file not found in $PATH or the container", rep->what);
    return cv_error(err, rep->error, step, "container '%s'%s%s", id, rep->what[0] ? ": " : "", rep->what);
}

/* PREPARE on sock (the init's control connection, or an entering init
 * program's socket): the request with a fresh answer connection, the stdio
 * and extra fds; the answer checked. 0 with *master (a tty's, or -1). */
static int send_prepare(int sock, struct cv_main_req *req, size_t len, const struct containerv_main_process *p,
                        const char *id, int *master, struct containerv_error *err)
{
    int sp[2];
    *master = -1;
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
        return cv_error(err, errno, "main", "socketpair");
    int fds[4 + CV_MAIN_MAX_FDS] = {sp[1]}, nfds = 1;
    const int io[3] = {p->stdin_fd, p->stdout_fd, p->stderr_fd};
    for (int i = 0; i < 3 && !p->tty; i++)
        if (io[i] >= 0) {
            req->flags |= CV_MAIN_STDIN << i;
            fds[nfds++] = io[i];
        }
    req->n_fds = (uint32_t)p->n_extra_fds;
    for (int i = 0; i < p->n_extra_fds; i++)
        fds[nfds++] = p->extra_fds[i];
    cv_cleanup_fd int conn = sp[0];
    int r = cv_send_fds(sock, req, len, fds, nfds);
    close(sp[1]);
    if (r < 0)
        return cv_error(err, -r, "main", "sending the process of '%s'", id);
    struct cv_main_reply rep;
    r = read_reply(conn, CV_MSG_PREPARED, &rep, master);
    if (r != 0)
        return cv_error(err, r > 0 ? EPIPE : -r, "main", "no answer for the process of '%s'", id);
    if (rep.error)
        return main_error(&rep, id, err);
    if (p->tty && *master < 0)
        return cv_error_plain(err, EPROTO, "main.tty", "no terminal came for the process of '%s'", id);
    return 0;
}

/* START on sock: 0 once the connection closed with the exec. */
static int send_start(int sock, const char *id, struct containerv_error *err)
{
    int sp[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
        return cv_error(err, errno, "start", "socketpair");
    struct cv_start_req req = {.type = CV_MSG_START};
    int r = cv_send_fds(sock, &req, sizeof(req), &sp[1], 1);
    close(sp[1]);
    cv_cleanup_fd int conn = sp[0];
    if (r < 0)
        return cv_error(err, -r, "start", "sending start for '%s'", id);
    struct cv_main_reply rep;
    int fd = -1;
    r = read_reply(conn, CV_MSG_START_FAILED, &rep, &fd);
    if (r == 1) /* the connection closed with the exec */
        return 0;
    if (r < 0)
        return cv_error(err, -r, "start", "no answer for the process of '%s'", id);
    return main_error(&rep, id, err);
}

int containerv_prepare_main(struct containerv_container *c, const struct containerv_main_process *p,
                            struct containerv_error *err)
{
    containerv_error_clear(err);
    if (!c || !p)
        return cv_error_plain(err, EINVAL, "main", "no container or process given");
    if (c->ctl_fd < 0)
        return cv_error_plain(err, ENOTCONN, "main", "container '%s' has no control connection", c->id);
    if (c->lock_fd < 0)
        return cv_error_plain(err, EINVAL, "main", "container '%s': only its creator's handle prepares a main process",
                              c->id);
    int r = check(p, err);
    if (r < 0)
        return r;
    size_t len = 0;
    cv_cleanup_free struct cv_main_req *req = build(c, p, &len, err);
    if (!req)
        return -err->code;
    /* the state says so first (harmless while the init holds the lock):
     * once the main process replaces the init, and the lock goes with it,
     * its pid tells whether the container runs */
    c->has_main = true;
    if ((r = cv_state_update(c, err)) < 0) {
        c->has_main = false;
        return r;
    }
    int master = -1;
    if ((r = send_prepare(c->ctl_fd, req, len, p, c->id, &master, err)) < 0) {
        struct containerv_error e2;
        c->has_main = false;
        cv_state_update(c, &e2);
        return r;
    }
    if (p->tty && p->tty_master_fd)
        *p->tty_master_fd = master;
    else if (master >= 0)
        close(master);
    return 0;
}

int containerv_start_main(struct containerv_container *c, struct containerv_error *err)
{
    containerv_error_clear(err);
    if (!c)
        return cv_error_plain(err, EINVAL, "start", "no container given");
    if (c->ctl_fd < 0)
        return cv_error_plain(err, ENOTCONN, "start", "container '%s' has no control connection", c->id);
    return send_start(c->ctl_fd, c->id, err);
}

/* ------------------------------------------------------------ enter */

/* The namespaces of pid that differ from ours: what setns must enter. */
static int ns_to_enter(pid_t pid)
{
    static const struct {
        const char *name;
        int flag;
    } ns[] = {{"user", CLONE_NEWUSER}, {"mnt", CLONE_NEWNS},  {"net", CLONE_NEWNET}, {"ipc", CLONE_NEWIPC},
              {"uts", CLONE_NEWUTS},   {"pid", CLONE_NEWPID}, {"cgroup", CLONE_NEWCGROUP}};
    int flags = 0;
    for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
        char path[64];
        struct stat ours, theirs;
        snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, ns[i].name);
        if (stat(path, &theirs) < 0) /* fail closed: never a namespace of ours by mistake */
            return -errno;
        snprintf(path, sizeof(path), "/proc/self/ns/%s", ns[i].name);
        if (stat(path, &ours) < 0)
            return -errno;
        if (ours.st_ino != theirs.st_ino || ours.st_dev != theirs.st_dev)
            flags |= ns[i].flag;
    }
    return flags;
}

/* The raw-cloned go-between (its caller may be multi-threaded: system
 * calls only): waits for the host to put it in the cgroup, enters the
 * namespaces, starts the init program in enter mode as a child of the
 * caller (CLONE_PARENT: the caller waits for it) and reports its pid. */
__attribute__((noreturn)) static void go_between(int go, int report, int target, int flags, int exe, int sock)
{
    char b;
    int32_t msg[2] = {0, 0};
    /* before it enters anything: not dumpable (so no process of the
     * container may ptrace it, or its child before the exec, which holds a
     * copy of the caller's memory), and no fd of the caller's but its own */
    syscall(SYS_prctl, PR_SET_DUMPABLE, 0, 0, 0, 0);
    int keep[5] = {go, report, target, exe, sock};
    cv_close_except(keep, 5);
    if (read(go, &b, 1) != 1)
        _exit(1);
    if (syscall(SYS_setns, target, flags) < 0) {
        msg[1] = errno;
    } else {
        long c2 = syscall(SYS_clone, CLONE_PARENT | SIGCHLD, NULL, NULL, NULL, 0);
        if (c2 == 0) {
            static const char *const argv[] = {"containerv-init", "--enter=3", NULL};
            static const char *const envp[] = {NULL};
            /* only the program and its socket (at 3) cross the exec */
            int e = (int)syscall(SYS_fcntl, exe, F_DUPFD_CLOEXEC, 16);
            if (e < 0 || (sock == 3 ? syscall(SYS_fcntl, 3, F_SETFD, 0) : dup2(sock, 3)) < 0)
                _exit(126);
            int keep2[2] = {3, e};
            cv_close_except(keep2, 2);
            syscall(SYS_execveat, e, "", argv, envp, AT_EMPTY_PATH);
            _exit(127);
        }
        if (c2 < 0)
            msg[1] = errno;
        else
            msg[0] = (int32_t)c2;
    }
    if (write(report, msg, sizeof(msg)) < 0)
        _exit(1);
    _exit(0);
}

/* What a process entering without settings of its own gets: those of the
 * container's pid 1 (its init, or its main process), never the caller's:
 * the five capability sets, no_new_privs, and, when pid 1 has a seccomp
 * filter, the library's default one (the filter itself cannot be read). */
static int inherit_pid1(pid_t pid, struct containerv_main_process *q, struct containerv_error *err)
{
    char path[64], buf[4096];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    if (cv_read_file_at(AT_FDCWD, path, buf, sizeof(buf)) <= 0)
        return cv_error(err, ESRCH, "enter", "reading %s", path);
    static const char *const keys[5] = {"CapBnd:", "CapEff:", "CapPrm:", "CapInh:", "CapAmb:"};
    uint64_t *sets[5] = {&q->caps_bounding, &q->caps_effective, &q->caps_permitted, &q->caps_inheritable,
                         &q->caps_ambient};
    long nnp = -1, seccomp = -1;
    int found = 0;
    for (char *line = buf, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        for (int i = 0; i < 5; i++)
            if (!strncmp(line, keys[i], strlen(keys[i]))) {
                *sets[i] = strtoull(line + strlen(keys[i]), NULL, 16);
                found++;
            }
        if (!strncmp(line, "NoNewPrivs:", 11))
            nnp = strtol(line + 11, NULL, 10);
        if (!strncmp(line, "Seccomp:", 8))
            seccomp = strtol(line + 8, NULL, 10);
    }
    if (found != 5 || nnp < 0 || seccomp < 0)
        return cv_error_plain(err, EPROTO, "enter", "%s lacks the capability, no_new_privs or seccomp fields", path);
    q->set_caps = true;
    q->no_new_privs |= nnp == 1;
    if (seccomp != 0 && !q->seccomp_filter) {
        const struct sock_fprog *prog;
        int last = cv_caps_last_cap();
        uint64_t all = last >= 63 ? ~0ull : (1ull << (last + 1)) - 1;
        cv_seccomp_default((q->caps_bounding & all) == all, &prog, err);
        q->seccomp_filter = prog->filter;
        q->seccomp_len = prog->len;
    }
    return 0;
}

int containerv_enter(const char *runtime_dir, const char *id, const struct containerv_main_process *p_in, pid_t *pid,
                     struct containerv_error *err)
{
    struct containerv_main_process q;
    const struct containerv_main_process *p = p_in;
    containerv_error_clear(err);
    if (!p || !pid)
        return cv_error_plain(err, EINVAL, "enter", "no process given");
    *pid = -1;
    q = *p_in;
    p = &q;
    if (!cv_valid_id(id))
        return cv_error_plain(err, EINVAL, "enter", "invalid container id '%s'", id ? id : "");
    if (!runtime_dir)
        runtime_dir = containerv_default_runtime_dir();
    int r = check(p, err);
    if (r < 0)
        return r;
    struct containerv_info info;
    int64_t start = -1;
    if ((r = cv_state_load(runtime_dir, id, &info, &start, err)) < 0)
        return r;
    struct containerv_container *c = calloc(1, sizeof(*c));
    if (!c)
        return cv_error(err, ENOMEM, "enter", "allocating");
    c->init_pidfd = c->ctl_fd = c->lock_fd = -1;
    c->init_start_time = -1;
    c->cg.v2_fd = -1;
    pthread_mutex_init(&c->lock, NULL);
    snprintf(c->id, sizeof(c->id), "%s", id);
    snprintf(c->runtime_dir, sizeof(c->runtime_dir), "%s", runtime_dir);
    int target = -1, sp[2] = {-1, -1}, go[2] = {-1, -1}, rep[2] = {-1, -1};
    pid_t c1 = -1, c2 = -1;
    struct cv_main_req *req = NULL;
    size_t len = 0;
    if ((r = cv_load_spawn_defaults(c, err)) < 0)
        goto out;
    target = (int)syscall(SYS_pidfd_open, info.init_pid, 0);
    if (target < 0 || start < 0 || cv_state_start_time(info.init_pid) != start) {
        r = cv_error_plain(err, ESRCH, "enter", "the process of container '%s' is gone", id);
        goto out;
    }
    if ((r = cv_state_open_cgroup(runtime_dir, id, &c->cg, err)) < 0)
        goto out;
    snprintf(c->cgroup_path, sizeof(c->cgroup_path), "%s", c->cg.path);
    if (!q.set_caps && (r = inherit_pid1(info.init_pid, &q, err)) < 0)
        goto out;
    if (!(req = build(c, p, &len, err))) {
        r = -err->code;
        goto out;
    }
    int exe = cv_init_exe_fd();
    if (exe < 0) {
        r = cv_error(err, -exe, "enter", "the init program");
        goto out;
    }
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0 || pipe2(go, O_CLOEXEC) < 0 ||
        pipe2(rep, O_CLOEXEC) < 0) {
        r = cv_error(err, errno, "enter", "socketpair");
        goto out;
    }
    int flags = ns_to_enter(info.init_pid);
    if (flags < 0) {
        r = cv_error(err, -flags, "enter", "the namespaces of container '%s'", id);
        goto out;
    }
    c1 = (pid_t)syscall(SYS_clone, SIGCHLD, NULL, NULL, NULL, 0);
    if (c1 == 0)
        go_between(go[0], rep[1], target, flags, exe, sp[1]);
    if (c1 < 0) {
        r = cv_error(err, errno, "enter", "clone");
        goto out;
    }
    close(sp[1]);
    sp[1] = -1;
    r = cv_cgroup_attach(&c->cg, c1, err);
    if (r == 0 && write(go[1], "g", 1) != 1)
        r = cv_error(err, errno, "enter", "starting the go-between");
    close(go[1]);
    go[1] = -1;
    close(rep[1]);
    rep[1] = -1;
    int32_t msg[2] = {0, 0};
    ssize_t n = r == 0 ? read(rep[0], msg, sizeof(msg)) : -1;
    while (waitpid(c1, NULL, 0) < 0 && errno == EINTR)
        ;
    c1 = -1;
    if (r < 0)
        goto out;
    if (n != (ssize_t)sizeof(msg) || msg[1] || msg[0] <= 0) {
        r = cv_error(err, n == (ssize_t)sizeof(msg) && msg[1] ? msg[1] : EPROTO, "enter.setns",
                     "entering the namespaces of container '%s'", id);
        goto out;
    }
    c2 = msg[0];
    /* the process: prepared and started as a main process is */
    int master = -1;
    if ((r = send_prepare(sp[0], req, len, p, id, &master, err)) < 0)
        goto out;
    if ((r = send_start(sp[0], id, err)) < 0) {
        if (master >= 0)
            close(master);
        goto out;
    }
    if (p->tty && p->tty_master_fd)
        *p->tty_master_fd = master;
    else if (master >= 0)
        close(master);
    *pid = c2;
    c2 = -1;
out:
    if (c2 > 0) { /* started in the container but not as asked: gone again */
        kill(c2, SIGKILL);
        while (waitpid(c2, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    free(req);
    for (int i = 0; i < 2; i++) {
        if (sp[i] >= 0)
            close(sp[i]);
        if (go[i] >= 0)
            close(go[i]);
        if (rep[i] >= 0)
            close(rep[i]);
    }
    if (target >= 0)
        close(target);
    cv_container_free(c);
    return r;
}
