/* Megaflow correctness, differentially: random rules over three tables
 * (resubmit, goto_table, load, move, set_field, mod_*, dec_ttl, VLAN,
 * clone, groups, output:FIELD) and random packets.  Each packet is run
 * twice through the real dpif: once as a packet-out of "resubmit(,0)"
 * (a fresh xlate of that packet, executed synchronously), once injected
 * on its port (the worker's cached path: exact-match cache, megaflows
 * installed by earlier packets).  The frames each port receives must be
 * identical, byte for byte.  Rules and groups change between rounds, so
 * revalidation is exercised too.
 *
 * Also: traffic injected continuously from another thread while the main
 * thread changes the flow table; after each change returns, no packet
 * injected afterwards may follow the old rule. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <time.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include "dp-packet.h"
#include "dpif.h"
#include "dynamic-string.h"
#include "helper-packets.h"
#include "ofp-flow.h"
#include "ofp-group.h"
#include "ofpact.h"
#include "ofproto.h"

#define N_PORTS 3
#define MAX_FRAMES 16

static struct dpif *dpif;
static struct ofproto *ofp;

static void
setup(void)
{
    struct dpif_config cfg = { .n_workers = 1 };

    cr_assert_eq(dpif_create("mfd", &cfg, &dpif), 0);
    ofp = ofproto_create_empty("br0", dpif);
    for (uint32_t i = 1; i <= N_PORTS; i++) {
        char name[16];
        char *msg = NULL;
        uint32_t port_no = i;

        snprintf(name, sizeof name, "p%u", i);
        cr_assert_eq(dpif_port_add(dpif, name, "dummy", NULL, &port_no,
                                   &msg), 0);
        cr_assert_eq(ofproto_port_added(ofp, i, name), 0);
    }
}

static void
teardown(void)
{
    ofproto_destroy(ofp);
    dpif_destroy(dpif);
}

TestSuite(megaflow, .init = setup, .fini = teardown, .timeout = 60);

/* ---- Deterministic random numbers --------------------------------------- */

static uint64_t rng_state;

static uint32_t
rnd(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t) (rng_state % n);
}

/* ---- Flow mods ---------------------------------------------------------- */

static int
flow_mod(const char *text, enum ofp_flow_mod_command cmd)
{
    struct ofp_flow_mod fm;
    char *err = ofp_parse_flow_mod(&fm, text, cmd, NULL);
    int ret;

    cr_assert_null(err, "parse '%s': %s", text, err);
    ret = ofproto_flow_mod(ofp, &fm, &err);
    cr_assert_eq(ret, 0, "'%s': %s", text, err ? err : "?");
    ofp_flow_mod_release(&fm);
    return ret;
}

static void
group_mod(const char *text, enum ofp_group_mod_command cmd)
{
    struct ofp_group_mod gm;
    char *err = ofp_parse_group_mod(&gm, text, cmd, NULL);

    cr_assert_null(err, "parse '%s': %s", text, err);
    cr_assert_eq(ofproto_group_mod(ofp, &gm, &err), 0, "'%s': %s", text,
                 err ? err : "?");
    ofp_group_mod_release(&gm);
}

static void
random_match(struct ds *s, int table)
{
    if (rnd(2)) {
        ds_put_format(s, ",in_port=%u", 1 + rnd(N_PORTS));
    }
    if (!rnd(8)) {
        ds_put_format(s, ",nw_src=10.0.0.%u", 1 + rnd(4));
    } else if (!rnd(6)) {
        ds_put_cstr(s, ",nw_src=10.0.0.0/31");
    }
    if (!rnd(3)) {
        ds_put_format(s, ",nw_dst=10.0.1.%u", 1 + rnd(4));
    }
    if (!rnd(6)) {
        static const int ports[] = { 53, 80, 443 };
        ds_put_format(s, ",tp_dst=%d", ports[rnd(3)]);
    }
    if (!rnd(5)) {
        ds_put_format(s, ",tp_src=%u", rnd(2) ? 1000 : 2000);
    }
    if (table > 0 && rnd(2)) {
        ds_put_format(s, ",reg0=%u", rnd(4));
    }
    if (!rnd(6)) {
        ds_put_format(s, ",dl_vlan=%u", 5 + rnd(2));
    }
    if (!rnd(8)) {
        ds_put_format(s, ",nw_ttl=%u", rnd(2) ? 64 : 1);
    }
}

