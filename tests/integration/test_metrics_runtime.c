/* Runtime metrics (include/containerv/metrics.h) through the shared library:
 * each figure against a workload of known shape run in the container by
 * cvtest (a CPU burner under a quota, N page faults, N O_DIRECT reads, N UDP
 * datagrams on lo, N voluntary switches, M MiB held), with wide margins:
 * these are correctness tests, never timing tests (no figure depends on how
 * fast the machine is; the CPU share is compared with what the burner
 * measured itself). Then monitoring: a container whose init dies mid-series
 * ends it with one marked sample, and nothing (fd, thread) is left; the
 * calls' errors; a handle from containerv_attach; the process list. */
#include "cvt.h"

#include <containerv/metrics.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#define BIT(m) CONTAINERV_METRIC_##m

static int count_dir(const char *path)
{
    DIR *d = opendir(path);
    int n = 0;
    if (!d)
        return -1;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static int n_fds(void) { return count_dir("/proc/self/fd") - 1; }
static int n_threads(void) { return count_dir("/proc/self/task"); }

/* The thread count once an ended thread is gone from /proc/self/task: a
 * joined thread has woken its joiner (the futex at its exit) a moment
 * before the kernel releases it, so a count just after pthread_join can
 * still see it (a loaded machine did, 3 != 2). Bounded: a guard against a
 * thread that never ends, not a timing test. */
static int n_threads_settled(int want)
{
    int n = n_threads();
    for (int i = 0; i < 2000 && n != want; i++) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
        n = n_threads();
    }
    return n;
}

static void nap_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static struct containerv_container *make(void)
{
    struct containerv_options *o = cvt_options();
    struct containerv_container *c = cvt_create(o);
    containerv_options_free(o);
    return c;
}

static void get(struct containerv_container *c, struct containerv_runtime_metrics *m)
{
    struct containerv_error err;
    int r = containerv_get_runtime_metrics_ex(c, m, &err);
    if (r < 0)
        fail_msg("containerv_get_runtime_metrics_ex: %d: %s", r, err.message);
}

static void need(const struct containerv_runtime_metrics *m, enum containerv_metric bit, const char *name)
{
    if (!containerv_metric_available(m, bit))
        fail_msg("%s is not available (cgroup v%u)", name, m->cgroup_version);
}
#define NEED(m, f) need((m), BIT(f), #f)

