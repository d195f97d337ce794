/* Templates: named container specifications saved as JSON under the state
 * dir (<state>/templates/<name>.json). The format is in docs/pools.md; a file
 * is validated field by field when loaded, and every value goes through the
 * public option setters, so a hand-edited file meets the same checks as the
 * CLI's options. */
#include "../common/internal.h"

#include <containerv/pool.h>

#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>

#define TPL_FORMAT 1

static const char *const ns_names[] = {"mount", "pid", "ipc", "uts", "net", "cgroup", "user"};
static const char *const relax_names[] = {"seccomp",        "caps",           "no_new_privs",
                                          "masked_paths",   "readonly_paths", "devices"};
#define N_NS (sizeof(ns_names) / sizeof(ns_names[0]))
#define N_RELAX (sizeof(relax_names) / sizeof(relax_names[0]))

const char *containerv_default_state_dir(void)
{
    const char *env = getenv("CONTAINERV_STATE_DIR");
    return env && env[0] == '/' ? env : "/var/lib/containerv";
}

static const char *state_or_default(const char *state_dir)
{
    return state_dir && *state_dir ? state_dir : containerv_default_state_dir();
}

static int template_path(const char *state_dir, const char *name, char *buf, size_t size,
                         struct containerv_error *err)
{
    if (!name || !cv_valid_id(name))
        return cv_error_plain(err, EINVAL, "template.name", "invalid template name '%s'",
                              name ? name : "(null)");
    int n = snprintf(buf, size, "%s/templates/%s.json", state_or_default(state_dir), name);
    if (n < 0 || (size_t)n >= size)
        return cv_error_plain(err, ENAMETOOLONG, "template.path", "state dir too long '%s'",
                              state_or_default(state_dir));
    return 0;
}

/* ------------------------------------------------------------ writing */

