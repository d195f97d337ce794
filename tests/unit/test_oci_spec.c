/* The OCI config parser (src/oci/spec.c) and seccomp compiler
 * (src/oci/seccomp.c): what each field becomes, what is refused and with
 * which words, the uint64 numbers jansson cannot hold. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>

#include "oci/seccomp.h"
#include "oci/spec.h"

/* parse a config with extra process fields (or, when proc starts with
 * '{', this whole process object) and extra top-level fields */
static int parse(struct oci_spec *s, const char *proc, const char *top, char *err)
{
    char text[8192];
    if (proc[0] == '{')
        snprintf(text, sizeof(text), "{\"ociVersion\": \"1.0.2\", \"root\": {\"path\": \"rootfs\"}, \"process\": %s%s}",
                 proc, top);
    else
        snprintf(text, sizeof(text),
                 "{\"ociVersion\": \"1.0.2\", \"root\": {\"path\": \"rootfs\"}, \"process\": {\"args\": "
                 "[\"/bin/true\"], \"cwd\": \"/\"%s}%s}",
                 proc, top);
    return oci_spec_parse(text, strlen(text), s, err, 512);
}

static void test_minimal(void **state)
{
    (void)state;
    struct oci_spec s;
    char err[512];
    assert_int_equal(parse(&s, "", "", err), 0);
    assert_string_equal(s.root_path, "rootfs");
    assert_string_equal(s.args[0], "/bin/true");
    assert_null(s.args[1]);
    assert_null(s.env);
    assert_false(s.has_caps);
    assert_int_equal(s.n_mounts, 0);
    oci_spec_free(&s);
}

static void test_process_fields(void **state)
{
    (void)state;
    struct oci_spec s;
    char err[512];
    assert_int_equal(
        parse(&s,
              ", \"env\": [\"A=1\"], \"terminal\": true, \"consoleSize\": {\"height\": 24, \"width\": 80},"
              " \"user\": {\"uid\": 1000, \"gid\": 100, \"umask\": 18, \"additionalGids\": [5, 6]},"
              " \"capabilities\": {\"bounding\": [\"CAP_KILL\", \"CAP_CHOWN\"], \"ambient\": [\"CAP_KILL\"]},"
              " \"rlimits\": [{\"type\": \"RLIMIT_NOFILE\", \"soft\": 512, \"hard\": 18446744073709551615}],"
              " \"noNewPrivileges\": true, \"oomScoreAdj\": -500",
              "", err),
        0);
    assert_string_equal(s.env[0], "A=1");
    assert_true(s.terminal);
    assert_int_equal(s.rows, 24);
    assert_int_equal(s.cols, 80);
    assert_int_equal(s.uid, 1000);
    assert_int_equal(s.gid, 100);
    assert_true(s.has_umask);
    assert_int_equal(s.umask, 18);
    assert_int_equal(s.n_groups, 2);
    assert_int_equal(s.groups[1], 6);
    assert_true(s.has_caps);
    assert_int_equal(s.caps[0], (1ull << 5) | (1ull << 0));
    assert_int_equal(s.caps[4], 1ull << 5);
    assert_int_equal(s.n_rlimits, 1);
    assert_int_equal(s.rlimits[0].resource, RLIMIT_NOFILE);
    assert_int_equal(s.rlimits[0].soft, 512);
    assert_true(s.rlimits[0].hard == RLIM_INFINITY); /* above INT64_MAX: kept whole */
    assert_true(s.no_new_privs);
    assert_true(s.has_oom);
    assert_int_equal(s.oom_score_adj, -500);
    oci_spec_free(&s);
}

static void test_unknown_capability_is_counted(void **state)
{
    (void)state;
    struct oci_spec s;
    char err[512];
    assert_int_equal(parse(&s, ", \"capabilities\": {\"effective\": [\"CAP_TEST\", \"CAP_KILL\"]}", "", err), 0);
    assert_int_equal(s.n_unknown_caps, 1);
    assert_string_equal(s.unknown_cap, "CAP_TEST");
    assert_int_equal(s.caps[1], 1ull << 5);
    oci_spec_free(&s);
}

static void test_mounts(void **state)
{
    (void)state;
    struct oci_spec s;
    char err[512];
    assert_int_equal(parse(&s, "",
                           ", \"mounts\": [{\"destination\": \"/data\", \"type\": \"bind\", \"source\": \"d\","
                           " \"options\": [\"rbind\", \"ro\", \"nosuid\", \"rshared\"]},"
                           " {\"destination\": \"/run\", \"type\": \"tmpfs\", \"source\": \"tmpfs\","
                           " \"options\": [\"nodev\", \"size=1m\", \"mode=755\", \"tmpcopyup\", \"rw\"]}]",
                           err),
                     0);
    assert_int_equal(s.n_mounts, 2);
    assert_true(s.mounts[0].bind);
    assert_int_equal(s.mounts[0].flags, MS_RDONLY | MS_NOSUID);
    assert_int_equal(s.mounts[0].propagation, MS_SHARED | MS_REC);
    assert_false(s.mounts[1].bind);
    assert_int_equal(s.mounts[1].flags, MS_NODEV);
    assert_string_equal(s.mounts[1].data, "size=1m,mode=755");
    assert_true(s.mounts[1].tmpcopyup);
    oci_spec_free(&s);
}

