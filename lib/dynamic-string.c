/* dynamic-string: growable NUL-terminated buffer.
 *
 * Invariant: 'string' is NULL (and length == allocated == 0) or points to
 * 'allocated + 1' bytes with a terminator at 'length'. */
#include "dynamic-string.h"

#include <stdlib.h>
#include <string.h>

void
ds_init(struct ds *ds)
{
    ds->string = NULL;
    ds->length = 0;
    ds->allocated = 0;
}

void
ds_clear(struct ds *ds)
{
    ds->length = 0;
    if (ds->string) {
        ds->string[0] = '\0';
    }
}

void
ds_destroy(struct ds *ds)
{
    if (ds) {
        free(ds->string);
        ds_init(ds);
    }
}

void
ds_reserve(struct ds *ds, size_t min_length)
{
    if (!ds->string || min_length > ds->allocated) {
        size_t n = MAX(min_length, ds->allocated * 2);

        n = MAX(n, 32);
        ds->string = xrealloc(ds->string, n + 1);
        ds->allocated = n;
        ds->string[ds->length] = '\0';
    }
}

/* Makes room for 'n' more bytes and returns where they go; the caller
 * fills them and the length already includes them. */
static char *
ds_put_uninit(struct ds *ds, size_t n)
{
    char *p;

    ds_reserve(ds, ds->length + n);
    p = ds->string + ds->length;
    ds->length += n;
    ds->string[ds->length] = '\0';
    return p;
}

void
ds_put_char(struct ds *ds, char c)
{
    *ds_put_uninit(ds, 1) = c;
}

void
ds_put_buffer(struct ds *ds, const char *buf, size_t n)
{
    if (n) {
        memcpy(ds_put_uninit(ds, n), buf, n);
    } else {
        ds_reserve(ds, ds->length);
    }
}

void
ds_put_cstr(struct ds *ds, const char *s)
{
    ds_put_buffer(ds, s, strlen(s));
}

void TS_PRINTF(2, 0)
ds_put_format_valist(struct ds *ds, const char *fmt, va_list args_)
{
    size_t avail;
    va_list args;
    int needed;

    ds_reserve(ds, ds->length + 16);
    avail = ds->allocated - ds->length + 1;
    va_copy(args, args_);
    needed = vsnprintf(ds->string + ds->length, avail, fmt, args);
    va_end(args);
    if (needed < 0) {
        ds->string[ds->length] = '\0';
        return;
    }
    if ((size_t) needed >= avail) {
        ds_reserve(ds, ds->length + needed);
        va_copy(args, args_);
        vsnprintf(ds->string + ds->length, needed + 1, fmt, args);
        va_end(args);
    }
    ds->length += needed;
}

void
ds_put_format(struct ds *ds, const char *fmt, ...)
{
    va_list args;

    va_start(args, fmt);
    ds_put_format_valist(ds, fmt, args);
    va_end(args);
}

void
ds_put_hex(struct ds *ds, const void *buf_, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const uint8_t *buf = buf_;
    char *p = ds_put_uninit(ds, n * 2);

    for (size_t i = 0; i < n; i++) {
        *p++ = hex[buf[i] >> 4];
        *p++ = hex[buf[i] & 15];
    }
}

void
ds_chomp(struct ds *ds, int c)
{
    if (ds->length && ds->string[ds->length - 1] == (char) c) {
        ds->string[--ds->length] = '\0';
    }
}

void
ds_truncate(struct ds *ds, size_t new_length)
{
    if (new_length < ds->length) {
        ds->length = new_length;
        ds->string[new_length] = '\0';
    }
}

const char *
ds_cstr(struct ds *ds)
{
    if (!ds->string) {
        ds_reserve(ds, 0);
    }
    return ds->string;
}

char *
ds_steal_cstr(struct ds *ds)
{
    char *s;

    ds_cstr(ds);
    s = ds->string;
    ds_init(ds);
    return s;
}
