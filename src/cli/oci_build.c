/* config.json onto the library: the container's options (rootfs in place,
 * namespaces and joins, id maps, mounts, limits) and its main process
 * (containerv_main_process), and what is done inside the container once it
 * exists (sysctl, domainname, maskedPaths, readonlyPaths). Whatever the
 * runtime cannot do is refused in one line naming it (docs/oci.md lists
 * what is supported). */
#include "oci.h"

#include "../linux/cgroup/cgroup.h"
#include "../oci/seccomp.h"

#include <dirent.h>
#include <errno.h>
#include <linux/openat2.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* the mounts the library's layout already makes, as a runtime-spec config
 * lists them (runc's `spec`): accepted as they are */
static bool builtin_mount(const struct oci_mount *m)
{
    static const struct {
        const char *dst, *type;
    } t[] = {
        {"/proc", "proc"}, {"/dev", "tmpfs"}, {"/dev/pts", "devpts"}, {"/dev/mqueue", "mqueue"},
        {"/sys", "sysfs"}, {"/sys/fs/cgroup", "cgroup"}, {"/sys/fs/cgroup", "cgroup2"},
    };
    if (m->bind || !m->type)
        return false;
    /* the library's /dev/shm is a 64 MiB tmpfs (mode 1777), as Docker's */
    if (!strcmp(m->destination, "/dev/shm") && !strcmp(m->type, "tmpfs")) {
        const char *size = strstr(m->data, "size=");
        return !size || !strncmp(size, "size=65536k", 11) || !strncmp(size, "size=64m", 8);
    }
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        if (!strcmp(m->destination, t[i].dst) && !strcmp(m->type, t[i].type))
            return true;
    return false;
}

/* What a mount's propagation option asks that the container's namespace
 * does not already give: every mount is private there (and slave stays
 * private: nothing to be a slave of), and the library's own mounts keep
 * theirs. */
static unsigned long mount_propagation(const struct oci_mount *m)
{
    if (builtin_mount(m) || !m->propagation || (m->propagation & (MS_PRIVATE | MS_SLAVE)))
        return 0;
    return m->propagation;
}

static int add_mounts(const struct oci_ctx *x, const struct oci_spec *s, const char *bundle,
                      struct containerv_options *o)
{
    for (size_t i = 0; i < s->n_mounts; i++) {
        const struct oci_mount *m = &s->mounts[i];
        int r;
        if (!strcmp(m->destination, "/sys/fs/cgroup") && builtin_mount(m)) {
            /* the container's own cgroup, read-only, where cgroup v2 and
             * a cgroup namespace make that one mount (what a JVM or Go's
             * runtime read their limits from); on v1 there is none
             * (docs/oci.md) */
            if (cv_cgroup_mode() == CV_CGROUP_V2 && s->ns[OCI_NS_CGROUP] &&
                containerv_options_add_mount(o, "cgroup2", "cgroup", m->destination,
                                             m->flags | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
                oci_error(x, "mounts[%zu] (%s): cannot add the cgroup2 mount", i, m->destination);
                return -1;
            }
            continue;
        }
        if (builtin_mount(m))
            continue;
        if (m->bind) {
            char src[PATH_MAX];
            if (m->source[0] == '/')
                snprintf(src, sizeof(src), "%s", m->source);
            else
                snprintf(src, sizeof(src), "%s/%s", bundle, m->source);
            r = containerv_options_add_bind(o, src, m->destination, m->flags & MS_RDONLY);
        } else {
            r = containerv_options_add_mount(o, m->type, m->source, m->destination, m->flags,
                                             m->data[0] ? m->data : NULL);
        }
        if (r == -EOPNOTSUPP) {
            oci_error(x, "mounts[%zu] (%s): type '%s' is not supported (bind, tmpfs, proc, sysfs, mqueue, devpts, "
                         "cgroup2 are)", i, m->destination, m->type);
            return -1;
        }
        if (r < 0) {
            oci_error(x, "mounts[%zu] (%s): %s", i, m->destination,
                      r == -E2BIG ? "too many mounts" : "flags or options the runtime cannot apply");
            return -1;
        }
    }
    return 0;
}

static int add_namespaces(const struct oci_ctx *x, const struct oci_spec *s, struct containerv_options *o)
{
    if (!s->ns[OCI_NS_MOUNT]) {
        oci_error(x, "linux.namespaces: a container of this runtime has its own mount namespace; the config shares "
                     "the host's");
        return -1;
    }
    static const struct {
        enum oci_ns oci;
        const char *name;
    } fixed[] = {{OCI_NS_MOUNT, "mount"}, {OCI_NS_USER, "user"}, {OCI_NS_CGROUP, "cgroup"}};
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        if (s->ns_path[fixed[i].oci]) {
            oci_error(x,
                      "linux.namespaces: joining a %s namespace (%s) is not supported; network, ipc, uts and pid are",
                      fixed[i].name, s->ns_path[fixed[i].oci]);
            return -1;
        }
    /* no pid namespace: the host's (hostPID); one with a path: joined */
    unsigned mask = CONTAINERV_NS_MOUNT;
    mask |= s->ns[OCI_NS_PID] ? CONTAINERV_NS_PID : 0;
    mask |= s->ns[OCI_NS_IPC] ? CONTAINERV_NS_IPC : 0;
    mask |= s->ns[OCI_NS_UTS] ? CONTAINERV_NS_UTS : 0;
    mask |= s->ns[OCI_NS_NET] ? CONTAINERV_NS_NET : 0;
    mask |= s->ns[OCI_NS_CGROUP] ? CONTAINERV_NS_CGROUP : 0;
    if (s->ns[OCI_NS_USER] && (!s->n_uid_maps || !s->n_gid_maps)) {
        oci_error(x, "linux.namespaces: a user namespace needs linux.uidMappings and linux.gidMappings");
        return -1;
    }
    if (!s->ns[OCI_NS_USER] && (s->n_uid_maps || s->n_gid_maps)) {
        oci_error(x, "linux.uidMappings: id mappings without a user namespace");
        return -1;
    }
    if (containerv_options_set_namespaces(o, mask) < 0) {
        oci_error(x, "linux.namespaces: refused by the library");
        return -1;
    }
    static const struct {
        enum oci_ns oci;
        unsigned cv;
    } joins[] = {{OCI_NS_NET, CONTAINERV_NS_NET},
                 {OCI_NS_IPC, CONTAINERV_NS_IPC},
                 {OCI_NS_UTS, CONTAINERV_NS_UTS},
                 {OCI_NS_PID, CONTAINERV_NS_PID}};
    for (size_t i = 0; i < sizeof(joins) / sizeof(joins[0]); i++)
        if (s->ns_path[joins[i].oci] && containerv_options_join_namespace(o, joins[i].cv, s->ns_path[joins[i].oci]) < 0) {
            oci_error(x, "linux.namespaces: cannot join '%s'", s->ns_path[joins[i].oci]);
            return -1;
        }
    for (size_t i = 0; i < s->n_uid_maps; i++)
        if (containerv_options_add_uid_map(o, s->uid_maps[i].container, s->uid_maps[i].host, s->uid_maps[i].size) < 0) {
            oci_error(x, "linux.uidMappings[%zu]: refused (overlapping, or too many)", i);
            return -1;
        }
    for (size_t i = 0; i < s->n_gid_maps; i++)
        if (containerv_options_add_gid_map(o, s->gid_maps[i].container, s->gid_maps[i].host, s->gid_maps[i].size) < 0) {
            oci_error(x, "linux.gidMappings[%zu]: refused (overlapping, or too many)", i);
            return -1;
        }
    return 0;
}

/* After the config's device rules, what runc and crun allow in every
 * container whatever the config says (so that a "deny all" first rule, as
 * podman's and containerd's configs have, leaves the devices every
 * container has): mknod of any node, the devices containerv makes in /dev,
 * the terminal's, tun; and the nodes of linux.devices. */
static int add_default_device_rules(const struct oci_ctx *x, const struct oci_spec *s, struct containerv_options *o)
{
    if (containerv_options_add_default_device_rules(o) < 0) {
        oci_error(x, "linux.resources.devices: too many rules");
        return -1;
    }
    size_t i;
    json_t *d;
    json_array_foreach(s->devices, i, d) {
        const char *type = json_string_value(json_object_get(d, "type"));
        json_t *ma = json_object_get(d, "major"), *mi = json_object_get(d, "minor");
        if (!type || (type[0] != 'c' && type[0] != 'b' && type[0] != 'u') || !json_is_integer(ma) || !json_is_integer(mi))
            continue; /* a fifo, or checked and refused elsewhere */
        if (containerv_options_add_device_rule(o, true, type[0] == 'b' ? 'b' : 'c', json_integer_value(ma),
                                               json_integer_value(mi), "rwm") < 0) {
            oci_error(x, "linux.devices[%zu]: its access rule is refused", i);
            return -1;
        }
    }
    return 0;
}

int oci_limit_options(const struct oci_ctx *x, const struct oci_spec *s, struct containerv_options *o, bool update)
{
    /* a value of -1: unset for a new container, lifted by an update */
#define LIMIT(v) ((v) < 0 ? CONTAINERV_UNLIMITED : (uint64_t)(v))
#define GIVEN(v) (update ? (v) != 0 : (v) > 0)
    if (GIVEN(s->memory_limit) && containerv_options_set_memory_limit(o, LIMIT(s->memory_limit)) < 0) {
        oci_error(x, "linux.resources.memory.limit: %lld is refused", (long long)s->memory_limit);
        return -1;
    }
    if (GIVEN(s->memory_swap)) {
        /* a new container's needs its memory limit in the config; an update's is checked against the one in force */
        if (!update && (s->memory_limit <= 0 || s->memory_swap < s->memory_limit)) {
            oci_error(x, "linux.resources.memory.swap: %lld needs a memory limit at most that (it is memory + swap)",
                      (long long)s->memory_swap);
            return -1;
        }
        if (containerv_options_set_memory_swap_limit(o, LIMIT(s->memory_swap)) < 0) {
            oci_error(x, "linux.resources.memory.swap: %lld is refused", (long long)s->memory_swap);
            return -1;
        }
    }
    if (GIVEN(s->memory_reservation) && containerv_options_set_memory_reservation(o, LIMIT(s->memory_reservation)) < 0) {
        oci_error(x, "linux.resources.memory.reservation: %lld is refused", (long long)s->memory_reservation);
        return -1;
    }
    if (s->swappiness >= 0)
        containerv_options_set_memory_swappiness(o, s->swappiness);
    if (s->cpu_shares) /* as given on v1, converted as runc does on v2 */
        containerv_options_set_cpu_shares(o, s->cpu_shares < 2 ? 2 : s->cpu_shares);
    /* a new container's period only with a quota; an update's either alone keeps the other */
    if (update ? s->cpu_quota_set || s->cpu_period : s->cpu_quota > 0) {
        uint64_t quota = update && !s->cpu_quota_set ? 0 : LIMIT(s->cpu_quota);
        if (containerv_options_set_cpu_quota(o, quota, s->cpu_period) < 0) {
            oci_error(x, "linux.resources.cpu: quota %lld per period %llu is refused", (long long)s->cpu_quota,
                      (unsigned long long)s->cpu_period);
            return -1;
        }
    }
    if (GIVEN(s->pids_limit) && containerv_options_set_pids_limit(o, LIMIT(s->pids_limit)) < 0) {
        oci_error(x, "linux.resources.pids.limit: %lld is refused", (long long)s->pids_limit);
        return -1;
    }
#undef GIVEN
#undef LIMIT
    if (s->cpus && *s->cpus && containerv_options_set_cpuset_cpus(o, s->cpus) < 0) {
        oci_error(x, "linux.resources.cpu.cpus: '%s' is not a CPU list", s->cpus);
        return -1;
    }
    if (s->mems && *s->mems && containerv_options_set_cpuset_mems(o, s->mems) < 0) {
        oci_error(x, "linux.resources.cpu.mems: '%s' is not a node list", s->mems);
        return -1;
    }
    if (s->rt_set && containerv_options_set_cpu_realtime(o, s->rt_runtime, s->rt_period) < 0) {
        oci_error(x, "linux.resources.cpu: realtime runtime %lld per period %llu is refused", (long long)s->rt_runtime,
                  (unsigned long long)s->rt_period);
        return -1;
    }
    return 0;
}

static int add_resources(const struct oci_ctx *x, const struct oci_spec *s, struct containerv_options *o)
{
    if (oci_limit_options(x, s, o, false) < 0)
        return -1;
    if (s->disable_oom_killer)
        containerv_options_set_oom_kill_disable(o, true);
    size_t i;
    json_t *d;
    json_array_foreach(s->device_rules, i, d) { /* checked by the parser */
        json_t *ma = json_object_get(d, "major"), *mi = json_object_get(d, "minor");
        const char *type = json_string_value(json_object_get(d, "type"));
        int r = containerv_options_add_device_rule(o, json_is_true(json_object_get(d, "allow")), type ? type[0] : 'a',
                                                   ma ? (int64_t)json_integer_value(ma) : -1,
                                                   mi ? (int64_t)json_integer_value(mi) : -1,
                                                   json_string_value(json_object_get(d, "access")));
        if (r < 0) {
            oci_error(x, "linux.resources.devices[%zu]: refused: %s", i, strerror(-r));
            return -1;
        }
    }
    if (json_array_size(s->device_rules) && add_default_device_rules(x, s, o) < 0)
        return -1;
    if (s->cgroups_path && *s->cgroups_path) {
        const char *why = cv_cgroup_path_invalid(s->cgroups_path);
        if (why || containerv_options_set_cgroup_path(o, s->cgroups_path) < 0) {
            oci_error(x, "linux.cgroupsPath: '%s' is refused: %s", s->cgroups_path, why ? why : "out of memory");
            return -1;
        }
    }
    return 0;
}

/* linux.sysctl: only the namespaced ones, and only with the namespace
 * (as runc checks): any other would be written for the whole host */
static int check_sysctl(const struct oci_ctx *x, const struct oci_spec *s)
{
    for (size_t i = 0; i < s->n_sysctl; i++) {
        const char *k = s->sysctl_key[i];
        bool ipc = !strncmp(k, "kernel.shm", 10) || !strncmp(k, "kernel.msg", 10) || !strcmp(k, "kernel.sem") ||
                   !strncmp(k, "fs.mqueue.", 10);
        bool net = !strncmp(k, "net.", 4);
        bool uts = !strcmp(k, "kernel.hostname") || !strcmp(k, "kernel.domainname");
        const char *need = ipc ? "ipc" : net ? "network" : uts ? "uts" : NULL;
        if (!need) {
            oci_error(x, "linux.sysctl: '%s' is not namespaced (it would change the host)", k);
            return -1;
        }
        if (!s->ns[ipc ? OCI_NS_IPC : net ? OCI_NS_NET : OCI_NS_UTS]) {
            oci_error(x, "linux.sysctl: '%s' needs a %s namespace of the container's", k, need);
            return -1;
        }
    }
    return 0;
}

/* linux.devices: made inside the container (oci_inside) */
static int check_devices(const struct oci_ctx *x, const struct oci_spec *s)
{
    json_t *d;
    size_t i;
    json_array_foreach(s->devices, i, d) {
        const char *path = json_string_value(json_object_get(d, "path"));
        const char *type = json_string_value(json_object_get(d, "type"));
        if (!path || path[0] != '/' || strstr(path, "..") || !type ||
            (strcmp(type, "c") && strcmp(type, "b") && strcmp(type, "u") && strcmp(type, "p"))) {
            oci_error(x, "linux.devices[%zu]: want an absolute path and a type c, b, u or p", i);
            return -1;
        }
        if (strncmp(path, "/dev/", 5) != 0) {
            oci_error(x, "linux.devices[%zu] (%s): device nodes are made under /dev only", i, path);
            return -1;
        }
    }
    return 0;
}

/* ------------------------------------------------------------ seccomp cache */

/* A compiled profile costs milliseconds (podman's: 2.5 ms here): the
 * programs are kept under <root>/seccomp/, each file named by a hash of the
 * profile's canonical JSON and holding that text (compared whole: a hash
 * collision is a miss, never another profile's program) and the program. */
#define CACHE_MAGIC "containerv-seccomp-1\n"

static uint64_t fnv1a(const char *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
    return h;
}

static int cache_path(const struct oci_ctx *x, const char *key, size_t n, char *path, size_t size)
{
    int k = snprintf(path, size, "%s/seccomp/%016llx.bpf", x->root, (unsigned long long)fnv1a(key, n));
    return k < 0 || (size_t)k >= size ? -1 : 0;
}

static bool seccomp_cached(const struct oci_ctx *x, json_t *profile, struct sock_filter **prog, size_t *len)
{
    char *key = json_dumps(profile, JSON_COMPACT | JSON_SORT_KEYS), path[PATH_MAX];
    bool hit = false;
    if (!key)
        return false;
    size_t n = strlen(key), magic = strlen(CACHE_MAGIC);
    int fd = cache_path(x, key, n, path, sizeof(path)) < 0 ? -1 : open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
        (size_t)st.st_size > magic + n && (size_t)st.st_size <= magic + n + 4096 * sizeof(struct sock_filter)) {
        char *buf = malloc((size_t)st.st_size);
        size_t bytes = (size_t)st.st_size - magic - n;
        if (buf && pread(fd, buf, (size_t)st.st_size, 0) == st.st_size && !memcmp(buf, CACHE_MAGIC, magic) &&
            !memcmp(buf + magic, key, n) && bytes % sizeof(struct sock_filter) == 0 && (*prog = malloc(bytes))) {
            memcpy(*prog, buf + magic + n, bytes);
            *len = bytes / sizeof(struct sock_filter);
            hit = true;
        }
        free(buf);
    }
    if (fd >= 0)
        close(fd);
    oci_debug(x, "seccomp: %s %s", hit ? "cached program" : "compiling, no cached program in", path);
    free(key);
    return hit;
}

static void seccomp_store(const struct oci_ctx *x, json_t *profile, const struct sock_filter *prog, size_t len)
{
    char *key = json_dumps(profile, JSON_COMPACT | JSON_SORT_KEYS), path[PATH_MAX], tmp[PATH_MAX + 32], dir[PATH_MAX];
    if (!key)
        return;
    size_t n = strlen(key);
    snprintf(dir, sizeof(dir), "%s/seccomp", x->root);
    if ((mkdir(dir, 0700) == 0 || errno == EEXIST) && cache_path(x, key, n, path, sizeof(path)) == 0) {
        snprintf(tmp, sizeof(tmp), "%s.tmp-%d", path, (int)getpid());
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        bool ok = fd >= 0 && write(fd, CACHE_MAGIC, strlen(CACHE_MAGIC)) == (ssize_t)strlen(CACHE_MAGIC) &&
                  write(fd, key, n) == (ssize_t)n &&
                  write(fd, prog, len * sizeof(*prog)) == (ssize_t)(len * sizeof(*prog));
        if (fd >= 0 && close(fd) < 0)
            ok = false;
        if (!ok || rename(tmp, path) < 0)
            unlink(tmp); /* a cache: a failure only costs the next compile */
    }
    free(key);
}

int oci_build_process(const struct oci_ctx *x, const struct oci_spec *s, struct oci_build *b)
{
    struct containerv_main_process *p = &b->main;
    static const char *const no_env[] = {NULL};
    containerv_main_process_init(p);
    p->argv = s->args;
    p->env = s->env ? s->env : no_env; /* no env: an empty environment, as the spec has it */
    p->cwd = s->cwd;
    p->uid = s->uid;
    p->gid = s->gid;
    p->groups = s->groups;
    p->n_groups = s->n_groups;
    p->tty = s->terminal;
    p->rows = s->rows;
    p->cols = s->cols;
    p->set_caps = true; /* no capabilities in the config: none, as runc gives */
    p->caps_bounding = s->caps[0];
    p->caps_effective = s->caps[1];
    p->caps_permitted = s->caps[2];
    p->caps_inheritable = s->caps[3];
    p->caps_ambient = s->caps[4];
    p->rlimits = s->rlimits;
    p->n_rlimits = s->n_rlimits;
    p->no_new_privs = s->no_new_privs;
    p->umask = s->has_umask ? (int)s->umask : -1;
    p->set_oom_score_adj = s->has_oom;
    p->oom_score_adj = s->oom_score_adj;
    p->personality = s->personality;
    if (s->seccomp) {
        char err[256];
        size_t len = 0;
        b->filter_cached = seccomp_cached(x, s->seccomp, &b->filter, &len);
        if (!b->filter_cached &&
            oci_seccomp_compile(s->seccomp, &b->filter, &len, err, sizeof(err)) < 0) {
            oci_error(x, "%s", err);
            return -1;
        }
        if (!b->filter_cached)
            seccomp_store(x, s->seccomp, b->filter, len);
        p->seccomp_filter = b->filter;
        p->seccomp_len = len;
    }
    return 0;
}

int oci_build(const struct oci_ctx *x, const struct oci_spec *s, const char *bundle, struct oci_build *b)
{
    memset(b, 0, sizeof(*b));
    if (s->unsupported) {
        oci_error(x, "config.json: %s is not supported", s->unsupported);
        return -1;
    }
    if (!s->has_process) {
        oci_error(x, "config.json: no process to run");
        return -1;
    }
    if ((s->apparmor && *s->apparmor) || (s->selinux && *s->selinux) || (s->mount_label && *s->mount_label)) {
        oci_error(x, "config.json: %s is not supported (this runtime has no LSM support)",
                  s->apparmor && *s->apparmor ? "process.apparmorProfile" : "an SELinux label");
        return -1;
    }
    if (oci_root_propagation(s) == (unsigned long)-1) {
        oci_error(x, "linux.rootfsPropagation: unknown '%s'", s->rootfs_propagation);
        return -1;
    }
    if (s->n_unknown_caps)
        oci_warn(x, "process.capabilities: ignoring %zu unknown capabilities ('%s')", s->n_unknown_caps, s->unknown_cap);
    if (s->kernel_memory)
        oci_warn(x, "linux.resources.memory.kernel: deprecated; ignored");
    if (check_devices(x, s) < 0 || check_sysctl(x, s) < 0)
        return -1;
    struct containerv_options *o = b->opts = containerv_options_new();
    if (!o) {
        oci_error(x, "out of memory");
        return -1;
    }
    char root[PATH_MAX];
    if (s->root_path[0] == '/')
        snprintf(root, sizeof(root), "%s", s->root_path);
    else
        snprintf(root, sizeof(root), "%s/%s", bundle, s->root_path);
    unsigned relax = CONTAINERV_RELAX_CAPS | CONTAINERV_RELAX_NO_NEW_PRIVS | CONTAINERV_RELAX_SECCOMP;
    /* the config's lists, applied by the child as the library's defaults
     * are; with sysctl the read-only paths wait until they are written
     * (inside): /proc/sys is one of them */
    const char *list[OCI_MAX_PATHS + 1];
    for (size_t i = 0; i < s->n_masked; i++)
        list[i] = s->masked[i];
    list[s->n_masked] = NULL;
    if (containerv_options_set_masked_paths(o, list) < 0) {
        oci_error(x, "linux.maskedPaths: refused");
        return -1;
    }
    if (s->n_sysctl) {
        relax |= CONTAINERV_RELAX_READONLY_PATHS;
    } else {
        for (size_t i = 0; i < s->n_readonly; i++)
            list[i] = s->readonly[i];
        list[s->n_readonly] = NULL;
        if (containerv_options_set_readonly_paths(o, list) < 0) {
            oci_error(x, "linux.readonlyPaths: refused");
            return -1;
        }
    }
    bool props = oci_root_propagation(s) != 0;
    for (size_t i = 0; i < s->n_mounts; i++)
        props |= mount_propagation(&s->mounts[i]) != 0;
    for (size_t i = 0; i < s->n_mounts; i++)
        props |= s->mounts[i].tmpcopyup;
    b->inside = s->n_sysctl || (s->domainname && *s->domainname) || props ||
                (s->devices && json_array_size(s->devices)) || (s->hostname && *s->hostname && s->ns_path[OCI_NS_UTS]);
    if (containerv_options_set_rootfs(o, root) < 0 || containerv_options_set_rootfs_writable(o, !s->root_readonly) < 0 ||
        containerv_options_set_read_only(o, s->root_readonly) < 0 || containerv_options_set_tmp_tmpfs(o, false) < 0 ||
        containerv_options_set_runtime_dir(o, x->lib_dir) < 0 || containerv_options_set_die_with_parent(o, false) < 0 ||
        containerv_options_set_exact_mount_order(o, true) < 0) {
        oci_error(x, "root.path: '%s' is refused", root);
        return -1;
    }
    if (s->hostname && *s->hostname) {
        if (!s->ns[OCI_NS_UTS]) {
            oci_error(x, "hostname: needs a uts namespace (the host's is not changed)");
            return -1;
        }
        /* a joined one gets it inside, as runc sets it (oci_inside) */
        if (!s->ns_path[OCI_NS_UTS] && containerv_options_set_hostname(o, s->hostname) < 0) {
            oci_error(x, "hostname: '%s' is not a valid host name", s->hostname);
            return -1;
        }
    }
    if (s->domainname && *s->domainname && !s->ns[OCI_NS_UTS]) {
        oci_error(x, "domainname: needs a uts namespace (the host's is not changed)");
        return -1;
    }
    if (add_namespaces(x, s, o) < 0 || add_mounts(x, s, bundle, o) < 0 || add_resources(x, s, o) < 0)
        return -1;
    /* the container's defaults, for exec */
    if (s->cwd && containerv_options_set_workdir(o, s->cwd) < 0) {
        oci_error(x, "process.cwd: '%s' is refused", s->cwd);
        return -1;
    }
    containerv_options_set_user(o, s->uid, s->gid);
    if (containerv_options_set_relax(o, relax) < 0) {
        oci_error(x, "internal: relax %#x refused", relax);
        return -1;
    }
    if (x->debug)
        containerv_options_set_trace(o, cli_trace_debug, NULL);
    return oci_build_process(x, s, b);
}

unsigned long oci_root_propagation(const struct oci_spec *s)
{
    const char *p = s->rootfs_propagation;
    if (!p || !*p || !strcmp(p, "private") || !strcmp(p, "rprivate"))
        return 0; /* what the container's mount namespace has */
    if (!strcmp(p, "shared") || !strcmp(p, "rshared"))
        return MS_SHARED | MS_REC;
    /* a slave needs a master: the library's namespace has none to offer
     * (docs/oci.md), so slave stays private */
    if (!strcmp(p, "slave") || !strcmp(p, "rslave"))
        return 0;
    if (!strcmp(p, "unbindable") || !strcmp(p, "runbindable"))
        return MS_UNBINDABLE | MS_REC;
    return (unsigned long)-1;
}

void oci_build_free(struct oci_build *b)
{
    containerv_options_free(b->opts);
    free(b->filter);
    memset(b, 0, sizeof(*b));
}

/* ------------------------------------------------------------ inside */

static int write_sysctl(const char *key, const char *value)
{
    char path[PATH_MAX] = "/proc/sys/";
    size_t off = strlen(path);
    for (const char *k = key; *k && off + 1 < sizeof(path); k++)
        path[off++] = *k == '.' ? '/' : *k;
    path[off] = '\0';
    int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return -errno;
    ssize_t n = write(fd, value, strlen(value));
    int e = errno;
    close(fd);
    return n == (ssize_t)strlen(value) ? 0 : n < 0 ? -e : -EIO;
}

static int readonly_path(const char *path)
{
    if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0)
        return errno == ENOENT ? 0 : -errno;
    /* keep the flags the mount has (a user namespace may not drop them) */
    unsigned long keep = MS_NOSUID | MS_NODEV | MS_NOEXEC;
    if (mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | keep, NULL) < 0 &&
        mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
        return -errno;
    return 0;
}

