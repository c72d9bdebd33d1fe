/* Unit tests for the classifier: random rules (masks from a pool, random
 * priorities), random inserts/replaces/removes, checked against a naive
 * linear reference; megaflow soundness of the returned wildcards; loose
 * iteration and strict lookup against naive filters. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "classifier.h"
#include "dynamic-string.h"
#include "match.h"
#include "util.h"

struct test_rule {
    struct cls_rule cr;
    bool inserted;
};

/* The full match of a classifier rule (rules store a compact copy). */
static struct match
rule_match(const struct cls_rule *cr)
{
    struct match m;

    cls_rule_get_match(cr, &m);
    return m;
}
/* A pointer to a temporary copy of that match, valid in the enclosing
 * full expression's block. */
#define RULE_MATCH(CR) (&(struct match[1]) { rule_match(CR) }[0])

/* Frees the match copies of 'n' rules, none of them inserted. */
static void
destroy_rules(struct test_rule *rules, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        cls_rule_destroy(&rules[i].cr);
    }
}

static uint32_t rng_state;

static uint32_t
rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

/* Small value sets so that rules and packets collide often. */
static const uint32_t ips[] = { 0x0a000001, 0x0a000002, 0x0a000100,
                                0xc0a80001, 0x0a010203 };
static const uint16_t ports[] = { 22, 80, 443, 53 };
static const uint8_t protos[] = { 6, 17, 1 };

static void
random_flow(struct flow *f)
{
    memset(f, 0, sizeof *f);
    f->in_port = 1 + rnd() % 4;
    f->dl_type = rnd() % 4 ? htons(ETH_TYPE_IP) : htons(ETH_TYPE_ARP);
    f->nw_src = htonl(ips[rnd() % ARRAY_SIZE(ips)]);
    f->nw_dst = htonl(ips[rnd() % ARRAY_SIZE(ips)]);
    f->nw_proto = protos[rnd() % ARRAY_SIZE(protos)];
    f->tp_src = htons(ports[rnd() % ARRAY_SIZE(ports)]);
    f->tp_dst = htons(ports[rnd() % ARRAY_SIZE(ports)]);
    f->regs[0] = rnd() % 3;
    f->metadata = rnd() % 2;
    f->dl_src.ea[5] = rnd() % 3;
    f->vlans[0].tci = rnd() % 2 ? htons(VLAN_CFI | (rnd() % 3)) : 0;
}

/* Mask pool: each entry is a set of fields (bits below). */
enum {
    M_IN_PORT = 1 << 0, M_DL_TYPE = 1 << 1, M_NW_SRC24 = 1 << 2,
    M_NW_SRC32 = 1 << 3, M_NW_DST = 1 << 4, M_PROTO = 1 << 5,
    M_TP_DST = 1 << 6, M_TP_SRC_HI = 1 << 7, M_REG0 = 1 << 8,
    M_META = 1 << 9, M_DL_SRC = 1 << 10, M_VLAN = 1 << 11,
};

static const unsigned int mask_pool[] = {
    0,
    M_IN_PORT,
    M_DL_TYPE,
    M_DL_TYPE | M_NW_SRC24,
    M_DL_TYPE | M_NW_SRC32 | M_NW_DST,
    M_DL_TYPE | M_PROTO | M_TP_DST,
    M_DL_TYPE | M_PROTO | M_TP_DST | M_NW_DST | M_IN_PORT,
    M_DL_TYPE | M_PROTO | M_TP_SRC_HI,
    M_REG0,
    M_REG0 | M_META | M_IN_PORT,
    M_DL_SRC,
    M_VLAN | M_IN_PORT,
    M_DL_TYPE | M_NW_SRC24 | M_NW_DST | M_PROTO | M_TP_DST | M_TP_SRC_HI,
};

