/* `containerv daemon`: cold creates off the event loop (docs/daemon.md,
 * "Limits and queueing").
 *
 * A RUN that finds no warm container (containerv_pool_try_get_container
 * says -EAGAIN) needs a container made for it, which takes as long as a
 * container start. COLD_MAX threads, started with the daemon and living as
 * long as it (a container made on a miss dies with the thread that made it),
 * call containerv_pool_get_container for such RUNs while the loop goes on
 * serving the others; a thread that is done puts the client on a list and
 * writes an eventfd that is in the loop's epoll set, and the loop runs the
 * command (cvd_launch).
 *
 * The loop alone decides what starts: at most COLD_MAX creates in flight,
 * at most COLD_PER_UID of them for one uid other than root. A RUN beyond
 * either waits in a FIFO queue and is told QUEUED; when a create ends, the
 * first waiting RUN whose uid is under its cap starts, so one member's
 * queued RUNs do not hold up the others'. A client that leaves while it
 * waits is taken out of the queue; one that leaves while its create is in
 * flight keeps its slot until the create ends (so connecting and leaving
 * cannot start more creates), and the container goes back to its pool. */
#include "server.h"

#include <containerv/pool.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct cvd_cold {
    pthread_mutex_t lock;
    pthread_cond_t work; /* a thread's wake-up: todo grew, or stop */
    pthread_cond_t idle; /* the loop's, at shutdown: a create ended */
    struct client *todo; /* handed to the threads, not yet taken */
    struct client *done; /* created (or failed), for the loop */
    int busy;            /* threads creating */
    bool stop;
    pthread_t threads[COLD_MAX];
    int n_threads;
    int efd; /* written by a thread when done grows */
    /* the loop's alone */
    struct client *wait_head, *wait_tail;
    unsigned n_waiting;
    int in_flight; /* clients in C_CREATING */
};

static void *create_thread(void *arg)
{
    struct cvd_cold *k = arg;

    pthread_mutex_lock(&k->lock);
    while (!k->stop) {
        struct client *cl = k->todo;
        if (!cl) {
            pthread_cond_wait(&k->work, &k->lock);
            continue;
        }
        k->todo = cl->qnext;
        k->busy++;
        pthread_mutex_unlock(&k->lock);
        /* the loop touches none of these while the client is C_CREATING */
        cl->cold_rc = containerv_pool_get_container(cl->dp->pool, &cl->c, &cl->cold_err);
        pthread_mutex_lock(&k->lock);
        cl->qnext = k->done;
        k->done = cl;
        k->busy--;
        uint64_t one = 1;
        if (write(k->efd, &one, sizeof(one)) < 0) {
            /* the counter is full: the loop has a wake-up pending anyway */
        }
        pthread_cond_broadcast(&k->idle);
    }
    pthread_mutex_unlock(&k->lock);
    return NULL;
}

