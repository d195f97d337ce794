/* containerv bench: the benchmark suite (src/bench) as a command: a table on
 * stdout, a progress bar on a terminal, JSON and SVG files. */
#include "cli.h"

#include <containerv/benchmark.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cmd_bench(int argc, char **argv, const struct cli_global *g);

static const char bench_usage[] =
    "Usage: containerv bench startup|throughput|memory|io|monitor|seccomp|all [OPTIONS]\n"
    "\n"
    "Measure containerv against the kernel's floor and against crun, runc and\n"
    "bubblewrap (when installed), in the same run. See docs/benchmarks.md.\n"
    "\n"
    "  startup     /bin/true from the default rootfs: floor, floor-ns, cold,\n"
    "              pooled, pooled-cli, cold-heap (cold from a process holding\n"
    "              --caller-heap of touched memory),\n"
    "              cold-cli, oci (the OCI CLI: create, start, wait, delete on\n"
    "              the peers' bundle), crun, runc, bwrap; p50/p90/p99 and ratios\n"
    "  throughput  containers run to completion per second: floor, floor-ns, cold,\n"
    "              crun, pooled\n"
    "  memory      memory per idle container: cold and crun (each running\n"
    "              sleep), pooled (warm containers of a pool)\n"
    "  io          sequential and random MB/s in a container and on the host\n"
    "  monitor     runtime metrics: CPU per sample over N monitored containers,\n"
    "              cold start with and without monitoring\n"
    "  seccomp     the built-in seccomp filter: load time, and ns per system call\n"
    "              with and without it\n"
    "  all         all five\n"
    "\n"
    "Options:\n"
    "  -n, --iterations N         startup, seccomp: measured runs per mode (default 100)\n"
    "      --warmup N             startup, seccomp: unmeasured runs per mode first (default 3)\n"
    "      --modes LIST           startup: modes to run, comma-separated (default all\n"
    "                             but podman and podman-runc, which are asked by name);\n"
    "                             memory: pooled runs when the list has it\n"
    "  -c, --concurrency C        throughput: workers (default 2)\n"
    "  -d, --duration S           throughput: seconds per mode; monitor: seconds of\n"
    "                             sampling (default 5)\n"
    "      --containers N         memory: idle containers per mode (default 100)\n"
    "      --monitored N          monitor: containers sampled at once (default 200)\n"
    "      --monitor-interval MS  monitor: their interval in ms (default 100)\n"
    "      --io-size SIZE         io: file size, e.g. 64M (default 64M)\n"
    "      --caller-heap SIZE     startup, cold-heap: the creating process's touched\n"
    "                             memory, e.g. 4G (default 4G; at most half of the\n"
    "                             machine's available memory)\n"
    "      --rootfs DIR           the rootfs to run (default: the built-in one)\n"
    "      --no-peers             throughput, memory: containerv only\n"
    "      --json FILE            write the results as JSON\n"
    "      --svg FILE             write a chart as SVG\n"
    "  -h, --help                 show this help\n";

enum { OPT_WARMUP = 0x300, OPT_MODES, OPT_CONTAINERS, OPT_IO_SIZE, OPT_ROOTFS, OPT_NO_PEERS,
       OPT_JSON, OPT_SVG, OPT_MONITORED, OPT_MONITOR_INTERVAL, OPT_CALLER_HEAP };

