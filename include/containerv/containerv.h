/*
 * containerv: a fast Linux container runtime, as a library.
 *
 * Error convention (docs/errors.md): every function that can fail returns 0 on
 * success or a negative errno value, and fills the caller's struct
 * containerv_error (when not NULL) with the step that failed and one line of
 * text naming the path or value at fault. The library never prints and never
 * exits.
 */
#ifndef CONTAINERV_H
#define CONTAINERV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define CONTAINERV_API __attribute__((visibility("default")))
#else
#define CONTAINERV_API
#endif

#define CONTAINERV_VERSION_MAJOR 0
#define CONTAINERV_VERSION_MINOR 1
#define CONTAINERV_VERSION_PATCH 0

/* ---------------------------------------------------------------- errors */

struct containerv_error {
    int code;          /* positive errno value, 0 when no error */
    char step[48];     /* the start-up or operation step, e.g. "cgroup.memory" */
    char message[512]; /* "<step>: <what> '<path or value>': <strerror>" */
};

/* Clear an error object. */
CONTAINERV_API void containerv_error_clear(struct containerv_error *err);

/* ------------------------------------------------------------- options */

/* Namespaces a container gets (containerv_options_set_namespaces). */
enum containerv_namespace {
    CONTAINERV_NS_MOUNT = 1u << 0,
    CONTAINERV_NS_PID = 1u << 1,
    CONTAINERV_NS_IPC = 1u << 2,
    CONTAINERV_NS_UTS = 1u << 3,
    CONTAINERV_NS_NET = 1u << 4,
    CONTAINERV_NS_CGROUP = 1u << 5,
    CONTAINERV_NS_USER = 1u << 6, /* implied by id maps */
    CONTAINERV_NS_DEFAULT = 0x3f, /* mount, pid, ipc, uts, net, cgroup */
};

/* Parts of the security baseline that a user may switch off. */
enum containerv_relax {
    CONTAINERV_RELAX_SECCOMP = 1u << 0,      /* no seccomp filter */
    CONTAINERV_RELAX_CAPS = 1u << 1,         /* keep every capability */
    CONTAINERV_RELAX_NO_NEW_PRIVS = 1u << 2, /* allow setuid binaries to gain privileges */
    CONTAINERV_RELAX_MASKED_PATHS = 1u << 3, /* do not mask /proc/kcore and friends */
    CONTAINERV_RELAX_READONLY_PATHS = 1u << 4, /* /proc/sys etc. stay writable */
    CONTAINERV_RELAX_DEVICES = 1u << 5, /* device nodes work on every mount; /dev writable */
};

struct containerv_options;

CONTAINERV_API struct containerv_options *containerv_options_new(void);
CONTAINERV_API void containerv_options_free(struct containerv_options *opts);

/* Rootfs: either one directory used read-only (set_rootfs), or an ordered list
 * of read-only lower directories (the first is the top-most) under a fresh
 * writable OverlayFS upper layer (add_lower). With neither, the built-in
 * default rootfs is used as the single lower layer. */
CONTAINERV_API int containerv_options_set_rootfs(struct containerv_options *o, const char *dir);
CONTAINERV_API int containerv_options_add_lower(struct containerv_options *o, const char *dir);
CONTAINERV_API int containerv_options_set_hostname(struct containerv_options *o, const char *name);
/* "NAME=VALUE"; replaces an earlier value of NAME. */
CONTAINERV_API int containerv_options_add_env(struct containerv_options *o, const char *kv);
CONTAINERV_API int containerv_options_set_workdir(struct containerv_options *o, const char *dir);
CONTAINERV_API int containerv_options_set_user(struct containerv_options *o, uid_t uid, gid_t gid);
/* Limits, unset by default. Bytes (0: unset), a weight 1..10000 (cgroup v2
 * scale), and a CPU quota in microseconds per period (0: unset; a period
 * alone sets the period and no quota; a quota with period 0 has the
 * kernel's period, 100 ms, or for containerv_update the one in force). CONTAINERV_UNLIMITED (since 0.3) as
 * the memory, memory+swap or pids limit or as the quota is "no limit" given
 * explicitly: the same as unset for containerv_create, and what lifts a limit
 * in containerv_update. The memory limit also sizes the container's /tmp and
 * its writable layer (each a tmpfs); without one each gets half the RAM, at
 * most 4 GiB. */
