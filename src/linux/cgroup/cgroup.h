/* cgroups v1 and v2 behind one interface. All of containerv's cgroups live
 * under a parent named "containerv" in each hierarchy it uses:
 *   v2:  /sys/fs/cgroup/containerv/<id>
 *   v1:  /sys/fs/cgroup/<controller>/containerv/<id>  for memory, pids, cpu, freezer,
 *        cpuacct and blkio (the last two for the runtime metrics: CPU time and
 *        block I/O are counted per cgroup only in those hierarchies)
 * unless the container was given a cgroup path (containerv_options_set_cgroup_path,
 * an OCI config's linux.cgroupsPath): an absolute one is taken from each
 * hierarchy's root (v2: /sys/fs/cgroup/<path>; v1: /sys/fs/cgroup/<controller>/<path>),
 * a relative one from the "containerv" parent (/sys/fs/cgroup[/<controller>]/containerv/<path>).
 * The mode is probed once per process. */
#ifndef CV_CGROUP_H
#define CV_CGROUP_H

#include "../../common/internal.h"

#include <limits.h>

enum cv_cgroup_mode {
    CV_CGROUP_NONE = 0, /* no usable cgroup file system */
    CV_CGROUP_V1 = 1,   /* legacy or hybrid: v1 controllers */
    CV_CGROUP_V2 = 2,   /* unified */
};

/* v1 hierarchies containerv uses */
enum cv_cgroup_v1_ctrl {
    CV_V1_MEMORY = 0,
    CV_V1_PIDS,
    CV_V1_CPU,
    CV_V1_FREEZER,
    CV_V1_CPUACCT, /* CPU time (cpuacct.usage); often co-mounted with cpu */
    CV_V1_BLKIO,   /* block I/O counters (blkio.throttle.io_serviced) */
    CV_V1_CPUSET,  /* only for a container given cpuset.cpus or .mems (a new v1 cpuset
                    * cgroup must be filled before a task can join it) */
    CV_V1_DEVICES, /* only for a container given device rules */
    CV_V1_COUNT
};

struct cv_cgroup {
    enum cv_cgroup_mode mode;
    char id[CV_ID_MAX + 1];
    char path[CV_CGROUP_PATH_MAX]; /* the cgroup path given, or "": containerv/<id> */
    int v2_fd;                 /* O_DIRECTORY|O_CLOEXEC fd of the v2 leaf, for CLONE_INTO_CGROUP; -1 on v1 */
    unsigned v1_created;       /* bitmask of (1 << enum cv_cgroup_v1_ctrl) dirs this handle created/found */
    bool v2_attached;          /* the caller put the init in with CLONE_INTO_CGROUP (no attach needed) */
    bool cpuset;               /* create: the limits set a cpuset (v1: its hierarchy too; v2: the controller) */
    bool devices;              /* create: the limits have device rules (v1: the devices hierarchy too) */
    /* a cgroup path's parents that create made, per hierarchy (v2: [0]): the
     * deepest made[c] of them, removed again with the leaf when empty (those
     * that existed are someone else's: left). In the state, for another
     * process's destroy (OCI delete, gc). */
    uint8_t made[CV_V1_COUNT];
};

/* One line of /proc/self/mountinfo (modified: tokenised in place): a cgroup
 * v1 mount gives its mount point, unescaped, to each controller it carries
 * whose mnts[] is still "". Used by the probe, and by tests/fuzz (FUSE lets a
 * user add lines with a mount point and source of their choosing). */
void cv_cgroup_parse_mountinfo_line(char *line, char mnts[CV_V1_COUNT][PATH_MAX]);

/* Probe (cached) which mode this host uses; base is "/sys/fs/cgroup". */
enum cv_cgroup_mode cv_cgroup_mode(void);

/* Create the container's cgroup(s) and apply limits; path NULL or "" for
 * containerv/<id>, else the cgroup path (missing parents are made, counted in
 * cg->made and removed with the leaf while empty; the leaf must not exist).
 * On failure nothing this call made is left. */
int cv_cgroup_create(struct cv_cgroup *cg, const char *id, const char *path, const struct cv_limits *limits,
                     struct containerv_error *err);
/* Write the limits set in limits to an existing container's cgroup(s),
 * leaving the others (containerv_update). */
int cv_cgroup_update(struct cv_cgroup *cg, const struct cv_limits *limits, struct containerv_error *err);
/* Put pid into the cgroup(s). v2 callers that used CLONE_INTO_CGROUP need not call this. */
int cv_cgroup_attach(struct cv_cgroup *cg, pid_t pid, struct containerv_error *err);
/* Open, for the child to join its cgroups by itself, the files it writes
 * "0" to: the v1 hierarchies' "tasks" files. A single-threaded task moving
 * itself through "tasks" does not take the kernel's threadgroup rwsem,
 * whose write side waits for an RCU grace period (milliseconds at the
 * tail), which writing a pid to cgroup.procs from the host does. Returns the
 * number of fds (0 on v2 or without cgroups) or -errno. */
int cv_cgroup_join_fds(struct cv_cgroup *cg, int *fds, int max, struct containerv_error *err);
/* Kill every process in the cgroup (v2: cgroup.kill; v1: freezer freeze, SIGKILL all, thaw). */
int cv_cgroup_kill(struct cv_cgroup *cg, struct containerv_error *err);
/* Kill what is left, wait for the cgroup to be empty without sleeping
 * (v2: cgroup.events; v1: pidfds), remove the directories, close fds.
 * Idempotent; fine on a partly created cgroup. */
int cv_cgroup_destroy(struct cv_cgroup *cg, struct containerv_error *err);
/* Rebuild a handle for an existing container (attach, gc); path as
 * cv_cgroup_create's (what the container's state records). Missing dirs are fine. */
int cv_cgroup_open(struct cv_cgroup *cg, const char *id, const char *path, struct containerv_error *err);
/* The parents a cgroup path made, as the state records them ("3,0,1,...") */
void cv_cgroup_made_text(const struct cv_cgroup *cg, char *buf, size_t size);
int cv_cgroup_made_parse(struct cv_cgroup *cg, const char *text);
/* Close fds without removing anything. */
void cv_cgroup_close(struct cv_cgroup *cg);
/* Number of processes in the cgroup (reads cgroup.procs), or -errno. */
int cv_cgroup_count_procs(struct cv_cgroup *cg);

/* ---- for the runtime metrics (files.c) */

/* An O_RDONLY|O_DIRECTORY fd of the container's cgroup directory that holds
 * ctrl's files: the leaf on v2 (ctrl ignored), the hierarchy's leaf on v1
 * (where two controllers share a hierarchy, e.g. "cpu,cpuacct", its
 * directory). The caller closes it. -ENOENT when there is none. */
int cv_cgroup_open_dir(const struct cv_cgroup *cg, enum cv_cgroup_v1_ctrl ctrl);
/* The pids of the container's cgroup and of the cgroups below it, sorted
 * (malloc'd; *n may be 0). 0 or -errno. */
int cv_cgroup_pids(const struct cv_cgroup *cg, pid_t **pids, size_t *n);

#endif
