/* The background sampler: one thread for every monitored container of the
 * process. It sleeps in epoll_wait on
 *   - a timerfd, armed (absolute, CLOCK_MONOTONIC) for the earliest next
 *     sample; each container samples on multiples of its interval, so the
 *     containers of one interval share a wake-up;
 *   - an eventfd: a container was added or is to be removed, or quit;
 *   - each container's pidfd: its init exited, the series ends at once.
 * A container's files are opened by the caller of start (cvm_src_open),
 * then belong to the thread, which closes them when the series ends or the
 * container is removed. The history is a ring under mon.lock.
 *
 * Lifetime: the first add starts the thread, the removal of the last
 * container stops and joins it (and closes its fds). After fork, the child
 * has no thread: it closes its copies of every fd of the monitor and marks
 * every series ended (atfork handler). */
#include "cvm.h"

#include <signal.h>
#include <time.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>

struct cvm_entry {
    struct cvm_entry *next;
    struct cvm_src src;        /* the thread's once handed over */
    struct cvm_extra extra;
    uint64_t interval_ns, next_ns;
    bool in_epoll;
    /* under mon.lock */
    struct containerv_runtime_metrics *ring;
    size_t cap, head, count;
    uint64_t seq;
    bool ended, stop, removed, in_thread;
};

static struct {
    pthread_once_t once;
    pthread_mutex_t life; /* starting and stopping the thread */
    pthread_mutex_t lock; /* the lists, the flags, the rings */
    pthread_cond_t cond;
    bool running, quit;
    pthread_t thread;
    int ep, tfd, efd;
    struct cvm_entry *pending; /* added, not yet taken by the thread */
    struct cvm_entry *list;    /* the thread's */
    size_t n_entries;
    uint64_t samples, sample_cpu_ns; /* the thread's work, for `bench monitor` */
} mon = {PTHREAD_ONCE_INIT, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
         false, false, 0, -1, -1, -1, NULL, NULL, 0, 0, 0};

static uint64_t thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------------ the ring */

static void push(struct cvm_entry *e, struct containerv_runtime_metrics *m)
{
    m->sequence = ++e->seq;
    if (e->count < e->cap) {
        e->ring[(e->head + e->count++) % e->cap] = *m;
    } else {
        e->ring[e->head] = *m;
        e->head = (e->head + 1) % e->cap;
    }
}

static const struct containerv_runtime_metrics *last(const struct cvm_entry *e)
{
    return e->count ? &e->ring[(e->head + e->count - 1) % e->cap] : NULL;
}

/* one sample of e, pushed; false when the series ended with it */
static bool sample(struct cvm_entry *e, bool end)
{
    struct containerv_runtime_metrics m = {0};
    int r = e->src.pidfd >= 0 ? cvm_sample(&e->src, &m, &e->extra) : -ESRCH;
    pthread_mutex_lock(&mon.lock);
    const struct containerv_runtime_metrics *prev = last(e);
    if (r == 0 || e->src.pidfd >= 0) {
        cvm_rates(prev, &m, &e->extra);
    } else if (prev) { /* nothing could be read: the last one again, marked */
        m = *prev;
    }
    if (r < 0 || end) {
        m.flags |= CONTAINERV_METRICS_ENDED;
        e->ended = true;
    }
    push(e, &m);
    pthread_mutex_unlock(&mon.lock);
    return !e->ended;
}

/* ------------------------------------------------------------ the thread */

static void end_series(struct cvm_entry *e)
{
    if (e->in_epoll)
        epoll_ctl(mon.ep, EPOLL_CTL_DEL, e->src.pidfd, NULL);
    e->in_epoll = false;
    cvm_src_close(&e->src); /* no fd of a finished series is kept */
}

static void take_pending(uint64_t now)
{
    while (mon.pending) {
        struct cvm_entry *e = mon.pending;
        mon.pending = e->next;
        e->next = mon.list;
        mon.list = e;
        e->in_thread = true;
        e->next_ns = (now / e->interval_ns + 1) * e->interval_ns;
        if (e->ended) { /* at its first sample already */
            end_series(e);
            continue;
        }
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = e};
        e->in_epoll = epoll_ctl(mon.ep, EPOLL_CTL_ADD, e->src.pidfd, &ev) == 0;
    }
}

