/* Warm container pools (docs/pools.md).
 *
 * One mutex guards the pool; one background thread, owned by the pool, does
 * all slow work: it resets returned containers in place (containerv_reset),
 * destroys those that cannot be (a replacement is then built), and builds
 * warm containers until the pool is full. It sleeps on a condition variable and is woken by
 * get (a slot to refill), return (a container to dispose of) and destroy (stop);
 * there is no polling. Warm containers are created by that thread, whose life
 * is the pool's: die-with-parent (PR_SET_PDEATHSIG on the creating thread)
 * kills them if the owning process dies, and `containerv gc` removes their
 * state. */
#include "../common/internal.h"

#include <containerv/pool.h>

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>

#define POOL_MAX 1024

struct returned {
    struct containerv_container *c;
    bool cold;   /* made on a miss */
    int conn;    /* where the answer to its reset comes, -1: not being reset */
    uint64_t t0; /* when it came back */
    char why[200]; /* why no reset was begun */
    struct returned *next;
};

/* A container a get made on a miss: it dies with the thread that made it, so
 * it is never kept when it comes back. */
struct cold {
    struct containerv_container *c;
    struct cold *next;
};

struct containerv_pool {
    pthread_mutex_t lock;
    pthread_cond_t work; /* the background thread's wake-up */
    pthread_cond_t ready; /* a get waiting for a reset: warm grew or back shrank */
    pthread_t thread;
    bool stop;
    bool stalled; /* the last background create failed: wait for the next get/return */
    struct containerv_options *opts;
    char name[CV_ID_MAX + 1];
    char prefix[40];
    uint64_t seq;
    int size;
    struct containerv_container **warm; /* a stack of size entries */
    int n_warm;
    struct returned *returned; /* to reset or destroy */
    struct cold *cold;         /* made on a miss, taken and not returned */
    int in_use;                /* taken and not returned: lent + made on a miss */
    int lent;                  /* warm containers taken and not returned */
    int back;                  /* returned, not made on a miss, not yet taken back */
    int stop_rc; /* the first error of destroying what the pool held */
    struct containerv_error stop_err;
    uint64_t hits, misses, refills, resets, replaces, failures, refill_ns, reset_ns;
    char last_error[512];
    char last_replace[256];
};

void containerv_pool_config_init(struct containerv_pool_config *cfg)
{
    if (cfg)
        memset(cfg, 0, sizeof(*cfg));
}

/* ------------------------------------------------------------ background */

static void next_id(struct containerv_pool *p, char *buf, size_t size)
{
    snprintf(buf, size, "%s%llu", p->prefix,
             (unsigned long long)__atomic_add_fetch(&p->seq, 1, __ATOMIC_RELAXED));
}

/* Create a container under the next free id. An id can be taken when an
 * earlier owner of the prefix was killed (a daemon restarted at once): its
 * containers hold their ids until they are gone, so take the next one. */
static int create_next(struct containerv_pool *p, struct containerv_container **c,
                       struct containerv_error *err)
{
    char id[CV_ID_MAX + 1];
    int r;
    for (int tries = 0;; tries++) {
        next_id(p, id, sizeof(id));
        r = containerv_create(id, p->opts, c, err);
        if (r != -EEXIST || tries >= POOL_MAX)
            return r;
    }
}

/* Build one warm container (unlocked), then put it in the pool (locked). */
static void refill_one(struct containerv_pool *p)
{
    struct containerv_container *c = NULL;
    struct containerv_error e;
    pthread_mutex_unlock(&p->lock);
    uint64_t t0 = cv_now_ns();
    int r = create_next(p, &c, &e);
    uint64_t dt = cv_now_ns() - t0;
    pthread_mutex_lock(&p->lock);
    pthread_cond_broadcast(&p->ready);
    if (r < 0) {
        p->failures++;
        p->stalled = true;
        snprintf(p->last_error, sizeof(p->last_error), "%s", e.message);
        return;
    }
    p->warm[p->n_warm++] = c;
    p->refills++;
    p->refill_ns += dt;
}

/* Take back every returned container, oldest first: the resets were begun
 * by return (the inits work on them at the same time); read each answer, and
 * put the container back warm when it is as new and the pool has room, else
 * destroy it (a refill replaces it). Called locked; unlocks while working. */
