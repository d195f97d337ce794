/* The life cycle through the library: ids, list, attach from another process,
 * destroy, stale containers and gc, start-up metrics, bad input. */
#include "cvt.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static struct containerv_info *find_info(struct containerv_info *infos, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(infos[i].id, id))
            return &infos[i];
    return NULL;
}

static void test_list_and_destroy(void **state)
{
    (void)state;
    struct cvt_snap before;
    cvt_snapshot(&before);
    time_t t0 = time(NULL);
    struct containerv_options *o = cvt_options();
    struct containerv_container *a = cvt_create(o);
    struct containerv_container *b = cvt_create(o);
    containerv_options_free(o);
    char ida[65], idb[65];
    snprintf(ida, sizeof(ida), "%s", containerv_id(a));
    snprintf(idb, sizeof(idb), "%s", containerv_id(b));

    struct containerv_info *infos = NULL;
    size_t n = 0;
    struct containerv_error err;
    containerv_error_clear(&err);
    assert_int_equal(containerv_list(cvt.runtime_dir, &infos, &n, &err), 0);
    assert_int_equal(n, 2);
    struct containerv_info *ia = find_info(infos, n, ida);
    assert_non_null(ia);
    assert_non_null(find_info(infos, n, idb));
    assert_int_equal(ia->status, CONTAINERV_STATUS_RUNNING);
    assert_int_equal(ia->init_pid, containerv_init_pid(a));
    assert_true(ia->created_unix >= (int64_t)t0 - 60 && ia->created_unix <= (int64_t)time(NULL) + 60);
    assert_true(ia->rootfs[0] != '\0');
    containerv_list_free(infos);

    cvt_destroy(a);
    assert_int_equal(containerv_list(cvt.runtime_dir, &infos, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(infos[0].id, idb);
    containerv_list_free(infos);
    cvt_destroy(b);
    assert_int_equal(containerv_list(cvt.runtime_dir, &infos, &n, &err), 0);
    assert_int_equal(n, 0);
    containerv_list_free(infos);
    cvt_assert_no_leaks(&before, "two containers");
    cvt_snap_free(&before);
}

/* Field 22 of /proc/PID/stat: the task's start time in clock ticks. */
static long long proc_start_time(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    char *s = cvt_read_file(path);
    assert_non_null(s);
    char *p = strrchr(s, ')');
    assert_non_null(p);
    int field = 2;
    for (; *p && field < 22; p++)
        if (*p == ' ')
            field++;
    long long v = strtoll(p, NULL, 10);
    free(s);
    return v;
}

/* The state file records the init's start time (what tells a live init
 * from a later process that got its pid): create takes it from clock
 * readings around clone3 when they fall in one tick, and from /proc when
 * they do not. Either way it must be /proc's value exactly, or attach
 * would take the container for stale. Enough creates to cross a tick
 * boundary now and then (one in ~15). */
static void test_state_start_time(void **state)
{
    (void)state;
    struct containerv_options *o = cvt_options();
    for (int i = 0; i < 40; i++) {
        struct containerv_container *c = cvt_create(o);
        char path[600];
        snprintf(path, sizeof(path), "%s/%s.json", cvt.runtime_dir, containerv_id(c));
        char *json = cvt_read_file(path);
        assert_non_null(json);
        const char *k = strstr(json, "\"init_start_time\":");
        assert_non_null(k);
        long long recorded = strtoll(k + strlen("\"init_start_time\":"), NULL, 10);
        long long actual = proc_start_time(containerv_init_pid(c));
        if (recorded != actual)
            fail_msg("create %d: the state file says the init started at %lld, /proc at %lld", i, recorded,
                     actual);
        free(json);
        cvt_destroy(c);
    }
    containerv_options_free(o);
}

static void test_generated_id(void **state)
{
    (void)state;
    struct containerv_options *o = cvt_options();
    struct containerv_container *c = NULL, *c2 = NULL;
    struct containerv_error err;
    containerv_error_clear(&err);
    assert_int_equal(containerv_create(NULL, o, &c, &err), 0);
    assert_int_equal(containerv_create(NULL, o, &c2, &err), 0);
    containerv_options_free(o);
    const char *id = containerv_id(c);
    assert_non_null(id);
    assert_true(strlen(id) > 0 && strlen(id) <= 64);
    assert_string_not_equal(id, containerv_id(c2));
    char saved[65];
    snprintf(saved, sizeof(saved), "%s", id);
    struct containerv_info *infos = NULL;
    size_t n = 0;
    assert_int_equal(containerv_list(cvt.runtime_dir, &infos, &n, &err), 0);
    if (!find_info(infos, n, saved))
        fail_msg("the generated id %s is not listed", saved);
    containerv_list_free(infos);
    cvt_destroy(c);
    cvt_destroy(c2);
    assert_int_equal(containerv_list(cvt.runtime_dir, &infos, &n, &err), 0);
    assert_null(find_info(infos, n, saved)); /* at once: the rest of the teardown is in the background */
    containerv_list_free(infos);
    /* nothing in the runtime dir names it any more, once the teardown is over */
    assert_int_equal(containerv_teardown_wait(&err), 0);
    DIR *d = opendir(cvt.runtime_dir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)))
        if (strstr(e->d_name, saved))
            fail_msg("%s/%s is left after destroy", cvt.runtime_dir, e->d_name);
    closedir(d);
}

