/* containerv_update: the limits of a running container changed in place
 * (runc's and podman's update). The new limits are in the cgroup files and
 * hold for the workload (a pids limit raised lets more processes fork, one
 * lifted reads "max"); a period alone keeps the quota; a handle attached
 * from elsewhere can update; what an update cannot change is refused with
 * nothing changed; cpusets: v1 refuses a container made without one, v2
 * enables the controller; nothing is left. */
#include "cvt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void assert_file(struct containerv_container *c, const char *v1_ctrl, const char *v1_file, const char *v2_file,
                        const char *want_v1, const char *want_v2)
{
    bool v2;
    char *got = cvt_cgroup_file(c, v1_ctrl, v1_file, v2_file, &v2);
    const char *want = v2 ? want_v2 : want_v1;
    if (strcmp(got, want))
        fail_msg("%s: '%s', want '%s'", v2 ? v2_file : v1_file, got, want);
    free(got);
}

static void forkbomb(struct containerv_container *c, const char *n, const char *want)
{
    char out[128];
    assert_int_equal(cvt_cvtest(c, out, sizeof(out), "forkbomb", n, NULL), 0);
    if (strcmp(out, want))
        fail_msg("forkbomb %s: '%s', want '%s'", n, out, want);
}

static int update(struct containerv_container *c, struct containerv_options *o, struct containerv_error *err)
{
    int r = containerv_update(c, o, err);
    containerv_options_free(o);
    return r;
}

static void test_update_limits(void **state)
{
    (void)state;
    struct cvt_snap before;
    cvt_snapshot(&before);
    struct containerv_options *o = cvt_options();
    assert_int_equal(containerv_options_set_memory_limit(o, 64 << 20), 0);
    assert_int_equal(containerv_options_set_pids_limit(o, 16), 0);
    struct containerv_container *c = cvt_create(o);
    containerv_options_free(o);
    char out[128];
    assert_int_equal(cvt_cvtest(c, out, sizeof(out), "forkbomb", "30", NULL), 0);
    if (strncmp(out, "1", 1) || !strstr(out, "EAGAIN"))
        fail_msg("forkbomb 30 under a pids limit of 16: '%s'", out);

    struct containerv_error err;
    o = containerv_options_new();
    assert_int_equal(containerv_options_set_memory_limit(o, 128 << 20), 0);
    assert_int_equal(containerv_options_set_pids_limit(o, 64), 0);
    assert_int_equal(containerv_options_set_cpu_quota(o, 20000, 50000), 0);
    if (update(c, o, &err) < 0)
        fail_msg("update: %s", err.message);
    assert_file(c, "memory", "memory.limit_in_bytes", "memory.max", "134217728", "134217728");
    assert_file(c, "pids", "pids.max", "pids.max", "64", "64");
    assert_file(c, "cpu", "cpu.cfs_quota_us", "cpu.max", "20000", "20000 50000");
    forkbomb(c, "30", "30 OK"); /* the raised limit holds for the workload */

    /* a period alone keeps the quota; unlimited lifts a limit */
    o = containerv_options_new();
    assert_int_equal(containerv_options_set_cpu_quota(o, 0, 100000), 0);
    assert_int_equal(containerv_options_set_pids_limit(o, CONTAINERV_UNLIMITED), 0);
    if (update(c, o, &err) < 0)
        fail_msg("update: %s", err.message);
    assert_file(c, "cpu", "cpu.cfs_quota_us", "cpu.max", "20000", "20000 100000");
    assert_file(c, "cpu", "cpu.cfs_period_us", "cpu.max", "100000", "20000 100000");
    assert_file(c, "pids", "pids.max", "pids.max", "max", "max");
    o = containerv_options_new();
    assert_int_equal(containerv_options_set_cpu_quota(o, CONTAINERV_UNLIMITED, 0), 0);
    assert_int_equal(containerv_options_set_memory_limit(o, CONTAINERV_UNLIMITED), 0);
    if (update(c, o, &err) < 0)
        fail_msg("update: %s", err.message);
    assert_file(c, "cpu", "cpu.cfs_quota_us", "cpu.max", "-1", "max 100000");
    bool v2;
    char *mem = cvt_cgroup_file(c, "memory", "memory.limit_in_bytes", "memory.max", &v2);
    if (v2 ? strcmp(mem, "max") : strtoull(mem, NULL, 10) < (1ull << 62))
        fail_msg("an unlimited memory limit reads '%s'", mem);
    free(mem);

    /* an attached handle (another process's container) updates too */
    struct containerv_container *a = NULL;
    assert_int_equal(containerv_attach(cvt.runtime_dir, containerv_id(c), &a, &err), 0);
    o = containerv_options_new();
    assert_int_equal(containerv_options_set_memory_limit(o, 48 << 20), 0);
    if (update(a, o, &err) < 0)
        fail_msg("update through an attached handle: %s", err.message);
    containerv_release(a);
    assert_file(c, "memory", "memory.limit_in_bytes", "memory.max", "50331648", "50331648");
    cvt_destroy(c);
    assert_int_equal(containerv_teardown_wait(NULL), 0);
    cvt_assert_no_leaks(&before, "update");
    cvt_snap_free(&before);
}

