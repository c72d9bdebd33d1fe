/* Pipeline tests for ofproto over a dpif with dummy ports (no kernel):
 * NORMAL learning and flooding, output/in_port/drop, priorities, flow-mod
 * semantics (strict/loose, cookies, batches), counters fed by megaflows,
 * revalidation after table changes and MAC moves, timeouts, packet-in and
 * packet-out, trace. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include "dpif.h"
#include "dynamic-string.h"
#include "errors.h"
#include "flow.h"
#include "helper-packets.h"
#include "match.h"
#include "ofp-flow.h"
#include "ofp-port-map.h"
#include "ofpact.h"
#include "ofproto.h"
#include "dp-packet.h"

#define N_PORTS 3
#define WAIT_MS 2000            /* for frames that must arrive */
#define SETTLE_MS 60            /* for frames that must not */

static struct dpif *dpif;
static struct ofproto *ofp;

static void
setup_bridge(bool empty)
{
    struct dpif_config cfg = { .n_workers = 1 };
    int err = dpif_create("h5br", &cfg, &dpif);

    cr_assert_eq(err, 0, "dpif_create: %d", err);
    ofp = empty ? ofproto_create_empty("br0", dpif)
                : ofproto_create("br0", dpif);
    for (uint32_t i = 1; i <= N_PORTS; i++) {
        char name[16];
        char *msg = NULL;
        uint32_t port_no = i;

        snprintf(name, sizeof name, "p%u", i);
        err = dpif_port_add(dpif, name, "dummy", NULL, &port_no, &msg);
        cr_assert_eq(err, 0, "port add: %s", msg ? msg : "?");
        cr_assert_eq(port_no, i);
        cr_assert_eq(ofproto_port_added(ofp, i, name), 0);
    }
}

static void
setup(void)
{
    setup_bridge(false);
}

static void
setup_empty(void)
{
    setup_bridge(true);
}

static void
teardown(void)
{
    ofproto_destroy(ofp);
    dpif_destroy(dpif);
    ofp = NULL;
    dpif = NULL;
}

static int
mod(const char *text, enum ofp_flow_mod_command cmd)
{
    struct ofp_flow_mod fm;
    char *err = ofp_parse_flow_mod(&fm, text, cmd, NULL);
    int ret;

    cr_assert_null(err, "parse '%s': %s", text, err);
    ret = ofproto_flow_mod(ofp, &fm, &err);
    if (ret) {
        cr_assert_not_null(err, "error without message for '%s'", text);
        free(err);
    }
    ofp_flow_mod_release(&fm);
    return ret;
}

static void
add(const char *text)
{
    cr_assert_eq(mod(text, OFPFC_ADD), 0, "add-flow '%s' failed", text);
}

/* Packets the datapath has looked up so far. */
static uint64_t
dp_processed(void)
{
    struct dpif_stats st;

    dpif_get_stats(dpif, &st);
    return st.n_hit_emc + st.n_hit_megaflow + st.n_missed;
}

/* Sends a UDP frame src->dst on 'in' and returns how many frames each
 * port got ('got' indexed by port number). */
static void
send_udp(uint32_t in, unsigned int src, unsigned int dst, uint16_t dport,
         int expect_total, int got[N_PORTS + 1])
{
    uint8_t buf[PKT_MAX];
    size_t len = pkt_udp4(buf, pkt_mac(dst), pkt_mac(src), 0x0a000000 + src,
                          0x0a000000 + dst, 1000, dport, 18);
    int total = 0;

    uint64_t before = dp_processed();

    pkt_inject(dpif, in, buf, len);
    for (uint32_t p = 0; p <= N_PORTS; p++) {
        got[p] = 0;
    }
    /* Wait until the datapath has looked the packet up, and until the
     * expected number of copies arrived; then settle to catch extra
     * copies. */
    for (int waited = 0; waited < WAIT_MS
         && (total < expect_total || dp_processed() == before);
         waited += 2) {
        pkt_sleep_ms(2);
        for (uint32_t p = 1; p <= N_PORTS; p++) {
            int n = pkt_drain(dpif, p);

            got[p] += n;
            total += n;
        }
    }
    cr_assert_neq(dp_processed(), before, "packet never processed");
    pkt_sleep_ms(SETTLE_MS);
    for (uint32_t p = 1; p <= N_PORTS; p++) {
        got[p] += pkt_drain(dpif, p);
    }
    got[0] = 0;
}