/* An id can be taken again right after destroy returns, while its
 * teardown may still run in the background. */
static void test_reuse_id_after_destroy(void **state)
{
    (void)state;
    struct cvt_snap before;
    cvt_snapshot(&before);
    struct containerv_options *o = cvt_options();
    const char *id = cvt_id();
    struct containerv_error err;
    for (int i = 0; i < 3; i++) {
        struct containerv_container *c = NULL;
        if (containerv_create(id, o, &c, &err) < 0)
            fail_msg("create #%d of %s: %s", i + 1, id, err.message);
        char out[32];
        assert_int_equal(cvt_cvtest(c, out, sizeof(out), "exit", "0", NULL), 0);
        cvt_destroy(c);
    }
    containerv_options_free(o);
    cvt_assert_no_leaks(&before, "the same id three times");
    cvt_snap_free(&before);
}

static void test_duplicate_id(void **state)
{
    (void)state;
    struct cvt_snap before;
    cvt_snapshot(&before);
    struct containerv_options *o = cvt_options();
    struct containerv_container *a = cvt_create(o), *b = NULL;
    struct containerv_error err;
    containerv_error_clear(&err);
    int r = containerv_create(containerv_id(a), o, &b, &err);
    containerv_options_free(o);
    if (r != -EEXIST)
        fail_msg("second create of %s: want -EEXIST, got %d (%s)", containerv_id(a), r, err.message);
    assert_null(b);
    if (!strstr(err.message, containerv_id(a)))
        fail_msg("duplicate-id error does not name the id: \"%s\"", err.message);
    /* the first one is untouched: it runs, is listed, and others can attach */
    char out[64];
    assert_int_equal(cvt_cvtest(a, out, sizeof(out), "exit", "9", NULL), 9);
    struct containerv_info *infos = NULL;
    size_t n = 0;
    assert_int_equal(containerv_list(cvt.runtime_dir, &infos, &n, &err), 0);
    struct containerv_info *i = find_info(infos, n, containerv_id(a));
    if (!i || i->status != CONTAINERV_STATUS_RUNNING)
        fail_msg("after a failed duplicate create, %s is %s", containerv_id(a),
                 i ? "not running" : "no longer listed");
    containerv_list_free(infos);
    struct containerv_container *h = NULL;
    containerv_error_clear(&err);
    r = containerv_attach(cvt.runtime_dir, containerv_id(a), &h, &err);
    if (r < 0)
        fail_msg("attach to %s after a failed duplicate create: %s", containerv_id(a), err.message);
    containerv_release(h);
    cvt_destroy(a);
    cvt_assert_no_leaks(&before, "duplicate id");
    cvt_snap_free(&before);
}

