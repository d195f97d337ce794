/* containerv destroy (rm): remove containers. */
#include "cli.h"

#include <errno.h>

static const char destroy_usage[] =
    "Usage: containerv destroy [OPTIONS] ID [ID...]\n"
    "       containerv destroy --all\n"
    "\n"
    "Kill everything in each container and remove all it made; prints the id of\n"
    "each container removed. 'rm' is an alias.\n"
    "\n"
    "Options:\n"
    "  -a, --all                  remove every container (stale ones as 'gc' does)\n"
    "  -f, --force                accepted for docker habit (always forced)\n"
    "  -h, --help                 show this help\n";

static const struct option destroy_opts[] = {
    {"all", no_argument, NULL, 'a'},
    {"force", no_argument, NULL, 'f'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* 0 when removed, -1 after an error message. */
static int destroy_one(const struct cli_global *g, const char *id)
{
    struct containerv_container *c = NULL;
    struct containerv_error err;
    int rc;

    containerv_error_clear(&err);
    rc = containerv_attach(g->runtime_dir, id, &c, &err);
    if (rc == -ENOENT) {
        cli_error("destroy: no container '%s'", id);
        return -1;
    }
    if (rc == 0) {
        containerv_error_clear(&err);
        rc = containerv_destroy(c, &err);
    }
    if (rc < 0) {
        cli_lib_error(&err, rc);
        return -1;
    }
    printf("%s\n", id);
    return 0;
}

/* Every running container, then the stale ones through gc. */
static int destroy_all(const struct cli_global *g)
{
    struct containerv_info *infos = NULL;
    struct containerv_error err;
    size_t n = 0;
    int rc, failed = 0;

    containerv_error_clear(&err);
    rc = containerv_list(g->runtime_dir, &infos, &n, &err);
    if (rc < 0) {
        cli_lib_error(&err, rc);
        return CLI_EXIT_RUNTIME;
    }
    for (size_t i = 0; i < n; i++)
        if (infos[i].status == CONTAINERV_STATUS_RUNNING && destroy_one(g, infos[i].id) < 0)
            failed = 1;
    containerv_list_free(infos);
    /* the teardowns end before gc looks for what is stale */
    containerv_error_clear(&err);
    rc = containerv_teardown_wait(&err);
    if (rc < 0) {
        cli_lib_error(&err, rc);
        failed = 1;
    }
    containerv_error_clear(&err);
    rc = containerv_gc(g->runtime_dir, NULL, &err);
    if (rc < 0) {
        cli_lib_error(&err, rc);
        failed = 1;
    }
    return failed ? CLI_EXIT_RUNTIME : 0;
}

int cmd_destroy(int argc, char **argv, const struct cli_global *g)
{
    bool all = false;
    int opt, failed = 0;

    opterr = 0;
    while ((opt = getopt_long(argc, argv, CLI_OPTSTRING_PREFIX "hafr", destroy_opts, NULL)) != -1) {
        switch (opt) {
        case 'a': all = true; break;
        case 'f': break;
        case 'h': return cli_usage(destroy_usage);
        default: return cli_getopt_error("destroy", opt, argv);
        }
    }
    if (all && optind < argc) {
        fprintf(stderr, "containerv destroy: --all takes no ids\n");
        return CLI_EXIT_RUNTIME;
    }
    if (all)
        return destroy_all(g);
    if (optind >= argc) {
        fprintf(stderr, "containerv destroy: no container given\n");
        return CLI_EXIT_RUNTIME;
    }
    for (int i = optind; i < argc; i++)
        if (destroy_one(g, argv[i]) < 0)
            failed = 1;
    return failed ? CLI_EXIT_RUNTIME : 0;
}
