/* Shared helpers of containerv's C integration tests: see cvt.h. */
#include "cvt.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

struct cvt cvt;

/* ------------------------------------------------------------ small files */

void cvt_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "we");
    if (!f)
        fail_msg("writing %s: %s", path, strerror(errno));
    fputs(text, f);
    if (fclose(f) != 0)
        fail_msg("writing %s: %s", path, strerror(errno));
}

char *cvt_read_file(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (len + 1 >= cap)
            buf = realloc(buf, cap *= 2);
        ssize_t n = read(fd, buf + len, cap - len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            free(buf);
            close(fd);
            errno = e;
            return NULL;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    buf[len] = '\0';
    return buf;
}

int cvt_count_lines(const char *path)
{
    char *s = cvt_read_file(path);
    if (!s)
        return -1;
    int n = 0;
    for (char *p = s; *p; p++)
        n += *p == '\n';
    free(s);
    return n;
}

const char *cvt_join(const char *first, ...)
{
    static char buf[1024];
    va_list ap;
    size_t len = 0;
    buf[0] = '\0';
    va_start(ap, first);
    for (const char *s = first; s; s = va_arg(ap, const char *))
        len += (size_t)snprintf(buf + len, len < sizeof(buf) ? sizeof(buf) - len : 0, "%s%s",
                                len ? " " : "", s);
    va_end(ap);
    return buf;
}

/* ------------------------------------------------------------ containers */

const char *cvt_id(void)
{
    static char ring[16][64];
    char *id = ring[cvt.seq % 16];
    snprintf(id, 64, "%s%u", cvt.prefix, cvt.seq++);
    return id;
}

struct containerv_options *cvt_options(void)
{
    struct containerv_options *o = containerv_options_new();
    assert_non_null(o);
    assert_int_equal(containerv_options_add_lower(o, cvt.helper_layer), 0);
    assert_int_equal(containerv_options_add_lower(o, cvt.rootfs), 0);
    assert_int_equal(containerv_options_set_runtime_dir(o, cvt.runtime_dir), 0);
    return o;
}

struct containerv_container *cvt_create(struct containerv_options *o)
{
    struct containerv_container *c = NULL;
    struct containerv_error err;
    containerv_error_clear(&err);
    const char *id = cvt_id();
    int r = containerv_create(id, o, &c, &err);
    if (r < 0 || !c)
        fail_msg("containerv_create(%s): %d: %s", id, r, err.message);
    assert_string_equal(containerv_id(c), id);
    return c;
}

void cvt_destroy(struct containerv_container *c)
{
    struct containerv_error err;
    containerv_error_clear(&err);
    int r = containerv_destroy(c, &err);
    if (r < 0)
        fail_msg("containerv_destroy: %d: %s", r, err.message);
}

pid_t cvt_spawn_sleeper(struct containerv_container *c, struct containerv_error *err)
{
    static const char *const argv[] = {"/bin/cvtest", "sleep", "100", NULL};
    struct containerv_spawn_options so;
    containerv_spawn_options_init(&so);
    containerv_error_clear(err);
    pid_t pid;
    return containerv_spawn(c, argv, &so, &pid, err) < 0 ? -1 : pid;
}

int cvt_run(struct containerv_container *c, const char *const argv[],
            const struct containerv_spawn_options *so_in, char *out, size_t out_size)
{
    struct containerv_spawn_options so;
    if (so_in)
        so = *so_in;
    else
        containerv_spawn_options_init(&so);
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        fail_msg("pipe2: %s", strerror(errno));
    so.stdout_fd = p[1];
    if (!so_in)
        so.stderr_fd = STDERR_FILENO;
    struct containerv_error err;
    containerv_error_clear(&err);
    pid_t pid = -1;
    int r = containerv_spawn(c, argv, &so, &pid, &err);
    close(p[1]);
    if (r < 0) {
        close(p[0]);
        fail_msg("containerv_spawn(%s): %d: %s", argv[0], r, err.message);
    }
    size_t len = 0;
    char sink[4096];
    for (;;) {
        char *dst = out && len + 1 < out_size ? out + len : sink;
        size_t room = out && len + 1 < out_size ? out_size - 1 - len : sizeof(sink);
        ssize_t n = read(p[0], dst, room);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (dst != sink)
            len += (size_t)n;
    }
    close(p[0]);
    if (out && out_size) {
        out[len] = '\0';
        while (len > 0 && out[len - 1] == '\n')
            out[--len] = '\0';
    }
    int code = -1;
    containerv_error_clear(&err);
    r = containerv_wait(c, pid, &code, &err);
    if (r < 0)
        fail_msg("containerv_wait(%s): %d: %s", argv[0], r, err.message);
    return code;
}

int cvt_cvtest(struct containerv_container *c, char *out, size_t out_size, ...)
{
    const char *argv[16] = {"/bin/cvtest"};
    size_t n = 1;
    va_list ap;
    va_start(ap, out_size);
    for (const char *a; (a = va_arg(ap, const char *)) && n < 15;)
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    return cvt_run(c, argv, NULL, out, out_size);
}

/* ------------------------------------------------------------ leak checks */

bool cvt_strict_mounts(void)
{
    const char *ci = getenv("CI"), *strict = getenv("CVT_STRICT_MOUNTS");
    if (strict && *strict)
        return strcmp(strict, "0") != 0;
    return ci && *ci && strcmp(ci, "false") != 0 && strcmp(ci, "0") != 0;
}

static bool marked(const char *line)
{
    return strstr(line, cvt.tmp) || strstr(line, cvt.prefix);
}

static int count_marked_lines(const char *text)
{
    int n = 0;
    if (!text)
        return 0;
    const char *p = text;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        char line[8192];
        snprintf(line, sizeof(line), "%.*s", (int)len, p);
        n += marked(line) ? 1 : 0;
        p += len + (nl ? 1 : 0);
    }
    return n;
}

