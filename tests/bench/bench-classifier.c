/* Classifier lookup speed: 10,000 rules over 20 masks (OpenFlow-table
 * shaped), random packets, with and without wildcard tracking.
 * Prints "bench: NAME VALUE UNIT" lines. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classifier.h"
#include "match.h"
#include "util.h"

static uint32_t rng = 2463534242u;

static uint32_t
rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

static void
random_flow(struct flow *f)
{
    memset(f, 0, sizeof *f);
    f->in_port = 1 + rnd() % 64;
    f->dl_type = htons(ETH_TYPE_IP);
    f->nw_src = htonl(0x0a000000 | (rnd() & 0xffff));
    f->nw_dst = htonl(0x0a000000 | (rnd() & 0xffff));
    f->nw_proto = rnd() % 2 ? 6 : 17;
    f->tp_src = htons(rnd() % 1024);
    f->tp_dst = htons(rnd() % 1024);
    f->regs[0] = rnd() % 16;
    f->metadata = rnd() % 8;
}

/* Mask number 'k' (0..19): different combinations and prefix lengths. */
static void
make_match(struct match *m, int k, const struct flow *f)
{
    match_init_catchall(m);
    match_set_dl_type(m, f->dl_type);
    if (k & 1) {
        match_set_in_port(m, f->in_port);
    }
    if (k & 2) {
        match_set_nw_proto(m, f->nw_proto);
        match_set_tp_dst_masked(m, f->tp_dst, UINT16_MAX);
    }
    if (k & 4) {
        match_set_reg(m, 0, f->regs[0]);
    }
    match_set_nw_src_masked(m, f->nw_src, htonl(~0u << (8 + k % 5 * 2)));
    if (k >= 10) {
        match_set_nw_dst_masked(m, f->nw_dst, htonl(0xffffff00));
    }
}

int
main(void)
{
    enum { N_RULES = 10000, N_MASKS = 20, N_FLOWS = 4096,
           N_LOOKUPS = 2000000 };
    struct cls_rule *rules = xcalloc(N_RULES, sizeof *rules);
    struct flow *flows = xcalloc(N_FLOWS, sizeof *flows);
    struct classifier cls;
    size_t n = 0, hits = 0;
    long long t0, t1;

    classifier_init(&cls);
    for (int i = 0; i < N_RULES; i++) {
        struct match m;
        struct flow f;

        random_flow(&f);
        make_match(&m, i % N_MASKS, &f);
        cls_rule_init(&rules[n], &m, rnd() % 65536);
        if (!classifier_find_exactly(&cls, &rules[n].match,
                                     rules[n].priority)) {
            classifier_insert(&cls, &rules[n]);
            n++;
        }
    }
    for (int i = 0; i < N_FLOWS; i++) {
        random_flow(&flows[i]);
    }

    t0 = time_nsec();
    for (int i = 0; i < N_LOOKUPS; i++) {
        hits += classifier_lookup(&cls, &flows[i % N_FLOWS], NULL) != NULL;
    }
    t1 = time_nsec();
    printf("bench: classifier_lookup_10k_rules_20_masks %.1f ns\n",
           (double) (t1 - t0) / N_LOOKUPS);

    t0 = time_nsec();
    for (int i = 0; i < N_LOOKUPS; i++) {
        struct flow_wildcards wc;

        flow_wildcards_init_catchall(&wc);
        hits += classifier_lookup(&cls, &flows[i % N_FLOWS], &wc) != NULL;
    }
    t1 = time_nsec();
    printf("bench: classifier_lookup_wc_10k_rules_20_masks %.1f ns\n",
           (double) (t1 - t0) / N_LOOKUPS);
    printf("bench: classifier_rules %zu count\n", n);
    printf("bench: classifier_hit_ratio %.3f ratio\n",
           (double) hits / (2.0 * N_LOOKUPS));

    for (size_t i = 0; i < n; i++) {
        classifier_remove(&cls, &rules[i]);
    }
    classifier_destroy(&cls);
    free(rules);
    free(flows);
    return 0;
}
