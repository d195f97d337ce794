/* Container lifecycle: create is a pipeline of named steps, each one
 * function with an undo, timed by one mechanism (run_pipeline) so that the
 * startup metrics fall out of the structure. The steps up to clone3 are
 * here; clone3 and the hand-over to the child are in clone.c (create.h). */
#include "create.h"
#include "security.h"

#include <fcntl.h>
#include <linux/nsfs.h>
#include <linux/mount.h>
#include <linux/sched.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>

static int creates_in_flight;

/* ------------------------------------------------------------ steps */

static int open_dir(struct create_ctx *x, const char *what, const char *dir, int *out)
{
    int fd = open(dir, O_PATH | O_CLOEXEC);
    if (fd < 0)
        return cv_error(x->err, errno, "validate", "%s '%s'", what, dir);
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISDIR(st.st_mode)) {
        close(fd);
        return cv_error_plain(x->err, ENOTDIR, "validate", "%s '%s' is not a directory", what, dir);
    }
    *out = fd;
    return 0;
}

static int sys_open_tree(int fd, unsigned flags)
{
    int t = (int)syscall(SYS_open_tree, fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH |
                                                   AT_RECURSIVE | flags);
    return t < 0 ? -errno : t;
}

/* Set attrs on a detached tree, and make it private: a tree cloned from a
 * shared mount is shared too, which pivot_root refuses, and which would let
 * mount events cross between the container and the host. */
static int set_tree_attrs(int tree, uint64_t attrs)
{
    struct mount_attr attr = {.attr_set = attrs, .propagation = MS_PRIVATE};
    if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0)
        return -errno;
    return 0;
}

/* A detached copy of the tree at path, with attrs set. */
static int clone_tree(struct create_ctx *x, const char *what, const char *path, uint64_t attrs, bool want_dir,
                      bool *is_file, int *out)
{
    cv_cleanup_fd int fd = open(path, O_PATH | O_CLOEXEC);
    if (fd < 0)
        return cv_error(x->err, errno, "validate", "%s '%s'", what, path);
    struct stat st;
    if (fstat(fd, &st) < 0)
        return cv_error(x->err, errno, "validate", "%s '%s'", what, path);
    if (want_dir && !S_ISDIR(st.st_mode))
        return cv_error_plain(x->err, ENOTDIR, "validate", "%s '%s' is not a directory", what, path);
    if (is_file)
        *is_file = !S_ISDIR(st.st_mode);
    int tree = sys_open_tree(fd, 0);
    int r = tree < 0 ? tree : set_tree_attrs(tree, attrs);
    if (r < 0) {
        if (tree >= 0)
            close(tree);
        return cv_error(x->err, -r, "validate", "cloning the mounts of %s '%s'", what, path);
    }
    *out = tree;
    return 0;
}

/* In a user namespace the init sees a peer's uid mapped into it: the uids
 * there of host root and of the creator (its euid now), or the overflow uid
 * for one that is not mapped (the kernel's default 65534; the socket's mode
 * 0600 keeps other host users out then). */
static void peer_uids(const struct containerv_options *o, struct cv_child_args *a)
{
    uid_t host[2] = {0, geteuid()};
    for (int k = 0; k < 2; k++) {
        uid_t in = 65534;
        for (int i = 0; i < o->n_uid_maps; i++)
            if (host[k] >= o->uid_maps[i].outside && host[k] - o->uid_maps[i].outside < o->uid_maps[i].count)
                in = o->uid_maps[i].inside + (host[k] - o->uid_maps[i].outside);
        a->peer_uids[a->n_peer_uids++] = in;
    }
}

