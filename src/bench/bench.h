/* Internal declarations of the benchmark engine (src/bench). */
#ifndef CV_BENCH_H
#define CV_BENCH_H

#include "../common/internal.h"

#include <containerv/benchmark.h>

#include <limits.h>
#include <pthread.h>
#include <stdio.h>

#define CVB_NS_FLAGS_DEFAULT                                                                   \
    (CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET | CLONE_NEWCGROUP)

/* An OCI runtime or bubblewrap found in PATH. */
struct cvb_peer {
    const char *name;
    char path[PATH_MAX];  /* "" when not installed */
    char root[PATH_MAX];  /* crun/runc --root (state) */
};

/* One benchmark run: configuration, temporary directory, shared fds. */
struct cvb {
    struct containerv_bench_config conf; /* defaults applied */
    struct containerv_error *err;
    struct containerv_bench_report *rep;
    char rootfs[PATH_MAX];
    bool default_rootfs;
    char true_path[PATH_MAX]; /* host path of the rootfs' /bin/true binary */
    char tmp[PATH_MAX];       /* everything the benchmark makes lives here */
    char cv_rt[PATH_MAX];     /* containerv's runtime dir, below tmp */
    char bundle_true[PATH_MAX], bundle_sleep[PATH_MAX]; /* OCI bundles, below tmp */
    struct cvb_peer crun, runc, bwrap;
    int nullfd;               /* /dev/null for children's stdin and stdout */
    int errfd;                /* memfd: children's stderr, read after a failure */
    bool env_tmpfs;           /* the benchmark thread's tmpfs stands in for the cgroup2 mount */
    uint64_t seq;             /* unique container names (atomic) */
    pthread_mutex_t progress_lock;
    uint64_t done, total;
};

/* ---- core.c */
bool cvb_cancelled(const struct cvb *b);
void cvb_progress(struct cvb *b, const char *what, uint64_t add);
/* Progress to an absolute point (never backwards). */
void cvb_progress_at(struct cvb *b, const char *what, uint64_t done);
/* A unique container name, "cvb-<pid>-<n>" by default (thread-safe). */
void cvb_name(struct cvb *b, char *buf, size_t size);
/* The startup-style containerv options of the benchmark (caller frees). */
struct containerv_options *cvb_cold_options(struct cvb *b);
/* order = a fresh random permutation of 0..n-1 (xorshift from *seed) */
void cvb_shuffle(size_t *order, size_t n, uint64_t *seed);
/* memory.c: MemAvailable of /proc/meminfo in KiB, or -errno */
int64_t cvb_mem_available_kb(void);
/* Add a result named name to the report; NULL when out of memory. */
struct containerv_bench_result *cvb_add_result(struct cvb *b, const char *name);
int cvb_add_ratio(struct cvb *b, const char *name, double value);
int cvb_add_target(struct cvb *b, const char *name, double value, double limit);

/* ---- spawn.c: processes without glibc's fork, timed by the callers */
struct cvb_cmd {
    const char *path;
    char *const *argv;
    unsigned long ns_flags; /* CLONE_NEW* for clone3 */
    bool quiet;             /* stdin, stdout -> /dev/null, stderr -> the memfd */
};
/* Start the command (own process group); pid or -errno. */
pid_t cvb_spawn(const struct cvb *b, const struct cvb_cmd *c);
/* Wait for pid: its exit code, 128 + signal, or -errno. */
int cvb_wait(pid_t pid);
/* Run to the end, timing clone to reap in *ns. 0 when it exited 0; else
 * -EIO (or -errno) with why = "exit N: <first line of stderr>". */
int cvb_run(struct cvb *b, const struct cvb_cmd *c, uint64_t *ns, char *why, size_t why_size);
/* Empty the stderr memfd. */
void cvb_clear_stderr(struct cvb *b);
/* The first non-empty line of what children wrote to stderr. */
void cvb_read_stderr(struct cvb *b, char *buf, size_t size);

