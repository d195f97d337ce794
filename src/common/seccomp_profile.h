/* The default seccomp profile, an allow list, shared by its build-time
 * compiler (tools/gen-seccomp.c, which also lists the calls it refuses in
 * the generated header) and by the benchmark's OCI bundle for the peers
 * (src/bench/peers.c), so that both apply the same profile.
 *
 * It has the reach of Docker's and podman's default profile for a container
 * with the default capabilities (docs/security.md, "The seccomp profile and
 * Docker's", lists the differences). For x86_64 system calls:
 *   - the calls named below are allowed;
 *   - clone, clone3, personality and socket are decided on their arguments
 *     (the rules in gen-seccomp.c, with the values below);
 *   - every other system call up to CV_SECCOMP_NEWEST_NR is refused with
 *     EPERM (kernel state, mounts and namespaces, keyrings, bpf, perf,
 *     modules, tracing by handle, NUMA policy, ...);
 *   - numbers above it, and numbers that name no system call, fail with
 *     ENOSYS, so that libc falls back from a call the kernel or the profile
 *     does not know yet;
 *   - other ABIs (i386, x32) kill the process.
 * A container that keeps every capability gets a second program: the same,
 * with the calls of cv_seccomp_allowed_with_caps allowed too. */
#ifndef CV_SECCOMP_PROFILE_H
#define CV_SECCOMP_PROFILE_H

/* The newest system call the profile was reviewed against (removexattrat,
 * Linux 6.13, the newest in Docker's profile): everything above it gets
 * ENOSYS until someone reviews it and moves this bound. */
#define CV_SECCOMP_NEWEST_NR 466

/* Allowed, whatever the arguments. x86_64 names only: the generator fails on
 * a name neither libseccomp nor its own table of recent calls knows. */
__attribute__((unused)) static const char *const cv_seccomp_allowed[] = {
    /* processes, threads, signals */
    "exit", "exit_group", "fork", "vfork", "execve", "execveat", "wait4", "waitid", "kill", "tkill",
    "tgkill", "getpid", "getppid", "gettid", "getpgid", "setpgid", "getpgrp", "getsid", "setsid",
    "set_tid_address", "set_robust_list", "get_robust_list", "rseq", "arch_prctl", "prctl",
    "set_thread_area", "get_thread_area", "modify_ldt", "restart_syscall", "pause", "rt_sigaction",
    "rt_sigprocmask", "rt_sigpending", "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait",
    "rt_sigqueueinfo", "rt_tgsigqueueinfo", "sigaltstack", "signalfd", "signalfd4", "pidfd_open",
    "pidfd_send_signal", "seccomp", "landlock_create_ruleset", "landlock_add_rule",
    "landlock_restrict_self",
    /* tracing of one's own processes (the kernel checks ptrace access;
     * seccomp cannot be bypassed through ptrace since Linux 4.8) */
    "ptrace", "process_vm_readv", "process_vm_writev",
    /* credentials, limits, scheduling */
    "getuid", "geteuid", "getgid", "getegid", "getresuid", "getresgid", "getgroups", "setuid",
    "setgid", "setreuid", "setregid", "setresuid", "setresgid", "setfsuid", "setfsgid", "setgroups",
    "capget", "capset", "getrlimit", "setrlimit", "prlimit64", "getrusage", "getpriority",
    "setpriority", "ioprio_get", "ioprio_set", "sched_yield", "sched_getaffinity",
    "sched_setaffinity", "sched_getparam", "sched_setparam", "sched_getscheduler",
    "sched_setscheduler", "sched_getattr", "sched_setattr", "sched_get_priority_max",
    "sched_get_priority_min", "sched_rr_get_interval", "getcpu",
    /* memory */
    "brk", "mmap", "munmap", "mremap", "mprotect", "madvise", "mincore", "msync", "mlock", "mlock2",
    "mlockall", "munlock", "munlockall", "remap_file_pages", "membarrier", "memfd_create",
    "memfd_secret", "pkey_alloc", "pkey_free", "pkey_mprotect", "map_shadow_stack", "mseal",
    "process_mrelease",
    /* files and directories */
    "read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev", "preadv2",
    "pwritev2", "pipe", "pipe2", "open", "openat", "openat2", "creat", "close", "close_range",
    "dup", "dup2", "dup3", "lseek", "fcntl", "flock", "ioctl", "fsync", "fdatasync", "sync",
    "syncfs", "sync_file_range", "fadvise64", "readahead", "fallocate", "truncate", "ftruncate",
    "copy_file_range", "sendfile", "splice", "tee", "vmsplice", "stat", "fstat", "lstat",
    "newfstatat", "statx", "statfs", "fstatfs", "access", "faccessat", "faccessat2", "chdir",
    "fchdir", "getcwd", "chroot", "mkdir", "mkdirat", "rmdir", "mknod", "mknodat", "link", "linkat",
    "symlink", "symlinkat", "unlink", "unlinkat", "rename", "renameat", "renameat2", "readlink",
    "readlinkat", "getdents", "getdents64", "chmod", "fchmod", "fchmodat", "fchmodat2", "chown",
    "fchown", "lchown", "fchownat", "umask", "utime", "utimes", "utimensat", "futimesat",
    "name_to_handle_at", "cachestat", "getxattr", "lgetxattr", "fgetxattr", "getxattrat",
    "setxattr", "lsetxattr", "fsetxattr", "setxattrat", "listxattr", "llistxattr", "flistxattr",
    "listxattrat", "removexattr", "lremovexattr", "fremovexattr", "removexattrat", "inotify_init",
    "inotify_init1", "inotify_add_watch", "inotify_rm_watch", "fanotify_mark", "statmount",
    "listmount",
    /* waiting, events, timers, clocks */
    "poll", "ppoll", "select", "pselect6", "epoll_create", "epoll_create1", "epoll_ctl",
    "epoll_ctl_old", "epoll_wait", "epoll_wait_old", "epoll_pwait", "epoll_pwait2", "eventfd",
    "eventfd2", "futex", "futex_waitv", "futex_wake", "futex_wait", "futex_requeue", "nanosleep",
    "clock_nanosleep", "clock_gettime", "clock_getres", "clock_adjtime", "adjtimex", "gettimeofday",
    "time", "times", "alarm", "getitimer", "setitimer", "timer_create", "timer_delete",
    "timer_settime", "timer_gettime", "timer_getoverrun", "timerfd_create", "timerfd_settime",
    "timerfd_gettime", "io_setup", "io_destroy", "io_submit", "io_cancel", "io_getevents",
    "io_pgetevents",
    /* sockets (socket itself is filtered on its family) */
    "socketpair", "bind", "connect", "listen", "accept", "accept4", "getsockname", "getpeername",
    "getsockopt", "setsockopt", "sendto", "recvfrom", "sendmsg", "recvmsg", "sendmmsg", "recvmmsg",
    "shutdown",
    /* System V and POSIX IPC */
    "shmget", "shmat", "shmdt", "shmctl", "semget", "semop", "semtimedop", "semctl", "msgget",
    "msgsnd", "msgrcv", "msgctl", "mq_open", "mq_unlink", "mq_timedsend", "mq_timedreceive",
    "mq_notify", "mq_getsetattr",
    /* information */
    "uname", "sysinfo", "getrandom", "uretprobe",
    NULL,
};

