/* Tests for link impairments (datapath/dp-impair.c): option parsing, then
 * one queue in simulated time (delay distribution, no reordering with
 * jitter, loss rate, token-bucket rate, queue limit), then the datapath
 * with dummy ports in real time (delayed delivery through the worker's
 * timer, loss counted in tx_dropped, run-time changes).  Real-time checks
 * assert only bounds that a slow machine cannot break (a delay is never
 * shorter than configured). */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dp-impair.h"
#include "dpif.h"
#include "dynamic-string.h"
#include "errors.h"
#include "smap.h"
#include "util.h"

#define MS 1000000ULL
#define US 1000ULL

static int
parse(const char *kvs, struct dp_impair_params *p, struct smap *rest,
      char **err)
{
    struct smap o = SMAP_INITIALIZER;
    char *copy = xstrdup(kvs), *save = NULL;
    int r;

    for (char *t = strtok_r(copy, " ", &save); t;
         t = strtok_r(NULL, " ", &save)) {
        cr_assert(smap_add_kv(&o, t));
    }
    *err = NULL;
    r = dp_impair_parse(&o, p, rest, err);
    smap_destroy(&o);
    free(copy);
    return r;
}

Test(dp_impair, parse_good)
{
    struct dp_impair_params p;
    struct smap rest;
    char *err;
    struct ds s = DS_EMPTY_INITIALIZER;

    cr_assert_eq(parse("delay=5ms jitter=200us loss=0.5% rate=10mbit "
                       "limit=50 rx-mode=poll", &p, &rest, &err), 0);
    cr_assert_eq(p.delay_ns, 5 * MS);
    cr_assert_eq(p.jitter_ns, 200 * US);
    cr_assert_eq(p.loss, (uint64_t) llround(0.005 * 4294967296.0));
    cr_assert_eq(p.rate_bps, 10000000);
    cr_assert_eq(p.burst_bytes, 3000);
    cr_assert_eq(p.limit, 50);
    cr_assert(dp_impair_params_active(&p));
    cr_assert_eq(rest.n, 1);
    cr_assert_str_eq(smap_get(&rest, "rx-mode"), "poll");
    dp_impair_format(&s, &p);
    cr_assert_str_eq(s.string, "delay=5ms jitter=200us loss=0.5% "
                     "rate=10000000bit limit=50");
    ds_destroy(&s);
    smap_destroy(&rest);

    cr_assert_eq(parse("rate=1gbit loss=1 delay=1.5s", &p, &rest, &err), 0);
    cr_assert_eq(p.rate_bps, 1000000000);
    cr_assert_eq(p.burst_bytes, 125000);
    cr_assert_eq(p.delay_ns, 1500 * MS);
    cr_assert_eq(p.loss, (uint64_t) llround(0.01 * 4294967296.0));
    cr_assert_eq(p.limit, DP_IMPAIR_DEFAULT_LIMIT);
    smap_destroy(&rest);

    cr_assert_eq(parse("loss=100% delay=0", &p, &rest, &err), 0);
    cr_assert_eq(p.loss, 1ULL << 32);
    cr_assert_eq(p.delay_ns, 0);
    smap_destroy(&rest);

    cr_assert_eq(parse("limit=7 mtu=9000", &p, &rest, &err), 0);
    cr_assert_not(dp_impair_params_active(&p), "limit alone is inactive");
    smap_destroy(&rest);
}

Test(dp_impair, parse_bad)
{
    static const char *const bad[] = {
        "delay=5", "delay=-1ms", "delay=5parsecs", "delay=61s", "delay=",
        "jitter=abc", "loss=101%", "loss=-1%", "loss=x", "rate=10",
        "rate=10mbps/s", "rate=1bit", "limit=0", "limit=1x",
        "limit=1000001", "delay=nanms", "delay=infms",
    };

    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        struct dp_impair_params p;
        struct smap rest;
        char *err;

        cr_assert_eq(parse(bad[i], &p, &rest, &err), -EINVAL, "%s", bad[i]);
        cr_assert(err && strstr(err, "bad "), "%s: %s", bad[i], err);
        cr_assert_eq(rest.n, 0);
        free(err);
    }
}

/* ---- Simulated time --------------------------------------------------- */

static struct dp_packet *
mkpkt(uint32_t seq, uint32_t size)
{
    struct dp_packet *p = dp_packet_new(size);

    memset(dp_packet_put_uninit(p, size), 0, size);
    memcpy(dp_packet_data(p), &seq, sizeof seq);
    return p;
}

