/* Isolation and the security baseline, seen from inside a container made
 * through the library, with the cvtest helper. */
#include "cvt.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

/* The OCI/docker default capability set: CHOWN DAC_OVERRIDE FSETID FOWNER
 * MKNOD NET_RAW SETGID SETUID SETFCAP SETPCAP NET_BIND_SERVICE SYS_CHROOT KILL
 * AUDIT_WRITE. */
#define OCI_DEFAULT_CAPS "00000000a80425fb"

/* the per-test container and its leak snapshot: struct cvt_fixture, cvt.h */

static void test_pid1_is_init(void **state)
{
    struct cvt_fixture *f = *state;
    char out[256];
    assert_int_equal(cvt_cvtest(f->c, out, sizeof(out), "comm1", NULL), 0);
    if (!strcmp(out, "cvtest") || !out[0])
        fail_msg("pid 1 of the container is \"%s\", not the container's init", out);
    assert_int_equal(cvt_cvtest(f->c, out, sizeof(out), "pid", NULL), 0);
    int pid = atoi(out);
    if (pid < 2 || pid > 10)
        fail_msg("the first workload's pid is %s: not in a fresh pid namespace", out);
    cvt_assert_out(f->c, "1", "ppid"); /* the init is its parent and reaper */

    pid_t init = containerv_init_pid(f->c);
    assert_true(init > 1 && init != getpid());
    char a[64], b[64], path[64];
    snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)init);
    ssize_t na = readlink(path, a, sizeof(a) - 1);
    ssize_t nb = readlink("/proc/self/ns/pid", b, sizeof(b) - 1);
    assert_true(na > 0 && nb > 0);
    a[na] = b[nb] = '\0';
    assert_string_not_equal(a, b);
}

static void test_hostname_differs(void **state)
{
    struct cvt_fixture *f = *state;
    struct utsname u;
    uname(&u);
    char out[256];
    assert_int_equal(cvt_cvtest(f->c, out, sizeof(out), "hostname", NULL), 0);
    assert_true(out[0] != '\0');
    if (!strcmp(out, u.nodename))
        fail_msg("the container's hostname is the host's (%s)", out);
}

static void test_hostname_option(void **state)
{
    (void)state;
    struct containerv_options *o = cvt_options();
    char name[64];
    snprintf(name, sizeof(name), "box-%d", (int)getpid());
    assert_int_equal(containerv_options_set_hostname(o, name), 0);
    struct cvt_fixture *f;
    cvt_fixture_setup_with((void **)&f, o);
    cvt_assert_out(f->c, name, "hostname");
    cvt_fixture_teardown((void **)&f);
}

static void test_network_is_loopback_only(void **state)
{
    struct cvt_fixture *f = *state;
    cvt_assert_out(f->c, "lo", "netdevs");
}

static void test_capabilities(void **state)
{
    struct cvt_fixture *f = *state;
    cvt_assert_out(f->c, OCI_DEFAULT_CAPS, "capeff");
    cvt_assert_out(f->c, OCI_DEFAULT_CAPS, "capbnd");
    cvt_assert_out(f->c, OCI_DEFAULT_CAPS, "capprm");
    cvt_assert_out(f->c, "1", "nnp");
    cvt_assert_out(f->c, "2", "seccomp");
}

static void test_blocked_syscalls(void **state)
{
    struct cvt_fixture *f = *state;
    /* refused by the seccomp filter (EPERM, like docker's profile) */
    const char *blocked[] = {"keyctl", "add_key", "unshare", "mount", "bpf"};
    for (size_t i = 0; i < sizeof(blocked) / sizeof(blocked[0]); i++)
        cvt_assert_out(f->c, "EPERM", "syscall", blocked[i]);
    /* refused by the filter or for want of a capability: must fail either way */
    const char *refused[] = {"setns", "reboot", "kexec_load", "init_module", "swapon"};
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        char out[64];
        assert_int_equal(cvt_cvtest(f->c, out, sizeof(out), "syscall", refused[i], NULL), 0);
        if (!strcmp(out, "OK"))
            fail_msg("syscall %s succeeded in the container", refused[i]);
    }
}

/* With the filter and the capability drop relaxed, the same probes succeed:
 * the probes above can tell a blocked call from an allowed one. */
