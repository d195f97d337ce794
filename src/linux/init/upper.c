/* The writable layer's baseline, for resets (init.c).
 *
 * The container's set-up may write to the overlay's upper dir before any
 * workload runs: the mount point of a bind, of /proc, /sys, /dev or /tmp
 * that the image lacks (and its missing parents), the workdir, a directory
 * of a lower layer copied up because such a mount point is made inside it.
 * That is how the container is new. The init records, when it starts (after
 * the set-up), every entry of the upper dir, recursively: its path, inode,
 * type and mode, owner, link count, size, mtime and ctime. A reset compares
 * the upper dir with that record and finds the container not as new when
 * anything differs.
 *
 * Why comparing the recorded entries' attributes is enough: the upper dir
 * is the root of a tmpfs of its own (rootfs.c), and on tmpfs a directory's
 * size counts its entries (BOGO_DIRENT_SIZE each: every create, link,
 * unlink, rename and whiteout changes it). So when every recorded directory
 * has its recorded size and every recorded path names an entry with its
 * recorded inode and attributes, each directory holds exactly the recorded
 * entries: nothing was added (the size would be larger), removed or renamed
 * (a recorded path would be missing or name another inode), replaced (the
 * inode), chmod'ed or chown'ed (mode, owner), written (size, mtime) or
 * touched (mtime, ctime; xattrs: ctime, which nobody can set back). A file
 * made and removed again leaves its directory's size but not its mtime and
 * ctime. The paths are checked parents first, with AT_SYMLINK_NOFOLLOW on
 * the last component: a path is walked only through directories already
 * found as recorded, so a symlink put in the place of one is seen there.
 * That makes a reset cost one fstatat per recorded entry, and one fstat
 * when the set-up made nothing (the common case). Anywhere but on tmpfs the
 * sizes prove nothing, and the layer is never found as new.
 *
 * The init never allocates (it is a copy of a process that may have had
 * threads): the record lives in static storage, bounded. A set-up that
 * leaves more entries than that (or deeper trees, longer paths) gets no
 * record, and every reset of its containers fails, as one that finds a
 * written layer. */
#include "../linux.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>

#define UPPER_MAX_ENTRIES 256
#define UPPER_MAX_PATHS 16384 /* bytes of paths, NUL-terminated */
#define UPPER_MAX_DEPTH 32

struct entry {
    uint64_t ino, size;
    struct timespec mtim, ctim;
    uint32_t mode, uid, gid, nlink;
    uint32_t path; /* offset in paths: relative to the upper dir ("srv/app") */
};

static struct {
    struct entry e[UPPER_MAX_ENTRIES]; /* e[0]: the upper dir; a parent before its entries */
    char paths[UPPER_MAX_PATHS];
    uint32_t n_entries, paths_len;
    bool recorded; /* on tmpfs, and every entry fitted */
} base;

/* getdents64 output: shared by every level of the walk, which reads a
 * directory to its end before it goes down into its subdirectories */
static char dents[4096] __attribute__((aligned(8)));

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

/* Add name, an entry of directory d (open as fd): false when it does not fit. */
static bool record_one(int fd, uint32_t d, const char *name)
{
    const char *dir = base.paths + base.e[d].path;
    size_t dlen = strlen(dir), nlen = strlen(name), len = dlen + (dlen ? 1 : 0) + nlen + 1;
    struct stat st;
    if (base.n_entries == UPPER_MAX_ENTRIES || base.paths_len + len > UPPER_MAX_PATHS ||
        fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return false;
    struct entry *e = &base.e[base.n_entries++];
    fill(e, &st);
    e->path = base.paths_len;
    char *p = base.paths + base.paths_len;
    memcpy(p, dir, dlen);
    if (dlen)
        p[dlen++] = '/';
    memcpy(p + dlen, name, nlen + 1);
    base.paths_len += (uint32_t)len;
    return true;
}

/* Record the entries of directory d (open as fd), then of its
 * subdirectories; false when the tree does not fit or cannot be read. */
static bool record_dir(int fd, uint32_t d, int depth)
{
    uint32_t first = base.n_entries;
    if (d == 0 && lseek(fd, 0, SEEK_SET) < 0)
        return false;
    for (;;) {
        long n = syscall(SYS_getdents64, fd, dents, sizeof(dents));
        if (n < 0)
            return false;
        if (n == 0)
            break;
        for (long off = 0; off < n;) {
            /* struct linux_dirent64: ino 8, off 8, reclen 2, type 1, name */
            unsigned short reclen;
            memcpy(&reclen, dents + off + 16, sizeof(reclen));
            const char *name = dents + off + 19;
            off += reclen;
            if (name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0')))
                continue;
            if (!record_one(fd, d, name))
                return false;
        }
    }
    uint32_t end = base.n_entries;
    for (uint32_t i = first; i < end; i++) {
        if (!S_ISDIR(base.e[i].mode))
            continue;
        const char *path = base.paths + base.e[i].path, *slash = strrchr(path, '/');
        int sub = depth + 1 > UPPER_MAX_DEPTH ? -1
                  : openat(fd, slash ? slash + 1 : path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
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
    struct statfs sf;
    base.n_entries = 1;
    base.paths_len = 1; /* offset 0: the upper dir's own, empty path */
    base.paths[0] = '\0';
    memset(&base.e[0], 0, sizeof(base.e[0]));
    base.recorded = upper_fd >= 0 && fstat(upper_fd, &st) == 0 && fstatfs(upper_fd, &sf) == 0 &&
                    sf.f_type == TMPFS_MAGIC;
    if (!base.recorded)
        return;
    fill(&base.e[0], &st);
    base.recorded = record_dir(upper_fd, 0, 0);
}

/* ------------------------------------------------------------ compare */

bool cv_upper_changed(int upper_fd, char *what, size_t n)
{
    static const char prefix[] = "writable layer: ";
    snprintf(what, n, "writable layer");
    if (upper_fd < 0)
        return false;
    if (!base.recorded)
        return true;
    struct stat st;
    uint32_t i = 0;
    if (fstat(upper_fd, &st) == 0 && same(&base.e[0], &st))
        for (i = 1; i < base.n_entries; i++)
            if (fstatat(upper_fd, base.paths + base.e[i].path, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
                !same(&base.e[i], &st))
                break;
    if (i == base.n_entries)
        return false;
    /* where: "/" and the recorded path, printable characters only */
    size_t off = sizeof(prefix) - 1;
    if (n > off + 1) {
        memcpy(what, prefix, off);
        what[off++] = '/';
        for (const char *s = base.paths + base.e[i].path; *s && off + 1 < n; s++)
            what[off++] = (*s > ' ' && *s < 0x7f) ? *s : '?';
        what[off] = '\0';
    }
    return true;
}
