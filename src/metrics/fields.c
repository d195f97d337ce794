/* The field table (for printing and exporting) and the rates between two
 * samples. */
#include "cvm.h"

#include <stddef.h>

#define F(field, unit, bit, dbl, counter, help)                                                    \
    {#field, unit, CONTAINERV_METRIC_##bit, offsetof(struct containerv_runtime_metrics, field), dbl, \
     counter, help}
#define U(field, unit, bit, counter, help) F(field, unit, bit, false, counter, help)
#define D(field, unit, bit, help) F(field, unit, bit, true, false, help)

static const struct containerv_metric_field fields[] = {
    U(memory_cache_hits, "count", MEMORY_CACHE_HITS, true, "CPU last-level cache hits (perf: references - misses)"),
    U(memory_cache_misses, "count", MEMORY_CACHE_MISSES, true,
      "last-level cache misses (perf), or page-cache refaults"),
    U(io_read_ops_per_sec, "per_second", IO_READ_OPS_PER_SEC, false, "block-layer read requests per second"),
    U(io_write_ops_per_sec, "per_second", IO_WRITE_OPS_PER_SEC, false, "block-layer write requests per second"),
    U(network_packets_per_sec, "per_second", NETWORK_PACKETS_PER_SEC, false,
      "packets received and sent per second, every interface of the container's network namespace"),
    U(cpu_context_switches, "count", CPU_CONTEXT_SWITCHES, false,
      "context switches (perf: since sampling began; threads: of the threads alive now)"),
    U(page_faults_per_sec, "per_second", PAGE_FAULTS_PER_SEC, false, "page faults (minor and major) per second"),
    D(cpu_utilization_percent, "percent", CPU_UTILIZATION_PERCENT, "CPU time over wall time, 100 = one CPU"),
    D(memory_utilization_percent, "percent", MEMORY_UTILIZATION_PERCENT, "memory usage over the limit"),
    U(cpu_usage_ns, "ns", CPU_USAGE_NS, true, "CPU time used"),
    U(cpu_user_ns, "ns", CPU_USER_NS, true, "CPU time in user mode"),
    U(cpu_system_ns, "ns", CPU_SYSTEM_NS, true, "CPU time in the kernel"),
    U(cpu_throttled_periods, "count", CPU_THROTTLED_PERIODS, true, "CFS periods throttled by the CPU quota"),
    U(cpu_throttled_ns, "ns", CPU_THROTTLED_NS, true, "time throttled by the CPU quota"),
    U(memory_usage_bytes, "bytes", MEMORY_USAGE_BYTES, false, "memory charged minus inactive file pages"),
    U(memory_charged_bytes, "bytes", MEMORY_CHARGED_BYTES, false, "memory charged to the cgroup, page cache included"),
    U(memory_limit_bytes, "bytes", MEMORY_LIMIT_BYTES, false, "the memory limit, or the host's memory"),
    U(page_faults, "count", PAGE_FAULTS, true, "page faults, minor and major"),
    U(major_page_faults, "count", MAJOR_PAGE_FAULTS, true, "major page faults (read from storage)"),
    U(io_read_ops, "count", IO_READ_OPS, true, "block-layer read requests"),
    U(io_write_ops, "count", IO_WRITE_OPS, true, "block-layer write requests"),
    U(io_read_bytes, "bytes", IO_READ_BYTES, true, "bytes read from block devices"),
    U(io_write_bytes, "bytes", IO_WRITE_BYTES, true, "bytes written to block devices"),
    U(network_rx_packets, "count", NETWORK_RX_PACKETS, true, "packets received"),
    U(network_tx_packets, "count", NETWORK_TX_PACKETS, true, "packets sent"),
    U(network_rx_bytes, "bytes", NETWORK_RX_BYTES, true, "bytes received"),
    U(network_tx_bytes, "bytes", NETWORK_TX_BYTES, true, "bytes sent"),
    U(tasks, "tasks", TASKS, false, "processes and threads"),
    D(cpu_context_switches_per_sec, "per_second", CPU_CONTEXT_SWITCHES_PER_SEC, "context switches per second"),
    D(major_page_faults_per_sec, "per_second", MAJOR_PAGE_FAULTS_PER_SEC, "major page faults per second"),
    D(io_read_bytes_per_sec, "per_second", IO_READ_BYTES_PER_SEC, "bytes read from block devices per second"),
    D(io_write_bytes_per_sec, "per_second", IO_WRITE_BYTES_PER_SEC, "bytes written to block devices per second"),
    D(network_rx_bytes_per_sec, "per_second", NETWORK_RX_BYTES_PER_SEC, "bytes received per second"),
    D(network_tx_bytes_per_sec, "per_second", NETWORK_TX_BYTES_PER_SEC, "bytes sent per second"),
    D(memory_cache_hits_per_sec, "per_second", MEMORY_CACHE_HITS_PER_SEC, "cache hits per second"),
    D(memory_cache_misses_per_sec, "per_second", MEMORY_CACHE_MISSES_PER_SEC, "cache misses per second"),
    D(cpu_pressure_some_avg10, "percent", CPU_PRESSURE, "share of the last 10 s some task waited for a CPU"),
    D(memory_pressure_some_avg10, "percent", MEMORY_PRESSURE, "share of the last 10 s some task waited for memory"),
    D(memory_pressure_full_avg10, "percent", MEMORY_PRESSURE, "share of the last 10 s all tasks waited for memory"),
    D(io_pressure_some_avg10, "percent", IO_PRESSURE, "share of the last 10 s some task waited for I/O"),
    D(io_pressure_full_avg10, "percent", IO_PRESSURE, "share of the last 10 s all tasks waited for I/O"),
    U(cpu_pressure_some_us, "us", CPU_PRESSURE, true, "total time some task waited for a CPU"),
    U(memory_pressure_some_us, "us", MEMORY_PRESSURE, true, "total time some task waited for memory"),
    U(memory_pressure_full_us, "us", MEMORY_PRESSURE, true, "total time all tasks waited for memory"),
    U(io_pressure_some_us, "us", IO_PRESSURE, true, "total time some task waited for I/O"),
    U(io_pressure_full_us, "us", IO_PRESSURE, true, "total time all tasks waited for I/O"),
};

