/* classifier: tuple space search with priority-sorted subtables, staged
 * lookup and a per-subtable max-heap of priorities. */
#include "classifier.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include "hash.h"
#include "util.h"

/* Lookup stages, as the first 64-bit word of struct flow each one starts
 * at: metadata and conntrack, L2, L3, L4.  Any partition of the words is
 * sound; this one follows the order in which packets usually diverge.  A
 * word that straddles two layers belongs to the later stage. */
enum { CLS_MAX_STAGES = 4 };
static const unsigned int stage_starts[CLS_MAX_STAGES] = {
    0,
    offsetof(struct flow, dl_dst) / 8,
    offsetof(struct flow, ipv6_src) / 8,
    offsetof(struct flow, tcp_flags) / 8,
};

/* One slot of an open-addressing index (linear probing, at most half
 * full, backward-shift deletion so that probes need no tombstones).  Slots
 * are 8 bytes; the main index keeps a parallel array of entries, so that a
 * probe touches a small footprint and reads an entry only when the hash
 * matches.  The key is not copied into the entry: it points to the packed
 * flow words of the head rule's minimatch (which are exactly the
 * subtable's masked key words), so a hash match costs one more read but
 * the index stays small (24 bytes per slot). */
struct cls_slot {
    uint32_t hash;
    uint32_t count;             /* 0: empty slot */
};

/* Main index entry: a chain and its key, the subtable's mask words only
 * (key[i] is word idx[i] of the rules' normalized flow).  Invariant:
 * 'key' is minimatch_flow_words() of 'head' and 'priority' is
 * head->priority; entry_set_head() keeps both. */
struct cls_entry {
    struct cls_rule *head;      /* highest priority rule of the chain */
    int priority;               /* head->priority */
    uint32_t pad;
    const uint64_t *key;        /* n_idx words, owned by 'head' */
};

static inline void
entry_set_head(struct cls_entry *e, struct cls_rule *head)
{
    e->head = head;
    e->priority = head->priority;
    e->key = minimatch_flow_words(&head->match);
}

/* Main index: 'count' is the chain length and entry i describes the chain
 * of slots[i].  Stage index: no entries; 'count' is the number of rules
 * whose masked key up to the stage hashes to 'hash' (different prefixes
 * that collide share a slot, which only costs a wasted look at the next
 * stage). */
struct cls_index {
    struct cls_slot *slots;     /* 'mask + 1' slots */
    char *entries;              /* 'mask + 1' entries of 'stride' bytes */
    size_t stride;              /* 0: no entries (stage index) */
    size_t mask;
    size_t n;                   /* occupied slots */
};

/* A distinct priority in a subtable and how many of its rules have it. */
struct cls_prio {
    struct hmap_node node;      /* in subtable's 'prios', by priority */
    int priority;
    uint32_t count;
    size_t pos;                 /* index in subtable's 'heap' */
};

/* All rules whose match has exactly this mask. */
struct cls_subtable {
    /* Read by every lookup. */
    int max_priority;           /* heap[0]'s priority, INT_MIN if empty */
    uint8_t n_idx;              /* words of 'mask' that are non-zero */
    uint8_t n_stages;           /* >= 1 */
    uint8_t stage_end[CLS_MAX_STAGES]; /* stage s: idx[end[s-1]..end[s]) */
    struct cls_index index;     /* chains, by hash of the whole key */
    struct cls_index stages[CLS_MAX_STAGES - 1]; /* prefix hashes */
    uint64_t map;               /* bit idx[i] set for each i */
    uint8_t idx[FLOW_U64S];     /* ascending */
    uint64_t mask_words[FLOW_U64S]; /* mask word of idx[i] */

    /* Bookkeeping. */
    struct hmap_node node;      /* in classifier's 'subtables' */
    size_t sorted_pos;          /* index in classifier's 'sorted' */
    size_t n_rules;             /* rules, counting whole chains */
    struct hmap prios;          /* struct cls_prio, by priority */
    struct cls_prio **heap;     /* max-heap on priority */
    size_t n_heap;
    size_t allocated_heap;
    struct flow_wildcards mask;
};

BUILD_ASSERT(FLOW_U64S <= UINT8_MAX);

/* Hashing.  One add and one multiply per word; the finish folds the high
 * half down before a final multiply, so keys that differ only in the top
 * bits of a word still spread over the low bits that pick a slot. */

static inline uint64_t
cls_mix(uint64_t acc, uint64_t word)
{
    return (acc + word) * UINT64_C(0x9e3779b97f4a7c15);
}

static inline uint32_t
cls_finish(uint64_t acc)
{
    acc ^= acc >> 29;
    return (acc * UINT64_C(0xd6e8feb86659fd93)) >> 32;
}

static uint32_t
mask_hash(const struct flow_wildcards *wc)
{
    const uint64_t *m = flow_u64(&wc->masks);
    uint64_t acc = 0;

    for (size_t i = 0; i < FLOW_U64S; i++) {
        acc = cls_mix(acc, m[i]);
    }
    return cls_finish(acc);
}

