/* Reports as JSON; the schema is in docs/benchmarks.md (the keys of the
 * issue are kept stable, others may be added). */
#include "bench.h"

#include <jansson.h>

#define US(x) json_real(cvb_round((x), 1))

static int set(json_t *o, const char *key, json_t *v)
{
    return json_object_set_new(o, key, v);
}

static json_t *phases_json(const struct containerv_startup_metrics *p)
{
    return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o}", "layer_mount", US(p->layer_mount_ns / 1e3),
                     "namespace_setup", US(p->namespace_setup_ns / 1e3), "security_setup",
                     US(p->security_setup_ns / 1e3), "network_setup", US(p->network_setup_ns / 1e3),
                     "resource_alloc", US(p->resource_alloc_ns / 1e3), "first_process",
                     US(p->first_process_ns / 1e3));
}

/* cold only: where the time of create went, and the calls of a run */
static int cold_extra(json_t *o, const struct containerv_bench_result *r)
{
    const struct containerv_startup_metrics *p = &r->phases;
    double sum = (double)(p->layer_mount_ns + p->namespace_setup_ns + p->security_setup_ns +
                          p->network_setup_ns + p->resource_alloc_ns) / 1e3;
    double total = (double)p->total_startup_ns / 1e3;
    int e = set(o, "phases_us", phases_json(p));
    e |= set(o, "create_total_us", US(total));
    e |= set(o, "phase_sum_us", US(sum));
    e |= set(o, "phase_coverage", json_real(cvb_round(total > 0 ? sum / total : 0, 3)));
    e |= set(o, "stages_us", json_pack("{s:o, s:o, s:o, s:o}", "create", US(r->create_us), "spawn_wait",
                                       US(r->spawn_wait_us), "destroy", US(r->destroy_us),
                                       "teardown_background", US(r->teardown_us)));
    return e;
}

/* pooled: how the pool took its containers back */
static int pool_extra(json_t *o, const struct containerv_bench_result *r)
{
    if (!r->has_pool)
        return 0;
    return set(o, "pool", json_pack("{s:I, s:I, s:o}", "resets", (json_int_t)r->pool_resets, "replaces",
                                    (json_int_t)r->pool_replaces, "mean_reset_us", US(r->pool_reset_us)));
}

static json_t *startup_mode(const struct containerv_bench_result *r)
{
    json_t *o = json_pack("{s:s}", "name", r->name);
    if (!o || r->skipped[0] || !r->n_samples) {
        if (o && set(o, "skipped", json_string(r->skipped[0] ? r->skipped : "cancelled")) < 0) {
            json_decref(o);
            o = NULL;
        }
        return o;
    }
    int e = set(o, "p50_us", US(r->p50_us)) | set(o, "p90_us", US(r->p90_us)) |
            set(o, "p99_us", US(r->p99_us)) | set(o, "mean_us", US(r->mean_us)) |
            set(o, "min_us", US(r->min_us)) | set(o, "max_us", US(r->max_us)) |
            set(o, "samples", json_integer((json_int_t)r->n_samples));
    if (r->has_phases)
        e |= cold_extra(o, r);
    e |= pool_extra(o, r);
    json_t *s = json_array();
    for (size_t i = 0; s && i < r->n_samples; i++)
        e |= json_array_append_new(s, US(r->samples_ns[i] / 1e3));
    e |= set(o, "samples_us", s);
    if (e) {
        json_decref(o);
        o = NULL;
    }
    return o;
}

static json_t *value_mode(const struct containerv_bench_report *rep, const struct containerv_bench_result *r)
{
    json_t *o = json_pack("{s:s}", "name", r->name);
    int e = 0;
    if (!o || r->skipped[0]) {
        if (o && set(o, "skipped", json_string(r->skipped)) < 0) {
            json_decref(o);
            o = NULL;
        }
        return o;
    }
    switch (rep->kind) {
    case CONTAINERV_BENCH_MONITOR:
        e |= set(o, "cpu_us_per_sample", json_real(cvb_round(r->sample_cpu_us, 3)));
        e |= set(o, "samples", json_integer((json_int_t)r->samples_taken));
        e |= set(o, "containers", json_integer(r->monitored));
        break;
    case CONTAINERV_BENCH_THROUGHPUT:
        e |= set(o, "containers_per_s", json_real(cvb_round(r->containers_per_s, 2)));
        e |= set(o, "completed", json_integer((json_int_t)r->completed));
        e |= pool_extra(o, r);
        break;
    case CONTAINERV_BENCH_MEMORY:
        e |= set(o, "bytes_per_container", json_integer((json_int_t)r->bytes_per_container));
        e |= set(o, "pss_bytes_per_container", json_integer((json_int_t)r->pss_bytes_per_container));
        e |= set(o, "kernel_bytes_per_container", json_integer((json_int_t)r->kernel_bytes_per_container));
        break;
    default:
        e |= set(o, "seq_read_mbps", json_real(cvb_round(r->seq_read_mbps, 1)));
        e |= set(o, "seq_write_mbps", json_real(cvb_round(r->seq_write_mbps, 1)));
        e |= set(o, "rand_read_mbps", json_real(cvb_round(r->rand_read_mbps, 1)));
        e |= set(o, "rand_write_mbps", json_real(cvb_round(r->rand_write_mbps, 1)));
        break;
    }
    if (e) {
        json_decref(o);
        o = NULL;
    }
    return o;
}

