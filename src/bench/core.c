/* The benchmark engine: configuration, the temporary directory, the report,
 * and the thread every benchmark runs in (see benchmark.h). */
#include "bench.h"

#include <fcntl.h>
#include <libgen.h>
#include <linux/openat2.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>

static const char *const mode_names[CONTAINERV_MODE_COUNT] = {
    "floor", "floor-ns", "cold", "cold-cli", "crun", "runc", "bwrap", "pooled", "pooled-cli", "cold-heap", "oci",
    "podman", "podman-runc",
};

static const char *const kind_names[] = {"startup", "throughput", "memory", "io", "monitor", "seccomp"};

const char *containerv_bench_mode_name(enum containerv_bench_mode mode)
{
    return (unsigned)mode < CONTAINERV_MODE_COUNT ? mode_names[mode] : NULL;
}

const char *containerv_bench_kind_name(enum containerv_bench_kind kind)
{
    return (unsigned)kind < sizeof(kind_names) / sizeof(kind_names[0]) ? kind_names[kind] : NULL;
}

void containerv_bench_config_init(struct containerv_bench_config *cfg)
{
    if (!cfg)
        return;
    memset(cfg, 0, sizeof(*cfg));
    cfg->modes = CONTAINERV_BENCH_DEFAULT_MODES;
    cfg->iterations = 100;
    cfg->warmup = 3;
    cfg->concurrency = 2;
    cfg->duration_s = 5;
    cfg->containers = 100;
    cfg->io_bytes = 64ull << 20;
    cfg->io_rounds = 3;
    cfg->peer_env = true;
    cfg->peers = true;
    cfg->monitored = 200;
    cfg->monitor_interval_ms = 100;
    cfg->caller_heap = 4ull << 30;
}

/* ------------------------------------------------------------ helpers */

/* A fresh random order of the modes for each iteration or round (Fisher-Yates with
 * a fixed seed: reproducible). A fixed order would give every mode the
 * same predecessor, and a predecessor leaves kernel state behind (e.g. a
 * cgroup v1 attach is cheap right after another one): order is not drift. */
void cvb_shuffle(size_t *order, size_t n, uint64_t *seed)
{
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    for (size_t i = n; i > 1; i--) {
        uint64_t x = *seed;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *seed = x;
        size_t j = (size_t)(x % i), t = order[i - 1];
        order[i - 1] = order[j];
        order[j] = t;
    }
}


bool cvb_cancelled(const struct cvb *b)
{
    return b->conf.cancel && *b->conf.cancel;
}

void cvb_progress(struct cvb *b, const char *what, uint64_t add)
{
    pthread_mutex_lock(&b->progress_lock);
    b->done += add;
    if (b->conf.progress)
        b->conf.progress(b->conf.progress_data, what, b->done < b->total ? b->done : b->total,
                         b->total);
    pthread_mutex_unlock(&b->progress_lock);
}

void cvb_progress_at(struct cvb *b, const char *what, uint64_t done)
{
    pthread_mutex_lock(&b->progress_lock);
    if (done > b->done)
        b->done = done;
    pthread_mutex_unlock(&b->progress_lock);
    cvb_progress(b, what, 0);
}

void cvb_name(struct cvb *b, char *buf, size_t size)
{
    uint64_t n = __atomic_add_fetch(&b->seq, 1, __ATOMIC_RELAXED);
    if (b->conf.id_prefix)
        snprintf(buf, size, "%s%llu", b->conf.id_prefix, (unsigned long long)n);
    else
        snprintf(buf, size, "cvb-%d-%llu", (int)getpid(), (unsigned long long)n);
}

struct containerv_options *cvb_cold_options(struct cvb *b)
{
    struct containerv_options *o = containerv_options_new();
    if (o && (containerv_options_set_runtime_dir(o, b->cv_rt) < 0 ||
              (!b->default_rootfs && containerv_options_add_lower(o, b->rootfs) < 0))) {
        containerv_options_free(o);
        o = NULL;
    }
    return o;
}

struct containerv_bench_result *cvb_add_result(struct cvb *b, const char *name)
{
    struct containerv_bench_report *r = b->rep;
    struct containerv_bench_result *n = realloc(r->results, (r->n_results + 1) * sizeof(*n));
    if (!n)
        return NULL;
    r->results = n;
    n = &r->results[r->n_results++];
    memset(n, 0, sizeof(*n));
    snprintf(n->name, sizeof(n->name), "%s", name);
    return n;
}

