/* The cgroup files of a sample, v1 and v2 (docs/metrics.md has each
 * field's source). Files are opened once (cvm_cg_open) and read with pread
 * (cvm_cg_read); a file the host lacks stays -1 and its fields unavailable. */
#include "cvm.h"

#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>

/* which groups need each file */
#define G(x) CONTAINERV_GROUP_##x
static const uint32_t file_groups[CVM_FILE_COUNT] = {
    [CVM_CPU_STAT] = G(CPU),       [CVM_CPUACCT_USAGE] = G(CPU),  [CVM_CPUACCT_STAT] = G(CPU),
    [CVM_MEM_CURRENT] = G(MEMORY), [CVM_MEM_STAT] = G(MEMORY) | G(CACHE), [CVM_MEM_MAX] = G(MEMORY),
    [CVM_IO_OPS] = G(IO),          [CVM_IO_BYTES] = G(IO),        [CVM_PIDS] = G(TASKS) | G(SWITCHES),
    [CVM_TASKS] = G(SWITCHES),     [CVM_PSI_CPU] = G(PRESSURE),   [CVM_PSI_MEM] = G(PRESSURE),
    [CVM_PSI_IO] = G(PRESSURE),    [CVM_NET_DEV] = G(NETWORK),
};

/* file f of dfd, when a group the source samples needs it */
static int open_at(struct cvm_src *s, enum cvm_file f, int dfd, const char *name)
{
    return dfd < 0 || !(s->groups & file_groups[f]) ? -1 : openat(dfd, name, O_RDONLY | O_CLOEXEC);
}

/* The values of several keys ("key value" lines) in one pass over buf:
 * val[i] for key[i], found[i] set; v1's memory.stat has 80 lines. */
static void keys_u64(const char *buf, const char *const *key, int n, uint64_t *val, bool *found)
{
    for (int i = 0; i < n; i++)
        found[i] = false;
    for (const char *p = buf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        size_t len = strcspn(p, " \n");
        if (p[len] != ' ')
            continue;
        for (int i = 0; i < n; i++) {
            if (!found[i] && strlen(key[i]) == len && !memcmp(p, key[i], len) && p[len + 1] >= '0' &&
                p[len + 1] <= '9') {
                val[i] = strtoull(p + len + 1, NULL, 10);
                found[i] = true;
                break;
            }
        }
    }
}

static void open_v2(struct cvm_src *s, const struct cv_cgroup *cg)
{
    cv_cleanup_fd int d = cv_cgroup_open_dir(cg, CV_V1_CPU);
    s->fd[CVM_CPU_STAT] = open_at(s, CVM_CPU_STAT, d, "cpu.stat");
    s->fd[CVM_MEM_CURRENT] = open_at(s, CVM_MEM_CURRENT, d, "memory.current");
    s->fd[CVM_MEM_STAT] = open_at(s, CVM_MEM_STAT, d, "memory.stat");
    s->fd[CVM_MEM_MAX] = open_at(s, CVM_MEM_MAX, d, "memory.max");
    s->fd[CVM_IO_OPS] = open_at(s, CVM_IO_OPS, d, "io.stat");
    s->fd[CVM_PIDS] = open_at(s, CVM_PIDS, d, "pids.current");
    s->fd[CVM_TASKS] = open_at(s, CVM_TASKS, d, "cgroup.threads");
    s->fd[CVM_PSI_CPU] = open_at(s, CVM_PSI_CPU, d, "cpu.pressure");
    s->fd[CVM_PSI_MEM] = open_at(s, CVM_PSI_MEM, d, "memory.pressure");
    s->fd[CVM_PSI_IO] = open_at(s, CVM_PSI_IO, d, "io.pressure");
}

/* cgroup v1 counts block I/O (blkio.throttle.io_serviced and _bytes) only
 * on devices where blk-throttle is active: on every device before kernel
 * 6.10, since then only once a throttle rule was written for the device
 * (in any cgroup; the device's queue then counts for every cgroup). A rule
 * of 0 ("no limit") in the container's own cgroup activates it, and limits
 * nothing: done for every disk of the host, once per process (a disk added
 * later is not seen), so that the counters count from now on. */
static void activate_blkio(int blk)
{
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    static bool done;
    pthread_mutex_lock(&lock);
    cv_cleanup_fd int rule = done ? -1 : openat(blk, "blkio.throttle.read_iops_device", O_WRONLY | O_CLOEXEC);
    DIR *d = rule >= 0 ? opendir("/sys/block") : NULL;
    done |= d != NULL;
    pthread_mutex_unlock(&lock);
    if (!d)
        return;
    for (struct dirent *e; (e = readdir(d));) {
        char path[300], dev[32], size[32];
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "/sys/block/%s/size", e->d_name);
        if (cv_read_file_at(AT_FDCWD, path, size, sizeof(size)) <= 0 || strtoull(size, NULL, 10) == 0)
            continue; /* an unbound loop device, an empty drive */
        snprintf(path, sizeof(path), "/sys/block/%s/dev", e->d_name);
        int n = cv_read_file_at(AT_FDCWD, path, dev, sizeof(dev) - 2);
        if (n <= 1)
            continue;
        dev[strcspn(dev, "\n")] = '\0';
        strcat(dev, " 0");
        if (write(rule, dev, strlen(dev)) < 0) { /* not a device blk-throttle takes: nothing to count */ }
    }
    closedir(d);
}