/* Directories below dir (to depth) whose name holds the prefix. With
 * remove, rmdir them (deepest first) instead of counting survivors. */
static int walk_cgroups(const char *dir, int depth, bool remove)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_type != DT_DIR || e->d_name[0] == '.')
            continue;
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (depth > 0)
            n += walk_cgroups(path, depth - 1, remove);
        if (strstr(e->d_name, cvt.prefix)) {
            int r = remove ? rmdir(path) : -1;
            /* a killed process holds its cgroup until it is reaped: retry a little */
            for (int tries = 0; remove && r < 0 && errno == EBUSY && tries < 100; tries++) {
                usleep(20000);
                r = rmdir(path);
            }
            if (r < 0)
                n++;
        }
    }
    closedir(d);
    return n;
}

/* Processes whose cgroup names the prefix; with sig, send it to them. */
static int scan_procs(int sig)
{
    DIR *d = opendir("/proc");
    if (!d)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        char path[64];
        snprintf(path, sizeof(path), "/proc/%s/cgroup", e->d_name);
        char *s = cvt_read_file(path);
        /* a zombie (dead, not reaped yet) still names its cgroup but holds
         * nothing else */
        if (s && strstr(s, cvt.prefix) && !cvt_pid_dead(atoi(e->d_name))) {
            n++;
            if (sig)
                kill(atoi(e->d_name), sig);
        }
        free(s);
    }
    closedir(d);
    return n;
}

static int count_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

/* The first error of a background teardown, reported by the next leak check. */
static char teardown_failed[512];

/* Live (not zombie) processes below the watchdog but this one: what a
 * create leaks before its child joins the container's cgroup (on v1 it
 * starts in ours, where the cgroup scan cannot see it). The watchdog is a
 * subreaper (cvt_main), so an orphan of a killed creator is counted too. */
static int count_descendants(void)
{
    enum { MAXP = 32768 };
    static pid_t ppid_of[MAXP];
    static bool live[MAXP];
    memset(ppid_of, 0, sizeof(ppid_of));
    memset(live, 0, sizeof(live));
    DIR *d = opendir("/proc");
    if (!d)
        return -1;
    struct dirent *e;
    while ((e = readdir(d))) {
        long pid = strtol(e->d_name, NULL, 10);
        if (pid <= 0 || pid >= MAXP)
            continue;
        char path[64], buf[512];
        snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        ssize_t n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n <= 0)
            continue;
        buf[n] = '\0';
        char *p = strrchr(buf, ')');
        char state;
        int ppid;
        if (!p || sscanf(p + 1, " %c %d", &state, &ppid) != 2)
            continue;
        ppid_of[pid] = ppid;
        live[pid] = state != 'Z' && state != 'X';
    }
    closedir(d);
    /* below the watchdog (cvt_main's parent process, the subreaper), which
     * holds only this test process and the orphans */
    pid_t self = getpid(), top = getppid();
    int count = 0;
    for (pid_t pid = 1; pid < MAXP; pid++) {
        if (!live[pid] || pid == self)
            continue;
        for (pid_t q = ppid_of[pid], hops = 0; q > 0 && q < MAXP && hops < 64; q = ppid_of[q], hops++)
            if (q == top) {
                count++;
                break;
            }
    }
    return count;
}