static const struct option bench_opts[] = {
    {"iterations", required_argument, NULL, 'n'},
    {"warmup", required_argument, NULL, OPT_WARMUP},
    {"modes", required_argument, NULL, OPT_MODES},
    {"concurrency", required_argument, NULL, 'c'},
    {"duration", required_argument, NULL, 'd'},
    {"containers", required_argument, NULL, OPT_CONTAINERS},
    {"monitored", required_argument, NULL, OPT_MONITORED},
    {"monitor-interval", required_argument, NULL, OPT_MONITOR_INTERVAL},
    {"caller-heap", required_argument, NULL, OPT_CALLER_HEAP},
    {"io-size", required_argument, NULL, OPT_IO_SIZE},
    {"rootfs", required_argument, NULL, OPT_ROOTFS},
    {"no-peers", no_argument, NULL, OPT_NO_PEERS},
    {"json", required_argument, NULL, OPT_JSON},
    {"svg", required_argument, NULL, OPT_SVG},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

struct bar_state {
    int last; /* permille shown, -1 for none */
    const char *what;
};

struct bench_args {
    struct containerv_bench_config cfg;
    struct bar_state bar; /* cfg.progress_data: lives as long as cfg does */
    const char *json, *svg;
    bool kinds[CONTAINERV_BENCH_KIND_COUNT];
};

static volatile sig_atomic_t cancelled;

static void on_signal(int sig)
{
    (void)sig;
    cancelled = 1;
}

/* ------------------------------------------------------------ options */

/* A positive int option; false after an error message. */
static bool int_arg(const char *opt, const char *arg, int min, int *out)
{
    uint32_t v;

    if (!cli_parse_u32(arg, &v) || v > 1000000 || (int)v < min) {
        cli_error("bench: %s: expected a whole number >= %d, got '%s'", opt, min, arg);
        return false;
    }
    *out = (int)v;
    return true;
}

static bool modes_arg(const char *arg, unsigned *mask)
{
    char buf[256];
    char *save = NULL;

    snprintf(buf, sizeof(buf), "%s", arg);
    *mask = 0;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        int m = 0;
        while (m < CONTAINERV_MODE_COUNT &&
               strcmp(t, containerv_bench_mode_name((enum containerv_bench_mode)m)) != 0)
            m++;
        if (m == CONTAINERV_MODE_COUNT) {
            cli_error("bench: --modes: unknown mode '%s' (floor, floor-ns, cold, cold-cli, crun, "
                      "runc, bwrap, pooled, pooled-cli, cold-heap, oci, podman, podman-runc)", t);
            return false;
        }
        *mask |= 1u << m;
    }
    if (!*mask)
        cli_error("bench: --modes: no mode given");
    return *mask != 0;
}

static bool size_arg(const char *arg, const char *opt, uint64_t *out)
{
    if (containerv_parse_size(arg, out) < 0 || *out < (1u << 20)) {
        cli_error("bench: %s: expected a size of at least 1M, got '%s'", opt, arg);
        return false;
    }
    return true;
}

/* One option: true when handled without error. */
static bool bench_option(struct bench_args *ba, int opt, const char *arg)
{
    struct containerv_bench_config *c = &ba->cfg;

    switch (opt) {
    case 'n': return int_arg("--iterations", arg, 1, &c->iterations);
    case OPT_WARMUP: return int_arg("--warmup", arg, 0, &c->warmup);
    case OPT_MODES: return modes_arg(arg, &c->modes);
    case 'c': return int_arg("--concurrency", arg, 1, &c->concurrency);
    case 'd': return int_arg("--duration", arg, 1, &c->duration_s);
    case OPT_CONTAINERS: return int_arg("--containers", arg, 1, &c->containers);
    case OPT_MONITORED: return int_arg("--monitored", arg, 1, &c->monitored);
    case OPT_MONITOR_INTERVAL: return int_arg("--monitor-interval", arg, 10, &c->monitor_interval_ms);
    case OPT_IO_SIZE: return size_arg(arg, "--io-size", &c->io_bytes);
    case OPT_CALLER_HEAP: return size_arg(arg, "--caller-heap", &c->caller_heap);
    case OPT_ROOTFS: c->rootfs = arg; return true;
    case OPT_NO_PEERS: c->peers = false; return true;
    case OPT_JSON: ba->json = arg; return true;
    case OPT_SVG: ba->svg = arg; return true;
    default: return false;
    }
}

static bool kind_arg(const char *arg, bool kinds[CONTAINERV_BENCH_KIND_COUNT])
{
    if (strcmp(arg, "all") == 0) {
        for (int k = 0; k < CONTAINERV_BENCH_KIND_COUNT; k++)
            kinds[k] = true;
        return true;
    }
    for (int k = 0; k < CONTAINERV_BENCH_KIND_COUNT; k++) {
        if (strcmp(arg, containerv_bench_kind_name((enum containerv_bench_kind)k)) == 0) {
            kinds[k] = true;
            return true;
        }
    }
    cli_error("bench: unknown benchmark '%s' (startup, throughput, memory, io, monitor, seccomp, all)", arg);
    return false;
}

/* Returns -1 to go on, else the exit code. */
static int parse_bench(int argc, char **argv, struct bench_args *ba)
{
    int opt;

    opterr = 0;
    /* options may come before or after the benchmark's name */
    while ((opt = getopt_long(argc, argv, ":hn:c:d:", bench_opts, NULL)) != -1) {
        if (opt == 'h')
            return cli_usage(bench_usage);
        if (opt == '?' || opt == ':')
            return cli_getopt_error("bench", opt, argv);
        if (!bench_option(ba, opt, optarg))
            return CLI_EXIT_RUNTIME;
    }
    if (optind >= argc) {
        fputs(bench_usage, stderr);
        return CLI_EXIT_RUNTIME;
    }
    if (optind + 1 < argc) {
        cli_error("bench: unexpected argument '%s'", argv[optind + 1]);
        return CLI_EXIT_RUNTIME;
    }
    return kind_arg(argv[optind], ba->kinds) ? -1 : CLI_EXIT_RUNTIME;
}

