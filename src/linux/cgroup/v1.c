/* cgroup v1 (legacy and hybrid hosts): one directory per controller
 * hierarchy (memory, pids, cpu, freezer), limits as v1 files, kill through
 * the freezer, waiting on pidfds; see cgroup.h and cg.h. */
#include "cg.h"

#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>

const char *const cg_v1_names[CV_V1_COUNT] = {
    [CV_V1_MEMORY] = "memory",
    [CV_V1_PIDS] = "pids",
    [CV_V1_CPU] = "cpu",
    [CV_V1_FREEZER] = "freezer",
    [CV_V1_CPUACCT] = "cpuacct",
    [CV_V1_BLKIO] = "blkio",
    [CV_V1_CPUSET] = "cpuset",
    [CV_V1_DEVICES] = "devices",
};

/* v1: each hierarchy's "containerv" directory, opened once per process
 * (O_PATH) so that a container's calls walk from there: the full path
 * crosses /sys, /sys/fs/cgroup and the hierarchy's mount on every call
 * (four opens of "tasks": 65 µs by path, 18 µs from the directory). The
 * process owns the fd, so it is checked on each use (the process may have
 * closed it and reused its number): a mismatch opens the directory again,
 * and the old number, no longer ours, is left alone. */
static struct {
    pthread_mutex_t lock;
    int fd[CV_V1_COUNT];
    dev_t dev[CV_V1_COUNT];
    ino_t ino[CV_V1_COUNT];
} v1_parents = {PTHREAD_MUTEX_INITIALIZER, {-1, -1, -1, -1, -1, -1, -1, -1}, {0}, {0}};
_Static_assert(CV_V1_COUNT == 8, "v1_parents.fd starts as one -1 per hierarchy");

static int v1_parent_fd(int ctrl)
{
    struct stat st;
    pthread_mutex_lock(&v1_parents.lock);
    int fd = v1_parents.fd[ctrl];
    if (fd >= 0 && (fstat(fd, &st) < 0 || st.st_dev != v1_parents.dev[ctrl] || st.st_ino != v1_parents.ino[ctrl]))
        fd = -1;
    if (fd < 0) {
        char path[PATH_MAX];
        if (cg_path(path, sizeof(path), ctrl, NULL) == 0 &&
            (fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)) >= 0 && fstat(fd, &st) < 0) {
            close(fd);
            fd = -1;
        }
        v1_parents.fd[ctrl] = fd;
        v1_parents.dev[ctrl] = fd >= 0 ? st.st_dev : 0;
        v1_parents.ino[ctrl] = fd >= 0 ? st.st_ino : 0;
    }
    pthread_mutex_unlock(&v1_parents.lock);
    return fd;
}

/* Where a v1 container's file (sub: "", "tasks", "pids.max") is: *dirfd
 * and a path relative to it in buf, or AT_FDCWD and the full path when the
 * parent cannot be opened. A call that gets ENOENT from the directory
 * tries the full path (v1_full): someone may have removed the parent,
 * and the next create makes it again. */
static int v1_full(const struct cv_cgroup *cg, int ctrl, const char *sub, char *buf, size_t size, int *dirfd);

static int v1_at(const struct cv_cgroup *cg, int ctrl, const char *sub, char *buf, size_t size, int *dirfd)
{
    /* a cgroup path of its own: not below the kept parent; cpuset: rare
     * enough that no parent is kept open for it */
    if (cg->path[0] || ctrl == CV_V1_CPUSET || ctrl == CV_V1_DEVICES)
        return v1_full(cg, ctrl, sub, buf, size, dirfd);
    int fd = v1_parent_fd(ctrl);
    int n = fd >= 0 ? snprintf(buf, size, "%s%s%s", cg->id, *sub ? "/" : "", sub) : 0;
    if (fd >= 0 && n >= 0 && (size_t)n < size) {
        *dirfd = fd;
        return 0;
    }
    return v1_full(cg, ctrl, sub, buf, size, dirfd);
}

static int v1_full(const struct cv_cgroup *cg, int ctrl, const char *sub, char *buf, size_t size, int *dirfd)
{
    *dirfd = AT_FDCWD;
    int r = cg_leaf(buf, size, cg, ctrl);
    size_t len = strlen(buf);
    if (r == 0 && *sub && (size_t)snprintf(buf + len, size - len, "/%s", sub) >= size - len)
        r = -ENAMETOOLONG;
    return r;
}