#define CONTAINERV_UNLIMITED UINT64_MAX
CONTAINERV_API int containerv_options_set_memory_limit(struct containerv_options *o, uint64_t bytes);
CONTAINERV_API int containerv_options_set_memory_swap_limit(struct containerv_options *o, uint64_t bytes);
CONTAINERV_API int containerv_options_set_cpu_weight(struct containerv_options *o, uint64_t weight);
/* The same on docker's and cgroup v1's scale, 2..262144 (v1 cpu.shares as
 * given; v2 gets the weight crun and runc compute, 1 + (shares - 2) * 9999 /
 * 262142). Replaces a weight set before, as a weight replaces shares. Since 0.3. */
CONTAINERV_API int containerv_options_set_cpu_shares(struct containerv_options *o, uint64_t shares);
CONTAINERV_API int containerv_options_set_cpu_quota(struct containerv_options *o, uint64_t quota_us,
                                                    uint64_t period_us);
CONTAINERV_API int containerv_options_set_pids_limit(struct containerv_options *o, uint64_t max);
/* A soft memory limit (docker's --memory-reservation): what the kernel
 * reclaims the container down to under memory pressure (v1
 * memory.soft_limit_in_bytes, v2 memory.low: protected up to that much). 0
 * unsets. Since 0.3. */
CONTAINERV_API int containerv_options_set_memory_reservation(struct containerv_options *o, uint64_t bytes);
/* The container's swappiness, 0..100, or -1 for the kernel's (v1
 * memory.swappiness; cgroup v2 has no such file: the create fails with
 * -EOPNOTSUPP there). Since 0.3. */
CONTAINERV_API int containerv_options_set_memory_swappiness(struct containerv_options *o, int swappiness);
/* No OOM kill in the container (v1 memory.oom_control): a task over the
 * limit waits for memory instead. cgroup v2 has no such switch: the create
 * fails with -EOPNOTSUPP there. Since 0.3. */
CONTAINERV_API int containerv_options_set_oom_kill_disable(struct containerv_options *o, bool disable);
/* Put the container's cgroup at path instead of containerv/<id> (what an OCI
 * config's linux.cgroupsPath says, what Kubernetes' kubelet and podman use to
 * place a container in their own tree). An absolute path is taken from each
 * hierarchy's root (v2: /sys/fs/cgroup/PATH; v1: /sys/fs/cgroup/CTRL/PATH),
 * a relative one from containerv's parent (/sys/fs/cgroup[/CTRL]/containerv/PATH).
 * Missing parents are made, and removed with the container when nothing else
 * is in them (runc and crun leave them; parents that existed are always
 * left); the cgroup itself must not exist (EEXIST at create), nor be below a
 * cgroup with processes (EBUSY) or in /containerv, and is removed with the
 * container. NULL or "" goes back to containerv/<id>.
 * -EINVAL for the root, a "." or ".." component, a control character, or
 * CONTAINERV_CGROUP_PATH_MAX bytes or more. A template cannot hold one.
 * Since 0.3. */
/* CPUs and memory nodes the container may use (cpuset.cpus, cpuset.mems:
 * "0-3,8"; NULL or "" unsets). On cgroup v1 the container then gets a
 * cgroup in the cpuset hierarchy too (filled from its parent's, as a new
 * v1 cpuset cgroup must be). A list the host does not have fails the
 * create, naming the file. -EINVAL for a list that is not one. Since 0.3. */
