/* Printing start-up metrics: --metrics, --metrics-json, --debug traces. */
#include "cli.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <string.h>

struct metric_field {
    const char *name;
    size_t offset;
};

#define FIELD(f) {#f, offsetof(struct containerv_startup_metrics, f)}
static const struct metric_field fields[] = {
    FIELD(total_startup_ns),  FIELD(layer_mount_ns),    FIELD(namespace_setup_ns),
    FIELD(security_setup_ns), FIELD(network_setup_ns),  FIELD(resource_alloc_ns),
    FIELD(first_process_ns),
};
#define N_FIELDS (sizeof(fields) / sizeof(fields[0]))

static uint64_t field_value(const struct containerv_startup_metrics *m, size_t i)
{
    uint64_t v;

    memcpy(&v, (const char *)m + fields[i].offset, sizeof(v));
    return v;
}

void cli_metrics_print(FILE *out, const char *id, const struct containerv_startup_metrics *m)
{
    fprintf(out, "startup metrics of %s:\n", id);
    fprintf(out, "  %-18s %13s\n", "phase", "µs"); /* 13: 'µ' is two bytes */
    for (size_t i = 0; i < N_FIELDS; i++) {
        uint64_t ns = field_value(m, i);
        /* the name without its "_ns" suffix */
        int len = (int)(strlen(fields[i].name) - 3);
        fprintf(out, "  %-18.*s %8" PRIu64 ".%03" PRIu64 "\n", len, fields[i].name, ns / 1000,
                ns % 1000);
    }
}

static json_t *metrics_json(const char *id, const struct containerv_startup_metrics *m)
{
    json_t *obj = json_object();

    if (!obj || json_object_set_new(obj, "id", json_string(id)) < 0)
        goto fail;
    for (size_t i = 0; i < N_FIELDS; i++)
        if (json_object_set_new(obj, fields[i].name, json_integer((json_int_t)field_value(m, i))) < 0)
            goto fail;
    return obj;
fail:
    json_decref(obj);
    return NULL;
}

int cli_metrics_write_json(struct cli_outfile *mf, const char *id,
                           const struct containerv_startup_metrics *m)
{
    json_t *obj = metrics_json(id, m);

    if (!obj) {
        cli_error("--metrics-json: out of memory");
        cli_outfile_abandon(mf);
        return -1;
    }
    bool bad = json_dumpf(obj, mf->f, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0 || fputc('\n', mf->f) == EOF;
    json_decref(obj);
    return cli_outfile_close(mf, bad);
}

void cli_trace_debug(void *userdata, const char *step, uint64_t duration_ns)
{
    (void)userdata;
    fprintf(stderr, "containerv: debug: %s %" PRIu64 ".%03" PRIu64 " µs\n", step,
            duration_ns / 1000, duration_ns % 1000);
}
