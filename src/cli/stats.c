/* containerv stats: the runtime metrics of containers (include/containerv/
 * metrics.h), a table refreshed in place (like podman stats) or JSON. */
#include "cli.h"

#include <containerv/metrics.h>

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char stats_usage[] =
    "Usage: containerv stats [OPTIONS] [ID...]\n"
    "\n"
    "Show what containers use: CPU, memory, network and block I/O, page faults,\n"
    "context switches, pressure. Without ID, every running container (the list\n"
    "is read again each round). The rates are over the interval; a figure the\n"
    "host cannot give is shown as '--' (null in JSON). See docs/metrics.md.\n"
    "\n"
    "Options:\n"
    "      --no-stream            print one round and exit (after one interval, so\n"
    "                             that the rates have one)\n"
    "      --format table|json    a table (default), or one JSON array per round\n"
    "      --interval S           seconds between rounds (default 1; at least 0.01)\n"
    "  -h, --help                 show this help\n";

enum { OPT_NO_STREAM = 0x400, OPT_FORMAT, OPT_INTERVAL };

static const struct option stats_opts[] = {
    {"no-stream", no_argument, NULL, OPT_NO_STREAM},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"interval", required_argument, NULL, OPT_INTERVAL},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

struct target {
    char id[65];
    struct containerv_container *c;
    struct containerv_runtime_metrics m;
    bool have, ended, seen; /* seen: listed in this round (all mode) */
};

struct stats {
    bool no_stream, json, all, tty;
    uint64_t interval_ns;
    char **ids;
    int n_ids;
    struct target *t;
    size_t n, cap;
    const struct cli_global *g;
};

static volatile sig_atomic_t stop_flag;

static void on_stop(int sig)
{
    (void)sig;
    stop_flag = 1;
}

/* ------------------------------------------------------------ options */

static int parse_stats(int argc, char **argv, struct stats *s)
{
    int opt;
    char *end;
    double secs;

    opterr = 0;
    while ((opt = getopt_long(argc, argv, CLI_OPTSTRING_PREFIX "h", stats_opts, NULL)) != -1) {
        switch (opt) {
        case OPT_NO_STREAM: s->no_stream = true; break;
        case OPT_FORMAT:
            if (strcmp(optarg, "json") != 0 && strcmp(optarg, "table") != 0) {
                cli_error("stats: --format: want table or json, not '%s'", optarg);
                return CLI_EXIT_RUNTIME;
            }
            s->json = strcmp(optarg, "json") == 0;
            break;
        case OPT_INTERVAL:
            errno = 0;
            secs = strtod(optarg, &end);
            if (errno || end == optarg || *end || !isfinite(secs) || secs < 0.01 || secs > 86400) {
                cli_error("stats: --interval: want seconds from 0.01 to 86400, not '%s'", optarg);
                return CLI_EXIT_RUNTIME;
            }
            s->interval_ns = (uint64_t)(secs * 1e9);
            break;
        case 'h': return cli_usage(stats_usage);
        default: return cli_getopt_error("stats", opt, argv);
        }
    }
    s->ids = argv + optind;
    s->n_ids = argc - optind;
    s->all = s->n_ids == 0;
    return -1;
}

/* ------------------------------------------------------------ targets */

static struct target *find(struct stats *s, const char *id)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->t[i].id, id) == 0)
            return &s->t[i];
    return NULL;
}

/* Attach to id (quiet: a container gone since it was listed is skipped). */
static int add(struct stats *s, const char *id, bool quiet)
{
    struct containerv_error err;
    struct containerv_container *c = NULL;
    containerv_error_clear(&err);
    int rc = containerv_attach(s->g->runtime_dir, id, &c, &err);
    if (rc < 0) {
        if (quiet)
            return 0;
        if (rc == -ENOENT)
            cli_error("stats: no container '%s'", id);
        else
            cli_lib_error(&err, rc);
        return -1;
    }
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        struct target *t = realloc(s->t, cap * sizeof(*t));
        if (!t) {
            containerv_release(c);
            cli_error("stats: out of memory");
            return -1;
        }
        s->t = t, s->cap = cap;
    }
    struct target *t = &s->t[s->n++];
    memset(t, 0, sizeof(*t));
    snprintf(t->id, sizeof(t->id), "%s", id);
    t->c = c;
    t->seen = true;
    return 0;
}

