/* `bench memory`: what an idle container costs. N containers each run
 * `sleep`; the cost is the drop of MemAvailable (/proc/meminfo) between just
 * before the first and just after the last, divided by N (kernel memory
 * included: namespaces, mounts, cgroups, page tables), and the sum of the
 * PSS (/proc/PID/smaps_rollup) of the containers' processes, divided by N;
 * and the growth of the kernel's own memory (Slab, KernelStack, PageTables,
 * Percpu), divided by N. MemAvailable is system-wide: other activity on the
 * machine (and page reclaim) is noise; PSS + kernel is the steadier sum.
 *
 * The pooled mode measures the same for N warm containers of a pool
 * (containerv_pool_create_ex on a temporary template of the benchmark's
 * rootfs, as the pooled startup mode makes it): idle inits, no workload. */
#include "bench.h"

#include <containerv/pool.h>

#include <fcntl.h>
#include <time.h>

struct held {
    struct containerv_container *c; /* cold */
    char name[64];                   /* crun */
    pid_t pids[2];                   /* processes whose PSS counts */
};

struct mem_mode {
    struct cvb *b;
    struct containerv_bench_result *res;
    struct held *held;
    int n;
    bool crun;
};

/* The /proc/meminfo fields the benchmark reads, in KiB. */
struct meminfo {
    int64_t available;
    int64_t kernel; /* Slab + KernelStack + PageTables + Percpu */
};

static int64_t field_kb(const char *buf, const char *key)
{
    const char *p = strstr(buf, key);
    return p ? strtoll(p + strlen(key), NULL, 10) : -1;
}

static int read_meminfo(struct meminfo *m);

int64_t cvb_mem_available_kb(void)
{
    struct meminfo m;
    int r = read_meminfo(&m);
    return r < 0 ? r : m.available;
}

static int read_meminfo(struct meminfo *m)
{
    static const char *const kernel[] = {"\nSlab:", "\nKernelStack:", "\nPageTables:", "\nPercpu:"};
    char buf[8192];
    int n = cv_read_file_at(AT_FDCWD, "/proc/meminfo", buf, sizeof(buf));
    if (n < 0)
        return n;
    m->available = field_kb(buf, "MemAvailable:");
    m->kernel = 0;
    for (size_t i = 0; i < sizeof(kernel) / sizeof(kernel[0]); i++) {
        int64_t v = field_kb(buf, kernel[i]);
        m->kernel += v > 0 ? v : 0;
    }
    return m->available < 0 ? -ENOENT : 0;
}

static int mem_available_kb(uint64_t *kb)
{
    struct meminfo m;
    int r = read_meminfo(&m);
    if (r == 0)
        *kb = (uint64_t)m.available;
    return r;
}

/* PSS of a process in bytes (0 when it is gone). */
static uint64_t pss_bytes(pid_t pid)
{
    char path[64], buf[4096];
    if (pid <= 0)
        return 0;
    snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
    if (cv_read_file_at(AT_FDCWD, path, buf, sizeof(buf)) < 0)
        return 0;
    const char *p = strstr(buf, "\nPss:");
    return p ? strtoull(p + 5, NULL, 10) * 1024 : 0;
}

/* Outside the measured window: let the kernel finish freeing what came
 * before (network namespaces are freed by a work queue in batches, RCU
 * frees lag): wait until MemAvailable has moved by less than 256 KiB over
 * three 250 ms steps in a row, at most 10 s. */
static void settle(void)
{
    uint64_t prev = 0, cur = 0;
    struct timespec step = {.tv_nsec = 250 * 1000 * 1000};
    int calm = 0;
    for (int i = 0; i < 40 && calm < 3; i++) {
        if (mem_available_kb(&cur) < 0)
            return;
        calm = i > 0 && (cur > prev ? cur - prev : prev - cur) < 256 ? calm + 1 : 0;
        prev = cur;
        nanosleep(&step, NULL);
    }
}