static uint32_t
seq_of(const struct dp_packet *p)
{
    uint32_t seq;

    memcpy(&seq, dp_packet_data(p), sizeof seq);
    return seq;
}

static struct dp_impair_q *
mkq(const char *kvs, uint64_t seed)
{
    struct dp_impair_params p;
    struct smap rest;
    char *err;
    struct dp_impair_q *q;

    cr_assert_eq(parse(kvs, &p, &rest, &err), 0, "%s", err);
    smap_destroy(&rest);
    q = dp_impair_q_create(&p, "test", seed);
    cr_assert_not_null(q);
    return q;
}

/* A simulated link: offers a packet of 'size' every 'gap' ns from t=0
 * for 'n' packets, advancing time to each next event (arrival or the
 * queue's next departure), and records departure times by sequence. */
struct sim {
    uint64_t *sent_at;          /* by seq; 0: not sent */
    uint32_t *order;            /* seqs in departure order */
    uint32_t n_sent, n_passed, n_dropped;
    uint64_t bytes, end_ns;
};

static void
sim_take(struct sim *s, struct dp_packet_batch *b, uint64_t now)
{
    for (uint32_t i = 0; i < b->count; i++) {
        uint32_t seq = seq_of(b->packets[i]);

        s->sent_at[seq] = now;
        s->order[s->n_sent++] = seq;
        s->bytes += dp_packet_size(b->packets[i]);
        dp_packet_delete(b->packets[i]);
    }
    b->count = 0;
}

static void
sim_run(struct dp_impair_q *q, struct sim *s, uint32_t n, uint64_t gap,
        uint32_t size)
{
    uint64_t now = 1, next_arrival = 1;
    uint32_t seq = 0;

    memset(s, 0, sizeof *s);
    s->sent_at = xcalloc(n, sizeof *s->sent_at);
    s->order = xcalloc(n, sizeof *s->order);
    for (;;) {
        struct dp_packet_batch b;
        uint64_t next;

        if (seq < n && next_arrival <= now) {
            struct dp_packet *p = mkpkt(seq, size);

            switch (dp_impair_q_enqueue(q, p, now)) {
            case DP_IMPAIR_PASS:
                dp_packet_batch_init(&b);
                dp_packet_batch_add(&b, p);
                sim_take(s, &b, now);
                s->n_passed++;
                p = NULL;
                break;
            case DP_IMPAIR_DROP:
                s->n_dropped++;
                break;
            case DP_IMPAIR_QUEUED:
                break;
            }
            dp_packet_delete(p);
            seq++;
            next_arrival += gap;
        }
        dp_packet_batch_init(&b);
        dp_impair_q_dequeue(q, now, &b);
        sim_take(s, &b, now);
        next = dp_impair_q_next_ns(q, now);
        if (seq < n) {
            next = MIN(next, next_arrival);
        }
        if (next == UINT64_MAX) {
            break;
        }
        /* An arrival we fell behind on is handled at 'now'. */
        /* Service lag of a real worker: up to 20 us late. */
        now = MAX(next, now) + (next > now ? (next * 7919) % (20 * US) : 0);
    }
    s->end_ns = now;
}

static void
sim_free(struct sim *s)
{
    free(s->sent_at);
    free(s->order);
}

Test(dp_impair, delay_distribution)
{
    struct dp_impair_q *q = mkq("delay=10ms jitter=2ms", 42);
    struct sim s;
    uint32_t n = 2000, below = 0, above = 0;
    double sum = 0;
    uint64_t min = UINT64_MAX, max = 0;

    /* 5 ms apart: wider than 2 * jitter, so no packet waits for the one
     * ahead and the jitter shows undistorted. */
    sim_run(q, &s, n, 5 * MS, 100);
    cr_assert_eq(s.n_sent, n);
    cr_assert_eq(s.n_passed, 0);
    for (uint32_t i = 0; i < n; i++) {
        uint64_t d = s.sent_at[i] - (1 + (uint64_t) i * 5 * MS);

        sum += d;
        min = MIN(min, d);
        max = MAX(max, d);
        below += d < 9 * MS;
        above += d > 11 * MS;
    }
    cr_assert_geq(min, 8 * MS, "min %llu", (unsigned long long) min);
    cr_assert_leq(max, 12 * MS + 50 * US, "max %llu",
                  (unsigned long long) max);
    cr_assert(fabs(sum / n - 10e6) < 0.15e6, "mean %.0f ns", sum / n);
    fprintf(stderr, "impair: delay=10ms jitter=2ms: mean %.3f ms, min "
            "%.3f, max %.3f, %u/%u below 9 ms, %u above 11 ms\n",
            sum / n / 1e6, min / 1e6, max / 1e6, below, n, above);
    /* Uniform: a quarter below 9 ms, a quarter above 11 ms. */
    cr_assert(below > n / 6 && below < n / 3, "below %u", below);
    cr_assert(above > n / 6 && above < n / 3, "above %u", above);
    cr_assert_eq(q->stats.n_queued, n);
    sim_free(&s);
    dp_impair_q_destroy(q);
}

