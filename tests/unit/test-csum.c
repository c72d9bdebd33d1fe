/* Unit tests for csum: buffer sums against a naive RFC 1071 reference,
 * incremental updates against full recomputation on random packets. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "csum.h"

/* Criterion's --full-stats records every assertion, which makes millions
 * of them slow: loops check with CHECK, which asserts only on failure. */
#define CHECK(COND, ...)                                                 \
    do {                                                                 \
        if (!(COND)) {                                                   \
            cr_assert_fail(__VA_ARGS__);                                 \
        }                                                                \
    } while (0)

/* Naive reference: big-endian 16-bit words, returns host-order csum. */
static uint16_t
ref_csum_host(const uint8_t *p, size_t n, uint32_t init)
{
    uint64_t sum = init;

    for (size_t i = 0; i + 1 < n; i += 2) {
        sum += (p[i] << 8) | p[i + 1];
    }
    if (n & 1) {
        sum += p[n - 1] << 8;
    }
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return ~sum & 0xffff;
}

/* 0x0000 and 0xffff are the same number in one's complement. */
static uint16_t
csum_norm(uint16_t c)
{
    return c == 0xffff ? 0 : c;
}

static void
fill_random(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        p[i] = rand();
    }
}

Test(csum, matches_reference_all_lengths_and_alignments)
{
    uint8_t buf[1600 + 8];

    srand(11);
    fill_random(buf, sizeof buf);
    for (size_t len = 0; len <= 300; len++) {
        for (size_t align = 0; align < 8; align++) {
            uint16_t got = ntohs(csum(buf + align, len));

            CHECK(got == ref_csum_host(buf + align, len, 0),
                  "len %zu align %zu", len, align);
        }
    }
    for (int i = 0; i < 50; i++) {
        size_t len = rand() % 1600;

        CHECK(ntohs(csum(buf, len)) == ref_csum_host(buf, len, 0),
              "len %zu", len);
    }
    /* All ones: sums that carry a lot. */
    memset(buf, 0xff, sizeof buf);
    cr_assert_eq(ntohs(csum(buf, 1500)), ref_csum_host(buf, 1500, 0));
}

Test(csum, continue_in_pieces)
{
    uint8_t buf[512];

    srand(12);
    fill_random(buf, sizeof buf);
    for (int i = 0; i < 200; i++) {
        size_t cut = (rand() % 256) * 2;   /* even split */
        uint32_t part = csum_continue(0, buf, cut);

        part = csum_continue(part, buf + cut, sizeof buf - cut);
        CHECK(csum_finish(part) == csum(buf, sizeof buf), "cut %zu", cut);
    }
}

Test(csum, ipv4_header_verifies)
{
    uint8_t ip[20] = {
        0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
        0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
    };
    uint16_t c = csum(ip, 20);

    /* Known value from the classic RFC 1071 example header. */
    cr_assert_eq(ntohs(c), 0xb861);
    memcpy(ip + 10, &c, 2);
    cr_assert_eq(csum(ip, 20), 0);
}

/* Builds a random UDP-like packet with a pseudo header and checks that
 * each kind of incremental update equals recomputation. */
Test(csum, incremental_equals_full_random)
{
    srand(13);
    for (int iter = 0; iter < 2000; iter++) {
        uint8_t pkt[256];
        size_t len = 10 + rand() % 200;
        uint32_t src, dst;
        uint16_t c, c_full;

        fill_random(pkt, len);
        fill_random((uint8_t *) &src, 4);
        fill_random((uint8_t *) &dst, 4);
        memset(pkt + 6, 0, 2);   /* checksum field */
        c = csum_finish(csum_continue(csum_pseudo_ipv4(src, dst, 17, len),
                                      pkt, len));
        memcpy(pkt + 6, &c, 2);

        /* 16-bit field at an even offset (a port). */
        size_t off = (rand() % ((len - 8) / 2)) * 2 + 8;
        uint16_t old16, new16 = rand();
        memcpy(&old16, pkt + off, 2);
        memcpy(pkt + off, &new16, 2);
        c = csum_update16(c, old16, new16);

        /* 32-bit field in the pseudo header (an address: NAT). */
        uint32_t new_src;
        fill_random((uint8_t *) &new_src, 4);
        c = csum_update32(c, src, new_src);
        src = new_src;

        memset(pkt + 6, 0, 2);
        c_full = csum_finish(csum_continue(
            csum_pseudo_ipv4(src, dst, 17, len), pkt, len));
        CHECK(csum_norm(c) == csum_norm(c_full),
              "iter %d: %04x vs %04x", iter, c, c_full);
        /* Verification over the whole thing yields 0 either way. */
        memcpy(pkt + 6, &c, 2);
        CHECK(csum_finish(csum_continue(
            csum_pseudo_ipv4(src, dst, 17, len), pkt, len)) == 0,
              "iter %d: does not verify", iter);
    }
}

Test(csum, incremental_ipv6_address)
{
    srand(14);
    for (int iter = 0; iter < 1000; iter++) {
        struct in6_addr src, dst, nsrc;
        uint8_t l4[64];
        uint16_t c, c_full;

        fill_random((uint8_t *) &src, 16);
        fill_random((uint8_t *) &dst, 16);
        fill_random((uint8_t *) &nsrc, 16);
        fill_random(l4, sizeof l4);
        memset(l4 + 16, 0, 2);
        c = csum_finish(csum_continue(csum_pseudo_ipv6(&src, &dst, 6, 64),
                                      l4, 64));
        c = csum_update128(c, &src, &nsrc);
        c_full = csum_finish(csum_continue(
            csum_pseudo_ipv6(&nsrc, &dst, 6, 64), l4, 64));
        CHECK(csum_norm(c) == csum_norm(c_full), "iter %d", iter);
        memcpy(l4 + 16, &c, 2);
        CHECK(csum_finish(csum_continue(
            csum_pseudo_ipv6(&nsrc, &dst, 6, 64), l4, 64)) == 0,
              "iter %d: does not verify", iter);
    }
}

Test(csum, pseudo_header_reference)
{
    uint8_t ph[12];
    uint32_t src = htonl(0x0a000001), dst = htonl(0xc0a80102);
    uint16_t len = htons(1234);

    memcpy(ph, &src, 4);
    memcpy(ph + 4, &dst, 4);
    ph[8] = 0;
    ph[9] = 6;
    memcpy(ph + 10, &len, 2);
    cr_assert_eq(csum_finish(csum_pseudo_ipv4(src, dst, 6, 1234)),
                 csum(ph, 12));

    uint8_t ph6[40];
    struct in6_addr s6, d6;
    uint32_t len32 = htonl(70000);
    fill_random((uint8_t *) &s6, 16);
    fill_random((uint8_t *) &d6, 16);
    memcpy(ph6, &s6, 16);
    memcpy(ph6 + 16, &d6, 16);
    memcpy(ph6 + 32, &len32, 4);
    memset(ph6 + 36, 0, 3);
    ph6[39] = 58;
    cr_assert_eq(csum_finish(csum_pseudo_ipv6(&s6, &d6, 58, 70000)),
                 csum(ph6, 40));
}
