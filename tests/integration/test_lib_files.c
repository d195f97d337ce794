/* Files: the writable layer stays apart from the lowers, upload/download stay
 * inside the container's root, --read-only and bind mounts. */
#include "cvt.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <unistd.h>

/* the per-test container and its leak snapshot: struct cvt_fixture, cvt.h */

/* ---- a fingerprint of a directory tree: names, types, modes, sizes, mtimes */

static uint64_t fp_hash;
static size_t fp_base;

static void fp_mix(const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        fp_hash ^= p[i];
        fp_hash *= 1099511628211ull;
    }
}

static int fp_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)flag;
    (void)ftw;
    fp_mix(path + fp_base, strlen(path + fp_base) + 1);
    fp_mix(&st->st_mode, sizeof(st->st_mode));
    fp_mix(&st->st_size, sizeof(st->st_size));
    fp_mix(&st->st_mtim, sizeof(st->st_mtim));
    fp_mix(&st->st_ctim, sizeof(st->st_ctim));
    fp_mix(&st->st_uid, sizeof(st->st_uid));
    return 0;
}

static uint64_t fingerprint(const char *dir)
{
    fp_hash = 14695981039346656037ull;
    fp_base = strlen(dir);
    assert_int_equal(nftw(dir, fp_entry, 32, FTW_PHYS), 0);
    return fp_hash;
}

static bool exists(const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    struct stat st;
    return lstat(path, &st) == 0;
}

static void test_writes_stay_in_upper(void **state)
{
    struct cvt_fixture *f = *state;
    uint64_t helper_fp = fingerprint(cvt.helper_layer);
    uint64_t rootfs_fp = fingerprint(cvt.rootfs);

    cvt_assert_out(f->c, "OK", "write", "/cvt-new-file", "upper");
    cvt_assert_out(f->c, "OK", "write", "/bin/cvt-new-file", "upper");
    cvt_assert_out(f->c, "OK", "write", "/etc/hostname", "changed-in-container\n");
    cvt_assert_out(f->c, "OK", "write", "/etc/passwd", "root:x:0:0::/:/bin/sh\n");
    /* the runtime's helper binary itself (CVE-2019-5736 shape): a copy-up, not the lower */
    cvt_assert_out(f->c, "OK", "write", "/bin/cvtest.bak", "x");
    const char *const rm[] = {"/bin/rm", "-f", "/bin/busybox.not-there", "/etc/group", NULL};
    assert_int_equal(cvt_run(f->c, rm, NULL, NULL, 0), 0);
    const char *const mkdir_[] = {"/bin/mkdir", "-p", "/usr/cvt-dir/sub", NULL};
    assert_int_equal(cvt_run(f->c, mkdir_, NULL, NULL, 0), 0);
    /* the container sees its changes */
    char out[256];
    assert_int_equal(cvt_cvtest(f->c, out, sizeof(out), "cat", "/cvt-new-file", NULL), 0);
    assert_string_equal(out, "upper");
    cvt_assert_out(f->c, "ENOENT", "read", "/etc/group");

    /* the lowers do not */
    assert_false(exists(cvt.helper_layer, "cvt-new-file"));
    assert_false(exists(cvt.rootfs, "cvt-new-file"));
    assert_false(exists(cvt.rootfs, "bin/cvt-new-file"));
    assert_false(exists(cvt.helper_layer, "bin/cvt-new-file"));
    assert_true(exists(cvt.rootfs, "etc/group"));
    char path[4096];
    snprintf(path, sizeof(path), "%s/etc/hostname", cvt.rootfs);
    char *host_hostname = cvt_read_file(path);
    assert_non_null(host_hostname);
    assert_string_equal(host_hostname, "containerv\n");
    free(host_hostname);
    if (fingerprint(cvt.helper_layer) != helper_fp)
        fail_msg("the helper layer %s changed", cvt.helper_layer);
    if (fingerprint(cvt.rootfs) != rootfs_fp)
        fail_msg("the default rootfs %s changed", cvt.rootfs);

    /* and a new container starts from the lowers again */
    struct containerv_options *o = cvt_options();
    struct containerv_container *c2 = cvt_create(o);
    containerv_options_free(o);
    cvt_assert_out(c2, "ENOENT", "read", "/cvt-new-file");
    cvt_assert_out(c2, "ENOENT", "read", "/bin/cvt-new-file");
    assert_int_equal(cvt_cvtest(c2, out, sizeof(out), "cat", "/etc/hostname", NULL), 0);
    assert_string_equal(out, "containerv");
    cvt_destroy(c2);
}

