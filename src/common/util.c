/* Small utilities shared by the library. */
#include "internal.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>

uint64_t cv_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

bool cv_valid_id(const char *id)
{
    if (!id || !*id)
        return false;
    size_t n = strlen(id);
    if (n > CV_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = id[i];
        bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
        if (!alnum && (i == 0 || (ch != '_' && ch != '.' && ch != '-')))
            return false;
    }
    return true;
}

void cv_random_id(char out[CV_ID_MAX + 1])
{
    unsigned char raw[6];
    if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw)) {
        uint64_t t = cv_now_ns() ^ ((uint64_t)getpid() << 32);
        memcpy(raw, &t, sizeof(raw));
    }
    snprintf(out, CV_ID_MAX + 1, "cv-%02x%02x%02x%02x%02x%02x", raw[0], raw[1], raw[2], raw[3],
             raw[4], raw[5]);
}

int cv_write_file_at(int dirfd, const char *path, const char *buf, size_t len)
{
    int fd = openat(dirfd, path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return -errno;
    ssize_t w = write(fd, buf, len);
    int r = w < 0 ? -errno : ((size_t)w == len ? 0 : -EIO);
    close(fd);
    return r;
}

int cv_read_file_at(int dirfd, const char *path, char *buf, size_t size)
{
    int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    size_t off = 0;
    while (off + 1 < size) {
        ssize_t n = read(fd, buf + off, size - 1 - off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            int r = -errno;
            close(fd);
            return r;
        }
        if (n == 0)
            break;
        off += (size_t)n;
    }
    buf[off] = '\0';
    close(fd);
    return (int)off;
}

static int remove_children(int dfd)
{
    DIR *d = fdopendir(dfd);
    if (!d) {
        close(dfd);
        return -errno;
    }
    int r = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        int q = cv_remove_tree_at(dirfd(d), e->d_name);
        if (q < 0 && r == 0)
            r = q;
    }
    closedir(d);
    return r;
}

int cv_remove_tree_at(int dirfd, const char *name)
{
    if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
        return 0;
    if (errno != EISDIR && errno != EPERM)
        return -errno;
    int dfd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0)
        return errno == ENOENT ? 0 : -errno;
    int r = remove_children(dfd);
    if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
        return r < 0 ? r : -errno;
    return r;
}

/* "pause:<step>@<socket>": hold the step on a connection to the test's
 * Unix socket until the test closes (or writes to) it; no listener there:
 * go on at once. */
static void hold_at(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path))
        return;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
        char b;
        while (read(fd, &b, 1) < 0 && errno == EINTR)
            ;
    }
    close(fd);
}

/* spec: [pause:|after:]STEP[#N][@SOCKET]; does it name this step (its
 * occurrence-th entry of that name), and is it of this kind ("", "pause:"
 * or "after:")? */
static bool fault_names(const char *spec, const char *kind, const char *step, int occurrence)
{
    size_t k = strlen(kind);
    if (!spec || strncmp(spec, kind, k) != 0)
        return false;
    spec += k;
    if (!k && (!strncmp(spec, "pause:", 6) || !strncmp(spec, "after:", 6)))
        return false;
    const char *at = strchr(spec, '@');
    size_t len = at ? (size_t)(at - spec) : strlen(spec), n = strlen(step);
    if (n > len || strncmp(spec, step, n) != 0)
        return false;
    if (n == len)
        return occurrence == 1;
    if (spec[n] != '#')
        return false;
    char *end;
    long want = strtol(spec + n + 1, &end, 10);
    return end == spec + len && want == occurrence;
}

/* The socket of "pause:...@SOCKET", or NULL. */
static const char *hold_socket(const char *spec)
{
    const char *at = strchr(spec, '@');
    return at ? at + 1 : NULL;
}

bool cv_fault_at(const char *spec, const char *step, int occurrence, bool after)
{
    if (!spec || !*spec)
        return false;
    if (after)
        return fault_names(spec, "after:", step, occurrence);
    if (fault_names(spec, "pause:", step, occurrence)) {
        if (hold_socket(spec)) {
            hold_at(hold_socket(spec));
            return false;
        }
        for (;;)
            pause(); /* a test kills us here */
    }
    return fault_names(spec, "", step, occurrence);
}

bool cv_fault(const char *spec, const char *step)
{
    return cv_fault_at(spec, step, 1, false);
}

bool cv_fault_child_after(const char *spec, const char *step)
{
    return fault_names(spec, "after:", step, 1);
}

bool cv_fault_child(const char *spec, const char *step, int sync_fd)
{
    if (!spec || strncmp(spec, "pause:", 6) != 0)
        return cv_fault(spec, step);
    if (fault_names(spec, "pause:", step, 1) && hold_socket(spec)) {
        hold_at(hold_socket(spec));
    } else if (fault_names(spec, "pause:", step, 1)) {
        struct pollfd p = {.fd = sync_fd, .events = POLLRDHUP};
        while (poll(&p, 1, -1) < 0 && errno == EINTR)
            ;
    }
    return false;
}

char *cv_read_fd_all(int fd, size_t max, size_t *len)
{
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (n + 1 == cap) {
            char *b = cap >= max ? NULL : realloc(buf, cap * 2);
            if (!b) {
                free(buf);
                errno = cap >= max ? EFBIG : ENOMEM;
                return NULL;
            }
            buf = b;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            free(buf);
            errno = e;
            return NULL;
        }
        if (r == 0) {
            buf[n] = '\0';
            *len = n;
            return buf;
        }
        n += (size_t)r;
    }
    return NULL;
}
