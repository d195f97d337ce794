/* `containerv daemon`: the listening socket, made where no other user can
 * swap it (docs/daemon.md, "Permissions"), and the group allowed to use it. */
#include "server.h"

#include <containerv/pool.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* The group's gid, from /etc/group (fgetgrent: the CLI is linked
 * statically, and NSS modules do not load into a static binary), or a
 * number. */
int cvd_resolve_group(struct daemon *d, const char *name)
{
    FILE *f;
    struct group *gr;
    uint32_t v;
    bool found = false;

    if (!name)
        return 0;
    d->group = name;
    d->have_group = true;
    if ((f = fopen("/etc/group", "re"))) {
        while (!found && (gr = fgetgrent(f)))
            if (strcmp(gr->gr_name, name) == 0) {
                d->gid = gr->gr_gid;
                found = true;
            }
        fclose(f);
    }
    if (!found && cli_parse_u32(name, &v)) {
        d->gid = (gid_t)v;
        found = true;
    }
    if (!found)
        cli_error("daemon: unknown group '%s' (not in /etc/group, not a number)", name);
    return found ? 0 : -1;
}

static int mkdir_parents(const char *sock)
{
    char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
    char *slash;

    snprintf(dir, sizeof(dir), "%s", sock);
    slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return 0;
    *slash = '\0';
    for (char *p = dir + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        if (mkdir(dir, 0755) == 0)
            chmod(dir, 0755); /* 0755 whatever the umask */
        else if (errno != EEXIST)
            return -1;
        if (!c)
            return 0;
        *p = c;
    }
}

/* Bind and listen; refuse a live daemon, remove a stale socket. */
int cvd_open_socket(struct daemon *d, const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct stat st;
    int fd, live;

    if (path[0] != '/' || strlen(path) >= sizeof(sa.sun_path)) {
        cli_error("daemon: socket path '%s': want an absolute path shorter than %zu bytes", path,
                  sizeof(sa.sun_path));
        return -1;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    if (mkdir_parents(path) < 0) {
        cli_error("daemon: making the directory of '%s': %s", path, strerror(errno));
        return -1;
    }
    live = cvd_connect(path);
    if (live >= 0) {
        close(live);
        cli_error("daemon: another daemon is running on '%s'", path);
        return -1;
    }
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            cli_error("daemon: '%s' exists and is not a socket", path);
            return -1;
        }
        if (live == -ECONNREFUSED && unlink(path) < 0 && errno != ENOENT) {
            cli_error("daemon: removing the stale socket '%s': %s", path, strerror(errno));
            return -1;
        }
    }
    /* Bound in a fresh directory of root's (mode 0700: no one else can put
     * anything there), with the umask that gives the final mode at once;
     * the group is set there, then the socket is renamed into place. No
     * step goes by the public path but the rename, which replaces whatever
     * is there (a symlink swapped in meanwhile) without following it. */
    char tmpl[sizeof(sa.sun_path) + 16], *slash;
    snprintf(tmpl, sizeof(tmpl), "%s", path);
    slash = strrchr(tmpl, '/');
    snprintf(slash + 1, sizeof(tmpl) - (size_t)(slash + 1 - tmpl), ".cvd.XXXXXX");
    if (strlen(tmpl) + 3 > sizeof(sa.sun_path)) {
        cli_error("daemon: socket path '%s': too long for the private bind directory beside it",
                  path);
        return -1;
    }
    if (!mkdtemp(tmpl)) {
        cli_error("daemon: making a private directory beside '%s': %s", path, strerror(errno));
        return -1;
    }
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/s", tmpl);
    int dfd = open(tmpl, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    mode_t old_umask = umask(d->have_group ? 0117 : 0177); /* 0660 / 0600 from creation */
    int b = fd < 0 || dfd < 0 ? -1 : bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    umask(old_umask);
    const char *what = "binding";
    if (b == 0 && (what = "setting the socket's group",
                   fchownat(dfd, "s", 0, d->have_group ? d->gid : 0, AT_SYMLINK_NOFOLLOW) < 0))
        b = -1;
    if (b == 0 && (what = "listening", listen(fd, 128) < 0))
        b = -1;
    if (b == 0 && (what = "moving the socket into place", rename(sa.sun_path, path) < 0))
        b = -1;
    if (b < 0) {
        cli_error("daemon: %s '%s': %s", what, path, strerror(errno));
        unlink(sa.sun_path);
    }
    rmdir(tmpl);
    if (dfd >= 0)
        close(dfd);
    if (b < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    d->lfd = fd;
    return 0;
}

