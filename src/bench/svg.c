/* Reports as an SVG chart, written by hand (no dependencies): one section
 * per report. Startup: per mode a bar at p50 with whiskers to p90 and p99,
 * then the cold run as a stacked bar of its phases. Others: plain bars. */
#include "bench.h"

#define W 960
#define X0 150        /* bars start here */
#define XMAX (W - 250) /* and end here at most; labels to the right */
#define ROW 26
#define FONT "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\""

static const char *const palette[] = {
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948",
    "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
};
#define COLOR(i) palette[(size_t)(i) % (sizeof(palette) / sizeof(palette[0]))]

/* Text with &, <, >, " escaped; at most max characters. */
static void text(FILE *f, double x, double y, const char *attrs, const char *s, size_t max)
{
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" %s>", x, y, attrs);
    for (size_t i = 0; s[i] && i < max; i++) {
        switch (s[i]) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(s[i], f); break;
        }
    }
    if (strlen(s) > max)
        fputs("…", f);
    fputs("</text>\n", f);
}

static void title(FILE *f, double y, const char *s)
{
    text(f, 10, y, "font-size=\"15\" font-weight=\"bold\"", s, 200);
}

static void label(FILE *f, double y, const char *s)
{
    text(f, X0 - 8, y, "font-size=\"12\" text-anchor=\"end\"", s, 24);
}

static void rect(FILE *f, double x, double y, double w, double h, const char *color)
{
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>\n", x, y,
            w > 0.5 ? w : 0.5, h, color);
}

static void line(FILE *f, double x1, double y1, double x2, double y2)
{
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\" stroke-width=\"1.5\"/>\n",
            x1, y1, x2, y2);
}

/* ------------------------------------------------------------ startup */

static double startup_scale(const struct containerv_bench_report *r)
{
    double max = 0;
    for (size_t i = 0; i < r->n_results; i++)
        if (r->results[i].n_samples && r->results[i].p99_us > max)
            max = r->results[i].p99_us;
    return max > 0 ? (XMAX - X0) / max : 1;
}

static double startup_rows(FILE *f, const struct containerv_bench_report *r, double y)
{
    double sc = startup_scale(r);
    char buf[160];
    for (size_t i = 0; i < r->n_results; i++, y += ROW) {
        const struct containerv_bench_result *m = &r->results[i];
        label(f, y + 13, m->name);
        if (!m->n_samples) {
            snprintf(buf, sizeof(buf), "skipped: %s", m->skipped[0] ? m->skipped : "cancelled");
            text(f, X0, y + 13, "font-size=\"11\" fill=\"#888\"", buf, 110);
            continue;
        }
        double mid = y + 9, x50 = X0 + m->p50_us * sc, x90 = X0 + m->p90_us * sc,
               x99 = X0 + m->p99_us * sc;
        rect(f, X0, y + 1, m->p50_us * sc, 16, COLOR(i));
        line(f, x50, mid, x99, mid);
        line(f, x90, mid - 5, x90, mid + 5);
        line(f, x99, mid - 8, x99, mid + 8);
        snprintf(buf, sizeof(buf), "p50 %.0f · p90 %.0f · p99 %.0f µs", m->p50_us, m->p90_us, m->p99_us);
        text(f, x99 + 8, y + 13, "font-size=\"11\"", buf, 80);
    }
    return y;
}

struct segment {
    const char *name;
    double us;
};

static size_t cold_segments(const struct containerv_bench_result *c, struct segment *s)
{
    const struct containerv_startup_metrics *p = &c->phases;
    double phases[] = {p->layer_mount_ns / 1e3, p->namespace_setup_ns / 1e3, p->security_setup_ns / 1e3,
                       p->network_setup_ns / 1e3, p->resource_alloc_ns / 1e3};
    const char *names[] = {"layer_mount", "namespace_setup", "security_setup", "network_setup",
                           "resource_alloc"};
    double sum = 0, first = p->first_process_ns / 1e3;
    size_t n = 0;
    for (size_t i = 0; i < 5; i++) {
        s[n++] = (struct segment){names[i], phases[i]};
        sum += phases[i];
    }
    s[n++] = (struct segment){"create: other steps", c->create_us - sum};
    s[n++] = (struct segment){"first_process", first};
    s[n++] = (struct segment){"spawn + wait: rest", c->spawn_wait_us - first};
    s[n++] = (struct segment){"destroy", c->destroy_us};
    s[n++] = (struct segment){"benchmark loop", c->mean_us - c->create_us - c->spawn_wait_us - c->destroy_us};
    for (size_t i = 0; i < n; i++)
        if (s[i].us < 0)
            s[i].us = 0; /* the child's phases overlap the host's: "other" can be negative */
    return n;
}

