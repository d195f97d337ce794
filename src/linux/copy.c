/* Files in and out of a running container.
 *
 * The container's root is reached through /proc/<init>/root, and only after
 * the init's pidfd says the init is still alive: a pid number names the init
 * only while the init lives, so a root opened before that check is the
 * init's (never that of a host process that got the pid after it died).
 * Every container path is resolved inside that root with
 * openat2(RESOLVE_IN_ROOT): an absolute symlink in the container points into
 * the container, never to the host.
 *
 * Both ends must be regular files. The source is opened O_PATH first and
 * checked with fstat, so a FIFO or a device is never opened at all (no
 * blocking, no driver open); a regular file is then reopened for reading.
 * The destination is never opened: the data goes to a new temporary file
 * beside it (O_CREAT|O_EXCL, so it cannot be a FIFO, a device or a symlink)
 * that is renamed over it at the end, or removed on failure; an existing
 * destination that is not a regular file, or is a mount point, is refused.
 * Holes are kept (SEEK_DATA/SEEK_HOLE, then ftruncate to the size) and
 * sources larger than the cap (containerv_copy_options.max_bytes) are
 * refused before a byte is written. */
#include "linux.h"

#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <sys/random.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>

void containerv_copy_options_init(struct containerv_copy_options *co)
{
    if (co)
        *co = (struct containerv_copy_options){.max_bytes = CONTAINERV_COPY_DEFAULT_MAX};
}

/* One end of a copy, for messages: "'/etc/x' in container 'c1'" or "'/tmp/x'". */
struct end {
    const char *path;
    const char *id; /* NULL on the host */
};

static const char *type_name(mode_t m)
{
    return S_ISDIR(m) ? "a directory" : S_ISLNK(m) ? "a symbolic link" : S_ISFIFO(m) ? "a FIFO"
         : S_ISSOCK(m) ? "a socket" : S_ISCHR(m) ? "a character device"
         : S_ISBLK(m) ? "a block device" : "not a regular file";
}

static int refuse_type(mode_t m, const struct end *e, const char *step, struct containerv_error *err)
{
    int code = S_ISDIR(m) ? EISDIR : S_ISLNK(m) ? ELOOP : EINVAL;
    if (e->id)
        return cv_error_plain(err, code, step, "'%s' in container '%s' is %s, not a regular file", e->path,
                              e->id, type_name(m));
    return cv_error_plain(err, code, step, "'%s' is %s, not a regular file", e->path, type_name(m));
}

static int fail_at(const struct end *e, int code, const char *step, const char *what,
                   struct containerv_error *err)
{
    if (e->id)
        return cv_error(err, code, step, "%s'%s' in container '%s'", what, e->path, e->id);
    return cv_error(err, code, step, "%s'%s'", what, e->path);
}

/* The container's root, checked to be the init's. */
static int container_root(struct containerv_container *c, const char *step, struct containerv_error *err)
{
    if (c->init_pidfd < 0) /* every handle has one (create: CLONE_PIDFD; attach: pidfd_open) */
        return cv_error_plain(err, ESRCH, step, "container '%s' has no pidfd of its init", c->id);
    char root[64];
    snprintf(root, sizeof(root), "/proc/%d/root", c->init_pid);
    cv_cleanup_fd int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    int e = errno;
    /* after the open: alive now means it was alive, and had this pid, then */
    if (syscall(SYS_pidfd_send_signal, c->init_pidfd, 0, NULL, 0) < 0)
        return cv_error_plain(err, ESRCH, step, "the init (pid %d) of container '%s' is gone", c->init_pid,
                              c->id);
    if (rootfd < 0)
        return cv_error(err, e, step, "the root of container '%s'", c->id);
    return cv_steal_fd(&rootfd);
}

