/* The OCI runtime command line (runc's): see docs/oci.md. */
#ifndef CV_CLI_OCI_H
#define CV_CLI_OCI_H

#include "../oci/spec.h"
#include "cli.h"

#include <linux/filter.h>

#define OCI_DEFAULT_ROOT "/run/containerv-oci"

struct oci_ctx {
    const char *root;   /* --root: OCI state, <root>/<id>/ */
    char lib_dir[4200]; /* <root>/lib: the library's runtime dir */
    const char *log;    /* --log FILE, or NULL */
    bool log_json;      /* --log-format json */
    bool debug;
    uint64_t t0; /* when the command started (CLOCK_MONOTONIC), for --debug */
};

/* One line: "containerv: <msg>" on stderr, and in the --log file as text
 * or JSON (what conmon and containerd's shim read). */
void oci_error(const struct oci_ctx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void oci_warn(const struct oci_ctx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void oci_debug(const struct oci_ctx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* oci_build.c: config.json to the library's options and main process */
struct oci_build {
    struct containerv_options *opts;
    struct containerv_main_process main;
    struct sock_filter *filter;
    bool filter_cached; /* from <root>/seccomp/, not compiled now */
    /* what is done inside the container after create (oci_inside) */
    bool inside;
};
/* 0, or -1 after one error line naming what the runtime cannot do. */
int oci_build(const struct oci_ctx *x, const struct oci_spec *s, const char *bundle, struct oci_build *b);
void oci_build_free(struct oci_build *b);
/* linux.rootfsPropagation as mount(2) flags for "/" inside: 0 when it is
 * what the container has anyway, (unsigned long)-1 when unknown */
unsigned long oci_root_propagation(const struct oci_spec *s);
/* linux.resources' limits (memory, cpu, pids, cpusets, realtime) as the
 * library's options: for a new container (-1 or 0: unset) or for an update
 * (-1: lifted; 0 or absent: left). 0, or -1 after an error line. */
int oci_limit_options(const struct oci_ctx *x, const struct oci_spec *s, struct containerv_options *o, bool update);
/* Only the process part (for exec): b->main and b->filter. */
int oci_build_process(const struct oci_ctx *x, const struct oci_spec *s, struct oci_build *b);
/* In the container's namespaces (a child that setns's into them through
 * the init's pidfd): sysctl, domainname, devices, maskedPaths,
 * readonlyPaths, propagation, tmpcopyup (from rootfs, the host path). 0 or
 * -1 after an error line. */
int oci_inside(const struct oci_ctx *x, const struct oci_spec *s, const char *rootfs, int pidfd);

/* oci_hooks.c: run the hooks of a kind with the state JSON on stdin: on the
 * host (createContainer: in the network, ipc and uts namespaces of pidfd's
 * container), startContainer in container id as one of its processes. 0,
 * or -1 after an error line (the first failing hook stops the others). */
int oci_run_hooks(const struct oci_ctx *x, const struct oci_spec *s, enum oci_hook_kind kind, const char *state,
                  int pidfd, const char *id);

/* oci.c */
/* The config a container was created with (<root>/<id>/config.json). */
int oci_load_config(const struct oci_ctx *x, const char *id, struct oci_spec *s);
/* The terminal's master to a console socket (runc's protocol: SCM_RIGHTS
 * with the pty's name as the data). 0 or -1 after an error line. */
int oci_send_console(const struct oci_ctx *x, const char *sock, int master);
int oci_write_pid_file(const struct oci_ctx *x, const char *path, pid_t pid);
/* The status of container id ("created", "running", "paused", ...), or NULL when there is none. */
const char *oci_status(const struct oci_ctx *x, const char *id);
/* An id of a container: cv_valid_id, and not a name --root uses itself. */
bool oci_valid_id(const char *id);
/* --preserve-fds N: fds 3 .. 3+N-1 are the caller's (open). 0 or -1 after an error line. */
int oci_check_preserved(const struct oci_ctx *x, unsigned n);
/* -1 when argv is not an OCI runtime call (containerv's own CLI goes on),
 * else the exit code. */
int cli_oci_main(int argc, char **argv);

#endif
