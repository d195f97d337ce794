/* The writable layer's baseline, for resets (init.c).
 *
 * The container's set-up may write to the overlay's upper dir before any
 * workload runs: the mount point of a bind, of /proc, /sys, /dev or /tmp
 * that the image lacks (and its missing parents), the workdir, a directory
 * of a lower layer copied up because such a mount point is made inside it.
 * That is how the container is new. The init records, when it starts (after
 * the set-up), every entry of the upper dir, recursively: its name, inode,
 * type and mode, owner, link count, size, mtime and ctime. A reset compares
 * the upper dir with that record: a name that is not in it, one that is
 * missing, or an entry whose attributes differ (a chmod, chown, write,
 * touch, xattr: each changes the ctime, which nobody can set back) means a
 * user wrote to the layer. The entries themselves are compared, not only
 * their directories' times: a file made and removed again leaves the same
 * names but changes its directory's mtime and ctime.
 *
 * The init never allocates (it is a copy of a process that may have had
 * threads): the record lives in static storage, bounded. A set-up that
 * leaves more entries than that (or deeper trees) gets no baseline, and
 * every reset of its containers fails, as one that finds a written layer. */
#include "linux.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#define UPPER_MAX_ENTRIES 256
#define UPPER_MAX_NAMES 8192 /* bytes of names, NUL-terminated */
#define UPPER_MAX_DEPTH 32

struct entry {
    uint64_t ino, size;
    struct timespec mtim, ctim;
    uint32_t mode, uid, gid, nlink;
    uint32_t parent;   /* index of the directory holding it (0: the upper dir itself) */
    uint32_t first, n; /* a directory's entries: [first, first + n) */
    uint32_t name;     /* offset in names */
};

static struct {
    struct entry e[UPPER_MAX_ENTRIES];
    char names[UPPER_MAX_NAMES];
    uint32_t n_entries, names_len;
    bool recorded, overflow;
} base;

/* getdents64 output: shared by every level of the walks, which read a
 * directory to its end before they go down into its subdirectories */
static char dents[4096] __attribute__((aligned(8)));

/* One pass of getdents64 over fd; fn is called for every name but "." and
 * "..", and stops the walk when it returns false. False when the directory
 * cannot be read or fn stopped. */
