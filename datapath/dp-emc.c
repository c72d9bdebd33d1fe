/* dp-emc: 2-way exact-match cache. */
#include "dp-emc.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define DP_EMC_MASK (DP_EMC_ENTRIES - 1)
#define DP_EMC_SHIFT 13         /* second way: another slice of the hash */

struct dp_emc_entry {
    void *value;                /* NULL: empty */
    uint32_t hash;
    uint32_t pad;
    struct flow key;
};

struct dp_emc {
    struct dp_emc_entry entries[DP_EMC_ENTRIES];
};

struct dp_emc *
dp_emc_create(void)
{
    return xzalloc(sizeof(struct dp_emc));
}

void
dp_emc_destroy(struct dp_emc *emc)
{
    free(emc);
}

/* The words mixed: the first metadata words (recirc_id, in_port, pkt_mark,
 * dp_hash), ct_state/zone/mark, and everything from L2 on.  Registers,
 * labels and the ct tuple are left out: they rarely tell flows apart on
 * their own, and equality still checks them.  Four independent lanes let
 * the multiplies overlap. */
#define DP_EMC_W_META_END 2
#define DP_EMC_W_CT (offsetof(struct flow, ct_state) / 8)
#define DP_EMC_W_L2 (offsetof(struct flow, dl_dst) / 8)
BUILD_ASSERT(offsetof(struct flow, dl_dst) % 8 == 0);
BUILD_ASSERT(offsetof(struct flow, ct_state) % 8 == 0);

static inline uint64_t
dp_emc_mix(uint64_t h, uint64_t w)
{
    return (h ^ w) * 0x9e3779b97f4a7c15ULL;
}

uint32_t
dp_emc_hash(const struct flow *flow)
{
    const uint64_t *w = flow_u64(flow);
    uint64_t a = w[0], b = w[1], c = w[DP_EMC_W_CT], d = 0x5bd1e995;
    size_t i = DP_EMC_W_L2;

    for (; i + 4 <= FLOW_U64S; i += 4) {
        a = dp_emc_mix(a, w[i]);
        b = dp_emc_mix(b, w[i + 1]);
        c = dp_emc_mix(c, w[i + 2]);
        d = dp_emc_mix(d, w[i + 3]);
    }
    for (; i < FLOW_U64S; i++) {
        a = dp_emc_mix(a, w[i]);
    }
    a = dp_emc_mix(a, b);
    a = dp_emc_mix(a, c);
    a = dp_emc_mix(a, d);
    a ^= a >> 29;
    return (uint32_t) (a ^ (a >> 32));
}

/* Word compare without early exit: cheaper than memcmp() for one fixed,
 * aligned size, and the common case (a hit) reads every word anyway. */
static inline bool
dp_emc_key_equal(const struct flow *a, const struct flow *b)
{
    const uint64_t *x = flow_u64(a), *y = flow_u64(b);
    uint64_t diff = 0;

    for (size_t i = 0; i < FLOW_U64S; i++) {
        diff |= x[i] ^ y[i];
    }
    return !diff;
}

static inline struct dp_emc_entry *
dp_emc_way(const struct dp_emc *emc, uint32_t hash, int way)
{
    uint32_t idx = way ? (hash >> DP_EMC_SHIFT) : hash;

    return (struct dp_emc_entry *) &emc->entries[idx & DP_EMC_MASK];
}

void *
dp_emc_lookup(const struct dp_emc *emc, const struct flow *flow,
              uint32_t hash)
{
    for (int way = 0; way < 2; way++) {
        const struct dp_emc_entry *e = dp_emc_way(emc, hash, way);

        if (e->value && e->hash == hash && dp_emc_key_equal(&e->key, flow)) {
            return e->value;
        }
    }
    return NULL;
}

void
dp_emc_insert(struct dp_emc *emc, const struct flow *flow, uint32_t hash,
              void *value)
{
    struct dp_emc_entry *e0 = dp_emc_way(emc, hash, 0);
    struct dp_emc_entry *e1 = dp_emc_way(emc, hash, 1);
    struct dp_emc_entry *e;

    if (e0->value && e0->hash == hash && dp_emc_key_equal(&e0->key, flow)) {
        e0->value = value;
        return;
    } else if (e1->value && e1->hash == hash && dp_emc_key_equal(&e1->key, flow)) {
        e1->value = value;
        return;
    } else if (!e0->value) {
        e = e0;
    } else if (!e1->value) {
        e = e1;
    } else {
        /* Both taken: evict the one the new hash does not favour, so
         * that two hot keys sharing a set do not evict each other in
         * lockstep. */
        e = (hash >> 31) ? e1 : e0;
    }
    e->key = *flow;
    e->hash = hash;
    e->value = value;
}

void
dp_emc_sweep(struct dp_emc *emc, bool (*is_dead)(const void *value))
{
    for (size_t i = 0; i < DP_EMC_ENTRIES; i++) {
        struct dp_emc_entry *e = &emc->entries[i];

        if (e->value && is_dead(e->value)) {
            e->value = NULL;
        }
    }
}

void
dp_emc_clear(struct dp_emc *emc)
{
    for (size_t i = 0; i < DP_EMC_ENTRIES; i++) {
        emc->entries[i].value = NULL;
    }
}

size_t
dp_emc_count(const struct dp_emc *emc)
{
    size_t n = 0;

    for (size_t i = 0; i < DP_EMC_ENTRIES; i++) {
        n += emc->entries[i].value != NULL;
    }
    return n;
}
