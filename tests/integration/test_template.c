/* Templates: save, list, show, load (every field round-trips: checked in a
 * container made from the loaded template, limits in its cgroup files and
 * the bind inside it), delete; a
 * corrupt or hand-edited file is refused naming the file and the field. */
#include "cvt.h"

#include <containerv/pool.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char state[512];

static void set_state(void)
{
    snprintf(state, sizeof(state), "%s/state", cvt.tmp);
}

static struct containerv_options *full_options(void)
{
    struct containerv_options *o = containerv_options_new();
    assert_non_null(o);
    assert_int_equal(containerv_options_add_lower(o, cvt.helper_layer), 0);
    assert_int_equal(containerv_options_add_lower(o, cvt.rootfs), 0);
    assert_int_equal(containerv_options_set_hostname(o, "tplhost"), 0);
    assert_int_equal(containerv_options_add_env(o, "TPLVAR=hello world"), 0);
    assert_int_equal(containerv_options_set_workdir(o, "/tmp"), 0);
    assert_int_equal(containerv_options_set_memory_limit(o, 64ull << 20), 0);
    assert_int_equal(containerv_options_set_pids_limit(o, 32), 0);
    assert_int_equal(containerv_options_set_cpu_quota(o, 50000, 100000), 0);
    assert_int_equal(containerv_options_set_memory_reservation(o, 32ull << 20), 0);
    assert_int_equal(containerv_options_set_cpuset_cpus(o, "0"), 0);
    assert_int_equal(containerv_options_set_relax(o, CONTAINERV_RELAX_SECCOMP), 0);
    assert_int_equal(containerv_options_add_bind(o, cvt.tmp, "/mnt/host", true), 0);
    return o;
}

