/* The container's init and its fds (issue 19, "the init's fds are never
 * counted"): the init holds as many fds after many spawns as after the
 * first, whatever the spawns were (stdio fds passed in, terminals, spawns
 * that fail, processes started by another process through attach or the
 * CLI, a process whose starter went away while it ran); and it holds no
 * open file of its creator (compared with kcmp(2), KCMP_FILE: the same open
 * file description, not merely the same path) but the state file's lock,
 * which creator and init share by design (src/linux/state.c). */
#include "cvt.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* The fds of pid (numbers and targets, for messages); returns the count. */
static int fds_of(pid_t pid, int *fds, int max, char *targets, size_t size)
{
    char dir[64];
    snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
    DIR *d = opendir(dir);
    if (!d)
        fail_msg("opendir %s: %s", dir, strerror(errno));
    int n = 0, self = pid == getpid() ? dirfd(d) : -1;
    size_t used = 0;
    if (targets && size)
        targets[0] = '\0';
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.' || atoi(e->d_name) == self)
            continue;
        if (fds && n < max)
            fds[n] = atoi(e->d_name);
        n++;
        if (targets && used < size) {
            char link[128], t[256] = "?";
            snprintf(link, sizeof(link), "%s/%s", dir, e->d_name);
            ssize_t k = readlink(link, t, sizeof(t) - 1);
            t[k > 0 ? k : 1] = '\0';
            used += (size_t)snprintf(targets + used, size - used, " %s->%s", e->d_name, t);
        }
    }
    closedir(d);
    return n;
}

static int count_fds(pid_t pid)
{
    return fds_of(pid, NULL, 0, NULL, 0);
}

/* The init answers a process's exit and then closes its connection, and
 * closes a control connection when it sees the other end go: wait (bounded,
 * a hang guard only) for the count to come back to want; the last count. */
static int settle(pid_t init, int want)
{
    int n = count_fds(init);
    for (int i = 0; i < 1000 && n != want; i++) {
        usleep(10000);
        n = count_fds(init);
    }
    return n;
}

static void expect_fds(pid_t init, int want, const char *after)
{
    int n = settle(init, want);
    if (n != want) {
        char t[4096];
        fds_of(init, NULL, 0, t, sizeof(t));
        fail_msg("the init holds %d fds after %s, %d after the first spawn:%s", n, after, want, t);
    }
}

static void run_ok(struct containerv_container *c, const struct containerv_spawn_options *so, const char *what)
{
    const char *const argv[] = {"/bin/cvtest", "exit", "0", NULL};
    pid_t pid;
    struct containerv_error err;
    if (containerv_spawn(c, argv, so, &pid, &err) < 0)
        fail_msg("%s: spawn: %s", what, err.message);
    int code = -1;
    if (containerv_wait(c, pid, &code, &err) < 0 || code != 0)
        fail_msg("%s: wait: %d %s", what, code, err.message);
}

static void spawn_fails(struct containerv_container *c, const char *cmd, const char *cwd,
                        const struct containerv_spawn_options *so_in)
{
    struct containerv_spawn_options so;
    if (so_in)
        so = *so_in;
    else
        containerv_spawn_options_init(&so);
    so.cwd = cwd;
    const char *const argv[] = {cmd, "exit", "0", NULL};
    pid_t pid;
    struct containerv_error err;
    if (containerv_spawn(c, argv, &so, &pid, &err) == 0)
        fail_msg("spawn %s (cwd %s) succeeded", cmd, cwd ? cwd : "-");
}

/* In a child process: attach to id, run cvtest (sleep 100 when leave, and
 * exit without waiting for it), release; reports the process's pid. */
static pid_t attached_run(const char *id, bool leave)
{
    int p[2];
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    fflush(NULL);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        struct containerv_container *c = NULL;
        struct containerv_error err;
        if (containerv_attach(cvt.runtime_dir, id, &c, &err) < 0) {
            fprintf(stderr, "attach: %s\n", err.message);
            _exit(1);
        }
        const char *const argv[] = {"/bin/cvtest", leave ? "sleep" : "exit", leave ? "100" : "0", NULL};
        int io[2];
        if (pipe2(io, O_CLOEXEC) < 0)
            _exit(2);
        struct containerv_spawn_options so;
        containerv_spawn_options_init(&so);
        so.stdin_fd = io[0];
        so.stdout_fd = io[1];
        so.stderr_fd = STDERR_FILENO;
        pid_t pid = -1;
        int code = -1;
        if (containerv_spawn(c, argv, &so, &pid, &err) < 0)
            _exit(3);
        if (write(p[1], &pid, sizeof(pid)) != sizeof(pid))
            _exit(4);
        if (leave)
            _exit(0); /* the process runs on; the init loses its starter */
        if (containerv_wait(c, pid, &code, &err) < 0 || code != 0)
            _exit(5);
        containerv_release(c);
        _exit(0);
    }
    close(p[1]);
    pid_t pid = -1;
    if (read(p[0], &pid, sizeof(pid)) != sizeof(pid))
        pid = -1;
    close(p[0]);
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("the attached process failed (status 0x%x)", status);
    return pid;
}

