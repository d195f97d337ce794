/* The daemon's Prometheus endpoint: GET /metrics answers the text
 * exposition format (version 0.0.4) with
 *   - its pools' figures (containerv_pool_get_stats): containerv_pool_*;
 *   - the runtime metrics of every running container of its runtime
 *     directory (its pools' and any other there): containerv_container_*,
 *     one series per container (label id), counters in seconds and bytes
 *     as Prometheus names them; rates are left to Prometheus (rate()).
 * One thread of its own, one connection at a time (a scrape is small; a
 * client gets 5 s to send its request and take the answer), so the
 * daemon's event loop is never held up. The containers are attached once
 * and kept (their files stay open between scrapes), and released when
 * they are gone. */
#include "metrics_http.h"

#include <containerv/metrics.h>
#include <containerv/pool.h>

#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#define REQ_MAX 8192
#define IO_TIMEOUT_S 5

struct watched {
    char id[65];
    struct containerv_container *c;
    bool seen;
};

struct cvd_metrics_http {
    int lfd, stop_r, stop_w;
    char unix_path[108]; /* "" for TCP */
    const struct dpool *pools;
    int n_pools;
    const char *runtime_dir; /* NULL: the default */
    struct watched *w;
    size_t n_w, cap_w;
    pthread_t thread;
    bool running;
};

/* ------------------------------------------------------------ listening */

static int listen_unix(struct cvd_metrics_http *m, const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    char tmpl[sizeof(sa.sun_path)];
    struct stat st;
    if (path[0] != '/' || strlen(path) + 14 >= sizeof(sa.sun_path)) {
        cli_error("daemon: metrics socket '%s': want an absolute path shorter than %zu bytes", path,
                  sizeof(sa.sun_path) - 14);
        return -1;
    }
    if (lstat(path, &st) == 0 && !S_ISSOCK(st.st_mode)) {
        cli_error("daemon: '%s' exists and is not a socket", path);
        return -1;
    }
    /* as the daemon's socket (socket.c): bound in a fresh root-only
     * directory with the umask of its final mode (0600), then renamed into
     * place, so that nothing goes by the public path but the rename */
    snprintf(tmpl, sizeof(tmpl), "%s", path);
    char *slash = strrchr(tmpl, '/');
    snprintf(slash + 1, sizeof(tmpl) - (size_t)(slash + 1 - tmpl), ".cvm.XXXXXX");
    if (!mkdtemp(tmpl)) {
        cli_error("daemon: making a private directory beside '%s': %s", path, strerror(errno));
        return -1;
    }
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/s", tmpl);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    mode_t old = umask(0177);
    int r = fd < 0 ? -1 : bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    umask(old);
    const char *what = "binding";
    if (r == 0 && (what = "listening", listen(fd, 16) < 0))
        r = -1;
    if (r == 0 && (what = "moving the socket into place", rename(sa.sun_path, path) < 0))
        r = -1;
    if (r < 0) {
        cli_error("daemon: metrics socket: %s '%s': %s", what, path, strerror(errno));
        unlink(sa.sun_path);
        if (fd >= 0)
            close(fd);
        fd = -1;
    }
    rmdir(tmpl);
    if (fd < 0)
        return -1;
    snprintf(m->unix_path, sizeof(m->unix_path), "%s", path);
    m->lfd = fd;
    return 0;
}

/* "HOST:PORT", "[V6]:PORT"; numeric hosts only (no name lookup: the CLI
 * is linked statically, without NSS) */