static void
random_match(struct match *m, unsigned int fields)
{
    struct flow f;

    random_flow(&f);
    match_init_catchall(m);
    if (fields & M_IN_PORT) {
        match_set_in_port(m, f.in_port);
    }
    if (fields & M_DL_TYPE) {
        match_set_dl_type(m, f.dl_type);
    }
    if (fields & M_NW_SRC24) {
        match_set_nw_src_masked(m, f.nw_src, htonl(0xffffff00));
    }
    if (fields & M_NW_SRC32) {
        match_set_nw_src_masked(m, f.nw_src, UINT32_MAX);
    }
    if (fields & M_NW_DST) {
        match_set_nw_dst_masked(m, f.nw_dst, UINT32_MAX);
    }
    if (fields & M_PROTO) {
        match_set_nw_proto(m, f.nw_proto);
    }
    if (fields & M_TP_DST) {
        match_set_tp_dst_masked(m, f.tp_dst, UINT16_MAX);
    }
    if (fields & M_TP_SRC_HI) {
        match_set_tp_src_masked(m, f.tp_src, htons(0xff00));
    }
    if (fields & M_REG0) {
        match_set_reg(m, 0, f.regs[0]);
    }
    if (fields & M_META) {
        match_set_metadata_masked(m, f.metadata, 1);
    }
    if (fields & M_DL_SRC) {
        match_set_dl_src(m, f.dl_src);
    }
    if (fields & M_VLAN) {
        match_set_vlan_tci_masked(m, f.vlans[0].tci, UINT16_MAX);
    }
}

/* Naive reference: the highest priority matching rule's priority, or -1
 * when none matches. */
static int
naive_priority(struct test_rule *rules, size_t n, const struct flow *flow)
{
    int best = -1;

    for (size_t i = 0; i < n; i++) {
        if (rules[i].inserted
            && match_matches_flow(RULE_MATCH(&rules[i].cr), flow)
            && rules[i].cr.priority > best) {
            best = rules[i].cr.priority;
        }
    }
    return best;
}

static void
check_invariants(const struct classifier *cls)
{
    char *error = classifier_check(cls);

    cr_assert(!error, "classifier invariant: %s", error);
}

/* For 'flow', checks the result against the reference and checks that
 * packets agreeing with 'flow' on the returned wildcards get the same
 * rule. */
static void
check_lookup(const struct classifier *cls, struct test_rule *rules,
             size_t n, const struct flow *flow)
{
    struct flow_wildcards wc;
    const struct cls_rule *r;
    int expected = naive_priority(rules, n, flow);

    flow_wildcards_init_catchall(&wc);
    r = classifier_lookup(cls, flow, &wc);
    cr_assert_eq(r ? r->priority : -1, expected);
    cr_assert(classifier_lookup(cls, flow, NULL) == r);
    if (r) {
        cr_assert(match_matches_flow(RULE_MATCH(r), flow));
    }
    for (int k = 0; k < 8; k++) {
        struct flow other, noise;
        const uint64_t *fw = flow_u64(flow), *ww = flow_u64(&wc.masks);
        const uint64_t *nw;
        uint64_t *ow = flow_u64_rw(&other);

        random_flow(&noise);
        if (k & 1) {
            /* Also flip arbitrary bits outside the masks. */
            uint64_t *x = flow_u64_rw(&noise);
            for (size_t i = 0; i < FLOW_U64S; i++) {
                x[i] ^= (uint64_t) rnd() << 32 | rnd();
            }
        }
        nw = flow_u64(&noise);
        for (size_t i = 0; i < FLOW_U64S; i++) {
            ow[i] = (fw[i] & ww[i]) | (nw[i] & ~ww[i]);
        }
        cr_assert(classifier_lookup(cls, &other, NULL) == r,
                  "wildcards unsound: a packet agreeing on them got a "
                  "different rule");
        cr_assert_eq(naive_priority(rules, n, &other), expected);
    }
}

