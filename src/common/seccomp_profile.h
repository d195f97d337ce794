/* The default seccomp profile's lists, shared by the build-time compiler
 * of the profile (tools/gen-seccomp.c) and by the benchmark's OCI bundle for
 * the peers (src/bench/peers.c), so that both always refuse the same calls. */
#ifndef CV_SECCOMP_PROFILE_H
#define CV_SECCOMP_PROFILE_H

/* Refused with EPERM: kernel state, other namespaces, module and key
 * management, tracing other processes, raw I/O. */
__attribute__((unused)) static const char *const cv_seccomp_denied[] = {
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
__attribute__((unused)) static const unsigned long cv_seccomp_clone_ns_flags[] = {
    CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET,
    CLONE_NEWCGROUP, 0x00000080 /* CLONE_NEWTIME */,
};

#endif