static void
random_action(struct ds *s, int table)
{
    static const int ports[] = { 53, 80, 443 };

    switch (rnd(27)) {
    case 0: ds_put_format(s, "load:%u->NXM_NX_REG0[]", rnd(4)); break;
    case 1: ds_put_format(s, "load:%u->NXM_NX_REG1[0..1]", rnd(4)); break;
    case 2: ds_put_cstr(s, "move:NXM_OF_IP_SRC[0..1]->NXM_NX_REG0[0..1]");
        break;
    case 3: ds_put_cstr(s, "move:NXM_OF_UDP_DST[0..1]->NXM_NX_REG1[0..1]");
        break;
    case 4: ds_put_format(s, "mod_nw_src:10.0.0.%u", 1 + rnd(4)); break;
    case 5: ds_put_format(s, "mod_nw_dst:10.0.1.%u", 1 + rnd(4)); break;
    case 6: ds_put_format(s, "mod_tp_dst:%d", ports[rnd(3)]); break;
    case 7: ds_put_format(s, "mod_dl_src:02:00:00:00:00:%02x", rnd(256));
        break;
    case 8: ds_put_format(s, "mod_nw_tos:%u", 32 * rnd(3)); break;
    case 9: case 24: ds_put_cstr(s, "dec_ttl"); break;
    case 10: ds_put_format(s, "mod_vlan_vid:%u", 5 + rnd(3)); break;
    case 11: ds_put_cstr(s, "strip_vlan"); break;
    case 12: ds_put_format(s, "set_field:10.0.1.%u->ip_dst", 1 + rnd(4));
        break;
    case 13: case 14:
        ds_put_format(s, "output:%u", 1 + rnd(N_PORTS)); break;
    case 15: ds_put_cstr(s, "output:NXM_NX_REG1[0..1]"); break;
    case 16: ds_put_cstr(s, "in_port"); break;
    case 17: case 18:
        if (table < 2) {
            ds_put_format(s, "resubmit(,%u)", table + 1 + rnd(2 - table));
        } else {
            ds_put_format(s, "output:%u", 1 + rnd(N_PORTS));
        }
        break;
    case 19:
        ds_put_format(s, "clone(mod_nw_dst:10.0.1.9,mod_tp_src:7,"
                      "output:%u)", 1 + rnd(N_PORTS));
        break;
    case 20: ds_put_format(s, "group:%u", 1 + rnd(2)); break;
    case 21: case 22:
        ds_put_cstr(s, "move:NXM_OF_IP_SRC[0..1]->NXM_NX_REG1[0..1],"
                    "output:NXM_NX_REG1[0..1]");
        break;
    case 23:
        ds_put_cstr(s, "move:NXM_OF_UDP_SRC[]->NXM_OF_UDP_DST[]");
        break;
    default:
        ds_put_format(s, "mod_tp_src:%u", 1000 * (1 + rnd(2))); break;
    }
}

static unsigned int next_cookie = 1;

static void
random_rule(void)
{
    struct ds s = DS_EMPTY_INITIALIZER;
    int table = rnd(3);
    int n = 1 + rnd(4);

    ds_put_format(&s, "table=%d,priority=%u,cookie=%#x,udp", table,
                  rnd(4) * 10, next_cookie++);
    random_match(&s, table);
    ds_put_cstr(&s, ",actions=");
    for (int i = 0; i < n; i++) {
        if (i) {
            ds_put_char(&s, ',');
        }
        random_action(&s, table);
    }
    flow_mod(ds_cstr(&s), OFPFC_ADD);
    ds_destroy(&s);
}

static void
random_change(void)
{
    char text[256];
    unsigned int cookie = 1 + rnd(next_cookie);

    switch (rnd(4)) {
    case 0:
        snprintf(text, sizeof text, "cookie=%#x/0xffffffffffffffff",
                 cookie);
        flow_mod(text, OFPFC_DELETE);
        break;
    case 1: {
        struct ds s = DS_EMPTY_INITIALIZER;

        ds_put_format(&s, "udp,cookie=%#x/0xffffffffffffffff,actions=",
                      cookie);
        random_action(&s, 2);
        ds_put_char(&s, ',');
        random_action(&s, 2);
        flow_mod(ds_cstr(&s), OFPFC_MODIFY);
        ds_destroy(&s);
        break;
    }
    case 2:
        snprintf(text, sizeof text, "group_id=%u,type=select,"
                 "bucket=weight:%u,actions=output:2,"
                 "bucket=weight:%u,actions=mod_tp_src:7,output:3",
                 1, 1 + rnd(3), 1 + rnd(3));
        group_mod(text, OFPGC_MODIFY);
        break;
    default:
        random_rule();
        break;
    }
}

/* ---- Packets ------------------------------------------------------------ */

