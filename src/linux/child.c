/* The child side of create: runs in the new namespaces right after clone3,
 * then becomes the container's init. It shares its creator's memory and
 * TLS (clone.c): raw system calls only (childsys.h), no allocation, nothing
 * of glibc's that keeps state per thread, and no instrumentation (this file
 * is built without the sanitizers, whose runtime would take the child for
 * the creating thread). */
#include "childsys.h"
#include "linux.h"
#include "security.h"

#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/futex.h>
#include <linux/sched.h>
#include <sys/wait.h>
#include <time.h>

/* Close every fd but the ones the child needs (the creator's other fds must
 * not reach the init, let alone a workload). */
static void close_others(struct cv_child_args *a)
{
    int keep[CV_MAX_LOWERS + CV_MAX_BINDS + 8];
    int n = 0;
    keep[n++] = a->sync_fd;
    keep[n++] = a->listen_fd;
    keep[n++] = a->lock_fd;
    keep[n++] = a->devnull_fd;
    keep[n++] = a->single_tree;
    keep[n++] = a->dev_tree;
    for (int i = 0; i < a->n_lowers; i++)
        keep[n++] = a->lower_fds[i];
    for (int i = 0; i < a->opts->n_binds; i++)
        keep[n++] = a->bind_trees[i];
    keep[n++] = a->init_exe_fd;
    for (int i = 0; i < 3; i++)
        keep[n++] = a->join_fds[i];
    cv_close_except(keep, n);
}

/* Wait for the host's next step; fds sent with it land in fds (up to max,
 * *nfds of them), the others are closed. */

static int sync_wait(int fd, uint32_t expected, int *fds, int max, int *nfds)
{
    struct cv_sync_msg m;
    char cbuf[CMSG_SPACE(CV_SYNC_MAX_FDS * sizeof(int))];
    struct iovec iov = {.iov_base = &m, .iov_len = sizeof(m)};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
    ssize_t n;
    do
        n = cs_recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
    while (n == -EINTR);
    if (n == 0)
        return -EPIPE; /* the creator is gone */
    if (n < 0)
        return (int)n;
    int got = 0;
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
        int k = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        for (int i = 0; i < k; i++) {
            int f;
            memcpy(&f, CMSG_DATA(cm) + (size_t)i * sizeof(int), sizeof(int));
            if (got < max)
                fds[got++] = f;
            else
                cs_close(f);
        }
    }
    if (nfds)
        *nfds = got;
    return (n >= (ssize_t)sizeof(m.step) && m.step == expected) ? 0 : -EPROTO;
}

/* ------------------------------------------------------------ helpers
 *
 * A helper (linux.h) runs one piece of work that mostly waits for the
 * kernel while the child goes on: it is cloned with CLONE_VM on a stack of
 * the child's block (no copy of the address space, a copy of the fd table
 * and fs context), makes raw system calls only (it shares the child's TLS)
 * and is waited for before the child reports ready, so no workload ever
 * runs before its work is done. It lives in the container's pid namespace
 * (always a new one): if the child dies first, the kernel kills it, and
 * the child's exit completes only once it is gone, so that its stack is no
 * longer in use when the creator has waited for the child. Where raw system
 * calls are not written for the architecture (rawsys.h), the work runs
 * inline. */

#ifdef CV_RAW_SYSCALL
/* clone3 with a function to run on the new stack: the child returns from
 * the system call on that stack, where no frame of the caller's exists, so
 * it calls fn at once and exits if fn ever returns. */
#if defined(__x86_64__)
__asm__(".text\n"
        ".globl cv_clone3_fn\n"
        ".hidden cv_clone3_fn\n"
        ".type cv_clone3_fn,@function\n"
        "cv_clone3_fn:\n"      /* rdi: ca, rsi: size, rdx: fn, rcx: arg */
        "  mov %rcx, %r8\n"    /* the syscall instruction clobbers rcx */
        "  mov $435, %eax\n"   /* SYS_clone3 */
        "  syscall\n"
        "  test %rax, %rax\n"
        "  jnz 1f\n"
        "  xor %ebp, %ebp\n"   /* the child: an outermost frame */
        "  mov %r8, %rdi\n"
        "  call *%rdx\n"
        "  mov %eax, %edi\n"
        "  mov $231, %eax\n"   /* SYS_exit_group */
        "  syscall\n"
        "  hlt\n"
        "1: ret\n"
        ".size cv_clone3_fn, .-cv_clone3_fn\n");
