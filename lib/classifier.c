/* classifier: tuple space search with priority-sorted subtables. */
#include "classifier.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include "hash.h"
#include "util.h"

/* One slot of a subtable's open-addressing index of chain heads.  The
 * hash sits next to the pointer so that a probe that misses touches only
 * the index (a few cache lines per subtable), never the rules. */
struct cls_slot {
    uint32_t hash;
    struct cls_rule *head;      /* NULL: empty slot */
};

/* All rules whose match has exactly this mask. */
struct cls_subtable {
    struct hmap_node node;      /* in classifier's 'subtables' */
    int max_priority;           /* highest priority of any rule */
    uint8_t n_idx;              /* words of 'mask' that are non-zero */
    uint8_t idx[FLOW_U64S];
    struct cls_slot *slots;     /* 'slot_mask + 1' slots, <= half full */
    size_t slot_mask;
    size_t n_heads;             /* occupied slots */
    size_t n_rules;             /* rules, counting whole chains */
    struct flow_wildcards mask;
};

BUILD_ASSERT(FLOW_U64S <= UINT8_MAX);

/* Hash of the masked key words of 'flow' in 'st'.  'flow' is masked on
 * the fly, so a packet's flow and a rule's normalized flow hash alike. */
static inline uint32_t
subtable_hash(const struct cls_subtable *st, const struct flow *flow)
{
    const uint64_t *f = flow_u64(flow);
    const uint64_t *m = flow_u64(&st->mask.masks);
    uint32_t hash = 0;

    for (unsigned int i = 0; i < st->n_idx; i++) {
        unsigned int w = st->idx[i];
        hash = hash_add64(hash, f[w] & m[w]);
    }
    return hash_finish(hash, st->n_idx * 8);
}

/* True if 'flow' masked by the subtable's mask equals the normalized key
 * of 'rule'. */
static inline bool
subtable_key_equal(const struct cls_subtable *st, const struct cls_rule *rule,
                   const struct flow *flow)
{
    const uint64_t *f = flow_u64(flow);
    const uint64_t *m = flow_u64(&st->mask.masks);
    const uint64_t *k = flow_u64(&rule->match.flow);

    for (unsigned int i = 0; i < st->n_idx; i++) {
        unsigned int w = st->idx[i];
        if ((f[w] & m[w]) != k[w]) {
            return false;
        }
    }
    return true;
}

/* Linear probing: the slot holding the chain for 'flow', or NULL. */
static struct cls_slot *
subtable_find_slot(const struct cls_subtable *st, const struct flow *flow,
                   uint32_t hash)
{
    for (size_t i = hash & st->slot_mask; st->slots[i].head;
         i = (i + 1) & st->slot_mask) {
        if (st->slots[i].hash == hash
            && subtable_key_equal(st, st->slots[i].head, flow)) {
            return &st->slots[i];
        }
    }
    return NULL;
}

static struct cls_rule *
subtable_find_head(const struct cls_subtable *st, const struct flow *flow,
                   uint32_t hash)
{
    struct cls_slot *slot = subtable_find_slot(st, flow, hash);

    return slot ? slot->head : NULL;
}

static void
slots_put(struct cls_slot *slots, size_t mask, uint32_t hash,
          struct cls_rule *head)
{
    size_t i = hash & mask;

    while (slots[i].head) {
        i = (i + 1) & mask;
    }
    slots[i].hash = hash;
    slots[i].head = head;
}

static void
subtable_insert_head(struct cls_subtable *st, struct cls_rule *head,
                     uint32_t hash)
{
    if ((st->n_heads + 1) * 2 > st->slot_mask + 1) {
        size_t new_mask = st->slot_mask * 2 + 1;
        struct cls_slot *slots = xcalloc(new_mask + 1, sizeof *slots);

        for (size_t i = 0; i <= st->slot_mask; i++) {
            if (st->slots[i].head) {
                slots_put(slots, new_mask, st->slots[i].hash,
                          st->slots[i].head);
            }
        }
        free(st->slots);
        st->slots = slots;
        st->slot_mask = new_mask;
    }
    head->hmap_node.hash = hash;
    slots_put(st->slots, st->slot_mask, hash, head);
    st->n_heads++;
}

/* Deletes 'slot' with backward-shift, so probes never need tombstones. */
static void
subtable_remove_slot(struct cls_subtable *st, struct cls_slot *slot)
{
    size_t mask = st->slot_mask;
    size_t i = slot - st->slots, j = i;

    st->slots[i].head = NULL;
    for (;;) {
        size_t k;

        j = (j + 1) & mask;
        if (!st->slots[j].head) {
            break;
        }
        k = st->slots[j].hash & mask;
        /* Move j back to i unless its home k lies cyclically in (i, j]. */
        if (i <= j ? (i < k && k <= j) : (i < k || k <= j)) {
            continue;
        }
        st->slots[i] = st->slots[j];
        st->slots[j].head = NULL;
        i = j;
    }
    st->n_heads--;
}