static json_t *str_array(char *const *v, int n)
{
    json_t *a = json_array();
    for (int i = 0; a && i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

static json_t *mask_array(unsigned mask, const char *const *names, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        if (mask & (1u << i))
            json_array_append_new(a, json_string(names[i]));
    return a;
}

static json_t *idmaps_json(const struct cv_idmap *m, int n)
{
    json_t *a = json_array();
    for (int i = 0; a && i < n; i++)
        json_array_append_new(a, json_pack("{s:I,s:I,s:I}", "inside", (json_int_t)m[i].inside,
                                           "outside", (json_int_t)m[i].outside, "count",
                                           (json_int_t)m[i].count));
    return a;
}

static json_t *opt_str(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *binds_json(const struct containerv_options *o)
{
    json_t *a = json_array();
    for (int i = 0; a && i < o->n_binds; i++) {
        const struct cv_bind *b = &o->binds[i];
        if (b->fstype) /* a new file system (containerv_options_add_mount) */
            json_array_append_new(a, json_pack("{s:s,s:s,s:s,s:I,s:o}", "type", b->fstype, "source", b->src,
                                               "destination", b->dst, "flags", (json_int_t)b->flags, "data",
                                               opt_str(b->data)));
        else
            json_array_append_new(a, json_pack("{s:s,s:s,s:b}", "source", b->src, "destination", b->dst,
                                               "read_only", b->read_only));
    }
    return a;
}

/* CONTAINERV_UNLIMITED is the same as unset for a new container: 0 */
static json_int_t limit_int(uint64_t v)
{
    return v == CONTAINERV_UNLIMITED ? 0 : (json_int_t)v;
}

static json_t *limits_json(const struct cv_limits *l)
{
    json_t *j = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I}", "memory", limit_int(l->memory), "memory_swap",
                          limit_int(l->memory_swap), "pids", limit_int(l->pids), "cpu_weight",
                          (json_int_t)l->cpu_weight, "cpu_quota_us", limit_int(l->cpu_quota_us),
                          "cpu_period_us", (json_int_t)l->cpu_period_us);
    /* since 0.3, only when set: older templates read the same */
    if (j && l->cpu_shares)
        json_object_set_new(j, "cpu_shares", json_integer((json_int_t)l->cpu_shares));
    if (j && l->memory_reservation)
        json_object_set_new(j, "memory_reservation", json_integer((json_int_t)l->memory_reservation));
    if (j && l->swappiness_set)
        json_object_set_new(j, "memory_swappiness", json_integer(l->swappiness));
    if (j && l->oom_kill_disable)
        json_object_set_new(j, "oom_kill_disable", json_true());
    if (j && l->cpuset_cpus[0])
        json_object_set_new(j, "cpuset_cpus", json_string(l->cpuset_cpus));
    if (j && l->cpuset_mems[0])
        json_object_set_new(j, "cpuset_mems", json_string(l->cpuset_mems));
    if (j && l->n_dev_rules) {
        json_t *a = json_array();
        for (int i = 0; a && i < l->n_dev_rules; i++) {
            const struct cv_device_rule *d = &l->dev_rules[i];
            char acc[4];
            cv_device_access_text(d->access, acc);
            json_array_append_new(a, json_pack("{s:b,s:s%,s:I,s:I,s:s}", "allow", d->allow, "type", &d->type,
                                               (size_t)1, "major", (json_int_t)d->major, "minor",
                                               (json_int_t)d->minor, "access", acc));
        }
        json_object_set_new(j, "device_rules", a);
    }
    if (j && l->rt_set) {
        json_object_set_new(j, "cpu_rt_runtime_us", json_integer((json_int_t)l->rt_runtime_us));
        json_object_set_new(j, "cpu_rt_period_us", json_integer((json_int_t)l->rt_period_us));
    }
    return j;
}

static json_t *options_json_base(const char *name, const struct containerv_options *o);

static json_t *options_json(const char *name, const struct containerv_options *o)
{
    json_t *j = options_json_base(name, o);
    if (j && o->no_tmp_tmpfs) /* only when off: older readers never see it */
        json_object_set_new(j, "tmp_tmpfs", json_false());
    if (j && o->masked_set)
        json_object_set_new(j, "masked_paths", str_array(o->masked, o->n_masked));
    if (j && o->readonly_set)
        json_object_set_new(j, "readonly_paths", str_array(o->readonly, o->n_readonly));
    return j;
}

static json_t *options_json_base(const char *name, const struct containerv_options *o)
{
    return json_pack("{s:i,s:s,s:o,s:o,s:o,s:o,s:o,s:{s:I,s:I},s:o,s:o,s:o,s:o,s:b,s:o,s:o}",
                     "containerv_template", TPL_FORMAT, "name", name, "rootfs",
                     opt_str(o->rootfs), "lowers", str_array(o->lowers, o->n_lowers), "hostname",
                     opt_str(o->hostname), "env", str_array(o->env, o->n_env), "workdir",
                     opt_str(o->workdir), "user", "uid", (json_int_t)o->uid, "gid",
                     (json_int_t)o->gid, "limits", limits_json(&o->limits), "namespaces",
                     mask_array(o->namespaces, ns_names, N_NS), "uid_maps",
                     idmaps_json(o->uid_maps, o->n_uid_maps), "gid_maps",
                     idmaps_json(o->gid_maps, o->n_gid_maps), "read_only", o->read_only, "binds",
                     binds_json(o), "relax", mask_array(o->relax, relax_names, N_RELAX));
}

static int mkdir_p(const char *path, struct containerv_error *err)
{
    char buf[PATH_MAX];
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *p = buf + 1;; p++) {
        bool end = *p == '\0';
        if (*p == '/' || end) {
            *p = '\0';
            if (mkdir(buf, 0755) < 0 && errno != EEXIST)
                return cv_error(err, errno, "template.mkdir", "making '%s'", buf);
            if (end)
                return 0;
            *p = '/';
        }
    }
}

static int write_atomic(const char *path, const char *text, struct containerv_error *err)
{
    char tmp[PATH_MAX + 16];
    size_t len = strlen(text);
    snprintf(tmp, sizeof(tmp), "%s.tmp%d", path, (int)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0)
        return cv_error(err, errno, "template.write", "creating '%s'", tmp);
    ssize_t w = write(fd, text, len);
    int r = w < 0 ? -errno : ((size_t)w == len ? 0 : -EIO);
    if (close(fd) < 0 && r == 0)
        r = -errno;
    if (r == 0 && rename(tmp, path) < 0)
        r = -errno;
    if (r < 0) {
        unlink(tmp);
        return cv_error(err, -r, "template.write", "writing '%s'", path);
    }
    return 0;
}