/* Another process attaches by id, runs a command and destroys the container. */
static void test_attach_from_another_process(void **state)
{
    (void)state;
    struct cvt_snap before;
    cvt_snapshot(&before);
    struct containerv_options *o = cvt_options();
    struct containerv_container *c = cvt_create(o);
    containerv_options_free(o);
    char id[65];
    snprintf(id, sizeof(id), "%s", containerv_id(c));

    fflush(NULL);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        struct containerv_container *h = NULL;
        struct containerv_error err;
        containerv_error_clear(&err);
        if (containerv_attach(cvt.runtime_dir, id, &h, &err) < 0) {
            fprintf(stderr, "attach: %s\n", err.message);
            _exit(100);
        }
        if (strcmp(containerv_id(h), id) || containerv_init_pid(h) <= 0)
            _exit(101);
        const char *const argv[] = {"/bin/cvtest", "exit", "3", NULL};
        struct containerv_spawn_options so;
        containerv_spawn_options_init(&so);
        pid_t pid;
        int code = -1;
        if (containerv_spawn(h, argv, &so, &pid, &err) < 0 || containerv_wait(h, pid, &code, &err) < 0) {
            fprintf(stderr, "spawn/wait: %s\n", err.message);
            _exit(102);
        }
        if (containerv_destroy(h, &err) < 0 || containerv_teardown_wait(&err) < 0) {
            fprintf(stderr, "destroy: %s\n", err.message);
            _exit(103);
        }
        _exit(code); /* skips the library's wait at exit: done above */
    }
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 3);
    containerv_release(c);

    struct containerv_info *infos = NULL;
    size_t n = 0;
    struct containerv_error err;
    assert_int_equal(containerv_list(cvt.runtime_dir, &infos, &n, &err), 0);
    assert_null(find_info(infos, n, id));
    containerv_list_free(infos);
    cvt_assert_no_leaks(&before, "attach + destroy from another process");
    cvt_snap_free(&before);
}

static void test_attach_errors(void **state)
{
    (void)state;
    struct containerv_container *h = NULL;
    struct containerv_error err;
    containerv_error_clear(&err);
    assert_int_equal(containerv_attach(cvt.runtime_dir, "no-such-container", &h, &err), -ENOENT);
    assert_null(h);
    assert_non_null(strstr(err.message, "no-such-container"));
    containerv_error_clear(&err);
    assert_true(containerv_attach(cvt.runtime_dir, "../../etc", &h, &err) < 0);
    assert_null(h);
}

/* The creating process is killed: the container dies with it and is left as
 * stale state; gc removes it and nothing remains. */
