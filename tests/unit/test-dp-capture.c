/* Tests for packet capture taps (datapath/dp-capture.c): the ring against
 * a FIFO reference on random input and across two threads; taps on dummy
 * ports (rx and tx, BPF filter, snaplen, drops when the ring is full
 * while forwarding loses nothing, port deletion and dpif destruction
 * under a tap); tx of GSO packets as the port sends them. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dp-capture.h"
#include "dpif.h"
#include "errors.h"
#include "flow.h"
#include "packets.h"
#include "smap.h"
#include "util.h"

/* ---- Ring --------------------------------------------------------------- */

struct ref_rec {
    uint32_t len;
    uint8_t fill;
    uint64_t ts;
};

static void
check_rec(const struct dp_capture_rec *rec, const struct ref_rec *want)
{
    const uint8_t *d = (const uint8_t *) (rec + 1);

    cr_assert_eq(rec->cap_len, want->len);
    cr_assert_eq(rec->orig_len, want->len + 7);
    cr_assert_eq(rec->ts_ns, want->ts);
    cr_assert_eq(rec->len % 8, 0);
    for (uint32_t i = 0; i < want->len; i++) {
        cr_assert_eq(d[i], (uint8_t) (want->fill + i), "byte %u", i);
    }
}

Test(dp_capture, ring_fifo_random)
{
    enum { N_OPS = 200000, RING = 1024, MAX_REF = 4096 };
    static struct ref_rec ref[MAX_REF];
    size_t ref_head = 0, ref_tail = 0;     /* ref[tail..head) queued */
    uint64_t attempts = 0;
    struct dp_capture_ring r;
    uint8_t buf[600];

    srand(7);
    dp_capture_ring_init(&r, RING);
    cr_assert_eq(r.size, RING);
    for (int op = 0; op < N_OPS; op++) {
        if (rand() % 3) {
            struct dp_capture_rec hdr = { .orig_len = 0 };
            struct ref_rec rr = {
                .len = rand() % 600,    /* some over size / 2 - header */
                .fill = rand(),
                .ts = op,
            };
            bool empty = ref_head == ref_tail;

            for (uint32_t i = 0; i < rr.len; i++) {
                buf[i] = rr.fill + i;
            }
            hdr.orig_len = rr.len + 7;
            hdr.ts_ns = rr.ts;
            attempts++;
            bool fits_ever = ROUND_UP(sizeof hdr + rr.len, 8) <= RING / 2;
            bool ok = dp_capture_ring_put(&r, &hdr, buf, rr.len);
            if (empty) {
                cr_assert_eq(ok, fits_ever,
                             "empty ring refused a %u-byte record", rr.len);
            }
            if (ok) {
                ref[ref_head++ % MAX_REF] = rr;
            }
        } else {
            const struct dp_capture_rec *rec = dp_capture_ring_peek(&r);

            if (ref_head == ref_tail) {
                cr_assert_null(rec);
                continue;
            }
            cr_assert_not_null(rec);
            check_rec(rec, &ref[ref_tail++ % MAX_REF]);
            dp_capture_ring_pop(&r);
        }
        cr_assert_leq(r.head - r.tail, r.size);
        cr_assert_lt(ref_head - ref_tail, (size_t) MAX_REF);
    }
    while (ref_head != ref_tail) {
        const struct dp_capture_rec *rec = dp_capture_ring_peek(&r);

        cr_assert_not_null(rec);
        check_rec(rec, &ref[ref_tail++ % MAX_REF]);
        dp_capture_ring_pop(&r);
    }
    cr_assert_null(dp_capture_ring_peek(&r));
    cr_assert_eq(r.n_put + r.n_dropped, attempts);
    cr_assert_gt(r.n_dropped, 0);
    dp_capture_ring_release(&r);
}

struct spsc {
    struct dp_capture_ring r;
    uint64_t n;
};