#elif defined(__aarch64__)
__asm__(".text\n"
        ".globl cv_clone3_fn\n"
        ".hidden cv_clone3_fn\n"
        ".type cv_clone3_fn,%function\n"
        "cv_clone3_fn:\n"      /* x0: ca, x1: size, x2: fn, x3: arg */
        "  mov x8, #435\n"
        "  svc #0\n"
        "  cbnz x0, 1f\n"
        "  mov x29, xzr\n"
        "  mov x30, xzr\n"
        "  mov x0, x3\n"
        "  blr x2\n"
        "  mov x8, #94\n"     /* SYS_exit_group */
        "  svc #0\n"
        "  brk #0\n"
        "1: ret\n"
        ".size cv_clone3_fn, .-cv_clone3_fn\n");
#endif
#endif

static void helper_work(struct cv_helper *h)
{
    h->result = h->fn ? h->fn(h) : cv_raw3(h->nr, h->arg[0], h->arg[1], h->arg[2]);
}

static int helper_main(void *p)
{
    struct cv_helper *h = p;
    /* it runs on its creator's block: it must never outlive the child that
     * started it, which the kernel ensures only inside a pid namespace of
     * the container's own (a joined one, or the host's, does not) */
    if (cs_prctl(PR_SET_PDEATHSIG, SIGKILL, 0) < 0 || cv_raw3(SYS_getppid, 0, 0, 0) != h->parent)
        cs_exit(1);
    helper_work(h);
    cs_exit(0);
}

/* A helper starts on the child's CPU, like any new task; once the child
 * has its own mask back from the pin (place.c), the helper is moved to the
 * others at once, so that it does not hold up the child. */
static void place_helper(const struct cv_helper *h, pid_t pid)
{
    int cpu = h->place ? cs_getcpu() : -1;
    if (cpu < 0 || cpu >= CPU_SETSIZE)
        return;
    cpu_set_t rest = *h->place;
    CPU_CLR(cpu, &rest);
    if (CPU_COUNT(&rest) > 0)
        cs_setaffinity(pid, &rest);
}

/* The child stays on the CPU it was cloned on (pinned, place.c) for its
 * whole set-up: with its full mask, a wake-up (the host's cgroup message,
 * sent from the other CPU) could pull it over to the CPU where the host
 * and the helper work. It takes the creator's mask back at the end, where
 * it would otherwise wait for its helper (measured against doing it first:
 * create 16-77 µs faster in three interleaved runs). */
static void place_back(struct cv_child_args *a)
{
    if (a->restore_affinity)
        cs_setaffinity(0, &a->affinity);
    a->restore_affinity = false;
}

void cv_helper_start(struct cv_helper *h)
{
    h->pid = 0;
    h->parent = (pid_t)cv_raw3(SYS_getpid, 0, 0, 0);
    h->inline_mode = false;
    h->result = -ECHILD; /* unless it gets to the end */
#ifdef CV_RAW_SYSCALL
    struct clone_args ca = {
        .flags = CLONE_VM | CLONE_SIGHAND,
        .exit_signal = SIGCHLD,
        .stack = (uint64_t)(uintptr_t)h->stack,
        .stack_size = h->stack_size,
    };
    long pid = cv_clone3_fn(&ca, sizeof(ca), helper_main, h);
    if (pid > 0) {
        h->pid = (pid_t)pid;
        place_helper(h, h->pid);
        return;
    }
#endif
    h->inline_mode = true;
    helper_work(h);
}

void cv_helper_kill(struct cv_helper *h)
{
    if (h->pid > 0) {
        cv_raw3(SYS_kill, h->pid, SIGKILL, 0);
        cs_wait(h->pid);
        h->pid = 0;
    }
}

