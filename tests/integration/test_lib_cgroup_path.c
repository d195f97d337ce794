/* containerv_options_set_cgroup_path: the container's cgroup where the
 * caller says (an OCI config's linux.cgroupsPath). An absolute path is
 * taken from each hierarchy's root, a relative one from containerv's parent;
 * the limits land there, the container's processes are in it, an attached
 * handle finds it, destroy removes it and the parents it made (one that
 * existed stays), gc removes it after the creator was
 * killed, and bad paths or an existing cgroup are refused with nothing left. */
#include "cvt.h"

#include <containerv/metrics.h>
#include <containerv/pool.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static bool v2_host(void)
{
    struct stat st;
    return stat("/sys/fs/cgroup/cgroup.controllers", &st) == 0;
}

/* The directory of the cgroup at rel (below the hierarchy's root) that
 * holds the memory controller's files. */
static void mem_dir(char *buf, size_t size, const char *rel)
{
    snprintf(buf, size, v2_host() ? "/sys/fs/cgroup/%s" : "/sys/fs/cgroup/memory/%s", rel);
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* mkdir top in every hierarchy there is: a parent that exists before */
static void make_parent(const char *top)
{
    static const char *const roots[] = {"", "/memory", "/pids", "/cpu,cpuacct", "/cpu", "/cpuacct",
                                        "/freezer", "/blkio"};
    for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
        char root[64], p[512];
        struct stat st;
        snprintf(root, sizeof(root), "/sys/fs/cgroup%s/cgroup.procs", roots[i]);
        if (stat(root, &st) != 0)
            continue;
        snprintf(p, sizeof(p), "/sys/fs/cgroup%s/%s", roots[i], top);
        mkdir(p, 0755);
    }
}

/* rmdir the parents the test's paths made: top/... in every hierarchy,
 * deepest first (empty directories only; a cgroup still in use stays and
 * the leak check says so) */
static void remove_parents(const char *top, const char *mid)
{
    static const char *const roots[] = {"", "/memory", "/pids", "/cpu,cpuacct", "/cpu", "/cpuacct",
                                        "/freezer", "/blkio"};
    for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
        char p[512];
        if (mid) {
            snprintf(p, sizeof(p), "/sys/fs/cgroup%s/%s/%s", roots[i], top, mid);
            rmdir(p);
        }
        snprintf(p, sizeof(p), "/sys/fs/cgroup%s/%s", roots[i], top);
        rmdir(p);
    }
}

/* whether /proc/PID/cgroup puts pid at rel (v2: "0::/rel"; v1: the memory line) */
static bool pid_in(pid_t pid, const char *rel)
{
    char path[64], want[600];
    snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
    char *s = cvt_read_file(path);
    if (!s)
        return false;
    snprintf(want, sizeof(want), v2_host() ? "0::/%s\n" : ":memory:/%s\n", rel);
    bool in = strstr(s, want) != NULL;
    if (!in)
        print_message("pid %d: %s\nwanted: %s", (int)pid, s, want);
    free(s);
    return in;
}

static void check_placed(const char *given, const char *rel)
{
    struct cvt_snap before;
    cvt_snapshot(&before);
    struct containerv_options *o = cvt_options();
    assert_int_equal(containerv_options_set_cgroup_path(o, given), 0);
    assert_int_equal(containerv_options_set_memory_limit(o, 48ull << 20), 0);
    assert_int_equal(containerv_options_set_pids_limit(o, 16), 0);
    struct containerv_container *c = cvt_create(o);
    containerv_options_free(o);

    char dir[512], file[600];
    mem_dir(dir, sizeof(dir), rel);
    snprintf(file, sizeof(file), "%s/%s", dir, v2_host() ? "memory.max" : "memory.limit_in_bytes");
    char *limit = cvt_read_file(file);
    assert_non_null(limit);
    assert_int_equal(strtoull(limit, NULL, 10), 48ull << 20);
    free(limit);
    assert_true(pid_in(containerv_init_pid(c), rel));

    /* a spawned process is in it too, and the pids limit holds there */
    struct containerv_error err;
    pid_t pid = cvt_spawn_sleeper(c, &err);
    if (pid < 0)
        fail_msg("spawn: %s", err.message);
    assert_true(pid_in(pid, rel));
    char out[128];
    assert_int_equal(cvt_cvtest(c, out, sizeof(out), "forkbomb", "100", NULL), 0);
    int forked = -1;
    char what[32] = "";
    if (sscanf(out, "%d %31s", &forked, what) != 2 || forked >= 16 || strcmp(what, "EAGAIN"))
        fail_msg("forkbomb 100 under a pids limit of 16 at cgroup path %s: \"%s\"", rel, out);

    /* another handle (attach) finds the cgroup through the state */
    struct containerv_container *a = NULL;
    assert_int_equal(containerv_attach(cvt.runtime_dir, containerv_id(c), &a, &err), 0);
    struct containerv_runtime_metrics m;
    assert_int_equal(containerv_get_runtime_metrics_ex(a, &m, &err), 0);
    assert_true(m.memory_usage_bytes > 0);
    containerv_release(a);

    cvt_destroy(c);
    assert_int_equal(containerv_teardown_wait(NULL), 0);
    assert_false(exists(dir));
    cvt_snap_free(&before);
}

