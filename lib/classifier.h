/* classifier: priority-ordered wildcard lookup over struct flow (tuple
 * space search), for OpenFlow tables and anything else that needs
 * "highest-priority rule matching this packet".
 *
 * Rules are grouped into subtables, one per distinct mask.  A subtable
 * keeps the indices of the 64-bit words of struct flow where its mask is
 * non-zero and hashes/compares only those words of (flow & mask).  Rules
 * with the same mask and masked key share one index slot: a chain sorted
 * by descending priority.  Subtables are kept sorted by the highest
 * priority they contain, so a lookup stops as soon as no remaining
 * subtable can beat the best rule found.
 *
 * Staged lookup: a subtable's words are split into stages (metadata and
 * conntrack, L2, L3, L4; empty stages dropped).  For every stage but the
 * last the subtable counts the rules per hash of the masked key up to
 * that stage; a packet whose prefix hash is absent misses the subtable
 * without looking at later stages.
 *
 * Megaflow contract: classifier_lookup() ORs into 'wc' the mask bits that
 * decided the outcome of every subtable it examined (for a subtable left
 * at stage N, the mask words of stages 0..N; for one searched to the end,
 * its whole mask), so every flow that agrees with the looked-up flow on
 * the bits of 'wc' gets the same result from the same classifier.  Ties
 * between equal priorities resolve deterministically (by subtable order,
 * then by chain order), never randomly.
 *
 * Cost: insert, replace and remove are O(1) amortised plus O(log P) for P
 * distinct priorities in the rule's subtable (a max-heap keeps each
 * subtable's highest priority), plus O(S) for S subtables when the
 * subtable order changes or a subtable comes or goes.  find_exactly is
 * O(1).  classifier_rule_overlaps() visits only subtables that hold a
 * rule of the same priority, and hashes straight to the one candidate
 * chain when the new rule's mask covers the subtable's.  Iteration with a
 * target is a walk over all rules (loose matching has no index).
 *
 * Ownership: the caller owns each struct cls_rule (usually embedded in its
 * own rule) and keeps it alive while inserted.  The classifier owns only
 * its subtables and their indexes.
 *
 * Threads: single writer.  Readers (datapath workers doing upcalls, the
 * control thread) are NOT safe against a concurrent writer: the caller
 * serializes them (ofproto holds a rwlock: readers share it, the writer
 * takes it exclusively).  Concurrent readers are fine: lookup writes
 * nothing shared.
 */
#ifndef TS_CLASSIFIER_H
#define TS_CLASSIFIER_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "flow.h"
#include "hmap.h"
#include "list.h"
#include "match.h"

struct cls_subtable;

struct cls_rule {
    struct minimatch match;     /* normalized; read-only once initialized */
    int priority;               /* higher wins */
    bool match_in_caller_storage; /* cls_rule_init_in(): do not free */

    /* Private to the classifier. */
    struct cls_subtable *subtable; /* NULL when not inserted */
    struct cls_rule *next;      /* same key, lower priority */
    struct ts_list list_node;   /* in classifier's list (iteration) */
};

struct classifier {
    struct hmap subtables;      /* struct cls_subtable, by mask hash */
    struct cls_subtable **sorted; /* by max_priority, highest first */
    size_t n_sorted;
    size_t allocated_sorted;
    struct ts_list rules;       /* all rules, insertion order */
    size_t n_rules;
};

/* Copies 'match' (normalizing it) into 'rule', compactly (see struct
 * minimatch in match.h: only the words the mask touches are kept). */
void cls_rule_init(struct cls_rule *, const struct match *, int priority);
/* Like cls_rule_init(), but the match copy goes to 'storage', which the
 * caller provides (cls_rule_storage_words(match) words, 8-byte aligned)
 * and keeps alive as long as the rule: e.g. at the end of the allocation
 * that holds the rule, to save a malloc per rule. */
