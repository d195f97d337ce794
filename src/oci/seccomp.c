/* linux.seccomp of config.json to a BPF program, with libseccomp (see
 * seccomp.h). */
#include "seccomp.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

__attribute__((format(printf, 3, 4))) static int bad(char *err, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, n, fmt, ap);
    va_end(ap);
    return -1;
}

/* "SCMP_ACT_ERRNO" and errnoRet to a libseccomp action; false when unknown
 * or refused */
static bool action_of(const char *name, json_t *errno_ret, int default_errno, uint32_t *act)
{
    int e = json_is_integer(errno_ret) ? (int)json_integer_value(errno_ret) : default_errno;
    if (e < 0 || e > 4095)
        return false;
    if (!strcmp(name, "SCMP_ACT_ALLOW"))
        *act = SCMP_ACT_ALLOW;
    else if (!strcmp(name, "SCMP_ACT_ERRNO"))
        *act = SCMP_ACT_ERRNO((uint32_t)e);
    else if (!strcmp(name, "SCMP_ACT_KILL") || !strcmp(name, "SCMP_ACT_KILL_THREAD"))
        *act = SCMP_ACT_KILL_THREAD;
    else if (!strcmp(name, "SCMP_ACT_KILL_PROCESS"))
        *act = SCMP_ACT_KILL_PROCESS;
    else if (!strcmp(name, "SCMP_ACT_TRAP"))
        *act = SCMP_ACT_TRAP;
    else if (!strcmp(name, "SCMP_ACT_TRACE"))
        *act = SCMP_ACT_TRACE((uint32_t)e);
    else if (!strcmp(name, "SCMP_ACT_LOG"))
        *act = SCMP_ACT_LOG;
    else
        return false; /* SCMP_ACT_NOTIFY needs a listener: not supported */
    return true;
}