void cvt_snapshot(struct cvt_snap *s)
{
    /* containerv_destroy finishes in the background: take stock once every
     * teardown is over */
    struct containerv_error terr;
    if (containerv_teardown_wait(&terr) < 0 && !teardown_failed[0])
        snprintf(teardown_failed, sizeof(teardown_failed), "%s", terr.message);
    memset(s, 0, sizeof(*s));
    s->self_mountinfo = cvt_read_file("/proc/self/mountinfo");
    s->host_mountinfo = cvt_read_file("/proc/1/mountinfo");
    s->self_mounts = cvt_count_lines("/proc/self/mountinfo");
    s->host_mounts = cvt_count_lines("/proc/1/mountinfo");
    s->marked_mounts = count_marked_lines(s->self_mountinfo) + count_marked_lines(s->host_mountinfo);
    s->cgroups = walk_cgroups("/sys/fs/cgroup", 6, false);
    s->procs = scan_procs(0);
    s->descendants = count_descendants();
    s->fds = count_dir("/proc/self/fd") - 1; /* the listing's own fd */
    s->rt_entries = count_dir(cvt.runtime_dir);
}

void cvt_snap_free(struct cvt_snap *s)
{
    free(s->self_mountinfo);
    free(s->host_mountinfo);
    s->self_mountinfo = s->host_mountinfo = NULL;
}

/* Lines of b not in a, appended to out (at most a few). */
static void diff_lines(const char *a, const char *b, char *out, size_t size)
{
    if (!a || !b)
        return;
    const char *p = b;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        char line[1024];
        snprintf(line, sizeof(line), "\n%.*s\n", (int)len, p);
        /* search "\nLINE\n" in "\n" a */
        bool found = false;
        for (const char *q = a; (q = strstr(q, line + 1)); q++) {
            if ((q == a || q[-1] == '\n') && (q[len] == '\n' || q[len] == '\0')) {
                found = true;
                break;
            }
        }
        size_t used = strlen(out);
        if (!found && used + len + 8 < size)
            snprintf(out + used, size - used, "\n    %.*s", (int)len, p);
        p += len + (nl ? 1 : 0);
    }
}

/* Could a new mount line (as diff_lines prints them: "\n    <mountinfo>")
 * be the runtime's? Its mount point under a place the runtime mounts in
 * (temporary dirs, the default runtime and state dirs, cgroups) or an
 * overlay. Others (an automount, another user's container) are not ours. */
static bool could_be_ours(const char *diff)
{
    static const char *const places[] = {"/tmp/", "/run/containerv", "/var/lib/containerv",
                                         "/sys/fs/cgroup", NULL};
    for (const char *p = diff; (p = strstr(p, "\n    ")); p++) {
        char mp[512] = "", type[64] = "";
        const char *line = p + 5, *dash = strstr(line, " - ");
        if (sscanf(line, "%*s %*s %*s %*s %511s", mp) != 1)
            continue;
        if (dash)
            sscanf(dash + 3, "%63s", type);
        if (!strcmp(type, "overlay"))
            return true;
        for (int i = 0; places[i]; i++)
            if (!strncmp(mp, places[i], strlen(places[i])))
                return true;
    }
    return false;
}

