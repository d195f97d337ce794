/* Options setters: bad values are rejected with -EINVAL (or -E2BIG when a
 * list is full) and leave the options as they were; good values are stored. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>

#include "common/internal.h"

static int setup(void **state)
{
    *state = containerv_options_new();
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    containerv_options_free(*state);
    return 0;
}

static void test_defaults(void **state)
{
    struct containerv_options *o = *state;
    assert_int_equal(o->namespaces, CONTAINERV_NS_DEFAULT);
    assert_true(o->die_with_parent);
    assert_null(o->rootfs);
    assert_int_equal(o->n_lowers, 0);
    assert_int_equal(o->relax, 0);
    assert_int_equal(o->limits.memory, 0);
    assert_int_equal(o->limits.pids, 0);
    assert_false(o->read_only);
}

static void test_null_options(void **state)
{
    (void)state;
    assert_int_equal(containerv_options_set_rootfs(NULL, "/"), -EINVAL);
    assert_int_equal(containerv_options_add_lower(NULL, "/"), -EINVAL);
    assert_int_equal(containerv_options_set_hostname(NULL, "h"), -EINVAL);
    assert_int_equal(containerv_options_add_env(NULL, "A=b"), -EINVAL);
    assert_int_equal(containerv_options_set_memory_limit(NULL, 1 << 20), -EINVAL);
    assert_int_equal(containerv_options_set_pids_limit(NULL, 10), -EINVAL);
    containerv_options_free(NULL); /* no crash */
}

static void test_hostname(void **state)
{
    struct containerv_options *o = *state;
    assert_int_equal(containerv_options_set_hostname(o, ""), -EINVAL);
    assert_int_equal(containerv_options_set_hostname(o, NULL), -EINVAL);
    char too_long[66];
    memset(too_long, 'h', 65);
    too_long[65] = '\0';
    assert_int_equal(containerv_options_set_hostname(o, too_long), -EINVAL);
    assert_null(o->hostname);
    assert_int_equal(containerv_options_set_hostname(o, "box"), 0);
    assert_string_equal(o->hostname, "box");
    assert_int_equal(containerv_options_set_hostname(o, "box2"), 0); /* replaces */
    assert_string_equal(o->hostname, "box2");
}

static void test_rootfs_and_lowers(void **state)
{
    struct containerv_options *o = *state;
    assert_int_equal(containerv_options_set_rootfs(o, ""), -EINVAL);
    assert_int_equal(containerv_options_set_rootfs(o, NULL), -EINVAL);
    assert_int_equal(containerv_options_add_lower(o, ""), -EINVAL);
    assert_int_equal(containerv_options_add_lower(o, NULL), -EINVAL);
    assert_int_equal(o->n_lowers, 0);
    for (int i = 0; i < CV_MAX_LOWERS; i++) {
        char dir[32];
        snprintf(dir, sizeof(dir), "/layer%d", i);
        assert_int_equal(containerv_options_add_lower(o, dir), 0);
    }
    int r = containerv_options_add_lower(o, "/one-too-many");
    if (r != -EINVAL && r != -E2BIG)
        fail_msg("lower #%d: want -EINVAL or -E2BIG, got %d", CV_MAX_LOWERS + 1, r);
    assert_int_equal(o->n_lowers, CV_MAX_LOWERS);
    assert_string_equal(o->lowers[0], "/layer0"); /* order kept: first is top-most */
    assert_string_equal(o->lowers[CV_MAX_LOWERS - 1], "/layer31");
}

static void test_env(void **state)
{
    struct containerv_options *o = *state;
    const char *bad[] = {"NOEQUALS", "=value", "", NULL};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (containerv_options_add_env(o, bad[i]) != -EINVAL)
            fail_msg("add_env(\"%s\") accepted", bad[i] ? bad[i] : "(null)");
    assert_int_equal(o->n_env, 0);
    assert_int_equal(containerv_options_add_env(o, "A=1"), 0);
    assert_int_equal(containerv_options_add_env(o, "AB=2"), 0);
    assert_int_equal(containerv_options_add_env(o, "EMPTY="), 0);
    assert_int_equal(containerv_options_add_env(o, "A=3"), 0); /* replaces A, not AB */
    assert_int_equal(o->n_env, 3);
    assert_string_equal(o->env[0], "A=3");
    assert_string_equal(o->env[1], "AB=2");
    assert_string_equal(o->env[2], "EMPTY=");
}

