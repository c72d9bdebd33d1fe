/* Pipeline tests of every field-modifying action through the real dpif
 * (dummy ports, workers, megaflows): the bytes that leave the switch are
 * compared with frames built independently, and checksums are verified by
 * full recomputation.  Also: registers across tables, move/load/output
 * from a field, VLAN push/pop/mod, dec_ttl, clone, controller, resubmit
 * limits, the ARP responder, and trace output. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include "dp-packet.h"
#include "dpif.h"
#include "dynamic-string.h"
#include "flow.h"
#include "helper-packets.h"
#include "match.h"
#include "ofp-flow.h"
#include "ofpact.h"
#include "ofproto.h"

#define N_PORTS 3
#define WAIT_MS 2000
#define SETTLE_MS 40

static struct dpif *dpif;
static struct ofproto *ofp;

static void
setup(void)
{
    struct dpif_config cfg = { .n_workers = 1 };
    int err = dpif_create("xa", &cfg, &dpif);

    cr_assert_eq(err, 0);
    ofp = ofproto_create_empty("br0", dpif);
    for (uint32_t i = 1; i <= N_PORTS; i++) {
        char name[16];
        char *msg = NULL;
        uint32_t port_no = i;

        snprintf(name, sizeof name, "p%u", i);
        err = dpif_port_add(dpif, name, "dummy", NULL, &port_no, &msg);
        cr_assert_eq(err, 0, "port add: %s", msg ? msg : "?");
        cr_assert_eq(ofproto_port_added(ofp, i, name), 0);
    }
}

static void
teardown(void)
{
    ofproto_destroy(ofp);
    dpif_destroy(dpif);
}

TestSuite(xlate, .init = setup, .fini = teardown, .timeout = 30);

static int
mod(const char *text, enum ofp_flow_mod_command cmd, char **errp)
{
    struct ofp_flow_mod fm;
    char *err = ofp_parse_flow_mod(&fm, text, cmd, NULL);
    int ret;

    cr_assert_null(err, "parse '%s': %s", text, err);
    ret = ofproto_flow_mod(ofp, &fm, errp);
    ofp_flow_mod_release(&fm);
    return ret;
}

static void
add(const char *text)
{
    char *err = NULL;

    cr_assert_eq(mod(text, OFPFC_ADD, &err), 0, "add-flow '%s': %s", text,
                 err ? err : "?");
}

/* Injects 'in' on port 'in_port' and expects exactly one frame on
 * 'out_port' (none elsewhere); returns its length, bytes in 'out'. */
static size_t
send_expect_one(uint32_t in_port, const uint8_t *in, size_t len,
                uint32_t out_port, uint8_t *out)
{
    size_t out_len = 0;

    pkt_inject(dpif, in_port, in, len);
    cr_assert_eq(pkt_collect(dpif, out_port, 1, WAIT_MS, SETTLE_MS, out,
                             &out_len), 1, "no frame on port %u", out_port);
    for (uint32_t p = 1; p <= N_PORTS; p++) {
        if (p != out_port) {
            cr_assert_eq(pkt_drain(dpif, p), 0, "extra frame on port %u", p);
        }
    }
    return out_len;
}

static void
assert_frames_equal(const uint8_t *got, size_t got_len, const uint8_t *exp,
                    size_t exp_len)
{
    cr_assert_eq(got_len, exp_len, "length %zu, expected %zu", got_len,
                 exp_len);
    for (size_t i = 0; i < exp_len; i++) {
        cr_assert_eq(got[i], exp[i], "byte %zu: %02x, expected %02x", i,
                     got[i], exp[i]);
    }
}

static char *
trace_packet(uint32_t in_port, const uint8_t *pkt, size_t len)
{
    struct ds s = DS_EMPTY_INITIALIZER;

    ofproto_trace_packet(ofp, in_port, pkt, len, &s);
    return ds_steal_cstr(&s);
}

static const char *
dp_actions_line(const char *trace, char *buf, size_t size)
{
    const char *p = strstr(trace, "Datapath actions: ");
    size_t n;

    cr_assert_not_null(p, "%s", trace);
    p += strlen("Datapath actions: ");
    n = strcspn(p, "\n");
    cr_assert_lt(n, size);
    memcpy(buf, p, n);
    buf[n] = '\0';
    return buf;
}

