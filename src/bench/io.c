/* `bench io`: sequential and random read/write MB/s (10^6 bytes/s) on a
 * container's writable layer against the same work on the host.
 *
 * The container's file is reached from the host through /proc/<init>/root,
 * so the very same code (and the same process) does the I/O in both places:
 * the path goes through the container's root mount (overlay over its
 * writable layer), which is what differs; namespaces do not change the cost
 * of read(2) and write(2). The host side works in the benchmark's temporary
 * directory. Buffered I/O; writes end with fsync(2). */
#include "bench.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#define SEQ_BLOCK (1u << 20)
#define RAND_BLOCK 4096u
#define IO_FILE "cvbench-io.dat"

static uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static double mbps(uint64_t bytes, uint64_t ns)
{
    return ns ? (double)bytes / ((double)ns / 1e9) / 1e6 : 0;
}

/* One pass over the file; returns the time taken or 0 with errno set. */
static uint64_t pass(const char *path, int flags, bool write_, bool random, uint64_t bytes, char *buf)
{
    uint64_t seed = 0x9e3779b97f4a7c15ull, t0 = cv_now_ns();
    int fd = open(path, flags | O_CLOEXEC, 0600);
    if (fd < 0)
        return 0;
    size_t blk = random ? RAND_BLOCK : SEQ_BLOCK;
    uint64_t blocks = bytes / blk;
    bool ok = true;
    for (uint64_t i = 0; ok && i < blocks; i++) {
        off_t off = (off_t)((random ? xorshift(&seed) % blocks : i) * blk);
        ssize_t n = write_ ? pwrite(fd, buf, blk, off) : pread(fd, buf, blk, off);
        ok = n == (ssize_t)blk;
        if (n >= 0 && !ok)
            errno = EIO;
    }
    if (ok && write_ && fsync(fd) < 0)
        ok = false;
    int e = errno;
    if (close(fd) < 0 && ok)
        e = errno, ok = false;
    errno = e;
    uint64_t t = cv_now_ns() - t0;
    return ok ? (t ? t : 1) : 0;
}

int cvb_io_measure(const char *dir, uint64_t bytes, bool random, struct cvb_io_figures *out,
                   struct containerv_error *err)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/" IO_FILE, dir);
    char *buf = malloc(SEQ_BLOCK);
    if (!buf)
        return cv_error(err, ENOMEM, "bench.io", "allocating a buffer");
    uint64_t seed = 42;
    for (size_t i = 0; i < SEQ_BLOCK / 8; i++) /* incompressible, not the zero page */
        ((uint64_t *)(void *)buf)[i] = xorshift(&seed);
    bytes -= bytes % SEQ_BLOCK;
    uint64_t t[4] = {0};
    t[0] = pass(path, O_WRONLY | O_CREAT | O_TRUNC, true, false, bytes, buf);
    if (t[0])
        t[1] = pass(path, O_RDONLY, false, false, bytes, buf);
    if (t[1] && random && (t[2] = pass(path, O_WRONLY, true, true, bytes, buf)))
        t[3] = pass(path, O_RDONLY, false, true, bytes, buf);
    int e = errno;
    unlink(path);
    free(buf);
    if (!t[0] || !t[1] || (random && (!t[2] || !t[3])))
        return cv_error(err, e, "bench.io", "I/O on '%s'", path);
    *out = (struct cvb_io_figures){.seq_write = mbps(bytes, t[0]), .seq_read = mbps(bytes, t[1]),
                                   .rand_write = random ? mbps(bytes, t[2]) : 0,
                                   .rand_read = random ? mbps(bytes, t[3]) : 0};
    return 0;
}

int containerv_benchmark_io_performance(struct containerv_container *c, double *read_mbps,
                                        double *write_mbps)
{
    char dir[64];
    struct cvb_io_figures f;
    if (!c || !read_mbps || !write_mbps || containerv_init_pid(c) <= 0)
        return -EINVAL;
    snprintf(dir, sizeof(dir), "/proc/%d/root", (int)containerv_init_pid(c));
    int r = cvb_io_measure(dir, 32ull << 20, false, &f, NULL);
    if (r == 0) {
        *read_mbps = f.seq_read;
        *write_mbps = f.seq_write;
    }
    return r;
}

/* ------------------------------------------------------------ bench io */

