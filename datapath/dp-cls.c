/* dp-cls: tuple space search over per-mask subtables. */
#include "dp-cls.h"

#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "util.h"

struct dp_cls_subtable {
    struct flow_wildcards mask;
    struct hmap rules;          /* dp_cls_rule, by dp_cls_hash() */
    uint64_t hits;              /* lookups answered since the last sort */
    uint8_t n_words;            /* nonzero words of 'mask' ... */
    uint8_t words[FLOW_U64S];   /* ... and their indexes, ascending */
};

static uint32_t
dp_cls_hash(const struct dp_cls_subtable *st, const struct flow *flow)
{
    const uint64_t *f = flow_u64(flow);
    const uint64_t *m = flow_u64(&st->mask.masks);
    uint32_t h = 0;

    for (size_t i = 0; i < st->n_words; i++) {
        unsigned int w = st->words[i];

        h = hash_add64(h, f[w] & m[w]);
    }
    return hash_finish(h, st->n_words);
}

/* True if 'flow' masked by the subtable's mask equals 'rule->key'.  Only
 * the mask's nonzero words can differ: the key is zero elsewhere. */
static bool
dp_cls_rule_matches(const struct dp_cls_subtable *st,
                    const struct dp_cls_rule *rule, const struct flow *flow)
{
    const uint64_t *f = flow_u64(flow);
    const uint64_t *m = flow_u64(&st->mask.masks);
    const uint64_t *k = flow_u64(&rule->key);

    for (size_t i = 0; i < st->n_words; i++) {
        unsigned int w = st->words[i];

        if ((f[w] & m[w]) != k[w]) {
            return false;
        }
    }
    return true;
}

void
dp_cls_init(struct dp_cls *cls)
{
    memset(cls, 0, sizeof *cls);
}

void
dp_cls_release(struct dp_cls *cls)
{
    if (!cls) {
        return;
    }
    for (size_t i = 0; i < cls->n_subtables; i++) {
        hmap_destroy(&cls->subtables[i]->rules);
        free(cls->subtables[i]);
    }
    free(cls->subtables);
    memset(cls, 0, sizeof *cls);
}

static struct dp_cls_subtable *
dp_cls_find_subtable(const struct dp_cls *cls,
                     const struct flow_wildcards *mask)
{
    for (size_t i = 0; i < cls->n_subtables; i++) {
        if (flow_equal(&cls->subtables[i]->mask.masks, &mask->masks)) {
            return cls->subtables[i];
        }
    }
    return NULL;
}

static struct dp_cls_subtable *
dp_cls_create_subtable(struct dp_cls *cls, const struct flow_wildcards *mask)
{
    struct dp_cls_subtable *st = xzalloc(sizeof *st);
    const uint64_t *m = flow_u64(&mask->masks);

    st->mask = *mask;
    hmap_init(&st->rules);
    for (size_t i = 0; i < FLOW_U64S; i++) {
        if (m[i]) {
            st->words[st->n_words++] = i;
        }
    }
    if (cls->n_subtables == cls->allocated) {
        cls->allocated = cls->allocated ? 2 * cls->allocated : 8;
        cls->subtables = xrealloc(cls->subtables,
                                  cls->allocated * sizeof *cls->subtables);
    }
    /* New subtables go last: established ones keep their place until
     * the next sort. */
    cls->subtables[cls->n_subtables++] = st;
    return st;
}

void
dp_cls_insert(struct dp_cls *cls, struct dp_cls_rule *rule,
              const struct flow *key, const struct flow_wildcards *mask)
{
    struct dp_cls_subtable *st = dp_cls_find_subtable(cls, mask);

    if (!st) {
        st = dp_cls_create_subtable(cls, mask);
    }
    flow_apply_mask(&rule->key, key, mask);
    rule->subtable = st;
    hmap_insert(&st->rules, &rule->node, dp_cls_hash(st, &rule->key));
    cls->n_rules++;
}

void
dp_cls_remove(struct dp_cls *cls, struct dp_cls_rule *rule)
{
    struct dp_cls_subtable *st = rule->subtable;

    ts_assert(st);
    hmap_remove(&st->rules, &rule->node);
    rule->subtable = NULL;
    cls->n_rules--;
    if (hmap_is_empty(&st->rules)) {
        for (size_t i = 0; i < cls->n_subtables; i++) {
            if (cls->subtables[i] == st) {
                memmove(&cls->subtables[i], &cls->subtables[i + 1],
                        (cls->n_subtables - i - 1) * sizeof *cls->subtables);
                cls->n_subtables--;
                break;
            }
        }
        hmap_destroy(&st->rules);
        free(st);
    }
}

struct dp_cls_rule *
dp_cls_lookup(struct dp_cls *cls, const struct flow *flow)
{
    for (size_t i = 0; i < cls->n_subtables; i++) {
        struct dp_cls_subtable *st = cls->subtables[i];
        uint32_t hash = dp_cls_hash(st, flow);
        struct dp_cls_rule *rule;

        HMAP_FOR_EACH_WITH_HASH (rule, node, hash, &st->rules) {
            if (dp_cls_rule_matches(st, rule, flow)) {
                st->hits++;
                return rule;
            }
        }
    }
    return NULL;
}

struct dp_cls_rule *
dp_cls_find_exact(const struct dp_cls *cls, const struct flow *key,
                  const struct flow_wildcards *mask)
{
    struct dp_cls_subtable *st = dp_cls_find_subtable(cls, mask);
    struct dp_cls_rule *rule;
    struct flow masked;

    if (!st) {
        return NULL;
    }
    flow_apply_mask(&masked, key, mask);
    HMAP_FOR_EACH_WITH_HASH (rule, node, dp_cls_hash(st, &masked),
                             &st->rules) {
        if (flow_equal(&rule->key, &masked)) {
            return rule;
        }
    }
    return NULL;
}

static int
dp_cls_subtable_cmp(const void *a_, const void *b_)
{
    const struct dp_cls_subtable *a = *(const struct dp_cls_subtable **) a_;
    const struct dp_cls_subtable *b = *(const struct dp_cls_subtable **) b_;

    return a->hits < b->hits ? 1 : a->hits > b->hits ? -1 : 0;
}

void
dp_cls_sort(struct dp_cls *cls)
{
    if (cls->n_subtables > 1) {
        qsort(cls->subtables, cls->n_subtables, sizeof *cls->subtables,
              dp_cls_subtable_cmp);
    }
    for (size_t i = 0; i < cls->n_subtables; i++) {
        cls->subtables[i]->hits = 0;
    }
}

const struct flow_wildcards *
dp_cls_rule_mask(const struct dp_cls_rule *rule)
{
    return &rule->subtable->mask;
}