CONTAINERV_API int containerv_options_set_cpuset_cpus(struct containerv_options *o, const char *cpus);
CONTAINERV_API int containerv_options_set_cpuset_mems(struct containerv_options *o, const char *mems);
/* Realtime CPU time per period for the container's SCHED_FIFO/RR tasks
 * (v1 cpu.rt_runtime_us, -1 for no limit, CONTAINERV_RT_RUNTIME_KEEP to
 * write the period only; cpu.rt_period_us, 0 for the kernel's). The parent cgroup must have that much to give; cgroup v2 has
 * no realtime group scheduling: the create fails with -EOPNOTSUPP there.
 * Since 0.3. */
#define CONTAINERV_RT_RUNTIME_KEEP INT64_MIN
CONTAINERV_API int containerv_options_set_cpu_realtime(struct containerv_options *o, int64_t runtime_us,
                                                       uint64_t period_us);
/* Binds are cloned on the host before the container's own mounts are made,
 * and the kernel (6.8 on) lists a namespace's mounts in the order they were
 * made: in /proc/self/mountinfo they come before the root they sit on,
 * although they are stacked in the order given. exact: each is copied once
 * attached, so mountinfo lists every mount in the order given (what an OCI
 * runtime's callers may check), at about 50 µs a bind. Off by default; the
 * OCI runtime turns it on. Since 0.3. */
CONTAINERV_API int containerv_options_set_exact_mount_order(struct containerv_options *o, bool exact);
/* A device access rule, as docker's --device-cgroup-rule and an OCI
 * config's linux.resources.devices: allow or deny type 'a' (all), 'c' or
 * 'b', major 0..4095 and minor 0..1048575 (the kernel's ranges; -1: any),
 * access a subset of "rwm" (NULL: all).
 * Rules apply in order as cgroup v1 applies them (an 'a' rule with
 * wildcards and all access sets the default, the others add or remove
 * exceptions). Giving one puts the container under the device controller:
 * on v1 its cgroup in the devices hierarchy, on v2 an eBPF program
 * (BPF_PROG_TYPE_CGROUP_DEVICE) on its cgroup. -EINVAL for a bad rule,
 * -E2BIG past 256. Since 0.3. */
CONTAINERV_API int containerv_options_add_device_rule(struct containerv_options *o, bool allow, char type,
                                                      int64_t major, int64_t minor, const char *access);
/* Allow rules for what every container has, as runc and crun add them
 * after a config's rules: mknod of any node, /dev/null, zero, full,
 * random, urandom, tty, console, ptmx, the terminals (136:*) and
 * net/tun. For a policy of "deny everything but": a deny 'a' rule, these,
 * then the caller's allow rules. Since 0.3. */
CONTAINERV_API int containerv_options_add_default_device_rules(struct containerv_options *o);
#define CONTAINERV_CGROUP_PATH_MAX 512
CONTAINERV_API int containerv_options_set_cgroup_path(struct containerv_options *o, const char *path);
/* A mask of enum containerv_namespace; CONTAINERV_NS_MOUNT is required. Without
 * CONTAINERV_NS_PID (since 0.3) the container is in the host's pid namespace
 * (its init is not pid 1; its processes are killed through its cgroup, so it
 * needs cgroups; it cannot be reset or pooled; no user namespace with it). */
CONTAINERV_API int containerv_options_set_namespaces(struct containerv_options *o, unsigned mask);
/* Join an existing namespace instead of making one: ns is CONTAINERV_NS_NET,
 * _IPC, _UTS or (since 0.3) _PID (a pod's shared pid namespace: then as in
 * the host's, above), path an absolute path to a namespace file (/proc/PID/ns/net,
 * a bind mount of one such as /run/netns/NAME); NULL makes the container's
 * own again. The container shares the namespace and changes nothing in it:
 * no loopback set-up in a joined network namespace, no hostname in a joined
 * UTS namespace. The path is opened and its type checked at create (a file
 * that is not a namespace of that type is refused, naming the path). Joining
 * turns the namespace on in the mask. -EOPNOTSUPP for other namespaces
 * (mount, user and cgroup are always the container's own), -EINVAL for
 * a relative path. Since 0.3. */
