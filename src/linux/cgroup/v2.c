/* cgroup v2 (unified hosts): one directory, limits as v2 files,
 * cgroup.kill, waiting on POLLPRI of cgroup.events; see cgroup.h and cg.h. */
#include "cg.h"

#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <sys/stat.h>

void cg_v2_plan(const struct cv_limits *l, struct cg_plan *p)
{
    char num[5][24];
    /* CONTAINERV_UNLIMITED: "max" (check_limits has made sure that a finite
     * memory+swap comes with a finite memory limit at most that) */
    if (l->memory)
        cg_plan_add(p, -1, "cgroup.memory", "memory.max", "%s", cg_num(l->memory, "max", num[0]));
    if (l->memory_swap)
        cg_plan_add(p, -1, "cgroup.memory", "memory.swap.max", "%s",
                    cg_num(l->memory_swap == CONTAINERV_UNLIMITED ? l->memory_swap : l->memory_swap - l->memory, "max",
                           num[1]));
    if (l->memory_reservation)
        cg_plan_add(p, -1, "cgroup.memory", "memory.low", "%s", cg_num(l->memory_reservation, "max", num[2]));
    if (l->pids)
        cg_plan_add(p, -1, "cgroup.pids", "pids.max", "%s", cg_num(l->pids, "max", num[3]));
    if (l->cpuset_cpus[0])
        cg_plan_add(p, -1, "cgroup.cpuset", "cpuset.cpus", "%s", l->cpuset_cpus);
    if (l->cpuset_mems[0])
        cg_plan_add(p, -1, "cgroup.cpuset", "cpuset.mems", "%s", l->cpuset_mems);
    if (l->cpu_shares) /* crun's and runc's conversion */
        cg_plan_add(p, -1, "cgroup.cpu", "cpu.weight", "%" PRIu64, 1 + ((l->cpu_shares - 2) * 9999) / 262142);
    else if (l->cpu_weight)
        cg_plan_add(p, -1, "cgroup.cpu", "cpu.weight", "%" PRIu64, l->cpu_weight);
    if (l->cpu_quota_us && l->cpu_period_us)
        cg_plan_add(p, -1, "cgroup.cpu", "cpu.max", "%s %" PRIu64, cg_num(l->cpu_quota_us, "max", num[4]),
                    l->cpu_period_us);
    else if (l->cpu_quota_us) /* an update's quota alone: the period stays */
        cg_plan_add(p, -1, "cgroup.cpu", "cpu.max", "%s", cg_num(l->cpu_quota_us, "max", num[4]));
    else if (l->cpu_period_us)
        cg_plan_add(p, -1, "cgroup.cpu", "cpu.max", "max %" PRIu64, l->cpu_period_us);
}

static bool has_word(const char *list, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = list; (p = strstr(p, word)); p += n) {
        if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\n' || p[n] == '\0'))
            return true;
    }
    return false;
}

/* Enable memory, pids, cpu and io (those available) for dir's children;
 * io for the runtime metrics' io.stat (src/metrics), which a cgroup has
 * only when its parent enables io for it; cpuset too when asked (only
 * then: it is the one whose absence a container does not notice). */
static int v2_enable_controllers(const char *dir, bool cpuset, struct containerv_error *err)
{
    static const char *const wanted[] = {"memory", "pids", "cpu", "io", "cpuset"};
    char path[PATH_MAX], avail[512], enabled[512], req[64] = "";
    snprintf(path, sizeof(path), "%s/cgroup.controllers", dir);
    int r = cv_read_file_at(AT_FDCWD, path, avail, sizeof(avail));
    if (r < 0)
        return cv_error(err, r, "cgroup.create", "reading %s", path);
    snprintf(path, sizeof(path), "%s/cgroup.subtree_control", dir);
    r = cv_read_file_at(AT_FDCWD, path, enabled, sizeof(enabled));
    if (r < 0)
        return cv_error(err, r, "cgroup.create", "reading %s", path);
    for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]) - !cpuset; i++) {
        if (has_word(avail, wanted[i]) && !has_word(enabled, wanted[i]))
            snprintf(req + strlen(req), sizeof(req) - strlen(req), "%s+%s", req[0] ? " " : "", wanted[i]);
    }
    if (!req[0])
        return 0;
    if (cpuset && !has_word(avail, "cpuset"))
        return cv_error_plain(err, EOPNOTSUPP, "cgroup.cpuset", "%s has no cpuset controller", dir);
    r = cv_write_file_at(AT_FDCWD, path, req, strlen(req));
    return r < 0 ? cv_error(err, r, "cgroup.create", "writing %s '%s'", path, req) : 0;
}

static int v2_enable_each(const char *dir, struct containerv_error *err)
{
    return v2_enable_controllers(dir, false, err);
}