/* Same as mask_hash() for the mask of 'mm'. */
static uint32_t
minimatch_mask_hash(const struct minimatch *mm)
{
    const uint64_t *mw = minimatch_mask_words(mm);
    uint64_t acc = 0;
    unsigned int k = 0;

    for (size_t i = 0; i < FLOW_U64S; i++) {
        acc = cls_mix(acc, (mm->map >> i) & 1 ? mw[k++] : 0);
    }
    return cls_finish(acc);
}

/* Like subtable_hashes() for a key given as the subtable's packed words
 * (key[i] is word idx[i] of a flow, already masked), as a rule's
 * minimatch holds them. */
static void
subtable_hashes_packed(const struct cls_subtable *st, const uint64_t *key,
                       uint32_t hashes[CLS_MAX_STAGES])
{
    uint64_t acc = 0;
    unsigned int i = 0;

    for (unsigned int s = 0; s < st->n_stages; s++) {
        for (; i < st->stage_end[s]; i++) {
            acc = cls_mix(acc, key[i]);
        }
        hashes[s] = cls_finish(acc);
    }
}

/* Fills 'hashes[s]' with the hash of (flow & mask) over stages 0..s.
 * hashes[n_stages - 1] is the hash of the whole masked key. */
static void
subtable_hashes(const struct cls_subtable *st, const uint64_t *f,
                uint32_t hashes[CLS_MAX_STAGES])
{
    uint64_t acc = 0;
    unsigned int i = 0;

    for (unsigned int s = 0; s < st->n_stages; s++) {
        for (; i < st->stage_end[s]; i++) {
            acc = cls_mix(acc, f[st->idx[i]] & st->mask_words[i]);
        }
        hashes[s] = cls_finish(acc);
    }
}

/* True if 'f' masked by the subtable's mask equals the key of 'e'. */
static inline bool
subtable_key_equal(const struct cls_subtable *st, const struct cls_entry *e,
                   const uint64_t *f)
{
    for (unsigned int i = 0; i < st->n_idx; i++) {
        if ((f[st->idx[i]] & st->mask_words[i]) != e->key[i]) {
            return false;
        }
    }
    return true;
}

/* Open-addressing index. */

static void
index_init(struct cls_index *ix, size_t stride)
{
    ix->mask = 7;
    ix->slots = xcalloc(ix->mask + 1, sizeof *ix->slots);
    ix->stride = stride;
    ix->entries = stride ? xcalloc(ix->mask + 1, stride) : NULL;
    ix->n = 0;
}

static void
index_release(struct cls_index *ix)
{
    free(ix->slots);
    free(ix->entries);
}

static inline struct cls_entry *
index_entry(const struct cls_index *ix, size_t pos)
{
    return (struct cls_entry *) (ix->entries + pos * ix->stride);
}

/* The entry of 'slot' in the main index 'ix'. */
static inline struct cls_entry *
slot_entry(const struct cls_index *ix, const struct cls_slot *slot)
{
    return index_entry(ix, slot - ix->slots);
}

static void
index_rehash(struct cls_index *ix, size_t new_mask)
{
    struct cls_slot *slots = xcalloc(new_mask + 1, sizeof *slots);
    char *entries = ix->stride ? xcalloc(new_mask + 1, ix->stride) : NULL;

    for (size_t i = 0; i <= ix->mask; i++) {
        if (ix->slots[i].count) {
            size_t j = ix->slots[i].hash & new_mask;

            while (slots[j].count) {
                j = (j + 1) & new_mask;
            }
            slots[j] = ix->slots[i];
            if (entries) {
                memcpy(entries + j * ix->stride, index_entry(ix, i),
                       ix->stride);
            }
        }
    }
    free(ix->slots);
    free(ix->entries);
    ix->slots = slots;
    ix->entries = entries;
    ix->mask = new_mask;
}

/* Claims an empty slot for 'hash' and returns it with count 0 (and a
 * zeroed entry): the caller must set 'count' (and fill the entry) before
 * the index is used again.  May move every slot. */
static struct cls_slot *
index_add(struct cls_index *ix, uint32_t hash)
{
    size_t i;

    if ((ix->n + 1) * 2 > ix->mask + 1) {
        index_rehash(ix, ix->mask * 2 + 1);
    }
    for (i = hash & ix->mask; ix->slots[i].count; i = (i + 1) & ix->mask) {
        continue;
    }
    ix->n++;
    ix->slots[i].hash = hash;
    return &ix->slots[i];
}

/* Empties 'slot' with backward shift, then shrinks the index when it is
 * under 1/8 full (to 1/4 of its size: under 1/2 full, so a resize in
 * either direction needs a number of operations proportional to the
 * count first).  May move every slot. */
