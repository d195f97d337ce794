/* Context switches without a cgroup counter (cgroup v1, or no perf
 * events), summed over the threads the cgroup lists (v2 cgroup.threads, v1
 * tasks). Per thread, the third field of /proc/<tid>/schedstat: the times
 * the thread was switched in (sched_info.pcount), which is its voluntary +
 * nonvoluntary switches (the times it was switched out) give or take the
 * run in progress, for a tenth of the cost (0.7 µs a read against 8.8 µs
 * for /proc/<tid>/status, which computes the thread's memory figures too);
 * where schedstat says "0 0 0" (a kernel without CONFIG_SCHED_INFO), status
 * it is. Each thread's file stays open between samples (a thread that exits
 * makes its fd read ESRCH, and its number's reuse cannot be mistaken for
 * it). The rate is the sum of each thread's own growth, so that a thread
 * that exits (taking its count with it) never makes it negative; the
 * switches of a thread that ran and exited between two samples are lost. */
#include "cvm.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>

void cvm_threads_free(struct cvm_threads *t)
{
    for (size_t i = 0; i < t->n; i++)
        cv_closep(&t->v[i].fd);
    free(t->v);
    free(t->tids);
    free(t->scratch);
    memset(t, 0, sizeof(*t));
}

static int cmp_tid(const void *a, const void *b)
{
    pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
    return (x > y) - (x < y);
}

/* the tids listed by fd, sorted, into t->tids; their number or -errno */
static ssize_t read_tids(struct cvm_threads *t, int fd)
{
    char buf[4096];
    size_t n = 0;
    off_t off = 0;
    long cur = -1;
    for (;;) {
        ssize_t got = pread(fd, buf, sizeof(buf), off);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return -errno;
        /* the list gives whole numbers: a read that left room for one more was the end */
        bool last = got == 0 || sizeof(buf) - (size_t)got >= 16;
        for (ssize_t i = 0; i <= got; i++) {
            bool digit = i < got && buf[i] >= '0' && buf[i] <= '9';
            if (digit) {
                cur = (cur < 0 ? 0 : cur * 10) + (buf[i] - '0');
                if (cur > INT_MAX)
                    return -EIO;
                continue;
            }
            if (cur < 0 || (i == got && !last)) /* a number may go on in the next read */
                continue;
            if (n == t->tids_cap) {
                size_t cap = t->tids_cap ? t->tids_cap * 2 : 64;
                pid_t *v = realloc(t->tids, cap * sizeof(*v));
                if (!v)
                    return -ENOMEM;
                t->tids = v, t->tids_cap = cap;
            }
            t->tids[n++] = (pid_t)cur;
            cur = -1;
        }
        if (last)
            break;
        off += got;
    }
    qsort(t->tids, n, sizeof(*t->tids), cmp_tid);
    return (ssize_t)n;
}

/* the switches from a thread's schedstat ("run_ns wait_ns pcount") or,
 * with t->status, status fd */
static bool read_count(const struct cvm_threads *t, int fd, uint64_t *count)
{
    char buf[4096];
    uint64_t v, nv;
    if (cvm_pread(fd, buf, t->status ? sizeof(buf) : 128) <= 0)
        return false;
    if (!t->status) {
        char *p = buf, *end;
        for (int i = 0; i < 3; i++, p = end) {
            v = strtoull(p, &end, 10);
            if (end == p)
                return false;
        }
        *count = v;
        return true;
    }
    if (!cvm_key_u64(buf, "voluntary_ctxt_switches", &v) || !cvm_key_u64(buf, "nonvoluntary_ctxt_switches", &nv))
        return false;
    *count = v + nv;
    return true;
}

static int open_count(const struct cvm_threads *t, pid_t tid)
{
    char path[48];
    snprintf(path, sizeof(path), "/proc/%d/%s", (int)tid, t->status ? "status" : "schedstat");
    return open(path, O_RDONLY | O_CLOEXEC);
}

/* schedstat counts, unless this kernel keeps no such figures: "0 0 0" for
 * ourselves, who are running now and so were switched in at least once */
static void choose_file(struct cvm_threads *t)
{
    char buf[128];
    t->chosen = true;
    if (cv_read_file_at(AT_FDCWD, "/proc/thread-self/schedstat", buf, sizeof(buf)) <= 0 || !strncmp(buf, "0 0 0", 5))
        t->status = true;
}

bool cvm_threads_again(struct cvm_threads *t, uint64_t *sum, uint64_t *delta)
{
    if (!t->v || !t->chosen)
        return false;
    if (t->n > t->scratch_cap) {
        uint64_t *v = realloc(t->scratch, t->n * sizeof(*v));
        if (!v)
            return false;
        t->scratch = v, t->scratch_cap = t->n;
    }
    for (size_t i = 0; i < t->n; i++) {
        if (!read_count(t, t->v[i].fd, &t->scratch[i]))
            return false; /* one exited: the list is read again */
    }
    *sum = *delta = 0;
    for (size_t i = 0; i < t->n; i++) {
        uint64_t now = t->scratch[i];
        *delta += now >= t->v[i].count ? now - t->v[i].count : 0;
        *sum += now;
        t->v[i].count = now;
    }
    return true;
}

int cvm_threads_read(struct cvm_threads *t, int tasks_fd, uint64_t *sum, uint64_t *delta, bool *delta_ok)
{
    if (!t->chosen)
        choose_file(t);
    ssize_t n = read_tids(t, tasks_fd);
    if (n < 0)
        return (int)n;
    if (n > CVM_MAX_THREADS) { /* a container may make threads without end: not an fd each */
        cvm_threads_free(t);
        return -E2BIG;
    }
    struct cvm_thread *nv = calloc((size_t)n + 1, sizeof(*nv));
    if (!nv)
        return -ENOMEM;
    bool had = t->v != NULL;
    size_t k = 0, j = 0;
    *sum = *delta = 0;
    for (ssize_t i = 0; i < n; i++) {
        pid_t tid = t->tids[i];
        if (i > 0 && tid == t->tids[i - 1])
            continue;
        while (j < t->n && t->v[j].tid < tid)
            cv_closep(&t->v[j++].fd); /* exited */
        struct cvm_thread th = {.tid = tid, .fd = -1};
        uint64_t before = 0;
        bool known = j < t->n && t->v[j].tid == tid;
        if (known) {
            th.fd = t->v[j].fd, before = t->v[j].count;
            j++;
        }
        if (known && !read_count(t, th.fd, &th.count)) { /* gone, the tid reused */
            cv_closep(&th.fd);
            th.fd = -1, known = false;
        }
        if (!known && ((th.fd = open_count(t, tid)) < 0 || !read_count(t, th.fd, &th.count))) {
            cv_closep(&th.fd);
            continue; /* exited since the list was read */
        }
        *sum += th.count;
        *delta += known && th.count >= before ? th.count - before : known ? 0 : th.count;
        nv[k++] = th;
    }
    while (j < t->n)
        cv_closep(&t->v[j++].fd);
    free(t->v);
    t->v = nv, t->n = k, t->cap = (size_t)n + 1;
    *delta_ok = had;
    return 0;
}