/* ---- Field rewrites ----------------------------------------------------- */

Test(xlate, l2_l3_l4_rewrites_udp)
{
    uint8_t in[PKT_MAX], exp[PKT_MAX], out[PKT_MAX];
    size_t len, elen, olen;

    add("table=0,in_port=1,udp,actions=mod_dl_src:02:00:00:00:00:aa,"
        "mod_dl_dst:02:00:00:00:00:bb,mod_nw_src:10.1.1.1,"
        "mod_nw_dst:10.2.2.2,mod_nw_tos:32,mod_tp_src:1111,"
        "mod_tp_dst:2222,dec_ttl,output:2");
    len = pkt_udp4(in, pkt_mac(2), pkt_mac(1), 0x0a000001, 0x0a000002,
                   1000, 53, 30);
    for (size_t i = 0; i < 30; i++) {
        in[42 + i] = (uint8_t) (i * 7);
    }
    pkt_fix_csums(in, len);     /* a real UDP checksum to update */
    cr_assert(pkt_csums_ok(in, len));

    elen = pkt_udp4(exp, pkt_mac(0xbb), pkt_mac(0xaa), 0x0a010101,
                    0x0a020202, 1111, 2222, 30);
    memcpy(exp + 42, in + 42, 30);
    exp[15] = 32;               /* TOS */
    exp[22] = 63;               /* TTL */
    pkt_fix_csums(exp, elen);

    olen = send_expect_one(1, in, len, 2, out);
    cr_assert(pkt_csums_ok(out, olen), "bad checksums");
    assert_frames_equal(out, olen, exp, elen);

    /* Second packet of the same megaflow: same result from the cache. */
    olen = send_expect_one(1, in, len, 2, out);
    assert_frames_equal(out, olen, exp, elen);
}

Test(xlate, set_field_and_load_tcp)
{
    uint8_t in[PKT_MAX], exp[PKT_MAX], out[PKT_MAX];
    size_t len, elen, olen;

    add("table=0,in_port=1,tcp,actions=set_field:192.168.0.9->ip_src,"
        "load:0x1f90->NXM_OF_TCP_DST[],set_field:0x3->ip_ecn,"
        "set_field:7->nw_ttl,output:3");
    len = pkt_tcp4(in, pkt_mac(2), pkt_mac(1), 0x0a000001, 0x0a000002,
                   40000, 80, 0x02);
    pkt_fix_csums(in, len);
    elen = pkt_tcp4(exp, pkt_mac(2), pkt_mac(1), 0xc0a80009, 0x0a000002,
                    40000, 8080, 0x02);
    exp[15] = 0x03;
    exp[22] = 7;
    pkt_fix_csums(exp, elen);

    olen = send_expect_one(1, in, len, 3, out);
    cr_assert(pkt_csums_ok(out, olen));
    assert_frames_equal(out, olen, exp, elen);
}

Test(xlate, masked_set_field_changes_only_masked_bits)
{
    uint8_t in[PKT_MAX], exp[PKT_MAX], out[PKT_MAX];
    size_t len, elen, olen;

    add("in_port=1,ip,actions=set_field:10.9.0.0/255.255.0.0->ip_dst,"
        "output:2");
    len = pkt_udp4(in, pkt_mac(2), pkt_mac(1), 0x0a000001, 0x0a000203,
                   1000, 53, 4);
    elen = pkt_udp4(exp, pkt_mac(2), pkt_mac(1), 0x0a000001, 0x0a090203,
                    1000, 53, 4);
    olen = send_expect_one(1, in, len, 2, out);
    assert_frames_equal(out, olen, exp, elen);
    cr_assert(pkt_csums_ok(out, olen));

    /* Another address in the same megaflow keeps its own low bits. */
    len = pkt_udp4(in, pkt_mac(2), pkt_mac(1), 0x0a000001, 0x0a0004fe,
                   1000, 53, 4);
    elen = pkt_udp4(exp, pkt_mac(2), pkt_mac(1), 0x0a000001, 0x0a0904fe,
                    1000, 53, 4);
    olen = send_expect_one(1, in, len, 2, out);
    assert_frames_equal(out, olen, exp, elen);
}

