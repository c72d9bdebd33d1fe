/* bench-pipeline: the datapath in front of real OpenFlow tables.  Table 0
 * holds 10,000 rules spread over 20 masks (ct-firewall-style matches on
 * in_port, addresses, protocol and ports), and ofproto is the upcall
 * handler, so a miss pays for the classifier lookup over every subtable,
 * xlate, the wildcard mask and the megaflow install.
 *
 * Prints:
 *   bench: pipeline_megaflow_hit_ns_per_pkt X ns   (EMC defeated)
 *   bench: pipeline_upcall_ns_per_pkt X ns          (miss, xlate, install)
 *
 * The worker context is driven from this thread with the worker's mutex
 * held, as in bench-datapath. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp-private.h"
#include "dpif.h"
#include "dynamic-string.h"
#include "flow.h"
#include "ofp-flow.h"
#include "ofproto.h"
#include "smap.h"
#include "util.h"

#define N_RULES 10000
#define N_MASKS 20

static const uint8_t tmpl[64] = {
    0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 1, 0x08, 0x00,
    0x45, 0, 0, 50, 0, 0, 0, 0, 64, 6, 0, 0,
    10, 0, 0, 1, 10, 0, 0, 2,
    0x04, 0xd2, 0, 80, 0, 0, 0, 0, 0, 0, 0, 0, 0x50, 0x10, 0x20, 0,
};

/* Rule 'i' has mask shape 'i % N_MASKS': five address matches (source
 * /32 or /24, destination /32, /24 or /16) times four L4 variants (with
 * or without tp_dst, with or without nw_tos), so the table has N_MASKS
 * subtables of N_RULES / N_MASKS rules each. */
static void
rule_text(struct ds *s, int i)
{
    int shape = i % N_MASKS, k = i / N_MASKS;

    ds_clear(s);
    ds_put_format(s, "priority=%d,tcp,in_port=1", 100 + shape);
    switch (shape % 5) {
    case 0:
        ds_put_format(s, ",nw_src=172.16.%d.%d", k >> 8, k & 255);
        break;
    case 1:
        ds_put_format(s, ",nw_src=172.%d.%d.0/24", 16 + (k >> 8), k & 255);
        break;
    case 2:
        ds_put_format(s, ",nw_dst=192.168.%d.%d", k >> 8, k & 255);
        break;
    case 3:
        ds_put_format(s, ",nw_dst=192.%d.%d.0/24", k >> 8, k & 255);
        break;
    default:
        ds_put_format(s, ",nw_dst=%d.%d.0.0/16", 100 + (k >> 8), k & 255);
        break;
    }
    if (shape / 5 & 1) {
        ds_put_format(s, ",tp_dst=%d", 1000 + k);
    }
    if (shape / 5 & 2) {
        ds_put_cstr(s, ",nw_tos=32");
    }
    ds_put_cstr(s, ",actions=output:2");
}

static int
add_rules(struct ofproto *ofp)
{
    struct ofp_flow_mod *mods = xcalloc(N_RULES + 1, sizeof *mods);
    struct ds s = DS_EMPTY_INITIALIZER;
    char *err = NULL;
    int r;

    for (int i = 0; i < N_RULES; i++) {
        rule_text(&s, i);
        err = ofp_parse_flow_mod(&mods[i], ds_cstr(&s), OFPFC_ADD, NULL);
        if (err) {
            fprintf(stderr, "bench: '%s': %s\n", ds_cstr(&s), err);
            return -1;
        }
    }
    /* Everything else (our packets: 10.0.0.0/8) goes out port 2. */
    err = ofp_parse_flow_mod(&mods[N_RULES], "priority=1,actions=output:2",
                             OFPFC_ADD, NULL);
    r = err ? -1 : ofproto_flow_mod_batch(ofp, mods, N_RULES + 1, &err);
    if (r) {
        fprintf(stderr, "bench: cannot add rules: %s\n", err ? err : "?");
    }
    for (int i = 0; i <= N_RULES; i++) {
        ofp_flow_mod_release(&mods[i]);
    }
    free(mods);
    ds_destroy(&s);
    free(err);
    return r;
}