/* ------------------------------------------------------------ progress */

static void progress(void *data, const char *what, uint64_t done, uint64_t total)
{
    struct bar_state *b = data;
    int pm = total ? (int)(done * 1000 / total) : 0;
    char bar[41];

    if (pm == b->last && what == b->what)
        return;
    b->last = pm;
    b->what = what;
    for (int i = 0; i < 40; i++)
        bar[i] = i < pm * 40 / 1000 ? '#' : '.';
    bar[40] = '\0';
    fprintf(stderr, "\r%-10s [%s] %5.1f%%", what, bar, pm / 10.0);
    fflush(stderr);
}

static void progress_end(struct bar_state *b)
{
    if (b->last >= 0)
        fputs("\r\033[K", stderr);
    b->last = -1;
}

/* ------------------------------------------------------------ tables */

static void print_startup(const struct containerv_bench_report *r)
{
    printf("startup: /bin/true from %s, %d measured runs per mode after %d warm-up, interleaved\n",
           r->rootfs, r->iterations, r->warmup);
    printf("environment: %s\n", r->environment);
    if (r->caller_heap)
        printf("cold-heap: cold from a process holding %llu MiB of touched memory\n",
               (unsigned long long)(r->caller_heap >> 20));
    printf("\n%-10s %10s %10s %10s %10s\n", "mode", "p50 µs", "p90 µs", "p99 µs", "mean µs");
    for (size_t i = 0; i < r->n_results; i++) {
        const struct containerv_bench_result *m = &r->results[i];
        if (!m->n_samples)
            printf("%-10s skipped: %s\n", m->name, m->skipped[0] ? m->skipped : "cancelled");
        else
            printf("%-10s %10.1f %10.1f %10.1f %10.1f\n", m->name, m->p50_us, m->p90_us, m->p99_us,
                   m->mean_us);
    }
}

static void print_seccomp(const struct containerv_bench_report *r)
{
    printf("seccomp: %d samples per mode after %d warm-up, interleaved, each in a fresh process\n",
           r->iterations, r->warmup);
    printf("environment: %s\n\n", r->environment);
    printf("%-17s %10s %10s %10s %10s\n", "mode", "p50", "p90", "p99", "mean");
    for (size_t i = 0; i < r->n_results; i++) {
        const struct containerv_bench_result *m = &r->results[i];
        if (!m->n_samples)
            printf("%-17s skipped: %s\n", m->name, m->skipped[0] ? m->skipped : "cancelled");
        else
            printf("%-17s %10.1f %10.1f %10.1f %10.1f  %s\n", m->name, m->p50_us, m->p90_us, m->p99_us,
                   m->mean_us, strcmp(m->name, "load") ? "ns per call" : "µs per load");
    }
}

/* The pooled modes: how the returned containers were taken back. */
static void print_pools(const struct containerv_bench_report *r)
{
    for (size_t i = 0; i < r->n_results; i++) {
        const struct containerv_bench_result *m = &r->results[i];
        if (m->has_pool && !m->skipped[0])
            printf("%s%s pool: %llu returns reset in place (mean %.1f µs from return to the init's "
                   "answer), %llu replaced\n",
                   r->kind == CONTAINERV_BENCH_STARTUP ? "\n" : "", m->name,
                   (unsigned long long)m->pool_resets, m->pool_reset_us,
                   (unsigned long long)m->pool_replaces);
    }
}

static void print_cold(const struct containerv_bench_report *r)
{
    const struct containerv_bench_result *c = containerv_bench_find(r, "cold");
    const struct containerv_startup_metrics *p;
    double sum;

    if (!c || !c->has_phases)
        return;
    p = &c->phases;
    sum = (double)(p->layer_mount_ns + p->namespace_setup_ns + p->security_setup_ns +
                   p->network_setup_ns + p->resource_alloc_ns) / 1e3;
    printf("\ncold, mean per run (µs): create %.1f, spawn + wait %.1f, destroy %.1f\n", c->create_us,
           c->spawn_wait_us, c->destroy_us);
    printf("  then in the background, drained between runs (not timed): teardown %.1f\n", c->teardown_us);
    printf("cold phases (mean µs): layer_mount %.1f, namespace_setup %.1f, security_setup %.1f,\n"
           "  network_setup %.1f, resource_alloc %.1f, first_process %.1f\n",
           p->layer_mount_ns / 1e3, p->namespace_setup_ns / 1e3, p->security_setup_ns / 1e3,
           p->network_setup_ns / 1e3, p->resource_alloc_ns / 1e3, p->first_process_ns / 1e3);
    printf("  create phases sum to %.1f of create's own total %.1f (%.0f%%; child phases overlap the\n"
           "  host's resource_alloc)\n",
           sum, p->total_startup_ns / 1e3, p->total_startup_ns ? 100.0 * sum * 1e3 / (double)p->total_startup_ns : 0.0);
}

