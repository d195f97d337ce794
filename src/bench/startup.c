/* `bench startup`: every mode runs /bin/true from the same rootfs to its
 * exit, once per iteration, in a random order per iteration, so that drift
 * of the machine hits every mode alike and no mode always follows another. */
#include "bench.h"

#include <containerv/pool.h>

#include <fcntl.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <poll.h>
#include <libgen.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>

/* cold-heap: a process of its own, forked before any other mode starts a
 * thread, that holds the touched memory and makes the containers; the
 * benchmark sends it the id of each run and reads back what run_cold
 * measured there. */
struct heap_caller {
    pid_t pid;
    int to, from; /* pipes: ids to it, results from it */
};

struct heap_result {
    int r;
    uint64_t ns, stage[4];
    struct containerv_startup_metrics met;
    char why[300];
};

struct mode_run {
    enum containerv_bench_mode mode;
    struct containerv_bench_result *res;
    bool active;
    /* cold: the last run, and sums over the measured runs for the means */
    struct containerv_options *opts;
    struct containerv_startup_metrics last, sum;
    /* create, spawn + wait, destroy (what the caller waits for), and the
     * background teardown after it (drained, not timed) */
    uint64_t last_stage[4], stage_sum[4];
    /* command modes */
    const struct cvb_peer *peer;
    char cli[PATH_MAX];
    /* pooled */
    struct containerv_pool *pool;
    /* pooled-cli */
    struct cvb_daemon daemon;
    /* cold-heap */
    struct heap_caller heap;
    /* oci: containerv's --root */
    char oci_root[PATH_MAX + 16];
    /* podman, podman-runc: the runtime podman is given */
    const char *podman_runtime;
};

struct startup {
    struct cvb *b;
    struct mode_run modes[CONTAINERV_MODE_COUNT];
    size_t n;
    struct cvb_podman podman; /* the podman modes' store, made once for both */
    bool podman_tried;
    char podman_why[300];
};

/* ------------------------------------------------------------ one run */

static int run_floor(struct startup *s, struct mode_run *m, uint64_t *ns, char *why, size_t n)
{
    char *argv[] = {(char *)"true", NULL};
    struct cvb_cmd c = {.path = s->b->true_path, .argv = argv,
                        .ns_flags = m->mode == CONTAINERV_MODE_FLOOR_NS ? CVB_NS_FLAGS_DEFAULT : 0};
    return cvb_run(s->b, &c, ns, why, n);
}

static void add_metrics(struct containerv_startup_metrics *sum, const struct containerv_startup_metrics *m)
{
    sum->total_startup_ns += m->total_startup_ns;
    sum->layer_mount_ns += m->layer_mount_ns;
    sum->namespace_setup_ns += m->namespace_setup_ns;
    sum->security_setup_ns += m->security_setup_ns;
    sum->network_setup_ns += m->network_setup_ns;
    sum->resource_alloc_ns += m->resource_alloc_ns;
    sum->first_process_ns += m->first_process_ns;
}

/* create, spawn, wait, destroy: timed as a whole and call by call.
 * containerv_destroy returns once the init is killed and the container is
 * gone for list/attach/create; the rest of the teardown (the init's exit,
 * the cgroups' rmdir, the state files' unlink) runs in the library's reaper
 * thread. It is drained here, after the timed region and before the next
 * run of any mode, so that it never overlaps (and hides in) another mode's
 * time; its duration is reported apart (teardown_us). */