static void fs_name(const char *path, char *out, size_t size)
{
    struct statfs s;
    if (statfs(path, &s) < 0) {
        snprintf(out, size, "unknown");
        return;
    }
    switch ((unsigned long)s.f_type) {
    case TMPFS_MAGIC: snprintf(out, size, "tmpfs"); break;
    case EXT4_SUPER_MAGIC: snprintf(out, size, "ext4"); break;
    case OVERLAYFS_SUPER_MAGIC: snprintf(out, size, "overlay"); break;
    case BTRFS_SUPER_MAGIC: snprintf(out, size, "btrfs"); break;
    case XFS_SUPER_MAGIC: snprintf(out, size, "xfs"); break;
    default: snprintf(out, size, "0x%lx", (unsigned long)s.f_type); break;
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#define MAX_ROUNDS 64

/* Where the same work runs: the container, the host's temporary directory,
 * and a tmpfs on the host (the file system of the writable layer). */
struct io_side {
    const char *name;
    char dir[PATH_MAX + 16];
    char skipped[256];
    double v[MAX_ROUNDS][4]; /* seq_read, seq_write, rand_read, rand_write */
};

static void store(struct containerv_bench_result *res, const struct io_side *s, int n)
{
    double col[MAX_ROUNDS];
    double *dst[4] = {&res->seq_read_mbps, &res->seq_write_mbps, &res->rand_read_mbps,
                      &res->rand_write_mbps};
    snprintf(res->skipped, sizeof(res->skipped), "%s", s->skipped);
    for (int k = 0; k < 4 && !s->skipped[0]; k++) {
        for (int i = 0; i < n; i++)
            col[i] = s->v[i][k];
        *dst[k] = median(col, n);
    }
}

static int io_ratios(struct cvb *b, const struct containerv_bench_result *c,
                     const struct containerv_bench_result *h)
{
    const char *names[] = {"seq_read", "seq_write", "rand_read", "rand_write"};
    double cv[] = {c->seq_read_mbps, c->seq_write_mbps, c->rand_read_mbps, c->rand_write_mbps};
    double hv[] = {h->seq_read_mbps, h->seq_write_mbps, h->rand_read_mbps, h->rand_write_mbps};
    for (int k = 0; k < 4 && !c->skipped[0] && !h->skipped[0]; k++) {
        char name[64];
        snprintf(name, sizeof(name), "%s/%s %s", c->name, h->name, names[k]);
        if (hv[k] > 0 && cvb_add_ratio(b, name, cv[k] / hv[k]) < 0)
            return cv_error(b->err, ENOMEM, "bench.io", "allocating ratios");
    }
    return 0;
}

/* Interleaved rounds: every side once per round. */
static int rounds(struct cvb *b, struct io_side *sides, int n_sides, int *done)
{
    int r = 0;
    for (*done = 0; r == 0 && *done < b->conf.io_rounds && !cvb_cancelled(b); (*done)++) {
        for (int i = 0; r == 0 && i < n_sides; i++) {
            struct cvb_io_figures f = {0};
            if (sides[i].skipped[0])
                continue;
            r = cvb_io_measure(sides[i].dir, b->conf.io_bytes, true, &f, b->err);
            double *v = sides[i].v[*done];
            if (r == 0)
                v[0] = f.seq_read, v[1] = f.seq_write, v[2] = f.rand_read, v[3] = f.rand_write;
            cvb_progress(b, "io", 1);
        }
    }
    return r;
}

/* A tmpfs in a private mount namespace of this thread (gone with it). */
static void host_tmpfs(struct cvb *b, struct io_side *s)
{
    snprintf(s->dir, sizeof(s->dir), "%s/io-tmpfs", b->tmp);
    const char *step = "mkdir";
    if (mkdir(s->dir, 0700) < 0 || (step = "unshare(CLONE_NEWNS)", unshare(CLONE_NEWNS) < 0) ||
        (step = "making / private", mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) ||
        (step = "mounting a tmpfs", mount("tmpfs", s->dir, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0700") < 0))
        snprintf(s->skipped, sizeof(s->skipped), "%s for '%s' failed: %s", step, s->dir, strerror(errno));
}

static int host_dir(struct cvb *b, struct io_side *s)
{
    snprintf(s->dir, sizeof(s->dir), "%s/io", b->tmp);
    if (mkdir(s->dir, 0700) < 0)
        return cv_error(b->err, errno, "bench.io", "making '%s'", s->dir);
    fs_name(s->dir, b->rep->host_fs, sizeof(b->rep->host_fs));
    return 0;
}

static int report(struct cvb *b, struct io_side *sides, int n_sides, int n)
{
    size_t first = b->rep->n_results;
    for (int i = 0; i < n_sides; i++)
        if (!cvb_add_result(b, sides[i].name))
            return cv_error(b->err, ENOMEM, "bench.io", "allocating results");
    struct containerv_bench_result *res = &b->rep->results[first];
    for (int i = 0; i < n_sides; i++)
        store(&res[i], &sides[i], n);
    int r = 0;
    for (int i = 1; r == 0 && i < n_sides; i++)
        r = io_ratios(b, &res[0], &res[i]);
    return r;
}

int cvb_io(struct cvb *b)
{
    struct io_side *sides = calloc(3, sizeof(*sides));
    struct containerv_container *c = NULL;
    struct containerv_options *o = cvb_cold_options(b);
    int r = sides && o ? 0 : cv_error(b->err, ENOMEM, "bench.io", "allocating");
    if (b->conf.io_rounds > MAX_ROUNDS)
        b->conf.io_rounds = MAX_ROUNDS;
    b->rep->io_bytes = b->conf.io_bytes - b->conf.io_bytes % SEQ_BLOCK;
    b->total = (uint64_t)b->conf.io_rounds * 3;
    if (r == 0) {
        sides[0].name = "container", sides[1].name = "host", sides[2].name = "host-tmpfs";
        if ((r = host_dir(b, &sides[1])) == 0)
            host_tmpfs(b, &sides[2]);
    }
    if (r == 0)
        r = containerv_create(NULL, o, &c, b->err);
    containerv_options_free(o);
    int n = 0;
    if (r == 0) {
        snprintf(sides[0].dir, sizeof(sides[0].dir), "/proc/%d/root", (int)containerv_init_pid(c));
        fs_name(sides[0].dir, b->rep->container_fs, sizeof(b->rep->container_fs));
        r = rounds(b, sides, 3, &n);
        struct containerv_error e;
        containerv_destroy(c, &e);
        containerv_teardown_wait(&e);
    }
    if (r == 0 && n > 0 && !cvb_cancelled(b))
        r = report(b, sides, 3, n);
    if (sides && sides[2].dir[0] && !sides[2].skipped[0])
        umount2(sides[2].dir, MNT_DETACH);
    free(sides);
    return r;
}
