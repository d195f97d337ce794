/* Start-up metrics and the benchmark engine through the shared library:
 * the metrics are filled, consistent with each other and with the caller's
 * clock; the seed's containerv_benchmark_startup and containerv_bench_run
 * give plausible figures and leave nothing behind. No timing is a pass/fail
 * criterion: only orders (a part is not larger than its whole). */
#include "cvt.h"

#include <containerv/benchmark.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t create_phase_sum(const struct containerv_startup_metrics *m)
{
    return m->layer_mount_ns + m->namespace_setup_ns + m->security_setup_ns + m->network_setup_ns +
           m->resource_alloc_ns;
}

/* What every container's metrics must satisfy (containerv.h documents the
 * overlap: the child's phases run while the host allocates resources, and lo
 * comes up in a helper while the child goes on, so the create phases may
 * exceed the total by at most resource_alloc + network_setup). */
static void assert_plausible(const struct containerv_startup_metrics *m)
{
    assert_true(m->total_startup_ns > 0);
    assert_true(m->layer_mount_ns > 0);
    assert_true(m->namespace_setup_ns > 0);
    assert_true(m->security_setup_ns > 0);
    assert_true(m->network_setup_ns > 0); /* the default namespaces include a network */
    assert_true(m->resource_alloc_ns > 0);
    assert_true(m->first_process_ns > 0);
    assert_true(m->layer_mount_ns <= m->total_startup_ns);
    assert_true(m->namespace_setup_ns <= m->total_startup_ns);
    assert_true(m->security_setup_ns <= m->total_startup_ns);
    assert_true(m->network_setup_ns <= m->total_startup_ns);
    assert_true(m->resource_alloc_ns <= m->total_startup_ns);
    uint64_t overlap = m->resource_alloc_ns + m->network_setup_ns;
    if (create_phase_sum(m) > m->total_startup_ns + overlap)
        fail_msg("create phases sum to %llu ns, more than total %llu + overlap %llu",
                 (unsigned long long)create_phase_sum(m), (unsigned long long)m->total_startup_ns,
                 (unsigned long long)overlap);
}

static pid_t spawn_true(struct containerv_container *c)
{
    static const char *const argv[] = {"/bin/true", NULL};
    struct containerv_error err;
    pid_t pid = -1;
    int r = containerv_spawn(c, argv, NULL, &pid, &err);
    if (r < 0)
        fail_msg("spawn: %s", err.message);
    return pid;
}

static void wait_zero(struct containerv_container *c, pid_t pid)
{
    struct containerv_error err;
    int code = -1;
    int r = containerv_wait(c, pid, &code, &err);
    if (r < 0)
        fail_msg("wait: %s", err.message);
    assert_int_equal(code, 0);
}

/* Filled by the pipeline, within the caller's own measurement, and fixed
 * once the first process has run. A default container (the default rootfs,
 * the default namespaces): the test's runtime dir is the only option. */
static void test_metrics_filled(void **state)
{
    struct containerv_options *o = containerv_options_new();
    assert_non_null(o);
    assert_int_equal(containerv_options_set_runtime_dir(o, cvt.runtime_dir), 0);
    struct containerv_startup_metrics m, m0, m2;
    (void)state;
    uint64_t t0 = now_ns();
    struct containerv_container *c = cvt_create(o);
    uint64_t t1 = now_ns();
    containerv_options_free(o);

    assert_int_equal(containerv_get_startup_metrics(c, &m0), 0);
    assert_int_equal(m0.first_process_ns, 0); /* no process yet */
    assert_true(m0.total_startup_ns > 0 && m0.total_startup_ns <= t1 - t0);

    uint64_t t2 = now_ns();
    pid_t pid = spawn_true(c);
    wait_zero(c, pid);
    uint64_t t3 = now_ns();
    assert_int_equal(containerv_get_startup_metrics(c, &m), 0);
    assert_plausible(&m);
    assert_true(m.first_process_ns <= t3 - t2);
    assert_int_equal(m.total_startup_ns, m0.total_startup_ns);

    /* a second process does not change the first process' time */
    wait_zero(c, spawn_true(c));
    assert_int_equal(containerv_get_startup_metrics(c, &m2), 0);
    assert_memory_equal(&m, &m2, sizeof(m));
    cvt_destroy(c);
}

