/* containerv exec: run a command in a container made by `create`. */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char exec_usage[] =
    "Usage: containerv exec [OPTIONS] ID [--] COMMAND [ARGS...]\n"
    "\n"
    "Run COMMAND in the running container ID and exit with its exit code\n"
    "(128 + N when it was killed by signal N).\n"
    "\n"
    "Options:\n"
    "  -i, --interactive          pass this stdin to COMMAND (else it reads /dev/null)\n"
    "  -t, --tty                  run COMMAND on a terminal (with -i: raw mode relay)\n"
    "  -e, --env K=V              set an environment variable (repeatable);\n"
    "                             -e K takes K's value from this environment\n"
    "  -w, --workdir DIR          the working directory inside the container\n"
    "  -u, --user UID[:GID]       numeric user (and group) to run as\n"
    "  -h, --help                 show this help\n";

static const struct option exec_opts[] = {
    {"interactive", no_argument, NULL, 'i'},
    {"tty", no_argument, NULL, 't'},
    {"env", required_argument, NULL, 'e'},
    {"workdir", required_argument, NULL, 'w'},
    {"user", required_argument, NULL, 'u'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

struct exec_args {
    struct cli_session s;
    const char *id;
    char **env; /* NULL-terminated, malloc'd strings */
    size_t n_env;
};

/* -e values; the library puts them over the container's environment. */
static int add_env(struct exec_args *ea, const char *arg)
{
    char *kv, **grown;

    if (cli_env_arg("--env", arg, &kv) < 0)
        return -1;
    if (!kv)
        return 0;
    grown = realloc(ea->env, (ea->n_env + 2) * sizeof(*grown));
    if (!grown) {
        free(kv);
        cli_error("out of memory");
        return -1;
    }
    grown[ea->n_env++] = kv;
    grown[ea->n_env] = NULL;
    ea->env = grown;
    return 0;
}

static int exec_option(struct exec_args *ea, int opt, const char *arg)
{
    switch (opt) {
    case 'i': ea->s.interactive = true; return 0;
    case 't': ea->s.tty = true; return 0;
    case 'e': return add_env(ea, arg);
    case 'w':
        if (arg[0] != '/') {
            cli_error("--workdir: not an absolute path '%s'", arg);
            return -1;
        }
        ea->s.cwd = arg;
        return 0;
    default:
        if (cli_parse_user(arg, &ea->s.uid, &ea->s.gid))
            return 0;
        cli_error("--user: invalid user '%s' (want UID[:GID], numeric)", arg);
        return -1;
    }
}

/* Returns -1 to go on, else the exit code. */
static int parse_exec(int argc, char **argv, struct exec_args *ea)
{
    int opt;

    opterr = 0;
    while ((opt = getopt_long(argc, argv, CLI_OPTSTRING_PREFIX "hite:w:u:", exec_opts, NULL)) != -1) {
        if (opt == 'h')
            return cli_usage(exec_usage);
        if (opt == '?' || opt == ':')
            return cli_getopt_error("exec", opt, argv);
        if (exec_option(ea, opt, optarg) < 0)
            return CLI_EXIT_RUNTIME;
    }
    if (optind >= argc) {
        fprintf(stderr, "containerv exec: no container given\n");
        return CLI_EXIT_RUNTIME;
    }
    ea->id = argv[optind++];
    if (optind < argc && strcmp(argv[optind], "--") == 0)
        optind++;
    if (optind >= argc) {
        fprintf(stderr, "containerv exec: no command given\n");
        return CLI_EXIT_RUNTIME;
    }
    ea->s.argv = (const char *const *)(argv + optind);
    return cli_tty_check("exec", ea->s.interactive, ea->s.tty) < 0 ? CLI_EXIT_RUNTIME : -1;
}

static int exec_in(struct exec_args *ea, const struct cli_global *g)
{
    struct containerv_container *c = NULL;
    struct containerv_error err;
    int rc, code;

    containerv_error_clear(&err);
    rc = containerv_attach(g->runtime_dir, ea->id, &c, &err);
    if (rc == -ENOENT) {
        cli_error("exec: no container '%s'", ea->id);
        return CLI_EXIT_RUNTIME;
    }
    if (rc < 0) {
        cli_lib_error(&err, rc);
        return CLI_EXIT_RUNTIME;
    }
    ea->s.env = (const char *const *)ea->env;
    ea->s.debug = g->debug;
    code = cli_session_run(c, &ea->s);
    containerv_release(c);
    return code;
}

int cmd_exec(int argc, char **argv, const struct cli_global *g)
{
    struct exec_args ea = {.s = {.uid = -1, .gid = -1}};
    int rc = parse_exec(argc, argv, &ea);

    if (rc < 0)
        rc = exec_in(&ea, g);
    for (size_t i = 0; i < ea.n_env; i++)
        free(ea.env[i]);
    free(ea.env);
    return rc;
}
