/* containerv_parse_size: the sizes users type for --memory. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "common/internal.h"

static void expect_size(const char *text, uint64_t want)
{
    uint64_t got = 12345;
    int r = containerv_parse_size(text, &got);
    if (r != 0 || got != want)
        fail_msg("parse_size(\"%s\"): want 0 and %llu, got %d and %llu", text,
                 (unsigned long long)want, r, (unsigned long long)got);
}

static void expect_invalid(const char *text)
{
    uint64_t got = 12345;
    int r = containerv_parse_size(text, &got);
    if (r != -EINVAL)
        fail_msg("parse_size(\"%s\"): want -EINVAL, got %d", text ? text : "(null)", r);
    assert_int_equal(got, 12345); /* untouched on failure */
}

static void test_valid(void **state)
{
    (void)state;
    expect_size("0", 0);
    expect_size("1", 1);
    expect_size("1048576", 1048576);
    expect_size("512k", 512ull << 10);
    expect_size("512K", 512ull << 10);
    expect_size("64M", 64ull << 20);
    expect_size("64m", 64ull << 20);
    expect_size("1g", 1ull << 30);
    expect_size("1G", 1ull << 30);
    expect_size("2t", 2ull << 40);
    expect_size("18446744073709551615", UINT64_MAX);
    expect_size("16777215T", 16777215ull << 40); /* the largest T that fits */
}

static void test_invalid(void **state)
{
    (void)state;
    expect_invalid("");
    expect_invalid("abc");
    expect_invalid("12Q");
    expect_invalid("-1");
    expect_invalid("+1");
    expect_invalid(" 64M");
    expect_invalid("64M ");
    expect_invalid("M");
    expect_invalid("1.5G");
    expect_invalid("64MM");
    expect_invalid("0x10");
    expect_invalid("1e3");
}

static void test_null(void **state)
{
    (void)state;
    uint64_t v;
    assert_int_equal(containerv_parse_size(NULL, &v), -EINVAL);
    assert_int_equal(containerv_parse_size("64M", NULL), -EINVAL);
}

/* Overflow must fail, never wrap to a small limit. The header promises -EINVAL
 * for anything that is not a size; -ERANGE is the more precise answer. */
static void expect_overflow(const char *text)
{
    uint64_t got = 12345;
    int r = containerv_parse_size(text, &got);
    if (r != -EINVAL && r != -ERANGE)
        fail_msg("parse_size(\"%s\"): want -EINVAL or -ERANGE, got %d (value %llu)", text, r,
                 (unsigned long long)got);
    assert_int_equal(got, 12345);
}

static void test_overflow(void **state)
{
    (void)state;
    expect_overflow("99999999999999999999G");
    expect_overflow("99999999999999999999");  /* > UINT64_MAX without a suffix */
    expect_overflow("18446744073709551616");  /* UINT64_MAX + 1 */
    expect_overflow("17179869184G");          /* 2^34 G = 2^64 */
    expect_overflow("16777216T");             /* 2^24 T = 2^64 */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_null),
        cmocka_unit_test(test_overflow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
