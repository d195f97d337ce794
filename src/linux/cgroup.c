/* cgroups v1 and v2 behind one interface; see cgroup.h.
 *
 * Shape of the file:
 *   1. the mode probe (once per process: statfs + /proc/self/mountinfo)
 *   2. small helpers: paths, pid lists, walking a cgroup's subtree
 *   3. limits: validated once, turned into a list of (file, value) writes
 *      (a "plan"), then applied in order by one function
 *   4. create / attach / kill / destroy / open, each split v1 / v2
 *
 * Waiting never sleeps: v2 waits on POLLPRI of cgroup.events, v1 on pidfds;
 * both with a deadline so that a process stuck in the kernel (D state) turns
 * into an EBUSY error instead of a hang.
 *
 * Observed on kernel 6.18 (hybrid host): an exited but not yet reaped process
 * (zombie) is no longer listed in a v1 cgroup.procs or tasks file, and rmdir
 * of a v1 cgroup whose only former member is such a zombie succeeds. So
 * destroy does not need the caller to have reaped the container's processes;
 * waiting until each pidfd reports exit is enough. (v2 behaves the same:
 * "populated 0" is reported once the tasks have exited.) */
#include "cgroup.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/magic.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

#define CG_BASE "/sys/fs/cgroup"
#define CG_PARENT "containerv"
#define CG_DRAIN_TIMEOUT_MS 10000 /* processes that do not exit by then: EBUSY */
#define CG_RMDIR_RETRIES 100      /* rmdir EBUSY although empty: retry (yielding) */
#define CG_FREEZE_RETRIES 1000    /* reads of freezer.state while FREEZING */
#define CG_KILL_PASSES 1000       /* kill(2) fallback: passes over cgroup.procs */
#define CG_MAX_DEPTH 32           /* nested cgroups a container may have made */
#define CG_DEFAULT_PERIOD 100000  /* the kernel's default CFS period, µs */
#define CG_BIT(ctrl) (1u << (ctrl))

static const char *const v1_names[CV_V1_COUNT] = {
    [CV_V1_MEMORY] = "memory",
    [CV_V1_PIDS] = "pids",
    [CV_V1_CPU] = "cpu",
    [CV_V1_FREEZER] = "freezer",
};

/* ------------------------------------------------------------ 1. probe */

/* The only process-wide state: written once under pthread_once, then read-only. */
static struct {
    pthread_once_t once;
    enum cv_cgroup_mode mode;
    char v1_mnt[CV_V1_COUNT][PATH_MAX]; /* "" when the controller is not mounted */
} probe = {.once = PTHREAD_ONCE_INIT};

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape_octal(char *dst, size_t size, const char *src)
{
    size_t o = 0;
    while (*src && o + 1 < size) {
        if (src[0] == '\\' && src[1] >= '0' && src[1] <= '3' && src[2] >= '0' && src[2] <= '7' &&
            src[3] >= '0' && src[3] <= '7') {
            dst[o++] = (char)((src[1] - '0') * 64 + (src[2] - '0') * 8 + (src[3] - '0'));
            src += 4;
        } else {
            dst[o++] = *src++;
        }
    }
    dst[o] = '\0';
}

/* "36 25 0:32 / /sys/fs/cgroup/memory rw,relatime shared:9 - cgroup cgroup rw,memory" */
void cv_cgroup_parse_mountinfo_line(char *line, char mnts[CV_V1_COUNT][PATH_MAX])
{
    char *save = NULL, *mnt = NULL, *tok = strtok_r(line, " ", &save);
    for (int i = 1; tok && i <= 4; i++) {
        tok = strtok_r(NULL, " ", &save);
        if (i == 4)
            mnt = tok;
    }
    while (tok && strcmp(tok, "-") != 0)
        tok = strtok_r(NULL, " ", &save); /* optional fields */
    const char *fstype = tok ? strtok_r(NULL, " ", &save) : NULL;
    const char *source = fstype ? strtok_r(NULL, " ", &save) : NULL;
    char *super = source ? strtok_r(NULL, " \n", &save) : NULL;
    if (!mnt || !super || strcmp(fstype, "cgroup") != 0)
        return;
    for (char *opt = strtok_r(super, ",", &save); opt; opt = strtok_r(NULL, ",", &save)) {
        for (int c = 0; c < CV_V1_COUNT; c++) {
            if (strcmp(opt, v1_names[c]) == 0 && !mnts[c][0])
                unescape_octal(mnts[c], PATH_MAX, mnt);
        }
    }
}

