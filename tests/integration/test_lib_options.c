/* The path from the library's options to what the kernel holds: CPU weight,
 * CPU quota and the swap limit as the container's cgroup files show them
 * (v1 on hybrid hosts, v2 in the VM), the namespace mask as the init's
 * /proc/PID/ns links show it, the trace callback against the step list, and
 * containerv_pool_create (the variant without a config, which reads
 * $CONTAINERV_STATE_DIR and $CONTAINERV_RUNTIME_DIR). Each check has a
 * positive control: the file or link exists and a container without the
 * option shows something else. */
#include "cvt.h"

#include <containerv/pool.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static struct containerv_container *make(struct containerv_options *o)
{
    struct containerv_container *c = cvt_create(o);
    containerv_options_free(o);
    /* it runs: a positive control for every check on its cgroup */
    cvt_assert_out(c, "1", "ppid");
    return c;
}

static void test_cpu_weight(void **st)
{
    (void)st;
    struct cvt_snap before;
    cvt_snapshot(&before);
    struct containerv_options *o = cvt_options();
    assert_int_equal(containerv_options_set_cpu_weight(o, 500), 0);
    struct containerv_container *c = make(o), *plain = make(cvt_options());
    bool v2;
    char *got = cvt_cgroup_file(c, "cpu", "cpu.shares", "cpu.weight", &v2);
    char *dflt = cvt_cgroup_file(plain, "cpu", "cpu.shares", "cpu.weight", &v2);
    /* v1: weight 1..10000 to shares 2..262144 as crun and runc convert it */
    char want[32];
    snprintf(want, sizeof(want), "%" PRIu64, v2 ? (uint64_t)500 : 2 + ((uint64_t)(500 - 1) * 262142) / 9999);
    assert_string_equal(got, want);
    assert_string_not_equal(dflt, want);
    free(got);
    free(dflt);
    cvt_destroy(c);
    cvt_destroy(plain);
    cvt_assert_no_leaks(&before, "cpu weight");
    cvt_snap_free(&before);
}

static void test_cpu_quota(void **st)
{
    (void)st;
    struct cvt_snap before;
    cvt_snapshot(&before);
    struct containerv_options *o = cvt_options();
    assert_int_equal(containerv_options_set_cpu_quota(o, 25000, 50000), 0);
    struct containerv_container *c = make(o), *plain = make(cvt_options());
    bool v2;
    char *got = cvt_cgroup_file(c, "cpu", "cpu.cfs_quota_us", "cpu.max", &v2);
    if (v2) {
        assert_string_equal(got, "25000 50000");
    } else {
        assert_string_equal(got, "25000");
        char *period = cvt_cgroup_file(c, "cpu", "cpu.cfs_period_us", "cpu.max", &v2);
        assert_string_equal(period, "50000");
        free(period);
    }
    char *dflt = cvt_cgroup_file(plain, "cpu", "cpu.cfs_quota_us", "cpu.max", &v2);
    assert_string_equal(dflt, v2 ? "max 100000" : "-1");
    free(got);
    free(dflt);
    cvt_destroy(c);
    cvt_destroy(plain);
    cvt_assert_no_leaks(&before, "cpu quota");
    cvt_snap_free(&before);
}

