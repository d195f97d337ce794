/* The container's file system, built by the child inside its new mount
 * namespace: nothing here is visible on the host, so the kernel removes it
 * all when the namespace dies. Every mount target is resolved inside the
 * rootfs with openat2(RESOLVE_IN_ROOT) and mounted by fd, so a symlink in an
 * image cannot redirect a mount to the host. Runs after clone, in a child
 * that shares its creator's memory and TLS: raw system calls only
 * (childsys.h), no allocation, and no instrumentation (built without the
 * sanitizers, as child.c). The host's part, /dev prepared once, is marked. */
#include "childsys.h"
#include "linux.h"
#include "security.h"

#include <fcntl.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/sysmacros.h>

#define IN_ROOT (RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)

static int sys_openat2(int dirfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve)
{
    struct open_how how = {.flags = flags, .mode = mode, .resolve = resolve};
    return (int)cv_raw6(SYS_openat2, dirfd, (long)path, (long)&how, sizeof(how), 0, 0);
}

static int sys_open_tree(int dfd, const char *path, unsigned flags)
{
    return (int)cv_raw3(SYS_open_tree, dfd, path, flags);
}

static int sys_move_mount(int from, int to)
{
    static const char empty[] = "";
    return (int)cv_raw5(SYS_move_mount, from, empty, to, empty, MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
}

static int sys_setattr(int fd, unsigned flags, uint64_t set)
{
    static const char empty[] = "";
    struct mount_attr attr = {.attr_set = set};
    return (int)cv_raw5(SYS_mount_setattr, fd, empty, AT_EMPTY_PATH | flags, &attr, sizeof(attr));
}

static void fd_path(char *buf, size_t n, int fd)
{
    snprintf(buf, n, "/proc/self/fd/%d", fd);
}

/* Resolve path inside root; with create, make the missing directories (or,
 * for the last component, an empty file when want_file). O_PATH fd or -errno. */
static int resolve_in_root(int rootfd, const char *path, bool create, bool want_file)
{
    int fd = sys_openat2(rootfd, path, O_PATH | O_CLOEXEC, 0, IN_ROOT);
    if (fd >= 0 || fd != -ENOENT || !create)
        return fd;
    char buf[4096];
    if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
        return -ENAMETOOLONG;
    int cur = sys_openat2(rootfd, "/", O_PATH | O_DIRECTORY | O_CLOEXEC, 0, IN_ROOT);
    char *save = NULL;
    for (char *part = strtok_r(buf, "/", &save); part && cur >= 0; part = strtok_r(NULL, "/", &save)) {
        bool last = (save == NULL || *save == '\0');
        int next = sys_openat2(cur, part, O_PATH | O_CLOEXEC, 0, IN_ROOT);
        if (next == -ENOENT) {
            int r;
            if (last && want_file) {
                r = sys_openat2(cur, part, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644, IN_ROOT);
                if (r >= 0)
                    r = cs_close(r);
            } else {
                r = cs_mkdirat(cur, part, 0755);
            }
            if (r < 0 && r != -EEXIST) {
                cs_close(cur);
                return r;
            }
            next = sys_openat2(cur, part, O_PATH | O_CLOEXEC, 0, IN_ROOT);
        }
        cs_close(cur);
        cur = next;
    }
    return cur;
}

/* Mount a new file system on path inside root; source names it in
 * /proc/self/mountinfo (NULL: the type's name). */
static int mount_source_in_root(int rootfd, const char *path, const char *source, const char *fstype,
                                unsigned long flags, const char *data)
{
    int fd = resolve_in_root(rootfd, path, true, false);
    if (fd < 0)
        return fd;
    char target[64];
    fd_path(target, sizeof(target), fd);
    int r = cs_mount(source ? source : fstype, target, fstype, flags, data);
    cs_close(fd);
    return r;
}

static int mount_in_root(int rootfd, const char *path, const char *fstype, unsigned long flags,
                         const char *data)
{
    return mount_source_in_root(rootfd, path, NULL, fstype, flags, data);
}

/* Bind the tree at srcfd onto path inside root (read-only when asked). */
static int bind_attrs(int rootfd, int srcfd, const char *path, uint64_t attrs, bool recursive,
                      bool want_file)
{
    int tree = sys_open_tree(srcfd, "", OPEN_TREE_CLOEXEC | OPEN_TREE_CLONE | AT_EMPTY_PATH |
                                            (recursive ? AT_RECURSIVE : 0));
    if (tree < 0)
        return tree;
    int r = attrs ? sys_setattr(tree, AT_RECURSIVE, attrs) : 0;
    int dst = r < 0 ? r : resolve_in_root(rootfd, path, true, want_file);
    if (dst < 0)
        r = dst;
    else
        r = sys_move_mount(tree, dst);
    if (dst >= 0)
        cs_close(dst);
    cs_close(tree);
    return r;
}

/* Move a detached tree prepared on the host onto path inside root. */
/* Attach the tree cloned on the host at path. That clone was made before
 * this namespace's own mounts (the root, /proc, /dev, ...), so its mount ids
 * are lower, and the kernel lists a namespace's mounts in id order
 * (/proc/self/mountinfo, since 6.8): listed before the root it sits on.
 * With reorder (containerv_options_set_exact_mount_order), a copy made
 * here, once attached, takes the place the config's order gives it (what
 * the OCI validation suite checks); the first is unmounted: four system
 * calls more a bind, 20 -> 75 µs here (the lazy unmount waits for RCU). */
static int move_in_root(int rootfd, int tree, const char *path, bool want_file, bool reorder)
{
    int dst = resolve_in_root(rootfd, path, true, want_file);
    if (dst < 0)
        return dst;
    int r = sys_move_mount(tree, dst);
    cs_close(dst);
    if (r < 0 || !reorder)
        return r;
    int top = sys_openat2(rootfd, path, O_PATH | O_CLOEXEC, 0, IN_ROOT); /* the attached tree's root */
    if (top < 0)
        return top;
    int copy = sys_open_tree(top, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_EMPTY_PATH);
    if (copy >= 0) {
        char p[64];
        fd_path(p, sizeof(p), top);
        r = (int)cv_raw3(SYS_umount2, p, MNT_DETACH, 0);
    }
    cs_close(top);
    if (copy < 0)
        return copy;
    if (r == 0) {
        int d = resolve_in_root(rootfd, path, false, want_file);
        r = d < 0 ? d : sys_move_mount(copy, d);
        if (d >= 0)
            cs_close(d);
    }
    cs_close(copy);
    return r;
}

static int bind_in_root(int rootfd, int srcfd, const char *path, bool read_only, bool recursive,
                        bool want_file)
{
    return bind_attrs(rootfd, srcfd, path, read_only ? MOUNT_ATTR_RDONLY : 0, recursive, want_file);
}

/* Append path to the overlay options, escaping the characters overlay splits on. */
static size_t put_escaped(char *buf, size_t off, size_t size, const char *path)
{
    for (const char *p = path; *p && off + 2 < size; p++) {
        if (*p == ':' || *p == ',' || *p == '\\')
            buf[off++] = '\\';
        buf[off++] = *p;
    }
    buf[off < size ? off : size - 1] = '\0';
    return off;
}

/* The writable layer lives on a tmpfs mounted over the runtime directory in
 * the container's own mount namespace: it is made in microseconds, charged
 * to the container's memory cgroup, and freed by the kernel with the
 * namespace (nothing to remove on the host, even after the runtime is
 * killed). Overlay gets paths, not fds: it must clone the upper layer's
 * mount, which the kernel allows only for mounts of the caller's own (new)
 * mount namespace. */
/* The size of each of the container's big tmpfs mounts (the writable layer,
 * /tmp): its memory limit, or without one half the RAM but at most 4 GiB (the
 * kernel's default is half the RAM for each mount, of every container). */
#define CV_TMPFS_DEFAULT_MAX (4ull << 30)
static unsigned long long tmpfs_size(const struct containerv_options *o)
{
    if (o->limits.memory && o->limits.memory != CONTAINERV_UNLIMITED)
        return (unsigned long long)o->limits.memory;
    struct sysinfo si;
    if (cv_raw3(SYS_sysinfo, &si, 0, 0) < 0)
        return CV_TMPFS_DEFAULT_MAX;
    unsigned long long half = (unsigned long long)si.totalram * si.mem_unit / 2;
    return half < CV_TMPFS_DEFAULT_MAX ? half : CV_TMPFS_DEFAULT_MAX;
}

static int mount_layer_tmpfs(struct cv_child_args *a)
{
    char opts[64];
    snprintf(opts, sizeof(opts), "mode=0755,size=%llu", tmpfs_size(a->opts));
    int r = cs_mount("tmpfs", a->layer_dir, "tmpfs", MS_NOSUID | MS_NODEV, opts);
    return r < 0 ? r : cs_mkdir(a->rootfs_mnt, 0755);
}

static int mount_overlay(struct cv_child_args *a)
{
    char upper[4300], work[4300], opts[16384];
    snprintf(upper, sizeof(upper), "%s/upper", a->layer_dir);
    snprintf(work, sizeof(work), "%s/work", a->layer_dir);
    int r;
    if ((r = cs_mkdir(upper, 0755)) < 0 || (r = cs_mkdir(work, 0700)) < 0)
        return r;
    size_t n = sizeof(opts), off = (size_t)snprintf(opts, n, "lowerdir=");
    for (int i = 0; i < a->n_lowers; i++) {
        if (i)
            opts[off++] = ':'; /* the separator, unescaped */
        off = put_escaped(opts, off, n, a->lower_paths[i]);
    }
    off += (size_t)snprintf(opts + off, n - off, ",upperdir=");
    off = put_escaped(opts, off, n, upper);
    off += (size_t)snprintf(opts + off, n - off, ",workdir=");
    off = put_escaped(opts, off, n, work);
    if (off + 16 >= n)
        return -ENAMETOOLONG;
    snprintf(opts + off, n - off, "%s", a->userns ? ",userxattr" : "");
    unsigned long fl = (a->opts->relax & CONTAINERV_RELAX_DEVICES) ? 0 : MS_NODEV;
    if ((r = cs_mount("overlay", a->rootfs_mnt, "overlay", fl, opts)) < 0)
        return r;
    /* the init keeps the upper dir to tell, at a reset, whether anything was
     * written (it stays reachable after pivot_root detaches the layer) */
    r = cs_open(upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    a->upper_fd = r < 0 ? -1 : r;
    return r < 0 ? r : 0;
}

static int mount_root(struct cv_child_args *a)
{
    int r = mount_layer_tmpfs(a);
    if (r < 0 || a->single_tree < 0)
        return r < 0 ? r : mount_overlay(a);
    int mnt = cs_open(a->rootfs_mnt, O_PATH | O_DIRECTORY | O_CLOEXEC);
    r = mnt < 0 ? mnt : sys_move_mount(a->single_tree, mnt);
    if (mnt >= 0)
        cs_close(mnt);
    return r;
}

struct devnode {
    const char *name;
    unsigned major, minor;
};

static const struct devnode devnodes[] = {
    {"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0},
};

static const char *const devlinks[][2] = {
    {"pts/ptmx", "ptmx"}, {"/proc/self/fd", "fd"}, {"/proc/self/fd/0", "stdin"},
    {"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"}, {"/proc/kcore", "core"},
};
static const char *const devdirs[] = {"pts", "shm", "mqueue"};

/* ----------------------------------------------- /dev, prepared once (host)
 * (the host's own code: glibc, errno, pthread_once) */

static struct {
    pthread_once_t once;
    int fd; /* the detached, read-only tree; -errno when it cannot be made or cloned */
    dev_t dev; /* its file system and root inode: the fd is checked on each use */
    ino_t ino;
} dev_master = {.once = PTHREAD_ONCE_INIT, .fd = -ENOSYS};

static int build_dev_master(void)
{
    int fs = (int)syscall(SYS_fsopen, "tmpfs", FSOPEN_CLOEXEC);
    if (fs < 0)
        return -errno;
    int r = 0;
    if (syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "mode", "755", 0) < 0 ||
        syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "size", "64k", 0) < 0 ||
        syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
        r = -errno;
    int m = r < 0 ? r : (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC);
    if (m < 0)
        r = m == -1 ? -errno : m;
    /* the caller's umask applies here (not in the child, which sets 0):
     * set the mode explicitly */
    for (size_t i = 0; r == 0 && i < sizeof(devnodes) / sizeof(devnodes[0]); i++)
        if (mknodat(m, devnodes[i].name, S_IFCHR | 0666, makedev(devnodes[i].major, devnodes[i].minor)) < 0 ||
            fchmodat(m, devnodes[i].name, 0666, 0) < 0)
            r = -errno;
    for (size_t i = 0; r == 0 && i < sizeof(devlinks) / sizeof(devlinks[0]); i++)
        if (symlinkat(devlinks[i][0], m, devlinks[i][1]) < 0)
            r = -errno;
    for (size_t i = 0; r == 0 && i < sizeof(devdirs) / sizeof(devdirs[0]); i++)
        if (mkdirat(m, devdirs[i], 0755) < 0)
            r = -errno;
    /* read-only: the mount (clones inherit it) and the superblock */
    if (r == 0)
        r = sys_setattr(m, 0, MOUNT_ATTR_RDONLY);
    if (r == 0) {
        int pick = (int)syscall(SYS_fspick, m, "", FSPICK_EMPTY_PATH | FSPICK_CLOEXEC);
        if (pick < 0 || syscall(SYS_fsconfig, pick, FSCONFIG_SET_FLAG, "ro", NULL, 0) < 0 ||
            syscall(SYS_fsconfig, pick, FSCONFIG_CMD_RECONFIGURE, NULL, NULL, 0) < 0)
            r = -errno;
        if (pick >= 0)
            close(pick);
    }
    close(fs);
    if (r < 0) {
        if (m >= 0)
            close(m);
        return r;
    }
    return m;
}

static void dev_master_once(void)
{
    int m = build_dev_master();
    if (m < 0) {
        dev_master.fd = m;
        return;
    }
    /* can this kernel clone a detached mount? (>= 6.15; else EINVAL) */
    int t = sys_open_tree(m, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
    if (t < 0) {
        close(m);
        dev_master.fd = t;
        return;
    }
    close(t);
    struct stat st;
    if (fstat(m, &st) < 0) {
        dev_master.fd = -errno;
        close(m);
        return;
    }
    dev_master.dev = st.st_dev;
    dev_master.ino = st.st_ino;
    dev_master.fd = m; /* kept for the life of the process */
}

int cv_dev_tree(void)
{
    /* not for the first container of a process: making the tree costs more
     * than the child's own /dev (measured: 0.3 ms standalone, more with the
     * CLI), so a process that makes one container (the CLI) never does */
    static int calls;
    if (__atomic_fetch_add(&calls, 1, __ATOMIC_RELAXED) == 0)
        return -EAGAIN;
    pthread_once(&dev_master.once, dev_master_once);
    if (dev_master.fd < 0)
        return dev_master.fd;
    /* The process owns its fds: one that closed ours and reused the number
     * would otherwise have whatever it now points at cloned as the
     * container's /dev. Its own tmpfs has a device number of its own: a
     * mismatch means the number is no longer ours, and the child builds
     * its /dev itself (the tree is not made again: the process closes fds
     * it did not open). */
    struct stat st;
    if (fstat(dev_master.fd, &st) < 0 || st.st_dev != dev_master.dev || st.st_ino != dev_master.ino)
        return -ESTALE;
    return sys_open_tree(dev_master.fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
}

/* ------------------------------------------------------ /dev (child) */

/* A new file system on a directory of our own /dev: after pivot_root, by
 * its plain path (the /dev we made, nothing of the image's on the way:
 * one call), before it, through the root fd. */
static int mount_dev_dir(int rootfd, bool pivoted, const char *path, const char *source, const char *fstype,
                         unsigned long flags, const char *data)
{
    if (pivoted && cs_mount(source, path, fstype, flags, data) == 0)
        return 0;
    return mount_source_in_root(rootfd, path, source, fstype, flags, data);
}

/* The filesystems mounted on /dev's directories, per container. */
static int mount_dev_dirs(int rootfd, bool userns, bool pivoted)
{
    int r = mount_dev_dir(rootfd, pivoted, "/dev/pts", "devpts", "devpts", MS_NOSUID | MS_NOEXEC,
                          userns ? "newinstance,ptmxmode=0666,mode=0620"
                                 : "newinstance,ptmxmode=0666,mode=0620,gid=5");
    if (r == 0)
        r = mount_dev_dir(rootfd, pivoted, "/dev/shm", "shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                          "mode=1777,size=65536k");
    if (r == 0)
        r = mount_dev_dir(rootfd, pivoted, "/dev/mqueue", "mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
    return r;
}

/* /dev is a tmpfs that allows device nodes, so it is made read-only once
 * populated: with every other writable mount nodev, a workload's CAP_MKNOD
 * cannot reach a host device (this is what a device cgroup does elsewhere,
 * and works the same on cgroup v1 and v2). With a tree prepared on the host
 * (dev_tree, read-only already) the child only moves it in place and mounts
 * the per-container file systems on its directories. */
static int make_dev(int rootfd, int dev_tree, bool userns, bool writable, bool pivoted)
{
    if (dev_tree >= 0) {
        int r = move_in_root(rootfd, dev_tree, "/dev", false, false);
        return r < 0 ? r : mount_dev_dirs(rootfd, userns, pivoted);
    }
    int r = mount_in_root(rootfd, "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=755,size=65536k");
    if (r < 0)
        return r;
    int devfd = sys_openat2(rootfd, "/dev", O_PATH | O_DIRECTORY | O_CLOEXEC, 0, IN_ROOT);
    if (devfd < 0)
        return devfd;
    for (size_t i = 0; r == 0 && i < sizeof(devnodes) / sizeof(devnodes[0]); i++) {
        const struct devnode *d = &devnodes[i];
        if (!userns) {
            r = cs_mknodat(devfd, d->name, S_IFCHR | 0666, makedev(d->major, d->minor));
            continue;
        }
        /* in a user namespace device nodes cannot be made: bind the host's */
        char host[32], path[32];
        snprintf(host, sizeof(host), "/dev/%s", d->name);
        snprintf(path, sizeof(path), "/dev/%s", d->name);
        int src = cs_open(host, O_PATH | O_CLOEXEC);
        r = src < 0 ? src : bind_in_root(rootfd, src, path, false, false, true);
        if (src >= 0)
            cs_close(src);
    }
    for (size_t i = 0; r == 0 && i < sizeof(devlinks) / sizeof(devlinks[0]); i++)
        r = cs_symlinkat(devlinks[i][0], devfd, devlinks[i][1]);
    for (size_t i = 0; r == 0 && i < sizeof(devdirs) / sizeof(devdirs[0]); i++)
        r = cs_mkdirat(devfd, devdirs[i], 0755);
    cs_close(devfd);
    if (r == 0)
        r = mount_dev_dirs(rootfd, userns, pivoted);
    if (r == 0 && !writable) {
        int fd = sys_openat2(rootfd, "/dev", O_PATH | O_DIRECTORY | O_CLOEXEC, 0, IN_ROOT);
        r = fd < 0 ? fd : sys_setattr(fd, 0, MOUNT_ATTR_RDONLY);
        if (fd >= 0)
            cs_close(fd);
    }
    return r;
}

static int mount_sys(int rootfd, const struct containerv_options *o, bool host_reachable)
{
    unsigned long fl = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
    if (o->namespaces & CONTAINERV_NS_NET) {
        int r = mount_in_root(rootfd, "/sys", "sysfs", fl, NULL);
        if (r == 0 || r != -EPERM || !host_reachable)
            return r;
    }
    /* without a network namespace of its own, a container gets the host's
     * /sys read-only */
    int src = cs_open("/sys", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (src < 0)
        return src;
    int r = bind_in_root(rootfd, src, "/sys", true, true, false);
    cs_close(src);
    return r;
}

/* Masked paths (bound to /dev/null, or an empty read-only tmpfs for a
 * directory) and read-only paths (bound onto themselves read-only). Runs in
 * the pivot helper (child.c), while the child joins its cgroup and applies
 * its security settings, so raw system calls only. */
#define NO_SAN

/* After pivot_root and the unmount of the host's root, "/" is the
 * container's root and nothing else is reachable, and /proc, /sys and /dev
 * are the file systems the child has just mounted: plain paths are safe,
 * and mount(2) with paths takes one call where the fd-based API takes
 * four (resolve, clone, set attributes, move). */
static const unsigned long ro_remount = MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NOEXEC;

/* /dev/null over a file, an empty read-only tmpfs over a directory; a path
 * that does not exist on this kernel is left alone. Read-only: the node is
 * the one of /dev, whose file system the containers of this process share
 * (and not nodev, or it would not open). The table says which of the two a
 * path is: a bind refused with ENOTDIR has already cloned the mount, and
 * disposing of the clone waits for an RCU grace period (60-80 µs under
 * load, against ~20 for the tmpfs); a wrong guess still works, by a second
 * call. */
/* The first masked directory gets the empty tmpfs, the others a bind of
 * it: one superblock per container instead of one per directory (each
 * costs ~4 KiB of kernel memory and per-CPU counters; measured with
 * slabinfo, docs/benchmarks.md "Memory: where it goes"). *first is the
 * tmpfs's absolute path once there is one. */
NO_SAN static long mask_dir(const char *path, const char *abs, const char **first)
{
    static const char tmpfs[] = "tmpfs", opts[] = "size=0,mode=0555";
    if (*first && cv_raw5(SYS_mount, *first, path, 0, MS_BIND, 0) == 0)
        return 0; /* read-only: the superblock is */
    long r = cv_raw5(SYS_mount, tmpfs, path, tmpfs, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, opts);
    if (r == 0 && !*first)
        *first = abs;
    return r;
}

NO_SAN static long mask_file(const char *path)
{
    static const char null[] = "/dev/null";
    long r = cv_raw5(SYS_mount, null, path, 0, MS_BIND, 0);
    return r == 0 ? cv_raw5(SYS_mount, 0, path, 0, ro_remount, 0) : r;
}

NO_SAN static long raw_mask_one(const struct cv_masked_path *m, const char *abs, const char **first)
{
    long r = m->dir ? mask_dir(m->path, abs, first) : mask_file(m->path);
    if (r == -ENOTDIR)
        r = m->dir ? mask_file(m->path) : mask_dir(m->path, abs, first);
    return r == -ENOENT ? 0 : r;
}

/* Each path is looked up from its first directory ("/proc", "/sys"), made
 * the cwd when it changes: the walk then starts below the mount instead of
 * at "/" (a tenth of the masks' time went to walking "/proc" again and
 * again). Where that directory cannot be entered, the path is used as it
 * is. The cwd is "/" again at the end: inline, this is the child. */
NO_SAN static const char *below(const char *path, char *cwd, size_t size)
{
    size_t n = 1;
    while (path[n] && path[n] != '/')
        n++;
    if (!path[n] || n >= size)
        return path;
    size_t same = 0;
    while (same < n && cwd[same] == path[same])
        same++;
    if (same != n || cwd[n] != '\0') {
        for (size_t i = 0; i < n; i++)
            cwd[i] = path[i];
        cwd[n] = '\0';
        if (cv_raw3(SYS_chdir, cwd, 0, 0) < 0)
            cwd[0] = '\0';
    }
    return cwd[0] ? path + n + 1 : path;
}

NO_SAN long cv_mask_paths(struct cv_helper *h)
{
    static const char root[] = "/";
    unsigned relax = (unsigned)h->arg[1];
    const struct containerv_options *o = (const struct containerv_options *)h->arg[2];
    char cwd[32] = {0};
    const char *first = NULL;
    bool moved = false;
    long r = 0;
    if (o && o->masked_set) { /* the caller's list (an OCI config's): each is a file or a directory */
        for (int i = 0; r == 0 && !(relax & CONTAINERV_RELAX_MASKED_PATHS) && i < o->n_masked; i++) {
            struct cv_masked_path m = {below(o->masked[i], cwd, sizeof(cwd)), false};
            moved |= cwd[0] != '\0';
            r = raw_mask_one(&m, o->masked[i], &first);
        }
    } else {
        for (int i = 0; r == 0 && !(relax & CONTAINERV_RELAX_MASKED_PATHS) && cv_masked_paths[i].path; i++) {
            struct cv_masked_path m = {below(cv_masked_paths[i].path, cwd, sizeof(cwd)), cv_masked_paths[i].dir};
            moved |= cwd[0] != '\0';
            r = raw_mask_one(&m, cv_masked_paths[i].path, &first);
        }
    }
    int n_ro = o && o->readonly_set ? o->n_readonly : -1;
    for (int i = 0; r == 0 && !(relax & CONTAINERV_RELAX_READONLY_PATHS) && (n_ro < 0 ? cv_readonly_paths[i] != NULL : i < n_ro);
         i++) {
        const char *path = n_ro < 0 ? cv_readonly_paths[i] : o->readonly[i];
        const char *p = below(path, cwd, sizeof(cwd));
        moved |= cwd[0] != '\0';
        r = cv_raw5(SYS_mount, p, p, 0, MS_BIND | MS_REC, 0);
        if (r == -ENOENT) {
            r = 0;
            continue;
        }
        if (r == 0)
            r = cv_raw5(SYS_mount, 0, p, 0, ro_remount | MS_NODEV, 0);
    }
    long back = moved ? cv_raw3(SYS_chdir, root, 0, 0) : 0;
    return r < 0 ? r : back;
}

/* pivot_root(".", ".") stacks the host's root on ours; a lazy unmount
 * removes it. The unmount waits for the kernel, so a helper does it (with
 * lo up, cv_after_pivot) while the child goes on; child.c waits for it
 * before ready. The helper has its own copy of the fs context, with its cwd
 * at the stacked root; the child's cwd moves to the new root at once,
 * below the stacked one, as after the unmount. */
static int pivot(int rootfd, struct cv_helper *h, bool lo, const struct containerv_options *o)
{
    unsigned relax = o->relax;
    static const char dot[] = ".", root[] = "/";
    int r = cs_fchdir(rootfd);
    if (r < 0 || (r = (int)cv_raw3(SYS_pivot_root, dot, dot, 0)) < 0)
        return r;
    h->fn = cv_after_pivot;
    h->arg[0] = lo;
    h->arg[1] = (long)relax;
    h->arg[2] = (long)o;
    h->go = 0;
    cv_helper_start(h);
    return cs_chdir(root);
}

#define STEP(name, expr)                                                     \
    do {                                                                     \
        uint64_t t0_ = cv_now_ns();                                          \
        int r_ = cv_fault_child(a->fault, name, a->sync_fd) ? -EIO : (expr);                  \
        if (r_ >= 0 && cv_fault_child_after(a->fault, name))                \
            return cv_child_fail(m, name, EIO, "injected fault after the step"); \
        if (r_ < 0)                                                          \
            return cv_child_fail(m, name, r_, what);                         \
        cv_child_step(m, name, t0_);                                         \
    } while (0)

int cv_child_setup_rootfs(struct cv_child_args *a, struct cv_sync_msg *m)
{
    const struct containerv_options *o = a->opts;
    const char *what = a->rootfs_mnt;
    int rootfd = -1;

    STEP("child.mount.private", cs_mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL));
    STEP("child.mount.rootfs", mount_root(a));
    rootfd = cs_open(a->rootfs_mnt, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
        return cv_child_fail(m, "child.mount.rootfs", rootfd, what);
    what = "/proc";
    STEP("child.mount.proc", mount_in_root(rootfd, "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL));
    /* pivot_root as early as it can be, so that the lazy unmount of the
     * host's root it starts (70 µs alone, 150-500 µs in a child under load)
     * overlaps the mounts below: once /proc is there (mount_in_root goes
     * through /proc/self/fd) and when no later step needs a host path (a
     * user namespace's /dev binds the host's device nodes; /sys without a
     * network namespace is the host's) */
    bool early = (o->namespaces & CONTAINERV_NS_NET) && !a->userns;
    what = a->rootfs_mnt;
    if (early)
        STEP("child.pivot_root", pivot(rootfd, &a->pivot_helper, cv_own_net(a), o));
    what = "/dev";
    STEP("child.mount.dev", make_dev(rootfd, a->dev_tree, a->userns, o->relax & CONTAINERV_RELAX_DEVICES, early));
    what = "/sys";
    STEP("child.mount.sys", mount_sys(rootfd, o, !early));
    what = "/tmp";
    char tmp_opts[64];
    snprintf(tmp_opts, sizeof(tmp_opts), "mode=1777,size=%llu", tmpfs_size(o));
    if (o->no_tmp_tmpfs)
        STEP("child.mount.tmp", 0); /* the rootfs's own /tmp; a fault still fires */
    else
        STEP("child.mount.tmp", mount_in_root(rootfd, "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, tmp_opts));
    if (o->n_binds == 0)
        STEP("child.mount.binds", 0); /* nothing to mount; a fault still fires */
    for (int i = 0; i < o->n_binds; i++) {
        const struct cv_bind *b = &o->binds[i];
        what = b->dst;
        if (b->fstype)
            STEP("child.mount.binds", mount_source_in_root(rootfd, b->dst, b->src, b->fstype, b->flags, b->data));
        else
            STEP("child.mount.binds", move_in_root(rootfd, a->bind_trees[i], b->dst, a->bind_is_file[i],
                                                           o->exact_mount_order));
    }
    if (o->workdir) { /* made when missing, as docker does; a read-only root may refuse */
        int wd = resolve_in_root(rootfd, o->workdir, true, false);
        if (wd >= 0)
            cs_close(wd);
    }
    what = a->rootfs_mnt;
    if (o->read_only || (a->single_tree >= 0 && !o->rootfs_writable))
        STEP("child.rootfs.readonly", sys_setattr(rootfd, 0, MOUNT_ATTR_RDONLY));
    if (!early)
        STEP("child.pivot_root", pivot(rootfd, &a->pivot_helper, cv_own_net(a), o));
    cs_close(rootfd);
    /* masks: the pivot helper's, now that /proc, /sys and /dev are there
     * (waited for before ready) */
    if (cv_fault_child(a->fault, "child.mask", a->sync_fd))
        return cv_child_fail(m, "child.mask", EIO, "/proc");
    cv_helper_go(&a->pivot_helper);
    return 0;
}
