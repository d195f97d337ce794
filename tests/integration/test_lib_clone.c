/* The create path's child shares its creator's memory (CLONE_VM,
 * src/linux/clone.c). What that must not change, from a creator that is
 * big and busy:
 *   - a creator with a large heap and many threads: the other threads'
 *     errno (the child shares their TLS block's page, not their errno:
 *     it makes raw system calls only) and memory stay theirs, containers
 *     from two threads at once all work, and create leaves no fd and at
 *     most the few cached stacks behind;
 *   - a user namespace's child changes its credentials, which makes the
 *     kernel mark the shared memory not dumpable: the creator is dumpable
 *     again afterwards;
 *   - a creator killed mid-create (its child paused in its set-up, sharing
 *     its memory): the child dies with it (die_with_parent) or, without,
 *     ends at its next hand-over; nothing is left after gc;
 *   - die_with_parent follows the creating thread: when that thread exits,
 *     the container dies, while one made by a thread that lives on stays. */
#include "cvt.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/kcmp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define HEAP (256u << 20)

static uint64_t checksum(const unsigned char *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i += 512)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

static unsigned char *touched_heap(size_t n)
{
    unsigned char *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(p != MAP_FAILED);
    madvise(p, n, MADV_NOHUGEPAGE);
    for (size_t i = 0; i < n; i += 512)
        p[i] = (unsigned char)(i >> 9);
    return p;
}

static int count_lines(const char *path)
{
    char *s = cvt_read_file(path);
    int n = 0;
    for (char *p = s; p && *p; p++)
        n += *p == '\n';
    free(s);
    return n;
}

/* ---- many threads, large heap */

struct noise {
    volatile int *stop;
    long calls, wrong;
    unsigned char buf[4096];
};

/* failing system calls, each checked for its own errno, and writes to a
 * buffer of its own, checked back */
static void *noise_main(void *arg)
{
    struct noise *n = arg;
    while (!__atomic_load_n(n->stop, __ATOMIC_RELAXED)) {
        errno = 0;
        if (close(-1) == 0 || errno != EBADF)
            n->wrong++;
        errno = 0;
        if (access("/nonexistent-cvt-clone", F_OK) == 0 || errno != ENOENT)
            n->wrong++;
        memset(n->buf, (int)(n->calls & 0xff), sizeof(n->buf));
        for (size_t i = 0; i < sizeof(n->buf); i += 1024)
            if (n->buf[i] != (unsigned char)(n->calls & 0xff))
                n->wrong++;
        n->calls++;
    }
    return NULL;
}

struct creator {
    int index, runs, bad;
    char why[256];
};

static void *creator_main(void *arg)
{
    struct creator *cr = arg;
    static const char *const argv[] = {"/bin/sh", "-c", "echo ok", NULL};
    for (int i = 0; i < cr->runs && !cr->bad; i++) {
        struct containerv_options *o = cvt_options();
        struct containerv_container *c = NULL;
        struct containerv_error err;
        char id[64]; /* cvt_id() is not for threads */
        snprintf(id, sizeof(id), "%sclone%d-%d", cvt.prefix, cr->index, i);
        if (containerv_create(id, o, &c, &err) < 0) {
            cr->bad = 1;
            snprintf(cr->why, sizeof(cr->why), "create: %s", err.message);
        } else {
            int p[2];
            pid_t pid;
            int code = -1;
            char out[16] = "";
            struct containerv_spawn_options so;
            containerv_spawn_options_init(&so);
            if (pipe2(p, O_CLOEXEC) < 0) {
                cr->bad = 2;
            } else {
                so.stdout_fd = p[1];
                if (containerv_spawn(c, argv, &so, &pid, &err) < 0) {
                    cr->bad = 3;
                    snprintf(cr->why, sizeof(cr->why), "spawn: %s", err.message);
                }
                close(p[1]);
                ssize_t k = cr->bad ? 0 : read(p[0], out, sizeof(out) - 1);
                out[k > 0 ? k : 0] = '\0';
                close(p[0]);
                if (!cr->bad && (containerv_wait(c, pid, &code, &err) < 0 || code != 0 || strcmp(out, "ok\n"))) {
                    cr->bad = 4;
                    snprintf(cr->why, sizeof(cr->why), "workload: exit %d, output '%s'", code, out);
                }
            }
            if (containerv_destroy(c, &err) < 0 && !cr->bad) {
                cr->bad = 5;
                snprintf(cr->why, sizeof(cr->why), "destroy: %s", err.message);
            }
        }
        containerv_options_free(o);
    }
    return NULL;
}

