/* `bench monitor`: what the runtime metrics cost (include/containerv/
 * metrics.h).
 *   sampling        N containers (each running sleep) monitored at once at an
 *                   interval, for D seconds: the sampling thread's CPU time
 *                   (CLOCK_THREAD_CPUTIME_ID, counted by the thread around its
 *                   samples) per container per sample; every group of figures,
 *   sampling-stats  then those `podman stats` shows (CPU, memory, network, block
 *                   I/O, pids),
 *   sampling-cpu-mem then CPU and memory only;
 *   oneshot         the caller's CPU time per containerv_get_runtime_metrics of
 *                   an unmonitored handle whose files are open (the second call on);
 *   cold,           create, spawn /bin/true, wait, destroy, interleaved with the
 *   cold-monitored  same plus containerv_start_performance_monitoring after
 *                   create (the files opened and a first sample taken): the
 *                   start-up of a monitored container against an unmonitored one.
 * The figures are reported, never asserted (docs/benchmarks.md). */
#include "bench.h"

#include "../metrics/cvm.h"

#include <time.h>

static uint64_t thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct fleet {
    struct containerv_container **c;
    int n;
};

static void fleet_free(struct fleet *f)
{
    for (int i = 0; i < f->n; i++) {
        struct containerv_error e;
        containerv_destroy(f->c[i], &e);
    }
    containerv_teardown_wait(NULL);
    free(f->c);
    f->c = NULL;
    f->n = 0;
}

static int fleet_make(struct cvb *b, struct fleet *f, int want, char *why, size_t size)
{
    static const char *const argv[] = {"/bin/sleep", "1000000", NULL};
    struct containerv_options *o = cvb_cold_options(b);
    f->c = calloc((size_t)want, sizeof(*f->c));
    if (!o || !f->c) {
        containerv_options_free(o);
        snprintf(why, size, "out of memory");
        return -ENOMEM;
    }
    int r = 0;
    while (r == 0 && f->n < want && !cvb_cancelled(b)) {
        struct containerv_error e;
        char id[64];
        pid_t pid;
        cvb_name(b, id, sizeof(id));
        r = containerv_create(id, o, &f->c[f->n], &e);
        if (r == 0)
            r = containerv_spawn(f->c[f->n++], argv, NULL, &pid, &e); /* fleet_free frees it either way */
        if (r == 0)
            cvb_progress(b, "monitor", 1);
        if (r < 0)
            snprintf(why, size, "%s", e.message);
    }
    containerv_options_free(o);
    return r;
}

static void nap(struct cvb *b, int seconds)
{
    for (int i = 0; i < seconds * 10 && !cvb_cancelled(b); i++) {
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
        if (i % 10 == 9)
            cvb_progress(b, "monitor", 1);
    }
}

/* The sets of groups sampled, one after the other, on the same fleet:
 * everything; what `podman stats` shows; CPU and memory only. */
static const struct {
    const char *name;
    uint32_t groups;
} sets[] = {
    {"sampling", CONTAINERV_GROUP_ALL},
    {"sampling-stats", CONTAINERV_GROUP_CPU | CONTAINERV_GROUP_MEMORY | CONTAINERV_GROUP_NETWORK |
                           CONTAINERV_GROUP_IO | CONTAINERV_GROUP_TASKS},
    {"sampling-cpu-mem", CONTAINERV_GROUP_CPU | CONTAINERV_GROUP_MEMORY},
};
#define N_SETS (sizeof(sets) / sizeof(sets[0]))

