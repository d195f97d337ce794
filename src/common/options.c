/* Container options: validated as they are set, so that create meets only
 * well-formed values. */
#include "internal.h"

#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>

struct containerv_options *containerv_options_new(void)
{
    struct containerv_options *o = calloc(1, sizeof(*o));
    if (!o)
        return NULL;
    o->namespaces = CONTAINERV_NS_DEFAULT;
    o->die_with_parent = true;
    return o;
}

void containerv_options_free(struct containerv_options *o)
{
    if (!o)
        return;
    free(o->rootfs);
    for (int i = 0; i < o->n_lowers; i++)
        free(o->lowers[i]);
    free(o->hostname);
    for (int i = 0; i < o->n_env; i++)
        free(o->env[i]);
    free(o->workdir);
    for (int i = 0; i < o->n_binds; i++) {
        free(o->binds[i].src);
        free(o->binds[i].dst);
        free(o->binds[i].fstype);
        free(o->binds[i].data);
    }
    for (int i = 0; i < o->n_masked; i++)
        free(o->masked[i]);
    for (int i = 0; i < o->n_readonly; i++)
        free(o->readonly[i]);
    free(o->runtime_dir);
    for (int i = 0; i < CV_JOIN_SLOTS; i++)
        free(o->join_ns[i]);
    free(o->cgroup_path);
    free(o);
}

static int set_str(char **slot, const char *value)
{
    char *copy = strdup(value);
    if (!copy)
        return -ENOMEM;
    free(*slot);
    *slot = copy;
    return 0;
}

int containerv_options_set_rootfs(struct containerv_options *o, const char *dir)
{
    if (!o || !dir || !*dir)
        return -EINVAL;
    return set_str(&o->rootfs, dir);
}

int containerv_options_add_lower(struct containerv_options *o, const char *dir)
{
    if (!o || !dir || !*dir)
        return -EINVAL;
    if (o->n_lowers >= CV_MAX_LOWERS)
        return -E2BIG;
    o->lowers[o->n_lowers] = strdup(dir);
    if (!o->lowers[o->n_lowers])
        return -ENOMEM;
    o->n_lowers++;
    return 0;
}

int containerv_options_set_hostname(struct containerv_options *o, const char *name)
{
    if (!o || !name || !*name || strlen(name) > 64)
        return -EINVAL;
    return set_str(&o->hostname, name);
}

int containerv_options_add_env(struct containerv_options *o, const char *kv)
{
    const char *eq = kv ? strchr(kv, '=') : NULL;
    if (!o || !eq || eq == kv)
        return -EINVAL;
    size_t klen = (size_t)(eq - kv) + 1;
    for (int i = 0; i < o->n_env; i++) {
        if (!strncmp(o->env[i], kv, klen))
            return set_str(&o->env[i], kv);
    }
    if (o->n_env >= CV_MAX_ENV)
        return -E2BIG;
    o->env[o->n_env] = strdup(kv);
    if (!o->env[o->n_env])
        return -ENOMEM;
    o->n_env++;
    return 0;
}

int containerv_options_set_workdir(struct containerv_options *o, const char *dir)
{
    if (!o || !dir || dir[0] != '/')
        return -EINVAL;
    return set_str(&o->workdir, dir);
}

int containerv_options_set_user(struct containerv_options *o, uid_t uid, gid_t gid)
{
    if (!o || uid == (uid_t)-1 || gid == (gid_t)-1)
        return -EINVAL;
    o->uid = uid;
    o->gid = gid;
    return 0;
}

int containerv_options_set_memory_limit(struct containerv_options *o, uint64_t bytes)
{
    if (!o || (bytes != 0 && bytes < 4096))
        return -EINVAL;
    o->limits.memory = bytes; /* CONTAINERV_UNLIMITED too */
    return 0;
}

int containerv_options_set_memory_swap_limit(struct containerv_options *o, uint64_t bytes)
{
    if (!o || (bytes != 0 && bytes < 4096))
        return -EINVAL;
    o->limits.memory_swap = bytes;
    return 0;
}

int containerv_options_set_memory_reservation(struct containerv_options *o, uint64_t bytes)
{
    if (!o || (bytes != 0 && bytes < 4096))
        return -EINVAL;
    o->limits.memory_reservation = bytes;
    return 0;
}

int containerv_options_set_memory_swappiness(struct containerv_options *o, int swappiness)
{
    if (!o || swappiness < -1 || swappiness > 100)
        return -EINVAL;
    o->limits.swappiness_set = swappiness >= 0;
    o->limits.swappiness = swappiness >= 0 ? (uint8_t)swappiness : 0;
    return 0;
}

