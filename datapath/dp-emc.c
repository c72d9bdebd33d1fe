/* dp-emc: 2-way exact-match cache. */
#include "dp-emc.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define DP_EMC_HAVE_AVX2 1
#endif

#include "util.h"

#define DP_EMC_MASK (DP_EMC_ENTRIES - 1)
#define DP_EMC_SHIFT 13         /* second way: another slice of the hash */

/* 'value' and 'hash' first: a probe whose hash differs reads one cache
 * line.  The key is 16-byte aligned for the vector compare. */
struct dp_emc_entry {
    void *value;                /* NULL: empty */
    uint32_t hash;
    uint32_t pad;
    struct flow key;
} __attribute__((aligned(16)));
BUILD_ASSERT(offsetof(struct dp_emc_entry, key) % 16 == 0);
BUILD_ASSERT(sizeof(struct flow) % 16 == 0);

typedef uint64_t dp_emc_lookup_batch_fn(const struct dp_emc *,
                                        struct flow *const flows[], size_t n,
                                        uint32_t hashes[], void *values[]);

struct dp_emc {
    dp_emc_lookup_batch_fn *lookup_batch;   /* best for this CPU */
    struct dp_emc_entry entries[DP_EMC_ENTRIES];
};

static dp_emc_lookup_batch_fn dp_emc_lookup_batch_sse2;
#ifdef DP_EMC_HAVE_AVX2
static dp_emc_lookup_batch_fn dp_emc_lookup_batch_avx2;
#endif