static int start_cold(struct mem_mode *mm, struct containerv_options *o, struct held *h, char *why,
                      size_t n)
{
    static const char *const argv[] = {"/bin/sleep", "1000000", NULL};
    struct containerv_error e;
    cvb_name(mm->b, h->name, sizeof(h->name));
    int r = containerv_create(h->name, o, &h->c, &e);
    if (r == 0)
        r = containerv_spawn(h->c, argv, NULL, &h->pids[1], &e);
    if (r < 0)
        snprintf(why, n, "%s", e.message);
    else
        h->pids[0] = containerv_init_pid(h->c);
    return r;
}

static int start_crun(struct mem_mode *mm, struct held *h, char *why, size_t n)
{
    struct cvb *b = mm->b;
    struct cvb_argv a;
    char pid_file[PATH_MAX + 80], buf[32];
    snprintf(pid_file, sizeof(pid_file), "%s/pid", b->tmp);
    cvb_argv_crun(b, &b->crun, b->bundle_sleep, true, pid_file, &a);
    snprintf(h->name, sizeof(h->name), "%s", a.name);
    struct cvb_cmd c = {.path = a.v[0], .argv = a.v, .quiet = true};
    uint64_t ns;
    int r = cvb_run(b, &c, &ns, why, n);
    if (r == 0 && (r = cv_read_file_at(AT_FDCWD, pid_file, buf, sizeof(buf))) >= 0) {
        h->pids[0] = (pid_t)atoi(buf);
        r = 0;
    } else if (r != -EIO) {
        snprintf(why, n, "reading '%s': %s", pid_file, strerror(-r));
    }
    unlink(pid_file);
    return r;
}

static void stop_all(struct mem_mode *mm)
{
    for (int i = 0; i < mm->n; i++) {
        struct held *h = &mm->held[i];
        if (h->c) {
            struct containerv_error e;
            containerv_destroy(h->c, &e);
        } else if (h->name[0]) {
            cvb_peer_cleanup(mm->b, &mm->b->crun, h->name, true); /* delete --force */
        }
    }
    containerv_teardown_wait(NULL);
    mm->n = 0;
}

static int fill(struct mem_mode *mm, struct containerv_options *o, int want, char *why, size_t n)
{
    while (mm->n < want && !cvb_cancelled(mm->b)) {
        struct held *h = &mm->held[mm->n];
        memset(h, 0, sizeof(*h));
        int r = mm->crun ? start_crun(mm, h, why, n) : start_cold(mm, o, h, why, n);
        mm->n++; /* stop_all cleans up a half-made one too */
        if (r < 0)
            return r;
        cvb_progress(mm->b, "memory", 1);
    }
    return 0;
}

/* One mode: a warm-up container first (caches, slabs), then the N. */
static int measure(struct mem_mode *mm, struct containerv_options *o)
{
    struct cvb *b = mm->b;
    char why[300] = "";
    struct meminfo before, after;
    mm->n = 0;
    int r = fill(mm, o, 1, why, sizeof(why));
    stop_all(mm);
    settle();
    if (r == 0 && (r = read_meminfo(&before)) < 0)
        snprintf(why, sizeof(why), "reading /proc/meminfo: %s", strerror(-r));
    if (r == 0)
        r = fill(mm, o, b->conf.containers, why, sizeof(why));
    if (r == 0 && (r = read_meminfo(&after)) < 0)
        snprintf(why, sizeof(why), "reading /proc/meminfo: %s", strerror(-r));
    uint64_t pss = 0;
    for (int i = 0; r == 0 && i < mm->n; i++)
        pss += pss_bytes(mm->held[i].pids[0]) + pss_bytes(mm->held[i].pids[1]);
    int made = mm->n;
    stop_all(mm);
    if (r < 0) {
        snprintf(mm->res->skipped, sizeof(mm->res->skipped), "%s", why);
        return 0;
    }
    if (cvb_cancelled(b) || made == 0)
        return 0;
    mm->res->bytes_per_container = (double)(before.available - after.available) * 1024.0 / made;
    mm->res->kernel_bytes_per_container = (double)(after.kernel - before.kernel) * 1024.0 / made;
    mm->res->pss_bytes_per_container = (double)pss / made;
    return 0;
}