int cg_v1_open_leaf(const struct cv_cgroup *cg, int ctrl)
{
    char path[PATH_MAX];
    int dfd, r = v1_at(cg, ctrl, "", path, sizeof(path), &dfd);
    int fd = r < 0 ? -1 : openat(dfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 && r == 0 && errno == ENOENT && dfd != AT_FDCWD && v1_full(cg, ctrl, "", path, sizeof(path), &dfd) == 0)
        fd = openat(dfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    return r < 0 ? r : fd < 0 ? -errno : fd;
}

/* weight 1..10000 to shares 2..262144, the formula crun and runc use */
static uint64_t weight_to_shares(uint64_t weight)
{
    return 2 + ((weight - 1) * 262142) / 9999;
}

void cg_v1_plan(const struct cv_limits *l, struct cg_plan *p)
{
    char num[5][24];
    /* CONTAINERV_UNLIMITED: -1 (memory) or "max" (pids); memory before
     * memsw: the kernel wants memsw >= memory at every moment (an update that
     * raises both has cv_cgroup_update write memsw first) */
    if (l->memory)
        cg_plan_add(p, CV_V1_MEMORY, "cgroup.memory", "memory.limit_in_bytes", "%s", cg_num(l->memory, "-1", num[0]));
    if (l->memory_swap)
        cg_plan_add(p, CV_V1_MEMORY, "cgroup.memory", "memory.memsw.limit_in_bytes", "%s",
                    cg_num(l->memory_swap, "-1", num[1]));
    if (l->memory_reservation)
        cg_plan_add(p, CV_V1_MEMORY, "cgroup.memory", "memory.soft_limit_in_bytes", "%s",
                    cg_num(l->memory_reservation, "-1", num[2]));
    if (l->swappiness_set)
        cg_plan_add(p, CV_V1_MEMORY, "cgroup.memory", "memory.swappiness", "%u", (unsigned)l->swappiness);
    if (l->oom_kill_disable)
        cg_plan_add(p, CV_V1_MEMORY, "cgroup.memory", "memory.oom_control", "1");
    if (l->pids)
        cg_plan_add(p, CV_V1_PIDS, "cgroup.pids", "pids.max", "%s", cg_num(l->pids, "max", num[3]));
    if (l->cpuset_cpus[0])
        cg_plan_add(p, CV_V1_CPUSET, "cgroup.cpuset", "cpuset.cpus", "%s", l->cpuset_cpus);
    if (l->cpuset_mems[0])
        cg_plan_add(p, CV_V1_CPUSET, "cgroup.cpuset", "cpuset.mems", "%s", l->cpuset_mems);
    /* the period before the runtime: the kernel wants runtime <= period at every moment (an
     * update that lowers both has cv_cgroup_update write the runtime first) */
    if (l->rt_set && l->rt_period_us)
        cg_plan_add(p, CV_V1_CPU, "cgroup.cpu", "cpu.rt_period_us", "%" PRIu64, l->rt_period_us);
    if (l->rt_set && l->rt_runtime_us != CONTAINERV_RT_RUNTIME_KEEP)
        cg_plan_add(p, CV_V1_CPU, "cgroup.cpu", "cpu.rt_runtime_us", "%" PRId64, l->rt_runtime_us);
    if (l->cpu_shares)
        cg_plan_add(p, CV_V1_CPU, "cgroup.cpu", "cpu.shares", "%" PRIu64, l->cpu_shares);
    else if (l->cpu_weight)
        cg_plan_add(p, CV_V1_CPU, "cgroup.cpu", "cpu.shares", "%" PRIu64, weight_to_shares(l->cpu_weight));
    if (l->cpu_period_us)
        cg_plan_add(p, CV_V1_CPU, "cgroup.cpu", "cpu.cfs_period_us", "%" PRIu64, l->cpu_period_us);
    if (l->cpu_quota_us)
        cg_plan_add(p, CV_V1_CPU, "cgroup.cpu", "cpu.cfs_quota_us", "%s", cg_num(l->cpu_quota_us, "-1", num[4]));
}

int cg_v1_apply_write(const struct cv_cgroup *cg, const struct cg_write *w, struct containerv_error *err)
{
    char path[PATH_MAX];
    if (!(cg->v1_created & CG_BIT(w->ctrl)))
        return cv_error_plain(err, ENOTSUP, w->step, "the %s controller is not mounted, cannot set %s '%s'",
                              cg_v1_names[w->ctrl], w->file, w->value);
    int dfd, r = v1_at(cg, w->ctrl, w->file, path, sizeof(path), &dfd);
    if (r < 0)
        return cv_error(err, r, w->step, "writing %s '%s'", w->file, w->value);
    r = cv_write_file_at(dfd, path, w->value, strlen(w->value));
    if (r == -ENOENT && dfd != AT_FDCWD && (r = v1_full(cg, w->ctrl, w->file, path, sizeof(path), &dfd)) == 0)
        r = cv_write_file_at(dfd, path, w->value, strlen(w->value));
    if (r == -ENOENT && w->ctrl == CV_V1_MEMORY && strstr(w->file, "memsw"))
        return cv_error_plain(err, ENOTSUP, w->step,
                              "a swap limit was asked but %s is missing (swap accounting is off: "
                              "boot with swapaccount=1)", w->file);
    return r < 0 ? cv_error(err, r, w->step, "writing %s '%s'", w->file, w->value) : 0;
}

/* A new v1 cpuset cgroup has an empty cpuset.cpus and cpuset.mems, and no
 * task can join it until they are set: give dir its parent's (what
 * cgroup.clone_children would have done) where they are empty. */
static int v1_cpuset_fill(const char *dir, struct containerv_error *err)
{
    static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
    char parent[PATH_MAX], path[PATH_MAX + 16], val[1024];
    snprintf(parent, sizeof(parent), "%s", dir);
    char *slash = strrchr(parent, '/');
    if (!slash || slash == parent)
        return 0;
    *slash = '\0';
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
        int r = cv_read_file_at(AT_FDCWD, path, val, sizeof(val));
        if (r < 0)
            return cv_error(err, r, "cgroup.cpuset", "reading %s", path);
        if (val[0] && val[0] != '\n')
            continue;
        snprintf(path, sizeof(path), "%s/%s", parent, files[i]);
        if ((r = cv_read_file_at(AT_FDCWD, path, val, sizeof(val))) < 0)
            return cv_error(err, r, "cgroup.cpuset", "reading %s", path);
        val[strcspn(val, "\n")] = '\0';
        snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
        if ((r = cv_write_file_at(AT_FDCWD, path, val, strlen(val))) < 0)
            return cv_error(err, r, "cgroup.cpuset", "writing %s '%s'", path, val);
    }
    return 0;
}