char *cvt_check_leaks(const struct cvt_snap *before, const char *what)
{
    struct cvt_snap after;
    char report[8192] = "";
    size_t used = 0;
#define LEAK(...) used += (size_t)snprintf(report + used, used < sizeof(report) ? sizeof(report) - used : 0, __VA_ARGS__)

    cvt_snapshot(&after);
    if (teardown_failed[0]) {
        LEAK("\n  a background teardown failed: %s", teardown_failed);
        teardown_failed[0] = '\0';
    }
    if (after.marked_mounts != before->marked_mounts) {
        LEAK("\n  mounts naming %s or %s: %d before, %d after", cvt.tmp, cvt.prefix,
             before->marked_mounts, after.marked_mounts);
        diff_lines(before->self_mountinfo, after.self_mountinfo, report, sizeof(report));
        used = strlen(report);
    }
    if (after.cgroups != before->cgroups)
        LEAK("\n  cgroup dirs named %s*: %d before, %d after", cvt.prefix, before->cgroups,
             after.cgroups);
    if (after.procs != before->procs)
        LEAK("\n  processes in cgroups named %s*: %d before, %d after", cvt.prefix, before->procs,
             after.procs);
    if (after.descendants != before->descendants)
        LEAK("\n  live processes below the test process: %d before, %d after", before->descendants,
             after.descendants);
    if (after.fds != before->fds)
        LEAK("\n  open fds of the test process: %d before, %d after", before->fds, after.fds);
    if (after.rt_entries != before->rt_entries)
        LEAK("\n  entries in %s: %d before, %d after", cvt.runtime_dir, before->rt_entries,
             after.rt_entries);
    if (after.self_mounts != before->self_mounts || after.host_mounts != before->host_mounts) {
        char diff[4096] = "";
        diff_lines(before->self_mountinfo, after.self_mountinfo, diff, sizeof(diff));
        diff_lines(before->host_mountinfo, after.host_mountinfo, diff, sizeof(diff));
        /* strict (CI): a new mount where the runtime mounts fails; one
         * elsewhere (an automount on a shared machine) is only reported */
        if (cvt_strict_mounts() && could_be_ours(diff))
            LEAK("\n  mount count (self %d -> %d, host %d -> %d); new, where the runtime mounts:%s",
                 before->self_mounts, after.self_mounts, before->host_mounts, after.host_mounts, diff);
        else
            print_message("note: %s: the mount count changed (self %d -> %d, host %d -> %d), not by "
                          "a mount naming this test's paths (set CVT_STRICT_MOUNTS=1 to fail); "
                          "new:%s\n",
                          what, before->self_mounts, after.self_mounts, before->host_mounts,
                          after.host_mounts, diff);
    }
#undef LEAK
    cvt_snap_free(&after);
    return report[0] ? strdup(report) : NULL;
}

void cvt_assert_no_leaks(const struct cvt_snap *before, const char *what)
{
    char *report = cvt_check_leaks(before, what);
    if (report) {
        char copy[8192];
        snprintf(copy, sizeof(copy), "%s", report);
        free(report);
        fail_msg("%s leaked:%s", what, copy);
    }
}

/* ------------------------------------------------------------ main + watchdog */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_DP)
        rmdir(path);
    else
        unlink(path);
    return 0;
}

/* Destroy (live) and gc (stale) every container of one runtime dir; returns
 * how many there were. */
static int sweep_runtime_dir(const char *dir)
{
    int left = 0;
    struct containerv_error err;
    containerv_error_clear(&err);
    int removed = 0;
    containerv_gc(dir, &removed, &err);
    if (removed)
        fprintf(stderr, "cvt: gc removed %d stale containers in %s\n", removed, dir);
    left += removed;
    struct containerv_info *infos = NULL;
    size_t n = 0;
    if (containerv_list(dir, &infos, &n, &err) == 0) {
        for (size_t i = 0; i < n; i++) {
            fprintf(stderr, "cvt: sweeping container %s (status %d)\n", infos[i].id, infos[i].status);
            left++;
            struct containerv_container *c = NULL;
            if (containerv_attach(dir, infos[i].id, &c, &err) < 0 || containerv_destroy(c, &err) < 0)
                fprintf(stderr, "cvt: cannot destroy %s: %s\n", infos[i].id, err.message);
        }
        containerv_list_free(infos);
    }
    containerv_teardown_wait(NULL);
    containerv_gc(dir, NULL, &err);
    return left;
}

