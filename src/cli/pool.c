/* containerv pool status: the pool daemon's pools and their figures. */
#include "cli.h"
#include "../daemon/proto.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char pool_usage[] =
    "Usage: containerv [--socket PATH] pool status [--json]\n"
    "\n"
    "Ask the pool daemon ('containerv daemon') for each pool's figures: template,\n"
    "size, warm, in use, hits, misses, refills, resets, replaces, failures, mean\n"
    "refill and reset times, the last background error and why the last returned\n"
    "container was replaced instead of reset. See docs/daemon.md.\n"
    "\n"
    "  --json      print a JSON array instead of a table\n"
    "  -h, --help  show this help\n";

#define MAX_ROWS 1024

static json_t *row_json(const struct cvd_status_row *r)
{
    return json_pack("{s:s, s:i, s:i, s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:f, s:s, s:s}", "template",
                     r->template_name, "size", (int)r->pool_size, "warm", (int)r->warm, "in_use",
                     (int)r->in_use, "hits", (json_int_t)r->hits, "misses", (json_int_t)r->misses,
                     "refills", (json_int_t)r->refills, "resets", (json_int_t)r->resets,
                     "replaces", (json_int_t)r->replaces, "failures", (json_int_t)r->failures,
                     "mean_refill_ms", (double)r->mean_refill_ns / 1e6, "mean_reset_ms",
                     (double)r->mean_reset_ns / 1e6, "last_error", r->last_error, "last_replace",
                     r->last_replace);
}

static int print_json(const struct cvd_status_row *rows, size_t n)
{
    json_t *a = json_array();
    char *s;

    for (size_t i = 0; a && i < n; i++)
        json_array_append_new(a, row_json(&rows[i]));
    s = a ? json_dumps(a, JSON_INDENT(2)) : NULL;
    json_decref(a);
    if (!s) {
        cli_error("pool status: out of memory");
        return CLI_EXIT_RUNTIME;
    }
    printf("%s\n", s);
    free(s);
    return 0;
}

static void print_table(const struct cvd_status_row *rows, size_t n)
{
    printf("%-20s %5s %5s %6s %8s %7s %8s %8s %8s %8s %9s %8s  %s\n", "TEMPLATE", "SIZE", "WARM",
           "IN-USE", "HITS", "MISSES", "REFILLS", "RESETS", "REPLACES", "FAILURES", "REFILL-MS",
           "RESET-MS", "LAST-ERROR");
    for (size_t i = 0; i < n; i++) {
        const struct cvd_status_row *r = &rows[i];
        printf("%-20s %5d %5d %6d %8llu %7llu %8llu %8llu %8llu %8llu %9.2f %8.3f  %s\n",
               r->template_name, (int)r->pool_size, (int)r->warm, (int)r->in_use,
               (unsigned long long)r->hits, (unsigned long long)r->misses,
               (unsigned long long)r->refills, (unsigned long long)r->resets,
               (unsigned long long)r->replaces, (unsigned long long)r->failures,
               (double)r->mean_refill_ns / 1e6, (double)r->mean_reset_ns / 1e6,
               r->last_error[0] ? r->last_error : "-");
        if (r->last_replace[0])
            printf("%-20s last replaced: %s\n", "", r->last_replace);
    }
}

/* Read rows until END: the number of rows, or -1 after a message. */
static int read_rows(int sock, struct cvd_status_row *rows)
{
    union {
        char buf[sizeof(struct cvd_status_row) + 64];
        struct cvd_hdr h;
    } u;
    int n = 0;

    for (;;) {
        int fds[CVD_MAX_FDS], nfds = 0;
        ssize_t len = cvd_recv(sock, u.buf, sizeof(u.buf), fds, CVD_MAX_FDS, &nfds);
        int type = len > 0 ? cvd_check(u.buf, (size_t)len) : -1;
        for (int i = 0; i < nfds; i++)
            close(fds[i]);
        if (type == CVD_STATUS_ROW && n < MAX_ROWS) {
            memcpy(&rows[n], u.buf, sizeof(rows[n]));
            rows[n].template_name[CVD_NAME_MAX - 1] = '\0';
            rows[n].last_error[sizeof(rows[n].last_error) - 1] = '\0';
            rows[n].last_replace[sizeof(rows[n].last_replace) - 1] = '\0';
            n++;
        } else if (type == CVD_STATUS_END) {
            return n;
        } else if (type == CVD_ERROR) {
            struct cvd_error *e = (struct cvd_error *)u.buf;
            e->message[sizeof(e->message) - 1] = '\0';
            cli_error("pool status: %s", e->message);
            return -1;
        } else {
            cli_error("pool status: %s",
                      len == 0 ? "the daemon closed the connection"
                      : len < 0 ? strerror((int)-len) : "a malformed answer from the daemon");
            return -1;
        }
    }
}

static int pool_status(const struct cli_global *g, bool json)
{
    const char *path = cvd_socket_path(g->socket);
    struct cvd_hdr req;
    struct cvd_status_row *rows;
    int sock = cvd_connect(path), n, rc;

    if (sock < 0) {
        cli_error("pool status: no daemon on '%s': %s", path, strerror(-sock));
        return CLI_EXIT_RUNTIME;
    }
    cvd_hdr_init(&req, CVD_STATUS, sizeof(req));
    if ((rc = cvd_send(sock, &req, sizeof(req), NULL, 0)) < 0) {
        cli_error("pool status: sending to the daemon on '%s': %s", path, strerror(-rc));
        close(sock);
        return CLI_EXIT_RUNTIME;
    }
    rows = calloc(MAX_ROWS, sizeof(*rows));
    n = rows ? read_rows(sock, rows) : -1;
    close(sock);
    if (n < 0) {
        free(rows);
        return CLI_EXIT_RUNTIME;
    }
    rc = 0;
    if (json)
        rc = print_json(rows, (size_t)n);
    else
        print_table(rows, (size_t)n);
    free(rows);
    return rc;
}

int cmd_pool(int argc, char **argv, const struct cli_global *g)
{
    bool json = false;

    if (argc < 2) {
        fputs(pool_usage, stderr);
        return CLI_EXIT_RUNTIME;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help"))
        return cli_usage(pool_usage);
    if (strcmp(argv[1], "status") != 0) {
        cli_error("pool: unknown subcommand '%s' (status)", argv[1]);
        return CLI_EXIT_RUNTIME;
    }
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) {
            json = true;
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            return cli_usage(pool_usage);
        } else {
            cli_error("pool status: unknown option '%s'", argv[i]);
            return CLI_EXIT_RUNTIME;
        }
    }
    return pool_status(g, json);
}
