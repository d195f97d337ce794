/* `containerv daemon`: the config file (docs/daemon.md).
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
 * (src/cli/daemon.c) overrides the file. */
#include "daemon.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LINE_MAX_LEN 4096

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
