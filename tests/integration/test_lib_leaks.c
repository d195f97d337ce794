/* Nothing is left behind: 50 create/destroy cycles, every create step made to
 * fail in turn (CONTAINERV_FAULT=<step>), a creator killed while it is
 * paused at each step (CONTAINERV_FAULT=pause:<step>) followed by gc, and a
 * process killed with a teardown in flight (pause:teardown) followed by gc. */
#include "cvt.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void test_50_create_destroy(void **state)
{
    (void)state;
    struct containerv_options *o = cvt_options();
    assert_int_equal(containerv_options_set_memory_limit(o, 64ull << 20), 0);
    assert_int_equal(containerv_options_set_pids_limit(o, 32), 0);
    /* warm up: what is set up once per process is not a per-container leak */
    struct containerv_container *c = cvt_create(o);
    cvt_destroy(c);

    struct cvt_snap before;
    cvt_snapshot(&before);
    for (int i = 0; i < 50; i++) {
        c = cvt_create(o);
        if (i % 5 == 0) {
            char out[32];
            assert_int_equal(cvt_cvtest(c, out, sizeof(out), "exit", "0", NULL), 0);
        }
        if (i % 10 == 3) {
            /* a process still running at destroy */
            struct containerv_error err;
            if (cvt_spawn_sleeper(c, &err) < 0)
                fail_msg("spawn: %s", err.message);
        }
        cvt_destroy(c);
    }
    containerv_options_free(o);
    cvt_assert_no_leaks(&before, "50 create/destroy cycles");
    cvt_snap_free(&before);
}

/* Append to a bounded report (truncating, never overflowing). */
__attribute__((format(printf, 3, 4))) static void append(char *buf, size_t size, const char *fmt, ...)
{
    size_t len = strlen(buf);
    if (len + 1 >= size)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + len, size - len, fmt, ap);
    va_end(ap);
}

static const char *const *steps(void)
{
    const char *const *s = containerv_create_steps();
    assert_non_null(s);
    assert_non_null(s[0]);
    return s;
}

static void test_fault_every_step(void **state)
{
    (void)state;
    const char *const *s = steps();
    struct containerv_options *o = cvt_options();
    assert_int_equal(containerv_options_set_memory_limit(o, 64ull << 20), 0);
    assert_int_equal(containerv_options_set_pids_limit(o, 32), 0);
    char vol[4096];
    snprintf(vol, sizeof(vol), "%s/fault-volume", cvt.tmp);
    mkdir(vol, 0755);
    assert_int_equal(containerv_options_add_bind(o, vol, "/mnt/vol", false), 0);
    /* so that child.rootfs.readonly runs too */
    assert_int_equal(containerv_options_set_read_only(o, true), 0);

    /* each step before its work ("<step>") and after it ("after:<step>":
     * the step's own undo must take its work back); on v2 also the second
     * state.write (after clone). userns.map runs only with id maps
     * (test_lib_userns has its "after"). */
    char specs[128][64];
    size_t n = 0;
    bool v2 = access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0;
    for (size_t i = 0; s[i] && n + 2 < 128; i++) {
        snprintf(specs[n++], sizeof(specs[0]), "%s", s[i]);
        if (strcmp(s[i], "userns.map"))
            snprintf(specs[n++], sizeof(specs[0]), "after:%s", s[i]);
        if (v2 && !strcmp(s[i], "state.write") && n + 2 < 128) {
            snprintf(specs[n++], sizeof(specs[0]), "state.write#2");
            snprintf(specs[n++], sizeof(specs[0]), "after:state.write#2");
        }
    }
    char failures[16384] = "";
    for (size_t k = 0; k < n; k++) {
        const char *spec = specs[k];
        char name[64];
        snprintf(name, sizeof(name), "%s", strncmp(spec, "after:", 6) ? spec : spec + 6);
        name[strcspn(name, "#")] = '\0';
        struct cvt_snap before;
        cvt_snapshot(&before);
        setenv("CONTAINERV_FAULT", spec, 1);
        struct containerv_container *c = NULL;
        struct containerv_error err;
        containerv_error_clear(&err);
        const char *id = cvt_id();
        int r = containerv_create(id, o, &c, &err);
        unsetenv("CONTAINERV_FAULT");
        if (r == 0) {
            containerv_destroy(c, NULL);
            append(failures, sizeof(failures),
                                     "\n  %s: create succeeded", spec);
        } else {
            if (c)
                append(failures, sizeof(failures),
                                         "\n  %s: failed create returned a handle", spec);
            if (err.code != EIO || r != -EIO)
                append(failures, sizeof(failures),
                                         "\n  %s: want EIO, got %d / code %d (%s)", spec, r, err.code,
                                         err.message);
            if (strcmp(err.step, name) && !strstr(err.message, name))
                append(failures, sizeof(failures),
                                         "\n  %s: the error does not name the step: step \"%s\", "
                                         "message \"%s\"",
                                         name, err.step, err.message);
        }
        print_message("fault %-24s -> %s\n", spec, err.message);
        char *leaks = cvt_check_leaks(&before, spec);
        if (leaks)
            append(failures, sizeof(failures),
                                     "\n  %s: left behind:%s", spec, leaks);
        free(leaks);
        cvt_snap_free(&before);
        if (leaks) /* clean up before the next step, so that each is judged alone */
            containerv_gc(cvt.runtime_dir, NULL, NULL);
    }
    containerv_options_free(o);
    if (failures[0]) {
        print_error("fault injection:%s\n", failures); /* in full: fail_msg truncates */
        fail_msg("fault injection failed (see above)");
    }
    /* and create works again afterwards */
    o = cvt_options();
    cvt_destroy(cvt_create(o));
    containerv_options_free(o);
}