CONTAINERV_API int containerv_options_join_namespace(struct containerv_options *o, unsigned ns,
                                                     const char *path);
/* User namespace id maps (container id, host id, count); giving one turns the
 * user namespace on. */
CONTAINERV_API int containerv_options_add_uid_map(struct containerv_options *o, uint32_t inside,
                                                  uint32_t outside, uint32_t count);
CONTAINERV_API int containerv_options_add_gid_map(struct containerv_options *o, uint32_t inside,
                                                  uint32_t outside, uint32_t count);
CONTAINERV_API int containerv_options_set_read_only(struct containerv_options *o, bool ro);
/* Use the set_rootfs directory itself, writable, as the container's root
 * (what an OCI bundle's rootfs is): what the container writes lands in that
 * directory. Off by default (the directory is bound read-only and /tmp is a
 * tmpfs). A template cannot hold it. Since 0.3. */
CONTAINERV_API int containerv_options_set_rootfs_writable(struct containerv_options *o, bool writable);
/* The paths masked (a file gets /dev/null bound on it, a directory an
 * empty read-only tmpfs) and made read-only in the container, instead of
 * the defaults (docs/security.md); NULL-terminated, absolute, at most 64
 * each; an empty list masks nothing. CONTAINERV_RELAX_MASKED_PATHS and
 * _READONLY_PATHS still switch them off. Missing paths are skipped. Since
 * 0.3. */
CONTAINERV_API int containerv_options_set_masked_paths(struct containerv_options *o, const char *const *paths);
CONTAINERV_API int containerv_options_set_readonly_paths(struct containerv_options *o, const char *const *paths);
/* A tmpfs on /tmp (the default: true), sized as the writable layer; false
 * leaves the rootfs's own /tmp (an OCI bundle's layout is its config's
 * mounts). Since 0.3. */
CONTAINERV_API int containerv_options_set_tmp_tmpfs(struct containerv_options *o, bool on);
/* Bind mount host SRC at DST inside the container. */
CONTAINERV_API int containerv_options_add_bind(struct containerv_options *o, const char *src,
                                               const char *dst, bool read_only);
/* Mount a new file system of fstype ("tmpfs", "proc", "sysfs", "mqueue",
 * "devpts" or "cgroup2"; -EOPNOTSUPP for others) at DST inside the
 * container, after the built-in layout (/proc, /dev, /sys, /tmp) and in
 * order with the binds: source is the name /proc/self/mountinfo shows
 * (NULL: the type), flags are MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC and
 * the atime and sync flags (-EINVAL for others), data the file system's
 * options ("size=64m,mode=1777") or NULL. Since 0.3. */
CONTAINERV_API int containerv_options_add_mount(struct containerv_options *o, const char *fstype, const char *source,
                                                const char *dst, unsigned long flags, const char *data);
/* A mask of enum containerv_relax. */
CONTAINERV_API int containerv_options_set_relax(struct containerv_options *o, unsigned mask);
/* Where state lives (default /run/containerv, or $CONTAINERV_RUNTIME_DIR). */
CONTAINERV_API int containerv_options_set_runtime_dir(struct containerv_options *o, const char *dir);
/* Kill the container when the thread that created it exits (default true;
 * `containerv create` turns it off so that the container outlives the CLI). */
CONTAINERV_API int containerv_options_set_die_with_parent(struct containerv_options *o, bool on);

/* Called for each start-up step as it ends (host steps as they happen, the
 * child's steps when the child reports ready): for `--debug` traces. Each
 * name is one of containerv_create_steps(), or, for the time the child
 * spent waiting for its helper or the host, a name ending in ".wait"
 * (child.pivot_root.wait, child.cgroup.wait). */
typedef void (*containerv_trace_fn)(void *userdata, const char *step, uint64_t duration_ns);
CONTAINERV_API int containerv_options_set_trace(struct containerv_options *o, containerv_trace_fn fn,
                                                void *userdata);