static void test_stale_and_gc(void **state)
{
    (void)state;
    struct cvt_snap before;
    cvt_snapshot(&before);
    int p[2];
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    const char *id = cvt_id();
    fflush(NULL);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        close(p[0]);
        struct containerv_options *o = cvt_options();
        struct containerv_container *c = NULL;
        struct containerv_error err;
        containerv_error_clear(&err);
        if (containerv_create(id, o, &c, &err) < 0) {
            fprintf(stderr, "create: %s\n", err.message);
            _exit(1);
        }
        const char *const argv[] = {"/bin/cvtest", "sleep", "100", NULL};
        struct containerv_spawn_options so;
        containerv_spawn_options_init(&so);
        pid_t pid;
        if (containerv_spawn(c, argv, &so, &pid, &err) < 0)
            _exit(2);
        pid_t init = containerv_init_pid(c);
        if (write(p[1], &init, sizeof(init)) != sizeof(init))
            _exit(3);
        for (;;)
            pause();
    }
    close(p[1]);
    pid_t init = 0;
    assert_int_equal(read(p[0], &init, sizeof(init)), (ssize_t)sizeof(init));
    close(p[0]);
    int init_fd = (int)syscall(SYS_pidfd_open, init, 0);
    assert_true(init_fd >= 0);
    assert_int_equal(kill(child, SIGKILL), 0);
    int status;
    waitpid(child, &status, 0);
    /* the container dies with its creator (die_with_parent is the default) */
    struct pollfd pfd = {.fd = init_fd, .events = POLLIN};
    int ready = poll(&pfd, 1, 20000);
    close(init_fd);
    if (ready != 1)
        fail_msg("the init %d still runs 20 s after its creator was killed", (int)init);

    struct containerv_info *infos = NULL;
    size_t n = 0;
    struct containerv_error err;
    containerv_error_clear(&err);
    assert_int_equal(containerv_list(cvt.runtime_dir, &infos, &n, &err), 0);
    struct containerv_info *info = find_info(infos, n, id);
    if (!info || info->status != CONTAINERV_STATUS_STALE)
        fail_msg("%s after its creator was killed: want listed as stale, got %s (status %d)", id,
                 info ? "listed" : "not listed", info ? (int)info->status : -1);
    containerv_list_free(infos);

    /* attach to a stale one says so */
    struct containerv_container *h = NULL;
    containerv_error_clear(&err);
    int r = containerv_attach(cvt.runtime_dir, id, &h, &err);
    if (r == 0) {
        containerv_release(h);
        fail_msg("attach to the stale container %s succeeded", id);
    }
    assert_non_null(strstr(err.message, id));

    int removed = -1;
    containerv_error_clear(&err);
    r = containerv_gc(cvt.runtime_dir, &removed, &err);
    if (r < 0)
        fail_msg("gc: %d: %s", r, err.message);
    assert_true(removed >= 1);
    assert_int_equal(containerv_list(cvt.runtime_dir, &infos, &n, &err), 0);
    assert_null(find_info(infos, n, id));
    containerv_list_free(infos);
    if (kill(init, 0) == 0) {
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/stat", (int)init);
        char *s = cvt_read_file(path);
        bool zombie = s && strstr(s, ") Z ");
        free(s);
        if (!zombie)
            fail_msg("the init %d of the killed creator's container is still running after gc", (int)init);
    }
    cvt_assert_no_leaks(&before, "stale container after gc");
    cvt_snap_free(&before);
    /* gc of nothing is fine */
    assert_int_equal(containerv_gc(cvt.runtime_dir, &removed, &err), 0);
    assert_int_equal(removed, 0);
}

static void test_startup_metrics(void **state)
{
    (void)state;
    struct containerv_options *o = cvt_options();
    struct containerv_container *c = cvt_create(o);
    containerv_options_free(o);
    struct containerv_startup_metrics m;
    memset(&m, 0xff, sizeof(m));
    assert_int_equal(containerv_get_startup_metrics(c, &m), 0);
    assert_true(m.total_startup_ns > 0);
    uint64_t phases[] = {m.layer_mount_ns, m.namespace_setup_ns, m.security_setup_ns,
                         m.network_setup_ns, m.resource_alloc_ns};
    const char *names[] = {"layer_mount", "namespace_setup", "security_setup", "network_setup",
                           "resource_alloc"};
    for (size_t i = 0; i < 5; i++) {
        if (phases[i] == 0 || phases[i] > m.total_startup_ns)
            fail_msg("%s_ns = %llu with total_startup_ns = %llu", names[i],
                     (unsigned long long)phases[i], (unsigned long long)m.total_startup_ns);
    }
    assert_int_equal(cvt_cvtest(c, NULL, 0, "exit", "0", NULL), 0);
    assert_int_equal(containerv_get_startup_metrics(c, &m), 0);
    assert_true(m.first_process_ns > 0);
    cvt_destroy(c);
}