static int step_validate(struct create_ctx *x)
{
    const struct containerv_options *o = x->o;
    struct cv_child_args *a = &x->a;
    int r;
    if (o->rootfs && o->n_lowers)
        return cv_error_plain(x->err, EINVAL, "validate", "give either a rootfs or lower layers, not both");
    if (o->rootfs) {
        uint64_t attrs = (o->relax & CONTAINERV_RELAX_DEVICES) ? 0 : MOUNT_ATTR_NODEV;
        if ((r = clone_tree(x, "rootfs", o->rootfs, attrs, true, NULL, &a->single_tree)) < 0)
            return r;
    } else if (o->n_lowers) {
        for (int i = 0; i < o->n_lowers; i++) {
            if ((r = open_dir(x, "lower layer", o->lowers[i], &a->lower_fds[i])) < 0)
                return r;
            a->lower_paths[i] = o->lowers[i];
            a->n_lowers++;
        }
    } else {
        const char *def = containerv_default_rootfs();
        if (!def)
            return cv_error_plain(x->err, ENOENT, "validate",
                                  "no rootfs given and the default rootfs was not found (build it, or set "
                                  "CONTAINERV_DEFAULT_ROOTFS)");
        if ((r = open_dir(x, "default rootfs", def, &a->lower_fds[0])) < 0)
            return r;
        a->lower_paths[0] = def;
        a->n_lowers = 1;
    }
    for (int i = 0; i < o->n_binds; i++) {
        if (o->binds[i].fstype) /* a new file system: mounted by the child */
            continue;
        uint64_t attrs = (o->binds[i].read_only ? MOUNT_ATTR_RDONLY : 0) |
                         ((o->relax & CONTAINERV_RELAX_DEVICES) ? 0 : MOUNT_ATTR_NODEV);
        if ((r = clone_tree(x, "volume source", o->binds[i].src, attrs, false, &a->bind_is_file[i],
                            &a->bind_trees[i])) < 0)
            return r;
    }
    static const struct {
        unsigned ns;
        int type;
        const char *name;
    } joinable[CV_JOIN_SLOTS] = {{CONTAINERV_NS_NET, CLONE_NEWNET, "network"},
                                 {CONTAINERV_NS_IPC, CLONE_NEWIPC, "IPC"},
                                 {CONTAINERV_NS_UTS, CLONE_NEWUTS, "UTS"},
                                 {CONTAINERV_NS_PID, CLONE_NEWPID, "pid"}};
    for (int i = 0; i < CV_JOIN_SLOTS; i++) {
        const char *path = o->join_ns[i];
        if (!path)
            continue;
        a->join_fds[i] = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (a->join_fds[i] < 0)
            return cv_error(x->err, errno, "validate", "the %s namespace to join '%s'", joinable[i].name, path);
        int type = ioctl(a->join_fds[i], NS_GET_NSTYPE);
        if (type != joinable[i].type)
            return cv_error_plain(x->err, EINVAL, "validate", "'%s' is not a %s namespace", path,
                                  joinable[i].name);
        a->joined |= joinable[i].ns;
    }
    if ((a->joined & CONTAINERV_NS_UTS) && o->hostname)
        return cv_error_plain(x->err, EINVAL, "validate",
                              "a hostname cannot be set in a joined UTS namespace ('%s')", o->join_ns[2]);
    /* the child is in its new user namespace before it could join: it has
     * no capability over a namespace of the host's */
    if (a->joined && (o->namespaces & CONTAINERV_NS_USER))
        return cv_error_plain(x->err, EOPNOTSUPP, "validate",
                              "joining a namespace is not supported with a user namespace (id maps)");
    /* without a pid namespace of its own, the container's processes do not
     * die with its init: only its cgroup can kill them all; and a user
     * namespace could not mount /proc for a pid namespace it does not own */
    if (!(o->namespaces & CONTAINERV_NS_PID) || (a->joined & CONTAINERV_NS_PID)) {
        const char *which = (a->joined & CONTAINERV_NS_PID) ? "a joined pid namespace" : "the host's pid namespace";
        if (cv_cgroup_mode() == CV_CGROUP_NONE)
            return cv_error_plain(x->err, EOPNOTSUPP, "validate",
                                  "a container in %s needs cgroups (its processes are killed through them)", which);
        if (o->namespaces & CONTAINERV_NS_USER)
            return cv_error_plain(x->err, EOPNOTSUPP, "validate",
                                  "a container in %s cannot have a user namespace (it could not mount /proc)", which);
    }
    if (o->n_uid_maps != o->n_gid_maps || (o->n_uid_maps == 0 && (o->namespaces & CONTAINERV_NS_USER)))
        return cv_error_plain(x->err, EINVAL, "validate", "a user namespace needs both uid and gid maps");
    a->devnull_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (a->devnull_fd < 0)
        return cv_error(x->err, errno, "validate", "opening '/dev/null'");
    a->userns = o->namespaces & CONTAINERV_NS_USER;
    if (a->userns)
        peer_uids(o, a);
    snprintf(a->hostname, sizeof(a->hostname), "%s", o->hostname ? o->hostname : x->c->id);
    return 0;
}

