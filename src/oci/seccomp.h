/* linux.seccomp of an OCI config to a classic BPF program (libseccomp),
 * which the container's main process loads last (containerv_main_process). */
#ifndef CV_OCI_SECCOMP_H
#define CV_OCI_SECCOMP_H

#include <jansson.h>
#include <linux/filter.h>
#include <stddef.h>

/* 0 with a malloc'd program of *len instructions, or -1 with one line in
 * err. Unknown system call names are skipped (as runc does); notify
 * listeners are refused. */
int oci_seccomp_compile(json_t *seccomp, struct sock_filter **prog, size_t *len, char *err, size_t errlen);

#endif
