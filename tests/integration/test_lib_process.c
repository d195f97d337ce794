/* Processes in a container through the library: several at once, wait and
 * kill, pidfds, user / working directory / environment, spawn failures. */
#include "cvt.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* the per-test container and its leak snapshot: struct cvt_fixture, cvt.h */

static pid_t spawn_quiet(struct containerv_container *c, const char *const argv[])
{
    struct containerv_spawn_options so;
    containerv_spawn_options_init(&so);
    struct containerv_error err;
    containerv_error_clear(&err);
    pid_t pid = -1;
    int r = containerv_spawn(c, argv, &so, &pid, &err);
    if (r < 0)
        fail_msg("spawn %s: %d: %s", argv[0], r, err.message);
    assert_true(pid > 0);
    return pid;
}

static int wait_code(struct containerv_container *c, pid_t pid)
{
    struct containerv_error err;
    containerv_error_clear(&err);
    int code = -1;
    int r = containerv_wait(c, pid, &code, &err);
    if (r < 0)
        fail_msg("wait %d: %d: %s", (int)pid, r, err.message);
    return code;
}

static bool pidfd_exited(int pidfd)
{
    struct pollfd p = {.fd = pidfd, .events = POLLIN};
    return poll(&p, 1, 0) == 1;
}

static void test_spawn_options_init(void **state)
{
    (void)state;
    struct containerv_spawn_options so;
    memset(&so, 0x5a, sizeof(so));
    containerv_spawn_options_init(&so);
    assert_null(so.env);
    assert_null(so.cwd);
    assert_int_equal(so.uid, -1);
    assert_int_equal(so.gid, -1);
    assert_int_equal(so.stdin_fd, -1);
    assert_int_equal(so.stdout_fd, -1);
    assert_int_equal(so.stderr_fd, -1);
    assert_false(so.tty);
}

static void test_concurrent_processes(void **state)
{
    struct cvt_fixture *f = *state;
    const char *const sleeper_argv[] = {"/bin/cvtest", "sleep", "60", NULL};
    pid_t sleeper = spawn_quiet(f->c, sleeper_argv);
    int pidfd = containerv_process_pidfd(f->c, sleeper);
    assert_true(pidfd >= 0);
    assert_false(pidfd_exited(pidfd));

    /* while the sleeper runs, others come and go */
    for (int i = 0; i < 3; i++) {
        char out[64], want[16];
        snprintf(want, sizeof(want), "%d", 10 + i);
        assert_int_equal(cvt_cvtest(f->c, out, sizeof(out), "exit", want, NULL), 10 + i);
    }
    const char *const short_argv[] = {"/bin/cvtest", "sleep", "0.1", NULL};
    pid_t shorty = spawn_quiet(f->c, short_argv);
    assert_int_equal(wait_code(f->c, shorty), 0);
    assert_false(pidfd_exited(pidfd)); /* waiting for one did not touch the other */

    struct containerv_error err;
    containerv_error_clear(&err);
    assert_int_equal(containerv_kill(f->c, sleeper, SIGKILL, &err), 0);
    assert_int_equal(wait_code(f->c, sleeper), 128 + SIGKILL);
}

struct waiter {
    struct containerv_container *c;
    pid_t pid;
    int code;
    int rc;
};

static void *wait_thread(void *arg)
{
    struct waiter *w = arg;
    struct containerv_error err;
    containerv_error_clear(&err);
    w->rc = containerv_wait(w->c, w->pid, &w->code, &err);
    return NULL;
}

/* A thread blocked in wait() for one process does not block spawn and wait
 * of another on the same handle. */
static void test_wait_does_not_block_others(void **state)
{
    struct cvt_fixture *f = *state;
    const char *const sleeper_argv[] = {"/bin/cvtest", "sleep", "60", NULL};
    struct waiter w = {.c = f->c, .pid = spawn_quiet(f->c, sleeper_argv), .code = -1, .rc = -1};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, wait_thread, &w), 0);

    char out[64];
    assert_int_equal(cvt_cvtest(f->c, out, sizeof(out), "exit", "5", NULL), 5);
    assert_int_equal(cvt_cvtest(f->c, out, sizeof(out), "pid", NULL), 0);
    assert_true(atoi(out) > 1);

    struct containerv_error err;
    containerv_error_clear(&err);
    assert_int_equal(containerv_kill(f->c, w.pid, SIGTERM, &err), 0);
    pthread_join(t, NULL);
    assert_int_equal(w.rc, 0);
    assert_int_equal(w.code, 128 + SIGTERM);
}