static void test_env_full(void **state)
{
    struct containerv_options *o = *state;
    for (int i = 0; i < CV_MAX_ENV; i++) {
        char kv[32];
        snprintf(kv, sizeof(kv), "V%d=x", i);
        assert_int_equal(containerv_options_add_env(o, kv), 0);
    }
    int r = containerv_options_add_env(o, "ONE_MORE=x");
    assert_true(r == -E2BIG || r == -EINVAL);
    assert_int_equal(containerv_options_add_env(o, "V0=replaced"), 0); /* replacing still works */
    assert_int_equal(o->n_env, CV_MAX_ENV);
}

static void test_workdir(void **state)
{
    struct containerv_options *o = *state;
    assert_int_equal(containerv_options_set_workdir(o, "relative"), -EINVAL);
    assert_int_equal(containerv_options_set_workdir(o, ""), -EINVAL);
    assert_int_equal(containerv_options_set_workdir(o, NULL), -EINVAL);
    assert_null(o->workdir);
    assert_int_equal(containerv_options_set_workdir(o, "/tmp"), 0);
    assert_string_equal(o->workdir, "/tmp");
}

static void test_user(void **state)
{
    struct containerv_options *o = *state;
    assert_int_equal(containerv_options_set_user(o, (uid_t)-1, 0), -EINVAL);
    assert_int_equal(containerv_options_set_user(o, 0, (gid_t)-1), -EINVAL);
    assert_int_equal(containerv_options_set_user(o, 1000, 1001), 0);
    assert_int_equal(o->uid, 1000);
    assert_int_equal(o->gid, 1001);
}

static void test_binds(void **state)
{
    struct containerv_options *o = *state;
    assert_int_equal(containerv_options_add_bind(o, "/src", "relative/dst", false), -EINVAL);
    assert_int_equal(containerv_options_add_bind(o, "/src", "", false), -EINVAL);
    assert_int_equal(containerv_options_add_bind(o, "/src", "/", false), -EINVAL);
    assert_int_equal(containerv_options_add_bind(o, "", "/dst", false), -EINVAL);
    assert_int_equal(containerv_options_add_bind(o, NULL, "/dst", false), -EINVAL);
    assert_int_equal(containerv_options_add_bind(o, "/src", NULL, false), -EINVAL);
    assert_int_equal(o->n_binds, 0);
    assert_int_equal(containerv_options_add_bind(o, "/src", "/mnt/x", true), 0);
    assert_int_equal(o->n_binds, 1);
    assert_string_equal(o->binds[0].src, "/src");
    assert_string_equal(o->binds[0].dst, "/mnt/x");
    assert_true(o->binds[0].read_only);
}