static double cold_breakdown(FILE *f, const struct containerv_bench_result *c, double y)
{
    struct segment seg[12];
    size_t n = cold_segments(c, seg);
    double total = 0, x = X0;
    char buf[128];
    for (size_t i = 0; i < n; i++)
        total += seg[i].us;
    double sc = total > 0 ? (XMAX - X0) / total : 1;
    text(f, 10, y + 12, "font-size=\"13\" font-weight=\"bold\"", "cold: where a run goes (mean µs)", 80);
    y += 22;
    label(f, y + 15, "cold");
    for (size_t i = 0; i < n; i++) {
        rect(f, x, y, seg[i].us * sc, 22, COLOR(i));
        x += seg[i].us * sc;
    }
    snprintf(buf, sizeof(buf), "%.0f µs", total);
    text(f, x + 8, y + 15, "font-size=\"11\"", buf, 40);
    y += 34;
    for (size_t i = 0; i < n; i++) {
        double lx = X0 + (double)(i % 3) * 250, ly = y + (double)(i / 3) * 18;
        rect(f, lx, ly, 11, 11, COLOR(i));
        snprintf(buf, sizeof(buf), "%s %.0f", seg[i].name, seg[i].us);
        text(f, lx + 16, ly + 10, "font-size=\"11\"", buf, 40);
    }
    y += (double)((n + 2) / 3) * 18 + 4;
    text(f, X0, y + 8, "font-size=\"10\" fill=\"#666\"",
         "the child's layer, security and network phases run while the host allocates resources: "
         "phases can add up to more than create",
         200);
    return y + 20;
}

static double startup_section(FILE *f, const struct containerv_bench_report *r, double y)
{
    char buf[200];
    snprintf(buf, sizeof(buf), "Start-up of /bin/true, %d iterations interleaved (bar: p50; whiskers: p90, p99)",
             r->iterations);
    title(f, y + 14, buf);
    y = startup_rows(f, r, y + 26);
    for (size_t i = 0; i < r->n_targets; i++, y += 16) {
        snprintf(buf, sizeof(buf), "%s: %.2f, %s", r->targets[i].name, r->targets[i].value,
                 r->targets[i].holds ? "met" : "NOT met");
        text(f, X0, y + 12, r->targets[i].holds ? "font-size=\"11\" fill=\"#2a7a2a\""
                                                : "font-size=\"11\" fill=\"#b22222\"",
             buf, 120);
    }
    const struct containerv_bench_result *c = containerv_bench_find(r, "cold");
    if (c && c->has_phases)
        y = cold_breakdown(f, c, y + 10);
    return y + 10;
}

/* ------------------------------------------------------------ the others */

struct bar {
    char label[48];
    double value;
    char text[64];
    size_t color; /* the result's index: one color per mode */
};

static double bars(FILE *f, const struct bar *b, size_t n, double y)
{
    double max = 0;
    for (size_t i = 0; i < n; i++)
        if (b[i].value > max)
            max = b[i].value;
    double sc = max > 0 ? (XMAX - X0) / max : 1;
    for (size_t i = 0; i < n; i++, y += ROW) {
        label(f, y + 13, b[i].label);
        if (b[i].value > 0)
            rect(f, X0, y + 1, b[i].value * sc, 16, COLOR(b[i].color));
        text(f, X0 + (b[i].value > 0 ? b[i].value * sc : 0) + 8, y + 13, "font-size=\"11\"", b[i].text, 110);
    }
    return y;
}

static void skipped_bar(struct bar *x, const struct containerv_bench_result *m)
{
    x->value = 0;
    snprintf(x->text, sizeof(x->text), "skipped: %.50s", m->skipped);
}

static size_t throughput_bars(const struct containerv_bench_result *m, struct bar *x)
{
    snprintf(x->label, sizeof(x->label), "%s", m->name);
    x->value = m->containers_per_s;
    snprintf(x->text, sizeof(x->text), "%.1f containers/s", x->value);
    return 1;
}

static size_t memory_bars(const struct containerv_bench_result *m, struct bar *x)
{
    static const char *const names[] = {"MemAvailable", "PSS", "kernel"};
    double v[] = {m->bytes_per_container, m->pss_bytes_per_container, m->kernel_bytes_per_container};
    for (size_t k = 0; k < 3; k++) {
        snprintf(x[k].label, sizeof(x[k].label), "%s %s", m->name, names[k]);
        x[k].value = v[k] / 1024;
        snprintf(x[k].text, sizeof(x[k].text), "%.0f KiB per container", x[k].value);
    }
    return 3;
}

static size_t seccomp_bars(const struct containerv_bench_result *m, struct bar *x)
{
    snprintf(x->label, sizeof(x->label), "%s", m->name);
    x->value = m->p50_us;
    snprintf(x->text, sizeof(x->text), strcmp(m->name, "load") ? "p50 %.1f ns per call" : "p50 %.1f µs",
             x->value);
    return 1;
}