static void test_metrics_bad_args(void **state)
{
    struct containerv_startup_metrics m;
    (void)state;
    assert_int_equal(containerv_get_startup_metrics(NULL, &m), -EINVAL);
}

static void test_percentile(void **state)
{
    const uint64_t five[] = {1, 2, 3, 4, 5}, two[] = {10, 20};
    (void)state;
    assert_true(containerv_bench_percentile(five, 5, 0) == 1);
    assert_true(containerv_bench_percentile(five, 5, 25) == 2);
    assert_true(containerv_bench_percentile(five, 5, 50) == 3);
    assert_true(containerv_bench_percentile(five, 5, 100) == 5);
    assert_true(containerv_bench_percentile(two, 2, 50) == 15);
    assert_true(containerv_bench_percentile(two, 1, 99) == 10);
    assert_true(containerv_bench_percentile(NULL, 0, 50) == 0);
}

/* Entries of dir whose name starts with prefix (-1 when dir is missing). */
static int count_prefixed(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    if (!d)
        return -1;
    while ((e = readdir(d)))
        n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    closedir(d);
    return n;
}

/* The benchmark's default container names in every v1 hierarchy. */
static int leftover_cgroups(void)
{
    static const char *const ctrl[] = {"memory", "pids", "cpu", "freezer", "unified", NULL};
    char prefix[32], dir[128];
    int n = 0;
    snprintf(prefix, sizeof(prefix), "cvb-%d-", (int)getpid());
    for (int i = 0; ctrl[i]; i++) {
        snprintf(dir, sizeof(dir), "/sys/fs/cgroup/%s/containerv", ctrl[i]);
        int k = count_prefixed(dir, prefix);
        n += k > 0 ? k : 0;
    }
    snprintf(dir, sizeof(dir), "/sys/fs/cgroup/containerv");
    int k = count_prefixed(dir, prefix);
    return n + (k > 0 ? k : 0);
}

/* The seed's API: the mean metrics of 5 cold containers. Its temporary
 * directory goes next to the runtime dir, here the test's own. */
static void test_benchmark_startup(void **state)
{
    struct containerv_startup_metrics m;
    (void)state;
    memset(&m, 0, sizeof(m));
    assert_int_equal(setenv("CONTAINERV_RUNTIME_DIR", cvt.runtime_dir, 1), 0);
    int r = containerv_benchmark_startup(NULL, 5, &m);
    unsetenv("CONTAINERV_RUNTIME_DIR");
    assert_int_equal(r, 0);
    assert_plausible(&m);
    assert_int_equal(count_prefixed(cvt.tmp, "containerv-bench."), 0);
    assert_int_equal(leftover_cgroups(), 0);
    assert_int_equal(containerv_benchmark_startup(NULL, 0, &m), -EINVAL);
    assert_int_equal(containerv_benchmark_startup(NULL, 1, NULL), -EINVAL);
}

/* The rest of the seed's API: figures > 0 (MemAvailable is system-wide and
 * noisy, so its figure may be 0), nothing left behind. */