static int open_in_root(int rootfd, const char *path, uint64_t flags)
{
    struct open_how how = {.flags = flags | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
    int fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
    return fd < 0 ? -errno : fd;
}

/* Open the source (rootfd < 0: on the host) for reading, if it is a regular
 * file no larger than max; *st is its fstat. */
static int open_source(int rootfd, const struct end *e, uint64_t max, struct stat *st, const char *step,
                       struct containerv_error *err)
{
    cv_cleanup_fd int pfd = rootfd >= 0 ? open_in_root(rootfd, e->path, O_PATH)
                                        : open(e->path, O_PATH | O_CLOEXEC);
    if (pfd < 0)
        return fail_at(e, rootfd >= 0 ? -pfd : errno, step, "", err);
    if (fstat(pfd, st) < 0)
        return fail_at(e, errno, step, "", err);
    if (!S_ISREG(st->st_mode))
        return refuse_type(st->st_mode, e, step, err);
    if ((uint64_t)st->st_size > max)
        return cv_error_plain(err, EFBIG, step, "'%s' is %lld bytes, more than the copy limit of %llu bytes",
                              e->path, (long long)st->st_size, (unsigned long long)max);
    char self[64];
    snprintf(self, sizeof(self), "/proc/self/fd/%d", pfd);
    int fd = open(self, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return fail_at(e, errno, step, "opening ", err);
    return fd;
}

/* The destination: its directory, its name there, the temporary file. */
struct dest {
    int dirfd;
    int fd;
    char name[NAME_MAX + 1];
    char tmp[NAME_MAX + 1];
};

static int split_dest(const char *path, char *dir, size_t dir_size, char *name)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    if (!*base || !strcmp(base, ".") || !strcmp(base, ".."))
        return -EISDIR;
    if (strlen(base) > NAME_MAX)
        return -ENAMETOOLONG;
    if ((size_t)(base - path) >= dir_size)
        return -ENAMETOOLONG;
    if (!slash)
        snprintf(dir, dir_size, ".");
    else if (slash == path)
        snprintf(dir, dir_size, "/");
    else
        snprintf(dir, dir_size, "%.*s", (int)(slash - path), path);
    snprintf(name, NAME_MAX + 1, "%s", base);
    return 0;
}

/* Make the temporary file beside the destination; refuse a destination that
 * exists and is not a regular file (rootfd < 0: on the host). */
static int dest_begin(struct dest *d, int rootfd, const struct end *e, mode_t mode, const char *step,
                      struct containerv_error *err)
{
    d->dirfd = d->fd = -1;
    char dir[PATH_MAX];
    int r = split_dest(e->path, dir, sizeof(dir), d->name);
    if (r == -EISDIR)
        return cv_error_plain(err, EISDIR, step, "'%s' names a directory, not a file", e->path);
    if (r < 0)
        return fail_at(e, -r, step, "", err);
    d->dirfd = rootfd >= 0 ? open_in_root(rootfd, dir, O_PATH | O_DIRECTORY)
                           : open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (d->dirfd < 0)
        return fail_at(e, rootfd >= 0 ? -d->dirfd : errno, step, "the directory of ", err);
    /* a mount point (a file bound into the container) is refused: rename
     * would fail in our mount namespace, and would detach the mount in the
     * container's */
    struct statx stx;
    if (statx(d->dirfd, d->name, AT_SYMLINK_NOFOLLOW, STATX_TYPE, &stx) == 0) {
        if (!S_ISREG(stx.stx_mode))
            return refuse_type(stx.stx_mode, e, step, err);
        if (stx.stx_attributes & stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT)
            return cv_error_plain(err, EBUSY, step, "'%s'%s%s%s is a mount point, not replaced", e->path,
                                  e->id ? " in container '" : "", e->id ? e->id : "", e->id ? "'" : "");
    }
    for (int i = 0; i < 16 && d->fd < 0; i++) {
        uint32_t rnd;
        if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
            return fail_at(e, errno, step, "a temporary name for ", err);
        snprintf(d->tmp, sizeof(d->tmp), ".%.200s.cv-%08x", d->name, rnd);
        d->fd = openat(d->dirfd, d->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
                       mode);
        if (d->fd < 0 && errno != EEXIST)
            return fail_at(e, errno, step, "creating a file beside ", err);
    }
    return d->fd < 0 ? fail_at(e, EEXIST, step, "creating a file beside ", err) : 0;
}

/* Rename the temporary file into place (ok), or remove it; close both fds. */
static int dest_end(struct dest *d, bool ok, const struct end *e, const char *step,
                    struct containerv_error *err)
{
    int r = 0;
    if (d->fd >= 0 && ok && renameat(d->dirfd, d->tmp, d->dirfd, d->name) < 0)
        r = fail_at(e, errno, step, "renaming into ", err);
    if (d->fd >= 0 && (!ok || r < 0))
        unlinkat(d->dirfd, d->tmp, 0);
    cv_closep(&d->fd);
    cv_closep(&d->dirfd);
    d->fd = d->dirfd = -1;
    return r;
}

/* Copy [off, end) to the same offsets; *got is where the source ended
 * (before end when it shrank meanwhile). */
static int copy_range(int in, int out, off_t off, off_t end, off_t *got)
{
    loff_t io = off, oo = off;
    bool cfr = true;
    while (io < end) {
        size_t want = (size_t)(end - io < (1 << 30) ? end - io : (1 << 30));
        ssize_t n;
        if (cfr) {
            n = copy_file_range(in, &io, out, &oo, want, 0);
            if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == EOPNOTSUPP || errno == ENOSYS)) {
                cfr = false; /* across file systems that cannot: sendfile */
                continue;
            }
        } else {
            if (lseek(out, oo, SEEK_SET) < 0)
                return -errno;
            n = sendfile(out, in, &io, want);
            if (n > 0)
                oo += n;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            break;
    }
    *got = io;
    return 0;
}