int containerv_options_set_oom_kill_disable(struct containerv_options *o, bool disable)
{
    if (!o)
        return -EINVAL;
    o->limits.oom_kill_disable = disable;
    return 0;
}

/* "0-3,8,10-11": numbers below 8192 (the kernel's largest NR_CPUS), ranges
 * low to high */
static bool cpu_list_valid(const char *s)
{
    if (!*s)
        return false;
    while (*s) {
        char *end;
        if (*s < '0' || *s > '9')
            return false;
        unsigned long lo = strtoul(s, &end, 10), hi = lo;
        if (*end == '-') {
            if (end[1] < '0' || end[1] > '9')
                return false;
            hi = strtoul(end + 1, &end, 10);
        }
        if (lo >= 8192 || hi >= 8192 || hi < lo || (*end && *end != ','))
            return false;
        s = *end ? end + 1 : end;
        if (*end && !*s)
            return false; /* a trailing comma */
    }
    return true;
}

static int set_cpu_list(char *dst, size_t size, const char *list)
{
    if (!list || !*list) {
        dst[0] = '\0';
        return 0;
    }
    if (strlen(list) >= size || !cpu_list_valid(list))
        return -EINVAL;
    snprintf(dst, size, "%s", list);
    return 0;
}

int containerv_options_set_cpuset_cpus(struct containerv_options *o, const char *cpus)
{
    return o ? set_cpu_list(o->limits.cpuset_cpus, sizeof(o->limits.cpuset_cpus), cpus) : -EINVAL;
}

int containerv_options_set_cpuset_mems(struct containerv_options *o, const char *mems)
{
    return o ? set_cpu_list(o->limits.cpuset_mems, sizeof(o->limits.cpuset_mems), mems) : -EINVAL;
}

int containerv_options_set_cpu_realtime(struct containerv_options *o, int64_t runtime_us, uint64_t period_us)
{
    bool keep = runtime_us == CONTAINERV_RT_RUNTIME_KEEP;
    if (!o || (runtime_us < -1 && !keep) || (period_us && (period_us < 1000 || period_us > 1000000)) ||
        (period_us && runtime_us > (int64_t)period_us) || (keep && !period_us))
        return -EINVAL;
    o->limits.rt_set = true;
    o->limits.rt_runtime_us = runtime_us;
    o->limits.rt_period_us = period_us;
    return 0;
}

void cv_device_access_text(uint8_t access, char buf[4])
{
    int n = 0;
    if (access & 2)
        buf[n++] = 'r';
    if (access & 4)
        buf[n++] = 'w';
    if (access & 1)
        buf[n++] = 'm';
    buf[n] = '\0';
}

int containerv_options_add_device_rule(struct containerv_options *o, bool allow, char type, int64_t major,
                                       int64_t minor, const char *access)
{
    uint8_t acc = 0;
    /* the kernel's ranges (MINORBITS 20: major < 4096, minor < 2^20): v1 reads
     * 2^32-1 as '*' and v2's program compares sign-extended 32-bit values,
     * so a number beyond them would mean different things on each */
    if (!o || (type != 'a' && type != 'c' && type != 'b') || major < -1 || minor < -1 || major > CV_DEV_MAJOR_MAX ||
        minor > CV_DEV_MINOR_MAX)
        return -EINVAL;
    for (const char *p = access ? access : "rwm"; *p; p++) {
        uint8_t bit = *p == 'm' ? 1 : *p == 'r' ? 2 : *p == 'w' ? 4 : 0;
        if (!bit || (acc & bit))
            return -EINVAL;
        acc |= bit;
    }
    if (!acc)
        return -EINVAL;
    /* "everything": only 'a' with wildcards and all access; any other 'a'
     * is the same rule for character and for block devices */
    bool all = type == 'a' && major < 0 && minor < 0 && acc == 7;
    int need = type == 'a' && !all ? 2 : 1;
    if (o->limits.n_dev_rules + need > CV_MAX_DEVICE_RULES)
        return -E2BIG;
    for (int i = 0; i < need; i++)
        o->limits.dev_rules[o->limits.n_dev_rules++] = (struct cv_device_rule){
            .allow = allow, .type = all ? 'a' : type == 'a' ? (i ? 'b' : 'c') : type, .access = acc,
            .major = all ? -1 : major, .minor = all ? -1 : minor};
    return 0;
}

