/* perf events on the container's cgroup (perf_event_open with
 * PERF_FLAG_PID_CGROUP and the cgroup's directory fd): they count only
 * while a task of that cgroup runs, and only on the CPU each is opened
 * for, so there is one set per CPU, summed at each read.
 *   - context switches: a software event, alone (always counting);
 *   - cache: a hardware group, last-level cache references and misses
 *     (scaled by enabled/running time when the PMU multiplexes).
 * Virtual machines often have no PMU (no hardware events: ENOENT), and a
 * cgroup v1 host has no cgroup directory perf can use unless the
 * perf_event hierarchy holds the container: then nothing is opened and
 * the figures come from elsewhere (cvm.h). */
#include "cvm.h"

#include <linux/perf_event.h>
#include <sys/syscall.h>

static int perf_open(struct perf_event_attr *a, int cgroup_fd, int cpu, int group)
{
    return (int)syscall(SYS_perf_event_open, a, cgroup_fd, cpu, group,
                        PERF_FLAG_PID_CGROUP | PERF_FLAG_FD_CLOEXEC);
}

static int open_sw(int cgroup_fd, int cpu)
{
    struct perf_event_attr a = {
        .size = sizeof(a),
        .type = PERF_TYPE_SOFTWARE,
        .config = PERF_COUNT_SW_CONTEXT_SWITCHES,
        .read_format = PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING,
    };
    return perf_open(&a, cgroup_fd, cpu, -1);
}

static int open_hw(int cgroup_fd, int cpu, int *member)
{
    struct perf_event_attr a = {
        .size = sizeof(a),
        .type = PERF_TYPE_HARDWARE,
        .config = PERF_COUNT_HW_CACHE_REFERENCES,
        .read_format = PERF_FORMAT_GROUP | PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING,
    };
    int leader = perf_open(&a, cgroup_fd, cpu, -1);
    if (leader < 0)
        return -1;
    a.config = PERF_COUNT_HW_CACHE_MISSES;
    *member = perf_open(&a, cgroup_fd, cpu, leader); /* read through the leader; closing it
                                                       * would remove it from the group */
    if (*member < 0) {
        close(leader);
        return -1;
    }
    return leader;
}

void cvm_perf_open(struct cvm_perf *p, int cgroup_fd, bool want_switches, bool want_cache)
{
    long n = sysconf(_SC_NPROCESSORS_CONF);
    memset(p, 0, sizeof(*p));
    if (n <= 0 || n > 4096 || !(p->sw = malloc((size_t)n * sizeof(int))) ||
        !(p->hw = malloc((size_t)n * sizeof(int))) || !(p->hw_miss = malloc((size_t)n * sizeof(int)))) {
        free(p->sw);
        free(p->hw);
        memset(p, 0, sizeof(*p));
        return;
    }
    p->n_cpus = (int)n;
    int sw = 0, hw = 0, hw_failed = 0;
    for (int cpu = 0; cpu < p->n_cpus; cpu++) {
        p->sw[cpu] = want_switches ? open_sw(cgroup_fd, cpu) : -1; /* ENODEV: the CPU is offline */
        sw += p->sw[cpu] >= 0;
        /* the hardware set: not tried again once an online CPU has refused it */
        p->hw_miss[cpu] = -1;
        p->hw[cpu] = hw_failed || !want_cache ? -1 : open_hw(cgroup_fd, cpu, &p->hw_miss[cpu]);
        hw += p->hw[cpu] >= 0;
        hw_failed |= p->hw[cpu] < 0 && (p->sw[cpu] >= 0 || !want_switches) && errno != ENODEV;
    }
    p->switches = sw > 0;
    p->cache = hw > 0 && !hw_failed;
    if (!p->cache) {
        for (int cpu = 0; cpu < p->n_cpus; cpu++) {
            cv_closep(&p->hw[cpu]), cv_closep(&p->hw_miss[cpu]);
            p->hw[cpu] = p->hw_miss[cpu] = -1;
        }
    }
    if (!p->switches && !p->cache)
        cvm_perf_close(p);
}

void cvm_perf_close(struct cvm_perf *p)
{
    for (int cpu = 0; cpu < p->n_cpus; cpu++) {
        if (p->sw)
            cv_closep(&p->sw[cpu]);
        if (p->hw)
            cv_closep(&p->hw[cpu]);
        if (p->hw_miss)
            cv_closep(&p->hw_miss[cpu]);
    }
    free(p->sw);
    free(p->hw);
    free(p->hw_miss);
    memset(p, 0, sizeof(*p));
}

static uint64_t scaled(uint64_t v, uint64_t enabled, uint64_t running)
{
    if (running == 0)
        return 0;
    if (running >= enabled)
        return v;
    return (uint64_t)((double)v * (double)enabled / (double)running);
}

void cvm_perf_read(struct cvm_perf *p, struct containerv_runtime_metrics *m)
{
    uint64_t sw_sum = 0, refs = 0, misses = 0;
    bool sw_ok = p->switches, hw_ok = p->cache;
    for (int cpu = 0; cpu < p->n_cpus; cpu++) {
        uint64_t v[5];
        if (sw_ok && p->sw[cpu] >= 0) {
            if (read(p->sw[cpu], v, 3 * sizeof(uint64_t)) == 3 * sizeof(uint64_t))
                sw_sum += v[0]; /* software events are never multiplexed */
            else
                sw_ok = false;
        }
        if (hw_ok && p->hw[cpu] >= 0) {
            /* nr, time_enabled, time_running, references, misses */
            if (read(p->hw[cpu], v, sizeof(v)) == sizeof(v) && v[0] == 2) {
                refs += scaled(v[3], v[1], v[2]);
                misses += scaled(v[4], v[1], v[2]);
            } else {
                hw_ok = false;
            }
        }
    }
    if (sw_ok) {
        m->cpu_context_switches = sw_sum;
        m->context_switch_source = CONTAINERV_SWITCHES_PERF;
        m->available |= CVM_BIT(CPU_CONTEXT_SWITCHES);
    }
    if (hw_ok) {
        m->memory_cache_hits = refs > misses ? refs - misses : 0;
        m->memory_cache_misses = misses;
        m->cache_source = CONTAINERV_CACHE_PERF_LLC;
        m->available |= CVM_BIT(MEMORY_CACHE_HITS) | CVM_BIT(MEMORY_CACHE_MISSES);
    }
}