/* ---- peers.c */
/* Find crun, runc and bwrap in PATH; make their state dirs and the bundles. */
int cvb_peers_prepare(struct cvb *b);
/* argv for one run of a peer (buf holds the strings); NULL when not installed. */
struct cvb_argv {
    char *v[24];
    char name[64];
};
void cvb_argv_crun(struct cvb *b, const struct cvb_peer *p, const char *bundle, bool detach,
                   const char *pid_file, struct cvb_argv *a);
void cvb_argv_bwrap(struct cvb *b, struct cvb_argv *a);
/* After a run of crun or runc: what it left in the tmpfs of cvb_enter_env;
 * with force (a failed run, or a detached container) also `<peer> --root R
 * delete --force name` and the empty cgroup directories named name (what a
 * failed run leaves). Errors are ignored. */
void cvb_peer_cleanup(struct cvb *b, const struct cvb_peer *p, const char *name, bool force);
/* The hybrid-cgroup environment for the calling thread; fills desc. */
void cvb_enter_env(struct cvb *b, char *desc, size_t size);

/* name found in PATH: its path in out (true), or "" (false) */
bool cvb_find_in_path(const char *name, char *out, size_t size);

/* ---- podman_bench.c: the podman modes (podman's own store under tmp) */
struct cvb_podman {
    bool ready;
    char podman[PATH_MAX];
    char storage[PATH_MAX + 16], runroot[PATH_MAX + 16], tmpdir[PATH_MAX + 16];
    char conf_env[PATH_MAX + 64];
    char cv_root_flag[PATH_MAX + 32]; /* --runtime-flag root=<tmp>/o, or "" */
    char image[64];
};
int cvb_podman_prepare(struct cvb *b, struct cvb_podman *p, char *why, size_t n);
/* One `podman --runtime RUNTIME run --rm --network none IMAGE /bin/true`. */
int cvb_podman_run(struct cvb *b, const struct cvb_podman *p, const char *runtime, bool containerv, uint64_t *ns,
                   char *why, size_t n);
void cvb_podman_cleanup(struct cvb *b, struct cvb_podman *p);

/* ---- pool_bench.c: the pooled modes' template (in the benchmark's tmp) and pool */
struct containerv_pool;
int cvb_pool_open(struct cvb *b, int size, struct containerv_pool **pool,
                  struct containerv_error *err);
/* get, spawn /bin/true, wait, return; 0 or -errno with why */
int cvb_pool_run(struct containerv_pool *pool, char *why, size_t n);
/* the pool's resets, replaces and mean reset time into r (has_pool) */
void cvb_pool_figures(struct containerv_pool *pool, struct containerv_bench_result *r);
/* pooled-cli: `containerv daemon` (cli) as a child on <tmp>/daemon.sock with
 * a pool of size of the template, returned once the pool is full. */
struct cvb_daemon {
    pid_t pid; /* -1: not running */
    char socket[PATH_MAX];
    char no_state[PATH_MAX]; /* a state dir without templates, for the clients */
};
int cvb_daemon_start(struct cvb *b, const char *cli, int size, struct cvb_daemon *d, char *why,
                     size_t n);
/* SIGTERM, reap: the daemon's exit code (0: it removed its socket and pool). */
int cvb_daemon_stop(struct cvb_daemon *d);

/* ---- the benchmarks */
int cvb_startup(struct cvb *b);
int cvb_throughput(struct cvb *b);
int cvb_memory(struct cvb *b);
int cvb_io(struct cvb *b);
int cvb_monitor(struct cvb *b); /* monitor_bench.c */
int cvb_seccomp(struct cvb *b); /* seccomp_bench.c */
/* io.c: sequential and random MB/s of files in dir (a path prefix). */
struct cvb_io_figures {
    double seq_read, seq_write, rand_read, rand_write;
};
int cvb_io_measure(const char *dir, uint64_t bytes, bool random, struct cvb_io_figures *out,
                   struct containerv_error *err);

/* ---- stats.c */
/* Sort a copy of the samples into res: percentiles, mean, min, max. */
int cvb_stats(struct containerv_bench_result *res);
double cvb_round(double v, int decimals);

#endif
