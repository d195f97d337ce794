/* `bench throughput`: containers run to completion per second with C
 * workers, each a create/spawn/wait/destroy loop (or `crun run` loop, or a
 * pool get/spawn/wait/return loop), for S seconds, beside the floors: the
 * same workers only forking and executing /bin/true, no isolation (floor),
 * or cloning it into the default namespaces first (floor-ns: what the
 * kernel's namespaces cost alone, the floor of a cold container). The rate
 * is completed runs over the wall time from the start to the end of the
 * last run (a run started before the deadline is finished and counted) and
 * of the runs' background teardowns. Each mode runs in one-second slices,
 * the modes interleaved round after round in a random order. */
#include "bench.h"

#include <containerv/pool.h>

struct tp_mode {
    struct cvb *b;
    struct containerv_bench_result *res;
    bool crun;
    bool floor, floor_ns;
    struct containerv_options *opts;
    struct containerv_pool *pool; /* the pooled mode */
    uint64_t start, deadline;
    uint64_t progress_base; /* ms of the slices before this one */
    uint64_t completed; /* atomic */
    uint64_t wall_ns;   /* the slices' wall time */
    bool active;
    pthread_mutex_t lock;
    char failure[256];
};

static int once_cold(struct tp_mode *t, char *why, size_t n)
{
    static const char *const argv[] = {"/bin/true", NULL};
    struct containerv_container *c = NULL;
    struct containerv_error e, de;
    char id[64];
    pid_t pid;
    int code = 0;
    cvb_name(t->b, id, sizeof(id));
    int r = containerv_create(id, t->opts, &c, &e);
    if (r == 0 && (r = containerv_spawn(c, argv, NULL, &pid, &e)) == 0)
        r = containerv_wait(c, pid, &code, &e);
    int q = c ? containerv_destroy(c, &de) : 0;
    if (r == 0 && q < 0)
        e = de, r = q;
    if (r == 0 && code != 0)
        r = cv_error_plain(&e, EIO, "wait", "/bin/true exited with %d", code);
    if (r < 0)
        snprintf(why, n, "%s", e.message);
    return r;
}

static int once_crun(struct tp_mode *t, char *why, size_t n)
{
    struct cvb_argv a;
    cvb_argv_crun(t->b, &t->b->crun, t->b->bundle_true, false, NULL, &a);
    /* stderr of concurrent runs share the memfd: the reason may be mixed */
    struct cvb_cmd c = {.path = a.v[0], .argv = a.v, .quiet = true};
    uint64_t ns;
    int r = cvb_run(t->b, &c, &ns, why, n);
    cvb_peer_cleanup(t->b, &t->b->crun, a.name, r < 0);
    return r;
}

static int once_floor(struct tp_mode *t, char *why, size_t n)
{
    char *argv[] = {(char *)"true", NULL};
    struct cvb_cmd c = {.path = t->b->true_path, .argv = argv, .ns_flags = t->floor_ns ? CVB_NS_FLAGS_DEFAULT : 0};
    uint64_t ns;
    return cvb_run(t->b, &c, &ns, why, n);
}

static void *worker(void *p)
{
    struct tp_mode *t = p;
    uint64_t last_ms = 0;
    while (cv_now_ns() < t->deadline && !cvb_cancelled(t->b)) {
        char why[300];
        int r = t->crun    ? once_crun(t, why, sizeof(why))
                : t->floor ? once_floor(t, why, sizeof(why))
                : t->pool  ? cvb_pool_run(t->pool, why, sizeof(why))
                           : once_cold(t, why, sizeof(why));
        pthread_mutex_lock(&t->lock);
        bool stop = t->failure[0] != '\0';
        if (r < 0 && !stop)
            snprintf(t->failure, sizeof(t->failure), "%s", why);
        pthread_mutex_unlock(&t->lock);
        if (r < 0 || stop)
            break;
        __atomic_add_fetch(&t->completed, 1, __ATOMIC_RELAXED);
        /* progress: milliseconds of the mode's duration */
        uint64_t ms = (cv_now_ns() - t->start) / 1000000;
        if (ms > last_ms) {
            cvb_progress_at(t->b, "throughput", t->progress_base + ms);
            last_ms = ms;
        }
    }
    return NULL;
}

/* One slice of a mode: its workers for slice_s seconds; the completed runs
 * and the wall time (to the end of the last run and of the background
 * teardowns of those runs) add to the mode's totals. */
static int run_slice(struct cvb *b, struct tp_mode *t, int slice_s)
{
    int nw = b->conf.concurrency, started = 0, r = 0;
    pthread_t *th = calloc((size_t)nw, sizeof(*th));
    if (!th)
        return cv_error(b->err, ENOMEM, "bench.throughput", "allocating workers");
    uint64_t t0 = t->start = cv_now_ns();
    t->deadline = t0 + (uint64_t)slice_s * 1000000000ull;
    for (; started < nw; started++) {
        if ((r = pthread_create(&th[started], NULL, worker, t)) != 0) {
            r = cv_error(b->err, r, "bench.throughput", "starting worker %d", started);
            break;
        }
    }
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    /* the runs' background teardowns belong to the measured work */
    struct containerv_error te;
    if (containerv_teardown_wait(&te) < 0 && !t->failure[0])
        snprintf(t->failure, sizeof(t->failure), "%s", te.message);
    t->wall_ns += cv_now_ns() - t0;
    t->progress_base += (uint64_t)slice_s * 1000;
    free(th);
    return r;
}

static const char *const tp_names[] = {"cold", "crun", "pooled", "floor", "floor-ns"};
#define TP_MODES 5

/* Mode i (of tp_names): its result, options or pool; 0, or an error that
 * stops the benchmark (a mode that cannot run is skipped with the reason). */
