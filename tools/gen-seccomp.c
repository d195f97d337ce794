/* Build-time generator of the default seccomp program: the profile of
 * src/common/seccomp_profile.h is made with libseccomp and exported to BPF
 * here, once, and the library embeds the result (src/linux/security.c), so
 * no process compiles it at run time.
 *
 *   gen-seccomp > seccomp_default.h    the program, and the names it refuses
 *   gen-seccomp --resolve NAME...      the x86_64 number of each name
 *
 * Every name the profile uses must resolve to an x86_64 system call: one
 * that neither libseccomp nor the table below knows fails the build (a
 * name skipped is a call let through, or refused, unreviewed). */
#include <errno.h>
#include <linux/filter.h>
#include <sched.h>
#include <seccomp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../src/common/seccomp_profile.h"

/* x86_64 system calls newer than the libseccomp of Debian 12 (2.5.4 knows
 * numbers up to 456): their numbers, from the kernel's syscall_64.tbl. When
 * libseccomp knows a name too, both must agree. */
static const struct {
    const char *name;
    int nr;
} recent_x86_64[] = {
    {"uretprobe", 335},         {"cachestat", 451},     {"fchmodat2", 452},
    {"map_shadow_stack", 453},  {"futex_wake", 454},    {"futex_wait", 455},
    {"futex_requeue", 456},     {"statmount", 457},     {"listmount", 458},
    {"lsm_get_self_attr", 459}, {"lsm_set_self_attr", 460}, {"lsm_list_modules", 461},
    {"mseal", 462},             {"setxattrat", 463},    {"getxattrat", 464},
    {"listxattrat", 465},       {"removexattrat", 466},
};
#define N_RECENT (sizeof(recent_x86_64) / sizeof(recent_x86_64[0]))

#define MAX_NR CV_SECCOMP_NEWEST_NR

__attribute__((format(printf, 1, 2))) static int fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "gen-seccomp: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return -1;
}

/* The x86_64 number of name, or -1 after an error message. */
static int resolve(const char *name)
{
    int lib = seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86_64, name);
    int own = -1;
    for (size_t i = 0; i < N_RECENT; i++)
        if (!strcmp(recent_x86_64[i].name, name))
            own = recent_x86_64[i].nr;
    if (lib >= 0 && own >= 0 && lib != own)
        return fail("'%s': libseccomp's x86_64 number and the generator's table disagree", name);
    int nr = lib >= 0 ? lib : own;
    if (nr < 0) {
        const struct scmp_version *v = seccomp_version();
        return fail("unknown system call '%s': not an x86_64 system call for libseccomp %u.%u.%u, "
                    "and not in the table of recent calls in tools/gen-seccomp.c",
                    name, v->major, v->minor, v->micro);
    }
    if (nr > MAX_NR)
        return fail("'%s' is newer than CV_SECCOMP_NEWEST_NR: review it and move the bound", name);
    return nr;
}

/* The name of x86_64 system call nr (malloc'd), or NULL when it names none. */
static char *name_of(int nr)
{
    char *s = seccomp_syscall_resolve_num_arch(SCMP_ARCH_X86_64, nr);
    for (size_t i = 0; !s && i < N_RECENT; i++)
        if (recent_x86_64[i].nr == nr)
            s = strdup(recent_x86_64[i].name);
    return s;
}

/* A rule on argument 0, as the peers' OCI profile writes it. */
struct arg_rule {
    int nr;
    uint32_t action;
    struct scmp_arg_cmp cmp;
};

struct gen {
    scmp_filter_ctx ctx;
    struct arg_rule arg_rules[64];
    int n_arg_rules;
    bool decided[MAX_NR + 1]; /* allowed or argument-filtered */
    char *refused[MAX_NR + 1]; /* names, in number order */
    int n_refused;
};

static int rule(struct gen *g, uint32_t action, int nr, unsigned n, const struct scmp_arg_cmp *cmp,
                const char *what)
{
    int r = seccomp_rule_add_exact_array(g->ctx, action, nr, n, cmp);
    if (r < 0)
        return fail("adding the rule for %s: %s", what, strerror(-r));
    if (n == 1) {
        if (g->n_arg_rules == (int)(sizeof(g->arg_rules) / sizeof(g->arg_rules[0])))
            return fail("more argument rules than the generator has room for");
        g->arg_rules[g->n_arg_rules++] = (struct arg_rule){nr, action, cmp[0]};
    }
    return n <= 1 ? 0 : fail("%s: one comparison per rule only", what);
}

