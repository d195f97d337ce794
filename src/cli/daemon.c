/* `containerv daemon`: the verb: its options and the config file it names,
 * then the server (src/daemon/, docs/daemon.md). */
#include "../daemon/daemon.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char daemon_usage[] =
    "Usage: containerv [--state-dir DIR] [--runtime-dir DIR] [--socket PATH] daemon\n"
    "                  [--config FILE] [--pool TEMPLATE=SIZE]... [--group NAME] [--ready-fd FD]\n"
    "\n"
    "Keep a pool of warm containers per template and serve 'containerv run --template'\n"
    "and 'containerv pool status' on a Unix socket, in the foreground (for systemd or a\n"
    "terminal) until SIGTERM or SIGINT. See docs/daemon.md.\n"
    "\n"
    "Options (they override the config file):\n"
    "      --config FILE         read settings from FILE (socket, group, state_dir,\n"
    "                            runtime_dir, pool = TEMPLATE SIZE)\n"
    "      --pool TEMPLATE=SIZE  keep SIZE (1..1024) warm containers of TEMPLATE\n"
    "                            (repeatable)\n"
    "      --group NAME          members of group NAME may use the daemon too (else\n"
    "                            root only); the socket gets mode 0660 and that group\n"
    "      --ready-fd FD         write one byte to FD and close it once the socket\n"
    "                            listens and every pool is full (or failed once)\n"
    "      --id-prefix PREFIX    container ids start with PREFIX (tests, benchmarks)\n"
    "  -h, --help                show this help\n";

/* ------------------------------------------------------------ the verb */

enum { OPT_CONFIG = 0x400, OPT_POOL, OPT_GROUP, OPT_READY_FD, OPT_ID_PREFIX };

static const struct option daemon_opts[] = {
    {"config", required_argument, NULL, OPT_CONFIG},
    {"pool", required_argument, NULL, OPT_POOL},
    {"group", required_argument, NULL, OPT_GROUP},
    {"ready-fd", required_argument, NULL, OPT_READY_FD},
    {"id-prefix", required_argument, NULL, OPT_ID_PREFIX},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static int replace(char **slot, const char *value)
{
    char *s = strdup(value);

    if (!s) {
        cli_error("out of memory");
        return -1;
    }
    free(*slot);
    *slot = s;
    return 0;
}

static int ready_fd_arg(const char *arg, int *out)
{
    uint32_t v;

    if (!cli_parse_u32(arg, &v) || v > INT32_MAX || fcntl((int)v, F_GETFD) < 0) {
        cli_error("daemon: --ready-fd: '%s' is not an open file descriptor", arg);
        return -1;
    }
    /* never inherited by anything the daemon starts */
    fcntl((int)v, F_SETFD, FD_CLOEXEC);
    *out = (int)v;
    return 0;
}

static bool valid_prefix(const char *p)
{
    size_t n = strlen(p);

    if (n == 0 || n > 30 || !isalnum((unsigned char)p[0]))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)p[i]) && !strchr("_.-", p[i]))
            return false;
    return true;
}

/* The options: the config file first (wherever --config is), then the rest. */
static int parse_daemon(int argc, char **argv, const struct cli_global *g, struct cvd_config *c)
{
    const char *config = NULL;
    int opt;

    opterr = 0;
    for (int pass = 0; pass < 2; pass++) {
        optind = 0;
        while ((opt = getopt_long(argc, argv, CLI_OPTSTRING_PREFIX "h", daemon_opts, NULL)) != -1) {
            if (opt == 'h')
                return cli_usage(daemon_usage);
            if (opt == '?' || opt == ':')
                return cli_getopt_error("daemon", opt, argv);
            if (pass == 0) {
                if (opt == OPT_CONFIG)
                    config = optarg;
                continue;
            }
            if ((opt == OPT_POOL && cvd_config_pool_arg(c, optarg) < 0) ||
                (opt == OPT_GROUP && replace(&c->group, optarg) < 0) ||
                (opt == OPT_READY_FD && ready_fd_arg(optarg, &c->ready_fd) < 0))
                return CLI_EXIT_RUNTIME;
            if (opt == OPT_ID_PREFIX) {
                if (!valid_prefix(optarg)) {
                    cli_error("daemon: --id-prefix: want up to 30 of [A-Za-z0-9_.-], not '%s'",
                              optarg);
                    return CLI_EXIT_RUNTIME;
                }
                if (replace(&c->id_prefix, optarg) < 0)
                    return CLI_EXIT_RUNTIME;
            }
        }
        if (optind < argc) {
            cli_error("daemon: unexpected argument '%s'", argv[optind]);
            return CLI_EXIT_RUNTIME;
        }
        if (pass == 0 && config && cvd_config_load(config, c) < 0)
            return CLI_EXIT_RUNTIME;
    }
    /* the global options override the file */
    if ((g->socket && replace(&c->socket, g->socket) < 0) ||
        (g->state_dir && replace(&c->state_dir, g->state_dir) < 0) ||
        (g->runtime_dir_given && replace(&c->runtime_dir, g->runtime_dir) < 0))
        return CLI_EXIT_RUNTIME;
    if (!c->socket && replace(&c->socket, cvd_socket_path(NULL)) < 0)
        return CLI_EXIT_RUNTIME;
    if (!c->runtime_dir && g->runtime_dir && replace(&c->runtime_dir, g->runtime_dir) < 0)
        return CLI_EXIT_RUNTIME;
    if (c->n_pools == 0) {
        cli_error("daemon: no pools configured (--pool TEMPLATE=SIZE, or 'pool = TEMPLATE SIZE' "
                  "in the config file)");
        return CLI_EXIT_RUNTIME;
    }
    return -1;
}

int cmd_daemon(int argc, char **argv, const struct cli_global *g)
{
    struct cvd_config c;
    int rc;

    memset(&c, 0, sizeof(c));
    c.ready_fd = -1;
    rc = parse_daemon(argc, argv, g, &c);
    if (rc < 0)
        rc = cvd_serve(&c);
    if (c.ready_fd >= 0)
        close(c.ready_fd);
    cvd_config_free(&c);
    return rc;
}

