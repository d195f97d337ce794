/* State of containers in the runtime directory (default /run/containerv):
 *
 *   <runtime dir>/<id>.json   the state, flock'ed by the creator and the init:
 *                             while the lock is held, the container lives
 *   <runtime dir>/<id>.sock   the init's control socket
 *
 * Two files and two metadata operations per container, made on the host
 * while the child sets itself up. <id>.json appears atomically with its lock
 * held (written to an O_TMPFILE file, locked, then linked without replacing;
 * where the file system has no O_TMPFILE, to .<id>.json.tmp-<rand>, renamed
 * without replacing), so the link is also what claims the id. A state file
 * whose lock nobody holds is stale (its runtime and init were killed): gc,
 * and create when it meets one, remove it together with its socket and
 * cgroups.
 *
 * A container being destroyed (containerv_destroy returned, the reaper of
 * teardown.c still at work) keeps its flock, so that its id stays taken and
 * gc leaves it to the reaper, and carries a second lock: an OFD write lock
 * on the first byte of <id>.json (fcntl F_OFD_SETLK, independent of flock;
 * set in memory, no disk write). list and attach treat it as gone. Both
 * locks go with the last fd of the file, so a process killed with a
 * teardown in flight leaves a plain stale state for gc.
 *
 * The container's writable layer and mounts live in its own mount
 * namespace, so there is nothing else on the host to remove. */
#include "linux.h"

#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

#define CV_STATE_MAX (4 << 20) /* bytes of a state file we read: the env is at most CV_SPAWN_MAX */

int cv_runtime_dir_open(const char *dir, bool create, struct containerv_error *err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC); /* it exists but the first time */
    if (fd >= 0 || errno != ENOENT || !create)
        return fd >= 0 ? fd : cv_error(err, errno, "state.dir", "opening runtime directory '%s'", dir);
    if (mkdir(dir, 0711) < 0 && errno != EEXIST)
        return cv_error(err, errno, "state.dir", "creating runtime directory '%s'", dir);
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return cv_error(err, errno, "state.dir", "opening runtime directory '%s'", dir);
    return fd;
}

static void name_of(char *buf, size_t n, const char *id, const char *suffix)
{
    snprintf(buf, n, "%s%s", id, suffix);
}

