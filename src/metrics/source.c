/* A container's sources: every file a sample reads, opened once and kept
 * open, then read with pread; and one sample. See cvm.h. */
#include "cvm.h"

#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>

void cvm_src_init(struct cvm_src *s)
{
    memset(s, 0, sizeof(*s));
    s->pidfd = -1;
    s->last_tasks = UINT64_MAX;
    for (int i = 0; i < CVM_FILE_COUNT; i++)
        s->fd[i] = -1;
}

ssize_t cvm_pread(int fd, char *buf, size_t size)
{
    size_t off = 0;
    if (fd < 0)
        return -EBADF;
    /* one call gives the whole of a cgroup or /proc file that fits; a file
     * of several records (net/dev's interfaces) gives as many whole records
     * as fit, so a read that left room for another record (CVM_RECORD) was
     * the end: only a nearly full buffer is read on */
    while (off + 1 < size) {
        ssize_t n = pread(fd, buf + off, size - 1 - off, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        off += (size_t)n;
        if (n == 0 || size - 1 - off >= CVM_RECORD)
            break;
    }
    buf[off] = '\0';
    return (ssize_t)off;
}

bool cvm_key_u64(const char *buf, const char *key, uint64_t *out)
{
    size_t n = strlen(key);
    for (const char *p = buf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncmp(p, key, n) != 0 || (p[n] != ' ' && p[n] != '=' && p[n] != '\t' && p[n] != ':'))
            continue;
        const char *v = p + n + 1;
        v += strspn(v, " \t");
        if (*v < '0' || *v > '9')
            return false;
        *out = strtoull(v, NULL, 10);
        return true;
    }
    return false;
}

/* MemTotal, read once per process (memory hot-plug aside, it is fixed) */
static uint64_t host_memory(void)
{
    static uint64_t bytes; /* 0: not read yet, or unreadable */
    uint64_t v = __atomic_load_n(&bytes, __ATOMIC_RELAXED);
    char buf[4096];
    uint64_t kb = 0;
    if (v == 0 && cv_read_file_at(AT_FDCWD, "/proc/meminfo", buf, sizeof(buf)) >= 0 && cvm_key_u64(buf, "MemTotal", &kb))
        __atomic_store_n(&bytes, v = kb * 1024, __ATOMIC_RELAXED);
    return v;
}

/* the init has exited (its pidfd is readable) */
static bool init_exited(const struct cvm_src *s)
{
    struct pollfd p = {.fd = s->pidfd, .events = POLLIN};
    return s->pidfd < 0 || (poll(&p, 1, 0) == 1 && (p.revents & (POLLIN | POLLHUP | POLLERR)));
}

/* /proc/<init>/net/dev: the init's network namespace, fixed when the file
 * is opened. Not opened when the container shares our namespace (its
 * packets would be the host's). */
static void open_net(struct cvm_src *s)
{
    char path[64];
    struct stat mine, its;
    snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)s->init_pid);
    if (stat("/proc/self/ns/net", &mine) < 0 || stat(path, &its) < 0)
        return;
    if (mine.st_dev == its.st_dev && mine.st_ino == its.st_ino)
        return;
    snprintf(path, sizeof(path), "/proc/%d/net/dev", (int)s->init_pid);
    s->fd[CVM_NET_DEV] = open(path, O_RDONLY | O_CLOEXEC);
    if (s->fd[CVM_NET_DEV] >= 0 && init_exited(s)) { /* the pid may be another's now */
        close(s->fd[CVM_NET_DEV]);
        s->fd[CVM_NET_DEV] = -1;
    }
}

int cvm_src_open(struct cvm_src *s, const struct containerv_container *c, uint32_t groups,
                 struct containerv_error *err)
{
    cvm_src_init(s);
    s->groups = groups ? groups : CONTAINERV_GROUP_ALL;
    s->init_pid = c->init_pid;
    s->pidfd = c->init_pidfd >= 0 ? fcntl(c->init_pidfd, F_DUPFD_CLOEXEC, 3)
                                  : (int)syscall(SYS_pidfd_open, c->init_pid, 0);
    if (s->pidfd < 0)
        return cv_error(err, errno, "metrics.open", "the init (pid %d) of '%s'", (int)c->init_pid, c->id);
    if (init_exited(s)) {
        cvm_src_close(s);
        return cv_error_plain(err, ESRCH, "metrics.open", "the init of '%s' has exited", c->id);
    }
    s->host_memory = host_memory();
    s->clk_tck = sysconf(_SC_CLK_TCK);
    cvm_cg_open(s, c);
    if (s->groups & CONTAINERV_GROUP_NETWORK)
        open_net(s);
    bool sw = s->groups & CONTAINERV_GROUP_SWITCHES, hw = s->groups & CONTAINERV_GROUP_CACHE;
    if ((sw || hw) && s->cgroup_version == 2) {
        int dfd = cv_cgroup_open_dir(&c->cg, CV_V1_CPU);
        if (dfd >= 0) {
            cvm_perf_open(&s->perf, dfd, sw, hw);
            close(dfd);
        }
    }
    return 0;
}