/* one set: every container monitored with its groups for duration_s */
static int sample_set(struct cvb *b, struct fleet *f, uint32_t groups, struct containerv_bench_result *s,
                      char *why, size_t size)
{
    struct containerv_monitor_options mo;
    containerv_monitor_options_init(&mo);
    mo.interval_ms = (uint32_t)b->conf.monitor_interval_ms;
    mo.history = 8;
    mo.groups = groups;
    int r = 0;
    for (int i = 0; r == 0 && i < f->n; i++) {
        struct containerv_error e;
        if ((r = containerv_start_performance_monitoring_ex(f->c[i], &mo, &e)) < 0)
            snprintf(why, size, "%s", e.message);
    }
    uint64_t n0 = 0, c0 = 0, n1 = 0, c1 = 0;
    cvm_monitor_stats(&n0, &c0);
    if (r == 0)
        nap(b, b->conf.duration_s);
    cvm_monitor_stats(&n1, &c1);
    for (int i = 0; i < f->n; i++)
        containerv_stop_performance_monitoring(f->c[i]);
    s->monitored = f->n;
    s->samples_taken = n1 - n0;
    s->sample_cpu_us = n1 > n0 ? (double)(c1 - c0) / 1e3 / (double)(n1 - n0) : 0;
    return r;
}

/* the sets, then oneshot, on one fleet */
static int sampling(struct cvb *b, struct containerv_bench_result **s, struct containerv_bench_result *o)
{
    struct fleet f = {0};
    char why[300] = "";
    int r = fleet_make(b, &f, b->conf.monitored, why, sizeof(why));
    for (size_t k = 0; r == 0 && k < N_SETS && !cvb_cancelled(b); k++)
        r = sample_set(b, &f, sets[k].groups, s[k], why, sizeof(why));
    /* oneshot: a first call opens the files, the next ones are measured */
    struct containerv_runtime_metrics m;
    uint64_t calls = 0, t0 = 0;
    for (int round = 0; r == 0 && round < 6 && !cvb_cancelled(b); round++) {
        if (round == 1)
            t0 = thread_cpu_ns();
        for (int i = 0; r == 0 && i < f.n; i++) {
            struct containerv_error e;
            if ((r = containerv_get_runtime_metrics_ex(f.c[i], &m, &e)) < 0)
                snprintf(why, sizeof(why), "%s", e.message);
            calls += round > 0;
        }
    }
    uint64_t spent = calls ? thread_cpu_ns() - t0 : 0;
    fleet_free(&f);
    if (r < 0) {
        for (size_t k = 0; k < N_SETS; k++)
            snprintf(s[k]->skipped, sizeof(s[k]->skipped), "%s", why);
        snprintf(o->skipped, sizeof(o->skipped), "%s", why);
        return 0;
    }
    o->monitored = b->conf.monitored;
    o->samples_taken = calls;
    o->sample_cpu_us = calls ? (double)spent / 1e3 / (double)calls : 0;
    return 0;
}

/* one cold run, monitored or not: its time (create to destroy's return) */
static int cold_once(struct cvb *b, struct containerv_options *o, bool monitored, uint64_t *ns,
                     uint64_t *start_ns, char *why, size_t size)
{
    static const char *const argv[] = {"/bin/true", NULL};
    struct containerv_container *c = NULL;
    struct containerv_error e, de;
    char id[64];
    pid_t pid;
    int code = -1;
    cvb_name(b, id, sizeof(id));
    uint64_t t0 = cv_now_ns(), t1 = t0;
    int r = containerv_create(id, o, &c, &e);
    if (r == 0 && monitored) {
        t1 = cv_now_ns();
        r = containerv_start_performance_monitoring_ex(c, NULL, &e);
        *start_ns = cv_now_ns() - t1;
    }
    if (r == 0 && (r = containerv_spawn(c, argv, NULL, &pid, &e)) == 0)
        r = containerv_wait(c, pid, &code, &e);
    int q = c ? containerv_destroy(c, &de) : 0;
    *ns = cv_now_ns() - t0;
    if (q == 0)
        q = containerv_teardown_wait(&de); /* outside the timed region */
    if (r == 0 && q < 0)
        r = q, e = de;
    if (r == 0 && code != 0)
        r = cv_error_plain(&e, EIO, "wait", "/bin/true exited with %d", code);
    if (r < 0)
        snprintf(why, size, "%s", e.message);
    return r;
}