static bool each_name(int fd, bool (*fn)(int fd, const char *name, void *arg), void *arg)
{
    if (lseek(fd, 0, SEEK_SET) < 0)
        return false;
    for (;;) {
        long n = syscall(SYS_getdents64, fd, dents, sizeof(dents));
        if (n < 0)
            return false;
        if (n == 0)
            return true;
        for (long off = 0; off < n;) {
            /* struct linux_dirent64: ino 8, off 8, reclen 2, type 1, name */
            unsigned short reclen;
            memcpy(&reclen, dents + off + 16, sizeof(reclen));
            const char *name = dents + off + 19;
            off += reclen;
            if (name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0')))
                continue;
            if (!fn(fd, name, arg))
                return false;
        }
    }
}

static void fill(struct entry *e, const struct stat *st)
{
    e->ino = st->st_ino;
    e->size = (uint64_t)st->st_size;
    e->mtim = st->st_mtim;
    e->ctim = st->st_ctim;
    e->mode = st->st_mode;
    e->uid = st->st_uid;
    e->gid = st->st_gid;
    e->nlink = (uint32_t)st->st_nlink;
}

static bool same(const struct entry *e, const struct stat *st)
{
    return e->ino == st->st_ino && e->size == (uint64_t)st->st_size && e->mode == st->st_mode &&
           e->uid == st->st_uid && e->gid == st->st_gid && e->nlink == st->st_nlink &&
           e->mtim.tv_sec == st->st_mtim.tv_sec && e->mtim.tv_nsec == st->st_mtim.tv_nsec &&
           e->ctim.tv_sec == st->st_ctim.tv_sec && e->ctim.tv_nsec == st->st_ctim.tv_nsec;
}

/* ------------------------------------------------------------ record */

static bool record_name(int fd, const char *name, void *arg)
{
    uint32_t parent = *(uint32_t *)arg;
    size_t len = strlen(name) + 1;
    struct stat st;
    if (base.n_entries == UPPER_MAX_ENTRIES || base.names_len + len > UPPER_MAX_NAMES ||
        fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return false;
    struct entry *e = &base.e[base.n_entries++];
    fill(e, &st);
    e->parent = parent;
    e->first = e->n = 0;
    e->name = base.names_len;
    memcpy(base.names + base.names_len, name, len);
    base.names_len += (uint32_t)len;
    return true;
}

/* Record the entries of directory d (open as fd), then of its subdirectories. */
static bool record_dir(int fd, uint32_t d, int depth)
{
    base.e[d].first = base.n_entries;
    if (!each_name(fd, record_name, &d))
        return false;
    base.e[d].n = base.n_entries - base.e[d].first;
    for (uint32_t i = base.e[d].first; i < base.e[d].first + base.e[d].n; i++) {
        if (!S_ISDIR(base.e[i].mode))
            continue;
        if (depth + 1 > UPPER_MAX_DEPTH)
            return false;
        int sub = openat(fd, base.names + base.e[i].name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0)
            return false;
        bool ok = record_dir(sub, i, depth + 1);
        close(sub);
        if (!ok)
            return false;
    }
    return true;
}

void cv_upper_record(int upper_fd)
{
    struct stat st;
    memset(&base.e[0], 0, sizeof(base.e[0]));
    base.n_entries = 1;
    base.names_len = 1; /* offset 0: the empty name of the upper dir */
    base.names[0] = '\0';
    base.recorded = upper_fd >= 0 && fstat(upper_fd, &st) == 0;
    base.overflow = false;
    if (!base.recorded)
        return;
    fill(&base.e[0], &st);
    base.overflow = !record_dir(upper_fd, 0, 0);
}

/* ------------------------------------------------------------ compare */

struct cmp {
    uint32_t d;     /* the directory being read */
    uint32_t seen;  /* its names found in the record */
    uint32_t where; /* the first entry found changed */
};

static bool compare_name(int fd, const char *name, void *arg)
{
    struct cmp *c = arg;
    const struct entry *dir = &base.e[c->d];
    for (uint32_t i = dir->first; i < dir->first + dir->n; i++) {
        if (strcmp(base.names + base.e[i].name, name) != 0)
            continue;
        struct stat st;
        if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !same(&base.e[i], &st)) {
            c->where = i;
            return false;
        }
        c->seen++;
        return true;
    }
    return false; /* a new name: where stays the directory */
}

/* 0 when directory d (open as fd) and everything below are as recorded,
 * else 1 + the index of the first entry found different (or the directory
 * where a name was added or removed). */
static uint32_t compare_dir(int fd, uint32_t d)
{
    struct cmp c = {.d = d, .seen = 0, .where = d};
    if (!each_name(fd, compare_name, &c) || c.seen != base.e[d].n)
        return c.where + 1;
    for (uint32_t i = base.e[d].first; i < base.e[d].first + base.e[d].n; i++) {
        if (!S_ISDIR(base.e[i].mode))
            continue;
        int sub = openat(fd, base.names + base.e[i].name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0)
            return i + 1;
        uint32_t r = compare_dir(sub, i);
        close(sub);
        if (r)
            return r;
    }
    return 0;
}

/* The path of a recorded entry in the container, printable characters
 * only (names of the image and the template; bounded by n). */
static void entry_path(uint32_t i, char *buf, size_t n)
{
    uint32_t chain[UPPER_MAX_DEPTH + 2];
    int k = 0;
    for (; i != 0 && k < UPPER_MAX_DEPTH + 1; i = base.e[i].parent)
        chain[k++] = i;
    size_t off = 0;
    if (k == 0 && off + 1 < n)
        buf[off++] = '/';
    while (k-- > 0) {
        if (off + 1 < n)
            buf[off++] = '/';
        for (const char *s = base.names + base.e[chain[k]].name; *s && off + 1 < n; s++)
            buf[off++] = (*s > ' ' && *s < 0x7f) ? *s : '?';
    }
    if (n)
        buf[off < n ? off : n - 1] = '\0';
}

bool cv_upper_changed(int upper_fd, char *what, size_t n)
{
    static const char prefix[] = "writable layer: ";
    snprintf(what, n, "writable layer");
    if (upper_fd < 0)
        return false;
    if (!base.recorded || base.overflow)
        return true;
    struct stat st;
    uint32_t where = 0;
    if (fstat(upper_fd, &st) < 0 || !same(&base.e[0], &st))
        where = 1;
    else
        where = compare_dir(upper_fd, 0);
    if (!where)
        return false;
    if (n > sizeof(prefix)) {
        memcpy(what, prefix, sizeof(prefix));
        entry_path(where - 1, what + sizeof(prefix) - 1, n - (sizeof(prefix) - 1));
    }
    return true;
}
