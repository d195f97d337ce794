/* The writable layer's baseline (src/linux/upper.c): a tree recorded, then
 * compared: unchanged is clean (reading it changes nothing), and every kind
 * of change a user can make is found, at the right place; a tree too big or
 * too deep to record is never clean, and so is one not on tmpfs. Runs on a
 * tmpfs (as the writable layer is) in a private mount namespace, not an
 * overlay: the comparison only reads the directory it is given. Where a
 * change also moves a directory's times, which kernels without multigrain
 * timestamps (before 6.13) may leave in the clock tick of the record, it is
 * found at the directory or at the entry below it: either is asserted. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "linux/linux.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

static char parent[64]; /* the tmpfs where the scratch trees go */
static char root[128];
static int root_fd = -1;

static void run(const char *fmt, ...)
{
    char cmd[1024];
    int n = snprintf(cmd, sizeof(cmd), "cd '%s' && ", root);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd + n, sizeof(cmd) - (size_t)n, fmt, ap);
    va_end(ap);
    if (system(cmd) != 0)
        fail_msg("'%s' failed", cmd);
}

/* A fresh tree like a set-up leaves: mount points, a workdir, a copied-up
 * directory with an empty file (a file bind's target) and a symlink. */
static int make_tree(void **st)
{
    (void)st;
    snprintf(root, sizeof(root), "%s/cvt-upper.XXXXXX", parent);
    if (!mkdtemp(root))
        return -1;
    run("mkdir -p mnt/data srv/app etc/extra opt/cv proc && : > opt/cv/conf && ln -s /proc/self/mounts etc/mtab");
    root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root_fd < 0)
        return -1;
    cv_upper_record(root_fd);
    return 0;
}

static int remove_tree(void **st)
{
    (void)st;
    char cmd[128];
    close(root_fd);
    root_fd = -1;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    return system(cmd) == 0 ? 0 : -1;
}

/* Noticed, at where (or, with or_below, at an entry below it). */
static void assert_found(const char *where, bool or_below)
{
    char what[64], want[64];
    if (!cv_upper_changed(root_fd, what, sizeof(what)))
        fail_msg("not noticed (want %s)", where);
    snprintf(want, sizeof(want), "writable layer: %s", where);
    if (or_below ? strncmp(what, want, strlen(want)) != 0 : strcmp(what, want) != 0)
        fail_msg("noticed as '%s', want '%s'%s", what, want, or_below ? " or below" : "");
}

static void assert_changed_at(const char *where)
{
    assert_found(where, false);
}

static void test_unchanged(void **st)
{
    (void)st;
    char what[64];
    run("ls -laR . > /dev/null && cat opt/cv/conf && readlink etc/mtab > /dev/null");
    for (int i = 0; i < 3; i++)
        assert_false(cv_upper_changed(root_fd, what, sizeof(what)));
}

static void test_new_in_leaf(void **st) { (void)st; run(": > mnt/data/x"); assert_changed_at("/mnt/data"); }
static void test_new_file(void **st) { (void)st; run(": > srv/app/x"); assert_changed_at("/srv/app"); }
static void test_new_top(void **st) { (void)st; run("mkdir home"); assert_changed_at("/"); }
static void test_chmod_dir(void **st) { (void)st; run("chmod 700 mnt"); assert_changed_at("/mnt"); }
static void test_chmod_deep(void **st) { (void)st; run("chmod 700 mnt/data"); assert_changed_at("/mnt/data"); }
static void test_chown(void **st) { (void)st; run("chown 65534 opt/cv/conf"); assert_changed_at("/opt/cv/conf"); }
static void test_write(void **st) { (void)st; run("echo x > opt/cv/conf"); assert_changed_at("/opt/cv/conf"); }
static void test_link(void **st) { (void)st; run("ln opt/cv/conf opt/conf2"); assert_changed_at("/opt"); }
static void test_removed(void **st) { (void)st; run("rmdir srv/app"); assert_changed_at("/srv"); }
static void test_renamed(void **st) { (void)st; run("mv etc/extra etc/other"); assert_found("/etc", true); }
static void test_symlink(void **st) { (void)st; run("ln -sfn /etc/passwd etc/mtab"); assert_found("/etc", true); }

/* A recorded directory moved away, a symlink to it in its place and an
 * entry removed so that the top keeps its size: noticed (at the top's link
 * count, or, with its times unchanged, at the symlink, never followed). */
static void test_symlink_dir(void **st)
{
    (void)st;
    run("mv srv srv.old && ln -s srv.old srv && rm -r mnt");
    assert_found("/", true);
}
static void test_touch(void **st) { (void)st; run("touch -d 2001-01-01 srv"); assert_changed_at("/srv"); }

/* A directory replaced by a file of the same name (its parent is the top:
 * found there first). */
static void test_replaced(void **st)
{
    (void)st;
    run("rmdir proc && : > proc");
    assert_changed_at("/");
}

/* Beyond what can be recorded (entries, depth): never clean. */
static void test_too_big(void **st)
{
    (void)st;
    char what[64];
    run("mkdir many && cd many && for i in $(seq 300); do : > f$i; done");
    cv_upper_record(root_fd);
    assert_true(cv_upper_changed(root_fd, what, sizeof(what)));
    assert_string_equal(what, "writable layer");
}

static void test_too_deep(void **st)
{
    (void)st;
    char what[64];
    run("mkdir -p $(for i in $(seq 40); do printf d/; done)");
    cv_upper_record(root_fd);
    assert_true(cv_upper_changed(root_fd, what, sizeof(what)));
}

/* A name that is not printable is not printed as it is. */
static void test_names_printable(void **st)
{
    (void)st;
    run("mkdir \"$(printf 'a\\033[1mb')\"");
    cv_upper_record(root_fd);
    run("chmod 700 a*b");
    assert_changed_at("/a?[1mb");
}

static void test_no_layer(void **st)
{
    (void)st;
    char what[64];
    cv_upper_record(-1);
    assert_false(cv_upper_changed(-1, what, sizeof(what)));
}

/* Not on tmpfs, directory sizes prove nothing: never as new. */
static void test_not_tmpfs(void **st)
{
    (void)st;
    char what[64];
    int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    struct statfs sf;
    assert_true(fd >= 0);
    if (fstatfs(fd, &sf) < 0 || sf.f_type == TMPFS_MAGIC) {
        close(fd);
        skip();
    }
    cv_upper_record(fd);
    assert_true(cv_upper_changed(fd, what, sizeof(what)));
    close(fd);
}

#define T(f) cmocka_unit_test_setup_teardown(f, make_tree, remove_tree)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_unchanged), T(test_new_in_leaf), T(test_new_file), T(test_new_top), T(test_chmod_dir),
        T(test_chmod_deep), T(test_chown), T(test_write), T(test_link),
        T(test_removed), T(test_renamed), T(test_symlink), T(test_touch),
        T(test_replaced), T(test_symlink_dir), T(test_too_big), T(test_too_deep),
        T(test_names_printable), cmocka_unit_test(test_no_layer), cmocka_unit_test(test_not_tmpfs),
    };
    char mnt[64] = "/tmp/cvt-upper.XXXXXX";
    if (!mkdtemp(mnt))
        return 1;
    if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
        mount("tmpfs", mnt, "tmpfs", 0, "mode=0700") < 0) {
        printf("skipped: no tmpfs in a private mount namespace (not root?): %s\n", strerror(errno));
        rmdir(mnt);
        return 77;
    }
    snprintf(parent, sizeof(parent), "%s", mnt);
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    umount(mnt);
    rmdir(mnt);
    return failed;
}
