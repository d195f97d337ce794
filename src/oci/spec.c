/* config.json of an OCI bundle: see spec.h. Unknown properties are ignored,
 * as the runtime-spec asks; a known one of the wrong type is an error that
 * names it. */
#include "spec.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>

static const char *const cap_names[] = {
    "CAP_CHOWN",           "CAP_DAC_OVERRIDE",  "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
    "CAP_FSETID",          "CAP_KILL",          "CAP_SETGID",          "CAP_SETUID",
    "CAP_SETPCAP",         "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",       "CAP_NET_RAW",       "CAP_IPC_LOCK",        "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",      "CAP_SYS_RAWIO",     "CAP_SYS_CHROOT",      "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",       "CAP_SYS_ADMIN",     "CAP_SYS_BOOT",        "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",    "CAP_SYS_TIME",      "CAP_SYS_TTY_CONFIG",  "CAP_MKNOD",
    "CAP_LEASE",           "CAP_AUDIT_WRITE",   "CAP_AUDIT_CONTROL",   "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",    "CAP_MAC_ADMIN",     "CAP_SYSLOG",          "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",   "CAP_AUDIT_READ",    "CAP_PERFMON",         "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};
#define N_CAPS ((int)(sizeof(cap_names) / sizeof(cap_names[0])))

int oci_cap_number(const char *name)
{
    for (int i = 0; i < N_CAPS; i++)
        if (!strcmp(name, cap_names[i]))
            return i;
    return -1;
}

const char *oci_cap_name(int cap)
{
    return cap >= 0 && cap < N_CAPS ? cap_names[cap] : NULL;
}

static const struct {
    const char *name;
    int value;
} rlimit_names[] = {
    {"RLIMIT_CPU", RLIMIT_CPU},         {"RLIMIT_FSIZE", RLIMIT_FSIZE},       {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_STACK", RLIMIT_STACK},     {"RLIMIT_CORE", RLIMIT_CORE},         {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_NPROC", RLIMIT_NPROC},     {"RLIMIT_NOFILE", RLIMIT_NOFILE},     {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
    {"RLIMIT_AS", RLIMIT_AS},           {"RLIMIT_LOCKS", RLIMIT_LOCKS},       {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE},       {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
    {"RLIMIT_RTTIME", RLIMIT_RTTIME},
};

int oci_rlimit_number(const char *name)
{
    for (size_t i = 0; i < sizeof(rlimit_names) / sizeof(rlimit_names[0]); i++)
        if (!strcmp(name, rlimit_names[i].name))
            return rlimit_names[i].value;
    return -1;
}

/* ------------------------------------------------------------ mount options */

static const struct {
    const char *name;
    bool clear;
    unsigned long flag;
} mount_flags[] = {
    {"ro", false, MS_RDONLY},          {"rw", true, MS_RDONLY},
    {"nosuid", false, MS_NOSUID},      {"suid", true, MS_NOSUID},
    {"nodev", false, MS_NODEV},        {"dev", true, MS_NODEV},
    {"noexec", false, MS_NOEXEC},      {"exec", true, MS_NOEXEC},
    {"sync", false, MS_SYNCHRONOUS},   {"async", true, MS_SYNCHRONOUS},
    {"dirsync", false, MS_DIRSYNC},    {"noatime", false, MS_NOATIME},
    {"atime", true, MS_NOATIME},       {"nodiratime", false, MS_NODIRATIME},
    {"diratime", true, MS_NODIRATIME}, {"relatime", false, MS_RELATIME},
    {"norelatime", true, MS_RELATIME}, {"strictatime", false, MS_STRICTATIME},
    {"nostrictatime", true, MS_STRICTATIME}, {"lazytime", false, MS_LAZYTIME},
    {"nolazytime", true, MS_LAZYTIME}, {"mand", false, 0},
    {"nomand", true, 0},
};

bool oci_mount_options(struct oci_mount *m, json_t *options, const char **bad)
{
    size_t i, off = 0;
    json_t *v;
    m->flags = 0;
    m->data[0] = '\0';
    json_array_foreach(options, i, v) {
        const char *o = json_string_value(v);
        if (!o)
            continue; /* checked by the caller */
        bool done = false;
        for (size_t k = 0; k < sizeof(mount_flags) / sizeof(mount_flags[0]) && !done; k++)
            if (!strcmp(o, mount_flags[k].name)) {
                if (mount_flags[k].clear)
                    m->flags &= ~mount_flags[k].flag;
                else
                    m->flags |= mount_flags[k].flag;
                done = true;
            }
        if (done)
            continue;
        if (!strcmp(o, "bind") || !strcmp(o, "rbind")) {
            m->bind = true;
            continue;
        }
        static const struct {
            const char *name;
            unsigned long flag;
        } prop[] = {
            {"private", MS_PRIVATE}, {"rprivate", MS_PRIVATE | MS_REC}, {"shared", MS_SHARED},
            {"rshared", MS_SHARED | MS_REC}, {"slave", MS_SLAVE}, {"rslave", MS_SLAVE | MS_REC},
            {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
        };
        for (size_t k = 0; k < sizeof(prop) / sizeof(prop[0]) && !done; k++)
            if (!strcmp(o, prop[k].name)) {
                m->propagation = prop[k].flag;
                done = true;
            }
        if (done)
            continue;
        if (!strcmp(o, "tmpcopyup")) {
            m->tmpcopyup = true;
            continue;
        }
        if (!strcmp(o, "idmap") || !strcmp(o, "ridmap") || !strcmp(o, "remount")) {
            *bad = o;
            return false;
        }
        size_t n = strlen(o);
        if (off + n + 2 > sizeof(m->data)) {
            *bad = o;
            return false;
        }
        if (off)
            m->data[off++] = ',';
        memcpy(m->data + off, o, n + 1);
        off += n;
    }
    return true;
}

/* ------------------------------------------------------------ the parse */

struct parse {
    struct oci_spec *s;
    char *err;
    size_t errlen;
};

__attribute__((format(printf, 2, 3))) static int bad(struct parse *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err, p->errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* an optional member: NULL when absent or null */
static json_t *get(json_t *o, const char *key)
{
    json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;
    return json_is_null(v) ? NULL : v;
}

static int get_obj(struct parse *p, json_t *o, const char *key, const char *where, json_t **out)
{
    *out = get(o, key);
    if (*out && !json_is_object(*out))
        return bad(p, "%s%s: expected an object", where, key);
    return 0;
}

static int get_str(struct parse *p, json_t *o, const char *key, const char *where, const char **out)
{
    json_t *v = get(o, key);
    *out = NULL;
    if (!v)
        return 0;
    if (!json_is_string(v))
        return bad(p, "%s%s: expected a string", where, key);
    *out = json_string_value(v);
    if (strlen(*out) != json_string_length(v))
        return bad(p, "%s%s: holds a NUL byte", where, key);
    return 0;
}

static int get_bool(struct parse *p, json_t *o, const char *key, const char *where, bool *out)
{
    json_t *v = get(o, key);
    if (!v)
        return 0;
    if (!json_is_boolean(v))
        return bad(p, "%s%s: expected true or false", where, key);
    *out = json_is_true(v);
    return 0;
}

/* an integer in [lo, hi]; *set tells whether it was there */
static int get_int(struct parse *p, json_t *o, const char *key, const char *where, int64_t lo, int64_t hi,
                   int64_t *out, bool *set)
{
    json_t *v = get(o, key);
    if (set)
        *set = false;
    if (!v)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return bad(p, "%s%s: expected an integer from %lld to %lld", where, key, (long long)lo, (long long)hi);
    *out = json_integer_value(v);
    if (set)
        *set = true;
    return 0;
}

/* an array of strings into a malloc'd NULL-terminated vector */
static int get_strv(struct parse *p, json_t *o, const char *key, const char *where, size_t max, const char ***out)
{
    json_t *a = get(o, key), *v;
    size_t i;
    *out = NULL;
    if (!a)
        return 0;
    if (!json_is_array(a) || json_array_size(a) > max)
        return bad(p, "%s%s: expected an array of at most %zu strings", where, key, max);
    const char **vec = calloc(json_array_size(a) + 1, sizeof(*vec));
    if (!vec)
        return bad(p, "out of memory");
    json_array_foreach(a, i, v) {
        if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
            free(vec);
            return bad(p, "%s%s[%zu]: expected a string", where, key, i);
        }
        vec[i] = json_string_value(v);
    }
    *out = vec;
    return 0;
}

static int parse_caps(struct parse *p, json_t *caps)
{
    static const char *const sets[5] = {"bounding", "effective", "permitted", "inheritable", "ambient"};
    struct oci_spec *s = p->s;
    if (!caps)
        return 0;
    if (!json_is_object(caps))
        return bad(p, "process.capabilities: expected an object");
    s->has_caps = true;
    for (int k = 0; k < 5; k++) {
        json_t *a = get(caps, sets[k]), *v;
        size_t i;
        if (!a)
            continue;
        if (!json_is_array(a))
            return bad(p, "process.capabilities.%s: expected an array of names", sets[k]);
        json_array_foreach(a, i, v) {
            const char *name = json_string_value(v);
            if (!name)
                return bad(p, "process.capabilities.%s[%zu]: expected a string", sets[k], i);
            int cap = oci_cap_number(name);
            if (cap < 0) { /* runc warns and goes on */
                s->n_unknown_caps++;
                s->unknown_cap = name;
                continue;
            }
            s->caps[k] |= 1ull << cap;
        }
    }
    return 0;
}

static int parse_rlimits(struct parse *p, json_t *a)
{
    struct oci_spec *s = p->s;
    json_t *v;
    size_t i;
    if (!a)
        return 0;
    if (!json_is_array(a) || json_array_size(a) > 16)
        return bad(p, "process.rlimits: expected an array of at most 16 limits");
    json_array_foreach(a, i, v) {
        const char *type = json_string_value(get(v, "type"));
        json_t *soft = get(v, "soft"), *hard = get(v, "hard");
        if (!type || !json_is_integer(soft) || !json_is_integer(hard))
            return bad(p, "process.rlimits[%zu]: expected {\"type\", \"soft\", \"hard\"}", i);
        int r = oci_rlimit_number(type);
        if (r < 0)
            return bad(p, "process.rlimits[%zu]: unknown type '%s'", i, type);
        for (size_t k = 0; k < s->n_rlimits; k++)
            if (s->rlimits[k].resource == r)
                return bad(p, "process.rlimits: '%s' given twice", type);
        /* uint64 values come back from jansson as negative: -1 is infinity */
        uint64_t sv = (uint64_t)json_integer_value(soft), hv = (uint64_t)json_integer_value(hard);
        if (sv > hv)
            return bad(p, "process.rlimits: '%s' has soft %llu above hard %llu", type, (unsigned long long)sv,
                       (unsigned long long)hv);
        s->rlimits[s->n_rlimits++] = (struct containerv_rlimit){.resource = r, .soft = sv, .hard = hv};
    }
    return 0;
}

static int parse_process(struct parse *p, json_t *proc)
{
    struct oci_spec *s = p->s;
    const char *w = "process.";
    if (!proc)
        return 0;
    if (!json_is_object(proc))
        return bad(p, "process: expected an object");
    s->has_process = true;
    json_t *user, *console;
    int64_t v;
    bool set;
    if (get_bool(p, proc, "terminal", w, &s->terminal) < 0 || get_strv(p, proc, "args", w, 65536, &s->args) < 0 ||
        get_strv(p, proc, "env", w, 65536, &s->env) < 0 || get_str(p, proc, "cwd", w, &s->cwd) < 0 ||
        get_obj(p, proc, "user", w, &user) < 0 || get_obj(p, proc, "consoleSize", w, &console) < 0 ||
        get_bool(p, proc, "noNewPrivileges", w, &s->no_new_privs) < 0 ||
        get_str(p, proc, "apparmorProfile", w, &s->apparmor) < 0 ||
        get_str(p, proc, "selinuxLabel", w, &s->selinux) < 0)
        return -1;
    if (!s->args || !s->args[0])
        return bad(p, "process.args: must hold at least the program");
    if (!s->args[0][0])
        return bad(p, "process.args[0]: empty");
    if (!s->cwd || s->cwd[0] != '/')
        return bad(p, "process.cwd: must be an absolute path");
    for (size_t i = 0; s->env && s->env[i]; i++)
        if (!strchr(s->env[i], '='))
            return bad(p, "process.env[%zu]: '%s' is not NAME=VALUE", i, s->env[i]);
    if (console) {
        if (get_int(p, console, "height", "process.consoleSize.", 0, 65535, &v, &set) < 0)
            return -1;
        s->rows = set ? (unsigned short)v : 0;
        if (get_int(p, console, "width", "process.consoleSize.", 0, 65535, &v, &set) < 0)
            return -1;
        s->cols = set ? (unsigned short)v : 0;
    }
    if (user) {
        json_t *groups = get(user, "additionalGids"), *g;
        size_t i;
        if (get_int(p, user, "uid", "process.user.", 0, UINT32_MAX - 1, &v, &set) < 0)
            return -1;
        s->uid = set ? (uint32_t)v : 0;
        if (get_int(p, user, "gid", "process.user.", 0, UINT32_MAX - 1, &v, &set) < 0)
            return -1;
        s->gid = set ? (uint32_t)v : 0;
        if (get_int(p, user, "umask", "process.user.", 0, 0777, &v, &s->has_umask) < 0)
            return -1;
        s->umask = s->has_umask ? (uint32_t)v : 0;
        if (get(user, "username"))
            return bad(p, "process.user.username: a Windows field");
        if (groups && (!json_is_array(groups) || json_array_size(groups) > 64))
            return bad(p, "process.user.additionalGids: expected an array of at most 64 ids");
        json_array_foreach(groups, i, g) {
            if (!json_is_integer(g) || json_integer_value(g) < 0 || json_integer_value(g) >= UINT32_MAX)
                return bad(p, "process.user.additionalGids[%zu]: expected a group id", i);
            s->groups[s->n_groups++] = (gid_t)json_integer_value(g);
        }
    }
    if (get_int(p, proc, "oomScoreAdj", w, -1000, 1000, &v, &s->has_oom) < 0)
        return -1;
    s->oom_score_adj = s->has_oom ? (int)v : 0;
    if (parse_caps(p, get(proc, "capabilities")) < 0 || parse_rlimits(p, get(proc, "rlimits")) < 0)
        return -1;
    if (get(proc, "ioPriority") || get(proc, "scheduler") || get(proc, "execCPUAffinity"))
        s->unsupported = get(proc, "ioPriority") ? "process.ioPriority" : get(proc, "scheduler")
                                                                              ? "process.scheduler"
                                                                              : "process.execCPUAffinity";
    return 0;
}

static int parse_mounts(struct parse *p, json_t *a)
{
    struct oci_spec *s = p->s;
    json_t *v;
    size_t i;
    if (!a)
        return 0;
    if (!json_is_array(a) || json_array_size(a) > OCI_MAX_MOUNTS)
        return bad(p, "mounts: expected an array of at most %d mounts", OCI_MAX_MOUNTS);
    json_array_foreach(a, i, v) {
        struct oci_mount *m = &s->mounts[s->n_mounts];
        char w[32];
        snprintf(w, sizeof(w), "mounts[%zu].", i);
        if (!json_is_object(v))
            return bad(p, "mounts[%zu]: expected an object", i);
        if (get_str(p, v, "destination", w, &m->destination) < 0 || get_str(p, v, "type", w, &m->type) < 0 ||
            get_str(p, v, "source", w, &m->source) < 0)
            return -1;
        if (!m->destination || m->destination[0] != '/')
            return bad(p, "mounts[%zu].destination: must be an absolute path", i);
        json_t *opts = get(v, "options"), *o;
        size_t k;
        if (opts && !json_is_array(opts))
            return bad(p, "mounts[%zu].options: expected an array of strings", i);
        json_array_foreach(opts, k, o) if (!json_is_string(o))
            return bad(p, "mounts[%zu].options[%zu]: expected a string", i, k);
        m->bind = m->type && !strcmp(m->type, "bind");
        const char *what = NULL;
        if (opts && !oci_mount_options(m, opts, &what))
            return bad(p, "mounts[%zu] (%s): option '%s' is not supported", i, m->destination, what);
        if (get(v, "uidMappings") || get(v, "gidMappings"))
            return bad(p, "mounts[%zu] (%s): idmapped mounts are not supported", i, m->destination);
        if (!m->type && !m->bind)
            return bad(p, "mounts[%zu] (%s): no type (and not a bind)", i, m->destination);
        if (m->bind && !m->source)
            return bad(p, "mounts[%zu] (%s): a bind without a source", i, m->destination);
        if (m->tmpcopyup && (m->bind || !m->type || strcmp(m->type, "tmpfs")))
            return bad(p, "mounts[%zu] (%s): tmpcopyup is for a tmpfs", i, m->destination);
        s->n_mounts++;
    }
    return 0;
}

static int parse_hooks(struct parse *p, json_t *hooks)
{
    static const char *const kinds[OCI_HOOK_KINDS] = {"prestart",       "createRuntime", "createContainer",
                                                      "startContainer", "poststart",     "poststop"};
    struct oci_spec *s = p->s;
    if (!hooks)
        return 0;
    if (!json_is_object(hooks))
        return bad(p, "hooks: expected an object");
    for (int k = 0; k < OCI_HOOK_KINDS; k++) {
        json_t *a = get(hooks, kinds[k]), *v;
        size_t i;
        if (!a)
            continue;
        if (!json_is_array(a) || json_array_size(a) > OCI_MAX_HOOKS)
            return bad(p, "hooks.%s: expected an array of at most %d hooks", kinds[k], OCI_MAX_HOOKS);
        json_array_foreach(a, i, v) {
            struct oci_hook *h = &s->hooks[k][s->n_hooks[k]++];
            char w[48];
            int64_t t = 0;
            bool set;
            snprintf(w, sizeof(w), "hooks.%s[%zu].", kinds[k], i);
            if (!json_is_object(v))
                return bad(p, "hooks.%s[%zu]: expected an object", kinds[k], i);
            if (get_str(p, v, "path", w, &h->path) < 0 || get_strv(p, v, "args", w, 4096, &h->args) < 0 ||
                get_strv(p, v, "env", w, 4096, &h->env) < 0 || get_int(p, v, "timeout", w, 1, 86400, &t, &set) < 0)
                return -1;
            if (!h->path || h->path[0] != '/')
                return bad(p, "hooks.%s[%zu].path: must be an absolute path", kinds[k], i);
            h->timeout = set ? (int)t : 0;
        }
    }
    return 0;
}

static int parse_namespaces(struct parse *p, json_t *a)
{
    static const char *const names[OCI_NS_COUNT] = {"pid", "network", "mount", "ipc", "uts", "user", "cgroup"};
    struct oci_spec *s = p->s;
    json_t *v;
    size_t i;
    if (!a)
        return 0;
    if (!json_is_array(a))
        return bad(p, "linux.namespaces: expected an array");
    json_array_foreach(a, i, v) {
        const char *type = NULL, *path = NULL;
        char w[40];
        snprintf(w, sizeof(w), "linux.namespaces[%zu].", i);
        if (!json_is_object(v) || get_str(p, v, "type", w, &type) < 0 || get_str(p, v, "path", w, &path) < 0)
            return json_is_object(v) ? -1 : bad(p, "linux.namespaces[%zu]: expected an object", i);
        if (!type)
            return bad(p, "linux.namespaces[%zu]: no type", i);
        int k = -1;
        for (int n = 0; n < OCI_NS_COUNT; n++)
            if (!strcmp(type, names[n]))
                k = n;
        if (k < 0) {
            if (!strcmp(type, "time"))
                return bad(p, "linux.namespaces: a time namespace is not supported");
            return bad(p, "linux.namespaces[%zu]: unknown type '%s'", i, type);
        }
        if (s->ns[k])
            return bad(p, "linux.namespaces: '%s' given twice", type);
        if (path && path[0] != '/')
            return bad(p, "linux.namespaces[%zu].path: must be an absolute path", i);
        s->ns[k] = true;
        s->ns_path[k] = path && *path ? path : NULL;
    }
    return 0;
}

static int parse_idmaps(struct parse *p, json_t *a, const char *what, struct oci_idmap *maps, size_t *n)
{
    json_t *v;
    size_t i;
    if (!a)
        return 0;
    if (!json_is_array(a) || json_array_size(a) > OCI_MAX_IDMAPS)
        return bad(p, "linux.%s: expected an array of at most %d mappings", what, OCI_MAX_IDMAPS);
    json_array_foreach(a, i, v) {
        int64_t c = 0, h = 0, sz = 0;
        bool a1, a2, a3;
        char w[40];
        snprintf(w, sizeof(w), "linux.%s[%zu].", what, i);
        if (get_int(p, v, "containerID", w, 0, UINT32_MAX - 1, &c, &a1) < 0 ||
            get_int(p, v, "hostID", w, 0, UINT32_MAX - 1, &h, &a2) < 0 ||
            get_int(p, v, "size", w, 1, UINT32_MAX, &sz, &a3) < 0)
            return -1;
        if (!a1 || !a2 || !a3)
            return bad(p, "linux.%s[%zu]: expected {\"containerID\", \"hostID\", \"size\"}", what, i);
        maps[(*n)++] = (struct oci_idmap){(uint32_t)c, (uint32_t)h, (uint32_t)sz};
    }
    return 0;
}

static int parse_paths(struct parse *p, json_t *a, const char *what, const char **out, size_t *n, bool *has)
{
    json_t *v;
    size_t i;
    if (!a)
        return 0;
    if (!json_is_array(a) || json_array_size(a) > OCI_MAX_PATHS)
        return bad(p, "linux.%s: expected an array of at most %d paths", what, OCI_MAX_PATHS);
    *has = true;
    json_array_foreach(a, i, v) {
        const char *path = json_string_value(v);
        if (!path || path[0] != '/')
            return bad(p, "linux.%s[%zu]: expected an absolute path", what, i);
        out[(*n)++] = path;
    }
    return 0;
}

static int parse_resources(struct parse *p, json_t *r)
{
    struct oci_spec *s = p->s;
    json_t *mem, *cpu, *pids;
    int64_t v;
    bool set;
    if (!r)
        return 0;
    if (!json_is_object(r))
        return bad(p, "linux.resources: expected an object");
    if (get_obj(p, r, "memory", "linux.resources.", &mem) < 0 || get_obj(p, r, "cpu", "linux.resources.", &cpu) < 0 ||
        get_obj(p, r, "pids", "linux.resources.", &pids) < 0)
        return -1;
    if (mem) {
        const char *w = "linux.resources.memory.";
        if (get_int(p, mem, "limit", w, -1, INT64_MAX, &v, &set) < 0)
            return -1;
        s->memory_limit = set ? v : 0;
        if (get_int(p, mem, "swap", w, -1, INT64_MAX, &v, &set) < 0)
            return -1;
        s->memory_swap = set ? v : 0;
        if (get_int(p, mem, "reservation", w, -1, INT64_MAX, &v, &set) < 0)
            return -1;
        s->memory_reservation = set ? v : 0;
        if (get_int(p, mem, "swappiness", w, -1, 100, &v, &set) < 0)
            return -1;
        s->swappiness = set ? (int)v : -1;
        if (get_bool(p, mem, "disableOOMKiller", w, &s->disable_oom_killer) < 0)
            return -1;
        /* deprecated by the runtime-spec and gone from cgroup v2: ignored,
         * as runc ignores it */
        s->kernel_memory = get(mem, "kernel") || get(mem, "kernelTCP");
    }
    if (cpu) {
        const char *w = "linux.resources.cpu.";
        if (get_int(p, cpu, "shares", w, 0, 262144, &v, &set) < 0)
            return -1;
        s->cpu_shares = set ? (uint64_t)v : 0;
        if (get_int(p, cpu, "quota", w, -1, INT64_MAX, &v, &set) < 0)
            return -1;
        s->cpu_quota = set ? v : -1;
        s->cpu_quota_set = set;
        if (get_int(p, cpu, "period", w, 0, 1000000, &v, &set) < 0)
            return -1;
        s->cpu_period = set ? (uint64_t)v : 0;
        if (get_str(p, cpu, "cpus", w, &s->cpus) < 0 || get_str(p, cpu, "mems", w, &s->mems) < 0)
            return -1;
        if (get_int(p, cpu, "realtimeRuntime", w, -1, INT64_MAX, &v, &set) < 0)
            return -1;
        s->rt_set = set;
        s->rt_runtime = set ? v : 0;
        if (get_int(p, cpu, "realtimePeriod", w, 0, 1000000, &v, &set) < 0)
            return -1;
        s->rt_period = set ? (uint64_t)v : 0;
        s->rt_set = s->rt_set || set;
        if (s->rt_set && !get(cpu, "realtimeRuntime"))
            s->rt_runtime = CONTAINERV_RT_RUNTIME_KEEP; /* the period alone, as runc writes it */
        if (s->rt_set && !get(cpu, "realtimeRuntime") && !s->rt_period)
            s->rt_set = false; /* a period of 0 alone: nothing to write */
    }
    if (pids && get_int(p, pids, "limit", "linux.resources.pids.", -1, INT64_MAX, &s->pids_limit, NULL) < 0)
        return -1;
    json_t *dev = get(r, "devices");
    if (dev && !json_is_array(dev))
        return bad(p, "linux.resources.devices: expected an array");
    size_t i;
    json_t *d;
    json_array_foreach(dev, i, d) {
        char w[64];
        snprintf(w, sizeof(w), "linux.resources.devices[%zu].", i);
        bool allow = false;
        const char *type = NULL, *access = NULL;
        if (!json_is_object(d))
            return bad(p, "linux.resources.devices[%zu]: expected an object", i);
        if (!get(d, "allow"))
            return bad(p, "%sallow: missing", w);
        if (get_bool(p, d, "allow", w, &allow) < 0 || get_str(p, d, "type", w, &type) < 0 ||
            get_str(p, d, "access", w, &access) < 0 || get_int(p, d, "major", w, -1, 4095, &v, NULL) < 0 || /* the kernel's 12 and 20 bits */
            get_int(p, d, "minor", w, -1, 1048575, &v, NULL) < 0)
            return -1;
        if (type && strcmp(type, "a") && strcmp(type, "c") && strcmp(type, "b"))
            return bad(p, "%stype: '%s' is not a, c or b", w, type);
        if (access && (!*access || strspn(access, "rwm") != strlen(access)))
            return bad(p, "%saccess: '%s' is not a subset of rwm", w, access);
    }
    s->device_rules = dev;
    static const char *const refused[] = {"blockIO", "hugepageLimits", "network", "rdma", "unified", NULL};
    for (int k = 0; refused[k]; k++) {
        json_t *x = get(r, refused[k]);
        if (x && !((json_is_object(x) && json_object_size(x) == 0) || (json_is_array(x) && json_array_size(x) == 0)))
            s->unsupported = refused[k];
    }
    return 0;
}

static int parse_linux(struct parse *p, json_t *l)
{
    struct oci_spec *s = p->s;
    const char *w = "linux.";
    if (!l)
        return 0;
    if (!json_is_object(l))
        return bad(p, "linux: expected an object");
    if (parse_namespaces(p, get(l, "namespaces")) < 0 ||
        parse_idmaps(p, get(l, "uidMappings"), "uidMappings", s->uid_maps, &s->n_uid_maps) < 0 ||
        parse_idmaps(p, get(l, "gidMappings"), "gidMappings", s->gid_maps, &s->n_gid_maps) < 0 ||
        parse_paths(p, get(l, "maskedPaths"), "maskedPaths", s->masked, &s->n_masked, &s->has_masked) < 0 ||
        parse_paths(p, get(l, "readonlyPaths"), "readonlyPaths", s->readonly, &s->n_readonly, &s->has_readonly) < 0 ||
        parse_resources(p, get(l, "resources")) < 0 || get_str(p, l, "rootfsPropagation", w, &s->rootfs_propagation) < 0 ||
        get_str(p, l, "cgroupsPath", w, &s->cgroups_path) < 0 || get_str(p, l, "mountLabel", w, &s->mount_label) < 0)
        return -1;
    json_t *sysctl = get(l, "sysctl"), *v;
    const char *key;
    if (sysctl && (!json_is_object(sysctl) || json_object_size(sysctl) > OCI_MAX_SYSCTL))
        return bad(p, "linux.sysctl: expected an object of at most %d strings", OCI_MAX_SYSCTL);
    json_object_foreach(sysctl, key, v) {
        if (!json_is_string(v))
            return bad(p, "linux.sysctl.%s: expected a string", key);
        if (!*key || strstr(key, "..") || key[0] == '/' || key[0] == '.')
            return bad(p, "linux.sysctl: bad name '%s'", key);
        s->sysctl_key[s->n_sysctl] = key;
        s->sysctl_value[s->n_sysctl++] = json_string_value(v);
    }
    s->devices = get(l, "devices");
    if (s->devices && !json_is_array(s->devices))
        return bad(p, "linux.devices: expected an array");
    s->seccomp = get(l, "seccomp");
    if (s->seccomp && !json_is_object(s->seccomp))
        return bad(p, "linux.seccomp: expected an object");
    json_t *pers = get(l, "personality");
    if (pers) {
        const char *domain = json_string_value(get(pers, "domain"));
        json_t *flags = get(pers, "flags");
        if (!json_is_object(pers) || !domain || (strcmp(domain, "LINUX") && strcmp(domain, "LINUX32")))
            return bad(p, "linux.personality.domain: want LINUX or LINUX32");
        if (flags && (!json_is_array(flags) || json_array_size(flags)))
            return bad(p, "linux.personality.flags: not supported");
        s->personality = strcmp(domain, "LINUX") ? 0x0008 /* PER_LINUX32 */ : 0 /* PER_LINUX */;
    }
    static const char *const refused[] = {"intelRdt", "timeOffsets", "memoryPolicy", NULL};
    for (int i = 0; refused[i]; i++)
        if (get(l, refused[i]))
            s->unsupported = refused[i];
    return 0;
}

/* jansson's integers are int64: the unsigned 64-bit numbers of a config
 * (seccomp argument values and masks, RLIM_INFINITY) above INT64_MAX are
 * rewritten as the int64 of the same bits, which the readers of those
 * fields cast back; a signed field with such a number is out of its range
 * and refused. NULL when nothing needs it (or out of memory: the parse then
 * names the number). */
static char *fix_u64(const char *text, size_t len, size_t *out_len)
{
    char *out = NULL;
    size_t o = 0, copied = 0;
    bool in_str = false;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = false;
            continue;
        }
        if (c == '"') {
            in_str = true;
            continue;
        }
        if (c < '0' || c > '9' ||
            (i > 0 && ((text[i - 1] >= '0' && text[i - 1] <= '9') || text[i - 1] == '-' || text[i - 1] == '.')))
            continue;
        size_t j = i;
        while (j < len && text[j] >= '0' && text[j] <= '9')
            j++;
        bool frac = j < len && (text[j] == '.' || text[j] == 'e' || text[j] == 'E');
        if (j - i < 19 || j - i > 20 || frac) {
            i = j - 1;
            continue;
        }
        char num[24];
        memcpy(num, text + i, j - i);
        num[j - i] = '\0';
        errno = 0;
        unsigned long long v = strtoull(num, NULL, 10);
        if (errno || v <= (unsigned long long)INT64_MAX) {
            i = j - 1;
            continue;
        }
        /* "-N" is at most one character longer than the number it replaces
         * (19 digits above INT64_MAX become 20 characters), and each such
         * number has at least 19 */
        if (!out && !(out = malloc(len + len / 19 + 2)))
            return NULL;
        memcpy(out + o, text + copied, i - copied);
        o += i - copied;
        o += (size_t)snprintf(out + o, 24, "%lld", (long long)v);
        copied = j;
        i = j - 1;
    }
    if (!out)
        return NULL;
    memcpy(out + o, text + copied, len - copied);
    o += len - copied;
    out[o] = '\0';
    *out_len = o;
    return out;
}

/* *s emptied to its defaults and s->root the document (its 64-bit
 * numbers rewritten where jansson would refuse them) */
static int load_json(struct parse *p, const char *text, size_t len)
{
    struct oci_spec *s = p->s;
    json_error_t je;
    memset(s, 0, sizeof(*s));
    s->cpu_quota = -1;
    s->personality = -1;
    s->swappiness = -1;
    p->err[0] = '\0';
    size_t fixed_len = 0;
    char *fixed = fix_u64(text, len, &fixed_len);
    s->root = fixed ? json_loadb(fixed, fixed_len, JSON_REJECT_DUPLICATES, &je)
                    : json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    free(fixed);
    if (!s->root)
        return bad(p, "not valid JSON: %s (line %d)", je.text, je.line);
    return 0;
}

int oci_spec_parse(const char *text, size_t len, struct oci_spec *s, char *err, size_t errlen)
{
    struct parse p = {.s = s, .err = err, .errlen = errlen};
    if (load_json(&p, text, len) < 0)
        return -1;
    if (!json_is_object(s->root))
        return bad(&p, "expected a JSON object");
    json_t *root, *r = s->root;
    if (get_str(&p, r, "ociVersion", "", &s->version) < 0 || get_obj(&p, r, "root", "", &root) < 0 ||
        get_str(&p, r, "hostname", "", &s->hostname) < 0 || get_str(&p, r, "domainname", "", &s->domainname) < 0)
        return -1;
    if (!s->version)
        return bad(&p, "ociVersion: missing");
    if (strncmp(s->version, "1.", 2) != 0)
        return bad(&p, "ociVersion: '%s' is not a 1.x version", s->version);
    if (root && (get_str(&p, root, "path", "root.", &s->root_path) < 0 ||
                 get_bool(&p, root, "readonly", "root.", &s->root_readonly) < 0))
        return -1;
    if (!s->root_path || !*s->root_path)
        return bad(&p, "root.path: missing");
    if (parse_process(&p, get(r, "process")) < 0 || parse_mounts(&p, get(r, "mounts")) < 0 ||
        parse_hooks(&p, get(r, "hooks")) < 0 || parse_linux(&p, get(r, "linux")) < 0)
        return -1;
    s->annotations = get(r, "annotations");
    if (s->annotations && !json_is_object(s->annotations))
        return bad(&p, "annotations: expected an object");
    if (get(r, "windows") || get(r, "solaris") || get(r, "vm") || get(r, "zos"))
        s->unsupported = "a platform other than linux";
    return 0;
}

int oci_resources_parse(const char *text, size_t len, struct oci_spec *s, char *err, size_t errlen)
{
    struct parse p = {.s = s, .err = err, .errlen = errlen};
    return load_json(&p, text, len) < 0 ? -1 : parse_resources(&p, s->root);
}

void oci_spec_free(struct oci_spec *s)
{
    free(s->args);
    free(s->env);
    for (int k = 0; k < OCI_HOOK_KINDS; k++)
        for (size_t i = 0; i < s->n_hooks[k]; i++) {
            free(s->hooks[k][i].args);
            free(s->hooks[k][i].env);
        }
    if (s->root)
        json_decref(s->root);
    memset(s, 0, sizeof(*s));
}