int cg_v1_create(struct cv_cgroup *cg, struct containerv_error *err)
{
    for (int c = 0; c < CV_V1_COUNT; c++) {
        char parent[PATH_MAX], leaf[PATH_MAX];
        if (!cg_probe.v1_mnt[c][0] || (c == CV_V1_CPUSET && !cg->cpuset) || (c == CV_V1_DEVICES && !cg->devices))
            continue;
        int r;
        /* by full paths: a placed cgroup, and the cpuset and devices hierarchies
         * (rare: no kept parent fd); a new cpuset directory is filled from its parent */
        if (cg->path[0] || c == CV_V1_CPUSET || c == CV_V1_DEVICES) {
            if ((r = cg_leaf(leaf, sizeof(leaf), cg, c)) < 0)
                return cv_error(err, r, "cgroup.create", "cgroup path '%s'", cg->path[0] ? cg->path : cg->id);
            int (*fill)(const char *, struct containerv_error *) = c == CV_V1_CPUSET ? v1_cpuset_fill : NULL;
            if (cg->path[0])
                r = cg_mkdir_path(cg, leaf, strlen(cg_probe.v1_mnt[c]), fill, c, err);
            else if ((r = cg_mkdir_parents(leaf, strlen(cg_probe.v1_mnt[c]), fill, NULL, err)) == 0)
                r = cg_mkdir_leaf(leaf, err);
            if (r < 0) {
                cg_rmdir_made(cg, leaf, c);
                return r;
            }
            cg->v1_created |= CG_BIT(c);
            if (c == CV_V1_CPUSET && (r = v1_cpuset_fill(leaf, err)) < 0)
                return r;
            continue;
        }
        int dfd;
        r = v1_at(cg, c, "", leaf, sizeof(leaf), &dfd);
        if (r < 0)
            return cv_error(err, r, "cgroup.create", "cgroup path for '%s'", cg->id);
        /* the parent exists but for the first container: try the leaf first */
        if (mkdirat(dfd, leaf, 0755) < 0) {
            int e = errno;
            cg_path(leaf, sizeof(leaf), c, cg->id);
            cg_path(parent, sizeof(parent), c, NULL);
            if (e != ENOENT)
                r = cg_mkdir_leaf(leaf, err);
            else if ((r = cg_mkdir_parent(parent, err)) == 0)
                r = cg_mkdir_leaf(leaf, err);
            if (r < 0)
                return r;
        }
        cg->v1_created |= CG_BIT(c);
    }
    return 0;
}