static void
run_random(uint32_t seed, size_t n_rules, size_t n_ops, int n_priorities)
{
    struct test_rule *rules = xcalloc(n_rules, sizeof *rules);
    struct classifier cls;

    rng_state = seed;
    classifier_init(&cls);
    for (size_t op = 0; op < n_ops; op++) {
        struct test_rule *tr = &rules[rnd() % n_rules];

        if (tr->inserted && rnd() % 3) {
            classifier_remove(&cls, &tr->cr);
            tr->inserted = false;
        } else if (!tr->inserted) {
            struct match m;
            struct cls_rule *old;

            random_match(&m, mask_pool[rnd() % ARRAY_SIZE(mask_pool)]);
            cls_rule_destroy(&tr->cr);
            cls_rule_init(&tr->cr, &m, rnd() % n_priorities);
            old = classifier_replace(&cls, &tr->cr);
            if (old) {
                struct test_rule *o = CONTAINER_OF(old, struct test_rule, cr);
                cr_assert(cls_rule_equal(old, &tr->cr));
                o->inserted = false;
            }
            tr->inserted = true;
        }
        if (op % 16 == 0) {
            check_invariants(&cls);
        }
        if (op % 4 == 0) {
            struct flow f;
            random_flow(&f);
            check_lookup(&cls, rules, n_rules, &f);
        }
    }
    check_invariants(&cls);

    size_t count = 0;
    for (size_t i = 0; i < n_rules; i++) {
        count += rules[i].inserted;
        if (rules[i].inserted) {
            cr_assert(classifier_find_exactly(&cls, RULE_MATCH(&rules[i].cr),
                                              rules[i].cr.priority)
                      == &rules[i].cr);
        }
    }
    cr_assert_eq(classifier_count(&cls), count);
    for (int i = 0; i < 500; i++) {
        struct flow f;
        random_flow(&f);
        check_lookup(&cls, rules, n_rules, &f);
    }
    for (size_t i = 0; i < n_rules; i++) {
        if (rules[i].inserted) {
            classifier_remove(&cls, &rules[i].cr);
            rules[i].inserted = false;
        }
    }
    check_invariants(&cls);
    cr_assert(classifier_is_empty(&cls));
    classifier_destroy(&cls);
    destroy_rules(rules, n_rules);
    free(rules);
}

Test(classifier, random_few_priorities)
{
    /* Few priorities: many ties and same-key chains. */
    run_random(12345, 200, 4000, 4);
}

Test(classifier, random_many_priorities)
{
    run_random(777, 300, 5000, 1000);
}

Test(classifier, random_seeds)
{
    for (uint32_t seed = 1; seed <= 20; seed++) {
        run_random(seed * 2654435761u, 60, 800, 1 + seed % 7);
    }
}

Test(classifier, empty)
{
    struct classifier cls;
    struct flow f;
    struct flow_wildcards wc;

    classifier_init(&cls);
    memset(&f, 0, sizeof f);
    flow_wildcards_init_catchall(&wc);
    cr_assert_null(classifier_lookup(&cls, &f, &wc));
    cr_assert(flow_wildcards_is_catchall(&wc));
    classifier_destroy(&cls);
}

Test(classifier, replace_and_chain)
{
    struct classifier cls;
    struct cls_rule a, b, c, d;
    struct match m;
    struct flow f;

    classifier_init(&cls);
    match_init_catchall(&m);
    match_set_in_port(&m, 1);
    cls_rule_init(&a, &m, 10);
    cls_rule_init(&b, &m, 20);
    cls_rule_init(&c, &m, 10);
    cls_rule_init(&d, &m, 5);
    classifier_insert(&cls, &a);
    classifier_insert(&cls, &b);
    classifier_insert(&cls, &d);
    cr_assert(classifier_replace(&cls, &c) == &a);
    cr_assert(!cls_rule_is_inserted(&a));
    cr_assert_eq(classifier_count(&cls), 3);
    check_invariants(&cls);
    memset(&f, 0, sizeof f);
    f.in_port = 1;
    cr_assert(classifier_lookup(&cls, &f, NULL) == &b);
    classifier_remove(&cls, &b);
    cr_assert(classifier_lookup(&cls, &f, NULL) == &c);
    classifier_remove(&cls, &c);
    cr_assert(classifier_lookup(&cls, &f, NULL) == &d);
    f.in_port = 2;
    cr_assert_null(classifier_lookup(&cls, &f, NULL));
    classifier_remove(&cls, &d);
    check_invariants(&cls);
    classifier_destroy(&cls);
    cls_rule_destroy(&a);
    cls_rule_destroy(&b);
    cls_rule_destroy(&c);
    cls_rule_destroy(&d);
}