static int run_cold_id(struct mode_run *m, const char *id, uint64_t *ns, char *why, size_t n)
{
    static const char *const argv[] = {"/bin/true", NULL};
    struct containerv_container *c = NULL;
    struct containerv_startup_metrics met;
    struct containerv_error e;
    pid_t pid;
    int code = -1;
    uint64_t t0 = cv_now_ns();
    int r = containerv_create(id, m->opts, &c, &e);
    uint64_t t1 = cv_now_ns();
    if (r == 0 && (r = containerv_spawn(c, argv, NULL, &pid, &e)) == 0)
        r = containerv_wait(c, pid, &code, &e);
    uint64_t t2 = cv_now_ns();
    if (c && containerv_get_startup_metrics(c, &met) == 0)
        m->last = met;
    struct containerv_error de;
    int q = c ? containerv_destroy(c, &de) : 0;
    uint64_t t3 = cv_now_ns();
    *ns = t3 - t0;
    if (q == 0)
        q = containerv_teardown_wait(&de);
    uint64_t t4 = cv_now_ns();
    if (r == 0 && q < 0) {
        r = q;
        e = de;
    }
    if (r == 0 && code != 0)
        r = cv_error_plain(&e, EIO, "wait", "/bin/true exited with %d", code);
    if (r < 0) {
        snprintf(why, n, "%s", e.message);
        return r;
    }
    m->last_stage[0] = t1 - t0;
    m->last_stage[1] = t2 - t1;
    m->last_stage[2] = t3 - t2;
    m->last_stage[3] = t4 - t3;
    return 0;
}

static int run_cold(struct startup *s, struct mode_run *m, uint64_t *ns, char *why, size_t n)
{
    char id[64];
    cvb_name(s->b, id, sizeof(id));
    return run_cold_id(m, id, ns, why, n);
}

/* `containerv --runtime-dir RT run [--lower ROOTFS] -- /bin/true` */
static void argv_cli(struct cvb *b, struct mode_run *m, struct cvb_argv *a)
{
    int n = 0;
    a->v[n++] = m->cli;
    a->v[n++] = (char *)"--runtime-dir";
    a->v[n++] = b->cv_rt;
    a->v[n++] = (char *)"run";
    if (!b->default_rootfs) {
        a->v[n++] = (char *)"--lower";
        a->v[n++] = b->rootfs;
    }
    a->v[n++] = (char *)"--";
    a->v[n++] = (char *)"/bin/true";
    a->v[n] = NULL;
    a->name[0] = '\0';
}

/* `containerv --state-dir NO_STATE --socket S run --template bench -- /bin/true` */
static void argv_pooled_cli(struct mode_run *m, struct cvb_argv *a)
{
    int n = 0;
    a->v[n++] = m->cli;
    a->v[n++] = (char *)"--state-dir";
    a->v[n++] = m->daemon.no_state;
    a->v[n++] = (char *)"--socket";
    a->v[n++] = m->daemon.socket;
    a->v[n++] = (char *)"run";
    a->v[n++] = (char *)"--template";
    a->v[n++] = (char *)"bench";
    a->v[n++] = (char *)"--";
    a->v[n++] = (char *)"/bin/true";
    a->v[n] = NULL;
    a->name[0] = '\0';
}

/* oci: the OCI runtime's lifecycle as containerd's shim drives it, one
 * process per verb: create (--pid-file), start, wait for the process, delete */
static int oci_verb(struct cvb *b, struct mode_run *m, const char *verb, const char *name, const char *pid_file,
                    char *why, size_t n)
{
    char *v[12];
    int k = 0;
    v[k++] = m->cli;
    v[k++] = (char *)"--root";
    v[k++] = m->oci_root;
    v[k++] = (char *)verb;
    if (!strcmp(verb, "create")) {
        v[k++] = (char *)"--bundle";
        v[k++] = b->bundle_true;
        v[k++] = (char *)"--pid-file";
        v[k++] = (char *)pid_file;
    } else if (!strcmp(verb, "delete") && !pid_file) {
        v[k++] = (char *)"--force";
    }
    v[k++] = (char *)name;
    v[k] = NULL;
    struct cvb_cmd c = {.path = v[0], .argv = v, .quiet = true};
    uint64_t ns;
    return cvb_run(b, &c, &ns, why, n);
}

