/* The seed's benchmark API, on top of containerv_bench_run: containerv
 * alone (no peers, no private mount namespace), in the calling process. */
#include "bench.h"

static int run_cold(enum containerv_bench_kind kind, struct containerv_bench_config *cfg,
                    const char *image, struct containerv_bench_report **rep)
{
    struct containerv_error err;
    cfg->rootfs = image;
    cfg->modes = 1u << CONTAINERV_MODE_COLD;
    cfg->peers = false;
    cfg->peer_env = false;
    int r = containerv_bench_run(kind, cfg, rep, &err);
    if (r < 0)
        return r;
    const struct containerv_bench_result *res = containerv_bench_find(*rep, "cold");
    if (!res || res->skipped[0]) {
        containerv_bench_report_free(*rep);
        *rep = NULL;
        return -EIO;
    }
    return 0;
}

int containerv_benchmark_startup(const char *image, int iterations,
                                 struct containerv_startup_metrics *results)
{
    struct containerv_bench_config cfg;
    struct containerv_bench_report *rep;
    if (!results || iterations <= 0)
        return -EINVAL;
    containerv_bench_config_init(&cfg);
    cfg.iterations = iterations;
    int r = run_cold(CONTAINERV_BENCH_STARTUP, &cfg, image, &rep);
    if (r == 0)
        *results = containerv_bench_find(rep, "cold")->phases;
    containerv_bench_report_free(rep);
    return r;
}

int containerv_benchmark_throughput(const char *image, int concurrent_containers,
                                    int duration_seconds, double *throughput)
{
    struct containerv_bench_config cfg;
    struct containerv_bench_report *rep;
    if (!throughput || concurrent_containers <= 0 || duration_seconds <= 0)
        return -EINVAL;
    containerv_bench_config_init(&cfg);
    cfg.concurrency = concurrent_containers;
    cfg.duration_s = duration_seconds;
    int r = run_cold(CONTAINERV_BENCH_THROUGHPUT, &cfg, image, &rep);
    if (r == 0)
        *throughput = containerv_bench_find(rep, "cold")->containers_per_s;
    containerv_bench_report_free(rep);
    return r;
}

int containerv_benchmark_memory_overhead(const char *image, uint64_t *memory_overhead_bytes)
{
    struct containerv_bench_config cfg;
    struct containerv_bench_report *rep;
    if (!memory_overhead_bytes)
        return -EINVAL;
    containerv_bench_config_init(&cfg);
    int r = run_cold(CONTAINERV_BENCH_MEMORY, &cfg, image, &rep);
    if (r == 0) {
        double v = containerv_bench_find(rep, "cold")->bytes_per_container;
        *memory_overhead_bytes = v > 0 ? (uint64_t)v : 0; /* noise can make it negative */
    }
    containerv_bench_report_free(rep);
    return r;
}
