/* A container without a pid namespace of its own: in the host's (the
 * namespaces without CONTAINERV_NS_PID: Kubernetes' hostPID, podman's
 * --pid host) or in one it joins (containerv_options_join_namespace with
 * CONTAINERV_NS_PID: a pod's shared pid namespace, podman's --pid
 * container:ID). Its init is not pid 1 there; its processes, orphans
 * included, still die with the container (through its cgroup) while the
 * namespace's other processes live on; it cannot be reset (the init's
 * kill(-1) would reach them); the creating thread's later children are
 * born in its own pid namespace again; bad joins are refused; nothing is
 * left. */
#include "cvt.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void ns_of(pid_t pid, char *buf, size_t size)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)pid);
    ssize_t n = readlink(path, buf, size - 1);
    if (n < 0)
        fail_msg("readlink %s: %s", path, strerror(errno));
    buf[n] = '\0';
}

/* sh -c 'sleep 100 & echo $!': an orphan once sh exits; its pid as the
 * container sees it */
static long orphan(struct containerv_container *c)
{
    static const char *const argv[] = {"/bin/sh", "-c", "sleep 100 >/dev/null 2>&1 & echo $!", NULL};
    char out[64];
    assert_int_equal(cvt_run(c, argv, NULL, out, sizeof(out)), 0);
    return strtol(out, NULL, 10);
}

/* the creating thread's next child is born in the test's own pid namespace */
static void assert_own_pidns_kept(void)
{
    char mine[64], kid[64];
    ns_of(getpid(), mine, sizeof(mine));
    pid_t p = fork();
    assert_true(p >= 0);
    if (p == 0) {
        pause();
        _exit(0);
    }
    ns_of(p, kid, sizeof(kid));
    kill(p, SIGKILL);
    waitpid(p, NULL, 0);
    if (strcmp(mine, kid))
        fail_msg("a child of the creating thread is in %s, not in the creator's %s", kid, mine);
}

static void test_host_pidns(void **state)
{
    (void)state;
    struct cvt_snap before;
    cvt_snapshot(&before);
    struct containerv_options *o = cvt_options();
    assert_int_equal(containerv_options_set_namespaces(o, CONTAINERV_NS_DEFAULT & ~CONTAINERV_NS_PID), 0);
    struct containerv_container *c = cvt_create(o);
    containerv_options_free(o);
    char host[64], init[64];
    ns_of(getpid(), host, sizeof(host));
    ns_of(containerv_init_pid(c), init, sizeof(init));
    assert_string_equal(init, host);
    /* inside, the processes are the host's: $$ is a host pid, and /proc shows this test */
    char out[128], cmd[128];
    snprintf(cmd, sizeof(cmd), "echo $$; test -d /proc/%d && echo sees-the-test", (int)getpid());
    const char *const self[] = {"/bin/sh", "-c", cmd, NULL};
    assert_int_equal(cvt_run(c, self, NULL, out, sizeof(out)), 0);
    long inner = strtol(out, NULL, 10);
    if (inner <= 1 || !strstr(out, "sees-the-test"))
        fail_msg("in the host's pid namespace: '%s'", out);
    /* an orphan is the container's: destroy kills it */
    long o1 = orphan(c);
    assert_true(o1 > 1);
    assert_int_equal(kill((pid_t)o1, 0), 0);
    struct containerv_error err;
    assert_int_equal(containerv_reset(c, &err), -EOPNOTSUPP);
    assert_non_null(strstr(err.message, "pid namespace"));
    cvt_destroy(c);
    assert_int_equal(containerv_teardown_wait(NULL), 0);
    if (!cvt_wait_dead((pid_t)o1))
        fail_msg("the container's orphan %ld outlived it", o1);
    cvt_assert_no_leaks(&before, "a container in the host's pid namespace");
    cvt_snap_free(&before);
}