void cvm_src_close(struct cvm_src *s)
{
    for (int i = 0; i < CVM_FILE_COUNT; i++)
        cv_closep(&s->fd[i]), s->fd[i] = -1;
    cv_closep(&s->pidfd);
    s->pidfd = -1;
    cvm_threads_free(&s->threads);
    cvm_perf_close(&s->perf);
}

/* "  eth0: rxbytes rxpackets errs drop fifo frame compressed multicast
 *  txbytes txpackets ...", every interface summed (lo included) */
static void read_net(struct cvm_src *s, struct containerv_runtime_metrics *m)
{
    char buf[8192];
    if (cvm_pread(s->fd[CVM_NET_DEV], buf, sizeof(buf)) < 0)
        return;
    uint64_t rx_b = 0, rx_p = 0, tx_b = 0, tx_p = 0;
    for (char *line = strchr(buf, '\n'); line; line = strchr(line + 1, '\n')) {
        char *colon = strchr(line, ':'), *nl = strchr(line + 1, '\n');
        uint64_t v[10];
        if (!colon || (nl && colon > nl))
            continue;
        char *p = colon + 1;
        int k = 0;
        for (; k < 10; k++) {
            char *end;
            v[k] = strtoull(p, &end, 10);
            if (end == p)
                break;
            p = end;
        }
        if (k < 10)
            continue;
        rx_b += v[0], rx_p += v[1], tx_b += v[8], tx_p += v[9];
    }
    m->network_rx_bytes = rx_b, m->network_rx_packets = rx_p;
    m->network_tx_bytes = tx_b, m->network_tx_packets = tx_p;
    m->available |= CVM_BIT(NETWORK_RX_BYTES) | CVM_BIT(NETWORK_RX_PACKETS) | CVM_BIT(NETWORK_TX_BYTES) |
                    CVM_BIT(NETWORK_TX_PACKETS);
}

/* The thread list is read again only when it may have changed: when the
 * number of tasks (pids.current) moved, or one of the threads is gone. A
 * v1 "tasks" read costs ~6 µs (it is opened anew each time: see open_v1). */
static void read_switches(struct cvm_src *s, struct containerv_runtime_metrics *m, struct cvm_extra *x)
{
    if (s->perf.switches || !(s->groups & CONTAINERV_GROUP_SWITCHES))
        return; /* cvm_perf_read, or not asked for */
    uint64_t sum = 0, tasks_now = m->available & CVM_BIT(TASKS) ? m->tasks : UINT64_MAX;
    bool ok = tasks_now != UINT64_MAX && tasks_now == s->last_tasks &&
              cvm_threads_again(&s->threads, &sum, &x->switches_delta);
    if (ok) {
        x->switches_delta_ok = true;
    } else {
        cv_cleanup_fd int fresh = s->tasks_in_dir && s->fd[CVM_TASKS] >= 0
                                      ? openat(s->fd[CVM_TASKS], "tasks", O_RDONLY | O_CLOEXEC) : -1;
        int tasks = s->tasks_in_dir ? fresh : s->fd[CVM_TASKS];
        ok = tasks >= 0 && cvm_threads_read(&s->threads, tasks, &sum, &x->switches_delta, &x->switches_delta_ok) == 0;
        s->last_tasks = ok ? tasks_now : UINT64_MAX;
    }
    if (ok) {
        m->cpu_context_switches = sum;
        m->context_switch_source = CONTAINERV_SWITCHES_THREADS;
        m->available |= CVM_BIT(CPU_CONTEXT_SWITCHES);
    }
}

int cvm_sample(struct cvm_src *s, struct containerv_runtime_metrics *m, struct cvm_extra *x)
{
    struct timespec rt;
    int gone = 0;
    memset(m, 0, sizeof(*m));
    memset(x, 0, sizeof(*x));
    m->timestamp_ns = cv_now_ns();
    clock_gettime(CLOCK_REALTIME, &rt);
    m->timestamp_unix_ns = (int64_t)rt.tv_sec * 1000000000 + rt.tv_nsec;
    m->cgroup_version = (uint32_t)s->cgroup_version;
    cvm_perf_read(&s->perf, m);
    cvm_cg_read(s, m, &gone);
    read_net(s, m);
    read_switches(s, m, x);
    return gone || init_exited(s) ? -ESRCH : 0;
}