static void
expect_ports(uint32_t in, unsigned int src, unsigned int dst, uint16_t dport,
             int g1, int g2, int g3)
{
    int got[N_PORTS + 1];

    send_udp(in, src, dst, dport, g1 + g2 + g3, got);
    cr_assert(got[1] == g1 && got[2] == g2 && got[3] == g3,
              "from port %u %u->%u:%u: got %d,%d,%d expected %d,%d,%d",
              in, src, dst, dport, got[1], got[2], got[3], g1, g2, g3);
}

/* Dump helpers. */
struct dump {
    struct ds s;
    int n;
    struct ofp_flow_stats last[16];
};

static void
dump_cb(void *aux, const struct ofp_flow_stats *fs)
{
    struct dump *d = aux;

    ofp_format_flow_stats(&d->s, fs, false, NULL);
    ds_put_char(&d->s, '\n');
    if (d->n < 16) {
        d->last[d->n] = *fs;
    }
    d->n++;
}

static char *
dump_flows(int *n)
{
    struct dump d = { .n = 0 };

    ds_init(&d.s);
    ofproto_dump_flows(ofp, NULL, OFP_TABLE_ALL, false, dump_cb, &d);
    if (n) {
        *n = d.n;
    }
    return ds_steal_cstr(&d.s);
}

/* Stats of the only rule whose match has priority 'prio'. */
static struct ofp_flow_stats
rule_stats(int prio)
{
    struct dump d = { .n = 0 };
    struct ofp_flow_stats fs;
    bool found = false;

    memset(&fs, 0, sizeof fs);
    ds_init(&d.s);
    ofproto_dump_flows(ofp, NULL, OFP_TABLE_ALL, false, dump_cb, &d);
    for (int i = 0; i < d.n && i < 16; i++) {
        if (d.last[i].priority == prio) {
            fs = d.last[i];
            found = true;
        }
    }
    ds_destroy(&d.s);
    cr_assert(found, "no rule with priority %d", prio);
    return fs;
}

TestSuite(ofproto, .init = setup, .fini = teardown, .timeout = 60);
TestSuite(ofproto_empty, .init = setup_empty, .fini = teardown,
          .timeout = 60);

Test(ofproto, default_flow_is_normal)
{
    int n;
    char *s = dump_flows(&n);

    cr_assert_eq(n, 1);
    cr_assert(strstr(s, "priority=0 actions=NORMAL"), "dump: %s", s);
    free(s);
}

Test(ofproto_empty, empty_drops)
{
    cr_assert_eq(ofproto_flow_count(ofp, OFP_TABLE_ALL), 0);
    expect_ports(1, 1, 2, 53, 0, 0, 0);
}

Test(ofproto, normal_floods_then_learns)
{
    /* 1 -> 2 unknown: flooded to 2 and 3, never back to 1. */
    expect_ports(1, 1, 2, 53, 0, 1, 1);
    /* Reply 2 -> 1: station 1 was learned on port 1. */
    expect_ports(2, 2, 1, 53, 1, 0, 0);
    /* Learning 2 made the flooding megaflow for 1 -> 2 stale; the
     * revalidation runs from ofproto_run(). */
    ofproto_run(ofp);
    expect_ports(1, 1, 2, 53, 0, 1, 0);
    /* Broadcast is flooded. */
    {
        uint8_t buf[PKT_MAX];
        size_t len = pkt_arp(buf, 1, pkt_mac(1), 0x0a000001, eth_addr_zero,
                             0x0a000002);

        pkt_inject(dpif, 1, buf, len);
        cr_assert_eq(pkt_collect(dpif, 2, 1, WAIT_MS, 0, NULL, NULL), 1);
        cr_assert_eq(pkt_collect(dpif, 3, 1, WAIT_MS, SETTLE_MS, NULL,
                                 NULL), 1);
        cr_assert_eq(pkt_drain(dpif, 1), 0);
    }

    struct ds s = DS_EMPTY_INITIALIZER;
    ofproto_fdb_show(ofp, &s);
    cr_assert(strstr(ds_cstr(&s), "    1     0  02:00:00:00:00:01"),
              "fdb: %s", ds_cstr(&s));
    cr_assert(strstr(ds_cstr(&s), "    2     0  02:00:00:00:00:02"),
              "fdb: %s", ds_cstr(&s));
    ds_destroy(&s);
}

