/* Unit tests for hash: stability, basis sensitivity, distribution. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"

Test(hash, deterministic_and_basis)
{
    const char *s = "trackswitch";

    cr_assert_eq(hash_string(s, 0), hash_string(s, 0));
    cr_assert_eq(hash_string(s, 0), hash_bytes(s, strlen(s), 0));
    cr_assert_neq(hash_string(s, 0), hash_string(s, 1));
    cr_assert_neq(hash_string("a", 0), hash_string("b", 0));
    cr_assert_neq(hash_bytes("", 0, 0), hash_bytes("\0", 1, 0));
    cr_assert_neq(hash_int(1, 0), hash_int(2, 0));
}

Test(hash, unaligned_equals_aligned)
{
    uint8_t buf[64 + 1];

    for (size_t i = 0; i < sizeof buf; i++) {
        buf[i] = i * 31 + 7;
    }
    for (size_t n = 0; n < 60; n++) {
        uint8_t copy[64];

        memcpy(copy, buf + 1, n);
        cr_assert_eq(hash_bytes(buf + 1, n, 9), hash_bytes(copy, n, 9));
    }
}

Test(hash, words64_matches_reference)
{
    uint64_t w[5] = { 1, 2, 0x123456789abcdefULL, 0, ~0ULL };
    uint32_t h = 77;

    for (int i = 0; i < 5; i++) {
        h = hash_add64(h, w[i]);
    }
    cr_assert_eq(hash_words64(w, 5, 77), hash_finish(h, 40));
    cr_assert_neq(hash_words64(w, 5, 77), hash_words64(w, 4, 77));
}

/* Every single-bit change of the input flips each output bit with
 * probability near 1/2, and sequential keys spread over buckets. */
Test(hash, distribution_smoke)
{
    enum { N = 1 << 16, BUCKETS = 256 };
    static unsigned int counts[BUCKETS];
    long flips = 0, trials = 0;

    for (uint32_t i = 0; i < N; i++) {
        counts[hash_int(i, 0) & (BUCKETS - 1)]++;
    }
    for (int b = 0; b < BUCKETS; b++) {
        /* Expected 256 per bucket; allow a wide margin. */
        cr_assert(counts[b] > 150 && counts[b] < 370, "bucket %d: %u", b,
                  counts[b]);
    }
    for (uint32_t i = 0; i < 2000; i++) {
        uint64_t key[2] = { i * 0x9e3779b97f4a7c15ULL, i };
        uint32_t h0 = hash_words64(key, 2, 0);

        for (int bit = 0; bit < 128; bit++) {
            uint64_t k2[2] = { key[0], key[1] };

            k2[bit / 64] ^= 1ULL << (bit % 64);
            flips += __builtin_popcount(h0 ^ hash_words64(k2, 2, 0));
            trials += 32;
        }
    }
    double ratio = (double) flips / trials;
    cr_assert(ratio > 0.45 && ratio < 0.55, "avalanche %f", ratio);
}