Test(xlate, write_equal_value_still_exact_in_megaflow)
{
    /* mod_nw_dst to the packet's own address emits nothing; the megaflow
     * must then not cover packets with other addresses. */
    uint8_t in[PKT_MAX], exp[PKT_MAX], out[PKT_MAX];
    size_t len, elen, olen;

    add("in_port=1,ip,actions=mod_nw_dst:10.0.0.2,output:2");
    len = pkt_udp4(in, pkt_mac(2), pkt_mac(1), 0x0a000001, 0x0a000002,
                   1000, 53, 4);
    olen = send_expect_one(1, in, len, 2, out);
    assert_frames_equal(out, olen, in, len);
    len = pkt_udp4(in, pkt_mac(2), pkt_mac(1), 0x0a000001, 0x0a000063,
                   1000, 53, 4);
    elen = pkt_udp4(exp, pkt_mac(2), pkt_mac(1), 0x0a000001, 0x0a000002,
                    1000, 53, 4);
    olen = send_expect_one(1, in, len, 2, out);
    assert_frames_equal(out, olen, exp, elen);
}

/* ---- Registers, move, output:FIELD -------------------------------------- */

Test(xlate, registers_across_tables)
{
    uint8_t in[PKT_MAX], out[PKT_MAX];
    size_t len, olen;

    add("table=0,in_port=1,actions=load:0x2->NXM_NX_REG0[],"
        "load:0x3->NXM_NX_REG1[0..15],resubmit(,1)");
    add("table=1,reg0=2,actions=move:NXM_NX_REG1[0..15]->NXM_NX_REG2[8..23],"
        "goto_table:2");
    add("table=2,reg2=0x300,actions=output:NXM_NX_REG1[0..15]");
    len = pkt_udp4(in, pkt_mac(2), pkt_mac(1), 0x0a000001, 0x0a000002,
                   1000, 53, 4);
    olen = send_expect_one(1, in, len, 3, out);
    assert_frames_equal(out, olen, in, len);
}

Test(xlate, move_reads_source_exactly)
{
    /* The output port comes from the low bits of the UDP destination
     * port: the megaflow must match those bits, or a packet to another
     * port would reuse the first packet's output. */
    uint8_t in[PKT_MAX], out[PKT_MAX];
    size_t len;

    add("in_port=1,udp,actions=move:NXM_OF_UDP_DST[0..1]->NXM_NX_REG3[0..1],"
        "output:NXM_NX_REG3[0..1]");
    len = pkt_udp4(in, pkt_mac(2), pkt_mac(1), 0x0a000001, 0x0a000002,
                   1000, 2, 4);
    send_expect_one(1, in, len, 2, out);
    len = pkt_udp4(in, pkt_mac(2), pkt_mac(1), 0x0a000001, 0x0a000002,
                   1000, 3, 4);
    send_expect_one(1, in, len, 3, out);
    char *t = trace_packet(1, in, len);
    cr_assert(strstr(t, "tp_dst=0x3/0x3") || strstr(t, "tp_dst=3"),
              "%s", t);
    free(t);
}

/* ---- VLAN --------------------------------------------------------------- */

Test(xlate, mod_vlan_vid_pushes_tag)
{
    uint8_t in[PKT_MAX], exp[PKT_MAX], out[PKT_MAX];
    size_t len, elen, olen;

    add("in_port=1,actions=mod_vlan_vid:10,output:2");
    len = pkt_udp4(in, pkt_mac(2), pkt_mac(1), 0x0a000001, 0x0a000002,
                   1000, 53, 4);
    memcpy(exp, in, len);
    elen = pkt_push_vlan(exp, len, 0x8100, 10);
    olen = send_expect_one(1, in, len, 2, out);
    assert_frames_equal(out, olen, exp, elen);

    char *t = trace_packet(1, in, len);
    char buf[256];
    cr_assert_str_eq(dp_actions_line(t, buf, sizeof buf),
                     "push_vlan(vid=10,pcp=0),2");
    free(t);
}