/* ---- pause:<step>: find the paused process among the creator's descendants */

static pid_t parent_of(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    char *rp = strrchr(buf, ')');
    int ppid = -1;
    if (!rp || sscanf(rp + 2, "%*c %d", &ppid) != 1)
        return -1;
    return ppid;
}

static bool descends_from(pid_t pid, pid_t root)
{
    for (int depth = 0; pid > 1 && depth < 32; depth++) {
        if (pid == root)
            return true;
        pid = parent_of(pid);
    }
    return false;
}

static bool task_in_pause(pid_t pid)
{
    char dir[64];
    snprintf(dir, sizeof(dir), "/proc/%d/task", (int)pid);
    DIR *d = opendir(dir);
    if (!d)
        return false;
    bool paused = false;
    struct dirent *e;
    while (!paused && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[128];
        snprintf(path, sizeof(path), "%s/%s/syscall", dir, e->d_name);
        char *s = cvt_read_file(path);
        long nr = -1;
        unsigned long long a1, a2, a3;
        int got = s ? sscanf(s, "%ld %llx %llx %llx", &nr, &a1, &a2, &a3) : 0;
        /* host steps pause(2); child steps poll(2) one fd, no timeout, until
         * their parent goes away */
#ifdef SYS_pause
        if (got >= 1 && nr == SYS_pause)
            paused = true;
#endif
#ifdef SYS_poll
        if (got == 4 && nr == SYS_poll && a2 == 1 &&
            (a3 == 0xffffffffull || a3 == 0xffffffffffffffffull))
            paused = true;
#endif
#ifdef SYS_ppoll /* where libc's poll is ppoll (no poll system call): NULL timeout */
        if (got == 4 && nr == SYS_ppoll && a2 == 1 && a3 == 0)
            paused = true;
#endif
        (void)a1;
        free(s);
    }
    closedir(d);
    return paused;
}

/* Descendants of root (root included), into pids; returns how many, and
 * whether one of them is paused. */
static int tree(pid_t root, pid_t *pids, int max, bool *paused)
{
    int n = 0;
    *paused = false;
    DIR *d = opendir("/proc");
    struct dirent *e;
    while (d && (e = readdir(d)) && n < max) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        pid_t pid = atoi(e->d_name);
        if (!descends_from(pid, root))
            continue;
        pids[n++] = pid;
        if (task_in_pause(pid))
            *paused = true;
    }
    if (d)
        closedir(d);
    return n;
}

