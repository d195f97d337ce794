/* The container's init: pid 1 of the container. It reaps every child
 * (orphans included), runs what the host asks over its control connections
 * and reports exit statuses. It is a copy of the creating process made by a
 * raw clone3, which may have been multi-threaded, so it never allocates: all
 * memory is static or mmap'ed. It is not dumpable, so the workload cannot
 * ptrace it, read its fds or open /proc/1/exe (CVE-2019-5736). */
#include "../linux.h"
#include "mainproc.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <termios.h>

#define MAX_CONNS 1024

enum conn_kind { CONN_FREE = 0, CONN_CONTROL, CONN_PROC };

struct conn {
    int fd;
    enum conn_kind kind;
    pid_t pid; /* CONN_PROC: the process it reports on */
};

static struct conn conns[MAX_CONNS];
static int conns_hi; /* one past the highest slot in use */
static struct pollfd pfds[MAX_CONNS + 2];
static char *reqbuf; /* CV_SPAWN_MAX bytes, mmap'ed */
static bool in_userns;
static uid_t peer_uids[3]; /* userns: who may connect (see accept_control) */
static int n_peer_uids;
static int sig_fd = -1;
static int null_fd = -1; /* the container's /dev/null, for stdio a spawn does not give */
static bool ids_plain; /* uid and gid 0, no supplementary groups: a spawn as 0:0 changes nothing */

/* What a reset compares against: the places a workload can write to (with
 * the default capabilities) and how they looked when the init started. The
 * writable layer (the overlay's upper dir, an fd the child kept before
 * pivot_root) is compared with the record upper.c made of it then, entries
 * made by the set-up included; the mounts below must be empty. */
static int upper_fd = -1;
struct watched {
    const char *what;
    int fd;
    struct stat st;
};
static struct watched watched[] = {
    {"/tmp", -1, {0}},
    {"/dev/shm", -1, {0}},
    {"/dev/mqueue", -1, {0}},
};
static struct utsname uts0;

/* The init's own settings, which every process it spawns inherits and a
 * workload that is root can change on pid 1 (prlimit, setpriority,
 * sched_setscheduler, sched_setaffinity, ioprio_set, /proc/1/oom_score_adj):
 * recorded when the init starts, put back in every spawned child before
 * exec and by a reset, which reports the container as not new when the init
 * cannot take them back (a lowered hard limit, a raised nice value or
 * oom_score_adj, SCHED_IDLE: undoing those needs CAP_SYS_RESOURCE or
 * CAP_SYS_NICE, which the init does not have), so that a pool replaces it. */
struct settings {
    struct rlimit rl[RLIM_NLIMITS];
    long prio;   /* getpriority's raw value: 20 - nice */
    int policy;
    struct sched_param sp;
    cpu_set_t cpus;
    long ioprio;
    char oom[16]; /* /proc/self/oom_score_adj as read */
    int oom_len;
};
static struct settings set0;

#define IOPRIO_WHO_PROCESS 1

static void settings_read(struct settings *s)
{
    for (int i = 0; i < RLIM_NLIMITS; i++)
        getrlimit((int)i, &s->rl[i]);
    s->prio = syscall(SYS_getpriority, PRIO_PROCESS, 0);
    s->policy = sched_getscheduler(0);
    sched_getparam(0, &s->sp);
    CPU_ZERO(&s->cpus);
    sched_getaffinity(0, sizeof(s->cpus), &s->cpus);
    s->ioprio = syscall(SYS_ioprio_get, IOPRIO_WHO_PROCESS, 0);
    s->oom_len = -1;
    int fd = open("/proc/self/oom_score_adj", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        s->oom_len = (int)read(fd, s->oom, sizeof(s->oom));
        close(fd);
    }
}

/* Put the recorded settings back on the calling process, as far as it may:
 * system calls only (the vfork'ed child runs it too). */