Test(dp_impair, jitter_never_reorders)
{
    struct dp_impair_q *q = mkq("delay=5ms jitter=5ms limit=10000", 7);
    struct sim s;
    uint32_t n = 5000;

    sim_run(q, &s, n, 50 * US, 100);
    cr_assert_eq(s.n_sent, n);
    for (uint32_t i = 0; i < n; i++) {
        cr_assert_eq(s.order[i], i, "packet %u left as %u", s.order[i], i);
        if (i) {
            cr_assert_geq(s.sent_at[i], s.sent_at[i - 1]);
        }
        cr_assert_geq(s.sent_at[i], 1 + (uint64_t) i * 50 * US);
    }
    sim_free(&s);
    dp_impair_q_destroy(q);
}

static void
check_loss(const char *kvs, double pct, uint32_t n)
{
    struct dp_impair_q *q = mkq(kvs, 1234);
    struct sim s;
    double expect = n * pct / 100, sigma = sqrt(n * pct / 100
                                                * (1 - pct / 100));

    sim_run(q, &s, n, 10 * US, 64);
    cr_assert_eq(s.n_sent + s.n_dropped, n);
    cr_assert_eq(q->stats.n_lost, s.n_dropped);
    /* 6 sigma: a deterministic seed, but no reliance on it. */
    cr_assert(fabs(s.n_dropped - expect) <= 6 * sigma + 1,
              "%s: %u lost of %u, expected %.0f", kvs, s.n_dropped, n,
              expect);
    fprintf(stderr, "impair: %s: %u of %u lost (%.3f%%)\n", kvs,
            s.n_dropped, n, 100.0 * s.n_dropped / n);
    /* Loss alone never copies. */
    cr_assert_eq(s.n_passed, s.n_sent);
    sim_free(&s);
    dp_impair_q_destroy(q);
}

Test(dp_impair, loss_rate)
{
    check_loss("loss=10%", 10, 100000);
    check_loss("loss=1%", 1, 100000);
    check_loss("loss=0.5%", 0.5, 200000);
    check_loss("loss=100%", 100, 1000);
}

Test(dp_impair, rate_long_run)
{
    /* 10 mbit/s offered 20 mbit/s of 1000-byte frames for 10 simulated
     * seconds: about half is dropped at the queue limit and what leaves
     * runs at the rate. */
    struct dp_impair_q *q = mkq("rate=10mbit limit=100", 99);
    struct sim s;
    uint32_t n = 25000;
    double secs, mbit;

    sim_run(q, &s, n, 400 * US, 1000);
    secs = (s.sent_at[s.order[s.n_sent - 1]] - 1) / 1e9;
    mbit = s.bytes * 8 / secs / 1e6;
    cr_assert(fabs(mbit - 10) < 0.2, "rate %.3f mbit/s over %.2f s", mbit,
              secs);
    fprintf(stderr, "impair: rate=10mbit measured %.4f mbit/s over %.2f "
            "simulated s\n", mbit, secs);
    cr_assert_gt(s.n_dropped, n / 3, "excess was not dropped");
    cr_assert_lt(s.n_dropped, 2 * n / 3);
    cr_assert_eq(q->stats.n_overflow, s.n_dropped);
    for (uint32_t i = 1; i < s.n_sent; i++) {
        cr_assert_gt(s.order[i], s.order[i - 1], "rate reordered");
    }
    sim_free(&s);
    dp_impair_q_destroy(q);

    /* Below the rate nothing waits: every frame passes uncopied. */
    q = mkq("rate=10mbit", 5);
    sim_run(q, &s, 1000, 2 * MS, 1000);
    cr_assert_eq(s.n_passed, 1000);
    sim_free(&s);
    dp_impair_q_destroy(q);

    /* Large frames (GSO) exceed the burst but still pass, at the rate. */
    q = mkq("rate=100mbit delay=1ms", 5);
    sim_run(q, &s, DP_IMPAIR_MAX_LARGE, 10 * US, 60000);
    secs = (s.sent_at[s.order[s.n_sent - 1]] - 1) / 1e9;
    cr_assert_eq(s.n_sent, DP_IMPAIR_MAX_LARGE);
    mbit = s.bytes * 8 / secs / 1e6;
    cr_assert(fabs(mbit - 100) < 3, "gso rate %.3f", mbit);
    sim_free(&s);
    dp_impair_q_destroy(q);
}