/* A single read-only rootfs (set_rootfs): no writable layer at all. */
static void test_single_rootfs_is_read_only(void **state)
{
    (void)state;
    /* a private copy of the helper: the rootfs must hold the command */
    char dir[4096], bin[4096], cmd[8192];
    snprintf(dir, sizeof(dir), "%s/single-rootfs", cvt.tmp);
    snprintf(cmd, sizeof(cmd), "cp -a '%s/.' '%s/' && cp -a '%s/bin/cvtest' '%s/bin/'", cvt.rootfs,
             dir, cvt.helper_layer, dir);
    assert_int_equal(mkdir(dir, 0755), 0);
    assert_int_equal(system(cmd), 0);
    uint64_t fp = fingerprint(dir);
    snprintf(bin, sizeof(bin), "%s/bin/cvtest", dir);

    struct containerv_options *o = containerv_options_new();
    assert_int_equal(containerv_options_set_rootfs(o, dir), 0);
    assert_int_equal(containerv_options_set_runtime_dir(o, cvt.runtime_dir), 0);
    struct cvt_fixture *f;
    cvt_fixture_setup_with((void **)&f, o);
    cvt_assert_out(f->c, "EROFS", "write", "/cvt-x", "x");
    cvt_assert_out(f->c, "EROFS", "write", "/bin/cvtest", "x");
    cvt_assert_out(f->c, "lo", "netdevs");
    cvt_fixture_teardown((void **)&f);
    if (fingerprint(dir) != fp)
        fail_msg("the read-only rootfs %s changed", dir);
}

static void test_read_only(void **state)
{
    (void)state;
    struct containerv_options *o = cvt_options();
    assert_int_equal(containerv_options_set_read_only(o, true), 0);
    struct cvt_fixture *f;
    cvt_fixture_setup_with((void **)&f, o);
    cvt_assert_out(f->c, "EROFS", "write", "/cvt-x", "x");
    cvt_assert_out(f->c, "EROFS", "write", "/etc/hostname", "x");
    cvt_assert_out(f->c, "OK", "write", "/tmp/cvt-x", "x"); /* /tmp stays writable */
    cvt_fixture_teardown((void **)&f);
}

static void test_bind_mounts(void **state)
{
    (void)state;
    char ro[4096], rw[4096], path[4096];
    snprintf(ro, sizeof(ro), "%s/vol-ro", cvt.tmp);
    snprintf(rw, sizeof(rw), "%s/vol-rw", cvt.tmp);
    assert_int_equal(mkdir(ro, 0755), 0);
    assert_int_equal(mkdir(rw, 0777), 0);
    snprintf(path, sizeof(path), "%s/hello.txt", ro);
    cvt_write_file(path, "hello from the host\n");

    struct containerv_options *o = cvt_options();
    assert_int_equal(containerv_options_add_bind(o, ro, "/mnt/ro", true), 0);
    assert_int_equal(containerv_options_add_bind(o, rw, "/mnt/rw", false), 0);
    struct cvt_fixture *f;
    cvt_fixture_setup_with((void **)&f, o);
    char out[256];
    assert_int_equal(cvt_cvtest(f->c, out, sizeof(out), "cat", "/mnt/ro/hello.txt", NULL), 0);
    assert_string_equal(out, "hello from the host");
    cvt_assert_out(f->c, "EROFS", "write", "/mnt/ro/new", "x");
    cvt_assert_out(f->c, "EROFS", "write", "/mnt/ro/hello.txt", "x");
    cvt_assert_out(f->c, "OK", "write", "/mnt/rw/from-container", "written inside");
    cvt_fixture_teardown((void **)&f);

    snprintf(path, sizeof(path), "%s/from-container", rw);
    char *s = cvt_read_file(path);
    if (!s)
        fail_msg("%s: %s: the rw volume's write did not reach the host", path, strerror(errno));
    assert_string_equal(s, "written inside");
    free(s);
    snprintf(path, sizeof(path), "%s/new", ro);
    assert_int_equal(access(path, F_OK), -1);
    snprintf(path, sizeof(path), "%s/hello.txt", ro);
    s = cvt_read_file(path);
    assert_string_equal(s, "hello from the host\n");
    free(s);
}

