/* util: allocation, fatal errors, program name, number parsing, clocks. */
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "errors.h"

/* Set once at start-up by the main thread, before other threads exist. */
static const char *program_name = "trackswitch";

void
ts_set_program_name(const char *argv0)
{
    const char *slash;

    if (!argv0 || !*argv0) {
        return;
    }
    slash = strrchr(argv0, '/');
    program_name = slash && slash[1] ? slash + 1 : argv0;
}

const char *
ts_program_name(void)
{
    return program_name;
}

void
ts_assert_failure(const char *file, int line, const char *cond)
{
    fprintf(stderr, "%s: %s:%d: assertion %s failed\n",
            program_name, file, line, cond);
    fflush(stderr);
    abort();
}

void
ts_fatal(int err, const char *fmt, ...)
{
    va_list args;

    fprintf(stderr, "%s: ", program_name);
    va_start(args, fmt);
    vfprintf(stderr, fmt, args);
    va_end(args);
    if (err) {
        fprintf(stderr, ": %s", ts_strerror(err));
    }
    fputc('\n', stderr);
    fflush(stderr);
    exit(1);
}

static void TS_NORETURN
out_of_memory(void)
{
    ts_fatal(-ENOMEM, "virtual memory exhausted");
}

void *
xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);

    if (!p) {
        out_of_memory();
    }
    return p;
}

void *
xzalloc(size_t size)
{
    return xcalloc(1, size);
}

void *
xcalloc(size_t n, size_t size)
{
    void *p = n && size ? calloc(n, size) : calloc(1, 1);

    if (!p) {
        out_of_memory();
    }
    return p;
}

void *
xrealloc(void *p, size_t size)
{
    p = realloc(p, size ? size : 1);
    if (!p) {
        out_of_memory();
    }
    return p;
}

void *
xmemdup(const void *p, size_t size)
{
    void *copy = xmalloc(size);

    if (size) {
        memcpy(copy, p, size);
    }
    return copy;
}

char *
xstrdup(const char *s)
{
    return xmemdup(s, strlen(s) + 1);
}

char *
xstrndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *copy = xmalloc(len + 1);

    memcpy(copy, s, len);
    copy[len] = '\0';
    return copy;
}

char * TS_PRINTF(1, 0)
xvasprintf(const char *fmt, va_list args)
{
    char small[128];
    va_list args2;
    size_t needed;
    char *s;
    int n;

    va_copy(args2, args);
    n = vsnprintf(small, sizeof small, fmt, args);
    if (n < 0) {
        ts_fatal(-errno, "vsnprintf failed");
    }
    needed = (size_t) n + 1;
    if (needed <= sizeof small) {
        s = xmemdup(small, needed);
    } else {
        s = xmalloc(needed);
        vsnprintf(s, needed, fmt, args2);
    }
    va_end(args2);
    return s;
}

char *
xasprintf(const char *fmt, ...)
{
    va_list args;
    char *s;

    va_start(args, fmt);
    s = xvasprintf(fmt, args);
    va_end(args);
    return s;
}

void
ts_strlcpy(char *dst, const char *src, size_t size)
{
    size_t len;

    if (!size) {
        return;
    }
    len = strnlen(src, size - 1);
    memcpy(dst, src, len);
    dst[len] = '\0';
}

bool
str_to_u64(const char *s, uint64_t max, uint64_t *out)
{
    unsigned long long value;
    char *end;
    int base = 10;

    if (!s || !*s || isspace((unsigned char) *s) || *s == '-' || *s == '+') {
        return false;
    }
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
        if (!isxdigit((unsigned char) *s)) {
            return false;
        }
    }
    errno = 0;
    value = strtoull(s, &end, base);
    if (errno || *end || end == s || value > max) {
        return false;
    }
    *out = value;
    return true;
}

static long long
clock_ns(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (long long) ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

long long
time_msec(void)
{
    return clock_ns(CLOCK_MONOTONIC) / 1000000;
}

long long
time_usec(void)
{
    return clock_ns(CLOCK_MONOTONIC) / 1000;
}

long long
time_nsec(void)
{
    return clock_ns(CLOCK_MONOTONIC);
}

long long
time_wall_msec(void)
{
    return clock_ns(CLOCK_REALTIME) / 1000000;
}
