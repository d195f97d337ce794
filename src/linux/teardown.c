/* Teardown off the caller's path.
 *
 * containerv_destroy does, in the caller, only what must be visible when it
 * returns: the init is SIGKILLed through its pidfd (the kernel then kills
 * everything in the pid namespace and frees the mount namespace, with the
 * container's tmpfs and overlay), the control connection is closed, and the
 * state file gets its "being destroyed" lock while its flock stays held
 * (state.c): list and attach treat it as gone, create (of the same id, in
 * another process) as taken, gc leaves it to us. The rest, which only
 * waits for the kernel (the init's exit, then the cgroups' rmdir and the
 * unlink of the state files), is handed to a reaper: one thread per
 * process, started by the first destroy, fed by a queue. It never sleeps:
 * it blocks on a condition variable, on the init's exit (waitpid or its
 * pidfd) and in the cgroup code's pidfd/cgroup.events waits.
 *
 * Nothing is left behind:
 * - containerv_teardown_wait() waits until every teardown handed over so far
 *   is done, and reports the first error among them; a library destructor
 *   calls it when the process exits normally (exit(), return from main), and
 *   the CLI calls it before it exits;
 * - a process killed while a teardown is in flight leaves what a killed
 *   runtime leaves: a state file whose lock nobody holds (the init was
 *   SIGKILLed before the hand-over, and the reaper's lock fd closes with the
 *   process), which `gc` (or a create of the same id) removes with its
 *   cgroups;
 * - a create of an id whose teardown is still pending in this process waits
 *   for that teardown first (cv_teardown_wait_id), so that the old
 *   container's cgroup removal never meets the new one's;
 * - with CV_TEARDOWN_MAX_PENDING teardowns queued, destroy tears down in the
 *   caller (back-pressure for create/destroy loops faster than the reaper).
 *
 * After fork() the child has no reaper: the queue it inherited belongs to
 * the parent's reaper, so the child forgets it (closing the copies of the
 * queued containers' fds, so that the child does not hold their state
 * locks) and starts its own reaper when it destroys a container. */
#include "linux.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#define CV_TEARDOWN_MAX_PENDING 64

struct cv_teardown {
    struct cv_teardown *next;
    struct containerv_container *c;
    int rt_fd;   /* the runtime dir, opened by destroy (O_PATH): the state files are unlinked there */
    bool killed; /* the SIGKILL was delivered: wait for the init's exit */
};

static struct {
    pthread_mutex_t lock;
    pthread_cond_t work; /* a teardown was queued */
    pthread_cond_t done; /* a teardown finished */
    struct cv_teardown *head, *tail;
    struct cv_teardown *busy; /* the one the reaper works on */
    size_t pending;           /* queued + busy */
    bool started;
    pid_t pid; /* the process the reaper runs in */
    bool atfork;
    bool has_error;
    struct containerv_error error; /* the first failure since the last containerv_teardown_wait */
} td = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .work = PTHREAD_COND_INITIALIZER,
    .done = PTHREAD_COND_INITIALIZER,
};

/* ------------------------------------------------------------ the work */

static void wait_init_gone(struct containerv_container *c)
{
    if (c->owner) {
        while (waitpid(c->init_pid, NULL, 0) < 0 && errno == EINTR)
            ;
        return;
    }
    struct pollfd p = {.fd = c->init_pidfd, .events = POLLIN};
    while (poll(&p, 1, -1) < 0 && errno == EINTR)
        ;
}

static void remove_state(int rt_fd, const char *id)
{
    char name[CV_ID_MAX + 8];
    snprintf(name, sizeof(name), "%s.sock", id);
    unlinkat(rt_fd, name, 0);
    snprintf(name, sizeof(name), "%s.json", id);
    unlinkat(rt_fd, name, 0);
}

/* Everything after the kill: wait for the init, remove the cgroups, remove
 * the state files, release the lock. t stays allocated (release()). */
static int finish(struct cv_teardown *t, struct containerv_error *err)
{
    struct containerv_container *c = t->c;
    /* tests: pause:teardown holds the reaper here, so that a test can kill
     * the process with a teardown in flight */
    int fault = cv_fault(getenv("CONTAINERV_FAULT"), "teardown") ? -EIO : 0;
    if (t->killed)
        wait_init_gone(c);
    int r = cv_cgroup_destroy(&c->cg, err);
    /* the files go before the lock: once it is free, the id may be claimed
     * by another process, whose files these names would then be */
    if (t->rt_fd >= 0) {
        remove_state(t->rt_fd, c->id);
        close(t->rt_fd);
    } else {
        int q = cv_state_remove(c->runtime_dir, c->id);
        if (q < 0 && r == 0)
            r = cv_error(err, -q, "destroy", "removing the state of '%s' in '%s'", c->id, c->runtime_dir);
    }
    cv_closep(&c->lock_fd);
    c->lock_fd = -1;
    if (r == 0 && fault < 0)
        r = cv_error_plain(err, EIO, "destroy", "injected fault");
    return r;
}

/* The container's fds and memory, and t. */
static void release(struct cv_teardown *t)
{
    cv_container_free(t->c);
    free(t);
}

/* ------------------------------------------------------------ the reaper */

