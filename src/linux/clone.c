/* The create pipeline's clone and hand-over steps (see container.c for the
 * table): clone3 of the init (into its cgroup on v2), the user namespace's
 * maps, the v1 cgroup join, and the wait for the child's report.
 *
 * The child shares its creator's memory (CLONE_VM, as posix_spawn's child
 * does, but without CLONE_VFORK: the creator must answer the child's
 * hand-over while it runs). Copying the creator's address space, as fork
 * does, made the cost of a create grow with the creator: its page tables
 * copied at clone3, copy-on-write faults on both sides afterwards, and the
 * copy torn down when the child executes the init program (1 GiB of touched
 * heap: 31.8 ms per create, against 2.9 ms from a small program;
 * docs/benchmarks.md). What sharing asks of the child is in child.c and
 * childsys.h (its own stack and block, raw system calls only); of the
 * creator, that it keeps the block, and everything the block points at,
 * until the child has executed the init (its report says so) or is dead. */
#include "create.h"
#include "rawsys.h"

#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#endif

/* ------------------------------------------------------------ blocks
 *
 * A block is one mapping: a guard page, the child's stack, then the
 * struct cv_child_block. A few are kept for the next creates of the
 * process (an mmap, its page faults and, in a creator with many threads,
 * the munmap's TLB shoot-down to every CPU they ran on cost more than the
 * copy), at most BLOCKS_KEPT. */
#define BLOCK_GUARD 4096
#define BLOCK_SIZE (BLOCK_GUARD + CV_CHILD_STACK + ((sizeof(struct cv_child_block) + 4095) & ~(size_t)4095))
#define BLOCKS_KEPT 8

static struct {
    pthread_mutex_t lock;
    int n;
    void *kept[BLOCKS_KEPT];
} blocks = {.lock = PTHREAD_MUTEX_INITIALIZER};

static struct cv_child_block *block_of(void *map)
{
    return (struct cv_child_block *)((char *)map + BLOCK_GUARD + CV_CHILD_STACK);
}

/* A process that forks while another of its threads holds the lock would
 * have it held forever in the child: held across fork, released on both
 * sides. */
static void blocks_lock(void)
{
    pthread_mutex_lock(&blocks.lock);
}
static void blocks_unlock(void)
{
    pthread_mutex_unlock(&blocks.lock);
}
static void blocks_atfork(void)
{
    pthread_atfork(blocks_lock, blocks_unlock, blocks_unlock);
}

struct cv_child_block *cv_child_block_get(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, blocks_atfork);
    void *map = NULL;
    pthread_mutex_lock(&blocks.lock);
    if (blocks.n > 0)
        map = blocks.kept[--blocks.n];
    pthread_mutex_unlock(&blocks.lock);
    if (!map) {
        map = mmap(NULL, BLOCK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
        if (map == MAP_FAILED)
            return NULL;
        if (mprotect(map, BLOCK_GUARD, PROT_NONE) < 0) {
            int e = errno;
            munmap(map, BLOCK_SIZE);
            errno = e;
            return NULL;
        }
    }
    return block_of(map);
}

void cv_child_block_put(struct cv_child_block *b)
{
    if (!b)
        return;
    void *map = (char *)b - CV_CHILD_STACK - BLOCK_GUARD;
#if defined(__SANITIZE_ADDRESS__)
    __asan_unpoison_memory_region((char *)map + BLOCK_GUARD, BLOCK_SIZE - BLOCK_GUARD);
#endif
    pthread_mutex_lock(&blocks.lock);
    if (blocks.n < BLOCKS_KEPT) {
        blocks.kept[blocks.n++] = map;
        map = NULL;
    }
    pthread_mutex_unlock(&blocks.lock);
    if (map)
        munmap(map, BLOCK_SIZE);
}

/* Does the child share its creator's memory? Where raw system calls are
 * written for the architecture; CONTAINERV_CLONE_VM=0 makes it a copy, as
 * before (for measuring one against the other in the same run). */
static bool share_memory(void)
{
#ifdef CV_RAW_SYSCALL
    static int on = -1;
    int v = __atomic_load_n(&on, __ATOMIC_RELAXED);
    if (v < 0) {
        const char *e = getenv("CONTAINERV_CLONE_VM");
        v = !(e && !strcmp(e, "0"));
        __atomic_store_n(&on, v, __ATOMIC_RELAXED);
    }
    return v;
#else
    return false;
#endif
}