Test(dp_impair, limit_drops_counted)
{
    struct dp_impair_q *q = mkq("delay=1s limit=10", 3);
    struct dp_packet_batch b;
    uint32_t queued = 0, dropped = 0;

    for (uint32_t i = 0; i < 15; i++) {
        struct dp_packet *p = mkpkt(i, 200);
        enum dp_impair_verdict v = dp_impair_q_enqueue(q, p, 1000);

        queued += v == DP_IMPAIR_QUEUED;
        dropped += v == DP_IMPAIR_DROP;
        dp_packet_delete(p);
    }
    cr_assert_eq(queued, 10);
    cr_assert_eq(dropped, 5);
    cr_assert_eq(q->stats.n_overflow, 5);
    cr_assert_eq(dp_impair_q_next_ns(q, 1000), 1000 + 1000 * MS);
    dp_packet_batch_init(&b);
    cr_assert_eq(dp_impair_q_dequeue(q, 1000 + 999 * MS, &b), 0);
    cr_assert_eq(dp_impair_q_dequeue(q, 1000 + 1000 * MS, &b), 10);
    for (uint32_t i = 0; i < b.count; i++) {
        cr_assert_eq(seq_of(b.packets[i]), i);
        cr_assert_eq(dp_packet_size(b.packets[i]), 200);
    }
    dp_packet_batch_delete(&b);
    cr_assert_eq(dp_impair_q_next_ns(q, 0), UINT64_MAX);
    /* Packets still queued at destroy are freed (ASan checks). */
    struct dp_packet *p = mkpkt(99, 100);
    cr_assert_eq(dp_impair_q_enqueue(q, p, 0), DP_IMPAIR_QUEUED);
    dp_packet_delete(p);
    dp_impair_q_destroy(q);
}

/* ---- Through the datapath (dummy ports, real time) -------------------- */

static int
out2_upcall(void *aux, struct dpif_upcall *up)
{
    (void) aux;
    dpa_put_output(&up->actions, 2);
    up->wc.masks.in_port = UINT32_MAX;
    up->install = true;
    return 0;
}

static size_t
frame(uint8_t *f, uint32_t seq)
{
    static const uint8_t tmpl[42] = {
        0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 1, 0x08, 0x00,
        0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0,
        10, 0, 0, 1, 10, 0, 0, 2,
        0x04, 0xd2, 0, 53, 0, 8, 0, 0,
    };

    memset(f, 0, 100);
    memcpy(f, tmpl, sizeof tmpl);
    memcpy(f + 60, &seq, sizeof seq);
    return 100;
}

static struct dpif *
dp_setup(const char *p2_opts)
{
    struct dpif *dpif;
    struct smap o = SMAP_INITIALIZER;
    char *err = NULL, *copy = xstrdup(p2_opts), *save = NULL;
    uint32_t no = 1;

    for (char *t = strtok_r(copy, " ", &save); t;
         t = strtok_r(NULL, " ", &save)) {
        cr_assert(smap_add_kv(&o, t));
    }
    free(copy);
    cr_assert_eq(dpif_create("br-imp", NULL, &dpif), 0);
    cr_assert_eq(dpif_port_add(dpif, "p1", "dummy", NULL, &no, &err), 0);
    no = 2;
    cr_assert_eq(dpif_port_add(dpif, "p2", "dummy", &o, &no, &err), 0,
                 "%s", err ? err : "");
    smap_destroy(&o);
    dpif_set_upcall_cb(dpif, out2_upcall, NULL);
    return dpif;
}

/* Collects for up to 'ms'; returns the number of frames and the time the
 * last one arrived. */
static int
collect_for(struct dpif *dpif, int want, long long ms, long long *last)
{
    long long end = time_msec() + ms;
    int n = 0;

    while (n < want && time_msec() < end) {
        struct dp_packet *p[32];
        int k = dpif_port_collect(dpif, 2, p, 32);

        cr_assert_geq(k, 0);
        for (int i = 0; i < k; i++) {
            dp_packet_delete(p[i]);
        }
        if (k) {
            *last = time_nsec();
        }
        n += k;
        if (n < want) {
            usleep(200);
        }
    }
    return n;
}