static void take_back(struct containerv_pool *p)
{
    struct returned *list = NULL, *r;
    while ((r = p->returned)) { /* reverse: oldest first */
        p->returned = r->next;
        r->next = list;
        list = r;
    }
    pthread_mutex_unlock(&p->lock);
    while ((r = list)) {
        list = r->next;
        struct containerv_error e;
        bool reset = r->conn >= 0 && cv_reset_end(r->c, r->conn, &e) == 0;
        if (r->conn >= 0 && !reset)
            snprintf(r->why, sizeof(r->why), "%s", e.message);
        pthread_mutex_lock(&p->lock);
        if (!r->cold)
            p->back--;
        bool keep = reset && p->n_warm < p->size;
        if (keep) {
            p->warm[p->n_warm++] = r->c;
            p->resets++;
            p->reset_ns += cv_now_ns() - r->t0;
        } else {
            p->replaces++;
            snprintf(p->last_replace, sizeof(p->last_replace), "%s", reset ? "the pool was full" : r->why);
        }
        pthread_cond_broadcast(&p->ready);
        pthread_mutex_unlock(&p->lock);
        if (!keep && containerv_destroy(r->c, &e) < 0) {
            pthread_mutex_lock(&p->lock);
            snprintf(p->last_error, sizeof(p->last_error), "%s", e.message);
            pthread_mutex_unlock(&p->lock);
        }
        free(r);
    }
    pthread_mutex_lock(&p->lock);
}

/* When the pool stops, in its thread: destroy what the pool held; the first
 * error wins. */
static int destroy_held(struct containerv_container **warm, int n_warm, struct returned *returned,
                        struct containerv_error *err)
{
    struct containerv_error e;
    int rc = 0, r;
    for (int i = 0; i < n_warm; i++)
        if ((r = containerv_destroy(warm[i], &e)) < 0 && rc == 0) {
            rc = r;
            *err = e;
        }
    while (returned) {
        struct returned *x = returned;
        returned = x->next;
        if (x->conn >= 0)
            close(x->conn);
        if ((r = containerv_destroy(x->c, &e)) < 0 && rc == 0) {
            rc = r;
            *err = e;
        }
        free(x);
    }
    return rc;
}

/* The pool owns `size` containers: warm ones and those lent out, which come
 * back (reset) to be warm again. Only what is missing is built, so a get and
 * return cost no create at all while the users' containers stay as new. */
static bool needs_refill(const struct containerv_pool *p)
{
    return !p->stalled && p->n_warm + p->lent + p->back < p->size;
}

static void *pool_thread(void *arg)
{
    struct containerv_pool *p = arg;
    pthread_mutex_lock(&p->lock);
    while (!p->stop) {
        if (p->returned)
            take_back(p); /* a reset is the cheapest way to a warm container */
        else if (needs_refill(p))
            refill_one(p);
        else
            pthread_cond_wait(&p->work, &p->lock);
    }
    /* the containers this thread made die with it: destroy them first (a
     * return from now on destroys in the caller) */
    struct returned *returned = p->returned;
    int n_warm = p->n_warm;
    p->returned = NULL;
    p->n_warm = 0;
    p->back = 0;
    pthread_cond_broadcast(&p->ready);
    pthread_mutex_unlock(&p->lock);
    p->stop_rc = destroy_held(p->warm, n_warm, returned, &p->stop_err);
    return NULL;
}

/* ------------------------------------------------------------ create */

static int pool_options(struct containerv_pool *p, const char *name,
                        const struct containerv_pool_config *cfg, struct containerv_error *err)
{
    int r = containerv_template_load(cfg->state_dir, name, &p->opts, err);
    if (r < 0)
        return r;
    if (cfg->runtime_dir && (r = containerv_options_set_runtime_dir(p->opts, cfg->runtime_dir)) < 0)
        return cv_error(err, -r, "pool.create", "runtime dir '%s'", cfg->runtime_dir);
    /* a pooled container is reset by its init's kill(-1): only in a pid
     * namespace of its own does that reach just the container */
    if (!(p->opts->namespaces & CONTAINERV_NS_PID))
        return cv_error_plain(err, EINVAL, "pool.create",
                              "template '%s' shares the host's pid namespace: its containers cannot be reset for "
                              "reuse", name ? name : "");
    /* the background thread lives as long as the pool: warm containers die
     * with it, and so with the process that owns the pool */
    containerv_options_set_die_with_parent(p->opts, true);
    return 0;
}

static void pool_prefix(struct containerv_pool *p, const struct containerv_pool_config *cfg)
{
    static unsigned counter;
    if (cfg->id_prefix)
        snprintf(p->prefix, sizeof(p->prefix), "%.39s", cfg->id_prefix);
    else
        snprintf(p->prefix, sizeof(p->prefix), "cvp%dx%u-", (int)getpid(),
                 __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED));
}

static void pool_free(struct containerv_pool *p)
{
    while (p->cold) { /* taken and never returned: the caller's */
        struct cold *k = p->cold;
        p->cold = k->next;
        free(k);
    }
    containerv_options_free(p->opts);
    free(p->warm);
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->ready);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

