/* upload/download against what a workload can put in the way: FIFOs at
 * either end, sparse files, destinations that are not regular files, sizes
 * over the cap, and an init whose pid was reused by a host process. */
#include "cvt.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define MiB (1ull << 20)

/* Run a command of the container's busybox; fail unless it exits 0. */
#define BB(c, ...)                                                                   \
    do {                                                                             \
        const char *const argv_[] = {"/bin/busybox", __VA_ARGS__, NULL};             \
        char out_[512];                                                              \
        int rc_ = cvt_run((c), argv_, NULL, out_, sizeof(out_));                     \
        if (rc_ != 0)                                                                \
            fail_msg("busybox %s: exit %d: %s", cvt_join(__VA_ARGS__, (char *)NULL), rc_, out_); \
    } while (0)

static void host_path(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "%s/%s", cvt.tmp, name);
}

/* Names in a host directory other than "." and ".."; for "nothing left". */
static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n;
}

/* The names in a container directory, one line. */
static void ls_in(struct containerv_container *c, const char *dir, char *out, size_t size)
{
    const char *const argv[] = {"/bin/busybox", "ls", "-A", dir, NULL};
    assert_int_equal(cvt_run(c, argv, NULL, out, size), 0);
    for (char *p = out; *p; p++)
        if (*p == '\n')
            *p = ' ';
}

/* A copy run in a child process, so that a copy that blocks (on a FIFO)
 * becomes a failure of the test instead of a hang. The 60 s are not a limit
 * on the copy's speed: a refusal takes microseconds, a blocked copy forever. */
static int copy_watched(struct containerv_container *c, bool upload, const char *from, const char *to,
                        const struct containerv_copy_options *co, struct containerv_error *err)
{
    int p[2];
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        struct containerv_error e;
        int r = upload ? containerv_upload_ex(c, from, to, co, &e) : containerv_download_ex(c, from, to, co, &e);
        if (write(p[1], &r, sizeof(r)) != sizeof(r) || write(p[1], &e, sizeof(e)) != sizeof(e))
            _exit(1);
        _exit(0);
    }
    close(p[1]);
    struct pollfd pfd = {.fd = p[0], .events = POLLIN};
    int n = poll(&pfd, 1, 60000);
    int r = 0;
    bool got = n == 1 && read(p[0], &r, sizeof(r)) == sizeof(r) && read(p[0], err, sizeof(*err)) == sizeof(*err);
    if (!got)
        kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    close(p[0]);
    if (!got)
        fail_msg("%s %s -> %s blocked (no answer after 60 s)", upload ? "upload" : "download", from, to);
    return r;
}

static void assert_refused(int r, int code, const struct containerv_error *err, const char *word)
{
    if (r != -code)
        fail_msg("want -%s (%s), got %d: %s", strerror(code), word, r, err->message);
    if (!strstr(err->message, word))
        fail_msg("the message \"%s\" does not say \"%s\"", err->message, word);
}

/* A FIFO at the source or the destination is refused at once, at both
 * ends: the copy never opens it (an open would block until a peer comes). */
static void test_fifos_refused(void **state)
{
    struct cvt_fixture *f = *state;
    struct containerv_error err;
    char src[4096], dst[4096], fifo[4096], out[512];
    host_path(src, sizeof(src), "src.txt");
    cvt_write_file(src, "payload\n");
    BB(f->c, "mkdir", "/tmp/d");
    BB(f->c, "mkfifo", "/tmp/d/fifo");

    /* made by the workload, as the source of a download */
    host_path(dst, sizeof(dst), "out");
    assert_int_equal(mkdir(dst, 0755), 0);
    host_path(dst, sizeof(dst), "out/x");
    assert_refused(copy_watched(f->c, false, "/tmp/d/fifo", dst, NULL, &err), EINVAL, &err, "FIFO");
    host_path(dst, sizeof(dst), "out");
    assert_int_equal(count_entries(dst), 0);

    /* and as the destination of an upload: nothing written beside it either */
    assert_refused(copy_watched(f->c, true, src, "/tmp/d/fifo", NULL, &err), EINVAL, &err, "FIFO");
    ls_in(f->c, "/tmp/d", out, sizeof(out));
    assert_string_equal(out, "fifo");

    /* a FIFO on the host, at either end */
    host_path(fifo, sizeof(fifo), "out/host-fifo");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    assert_refused(copy_watched(f->c, true, fifo, "/tmp/d/y", NULL, &err), EINVAL, &err, "FIFO");
    ls_in(f->c, "/tmp/d", out, sizeof(out));
    assert_string_equal(out, "fifo");
    cvt_assert_out(f->c, "OK", "write", "/tmp/d/file", "in the container\n");
    assert_refused(copy_watched(f->c, false, "/tmp/d/file", fifo, NULL, &err), EINVAL, &err, "FIFO");
    assert_int_equal(count_entries(dst), 1);
}