Test(ofproto, normal_drops_to_input_port)
{
    expect_ports(1, 1, 9, 53, 0, 1, 1);     /* learn 1 on port 1 */
    /* 5 on port 1 talks to 1, also on port 1: dropped. */
    expect_ports(1, 5, 1, 53, 0, 0, 0);
}

Test(ofproto, mac_move)
{
    expect_ports(1, 1, 9, 53, 0, 1, 1);     /* 1 on port 1 */
    expect_ports(2, 2, 1, 53, 1, 0, 0);     /* 2 -> 1 unicast */
    expect_ports(2, 2, 1, 53, 1, 0, 0);     /* again, megaflow hit */
    /* Station 1 moves to port 3: its packets miss (dl_src is exact) and
     * relearn it. */
    expect_ports(3, 1, 9, 53, 1, 1, 0);
    ofproto_run(ofp);
    expect_ports(2, 2, 1, 53, 0, 0, 1);
    /* And back to port 1: the megaflow from port 1 was revalidated away,
     * so this packet relearns too. */
    expect_ports(1, 1, 9, 53, 0, 1, 1);
    ofproto_run(ofp);
    expect_ports(2, 2, 1, 53, 1, 0, 0);
}

Test(ofproto, output_in_port_drop)
{
    add("priority=100,in_port=1 actions=output:3");
    add("priority=100,in_port=2 actions=output:2");
    add("priority=100,in_port=3 actions=in_port");
    expect_ports(1, 1, 2, 53, 0, 0, 1);
    expect_ports(2, 1, 2, 53, 0, 0, 0);     /* output to input port */
    expect_ports(3, 1, 2, 53, 0, 0, 1);     /* IN_PORT */
    add("priority=200,in_port=1 actions=drop");
    expect_ports(1, 1, 2, 53, 0, 0, 0);
    add("priority=300,in_port=1 actions=output:2,output:3,output:1");
    expect_ports(1, 1, 2, 53, 0, 1, 1);
    add("priority=400,in_port=1 actions=all");
    expect_ports(1, 1, 2, 53, 0, 1, 1);
    add("priority=400,in_port=2 actions=flood");
    expect_ports(2, 1, 2, 53, 1, 0, 1);
}

Test(ofproto, priority_ordering)
{
    add("priority=10,udp actions=output:2");
    add("priority=20,udp,tp_dst=53 actions=output:3");
    expect_ports(1, 1, 2, 53, 0, 0, 1);
    expect_ports(1, 1, 2, 54, 0, 1, 0);
    expect_ports(1, 1, 2, 53, 0, 0, 1);
    /* Lower the specific rule below the general one. */
    cr_assert_eq(mod("priority=20,udp,tp_dst=53", OFPFC_DELETE_STRICT), 0);
    add("priority=5,udp,tp_dst=53 actions=output:3");
    expect_ports(1, 1, 2, 53, 0, 1, 0);
}

Test(ofproto, change_after_traffic_takes_effect)
{
    add("priority=100,in_port=1 actions=output:2");
    for (int i = 0; i < 3; i++) {
        expect_ports(1, 1, 2, 53, 0, 1, 0);
    }
    cr_assert(dpif_flow_count(dpif) >= 1);
    cr_assert_eq(mod("in_port=1 actions=output:3", OFPFC_MODIFY), 0);
    expect_ports(1, 1, 2, 53, 0, 0, 1);
    add("priority=200,in_port=1,udp actions=drop");
    expect_ports(1, 1, 2, 53, 0, 0, 0);
    cr_assert_eq(mod("in_port=1", OFPFC_DELETE), 0);
    expect_ports(1, 1, 2, 53, 0, 1, 1);     /* back to NORMAL */
}

