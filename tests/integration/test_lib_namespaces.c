/* Joining an existing namespace (containerv_options_join_namespace): a
 * container shares another's network, IPC and UTS namespaces, or one that a
 * process of the test holds, changes nothing in it, and bad paths are
 * refused with the path named and nothing left behind. */
#include "cvt.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void ns_link(pid_t pid, const char *ns, char *out, size_t n)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, ns);
    ssize_t k = readlink(path, out, n - 1);
    if (k <= 0)
        fail_msg("readlink %s: %s", path, strerror(errno));
    out[k] = '\0';
}

static void ns_path(pid_t pid, const char *ns, char *out, size_t n)
{
    snprintf(out, n, "/proc/%d/ns/%s", (int)pid, ns);
}

/* B joins A's network, IPC and UTS namespaces: the same namespaces inside,
 * A's hostname, and A's IPC objects visible; its own mount and pid ones. */
static void test_join_another_container(void **state)
{
    (void)state;
    struct cvt_snap before;
    cvt_snapshot(&before);
    struct containerv_options *oa = cvt_options();
    assert_int_equal(containerv_options_set_hostname(oa, "alpha"), 0);
    struct containerv_container *a = cvt_create(oa);
    pid_t pa = containerv_init_pid(a);
    char path[3][64];
    static const char *const kinds[3] = {"net", "ipc", "uts"};
    static const unsigned bits[3] = {CONTAINERV_NS_NET, CONTAINERV_NS_IPC, CONTAINERV_NS_UTS};
    struct containerv_options *ob = cvt_options();
    for (int i = 0; i < 3; i++) {
        ns_path(pa, kinds[i], path[i], sizeof(path[i]));
        assert_int_equal(containerv_options_join_namespace(ob, bits[i], path[i]), 0);
    }
    struct containerv_container *b = cvt_create(ob);
    for (int i = 0; i < 3; i++) {
        char want[64], p[64];
        ns_link(pa, kinds[i], want, sizeof(want));
        snprintf(p, sizeof(p), "/proc/self/ns/%s", kinds[i]);
        cvt_assert_out(b, want, "readlink", p);
    }
    char ma[64], mb[64];
    ns_link(pa, "mnt", ma, sizeof(ma));
    ns_link(containerv_init_pid(b), "mnt", mb, sizeof(mb));
    assert_string_not_equal(ma, mb);
    ns_link(pa, "pid", ma, sizeof(ma));
    ns_link(containerv_init_pid(b), "pid", mb, sizeof(mb));
    assert_string_not_equal(ma, mb);
    cvt_assert_out(b, "alpha", "hostname");
    cvt_assert_out(a, "alpha", "hostname"); /* B did not set it */
    /* a System V message queue made in A is there in B, and not in a third
     * container of its own */
    cvt_assert_out(b, "ENOENT", "msgq", "0x5eed");
    cvt_assert_out(a, "OK", "msgq", "0x5eed", "create");
    cvt_assert_out(b, "OK", "msgq", "0x5eed");
    struct containerv_options *oo = cvt_options();
    struct containerv_container *other = cvt_create(oo);
    cvt_assert_out(other, "ENOENT", "msgq", "0x5eed");
    cvt_destroy(other);
    containerv_options_free(oo);
    char out[256];
    cvt_destroy(b);
    /* A is whole after B is gone: its loopback still up */
    const char *const lo[] = {"/bin/sh", "-c", "cat /sys/class/net/lo/flags", NULL};
    assert_int_equal(cvt_run(a, lo, NULL, out, sizeof(out)), 0);
    assert_true(strtol(out, NULL, 16) & 1);
    cvt_destroy(a);
    containerv_options_free(oa);
    containerv_options_free(ob);
    cvt_assert_no_leaks(&before, "two containers, one joining the other's namespaces");
    cvt_snap_free(&before);
}

/* A network namespace held by a process of the test (lo down there): the
 * container joins it and leaves its loopback as it was. */
