/* Containers with a user namespace, end to end: the ids inside and as the
 * host sees them, the ownership of what the workload writes in the writable
 * layer and of what it reads from the image, the capabilities (full inside
 * the namespace, none over the host), reset through a pool, the fault at
 * userns.map on a container that has the step, and bad maps refused. The
 * maps put the container's 0..65535 at host 200000.. (nothing on this host
 * runs there). */
#include "cvt.h"

#include <containerv/pool.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HOST_BASE 200000u
#define COUNT 65536u

static struct containerv_options *userns_options(void)
{
    struct containerv_options *o = cvt_options();
    assert_int_equal(containerv_options_add_uid_map(o, 0, HOST_BASE, COUNT), 0);
    assert_int_equal(containerv_options_add_gid_map(o, 0, HOST_BASE, COUNT), 0);
    return o;
}

/* "Uid:" or "Gid:" of /proc/PID/status: the real id as the host sees it */
static long host_id(pid_t pid, const char *key)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    char *s = cvt_read_file(path);
    assert_non_null(s);
    char *p = strstr(s, key);
    assert_non_null(p);
    long v = strtol(p + strlen(key), NULL, 10);
    free(s);
    return v;
}

static void test_ids_and_files(void **st)
{
    (void)st;
    struct cvt_snap before;
    cvt_snapshot(&before);
    struct containerv_options *o = userns_options();
    struct containerv_container *c = cvt_create(o);
    containerv_options_free(o);
    pid_t init = containerv_init_pid(c);

    /* inside: root */
    cvt_assert_out(c, "0", "uid");
    cvt_assert_out(c, "0", "gid");
    /* the host sees the init, and the workload, at the mapped ids */
    assert_int_equal(host_id(init, "Uid:"), (long)HOST_BASE);
    assert_int_equal(host_id(init, "Gid:"), (long)HOST_BASE);
    char path[128];
    snprintf(path, sizeof(path), "/proc/%d/uid_map", (int)init);
    char *map = cvt_read_file(path);
    assert_non_null(map);
    unsigned in, out, n;
    assert_int_equal(sscanf(map, "%u %u %u", &in, &out, &n), 3);
    assert_true(in == 0 && out == HOST_BASE && n == COUNT);
    free(map);
    /* a user namespace of its own, not the host's */
    char a[64], b[64];
    snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)init);
    ssize_t la = readlink(path, a, sizeof(a) - 1), lb = readlink("/proc/self/ns/user", b, sizeof(b) - 1);
    assert_true(la > 0 && lb > 0);
    a[la] = b[lb] = '\0';
    assert_string_not_equal(a, b);

    /* what the workload writes is owned by the mapped ids on the host */
    cvt_assert_out(c, "OK", "write", "/owned", "x");
    snprintf(path, sizeof(path), "/proc/%d/root/owned", (int)init);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_uid, HOST_BASE);
    assert_int_equal(sb.st_gid, HOST_BASE);
    /* what the image holds (owned by host root, which is not mapped) shows
     * as the overflow id inside, and the host's file is not the workload's */
    char buf[256];
    const char *const ls[] = {"/bin/sh", "-c", "ls -ln /bin/busybox", NULL};
    assert_int_equal(cvt_run(c, ls, NULL, buf, sizeof(buf)), 0);
    char mode[16];
    unsigned links, fu, fg;
    assert_int_equal(sscanf(buf, "%15s %u %u %u", mode, &links, &fu, &fg), 4);
    assert_int_equal(fu, 65534);
    assert_int_equal(fg, 65534);
    /* the image cannot be changed through it (the lower layers are not the
     * workload's, and the host's root is not its root) */
    const char *const chown_[] = {"/bin/sh", "-c", "chown 0:0 /bin/busybox 2>&1; echo rc=$?", NULL};
    assert_int_equal(cvt_run(c, chown_, NULL, buf, sizeof(buf)), 0);
    assert_non_null(strstr(buf, "rc=1"));

    /* the default capabilities, held in the namespace only: a write into
     * the host's /proc/sys fails */
    cvt_assert_out(c, "00000000a80425fb", "capeff");
    const char *const sysctl[] = {"/bin/sh", "-c",
                                  "echo 1 >/proc/sys/vm/drop_caches 2>/dev/null; echo rc=$?", NULL};
    assert_int_equal(cvt_run(c, sysctl, NULL, buf, sizeof(buf)), 0);
    assert_non_null(strstr(buf, "rc=1"));
    cvt_destroy(c);
    cvt_assert_no_leaks(&before, "user-namespace container");
    cvt_snap_free(&before);
}