/* Subtable bookkeeping. */

static struct cls_subtable *
find_subtable(const struct classifier *cls, const struct flow_wildcards *wc)
{
    struct cls_subtable *st;

    HMAP_FOR_EACH_WITH_HASH (st, node, flow_hash(&wc->masks, 0),
                             &cls->subtables) {
        if (flow_equal(&st->mask.masks, &wc->masks)) {
            return st;
        }
    }
    return NULL;
}

/* Restores descending max_priority order (insertion sort: the array is
 * short and at most one element is out of place). */
static void
sort_subtables(struct classifier *cls)
{
    for (size_t i = 1; i < cls->n_sorted; i++) {
        struct cls_subtable *st = cls->sorted[i];
        size_t j = i;

        while (j > 0 && cls->sorted[j - 1]->max_priority < st->max_priority) {
            cls->sorted[j] = cls->sorted[j - 1];
            j--;
        }
        cls->sorted[j] = st;
    }
}

static struct cls_subtable *
create_subtable(struct classifier *cls, const struct flow_wildcards *wc)
{
    struct cls_subtable *st = xzalloc(sizeof *st);
    const uint64_t *m = flow_u64(&wc->masks);

    st->mask = *wc;
    for (size_t i = 0; i < FLOW_U64S; i++) {
        if (m[i]) {
            st->idx[st->n_idx++] = i;
        }
    }
    st->slot_mask = 7;
    st->slots = xcalloc(st->slot_mask + 1, sizeof *st->slots);
    st->max_priority = INT_MIN;
    hmap_insert(&cls->subtables, &st->node, flow_hash(&wc->masks, 0));
    if (cls->n_sorted == cls->allocated_sorted) {
        cls->allocated_sorted = cls->allocated_sorted * 2 + 8;
        cls->sorted = xrealloc(cls->sorted, cls->allocated_sorted
                                            * sizeof *cls->sorted);
    }
    cls->sorted[cls->n_sorted++] = st;
    return st;
}

static void
destroy_subtable(struct classifier *cls, struct cls_subtable *st)
{
    for (size_t i = 0; i < cls->n_sorted; i++) {
        if (cls->sorted[i] == st) {
            memmove(&cls->sorted[i], &cls->sorted[i + 1],
                    (cls->n_sorted - i - 1) * sizeof *cls->sorted);
            cls->n_sorted--;
            break;
        }
    }
    hmap_remove(&cls->subtables, &st->node);
    free(st->slots);
    free(st);
}

/* Rules. */

void
cls_rule_init(struct cls_rule *rule, const struct match *match,
              int priority)
{
    memset(rule, 0, sizeof *rule);
    rule->match = *match;
    match_zero_wildcarded_fields(&rule->match);
    rule->priority = priority;
    rule->subtable = NULL;
    rule->next = NULL;
    ts_list_init(&rule->list_node);
}

void
cls_rule_destroy(struct cls_rule *rule)
{
    if (rule) {
        ts_assert(!rule->subtable);
    }
}

bool
cls_rule_equal(const struct cls_rule *a, const struct cls_rule *b)
{
    return a->priority == b->priority && match_equal(&a->match, &b->match);
}

bool
cls_rule_is_loose_match(const struct cls_rule *rule,
                        const struct match *target)
{
    const uint64_t *rm, *rf, *tm, *tf;

    if (!target) {
        return true;
    }
    rm = flow_u64(&rule->match.wc.masks);
    rf = flow_u64(&rule->match.flow);
    tm = flow_u64(&target->wc.masks);
    tf = flow_u64(&target->flow);
    for (size_t i = 0; i < FLOW_U64S; i++) {
        if ((tm[i] & ~rm[i]) || ((rf[i] ^ tf[i]) & tm[i])) {
            return false;
        }
    }
    return true;
}

void
classifier_init(struct classifier *cls)
{
    hmap_init(&cls->subtables);
    cls->sorted = NULL;
    cls->n_sorted = 0;
    cls->allocated_sorted = 0;
    ts_list_init(&cls->rules);
    cls->n_rules = 0;
}

void
classifier_destroy(struct classifier *cls)
{
    struct cls_subtable *st;

    if (!cls) {
        return;
    }
    HMAP_FOR_EACH_POP (st, node, &cls->subtables) {
        free(st->slots);
        free(st);
    }
    hmap_destroy(&cls->subtables);
    free(cls->sorted);
    cls->sorted = NULL;
    cls->n_sorted = cls->allocated_sorted = 0;
}

