/* The cgroup files of a sample, v1 and v2 (docs/metrics.md has each
 * field's source). Files are opened once (cvm_cg_open) and read with pread
 * (cvm_cg_read); a file the host lacks stays -1 and its fields unavailable. */
#include "cvm.h"

#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>

static int open_at(int dfd, const char *name)
{
    return dfd < 0 ? -1 : openat(dfd, name, O_RDONLY | O_CLOEXEC);
}

static void open_v2(struct cvm_src *s, const struct cv_cgroup *cg)
{
    cv_cleanup_fd int d = cv_cgroup_open_dir(cg, CV_V1_CPU);
    s->fd[CVM_CPU_STAT] = open_at(d, "cpu.stat");
    s->fd[CVM_MEM_CURRENT] = open_at(d, "memory.current");
    s->fd[CVM_MEM_STAT] = open_at(d, "memory.stat");
    s->fd[CVM_MEM_MAX] = open_at(d, "memory.max");
    s->fd[CVM_IO_OPS] = open_at(d, "io.stat");
    s->fd[CVM_PIDS] = open_at(d, "pids.current");
    s->fd[CVM_TASKS] = open_at(d, "cgroup.threads");
    s->fd[CVM_PSI_CPU] = open_at(d, "cpu.pressure");
    s->fd[CVM_PSI_MEM] = open_at(d, "memory.pressure");
    s->fd[CVM_PSI_IO] = open_at(d, "io.pressure");
}

/* cgroup v1 counts block I/O (blkio.throttle.io_serviced and _bytes) only
 * on devices where blk-throttle is active: on every device before kernel
 * 6.10, since then only once a throttle rule was written for the device
 * (in any cgroup). A rule of 0 ("no limit") in the container's own cgroup
 * activates it, and limits nothing: done for every disk of the host, so
 * that the counters count from now on. */
static void activate_blkio(int blk)
{
    cv_cleanup_fd int rule = openat(blk, "blkio.throttle.read_iops_device", O_WRONLY | O_CLOEXEC);
    DIR *d = rule >= 0 ? opendir("/sys/block") : NULL;
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
    s->fd[CVM_CPU_STAT] = open_at(cpu, "cpu.stat");
    s->fd[CVM_CPUACCT_USAGE] = open_at(acct, "cpuacct.usage");
    s->fd[CVM_CPUACCT_STAT] = open_at(acct, "cpuacct.stat");
    s->fd[CVM_MEM_CURRENT] = open_at(mem, "memory.usage_in_bytes");
    s->fd[CVM_MEM_STAT] = open_at(mem, "memory.stat");
    s->fd[CVM_MEM_MAX] = open_at(mem, "memory.limit_in_bytes");
    s->fd[CVM_IO_OPS] = open_at(blk, "blkio.throttle.io_serviced_recursive");
    s->fd[CVM_IO_BYTES] = open_at(blk, "blkio.throttle.io_service_bytes_recursive");
    if (blk >= 0)
        activate_blkio(blk);
    s->fd[CVM_PIDS] = open_at(pids, "pids.current");
    /* v1 keeps a "tasks" file's list for as long as it stays open (and
     * shares it with other readers for a second): the directory is kept,
     * and "tasks" opened at each sample */
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
    uint64_t v, w;
    if (s->cgroup_version == 2 && rd(s, CVM_CPU_STAT, buf, sizeof(buf), gone)) {
        if (cvm_key_u64(buf, "usage_usec", &v))
            m->cpu_usage_ns = v * 1000, m->available |= CVM_BIT(CPU_USAGE_NS);
        if (cvm_key_u64(buf, "user_usec", &v) && cvm_key_u64(buf, "system_usec", &w)) {
            m->cpu_user_ns = v * 1000, m->cpu_system_ns = w * 1000;
            m->available |= CVM_BIT(CPU_USER_NS) | CVM_BIT(CPU_SYSTEM_NS);
        }
        if (cvm_key_u64(buf, "nr_throttled", &v) && cvm_key_u64(buf, "throttled_usec", &w)) {
            m->cpu_throttled_periods = v, m->cpu_throttled_ns = w * 1000;
            m->available |= CVM_BIT(CPU_THROTTLED_PERIODS) | CVM_BIT(CPU_THROTTLED_NS);
        }
        return;
    }
    if (rd(s, CVM_CPUACCT_USAGE, buf, sizeof(buf), gone) && buf[0] >= '0' && buf[0] <= '9')
        m->cpu_usage_ns = strtoull(buf, NULL, 10), m->available |= CVM_BIT(CPU_USAGE_NS);
    if (s->clk_tck > 0 && rd(s, CVM_CPUACCT_STAT, buf, sizeof(buf), gone) && cvm_key_u64(buf, "user", &v) &&
        cvm_key_u64(buf, "system", &w)) {
        m->cpu_user_ns = v * (1000000000ull / (uint64_t)s->clk_tck);
        m->cpu_system_ns = w * (1000000000ull / (uint64_t)s->clk_tck);
        m->available |= CVM_BIT(CPU_USER_NS) | CVM_BIT(CPU_SYSTEM_NS);
    }
    if (rd(s, CVM_CPU_STAT, buf, sizeof(buf), gone) && cvm_key_u64(buf, "nr_throttled", &v) &&
        cvm_key_u64(buf, "throttled_time", &w)) {
        m->cpu_throttled_periods = v, m->cpu_throttled_ns = w;
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
    char cur[64], stat[8192];
    bool v2 = s->cgroup_version == 2;
    uint64_t inactive = 0, v;
    bool have_stat = rd(s, CVM_MEM_STAT, stat, sizeof(stat), gone);
    if (have_stat && cvm_key_u64(stat, v2 ? "pgfault" : "total_pgfault", &v))
        m->page_faults = v, m->available |= CVM_BIT(PAGE_FAULTS);
    if (have_stat && cvm_key_u64(stat, v2 ? "pgmajfault" : "total_pgmajfault", &v))
        m->major_page_faults = v, m->available |= CVM_BIT(MAJOR_PAGE_FAULTS);
    if (have_stat && m->cache_source == CONTAINERV_CACHE_NONE &&
        (cvm_key_u64(stat, v2 ? "workingset_refault_file" : "total_workingset_refault_file", &v) ||
         cvm_key_u64(stat, v2 ? "workingset_refault" : "total_workingset_refault", &v))) {
        m->memory_cache_misses = v;
        m->cache_source = CONTAINERV_CACHE_REFAULTS;
        m->available |= CVM_BIT(MEMORY_CACHE_MISSES);
    }
    if (!rd(s, CVM_MEM_CURRENT, cur, sizeof(cur), gone) || cur[0] < '0' || cur[0] > '9')
        return;
    m->memory_charged_bytes = strtoull(cur, NULL, 10);
    m->available |= CVM_BIT(MEMORY_CHARGED_BYTES);
    if (!have_stat || !cvm_key_u64(stat, v2 ? "inactive_file" : "total_inactive_file", &inactive))
        return;
    m->memory_usage_bytes = m->memory_charged_bytes > inactive ? m->memory_charged_bytes - inactive : 0;
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