/* A user namespace's child changes its credentials, which makes the kernel
 * mark the memory it shares with its creator not dumpable: so it must stay,
 * for as long as any such child runs on it (a dumpable memory whose task
 * has the mapped uid could be traced by a host process of that uid, and the
 * creator's memory read). Once the last one is done, a creator that was
 * dumpable is marked so again. */
static void userns_children(int delta)
{
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    static int live, was;
    pthread_mutex_lock(&lock);
    if (delta > 0 && live++ == 0)
        was = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
    if (delta < 0 && --live == 0 && was == 1 && prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 1)
        prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
    pthread_mutex_unlock(&lock);
}

/* The child is done with the block (it executed the init, or it is dead and
 * waited for): give it back, and undo what the child's change of
 * credentials did to the memory both shared. */
static void finish_clone(struct create_ctx *x)
{
    cv_child_block_put(x->block);
    x->block = NULL;
    if (x->dumpable == 1)
        userns_children(-1);
    x->dumpable = -1;
}

static unsigned long clone_flags(unsigned ns)
{
    unsigned long f = 0;
    f |= (ns & CONTAINERV_NS_MOUNT) ? CLONE_NEWNS : 0;
    f |= (ns & CONTAINERV_NS_PID) ? CLONE_NEWPID : 0;
    f |= (ns & CONTAINERV_NS_IPC) ? CLONE_NEWIPC : 0;
    f |= (ns & CONTAINERV_NS_UTS) ? CLONE_NEWUTS : 0;
    f |= (ns & CONTAINERV_NS_NET) ? CLONE_NEWNET : 0;
    f |= (ns & CONTAINERV_NS_CGROUP) ? CLONE_NEWCGROUP : 0;
    f |= (ns & CONTAINERV_NS_USER) ? CLONE_NEWUSER : 0;
    return f;
}

static pid_t do_clone3(struct create_ctx *x, bool into_cgroup, int *pidfd, bool vm)
{
    /* With CLONE_INTO_CGROUP the new cgroup namespace is rooted at the
     * target cgroup; otherwise the child makes it after joining its cgroup,
     * so that it does not see "/../../containerv/<id>". */
    unsigned long flags = clone_flags(x->o->namespaces & ~x->a.joined); /* joined: setns in the child */
    x->a.cgroupns_late = !into_cgroup && (flags & CLONE_NEWCGROUP);
    x->block->a.cgroupns_late = x->a.cgroupns_late;
    if (x->a.cgroupns_late)
        flags &= ~(unsigned long)CLONE_NEWCGROUP;
    struct clone_args ca = {
        .flags = flags | CLONE_PIDFD,
        .pidfd = (uint64_t)(uintptr_t)pidfd,
        .exit_signal = SIGCHLD,
    };
    if (into_cgroup) {
        ca.flags |= CLONE_INTO_CGROUP;
        ca.cgroup = (uint64_t)x->c->cg.v2_fd;
    }
#ifdef CV_RAW_SYSCALL
    if (vm) {
        ca.flags |= CLONE_VM;
        ca.stack = (uint64_t)(uintptr_t)x->block - CV_CHILD_STACK;
        ca.stack_size = CV_CHILD_STACK;
        long r = cv_clone3_fn(&ca, sizeof(ca), cv_child_entry, x->block);
        if (r < 0) {
            errno = (int)-r;
            return -1;
        }
        return (pid_t)r;
    }
#else
    (void)vm;
#endif
    pid_t pid = (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));
    if (pid == 0)
        cv_child_entry(x->block); /* a copy of the creator, on its copy of the stack */
    return pid;
}

/* Now in the clock ticks of /proc/PID/stat's start time (field 22: the
 * task's CLOCK_BOOTTIME at fork, in USER_HZ), or -1. The new task's start
 * time lies between a reading before clone3 and one after: when both fall
 * in the same tick, that tick is its start time, and the state file need
 * not read /proc (~20 µs); across a tick boundary (one create in ~15 at
 * 100 Hz) it does. */
static int64_t boot_ticks(void)
{
    long hz = sysconf(_SC_CLK_TCK);
    struct timespec t;
    if (hz <= 0 || 1000000000L % hz || clock_gettime(CLOCK_BOOTTIME, &t) < 0)
        return -1;
    return ((int64_t)t.tv_sec * 1000000000LL + t.tv_nsec) / (1000000000L / hz);
}

