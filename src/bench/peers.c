/* The peers (crun, runc, bubblewrap): finding them, their OCI bundles, their
 * command lines, and the environment that lets crun run on a hybrid-cgroup
 * host. The bundles give the peers what a default containerv container gets:
 * the same namespaces, capabilities, masked and read-only paths, mounts and
 * seccomp profile, no resource limits; the rootfs is bound read-only
 * (cheaper than containerv's overlay with a writable layer: in the peers'
 * favour). */
#include "bench.h"
#include "../common/seccomp_profile.h"

#include <linux/filter.h>

#include "seccomp_default.h" /* generated: tools/gen-seccomp.c */

#include <dirent.h>
#include <jansson.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#define CGROUP_UNIFIED "/sys/fs/cgroup/unified"

/* ------------------------------------------------------------ PATH */

bool cvb_find_in_path(const char *name, char *out, size_t size)
{
    const char *path = getenv("PATH");
    char buf[4096];
    snprintf(buf, sizeof(buf), "%s", path && *path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    char *save = NULL;
    for (char *dir = strtok_r(buf, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
        if (dir[0] != '/')
            continue;
        snprintf(out, size, "%s/%s", dir, name);
        struct stat st;
        if (stat(out, &st) == 0 && S_ISREG(st.st_mode) && access(out, X_OK) == 0)
            return true;
    }
    out[0] = '\0';
    return false;
}

/* ------------------------------------------------------------ bundles */

/* the same lists as the default profile (src/common/seccomp_profile.h) */
static const char *const caps[] = {
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID",
    "CAP_SETUID", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_SYS_CHROOT",
    "CAP_MKNOD", "CAP_AUDIT_WRITE", "CAP_SETFCAP", NULL,
};
static const char *const masked[] = {
    "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
    "/sys/firmware", "/sys/devices/virtual/powercap", NULL,
};
static const char *const readonly[] = {
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL,
};

static json_t *str_array(const char *const *v)
{
    json_t *a = json_array();
    for (int i = 0; a && v[i]; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

/* Argument values are 64-bit unsigned (masks up to 2^64 - 1), which a json_t
 * integer cannot hold: they go in as strings with this prefix, and
 * write_bundle turns them into bare numbers. */
#define U64_MARK "cv-u64:"

static json_t *u64_json(unsigned long long v)
{
    char buf[48];
    snprintf(buf, sizeof(buf), U64_MARK "%llu", v);
    return json_string(buf);
}

/* In the dumped text, "cv-u64:N" becomes N (in place: the text shrinks). */
static void unquote_u64(char *s)
{
    char *w = s;
    const size_t mark = strlen("\"" U64_MARK);
    while (*s) {
        if (!strncmp(s, "\"" U64_MARK, mark)) {
            s += mark;
            while (*s >= '0' && *s <= '9')
                *w++ = *s++;
            if (*s == '"')
                s++;
        } else {
            *w++ = *s++;
        }
    }
    *w = '\0';
}

/* The default profile (src/common/seccomp_profile.h) as an OCI profile: the
 * calls it allows, those it refuses with EPERM and its argument rules, all
 * from the generated header, so that the peers load the same filter. */
static json_t *seccomp_json(void)
{
    json_t *rules = json_array();
    json_array_append_new(rules, json_pack("{s:o, s:s}", "names", str_array(cv_seccomp_allowed), "action",
                                           "SCMP_ACT_ALLOW"));
    json_array_append_new(rules, json_pack("{s:o, s:s, s:i}", "names", str_array(cv_seccomp_refused),
                                           "action", "SCMP_ACT_ERRNO", "errnoRet", EPERM));
    for (size_t i = 0; i < sizeof(cv_seccomp_arg_rules) / sizeof(cv_seccomp_arg_rules[0]); i++) {
        const struct cv_seccomp_arg_rule *a = &cv_seccomp_arg_rules[i];
        json_t *r = json_pack("{s:[s], s:s, s:[{s:i, s:o, s:o, s:s}]}", "names", a->name, "action",
                              a->errno_ret ? "SCMP_ACT_ERRNO" : "SCMP_ACT_ALLOW", "args", "index", 0, "value",
                              u64_json(a->a), "valueTwo", u64_json(a->b), "op", a->op);
        if (r && a->errno_ret)
            json_object_set_new(r, "errnoRet", json_integer(a->errno_ret));
        json_array_append_new(rules, r);
    }
    return json_pack("{s:s, s:i, s:[s], s:o}", "defaultAction", "SCMP_ACT_ERRNO", "defaultErrnoRet", ENOSYS,
                     "architectures", "SCMP_ARCH_X86_64", "syscalls", rules);
}

static json_t *mount_json(const char *dst, const char *type, const char *src, const char *opts)
{
    json_t *o = json_array();
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", opts);
    char *save = NULL;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
        json_array_append_new(o, json_string(t));
    return json_pack("{s:s, s:s, s:s, s:o}", "destination", dst, "type", type, "source", src,
                     "options", o);
}

static json_t *mounts_json(void)
{
    return json_pack(
        "[o,o,o,o,o,o,o]", mount_json("/proc", "proc", "proc", "nosuid,noexec,nodev"),
        mount_json("/dev", "tmpfs", "tmpfs", "nosuid,noexec,mode=755,size=65536k"),
        mount_json("/dev/pts", "devpts", "devpts",
                   "nosuid,noexec,newinstance,ptmxmode=0666,mode=0620,gid=5"),
        mount_json("/dev/shm", "tmpfs", "shm", "nosuid,noexec,nodev,mode=1777,size=65536k"),
        mount_json("/dev/mqueue", "mqueue", "mqueue", "nosuid,noexec,nodev"),
        mount_json("/sys", "sysfs", "sysfs", "nosuid,noexec,nodev,ro"),
        mount_json("/tmp", "tmpfs", "tmpfs", "nosuid,nodev,mode=1777"));
}

static json_t *config_json(const char *rootfs, const char *const *args)
{
    json_t *process = json_pack(
        "{s:b, s:{s:i, s:i}, s:o, s:[s,s], s:s, s:{s:o, s:o, s:o}, s:b}", "terminal", 0, "user", "uid",
        0, "gid", 0, "args", str_array(args), "env",
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "cwd", "/",
        "capabilities", "bounding", str_array(caps), "effective", str_array(caps), "permitted",
        str_array(caps), "noNewPrivileges", 1);
    json_t *linux_ = json_pack(
        "{s:[{s:s},{s:s},{s:s},{s:s},{s:s},{s:s}], s:o, s:o, s:o}", "namespaces", "type", "pid", "type",
        "network", "type", "ipc", "type", "uts", "type", "mount", "type", "cgroup", "maskedPaths",
        str_array(masked), "readonlyPaths", str_array(readonly), "seccomp", seccomp_json());
    return json_pack("{s:s, s:o, s:{s:s, s:b}, s:s, s:o, s:o}", "ociVersion", "1.0.2", "process",
                     process, "root", "path", rootfs, "readonly", 1, "hostname", "cvbench", "mounts",
                     mounts_json(), "linux", linux_);
}

static int write_bundle(struct cvb *b, char *dir, size_t size, const char *name,
                        const char *const *args)
{
    snprintf(dir, size, "%s/%s", b->tmp, name);
    if (mkdir(dir, 0700) < 0)
        return cv_error(b->err, errno, "bench.bundle", "making '%s'", dir);
    json_t *cfg = config_json(b->rootfs, args);
    char path[PATH_MAX + 16];
    snprintf(path, sizeof(path), "%s/config.json", dir);
    char *text = cfg ? json_dumps(cfg, JSON_INDENT(1)) : NULL;
    json_decref(cfg);
    if (!text)
        return cv_error(b->err, ENOMEM, "bench.bundle", "making '%s'", path);
    unquote_u64(text);
    FILE *f = fopen(path, "we");
    int r = f && fputs(text, f) >= 0 ? 0 : -1;
    if (f && fclose(f) != 0)
        r = -1;
    free(text);
    return r < 0 ? cv_error(b->err, EIO, "bench.bundle", "writing '%s'", path) : 0;
}

static int prepare_peer(struct cvb *b, struct cvb_peer *p, const char *name, bool oci)
{
    p->name = name;
    if (!cvb_find_in_path(name, p->path, sizeof(p->path)) || !oci)
        return 0;
    snprintf(p->root, sizeof(p->root), "%s/%s-root", b->tmp, name);
    if (mkdir(p->root, 0700) < 0)
        return cv_error(b->err, errno, "bench.peer", "making '%s'", p->root);
    return 0;
}

int cvb_peers_prepare(struct cvb *b)
{
    static const char *const run_true[] = {"/bin/true", NULL};
    static const char *const run_sleep[] = {"/bin/sleep", "1000000", NULL};
    int r;
    if ((r = prepare_peer(b, &b->crun, "crun", true)) < 0 ||
        (r = prepare_peer(b, &b->runc, "runc", true)) < 0 ||
        (r = prepare_peer(b, &b->bwrap, "bwrap", false)) < 0)
        return r;
    /* the bundles always: the oci mode runs containerv on them too */
    if ((r = write_bundle(b, b->bundle_true, sizeof(b->bundle_true), "bundle-true", run_true)) < 0)
        return r;
    return write_bundle(b, b->bundle_sleep, sizeof(b->bundle_sleep), "bundle-sleep", run_sleep);
}

/* ------------------------------------------------------------ argv */

void cvb_argv_crun(struct cvb *b, const struct cvb_peer *p, const char *bundle, bool detach,
                   const char *pid_file, struct cvb_argv *a)
{
    int n = 0;
    cvb_name(b, a->name, sizeof(a->name));
    a->v[n++] = (char *)p->path;
    a->v[n++] = (char *)"--root";
    a->v[n++] = (char *)p->root;
    a->v[n++] = (char *)"run";
    a->v[n++] = (char *)"--bundle";
    a->v[n++] = (char *)bundle;
    if (detach)
        a->v[n++] = (char *)"--detach";
    if (pid_file) {
        a->v[n++] = (char *)"--pid-file";
        a->v[n++] = (char *)pid_file;
    }
    a->v[n++] = a->name;
    a->v[n] = NULL;
}

void cvb_argv_bwrap(struct cvb *b, struct cvb_argv *a)
{
    static const char *const args[] = {"--unshare-all", "--ro-bind", NULL, "/", "--proc", "/proc",
                                       "--dev", "/dev", "/bin/true", NULL};
    int n = 0;
    a->v[n++] = b->bwrap.path;
    for (int i = 0; i < 9; i++)
        a->v[n++] = args[i] ? (char *)args[i] : b->rootfs;
    a->v[n] = NULL;
    a->name[0] = '\0';
}

/* The empty cgroup directories a failed crun or runc left, named after the
 * container at the top of each hierarchy (their default cgroupsPath). */
static void remove_cgroup_dirs(const char *name)
{
    DIR *d = opendir("/sys/fs/cgroup");
    struct dirent *e;
    if (!d)
        return;
    while ((e = readdir(d))) {
        char path[PATH_MAX];
        if (e->d_name[0] == '.' || (e->d_type != DT_DIR && e->d_type != DT_UNKNOWN))
            continue;
        snprintf(path, sizeof(path), "/sys/fs/cgroup/%s/%s", e->d_name, name);
        rmdir(path); /* fails, as it should, on a cgroup that still has processes */
    }
    closedir(d);
}

/* crun also makes <name>/cgroup.procs in the tmpfs that stands in for the
 * hybrid cgroup2 mount (cvb_enter_env), and does not remove it. */
static void remove_tmpfs_leftovers(const struct cvb *b, const char *name)
{
    char path[PATH_MAX];
    if (!b->env_tmpfs)
        return;
    snprintf(path, sizeof(path), CGROUP_UNIFIED "/%s/cgroup.procs", name);
    unlink(path);
    snprintf(path, sizeof(path), CGROUP_UNIFIED "/%s", name);
    rmdir(path);
}

void cvb_peer_cleanup(struct cvb *b, const struct cvb_peer *p, const char *name, bool force)
{
    if (force) {
        char *argv[] = {(char *)p->path, (char *)"--root", (char *)p->root, (char *)"delete",
                        (char *)"--force", (char *)name, NULL};
        struct cvb_cmd c = {.path = p->path, .argv = argv, .quiet = true};
        uint64_t ns;
        char why[8];
        cvb_run(b, &c, &ns, why, sizeof(why));
        remove_cgroup_dirs(name);
    }
    remove_tmpfs_leftovers(b, name);
}

/* ------------------------------------------------------------ environment */

static bool hybrid_host(void)
{
    struct statfs root, uni;
    return statfs("/sys/fs/cgroup", &root) == 0 && root.f_type != CGROUP2_SUPER_MAGIC &&
           statfs(CGROUP_UNIFIED, &uni) == 0 && uni.f_type == CGROUP2_SUPER_MAGIC;
}

/* The calling thread gets a private mount namespace in which the cgroup2
 * mount is replaced by an empty tmpfs: crun then sees a legacy (v1) host
 * and runs, and what it writes there vanishes with the namespace. Only this
 * thread (and what it starts) is affected: unshare(CLONE_NEWNS) gives a
 * thread of a multi-threaded process its own fs context. */
void cvb_enter_env(struct cvb *b, char *desc, size_t size)
{
    if (!b->conf.peer_env || !hybrid_host()) {
        snprintf(desc, size, "host mount namespace%s",
                 b->conf.peer_env ? "" : " (private namespace not asked for)");
        return;
    }
    const char *step = "unshare(CLONE_NEWNS)";
    if (unshare(CLONE_NEWNS) < 0) {
        snprintf(desc, size, "host mount namespace (%s failed: %s)", step, strerror(errno));
        return;
    }
    int ok = (step = "making / private", mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0) &&
             (step = "umount " CGROUP_UNIFIED, umount2(CGROUP_UNIFIED, MNT_DETACH) == 0) &&
             (step = "tmpfs on " CGROUP_UNIFIED,
              mount("tmpfs", CGROUP_UNIFIED, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755,size=16m") == 0);
    b->env_tmpfs = ok;
    if (ok)
        snprintf(desc, size, "private mount namespace; the hybrid cgroup2 mount %s replaced by an empty tmpfs",
                 CGROUP_UNIFIED);
    else
        snprintf(desc, size, "private mount namespace, but %s failed: %s (crun may refuse to run)", step,
                 strerror(errno));
}
