/*
 * containerv runtime metrics: what a running container uses, from the
 * kernel's own counters (its cgroup's files, /proc, its network namespace,
 * perf events), one sample on demand or a series sampled in the background.
 *
 * Every field's source, unit and caveats, per cgroup version:
 * docs/metrics.md. A field without a source on this host (no hardware
 * performance counters, no PSI, a shared network namespace, ...) has its bit
 * cleared in `available` and holds 0: test the bit, never the value.
 *
 * Same error convention as containerv.h: 0 or a negative errno; the _ex
 * variants fill the caller's struct containerv_error. Nothing is printed.
 */
#ifndef CONTAINERV_METRICS_H
#define CONTAINERV_METRICS_H

#include <containerv/containerv.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One bit per field of struct containerv_runtime_metrics (the pressure
 * bits cover the group of fields named after them). */
enum containerv_metric {
    CONTAINERV_METRIC_MEMORY_CACHE_HITS = 0,
    CONTAINERV_METRIC_MEMORY_CACHE_MISSES,
    CONTAINERV_METRIC_IO_READ_OPS_PER_SEC,
    CONTAINERV_METRIC_IO_WRITE_OPS_PER_SEC,
    CONTAINERV_METRIC_NETWORK_PACKETS_PER_SEC,
    CONTAINERV_METRIC_CPU_CONTEXT_SWITCHES,
    CONTAINERV_METRIC_PAGE_FAULTS_PER_SEC,
    CONTAINERV_METRIC_CPU_UTILIZATION_PERCENT,
    CONTAINERV_METRIC_MEMORY_UTILIZATION_PERCENT,
    CONTAINERV_METRIC_CPU_USAGE_NS,
    CONTAINERV_METRIC_CPU_USER_NS,
    CONTAINERV_METRIC_CPU_SYSTEM_NS,
    CONTAINERV_METRIC_CPU_THROTTLED_PERIODS,
    CONTAINERV_METRIC_CPU_THROTTLED_NS,
    CONTAINERV_METRIC_MEMORY_USAGE_BYTES,
    CONTAINERV_METRIC_MEMORY_CHARGED_BYTES,
    CONTAINERV_METRIC_MEMORY_LIMIT_BYTES,
    CONTAINERV_METRIC_PAGE_FAULTS,
    CONTAINERV_METRIC_MAJOR_PAGE_FAULTS,
    CONTAINERV_METRIC_IO_READ_OPS,
    CONTAINERV_METRIC_IO_WRITE_OPS,
    CONTAINERV_METRIC_IO_READ_BYTES,
    CONTAINERV_METRIC_IO_WRITE_BYTES,
    CONTAINERV_METRIC_NETWORK_RX_PACKETS,
    CONTAINERV_METRIC_NETWORK_TX_PACKETS,
    CONTAINERV_METRIC_NETWORK_RX_BYTES,
    CONTAINERV_METRIC_NETWORK_TX_BYTES,
    CONTAINERV_METRIC_TASKS,
    CONTAINERV_METRIC_CPU_CONTEXT_SWITCHES_PER_SEC,
    CONTAINERV_METRIC_MAJOR_PAGE_FAULTS_PER_SEC,
    CONTAINERV_METRIC_IO_READ_BYTES_PER_SEC,
    CONTAINERV_METRIC_IO_WRITE_BYTES_PER_SEC,
    CONTAINERV_METRIC_NETWORK_RX_BYTES_PER_SEC,
    CONTAINERV_METRIC_NETWORK_TX_BYTES_PER_SEC,
    CONTAINERV_METRIC_MEMORY_CACHE_HITS_PER_SEC,
    CONTAINERV_METRIC_MEMORY_CACHE_MISSES_PER_SEC,
    CONTAINERV_METRIC_CPU_PRESSURE,
    CONTAINERV_METRIC_MEMORY_PRESSURE,
    CONTAINERV_METRIC_IO_PRESSURE,
    CONTAINERV_METRIC_COUNT
};
#define CONTAINERV_METRIC_BIT(m) (1ull << (m))

/* Where memory_cache_hits/misses come from. */
enum containerv_cache_source {
    CONTAINERV_CACHE_NONE = 0,     /* no source: both unavailable */
    CONTAINERV_CACHE_PERF_LLC = 1, /* hardware events on the cgroup: last-level cache
                                    * references - misses, and misses; counted since
                                    * the sampling began */
    CONTAINERV_CACHE_REFAULTS = 2, /* no hardware counters: misses are page-cache
                                    * refaults (memory.stat workingset_refault_file)
                                    * since the cgroup was made; hits unavailable */
};