static void
index_delete(struct cls_index *ix, struct cls_slot *slot)
{
    size_t mask = ix->mask;
    size_t i = slot - ix->slots, j = i;

    ix->slots[i].count = 0;
    if (ix->stride) {
        memset(index_entry(ix, i), 0, ix->stride);
    }
    for (;;) {
        size_t k;

        j = (j + 1) & mask;
        if (!ix->slots[j].count) {
            break;
        }
        k = ix->slots[j].hash & mask;
        /* Move j back to i unless its home k lies cyclically in (i, j]. */
        if (i <= j ? (i < k && k <= j) : (i < k || k <= j)) {
            continue;
        }
        ix->slots[i] = ix->slots[j];
        ix->slots[j].count = 0;
        if (ix->stride) {
            memcpy(index_entry(ix, i), index_entry(ix, j), ix->stride);
            memset(index_entry(ix, j), 0, ix->stride);
        }
        i = j;
    }
    ix->n--;
    if (ix->mask > 7 && ix->n * 8 < ix->mask + 1) {
        index_rehash(ix, (ix->mask + 1) / 4 - 1);
    }
}

/* Stage index: the slot counting 'hash', or NULL. */
static inline struct cls_slot *
stage_find(const struct cls_index *ix, uint32_t hash)
{
    for (size_t i = hash & ix->mask; ix->slots[i].count;
         i = (i + 1) & ix->mask) {
        if (ix->slots[i].hash == hash) {
            return &ix->slots[i];
        }
    }
    return NULL;
}

static void
stage_add(struct cls_index *ix, uint32_t hash)
{
    struct cls_slot *slot = stage_find(ix, hash);

    if (!slot) {
        slot = index_add(ix, hash);
    }
    slot->count++;
}

static void
stage_sub(struct cls_index *ix, uint32_t hash)
{
    struct cls_slot *slot = stage_find(ix, hash);

    ts_assert(slot);
    if (!--slot->count) {
        index_delete(ix, slot);
    }
}

/* Main index: the slot holding the chain for key 'f', or NULL. */
static inline struct cls_slot *
subtable_find_slot(const struct cls_subtable *st, const uint64_t *f,
                   uint32_t hash)
{
    const struct cls_index *ix = &st->index;

    for (size_t i = hash & ix->mask; ix->slots[i].count;
         i = (i + 1) & ix->mask) {
        if (ix->slots[i].hash == hash
            && subtable_key_equal(st, index_entry(ix, i), f)) {
            return &ix->slots[i];
        }
    }
    return NULL;
}

/* Main index: the slot holding the chain for packed key 'key', or
 * NULL. */
static struct cls_slot *
subtable_find_slot_packed(const struct cls_subtable *st, const uint64_t *key,
                          uint32_t hash)
{
    const struct cls_index *ix = &st->index;

    for (size_t i = hash & ix->mask; ix->slots[i].count;
         i = (i + 1) & ix->mask) {
        if (ix->slots[i].hash == hash
            && (!st->n_idx
                || !memcmp(index_entry(ix, i)->key, key,
                           st->n_idx * sizeof *key))) {
            return &ix->slots[i];
        }
    }
    return NULL;
}

/* Priority heap. */

static struct cls_prio *
prio_find(const struct cls_subtable *st, int priority)
{
    struct cls_prio *p;

    HMAP_FOR_EACH_WITH_HASH (p, node, hash_int(priority, 0), &st->prios) {
        if (p->priority == priority) {
            return p;
        }
    }
    return NULL;
}

static void
heap_set(struct cls_subtable *st, size_t pos, struct cls_prio *p)
{
    st->heap[pos] = p;
    p->pos = pos;
}

static void
heap_sift_up(struct cls_subtable *st, size_t pos)
{
    struct cls_prio *p = st->heap[pos];

    while (pos > 0) {
        size_t parent = (pos - 1) / 2;

        if (st->heap[parent]->priority >= p->priority) {
            break;
        }
        heap_set(st, pos, st->heap[parent]);
        pos = parent;
    }
    heap_set(st, pos, p);
}

static void
heap_sift_down(struct cls_subtable *st, size_t pos)
{
    struct cls_prio *p = st->heap[pos];

    for (;;) {
        size_t child = 2 * pos + 1;

        if (child >= st->n_heap) {
            break;
        }
        if (child + 1 < st->n_heap
            && st->heap[child + 1]->priority > st->heap[child]->priority) {
            child++;
        }
        if (st->heap[child]->priority <= p->priority) {
            break;
        }
        heap_set(st, pos, st->heap[child]);
        pos = child;
    }
    heap_set(st, pos, p);
}

static void
update_max_priority(struct cls_subtable *st)
{
    st->max_priority = st->n_heap ? st->heap[0]->priority : INT_MIN;
}

static void
prio_add(struct cls_subtable *st, int priority)
{
    struct cls_prio *p = prio_find(st, priority);

    if (p) {
        p->count++;
        return;
    }
    p = xmalloc(sizeof *p);
    p->priority = priority;
    p->count = 1;
    hmap_insert(&st->prios, &p->node, hash_int(priority, 0));
    if (st->n_heap == st->allocated_heap) {
        st->allocated_heap = st->allocated_heap * 2 + 4;
        st->heap = xrealloc(st->heap, st->allocated_heap * sizeof *st->heap);
    }
    heap_set(st, st->n_heap++, p);
    heap_sift_up(st, p->pos);
    update_max_priority(st);
}

