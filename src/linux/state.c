/* State of containers under the runtime directory (default /run/containerv):
 *
 *   <runtime dir>/<id>/lock          flock'ed by the creator and the init:
 *                                    while it is held, the container is alive
 *   <runtime dir>/<id>/state.json    written once the init is ready
 *   <runtime dir>/<id>/control.sock  the init's control socket
 *   <runtime dir>/<id>/rootfs        mount point of the writable layer's tmpfs
 *                                    and the rootfs, in the container's mount
 *                                    namespace only (empty on the host)
 *
 * A state directory appears atomically: it is made as .<id>.tmp-<rand> with
 * its lock held, then renamed. A directory whose lock nobody holds is stale
 * (its runtime and init were killed): gc, and create when it meets one,
 * remove it together with its cgroups. */
#include "linux.h"

#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

int cv_runtime_dir_open(const char *dir, bool create, struct containerv_error *err)
{
    if (create && mkdir(dir, 0711) < 0 && errno != EEXIST)
        return cv_error(err, errno, "state.dir", "creating runtime directory '%s'", dir);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return cv_error(err, errno, "state.dir", "opening runtime directory '%s'", dir);
    return fd;
}

int cv_state_lock_free(int dirfd, const char *name)
{
    char path[CV_ID_MAX + 80];
    snprintf(path, sizeof(path), "%s/lock", name);
    int fd = openat(dirfd, path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return errno == ENOENT ? 1 : -errno;
    int r = flock(fd, LOCK_EX | LOCK_NB) == 0 ? 1 : (errno == EWOULDBLOCK ? 0 : -errno);
    close(fd);
    return r;
}

/* Make the state directory with its lock held; on success c->lock_fd holds it. */
static int make_state_dir(struct containerv_container *c, int rfd, struct containerv_error *err)
{
    char tmp[CV_ID_MAX + 32];
    char rnd[CV_ID_MAX + 1];
    cv_random_id(rnd);
    snprintf(tmp, sizeof(tmp), ".%s.tmp-%s", c->id, rnd + 3);
    if (mkdirat(rfd, tmp, 0700) < 0)
        return cv_error(err, errno, "state.dir", "creating '%s/%s'", c->runtime_dir, tmp);
    char lock[CV_ID_MAX + 40], mnt[CV_ID_MAX + 40];
    snprintf(lock, sizeof(lock), "%s/lock", tmp);
    snprintf(mnt, sizeof(mnt), "%s/rootfs", tmp);
    c->lock_fd = openat(rfd, lock, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    int r = c->lock_fd < 0 ? -errno : 0;
    if (r == 0 && mkdirat(rfd, mnt, 0700) < 0)
        r = -errno;
    if (r == 0 && flock(c->lock_fd, LOCK_EX | LOCK_NB) < 0)
        r = -errno;
    if (r == 0 && renameat2(rfd, tmp, rfd, c->id, RENAME_NOREPLACE) < 0)
        r = -errno;
    if (r < 0) {
        cv_remove_tree_at(rfd, tmp);
        if (c->lock_fd >= 0)
            close(c->lock_fd);
        c->lock_fd = -1;
    }
    return r;
}

static int remove_stale(const char *runtime_dir, int rfd, const char *id)
{
    struct cv_cgroup cg;
    if (cv_cgroup_open(&cg, id, NULL) == 0)
        cv_cgroup_destroy(&cg, NULL);
    (void)runtime_dir;
    return cv_remove_tree_at(rfd, id);
}

int cv_state_prepare(struct containerv_container *c, struct containerv_error *err)
{
    int rfd = cv_runtime_dir_open(c->runtime_dir, true, err);
    if (rfd < 0)
        return rfd;
    int r = make_state_dir(c, rfd, err);
    if (r == -EEXIST || r == -ENOTEMPTY) {
        int stale = cv_state_lock_free(rfd, c->id);
        if (stale == 1 && remove_stale(c->runtime_dir, rfd, c->id) == 0)
            r = make_state_dir(c, rfd, err);
        if (r == -EEXIST || r == -ENOTEMPTY)
            r = cv_error_plain(err, EEXIST, "state.dir", "a container named '%s' already exists in '%s'",
                               c->id, c->runtime_dir);
    }
    if (r < 0 && err && !err->code)
        cv_error(err, -r, "state.dir", "creating state for '%s' in '%s'", c->id, c->runtime_dir);
    close(rfd);
    if (r == 0)
        snprintf(c->state_dir, sizeof(c->state_dir), "%s/%s", c->runtime_dir, c->id);
    return r;
}

int64_t cv_state_start_time(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    if (cv_read_file_at(AT_FDCWD, path, buf, sizeof(buf)) <= 0)
        return -1;
    char *p = strrchr(buf, ')');
    if (!p)
        return -1;
    /* field 22 is starttime; p points at the end of field 2 */
    int field = 2;
    for (; *p && field < 22; p++)
        if (*p == ' ')
            field++;
    return strtoll(p, NULL, 10);
}

int cv_state_write(struct containerv_container *c, struct containerv_error *err)
{
    json_t *env = json_array();
    for (int i = 0; env && i < c->n_env; i++)
        json_array_append_new(env, json_string(c->env[i]));
    json_t *j = json_pack("{s:s, s:i, s:I, s:I, s:s, s:i, s:o, s:I, s:I, s:s}", "id", c->id, "init_pid",
                          (int)c->init_pid, "init_start_time", (json_int_t)cv_state_start_time(c->init_pid),
                          "created", (json_int_t)time(NULL), "rootfs", c->rootfs_desc, "cgroup_mode",
                          (int)c->cg.mode, "env", env, "uid", (json_int_t)c->uid, "gid", (json_int_t)c->gid,
                          "workdir", c->workdir);
    if (!j)
        return cv_error(err, ENOMEM, "state.write", "building state for '%s'", c->id);
    char tmp[4200], path[4200];
    snprintf(tmp, sizeof(tmp), "%s/state.json.tmp", c->state_dir);
    snprintf(path, sizeof(path), "%s/state.json", c->state_dir);
    int r = json_dump_file(j, tmp, JSON_COMPACT) < 0 ? -EIO : 0;
    json_decref(j);
    if (r == 0 && rename(tmp, path) < 0)
        r = -errno;
    if (r < 0) {
        unlink(tmp);
        return cv_error(err, -r, "state.write", "writing '%s'", path);
    }
    return 0;
}

int cv_state_remove(const char *runtime_dir, const char *id)
{
    int rfd = open(runtime_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rfd < 0)
        return -errno;
    int r = cv_remove_tree_at(rfd, id);
    close(rfd);
    return r;
}

/* Read state.json of id into info (and the init's start time). */
static int read_state(int rfd, const char *id, struct containerv_info *info, int64_t *start_time)
{
    char path[CV_ID_MAX + 16];
    snprintf(path, sizeof(path), "%s/state.json", id);
    int fd = openat(rfd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return -errno;
    json_error_t jerr;
    json_t *j = json_loadfd(fd, 0, &jerr);
    close(fd);
    if (!j)
        return -EBADMSG;
    json_int_t pid = 0, created = 0, st = -1;
    const char *rootfs = "";
    int r = json_unpack(j, "{s:I, s:I, s?I, s?s}", "init_pid", &pid, "created", &created,
                        "init_start_time", &st, "rootfs", &rootfs) < 0 ? -EBADMSG : 0;
    if (r == 0) {
        info->init_pid = (pid_t)pid;
        info->created_unix = created;
        snprintf(info->rootfs, sizeof(info->rootfs), "%s", rootfs);
        if (start_time)
            *start_time = st;
    }
    json_decref(j);
    return r;
}

static int info_of(int rfd, const char *id, struct containerv_info *info, int64_t *start_time)
{
    memset(info, 0, sizeof(*info));
    snprintf(info->id, sizeof(info->id), "%s", id);
    int stale = cv_state_lock_free(rfd, id);
    if (stale < 0)
        return stale;
    int r = read_state(rfd, id, info, start_time);
    if (stale)
        info->status = CONTAINERV_STATUS_STALE;
    else
        info->status = r == -ENOENT ? CONTAINERV_STATUS_CREATING : CONTAINERV_STATUS_RUNNING;
    return (r < 0 && !stale && r != -ENOENT) ? r : 0;
}

int containerv_list(const char *runtime_dir, struct containerv_info **infos, size_t *count,
                    struct containerv_error *err)
{
    if (!infos || !count)
        return cv_error_plain(err, EINVAL, "list", "no output given");
    *infos = NULL;
    *count = 0;
    if (!runtime_dir)
        runtime_dir = containerv_default_runtime_dir();
    int rfd = open(runtime_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rfd < 0)
        return errno == ENOENT ? 0 : cv_error(err, errno, "list", "opening '%s'", runtime_dir);
    DIR *d = fdopendir(dup(rfd));
    if (!d) {
        close(rfd);
        return cv_error(err, errno, "list", "reading '%s'", runtime_dir);
    }
    size_t cap = 0;
    int r = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || !cv_valid_id(e->d_name))
            continue;
        if (*count == cap) {
            cap = cap ? cap * 2 : 16;
            struct containerv_info *n = realloc(*infos, cap * sizeof(**infos));
            if (!n) {
                r = cv_error(err, ENOMEM, "list", "listing '%s'", runtime_dir);
                break;
            }
            *infos = n;
        }
        if (info_of(rfd, e->d_name, &(*infos)[*count], NULL) == 0)
            (*count)++;
    }
    closedir(d);
    close(rfd);
    if (r < 0) {
        free(*infos);
        *infos = NULL;
        *count = 0;
    }
    return r;
}

void containerv_list_free(struct containerv_info *infos)
{
    free(infos);
}

int containerv_gc(const char *runtime_dir, int *removed, struct containerv_error *err)
{
    if (removed)
        *removed = 0;
    if (!runtime_dir)
        runtime_dir = containerv_default_runtime_dir();
    int rfd = open(runtime_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rfd < 0)
        return errno == ENOENT ? 0 : cv_error(err, errno, "gc", "opening '%s'", runtime_dir);
    DIR *d = fdopendir(dup(rfd));
    if (!d) {
        close(rfd);
        return cv_error(err, errno, "gc", "reading '%s'", runtime_dir);
    }
    int r = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        bool tmp = e->d_name[0] == '.' && strstr(e->d_name, ".tmp-");
        if (!tmp && !cv_valid_id(e->d_name))
            continue;
        if (cv_state_lock_free(rfd, e->d_name) != 1)
            continue;
        int q = tmp ? cv_remove_tree_at(rfd, e->d_name) : remove_stale(runtime_dir, rfd, e->d_name);
        if (q < 0 && r == 0)
            r = cv_error(err, -q, "gc", "removing '%s/%s'", runtime_dir, e->d_name);
        else if (q == 0 && !tmp && removed)
            (*removed)++;
    }
    closedir(d);
    close(rfd);
    return r;
}

/* Used by attach: the container's state, verified alive. */
int cv_state_load(const char *runtime_dir, const char *id, struct containerv_info *info, int64_t *start_time,
                  struct containerv_error *err)
{
    int rfd = open(runtime_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rfd < 0)
        return cv_error(err, errno, "attach", "opening runtime directory '%s'", runtime_dir);
    struct stat st;
    int r = fstatat(rfd, id, &st, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
    if (r == 0)
        r = info_of(rfd, id, info, start_time);
    close(rfd);
    if (r == -ENOENT)
        return cv_error_plain(err, ENOENT, "attach", "no container '%s' in '%s'", id, runtime_dir);
    if (r < 0)
        return cv_error(err, -r, "attach", "reading the state of '%s' in '%s'", id, runtime_dir);
    if (info->status == CONTAINERV_STATUS_STALE)
        return cv_error_plain(err, ESRCH, "attach", "container '%s' is stale (its runtime was killed); "
                              "run 'containerv gc'", id);
    if (info->status == CONTAINERV_STATUS_CREATING)
        return cv_error_plain(err, EAGAIN, "attach", "container '%s' is still being created", id);
    return 0;
}