static int listen_tcp(struct cvd_metrics_http *m, const char *addr)
{
    char host[64];
    const char *colon = strrchr(addr, ':');
    size_t hl = colon ? (size_t)(colon - addr) : 0;
    char *end = NULL;
    unsigned long port = colon ? strtoul(colon + 1, &end, 10) : 0;
    struct sockaddr_storage ss = {0};
    struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
    socklen_t len = 0;
    if (colon && hl > 0 && hl < sizeof(host) && end && end != colon + 1 && !*end && port > 0 && port < 65536) {
        memcpy(host, addr, hl);
        host[hl] = '\0';
        if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
            host[hl - 1] = '\0';
            if (inet_pton(AF_INET6, host + 1, &v6->sin6_addr) == 1)
                v6->sin6_family = AF_INET6, v6->sin6_port = htons((uint16_t)port), len = sizeof(*v6);
        } else if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
            v4->sin_family = AF_INET, v4->sin_port = htons((uint16_t)port), len = sizeof(*v4);
        }
    }
    if (!len) {
        cli_error("daemon: --metrics: want 'none', a socket path or IP:PORT (e.g. 127.0.0.1:9712), not '%s'",
                  addr);
        return -1;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 16) < 0) {
        cli_error("daemon: --metrics: listening on '%s': %s", addr, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    m->lfd = fd;
    return 0;
}

/* ------------------------------------------------------------ the exposition */

/* a label value: ids and template names are [A-Za-z0-9_.-], but escape anyway */
static void label(FILE *f, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            fprintf(f, "\\%c", *v);
        else if (*v == '\n')
            fputs("\\n", f);
        else
            fputc(*v, f);
    }
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

struct pool_figure {
    const char *name, *type, *help;
};

static const struct pool_figure pool_figures[] = {
    {"containerv_pool_size", "gauge", "Containers the pool keeps."},
    {"containerv_pool_warm_containers", "gauge", "Containers ready to be taken now."},
    {"containerv_pool_in_use", "gauge", "Containers taken and not returned."},
    {"containerv_pool_hits_total", "counter", "Gets served by a warm container."},
    {"containerv_pool_misses_total", "counter", "Gets that created a container cold."},
    {"containerv_pool_refills_total", "counter", "Warm containers built in the background."},
    {"containerv_pool_resets_total", "counter", "Returned containers reset in place."},
    {"containerv_pool_replaces_total", "counter", "Returned containers destroyed."},
    {"containerv_pool_failures_total", "counter", "Background creates that failed."},
    {"containerv_pool_refill_seconds_mean", "gauge", "Mean time of one background create."},
    {"containerv_pool_reset_seconds_mean", "gauge", "Mean time of one successful reset."},
};

static double pool_value(const struct containerv_pool_stats *s, size_t i)
{
    const double v[] = {s->pool_size, s->warm_containers, s->in_use, (double)s->hits, (double)s->misses,
                        (double)s->refills, (double)s->resets, (double)s->replaces, (double)s->failures,
                        (double)s->mean_refill_ns / 1e9, (double)s->mean_reset_ns / 1e9};
    return v[i];
}

static void write_pools(struct cvd_metrics_http *m, FILE *f)
{
    struct containerv_pool_stats *st = calloc((size_t)m->n_pools + 1, sizeof(*st));
    bool *ok = calloc((size_t)m->n_pools + 1, sizeof(*ok));
    for (int p = 0; st && ok && p < m->n_pools; p++)
        ok[p] = containerv_pool_get_stats(m->pools[p].pool, &st[p]) == 0;
    for (size_t i = 0; st && ok && i < sizeof(pool_figures) / sizeof(pool_figures[0]); i++) {
        family(f, pool_figures[i].name, pool_figures[i].type, pool_figures[i].help);
        for (int p = 0; p < m->n_pools; p++) {
            if (!ok[p])
                continue;
            fprintf(f, "%s{pool=\"", pool_figures[i].name);
            label(f, m->pools[p].name);
            fprintf(f, "\"} %.9g\n", pool_value(&st[p], i));
        }
    }
    free(st);
    free(ok);
}

/* The Prometheus name of a field, and the factor to its unit (seconds,
 * bytes, counts); false for the rates (Prometheus makes its own). */
static bool prom_name(const struct containerv_metric_field *fl, char *buf, size_t size, double *scale)
{
    size_t n = strlen(fl->name);
    int keep = (int)n;
    const char *unit = "";
    *scale = 1;
    if (!strcmp(fl->unit, "per_second"))
        return false;
    if (!strcmp(fl->unit, "ns") || !strcmp(fl->unit, "us")) {
        keep = (int)n - 3; /* "_ns", "_us" */
        unit = "_seconds";
        *scale = !strcmp(fl->unit, "ns") ? 1e-9 : 1e-6;
    }
    snprintf(buf, size, "containerv_container_%.*s%s%s", keep, fl->name, unit, fl->is_counter ? "_total" : "");
    return true;
}

static void write_containers(struct cvd_metrics_http *m, FILE *f, struct containerv_runtime_metrics *rm)
{
    size_t nf;
    const struct containerv_metric_field *fl = containerv_runtime_metric_fields(&nf);
    family(f, "containerv_containers", "gauge", "Running containers of the daemon's runtime directory.");
    fprintf(f, "containerv_containers %zu\n", m->n_w);
    for (size_t i = 0; i < nf; i++) {
        char name[128];
        double scale;
        if (!prom_name(&fl[i], name, sizeof(name), &scale))
            continue;
        bool header = false;
        for (size_t k = 0; k < m->n_w; k++) {
            if (!containerv_metric_available(&rm[k], fl[i].bit))
                continue; /* no source on this host: no series, never a 0 */
            if (!header)
                family(f, name, fl[i].is_counter ? "counter" : "gauge", fl[i].help), header = true;
            fprintf(f, "%s{id=\"", name);
            label(f, m->w[k].id);
            fprintf(f, "\"} %.17g\n", containerv_metric_value(&rm[k], &fl[i]) * scale);
        }
    }
}

/* attach to the running containers not watched yet, release the gone */
static void refresh(struct cvd_metrics_http *m)
{
    struct containerv_info *infos = NULL;
    size_t n = 0;
    for (size_t k = 0; k < m->n_w; k++)
        m->w[k].seen = false;
    if (containerv_list(m->runtime_dir, &infos, &n, NULL) == 0) {
        for (size_t i = 0; i < n; i++) {
            if (infos[i].status != CONTAINERV_STATUS_RUNNING)
                continue;
            size_t k = 0;
            while (k < m->n_w && strcmp(m->w[k].id, infos[i].id) != 0)
                k++;
            if (k < m->n_w) {
                m->w[k].seen = true;
                continue;
            }
            if (m->n_w == m->cap_w) {
                size_t cap = m->cap_w ? m->cap_w * 2 : 16;
                struct watched *nw = realloc(m->w, cap * sizeof(*nw));
                if (!nw)
                    break;
                m->w = nw, m->cap_w = cap;
            }
            struct containerv_container *c = NULL;
            if (containerv_attach(m->runtime_dir, infos[i].id, &c, NULL) == 0) {
                struct watched *w = &m->w[m->n_w++];
                snprintf(w->id, sizeof(w->id), "%s", infos[i].id);
                w->c = c, w->seen = true;
            }
        }
        containerv_list_free(infos);
    }
    for (size_t k = 0; k < m->n_w;) {
        if (m->w[k].seen) {
            k++;
            continue;
        }
        containerv_release(m->w[k].c);
        m->w[k] = m->w[--m->n_w];
    }
}

char *cvd_metrics_exposition(struct cvd_metrics_http *m)
{
    char *body = NULL;
    size_t len = 0;
    refresh(m);
    struct containerv_runtime_metrics *rm = calloc(m->n_w + 1, sizeof(*rm));
    FILE *f = rm ? open_memstream(&body, &len) : NULL;
    if (!f) {
        free(rm);
        return NULL;
    }
    for (size_t k = 0; k < m->n_w; k++) {
        if (containerv_get_runtime_metrics(m->w[k].c, &rm[k]) < 0)
            rm[k].available = 0; /* gone meanwhile: no series this time */
    }
    write_pools(m, f);
    write_containers(m, f, rm);
    free(rm);
    if (fclose(f) != 0) {
        free(body);
        return NULL;
    }
    return body;
}

/* ------------------------------------------------------------ HTTP */

enum cvd_metrics_route cvd_metrics_http_route(const char *req, size_t n, bool *head)
{
    /* "METHOD SP PATH[?QUERY] SP VERSION": the request line's first two words */
    size_t line = 0;
    while (line < n && req[line] != '\r' && req[line] != '\n' && req[line] != '\0')
        line++;
    *head = line >= 5 && !memcmp(req, "HEAD ", 5);
    bool get = line >= 4 && !memcmp(req, "GET ", 4);
    if (!get && !*head)
        return CVD_METRICS_BAD_METHOD;
    size_t at = get ? 4 : 5, end = at;
    while (end < line && req[end] != ' ' && req[end] != '?')
        end++;
    return end - at == 8 && !memcmp(req + at, "/metrics", 8) ? CVD_METRICS_OK : CVD_METRICS_NOT_FOUND;
}

static bool send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w, n -= (size_t)w;
    }
    return true;
}