int containerv_template_create(const char *state_dir, const char *name,
                               const struct containerv_options *opts, struct containerv_error *err)
{
    char path[PATH_MAX], dir[PATH_MAX];
    containerv_error_clear(err);
    if (!opts)
        return cv_error_plain(err, EINVAL, "template.create", "no options");
    if (opts->rootfs_writable) /* every container of a template would write one tree */
        return cv_error_plain(err, EINVAL, "template.create",
                              "a writable in-place rootfs cannot be a template's: its containers would share it");
    if (opts->cgroup_path) /* one cgroup, every container of the template in it */
        return cv_error_plain(err, EINVAL, "template.create",
                              "a cgroup path cannot be a template's: its containers would share one cgroup");
    int r = template_path(state_dir, name, path, sizeof(path), err);
    if (r < 0)
        return r;
    snprintf(dir, sizeof(dir), "%s/templates", state_or_default(state_dir));
    if ((r = mkdir_p(dir, err)) < 0)
        return r;
    json_t *j = options_json(name, opts);
    char *text = j ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(j);
    if (!text)
        return cv_error(err, ENOMEM, "template.create", "encoding '%s'", name);
    size_t len = strlen(text);
    char *nl = realloc(text, len + 2);
    if (!nl) {
        free(text);
        return cv_error(err, ENOMEM, "template.create", "encoding '%s'", name);
    }
    memcpy(nl + len, "\n", 2);
    r = write_atomic(path, nl, err);
    free(nl);
    return r;
}

/* ------------------------------------------------------------ reading */

/* One parse: the file, the first error, the options being filled. */
struct tpl_parse {
    const char *path;
    struct containerv_error *err;
    struct containerv_options *o;
    int rc;
};

__attribute__((format(printf, 3, 4))) static int bad(struct tpl_parse *p, const char *field,
                                                     const char *fmt, ...)
{
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    if (p->rc == 0)
        p->rc = cv_error_plain(p->err, EINVAL, "template.parse", "'%s': field '%s': %s", p->path,
                               field, what);
    return p->rc;
}

/* Apply a setter's result: 0, or the error naming the field. */
static int set_rc(struct tpl_parse *p, const char *field, int r)
{
    if (r == 0)
        return 0;
    return bad(p, field, "rejected: %s", strerror(-r));
}

static bool get_u64(json_t *v, uint64_t *out)
{
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return false;
    *out = (uint64_t)json_integer_value(v);
    return true;
}

/* An optional string (absent or null: skip); *s NULL then. */
static int opt_string(struct tpl_parse *p, json_t *root, const char *key, const char **s)
{
    json_t *v = json_object_get(root, key);
    *s = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return bad(p, key, "expected a string or null");
    *s = json_string_value(v);
    return 0;
}

static int parse_strings(struct tpl_parse *p, json_t *root, const char *key,
                         int (*add)(struct containerv_options *, const char *))
{
    json_t *a = json_object_get(root, key), *v;
    size_t i;
    char field[64];
    if (!a)
        return 0;
    if (!json_is_array(a))
        return bad(p, key, "expected an array of strings");
    json_array_foreach(a, i, v) {
        snprintf(field, sizeof(field), "%s[%zu]", key, i);
        if (!json_is_string(v))
            return bad(p, field, "expected a string");
        if (set_rc(p, field, add(p->o, json_string_value(v))) < 0)
            return p->rc;
    }
    return 0;
}

static int parse_mask(struct tpl_parse *p, json_t *root, const char *key, const char *const *names,
                      size_t n, unsigned *mask)
{
    json_t *a = json_object_get(root, key), *v;
    size_t i, k;
    char field[64];
    *mask = 0;
    if (!json_is_array(a))
        return bad(p, key, "expected an array of names");
    json_array_foreach(a, i, v) {
        snprintf(field, sizeof(field), "%s[%zu]", key, i);
        for (k = 0; json_is_string(v) && k < n; k++)
            if (strcmp(json_string_value(v), names[k]) == 0)
                break;
        if (!json_is_string(v) || k == n)
            return bad(p, field, "unknown name");
        *mask |= 1u << k;
    }
    return 0;
}