static bool arch_of(const char *name, uint32_t *arch)
{
    static const struct {
        const char *name;
        uint32_t arch;
    } t[] = {
        {"SCMP_ARCH_X86_64", SCMP_ARCH_X86_64}, {"SCMP_ARCH_X86", SCMP_ARCH_X86},
        {"SCMP_ARCH_X32", SCMP_ARCH_X32},       {"SCMP_ARCH_AARCH64", SCMP_ARCH_AARCH64},
        {"SCMP_ARCH_ARM", SCMP_ARCH_ARM},       {"SCMP_ARCH_PPC64LE", SCMP_ARCH_PPC64LE},
        {"SCMP_ARCH_S390X", SCMP_ARCH_S390X},   {"SCMP_ARCH_RISCV64", SCMP_ARCH_RISCV64},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        if (!strcmp(name, t[i].name)) {
            *arch = t[i].arch;
            return true;
        }
    return false;
}

static bool op_of(const char *name, enum scmp_compare *op)
{
    static const struct {
        const char *name;
        enum scmp_compare op;
    } t[] = {
        {"SCMP_CMP_NE", SCMP_CMP_NE}, {"SCMP_CMP_LT", SCMP_CMP_LT}, {"SCMP_CMP_LE", SCMP_CMP_LE},
        {"SCMP_CMP_EQ", SCMP_CMP_EQ}, {"SCMP_CMP_GE", SCMP_CMP_GE}, {"SCMP_CMP_GT", SCMP_CMP_GT},
        {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        if (!strcmp(name, t[i].name)) {
            *op = t[i].op;
            return true;
        }
    return false;
}

static int add_rules(scmp_filter_ctx ctx, json_t *sc, uint32_t def, int def_errno, char *err, size_t errlen)
{
    json_t *v;
    size_t i;
    json_array_foreach(sc, i, v) {
        json_t *names = json_object_get(v, "names"), *args = json_object_get(v, "args"), *n;
        const char *action = json_string_value(json_object_get(v, "action"));
        uint32_t act;
        char idx[32];
        snprintf(idx, sizeof(idx), "%zu", i);
        if (!json_is_object(v) || !action || !json_is_array(names))
            return bad(err, errlen, "linux.seccomp.syscalls[%s]: expected {\"names\", \"action\"}", idx);
        if (!action_of(action, json_object_get(v, "errnoRet"), def_errno, &act))
            return bad(err, errlen, "linux.seccomp.syscalls[%s]: action '%s' is not supported", idx, action);
        if (act == def)
            continue; /* libseccomp refuses a rule that is the default */
        struct scmp_arg_cmp cmp[6];
        unsigned ncmp = 0;
        if (args && !json_is_null(args)) {
            json_t *a;
            size_t k;
            if (!json_is_array(args) || json_array_size(args) > 6)
                return bad(err, errlen, "linux.seccomp.syscalls[%s].args: expected at most 6 conditions", idx);
            json_array_foreach(args, k, a) {
                json_t *index = json_object_get(a, "index"), *value = json_object_get(a, "value");
                json_t *two = json_object_get(a, "valueTwo");
                const char *opname = json_string_value(json_object_get(a, "op"));
                enum scmp_compare op;
                if (!json_is_integer(index) || json_integer_value(index) < 0 || json_integer_value(index) > 5 ||
                    !json_is_integer(value) || (two && !json_is_integer(two) && !json_is_null(two)) || !opname ||
                    !op_of(opname, &op))
                    return bad(err, errlen, "linux.seccomp.syscalls[%s].args: a condition is not {index, value, op}",
                               idx);
                cmp[ncmp++] = (struct scmp_arg_cmp){.arg = (unsigned)json_integer_value(index), .op = op,
                                                    .datum_a = (scmp_datum_t)json_integer_value(value),
                                                    .datum_b = json_is_integer(two) ? (scmp_datum_t)json_integer_value(two) : 0};
            }
        }
        size_t k;
        json_array_foreach(names, k, n) {
            const char *name = json_string_value(n);
            if (!name)
                return bad(err, errlen, "linux.seccomp.syscalls[%s].names: expected strings", idx);
            int nr = seccomp_syscall_resolve_name(name);
            if (nr == __NR_SCMP_ERROR)
                continue; /* a system call this kernel and libseccomp do not know, as runc skips it */
            int r = seccomp_rule_add_array(ctx, act, nr, ncmp, cmp);
            if (r < 0 && r != -EEXIST)
                return bad(err, errlen, "linux.seccomp: the rule for '%s' cannot be added: %s", name, strerror(-r));
        }
    }
    return 0;
}

int oci_seccomp_compile(json_t *sc, struct sock_filter **prog, size_t *len, char *err, size_t errlen)
{
    *prog = NULL;
    *len = 0;
    const char *defname = json_string_value(json_object_get(sc, "defaultAction"));
    json_t *de = json_object_get(sc, "defaultErrnoRet");
    int def_errno = json_is_integer(de) ? (int)json_integer_value(de) : 1; /* EPERM */
    uint32_t def;
    if (!defname)
        return bad(err, errlen, "linux.seccomp.defaultAction: missing");
    if (!action_of(defname, de, def_errno, &def))
        return bad(err, errlen, "linux.seccomp.defaultAction: '%s' is not supported", defname);
    json_t *lp = json_object_get(sc, "listenerPath");
    if (json_is_string(lp) && json_string_length(lp))
        return bad(err, errlen, "linux.seccomp.listenerPath: a seccomp notify listener is not supported");
    scmp_filter_ctx ctx = seccomp_init(def);
    if (!ctx)
        return bad(err, errlen, "linux.seccomp: libseccomp could not start a filter");
    /* the process runs no_new_privs itself (or has CAP_SYS_ADMIN): the
     * filter must not set it; a filter is never turned off by another arch */
    seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
    int r = 0;
    json_t *arches = json_object_get(sc, "architectures"), *a;
    size_t i;
    json_array_foreach(arches, i, a) {
        uint32_t arch;
        const char *name = json_string_value(a);
        if (!name || !arch_of(name, &arch)) {
            r = bad(err, errlen, "linux.seccomp.architectures: '%s' is not known", name ? name : "?");
            break;
        }
        int k = seccomp_arch_add(ctx, arch);
        if (k < 0 && k != -EEXIST) {
            r = bad(err, errlen, "linux.seccomp.architectures: '%s': %s", name, strerror(-k));
            break;
        }
    }
    json_t *sys = json_object_get(sc, "syscalls");
    if (r == 0 && sys && !json_is_null(sys)) {
        if (!json_is_array(sys))
            r = bad(err, errlen, "linux.seccomp.syscalls: expected an array");
        else
            r = add_rules(ctx, sys, def, def_errno, err, errlen);
    }
    int fd = r == 0 ? memfd_create("containerv-seccomp", MFD_CLOEXEC) : -1;
    if (r == 0 && (fd < 0 || seccomp_export_bpf(ctx, fd) < 0))
        r = bad(err, errlen, "linux.seccomp: libseccomp could not export the filter");
    seccomp_release(ctx);
    if (r < 0) {
        if (fd >= 0)
            close(fd);
        return r;
    }
    off_t size = lseek(fd, 0, SEEK_END);
    if (size <= 0 || size % (off_t)sizeof(struct sock_filter) || size > 4096 * (off_t)sizeof(struct sock_filter)) {
        close(fd);
        return bad(err, errlen, "linux.seccomp: the filter does not fit the kernel's 4096 instructions");
    }
    *prog = malloc((size_t)size);
    if (!*prog || pread(fd, *prog, (size_t)size, 0) != size) {
        free(*prog);
        *prog = NULL;
        close(fd);
        return bad(err, errlen, "linux.seccomp: reading the filter back failed");
    }
    close(fd);
    *len = (size_t)size / sizeof(struct sock_filter);
    return 0;
}
