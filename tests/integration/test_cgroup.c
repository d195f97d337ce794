/* Integration test of the cgroup layer (src/linux/cgroup/) against the real kernel (run as root).
 *
 * It checks the values the kernel shows in the v1 or v2 files (whichever mode
 * this host uses), attach/kill/destroy with a child and a grandchild, EEXIST
 * handling, kernel write errors and their undo, idempotence, re-opening a
 * handle, and reports (without asserting anything about time) the latency of
 * moving a process between cgroups.
 *
 * It runs under cvt_main's watchdog like the other C tests. Every cgroup it
 * makes is named with a cvt_id() ("cvt<pid>x<n>"), so the leak checks and
 * the watchdog's sweep see them. Each test's teardown thaws, kills and reaps
 * the children it gave to the fixture and destroys the fixture's cgroups
 * through the library (also after a failed assertion); a cgroup directory
 * that cv_cgroup_destroy left, or any other leak since the test's start
 * (cgroups, processes, fds), fails the test instead of being removed
 * quietly; the watchdog removes what is left and fails the run. Exit 77
 * (skip) when not root or when the host has no cgroups. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "cvt.h"
#include "linux/cgroup/cgroup.h"

#define N_CG 3
#define N_CHILD 4

static const char *const v1_dirs[CV_V1_COUNT] = {
    [CV_V1_MEMORY] = "/sys/fs/cgroup/memory",
    [CV_V1_PIDS] = "/sys/fs/cgroup/pids",
    [CV_V1_CPU] = "/sys/fs/cgroup/cpu",
    [CV_V1_FREEZER] = "/sys/fs/cgroup/freezer",
    [CV_V1_CPUACCT] = "/sys/fs/cgroup/cpuacct",
    [CV_V1_BLKIO] = "/sys/fs/cgroup/blkio",
    [CV_V1_CPUSET] = "/sys/fs/cgroup/cpuset",
    [CV_V1_DEVICES] = "/sys/fs/cgroup/devices",
};
/* the hierarchies a container gets a directory in only when it asks (a
 * cpuset, device rules) */
#define ON_DEMAND(c) ((c) == CV_V1_CPUSET || (c) == CV_V1_DEVICES)

struct child {
    pid_t pid;
    int ctl; /* write a byte: the child forks a grandchild */
    int rep; /* the child writes the grandchild's pid here */
};

struct fixture {
    enum cv_cgroup_mode mode;
    struct cv_cgroup cg[N_CG];
    char id[N_CG][CV_ID_MAX + 1];
    struct child child[N_CHILD];
    struct cvt_snap before;
};

/* ------------------------------------------------------------- helpers */

/* ctrl ignored on v2 */
static const char *leaf(const struct fixture *f, int ctrl, const char *id)
{
    static char buf[512]; /* short enough for "<leaf>/<file>" to fit PATH_MAX */
    if (f->mode == CV_CGROUP_V2)
        snprintf(buf, sizeof(buf), "/sys/fs/cgroup/containerv/%s", id);
    else
        snprintf(buf, sizeof(buf), "%s/containerv/%s", v1_dirs[ctrl], id);
    return buf;
}