/* Wait until the pool has n warm containers (bounded: 1 s per container,
 * at least 30 s), following the progress every 200 ms; 0, or -errno with
 * why filled. */
static int wait_warm(struct cvb *b, struct containerv_pool *pool, int n, char *why, size_t size)
{
    uint64_t deadline = cv_now_ns() + (uint64_t)(n > 30 ? n : 30) * 1000000000ull;
    int seen = 0;
    for (;;) {
        struct containerv_error e;
        int r = containerv_pool_wait_ready(pool, 200, &e);
        struct containerv_pool_stats st;
        if (containerv_pool_get_stats(pool, &st) == 0 && st.warm_containers > seen) {
            cvb_progress(b, "memory", (uint64_t)(st.warm_containers - seen));
            seen = st.warm_containers;
        }
        if (r == 0)
            return 0;
        if (r != -ETIMEDOUT) {
            snprintf(why, size, "the pool failed to make a container: %s", e.message);
            return r;
        }
        if (cvb_cancelled(b))
            return -ECANCELED;
        if (cv_now_ns() > deadline) {
            snprintf(why, size, "only %d of %d containers warm after %d s", seen, n, n > 30 ? n : 30);
            return -ETIMEDOUT;
        }
    }
}

/* The sum of the PSS of the inits of the running containers in runtime_dir
 * (the pool's: the other modes' containers are gone by then). */
static uint64_t pss_of_runtime_dir(const char *runtime_dir, int *count)
{
    struct containerv_info *infos = NULL;
    size_t n = 0;
    uint64_t pss = 0;
    *count = 0;
    if (containerv_list(runtime_dir, &infos, &n, NULL) < 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (infos[i].status != CONTAINERV_STATUS_RUNNING)
            continue;
        pss += pss_bytes(infos[i].init_pid);
        (*count)++;
    }
    containerv_list_free(infos);
    return pss;
}

static void pool_close(struct containerv_pool **pool)
{
    if (*pool)
        containerv_pool_destroy(*pool, NULL);
    *pool = NULL;
    containerv_teardown_wait(NULL);
}

/* pooled: a warm-up pool of 1 first (template, thread, caches), then the
 * pool of N, measured once all N are warm; the template (in the
 * benchmark's temporary directory) goes with it. */
static int measure_pooled(struct mem_mode *mm)
{
    struct cvb *b = mm->b;
    struct containerv_pool *pool = NULL;
    struct containerv_error e;
    struct meminfo before, after;
    char why[600] = "";
    int n = b->conf.containers > 1024 ? 1024 : b->conf.containers; /* a pool's limit */
    int r = cvb_pool_open(b, 1, &pool, &e);
    if (r < 0)
        snprintf(why, sizeof(why), "pool: %s", e.message);
    if (r == 0)
        r = wait_warm(b, pool, 1, why, sizeof(why));
    pool_close(&pool);
    settle();
    if (r == 0 && (r = read_meminfo(&before)) < 0)
        snprintf(why, sizeof(why), "reading /proc/meminfo: %s", strerror(-r));
    if (r == 0 && (r = cvb_pool_open(b, n, &pool, &e)) < 0)
        snprintf(why, sizeof(why), "pool: %s", e.message);
    if (r == 0)
        r = wait_warm(b, pool, n, why, sizeof(why));
    if (r == 0 && (r = read_meminfo(&after)) < 0)
        snprintf(why, sizeof(why), "reading /proc/meminfo: %s", strerror(-r));
    int made = 0;
    uint64_t pss = r == 0 ? pss_of_runtime_dir(b->cv_rt, &made) : 0;
    pool_close(&pool);
    char state[PATH_MAX + 8];
    snprintf(state, sizeof(state), "%s/state", b->tmp);
    containerv_template_delete(state, "bench", NULL);
    if (r < 0 || made == 0) {
        if (r != -ECANCELED)
            snprintf(mm->res->skipped, sizeof(mm->res->skipped), "%s", why[0] ? why : "no warm container");
        return 0;
    }
    mm->res->bytes_per_container = (double)(before.available - after.available) * 1024.0 / n;
    mm->res->kernel_bytes_per_container = (double)(after.kernel - before.kernel) * 1024.0 / n;
    mm->res->pss_bytes_per_container = (double)pss / made;
    return 0;
}

