/* Security baseline; see security.h and docs/design.md. */
#include "security.h"
#include "childsys.h"

#include <linux/capability.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

/* dir: what the path is on the kernels we know (a wrong guess costs a
 * second call, see rootfs.c) */
const struct cv_masked_path cv_masked_paths[] = {
    {"/proc/acpi", true},         {"/proc/asound", true},      {"/proc/kcore", false},
    {"/proc/keys", false},        {"/proc/latency_stats", false}, {"/proc/timer_list", false},
    {"/proc/timer_stats", false}, {"/proc/sched_debug", false}, {"/proc/scsi", true},
    {"/sys/firmware", true},      {"/sys/devices/virtual/powercap", true}, {NULL, false},
};

const char *const cv_readonly_paths[] = {
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL,
};

/* The default profile, an allow list with the reach of Docker's default
 * profile (src/common/seccomp_profile.h), compiled with libseccomp at build
 * time by tools/gen-seccomp.c and embedded here. */
#include "seccomp_default.h"

static const struct sock_fprog default_prog = {
    .len = sizeof(cv_seccomp_default_filter) / sizeof(cv_seccomp_default_filter[0]),
    .filter = (struct sock_filter *)cv_seccomp_default_filter,
};
static const struct sock_fprog all_caps_prog = {
    .len = sizeof(cv_seccomp_all_caps_filter) / sizeof(cv_seccomp_all_caps_filter[0]),
    .filter = (struct sock_filter *)cv_seccomp_all_caps_filter,
};

int cv_seccomp_default(bool all_caps, const struct sock_fprog **prog, struct containerv_error *err)
{
    (void)err;
    *prog = all_caps ? &all_caps_prog : &default_prog;
    return 0;
}

int cv_caps_last_cap(void)
{
    static int last = -1;
    int v = __atomic_load_n(&last, __ATOMIC_RELAXED);
    if (v >= 0)
        return v;
    char buf[16];
    v = cv_read_file_at(-1, "/proc/sys/kernel/cap_last_cap", buf, sizeof(buf)) > 0 ? atoi(buf) : 40;
    if (v <= 0 || v > 63)
        v = 40;
    __atomic_store_n(&last, v, __ATOMIC_RELAXED);
    return v;
}

/* The two below run in the child of create: raw system calls (childsys.h). */
int cv_seccomp_load(const struct sock_fprog *prog)
{
    return (int)cv_raw3(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, prog);
}

int cv_caps_apply(uint64_t mask, int last_cap)
{
    int r;
    for (int cap = 0; cap <= last_cap; cap++) {
        if (mask & (1ull << cap))
            continue;
        if ((r = cs_prctl(PR_CAPBSET_DROP, (unsigned long)cap, 0)) < 0 && r != -EINVAL)
            return r;
    }
    if ((r = cs_prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0)) < 0 && r != -EINVAL)
        return r;
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[2] = {
        {.effective = (uint32_t)mask, .permitted = (uint32_t)mask, .inheritable = 0},
        {.effective = (uint32_t)(mask >> 32), .permitted = (uint32_t)(mask >> 32), .inheritable = 0},
    };
    return (int)cv_raw3(SYS_capset, &hdr, data, 0);
}