int step_clone(struct create_ctx *x)
{
    int sp[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
        return cv_error(x->err, errno, "clone", "socketpair");
    x->sync_fd = sp[0];
    x->block = cv_child_block_get();
    if (!x->block) {
        int e = errno;
        cv_closep(&sp[1]);
        return cv_error(x->err, e, "clone", "the child's stack");
    }
    bool vm = share_memory();
    if (vm && x->a.userns) {
        userns_children(1);
        x->dumpable = 1; /* counted: finish_clone counts it out */
    }
    /* block signals so that no handler of the caller runs in the child */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    bool into = x->c->cg.mode == CV_CGROUP_V2 && x->c->cg.v2_fd >= 0;
    int pidfd = -1;
    /* the child starts on this CPU, this thread goes on elsewhere (place.c);
     * not while other creates of this process run: they keep the CPUs busy,
     * and moving threads around then can only cost */
    if (x->alone && cv_place_pin(&x->place)) {
        x->a.restore_affinity = true;
        x->a.affinity = x->place.saved;
    }
    x->a.birth_mask_set = into && !x->o->limits.cpuset_cpus[0] &&
                          sched_getaffinity(0, sizeof(x->a.birth_mask), &x->a.birth_mask) == 0;
    /* the child's own copy: what it changes, the creator never sees */
    x->block->a = x->a;
    x->block->a.sync_fd = sp[1];
    /* a pid namespace to join: this thread's children are born there (its
     * own pid namespace stays), for the clone only */
    int own_pidns = -1, e = 0;
    if (x->a.join_fds[CV_JOIN_PID] >= 0) {
        own_pidns = open("/proc/thread-self/ns/pid_for_children", O_RDONLY | O_CLOEXEC);
        if (own_pidns < 0 || setns(x->a.join_fds[CV_JOIN_PID], CLONE_NEWPID) < 0) {
            e = errno;
            cv_closep(&own_pidns);
            pthread_sigmask(SIG_SETMASK, &old, NULL);
            cv_closep(&sp[1]);
            finish_clone(x);
            return cv_error(x->err, e, "clone", "joining the pid namespace '%s'", x->o->join_ns[CV_JOIN_PID]);
        }
    }
    x->t_clone = cv_now_ns();
    int64_t tick0 = boot_ticks();
    pid_t pid = do_clone3(x, into, &pidfd, vm);
    int64_t tick1 = pid > 0 ? boot_ticks() : -1;
    if (pid > 0)
        cv_place_away(&x->place);
    if (pid < 0 && into && errno != ENOMEM) { /* old kernel: attach later instead */
        into = false;
        pid = do_clone3(x, false, &pidfd, vm);
    }
    e = errno;
    if (own_pidns >= 0) {
        /* back to where this thread's children were born: the caller's
         * own, an ancestor of the joined one, which setns allows */
        if (setns(own_pidns, CLONE_NEWPID) < 0)
            abort(); /* the caller's later forks would land in the container's pid namespace */
        cv_closep(&own_pidns);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    cv_closep(&sp[1]);
    if (pid < 0) {
        finish_clone(x);
        return cv_error(x->err, e, "clone", "clone3 with namespaces 0x%x", x->o->namespaces);
    }
    x->c->init_pid = pid;
    x->c->init_start_time = tick0 >= 0 && tick0 == tick1 ? tick0 : -1;
    x->c->init_pidfd = pidfd;
    x->c->owner = true;
    x->c->relax = x->o->relax;
    x->c->shared_pidns = !(x->o->namespaces & CONTAINERV_NS_PID) || (x->a.joined & CONTAINERV_NS_PID);
    if (into)
        x->c->cg.v2_attached = true;
    return 0;
}

void undo_clone(struct create_ctx *x)
{
    if (x->c->init_pidfd >= 0) {
        syscall(SYS_pidfd_send_signal, x->c->init_pidfd, SIGKILL, NULL, 0);
        while (waitpid(x->c->init_pid, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    finish_clone(x); /* the child is gone: nothing runs on its block */
    cv_closep(&x->c->init_pidfd);
    x->c->init_pidfd = -1;
    cv_closep(&x->sync_fd);
    x->sync_fd = -1;
}

/* Tell the child it may go on, handing it nfds fds. */
static int send_step(struct create_ctx *x, uint32_t step, const char *name, const int *fds, int nfds)
{
    struct cv_sync_msg m = {.step = step};
    int r = cv_send_fds(x->sync_fd, &m, sizeof(m), fds, nfds);
    if (r == 0)
        return 0;
    if (r != -EPIPE)
        return cv_error(x->err, -r, name, "telling the child");
    /* the child failed first: its report says why */
    r = step_child_ready(x);
    return r < 0 ? r : cv_error(x->err, EPIPE, name, "telling the child");
}

static int write_map(struct create_ctx *x, const char *file, const struct cv_idmap *maps, int n)
{
    char path[64], buf[512];
    size_t off = 0;
    for (int i = 0; i < n; i++)
        off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%u %u %u\n", maps[i].inside, maps[i].outside,
                                maps[i].count);
    snprintf(path, sizeof(path), "/proc/%d/%s", x->c->init_pid, file);
    int r = cv_write_file_at(AT_FDCWD, path, buf, off);
    return r < 0 ? cv_error(x->err, -r, "userns.map", "writing '%s'", path) : 0;
}

int step_userns(struct create_ctx *x)
{
    if (!x->a.userns)
        return SKIPPED;
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/setgroups", x->c->init_pid);
    int r = cv_write_file_at(AT_FDCWD, path, "deny", 4);
    if (r < 0)
        return cv_error(x->err, -r, "userns.map", "writing '%s'", path);
    if ((r = write_map(x, "uid_map", x->o->uid_maps, x->o->n_uid_maps)) < 0 ||
        (r = write_map(x, "gid_map", x->o->gid_maps, x->o->n_gid_maps)) < 0)
        return r;
    return send_step(x, CV_SYNC_USERNS_MAPPED, "userns.map", NULL, 0);
}

/* Let the child go on: hand it the state lock and the cgroup files it joins
 * by itself (v1), or attach it from here (v2 without CLONE_INTO_CGROUP). */
int step_cgroup_attach(struct create_ctx *x)
{
    _Static_assert(CV_SYNC_MAX_FDS >= 1 + CV_V1_COUNT, "the lock and every v1 hierarchy's tasks file");
    int fds[CV_SYNC_MAX_FDS] = {x->c->lock_fd};
    int n = 0;
    if (!x->c->cg.v2_attached && x->c->cg.mode == CV_CGROUP_V2)
        n = cv_cgroup_attach(&x->c->cg, x->c->init_pid, x->err);
    else if (x->c->cg.mode == CV_CGROUP_V1)
        n = cv_cgroup_join_fds(&x->c->cg, fds + 1, CV_SYNC_MAX_FDS - 1, x->err);
    if (n < 0)
        return n;
    int r = send_step(x, CV_SYNC_CGROUP_READY, "cgroup.attach", fds, n + 1);
    for (int i = 1; i <= n; i++)
        close(fds[i]);
    return r;
}

/* Read the next start-up report, which must be expect (or an error). */
static int read_report(struct create_ctx *x, uint32_t expect, const char *name)
{
    struct cv_sync_msg *m = &x->ready;
    ssize_t n;
    cv_place_join(&x->place); /* the report wakes us on the child's CPU */
    do
        n = recv(x->sync_fd, m, sizeof(*m), MSG_TRUNC);
    while (n < 0 && errno == EINTR);
    cv_place_restore(&x->place);
    /* A child that exits with a message of ours unread makes the kernel
     * report ECONNRESET before handing out what the child sent: its report
     * is still queued, so read once more. */
    if (n < 0 && errno == ECONNRESET)
        n = recv(x->sync_fd, m, sizeof(*m), MSG_DONTWAIT | MSG_TRUNC);
    if (n < 0)
        return cv_error(x->err, errno, name, "waiting for the container's init");
    if (n == 0)
        return cv_error_plain(x->err, ECHILD, name, "the container's init exited during start-up");
    int step = cv_host_parse_sync(m, (size_t)n, m);
    if (step < 0 || (step != (int)expect && step != CV_SYNC_ERROR))
        return cv_error_plain(x->err, EPROTO, name, "unexpected message 0x%x (%zd bytes) from the child",
                              n >= 4 ? m->step : 0, n);
    if (m->step == CV_SYNC_ERROR) {
        return cv_error(x->err, m->code ? m->code : EIO, m->where, "%s",
                        m->what[0] ? m->what : "in the container");
    }
    return 0;
}

int step_child_ready(struct create_ctx *x)
{
    return read_report(x, CV_SYNC_READY, "child.ready");
}

/* The init program's report: it runs, and its set-up is done. The child
 * executed it, so it no longer uses the creator's memory. */
int step_init_ready(struct create_ctx *x)
{
    int r = read_report(x, CV_SYNC_INIT, "init.ready");
    if (r == 0)
        finish_clone(x);
    return r;
}