/* Remove what a test binary left behind; returns how many things were left. */
static int sweep(void)
{
    int left = 0;

    /* containers: in the shared runtime dir and in each test's own */
    DIR *td = opendir(cvt.tmp);
    for (struct dirent *e; td && (e = readdir(td));) {
        if (strncmp(e->d_name, "run", 3) != 0 || (e->d_name[3] && e->d_name[3] != '.'))
            continue;
        char dir[600];
        snprintf(dir, sizeof(dir), "%s/%s", cvt.tmp, e->d_name);
        left += sweep_runtime_dir(dir);
    }
    if (td)
        closedir(td);

    /* processes and cgroups named after our ids */
    int procs = scan_procs(SIGKILL);
    if (procs) {
        fprintf(stderr, "cvt: killed %d leftover processes in cgroups named %s*\n", procs, cvt.prefix);
        left += procs;
        for (int tries = 0; tries < 50 && scan_procs(0); tries++)
            usleep(20000); /* only for the leak sweep: the kernel reaps asynchronously */
    }
    int cgroups = walk_cgroups("/sys/fs/cgroup", 6, false);
    if (cgroups) {
        fprintf(stderr, "cvt: removing %d leftover cgroup dirs named %s*\n", cgroups, cvt.prefix);
        left += cgroups;
        walk_cgroups("/sys/fs/cgroup", 6, true);
    }

    /* mounts below our tmp dir, deepest (last) first */
    for (int round = 0; round < 8; round++) {
        char *mi = cvt_read_file("/proc/self/mountinfo");
        if (!mi)
            break;
        char *last = NULL;
        for (char *line = strtok(mi, "\n"); line; line = strtok(NULL, "\n")) {
            char mp[4096];
            if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) == 1 &&
                !strncmp(mp, cvt.tmp, strlen(cvt.tmp)))
                last = line;
        }
        if (!last) {
            free(mi);
            break;
        }
        char mp[4096];
        sscanf(last, "%*s %*s %*s %*s %4095s", mp);
        fprintf(stderr, "cvt: unmounting leftover mount %s\n", mp);
        left++;
        umount2(mp, MNT_DETACH);
        free(mi);
    }

    /* the files: never crossing into a mount */
    nftw(cvt.tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
    rmdir(cvt.tmp);
    return left;
}

static int group_setup(void **state)
{
    (void)state;
    /* Two warm-up containers, so that what the library sets up once per
     * process (probes, caches; the prepared /dev tree, made for the second
     * container) is not counted as a per-container leak. */
    struct containerv_options *o = containerv_options_new();
    containerv_options_add_lower(o, cvt.helper_layer);
    containerv_options_add_lower(o, cvt.rootfs);
    containerv_options_set_runtime_dir(o, cvt.runtime_dir);
    struct containerv_container *c = NULL;
    struct containerv_error err;
    containerv_error_clear(&err);
    char id[64];
    for (int i = 0; i < 2; i++) {
        snprintf(id, sizeof(id), "%swarmup%d", cvt.prefix, i);
        if (containerv_create(id, o, &c, &err) == 0)
            containerv_destroy(c, &err);
        else
            print_message("note: warm-up create failed: %s\n", err.message);
    }
    containerv_options_free(o);
    return 0;
}

/* ------------------------------------------------------------ one test at a time
 *
 * Every test of the group runs in a runtime dir of its own (<tmp>/run.<n>):
 * a test that fails halfway and leaves a container (or a stale state file)
 * leaves it where no later test counts, so one failure never turns the exact
 * counts of the tests after it (list, gc's "removed") into failures too.
 * After the test's own teardown (which cmocka runs on failure too), anything
 * left in that dir is destroyed and fails that test ("left in its runtime
 * dir"), so that it neither outlives the test nor goes unnoticed. */
struct cvt_case {
    const struct CMUnitTest *orig;
    unsigned n;
};
static struct cvt_case *cur_case;

static int case_setup(void **state)
{
    struct cvt_case *k = *state;
    cur_case = k;
    snprintf(cvt.runtime_dir, sizeof(cvt.runtime_dir), "%s/run.%u", cvt.tmp, k->n);
    if (mkdir(cvt.runtime_dir, 0711) < 0 && errno != EEXIST)
        fail_msg("mkdir %s: %s", cvt.runtime_dir, strerror(errno));
    *state = (void *)k->orig->initial_state;
    return k->orig->setup_func ? k->orig->setup_func(state) : 0;
}

static void case_test(void **state)
{
    cur_case->orig->test_func(state);
}