/* lo <= v <= hi, with the names in the message */
#define WITHIN(v, lo, hi)                                                                               \
    do {                                                                                             \
        double v_ = (double)(v), lo_ = (double)(lo), hi_ = (double)(hi);                             \
        if (v_ < lo_ || v_ > hi_)                                                                    \
            fail_msg("%s = %.1f, not within [%.1f, %.1f]", #v, v_, lo_, hi_);                          \
    } while (0)

static uint64_t cvtest_u64(struct containerv_container *c, const char *a, const char *b, const char *d)
{
    char out[256];
    int rc = cvt_cvtest(c, out, sizeof(out), a, b, d, (char *)NULL);
    if (rc != 0)
        fail_msg("cvtest %s %s %s: exit %d: %s", a, b, d ? d : "", rc, out);
    return strtoull(out, NULL, 10);
}

/* A process that writes a line when its work is done and stays until its
 * stdin closes: *in is the write end of its stdin. Returns its pid. */
static pid_t start_held(struct containerv_container *c, const char *const argv[], int *in, char *line, size_t n)
{
    int ip[2], op[2];
    assert_int_equal(pipe2(ip, O_CLOEXEC), 0);
    assert_int_equal(pipe2(op, O_CLOEXEC), 0);
    struct containerv_spawn_options so;
    containerv_spawn_options_init(&so);
    so.stdin_fd = ip[0];
    so.stdout_fd = op[1];
    so.stderr_fd = STDERR_FILENO;
    struct containerv_error err;
    pid_t pid = -1;
    int r = containerv_spawn(c, argv, &so, &pid, &err);
    close(ip[0]);
    close(op[1]);
    if (r < 0)
        fail_msg("spawn %s: %s", argv[1], err.message);
    ssize_t got = 0;
    while (got < (ssize_t)n - 1) {
        ssize_t k = read(op[0], line + got, n - 1 - (size_t)got);
        if (k <= 0)
            break;
        got += k;
        if (memchr(line, '\n', (size_t)got))
            break;
    }
    line[got > 0 ? got : 0] = '\0';
    close(op[0]);
    *in = ip[1];
    return pid;
}

static void end_held(struct containerv_container *c, pid_t pid, int in)
{
    struct containerv_error err;
    int code = -1;
    close(in);
    assert_int_equal(containerv_wait(c, pid, &code, &err), 0);
    assert_int_equal(code, 0);
}

/* ------------------------------------------------------------ one-shot figures */

/* The first sample of a handle: levels and counters, no rate (no interval);
 * the bits say what the host has, and an unavailable field holds 0. */
static void test_first_sample(void **state)
{
    struct cvt_fixture *f = *state;
    struct containerv_runtime_metrics m;
    get(f->c, &m);
    assert_int_equal(m.sequence, 1);
    assert_int_equal(m.interval_ns, 0);
    assert_true(m.cgroup_version == 1 || m.cgroup_version == 2);
    NEED(&m, CPU_USAGE_NS);
    NEED(&m, MEMORY_USAGE_BYTES);
    NEED(&m, MEMORY_LIMIT_BYTES);
    NEED(&m, MEMORY_UTILIZATION_PERCENT);
    NEED(&m, PAGE_FAULTS);
    NEED(&m, TASKS);
    NEED(&m, NETWORK_RX_PACKETS); /* its own network namespace */
    NEED(&m, CPU_CONTEXT_SWITCHES);
    NEED(&m, IO_READ_OPS); /* v1: the container is in a blkio cgroup; v2: io is on for it */
    if (m.cgroup_version == 2 && access("/proc/pressure/cpu", R_OK) == 0)
        NEED(&m, CPU_PRESSURE);
    assert_true(m.tasks >= 1);
    assert_false(containerv_metric_available(&m, BIT(CPU_UTILIZATION_PERCENT)));
    assert_false(containerv_metric_available(&m, BIT(PAGE_FAULTS_PER_SEC)));
    size_t n;
    const struct containerv_metric_field *fl = containerv_runtime_metric_fields(&n);
    for (size_t i = 0; i < n; i++) {
        if (!containerv_metric_available(&m, fl[i].bit) && containerv_metric_value(&m, &fl[i]) != 0)
            fail_msg("%s is unavailable but not 0", fl[i].name);
    }
    if (m.cgroup_version == 1) /* no per-cgroup pressure on v1 */
        assert_false(containerv_metric_available(&m, BIT(CPU_PRESSURE)));
    if (m.cache_source != CONTAINERV_CACHE_PERF_LLC) /* no hardware counters: no hits */
        assert_false(containerv_metric_available(&m, BIT(MEMORY_CACHE_HITS)));
    struct containerv_runtime_metrics m2;
    get(f->c, &m2); /* the second: rates, over the time since the first */
    assert_int_equal(m2.sequence, 2);
    assert_true(m2.interval_ns > 0);
    assert_int_equal(m2.interval_ns, m2.timestamp_ns - m.timestamp_ns);
    NEED(&m2, CPU_UTILIZATION_PERCENT);
    NEED(&m2, PAGE_FAULTS_PER_SEC);
    NEED(&m2, NETWORK_PACKETS_PER_SEC);
}

/* --cpus 0.5 and a burner: the container's CPU time grows by what the
 * burner measured itself (plus the start of a static binary), its share
 * is the same as the burner's, and never above the quota. */
static void test_cpu_burner(void **state)
{
    struct cvt_fixture *f = *state;
    struct containerv_runtime_metrics a, b;
    get(f->c, &a);
    char out[256];
    int rc = cvt_cvtest(f->c, out, sizeof(out), "burn", "2", (char *)NULL);
    assert_int_equal(rc, 0);
    unsigned long long cpu = 0, wall = 0;
    assert_int_equal(sscanf(out, "%llu %llu", &cpu, &wall), 2);
    get(f->c, &b);
    NEED(&b, CPU_UTILIZATION_PERCENT);
    double delta = (double)(b.cpu_usage_ns - a.cpu_usage_ns);
    print_message("burner: %.1f ms of CPU in %.1f ms; cgroup: +%.1f ms, %.1f%% over %.1f ms\n", cpu / 1e6,
                  wall / 1e6, delta / 1e6, b.cpu_utilization_percent, b.interval_ns / 1e6);
    WITHIN(delta, (double)cpu, (double)cpu * 1.1 + 50e6);
    WITHIN(b.cpu_utilization_percent, 100.0 * delta / (double)b.interval_ns - 0.01,
           100.0 * delta / (double)b.interval_ns + 0.01);
    /* over a 2 s burn the quota allows at most 50% (+ one period) */
    WITHIN(b.cpu_utilization_percent, 0, 60);
    WITHIN(100.0 * (double)cpu / (double)wall, 0, 60);
    /* the burner's own share, seen over a slightly longer interval */
    WITHIN(b.cpu_utilization_percent, 0.8 * 100.0 * (double)cpu / (double)b.interval_ns,
           100.0 * (double)cpu / (double)wall * 1.1 + 5);
    if (containerv_metric_available(&b, BIT(CPU_THROTTLED_PERIODS)) && 100.0 * (double)cpu / (double)wall > 40)
        assert_true(b.cpu_throttled_periods > a.cpu_throttled_periods);
}

/* N fresh pages touched: N minor faults in the cgroup's counter */
static void test_page_faults(void **state)
{
    struct cvt_fixture *f = *state;
    struct containerv_runtime_metrics a, b;
    const uint64_t n = 5000;
    get(f->c, &a);
    uint64_t seen = cvtest_u64(f->c, "faults", "5000", NULL);
    get(f->c, &b);
    NEED(&b, PAGE_FAULTS_PER_SEC);
    uint64_t delta = b.page_faults - a.page_faults;
    print_message("faults: cvtest saw %llu, the cgroup counted %llu\n", (unsigned long long)seen,
                  (unsigned long long)delta);
    assert_true(seen >= n);
    WITHIN(delta, n, n * 1.1 + 300); /* + loading a static binary */
    WITHIN(b.page_faults_per_sec, delta * 1e9 / (double)b.interval_ns - 1, delta * 1e9 / (double)b.interval_ns + 1);
}

/* M MiB held: memory usage at least M, at most M + a margin; the share of
 * the limit */
static void test_memory_held(void **state)
{
    struct cvt_fixture *f = *state;
    static const char *const argv[] = {"cvtest", "hold", "48", NULL};
    char line[64];
    int in;
    pid_t pid = start_held(f->c, argv, &in, line, sizeof(line));
    assert_string_equal(line, "held\n");
    struct containerv_runtime_metrics m;
    get(f->c, &m);
    NEED(&m, MEMORY_USAGE_BYTES);
    print_message("memory: %.1f MiB of %.1f MiB (%.1f%%)\n", m.memory_usage_bytes / 1048576.0,
                  m.memory_limit_bytes / 1048576.0, m.memory_utilization_percent);
    assert_int_equal(m.memory_limit_bytes, 128u << 20);
    WITHIN(m.memory_usage_bytes, 48u << 20, 72u << 20);
    assert_true(m.memory_charged_bytes >= m.memory_usage_bytes);
    WITHIN(m.memory_utilization_percent, 37.5, 56.3);
    end_held(f->c, pid, in);
}

/* N reads with O_DIRECT of a file on a block device (a bind mount of the
 * test's directory): N read requests in the cgroup's block I/O counters.
 * Skipped where the test's directory is not on a block device (the VM's
 * root is a tmpfs: no block I/O can be made there). */
static void test_io_reads(void **state)
{
    char dir[400], file[420];
    struct stat st;
    snprintf(dir, sizeof(dir), "%s/data", cvt.tmp);
    snprintf(file, sizeof(file), "%s/f", dir);
    assert_int_equal(mkdir(dir, 0755), 0);
    int fd = open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    static char block[1 << 16];
    memset(block, 'x', sizeof(block));
    for (int i = 0; i < 16; i++) /* 1 MiB */
        assert_int_equal(write(fd, block, sizeof(block)), (ssize_t)sizeof(block));
    assert_int_equal(fsync(fd), 0);
    close(fd);
    assert_int_equal(stat(file, &st), 0);
    if (major(st.st_dev) == 0) {
        unlink(file), rmdir(dir);
        print_message("skipped: %s is not on a block device\n", dir);
        skip();
    }
    struct containerv_options *o = cvt_options();
    assert_int_equal(containerv_options_add_bind(o, dir, "/data", true), 0);
    struct containerv_container *c = cvt_create(o);
    containerv_options_free(o);
    struct containerv_runtime_metrics a, b;
    get(c, &a);
    uint64_t n = cvtest_u64(c, "dread", "/data/f", "300");
    get(c, &b);
    NEED(&b, IO_READ_OPS_PER_SEC);
    uint64_t ops = b.io_read_ops - a.io_read_ops;
    print_message("io: %llu O_DIRECT reads, the cgroup counted %llu read requests, %llu bytes\n",
                  (unsigned long long)n, (unsigned long long)ops, (unsigned long long)(b.io_read_bytes - a.io_read_bytes));
    WITHIN(ops, n, n * 1.1 + 30);
    if (containerv_metric_available(&b, BIT(IO_READ_BYTES)))
        WITHIN(b.io_read_bytes - a.io_read_bytes, n * 4096, (n * 1.1 + 30) * 4096 * 32);
    cvt_destroy(c);
    unlink(file), rmdir(dir);
}

/* N datagrams to itself on lo: 2N packets (sent, received) in its netns */
static void test_packets(void **state)
{
    struct cvt_fixture *f = *state;
    struct containerv_runtime_metrics a, b;
    get(f->c, &a);
    uint64_t n = cvtest_u64(f->c, "udp", "400", NULL);
    get(f->c, &b);
    NEED(&b, NETWORK_PACKETS_PER_SEC);
    uint64_t pk = (b.network_rx_packets + b.network_tx_packets) - (a.network_rx_packets + a.network_tx_packets);
    print_message("net: %llu datagrams, %llu packets\n", (unsigned long long)n, (unsigned long long)pk);
    WITHIN(pk, 2 * n, 2 * n * 1.1 + 10);
    assert_int_equal(b.network_rx_packets - a.network_rx_packets, b.network_tx_packets - a.network_tx_packets);
    WITHIN(b.network_packets_per_sec, pk * 1e9 / (double)b.interval_ns - 1, pk * 1e9 / (double)b.interval_ns + 1);
}

/* N sleeps: at least N voluntary switches, counted while the thread lives */
static void test_context_switches(void **state)
{
    struct cvt_fixture *f = *state;
    static const char *const argv[] = {"cvtest", "switches", "400", NULL};
    struct containerv_runtime_metrics a, b;
    char line[64];
    int in;
    get(f->c, &a);
    pid_t pid = start_held(f->c, argv, &in, line, sizeof(line));
    assert_string_equal(line, "done\n");
    get(f->c, &b);
    NEED(&b, CPU_CONTEXT_SWITCHES_PER_SEC);
    uint64_t d = b.cpu_context_switches - a.cpu_context_switches;
    print_message("switches (%s): +%llu, %.0f/s\n",
                  b.context_switch_source == CONTAINERV_SWITCHES_PERF ? "perf" : "threads", (unsigned long long)d,
                  b.cpu_context_switches_per_sec);
    /* within 10% below (the bound: the per-CPU cgroup events miss a
     * switch now and then, seen 386 of 400 in the VM), and above it the
     * process's start and the preemptions of a loaded machine */
    WITHIN(d, 400 * 0.9, 400 * 2 + 300);
    WITHIN(b.cpu_context_switches_per_sec, 360e9 / (double)b.interval_ns, (400 * 2 + 300) * 1e9 / (double)b.interval_ns);
    end_held(f->c, pid, in);
}

/* ------------------------------------------------------------ monitoring */

static size_t history(struct containerv_container *c, struct containerv_runtime_metrics *h, size_t max)
{
    size_t n = 0;
    struct containerv_error err;
    assert_int_equal(containerv_get_runtime_metrics_history(c, h, max, &n, &err), 0);
    return n;
}

/* wait (bounded: a guard against hangs, not a timing test) for n samples */
static size_t wait_samples(struct containerv_container *c, struct containerv_runtime_metrics *h, size_t max,
                           size_t want)
{
    size_t n = 0;
    for (int i = 0; i < 3000 && (n = history(c, h, max)) < want; i++)
        nap_ms(10);
    if (n < want)
        fail_msg("only %zu of %zu samples after 30 s", n, want);
    return n;
}

/* A monitored container whose init is killed: one last sample marked
 * ENDED, then none; the series' fds are closed at once, and stop ends the
 * thread and leaves nothing. */
static void test_monitor_exit_mid_series(void **state)
{
    (void)state;
    int fds0 = n_fds(), threads0 = n_threads();
    struct containerv_container *c = make();
    struct containerv_monitor_options mo;
    containerv_monitor_options_init(&mo);
    mo.interval_ms = 20;
    mo.history = 1000;
    struct containerv_error err;
    int fds1 = n_fds();
    assert_int_equal(containerv_start_performance_monitoring_ex(c, &mo, &err), 0);
    assert_int_equal(n_threads(), threads0 + 1);
    static struct containerv_runtime_metrics h[1000];
    size_t n = wait_samples(c, h, 1000, 5);
    for (size_t i = 1; i < n; i++) {
        assert_int_equal(h[i].sequence, h[i - 1].sequence + 1);
        assert_int_equal(h[i].interval_ns, h[i].timestamp_ns - h[i - 1].timestamp_ns);
        assert_false(h[i].flags & CONTAINERV_METRICS_ENDED);
    }
    assert_int_equal(kill(containerv_init_pid(c), SIGKILL), 0);
    struct containerv_runtime_metrics m;
    for (int i = 0; i < 3000; i++) {
        get(c, &m);
        if (m.flags & CONTAINERV_METRICS_ENDED)
            break;
        nap_ms(10);
    }
    assert_true(m.flags & CONTAINERV_METRICS_ENDED);
    nap_ms(100); /* five intervals: no sample may come after the end */
    n = history(c, h, 1000);
    assert_int_equal(h[n - 1].sequence, m.sequence);
    for (size_t i = 0; i + 1 < n; i++)
        assert_false(h[i].flags & CONTAINERV_METRICS_ENDED);
    assert_int_equal(n_fds(), fds1 + 3); /* the sampler's epoll, timerfd, eventfd; the series' own are closed */
    assert_int_equal(containerv_stop_performance_monitoring(c), 0);
    assert_int_equal(n_fds(), fds1);
    assert_int_equal(n_threads_settled(threads0), threads0);
    assert_int_equal(containerv_stop_performance_monitoring(c), -ENOENT);
    assert_int_equal(containerv_start_performance_monitoring(c), -ESRCH);
    cvt_destroy(c);
    assert_int_equal(containerv_teardown_wait(&err), 0);
    assert_int_equal(n_fds(), fds0);
}

/* Several containers on one thread; the errors of the calls; release of a
 * monitored handle stops its series; nothing is left. */
static void test_monitor_many(void **state)
{
    (void)state;
    enum { N = 4 };
    int fds0 = n_fds(), threads0 = n_threads();
    struct containerv_container *c[N];
    struct containerv_monitor_options mo;
    struct containerv_error err;
    containerv_monitor_options_init(&mo);
    assert_int_equal(mo.interval_ms, 1000);
    assert_int_equal(mo.history, 60);
    mo.interval_ms = 5;
    assert_int_equal(containerv_start_performance_monitoring_ex(NULL, &mo, &err), -EINVAL);
    for (int i = 0; i < N; i++)
        c[i] = make();
    assert_int_equal(containerv_start_performance_monitoring_ex(c[0], &mo, &err), -EINVAL); /* < 10 ms */
    mo.interval_ms = 10;
    mo.history = 4;
    /* counted after the creates: a thread of the library's that they or an
     * earlier test started (the teardown reaper) is not the monitor's (a
     * fresh clone's run once saw 1 thread before the creates and 3 after) */
    threads0 = n_threads();
    for (int i = 0; i < N; i++)
        assert_int_equal(containerv_start_performance_monitoring_ex(c[i], &mo, &err), 0);
    assert_int_equal(containerv_start_performance_monitoring(c[0]), -EBUSY);
    assert_int_equal(n_threads(), threads0 + 1); /* one thread for all */
    struct containerv_runtime_metrics h[8];
    for (int i = 0; i < N; i++) {
        size_t n = wait_samples(c[i], h, 8, 4);
        assert_int_equal(n, 4); /* the history is bounded */
        assert_true(h[0].sequence >= 1);
    }
    /* the attached handle of a monitored container: a series of its own */
    struct containerv_container *att = NULL;
    assert_int_equal(containerv_attach(cvt.runtime_dir, containerv_id(c[1]), &att, &err), 0);
    assert_int_equal(containerv_start_performance_monitoring_ex(att, &mo, &err), 0);
    wait_samples(att, h, 8, 2);
    containerv_release(att); /* stops its series */
    for (int i = 0; i < N; i++)
        assert_int_equal(containerv_stop_performance_monitoring(c[i]), 0);
    assert_int_equal(n_threads_settled(threads0), threads0);
    /* an unmonitored call after monitoring: a fresh sample */
    struct containerv_runtime_metrics m;
    get(c[0], &m);
    assert_int_equal(m.sequence, 1);
    assert_int_equal(containerv_get_runtime_metrics_history(c[0], h, 8, &(size_t){0}, &err), -ENOENT);
    for (int i = 0; i < N; i++)
        cvt_destroy(c[i]);
    assert_int_equal(containerv_teardown_wait(&err), 0);
    assert_int_equal(n_fds(), fds0);
}

/* An unmonitored handle whose init dies: one last sample marked ENDED,
 * its files closed, then ESRCH. */
static void test_oneshot_after_exit(void **state)
{
    (void)state;
    int fds0 = n_fds();
    struct containerv_container *c = make();
    struct containerv_runtime_metrics m;
    struct containerv_error err;
    get(c, &m);
    int fds1 = n_fds();
    assert_true(fds1 > fds0);
    pid_t init = containerv_init_pid(c);
    assert_int_equal(kill(init, SIGKILL), 0);
    for (int i = 0; i < 3000 && kill(init, 0) == 0; i++) {
        char path[64], st[256] = "";
        snprintf(path, sizeof(path), "/proc/%d/stat", (int)init);
        FILE *fp = fopen(path, "re");
        if (fp && fgets(st, sizeof(st), fp) && strstr(st, ") Z"))
            i = 3000; /* a zombie: exited */
        if (fp)
            fclose(fp);
        else
            break;
        if (i < 3000)
            nap_ms(10);
    }
    get(c, &m);
    assert_true(m.flags & CONTAINERV_METRICS_ENDED);
    assert_int_equal(containerv_get_runtime_metrics_ex(c, &m, &err), -ESRCH);
    assert_non_null(strstr(err.message, "exited"));
    cvt_destroy(c);
    assert_int_equal(containerv_teardown_wait(&err), 0);
    assert_int_equal(n_fds(), fds0);
}

static void test_bad_calls(void **state)
{
    (void)state;
    struct containerv_runtime_metrics m;
    struct containerv_error err;
    size_t n;
    assert_int_equal(containerv_get_runtime_metrics(NULL, &m), -EINVAL);
    assert_int_equal(containerv_get_runtime_metrics_ex(NULL, &m, &err), -EINVAL);
    assert_true(err.message[0]);
    assert_int_equal(containerv_start_performance_monitoring(NULL), -EINVAL);
    assert_int_equal(containerv_stop_performance_monitoring(NULL), -EINVAL);
    assert_int_equal(containerv_get_runtime_metrics_history(NULL, &m, 1, &n, &err), -EINVAL);
    assert_int_equal(containerv_list_processes(NULL, NULL, NULL, &err), -EINVAL);
    size_t nf;
    const struct containerv_metric_field *f = containerv_runtime_metric_fields(&nf);
    assert_true(nf >= 40);
    for (size_t i = 0; i < nf; i++) {
        assert_true((unsigned)f[i].bit < CONTAINERV_METRIC_COUNT);
        assert_true(f[i].offset + 8 <= sizeof(struct containerv_runtime_metrics));
    }
}

/* ------------------------------------------------------------ processes */

/* A container with more threads than are followed: no switch figure, no
 * fd per thread kept, the other figures there. */
static void test_many_threads(void **state)
{
    struct cvt_fixture *f = *state;
    static const char *const argv[] = {"cvtest", "threads", "1100", NULL};
    struct containerv_runtime_metrics m;
    char line[64];
    int in;
    pid_t pid = start_held(f->c, argv, &in, line, sizeof(line));
    assert_string_equal(line, "threads\n");
    int fds = n_fds();
    get(f->c, &m);
    get(f->c, &m);
    assert_true(n_fds() < fds + 64);
    NEED(&m, TASKS);
    assert_true(m.tasks > 1100);
    NEED(&m, CPU_USAGE_NS);
    if (m.context_switch_source != CONTAINERV_SWITCHES_PERF)
        assert_false(containerv_metric_available(&m, BIT(CPU_CONTEXT_SWITCHES)));
    end_held(f->c, pid, in);
}

static void test_list_processes(void **state)
{
    struct cvt_fixture *f = *state;
    static const char *const argv[] = {"cvtest", "switches", "1", "\033[2Jx\ty", NULL};
    char line[64];
    int in;
    pid_t pid = start_held(f->c, argv, &in, line, sizeof(line));
    struct containerv_process_info *p = NULL;
    struct containerv_error err;
    size_t n = 0;
    assert_int_equal(containerv_list_processes(f->c, &p, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_int_equal(p[0].pid, 1);
    assert_int_equal(p[0].ppid, 0);
    assert_int_equal(p[0].host_pid, containerv_init_pid(f->c));
    assert_string_equal(p[0].comm, "containerv-init");
    assert_int_equal(p[1].host_pid, pid);
    assert_int_equal(p[1].ppid, 1);
    assert_true(p[1].pid > 1);
    assert_string_equal(p[1].cmdline, "cvtest switches 1 ?[2Jx?y"); /* no escape reaches a terminal */
    assert_true(p[1].rss_bytes > 0);
    free(p);
    end_held(f->c, pid, in);
}

static int setup_limited(void **state)
{
    struct containerv_options *o = cvt_options();
    assert_int_equal(containerv_options_set_cpu_quota(o, 50000, 100000), 0);
    assert_int_equal(containerv_options_set_memory_limit(o, 128u << 20), 0);
    return cvt_fixture_setup_with(state, o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_first_sample, cvt_fixture_setup, cvt_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_cpu_burner, setup_limited, cvt_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_page_faults, cvt_fixture_setup, cvt_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_memory_held, setup_limited, cvt_fixture_teardown),
        cmocka_unit_test(test_io_reads),
        cmocka_unit_test_setup_teardown(test_packets, cvt_fixture_setup, cvt_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_context_switches, cvt_fixture_setup, cvt_fixture_teardown),
        cmocka_unit_test(test_monitor_exit_mid_series),
        cmocka_unit_test(test_monitor_many),
        cmocka_unit_test(test_oneshot_after_exit),
        cmocka_unit_test(test_bad_calls),
        cmocka_unit_test_setup_teardown(test_many_threads, cvt_fixture_setup, cvt_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_list_processes, cvt_fixture_setup, cvt_fixture_teardown),
    };
    return cvt_main("metrics_runtime", tests, sizeof(tests) / sizeof(tests[0]), 280);
}