/* under mon.lock: let go of the entries asked to stop */
static void drop_stopped(void)
{
    for (struct cvm_entry **pp = &mon.list; *pp;) {
        struct cvm_entry *e = *pp;
        if (!e->stop) {
            pp = &e->next;
            continue;
        }
        *pp = e->next;
        end_series(e);
        e->removed = true;
        e->in_thread = false;
    }
    pthread_cond_broadcast(&mon.cond);
}

static void arm(void)
{
    uint64_t next = 0;
    for (struct cvm_entry *e = mon.list; e; e = e->next) {
        if (!e->ended && (next == 0 || e->next_ns < next))
            next = e->next_ns;
    }
    struct itimerspec its = {.it_value = {(time_t)(next / 1000000000), (long)(next % 1000000000)}};
    timerfd_settime(mon.tfd, TFD_TIMER_ABSTIME, &its, NULL); /* 0: disarmed */
}

static void sample_due(uint64_t now)
{
    uint64_t t0 = thread_cpu_ns(), n = 0;
    for (struct cvm_entry *e = mon.list; e; e = e->next) {
        if (e->ended || e->next_ns > now)
            continue;
        n++;
        if (!sample(e, false))
            end_series(e);
        while (e->next_ns <= now) /* a late wake-up skips what it missed */
            e->next_ns += e->interval_ns;
    }
    uint64_t spent = thread_cpu_ns() - t0;
    pthread_mutex_lock(&mon.lock);
    mon.samples += n;
    mon.sample_cpu_ns += spent;
    pthread_mutex_unlock(&mon.lock);
}

void cvm_monitor_stats(uint64_t *samples, uint64_t *cpu_ns)
{
    pthread_mutex_lock(&mon.lock);
    *samples = mon.samples;
    *cpu_ns = mon.sample_cpu_ns;
    pthread_mutex_unlock(&mon.lock);
}

static void *monitor_main(void *arg)
{
    (void)arg;
    for (;;) {
        struct epoll_event ev[64];
        int n = epoll_wait(mon.ep, ev, 64, -1);
        uint64_t v;
        for (int i = 0; i < n; i++) {
            if (ev[i].data.ptr == &mon.efd) {
                if (read(mon.efd, &v, sizeof(v)) < 0) { /* nothing to do */ }
            } else if (ev[i].data.ptr == &mon.tfd) {
                if (read(mon.tfd, &v, sizeof(v)) < 0) { /* EAGAIN: re-armed meanwhile */ }
            } else {
                struct cvm_entry *e = ev[i].data.ptr;
                if (!e->ended) { /* its init exited: a last sample, then the end */
                    sample(e, true);
                    end_series(e);
                }
            }
        }
        pthread_mutex_lock(&mon.lock);
        bool quit = mon.quit;
        take_pending(cv_now_ns());
        drop_stopped();
        pthread_mutex_unlock(&mon.lock);
        if (quit)
            break;
        sample_due(cv_now_ns());
        arm();
    }
    return NULL;
}

/* ------------------------------------------------------------ start, stop */

static void close_monitor_fds(void)
{
    cv_closep(&mon.ep), cv_closep(&mon.tfd), cv_closep(&mon.efd);
    mon.ep = mon.tfd = mon.efd = -1;
}

/* After fork: the child has no thread. Its copies of the fds go, every
 * series ends; the entries stay allocated for their handles to free. */
static void atfork_child(void)
{
    pthread_mutex_init(&mon.life, NULL);
    pthread_mutex_init(&mon.lock, NULL);
    pthread_cond_init(&mon.cond, NULL);
    struct cvm_entry *lists[2] = {mon.pending, mon.list};
    for (int k = 0; k < 2; k++) {
        for (struct cvm_entry *e = lists[k], *next; e; e = next) {
            next = e->next;
            cvm_src_close(&e->src);
            e->ended = e->removed = true;
            e->in_thread = false;
            e->next = NULL;
        }
    }
    mon.pending = mon.list = NULL;
    mon.n_entries = 0;
    mon.running = mon.quit = false;
    close_monitor_fds();
}

static void once(void)
{
    pthread_atfork(NULL, NULL, atfork_child);
}