static void test_init_fds_steady(void **state)
{
    struct cvt_fixture *f = *state;
    struct containerv_container *c = f->c;
    pid_t init = containerv_init_pid(c);
    run_ok(c, NULL, "the first spawn");
    /* the first spawn's connection may still be closing: take the count
     * once two readings agree */
    int first = count_fds(init);
    for (int i = 0, prev = -1; i < 100 && first != prev; i++) {
        usleep(10000);
        prev = first;
        first = count_fds(init);
    }
    print_message("    the init holds %d fds after the first spawn\n", first);

    /* stdio fds of the caller's: three pipes each time */
    for (int i = 0; i < 30; i++) {
        int in[2], out[2], err[2];
        assert_int_equal(pipe2(in, O_CLOEXEC), 0);
        assert_int_equal(pipe2(out, O_CLOEXEC), 0);
        assert_int_equal(pipe2(err, O_CLOEXEC), 0);
        struct containerv_spawn_options so;
        containerv_spawn_options_init(&so);
        so.stdin_fd = in[0];
        so.stdout_fd = out[1];
        so.stderr_fd = err[1];
        run_ok(c, &so, "a spawn with stdio fds");
        for (int k = 0; k < 2; k++) {
            close(in[k]);
            close(out[k]);
            close(err[k]);
        }
    }
    expect_fds(init, first, "30 spawns with stdio fds");

    /* terminals: the init opens the pair, sends the master, keeps neither */
    for (int i = 0; i < 10; i++) {
        struct containerv_spawn_options so;
        containerv_spawn_options_init(&so);
        int master = -1;
        so.tty = true;
        so.tty_master_fd = &master;
        run_ok(c, &so, "a spawn on a terminal");
        assert_true(master >= 0);
        close(master);
    }
    expect_fds(init, first, "10 spawns on a terminal");

    /* spawns that fail: no such command, a bad working directory, each also
     * with stdio fds passed in and on a terminal */
    for (int i = 0; i < 5; i++) {
        int p[2];
        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        struct containerv_spawn_options io, tty;
        containerv_spawn_options_init(&io);
        io.stdin_fd = p[0];
        io.stdout_fd = p[1];
        io.stderr_fd = p[1];
        containerv_spawn_options_init(&tty);
        tty.tty = true;
        spawn_fails(c, "/no/such/command", NULL, NULL);
        spawn_fails(c, "/bin/cvtest", "/no/such/dir", NULL);
        spawn_fails(c, "/no/such/command", NULL, &io);
        spawn_fails(c, "/bin/cvtest", "/no/such/dir", &io);
        spawn_fails(c, "/no/such/command", NULL, &tty);
        close(p[0]);
        close(p[1]);
    }
    expect_fds(init, first, "25 spawns that failed");

    /* processes started from other processes: attach in a child process,
     * and the CLI's exec */
    for (int i = 0; i < 5; i++)
        attached_run(containerv_id(c), false);
    expect_fds(init, first, "5 spawns from attached processes");
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "%s --runtime-dir %s exec %s -- /bin/cvtest exit 0 </dev/null >/dev/null",
             cvt.containerv, cvt.runtime_dir, containerv_id(c));
    for (int i = 0; i < 3; i++)
        assert_int_equal(system(cmd), 0);
    expect_fds(init, first, "3 CLI execs");

    /* a process whose starter exits while it runs: the init drops the
     * connection, keeps the process, and holds nothing for it once it dies */
    pid_t left = attached_run(containerv_id(c), true);
    assert_true(left > 0);
    assert_int_equal(kill(left, SIGKILL), 0);
    assert_true(cvt_wait_dead(left));
    expect_fds(init, first, "a process left by an attached starter, then killed");

    /* and the next spawn still works */
    run_ok(c, NULL, "a spawn after all that");
    expect_fds(init, first, "everything above and one more spawn");
}