/* all mode: attach to new running containers, forget those not listed */
static int refresh_list(struct stats *s)
{
    struct containerv_info *infos = NULL;
    struct containerv_error err;
    size_t n = 0;
    containerv_error_clear(&err);
    int rc = containerv_list(s->g->runtime_dir, &infos, &n, &err);
    if (rc < 0) {
        cli_lib_error(&err, rc);
        return -1;
    }
    for (size_t i = 0; i < s->n; i++)
        s->t[i].seen = false;
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct target *t = find(s, infos[i].id);
        if (t)
            t->seen = infos[i].status == CONTAINERV_STATUS_RUNNING;
        else if (infos[i].status == CONTAINERV_STATUS_RUNNING)
            rc = add(s, infos[i].id, true);
    }
    containerv_list_free(infos);
    for (size_t i = 0; i < s->n;) {
        if (s->t[i].seen) {
            i++;
            continue;
        }
        containerv_release(s->t[i].c);
        s->t[i] = s->t[--s->n];
    }
    return rc;
}

static void release_all(struct stats *s)
{
    for (size_t i = 0; i < s->n; i++)
        containerv_release(s->t[i].c);
    free(s->t);
}

/* ------------------------------------------------------------ sampling */

static void sample_all(struct stats *s)
{
    for (size_t i = 0; i < s->n; i++) {
        struct target *t = &s->t[i];
        if (t->ended)
            continue;
        struct containerv_error err;
        t->have = containerv_get_runtime_metrics_ex(t->c, &t->m, &err) == 0;
        t->ended = !t->have || (t->m.flags & CONTAINERV_METRICS_ENDED);
    }
}

/* ------------------------------------------------------------ printing */

static bool has(const struct target *t, enum containerv_metric bit)
{
    return t->have && containerv_metric_available(&t->m, bit);
}

static void human(char *buf, size_t size, double bytes)
{
    static const char *const units[] = {"B", "kB", "MB", "GB", "TB"};
    int u = 0;
    while (bytes >= 1000 && u < 4)
        bytes /= 1000, u++;
    snprintf(buf, size, u ? "%.3g%s" : "%.0f%s", bytes, units[u]);
}

static void cell_pair(char *buf, size_t size, const struct target *t, enum containerv_metric a,
                      enum containerv_metric b, double va, double vb, bool bytes)
{
    char x[32], y[32];
    if (!has(t, a) || !has(t, b)) {
        snprintf(buf, size, "--");
        return;
    }
    if (bytes) {
        human(x, sizeof(x), va), human(y, sizeof(y), vb);
    } else {
        snprintf(x, sizeof(x), "%.0f", va), snprintf(y, sizeof(y), "%.0f", vb);
    }
    snprintf(buf, size, "%s / %s", x, y);
}

/* v with `decimals` decimals and a '%' when percent, or "--" */
static void cell_num(char *buf, size_t size, const struct target *t, enum containerv_metric bit, double v,
                     int decimals, bool percent)
{
    if (has(t, bit))
        snprintf(buf, size, "%.*f%s", decimals, v, percent ? "%" : "");
    else
        snprintf(buf, size, "--");
}