static void
prio_sub(struct cls_subtable *st, int priority)
{
    struct cls_prio *p = prio_find(st, priority);
    struct cls_prio *last;

    ts_assert(p);
    if (--p->count) {
        return;
    }
    last = st->heap[--st->n_heap];
    if (last != p) {
        heap_set(st, p->pos, last);
        heap_sift_down(st, last->pos);
        heap_sift_up(st, last->pos);
    }
    hmap_remove(&st->prios, &p->node);
    free(p);
    update_max_priority(st);
}

/* Subtable bookkeeping. */

static struct cls_subtable *
find_subtable(const struct classifier *cls, const struct flow_wildcards *wc)
{
    struct cls_subtable *st;

    HMAP_FOR_EACH_WITH_HASH (st, node, mask_hash(wc), &cls->subtables) {
        if (flow_equal(&st->mask.masks, &wc->masks)) {
            return st;
        }
    }
    return NULL;
}

/* The subtable whose mask is the mask of 'mm', or NULL. */
static struct cls_subtable *
find_subtable_mm(const struct classifier *cls, const struct minimatch *mm)
{
    const uint64_t *mw = minimatch_mask_words(mm);
    unsigned int n = minimatch_n_words(mm);
    struct cls_subtable *st;

    HMAP_FOR_EACH_WITH_HASH (st, node, minimatch_mask_hash(mm),
                             &cls->subtables) {
        if (st->map == mm->map
            && (!n || !memcmp(st->mask_words, mw, n * sizeof *mw))) {
            return st;
        }
    }
    return NULL;
}

static void
sorted_set(struct classifier *cls, size_t pos, struct cls_subtable *st)
{
    cls->sorted[pos] = st;
    st->sorted_pos = pos;
}

/* Moves 'st', whose max_priority changed, to its place in the sorted
 * array (descending max_priority; among equals, a subtable that moves
 * goes after the others, which keeps the order a pure function of the
 * sequence of operations). */
static void
resort_subtable(struct classifier *cls, struct cls_subtable *st)
{
    size_t pos = st->sorted_pos;

    while (pos > 0 && cls->sorted[pos - 1]->max_priority < st->max_priority) {
        sorted_set(cls, pos, cls->sorted[pos - 1]);
        pos--;
    }
    while (pos + 1 < cls->n_sorted
           && cls->sorted[pos + 1]->max_priority >= st->max_priority) {
        sorted_set(cls, pos, cls->sorted[pos + 1]);
        pos++;
    }
    sorted_set(cls, pos, st);
}

static void
init_stages(struct cls_subtable *st)
{
    unsigned int i = 0;

    st->n_stages = 0;
    for (unsigned int s = 0; s < CLS_MAX_STAGES; s++) {
        unsigned int limit = s + 1 < CLS_MAX_STAGES ? stage_starts[s + 1]
                                                     : FLOW_U64S;
        unsigned int start = i;

        while (i < st->n_idx && st->idx[i] < limit) {
            i++;
        }
        if (i > start) {
            st->stage_end[st->n_stages++] = i;
        }
    }
    if (!st->n_stages) {
        st->stage_end[st->n_stages++] = 0;   /* catch-all */
    }
    for (unsigned int s = 0; s + 1 < st->n_stages; s++) {
        index_init(&st->stages[s], 0);
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
            st->mask_words[st->n_idx] = m[i];
            st->idx[st->n_idx++] = i;
            st->map |= UINT64_C(1) << i;
        }
    }
    init_stages(st);
    index_init(&st->index, sizeof(struct cls_entry));
    hmap_init(&st->prios);
    st->max_priority = INT_MIN;
    hmap_insert(&cls->subtables, &st->node, mask_hash(wc));
    if (cls->n_sorted == cls->allocated_sorted) {
        cls->allocated_sorted = cls->allocated_sorted * 2 + 8;
        cls->sorted = xrealloc(cls->sorted, cls->allocated_sorted
                                            * sizeof *cls->sorted);
    }
    sorted_set(cls, cls->n_sorted++, st);
    return st;
}

static void
free_subtable(struct cls_subtable *st)
{
    struct cls_prio *p;

    HMAP_FOR_EACH_POP (p, node, &st->prios) {
        free(p);
    }
    hmap_destroy(&st->prios);
    free(st->heap);
    for (unsigned int s = 0; s + 1 < st->n_stages; s++) {
        index_release(&st->stages[s]);
    }
    index_release(&st->index);
    free(st);
}

static void
destroy_subtable(struct classifier *cls, struct cls_subtable *st)
{
    for (size_t i = st->sorted_pos + 1; i < cls->n_sorted; i++) {
        sorted_set(cls, i - 1, cls->sorted[i]);
    }
    cls->n_sorted--;
    hmap_remove(&cls->subtables, &st->node);
    free_subtable(st);
}

/* Rules. */

/* Everything but the match. */
static void
cls_rule_init__(struct cls_rule *rule, int priority)
{
    memset(rule, 0, sizeof *rule);
    rule->priority = priority;
    rule->subtable = NULL;
    rule->next = NULL;
    ts_list_init(&rule->list_node);
}