static int start_thread(struct containerv_error *err)
{
    mon.ep = epoll_create1(EPOLL_CLOEXEC);
    mon.tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    mon.efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    struct epoll_event t = {.events = EPOLLIN, .data.ptr = &mon.tfd};
    struct epoll_event e = {.events = EPOLLIN, .data.ptr = &mon.efd};
    if (mon.ep < 0 || mon.tfd < 0 || mon.efd < 0 || epoll_ctl(mon.ep, EPOLL_CTL_ADD, mon.tfd, &t) < 0 ||
        epoll_ctl(mon.ep, EPOLL_CTL_ADD, mon.efd, &e) < 0) {
        int r = cv_error(err, errno, "metrics.monitor", "epoll, timerfd and eventfd of the sampler");
        close_monitor_fds();
        return r;
    }
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old); /* the thread takes no signal */
    int r = pthread_create(&mon.thread, NULL, monitor_main, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r != 0) {
        close_monitor_fds();
        return cv_error(err, r, "metrics.monitor", "starting the sampling thread");
    }
    mon.running = true;
    mon.quit = false;
    return 0;
}

static void wake(void)
{
    uint64_t one = 1;
    if (write(mon.efd, &one, sizeof(one)) < 0) { /* EAGAIN: a wake-up is pending anyway */ }
}

static void free_entry(struct cvm_entry *e)
{
    cvm_src_close(&e->src);
    free(e->ring);
    free(e);
}

int cvm_monitor_add(struct containerv_container *c, const struct containerv_monitor_options *o,
                    struct cvm_entry **out, struct containerv_error *err)
{
    pthread_once(&mon.once, once);
    struct cvm_entry *e = calloc(1, sizeof(*e));
    if (!e || !(e->ring = calloc(o->history, sizeof(*e->ring)))) {
        free(e);
        return cv_error(err, ENOMEM, "metrics.monitor", "a history of %u samples", o->history);
    }
    e->cap = o->history;
    e->interval_ns = (uint64_t)o->interval_ms * 1000000;
    int r = cvm_src_open(&e->src, c, o->groups, err);
    if (r < 0) {
        free_entry(e);
        return r;
    }
    sample(e, false); /* the first one, here: its rates come with the second */
    pthread_mutex_lock(&mon.life);
    if (!mon.running && (r = start_thread(err)) < 0) {
        pthread_mutex_unlock(&mon.life);
        free_entry(e);
        return r;
    }
    pthread_mutex_lock(&mon.lock);
    e->next = mon.pending;
    mon.pending = e;
    mon.n_entries++;
    pthread_mutex_unlock(&mon.lock);
    wake();
    pthread_mutex_unlock(&mon.life);
    *out = e;
    return 0;
}

void cvm_monitor_remove(struct cvm_entry *e)
{
    bool last_one = false;
    pthread_mutex_lock(&mon.life);
    pthread_mutex_lock(&mon.lock);
    if (!e->removed) {
        if (!e->in_thread) { /* not taken yet */
            for (struct cvm_entry **pp = &mon.pending; *pp; pp = &(*pp)->next) {
                if (*pp == e) {
                    *pp = e->next;
                    break;
                }
            }
        } else {
            e->stop = true;
            wake();
            while (!e->removed)
                pthread_cond_wait(&mon.cond, &mon.lock);
        }
        last_one = --mon.n_entries == 0;
    }
    if (last_one)
        mon.quit = true;
    pthread_mutex_unlock(&mon.lock);
    if (last_one) {
        wake();
        pthread_join(mon.thread, NULL);
        close_monitor_fds();
        mon.running = false;
    }
    pthread_mutex_unlock(&mon.life);
    free_entry(e);
}

int cvm_monitor_latest(struct cvm_entry *e, struct containerv_runtime_metrics *m)
{
    pthread_mutex_lock(&mon.lock);
    const struct containerv_runtime_metrics *l = last(e);
    if (l)
        *m = *l;
    pthread_mutex_unlock(&mon.lock);
    return l ? 0 : -EAGAIN;
}

size_t cvm_monitor_history(struct cvm_entry *e, struct containerv_runtime_metrics *out, size_t max)
{
    pthread_mutex_lock(&mon.lock);
    size_t n = e->count < max ? e->count : max;
    size_t skip = e->count - n; /* the newest n */
    for (size_t i = 0; i < n; i++)
        out[i] = e->ring[(e->head + skip + i) % e->cap];
    pthread_mutex_unlock(&mon.lock);
    return n;
}