Test(ofproto, strict_vs_loose)
{
    int n;
    char *s;

    add("priority=100,in_port=1,udp actions=output:2");
    add("priority=200,in_port=1 actions=output:3");
    add("priority=300,in_port=2 actions=output:3");
    cr_assert_eq(ofproto_flow_count(ofp, 0), 4);

    /* Strict needs match and priority. */
    cr_assert_eq(mod("priority=100,in_port=1", OFPFC_DELETE_STRICT), 0);
    cr_assert_eq(ofproto_flow_count(ofp, 0), 4);
    cr_assert_eq(mod("priority=100,in_port=1,udp actions=output:1",
                     OFPFC_MODIFY_STRICT), 0);
    s = dump_flows(&n);
    cr_assert(strstr(s, "priority=100,udp,in_port=1 actions=output:1"),
              "%s", s);
    cr_assert(strstr(s, "priority=200,in_port=1 actions=output:3"), "%s", s);
    free(s);

    /* Loose: every rule at least as specific, any priority. */
    cr_assert_eq(mod("in_port=1 actions=output:2", OFPFC_MODIFY), 0);
    s = dump_flows(&n);
    cr_assert(strstr(s, "priority=100,udp,in_port=1 actions=output:2"),
              "%s", s);
    cr_assert(strstr(s, "priority=200,in_port=1 actions=output:2"), "%s", s);
    cr_assert(strstr(s, "priority=300,in_port=2 actions=output:3"), "%s", s);
    free(s);

    cr_assert_eq(mod("in_port=1", OFPFC_DELETE), 0);
    cr_assert_eq(ofproto_flow_count(ofp, 0), 2);
    /* Delete everything (loose catch-all). */
    cr_assert_eq(mod("", OFPFC_DELETE), 0);
    cr_assert_eq(ofproto_flow_count(ofp, OFP_TABLE_ALL), 0);
}

Test(ofproto, dump_order)
{
    int n;
    char *s;

    add("table=1,priority=5,in_port=1 actions=output:2");
    add("priority=100,in_port=3 actions=output:2");
    add("priority=100,in_port=2 actions=output:3");
    add("priority=200,in_port=1 actions=output:3");
    s = dump_flows(&n);
    cr_assert_eq(n, 5);
    const char *a = strstr(s, "priority=200");
    const char *b = strstr(s, "priority=100,in_port=3");
    const char *c = strstr(s, "priority=100,in_port=2");
    const char *d = strstr(s, "priority=0");
    const char *e = strstr(s, "table=1");
    cr_assert(a && b && c && d && e, "%s", s);
    cr_assert(a < b && b < c && c < d && d < e, "order:\n%s", s);
    free(s);
}

Test(ofproto, cookie_mask)
{
    add("cookie=0x1,priority=10,in_port=1 actions=output:2");
    add("cookie=0x11,priority=11,in_port=1 actions=output:2");
    add("cookie=0x2,priority=12,in_port=1 actions=output:2");
    cr_assert_eq(ofproto_flow_count(ofp, 0), 4);
    cr_assert_eq(mod("cookie=0x1/0xf", OFPFC_DELETE), 0);
    cr_assert_eq(ofproto_flow_count(ofp, 0), 2);
    (void) rule_stats(12);
    (void) rule_stats(0);
    /* Modify with a cookie mask changes only matching cookies and never
     * adds. */
    cr_assert_eq(mod("cookie=0x5/0xff,in_port=1 actions=output:3",
                     OFPFC_MODIFY), 0);
    cr_assert_eq(ofproto_flow_count(ofp, 0), 2);
    cr_assert_eq(mod("cookie=0x2/0xff,in_port=1 actions=output:3",
                     OFPFC_MODIFY), 0);
    expect_ports(1, 1, 2, 53, 0, 0, 1);
}