static void test_relaxed_security(void **state)
{
    (void)state;
    struct containerv_options *o = cvt_options();
    assert_int_equal(containerv_options_set_relax(o, CONTAINERV_RELAX_SECCOMP | CONTAINERV_RELAX_CAPS |
                                                        CONTAINERV_RELAX_NO_NEW_PRIVS |
                                                        CONTAINERV_RELAX_MASKED_PATHS),
                     0);
    struct cvt_fixture *f;
    cvt_fixture_setup_with((void **)&f, o);
    cvt_assert_out(f->c, "0", "seccomp");
    cvt_assert_out(f->c, "0", "nnp");
    cvt_assert_out(f->c, "OK", "syscall", "keyctl");
    char out[256];
    assert_int_equal(cvt_cvtest(f->c, out, sizeof(out), "capeff", NULL), 0);
    assert_string_not_equal(out, OCI_DEFAULT_CAPS);
    assert_int_equal(cvt_cvtest(f->c, out, sizeof(out), "read", "/proc/timer_list", NULL), 0);
    if (atoi(out) <= 0)
        fail_msg("unmasked /proc/timer_list read %s bytes", out);
    cvt_fixture_teardown((void **)&f);
}

static void expect_masked(struct containerv_container *c, const char *path, bool may_be_missing)
{
    char out[256];
    int rc = cvt_cvtest(c, out, sizeof(out), "read", path, NULL);
    if (rc == 0 && !strcmp(out, "0"))
        return;
    if (may_be_missing && !strcmp(out, "ENOENT"))
        return;
    fail_msg("reading %s in the container: want 0 bytes, got exit %d and \"%s\"", path, rc, out);
}

static void test_masked_and_readonly_paths(void **state)
{
    struct cvt_fixture *f = *state;
    struct stat st;
    /* /proc/kcore and /proc/sched_debug do not exist on every kernel */
    expect_masked(f->c, "/proc/kcore", stat("/proc/kcore", &st) < 0);
    expect_masked(f->c, "/proc/keys", stat("/proc/keys", &st) < 0);
    expect_masked(f->c, "/proc/timer_list", stat("/proc/timer_list", &st) < 0);
    expect_masked(f->c, "/proc/sched_debug", stat("/proc/sched_debug", &st) < 0);
    /* a masked directory is empty, and nothing can be made in it */
    if (stat("/sys/firmware", &st) == 0) {
        cvt_assert_out(f->c, "", "ls", "/sys/firmware");
        cvt_assert_out(f->c, "EROFS", "write", "/sys/firmware/x", "evil");
    }
    if (stat("/proc/acpi", &st) == 0) {
        cvt_assert_out(f->c, "", "ls", "/proc/acpi");
        cvt_assert_out(f->c, "EROFS", "write", "/proc/acpi/x", "evil");
    }

    char out[256];
    int rc = cvt_cvtest(f->c, out, sizeof(out), "write", "/proc/sysrq-trigger", "h", NULL);
    if (rc == 0)
        fail_msg("/proc/sysrq-trigger is writable in the container");
    cvt_assert_out(f->c, "EROFS", "write", "/proc/sys/kernel/hostname", "evil");
    cvt_assert_out(f->c, "EROFS", "write", "/proc/sys/vm/drop_caches", "1");
}

static void test_no_fds_leak(void **state)
{
    struct cvt_fixture *f = *state;
    /* fds the test process holds without O_CLOEXEC must not reach the workload */
    int a = open("/etc/hostname", O_RDONLY);
    int d = open("/", O_RDONLY | O_DIRECTORY);
    assert_true(a >= 0 && d >= 0);
    cvt_assert_out(f->c, "0 1 2", "fds");

    /* also in a container created while they are open */
    struct containerv_options *o = cvt_options();
    struct containerv_container *c2 = cvt_create(o);
    containerv_options_free(o);
    cvt_assert_out(c2, "0 1 2", "fds");
    cvt_destroy(c2);
    close(a);
    close(d);
}

static void on_usr1(int sig)
{
    (void)sig;
}

/* Signals the creator ignores or handles reach neither the init nor a
 * workload: the child is a copy of its creator, and SIG_IGN survives exec
 * (a CI runner started with nohup, or from a shell's background job,
 * ignores SIGHUP, SIGINT or SIGQUIT). */
static void test_no_signal_dispositions_leak(void **state)
{
    (void)state;
    struct sigaction ign = {.sa_handler = SIG_IGN}, handler = {.sa_handler = on_usr1}, old[4];
    assert_int_equal(sigaction(SIGPIPE, &ign, &old[0]), 0);
    assert_int_equal(sigaction(SIGHUP, &ign, &old[1]), 0);
    assert_int_equal(sigaction(SIGINT, &ign, &old[2]), 0);
    assert_int_equal(sigaction(SIGUSR1, &handler, &old[3]), 0);
    struct containerv_options *o = cvt_options();
    struct containerv_container *c = cvt_create(o);
    containerv_options_free(o);
    sigaction(SIGPIPE, &old[0], NULL);
    sigaction(SIGHUP, &old[1], NULL);
    sigaction(SIGINT, &old[2], NULL);
    sigaction(SIGUSR1, &old[3], NULL);
    /* the workload's SigIgn, then the init's */
    cvt_assert_out(c, "0000000000000000\n0000000000000000", "sigign");
    cvt_destroy(c);
}