int cvb_add_ratio(struct cvb *b, const char *name, double value)
{
    struct containerv_bench_report *r = b->rep;
    struct containerv_bench_ratio *n = realloc(r->ratios, (r->n_ratios + 1) * sizeof(*n));
    if (!n)
        return -ENOMEM;
    r->ratios = n;
    n = &r->ratios[r->n_ratios++];
    snprintf(n->name, sizeof(n->name), "%s", name);
    n->value = value;
    return 0;
}

int cvb_add_target(struct cvb *b, const char *name, double value, double limit)
{
    struct containerv_bench_report *r = b->rep;
    struct containerv_bench_target *n = realloc(r->targets, (r->n_targets + 1) * sizeof(*n));
    if (!n)
        return -ENOMEM;
    r->targets = n;
    n = &r->targets[r->n_targets++];
    snprintf(n->name, sizeof(n->name), "%s", name);
    n->value = value;
    n->limit = limit;
    n->holds = value <= limit;
    return 0;
}

const struct containerv_bench_result *containerv_bench_find(const struct containerv_bench_report *r,
                                                            const char *name)
{
    for (size_t i = 0; r && name && i < r->n_results; i++)
        if (strcmp(r->results[i].name, name) == 0)
            return &r->results[i];
    return NULL;
}

void containerv_bench_report_free(struct containerv_bench_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_results; i++)
        free(r->results[i].samples_ns);
    free(r->results);
    free(r->ratios);
    free(r->targets);
    free(r);
}

/* ------------------------------------------------------------ set-up */

static void apply_defaults(struct containerv_bench_config *c)
{
    struct containerv_bench_config d;
    containerv_bench_config_init(&d);
    if (c->modes == 0)
        c->modes = d.modes;
    if (c->iterations <= 0)
        c->iterations = d.iterations;
    if (c->warmup < 0)
        c->warmup = 0;
    if (c->concurrency <= 0)
        c->concurrency = d.concurrency;
    if (c->duration_s <= 0)
        c->duration_s = d.duration_s;
    if (c->containers <= 0)
        c->containers = d.containers;
    if (c->io_bytes < (1u << 20))
        c->io_bytes = d.io_bytes;
    if (c->io_rounds <= 0)
        c->io_rounds = d.io_rounds;
    if (c->monitored <= 0)
        c->monitored = d.monitored;
    if (c->monitor_interval_ms < 10)
        c->monitor_interval_ms = d.monitor_interval_ms;
    if (c->caller_heap == 0)
        c->caller_heap = d.caller_heap;
}

/* The host path of the rootfs' /bin/true, resolved inside the rootfs (the
 * default rootfs' /bin/true is an absolute symlink to /bin/busybox). */
static int resolve_true(struct cvb *b)
{
    cv_cleanup_fd int root = open(b->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root < 0)
        return cv_error(b->err, errno, "bench.rootfs", "opening '%s'", b->rootfs);
    struct open_how how = {.flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT};
    cv_cleanup_fd int fd = (int)syscall(SYS_openat2, root, "bin/true", &how, sizeof(how));
    if (fd < 0)
        return cv_error(b->err, errno, "bench.rootfs", "'%s/bin/true'", b->rootfs);
    char link[64];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, b->true_path, sizeof(b->true_path) - 1);
    if (n < 0)
        return cv_error(b->err, errno, "bench.rootfs", "resolving '%s/bin/true'", b->rootfs);
    b->true_path[n] = '\0';
    if (access(b->true_path, X_OK) < 0)
        return cv_error(b->err, errno, "bench.rootfs", "'%s' (the rootfs' /bin/true)", b->true_path);
    return 0;
}

static int resolve_rootfs(struct cvb *b)
{
    const char *def = containerv_default_rootfs();
    const char *want = b->conf.rootfs ? b->conf.rootfs : def;
    if (!want)
        return cv_error_plain(b->err, ENOENT, "bench.rootfs",
                              "no rootfs given and the default rootfs was not found");
    if (!realpath(want, b->rootfs))
        return cv_error(b->err, errno, "bench.rootfs", "'%s'", want);
    char defreal[PATH_MAX];
    b->default_rootfs = def && realpath(def, defreal) && strcmp(defreal, b->rootfs) == 0;
    snprintf(b->rep->rootfs, sizeof(b->rep->rootfs), "%s", b->rootfs);
    return resolve_true(b);
}

static void temp_parent(const struct cvb *b, char *parent, size_t size)
{
    char rt[PATH_MAX];
    if (b->conf.temp_parent) {
        snprintf(parent, size, "%s", b->conf.temp_parent);
        return;
    }
    snprintf(rt, sizeof(rt), "%s", containerv_default_runtime_dir());
    snprintf(parent, size, "%s", dirname(rt)); /* dirname works in rt */
    if (access(parent, W_OK) < 0)
        snprintf(parent, size, "/tmp");
}

