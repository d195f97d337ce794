/* containerv: global options, dispatch to the verbs, shared helpers. */
#include "cli.h"
#include "oci.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const char main_usage[] =
    "Usage: containerv [--runtime-dir DIR] [--state-dir DIR] [--socket PATH] [--debug] COMMAND\n"
    "                  [ARGS...]\n"
    "\n"
    "A fast Linux container runtime.\n"
    "\n"
    "Commands:\n"
    "  run       create a container, run a command in it, remove it\n"
    "  create    create a container that stays up; prints its id\n"
    "  exec      run a command in a container made by create\n"
    "  list      list containers (alias: ls, ps)\n"
    "  destroy   remove containers (alias: rm)\n"
    "  gc        remove stale containers whose runtime died\n"
    "  bench     measure start-up, throughput, memory, I/O and seccomp against the floor and peers\n"
    "  template  create, list, show and remove container templates\n"
    "  daemon    keep warm pools of templates and serve 'run --template' (foreground)\n"
    "  pool      'pool status': the daemon's pools and their figures\n"
    "  stats     what containers use: CPU, memory, I/O, network, faults (live)\n"
    "  top       the processes of a container\n"
    "\n"
    "Global options:\n"
    "  --runtime-dir DIR  where container state lives (default: $CONTAINERV_RUNTIME_DIR\n"
    "                     or /run/containerv)\n"
    "  --debug            print each start-up step and its duration on stderr\n"
    "  --state-dir DIR    where templates live (default: $CONTAINERV_STATE_DIR\n"
    "                     or /var/lib/containerv)\n"
    "  --socket PATH      the pool daemon's socket (default: $CONTAINERV_SOCKET\n"
    "                     or /run/containerv/containerv.sock)\n"
    "  -h, --help         show this help\n"
    "  --version          show the version\n"
    "\n"
    "Run 'containerv COMMAND --help' for the options of a command.\n";

struct verb {
    const char *name;
    int (*fn)(int argc, char **argv, const struct cli_global *g);
};

int cmd_bench(int argc, char **argv, const struct cli_global *g); /* bench.c */
int cmd_template(int argc, char **argv, const struct cli_global *g); /* template.c */

static const struct verb verbs[] = {
    {"run", cmd_run},         {"create", cmd_create}, {"exec", cmd_exec},
    {"list", cmd_list},       {"ls", cmd_list},       {"ps", cmd_list},
    {"destroy", cmd_destroy}, {"rm", cmd_destroy},    {"gc", cmd_gc},
    {"bench", cmd_bench},     {"template", cmd_template},
    {"daemon", cmd_daemon},   {"pool", cmd_pool},
    {"stats", cmd_stats},     {"top", cmd_top},
};

