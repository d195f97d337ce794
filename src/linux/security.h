/* The security baseline: capabilities, no_new_privs, seccomp, masked and
 * read-only paths. Preparation (compiling the filter) happens once per
 * process on the host; the functions marked "child" run after clone and only
 * make system calls (no allocation). */
#ifndef CV_SECURITY_H
#define CV_SECURITY_H

#include "../common/internal.h"

#include <linux/filter.h>

/* OCI default capabilities: CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID
 * SETPCAP NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP */
#define CV_CAPS_DEFAULT 0x00000000a80425fbull

struct cv_masked_path {
    const char *path;
    bool dir;
};
extern const struct cv_masked_path cv_masked_paths[];
extern const char *const cv_readonly_paths[];

/* The default seccomp program (compiled at build time, embedded): with
 * all_caps, the one for a container that keeps every capability. */
int cv_seccomp_default(bool all_caps, const struct sock_fprog **prog, struct containerv_error *err);
/* The highest capability number of this kernel (cached). */
int cv_caps_last_cap(void);

/* child: install a prepared filter (requires no_new_privs or CAP_SYS_ADMIN). */
int cv_seccomp_load(const struct sock_fprog *prog);
/* child: bounding set to mask, ambient cleared, effective = permitted = mask,
 * inheritable empty. */
int cv_caps_apply(uint64_t mask, int last_cap);

#endif