static int run_oci(struct startup *s, struct mode_run *m, uint64_t *ns, char *why, size_t n)
{
    struct cvb *b = s->b;
    char name[64], pid_file[PATH_MAX + 80];
    cvb_name(b, name, sizeof(name));
    snprintf(pid_file, sizeof(pid_file), "%s/%s.pid", m->oci_root, name);
    uint64_t t0 = cv_now_ns();
    int r = oci_verb(b, m, "create", name, pid_file, why, n);
    int pidfd = -1;
    pid_t pid = -1;
    if (r == 0) {
        char buf[32] = "";
        int fd = open(pid_file, O_RDONLY | O_CLOEXEC);
        ssize_t k = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
        if (fd >= 0)
            close(fd);
        pid = k > 0 ? (pid_t)atoi(buf) : -1;
        pidfd = pid > 0 ? (int)syscall(SYS_pidfd_open, pid, 0) : -1;
        if (pidfd < 0) {
            snprintf(why, n, "no pid in the pid file of '%s'", name);
            r = -EIO;
        }
    }
    if (r == 0)
        r = oci_verb(b, m, "start", name, NULL, why, n);
    if (r == 0) { /* the process exits: its pidfd is readable */
        struct pollfd p = {.fd = pidfd, .events = POLLIN};
        while (poll(&p, 1, 30000) < 0 && errno == EINTR)
            ;
        waitpid(pid, NULL, WNOHANG); /* when this process is its reaper */
    }
    if (r == 0)
        r = oci_verb(b, m, "delete", name, pid_file, why, n);
    *ns = cv_now_ns() - t0;
    if (pidfd >= 0)
        close(pidfd);
    unlink(pid_file);
    if (r < 0) {
        char ignored[64];
        oci_verb(b, m, "delete", name, NULL, ignored, sizeof(ignored));
    }
    return r;
}

static int run_command(struct startup *s, struct mode_run *m, uint64_t *ns, char *why, size_t n)
{
    if (m->mode == CONTAINERV_MODE_OCI)
        return run_oci(s, m, ns, why, n);
    if (m->mode == CONTAINERV_MODE_PODMAN || m->mode == CONTAINERV_MODE_PODMAN_RUNC)
        return cvb_podman_run(s->b, &s->podman, m->podman_runtime, m->mode == CONTAINERV_MODE_PODMAN, ns, why, n);
    struct cvb *b = s->b;
    struct cvb_argv a;
    if (m->mode == CONTAINERV_MODE_COLD_CLI)
        argv_cli(b, m, &a);
    else if (m->mode == CONTAINERV_MODE_POOLED_CLI)
        argv_pooled_cli(m, &a);
    else if (m->mode == CONTAINERV_MODE_BWRAP)
        cvb_argv_bwrap(b, &a);
    else
        cvb_argv_crun(b, m->peer, b->bundle_true, false, NULL, &a);
    struct cvb_cmd c = {.path = a.v[0], .argv = a.v, .quiet = true};
    int r = cvb_run(b, &c, ns, why, n);
    if (m->peer && m->peer->root[0])
        cvb_peer_cleanup(b, m->peer, a.name, r < 0);
    return r;
}

/* get, spawn, wait, return: what a user of a warm pool waits for. The
 * reset that return begins is waited for after the timed region, so that
 * its work never lands in the next run of another mode. */
static int run_pooled(struct mode_run *m, uint64_t *ns, char *why, size_t n)
{
    struct containerv_error e;
    uint64_t t0 = cv_now_ns();
    int r = cvb_pool_run(m->pool, why, n);
    *ns = cv_now_ns() - t0;
    if (r == 0 && (r = containerv_pool_wait_ready(m->pool, 30000, &e)) < 0)
        snprintf(why, n, "%s", e.message);
    return r;
}

/* ------------------------------------------------------------ cold-heap */

static bool full_io(int fd, void *buf, size_t n, bool out)
{
    for (size_t done = 0; done < n;) {
        ssize_t k = out ? write(fd, (char *)buf + done, n - done) : read(fd, (char *)buf + done, n - done);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return false;
        done += (size_t)k;
    }
    return true;
}

/* In the heap caller: touch the memory, say so, then run what is asked. */
__attribute__((noreturn)) static void heap_caller_main(struct startup *s, struct mode_run *m, int in, int out)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    size_t size = (size_t)s->b->conf.caller_heap;
    char *heap = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    int ok = heap != MAP_FAILED;
    if (ok) {
        /* 4 KiB pages, as most of a malloc heap is (a huge page would copy
         * as one entry) */
        madvise(heap, size, MADV_NOHUGEPAGE);
        for (size_t off = 0; off < size; off += 4096)
            heap[off] = (char)off;
    }
    if (!full_io(out, &ok, sizeof(ok), true) || !ok)
        _exit(1);
    char id[64];
    while (full_io(in, id, sizeof(id), false)) {
        struct heap_result hr = {0};
        id[sizeof(id) - 1] = '\0';
        hr.r = run_cold_id(m, id, &hr.ns, hr.why, sizeof(hr.why));
        memcpy(hr.stage, m->last_stage, sizeof(hr.stage));
        hr.met = m->last;
        if (!full_io(out, &hr, sizeof(hr), true))
            break;
    }
    _exit(0);
}

