/* ctl-proto-codec: the bounds-checked encoder and decoder cursors that
 * every control message is built from.  See ctl-proto-private.h. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ctl-proto-private.h"
#include "util.h"

/* ---- Encoder cursor ---------------------------------------------------- */

void
ctl_put_bytes(struct ctl_enc *e, const void *p, size_t n)
{
    if (n) {
        ds_put_buffer(e->out, p, n);
    }
}

void
ctl_put_u8(struct ctl_enc *e, uint8_t x)
{
    ctl_put_bytes(e, &x, 1);
}

void
ctl_put_u16(struct ctl_enc *e, uint16_t x)
{
    uint8_t b[2] = { x >> 8, x };
    ctl_put_bytes(e, b, 2);
}

void
ctl_put_u32(struct ctl_enc *e, uint32_t x)
{
    uint8_t b[4] = { x >> 24, x >> 16, x >> 8, x };
    ctl_put_bytes(e, b, 4);
}

void
ctl_put_u64(struct ctl_enc *e, uint64_t x)
{
    ctl_put_u32(e, x >> 32);
    ctl_put_u32(e, x);
}

void
ctl_put_zeros(struct ctl_enc *e, size_t n)
{
    static const uint8_t zeros[8];
    while (n > 0) {
        size_t chunk = MIN(n, sizeof zeros);
        ctl_put_bytes(e, zeros, chunk);
        n -= chunk;
    }
}

void
ctl_put_string(struct ctl_enc *e, const char *s)
{
    size_t len = s ? strlen(s) : 0;
    len = MIN(len, UINT16_MAX);
    ctl_put_u16(e, len);
    ctl_put_bytes(e, s, len);
}

size_t
ctl_enc_size(const struct ctl_enc *e)
{
    return e->out->length;
}

void
ctl_put_pad8(struct ctl_enc *e, size_t start)
{
    size_t len = ctl_enc_size(e) - start;
    ctl_put_zeros(e, ROUND_UP(len, 8) - len);
}

size_t
ctl_tlv_start(struct ctl_enc *e, uint16_t type)
{
    size_t start = ctl_enc_size(e);
    ctl_put_u16(e, type);
    ctl_put_u16(e, 0);
    return start;
}

bool
ctl_tlv_end(struct ctl_enc *e, size_t start)
{
    size_t len = ctl_enc_size(e) - start;
    uint8_t *p = (uint8_t *) e->out->string + start;

    if (len > UINT16_MAX) {
        return false;
    }
    p[2] = len >> 8;
    p[3] = len;
    ctl_put_pad8(e, start);
    return true;
}

/* ---- Decoder cursor ---------------------------------------------------- */

char *
ctl_memdup0(const void *p, size_t n)
{
    char *s = xmalloc(n + 1);
    if (n) {
        memcpy(s, p, n);
    }
    s[n] = '\0';
    return s;
}

bool
ctl_dec_fail(struct ctl_dec *d, const char *fmt, ...)
{
    if (!d->error) {
        va_list args;
        va_start(args, fmt);
        char *msg = xvasprintf(fmt, args);
        va_end(args);
        d->error = xasprintf("%s: %s at offset %zu", d->msg_name, msg,
                             d->base + d->ofs);
        free(msg);
    }
    return false;
}

size_t
ctl_dec_left(const struct ctl_dec *d)
{
    return d->end - d->ofs;
}

static bool
dec_need(struct ctl_dec *d, const char *what, size_t n)
{
    if (d->error) {
        return false;
    }
    if (ctl_dec_left(d) < n) {
        return ctl_dec_fail(d, "truncated %s (need %zu bytes, %zu left)",
                            what, n, ctl_dec_left(d));
    }
    return true;
}

bool
ctl_get_ref(struct ctl_dec *d, const char *what, size_t n,
            const uint8_t **p)
{
    if (!dec_need(d, what, n)) {
        return false;
    }
    *p = d->data + d->ofs;
    d->ofs += n;
    return true;
}

bool
ctl_get_bytes(struct ctl_dec *d, const char *what, void *dst, size_t n)
{
    const uint8_t *p;
    if (!ctl_get_ref(d, what, n, &p)) {
        return false;
    }
    if (n) {
        memcpy(dst, p, n);
    }
    return true;
}

bool
ctl_get_u8(struct ctl_dec *d, const char *what, uint8_t *x)
{
    return ctl_get_bytes(d, what, x, 1);
}

bool
ctl_get_u16(struct ctl_dec *d, const char *what, uint16_t *x)
{
    const uint8_t *p;
    if (!ctl_get_ref(d, what, 2, &p)) {
        return false;
    }
    *x = (p[0] << 8) | p[1];
    return true;
}

bool
ctl_get_u32(struct ctl_dec *d, const char *what, uint32_t *x)
{
    const uint8_t *p;
    if (!ctl_get_ref(d, what, 4, &p)) {
        return false;
    }
    *x = ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16)
         | ((uint32_t) p[2] << 8) | p[3];
    return true;
}

bool
ctl_get_u64(struct ctl_dec *d, const char *what, uint64_t *x)
{
    uint32_t hi, lo;
    if (!ctl_get_u32(d, what, &hi) || !ctl_get_u32(d, what, &lo)) {
        return false;
    }
    *x = ((uint64_t) hi << 32) | lo;
    return true;
}

bool
ctl_get_string(struct ctl_dec *d, const char *what, char **sp)
{
    const uint8_t *p;
    uint16_t len;

    *sp = NULL;
    if (!ctl_get_u16(d, what, &len) || !ctl_get_ref(d, what, len, &p)) {
        return false;
    }
    if (memchr(p, '\0', len)) {
        d->ofs -= len;
        return ctl_dec_fail(d, "NUL byte inside %s", what);
    }
    *sp = ctl_memdup0(p, len);
    return true;
}

bool
ctl_skip_pad8(struct ctl_dec *d, const char *what, size_t start)
{
    size_t len = d->ofs - start;
    size_t pad = MIN(ROUND_UP(len, 8) - len, ctl_dec_left(d));
    const uint8_t *p;

    if (!ctl_get_ref(d, what, pad, &p)) {
        return false;
    }
    for (size_t i = 0; i < pad; i++) {
        if (p[i]) {
            d->ofs -= pad - i;
            return ctl_dec_fail(d, "nonzero padding after %s", what);
        }
    }
    return true;
}

bool
ctl_get_tlv(struct ctl_dec *d, const char *what, uint16_t *type,
            struct ctl_dec *sub)
{
    size_t start = d->ofs;
    uint16_t len;
    const uint8_t *p;

    if (!ctl_get_u16(d, what, type) || !ctl_get_u16(d, what, &len)) {
        return false;
    }
    if (len < 4) {
        d->ofs = start + 2;
        return ctl_dec_fail(d, "%s TLV length %u below 4", what, len);
    }
    if (!ctl_get_ref(d, what, len - 4, &p)) {
        d->ofs = start + 2;
        return ctl_dec_fail(d, "%s TLV length %u exceeds the %zu bytes "
                            "left", what, len, ctl_dec_left(d) + 2);
    }
    *sub = (struct ctl_dec) {
        .data = p,
        .ofs = 0,
        .end = len - 4,
        .base = d->base + start + 4,
        .msg_name = d->msg_name,
    };
    return ctl_skip_pad8(d, what, start);
}

bool
ctl_dec_merge(struct ctl_dec *d, struct ctl_dec *sub)
{
    if (sub->error) {
        if (!d->error) {
            d->error = sub->error;
        } else {
            free(sub->error);
        }
        sub->error = NULL;
        return false;
    }
    return !d->error;
}