static void settings_apply(const struct settings *s)
{
    for (int i = 0; i < RLIM_NLIMITS; i++)
        setrlimit((int)i, &s->rl[i]);
    if (s->prio > 0)
        setpriority(PRIO_PROCESS, 0, (int)(20 - s->prio));
    if (s->policy >= 0)
        sched_setscheduler(0, s->policy, &s->sp);
    if (CPU_COUNT(&s->cpus) > 0)
        sched_setaffinity(0, sizeof(s->cpus), &s->cpus);
    if (s->ioprio >= 0)
        syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, s->ioprio);
    if (s->oom_len > 0) {
        int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
        if (fd >= 0) {
            if (write(fd, s->oom, (size_t)s->oom_len) < 0) {
                /* raising it back needs CAP_SYS_RESOURCE: a reset sees it */
            }
            close(fd);
        }
    }
}

/* The first of the init's settings that differs from what it started with. */
static const char *settings_changed(void)
{
    struct settings now;
    memset(&now, 0, sizeof(now));
    settings_apply(&set0);
    settings_read(&now);
    for (int i = 0; i < RLIM_NLIMITS; i++)
        if (now.rl[i].rlim_cur != set0.rl[i].rlim_cur || now.rl[i].rlim_max != set0.rl[i].rlim_max)
            return "the init's resource limits";
    if (now.prio != set0.prio)
        return "the init's nice value";
    if (now.policy != set0.policy || now.sp.sched_priority != set0.sp.sched_priority)
        return "the init's scheduling policy";
    if (!CPU_EQUAL(&now.cpus, &set0.cpus))
        return "the init's CPU affinity";
    if (now.ioprio != set0.ioprio)
        return "the init's I/O priority";
    if (now.oom_len != set0.oom_len || memcmp(now.oom, set0.oom, sizeof(now.oom)) != 0)
        return "the init's oom_score_adj";
    return NULL;
}

static int add_conn(int fd, enum conn_kind kind, pid_t pid)
{
    for (int i = 0; i < MAX_CONNS; i++) {
        if (conns[i].kind == CONN_FREE) {
            conns[i] = (struct conn){fd, kind, pid};
            if (i >= conns_hi)
                conns_hi = i + 1;
            return 0;
        }
    }
    close(fd);
    return -EMFILE;
}

static void drop_conn(struct conn *c)
{
    close(c->fd);
    *c = (struct conn){-1, CONN_FREE, 0};
    while (conns_hi > 0 && conns[conns_hi - 1].kind == CONN_FREE)
        conns_hi--;
}

/* What a vfork'ed child reports back through the memory it shares with us. */
struct child_report {
    int error;
    const char *step;
};

struct spawn_plan {
    const struct cv_spawn_req *req;
    const char *cwd;
    char **argv;
    char **envp;
    int fds[3];  /* received stdio, -1 for /dev/null */
    int tty_slave;
    int reply_fd; /* the process connection */
};

__attribute__((noreturn)) static void child_fail(volatile struct child_report *rep, const char *step)
{
    rep->error = errno;
    rep->step = step;
    _exit(127);
}

/* CONTAINERV_FAULT of the spawner, as its request carries it (only "<step>"
 * or "after:<step>" of the init's spawn steps: process.c) */
static bool spawn_fault(const struct cv_spawn_req *req, const char *step, bool after)
{
    if (!req->fault[0] || req->fault[sizeof(req->fault) - 1])
        return false;
    return after ? cv_fault_child_after(req->fault, step) : !strcmp(req->fault, step);
}

/* One step of the spawned child: an injected fault before its work, the
 * work (ok false: it failed, errno set), an injected fault after it. */
#define SPAWN_STEP(rep, p, name, work)                  \
    do {                                                \
        if (spawn_fault((p)->req, name, false)) {       \
            errno = EIO;                                \
            child_fail(rep, name);                      \
        }                                               \
        if (!(work))                                    \
            child_fail(rep, name);                      \
        if (spawn_fault((p)->req, name, true)) {        \
            errno = EIO;                                \
            child_fail(rep, name);                      \
        }                                               \
    } while (0)

/* Runs in the vfork'ed child: shares our memory, so it only makes system
 * calls and writes to rep. */
/* stdio: the fds the request brought, /dev/null for the others */
static bool stdio_set(const struct spawn_plan *p)
{
    for (int i = 0; i < 3; i++) {
        int fd = p->fds[i] >= 0 ? p->fds[i] : null_fd >= 0 ? null_fd : open("/dev/null", O_RDWR);
        if (fd < 0 || dup2(fd, i) < 0)
            return false;
    }
    return true;
}

