/*
 * containerv benchmarks: the seed's API, and the richer one `containerv bench`
 * uses (samples per mode, percentiles, peers, ratios, JSON and SVG).
 *
 * Method and figures: docs/benchmarks.md. Every benchmark runs in a thread of
 * its own; on a hybrid-cgroup host that thread first enters a private mount
 * namespace in which the cgroup2 mount at /sys/fs/cgroup/unified is replaced
 * by an empty tmpfs, so that crun runs (it refuses hybrid hosts) and every
 * mode, containerv's included, runs in the same environment. The caller's
 * own mount namespace is never changed.
 *
 * Same error convention as containerv.h: 0 or a negative errno, details in
 * the caller's struct containerv_error; nothing is printed.
 */
#ifndef CONTAINERV_BENCHMARK_H
#define CONTAINERV_BENCHMARK_H

#include <containerv/containerv.h>

#include <signal.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------ the seed's API */

/* image: a rootfs directory used as the single lower layer (NULL: the
 * default rootfs). Each call creates, runs /bin/true in, and destroys
 * containers in the calling process; nothing is left behind. */

/* Runs `iterations` cold containers (after a short warm-up) and stores in
 * *results the mean of their start-up metrics (containerv_get_startup_metrics). */
CONTAINERV_API int containerv_benchmark_startup(const char *image, int iterations,
                                                struct containerv_startup_metrics *results);
/* Containers run to completion per second with concurrent_containers workers
 * (threads, each a create/spawn/wait/destroy loop) during duration_seconds. */
CONTAINERV_API int containerv_benchmark_throughput(const char *image, int concurrent_containers,
                                                   int duration_seconds, double *throughput);
/* Bytes of system memory each idle container costs: the drop of MemAvailable
 * with 100 containers, each running `sleep`, divided by 100. */
CONTAINERV_API int containerv_benchmark_memory_overhead(const char *image,
                                                        uint64_t *memory_overhead_bytes);
/* Sequential read and write MB/s (10^6 bytes/s) of a 32 MiB file on the
 * container's writable layer, reached through /proc/<init>/root. */
CONTAINERV_API int containerv_benchmark_io_performance(struct containerv_container *container,
                                                       double *read_mbps, double *write_mbps);

/* ----------------------------------------------------- the richer API */

enum containerv_bench_kind {
    CONTAINERV_BENCH_STARTUP = 0,
    CONTAINERV_BENCH_THROUGHPUT = 1,
    CONTAINERV_BENCH_MEMORY = 2,
    CONTAINERV_BENCH_IO = 3,
    CONTAINERV_BENCH_MONITOR = 4, /* runtime metrics: sampling cost, start-up with monitoring */
    CONTAINERV_BENCH_SECCOMP = 5, /* the built-in seccomp profile's load and per-call cost */
};
#define CONTAINERV_BENCH_KIND_COUNT 6

/* Modes of the startup benchmark; `1u << mode` selects one. */
enum containerv_bench_mode {
    CONTAINERV_MODE_FLOOR = 0,    /* fork + exec + wait of the rootfs' /bin/true */
    CONTAINERV_MODE_FLOOR_NS = 1, /* clone with the default namespaces + exec + wait */
    CONTAINERV_MODE_COLD = 2,     /* in process: create, spawn, wait, destroy */
    CONTAINERV_MODE_COLD_CLI = 3, /* `containerv run -- /bin/true` as a whole process */
    CONTAINERV_MODE_CRUN = 4,
    CONTAINERV_MODE_RUNC = 5,
    CONTAINERV_MODE_BWRAP = 6,
    CONTAINERV_MODE_POOLED = 7,     /* in process: pool get, spawn, wait, return (pool.h) */
    CONTAINERV_MODE_POOLED_CLI = 8, /* `containerv run --template T -- /bin/true` via a daemon */
    CONTAINERV_MODE_COLD_HEAP = 9,  /* cold, from a process holding caller_heap bytes of touched memory */
    CONTAINERV_MODE_OCI = 10,       /* `containerv create` + `start` + wait + `delete` on the peers' bundle */
    CONTAINERV_MODE_PODMAN = 11,      /* `podman --runtime <containerv> run --rm` end to end (since 0.3) */
    CONTAINERV_MODE_PODMAN_RUNC = 12, /* the same with runc */
    CONTAINERV_MODE_COUNT = 13,
};
#define CONTAINERV_BENCH_ALL_MODES ((1u << CONTAINERV_MODE_COUNT) - 1)
/* What runs when no mode is chosen: all but the podman modes (a third of a
 * second each run: asked for by name) */