static void respond(int fd, const char *status, const char *type, const char *body, bool head)
{
    char hdr[256];
    size_t n = strlen(body);
    int h = snprintf(hdr, sizeof(hdr),
                     "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n", status,
                     type, n);
    if (send_all(fd, hdr, (size_t)h) && !head)
        send_all(fd, body, n);
}

static void serve(struct cvd_metrics_http *m, int fd)
{
    struct timeval tv = {.tv_sec = IO_TIMEOUT_S};
    char req[REQ_MAX + 1];
    size_t got = 0;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    while (got < REQ_MAX) { /* the request line and headers; a body is not read */
        ssize_t r = recv(fd, req + got, REQ_MAX - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return;
        got += (size_t)r;
        req[got] = '\0';
        if (strstr(req, "\r\n\r\n") || strstr(req, "\n\n"))
            break;
    }
    req[got] = '\0';
    bool head = false;
    enum cvd_metrics_route route = cvd_metrics_http_route(req, got, &head);
    if (route == CVD_METRICS_BAD_METHOD) {
        respond(fd, "405 Method Not Allowed", "text/plain; charset=utf-8", "GET /metrics only\n", false);
    } else if (route == CVD_METRICS_OK) {
        char *body = cvd_metrics_exposition(m);
        if (body)
            respond(fd, "200 OK", "text/plain; version=0.0.4; charset=utf-8", body, head);
        else
            respond(fd, "500 Internal Server Error", "text/plain; charset=utf-8", "out of memory\n", head);
        free(body);
    } else {
        respond(fd, "404 Not Found", "text/plain; charset=utf-8", "see /metrics\n", head);
    }
}

static void *http_main(void *arg)
{
    struct cvd_metrics_http *m = arg;
    for (;;) {
        struct pollfd p[2] = {{.fd = m->lfd, .events = POLLIN}, {.fd = m->stop_r, .events = POLLIN}};
        if (poll(p, 2, -1) < 0 && errno != EINTR)
            break;
        if (p[1].revents)
            break;
        if (!(p[0].revents & POLLIN))
            continue;
        int fd = accept4(m->lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            continue; /* ECONNABORTED, EMFILE: the next one */
        serve(m, fd);
        close(fd);
    }
    return NULL;
}

/* ------------------------------------------------------------ start, stop */

int cvd_metrics_http_start(struct cvd_metrics_http **out, const struct cvd_config *c,
                           const struct dpool *pools, int n)
{
    char def[128];
    const char *addr = c->metrics;
    *out = NULL;
    if (addr && !strcmp(addr, "none"))
        return 0;
    if (!addr) {
        snprintf(def, sizeof(def), "%s.metrics", c->socket);
        addr = def;
    }
    struct cvd_metrics_http *m = calloc(1, sizeof(*m));
    int p[2];
    if (!m || pipe2(p, O_CLOEXEC) < 0) {
        cli_error("daemon: metrics endpoint: %s", strerror(errno ? errno : ENOMEM));
        free(m);
        return -1;
    }
    m->stop_r = p[0], m->stop_w = p[1], m->lfd = -1;
    m->pools = pools, m->n_pools = n, m->runtime_dir = c->runtime_dir;
    if (!strncmp(addr, "unix:", 5))
        addr += 5;
    int r = addr[0] == '/' ? listen_unix(m, addr) : listen_tcp(m, addr);
    if (r == 0) {
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old); /* the daemon's signals go to its loop */
        r = pthread_create(&m->thread, NULL, http_main, m);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (r != 0)
            cli_error("daemon: metrics endpoint: starting its thread: %s", strerror(r)), r = -1;
        m->running = r == 0;
    }
    if (r < 0) {
        cvd_metrics_http_stop(m);
        /* the default place is a convenience: without it, the daemon serves on */
        return c->metrics ? -1 : 0;
    }
    *out = m;
    return 0;
}

void cvd_metrics_http_stop(struct cvd_metrics_http *m)
{
    if (!m)
        return;
    if (m->running) {
        if (write(m->stop_w, "x", 1) < 0) { /* the pipe is ours: cannot fail */ }
        pthread_join(m->thread, NULL);
    }
    if (m->lfd >= 0)
        close(m->lfd);
    if (m->unix_path[0])
        unlink(m->unix_path);
    close(m->stop_r);
    close(m->stop_w);
    for (size_t k = 0; k < m->n_w; k++)
        containerv_release(m->w[k].c);
    free(m->w);
    free(m);
}