static int heap_caller_start(struct startup *s, struct mode_run *m, char *why, size_t n)
{
    /* never more than half of what the machine has free: the benchmark
     * must not push the host into reclaim (the size used is reported) */
    int64_t kb = cvb_mem_available_kb();
    uint64_t avail = kb > 0 ? (uint64_t)kb * 1024 : 0;
    if (avail && s->b->conf.caller_heap > avail / 2)
        s->b->conf.caller_heap = (avail / 2) & ~(uint64_t)((1u << 20) - 1);
    int to[2], from[2];
    if (pipe2(to, O_CLOEXEC) < 0)
        return snprintf(why, n, "pipe: %s", strerror(errno)), -1;
    if (pipe2(from, O_CLOEXEC) < 0) {
        snprintf(why, n, "pipe: %s", strerror(errno));
        close(to[0]);
        close(to[1]);
        return -1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(to[1]);
        close(from[0]);
        heap_caller_main(s, m, to[0], from[1]);
    }
    close(to[0]);
    close(from[1]);
    m->heap = (struct heap_caller){.pid = pid, .to = to[1], .from = from[0]};
    int ok = 0;
    if (pid < 0 || !full_io(m->heap.from, &ok, sizeof(ok), false) || !ok) {
        snprintf(why, n, "could not hold %llu MiB of touched memory in a process of its own",
                 (unsigned long long)(s->b->conf.caller_heap >> 20));
        return -1;
    }
    return 0;
}

static void heap_caller_stop(struct mode_run *m)
{
    if (m->heap.to > 0)
        close(m->heap.to);
    if (m->heap.from > 0)
        close(m->heap.from);
    if (m->heap.pid > 0) {
        kill(m->heap.pid, SIGKILL);
        while (waitpid(m->heap.pid, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    m->heap = (struct heap_caller){.pid = -1, .to = -1, .from = -1};
}

static int run_cold_heap(struct startup *s, struct mode_run *m, uint64_t *ns, char *why, size_t n)
{
    char id[64] = {0};
    struct heap_result hr;
    cvb_name(s->b, id, sizeof(id));
    if (!full_io(m->heap.to, id, sizeof(id), true) || !full_io(m->heap.from, &hr, sizeof(hr), false)) {
        snprintf(why, n, "%s", "the process holding the memory is gone");
        return -1;
    }
    if (hr.r < 0) {
        hr.why[sizeof(hr.why) - 1] = '\0';
        snprintf(why, n, "%s", hr.why);
        return hr.r;
    }
    *ns = hr.ns;
    memcpy(m->last_stage, hr.stage, sizeof(hr.stage));
    m->last = hr.met;
    return 0;
}

static int run_once(struct startup *s, struct mode_run *m, uint64_t *ns, char *why, size_t n)
{
    switch (m->mode) {
    case CONTAINERV_MODE_FLOOR:
    case CONTAINERV_MODE_FLOOR_NS: return run_floor(s, m, ns, why, n);
    case CONTAINERV_MODE_COLD: return run_cold(s, m, ns, why, n);
    case CONTAINERV_MODE_COLD_HEAP: return run_cold_heap(s, m, ns, why, n);
    case CONTAINERV_MODE_POOLED: return run_pooled(m, ns, why, n);
    default: return run_command(s, m, ns, why, n);
    }
}

/* ------------------------------------------------------------ modes */

__attribute__((format(printf, 2, 3))) static void skip(struct mode_run *m, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->res->skipped, sizeof(m->res->skipped), fmt, ap);
    va_end(ap);
    m->active = false;
}

/* The containerv CLI next to this executable. */
static void find_cli(struct startup *s, struct mode_run *m)
{
    char exe[PATH_MAX];
    ssize_t n;
    if (s->b->conf.cli_path) {
        snprintf(m->cli, sizeof(m->cli), "%s", s->b->conf.cli_path);
    } else if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) > 0) {
        exe[n] = '\0';
        snprintf(m->cli, sizeof(m->cli), "%s/containerv", dirname(exe));
    }
    if (!m->cli[0] || access(m->cli, X_OK) < 0)
        skip(m, "the containerv CLI was not found ('%s')", m->cli);
}