static const char *read_value(const struct fixture *f, int ctrl, const char *id, const char *file)
{
    static char buf[PATH_MAX + 64];
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", leaf(f, ctrl, id), file);
    int r = cv_read_file_at(AT_FDCWD, path, buf, sizeof(buf));
    if (r < 0) {
        snprintf(buf, sizeof(buf), "<%s: %s>", path, strerror(-r));
        return buf;
    }
    buf[strcspn(buf, "\n")] = '\0';
    return buf;
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* The library uses whichever of the six v1 hierarchies are mounted (run
 * this test in a mount namespace without, say, the freezer to cover the
 * kill(2) fallback). */
static bool v1_mounted(int ctrl)
{
    struct statfs sfs;
    return statfs(v1_dirs[ctrl], &sfs) == 0 && sfs.f_type == 0x27e0eb /* CGROUP_SUPER_MAGIC */;
}

/* the hierarchies every container gets a directory in (cpuset: only one
 * that asks for a cpuset) */
static unsigned v1_mask(void)
{
    unsigned m = 0;
    for (int c = 0; c < CV_V1_COUNT; c++)
        if (!ON_DEMAND(c))
            m |= v1_mounted(c) ? 1u << c : 0;
    return m;
}

/* Does any directory of this id exist, in any hierarchy? */
static bool any_dir(const struct fixture *f, const char *id)
{
    if (f->mode == CV_CGROUP_V2)
        return exists(leaf(f, 0, id));
    for (int c = 0; c < CV_V1_COUNT; c++) {
        if (exists(leaf(f, c, id)))
            return true;
    }
    return false;
}

static bool all_dirs(const struct fixture *f, const char *id)
{
    if (f->mode == CV_CGROUP_V2)
        return exists(leaf(f, 0, id));
    for (int c = 0; c < CV_V1_COUNT; c++) {
        if (!ON_DEMAND(c) && v1_mounted(c) && !exists(leaf(f, c, id)))
            return false;
    }
    return true;
}

static void child_main(int ctl, int rep)
{
    char c;
    while (read(ctl, &c, 1) == 1) {
        if (c == 'b') {
            for (;;)
                fork(); /* every process forks until pids.max refuses */
        }
        pid_t g = fork();
        if (g == 0) {
            for (;;)
                pause();
        }
        if (write(rep, &g, sizeof(g)) != sizeof(g))
            _exit(3);
    }
    for (;;)
        pause();
}

static struct child *spawn(struct fixture *f)
{
    struct child *ch = NULL;
    for (int i = 0; i < N_CHILD && !ch; i++) {
        if (f->child[i].pid <= 0)
            ch = &f->child[i];
    }
    assert_non_null(ch);
    int a[2], b[2];
    assert_int_equal(pipe2(a, O_CLOEXEC), 0);
    assert_int_equal(pipe2(b, O_CLOEXEC), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(a[1]);
        close(b[0]);
        child_main(a[0], b[1]);
        _exit(0);
    }
    close(a[0]);
    close(b[1]);
    *ch = (struct child){.pid = pid, .ctl = a[1], .rep = b[0]};
    return ch;
}

static pid_t fork_grandchild(struct child *ch)
{
    pid_t g = -1;
    assert_int_equal(write(ch->ctl, "f", 1), 1);
    assert_int_equal(read(ch->rep, &g, sizeof(g)), sizeof(g));
    assert_true(g > 0);
    return g;
}

/* Kill and reap (if not done yet); return the wait status. */
static int reap(struct child *ch)
{
    int status = -1;
    if (ch->pid <= 0)
        return -1;
    kill(ch->pid, SIGKILL);
    while (waitpid(ch->pid, &status, 0) < 0 && errno == EINTR)
        ;
    close(ch->ctl);
    close(ch->rep);
    ch->pid = -1;
    return status;
}

static int reap_status(struct child *ch)
{
    int status = -1;
    assert_int_equal(waitpid(ch->pid, &status, 0), ch->pid);
    close(ch->ctl);
    close(ch->rep);
    ch->pid = -1;
    return status;
}

static bool pid_exited(int pidfd)
{
    struct pollfd p = {.fd = pidfd, .events = POLLIN};
    return poll(&p, 1, 0) == 1;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------- setup/teardown */

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    f->mode = cv_cgroup_mode();
    /* orphaned grandchildren come back to the test process, whose teardown
     * reaps them (the watchdog above is a subreaper too) */
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    cvt_snapshot(&f->before);
    for (int i = 0; i < N_CG; i++) {
        snprintf(f->id[i], sizeof(f->id[i]), "%s", cvt_id());
        f->cg[i].v2_fd = -1; /* mode NONE: every operation is a no-op */
    }
    for (int i = 0; i < N_CHILD; i++)
        f->child[i].pid = -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    for (int i = 0; i < N_CG; i++) { /* a frozen child would never be reaped */
        char path[PATH_MAX + 32];
        bool v2 = f->mode == CV_CGROUP_V2;
        snprintf(path, sizeof(path), "%s/%s", leaf(f, CV_V1_FREEZER, f->id[i]),
                 v2 ? "cgroup.freeze" : "freezer.state");
        cv_write_file_at(AT_FDCWD, path, v2 ? "0" : "THAWED", v2 ? 1 : 6);
    }
    for (int i = 0; i < N_CHILD; i++)
        reap(&f->child[i]);
    /* the cgroups the test left to the fixture: destroyed through the
     * library, which must leave nothing of them */
    char left[1024] = "";
    size_t used = 0;
    for (int i = 0; i < N_CG; i++) {
        struct containerv_error err = {0};
        if (cv_cgroup_destroy(&f->cg[i], &err) < 0 && used < sizeof(left))
            used += (size_t)snprintf(left + used, sizeof(left) - used, "\n  destroy of %s: %s", f->id[i],
                                     err.message);
        cv_cgroup_close(&f->cg[i]);
        for (int c = 0; c < (f->mode == CV_CGROUP_V2 ? 1 : CV_V1_COUNT); c++)
            if (exists(leaf(f, c, f->id[i])) && used < sizeof(left))
                used += (size_t)snprintf(left + used, sizeof(left) - used, "\n  %s is still there",
                                         leaf(f, c, f->id[i]));
    }
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ; /* grandchildren re-parented to us, killed with their cgroup */
    char *leaks = left[0] ? NULL : cvt_check_leaks(&f->before, "cgroup test");
    cvt_snap_free(&f->before);
    free(f);
    if (left[0])
        fail_msg("the fixture's cgroups were not removed:%s", left);
    if (leaks) {
        char copy[4096];
        snprintf(copy, sizeof(copy), "%s", leaks);
        free(leaks);
        fail_msg("cgroup test leaked:%s", copy);
    }
    return 0;
}

/* ---------------------------------------------------------------- tests */

static void test_probe(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(cv_cgroup_mode(), f->mode); /* cached, stable */
    /* hybrid (this dev host): cgroup2 at /sys/fs/cgroup/unified must not make it v2 */
    if (exists("/sys/fs/cgroup/unified/cgroup.controllers") && exists("/sys/fs/cgroup/memory/tasks"))
        assert_int_equal(f->mode, CV_CGROUP_V1);
    if (exists("/sys/fs/cgroup/cgroup.controllers"))
        assert_int_equal(f->mode, CV_CGROUP_V2);
}

static void test_limits(void **state)
{
    struct fixture *f = *state;
    struct containerv_error err = {0};
    struct cv_limits l = {.memory = 32u << 20, .pids = 16, .cpu_weight = 100,
                          .cpu_quota_us = 50000, .cpu_period_us = 100000};
    int r = cv_cgroup_create(&f->cg[0], f->id[0], NULL, &l, &err);
    assert_int_equal(r, 0);
    assert_int_equal(f->cg[0].mode, f->mode);
    assert_true(all_dirs(f, f->id[0]));
    if (f->mode == CV_CGROUP_V2) {
        assert_true(f->cg[0].v2_fd >= 0);
        assert_string_equal(read_value(f, 0, f->id[0], "memory.max"), "33554432");
        assert_string_equal(read_value(f, 0, f->id[0], "pids.max"), "16");
        assert_string_equal(read_value(f, 0, f->id[0], "cpu.weight"), "100");
        assert_string_equal(read_value(f, 0, f->id[0], "cpu.max"), "50000 100000");
    } else {
        assert_int_equal(f->cg[0].v2_fd, -1);
        assert_int_equal(f->cg[0].v1_created, v1_mask());
        assert_string_equal(read_value(f, CV_V1_MEMORY, f->id[0], "memory.limit_in_bytes"), "33554432");
        assert_string_equal(read_value(f, CV_V1_PIDS, f->id[0], "pids.max"), "16");
        /* crun/runc: 2 + (100 - 1) * 262142 / 9999 */
        assert_string_equal(read_value(f, CV_V1_CPU, f->id[0], "cpu.shares"), "2597");
        assert_string_equal(read_value(f, CV_V1_CPU, f->id[0], "cpu.cfs_quota_us"), "50000");
        assert_string_equal(read_value(f, CV_V1_CPU, f->id[0], "cpu.cfs_period_us"), "100000");
        if (v1_mounted(CV_V1_FREEZER))
            assert_string_equal(read_value(f, CV_V1_FREEZER, f->id[0], "freezer.state"), "THAWED");
    }
    assert_int_equal(cv_cgroup_count_procs(&f->cg[0]), 0);
    assert_int_equal(cv_cgroup_destroy(&f->cg[0], &err), 0);
    assert_false(any_dir(f, f->id[0]));
}

static void test_swap_limit(void **state)
{
    struct fixture *f = *state;
    struct containerv_error err = {0};
    struct cv_limits l = {.memory = 32u << 20, .memory_swap = 64u << 20};
    bool memsw = exists("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes");
    int r = cv_cgroup_create(&f->cg[0], f->id[0], NULL, &l, &err);
    if (f->mode == CV_CGROUP_V1 && !memsw) {
        assert_int_equal(r, -ENOTSUP);
        assert_non_null(strstr(err.message, "memory.memsw.limit_in_bytes"));
        assert_false(any_dir(f, f->id[0]));
        return;
    }
    assert_int_equal(r, 0);
    if (f->mode == CV_CGROUP_V2) {
        assert_string_equal(read_value(f, 0, f->id[0], "memory.swap.max"), "33554432");
    } else {
        assert_string_equal(read_value(f, CV_V1_MEMORY, f->id[0], "memory.limit_in_bytes"), "33554432");
        assert_string_equal(read_value(f, CV_V1_MEMORY, f->id[0], "memory.memsw.limit_in_bytes"), "67108864");
    }
    /* swap alone: memory = memory+swap = 48M, no swap on top */
    struct cv_limits only = {.memory_swap = 48u << 20};
    assert_int_equal(cv_cgroup_create(&f->cg[1], f->id[1], NULL, &only, &err), 0);
    if (f->mode == CV_CGROUP_V2) {
        assert_string_equal(read_value(f, 0, f->id[1], "memory.max"), "50331648");
        assert_string_equal(read_value(f, 0, f->id[1], "memory.swap.max"), "0");
    } else {
        assert_string_equal(read_value(f, CV_V1_MEMORY, f->id[1], "memory.limit_in_bytes"), "50331648");
        assert_string_equal(read_value(f, CV_V1_MEMORY, f->id[1], "memory.memsw.limit_in_bytes"), "50331648");
    }
}

/* reservation (both versions), swappiness and the OOM killer (v1 only:
 * refused on v2 with nothing made) */
static void test_memory_extras(void **state)
{
    struct fixture *f = *state;
    struct containerv_error err = {0};
    struct cv_limits l = {.memory = 64u << 20, .memory_reservation = 32u << 20};
    assert_int_equal(cv_cgroup_create(&f->cg[0], f->id[0], NULL, &l, &err), 0);
    if (f->mode == CV_CGROUP_V2)
        assert_string_equal(read_value(f, 0, f->id[0], "memory.low"), "33554432");
    else
        assert_string_equal(read_value(f, CV_V1_MEMORY, f->id[0], "memory.soft_limit_in_bytes"), "33554432");
    struct cv_limits v1only = {.swappiness_set = true, .swappiness = 7, .oom_kill_disable = true};
    int r = cv_cgroup_create(&f->cg[1], f->id[1], NULL, &v1only, &err);
    if (f->mode == CV_CGROUP_V2) {
        assert_int_equal(r, -EOPNOTSUPP);
        assert_non_null(strstr(err.message, "cgroup v2"));
        assert_false(any_dir(f, f->id[1]));
    } else {
        assert_int_equal(r, 0);
        assert_string_equal(read_value(f, CV_V1_MEMORY, f->id[1], "memory.swappiness"), "7");
        assert_non_null(strstr(read_value(f, CV_V1_MEMORY, f->id[1], "memory.oom_control"), "oom_kill_disable 1"));
    }
    /* a reservation above the limit is refused, nothing made */
    struct cv_limits over = {.memory = 16u << 20, .memory_reservation = 32u << 20};
    assert_int_equal(cv_cgroup_create(&f->cg[2], f->id[2], NULL, &over, &err), -EINVAL);
    assert_non_null(strstr(err.message, "reservation"));
    assert_false(any_dir(f, f->id[2]));
}

/* cpuset.cpus and .mems where they are asked for (v1: in the cpuset
 * hierarchy, which the container's cgroup gets only then, filled from the
 * parent); a list the host lacks fails naming the file; the realtime
 * runtime (v1 only) */
static void test_cpuset_and_rt(void **state)
{
    struct fixture *f = *state;
    struct containerv_error err = {0};
    struct cv_limits l = {0};
    snprintf(l.cpuset_cpus, sizeof(l.cpuset_cpus), "0");
    snprintf(l.cpuset_mems, sizeof(l.cpuset_mems), "0");
    int r = cv_cgroup_create(&f->cg[0], f->id[0], NULL, &l, &err);
    if (r == -EOPNOTSUPP)
        cvt_skip_host(err.message); /* no cpuset controller here */
    assert_int_equal(r, 0);
    int ctrl = f->mode == CV_CGROUP_V2 ? 0 : CV_V1_CPUSET;
    assert_string_equal(read_value(f, ctrl, f->id[0], "cpuset.cpus"), "0");
    assert_string_equal(read_value(f, ctrl, f->id[0], "cpuset.mems"), "0");
    assert_int_equal(cv_cgroup_destroy(&f->cg[0], &err), 0);
    assert_false(any_dir(f, f->id[0]));
    /* only mems: cpus come from the parent, so a task can join (v1) */
    struct cv_limits m = {0};
    snprintf(m.cpuset_mems, sizeof(m.cpuset_mems), "0");
    assert_int_equal(cv_cgroup_create(&f->cg[1], f->id[1], NULL, &m, &err), 0);
    if (f->mode == CV_CGROUP_V1) {
        char *cpus = cvt_read_file("/sys/fs/cgroup/cpuset/cpuset.cpus");
        cpus[strcspn(cpus, "\n")] = '\0';
        assert_string_equal(read_value(f, ctrl, f->id[1], "cpuset.cpus"), cpus);
        free(cpus);
    }
    /* a container without a cpuset has no cpuset directory (v1) */
    assert_int_equal(cv_cgroup_create(&f->cg[2], f->id[2], NULL, NULL, &err), 0);
    if (f->mode == CV_CGROUP_V1)
        assert_false(exists(leaf(f, CV_V1_CPUSET, f->id[2])));
    assert_int_equal(cv_cgroup_destroy(&f->cg[2], &err), 0);
    /* CPU 8191 is nobody's here: the write fails and names the file */
    struct cv_limits bad = {0};
    snprintf(bad.cpuset_cpus, sizeof(bad.cpuset_cpus), "8191");
    assert_true(cv_cgroup_create(&f->cg[2], f->id[2], NULL, &bad, &err) < 0);
    assert_non_null(strstr(err.message, "cpuset.cpus"));
    assert_false(any_dir(f, f->id[2]));
    /* realtime: v1 under a parent with no realtime time (containerv/) can
     * only have 0; v2 refuses it */
    struct cv_limits rt = {.rt_set = true, .rt_runtime_us = 0, .rt_period_us = 500000};
    r = cv_cgroup_create(&f->cg[2], f->id[2], NULL, &rt, &err);
    if (f->mode == CV_CGROUP_V2) {
        assert_int_equal(r, -EOPNOTSUPP);
        assert_false(any_dir(f, f->id[2]));
    } else if (exists("/sys/fs/cgroup/cpu/cpu.rt_period_us")) {
        assert_int_equal(r, 0);
        assert_string_equal(read_value(f, CV_V1_CPU, f->id[2], "cpu.rt_period_us"), "500000");
        assert_string_equal(read_value(f, CV_V1_CPU, f->id[2], "cpu.rt_runtime_us"), "0");
        /* a period alone (an OCI realtimePeriod without a runtime): the runtime stays */
        struct cv_limits period = {.rt_set = true, .rt_runtime_us = CONTAINERV_RT_RUNTIME_KEEP, .rt_period_us = 400000};
        assert_int_equal(cv_cgroup_update(&f->cg[2], &period, &err), 0);
        assert_string_equal(read_value(f, CV_V1_CPU, f->id[2], "cpu.rt_period_us"), "400000");
        assert_string_equal(read_value(f, CV_V1_CPU, f->id[2], "cpu.rt_runtime_us"), "0");
    }
}

static void test_attach_kill_destroy(void **state)
{
    struct fixture *f = *state;
    struct containerv_error err = {0};
    struct cv_limits l = {.pids = 16};
    assert_int_equal(cv_cgroup_create(&f->cg[0], f->id[0], NULL, &l, &err), 0);
    struct child *ch = spawn(f);
    assert_int_equal(cv_cgroup_attach(&f->cg[0], ch->pid, &err), 0);
    assert_int_equal(cv_cgroup_count_procs(&f->cg[0]), 1);
    /* a grandchild forked inside the cgroup is in it too, and must die with it */
    pid_t g = fork_grandchild(ch);
    int gfd = (int)syscall(SYS_pidfd_open, g, 0);
    assert_true(gfd >= 0);
    assert_int_equal(cv_cgroup_count_procs(&f->cg[0]), 2);
    if (f->mode == CV_CGROUP_V1 && v1_mounted(CV_V1_PIDS))
        assert_string_equal(read_value(f, CV_V1_PIDS, f->id[0], "pids.current"), "2");

    assert_int_equal(cv_cgroup_kill(&f->cg[0], &err), 0);
    assert_int_equal(cv_cgroup_destroy(&f->cg[0], &err), 0);
    assert_false(any_dir(f, f->id[0]));
    assert_true(pid_exited(gfd)); /* destroy waited for every process to exit */
    close(gfd);
    int status = reap_status(ch);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGKILL);
    assert_int_equal(cv_cgroup_destroy(&f->cg[0], &err), 0); /* idempotent */
    assert_int_equal(cv_cgroup_count_procs(&f->cg[0]), -ENOENT);
}

