/* The pool daemon's wire protocol: framing, checks, fd passing (proto.h). */
#include "proto.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

void cvd_hdr_init(struct cvd_hdr *h, enum cvd_type type, size_t len)
{
    memset(h, 0, sizeof(*h));
    h->magic = CVD_MAGIC;
    h->version = CVD_VERSION;
    h->type = (uint16_t)type;
    h->len = (uint32_t)len;
}

size_t cvd_size(int type)
{
    switch (type) {
    case CVD_RUN: return sizeof(struct cvd_run);
    case CVD_SIGNAL: return sizeof(struct cvd_signal);
    case CVD_STATUS: return sizeof(struct cvd_hdr);
    case CVD_STARTED: return sizeof(struct cvd_started);
    case CVD_EXITED: return sizeof(struct cvd_exited);
    case CVD_ERROR: return sizeof(struct cvd_error);
    case CVD_STATUS_ROW: return sizeof(struct cvd_status_row);
    case CVD_STATUS_END: return sizeof(struct cvd_status_end);
    case CVD_QUEUED: return sizeof(struct cvd_queued);
    default: return 0;
    }
}

int cvd_check(const void *buf, size_t n)
{
    struct cvd_hdr h;

    if (n < sizeof(h))
        return -1;
    memcpy(&h, buf, sizeof(h));
    if (h.magic != CVD_MAGIC || h.version != CVD_VERSION || h.len != n || n > CVD_MAX_MSG)
        return -1;
    size_t want = cvd_size(h.type);
    if (want == 0 || n < want || (h.type != CVD_RUN && n != want))
        return -1;
    return h.type;
}

int cvd_send(int sock, const void *msg, size_t len, const int *fds, int nfds)
{
    union {
        char buf[CMSG_SPACE(sizeof(int) * CVD_MAX_FDS)];
        struct cmsghdr align;
    } u;
    struct iovec iov = {.iov_base = (void *)msg, .iov_len = len};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
    ssize_t n;

    if (nfds < 0 || nfds > CVD_MAX_FDS)
        return -EINVAL;
    if (nfds > 0) {
        memset(&u, 0, sizeof(u));
        mh.msg_control = u.buf;
        mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
        struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
        memcpy(CMSG_DATA(cm), fds, sizeof(int) * (size_t)nfds);
    }
    do
        n = sendmsg(sock, &mh, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    return (size_t)n == len ? 0 : -EMSGSIZE;
}

static void close_all(int *fds, int *nfds)
{
    for (int i = 0; i < *nfds; i++)
        close(fds[i]);
    *nfds = 0;
}

ssize_t cvd_recv(int sock, void *buf, size_t size, int *fds, int max_fds, int *nfds)
{
    /* room for more fds than allowed, so that too many is seen, not cut */
    union {
        char buf[CMSG_SPACE(sizeof(int) * 16)];
        struct cmsghdr align;
    } u;
    struct iovec iov = {.iov_base = buf, .iov_len = size};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                        .msg_controllen = sizeof(u.buf)};
    ssize_t n;
    bool bad = false;

    *nfds = 0;
    do
        n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
        if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) {
            bad = true;
            continue;
        }
        size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < k; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
            if (*nfds < max_fds && *nfds < 16) {
                fds[(*nfds)++] = fd;
            } else {
                close(fd);
                bad = true;
            }
        }
    }
    if (mh.msg_flags & MSG_CTRUNC)
        bad = true;
    if (bad) {
        close_all(fds, nfds);
        return -EPROTO;
    }
    if (mh.msg_flags & MSG_TRUNC) {
        close_all(fds, nfds);
        return -EMSGSIZE;
    }
    return n;
}

void cvd_strlcpy(char *dst, const char *src, size_t size)
{
    size_t n = strnlen(src, size - 1);

    memcpy(dst, src, n);
    memset(dst + n, 0, size - n);
}

const char *cvd_socket_path(const char *given)
{
    const char *env = getenv("CONTAINERV_SOCKET");

    if (given && *given)
        return given;
    return env && *env ? env : CVD_DEFAULT_SOCKET;
}

int cvd_connect(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd, r;

    if (strlen(path) >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    do
        r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
    while (r < 0 && errno == EINTR);
    if (r < 0) {
        r = -errno;
        close(fd);
        return r;
    }
    return fd;
}

/* The descriptors of a client who is not root reach the workload (root,
 * default capabilities) only when they are a pipe, a socket, a terminal or
 * /dev/null: through a directory, a file or a device (or an O_PATH handle
 * to any of them) the workload would walk or reopen host objects with its
 * rights (/proc/self/fd/0/..., a write through /proc/self/fd/1). Reopening
 * a pipe, a socket or a terminal through /proc gives nothing the client
 * did not hold already. NULL, or why fd is refused. */
const char *cvd_fd_refusal(int fd)
{
    struct stat st;
    int fl = fcntl(fd, F_GETFL);

    if (fl < 0 || fstat(fd, &st) < 0)
        return "cannot inspect it";
    if (fl & O_PATH)
        return "an O_PATH descriptor";
    if (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))
        return NULL;
    if (S_ISCHR(st.st_mode) && (isatty(fd) || st.st_rdev == makedev(1, 3)))
        return NULL;
    return S_ISDIR(st.st_mode) ? "a directory" : S_ISREG(st.st_mode) ? "a regular file" :
           S_ISCHR(st.st_mode) ? "a device that is not a terminal or /dev/null" :
           "not a pipe, socket or terminal";
}