/* Work done once per process (the first container pays it): the compiled
 * seccomp program, the capability count and the init program's memfd, then
 * the cgroup mode. */
static int step_security_prepare(struct create_ctx *x)
{
    int r = 0;
    if (!(x->o->relax & CONTAINERV_RELAX_SECCOMP))
        r = cv_seccomp_default(x->o->relax & CONTAINERV_RELAX_CAPS, &x->a.seccomp, x->err);
    x->a.last_cap = cv_caps_last_cap();
    if (r < 0)
        return r;
    x->a.init_exe_fd = cv_init_exe_fd();
    if (x->a.init_exe_fd < 0)
        return cv_error(x->err, -x->a.init_exe_fd, "security.prepare", "the init program (a sealed memfd)");
    return 0;
}

static int step_cgroup_probe(struct create_ctx *x)
{
    (void)x;
    cv_cgroup_mode();
    return 0;
}

static void undo_validate(struct create_ctx *x)
{
    struct cv_child_args *a = &x->a;
    for (int i = 0; i < a->n_lowers; i++)
        cv_closep(&a->lower_fds[i]);
    for (int i = 0; i < x->o->n_binds; i++)
        cv_closep(&a->bind_trees[i]);
    cv_closep(&a->single_tree);
    cv_closep(&a->dev_tree);
    a->dev_tree = -1;
    cv_closep(&a->devnull_fd);
    for (int i = 0; i < CV_JOIN_SLOTS; i++) {
        cv_closep(&a->join_fds[i]);
        a->join_fds[i] = -1;
    }
}

/* The runtime directory must exist before clone: the child mounts its
 * writable layer's tmpfs over it, in its own mount namespace. */
static int step_runtime_dir(struct create_ctx *x)
{
    int fd = cv_runtime_dir_open(x->c->runtime_dir, true, x->err);
    if (fd < 0)
        return fd;
    close(fd);
    /* an earlier container of this id destroyed by this process: its
     * teardown (cgroups of the same name) must be over first */
    cv_teardown_wait_id(x->c->runtime_dir, x->c->id);
    /* fail early and clearly on a taken id (state.write still decides races) */
    return cv_state_claimable(x->c->runtime_dir, x->c->id, x->err);
}

/* The control socket is made before clone, so that the init inherits it,
 * and bound to its path after clone, while the child works. */
static int step_control_socket(struct create_ctx *x)
{
    x->a.listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (x->a.listen_fd < 0)
        return cv_error(x->err, errno, "control.socket", "socket");
    return 0;
}

static void undo_control_socket(struct create_ctx *x)
{
    cv_closep(&x->a.listen_fd);
    x->a.listen_fd = -1;
}

/* On cgroup v2 the cgroup is made before clone: claim the id first (a
 * locked state file without an init yet), so that a creator killed in
 * between leaves a stale state that gc finds, with the cgroup's name. */
static int step_state_claim(struct create_ctx *x)
{
    if (cv_cgroup_mode() != CV_CGROUP_V2)
        return SKIPPED;
    return cv_state_write(x->c, x->err);
}

static int step_state_write(struct create_ctx *x)
{
    if (x->c->lock_fd >= 0)
        return cv_state_update(x->c, x->err);
    return cv_state_write(x->c, x->err);
}

static void undo_state_write(struct create_ctx *x)
{
    if (x->c->lock_fd < 0)
        return; /* not ours: the id belongs to another container */
    cv_state_remove(x->c->runtime_dir, x->c->id);
    cv_closep(&x->c->lock_fd);
    x->c->lock_fd = -1;
}

static int step_control_bind(struct create_ctx *x)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s.sock", x->c->runtime_dir, x->c->id) >=
        (int)sizeof(sa.sun_path))
        return cv_error_plain(x->err, ENAMETOOLONG, "control.socket", "runtime directory '%s' is too long",
                              x->c->runtime_dir);
    int r = bind(x->a.listen_fd, (struct sockaddr *)&sa, sizeof(sa));
    if (r < 0 && errno == EADDRINUSE) { /* left by a killed runtime; the id is ours now */
        unlink(sa.sun_path);
        r = bind(x->a.listen_fd, (struct sockaddr *)&sa, sizeof(sa));
    }
    if (r < 0)
        return cv_error(x->err, errno, "control.socket", "binding '%s'", sa.sun_path);
    /* 0600 whatever the caller's umask: bind made the inode with the
     * umask's mode, but nobody can connect to a socket that does not listen
     * yet, so changing the mode before listen leaves no window; and, unlike
     * setting the umask around bind, it touches no process-wide state that
     * the caller's other threads see. (fchmod of the socket fd would not
     * reach the inode.) */
    if (chmod(sa.sun_path, 0600) < 0)
        return cv_error(x->err, errno, "control.socket", "chmod 0600 '%s'", sa.sun_path);
    if (listen(x->a.listen_fd, 64) < 0)
        return cv_error(x->err, errno, "control.socket", "listening on '%s'", sa.sun_path);
    return 0;
}