Test(xlate, mod_vlan_vid_and_pcp_on_tagged)
{
    uint8_t in[PKT_MAX], exp[PKT_MAX], out[PKT_MAX];
    size_t len, elen, olen;

    add("in_port=1,dl_vlan=10,actions=mod_vlan_vid:20,mod_vlan_pcp:5,"
        "output:2");
    len = pkt_udp4(in, pkt_mac(2), pkt_mac(1), 0x0a000001, 0x0a000002,
                   1000, 53, 4);
    memcpy(exp, in, len);
    len = pkt_push_vlan(in, len, 0x8100, 10);
    elen = pkt_push_vlan(exp, elen = len - 4, 0x8100, 5 << 13 | 20);
    olen = send_expect_one(1, in, len, 2, out);
    assert_frames_equal(out, olen, exp, elen);
}

Test(xlate, strip_vlan_and_push_vlan)
{
    uint8_t in[PKT_MAX], plain[PKT_MAX], exp[PKT_MAX], out[PKT_MAX];
    size_t len, plen, elen, olen;

    add("in_port=1,dl_vlan=10,actions=strip_vlan,output:2");
    add("in_port=1,dl_vlan=11,actions=pop_vlan,push_vlan:0x88a8,"
        "set_field:4126->vlan_vid,output:3");
    plen = pkt_udp4(plain, pkt_mac(2), pkt_mac(1), 0x0a000001, 0x0a000002,
                    1000, 53, 4);
    memcpy(in, plain, plen);
    len = pkt_push_vlan(in, plen, 0x8100, 10);
    olen = send_expect_one(1, in, len, 2, out);
    assert_frames_equal(out, olen, plain, plen);

    memcpy(in, plain, plen);
    len = pkt_push_vlan(in, plen, 0x8100, 11);
    memcpy(exp, plain, plen);
    elen = pkt_push_vlan(exp, plen, 0x88a8, 30);
    olen = send_expect_one(1, in, len, 3, out);
    assert_frames_equal(out, olen, exp, elen);
}

/* ---- dec_ttl, clone, controller, note ----------------------------------- */

Test(xlate, dec_ttl_drops_at_one)
{
    uint8_t in[PKT_MAX], out[PKT_MAX];
    size_t len, olen;

    add("in_port=1,ip,actions=dec_ttl,note:01.02,output:2");
    len = pkt_udp4(in, pkt_mac(2), pkt_mac(1), 0x0a000001, 0x0a000002,
                   1000, 53, 4);
    in[22] = 2;
    pkt_fix_csums(in, len);
    olen = send_expect_one(1, in, len, 2, out);
    cr_assert_eq(out[22], 1);
    cr_assert(pkt_csums_ok(out, olen));

    in[22] = 1;
    pkt_fix_csums(in, len);
    pkt_inject(dpif, 1, in, len);
    cr_assert_eq(pkt_collect(dpif, 2, 0, 200, SETTLE_MS, NULL, NULL), 0);
    char *t = trace_packet(1, in, len);
    cr_assert(strstr(t, "Datapath actions: drop\n"), "%s", t);
    cr_assert(strstr(t, "nw_ttl=1"), "megaflow must match the TTL: %s", t);
    free(t);

    /* The drop's megaflow must not swallow packets with a good TTL. */
    in[22] = 64;
    pkt_fix_csums(in, len);
    olen = send_expect_one(1, in, len, 2, out);
    cr_assert_eq(out[22], 63);
}

Test(xlate, clone_restores_packet)
{
    uint8_t in[PKT_MAX], exp[PKT_MAX], out[PKT_MAX];
    size_t len, elen, olen;

    add("in_port=1,ip,actions=clone(mod_dl_dst:02:00:00:00:00:99,"
        "mod_nw_dst:10.0.0.99,output:2),output:3");
    len = pkt_udp4(in, pkt_mac(2), pkt_mac(1), 0x0a000001, 0x0a000002,
                   1000, 53, 4);
    elen = pkt_udp4(exp, pkt_mac(0x99), pkt_mac(1), 0x0a000001, 0x0a000063,
                    1000, 53, 4);
    pkt_inject(dpif, 1, in, len);
    cr_assert_eq(pkt_collect(dpif, 2, 1, WAIT_MS, SETTLE_MS, out, &olen), 1);
    assert_frames_equal(out, olen, exp, elen);
    cr_assert_eq(pkt_collect(dpif, 3, 1, WAIT_MS, SETTLE_MS, out, &olen), 1);
    assert_frames_equal(out, olen, in, len);
}