static void
update_max_priority(struct cls_subtable *st)
{
    st->max_priority = INT_MIN;
    for (size_t i = 0; i <= st->slot_mask; i++) {
        const struct cls_rule *head = st->slots[i].head;
        if (head && head->priority > st->max_priority) {
            st->max_priority = head->priority;
        }
    }
}

struct cls_rule *
classifier_replace(struct classifier *cls, struct cls_rule *rule)
{
    struct cls_subtable *st = find_subtable(cls, &rule->match.wc);
    struct cls_rule *head, **prev, *old = NULL;
    struct cls_slot *slot;
    uint32_t hash;

    ts_assert(!rule->subtable);
    if (!st) {
        st = create_subtable(cls, &rule->match.wc);
    }
    hash = subtable_hash(st, &rule->match.flow);
    slot = subtable_find_slot(st, &rule->match.flow, hash);
    head = slot ? slot->head : NULL;

    /* Find the position in the chain: before the first rule of lower or
     * equal priority; an equal priority one is displaced. */
    prev = &head;
    while (*prev && (*prev)->priority > rule->priority) {
        prev = &(*prev)->next;
    }
    if (*prev && (*prev)->priority == rule->priority) {
        old = *prev;
        rule->next = old->next;
    } else {
        rule->next = *prev;
    }
    if (prev == &head) {
        /* 'rule' becomes the chain head. */
        if (slot) {
            slot->head = rule;
            rule->hmap_node.hash = hash;
        } else {
            subtable_insert_head(st, rule, hash);
        }
    } else {
        *prev = rule;
    }
    rule->subtable = st;

    if (old) {
        ts_list_insert(&old->list_node, &rule->list_node);
        ts_list_remove(&old->list_node);
        old->subtable = NULL;
        old->next = NULL;
    } else {
        ts_list_push_back(&cls->rules, &rule->list_node);
        cls->n_rules++;
        st->n_rules++;
    }
    if (rule->priority > st->max_priority) {
        st->max_priority = rule->priority;
        sort_subtables(cls);
    }
    return old;
}

void
classifier_insert(struct classifier *cls, struct cls_rule *rule)
{
    struct cls_rule *old = classifier_replace(cls, rule);

    ts_assert(!old);
}

void
classifier_remove(struct classifier *cls, struct cls_rule *rule)
{
    struct cls_subtable *st = rule->subtable;
    struct cls_rule *head;
    struct cls_slot *slot;
    uint32_t hash;

    ts_assert(st);
    hash = subtable_hash(st, &rule->match.flow);
    slot = subtable_find_slot(st, &rule->match.flow, hash);
    ts_assert(slot);
    head = slot->head;
    if (head == rule) {
        if (rule->next) {
            slot->head = rule->next;
            rule->next->hmap_node.hash = hash;
        } else {
            subtable_remove_slot(st, slot);
        }
    } else {
        struct cls_rule **prev = &head->next;

        while (*prev != rule) {
            ts_assert(*prev);
            prev = &(*prev)->next;
        }
        *prev = rule->next;
    }
    ts_list_remove(&rule->list_node);
    rule->subtable = NULL;
    rule->next = NULL;
    cls->n_rules--;
    if (!--st->n_rules) {
        destroy_subtable(cls, st);
    } else if (rule->priority == st->max_priority) {
        update_max_priority(st);
        sort_subtables(cls);
    }
}

static void
or_subtable_mask(const struct cls_subtable *st, struct flow_wildcards *wc)
{
    const uint64_t *m = flow_u64(&st->mask.masks);
    uint64_t *w = flow_u64_rw(&wc->masks);

    for (unsigned int i = 0; i < st->n_idx; i++) {
        unsigned int idx = st->idx[i];
        w[idx] |= m[idx];
    }
}

const struct cls_rule *
classifier_lookup(const struct classifier *cls, const struct flow *flow,
                  struct flow_wildcards *wc)
{
    const struct cls_rule *best = NULL;

    for (size_t i = 0; i < cls->n_sorted; i++) {
        const struct cls_subtable *st = cls->sorted[i];
        const struct cls_rule *head;

        /* Sorted by max_priority: nothing further can win.  Ties keep the
         * rule found first, so no bits of later subtables matter. */
        if (best && st->max_priority <= best->priority) {
            break;
        }
        if (wc) {
            or_subtable_mask(st, wc);
        }
        head = subtable_find_head(st, flow, subtable_hash(st, flow));
        if (head && (!best || head->priority > best->priority)) {
            best = head;
        }
    }
    return best;
}

const struct cls_rule *
classifier_find_exactly(const struct classifier *cls,
                        const struct match *match, int priority)
{
    struct match m = *match;
    const struct cls_subtable *st;
    const struct cls_rule *rule;

    match_zero_wildcarded_fields(&m);
    st = find_subtable(cls, &m.wc);
    if (!st) {
        return NULL;
    }
    for (rule = subtable_find_head(st, &m.flow,
                                   subtable_hash(st, &m.flow));
         rule; rule = rule->next) {
        if (rule->priority == priority) {
            return rule;
        }
    }
    return NULL;
}