static void test_kill_paused_creator_then_gc(void **state)
{
    (void)state;
    const char *const *s = steps();
    char failures[16384] = "";
    for (size_t i = 0; s[i]; i++) {
        struct cvt_snap before;
        cvt_snapshot(&before);
        const char *id = cvt_id();
        char spec[128];
        snprintf(spec, sizeof(spec), "pause:%s", s[i]);
        fflush(NULL);
        pid_t child = fork();
        assert_true(child >= 0);
        if (child == 0) {
            setenv("CONTAINERV_FAULT", spec, 1);
            struct containerv_options *o = cvt_options();
            containerv_options_set_pids_limit(o, 32);
            containerv_options_set_read_only(o, true); /* so that child.rootfs.readonly runs */
            struct containerv_container *c = NULL;
            struct containerv_error err;
            int r = containerv_create(id, o, &c, &err);
            _exit(r == 0 ? 0 : 1); /* not reached when paused */
        }
        /* wait (bounded: only so that a bug cannot hang the test) for the pause */
        pid_t pids[64];
        int n = 0;
        bool paused = false;
        for (int tries = 0; tries < 1000 && !paused; tries++) {
            n = tree(child, pids, 64, &paused);
            if (!paused) {
                int status;
                if (waitpid(child, &status, WNOHANG) == child) {
                    child = -1;
                    break;
                }
                struct timespec ts = {0, 10 * 1000 * 1000};
                nanosleep(&ts, NULL);
            }
        }
        /* once paused, the tree holds still: list it again, since the scan that
         * saw the pause may have read /proc before the creator's last clone */
        if (paused)
            n = tree(child, pids, 64, &paused);
        if (!paused)
            append(failures, sizeof(failures),
                                     "\n  %s: the creator never paused (%s)", s[i],
                                     child < 0 ? "it exited" : "timeout");
        if (child > 0) {
            kill(child, SIGKILL);
            waitpid(child, NULL, 0);
        }
        /* whatever it started dies with it (or at the latest when gc finds it
         * stale): wait for that on pidfds, bounded only to catch a hang */
        int fds[64], nfds = 0;
        pid_t fpids[64];
        for (int k = 0; k < n; k++)
            if (pids[k] != child && (fds[nfds] = (int)syscall(SYS_pidfd_open, pids[k], 0)) >= 0)
                fpids[nfds++] = pids[k];
        for (int k = 0; k < nfds; k++) {
            struct pollfd pfd = {.fd = fds[k], .events = POLLIN};
            poll(&pfd, 1, 5000);
        }
        struct containerv_error err;
        containerv_error_clear(&err);
        int removed = 0;
        if (containerv_gc(cvt.runtime_dir, &removed, &err) < 0)
            append(failures, sizeof(failures),
                                     "\n  %s: gc failed: %s", s[i], err.message);
        for (int k = 0; k < nfds; k++) {
            struct pollfd pfd = {.fd = fds[k], .events = POLLIN};
            if (poll(&pfd, 1, 5000) != 1) {
                append(failures, sizeof(failures),
                                         "\n  %s: process %d of the killed creator still runs "
                                         "after gc", s[i], (int)fpids[k]);
                syscall(SYS_pidfd_send_signal, fds[k], SIGKILL, NULL, 0);
                poll(&pfd, 1, 5000);
                containerv_gc(cvt.runtime_dir, NULL, NULL);
            }
            close(fds[k]);
        }
        struct containerv_info *infos = NULL;
        size_t count = 0;
        if (containerv_list(cvt.runtime_dir, &infos, &count, &err) == 0 && count) {
            char st[64] = "gone", path[64];
            snprintf(path, sizeof(path), "/proc/%d/stat", (int)infos[0].init_pid);
            char *stat = cvt_read_file(path);
            if (stat) {
                char *rp = strrchr(stat, ')');
                snprintf(st, sizeof(st), "%.20s", rp ? rp + 2 : stat);
            }
            free(stat);
            bool known = false;
            for (int k = 0; k < n; k++)
                known |= pids[k] == infos[0].init_pid;
            append(failures, sizeof(failures),
                   "\n  %s: %zu containers listed after gc (first %s, status %d, init %d %s the "
                   "creator's tree when paused, now \"%s\")",
                   s[i], count, infos[0].id, infos[0].status, (int)infos[0].init_pid,
                   known ? "in" : "NOT in", st);
        }
        containerv_list_free(infos);
        print_message("pause:%-24s -> %d processes, gc removed %d\n", s[i], n, removed);
        char *leaks = cvt_check_leaks(&before, spec);
        if (leaks)
            append(failures, sizeof(failures),
                                     "\n  %s: left behind:%s", spec, leaks);
        free(leaks);
        cvt_snap_free(&before);
        if (leaks)
            containerv_gc(cvt.runtime_dir, NULL, NULL);
    }
    if (failures[0]) {
        print_error("kill while paused:%s\n", failures);
        fail_msg("kill while paused failed (see above)");
    }
}

