/* Tests for datapath/dp-cls.c against a naive linear reference on random
 * masks and keys: insert, remove, lookup. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "dp-cls.h"
#include "flow.h"

/* Sizes: enough rules per mask that subtables hold several and lookups
 * hit chains, few enough that the linear reference stays cheap under
 * sanitizers (rounds x queries x rules flow comparisons). */
#define N_RULES 300
#define N_MASKS 12
#define N_ROUNDS 4
#define N_QUERIES 1000

struct ref_rule {
    struct dp_cls_rule rule;
    struct flow key;            /* unmasked, as inserted */
    struct flow_wildcards mask;
    bool in;
};

static unsigned int seed;

static uint64_t
rnd64(void)
{
    return ((uint64_t) rand_r(&seed) << 33) ^ ((uint64_t) rand_r(&seed) << 11)
           ^ rand_r(&seed);
}

/* Flows drawn from a small value space so that masks overlap often. */
static void
random_flow(struct flow *f)
{
    uint64_t *w = flow_u64_rw(f);

    for (size_t i = 0; i < FLOW_U64S; i++) {
        w[i] = rnd64() & 0x0303030303030303ULL;
    }
}

static void
random_mask(struct flow_wildcards *wc)
{
    uint64_t *w = flow_u64_rw(&wc->masks);
    int n = 1 + rand_r(&seed) % 4;

    memset(wc, 0, sizeof *wc);
    for (int i = 0; i < n; i++) {
        size_t word = rand_r(&seed) % FLOW_U64S;

        w[word] |= rand_r(&seed) % 2 ? UINT64_MAX : rnd64();
    }
}

static bool
ref_matches(const struct ref_rule *r, const struct flow *f)
{
    return flow_equal_masked(&r->key, f, &r->mask);
}

/* Checks 'cls' against the reference for 'f': NULL iff no rule
 * matches; otherwise a matching, inserted rule. */
static void
check_lookup(struct dp_cls *cls, struct ref_rule *rules, size_t n,
             const struct flow *f)
{
    struct dp_cls_rule *got = dp_cls_lookup(cls, f);
    bool any = false;

    for (size_t i = 0; i < n; i++) {
        if (rules[i].in && ref_matches(&rules[i], f)) {
            any = true;
            break;
        }
    }
    /* Assert only on failure: --full-stats makes each passing assertion
     * cost an IPC message. */
    if (!any) {
        if (got) {
            cr_assert_fail("lookup found a rule where none matches");
        }
        return;
    }
    if (!got) {
        cr_assert_fail("lookup missed a matching rule");
    }
    struct ref_rule *r = (struct ref_rule *) got;
    if (!r->in || !ref_matches(r, f)) {
        cr_assert_fail("lookup returned a removed or non-matching rule");
    }
}

Test(dp_cls, random_against_reference)
{
    struct flow_wildcards masks[N_MASKS];
    struct ref_rule *rules = calloc(N_RULES, sizeof *rules);
    struct dp_cls cls;
    size_t n_in = 0;

    seed = 4242;
    dp_cls_init(&cls);
    for (int m = 0; m < N_MASKS; m++) {
        random_mask(&masks[m]);
    }
    for (size_t i = 0; i < N_RULES; i++) {
        struct ref_rule *r = &rules[i];

        random_flow(&r->key);
        r->mask = masks[rand_r(&seed) % N_MASKS];
        if (dp_cls_find_exact(&cls, &r->key, &r->mask)) {
            continue;           /* duplicate: the datapath would reuse */
        }
        dp_cls_insert(&cls, &r->rule, &r->key, &r->mask);
        r->in = true;
        n_in++;
        if (dp_cls_count(&cls) != n_in
            || dp_cls_find_exact(&cls, &r->key, &r->mask) != &r->rule
            || !flow_equal(&dp_cls_rule_mask(&r->rule)->masks,
                           &r->mask.masks)) {
            cr_assert_fail("rule %zu: count, find_exact or mask wrong", i);
        }
    }
    for (int round = 0; round < N_ROUNDS; round++) {
        for (int q = 0; q < N_QUERIES; q++) {
            struct flow f;

            if (q % 2) {
                /* A flow that agrees with some rule on its mask. */
                struct ref_rule *r = &rules[rand_r(&seed) % N_RULES];
                uint64_t *w = flow_u64_rw(&f);
                const uint64_t *k = flow_u64(&r->key);
                const uint64_t *m = flow_u64(&r->mask.masks);

                random_flow(&f);
                for (size_t i = 0; i < FLOW_U64S; i++) {
                    w[i] = (w[i] & ~m[i]) | (k[i] & m[i]);
                }
            } else {
                random_flow(&f);
            }
            check_lookup(&cls, rules, N_RULES, &f);
        }
        /* Remove a third of what is in, re-add some. */
        for (size_t i = 0; i < N_RULES; i++) {
            struct ref_rule *r = &rules[i];

            if (r->in && rand_r(&seed) % 3 == 0) {
                dp_cls_remove(&cls, &r->rule);
                r->in = false;
                n_in--;
                if (dp_cls_find_exact(&cls, &r->key, &r->mask)) {
                    cr_assert_fail("rule %zu found after removal", i);
                }
            } else if (!r->in && rand_r(&seed) % 4 == 0
                       && !dp_cls_find_exact(&cls, &r->key, &r->mask)) {
                dp_cls_insert(&cls, &r->rule, &r->key, &r->mask);
                r->in = true;
                n_in++;
            }
        }
        cr_assert_eq(dp_cls_count(&cls), n_in);
        dp_cls_sort(&cls);
    }
    /* Empty it: subtables go away, nothing matches. */
    for (size_t i = 0; i < N_RULES; i++) {
        if (rules[i].in) {
            dp_cls_remove(&cls, &rules[i].rule);
            rules[i].in = false;
        }
    }
    cr_assert_eq(dp_cls_count(&cls), 0);
    cr_assert_eq(cls.n_subtables, 0);
    for (int q = 0; q < 100; q++) {
        struct flow f;

        random_flow(&f);
        cr_assert_null(dp_cls_lookup(&cls, &f));
    }
    dp_cls_release(&cls);
    free(rules);
}

Test(dp_cls, catchall_and_sort_by_hits)
{
    struct ref_rule a, b;
    struct flow f;
    struct dp_cls cls;

    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    memset(&f, 0, sizeof f);
    dp_cls_init(&cls);
    flow_wildcards_init_catchall(&a.mask);
    dp_cls_insert(&cls, &a.rule, &a.key, &a.mask);
    b.key.in_port = 5;
    memset(&b.mask, 0, sizeof b.mask);
    b.mask.masks.in_port = UINT32_MAX;
    dp_cls_insert(&cls, &b.rule, &b.key, &b.mask);
    f.in_port = 7;
    cr_assert(dp_cls_lookup(&cls, &f) == &a.rule);
    /* Both match in_port=5: the catch-all subtable came first. */
    f.in_port = 5;
    for (int i = 0; i < 10; i++) {
        cr_assert(dp_cls_lookup(&cls, &f) == &a.rule);
    }
    dp_cls_remove(&cls, &a.rule);
    for (int i = 0; i < 20; i++) {
        cr_assert(dp_cls_lookup(&cls, &f) == &b.rule);
    }
    dp_cls_insert(&cls, &a.rule, &a.key, &a.mask);
    dp_cls_sort(&cls);
    /* b's subtable had the hits: it is probed first now. */
    cr_assert(dp_cls_lookup(&cls, &f) == &b.rule);
    dp_cls_release(&cls);
}
