/* Security baseline; see security.h. The seccomp profile is a deny list
 * modelled on the syscalls Docker's default profile refuses (docs/design.md
 * says why and what it does not cover). */
#include "security.h"

#include <linux/capability.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

const char *const cv_masked_paths[] = {
    "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
    "/sys/firmware", "/sys/devices/virtual/powercap", NULL,
};

const char *const cv_readonly_paths[] = {
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL,
};

/* Refused with EPERM: kernel state, other namespaces, module and key
 * management, tracing other processes, raw I/O. */
static const char *const denied[] = {
    "acct", "add_key", "bpf", "clock_adjtime", "clock_settime", "create_module",
    "delete_module", "finit_module", "get_kernel_syms", "init_module", "ioperm", "iopl",
    "kcmp", "kexec_file_load", "kexec_load", "keyctl", "lookup_dcookie", "mount",
    "move_pages", "name_to_handle_at", "nfsservctl", "open_by_handle_at", "perf_event_open",
    "pivot_root", "process_vm_readv", "process_vm_writev", "ptrace", "query_module",
    "quotactl", "quotactl_fd", "reboot", "request_key", "setns", "settimeofday", "stime",
    "swapon", "swapoff", "sysfs", "_sysctl", "syslog", "umount", "umount2", "unshare",
    "uselib", "userfaultfd", "ustat", "vm86", "vm86old", "fsopen", "fsconfig", "fsmount",
    "fspick", "move_mount", "open_tree", "mount_setattr", "fanotify_init", "adjtimex",
    "io_uring_setup", "io_uring_enter", "io_uring_register", "pidfd_getfd",
    "set_mempolicy_home_node", "lsm_set_self_attr", NULL,
};

/* clone flags that create namespaces: refused in clone(2). */
static const unsigned long ns_flags[] = {
    CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET,
    CLONE_NEWCGROUP, 0x00000080 /* CLONE_NEWTIME */,
};

static struct {
    pthread_once_t once;
    struct sock_fprog prog;
    int error;
    char what[128];
} cached = {.once = PTHREAD_ONCE_INIT};

static int build_rules(scmp_filter_ctx ctx)
{
    for (int i = 0; denied[i]; i++) {
        int nr = seccomp_syscall_resolve_name(denied[i]);
        if (nr == __NR_SCMP_ERROR)
            continue; /* not on this architecture */
        int r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
        if (r < 0) {
            snprintf(cached.what, sizeof(cached.what), "adding rule for %s", denied[i]);
            return r;
        }
    }
    for (size_t i = 0; i < sizeof(ns_flags) / sizeof(ns_flags[0]); i++) {
        int r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                                 SCMP_A0(SCMP_CMP_MASKED_EQ, ns_flags[i], ns_flags[i]));
        if (r < 0) {
            snprintf(cached.what, sizeof(cached.what), "adding the clone flags rule");
            return r;
        }
    }
    /* clone3 takes its flags in memory, which a filter cannot read: ENOSYS
     * makes libc fall back to clone(2), which is filtered above. */
    int r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
    if (r < 0)
        snprintf(cached.what, sizeof(cached.what), "adding the clone3 rule");
    return r;
}

static int export_bpf(scmp_filter_ctx ctx)
{
    int fd = memfd_create("cv-seccomp", MFD_CLOEXEC);
    if (fd < 0) {
        snprintf(cached.what, sizeof(cached.what), "memfd_create");
        return -errno;
    }
    int r = seccomp_export_bpf(ctx, fd);
    off_t size = r < 0 ? 0 : lseek(fd, 0, SEEK_END);
    if (r >= 0 && (size <= 0 || size % (off_t)sizeof(struct sock_filter)))
        r = -EINVAL;
    struct sock_filter *f = r < 0 ? NULL : malloc((size_t)size);
    if (r >= 0 && !f)
        r = -ENOMEM;
    if (r >= 0 && pread(fd, f, (size_t)size, 0) != size)
        r = -EIO;
    close(fd);
    if (r < 0) {
        free(f);
        snprintf(cached.what, sizeof(cached.what), "exporting the filter");
        return r;
    }
    cached.prog.filter = f; /* kept for the life of the process */
    cached.prog.len = (unsigned short)(size / (off_t)sizeof(struct sock_filter));
    return 0;
}

static void compile_once(void)
{
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    if (!ctx) {
        cached.error = ENOMEM;
        snprintf(cached.what, sizeof(cached.what), "seccomp_init");
        return;
    }
    /* a binary tree rather than a chain: the kernel emulates the filter for
     * every syscall number when it is loaded (the action cache), so a short
     * path per syscall makes every container's start cheaper */
    int r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
    if (r < 0)
        snprintf(cached.what, sizeof(cached.what), "setting the optimize attribute");
    else
        r = build_rules(ctx);
    if (r >= 0)
        r = export_bpf(ctx);
    seccomp_release(ctx);
    cached.error = r < 0 ? -r : 0;
}

int cv_seccomp_default(const struct sock_fprog **prog, struct containerv_error *err)
{
    pthread_once(&cached.once, compile_once);
    if (cached.error)
        return cv_error(err, cached.error, "seccomp.compile", "%s", cached.what);
    *prog = &cached.prog;
    return 0;
}

int cv_caps_last_cap(void)
{
    static int last = -1;
    int v = __atomic_load_n(&last, __ATOMIC_RELAXED);
    if (v >= 0)
        return v;
    char buf[16];
    v = cv_read_file_at(-1, "/proc/sys/kernel/cap_last_cap", buf, sizeof(buf)) > 0 ? atoi(buf) : 40;
    if (v <= 0 || v > 63)
        v = 40;
    __atomic_store_n(&last, v, __ATOMIC_RELAXED);
    return v;
}

int cv_seccomp_load(const struct sock_fprog *prog)
{
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, prog) < 0)
        return -errno;
    return 0;
}

int cv_caps_apply(uint64_t mask, int last_cap)
{
    for (int cap = 0; cap <= last_cap; cap++) {
        if (mask & (1ull << cap))
            continue;
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
            return -errno;
    }
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
        return -errno;
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[2] = {
        {.effective = (uint32_t)mask, .permitted = (uint32_t)mask, .inheritable = 0},
        {.effective = (uint32_t)(mask >> 32), .permitted = (uint32_t)(mask >> 32), .inheritable = 0},
    };
    if (syscall(SYS_capset, &hdr, data) < 0)
        return -errno;
    return 0;
}