static int parse_idmaps(struct tpl_parse *p, json_t *root, const char *key,
                        int (*add)(struct containerv_options *, uint32_t, uint32_t, uint32_t))
{
    json_t *a = json_object_get(root, key), *v;
    size_t i;
    char field[64];
    if (!a)
        return 0;
    if (!json_is_array(a))
        return bad(p, key, "expected an array");
    json_array_foreach(a, i, v) {
        uint64_t in, out, count;
        snprintf(field, sizeof(field), "%s[%zu]", key, i);
        if (!get_u64(json_object_get(v, "inside"), &in) ||
            !get_u64(json_object_get(v, "outside"), &out) ||
            !get_u64(json_object_get(v, "count"), &count) || in > UINT32_MAX ||
            out > UINT32_MAX || count > UINT32_MAX)
            return bad(p, field, "expected {\"inside\", \"outside\", \"count\"} of 32-bit integers");
        if (set_rc(p, field, add(p->o, (uint32_t)in, (uint32_t)out, (uint32_t)count)) < 0)
            return p->rc;
    }
    return 0;
}

static int parse_binds(struct tpl_parse *p, json_t *root)
{
    json_t *a = json_object_get(root, "binds"), *v;
    size_t i;
    char field[64];
    if (!a)
        return 0;
    if (!json_is_array(a))
        return bad(p, "binds", "expected an array");
    json_array_foreach(a, i, v) {
        json_t *src = json_object_get(v, "source"), *dst = json_object_get(v, "destination");
        json_t *ro = json_object_get(v, "read_only"), *type = json_object_get(v, "type");
        snprintf(field, sizeof(field), "binds[%zu]", i);
        if (type) { /* a new file system */
            json_t *fl = json_object_get(v, "flags"), *data = json_object_get(v, "data");
            uint64_t flags = 0;
            if (!json_is_string(type) || !json_is_string(dst) || (fl && !get_u64(fl, &flags)) ||
                (data && !json_is_string(data) && !json_is_null(data)) || (src && !json_is_string(src)))
                return bad(p, field, "expected {\"type\", \"source\", \"destination\", \"flags\", \"data\"}");
            if (set_rc(p, field, containerv_options_add_mount(p->o, json_string_value(type),
                                                              src ? json_string_value(src) : NULL, json_string_value(dst),
                                                              (unsigned long)flags,
                                                              json_is_string(data) ? json_string_value(data)
                                                                                   : NULL)) < 0)
                return p->rc;
            continue;
        }
        if (!json_is_string(src) || !json_is_string(dst) || (ro && !json_is_boolean(ro)))
            return bad(p, field, "expected {\"source\", \"destination\", \"read_only\"}");
        if (set_rc(p, field, containerv_options_add_bind(p->o, json_string_value(src),
                                                         json_string_value(dst),
                                                         ro && json_is_true(ro))) < 0)
            return p->rc;
    }
    return 0;
}