static int n_pin;
static uint8_t pin_data[PKT_MAX];
static size_t pin_len;
static uint8_t pin_reason;

static void
pin_cb(void *aux, const struct ofproto_packet_in *pin)
{
    (void) aux;
    n_pin++;
    pin_len = pin->len < PKT_MAX ? pin->len : PKT_MAX;
    memcpy(pin_data, pin->packet, pin_len);
    pin_reason = pin->reason;
}

Test(xlate, controller_sees_modified_packet)
{
    uint8_t in[PKT_MAX], exp[PKT_MAX];
    size_t len, elen;

    ofproto_set_packet_in_cb(ofp, pin_cb, NULL);
    add("in_port=1,ip,actions=mod_nw_src:10.7.7.7,"
        "controller(reason=no_match,max_len=1000)");
    len = pkt_udp4(in, pkt_mac(2), pkt_mac(1), 0x0a000001, 0x0a000002,
                   1000, 53, 4);
    elen = pkt_udp4(exp, pkt_mac(2), pkt_mac(1), 0x0a070707, 0x0a000002,
                    1000, 53, 4);
    n_pin = 0;
    pkt_inject(dpif, 1, in, len);
    for (int i = 0; i < 500 && !n_pin; i++) {
        pkt_sleep_ms(4);
        ofproto_run(ofp);
    }
    cr_assert_eq(n_pin, 1);
    cr_assert_eq(pin_reason, 0);
    assert_frames_equal(pin_data, pin_len, exp, elen);
}

/* ---- Limits and refusals ------------------------------------------------ */

Test(xlate, resubmit_loop_is_dropped)
{
    uint8_t in[PKT_MAX];
    size_t len;

    add("table=0,actions=output:2,resubmit(,0)");
    len = pkt_udp4(in, pkt_mac(2), pkt_mac(1), 0x0a000001, 0x0a000002,
                   1000, 53, 4);
    char *t = trace_packet(1, in, len);
    cr_assert(strstr(t, "over max translation depth 64"), "%s", t);
    cr_assert(strstr(t, "Datapath actions: drop"), "%s", t);
    free(t);
    pkt_inject(dpif, 1, in, len);
    cr_assert_eq(pkt_collect(dpif, 2, 0, 200, SETTLE_MS, NULL, NULL), 0);
}

Test(xlate, total_resubmit_limit)
{
    /* A binary tree of resubmits, 13 deep: 8191 lookups > 4096. */
    char text[128];
    uint8_t in[PKT_MAX];
    size_t len;

    for (int i = 0; i < 13; i++) {
        snprintf(text, sizeof text, "table=%d,actions=resubmit(,%d),"
                 "resubmit(,%d)", i, i + 1, i + 1);
        add(text);
    }
    len = pkt_udp4(in, pkt_mac(2), pkt_mac(1), 0x0a000001, 0x0a000002,
                   1000, 53, 4);
    struct flow flow;
    struct dp_packet *p = dp_packet_clone_data(in, len);
    flow_extract(p, &flow);
    dp_packet_delete(p);
    flow.in_port = 1;
    struct ds s = DS_EMPTY_INITIALIZER;
    cr_assert_eq(ofproto_trace(ofp, &flow, &s), -ELOOP);
    cr_assert(strstr(ds_cstr(&s), "over 4096 resubmit actions"));
    ds_destroy(&s);
}

Test(xlate, refused_actions)
{
    char *err = NULL;

    struct ofp_flow_mod fm;

    /* The parser checks prerequisites; ofproto checks them again for
     * flow mods built by other means. */
    cr_assert_null(ofp_parse_flow_mod(&fm, "in_port=1,udp,actions="
                                      "mod_tp_dst:80", OFPFC_ADD, NULL));
    match_init_catchall(&fm.match);
    cr_assert_neq(ofproto_flow_mod(ofp, &fm, &err), 0);
    cr_assert(strstr(err, "tcp, udp or sctp"), "%s", err);
    ofp_flow_mod_release(&fm);
    free(err);
    err = NULL;
    cr_assert_neq(mod("in_port=1,actions=group:7", OFPFC_ADD, &err), 0);
    cr_assert(strstr(err, "group 7 does not exist"), "%s", err);
    free(err);
    cr_assert_eq(ofproto_flow_count(ofp, 0xff), 0);
}