static int step_cgroup_create_v2(struct create_ctx *x)
{
    if (cv_cgroup_mode() != CV_CGROUP_V2)
        return SKIPPED;
    return cv_cgroup_create(&x->c->cg, x->c->id, x->c->cgroup_path, &x->o->limits, x->err);
}

static int step_cgroup_create_v1(struct create_ctx *x)
{
    enum cv_cgroup_mode mode = cv_cgroup_mode();
    if (mode == CV_CGROUP_V2)
        return SKIPPED;
    if (mode == CV_CGROUP_NONE) {
        static const struct cv_limits none;
        if (memcmp(&x->o->limits, &none, sizeof(none)) != 0 || x->c->cgroup_path[0])
            return cv_error_plain(x->err, ENOTSUP, "cgroup.create",
                                  "limits or a cgroup path were asked for, but there is no cgroup file system "
                                  "under /sys/fs/cgroup");
        return SKIPPED; /* a container without a cgroup: the pid namespace still contains it */
    }
    int r = cv_cgroup_create(&x->c->cg, x->c->id, x->c->cgroup_path, &x->o->limits, x->err);
    /* the state was written before (v1 makes the cgroup while the child
     * works): again, so that another process's delete or gc knows the
     * parents this cgroup path made */
    static const uint8_t none_made[CV_V1_COUNT];
    if (r == 0 && memcmp(x->c->cg.made, none_made, sizeof(none_made)) != 0 && (r = cv_state_update(x->c, x->err)) < 0)
        cv_cgroup_destroy(&x->c->cg, NULL);
    return r;
}

static void undo_cgroup_create(struct create_ctx *x)
{
    cv_cgroup_destroy(&x->c->cg, NULL);
}

/* Where the child mounts the writable layer's tmpfs (over the runtime dir,
 * in its own mount namespace only) and the root inside it. */
static int step_layers(struct create_ctx *x)
{
    snprintf(x->a.layer_dir, sizeof(x->a.layer_dir), "%s", x->c->runtime_dir);
    snprintf(x->a.rootfs_mnt, sizeof(x->a.rootfs_mnt), "%s/root", x->c->runtime_dir);
    /* /dev from the process's prepared tree, when the container gets the
     * plain one: read-only, made with mknod, and no way for the container
     * to make it writable (its superblock is shared by the containers of
     * this process: not for relaxed capabilities or seccomp, which could
     * remount it) */
    const unsigned own_dev = CONTAINERV_RELAX_DEVICES | CONTAINERV_RELAX_CAPS | CONTAINERV_RELAX_SECCOMP;
    if (!x->a.userns && !(x->o->relax & own_dev)) {
        int t = cv_dev_tree();
        x->a.dev_tree = t < 0 ? -1 : t; /* else the child builds it */
    }
    return 0;
}

struct step {
    const char *name;
    int (*run)(struct create_ctx *);
    void (*undo)(struct create_ctx *);
    enum phase phase;
    bool (*applies)(const struct create_ctx *); /* NULL: always */
};

static bool on_v2(const struct create_ctx *x)
{
    (void)x;
    return cv_cgroup_mode() == CV_CGROUP_V2;
}

static bool not_v2(const struct create_ctx *x)
{
    return !on_v2(x);
}

static bool with_userns(const struct create_ctx *x)
{
    return x->a.userns;
}

