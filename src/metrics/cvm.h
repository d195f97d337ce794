/* Internal declarations of the runtime metrics (src/metrics).
 *
 *   source.c    a container's sources: the files it reads, opened once and kept
 *               open (cgroup files, /proc/<init>/net/dev), and one sample
 *   cgfiles.c   parsing the cgroup v1 and v2 files
 *   threads.c   context switches summed over the container's threads
 *   perf.c      perf events on the container's cgroup (cache, context switches)
 *   fields.c    the field table, rates between two samples
 *   monitor.c   the background sampler: one thread, timerfd + epoll
 *   api.c       the public calls and the state a container handle keeps (c->rt_metrics)
 *   top.c       the processes of a container
 */
#ifndef CV_METRICS_H
#define CV_METRICS_H

#include "../linux/linux.h"

#include <containerv/metrics.h>

#include <stdio.h>

#define CVM_BIT(m) CONTAINERV_METRIC_BIT(CONTAINERV_METRIC_##m)

/* The files a source keeps open; -1 when the host has no such file. */
enum cvm_file {
    CVM_CPU_STAT = 0,   /* v2 cpu.stat (usage and throttling); v1 cpu/cpu.stat (throttling) */
    CVM_CPUACCT_USAGE,  /* v1 cpuacct.usage */
    CVM_CPUACCT_STAT,   /* v1 cpuacct.stat (user, system in USER_HZ) */
    CVM_MEM_CURRENT,    /* v2 memory.current; v1 memory.usage_in_bytes */
    CVM_MEM_STAT,       /* memory.stat */
    CVM_MEM_MAX,        /* v2 memory.max; v1 memory.limit_in_bytes */
    CVM_IO_OPS,         /* v2 io.stat; v1 blkio.throttle.io_serviced_recursive */
    CVM_IO_BYTES,       /* v1 blkio.throttle.io_service_bytes_recursive */
    CVM_PIDS,           /* pids.current */
    CVM_TASKS,          /* v2 cgroup.threads; v1 the directory of "tasks" (tasks_in_dir) */
    CVM_PSI_CPU,        /* v2 cpu.pressure */
    CVM_PSI_MEM,        /* v2 memory.pressure */
    CVM_PSI_IO,         /* v2 io.pressure */
    CVM_NET_DEV,        /* /proc/<init>/net/dev: the container's network namespace */
    CVM_FILE_COUNT
};

/* threads.c: at most this many threads are followed (an fd each); a
 * container with more has no context-switch figure from its threads */
#define CVM_MAX_THREADS 1024

/* threads.c: one thread seen at the last sample */
struct cvm_thread {
    pid_t tid;
    int fd;         /* /proc/<tid>/schedstat (or status), kept open */
    uint64_t count; /* its switches at the last sample */
};

struct cvm_threads {
    struct cvm_thread *v;
    size_t n, cap;
    pid_t *tids; /* scratch: the tids of this sample */
    size_t tids_cap;
    bool chosen, status; /* which file counts: schedstat, or status (no CONFIG_SCHED_INFO) */
    uint64_t *scratch;   /* cvm_threads_again's counts before they are kept */
    size_t scratch_cap;
};

/* perf.c: per CPU, events on the container's cgroup (PERF_FLAG_PID_CGROUP
 * counts only on the CPU it is opened for: one set per CPU) */
struct cvm_perf {
    int n_cpus;
    int *sw;        /* per CPU: context switches (software event); -1: none */
    int *hw;        /* per CPU: a group, cache references then cache misses; -1: none */
    int *hw_miss;   /* per CPU: the group's member (kept open: closing removes it) */
    bool switches;  /* the software event works */
    bool cache;     /* the hardware events work */
};

struct cvm_src {
    int cgroup_version;      /* 1 or 2; 0: no cgroup */
    uint32_t groups;         /* enum containerv_metric_group: what is opened and read */
    pid_t init_pid;
    int pidfd;               /* our own pidfd of the init */
    int fd[CVM_FILE_COUNT];
    bool tasks_in_dir;       /* fd[CVM_TASKS] is a directory: open "tasks" at each sample */
    uint64_t host_memory;    /* MemTotal, bytes */
    uint64_t last_tasks;     /* pids.current when the thread list was last read; UINT64_MAX: none */
    long clk_tck;
    struct cvm_threads threads;
    struct cvm_perf perf;
};

/* What a sample knows beyond its public fields, for the rates. */
struct cvm_extra {
    bool switches_delta_ok;
    uint64_t switches_delta; /* threads source: the switches since the previous sample */
};

/* source.c */
void cvm_src_init(struct cvm_src *s);
int cvm_src_open(struct cvm_src *s, const struct containerv_container *c, uint32_t groups,
                 struct containerv_error *err);
void cvm_src_close(struct cvm_src *s);
/* Read every figure into m (raw fields, levels, pressure, the available
 * bits, the timestamps). 0, or -ESRCH when the container is gone (its init
 * exited or its cgroup vanished): m then holds what could still be read. */
int cvm_sample(struct cvm_src *s, struct containerv_runtime_metrics *m, struct cvm_extra *x);
/* the longest line of a multi-record kernel file we read (a net/dev line) */
#define CVM_RECORD 512
/* pread from offset 0 into buf (NUL-terminated); the length or -errno */
ssize_t cvm_pread(int fd, char *buf, size_t size);
/* the number after "key" at the start of a line of buf ("key 12", "key=12") */
bool cvm_key_u64(const char *buf, const char *key, uint64_t *out);

/* cgfiles.c */
void cvm_cg_open(struct cvm_src *s, const struct containerv_container *c);
void cvm_cg_read(struct cvm_src *s, struct containerv_runtime_metrics *m, int *gone);

/* threads.c */
void cvm_threads_free(struct cvm_threads *t);
/* sum the threads listed by the tasks fd; 0 or -errno */
int cvm_threads_read(struct cvm_threads *t, int tasks_fd, uint64_t *sum, uint64_t *delta, bool *delta_ok);
/* the threads of the last read again, without the list: false when one of
 * them is gone (then nothing changed) */
bool cvm_threads_again(struct cvm_threads *t, uint64_t *sum, uint64_t *delta);

/* perf.c */
void cvm_perf_open(struct cvm_perf *p, int cgroup_fd, bool switches, bool cache);
void cvm_perf_close(struct cvm_perf *p);
/* switches and cache figures into m, available bits set for what works */
void cvm_perf_read(struct cvm_perf *p, struct containerv_runtime_metrics *m);

/* fields.c: the rates of cur over the interval since prev (NULL: none) */
void cvm_rates(const struct containerv_runtime_metrics *prev, struct containerv_runtime_metrics *cur,
               const struct cvm_extra *x);

/* monitor.c */
struct cvm_entry;
int cvm_monitor_add(struct containerv_container *c, const struct containerv_monitor_options *o,
                    struct cvm_entry **out, struct containerv_error *err);
/* stop and free (waits for the thread to let go of it) */
void cvm_monitor_remove(struct cvm_entry *e);
/* the last sample (0), or -EAGAIN before the first */
int cvm_monitor_latest(struct cvm_entry *e, struct containerv_runtime_metrics *m);
size_t cvm_monitor_history(struct cvm_entry *e, struct containerv_runtime_metrics *out, size_t max);
/* the samples the thread took and the CPU time it spent on them (its own
 * CLOCK_THREAD_CPUTIME_ID), since the process started: for `bench monitor` */
void cvm_monitor_stats(uint64_t *samples, uint64_t *cpu_ns);

#endif