int cvd_cold_start(struct daemon *d)
{
    struct cvd_cold *k = calloc(1, sizeof(*k));
    sigset_t all, old;

    if (!k) {
        cli_error("daemon: out of memory");
        return -1;
    }
    pthread_mutex_init(&k->lock, NULL);
    pthread_cond_init(&k->work, NULL);
    pthread_cond_init(&k->idle, NULL);
    d->cold = k;
    k->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (k->efd < 0) {
        cli_error("daemon: eventfd: %s", strerror(errno));
        return -1;
    }
    if (cvd_watch(d, k->efd, &d->ev_cold, EV_COLD) < 0)
        return -1;
    /* the signals are the loop's (its self-pipe) */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    for (int i = 0; i < COLD_MAX; i++) {
        int r = pthread_create(&k->threads[i], NULL, create_thread, k);
        if (r != 0) {
            pthread_sigmask(SIG_SETMASK, &old, NULL);
            cli_error("daemon: starting a create thread: %s", strerror(r));
            return -1;
        }
        k->n_threads++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return 0;
}

static int creating_of(const struct daemon *d, uid_t uid)
{
    int n = 0;

    for (const struct client *cl = d->clients; cl; cl = cl->next)
        n += cl->st == C_CREATING && cl->uid == uid;
    return n;
}

static bool may_start(const struct daemon *d, const struct client *cl)
{
    return cl->uid == 0 || creating_of(d, cl->uid) < COLD_PER_UID;
}

static void hand_over(struct daemon *d, struct client *cl)
{
    struct cvd_cold *k = d->cold;

    cl->st = C_CREATING;
    k->in_flight++;
    pthread_mutex_lock(&k->lock);
    cl->qnext = k->todo;
    k->todo = cl;
    pthread_cond_signal(&k->work);
    pthread_mutex_unlock(&k->lock);
}

static void unlink_waiting(struct cvd_cold *k, struct client *cl)
{
    struct client *prev = NULL;

    for (struct client *w = k->wait_head; w; prev = w, w = w->qnext) {
        if (w != cl)
            continue;
        if (prev)
            prev->qnext = w->qnext;
        else
            k->wait_head = w->qnext;
        if (k->wait_tail == w)
            k->wait_tail = prev;
        k->n_waiting--;
        w->qnext = NULL;
        return;
    }
}

/* Start what may start, first come first served. */
static void dispatch(struct daemon *d)
{
    struct cvd_cold *k = d->cold;

    for (struct client *w = k->wait_head; w && k->in_flight < COLD_MAX;) {
        struct client *next = w->qnext;
        if (may_start(d, w)) {
            unlink_waiting(k, w);
            hand_over(d, w);
        }
        w = next;
    }
}

void cvd_cold_queue(struct daemon *d, struct client *cl)
{
    struct cvd_cold *k = d->cold;
    bool uid_full = !may_start(d, cl);

    if (k->in_flight < COLD_MAX && !uid_full) {
        hand_over(d, cl);
        return;
    }
    struct cvd_queued q;
    memset(&q, 0, sizeof(q));
    cvd_hdr_init(&q.h, CVD_QUEUED, sizeof(q));
    q.ahead = k->n_waiting;
    q.flags = uid_full ? CVD_QUEUED_UID : 0;
    cl->qnext = NULL;
    if (k->wait_tail)
        k->wait_tail->qnext = cl;
    else
        k->wait_head = cl;
    k->wait_tail = cl;
    k->n_waiting++;
    if (cvd_send(cl->fd, &q, sizeof(q), NULL, 0) < 0)
        cvd_hang_up(d, cl); /* it cannot hear us */
}

void cvd_cold_cancel(struct daemon *d, struct client *cl)
{
    unlink_waiting(d->cold, cl);
    cvd_drop_run(cl);
    cl->st = C_DEAD;
}

static struct client *take_done(struct cvd_cold *k)
{
    pthread_mutex_lock(&k->lock);
    struct client *list = k->done;
    k->done = NULL;
    pthread_mutex_unlock(&k->lock);
    return list;
}

/* A create ended for cl: the container goes to the command, or back to
 * its pool when the client left. */
static void finish(struct daemon *d, struct client *cl, bool launch)
{
    d->cold->in_flight--;
    if (cl->cold_rc < 0) {
        cvd_drop_run(cl);
        cl->c = NULL;
        cl->st = C_NEW;
        if (cl->fd >= 0)
            cvd_fail(d, cl, CVD_ERR_RUNTIME, cl->cold_err.code, cl->cold_err.step,
                     cl->cold_err.message);
        cl->st = C_DEAD;
        return;
    }
    if (cl->fd >= 0 && launch) {
        cvd_launch(d, cl);
        return;
    }
    cvd_drop_run(cl);
    cvd_reclaim(d, cl, NULL, NULL); /* back to the pool */
    cl->st = C_DEAD;
}

void cvd_cold_done(struct daemon *d)
{
    struct cvd_cold *k = d->cold;
    uint64_t n;

    if (read(k->efd, &n, sizeof(n)) < 0 && errno != EAGAIN)
        return;
    for (struct client *cl = take_done(k), *next; cl; cl = next) {
        next = cl->qnext;
        cl->qnext = NULL;
        finish(d, cl, true);
    }
    dispatch(d);
}

void cvd_cold_quiesce(struct daemon *d)
{
    struct cvd_cold *k = d->cold;

    if (!k)
        return;
    while (k->wait_head)
        cvd_cold_cancel(d, k->wait_head);
    pthread_mutex_lock(&k->lock);
    while (k->todo || k->busy > 0)
        pthread_cond_wait(&k->idle, &k->lock);
    pthread_mutex_unlock(&k->lock);
    for (struct client *cl = take_done(k), *next; cl; cl = next) {
        next = cl->qnext;
        cl->qnext = NULL;
        finish(d, cl, false);
    }
}

void cvd_cold_stop(struct daemon *d)
{
    struct cvd_cold *k = d->cold;

    if (!k)
        return;
    pthread_mutex_lock(&k->lock);
    k->stop = true;
    pthread_cond_broadcast(&k->work);
    pthread_mutex_unlock(&k->lock);
    for (int i = 0; i < k->n_threads; i++)
        pthread_join(k->threads[i], NULL);
    if (k->efd >= 0)
        close(k->efd);
    pthread_cond_destroy(&k->work);
    pthread_cond_destroy(&k->idle);
    pthread_mutex_destroy(&k->lock);
    free(k);
    d->cold = NULL;
}