/* the index in mountinfo of the line mounted at dst, or -1 */
static int mount_index(const char *mountinfo, const char *dst)
{
    int i = 0;
    for (const char *p = mountinfo; *p; i++) {
        char point[256] = ""; /* field 5, after "ID PARENT MAJ:MIN ROOT" */
        if (sscanf(p, "%*s %*s %*s %*s %255s", point) == 1 && !strcmp(point, dst))
            return i;
        const char *nl = strchr(p, '\n');
        if (!nl)
            break;
        p = nl + 1;
    }
    return -1;
}

/* containerv_options_set_exact_mount_order: mountinfo lists the root, a
 * file system mounted in the container and the binds in the order given
 * (a bind is cloned on the host first; without this, kernels from 6.8 list
 * it before the root), and the binds keep their read-only attribute. */
static void test_exact_mount_order(void **state)
{
    (void)state;
    char ro[4096], path[4096];
    snprintf(ro, sizeof(ro), "%s/vol-order", cvt.tmp);
    assert_int_equal(mkdir(ro, 0755), 0);
    snprintf(path, sizeof(path), "%s/f", ro);
    cvt_write_file(path, "x\n");
    struct containerv_options *o = cvt_options();
    assert_int_equal(containerv_options_add_mount(o, "tmpfs", "tmpfs", "/mnt/a", 0, "size=64k"), 0);
    assert_int_equal(containerv_options_add_bind(o, ro, "/mnt/a/b", true), 0);
    assert_int_equal(containerv_options_add_bind(o, ro, "/mnt/c", false), 0);
    assert_int_equal(containerv_options_set_exact_mount_order(o, true), 0);
    struct cvt_fixture *f;
    cvt_fixture_setup_with((void **)&f, o);
    char out[16384];
    assert_int_equal(cvt_cvtest(f->c, out, sizeof(out), "cat", "/proc/self/mountinfo", NULL), 0);
    int root = mount_index(out, "/"), a = mount_index(out, "/mnt/a"), b = mount_index(out, "/mnt/a/b"),
        c = mount_index(out, "/mnt/c");
    if (!(root >= 0 && root < a && a < b && b < c))
        fail_msg("mountinfo order: / %d, /mnt/a %d, /mnt/a/b %d, /mnt/c %d:\n%s", root, a, b, c, out);
    cvt_assert_out(f->c, "EROFS", "write", "/mnt/a/b/new", "x");
    cvt_assert_out(f->c, "x", "cat", "/mnt/a/b/f");
    cvt_assert_out(f->c, "OK", "write", "/mnt/c/new", "y");
    cvt_fixture_teardown((void **)&f);
}