static void print_ratios(const struct containerv_bench_report *r, const char *what)
{
    if (r->n_ratios)
        printf("\nratios (%s):\n", what);
    for (size_t i = 0; i < r->n_ratios; i++)
        printf("  %-34s %8.3f\n", r->ratios[i].name, r->ratios[i].value);
    if (r->n_targets)
        printf("\ntargets (reported, not asserted):\n");
    for (size_t i = 0; i < r->n_targets; i++)
        printf("  %-34s %6.3f  %s\n", r->targets[i].name, r->targets[i].value,
               r->targets[i].holds ? "met" : "NOT met");
}

static void print_values(const struct containerv_bench_report *r)
{
    for (size_t i = 0; i < r->n_results; i++) {
        const struct containerv_bench_result *m = &r->results[i];
        if (m->skipped[0])
            printf("%-10s skipped: %s\n", m->name, m->skipped);
        else if (r->kind == CONTAINERV_BENCH_THROUGHPUT)
            printf("%-10s %10.1f containers/s (%llu runs)\n", m->name, m->containers_per_s,
                   (unsigned long long)m->completed);
        else if (r->kind == CONTAINERV_BENCH_MEMORY)
            printf("%-10s %6.0f KiB per container (drop of MemAvailable); PSS %.0f KiB + kernel "
                   "%.0f KiB = %.0f KiB\n",
                   m->name, m->bytes_per_container / 1024, m->pss_bytes_per_container / 1024,
                   m->kernel_bytes_per_container / 1024,
                   (m->pss_bytes_per_container + m->kernel_bytes_per_container) / 1024);
        else
            printf("%-10s seq read %8.0f, seq write %8.0f, rand read %8.0f, rand write %8.0f MB/s\n",
                   m->name, m->seq_read_mbps, m->seq_write_mbps, m->rand_read_mbps,
                   m->rand_write_mbps);
    }
}

static void print_monitor(const struct containerv_bench_report *r)
{
    printf("monitor: %d containers (each running sleep) sampled every %d ms for %d s; then %d runs\n"
           "each of cold and cold-monitored, interleaved, after %d warm-up\n",
           r->containers, r->monitor_interval_ms, r->duration_s, r->iterations, r->warmup);
    printf("environment: %s\n\n", r->environment);
    for (size_t i = 0; i < r->n_results; i++) {
        const struct containerv_bench_result *m = &r->results[i];
        if (m->skipped[0])
            printf("%-15s skipped: %s\n", m->name, m->skipped);
        else if (m->n_samples)
            printf("%-15s p50 %8.1f µs, p90 %8.1f, p99 %8.1f, mean %8.1f%s\n", m->name, m->p50_us, m->p90_us,
                   m->p99_us, m->mean_us, m->monitor_start_us > 0 ? "" : "");
        else
            printf("%-15s %8.2f µs of CPU per container per sample (%llu samples)\n", m->name, m->sample_cpu_us,
                   (unsigned long long)m->samples_taken);
        if (m->monitor_start_us > 0)
            printf("%-15s   of which containerv_start_performance_monitoring: %.1f µs (mean)\n", "",
                   m->monitor_start_us);
    }
    print_ratios(r, "p50");
}