#define CONTAINERV_BENCH_DEFAULT_MODES \
    (CONTAINERV_BENCH_ALL_MODES & ~((1u << CONTAINERV_MODE_PODMAN) | (1u << CONTAINERV_MODE_PODMAN_RUNC)))

/* "floor", "floor-ns", "cold", "cold-cli", "crun", "runc", "bwrap", "pooled", "pooled-cli",
 * "cold-heap", "oci", "podman", "podman-runc";
 * NULL when out of range. */
CONTAINERV_API const char *containerv_bench_mode_name(enum containerv_bench_mode mode);
/* "startup", "throughput", "memory", "io", "monitor", "seccomp"; NULL when out of range. */
CONTAINERV_API const char *containerv_bench_kind_name(enum containerv_bench_kind kind);

/* Progress: `done` of `total` units of `what` (a benchmark's name). Called
 * from the benchmark's threads, one call at a time. */
typedef void (*containerv_bench_progress_fn)(void *userdata, const char *what, uint64_t done,
                                             uint64_t total);

struct containerv_bench_config {
    const char *rootfs;      /* NULL: containerv_default_rootfs() */
    const char *cli_path;    /* the containerv CLI for cold-cli; NULL: next to /proc/self/exe */
    const char *temp_parent; /* where the benchmark's temporary directory goes; NULL: the
                              * parent of containerv_default_runtime_dir() (or /tmp) */
    const char *id_prefix;   /* container names are "<prefix><n>"; NULL: "cvb-<pid>-" */
    unsigned modes;          /* startup modes, a mask of 1u << enum containerv_bench_mode (default
                              * CONTAINERV_BENCH_DEFAULT_MODES); 0: the same
                              * (memory: CONTAINERV_MODE_POOLED selects its pooled mode) */
    int iterations;          /* startup, seccomp: measured iterations per mode (default 100) */
    int warmup;              /* startup, seccomp: unmeasured iterations per mode first (default 3) */
    int concurrency;         /* throughput: workers (default 2) */
    int duration_s;          /* throughput: seconds per mode (default 5) */
    int containers;          /* memory: idle containers per mode (default 100) */
    uint64_t io_bytes;       /* io: file size (default 64 MiB) */
    int io_rounds;           /* io: rounds, the median is reported (default 3) */
    bool peer_env;           /* the private mount namespace described above (default true) */
    bool peers;              /* throughput, memory: also measure crun (default true) */
    int monitored;           /* monitor: containers sampled at once (default 200) */
    int monitor_interval_ms; /* monitor: their interval (default 100); sampled for duration_s */
    containerv_bench_progress_fn progress;
    void *progress_data;
    /* When *cancel becomes non-zero (e.g. from a SIGINT handler) the
     * benchmark stops after the run in progress, removes everything it made
     * and returns -ECANCELED. Peers run in their own process group, so a
     * terminal's Ctrl-C reaches only the caller. */
    const volatile sig_atomic_t *cancel;
    /* startup, cold-heap: touched memory (4 KiB pages) of the process that
     * creates the containers (default 4 GiB; at most half of MemAvailable) */
    uint64_t caller_heap;
};

/* Fill cfg with the defaults. */
CONTAINERV_API void containerv_bench_config_init(struct containerv_bench_config *cfg);