static int v2_enable_each_cpuset(const char *dir, struct containerv_error *err)
{
    return v2_enable_controllers(dir, true, err);
}

int cg_v2_enable_cpuset(const struct cv_cgroup *cg, struct containerv_error *err)
{
    char leaf[PATH_MAX];
    int r = cg_leaf(leaf, sizeof(leaf), cg, -1);
    if (r < 0)
        return cv_error(err, r, "cgroup.cpuset", "cgroup path for '%s'", cg->id);
    return cg_mkdir_parents(leaf, strlen(CG_BASE), v2_enable_each_cpuset, NULL, err);
}

int cg_v2_create(struct cv_cgroup *cg, struct containerv_error *err)
{
    char parent[PATH_MAX], leaf[PATH_MAX];
    int r = cg_leaf(leaf, sizeof(leaf), cg, -1);
    if (r < 0)
        return cv_error(err, r, "cgroup.create", "cgroup path for '%s'", cg->id);
    if (cg->path[0]) {
        r = cg_mkdir_path(cg, leaf, strlen(CG_BASE), cg->cpuset ? v2_enable_each_cpuset : v2_enable_each, 0, err);
    } else {
        cg_path(parent, sizeof(parent), -1, NULL);
        if ((r = v2_enable_controllers(CG_BASE, cg->cpuset, err)) == 0 && (r = cg_mkdir_parent(parent, err)) == 0)
            r = v2_enable_controllers(parent, cg->cpuset, err);
        if (r == 0)
            r = cg_mkdir_leaf(leaf, err);
    }
    if (r < 0) {
        cg_rmdir_made(cg, leaf, 0);
        return r;
    }
    cg->v2_fd = cg_open_dir(leaf);
    if (cg->v2_fd < 0) {
        r = cv_error(err, cg->v2_fd, "cgroup.create", "opening %s", leaf);
        cg->v2_fd = -1;
        rmdir(leaf);
        cg_rmdir_made(cg, leaf, 0);
    }
    return r;
}

int cg_v2_kill(struct cv_cgroup *cg, struct containerv_error *err)
{
    char path[PATH_MAX];
    cg_leaf(path, sizeof(path), cg, -1);
    int r = cv_write_file_at(cg->v2_fd, "cgroup.kill", "1", 1);
    if (r == -ENOENT) /* kernel < 5.14 */
        return cg_kill_loop(cg->v2_fd, path, err);
    return r < 0 ? cv_error(err, r, "cgroup.kill", "writing %s/cgroup.kill '1'", path) : 0;
}

/* v2: kill once, then wait for "populated 0" in cgroup.events. The read
 * re-arms POLLPRI, so a change between the read and poll() is not lost. */
static int v2_drain(struct cv_cgroup *cg, const char *path, struct containerv_error *err)
{
    cv_cleanup_fd int ev = openat(cg->v2_fd, "cgroup.events", O_RDONLY | O_CLOEXEC);
    if (ev < 0)
        return cv_error(err, errno, "cgroup.destroy", "opening %s/cgroup.events", path);
    uint64_t deadline = cv_now_ns() + CG_DRAIN_TIMEOUT_MS * 1000000ull;
    bool killed = false;
    for (;;) {
        char buf[256];
        ssize_t n = pread(ev, buf, sizeof(buf) - 1, 0);
        if (n < 0)
            return cv_error(err, errno, "cgroup.destroy", "reading %s/cgroup.events", path);
        buf[n] = '\0';
        const char *p = strstr(buf, "populated ");
        if (!p || p[10] == '0')
            return 0;
        if (!killed) {
            int r = cv_cgroup_kill(cg, err);
            if (r < 0)
                return r;
            killed = true;
            continue;
        }
        int left = cg_ms_left(deadline);
        if (left == 0)
            return cv_error(err, EBUSY, "cgroup.destroy", "%s still populated after %d ms", path,
                            CG_DRAIN_TIMEOUT_MS);
        struct pollfd pfd = {.fd = ev, .events = POLLPRI};
        if (poll(&pfd, 1, left) < 0 && errno != EINTR)
            return cv_error(err, errno, "cgroup.destroy", "waiting on %s/cgroup.events", path);
    }
}

int cg_v2_destroy(struct cv_cgroup *cg, struct containerv_error *err)
{
    char path[PATH_MAX];
    cg_leaf(path, sizeof(path), cg, -1);
    for (int i = 0;; i++) {
        int r = v2_drain(cg, path, err);
        if (r < 0)
            return r;
        r = cg_rmdir(path);
        if (r == 0) {
            cg_rmdir_made(cg, path, 0);
            break;
        }
        if (r != -EBUSY || i == CG_RMDIR_RETRIES)
            return cv_error(err, r, "cgroup.destroy", "removing %s", path);
        sched_yield();
    }
    close(cg->v2_fd);
    cg->v2_fd = -1;
    return 0;
}

