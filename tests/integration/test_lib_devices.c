/* containerv_options_add_device_rule: the device controller decides what a
 * container's processes may open (v1: the devices hierarchy, v2: an eBPF
 * program on the cgroup). Device nodes made by the test on the host are
 * bound in (with devices relaxed, so the bind is not nodev and only the
 * rules decide); a spawned and an exec'd process both meet the rules; bad
 * rules are refused; nothing is left. */
#include "cvt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

static char nodes[4096];

static void make_nodes(void)
{
    char p[4200];
    snprintf(nodes, sizeof(nodes), "%s/nodes", cvt.tmp);
    if (mkdir(nodes, 0755) < 0 && errno != EEXIST)
        fail_msg("mkdir %s: %s", nodes, strerror(errno));
    snprintf(p, sizeof(p), "%s/zero", nodes);
    if (mknod(p, S_IFCHR | 0666, makedev(1, 5)) < 0 && errno != EEXIST)
        fail_msg("mknod %s: %s", p, strerror(errno));
    snprintf(p, sizeof(p), "%s/urandom", nodes);
    if (mknod(p, S_IFCHR | 0666, makedev(1, 9)) < 0 && errno != EEXIST)
        fail_msg("mknod %s: %s", p, strerror(errno));
}

static struct containerv_options *options(void)
{
    struct containerv_options *o = cvt_options();
    assert_int_equal(containerv_options_set_relax(o, CONTAINERV_RELAX_DEVICES), 0);
    assert_int_equal(containerv_options_add_bind(o, nodes, "/nodes", false), 0);
    return o;
}

/* without rules: no device controller, both nodes open (the control) */
static void test_no_rules(void **state)
{
    (void)state;
    make_nodes();
    struct containerv_options *o = options();
    struct cvt_fixture *f;
    cvt_fixture_setup_with((void **)&f, o);
    cvt_assert_out(f->c, "OK", "openw", "/nodes/zero");
    cvt_assert_out(f->c, "OK", "openw", "/nodes/urandom");
    cvt_fixture_teardown((void **)&f);
}

/* deny everything, the defaults, then deny urandom again: zero opens,
 * urandom does not, /dev/null (a default) does */
static void test_rules(void **state)
{
    (void)state;
    make_nodes();
    struct containerv_options *o = options();
    assert_int_equal(containerv_options_add_device_rule(o, false, 'a', -1, -1, "rwm"), 0);
    assert_int_equal(containerv_options_add_default_device_rules(o), 0);
    assert_int_equal(containerv_options_add_device_rule(o, false, 'c', 1, 9, "rw"), 0);
    struct cvt_fixture *f;
    cvt_fixture_setup_with((void **)&f, o);
    cvt_assert_out(f->c, "OK", "openw", "/nodes/zero");
    cvt_assert_out(f->c, "EPERM", "openw", "/nodes/urandom");
    cvt_assert_out(f->c, "OK", "openw", "/dev/null");
    /* an exec'd process (containerv_enter: it joins the cgroup) too */
    char dir[600];
    snprintf(dir, sizeof(dir), "%s", cvt.runtime_dir);
    struct containerv_main_process p;
    containerv_main_process_init(&p);
    static const char *const argv[] = {"/bin/cvtest", "openw", "/nodes/urandom", NULL};
    p.argv = argv;
    int out[2];
    assert_int_equal(pipe(out), 0);
    p.stdout_fd = out[1];
    struct containerv_error err;
    pid_t pid = -1;
    if (containerv_enter(dir, containerv_id(f->c), &p, &pid, &err) < 0)
        fail_msg("enter: %s", err.message);
    close(out[1]);
    char buf[64] = "";
    ssize_t n = read(out[0], buf, sizeof(buf) - 1);
    close(out[0]);
    buf[n > 0 ? n : 0] = '\0';
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_string_equal(buf, "EPERM\n");
    cvt_fixture_teardown((void **)&f);
}