/* The names of the steps of containerv_create, in order, NULL-terminated. For
 * tests: CONTAINERV_FAULT=<step> in the environment makes that step fail with
 * EIO, and CONTAINERV_FAULT=pause:<step> makes create block at that step. */
CONTAINERV_API const char *const *containerv_create_steps(void);
/* The steps of containerv_spawn, NULL-terminated, for CONTAINERV_FAULT=<step>
 * and after:<step> (a pause is offered at the host's steps only:
 * spawn.request, spawn.send, spawn.answer). Since 0.2. */
CONTAINERV_API const char *const *containerv_spawn_steps(void);

/* Parse "64M", "1g", "512k", "1048576" into bytes; -ERANGE when it does not
 * fit in 64 bits, -EINVAL on anything else. */
CONTAINERV_API int containerv_parse_size(const char *text, uint64_t *bytes);

/* The built-in default rootfs directory, or NULL when none is found. */
CONTAINERV_API const char *containerv_default_rootfs(void);
/* The runtime directory used when none is set. */
CONTAINERV_API const char *containerv_default_runtime_dir(void);

/* ----------------------------------------------------------- lifecycle */

struct containerv_container;

/* Create a container: namespaces, cgroup, rootfs and an idle init. id may be
 * NULL (one is generated); it must match [A-Za-z0-9][A-Za-z0-9_.-]{0,63}.
 * The container's processes get the calling thread's CPU mask. While it
 * runs, create moves the calling thread between its allowed CPUs (see
 * docs/design.md, "Placement") and gives it its mask back before it
 * returns; not when the thread may run on one CPU only, nor while another
 * create of the process is in flight. */
CONTAINERV_API int containerv_create(const char *id, const struct containerv_options *opts,
                                     struct containerv_container **container,
                                     struct containerv_error *err);

struct containerv_spawn_options {
    const char *const *env; /* NULL: the container's environment */
    const char *cwd;        /* NULL: the container's working directory */
    int64_t uid;            /* -1: the container's user */
    int64_t gid;            /* -1: the container's group */
    int stdin_fd;           /* -1: /dev/null inside the container */
    int stdout_fd;          /* -1: /dev/null inside the container */
    int stderr_fd;          /* -1: /dev/null inside the container */
    bool tty;               /* run on a new pseudo-terminal of the container */
    unsigned short rows, cols; /* initial terminal size when tty */
    int *tty_master_fd;     /* out: the terminal's master side (caller closes) */
};

CONTAINERV_API void containerv_spawn_options_init(struct containerv_spawn_options *so);

/* Run argv[0] (looked up in PATH inside the container when it has no '/').
 * *pid is the process id as the caller's pid namespace sees it. */
CONTAINERV_API int containerv_spawn(struct containerv_container *c, const char *const argv[],
                                    const struct containerv_spawn_options *so, pid_t *pid,
                                    struct containerv_error *err);
/* Wait for a spawned process. *exit_code is its exit status, or 128 + signal. */
CONTAINERV_API int containerv_wait(struct containerv_container *c, pid_t pid, int *exit_code,
                                   struct containerv_error *err);
CONTAINERV_API int containerv_kill(struct containerv_container *c, pid_t pid, int sig,
                                   struct containerv_error *err);
/* A pidfd of a spawned process (owned by the container handle), for poll(2)
 * or pidfd_send_signal(2); -1 when pid is unknown. */
CONTAINERV_API int containerv_process_pidfd(struct containerv_container *c, pid_t pid);