static int case_teardown(void **state)
{
    struct cvt_case *k = cur_case;
    int r = k->orig->teardown_func ? k->orig->teardown_func(state) : 0;
    /* the background teardowns of this test's destroys are part of it */
    struct containerv_error terr;
    if (containerv_teardown_wait(&terr) < 0 && !teardown_failed[0])
        snprintf(teardown_failed, sizeof(teardown_failed), "%s", terr.message);
    char names[512] = "";
    size_t used = 0;
    DIR *d = opendir(cvt.runtime_dir);
    for (struct dirent *e; d && (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && used < sizeof(names))
            used += (size_t)snprintf(names + used, sizeof(names) - used, " %s", e->d_name);
    if (d)
        closedir(d);
    if (names[0]) {
        char dir[sizeof(cvt.runtime_dir)];
        snprintf(dir, sizeof(dir), "%s", cvt.runtime_dir);
        int n = sweep_runtime_dir(dir);
        fail_msg("%s left in its runtime dir %s:%s (%d containers, destroyed now)", k->orig->name, dir,
                 names, n);
    }
    return r;
}

static int run_cases(const char *name, const struct CMUnitTest *tests, size_t n)
{
    struct CMUnitTest *wrapped = calloc(n, sizeof(*wrapped));
    struct cvt_case *cases = calloc(n, sizeof(*cases));
    if (!wrapped || !cases)
        return 1;
    for (size_t i = 0; i < n; i++) {
        cases[i] = (struct cvt_case){.orig = &tests[i], .n = (unsigned)i + 1};
        wrapped[i] = (struct CMUnitTest){.name = tests[i].name,
                                         .test_func = case_test,
                                         .setup_func = case_setup,
                                         .teardown_func = case_teardown,
                                         .initial_state = &cases[i]};
    }
    int r = _cmocka_run_group_tests(name, wrapped, n, group_setup, NULL);
    free(wrapped);
    free(cases);
    return r;
}

static const char *need_env(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v) {
        fprintf(stderr, "cvt: $%s is not set (run through ctest)\n", name);
        exit(1);
    }
    return v;
}

/* The watchdog's children once the test process is gone: orphans. SIGKILL
 * each that lives, reap all; the number that lived. */
static int kill_orphans(void)
{
    int live = 0;
    for (int round = 0; round < 100; round++) {
        int found = 0;
        DIR *d = opendir("/proc");
        struct dirent *e;
        while (d && (e = readdir(d))) {
            long pid = strtol(e->d_name, NULL, 10);
            char path[64], buf[512];
            if (pid <= 0)
                continue;
            snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
            int fd = open(path, O_RDONLY | O_CLOEXEC);
            ssize_t r = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
            if (fd >= 0)
                close(fd);
            if (r <= 0)
                continue;
            buf[r] = '\0';
            char *p = strrchr(buf, ')'), state;
            int ppid;
            if (!p || sscanf(p + 1, " %c %d", &state, &ppid) != 2 || ppid != getpid() || state == 'Z')
                continue;
            found++;
            if (round == 0) {
                live++;
                fprintf(stderr, "cvt: killing process %ld left by the tests\n", pid);
            }
            kill((pid_t)pid, SIGKILL);
        }
        if (d)
            closedir(d);
        while (waitpid(-1, NULL, WNOHANG) > 0)
            ;
        if (!found)
            break;
        usleep(10000);
    }
    return live;
}