static void test_linux(void **state)
{
    (void)state;
    struct oci_spec s;
    char err[512];
    assert_int_equal(
        parse(&s, "",
              ", \"linux\": {\"namespaces\": [{\"type\": \"pid\"}, {\"type\": \"mount\"},"
              " {\"type\": \"network\", \"path\": \"/proc/1/ns/net\"}],"
              " \"uidMappings\": [{\"containerID\": 0, \"hostID\": 100000, \"size\": 65536}],"
              " \"sysctl\": {\"net.ipv4.ip_forward\": \"1\"}, \"maskedPaths\": [\"/proc/kcore\"],"
              " \"resources\": {\"memory\": {\"limit\": 67108864, \"kernel\": 1, \"reservation\": 33554432,"
              " \"swappiness\": 18446744073709551615, \"disableOOMKiller\": true}, \"cpu\": {\"shares\": 512,"
              " \"quota\": 50000, \"period\": 100000}, \"pids\": {\"limit\": 64}}}",
              err),
        0);
    assert_true(s.ns[OCI_NS_PID] && s.ns[OCI_NS_MOUNT] && s.ns[OCI_NS_NET]);
    assert_false(s.ns[OCI_NS_IPC]);
    assert_string_equal(s.ns_path[OCI_NS_NET], "/proc/1/ns/net");
    assert_int_equal(s.n_uid_maps, 1);
    assert_int_equal(s.uid_maps[0].host, 100000);
    assert_int_equal(s.n_sysctl, 1);
    assert_string_equal(s.sysctl_key[0], "net.ipv4.ip_forward");
    assert_true(s.has_masked);
    assert_int_equal(s.n_masked, 1);
    assert_int_equal(s.memory_limit, 67108864);
    assert_true(s.kernel_memory);
    assert_int_equal(s.memory_reservation, 33554432);
    assert_int_equal(s.swappiness, -1); /* 2^64-1, what docker sends for "not set" */
    assert_true(s.disable_oom_killer);
    assert_int_equal(s.cpu_shares, 512);
    assert_int_equal(s.cpu_quota, 50000);
    assert_int_equal(s.pids_limit, 64);
    assert_null(s.unsupported);
    oci_spec_free(&s);
}