int containerv_options_add_default_device_rules(struct containerv_options *o)
{
    static const struct {
        char type;
        int64_t major, minor;
        const char *access;
    } base[] = {{'c', -1, -1, "m"}, {'b', -1, -1, "m"}, {'c', 1, 3, "rwm"},   {'c', 1, 5, "rwm"},
                {'c', 1, 7, "rwm"}, {'c', 1, 8, "rwm"}, {'c', 1, 9, "rwm"},   {'c', 5, 0, "rwm"},
                {'c', 5, 1, "rwm"}, {'c', 5, 2, "rwm"}, {'c', 136, -1, "rwm"}, {'c', 10, 200, "rwm"}};
    if (!o)
        return -EINVAL;
    if (o->limits.n_dev_rules + (int)(sizeof(base) / sizeof(base[0])) > CV_MAX_DEVICE_RULES)
        return -E2BIG;
    for (size_t i = 0; i < sizeof(base) / sizeof(base[0]); i++)
        containerv_options_add_device_rule(o, true, base[i].type, base[i].major, base[i].minor, base[i].access);
    return 0;
}

int containerv_options_set_cpu_weight(struct containerv_options *o, uint64_t weight)
{
    if (!o || weight == 0 || weight > 10000)
        return -EINVAL;
    o->limits.cpu_weight = weight;
    o->limits.cpu_shares = 0;
    return 0;
}

int containerv_options_set_cpu_shares(struct containerv_options *o, uint64_t shares)
{
    if (!o || shares < 2 || shares > 262144)
        return -EINVAL;
    o->limits.cpu_shares = shares;
    o->limits.cpu_weight = 0;
    return 0;
}

int containerv_options_set_cpu_quota(struct containerv_options *o, uint64_t quota_us, uint64_t period_us)
{
    if (!o || (quota_us != 0 && quota_us < 1000) || (period_us != 0 && (period_us < 1000 || period_us > 1000000)))
        return -EINVAL;
    o->limits.cpu_quota_us = quota_us; /* CONTAINERV_UNLIMITED: no quota */
    o->limits.cpu_period_us = period_us;
    return 0;
}

int containerv_options_set_pids_limit(struct containerv_options *o, uint64_t max)
{
    if (!o || max == 0 || (max > INT_MAX && max != CONTAINERV_UNLIMITED))
        return -EINVAL;
    o->limits.pids = max;
    return 0;
}

int containerv_options_set_cgroup_path(struct containerv_options *o, const char *path)
{
    if (!o)
        return -EINVAL;
    if (!path || !*path) {
        free(o->cgroup_path);
        o->cgroup_path = NULL;
        return 0;
    }
    if (cv_cgroup_path_invalid(path))
        return -EINVAL;
    return set_str(&o->cgroup_path, path);
}

int containerv_options_set_exact_mount_order(struct containerv_options *o, bool exact)
{
    if (!o)
        return -EINVAL;
    o->exact_mount_order = exact;
    return 0;
}

int containerv_options_set_namespaces(struct containerv_options *o, unsigned mask)
{
    unsigned all = CONTAINERV_NS_DEFAULT | CONTAINERV_NS_USER;
    if (!o || (mask & ~all) || !(mask & CONTAINERV_NS_MOUNT))
        return -EINVAL;
    o->namespaces = mask;
    return 0;
}

int cv_join_slot(unsigned ns)
{
    return ns == CONTAINERV_NS_NET   ? 0
           : ns == CONTAINERV_NS_IPC ? 1
           : ns == CONTAINERV_NS_UTS ? 2
           : ns == CONTAINERV_NS_PID ? CV_JOIN_PID
                                     : -1;
}

int containerv_options_join_namespace(struct containerv_options *o, unsigned ns, const char *path)
{
    if (!o)
        return -EINVAL;
    int slot = cv_join_slot(ns);
    if (slot < 0)
        return -EOPNOTSUPP;
    if (!path) {
        free(o->join_ns[slot]);
        o->join_ns[slot] = NULL;
        return 0;
    }
    if (path[0] != '/')
        return -EINVAL;
    int r = set_str(&o->join_ns[slot], path);
    if (r == 0)
        o->namespaces |= ns;
    return r;
}

static int add_map(struct cv_idmap *maps, int *n, uint32_t in, uint32_t out, uint32_t count)
{
    if (count == 0 || *n >= CV_MAX_IDMAPS || in + (uint64_t)count > UINT32_MAX ||
        out + (uint64_t)count > UINT32_MAX)
        return -EINVAL;
    maps[*n] = (struct cv_idmap){in, out, count};
    (*n)++;
    return 0;
}