/* Where cpu_context_switches comes from. */
enum containerv_switch_source {
    CONTAINERV_SWITCHES_NONE = 0,
    CONTAINERV_SWITCHES_PERF = 1,    /* a software perf event on the cgroup, per CPU: every
                                      * switch since the sampling began, exited tasks included */
    CONTAINERV_SWITCHES_THREADS = 2, /* per thread, the times it was switched in (/proc/<tid>/
                                      * schedstat; = voluntary + nonvoluntary switches, +-1),
                                      * summed over the threads alive at the sample (exited
                                      * ones drop out) */
};

enum containerv_metrics_flag {
    /* The container's init exited (or its cgroup vanished): this is the last
     * sample of the series; no other comes. */
    CONTAINERV_METRICS_ENDED = 1u << 0,
};

struct containerv_runtime_metrics {
    /* ---- the seed's fields (docs/metrics.md says where each is wrong in use) */
    uint64_t memory_cache_hits;          /* count (see cache_source) */
    uint64_t memory_cache_misses;        /* count (see cache_source) */
    uint64_t io_read_ops_per_sec;        /* block-layer read requests per second */
    uint64_t io_write_ops_per_sec;       /* block-layer write requests per second */
    uint64_t network_packets_per_sec;    /* received + sent, every interface of its netns */
    uint64_t cpu_context_switches;       /* count (see context_switch_source) */
    uint64_t page_faults_per_sec;        /* minor + major, per second */
    double cpu_utilization_percent;      /* 100 = one CPU busy the whole interval */
    double memory_utilization_percent;   /* memory_usage_bytes / memory_limit_bytes */

    /* ---- which of these fields hold a figure: CONTAINERV_METRIC_BIT(...) */
    uint64_t available;
    uint32_t flags;                 /* enum containerv_metrics_flag */
    uint32_t cgroup_version;        /* 1 (v1 or hybrid host) or 2 */
    uint32_t cache_source;          /* enum containerv_cache_source */
    uint32_t context_switch_source; /* enum containerv_switch_source */
    uint64_t sequence;              /* 1, 2, ... within a series (or the handle's calls) */
    uint64_t timestamp_ns;          /* CLOCK_MONOTONIC at the sample */
    int64_t timestamp_unix_ns;      /* CLOCK_REALTIME at the sample */
    uint64_t interval_ns;           /* what the rates are over: since the previous sample; 0 for
                                     * the first one, whose rates are unavailable */

    /* ---- raw counters (since the cgroup was made unless said otherwise) and levels */
    uint64_t cpu_usage_ns;
    uint64_t cpu_user_ns;
    uint64_t cpu_system_ns;
    uint64_t cpu_throttled_periods;   /* CFS periods in which the quota ran out */
    uint64_t cpu_throttled_ns;
    uint64_t memory_usage_bytes;      /* charged memory minus inactive file pages (docker's) */
    uint64_t memory_charged_bytes;    /* memory.current / memory.usage_in_bytes as is */
    uint64_t memory_limit_bytes;      /* the limit, or the host's memory when there is none */
    uint64_t page_faults;             /* minor + major */
    uint64_t major_page_faults;
    uint64_t io_read_ops;
    uint64_t io_write_ops;
    uint64_t io_read_bytes;
    uint64_t io_write_bytes;
    uint64_t network_rx_packets;      /* since the network namespace was made */
    uint64_t network_tx_packets;
    uint64_t network_rx_bytes;
    uint64_t network_tx_bytes;
    uint64_t tasks;                   /* processes and threads (pids.current) */

    /* ---- rates over interval_ns */
    double cpu_context_switches_per_sec;
    double major_page_faults_per_sec;
    double io_read_bytes_per_sec;
    double io_write_bytes_per_sec;
    double network_rx_bytes_per_sec;
    double network_tx_bytes_per_sec;
    double memory_cache_hits_per_sec;
    double memory_cache_misses_per_sec;

    /* ---- pressure stall information (cgroup v2): % of the last 10 s in which some
     * (or all: full) of the container's tasks waited for the resource, and the
     * total wait in µs */
    double cpu_pressure_some_avg10;
    double memory_pressure_some_avg10;
    double memory_pressure_full_avg10;
    double io_pressure_some_avg10;
    double io_pressure_full_avg10;
    uint64_t cpu_pressure_some_us;
    uint64_t memory_pressure_some_us;
    uint64_t memory_pressure_full_us;
    uint64_t io_pressure_some_us;
    uint64_t io_pressure_full_us;
};

/* True when the field of bit m holds a figure. */
static inline bool containerv_metric_available(const struct containerv_runtime_metrics *m,
                                               enum containerv_metric bit)
{
    return m && (m->available & CONTAINERV_METRIC_BIT(bit));
}

/* A description of each field with a bit (for printing and exporting):
 * its name (the struct's), unit, bit, offset and type. */