static void test_absolute_path(void **state)
{
    (void)state;
    char top[80], given[200], rel[200];
    snprintf(top, sizeof(top), "cvt-cgpath-%d", (int)getpid());
    snprintf(given, sizeof(given), "/%s//inner/leaf/", top); /* a '/' run and a trailing one */
    snprintf(rel, sizeof(rel), "%s/inner/leaf", top);
    struct cvt_snap before;
    cvt_snapshot(&before);
    make_parent(top); /* top exists before, inner does not */
    check_placed(given, rel);
    /* the parent it made is gone with it, the one that existed stays */
    char dir[512], inner[300];
    snprintf(inner, sizeof(inner), "%s/inner", top);
    mem_dir(dir, sizeof(dir), inner);
    assert_false(exists(dir));
    mem_dir(dir, sizeof(dir), top);
    assert_true(exists(dir));
    remove_parents(top, NULL);
    assert_false(exists(dir));
    cvt_assert_no_leaks(&before, "a container at an absolute cgroup path");
    cvt_snap_free(&before);
}

static void test_relative_path(void **state)
{
    (void)state;
    char top[80], given[200], rel[240];
    snprintf(top, sizeof(top), "cvt-cgrel-%d", (int)getpid());
    snprintf(given, sizeof(given), "%s/leaf", top);
    snprintf(rel, sizeof(rel), "containerv/%s/leaf", top);
    struct cvt_snap before;
    cvt_snapshot(&before);
    check_placed(given, rel);
    /* the parent it made below containerv/ is gone with it */
    char ctop[120], dir[512];
    snprintf(ctop, sizeof(ctop), "containerv/%s", top);
    mem_dir(dir, sizeof(dir), ctop);
    assert_false(exists(dir));
    cvt_assert_no_leaks(&before, "a container at a relative cgroup path");
    cvt_snap_free(&before);
}

static void test_bad_paths(void **state)
{
    (void)state;
    struct containerv_options *o = cvt_options();
    char longp[CONTAINERV_CGROUP_PATH_MAX + 8];
    memset(longp, 'a', sizeof(longp) - 1);
    longp[0] = '/';
    longp[sizeof(longp) - 1] = '\0';
    const char *const bad[] = {"/", "//", "/a/../b", "..", "a/./b", "/a/..", "/a\nb", "/a\tb", longp,
                               "/containerv", "//containerv/x"}; /* the default containers' tree */
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (containerv_options_set_cgroup_path(o, bad[i]) != -EINVAL)
            fail_msg("cgroup path '%.40s' was taken", bad[i]);
    /* "" and NULL go back to the default */
    assert_int_equal(containerv_options_set_cgroup_path(o, "/x"), 0);
    assert_int_equal(containerv_options_set_cgroup_path(o, ""), 0);
    assert_int_equal(containerv_options_set_cgroup_path(o, NULL), 0);
    /* a template cannot hold one */
    assert_int_equal(containerv_options_set_cgroup_path(o, "/cvt-template-path"), 0);
    struct containerv_error err;
    char sd[600];
    snprintf(sd, sizeof(sd), "%s/state", cvt.tmp);
    assert_int_equal(containerv_template_create(sd, "t", o, &err), -EINVAL);
    assert_non_null(strstr(err.message, "cgroup path"));
    containerv_options_free(o);
}

/* A path below another container's cgroup (one with processes) is refused:
 * the outer container's destroy would kill the inner one. */