/* ---- ARP responder ------------------------------------------------------ */

Test(xlate, arp_responder)
{
    uint8_t in[PKT_MAX], exp[PKT_MAX], out[PKT_MAX];
    struct eth_addr vmac = { { 0x00, 0x00, 0x5e, 0x00, 0x01, 0x01 } };
    size_t len, elen, olen;

    add("table=0,arp,arp_tpa=10.0.0.100,arp_op=1,"
        "actions=move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[],"
        "mod_dl_src:00:00:5e:00:01:01,load:0x2->NXM_OF_ARP_OP[],"
        "move:NXM_NX_ARP_SHA[]->NXM_NX_ARP_THA[],"
        "load:0x00005e000101->NXM_NX_ARP_SHA[],"
        "move:NXM_OF_ARP_SPA[]->NXM_OF_ARP_TPA[],"
        "load:0x0a000064->NXM_OF_ARP_SPA[],in_port");
    len = pkt_arp(in, 1, pkt_mac(1), 0x0a000001, eth_addr_zero, 0x0a000064);
    elen = pkt_arp(exp, 2, vmac, 0x0a000064, pkt_mac(1), 0x0a000001);
    olen = send_expect_one(1, in, len, 1, out);
    assert_frames_equal(out, olen, exp, elen);

    /* A second requester gets its own reply (megaflow correctness). */
    len = pkt_arp(in, 1, pkt_mac(2), 0x0a000002, eth_addr_zero, 0x0a000064);
    elen = pkt_arp(exp, 2, vmac, 0x0a000064, pkt_mac(2), 0x0a000002);
    olen = send_expect_one(2, in, len, 2, out);
    assert_frames_equal(out, olen, exp, elen);

    /* Not for the virtual address: no reply. */
    len = pkt_arp(in, 1, pkt_mac(2), 0x0a000002, eth_addr_zero, 0x0a000065);
    pkt_inject(dpif, 2, in, len);
    cr_assert_eq(pkt_collect(dpif, 2, 0, 200, SETTLE_MS, NULL, NULL), 0);
}

/* ---- Trace -------------------------------------------------------------- */

Test(xlate, trace_shape)
{
    uint8_t in[PKT_MAX];
    size_t len;

    add("table=0,in_port=1,ip,priority=10,cookie=0x5,"
        "actions=mod_nw_dst:10.0.0.9,resubmit(,1)");
    add("table=1,ip,nw_dst=10.0.0.9,actions=resubmit(,2),output:2");
    len = pkt_udp4(in, pkt_mac(2), pkt_mac(1), 0x0a000001, 0x0a000002,
                   1000, 53, 4);
    char *t = trace_packet(1, in, len);
    cr_assert(strstr(t, "Flow: "), "%s", t);
    cr_assert(strstr(t, "bridge(\"br0\")\n-------------\n"), "%s", t);
    cr_assert(strstr(t, " 0. ip,in_port=1, priority 10, cookie 0x5\n"
                     "    mod_nw_dst:10.0.0.9\n"
                     "    resubmit(,1)\n"
                     "     1. ip,nw_dst=10.0.0.9, priority 32768\n"
                     "        resubmit(,2)\n"
                     "         2. No match.\n"), "%s", t);
    cr_assert(strstr(t, "        output:2\n"), "%s", t);
    cr_assert(strstr(t, "Final flow: "), "%s", t);
    cr_assert(!strstr(t, "Final flow: unchanged"), "%s", t);
    cr_assert(strstr(t, "nw_dst=10.0.0.9"), "%s", t);
    cr_assert(strstr(t, "Megaflow: "), "%s", t);
    cr_assert(strstr(t, "Datapath actions: set(ipv4(dst=10.0.0.9)),2\n"),
              "%s", t);
    free(t);
}
