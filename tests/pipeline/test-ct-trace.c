/* Pipeline tests of the ct() integration in ofproto: reference-counted
 * recirculation ids (freed with the megaflows that name them), the ct
 * and nat prerequisites checked at flow-mod time, bare nat in ct()
 * (OVS semantics: no new binding, existing bindings applied), trace with
 * the live connection table, and the per-zone NAT exhaustion counter. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include "dp-packet.h"
#include "dpif.h"
#include "dynamic-string.h"
#include "flow.h"
#include "helper-packets.h"
#include "ofp-flow.h"
#include "ofpact.h"
#include "ofproto.h"
#include "helper-ct-bridge.h"

#define SETTLE_MS 40
#define IP(a, b, c, d) ((uint32_t) (a) << 24 | (b) << 16 | (c) << 8 | (d))

static struct ct_bridge br;

static void
setup(void)
{
    ct_bridge_create(&br, "cttr");
}

static void
teardown(void)
{
    ct_bridge_destroy(&br);
}

TestSuite(cttr, .init = setup, .fini = teardown, .timeout = 30);

/* Returns the flow-mod error (NULL on success; caller frees). */
static char *
try_mod(const char *text, enum ofp_flow_mod_command cmd)
{
    struct ofp_flow_mod fm;
    char *err = ofp_parse_flow_mod(&fm, text, cmd, NULL);

    if (err) {
        return err;
    }
    if (ofproto_flow_mod(br.ofp, &fm, &err) && !err) {
        err = xstrdup("failed without a message");
    }
    ofp_flow_mod_release(&fm);
    return err;
}

static void
add(const char *text)
{
    char *err = try_mod(text, OFPFC_ADD);

    cr_assert_null(err, "add '%s': %s", text, err);
}

static size_t
udp(uint8_t *buf, bool reply, uint16_t sport)
{
    size_t len;

    if (reply) {
        len = pkt_udp4(buf, pkt_mac(1), pkt_mac(2), IP(10, 0, 0, 2),
                       IP(10, 0, 0, 1), 53, sport, 10);
    } else {
        len = pkt_udp4(buf, pkt_mac(2), pkt_mac(1), IP(10, 0, 0, 1),
                       IP(10, 0, 0, 2), sport, 53, 10);
    }
    pkt_fix_csums(buf, len);
    return len;
}

/* Sends a frame in 'in'; returns how many came out of 'out', the last
 * one copied to 'last' if nonnull. */
static int
pass(uint32_t in, uint32_t out, const uint8_t *frame, size_t len,
     uint8_t *last)
{
    size_t last_len;

    pkt_inject(br.dpif, in, frame, len);
    return pkt_collect(br.dpif, out, 1, 300, SETTLE_MS, last,
                       last ? &last_len : NULL);
}

static uint32_t
ip_at(const uint8_t *frame, size_t len, size_t ofs)
{
    uint32_t ip;

    memcpy(&ip, frame + pkt_l3_ofs(frame, len) + ofs, 4);
    return ntohl(ip);
}

/* ---- Recirculation ids ------------------------------------------------ */

Test(cttr, recirc_ids_freed_with_megaflows)
{
    uint8_t buf[PKT_MAX];
    size_t len;
    int n_out = 0;

    /* Every source port gives a different reg0, so a different frozen
     * state and recirculation id. */
    add("table=0,priority=10,udp,in_port=1,"
        "actions=move:NXM_OF_UDP_SRC[]->NXM_NX_REG0[0..15],"
        "ct(table=1,zone=1)");
    add("table=1,priority=10,ip,actions=output:2");
    cr_assert_eq(ofproto_recirc_count(br.ofp), 0);
    for (int i = 0; i < 40; i++) {
        len = udp(buf, false, 2000 + i);
        pkt_inject(br.dpif, 1, buf, len);
    }
    n_out = pkt_collect(br.dpif, 2, 40, 2000, SETTLE_MS, NULL, NULL);
    cr_assert_eq(n_out, 40);
    cr_assert_eq(ofproto_recirc_count(br.ofp), 40);
    /* The same states again: deduplicated, no new id. */
    for (int i = 0; i < 40; i++) {
        len = udp(buf, false, 2000 + i);
        pkt_inject(br.dpif, 1, buf, len);
    }
    cr_assert_eq(pkt_collect(br.dpif, 2, 40, 2000, SETTLE_MS, NULL, NULL), 40);
    cr_assert_eq(ofproto_recirc_count(br.ofp), 40);

    /* Flushing the megaflows drops the references: the ids are freed. */
    dpif_flow_flush(br.dpif);
    cr_assert_eq(ofproto_recirc_count(br.ofp), 0);

    /* Traffic still works with fresh ids. */
    len = udp(buf, false, 2000);
    cr_assert_eq(pass(1, 2, buf, len, NULL), 1);
    cr_assert_eq(ofproto_recirc_count(br.ofp), 1);

    /* Deleting the rule that freezes the state revalidates its megaflow
     * away, which frees the id. */
    char *err = try_mod("table=0,udp,in_port=1", OFPFC_DELETE);
    cr_assert_null(err, "%s", err);
    cr_assert_eq(ofproto_recirc_count(br.ofp), 0);
    cr_assert_eq(pass(1, 2, buf, len, NULL), 0);
}