static void test_reset_in_pool(void **st)
{
    (void)st;
    struct cvt_snap before;
    cvt_snapshot(&before);
    char state[600], prefix[64];
    snprintf(state, sizeof(state), "%s/userns-state", cvt.tmp);
    snprintf(prefix, sizeof(prefix), "%su", cvt.prefix);
    struct containerv_error err;
    struct containerv_options *o = userns_options();
    if (containerv_template_create(state, "userns", o, &err) < 0)
        fail_msg("template create: %s", err.message);
    containerv_options_free(o);
    struct containerv_pool_config cfg;
    containerv_pool_config_init(&cfg);
    cfg.state_dir = state;
    cfg.runtime_dir = cvt.runtime_dir;
    cfg.id_prefix = prefix;
    struct containerv_pool *p = NULL;
    if (containerv_pool_create_ex("userns", 1, &cfg, &p, &err) < 0)
        fail_msg("pool create: %s", err.message);
    assert_int_equal(containerv_pool_wait_ready(p, 60000, &err), 0);

    struct containerv_container *c = NULL;
    assert_int_equal(containerv_pool_get_container(p, &c, &err), 0);
    char first[64];
    snprintf(first, sizeof(first), "%s", containerv_id(c));
    assert_int_equal(host_id(containerv_init_pid(c), "Uid:"), (long)HOST_BASE);
    /* a user who only ran processes, one left in the background: reset in
     * place (docs/pools.md), the process gone for the next user */
    char bg[32];
    const char *const sleeper[] = {"/bin/sh", "-c", "sleep 1000 >/dev/null 2>&1 & echo $!", NULL};
    assert_int_equal(cvt_run(c, sleeper, NULL, bg, sizeof(bg)), 0);
    char comm[64]; /* its /proc entry (its comm changes while busybox execs the applet) */
    snprintf(comm, sizeof(comm), "/proc/%s/stat", bg);
    char got[256];
    assert_int_equal(cvt_cvtest(c, got, sizeof(got), "read", comm, (char *)NULL), 0);
    assert_int_equal(containerv_pool_return_container(p, c, &err), 0);
    assert_int_equal(containerv_pool_wait_ready(p, 60000, &err), 0);
    struct containerv_pool_stats s;
    assert_int_equal(containerv_pool_get_stats(p, &s), 0);
    if (s.resets != 1 || s.replaces != 0)
        fail_msg("a user-namespace container that only ran processes was not reset in place "
                 "(resets %llu, replaces %llu: %s)",
                 (unsigned long long)s.resets, (unsigned long long)s.replaces, s.last_replace);
    assert_int_equal(containerv_pool_get_container(p, &c, &err), 0);
    assert_string_equal(containerv_id(c), first);
    cvt_assert_out(c, "ENOENT", "read", comm);
    cvt_assert_out(c, "0", "uid");
    assert_int_equal(host_id(containerv_init_pid(c), "Uid:"), (long)HOST_BASE);

    /* a user who wrote to /tmp: found by the check, the container replaced */
    cvt_assert_out(c, "OK", "write", "/tmp/userA", "x");
    assert_int_equal(containerv_pool_return_container(p, c, &err), 0);
    assert_int_equal(containerv_pool_wait_ready(p, 60000, &err), 0);
    assert_int_equal(containerv_pool_get_stats(p, &s), 0);
    assert_int_equal(s.replaces, 1);
    assert_non_null(strstr(s.last_replace, "/tmp"));
    assert_int_equal(containerv_pool_get_container(p, &c, &err), 0);
    assert_string_not_equal(containerv_id(c), first);
    cvt_assert_out(c, "ENOENT", "read", "/tmp/userA");
    assert_int_equal(host_id(containerv_init_pid(c), "Uid:"), (long)HOST_BASE);
    assert_int_equal(containerv_pool_return_container(p, c, &err), 0);
    assert_int_equal(containerv_pool_destroy(p, &err), 0);
    cvt_assert_no_leaks(&before, "user-namespace pool");
    cvt_snap_free(&before);
}

static void test_fault_at_userns_map(void **st)
{
    (void)st;
    struct cvt_snap before;
    cvt_snapshot(&before);
    /* the step runs in this container: the child waits for its maps, the
     * host fails instead of writing them, and everything is undone */
    static const char *const specs[] = {"userns.map", "after:userns.map"}; /* before / after the maps */
    for (size_t i = 0; i < 2; i++) {
        setenv("CONTAINERV_FAULT", specs[i], 1);
        struct containerv_options *o = userns_options();
        struct containerv_container *c = NULL;
        struct containerv_error err;
        int r = containerv_create(cvt_id(), o, &c, &err);
        unsetenv("CONTAINERV_FAULT");
        containerv_options_free(o);
        assert_true(r < 0);
        assert_null(c);
        assert_string_equal(err.step, "userns.map");
    }
    cvt_assert_no_leaks(&before, "a fault at userns.map");
    cvt_snap_free(&before);
}

static void test_bad_maps(void **st)
{
    (void)st;
    struct cvt_snap before;
    cvt_snapshot(&before);
    struct containerv_options *o = cvt_options();
    /* a count of zero, and a range past the id space, are refused by the setter */
    assert_int_not_equal(containerv_options_add_uid_map(o, 0, HOST_BASE, 0), 0);
    assert_int_not_equal(containerv_options_add_uid_map(o, 0, 0xfffffff0u, 0x100), 0);
    containerv_options_free(o);
    /* overlapping ranges inside the container: refused before anything is
     * made (validate), or by the kernel when the map is written (userns.map) */
    o = cvt_options();
    assert_int_equal(containerv_options_add_uid_map(o, 0, HOST_BASE, 1000), 0);
    int r = containerv_options_add_uid_map(o, 500, HOST_BASE + 5000, 1000);
    if (r == 0) {
        assert_int_equal(containerv_options_add_gid_map(o, 0, HOST_BASE, COUNT), 0);
        struct containerv_container *c = NULL;
        struct containerv_error err;
        r = containerv_create(cvt_id(), o, &c, &err);
        assert_true(r < 0);
        assert_null(c);
        if (strcmp(err.step, "validate") && strcmp(err.step, "userns.map"))
            fail_msg("overlapping uid maps: failed at %s (%s)", err.step, err.message);
    }
    containerv_options_free(o);
    cvt_assert_no_leaks(&before, "bad id maps");
    cvt_snap_free(&before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ids_and_files),
        cmocka_unit_test(test_reset_in_pool),
        cmocka_unit_test(test_fault_at_userns_map),
        cmocka_unit_test(test_bad_maps),
    };
    return cvt_main("lib_userns", tests, sizeof(tests) / sizeof(tests[0]), 300);
}
