/* Internal declarations shared by every part of the library (not installed). */
#ifndef CV_INTERNAL_H
#define CV_INTERNAL_H

#include <containerv/containerv.h>

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CV_MAX_LOWERS 32
#define CV_MAX_BINDS 64
#define CV_MAX_PATHS 64
#define CV_MAX_ENV 256
#define CV_MAX_IDMAPS 8
#define CV_ID_MAX 64
#define CV_CGROUP_PATH_MAX CONTAINERV_CGROUP_PATH_MAX /* a container's cgroup path, with its NUL */

struct cv_idmap {
    uint32_t inside, outside, count;
};

/* A mount of the container, in order: a bind of a host path (fstype
 * NULL) or a new file system (containerv_options_add_mount) */
struct cv_bind {
    char *src;
    char *dst;
    bool read_only;
    char *fstype;        /* NULL: a bind of src */
    unsigned long flags; /* MS_* of a new file system */
    char *data;          /* its mount data, or NULL */
};

/* One device rule (containerv_options_add_device_rule): type 'a' only as
 * "everything" (wildcards, all access); access bits as BPF_DEVCG_ACC_*:
 * 1 mknod, 2 read, 4 write */
#define CV_MAX_DEVICE_RULES 256
#define CV_DEV_MAJOR_MAX 4095    /* the kernel's MAJOR(): 12 bits */
#define CV_DEV_MINOR_MAX 1048575 /* MINOR(): 20 bits */
/* namespaces joined by path: net, ipc, uts, pid (cv_join_slot) */
#define CV_JOIN_SLOTS 4
#define CV_JOIN_PID 3
struct cv_device_rule {
    bool allow;
    char type;            /* 'a', 'c' or 'b' */
    uint8_t access;
    int64_t major, minor; /* -1: any */
};
/* access bits as text, in "rwm" order ("rw", "m", ...) */
void cv_device_access_text(uint8_t access, char buf[4]);

/* Resource limits; 0 means unset. */
struct cv_limits {
    uint64_t memory;      /* bytes */
    uint64_t memory_swap; /* bytes, memory + swap (docker's --memory-swap) */
    uint64_t pids;
    uint64_t cpu_weight;  /* 1..10000 */
    uint64_t cpu_shares;  /* 2..262144: v1's cpu.shares as given (v2 converts); set instead of cpu_weight */
    uint64_t cpu_quota_us;
    uint64_t cpu_period_us;
    uint64_t memory_reservation; /* bytes: v1 memory.soft_limit_in_bytes, v2 memory.low */
    bool swappiness_set;         /* v1 memory.swappiness (v2 has none) */
    uint8_t swappiness;          /* 0..100 */
    bool oom_kill_disable;       /* v1 memory.oom_control (v2 has none) */
    char cpuset_cpus[256];       /* cpuset.cpus ("0-3,8"), "" unset */
    char cpuset_mems[64];        /* cpuset.mems, "" unset */
    bool rt_set;                 /* v1 cpu.rt_period_us / cpu.rt_runtime_us (v2 has none) */
    int64_t rt_runtime_us;       /* -1: no limit */
    uint64_t rt_period_us;       /* 0: the kernel's */
    struct cv_device_rule dev_rules[CV_MAX_DEVICE_RULES]; /* in order; the last that applies decides */
    int n_dev_rules;
};

struct containerv_options {
    char *rootfs;             /* single directory (read-only unless rootfs_writable), or NULL */
    bool rootfs_writable;     /* the single directory is used writable, in place */
    bool no_tmp_tmpfs;        /* no tmpfs on /tmp (containerv_options_set_tmp_tmpfs) */
    /* containerv_options_set_masked_paths / _readonly_paths: the lists
     * that replace the defaults (set: given, maybe empty) */
    char *masked[CV_MAX_PATHS];
    int n_masked;
    bool masked_set;
    char *readonly[CV_MAX_PATHS];
    int n_readonly;
    bool readonly_set;
    char *lowers[CV_MAX_LOWERS];
    int n_lowers;
    char *hostname;
    char *env[CV_MAX_ENV];
    int n_env;
    char *workdir;
    uid_t uid;
    gid_t gid;
    struct cv_limits limits;
    unsigned namespaces;
    struct cv_idmap uid_maps[CV_MAX_IDMAPS];
    int n_uid_maps;
    struct cv_idmap gid_maps[CV_MAX_IDMAPS];
    int n_gid_maps;
    bool read_only;
    struct cv_bind binds[CV_MAX_BINDS];
    int n_binds;
    unsigned relax;
    char *runtime_dir;
    bool die_with_parent;
    /* namespaces joined instead of made (containerv_options_join_namespace):
     * net, ipc, uts; NULL when the container gets its own */
    char *join_ns[CV_JOIN_SLOTS]; /* namespaces to join by path (cv_join_slot), or NULL */
    char *cgroup_path; /* containerv_options_set_cgroup_path, or NULL */
    bool exact_mount_order; /* containerv_options_set_exact_mount_order */
    containerv_trace_fn trace;
    void *trace_data;
};

