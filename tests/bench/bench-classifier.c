/* Classifier speed:
 *   - lookup: 10,000 rules over 20 masks (OpenFlow-table shaped), random
 *     packets, with and without wildcard tracking;
 *   - insert and remove: 100,000 rules, 20 masks, priorities in
 *     descending insertion order (the order people write flow tables in,
 *     and the worst case for maintaining each subtable's max priority),
 *     removed in insertion order (what del-flows does).
 * Times are this thread's CPU time (CLOCK_THREAD_CPUTIME_ID), so that
 * other processes on a busy machine do not inflate them; cache pollution
 * from them still does.  For stable figures run it under
 * valgrind --tool=callgrind and count instructions.
 * Prints "bench: NAME VALUE UNIT" lines.  Optional arguments: a scale
 * factor in percent for the lookup count (e.g. 5 under callgrind), then
 * "lookup" or "update" to run only that part. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "classifier.h"
#include "match.h"
#include "util.h"

struct bench_rule {
    struct cls_rule cr;
};

static uint32_t rng = 2463534242u;

static long long
cpu_nsec(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

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

static void
bench_lookup(int scale)
{
    enum { N_RULES = 10000, N_MASKS = 20, N_FLOWS = 4096 };
    long n_lookups = 2000000L * scale / 100;
    struct cls_rule *rules = xcalloc(N_RULES, sizeof *rules);
    struct flow *flows = xcalloc(N_FLOWS, sizeof *flows);
    struct classifier cls;
    size_t n = 0, hits = 0, wc_bits = 0;
    long long t0, t1;

    rng = 2463534242u;          /* same rules whichever parts run */
    classifier_init(&cls);
    for (int i = 0; i < N_RULES; i++) {
        struct match m;
        struct flow f;

        random_flow(&f);
        make_match(&m, i % N_MASKS, &f);
        cls_rule_init(&rules[n], &m, rnd() % 65536);
        if (!classifier_find_exactly(&cls, &m, rules[n].priority)) {
            classifier_insert(&cls, &rules[n]);
            n++;
        } else {
            cls_rule_destroy(&rules[n]);
        }
    }
    for (int i = 0; i < N_FLOWS; i++) {
        random_flow(&flows[i]);
    }

    t0 = cpu_nsec();
    for (long i = 0; i < n_lookups; i++) {
        hits += classifier_lookup(&cls, &flows[i % N_FLOWS], NULL) != NULL;
    }
    t1 = cpu_nsec();
    printf("bench: cls_lookup_10k_rules_20_masks_ns %.1f ns\n",
           (double) (t1 - t0) / n_lookups);

    t0 = cpu_nsec();
    for (long i = 0; i < n_lookups; i++) {
        struct flow_wildcards wc;

        flow_wildcards_init_catchall(&wc);
        hits += classifier_lookup(&cls, &flows[i % N_FLOWS], &wc) != NULL;
        if (i < N_FLOWS) {
            const uint64_t *w = flow_u64(&wc.masks);

            for (size_t k = 0; k < FLOW_U64S; k++) {
                wc_bits += __builtin_popcountll(w[k]);
            }
        }
    }
    t1 = cpu_nsec();
    printf("bench: cls_lookup_wc_10k_rules_20_masks_ns %.1f ns\n",
           (double) (t1 - t0) / n_lookups);
    printf("bench: cls_rules %zu count\n", n);
    printf("bench: cls_hit_ratio %.3f ratio\n",
           (double) hits / (2.0 * n_lookups));
    /* Megaflow width: fewer un-wildcarded bits per lookup is better. */
    printf("bench: cls_lookup_wc_bits %.1f bits\n",
           (double) wc_bits / N_FLOWS);

    for (size_t i = 0; i < n; i++) {
        classifier_remove(&cls, &rules[i]);
        cls_rule_destroy(&rules[i]);
    }
    classifier_destroy(&cls);
    free(rules);
    free(flows);
}

static void
bench_insert_remove(void)
{
    enum { N_RULES = 100000, N_MASKS = 20 };
    struct bench_rule *brules = xcalloc(N_RULES, sizeof *brules);
    struct cls_rule *rules = xcalloc(N_RULES, sizeof *rules);
    struct classifier cls;
    long long t0, t1;
    size_t n = 0;

    for (int i = 0; i < N_RULES; i++) {
        struct match m;
        struct flow f;

        random_flow(&f);
        f.nw_src = htonl(0x0a000000 + i);
        make_match(&m, i % N_MASKS, &f);
        match_set_nw_src_masked(&m, f.nw_src, UINT32_MAX);
        /* Descending priorities, some shared. */
        cls_rule_init(&rules[n++], &m, 65535 - i / 2);
    }

    classifier_init(&cls);
    t0 = cpu_nsec();
    for (size_t i = 0; i < n; i++) {
        classifier_insert(&cls, &rules[i]);
    }
    t1 = cpu_nsec();
    printf("bench: cls_insert_100k_ns_per_rule %.1f ns\n",
           (double) (t1 - t0) / n);

    t0 = cpu_nsec();
    for (size_t i = 0; i < n; i++) {
        classifier_remove(&cls, &rules[i]);
    }
    t1 = cpu_nsec();
    printf("bench: cls_remove_100k_ns_per_rule %.1f ns\n",
           (double) (t1 - t0) / n);
    if (!classifier_is_empty(&cls)) {
        fprintf(stderr, "bench-classifier: rules left after removal\n");
        exit(1);
    }

    /* Destroying a full table after removing rules via iteration, as
     * ofproto does when a bridge goes away. */
    classifier_init(&cls);
    for (size_t i = 0; i < n; i++) {
        struct match m;

        cls_rule_get_match(&rules[i], &m);
        cls_rule_init(&brules[i].cr, &m, rules[i].priority);
        classifier_insert(&cls, &brules[i].cr);
    }
    t0 = cpu_nsec();
    {
        struct bench_rule *r;

        CLS_FOR_EACH (r, cr, &cls) {
            classifier_remove(&cls, &r->cr);
        }
    }
    classifier_destroy(&cls);
    t1 = cpu_nsec();
    printf("bench: cls_destroy_100k_ns_per_rule %.1f ns\n",
           (double) (t1 - t0) / n);
    for (size_t i = 0; i < n; i++) {
        cls_rule_destroy(&brules[i].cr);
        cls_rule_destroy(&rules[i]);
    }
    free(brules);
    free(rules);
}

int
main(int argc, char *argv[])
{
    int scale = argc > 1 ? atoi(argv[1]) : 100;
    const char *only = argc > 2 ? argv[2] : "";

    if (scale <= 0) {
        scale = 100;
    }
    if (strcmp(only, "lookup")) {
        bench_insert_remove();
    }
    if (strcmp(only, "update")) {
        bench_lookup(scale);
    }
    return 0;
}