/* destroy without an explicit kill, with live processes in it */
static void test_destroy_kills(void **state)
{
    struct fixture *f = *state;
    struct containerv_error err = {0};
    assert_int_equal(cv_cgroup_create(&f->cg[0], f->id[0], NULL, NULL, &err), 0);
    struct child *ch = spawn(f);
    assert_int_equal(cv_cgroup_attach(&f->cg[0], ch->pid, &err), 0);
    for (int i = 0; i < 3; i++)
        fork_grandchild(ch);
    assert_int_equal(cv_cgroup_count_procs(&f->cg[0]), 4);
    assert_int_equal(cv_cgroup_destroy(&f->cg[0], &err), 0);
    assert_false(any_dir(f, f->id[0]));
    int status = reap_status(ch);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

/* kill and destroy converge while every process of the cgroup keeps forking */
static void fork_storm(void **state, bool kill_first)
{
    struct fixture *f = *state;
    struct containerv_error err = {0};
    if (f->mode == CV_CGROUP_V1 && !v1_mounted(CV_V1_PIDS))
        cvt_skip_host("the v1 pids controller is not mounted (without a pids limit this would be a real fork bomb)");
    struct cv_limits l = {.pids = 32};
    assert_int_equal(cv_cgroup_create(&f->cg[0], f->id[0], NULL, &l, &err), 0);
    struct child *ch = spawn(f);
    assert_int_equal(cv_cgroup_attach(&f->cg[0], ch->pid, &err), 0);
    assert_int_equal(write(ch->ctl, "b", 1), 1);
    /* bounded (a hang guard, not a timing check): the storm must get going,
     * and a child that died at once (count stuck below 8, or an error)
     * fails here instead of spinning for ever */
    int n = 0;
    for (int i = 0; i < 200000 && (n = cv_cgroup_count_procs(&f->cg[0])) < 8; i++) {
        if (n < 0)
            fail_msg("counting the fork storm's processes: %s", strerror(-n));
        sched_yield();
    }
    if (n < 8)
        fail_msg("the fork storm never reached 8 processes (%d)", n);
    if (kill_first)
        assert_int_equal(cv_cgroup_kill(&f->cg[0], &err), 0);
    assert_int_equal(cv_cgroup_destroy(&f->cg[0], &err), 0);
    assert_false(any_dir(f, f->id[0]));
    int status = reap_status(ch);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

static void test_destroy_fork_storm(void **state)
{
    fork_storm(state, false);
}

static void test_kill_fork_storm(void **state)
{
    fork_storm(state, true);
}

/* destroy of a paused (frozen) container */
static void test_destroy_frozen(void **state)
{
    struct fixture *f = *state;
    struct containerv_error err = {0};
    int c = f->mode == CV_CGROUP_V2 ? 0 : CV_V1_FREEZER;
    if (f->mode == CV_CGROUP_V1 && !v1_mounted(c))
        cvt_skip_host("the v1 freezer controller is not mounted");
    assert_int_equal(cv_cgroup_create(&f->cg[0], f->id[0], NULL, NULL, &err), 0);
    struct child *ch = spawn(f);
    assert_int_equal(cv_cgroup_attach(&f->cg[0], ch->pid, &err), 0);
    fork_grandchild(ch);
    char path[PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/%s", leaf(f, c, f->id[0]),
             f->mode == CV_CGROUP_V2 ? "cgroup.freeze" : "freezer.state");
    const char *v = f->mode == CV_CGROUP_V2 ? "1" : "FROZEN";
    assert_int_equal(cv_write_file_at(AT_FDCWD, path, v, strlen(v)), 0);
    uint64_t t0 = now_ns();
    int r = cv_cgroup_destroy(&f->cg[0], &err);
    print_message("    destroy of a frozen cgroup: %.0f us %s\n", (now_ns() - t0) / 1e3,
                  r ? err.message : "");
    assert_int_equal(r, 0);
    assert_false(any_dir(f, f->id[0]));
    int status = reap_status(ch);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

/* a container that made cgroups below its own (cgroup namespace, delegation) */
static void test_nested(void **state)
{
    struct fixture *f = *state;
    struct containerv_error err = {0};
    int c = f->mode == CV_CGROUP_V2 ? 0 : CV_V1_PIDS;
    if (f->mode == CV_CGROUP_V1 && !v1_mounted(c))
        cvt_skip_host("the v1 pids controller is not mounted");
    assert_int_equal(cv_cgroup_create(&f->cg[0], f->id[0], NULL, NULL, &err), 0);
    struct child *ch = spawn(f);
    assert_int_equal(cv_cgroup_attach(&f->cg[0], ch->pid, &err), 0);
    char nested[PATH_MAX], procs[PATH_MAX + 16], val[16];
    snprintf(nested, sizeof(nested), "%s/a", leaf(f, c, f->id[0]));
    assert_int_equal(mkdir(nested, 0755), 0);
    snprintf(nested + strlen(nested), sizeof(nested) - strlen(nested), "/b");
    assert_int_equal(mkdir(nested, 0755), 0);
    snprintf(procs, sizeof(procs), "%s/cgroup.procs", nested);
    snprintf(val, sizeof(val), "%d", (int)ch->pid);
    assert_int_equal(cv_write_file_at(AT_FDCWD, procs, val, strlen(val)), 0);
    fork_grandchild(ch);
    assert_int_equal(cv_cgroup_destroy(&f->cg[0], &err), 0);
    assert_false(any_dir(f, f->id[0]));
    int status = reap_status(ch);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

static void test_eexist(void **state)
{
    struct fixture *f = *state;
    struct containerv_error err = {0};
    struct cv_limits l = {.pids = 16};
    assert_int_equal(cv_cgroup_create(&f->cg[0], f->id[0], NULL, &l, &err), 0);
    struct cv_limits other = {.pids = 8};
    assert_int_equal(cv_cgroup_create(&f->cg[1], f->id[0], NULL, &other, &err), -EEXIST);
    assert_int_equal(err.code, EEXIST);
    assert_string_equal(err.step, "cgroup.create");
    assert_non_null(strstr(err.message, "already exists"));
    assert_non_null(strstr(err.message, f->id[0]));
    /* the failed handle owns nothing; the first cgroup is intact */
    assert_int_equal(f->cg[1].mode, CV_CGROUP_NONE);
    assert_int_equal(cv_cgroup_destroy(&f->cg[1], &err), 0);
    assert_true(all_dirs(f, f->id[0]));
    assert_string_equal(read_value(f, CV_V1_PIDS, f->id[0], "pids.max"), "16");
}

/* v1: the leaf exists in one hierarchy only (say, left by a crash): create
 * fails and removes the dirs it made in the others, not the one it found. */
static void test_eexist_partial(void **state)
{
    struct fixture *f = *state;
    struct containerv_error err = {0};
    int last = CV_V1_COUNT - 1; /* the last one the library creates (cpuset, devices: on demand only) */
    while (last >= 0 && (!v1_mounted(last) || ON_DEMAND(last)))
        last--;
    if (f->mode != CV_CGROUP_V1 || last <= 0)
        cvt_skip_host("v1 only, with two or more hierarchies mounted");
    /* make the parent through the library, then the stray leaf by hand */
    assert_int_equal(cv_cgroup_create(&f->cg[0], f->id[0], NULL, NULL, &err), 0);
    assert_int_equal(cv_cgroup_destroy(&f->cg[0], &err), 0);
    char stray[PATH_MAX];
    snprintf(stray, sizeof(stray), "%s", leaf(f, last, f->id[1]));
    assert_int_equal(mkdir(stray, 0755), 0);
    assert_int_equal(cv_cgroup_create(&f->cg[1], f->id[1], NULL, NULL, &err), -EEXIST);
    assert_non_null(strstr(err.message, stray));
    assert_true(exists(stray));
    for (int c = 0; c < CV_V1_COUNT; c++) {
        if (c != last)
            assert_false(exists(leaf(f, c, f->id[1])));
    }
    assert_int_equal(rmdir(stray), 0);
}

struct bad {
    struct cv_limits l;
    int code;
    const char *step;
    const char *v1_file, *v2_file; /* named in the message */
};

static void test_bad_limits(void **state)
{
    struct fixture *f = *state;
    const struct bad bad[] = {
        /* refused by the kernel */
        {{.cpu_quota_us = 500, .cpu_period_us = 100000}, EINVAL, "cgroup.cpu", "cpu.cfs_quota_us '500'",
         "cpu.max '500 100000'"},
        {{.cpu_period_us = 100}, EINVAL, "cgroup.cpu", "cpu.cfs_period_us '100'", "cpu.max 'max 100'"},
        {{.memory = 32u << 20, .pids = 1u << 30}, EINVAL, "cgroup.pids", "pids.max '1073741824'",
         "pids.max '1073741824'"},
        /* refused before any mkdir */
        {{.memory = 64u << 20, .memory_swap = 32u << 20}, EINVAL, "cgroup.memory", "below", "below"},
        {{.cpu_weight = 20000}, EINVAL, "cgroup.cpu", "20000", "20000"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct containerv_error err = {0};
        const char *file = f->mode == CV_CGROUP_V2 ? bad[i].v2_file : bad[i].v1_file;
        int r = cv_cgroup_create(&f->cg[0], f->id[0], NULL, &bad[i].l, &err);
        print_message("    bad limit %zu: %s\n", i, err.message);
        assert_int_equal(r, -bad[i].code);
        assert_int_equal(err.code, bad[i].code);
        assert_string_equal(err.step, bad[i].step);
        assert_non_null(strstr(err.message, file));
        assert_false(any_dir(f, f->id[0]));
        assert_int_equal(f->cg[0].mode, CV_CGROUP_NONE);
    }
    struct containerv_error err = {0};
    assert_int_equal(cv_cgroup_create(&f->cg[0], "../escape", NULL, NULL, &err), -EINVAL);
    assert_int_equal(cv_cgroup_create(&f->cg[0], "", NULL, NULL, &err), -EINVAL);
}

static void test_idempotent_and_open(void **state)
{
    struct fixture *f = *state;
    struct containerv_error err = {0};
    struct cv_cgroup zero = {0}; /* a zeroed handle owns nothing, not even fd 0 */
    bool fd0_open = fcntl(0, F_GETFD) >= 0;
    assert_int_equal(cv_cgroup_destroy(&zero, &err), 0);
    cv_cgroup_close(&zero);
    assert_int_equal(fcntl(0, F_GETFD) >= 0, fd0_open);

    /* open of an id that does not exist: an empty handle */
    assert_int_equal(cv_cgroup_open(&f->cg[1], f->id[1], NULL, &err), 0);
    assert_int_equal(f->cg[1].v2_fd, -1);
    assert_int_equal(f->cg[1].v1_created, 0u);
    assert_int_equal(cv_cgroup_destroy(&f->cg[1], &err), 0);

    /* close keeps everything; open rebuilds the handle; destroy through it */
    struct cv_limits l = {.pids = 16};
    assert_int_equal(cv_cgroup_create(&f->cg[0], f->id[0], NULL, &l, &err), 0);
    unsigned created = f->cg[0].v1_created;
    struct child *ch = spawn(f);
    assert_int_equal(cv_cgroup_attach(&f->cg[0], ch->pid, &err), 0);
    cv_cgroup_close(&f->cg[0]);
    assert_true(all_dirs(f, f->id[0]));
    assert_int_equal(kill(ch->pid, 0), 0);
    assert_int_equal(cv_cgroup_destroy(&f->cg[0], &err), 0); /* closed: no-op */
    assert_true(all_dirs(f, f->id[0]));

    assert_int_equal(cv_cgroup_open(&f->cg[0], f->id[0], NULL, &err), 0);
    if (f->mode == CV_CGROUP_V2)
        assert_true(f->cg[0].v2_fd >= 0);
    else
        assert_int_equal(f->cg[0].v1_created, created);
    assert_int_equal(cv_cgroup_count_procs(&f->cg[0]), 1);
    assert_int_equal(cv_cgroup_destroy(&f->cg[0], &err), 0);
    assert_false(any_dir(f, f->id[0]));
    int status = reap_status(ch);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    assert_int_equal(cv_cgroup_destroy(&f->cg[0], &err), 0);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static void report(const char *what, uint64_t *ns, int n)
{
    qsort(ns, (size_t)n, sizeof(*ns), cmp_u64);
    print_message("    %-34s n=%d p50=%.1f us p90=%.1f us max=%.1f us\n", what, n, ns[n / 2] / 1e3,
                  ns[n * 9 / 10] / 1e3, ns[n - 1] / 1e3);
}

/* Informational: how long moving a process between two cgroups takes. */
static void test_attach_latency(void **state)
{
    enum { WARMUP = 5, N = 50 };
    struct fixture *f = *state;
    struct containerv_error err = {0};
    uint64_t t_attach[N], t_one[N], t_create[N];
    assert_int_equal(cv_cgroup_create(&f->cg[0], f->id[0], NULL, NULL, &err), 0);
    assert_int_equal(cv_cgroup_create(&f->cg[1], f->id[1], NULL, NULL, &err), 0);
    struct child *ch = spawn(f);
    for (int i = -WARMUP; i < N; i++) {
        uint64_t t0 = now_ns();
        assert_int_equal(cv_cgroup_attach(&f->cg[i & 1], ch->pid, &err), 0);
        if (i >= 0)
            t_attach[i] = now_ns() - t0;
    }
    if (f->mode == CV_CGROUP_V1) { /* one hierarchy at a time */
        char val[16];
        snprintf(val, sizeof(val), "%d", (int)ch->pid);
        for (int i = -WARMUP; i < N; i++) {
            char path[PATH_MAX];
            snprintf(path, sizeof(path), "%s/cgroup.procs", leaf(f, CV_V1_MEMORY, f->id[i & 1]));
            uint64_t t0 = now_ns();
            assert_int_equal(cv_write_file_at(AT_FDCWD, path, val, strlen(val)), 0);
            if (i >= 0)
                t_one[i] = now_ns() - t0;
        }
    }
    assert_int_equal(cv_cgroup_destroy(&f->cg[0], &err), 0);
    assert_int_equal(cv_cgroup_destroy(&f->cg[1], &err), 0);
    for (int i = 0; i < N; i++) {
        struct cv_limits l = {.memory = 32u << 20, .pids = 16, .cpu_weight = 100, .cpu_quota_us = 50000};
        uint64_t t0 = now_ns();
        assert_int_equal(cv_cgroup_create(&f->cg[2], f->id[2], NULL, &l, &err), 0);
        assert_int_equal(cv_cgroup_destroy(&f->cg[2], &err), 0);
        t_create[i] = now_ns() - t0;
    }
    print_message("    mode %s\n", f->mode == CV_CGROUP_V2 ? "v2" : "v1");
    report("cv_cgroup_attach (all hierarchies)", t_attach, N);
    if (f->mode == CV_CGROUP_V1)
        report("v1 memory cgroup.procs write", t_one, N);
    report("create(4 limits)+destroy, empty", t_create, N);
}

int main(void)
{
    if (geteuid() == 0 && cv_cgroup_mode() == CV_CGROUP_NONE) {
        fprintf(stderr, "test_cgroup: no cgroup file system, skipped\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_probe, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_swap_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_memory_extras, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cpuset_and_rt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_attach_kill_destroy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy_kills, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy_fork_storm, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kill_fork_storm, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy_frozen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nested, setup, teardown),
        cmocka_unit_test_setup_teardown(test_eexist, setup, teardown),
        cmocka_unit_test_setup_teardown(test_eexist_partial, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idempotent_and_open, setup, teardown),
        cmocka_unit_test_setup_teardown(test_attach_latency, setup, teardown),
    };
    return cvt_main("cgroup", tests, sizeof(tests) / sizeof(tests[0]), 240);
}