const struct containerv_metric_field *containerv_runtime_metric_fields(size_t *n)
{
    if (n)
        *n = sizeof(fields) / sizeof(fields[0]);
    return fields;
}

double containerv_metric_value(const struct containerv_runtime_metrics *m, const struct containerv_metric_field *f)
{
    if (!m || !f || !containerv_metric_available(m, f->bit))
        return 0;
    const char *p = (const char *)m + f->offset;
    if (f->is_double) {
        double d;
        memcpy(&d, p, sizeof(d));
        return d;
    }
    uint64_t u;
    memcpy(&u, p, sizeof(u));
    return (double)u;
}

/* ------------------------------------------------------------ rates */

struct rate_ctx {
    const struct containerv_runtime_metrics *prev;
    struct containerv_runtime_metrics *cur;
    double secs;
};

/* (cur - prev) / secs into *out when both samples have every bit of need
 * and the counter did not go backwards (reset, or a new cgroup of the same
 * name): then the rate is left unavailable rather than made up. */
static bool rate(struct rate_ctx *r, uint64_t need, uint64_t before, uint64_t now, double *out)
{
    if ((r->prev->available & need) != need || (r->cur->available & need) != need || now < before)
        return false;
    *out = (double)(now - before) / r->secs;
    return true;
}

static void rate_u(struct rate_ctx *r, uint64_t need, uint64_t before, uint64_t now, uint64_t *out, uint64_t bit)
{
    double v;
    if (rate(r, need, before, now, &v)) {
        *out = (uint64_t)(v + 0.5); /* rounded (no libm) */
        r->cur->available |= bit;
    }
}

static void rate_d(struct rate_ctx *r, uint64_t need, uint64_t before, uint64_t now, double *out, uint64_t bit)
{
    if (rate(r, need, before, now, out))
        r->cur->available |= bit;
}

