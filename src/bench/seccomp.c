/* `bench seccomp`: what the built-in seccomp profile costs. Each sample runs
 * in a fresh child of the benchmark thread (a filter cannot be taken off a
 * process again):
 *   load           one seccomp(SECCOMP_SET_MODE_FILTER) of the embedded
 *                  program: the kernel checks it, translates it to eBPF,
 *                  JIT-compiles it and emulates it once per system call
 *                  number (the action cache), as every container create does
 *   <call>-none    a batch of BATCH calls without a filter
 *   <call>         the same under the filter
 * for getpid (no argument checks: served by the kernel's action cache once
 * the filter allows it whatever the arguments), personality(0xffffffff) (the
 * query: allowed for some values only, so the filter runs), an unknown
 * system call number (the filter runs to its default action) and clone with
 * CLONE_NEWUSER (refused by the filter: runs in either profile). A call's
 * samples are the time of BATCH calls, so that its "µs" figures read as ns
 * per call. Modes are interleaved round by round. */
#include "bench.h"
#include "../linux/security.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#define BATCH 1000 /* calls per sample */
#define UNKNOWN_NR 1000

enum sc_call { CALL_NONE = 0, CALL_GETPID, CALL_PERSONALITY, CALL_UNKNOWN, CALL_CLONE_REFUSED };

struct sc_mode {
    const char *name;
    enum sc_call call;
    bool filter;
};

static const struct sc_mode sc_modes[] = {
    {"load", CALL_NONE, true},
    {"getpid-none", CALL_GETPID, false},
    {"getpid", CALL_GETPID, true},
    {"personality-none", CALL_PERSONALITY, false},
    {"personality", CALL_PERSONALITY, true},
    {"unknown-none", CALL_UNKNOWN, false},
    {"unknown", CALL_UNKNOWN, true},
    {"clone-refused", CALL_CLONE_REFUSED, true},
};
#define N_MODES (sizeof(sc_modes) / sizeof(sc_modes[0]))

static long one_call(enum sc_call c)
{
    switch (c) {
    case CALL_GETPID: return syscall(SYS_getpid);
    case CALL_PERSONALITY: return syscall(SYS_personality, 0xffffffffUL);
    case CALL_UNKNOWN: return syscall(UNKNOWN_NR);
    case CALL_CLONE_REFUSED: return syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
    default: return 0;
    }
}

/* In the child: one sample, or 0 when the call did not behave as the mode
 * assumes (clone not refused). */
static uint64_t child_sample(const struct sc_mode *m, const struct sock_fprog *prog)
{
    if (m->filter && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return 0;
    uint64_t t0 = cv_now_ns();
    if (m->filter && cv_seccomp_load(prog) < 0)
        return 0;
    uint64_t t1 = cv_now_ns();
    if (m->call == CALL_NONE)
        return t1 - t0 ? t1 - t0 : 1;
    if (m->call == CALL_CLONE_REFUSED) {
        long r = one_call(m->call);
        if (r == 0)
            _exit(0); /* a child: the filter let it through */
        if (r > 0 || errno != EPERM)
            return 0;
    }
    for (int i = 0; i < BATCH; i++) /* warm-up */
        one_call(m->call);
    t0 = cv_now_ns();
    for (int i = 0; i < BATCH; i++)
        one_call(m->call);
    t1 = cv_now_ns();
    return t1 - t0 ? t1 - t0 : 1;
}

/* One sample of mode m in a fresh child: ns, or 0 with why. */
static uint64_t sample(const struct sc_mode *m, const struct sock_fprog *prog, char *why, size_t n)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) {
        snprintf(why, n, "pipe: %s", strerror(errno));
        return 0;
    }
    pid_t pid = fork();
    if (pid == 0) {
        uint64_t v = child_sample(m, prog);
        _exit(write(p[1], &v, sizeof(v)) == (ssize_t)sizeof(v) ? 0 : 1);
    }
    close(p[1]);
    uint64_t v = 0;
    ssize_t got = pid > 0 ? read(p[0], &v, sizeof(v)) : -1;
    int e = errno;
    close(p[0]);
    if (pid < 0) {
        snprintf(why, n, "fork: %s", strerror(e));
        return 0;
    }
    /* a clone the filter let through exits 0 without writing (got 0) */
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
    if (got != (ssize_t)sizeof(v) || v == 0) {
        snprintf(why, n, m->call == CALL_CLONE_REFUSED ? "clone(CLONE_NEWUSER) was not refused with EPERM"
                                                       : "the child could not load the filter or measure");
        return 0;
    }
    return v;
}

static void describe(struct cvb *b, const struct sock_fprog *prog)
{
    struct utsname u;
    if (uname(&u) < 0)
        snprintf(u.release, sizeof(u.release), "?");
    char jit[8] = "?";
    if (cv_read_file_at(-1, "/proc/sys/net/core/bpf_jit_enable", jit, sizeof(jit)) > 0)
        jit[strcspn(jit, "\n")] = '\0';
    snprintf(b->rep->environment, sizeof(b->rep->environment),
             "built-in profile of %u BPF instructions; kernel %s; bpf_jit_enable %s; %d calls per "
             "sample (call figures: ns per call)",
             (unsigned)prog->len, u.release, jit, BATCH);
}

int cvb_seccomp(struct cvb *b)
{
    const struct sock_fprog *prog = NULL;
    int r = cv_seccomp_default(false, &prog, b->err);
    if (r < 0)
        return r;
    describe(b, prog);
    int iters = b->conf.iterations, warm = b->conf.warmup;
    b->rep->iterations = iters;
    b->rep->warmup = warm;
    struct containerv_bench_result *res[N_MODES];
    size_t first = b->rep->n_results;
    for (size_t i = 0; i < N_MODES; i++) {
        if (!cvb_add_result(b, sc_modes[i].name))
            return cv_error(b->err, ENOMEM, "bench.seccomp", "allocating results");
    }
    for (size_t i = 0; i < N_MODES; i++) {
        res[i] = &b->rep->results[first + i];
        res[i]->samples_ns = calloc((size_t)iters, sizeof(uint64_t));
        if (!res[i]->samples_ns)
            return cv_error(b->err, ENOMEM, "bench.seccomp", "allocating samples");
    }
    b->total = (uint64_t)(iters + warm) * N_MODES;
    for (int it = 0; it < iters + warm && !cvb_cancelled(b); it++) {
        for (size_t i = 0; i < N_MODES; i++) {
            if (res[i]->skipped[0])
                continue;
            uint64_t v = sample(&sc_modes[i], prog, res[i]->skipped, sizeof(res[i]->skipped));
            if (v && it >= warm)
                res[i]->samples_ns[res[i]->n_samples++] = v;
            cvb_progress(b, "seccomp", 1);
        }
    }
    for (size_t i = 0; i < N_MODES; i++)
        if (cvb_stats(res[i]) < 0)
            return cv_error(b->err, ENOMEM, "bench.seccomp", "statistics");
    for (size_t i = 1; i + 1 < N_MODES; i += 2) {
        if (res[i]->n_samples && res[i + 1]->n_samples && res[i]->p50_us > 0) {
            char name[64];
            snprintf(name, sizeof(name), "%s/%s", res[i + 1]->name, res[i]->name);
            if (cvb_add_ratio(b, name, res[i + 1]->p50_us / res[i]->p50_us) < 0)
                return cv_error(b->err, ENOMEM, "bench.seccomp", "ratios");
        }
    }
    return 0;
}