void
cls_rule_init(struct cls_rule *rule, const struct match *match,
              int priority)
{
    cls_rule_init__(rule, priority);
    minimatch_init(&rule->match, match);
    rule->match_in_caller_storage = false;
}

void
cls_rule_init_in(struct cls_rule *rule, const struct match *match,
                 int priority, uint64_t *storage)
{
    cls_rule_init__(rule, priority);
    minimatch_init_in(&rule->match, match, storage);
    rule->match_in_caller_storage = true;
}

void
cls_rule_destroy(struct cls_rule *rule)
{
    if (rule) {
        ts_assert(!rule->subtable);
        if (!rule->match_in_caller_storage) {
            minimatch_destroy(&rule->match);
        }
    }
}

bool
cls_rule_equal(const struct cls_rule *a, const struct cls_rule *b)
{
    return a->priority == b->priority
           && minimatch_equal(&a->match, &b->match);
}

bool
cls_rule_is_loose_match(const struct cls_rule *rule,
                        const struct match *target)
{
    return minimatch_is_loose_match(&rule->match, target);
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
        free_subtable(st);
    }
    hmap_destroy(&cls->subtables);
    free(cls->sorted);
    cls->sorted = NULL;
    cls->n_sorted = cls->allocated_sorted = 0;
}

struct cls_rule *
classifier_replace(struct classifier *cls, struct cls_rule *rule)
{
    struct cls_subtable *st = find_subtable_mm(cls, &rule->match);
    const uint64_t *key = minimatch_flow_words(&rule->match);
    uint32_t hashes[CLS_MAX_STAGES];
    struct cls_rule *old = NULL;
    struct cls_entry *e;
    struct cls_slot *slot;
    int old_max;

    ts_assert(!rule->subtable);
    if (!st) {
        struct flow_wildcards wc;

        minimatch_expand_mask(&rule->match, &wc);
        st = create_subtable(cls, &wc);
    }
    subtable_hashes_packed(st, key, hashes);
    slot = subtable_find_slot_packed(st, key, hashes[st->n_stages - 1]);
    if (!slot) {
        slot = index_add(&st->index, hashes[st->n_stages - 1]);
        slot->count = 1;
        e = slot_entry(&st->index, slot);
        rule->next = NULL;
        entry_set_head(e, rule);
    } else {
        /* Before the first rule of lower or equal priority; an equal
         * priority one is displaced. */
        struct cls_rule **prev;

        e = slot_entry(&st->index, slot);
        prev = &e->head;
        while (*prev && (*prev)->priority > rule->priority) {
            prev = &(*prev)->next;
        }
        if (*prev && (*prev)->priority == rule->priority) {
            old = *prev;
            rule->next = old->next;
        } else {
            rule->next = *prev;
            slot->count++;
        }
        *prev = rule;
        entry_set_head(e, e->head);
    }
    rule->subtable = st;

    if (old) {
        ts_list_insert(&old->list_node, &rule->list_node);
        ts_list_remove(&old->list_node);
        old->subtable = NULL;
        old->next = NULL;
        return old;
    }
    ts_list_push_back(&cls->rules, &rule->list_node);
    cls->n_rules++;
    st->n_rules++;
    for (unsigned int s = 0; s + 1 < st->n_stages; s++) {
        stage_add(&st->stages[s], hashes[s]);
    }
    old_max = st->max_priority;
    prio_add(st, rule->priority);
    if (st->max_priority != old_max) {
        resort_subtable(cls, st);
    }
    return NULL;
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
    const uint64_t *key = minimatch_flow_words(&rule->match);
    uint32_t hashes[CLS_MAX_STAGES];
    struct cls_rule **prev;
    struct cls_entry *e;
    struct cls_slot *slot;
    int old_max;

    ts_assert(st);
    subtable_hashes_packed(st, key, hashes);
    slot = subtable_find_slot_packed(st, key, hashes[st->n_stages - 1]);
    ts_assert(slot);
    e = slot_entry(&st->index, slot);
    for (prev = &e->head; *prev != rule; prev = &(*prev)->next) {
        ts_assert(*prev);
    }
    *prev = rule->next;
    if (!--slot->count) {
        index_delete(&st->index, slot);
    } else {
        entry_set_head(e, e->head);
    }
    ts_list_remove(&rule->list_node);
    rule->subtable = NULL;
    rule->next = NULL;
    cls->n_rules--;
    if (!--st->n_rules) {
        destroy_subtable(cls, st);
        return;
    }
    for (unsigned int s = 0; s + 1 < st->n_stages; s++) {
        stage_sub(&st->stages[s], hashes[s]);
    }
    old_max = st->max_priority;
    prio_sub(st, rule->priority);
    if (st->max_priority != old_max) {
        resort_subtable(cls, st);
    }
}

/* Lookup. */

/* ORs the mask words idx[0..n) of 'st' into 'wc' (if non-NULL). */
static inline void
or_mask_words(const struct cls_subtable *st, unsigned int n,
              struct flow_wildcards *wc)
{
    if (wc) {
        uint64_t *w = flow_u64_rw(&wc->masks);

        for (unsigned int i = 0; i < n; i++) {
            w[st->idx[i]] |= st->mask_words[i];
        }
    }
}

