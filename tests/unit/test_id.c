/* Container ids: [A-Za-z0-9][A-Za-z0-9_.-]{0,63}; nothing that could be a path. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>

#include "common/internal.h"

static void test_valid_ids(void **state)
{
    (void)state;
    const char *ok[] = {"a", "Z", "0", "web1", "my-container", "a_b.c-d", "9.9.9", "A1b2C3",
                        "x-"};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        if (!cv_valid_id(ok[i]))
            fail_msg("cv_valid_id(\"%s\") rejected a valid id", ok[i]);

    char max[CV_ID_MAX + 1];
    memset(max, 'a', CV_ID_MAX);
    max[CV_ID_MAX] = '\0';
    assert_true(cv_valid_id(max)); /* exactly 64 characters */
}

static void test_invalid_ids(void **state)
{
    (void)state;
    const char *bad[] = {"",       ".",       "..",       "-a",     "_a",      ".hidden",
                         "a/b",    "../etc",  "/abs",     "a b",    "a\tb",    "a\nb",
                         "a:b",    "a*",      "caf\xc3\xa9", "a;rm",   "a$b",     "a\\b"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (cv_valid_id(bad[i]))
            fail_msg("cv_valid_id(\"%s\") accepted an invalid id", bad[i]);
    assert_false(cv_valid_id(NULL));

    char long_id[CV_ID_MAX + 2];
    memset(long_id, 'a', CV_ID_MAX + 1);
    long_id[CV_ID_MAX + 1] = '\0';
    assert_false(cv_valid_id(long_id)); /* 65 characters */
}

static void test_random_ids(void **state)
{
    (void)state;
    char a[CV_ID_MAX + 1], b[CV_ID_MAX + 1];
    cv_random_id(a);
    cv_random_id(b);
    assert_true(cv_valid_id(a));
    assert_true(cv_valid_id(b));
    assert_string_not_equal(a, b);
}

/* containerv_create rejects a bad id before doing anything. */
static void test_create_rejects_bad_id(void **state)
{
    (void)state;
    struct containerv_options *o = containerv_options_new();
    assert_non_null(o);
    const char *bad[] = {"../escape", "a/b", "", "-x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct containerv_error err;
        containerv_error_clear(&err);
        struct containerv_container *c = NULL;
        int r = containerv_create(bad[i], o, &c, &err);
        if (r != -EINVAL)
            fail_msg("containerv_create(\"%s\"): want -EINVAL, got %d (%s)", bad[i], r, err.message);
        assert_null(c);
        assert_int_equal(err.code, EINVAL);
        assert_true(err.step[0] != '\0');
        if (bad[i][0] && !strstr(err.message, bad[i]))
            fail_msg("error for id \"%s\" does not name it: \"%s\"", bad[i], err.message);
    }
    containerv_options_free(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_ids),
        cmocka_unit_test(test_invalid_ids),
        cmocka_unit_test(test_random_ids),
        cmocka_unit_test(test_create_rejects_bad_id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