int containerv_options_add_uid_map(struct containerv_options *o, uint32_t in, uint32_t out, uint32_t count)
{
    if (!o)
        return -EINVAL;
    int r = add_map(o->uid_maps, &o->n_uid_maps, in, out, count);
    if (r == 0)
        o->namespaces |= CONTAINERV_NS_USER;
    return r;
}

int containerv_options_add_gid_map(struct containerv_options *o, uint32_t in, uint32_t out, uint32_t count)
{
    if (!o)
        return -EINVAL;
    int r = add_map(o->gid_maps, &o->n_gid_maps, in, out, count);
    if (r == 0)
        o->namespaces |= CONTAINERV_NS_USER;
    return r;
}

int containerv_options_set_read_only(struct containerv_options *o, bool ro)
{
    if (!o)
        return -EINVAL;
    o->read_only = ro;
    return 0;
}

int containerv_options_add_bind(struct containerv_options *o, const char *src, const char *dst, bool ro)
{
    if (!o || !src || !*src || !dst || dst[0] != '/' || !strcmp(dst, "/"))
        return -EINVAL;
    if (o->n_binds >= CV_MAX_BINDS)
        return -E2BIG;
    struct cv_bind *b = &o->binds[o->n_binds];
    b->src = strdup(src);
    b->dst = strdup(dst);
    if (!b->src || !b->dst) {
        free(b->src);
        free(b->dst);
        b->src = b->dst = NULL;
        return -ENOMEM;
    }
    b->read_only = ro;
    o->n_binds++;
    return 0;
}

int containerv_options_set_rootfs_writable(struct containerv_options *o, bool writable)
{
    if (!o)
        return -EINVAL;
    o->rootfs_writable = writable;
    return 0;
}

static int set_paths(char **dst, int *n, bool *set, const char *const *paths)
{
    int k = 0;
    for (; paths && paths[k]; k++)
        if (paths[k][0] != '/' || strlen(paths[k]) >= 4096 || strstr(paths[k], "/../") || k >= CV_MAX_PATHS)
            return k >= CV_MAX_PATHS ? -E2BIG : -EINVAL;
    char *copy[CV_MAX_PATHS];
    for (int i = 0; i < k; i++)
        if (!(copy[i] = strdup(paths[i]))) {
            while (i-- > 0)
                free(copy[i]);
            return -ENOMEM;
        }
    for (int i = 0; i < *n; i++)
        free(dst[i]);
    for (int i = 0; i < k; i++)
        dst[i] = copy[i];
    *n = k;
    *set = true;
    return 0;
}

int containerv_options_set_masked_paths(struct containerv_options *o, const char *const *paths)
{
    return o ? set_paths(o->masked, &o->n_masked, &o->masked_set, paths) : -EINVAL;
}

int containerv_options_set_readonly_paths(struct containerv_options *o, const char *const *paths)
{
    return o ? set_paths(o->readonly, &o->n_readonly, &o->readonly_set, paths) : -EINVAL;
}

int containerv_options_set_tmp_tmpfs(struct containerv_options *o, bool on)
{
    if (!o)
        return -EINVAL;
    o->no_tmp_tmpfs = !on;
    return 0;
}

/* the file systems a container may mount anew: none reaches a host object */
static const char *const mount_types[] = {"tmpfs", "proc", "sysfs", "mqueue", "devpts", "cgroup2", NULL};
#define CV_MOUNT_FLAGS (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | \
                        MS_RELATIME | MS_STRICTATIME | MS_SYNCHRONOUS | MS_DIRSYNC | MS_LAZYTIME)

int containerv_options_add_mount(struct containerv_options *o, const char *fstype, const char *source,
                                 const char *dst, unsigned long flags, const char *data)
{
    if (source && (!*source || strlen(source) >= 256))
        return -EINVAL;
    if (!o || !fstype || !dst || dst[0] != '/' || !strcmp(dst, "/") || (flags & ~(unsigned long)CV_MOUNT_FLAGS) ||
        (data && strlen(data) >= 4096))
        return -EINVAL;
    bool known = false;
    for (int i = 0; mount_types[i]; i++)
        known |= !strcmp(fstype, mount_types[i]);
    if (!known)
        return -EOPNOTSUPP;
    if (o->n_binds >= CV_MAX_BINDS)
        return -E2BIG;
    struct cv_bind *b = &o->binds[o->n_binds];
    *b = (struct cv_bind){.src = strdup(source ? source : fstype), .dst = strdup(dst), .fstype = strdup(fstype),
                          .data = data ? strdup(data) : NULL, .flags = flags, .read_only = flags & MS_RDONLY};
    if (!b->src || !b->dst || !b->fstype || (data && !b->data)) {
        free(b->src);
        free(b->dst);
        free(b->fstype);
        free(b->data);
        *b = (struct cv_bind){0};
        return -ENOMEM;
    }
    o->n_binds++;
    return 0;
}