struct frames {
    int n[N_PORTS + 1];
    uint8_t data[N_PORTS + 1][MAX_FRAMES][PKT_MAX];
    size_t len[N_PORTS + 1][MAX_FRAMES];
};

static int
collect_into(struct frames *f)
{
    int total = 0;

    for (uint32_t p = 1; p <= N_PORTS; p++) {
        struct dp_packet *pkts[8];
        int n;

        while ((n = dpif_port_collect(dpif, p, pkts, 8)) > 0) {
            for (int i = 0; i < n; i++) {
                if (f->n[p] < MAX_FRAMES) {
                    size_t len = dp_packet_size(pkts[i]);

                    len = len < PKT_MAX ? len : PKT_MAX;
                    memcpy(f->data[p][f->n[p]], dp_packet_data(pkts[i]),
                           len);
                    f->len[p][f->n[p]] = len;
                }
                f->n[p]++;
                total++;
                dp_packet_delete(pkts[i]);
            }
        }
    }
    return total;
}

static uint64_t
dp_processed(void)
{
    struct dpif_stats st;

    dpif_get_stats(dpif, &st);
    return st.n_hit_emc + st.n_hit_megaflow + st.n_missed;
}

/* A small packet space, so that megaflows get reused by other packets
 * (which is where a missing wildcard bit shows). */
static size_t
random_packet(uint8_t *buf, uint32_t *in_port)
{
    size_t len = pkt_udp4(buf, pkt_mac(2), pkt_mac(1 + rnd(2)),
                          0x0a000001 + rnd(4), 0x0a000101 + rnd(2),
                          rnd(4) ? 1000 : 2000, rnd(2) ? 53 : 80,
                          6 + rnd(2));

    switch (rnd(8)) {
    case 0: buf[22] = 1; break;
    case 1: buf[22] = 2; break;
    default: break;
    }
    pkt_fix_csums(buf, len);
    if (!rnd(6)) {
        len = pkt_push_vlan(buf, len, 0x8100, 5 + rnd(2));
    }
    *in_port = 1 + rnd(N_PORTS);
    return len;
}

static void
describe(struct ds *s, uint32_t in_port, const uint8_t *pkt, size_t len)
{
    ofproto_trace_packet(ofp, in_port, pkt, len, s);
}

static void
run_one(const uint8_t *pkt, size_t len, uint32_t in_port)
{
    static struct frames ref, got;
    struct ofpacts acts;
    char *err = NULL;
    int expect, total = 0;
    uint64_t before;

    memset(ref.n, 0, sizeof ref.n);
    memset(got.n, 0, sizeof got.n);

    /* Fresh xlate, executed synchronously in this thread. */
    ofpacts_init(&acts);
    cr_assert_null(ofpacts_parse("resubmit(,0)", NULL, &acts));
    cr_assert_eq(ofproto_packet_out(ofp, in_port, pkt, len, &acts, &err),
                 0, "packet-out: %s", err ? err : "?");
    ofpacts_release(&acts);
    expect = collect_into(&ref);

    /* The cached path. */
    before = dp_processed();
    pkt_inject(dpif, in_port, pkt, len);
    for (int waited = 0; waited < 2000
         && (total < expect || dp_processed() == before); waited++) {
        pkt_sleep_ms(1);
        total = collect_into(&got) + total;
    }
    total += collect_into(&got);

    for (uint32_t p = 1; p <= N_PORTS; p++) {
        bool same = ref.n[p] == got.n[p];

        for (int i = 0; same && i < ref.n[p] && i < MAX_FRAMES; i++) {
            same = ref.len[p][i] == got.len[p][i]
                   && !memcmp(ref.data[p][i], got.data[p][i],
                              ref.len[p][i]);
        }
        if (!same) {
            struct ds s = DS_EMPTY_INITIALIZER;

            describe(&s, in_port, pkt, len);
            cr_assert_fail("port %u: fresh xlate sent %d frames, cached "
                           "path %d (or different bytes); seed %#"PRIx64
                           "\n%s", p, ref.n[p], got.n[p], rng_state,
                           ds_cstr(&s));
        }
        for (int i = 0; i < got.n[p] && i < MAX_FRAMES; i++) {
            cr_assert(pkt_csums_ok(got.data[p][i], got.len[p][i]),
                      "bad checksum on port %u", p);
        }
    }
}

