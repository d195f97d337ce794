/* containerv list: the containers of a runtime directory. */
#include "cli.h"

#include <jansson.h>
#include <string.h>
#include <time.h>

static const char list_usage[] =
    "Usage: containerv list [--json]\n"
    "\n"
    "List the containers: ID, STATUS (running, stale, creating), INIT-PID,\n"
    "CREATED and ROOTFS. Stale containers lost their runtime; 'containerv gc'\n"
    "removes them.\n"
    "\n"
    "Options:\n"
    "      --json                 print a JSON array instead of a table\n"
    "  -q, --quiet                print the ids only\n"
    "  -h, --help                 show this help\n";

enum { OPT_JSON = 0x200 };

static const struct option list_opts[] = {
    {"json", no_argument, NULL, OPT_JSON},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static const char *status_name(enum containerv_status s)
{
    switch (s) {
    case CONTAINERV_STATUS_RUNNING: return "running";
    case CONTAINERV_STATUS_STALE: return "stale";
    case CONTAINERV_STATUS_CREATING: return "creating";
    default: return "unknown";
    }
}

static void format_time(int64_t unix_s, char *buf, size_t size)
{
    time_t t = (time_t)unix_s;
    struct tm tm;

    if (!localtime_r(&t, &tm) || strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm) == 0)
        snprintf(buf, size, "%lld", (long long)unix_s);
}

static void print_table(const struct containerv_info *infos, size_t n)
{
    int w = 2; /* "ID" */
    char created[64];

    for (size_t i = 0; i < n; i++)
        if ((int)strlen(infos[i].id) > w)
            w = (int)strlen(infos[i].id);
    printf("%-*s  %-8s  %8s  %-19s  %s\n", w, "ID", "STATUS", "INIT-PID", "CREATED", "ROOTFS");
    for (size_t i = 0; i < n; i++) {
        format_time(infos[i].created_unix, created, sizeof(created));
        printf("%-*s  %-8s  %8d  %-19s  %s\n", w, infos[i].id, status_name(infos[i].status),
               (int)infos[i].init_pid, created, infos[i].rootfs);
    }
}

static json_t *info_json(const struct containerv_info *info)
{
    return json_pack("{s:s, s:s, s:i, s:I, s:s}", "id", info->id, "status",
                     status_name(info->status), "init_pid", (int)info->init_pid, "created",
                     (json_int_t)info->created_unix, "rootfs", info->rootfs);
}

static int print_json(const struct containerv_info *infos, size_t n)
{
    json_t *arr = json_array();
    int rc = arr ? 0 : -1;

    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = json_array_append_new(arr, info_json(&infos[i]));
    if (rc == 0)
        rc = json_dumpf(arr, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(arr);
    if (rc < 0) {
        cli_error("list: cannot make JSON");
        return CLI_EXIT_RUNTIME;
    }
    putchar('\n');
    return 0;
}

static int list(const struct cli_global *g, bool json, bool quiet)
{
    struct containerv_info *infos = NULL;
    struct containerv_error err;
    size_t n = 0;
    int rc;

    containerv_error_clear(&err);
    rc = containerv_list(g->runtime_dir, &infos, &n, &err);
    if (rc < 0) {
        cli_lib_error(&err, rc);
        return CLI_EXIT_RUNTIME;
    }
    if (json)
        rc = print_json(infos, n);
    else if (quiet)
        for (size_t i = 0; i < n; i++)
            puts(infos[i].id);
    else
        print_table(infos, n);
    containerv_list_free(infos);
    return rc;
}

int cmd_list(int argc, char **argv, const struct cli_global *g)
{
    bool json = false, quiet = false;
    int opt;

    opterr = 0;
    while ((opt = getopt_long(argc, argv, CLI_OPTSTRING_PREFIX "hq", list_opts, NULL)) != -1) {
        switch (opt) {
        case OPT_JSON: json = true; break;
        case 'q': quiet = true; break;
        case 'h': return cli_usage(list_usage);
        default: return cli_getopt_error("list", opt, argv);
        }
    }
    if (optind < argc) {
        fprintf(stderr, "containerv list: unexpected argument '%s'\n", argv[optind]);
        return CLI_EXIT_RUNTIME;
    }
    return list(g, json, quiet);
}