Test(ofproto, counters_include_megaflow_hits)
{
    struct ofp_flow_stats fs;

    add("priority=100,in_port=1 actions=output:2");
    for (int i = 0; i < 5; i++) {
        expect_ports(1, 1, 2, 53, 0, 1, 0);
    }
    fs = rule_stats(100);
    cr_assert_eq(fs.n_packets, 5);
    cr_assert_eq(fs.n_bytes, 5 * 60);
    cr_assert(fs.idle_age_msec >= 0 && fs.idle_age_msec < 2000);

    /* Replacing by add restarts the counters; modify keeps them. */
    cr_assert_eq(mod("in_port=1 actions=output:3", OFPFC_MODIFY), 0);
    expect_ports(1, 1, 2, 53, 0, 0, 1);
    fs = rule_stats(100);
    cr_assert_eq(fs.n_packets, 6);
    add("priority=100,in_port=1 actions=output:3");
    fs = rule_stats(100);
    cr_assert_eq(fs.n_packets, 0);
    expect_ports(1, 1, 2, 53, 0, 0, 1);
    fs = rule_stats(100);
    cr_assert_eq(fs.n_packets, 1);

    /* The default rule counted nothing. */
    fs = rule_stats(0);
    cr_assert_eq(fs.n_packets, 0);
}

Test(ofproto, batch_is_atomic)
{
    struct ofp_flow_mod fms[3];
    char *err = NULL;
    int ret;

    cr_assert_null(ofp_parse_flow_mod(&fms[0], "priority=50,in_port=1 "
                                      "actions=output:2", OFPFC_ADD, NULL));
    cr_assert_null(ofp_parse_flow_mod(&fms[1], "priority=60,in_port=1 "
                                      "actions=output:3", OFPFC_ADD, NULL));
    /* Overlaps the first one (same priority): fails at apply time. */
    cr_assert_null(ofp_parse_flow_mod(&fms[2], "priority=50,udp "
                                      "actions=output:3", OFPFC_ADD, NULL));
    fms[2].flags |= OFPFF_CHECK_OVERLAP;
    ret = ofproto_flow_mod_batch(ofp, fms, 3, &err);
    cr_assert_neq(ret, 0);
    cr_assert_not_null(err);
    cr_assert(strstr(err, "flow mod 3"), "%s", err);
    free(err);
    cr_assert_eq(ofproto_flow_count(ofp, 0), 1);
    expect_ports(1, 1, 2, 53, 0, 1, 1);

    /* Without the overlap check, all three go in at once. */
    fms[2].flags = 0;
    ret = ofproto_flow_mod_batch(ofp, fms, 3, &err);
    cr_assert_eq(ret, 0);
    cr_assert_eq(ofproto_flow_count(ofp, 0), 4);
    expect_ports(1, 1, 2, 53, 0, 0, 1);
    for (int i = 0; i < 3; i++) {
        ofp_flow_mod_release(&fms[i]);
    }
}

Test(ofproto, bad_flow_mods)
{
    struct ofp_flow_mod fm;
    char *err = NULL;

    cr_assert_null(ofp_parse_flow_mod(&fm, "priority=5 actions=output:2",
                                      OFPFC_ADD, NULL));
    fm.table_id = 255;
    cr_assert_eq(ofproto_flow_mod(ofp, &fm, &err), -TS_ERR_BAD_TABLE);
    cr_assert_not_null(err);
    free(err);
    err = NULL;
    fm.table_id = 3;
    ofpact_put_GOTO_TABLE(&fm.ofpacts)->table_id = 2;
    cr_assert_eq(ofproto_flow_mod(ofp, &fm, &err), -TS_ERR_BAD_ACTION);
    cr_assert(strstr(err, "goto_table"), "%s", err);
    free(err);
    ofp_flow_mod_release(&fm);
    cr_assert_eq(ofproto_flow_count(ofp, OFP_TABLE_ALL), 1);
}