static const struct step steps[] = {
    {"validate", step_validate, undo_validate, PH_NONE, NULL},
    {"security.prepare", step_security_prepare, NULL, PH_SECURITY, NULL},
    {"cgroup.probe", step_cgroup_probe, NULL, PH_RESOURCES, NULL},
    {"runtime.dir", step_runtime_dir, NULL, PH_NONE, NULL},
    {"control.socket", step_control_socket, undo_control_socket, PH_NONE, NULL},
    {"state.write", step_state_claim, undo_state_write, PH_NONE, on_v2},
    {"cgroup.create", step_cgroup_create_v2, undo_cgroup_create, PH_RESOURCES, on_v2},
    {"layers.prepare", step_layers, NULL, PH_LAYERS, NULL},
    {"clone", step_clone, undo_clone, PH_NONE, NULL},
    /* from here on the host works while the child sets itself up */
    {"userns.map", step_userns, NULL, PH_NONE, with_userns},
    {"state.write", step_state_write, undo_state_write, PH_NONE, NULL},
    {"control.bind", step_control_bind, NULL, PH_NONE, NULL},
    {"cgroup.create", step_cgroup_create_v1, undo_cgroup_create, PH_NONE, not_v2},
    {"cgroup.attach", step_cgroup_attach, NULL, PH_NONE, NULL},
    {"child.ready", step_child_ready, NULL, PH_NONE, NULL},
    {"init.ready", step_init_ready, NULL, PH_NONE, NULL},
};
#define N_STEPS (sizeof(steps) / sizeof(steps[0]))

static const char *const step_names[] = {
    "validate", "security.prepare", "cgroup.probe", "runtime.dir", "control.socket", "cgroup.create", "layers.prepare", "clone",
    "userns.map", "state.write", "control.bind", "child.init", "child.mount.private", "child.mount.rootfs", "child.mount.proc", "child.mount.dev",
    "child.mount.sys", "child.mount.tmp", "child.mount.binds", "child.mask", "child.rootfs.readonly", "child.pivot_root", "child.hostname",
    "child.network", "cgroup.attach", "child.cgroup.join", "child.no_new_privs", "child.seccomp", "child.caps",
    "child.ready", "init.exec", "init.prepare", "init.ready", NULL,
};

const char *const *containerv_create_steps(void)
{
    return step_names;
}

static uint64_t *phase_slot(struct containerv_startup_metrics *m, enum phase p)
{
    switch (p) {
    case PH_LAYERS: return &m->layer_mount_ns;
    case PH_RESOURCES: return &m->resource_alloc_ns;
    case PH_NAMESPACES: return &m->namespace_setup_ns;
    case PH_SECURITY: return &m->security_setup_ns;
    case PH_NETWORK: return &m->network_setup_ns;
    default: return NULL;
    }
}

static enum phase child_phase(const char *step)
{
    if (!strncmp(step, "child.mount.", 12) || !strncmp(step, "child.pivot_root", 16) ||
        !strcmp(step, "child.rootfs.readonly"))
        return PH_LAYERS;
    if (!strcmp(step, "child.mask") || !strcmp(step, "child.no_new_privs") || !strcmp(step, "child.seccomp") ||
        !strcmp(step, "child.caps") || !strcmp(step, "init.exec"))
        return PH_SECURITY; /* init.exec: the init runs from a sealed memfd (initexe.c) */
    if (!strcmp(step, "child.network"))
        return PH_NETWORK;
    if (!strncmp(step, "child.cgroup.", 13)) /* waiting for the host's cgroup, joining it */
        return PH_RESOURCES;
    return PH_NAMESPACES; /* child.init, child.hostname, init.prepare: finishing the namespaces */
}

static void account_child(struct create_ctx *x)
{
    struct containerv_startup_metrics *m = &x->c->metrics;
    const struct cv_sync_msg *s = &x->ready;
    if (s->step == CV_SYNC_READY) /* the child's report; the init's has no clone time */
        m->namespace_setup_ns += s->t[CV_T_CHILD_START] - x->t_clone;
    for (uint32_t i = 0; i < s->n_steps && i < sizeof(s->steps) / sizeof(s->steps[0]); i++) {
        *phase_slot(m, child_phase(s->steps[i].name)) += s->steps[i].ns;
        if (x->o->trace)
            x->o->trace(x->o->trace_data, s->steps[i].name, s->steps[i].ns);
    }
}

/* Does another entry named like steps[i] run with these options? */
static bool applies_later(const struct create_ctx *x, size_t i)
{
    for (size_t j = 0; j < N_STEPS; j++)
        if (j != i && !strcmp(steps[j].name, steps[i].name) && (!steps[j].applies || steps[j].applies(x)))
            return true;
    return false;
}

static int run_pipeline_steps(struct create_ctx *x);

static int run_pipeline(struct create_ctx *x)
{
    x->alone = __atomic_add_fetch(&creates_in_flight, 1, __ATOMIC_RELAXED) == 1;
    int r = run_pipeline_steps(x);
    __atomic_sub_fetch(&creates_in_flight, 1, __ATOMIC_RELAXED);
    return r;
}

