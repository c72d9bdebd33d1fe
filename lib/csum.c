/* csum: buffer sums.
 *
 * The loop loads 64-bit words and adds their two 32-bit halves into a
 * 64-bit accumulator, which cannot overflow for any buffer below 2^34
 * bytes; since 2^16 - 1 divides 2^32 - 1, folding the halves gives the
 * same one's complement sum as adding 16-bit words one by one. */
#include "csum.h"

#include <arpa/inet.h>

static inline uint32_t
csum_reduce64(uint64_t acc)
{
    acc = (acc & 0xffffffff) + (acc >> 32);
    acc = (acc & 0xffffffff) + (acc >> 32);
    return acc;
}

uint32_t
csum_continue(uint32_t partial, const void *data, size_t n)
{
    const uint8_t *p = data;
    uint64_t acc0 = partial, acc1 = 0;
    uint64_t w0, w1;
    uint32_t w32;
    uint16_t w16;

    while (n >= 16) {
        memcpy(&w0, p, 8);
        memcpy(&w1, p + 8, 8);
        acc0 += (w0 & 0xffffffff) + (w0 >> 32);
        acc1 += (w1 & 0xffffffff) + (w1 >> 32);
        p += 16;
        n -= 16;
    }
    if (n >= 8) {
        memcpy(&w0, p, 8);
        acc0 += (w0 & 0xffffffff) + (w0 >> 32);
        p += 8;
        n -= 8;
    }
    if (n >= 4) {
        memcpy(&w32, p, 4);
        acc1 += w32;
        p += 4;
        n -= 4;
    }
    if (n >= 2) {
        memcpy(&w16, p, 2);
        acc1 += w16;
        p += 2;
        n -= 2;
    }
    if (n) {
        /* The last odd byte is the first byte of a zero-padded word. */
        uint8_t pad[2] = { *p, 0 };

        memcpy(&w16, pad, 2);
        acc1 += w16;
    }
    return csum_add32(csum_reduce64(acc0), csum_reduce64(acc1));
}

uint32_t
csum_pseudo_ipv4(uint32_t src, uint32_t dst, uint8_t proto,
                 uint32_t l4_len)
{
    uint64_t acc = 0;

    acc += (src & 0xffff) + (src >> 16);
    acc += (dst & 0xffff) + (dst >> 16);
    acc += htons(proto);
    acc += htons((uint16_t) l4_len);
    return csum_reduce64(acc);
}

uint32_t
csum_pseudo_ipv6(const struct in6_addr *src, const struct in6_addr *dst,
                 uint8_t proto, uint32_t l4_len)
{
    uint32_t partial = csum_continue(0, src, 16);
    uint32_t len = htonl(l4_len);
    uint64_t acc;

    partial = csum_continue(partial, dst, 16);
    acc = partial;
    acc += (len & 0xffff) + (len >> 16);
    acc += htons(proto);
    return csum_reduce64(acc);
}