static void *
spsc_producer(void *s_)
{
    struct spsc *s = s_;
    uint8_t buf[256];

    for (uint64_t i = 0; i < s->n; i++) {
        struct dp_capture_rec hdr = { .ts_ns = i };
        uint32_t len = 1 + i % 200;

        memset(buf, (uint8_t) i, len);
        hdr.orig_len = len;
        dp_capture_ring_put(&s->r, &hdr, buf, len);
    }
    return NULL;
}

Test(dp_capture, ring_two_threads)
{
    struct spsc s = { .n = 300000 };
    uint64_t got = 0, last = 0;
    pthread_t t;

    dp_capture_ring_init(&s.r, 8192);
    pthread_create(&t, NULL, spsc_producer, &s);
    for (;;) {
        const struct dp_capture_rec *rec = dp_capture_ring_peek(&s.r);

        if (!rec) {
            if (__atomic_load_n(&s.r.n_put, __ATOMIC_RELAXED)
                + __atomic_load_n(&s.r.n_dropped, __ATOMIC_RELAXED)
                == s.n) {
                if (!dp_capture_ring_peek(&s.r)) {
                    break;
                }
            }
            continue;
        }
        const uint8_t *d = (const uint8_t *) (rec + 1);
        cr_assert(got == 0 || rec->ts_ns > last, "out of order");
        cr_assert_eq(rec->cap_len, 1 + rec->ts_ns % 200);
        for (uint32_t i = 0; i < rec->cap_len; i++) {
            cr_assert_eq(d[i], (uint8_t) rec->ts_ns);
        }
        last = rec->ts_ns;
        got++;
        dp_capture_ring_pop(&s.r);
    }
    pthread_join(t, NULL);
    cr_assert_eq(got, s.r.n_put);
    cr_assert_eq(s.r.n_put + s.r.n_dropped, s.n);
    dp_capture_ring_release(&s.r);
}

/* ---- Taps on dummy ports ---------------------------------------------- */

static int
out2_upcall(void *aux, struct dpif_upcall *up)
{
    dpa_put_output(&up->actions, 2);
    up->wc.masks.in_port = UINT32_MAX;
    up->install = true;
    return 0;
}

static struct dpif *
setup(void)
{
    struct smap opts = SMAP_INITIALIZER;
    struct dpif *dpif;
    char *err = NULL;

    cr_assert_eq(dpif_create("cap0", NULL, &dpif), 0);
    smap_replace(&opts, "tx-offloads", "csum,tso");
    for (uint32_t i = 1; i <= 3; i++) {
        char name[16];
        uint32_t no = i;

        snprintf(name, sizeof name, "c%u", i);
        cr_assert_eq(dpif_port_add(dpif, name, "dummy", i == 3 ? &opts : NULL,
                                   &no, &err), 0, "%s", err ? err : "");
    }
    smap_destroy(&opts);
    dpif_set_upcall_cb(dpif, out2_upcall, NULL);
    return dpif;
}

/* UDP from 10.0.0.1:1234 to 10.0.0.2:'dport' with 'payload' bytes. */
static size_t
build_udp(uint8_t *f, uint16_t dport, size_t payload)
{
    static const uint8_t tmpl[42] = {
        0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 1, 0x08, 0x00,
        0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0,
        10, 0, 0, 1, 10, 0, 0, 2,
        0x04, 0xd2, 0, 53, 0, 8, 0, 0,
    };

    memcpy(f, tmpl, sizeof tmpl);
    f[16] = (20 + 8 + payload) >> 8;
    f[17] = 20 + 8 + payload;
    f[36] = dport >> 8;
    f[37] = dport;
    f[38] = (8 + payload) >> 8;
    f[39] = 8 + payload;
    for (size_t i = 0; i < payload; i++) {
        f[42 + i] = i;
    }
    return 42 + payload;
}

static int
collect(struct dpif *dpif, uint32_t port, int want)
{
    struct dp_packet *p[64];
    int n = 0;

    for (int t = 0; t < 3000 && n < want; t++) {
        int k = dpif_port_collect(dpif, port, p, ARRAY_SIZE(p));

        cr_assert_geq(k, 0);
        for (int i = 0; i < k; i++) {
            dp_packet_delete(p[i]);
        }
        n += k;
        if (n < want) {
            usleep(1000);
        }
    }
    return n;
}

