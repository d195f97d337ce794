/* Shared helpers of containerv's C integration tests (cmocka).
 *
 * Every test binary calls cvt_main(): it makes a private temporary directory
 * (the runtime dir and scratch files live there), then runs the cmocka group
 * in a child process while the parent watches it. When the child is done (or
 * hangs and is killed), the parent removes whatever containers, state and
 * files are left and reports them as a failure: a test cleans up even when it
 * fails, and a leak never outlives the test run. Each test of the group has
 * a runtime dir of its own; what a test leaves in it is destroyed after the
 * test's teardown and fails that test, so that one failure never cascades
 * into the exact counts of the tests after it. */
#ifndef CVT_H
#define CVT_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <containerv/containerv.h>

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* The per-binary environment, filled by cvt_main. */
struct cvt {
    const char *containerv;   /* $CONTAINERV, the CLI */
    const char *helper_layer; /* $CV_HELPER_LAYER: /bin/cvtest */
    const char *rootfs;       /* $CV_DEFAULT_ROOTFS */
    char tmp[256];            /* private temporary directory */
    char runtime_dir[300];    /* the running test's own: <tmp>/run.<n> (<tmp>/run for the warm-up) */
    char prefix[32];          /* "cvt<pid>x": every container id starts with it */
    unsigned seq;
    char name[64];            /* the suite's, as given to cvt_main */
};
extern struct cvt cvt;

/* Run the cmocka group under a watchdog; returns the exit code for main. */
int cvt_main(const char *name, const struct CMUnitTest *tests, size_t n, unsigned timeout_s);

/* A fresh container id "<prefix><n>" (static buffer per call site is not kept:
 * copy it if needed; the returned pointer stays valid until the next 16 calls). */
const char *cvt_id(void);

/* Options with the helper layer over the default rootfs, the test runtime dir. */
struct containerv_options *cvt_options(void);

/* Create with cvt_options()-like options; fails the test on error. */
struct containerv_container *cvt_create(struct containerv_options *o);

/* Destroy; fails the test on error. */
void cvt_destroy(struct containerv_container *c);

/* Run argv in c, capture stdout (trailing newline trimmed) into out and stderr
 * into err_out (either may be NULL). Returns the exit code (or 128+signal);
 * fails the test when spawn or wait fails. so may be NULL. */
int cvt_run(struct containerv_container *c, const char *const argv[],
            const struct containerv_spawn_options *so, char *out, size_t out_size);
/* Start "cvtest sleep 100" in c with default stdio: its pid, or -1 with err
 * filled (usable in a forked child that must not fail the test itself). */
pid_t cvt_spawn_sleeper(struct containerv_container *c, struct containerv_error *err);
/* Shorthand: "cvtest ARGS...". */
int cvt_cvtest(struct containerv_container *c, char *out, size_t out_size, ...)
    __attribute__((sentinel));

/* Assert cvtest's output (errno names come with exit 1, values with exit 0;
 * anything else, a crash or a kill, fails), with the command in the message. */
#define cvt_assert_out(c, want, ...)                                                   \
    do {                                                                              \
        char out_[4096];                                                              \
        int rc_ = cvt_cvtest((c), out_, sizeof(out_), __VA_ARGS__, (char *)NULL);      \
        if ((rc_ != 0 && rc_ != 1) || strcmp(out_, (want)) != 0)                      \
            fail_msg("cvtest %s: want \"%s\", got exit %d and \"%s\"",                 \
                     cvt_join(__VA_ARGS__, (char *)NULL), (want), rc_, out_);         \
    } while (0)

const char *cvt_join(const char *first, ...) __attribute__((sentinel));

/* ---- leak checks */
struct cvt_snap {
    int self_mounts;  /* lines of /proc/self/mountinfo */
    int host_mounts;  /* lines of /proc/1/mountinfo */
    int marked_mounts; /* mount lines (self and host) naming our tmp dir or id prefix */
    int cgroups;      /* cgroup directories whose name holds the id prefix */
    int procs;        /* processes whose /proc/PID/cgroup names the id prefix */
    int descendants;  /* live processes below the test process (it is a subreaper) */
    int fds;          /* this process's open fds */
    int rt_entries;   /* entries in the runtime dir */
    char *self_mountinfo;
    char *host_mountinfo;
};
void cvt_snapshot(struct cvt_snap *s);
void cvt_snap_free(struct cvt_snap *s);
/* What leaked since before (malloc'd, one "\n  ..." line each), or NULL. */
char *cvt_check_leaks(const struct cvt_snap *before, const char *what);
/* Fail the test (with what differs) unless nothing leaked since before. */
void cvt_assert_no_leaks(const struct cvt_snap *before, const char *what);

/* A cmocka fixture: one container (made with o, or cvt_options()) and a
 * snapshot taken before it; teardown destroys it and asserts no leak. */
struct cvt_fixture {
    struct containerv_container *c;
    struct cvt_snap before;
};
int cvt_fixture_setup_with(void **state, struct containerv_options *o);
int cvt_fixture_setup(void **state);
int cvt_fixture_teardown(void **state);
/* Strict mount totals: on in CI (CI set) or with CVT_STRICT_MOUNTS=1; else a
 * change of the totals that names none of our paths is only reported, since
 * other users of a shared machine mount things too. */
bool cvt_strict_mounts(void);

/* Skips. cmocka counts a skip() as a pass, so every skip goes through one
 * of these, which says why on stderr and, when $CVT_SKIP_LOG names a file
 * (.ci/run sets it), appends "<suite> <file>:<line> <kind>: <why>" to it for
 * CI's summary.
 *   cvt_skip_host: this host cannot have it (the other cgroup version, a
 *     kernel feature); another host or the VM covers it.
 *   cvt_skip_missing: a tool or package is missing; CI installs everything,
 *     so under $CI it is a failure, not a skip. */
void cvt_note_skip(const char *file, int line, const char *kind, const char *why);
#define cvt_skip_host(why)                                                                 \
    do {                                                                                   \
        cvt_note_skip(__FILE__, __LINE__, "host", (why));                                  \
        skip();                                                                            \
    } while (0)
#define cvt_skip_missing(why)                                                              \
    do {                                                                                   \
        if (cvt_in_ci())                                                                   \
            fail_msg("%s:%d: %s (required in CI, where every dependency is installed)",   \
                     __FILE__, __LINE__, (why));                                           \
        cvt_note_skip(__FILE__, __LINE__, "missing", (why));                               \
        skip();                                                                            \
    } while (0)
bool cvt_in_ci(void);

/* The container's cgroup file, read and trimmed (malloc'd): v2
 * "/sys/fs/cgroup/containerv/ID/V2_FILE", else v1
 * "/sys/fs/cgroup/V1_CTRL/containerv/ID/V1_FILE"; *v2 says which. Fails the
 * test when it cannot be read. */
char *cvt_cgroup_file(struct containerv_container *c, const char *v1_ctrl, const char *v1_file,
                      const char *v2_file, bool *v2);

/* A pid that no longer runs: gone, or a zombie not reaped yet (kill(pid, 0)
 * succeeds on a zombie, so it cannot tell). cvt_wait_dead waits for that,
 * bounded (a hang guard: 10 s), and says whether it happened. */
bool cvt_pid_dead(pid_t pid);
bool cvt_wait_dead(pid_t pid);

/* Small file helpers. */
void cvt_write_file(const char *path, const char *text);
/* Read a whole (small) file into a malloc'd string; NULL and errno set on error. */
char *cvt_read_file(const char *path);
int cvt_count_lines(const char *path);

#endif