static bool
matches_overlap(const struct match *a, const struct match *b)
{
    const uint64_t *af = flow_u64(&a->flow), *am = flow_u64(&a->wc.masks);
    const uint64_t *bf = flow_u64(&b->flow), *bm = flow_u64(&b->wc.masks);

    for (size_t i = 0; i < FLOW_U64S; i++) {
        if ((af[i] ^ bf[i]) & am[i] & bm[i]) {
            return false;
        }
    }
    return true;
}

bool
classifier_rule_overlaps(const struct classifier *cls,
                         const struct cls_rule *target)
{
    const struct cls_rule *rule;

    TS_LIST_FOR_EACH (rule, list_node, &cls->rules) {
        if (rule != target && rule->priority == target->priority
            && matches_overlap(&rule->match, &target->match)) {
            return true;
        }
    }
    return false;
}

/* Iteration. */

static struct cls_rule *
cursor_advance(struct cls_cursor *c)
{
    while (c->next != &c->cls->rules) {
        struct cls_rule *rule = CONTAINER_OF(c->next, struct cls_rule,
                                             list_node);
        c->next = c->next->next;
        if (cls_rule_is_loose_match(rule, c->target)) {
            return rule;
        }
    }
    return NULL;
}

struct cls_rule *
cls_cursor_first(struct cls_cursor *c, const struct classifier *cls,
                 const struct match *target)
{
    c->cls = cls;
    c->target = target;
    c->next = cls->rules.next;
    return cursor_advance(c);
}

struct cls_rule *
cls_cursor_next(struct cls_cursor *c)
{
    return cursor_advance(c);
}

/* Invariants. */

char *
classifier_check(const struct classifier *cls)
{
    const struct cls_rule *rule;
    size_t n = 0, n_in_subtables = 0;

    for (size_t i = 0; i < cls->n_sorted; i++) {
        const struct cls_subtable *st = cls->sorted[i];
        int max = INT_MIN;
        size_t count = 0, n_heads = 0;

        if (i && cls->sorted[i - 1]->max_priority < st->max_priority) {
            return xasprintf("subtable %zu out of priority order", i);
        }
        if (find_subtable(cls, &st->mask) != st) {
            return xasprintf("subtable %zu not findable by mask", i);
        }
        for (size_t s = 0; s <= st->slot_mask; s++) {
            const struct cls_rule *head = st->slots[s].head;
            if (!head) {
                continue;
            }
            n_heads++;
            if (subtable_find_slot(st, &head->match.flow,
                                   st->slots[s].hash) != &st->slots[s]) {
                return xasprintf("chain head not findable in index");
            }
            for (const struct cls_rule *r = head; r; r = r->next) {
                if (r->subtable != st) {
                    return xasprintf("rule in wrong subtable");
                }
                if (r->next && r->next->priority >= r->priority) {
                    return xasprintf("chain not in descending priority");
                }
                if (!flow_equal(&r->match.wc.masks, &st->mask.masks)) {
                    return xasprintf("rule mask differs from subtable's");
                }
                if (r != head && !match_equal(&r->match, &head->match)) {
                    return xasprintf("chain holds different matches");
                }
                max = MAX(max, r->priority);
                count++;
            }
            if (st->slots[s].hash != subtable_hash(st, &head->match.flow)) {
                return xasprintf("chain head has a stale hash");
            }
        }
        if (n_heads != st->n_heads || n_heads * 2 > st->slot_mask + 1) {
            return xasprintf("subtable %zu index counts are wrong", i);
        }
        if (count != st->n_rules || !count) {
            return xasprintf("subtable %zu holds %zu rules, counts %zu", i,
                             count, st->n_rules);
        }
        if (max != st->max_priority) {
            return xasprintf("subtable %zu max priority %d, should be %d",
                             i, st->max_priority, max);
        }
        n_in_subtables += count;
    }
    if (cls->n_sorted != hmap_count(&cls->subtables)) {
        return xasprintf("sorted array and subtable map disagree");
    }
    TS_LIST_FOR_EACH (rule, list_node, &cls->rules) {
        struct match m = rule->match;

        match_zero_wildcarded_fields(&m);
        if (!match_equal(&m, &rule->match)) {
            return xasprintf("rule match not normalized");
        }
        if (classifier_find_exactly(cls, &rule->match, rule->priority)
            != rule) {
            return xasprintf("rule not findable exactly");
        }
        n++;
    }
    if (n != cls->n_rules || n != n_in_subtables) {
        return xasprintf("rule counts disagree: list %zu, count %zu, "
                         "subtables %zu", n, cls->n_rules, n_in_subtables);
    }
    return NULL;
}