struct got {
    int n;
    int n_rx, n_tx;
    uint64_t bytes;
    uint32_t lens[512];
    uint32_t orig[512];
    uint64_t last_ts;
    bool ordered;
};

static void
got_cb(void *g_, const struct dpif_capture_packet *p)
{
    struct got *g = g_;

    if (g->n && p->ts_ns < g->last_ts) {
        g->ordered = false;
    }
    g->last_ts = p->ts_ns;
    if (g->n < 512) {
        g->lens[g->n] = p->len;
        g->orig[g->n] = p->orig_len;
    }
    g->n++;
    g->n_rx += p->direction == DPIF_CAPTURE_RX;
    g->n_tx += p->direction == DPIF_CAPTURE_TX;
    g->bytes += p->len;
}

static void
poll_all(struct dpif_capture *tap, struct got *g)
{
    while (dpif_capture_poll(tap, 7, got_cb, g)) {
        continue;
    }
}

Test(dp_capture, rx_filter_and_tx)
{
    struct dpif *dpif = setup();
    struct dpif_capture_config c1 = {
        .port_no = 1, .directions = DPIF_CAPTURE_RX,
        .filter = "udp dst port 53",
    };
    struct dpif_capture_config c2 = { .port_no = 2 };
    struct dpif_capture *t1, *t2;
    struct got g1 = { .ordered = true }, g2 = { .ordered = true };
    struct dpif_capture_stats st;
    uint64_t want_bytes = 0;
    char *err;
    uint8_t f[256];

    cr_assert_eq(dpif_capture_start(dpif, &c1, &t1, &err), 0);
    cr_assert_eq(dpif_capture_start(dpif, &c2, &t2, &err), 0);
    for (int i = 0; i < 15; i++) {
        size_t len = build_udp(f, i < 10 ? 53 : 54, 10 + i);

        if (i < 10) {
            want_bytes += len;
        }
        cr_assert_eq(dpif_port_inject(dpif, 1, f, len), 0);
    }
    cr_assert_eq(collect(dpif, 2, 15), 15);
    poll_all(t1, &g1);
    poll_all(t2, &g2);
    cr_assert_eq(g1.n, 10, "rx tap: %d packets", g1.n);
    cr_assert_eq(g1.n_rx, 10);
    cr_assert_eq(g1.bytes, want_bytes);
    for (int i = 0; i < 10; i++) {
        cr_assert_eq(g1.lens[i], 42 + 10 + i);
        cr_assert_eq(g1.orig[i], g1.lens[i]);
    }
    cr_assert_eq(g2.n, 15, "tx tap: %d packets", g2.n);
    cr_assert_eq(g2.n_tx, 15);
    cr_assert(g2.ordered);
    dpif_capture_get_stats(t1, &st);
    cr_assert_eq(st.matched, 10);
    cr_assert_eq(st.delivered, 10);
    cr_assert_eq(st.dropped, 0);
    dpif_capture_stop(t1);
    /* The other tap of the same datapath keeps working. */
    cr_assert_eq(dpif_port_inject(dpif, 1, f, 60), 0);
    cr_assert_eq(collect(dpif, 2, 1), 1);
    g2.n = 0;
    poll_all(t2, &g2);
    cr_assert_eq(g2.n, 1);
    dpif_capture_stop(t2);
    dpif_destroy(dpif);
}