/* One mode's result. Fields a benchmark does not measure are 0. */
struct containerv_bench_result {
    char name[32];
    char skipped[256];       /* "" when the mode ran, else why it did not */
    /* startup: every measured run, in iteration order */
    uint64_t *samples_ns;
    size_t n_samples;
    double p50_us, p90_us, p99_us, mean_us, min_us, max_us;
    /* startup, cold: the mean of containerv_get_startup_metrics, and the mean
     * time of each library call of a run */
    bool has_phases;
    struct containerv_startup_metrics phases; /* ns */
    double create_us, spawn_wait_us, destroy_us;
    /* throughput */
    uint64_t completed;
    double containers_per_s;
    /* memory */
    double bytes_per_container;     /* drop of MemAvailable / containers */
    double pss_bytes_per_container; /* sum of PSS of the containers' processes / containers */
    double kernel_bytes_per_container; /* growth of Slab + KernelStack + PageTables + Percpu */
    /* io, MB/s (10^6 bytes per second) */
    double seq_read_mbps, seq_write_mbps, rand_read_mbps, rand_write_mbps;
    /* startup, cold: the mean time the teardown of a run took in the
     * background after containerv_destroy returned (destroy_us is what the
     * caller waits for); drained between runs, outside the timed region */
    double teardown_us;
    /* startup and throughput, pooled: the pool's figures when the mode ends
     * (containerv_pool_get_stats): returned containers reset in place and
     * replaced, and the mean time from a return to the reset's answer */
    bool has_pool;
    uint64_t pool_resets, pool_replaces;
    double pool_reset_us;
    /* monitor, "sampling": CPU time of the sampling thread per container per
     * sample (its CLOCK_THREAD_CPUTIME_ID over the samples it took), the
     * samples, the containers; "oneshot": the caller's CPU time per
     * containerv_get_runtime_metrics of an unmonitored handle (files open) */
    double sample_cpu_us;
    uint64_t samples_taken;
    int monitored;
    /* monitor, "cold-monitored": mean time of containerv_start_performance_monitoring */
    double monitor_start_us;
};

/* "a/b": the p50 ratio for startup; containers/s, bytes or MB/s otherwise. */
struct containerv_bench_ratio {
    char name[64];
    double value;
};

/* An issue target, reported (never asserted): value <= limit. */
struct containerv_bench_target {
    char name[96]; /* e.g. "cold p50 <= 2.0 x floor-ns p50" */
    double value;  /* the measured ratio */
    double limit;
    bool holds;
};

struct containerv_bench_report {
    enum containerv_bench_kind kind;
    int iterations, warmup;   /* startup, seccomp */
    int concurrency, duration_s; /* throughput */
    int containers;           /* memory; monitor: the containers sampled */
    uint64_t io_bytes;        /* io */
    int monitor_interval_ms;  /* monitor */
    char rootfs[4096];
    char environment[256];    /* what the benchmark thread ran in */
    char host_fs[32], container_fs[32]; /* io: file system types */
    uint64_t caller_heap;     /* startup, cold-heap: the creating process's touched memory */
    struct containerv_bench_result *results;
    size_t n_results;
    struct containerv_bench_ratio *ratios;
    size_t n_ratios;
    struct containerv_bench_target *targets;
    size_t n_targets;
};

/* Run one benchmark; *report is the caller's (containerv_bench_report_free). */
CONTAINERV_API int containerv_bench_run(enum containerv_bench_kind kind,
                                        const struct containerv_bench_config *cfg,
                                        struct containerv_bench_report **report,
                                        struct containerv_error *err);
CONTAINERV_API void containerv_bench_report_free(struct containerv_bench_report *report);
/* The result named name, or NULL. */
CONTAINERV_API const struct containerv_bench_result *
containerv_bench_find(const struct containerv_bench_report *report, const char *name);

/* JSON (malloc'd, NUL-terminated; NULL with errno set on failure). One report
 * gives the schema of docs/benchmarks.md; several give
 * {"benchmark":"all","results":[...]}. */
CONTAINERV_API char *containerv_bench_json(const struct containerv_bench_report *const *reports,
                                           size_t n);
/* An SVG chart of the reports, one section each (malloc'd; NULL on failure). */
CONTAINERV_API char *containerv_bench_svg(const struct containerv_bench_report *const *reports,
                                          size_t n);

/* The p-th percentile (0..100) of n sorted values, interpolated linearly
 * between the closest ranks; 0 when n is 0. */
CONTAINERV_API double containerv_bench_percentile(const uint64_t *sorted, size_t n, double p);

#ifdef __cplusplus
}
#endif
#endif
