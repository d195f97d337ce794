/* The writable layer's baseline (src/linux/upper.c): a tree recorded, then
 * compared: unchanged is clean (reading it changes nothing), and every kind
 * of change a user can make is found, at the right place; a tree too big or
 * too deep to record is never clean. Runs on a scratch directory, not an
 * overlay: the comparison only reads the directory it is given. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "linux/linux.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[64];
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
    snprintf(root, sizeof(root), "/tmp/cvt-upper.XXXXXX");
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

static void assert_changed_at(const char *where)
{
    char what[64], want[64];
    if (!cv_upper_changed(root_fd, what, sizeof(what)))
        fail_msg("not noticed (want %s)", where);
    snprintf(want, sizeof(want), "writable layer: %s", where);
    assert_string_equal(what, want);
}

static void test_unchanged(void **st)
{
    (void)st;
    char what[64];
    run("ls -laR . > /dev/null && cat opt/cv/conf && readlink etc/mtab > /dev/null");
    for (int i = 0; i < 3; i++)
        assert_false(cv_upper_changed(root_fd, what, sizeof(what)));
}

static void test_new_file(void **st) { (void)st; run(": > srv/app/x"); assert_changed_at("/srv/app"); }
static void test_new_top(void **st) { (void)st; run("mkdir home"); assert_changed_at("/"); }
static void test_chmod_dir(void **st) { (void)st; run("chmod 700 mnt"); assert_changed_at("/mnt"); }
static void test_chmod_deep(void **st) { (void)st; run("chmod 700 mnt/data"); assert_changed_at("/mnt/data"); }
static void test_chown(void **st) { (void)st; run("chown 65534 opt/cv/conf"); assert_changed_at("/opt/cv/conf"); }
static void test_write(void **st) { (void)st; run("echo x > opt/cv/conf"); assert_changed_at("/opt/cv/conf"); }
static void test_link(void **st) { (void)st; run("ln opt/cv/conf opt/conf2"); assert_changed_at("/opt"); }
static void test_removed(void **st) { (void)st; run("rmdir srv/app"); assert_changed_at("/srv"); }
static void test_renamed(void **st) { (void)st; run("mv etc/extra etc/other"); assert_changed_at("/etc"); }
static void test_symlink(void **st) { (void)st; run("ln -sfn /etc/passwd etc/mtab"); assert_changed_at("/etc"); }
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

#define T(f) cmocka_unit_test_setup_teardown(f, make_tree, remove_tree)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_unchanged), T(test_new_file), T(test_new_top), T(test_chmod_dir),
        T(test_chmod_deep), T(test_chown), T(test_write), T(test_link),
        T(test_removed), T(test_renamed), T(test_symlink), T(test_touch),
        T(test_replaced), T(test_too_big), T(test_too_deep), T(test_names_printable),
        cmocka_unit_test(test_no_layer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