int cv_cgroup_join_fds(struct cv_cgroup *cg, int *fds, int max, struct containerv_error *err)
{
    char path[PATH_MAX];
    int n = 0;
    if (cg->mode != CV_CGROUP_V1)
        return 0;
    for (int c = 0; c < CV_V1_COUNT; c++) {
        if (!(cg->v1_created & CG_BIT(c)))
            continue;
        int dfd = AT_FDCWD, r = n < max ? v1_at(cg, c, "tasks", path, sizeof(path), &dfd) : -E2BIG;
        if (r == 0 && (fds[n] = openat(dfd, path, O_WRONLY | O_CLOEXEC)) < 0)
            r = -errno;
        if (r < 0 && n < max) { /* by the full path: again after ENOENT, and for the error */
            bool again = r == -ENOENT && dfd != AT_FDCWD;
            int e = v1_full(cg, c, "tasks", path, sizeof(path), &dfd);
            if (again && e == 0)
                r = (fds[n] = open(path, O_WRONLY | O_CLOEXEC)) < 0 ? -errno : 0;
        }
        if (r < 0) {
            while (n > 0)
                close(fds[--n]);
            return cv_error(err, r, "cgroup.attach", "opening '%s'", path);
        }
        n++;
    }
    return n;
}

static bool v1_wait_frozen(int dfd)
{
    char state[32];
    for (int i = 0; i < CG_FREEZE_RETRIES; i++) {
        if (cv_read_file_at(dfd, "freezer.state", state, sizeof(state)) < 0)
            return false;
        if (!strncmp(state, "FROZEN", 6))
            return true;
        sched_yield(); /* FREEZING: tasks are on their way to the refrigerator */
    }
    return false;
}

/* Freeze (so nothing forks behind our back), SIGKILL all, thaw: the signals are
 * delivered on thaw. */
static int v1_freeze_kill(const char *path, struct containerv_error *err)
{
    cv_cleanup_fd int dfd = cg_open_dir(path);
    if (dfd == -ENOENT)
        return 0;
    if (dfd < 0)
        return cv_error(err, dfd, "cgroup.kill", "opening %s", path);
    int r = cv_write_file_at(dfd, "freezer.state", "FROZEN", 6);
    if (r < 0)
        return cv_error(err, r, "cgroup.kill", "writing %s/freezer.state 'FROZEN'", path);
    bool frozen = v1_wait_frozen(dfd);
    size_t found = 0;
    int k = cg_kill_tree(dfd, &found);
    int t = cv_write_file_at(dfd, "freezer.state", "THAWED", 6); /* always */
    if (k < 0)
        return cv_error(err, k, "cgroup.kill", "reading %s/cgroup.procs", path);
    if (t < 0)
        return cv_error(err, t, "cgroup.kill", "writing %s/freezer.state 'THAWED'", path);
    return frozen ? 0 : cg_kill_loop(dfd, path, err);
}