/* A comparison of argument 0 (datum_b: the value, for SCMP_CMP_MASKED_EQ) */
static struct scmp_arg_cmp arg0(enum scmp_compare op, uint64_t a, uint64_t b)
{
    return (struct scmp_arg_cmp){.arg = 0, .op = op, .datum_a = a, .datum_b = b};
}

/* Rules giving action when argument 0 lies in [lo, hi] (64 bits, as the
 * filter sees it): one comparison when the range is open at one end, else
 * aligned power-of-two blocks (a filter compares an argument once per rule). */
static int range_rule(struct gen *g, uint32_t action, int nr, uint64_t lo, uint64_t hi, const char *what)
{
    struct scmp_arg_cmp c;
    if (lo == hi)
        c = arg0(SCMP_CMP_EQ, lo, 0);
    else if (lo == 0)
        c = arg0(SCMP_CMP_LE, hi, 0);
    else if (hi == UINT64_MAX)
        c = arg0(SCMP_CMP_GE, lo, 0);
    else {
        while (lo <= hi) {
            uint64_t size = 1;
            while (lo % (size * 2) == 0 && lo + size * 2 - 1 <= hi)
                size *= 2;
            c = arg0(SCMP_CMP_MASKED_EQ, ~(size - 1), lo);
            if (rule(g, action, nr, 1, &c, what) < 0)
                return -1;
            if (lo + size - 1 == hi)
                break;
            lo += size;
        }
        return 0;
    }
    return rule(g, action, nr, 1, &c, what);
}

static int allow_list(struct gen *g, const char *const *names)
{
    for (int i = 0; names[i]; i++) {
        int nr = resolve(names[i]);
        if (nr < 0)
            return -1;
        if (g->decided[nr])
            return fail("'%s' is listed twice, or also filtered on its arguments", names[i]);
        g->decided[nr] = true;
        if (rule(g, SCMP_ACT_ALLOW, nr, 0, NULL, names[i]) < 0)
            return -1;
    }
    return 0;
}

/* clone without namespace flags; EPERM with any of them */
static int clone_rules(struct gen *g)
{
    uint64_t mask = 0;
    for (size_t i = 0; i < sizeof(cv_seccomp_clone_ns_flags) / sizeof(cv_seccomp_clone_ns_flags[0]); i++) {
        uint64_t f = cv_seccomp_clone_ns_flags[i];
        mask |= f;
        struct scmp_arg_cmp c = arg0(SCMP_CMP_MASKED_EQ, f, f);
        if (rule(g, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1, &c, "clone with a namespace flag") < 0)
            return -1;
    }
    struct scmp_arg_cmp c = arg0(SCMP_CMP_MASKED_EQ, mask, 0);
    return rule(g, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1, &c, "clone");
    /* clone3: no rule, the default action (ENOSYS) */
}

static int personality_rules(struct gen *g)
{
    for (size_t i = 0; i < sizeof(cv_seccomp_personality_allowed) / sizeof(cv_seccomp_personality_allowed[0]); i++)
        if (range_rule(g, SCMP_ACT_ALLOW, SCMP_SYS(personality), cv_seccomp_personality_allowed[i],
                       cv_seccomp_personality_allowed[i], "personality") < 0)
            return -1;
    return 0; /* other values: the default action (ENOSYS) */
}