/* allow everything, deny write to zero: read opens, write does not */
static void test_access_bits(void **state)
{
    (void)state;
    make_nodes();
    struct containerv_options *o = options();
    assert_int_equal(containerv_options_add_device_rule(o, true, 'a', -1, -1, NULL), 0);
    assert_int_equal(containerv_options_add_device_rule(o, false, 'c', 1, 5, "w"), 0);
    struct cvt_fixture *f;
    cvt_fixture_setup_with((void **)&f, o);
    cvt_assert_out(f->c, "EPERM", "openw", "/nodes/zero");
    cvt_assert_out(f->c, "OK", "openw", "/nodes/urandom");
    cvt_fixture_teardown((void **)&f);
}

/* device rules with a cpuset and every other controller: on v1 a cgroup in
 * each of eight hierarchies, whose tasks files the child gets at once */
static void test_every_hierarchy(void **state)
{
    (void)state;
    make_nodes();
    struct containerv_options *o = options();
    assert_int_equal(containerv_options_add_device_rule(o, false, 'c', 1, 9, "w"), 0);
    assert_int_equal(containerv_options_set_cpuset_cpus(o, "0"), 0);
    assert_int_equal(containerv_options_set_memory_limit(o, 64ull << 20), 0);
    assert_int_equal(containerv_options_set_pids_limit(o, 64), 0);
    assert_int_equal(containerv_options_set_cpu_quota(o, 50000, 100000), 0);
    struct cvt_fixture *f;
    cvt_fixture_setup_with((void **)&f, o);
    cvt_assert_out(f->c, "EPERM", "openw", "/nodes/urandom");
    cvt_assert_out(f->c, "OK", "openw", "/nodes/zero");
    cvt_fixture_teardown((void **)&f);
}

static void test_bad_rules(void **state)
{
    (void)state;
    struct containerv_options *o = cvt_options();
    assert_int_equal(containerv_options_add_device_rule(o, true, 'x', 1, 3, "r"), -EINVAL);
    assert_int_equal(containerv_options_add_device_rule(o, true, 'c', -2, 3, "r"), -EINVAL);
    assert_int_equal(containerv_options_add_device_rule(o, true, 'c', 1, 3, "rx"), -EINVAL);
    assert_int_equal(containerv_options_add_device_rule(o, true, 'c', 1, 3, "rr"), -EINVAL);
    assert_int_equal(containerv_options_add_device_rule(o, true, 'c', 1, 3, ""), -EINVAL);
    assert_int_equal(containerv_options_add_device_rule(o, true, 'c', 1ll << 33, 3, "r"), -EINVAL);
    /* beyond the kernel's ranges: v1 would read 2^32-1 as "*", v2 could never match it */
    assert_int_equal(containerv_options_add_device_rule(o, true, 'c', 4294967295ll, 4294967295ll, "rwm"), -EINVAL);
    assert_int_equal(containerv_options_add_device_rule(o, true, 'c', 4096, 0, "r"), -EINVAL);
    assert_int_equal(containerv_options_add_device_rule(o, true, 'c', 4095, 1048576, "r"), -EINVAL);
    assert_int_equal(containerv_options_add_device_rule(o, true, 'c', 4095, 1048575, "r"), 0);
    int i = 0, r = 0;
    while ((r = containerv_options_add_device_rule(o, true, 'c', 1, i, "r")) == 0)
        i++;
    assert_int_equal(r, -E2BIG);
    assert_int_equal(i, 255); /* 256 with the one above */
    containerv_options_free(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_rules),
        cmocka_unit_test(test_rules),
        cmocka_unit_test(test_access_bits),
        cmocka_unit_test(test_every_hierarchy),
        cmocka_unit_test(test_bad_rules),
    };
    return cvt_main("lib_devices", tests, sizeof(tests) / sizeof(tests[0]), 120);
}