enum mode {
    SAME_MEGAFLOW,     /* random source ports: megaflow hits, EMC misses */
    NEW_MEGAFLOWS,     /* a new destination address per packet: upcalls */
};

static uint32_t seq;

static double
run(struct dp_ctx *ctx, struct dp_packet_pool *pool, enum mode mode,
    long n_batches)
{
    struct flow flows[NETDEV_MAX_BURST];
    uint32_t rnd = 0x2545f491;
    long long start = time_nsec();

    for (long i = 0; i < n_batches; i++) {
        struct dp_exec_batch b;

        b.count = 0;
        ctx->now = time_msec();
        for (int j = 0; j < NETDEV_MAX_BURST; j++) {
            struct dp_packet *p = dp_packet_pool_get(pool);
            uint8_t *d = dp_packet_put(p, tmpl, sizeof tmpl);

            rnd = rnd * 1103515245 + 12345;
            if (mode == SAME_MEGAFLOW) {
                uint16_t sport = htons(rnd >> 16);
                memcpy(d + 34, &sport, 2);
            } else {
                uint32_t dst = htonl(0x0a000000 | (++seq & 0xffffff));
                memcpy(d + 30, &dst, 4);
            }
            p->in_port = 1;
            flow_extract(p, &flows[j]);
            dp_exec_batch_add(&b, p, &flows[j]);
        }
        dp_ctx_process(ctx, &b, 0);
        dp_ctx_flush_tx(ctx);
    }
    return (double) (time_nsec() - start) / (n_batches * NETDEV_MAX_BURST);
}

int
main(int argc, char *argv[])
{
    long scale = argc > 1 && atol(argv[1]) > 0 ? atol(argv[1]) : 1;
    struct smap discard = SMAP_INITIALIZER;
    struct dpif_config cfg = { .max_megaflows = 1 << 20 };
    struct dp_packet_pool *pool;
    struct dpif_stats st;
    struct ofproto *ofp;
    struct dp_worker *w;
    struct dpif *dpif;
    double hit, up;
    char *err = NULL;
    uint32_t no;

    if (dpif_create("benchpl", &cfg, &dpif)) {
        fprintf(stderr, "bench: cannot create datapath\n");
        return 1;
    }
    smap_replace(&discard, "discard", "true");
    for (no = 1; no <= 3; no++) {
        char name[8];
        uint32_t n = no;

        snprintf(name, sizeof name, "bp%u", no);
        if (dpif_port_add(dpif, name, "dummy", no == 2 ? &discard : NULL,
                          &n, &err)) {
            fprintf(stderr, "bench: %s\n", err);
            return 1;
        }
    }
    ofp = ofproto_create_empty("benchpl", dpif);
    for (no = 1; no <= 3; no++) {
        char name[8];
        snprintf(name, sizeof name, "bp%u", no);
        ofproto_port_added(ofp, no, name);
    }
    if (add_rules(ofp)) {
        return 1;
    }
    pool = dp_packet_pool_create("bench", 2 * NETDEV_MAX_BURST, 2304);
    w = dpif->workers[0];

    dp_worker_lock(w);
    w->ctx.ports = dpif->ports;
    run(&w->ctx, pool, SAME_MEGAFLOW, 1000);        /* warm up, install */
    hit = run(&w->ctx, pool, SAME_MEGAFLOW, 50000 * scale);
    up = run(&w->ctx, pool, NEW_MEGAFLOWS, 5000 * scale);
    dp_worker_unlock(w);

    dpif_get_stats(dpif, &st);
    printf("bench: pipeline_megaflow_hit_ns_per_pkt %.1f ns\n", hit);
    printf("bench: pipeline_upcall_ns_per_pkt %.1f ns\n", up);
    fprintf(stderr, "(%zu rules; emc hits %llu, megaflow hits %llu, "
            "missed %llu, megaflows %llu)\n",
            ofproto_flow_count(ofp, 0),
            (unsigned long long) st.n_hit_emc,
            (unsigned long long) st.n_hit_megaflow,
            (unsigned long long) st.n_missed,
            (unsigned long long) st.n_megaflows);
    ofproto_destroy(ofp);
    dpif_destroy(dpif);
    dp_packet_pool_destroy(pool);
    smap_destroy(&discard);
    return 0;
}
