/* Internal declarations of the Linux implementation. */
#ifndef CV_LINUX_H
#define CV_LINUX_H

#include "../common/internal.h"
#include "cgroup/cgroup.h"
#include "proto.h"

#include <linux/filter.h>
#include <pthread.h>
#include <sched.h>

/* A helper of the child (child.c): a task sharing the child's memory
 * (CLONE_VM, a stack in the child's block) that does, while the child goes on with its
 * own steps, work the child need not wait for at once (the lazy unmount of
 * the host's root: 70 µs alone, 150-500 µs in a child under load; lo up:
 * 100-200 µs; the masked paths). It makes raw system calls only: it shares
 * the child's TLS, so errno is not its own. */
struct cv_helper {
    pid_t pid;           /* 0: not started (the work was done inline) */
    volatile long result; /* the system call's return: 0 or -errno */
    volatile long result2; /* the second job's, for a helper with two */
    volatile uint64_t ns2; /* the second job's duration */
    volatile long result3; /* the masks' (cv_after_pivot), once go is set */
    volatile int go;      /* cv_helper_go: the child's mounts are done */
    bool inline_mode;     /* no helper could be started: the work runs in the child */
    long nr, arg[3];      /* the one system call it makes (fn NULL) */
    long (*fn)(struct cv_helper *);
    char *stack;          /* its stack (in the child's block, below) and size */
    size_t stack_size;
    const cpu_set_t *place; /* the child's mask when it took it back from the pin, or NULL */
    pid_t parent;           /* the child that started it (its parent-death check) */
};
/* Kill and reap a started helper (a child that fails: outside a pid
 * namespace of its own nothing else would end it). */
void cv_helper_kill(struct cv_helper *h);

/* Everything the child needs, prepared on the host before clone: the child
 * only makes system calls on these values. */
struct cv_child_args {
    const struct containerv_options *opts;
    const char *fault;          /* CONTAINERV_FAULT */
    int sync_fd;                /* child's end of the sync socketpair */
    int listen_fd;              /* control.sock */
    int lock_fd;                /* state lock, received with CV_SYNC_CGROUP_READY, kept by the init */
    int devnull_fd;
    int lower_fds[CV_MAX_LOWERS]; /* O_PATH dirs, top first */
    int n_lowers;
    const char *lower_paths[CV_MAX_LOWERS];
    int upper_fd;               /* the overlay's upper dir, kept by the init for resets; -1 */
    char layer_dir[4200];       /* where the writable layer's tmpfs goes: the runtime dir */
    /* Detached mount trees cloned on the host (open_tree(OPEN_TREE_CLONE)):
     * the kernel refuses to clone, inside the new mount namespace, a mount
     * of the host's namespace, but moves a detached tree into it. */
    int single_tree;            /* single read-only rootfs, or -1 */
    int dev_tree;               /* /dev, a clone of the process's prepared tree (cv_dev_tree), or -1 */
    int bind_trees[CV_MAX_BINDS];
    bool bind_is_file[CV_MAX_BINDS];
    int join_fds[CV_JOIN_SLOTS]; /* namespaces joined (net, ipc, uts: setns by the child; pid:
                                  * by the creating thread around clone3), or -1 */
    unsigned joined;            /* their CONTAINERV_NS_* bits */
    char rootfs_mnt[4300];      /* the root: <layer_dir>/root */
    char hostname[65];
    int init_exe_fd;            /* the init program, a sealed memfd (initexe.c) */
    uint64_t t_exec;            /* set by the child: when it executes the init */
    const struct sock_fprog *seccomp; /* NULL when relaxed */
    int last_cap;
    bool userns;
    uid_t peer_uids[3];         /* userns: the uids, as the init sees them, of host root and the creator */
    int n_peer_uids;
    bool cgroupns_late;         /* unshare the cgroup namespace after joining the cgroup */
    bool restore_affinity;      /* cloned pinned to the creator's CPU (place.c): take this mask */
    cpu_set_t affinity;
    /* v2, no cpuset asked: the creating thread's mask at clone3. Born into a
     * cgroup whose parent enables cpuset (another container asked for one,
     * or the host's manager did), the child gets the cpuset's CPUs instead;
     * it takes this mask back first */
    bool birth_mask_set;
    cpu_set_t birth_mask;
    struct cv_helper pivot_helper;  /* after pivot_root: the lazy unmount of the host's root, lo up,
                                     * then the masked and read-only paths */
};