static int run_pipeline_steps(struct create_ctx *x)
{
    uint64_t t0 = cv_now_ns();
    size_t done = 0;
    int r = 0;
    for (; done < N_STEPS; done++) {
        const struct step *s = &steps[done];
        if (s->applies && !s->applies(x)) {
            /* not with these options on this host: neither run, timed nor
             * traced; an injected fault still fires unless another entry
             * of the same name runs */
            if (cv_fault(x->fault, s->name) && !applies_later(x, done)) {
                r = cv_error_plain(x->err, EIO, s->name, "injected fault");
                break;
            }
            continue;
        }
        /* which entry of this name this is, among those that run (#N) */
        int occurrence = 1;
        for (size_t j = 0; j < done; j++)
            if (!strcmp(steps[j].name, s->name) && (!steps[j].applies || steps[j].applies(x)))
                occurrence++;
        uint64_t t = cv_now_ns();
        r = cv_fault_at(x->fault, s->name, occurrence, false)
                ? cv_error_plain(x->err, EIO, s->name, "injected fault")
                : s->run(x);
        /* after its work: the step's own undo must take that work back */
        if (r >= 0 && cv_fault_at(x->fault, s->name, occurrence, true))
            r = cv_error_plain(x->err, EIO, s->name, "injected fault after the step");
        if (r < 0)
            break;
        if (r == SKIPPED)
            continue;
        uint64_t d = cv_now_ns() - t;
        uint64_t *slot = phase_slot(&x->c->metrics, s->phase);
        if (slot)
            *slot += d;
        if (x->o->trace)
            x->o->trace(x->o->trace_data, s->name, d);
        if (s->run == step_child_ready || s->run == step_init_ready)
            account_child(x);
    }
    if (r < 0) {
        /* the failed step cleaned up after itself; undo the ones before it,
         * and the failed one too (its undo is idempotent) */
        cv_place_restore(&x->place);
        for (size_t i = done + 1; i-- > 0;)
            if (steps[i].undo)
                steps[i].undo(x);
        return r;
    }
    cv_place_restore(&x->place);
    x->c->metrics.total_startup_ns = cv_now_ns() - t0;
    return 0;
}

/* ------------------------------------------------------------ create */

static void container_init_fields(struct containerv_container *c)
{
    c->init_pidfd = c->ctl_fd = c->lock_fd = -1;
    c->init_start_time = -1;
    c->cg.v2_fd = -1;
    pthread_mutex_init(&c->lock, NULL);
}

static int spawn_defaults(struct containerv_container *c, const struct containerv_options *o)
{
    static const char *const defaults[] = {
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", NULL,
    };
    c->env = calloc((size_t)o->n_env + 3, sizeof(char *));
    if (!c->env)
        return -ENOMEM;
    for (int i = 0; defaults[i]; i++)
        if (!(c->env[c->n_env++] = strdup(defaults[i])))
            return -ENOMEM;
    for (int i = 0; i < o->n_env; i++) {
        size_t k = (size_t)(strchr(o->env[i], '=') - o->env[i]) + 1;
        int slot = c->n_env;
        for (int j = 0; j < c->n_env; j++)
            if (!strncmp(c->env[j], o->env[i], k))
                slot = j;
        char *dup = strdup(o->env[i]);
        if (!dup)
            return -ENOMEM;
        if (slot < c->n_env)
            free(c->env[slot]);
        else
            c->n_env++;
        c->env[slot] = dup;
    }
    c->uid = o->uid;
    c->gid = o->gid;
    c->workdir = strdup(o->workdir ? o->workdir : "/");
    return c->workdir ? 0 : -ENOMEM;
}

static void describe_rootfs(struct containerv_container *c, const struct containerv_options *o)
{
    if (o->rootfs) {
        snprintf(c->rootfs_desc, sizeof(c->rootfs_desc), "%s (read-only)", o->rootfs);
        return;
    }
    if (!o->n_lowers) {
        const char *d = containerv_default_rootfs();
        snprintf(c->rootfs_desc, sizeof(c->rootfs_desc), "%s", d ? d : "");
        return;
    }
    size_t off = 0;
    for (int i = 0; i < o->n_lowers && off < sizeof(c->rootfs_desc); i++)
        off += (size_t)snprintf(c->rootfs_desc + off, sizeof(c->rootfs_desc) - off, "%s%s", i ? ":" : "",
                                o->lowers[i]);
}