static int make_tmp(struct cvb *b)
{
    char parent[PATH_MAX];
    temp_parent(b, parent, sizeof(parent));
    snprintf(b->tmp, sizeof(b->tmp), "%s/containerv-bench.XXXXXX", parent);
    if (!mkdtemp(b->tmp)) {
        b->tmp[0] = '\0';
        return cv_error(b->err, errno, "bench.tmp", "making a directory in '%s'", parent);
    }
    snprintf(b->cv_rt, sizeof(b->cv_rt), "%s/cv", b->tmp);
    if (mkdir(b->cv_rt, 0700) < 0)
        return cv_error(b->err, errno, "bench.tmp", "making '%s'", b->cv_rt);
    return 0;
}

/* An fd above 2, so that dup2 onto 0..2 in a child always clears CLOEXEC. */
static int above_stdio(int fd)
{
    if (fd < 0 || fd > 2)
        return fd;
    int n = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    int e = errno;
    close(fd);
    errno = e;
    return n;
}

static int open_fds(struct cvb *b)
{
    b->nullfd = above_stdio(open("/dev/null", O_RDWR | O_CLOEXEC));
    if (b->nullfd < 0)
        return cv_error(b->err, errno, "bench.fds", "opening /dev/null");
    b->errfd = above_stdio(memfd_create("cvb-stderr", MFD_CLOEXEC));
    if (b->errfd < 0)
        return cv_error(b->err, errno, "bench.fds", "memfd_create");
    return 0;
}

static void cvb_free(struct cvb *b)
{
    containerv_teardown_wait(NULL); /* nothing of a benchmark's outlives it */
    cv_closep(&b->nullfd);
    cv_closep(&b->errfd);
    if (b->tmp[0])
        cv_remove_tree_at(AT_FDCWD, b->tmp);
    pthread_mutex_destroy(&b->progress_lock);
}

/* ------------------------------------------------------------ running */

typedef int (*bench_fn)(struct cvb *);

static const bench_fn bench_fns[] = {cvb_startup, cvb_throughput, cvb_memory, cvb_io, cvb_monitor, cvb_seccomp};

struct thread_arg {
    struct cvb *b;
    bench_fn fn;
    int rc;
};

static void *bench_thread(void *p)
{
    struct thread_arg *t = p;
    cvb_enter_env(t->b, t->b->rep->environment, sizeof(t->b->rep->environment));
    t->rc = t->fn(t->b);
    return NULL;
}

static int prepare(struct cvb *b)
{
    int r;
    if ((r = resolve_rootfs(b)) < 0 || (r = make_tmp(b)) < 0 || (r = open_fds(b)) < 0)
        return r;
    return cvb_peers_prepare(b);
}

int containerv_bench_run(enum containerv_bench_kind kind, const struct containerv_bench_config *cfg,
                         struct containerv_bench_report **out, struct containerv_error *err)
{
    containerv_error_clear(err);
    if (!out || (unsigned)kind >= sizeof(bench_fns) / sizeof(bench_fns[0]))
        return cv_error_plain(err, EINVAL, "bench", "no report pointer or an unknown benchmark");
    *out = NULL;
    struct cvb b = {.err = err, .nullfd = -1, .errfd = -1};
    if (cfg)
        b.conf = *cfg;
    else
        containerv_bench_config_init(&b.conf);
    apply_defaults(&b.conf);
    pthread_mutex_init(&b.progress_lock, NULL);
    b.rep = calloc(1, sizeof(*b.rep));
    if (!b.rep) {
        cvb_free(&b);
        return cv_error(err, ENOMEM, "bench", "allocating the report");
    }
    b.rep->kind = kind;
    int r = prepare(&b);
    if (r == 0) {
        struct thread_arg t = {.b = &b, .fn = bench_fns[kind]};
        pthread_t th;
        r = pthread_create(&th, NULL, bench_thread, &t);
        if (r != 0)
            r = cv_error(err, r, "bench", "starting the benchmark thread");
        else if (pthread_join(th, NULL) == 0)
            r = t.rc;
    }
    if (r == 0 && cvb_cancelled(&b))
        r = cv_error_plain(err, ECANCELED, "bench", "cancelled");
    cvb_free(&b);
    if (r < 0)
        containerv_bench_report_free(b.rep);
    else
        *out = b.rep;
    return r;
}