static void *reaper(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&td.lock);
    for (;;) {
        while (!td.head)
            pthread_cond_wait(&td.work, &td.lock);
        struct cv_teardown *t = td.head;
        td.head = t->next;
        if (!td.head)
            td.tail = NULL;
        td.busy = t;
        pthread_mutex_unlock(&td.lock);
        struct containerv_error e;
        containerv_error_clear(&e);
        int r = finish(t, &e);
        pthread_mutex_lock(&td.lock);
        /* under the lock: cv_teardown_wait_id reads td.busy, and a waiter
         * must find every fd of the container closed */
        td.busy = NULL;
        release(t);
        td.pending--;
        if (r < 0 && !td.has_error) {
            td.error = e;
            td.has_error = true;
        }
        pthread_cond_broadcast(&td.done);
    }
    return NULL;
}

static void atfork_prepare(void)
{
    pthread_mutex_lock(&td.lock);
}

static void atfork_parent(void)
{
    pthread_mutex_unlock(&td.lock);
}

/* The child has no reaper: forget the parent's queue (see the top). */
static void atfork_child(void)
{
    for (struct cv_teardown *t = td.head, *next; t; t = next) {
        next = t->next;
        if (t->rt_fd >= 0)
            close(t->rt_fd);
        cv_container_free(t->c);
        free(t);
    }
    td.head = td.tail = td.busy = NULL; /* the busy one is the parent's reaper's */
    td.pending = 0;
    td.started = false;
    pthread_mutex_init(&td.lock, NULL);
    pthread_cond_init(&td.work, NULL);
    pthread_cond_init(&td.done, NULL);
}

/* With td.lock held. 0, or -errno when no thread could be started. */
static int start_reaper(void)
{
    if (td.started)
        return 0;
    if (!td.atfork) {
        if (pthread_atfork(atfork_prepare, atfork_parent, atfork_child) != 0)
            return -ENOMEM;
        td.atfork = true;
    }
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    /* no signal of the caller's is ever delivered to the reaper */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    pthread_t th;
    int r = pthread_create(&th, &attr, reaper, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    if (r != 0)
        return -r;
    td.started = true;
    td.pid = getpid();
    return 0;
}

/* ------------------------------------------------------------ the API */

int containerv_destroy(struct containerv_container *c, struct containerv_error *err)
{
    containerv_error_clear(err);
    if (!c)
        return cv_error_plain(err, EINVAL, "destroy", "no container given");
    /* killing the init of a pid namespace kills everything in it */
    bool killed = c->init_pidfd >= 0 && syscall(SYS_pidfd_send_signal, c->init_pidfd, SIGKILL, NULL, 0) == 0;
    cv_closep(&c->ctl_fd);
    c->ctl_fd = -1;
    /* "being destroyed" (see the top); an attached handle (no lock fd of
     * its own) opens the state file for it */
    if (c->lock_fd < 0) {
        char path[sizeof(c->runtime_dir) + CV_ID_MAX + 8];
        snprintf(path, sizeof(path), "%s/%s.json", c->runtime_dir, c->id);
        c->lock_fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    }
    if (c->lock_fd >= 0)
        cv_state_mark_destroying(c->lock_fd);
    struct cv_teardown *t = malloc(sizeof(*t));
    if (!t) { /* no memory for the record: the same steps, here */
        if (killed)
            wait_init_gone(c);
        int r = cv_cgroup_destroy(&c->cg, err);
        cv_state_remove(c->runtime_dir, c->id);
        cv_closep(&c->lock_fd);
        c->lock_fd = -1;
        cv_container_free(c);
        return r;
    }
    *t = (struct cv_teardown){.c = c, .killed = killed};
    t->rt_fd = open(c->runtime_dir, O_PATH | O_DIRECTORY | O_CLOEXEC); /* -1: finish uses the path */
    pthread_mutex_lock(&td.lock);
    if (td.pending >= CV_TEARDOWN_MAX_PENDING || start_reaper() < 0) {
        pthread_mutex_unlock(&td.lock);
        int r = finish(t, err); /* back-pressure, or no thread: here */
        release(t);
        return r;
    }
    if (td.tail)
        td.tail->next = t;
    else
        td.head = t;
    td.tail = t;
    td.pending++;
    pthread_cond_signal(&td.work);
    pthread_mutex_unlock(&td.lock);
    return 0;
}

int containerv_teardown_wait(struct containerv_error *err)
{
    containerv_error_clear(err);
    pthread_mutex_lock(&td.lock);
    while (td.pending)
        pthread_cond_wait(&td.done, &td.lock);
    int r = 0;
    if (td.has_error) {
        r = -td.error.code;
        if (err)
            *err = td.error;
        td.has_error = false;
    }
    pthread_mutex_unlock(&td.lock);
    return r;
}

static bool same(const struct cv_teardown *t, const char *runtime_dir, const char *id)
{
    return t && !strcmp(t->c->id, id) && !strcmp(t->c->runtime_dir, runtime_dir);
}

void cv_teardown_wait_id(const char *runtime_dir, const char *id)
{
    pthread_mutex_lock(&td.lock);
    for (;;) {
        bool found = same(td.busy, runtime_dir, id);
        for (struct cv_teardown *t = td.head; t && !found; t = t->next)
            found = same(t, runtime_dir, id);
        if (!found)
            break;
        pthread_cond_wait(&td.done, &td.lock);
    }
    pthread_mutex_unlock(&td.lock);
}

/* A process that exits normally right after a destroy leaves nothing behind. */
__attribute__((destructor)) static void teardown_at_exit(void)
{
    /* not in a copy of this process made by clone3 (a container's init
     * never calls exit, but a copy has no reaper to wait for) */
    if (td.started && td.pid == getpid())
        containerv_teardown_wait(NULL);
}