static int open_mode(struct cvb *b, int i, struct tp_mode *t)
{
    *t = (struct tp_mode){.b = b, .crun = i == 1, .floor = i == 3 || i == 4, .floor_ns = i == 4};
    pthread_mutex_init(&t->lock, NULL);
    struct containerv_error pe;
    t->res = (struct containerv_bench_result *)containerv_bench_find(b->rep, tp_names[i]);
    t->active = true;
    if (t->crun && !b->crun.path[0]) {
        snprintf(t->res->skipped, sizeof(t->res->skipped), "crun is not installed (not found in PATH)");
        t->active = false;
    } else if (i == 2 && cvb_pool_open(b, 2 * b->conf.concurrency, &t->pool, &pe) < 0) {
        snprintf(t->res->skipped, sizeof(t->res->skipped), "pool: %s", pe.message);
        t->active = false;
    } else if (i == 0 && !(t->opts = cvb_cold_options(b))) {
        return cv_error(b->err, ENOMEM, "bench.throughput", "allocating options");
    }
    return 0;
}

static int close_mode(struct cvb *b, struct tp_mode *t, int r)
{
    if (!t->res)
        return r;
    if (t->active || t->failure[0]) {
        double secs = (double)t->wall_ns / 1e9;
        t->res->completed = t->completed;
        t->res->containers_per_s = secs > 0 ? (double)t->completed / secs : 0;
        if (t->failure[0])
            snprintf(t->res->skipped, sizeof(t->res->skipped), "a run failed: %s", t->failure);
    }
    struct containerv_error pe;
    if (t->pool)
        cvb_pool_figures(t->pool, t->res);
    containerv_options_free(t->opts);
    if (t->pool && containerv_pool_destroy(t->pool, &pe) < 0 && r == 0)
        r = cv_error_plain(b->err, pe.code, "bench.pool", "%s", pe.message);
    pthread_mutex_destroy(&t->lock);
    return r;
}

/* The ratio x/y of the rates; with target, the "x >= k * y" as a
 * target y/x <= 1/k (targets are "value <= limit"). */
static int tp_ratio(struct cvb *b, const char *x, const char *y, const char *name, const char *target,
                    double at_least)
{
    const struct containerv_bench_result *c = containerv_bench_find(b->rep, x);
    const struct containerv_bench_result *p = containerv_bench_find(b->rep, y);
    if (!c || !p || c->skipped[0] || p->skipped[0] || p->containers_per_s <= 0 || c->containers_per_s <= 0)
        return 0;
    double v = c->containers_per_s / p->containers_per_s;
    if (cvb_add_ratio(b, name, v) < 0 || (target && cvb_add_target(b, target, 1 / v, 1 / at_least) < 0))
        return cv_error(b->err, ENOMEM, "bench.throughput", "allocating ratios");
    return 0;
}

int cvb_throughput(struct cvb *b)
{
    b->rep->concurrency = b->conf.concurrency;
    b->rep->duration_s = b->conf.duration_s;
    /* floor, floor-ns, cold, crun (with peers), pooled: each gets
     * duration_s one-second slices, the modes interleaved in a fresh random
     * order per round, so that the machine's drift (and what one mode leaves
     * the kernel to clean up) falls on all of them alike */
    int ids[TP_MODES] = {3, 4, 0, 1, 2}, n = 0;
    struct tp_mode modes[TP_MODES];
    int r = 0;
    /* every result first: adding one moves the array */
    for (int k = 0; k < TP_MODES && r == 0; k++)
        if ((ids[k] != 1 || b->conf.peers) && !cvb_add_result(b, tp_names[ids[k]]))
            r = cv_error(b->err, ENOMEM, "bench.throughput", "allocating results");
    for (int k = 0; k < TP_MODES && r == 0; k++) {
        if (ids[k] == 1 && !b->conf.peers)
            continue;
        r = open_mode(b, ids[k], &modes[n++]);
    }
    int active = 0;
    for (int k = 0; k < n; k++)
        active += modes[k].active;
    b->total = (uint64_t)active * (uint64_t)b->conf.duration_s * 1000;
    uint64_t seed = 0x9e3779b97f4a7c15ull, done_ms = 0;
    size_t order[TP_MODES];
    for (int round = 0; r == 0 && round < b->conf.duration_s && !cvb_cancelled(b); round++) {
        cvb_shuffle(order, (size_t)n, &seed);
        for (int k = 0; k < n && r == 0 && !cvb_cancelled(b); k++) {
            struct tp_mode *t = &modes[order[k]];
            if (!t->active)
                continue;
            t->progress_base = done_ms;
            r = run_slice(b, t, 1);
            done_ms += 1000;
            if (t->failure[0])
                t->active = false;
        }
    }
    for (int k = 0; k < n; k++)
        r = close_mode(b, &modes[k], r);
    if (r == 0)
        r = tp_ratio(b, "cold", "crun", "cold/crun", NULL, 0);
    if (r == 0)
        r = tp_ratio(b, "pooled", "cold", "pooled/cold", "cold/pooled <= 0.2 (pooled >= 5 x cold)", 5);
    if (r == 0)
        r = tp_ratio(b, "pooled", "floor", "pooled/floor", "floor/pooled <= 1.053 (pooled >= 0.95 x floor)",
                     0.95);
    if (r == 0)
        r = tp_ratio(b, "cold", "floor", "cold/floor", NULL, 0);
    if (r == 0)
        r = tp_ratio(b, "cold", "floor-ns", "cold/floor-ns",
                     "floor-ns/cold <= 2.0 (cold >= 0.5 x floor-ns)", 0.5);
    if (r == 0)
        r = tp_ratio(b, "floor-ns", "floor", "floor-ns/floor", NULL, 0);
    return r;
}