void cli_error(const char *fmt, ...)
{
    va_list ap;

    fputs("containerv: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void cli_lib_error(const struct containerv_error *err, int rc)
{
    if (err && err->message[0])
        cli_error("%s", err->message);
    else
        cli_error("%s", strerror(rc < 0 ? -rc : rc));
}

int cli_getopt_error(const char *verb, int opt, char *const argv[])
{
    const char *arg = optind > 0 ? argv[optind - 1] : NULL;
    char name[64];

    if (arg && strncmp(arg, "--", 2) == 0)
        snprintf(name, sizeof(name), "%.*s", (int)strcspn(arg, "="), arg);
    else if (optopt > 0 && optopt < 256 && isprint(optopt))
        snprintf(name, sizeof(name), "-%c", optopt);
    else
        snprintf(name, sizeof(name), "%s", arg ? arg : "?");
    if (opt == ':')
        fprintf(stderr, "containerv%s%s: option '%s' needs a value\n", *verb ? " " : "", verb,
                name);
    else
        fprintf(stderr, "containerv%s%s: unknown option '%s'\n", *verb ? " " : "", verb, name);
    return CLI_EXIT_RUNTIME;
}

int cli_usage(const char *text)
{
    fputs(text, stdout);
    return 0;
}

bool cli_parse_u64(const char *text, uint64_t *out)
{
    char *end;
    unsigned long long v;

    if (!text || !isdigit((unsigned char)text[0]))
        return false;
    errno = 0;
    v = strtoull(text, &end, 10);
    if (errno || *end)
        return false;
    *out = v;
    return true;
}

bool cli_parse_u32(const char *text, uint32_t *out)
{
    uint64_t v;

    if (!cli_parse_u64(text, &v) || v > UINT32_MAX)
        return false;
    *out = (uint32_t)v;
    return true;
}

bool cli_parse_user(const char *text, int64_t *uid, int64_t *gid)
{
    char buf[32];
    const char *colon = strchr(text, ':');
    size_t n = colon ? (size_t)(colon - text) : strlen(text);
    uint32_t u, gr;

    if (n >= sizeof(buf))
        return false;
    memcpy(buf, text, n);
    buf[n] = '\0';
    if (!cli_parse_u32(buf, &u) || u == UINT32_MAX)
        return false;
    *uid = u;
    *gid = -1;
    if (!colon)
        return true;
    if (!cli_parse_u32(colon + 1, &gr) || gr == UINT32_MAX)
        return false;
    *gid = gr;
    return true;
}

static int print_version(void)
{
    printf("containerv %d.%d.%d\n", CONTAINERV_VERSION_MAJOR, CONTAINERV_VERSION_MINOR,
           CONTAINERV_VERSION_PATCH);
    return 0;
}

enum { OPT_RUNTIME_DIR = 0x100, OPT_DEBUG, OPT_VERSION, OPT_STATE_DIR, OPT_SOCKET };

static const struct option global_opts[] = {
    {"runtime-dir", required_argument, NULL, OPT_RUNTIME_DIR},
    {"debug", no_argument, NULL, OPT_DEBUG},
    {"state-dir", required_argument, NULL, OPT_STATE_DIR},
    {"socket", required_argument, NULL, OPT_SOCKET},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

/* Parse the global options; returns -1 to go on, else an exit code. */
static int parse_global(int argc, char **argv, struct cli_global *g)
{
    const char *env = getenv("CONTAINERV_RUNTIME_DIR");
    int opt;

    g->runtime_dir = env && *env ? env : NULL;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, CLI_OPTSTRING_PREFIX "h", global_opts, NULL)) != -1) {
        switch (opt) {
        case OPT_RUNTIME_DIR:
            if (!*optarg) {
                cli_error("--runtime-dir: empty path");
                return CLI_EXIT_RUNTIME;
            }
            g->runtime_dir = optarg;
            g->runtime_dir_given = true;
            break;
        case OPT_DEBUG: g->debug = true; break;
        case OPT_STATE_DIR: /* templates: the library reads $CONTAINERV_STATE_DIR */
            if (optarg[0] != '/') {
                cli_error("--state-dir: want an absolute path, not '%s'", optarg);
                return CLI_EXIT_RUNTIME;
            }
            setenv("CONTAINERV_STATE_DIR", optarg, 1);
            g->state_dir = optarg;
            break;
        case OPT_SOCKET:
            if (!*optarg) {
                cli_error("--socket: empty path");
                return CLI_EXIT_RUNTIME;
            }
            g->socket = optarg;
            break;
        case 'h': return cli_usage(main_usage);
        case OPT_VERSION: return print_version();
        default: return cli_getopt_error("", opt, argv);
        }
    }
    return -1;
}

static const struct verb *find_verb(const char *name)
{
    for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
        if (strcmp(verbs[i].name, name) == 0)
            return &verbs[i];
    return NULL;
}

/* "containerv help [VERB]" */
static int cmd_help(int argc, char **argv, const struct cli_global *g)
{
    const struct verb *v = argc > 1 ? find_verb(argv[1]) : NULL;
    char help[] = "--help";
    char *args[] = {argv[1], help, NULL};

    if (argc > 1 && !v) {
        cli_error("unknown command '%s'", argv[1]);
        return CLI_EXIT_RUNTIME;
    }
    if (!v)
        return cli_usage(main_usage);
    optind = 0;
    return v->fn(2, args, g);
}

int main(int argc, char **argv)
{
    struct cli_global g = {0};
    const struct verb *v;
    /* runc's command line (podman, containerd, runtime-tools): oci.c */
    int rc = cli_oci_main(argc, argv);
    if (rc >= 0)
        return rc;
    rc = parse_global(argc, argv, &g);

    if (rc >= 0)
        return rc;
    if (optind >= argc) {
        fputs(main_usage, stderr);
        return CLI_EXIT_RUNTIME;
    }
    argc -= optind;
    argv += optind;
    optind = 0; /* the verb parses its own options from argv[1] */
    if (strcmp(argv[0], "help") == 0)
        return cmd_help(argc, argv, &g);
    v = find_verb(argv[0]);
    if (!v) {
        cli_error("unknown command '%s' (see 'containerv --help')", argv[0]);
        return CLI_EXIT_RUNTIME;
    }
    rc = v->fn(argc, argv, &g);
    /* a destroy returns before its teardown is over (docs/design.md): wait
     * for it here, so that the command's exit means nothing is left, and
     * report a failure of it */
    struct containerv_error err;
    int tr = containerv_teardown_wait(&err);
    if (tr < 0) {
        cli_lib_error(&err, tr);
        if (rc == 0)
            rc = CLI_EXIT_RUNTIME;
    }
    return rc;
}