static void open_v1(struct cvm_src *s, const struct cv_cgroup *cg)
{
    cv_cleanup_fd int cpu = cv_cgroup_open_dir(cg, CV_V1_CPU);
    cv_cleanup_fd int acct = cv_cgroup_open_dir(cg, CV_V1_CPUACCT);
    cv_cleanup_fd int mem = cv_cgroup_open_dir(cg, CV_V1_MEMORY);
    cv_cleanup_fd int blk = cv_cgroup_open_dir(cg, CV_V1_BLKIO);
    cv_cleanup_fd int pids = cv_cgroup_open_dir(cg, CV_V1_PIDS);
    s->fd[CVM_CPU_STAT] = open_at(s, CVM_CPU_STAT, cpu, "cpu.stat");
    s->fd[CVM_CPUACCT_USAGE] = open_at(s, CVM_CPUACCT_USAGE, acct, "cpuacct.usage");
    s->fd[CVM_CPUACCT_STAT] = open_at(s, CVM_CPUACCT_STAT, acct, "cpuacct.stat");
    s->fd[CVM_MEM_CURRENT] = open_at(s, CVM_MEM_CURRENT, mem, "memory.usage_in_bytes");
    s->fd[CVM_MEM_STAT] = open_at(s, CVM_MEM_STAT, mem, "memory.stat");
    s->fd[CVM_MEM_MAX] = open_at(s, CVM_MEM_MAX, mem, "memory.limit_in_bytes");
    s->fd[CVM_IO_OPS] = open_at(s, CVM_IO_OPS, blk, "blkio.throttle.io_serviced_recursive");
    s->fd[CVM_IO_BYTES] = open_at(s, CVM_IO_BYTES, blk, "blkio.throttle.io_service_bytes_recursive");
    if (s->fd[CVM_IO_OPS] >= 0)
        activate_blkio(blk);
    s->fd[CVM_PIDS] = open_at(s, CVM_PIDS, pids, "pids.current");
    /* v1 keeps a "tasks" file's list for as long as it stays open (and
     * shares it with other readers for a second): the directory is kept,
     * and "tasks" opened at each sample */
    if (!(s->groups & G(SWITCHES)))
        return;
    int *dir = acct >= 0 ? &acct : mem >= 0 ? &mem : &cpu;
    s->fd[CVM_TASKS] = cv_steal_fd(dir);
    s->tasks_in_dir = true;
}

void cvm_cg_open(struct cvm_src *s, const struct containerv_container *c)
{
    s->cgroup_version = c->cg.mode == CV_CGROUP_V2 ? 2 : c->cg.mode == CV_CGROUP_V1 ? 1 : 0;
    if (s->cgroup_version == 2)
        open_v2(s, &c->cg);
    else if (s->cgroup_version == 1)
        open_v1(s, &c->cg);
}

/* Read file f into buf; false when it is absent or unreadable (ENODEV,
 * ENOENT: the cgroup was removed under us: *gone). */
static bool rd(struct cvm_src *s, enum cvm_file f, char *buf, size_t size, int *gone)
{
    if (s->fd[f] < 0)
        return false;
    ssize_t n = cvm_pread(s->fd[f], buf, size);
    if (n == -ENODEV || n == -ENOENT)
        *gone = 1;
    return n >= 0;
}

