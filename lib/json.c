/* json: streaming JSON writer.  See json.h. */
#include "json.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "util.h"

void
json_writer_init(struct json_writer *w, struct ds *out, bool pretty)
{
    memset(w, 0, sizeof *w);
    w->out = out;
    w->pretty = pretty;
}

static void
newline_indent(struct json_writer *w)
{
    if (w->pretty) {
        ds_put_char(w->out, '\n');
        for (int i = 0; i < w->depth; i++) {
            ds_put_cstr(w->out, "  ");
        }
    }
}

/* Called before every value and key. */
static void
before_item(struct json_writer *w, bool is_key)
{
    if (w->after_key) {
        ts_assert(!is_key);
        w->after_key = false;
        return;
    }
    if (w->depth > 0) {
        ts_assert(w->in_object[w->depth - 1] == is_key);
        if (w->has_items[w->depth - 1]) {
            ds_put_char(w->out, ',');
        }
        w->has_items[w->depth - 1] = true;
        newline_indent(w);
    } else {
        ts_assert(!is_key);
    }
}

static void
begin(struct json_writer *w, bool object)
{
    before_item(w, false);
    ts_assert(w->depth < JSON_MAX_DEPTH);
    ds_put_char(w->out, object ? '{' : '[');
    w->in_object[w->depth] = object;
    w->has_items[w->depth] = false;
    w->depth++;
}

static void
end(struct json_writer *w, bool object)
{
    ts_assert(w->depth > 0 && !w->after_key
              && w->in_object[w->depth - 1] == object);
    w->depth--;
    if (w->has_items[w->depth]) {
        newline_indent(w);
    }
    ds_put_char(w->out, object ? '}' : ']');
    if (!w->depth && w->pretty) {
        ds_put_char(w->out, '\n');
    }
}

void json_begin_object(struct json_writer *w) { begin(w, true); }
void json_end_object(struct json_writer *w) { end(w, true); }
void json_begin_array(struct json_writer *w) { begin(w, false); }
void json_end_array(struct json_writer *w) { end(w, false); }

/* Length of the valid UTF-8 sequence at 's', or 0 if invalid. */
static size_t
utf8_len(const unsigned char *s)
{
    if (s[0] < 0x80) {
        return 1;
    }
    size_t n = (s[0] & 0xe0) == 0xc0 ? 2 : (s[0] & 0xf0) == 0xe0 ? 3
               : (s[0] & 0xf8) == 0xf0 ? 4 : 0;
    if (!n || (n == 2 && s[0] < 0xc2) || (n == 4 && s[0] > 0xf4)) {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }
    }
    /* Reject overlong 3/4-byte forms and surrogates. */
    if ((n == 3 && s[0] == 0xe0 && s[1] < 0xa0)
        || (n == 3 && s[0] == 0xed && s[1] >= 0xa0)
        || (n == 4 && s[0] == 0xf0 && s[1] < 0x90)
        || (n == 4 && s[0] == 0xf4 && s[1] >= 0x90)) {
        return 0;
    }
    return n;
}

void
json_put_string(struct ds *ds, const char *str)
{
    const unsigned char *s = (const unsigned char *) str;

    ds_put_char(ds, '"');
    while (*s) {
        switch (*s) {
        case '"': ds_put_cstr(ds, "\\\""); s++; continue;
        case '\\': ds_put_cstr(ds, "\\\\"); s++; continue;
        case '\n': ds_put_cstr(ds, "\\n"); s++; continue;
        case '\r': ds_put_cstr(ds, "\\r"); s++; continue;
        case '\t': ds_put_cstr(ds, "\\t"); s++; continue;
        case '\b': ds_put_cstr(ds, "\\b"); s++; continue;
        case '\f': ds_put_cstr(ds, "\\f"); s++; continue;
        default: break;
        }
        size_t n = *s < 0x20 ? 0 : utf8_len(s);
        if (!n) {
            ds_put_format(ds, "\\u%04x", *s);
            s++;
        } else {
            ds_put_buffer(ds, (const char *) s, n);
            s += n;
        }
    }
    ds_put_char(ds, '"');
}

void
json_key(struct json_writer *w, const char *key)
{
    before_item(w, true);
    json_put_string(w->out, key);
    ds_put_cstr(w->out, w->pretty ? ": " : ":");
    w->after_key = true;
}

void
json_string(struct json_writer *w, const char *s)
{
    before_item(w, false);
    json_put_string(w->out, s ? s : "");
}

void
json_int(struct json_writer *w, int64_t x)
{
    before_item(w, false);
    ds_put_format(w->out, "%"PRId64, x);
}

void
json_uint(struct json_writer *w, uint64_t x)
{
    before_item(w, false);
    ds_put_format(w->out, "%"PRIu64, x);
}

void
json_double(struct json_writer *w, double x)
{
    before_item(w, false);
    if (isfinite(x)) {
        ds_put_format(w->out, "%.17g", x);
    } else {
        ds_put_cstr(w->out, "null");
    }
}

void
json_bool(struct json_writer *w, bool b)
{
    before_item(w, false);
    ds_put_cstr(w->out, b ? "true" : "false");
}

void
json_null(struct json_writer *w)
{
    before_item(w, false);
    ds_put_cstr(w->out, "null");
}

void
json_kv_string(struct json_writer *w, const char *key, const char *s)
{
    json_key(w, key);
    json_string(w, s);
}

void
json_kv_int(struct json_writer *w, const char *key, int64_t x)
{
    json_key(w, key);
    json_int(w, x);
}

void
json_kv_uint(struct json_writer *w, const char *key, uint64_t x)
{
    json_key(w, key);
    json_uint(w, x);
}

void
json_kv_bool(struct json_writer *w, const char *key, bool b)
{
    json_key(w, key);
    json_bool(w, b);
}

bool
json_writer_is_complete(const struct json_writer *w)
{
    return !w->depth && !w->after_key;
}
