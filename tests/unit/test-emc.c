/* Tests for datapath/dp-emc.c: exact hits only, and no stale value ever
 * returned after a sweep or clear. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "dp-emc.h"
#include "flow.h"

struct val {
    int id;
    bool dead;
};

static bool
val_is_dead(const void *v)
{
    return ((const struct val *) v)->dead;
}

static void
make_flow(struct flow *f, unsigned int i)
{
    memset(f, 0, sizeof *f);
    f->in_port = 1 + i % 3;
    f->nw_src = i;
    f->tp_dst = i >> 16;
}

Test(emc, exact_hits_only)
{
    struct dp_emc *emc = dp_emc_create();
    struct val v = { 1, false };
    struct flow f, g;

    make_flow(&f, 10);
    dp_emc_insert(emc, &f, dp_emc_hash(&f), &v);
    cr_assert(dp_emc_lookup(emc, &f, dp_emc_hash(&f)) == &v);
    /* A bit anywhere, even in a word the hash skips, is a miss. */
    for (size_t byte = 0; byte < sizeof f; byte++) {
        g = f;
        ((uint8_t *) &g)[byte] ^= 0x40;
        if (dp_emc_lookup(emc, &g, dp_emc_hash(&g))
            /* Even with a forged hash equal to f's. */
            || dp_emc_lookup(emc, &g, dp_emc_hash(&f))) {
            cr_assert_fail("byte %zu ignored", byte);
        }
    }
    cr_assert_eq(dp_emc_count(emc), 1);
    dp_emc_destroy(emc);
}

Test(emc, never_stale_after_sweep)
{
    /* N keys for DP_EMC_ENTRIES slots: enough to force evictions. */
    enum { N = 12000, NV = 64, ROUNDS = 6 };
    struct dp_emc *emc = dp_emc_create();
    struct val vals[NV];
    unsigned int seed = 99;
    int hits = 0;

    for (int i = 0; i < NV; i++) {
        vals[i] = (struct val) { i, false };
    }
    for (int round = 0; round < ROUNDS; round++) {
        for (int k = 0; k < N; k++) {
            unsigned int i = rand_r(&seed) % N;
            struct flow f;
            struct val *v = &vals[i % NV];

            make_flow(&f, i);
            if (!v->dead) {
                dp_emc_insert(emc, &f, dp_emc_hash(&f), v);
            }
        }
        /* Kill some values, sweep, and check every key. */
        for (int i = 0; i < NV; i++) {
            vals[i].dead = rand_r(&seed) % 4 == 0;
        }
        dp_emc_sweep(emc, val_is_dead);
        for (unsigned int i = 0; i < N; i++) {
            struct flow f;
            struct val *got;

            make_flow(&f, i);
            got = dp_emc_lookup(emc, &f, dp_emc_hash(&f));
            if (got) {
                /* Assert only on failure: --full-stats makes each
                 * passing assertion cost an IPC message. */
                if (got->dead) {
                    cr_assert_fail("stale value after sweep (key %u)", i);
                }
                if (got != &vals[i % NV]) {
                    cr_assert_fail("wrong value for key %u", i);
                }
                hits++;
            }
        }
        for (int i = 0; i < NV; i++) {
            vals[i].dead = false;
        }
    }
    cr_assert_gt(hits, 1000, "cache hardly caches: %d hits", hits);
    dp_emc_clear(emc);
    cr_assert_eq(dp_emc_count(emc), 0);
    dp_emc_destroy(emc);
}

Test(emc, two_ways_hold_colliding_keys)
{
    struct dp_emc *emc = dp_emc_create();
    struct val v1 = { 1, false }, v2 = { 2, false };
    struct flow a, b;

    /* Same hash for both (forged): the two ways keep both. */
    make_flow(&a, 1);
    make_flow(&b, 2);
    dp_emc_insert(emc, &a, 77, &v1);
    dp_emc_insert(emc, &b, 77, &v2);
    cr_assert(dp_emc_lookup(emc, &a, 77) == &v1);
    cr_assert(dp_emc_lookup(emc, &b, 77) == &v2);
    /* Re-inserting a key updates in place. */
    dp_emc_insert(emc, &a, 77, &v2);
    cr_assert(dp_emc_lookup(emc, &a, 77) == &v2);
    cr_assert(dp_emc_lookup(emc, &b, 77) == &v2);
    cr_assert_eq(dp_emc_count(emc), 2);
    dp_emc_destroy(emc);
}

/* The batch lookup (vector compare chosen for the CPU) agrees with the
 * one-key lookup, hit or miss, including keys that differ from a cached
 * one in a single bit of any word. */
Test(emc, batch_lookup_matches_single)
{
    enum { NV = 32 };
    struct dp_emc *emc = dp_emc_create();
    struct val vals[NV];
    struct flow flows[NV];
    struct flow *ptrs[NV];
    uint32_t hashes[NV];
    void *got[NV];
    unsigned int seed = 7;

    for (int i = 0; i < NV; i++) {
        vals[i] = (struct val) { i, false };
        make_flow(&flows[i], 1000 + i);
        ptrs[i] = &flows[i];
        if (i % 3) {
            dp_emc_insert(emc, &flows[i], dp_emc_hash(&flows[i]), &vals[i]);
        }
    }
    for (int round = 0; round < 200; round++) {
        uint64_t miss;

        if (round) {
            /* Flip one random bit of one flow (flips accumulate). */
            int i = rand_r(&seed) % NV;
            size_t bit = rand_r(&seed) % (8 * sizeof flows[i]);

            ((uint8_t *) &flows[i])[bit / 8] ^= 1 << (bit % 8);
        }
        miss = dp_emc_lookup_batch(emc, ptrs, NV, hashes, got);
        for (int i = 0; i < NV; i++) {
            uint32_t h = dp_emc_hash(&flows[i]);
            void *want = dp_emc_lookup(emc, &flows[i], h);

            if (hashes[i] != h || got[i] != want
                || !(miss >> i & 1) != (want != NULL)) {
                cr_assert_fail("round %d, flow %d: batch disagrees", round,
                               i);
            }
        }
        if (round == 0) {
            cr_assert_eq(__builtin_popcountll(miss), (NV + 2) / 3);
        }
    }
    dp_emc_destroy(emc);
}
