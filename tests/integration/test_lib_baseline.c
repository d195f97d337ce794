/* The default security baseline seen through cvtest's ptrace, userfaultfd,
 * perf_event_open, personality and chroot probes, with what Docker's
 * default seccomp profile (moby profiles/seccomp/default.json) gives a
 * container with the default capabilities:
 *   - ptrace: allowed (on kernels >= 4.8, where seccomp cannot be bypassed
 *     through it); the probe is PTRACE_TRACEME, which needs no capability;
 *   - userfaultfd: refused (in no allow list of the profile, whatever the
 *     capabilities; the kernel itself wants CAP_SYS_PTRACE when
 *     vm.unprivileged_userfaultfd is 0);
 *   - perf_event_open: refused without CAP_SYS_ADMIN or CAP_PERFMON,
 *     allowed with them (the probe passes a NULL attr: EFAULT when allowed);
 *   - personality: allowed for PER_LINUX (0), PER_LINUX32 (8), their
 *     UNAME26 variants (0x20000, 0x20008) and the query (0xffffffff), EPERM
 *     for any other value (READ_IMPLIES_EXEC, ADDR_NO_RANDOMIZE, PER_BSD);
 *   - chroot: allowed with CAP_SYS_CHROOT (in the default set), refused
 *     without it (here by the kernel, for a non-root user).
 * Positive controls: the same probes in a container with seccomp and the
 * capability drop relaxed succeed, so a refusal above is the baseline's.
 *
 * The profile is an allow list with Docker's reach (docs/security.md, "The
 * seccomp profile and Docker's"); where its answer differs from Docker's it
 * says so in the row: personality values outside Docker's five get ENOSYS
 * (the allow list's default) where Docker answers EPERM. */
#include "cvt.h"

#include <stdio.h>
#include <string.h>

/* "!EPERM": anything but EPERM (the kernel's own answer, which depends on
 * its version and configuration) */
struct row {
    const char *args[3]; /* cvtest arguments */
    const char *want;    /* containerv's profile (Docker's answer, except where a row says) */
};

static void expect_rows(struct containerv_container *c, const char *where, const struct row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct row *r = &rows[i];
        const char *want = r->want;
        char out[256];
        int rc = cvt_cvtest(c, out, sizeof(out), r->args[0], r->args[1], r->args[2], NULL);
        bool ok = (rc == 0 || rc == 1) &&
                  (strcmp(want, "!EPERM") == 0 ? strcmp(out, "EPERM") != 0 && out[0] : strcmp(out, want) == 0);
        if (!ok)
            fail_msg("%s: cvtest %s %s: want %s, got exit %d and \"%s\"", where, r->args[0],
                     r->args[1] ? r->args[1] : "", want, rc, out);
    }
}

static struct containerv_container *make(unsigned relax, bool user)
{
    struct containerv_options *o = cvt_options();
    if (relax)
        assert_int_equal(containerv_options_set_relax(o, relax), 0);
    if (user)
        assert_int_equal(containerv_options_set_user(o, 1000, 1000), 0);
    struct containerv_container *c = cvt_create(o);
    containerv_options_free(o);
    return c;
}

/* The default container: seccomp on, the OCI default capabilities. */
static void test_default_baseline(void **state)
{
    struct cvt_fixture *f = *state;
    cvt_assert_out(f->c, "2", "seccomp"); /* the filter is on */
    static const struct row rows[] = {
        {{"syscall", "ptrace"}, "OK"},
        {{"syscall", "userfaultfd"}, "EPERM"},
        {{"syscall", "perf_event_open"}, "EPERM"},
        {{"syscall", "personality"}, "OK"}, /* the query, 0xffffffff */
        {{"personality", "0"}, "OK"},       /* PER_LINUX */
        {{"personality", "0x8"}, "OK"},     /* PER_LINUX32 */
        {{"personality", "0x20000"}, "OK"}, /* PER_LINUX | UNAME26 */
        {{"personality", "0x20008"}, "OK"}, /* PER_LINUX32 | UNAME26 */
        {{"personality", "0x400000"}, "ENOSYS" /* Docker: EPERM */}, /* READ_IMPLIES_EXEC */
        {{"personality", "0x40000"}, "ENOSYS" /* Docker: EPERM */},  /* ADDR_NO_RANDOMIZE */
        {{"personality", "0x6"}, "ENOSYS" /* Docker: EPERM */},      /* PER_BSD */
        {{"syscall", "chroot"}, "OK"}, /* CAP_SYS_CHROOT is in the default set */
    };
    expect_rows(f->c, "default container", rows, sizeof(rows) / sizeof(rows[0]));
}

/* Every capability kept, seccomp still on: what Docker's profile allows for
 * CAP_SYS_ADMIN/CAP_PERFMON is allowed, the rest stays refused. */
static void test_all_caps_baseline(void **state)
{
    (void)state;
    struct containerv_container *c = make(CONTAINERV_RELAX_CAPS, false);
    cvt_assert_out(c, "2", "seccomp");
    static const struct row rows[] = {
        {{"syscall", "perf_event_open"}, "!EPERM"},
        /* the kernel would allow it now (CAP_SYS_PTRACE): EPERM is the filter's */
        {{"syscall", "userfaultfd"}, "EPERM"},
        {{"syscall", "ptrace"}, "OK"},
        {{"personality", "0x400000"}, "ENOSYS" /* Docker: EPERM */},
        {{"syscall", "chroot"}, "OK"},
    };
    expect_rows(c, "every capability", rows, sizeof(rows) / sizeof(rows[0]));
    cvt_destroy(c);
}

/* chroot needs CAP_SYS_CHROOT: a non-root user has none. */
static void test_chroot_needs_the_capability(void **state)
{
    (void)state;
    struct containerv_container *c = make(0, true);
    cvt_assert_out(c, "1000", "uid");
    cvt_assert_out(c, "0000000000000000", "capeff");
    static const struct row rows[] = {
        {{"syscall", "chroot"}, "EPERM"},
        {{"personality", "0"}, "OK"}, /* needs no capability */
    };
    expect_rows(c, "user 1000", rows, sizeof(rows) / sizeof(rows[0]));
    cvt_destroy(c);
}

/* Positive controls: with no filter and every capability, each probe gets
 * the kernel's answer, not EPERM: the refusals above are the baseline's. */
static void test_relaxed_controls(void **state)
{
    (void)state;
    struct containerv_container *c = make(CONTAINERV_RELAX_SECCOMP | CONTAINERV_RELAX_CAPS, false);
    cvt_assert_out(c, "0", "seccomp");
    static const struct row rows[] = {
        {{"syscall", "ptrace"}, "OK"},
        {{"syscall", "userfaultfd"}, "!EPERM"},
        {{"syscall", "perf_event_open"}, "!EPERM"},
        {{"personality", "0x400000"}, "OK"},
        {{"personality", "0x6"}, "OK"},
        {{"syscall", "chroot"}, "OK"},
    };
    expect_rows(c, "unconfined", rows, sizeof(rows) / sizeof(rows[0]));
    cvt_destroy(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_default_baseline, cvt_fixture_setup, cvt_fixture_teardown),
        cmocka_unit_test(test_all_caps_baseline),
        cmocka_unit_test(test_chroot_needs_the_capability),
        cmocka_unit_test(test_relaxed_controls),
    };
    return cvt_main("lib_baseline", tests, sizeof(tests) / sizeof(tests[0]), 240);
}