/* What the child works on: its own copy of the arguments, its report and
 * its helper's stack, in a block of the creator's memory below which the
 * child's stack lies (clone.c). The child shares the creator's memory
 * (CLONE_VM): nothing it uses may be the creator's own, which goes on
 * changing; the creator keeps the block until the child has executed the
 * init program or is dead. */
/* A network namespace of the container's own (not the host's, not joined):
 * the child brings its loopback up. */
static inline bool cv_own_net(const struct cv_child_args *a)
{
    return (a->opts->namespaces & CONTAINERV_NS_NET) && !(a->joined & CONTAINERV_NS_NET);
}

#define CV_HELPER_SLOTS 1
#define CV_HELPER_STACK 16384
#define CV_CHILD_STACK (128 * 1024)
struct cv_child_block {
    struct cv_child_args a;
    struct cv_sync_msg m;
    char helper_stack[CV_HELPER_SLOTS][CV_HELPER_STACK] __attribute__((aligned(64)));
};
/* child.c: runs after clone3 (its argument a struct cv_child_block), becomes
 * the init; never returns */
int cv_child_entry(void *block) __attribute__((noreturn));
/* clone.c: a block and the child's stack below it (NULL and errno), back */
struct cv_child_block *cv_child_block_get(void);
void cv_child_block_put(struct cv_child_block *b);
/* child.c: clone3 that runs fn(arg) in the new task on the stack of ca (raw
 * system calls only; with CV_RAW_SYSCALL): the new task's pid, or -errno;
 * fn must not return. */
struct clone_args;
long cv_clone3_fn(struct clone_args *ca, size_t size, int (*fn)(void *), void *arg);
/* fdpass.c: send buf with nfds fds (SCM_RIGHTS); 0 or -errno; no allocation */
#define CV_MAX_PASSED_FDS 12
/* process.c: read the init's answer to a spawn request on the process
 * connection conn (SO_PASSCRED on): at most one hello of the new process (its
 * pid, as our pid namespace sees it, from the credentials the kernel adds),
 * then CV_MSG_SPAWNED with the pidfd and, with tty, the terminal's master.
 * 0 and *a filled, or -errno with err filled (naming argv0 or cwd when the
 * init reports a failed step) and every fd received closed. */
struct cv_spawn_answer {
    pid_t pid;
    int pidfd, master; /* master: -1 without tty */
    uint64_t exec_ns;
};
int cv_spawn_read_answer(int conn, bool tty, const char *id, const char *argv0, const char *cwd,
                         struct cv_spawn_answer *a, struct containerv_error *err);
int cv_send_fds(int sock, const void *buf, size_t len, const int *fds, int nfds);

/* child.c: run h (h->fn, or the system call h->nr) in a helper, or inline
 * when no helper can be started; then wait for it: its result. */
void cv_helper_start(struct cv_helper *h);
long cv_helper_wait(struct cv_helper *h);
/* The pivot helper's work (h->arg[0]: bring lo up too; h->arg[1]: the
 * relax flags for the masks); rootfs.c starts it, and lets it go on to the
 * masked and read-only paths (rootfs.c, cv_mask_paths) with cv_helper_go
 * once /proc, /sys and /dev are mounted. */
long cv_after_pivot(struct cv_helper *h);
void cv_helper_go(struct cv_helper *h);
long cv_mask_paths(struct cv_helper *h);