static void prepare_mode(struct startup *s, struct mode_run *m)
{
    struct cvb *b = s->b;
    m->active = true;
    switch (m->mode) {
    case CONTAINERV_MODE_COLD:
        if (!(m->opts = cvb_cold_options(b)))
            skip(m, "%s", "allocating the container options failed");
        break;
    case CONTAINERV_MODE_COLD_HEAP: {
        char why[200];
        if (!(m->opts = cvb_cold_options(b)))
            skip(m, "%s", "allocating the container options failed");
        else if (heap_caller_start(s, m, why, sizeof(why)) < 0)
            skip(m, "%s", why);
        else
            b->rep->caller_heap = b->conf.caller_heap;
        break;
    }
    case CONTAINERV_MODE_COLD_CLI: find_cli(s, m); break;
    case CONTAINERV_MODE_POOLED: {
        struct containerv_error pe;
        if (cvb_pool_open(b, 4, &m->pool, &pe) < 0)
            skip(m, "pool: %s", pe.message);
        break;
    }
    case CONTAINERV_MODE_POOLED_CLI: {
        char why[400];
        find_cli(s, m);
        if (m->active && cvb_daemon_start(b, m->cli, 4, &m->daemon, why, sizeof(why)) < 0)
            skip(m, "pool daemon: %s", why);
        break;
    }
    case CONTAINERV_MODE_OCI:
        find_cli(s, m);
        snprintf(m->oci_root, sizeof(m->oci_root), "%s/oci-root", b->tmp);
        if (m->active && !b->bundle_true[0])
            skip(m, "%s", "no bundle was made");
        break;
    case CONTAINERV_MODE_PODMAN:
    case CONTAINERV_MODE_PODMAN_RUNC:
        if (m->mode == CONTAINERV_MODE_PODMAN) {
            find_cli(s, m);
            m->podman_runtime = m->cli;
        } else if (!b->runc.path[0]) {
            skip(m, "%s", "runc is not installed (not found in PATH)");
        } else {
            m->podman_runtime = b->runc.path;
        }
        if (m->active && !s->podman_tried) {
            s->podman_tried = true;
            if (cvb_podman_prepare(b, &s->podman, s->podman_why, sizeof(s->podman_why)) < 0)
                cvb_podman_cleanup(b, &s->podman);
        }
        if (m->active && !s->podman.ready)
            skip(m, "%s", s->podman_why);
        break;
    case CONTAINERV_MODE_CRUN: m->peer = &b->crun; break;
    case CONTAINERV_MODE_RUNC: m->peer = &b->runc; break;
    case CONTAINERV_MODE_BWRAP: m->peer = &b->bwrap; break;
    default: break;
    }
    if (m->peer && !m->peer->path[0])
        skip(m, "%s is not installed (not found in PATH)", m->peer->name);
}

static int add_modes(struct startup *s)
{
    struct cvb *b = s->b;
    for (int i = 0; i < CONTAINERV_MODE_COUNT; i++) {
        if (!(b->conf.modes & (1u << i)))
            continue;
        s->modes[s->n].daemon.pid = -1;
        s->modes[s->n++].mode = (enum containerv_bench_mode)i;
        s->modes[s->n - 1].heap = (struct heap_caller){.pid = -1, .to = -1, .from = -1};
        if (!cvb_add_result(b, containerv_bench_mode_name((enum containerv_bench_mode)i)))
            return cv_error(b->err, ENOMEM, "bench.startup", "allocating results");
    }
    /* the results array is final now: point into it */
    for (size_t i = 0; i < s->n; i++) {
        struct mode_run *m = &s->modes[i];
        m->res = &b->rep->results[b->rep->n_results - s->n + i];
        m->res->samples_ns = calloc((size_t)b->conf.iterations, sizeof(uint64_t));
        if (!m->res->samples_ns)
            return cv_error(b->err, ENOMEM, "bench.startup", "allocating samples");
    }
    /* cold-heap first: it forks, and no other mode has started a thread yet */
    for (size_t i = 0; i < s->n; i++)
        if (s->modes[i].mode == CONTAINERV_MODE_COLD_HEAP)
            prepare_mode(s, &s->modes[i]);
    for (size_t i = 0; i < s->n; i++)
        if (s->modes[i].mode != CONTAINERV_MODE_COLD_HEAP)
            prepare_mode(s, &s->modes[i]);
    return 0;
}