Test(classifier, loose_iteration_and_removal)
{
    struct test_rule rules[300];
    struct classifier cls;

    rng_state = 99;
    classifier_init(&cls);
    memset(rules, 0, sizeof rules);
    for (size_t i = 0; i < ARRAY_SIZE(rules); i++) {
        struct match m;

        random_match(&m, mask_pool[rnd() % ARRAY_SIZE(mask_pool)]);
        cls_rule_init(&rules[i].cr, &m, i);   /* distinct priorities */
        classifier_insert(&cls, &rules[i].cr);
        rules[i].inserted = true;
    }
    for (int t = 0; t < 50; t++) {
        struct match target;
        struct test_rule *tr;
        size_t n_iter = 0, n_naive = 0;

        random_match(&target, mask_pool[rnd() % ARRAY_SIZE(mask_pool)]);
        CLS_FOR_EACH_TARGET (tr, cr, &cls, &target) {
            const uint64_t *rm = flow_u64(&RULE_MATCH(&tr->cr)->wc.masks);
            const uint64_t *tm = flow_u64(&target.wc.masks);
            for (size_t i = 0; i < FLOW_U64S; i++) {
                cr_assert_eq(rm[i] & tm[i], tm[i]);
            }
            n_iter++;
        }
        for (size_t i = 0; i < ARRAY_SIZE(rules); i++) {
            struct match mm = rule_match(&rules[i].cr);
            if (!rules[i].inserted) {
                continue;
            }
            /* Naive loose match: rule mask covers target's, and the rule
             * agrees with the target on the target's bits. */
            bool ok = true;
            const uint64_t *rm = flow_u64(&mm.wc.masks);
            const uint64_t *rf = flow_u64(&mm.flow);
            const uint64_t *tm = flow_u64(&target.wc.masks);
            const uint64_t *tf = flow_u64(&target.flow);
            for (size_t w = 0; w < FLOW_U64S; w++) {
                if ((tm[w] & ~rm[w]) || ((rf[w] & tm[w]) != tf[w])) {
                    ok = false;
                }
            }
            n_naive += ok;
        }
        cr_assert_eq(n_iter, n_naive);
    }

    /* Delete every other rule while iterating (non-strict delete). */
    struct test_rule *tr;
    size_t n = 0;
    CLS_FOR_EACH (tr, cr, &cls) {
        if (n++ % 2) {
            classifier_remove(&cls, &tr->cr);
            tr->inserted = false;
        }
    }
    check_invariants(&cls);
    cr_assert_eq(classifier_count(&cls), (ARRAY_SIZE(rules) + 1) / 2);
    CLS_FOR_EACH (tr, cr, &cls) {
        classifier_remove(&cls, &tr->cr);
    }
    cr_assert(classifier_is_empty(&cls));
    check_invariants(&cls);
    classifier_destroy(&cls);
    destroy_rules(rules, ARRAY_SIZE(rules));
}

Test(classifier, overlap)
{
    struct classifier cls;
    struct cls_rule a, b, c;
    struct match m;

    classifier_init(&cls);
    match_init_catchall(&m);
    match_set_in_port(&m, 1);
    cls_rule_init(&a, &m, 10);
    classifier_insert(&cls, &a);

    match_init_catchall(&m);
    match_set_dl_type(&m, htons(ETH_TYPE_IP));
    cls_rule_init(&b, &m, 10);            /* overlaps a */
    cr_assert(classifier_rule_overlaps(&cls, &b));
    cls_rule_init(&c, &m, 11);            /* other priority */
    cr_assert(!classifier_rule_overlaps(&cls, &c));
    cls_rule_destroy(&c);
    match_set_in_port(&m, 2);
    cls_rule_init(&c, &m, 10);            /* disjoint in_port */
    cr_assert(!classifier_rule_overlaps(&cls, &c));
    classifier_remove(&cls, &a);
    classifier_destroy(&cls);
    cls_rule_destroy(&a);
    cls_rule_destroy(&b);
    cls_rule_destroy(&c);
}

/* Naive overlap: same priority, and the two matches agree on every bit
 * both of them match. */
static bool
naive_overlaps(const struct cls_rule *a, const struct cls_rule *b)
{
    struct match ma = rule_match(a), mb = rule_match(b);
    const uint64_t *af = flow_u64(&ma.flow);
    const uint64_t *am = flow_u64(&ma.wc.masks);
    const uint64_t *bf = flow_u64(&mb.flow);
    const uint64_t *bm = flow_u64(&mb.wc.masks);

    if (a->priority != b->priority) {
        return false;
    }
    for (size_t i = 0; i < FLOW_U64S; i++) {
        if ((af[i] ^ bf[i]) & am[i] & bm[i]) {
            return false;
        }
    }
    return true;
}

