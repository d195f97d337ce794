/* Printing start-up metrics: --metrics, --metrics-json, --debug traces. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <string.h>
#include <unistd.h>

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

int cli_metrics_open(struct cli_metrics_file *mf, const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

    mf->path = path;
    mf->created = fd >= 0;
    if (fd < 0 && errno == EEXIST)
        fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
    mf->f = fd < 0 ? NULL : fdopen(fd, "w");
    if (!mf->f) {
        cli_error("--metrics-json: cannot open '%s': %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        if (mf->created)
            unlink(path);
        return -1;
    }
    return 0;
}

void cli_metrics_abandon(struct cli_metrics_file *mf)
{
    if (!mf->f)
        return;
    fclose(mf->f);
    mf->f = NULL;
    if (mf->created)
        unlink(mf->path);
}

int cli_metrics_write_json(struct cli_metrics_file *mf, const char *id,
                           const struct containerv_startup_metrics *m)
{
    json_t *obj = metrics_json(id, m);
    int rc = -1;

    if (!obj) {
        cli_error("--metrics-json: out of memory");
        cli_metrics_abandon(mf);
        return -1;
    }
    rc = json_dumpf(obj, mf->f, JSON_INDENT(2) | JSON_PRESERVE_ORDER) == 0 && fputc('\n', mf->f) != EOF
             ? 0 : -1;
    if (fclose(mf->f) != 0)
        rc = -1;
    mf->f = NULL;
    if (rc < 0)
        cli_error("--metrics-json: cannot write '%s': %s", mf->path, strerror(errno));
    json_decref(obj);
    return rc;
}

void cli_trace_debug(void *userdata, const char *step, uint64_t duration_ns)
{
    (void)userdata;
    fprintf(stderr, "containerv: debug: %s %" PRIu64 ".%03" PRIu64 " µs\n", step,
            duration_ns / 1000, duration_ns % 1000);
}
