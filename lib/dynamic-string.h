/* dynamic-string: a growable, always NUL-terminated string buffer for
 * building text in the control plane (never the packet path). */
#ifndef TS_DYNAMIC_STRING_H
#define TS_DYNAMIC_STRING_H 1

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include "util.h"

struct ds {
    char *string;       /* NULL until something is added */
    size_t length;      /* excluding the terminator */
    size_t allocated;
};

#define DS_EMPTY_INITIALIZER { NULL, 0, 0 }

void ds_init(struct ds *);
void ds_clear(struct ds *);
void ds_destroy(struct ds *);
void ds_reserve(struct ds *, size_t min_length);
void ds_put_char(struct ds *, char);
void ds_put_cstr(struct ds *, const char *);
void ds_put_buffer(struct ds *, const char *, size_t);
void ds_put_format(struct ds *, const char *, ...) TS_PRINTF(2, 3);
void ds_put_format_valist(struct ds *, const char *, va_list);
void ds_put_hex(struct ds *, const void *, size_t);   /* "0a1b..." */
void ds_chomp(struct ds *, int c);   /* removes one trailing 'c' */
void ds_truncate(struct ds *, size_t new_length);
/* Returns the string (never NULL); valid until the next change. */
const char *ds_cstr(struct ds *);
/* Returns the string and leaves 'ds' empty; the caller owns the result. */
char *ds_steal_cstr(struct ds *);

#endif /* dynamic-string.h */