int cvb_memory(struct cvb *b)
{
    int modes = b->conf.peers ? 2 : 1;
    bool pooled = b->conf.modes & (1u << CONTAINERV_MODE_POOLED);
    b->rep->containers = b->conf.containers;
    b->total = (uint64_t)(modes + pooled) * (uint64_t)(b->conf.containers + 1);
    struct mem_mode mm = {.b = b};
    mm.held = calloc((size_t)b->conf.containers, sizeof(*mm.held));
    if (!mm.held)
        return cv_error(b->err, ENOMEM, "bench.memory", "allocating");
    int r = 0;
    for (int i = 0; i < modes && r == 0 && !cvb_cancelled(b); i++) {
        mm.crun = i == 1;
        mm.res = cvb_add_result(b, mm.crun ? "crun" : "cold");
        if (!mm.res) {
            r = cv_error(b->err, ENOMEM, "bench.memory", "allocating results");
            break;
        }
        if (mm.crun && !b->crun.path[0]) {
            snprintf(mm.res->skipped, sizeof(mm.res->skipped), "crun is not installed (not found in PATH)");
            continue;
        }
        struct containerv_options *o = mm.crun ? NULL : cvb_cold_options(b);
        if (!mm.crun && !o)
            r = cv_error(b->err, ENOMEM, "bench.memory", "allocating options");
        else
            r = measure(&mm, o);
        containerv_options_free(o);
    }
    free(mm.held);
    if (r == 0 && pooled && !cvb_cancelled(b)) {
        mm.crun = false;
        if (!(mm.res = cvb_add_result(b, "pooled")))
            r = cv_error(b->err, ENOMEM, "bench.memory", "allocating results");
        else
            r = measure_pooled(&mm);
        /* issue 5: idle warm containers cost <= 1 MiB each (PSS + kernel, the steady sum) */
        if (r == 0 && !mm.res->skipped[0] && mm.res->pss_bytes_per_container > 0 &&
            cvb_add_target(b, "pooled idle container <= 1 MiB (PSS + kernel, MiB)",
                           (mm.res->pss_bytes_per_container + mm.res->kernel_bytes_per_container) / 1048576.0,
                           1.0) < 0)
            r = cv_error(b->err, ENOMEM, "bench.memory", "allocating targets");
        /* issue 17: <= 256 KiB each (docs/benchmarks.md, "Memory: where it goes") */
        if (r == 0 && !mm.res->skipped[0] && mm.res->pss_bytes_per_container > 0 &&
            cvb_add_target(b, "pooled idle container <= 256 KiB (PSS + kernel, KiB)",
                           (mm.res->pss_bytes_per_container + mm.res->kernel_bytes_per_container) / 1024.0,
                           256.0) < 0)
            r = cv_error(b->err, ENOMEM, "bench.memory", "allocating targets");
    }
    const struct containerv_bench_result *c = containerv_bench_find(b->rep, "cold");
    const struct containerv_bench_result *p = containerv_bench_find(b->rep, "crun");
    if (r == 0 && c && p && !c->skipped[0] && !p->skipped[0]) {
        double cs = c->pss_bytes_per_container + c->kernel_bytes_per_container;
        double ps = p->pss_bytes_per_container + p->kernel_bytes_per_container;
        if ((p->bytes_per_container > 0 && c->bytes_per_container > 0 &&
             cvb_add_ratio(b, "cold/crun MemAvailable", c->bytes_per_container / p->bytes_per_container) < 0) ||
            (ps > 0 && cvb_add_ratio(b, "cold/crun PSS + kernel", cs / ps) < 0))
            r = cv_error(b->err, ENOMEM, "bench.memory", "allocating ratios");
    }
    return r;
}