/* 1: nobody holds the lock of <name> (stale or gone), 0: held, -errno. */
/* Is the container of an fd of its state file being destroyed? */
static bool destroying(int fd)
{
    struct flock fl = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
    return fcntl(fd, F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
}

/* 1 when nobody holds the state file: its flock is free (the creator and
 * the init are gone) and no live process is tearing it down (the "being
 * destroyed" lock: its init is dead, so the flock can be free, but the
 * reaper of that process still works on the cgroups and files). */
static int lock_free_at(int rfd, const char *name)
{
    int fd = openat(rfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return errno == ENOENT ? 1 : -errno;
    int r = flock(fd, LOCK_EX | LOCK_NB) == 0 ? 1 : (errno == EWOULDBLOCK ? 0 : -errno);
    if (r == 1 && destroying(fd))
        r = 0;
    close(fd);
    return r;
}

int cv_state_mark_destroying(int fd)
{
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
    return fcntl(fd, F_OFD_SETLK, &fl) < 0 ? -errno : 0;
}

static int read_state_ex(int fd, struct containerv_info *info, int64_t *start_time, bool *main);

/* The lock is the init's; a main process that replaced the init
 * (containerv_start_main, the state says "main") holds none: it runs while
 * its pid has the start time the state recorded. (An init that is dying
 * has let go of the lock too: without "main" a free lock is stale.) */
static bool main_alive(const struct containerv_info *info, int64_t start, bool main)
{
    char path[64], buf[1024];
    if (!main || info->init_pid <= 0 || start < 0)
        return false;
    snprintf(path, sizeof(path), "/proc/%d/stat", info->init_pid);
    if (cv_read_file_at(AT_FDCWD, path, buf, sizeof(buf)) <= 0 || cv_proc_stat_start_time(buf) != start)
        return false;
    const char *paren = strrchr(buf, ')'); /* "pid (comm) S ...": a zombie has exited */
    return paren && paren[1] == ' ' && paren[2] != 'Z' && paren[2] != 'X';
}

int cv_state_lock_free(int rfd, const char *id)
{
    char name[CV_ID_MAX + 8];
    name_of(name, sizeof(name), id, ".json");
    int r = lock_free_at(rfd, name);
    if (r != 1)
        return r;
    int fd = openat(rfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct containerv_info info;
    int64_t start = -1;
    bool main = false;
    bool alive = fd >= 0 && read_state_ex(fd, &info, &start, &main) == 0 && main_alive(&info, start, main);
    if (fd >= 0)
        close(fd);
    return alive ? 0 : 1;
}

static void remove_files(int rfd, const char *id)
{
    char name[CV_ID_MAX + 8];
    name_of(name, sizeof(name), id, ".sock");
    unlinkat(rfd, name, 0);
    name_of(name, sizeof(name), id, ".json");
    unlinkat(rfd, name, 0);
}


static int open_cgroup_of(const char *text, size_t len, const char *id, struct cv_cgroup *cg,
                          struct containerv_error *err);

static void remove_stale(int rfd, const char *id)
{
    struct cv_cgroup cg;
    char name[CV_ID_MAX + 8];
    name_of(name, sizeof(name), id, ".json");
    int fd = openat(rfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    size_t len = 0;
    char *text = fd >= 0 ? cv_read_fd_all(fd, CV_STATE_MAX, &len) : NULL;
    if (fd >= 0)
        close(fd);
    /* a state that cannot be read names no cgroup path: containerv/<id> */
    int r = open_cgroup_of(text, len, id, &cg, NULL);
    if (r < 0)
        r = open_cgroup_of(NULL, 0, id, &cg, NULL);
    free(text);
    if (r == 0)
        cv_cgroup_destroy(&cg, NULL);
    remove_files(rfd, id);
}

int cv_state_claimable(const char *runtime_dir, const char *id, struct containerv_error *err)
{
    int rfd = open(runtime_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rfd < 0)
        return cv_error(err, errno, "state.dir", "opening runtime directory '%s'", runtime_dir);
    int r = cv_state_lock_free(rfd, id);
    if (r == 1) {
        char name[CV_ID_MAX + 8];
        struct stat st;
        name_of(name, sizeof(name), id, ".json");
        if (fstatat(rfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
            remove_stale(rfd, id); /* a killed runtime left it: take the id over */
        r = 0;
    } else if (r == 0) {
        r = cv_error_plain(err, EEXIST, "state.dir", "a container named '%s' already exists in '%s'", id,
                           runtime_dir);
    } else {
        r = cv_error(err, -r, "state.dir", "checking '%s/%s.json'", runtime_dir, id);
    }
    close(rfd);
    return r;
}

int64_t cv_proc_stat_start_time(const char *stat)
{
    /* the name (field 2) is in parentheses and may hold any byte but NUL:
     * a process names itself, so only the last ')' ends it */
    const char *p = strrchr(stat, ')');
    if (!p)
        return -1;
    /* field 22 is starttime; p points at the end of field 2 */
    int field = 2;
    for (; *p && field < 22; p++)
        if (*p == ' ')
            field++;
    if (field < 22 || *p < '0' || *p > '9')
        return -1;
    errno = 0;
    long long v = strtoll(p, NULL, 10);
    return errno ? -1 : v;
}

int64_t cv_state_start_time(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    if (cv_read_file_at(AT_FDCWD, path, buf, sizeof(buf)) <= 0)
        return -1;
    return cv_proc_stat_start_time(buf);
}

static char *state_json(struct containerv_container *c)
{
    json_t *env = json_array();
    for (int i = 0; env && i < c->n_env; i++)
        json_array_append_new(env, json_string(c->env[i]));
    char made[64];
    cv_cgroup_made_text(&c->cg, made, sizeof(made));
    json_t *j = json_pack("{s:s, s:i, s:I, s:I, s:s, s:i, s:o, s:I, s:I, s:s, s:b, s:s, s:s}", "id", c->id, "init_pid",
                          (int)c->init_pid, "init_start_time", (json_int_t)(c->init_start_time >= 0 ? c->init_start_time : cv_state_start_time(c->init_pid)),
                          "created", (json_int_t)time(NULL), "rootfs", c->rootfs_desc, "cgroup_mode",
                          (int)c->cg.mode, "env", env, "uid", (json_int_t)c->uid, "gid", (json_int_t)c->gid,
                          "workdir", c->workdir, "main", c->has_main, "cgroup_path", c->cgroup_path,
                          "cgroup_made", made);
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    return s;
}

/* Give the locked, written file at fd the name <id>.json: linkat of an
 * O_TMPFILE file (one directory entry made), or the rename of a temporary
 * name (made, then moved). Neither replaces an existing name: that is what
 * claims the id. 0, or -errno (-EEXIST: the id is taken). */
static int link_tmpfile(int fd, int rfd, const char *name)
{
    if (linkat(fd, "", rfd, name, AT_EMPTY_PATH) == 0)
        return 0;
    if (errno != EPERM && errno != ENOENT) /* AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH */
        return -errno;
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    return linkat(AT_FDCWD, path, rfd, name, AT_SYMLINK_FOLLOW) == 0 ? 0 : -errno;
}

/* Write the state to a locked file without a name, then name it; where the
 * file system has no O_TMPFILE, to a locked temporary name, renamed. */
static int publish(struct containerv_container *c, int rfd, const char *text, struct containerv_error *err)
{
    char tmp[CV_ID_MAX + 40], rnd[CV_ID_MAX + 1], name[CV_ID_MAX + 8];
    name_of(name, sizeof(name), c->id, ".json");
    tmp[0] = '\0';
    int fd = openat(rfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0) {
        cv_random_id(rnd);
        snprintf(tmp, sizeof(tmp), ".%s.json.tmp-%s", c->id, rnd + 3);
        fd = openat(rfd, tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0)
            return cv_error(err, errno, "state.write", "creating '%s/%s'", c->runtime_dir, tmp);
    }
    size_t len = strlen(text);
    int r = flock(fd, LOCK_EX | LOCK_NB) < 0 ? -errno : 0;
    if (r == 0 && write(fd, text, len) != (ssize_t)len)
        r = errno ? -errno : -EIO;
    for (int attempt = 0; r == 0; attempt++) {
        if (tmp[0])
            r = renameat2(rfd, tmp, rfd, name, RENAME_NOREPLACE) == 0 ? 0 : -errno;
        else
            r = link_tmpfile(fd, rfd, name);
        if (r == 0 || r != -EEXIST || attempt > 0 || cv_state_lock_free(rfd, c->id) != 1)
            break;
        remove_stale(rfd, c->id); /* a killed runtime left it: take the id over */
        r = 0;
    }
    if (r < 0) {
        if (tmp[0])
            unlinkat(rfd, tmp, 0);
        close(fd);
        if (r == -EEXIST)
            return cv_error_plain(err, EEXIST, "state.write", "a container named '%s' already exists in '%s'",
                                  c->id, c->runtime_dir);
        return cv_error(err, -r, "state.write", "writing '%s/%s'", c->runtime_dir, name);
    }
    c->lock_fd = fd;
    return 0;
}

int cv_state_write(struct containerv_container *c, struct containerv_error *err)
{
    char *text = state_json(c);
    if (!text)
        return cv_error(err, ENOMEM, "state.write", "building the state of '%s'", c->id);
    int rfd = cv_runtime_dir_open(c->runtime_dir, false, err);
    int r = rfd < 0 ? rfd : publish(c, rfd, text, err);
    if (rfd >= 0)
        close(rfd);
    free(text);
    return r;
}

int cv_state_update(struct containerv_container *c, struct containerv_error *err)
{
    char *text = state_json(c);
    if (!text)
        return cv_error(err, ENOMEM, "state.write", "building the state of '%s'", c->id);
    size_t len = strlen(text);
    int r = pwrite(c->lock_fd, text, len, 0) == (ssize_t)len && ftruncate(c->lock_fd, (off_t)len) == 0 ? 0 : -errno;
    free(text);
    return r < 0 ? cv_error(err, -r ? -r : EIO, "state.write", "updating '%s/%s.json'", c->runtime_dir, c->id) : 0;
}

int cv_state_remove(const char *runtime_dir, const char *id)
{
    int rfd = open(runtime_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rfd < 0)
        return -errno;
    remove_files(rfd, id);
    close(rfd);
    return 0;
}



char *cv_state_read(const char *runtime_dir, const char *id, size_t *len)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/%s.json", runtime_dir, id);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return NULL;
    char *text = cv_read_fd_all(fd, CV_STATE_MAX, len);
    int e = errno;
    close(fd);
    errno = e;
    return text;
}

static json_t *load_state(const char *text, size_t len)
{
    json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    if (j && !json_is_object(j)) {
        json_decref(j);
        j = NULL;
    }
    return j;
}

int cv_state_parse(const char *text, size_t len, struct containerv_info *info, int64_t *start_time)
{
    return cv_state_parse_ex(text, len, info, start_time, NULL);
}

int cv_state_parse_ex(const char *text, size_t len, struct containerv_info *info, int64_t *start_time, bool *main)
{
    json_t *j = load_state(text, len);
    if (!j)
        return -EBADMSG;
    json_int_t pid = 0, created = 0, st = -1;
    const char *rootfs = "";
    int has_main = 0;
    int r = json_unpack(j, "{s:I, s:I, s?I, s?s, s?b}", "init_pid", &pid, "created", &created,
                        "init_start_time", &st, "rootfs", &rootfs, "main", &has_main) < 0 ? -EBADMSG : 0;
    if (main)
        *main = r == 0 && has_main;
    /* 0 while it is being created; a pid_t otherwise (a cast of a larger
     * number could name another process, pid 1 say) */
    if (r == 0 && (pid < 0 || pid > INT32_MAX || st < -1))
        r = -EBADMSG;
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

int cv_state_parse_cgroup(const char *text, size_t len, char *buf, size_t size, char *made, size_t made_size)
{
    json_t *j = load_state(text, len);
    if (!j)
        return -EBADMSG;
    const char *p = "", *m = "";
    int r = json_unpack(j, "{s?s, s?s}", "cgroup_path", &p, "cgroup_made", &m) < 0 ? -EBADMSG : 0;
    if (r == 0 && *p && cv_cgroup_path_invalid(p))
        r = -EBADMSG;
    if (r == 0 && (size_t)snprintf(buf, size, "%s", p) >= size)
        r = -EBADMSG;
    if (r == 0 && made && (size_t)snprintf(made, made_size, "%s", m) >= made_size)
        r = -EBADMSG;
    json_decref(j);
    return r;
}

/* the cgroup named by a state (its path and the parents it made) */
static int open_cgroup_of(const char *text, size_t len, const char *id, struct cv_cgroup *cg,
                          struct containerv_error *err)
{
    char path[CV_CGROUP_PATH_MAX] = "", made[64] = "";
    if (text && cv_state_parse_cgroup(text, len, path, sizeof(path), made, sizeof(made)) < 0)
        return cv_error_plain(err, EBADMSG, "cgroup.open", "the state of '%s' names no valid cgroup path", id);
    int r = cv_cgroup_open(cg, id, path, err);
    if (r == 0 && made[0] && cv_cgroup_made_parse(cg, made) < 0)
        memset(cg->made, 0, sizeof(cg->made)); /* a bad record removes nothing more */
    return r;
}

int cv_state_open_cgroup(const char *runtime_dir, const char *id, struct cv_cgroup *cg,
                         struct containerv_error *err)
{
    size_t len = 0;
    char *text = cv_state_read(runtime_dir, id, &len);
    if (!text)
        return cv_error(err, errno, "cgroup.open", "reading the state of '%s' in '%s'", id, runtime_dir);
    int r = open_cgroup_of(text, len, id, cg, err);
    free(text);
    return r;
}

void cv_spawn_defaults_free(struct cv_spawn_defaults *d)
{
    free(d->workdir);
    for (int i = 0; d->env && i < d->n_env; i++)
        free(d->env[i]);
    free(d->env);
    memset(d, 0, sizeof(*d));
}

int cv_state_parse_spawn_defaults(const char *text, size_t len, struct cv_spawn_defaults *d)
{
    memset(d, 0, sizeof(*d));
    json_t *j = load_state(text, len);
    if (!j)
        return -EBADMSG;
    json_t *env = NULL;
    json_int_t uid = 0, gid = 0;
    const char *wd = "/";
    int r = json_unpack(j, "{s?I, s?I, s?s, s?o}", "uid", &uid, "gid", &gid, "workdir", &wd, "env", &env) < 0
                ? -EBADMSG : 0;
    /* (uid_t)-1 would mean "unchanged" to setresuid: the init's root */
    if (r == 0 && (uid < 0 || uid >= UINT32_MAX || gid < 0 || gid >= UINT32_MAX || wd[0] != '/' ||
                   (env && !json_is_array(env))))
        r = -EBADMSG;
    size_t n = env ? json_array_size(env) : 0;
    if (r == 0 && n > 4096)
        r = -EBADMSG;
    if (r == 0) {
        d->uid = (uid_t)uid;
        d->gid = (gid_t)gid;
        d->workdir = strdup(wd);
        d->env = calloc(n + 1, sizeof(char *));
        if (!d->workdir || !d->env)
            r = -ENOMEM;
    }
    for (size_t i = 0; r == 0 && i < n; i++) {
        const char *s = json_string_value(json_array_get(env, i));
        if (!s || !strchr(s, '=') || strlen(s) != json_string_length(json_array_get(env, i)))
            r = -EBADMSG; /* every entry NAME=value, without NUL */
        else if (!(d->env[d->n_env++] = strdup(s)))
            r = -ENOMEM;
    }
    json_decref(j);
    if (r < 0)
        cv_spawn_defaults_free(d);
    return r;
}

/* Read the state at fd into info (and the init's start time, and whether
 * a main process replaces the init). */
static int read_state_ex(int fd, struct containerv_info *info, int64_t *start_time, bool *main)
{
    size_t len;
    char *text = cv_read_fd_all(fd, CV_STATE_MAX, &len);
    if (!text)
        return errno == ENOMEM ? -ENOMEM : -EBADMSG;
    int r = cv_state_parse_ex(text, len, info, start_time, main);
    free(text);
    return r;
}

/* The state and status of <id>.json, both read through one fd (a file
 * removed in between cannot pass for stale); -ENOENT when it is gone or
 * being destroyed. */
static int info_of(int rfd, const char *id, struct containerv_info *info, int64_t *start_time)
{
    int64_t start_local = -1;
    if (!start_time)
        start_time = &start_local;
    memset(info, 0, sizeof(*info));
    snprintf(info->id, sizeof(info->id), "%s", id);
    char name[CV_ID_MAX + 8];
    name_of(name, sizeof(name), id, ".json");
    int fd = openat(rfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return -errno;
    bool main = false;
    int r = read_state_ex(fd, info, start_time, &main);
    if (r == 0) {
        struct stat st;
        if (flock(fd, LOCK_EX | LOCK_NB) == 0) { /* nobody holds it: stale, unless removed since */
            info->status = main_alive(info, *start_time, main) ? CONTAINERV_STATUS_RUNNING : CONTAINERV_STATUS_STALE;
            if (fstat(fd, &st) == 0 && st.st_nlink == 0)
                r = -ENOENT;
        } else if (errno != EWOULDBLOCK)
            r = -errno;
        else if (destroying(fd))
            r = -ENOENT; /* gone for list and attach */
        else
            info->status = info->init_pid > 0 ? CONTAINERV_STATUS_RUNNING : CONTAINERV_STATUS_CREATING;
    }
    close(fd);
    return r;
}

/* The id of a "<id>.json" entry, or NULL. */
static const char *json_entry_id(const char *name, char *id, size_t n)
{
    size_t len = strlen(name);
    if (name[0] == '.' || len <= 5 || strcmp(name + len - 5, ".json") || len - 5 >= n)
        return NULL;
    memcpy(id, name, len - 5);
    id[len - 5] = '\0';
    return cv_valid_id(id) ? id : NULL;
}

static int open_listing(const char *runtime_dir, int *rfd, DIR **d, const char *step,
                        struct containerv_error *err)
{
    *rfd = open(runtime_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (*rfd < 0)
        return errno == ENOENT ? 1 : cv_error(err, errno, step, "opening '%s'", runtime_dir);
    int dfd = dup(*rfd);
    *d = dfd < 0 ? NULL : fdopendir(dfd);
    if (!*d) {
        int e = errno;
        if (dfd >= 0)
            close(dfd);
        close(*rfd);
        return cv_error(err, e, step, "reading '%s'", runtime_dir);
    }
    return 0;
}

int containerv_list(const char *runtime_dir, struct containerv_info **infos, size_t *count,
                    struct containerv_error *err)
{
    containerv_error_clear(err);
    if (!infos || !count)
        return cv_error_plain(err, EINVAL, "list", "no output given");
    *infos = NULL;
    *count = 0;
    if (!runtime_dir)
        runtime_dir = containerv_default_runtime_dir();
    int rfd;
    DIR *d;
    int r = open_listing(runtime_dir, &rfd, &d, "list", err);
    if (r != 0)
        return r > 0 ? 0 : r;
    size_t cap = 0;
    struct dirent *e;
    char id[CV_ID_MAX + 1];
    while ((e = readdir(d))) {
        if (!json_entry_id(e->d_name, id, sizeof(id)))
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
        if (info_of(rfd, id, &(*infos)[*count], NULL) == 0)
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

/* One entry of the runtime dir: 1 when a container was removed. */
static int gc_entry(int rfd, const char *name)
{
    char id[CV_ID_MAX + 1];
    if (json_entry_id(name, id, sizeof(id))) {
        if (cv_state_lock_free(rfd, id) != 1)
            return 0;
        remove_stale(rfd, id);
        return 1;
    }
    if (name[0] == '.' && strstr(name, ".json.tmp-")) { /* a create killed mid-way */
        if (lock_free_at(rfd, name) == 1)
            unlinkat(rfd, name, 0);
        return 0;
    }
    size_t len = strlen(name);
    if (len > 5 && !strcmp(name + len - 5, ".sock") && len - 5 <= CV_ID_MAX) {
        char json[CV_ID_MAX + 8];
        snprintf(json, sizeof(json), "%.*s.json", (int)(len - 5), name);
        struct stat st;
        if (fstatat(rfd, json, &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT)
            unlinkat(rfd, name, 0); /* a socket without its state */
    }
    return 0;
}

int containerv_gc(const char *runtime_dir, int *removed, struct containerv_error *err)
{
    containerv_error_clear(err);
    if (removed)
        *removed = 0;
    if (!runtime_dir)
        runtime_dir = containerv_default_runtime_dir();
    int rfd;
    DIR *d;
    int r = open_listing(runtime_dir, &rfd, &d, "gc", err);
    if (r != 0)
        return r > 0 ? 0 : r;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (gc_entry(rfd, e->d_name) && removed)
            (*removed)++;
    }
    closedir(d);
    close(rfd);
    return 0;
}

int containerv_remove(const char *runtime_dir, const char *id, struct containerv_error *err)
{
    containerv_error_clear(err);
    if (!cv_valid_id(id))
        return cv_error_plain(err, EINVAL, "remove", "invalid container id '%s'", id ? id : "");
    if (!runtime_dir)
        runtime_dir = containerv_default_runtime_dir();
    int rfd = open(runtime_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rfd < 0)
        return cv_error(err, errno, "remove", "opening runtime directory '%s'", runtime_dir);
    struct containerv_info info;
    int64_t start = -1;
    int r = info_of(rfd, id, &info, &start);
    if (r == -ENOENT)
        r = cv_error_plain(err, ENOENT, "remove", "no container '%s' in '%s'", id, runtime_dir);
    else if (r < 0)
        r = cv_error(err, -r, "remove", "reading the state of '%s' in '%s'", id, runtime_dir);
    else if (info.status != CONTAINERV_STATUS_STALE) /* its init, or the main process that replaced it */
        r = cv_error_plain(err, EBUSY, "remove", "container '%s' is %s", id,
                           info.status == CONTAINERV_STATUS_CREATING ? "being created" : "running");
    else
        remove_stale(rfd, id);
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
    int r = info_of(rfd, id, info, start_time);
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
