/* Soak: many create/spawn/destroy cycles in one process through the library.
 * Afterwards nothing is left (fds, mounts, cgroups, processes, runtime-dir
 * entries) and the creator's resident memory (VmRSS), measured after a
 * warm-up, has grown by at most 1 MiB. Counts only, never timing.
 *
 * CV_SOAK_CYCLES sets the number of measured cycles (default 2000; the full
 * run in tests/README.md is 10000). */
#include "cvt.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { WARMUP = 100, RSS_SLACK_KIB = 1024 };
#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#else
#define SANITIZED 0
#endif

static long vm_rss_kib(void)
{
    char *s = cvt_read_file("/proc/self/status");
    assert_non_null(s);
    char *p = strstr(s, "\nVmRSS:");
    long kib = -1;
    if (p)
        sscanf(p + 7, "%ld", &kib);
    free(s);
    assert_true(kib > 0);
    return kib;
}

static long cycles_from_env(void)
{
    const char *v = getenv("CV_SOAK_CYCLES");
    if (!v || !*v)
        return 2000;
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || *end || n < 1)
        fail_msg("CV_SOAK_CYCLES: not a positive number: '%s'", v);
    return n;
}

/* One cycle: create, run a command to its end, sometimes leave one running
 * at destroy, destroy. */
static void cycle(struct containerv_options *o, long i)
{
    struct containerv_container *c = cvt_create(o);
    static const char *const argv[] = {"/bin/cvtest", "exit", "0", NULL};
    int code = cvt_run(c, argv, NULL, NULL, 0);
    if (code != 0)
        fail_msg("cycle %ld: cvtest exit 0 returned %d", i, code);
    if (i % 8 == 3) {
        static const char *const sleeper[] = {"/bin/cvtest", "sleep", "100", NULL};
        struct containerv_spawn_options so;
        containerv_spawn_options_init(&so);
        struct containerv_error err;
        containerv_error_clear(&err);
        pid_t pid;
        if (containerv_spawn(c, sleeper, &so, &pid, &err) < 0)
            fail_msg("cycle %ld: spawn sleep: %s", i, err.message);
    }
    cvt_destroy(c);
}

static void test_soak_cycles(void **state)
{
    (void)state;
    long n = cycles_from_env();
    struct containerv_options *o = cvt_options();
    assert_int_equal(containerv_options_set_memory_limit(o, 64ull << 20), 0);
    assert_int_equal(containerv_options_set_pids_limit(o, 32), 0);
    for (long i = 0; i < WARMUP; i++)
        cycle(o, i);
    assert_int_equal(containerv_teardown_wait(NULL), 0);

    struct cvt_snap before;
    cvt_snapshot(&before);
    long rss0 = vm_rss_kib(), rss_max = rss0;
    char series[1024] = ""; /* VmRSS every n/16 cycles: a failure says whether it grew steadily */
    long step = n / 16 > 0 ? n / 16 : 1;
    for (long i = 0; i < n; i++) {
        cycle(o, WARMUP + i);
        if (i % 100 == 99 || i % step == step - 1) {
            long r = vm_rss_kib();
            if (r > rss_max)
                rss_max = r;
            size_t len = strlen(series);
            if (i % step == step - 1 && len < sizeof(series) - 16)
                snprintf(series + len, sizeof(series) - len, " %ld", r);
        }
    }
    assert_int_equal(containerv_teardown_wait(NULL), 0);
    long rss1 = vm_rss_kib();
    containerv_options_free(o);
    print_message("soak: %ld cycles after %d warm-up: VmRSS %ld -> %ld KiB (max %ld)\n", n,
                  WARMUP, rss0, rss1, rss_max);
    char what[64];
    snprintf(what, sizeof(what), "%ld create/spawn/destroy cycles", n);
    cvt_assert_no_leaks(&before, what);
    cvt_snap_free(&before);
    /* ASan keeps freed memory in its quarantine (256 MiB by default), so RSS
     * says nothing there; LeakSanitizer checks leaks in that build instead. */
    if (!SANITIZED && rss1 - rss0 > RSS_SLACK_KIB)
        fail_msg("%s: VmRSS grew by %ld KiB (%ld -> %ld), more than %d KiB; every %ld cycles:%s KiB", what,
                 rss1 - rss0, rss0, rss1, RSS_SLACK_KIB, step, series);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_soak_cycles),
    };
    /* a guard against hangs only (10000 cycles take ~35 s here) */
    return cvt_main("soak_lib", tests, sizeof(tests) / sizeof(tests[0]), 280);
}