/* each bad value: refused, and the message names the field */
static void test_refusals(void **state)
{
    (void)state;
    static const struct {
        const char *proc, *top, *want;
    } bad[] = {
        {"{\"args\": [], \"cwd\": \"/\"}", "", "process.args"},
        {"{\"args\": [\"x\"], \"cwd\": \"rel\"}", "", "process.cwd"},
        {", \"env\": [\"NOEQUALS\"]", "", "process.env[0]"},
        {", \"terminal\": 1", "", "process.terminal"},
        {", \"user\": {\"uid\": -1}", "", "process.user.uid"},
        {", \"rlimits\": [{\"type\": \"RLIMIT_X\", \"soft\": 1, \"hard\": 1}]", "", "RLIMIT_X"},
        {", \"rlimits\": [{\"type\": \"RLIMIT_NOFILE\", \"soft\": 2, \"hard\": 1}]", "", "soft"},
        {", \"oomScoreAdj\": 5000", "", "process.oomScoreAdj"},
        {"", ", \"mounts\": [{\"destination\": \"rel\"}]", "mounts[0].destination"},
        {"", ", \"mounts\": [{\"destination\": \"/x\", \"type\": \"bind\"}]", "without a source"},
        {"", ", \"mounts\": [{\"destination\": \"/x\", \"type\": \"tmpfs\", \"options\": [\"remount\"]}]", "remount"},
        {"", ", \"linux\": {\"namespaces\": [{\"type\": \"bogus\"}]}", "bogus"},
        {"", ", \"linux\": {\"namespaces\": [{\"type\": \"pid\"}, {\"type\": \"pid\"}]}", "twice"},
        {"", ", \"linux\": {\"sysctl\": {\"../x\": \"1\"}}", "linux.sysctl"},
        {"", ", \"hooks\": {\"prestart\": [{\"path\": \"rel\"}]}", "hooks.prestart[0].path"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct oci_spec s;
        char err[512];
        int r = parse(&s, bad[i].proc, bad[i].top, err);
        if (r == 0 || !strstr(err, bad[i].want))
            fail_msg("case %zu: r %d, error '%s', want '%s'", i, r, err, bad[i].want);
        oci_spec_free(&s);
    }
    struct oci_spec s;
    char err[512];
    assert_int_equal(oci_spec_parse("{", 1, &s, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "not valid JSON"));
    oci_spec_free(&s);
    assert_int_equal(oci_spec_parse("{\"ociVersion\": \"2.0\", \"root\": {\"path\": \"r\"}}", 44, &s, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "ociVersion"));
    oci_spec_free(&s);
    /* a number above UINT64_MAX stays refused */
    const char *huge = "{\"ociVersion\": \"1.0.0\", \"root\": {\"path\": \"r\"}, \"x\": 99999999999999999999}";
    assert_int_equal(oci_spec_parse(huge, strlen(huge), &s, err, sizeof(err)), -1);
    oci_spec_free(&s);
}

static void test_seccomp_compile(void **state)
{
    (void)state;
    struct oci_spec s;
    char err[512];
    assert_int_equal(parse(&s, "",
                           ", \"linux\": {\"seccomp\": {\"defaultAction\": \"SCMP_ACT_ERRNO\", \"architectures\":"
                           " [\"SCMP_ARCH_X86_64\"], \"syscalls\": [{\"names\": [\"read\", \"write\","
                           " \"no_such_call\"], \"action\": \"SCMP_ACT_ALLOW\"}, {\"names\": [\"personality\"],"
                           " \"action\": \"SCMP_ACT_ALLOW\", \"args\": [{\"index\": 0, \"value\": 18446744073709551615,"
                           " \"op\": \"SCMP_CMP_MASKED_EQ\", \"valueTwo\": 0}]}]}}",
                           err),
                     0);
    struct sock_filter *prog = NULL;
    size_t len = 0;
    assert_int_equal(oci_seccomp_compile(s.seccomp, &prog, &len, err, sizeof(err)), 0);
    assert_true(len > 4 && len <= 4096);
    free(prog);
    oci_spec_free(&s);
    assert_int_equal(parse(&s, "", ", \"linux\": {\"seccomp\": {\"defaultAction\": \"SCMP_ACT_NOTIFY\"}}", err), 0);
    assert_int_equal(oci_seccomp_compile(s.seccomp, &prog, &len, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "SCMP_ACT_NOTIFY"));
    oci_spec_free(&s);
}

/* update --resources: a LinuxResources object alone */
static void test_resources(void **state)
{
    (void)state;
    struct oci_spec s;
    char err[512];
    const char *ok = "{\"memory\": {\"limit\": 67108864, \"swap\": -1, \"swappiness\": 18446744073709551615},"
                     " \"cpu\": {\"quota\": -1, \"period\": 50000, \"shares\": 512, \"cpus\": \"0-1\"},"
                     " \"pids\": {\"limit\": 100}}";
    assert_int_equal(oci_resources_parse(ok, strlen(ok), &s, err, sizeof(err)), 0);
    assert_int_equal(s.memory_limit, 67108864);
    assert_int_equal(s.memory_swap, -1);
    assert_int_equal(s.swappiness, -1); /* docker's 2^64-1: the kernel's */
    assert_true(s.cpu_quota_set);
    assert_int_equal(s.cpu_quota, -1);
    assert_int_equal(s.cpu_period, 50000);
    assert_int_equal(s.cpu_shares, 512);
    assert_string_equal(s.cpus, "0-1");
    assert_int_equal(s.pids_limit, 100);
    oci_spec_free(&s);
    static const struct {
        const char *text, *want;
    } bad[] = {
        {"{\"memory\": {\"limit\": \"big\"}}", "memory.limit"},
        {"{\"cpu\": {\"period\": 99999999}}", "cpu.period"},
        {"{\"memory\": 5}", "memory"},
        {"[1]", "linux.resources"},
        {"{\"memory\":", "not valid JSON"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int r = oci_resources_parse(bad[i].text, strlen(bad[i].text), &s, err, sizeof(err));
        if (r == 0 || !strstr(err, bad[i].want))
            fail_msg("case %zu: r %d, error '%s', want '%s'", i, r, err, bad[i].want);
        oci_spec_free(&s);
    }
    const char *blkio = "{\"blockIO\": {\"weight\": 10}}";
    assert_int_equal(oci_resources_parse(blkio, strlen(blkio), &s, err, sizeof(err)), 0);
    assert_string_equal(s.unsupported, "blockIO"); /* the verb refuses it in one line */
    oci_spec_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_minimal),        cmocka_unit_test(test_process_fields),
        cmocka_unit_test(test_unknown_capability_is_counted), cmocka_unit_test(test_mounts),
        cmocka_unit_test(test_linux),          cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_seccomp_compile), cmocka_unit_test(test_resources),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
