/* Device access rules (containerv_options_add_device_rule: the OCI's
 * linux.resources.devices, docker's and podman's --device-cgroup-rule).
 *
 * v1: the container's cgroup in the devices hierarchy (made only for a
 * container with rules), the rules written in order to devices.deny and
 * devices.allow: the kernel applies each to the cgroup's state (a default,
 * allow or deny, and a list of exceptions).
 *
 * v2 has no devices files: a BPF_PROG_TYPE_CGROUP_DEVICE program on the
 * container's cgroup decides each open and mknod of a device node. The
 * rules are first reduced the way v1's kernel code applies them (to a
 * default and exceptions, as runc's emulator does), then assembled into a
 * program: one test per exception, the default at the end. Assembled by
 * hand as crun does, and loaded and attached with bpf(2) directly: libbpf
 * would bring libelf and zlib into every process that links libcontainerv,
 * for the two calls that load and attach. The program stays attached until
 * the cgroup is removed; its fd is closed at once. */
#include "cg.h"

#include <fcntl.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <sys/syscall.h>

#define ACC_ALL (BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE)

/* "c 1:3 rwm", "b 8:* r", "a" */
static void rule_text(const struct cv_device_rule *r, char *buf, size_t size)
{
    if (r->type == 'a') {
        snprintf(buf, size, "a");
        return;
    }
    char maj[24] = "*", min[24] = "*", acc[4];
    if (r->major >= 0)
        snprintf(maj, sizeof(maj), "%lld", (long long)r->major);
    if (r->minor >= 0)
        snprintf(min, sizeof(min), "%lld", (long long)r->minor);
    cv_device_access_text(r->access, acc);
    snprintf(buf, size, "%c %s:%s %s", r->type, maj, min, acc);
}

/* ------------------------------------------------------------------ v1 */

static int v1_devices_apply(const struct cv_cgroup *cg, const struct cv_limits *l, struct containerv_error *err)
{
    char dir[PATH_MAX], file[PATH_MAX + 16], text[64];
    int r = cg_leaf(dir, sizeof(dir), cg, CV_V1_DEVICES);
    if (r < 0)
        return cv_error(err, r, "cgroup.devices", "cgroup path for '%s'", cg->id);
    for (int i = 0; i < l->n_dev_rules; i++) {
        const struct cv_device_rule *d = &l->dev_rules[i];
        rule_text(d, text, sizeof(text));
        snprintf(file, sizeof(file), "%s/%s", dir, d->allow ? "devices.allow" : "devices.deny");
        if ((r = cv_write_file_at(AT_FDCWD, file, text, strlen(text))) < 0)
            return cv_error(err, r, "cgroup.devices", "writing %s '%s'", file, text);
    }
    return 0;
}

/* ------------------------------------------------------------ reduction */

struct dev_state {
    bool default_allow;
    struct cv_device_rule ex[CV_MAX_DEVICE_RULES];
    int n;
};

static bool same_key(const struct cv_device_rule *a, const struct cv_device_rule *b)
{
    return a->type == b->type && a->major == b->major && a->minor == b->minor;
}

/* What v1's devices_allow/devices_deny do with one rule (security/device_cgroup.c) */
static void dev_apply(struct dev_state *s, const struct cv_device_rule *r)
{
    if (r->type == 'a') { /* everything: a new default, no exceptions */
        s->default_allow = r->allow;
        s->n = 0;
        return;
    }
    if (r->allow == s->default_allow) { /* takes those accesses out of matching exceptions */
        int o = 0;
        for (int i = 0; i < s->n; i++) {
            if (same_key(&s->ex[i], r))
                s->ex[i].access &= (uint8_t)~r->access;
            if (s->ex[i].access)
                s->ex[o++] = s->ex[i];
        }
        s->n = o;
        return;
    }
    for (int i = 0; i < s->n; i++) { /* an exception: merged into one of the same device */
        if (same_key(&s->ex[i], r)) {
            s->ex[i].access |= r->access;
            return;
        }
    }
    if (s->n < CV_MAX_DEVICE_RULES)
        s->ex[s->n++] = *r;
}

/* --------------------------------------------------------- the program */

struct prog {
    struct bpf_insn *v;
    int n, max;
};

static void emit(struct prog *p, uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
    if (p->n < p->max)
        p->v[p->n] = (struct bpf_insn){.code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm};
    p->n++;
}

/* r2: access bits, r3: type bit, r4: major, r5: minor (from the context in r1) */
static void prologue(struct prog *p)
{
    emit(p, BPF_LDX | BPF_MEM | BPF_W, BPF_REG_2, BPF_REG_1, 0, 0); /* access_type */
    emit(p, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_3, BPF_REG_2, 0, 0);
    emit(p, BPF_ALU | BPF_AND | BPF_K, BPF_REG_3, 0, 0, 0xffff);
    emit(p, BPF_ALU | BPF_RSH | BPF_K, BPF_REG_2, 0, 0, 16);
    emit(p, BPF_LDX | BPF_MEM | BPF_W, BPF_REG_4, BPF_REG_1, 4, 0); /* major */
    emit(p, BPF_LDX | BPF_MEM | BPF_W, BPF_REG_5, BPF_REG_1, 8, 0); /* minor */
}