static void test_limits(void **state)
{
    struct containerv_options *o = *state;
    /* cpu weight: 1..10000 */
    assert_int_equal(containerv_options_set_cpu_weight(o, 0), -EINVAL);
    assert_int_equal(containerv_options_set_cpu_weight(o, 10001), -EINVAL);
    assert_int_equal(containerv_options_set_cpu_weight(o, UINT64_MAX), -EINVAL);
    assert_int_equal(containerv_options_set_cpu_weight(o, 1), 0);
    assert_int_equal(containerv_options_set_cpu_weight(o, 10000), 0);
    assert_int_equal(o->limits.cpu_weight, 10000);
    /* pids: at least 1 */
    assert_int_equal(containerv_options_set_pids_limit(o, 0), -EINVAL);
    assert_int_equal(o->limits.pids, 0);
    assert_int_equal(containerv_options_set_pids_limit(o, 16), 0);
    assert_int_equal(o->limits.pids, 16);
    /* memory: a limit below one page cannot hold a process */
    assert_int_equal(containerv_options_set_memory_limit(o, 1), -EINVAL);
    assert_int_equal(containerv_options_set_memory_limit(o, 64ull << 20), 0);
    assert_int_equal(o->limits.memory, 64ull << 20);
    assert_int_equal(containerv_options_set_memory_swap_limit(o, 1), -EINVAL);
    /* cpu quota: a period outside 1 ms .. 1 s is refused */
    assert_int_equal(containerv_options_set_cpu_quota(o, 50000, 10), -EINVAL);
    assert_int_equal(containerv_options_set_cpu_quota(o, 50000, 2000000), -EINVAL);
    assert_int_equal(containerv_options_set_cpu_quota(o, 50000, 0), 0); /* the period: the kernel's, or in force */
    assert_int_equal(o->limits.cpu_period_us, 0);
    assert_int_equal(containerv_options_set_cpu_quota(o, 0, 50000), 0);      /* a period alone */
    assert_int_equal(o->limits.cpu_quota_us, 0);
    assert_int_equal(o->limits.cpu_period_us, 50000);
    assert_int_equal(containerv_options_set_cpu_quota(o, CONTAINERV_UNLIMITED, 0), 0); /* no quota, given */
    assert_true(o->limits.cpu_quota_us == CONTAINERV_UNLIMITED);
    assert_int_equal(containerv_options_set_pids_limit(o, CONTAINERV_UNLIMITED), 0);
    assert_int_equal(containerv_options_set_pids_limit(o, (uint64_t)INT_MAX + 1), -EINVAL);
    assert_int_equal(containerv_options_set_memory_limit(o, CONTAINERV_UNLIMITED), 0);
    assert_int_equal(containerv_options_set_memory_swap_limit(o, CONTAINERV_UNLIMITED), 0);
    assert_int_equal(containerv_options_set_cpu_quota(o, 50000, 100000), 0);
    assert_int_equal(o->limits.cpu_quota_us, 50000);
    assert_int_equal(o->limits.cpu_period_us, 100000);
    /* reservation, swappiness, the OOM killer */
    assert_int_equal(containerv_options_set_memory_reservation(o, 1), -EINVAL);
    assert_int_equal(containerv_options_set_memory_reservation(o, 32ull << 20), 0);
    assert_int_equal(o->limits.memory_reservation, 32ull << 20);
    assert_int_equal(containerv_options_set_memory_swappiness(o, 101), -EINVAL);
    assert_int_equal(containerv_options_set_memory_swappiness(o, -2), -EINVAL);
    assert_false(o->limits.swappiness_set);
    assert_int_equal(containerv_options_set_memory_swappiness(o, 0), 0);
    assert_true(o->limits.swappiness_set);
    assert_int_equal(o->limits.swappiness, 0);
    assert_int_equal(containerv_options_set_memory_swappiness(o, -1), 0);
    assert_false(o->limits.swappiness_set);
    assert_int_equal(containerv_options_set_oom_kill_disable(o, true), 0);
    assert_true(o->limits.oom_kill_disable);
    /* cpusets and the realtime runtime */
    static const char *const bad_lists[] = {"", "x", "1-", "-1", "3-1", "1,", ",1", "1,,2", "8192", "0-8192", "1 2"};
    for (size_t i = 1; i < sizeof(bad_lists) / sizeof(bad_lists[0]); i++)
        assert_int_equal(containerv_options_set_cpuset_cpus(o, bad_lists[i]), -EINVAL);
    assert_int_equal(containerv_options_set_cpuset_cpus(o, "0-3,8,10-11"), 0);
    assert_string_equal(o->limits.cpuset_cpus, "0-3,8,10-11");
    assert_int_equal(containerv_options_set_cpuset_cpus(o, ""), 0);
    assert_string_equal(o->limits.cpuset_cpus, "");
    assert_int_equal(containerv_options_set_cpuset_mems(o, "0,1"), 0);
    assert_string_equal(o->limits.cpuset_mems, "0,1");
    assert_int_equal(containerv_options_set_cpu_realtime(o, 950001, 950000), -EINVAL);
    assert_int_equal(containerv_options_set_cpu_realtime(o, -2, 0), -EINVAL);
    assert_int_equal(containerv_options_set_cpu_realtime(o, CONTAINERV_RT_RUNTIME_KEEP, 0), -EINVAL); /* nothing to set */
    assert_int_equal(containerv_options_set_cpu_realtime(o, CONTAINERV_RT_RUNTIME_KEEP, 400000), 0);
    assert_int_equal(containerv_options_set_cpu_realtime(o, 10000, 500000), 0);
    assert_true(o->limits.rt_set);
    assert_int_equal(o->limits.rt_runtime_us, 10000);
    /* cgroup paths */
    assert_int_equal(containerv_options_set_cgroup_path(o, "/"), -EINVAL);
    assert_int_equal(containerv_options_set_cgroup_path(o, "a/../b"), -EINVAL);
    assert_int_equal(containerv_options_set_cgroup_path(o, "/kubepods/pod1/c1"), 0);
    assert_string_equal(o->cgroup_path, "/kubepods/pod1/c1");
    assert_int_equal(containerv_options_set_cgroup_path(o, NULL), 0);
    assert_null(o->cgroup_path);
}

