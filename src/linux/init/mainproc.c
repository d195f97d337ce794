/* The main process: what the init becomes at START (containerv_start_main),
 * the way an OCI runtime's container process is pid 1 of its container and
 * the container lives as long as it does.
 *
 * PREPARE checks and keeps the request (in memory mapped here: the init
 * never allocates), its stdio and extra fds, and with a tty the terminal
 * (the master goes back to the host), and finds the executable (so that a
 * missing one fails create, not start). START then runs, in the init
 * itself, what a spawned child runs after its vfork (init.c), with the OCI
 * process's settings: a new session and stdio, signals back to their
 * defaults, resource limits, oom_score_adj, the working directory, the
 * bounding set, the ids with the supplementary groups, the other capability
 * sets, umask, no_new_privs, the seccomp filter, every other fd closed, and
 * execve. A step that fails is reported on the START connection and the
 * init exits: the container has stopped. Success is the connection closing
 * with the exec (it is close-on-exec). */
#include "mainproc.h"

#include "../linux.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#define ARG_SLOTS 4097

static struct {
    bool prepared;
    struct cv_main_req *req; /* CV_SPAWN_MAX bytes, mmap'ed at PREPARE */
    const char *cwd;
    const void *filter;
    int stdio[3];
    int extra[CV_MAIN_MAX_FDS];
    int tty_slave;
    char path[4096];
} m = {.stdio = {-1, -1, -1}, .tty_slave = -1};

static int last_cap(void);
static char *argv_slots[ARG_SLOTS];
static char *envp_slots[ARG_SLOTS];

bool cv_main_pending(void)
{
    return m.prepared;
}

int cv_init_parse_main(const void *buf, size_t len, const char **cwd, char **argv, char **envp, const void **filter)
{
    const struct cv_main_req *req = buf;
    if (len < sizeof(*req) || req->type != CV_MSG_PREPARE || req->strings_len != len - sizeof(*req) ||
        req->argc == 0 || req->argc > ARG_SLOTS - 1 || req->envc > ARG_SLOTS - 1 ||
        req->n_groups > CV_MAIN_MAX_GROUPS || req->n_rlimits > CV_MAIN_MAX_RLIMITS || req->n_fds > CV_MAIN_MAX_FDS ||
        req->seccomp_len > CV_MAIN_SECCOMP_MAX)
        return -EINVAL;
    for (uint32_t i = 0; i < req->n_rlimits; i++)
        if (req->rlimits[i].resource >= RLIM_NLIMITS || req->rlimits[i].cur > req->rlimits[i].max)
            return -EINVAL;
    size_t filter_bytes = (size_t)req->seccomp_len * sizeof(struct sock_filter);
    if (filter_bytes > req->strings_len)
        return -EINVAL;
    size_t text_end = req->strings_len - filter_bytes; /* the strings, then padding */
    if (filter_bytes && (sizeof(*req) + text_end) % 8)
        return -EINVAL;
    const char *s = req->strings, *end = req->strings + text_end;
    const char *nul = text_end ? memchr(s, '\0', text_end) : NULL;
    if (!nul || s[0] != '/')
        return -EINVAL; /* the cwd: absolute */
    *cwd = s;
    s = nul + 1;
    for (uint32_t i = 0; i < req->argc + req->envc; i++) {
        nul = s < end ? memchr(s, '\0', (size_t)(end - s)) : NULL;
        if (!nul)
            return -EINVAL;
        if (i < req->argc)
            argv[i] = (char *)s;
        else
            envp[i - req->argc] = (char *)s;
        s = nul + 1;
    }
    for (; s < end; s++) /* only padding may follow */
        if (*s)
            return -EINVAL;
    if (!argv[0][0])
        return -EINVAL;
    argv[req->argc] = NULL;
    envp[req->envc] = NULL;
    *filter = filter_bytes ? req->strings + text_end : NULL;
    return 0;
}

static void reply(int fd, uint32_t type, int error, const char *step, const char *what, const int *fds, int nfds)
{
    struct cv_main_reply r = {.type = type, .error = error};
    snprintf(r.step, sizeof(r.step), "%s", step ? step : "");
    snprintf(r.what, sizeof(r.what), "%s", what ? what : "");
    cv_send_fds(fd, &r, sizeof(r), fds, nfds);
}

/* An executable regular file, as the caller would run it. */
static bool runnable(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* argv[0] as execve will get it: as given when it holds a '/' (relative to
 * the working directory), else the first match in the process's $PATH (its
 * environment's, not the init's), as runc does. */