/* One exception: when it matches, return !default (a default deny lets
 * through what the exception covers entirely; a default allow stops what
 * the exception touches at all). Each test that fails jumps to the next
 * block, which starts len instructions after this one's first:
 *   type [major] [minor]  r6 = access  r6 &= mask  test r6  r0 = result  exit */
static void block(struct prog *p, const struct cv_device_rule *e, bool default_allow)
{
    int len = 1 + (e->major >= 0) + (e->minor >= 0) + 5, i = 0;
#define NEXT ((int16_t)(len - ++i))
    emit(p, BPF_JMP | BPF_JNE | BPF_K, BPF_REG_3, 0, NEXT, e->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR);
    if (e->major >= 0)
        emit(p, BPF_JMP | BPF_JNE | BPF_K, BPF_REG_4, 0, NEXT, (int32_t)e->major);
    if (e->minor >= 0)
        emit(p, BPF_JMP | BPF_JNE | BPF_K, BPF_REG_5, 0, NEXT, (int32_t)e->minor);
    emit(p, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_6, BPF_REG_2, 0, 0);
    i++;
    if (default_allow) { /* no access in common: not this one */
        emit(p, BPF_ALU | BPF_AND | BPF_K, BPF_REG_6, 0, 0, e->access);
        i++;
        emit(p, BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_6, 0, NEXT, 0);
    } else { /* an access it does not cover: not this one */
        emit(p, BPF_ALU | BPF_AND | BPF_K, BPF_REG_6, 0, 0, (int32_t)(~e->access & ACC_ALL));
        i++;
        emit(p, BPF_JMP | BPF_JNE | BPF_K, BPF_REG_6, 0, NEXT, 0);
    }
#undef NEXT
    emit(p, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, default_allow ? 0 : 1);
    emit(p, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
}

int cg_devices_program(const struct cv_limits *l, struct bpf_insn *out, int max, bool *default_allow)
{
    struct dev_state *s = malloc(sizeof(*s)); /* large: not on the stack of a create */
    if (!s)
        return -ENOMEM;
    s->default_allow = true; /* a new cgroup's: everything */
    s->n = 0;
    for (int i = 0; i < l->n_dev_rules; i++)
        dev_apply(s, &l->dev_rules[i]);
    struct prog p = {.v = out, .n = 0, .max = max};
    prologue(&p);
    for (int i = 0; i < s->n; i++)
        block(&p, &s->ex[i], s->default_allow);
    emit(&p, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, s->default_allow ? 1 : 0);
    emit(&p, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
    if (default_allow)
        *default_allow = s->default_allow;
    free(s);
    return p.n <= max ? p.n : -E2BIG;
}

static int v2_devices_apply(const struct cv_cgroup *cg, const struct cv_limits *l, struct containerv_error *err)
{
    int max = CG_DEVICES_MAX_INSNS;
    struct bpf_insn *insns = calloc((size_t)max, sizeof(*insns));
    if (!insns)
        return cv_error(err, ENOMEM, "cgroup.devices", "the device rules' program");
    int n = cg_devices_program(l, insns, max, NULL);
    if (n < 0) {
        free(insns);
        return cv_error(err, -n, "cgroup.devices", "the device rules' program");
    }
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    a.insns = (uint64_t)(uintptr_t)insns;
    a.insn_cnt = (uint32_t)n;
    a.license = (uint64_t)(uintptr_t) "GPL";
    snprintf(a.prog_name, sizeof(a.prog_name), "cv_devices");
    int fd = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &a, sizeof(a));
    int e = errno;
    char *log = NULL;
    if (fd < 0 && e == EINVAL && (log = calloc(1, 65536))) { /* again, for the verifier's reason */
        a.log_buf = (uint64_t)(uintptr_t)log;
        a.log_size = 65536;
        a.log_level = 1;
        int again = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &a, sizeof(a));
        if (again >= 0)
            close(again);
        char *last = strrchr(log, '\n'); /* the reason is the last line */
        while (last && last > log && last[1] == '\0') {
            *last = '\0';
            last = strrchr(log, '\n');
        }
        memmove(log, last ? last + 1 : log, strlen(last ? last + 1 : log) + 1);
    }
    free(insns);
    if (fd < 0) {
        int r = cv_error(err, e, "cgroup.devices", "loading the device rules' program%s%s", log && log[0] ? ": " : "",
                         log ? log : "");
        free(log);
        return r;
    }
    memset(&a, 0, sizeof(a));
    a.target_fd = (uint32_t)cg->v2_fd;
    a.attach_bpf_fd = (uint32_t)fd;
    a.attach_type = BPF_CGROUP_DEVICE;
    a.attach_flags = BPF_F_ALLOW_MULTI; /* with what the parents have: all must allow */
    int r = (int)syscall(SYS_bpf, BPF_PROG_ATTACH, &a, sizeof(a)) < 0 ? -errno : 0;
    close(fd);
    if (r < 0) {
        char path[PATH_MAX];
        cg_leaf(path, sizeof(path), cg, -1);
        return cv_error(err, r, "cgroup.devices", "attaching the device rules' program to %s", path);
    }
    return 0;
}

int cg_devices_apply(const struct cv_cgroup *cg, const struct cv_limits *l, struct containerv_error *err)
{
    if (!l->n_dev_rules)
        return 0;
    return cg->mode == CV_CGROUP_V2 ? v2_devices_apply(cg, l, err) : v1_devices_apply(cg, l, err);
}