Test(dp_impair, datapath_delay_loss_and_set)
{
    struct dpif *dpif = dp_setup("delay=30ms");
    struct dpif_port_stats st;
    struct smap o = SMAP_INITIALIZER;
    uint8_t f[100];
    long long t0, last = 0;
    char *err;

    /* Delay: the idle worker sleeps and its timer sends the frame. */
    for (int i = 0; i < 3; i++) {
        t0 = time_nsec();
        cr_assert_eq(dpif_port_inject(dpif, 1, f, frame(f, i)), 0);
        cr_assert_eq(collect_for(dpif, 1, 3000, &last), 1);
        cr_assert_geq(last - t0, 30 * (long long) MS,
                      "left after %lld ns", last - t0);
    }

    /* Run-time change to 100% loss: counted as tx drops. */
    smap_replace(&o, "loss", "100%");
    cr_assert_eq(dpif_port_set_options(dpif, 2, &o, &err), 0, "%s", err);
    for (int i = 0; i < 20; i++) {
        cr_assert_eq(dpif_port_inject(dpif, 1, f, frame(f, i)), 0);
    }
    cr_assert_eq(collect_for(dpif, 20, 200, &last), 0);
    cr_assert_eq(dpif_port_stats(dpif, 2, &st), 0);
    cr_assert_eq(st.tx_dropped, 20);

    /* Removing every key: frames pass at once again. */
    smap_destroy(&o);
    smap_init(&o);
    cr_assert_eq(dpif_port_set_options(dpif, 2, &o, &err), 0, "%s", err);
    cr_assert_eq(dpif_port_inject(dpif, 1, f, frame(f, 0)), 0);
    cr_assert_eq(collect_for(dpif, 1, 3000, &last), 1);

    /* Other options cannot change on a live port. */
    smap_replace(&o, "mtu", "9000");
    cr_assert_eq(dpif_port_set_options(dpif, 2, &o, &err), -EOPNOTSUPP);
    cr_assert(strstr(err, "'mtu'"), "%s", err);
    free(err);
    smap_destroy(&o);
    smap_init(&o);
    smap_replace(&o, "delay", "soon");
    cr_assert_eq(dpif_port_set_options(dpif, 2, &o, &err), -EINVAL);
    free(err);
    cr_assert_eq(dpif_port_set_options(dpif, 9, &o, &err),
                 -TS_ERR_NO_PORT);
    free(err);
    smap_destroy(&o);
    dpif_destroy(dpif);
}

Test(dp_impair, datapath_rate_and_limit_change)
{
    /* 200 frames of 100 bytes at 80 kbit/s: 2 s of serialization, less
     * the 3000-byte burst.  Only the lower bound is asserted. */
    struct dpif *dpif = dp_setup("rate=800kbit");
    struct smap o = SMAP_INITIALIZER;
    uint8_t f[100];
    long long t0, last = 0;
    int n;
    char *err;

    t0 = time_nsec();
    for (int i = 0; i < 200; i++) {
        cr_assert_eq(dpif_port_inject(dpif, 1, f, frame(f, i)), 0);
    }
    n = collect_for(dpif, 200, 5000, &last);
    cr_assert_eq(n, 200);
    /* 200 * 800 bits = 160 kbit; at 800 kbit/s 0.2 s, minus 3000 bytes
     * of burst (30 ms). */
    cr_assert_geq(last - t0, 160 * (long long) MS,
                  "200 frames took %lld ns", last - t0);

    /* Queue some frames behind a long delay, then change the limit: the
     * queued frames leave at once, and the port is freed with a queue
     * (ASan checks the unwinding). */
    smap_replace(&o, "delay", "10s");
    cr_assert_eq(dpif_port_set_options(dpif, 2, &o, &err), 0, "%s", err);
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(dpif_port_inject(dpif, 1, f, frame(f, i)), 0);
    }
    usleep(50000);
    cr_assert_eq(collect_for(dpif, 5, 50, &last), 0);
    smap_replace(&o, "limit", "10");
    cr_assert_eq(dpif_port_set_options(dpif, 2, &o, &err), 0, "%s", err);
    cr_assert_eq(collect_for(dpif, 5, 2000, &last), 5);
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(dpif_port_inject(dpif, 1, f, frame(f, i)), 0);
    }
    usleep(50000);
    cr_assert_eq(dpif_port_del(dpif, 2), 0);
    smap_destroy(&o);
    dpif_destroy(dpif);
}