static void test_join_held_netns_changes_nothing(void **state)
{
    (void)state;
    int go[2];
    assert_int_equal(pipe(go), 0);
    pid_t holder = fork();
    assert_true(holder >= 0);
    if (holder == 0) {
        if (unshare(CLONE_NEWNET) < 0)
            _exit(1);
        char c = 1;
        if (write(go[1], &c, 1) != 1)
            _exit(1);
        pause();
        _exit(0);
    }
    close(go[1]);
    char c;
    assert_int_equal(read(go[0], &c, 1), 1);
    close(go[0]);
    struct cvt_snap before;
    cvt_snapshot(&before);
    char path[64], want[64];
    ns_path(holder, "net", path, sizeof(path));
    ns_link(holder, "net", want, sizeof(want));
    struct containerv_options *o = cvt_options();
    assert_int_equal(containerv_options_join_namespace(o, CONTAINERV_NS_NET, path), 0);
    struct containerv_container *ct = cvt_create(o);
    cvt_assert_out(ct, want, "readlink", "/proc/self/ns/net");
    char out[64];
    const char *const lo[] = {"/bin/sh", "-c", "cat /sys/class/net/lo/flags", NULL};
    assert_int_equal(cvt_run(ct, lo, NULL, out, sizeof(out)), 0);
    if (strtol(out, NULL, 16) & 1)
        fail_msg("the container brought up the loopback of a namespace it joined (flags %s)", out);
    cvt_destroy(ct);
    containerv_options_free(o);
    cvt_assert_no_leaks(&before, "a container in a held network namespace");
    cvt_snap_free(&before);
    kill(holder, SIGKILL);
    waitpid(holder, NULL, 0);
}

static void expect_refused(struct containerv_options *o, const char *needle)
{
    struct cvt_snap before;
    cvt_snapshot(&before);
    struct containerv_container *c = NULL;
    struct containerv_error err;
    containerv_error_clear(&err);
    int r = containerv_create(cvt_id(), o, &c, &err);
    if (r == 0) {
        cvt_destroy(c);
        fail_msg("create joining '%s' succeeded", needle);
    }
    if (!strstr(err.message, needle) || strchr(err.message, '\n'))
        fail_msg("want one line naming '%s', got \"%s\"", needle, err.message);
    cvt_assert_no_leaks(&before, needle);
    cvt_snap_free(&before);
    containerv_options_free(o);
}

static void test_bad_paths_refused(void **state)
{
    (void)state;
    struct containerv_options *o = cvt_options();
    /* a file that is not a namespace */
    assert_int_equal(containerv_options_join_namespace(o, CONTAINERV_NS_NET, "/etc/passwd"), 0);
    expect_refused(o, "/etc/passwd");
    /* a namespace of another type */
    o = cvt_options();
    assert_int_equal(containerv_options_join_namespace(o, CONTAINERV_NS_UTS, "/proc/self/ns/ipc"), 0);
    expect_refused(o, "/proc/self/ns/ipc");
    /* missing */
    o = cvt_options();
    assert_int_equal(containerv_options_join_namespace(o, CONTAINERV_NS_IPC, "/nonexistent/ns"), 0);
    expect_refused(o, "/nonexistent/ns");
    /* with a user namespace of its own */
    o = cvt_options();
    assert_int_equal(containerv_options_add_uid_map(o, 0, 200000, 65536), 0);
    assert_int_equal(containerv_options_add_gid_map(o, 0, 200000, 65536), 0);
    assert_int_equal(containerv_options_join_namespace(o, CONTAINERV_NS_NET, "/proc/self/ns/net"), 0);
    expect_refused(o, "user namespace");
    /* a hostname for a UTS namespace the container does not own */
    o = cvt_options();
    assert_int_equal(containerv_options_set_hostname(o, "mine"), 0);
    assert_int_equal(containerv_options_join_namespace(o, CONTAINERV_NS_UTS, "/proc/self/ns/uts"), 0);
    expect_refused(o, "hostname");
    /* the API's own refusals */
    o = cvt_options();
    assert_int_equal(containerv_options_join_namespace(o, CONTAINERV_NS_MOUNT, "/proc/self/ns/mnt"), -EOPNOTSUPP);
    assert_int_equal(containerv_options_join_namespace(o, CONTAINERV_NS_USER, "/proc/self/ns/user"), -EOPNOTSUPP);
    assert_int_equal(containerv_options_join_namespace(o, CONTAINERV_NS_NET, "proc/self/ns/net"), -EINVAL);
    assert_int_equal(containerv_options_join_namespace(o, CONTAINERV_NS_NET, NULL), 0);
    containerv_options_free(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_join_another_container),
        cmocka_unit_test(test_join_held_netns_changes_nothing),
        cmocka_unit_test(test_bad_paths_refused),
    };
    return cvt_main("lib_namespaces", tests, sizeof(tests) / sizeof(tests[0]), 120);
}
