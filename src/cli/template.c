/* containerv template: create | list | show | rm saved container specs. */
#include "cli.h"

#include <containerv/pool.h>

#include <stdlib.h>
#include <string.h>

int cmd_template(int argc, char **argv, const struct cli_global *g);

static const char template_usage[] =
    "Usage: containerv template create NAME [CONTAINER OPTIONS]\n"
    "       containerv template list\n"
    "       containerv template show NAME\n"
    "       containerv template rm NAME...\n"
    "\n"
    "Templates are named container specifications, stored as JSON in\n"
    "<state dir>/templates/NAME.json (state dir: --state-dir, $CONTAINERV_STATE_DIR,\n"
    "or /var/lib/containerv). 'containerv run --template NAME' and the pool daemon\n"
    "start containers from them. The options are those of 'run' (below).\n"
    "\n";

static const char *state_dir(void)
{
    return containerv_default_state_dir(); /* $CONTAINERV_STATE_DIR (main.c --state-dir sets it) */
}

static int tpl_create(int argc, char **argv, const struct cli_global *g)
{
    static const struct option extra[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    struct cli_copts co;
    struct option *longopts = cli_copts_longopts(extra);
    int opt, rc = -1;

    if (!longopts || cli_copts_init(&co) < 0) {
        free(longopts);
        cli_error("out of memory");
        return CLI_EXIT_RUNTIME;
    }
    if (argc < 3 || argv[2][0] == '-') {
        free(longopts);
        cli_copts_free(&co);
        if (argc >= 3 && (!strcmp(argv[2], "-h") || !strcmp(argv[2], "--help")))
            return cli_usage(template_usage) + cli_usage(cli_copts_usage);
        cli_error("template create: NAME comes first (template create NAME [OPTIONS])");
        return CLI_EXIT_RUNTIME;
    }
    /* argv + 2: NAME plays the program name, the options follow it */
    opterr = 0;
    optind = 0;
    while (rc < 0 && (opt = getopt_long(argc - 2, argv + 2, CLI_OPTSTRING_PREFIX "h" CLI_COPTS_SHORT,
                                        longopts, NULL)) != -1) {
        if (opt == 'h')
            rc = cli_usage(template_usage) + cli_usage(cli_copts_usage);
        else if (opt == '?' || opt == ':')
            rc = cli_getopt_error("template create", opt, argv + 2);
        else if (cli_copts_handle(&co, opt, optarg) < 0)
            rc = CLI_EXIT_RUNTIME;
    }
    free(longopts);
    if (rc < 0 && optind != argc - 2) {
        cli_error("template create: unexpected argument '%s'", argv[2 + optind]);
        rc = CLI_EXIT_RUNTIME;
    }
    if (rc < 0 && co.name) {
        cli_error("template create: --name is not a template option");
        rc = CLI_EXIT_RUNTIME;
    }
    if (rc < 0 && co.have_rootfs && co.have_lower) {
        cli_error("--rootfs and --lower cannot be combined");
        rc = CLI_EXIT_RUNTIME;
    }
    if (rc < 0) {
        struct cli_global none = {.debug = false};
        struct containerv_error err;
        (void)g;
        rc = 0;
        if (cli_copts_finish(&co, &none, true) < 0)
            rc = CLI_EXIT_RUNTIME;
        else if ((rc = containerv_template_create(state_dir(), argv[2], co.opts, &err)) < 0) {
            cli_lib_error(&err, rc);
            rc = CLI_EXIT_RUNTIME;
        }
    }
    cli_copts_free(&co);
    return rc;
}

static int tpl_list(void)
{
    char **names = NULL;
    size_t n = 0;
    struct containerv_error err;
    int rc = containerv_template_list(state_dir(), &names, &n, &err);

    if (rc < 0) {
        cli_lib_error(&err, rc);
        return CLI_EXIT_RUNTIME;
    }
    for (size_t i = 0; i < n; i++)
        printf("%s\n", names[i]);
    containerv_template_list_free(names, n);
    return 0;
}

static int tpl_show(const char *name)
{
    char *json = NULL;
    struct containerv_error err;
    int rc = containerv_template_show(state_dir(), name, &json, &err);

    if (rc < 0) {
        cli_lib_error(&err, rc);
        return CLI_EXIT_RUNTIME;
    }
    printf("%s\n", json);
    free(json);
    return 0;
}

static int tpl_rm(int argc, char **argv)
{
    struct containerv_error err;
    int code = 0;

    for (int i = 2; i < argc; i++) {
        int rc = containerv_template_delete(state_dir(), argv[i], &err);
        if (rc < 0) {
            cli_lib_error(&err, rc);
            code = CLI_EXIT_RUNTIME;
        }
    }
    return code;
}

int cmd_template(int argc, char **argv, const struct cli_global *g)
{
    const char *sub = argc > 1 ? argv[1] : NULL;

    if (!sub || !strcmp(sub, "-h") || !strcmp(sub, "--help") || !strcmp(sub, "help")) {
        if (!sub) {
            fputs(template_usage, stderr);
            return CLI_EXIT_RUNTIME;
        }
        return cli_usage(template_usage) + cli_usage(cli_copts_usage); /* "the options ... (below)" */
    }
    if (!strcmp(sub, "create"))
        return tpl_create(argc, argv, g);
    if (!strcmp(sub, "list") || !strcmp(sub, "ls"))
        return argc == 2 ? tpl_list() : (cli_error("template list: no arguments expected"), CLI_EXIT_RUNTIME);
    if ((!strcmp(sub, "show") || !strcmp(sub, "inspect")) && argc == 3)
        return tpl_show(argv[2]);
    if ((!strcmp(sub, "rm") || !strcmp(sub, "delete")) && argc >= 3)
        return tpl_rm(argc, argv);
    cli_error("template: unknown or incomplete subcommand '%s' (create, list, show NAME, rm NAME)", sub);
    return CLI_EXIT_RUNTIME;
}