static void test_join_pidns(void **state)
{
    (void)state;
    struct cvt_snap before;
    cvt_snapshot(&before);
    struct containerv_options *oa = cvt_options();
    struct containerv_container *a = cvt_create(oa);
    containerv_options_free(oa);
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)containerv_init_pid(a));
    long a_sleeper = orphan(a); /* a's, in a's pid namespace */
    struct containerv_options *o = cvt_options();
    assert_int_equal(containerv_options_join_namespace(o, CONTAINERV_NS_PID, path), 0);
    struct containerv_container *b = cvt_create(o);
    containerv_options_free(o);
    assert_own_pidns_kept();
    char na[64], nb[64];
    ns_of(containerv_init_pid(a), na, sizeof(na));
    ns_of(containerv_init_pid(b), nb, sizeof(nb));
    assert_string_equal(nb, na);
    /* in b, pid 1 is a's init, and a's sleeper is visible */
    char out[128], cmd[128];
    snprintf(cmd, sizeof(cmd), "cat /proc/1/comm; test -d /proc/%ld && echo sees-a", a_sleeper);
    const char *const look[] = {"/bin/sh", "-c", cmd, NULL};
    assert_int_equal(cvt_run(b, look, NULL, out, sizeof(out)), 0);
    assert_string_equal(out, "containerv-init\nsees-a");
    /* b's orphan dies with b; a and its sleeper live on */
    long b_orphan = orphan(b);
    /* the orphan's pid is b's view (a's namespace): find it through a */
    snprintf(cmd, sizeof(cmd), "test -d /proc/%ld && echo there || echo gone", b_orphan);
    const char *const there[] = {"/bin/sh", "-c", cmd, NULL};
    assert_int_equal(cvt_run(a, there, NULL, out, sizeof(out)), 0);
    assert_string_equal(out, "there");
    struct containerv_error err;
    assert_int_equal(containerv_reset(b, &err), -EOPNOTSUPP);
    cvt_destroy(b);
    assert_int_equal(containerv_teardown_wait(NULL), 0);
    bool gone = false;
    for (int i = 0; i < 200 && !gone; i++) {
        out[0] = '\0';
        assert_int_equal(cvt_run(a, there, NULL, out, sizeof(out)), 0);
        gone = strcmp(out, "there") != 0;
        if (!gone)
            usleep(10000);
    }
    if (!gone)
        fail_msg("b's orphan (%ld in the shared namespace) outlived b", b_orphan);
    snprintf(cmd, sizeof(cmd), "test -d /proc/%ld && echo there || echo gone", a_sleeper);
    const char *const a_there[] = {"/bin/sh", "-c", cmd, NULL};
    assert_int_equal(cvt_run(a, a_there, NULL, out, sizeof(out)), 0);
    assert_string_equal(out, "there"); /* a's own process was not b's to kill */
    cvt_destroy(a);
    assert_int_equal(containerv_teardown_wait(NULL), 0);
    cvt_assert_no_leaks(&before, "a container in a joined pid namespace");
    cvt_snap_free(&before);
}

/* A create that fails after the child started its helper: outside a pid
 * namespace of its own nothing kills that helper but the child, and the
 * next create reuses the block it ran on: alternating failed and good
 * creates leave no process and never hang. */
static void test_failed_create_leaves_no_helper(void **state)
{
    (void)state;
    struct cvt_snap before;
    cvt_snapshot(&before);
    for (int i = 0; i < 10; i++) {
        struct containerv_options *o = cvt_options();
        assert_int_equal(containerv_options_set_namespaces(o, CONTAINERV_NS_DEFAULT & ~CONTAINERV_NS_PID), 0);
        struct containerv_container *c = NULL;
        struct containerv_error err;
        setenv("CONTAINERV_FAULT", i % 2 ? "child.cgroup.join" : "child.mount.tmp", 1);
        int r = containerv_create(cvt_id(), o, &c, &err);
        unsetenv("CONTAINERV_FAULT");
        assert_int_equal(r, -EIO);
        c = cvt_create(o); /* on the block the failed one used */
        containerv_options_free(o);
        cvt_destroy(c);
        assert_int_equal(containerv_teardown_wait(NULL), 0);
    }
    cvt_assert_no_leaks(&before, "failed creates in the host's pid namespace");
    cvt_snap_free(&before);
}

static void test_bad_joins(void **state)
{
    (void)state;
    struct cvt_snap before;
    cvt_snapshot(&before);
    struct containerv_container *c = NULL;
    struct containerv_error err;
    /* not a pid namespace */
    struct containerv_options *o = cvt_options();
    assert_int_equal(containerv_options_join_namespace(o, CONTAINERV_NS_PID, "/proc/self/ns/net"), 0);
    assert_int_equal(containerv_create(cvt_id(), o, &c, &err), -EINVAL);
    assert_non_null(strstr(err.message, "not a pid namespace"));
    containerv_options_free(o);
    /* missing */
    o = cvt_options();
    assert_int_equal(containerv_options_join_namespace(o, CONTAINERV_NS_PID, "/proc/999999999/ns/pid"), 0);
    assert_int_equal(containerv_create(cvt_id(), o, &c, &err), -ENOENT);
    containerv_options_free(o);
    /* with a user namespace */
    o = cvt_options();
    assert_int_equal(containerv_options_set_namespaces(o, (CONTAINERV_NS_DEFAULT & ~CONTAINERV_NS_PID) |
                                                              CONTAINERV_NS_USER),
                     0);
    assert_int_equal(containerv_options_add_uid_map(o, 0, 100000, 65536), 0);
    assert_int_equal(containerv_options_add_gid_map(o, 0, 100000, 65536), 0);
    assert_int_equal(containerv_create(cvt_id(), o, &c, &err), -EOPNOTSUPP);
    assert_non_null(strstr(err.message, "user namespace"));
    containerv_options_free(o);
    /* the mount namespace stays required */
    o = containerv_options_new();
    assert_int_equal(containerv_options_set_namespaces(o, CONTAINERV_NS_DEFAULT & ~CONTAINERV_NS_MOUNT), -EINVAL);
    containerv_options_free(o);
    assert_own_pidns_kept();
    cvt_assert_no_leaks(&before, "refused pid namespace joins");
    cvt_snap_free(&before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_host_pidns),
        cmocka_unit_test(test_join_pidns),
        cmocka_unit_test(test_failed_create_leaves_no_helper),
        cmocka_unit_test(test_bad_joins),
    };
    return cvt_main("lib_pidns", tests, sizeof(tests) / sizeof(tests[0]), 120);
}
