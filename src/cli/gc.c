/* containerv gc: remove stale containers. */
#include "cli.h"

static const char gc_usage[] =
    "Usage: containerv gc\n"
    "\n"
    "Remove the containers whose runtime died (status 'stale' in 'containerv list'):\n"
    "their cgroups, mounts and state.\n"
    "\n"
    "Options:\n"
    "  -h, --help                 show this help\n";

static const struct option gc_opts[] = {
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

int cmd_gc(int argc, char **argv, const struct cli_global *g)
{
    struct containerv_error err;
    int opt, rc, removed = 0;

    opterr = 0;
    while ((opt = getopt_long(argc, argv, CLI_OPTSTRING_PREFIX "h", gc_opts, NULL)) != -1) {
        if (opt == 'h')
            return cli_usage(gc_usage);
        return cli_getopt_error("gc", opt, argv);
    }
    if (optind < argc) {
        fprintf(stderr, "containerv gc: unexpected argument '%s'\n", argv[optind]);
        return CLI_EXIT_RUNTIME;
    }
    containerv_error_clear(&err);
    rc = containerv_gc(g->runtime_dir, &removed, &err);
    if (rc < 0) {
        cli_lib_error(&err, rc);
        return CLI_EXIT_RUNTIME;
    }
    printf("removed %d stale container(s)\n", removed);
    return 0;
}