/* what an update cannot change, and bad values: refused, nothing changed */
static void test_update_refused(void **state)
{
    (void)state;
    struct containerv_options *o = cvt_options();
    assert_int_equal(containerv_options_set_memory_limit(o, 64 << 20), 0);
    assert_int_equal(containerv_options_set_pids_limit(o, 16), 0);
    struct containerv_container *c = cvt_create(o);
    containerv_options_free(o);
    struct containerv_error err;

    o = containerv_options_new();
    assert_int_equal(containerv_options_add_device_rule(o, false, 'a', -1, -1, NULL), 0);
    assert_int_equal(update(c, o, &err), -EINVAL);
    assert_non_null(strstr(err.message, "device rules"));

    o = containerv_options_new();
    assert_int_equal(containerv_options_set_cgroup_path(o, "/elsewhere"), 0);
    assert_int_equal(update(c, o, &err), -EINVAL);
    assert_non_null(strstr(err.message, "cgroup"));

    /* memory+swap below the memory limit in force */
    o = containerv_options_new();
    assert_int_equal(containerv_options_set_memory_swap_limit(o, 32 << 20), 0);
    assert_int_equal(update(c, o, &err), -EINVAL);
    assert_non_null(strstr(err.message, "memory limit in force"));
    /* memory+swap below the memory limit given with it: nothing is written */
    o = containerv_options_new();
    assert_int_equal(containerv_options_set_pids_limit(o, 99), 0);
    assert_int_equal(containerv_options_set_memory_limit(o, 128 << 20), 0);
    assert_int_equal(containerv_options_set_memory_swap_limit(o, 96 << 20), 0);
    assert_int_equal(update(c, o, &err), -EINVAL);
    assert_file(c, "memory", "memory.limit_in_bytes", "memory.max", "67108864", "67108864");
    assert_file(c, "pids", "pids.max", "pids.max", "16", "16");
    assert_int_equal(containerv_update(NULL, NULL, &err), -EINVAL);

    /* a cpuset: v1 cannot give one to a container made without, v2 enables the controller */
    o = containerv_options_new();
    assert_int_equal(containerv_options_set_cpuset_cpus(o, "0"), 0);
    int r = update(c, o, &err);
    struct stat st;
    if (stat("/sys/fs/cgroup/cgroup.controllers", &st) == 0) {
        if (r < 0)
            fail_msg("cpuset update on v2: %s", err.message);
        bool v2;
        char *cpus = cvt_cgroup_file(c, "cpuset", "cpuset.cpus", "cpuset.cpus", &v2);
        assert_string_equal(cpus, "0");
        free(cpus);
        char out[128];
        static const char *const argv[] = {"/bin/sh", "-c", "grep Cpus_allowed_list /proc/self/status", NULL};
        assert_int_equal(cvt_run(c, argv, NULL, out, sizeof(out)), 0);
        assert_non_null(strstr(out, "\t0"));
    } else {
        assert_int_equal(r, -EOPNOTSUPP);
        assert_non_null(strstr(err.message, "without a cpuset"));
    }
    cvt_destroy(c);
}

/* v1: a container made with a cpuset moves to other CPUs; memory raised
 * above the memory+swap in force (memsw is written first) */
static void test_update_v1_cpuset_and_swap(void **state)
{
    (void)state;
    struct stat st;
    if (stat("/sys/fs/cgroup/cgroup.controllers", &st) == 0)
        skip(); /* v2: test_update_refused's cpuset part */
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    struct containerv_options *o = cvt_options();
    assert_int_equal(containerv_options_set_cpuset_cpus(o, "0"), 0);
    assert_int_equal(containerv_options_set_memory_limit(o, 32 << 20), 0);
    bool memsw = stat("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes", &st) == 0;
    if (memsw)
        assert_int_equal(containerv_options_set_memory_swap_limit(o, 64 << 20), 0);
    struct containerv_container *c = cvt_create(o);
    containerv_options_free(o);
    struct containerv_error err;
    o = containerv_options_new();
    assert_int_equal(containerv_options_set_cpuset_cpus(o, ncpu > 1 ? "1" : "0"), 0);
    if (memsw) {
        assert_int_equal(containerv_options_set_memory_limit(o, 128 << 20), 0);
        assert_int_equal(containerv_options_set_memory_swap_limit(o, 256 << 20), 0);
    }
    if (update(c, o, &err) < 0)
        fail_msg("update: %s", err.message);
    assert_file(c, "cpuset", "cpuset.cpus", "-", ncpu > 1 ? "1" : "0", "-");
    if (memsw) {
        assert_file(c, "memory", "memory.limit_in_bytes", "-", "134217728", "-");
        assert_file(c, "memory", "memory.memsw.limit_in_bytes", "-", "268435456", "-");
    }
    cvt_destroy(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_update_limits),
        cmocka_unit_test(test_update_refused),
        cmocka_unit_test(test_update_v1_cpuset_and_swap),
    };
    return cvt_main("lib_update", tests, sizeof(tests) / sizeof(tests[0]), 120);
}
