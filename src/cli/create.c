/* containerv create: create a container that outlives the CLI. */
#include "cli.h"

#include <stdlib.h>

static const char create_usage[] =
    "Usage: containerv create [OPTIONS]\n"
    "\n"
    "Create a container with an idle init and print its id. It stays up after\n"
    "this command ends: run commands in it with 'containerv exec ID -- CMD' and\n"
    "remove it with 'containerv destroy ID'.\n"
    "\n"
    "  -h, --help                 show this help\n"
    "\n";

static const struct option create_opts[] = {
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* Returns -1 to go on, else the exit code. */
static int parse_create(int argc, char **argv, struct cli_copts *co)
{
    struct option *longopts = cli_copts_longopts(create_opts);
    int opt, rc = -1;

    if (!longopts) {
        cli_error("out of memory");
        return CLI_EXIT_RUNTIME;
    }
    opterr = 0;
    while (rc < 0 && (opt = getopt_long(argc, argv, CLI_OPTSTRING_PREFIX "h" CLI_COPTS_SHORT,
                                        longopts, NULL)) != -1) {
        if (opt == 'h') {
            cli_usage(create_usage);
            rc = cli_usage(cli_copts_usage);
        } else if (opt == '?' || opt == ':') {
            rc = cli_getopt_error("create", opt, argv);
        } else if (cli_copts_handle(co, opt, optarg) < 0) {
            rc = CLI_EXIT_RUNTIME;
        }
    }
    free(longopts);
    if (rc < 0 && optind < argc) {
        fprintf(stderr, "containerv create: unexpected argument '%s'\n", argv[optind]);
        rc = CLI_EXIT_RUNTIME;
    }
    return rc;
}

static int create_container(struct cli_copts *co, const struct cli_global *g)
{
    struct containerv_container *c = NULL;
    struct containerv_error err;
    int rc;

    if (cli_copts_finish(co, g, false) < 0)
        return CLI_EXIT_RUNTIME;
    containerv_error_clear(&err);
    rc = containerv_create(co->name, co->opts, &c, &err);
    if (rc < 0) {
        cli_lib_error(&err, rc);
        return CLI_EXIT_RUNTIME;
    }
    printf("%s\n", containerv_id(c));
    containerv_release(c);
    if (fflush(stdout) != 0) {
        cli_error("create: cannot write the id to stdout");
        return CLI_EXIT_RUNTIME;
    }
    return 0;
}

int cmd_create(int argc, char **argv, const struct cli_global *g)
{
    struct cli_copts co;
    int rc;

    if (cli_copts_init(&co) < 0)
        return CLI_EXIT_RUNTIME;
    rc = parse_create(argc, argv, &co);
    if (rc < 0)
        rc = create_container(&co, g);
    cli_copts_free(&co);
    return rc;
}
