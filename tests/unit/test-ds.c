/* Unit tests for dynamic-string, util and errors. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "dynamic-string.h"
#include "errors.h"
#include "util.h"

Test(ds, build_and_steal)
{
    struct ds s = DS_EMPTY_INITIALIZER;

    cr_assert_str_eq(ds_cstr(&s), "");
    ds_put_cstr(&s, "in_port=");
    ds_put_format(&s, "%d,", 1);
    ds_put_char(&s, 'x');
    ds_put_buffer(&s, "yz123", 2);
    cr_assert_str_eq(ds_cstr(&s), "in_port=1,xyz");
    cr_assert_eq(s.length, strlen("in_port=1,xyz"));
    ds_chomp(&s, 'z');
    ds_chomp(&s, 'q');
    cr_assert_str_eq(ds_cstr(&s), "in_port=1,xy");
    ds_truncate(&s, 7);
    cr_assert_str_eq(ds_cstr(&s), "in_port");
    ds_truncate(&s, 100);
    cr_assert_eq(s.length, 7);

    char *stolen = ds_steal_cstr(&s);
    cr_assert_str_eq(stolen, "in_port");
    cr_assert_null(s.string);
    free(stolen);
    ds_destroy(&s);
}

Test(ds, long_format_and_hex)
{
    struct ds s;
    char expect[5001];

    ds_init(&s);
    memset(expect, 'a', 5000);
    expect[5000] = '\0';
    /* Longer than any first guess: forces the second vsnprintf. */
    ds_put_format(&s, "%s", expect);
    cr_assert_eq(s.length, 5000);
    cr_assert_str_eq(ds_cstr(&s), expect);
    ds_clear(&s);
    cr_assert_str_eq(ds_cstr(&s), "");

    const uint8_t bytes[] = { 0x0a, 0x1b, 0xff, 0x00 };
    ds_put_hex(&s, bytes, sizeof bytes);
    cr_assert_str_eq(ds_cstr(&s), "0a1bff00");
    for (int i = 0; i < 1000; i++) {
        ds_put_format(&s, "%d", i % 10);
    }
    cr_assert_eq(s.length, 1008);
    cr_assert_eq(ds_cstr(&s)[1008], '\0');
    ds_destroy(&s);
}

Test(util, str_to_u64)
{
    uint64_t v;

    cr_assert(str_to_u64("0", 10, &v) && v == 0);
    cr_assert(str_to_u64("65535", 65535, &v) && v == 65535);
    cr_assert_not(str_to_u64("65536", 65535, &v));
    cr_assert(str_to_u64("0x1F", 255, &v) && v == 31);
    cr_assert(str_to_u64("18446744073709551615", UINT64_MAX, &v)
              && v == UINT64_MAX);
    cr_assert_not(str_to_u64("18446744073709551616", UINT64_MAX, &v));
    cr_assert_not(str_to_u64("", 10, &v));
    cr_assert_not(str_to_u64("-1", UINT64_MAX, &v));
    cr_assert_not(str_to_u64(" 1", 10, &v));
    cr_assert_not(str_to_u64("1 ", 10, &v));
    cr_assert_not(str_to_u64("0x", 10, &v));
    cr_assert_not(str_to_u64("12abc", 1000, &v));
}

Test(util, strings_and_alloc)
{
    char buf[4];
    char *s;

    ts_strlcpy(buf, "abcdef", sizeof buf);
    cr_assert_str_eq(buf, "abc");
    ts_strlcpy(buf, "x", sizeof buf);
    cr_assert_str_eq(buf, "x");
    s = xasprintf("%s-%d", "port", 7);
    cr_assert_str_eq(s, "port-7");
    free(s);
    s = xstrndup("hello", 3);
    cr_assert_str_eq(s, "hel");
    free(s);
    int *z = xzalloc(64 * sizeof *z);
    for (int i = 0; i < 64; i++) {
        cr_assert_eq(z[i], 0);
    }
    free(z);
    ts_set_program_name("/usr/sbin/vswitchd");
    cr_assert_str_eq(ts_program_name(), "vswitchd");
}

Test(util, fatal_exits_with_message, .exit_code = 1)
{
    ts_set_program_name("tester");
    ts_fatal(-ENOENT, "cannot open '%s'", "x");
}

Test(util, assert_aborts, .signal = SIGABRT)
{
    int zero = 0;

    ts_assert(zero == 1);
}

Test(util, clocks)
{
    long long m0 = time_msec(), u0 = time_usec(), n0 = time_nsec();

    cr_assert(m0 > 0 && u0 >= m0 * 1000 - 1000 && n0 >= u0 * 1000 - 1000);
    cr_assert(time_wall_msec() > 1600000000000LL);
    cr_assert(time_nsec() >= n0);
}

Test(errors, strerror)
{
    cr_assert_str_eq(ts_strerror(0), "success");
    cr_assert_str_eq(ts_strerror(-ENOENT), "No such file or directory");
    cr_assert_str_eq(ts_strerror(ENOENT), "No such file or directory");
    cr_assert_str_eq(ts_strerror(-TS_ERR_NO_BRIDGE), "no such bridge");
    cr_assert_str_eq(ts_strerror(TS_ERR_SYNTAX), "syntax error");
    for (int e = TS_ERR_BASE + 1; e < TS_ERR_MAX; e++) {
        cr_assert_not_null(ts_strerror(-e));
        cr_assert_str_neq(ts_strerror(-e), "unknown error");
    }
    cr_assert_str_eq(ts_strerror(-TS_ERR_MAX), "unknown error");
}