Test(ofproto, goto_table_and_resubmit)
{
    add("priority=100,in_port=1 actions=goto_table:1");
    add("table=1,priority=100,udp actions=output:3");
    expect_ports(1, 1, 2, 53, 0, 0, 1);
    add("priority=100,in_port=2 actions=resubmit(,1),output:1");
    expect_ports(2, 1, 2, 53, 1, 0, 1);
    /* TCP misses in table 1: the goto_table ends in a drop. */
    {
        uint8_t buf[PKT_MAX];
        size_t len = pkt_tcp4(buf, pkt_mac(2), pkt_mac(1), 1, 2, 1, 2, 2);

        pkt_inject(dpif, 1, buf, len);
        cr_assert_eq(pkt_collect(dpif, 3, 0, 0, 100, NULL, NULL), 0);
        cr_assert_eq(pkt_collect(dpif, 2, 0, 0, 10, NULL, NULL), 0);
    }
}

static int n_removed;
static enum ofproto_removed_reason last_reason;

static void
removed_cb(void *aux, const struct ofp_flow_stats *fs,
           enum ofproto_removed_reason reason)
{
    (void) aux;
    (void) fs;
    n_removed++;
    last_reason = reason;
}

Test(ofproto, idle_and_hard_timeouts)
{
    n_removed = 0;
    ofproto_set_flow_removed_cb(ofp, removed_cb, NULL);
    add("priority=100,in_port=1,idle_timeout=1 actions=output:2");
    add("priority=100,in_port=2,hard_timeout=2 actions=output:1");
    /* Keep the hard-timeout rule busy: it must still expire. */
    for (int i = 0; i < 6; i++) {
        expect_ports(2, 2, 1, 53, 1, 0, 0);
        pkt_sleep_ms(250);
        ofproto_run(ofp);
    }
    cr_assert_eq(n_removed, 1, "only the idle rule is gone by now");
    cr_assert_eq(last_reason, OFPROTO_RR_IDLE_TIMEOUT);
    pkt_sleep_ms(1100);
    ofproto_run(ofp);
    cr_assert_eq(n_removed, 2);
    cr_assert_eq(last_reason, OFPROTO_RR_HARD_TIMEOUT);
    cr_assert_eq(ofproto_flow_count(ofp, 0), 1);
    /* The expired rules' megaflows were revalidated away: NORMAL now. */
    expect_ports(2, 2, 1, 53, 1, 0, 1);
}

static int n_pin;
static struct ofproto_packet_in last_pin;
static uint8_t last_pin_data[PKT_MAX];

static void
pin_cb(void *aux, const struct ofproto_packet_in *pin)
{
    (void) aux;
    n_pin++;
    last_pin = *pin;
    memcpy(last_pin_data, pin->packet, MIN(pin->len, sizeof last_pin_data));
}

Test(ofproto, packet_in_and_out)
{
    uint8_t buf[PKT_MAX], out[PKT_MAX];
    size_t len, out_len = 0;
    struct ofpacts acts;
    char *err = NULL;

    n_pin = 0;
    ofproto_set_packet_in_cb(ofp, pin_cb, NULL);
    add("cookie=0x77,priority=100,in_port=1 actions=controller");
    len = pkt_udp4(buf, pkt_mac(2), pkt_mac(1), 1, 2, 3, 4, 10);
    pkt_inject(dpif, 1, buf, len);
    for (int i = 0; i < 500 && !n_pin; i++) {
        pkt_sleep_ms(2);
        ofproto_run(ofp);
    }
    cr_assert_eq(n_pin, 1);
    cr_assert_eq(last_pin.in_port, 1);
    cr_assert_eq(last_pin.reason, OFPR_ACTION);
    cr_assert_eq(last_pin.cookie, 0x77);
    cr_assert_eq(last_pin.total_len, len);
    cr_assert_eq(last_pin.len, len);
    cr_assert(!memcmp(last_pin_data, buf, len));

    /* Packet out from the controller to port 3. */
    ofpacts_init(&acts);
    ofpact_put_OUTPUT(&acts)->port = 3;
    cr_assert_eq(ofproto_packet_out(ofp, OFPP_NONE, buf, len, &acts, &err),
                 0, "%s", err ? err : "");
    cr_assert_eq(pkt_collect(dpif, 3, 1, WAIT_MS, 0, out, &out_len), 1);
    cr_assert_eq(out_len, len);
    cr_assert(!memcmp(out, buf, len));
    /* Output to the packet-out's in_port is dropped; IN_PORT sends it. */
    ofpacts_clear(&acts);
    ofpact_put_OUTPUT(&acts)->port = 2;
    ofpact_put_IN_PORT(&acts);
    cr_assert_eq(ofproto_packet_out(ofp, 2, buf, len, &acts, &err), 0);
    cr_assert_eq(pkt_collect(dpif, 2, 1, WAIT_MS, SETTLE_MS, NULL, NULL),
                 1);
    ofpacts_release(&acts);
}