int containerv_options_set_relax(struct containerv_options *o, unsigned mask)
{
    if (!o || (mask & ~0x3fu))
        return -EINVAL;
    o->relax = mask;
    return 0;
}

int containerv_options_set_runtime_dir(struct containerv_options *o, const char *dir)
{
    if (!o || !dir || dir[0] != '/')
        return -EINVAL;
    return set_str(&o->runtime_dir, dir);
}

int containerv_options_set_die_with_parent(struct containerv_options *o, bool on)
{
    if (!o)
        return -EINVAL;
    o->die_with_parent = on;
    return 0;
}

int containerv_options_set_trace(struct containerv_options *o, containerv_trace_fn fn, void *userdata)
{
    if (!o)
        return -EINVAL;
    o->trace = fn;
    o->trace_data = userdata;
    return 0;
}

int containerv_parse_size(const char *text, uint64_t *bytes)
{
    if (!text || !bytes || !*text || *text < '0' || *text > '9')
        return -EINVAL;
    uint64_t v = 0;
    const char *p = text;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
            return -ERANGE;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    unsigned shift = 0;
    switch (*p) {
    case '\0': break;
    case 'k': case 'K': shift = 10; break;
    case 'm': case 'M': shift = 20; break;
    case 'g': case 'G': shift = 30; break;
    case 't': case 'T': shift = 40; break;
    default: return -EINVAL;
    }
    if (*p) {
        p++;
        if (*p == 'b' || *p == 'B' || (*p == 'i' && (p[1] == 'b' || p[1] == 'B')))
            p += (*p == 'i') ? 2 : 1;
        if (*p)
            return -EINVAL;
    }
    if (shift && v > (UINT64_MAX >> shift))
        return -ERANGE;
    *bytes = v << shift;
    return 0;
}

static bool is_dir(const char *p)
{
    struct stat st;
    return p && stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Relative to the file that holds this code (the shared library, or the
 * executable it is linked into): <dir>/../share/containerv/rootfs, one level
 * up more for lib/<multiarch>/. Works in the build tree and in any prefix. */
static char relocated[PATH_MAX];

static void find_relocated(void)
{
    Dl_info info;
    char self[PATH_MAX];
    /* a static executable has no dladdr information: use /proc/self/exe */
    const char *obj = (dladdr((void *)find_relocated, &info) && info.dli_fname && info.dli_fname[0] == '/')
                          ? info.dli_fname
                          : "/proc/self/exe";
    if (!realpath(obj, self))
        return;
    static const char *const ups[] = {"/../share/containerv/rootfs", "/../../share/containerv/rootfs"};
    char *slash = strrchr(self, '/');
    if (!slash)
        return;
    *slash = '\0';
    for (size_t i = 0; i < sizeof(ups) / sizeof(ups[0]); i++) {
        char cand[PATH_MAX * 2];
        snprintf(cand, sizeof(cand), "%s%s", self, ups[i]);
        if (is_dir(cand) && realpath(cand, relocated))
            return;
    }
    relocated[0] = '\0';
}

const char *containerv_default_rootfs(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    const char *env = getenv("CONTAINERV_DEFAULT_ROOTFS");
    if (env && *env)
        return is_dir(env) ? env : NULL;
    pthread_once(&once, find_relocated);
    if (relocated[0] && is_dir(relocated))
        return relocated;
#ifdef CONTAINERV_ROOTFS_INSTALL
    if (is_dir(CONTAINERV_ROOTFS_INSTALL))
        return CONTAINERV_ROOTFS_INSTALL;
#endif
#ifdef CONTAINERV_ROOTFS_BUILD
    if (is_dir(CONTAINERV_ROOTFS_BUILD))
        return CONTAINERV_ROOTFS_BUILD;
#endif
    return NULL;
}

const char *containerv_default_runtime_dir(void)
{
    const char *env = getenv("CONTAINERV_RUNTIME_DIR");
    return (env && env[0] == '/') ? env : "/run/containerv";
}