static void test_upload_download_roundtrip(void **state)
{
    struct cvt_fixture *f = *state;
    char src[4096], back[4096];
    snprintf(src, sizeof(src), "%s/upload.bin", cvt.tmp);
    snprintf(back, sizeof(back), "%s/download.bin", cvt.tmp);
    /* 1 MiB + a bit of bytes of every value */
    size_t len = (1u << 20) + 12345;
    unsigned char *data = malloc(len);
    for (size_t i = 0; i < len; i++)
        data[i] = (unsigned char)((i * 2654435761u) >> 13);
    int fd = open(src, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    close(fd);

    struct containerv_error err;
    containerv_error_clear(&err);
    int r = containerv_upload(f->c, src, "/tmp/uploaded.bin", &err);
    if (r < 0)
        fail_msg("upload: %d: %s", r, err.message);
    char out[64], want[64];
    snprintf(want, sizeof(want), "%zu", len);
    assert_int_equal(cvt_cvtest(f->c, out, sizeof(out), "read", "/tmp/uploaded.bin", NULL), 0);
    assert_string_equal(out, want);

    r = containerv_download(f->c, "/tmp/uploaded.bin", back, &err);
    if (r < 0)
        fail_msg("download: %d: %s", r, err.message);
    unsigned char *got = malloc(len + 1);
    fd = open(back, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    ssize_t n = read(fd, got, len + 1);
    close(fd);
    assert_int_equal(n, (ssize_t)len);
    assert_memory_equal(got, data, len);
    free(got);
    free(data);

    /* a file the workload wrote comes back byte for byte */
    cvt_assert_out(f->c, "OK", "write", "/etc/made-inside", "made inside\n");
    assert_int_equal(containerv_download(f->c, "/etc/made-inside", back, &err), 0);
    char *s = cvt_read_file(back);
    assert_string_equal(s, "made inside\n");
    free(s);

    /* errors name the path */
    containerv_error_clear(&err);
    assert_int_equal(containerv_download(f->c, "/no/such/file", back, &err), -ENOENT);
    assert_non_null(strstr(err.message, "/no/such/file"));
    containerv_error_clear(&err);
    char missing[4096];
    snprintf(missing, sizeof(missing), "%s/no-such-host-file", cvt.tmp);
    assert_int_equal(containerv_upload(f->c, missing, "/tmp/x", &err), -ENOENT);
    assert_non_null(strstr(err.message, missing));
}

/* Paths are resolved inside the container's root: an absolute symlink in the
 * container leads to the container's file, never the host's. */
static void test_symlink_escapes_stay_inside(void **state)
{
    struct cvt_fixture *f = *state;
    char host_target[4096], back[4096], out[256];
    snprintf(host_target, sizeof(host_target), "%s/host-secret", cvt.tmp);
    cvt_write_file(host_target, "host secret\n");
    snprintf(back, sizeof(back), "%s/downloaded", cvt.tmp);

    cvt_assert_out(f->c, "OK", "write", "/etc/shadow", "container shadow\n");
    const char *const ln1[] = {"/bin/ln", "-s", "/etc/shadow", "/x", NULL};
    assert_int_equal(cvt_run(f->c, ln1, NULL, NULL, 0), 0);
    const char *const ln2[] = {"/bin/ln", "-s", "../../../../../../etc/shadow", "/tmp/rel", NULL};
    assert_int_equal(cvt_run(f->c, ln2, NULL, NULL, 0), 0);
    const char *const ln3[] = {"/bin/ln", "-s", host_target, "/y", NULL};
    assert_int_equal(cvt_run(f->c, ln3, NULL, NULL, 0), 0);
    const char *const ln4[] = {"/bin/ln", "-s", "/", "/tmp/rootlink", NULL};
    assert_int_equal(cvt_run(f->c, ln4, NULL, NULL, 0), 0);

    struct containerv_error err;
    const char *via[] = {"/x", "/tmp/rel", "/tmp/rootlink/etc/shadow", "/tmp/../../etc/shadow"};
    for (size_t i = 0; i < sizeof(via) / sizeof(via[0]); i++) {
        unlink(back);
        containerv_error_clear(&err);
        int r = containerv_download(f->c, via[i], back, &err);
        if (r < 0)
            fail_msg("download %s: %d: %s", via[i], r, err.message);
        char *s = cvt_read_file(back);
        assert_non_null(s);
        if (strcmp(s, "container shadow\n"))
            fail_msg("download %s read \"%.40s\": not the container's /etc/shadow", via[i], s);
        free(s);
    }

    /* /y points at a host path that exists only on the host */
    containerv_error_clear(&err);
    unlink(back);
    int r = containerv_download(f->c, "/y", back, &err);
    if (r == 0) {
        char *s = cvt_read_file(back);
        if (s && strstr(s, "host secret"))
            fail_msg("download /y read the host's %s", host_target);
        free(s);
    }

    /* upload through the same symlink must not write the host file */
    char src[4096];
    snprintf(src, sizeof(src), "%s/payload", cvt.tmp);
    cvt_write_file(src, "payload\n");
    containerv_error_clear(&err);
    containerv_upload(f->c, src, "/y", &err);
    char *s = cvt_read_file(host_target);
    assert_non_null(s);
    if (strcmp(s, "host secret\n"))
        fail_msg("upload to the container's /y rewrote the host's %s", host_target);
    free(s);
    /* ... and where it did go, it went inside */
    int rc = cvt_cvtest(f->c, out, sizeof(out), "cat", host_target, NULL);
    if (rc == 0)
        assert_string_equal(out, "payload");

    /* download of a directory or a device is refused, not streamed */
    containerv_error_clear(&err);
    assert_true(containerv_download(f->c, "/etc", back, &err) < 0);
    assert_true(err.message[0] != '\0');
}

/* The size of a container file system, from statfs inside. */
static unsigned long long fs_size(struct containerv_container *c, const char *path)
{
    const char *const argv[] = {"/bin/busybox", "stat", "-f", "-c", "%b %S", path, NULL};
    char out[128];
    assert_int_equal(cvt_run(c, argv, NULL, out, sizeof(out)), 0);
    unsigned long long blocks, bsize;
    assert_int_equal(sscanf(out, "%llu %llu", &blocks, &bsize), 2);
    return blocks * bsize;
}

/* /tmp and the writable layer (statfs of the overlay root is its upper's)
 * are sized: to the memory limit, and without one to half the RAM but at
 * most 4 GiB, not the kernel's half of the RAM for each mount. */
static void test_tmpfs_sizes(void **state)
{
    (void)state;
    struct sysinfo si;
    assert_int_equal(sysinfo(&si), 0);
    unsigned long long want = (unsigned long long)si.totalram * si.mem_unit / 2;
    unsigned long long page = (unsigned long long)sysconf(_SC_PAGESIZE);
    if (want > (4ull << 30))
        want = 4ull << 30;
    want = (want + page - 1) / page * page;
    struct cvt_fixture *f;
    cvt_fixture_setup_with((void **)&f, cvt_options());
    unsigned long long tmp = fs_size(f->c, "/tmp"), root = fs_size(f->c, "/");
    cvt_fixture_teardown((void **)&f);
    if (tmp != want || root != want)
        fail_msg("no memory limit: /tmp is %llu bytes, the writable layer %llu; want %llu", tmp, root, want);

    struct containerv_options *o = cvt_options();
    assert_int_equal(containerv_options_set_memory_limit(o, 64 << 20), 0);
    cvt_fixture_setup_with((void **)&f, o);
    tmp = fs_size(f->c, "/tmp");
    root = fs_size(f->c, "/");
    cvt_fixture_teardown((void **)&f);
    if (tmp != 64 << 20 || root != 64 << 20)
        fail_msg("a 64 MiB memory limit: /tmp is %llu bytes, the writable layer %llu", tmp, root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_writes_stay_in_upper, cvt_fixture_setup, cvt_fixture_teardown),
        cmocka_unit_test(test_single_rootfs_is_read_only),
        cmocka_unit_test(test_read_only),
        cmocka_unit_test(test_tmpfs_sizes),
        cmocka_unit_test(test_bind_mounts),
        cmocka_unit_test(test_exact_mount_order),
        cmocka_unit_test_setup_teardown(test_upload_download_roundtrip, cvt_fixture_setup, cvt_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_symlink_escapes_stay_inside, cvt_fixture_setup, cvt_fixture_teardown),
    };
    return cvt_main("lib_files", tests, sizeof(tests) / sizeof(tests[0]), 240);
}