static void read_cpu(struct cvm_src *s, struct containerv_runtime_metrics *m, int *gone)
{
    char buf[1024];
    uint64_t v[5];
    bool f[5];
    if (s->cgroup_version == 2) {
        static const char *const k[] = {"usage_usec", "user_usec", "system_usec", "nr_throttled", "throttled_usec"};
        if (!rd(s, CVM_CPU_STAT, buf, sizeof(buf), gone))
            return;
        keys_u64(buf, k, 5, v, f);
        if (f[0])
            m->cpu_usage_ns = v[0] * 1000, m->available |= CVM_BIT(CPU_USAGE_NS);
        if (f[1] && f[2]) {
            m->cpu_user_ns = v[1] * 1000, m->cpu_system_ns = v[2] * 1000;
            m->available |= CVM_BIT(CPU_USER_NS) | CVM_BIT(CPU_SYSTEM_NS);
        }
        if (f[3] && f[4]) { /* only with the cpu controller on */
            m->cpu_throttled_periods = v[3], m->cpu_throttled_ns = v[4] * 1000;
            m->available |= CVM_BIT(CPU_THROTTLED_PERIODS) | CVM_BIT(CPU_THROTTLED_NS);
        }
        return;
    }
    static const char *const ks[] = {"user", "system"}, *const kt[] = {"nr_throttled", "throttled_time"};
    if (rd(s, CVM_CPUACCT_USAGE, buf, sizeof(buf), gone) && buf[0] >= '0' && buf[0] <= '9')
        m->cpu_usage_ns = strtoull(buf, NULL, 10), m->available |= CVM_BIT(CPU_USAGE_NS);
    if (s->clk_tck > 0 && rd(s, CVM_CPUACCT_STAT, buf, sizeof(buf), gone) && (keys_u64(buf, ks, 2, v, f), f[0] && f[1])) {
        m->cpu_user_ns = v[0] * (1000000000ull / (uint64_t)s->clk_tck);
        m->cpu_system_ns = v[1] * (1000000000ull / (uint64_t)s->clk_tck);
        m->available |= CVM_BIT(CPU_USER_NS) | CVM_BIT(CPU_SYSTEM_NS);
    }
    if (rd(s, CVM_CPU_STAT, buf, sizeof(buf), gone) && (keys_u64(buf, kt, 2, v, f), f[0] && f[1])) {
        m->cpu_throttled_periods = v[0], m->cpu_throttled_ns = v[1];
        m->available |= CVM_BIT(CPU_THROTTLED_PERIODS) | CVM_BIT(CPU_THROTTLED_NS);
    }
}

/* the limit, capped at the host's memory ("max", or v1's huge number: none) */
static uint64_t read_limit(struct cvm_src *s, int *gone)
{
    char buf[64];
    uint64_t lim = s->host_memory;
    if (rd(s, CVM_MEM_MAX, buf, sizeof(buf), gone) && buf[0] >= '0' && buf[0] <= '9') {
        uint64_t v = strtoull(buf, NULL, 10);
        if (v > 0 && (lim == 0 || v < lim))
            lim = v;
    }
    return lim;
}

static void read_memory(struct cvm_src *s, struct containerv_runtime_metrics *m, int *gone)
{
    enum { FAULTS, MAJOR, REFAULT_FILE, REFAULT, INACTIVE, N_KEYS };
    static const char *const k2[] = {"pgfault", "pgmajfault", "workingset_refault_file", "workingset_refault",
                                     "inactive_file"};
    static const char *const k1[] = {"total_pgfault", "total_pgmajfault", "total_workingset_refault_file",
                                     "total_workingset_refault", "total_inactive_file"};
    char cur[64], stat[8192];
    uint64_t v[N_KEYS];
    bool f[N_KEYS] = {false};
    if (rd(s, CVM_MEM_STAT, stat, sizeof(stat), gone))
        keys_u64(stat, s->cgroup_version == 2 ? k2 : k1, N_KEYS, v, f);
    bool memory = s->groups & G(MEMORY);
    if (memory && f[FAULTS])
        m->page_faults = v[FAULTS], m->available |= CVM_BIT(PAGE_FAULTS);
    if (memory && f[MAJOR])
        m->major_page_faults = v[MAJOR], m->available |= CVM_BIT(MAJOR_PAGE_FAULTS);
    if ((s->groups & G(CACHE)) && m->cache_source == CONTAINERV_CACHE_NONE && (f[REFAULT_FILE] || f[REFAULT])) {
        m->memory_cache_misses = f[REFAULT_FILE] ? v[REFAULT_FILE] : v[REFAULT]; /* file pages only, since 5.9 */
        m->cache_source = CONTAINERV_CACHE_REFAULTS;
        m->available |= CVM_BIT(MEMORY_CACHE_MISSES);
    }
    if (!rd(s, CVM_MEM_CURRENT, cur, sizeof(cur), gone) || cur[0] < '0' || cur[0] > '9')
        return;
    m->memory_charged_bytes = strtoull(cur, NULL, 10);
    m->available |= CVM_BIT(MEMORY_CHARGED_BYTES);
    if (!f[INACTIVE])
        return;
    m->memory_usage_bytes = m->memory_charged_bytes > v[INACTIVE] ? m->memory_charged_bytes - v[INACTIVE] : 0;
    m->memory_limit_bytes = read_limit(s, gone);
    m->available |= CVM_BIT(MEMORY_USAGE_BYTES);
    if (m->memory_limit_bytes) {
        m->memory_utilization_percent = 100.0 * (double)m->memory_usage_bytes / (double)m->memory_limit_bytes;
        m->available |= CVM_BIT(MEMORY_LIMIT_BYTES) | CVM_BIT(MEMORY_UTILIZATION_PERCENT);
    }
}