Test(cttr, trace_and_packet_out_hold_no_ids)
{
    uint8_t buf[PKT_MAX];
    struct ds s = DS_EMPTY_INITIALIZER;
    size_t len = udp(buf, false, 4444);

    add("table=0,priority=10,ip,actions=ct(table=1,zone=1)");
    add("table=1,priority=10,ip,actions=output:2");
    cr_assert_eq(ofproto_trace_packet(br.ofp, 1, buf, len, &s), 0);
    cr_assert_eq(ofproto_recirc_count(br.ofp), 0, "%s", ds_cstr(&s));
    ds_destroy(&s);
}

/* ---- Prerequisites ------------------------------------------------------ */

Test(cttr, ct_requires_ip)
{
    char *err;

    err = try_mod("actions=ct(zone=1)", OFPFC_ADD);
    cr_assert(err && strstr(err, "ct requires ip or ipv6"), "%s",
              err ? err : "accepted");
    free(err);
    err = try_mod("arp,actions=ct(commit)", OFPFC_ADD);
    cr_assert(err && strstr(err, "ct requires ip or ipv6"), "%s",
              err ? err : "accepted");
    free(err);
    err = try_mod("actions=clone(ct(commit))", OFPFC_ADD);
    cr_assert(err && strstr(err, "ct requires ip or ipv6"), "%s",
              err ? err : "accepted");
    free(err);
    err = try_mod("ip,actions=ct(commit,alg=ftp)", OFPFC_ADD);
    cr_assert(err && strstr(err, "ct(alg=ftp) requires tcp"), "%s",
              err ? err : "accepted");
    free(err);
    err = try_mod("tcp,actions=ct(commit,alg=tftp)", OFPFC_ADD);
    cr_assert(err && strstr(err, "ct(alg=tftp) requires udp"), "%s",
              err ? err : "accepted");
    free(err);
    err = try_mod("ip,ct_state=+trk+inv,actions=ct(commit)", OFPFC_ADD);
    cr_assert(err && strstr(err, "+inv"), "%s", err ? err : "accepted");
    free(err);
    /* Fine with ip, ipv6 or anything implying them. */
    add("ip,actions=ct(zone=1)");
    add("ipv6,actions=ct(zone=1)");
    add("tcp,actions=ct(commit,nat(src=10.0.0.9))");
    add("ip,ct_state=+trk+inv,actions=ct(zone=3)");
    add("tcp6,actions=ct(commit,alg=ftp)");
    add("udp,actions=ct(commit,alg=tftp)");
    cr_assert_eq(ofproto_flow_count(br.ofp, 0), 6);
}

Test(cttr, nat_without_ct_refused)
{
    char *err = try_mod("ip,actions=nat(src=10.0.0.9)", OFPFC_ADD);

    cr_assert_not_null(err, "nat outside ct() must be refused");
    free(err);
    err = try_mod("ip,actions=nat", OFPFC_ADD);
    cr_assert_not_null(err, "bare nat outside ct() must be refused");
    free(err);
}

/* ---- NAT ---------------------------------------------------------------- */

Test(cttr, bare_nat_new_connection_untouched)
{
    uint8_t buf[PKT_MAX], out[PKT_MAX];
    size_t len;

    /* ct(commit,nat) with no range on a new connection: committed, no
     * translation (OVS). */
    add("table=0,priority=10,ip,in_port=1,actions=ct(commit,zone=1,nat),"
        "output:2");
    len = udp(buf, false, 5555);
    cr_assert_eq(pass(1, 2, buf, len, out), 1);
    cr_assert_eq(ip_at(out, len, 12), IP(10, 0, 0, 1));
    cr_assert_eq(ip_at(out, len, 16), IP(10, 0, 0, 2));
    cr_assert_eq(dpif_ct_get_nconns(br.ct), 1);
}