/* Copy size bytes, data extents only; the destination gets the size (holes
 * stay holes). *final is the size written (less when the source shrank). */
static int copy_sparse(int in, int out, off_t size, off_t *final)
{
    off_t off = 0;
    while (off < size) {
        off_t data = lseek(in, off, SEEK_DATA);
        if (data < 0 && errno == ENXIO)
            break; /* a hole to the end */
        if (data < 0)
            return -errno;
        if (data >= size)
            break;
        off_t hole = lseek(in, data, SEEK_HOLE);
        if (hole < 0)
            return -errno;
        if (hole > size)
            hole = size;
        off_t got = hole;
        int r = copy_range(in, out, data, hole, &got);
        if (r < 0)
            return r;
        if (got < hole) { /* the source shrank meanwhile: copy what there was */
            size = got;
            break;
        }
        off = hole;
    }
    *final = size;
    return ftruncate(out, size) < 0 ? -errno : 0;
}

/* from -> to; either rootfd (the container's root) or -1 (the host) per end. */
static int copy_file(int from_root, const struct end *from, int to_root, const struct end *to,
                     const struct containerv_copy_options *co, const char *step, struct containerv_error *err)
{
    uint64_t max = co && co->max_bytes ? co->max_bytes : CONTAINERV_COPY_DEFAULT_MAX;
    struct stat st;
    cv_cleanup_fd int in = open_source(from_root, from, max, &st, step, err);
    if (in < 0)
        return in;
    struct dest d;
    int r = dest_begin(&d, to_root, to, st.st_mode & 0777, step, err);
    if (r < 0) {
        dest_end(&d, false, to, step, NULL);
        return r;
    }
    off_t final;
    r = copy_sparse(in, d.fd, st.st_size, &final);
    if (r < 0)
        cv_error(err, -r, step, "copying '%s' to '%s'", from->path, to->path);
    int r2 = dest_end(&d, r == 0, to, step, r < 0 ? NULL : err);
    return r < 0 ? r : r2;
}

int containerv_upload_ex(struct containerv_container *c, const char *host_path, const char *container_path,
                         const struct containerv_copy_options *co, struct containerv_error *err)
{
    containerv_error_clear(err);
    if (!c || !host_path || !container_path)
        return cv_error_plain(err, EINVAL, "upload", "missing argument");
    cv_cleanup_fd int rootfd = container_root(c, "upload", err);
    if (rootfd < 0)
        return rootfd;
    struct end from = {.path = host_path}, to = {.path = container_path, .id = c->id};
    return copy_file(-1, &from, rootfd, &to, co, "upload", err);
}

int containerv_download_ex(struct containerv_container *c, const char *container_path, const char *host_path,
                           const struct containerv_copy_options *co, struct containerv_error *err)
{
    containerv_error_clear(err);
    if (!c || !host_path || !container_path)
        return cv_error_plain(err, EINVAL, "download", "missing argument");
    cv_cleanup_fd int rootfd = container_root(c, "download", err);
    if (rootfd < 0)
        return rootfd;
    struct end from = {.path = container_path, .id = c->id}, to = {.path = host_path};
    return copy_file(rootfd, &from, -1, &to, co, "download", err);
}

int containerv_upload(struct containerv_container *c, const char *host_path, const char *container_path,
                      struct containerv_error *err)
{
    return containerv_upload_ex(c, host_path, container_path, NULL, err);
}

int containerv_download(struct containerv_container *c, const char *container_path, const char *host_path,
                        struct containerv_error *err)
{
    return containerv_download_ex(c, container_path, host_path, NULL, err);
}