static void
run_overlap(uint32_t seed, size_t n_rules, int n_priorities,
            size_t *n_true, size_t *n_false)
{
    struct test_rule *rules = xcalloc(n_rules, sizeof *rules);
    struct classifier cls;

    rng_state = seed;
    classifier_init(&cls);
    for (size_t i = 0; i < n_rules; i++) {
        struct match m;

        /* Skip the catch-all mask, which would overlap everything. */
        random_match(&m, mask_pool[1 + rnd() % (ARRAY_SIZE(mask_pool) - 1)]);
        cls_rule_init(&rules[i].cr, &m, rnd() % n_priorities);
        if (!classifier_find_exactly(&cls, RULE_MATCH(&rules[i].cr),
                                     rules[i].cr.priority)) {
            classifier_insert(&cls, &rules[i].cr);
            rules[i].inserted = true;
        }
    }
    for (int t = 0; t < 400; t++) {
        struct cls_rule probe;
        struct match m;
        bool expected = false;

        random_match(&m, mask_pool[rnd() % ARRAY_SIZE(mask_pool)]);
        cls_rule_init(&probe, &m, rnd() % (n_priorities + 1));
        for (size_t i = 0; i < n_rules; i++) {
            if (rules[i].inserted && naive_overlaps(&rules[i].cr, &probe)) {
                expected = true;
            }
        }
        cr_assert_eq(classifier_rule_overlaps(&cls, &probe), expected,
                     "overlap check disagrees with the reference "
                     "(probe %d)", t);
        *(expected ? n_true : n_false) += 1;
        cls_rule_destroy(&probe);
    }
    /* An inserted rule does not overlap itself. */
    for (size_t i = 0; i < n_rules; i++) {
        if (rules[i].inserted) {
            bool expected = false;

            for (size_t j = 0; j < n_rules; j++) {
                if (j != i && rules[j].inserted
                    && naive_overlaps(&rules[j].cr, &rules[i].cr)) {
                    expected = true;
                }
            }
            cr_assert_eq(classifier_rule_overlaps(&cls, &rules[i].cr),
                         expected);
            *(expected ? n_true : n_false) += 1;
        }
    }
    for (size_t i = 0; i < n_rules; i++) {
        if (rules[i].inserted) {
            classifier_remove(&cls, &rules[i].cr);
        }
    }
    classifier_destroy(&cls);
    destroy_rules(rules, n_rules);
    free(rules);
}

Test(classifier, overlap_random)
{
    size_t n_true = 0, n_false = 0;

    run_overlap(4242, 200, 4, &n_true, &n_false);
    for (uint32_t seed = 1; seed <= 10; seed++) {
        run_overlap(seed * 7919, 10 + seed * 4, 2 + seed % 5, &n_true,
                    &n_false);
    }
    /* Both outcomes must be well represented for the test to mean
     * anything. */
    cr_assert_gt(n_true, 500);
    cr_assert_gt(n_false, 500);
}

Test(classifier, find_exactly_random)
{
    struct test_rule rules[300];
    struct classifier cls;

    rng_state = 31337;
    classifier_init(&cls);
    memset(rules, 0, sizeof rules);
    for (size_t i = 0; i < ARRAY_SIZE(rules); i++) {
        struct match m;

        random_match(&m, mask_pool[rnd() % ARRAY_SIZE(mask_pool)]);
        cls_rule_init(&rules[i].cr, &m, rnd() % 6);
        if (!classifier_find_exactly(&cls, RULE_MATCH(&rules[i].cr),
                                     rules[i].cr.priority)) {
            classifier_insert(&cls, &rules[i].cr);
            rules[i].inserted = true;
        }
    }
    for (int t = 0; t < 1000; t++) {
        const struct cls_rule *expected = NULL;
        struct match m;
        int priority = rnd() % 7;

        random_match(&m, mask_pool[rnd() % ARRAY_SIZE(mask_pool)]);
        /* Un-normalized input must be accepted: add noise off-mask. */
        m.flow.tp_src ^= (uint16_t) rnd();
        for (size_t i = 0; i < ARRAY_SIZE(rules); i++) {
            struct match n = m;

            match_zero_wildcarded_fields(&n);
            if (rules[i].inserted && rules[i].cr.priority == priority
                && match_equal(RULE_MATCH(&rules[i].cr), &n)) {
                expected = &rules[i].cr;
            }
        }
        cr_assert(classifier_find_exactly(&cls, &m, priority) == expected);
    }
    for (size_t i = 0; i < ARRAY_SIZE(rules); i++) {
        if (rules[i].inserted) {
            classifier_remove(&cls, &rules[i].cr);
        }
    }
    classifier_destroy(&cls);
    destroy_rules(rules, ARRAY_SIZE(rules));
}