static void assert_sparse(const char *what, long long size, long long blocks)
{
    if (size != (long long)(300 * MiB))
        fail_msg("%s: size %lld, want %llu", what, size, 300 * MiB);
    /* two pages of data; a few blocks of metadata at most */
    if (blocks * 512 > (long long)MiB)
        fail_msg("%s: %lld bytes on disk for 8 KiB of data in a 300 MiB file: the holes were filled", what,
                 blocks * 512);
}

/* A 300 MiB file with two pages of data stays a file of two pages, both ways. */
static void test_sparse_kept(void **state)
{
    struct cvt_fixture *f = *state;
    struct containerv_error err;
    char back[4096], src[4096], out[512];
    BB(f->c, "sh", "-c",
       "echo head > /tmp/sparse && /bin/busybox truncate -s 300M /tmp/sparse && "
       "echo tail | /bin/busybox dd of=/tmp/sparse bs=1M seek=200 conv=notrunc 2>/dev/null");
    host_path(back, sizeof(back), "sparse.back");
    int r = containerv_download(f->c, "/tmp/sparse", back, &err);
    if (r < 0)
        fail_msg("download: %d: %s", r, err.message);
    struct stat st;
    assert_int_equal(stat(back, &st), 0);
    assert_sparse("downloaded", (long long)st.st_size, (long long)st.st_blocks);
    int fd = open(back, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    char buf[8] = {0};
    assert_int_equal(pread(fd, buf, 5, 0), 5);
    assert_memory_equal(buf, "head\n", 5);
    assert_int_equal(pread(fd, buf, 5, (off_t)(200 * MiB)), 5);
    assert_memory_equal(buf, "tail\n", 5);
    assert_int_equal(pread(fd, buf, 4, (off_t)(100 * MiB)), 4);
    assert_memory_equal(buf, "\0\0\0\0", 4);
    close(fd);

    /* the host's sparse file, uploaded */
    host_path(src, sizeof(src), "sparse.src");
    assert_int_equal(rename(back, src), 0);
    r = containerv_upload(f->c, src, "/tmp/sparse.up", &err);
    if (r < 0)
        fail_msg("upload: %d: %s", r, err.message);
    const char *const argv[] = {"/bin/busybox", "stat", "-c", "%s %b", "/tmp/sparse.up", NULL};
    assert_int_equal(cvt_run(f->c, argv, NULL, out, sizeof(out)), 0);
    long long size, blocks;
    assert_int_equal(sscanf(out, "%lld %lld", &size, &blocks), 2);
    assert_sparse("uploaded", size, blocks);
}

/* An existing destination must be a regular file: never a directory, a
 * symlink or a device, on either side. */
static void test_destination_types_refused(void **state)
{
    struct cvt_fixture *f = *state;
    struct containerv_error err;
    char src[4096], dir[4096], link[4096], target[4096], out[512];
    host_path(src, sizeof(src), "payload");
    cvt_write_file(src, "payload\n");
    BB(f->c, "mkdir", "-p", "/tmp/t/dir");
    cvt_assert_out(f->c, "OK", "write", "/tmp/t/target", "target\n");
    BB(f->c, "ln", "-s", "/tmp/t/target", "/tmp/t/link");

    /* in the container */
    assert_refused(containerv_upload(f->c, src, "/tmp/t/dir", &err), EISDIR, &err, "directory");
    assert_refused(containerv_upload(f->c, src, "/tmp/t/", &err), EISDIR, &err, "directory");
    assert_refused(containerv_upload(f->c, src, "/tmp/t/link", &err), ELOOP, &err, "symbolic link");
    assert_refused(containerv_upload(f->c, src, "/dev/null", &err), EINVAL, &err, "character device");
    cvt_assert_out(f->c, "target", "cat", "/tmp/t/target");
    ls_in(f->c, "/tmp/t", out, sizeof(out));
    assert_string_equal(out, "dir link target");
    ls_in(f->c, "/tmp/t/dir", out, sizeof(out));
    assert_string_equal(out, "");

    /* on the host */
    host_path(dir, sizeof(dir), "dst");
    assert_int_equal(mkdir(dir, 0755), 0);
    host_path(target, sizeof(target), "dst/target");
    cvt_write_file(target, "host target\n");
    host_path(link, sizeof(link), "dst/link");
    assert_int_equal(symlink(target, link), 0);
    host_path(src, sizeof(src), "dst/sub");
    assert_int_equal(mkdir(src, 0755), 0);
    assert_refused(containerv_download(f->c, "/tmp/t/target", src, &err), EISDIR, &err, "directory");
    assert_refused(containerv_download(f->c, "/tmp/t/target", link, &err), ELOOP, &err, "symbolic link");
    assert_refused(containerv_download(f->c, "/tmp/t/target", "/dev/null", &err), EINVAL, &err,
                   "character device");
    char *s = cvt_read_file(target);
    assert_string_equal(s, "host target\n");
    free(s);
    assert_int_equal(count_entries(dir), 3);
    assert_int_equal(count_entries(src), 0);

    /* a device as the source: refused, not read */
    assert_refused(containerv_download(f->c, "/dev/zero", target, &err), EINVAL, &err, "character device");
    host_path(src, sizeof(src), "payload");
    assert_refused(containerv_upload(f->c, "/dev/zero", "/tmp/t/zero", &err), EINVAL, &err, "character device");

    /* and a regular destination is replaced, with the source's content */
    assert_int_equal(containerv_upload(f->c, src, "/tmp/t/target", &err), 0);
    cvt_assert_out(f->c, "payload", "cat", "/tmp/t/target");
    ls_in(f->c, "/tmp/t", out, sizeof(out));
    assert_string_equal(out, "dir link target");
}

/* Over the cap: refused before a byte is written; the destination stays as
 * it was and nothing is left beside it. */
static void test_size_cap(void **state)
{
    struct cvt_fixture *f = *state;
    struct containerv_error err;
    struct containerv_copy_options co;
    containerv_copy_options_init(&co);
    assert_int_equal(co.max_bytes, CONTAINERV_COPY_DEFAULT_MAX);
    co.max_bytes = MiB;
    char dir[4096], big[4096], dst[4096], out[512];
    host_path(dir, sizeof(dir), "cap");
    assert_int_equal(mkdir(dir, 0755), 0);
    host_path(big, sizeof(big), "big");
    int fd = open(big, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    static char chunk[64 << 10];
    memset(chunk, 'x', sizeof(chunk));
    for (int i = 0; i < 32; i++) /* 2 MiB */
        assert_int_equal(write(fd, chunk, sizeof(chunk)), (ssize_t)sizeof(chunk));
    close(fd);

    BB(f->c, "mkdir", "/tmp/cap");
    cvt_assert_out(f->c, "OK", "write", "/tmp/cap/old", "old\n");
    assert_refused(containerv_upload_ex(f->c, big, "/tmp/cap/new", &co, &err), EFBIG, &err, "limit");
    assert_refused(containerv_upload_ex(f->c, big, "/tmp/cap/old", &co, &err), EFBIG, &err, "limit");
    ls_in(f->c, "/tmp/cap", out, sizeof(out));
    assert_string_equal(out, "old");
    cvt_assert_out(f->c, "old", "cat", "/tmp/cap/old");

    co.max_bytes = 4 * MiB; /* under a larger cap it goes in */
    assert_int_equal(containerv_upload_ex(f->c, big, "/tmp/cap/big", &co, &err), 0);
    co.max_bytes = MiB;
    host_path(dst, sizeof(dst), "cap/old");
    cvt_write_file(dst, "old\n");
    host_path(dst, sizeof(dst), "cap/new");
    assert_refused(containerv_download_ex(f->c, "/tmp/cap/big", dst, &co, &err), EFBIG, &err, "limit");
    host_path(dst, sizeof(dst), "cap/old");
    assert_refused(containerv_download_ex(f->c, "/tmp/cap/big", dst, &co, &err), EFBIG, &err, "limit");
    assert_int_equal(count_entries(dir), 1);
    char *s = cvt_read_file(dst);
    assert_string_equal(s, "old\n");
    free(s);

    /* the default cap: 1 GiB of size, holes included; UINT64_MAX lifts it */
    BB(f->c, "truncate", "-s", "1073741825", "/tmp/cap/huge");
    host_path(dst, sizeof(dst), "cap/huge");
    assert_refused(containerv_download(f->c, "/tmp/cap/huge", dst, &err), EFBIG, &err, "limit");
    assert_int_equal(count_entries(dir), 1);
    co.max_bytes = UINT64_MAX;
    assert_int_equal(containerv_download_ex(f->c, "/tmp/cap/huge", dst, &co, &err), 0);
    struct stat st;
    assert_int_equal(stat(dst, &st), 0);
    assert_int_equal(st.st_size, 1073741825);
    assert_true(st.st_blocks * 512 <= (long long)MiB);
}

/* A file bound into the container is not replaced behind the bind (rename
 * would detach the container's mount): refused, the host file untouched. */
static void test_mount_point_destination_refused(void **state)
{
    (void)state;
    struct containerv_error err;
    char file[4096], src[4096], out[4096];
    host_path(file, sizeof(file), "bound.txt");
    cvt_write_file(file, "host file\n");
    host_path(src, sizeof(src), "payload");
    cvt_write_file(src, "payload\n");
    struct containerv_options *o = cvt_options();
    assert_int_equal(containerv_options_add_bind(o, file, "/etc/bound", false), 0);
    struct cvt_fixture *f;
    cvt_fixture_setup_with((void **)&f, o);
    int r = containerv_upload(f->c, src, "/etc/bound", &err);
    char inside[256];
    assert_int_equal(cvt_cvtest(f->c, inside, sizeof(inside), "cat", "/etc/bound", NULL), 0);
    ls_in(f->c, "/etc", out, sizeof(out));
    cvt_fixture_teardown((void **)&f);
    assert_refused(r, EBUSY, &err, "mount point");
    assert_string_equal(inside, "host file");
    if (strstr(out, ".cv-"))
        fail_msg("a temporary file was left in /etc: %s", out);
    char *s = cvt_read_file(file);
    assert_string_equal(s, "host file\n");
    free(s);
}

/* A host process with the pid the init had (clone3's set_tid makes the
 * reuse certain): the handle's copy must not reach that process's root. */
static pid_t spawn_with_pid(pid_t want)
{
    pid_t tid[1] = {want};
    struct clone_args ca = {.exit_signal = SIGCHLD, .set_tid = (uintptr_t)tid, .set_tid_size = 1};
    long r = syscall(SYS_clone3, &ca, sizeof(ca));
    if (r == 0) {
        pause();
        _exit(0);
    }
    return (pid_t)r;
}

static void test_reused_pid_refused(void **state)
{
    (void)state;
    struct containerv_options *o = cvt_options();
    struct containerv_container *c = cvt_create(o);
    containerv_options_free(o);
    char id[80], host_file[4096], back[4096];
    snprintf(id, sizeof(id), "%s", containerv_id(c));
    struct containerv_container *a;
    struct containerv_error err;
    int r = containerv_attach(cvt.runtime_dir, id, &a, &err);
    if (r < 0)
        fail_msg("attach: %s", err.message);
    pid_t pid = containerv_init_pid(a);
    cvt_destroy(c);
    assert_int_equal(containerv_teardown_wait(&err), 0); /* the init is reaped: its pid is free */

    pid_t host = spawn_with_pid(pid);
    if (host < 0 && errno != EEXIST) /* EEXIST: some other process has it, as good */
        fail_msg("clone3 with set_tid %d: %s", (int)pid, strerror(errno));
    /* a file that only the host's root has, at a path the copy would use */
    host_path(host_file, sizeof(host_file), "only-on-the-host");
    cvt_write_file(host_file, "host\n");
    host_path(back, sizeof(back), "reused.back");
    r = containerv_download(a, host_file, back, &err);
    int r2 = containerv_upload(a, host_file, back, &err);
    if (host > 0) {
        kill(host, SIGKILL);
        waitpid(host, NULL, 0);
    }
    containerv_release(a);
    if (r != -ESRCH)
        fail_msg("download through the reused pid %d: want -ESRCH, got %d (%s)", (int)pid, r,
                 r ? err.message : "it read the host process's root");
    assert_int_equal(r2, -ESRCH);
    assert_non_null(strstr(err.message, "is gone"));
    assert_int_equal(access(back, F_OK), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fifos_refused, cvt_fixture_setup, cvt_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_sparse_kept, cvt_fixture_setup, cvt_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_destination_types_refused, cvt_fixture_setup, cvt_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_size_cap, cvt_fixture_setup, cvt_fixture_teardown),
        cmocka_unit_test(test_mount_point_destination_refused),
        cmocka_unit_test(test_reused_pid_refused),
    };
    return cvt_main("lib_copy", tests, sizeof(tests) / sizeof(tests[0]), 240);
}
