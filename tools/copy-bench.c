/* Latency of containerv_upload/containerv_download, and the host disk a
 * downloaded sparse file takes: a stand-alone measurement for
 * docs/benchmarks.md ("upload and download"); built by CMake as
 * build/tools/copy-bench (not installed).
 *
 *   mkdir -p /tmp/cb/d /tmp/cb/run
 *   build/tools/copy-bench /tmp/cb/d /tmp/cb/run build/share/containerv/rootfs
 *
 * Build it against two library builds and run them alternately to compare. */
#include <containerv/containerv.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void make_file(const char *path, size_t n)
{
    static char block[1 << 20];
    memset(block, 'x', sizeof(block));
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    for (; fd >= 0 && n; n -= n < sizeof(block) ? n : sizeof(block))
        if (write(fd, block, n < sizeof(block) ? n : sizeof(block)) < 0)
            exit(1);
    if (fd < 0 || close(fd) < 0)
        exit(1);
}

static void check(int r, const struct containerv_error *e)
{
    if (r < 0) {
        fprintf(stderr, "%s\n", e->message);
        exit(1);
    }
}

/* iters round trips (after iters/10 of warm-up): host -> /tmp/f -> back */
static void round_trips(struct containerv_container *c, const char *label, const char *host, const char *back,
                        int iters)
{
    double *up = calloc((size_t)iters, sizeof(double)), *down = calloc((size_t)iters, sizeof(double));
    struct containerv_error e;
    for (int i = -iters / 10; i < iters; i++) {
        double t0 = now_us();
        check(containerv_upload(c, host, "/tmp/f", &e), &e);
        double t1 = now_us();
        check(containerv_download(c, "/tmp/f", back, &e), &e);
        double t2 = now_us();
        if (i >= 0) {
            up[i] = t1 - t0;
            down[i] = t2 - t1;
        }
    }
    qsort(up, (size_t)iters, sizeof(double), cmp);
    qsort(down, (size_t)iters, sizeof(double), cmp);
    printf("%-6s upload p50 %.1f p90 %.1f p99 %.1f us | download p50 %.1f p90 %.1f p99 %.1f us\n", label,
           up[iters / 2], up[iters * 9 / 10], up[iters * 99 / 100], down[iters / 2], down[iters * 9 / 10],
           down[iters * 99 / 100]);
    free(up);
    free(down);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: copy-bench SCRATCH-DIR RUNTIME-DIR [LOWER]\n");
        return 2;
    }
    char small[4096], big[4096], back[4096], sparse[4096];
    snprintf(small, sizeof(small), "%s/small", argv[1]);
    snprintf(big, sizeof(big), "%s/big", argv[1]);
    snprintf(back, sizeof(back), "%s/back", argv[1]);
    snprintf(sparse, sizeof(sparse), "%s/sparse", argv[1]);
    make_file(small, 4096);
    make_file(big, 64 << 20);

    struct containerv_options *o = containerv_options_new();
    containerv_options_set_runtime_dir(o, argv[2]);
    if (argc > 3)
        containerv_options_add_lower(o, argv[3]);
    struct containerv_container *c;
    struct containerv_error e;
    check(containerv_create(NULL, o, &c, &e), &e);
    containerv_options_free(o);
    round_trips(c, "4KiB", small, back, 2000);
    round_trips(c, "64MiB", big, back, 50);

    /* 300 MiB with two pages of data */
    int fd = open(sparse, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || pwrite(fd, "head\n", 5, 0) != 5 || pwrite(fd, "tail\n", 5, 200 << 20) != 5 ||
        ftruncate(fd, 300 << 20) < 0 || close(fd) < 0)
        return 1;
    check(containerv_upload(c, sparse, "/tmp/sparse", &e), &e);
    unlink(back);
    double t0 = now_us();
    check(containerv_download(c, "/tmp/sparse", back, &e), &e);
    double t1 = now_us();
    struct stat st;
    if (stat(back, &st) < 0)
        return 1;
    printf("sparse 300 MiB, 8 KiB of data: download %.1f ms, %lld bytes on the host's disk\n", (t1 - t0) / 1e3,
           (long long)st.st_blocks * 512);
    check(containerv_destroy(c, &e), &e);
    return containerv_teardown_wait(&e) < 0;
}