static void test_kill_and_wait_errors(void **state)
{
    struct cvt_fixture *f = *state;
    struct containerv_error err;
    containerv_error_clear(&err);
    int code;
    /* a pid this handle never spawned */
    assert_true(containerv_wait(f->c, 999999, &code, &err) < 0);
    assert_true(err.code != 0 && err.message[0]);
    containerv_error_clear(&err);
    assert_true(containerv_kill(f->c, 999999, SIGKILL, &err) < 0);
    assert_int_equal(containerv_process_pidfd(f->c, 999999), -1);
    /* the init is not a spawned process */
    containerv_error_clear(&err);
    assert_true(containerv_kill(f->c, containerv_init_pid(f->c), SIGKILL, &err) < 0);
    /* the container still works */
    char out[64];
    assert_int_equal(cvt_cvtest(f->c, out, sizeof(out), "exit", "3", NULL), 3);
}

static void test_user_workdir_env_options(void **state)
{
    (void)state;
    struct containerv_options *o = cvt_options();
    assert_int_equal(containerv_options_set_user(o, 1000, 1000), 0);
    assert_int_equal(containerv_options_set_workdir(o, "/tmp"), 0);
    assert_int_equal(containerv_options_add_env(o, "CVT_FOO=bar baz"), 0);
    struct cvt_fixture *f;
    cvt_fixture_setup_with((void **)&f, o);
    cvt_assert_out(f->c, "1000", "uid");
    cvt_assert_out(f->c, "1000", "gid");
    char out[256];
    assert_int_equal(cvt_cvtest(f->c, out, sizeof(out), "groups", NULL), 0);
    if (strcmp(out, "") && strcmp(out, "1000"))
        fail_msg("supplementary groups of uid 1000: \"%s\" (want none, or 1000)", out);
    cvt_assert_out(f->c, "/tmp", "cwd");
    cvt_assert_out(f->c, "bar baz", "env", "CVT_FOO");
    /* a PATH is there, so that commands without '/' are found */
    assert_int_equal(cvt_cvtest(f->c, out, sizeof(out), "env", "PATH", NULL), 0);
    assert_non_null(strstr(out, "/bin"));
    /* an unprivileged user cannot write where root owns */
    cvt_assert_out(f->c, "EACCES", "write", "/etc/cvt-x", "x");
    /* capabilities are gone for a non-root user */
    cvt_assert_out(f->c, "0000000000000000", "capeff");

    /* spawn options override the container's */
    struct containerv_spawn_options so;
    containerv_spawn_options_init(&so);
    so.uid = 2000;
    so.gid = 3000;
    so.cwd = "/bin";
    const char *env[] = {"ONLY=this", NULL};
    so.env = env;
    so.stderr_fd = STDERR_FILENO;
    const char *const a_uid[] = {"/bin/cvtest", "uid", NULL};
    const char *const a_gid[] = {"/bin/cvtest", "gid", NULL};
    const char *const a_cwd[] = {"/bin/cvtest", "cwd", NULL};
    const char *const a_only[] = {"/bin/cvtest", "env", "ONLY", NULL};
    assert_int_equal(cvt_run(f->c, a_uid, &so, out, sizeof(out)), 0);
    assert_string_equal(out, "2000");
    assert_int_equal(cvt_run(f->c, a_gid, &so, out, sizeof(out)), 0);
    assert_string_equal(out, "3000");
    assert_int_equal(cvt_run(f->c, a_cwd, &so, out, sizeof(out)), 0);
    assert_string_equal(out, "/bin");
    assert_int_equal(cvt_run(f->c, a_only, &so, out, sizeof(out)), 0);
    assert_string_equal(out, "this");
    cvt_fixture_teardown((void **)&f);
}

static void test_root_by_default(void **state)
{
    struct cvt_fixture *f = *state;
    cvt_assert_out(f->c, "0", "uid");
    cvt_assert_out(f->c, "0", "gid");
    cvt_assert_out(f->c, "/", "cwd");
}

static void test_path_lookup_and_stdin(void **state)
{
    struct cvt_fixture *f = *state;
    char out[256];
    /* argv[0] without '/' is looked up in PATH inside the container */
    const char *const argv[] = {"cvtest", "exit", "4", NULL};
    assert_int_equal(cvt_run(f->c, argv, NULL, out, sizeof(out)), 4);

    /* stdin from the host reaches the workload */
    int in[2];
    assert_int_equal(pipe2(in, O_CLOEXEC), 0);
    assert_int_equal(write(in[1], "through stdin\n", 14), 14);
    close(in[1]);
    struct containerv_spawn_options so;
    containerv_spawn_options_init(&so);
    so.stdin_fd = in[0];
    so.stderr_fd = STDERR_FILENO;
    const char *const cat[] = {"/bin/cat", NULL};
    assert_int_equal(cvt_run(f->c, cat, &so, out, sizeof(out)), 0);
    close(in[0]);
    assert_string_equal(out, "through stdin");

    /* stdin -1 is /dev/null: cat ends at once */
    const char *const cat2[] = {"/bin/cat", NULL};
    assert_int_equal(cvt_run(f->c, cat2, NULL, out, sizeof(out)), 0);
    assert_string_equal(out, "");
}

