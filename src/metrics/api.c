/* The public calls of include/containerv/metrics.h, and what a container
 * handle keeps for them (c->rt_metrics): the monitored series, or the source
 * and the previous sample of unmonitored calls. */
#include "cvm.h"

struct cvm_handle {
    pthread_mutex_t lock;
    struct cvm_entry *mon;  /* monitored */
    struct cvm_src src;     /* unmonitored calls: opened by the first, kept open */
    bool src_open, src_ended;
    struct containerv_runtime_metrics prev;
    bool has_prev;
};

static pthread_mutex_t handles_lock = PTHREAD_MUTEX_INITIALIZER;

static struct cvm_handle *handle(struct containerv_container *c, struct containerv_error *err)
{
    pthread_mutex_lock(&handles_lock);
    if (!c->rt_metrics && (c->rt_metrics = calloc(1, sizeof(*c->rt_metrics)))) {
        pthread_mutex_init(&c->rt_metrics->lock, NULL);
        cvm_src_init(&c->rt_metrics->src);
    }
    struct cvm_handle *h = c->rt_metrics;
    pthread_mutex_unlock(&handles_lock);
    if (!h)
        cv_error(err, ENOMEM, "metrics", "allocating");
    return h;
}

void cv_metrics_forget(struct containerv_container *c)
{
    struct cvm_handle *h = c ? c->rt_metrics : NULL;
    if (!h)
        return;
    if (h->mon)
        cvm_monitor_remove(h->mon);
    if (h->src_open)
        cvm_src_close(&h->src);
    pthread_mutex_destroy(&h->lock);
    free(h);
    c->rt_metrics = NULL;
}

void containerv_monitor_options_init(struct containerv_monitor_options *o)
{
    if (o)
        *o = (struct containerv_monitor_options){.interval_ms = 1000, .history = 60, .groups = CONTAINERV_GROUP_ALL};
}

/* an unmonitored sample: the handle's source, rates since the previous call */
static int sample_now(struct containerv_container *c, struct cvm_handle *h, struct containerv_runtime_metrics *m,
                      struct containerv_error *err)
{
    struct cvm_extra x;
    if (h->src_ended)
        return cv_error_plain(err, ESRCH, "metrics", "the init of '%s' has exited", c->id);
    if (!h->src_open) {
        int r = cvm_src_open(&h->src, c, CONTAINERV_GROUP_ALL, err);
        if (r < 0)
            return r;
        h->src_open = true;
    }
    int r = cvm_sample(&h->src, m, &x);
    cvm_rates(h->has_prev ? &h->prev : NULL, m, &x);
    m->sequence = h->has_prev ? h->prev.sequence + 1 : 1;
    if (r < 0) { /* the last sample: the source goes, no fd is kept */
        m->flags |= CONTAINERV_METRICS_ENDED;
        cvm_src_close(&h->src);
        h->src_open = false;
        h->src_ended = true;
    }
    h->prev = *m;
    h->has_prev = true;
    return 0;
}

int containerv_get_runtime_metrics_ex(struct containerv_container *c, struct containerv_runtime_metrics *m,
                                      struct containerv_error *err)
{
    containerv_error_clear(err);
    if (!c || !m)
        return cv_error_plain(err, EINVAL, "metrics", "no container or no metrics given");
    struct cvm_handle *h = handle(c, err);
    if (!h)
        return -ENOMEM;
    pthread_mutex_lock(&h->lock);
    int r = h->mon ? cvm_monitor_latest(h->mon, m) : sample_now(c, h, m, err);
    pthread_mutex_unlock(&h->lock);
    if (r == -EAGAIN)
        r = cv_error_plain(err, EAGAIN, "metrics", "no sample of '%s' yet", c->id);
    return r;
}

int containerv_get_runtime_metrics(struct containerv_container *c, struct containerv_runtime_metrics *m)
{
    return containerv_get_runtime_metrics_ex(c, m, NULL);
}

int containerv_start_performance_monitoring_ex(struct containerv_container *c,
                                               const struct containerv_monitor_options *o,
                                               struct containerv_error *err)
{
    struct containerv_monitor_options opts;
    containerv_error_clear(err);
    if (!c)
        return cv_error_plain(err, EINVAL, "metrics.monitor", "no container given");
    containerv_monitor_options_init(&opts);
    if (o && o->interval_ms)
        opts.interval_ms = o->interval_ms;
    if (o && o->history)
        opts.history = o->history;
    if (o && o->groups)
        opts.groups = o->groups;
    if (opts.interval_ms < 10 || opts.history > 100000 || (opts.groups & ~(uint32_t)CONTAINERV_GROUP_ALL))
        return cv_error_plain(err, EINVAL, "metrics.monitor",
                              "interval %u ms (at least 10), history %u samples (at most 100000) or "
                              "groups 0x%x (at most 0x%x)",
                              opts.interval_ms, opts.history, opts.groups, (unsigned)CONTAINERV_GROUP_ALL);
    struct cvm_handle *h = handle(c, err);
    if (!h)
        return -ENOMEM;
    pthread_mutex_lock(&h->lock);
    int r = h->mon ? cv_error_plain(err, EBUSY, "metrics.monitor", "'%s' is monitored already", c->id)
                   : cvm_monitor_add(c, &opts, &h->mon, err);
    pthread_mutex_unlock(&h->lock);
    return r;
}

int containerv_start_performance_monitoring(struct containerv_container *c)
{
    return containerv_start_performance_monitoring_ex(c, NULL, NULL);
}

int containerv_stop_performance_monitoring(struct containerv_container *c)
{
    struct cvm_handle *h = c ? c->rt_metrics : NULL;
    if (!c)
        return -EINVAL;
    if (!h)
        return -ENOENT;
    pthread_mutex_lock(&h->lock);
    struct cvm_entry *e = h->mon;
    h->mon = NULL;
    pthread_mutex_unlock(&h->lock);
    if (!e)
        return -ENOENT;
    cvm_monitor_remove(e);
    return 0;
}

int containerv_get_runtime_metrics_history(struct containerv_container *c, struct containerv_runtime_metrics *out,
                                           size_t max, size_t *n, struct containerv_error *err)
{
    containerv_error_clear(err);
    if (!c || !n || (max && !out))
        return cv_error_plain(err, EINVAL, "metrics.history", "no container, buffer or count given");
    *n = 0;
    struct cvm_handle *h = c->rt_metrics;
    if (h)
        pthread_mutex_lock(&h->lock);
    int r = h && h->mon ? 0 : cv_error_plain(err, ENOENT, "metrics.history", "'%s' is not monitored", c->id);
    if (r == 0)
        *n = cvm_monitor_history(h->mon, out, max);
    if (h)
        pthread_mutex_unlock(&h->lock);
    return r;
}
