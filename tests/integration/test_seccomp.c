/* The default seccomp profile (src/common/seccomp_profile.h), seen from
 * inside a container with the cvtest helper's probes: what it refuses and
 * with which errno, what it must still allow, its variant for a container
 * that keeps every capability, and that unconfined means no filter. The
 * probes' arguments are harmless where a call is allowed (see cvtest.c). */
#include "cvt.h"

#include <stdio.h>
#include <string.h>

struct probe {
    const char *name;
    const char *want; /* cvtest's answer: an errno name, or OK */
};

static void expect(struct containerv_container *c, const struct probe *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        cvt_assert_out(c, p[i].want, "syscall", p[i].name);
}

/* Not refused by a filter: the kernel's own answer (which depends on its
 * version) is anything but EPERM. */
static void expect_not_eperm(struct containerv_container *c, const char *name)
{
    char out[64];
    int rc = cvt_cvtest(c, out, sizeof(out), "syscall", name, NULL);
    if ((rc != 0 && rc != 1) || !strcmp(out, "EPERM"))
        fail_msg("cvtest syscall %s: got exit %d and \"%s\", want the kernel's answer", name, rc, out);
}

/* Refused as Docker's profile refuses them for a container with the default
 * capabilities: EPERM for known calls, ENOSYS for calls the profile does
 * not know (so that libc falls back), EAFNOSUPPORT for no family at all. */
static void test_refused(void **state)
{
    struct cvt_fixture *f = *state;
    static const struct probe p[] = {
        {"keyctl", "EPERM"},
        {"add_key", "EPERM"},
        {"unshare", "EPERM"},
        {"mount", "EPERM"},
        {"bpf", "EPERM"},
        {"clone-newuser", "EPERM"},   /* clone with a namespace flag */
        {"lsm_set_self_attr", "EPERM"}, /* unknown to libseccomp 2.5.4: was skipped */
        {"lsm_list_modules", "EPERM"},
        {"get_mempolicy", "EPERM"},   /* NUMA policy: CAP_SYS_NICE in Docker's profile */
        {"socket-alg", "EPERM"},
        {"socket-vsock", "EPERM"},
        {"socket-vsock-hi", "EAFNOSUPPORT"}, /* AF_VSOCK with bits above the int the kernel reads */
        {"personality-rie", "ENOSYS"}, /* READ_IMPLIES_EXEC: not one of the allowed values */
        {"clone3", "ENOSYS"},          /* its flags are in memory: libc falls back to clone */
        {"file_getattr", "ENOSYS"},    /* newer than the profile's review */
        {"unknown", "ENOSYS"},         /* a number that names no system call */
    };
    expect(f->c, p, sizeof(p) / sizeof(p[0]));
    cvt_assert_out(f->c, "2", "seccomp");
}

/* Positive controls: the same probes tell an allowed call from a refused one. */
static void test_allowed(void **state)
{
    struct cvt_fixture *f = *state;
    static const struct probe p[] = {
        {"personality", "OK"}, /* the query, 0xffffffff */
        {"socket-unix", "OK"},
        {"socket-inet", "OK"},
        {"fork", "OK"},   /* clone without namespace flags */
        {"ptrace", "OK"}, /* PTRACE_TRACEME: allowed, as in Docker's profile */
    };
    expect(f->c, p, sizeof(p) / sizeof(p[0]));
    char out[64];
    /* a process that makes the init its tracer and execs runs to its end:
     * the init lets it go instead of keeping it stopped */
    assert_int_equal(cvt_cvtest(f->c, out, sizeof(out), "traceme", "/bin/cvtest", "exit", "7", NULL), 7);
    assert_int_equal(cvt_cvtest(f->c, out, sizeof(out), "traceme", "/bin/cvtest", "signal", "TERM", NULL),
                     128 + 15);
}

/* A container that keeps every capability gets the calls Docker's profile
 * allows for them; the rest of the profile holds. */
static void test_all_caps(void **state)
{
    (void)state;
    struct containerv_options *o = cvt_options();
    assert_int_equal(containerv_options_set_relax(o, CONTAINERV_RELAX_CAPS), 0);
    struct cvt_fixture *f;
    cvt_fixture_setup_with((void **)&f, o);
    cvt_assert_out(f->c, "2", "seccomp");
    static const struct probe p[] = {
        {"mount", "OK"},
        {"unshare", "OK"},
        {"clone-newuser", "OK"},
        {"clone3", "OK"},
        {"get_mempolicy", "OK"},
        {"keyctl", "EPERM"},
        {"socket-vsock", "EPERM"},
        {"personality-rie", "ENOSYS"},
        {"unknown", "ENOSYS"},
    };
    expect(f->c, p, sizeof(p) / sizeof(p[0]));
    expect_not_eperm(f->c, "lsm_set_self_attr");
    cvt_fixture_teardown((void **)&f);
}

/* seccomp relaxed (--security-opt seccomp=unconfined): no filter at all. */
static void test_unconfined(void **state)
{
    (void)state;
    struct containerv_options *o = cvt_options();
    assert_int_equal(containerv_options_set_relax(o, CONTAINERV_RELAX_SECCOMP), 0);
    struct cvt_fixture *f;
    cvt_fixture_setup_with((void **)&f, o);
    cvt_assert_out(f->c, "0", "seccomp");
    static const struct probe p[] = {
        {"keyctl", "OK"},
        {"get_mempolicy", "OK"},
        {"personality-rie", "OK"},
        {"clone3", "OK"},
    };
    expect(f->c, p, sizeof(p) / sizeof(p[0]));
    expect_not_eperm(f->c, "lsm_set_self_attr");
    expect_not_eperm(f->c, "socket-vsock");
    cvt_fixture_teardown((void **)&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_refused, cvt_fixture_setup, cvt_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_allowed, cvt_fixture_setup, cvt_fixture_teardown),
        cmocka_unit_test(test_all_caps),
        cmocka_unit_test(test_unconfined),
    };
    return cvt_main("seccomp", tests, sizeof(tests) / sizeof(tests[0]), 240);
}