static int find_program(const char *cwd, const char *name, const char *const *envp)
{
    if (strchr(name, '/')) {
        if (name[0] == '/')
            snprintf(m.path, sizeof(m.path), "%s", name);
        else
            snprintf(m.path, sizeof(m.path), "%s/%s", cwd, name);
        return runnable(m.path) ? 0 : errno ? -errno : -EACCES;
    }
    const char *path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    for (const char *const *e = envp; *e; e++)
        if (!strncmp(*e, "PATH=", 5))
            path = *e + 5;
    for (const char *p = path;;) {
        size_t n = strcspn(p, ":");
        if (n == 0)
            snprintf(m.path, sizeof(m.path), "%s/%s", cwd, name); /* an empty entry: the cwd */
        else
            snprintf(m.path, sizeof(m.path), "%.*s/%s", (int)n, p, name);
        if (runnable(m.path))
            return 0;
        if (!p[n])
            return -ENOENT;
        p += n + 1;
    }
}

static void drop_prepared(void)
{
    for (int i = 0; i < 3; i++)
        if (m.stdio[i] >= 0)
            close(m.stdio[i]);
    for (int i = 0; i < CV_MAIN_MAX_FDS; i++)
        if (m.extra[i] >= 0)
            close(m.extra[i]);
    if (m.tty_slave >= 0)
        close(m.tty_slave);
    m.tty_slave = m.stdio[0] = m.stdio[1] = m.stdio[2] = -1;
    m.prepared = false;
}