static void expect_spawn_fails(struct containerv_container *c, const char *cmd, int want_errno)
{
    const char *const argv[] = {cmd, NULL};
    struct containerv_spawn_options so;
    containerv_spawn_options_init(&so);
    struct containerv_error err;
    containerv_error_clear(&err);
    pid_t pid = -1;
    int r = containerv_spawn(c, argv, &so, &pid, &err);
    if (r != -want_errno)
        fail_msg("spawn %s: want %d, got %d (%s)", cmd, -want_errno, r, err.message);
    assert_int_equal(err.code, want_errno);
    if (!strstr(err.message, cmd))
        fail_msg("spawn error does not name %s: \"%s\"", cmd, err.message);
    assert_null(strchr(err.message, '\n'));
}

static void test_spawn_failures(void **state)
{
    struct cvt_fixture *f = *state;
    expect_spawn_fails(f->c, "/no/such/command", ENOENT);
    expect_spawn_fails(f->c, "no-such-command-in-path", ENOENT);
    cvt_assert_out(f->c, "OK", "write", "/tmp/not-executable", "#!/bin/sh\nexit 0\n");
    expect_spawn_fails(f->c, "/tmp/not-executable", EACCES);
    expect_spawn_fails(f->c, "/etc", EACCES);
    /* a bad working directory names itself */
    struct containerv_spawn_options so;
    containerv_spawn_options_init(&so);
    so.cwd = "/no/such/dir";
    const char *const argv[] = {"/bin/cvtest", "cwd", NULL};
    struct containerv_error err;
    containerv_error_clear(&err);
    pid_t pid;
    assert_true(containerv_spawn(f->c, argv, &so, &pid, &err) < 0);
    if (!strstr(err.message, "/no/such/dir"))
        fail_msg("spawn error does not name the cwd: \"%s\"", err.message);
    /* the container is still fine */
    char out[64];
    assert_int_equal(cvt_cvtest(f->c, out, sizeof(out), "exit", "0", NULL), 0);
}

static void test_many_sequential_spawns(void **state)
{
    struct cvt_fixture *f = *state;
    struct cvt_snap s;
    cvt_snapshot(&s);
    for (int i = 0; i < 100; i++) {
        char out[64], want[8];
        snprintf(want, sizeof(want), "%d", i % 50);
        assert_int_equal(cvt_cvtest(f->c, out, sizeof(out), "exit", want, NULL), i % 50);
    }
    /* no fd per process is kept once it is waited for */
    struct cvt_snap s2;
    cvt_snapshot(&s2);
    assert_int_equal(s2.fds, s.fds);
    cvt_snap_free(&s);
    cvt_snap_free(&s2);
}

/* "Cpus_allowed_list:\t0-1" of a process in c, as cvtest reads its own status */
static void workload_cpus(struct containerv_container *c, char *out, size_t n)
{
    char status[4096];
    assert_int_equal(cvt_cvtest(c, status, sizeof(status), "cat", "/proc/self/status", NULL), 0);
    const char *p = strstr(status, "Cpus_allowed_list:");
    assert_non_null(p);
    p += strlen("Cpus_allowed_list:");
    p += strspn(p, " \t");
    snprintf(out, n, "%.*s", (int)strcspn(p, "\n"), p);
}

static void mask_list(const cpu_set_t *m, char *out, size_t n)
{
    size_t off = 0;
    out[0] = '\0';
    for (int cpu = 0; cpu < CPU_SETSIZE && off < n; cpu++) {
        if (!CPU_ISSET(cpu, m))
            continue;
        int last = cpu;
        while (last + 1 < CPU_SETSIZE && CPU_ISSET(last + 1, m))
            last++;
        off += (size_t)snprintf(out + off, n - off, off ? ",%d" : "%d", cpu);
        if (last > cpu)
            off += (size_t)snprintf(out + off, n - off, "-%d", last);
        cpu = last;
    }
}

/* create moves its own thread and the child between CPUs while it works
 * (place.c): afterwards the creator has its mask back, and the container
 * (its init, its processes) has the creator's mask, not the one CPU the
 * child was started on; a creator bound to one CPU keeps it, and so does
 * the container. */