Test(dp_capture, errors)
{
    struct dpif *dpif = setup();
    struct dpif_capture_config c = { .port_no = 9 };
    struct dpif_capture *t;
    char *err;

    cr_assert_eq(dpif_capture_start(dpif, &c, &t, &err), -TS_ERR_NO_PORT);
    cr_assert_null(t);
    cr_assert_not_null(strstr(err, "no port 9"), "%s", err);
    free(err);
    c.port_no = 1;
    c.filter = "udp prot 5";
    cr_assert_eq(dpif_capture_start(dpif, &c, &t, &err), -EINVAL);
    cr_assert_not_null(strstr(err, "bad filter 'udp prot 5'"), "%s", err);
    free(err);
    c.filter = NULL;
    c.directions = 8;
    cr_assert_eq(dpif_capture_start(dpif, &c, &t, &err), -EINVAL);
    free(err);
    c.directions = 0;
    c.snaplen = DPIF_CAPTURE_SNAPLEN_MAX + 1;
    cr_assert_eq(dpif_capture_start(dpif, &c, &t, &err), -EINVAL);
    free(err);
    dpif_capture_stop(NULL);
    dpif_destroy(dpif);
}

Test(dp_capture, snaplen_truncates)
{
    struct dpif *dpif = setup();
    struct dpif_capture_config c = {
        .port_no = 1, .directions = DPIF_CAPTURE_RX, .snaplen = 20,
    };
    struct dpif_capture *t;
    struct got g = { .ordered = true };
    uint8_t f[256];
    size_t len = build_udp(f, 53, 100);
    char *err;

    cr_assert_eq(dpif_capture_start(dpif, &c, &t, &err), 0);
    cr_assert_eq(dpif_port_inject(dpif, 1, f, len), 0);
    cr_assert_eq(collect(dpif, 2, 1), 1);
    poll_all(t, &g);
    cr_assert_eq(g.n, 1);
    cr_assert_eq(g.lens[0], 20);
    cr_assert_eq(g.orig[0], len);
    dpif_capture_stop(t);
    dpif_destroy(dpif);
}

/* A ring too small to keep up: captures are dropped and counted, every
 * packet is still forwarded. */
Test(dp_capture, full_ring_drops_copies_not_packets)
{
    struct dpif *dpif = setup();
    struct dpif_capture_config c = {
        .port_no = 1, .directions = DPIF_CAPTURE_RX,
        .ring_bytes = DPIF_CAPTURE_RING_MIN,
    };
    struct dpif_capture *t;
    struct dpif_capture_stats st;
    struct got g = { .ordered = true };
    uint8_t f[1100];
    size_t len = build_udp(f, 53, 1000);
    char *err;

    cr_assert_eq(dpif_capture_start(dpif, &c, &t, &err), 0);
    for (int i = 0; i < 200; i++) {
        cr_assert_eq(dpif_port_inject(dpif, 1, f, len), 0);
    }
    cr_assert_eq(collect(dpif, 2, 200), 200, "forwarding lost packets");
    poll_all(t, &g);
    dpif_capture_get_stats(t, &st);
    cr_assert_gt(st.dropped, 0);
    cr_assert_eq(st.matched, 200);
    cr_assert_eq(st.delivered + st.dropped, 200);
    cr_assert_eq((uint64_t) g.n, st.delivered);
    dpif_capture_stop(t);
    dpif_destroy(dpif);
}

Test(dp_capture, port_deleted_and_dpif_destroyed_under_tap)
{
    struct dpif *dpif = setup();
    struct dpif_capture_config c2 = { .port_no = 2 };
    struct dpif_capture_config c1 = { .port_no = 1 };
    struct dpif_capture *t1, *t2;
    struct got g = { .ordered = true };
    uint8_t f[128];
    size_t len = build_udp(f, 53, 10);
    char *err;

    cr_assert_eq(dpif_capture_start(dpif, &c2, &t2, &err), 0);
    cr_assert_eq(dpif_capture_start(dpif, &c1, &t1, &err), 0);
    cr_assert_eq(dpif_port_inject(dpif, 1, f, len), 0);
    cr_assert_eq(collect(dpif, 2, 1), 1);
    cr_assert_not(dpif_capture_is_detached(t2));
    cr_assert_eq(dpif_port_del(dpif, 2), 0);
    cr_assert(dpif_capture_is_detached(t2));
    cr_assert_not(dpif_capture_is_detached(t1));
    /* What was captured before stays readable. */
    poll_all(t2, &g);
    cr_assert_eq(g.n, 1);
    dpif_capture_stop(t2);
    dpif_destroy(dpif);
    cr_assert(dpif_capture_is_detached(t1));
    g.n = 0;
    poll_all(t1, &g);
    cr_assert_eq(g.n, 1);
    dpif_capture_stop(t1);
}