Test(megaflow, differential_random_rules)
{
    uint8_t pkt[PKT_MAX];
    uint64_t seed = 0x9e3779b97f4a7c15ull;

    rng_state = seed;
    group_mod("group_id=1,type=select,bucket=actions=output:2,"
              "bucket=actions=mod_tp_src:7,output:3", OFPGC_ADD);
    group_mod("group_id=2,type=all,bucket=actions=mod_nw_tos:64,output:1,"
              "bucket=actions=output:2", OFPGC_ADD);
    for (int i = 0; i < 12; i++) {
        random_rule();
    }
    for (int round = 0; round < 24; round++) {
        for (int i = 0; i < 40; i++) {
            uint32_t in_port;
            size_t len = random_packet(pkt, &in_port);

            run_one(pkt, len, in_port);
        }
        random_change();
    }
    struct dpif_stats st;
    dpif_get_stats(dpif, &st);
    /* The cached path really was cached most of the time. */
    cr_assert_gt(st.n_hit_emc + st.n_hit_megaflow, 100,
                 "only %"PRIu64" cache hits",
                 st.n_hit_emc + st.n_hit_megaflow);
}

/* ---- Traffic while rules change ----------------------------------------- */

#define N_GENS 40

static uint32_t generation;     /* atomic */
static bool stop;               /* atomic */
static uint64_t n_injected;

static void *
injector(void *aux)
{
    uint8_t buf[PKT_MAX];
    uint32_t seq = 0;

    (void) aux;
    while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
        uint32_t g = __atomic_load_n(&generation, __ATOMIC_ACQUIRE);
        size_t len = pkt_udp4(buf, pkt_mac(2), pkt_mac(1), 0x0a000001,
                              0x0a000002, 1000, 53, 8);

        memcpy(buf + 42, &g, 4);
        memcpy(buf + 46, &seq, 4);
        seq++;
        if (!dpif_port_inject(dpif, 1, buf, len)) {
            n_injected++;
        }
        if (!(seq % 16)) {
            struct timespec ts = { 0, 100 * 1000 };
            nanosleep(&ts, NULL);
        }
    }
    return NULL;
}

/* Frames counted by the rule version they followed (read from the
 * dl_dst each version writes) and by the version current when they were
 * injected (the tag). */
struct tally {
    int n;
    int bad;
    char why[256];
};

static int expect_port[N_GENS + 1];

static void
drain_tally(struct tally *t)
{
    for (uint32_t p = 1; p <= N_PORTS; p++) {
        struct dp_packet *pkts[32];
        int n;

        while ((n = dpif_port_collect(dpif, p, pkts, 32)) > 0) {
            for (int i = 0; i < n; i++) {
                const uint8_t *d = dp_packet_data(pkts[i]);
                uint32_t g;
                int v = d[5];

                memcpy(&g, d + 42, 4);
                t->n++;
                if (g > N_GENS || v > N_GENS || v < (int) g
                    || expect_port[v] != (int) p) {
                    if (!t->bad++) {
                        snprintf(t->why, sizeof t->why, "packet injected "
                                 "under version %u followed version %d "
                                 "(port %u; that version outputs to %d)",
                                 g, v, p, v <= N_GENS ? expect_port[v] : -1);
                    }
                }
                dp_packet_delete(pkts[i]);
            }
        }
    }
}

static void
put_version(int v, int port, enum ofp_flow_mod_command cmd)
{
    char text[160];

    snprintf(text, sizeof text, "priority=100,in_port=1,"
             "actions=mod_dl_dst:02:00:00:00:01:%02x,output:%d", v, port);
    flow_mod(text, cmd);
}

Test(megaflow, no_stale_rule_after_mod_returns)
{
    static struct tally t;
    pthread_t thread;

    memset(&t, 0, sizeof t);
    put_version(0, 2, OFPFC_ADD);
    expect_port[0] = 2;
    pthread_create(&thread, NULL, injector, NULL);
    for (int g = 1; g <= N_GENS; g++) {
        int port = 2 + (g % 2);

        pkt_sleep_ms(4);
        drain_tally(&t);
        switch (g % 4) {
        case 0:
            put_version(g, port, OFPFC_ADD);
            break;
        case 1:
            put_version(g, port, OFPFC_MODIFY_STRICT);
            break;
        case 2:
            flow_mod("in_port=1", OFPFC_DELETE);
            port = -1;
            break;
        default:
            put_version(g, port, OFPFC_ADD);
            break;
        }
        expect_port[g] = port;
        __atomic_store_n(&generation, g, __ATOMIC_RELEASE);
    }
    pkt_sleep_ms(4);
    __atomic_store_n(&stop, true, __ATOMIC_RELEASE);
    pthread_join(thread, NULL);
    pkt_sleep_ms(100);
    drain_tally(&t);

    cr_assert_eq(t.bad, 0, "%d bad packets; first: %s", t.bad, t.why);
    cr_assert_gt(n_injected, 100);
    cr_assert_gt(t.n, 100, "only %d packets forwarded", t.n);
}