/* Staged lookup: a packet that misses a subtable in an early stage (here
 * in_port, a metadata field) must not un-wildcard the later stages'
 * fields; a packet that gets to the last stage un-wildcards them all. */
Test(classifier, staged_wildcards)
{
    struct classifier cls;
    struct flow_wildcards wc;
    struct cls_rule r;
    struct match m;
    struct flow f;

    classifier_init(&cls);
    match_init_catchall(&m);
    match_set_in_port(&m, 1);
    match_set_dl_type(&m, htons(ETH_TYPE_IP));
    match_set_nw_proto(&m, 6);
    match_set_tp_dst_masked(&m, htons(80), UINT16_MAX);
    cls_rule_init(&r, &m, 100);
    classifier_insert(&cls, &r);

    memset(&f, 0, sizeof f);
    f.in_port = 2;
    f.dl_type = htons(ETH_TYPE_IP);
    f.nw_proto = 6;
    f.tp_dst = htons(80);
    flow_wildcards_init_catchall(&wc);
    cr_assert_null(classifier_lookup(&cls, &f, &wc));
    cr_assert_eq(wc.masks.in_port, UINT32_MAX);
    cr_assert_eq(wc.masks.dl_type, 0);
    cr_assert_eq(wc.masks.nw_proto, 0);
    cr_assert_eq(wc.masks.tp_dst, 0);

    /* Right port, wrong L3: L4 stays wildcarded. */
    f.in_port = 1;
    f.nw_proto = 17;
    flow_wildcards_init_catchall(&wc);
    cr_assert_null(classifier_lookup(&cls, &f, &wc));
    cr_assert_eq(wc.masks.in_port, UINT32_MAX);
    cr_assert_eq(wc.masks.dl_type, UINT16_MAX);
    cr_assert_eq(wc.masks.nw_proto, UINT8_MAX);
    cr_assert_eq(wc.masks.tp_dst, 0);

    f.nw_proto = 6;
    flow_wildcards_init_catchall(&wc);
    cr_assert(classifier_lookup(&cls, &f, &wc) == &r);
    cr_assert_eq(wc.masks.tp_dst, UINT16_MAX);
    cr_assert_eq(wc.masks.nw_proto, UINT8_MAX);

    classifier_remove(&cls, &r);
    classifier_destroy(&cls);
    cls_rule_destroy(&r);
}

/* Many rules whose subtable maxima move on every removal (descending
 * priorities removed highest first), and shared priorities: the
 * structures behind O(1) removal stay consistent and lookups stay right. */
Test(classifier, bulk_descending_removal)
{
    enum { N = 6000 };
    struct test_rule *rules = xcalloc(N, sizeof *rules);
    struct classifier cls;

    rng_state = 2024;
    classifier_init(&cls);
    for (size_t i = 0; i < N; i++) {
        struct match m;

        random_match(&m, mask_pool[i % ARRAY_SIZE(mask_pool)]);
        match_set_reg(&m, 1, i);   /* distinct keys */
        cls_rule_init(&rules[i].cr, &m, N - i / 3);
        classifier_insert(&cls, &rules[i].cr);
        rules[i].inserted = true;
    }
    check_invariants(&cls);
    for (size_t i = 0; i < N; i++) {
        classifier_remove(&cls, &rules[i].cr);
        rules[i].inserted = false;
        if (i % 1500 == 0) {
            check_invariants(&cls);
            for (int k = 0; k < 20; k++) {
                const struct cls_rule *r;
                struct flow f;

                random_flow(&f);
                f.regs[1] = rnd() % N;
                r = classifier_lookup(&cls, &f, NULL);
                cr_assert_eq(r ? r->priority : -1,
                             naive_priority(rules, N, &f));
            }
        }
    }
    check_invariants(&cls);
    cr_assert(classifier_is_empty(&cls));
    classifier_destroy(&cls);
    destroy_rules(rules, N);
    free(rules);
}