/* A TCP GSO packet of 10 x 1000 bytes with a partial checksum. */
static struct dp_packet *
build_gso(void)
{
    enum { PAYLOAD = 10000, HDR = 14 + 20 + 20 };
    struct dp_packet *p = dp_packet_new(HDR + PAYLOAD);
    uint8_t *d = dp_packet_put_uninit(p, HDR + PAYLOAD);

    memset(d, 0, HDR + PAYLOAD);
    memcpy(d, "\x00\x00\x00\x00\x00\x02\x00\x00\x00\x00\x00\x01\x08\x00",
           14);
    d[14] = 0x45;
    d[16] = (20 + 20 + PAYLOAD) >> 8;
    d[17] = (uint8_t) (20 + 20 + PAYLOAD);
    d[22] = 64;
    d[23] = 6;
    memcpy(d + 26, "\x0a\x00\x00\x01\x0a\x00\x00\x02", 8);
    d[34] = 0x9c;               /* 40000 -> 5201 */
    d[35] = 0x40;
    d[36] = 0x14;
    d[37] = 0x51;
    d[46] = 0x50;               /* data offset 5 */
    d[47] = 0x18;               /* PSH, ACK */
    d[48] = 0x02;
    p->ofl.flags = DP_OFL_CSUM_PARTIAL;
    p->ofl.csum_start = 34;
    p->ofl.csum_offset = 16;
    p->ofl.gso_type = DP_GSO_TCPV4;
    p->ofl.gso_size = 1000;
    p->in_port = DPIF_PORT_LOCAL;
    return p;
}

/* tx shows what the port sends: segments for a port without TSO, the
 * superframe for one with it. */
Test(dp_capture, tx_gso_as_the_port_sends_it)
{
    struct dpif *dpif = setup();
    struct dpif_capture_config c2 = { .port_no = 2,
                                      .directions = DPIF_CAPTURE_TX };
    struct dpif_capture_config c3 = { .port_no = 3,
                                      .directions = DPIF_CAPTURE_TX };
    struct dpif_capture *t2, *t3;
    struct got g2 = { .ordered = true }, g3 = { .ordered = true };
    uint64_t stub[8];
    struct dpa_buf acts;
    struct flow flow;
    char *err;

    cr_assert_eq(dpif_capture_start(dpif, &c2, &t2, &err), 0);
    cr_assert_eq(dpif_capture_start(dpif, &c3, &t3, &err), 0);
    for (uint32_t port = 2; port <= 3; port++) {
        struct dp_packet *p = build_gso();

        flow_extract(p, &flow);
        DPA_BUF_STUB(&acts, stub);
        dpa_put_output(&acts, port);
        cr_assert_eq(dpif_execute(dpif, p, &flow, acts.data, acts.size), 0);
    }
    cr_assert_eq(collect(dpif, 2, 10), 10, "port 2 gets 10 segments");
    cr_assert_eq(collect(dpif, 3, 1), 1, "port 3 takes the superframe");
    poll_all(t2, &g2);
    poll_all(t3, &g3);
    cr_assert_eq(g2.n, 10, "tx tap of port 2: %d", g2.n);
    for (int i = 0; i < 10; i++) {
        cr_assert_eq(g2.lens[i], 54 + 1000);
        cr_assert_eq(g2.orig[i], 54 + 1000);
    }
    cr_assert_eq(g3.n, 1);
    cr_assert_eq(g3.orig[0], 54 + 10000);
    dpif_capture_stop(t2);
    dpif_capture_stop(t3);
    dpif_destroy(dpif);
}