static void check_cpu_affinity(void)
{
    cpu_set_t mine, now, init_mask;
    char want[256], got[256];
    assert_int_equal(sched_getaffinity(0, sizeof(mine), &mine), 0);
    for (int round = 0; round < 2; round++) {
        cpu_set_t use = mine;
        if (round == 1) { /* bound to one CPU: the first of ours */
            int first = 0;
            while (!CPU_ISSET(first, &mine))
                first++;
            CPU_ZERO(&use);
            CPU_SET(first, &use);
            assert_int_equal(sched_setaffinity(0, sizeof(use), &use), 0);
        }
        for (int i = 0; i < 5; i++) {
            struct containerv_options *o = cvt_options();
            struct containerv_container *c = cvt_create(o);
            assert_int_equal(sched_getaffinity(0, sizeof(now), &now), 0);
            assert_true(CPU_EQUAL(&now, &use));
            assert_int_equal(sched_getaffinity(containerv_init_pid(c), sizeof(init_mask), &init_mask), 0);
            mask_list(&use, want, sizeof(want));
            mask_list(&init_mask, got, sizeof(got));
            assert_string_equal(got, want);
            workload_cpus(c, got, sizeof(got));
            assert_string_equal(got, want);
            cvt_destroy(c);
            containerv_options_free(o);
        }
    }
    assert_int_equal(sched_setaffinity(0, sizeof(mine), &mine), 0);
}

static void test_cpu_affinity(void **state)
{
    (void)state;
    check_cpu_affinity();
}

/* The same beside a container with a cpuset: on v2 its parent's
 * cgroup.subtree_control then has the cpuset controller (it stays so), and
 * a child born into a sibling cgroup gets the cpuset's CPUs, not its
 * creator's mask, unless it takes that back (it did not: the whole VM suite
 * failed test_cpu_affinity once test_cgroup had made a cpuset container) */
static void test_cpu_affinity_beside_a_cpuset(void **state)
{
    (void)state;
    struct containerv_options *o = cvt_options();
    assert_int_equal(containerv_options_set_cpuset_cpus(o, "0"), 0);
    struct containerv_container *pinned = cvt_create(o);
    containerv_options_free(o);
    check_cpu_affinity();
    cvt_destroy(pinned);
}

/* Two threads creating at once (no placement then, see place.c): each
 * init still has its creator's mask, and so does each creator. */
struct affinity_job {
    int index, bad;
};

static void *affinity_worker(void *arg)
{
    struct affinity_job *job = arg;
    int *bad = &job->bad;
    cpu_set_t mine, now, init_mask;
    if (sched_getaffinity(0, sizeof(mine), &mine) < 0)
        return (*bad = 1), NULL;
    for (int i = 0; i < 8 && !*bad; i++) {
        struct containerv_options *o = cvt_options();
        struct containerv_container *c = NULL;
        struct containerv_error err;
        char id[64]; /* cvt_id() is not for threads */
        snprintf(id, sizeof(id), "%saff%d-%d", cvt.prefix, job->index, i);
        if (containerv_create(id, o, &c, &err) < 0) {
            *bad = 2;
        } else {
            if (sched_getaffinity(containerv_init_pid(c), sizeof(init_mask), &init_mask) < 0 ||
                !CPU_EQUAL(&init_mask, &mine) || sched_getaffinity(0, sizeof(now), &now) < 0 ||
                !CPU_EQUAL(&now, &mine))
                *bad = 3;
            if (containerv_destroy(c, &err) < 0)
                *bad = 4;
        }
        containerv_options_free(o);
    }
    return NULL;
}

static void test_cpu_affinity_concurrent(void **state)
{
    (void)state;
    pthread_t th[2];
    struct affinity_job jobs[2] = {{0, 0}, {1, 0}};
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, affinity_worker, &jobs[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    struct containerv_error err;
    assert_int_equal(containerv_teardown_wait(&err), 0);
    assert_int_equal(jobs[0].bad, 0);
    assert_int_equal(jobs[1].bad, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spawn_options_init),
        cmocka_unit_test_setup_teardown(test_concurrent_processes, cvt_fixture_setup, cvt_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_wait_does_not_block_others, cvt_fixture_setup, cvt_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_kill_and_wait_errors, cvt_fixture_setup, cvt_fixture_teardown),
        cmocka_unit_test(test_user_workdir_env_options),
        cmocka_unit_test_setup_teardown(test_root_by_default, cvt_fixture_setup, cvt_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_path_lookup_and_stdin, cvt_fixture_setup, cvt_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_spawn_failures, cvt_fixture_setup, cvt_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_many_sequential_spawns, cvt_fixture_setup, cvt_fixture_teardown),
        cmocka_unit_test(test_cpu_affinity),
        cmocka_unit_test(test_cpu_affinity_beside_a_cpuset),
        cmocka_unit_test(test_cpu_affinity_concurrent),
    };
    return cvt_main("lib_process", tests, sizeof(tests) / sizeof(tests[0]), 240);
}
