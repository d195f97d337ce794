/* The error convention: -code returned, the caller's object filled with the
 * step and one line that names the path or value. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "common/internal.h"

static void test_clear(void **state)
{
    (void)state;
    struct containerv_error err;
    memset(&err, 0x55, sizeof(err));
    containerv_error_clear(&err);
    assert_int_equal(err.code, 0);
    assert_string_equal(err.step, "");
    assert_string_equal(err.message, "");
    containerv_error_clear(NULL); /* no crash */
}

static void test_with_errno(void **state)
{
    (void)state;
    struct containerv_error err;
    containerv_error_clear(&err);
    int r = cv_error(&err, ENOENT, "rootfs", "opening '%s'", "/no/such/rootfs");
    assert_int_equal(r, -ENOENT);
    assert_int_equal(err.code, ENOENT);
    assert_string_equal(err.step, "rootfs");
    assert_string_equal(err.message, "rootfs: opening '/no/such/rootfs': No such file or directory");
    assert_null(strchr(err.message, '\n'));
}

static void test_negative_and_zero_code(void **state)
{
    (void)state;
    struct containerv_error err;
    containerv_error_clear(&err);
    assert_int_equal(cv_error(&err, -EACCES, "cgroup.memory", "writing '%s'", "/sys/x"), -EACCES);
    assert_int_equal(err.code, EACCES);
    assert_non_null(strstr(err.message, "/sys/x"));
    assert_non_null(strstr(err.message, strerror(EACCES)));
    /* a zero code never reads as success */
    assert_true(cv_error(&err, 0, "s", "x") < 0);
    assert_true(err.code > 0);
}

static void test_plain(void **state)
{
    (void)state;
    struct containerv_error err;
    containerv_error_clear(&err);
    int r = cv_error_plain(&err, EINVAL, "options", "invalid size '%s'", "12Q");
    assert_int_equal(r, -EINVAL);
    assert_int_equal(err.code, EINVAL);
    assert_string_equal(err.step, "options");
    assert_string_equal(err.message, "options: invalid size '12Q'");
}

static void test_null_error_object(void **state)
{
    (void)state;
    assert_int_equal(cv_error(NULL, EPERM, "step", "x '%s'", "y"), -EPERM);
    assert_int_equal(cv_error_plain(NULL, EINVAL, "step", "x"), -EINVAL);
}

static void test_truncation(void **state)
{
    (void)state;
    struct containerv_error err;
    char long_step[200], long_path[2000];
    memset(long_step, 's', sizeof(long_step) - 1);
    long_step[sizeof(long_step) - 1] = '\0';
    memset(long_path, 'p', sizeof(long_path) - 1);
    long_path[sizeof(long_path) - 1] = '\0';
    memset(&err, 0x55, sizeof(err));
    assert_int_equal(cv_error(&err, EIO, long_step, "path '%s'", long_path), -EIO);
    /* NUL-terminated within their arrays, no overflow */
    assert_true(memchr(err.step, '\0', sizeof(err.step)) != NULL);
    assert_true(memchr(err.message, '\0', sizeof(err.message)) != NULL);
    assert_int_equal(strlen(err.step), sizeof(err.step) - 1);
    assert_int_equal(strncmp(err.step, long_step, sizeof(err.step) - 1), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clear),
        cmocka_unit_test(test_with_errno),
        cmocka_unit_test(test_negative_and_zero_code),
        cmocka_unit_test(test_plain),
        cmocka_unit_test(test_null_error_object),
        cmocka_unit_test(test_truncation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
