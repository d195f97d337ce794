/* An OCI bundle's config.json (runtime-spec 1.0-1.2), parsed and checked:
 * the runtime's only reader of that file (and tests/fuzz's fuzz_oci_spec).
 * Strings point into the parsed JSON, which the spec owns. */
#ifndef CV_OCI_SPEC_H
#define CV_OCI_SPEC_H

#include <containerv/containerv.h>

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define OCI_MAX_MOUNTS 128
#define OCI_MAX_HOOKS 16
#define OCI_MAX_PATHS 64
#define OCI_MAX_SYSCTL 64
#define OCI_MAX_IDMAPS 8

enum oci_ns {
    OCI_NS_PID,
    OCI_NS_NET,
    OCI_NS_MOUNT,
    OCI_NS_IPC,
    OCI_NS_UTS,
    OCI_NS_USER,
    OCI_NS_CGROUP,
    OCI_NS_COUNT
};

struct oci_mount {
    const char *destination, *type, *source;
    unsigned long flags; /* MS_* from the options */
    bool bind;           /* type "bind" or a "bind"/"rbind" option */
    unsigned long propagation; /* MS_SHARED, MS_SLAVE, MS_PRIVATE or MS_UNBINDABLE (| MS_REC), or 0 */
    bool tmpcopyup;      /* a tmpfs that starts with what the rootfs has there (podman --read-only) */
    char data[1024];     /* the options that are not flags, comma-separated */
};

struct oci_hook {
    const char *path;
    const char **args; /* NULL-terminated; NULL: {path} */
    const char **env;  /* NULL-terminated; NULL: empty */
    int timeout;       /* seconds, 0: none */
};

enum oci_hook_kind {
    OCI_HOOK_PRESTART,
    OCI_HOOK_CREATE_RUNTIME,
    OCI_HOOK_CREATE_CONTAINER,
    OCI_HOOK_START_CONTAINER,
    OCI_HOOK_POSTSTART,
    OCI_HOOK_POSTSTOP,
    OCI_HOOK_KINDS
};

struct oci_idmap {
    uint32_t container, host, size;
};

struct oci_spec {
    json_t *root;
    const char *version;
    /* process */
    bool has_process;
    bool terminal;
    unsigned short rows, cols;
    const char **args, **env; /* NULL-terminated */
    const char *cwd;
    uint32_t uid, gid;
    gid_t groups[64];
    size_t n_groups;
    bool has_umask;
    uint32_t umask;
    bool has_caps;
    uint64_t caps[5]; /* bounding, effective, permitted, inheritable, ambient */
    struct containerv_rlimit rlimits[16];
    size_t n_rlimits;
    bool no_new_privs;
    bool has_oom;
    int oom_score_adj;
    const char *apparmor, *selinux;
    /* root, names */
    const char *root_path;
    bool root_readonly;
    const char *hostname, *domainname;
    struct oci_mount mounts[OCI_MAX_MOUNTS];
    size_t n_mounts;
    struct oci_hook hooks[OCI_HOOK_KINDS][OCI_MAX_HOOKS];
    size_t n_hooks[OCI_HOOK_KINDS];
    /* linux */
    bool ns[OCI_NS_COUNT];
    const char *ns_path[OCI_NS_COUNT];
    struct oci_idmap uid_maps[OCI_MAX_IDMAPS], gid_maps[OCI_MAX_IDMAPS];
    size_t n_uid_maps, n_gid_maps;
    const char *sysctl_key[OCI_MAX_SYSCTL], *sysctl_value[OCI_MAX_SYSCTL];
    size_t n_sysctl;
    const char *masked[OCI_MAX_PATHS], *readonly[OCI_MAX_PATHS];
    size_t n_masked, n_readonly;
    bool has_masked, has_readonly;
    const char *rootfs_propagation, *cgroups_path, *mount_label;
    /* resources: 0 unset */
    int64_t memory_limit, memory_swap; /* -1: unlimited */
    int64_t memory_reservation;        /* -1: none */
    int swappiness;                    /* -1 or unset: the kernel's (2^64-1, what docker sends, is -1) */
    bool disable_oom_killer;
    uint64_t cpu_shares, cpu_period;
    bool cpu_quota_set; /* cpu.quota given (-1 then: no quota) */
    int64_t cpu_quota; /* -1 or unset: none */
    const char *cpus, *mems;
    bool rt_set;                       /* realtimeRuntime or realtimePeriod given */
    int64_t rt_runtime;                /* -1: no limit; CONTAINERV_RT_RUNTIME_KEEP: not given */
    uint64_t rt_period;                /* 0: the kernel's */
    int64_t pids_limit;
    json_t *devices;   /* linux.devices (nodes), or NULL */
    json_t *device_rules; /* linux.resources.devices (access rules), or NULL */
    json_t *seccomp;   /* linux.seccomp, or NULL */
    int personality;   /* linux.personality as personality(2)'s value, -1 when not given */
    json_t *annotations;
    size_t n_unknown_caps; /* names the kernel has no number for: ignored, as runc does */
    const char *unknown_cap;
    bool kernel_memory;    /* linux.resources.memory.kernel: deprecated, ignored */
    /* what the runtime cannot do, named for one clear error: NULL when none */
    const char *unsupported;
};

/* Parse config.json text. 0, or -1 with one line in err ("process.args:
 * expected an array of strings"). The spec must be freed either way. */
int oci_spec_parse(const char *text, size_t len, struct oci_spec *s, char *err, size_t errlen);
void oci_spec_free(struct oci_spec *s);
/* A LinuxResources object alone (runc update --resources): the resource
 * fields of *s, the rest zero; errors name the fields as linux.resources.*.
 * oci_spec_free frees it. */
int oci_resources_parse(const char *text, size_t len, struct oci_spec *s, char *err, size_t errlen);

/* Capability names (CAP_CHOWN ..) to numbers, -1 when unknown; and back. */
int oci_cap_number(const char *name);
const char *oci_cap_name(int cap);
/* "RLIMIT_NOFILE" to RLIMIT_NOFILE, -1 when unknown. */
int oci_rlimit_number(const char *name);
/* The mount options of a mount: flags and data (anything not a flag);
 * false with the bad option in *bad for propagation flags it refuses. */
bool oci_mount_options(struct oci_mount *m, json_t *options, const char **bad);

#endif