static void print_report(const struct containerv_bench_report *r)
{
    switch (r->kind) {
    case CONTAINERV_BENCH_MONITOR:
        print_monitor(r);
        fflush(stdout);
        return;
    case CONTAINERV_BENCH_STARTUP:
        print_startup(r);
        print_pools(r);
        print_cold(r);
        print_ratios(r, "p50");
        break;
    case CONTAINERV_BENCH_THROUGHPUT:
        printf("throughput: %d workers, %d s per mode\n", r->concurrency, r->duration_s);
        break;
    case CONTAINERV_BENCH_MEMORY:
        printf("memory: %d idle containers per mode (cold, crun: each running sleep; pooled: the warm\n"
               "containers of a pool)\n", r->containers);
        break;
    case CONTAINERV_BENCH_SECCOMP:
        print_seccomp(r);
        print_ratios(r, "p50");
        break;
    case CONTAINERV_BENCH_IO:
        printf("io: %llu MiB file; container: %s (its writable layer); host: %s (the benchmark's\n"
               "temporary directory); host-tmpfs: a tmpfs (the writable layer's file system)\n",
               (unsigned long long)(r->io_bytes >> 20), r->container_fs, r->host_fs);
        break;
    }
    if (r->kind != CONTAINERV_BENCH_STARTUP && r->kind != CONTAINERV_BENCH_SECCOMP) {
        printf("environment: %s\n\n", r->environment);
        print_values(r);
        print_pools(r);
        print_ratios(r, r->kind == CONTAINERV_BENCH_IO         ? "MB/s"
                        : r->kind == CONTAINERV_BENCH_THROUGHPUT ? "containers/s"
                                                                 : "bytes per container");
    }
    fflush(stdout);
}

/* ------------------------------------------------------------ files */

static int write_text(struct cli_outfile *of, char *text)
{
    if (!text) {
        cli_error("bench: %s: %s", of->opt, strerror(errno));
        cli_outfile_abandon(of);
        return -1;
    }
    bool bad = fputs(text, of->f) == EOF || (strcmp(of->opt, "--json") == 0 && fputc('\n', of->f) == EOF);
    free(text);
    return cli_outfile_close(of, bad);
}

/* ------------------------------------------------------------ running */

static int run_all(struct bench_args *ba, struct containerv_bench_report **reps, size_t *n)
{
    struct bar_state *bs = &ba->bar;
    struct containerv_error err;
    int rc = 0;

    bs->last = -1;
    if (isatty(STDERR_FILENO)) {
        ba->cfg.progress = progress;
        ba->cfg.progress_data = bs;
    }
    for (int k = 0; k < CONTAINERV_BENCH_KIND_COUNT && rc == 0; k++) {
        if (!ba->kinds[k])
            continue;
        containerv_error_clear(&err);
        rc = containerv_bench_run((enum containerv_bench_kind)k, &ba->cfg, &reps[*n], &err);
        progress_end(bs);
        if (rc == -ECANCELED) {
            cli_error("bench: interrupted; everything it made was removed");
            return 130;
        }
        if (rc < 0) {
            cli_lib_error(&err, rc);
            return CLI_EXIT_RUNTIME;
        }
        if (*n > 0)
            fputs("\n", stdout);
        print_report(reps[(*n)++]);
    }
    return 0;
}

static int run_bench(struct bench_args *ba)
{
    struct containerv_bench_report *reps[CONTAINERV_BENCH_KIND_COUNT] = {NULL};
    struct sigaction sa = {.sa_handler = on_signal}, old_int, old_term;
    struct cli_outfile json = {.f = NULL}, svg = {.f = NULL};
    size_t n = 0;
    int rc;

    /* the result files first: a path that cannot be written fails now, not
     * after the whole benchmark */
    if ((ba->json && cli_outfile_open(&json, "bench: --json", ba->json) < 0) ||
        (ba->svg && cli_outfile_open(&svg, "bench: --svg", ba->svg) < 0)) {
        cli_outfile_abandon(&json);
        return CLI_EXIT_RUNTIME;
    }
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    ba->cfg.cancel = &cancelled;
    rc = run_all(ba, reps, &n);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (rc == 0 && n && json.f &&
        write_text(&json, containerv_bench_json((const struct containerv_bench_report *const *)reps, n)) < 0)
        rc = CLI_EXIT_RUNTIME;
    if (rc == 0 && n && svg.f &&
        write_text(&svg, containerv_bench_svg((const struct containerv_bench_report *const *)reps, n)) < 0)
        rc = CLI_EXIT_RUNTIME;
    cli_outfile_abandon(&json); /* not filled: the benchmark failed */
    cli_outfile_abandon(&svg);
    for (size_t i = 0; i < n; i++)
        containerv_bench_report_free(reps[i]);
    return rc;
}

int cmd_bench(int argc, char **argv, const struct cli_global *g)
{
    struct bench_args ba = {0};
    int rc;

    (void)g; /* the benchmark makes and removes a runtime directory of its own */
    containerv_bench_config_init(&ba.cfg);
    rc = parse_bench(argc, argv, &ba);
    return rc >= 0 ? rc : run_bench(&ba);
}