/* ---- the main process (since 0.3)
 *
 * What an OCI runtime's container is: a process that is pid 1 of its
 * container, prepared at create and started later, and the container lives
 * as long as it does. containerv_prepare_main hands the process to the
 * container's init, which checks it (the executable must exist: a missing
 * one fails here), keeps its stdio and extra fds, and holds it;
 * containerv_start_main (from any handle, an attached one too) makes the
 * init replace itself with it: containerv_init_pid is then the process's
 * pid, its exit the container's end, and the container no longer takes
 * spawns, resets or the library's monitoring (the init is gone). A signal
 * the init forwards (TERM, INT, HUP, QUIT, USR1, USR2) that comes before
 * the start ends the container. The settings are applied in the order runc
 * applies them: session and stdio, signals to their defaults, resource
 * limits, oom_score_adj, working directory, seccomp (when no_new_privs is
 * off), bounding set, groups and ids, the other capability sets, umask,
 * no_new_privs and seccomp, every fd but stdio and the extra ones closed,
 * execve. The container must keep every capability the process needs
 * (CONTAINERV_RELAX_CAPS for the OCI default set), and no_new_privs off
 * (CONTAINERV_RELAX_NO_NEW_PRIVS) when the process may gain privileges. */
struct containerv_rlimit {
    int resource; /* RLIMIT_* */
    uint64_t soft, hard;
};

struct containerv_main_process {
    const char *const *argv;  /* argv[0] is looked up in the PATH of env when it has no '/' */
    const char *const *env;   /* the whole environment; NULL: the container's */
    const char *cwd;          /* absolute; NULL: the container's working directory */
    int64_t uid, gid;         /* -1: the container's */
    const gid_t *groups;      /* supplementary groups (none when n_groups is 0) */
    size_t n_groups;          /* at most 64 */
    int stdin_fd, stdout_fd, stderr_fd; /* -1: /dev/null */
    const int *extra_fds;     /* become fds 3, 4, ... of the process */
    int n_extra_fds;          /* at most 8 */
    bool tty;                 /* a new pseudo-terminal of the container as stdio */
    unsigned short rows, cols;
    int *tty_master_fd;       /* out: the terminal's master (the caller closes it) */
    bool set_caps;            /* false: the init's capabilities stay */
    uint64_t caps_bounding, caps_effective, caps_permitted, caps_inheritable, caps_ambient;
    const struct containerv_rlimit *rlimits;
    size_t n_rlimits;         /* at most 16 */
    bool no_new_privs;
    int umask;                /* -1: unchanged (022) */
    bool set_oom_score_adj;
    int oom_score_adj;
    const void *seccomp_filter; /* struct sock_filter[seccomp_len], loaded last; NULL: none */
    size_t seccomp_len;         /* at most 4096 */
    int personality;            /* personality(2) (PER_LINUX32, ...); -1: unchanged */
};

/* Defaults: no argv, the container's environment, cwd and user, /dev/null
 * stdio, no extra fds, capabilities, limits or filter. */
CONTAINERV_API void containerv_main_process_init(struct containerv_main_process *p);
/* Once per container, by its creator's handle; -EBUSY when one is prepared. */
CONTAINERV_API int containerv_prepare_main(struct containerv_container *c, const struct containerv_main_process *p,
                                           struct containerv_error *err);
/* 0 once the process is executing; -ENOENT when none is prepared; a step
 * that fails (message "main.rlimit: ...") has ended the container. */
CONTAINERV_API int containerv_start_main(struct containerv_container *c, struct containerv_error *err);

/* Run another process in a running container (the OCI runtime's exec),
 * from any process: it is made in the container's cgroup and namespaces
 * (entered through the pid of its init or main process, pidfd-checked),
 * then becomes p through the same steps as a main process, by the
 * container's init program (never the caller's executable inside the
 * container). *pid is its host pid; it is the caller's child (waitpid).
 * Without set_caps it gets the capability sets and no_new_privs of the
 * container's pid 1, and when pid 1 has a seccomp filter and p gives none,
 * the library's default filter: never the caller's privileges. Works on
 * containers with or without a started main process. Since 0.3. */
CONTAINERV_API int containerv_enter(const char *runtime_dir, const char *id, const struct containerv_main_process *p,
                                    pid_t *pid, struct containerv_error *err);

