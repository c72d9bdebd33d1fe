/* json: a small streaming JSON writer for machine-readable output
 * (vsctl --format=json).  It writes into a struct ds and inserts commas
 * and (optionally) indentation itself; the caller only says what comes
 * next.  No parser: nothing in the project reads JSON.
 *
 *     struct json_writer w;
 *     json_writer_init(&w, &ds, true);
 *     json_begin_object(&w);
 *     json_key(&w, "bridges");
 *     json_begin_array(&w);
 *     json_string(&w, "br0");
 *     json_end_array(&w);
 *     json_end_object(&w);
 *
 * Misuse (a value where a key is due, unbalanced ends, nesting deeper than
 * JSON_MAX_DEPTH) is a programming error and asserts.  Strings are
 * escaped per RFC 8259; bytes that are not valid UTF-8 are written as
 * \u00XX of the byte, so the output is always valid JSON.
 *
 * Threads: a writer belongs to one thread. */
#ifndef TS_JSON_H
#define TS_JSON_H 1

#include <stdbool.h>
#include <stdint.h>
#include "dynamic-string.h"

#define JSON_MAX_DEPTH 32

struct json_writer {
    struct ds *out;             /* borrowed */
    bool pretty;                /* newlines and 2-space indentation */
    int depth;
    bool in_object[JSON_MAX_DEPTH];
    bool has_items[JSON_MAX_DEPTH];
    bool after_key;             /* a key was written, its value is due */
};

void json_writer_init(struct json_writer *, struct ds *out, bool pretty);
void json_begin_object(struct json_writer *);
void json_end_object(struct json_writer *);
void json_begin_array(struct json_writer *);
void json_end_array(struct json_writer *);
void json_key(struct json_writer *, const char *key);
void json_string(struct json_writer *, const char *);
void json_int(struct json_writer *, int64_t);
void json_uint(struct json_writer *, uint64_t);
void json_double(struct json_writer *, double);
void json_bool(struct json_writer *, bool);
void json_null(struct json_writer *);
/* Shorthands for a key followed by a value. */
void json_kv_string(struct json_writer *, const char *key, const char *);
void json_kv_int(struct json_writer *, const char *key, int64_t);
void json_kv_uint(struct json_writer *, const char *key, uint64_t);
void json_kv_bool(struct json_writer *, const char *key, bool);
/* True when every begun object and array has ended. */
bool json_writer_is_complete(const struct json_writer *);

/* Appends 's' as a quoted, escaped JSON string. */
void json_put_string(struct ds *, const char *s);

#endif /* json.h */
