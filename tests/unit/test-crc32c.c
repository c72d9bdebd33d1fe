/* Unit tests for lib/crc32c: known vectors, both paths (the CPU's crc32
 * instruction when present, and the table) against a bitwise reference
 * on random data at random alignments, and incremental against one-shot.
 * The store and the conntrack snapshots keep these checksums on disk, so
 * the known vectors pin the values down. */
#include <criterion/criterion.h>
#include <string.h>

#include "crc32c.h"
#include "util.h"

/* One bit at a time, straight from the definition. */
static uint32_t
ref_crc32c(uint32_t crc, const uint8_t *p, size_t n)
{
    crc = ~crc;
    while (n--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++) {
            crc = crc & 1 ? (crc >> 1) ^ 0x82f63b78u : crc >> 1;
        }
    }
    return ~crc;
}

static uint32_t
xorshift32(uint32_t *s)
{
    uint32_t x = *s;

    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

Test(crc32c, known_values)
{
    uint8_t buf[32];

    /* RFC 3720 B.4. */
    memset(buf, 0, sizeof buf);
    cr_assert_eq(crc32c(buf, 32), 0x8a9136aa);
    memset(buf, 0xff, sizeof buf);
    cr_assert_eq(crc32c(buf, 32), 0x62a8ab43);
    for (int i = 0; i < 32; i++) {
        buf[i] = i;
    }
    cr_assert_eq(crc32c(buf, 32), 0x46dd794e);
    cr_assert_eq(crc32c_extend_table(0, buf, 32), 0x46dd794e);
    for (int i = 0; i < 32; i++) {
        buf[i] = 31 - i;
    }
    cr_assert_eq(crc32c(buf, 32), 0x113fdb5c);
    cr_assert_eq(crc32c("123456789", 9), 0xe3069283);
    cr_assert_eq(crc32c_extend_table(0, "123456789", 9), 0xe3069283);
    cr_assert_eq(crc32c("", 0), 0);
    cr_assert_eq(crc32c_extend(0x12345678, buf, 0), 0x12345678);
}

Test(crc32c, random_against_reference)
{
    enum { MAX_LEN = 4099 };
    uint8_t *buf = xmalloc(MAX_LEN + 8);
    uint32_t seed = 0x9e3779b9;

    cr_log_info("crc32c: %s path", crc32c_hw_available() ? "sse4.2"
                                                         : "table");
    for (int round = 0; round < 300; round++) {
        size_t ofs = xorshift32(&seed) % 8;
        size_t n = round < 40 ? (size_t) round
                              : xorshift32(&seed) % (MAX_LEN + 1);
        uint32_t start = round % 3 ? xorshift32(&seed) : 0;
        for (size_t i = 0; i < n + ofs; i++) {
            buf[i] = xorshift32(&seed);
        }
        uint32_t want = ref_crc32c(start, buf + ofs, n);
        cr_assert_eq(crc32c_extend(start, buf + ofs, n), want,
                     "length %zu offset %zu", n, ofs);
        cr_assert_eq(crc32c_extend_table(start, buf + ofs, n), want,
                     "length %zu offset %zu", n, ofs);
    }
    free(buf);
}

Test(crc32c, incremental_equals_one_shot)
{
    enum { LEN = 3001 };
    uint8_t *buf = xmalloc(LEN);
    uint32_t seed = 12345;

    for (size_t i = 0; i < LEN; i++) {
        buf[i] = xorshift32(&seed);
    }
    uint32_t whole = crc32c(buf, LEN);
    for (int round = 0; round < 100; round++) {
        uint32_t hw = 0, table = 0;
        size_t ofs = 0;
        while (ofs < LEN) {
            size_t piece = xorshift32(&seed) % 97;
            piece = MIN(piece, LEN - ofs);
            hw = crc32c_extend(hw, buf + ofs, piece);
            table = crc32c_extend_table(table, buf + ofs, piece);
            ofs += piece;
        }
        cr_assert_eq(hw, whole, "round %d", round);
        cr_assert_eq(table, whole, "round %d", round);
    }
    free(buf);
}