/* ------------------------------------------------------------ the loop */

static void fail_mode(struct mode_run *m, int it, int warmup, const char *why)
{
    snprintf(m->res->skipped, sizeof(m->res->skipped), "%s run %d failed: %s",
             it < warmup ? "warm-up" : "measured", it < warmup ? it + 1 : it - warmup + 1, why);
    m->active = false;
    m->res->n_samples = 0;
}

static size_t count_active(const struct startup *s)
{
    size_t k = 0;
    for (size_t i = 0; i < s->n; i++)
        k += s->modes[i].active;
    return k;
}

static void loop(struct startup *s)
{
    struct cvb *b = s->b;
    int warm = b->conf.warmup, total = warm + b->conf.iterations;
    size_t order[CONTAINERV_MODE_COUNT];
    uint64_t seed = 0x2545f4914f6cdd1dull;
    b->total = (uint64_t)total * count_active(s);
    for (int it = 0; it < total && !cvb_cancelled(b); it++) {
        cvb_shuffle(order, s->n, &seed);
        for (size_t k = 0; k < s->n && !cvb_cancelled(b); k++) {
            struct mode_run *m = &s->modes[order[k]];
            if (!m->active)
                continue;
            uint64_t ns = 0;
            char why[300];
            if (run_once(s, m, &ns, why, sizeof(why)) < 0) {
                fail_mode(m, it, warm, why);
                b->total -= (uint64_t)(total - it - 1);
            } else if (it >= warm) {
                m->res->samples_ns[m->res->n_samples++] = ns;
                add_metrics(&m->sum, &m->last);
                for (int i = 0; i < 4; i++)
                    m->stage_sum[i] += m->last_stage[i];
            }
            cvb_progress(b, "startup", 1);
        }
    }
}

/* ------------------------------------------------------------ results */

static void means(struct mode_run *m)
{
    struct containerv_bench_result *r = m->res;
    uint64_t n = r->n_samples;
    if ((m->mode != CONTAINERV_MODE_COLD && m->mode != CONTAINERV_MODE_COLD_HEAP) || n == 0)
        return;
    struct containerv_startup_metrics *p = &r->phases;
    p->total_startup_ns = m->sum.total_startup_ns / n;
    p->layer_mount_ns = m->sum.layer_mount_ns / n;
    p->namespace_setup_ns = m->sum.namespace_setup_ns / n;
    p->security_setup_ns = m->sum.security_setup_ns / n;
    p->network_setup_ns = m->sum.network_setup_ns / n;
    p->resource_alloc_ns = m->sum.resource_alloc_ns / n;
    p->first_process_ns = m->sum.first_process_ns / n;
    r->create_us = (double)m->stage_sum[0] / (double)n / 1e3;
    r->spawn_wait_us = (double)m->stage_sum[1] / (double)n / 1e3;
    r->destroy_us = (double)m->stage_sum[2] / (double)n / 1e3;
    r->teardown_us = (double)m->stage_sum[3] / (double)n / 1e3;
    r->has_phases = true;
}

static const char *const ratio_pairs[][2] = {
    {"cold", "floor-ns"}, {"cold", "floor"},     {"floor-ns", "floor"}, {"cold-cli", "crun"},
    {"cold-cli", "runc"}, {"cold-cli", "bwrap"}, {"cold", "crun"},      {"cold", "runc"},
    {"cold", "bwrap"},    {"cold-cli", "cold"},  {"crun", "floor-ns"},
    {"pooled", "floor"},  {"pooled", "cold"},    {"pooled-cli", "crun"},  {"cold-heap", "cold"},
    {"oci", "crun"},      {"oci", "runc"},       {"oci", "cold-cli"},
    {"podman", "podman-runc"},
};

