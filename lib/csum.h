/* csum: the Internet checksum (RFC 1071) and its incremental update
 * (RFC 1624), for the datapath's header rewrites and offload fills.
 *
 * Conventions.  A "partial" sum is a 32-bit one's complement accumulator
 * of 16-bit words read in host order straight from packet memory; the
 * one's complement sum is byte-order independent, so a folded and
 * complemented result can be stored into the packet as is (it is in
 * network byte order).  Likewise every checksum and field value passed to
 * or returned from these functions is in network byte order, exactly as
 * it sits in the packet.
 *
 * Callers: datapath actions (set field, NAT, TTL), offload resolution,
 * conntrack validation, tests.  All functions are pure and thread-safe. */
#ifndef TS_CSUM_H
#define TS_CSUM_H 1

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Adds the 'n' bytes at 'data' (any alignment) to 'partial' and returns
 * the new partial sum.  'data' must start at an even offset of the
 * checksummed stream (an odd 'n' is fine only for the last piece). */
uint32_t csum_continue(uint32_t partial, const void *data, size_t n);

/* Folds a partial sum to 16 bits, without complementing. */
static inline uint16_t
csum_fold(uint32_t partial)
{
    partial = (partial & 0xffff) + (partial >> 16);
    partial = (partial & 0xffff) + (partial >> 16);
    return partial;
}

/* Folds and complements: the value to store in a checksum field. */
static inline uint16_t
csum_finish(uint32_t partial)
{
    return ~csum_fold(partial);
}

/* Adds two partial sums. */
static inline uint32_t
csum_add32(uint32_t a, uint32_t b)
{
    uint32_t s = a + b;

    return s + (s < a);
}

/* The checksum of 'n' bytes (IPv4 header checksum when the checksum field
 * is zero, or verification: 0 means the header is correct). */
static inline uint16_t
csum(const void *data, size_t n)
{
    return csum_finish(csum_continue(0, data, n));
}

/* Incremental updates (RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m')).
 * 'csum' is the old checksum field, the others the old and new field
 * values; the new checksum field is returned. */
static inline uint16_t
csum_update16(uint16_t csum_field, uint16_t old, uint16_t new_)
{
    uint32_t sum = (uint16_t) ~csum_field;

    sum += (uint16_t) ~old;
    sum += new_;
    return ~csum_fold(sum);
}

static inline uint16_t
csum_update32(uint16_t csum_field, uint32_t old, uint32_t new_)
{
    uint32_t sum = (uint16_t) ~csum_field;

    sum += (uint16_t) ~(old & 0xffff) + (uint16_t) ~(old >> 16);
    sum += (new_ & 0xffff) + (new_ >> 16);
    return ~csum_fold(sum);
}

/* For IPv6 addresses: 'old' and 'new_' point to 16 bytes each (any
 * alignment). */
static inline uint16_t
csum_update128(uint16_t csum_field, const void *old, const void *new_)
{
    uint32_t o[4], n[4];
    uint64_t sum = (uint16_t) ~csum_field;

    memcpy(o, old, sizeof o);
    memcpy(n, new_, sizeof n);
    for (int i = 0; i < 4; i++) {
        sum += (uint16_t) ~(o[i] & 0xffff) + (uint16_t) ~(o[i] >> 16);
        sum += (n[i] & 0xffff) + (n[i] >> 16);
    }
    sum = (sum & 0xffffffff) + (sum >> 32);
    return ~csum_fold((uint32_t) sum + (uint32_t) (sum >> 32));
}

/* Pseudo-header partial sums.  Addresses are in network order, 'proto'
 * is the IP protocol number, 'l4_len' the L4 length in host order. */
uint32_t csum_pseudo_ipv4(uint32_t src, uint32_t dst, uint8_t proto,
                          uint32_t l4_len);
uint32_t csum_pseudo_ipv6(const struct in6_addr *src,
                          const struct in6_addr *dst, uint8_t proto,
                          uint32_t l4_len);

#endif /* csum.h */