int containerv_create(const char *id, const struct containerv_options *opts,
                      struct containerv_container **out, struct containerv_error *err)
{
    containerv_error_clear(err);
    if (!out)
        return cv_error_plain(err, EINVAL, "validate", "no container pointer given");
    *out = NULL;
    if (id && !cv_valid_id(id))
        return cv_error_plain(err, EINVAL, "validate",
                              "invalid container id '%s' (letters, digits, '_', '.', '-'; at most 64)", id);
    struct containerv_options *defaults = NULL;
    if (!opts)
        opts = defaults = containerv_options_new();
    struct containerv_container *c = calloc(1, sizeof(*c));
    if (!c || !opts) {
        free(c);
        containerv_options_free(defaults);
        return cv_error(err, ENOMEM, "validate", "allocating the container");
    }
    container_init_fields(c);
    if (id)
        snprintf(c->id, sizeof(c->id), "%s", id);
    else
        cv_random_id(c->id);
    snprintf(c->runtime_dir, sizeof(c->runtime_dir), "%s",
             opts->runtime_dir ? opts->runtime_dir : containerv_default_runtime_dir());
    describe_rootfs(c, opts);
    snprintf(c->cgroup_path, sizeof(c->cgroup_path), "%s", opts->cgroup_path ? opts->cgroup_path : "");
    struct create_ctx x = {.c = c, .o = opts, .err = err, .fault = getenv("CONTAINERV_FAULT"), .sync_fd = -1,
                           .dumpable = -1};
    x.a = (struct cv_child_args){.opts = opts, .fault = x.fault, .sync_fd = -1, .listen_fd = -1,
                                 .lock_fd = -1, .devnull_fd = -1, .single_tree = -1, .dev_tree = -1,
                                 .join_fds = {-1, -1, -1, -1},
                                 .upper_fd = -1};
    for (int i = 0; i < CV_MAX_LOWERS; i++)
        x.a.lower_fds[i] = -1;
    for (int i = 0; i < CV_MAX_BINDS; i++)
        x.a.bind_trees[i] = -1;
    int r = spawn_defaults(c, opts);
    /* not cancellable while the child runs on memory of this call's (the
     * options, the block; clone.c): a cancelled create would leave both to
     * the caller's next use while the child still reads them */
    int cancel_state;
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel_state);
    if (r < 0)
        r = cv_error(err, -r, "validate", "copying the environment");
    else
        r = run_pipeline(&x);
    pthread_setcancelstate(cancel_state, NULL);
    if (r == 0) {
        c->ctl_fd = x.sync_fd;
        x.sync_fd = -1;
        undo_validate(&x);
        undo_control_socket(&x);
        *out = c;
    } else {
        cv_container_free(c);
    }
    containerv_options_free(defaults);
    return r;
}

/* ------------------------------------------------------------ teardown */

void cv_container_free(struct containerv_container *c)
{
    if (!c)
        return;
    cv_metrics_forget(c);
    for (size_t i = 0; i < c->n_procs; i++) {
        cv_closep(&c->procs[i].conn);
        cv_closep(&c->procs[i].pidfd);
    }
    free(c->procs);
    cv_closep(&c->ctl_fd);
    cv_closep(&c->init_pidfd);
    cv_closep(&c->lock_fd);
    cv_cgroup_close(&c->cg);
    for (int i = 0; i < c->n_env; i++)
        free(c->env[i]);
    free(c->env);
    free(c->workdir);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

void containerv_release(struct containerv_container *c)
{
    /* the creator stays the init's parent: if the init is gone (destroyed
     * by another process), reap it now rather than leave a zombie */
    if (c && c->owner && c->init_pid > 0)
        waitpid(c->init_pid, NULL, WNOHANG);
    cv_container_free(c);
}

const char *containerv_id(const struct containerv_container *c)
{
    return c ? c->id : NULL;
}

pid_t containerv_init_pid(const struct containerv_container *c)
{
    return c ? c->init_pid : -1;
}

int containerv_get_startup_metrics(struct containerv_container *c, struct containerv_startup_metrics *m)
{
    if (!c || !m)
        return -EINVAL;
    pthread_mutex_lock(&c->lock);
    *m = c->metrics;
    pthread_mutex_unlock(&c->lock);
    return 0;
}