static int cold_pair(struct cvb *b, struct containerv_bench_result *res[2])
{
    int warm = b->conf.warmup, total = warm + b->conf.iterations;
    struct containerv_options *o = cvb_cold_options(b);
    uint64_t start_sum = 0;
    char why[300] = "";
    int r = o ? 0 : -ENOMEM;
    for (int k = 0; k < 2; k++) {
        res[k]->samples_ns = calloc((size_t)b->conf.iterations, sizeof(uint64_t));
        if (!res[k]->samples_ns)
            r = -ENOMEM;
    }
    if (r < 0) {
        containerv_options_free(o);
        return cv_error(b->err, ENOMEM, "bench.monitor", "allocating");
    }
    for (int it = 0; r == 0 && it < total && !cvb_cancelled(b); it++) {
        for (int j = 0; r == 0 && j < 2; j++) {
            int k = (it + j) % 2; /* alternate which comes first */
            uint64_t ns = 0, st = 0;
            r = cold_once(b, o, k == 1, &ns, &st, why, sizeof(why));
            if (r == 0 && it >= warm) {
                res[k]->samples_ns[res[k]->n_samples++] = ns;
                start_sum += st;
            }
        }
        cvb_progress(b, "monitor", 1);
    }
    containerv_options_free(o);
    if (r < 0) {
        for (int k = 0; k < 2; k++) {
            snprintf(res[k]->skipped, sizeof(res[k]->skipped), "%s", why);
            res[k]->n_samples = 0;
        }
        return 0;
    }
    for (int k = 0; k < 2; k++) {
        if (cvb_stats(res[k]) < 0)
            return cv_error(b->err, ENOMEM, "bench.monitor", "sorting samples");
    }
    if (res[1]->n_samples)
        res[1]->monitor_start_us = (double)start_sum / 1e3 / (double)res[1]->n_samples;
    return 0;
}

int cvb_monitor(struct cvb *b)
{
    enum { N_RES = N_SETS + 3 };
    const char *names[N_RES];
    struct containerv_bench_result *res[N_RES];
    for (size_t k = 0; k < N_SETS; k++)
        names[k] = sets[k].name;
    names[N_SETS] = "oneshot", names[N_SETS + 1] = "cold", names[N_SETS + 2] = "cold-monitored";
    b->rep->containers = b->conf.monitored;
    b->rep->duration_s = b->conf.duration_s;
    b->rep->monitor_interval_ms = b->conf.monitor_interval_ms;
    b->rep->iterations = b->conf.iterations;
    b->rep->warmup = b->conf.warmup;
    b->total = (uint64_t)b->conf.monitored + N_SETS * (uint64_t)b->conf.duration_s +
               (uint64_t)(b->conf.iterations + b->conf.warmup);
    for (int i = 0; i < N_RES; i++) {
        if (!cvb_add_result(b, names[i]))
            return cv_error(b->err, ENOMEM, "bench.monitor", "allocating results");
    }
    for (int i = 0; i < N_RES; i++)
        res[i] = &b->rep->results[b->rep->n_results - N_RES + i];
    int r = sampling(b, res, res[N_SETS]);
    if (r == 0 && !cvb_cancelled(b))
        r = cold_pair(b, res + N_SETS + 1);
    if (r < 0 || cvb_cancelled(b))
        return r;
    for (size_t k = 0; k < N_SETS; k++) {
        char name[96];
        snprintf(name, sizeof(name), "%s: CPU per container per sample <= 10 us", sets[k].name);
        if (!res[k]->skipped[0] && res[k]->samples_taken &&
            cvb_add_target(b, name, res[k]->sample_cpu_us, 10.0) < 0)
            return cv_error(b->err, ENOMEM, "bench.monitor", "allocating targets");
    }
    struct containerv_bench_result *cold = res[N_SETS + 1], *mon = res[N_SETS + 2];
    if (cold->n_samples && mon->n_samples && cold->p50_us > 0) {
        double ratio = mon->p50_us / cold->p50_us;
        if (cvb_add_ratio(b, "cold-monitored/cold", ratio) < 0 ||
            cvb_add_target(b, "cold-monitored p50 <= 1.05 x cold p50", ratio, 1.05) < 0)
            return cv_error(b->err, ENOMEM, "bench.monitor", "allocating ratios");
    }
    return 0;
}