static void probe_v1_mounts(void)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    if (!f)
        return;
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0)
        cv_cgroup_parse_mountinfo_line(line, probe.v1_mnt);
    free(line);
    fclose(f);
}

static void probe_once(void)
{
    struct statfs sfs;
    if (statfs(CG_BASE, &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC) {
        probe.mode = CV_CGROUP_V2;
        return;
    }
    /* legacy or hybrid (a cgroup2 at /sys/fs/cgroup/unified is ignored) */
    probe_v1_mounts();
    probe.mode = CV_CGROUP_NONE;
    for (int c = 0; c < CV_V1_COUNT; c++) {
        if (probe.v1_mnt[c][0])
            probe.mode = CV_CGROUP_V1;
    }
}

enum cv_cgroup_mode cv_cgroup_mode(void)
{
    pthread_once(&probe.once, probe_once);
    return probe.mode;
}

/* ---------------------------------------------------------- 2. helpers */

static void cg_reset(struct cv_cgroup *cg)
{
    cg->mode = CV_CGROUP_NONE;
    cg->id[0] = '\0';
    cg->v2_fd = -1;
    cg->v1_created = 0;
    cg->v2_attached = false;
}

/* ctrl < 0: the v2 path. id NULL: the "containerv" parent. */
static int cg_path(char *buf, size_t size, int ctrl, const char *id)
{
    const char *root = ctrl < 0 ? CG_BASE : probe.v1_mnt[ctrl];
    int n = id ? snprintf(buf, size, "%s/" CG_PARENT "/%s", root, id)
               : snprintf(buf, size, "%s/" CG_PARENT, root);
    return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static int cg_leaf(char *buf, size_t size, const struct cv_cgroup *cg, int ctrl)
{
    return cg_path(buf, size, cg->mode == CV_CGROUP_V2 ? -1 : ctrl, cg->id);
}

static int open_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    return fd < 0 ? -errno : fd;
}

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
} v1_parents = {PTHREAD_MUTEX_INITIALIZER, {-1, -1, -1, -1}, {0}, {0}};
_Static_assert(CV_V1_COUNT == 4, "v1_parents.fd starts as one -1 per hierarchy");

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
    int r = cg_path(buf, size, ctrl, cg->id);
    size_t len = strlen(buf);
    if (r == 0 && *sub && (size_t)snprintf(buf + len, size - len, "/%s", sub) >= size - len)
        r = -ENAMETOOLONG;
    return r;
}

struct pidlist {
    pid_t *v;
    size_t n, cap;
};

static void pidlist_free(struct pidlist *l)
{
    free(l->v);
    l->v = NULL;
    l->n = l->cap = 0;
}
#define cg_cleanup_pids __attribute__((cleanup(pidlist_free)))

static int pidlist_add(struct pidlist *l, pid_t pid)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        pid_t *v = realloc(l->v, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = pid;
    return 0;
}

static int cmp_pid(const void *a, const void *b)
{
    pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
    return (x > y) - (x < y);
}

static void pidlist_sort_unique(struct pidlist *l)
{
    if (l->n < 2)
        return;
    qsort(l->v, l->n, sizeof(*l->v), cmp_pid);
    size_t o = 1;
    for (size_t i = 1; i < l->n; i++) {
        if (l->v[i] != l->v[o - 1])
            l->v[o++] = l->v[i];
    }
    l->n = o;
}