Test(cttr, bare_nat_applies_existing_binding)
{
    uint8_t buf[PKT_MAX], out[PKT_MAX];
    size_t len;

    /* SNAT on the way out; ct(nat) without commit or range on the way
     * back applies the binding (reverse translation). */
    add("table=0,priority=10,ip,in_port=1,"
        "actions=ct(commit,zone=1,nat(src=10.0.0.100)),output:2");
    add("table=0,priority=10,ip,in_port=2,actions=ct(zone=1,nat),output:1");
    len = udp(buf, false, 6666);
    cr_assert_eq(pass(1, 2, buf, len, out), 1);
    cr_assert_eq(ip_at(out, len, 12), IP(10, 0, 0, 100));
    cr_assert_eq(ip_at(out, len, 16), IP(10, 0, 0, 2));
    cr_assert(pkt_csums_ok(out, len));

    len = pkt_udp4(buf, pkt_mac(1), pkt_mac(2), IP(10, 0, 0, 2),
                   IP(10, 0, 0, 100), 53, 6666, 10);
    pkt_fix_csums(buf, len);
    cr_assert_eq(pass(2, 1, buf, len, out), 1);
    cr_assert_eq(ip_at(out, len, 12), IP(10, 0, 0, 2));
    cr_assert_eq(ip_at(out, len, 16), IP(10, 0, 0, 1), "reply de-NATed");
    cr_assert(pkt_csums_ok(out, len));

    /* A new connection from port 2 through ct(nat): nothing to apply. */
    len = pkt_udp4(buf, pkt_mac(1), pkt_mac(2), IP(10, 0, 0, 2),
                   IP(10, 0, 0, 7), 53, 7777, 10);
    pkt_fix_csums(buf, len);
    cr_assert_eq(pass(2, 1, buf, len, out), 1);
    cr_assert_eq(ip_at(out, len, 16), IP(10, 0, 0, 7));
    cr_assert_eq(dpif_ct_get_nconns(br.ct), 1, "not committed");
}

Test(cttr, zone_nat_exhaustion_in_stats)
{
    uint8_t buf[PKT_MAX];
    struct dpif_ct_zone_stats before, after;
    struct dpif_ct_stats st;
    size_t len;

    dpif_ct_get_zone_stats(br.ct, 7, &before);
    /* One address and one port: the second connection to the same
     * destination finds no free tuple. */
    add("table=0,priority=10,udp,in_port=1,"
        "actions=ct(commit,zone=7,nat(src=10.0.0.100:5000)),output:2");
    len = udp(buf, false, 1001);
    cr_assert_eq(pass(1, 2, buf, len, NULL), 1);
    len = udp(buf, false, 1002);
    pass(1, 2, buf, len, NULL);
    dpif_ct_get_zone_stats(br.ct, 7, &after);
    dpif_ct_get_stats(br.ct, &st);
    cr_assert_geq(st.nat_exhausted, 1);
    cr_assert_eq(after.nat_exhausted - before.nat_exhausted,
                 st.nat_exhausted);
    dpif_ct_get_zone_stats(br.ct, 8, &after);
    cr_assert_eq(after.nat_exhausted, 0);
}

/* ---- Trace with live conntrack state ------------------------------------ */

static void
firewall(void)
{
    add("table=0,priority=10,ip,ct_state=-trk,actions=ct(table=1,zone=1)");
    add("table=0,priority=1,actions=drop");
    add("table=1,priority=10,in_port=1,ip,ct_state=+trk+new,"
        "actions=ct(commit,zone=1),output:2");
    add("table=1,priority=10,in_port=1,ip,ct_state=+trk+est,"
        "actions=output:2");
    add("table=1,priority=100,in_port=2,ip,ct_state=+trk+est,"
        "actions=output:1");
    add("table=1,priority=1,actions=drop");
}

/* The part of 's' after the recirculation section header. */
static const char *
recirc_section(struct ds *s)
{
    const char *p = strstr(ds_cstr(s), "Recirculation conntrack action");

    cr_assert_not_null(p, "no recirculation section:\n%s", ds_cstr(s));
    return p;
}

Test(cttr, trace_reply_sees_live_est)
{
    uint8_t buf[PKT_MAX];
    struct ds s = DS_EMPTY_INITIALIZER;
    const char *sec;
    size_t len;

    firewall();
    len = udp(buf, false, 1111);
    cr_assert_eq(pass(1, 2, buf, len, NULL), 1);
    cr_assert_eq(dpif_ct_get_nconns(br.ct), 1);

    len = udp(buf, true, 1111);
    cr_assert_eq(ofproto_trace_packet(br.ofp, 2, buf, len, &s), 0);
    sec = recirc_section(&s);
    cr_assert(strstr(sec, "(live table: state=+est+rpl+trk, zone=1"),
              "%s", ds_cstr(&s));
    cr_assert(strstr(sec, "ct_state=+est+trk,ip"), "%s", ds_cstr(&s));
    cr_assert(strstr(sec, "priority 100"), "%s", ds_cstr(&s));
    cr_assert(strstr(sec, "Datapath actions: 1\n"), "%s", ds_cstr(&s));
    /* The first pass is unchanged: br.ct then recirc. */
    cr_assert(strstr(ds_cstr(&s), "Datapath actions: ct(zone=1),recirc("),
              "%s", ds_cstr(&s));
    ds_destroy(&s);
    /* Read-only: nothing created. */
    cr_assert_eq(dpif_ct_get_nconns(br.ct), 1);
}