static void expect_create_fails(struct containerv_options *o, int want, const char *must_name)
{
    struct cvt_snap before;
    cvt_snapshot(&before);
    struct containerv_container *c = NULL;
    struct containerv_error err;
    containerv_error_clear(&err);
    const char *id = cvt_id();
    int r = containerv_create(id, o, &c, &err);
    if (r >= 0) {
        containerv_destroy(c, NULL);
        fail_msg("create succeeded; want failure naming '%s'", must_name);
    }
    assert_null(c);
    if (want && r != -want)
        fail_msg("create: want %d, got %d (%s)", -want, r, err.message);
    assert_int_equal(err.code, -r);
    assert_true(err.step[0] != '\0');
    if (!strstr(err.message, must_name))
        fail_msg("create error does not name '%s': \"%s\"", must_name, err.message);
    assert_null(strchr(err.message, '\n'));
    cvt_assert_no_leaks(&before, must_name);
    cvt_snap_free(&before);
}

static void test_bad_input(void **state)
{
    (void)state;
    char path[4096], file[4096];
    snprintf(file, sizeof(file), "%s/a-regular-file", cvt.tmp);
    cvt_write_file(file, "not a directory\n");

    /* a missing rootfs */
    struct containerv_options *o = containerv_options_new();
    containerv_options_set_runtime_dir(o, cvt.runtime_dir);
    snprintf(path, sizeof(path), "%s/no-such-rootfs", cvt.tmp);
    containerv_options_set_rootfs(o, path);
    expect_create_fails(o, ENOENT, path);
    containerv_options_free(o);

    /* a rootfs that is a file */
    o = containerv_options_new();
    containerv_options_set_runtime_dir(o, cvt.runtime_dir);
    containerv_options_set_rootfs(o, file);
    expect_create_fails(o, ENOTDIR, file);
    containerv_options_free(o);

    /* a lower that is a file, a missing lower */
    o = cvt_options();
    containerv_options_add_lower(o, file);
    expect_create_fails(o, ENOTDIR, file);
    containerv_options_free(o);
    o = cvt_options();
    containerv_options_add_lower(o, path);
    expect_create_fails(o, ENOENT, path);
    containerv_options_free(o);

    /* a missing bind source */
    o = cvt_options();
    snprintf(path, sizeof(path), "%s/no-such-volume", cvt.tmp);
    containerv_options_add_bind(o, path, "/mnt/v", false);
    expect_create_fails(o, ENOENT, path);
    containerv_options_free(o);

    /* a workdir that does not exist in the rootfs: refused naming it, or made
     * (as docker does) and used; never silently somewhere else */
    o = cvt_options();
    containerv_options_set_workdir(o, "/no/such/workdir");
    struct containerv_container *c = NULL;
    struct containerv_error err;
    containerv_error_clear(&err);
    int r = containerv_create(cvt_id(), o, &c, &err);
    containerv_options_free(o);
    if (r < 0) {
        assert_non_null(strstr(err.message, "/no/such/workdir"));
        return;
    }
    const char *const argv[] = {"/bin/cvtest", "cwd", NULL};
    struct containerv_spawn_options so;
    containerv_spawn_options_init(&so);
    pid_t pid;
    int p[2];
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    so.stdout_fd = p[1];
    r = containerv_spawn(c, argv, &so, &pid, &err);
    close(p[1]);
    char out[256] = "";
    if (r == 0) {
        int code = -1;
        ssize_t n = read(p[0], out, sizeof(out) - 1);
        out[n > 0 ? n : 0] = '\0';
        containerv_wait(c, pid, &code, NULL);
    }
    close(p[0]);
    containerv_destroy(c, NULL);
    if (r < 0)
        assert_non_null(strstr(err.message, "/no/such/workdir"));
    else
        assert_string_equal(out, "/no/such/workdir\n");
}

