/* containerv run: create a container, run one command in it, remove it. */
#include "cli.h"

#include <containerv/pool.h>

#include <stdlib.h>

static const char run_usage[] =
    "Usage: containerv run [OPTIONS] [--] COMMAND [ARGS...]\n"
    "\n"
    "Create a container, run COMMAND in it, remove the container, and exit with\n"
    "COMMAND's exit code (128 + N when it was killed by signal N). The '--' is\n"
    "needed only when COMMAND starts with '-'.\n"
    "\n"
    "Run options:\n"
    "  -i, --interactive          pass this stdin to COMMAND (else it reads /dev/null)\n"
    "  -t, --tty                  run COMMAND on a terminal (with -i: raw mode relay)\n"
    "      --rm                   accepted for docker habit (run always removes)\n"
    "      --metrics              print the start-up breakdown on stderr afterwards\n"
    "      --metrics-json FILE    write the start-up breakdown to FILE as JSON\n"
    "      --template NAME        start from template NAME ('containerv template'); no\n"
    "                             container options but --name with it. Through the\n"
    "                             pool daemon when one listens on --socket and has a\n"
    "                             pool of NAME (a warm container), else locally\n"
    "      --no-daemon            with --template: always start locally\n"
    "  -h, --help                 show this help\n"
    "\n";

enum { OPT_RM = 0x200, OPT_METRICS, OPT_METRICS_JSON, OPT_TEMPLATE, OPT_NO_DAEMON };

