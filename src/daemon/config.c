/* `containerv daemon`: the command line and the config file (docs/daemon.md).
 *
 * The file is one setting per line, `key = value`; blank lines and lines
 * whose first non-blank character is '#' are ignored:
 *
 *     socket = /run/containerv/containerv.sock
 *     group = containerv
 *     state_dir = /var/lib/containerv
 *     runtime_dir = /run/containerv
 *     pool = web 4            # (a comment only on a line of its own)
 *
 * Any error is one line naming the file and the line; the command line
 * overrides the file. */
#include "daemon.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LINE_MAX_LEN 4096

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

static bool valid_name(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n >= CVD_NAME_MAX || !isalnum((unsigned char)s[0]))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr("_.-", s[i]))
            return false;
    return true;
}

static bool parse_size(const char *s, int *out)
{
    uint32_t v;

    if (!cli_parse_u32(s, &v) || v < 1 || v > 1024)
        return false;
    *out = (int)v;
    return true;
}

static int add_pool(struct cvd_config *c, const char *name, int size, bool replace)
{
    for (int i = 0; i < c->n_pools; i++) {
        if (strcmp(c->pools[i].name, name) == 0) {
            if (!replace)
                return -EEXIST;
            c->pools[i].size = size;
            return 0;
        }
    }
    if (c->n_pools >= CVD_MAX_POOLS)
        return -E2BIG;
    cvd_strlcpy(c->pools[c->n_pools].name, name, CVD_NAME_MAX);
    c->pools[c->n_pools++].size = size;
    return 0;
}

int cvd_config_pool_arg(struct cvd_config *c, const char *arg)
{
    const char *eq = strrchr(arg, '=');
    char name[CVD_NAME_MAX + 1];
    int size;

    if (!eq || (size_t)(eq - arg) >= sizeof(name)) {
        cli_error("daemon: --pool: want TEMPLATE=SIZE, got '%s'", arg);
        return -1;
    }
    memcpy(name, arg, (size_t)(eq - arg));
    name[eq - arg] = '\0';
    if (!valid_name(name)) {
        cli_error("daemon: --pool: invalid template name '%s'", name);
        return -1;
    }
    if (!parse_size(eq + 1, &size)) {
        cli_error("daemon: --pool: size '%s' of '%s' is not a number in 1..1024", eq + 1, name);
        return -1;
    }
    if (add_pool(c, name, size, true) < 0) {
        cli_error("daemon: --pool: more than %d pools", CVD_MAX_POOLS);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------ the file */

struct where {
    const char *file;
    unsigned line;
};

__attribute__((format(printf, 2, 3))) static int bad(const struct where *w, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "containerv: daemon: %s:%u: ", w->file, w->line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return -1;
}

static int set_string(const struct where *w, char **slot, const char *key, const char *value,
                      bool absolute)
{
    if (*slot)
        return bad(w, "'%s' is set twice", key);
    if (absolute && value[0] != '/')
        return bad(w, "%s: want an absolute path, not '%s'", key, value);
    if (!(*slot = strdup(value)))
        return bad(w, "out of memory");
    return 0;
}

static int set_pool(const struct where *w, struct cvd_config *c, char *value)
{
    char *save = NULL;
    char *name = strtok_r(value, " \t", &save);
    char *size_s = name ? strtok_r(NULL, " \t", &save) : NULL;
    int size;

    if (!name || !size_s || strtok_r(NULL, " \t", &save))
        return bad(w, "pool: want 'pool = TEMPLATE SIZE'");
    if (!valid_name(name))
        return bad(w, "pool: invalid template name '%s'", name);
    if (!parse_size(size_s, &size))
        return bad(w, "pool: size '%s' of '%s' is not a number in 1..1024", size_s, name);
    int r = add_pool(c, name, size, false);
    if (r == -EEXIST)
        return bad(w, "pool: template '%s' is given twice", name);
    if (r < 0)
        return bad(w, "pool: more than %d pools", CVD_MAX_POOLS);
    return 0;
}

static char *trim(char *s)
{
    char *e;

    while (*s == ' ' || *s == '\t')
        s++;
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
        *--e = '\0';
    return s;
}

static int parse_line(const struct where *w, struct cvd_config *c, char *line)
{
    char *s = trim(line), *eq, *key, *value;

    if (*s == '\0' || *s == '#')
        return 0;
    eq = strchr(s, '=');
    if (!eq)
        return bad(w, "want 'key = value', got '%s'", s);
    *eq = '\0';
    key = trim(s);
    value = trim(eq + 1);
    if (!*key)
        return bad(w, "no key before '='");
    if (!*value)
        return bad(w, "'%s' has no value", key);
    if (strcmp(key, "socket") == 0)
        return set_string(w, &c->socket, key, value, true);
    if (strcmp(key, "group") == 0)
        return set_string(w, &c->group, key, value, false);
    if (strcmp(key, "state_dir") == 0)
        return set_string(w, &c->state_dir, key, value, true);
    if (strcmp(key, "runtime_dir") == 0)
        return set_string(w, &c->runtime_dir, key, value, true);
    if (strcmp(key, "pool") == 0)
        return set_pool(w, c, value);
    return bad(w, "unknown setting '%s' (socket, group, state_dir, runtime_dir, pool)", key);
}

int cvd_config_load(const char *file, struct cvd_config *c)
{
    struct where w = {.file = file, .line = 0};
    FILE *f = fopen(file, "re");
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int r = 0;

    if (!f) {
        fprintf(stderr, "containerv: daemon: %s: %s\n", file, strerror(errno));
        return -1;
    }
    while (r == 0 && (n = getline(&line, &cap, f)) >= 0) {
        w.line++;
        if (n > LINE_MAX_LEN)
            r = bad(&w, "line longer than %d bytes", LINE_MAX_LEN);
        else if (strlen(line) != (size_t)n)
            r = bad(&w, "a NUL byte in the line");
        else
            r = parse_line(&w, c, line);
    }
    if (r == 0 && ferror(f)) {
        fprintf(stderr, "containerv: daemon: %s: %s\n", file, strerror(errno));
        r = -1;
    }
    free(line);
    fclose(f);
    return r;
}

void cvd_config_free(struct cvd_config *c)
{
    free(c->socket);
    free(c->group);
    free(c->state_dir);
    free(c->runtime_dir);
    free(c->id_prefix);
    memset(c, 0, sizeof(*c));
}

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
