/* bench-datapath: the worker's packet path without I/O: flow extraction,
 * EMC, megaflow classifier, upcall, and output to a dummy port that
 * discards.  Packets come from a pool the benchmark owns and are built
 * from a 64-byte UDP template (a 64-byte copy per packet is included in
 * the figures).  Runs in the main thread while holding the worker's
 * mutex, so the idle worker thread stays out of the way.
 *
 * Prints:
 *   bench: dp_emc_hit_ns_per_pkt X ns
 *   bench: dp_megaflow_hit_ns_per_pkt X ns
 *   bench: dp_upcall_ns_per_pkt X ns
 *   bench: dp_capture_tx_ns_per_pkt X ns     (EMC hit, every packet copied
 *                                              by a tx capture tap)
 *   bench: dp_capture_filtered_ns_per_pkt X ns (EMC hit, a tap whose
 *                                              filter rejects every packet)
 *
 * The capture figures time the worker only: the tap's rings are drained
 * between timed stretches, as the daemon's main thread would do.
 *
 * Usage: bench-datapath [SCALE [PHASE]]: SCALE multiplies the batch
 * counts; PHASE ("emc", "megaflow" or "upcall") runs only that phase
 * (after the warm-up), for instruction counts under callgrind: the
 * difference between two scales divided by the extra packets is the cost
 * per packet. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp-private.h"
#include "dpif.h"
#include "flow.h"
#include "smap.h"
#include "util.h"

static bool install = true;
/* A capture tap to drain between timed stretches, or NULL. */
static struct dpif_capture *cap;
static uint64_t n_captured;

static void
count_captured(void *aux, const struct dpif_capture_packet *p)
{
    n_captured++;
}

static int
bench_upcall(void *aux, struct dpif_upcall *up)
{
    dpa_put_output(&up->actions, 2);
    up->wc.masks.in_port = UINT32_MAX;
    memset(&up->wc.masks.dl_dst, 0xff, sizeof up->wc.masks.dl_dst);
    up->wc.masks.dl_type = UINT16_MAX;
    up->install = install;
    return 0;
}

static const uint8_t tmpl[64] = {
    0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 1, 0x08, 0x00,
    0x45, 0, 0, 50, 0, 0, 0, 0, 64, 17, 0, 0,
    10, 0, 0, 1, 10, 0, 0, 2,
    0x04, 0xd2, 0, 53, 0, 30, 0, 0,
};

enum mode { SAME_FLOWS, MANY_FLOWS };

/* Runs 'n_batches' batches of 32 packets; returns ns per packet. */
static double
run(struct dp_ctx *ctx, struct dp_packet_pool *pool, enum mode mode,
    long n_batches)
{
    struct flow flows[NETDEV_MAX_BURST];
    uint32_t src = 0x12345;
    long long start;

    long long spent = 0;
    start = time_nsec();
    for (long i = 0; i < n_batches; i++) {
        struct dp_exec_batch b;

        if (cap && i && !(i % 512)) {
            /* Drain outside the timed stretch (the main thread's job). */
            spent += time_nsec() - start;
            while (dpif_capture_poll(cap, 4096, count_captured, NULL)) {
                continue;
            }
            start = time_nsec();
        }

        b.count = 0;
        ctx->now = time_msec();
        for (int j = 0; j < NETDEV_MAX_BURST; j++) {
            struct dp_packet *p = dp_packet_pool_get(pool);
            uint8_t *d = dp_packet_put(p, tmpl, sizeof tmpl);
            uint32_t ip;

            if (mode == SAME_FLOWS) {
                ip = htonl(0x0a000000 | j);   /* 32 flows, 1 megaflow */
            } else {
                src = src * 1103515245 + 12345;
                ip = htonl(0x0b000000 | (src >> 8 & 0xfffff));
            }
            memcpy(d + 26, &ip, 4);
            p->in_port = 1;
            flow_extract(p, &flows[j]);
            dp_exec_batch_add(&b, p, &flows[j]);
        }
        dp_ctx_process(ctx, &b, 0);
        dp_ctx_flush_tx(ctx);
    }
    spent += time_nsec() - start;
    return (double) spent / (n_batches * NETDEV_MAX_BURST);
}