static void test_memory_swap(void **st)
{
    (void)st;
    struct cvt_snap before;
    cvt_snapshot(&before);
    struct containerv_options *o = cvt_options();
    assert_int_equal(containerv_options_set_memory_limit(o, 32u << 20), 0);
    assert_int_equal(containerv_options_set_memory_swap_limit(o, 96u << 20), 0);
    struct containerv_error err;
    struct containerv_container *c = NULL;
    char path[256];
    snprintf(path, sizeof(path), "/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes");
    bool v1_no_swap_accounting = access("/sys/fs/cgroup/cgroup.controllers", F_OK) != 0 &&
                                 access(path, F_OK) != 0;
    int r = containerv_create(cvt_id(), o, &c, &err);
    containerv_options_free(o);
    if (v1_no_swap_accounting) {
        /* the limit cannot be had: refused by name, nothing left */
        assert_true(r < 0);
        assert_non_null(strstr(err.message, "swap accounting"));
        cvt_assert_no_leaks(&before, "swap limit without swap accounting");
        cvt_snap_free(&before);
        cvt_skip_host("v1 without swap accounting (swapaccount=1): the refusal was checked");
    }
    if (r < 0)
        fail_msg("create with a swap limit: %s", err.message);
    cvt_assert_out(c, "1", "ppid");
    bool v2;
    /* memory + swap at most 96M: v1 says so, v2 holds the swap part alone */
    char *got = cvt_cgroup_file(c, "memory", "memory.memsw.limit_in_bytes", "memory.swap.max", &v2);
    char want[32];
    snprintf(want, sizeof(want), "%u", v2 ? 64u << 20 : 96u << 20);
    assert_string_equal(got, want);
    free(got);
    got = cvt_cgroup_file(c, "memory", "memory.limit_in_bytes", "memory.max", &v2);
    snprintf(want, sizeof(want), "%u", 32u << 20);
    assert_string_equal(got, want);
    free(got);
    cvt_destroy(c);
    cvt_assert_no_leaks(&before, "swap limit");
    cvt_snap_free(&before);
}

static void ns_of(pid_t pid, const char *ns, char *buf, size_t n)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, ns);
    ssize_t len = readlink(path, buf, n - 1);
    if (len <= 0)
        fail_msg("readlink %s: %s", path, strerror(errno));
    buf[len] = '\0';
}

static void test_namespaces(void **st)
{
    (void)st;
    struct cvt_snap before;
    cvt_snapshot(&before);
    /* without net and uts: the host's; with the default: new ones */
    struct containerv_options *o = cvt_options();
    assert_int_equal(containerv_options_set_namespaces(o, CONTAINERV_NS_DEFAULT &
                                                              ~(unsigned)(CONTAINERV_NS_NET | CONTAINERV_NS_UTS)),
                     0);
    struct containerv_container *shared = make(o), *plain = make(cvt_options());
    static const char *const kinds[] = {"net", "uts", "ipc", "pid", "mnt"};
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        char host[64], a[64], b[64];
        ns_of(getpid(), kinds[i], host, sizeof(host));
        ns_of(containerv_init_pid(shared), kinds[i], a, sizeof(a));
        ns_of(containerv_init_pid(plain), kinds[i], b, sizeof(b));
        bool want_shared = !strcmp(kinds[i], "net") || !strcmp(kinds[i], "uts");
        if (want_shared ? strcmp(a, host) != 0 : strcmp(a, host) == 0)
            fail_msg("%s namespace of the masked container: %s, host %s (want %s)", kinds[i], a, host,
                     want_shared ? "the host's" : "its own");
        if (!strcmp(b, host))
            fail_msg("%s namespace of the default container is the host's (%s)", kinds[i], b);
    }
    /* the mount and pid namespaces are required */
    o = cvt_options();
    assert_int_not_equal(containerv_options_set_namespaces(o, CONTAINERV_NS_NET), 0);
    containerv_options_free(o);
    cvt_destroy(shared);
    cvt_destroy(plain);
    cvt_assert_no_leaks(&before, "namespace mask");
    cvt_snap_free(&before);
}

struct trace_log {
    char names[64][48];
    int n;
};

static void on_trace(void *userdata, const char *step, uint64_t duration_ns)
{
    (void)duration_ns;
    struct trace_log *t = userdata;
    if (t->n < 64)
        snprintf(t->names[t->n++], sizeof(t->names[0]), "%s", step);
}