int containerv_pool_create_ex(const char *template_name, int pool_size,
                              const struct containerv_pool_config *cfg_in,
                              struct containerv_pool **pool, struct containerv_error *err)
{
    struct containerv_pool_config cfg;
    containerv_error_clear(err);
    if (!pool || pool_size < 1 || pool_size > POOL_MAX)
        return cv_error_plain(err, EINVAL, "pool.create", "pool size %d out of range 1..%d",
                              pool_size, POOL_MAX);
    *pool = NULL;
    containerv_pool_config_init(&cfg);
    if (cfg_in)
        cfg = *cfg_in;
    struct containerv_pool *p = calloc(1, sizeof(*p));
    if (!p)
        return cv_error(err, ENOMEM, "pool.create", "allocating the pool");
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->ready, &ca);
    pthread_condattr_destroy(&ca);
    p->size = pool_size;
    snprintf(p->name, sizeof(p->name), "%s", template_name ? template_name : "");
    pool_prefix(p, &cfg);
    int r = pool_options(p, template_name, &cfg, err);
    if (r == 0 && !(p->warm = calloc((size_t)pool_size, sizeof(*p->warm))))
        r = cv_error(err, ENOMEM, "pool.create", "allocating the pool");
    if (r == 0 && (r = pthread_create(&p->thread, NULL, pool_thread, p)) != 0)
        r = cv_error(err, r, "pool.create", "starting the background thread");
    if (r != 0) {
        pool_free(p);
        return r < 0 ? r : -r;
    }
    *pool = p;
    return 0;
}

int containerv_pool_create(const char *template_name, int pool_size, struct containerv_pool **pool,
                           struct containerv_error *err)
{
    return containerv_pool_create_ex(template_name, pool_size, NULL, pool, err);
}

/* ------------------------------------------------------------ get, return */

static int get_cold(struct containerv_pool *p, struct containerv_container **c,
                    struct containerv_error *err)
{
    struct cold *k = malloc(sizeof(*k));
    if (!k)
        return cv_error(err, ENOMEM, "pool.get", "allocating");
    int r = create_next(p, c, err);
    if (r < 0) {
        free(k);
        return r;
    }
    k->c = *c;
    pthread_mutex_lock(&p->lock);
    p->in_use++;
    k->next = p->cold;
    p->cold = k;
    pthread_mutex_unlock(&p->lock);
    return 0;
}

/* A warm container if one is there (a hit); else, with wait, after the
 * resets under way, and counted as a miss when there is still none. */
static void take_warm(struct containerv_pool *p, bool wait, struct containerv_container **c)
{
    pthread_mutex_lock(&p->lock);
    p->stalled = false; /* a get is the moment to try again after a failure */
    /* a reset under way takes microseconds, a cold create milliseconds */
    while (wait && p->n_warm == 0 && p->back > 0 && !p->stop)
        pthread_cond_wait(&p->ready, &p->lock);
    if (p->n_warm > 0) {
        *c = p->warm[--p->n_warm];
        p->hits++;
        p->in_use++;
        p->lent++;
    } else if (wait) {
        p->misses++;
    }
    pthread_cond_signal(&p->work);
    pthread_mutex_unlock(&p->lock);
}

int containerv_pool_get_container(struct containerv_pool *p, struct containerv_container **c,
                                  struct containerv_error *err)
{
    containerv_error_clear(err);
    if (!p || !c)
        return cv_error_plain(err, EINVAL, "pool.get", "no pool or container pointer");
    *c = NULL;
    take_warm(p, true, c);
    return *c ? 0 : get_cold(p, c, err);
}

int containerv_pool_try_get_container(struct containerv_pool *p, struct containerv_container **c,
                                      struct containerv_error *err)
{
    containerv_error_clear(err);
    if (!p || !c)
        return cv_error_plain(err, EINVAL, "pool.get", "no pool or container pointer");
    *c = NULL;
    take_warm(p, false, c);
    return *c ? 0 : cv_error_plain(err, EAGAIN, "pool.get", "pool '%s': no warm container now", p->name);
}