/* The entry of the chain matching 'f' in 'st', or NULL.  Stops at the
 * first stage whose prefix no rule has, and un-wildcards only the stages
 * it hashed: every flow agreeing with 'f' on them hashes alike and stops
 * there too. */
static inline const struct cls_entry *
subtable_lookup(const struct cls_subtable *st, const uint64_t *f,
                struct flow_wildcards *wc)
{
    const struct cls_slot *slot;
    unsigned int i = 0, s = 0;
    uint64_t acc = 0;
    uint32_t hash;

    for (;;) {
        for (; i < st->stage_end[s]; i++) {
            acc = cls_mix(acc, f[st->idx[i]] & st->mask_words[i]);
        }
        hash = cls_finish(acc);
        if (++s == st->n_stages) {
            break;
        }
        if (!stage_find(&st->stages[s - 1], hash)) {
            or_mask_words(st, i, wc);
            return NULL;
        }
    }
    or_mask_words(st, st->n_idx, wc);
    slot = subtable_find_slot(st, f, hash);
    return slot ? slot_entry(&st->index, slot) : NULL;
}

const struct cls_rule *
classifier_lookup(const struct classifier *cls, const struct flow *flow,
                  struct flow_wildcards *wc)
{
    const uint64_t *f = flow_u64(flow);
    const struct cls_entry *best = NULL;

    for (size_t i = 0; i < cls->n_sorted; i++) {
        const struct cls_subtable *st = cls->sorted[i];
        const struct cls_entry *e;

        /* Sorted by max_priority: nothing further can win.  Ties keep the
         * rule found first, so no bits of later subtables matter. */
        if (best && st->max_priority <= best->priority) {
            break;
        }
        e = subtable_lookup(st, f, wc);
        if (e && (!best || e->priority > best->priority)) {
            best = e;
        }
    }
    return best ? best->head : NULL;
}

const struct cls_rule *
classifier_find_exactly(const struct classifier *cls,
                        const struct match *match, int priority)
{
    uint32_t hashes[CLS_MAX_STAGES];
    const struct cls_subtable *st;
    const struct cls_rule *rule;
    const struct cls_slot *slot;
    struct match m = *match;

    match_zero_wildcarded_fields(&m);
    st = find_subtable(cls, &m.wc);
    if (!st) {
        return NULL;
    }
    subtable_hashes(st, flow_u64(&m.flow), hashes);
    slot = subtable_find_slot(st, flow_u64(&m.flow),
                              hashes[st->n_stages - 1]);
    for (rule = slot ? slot_entry(&st->index, slot)->head : NULL; rule;
         rule = rule->next) {
        if (rule->priority <= priority) {
            return rule->priority == priority ? rule : NULL;
        }
    }
    return NULL;
}

/* Overlap checks. */

/* True if some packet matches both 'rule' (in 'st') and 'target': they
 * agree on every bit both match.  'rule' matches nothing outside the
 * subtable's words. */
static bool
rule_overlaps(const struct cls_subtable *st, const struct cls_rule *rule,
              const struct match *target)
{
    const uint64_t *rf = minimatch_flow_words(&rule->match);
    const uint64_t *tf = flow_u64(&target->flow);
    const uint64_t *tm = flow_u64(&target->wc.masks);

    for (unsigned int i = 0; i < st->n_idx; i++) {
        unsigned int w = st->idx[i];

        if ((rf[i] ^ tf[w]) & tm[w] & st->mask_words[i]) {
            return false;
        }
    }
    return true;
}

/* The rule of 'priority' in the chain at 'head', or NULL. */
static const struct cls_rule *
chain_find_priority(const struct cls_rule *head, int priority)
{
    for (; head && head->priority >= priority; head = head->next) {
        if (head->priority == priority) {
            return head;
        }
    }
    return NULL;
}

static bool
subtable_overlaps(const struct cls_subtable *st,
                  const struct cls_rule *target, const struct match *tmatch)
{
    const uint64_t *tm = flow_u64(&tmatch->wc.masks);
    const struct cls_rule *r;
    bool covers = true;

    for (unsigned int i = 0; i < st->n_idx; i++) {
        if (~tm[st->idx[i]] & st->mask_words[i]) {
            covers = false;
            break;
        }
    }
    if (covers) {
        /* Every rule here that overlaps 'target' has the key of 'target'
         * masked by the subtable's mask: one chain to look at. */
        const uint64_t *tf = flow_u64(&tmatch->flow);
        uint32_t hashes[CLS_MAX_STAGES];
        const struct cls_slot *slot;

        subtable_hashes(st, tf, hashes);
        slot = subtable_find_slot(st, tf, hashes[st->n_stages - 1]);
        r = (slot
             ? chain_find_priority(slot_entry(&st->index, slot)->head,
                                   target->priority)
             : NULL);
        return r && r != target;
    }
    for (size_t i = 0; i <= st->index.mask; i++) {
        if (st->index.slots[i].count) {
            r = chain_find_priority(index_entry(&st->index, i)->head,
                                    target->priority);
            if (r && r != target && rule_overlaps(st, r, tmatch)) {
                return true;
            }
        }
    }
    return false;
}

