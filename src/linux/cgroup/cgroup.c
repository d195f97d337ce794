/* cgroups v1 and v2 behind one interface; see cgroup.h.
 *
 * The layer's files:
 *   cgroup.c  the mode probe (once per process: statfs + /proc/self/mountinfo),
 *             small helpers (paths, pid lists, walking a cgroup's subtree),
 *             limits (validated once, turned into a list of (file, value)
 *             writes, a "plan", applied in order by one function) and the
 *             public entry points, which dispatch to
 *   v1.c      legacy and hybrid hosts (one directory per hierarchy, freezer)
 *   v2.c      unified hosts (one directory, cgroup.kill, cgroup.events)
 *   cg.h      what the three share; nothing outside this folder includes it
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
#include "cg.h"

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

/* ------------------------------------------------------------ 1. probe */

/* The only process-wide state: written once under pthread_once, then read-only. */
struct cg_probe cg_probe = {.once = PTHREAD_ONCE_INIT};

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
            if (strcmp(opt, cg_v1_names[c]) == 0 && !mnts[c][0])
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
        cv_cgroup_parse_mountinfo_line(line, cg_probe.v1_mnt);
    free(line);
    fclose(f);
}

static void probe_once(void)
{
    struct statfs sfs;
    if (statfs(CG_BASE, &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC) {
        cg_probe.mode = CV_CGROUP_V2;
        return;
    }
    /* legacy or hybrid (a cgroup2 at /sys/fs/cgroup/unified is ignored) */
    probe_v1_mounts();
    cg_probe.mode = CV_CGROUP_NONE;
    for (int c = 0; c < CV_V1_COUNT; c++) {
        cg_probe.v1_alias[c] = -1;
        for (int d = 0; d < c && cg_probe.v1_mnt[c][0]; d++) {
            if (cg_probe.v1_alias[d] < 0 && !strcmp(cg_probe.v1_mnt[c], cg_probe.v1_mnt[d])) {
                cg_probe.v1_alias[c] = d; /* one hierarchy, one directory: made once */
                cg_probe.v1_mnt[c][0] = '\0';
            }
        }
        if (cg_probe.v1_mnt[c][0])
            cg_probe.mode = CV_CGROUP_V1;
    }
}

enum cv_cgroup_mode cv_cgroup_mode(void)
{
    pthread_once(&cg_probe.once, probe_once);
    return cg_probe.mode;
}

/* ---------------------------------------------------------- 2. helpers */

static void cg_reset(struct cv_cgroup *cg)
{
    cg->mode = CV_CGROUP_NONE;
    cg->id[0] = '\0';
    cg->path[0] = '\0';
    cg->v2_fd = -1;
    cg->v1_created = 0;
    cg->v2_attached = false;
    cg->cpuset = false;
    cg->devices = false;
    memset(cg->made, 0, sizeof(cg->made));
}

/* ctrl < 0: the v2 path. id NULL: the "containerv" parent. */
int cg_path(char *buf, size_t size, int ctrl, const char *id)
{
    const char *root = ctrl < 0 ? CG_BASE : cg_probe.v1_mnt[ctrl];
    int n = id ? snprintf(buf, size, "%s/" CG_PARENT "/%s", root, id)
               : snprintf(buf, size, "%s/" CG_PARENT, root);
    return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* The hierarchy's root for ctrl and the container's path below it
 * ("containerv/<id>", "<abs path without its first '/'>" or
 * "containerv/<rel path>"). */
static int cg_rel(char *buf, size_t size, const struct cv_cgroup *cg)
{
    int n = !cg->path[0]        ? snprintf(buf, size, CG_PARENT "/%s", cg->id)
            : cg->path[0] == '/' ? snprintf(buf, size, "%s", cg->path + 1)
                                 : snprintf(buf, size, CG_PARENT "/%s", cg->path);
    return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int cg_leaf(char *buf, size_t size, const struct cv_cgroup *cg, int ctrl)
{
    if (!cg->path[0])
        return cg_path(buf, size, cg->mode == CV_CGROUP_V2 ? -1 : ctrl, cg->id);
    char rel[CV_CGROUP_PATH_MAX + sizeof(CG_PARENT)];
    const char *root = cg->mode == CV_CGROUP_V2 || ctrl < 0 ? CG_BASE : cg_probe.v1_mnt[ctrl];
    int r = cg_rel(rel, sizeof(rel), cg);
    int n = r < 0 ? -1 : snprintf(buf, size, "%s/%s", root, rel);
    return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

const char *cv_cgroup_path_invalid(const char *path)
{
    if (!path || !*path)
        return "it is empty";
    if (strlen(path) >= CV_CGROUP_PATH_MAX)
        return "it is too long";
    bool any = false;
    for (const char *p = path; *p;) {
        while (*p == '/')
            p++;
        const char *e = strchrnul(p, '/');
        size_t n = (size_t)(e - p);
        if (!n)
            break;
        /* /containerv/...: the default containers' tree, where a path would
         * share names with container ids (a relative path goes below it) */
        if (!any && path[0] == '/' && n == strlen(CG_PARENT) && !strncmp(p, CG_PARENT, n))
            return "it is inside containerv's own tree (/" CG_PARENT "); give it relative to that";
        any = true;
        if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
            return "it has a '.' or '..' component";
        for (const char *q = p; q < e; q++)
            if ((unsigned char)*q < 0x20 || *q == 0x7f)
                return "it has a control character";
        p = e;
    }
    return any ? NULL : "it is the root cgroup";
}

/* path with its '/' runs made one, no trailing '/' (cv_cgroup_path_invalid
 * has passed): what cg->path holds */
static void normalise_path(char *dst, size_t size, const char *src)
{
    size_t o = 0;
    for (const char *p = src; *p && o + 1 < size; p++) {
        if (*p == '/' && o > 0 && dst[o - 1] == '/')
            continue;
        dst[o++] = *p;
    }
    if (o > 1 && dst[o - 1] == '/')
        o--;
    dst[o] = '\0';
}

int cg_set_path(struct cv_cgroup *cg, const char *path, const char *step, struct containerv_error *err)
{
    if (!path || !*path)
        return 0;
    const char *why = cv_cgroup_path_invalid(path);
    if (why)
        return cv_error_plain(err, EINVAL, step, "invalid cgroup path '%s': %s", path, why);
    normalise_path(cg->path, sizeof(cg->path), path);
    return 0;
}

int cg_open_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    return fd < 0 ? -errno : fd;
}

void cg_pidlist_free(struct pidlist *l)
{
    free(l->v);
    l->v = NULL;
    l->n = l->cap = 0;
}

int cg_pidlist_add(struct pidlist *l, pid_t pid)
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

void cg_pidlist_sort_unique(struct pidlist *l)
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
                int r = cg_pidlist_add(out, (pid_t)cur);
                if (r < 0)
                    return r;
                cur = -1;
            }
        }
    }
    return cur >= 0 ? cg_pidlist_add(out, (pid_t)cur) : 0;
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
int cg_collect_tree(int dfd, struct pidlist *out, int depth)
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
    return cg_collect_tree(child, w->pids, w->depth);
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
int cg_rmdir(const char *path)
{
    if (rmdir(path) == 0 || errno == ENOENT)
        return 0;
    if (errno != EBUSY)
        return -errno;
    int dfd = cg_open_dir(path);
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
int cg_kill_tree(int dfd, size_t *found)
{
    cg_cleanup_pids struct pidlist pl = {0};
    int r = cg_collect_tree(dfd, &pl, 0);
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
int cg_kill_loop(int dfd, const char *path, struct containerv_error *err)
{
    for (int pass = 0; pass < CG_KILL_PASSES; pass++) {
        size_t found = 0;
        int r = cg_kill_tree(dfd, &found);
        if (r < 0)
            return cv_error(err, r, "cgroup.kill", "reading %s/cgroup.procs", path);
        if (found == 0)
            break;
        sched_yield();
    }
    return 0;
}

int cg_ms_left(uint64_t deadline_ns)
{
    uint64_t now = cv_now_ns();
    return now >= deadline_ns ? 0 : (int)((deadline_ns - now + 999999) / 1000000);
}

int cg_mkdir_parent(const char *path, struct containerv_error *err)
{
    if (mkdir(path, 0755) < 0 && errno != EEXIST) /* EEXIST: made by us or a peer */
        return cv_error(err, errno, "cgroup.create", "creating %s", path);
    return 0;
}

int cg_mkdir_parents(const char *leaf, size_t root_len, int (*each)(const char *dir, struct containerv_error *err),
                     uint8_t *made, struct containerv_error *err)
{
    if (made)
        *made = 0;
    char dir[PATH_MAX];
    size_t len = strlen(leaf);
    if (len >= sizeof(dir) || root_len >= len)
        return cv_error_plain(err, ENAMETOOLONG, "cgroup.create", "cgroup path '%s'", leaf);
    memcpy(dir, leaf, len + 1);
    for (size_t i = root_len;; i++) {
        if (dir[i] != '/' && dir[i] != '\0')
            continue;
        char c = dir[i];
        dir[i] = '\0';
        int r = 0;
        if (i > root_len && mkdir(dir, 0755) == 0) {
            if (made && c == '/' && *made < UINT8_MAX)
                (*made)++; /* made ones are the deepest: below one made, none existed */
        } else if (i > root_len && errno != EEXIST) {
            r = cv_error(err, errno, "cgroup.create", "creating %s", dir);
        }
        if (r == 0 && c == '/' && each)
            r = each(dir, err); /* dir is a parent: let its children have the controllers */
        dir[i] = c;
        if (r < 0)
            return r;
        if (c == '/' && !strchr(dir + i + 1, '/'))
            return 0; /* what is left is the leaf */
    }
}

/* the parents a cgroup path itself names (relative: those below containerv/,
 * which stays): its components but the leaf */
static int path_parents(const struct cv_cgroup *cg)
{
    int n = 0;
    for (const char *p = cg->path; *p; p++)
        if (*p != '/' && (p == cg->path || p[-1] == '/'))
            n++;
    return n > 0 ? n - 1 : 0;
}

int cg_mkdir_path(struct cv_cgroup *cg, const char *leaf, size_t root_len,
                  int (*each)(const char *dir, struct containerv_error *err), int ctrl, struct containerv_error *err)
{
    int r = cg_check_ancestors(leaf, root_len, err);
    /* a peer's destroy may take away a parent it made between our mkdirs:
     * the leaf's mkdir then says ENOENT, and the parents are made again */
    for (int tries = 0; r == 0; tries++) {
        uint8_t made = 0;
        r = cg_mkdir_parents(leaf, root_len, each, &made, err);
        int cap = path_parents(cg);
        uint8_t n = made < cap ? made : (uint8_t)cap;
        if (n > cg->made[ctrl])
            cg->made[ctrl] = n;
        if (r == 0)
            r = cg_mkdir_leaf(leaf, err);
        if (r != -ENOENT || tries == 2)
            break;
        r = 0;
    }
    return r;
}

void cg_rmdir_made(struct cv_cgroup *cg, const char *leaf, int ctrl)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", leaf);
    for (; cg->made[ctrl] > 0; cg->made[ctrl]--) {
        char *slash = strrchr(dir, '/');
        if (!slash || slash == dir)
            break;
        *slash = '\0';
        if (rmdir(dir) < 0) /* in use (a peer's cgroup below it) or gone: someone else's now */
            break;
    }
    cg->made[ctrl] = 0;
}

void cv_cgroup_made_text(const struct cv_cgroup *cg, char *buf, size_t size)
{
    size_t o = 0;
    buf[0] = '\0';
    for (int c = 0; c < CV_V1_COUNT && o < size; c++)
        o += (size_t)snprintf(buf + o, size - o, "%s%u", c ? "," : "", (unsigned)cg->made[c]);
}

int cv_cgroup_made_parse(struct cv_cgroup *cg, const char *text)
{
    uint8_t v[CV_V1_COUNT] = {0};
    const char *p = text;
    for (int c = 0; c < CV_V1_COUNT && *p; c++) {
        char *end;
        unsigned long n = strtoul(p, &end, 10);
        if (end == p || n > CG_MAX_DEPTH || (*end && *end != ','))
            return -EBADMSG;
        v[c] = (uint8_t)n;
        p = *end ? end + 1 : end;
    }
    if (*p)
        return -EBADMSG;
    int cap = path_parents(cg);
    for (int c = 0; c < CV_V1_COUNT; c++) /* never more than the path's own parents */
        cg->made[c] = v[c] < cap ? v[c] : (uint8_t)cap;
    return 0;
}

int cg_check_ancestors(const char *leaf, size_t root_len, struct containerv_error *err)
{
    char dir[PATH_MAX];
    size_t len = strlen(leaf);
    if (len >= sizeof(dir) || root_len >= len)
        return cv_error_plain(err, ENAMETOOLONG, "cgroup.create", "cgroup path '%s'", leaf);
    memcpy(dir, leaf, len + 1);
    for (size_t i = root_len + 1; i < len; i++) {
        if (dir[i] != '/')
            continue;
        dir[i] = '\0';
        char procs[PATH_MAX + 16], one[16];
        snprintf(procs, sizeof(procs), "%s/cgroup.procs", dir);
        int r = cv_read_file_at(AT_FDCWD, procs, one, sizeof(one));
        dir[i] = '/';
        if (r > 0) {
            dir[i] = '\0';
            return cv_error_plain(err, EBUSY, "cgroup.create",
                                  "cgroup '%s' would be inside '%s', which has processes of its own (another "
                                  "container's cgroup?)", leaf, dir);
        }
    }
    return 0;
}

int cg_mkdir_leaf(const char *path, struct containerv_error *err)
{
    if (mkdir(path, 0755) == 0)
        return 0;
    if (errno == EEXIST)
        return cv_error(err, EEXIST, "cgroup.create", "cgroup '%s' already exists", path);
    return cv_error(err, errno, "cgroup.create", "creating %s", path);
}

/* ----------------------------------------------------------- 3. limits */

const char *cg_num(uint64_t v, const char *unlimited, char buf[24])
{
    if (v == CONTAINERV_UNLIMITED)
        return unlimited;
    snprintf(buf, 24, "%" PRIu64, v);
    return buf;
}

__attribute__((format(printf, 5, 6))) void cg_plan_add(struct cg_plan *p, int ctrl, const char *step,
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

#define FINITE(v) ((v) != 0 && (v) != CONTAINERV_UNLIMITED)

/* Fill *eff with the limits to write. For a new cgroup (!update), where no
 * limit is the default: CONTAINERV_UNLIMITED is the same as unset; a
 * memory_swap alone means "memory and swap together at most memory_swap",
 * which both v1 and v2 can express only as memory = memory_swap with no swap
 * on top; a quota without a period gets the kernel's default period. For an
 * update, what is not given stays (cv_cgroup_update fills in what in force
 * the files written need). */
static int check_limits(const struct cv_limits *l, struct cv_limits *eff, bool update, struct containerv_error *err)
{
    static const struct cv_limits none;
    *eff = l ? *l : none;
    if (!update) {
        uint64_t *lims[] = {&eff->memory, &eff->memory_swap, &eff->memory_reservation, &eff->pids, &eff->cpu_quota_us};
        for (size_t i = 0; i < sizeof(lims) / sizeof(lims[0]); i++)
            if (*lims[i] == CONTAINERV_UNLIMITED)
                *lims[i] = 0;
    }
    if (FINITE(eff->memory_swap) && eff->memory == CONTAINERV_UNLIMITED)
        return cv_error_plain(err, EINVAL, "cgroup.memory",
                              "memory+swap limit %" PRIu64 " needs a memory limit at most that, not none",
                              eff->memory_swap);
    if (FINITE(eff->memory) && FINITE(eff->memory_swap) && eff->memory_swap < eff->memory)
        return cv_error_plain(err, EINVAL, "cgroup.memory",
                              "memory+swap limit %" PRIu64 " is below the memory limit %" PRIu64,
                              eff->memory_swap, eff->memory);
    if (!update && eff->memory_swap && !eff->memory)
        eff->memory = eff->memory_swap;
    if (FINITE(eff->memory) && FINITE(eff->memory_reservation) && eff->memory_reservation > eff->memory)
        return cv_error_plain(err, EINVAL, "cgroup.memory",
                              "memory reservation %" PRIu64 " is above the memory limit %" PRIu64,
                              eff->memory_reservation, eff->memory);
    if (eff->cpu_weight > 10000)
        return cv_error_plain(err, EINVAL, "cgroup.cpu", "cpu weight %" PRIu64 " is not in 1..10000",
                              eff->cpu_weight);
    if (!update && eff->cpu_quota_us && !eff->cpu_period_us)
        eff->cpu_period_us = CG_DEFAULT_PERIOD;
    return 0;
}

/* What a host's cgroup version cannot do, refused before anything is written */
static int check_mode(enum cv_cgroup_mode mode, const struct cv_limits *eff, struct containerv_error *err)
{
    if (mode == CV_CGROUP_V2 && eff->rt_set)
        return cv_error_plain(err, EOPNOTSUPP, "cgroup.cpu",
                              "a realtime CPU runtime cannot be set on cgroup v2 (it has no such file)");
    if (mode == CV_CGROUP_V1 && (eff->cpuset_cpus[0] || eff->cpuset_mems[0]) && !cg_probe.v1_mnt[CV_V1_CPUSET][0])
        return cv_error_plain(err, EOPNOTSUPP, "cgroup.cpuset", "a cpuset was asked but the cpuset controller is not mounted");
    if (mode == CV_CGROUP_V2 && (eff->swappiness_set || eff->oom_kill_disable))
        return cv_error_plain(err, EOPNOTSUPP, "cgroup.memory",
                              "%s cannot be set on cgroup v2 (it has no such file)",
                              eff->swappiness_set ? "memory swappiness" : "disabling the OOM killer");
    return 0;
}

static int apply_write(const struct cv_cgroup *cg, const struct cg_write *w, struct containerv_error *err)
{
    int r;
    if (cg->mode == CV_CGROUP_V1) {
        r = cg_v1_apply_write(cg, w, err);
    } else {
        r = cv_write_file_at(cg->v2_fd, w->file, w->value, strlen(w->value));
        if (r < 0)
            r = cv_error(err, r, w->step, "writing %s '%s'", w->file, w->value);
    }
    if (r == -EINVAL || r == -ERANGE) {
        /* a CPU or node this host does not have: say which it has */
        char have[256] = "";
        const char *f = !strcmp(w->file, "cpuset.cpus") ? "cpus" : !strcmp(w->file, "cpuset.mems") ? "mems" : NULL;
        char path[PATH_MAX];
        if (f && cg->mode == CV_CGROUP_V1)
            snprintf(path, sizeof(path), "%s/cpuset.%s", cg_probe.v1_mnt[CV_V1_CPUSET], f);
        else if (f)
            snprintf(path, sizeof(path), CG_BASE "/cpuset.%s.effective", f);
        if (f && cv_read_file_at(AT_FDCWD, path, have, sizeof(have)) > 0) {
            have[strcspn(have, "\n")] = '\0';
            return cv_error_plain(err, -r, w->step, "%s '%s': this host has %s %s", w->file, w->value,
                                  !strcmp(f, "cpus") ? "CPUs" : "memory nodes", have);
        }
    }
    return r < 0 ? r : 0;
}

static int apply_plan(const struct cv_cgroup *cg, const struct cg_plan *p, struct containerv_error *err)
{
    for (int i = 0; i < p->n; i++) {
        int r = apply_write(cg, &p->w[i], err);
        if (r < 0)
            return r;
    }
    return 0;
}

/* ----------------------------------------------------------- 4. create */

int cv_cgroup_create(struct cv_cgroup *cg, const char *id, const char *path, const struct cv_limits *limits,
                     struct containerv_error *err)
{
    cg_reset(cg);
    if (!cv_valid_id(id))
        return cv_error_plain(err, EINVAL, "cgroup.create", "invalid container id '%s'", id ? id : "");
    int r = cg_set_path(cg, path, "cgroup.create", err);
    if (r < 0)
        return r;
    enum cv_cgroup_mode mode = cv_cgroup_mode();
    if (mode == CV_CGROUP_NONE)
        return cv_error_plain(err, ENOTSUP, "cgroup.create", "no usable cgroup file system under %s",
                              CG_BASE);
    struct cv_limits eff;
    struct cg_plan plan = {.n = 0};
    if ((r = check_limits(limits, &eff, false, err)) < 0 || (r = check_mode(mode, &eff, err)) < 0)
        return r;
    (mode == CV_CGROUP_V2 ? cg_v2_plan : cg_v1_plan)(&eff, &plan);
    cg->mode = mode;
    cg->cpuset = eff.cpuset_cpus[0] || eff.cpuset_mems[0];
    cg->devices = eff.n_dev_rules > 0;
    if (mode == CV_CGROUP_V1 && cg->devices && !cg_probe.v1_mnt[CV_V1_DEVICES][0])
        return cv_error_plain(err, EOPNOTSUPP, "cgroup.devices", "device rules were given but the devices controller is not mounted");
    snprintf(cg->id, sizeof(cg->id), "%s", id);
    r = mode == CV_CGROUP_V2 ? cg_v2_create(cg, err) : cg_v1_create(cg, err);
    if (r == 0)
        r = apply_plan(cg, &plan, err);
    if (r == 0)
        r = cg_devices_apply(cg, &eff, err);
    if (r < 0) {
        struct containerv_error scratch; /* keep the first error */
        cv_cgroup_destroy(cg, &scratch); /* nothing ran in it: just rmdir + close */
        cg_reset(cg);
    }
    return r;
}

/* ----------------------------------------------------------- update */

/* The first word of a file of the container's cgroup (ctrl's hierarchy on
 * v1) as a number: "max" (v2) and v1's page-counter maximum (2^63 - a page)
 * are CONTAINERV_UNLIMITED. */
static int read_limit(const struct cv_cgroup *cg, enum cv_cgroup_v1_ctrl ctrl, const char *file, uint64_t *v,
                      struct containerv_error *err)
{
    char buf[64];
    int dfd = cv_cgroup_open_dir(cg, ctrl);
    int r = dfd < 0 ? dfd : cv_read_file_at(dfd, file, buf, sizeof(buf));
    if (dfd >= 0)
        close(dfd);
    if (r < 0)
        return cv_error(err, r, "cgroup.update", "reading %s of container '%s'", file, cg->id);
    buf[strcspn(buf, " \n")] = '\0';
    char *end;
    errno = 0;
    unsigned long long n = strtoull(buf, &end, 10);
    if (!strcmp(buf, "max") || (!errno && n >= (1ull << 62)))
        *v = CONTAINERV_UNLIMITED;
    else if (errno || end == buf || *end || n == 0)
        return cv_error_plain(err, EIO, "cgroup.update", "%s of container '%s' reads '%s'", file, cg->id, buf);
    else
        *v = n;
    return 0;
}

int cv_cgroup_update(struct cv_cgroup *cg, const struct cv_limits *limits, struct containerv_error *err)
{
    if (cg->mode == CV_CGROUP_NONE || (cg->mode == CV_CGROUP_V2 && cg->v2_fd < 0) ||
        (cg->mode == CV_CGROUP_V1 && !cg->v1_created))
        return cv_error_plain(err, ENOENT, "cgroup.update", "container '%s' has no cgroup", cg->id);
    if (limits->n_dev_rules || limits->oom_kill_disable)
        return cv_error_plain(err, EINVAL, "cgroup.update", "%s cannot be changed by an update",
                              limits->n_dev_rules ? "device rules" : "the OOM killer");
    struct cv_limits eff;
    int r;
    if ((r = check_limits(limits, &eff, true, err)) < 0 || (r = check_mode(cg->mode, &eff, err)) < 0)
        return r;
    /* a memory+swap limit alone is checked against the memory limit in
     * force (v2's memory.swap.max is swap only: it needs that limit too) */
    if (FINITE(eff.memory_swap) && !eff.memory) {
        uint64_t mem;
        if ((r = read_limit(cg, CV_V1_MEMORY, cg->mode == CV_CGROUP_V2 ? "memory.max" : "memory.limit_in_bytes", &mem,
                            err)) < 0)
            return r;
        if (mem == CONTAINERV_UNLIMITED || eff.memory_swap < mem)
            return cv_error_plain(err, EINVAL, "cgroup.memory",
                                  "memory+swap limit %" PRIu64 " is below the memory limit in force (%s)",
                                  eff.memory_swap, cg_num(mem, "none", (char[24]){0}));
        if (cg->mode == CV_CGROUP_V2)
            eff.memory = mem;
    }
    /* v2's cpu.max holds both: a period alone keeps the quota in force */
    if (cg->mode == CV_CGROUP_V2 && eff.cpu_period_us && !eff.cpu_quota_us &&
        (r = read_limit(cg, CV_V1_CPU, "cpu.max", &eff.cpu_quota_us, err)) < 0)
        return r;
    if (eff.cpuset_cpus[0] || eff.cpuset_mems[0]) {
        if (cg->mode == CV_CGROUP_V1 && !(cg->v1_created & CG_BIT(CV_V1_CPUSET)))
            return cv_error_plain(err, EOPNOTSUPP, "cgroup.cpuset",
                                  "container '%s' was made without a cpuset, and cgroup v1 cannot give it one now "
                                  "(every task would have to move)", cg->id);
        if (cg->mode == CV_CGROUP_V2 && (r = cg_v2_enable_cpuset(cg, err)) < 0)
            return r;
    }
    struct cg_plan plan = {.n = 0};
    (cg->mode == CV_CGROUP_V2 ? cg_v2_plan : cg_v1_plan)(&eff, &plan);
    bool done[CG_MAX_WRITES] = {false};
    for (int i = 0; i < plan.n; i++) {
        if (done[i])
            continue;
        r = apply_write(cg, &plan.w[i], err);
        if (r == 0)
            done[i] = true;
        /* v1 wants memsw >= memory and rt runtime <= rt period at every moment:
         * raising both memory limits, memsw goes first; lowering both rt
         * figures, the runtime does */
        const char *partner = !strcmp(plan.w[i].file, "memory.limit_in_bytes") ? "memory.memsw.limit_in_bytes"
                              : !strcmp(plan.w[i].file, "cpu.rt_period_us")    ? "cpu.rt_runtime_us"
                                                                               : NULL;
        if (r == -EINVAL && cg->mode == CV_CGROUP_V1 && partner) {
            for (int k = i + 1; k < plan.n; k++) {
                if (strcmp(plan.w[k].file, partner))
                    continue;
                if ((r = apply_write(cg, &plan.w[k], err)) == 0) {
                    done[k] = true;
                    if ((r = apply_write(cg, &plan.w[i], err)) == 0)
                        done[i] = true;
                }
                break;
            }
        }
        if (r < 0 && err) {
            /* the kernel has no transaction over several files: say which
             * were changed before the one that failed */
            size_t len = strlen(err->message);
            bool any = false;
            for (int k = 0; k < plan.n; k++) {
                if (!done[k] || len + strlen(plan.w[k].file) + 32 >= sizeof(err->message))
                    continue;
                len += (size_t)snprintf(err->message + len, sizeof(err->message) - len, "%s%s",
                                        any ? ", " : " (already written: ", plan.w[k].file);
                any = true;
            }
            if (any && len + 2 < sizeof(err->message))
                snprintf(err->message + len, sizeof(err->message) - len, ")");
        }
        if (r < 0)
            return r;
    }
    return 0;
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
        if (r < 0) {
            cg_leaf(path, sizeof(path), cg, -1);
            return cv_error(err, r, "cgroup.attach", "writing %s/cgroup.procs '%s'", path, val);
        }
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

/* ------------------------------------------------------------- kill */

int cv_cgroup_kill(struct cv_cgroup *cg, struct containerv_error *err)
{
    if (cg->mode == CV_CGROUP_V2 && cg->v2_fd >= 0)
        return cg_v2_kill(cg, err);
    if (cg->mode == CV_CGROUP_V1 && cg->v1_created)
        return cg_v1_kill(cg, err);
    return cv_error_plain(err, ENOENT, "cgroup.kill", "no cgroup for container '%s'", cg->id);
}

/* ---------------------------------------------------------- destroy */

int cv_cgroup_destroy(struct cv_cgroup *cg, struct containerv_error *err)
{
    if (cg->mode == CV_CGROUP_V2 && cg->v2_fd >= 0)
        return cg_v2_destroy(cg, err);
    if (cg->mode == CV_CGROUP_V1 && cg->v1_created)
        return cg_v1_destroy(cg, err);
    return 0; /* nothing (left) to do */
}

/* ------------------------------------------------------- open / close */

int cv_cgroup_open(struct cv_cgroup *cg, const char *id, const char *cgpath, struct containerv_error *err)
{
    char path[PATH_MAX];
    cg_reset(cg);
    if (!cv_valid_id(id))
        return cv_error_plain(err, EINVAL, "cgroup.open", "invalid container id '%s'", id ? id : "");
    int r = cg_set_path(cg, cgpath, "cgroup.open", err);
    if (r < 0)
        return r;
    cg->mode = cv_cgroup_mode();
    snprintf(cg->id, sizeof(cg->id), "%s", id);
    if (cg->mode == CV_CGROUP_V2) {
        cg_leaf(path, sizeof(path), cg, -1);
        int fd = cg_open_dir(path);
        if (fd < 0 && fd != -ENOENT)
            return cv_error(err, fd, "cgroup.open", "opening %s", path);
        cg->v2_fd = fd < 0 ? -1 : fd;
        return 0;
    }
    for (int c = 0; cg->mode == CV_CGROUP_V1 && c < CV_V1_COUNT; c++) {
        struct stat st;
        if (!cg_probe.v1_mnt[c][0])
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
    for (size_t i = 0; cg->mode == CV_CGROUP_V1 && i < sizeof(order) / sizeof(order[0]); i++) {
        char path[PATH_MAX];
        if (!(cg->v1_created & CG_BIT(order[i])))
            continue;
        r = cg_leaf(path, sizeof(path), cg, order[i]);
        int dfd = r < 0 ? r : cg_open_dir(path);
        if (dfd < 0)
            return dfd;
        r = read_procs_at(dfd, &pl);
        close(dfd);
        break;
    }
    return r < 0 ? r : (int)pl.n;
}