/* Make a container as new again, for the next user (pools do this on
 * return). Every process but the init is killed (its handles here are
 * closed), every other control connection to the init is closed, then the
 * places a workload can write are checked: the writable layer (against
 * what it held when the container was made: mount points and the workdir
 * its set-up made there), /tmp, /dev/shm, /dev/mqueue, System V IPC and the
 * hostname. 0 when all are as new; -EBUSY (message: "... is not as new:
 * /tmp", "... writable layer: /srv/app") when one is not, and
 * -EOPNOTSUPP when the container's security is relaxed so that a workload
 * could change what is not checked (capabilities, /proc/sys, devices), or
 * the handle is not the creator's: the caller should destroy it then. */
CONTAINERV_API int containerv_reset(struct containerv_container *c, struct containerv_error *err);

/* Change the resource limits of a running container (its own or attached):
 * every limit set in o is written to the container's cgroup, the others are
 * left as they are (runc's and podman's update). Memory, memory+swap and
 * reservation, swappiness, CPU weight or shares, quota and period (one of the
 * two alone keeps the other), cpusets, the realtime runtime, pids;
 * CONTAINERV_UNLIMITED lifts a limit. A memory+swap limit needs a memory limit
 * at most that, given or in force. Not changed: device rules, the OOM killer
 * and the cgroup's place (EINVAL when o has them); /tmp and the writable layer
 * keep the size they were made with. A cpuset on a cgroup v1 container made
 * without one is EOPNOTSUPP (v1 would have to move every task); on v2 the
 * cpuset controller is enabled for it. On failure the limits written before
 * the failing one stay (the kernel has no transaction for them); err names
 * the file and value. Since 0.3. */
CONTAINERV_API int containerv_update(struct containerv_container *c, const struct containerv_options *o,
                                     struct containerv_error *err);

/* Kill everything in the container and remove all it made; frees c.
 * Returns once the container's init is killed and the container is gone
 * for list, attach and create; what only waits for the kernel (the init's
 * exit, removing the cgroups and the state files) finishes in a background
 * thread of the library (docs/design.md, "Teardown"). Its errors are
 * reported by containerv_teardown_wait. */
CONTAINERV_API int containerv_destroy(struct containerv_container *c, struct containerv_error *err);
/* Wait until every teardown started by containerv_destroy in this process
 * is done. Returns 0, or the first error of those teardowns since the last
 * call. Called by the library when the process exits normally (exit() or a
 * return from main); a process killed with teardowns in flight leaves stale
 * state that containerv_gc removes. */
CONTAINERV_API int containerv_teardown_wait(struct containerv_error *err);
/* Close the handle without touching the container; frees c. */
CONTAINERV_API void containerv_release(struct containerv_container *c);

/* Copy a regular file between the host and the container (copy_file_range,
 * holes kept). Container paths are resolved inside the container's root, after
 * a check that the handle's init is still alive (-ESRCH when it is gone, so a
 * reused pid never leads to another process's root). Sources follow symlinks
 * (a container's stay inside its root); both ends must be regular files: a
 * FIFO, socket or device is never opened, and an existing destination that is
 * a directory (-EISDIR), a symlink (-ELOOP) or any other non-regular file
 * (-EINVAL) is refused, and so is one that is a mount point, e.g. a file bound
 * into the container (-EBUSY; the bind is not replaced). The data goes to a
 * temporary file beside the destination (".<name>.cv-XXXXXXXX"), renamed over
 * it when complete and removed on failure: a failed copy leaves the
 * destination as it was. The
 * destination gets the source's permission bits (less the umask). A source
 * larger than CONTAINERV_COPY_DEFAULT_MAX is refused with -EFBIG; the _ex
 * variants take another limit. */
CONTAINERV_API int containerv_upload(struct containerv_container *c, const char *host_path,
                                     const char *container_path, struct containerv_error *err);
CONTAINERV_API int containerv_download(struct containerv_container *c, const char *container_path,
                                       const char *host_path, struct containerv_error *err);

#define CONTAINERV_COPY_DEFAULT_MAX (1ull << 30) /* 1 GiB */