int cg_v1_kill(struct cv_cgroup *cg, struct containerv_error *err)
{
    char path[PATH_MAX];
    int c = CV_V1_FREEZER;
    while (c >= 0 && !(cg->v1_created & CG_BIT(c)))
        c--; /* no freezer: any hierarchy we have, with the kill(2) loop */
    int r = cg_leaf(path, sizeof(path), cg, c);
    if (r < 0)
        return cv_error(err, r, "cgroup.kill", "cgroup path for '%s'", cg->id);
    if (c == CV_V1_FREEZER)
        return v1_freeze_kill(path, err);
    cv_cleanup_fd int dfd = cg_open_dir(path);
    if (dfd == -ENOENT)
        return 0;
    return dfd < 0 ? cv_error(err, dfd, "cgroup.kill", "opening %s", path) : cg_kill_loop(dfd, path, err);
}

/* Sorted, unique pids of the hierarchies in mask (and their subtrees). */
static int v1_collect(const struct cv_cgroup *cg, unsigned mask, struct pidlist *out, char *path, size_t size)
{
    for (int c = 0; c < CV_V1_COUNT; c++) {
        if (!(cg->v1_created & mask & CG_BIT(c)))
            continue;
        int r = cg_leaf(path, size, cg, c);
        int dfd = r < 0 ? r : cg_open_dir(path);
        if (dfd == -ENOENT)
            continue;
        if (dfd < 0)
            return dfd;
        r = cg_collect_tree(dfd, out, 0);
        close(dfd);
        if (r < 0)
            return r;
    }
    cg_pidlist_sort_unique(out);
    return 0;
}

struct pidfds {
    struct pollfd *p;
    size_t n;
};

static void pidfds_free(struct pidfds *f)
{
    for (size_t i = 0; f->p && i < f->n; i++) {
        if (f->p[i].fd >= 0)
            close(f->p[i].fd);
    }
    free(f->p);
}

/* A pidfd per pid, opened before any signal is sent, so that the pids are
 * still those of the cgroup's processes (a pid that exits and is reused in the
 * few microseconds between reading cgroup.procs and here would be waited for
 * until the deadline: harmless, and would need a full pid wrap-around). */
static int pidfds_open(struct pidfds *f, const struct pidlist *pl)
{
    f->p = calloc(pl->n, sizeof(*f->p));
    if (!f->p)
        return -ENOMEM;
    for (f->n = 0; f->n < pl->n; f->n++) {
        int fd = (int)syscall(SYS_pidfd_open, pl->v[f->n], 0); /* always close-on-exec */
        if (fd < 0 && errno != ESRCH)
            return -errno;
        f->p[f->n] = (struct pollfd){.fd = fd, .events = POLLIN};
    }
    return 0;
}

/* Wait (no sleeping) until every pidfd reports its process's exit. */
static int v1_wait_exit(const struct cv_cgroup *cg, struct pidfds *f, uint64_t deadline,
                        struct containerv_error *err)
{
    for (;;) {
        size_t pending = 0;
        for (size_t i = 0; i < f->n; i++)
            pending += f->p[i].fd >= 0;
        if (!pending)
            return 0;
        int left = cg_ms_left(deadline);
        if (left == 0)
            return cv_error(err, EBUSY, "cgroup.destroy", "%zu processes of '%s' still alive after %d ms",
                            pending, cg->id, CG_DRAIN_TIMEOUT_MS);
        if (poll(f->p, f->n, left) < 0 && errno != EINTR)
            return cv_error(err, errno, "cgroup.destroy", "waiting for the processes of '%s'", cg->id);
        for (size_t i = 0; i < f->n; i++) {
            if (f->p[i].fd >= 0 && f->p[i].revents) {
                close(f->p[i].fd);
                f->p[i].fd = -1;
            }
        }
    }
}

/* A paused container (freezer.state FROZEN): its SIGKILLed processes exit
 * only once thawed (kernel >= 6.1 keeps frozen tasks in TASK_FROZEN). */
static int v1_thaw(const struct cv_cgroup *cg, struct containerv_error *err)
{
    char path[PATH_MAX], state[32];
    if (!(cg->v1_created & CG_BIT(CV_V1_FREEZER)) || cg_leaf(path, sizeof(path), cg, CV_V1_FREEZER) < 0)
        return 0;
    cv_cleanup_fd int dfd = cg_open_dir(path);
    if (dfd < 0 || cv_read_file_at(dfd, "freezer.state", state, sizeof(state)) < 0 ||
        !strncmp(state, "THAWED", 6))
        return 0; /* gone, or nothing to do */
    int r = cv_write_file_at(dfd, "freezer.state", "THAWED", 6);
    return r < 0 ? cv_error(err, r, "cgroup.destroy", "writing %s/freezer.state 'THAWED'", path) : 0;
}