int cvt_main(const char *name, const struct CMUnitTest *tests, size_t n, unsigned timeout_s)
{
    if (geteuid() != 0) {
        fprintf(stderr, "%s: skipped: needs root\n", name);
        return 77;
    }
    snprintf(cvt.name, sizeof(cvt.name), "%s", name);
    cvt.containerv = need_env("CONTAINERV");
    cvt.helper_layer = need_env("CV_HELPER_LAYER");
    cvt.rootfs = need_env("CV_DEFAULT_ROOTFS");
    snprintf(cvt.tmp, sizeof(cvt.tmp), "/tmp/cvt-%s.XXXXXX", name);
    if (!mkdtemp(cvt.tmp)) {
        perror("mkdtemp");
        return 1;
    }
    chmod(cvt.tmp, 0755);
    snprintf(cvt.runtime_dir, sizeof(cvt.runtime_dir), "%s/run", cvt.tmp);
    mkdir(cvt.runtime_dir, 0711);
    snprintf(cvt.prefix, sizeof(cvt.prefix), "cvt%dx", (int)getpid());
    fflush(NULL);

    /* This process (the watchdog) is a subreaper: the orphans of what the
     * tests start (the child of a creator a test killed) come here, where the
     * leak checks count them while they live (count_descendants) and where
     * they are reaped once dead, so that no zombie stays counted. */
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    pid_t child = fork();
    if (child < 0) {
        perror("fork");
        return 1;
    }
    if (child == 0) {
        setpgid(0, 0);
        /* the tests die with the watchdog, even when ctest kills it first */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() == 1)
            _exit(1);
        setvbuf(stdout, NULL, _IOLBF, 0);
        int r = run_cases(name, tests, n);
        containerv_teardown_wait(NULL); /* _exit skips the library's own wait */
        fflush(NULL);
        _exit(r);
    }

    int status = 0;
    bool done = false;
    int ready = 0;
    /* wait for the tests, reaping orphans as they die (every 100 ms) */
    for (unsigned slice = 0; !done && slice < timeout_s * 10; slice++) {
        pid_t p;
        int st;
        while ((p = waitpid(-1, &st, WNOHANG)) > 0)
            if (p == child) {
                status = st;
                done = true;
            }
        if (!done)
            usleep(100000);
    }
    ready = done;
    if (!done) {
        fprintf(stderr, "%s: timed out after %us; killing the tests\n", name, timeout_s);
        kill(-child, SIGKILL);
        kill(child, SIGKILL);
        waitpid(child, &status, 0);
    }
    /* what the tests started and left running (a daemon whose test died,
     * an orphan of a killed creator) came to this subreaper: it is a leak;
     * kill it, reap it, and fail */
    int orphans = kill_orphans();
    int rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (ready == 0)
        rc = 1;

    int left = sweep() + orphans;
    if (orphans)
        fprintf(stderr, "%s: %d processes started by the tests outlived them (killed now)\n", name, orphans);
    if (left) {
        fprintf(stderr, "%s: FAIL: %d things were left behind (removed now)\n", name, left);
        if (rc == 0)
            rc = 1;
    }
    return rc;
}

int cvt_fixture_setup_with(void **state, struct containerv_options *o)
{
    struct cvt_fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    cvt_snapshot(&f->before);
    f->c = cvt_create(o);
    containerv_options_free(o);
    *state = f;
    return 0;
}

int cvt_fixture_setup(void **state)
{
    return cvt_fixture_setup_with(state, cvt_options());
}

int cvt_fixture_teardown(void **state)
{
    struct cvt_fixture *f = *state;
    if (!f)
        return 0;
    if (f->c)
        cvt_destroy(f->c);
    cvt_assert_no_leaks(&f->before, "container");
    cvt_snap_free(&f->before);
    free(f);
    return 0;
}

bool cvt_in_ci(void)
{
    const char *ci = getenv("CI");
    return ci && *ci && strcmp(ci, "0") != 0 && strcmp(ci, "false") != 0;
}

void cvt_note_skip(const char *file, int line, const char *kind, const char *why)
{
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    fprintf(stderr, "cvt: SKIP (%s) %s:%d: %s\n", kind, base, line, why);
    const char *log = getenv("CVT_SKIP_LOG");
    FILE *f = log && *log ? fopen(log, "ae") : NULL;
    if (f) {
        fprintf(f, "%s %s:%d %s: %s\n", cvt.name[0] ? cvt.name : "?", base, line, kind, why);
        fclose(f);
    }
}

bool cvt_pid_dead(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return true;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return true;
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* "pid (comm) S ..." */
    return !p || p[1] != ' ' || p[2] == 'Z' || p[2] == 'X';
}

bool cvt_wait_dead(pid_t pid)
{
    for (int i = 0; i < 1000; i++) {
        if (cvt_pid_dead(pid))
            return true;
        usleep(10000);
    }
    return false;
}

char *cvt_cgroup_file(struct containerv_container *c, const char *v1_ctrl, const char *v1_file,
                      const char *v2_file, bool *v2)
{
    char path[512];
    struct stat st;
    snprintf(path, sizeof(path), "/sys/fs/cgroup/containerv/%s", containerv_id(c));
    *v2 = stat(path, &st) == 0 && S_ISDIR(st.st_mode);
    if (*v2)
        snprintf(path, sizeof(path), "/sys/fs/cgroup/containerv/%s/%s", containerv_id(c), v2_file);
    else
        snprintf(path, sizeof(path), "/sys/fs/cgroup/%s/containerv/%s/%s", v1_ctrl, containerv_id(c),
                 v1_file);
    char *s = cvt_read_file(path);
    if (!s)
        fail_msg("reading %s: %s", path, strerror(errno));
    s[strcspn(s, "\n")] = '\0';
    return s;
}