static void print_row(const struct target *t, int w)
{
    const struct containerv_runtime_metrics *m = &t->m;
    char cpu[16], mem[48], memp[16], net[48], blk[48], pids[16], pkt[24], iops[40], pf[24], csw[24];
    cell_num(cpu, sizeof(cpu), t, CONTAINERV_METRIC_CPU_UTILIZATION_PERCENT, m->cpu_utilization_percent, 2, true);
    cell_pair(mem, sizeof(mem), t, CONTAINERV_METRIC_MEMORY_USAGE_BYTES, CONTAINERV_METRIC_MEMORY_LIMIT_BYTES,
              (double)m->memory_usage_bytes, (double)m->memory_limit_bytes, true);
    cell_num(memp, sizeof(memp), t, CONTAINERV_METRIC_MEMORY_UTILIZATION_PERCENT, m->memory_utilization_percent, 2,
             true);
    cell_pair(net, sizeof(net), t, CONTAINERV_METRIC_NETWORK_RX_BYTES, CONTAINERV_METRIC_NETWORK_TX_BYTES,
              (double)m->network_rx_bytes, (double)m->network_tx_bytes, true);
    cell_pair(blk, sizeof(blk), t, CONTAINERV_METRIC_IO_READ_BYTES, CONTAINERV_METRIC_IO_WRITE_BYTES,
              (double)m->io_read_bytes, (double)m->io_write_bytes, true);
    cell_num(pids, sizeof(pids), t, CONTAINERV_METRIC_TASKS, (double)m->tasks, 0, false);
    cell_num(pkt, sizeof(pkt), t, CONTAINERV_METRIC_NETWORK_PACKETS_PER_SEC, (double)m->network_packets_per_sec, 0,
             false);
    cell_pair(iops, sizeof(iops), t, CONTAINERV_METRIC_IO_READ_OPS_PER_SEC, CONTAINERV_METRIC_IO_WRITE_OPS_PER_SEC,
              (double)m->io_read_ops_per_sec, (double)m->io_write_ops_per_sec, false);
    cell_num(pf, sizeof(pf), t, CONTAINERV_METRIC_PAGE_FAULTS_PER_SEC, (double)m->page_faults_per_sec, 0, false);
    cell_num(csw, sizeof(csw), t, CONTAINERV_METRIC_CPU_CONTEXT_SWITCHES_PER_SEC, m->cpu_context_switches_per_sec, 0,
             false);
    printf("%-*s  %8s  %-21s  %7s  %-21s  %-21s  %5s  %7s  %-13s  %8s  %7s%s\n", w, t->id, cpu, mem, memp, net, blk,
           pids, pkt, iops, pf, csw, t->ended ? "  (ended)" : "");
}

static void print_table(const struct stats *s)
{
    int w = 2;
    for (size_t i = 0; i < s->n; i++)
        if ((int)strlen(s->t[i].id) > w)
            w = (int)strlen(s->t[i].id);
    if (s->tty && !s->no_stream)
        fputs("\033[H\033[2J", stdout); /* in place, as podman stats */
    printf("%-*s  %8s  %-21s  %7s  %-21s  %-21s  %5s  %7s  %-13s  %8s  %7s\n", w, "ID", "CPU %",
           "MEM USAGE / LIMIT", "MEM %", "NET IO (RX / TX)", "BLOCK IO (R / W)", "PIDS", "PKT/S", "IOPS R / W",
           "FAULTS/S", "CSW/S");
    for (size_t i = 0; i < s->n; i++)
        print_row(&s->t[i], w);
    if (!s->tty && !s->no_stream)
        putchar('\n');
}

static const char *cache_source(uint32_t v)
{
    return v == CONTAINERV_CACHE_PERF_LLC ? "perf-llc" : v == CONTAINERV_CACHE_REFAULTS ? "page-cache-refaults" : NULL;
}

static const char *switch_source(uint32_t v)
{
    return v == CONTAINERV_SWITCHES_PERF ? "perf" : v == CONTAINERV_SWITCHES_THREADS ? "threads" : NULL;
}