static void switch_rate(struct rate_ctx *r, const struct cvm_extra *x)
{
    struct containerv_runtime_metrics *c = r->cur;
    if (!(c->available & CVM_BIT(CPU_CONTEXT_SWITCHES)))
        return;
    if (c->context_switch_source == CONTAINERV_SWITCHES_THREADS) {
        if (x && x->switches_delta_ok) {
            c->cpu_context_switches_per_sec = (double)x->switches_delta / r->secs;
            c->available |= CVM_BIT(CPU_CONTEXT_SWITCHES_PER_SEC);
        }
    } else if (r->prev->context_switch_source == c->context_switch_source) {
        rate_d(r, CVM_BIT(CPU_CONTEXT_SWITCHES), r->prev->cpu_context_switches, c->cpu_context_switches,
               &c->cpu_context_switches_per_sec, CVM_BIT(CPU_CONTEXT_SWITCHES_PER_SEC));
    }
}

void cvm_rates(const struct containerv_runtime_metrics *prev, struct containerv_runtime_metrics *cur,
               const struct cvm_extra *x)
{
    cur->interval_ns = prev && cur->timestamp_ns > prev->timestamp_ns ? cur->timestamp_ns - prev->timestamp_ns : 0;
    if (!cur->interval_ns)
        return;
    struct rate_ctx r = {prev, cur, (double)cur->interval_ns / 1e9};
    const struct containerv_runtime_metrics *p = prev;
    struct containerv_runtime_metrics *c = cur;
    double cpu;
    if (rate(&r, CVM_BIT(CPU_USAGE_NS), p->cpu_usage_ns, c->cpu_usage_ns, &cpu)) {
        c->cpu_utilization_percent = cpu / 1e9 * 100.0; /* ns of CPU per s of wall time */
        c->available |= CVM_BIT(CPU_UTILIZATION_PERCENT);
    }
    rate_u(&r, CVM_BIT(IO_READ_OPS), p->io_read_ops, c->io_read_ops, &c->io_read_ops_per_sec,
           CVM_BIT(IO_READ_OPS_PER_SEC));
    rate_u(&r, CVM_BIT(IO_WRITE_OPS), p->io_write_ops, c->io_write_ops, &c->io_write_ops_per_sec,
           CVM_BIT(IO_WRITE_OPS_PER_SEC));
    rate_u(&r, CVM_BIT(NETWORK_RX_PACKETS) | CVM_BIT(NETWORK_TX_PACKETS),
           p->network_rx_packets + p->network_tx_packets, c->network_rx_packets + c->network_tx_packets,
           &c->network_packets_per_sec, CVM_BIT(NETWORK_PACKETS_PER_SEC));
    rate_u(&r, CVM_BIT(PAGE_FAULTS), p->page_faults, c->page_faults, &c->page_faults_per_sec,
           CVM_BIT(PAGE_FAULTS_PER_SEC));
    rate_d(&r, CVM_BIT(MAJOR_PAGE_FAULTS), p->major_page_faults, c->major_page_faults,
           &c->major_page_faults_per_sec, CVM_BIT(MAJOR_PAGE_FAULTS_PER_SEC));
    rate_d(&r, CVM_BIT(IO_READ_BYTES), p->io_read_bytes, c->io_read_bytes, &c->io_read_bytes_per_sec,
           CVM_BIT(IO_READ_BYTES_PER_SEC));
    rate_d(&r, CVM_BIT(IO_WRITE_BYTES), p->io_write_bytes, c->io_write_bytes, &c->io_write_bytes_per_sec,
           CVM_BIT(IO_WRITE_BYTES_PER_SEC));
    rate_d(&r, CVM_BIT(NETWORK_RX_BYTES), p->network_rx_bytes, c->network_rx_bytes, &c->network_rx_bytes_per_sec,
           CVM_BIT(NETWORK_RX_BYTES_PER_SEC));
    rate_d(&r, CVM_BIT(NETWORK_TX_BYTES), p->network_tx_bytes, c->network_tx_bytes, &c->network_tx_bytes_per_sec,
           CVM_BIT(NETWORK_TX_BYTES_PER_SEC));
    if (p->cache_source == c->cache_source) {
        rate_d(&r, CVM_BIT(MEMORY_CACHE_HITS), p->memory_cache_hits, c->memory_cache_hits,
               &c->memory_cache_hits_per_sec, CVM_BIT(MEMORY_CACHE_HITS_PER_SEC));
        rate_d(&r, CVM_BIT(MEMORY_CACHE_MISSES), p->memory_cache_misses, c->memory_cache_misses,
               &c->memory_cache_misses_per_sec, CVM_BIT(MEMORY_CACHE_MISSES_PER_SEC));
    }
    switch_rate(&r, x);
}