static void test_many_threads_large_heap(void **state)
{
    (void)state;
    struct cvt_snap before;
    cvt_snapshot(&before);
    unsigned char *heap = touched_heap(HEAP);
    uint64_t sum = checksum(heap, HEAP);
    int maps_before = count_lines("/proc/self/maps");
    volatile int stop = 0;
    enum { NOISE = 6, CREATORS = 2 };
    struct noise *noise = calloc(NOISE, sizeof(*noise));
    assert_non_null(noise);
    pthread_t nt[NOISE], ct[CREATORS];
    for (int i = 0; i < NOISE; i++) {
        noise[i].stop = &stop;
        assert_int_equal(pthread_create(&nt[i], NULL, noise_main, &noise[i]), 0);
    }
    struct creator cr[CREATORS];
    for (int i = 0; i < CREATORS; i++) {
        cr[i] = (struct creator){.index = i, .runs = 12};
        assert_int_equal(pthread_create(&ct[i], NULL, creator_main, &cr[i]), 0);
    }
    for (int i = 0; i < CREATORS; i++)
        pthread_join(ct[i], NULL);
    __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
    long calls = 0, wrong = 0;
    for (int i = 0; i < NOISE; i++) {
        pthread_join(nt[i], NULL);
        calls += noise[i].calls;
        wrong += noise[i].wrong;
    }
    free(noise);
    struct containerv_error err;
    assert_int_equal(containerv_teardown_wait(&err), 0);
    for (int i = 0; i < CREATORS; i++)
        if (cr[i].bad)
            fail_msg("creator thread %d: %s (%d)", i, cr[i].why, cr[i].bad);
    print_message("%ld checks in the other threads during %d creates, %ld wrong\n", calls,
                  CREATORS * 12, wrong);
    assert_true(calls > 0);
    assert_int_equal(wrong, 0);
    assert_true(checksum(heap, HEAP) == sum);
    /* the child's stacks kept for the next creates: a few mappings, no more
     * (not under ASan, whose allocator maps memory of its own as it goes) */
    int maps_after = count_lines("/proc/self/maps");
#if !defined(__SANITIZE_ADDRESS__)
    if (maps_after > maps_before + 2 * 8)
        fail_msg("/proc/self/maps grew from %d to %d lines", maps_before, maps_after);
#endif
    print_message("/proc/self/maps: %d lines before, %d after\n", maps_before, maps_after);
    munmap(heap, HEAP);
    cvt_assert_no_leaks(&before, "creates from a big, busy creator");
    cvt_snap_free(&before);
}

/* ---- a user namespace's child and the creator's dumpable flag */

static struct containerv_options *userns_opts(void)
{
    struct containerv_options *o = cvt_options();
    assert_int_equal(containerv_options_add_uid_map(o, 0, 200000u, 65536u), 0);
    assert_int_equal(containerv_options_add_gid_map(o, 0, 200000u, 65536u), 0);
    return o;
}

static void test_userns_creator_stays_dumpable(void **state)
{
    (void)state;
    assert_int_equal(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 1);
    for (int i = 0; i < 3; i++) {
        struct containerv_options *o = userns_opts();
        struct containerv_container *c = cvt_create(o);
        /* the init did change its credentials: it runs as host uid 200000 */
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/status", (int)containerv_init_pid(c));
        char *s = cvt_read_file(path);
        assert_non_null(s);
        assert_non_null(strstr(s, "Uid:\t200000"));
        free(s);
        assert_int_equal(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 1);
        cvt_destroy(c);
        containerv_options_free(o);
    }
    /* and a creator that made itself not dumpable stays so */
    assert_int_equal(prctl(PR_SET_DUMPABLE, 0, 0, 0, 0), 0);
    struct containerv_options *o = userns_opts();
    cvt_destroy(cvt_create(o));
    containerv_options_free(o);
    assert_int_equal(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 0);
    assert_int_equal(prctl(PR_SET_DUMPABLE, 1, 0, 0, 0), 0);
}

/* ---- while a user namespace's child runs on the creator's memory, the
 * creator stays not dumpable, even when another user namespace's create of
 * it ends meanwhile (else a host process of the mapped uid could trace that
 * child, and read the creator's memory) */

static void *paused_create(void *arg)
{
    const char *id = arg;
    struct containerv_options *o = userns_opts();
    struct containerv_container *c = NULL;
    struct containerv_error err;
    if (containerv_create(id, o, &c, &err) == 0)
        containerv_destroy(c, &err);
    containerv_options_free(o);
    return NULL;
}