int containerv_pool_return_container(struct containerv_pool *p, struct containerv_container *c,
                                     struct containerv_error *err)
{
    containerv_error_clear(err);
    if (!p || !c)
        return cv_error_plain(err, EINVAL, "pool.return", "no pool or container");
    struct returned *r = calloc(1, sizeof(*r));
    bool cold = false;
    pthread_mutex_lock(&p->lock);
    if (p->in_use > 0)
        p->in_use--;
    for (struct cold **k = &p->cold; *k; k = &(*k)->next)
        if ((*k)->c == c) {
            struct cold *x = *k;
            *k = x->next;
            free(x);
            cold = true;
            break;
        }
    if (!cold && p->lent > 0)
        p->lent--;
    bool now = !r || p->stop;
    if (!now && !cold)
        p->back++;
    pthread_mutex_unlock(&p->lock);
    if (!now) {
        r->c = c;
        r->cold = cold;
        r->conn = -1;
        r->t0 = cv_now_ns();
        struct containerv_error e;
        /* the init starts on it now; the background thread reads the answer */
        if (cold)
            snprintf(r->why, sizeof(r->why), "made on a miss");
        else if (cv_reset_begin(c, &r->conn, &e) < 0)
            snprintf(r->why, sizeof(r->why), "%s", e.message);
        pthread_mutex_lock(&p->lock);
        if (!p->stop) {
            r->next = p->returned;
            p->returned = r;
            p->stalled = false;
            pthread_cond_signal(&p->work);
            pthread_mutex_unlock(&p->lock);
            return 0;
        }
        if (!cold)
            p->back--; /* the pool stopped meanwhile */
        pthread_mutex_unlock(&p->lock);
        if (r->conn >= 0)
            close(r->conn);
    }
    /* never keep a used container: destroy it here instead */
    pthread_mutex_lock(&p->lock);
    p->replaces++;
    pthread_mutex_unlock(&p->lock);
    free(r);
    return containerv_destroy(c, err);
}

/* ------------------------------------------------------------ stats, destroy */

int containerv_pool_get_stats(struct containerv_pool *p, struct containerv_pool_stats *s)
{
    if (!p || !s)
        return -EINVAL;
    memset(s, 0, sizeof(*s));
    pthread_mutex_lock(&p->lock);
    snprintf(s->template_name, sizeof(s->template_name), "%s", p->name);
    s->pool_size = p->size;
    s->warm_containers = p->n_warm;
    s->in_use = p->in_use;
    s->hits = p->hits;
    s->misses = p->misses;
    s->refills = p->refills;
    s->resets = p->resets;
    s->replaces = p->replaces;
    s->mean_reset_ns = p->resets ? p->reset_ns / p->resets : 0;
    s->failures = p->failures;
    s->mean_refill_ns = p->refills ? p->refill_ns / p->refills : 0;
    snprintf(s->last_error, sizeof(s->last_error), "%s", p->last_error);
    snprintf(s->last_replace, sizeof(s->last_replace), "%s", p->last_replace);
    pthread_mutex_unlock(&p->lock);
    return 0;
}

/* Settled: nothing returned waits to be taken back and the pool owns its
 * size again (or a failed create stalled it). */
static bool settled(const struct containerv_pool *p)
{
    return p->stop || p->stalled || (!p->returned && p->back == 0 && p->n_warm + p->lent >= p->size);
}

int containerv_pool_wait_ready(struct containerv_pool *p, int timeout_ms, struct containerv_error *err)
{
    containerv_error_clear(err);
    if (!p)
        return cv_error_plain(err, EINVAL, "pool.wait", "no pool");
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    if (timeout_ms >= 0) {
        deadline.tv_sec += timeout_ms / 1000;
        deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
        if (deadline.tv_nsec >= 1000000000L) {
            deadline.tv_sec++;
            deadline.tv_nsec -= 1000000000L;
        }
    }
    int r = 0;
    pthread_mutex_lock(&p->lock);
    while (!settled(p) && r == 0) {
        if (timeout_ms < 0)
            pthread_cond_wait(&p->ready, &p->lock);
        else if (pthread_cond_timedwait(&p->ready, &p->lock, &deadline) == ETIMEDOUT)
            r = settled(p) ? 0 : cv_error_plain(err, ETIMEDOUT, "pool.wait",
                                                "pool '%s' not ready after %d ms (%d warm of %d)",
                                                p->name, timeout_ms, p->n_warm, p->size);
    }
    if (r == 0 && p->stalled)
        r = cv_error_plain(err, EIO, "pool.wait", "pool '%s': %s", p->name, p->last_error);
    pthread_mutex_unlock(&p->lock);
    return r;
}

int containerv_pool_destroy(struct containerv_pool *p, struct containerv_error *err)
{
    containerv_error_clear(err);
    if (!p)
        return 0;
    pthread_mutex_lock(&p->lock);
    p->stop = true;
    pthread_cond_signal(&p->work);
    pthread_cond_broadcast(&p->ready);
    pthread_mutex_unlock(&p->lock);
    pthread_join(p->thread, NULL);
    int r = p->stop_rc;
    if (r < 0 && err)
        *err = p->stop_err;
    pool_free(p);
    return r;
}