/* socket: every value of the family decided, in ranges that cover them all */
static int socket_rules(struct gen *g)
{
    const struct {
        uint64_t lo, hi;
        uint32_t action;
    } ranges[] = {
        {0, CV_SECCOMP_AF_ALG - 1, SCMP_ACT_ALLOW},
        {CV_SECCOMP_AF_ALG, CV_SECCOMP_AF_ALG, SCMP_ACT_ERRNO(EPERM)},
        {CV_SECCOMP_AF_ALG + 1, CV_SECCOMP_AF_VSOCK - 1, SCMP_ACT_ALLOW},
        {CV_SECCOMP_AF_VSOCK, CV_SECCOMP_AF_VSOCK, SCMP_ACT_ERRNO(EPERM)},
        {CV_SECCOMP_AF_VSOCK + 1, CV_SECCOMP_AF_LIMIT - 1, SCMP_ACT_ALLOW},
        {CV_SECCOMP_AF_LIMIT, UINT64_MAX, SCMP_ACT_ERRNO(EAFNOSUPPORT)},
    };
    uint64_t next = 0;
    for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
        if (ranges[i].lo != next || ranges[i].hi < ranges[i].lo)
            return fail("socket: the ranges of families leave a gap");
        if (range_rule(g, ranges[i].action, SCMP_SYS(socket), ranges[i].lo, ranges[i].hi, "socket") < 0)
            return -1;
        next = ranges[i].hi + 1;
    }
    return next == 0 ? 0 : fail("socket: the ranges of families stop short");
}

/* Every other x86_64 system call up to the newest reviewed one: EPERM. */
static int refuse_the_rest(struct gen *g)
{
    for (int nr = 0; nr <= MAX_NR; nr++) {
        if (g->decided[nr])
            continue;
        char *name = name_of(nr);
        if (!name)
            continue; /* a hole in the table: the default action */
        g->refused[g->n_refused++] = name;
        if (rule(g, SCMP_ACT_ERRNO(EPERM), nr, 0, NULL, name) < 0)
            return -1;
    }
    return 0;
}

/* The default program, or with all_caps the one for a container that keeps
 * every capability. */
static int build(struct gen *g, bool all_caps)
{
    static const char *const filtered[] = {"personality", "socket", "clone", "clone3"};
    for (size_t i = 0; i < sizeof(filtered) / sizeof(filtered[0]); i++) {
        int nr = resolve(filtered[i]);
        if (nr < 0)
            return -1;
        g->decided[nr] = true;
        if (all_caps && i >= 2 && rule(g, SCMP_ACT_ALLOW, nr, 0, NULL, filtered[i]) < 0)
            return -1;
    }
    if (allow_list(g, cv_seccomp_allowed) < 0 || (all_caps && allow_list(g, cv_seccomp_allowed_with_caps) < 0))
        return -1;
    if ((!all_caps && clone_rules(g) < 0) || personality_rules(g) < 0 || socket_rules(g) < 0)
        return -1;
    return refuse_the_rest(g);
}

static const char *oci_op(enum scmp_compare op)
{
    switch (op) {
    case SCMP_CMP_NE: return "SCMP_CMP_NE";
    case SCMP_CMP_LT: return "SCMP_CMP_LT";
    case SCMP_CMP_LE: return "SCMP_CMP_LE";
    case SCMP_CMP_EQ: return "SCMP_CMP_EQ";
    case SCMP_CMP_GE: return "SCMP_CMP_GE";
    case SCMP_CMP_GT: return "SCMP_CMP_GT";
    case SCMP_CMP_MASKED_EQ: return "SCMP_CMP_MASKED_EQ";
    default: return NULL;
    }
}

/* The lists and the argument rules, for the peers' OCI profile. */
static int dump_lists(struct gen *g)
{
    printf("\n/* the x86_64 system calls the default program refuses with EPERM */\n");
    printf("__attribute__((unused)) static const char *const cv_seccomp_refused[] = {\n");
    for (int i = 0; i < g->n_refused; i++)
        printf("    \"%s\",\n", g->refused[i]);
    printf("    NULL,\n};\n\n");
    printf("/* its rules on argument 0 (errno_ret 0: allowed); a call only some of whose\n"
           " * values are allowed gets the default action (ENOSYS) for the others */\n"
           "struct cv_seccomp_arg_rule {\n    const char *name;\n    int errno_ret;\n"
           "    const char *op;\n    unsigned long long a, b;\n};\n");
    printf("__attribute__((unused)) static const struct cv_seccomp_arg_rule cv_seccomp_arg_rules[%d] = {\n",
           g->n_arg_rules);
    for (int i = 0; i < g->n_arg_rules; i++) {
        const struct arg_rule *r = &g->arg_rules[i];
        char *name = name_of(r->nr);
        const char *op = oci_op(r->cmp.op);
        if (!name || !op || (r->action != SCMP_ACT_ALLOW && (r->action & 0xffff0000u) != SCMP_ACT_ERRNO(0))) {
            free(name);
            return fail("an argument rule the OCI profile cannot express");
        }
        printf("    {\"%s\", %u, \"%s\", 0x%llxull, 0x%llxull},\n", name,
               r->action == SCMP_ACT_ALLOW ? 0 : r->action & 0xffffu, op, (unsigned long long)r->cmp.datum_a,
               (unsigned long long)r->cmp.datum_b);
        free(name);
    }
    printf("};\n");
    return 0;
}