/* ---- errors: set and return -code; the message is "<step>: <formatted>: <strerror>" */
int cv_error(struct containerv_error *err, int code, const char *step, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Same, without the strerror suffix (for bad input that is not a system error). */
int cv_error_plain(struct containerv_error *err, int code, const char *step, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- small utilities (src/common/util.c) */
uint64_t cv_now_ns(void); /* CLOCK_MONOTONIC */
bool cv_valid_id(const char *id);
/* Whether path can be a container's cgroup path: at most
 * CV_CGROUP_PATH_MAX - 1 bytes, components of printable characters other
 * than "." and "..", not the root ("/"). NULL, or what is wrong in one
 * phrase (the platform's cgroup layer implements it). */
const char *cv_cgroup_path_invalid(const char *path);
/* The slot of a joinable namespace in options->join_ns (net 0, ipc 1, uts 2), else -1. */
int cv_join_slot(unsigned ns);
void cv_random_id(char out[CV_ID_MAX + 1]);
/* Write a whole buffer / a string to a path (O_WRONLY|O_CLOEXEC), -errno on failure. */
int cv_write_file_at(int dirfd, const char *path, const char *buf, size_t len);
int cv_read_file_at(int dirfd, const char *path, char *buf, size_t size); /* NUL-terminates, returns length */
/* All of fd (a file or a pipe), NUL-terminated and malloc'd, *len its length;
 * NULL with errno (EFBIG past max bytes). */
char *cv_read_fd_all(int fd, size_t max, size_t *len);
/* rm -rf below dirfd/name without following symlinks; -errno. */
int cv_remove_tree_at(int dirfd, const char *name);

/* cleanup helpers */
static inline void cv_closep(int *fd)
{
    if (*fd >= 0) {
        int saved = errno;
        close(*fd);
        errno = saved;
    }
}
static inline void cv_freep(void *p)
{
    free(*(void **)p);
}
#define cv_cleanup_fd __attribute__((cleanup(cv_closep)))
#define cv_cleanup_free __attribute__((cleanup(cv_freep)))
/* Hand ownership out of a cleanup variable. */
static inline int cv_steal_fd(int *fd)
{
    int r = *fd;
    *fd = -1;
    return r;
}

/* Fault injection for tests: CONTAINERV_FAULT=<step> makes that step fail
 * with EIO before it does anything; "after:<step>" makes it fail after its
 * own work is done (so that its undo of that work runs); "pause:<step>"
 * makes the process block there, so a test can kill it; "pause:<step>@<unix
 * socket>" holds the step on a connection to the test's socket until the
 * test closes it, and goes on at once when nobody listens there. "#N" after
 * the name picks the N-th entry of that name that runs (v2 has two
 * "state.write"). Read once per create. */
bool cv_fault(const char *fault_spec, const char *step);
/* The same for the occurrence-th entry of step; after: the "after:" form. */
bool cv_fault_at(const char *fault_spec, const char *step, int occurrence, bool after);
/* In the child after clone: "pause:<step>" blocks until the creator is gone
 * (its end of sync_fd closes), as a slow step would, then goes on. */
bool cv_fault_child(const char *fault_spec, const char *step, int sync_fd);
/* In the child: "after:<step>", checked once the step's work is done. */
bool cv_fault_child_after(const char *fault_spec, const char *step);

/* containerv_reset in two halves, so that many resets run at once (pools):
 * begin sends the request to the container's init and gives the connection
 * its answer will come on; end reads the answer (blocking) and closes conn. */
int cv_reset_begin(struct containerv_container *c, int *conn, struct containerv_error *err);
int cv_reset_end(struct containerv_container *c, int conn, struct containerv_error *err);

#endif