/* The library keeps the /dev it clones for its containers open for the life
 * of the process. A process may close fds it did not open and reuse the
 * numbers: the container must then not get whatever the number points at
 * as its /dev. */
static void test_dev_tree_fd_reused(void **state)
{
    (void)state;
    char scratch[512], marker[600];
    snprintf(scratch, sizeof(scratch), "%s/not-dev", cvt.tmp);
    snprintf(marker, sizeof(marker), "%s/host-secret", scratch);
    assert_int_equal(mkdir(scratch, 0700), 0);
    int mfd = open(marker, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    assert_true(mfd >= 0);
    close(mfd);
    /* the library's tree: a detached tmpfs ("/") holding the null node */
    int tree = -1;
    DIR *d = opendir("/proc/self/fd");
    assert_non_null(d);
    for (struct dirent *e; (e = readdir(d));) {
        char link[64], target[16];
        int fd = atoi(e->d_name);
        snprintf(link, sizeof(link), "/proc/self/fd/%s", e->d_name);
        ssize_t k = readlink(link, target, sizeof(target) - 1);
        struct stat st;
        if (k == 1 && target[0] == '/' && fd != dirfd(d) && fstatat(fd, "null", &st, 0) == 0 &&
            S_ISCHR(st.st_mode))
            tree = fd;
    }
    closedir(d);
    if (tree < 0)
        cvt_skip_host("this kernel cannot clone a detached tree: every child makes its own /dev");
    int other = open(scratch, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(other >= 0);
    assert_int_equal(dup3(other, tree, O_CLOEXEC), tree);
    close(other);
    struct containerv_options *o = cvt_options();
    struct containerv_container *c = cvt_create(o);
    containerv_options_free(o);
    char out[4096];
    assert_int_equal(cvt_cvtest(c, out, sizeof(out), "ls", "/dev", NULL), 0);
    if (strstr(out, "host-secret") || !strstr(out, "null"))
        fail_msg("the container's /dev after the library's fd was reused: \"%s\"", out);
    cvt_assert_out(c, "0", "read", "/dev/null");
    cvt_destroy(c);
    close(tree);
    unlink(marker);
    rmdir(scratch);
}

/* Nothing in the container leads back to the host (CVE-2019-5736,
 * CVE-2024-21626 shapes): not the init's executable, fds, environment or
 * root, not a socket of the runtime. Probes only: nothing is written. */
static void test_no_way_back_to_the_host(void **state)
{
    struct cvt_fixture *f = *state;
    char out[4096];
    const char *denied_open[] = {"/proc/1/exe", "/proc/1/environ", "/proc/1/fd/0", "/proc/1/fd/3",
                                 "/proc/1/mem"};
    for (size_t i = 0; i < sizeof(denied_open) / sizeof(denied_open[0]); i++) {
        int rc = cvt_cvtest(f->c, out, sizeof(out), "openw", denied_open[i], NULL);
        if (rc == 0 || !strcmp(out, "OK"))
            fail_msg("the workload can open the init's %s for writing", denied_open[i]);
    }
    const char *denied_link[] = {"/proc/1/exe", "/proc/1/cwd", "/proc/1/root", "/proc/1/fd/0",
                                 "/proc/1/fd/3"};
    for (size_t i = 0; i < sizeof(denied_link) / sizeof(denied_link[0]); i++) {
        int rc = cvt_cvtest(f->c, out, sizeof(out), "readlink", denied_link[i], NULL);
        if (rc == 0 && strcmp(out, "/") != 0)
            fail_msg("readlink %s in the container gives the host's \"%s\"", denied_link[i], out);
    }
    int rc = cvt_cvtest(f->c, out, sizeof(out), "read", "/proc/1/environ", NULL);
    if (rc == 0 && strcmp(out, "0"))
        fail_msg("the workload can read the init's environment (%s bytes)", out);
    /* its own cwd and root are the container's */
    cvt_assert_out(f->c, "/", "readlink", "/proc/self/cwd");
    cvt_assert_out(f->c, "/", "readlink", "/proc/self/root");
    /* no socket anywhere in the container's file system (the control socket
     * stays on the host) */
    const char *const find[] = {"find", "/", "-path", "/proc", "-prune", "-o", "-path", "/sys",
                                "-prune", "-o", "-type", "s", "-print", NULL};
    assert_int_equal(cvt_run(f->c, find, NULL, out, sizeof(out)), 0);
    if (out[0])
        fail_msg("sockets in the container: %s", out);
}

/* CVE-2019-5736: the init's executable is the init program in a sealed
 * memfd, never the creator's (this test's binary, here); a script whose
 * interpreter is /proc/self/exe, started by the init, runs that program,
 * which refuses to start; and not even the host's root can change it. */
static void test_init_executable_is_sealed(void **state)
{
    struct cvt_fixture *f = *state;
    char path[64], link[256], out[4096];
    snprintf(path, sizeof(path), "/proc/%d/exe", (int)containerv_init_pid(f->c));
    ssize_t n = readlink(path, link, sizeof(link) - 1);
    assert_true(n > 0);
    link[n] = '\0';
    if (strncmp(link, "/memfd:containerv-init", 22) != 0)
        fail_msg("the init executes \"%s\", not the sealed init program", link);
    struct stat init_st, self_st;
    assert_int_equal(stat(path, &init_st), 0);
    assert_int_equal(stat("/proc/self/exe", &self_st), 0);
    assert_false(init_st.st_dev == self_st.st_dev && init_st.st_ino == self_st.st_ino);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    int want = F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL;
    assert_int_equal(fcntl(fd, F_GET_SEALS) & want, want);
    close(fd);
    fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
        errno = 0;
        assert_true(write(fd, "x", 1) < 0 && errno == EPERM);
        close(fd);
    } else {
        assert_true(errno == ETXTBSY || errno == EPERM || errno == EACCES);
    }
    /* the attack's first half, run by the init itself (a shell would make
     * its own executable the interpreter) */
    const char *const mk[] = {"/bin/sh", "-c", "printf '#!/proc/self/exe\\n' > /tmp/cve && chmod 755 /tmp/cve", NULL};
    assert_int_equal(cvt_run(f->c, mk, NULL, out, sizeof(out)), 0);
    int err[2];
    assert_int_equal(pipe2(err, O_CLOEXEC), 0);
    struct containerv_spawn_options so;
    containerv_spawn_options_init(&so);
    so.stderr_fd = err[1];
    const char *const run[] = {"/tmp/cve", NULL};
    int rc = cvt_run(f->c, run, &so, out, sizeof(out));
    close(err[1]);
    char msg[512];
    n = read(err[0], msg, sizeof(msg) - 1);
    close(err[0]);
    msg[n > 0 ? n : 0] = '\0';
    if (rc != 127 || !strstr(msg, "containerv-init: only libcontainerv starts this program"))
        fail_msg("a #!/proc/self/exe script run by the init: exit %d, stdout \"%s\", stderr \"%s\"", rc, out, msg);
}

static void test_exit_codes_and_signals(void **state)
{
    struct cvt_fixture *f = *state;
    char out[64];
    assert_int_equal(cvt_cvtest(f->c, out, sizeof(out), "exit", "0", NULL), 0);
    assert_int_equal(cvt_cvtest(f->c, out, sizeof(out), "exit", "42", NULL), 42);
    assert_int_equal(cvt_cvtest(f->c, out, sizeof(out), "exit", "255", NULL), 255);
    assert_int_equal(cvt_cvtest(f->c, out, sizeof(out), "signal", "KILL", NULL), 128 + 9);
    assert_int_equal(cvt_cvtest(f->c, out, sizeof(out), "signal", "TERM", NULL), 128 + 15);
    assert_int_equal(cvt_cvtest(f->c, out, sizeof(out), "signal", "SEGV", NULL), 128 + 11);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pid1_is_init, cvt_fixture_setup, cvt_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_hostname_differs, cvt_fixture_setup, cvt_fixture_teardown),
        cmocka_unit_test(test_hostname_option),
        cmocka_unit_test_setup_teardown(test_network_is_loopback_only, cvt_fixture_setup, cvt_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_capabilities, cvt_fixture_setup, cvt_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_blocked_syscalls, cvt_fixture_setup, cvt_fixture_teardown),
        cmocka_unit_test(test_relaxed_security),
        cmocka_unit_test_setup_teardown(test_masked_and_readonly_paths, cvt_fixture_setup, cvt_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_no_fds_leak, cvt_fixture_setup, cvt_fixture_teardown),
        cmocka_unit_test(test_no_signal_dispositions_leak),
        cmocka_unit_test(test_dev_tree_fd_reused),
        cmocka_unit_test_setup_teardown(test_no_way_back_to_the_host, cvt_fixture_setup, cvt_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_init_executable_is_sealed, cvt_fixture_setup, cvt_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_exit_codes_and_signals, cvt_fixture_setup, cvt_fixture_teardown),
    };
    return cvt_main("lib_isolation", tests, sizeof(tests) / sizeof(tests[0]), 240);
}