__attribute__((noreturn)) static void exec_child(const struct spawn_plan *p, volatile struct child_report *rep)
{
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    if (spawn_fault(p->req, "spawn.fork", true)) {
        errno = EIO;
        child_fail(rep, "spawn.fork");
    }
    if (p->tty_slave >= 0) {
        SPAWN_STEP(rep, p, "spawn.tty", setsid() >= 0 && ioctl(p->tty_slave, TIOCSCTTY, 0) >= 0 &&
                                            dup2(p->tty_slave, 0) == 0 && dup2(p->tty_slave, 1) == 1 &&
                                            dup2(p->tty_slave, 2) == 2);
    } else {
        SPAWN_STEP(rep, p, "spawn.stdio", stdio_set(p));
    }
    settings_apply(&set0); /* while still root: what a user did to pid 1 goes */
    /* raw system calls: the setxid wrappers of a libc signal every thread */
    bool change = !ids_plain || p->req->uid != 0 || p->req->gid != 0;
    SPAWN_STEP(rep, p, "spawn.setgroups", !change || syscall(SYS_setgroups, 0, NULL) == 0 || in_userns);
    SPAWN_STEP(rep, p, "spawn.setgid",
               !change || syscall(SYS_setresgid, p->req->gid, p->req->gid, p->req->gid) == 0);
    SPAWN_STEP(rep, p, "spawn.setuid",
               !change || syscall(SYS_setresuid, p->req->uid, p->req->uid, p->req->uid) == 0);
    SPAWN_STEP(rep, p, "spawn.cwd", chdir(p->cwd) == 0);
    uint32_t hello = CV_MSG_HELLO;
    send(p->reply_fd, &hello, sizeof(hello), MSG_NOSIGNAL);
    SPAWN_STEP(rep, p, "spawn.close_range", syscall(SYS_close_range, 3, ~0u, 0) == 0);
    if (spawn_fault(p->req, "spawn.exec", false)) {
        errno = EIO;
        child_fail(rep, "spawn.exec");
    }
    /* after:spawn.exec is the host's (process.c): the exec happened, and
     * the host kills the process it answered for */
    execvpe(p->argv[0], p->argv, p->envp);
    child_fail(rep, "spawn.exec");
}

/* vfork in a frame of its own, so that no variable of the caller can be
 * clobbered by the child running on the same stack. */
__attribute__((noinline)) static pid_t start_child(const struct spawn_plan *p, volatile struct child_report *cr)
{
    pid_t pid = vfork();
    if (pid == 0)
        exec_child(p, cr);
    return pid;
}

static int send_reply(int fd, const struct cv_spawned_msg *msg, const int *fds, int nfds)
{
    return cv_send_fds(fd, msg, sizeof(*msg), fds, nfds);
}

/* Split the strings of a request into argv and envp arrays on our stack. */
static int plan_strings(const struct cv_spawn_req *req, size_t len, struct spawn_plan *p, char **argv,
                        char **envp)
{
    if (len < sizeof(*req) || req->strings_len != len - sizeof(*req) || req->argc == 0 ||
        req->argc > 4096 || req->envc > 4096 || req->strings_len == 0 ||
        req->strings[req->strings_len - 1] != '\0')
        return -EINVAL;
    const char *s = req->strings, *end = req->strings + req->strings_len;
    p->cwd = s;
    s += strlen(s) + 1;
    for (uint32_t i = 0; i < req->argc + req->envc; i++) {
        if (s >= end)
            return -EINVAL;
        if (i < req->argc)
            argv[i] = (char *)s;
        else
            envp[i - req->argc] = (char *)s;
        s += strlen(s) + 1;
    }
    argv[req->argc] = NULL;
    envp[req->envc] = NULL;
    p->argv = argv;
    p->envp = envp;
    return 0;
}