/* v2 io.stat: "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0" per device */
static void sum_io_stat(const char *buf, struct containerv_runtime_metrics *m)
{
    static const char *const keys[] = {"rbytes=", "wbytes=", "rios=", "wios="};
    uint64_t *dst[] = {&m->io_read_bytes, &m->io_write_bytes, &m->io_read_ops, &m->io_write_ops};
    for (const char *p = buf; *p; p++) {
        if (p != buf && p[-1] != ' ')
            continue;
        for (int k = 0; k < 4; k++) {
            if (!strncmp(p, keys[k], strlen(keys[k])))
                *dst[k] += strtoull(p + strlen(keys[k]), NULL, 10);
        }
    }
}

/* v1 blkio.throttle.*_recursive: "8:0 Read 12" per device and operation, "Total N" */
static void sum_blkio(const char *buf, uint64_t *rd_sum, uint64_t *wr_sum)
{
    for (const char *line = buf; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
        const char *op = strchr(line, ' ');
        const char *nl = strchr(line, '\n');
        if (!op || (nl && op > nl) || !strchr(line, ':') || strchr(line, ':') > op)
            continue;
        op++;
        if (!strncmp(op, "Read ", 5))
            *rd_sum += strtoull(op + 5, NULL, 10);
        else if (!strncmp(op, "Write ", 6))
            *wr_sum += strtoull(op + 6, NULL, 10);
    }
}

static void read_io(struct cvm_src *s, struct containerv_runtime_metrics *m, int *gone)
{
    char buf[8192];
    const uint64_t ops = CVM_BIT(IO_READ_OPS) | CVM_BIT(IO_WRITE_OPS);
    const uint64_t bytes = CVM_BIT(IO_READ_BYTES) | CVM_BIT(IO_WRITE_BYTES);
    if (s->cgroup_version == 2) {
        if (rd(s, CVM_IO_OPS, buf, sizeof(buf), gone)) {
            sum_io_stat(buf, m);
            m->available |= ops | bytes;
        }
        return;
    }
    if (rd(s, CVM_IO_OPS, buf, sizeof(buf), gone)) {
        sum_blkio(buf, &m->io_read_ops, &m->io_write_ops);
        m->available |= ops;
    }
    if (rd(s, CVM_IO_BYTES, buf, sizeof(buf), gone)) {
        sum_blkio(buf, &m->io_read_bytes, &m->io_write_bytes);
        m->available |= bytes;
    }
}

/* "some avg10=0.12 avg60=0.00 avg300=0.00 total=1234\nfull avg10=..." */
static bool psi_line(const char *buf, const char *kind, double *avg10, uint64_t *total)
{
    const char *p = strstr(buf, kind);
    if (!p || (p != buf && p[-1] != '\n'))
        return false;
    const char *a = strstr(p, "avg10="), *t = strstr(p, "total=");
    if (!a || !t)
        return false;
    *avg10 = strtod(a + 6, NULL);
    *total = strtoull(t + 6, NULL, 10);
    return isfinite(*avg10);
}

static void read_psi(struct cvm_src *s, struct containerv_runtime_metrics *m, int *gone)
{
    char buf[256];
    if (rd(s, CVM_PSI_CPU, buf, sizeof(buf), gone) &&
        psi_line(buf, "some ", &m->cpu_pressure_some_avg10, &m->cpu_pressure_some_us))
        m->available |= CVM_BIT(CPU_PRESSURE);
    if (rd(s, CVM_PSI_MEM, buf, sizeof(buf), gone) &&
        psi_line(buf, "some ", &m->memory_pressure_some_avg10, &m->memory_pressure_some_us) &&
        psi_line(buf, "full ", &m->memory_pressure_full_avg10, &m->memory_pressure_full_us))
        m->available |= CVM_BIT(MEMORY_PRESSURE);
    if (rd(s, CVM_PSI_IO, buf, sizeof(buf), gone) &&
        psi_line(buf, "some ", &m->io_pressure_some_avg10, &m->io_pressure_some_us) &&
        psi_line(buf, "full ", &m->io_pressure_full_avg10, &m->io_pressure_full_us))
        m->available |= CVM_BIT(IO_PRESSURE);
}

void cvm_cg_read(struct cvm_src *s, struct containerv_runtime_metrics *m, int *gone)
{
    char buf[64];
    read_cpu(s, m, gone);
    read_memory(s, m, gone);
    read_io(s, m, gone);
    if (rd(s, CVM_PIDS, buf, sizeof(buf), gone) && buf[0] >= '0' && buf[0] <= '9')
        m->tasks = strtoull(buf, NULL, 10), m->available |= CVM_BIT(TASKS);
    read_psi(s, m, gone);
}