/* Append the pids of dfd/cgroup.procs (streamed: the file may be large). */
static int read_procs_at(int dfd, struct pidlist *out)
{
    cv_cleanup_fd int fd = openat(dfd, "cgroup.procs", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    char buf[4096];
    long cur = -1;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            break;
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] >= '0' && buf[i] <= '9') {
                cur = (cur < 0 ? 0 : cur * 10) + (buf[i] - '0');
                if (cur > INT_MAX)
                    return -EIO;
            } else if (cur >= 0) {
                int r = pidlist_add(out, (pid_t)cur);
                if (r < 0)
                    return r;
                cur = -1;
            }
        }
    }
    return cur >= 0 ? pidlist_add(out, (pid_t)cur) : 0;
}

/* For each child cgroup of dfd (a container may have made nested cgroups):
 * fn(child_dirfd, name, parent_dirfd, arg). */
typedef int (*cg_child_fn)(int child, const char *name, int parent, void *arg);

static int for_each_child(int dfd, cg_child_fn fn, void *arg)
{
    int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    DIR *d = fdopendir(fd);
    if (!d) {
        int r = -errno;
        close(fd);
        return r;
    }
    int r = 0;
    struct dirent *e;
    while (r == 0 && (e = readdir(d))) {
        if (e->d_type != DT_DIR || !strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        cv_cleanup_fd int sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (sub < 0)
            r = errno == ENOENT ? 0 : -errno;
        else
            r = fn(sub, e->d_name, dirfd(d), arg);
    }
    closedir(d);
    return r;
}

struct walk {
    struct pidlist *pids;
    int depth;
};

static int collect_child(int child, const char *name, int parent, void *arg);

/* All pids in dfd's cgroup and its descendants. */
static int collect_tree(int dfd, struct pidlist *out, int depth)
{
    struct stat st;
    int r = read_procs_at(dfd, out);
    if (r < 0 || depth >= CG_MAX_DEPTH)
        return r;
    /* cgroupfs (kernfs) gives a directory 2 + <number of subdirectories>
     * links: skip the readdir (a cgroup has dozens of files) when there are none */
    if (fstat(dfd, &st) == 0 && st.st_nlink == 2)
        return 0;
    struct walk w = {out, depth + 1};
    return for_each_child(dfd, collect_child, &w);
}

static int collect_child(int child, const char *name, int parent, void *arg)
{
    (void)name, (void)parent;
    struct walk *w = arg;
    return collect_tree(child, w->pids, w->depth);
}

/* Remove the (empty) descendants of dfd, deepest first. */
static int rmdir_child(int child, const char *name, int parent, void *arg)
{
    int r = for_each_child(child, rmdir_child, arg);
    if (r == 0 && unlinkat(parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
        r = -errno;
    return r;
}

/* rmdir path and whatever cgroups a container nested below it: 0, or -errno. */
static int rmdir_cgroup(const char *path)
{
    if (rmdir(path) == 0 || errno == ENOENT)
        return 0;
    if (errno != EBUSY)
        return -errno;
    int dfd = open_dir(path);
    if (dfd == -ENOENT)
        return 0;
    if (dfd < 0)
        return dfd;
    int r = for_each_child(dfd, rmdir_child, NULL);
    close(dfd);
    if (r < 0)
        return r;
    return rmdir(path) == 0 || errno == ENOENT ? 0 : -errno;
}

/* SIGKILL every pid of the cgroup at dfd and below; *found = how many. */
static int kill_tree(int dfd, size_t *found)
{
    cg_cleanup_pids struct pidlist pl = {0};
    int r = collect_tree(dfd, &pl, 0);
    if (r < 0)
        return r;
    for (size_t i = 0; i < pl.n; i++)
        kill(pl.v[i], SIGKILL); /* ESRCH: already gone */
    *found = pl.n;
    return 0;
}

/* Without cgroup.kill or a freezer: kill until a pass finds nobody (a pass
 * catches what was forked during the previous one). Bounded; whatever is still
 * dying when the bound is hit is waited for by destroy. */
static int kill_loop(int dfd, const char *path, struct containerv_error *err)
{
    for (int pass = 0; pass < CG_KILL_PASSES; pass++) {
        size_t found = 0;
        int r = kill_tree(dfd, &found);
        if (r < 0)
            return cv_error(err, r, "cgroup.kill", "reading %s/cgroup.procs", path);
        if (found == 0)
            break;
        sched_yield();
    }
    return 0;
}

static int ms_left(uint64_t deadline_ns)
{
    uint64_t now = cv_now_ns();
    return now >= deadline_ns ? 0 : (int)((deadline_ns - now + 999999) / 1000000);
}

static int mkdir_parent(const char *path, struct containerv_error *err)
{
    if (mkdir(path, 0755) < 0 && errno != EEXIST) /* EEXIST: made by us or a peer */
        return cv_error(err, errno, "cgroup.create", "creating %s", path);
    return 0;
}

static int mkdir_leaf(const char *path, struct containerv_error *err)
{
    if (mkdir(path, 0755) == 0)
        return 0;
    if (errno == EEXIST)
        return cv_error(err, EEXIST, "cgroup.create", "cgroup '%s' already exists", path);
    return cv_error(err, errno, "cgroup.create", "creating %s", path);
}

/* ----------------------------------------------------------- 3. limits */

struct cg_write {
    int ctrl; /* v1 hierarchy; unused on v2 */
    const char *step;
    const char *file;
    char value[48];
};

#define CG_MAX_WRITES 8
struct cg_plan {
    struct cg_write w[CG_MAX_WRITES];
    int n;
};

__attribute__((format(printf, 5, 6))) static void plan_add(struct cg_plan *p, int ctrl, const char *step,
                                                           const char *file, const char *fmt, ...)
{
    struct cg_write *w = &p->w[p->n++];
    w->ctrl = ctrl;
    w->step = step;
    w->file = file;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->value, sizeof(w->value), fmt, ap);
    va_end(ap);
}

/* Fill *eff with the limits to write: memory_swap alone means "memory and
 * swap together at most memory_swap", which both v1 and v2 can express only as
 * memory = memory_swap with no swap on top; a quota without a period gets the
 * kernel's default period. */
static int check_limits(const struct cv_limits *l, struct cv_limits *eff, struct containerv_error *err)
{
    static const struct cv_limits none;
    *eff = l ? *l : none;
    if (eff->memory && eff->memory_swap && eff->memory_swap < eff->memory)
        return cv_error_plain(err, EINVAL, "cgroup.memory",
                              "memory+swap limit %" PRIu64 " is below the memory limit %" PRIu64,
                              eff->memory_swap, eff->memory);
    if (eff->memory_swap && !eff->memory)
        eff->memory = eff->memory_swap;
    if (eff->cpu_weight > 10000)
        return cv_error_plain(err, EINVAL, "cgroup.cpu", "cpu weight %" PRIu64 " is not in 1..10000",
                              eff->cpu_weight);
    if (eff->cpu_quota_us && !eff->cpu_period_us)
        eff->cpu_period_us = CG_DEFAULT_PERIOD;
    return 0;
}

static void plan_v2(const struct cv_limits *l, struct cg_plan *p)
{
    if (l->memory)
        plan_add(p, -1, "cgroup.memory", "memory.max", "%" PRIu64, l->memory);
    if (l->memory_swap)
        plan_add(p, -1, "cgroup.memory", "memory.swap.max", "%" PRIu64, l->memory_swap - l->memory);
    if (l->pids)
        plan_add(p, -1, "cgroup.pids", "pids.max", "%" PRIu64, l->pids);
    if (l->cpu_weight)
        plan_add(p, -1, "cgroup.cpu", "cpu.weight", "%" PRIu64, l->cpu_weight);
    if (l->cpu_quota_us)
        plan_add(p, -1, "cgroup.cpu", "cpu.max", "%" PRIu64 " %" PRIu64, l->cpu_quota_us, l->cpu_period_us);
    else if (l->cpu_period_us)
        plan_add(p, -1, "cgroup.cpu", "cpu.max", "max %" PRIu64, l->cpu_period_us);
}

/* weight 1..10000 to shares 2..262144, the formula crun and runc use */
static uint64_t weight_to_shares(uint64_t weight)
{
    return 2 + ((weight - 1) * 262142) / 9999;
}

static void plan_v1(const struct cv_limits *l, struct cg_plan *p)
{
    /* memory before memsw: the kernel wants memsw >= memory at every moment */
    if (l->memory)
        plan_add(p, CV_V1_MEMORY, "cgroup.memory", "memory.limit_in_bytes", "%" PRIu64, l->memory);
    if (l->memory_swap)
        plan_add(p, CV_V1_MEMORY, "cgroup.memory", "memory.memsw.limit_in_bytes", "%" PRIu64,
                 l->memory_swap);
    if (l->pids)
        plan_add(p, CV_V1_PIDS, "cgroup.pids", "pids.max", "%" PRIu64, l->pids);
    if (l->cpu_weight)
        plan_add(p, CV_V1_CPU, "cgroup.cpu", "cpu.shares", "%" PRIu64, weight_to_shares(l->cpu_weight));
    if (l->cpu_period_us)
        plan_add(p, CV_V1_CPU, "cgroup.cpu", "cpu.cfs_period_us", "%" PRIu64, l->cpu_period_us);
    if (l->cpu_quota_us)
        plan_add(p, CV_V1_CPU, "cgroup.cpu", "cpu.cfs_quota_us", "%" PRIu64, l->cpu_quota_us);
}

static int apply_write_v1(const struct cv_cgroup *cg, const struct cg_write *w, struct containerv_error *err)
{
    char path[PATH_MAX];
    if (!(cg->v1_created & CG_BIT(w->ctrl)))
        return cv_error_plain(err, ENOTSUP, w->step, "the %s controller is not mounted, cannot set %s '%s'",
                              v1_names[w->ctrl], w->file, w->value);
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

static int apply_plan(const struct cv_cgroup *cg, const struct cg_plan *p, struct containerv_error *err)
{
    for (int i = 0; i < p->n; i++) {
        const struct cg_write *w = &p->w[i];
        int r;
        if (cg->mode == CV_CGROUP_V1) {
            r = apply_write_v1(cg, w, err);
        } else {
            r = cv_write_file_at(cg->v2_fd, w->file, w->value, strlen(w->value));
            if (r < 0)
                r = cv_error(err, r, w->step, "writing %s '%s'", w->file, w->value);
        }
        if (r < 0)
            return r;
    }
    return 0;
}

/* ----------------------------------------------------------- 4. create */

static bool has_word(const char *list, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = list; (p = strstr(p, word)); p += n) {
        if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\n' || p[n] == '\0'))
            return true;
    }
    return false;
}

/* Enable memory, pids and cpu (those available) for dir's children. */
static int v2_enable_controllers(const char *dir, struct containerv_error *err)
{
    static const char *const wanted[] = {"memory", "pids", "cpu"};
    char path[PATH_MAX], avail[512], enabled[512], req[64] = "";
    snprintf(path, sizeof(path), "%s/cgroup.controllers", dir);
    int r = cv_read_file_at(AT_FDCWD, path, avail, sizeof(avail));
    if (r < 0)
        return cv_error(err, r, "cgroup.create", "reading %s", path);
    snprintf(path, sizeof(path), "%s/cgroup.subtree_control", dir);
    r = cv_read_file_at(AT_FDCWD, path, enabled, sizeof(enabled));
    if (r < 0)
        return cv_error(err, r, "cgroup.create", "reading %s", path);
    for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++) {
        if (has_word(avail, wanted[i]) && !has_word(enabled, wanted[i]))
            snprintf(req + strlen(req), sizeof(req) - strlen(req), "%s+%s", req[0] ? " " : "", wanted[i]);
    }
    if (!req[0])
        return 0;
    r = cv_write_file_at(AT_FDCWD, path, req, strlen(req));
    return r < 0 ? cv_error(err, r, "cgroup.create", "writing %s '%s'", path, req) : 0;
}

static int v2_create(struct cv_cgroup *cg, struct containerv_error *err)
{
    char parent[PATH_MAX], leaf[PATH_MAX];
    cg_path(parent, sizeof(parent), -1, NULL);
    int r = cg_path(leaf, sizeof(leaf), -1, cg->id);
    if (r < 0)
        return cv_error(err, r, "cgroup.create", "cgroup path for '%s'", cg->id);
    if ((r = v2_enable_controllers(CG_BASE, err)) < 0 || (r = mkdir_parent(parent, err)) < 0 ||
        (r = v2_enable_controllers(parent, err)) < 0 || (r = mkdir_leaf(leaf, err)) < 0)
        return r;
    cg->v2_fd = open_dir(leaf);
    if (cg->v2_fd < 0) {
        r = cv_error(err, cg->v2_fd, "cgroup.create", "opening %s", leaf);
        cg->v2_fd = -1;
        rmdir(leaf);
    }
    return r;
}

static int v1_create(struct cv_cgroup *cg, struct containerv_error *err)
{
    for (int c = 0; c < CV_V1_COUNT; c++) {
        char parent[PATH_MAX], leaf[PATH_MAX];
        if (!probe.v1_mnt[c][0])
            continue;
        int dfd, r = v1_at(cg, c, "", leaf, sizeof(leaf), &dfd);
        if (r < 0)
            return cv_error(err, r, "cgroup.create", "cgroup path for '%s'", cg->id);
        /* the parent exists but for the first container: try the leaf first */
        if (mkdirat(dfd, leaf, 0755) < 0) {
            int e = errno;
            cg_path(leaf, sizeof(leaf), c, cg->id);
            cg_path(parent, sizeof(parent), c, NULL);
            if (e != ENOENT)
                r = mkdir_leaf(leaf, err);
            else if ((r = mkdir_parent(parent, err)) == 0)
                r = mkdir_leaf(leaf, err);
            if (r < 0)
                return r;
        }
        cg->v1_created |= CG_BIT(c);
    }
    return 0;
}

int cv_cgroup_create(struct cv_cgroup *cg, const char *id, const struct cv_limits *limits,
                     struct containerv_error *err)
{
    cg_reset(cg);
    if (!cv_valid_id(id))
        return cv_error_plain(err, EINVAL, "cgroup.create", "invalid container id '%s'", id ? id : "");
    enum cv_cgroup_mode mode = cv_cgroup_mode();
    if (mode == CV_CGROUP_NONE)
        return cv_error_plain(err, ENOTSUP, "cgroup.create", "no usable cgroup file system under %s",
                              CG_BASE);
    struct cv_limits eff;
    struct cg_plan plan = {.n = 0};
    int r = check_limits(limits, &eff, err);
    if (r < 0)
        return r;
    (mode == CV_CGROUP_V2 ? plan_v2 : plan_v1)(&eff, &plan);
    cg->mode = mode;
    snprintf(cg->id, sizeof(cg->id), "%s", id);
    r = mode == CV_CGROUP_V2 ? v2_create(cg, err) : v1_create(cg, err);
    if (r == 0)
        r = apply_plan(cg, &plan, err);
    if (r < 0) {
        struct containerv_error scratch; /* keep the first error */
        cv_cgroup_destroy(cg, &scratch); /* nothing ran in it: just rmdir + close */
        cg_reset(cg);
    }
    return r;
}

/* ----------------------------------------------------------- attach */

int cv_cgroup_attach(struct cv_cgroup *cg, pid_t pid, struct containerv_error *err)
{
    char val[16], path[PATH_MAX];
    if (pid <= 0)
        return cv_error_plain(err, EINVAL, "cgroup.attach", "invalid pid %d", (int)pid);
    snprintf(val, sizeof(val), "%d", (int)pid);
    if (cg->mode == CV_CGROUP_V2 && cg->v2_fd >= 0) {
        int r = cv_write_file_at(cg->v2_fd, "cgroup.procs", val, strlen(val));
        if (r < 0)
            return cv_error(err, r, "cgroup.attach", "writing %s/" CG_PARENT "/%s/cgroup.procs '%s'", CG_BASE,
                            cg->id, val);
        return 0;
    }
    if (cg->mode != CV_CGROUP_V1 || !cg->v1_created)
        return cv_error_plain(err, ENOENT, "cgroup.attach", "no cgroup for container '%s'", cg->id);
    for (int c = 0; c < CV_V1_COUNT; c++) {
        if (!(cg->v1_created & CG_BIT(c)))
            continue;
        int r = cg_leaf(path, sizeof(path), cg, c);
        if (r == 0 && (size_t)snprintf(path + strlen(path), sizeof(path) - strlen(path), "/cgroup.procs") >=
                          sizeof(path) - strlen(path))
            r = -ENAMETOOLONG;
        if (r == 0)
            r = cv_write_file_at(AT_FDCWD, path, val, strlen(val));
        if (r < 0)
            return cv_error(err, r, "cgroup.attach", "writing %s '%s'", path, val);
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

/* ------------------------------------------------------------- kill */

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
    cv_cleanup_fd int dfd = open_dir(path);
    if (dfd == -ENOENT)
        return 0;
    if (dfd < 0)
        return cv_error(err, dfd, "cgroup.kill", "opening %s", path);
    int r = cv_write_file_at(dfd, "freezer.state", "FROZEN", 6);
    if (r < 0)
        return cv_error(err, r, "cgroup.kill", "writing %s/freezer.state 'FROZEN'", path);
    bool frozen = v1_wait_frozen(dfd);
    size_t found = 0;
    int k = kill_tree(dfd, &found);
    int t = cv_write_file_at(dfd, "freezer.state", "THAWED", 6); /* always */
    if (k < 0)
        return cv_error(err, k, "cgroup.kill", "reading %s/cgroup.procs", path);
    if (t < 0)
        return cv_error(err, t, "cgroup.kill", "writing %s/freezer.state 'THAWED'", path);
    return frozen ? 0 : kill_loop(dfd, path, err);
}

static int v1_kill(struct cv_cgroup *cg, struct containerv_error *err)
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
    cv_cleanup_fd int dfd = open_dir(path);
    if (dfd == -ENOENT)
        return 0;
    return dfd < 0 ? cv_error(err, dfd, "cgroup.kill", "opening %s", path) : kill_loop(dfd, path, err);
}

static int v2_kill(struct cv_cgroup *cg, struct containerv_error *err)
{
    char path[PATH_MAX];
    cg_leaf(path, sizeof(path), cg, -1);
    int r = cv_write_file_at(cg->v2_fd, "cgroup.kill", "1", 1);
    if (r == -ENOENT) /* kernel < 5.14 */
        return kill_loop(cg->v2_fd, path, err);
    return r < 0 ? cv_error(err, r, "cgroup.kill", "writing %s/cgroup.kill '1'", path) : 0;
}

int cv_cgroup_kill(struct cv_cgroup *cg, struct containerv_error *err)
{
    if (cg->mode == CV_CGROUP_V2 && cg->v2_fd >= 0)
        return v2_kill(cg, err);
    if (cg->mode == CV_CGROUP_V1 && cg->v1_created)
        return v1_kill(cg, err);
    return cv_error_plain(err, ENOENT, "cgroup.kill", "no cgroup for container '%s'", cg->id);
}

/* ---------------------------------------------------------- destroy */

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
        int left = ms_left(deadline);
        if (left == 0)
            return cv_error(err, EBUSY, "cgroup.destroy", "%s still populated after %d ms", path,
                            CG_DRAIN_TIMEOUT_MS);
        struct pollfd pfd = {.fd = ev, .events = POLLPRI};
        if (poll(&pfd, 1, left) < 0 && errno != EINTR)
            return cv_error(err, errno, "cgroup.destroy", "waiting on %s/cgroup.events", path);
    }
}