/* minimatch (the rules' compact match) against struct match, the naive
 * reference, on random matches, flows and targets: the same answers from
 * every query, and a lossless round trip. */
Test(classifier, minimatch_random)
{
    rng_state = 8191;
    for (int t = 0; t < 3000; t++) {
        struct match m, back, other, target;
        struct minimatch mm, mo;
        struct ds a = DS_EMPTY_INITIALIZER, b = DS_EMPTY_INITIALIZER;
        uint64_t storage[2 * FLOW_U64S];
        struct flow f;

        random_match(&m, mask_pool[rnd() % ARRAY_SIZE(mask_pool)]);
        random_match(&other, mask_pool[rnd() % ARRAY_SIZE(mask_pool)]);
        random_match(&target, mask_pool[rnd() % ARRAY_SIZE(mask_pool)]);
        random_flow(&f);
        m.flow.tp_src ^= (uint16_t) rnd();    /* un-normalized input */
        minimatch_init(&mm, &m);
        minimatch_init_in(&mo, &other, storage);
        cr_assert_leq(minimatch_storage_words(&other), 2 * FLOW_U64S);
        match_zero_wildcarded_fields(&m);

        minimatch_expand(&mm, &back);
        cr_assert(match_equal(&back, &m));
        cr_assert_eq(minimatch_is_catchall(&mm), match_is_catchall(&m));
        cr_assert(minimatch_equal_match(&mm, &m));
        cr_assert_eq(minimatch_equal_match(&mm, &other),
                     match_equal(&m, &other));
        cr_assert_eq(minimatch_equal(&mm, &mo), match_equal(&m, &other));
        cr_assert_eq(minimatch_matches_flow(&mm, &f),
                     match_matches_flow(&m, &f));

        /* Loose match, naively: every bit 'target' matches, 'm' matches
         * too, with the same value. */
        const uint64_t *rm = flow_u64(&m.wc.masks), *rf = flow_u64(&m.flow);
        const uint64_t *tm = flow_u64(&target.wc.masks);
        const uint64_t *tf = flow_u64(&target.flow);
        bool loose = true;
        for (size_t i = 0; i < FLOW_U64S; i++) {
            if ((tm[i] & ~rm[i]) || ((rf[i] ^ tf[i]) & tm[i])) {
                loose = false;
            }
        }
        cr_assert_eq(minimatch_is_loose_match(&mm, &target), loose);
        cr_assert(minimatch_is_loose_match(&mm, NULL));

        minimatch_format(&a, &mm, 100, NULL);
        match_format(&b, &m, 100, NULL);
        cr_assert_str_eq(ds_cstr(&a), ds_cstr(&b));
        ds_destroy(&a);
        ds_destroy(&b);
        minimatch_destroy(&mm);
    }
}

/* A rule whose match lives in caller storage behaves as any other. */
Test(classifier, rule_in_caller_storage)
{
    struct classifier cls;
    struct match m;
    struct flow f;
    struct {
        struct cls_rule cr;
        uint64_t words[2 * FLOW_U64S];
    } r;

    classifier_init(&cls);
    match_init_catchall(&m);
    match_set_in_port(&m, 3);
    match_set_dl_type(&m, htons(ETH_TYPE_IP));
    cr_assert_eq(cls_rule_storage_words(&m), 4);
    cls_rule_init_in(&r.cr, &m, 7, r.words);
    classifier_insert(&cls, &r.cr);
    check_invariants(&cls);
    memset(&f, 0, sizeof f);
    f.in_port = 3;
    f.dl_type = htons(ETH_TYPE_IP);
    cr_assert(classifier_lookup(&cls, &f, NULL) == &r.cr);
    cr_assert(classifier_find_exactly(&cls, &m, 7) == &r.cr);
    classifier_remove(&cls, &r.cr);
    cls_rule_destroy(&r.cr);        /* frees nothing it does not own */
    classifier_destroy(&cls);
}