Test(cttr, trace_without_connection_sees_new)
{
    uint8_t buf[PKT_MAX];
    struct ds s = DS_EMPTY_INITIALIZER;
    const char *sec;
    size_t len;

    firewall();
    len = udp(buf, true, 2222);
    cr_assert_eq(ofproto_trace_packet(br.ofp, 2, buf, len, &s), 0);
    sec = recirc_section(&s);
    cr_assert(strstr(sec, "(live table: state=+new+trk, zone=1"), "%s",
              ds_cstr(&s));
    cr_assert(strstr(sec, "Datapath actions: drop\n"), "%s", ds_cstr(&s));
    ds_clear(&s);

    /* From port 1, +new commits (in the trace, only said). */
    len = udp(buf, false, 2222);
    cr_assert_eq(ofproto_trace_packet(br.ofp, 1, buf, len, &s), 0);
    sec = recirc_section(&s);
    cr_assert(strstr(sec, "state=+new+trk"), "%s", ds_cstr(&s));
    cr_assert(strstr(sec, "Datapath actions: ct(commit,zone=1),2\n"), "%s",
              ds_cstr(&s));
    ds_destroy(&s);
    cr_assert_eq(dpif_ct_get_nconns(br.ct), 0, "trace must not commit");
}

Test(cttr, trace_flow_text_uses_flow_state)
{
    uint8_t buf[PKT_MAX];
    struct ds s = DS_EMPTY_INITIALIZER;
    struct dp_packet *pkt;
    struct flow flow;
    const char *sec;
    size_t len;

    firewall();
    /* Port 2 goes through br.ct whatever the flow's ct_state says. */
    add("table=0,priority=20,ip,in_port=2,actions=ct(table=1,zone=1)");
    /* A live connection exists, but a flow trace cannot see it. */
    len = udp(buf, false, 3333);
    cr_assert_eq(pass(1, 2, buf, len, NULL), 1);
    len = udp(buf, true, 3333);
    pkt = dp_packet_clone_data(buf, len);
    flow_extract(pkt, &flow);
    dp_packet_delete(pkt);
    flow.in_port = 2;

    cr_assert_eq(ofproto_trace(br.ofp, &flow, &s), 0);
    sec = recirc_section(&s);
    cr_assert(strstr(sec, "state=+new+trk"), "%s", ds_cstr(&s));
    cr_assert(strstr(sec, "a real packet would be looked up"), "%s",
              ds_cstr(&s));
    cr_assert(strstr(sec, "Datapath actions: drop\n"), "%s", ds_cstr(&s));
    ds_clear(&s);

    /* The state the user gives is used as is. */
    flow.ct_state = CS_TRACKED | CS_ESTABLISHED;
    cr_assert_eq(ofproto_trace(br.ofp, &flow, &s), 0);
    sec = recirc_section(&s);
    cr_assert(strstr(sec, "state=+est+trk, zone=1"), "%s", ds_cstr(&s));
    cr_assert(strstr(sec, "Datapath actions: 1\n"), "%s", ds_cstr(&s));
    ds_destroy(&s);
}

Test(cttr, packet_out_ct_recirc_and_prereq)
{
    uint8_t buf[PKT_MAX];
    struct ofpacts acts;
    size_t len;
    char *err;

    add("table=1,priority=10,ip,actions=output:2");
    ofpacts_init(&acts);
    err = ofpacts_parse("ct(table=1,zone=1)", NULL, &acts);
    cr_assert_null(err, "%s", err);
    len = udp(buf, false, 8888);
    cr_assert_eq(ofproto_packet_out(br.ofp, 1, buf, len, &acts, &err), 0,
                 "%s", err ? err : "");
    cr_assert_eq(pkt_collect(br.dpif, 2, 1, 1000, SETTLE_MS, NULL, NULL), 1);
    /* The id lived only for the packet-out. */
    cr_assert_eq(ofproto_recirc_count(br.ofp), 0);

    len = pkt_arp(buf, 1, pkt_mac(1), IP(10, 0, 0, 1), pkt_mac(2),
                  IP(10, 0, 0, 2));
    cr_assert_neq(ofproto_packet_out(br.ofp, 1, buf, len, &acts, &err), 0);
    cr_assert(err && strstr(err, "ct requires ip or ipv6"), "%s",
              err ? err : "accepted");
    free(err);
    ofpacts_release(&acts);
}