static void pidfds_kill(const struct pidfds *f)
{
    for (size_t i = 0; i < f->n; i++) {
        if (f->p[i].fd >= 0)
            syscall(SYS_pidfd_send_signal, f->p[i].fd, SIGKILL, NULL, 0);
    }
}

/* v1: SIGKILL what the cgroups list and wait for it to exit; repeat while
 * they still list processes.
 * Round 0 signals through pidfds only (and thaws a paused container): the
 * usual case is a container already killed (cv_cgroup_kill) or idle, and a
 * freeze/thaw costs ~250 µs on the dev host. A process forked during round 0
 * shows up in round 1, which freezes first (cv_cgroup_kill) so that nothing
 * can fork any more. Round 0 reads only the freezer's cgroup.procs (each read
 * costs ~15 µs); the last round always reads every hierarchy. */
static int v1_drain(struct cv_cgroup *cg, struct containerv_error *err)
{
    uint64_t deadline = cv_now_ns() + CG_DRAIN_TIMEOUT_MS * 1000000ull;
    const unsigned all = cg->v1_created;
    for (int round = 0;; round++) {
        char path[PATH_MAX];
        unsigned mask = round == 0 && (all & CG_BIT(CV_V1_FREEZER)) ? CG_BIT(CV_V1_FREEZER) : all;
        cg_cleanup_pids struct pidlist pl = {0};
        __attribute__((cleanup(pidfds_free))) struct pidfds f = {0};
        if (round > 1 && cg_ms_left(deadline) == 0) /* newcomers keep coming */
            return cv_error(err, EBUSY, "cgroup.destroy", "processes of '%s' still appearing after %d ms",
                            cg->id, CG_DRAIN_TIMEOUT_MS);
        int r = v1_collect(cg, mask, &pl, path, sizeof(path));
        if (r < 0)
            return cv_error(err, r, "cgroup.destroy", "reading %s/cgroup.procs", path);
        if (pl.n == 0) {
            if (mask == all)
                return 0;
            continue;
        }
        if ((r = pidfds_open(&f, &pl)) < 0)
            return cv_error(err, r, "cgroup.destroy", "watching the processes of '%s'", cg->id);
        pidfds_kill(&f);
        if ((r = round > 0 ? cv_cgroup_kill(cg, err) : v1_thaw(cg, err)) < 0)
            return r;
        if ((r = v1_wait_exit(cg, &f, deadline, err)) < 0)
            return r;
    }
}

/* rmdir every leaf we have; -EBUSY if one is still busy (bits of removed ones cleared). */
static int v1_remove(struct cv_cgroup *cg, struct containerv_error *err)
{
    int busy = 0;
    for (int c = 0; c < CV_V1_COUNT; c++) {
        char path[PATH_MAX];
        if (!(cg->v1_created & CG_BIT(c)))
            continue;
        int r = cg_leaf(path, sizeof(path), cg, c);
        if (r == 0)
            r = cg_rmdir(path);
        if (r == 0)
            cg_rmdir_made(cg, path, c);
        if (r == -EBUSY) {
            if (!busy)
                busy = cv_error(err, EBUSY, "cgroup.destroy", "removing %s", path);
            continue;
        }
        if (r < 0)
            return cv_error(err, r, "cgroup.destroy", "removing %s", path);
        cg->v1_created &= ~CG_BIT(c);
    }
    return busy;
}

int cg_v1_destroy(struct cv_cgroup *cg, struct containerv_error *err)
{
    /* the usual case: the init was waited for, so the pid namespace and
     * every process in it are gone and the leaves are empty: rmdir alone
     * (reading cgroup.procs costs a pidlist each, freed later by a kworker) */
    struct containerv_error first;
    if (v1_remove(cg, &first) == 0)
        return 0;
    for (int i = 0;; i++) {
        int r = v1_drain(cg, err);
        if (r < 0)
            return r;
        r = v1_remove(cg, err);
        if (r != -EBUSY || i == CG_RMDIR_RETRIES)
            return r;
        sched_yield();
    }
}

