/* Files in and out of a running container. The container's root is reached
 * through /proc/<init>/root and every container path is resolved inside it
 * with openat2(RESOLVE_IN_ROOT): an absolute symlink in the container points
 * into the container, never to the host. */
#include "linux.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>

static int open_in_container(struct containerv_container *c, const char *path, int flags, mode_t mode,
                             const char *step, struct containerv_error *err)
{
    char root[64];
    snprintf(root, sizeof(root), "/proc/%d/root", c->init_pid);
    cv_cleanup_fd int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
        return cv_error(err, errno, step, "the root of container '%s'", c->id);
    struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC), .mode = mode,
                           .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
    int fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
    if (fd < 0)
        return cv_error(err, errno, step, "'%s' in container '%s'", path, c->id);
    return fd;
}

static int copy_fd(int in, int out)
{
    for (;;) {
        ssize_t n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);
        if (n == 0)
            return 0;
        if (n > 0)
            continue;
        if (errno == EINTR)
            continue;
        if (errno != EXDEV && errno != EINVAL && errno != EOPNOTSUPP && errno != ENOSYS)
            return -errno;
        break; /* across file systems that cannot: sendfile */
    }
    for (;;) {
        ssize_t n = sendfile(out, in, NULL, 1 << 30);
        if (n == 0)
            return 0;
        if (n < 0 && errno != EINTR)
            return -errno;
    }
}

static int check_regular(int fd, const char *path, const char *step, struct containerv_error *err,
                         mode_t *mode)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return cv_error(err, errno, step, "'%s'", path);
    if (!S_ISREG(st.st_mode))
        return cv_error_plain(err, EINVAL, step, "'%s' is not a regular file", path);
    if (mode)
        *mode = st.st_mode & 0777;
    return 0;
}

int containerv_upload(struct containerv_container *c, const char *host_path, const char *container_path,
                      struct containerv_error *err)
{
    containerv_error_clear(err);
    if (!c || !host_path || !container_path)
        return cv_error_plain(err, EINVAL, "upload", "missing argument");
    cv_cleanup_fd int in = open(host_path, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return cv_error(err, errno, "upload", "'%s'", host_path);
    mode_t mode = 0644;
    int r = check_regular(in, host_path, "upload", err, &mode);
    if (r < 0)
        return r;
    cv_cleanup_fd int out = open_in_container(c, container_path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW,
                                              mode, "upload", err);
    if (out < 0)
        return out;
    r = copy_fd(in, out);
    return r < 0 ? cv_error(err, -r, "upload", "copying '%s' to '%s'", host_path, container_path) : 0;
}

int containerv_download(struct containerv_container *c, const char *container_path, const char *host_path,
                        struct containerv_error *err)
{
    containerv_error_clear(err);
    if (!c || !host_path || !container_path)
        return cv_error_plain(err, EINVAL, "download", "missing argument");
    cv_cleanup_fd int in = open_in_container(c, container_path, O_RDONLY, 0, "download", err);
    if (in < 0)
        return in;
    mode_t mode = 0644;
    int r = check_regular(in, container_path, "download", err, &mode);
    if (r < 0)
        return r;
    cv_cleanup_fd int out = open(host_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (out < 0)
        return cv_error(err, errno, "download", "'%s'", host_path);
    r = copy_fd(in, out);
    return r < 0 ? cv_error(err, -r, "download", "copying '%s' to '%s'", container_path, host_path) : 0;
}