Test(ofproto, trace_normal)
{
    struct ds s = DS_EMPTY_INITIALIZER;
    struct flow flow;

    memset(&flow, 0, sizeof flow);
    flow.in_port = 1;
    flow.dl_src = pkt_mac(1);
    flow.dl_dst = pkt_mac(2);
    flow.dl_type = htons(ETH_TYPE_IP);
    cr_assert_eq(ofproto_trace(ofp, &flow, &s), 0);
    const char *t = ds_cstr(&s);
    cr_assert(strstr(t, "bridge(\"br0\")"), "%s", t);
    cr_assert(strstr(t, " 0. priority 0\n"), "%s", t);
    cr_assert(strstr(t, "    NORMAL\n"), "%s", t);
    cr_assert(strstr(t, "no learned MAC for destination, flooding"), "%s", t);
    cr_assert(strstr(t, "Datapath actions: 2,3\n"), "%s", t);
    cr_assert(strstr(t, "Megaflow: "), "%s", t);
    cr_assert(strstr(t, "dl_src=02:00:00:00:00:01"), "%s", t);
    /* Trace does not learn. */
    cr_assert_eq(ofproto_flow_count(ofp, 0), 1);
    ds_clear(&s);

    add("priority=100,in_port=1 actions=output:3");
    ofproto_trace(ofp, &flow, &s);
    t = ds_cstr(&s);
    cr_assert(strstr(t, " 0. in_port=1, priority 100\n"), "%s", t);
    cr_assert(strstr(t, "Datapath actions: 3\n"), "%s", t);
    ds_destroy(&s);
}

Test(ofproto, port_removed_stops_flooding)
{
    expect_ports(1, 1, 2, 53, 0, 1, 1);
    cr_assert_eq(ofproto_port_removed(ofp, 3), 0);
    expect_ports(1, 1, 2, 53, 0, 1, 0);
    cr_assert_eq(ofproto_port_removed(ofp, 3), -ENOENT);
}

/* Differential test: random rules and random packets through the real
 * datapath (megaflow cache included) against a naive reference that scans
 * the rules for the highest priority match.  Rule changes midway check
 * that revalidation leaves no stale megaflow. */
struct ref_rule {
    bool live;
    int priority;               /* unique */
    int in_port;                /* 0: any */
    int proto;                  /* 0: any ip, 6 or 17 */
    int dst;                    /* last octet of 10.0.0.x, -1: any */
    int dst_plen;               /* 32 or 30 */
    int tp_dst;                 /* 0: any (needs proto) */
    int out;                    /* 0: drop */
    char match[128];            /* "priority=...,..." as added */
};

#define N_REF 24

static bool
ref_matches(const struct ref_rule *r, int in_port, int proto, int dst,
            int tp_dst)
{
    int mask = r->dst_plen == 32 ? 0xff : 0xfc;

    return r->live
           && (!r->in_port || r->in_port == in_port)
           && (!r->proto || r->proto == proto)
           && (r->dst < 0 || (r->dst & mask) == (dst & mask))
           && (!r->tp_dst || r->tp_dst == tp_dst);
}