static int v2_destroy(struct cv_cgroup *cg, struct containerv_error *err)
{
    char path[PATH_MAX];
    cg_leaf(path, sizeof(path), cg, -1);
    for (int i = 0;; i++) {
        int r = v2_drain(cg, path, err);
        if (r < 0)
            return r;
        r = rmdir_cgroup(path);
        if (r == 0)
            break;
        if (r != -EBUSY || i == CG_RMDIR_RETRIES)
            return cv_error(err, r, "cgroup.destroy", "removing %s", path);
        sched_yield();
    }
    close(cg->v2_fd);
    cg->v2_fd = -1;
    return 0;
}

/* Sorted, unique pids of the hierarchies in mask (and their subtrees). */
static int v1_collect(const struct cv_cgroup *cg, unsigned mask, struct pidlist *out, char *path, size_t size)
{
    for (int c = 0; c < CV_V1_COUNT; c++) {
        if (!(cg->v1_created & mask & CG_BIT(c)))
            continue;
        int r = cg_leaf(path, size, cg, c);
        int dfd = r < 0 ? r : open_dir(path);
        if (dfd == -ENOENT)
            continue;
        if (dfd < 0)
            return dfd;
        r = collect_tree(dfd, out, 0);
        close(dfd);
        if (r < 0)
            return r;
    }
    pidlist_sort_unique(out);
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
        int left = ms_left(deadline);
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
    cv_cleanup_fd int dfd = open_dir(path);
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
        if (round > 1 && ms_left(deadline) == 0) /* newcomers keep coming */
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
            r = rmdir_cgroup(path);
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

static int v1_destroy(struct cv_cgroup *cg, struct containerv_error *err)
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

int cv_cgroup_destroy(struct cv_cgroup *cg, struct containerv_error *err)
{
    if (cg->mode == CV_CGROUP_V2 && cg->v2_fd >= 0)
        return v2_destroy(cg, err);
    if (cg->mode == CV_CGROUP_V1 && cg->v1_created)
        return v1_destroy(cg, err);
    return 0; /* nothing (left) to do */
}

/* ------------------------------------------------------- open / close */

int cv_cgroup_open(struct cv_cgroup *cg, const char *id, struct containerv_error *err)
{
    char path[PATH_MAX];
    cg_reset(cg);
    if (!cv_valid_id(id))
        return cv_error_plain(err, EINVAL, "cgroup.open", "invalid container id '%s'", id ? id : "");
    cg->mode = cv_cgroup_mode();
    snprintf(cg->id, sizeof(cg->id), "%s", id);
    if (cg->mode == CV_CGROUP_V2) {
        cg_leaf(path, sizeof(path), cg, -1);
        int fd = open_dir(path);
        if (fd < 0 && fd != -ENOENT)
            return cv_error(err, fd, "cgroup.open", "opening %s", path);
        cg->v2_fd = fd < 0 ? -1 : fd;
        return 0;
    }
    for (int c = 0; cg->mode == CV_CGROUP_V1 && c < CV_V1_COUNT; c++) {
        struct stat st;
        if (!probe.v1_mnt[c][0])
            continue;
        cg_leaf(path, sizeof(path), cg, c);
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
            cg->v1_created |= CG_BIT(c);
        else if (errno != ENOENT)
            return cv_error(err, errno, "cgroup.open", "checking %s", path);
    }
    return 0;
}

void cv_cgroup_close(struct cv_cgroup *cg)
{
    if (cg->mode == CV_CGROUP_V2 && cg->v2_fd >= 0)
        close(cg->v2_fd);
    cg->v2_fd = -1;
    cg->v1_created = 0;
}

int cv_cgroup_count_procs(struct cv_cgroup *cg)
{
    static const int order[] = {CV_V1_PIDS, CV_V1_FREEZER, CV_V1_MEMORY, CV_V1_CPU};
    cg_cleanup_pids struct pidlist pl = {0};
    int r = -ENOENT;
    if (cg->mode == CV_CGROUP_V2 && cg->v2_fd >= 0)
        r = read_procs_at(cg->v2_fd, &pl);
    for (int i = 0; cg->mode == CV_CGROUP_V1 && i < CV_V1_COUNT; i++) {
        char path[PATH_MAX];
        if (!(cg->v1_created & CG_BIT(order[i])))
            continue;
        r = cg_leaf(path, sizeof(path), cg, order[i]);
        int dfd = r < 0 ? r : open_dir(path);
        if (dfd < 0)
            return dfd;
        r = read_procs_at(dfd, &pl);
        close(dfd);
        break;
    }
    return r < 0 ? r : (int)pl.n;
}