/* The program as a C array named name. */
static int dump(struct gen *g, const char *name)
{
    int fd = memfd_create("cv-seccomp", MFD_CLOEXEC);
    if (fd < 0 || seccomp_export_bpf(g->ctx, fd) < 0)
        return fail("exporting the filter failed");
    off_t size = lseek(fd, 0, SEEK_END);
    if (size <= 0 || size % (off_t)sizeof(struct sock_filter) || size / (off_t)sizeof(struct sock_filter) > BPF_MAXINSNS)
        return fail("the exported filter has a bad size");
    struct sock_filter *f = malloc((size_t)size);
    if (!f || pread(fd, f, (size_t)size, 0) != size)
        return fail("reading the exported filter failed");
    size_t n = (size_t)size / sizeof(struct sock_filter);
    printf("\n__attribute__((unused)) static const struct sock_filter %s[%zu] = {\n", name, n);
    for (size_t i = 0; i < n; i++)
        printf("    {0x%04x, %u, %u, 0x%08x},\n", f[i].code, f[i].jt, f[i].jf, f[i].k);
    printf("};\n");
    free(f);
    close(fd);
    return 0;
}

static int resolve_names(int argc, char **argv)
{
    int rc = 0;
    for (int i = 2; i < argc; i++) {
        int nr = resolve(argv[i]);
        if (nr < 0)
            rc = 1;
        else
            printf("%s %d\n", argv[i], nr);
    }
    return rc;
}

/* One program: built, dumped as name, and with lists its lists too. */
static int generate(bool all_caps, const char *name, bool lists)
{
    static struct gen g;
    memset(&g, 0, sizeof(g));
    /* unknown calls: ENOSYS, so that libc falls back; other ABIs (i386,
     * x32): the process is killed. A binary tree rather than a chain: the
     * kernel emulates the filter for every syscall number when it is loaded
     * (the action cache), so a short path per syscall makes every
     * container's start cheaper. */
    g.ctx = seccomp_init(SCMP_ACT_ERRNO(ENOSYS));
    int r = g.ctx ? 0 : fail("seccomp_init failed");
    if (r == 0 && (seccomp_attr_set(g.ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS) < 0 ||
                   seccomp_attr_set(g.ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2) < 0))
        r = fail("setting the filter's attributes failed");
    if (r == 0)
        r = build(&g, all_caps);
    if (r == 0)
        r = dump(&g, name);
    if (r == 0 && lists)
        r = dump_lists(&g);
    for (int i = 0; i < g.n_refused; i++)
        free(g.refused[i]);
    if (g.ctx)
        seccomp_release(g.ctx);
    return r;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "--resolve"))
        return resolve_names(argc, argv);
    if (argc != 1) {
        fprintf(stderr, "usage: gen-seccomp > seccomp_default.h | gen-seccomp --resolve NAME...\n");
        return 2;
    }
    if (seccomp_arch_native() != SCMP_ARCH_X86_64) {
        fprintf(stderr, "gen-seccomp: the default seccomp profile is written for x86_64 system calls only; "
                        "this host's native architecture (libseccomp token 0x%x) is not x86_64\n",
                seccomp_arch_native());
        return 1;
    }
    const struct scmp_version *v = seccomp_version();
    printf("/* generated by tools/gen-seccomp.c with libseccomp %u.%u.%u from src/common/seccomp_profile.h:\n"
           " * do not edit */\n",
           v->major, v->minor, v->micro);
    if (generate(false, "cv_seccomp_default_filter", true) < 0 ||
        generate(true, "cv_seccomp_all_caps_filter", false) < 0)
        return 1;
    return fflush(stdout) == 0 ? 0 : (fail("writing the header failed"), 1);
}