static int parse_limits(struct tpl_parse *p, json_t *root)
{
    static const char *const keys[] = {"memory", "memory_swap", "pids", "cpu_weight",
                                       "cpu_quota_us", "cpu_period_us"};
    uint64_t v[6] = {0};
    char field[64];
    json_t *l = json_object_get(root, "limits");
    if (!l)
        return 0;
    if (!json_is_object(l))
        return bad(p, "limits", "expected an object");
    for (size_t i = 0; i < 6; i++) {
        json_t *x = json_object_get(l, keys[i]);
        snprintf(field, sizeof(field), "limits.%s", keys[i]);
        if (x && !get_u64(x, &v[i]))
            return bad(p, field, "expected an unsigned integer");
    }
    struct containerv_options *o = p->o;
    if ((v[0] && set_rc(p, "limits.memory", containerv_options_set_memory_limit(o, v[0])) < 0) ||
        (v[1] && set_rc(p, "limits.memory_swap", containerv_options_set_memory_swap_limit(o, v[1])) < 0) ||
        (v[2] && set_rc(p, "limits.pids", containerv_options_set_pids_limit(o, v[2])) < 0) ||
        (v[3] && set_rc(p, "limits.cpu_weight", containerv_options_set_cpu_weight(o, v[3])) < 0) ||
        ((v[4] || v[5]) && set_rc(p, "limits.cpu_quota_us", containerv_options_set_cpu_quota(o, v[4], v[5])) < 0))
        return p->rc;
    json_t *x = json_object_get(l, "cpu_shares");
    uint64_t u = 0;
    if (x && !get_u64(x, &u))
        return bad(p, "limits.cpu_shares", "expected an unsigned integer");
    if (x && set_rc(p, "limits.cpu_shares", containerv_options_set_cpu_shares(o, u)) < 0)
        return p->rc;
    x = json_object_get(l, "memory_reservation");
    if (x && !get_u64(x, &u))
        return bad(p, "limits.memory_reservation", "expected an unsigned integer");
    if (x && set_rc(p, "limits.memory_reservation", containerv_options_set_memory_reservation(o, u)) < 0)
        return p->rc;
    x = json_object_get(l, "memory_swappiness");
    if (x && (!get_u64(x, &u) || u > 100))
        return bad(p, "limits.memory_swappiness", "expected an integer from 0 to 100");
    if (x && set_rc(p, "limits.memory_swappiness", containerv_options_set_memory_swappiness(o, (int)u)) < 0)
        return p->rc;
    x = json_object_get(l, "oom_kill_disable");
    if (x && !json_is_boolean(x))
        return bad(p, "limits.oom_kill_disable", "expected true or false");
    if (x)
        containerv_options_set_oom_kill_disable(o, json_is_true(x));
    static const char *const lists[] = {"cpuset_cpus", "cpuset_mems"};
    for (int i = 0; i < 2; i++) {
        x = json_object_get(l, lists[i]);
        snprintf(field, sizeof(field), "limits.%s", lists[i]);
        if (x && !json_is_string(x))
            return bad(p, field, "expected a string");
        if (x && set_rc(p, field, (i ? containerv_options_set_cpuset_mems : containerv_options_set_cpuset_cpus)(
                                      o, json_string_value(x))) < 0)
            return p->rc;
    }
    json_t *rules = json_object_get(l, "device_rules");
    if (rules && !json_is_array(rules))
        return bad(p, "limits.device_rules", "expected an array");
    size_t k;
    json_t *d;
    json_array_foreach(rules, k, d) {
        int allow = 0;
        const char *type = NULL, *acc = NULL;
        json_int_t maj = -1, min = -1;
        snprintf(field, sizeof(field), "limits.device_rules[%zu]", k);
        if (json_unpack(d, "{s:b,s:s,s:I,s:I,s:s}", "allow", &allow, "type", &type, "major", &maj, "minor", &min,
                        "access", &acc) < 0 || strlen(type) != 1)
            return bad(p, field, "expected {\"allow\", \"type\", \"major\", \"minor\", \"access\"}");
        if (set_rc(p, field, containerv_options_add_device_rule(o, allow, type[0], maj, min, acc)) < 0)
            return p->rc;
    }
    json_t *rt = json_object_get(l, "cpu_rt_runtime_us"), *rp = json_object_get(l, "cpu_rt_period_us");
    if ((rt && !json_is_integer(rt)) || (rp && !json_is_integer(rp)) || (rp && !rt))
        return bad(p, "limits.cpu_rt_runtime_us", "expected integers (runtime, and a period with it)");
    if (rt && set_rc(p, "limits.cpu_rt_runtime_us",
                     containerv_options_set_cpu_realtime(o, json_integer_value(rt),
                                                         rp && json_integer_value(rp) > 0 ? (uint64_t)json_integer_value(rp) : 0)) < 0)
        return p->rc;
    return 0;
}

static int parse_user(struct tpl_parse *p, json_t *root)
{
    json_t *u = json_object_get(root, "user");
    uint64_t uid = 0, gid = 0;
    if (!u)
        return 0;
    if (!json_is_object(u))
        return bad(p, "user", "expected {\"uid\", \"gid\"}");
    if (!get_u64(json_object_get(u, "uid"), &uid) || uid >= UINT32_MAX)
        return bad(p, "user.uid", "expected a 32-bit unsigned integer");
    if (!get_u64(json_object_get(u, "gid"), &gid) || gid >= UINT32_MAX)
        return bad(p, "user.gid", "expected a 32-bit unsigned integer");
    return set_rc(p, "user", containerv_options_set_user(p->o, (uid_t)uid, (gid_t)gid));
}