static int header(json_t *o, const struct containerv_bench_report *r)
{
    int e = set(o, "benchmark", json_string(containerv_bench_kind_name(r->kind)));
    switch (r->kind) {
    case CONTAINERV_BENCH_STARTUP:
        if (r->caller_heap)
            e |= set(o, "caller_heap_bytes", json_integer((json_int_t)r->caller_heap));
        /* fall through */
    case CONTAINERV_BENCH_SECCOMP:
        e |= set(o, "iterations", json_integer(r->iterations));
        e |= set(o, "warmup", json_integer(r->warmup));
        break;
    case CONTAINERV_BENCH_THROUGHPUT:
        e |= set(o, "concurrency", json_integer(r->concurrency));
        e |= set(o, "duration_s", json_integer(r->duration_s));
        break;
    case CONTAINERV_BENCH_MEMORY: e |= set(o, "containers", json_integer(r->containers)); break;
    case CONTAINERV_BENCH_MONITOR:
        e |= set(o, "containers", json_integer(r->containers));
        e |= set(o, "interval_ms", json_integer(r->monitor_interval_ms));
        e |= set(o, "duration_s", json_integer(r->duration_s));
        e |= set(o, "iterations", json_integer(r->iterations));
        e |= set(o, "warmup", json_integer(r->warmup));
        break;
    case CONTAINERV_BENCH_IO:
        e |= set(o, "bytes", json_integer((json_int_t)r->io_bytes));
        e |= set(o, "container_fs", json_string(r->container_fs));
        e |= set(o, "host_fs", json_string(r->host_fs));
        break;
    }
    e |= set(o, "rootfs", json_string(r->rootfs));
    e |= set(o, "environment", json_string(r->environment));
    return e;
}

static json_t *report_json(const struct containerv_bench_report *r)
{
    json_t *o = json_object(), *modes = json_array(), *ratios = json_object(), *targets = json_array();
    int e = !o || !modes || !ratios || !targets || header(o, r);
    for (size_t i = 0; !e && i < r->n_results; i++) {
        const struct containerv_bench_result *m = &r->results[i];
        bool timed = r->kind == CONTAINERV_BENCH_STARTUP || r->kind == CONTAINERV_BENCH_SECCOMP ||
                     (r->kind == CONTAINERV_BENCH_MONITOR && m->samples_ns);
        json_t *mj = timed ? startup_mode(m) : value_mode(r, m);
        if (mj && m->monitor_start_us > 0)
            e |= set(mj, "monitor_start_us", US(m->monitor_start_us));
        e |= json_array_append_new(modes, mj);
    }
    for (size_t i = 0; !e && i < r->n_ratios; i++)
        e |= set(ratios, r->ratios[i].name, json_real(cvb_round(r->ratios[i].value, 3)));
    for (size_t i = 0; !e && i < r->n_targets; i++)
        e |= json_array_append_new(targets, json_pack("{s:s, s:f, s:f, s:b}", "name", r->targets[i].name,
                                                      "value", cvb_round(r->targets[i].value, 3), "limit",
                                                      r->targets[i].limit, "holds", r->targets[i].holds));
    if (!e) {
        e |= set(o, "modes", modes);
        e |= set(o, "ratios", ratios);
        if (r->n_targets)
            e |= set(o, "targets", targets);
        else
            json_decref(targets);
        if (!e)
            return o;
        json_decref(o);
        return NULL;
    }
    json_decref(o);
    json_decref(modes);
    json_decref(ratios);
    json_decref(targets);
    return NULL;
}

char *containerv_bench_json(const struct containerv_bench_report *const *reports, size_t n)
{
    json_t *root = NULL;
    if (!reports || n == 0) {
        errno = EINVAL;
        return NULL;
    }
    if (n == 1) {
        root = report_json(reports[0]);
    } else {
        json_t *all = json_array();
        for (size_t i = 0; all && i < n; i++)
            if (json_array_append_new(all, report_json(reports[i])) < 0) {
                json_decref(all);
                all = NULL;
            }
        root = all ? json_pack("{s:s, s:o}", "benchmark", "all", "results", all) : NULL;
    }
    char *s = root ? json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12))
                   : NULL;
    json_decref(root);
    if (!s)
        errno = ENOMEM;
    return s;
}