int cv_init_open_tty(unsigned short rows, unsigned short cols, int *master, int *slave)
{
    *master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (*master < 0)
        return -errno;
    int unlock = 0;
    struct winsize ws = {.ws_row = rows, .ws_col = cols};
    if (ioctl(*master, TIOCSPTLCK, &unlock) < 0 || (rows && ioctl(*master, TIOCSWINSZ, &ws) < 0))
        return -errno;
    *slave = ioctl(*master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    return *slave < 0 ? -errno : 0;
}

/* Start one process: fds[0] is the process connection, then stdio. */
static void do_spawn(const struct cv_spawn_req *req, size_t len, int *fds, int nfds)
{
    struct cv_spawned_msg rep = {.type = CV_MSG_SPAWNED};
    int reply_fd = fds[0], master = -1, slave = -1, pidfd = -1;
    uint32_t argc = len >= sizeof(*req) ? req->argc : 0, envc = len >= sizeof(*req) ? req->envc : 0;
    char *argv[argc <= 4096 ? argc + 1 : 1];
    char *envp[envc <= 4096 ? envc + 1 : 1];
    struct spawn_plan plan = {.req = req, .fds = {-1, -1, -1}, .tty_slave = -1, .reply_fd = reply_fd};
    int next = 1;
    for (int i = 0; i < 3; i++)
        if (req->flags & (CV_SPAWN_STDIN << i))
            plan.fds[i] = next < nfds ? fds[next++] : -1;

    int r = plan_strings(req, len, &plan, argv, envp);
    if (r == 0 && (req->flags & CV_SPAWN_TTY)) {
        r = spawn_fault(req, "spawn.tty", false) ? -EIO : cv_init_open_tty(req->rows, req->cols, &master, &slave);
        plan.tty_slave = slave;
        if (r < 0)
            snprintf(rep.step, sizeof(rep.step), "spawn.tty");
    } else if (r < 0) {
        snprintf(rep.step, sizeof(rep.step), "spawn.request");
    }
    pid_t pid = -1;
    volatile struct child_report cr = {0, NULL};
    if (r == 0 && spawn_fault(req, "spawn.fork", false)) {
        r = -EIO;
        snprintf(rep.step, sizeof(rep.step), "spawn.fork");
    } else if (r == 0) {
        pid = start_child(&plan, &cr);
        if (pid < 0) {
            r = -errno;
            snprintf(rep.step, sizeof(rep.step), "spawn.fork");
        } else if (cr.error) {
            r = -cr.error;
            snprintf(rep.step, sizeof(rep.step), "%s", cr.step);
            waitpid(pid, NULL, 0);
            pid = -1;
        }
    }
    rep.exec_ns = cv_now_ns();
    for (int i = 1; i < nfds; i++)
        close(fds[i]);
    if (slave >= 0)
        close(slave);
    if (r == 0) {
        pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
        rep.pid = pid;
    }
    rep.error = -r;
    int out[2] = {pidfd, master};
    int nout = r == 0 ? (master >= 0 ? 2 : 1) : 0;
    if (pidfd < 0 && r == 0)
        nout = 0;
    send_reply(reply_fd, &rep, out, nout);
    if (pidfd >= 0)
        close(pidfd);
    if (master >= 0)
        close(master);
    if (r == 0)
        add_conn(reply_fd, CONN_PROC, pid);
    else
        close(reply_fd);
}

/* ------------------------------------------------------------ reset */

static void watch_init(int upper)
{
    upper_fd = upper;
    cv_upper_record(upper);
    for (size_t i = 0; i < sizeof(watched) / sizeof(watched[0]); i++)
        watched[i].fd = open(watched[i].what, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    for (size_t i = 0; i < sizeof(watched) / sizeof(watched[0]); i++)
        if (watched[i].fd >= 0 && fstat(watched[i].fd, &watched[i].st) < 0) {
            close(watched[i].fd);
            watched[i].fd = -1;
        }
    uname(&uts0);
}

/* True when the directory has an entry besides "." and "..". */
static bool dir_has_entries(int fd)
{
    char buf[1024] __attribute__((aligned(8)));
    if (lseek(fd, 0, SEEK_SET) < 0)
        return true;
    for (;;) {
        long n = syscall(SYS_getdents64, fd, buf, sizeof(buf));
        if (n < 0)
            return true; /* cannot tell: not as new */
        if (n == 0)
            return false;
        for (long off = 0; off < n;) {
            /* struct linux_dirent64: ino 8, off 8, reclen 2, type 1, name */
            unsigned short reclen;
            memcpy(&reclen, buf + off + 16, sizeof(reclen));
            const char *name = buf + off + 19;
            if (!(name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'))))
                return true;
            off += reclen;
        }
    }
}

static bool same_attrs(const struct stat *a, const struct stat *b)
{
    return a->st_mode == b->st_mode && a->st_uid == b->st_uid && a->st_gid == b->st_gid &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
           a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* True when the IPC namespace holds a System V object (the *_INFO queries
 * count them: no file to open). */
static bool sysvipc_used(void)
{
    struct shm_info shm;
    struct msginfo msg;
    struct seminfo sem;
    union semun {
        int val;
        struct semid_ds *buf;
        unsigned short *array;
        struct seminfo *__buf;
    } arg = {.__buf = &sem};
    if (shmctl(0, SHM_INFO, (struct shmid_ds *)(void *)&shm) < 0 || shm.used_ids > 0)
        return true;
    if (msgctl(0, MSG_INFO, (struct msqid_ds *)(void *)&msg) < 0 || msg.msgpool > 0)
        return true;
    return semctl(0, 0, SEM_INFO, arg) < 0 || sem.semusz > 0;
}

/* The first thing a user left behind, or NULL when the container is as new. */
static const char *leftover(void)
{
    static char upper_what[64];
    if (cv_upper_changed(upper_fd, upper_what, sizeof(upper_what)))
        return upper_what;
    struct stat st;
    for (size_t i = 0; i < sizeof(watched) / sizeof(watched[0]); i++) {
        if (watched[i].fd < 0)
            continue;
        if (fstat(watched[i].fd, &st) < 0 || !same_attrs(&st, &watched[i].st) ||
            dir_has_entries(watched[i].fd))
            return watched[i].what;
    }
    if (sysvipc_used())
        return "SysV IPC";
    const char *set = settings_changed();
    if (set)
        return set;
    struct utsname u;
    if (uname(&u) < 0 || strcmp(u.nodename, uts0.nodename) != 0 ||
        strcmp(u.domainname, uts0.domainname) != 0)
        return "hostname";
    return NULL;
}

static void reap(void);

/* Kill every process of the container but us: kill(-1) from pid 1 reaches
 * them all, the host's attached processes too. Our children are reaped (and
 * reported); others are waited for as long as they show up, up to a second
 * (a zombie whose parent is on the host lingers until that parent reaps it).
 * Returns false when some are still there. */
static bool kill_all(uint32_t *were_running)
{
    for (int round = 0; round < 200; round++) {
        bool none = kill(-1, SIGKILL) < 0 && errno == ESRCH;
        if (!none && round == 0)
            *were_running = 1;
        reap();
        if (none)
            return true;
        struct pollfd pf = {.fd = sig_fd, .events = POLLIN};
        if (poll(&pf, 1, 5) > 0) {
            struct signalfd_siginfo si;
            while (read(sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
                ; /* SIGCHLD: reaped next round; forwarded signals have nobody to go to */
        }
    }
    return false;
}

static void do_reset(struct conn *self, int reply_fd)
{
    struct cv_reset_msg rep = {.type = CV_MSG_RESET_DONE};
    if (getpid() != 1) {
        /* not pid 1 of a namespace of its own (the host's, or one joined):
         * kill(-1) would reach processes that are not the container's.
         * The library refuses this reset before asking; an init never obeys it */
        rep.error = EPERM;
        snprintf(rep.what, sizeof(rep.what), "pid namespace");
        send(reply_fd, &rep, sizeof(rep), MSG_NOSIGNAL);
        close(reply_fd);
        return;
    }
    if (!kill_all(&rep.were_running)) {
        rep.error = EBUSY;
        snprintf(rep.what, sizeof(rep.what), "processes");
    }
    /* nobody else may drive the next user's container: the last user's
     * control connections go, and with them what they were told */
    for (int i = 0; i < conns_hi; i++)
        if (conns[i].kind != CONN_FREE && &conns[i] != self)
            drop_conn(&conns[i]);
    const char *what = rep.error ? NULL : leftover();
    if (what) {
        rep.error = EBUSY;
        snprintf(rep.what, sizeof(rep.what), "%s", what);
    }
    send(reply_fd, &rep, sizeof(rep), MSG_NOSIGNAL);
    close(reply_fd);
}

static void handle_control(struct conn *c)
{
    char cbuf[CMSG_SPACE(16 * sizeof(int))];
    struct iovec iov = {.iov_base = reqbuf, .iov_len = CV_SPAWN_MAX};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
    ssize_t n = recvmsg(c->fd, &mh, MSG_CMSG_CLOEXEC);
    if (n <= 0) {
        if (n == 0 || (errno != EINTR && errno != EAGAIN))
            drop_conn(c);
        return;
    }
    int fds[16], nfds = 0;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
        if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
            continue;
        int k = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        for (int i = 0; i < k && nfds < 16; i++)
            memcpy(&fds[nfds++], CMSG_DATA(cm) + (size_t)i * sizeof(int), sizeof(int));
    }
    const struct cv_spawn_req *req = (const void *)reqbuf;
    if ((size_t)n == sizeof(struct cv_reset_req) && req->type == CV_MSG_RESET && nfds == 1 &&
        !(mh.msg_flags & MSG_CTRUNC)) {
        do_reset(c, fds[0]);
        return;
    }
    if ((size_t)n >= sizeof(struct cv_main_req) && req->type == CV_MSG_PREPARE && nfds >= 1 &&
        !(mh.msg_flags & MSG_CTRUNC)) {
        cv_main_prepare(reqbuf, (size_t)n, fds, nfds);
        madvise(reqbuf, CV_SPAWN_MAX, MADV_DONTNEED);
        return;
    }
    if ((size_t)n == sizeof(struct cv_start_req) && req->type == CV_MSG_START && nfds == 1 &&
        !(mh.msg_flags & MSG_CTRUNC)) {
        cv_main_start(fds[0]); /* returns only when nothing is prepared */
        return;
    }
    if ((size_t)n < sizeof(*req) || req->type != CV_MSG_SPAWN || nfds < 1 || (mh.msg_flags & MSG_CTRUNC)) {
        for (int i = 0; i < nfds; i++)
            close(fds[i]);
        return; /* malformed: ignore it, keep serving */
    }
    do_spawn(req, (size_t)n, fds, nfds);
    madvise(reqbuf, CV_SPAWN_MAX, MADV_DONTNEED);
}

static void accept_control(int listen_fd)
{
    int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0)
        return;
    struct ucred cred;
    socklen_t len = sizeof(cred);
    /* the socket is on the host only, mode 0600 and owned by the creator
     * (step_control_bind); still, only root may drive the init, and in a
     * user namespace (where the kernel shows us the peer's uid as mapped
     * into it) host root or the creator */
    bool ok = getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0;
    if (ok && in_userns) {
        ok = false;
        for (int i = 0; i < n_peer_uids; i++)
            ok |= cred.uid == peer_uids[i];
    } else if (ok) {
        ok = cred.uid == 0;
    }
    if (!ok) {
        close(fd);
        return;
    }
    add_conn(fd, CONN_CONTROL, 0);
}

/* Signals sent to the init (from the host: inside, pid 1 only gets those
 * it has handlers for) go on to every process it spawned, as a container's
 * pid 1 is expected to do. */
static const int forwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};

static void forward(int sig)
{
    if (cv_main_pending()) /* a created container's process has not started: the signal ends it */
        _exit(128 + sig);
    for (int i = 0; i < conns_hi; i++)
        if (conns[i].kind == CONN_PROC && conns[i].pid > 0)
            kill(conns[i].pid, sig);
}

static void reap(void)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        if (WIFSTOPPED(status)) {
            /* a child that made us its tracer (PTRACE_TRACEME, which the
             * seccomp profile allows as Docker's does): we trace nothing, so
             * let it go on, with the signal that stopped it unless that is
             * the SIGTRAP being traced adds to an exec */
            int sig = WSTOPSIG(status);
            syscall(SYS_ptrace, PTRACE_DETACH, pid, NULL, sig == SIGTRAP ? 0 : sig);
            continue;
        }
        for (int i = 0; i < conns_hi; i++) {
            if (conns[i].kind == CONN_PROC && conns[i].pid == pid) {
                struct cv_exited_msg m = {.type = CV_MSG_EXITED, .status = status};
                send(conns[i].fd, &m, sizeof(m), MSG_NOSIGNAL);
                drop_conn(&conns[i]);
                break;
            }
        }
    }
}

/* What every spawn would otherwise redo: the supplementary groups dropped
 * once, so that a spawn as root changes no ids (three new creds less). */
static void probe_spawn(void)
{
    uid_t ru, eu, su;
    gid_t rg, eg, sg;
    ids_plain = syscall(SYS_setgroups, 0, NULL) == 0 && syscall(SYS_getresuid, &ru, &eu, &su) == 0 &&
                syscall(SYS_getresgid, &rg, &eg, &sg) == 0 && !ru && !eu && !su && !rg && !eg && !sg;
}

/* The init's own set-up, done by the child before it reports ready (while
 * it waits for its helper anyway), so that the first request finds the
 * init in its loop: -errno when the init could not be made. */
int cv_init_prepare(int upper, bool userns, const uid_t *peers, int n_peers)
{
    in_userns = userns;
    for (int i = 0; i < n_peers && i < 3; i++)
        peer_uids[n_peer_uids++] = peers[i];
    probe_spawn();
    watch_init(upper);
    null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    prctl(PR_SET_NAME, "containerv-init", 0, 0, 0);
    /* not pid 1 (the host's pid namespace, or one joined): the orphans of
     * what it spawns come back to it, as they would to a pid 1 */
    if (getpid() != 1)
        prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    reqbuf = mmap(NULL, CV_SPAWN_MAX, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (reqbuf == MAP_FAILED)
        return -errno;
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGCHLD);
    for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
        sigaddset(&sigs, forwarded[i]);
    sig_fd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sig_fd < 0)
        return -errno;
    for (int i = 0; i < MAX_CONNS; i++)
        conns[i] = (struct conn){-1, CONN_FREE, 0};
    return 0;
}

void cv_init_main(int ctl_fd, int listen_fd)
{
    int sfd = sig_fd;
    memset(&set0, 0, sizeof(set0));
    settings_read(&set0); /* here: the child has its own CPU mask back (place_back) */
    add_conn(ctl_fd, CONN_CONTROL, 0);
    for (;;) {
        pfds[0] = (struct pollfd){.fd = sfd, .events = POLLIN};
        pfds[1] = (struct pollfd){.fd = listen_fd, .events = POLLIN};
        int hi = conns_hi;
        for (int i = 0; i < hi; i++)
            pfds[i + 2] = (struct pollfd){.fd = conns[i].kind ? conns[i].fd : -1, .events = POLLIN};
        if (poll(pfds, (nfds_t)hi + 2, -1) < 0)
            continue;
        if (pfds[0].revents) {
            struct signalfd_siginfo si;
            bool chld = false;
            while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
                if ((int)si.ssi_signo == SIGCHLD)
                    chld = true;
                else
                    forward((int)si.ssi_signo);
            }
            if (chld)
                reap();
        }
        if (pfds[1].revents & POLLIN)
            accept_control(listen_fd);
        for (int i = 0; i < hi; i++) {
            short ev = pfds[i + 2].revents;
            if (!ev || conns[i].kind == CONN_FREE || conns[i].fd != pfds[i + 2].fd)
                continue;
            if (conns[i].kind == CONN_CONTROL)
                handle_control(&conns[i]);
            else if (ev & (POLLHUP | POLLERR)) /* the host went away: keep the process */
                drop_conn(&conns[i]);
        }
    }
}

int cv_init_parse_spawn(const void *buf, size_t len, const char **cwd, char **argv, char **envp)
{
    struct spawn_plan p;
    int r = plan_strings(buf, len, &p, argv, envp);

    if (r == 0)
        *cwd = p.cwd;
    return r;
}