static void test_inside_another_container(void **state)
{
    (void)state;
    struct cvt_snap before;
    cvt_snapshot(&before);
    struct containerv_options *o = cvt_options();
    struct containerv_container *outer = cvt_create(o);
    containerv_options_free(o);
    char rel[128];
    snprintf(rel, sizeof(rel), "%s/inner", containerv_id(outer)); /* below containerv/<outer's id> */
    o = cvt_options();
    assert_int_equal(containerv_options_set_cgroup_path(o, rel), 0);
    struct containerv_container *c = NULL;
    struct containerv_error err;
    assert_int_equal(containerv_create(cvt_id(), o, &c, &err), -EBUSY);
    assert_non_null(strstr(err.message, "has processes"));
    containerv_options_free(o);
    char dir[512];
    snprintf(rel, sizeof(rel), "containerv/%s/inner", containerv_id(outer));
    mem_dir(dir, sizeof(dir), rel);
    assert_false(exists(dir));
    cvt_destroy(outer);
    assert_int_equal(containerv_teardown_wait(NULL), 0);
    cvt_assert_no_leaks(&before, "a cgroup path inside another container's");
    cvt_snap_free(&before);
}

/* An existing cgroup is not taken over: EEXIST, it is left as it was, and
 * nothing else is left. */
static void test_existing_cgroup(void **state)
{
    (void)state;
    char top[80], dir[512], given[200];
    snprintf(top, sizeof(top), "cvt-cgexist-%d", (int)getpid());
    mem_dir(dir, sizeof(dir), top);
    assert_int_equal(mkdir(dir, 0755), 0);
    struct cvt_snap before;
    cvt_snapshot(&before);
    struct containerv_options *o = cvt_options();
    snprintf(given, sizeof(given), "/%s", top);
    assert_int_equal(containerv_options_set_cgroup_path(o, given), 0);
    struct containerv_container *c = NULL;
    struct containerv_error err;
    containerv_error_clear(&err);
    assert_int_equal(containerv_create(cvt_id(), o, &c, &err), -EEXIST);
    assert_null(c);
    assert_non_null(strstr(err.message, top));
    containerv_options_free(o);
    assert_true(exists(dir));
    cvt_assert_no_leaks(&before, "a create refused for an existing cgroup");
    cvt_snap_free(&before);
    remove_parents(top, NULL);
    assert_false(exists(dir));
}

/* The creator is killed after create (its container dies with it): gc
 * finds the cgroup at the path the state records and removes it. */
static void test_killed_creator_then_gc(void **state)
{
    (void)state;
    char top[80], given[200], rel[200], dir[512];
    snprintf(top, sizeof(top), "cvt-cgkill-%d", (int)getpid());
    snprintf(given, sizeof(given), "/%s/leaf", top);
    snprintf(rel, sizeof(rel), "%s/leaf", top);
    mem_dir(dir, sizeof(dir), rel);
    struct cvt_snap before;
    cvt_snapshot(&before);
    const char *id = cvt_id();
    int p[2];
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    fflush(NULL);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        close(p[0]);
        struct containerv_options *o = cvt_options();
        containerv_options_set_cgroup_path(o, given);
        struct containerv_container *c = NULL;
        struct containerv_error err;
        pid_t init = containerv_create(id, o, &c, &err) == 0 ? containerv_init_pid(c) : -1;
        if (write(p[1], &init, sizeof(init)) != sizeof(init))
            _exit(1);
        pause();
        _exit(0);
    }
    close(p[1]);
    pid_t init = -1;
    assert_int_equal(read(p[0], &init, sizeof(init)), (ssize_t)sizeof(init));
    close(p[0]);
    assert_true(init > 0);
    assert_true(exists(dir));
    int fd = (int)syscall(SYS_pidfd_open, init, 0);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    if (fd >= 0) { /* it dies with its creator; bounded only to catch a hang */
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        assert_int_equal(poll(&pfd, 1, 10000), 1);
        close(fd);
    }
    struct containerv_error err;
    int removed = 0;
    assert_int_equal(containerv_gc(cvt.runtime_dir, &removed, &err), 0);
    assert_int_equal(removed, 1);
    assert_false(exists(dir));
    mem_dir(dir, sizeof(dir), top);
    assert_false(exists(dir)); /* gc, another process, read the parent it made from the state */
    cvt_assert_no_leaks(&before, "a killed creator's container at a cgroup path, after gc");
    cvt_snap_free(&before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_absolute_path),
        cmocka_unit_test(test_relative_path),
        cmocka_unit_test(test_bad_paths),
        cmocka_unit_test(test_inside_another_container),
        cmocka_unit_test(test_existing_cgroup),
        cmocka_unit_test(test_killed_creator_then_gc),
    };
    return cvt_main("lib_cgroup_path", tests, sizeof(tests) / sizeof(tests[0]), 120);
}