static void test_userns_dumpable_while_a_child_runs(void **state)
{
    (void)state;
    struct cvt_snap before;
    cvt_snapshot(&before);
    /* the paused child runs as the mapped uid: a socket it may reach */
    char dir[] = "/tmp/cvt-dump.XXXXXX", sock[200], spec[300];
    assert_non_null(mkdtemp(dir));
    assert_int_equal(chmod(dir, 0711), 0);
    snprintf(sock, sizeof(sock), "%s/hold.sock", dir);
    int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
    assert_int_equal(bind(l, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(chmod(sock, 0666), 0);
    assert_int_equal(listen(l, 4), 0);
    snprintf(spec, sizeof(spec), "pause:child.mount.proc@%s", sock);
    char id1[64], id2[64];
    snprintf(id1, sizeof(id1), "%s", cvt_id());
    snprintf(id2, sizeof(id2), "%s", cvt_id());
    int go[2], report[2];
    assert_int_equal(pipe(go), 0);
    assert_int_equal(pipe(report), 0);
    fflush(NULL);
    pid_t creator = fork();
    assert_true(creator >= 0);
    if (creator == 0) {
        close(go[1]);
        close(report[0]);
        setenv("CONTAINERV_FAULT", spec, 1);
        pthread_t t;
        if (pthread_create(&t, NULL, paused_create, id1) != 0)
            _exit(2);
        char b;
        if (read(go[0], &b, 1) != 1) /* the first child is paused */
            _exit(3);
        unsetenv("CONTAINERV_FAULT");
        paused_create(id2); /* a whole userns create and destroy meanwhile */
        char got[2] = {(char)('0' + prctl(PR_GET_DUMPABLE, 0, 0, 0, 0)), 0};
        if (write(report[1], got, 1) != 1)
            _exit(4);
        pthread_join(t, NULL); /* the first ends once the test lets it go */
        got[0] = (char)('0' + prctl(PR_GET_DUMPABLE, 0, 0, 0, 0));
        if (write(report[1], got, 1) != 1)
            _exit(5);
        _exit(0);
    }
    close(go[0]);
    close(report[1]);
    struct pollfd pl = {.fd = l, .events = POLLIN};
    assert_int_equal(poll(&pl, 1, 30000), 1);
    int held = accept4(l, NULL, NULL, SOCK_CLOEXEC);
    assert_true(held >= 0);
    assert_int_equal(write(go[1], "g", 1), 1);
    char during = 0, after = 0;
    assert_int_equal(read(report[0], &during, 1), 1);
    close(held); /* the paused child goes on */
    assert_int_equal(read(report[0], &after, 1), 1);
    int status;
    assert_int_equal(waitpid(creator, &status, 0), creator);
    close(go[1]);
    close(report[0]);
    close(l);
    unlink(sock);
    rmdir(dir);
    if (during != '0')
        fail_msg("the creator was dumpable (%c) while a user namespace's child ran on its memory", during);
    assert_int_equal(after, '1');
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    struct containerv_error err;
    assert_int_equal(containerv_gc(cvt.runtime_dir, NULL, &err), 0);
    cvt_assert_no_leaks(&before, "two user namespace creates, one paused");
    cvt_snap_free(&before);
}

/* ---- a creator with a large heap killed while its child is paused */

static long vm_rss_kib(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    char *s = cvt_read_file(path);
    char *p = s ? strstr(s, "VmRSS:") : NULL;
    long v = p ? strtol(p + 6, NULL, 10) : -1;
    free(s);
    return v;
}

static void killed_mid_create(bool die_with_parent)
{
    struct cvt_snap before;
    cvt_snapshot(&before);
    char sock[200], spec[300];
    snprintf(sock, sizeof(sock), "%s/hold.%d.sock", cvt.tmp, (int)die_with_parent);
    unlink(sock);
    int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
    assert_int_equal(bind(l, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(l, 4), 0);
    snprintf(spec, sizeof(spec), "pause:child.mount.proc@%s", sock);
    const char *id = cvt_id();
    fflush(NULL);
    pid_t creator = fork();
    assert_true(creator >= 0);
    if (creator == 0) {
        touched_heap(HEAP);
        setenv("CONTAINERV_FAULT", spec, 1);
        struct containerv_options *o = cvt_options();
        containerv_options_set_die_with_parent(o, die_with_parent);
        struct containerv_container *c = NULL;
        struct containerv_error err;
        _exit(containerv_create(id, o, &c, &err) == 0 ? 0 : 1); /* not reached while paused */
    }
    /* the child connects from its pause: its pid from the connection */
    struct pollfd pl = {.fd = l, .events = POLLIN};
    assert_int_equal(poll(&pl, 1, 30000), 1);
    int held = accept4(l, NULL, NULL, SOCK_CLOEXEC);
    assert_true(held >= 0);
    struct ucred uc;
    socklen_t len = sizeof(uc);
    assert_int_equal(getsockopt(held, SOL_SOCKET, SO_PEERCRED, &uc, &len), 0);
    int child = (int)syscall(SYS_pidfd_open, uc.pid, 0);
    assert_true(child >= 0);
    /* it shares the creator's memory (the same mm), heap and all */
    long same = syscall(SYS_kcmp, creator, uc.pid, KCMP_VM, 0, 0);
    if (same != 0)
        fail_msg("the paused child does not share its creator's memory (kcmp %ld, %s)", same,
                 same < 0 ? strerror(errno) : "different");
    long rss = vm_rss_kib(uc.pid);
    if (rss < (long)(HEAP >> 10))
        fail_msg("the paused child's VmRSS is %ld KiB, not its creator's %u KiB", rss, HEAP >> 10);
    assert_int_equal(kill(creator, SIGKILL), 0);
    assert_int_equal(waitpid(creator, NULL, 0), creator);
    struct pollfd pc = {.fd = child, .events = POLLIN};
    if (die_with_parent) {
        /* PDEATHSIG: gone without anything else happening */
        if (poll(&pc, 1, 10000) != 1)
            fail_msg("the child of a killed creator still runs (die_with_parent)");
    } else {
        /* it outlives the creator until its pause ends, then finds the
         * creator gone at its next hand-over and exits */
        assert_int_equal(poll(&pc, 1, 200), 0);
        close(held);
        held = -1;
        if (poll(&pc, 1, 10000) != 1)
            fail_msg("the child of a killed creator still runs after its pause");
    }
    if (held >= 0)
        close(held);
    close(child);
    close(l);
    unlink(sock);
    struct containerv_error err;
    assert_int_equal(containerv_gc(cvt.runtime_dir, NULL, &err), 0);
    cvt_assert_no_leaks(&before, die_with_parent ? "a big creator killed mid-create"
                                                 : "a big creator killed mid-create (no die_with_parent)");
    cvt_snap_free(&before);
}

static void test_killed_mid_create(void **state)
{
    (void)state;
    killed_mid_create(true);
}

static void test_killed_mid_create_no_die_with_parent(void **state)
{
    (void)state;
    killed_mid_create(false);
}

/* ---- die_with_parent follows the creating thread */

struct thread_create {
    char id[64];
    pid_t init;
    int ok;
};

static void *create_and_exit(void *arg)
{
    struct thread_create *t = arg;
    struct containerv_options *o = cvt_options();
    struct containerv_container *c = NULL;
    struct containerv_error err;
    if (containerv_create(t->id, o, &c, &err) == 0) {
        t->init = containerv_init_pid(c);
        t->ok = 1;
        containerv_release(c); /* the handle only; the container stays */
    }
    containerv_options_free(o);
    return NULL;
}

static void test_die_with_creating_thread(void **state)
{
    (void)state;
    struct thread_create t = {0};
    snprintf(t.id, sizeof(t.id), "%sthread", cvt.prefix);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, create_and_exit, &t), 0);
    pthread_join(th, NULL);
    assert_int_equal(t.ok, 1);
    /* the thread is gone: its container's init gets SIGKILL */
    int fd = (int)syscall(SYS_pidfd_open, t.init, 0);
    if (fd >= 0) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r = poll(&p, 1, 10000);
        close(fd);
        if (r != 1)
            fail_msg("the init of a container whose creating thread exited still runs");
    }
    /* reaped by this process (its parent), then gc removes the rest */
    waitpid(t.init, NULL, 0);
    struct containerv_error err;
    assert_int_equal(containerv_gc(cvt.runtime_dir, NULL, &err), 0);
    /* the main thread's container lives on */
    struct containerv_options *o = cvt_options();
    struct containerv_container *c = cvt_create(o);
    char out[64];
    static const char *const argv[] = {"/bin/echo", "alive", NULL};
    assert_int_equal(cvt_run(c, argv, NULL, out, sizeof(out)), 0);
    assert_string_equal(out, "alive");
    cvt_destroy(c);
    containerv_options_free(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_many_threads_large_heap),
        cmocka_unit_test(test_userns_creator_stays_dumpable),
        cmocka_unit_test(test_userns_dumpable_while_a_child_runs),
        cmocka_unit_test(test_killed_mid_create),
        cmocka_unit_test(test_killed_mid_create_no_die_with_parent),
        cmocka_unit_test(test_die_with_creating_thread),
    };
    return cvt_main("lib_clone", tests, sizeof(tests) / sizeof(tests[0]), 300);
}