struct containerv_copy_options {
    /* The largest source copied, in bytes of its size (holes count): larger
     * ones fail with -EFBIG before anything is written. 0: the default,
     * CONTAINERV_COPY_DEFAULT_MAX; UINT64_MAX: no limit. */
    uint64_t max_bytes;
};

/* Defaults: max_bytes = CONTAINERV_COPY_DEFAULT_MAX. */
CONTAINERV_API void containerv_copy_options_init(struct containerv_copy_options *co);
/* upload/download with options (co NULL: the defaults). */
CONTAINERV_API int containerv_upload_ex(struct containerv_container *c, const char *host_path,
                                        const char *container_path, const struct containerv_copy_options *co,
                                        struct containerv_error *err);
CONTAINERV_API int containerv_download_ex(struct containerv_container *c, const char *container_path,
                                          const char *host_path, const struct containerv_copy_options *co,
                                          struct containerv_error *err);

CONTAINERV_API const char *containerv_id(const struct containerv_container *c);
/* The host pid of the container's init. */
CONTAINERV_API pid_t containerv_init_pid(const struct containerv_container *c);

/* Attach to a container created by another process (runtime_dir NULL: default). */
CONTAINERV_API int containerv_attach(const char *runtime_dir, const char *id,
                                     struct containerv_container **container,
                                     struct containerv_error *err);

enum containerv_status {
    CONTAINERV_STATUS_RUNNING = 0,
    CONTAINERV_STATUS_STALE = 1, /* its runtime and init are gone: `gc` removes it */
    CONTAINERV_STATUS_CREATING = 2,
};

struct containerv_info {
    char id[65];
    enum containerv_status status;
    pid_t init_pid;
    int64_t created_unix; /* seconds */
    char rootfs[4096];
};

CONTAINERV_API int containerv_list(const char *runtime_dir, struct containerv_info **infos,
                                   size_t *count, struct containerv_error *err);
CONTAINERV_API void containerv_list_free(struct containerv_info *infos);
/* Remove what one container left once its processes are gone (its init,
 * or the main process that replaced it, exited; or its runtime was killed):
 * its cgroups and state. -EBUSY while it runs, -ENOENT when there is none.
 * Since 0.3. */
CONTAINERV_API int containerv_remove(const char *runtime_dir, const char *id, struct containerv_error *err);
/* Remove stale containers (their runtime was killed). *removed may be NULL.
 * A container whose main process runs (containerv_start_main) is not
 * stale. */
CONTAINERV_API int containerv_gc(const char *runtime_dir, int *removed, struct containerv_error *err);

/* ------------------------------------------------------------ metrics */

/*
 * Start-up time per phase, in nanoseconds (the seed had milliseconds; phases
 * take microseconds). Recorded for every container by the start-up pipeline.
 * Phases of the child (layer mount, security, network) run concurrently with
 * the host's resource allocation, and the network's loopback is brought up by
 * a helper of the child while the child goes on (network_setup is that
 * helper's own time), so the phases can sum to more than the total: by at
 * most resource_alloc_ns + network_setup_ns. Every other phase counts only
 * what the critical path waited for.
 */
struct containerv_startup_metrics {
    uint64_t total_startup_ns;    /* create() entry to the init being ready */
    uint64_t layer_mount_ns;      /* rootfs: overlay, pivot_root, /proc, /dev, binds */
    uint64_t namespace_setup_ns;  /* clone3 with the namespaces until the child runs */
    uint64_t security_setup_ns;   /* capabilities, no_new_privs, seccomp, masked paths */
    uint64_t network_setup_ns;    /* loopback up */
    uint64_t resource_alloc_ns;   /* cgroup creation, limits and attach */
    uint64_t first_process_ns;    /* spawn() call to the first workload's execve */
};

CONTAINERV_API int containerv_get_startup_metrics(struct containerv_container *c,
                                                  struct containerv_startup_metrics *metrics);

#ifdef __cplusplus
}
#endif
#endif