long cv_helper_wait(struct cv_helper *h)
{
    if (h->pid > 0) {
        cs_wait(h->pid);
        h->pid = 0;
    }
    return h->result;
}

/* lo up: raw system calls only */
static long loopback_up(struct cv_helper *h)
{
    (void)h;
    long s = cv_raw3(SYS_socket, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return s;
    struct ifreq ifr;
    for (size_t i = 0; i < sizeof(ifr); i++)
        ((volatile char *)&ifr)[i] = 0;
    ifr.ifr_name[0] = 'l';
    ifr.ifr_name[1] = 'o';
    long r = cv_raw3(SYS_ioctl, s, SIOCGIFFLAGS, &ifr);
    if (r == 0) {
        ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
        r = cv_raw3(SYS_ioctl, s, SIOCSIFFLAGS, &ifr);
    }
    cv_raw3(SYS_close, s, 0, 0);
    return r;
}

/* Every signal's disposition back to the default: the child is a copy of
 * its creator, whose handlers and ignored signals (SIG_IGN survives exec)
 * must reach neither the init nor a workload. The child keeps every
 * signal blocked from clone3 until it is the init, so this only has to be
 * done before ready: the helper does it last, sharing the child's table of
 * handlers (CLONE_SIGHAND), 62 system calls (~35 µs) off the child's path. */
static void signals_default(void)
{
    unsigned long act[4]; /* a struct kernel_sigaction, all zero: SIG_DFL, no flags, empty mask */
    for (size_t i = 0; i < sizeof(act) / sizeof(act[0]); i++)
        ((volatile unsigned long *)act)[i] = 0;
    for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            cv_raw6(SYS_rt_sigaction, sig, (long)act, 0, 8, 0, 0);
}

/* After pivot_root(".", "."), in a helper whose cwd is the stacked host
 * root: unmount it lazily (that waits for the kernel, hundreds of µs under
 * load), then bring lo up (likewise), while the child makes its remaining
 * mounts; then, once the child says its mounts are there (cv_helper_go),
 * mask paths in /proc and /sys while the child joins its cgroup and applies
 * its security settings, and last set every signal to its default. One
 * helper for all of it: on two cores a second one only waits for a CPU,
 * and costs the child a clone. */
long cv_after_pivot(struct cv_helper *h)
{
    static const char dot[] = ".";
    long r = cv_raw3(SYS_umount2, dot, MNT_DETACH, 0);
    if (h->arg[0]) {
        struct timespec t0, t1;
        cv_raw3(SYS_clock_gettime, CLOCK_MONOTONIC, &t0, 0);
        h->result2 = loopback_up(h);
        cv_raw3(SYS_clock_gettime, CLOCK_MONOTONIC, &t1, 0);
        h->ns2 = (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000000ull + (uint64_t)t1.tv_nsec - (uint64_t)t0.tv_nsec;
    }
    if (!h->inline_mode) { /* inline, cv_helper_go runs the masks itself */
        while (!__atomic_load_n(&h->go, __ATOMIC_ACQUIRE))
            cv_raw6(SYS_futex, (long)&h->go, FUTEX_WAIT_PRIVATE, 0, 0, 0, 0);
        h->result3 = cv_mask_paths(h);
    }
    signals_default(); /* inline: in the child, at pivot_root */
    return r;
}

void cv_helper_go(struct cv_helper *h)
{
    if (h->inline_mode) {
        h->result3 = cv_mask_paths(h);
        return;
    }
    __atomic_store_n(&h->go, 1, __ATOMIC_RELEASE);
    cv_raw6(SYS_futex, (long)&h->go, FUTEX_WAKE_PRIVATE, 1, 0, 0, 0);
}

static int apply_security(struct cv_child_args *a, struct cv_sync_msg *m)
{
    unsigned relax = a->opts->relax;
    uint64_t t;
    int r;
#define SEC_STEP(name, expr)                                              \
    t = cv_now_ns();                                                      \
    if (cv_fault_child(a->fault, name, a->sync_fd))                                         \
        return cv_child_fail(m, name, EIO, "injected fault");             \
    if ((r = (expr)) < 0)                                                 \
        return cv_child_fail(m, name, r, "");                             \
    if (cv_fault_child_after(a->fault, name))                             \
        return cv_child_fail(m, name, EIO, "injected fault after the step"); \
    cv_child_step(m, name, t)

    if (!(relax & CONTAINERV_RELAX_NO_NEW_PRIVS)) {
        SEC_STEP("child.no_new_privs", cs_prctl(PR_SET_NO_NEW_PRIVS, 1, 0));
    }
    if (a->seccomp) {
        SEC_STEP("child.seccomp", cv_seccomp_load(a->seccomp));
    }
    if (!(relax & CONTAINERV_RELAX_CAPS)) {
        SEC_STEP("child.caps", cv_caps_apply(CV_CAPS_DEFAULT, a->last_cap));
    }
#undef SEC_STEP
    return 0;
}

static int child_setup(struct cv_child_args *a, struct cv_sync_msg *m)
{
    const struct containerv_options *o = a->opts;
    uint64_t t = cv_now_ns();
    /* first: among the creator's fds is its own end of the sync socket,
     * which must close with the creator for the child to notice it died */
    close_others(a);
    if (cv_fault_child(a->fault, "child.init", a->sync_fd))
        return cv_child_fail(m, "child.init", EIO, "injected fault");
    int r;
    /* namespaces joined instead of made (opened and checked on the host) */
    static const int join_type[3] = {CLONE_NEWNET, CLONE_NEWIPC, CLONE_NEWUTS};
    for (int i = 0; i < 3; i++) {
        if (a->join_fds[i] < 0)
            continue;
        r = (int)cv_raw3(SYS_setns, a->join_fds[i], join_type[i], 0);
        cs_close(a->join_fds[i]);
        a->join_fds[i] = -1;
        if (r < 0)
            return cv_child_fail(m, "child.init", r, o->join_ns[i]);
    }
    for (int i = 0; i < 3; i++)
        if ((r = cs_dup2(a->devnull_fd, i)) < 0)
            return cv_child_fail(m, "child.init", r, "/dev/null");
    cv_raw3(SYS_setsid, 0, 0, 0);
    /* a session keyring of its own (KEYCTL_JOIN_SESSION_KEYRING with no
     * name: a new anonymous one), so that no container possesses, and with
     * seccomp=unconfined reads or adds to, its creator's (host root's) */
    r = (int)cv_raw3(SYS_keyctl, 1 /* KEYCTL_JOIN_SESSION_KEYRING */, 0, 0);
    if (r < 0 && r != -ENOSYS)
        return cv_child_fail(m, "child.init", r, "joining a new session keyring");
    if (a->userns) {
        r = sync_wait(a->sync_fd, CV_SYNC_USERNS_MAPPED, NULL, 0, NULL);
        if (r < 0)
            return cv_child_fail(m, "userns.map", r, "waiting for the id maps");
        /* (a change of credentials makes the kernel mark the memory's
         * owner not dumpable: the creator's, which clone.c marks back) */
        if ((r = (int)cv_raw3(SYS_setresgid, 0, 0, 0)) < 0 || (r = (int)cv_raw3(SYS_setresuid, 0, 0, 0)) < 0)
            return cv_child_fail(m, "userns.map", r, "becoming root in the user namespace");
    }
    cv_raw3(SYS_umask, 0, 0, 0);
    if (cv_fault_child_after(a->fault, "child.init"))
        return cv_child_fail(m, "child.init", EIO, "injected fault after the step");
    cv_child_step(m, "child.init", t);
    /* lo comes up in the pivot helper (cv_after_pivot) */
    if (cv_own_net(a) && cv_fault_child(a->fault, "child.network", a->sync_fd))
        return cv_child_fail(m, "child.network", EIO, "lo");
    r = cv_child_setup_rootfs(a, m);
    if (r < 0)
        return r;
    cv_raw3(SYS_umask, 022, 0, 0);
    if ((o->namespaces & CONTAINERV_NS_UTS) && !(a->joined & CONTAINERV_NS_UTS)) {
        t = cv_now_ns();
        if (cv_fault_child(a->fault, "child.hostname", a->sync_fd))
            return cv_child_fail(m, "child.hostname", EIO, a->hostname);
        if ((r = (int)cv_raw3(SYS_sethostname, a->hostname, strlen(a->hostname), 0)) < 0)
            return cv_child_fail(m, "child.hostname", r, a->hostname);
        if (cv_fault_child_after(a->fault, "child.hostname"))
            return cv_child_fail(m, "child.hostname", EIO, "injected fault after the step");
        cv_child_step(m, "child.hostname", t);
    }
    return 0;
}

/* The helpers' work is part of the container: wait for it before ready
 * (the time recorded is the wait, what the critical path pays). */
static int wait_helpers(struct cv_child_args *a, struct cv_sync_msg *m)
{
    uint64_t t = cv_now_ns();
    place_back(a);
    long r = cv_helper_wait(&a->pivot_helper);
    if (r < 0)
        return cv_child_fail(m, "child.pivot_root", (int)r, "unmounting the host's root");
    if (a->pivot_helper.result2 < 0)
        return cv_child_fail(m, "child.network", (int)a->pivot_helper.result2, "lo");
    if (a->pivot_helper.result3 < 0)
        return cv_child_fail(m, "child.mask", (int)a->pivot_helper.result3, "masking /proc and /sys");
    /* the helper's steps, once their work is done */
    if (cv_own_net(a) && cv_fault_child_after(a->fault, "child.network"))
        return cv_child_fail(m, "child.network", EIO, "injected fault after the step");
    if (cv_fault_child_after(a->fault, "child.mask"))
        return cv_child_fail(m, "child.mask", EIO, "injected fault after the step");
    cv_child_step(m, "child.pivot_root.wait", t);
    /* lo up's own time in the helper (it overlapped the child's steps) */
    if (cv_own_net(a))
        cv_child_step(m, "child.network", cv_now_ns() - a->pivot_helper.ns2);
    return 0;
}

/* Join the cgroups the host made (v1: write "0" to each "tasks" file), then
 * root a new cgroup namespace there when it was not made by clone3. */
static int join_cgroup(struct cv_child_args *a, struct cv_sync_msg *m)
{
    int fds[CV_SYNC_MAX_FDS], n = 0;
    uint64_t t = cv_now_ns();
    int r = sync_wait(a->sync_fd, CV_SYNC_CGROUP_READY, fds, CV_SYNC_MAX_FDS, &n);
    if (r < 0)
        return cv_child_fail(m, "cgroup.attach", r, "waiting for the cgroup");
    cv_child_step(m, "child.cgroup.wait", t);
    t = cv_now_ns();
    if (n > 0)
        a->lock_fd = fds[0];
    bool injected = cv_fault_child(a->fault, "child.cgroup.join", a->sync_fd);
    if (injected)
        r = -EIO; /* the fds are closed below */
    for (int i = 1; i < n; i++) {
        if (r == 0) {
            long w = cs_write(fds[i], "0", 1);
            r = w == 1 ? 0 : w < 0 ? (int)w : -EIO;
        }
        cs_close(fds[i]);
    }
    if (r < 0)
        return cv_child_fail(m, "child.cgroup.join", r, injected ? "injected fault" : "joining the cgroup");
    if (a->cgroupns_late && (r = (int)cv_raw3(SYS_unshare, CLONE_NEWCGROUP, 0, 0)) < 0)
        return cv_child_fail(m, "child.cgroup.join", r, "a cgroup namespace");
    if (cv_fault_child_after(a->fault, "child.cgroup.join"))
        return cv_child_fail(m, "child.cgroup.join", EIO, "injected fault after the step");
    cv_child_step(m, "child.cgroup.join", t);
    return 0;
}

/* Become the init: execute the init program (initexe.c) with what it keeps
 * (the sync socket, which becomes the creator's control connection, the
 * control socket, the state lock and the writable layer), and nothing
 * else: every other fd is closed here or O_CLOEXEC. The init sends the
 * second report (CV_SYNC_INIT); when execveat fails, this one does. */
__attribute__((noreturn)) static void exec_init(struct cv_child_args *a, struct cv_sync_msg *m)
{
    int keep[] = {a->sync_fd, a->listen_fd, a->lock_fd, a->upper_fd};
    for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
        if (keep[i] >= 0)
            cs_fcntl(keep[i], F_SETFD, 0);
    char fds[80], peers[48] = "", t0[32], flags[8];
    snprintf(fds, sizeof(fds), "--fds=%d,%d,%d,%d", a->sync_fd, a->listen_fd, a->lock_fd, a->upper_fd);
    for (int i = 0, off = 0; i < a->n_peer_uids && i < 3; i++)
        off += snprintf(peers + off, sizeof(peers) - (size_t)off, "%s%u", i ? "," : "--peers=", a->peer_uids[i]);
    snprintf(flags, sizeof(flags), "--%s%s", a->userns ? "u" : "", a->opts->die_with_parent ? "d" : "");
    snprintf(t0, sizeof(t0), "--t0=%llu", (unsigned long long)cv_now_ns());
    char fault[300];
    snprintf(fault, sizeof(fault), "--fault=%s", a->fault ? a->fault : "");
    char *argv[7] = {"containerv-init", fds, t0, flags};
    int argc = 4;
    if (peers[0])
        argv[argc++] = peers;
    if (a->fault)
        argv[argc++] = fault;
    argv[argc] = NULL;
    char *envp[] = {NULL};
    long r = cv_raw5(SYS_execveat, a->init_exe_fd, "", argv, envp, AT_EMPTY_PATH);
    memset(m, 0, sizeof(*m));
    cv_child_fail(m, "init.exec", (int)r, "executing the init program");
    cv_sync_send(a->sync_fd, m);
    cs_exit(1);
}

int cv_child_entry(void *block)
{
    struct cv_child_block *b = block;
    struct cv_child_args *a = &b->a;
    struct cv_sync_msg *m = &b->m;
    memset(m, 0, sizeof(*m));
    m->t[CV_T_CHILD_START] = cv_now_ns();
    m->step = CV_SYNC_READY;
    /* the helper's stack, and where it runs: cloned pinned to the
     * creator's CPU (place.c), the child takes the creator's mask back once
     * its set-up is done (place_back) */
    a->pivot_helper.stack = b->helper_stack[0];
    a->pivot_helper.stack_size = sizeof(b->helper_stack[0]);
    a->pivot_helper.place = a->restore_affinity ? &a->affinity : NULL;
    /* first of all, so that no step can outlive a creator that dies; a
     * creator dead before this shows as EOF on the sync socket later */
    if (a->opts->die_with_parent && cs_prctl(PR_SET_PDEATHSIG, SIGKILL, 0) < 0)
        cs_exit(1);
    if (a->birth_mask_set) { /* a cpuset of the parent's reset it at birth: the creator's mask */
        cpu_set_t now;
        bool same = cs_getaffinity(&now) == 0;
        for (size_t i = 0; same && i < sizeof(now.__bits) / sizeof(now.__bits[0]); i++)
            same = now.__bits[i] == a->birth_mask.__bits[i];
        if (!same)
            cs_setaffinity(0, &a->birth_mask);
    }
    int r = child_setup(a, m);
    if (r == 0)
        r = join_cgroup(a, m);
    if (r == 0)
        r = apply_security(a, m);
    if (r == 0)
        r = wait_helpers(a, m);
    if (r == 0 && cv_fault_child(a->fault, "child.ready", a->sync_fd))
        r = cv_child_fail(m, "child.ready", EIO, "injected fault");
    m->t[CV_T_READY] = cv_now_ns();
    if (r < 0) /* a step failed before the helper was waited for */
        cv_helper_kill(&a->pivot_helper);
    /* a creator that is gone never learns of this container: don't outlive it */
    if (cv_sync_send(a->sync_fd, m) < 0 || r < 0)
        cs_exit(1);
    exec_init(a, m);
}