static void test_trace(void **st)
{
    (void)st;
    struct cvt_snap before;
    cvt_snapshot(&before);
    struct trace_log t = {.n = 0};
    struct containerv_options *o = cvt_options();
    assert_int_equal(containerv_options_set_trace(o, on_trace, &t), 0);
    struct containerv_container *c = make(o);
    /* every traced step is a step of the pipeline (whose list is in one
     * canonical order; v1 and v2 run some steps at other points) or one of
     * the child's waits, each traced once, and the steps every create runs
     * are there */
    const char *const *steps = containerv_create_steps();
    bool clone_seen = false, validate_seen = false;
    for (int i = 0; i < t.n; i++) {
        int j = 0;
        while (steps[j] && strcmp(steps[j], t.names[i]))
            j++;
        size_t len = strlen(t.names[i]);
        bool wait = len > 5 && !strcmp(t.names[i] + len - 5, ".wait");
        if (!steps[j] && !wait)
            fail_msg("traced step %d '%s' is neither in the step list nor a .wait", i, t.names[i]);
        /* once each; on v2 state.write runs twice (the claim before clone,
         * the write after it) */
        int seen = 0;
        for (int k = 0; k < i; k++)
            seen += !strcmp(t.names[k], t.names[i]);
        if (seen >= (strcmp(t.names[i], "state.write") ? 1 : 2))
            fail_msg("step '%s' traced %d times", t.names[i], seen + 1);
        clone_seen |= !strcmp(t.names[i], "clone");
        validate_seen |= !strcmp(t.names[i], "validate");
    }
    assert_true(t.n >= 3);
    assert_true(clone_seen);
    assert_true(validate_seen);
    /* a create without a trace calls nothing */
    int n = t.n;
    struct containerv_container *plain = make(cvt_options());
    assert_int_equal(t.n, n);
    cvt_destroy(c);
    cvt_destroy(plain);
    cvt_assert_no_leaks(&before, "trace");
    cvt_snap_free(&before);
}

static void test_pool_create_env(void **st)
{
    (void)st;
    struct cvt_snap before;
    cvt_snapshot(&before);
    char state[600];
    snprintf(state, sizeof(state), "%s/pool-state", cvt.tmp);
    struct containerv_error err;
    struct containerv_options *o = cvt_options();
    assert_int_equal(containerv_options_set_hostname(o, "fromenv"), 0);
    if (containerv_template_create(state, "envtpl", o, &err) < 0)
        fail_msg("template create: %s", err.message);
    containerv_options_free(o);
    /* the variant without a config finds the template and the runtime dir
     * through the environment, as the CLI's --state-dir and --runtime-dir do */
    setenv("CONTAINERV_STATE_DIR", state, 1);
    setenv("CONTAINERV_RUNTIME_DIR", cvt.runtime_dir, 1);
    struct containerv_pool *p = NULL;
    if (containerv_pool_create("envtpl", 1, &p, &err) < 0)
        fail_msg("pool create: %s", err.message);
    assert_int_equal(containerv_pool_wait_ready(p, 60000, &err), 0);
    struct containerv_container *c = NULL;
    assert_int_equal(containerv_pool_get_container(p, &c, &err), 0);
    cvt_assert_out(c, "fromenv", "hostname");
    /* its state is in our runtime dir */
    char path[700];
    snprintf(path, sizeof(path), "%s/%s.json", cvt.runtime_dir, containerv_id(c));
    assert_int_equal(access(path, F_OK), 0);
    assert_int_equal(containerv_pool_return_container(p, c, &err), 0);
    assert_int_equal(containerv_pool_destroy(p, &err), 0);
    /* a missing template is an error naming it, and no pool */
    p = NULL;
    assert_true(containerv_pool_create("nosuchtpl", 1, &p, &err) < 0);
    assert_null(p);
    assert_non_null(strstr(err.message, "nosuchtpl"));
    unsetenv("CONTAINERV_STATE_DIR");
    unsetenv("CONTAINERV_RUNTIME_DIR");
    cvt_assert_no_leaks(&before, "pool from the environment");
    cvt_snap_free(&before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cpu_weight), cmocka_unit_test(test_cpu_quota),
        cmocka_unit_test(test_memory_swap), cmocka_unit_test(test_namespaces),
        cmocka_unit_test(test_trace), cmocka_unit_test(test_pool_create_env),
    };
    return cvt_main("lib_options", tests, sizeof(tests) / sizeof(tests[0]), 300);
}