static size_t io_bars(const struct containerv_bench_result *m, struct bar *x)
{
    static const char *const names[] = {"seq read", "seq write", "rand read", "rand write"};
    double v[] = {m->seq_read_mbps, m->seq_write_mbps, m->rand_read_mbps, m->rand_write_mbps};
    for (size_t k = 0; k < 4; k++) {
        snprintf(x[k].label, sizeof(x[k].label), "%s %s", m->name, names[k]);
        x[k].value = v[k];
        snprintf(x[k].text, sizeof(x[k].text), "%.0f MB/s", x[k].value);
    }
    return 4;
}

/* monitor: µs of CPU per sample (sampling, oneshot), p50 µs (the cold modes) */
static size_t monitor_bars(const struct containerv_bench_result *m, struct bar *x)
{
    bool timed = m->n_samples > 0;
    snprintf(x[0].label, sizeof(x[0].label), "%s", m->name);
    x[0].value = timed ? m->p50_us : m->sample_cpu_us;
    snprintf(x[0].text, sizeof(x[0].text), timed ? "p50 %.0f µs" : "%.2f µs CPU per sample", x[0].value);
    return 1;
}

/* Up to 4 bars per result; b has room for 4 * n_results. */
static size_t value_bars(const struct containerv_bench_report *r, struct bar *b)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n_results; i++) {
        const struct containerv_bench_result *m = &r->results[i];
        size_t k = r->kind == CONTAINERV_BENCH_THROUGHPUT ? throughput_bars(m, &b[n])
                   : r->kind == CONTAINERV_BENCH_MEMORY   ? memory_bars(m, &b[n])
                   : r->kind == CONTAINERV_BENCH_MONITOR  ? monitor_bars(m, &b[n])
                   : r->kind == CONTAINERV_BENCH_SECCOMP  ? seccomp_bars(m, &b[n])
                                                          : io_bars(m, &b[n]);
        for (size_t j = 0; j < k; j++) {
            b[n + j].color = i;
            if (m->skipped[0])
                skipped_bar(&b[n + j], m);
        }
        n += k;
    }
    return n;
}

static double value_section(FILE *f, const struct containerv_bench_report *r, double y)
{
    struct bar *b = calloc(r->n_results * 4 + 1, sizeof(*b));
    char buf[200];
    if (!b)
        return y;
    if (r->kind == CONTAINERV_BENCH_THROUGHPUT)
        snprintf(buf, sizeof(buf), "Throughput: /bin/true containers run to completion, %d workers, %d s",
                 r->concurrency, r->duration_s);
    else if (r->kind == CONTAINERV_BENCH_MEMORY)
        snprintf(buf, sizeof(buf), "Memory per idle container (%d containers running sleep)", r->containers);
    else if (r->kind == CONTAINERV_BENCH_MONITOR)
        snprintf(buf, sizeof(buf), "Runtime metrics: %d containers sampled every %d ms; cold with and without",
                 r->containers, r->monitor_interval_ms);
    else if (r->kind == CONTAINERV_BENCH_SECCOMP)
        snprintf(buf, sizeof(buf), "Seccomp: loading the built-in filter, and system calls with and without it");
    else
        snprintf(buf, sizeof(buf), "I/O, %llu MiB file: container (%s), host (%s), host-tmpfs",
                 (unsigned long long)(r->io_bytes >> 20), r->container_fs, r->host_fs);
    title(f, y + 14, buf);
    size_t n = value_bars(r, b);
    y = bars(f, b, n, y + 26) + 10;
    free(b);
    return y;
}

/* ------------------------------------------------------------ document */

static double section(FILE *f, const struct containerv_bench_report *r, double y)
{
    return r->kind == CONTAINERV_BENCH_STARTUP ? startup_section(f, r, y) : value_section(f, r, y);
}

char *containerv_bench_svg(const struct containerv_bench_report *const *reports, size_t n)
{
    char *body = NULL, *out = NULL;
    size_t blen = 0, olen = 0;
    if (!reports || n == 0) {
        errno = EINVAL;
        return NULL;
    }
    FILE *f = open_memstream(&body, &blen);
    if (!f)
        return NULL;
    double y = 10;
    for (size_t i = 0; i < n; i++)
        y = section(f, reports[i], y) + 10;
    if (fclose(f) != 0) {
        free(body);
        return NULL;
    }
    FILE *g = open_memstream(&out, &olen);
    if (!g) {
        free(body);
        return NULL;
    }
    fprintf(g, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%.0f\" viewBox=\"0 0 %d %.0f\" %s>\n"
               "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n%s</svg>\n",
            W, y, W, y, FONT, body);
    free(body);
    if (fclose(g) != 0) {
        free(out);
        return NULL;
    }
    return out;
}