/* rootfs.c (host): a clone of /dev as containerv populates it (the nodes
 * and links, empty pts, shm and mqueue; read-only, nosuid, noexec), built
 * once per process, from its second container on; -errno when there is none
 * (the first container; a kernel < 6.15 refuses to clone a detached mount):
 * the child then builds /dev itself. */
int cv_dev_tree(void);

/* place.c (host): where the creator and its child run (see place.c).
 * pin: just before clone3; away: right after it; join: when the creator
 * starts to wait for the child's report; restore: once it has it, and on
 * every way out. */
struct cv_place {
    bool on;
    int cpu;              /* the creator's CPU at clone3, where the child starts */
    cpu_set_t saved, set; /* the creator's own mask; the one place.c set last */
};
bool cv_place_pin(struct cv_place *p);
void cv_place_away(struct cv_place *p);
void cv_place_join(struct cv_place *p);
void cv_place_restore(struct cv_place *p);

/* rootfs.c (child) */
int cv_child_setup_rootfs(struct cv_child_args *a, struct cv_sync_msg *m);
/* init/init.c (the init program, init/main.c): its set-up, then its loop,
 * which never returns */
int cv_init_prepare(int upper_fd, bool userns, const uid_t *peer_uids, int n_peer_uids); /* 0 or -errno */
__attribute__((noreturn)) void cv_init_main(int ctl_fd, int listen_fd);
/* initexe.c (host): the init program, embedded in the library, as a sealed
 * memfd made once per process (what the child executes: the workload can
 * neither write it nor reach the creator's executable through
 * /proc/self/exe, CVE-2019-5736); an fd (O_CLOEXEC) or -errno */
int cv_init_exe_fd(void);
/* init/upper.c (init): the writable layer as the set-up left it, recorded when
 * the init starts; changed: true when it differs now (or was too big to
 * record), what names the first place found ("writable layer: /srv") */
void cv_upper_record(int upper_fd);
bool cv_upper_changed(int upper_fd, char *what, size_t n);

/* sync.c: the start-up report, shared by the child and the init program:
 * its steps, its failure, sending it (0 or -1); and closing every fd from 3
 * up but the n in keep (sorted in place). */
int cv_child_fail(struct cv_sync_msg *m, const char *step, int code, const char *what);
void cv_child_step(struct cv_sync_msg *m, const char *step, uint64_t start);
int cv_sync_send(int fd, const struct cv_sync_msg *m);
void cv_close_except(int *keep, int n);

/* One spawned process, as the host tracks it. */
struct cv_proc {
    pid_t pid;      /* host pid */
    int conn;       /* process connection */
    int pidfd;
};

struct containerv_container {
    char id[CV_ID_MAX + 1];
    char runtime_dir[4096];
    char rootfs_desc[4096];
    bool owner;          /* we created it (and are the init's parent) */
    unsigned relax;      /* the options' enum containerv_relax (creator only) */
    pid_t init_pid;
    int64_t init_start_time;    /* field 22 of /proc/PID/stat when clone3's window told it; else -1 */
    int init_pidfd;
    int ctl_fd;          /* control connection to the init */
    int lock_fd;
    struct cv_cgroup cg;
    char cgroup_path[CV_CGROUP_PATH_MAX]; /* the options' cgroup path ("" for containerv/<id>), in the state */
    struct containerv_startup_metrics metrics;
    uint64_t spawn_count;
    /* environment, user and cwd for spawns */
    char **env;
    int n_env;
    uid_t uid;
    gid_t gid;
    char *workdir;
    pthread_mutex_t lock;
    struct cv_proc *procs;
    size_t n_procs, cap_procs;
    struct cvm_handle *rt_metrics; /* src/metrics: runtime metrics state, NULL until first used */
    bool has_main;       /* a main process is prepared: it replaces the init (state "main") */
    bool shared_pidns;   /* creator: the init is not pid 1 of a pid namespace of its own (the
                          * host's, or one joined): no reset (kill(-1) would reach others) */
};