static void test_roundtrip(void **st)
{
    (void)st;
    set_state();
    struct containerv_error err;
    struct containerv_options *o = full_options();
    assert_int_equal(containerv_template_create(state, "web", o, &err), 0);
    assert_int_equal(containerv_template_create(state, "db", o, &err), 0);
    containerv_options_free(o);

    char **names = NULL;
    size_t n = 0;
    assert_int_equal(containerv_template_list(state, &names, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(names[0], "db");
    assert_string_equal(names[1], "web");
    containerv_template_list_free(names, n);

    char *json = NULL;
    assert_int_equal(containerv_template_show(state, "web", &json, &err), 0);
    assert_non_null(strstr(json, "\"hostname\": \"tplhost\""));
    assert_non_null(strstr(json, "\"memory\": 67108864"));
    assert_non_null(strstr(json, "\"seccomp\""));
    free(json);

    /* a container from the loaded template has every field */
    struct containerv_options *l = NULL;
    assert_int_equal(containerv_template_load(state, "web", &l, &err), 0);
    assert_int_equal(containerv_options_set_runtime_dir(l, cvt.runtime_dir), 0);
    struct containerv_container *c = cvt_create(l);
    cvt_assert_out(c, "tplhost", "hostname");
    cvt_assert_out(c, "hello world", "env", "TPLVAR");
    cvt_assert_out(c, "/tmp", "cwd");
    cvt_assert_out(c, "0", "seccomp");
    /* the limits reached the cgroup, the bind is there and read-only */
    bool v2;
    char *v = cvt_cgroup_file(c, "memory", "memory.limit_in_bytes", "memory.max", &v2);
    assert_string_equal(v, "67108864");
    free(v);
    v = cvt_cgroup_file(c, "pids", "pids.max", "pids.max", &v2);
    assert_string_equal(v, "32");
    free(v);
    v = cvt_cgroup_file(c, "memory", "memory.soft_limit_in_bytes", "memory.low", &v2);
    assert_string_equal(v, "33554432");
    free(v);
    v = cvt_cgroup_file(c, "cpuset", "cpuset.cpus", "cpuset.cpus", &v2);
    assert_string_equal(v, "0");
    free(v);
    v = cvt_cgroup_file(c, "cpu", "cpu.cfs_quota_us", "cpu.max", &v2);
    assert_string_equal(v, v2 ? "50000 100000" : "50000");
    free(v);
    char marker[600];
    snprintf(marker, sizeof(marker), "%s/template-bind-marker", cvt.tmp);
    cvt_write_file(marker, "from the host\n");
    cvt_assert_out(c, "from the host", "cat", "/mnt/host/template-bind-marker");
    cvt_assert_out(c, "EROFS", "write", "/mnt/host/new", "x");
    unlink(marker);
    cvt_destroy(c);
    containerv_options_free(l);

    assert_int_equal(containerv_template_delete(state, "db", &err), 0);
    assert_int_equal(containerv_template_delete(state, "db", &err), -ENOENT);
    assert_int_equal(containerv_template_load(state, "db", &l, &err), -ENOENT);
    assert_non_null(strstr(err.message, "db.json"));
}

/* Write text as template "bad" and expect a load error naming want. */
static void expect_bad(const char *text, const char *want)
{
    char path[700];
    snprintf(path, sizeof(path), "%s/templates/bad.json", state);
    cvt_write_file(path, text);
    struct containerv_options *o = NULL;
    struct containerv_error err;
    int r = containerv_template_load(state, "bad", &o, &err);
    if (r != -EINVAL || !strstr(err.message, path) || !strstr(err.message, want))
        fail_msg("load of %s: want -EINVAL naming '%s', got %d: %s", text, want, r, err.message);
    assert_null(o);
    assert_string_equal(err.step, "template.parse");
}

static void test_corrupt(void **st)
{
    (void)st;
    set_state();
    struct containerv_error err;
    struct containerv_options *o = containerv_options_new();
    assert_int_equal(containerv_template_create(state, "ok", o, &err), 0);
    containerv_options_free(o);
    expect_bad("{\"containerv_template\": 1, \"name\": \"bad\"", "line");
    expect_bad("[]", "'(top level)'");
    expect_bad("{\"containerv_template\": 2, \"name\": \"bad\"}", "'containerv_template'");
    expect_bad("{\"containerv_template\": 1, \"name\": \"other\"}", "'name'");
    expect_bad("{\"containerv_template\": 1, \"name\": \"bad\", \"limits\": {\"memory\": \"64M\"}}",
               "'limits.memory'");
    expect_bad("{\"containerv_template\": 1, \"name\": \"bad\", \"limits\": {\"cpu_weight\": 0, "
               "\"pids\": -1}}", "'limits.pids'");
    expect_bad("{\"containerv_template\": 1, \"name\": \"bad\", \"env\": [\"NOEQUALS\"]}",
               "'env[0]'");
    expect_bad("{\"containerv_template\": 1, \"name\": \"bad\", \"namespaces\": [\"mount\", "
               "\"pid\", \"time\"]}", "'namespaces[2]'");
    expect_bad("{\"containerv_template\": 1, \"name\": \"bad\", \"namespaces\": [\"net\"]}",
               "'namespaces'");
    expect_bad("{\"containerv_template\": 1, \"name\": \"bad\", \"workdir\": \"relative\"}",
               "'workdir'");
    expect_bad("{\"containerv_template\": 1, \"name\": \"bad\", \"user\": {\"uid\": 1}}",
               "'user.gid'");
    expect_bad("{\"containerv_template\": 1, \"name\": \"bad\", \"rootfs\": \"/\", "
               "\"lowers\": [\"/\"]}", "'rootfs'");
    /* list shows the good and the bad alike; names are validated */
    assert_int_equal(containerv_template_create(state, "../x", NULL, &err), -EINVAL);
    o = containerv_options_new();
    assert_int_equal(containerv_template_create(state, "../x", o, &err), -EINVAL);
    assert_string_equal(err.step, "template.name");
    containerv_options_free(o);
}

static void test_empty_state_dir(void **st)
{
    (void)st;
    char dir[600];
    snprintf(dir, sizeof(dir), "%s/absent", cvt.tmp);
    char **names = NULL;
    size_t n = 7;
    struct containerv_error err;
    assert_int_equal(containerv_template_list(dir, &names, &n, &err), 0);
    assert_int_equal(n, 0);
    containerv_template_list_free(names, n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_corrupt),
        cmocka_unit_test(test_empty_state_dir),
    };
    return cvt_main("template", tests, sizeof(tests) / sizeof(tests[0]), 240);
}