struct containerv_metric_field {
    const char *name;
    const char *unit; /* "count", "ns", "bytes", "percent", "per_second", "us", "tasks" */
    enum containerv_metric bit;
    size_t offset;    /* offsetof(struct containerv_runtime_metrics, name) */
    bool is_double;   /* double, else uint64_t */
    bool is_counter;  /* only grows (a Prometheus counter), else a level or a rate */
    const char *help; /* one line */
};
/* The table, in the struct's order; *n gets its length. */
CONTAINERV_API const struct containerv_metric_field *containerv_runtime_metric_fields(size_t *n);
/* A field's value as a double (0 when not available). */
CONTAINERV_API double containerv_metric_value(const struct containerv_runtime_metrics *m,
                                              const struct containerv_metric_field *f);

/* The latest figures of c. Monitored (below): the last sample of the series
 * (flags has CONTAINERV_METRICS_ENDED once it ended). Otherwise a sample is
 * taken now; its rates are over the time since the previous call on this
 * handle (unavailable on the first). The files it reads stay open in the
 * handle until it is released or destroyed. */
CONTAINERV_API int containerv_get_runtime_metrics(struct containerv_container *container,
                                                  struct containerv_runtime_metrics *metrics);
CONTAINERV_API int containerv_get_runtime_metrics_ex(struct containerv_container *container,
                                                     struct containerv_runtime_metrics *metrics,
                                                     struct containerv_error *err);

/* What a series samples (containerv_monitor_options.groups): each group is
 * the files its fields come from; a group left out costs nothing, and its
 * fields are unavailable. */
enum containerv_metric_group {
    CONTAINERV_GROUP_CPU = 1u << 0,       /* cpu_*: usage, user, system, throttling, utilization */
    CONTAINERV_GROUP_MEMORY = 1u << 1,    /* memory_usage/charged/limit/utilization, page faults */
    CONTAINERV_GROUP_IO = 1u << 2,        /* io_* */
    CONTAINERV_GROUP_NETWORK = 1u << 3,   /* network_* */
    CONTAINERV_GROUP_SWITCHES = 1u << 4,  /* cpu_context_switches* (and tasks) */
    CONTAINERV_GROUP_TASKS = 1u << 5,     /* tasks */
    CONTAINERV_GROUP_PRESSURE = 1u << 6,  /* *_pressure_* */
    CONTAINERV_GROUP_CACHE = 1u << 7,     /* memory_cache_* */
    CONTAINERV_GROUP_ALL = 0xff,
};

struct containerv_monitor_options {
    uint32_t interval_ms; /* between samples; default 1000, at least 10 */
    uint32_t history;     /* samples kept (oldest dropped first); default 60, at most 100000 */
    uint32_t groups;      /* a mask of enum containerv_metric_group; 0: all */
};
CONTAINERV_API void containerv_monitor_options_init(struct containerv_monitor_options *o);

/* Sample c in the background: one thread of the library samples every
 * monitored container at its interval (timerfd + epoll; the files stay
 * open). A first sample is taken before this returns. A container whose
 * init exits ends its series (CONTAINERV_METRICS_ENDED) and its files are
 * closed; the last sample and the history stay readable until stop or the
 * handle is freed. -EBUSY when c is monitored already, -ESRCH when its init
 * is gone. Works the same on a handle from containerv_attach. */
CONTAINERV_API int containerv_start_performance_monitoring(struct containerv_container *container);
CONTAINERV_API int containerv_start_performance_monitoring_ex(struct containerv_container *container,
                                                              const struct containerv_monitor_options *o,
                                                              struct containerv_error *err);
/* End c's series and free its history; the thread ends with the last
 * monitored container. Done for you when the handle is released or
 * destroyed. -ENOENT when c is not monitored. */
CONTAINERV_API int containerv_stop_performance_monitoring(struct containerv_container *container);

/* The series kept so far, oldest first: up to max samples into out, their
 * number in *n. -ENOENT when c is not monitored. */
CONTAINERV_API int containerv_get_runtime_metrics_history(struct containerv_container *container,
                                                          struct containerv_runtime_metrics *out,
                                                          size_t max, size_t *n,
                                                          struct containerv_error *err);

/* ---- the processes of a container (containerv top) */
struct containerv_process_info {
    pid_t pid;          /* in the container's pid namespace */
    pid_t host_pid;
    pid_t ppid;         /* in the container's pid namespace (0: outside it) */
    uid_t uid;          /* real, as the host sees it */
    gid_t gid;
    char state;         /* R, S, D, Z, ... */
    int threads;
    uint64_t cpu_ns;    /* user + system */
    uint64_t elapsed_ns; /* since it started */
    uint64_t rss_bytes;
    char comm[16];      /* the workload's choice: every byte but printable ASCII is '?' */
    char cmdline[256];  /* arguments joined by spaces (likewise), "[comm]" when empty */
};
/* Every process in c's cgroup, sorted by pid (*procs malloc'd; free with free()). */
CONTAINERV_API int containerv_list_processes(struct containerv_container *container,
                                             struct containerv_process_info **procs, size_t *n,
                                             struct containerv_error *err);

#ifdef __cplusplus
}
#endif
#endif