void cv_main_prepare(const void *buf, size_t len, int *fds, int nfds)
{
    int reply_fd = fds[0], master = -1;
    const char *step = "main.request", *what = NULL;
    int r = 0;
    if (m.prepared) { /* the first one stays as it is */
        reply(reply_fd, CV_MSG_PREPARED, EBUSY, step, "a main process is already prepared", NULL, 0);
        for (int i = 0; i < nfds; i++)
            close(fds[i]);
        return;
    }
    for (int i = 0; i < CV_MAIN_MAX_FDS; i++)
        m.extra[i] = -1;
    if (!m.req) {
        void *p = mmap(NULL, CV_SPAWN_MAX, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            r = -errno;
            goto out;
        }
        m.req = p;
    }
    if (len > CV_SPAWN_MAX) {
        r = -EINVAL;
        goto out;
    }
    memcpy(m.req, buf, len);
    const void *filter = NULL;
    if ((r = cv_init_parse_main(m.req, len, &m.cwd, argv_slots, envp_slots, &filter)) < 0)
        goto out;
    m.filter = filter;
    const struct cv_main_req *req = m.req;
    int next = 1;
    for (int i = 0; i < 3; i++)
        if (req->flags & (CV_MAIN_STDIN << i)) {
            if (next >= nfds) {
                r = -EINVAL;
                goto out;
            }
            m.stdio[i] = fds[next];
            fds[next++] = -1;
        }
    if (nfds - next != (int)req->n_fds) {
        r = -EINVAL;
        what = "the extra fds";
        goto out;
    }
    for (uint32_t i = 0; i < req->n_fds; i++) {
        m.extra[i] = fds[next];
        fds[next++] = -1;
    }
    step = "main.exec";
    what = argv_slots[0];
    if ((r = find_program(m.cwd, argv_slots[0], (const char *const *)envp_slots)) < 0)
        goto out;
    if (req->flags & CV_MAIN_TTY) {
        step = "main.tty";
        what = "/dev/ptmx";
        if ((r = cv_init_open_tty(req->rows, req->cols, &master, &m.tty_slave)) < 0)
            goto out;
    }
    m.prepared = true;
out:
    if (r < 0)
        drop_prepared();
    reply(reply_fd, CV_MSG_PREPARED, -r, r < 0 ? step : NULL, r < 0 ? what : NULL, &master, master >= 0 && r == 0);
    if (master >= 0)
        close(master);
    for (int i = 1; i < nfds; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    close(reply_fd);
}

/* ------------------------------------------------------------ START */

static int failed_fd = -1;

__attribute__((noreturn)) static void start_fail(const char *step, const char *what)
{
    int e = errno ? errno : EIO;
    reply(failed_fd, CV_MSG_START_FAILED, e, step, what, NULL, 0);
    _exit(127);
}

#define MAIN_STEP(name, what, work)        \
    do {                                   \
        errno = 0;                         \
        if (!(work))                       \
            start_fail(name, what);        \
    } while (0)

/* Move fd to fd >= floor, close-on-exec; -1 stays -1. */
static int lift(int fd, int floor)
{
    if (fd < 0)
        return -1;
    int n = fcntl(fd, F_DUPFD_CLOEXEC, floor);
    close(fd);
    return n;
}

static bool set_stdio(void)
{
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    for (int i = 0; i < 3; i++) {
        int fd = m.tty_slave >= 0 ? m.tty_slave : m.stdio[i] >= 0 ? m.stdio[i] : null;
        if (fd < 0 || dup2(fd, i) < 0)
            return false;
    }
    return true;
}

static bool signals_default(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_DFL;
    for (int sig = 1; sig < _NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            sigaction(sig, &sa, NULL); /* EINVAL for the libc's own: fine */
    sigset_t none;
    sigemptyset(&none);
    return sigprocmask(SIG_SETMASK, &none, NULL) == 0;
}

static bool set_rlimits(const struct cv_main_req *req, char *what, size_t n)
{
    for (uint32_t i = 0; i < req->n_rlimits; i++) {
        struct rlimit rl = {.rlim_cur = req->rlimits[i].cur, .rlim_max = req->rlimits[i].max};
        if (setrlimit((int)req->rlimits[i].resource, &rl) < 0) {
            snprintf(what, n, "resource %u: %llu/%llu", req->rlimits[i].resource,
                     (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max);
            return false;
        }
    }
    return true;
}

static bool set_oom(int32_t v)
{
    char buf[16];
    int len = snprintf(buf, sizeof(buf), "%d", v);
    int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    bool ok = fd >= 0 && write(fd, buf, (size_t)len) == len;
    if (fd >= 0)
        close(fd);
    return ok;
}

static bool drop_bounding(uint64_t keep)
{
    int last = last_cap();
    for (int cap = 0; cap <= last; cap++)
        if (!(keep & (1ull << cap)) && prctl(PR_CAPBSET_DROP, (unsigned long)cap, 0, 0, 0) < 0 && errno != EINVAL)
            return false;
    return true;
}

/* /proc/self/setgroups says deny (a user namespace whose maps were written so) */
static bool setgroups_denied(void)
{
    char buf[8] = "";
    int fd = open("/proc/self/setgroups", O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
    if (fd >= 0)
        close(fd);
    return n >= 4 && !strncmp(buf, "deny", 4);
}

static bool set_ids(const struct cv_main_req *req)
{
    gid_t groups[CV_MAIN_MAX_GROUPS];
    for (uint32_t i = 0; i < req->n_groups; i++)
        groups[i] = req->groups[i];
    /* raw system calls: the process has one thread, but keep to the kernel's */
    if (syscall(SYS_prctl, PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
        return false;
    if (syscall(SYS_setgroups, (size_t)((req->flags & CV_MAIN_GROUPS) ? req->n_groups : 0), groups) < 0 &&
        !(errno == EPERM && setgroups_denied())) /* a user namespace with setgroups denied */
        return false;
    if (syscall(SYS_setresgid, req->gid, req->gid, req->gid) < 0 || syscall(SYS_setresuid, req->uid, req->uid, req->uid) < 0)
        return false;
    return syscall(SYS_prctl, PR_SET_KEEPCAPS, 0, 0, 0, 0) == 0;
}

static bool set_caps(const uint64_t *caps)
{
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[2];
    for (int i = 0; i < 2; i++)
        data[i] = (struct __user_cap_data_struct){.effective = (uint32_t)(caps[CV_CAP_EFFECTIVE] >> (32 * i)),
                                                  .permitted = (uint32_t)(caps[CV_CAP_PERMITTED] >> (32 * i)),
                                                  .inheritable = (uint32_t)(caps[CV_CAP_INHERITABLE] >> (32 * i))};
    if (syscall(SYS_capset, &hdr, data) < 0)
        return false;
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
        return false;
    /* the kernel raises an ambient capability only when it is permitted and
     * inheritable: the others are left out, as runc leaves them */
    uint64_t ambient = caps[CV_CAP_AMBIENT] & caps[CV_CAP_PERMITTED] & caps[CV_CAP_INHERITABLE];
    int last = last_cap();
    for (int cap = 0; cap <= last; cap++)
        if ((ambient & (1ull << cap)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, (unsigned long)cap, 0, 0) < 0)
            return false;
    return true;
}

static bool load_filter(void)
{
    if (!m.filter)
        return true;
    struct sock_fprog prog = {.len = (unsigned short)m.req->seccomp_len, .filter = (struct sock_filter *)m.filter};
    return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) == 0;
}

/* The extra fds to 3, 4, ...; every other fd of the init closed (its
 * control sockets, the state lock, the upper dir, the signalfd) but the
 * stdio, the tty and the answer's connection, moved above the extra ones
 * and close-on-exec. */
static bool place_fds(int n)
{
    int keep[CV_MAIN_MAX_FDS + 5], k = 0, lifted[CV_MAIN_MAX_FDS];
    for (int i = 0; i < n; i++)
        if ((keep[k++] = lifted[i] = lift(m.extra[i], 3 + n)) < 0)
            return false;
    for (int i = 0; i < 3; i++)
        if (m.stdio[i] >= 0 && (keep[k++] = m.stdio[i] = lift(m.stdio[i], 3 + n)) < 0)
            return false;
    if (m.tty_slave >= 0 && (keep[k++] = m.tty_slave = lift(m.tty_slave, 3 + n)) < 0)
        return false;
    if ((keep[k++] = failed_fd = lift(failed_fd, 3 + n)) < 0)
        return false;
    cv_close_except(keep, k);
    for (int i = 0; i < n; i++) {
        if (dup2(lifted[i], 3 + i) < 0)
            return false;
        close(lifted[i]);
    }
    return true;
}

/* /proc/sys/kernel/cap_last_cap, read once */
static int last_cap(void)
{
    static int last = -1;
    if (last < 0) {
        char buf[16] = "";
        int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
        ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
        if (fd >= 0)
            close(fd);
        last = n > 0 ? atoi(buf) : 40;
        if (last <= 0 || last > 63)
            last = 40;
    }
    return last;
}

void cv_main_start(int reply_fd)
{
    failed_fd = reply_fd;
    if (!m.prepared) {
        errno = ENOENT;
        reply(reply_fd, CV_MSG_START_FAILED, ENOENT, "main.start", "no main process is prepared", NULL, 0);
        close(reply_fd);
        return;
    }
    const struct cv_main_req *req = m.req;
    char what[96] = "";
    /* from here on the init is the process: a failure ends the container */
    MAIN_STEP("main.fds", "", place_fds((int)req->n_fds));
    MAIN_STEP("main.session", "", setsid() >= 0 || errno == EPERM);
    if (m.tty_slave >= 0)
        MAIN_STEP("main.tty", "controlling terminal", ioctl(m.tty_slave, TIOCSCTTY, 0) >= 0);
    MAIN_STEP("main.stdio", "", set_stdio());
    MAIN_STEP("main.signals", "", signals_default());
    MAIN_STEP("main.rlimit", what, set_rlimits(req, what, sizeof(what)));
    if (req->flags & CV_MAIN_OOM)
        MAIN_STEP("main.oom_score_adj", "/proc/self/oom_score_adj", set_oom(req->oom_score_adj));
    if (req->flags & CV_MAIN_PERSONALITY)
        MAIN_STEP("main.personality", "", syscall(SYS_personality, (unsigned long)req->personality) >= 0);
    /* an init outside a pid namespace of its own was a subreaper (its
     * spawns' orphans came back to it); the process it becomes is not, as
     * runc's is not */
    prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
    MAIN_STEP("main.cwd", m.cwd, chdir(m.cwd) == 0);
    /* without no_new_privs, only a process that has CAP_SYS_ADMIN may load
     * a filter: then it goes first, as runc does */
    bool nnp = req->flags & CV_MAIN_NNP;
    if (!nnp)
        MAIN_STEP("main.seccomp", "", load_filter());
    if (req->flags & CV_MAIN_CAPS)
        MAIN_STEP("main.capabilities", "bounding set", drop_bounding(req->caps[CV_CAP_BOUNDING]));
    MAIN_STEP("main.user", "", set_ids(req));
    if (req->flags & CV_MAIN_CAPS)
        MAIN_STEP("main.capabilities", "", set_caps(req->caps));
    if (req->flags & CV_MAIN_UMASK)
        umask((mode_t)req->umask);
    if (nnp) {
        MAIN_STEP("main.no_new_privs", "", prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0);
        MAIN_STEP("main.seccomp", "", load_filter());
    }
    for (int i = 0; i < 3; i++)
        if (m.stdio[i] >= 0 && m.stdio[i] > 2)
            close(m.stdio[i]);
    if (m.tty_slave > 2)
        close(m.tty_slave);
    execve(m.path, argv_slots, envp_slots);
    start_fail("main.exec", m.path);
}