static inline size_t cls_rule_storage_words(const struct match *m)
{
    return minimatch_storage_words(m);
}
void cls_rule_init_in(struct cls_rule *, const struct match *, int priority,
                      uint64_t *storage);
/* Frees the rule's match copy.  The rule must not be in a classifier. */
void cls_rule_destroy(struct cls_rule *);
/* Rebuilds the rule's full match into '*match'. */
static inline void cls_rule_get_match(const struct cls_rule *r,
                                      struct match *match)
{
    minimatch_expand(&r->match, match);
}
bool cls_rule_equal(const struct cls_rule *, const struct cls_rule *);
/* True if 'rule' is at least as specific as 'target' and agrees with it on
 * target's bits, i.e. every packet 'rule' matches, 'target' matches too
 * (OpenFlow non-strict delete/modify/dump semantics).  NULL target: always
 * true. */
bool cls_rule_is_loose_match(const struct cls_rule *,
                             const struct match *target);
static inline bool cls_rule_is_inserted(const struct cls_rule *r)
{
    return r->subtable != NULL;
}

void classifier_init(struct classifier *);
/* Frees subtables; the rules (owned by the caller) are left alone and
 * must not be used with this classifier again. */
void classifier_destroy(struct classifier *);
static inline size_t classifier_count(const struct classifier *c)
{
    return c->n_rules;
}
static inline bool classifier_is_empty(const struct classifier *c)
{
    return !c->n_rules;
}

/* Inserts 'rule'.  The caller guarantees that no rule with an identical
 * match and priority is present (else use classifier_replace()). */
void classifier_insert(struct classifier *, struct cls_rule *);
/* Inserts 'rule', removing and returning a rule with an identical match
 * and priority if there was one (else NULL). */
struct cls_rule *classifier_replace(struct classifier *, struct cls_rule *);
void classifier_remove(struct classifier *, struct cls_rule *);

/* Highest-priority rule matching 'flow', or NULL.  If 'wc' is non-NULL,
 * ORs into it every bit the lookup examined (see the megaflow contract
 * above).  Read-only: safe for concurrent readers. */
const struct cls_rule *classifier_lookup(const struct classifier *,
                                         const struct flow *,
                                         struct flow_wildcards *wc);
/* The rule with exactly this match (normalized internally) and priority,
 * or NULL (OpenFlow --strict). */
const struct cls_rule *classifier_find_exactly(const struct classifier *,
                                               const struct match *,
                                               int priority);
/* True if some rule of the same priority could match a packet that 'rule'
 * also matches (OpenFlow check_overlap). */
bool classifier_rule_overlaps(const struct classifier *,
                              const struct cls_rule *);

/* Iteration in insertion order over the rules that are loose matches for
 * 'target' (NULL: all).  Removing (and freeing) the current rule inside
 * the loop is safe; removing other rules is not. */
struct cls_cursor {
    const struct classifier *cls;
    const struct match *target;
    const struct ts_list *next;
};
struct cls_rule *cls_cursor_first(struct cls_cursor *,
                                  const struct classifier *,
                                  const struct match *target);
struct cls_rule *cls_cursor_next(struct cls_cursor *);

#define CLS_FOR_EACH_TARGET(RULE, MEMBER, CLS, TARGET)                   \
    for (struct cls_cursor cursor__,                                     \
             *c1__ = &cursor__; c1__; c1__ = NULL)                       \
        for (struct cls_rule *cr__ = cls_cursor_first(&cursor__, CLS,    \
                                                      TARGET);           \
             cr__ && ((RULE) = OBJECT_CONTAINING(cr__, RULE, MEMBER), 1);\
             cr__ = cls_cursor_next(&cursor__))
#define CLS_FOR_EACH(RULE, MEMBER, CLS)                                  \
    CLS_FOR_EACH_TARGET(RULE, MEMBER, CLS, NULL)

/* Checks internal invariants (for tests); returns NULL or a malloc'ed
 * description of the first violation. */
char *classifier_check(const struct classifier *);

#endif /* classifier.h */