/* state.c */
int cv_state_write(struct containerv_container *c, struct containerv_error *err);
/* Rewrite the content of a state file this handle already holds locked. */
int cv_state_update(struct containerv_container *c, struct containerv_error *err);
/* 0 when id is free (a stale container of that id is removed), -EEXIST when taken. */
int cv_state_claimable(const char *runtime_dir, const char *id, struct containerv_error *err);
int cv_state_remove(const char *runtime_dir, const char *id);
int cv_state_lock_free(int dirfd, const char *name); /* 1 stale, 0 held, -errno */
/* Mark a container as being destroyed, through an fd of its state file
 * open for writing (see state.c). */
int cv_state_mark_destroying(int fd);
int cv_state_load(const char *runtime_dir, const char *id, struct containerv_info *info, int64_t *start_time,
                  struct containerv_error *err);
int64_t cv_state_start_time(pid_t pid); /* field 22 of /proc/PID/stat */
/* Pure parsers of what the runtime reads back (for tests/fuzz too: a runtime
 * killed mid-write leaves a cut state file; /proc/PID/stat holds a name the
 * process chose). cv_proc_stat_start_time: field 22 of a stat line, -1 when
 * there is none. cv_state_parse: the fields list, gc and attach read (init_pid
 * 0..INT32_MAX, init_start_time -1 when absent), 0 or -EBADMSG.
 * cv_state_parse_spawn_defaults: attach's uid, gid (0..2^32-2), workdir
 * (absolute) and env (NAME=value strings, at most 4096); 0, -EBADMSG or
 * -ENOMEM; free with cv_spawn_defaults_free. text is len bytes. */
struct cv_spawn_defaults {
    uid_t uid;
    gid_t gid;
    char *workdir;
    char **env; /* NULL-terminated */
    int n_env;
};
int64_t cv_proc_stat_start_time(const char *stat);
int cv_state_parse(const char *text, size_t len, struct containerv_info *info, int64_t *start_time);
/* the same, and whether a main process replaces the init ("main") */
int cv_state_parse_ex(const char *text, size_t len, struct containerv_info *info, int64_t *start_time, bool *main);
int cv_state_parse_spawn_defaults(const char *text, size_t len, struct cv_spawn_defaults *d);
void cv_spawn_defaults_free(struct cv_spawn_defaults *d);
/* <runtime_dir>/<id>.json, whole (at most 4 MiB), NUL-terminated; NULL and errno */
char *cv_state_read(const char *runtime_dir, const char *id, size_t *len);
/* The state's cgroup path ("" when it names none: containerv/<id>); -EBADMSG
 * for a state that is not JSON or names an invalid path. */
/* A state's "cgroup_path" into buf and its "cgroup_made" (cv_cgroup_made_text's
 * form; "" when absent) into made (NULL: not wanted). */
int cv_state_parse_cgroup(const char *text, size_t len, char *buf, size_t size, char *made, size_t made_size);
/* cv_cgroup_open of container id, at the cgroup path its state records. */
int cv_state_open_cgroup(const char *runtime_dir, const char *id, struct cv_cgroup *cg,
                         struct containerv_error *err);
int cv_runtime_dir_open(const char *dir, bool create, struct containerv_error *err);

/* container.c */
void cv_container_free(struct containerv_container *c);
/* process.c: the env, user and workdir of c's state file, for spawns */
int cv_load_spawn_defaults(struct containerv_container *c, struct containerv_error *err);

/* src/metrics/api.c: stop monitoring c and close what its metrics keep open */
void cv_metrics_forget(struct containerv_container *c);

/* teardown.c: wait until no teardown of (runtime_dir, id) is pending in
 * this process (see containerv_destroy there) */
void cv_teardown_wait_id(const char *runtime_dir, const char *id);

#endif