/* Allowed as well in a container that keeps every capability
 * (CONTAINERV_RELAX_CAPS), as Docker's profile allows each for the
 * capability it needs; clone and clone3 are then allowed whatever their
 * flags. The kernel still checks the capability. */
__attribute__((unused)) static const char *const cv_seccomp_allowed_with_caps[] = {
    /* CAP_SYS_ADMIN */
    "mount", "umount2", "mount_setattr", "move_mount", "open_tree", "fsopen", "fsconfig", "fsmount",
    "fspick", "unshare", "setns", "sethostname", "setdomainname", "quotactl", "quotactl_fd",
    "fanotify_init", "lookup_dcookie", "lsm_get_self_attr", "lsm_set_self_attr", "lsm_list_modules",
    /* CAP_SYS_ADMIN, CAP_BPF, CAP_PERFMON, CAP_SYSLOG */
    "bpf", "perf_event_open", "syslog",
    /* CAP_SYS_BOOT, CAP_SYS_MODULE, CAP_SYS_PACCT */
    "reboot", "init_module", "finit_module", "delete_module", "acct",
    /* CAP_SYS_PTRACE */
    "kcmp", "pidfd_getfd", "process_madvise",
    /* CAP_SYS_RAWIO, CAP_SYS_TIME, CAP_SYS_TTY_CONFIG, CAP_DAC_READ_SEARCH */
    "iopl", "ioperm", "settimeofday", "clock_settime", "vhangup", "open_by_handle_at",
    /* CAP_SYS_NICE: NUMA memory policy */
    "get_mempolicy", "set_mempolicy", "mbind", "set_mempolicy_home_node",
    NULL,
};

/* clone: allowed when it creates no namespace, else EPERM (Docker's rule for
 * a container without CAP_SYS_ADMIN). clone3 takes its flags in memory,
 * which a filter cannot read: ENOSYS, so that libc falls back to clone. */
__attribute__((unused)) static const unsigned long cv_seccomp_clone_ns_flags[] = {
    CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWCGROUP,
};

/* personality: allowed for these values only (PER_LINUX, PER_LINUX32, their
 * UNAME26 variants, and 0xffffffff, the query), as in Docker's profile. */
__attribute__((unused)) static const unsigned long cv_seccomp_personality_allowed[] = {
    0x0, 0x8, 0x20000, 0x20008, 0xffffffff,
};

/* socket: refused with EPERM for AF_ALG (the kernel's crypto API) and
 * AF_VSOCK (the hypervisor's sockets), as in Docker's profile; families
 * from 64 up (none exists; a value with bits above the first 32, which the
 * kernel would truncate to a family) fail with EAFNOSUPPORT. */
#define CV_SECCOMP_AF_ALG 38
#define CV_SECCOMP_AF_VSOCK 40
#define CV_SECCOMP_AF_LIMIT 64

#endif