static json_t *target_json(const struct target *t)
{
    const struct containerv_runtime_metrics *m = &t->m;
    size_t n;
    const struct containerv_metric_field *f = containerv_runtime_metric_fields(&n);
    const char *cs = cache_source(m->cache_source), *ss = switch_source(m->context_switch_source);
    json_t *o = json_pack("{s:s, s:b, s:i, s:I, s:I, s:I, s:o, s:o}", "id", t->id, "ended", t->ended,
                          "cgroup_version", (int)m->cgroup_version, "sequence", (json_int_t)m->sequence,
                          "timestamp_unix_ns", (json_int_t)m->timestamp_unix_ns, "interval_ns",
                          (json_int_t)m->interval_ns, "cache_source", cs ? json_string(cs) : json_null(),
                          "context_switch_source", ss ? json_string(ss) : json_null());
    for (size_t i = 0; o && i < n; i++) {
        json_t *v = !has(t, f[i].bit) ? json_null()
                    : f[i].is_double  ? json_real(containerv_metric_value(m, &f[i]))
                                      : json_integer((json_int_t)containerv_metric_value(m, &f[i]));
        if (json_object_set_new(o, f[i].name, v) < 0) {
            json_decref(o);
            o = NULL;
        }
    }
    return o;
}

static int print_json(const struct stats *s)
{
    json_t *arr = json_array();
    int rc = arr ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < s->n; i++)
        rc = s->t[i].have ? json_array_append_new(arr, target_json(&s->t[i])) : 0;
    if (rc == 0)
        rc = json_dumpf(arr, stdout, JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10) |
                                         (s->no_stream ? JSON_INDENT(2) : JSON_COMPACT));
    json_decref(arr);
    if (rc < 0) {
        cli_error("stats: cannot make JSON");
        return -1;
    }
    putchar('\n');
    return 0;
}

/* ------------------------------------------------------------ the loop */

static void sleep_until(uint64_t *deadline, uint64_t interval)
{
    struct timespec now, ts;
    clock_gettime(CLOCK_MONOTONIC, &now);
    uint64_t t = (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
    *deadline = *deadline ? *deadline + interval : t + interval;
    if (*deadline < t)
        *deadline = t; /* fell behind: no burst of catch-up rounds */
    ts.tv_sec = (time_t)(*deadline / 1000000000ull), ts.tv_nsec = (long)(*deadline % 1000000000ull);
    while (!stop_flag && clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

static bool all_ended(const struct stats *s)
{
    for (size_t i = 0; i < s->n; i++)
        if (!s->t[i].ended)
            return false;
    return true;
}

static int run(struct stats *s)
{
    uint64_t deadline = 0;
    int rc = 0;
    sample_all(s); /* the first sample: rates come with the next */
    for (;;) {
        sleep_until(&deadline, s->interval_ns);
        if (stop_flag)
            break;
        if (s->all && refresh_list(s) < 0)
            return CLI_EXIT_RUNTIME;
        sample_all(s);
        if ((s->json ? print_json(s) : (print_table(s), 0)) < 0)
            return CLI_EXIT_RUNTIME;
        fflush(stdout);
        if (s->no_stream || (!s->all && all_ended(s)))
            break;
    }
    return rc;
}

int cmd_stats(int argc, char **argv, const struct cli_global *g)
{
    struct stats s = {.interval_ns = 1000000000ull, .g = g};
    int rc = parse_stats(argc, argv, &s);
    if (rc >= 0)
        return rc;
    s.tty = isatty(STDOUT_FILENO);
    for (int i = 0; i < s.n_ids; i++) {
        if (find(&s, s.ids[i]))
            continue;
        if (add(&s, s.ids[i], false) < 0) {
            release_all(&s);
            return CLI_EXIT_RUNTIME;
        }
    }
    if (s.all && refresh_list(&s) < 0) {
        release_all(&s);
        return CLI_EXIT_RUNTIME;
    }
    struct sigaction sa = {.sa_handler = on_stop}, old_int, old_term;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    rc = run(&s);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    release_all(&s);
    return rc;
}