static int parse_scalars(struct tpl_parse *p, json_t *root)
{
    const char *rootfs, *hostname, *workdir;
    json_t *ro = json_object_get(root, "read_only");
    if (opt_string(p, root, "rootfs", &rootfs) < 0 || opt_string(p, root, "hostname", &hostname) < 0 ||
        opt_string(p, root, "workdir", &workdir) < 0)
        return p->rc;
    if ((rootfs && set_rc(p, "rootfs", containerv_options_set_rootfs(p->o, rootfs)) < 0) ||
        (hostname && set_rc(p, "hostname", containerv_options_set_hostname(p->o, hostname)) < 0) ||
        (workdir && set_rc(p, "workdir", containerv_options_set_workdir(p->o, workdir)) < 0))
        return p->rc;
    if (ro && !json_is_boolean(ro))
        return bad(p, "read_only", "expected true or false");
    return set_rc(p, "read_only", containerv_options_set_read_only(p->o, ro && json_is_true(ro)));
}

static int parse_header(struct tpl_parse *p, json_t *root, const char *name)
{
    json_t *f = json_object_get(root, "containerv_template"), *n = json_object_get(root, "name");
    if (!json_is_object(root))
        return bad(p, "(top level)", "expected an object");
    if (!json_is_integer(f) || json_integer_value(f) != TPL_FORMAT)
        return bad(p, "containerv_template", "expected the format version %d", TPL_FORMAT);
    if (!json_is_string(n) || strcmp(json_string_value(n), name) != 0)
        return bad(p, "name", "expected \"%s\" (the file's name)", name);
    return 0;
}

static int parse_all(struct tpl_parse *p, json_t *root, const char *name)
{
    unsigned ns = 0, relax = 0;
    if (parse_header(p, root, name) < 0 || parse_scalars(p, root) < 0 ||
        parse_strings(p, root, "lowers", containerv_options_add_lower) < 0 ||
        parse_strings(p, root, "env", containerv_options_add_env) < 0 || parse_user(p, root) < 0 ||
        parse_limits(p, root) < 0 ||
        parse_idmaps(p, root, "uid_maps", containerv_options_add_uid_map) < 0 ||
        parse_idmaps(p, root, "gid_maps", containerv_options_add_gid_map) < 0 ||
        parse_binds(p, root) < 0)
        return p->rc;
    json_t *tmp = json_object_get(root, "tmp_tmpfs");
    if (tmp && !json_is_boolean(tmp))
        return bad(p, "tmp_tmpfs", "expected true or false");
    if (tmp)
        containerv_options_set_tmp_tmpfs(p->o, json_is_true(tmp));
    static const char *const lists[2] = {"masked_paths", "readonly_paths"};
    for (int k = 0; k < 2; k++) {
        json_t *a = json_object_get(root, lists[k]), *v;
        size_t i;
        if (!a)
            continue;
        const char *paths[CV_MAX_PATHS + 1];
        if (!json_is_array(a) || json_array_size(a) > CV_MAX_PATHS)
            return bad(p, lists[k], "expected an array of at most 64 paths");
        json_array_foreach(a, i, v) {
            if (!json_is_string(v))
                return bad(p, lists[k], "expected strings");
            paths[i] = json_string_value(v);
        }
        paths[json_array_size(a)] = NULL;
        int r = k == 0 ? containerv_options_set_masked_paths(p->o, paths) : containerv_options_set_readonly_paths(p->o, paths);
        if (set_rc(p, lists[k], r) < 0)
            return p->rc;
    }
    if (json_object_get(root, "namespaces") &&
        (parse_mask(p, root, "namespaces", ns_names, N_NS, &ns) < 0 ||
         set_rc(p, "namespaces", containerv_options_set_namespaces(p->o, ns)) < 0))
        return p->rc;
    if (json_object_get(root, "relax") &&
        (parse_mask(p, root, "relax", relax_names, N_RELAX, &relax) < 0 ||
         set_rc(p, "relax", containerv_options_set_relax(p->o, relax)) < 0))
        return p->rc;
    if (p->o->rootfs && p->o->n_lowers)
        return bad(p, "rootfs", "cannot be combined with lowers");
    return 0;
}