static void test_namespaces_and_maps(void **state)
{
    struct containerv_options *o = *state;
    /* the mount namespace is required; without pid: the host's */
    assert_int_equal(containerv_options_set_namespaces(o, CONTAINERV_NS_PID), -EINVAL);
    assert_int_equal(containerv_options_set_namespaces(o, 1u << 20 | CONTAINERV_NS_DEFAULT), -EINVAL);
    assert_int_equal(o->namespaces, CONTAINERV_NS_DEFAULT);
    assert_int_equal(containerv_options_set_namespaces(o, CONTAINERV_NS_MOUNT), 0);
    assert_int_equal(o->namespaces, CONTAINERV_NS_MOUNT);
    assert_int_equal(containerv_options_set_namespaces(o, CONTAINERV_NS_MOUNT | CONTAINERV_NS_PID), 0);
    /* id maps */
    assert_int_equal(containerv_options_add_uid_map(o, 0, 100000, 0), -EINVAL);
    assert_int_equal(containerv_options_add_uid_map(o, 0, UINT32_MAX, 2), -EINVAL);
    assert_int_equal(containerv_options_add_uid_map(o, 0, 100000, 65536), 0);
    assert_true(o->namespaces & CONTAINERV_NS_USER);
    assert_int_equal(containerv_options_add_gid_map(o, 0, 100000, 65536), 0);
    for (int i = 1; i < CV_MAX_IDMAPS; i++)
        assert_int_equal(containerv_options_add_gid_map(o, (uint32_t)i * 70000u, 200000, 1), 0);
    assert_int_equal(containerv_options_add_gid_map(o, 900000, 200000, 1), -EINVAL);
}

static void test_relax_and_runtime_dir(void **state)
{
    struct containerv_options *o = *state;
    assert_int_equal(containerv_options_set_relax(o, 1u << 10), -EINVAL);
    assert_int_equal(containerv_options_set_relax(o, CONTAINERV_RELAX_SECCOMP), 0);
    assert_int_equal(o->relax, CONTAINERV_RELAX_SECCOMP);
    assert_int_equal(containerv_options_set_runtime_dir(o, "relative"), -EINVAL);
    assert_int_equal(containerv_options_set_runtime_dir(o, ""), -EINVAL);
    assert_int_equal(containerv_options_set_runtime_dir(o, "/run/x"), 0);
    assert_string_equal(o->runtime_dir, "/run/x");
}

static void test_steps_listed(void **state)
{
    (void)state;
    const char *const *steps = containerv_create_steps();
    assert_non_null(steps);
    size_t n = 0;
    for (; steps[n]; n++) {
        assert_true(steps[n][0] != '\0');
        assert_true(strlen(steps[n]) < sizeof(((struct containerv_error *)0)->step));
        for (size_t j = 0; j < n; j++)
            if (!strcmp(steps[j], steps[n]))
                fail_msg("step \"%s\" listed twice", steps[n]);
    }
    if (n < 4)
        fail_msg("only %zu create steps listed", n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
        cmocka_unit_test(test_null_options),
        cmocka_unit_test_setup_teardown(test_hostname, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rootfs_and_lowers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_workdir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_user, setup, teardown),
        cmocka_unit_test_setup_teardown(test_binds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_namespaces_and_maps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_relax_and_runtime_dir, setup, teardown),
        cmocka_unit_test(test_steps_listed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