/* The fds of the init that are one of this process's open files (kcmp:
 * the same open file description), as a message; "" when none. The state
 * file <id>.json is shared by design: its flock is held by both. */
static void shared_with_creator(struct containerv_container *c, char *out, size_t size)
{
    int mine[512], theirs[512];
    char lock[700];
    snprintf(lock, sizeof(lock), "%s/%s.json", cvt.runtime_dir, containerv_id(c));
    pid_t self = getpid(), init = containerv_init_pid(c);
    int nm = fds_of(self, mine, 512, NULL, 0), nt = fds_of(init, theirs, 512, NULL, 0);
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < nt && i < 512; i++)
        for (int k = 0; k < nm && k < 512; k++) {
            long r = syscall(SYS_kcmp, self, init, KCMP_FILE, mine[k], theirs[i]);
            if (r < 0 && errno == EBADF)
                continue; /* closed since the listing (the listing's own fd) */
            if (r < 0)
                fail_msg("kcmp(%d, %d, KCMP_FILE, %d, %d): %s", (int)self, (int)init, mine[k], theirs[i],
                         strerror(errno));
            if (r != 0)
                continue;
            struct stat a, b;
            if (fstat(mine[k], &a) == 0 && stat(lock, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
                continue; /* the lock (made as an O_TMPFILE: its path in /proc is not the state file's) */
            char link[64], t[700] = "?";
            snprintf(link, sizeof(link), "/proc/self/fd/%d", mine[k]);
            ssize_t n = readlink(link, t, sizeof(t) - 1);
            t[n > 0 ? n : 1] = '\0';
            if (used < size)
                used += (size_t)snprintf(out + used, size - used, " init fd %d = our fd %d (%s)", theirs[i],
                                         mine[k], t);
        }
}

/* The init sends a spawn's answer (pidfd, terminal master) and closes its
 * copies just after: look again (bounded, a hang guard only) until nothing
 * is shared; the last finding. */
static void settled_shared(struct containerv_container *c, char *out, size_t size)
{
    shared_with_creator(c, out, size);
    for (int i = 0; i < 200 && out[0]; i++) {
        usleep(10000);
        shared_with_creator(c, out, size);
    }
}

static void test_init_holds_no_creator_fd(void **state)
{
    (void)state;
    /* files the creator holds without O_CLOEXEC when it creates, and a pipe */
    int file = open("/etc/hostname", O_RDONLY);
    int dir = open("/", O_RDONLY | O_DIRECTORY);
    int p[2];
    assert_true(file >= 0 && dir >= 0);
    assert_int_equal(pipe(p), 0);
    struct containerv_options *o = cvt_options();
    struct containerv_container *c = cvt_create(o);
    containerv_options_free(o);
    char out[2048];
    settled_shared(c, out, sizeof(out));
    if (out[0])
        fail_msg("the init of a new container holds files of its creator:%s", out);

    /* what spawns pass in: stdio fds and a terminal's master */
    struct containerv_spawn_options so;
    containerv_spawn_options_init(&so);
    so.stdin_fd = p[0];
    so.stdout_fd = p[1];
    so.stderr_fd = file;
    run_ok(c, &so, "a spawn with the creator's fds as stdio");
    containerv_spawn_options_init(&so);
    int master = -1;
    so.tty = true;
    so.tty_master_fd = &master;
    const char *const sleeper[] = {"/bin/cvtest", "sleep", "100", NULL};
    pid_t pid;
    struct containerv_error err;
    if (containerv_spawn(c, sleeper, &so, &pid, &err) < 0)
        fail_msg("spawn on a terminal: %s", err.message);
    settled_shared(c, out, sizeof(out));
    if (out[0])
        fail_msg("the init holds files of its creator after spawns:%s", out);
    assert_int_equal(containerv_kill(c, pid, SIGKILL, &err), 0);
    int code;
    assert_int_equal(containerv_wait(c, pid, &code, &err), 0);
    close(master);
    cvt_destroy(c);
    close(file);
    close(dir);
    close(p[0]);
    close(p[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_init_fds_steady, cvt_fixture_setup, cvt_fixture_teardown),
        cmocka_unit_test(test_init_holds_no_creator_fd),
    };
    return cvt_main("lib_initfds", tests, sizeof(tests) / sizeof(tests[0]), 240);
}