static int load_json(const char *path, json_t **root, struct containerv_error *err)
{
    json_error_t je;
    cv_cleanup_fd int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? cv_error_plain(err, ENOENT, "template.load", "no template '%s'", path)
                               : cv_error(err, errno, "template.load", "opening '%s'", path);
    *root = json_loadfd(fd, JSON_REJECT_DUPLICATES, &je);
    if (!*root)
        return cv_error_plain(err, EINVAL, "template.parse", "'%s': line %d column %d: %s", path,
                              je.line, je.column, je.text);
    return 0;
}

int containerv_template_load(const char *state_dir, const char *name,
                             struct containerv_options **opts, struct containerv_error *err)
{
    char path[PATH_MAX];
    json_t *root = NULL;
    containerv_error_clear(err);
    if (!opts)
        return cv_error_plain(err, EINVAL, "template.load", "no options pointer");
    *opts = NULL;
    int r = template_path(state_dir, name, path, sizeof(path), err);
    if (r < 0 || (r = load_json(path, &root, err)) < 0)
        return r;
    struct tpl_parse p = {.path = path, .err = err, .o = containerv_options_new()};
    if (!p.o)
        r = cv_error(err, ENOMEM, "template.load", "allocating options");
    else
        r = parse_all(&p, root, name);
    json_decref(root);
    if (r < 0)
        containerv_options_free(p.o);
    else
        *opts = p.o;
    return r;
}

int containerv_template_show(const char *state_dir, const char *name, char **json,
                             struct containerv_error *err)
{
    struct containerv_options *o = NULL;
    if (!json)
        return cv_error_plain(err, EINVAL, "template.show", "no output pointer");
    *json = NULL;
    int r = containerv_template_load(state_dir, name, &o, err);
    if (r < 0)
        return r;
    json_t *j = options_json(name, o);
    *json = j ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(j);
    containerv_options_free(o);
    return *json ? 0 : cv_error(err, ENOMEM, "template.show", "encoding '%s'", name);
}

/* ------------------------------------------------------------ list, delete */

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "<valid name>.json" -> name in buf; false for anything else. */
static bool template_file(const char *file, char *buf, size_t size)
{
    size_t n = strlen(file);
    if (n <= 5 || strcmp(file + n - 5, ".json") != 0 || n - 5 >= size)
        return false;
    memcpy(buf, file, n - 5);
    buf[n - 5] = '\0';
    return cv_valid_id(buf);
}

static int push_name(char ***names, size_t *count, const char *name)
{
    char **n = realloc(*names, (*count + 1) * sizeof(*n));
    if (!n)
        return -ENOMEM;
    *names = n;
    if (!(n[*count] = strdup(name)))
        return -ENOMEM;
    (*count)++;
    return 0;
}

int containerv_template_list(const char *state_dir, char ***names, size_t *count,
                             struct containerv_error *err)
{
    char dir[PATH_MAX], name[CV_ID_MAX + 1];
    containerv_error_clear(err);
    if (!names || !count)
        return cv_error_plain(err, EINVAL, "template.list", "no output pointers");
    *names = NULL;
    *count = 0;
    snprintf(dir, sizeof(dir), "%s/templates", state_or_default(state_dir));
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : cv_error(err, errno, "template.list", "opening '%s'", dir);
    int r = 0;
    for (struct dirent *e; r == 0 && (e = readdir(d));)
        if (template_file(e->d_name, name, sizeof(name)))
            r = push_name(names, count, name);
    closedir(d);
    if (r < 0) {
        containerv_template_list_free(*names, *count);
        *names = NULL;
        *count = 0;
        return cv_error(err, -r, "template.list", "listing '%s'", dir);
    }
    if (*count)
        qsort(*names, *count, sizeof(**names), cmp_names);
    return 0;
}

void containerv_template_list_free(char **names, size_t count)
{
    for (size_t i = 0; names && i < count; i++)
        free(names[i]);
    free(names);
}

int containerv_template_delete(const char *state_dir, const char *name,
                               struct containerv_error *err)
{
    char path[PATH_MAX];
    containerv_error_clear(err);
    int r = template_path(state_dir, name, path, sizeof(path), err);
    if (r < 0)
        return r;
    if (unlink(path) < 0)
        return errno == ENOENT ? cv_error_plain(err, ENOENT, "template.delete", "no template '%s'", path)
                               : cv_error(err, errno, "template.delete", "removing '%s'", path);
    return 0;
}