struct dp_emc *
dp_emc_create(void)
{
    struct dp_emc *emc;
    void *mem;

    if (posix_memalign(&mem, 64, sizeof *emc)) {
        mem = xmalloc(sizeof *emc);     /* aborts: no memory */
    }
    emc = mem;
    memset(emc, 0, sizeof *emc);
    emc->lookup_batch = dp_emc_lookup_batch_sse2;
#ifdef DP_EMC_HAVE_AVX2
    if (__builtin_cpu_supports("avx2")) {
        emc->lookup_batch = dp_emc_lookup_batch_avx2;
    }
#endif
    return emc;
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

static inline __attribute__((always_inline)) uint32_t
dp_emc_hash__(const struct flow *flow)
{
    const uint64_t *w = flow_u64(flow);
    uint64_t a = w[0], b = w[1], c = w[DP_EMC_W_CT], d = 0x5bd1e995;
    size_t i = DP_EMC_W_L2;

#pragma GCC unroll 16
    for (; i + 4 <= FLOW_U64S; i += 4) {
        a = dp_emc_mix(a, w[i]);
        b = dp_emc_mix(b, w[i + 1]);
        c = dp_emc_mix(c, w[i + 2]);
        d = dp_emc_mix(d, w[i + 3]);
    }
#pragma GCC unroll 4
    for (; i < FLOW_U64S; i++) {
        a = dp_emc_mix(a, w[i]);
    }
    a = dp_emc_mix(a, b);
    a = dp_emc_mix(a, c);
    a = dp_emc_mix(a, d);
    a ^= a >> 29;
    return (uint32_t) (a ^ (a >> 32));
}

uint32_t
dp_emc_hash(const struct flow *flow)
{
    return dp_emc_hash__(flow);
}

/* Compare without early exit, 16 bytes at a time, fully unrolled: the
 * common case (a hit) reads every word anyway.  'key' is an entry's key,
 * 16-byte aligned; 'flow' is a packet's, only 8-byte aligned. */
typedef uint64_t dp_emc_v2 __attribute__((vector_size(16)));

static inline bool
dp_emc_key_equal(const struct flow *key, const struct flow *flow)
{
    const dp_emc_v2 *k = __builtin_assume_aligned(key, 16);
    const char *f = (const char *) flow;
    dp_emc_v2 diff = { 0, 0 };

#pragma GCC unroll 32
    for (size_t i = 0; i < sizeof *flow / 16; i++) {
        dp_emc_v2 v;

        memcpy(&v, f + 16 * i, sizeof v);
        diff |= v ^ k[i];
    }
    return !(diff[0] | diff[1]);
}

static inline struct dp_emc_entry *
dp_emc_way(const struct dp_emc *emc, uint32_t hash, int way)
{
    uint32_t idx = way ? (hash >> DP_EMC_SHIFT) : hash;

    return (struct dp_emc_entry *) &emc->entries[idx & DP_EMC_MASK];
}

static inline __attribute__((always_inline)) void *
dp_emc_lookup__(const struct dp_emc *emc, const struct flow *flow,
                uint32_t hash)
{
    const struct dp_emc_entry *e0 = dp_emc_way(emc, hash, 0);
    const struct dp_emc_entry *e1;

    /* The hash first: a slot whose hash differs costs one load. */
    if (e0->hash == hash && e0->value && dp_emc_key_equal(&e0->key, flow)) {
        return e0->value;
    }
    e1 = dp_emc_way(emc, hash, 1);
    if (e1->hash == hash && e1->value && dp_emc_key_equal(&e1->key, flow)) {
        return e1->value;
    }
    return NULL;
}

void *
dp_emc_lookup(const struct dp_emc *emc, const struct flow *flow,
              uint32_t hash)
{
    return dp_emc_lookup__(emc, flow, hash);
}

/* Hashes 'flows' into 'hashes' and prefetches their slots. */
static inline __attribute__((always_inline)) void
dp_emc_hash_prefetch(const struct dp_emc *emc, struct flow *const flows[],
                     size_t n, uint32_t hashes[])
{
    for (size_t i = 0; i < n; i++) {
        uint32_t hash = dp_emc_hash__(flows[i]);
        const char *e0 = (const char *) dp_emc_way(emc, hash, 0);

        hashes[i] = hash;
        /* The first way's whole entry (a hit usually compares it), the
         * second way's first line (value, hash). */
        __builtin_prefetch(e0);
        __builtin_prefetch(e0 + 64);
        __builtin_prefetch(e0 + 128);
        __builtin_prefetch(e0 + 192);
        __builtin_prefetch(e0 + 256);
        __builtin_prefetch(dp_emc_way(emc, hash, 1));
    }
}

static uint64_t
dp_emc_lookup_batch_sse2(const struct dp_emc *emc,
                         struct flow *const flows[], size_t n,
                         uint32_t hashes[], void *values[])
{
    uint64_t miss = 0;

    dp_emc_hash_prefetch(emc, flows, n, hashes);
    for (size_t i = 0; i < n; i++) {
        void *v = dp_emc_lookup__(emc, flows[i], hashes[i]);

        values[i] = v;
        miss |= (uint64_t) !v << i;
    }
    return miss;
}

#ifdef DP_EMC_HAVE_AVX2
/* dp_emc_key_equal() 32 bytes at a time. */
static inline __attribute__((always_inline, target("avx2"))) bool
dp_emc_key_equal_avx2(const struct flow *key, const struct flow *flow)
{
    const char *k = (const char *) key, *f = (const char *) flow;
    __m256i diff = _mm256_setzero_si256();
    __m128i tail;

#pragma GCC unroll 16
    for (size_t i = 0; i + 32 <= sizeof *flow; i += 32) {
        __m256i a = _mm256_loadu_si256((const __m256i *) (f + i));
        __m256i b = _mm256_loadu_si256((const __m256i *) (k + i));

        diff = _mm256_or_si256(diff, _mm256_xor_si256(a, b));
    }
    if (sizeof *flow % 32) {
        size_t ofs = sizeof *flow - 16;
        __m128i a = _mm_loadu_si128((const __m128i *) (f + ofs));
        __m128i b = _mm_loadu_si128((const __m128i *) (k + ofs));

        tail = _mm_xor_si128(a, b);
    } else {
        tail = _mm_setzero_si128();
    }
    diff = _mm256_or_si256(diff, _mm256_castsi128_si256(tail));
    return _mm256_testz_si256(diff, diff);
}

static __attribute__((target("avx2"))) uint64_t
dp_emc_lookup_batch_avx2(const struct dp_emc *emc,
                         struct flow *const flows[], size_t n,
                         uint32_t hashes[], void *values[])
{
    uint64_t miss = 0;

    dp_emc_hash_prefetch(emc, flows, n, hashes);
    for (size_t i = 0; i < n; i++) {
        uint32_t hash = hashes[i];
        const struct dp_emc_entry *e = dp_emc_way(emc, hash, 0);
        void *v = NULL;

        if (e->hash == hash && e->value
            && dp_emc_key_equal_avx2(&e->key, flows[i])) {
            v = e->value;
        } else {
            e = dp_emc_way(emc, hash, 1);
            if (e->hash == hash && e->value
                && dp_emc_key_equal_avx2(&e->key, flows[i])) {
                v = e->value;
            }
        }
        values[i] = v;
        miss |= (uint64_t) !v << i;
    }
    return miss;
}
#endif

uint64_t
dp_emc_lookup_batch(const struct dp_emc *emc, struct flow *const flows[],
                    size_t n, uint32_t hashes[], void *values[])
{
    return emc->lookup_batch(emc, flows, n, hashes, values);
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
    } else if (e1->value && e1->hash == hash
               && dp_emc_key_equal(&e1->key, flow)) {
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