static const struct option run_opts[] = {
    {"interactive", no_argument, NULL, 'i'},
    {"tty", no_argument, NULL, 't'},
    {"rm", no_argument, NULL, OPT_RM},
    {"metrics", no_argument, NULL, OPT_METRICS},
    {"metrics-json", required_argument, NULL, OPT_METRICS_JSON},
    {"template", required_argument, NULL, OPT_TEMPLATE},
    {"no-daemon", no_argument, NULL, OPT_NO_DAEMON},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

struct run_args {
    struct cli_copts co;
    bool interactive, tty, metrics;
    const char *metrics_json;
    const char *template_name; /* --template */
    bool no_daemon;            /* --no-daemon */
    bool copts_used;           /* a container option other than --name */
    char **cmd;
};

static int usage(void)
{
    cli_usage(run_usage);
    return cli_usage(cli_copts_usage);
}

/* One option of run itself: 1 when handled, 0 when not. */
static int run_option(struct run_args *ra, int opt, const char *arg)
{
    switch (opt) {
    case 'i': ra->interactive = true; return 1;
    case 't': ra->tty = true; return 1;
    case OPT_RM: return 1;
    case OPT_METRICS: ra->metrics = true; return 1;
    case OPT_METRICS_JSON: ra->metrics_json = arg; return 1;
    case OPT_TEMPLATE: ra->template_name = arg; return 1;
    case OPT_NO_DAEMON: ra->no_daemon = true; return 1;
    default: return 0;
    }
}

/* A container option: -1 to go on, else the exit code. */
static int container_option(struct run_args *ra, int opt, const char *arg)
{
    const char *name = ra->co.name;
    int h = cli_copts_handle(&ra->co, opt, arg);

    if (h < 0)
        return CLI_EXIT_RUNTIME;
    if (h > 0 && ra->co.name == name)
        ra->copts_used = true;
    return -1;
}

/* --template NAME: the template's options replace the (unused) defaults. */
static int load_template(struct run_args *ra)
{
    struct containerv_options *o = NULL;
    struct containerv_error err;
    int rc;

    rc = containerv_template_load(NULL, ra->template_name, &o, &err);
    if (rc < 0) {
        cli_lib_error(&err, rc);
        return CLI_EXIT_RUNTIME;
    }
    containerv_options_free(ra->co.opts);
    ra->co.opts = o;
    return -1;
}

/* Returns -1 to go on, else the exit code. */
static int parse_run(int argc, char **argv, struct run_args *ra)
{
    struct option *longopts = cli_copts_longopts(run_opts);
    int opt, rc = -1;

    if (!longopts) {
        cli_error("out of memory");
        return CLI_EXIT_RUNTIME;
    }
    opterr = 0;
    while (rc < 0 && (opt = getopt_long(argc, argv, CLI_OPTSTRING_PREFIX "hit" CLI_COPTS_SHORT,
                                        longopts, NULL)) != -1) {
        if (opt == 'h')
            rc = usage();
        else if (opt == '?' || opt == ':')
            rc = cli_getopt_error("run", opt, argv);
        else if (!run_option(ra, opt, optarg))
            rc = container_option(ra, opt, optarg);
    }
    free(longopts);
    if (rc < 0 && optind >= argc) {
        fprintf(stderr, "containerv run: no command given\n");
        rc = CLI_EXIT_RUNTIME;
    }
    if (rc < 0 && cli_tty_check("run", ra->interactive, ra->tty) < 0)
        rc = CLI_EXIT_RUNTIME;
    ra->cmd = argv + optind;
    if (rc < 0 && ra->template_name && ra->copts_used) {
        cli_error("run: --template cannot be combined with container options (only --name)");
        rc = CLI_EXIT_RUNTIME;
    }
    if (rc < 0 && ra->no_daemon && !ra->template_name) {
        cli_error("run: --no-daemon goes with --template");
        rc = CLI_EXIT_RUNTIME;
    }
    return rc;
}

/* -1 when --metrics-json could not be written (after a message) */
static int report_metrics(struct containerv_container *c, const struct run_args *ra,
                          struct cli_outfile *mf)
{
    struct containerv_startup_metrics m;

    if (!ra->metrics && !ra->metrics_json)
        return 0;
    if (containerv_get_startup_metrics(c, &m) < 0) {
        cli_error("metrics: not available");
        cli_outfile_abandon(mf);
        return -1;
    }
    if (ra->metrics)
        cli_metrics_print(stderr, containerv_id(c), &m);
    return mf->f ? cli_metrics_write_json(mf, containerv_id(c), &m) : 0;
}

static int run_container(struct run_args *ra, const struct cli_global *g)
{
    struct containerv_container *c = NULL;
    struct containerv_error err;
    struct cli_session s = {
        .argv = (const char *const *)ra->cmd,
        .uid = -1,
        .gid = -1,
        .interactive = ra->interactive,
        .tty = ra->tty,
        .debug = g->debug,
    };
    struct cli_outfile mf = {.f = NULL};
    int rc, code;

    if (cli_copts_finish(&ra->co, g, true) < 0)
        return CLI_EXIT_RUNTIME;
    if (ra->metrics_json && cli_outfile_open(&mf, "--metrics-json", ra->metrics_json) < 0)
        return CLI_EXIT_RUNTIME;
    containerv_error_clear(&err);
    rc = containerv_create(ra->co.name, ra->co.opts, &c, &err);
    if (rc < 0) {
        cli_lib_error(&err, rc);
        cli_outfile_abandon(&mf);
        return CLI_EXIT_RUNTIME;
    }
    code = cli_session_run(c, &s);
    /* the command ran: its exit code stands, a metrics file that could not
     * be written is said on stderr */
    report_metrics(c, ra, &mf);
    containerv_error_clear(&err);
    rc = containerv_destroy(c, &err);
    if (rc < 0)
        cli_lib_error(&err, rc);
    return code;
}

/* --template: through the daemon when it can, else load the template here.
 * -1 to go on with the local start, else the exit code. */
static int start_template(struct run_args *ra, const struct cli_global *g)
{
    const char *local = ra->no_daemon             ? "--no-daemon"
                        : ra->co.name             ? "--name (pooled containers have their own ids)"
                        : ra->metrics || ra->metrics_json ? "--metrics"
                                                          : NULL;

    if (local && g->debug && !ra->no_daemon)
        fprintf(stderr, "containerv: debug: %s: starting locally\n", local);
    if (!local) {
        struct cli_daemon_run dr = {
            .template_name = ra->template_name,
            .argv = ra->cmd,
            .interactive = ra->interactive,
            .tty = ra->tty,
            .debug = g->debug,
        };
        int code = cli_daemon_run(g, &dr);
        if (code >= 0)
            return code;
    }
    return load_template(ra);
}

int cmd_run(int argc, char **argv, const struct cli_global *g)
{
    struct run_args ra = {0};
    int rc;

    if (cli_copts_init(&ra.co) < 0)
        return CLI_EXIT_RUNTIME;
    rc = parse_run(argc, argv, &ra);
    if (rc < 0 && ra.template_name)
        rc = start_template(&ra, g);
    if (rc < 0)
        rc = run_container(&ra, g);
    cli_copts_free(&ra.co);
    return rc;
}