/* A child paused mid-teardown (pause:teardown waits forever): killed by the
 * test, or by this teardown when an assertion ended the test first, so that
 * a failure never leaves a process behind for ctest to wait on. */
static pid_t paused_child = -1;

static int kill_paused_child(void **state)
{
    (void)state;
    if (paused_child > 0) {
        kill(paused_child, SIGKILL);
        waitpid(paused_child, NULL, 0);
        paused_child = -1;
    }
    return 0;
}

/* containerv_destroy hands the teardown to the library's reaper thread. A
 * process killed before the reaper is done leaves a stale state that gc
 * removes with its cgroups; until then, the destroyed container is never
 * listed as running. */
static void test_kill_during_teardown_then_gc(void **state)
{
    (void)state;
    struct cvt_snap before;
    cvt_snapshot(&before);
    const char *id = cvt_id();
    int p[2];
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    fflush(NULL);
    pid_t child = fork();
    assert_true(child >= 0);
    paused_child = child;
    if (child == 0) {
        close(p[0]);
        setenv("CONTAINERV_FAULT", "pause:teardown", 1);
        struct containerv_options *o = cvt_options();
        struct containerv_container *c = NULL;
        struct containerv_error err;
        if (containerv_create(id, o, &c, &err) < 0 || cvt_spawn_sleeper(c, &err) < 0)
            _exit(1);
        pid_t msg[2] = {containerv_init_pid(c), 0};
        if (containerv_destroy(c, &err) < 0)
            _exit(2);
        /* returned with the reaper paused: not listed, in this process either */
        struct containerv_info *infos = NULL;
        size_t n = 0;
        if (containerv_list(cvt.runtime_dir, &infos, &n, &err) < 0)
            _exit(3);
        msg[1] = (pid_t)n;
        containerv_list_free(infos);
        if (write(p[1], msg, sizeof(msg)) != sizeof(msg))
            _exit(4);
        for (;;)
            pause();
    }
    close(p[1]);
    pid_t msg[2] = {0, -1};
    ssize_t got = read(p[0], msg, sizeof(msg));
    close(p[0]);
    if (got != (ssize_t)sizeof(msg)) {
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
        fail_msg("the child did not get to destroy (read %zd)", got);
    }
    assert_int_equal(msg[1], 0); /* the destroyer listed nothing */
    int init_fd = (int)syscall(SYS_pidfd_open, msg[0], 0);

    /* from another process: not listed, not attachable, gc leaves it to the reaper */
    struct containerv_error err;
    struct containerv_info *infos = NULL;
    size_t n = 0;
    assert_int_equal(containerv_list(cvt.runtime_dir, &infos, &n, &err), 0);
    containerv_list_free(infos);
    assert_int_equal(n, 0);
    struct containerv_container *h = NULL;
    assert_int_equal(containerv_attach(cvt.runtime_dir, id, &h, &err), -ENOENT);
    int removed = -1;
    assert_int_equal(containerv_gc(cvt.runtime_dir, &removed, &err), 0);
    assert_int_equal(removed, 0);

    /* kill the destroyer mid-teardown: its init was killed before the hand-over */
    assert_int_equal(kill(child, SIGKILL), 0);
    waitpid(child, NULL, 0);
    paused_child = -1;
    if (init_fd >= 0) {
        struct pollfd pfd = {.fd = init_fd, .events = POLLIN};
        if (poll(&pfd, 1, 20000) != 1)
            fail_msg("the init %d still runs 20 s after its destroyer was killed", (int)msg[0]);
        close(init_fd);
    }
    /* stale now: listed as such, and gc removes it with its cgroups */
    assert_int_equal(containerv_list(cvt.runtime_dir, &infos, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(infos[0].status, CONTAINERV_STATUS_STALE);
    containerv_list_free(infos);
    assert_int_equal(containerv_gc(cvt.runtime_dir, &removed, &err), 0);
    assert_int_equal(removed, 1);
    cvt_assert_no_leaks(&before, "kill during teardown + gc");
    cvt_snap_free(&before);
}

/* A container destroyed through an attached handle (as `containerv destroy`
 * does, its creator long gone): once its init is dead nobody holds the
 * state's flock, but the destroyer's reaper still works on it, and gc from
 * another process must leave it alone (it used to remove the cgroups under
 * the reaper: "opening .../cgroup.events: No such file or directory"). */
static void test_gc_during_attached_teardown(void **state)
{
    (void)state;
    struct cvt_snap before;
    cvt_snapshot(&before);
    char id[80];
    snprintf(id, sizeof(id), "%s", cvt_id());
    struct containerv_error err;
    fflush(NULL);
    pid_t maker = fork(); /* creates and leaves, like `containerv create` */
    assert_true(maker >= 0);
    if (maker == 0) {
        struct containerv_options *o = cvt_options();
        struct containerv_container *c = NULL;
        containerv_options_set_die_with_parent(o, false);
        _exit(containerv_create(id, o, &c, &err) < 0 ? 1 : 0);
    }
    int st;
    assert_int_equal(waitpid(maker, &st, 0), maker);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    struct containerv_container *h = NULL;
    assert_int_equal(containerv_attach(cvt.runtime_dir, id, &h, &err), 0);
    int init_fd = (int)syscall(SYS_pidfd_open, containerv_init_pid(h), 0);
    assert_true(init_fd >= 0);
    containerv_release(h);

    int p[2];
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    pid_t destroyer = fork();
    assert_true(destroyer >= 0);
    paused_child = destroyer;
    if (destroyer == 0) {
        close(p[0]);
        setenv("CONTAINERV_FAULT", "pause:teardown", 1);
        struct containerv_container *c = NULL;
        if (containerv_attach(cvt.runtime_dir, id, &c, &err) < 0 || containerv_destroy(c, &err) < 0)
            _exit(1);
        if (write(p[1], "d", 1) != 1)
            _exit(2);
        for (;;)
            pause();
    }
    close(p[1]);
    char ch;
    ssize_t got = read(p[0], &ch, 1);
    close(p[0]);
    if (got != 1) {
        kill(destroyer, SIGKILL);
        waitpid(destroyer, NULL, 0);
        fail_msg("the destroyer did not get to destroy");
    }
    struct pollfd pfd = {.fd = init_fd, .events = POLLIN};
    assert_int_equal(poll(&pfd, 1, 20000), 1); /* the init is dead: the flock is free */
    close(init_fd);
    int removed = -1;
    assert_int_equal(containerv_gc(cvt.runtime_dir, &removed, &err), 0);
    assert_int_equal(removed, 0); /* the reaper's */

    assert_int_equal(kill(destroyer, SIGKILL), 0);
    waitpid(destroyer, NULL, 0);
    paused_child = -1;
    assert_int_equal(containerv_gc(cvt.runtime_dir, &removed, &err), 0);
    assert_int_equal(removed, 1); /* stale once its destroyer is gone */
    cvt_assert_no_leaks(&before, "gc during an attached teardown");
    cvt_snap_free(&before);
}

/* A process that returns from main (or calls exit) right after a destroy
 * leaves nothing: the library waits for its teardowns at exit. */
static void test_exit_right_after_destroy(void **state)
{
    (void)state;
    struct cvt_snap before;
    cvt_snapshot(&before);
    fflush(NULL);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        struct containerv_options *o = cvt_options();
        struct containerv_container *c = NULL;
        struct containerv_error err;
        if (containerv_create(cvt_id(), o, &c, &err) < 0 || containerv_destroy(c, &err) < 0)
            _exit(1);
        exit(0);
    }
    int status = -1;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    cvt_assert_no_leaks(&before, "exit right after destroy");
    cvt_snap_free(&before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_50_create_destroy),
        cmocka_unit_test(test_fault_every_step),
        cmocka_unit_test(test_kill_paused_creator_then_gc),
        cmocka_unit_test_teardown(test_kill_during_teardown_then_gc, kill_paused_child),
        cmocka_unit_test_teardown(test_gc_during_attached_teardown, kill_paused_child),
        cmocka_unit_test(test_exit_right_after_destroy),
    };
    return cvt_main("lib_leaks", tests, sizeof(tests) / sizeof(tests[0]), 850);
}
