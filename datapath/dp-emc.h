/* dp-emc: the exact-match cache in front of the megaflow classifier.
 *
 * A fixed table of DP_EMC_ENTRIES slots, 2-way set associative: a key
 * may live in one of two slots chosen by two slices of its hash.  Each
 * slot holds a full struct flow and an opaque value (the datapath's
 * megaflow).  A hit needs the full key to compare equal, so the hash may
 * be anything cheap: dp_emc_hash() mixes a fixed subset of the words
 * (those that tell flows apart in practice); equality is on every word.
 *
 * Callers: one dpif worker owns each cache; the main thread changes it
 * (dp_emc_sweep, dp_emc_clear) only while holding that worker's mutex.
 * Nothing here locks or allocates after dp_emc_create().
 *
 * Staleness: a value must never outlive its slot.  Whoever frees values
 * first calls dp_emc_sweep() (or dp_emc_clear()) to drop every slot that
 * refers to them. */
#ifndef TS_DP_EMC_H
#define TS_DP_EMC_H 1

#include <stdbool.h>
#include <stdint.h>
#include "flow.h"

#define DP_EMC_ENTRIES 8192     /* power of 2 */

struct dp_emc;

struct dp_emc *dp_emc_create(void);
void dp_emc_destroy(struct dp_emc *);

/* A cheap hash of 'flow' for dp_emc_lookup()/dp_emc_insert(). */
uint32_t dp_emc_hash(const struct flow *);

/* Returns the value cached for exactly 'flow' (whose dp_emc_hash() is
 * 'hash'), or NULL. */
void *dp_emc_lookup(const struct dp_emc *, const struct flow *,
                    uint32_t hash);
/* The same for 'n' (at most 64) flows at once: stores each flow's
 * dp_emc_hash() in 'hashes[i]' and its value (or NULL) in 'values[i]';
 * returns a bitmap of the misses (bit i set: values[i] is NULL).  All the
 * slots are prefetched before any is compared, so a batch's cache misses
 * overlap. */
uint64_t dp_emc_lookup_batch(const struct dp_emc *,
                             struct flow *const flows[], size_t n,
                             uint32_t hashes[], void *values[]);
/* Caches 'value' (nonnull) for 'flow', replacing the key's old value or,
 * if both slots are taken by other keys, one of them. */
void dp_emc_insert(struct dp_emc *, const struct flow *, uint32_t hash,
                   void *value);
/* Empties every slot whose value 'is_dead' says is dead.  O(entries). */
void dp_emc_sweep(struct dp_emc *, bool (*is_dead)(const void *value));
void dp_emc_clear(struct dp_emc *);
/* Occupied slots (tests, statistics).  O(entries). */
size_t dp_emc_count(const struct dp_emc *);

#endif /* dp-emc.h */
