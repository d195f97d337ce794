/* containerv top: the processes of a container (like podman top). */
#include "cli.h"

#include <containerv/metrics.h>

#include <errno.h>
#include <jansson.h>
#include <string.h>

static const char top_usage[] =
    "Usage: containerv top [OPTIONS] ID\n"
    "\n"
    "List the processes of the running container ID: PID and PPID as the\n"
    "container sees them, the host's pid, the user, state, threads, %CPU over\n"
    "its life, resident memory, elapsed and CPU time, and the command line.\n"
    "\n"
    "Options:\n"
    "      --json                 print a JSON array instead of a table\n"
    "  -h, --help                 show this help\n";

enum { OPT_JSON = 0x500 };

static const struct option top_opts[] = {
    {"json", no_argument, NULL, OPT_JSON},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* [[dd-]hh:]mm:ss */
static void duration(char *buf, size_t size, uint64_t ns)
{
    uint64_t s = ns / 1000000000ull;
    if (s >= 86400)
        snprintf(buf, size, "%llu-%02llu:%02llu:%02llu", (unsigned long long)(s / 86400),
                 (unsigned long long)(s / 3600 % 24), (unsigned long long)(s / 60 % 60), (unsigned long long)(s % 60));
    else if (s >= 3600)
        snprintf(buf, size, "%02llu:%02llu:%02llu", (unsigned long long)(s / 3600), (unsigned long long)(s / 60 % 60),
                 (unsigned long long)(s % 60));
    else
        snprintf(buf, size, "%02llu:%02llu", (unsigned long long)(s / 60), (unsigned long long)(s % 60));
}

static double cpu_percent(const struct containerv_process_info *p)
{
    return p->elapsed_ns ? 100.0 * (double)p->cpu_ns / (double)p->elapsed_ns : 0;
}

static void print_table(const struct containerv_process_info *p, size_t n)
{
    char el[32], tm[32];
    printf("%7s %7s %8s %8s %5s %4s %6s %9s %11s %11s  %s\n", "PID", "PPID", "HOST-PID", "USER", "STATE", "THR", "%CPU",
           "RSS(KiB)", "ELAPSED", "TIME", "COMMAND");
    for (size_t i = 0; i < n; i++) {
        duration(el, sizeof(el), p[i].elapsed_ns);
        duration(tm, sizeof(tm), p[i].cpu_ns);
        printf("%7d %7d %8d %8u %5c %4d %6.1f %9llu %11s %11s  %s\n", (int)p[i].pid, (int)p[i].ppid,
               (int)p[i].host_pid, (unsigned)p[i].uid, p[i].state, p[i].threads, cpu_percent(&p[i]),
               (unsigned long long)(p[i].rss_bytes / 1024), el, tm, p[i].cmdline);
    }
}

static int print_json(const struct containerv_process_info *p, size_t n)
{
    json_t *arr = json_array();
    int rc = arr ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        char st[2] = {p[i].state, '\0'};
        rc = json_array_append_new(
            arr, json_pack("{s:i, s:i, s:i, s:i, s:i, s:s, s:i, s:f, s:I, s:I, s:I, s:s, s:s}", "pid", (int)p[i].pid,
                           "ppid", (int)p[i].ppid, "host_pid", (int)p[i].host_pid, "uid", (int)p[i].uid, "gid",
                           (int)p[i].gid, "state", st, "threads", p[i].threads, "cpu_percent", cpu_percent(&p[i]),
                           "rss_bytes", (json_int_t)p[i].rss_bytes, "elapsed_ns", (json_int_t)p[i].elapsed_ns,
                           "cpu_ns", (json_int_t)p[i].cpu_ns, "comm", p[i].comm, "cmdline", p[i].cmdline));
    }
    if (rc == 0)
        rc = json_dumpf(arr, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(arr);
    if (rc < 0) {
        cli_error("top: cannot make JSON");
        return CLI_EXIT_RUNTIME;
    }
    putchar('\n');
    return 0;
}

int cmd_top(int argc, char **argv, const struct cli_global *g)
{
    bool json = false;
    int opt;

    opterr = 0;
    while ((opt = getopt_long(argc, argv, CLI_OPTSTRING_PREFIX "h", top_opts, NULL)) != -1) {
        switch (opt) {
        case OPT_JSON: json = true; break;
        case 'h': return cli_usage(top_usage);
        default: return cli_getopt_error("top", opt, argv);
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "containerv top: no container given\n");
        return CLI_EXIT_RUNTIME;
    }
    if (optind + 1 < argc) {
        fprintf(stderr, "containerv top: unexpected argument '%s'\n", argv[optind + 1]);
        return CLI_EXIT_RUNTIME;
    }
    const char *id = argv[optind];
    struct containerv_container *c = NULL;
    struct containerv_process_info *procs = NULL;
    struct containerv_error err;
    size_t n = 0;
    containerv_error_clear(&err);
    int rc = containerv_attach(g->runtime_dir, id, &c, &err);
    if (rc == -ENOENT) {
        cli_error("top: no container '%s'", id);
        return CLI_EXIT_RUNTIME;
    }
    if (rc == 0)
        rc = containerv_list_processes(c, &procs, &n, &err);
    containerv_release(c);
    if (rc < 0) {
        cli_lib_error(&err, rc);
        return CLI_EXIT_RUNTIME;
    }
    if (json)
        rc = print_json(procs, n);
    else
        print_table(procs, n);
    free(procs);
    return rc;
}