/* Connect to the control socket as uid 1000: the connect's errno, 0 when
 * it got through (the connection is then left for the init to judge until
 * the child is reaped: it waits for the init to close it or the parent's
 * word on its stdin pipe). */
static int connect_as_user(const char *sock, int *keep)
{
    int sp[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
    int go = sp[1];
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
        int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
        if (fd < 0 || setresgid(1000, 1000, 1000) < 0 || setresuid(1000, 1000, 1000) < 0)
            _exit(100);
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
            _exit(errno);
        char c;
        if (write(go, "c", 1) != 1 || read(go, &c, 1) < 0) /* connected; wait for the parent */
            _exit(101);
        /* by now the init has judged the connection: closed, or kept */
        ssize_t n = recv(fd, &c, 1, MSG_DONTWAIT);
        _exit(n == 0 ? 0 : n < 0 && errno == EAGAIN ? 50 : 102);
    }
    char c;
    int st;
    close(sp[1]);
    if (read(sp[0], &c, 1) == 1) { /* connected: the parent checks the init, then lets it go */
        *keep = sp[0];
        return -pid;
    }
    close(sp[0]);
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    return WEXITSTATUS(st);
}

/* The control socket is 0600 whatever the creator's umask, so that no other
 * host user can connect to it; and the init of a user-namespace container,
 * where the kernel shows it peers' uids as mapped, still refuses one that is
 * neither host root nor the creator. */
static void test_control_socket_access(void **st)
{
    (void)st;
    for (int userns = 0; userns < 2; userns++) {
        struct containerv_options *o = cvt_options();
        if (userns) {
            assert_int_equal(containerv_options_add_uid_map(o, 0, 0, 65536), 0);
            assert_int_equal(containerv_options_add_gid_map(o, 0, 0, 65536), 0);
        }
        mode_t old = umask(0);
        struct containerv_container *c = cvt_create(o);
        umask(old);
        containerv_options_free(o);
        char sock[512];
        snprintf(sock, sizeof(sock), "%s/%s.sock", cvt.runtime_dir, containerv_id(c));
        struct stat sb;
        assert_int_equal(stat(sock, &sb), 0);
        assert_int_equal(sb.st_mode & 07777, 0600);
        int keep = -1;
        assert_int_equal(connect_as_user(sock, &keep), EACCES);
        /* past the mode (as if it were wider), the init itself refuses */
        assert_int_equal(chmod(sock, 0666), 0);
        const char *const tru[] = {"/bin/true", NULL};
        assert_int_equal(cvt_run(c, tru, NULL, NULL, 0), 0);
        int r = connect_as_user(sock, &keep);
        assert_true(r < 0);
        /* a spawn after the connect: the init has seen the connection by
         * the time it answers (one poll finds both) */
        assert_int_equal(cvt_run(c, tru, NULL, NULL, 0), 0);
        assert_int_equal(write(keep, "g", 1), 1);
        int status;
        assert_int_equal(waitpid(-r, &status, 0), -r);
        close(keep);
        cvt_destroy(c);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            fail_msg("%s: the init %s a connection of uid 1000 (status 0x%x)", userns ? "userns" : "plain",
                     WIFEXITED(status) && WEXITSTATUS(status) == 50 ? "kept" : "did something else with",
                     status);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list_and_destroy),
        cmocka_unit_test(test_generated_id),
        cmocka_unit_test(test_state_start_time),
        cmocka_unit_test(test_duplicate_id),
        cmocka_unit_test(test_attach_from_another_process),
        cmocka_unit_test(test_attach_errors),
        cmocka_unit_test(test_stale_and_gc),
        cmocka_unit_test(test_reuse_id_after_destroy),
        cmocka_unit_test(test_startup_metrics),
        cmocka_unit_test(test_control_socket_access),
        cmocka_unit_test(test_bad_input),
    };
    return cvt_main("lib_lifecycle", tests, sizeof(tests) / sizeof(tests[0]), 240);
}