static void test_seed_api(void **state)
{
    struct containerv_options *o = containerv_options_new();
    double tp = 0, rd = 0, wr = 0;
    uint64_t mem = 0;
    (void)state;
    assert_int_equal(setenv("CONTAINERV_RUNTIME_DIR", cvt.runtime_dir, 1), 0);
    assert_int_equal(containerv_benchmark_throughput(NULL, 2, 1, &tp), 0);
    assert_true(tp > 0);
    assert_int_equal(containerv_benchmark_memory_overhead(NULL, &mem), 0);
    unsetenv("CONTAINERV_RUNTIME_DIR");
    assert_int_equal(count_prefixed(cvt.tmp, "containerv-bench."), 0);
    assert_int_equal(leftover_cgroups(), 0);

    assert_int_equal(containerv_options_set_runtime_dir(o, cvt.runtime_dir), 0);
    struct containerv_container *c = cvt_create(o);
    containerv_options_free(o);
    assert_int_equal(containerv_benchmark_io_performance(c, &rd, &wr), 0);
    assert_true(rd > 0 && wr > 0);
    assert_int_equal(containerv_benchmark_io_performance(NULL, &rd, &wr), -EINVAL);
    cvt_destroy(c);
}

static void assert_mode(const struct containerv_bench_report *rep, const char *name, int n)
{
    const struct containerv_bench_result *r = containerv_bench_find(rep, name);
    if (!r)
        fail_msg("mode %s missing", name);
    if (r->skipped[0])
        fail_msg("mode %s skipped: %s", name, r->skipped);
    assert_int_equal(r->n_samples, (size_t)n);
    assert_true(r->min_us > 0);
    assert_true(r->min_us <= r->p50_us && r->p50_us <= r->p90_us && r->p90_us <= r->p99_us &&
                r->p99_us <= r->max_us);
    assert_true(r->min_us <= r->mean_us && r->mean_us <= r->max_us);
}

/* The richer API: floor, floor-ns and cold interleaved; the JSON and SVG. */
static void test_bench_run(void **state)
{
    struct containerv_bench_config cfg;
    struct containerv_bench_report *rep = NULL;
    struct containerv_error err;
    (void)state;
    containerv_bench_config_init(&cfg);
    cfg.modes = 1u << CONTAINERV_MODE_FLOOR | 1u << CONTAINERV_MODE_FLOOR_NS | 1u << CONTAINERV_MODE_COLD;
    cfg.iterations = 4;
    cfg.warmup = 1;
    cfg.temp_parent = cvt.tmp;
    cfg.id_prefix = cvt.prefix;
    cfg.peer_env = false;
    int r = containerv_bench_run(CONTAINERV_BENCH_STARTUP, &cfg, &rep, &err);
    if (r < 0)
        fail_msg("containerv_bench_run: %s", err.message);
    assert_int_equal(rep->n_results, 3);
    assert_mode(rep, "floor", 4);
    assert_mode(rep, "floor-ns", 4);
    assert_mode(rep, "cold", 4);
    const struct containerv_bench_result *cold = containerv_bench_find(rep, "cold");
    assert_true(cold->has_phases);
    assert_plausible(&cold->phases);
    /* the calls of a run are parts of the run */
    assert_true(cold->create_us + cold->spawn_wait_us + cold->destroy_us <= cold->mean_us + 0.01);

    const struct containerv_bench_report *one[] = {rep};
    char *json = containerv_bench_json(one, 1);
    assert_non_null(json);
    assert_non_null(strstr(json, "\"benchmark\": \"startup\""));
    assert_non_null(strstr(json, "\"cold/floor-ns\""));
    assert_non_null(strstr(json, "\"phases_us\""));
    free(json);
    char *svg = containerv_bench_svg(one, 1);
    assert_non_null(svg);
    assert_true(strncmp(svg, "<svg", 4) == 0);
    assert_non_null(strstr(svg, "</svg>"));
    free(svg);
    containerv_bench_report_free(rep);
    assert_int_equal(count_prefixed(cvt.tmp, "containerv-bench."), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metrics_filled),
        cmocka_unit_test(test_metrics_bad_args),
        cmocka_unit_test(test_percentile),
        cmocka_unit_test(test_benchmark_startup),
        cmocka_unit_test(test_bench_run),
        cmocka_unit_test(test_seed_api),
    };
    return cvt_main("metrics", tests, sizeof(tests) / sizeof(tests[0]), 240);
}