static int make_device(json_t *d)
{
    const char *path = json_string_value(json_object_get(d, "path"));
    const char *type = json_string_value(json_object_get(d, "type"));
    json_t *mode = json_object_get(d, "fileMode"), *uid = json_object_get(d, "uid"), *gid = json_object_get(d, "gid");
    mode_t m = json_is_integer(mode) ? (mode_t)json_integer_value(mode) & 07777 : 0666;
    mode_t kind = type[0] == 'b' ? S_IFBLK : type[0] == 'p' ? S_IFIFO : S_IFCHR;
    dev_t dev = makedev((unsigned)json_integer_value(json_object_get(d, "major")),
                        (unsigned)json_integer_value(json_object_get(d, "minor")));
    /* the parent directories, then the node (an existing one is replaced) */
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", path);
    for (char *p = dir + 5; (p = strchr(p, '/')); p++) {
        *p = '\0';
        if (mkdir(dir, 0755) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    unlink(path);
    if (mknod(path, kind | m, kind == S_IFIFO ? 0 : dev) < 0)
        return -errno;
    if (chmod(path, m) < 0) /* not the umask's */
        return -errno;
    if ((json_is_integer(uid) || json_is_integer(gid)) &&
        chown(path, json_is_integer(uid) ? (uid_t)json_integer_value(uid) : (uid_t)-1,
              json_is_integer(gid) ? (gid_t)json_integer_value(gid) : (gid_t)-1) < 0)
        return -errno;
    return 0;
}

/* tmpcopyup: what the rootfs has below a tmpfs's mount point, copied into
 * it (files, directories, symlinks, fifos; owners and modes), never
 * following a link out */
static int copy_tree(int src, int dst, int depth)
{
    if (depth > 64)
        return -ELOOP;
    int dfd = dup(src);
    DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
    if (!d) {
        if (dfd >= 0)
            close(dfd);
        return -errno;
    }
    int r = 0;
    struct dirent *e;
    while (r == 0 && (e = readdir(d))) {
        const char *n = e->d_name;
        struct stat st;
        if (!strcmp(n, ".") || !strcmp(n, ".."))
            continue;
        if (fstatat(src, n, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            r = -errno;
            break;
        }
        mode_t mode = st.st_mode & 07777;
        if (S_ISDIR(st.st_mode)) {
            int s2 = openat(src, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), d2 = -1;
            if (s2 < 0 || (mkdirat(dst, n, 0700) < 0 && errno != EEXIST) ||
                (d2 = openat(dst, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
                r = -errno;
            else
                r = copy_tree(s2, d2, depth + 1);
            if (s2 >= 0)
                close(s2);
            if (d2 >= 0)
                close(d2);
        } else if (S_ISREG(st.st_mode)) {
            int in = openat(src, n, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
            int out = in < 0 ? -1 : openat(dst, n, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
            if (in < 0 || out < 0)
                r = -errno;
            char buf[65536];
            ssize_t k;
            while (r == 0 && (k = read(in, buf, sizeof(buf))) != 0) {
                if (k < 0 || write(out, buf, (size_t)k) != k)
                    r = -(errno ? errno : EIO);
            }
            if (in >= 0)
                close(in);
            if (out >= 0)
                close(out);
        } else if (S_ISLNK(st.st_mode)) {
            char target[PATH_MAX];
            ssize_t k = readlinkat(src, n, target, sizeof(target) - 1);
            if (k < 0)
                r = -errno;
            else {
                target[k] = '\0';
                if (symlinkat(target, dst, n) < 0)
                    r = -errno;
            }
        } else if (S_ISFIFO(st.st_mode)) {
            if (mknodat(dst, n, S_IFIFO | 0600, 0) < 0)
                r = -errno;
        } else {
            continue; /* device nodes and sockets are not copied */
        }
        if (r == 0 && fchownat(dst, n, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
            r = -errno;
        if (r == 0 && !S_ISLNK(st.st_mode) && fchmodat(dst, n, mode, 0) < 0)
            r = -errno;
    }
    closedir(d);
    return r;
}

/* the directories tmpcopyup copies from, opened in the rootfs on the host
 * before entering the container (-1: nothing there) */
static int copyup_src[OCI_MAX_MOUNTS];

static void open_copyup_sources(const struct oci_spec *s, const char *rootfs)
{
    int root = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
    for (size_t i = 0; i < s->n_mounts; i++) {
        copyup_src[i] = -1;
        if (!s->mounts[i].tmpcopyup || root < 0)
            continue;
        struct open_how how = {.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
                               .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
        copyup_src[i] = (int)syscall(SYS_openat2, root, s->mounts[i].destination, &how, sizeof(how));
    }
    if (root >= 0)
        close(root);
}

/* in the child: 0 or the failing step in *what with -errno */
static int inside_work(const struct oci_spec *s, char *what, size_t n)
{
    int r;
    if (s->hostname && *s->hostname && s->ns_path[OCI_NS_UTS] && sethostname(s->hostname, strlen(s->hostname)) < 0) {
        snprintf(what, n, "hostname: '%s'", s->hostname);
        return -errno;
    }
    if (s->devices && json_array_size(s->devices)) {
        /* the library's /dev is read-only: writable while the nodes are made */
        if (mount(NULL, "/dev", NULL, MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NOEXEC, NULL) < 0) {
            snprintf(what, n, "linux.devices: /dev");
            return -errno;
        }
        json_t *d;
        size_t i;
        json_array_foreach(s->devices, i, d) if ((r = make_device(d)) < 0)
        {
            snprintf(what, n, "linux.devices[%zu]: %s", i, json_string_value(json_object_get(d, "path")));
            return r;
        }
        if (mount(NULL, "/dev", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NOEXEC, NULL) < 0) {
            snprintf(what, n, "linux.devices: /dev read-only again");
            return -errno;
        }
    }
    for (size_t i = 0; i < s->n_mounts; i++)
        if (mount_propagation(&s->mounts[i]) &&
            mount(NULL, s->mounts[i].destination, NULL, mount_propagation(&s->mounts[i]), NULL) < 0) {
            snprintf(what, n, "mounts[%zu] (%s): propagation", i, s->mounts[i].destination);
            return -errno;
        }
    for (size_t i = 0; i < s->n_mounts; i++) {
        if (copyup_src[i] < 0)
            continue;
        int dst = open(s->mounts[i].destination, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        r = dst < 0 ? -errno : copy_tree(copyup_src[i], dst, 0);
        if (dst >= 0)
            close(dst);
        if (r < 0) {
            snprintf(what, n, "mounts[%zu] (%s): tmpcopyup", i, s->mounts[i].destination);
            return r;
        }
    }
    unsigned long rp = oci_root_propagation(s);
    if (rp && mount(NULL, "/", NULL, rp, NULL) < 0) {
        snprintf(what, n, "linux.rootfsPropagation: %s", s->rootfs_propagation);
        return -errno;
    }
    for (size_t i = 0; i < s->n_sysctl; i++)
        if ((r = write_sysctl(s->sysctl_key[i], s->sysctl_value[i])) < 0) {
            snprintf(what, n, "linux.sysctl: %s = %s", s->sysctl_key[i], s->sysctl_value[i]);
            return r;
        }
    if (s->domainname && *s->domainname && setdomainname(s->domainname, strlen(s->domainname)) < 0) {
        snprintf(what, n, "domainname: '%s'", s->domainname);
        return -errno;
    }
    /* sysctl made the library leave the read-only paths to this step:
     * the config's list */
    size_t nro = s->n_sysctl ? s->n_readonly : 0;
    for (size_t i = 0; i < nro; i++) {
        const char *p = s->readonly[i];
        if ((r = readonly_path(p)) < 0) {
            snprintf(what, n, "linux.readonlyPaths: %s", p);
            return r;
        }
    }
    return 0;
}

int oci_inside(const struct oci_ctx *x, const struct oci_spec *s, const char *rootfs, int pidfd)
{
    open_copyup_sources(s, rootfs);
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) < 0) {
        oci_error(x, "pipe: %s", strerror(errno));
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        oci_error(x, "fork: %s", strerror(errno));
        close(pfd[0]);
        close(pfd[1]);
        return -1;
    }
    if (pid == 0) {
        close(pfd[0]);
        char what[256] = "setns";
        int r = setns(pidfd, CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS) < 0 ? -errno : 0;
        if (r == 0)
            r = inside_work(s, what, sizeof(what));
        if (r < 0) {
            char msg[320];
            int len = snprintf(msg, sizeof(msg), "%s: %s", what, strerror(-r));
            if (write(pfd[1], msg, (size_t)len) < 0)
                _exit(2);
            _exit(1);
        }
        _exit(0);
    }
    close(pfd[1]);
    for (size_t i = 0; i < s->n_mounts; i++)
        if (copyup_src[i] >= 0)
            close(copyup_src[i]);
    char msg[320];
    ssize_t n = read(pfd[0], msg, sizeof(msg) - 1);
    close(pfd[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        msg[n > 0 ? n : 0] = '\0';
        oci_error(x, "%s", n > 0 ? msg : "setting up inside the container failed");
        return -1;
    }
    return 0;
}
