/* dp-cls: the megaflow classifier (tuple space search, no priorities).
 *
 * Rules are wildcarded flow keys.  Rules that share a mask live in one
 * subtable, a hash table keyed on the masked flow restricted to the
 * mask's nonzero 64-bit words.  A lookup probes subtables in order of
 * recent hit counts (dp_cls_sort() reorders them) and returns the first
 * rule that matches; the datapath installs non-overlapping megaflows, so
 * with no priorities any match is the match.
 *
 * Callers: one dpif worker owns each classifier (datapath/dp-worker.c);
 * the main thread mutates it only while holding that worker's mutex.
 * Nothing here locks.  Lookup never allocates; insert may allocate a
 * subtable or grow a hash table (installation is the one place on the
 * packet path that may allocate).
 *
 * Memory: the caller owns each struct dp_cls_rule (embedded in its
 * megaflow) and keeps it alive while it is in the classifier. */
#ifndef TS_DP_CLS_H
#define TS_DP_CLS_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "flow.h"
#include "hmap.h"

struct dp_cls_subtable;

struct dp_cls_rule {
    struct hmap_node node;              /* in subtable->rules */
    struct dp_cls_subtable *subtable;   /* NULL when not inserted */
    struct flow key;                    /* already masked */
};

struct dp_cls {
    struct dp_cls_subtable **subtables; /* lookup order */
    size_t n_subtables;
    size_t allocated;
    size_t n_rules;
};

void dp_cls_init(struct dp_cls *);
/* Frees the subtables.  Rules still inserted are forgotten, not freed. */
void dp_cls_release(struct dp_cls *);

/* Inserts 'rule' matching 'key' under 'mask'.  The caller must not insert
 * a rule identical (same masked key, same mask) to one already present:
 * check with dp_cls_find_exact() first. */
void dp_cls_insert(struct dp_cls *, struct dp_cls_rule *,
                   const struct flow *key, const struct flow_wildcards *);
void dp_cls_remove(struct dp_cls *, struct dp_cls_rule *);

/* Returns a rule that matches 'flow', or NULL.  Counts a hit on the
 * subtable that matched. */
struct dp_cls_rule *dp_cls_lookup(struct dp_cls *, const struct flow *);

/* Returns the rule with exactly this masked key and mask, or NULL. */
struct dp_cls_rule *dp_cls_find_exact(const struct dp_cls *,
                                      const struct flow *key,
                                      const struct flow_wildcards *);

/* Reorders subtables by hits since the last sort (most first) and resets
 * the counts.  O(subtables log subtables); call now and then. */
void dp_cls_sort(struct dp_cls *);

/* The mask of an inserted rule (shared by its subtable). */
const struct flow_wildcards *dp_cls_rule_mask(const struct dp_cls_rule *);

static inline size_t dp_cls_count(const struct dp_cls *cls)
{
    return cls->n_rules;
}

#endif /* dp-cls.h */