int
main(int argc, char *argv[])
{
    long scale = argc > 1 ? atol(argv[1]) : 1;
    const char *phase = argc > 2 ? argv[2] : "all";
    bool all = !strcmp(phase, "all");
    struct smap discard = SMAP_INITIALIZER;
    struct dp_packet_pool *pool;
    struct dpif_stats st;
    struct dp_worker *w;
    struct dpif *dpif;
    uint32_t no;
    char *err = NULL;
    double emc, mf, up;

    if (scale < 1) {
        scale = 1;
    }
    if (dpif_create("bench", NULL, &dpif)) {
        fprintf(stderr, "bench: cannot create datapath\n");
        return 1;
    }
    no = 1;
    if (dpif_port_add(dpif, "b1", "dummy", NULL, &no, &err)) {
        fprintf(stderr, "bench: %s\n", err);
        return 1;
    }
    smap_replace(&discard, "discard", "true");
    no = 2;
    if (dpif_port_add(dpif, "b2", "dummy", &discard, &no, &err)) {
        fprintf(stderr, "bench: %s\n", err);
        return 1;
    }
    dpif_set_upcall_cb(dpif, bench_upcall, NULL);
    pool = dp_packet_pool_create("bench", 2 * NETDEV_MAX_BURST, 2304);
    w = dpif->workers[0];

    dp_worker_lock(w);
    w->ctx.ports = dpif->ports;
    run(&w->ctx, pool, SAME_FLOWS, 1000);           /* warm up, install */
    emc = mf = up = 0;
    if (all || !strcmp(phase, "emc")) {
        emc = run(&w->ctx, pool, SAME_FLOWS, 200000 * scale);
    }
    if (all || !strcmp(phase, "megaflow")) {
        mf = run(&w->ctx, pool, MANY_FLOWS, 50000 * scale);
    }
    dp_worker_unlock(w);

    /* EMC hits again, with a tx tap on the output port: copying every
     * packet, then filtering every packet out. */
    double cap_all = 0, cap_none = 0;
    if (all || !strcmp(phase, "capture")) {
        struct dpif_capture_config cc = {
            .port_no = 2, .directions = DPIF_CAPTURE_TX, .filter = "udp",
        };
        struct dpif_capture_stats cs;
        if (dpif_capture_start(dpif, &cc, &cap, &err)) {
            fprintf(stderr, "bench: %s\n", err);
            return 1;
        }
        dp_worker_lock(w);
        cap_all = run(&w->ctx, pool, SAME_FLOWS, 100000 * scale);
        dp_worker_unlock(w);
        while (dpif_capture_poll(cap, 4096, count_captured, NULL)) {
            continue;
        }
        dpif_capture_get_stats(cap, &cs);
        fprintf(stderr, "(capture: %llu matched, %llu delivered, %llu "
                "dropped)\n", (unsigned long long) cs.matched,
                (unsigned long long) cs.delivered,
                (unsigned long long) cs.dropped);
        dpif_capture_stop(cap);
        cc.filter = "tcp";
        if (dpif_capture_start(dpif, &cc, &cap, &err)) {
            fprintf(stderr, "bench: %s\n", err);
            return 1;
        }
        dp_worker_lock(w);
        cap_none = run(&w->ctx, pool, SAME_FLOWS, 100000 * scale);
        dp_worker_unlock(w);
        dpif_capture_stop(cap);
        cap = NULL;
    }

    install = false;
    dpif_flow_flush(dpif);
    dp_worker_lock(w);
    if (all || !strcmp(phase, "upcall")) {
        up = run(&w->ctx, pool, MANY_FLOWS, 20000 * scale);
    }
    dp_worker_unlock(w);

    dpif_get_stats(dpif, &st);
    printf("bench: dp_emc_hit_ns_per_pkt %.1f ns\n", emc);
    printf("bench: dp_megaflow_hit_ns_per_pkt %.1f ns\n", mf);
    printf("bench: dp_upcall_ns_per_pkt %.1f ns\n", up);
    printf("bench: dp_capture_tx_ns_per_pkt %.1f ns\n", cap_all);
    printf("bench: dp_capture_filtered_ns_per_pkt %.1f ns\n", cap_none);
    fprintf(stderr, "(emc hits %llu, megaflow hits %llu, missed %llu)\n",
            (unsigned long long) st.n_hit_emc,
            (unsigned long long) st.n_hit_megaflow,
            (unsigned long long) st.n_missed);
    dpif_destroy(dpif);
    dp_packet_pool_destroy(pool);
    smap_destroy(&discard);
    return 0;
}