static int p50_ratio(struct cvb *b, const char *a, const char *c, double *out)
{
    const struct containerv_bench_result *x = containerv_bench_find(b->rep, a);
    const struct containerv_bench_result *y = containerv_bench_find(b->rep, c);
    if (!x || !y || !x->n_samples || !y->n_samples || y->p50_us <= 0)
        return -ENOENT;
    *out = x->p50_us / y->p50_us;
    return 0;
}

static int ratios(struct cvb *b)
{
    double v;
    int r = 0;
    for (size_t i = 0; r == 0 && i < sizeof(ratio_pairs) / sizeof(ratio_pairs[0]); i++) {
        char name[64];
        snprintf(name, sizeof(name), "%s/%s", ratio_pairs[i][0], ratio_pairs[i][1]);
        if (p50_ratio(b, ratio_pairs[i][0], ratio_pairs[i][1], &v) == 0)
            r = cvb_add_ratio(b, name, v);
    }
    if (r == 0 && p50_ratio(b, "cold", "floor-ns", &v) == 0)
        r = cvb_add_target(b, "cold p50 <= 2.0 x floor-ns p50", v, 2.0);
    if (r == 0 && p50_ratio(b, "cold-cli", "crun", &v) == 0)
        r = cvb_add_target(b, "cold-cli p50 <= 0.5 x crun p50", v, 0.5);
    if (r == 0 && p50_ratio(b, "pooled", "floor", &v) == 0)
        r = cvb_add_target(b, "pooled p50 <= 1.3 x floor p50", v, 1.3);
    if (r == 0 && p50_ratio(b, "oci", "crun", &v) == 0)
        r = cvb_add_target(b, "oci p50 <= 0.35 x crun p50", v, 0.35);
    if (r == 0 && p50_ratio(b, "pooled-cli", "crun", &v) == 0)
        r = cvb_add_target(b, "pooled-cli p50 <= 0.25 x crun p50", v, 0.25);
    if (r == 0 && p50_ratio(b, "cold-heap", "cold", &v) == 0)
        r = cvb_add_target(b, "cold-heap p50 <= 1.15 x cold p50", v, 1.15);
    /* what switching runtimes saves a podman user: podman's own work is most of it */
    if (r == 0 && p50_ratio(b, "podman", "podman-runc", &v) == 0)
        r = cvb_add_target(b, "podman p50 <= 1.0 x podman-runc p50", v, 1.0);
    return r < 0 ? cv_error(b->err, -r, "bench.startup", "allocating ratios") : 0;
}

int cvb_startup(struct cvb *b)
{
    struct startup s = {.b = b};
    b->rep->iterations = b->conf.iterations;
    b->rep->warmup = b->conf.warmup;
    int r = add_modes(&s);
    if (r == 0)
        loop(&s);
    cvb_podman_cleanup(b, &s.podman);
    for (size_t i = 0; i < s.n; i++) {
        struct mode_run *m = &s.modes[i];
        if (r == 0 && cvb_stats(m->res) < 0)
            r = cv_error(b->err, ENOMEM, "bench.startup", "sorting samples");
        means(m);
        heap_caller_stop(m);
        containerv_options_free(m->opts);
        if (m->daemon.pid > 0) {
            int code = cvb_daemon_stop(&m->daemon);
            if (code != 0 && r == 0)
                r = cv_error_plain(b->err, EIO, "bench.daemon",
                                   "the pool daemon exited with %d after SIGTERM", code);
        }
        if (m->pool) {
            struct containerv_error pe;
            cvb_pool_figures(m->pool, m->res);
            if (containerv_pool_destroy(m->pool, &pe) < 0 && r == 0)
                r = cv_error_plain(b->err, pe.code, "bench.pool", "%s", pe.message);
            if (containerv_teardown_wait(&pe) < 0 && r == 0)
                r = cv_error_plain(b->err, pe.code, "bench.pool", "%s", pe.message);
        }
    }
    return r == 0 ? ratios(b) : r;
}