static void
ref_add(struct ref_rule *r, int priority)
{
    struct ds s = DS_EMPTY_INITIALIZER;

    memset(r, 0, sizeof *r);
    r->live = true;
    r->priority = priority;
    r->in_port = rand() % 2 ? rand() % 3 + 1 : 0;
    r->proto = rand() % 3 == 0 ? 0 : rand() % 2 ? 6 : 17;
    r->dst = rand() % 2 ? rand() % 8 : -1;
    r->dst_plen = rand() % 2 ? 32 : 30;
    r->tp_dst = r->proto && rand() % 2 ? 50 + rand() % 3 : 0;
    r->out = rand() % 4;

    ds_put_format(&s, "priority=%d,%s", priority,
                  r->proto == 6 ? "tcp" : r->proto == 17 ? "udp" : "ip");
    if (r->in_port) {
        ds_put_format(&s, ",in_port=%d", r->in_port);
    }
    if (r->dst >= 0) {
        ds_put_format(&s, ",nw_dst=10.0.0.%d/%d", r->dst, r->dst_plen);
    }
    if (r->tp_dst) {
        ds_put_format(&s, ",tp_dst=%d", r->tp_dst);
    }
    ts_strlcpy(r->match, ds_cstr(&s), sizeof r->match);
    if (r->out) {
        ds_put_format(&s, " actions=output:%d", r->out);
    } else {
        ds_put_cstr(&s, " actions=drop");
    }
    add(ds_cstr(&s));
    ds_destroy(&s);
}

static void
ref_send(const struct ref_rule *rules, int iter)
{
    int in_port = rand() % 3 + 1, proto = rand() % 2 ? 6 : 17;
    int dst = rand() % 8, tp_dst = 50 + rand() % 4;
    const struct ref_rule *best = NULL;
    int expect[N_PORTS + 1] = { 0 }, got[N_PORTS + 1] = { 0 };
    uint8_t buf[PKT_MAX];
    size_t len;
    uint64_t before = dp_processed();

    for (int i = 0; i < N_REF; i++) {
        if (ref_matches(&rules[i], in_port, proto, dst, tp_dst)
            && (!best || rules[i].priority > best->priority)) {
            best = &rules[i];
        }
    }
    if (best && best->out && best->out != in_port) {
        expect[best->out] = 1;
    }
    len = proto == 17
          ? pkt_udp4(buf, pkt_mac(2), pkt_mac(1), 0x0a000063,
                     0x0a000000 + dst, 1000, tp_dst, 0)
          : pkt_tcp4(buf, pkt_mac(2), pkt_mac(1), 0x0a000063,
                     0x0a000000 + dst, 1000, tp_dst, 0x10);
    pkt_inject(dpif, in_port, buf, len);
    for (int w = 0; w < WAIT_MS && dp_processed() == before; w += 1) {
        pkt_sleep_ms(1);
    }
    for (int p = 1; p <= N_PORTS; p++) {
        got[p] = pkt_collect(dpif, p, expect[p], WAIT_MS, 0, NULL, NULL);
    }
    /* A stray copy that shows up later is caught by the next packet's
     * check (no port may receive an unexpected frame). */
    pkt_sleep_ms(1);
    for (int p = 1; p <= N_PORTS; p++) {
        got[p] += pkt_drain(dpif, p);
        cr_assert_eq(got[p], expect[p],
                     "iter %d: in_port=%d proto=%d dst=%d tp_dst=%d: "
                     "port %d got %d expected %d (rule prio %d)", iter,
                     in_port, proto, dst, tp_dst, p, got[p], expect[p],
                     best ? best->priority : -1);
    }
}

Test(ofproto_empty, differential_random, .timeout = 120)
{
    struct ref_rule rules[N_REF];
    int next_prio = 100;

    srand(4242);
    for (int i = 0; i < N_REF; i++) {
        ref_add(&rules[i], next_prio += 1 + rand() % 5);
    }
    for (int iter = 0; iter < 400; iter++) {
        ref_send(rules, iter);
        if (iter % 40 == 39) {
            /* Replace a few rules (strict delete, then a new one). */
            for (int k = 0; k < 3; k++) {
                int i = rand() % N_REF;

                cr_assert_eq(mod(rules[i].match, OFPFC_DELETE_STRICT), 0);
                cr_assert_eq(ofproto_flow_count(ofp, 0), N_REF - 1);
                ref_add(&rules[i], next_prio += 1 + rand() % 5);
            }
        }
    }
}