bool
classifier_rule_overlaps(const struct classifier *cls,
                         const struct cls_rule *target)
{
    struct match tmatch;

    minimatch_expand(&target->match, &tmatch);
    for (size_t i = 0; i < cls->n_sorted; i++) {
        const struct cls_subtable *st = cls->sorted[i];

        if (st->max_priority < target->priority) {
            break;
        }
        if (prio_find(st, target->priority)
            && subtable_overlaps(st, target, &tmatch)) {
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

static char *
check_subtable_layout(const struct cls_subtable *st)
{
    const uint64_t *m = flow_u64(&st->mask.masks);
    unsigned int n = 0;

    for (size_t w = 0; w < FLOW_U64S; w++) {
        if (m[w]) {
            if (n >= st->n_idx || st->idx[n] != w
                || st->mask_words[n] != m[w]) {
                return xasprintf("subtable word list disagrees with mask");
            }
            n++;
        }
    }
    if (n != st->n_idx || !st->n_stages || st->n_stages > CLS_MAX_STAGES
        || st->stage_end[st->n_stages - 1] != st->n_idx) {
        return xasprintf("subtable stages do not cover its words");
    }
    return NULL;
}

static char *
check_index_shape(const struct cls_index *ix, const char *what)
{
    size_t n = 0;

    for (size_t i = 0; i <= ix->mask; i++) {
        if (ix->slots[i].count) {
            /* Reachable from its home slot without crossing an empty. */
            for (size_t j = ix->slots[i].hash & ix->mask; j != i;
                 j = (j + 1) & ix->mask) {
                if (!ix->slots[j].count) {
                    return xasprintf("%s index slot unreachable", what);
                }
            }
            n++;
        } else if (ix->stride && index_entry(ix, i)->head) {
            return xasprintf("%s index: empty slot with a head", what);
        }
    }
    if (n != ix->n || n * 2 > ix->mask + 1) {
        return xasprintf("%s index counts are wrong", what);
    }
    return NULL;
}

/* Recounts every stage index of 'st' from its rules. */
static char *
check_stages(const struct cls_subtable *st)
{
    for (unsigned int s = 0; s + 1 < st->n_stages; s++) {
        const struct cls_index *ix = &st->stages[s];
        uint32_t *counts = xcalloc(ix->mask + 1, sizeof *counts);
        char *error = check_index_shape(ix, "stage");

        for (size_t i = 0; !error && i <= st->index.mask; i++) {
            const struct cls_rule *r;

            for (r = index_entry(&st->index, i)->head; r && !error;
                 r = r->next) {
                uint32_t hashes[CLS_MAX_STAGES];
                const struct cls_slot *slot;

                subtable_hashes_packed(st, minimatch_flow_words(&r->match),
                                       hashes);
                slot = stage_find(ix, hashes[s]);
                if (!slot) {
                    error = xasprintf("rule prefix missing from stage %u",
                                      s);
                } else {
                    counts[slot - ix->slots]++;
                }
            }
        }
        for (size_t i = 0; !error && i <= ix->mask; i++) {
            if (counts[i] != ix->slots[i].count) {
                error = xasprintf("stage %u count %u, should be %u", s,
                                  ix->slots[i].count, counts[i]);
            }
        }
        free(counts);
        if (error) {
            return error;
        }
    }
    return NULL;
}

/* Heap order, positions, and counts recounted from the rules. */
static char *
check_prios(const struct cls_subtable *st)
{
    uint32_t *counts = xcalloc(st->n_heap + 1, sizeof *counts);
    char *error = NULL;

    if (hmap_count(&st->prios) != st->n_heap) {
        error = xasprintf("priority map and heap disagree");
    }
    for (size_t i = 0; !error && i < st->n_heap; i++) {
        const struct cls_prio *p = st->heap[i];

        if (p->pos != i || prio_find(st, p->priority) != p || !p->count) {
            error = xasprintf("priority heap entry %zu is stale", i);
        } else if (i && st->heap[(i - 1) / 2]->priority < p->priority) {
            error = xasprintf("priority heap out of order");
        }
    }
    for (size_t i = 0; !error && i <= st->index.mask; i++) {
        for (const struct cls_rule *r = index_entry(&st->index, i)->head; r;
             r = r->next) {
            const struct cls_prio *p = prio_find(st, r->priority);

            if (!p) {
                error = xasprintf("rule priority %d not counted",
                                  r->priority);
                break;
            }
            counts[p->pos]++;
        }
    }
    for (size_t i = 0; !error && i < st->n_heap; i++) {
        if (counts[i] != st->heap[i]->count) {
            error = xasprintf("priority %d counts %u rules, has %u",
                              st->heap[i]->priority, st->heap[i]->count,
                              counts[i]);
        }
    }
    if (!error
        && st->max_priority != (st->n_heap ? st->heap[0]->priority
                                           : INT_MIN)) {
        error = xasprintf("subtable max priority is stale");
    }
    free(counts);
    return error;
}

static char *
check_chains(const struct cls_subtable *st, size_t *countp)
{
    const struct cls_index *ix = &st->index;
    size_t count = 0;
    char *error = check_index_shape(ix, "main");

    if (error) {
        return error;
    }
    for (size_t s = 0; s <= ix->mask; s++) {
        const struct cls_entry *e = index_entry(ix, s);
        const struct cls_rule *head = e->head;
        uint32_t hashes[CLS_MAX_STAGES];
        size_t len = 0;

        if (!ix->slots[s].count) {
            continue;
        }
        if (!head || e->priority != head->priority) {
            return xasprintf("index entry has a stale head priority");
        }
        if (e->key != minimatch_flow_words(&head->match)) {
            return xasprintf("index entry key is not its head's");
        }
        struct flow hf;

        if (head->match.map != st->map) {
            return xasprintf("chain head mask differs from subtable's");
        }
        minimatch_expand_flow(&head->match, &hf);
        for (unsigned int i = 0; i < st->n_idx; i++) {
            if (e->key[i] != flow_u64(&hf)[st->idx[i]]) {
                return xasprintf("index entry has a stale key");
            }
        }
        subtable_hashes(st, flow_u64(&hf), hashes);
        if (ix->slots[s].hash != hashes[st->n_stages - 1]) {
            return xasprintf("chain head has a stale hash");
        }
        if (subtable_find_slot(st, flow_u64(&hf), ix->slots[s].hash)
            != &ix->slots[s]) {
            return xasprintf("chain head not findable in index");
        }
        for (const struct cls_rule *r = head; r; r = r->next) {
            if (r->subtable != st) {
                return xasprintf("rule in wrong subtable");
            }
            if (r->next && r->next->priority >= r->priority) {
                return xasprintf("chain not in descending priority");
            }
            struct flow_wildcards rw;

            minimatch_expand_mask(&r->match, &rw);
            if (!flow_equal(&rw.masks, &st->mask.masks)) {
                return xasprintf("rule mask differs from subtable's");
            }
            if (r != head && !minimatch_equal(&r->match, &head->match)) {
                return xasprintf("chain holds different matches");
            }
            len++;
        }
        if (len != ix->slots[s].count) {
            return xasprintf("chain length %zu, slot counts %u", len,
                             ix->slots[s].count);
        }
        count += len;
    }
    *countp = count;
    return NULL;
}

/* Any rule of 'st' (which must have one). */
static const struct cls_rule *
cls_first_rule(const struct cls_subtable *st)
{
    for (size_t i = 0; i <= st->index.mask; i++) {
        if (st->index.slots[i].count) {
            return index_entry(&st->index, i)->head;
        }
    }
    return NULL;
}

static char *
check_subtable(const struct classifier *cls, size_t i)
{
    const struct cls_subtable *st = cls->sorted[i];
    size_t count = 0;
    char *error;

    if (st->sorted_pos != i) {
        return xasprintf("subtable %zu thinks it is at %zu", i,
                         st->sorted_pos);
    }
    if (i && cls->sorted[i - 1]->max_priority < st->max_priority) {
        return xasprintf("subtable %zu out of priority order", i);
    }
    if (find_subtable(cls, &st->mask) != st) {
        return xasprintf("subtable %zu not findable by mask", i);
    }
    if (st->n_rules
        && find_subtable_mm(cls, &cls_first_rule(st)->match) != st) {
        return xasprintf("subtable %zu not findable by minimatch", i);
    }
    error = check_subtable_layout(st);
    if (!error) {
        error = check_chains(st, &count);
    }
    if (!error && (count != st->n_rules || !count)) {
        error = xasprintf("subtable %zu holds %zu rules, counts %zu", i,
                          count, st->n_rules);
    }
    if (!error) {
        error = check_stages(st);
    }
    if (!error) {
        error = check_prios(st);
    }
    return error;
}

char *
classifier_check(const struct classifier *cls)
{
    const struct cls_rule *rule;
    size_t n = 0, n_in_subtables = 0;

    for (size_t i = 0; i < cls->n_sorted; i++) {
        char *error = check_subtable(cls, i);

        if (error) {
            return error;
        }
        n_in_subtables += cls->sorted[i]->n_rules;
    }
    if (cls->n_sorted != hmap_count(&cls->subtables)) {
        return xasprintf("sorted array and subtable map disagree");
    }
    TS_LIST_FOR_EACH (rule, list_node, &cls->rules) {
        const uint64_t *mf = minimatch_flow_words(&rule->match);
        const uint64_t *mw = minimatch_mask_words(&rule->match);
        struct match m;

        for (unsigned int i = 0; i < minimatch_n_words(&rule->match); i++) {
            if ((mf[i] & ~mw[i]) || !mw[i]) {
                return xasprintf("rule match not normalized");
            }
        }
        minimatch_expand(&rule->match, &m);
        if (classifier_find_exactly(cls, &m, rule->priority) != rule) {
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
