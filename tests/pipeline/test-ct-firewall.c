/* Pipeline tests of ct() through the real dpif (dummy ports, workers,
 * megaflows, recirculation): the stateful firewall of shared/ANCHORS.md,
 * zones, ct_mark set by exec and matched after recirculation, registers
 * preserved across recirculation, ct_clear, datapath action text, and
 * the dpif_ct control API (dump, flush, limits, timeout policies). */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include "dpif.h"
#include "dynamic-string.h"
#include "helper-packets.h"
#include "ofp-flow.h"
#include "ofproto.h"
#include "helper-ct-bridge.h"
#include "smap.h"

#define WAIT_MS 2000
#define SETTLE_MS 40
#define IP(a, b, c, d) ((uint32_t) (a) << 24 | (b) << 16 | (c) << 8 | (d))

static struct ct_bridge br;

static void
setup(void)
{
    ct_bridge_create(&br, "ctfw");
}

static void
teardown(void)
{
    ct_bridge_destroy(&br);
}

TestSuite(ctfw, .init = setup, .fini = teardown, .timeout = 30);

static void
add(const char *text)
{
    struct ofp_flow_mod fm;
    char *err = ofp_parse_flow_mod(&fm, text, OFPFC_ADD, NULL);

    cr_assert_null(err, "parse '%s': %s", text, err);
    cr_assert_eq(ofproto_flow_mod(br.ofp, &fm, &err), 0, "add '%s': %s", text,
                 err ? err : "?");
    ofp_flow_mod_release(&fm);
}

static void
firewall(void)
{
    add("table=0,priority=10,ip,ct_state=-trk,actions=ct(table=1,zone=1)");
    add("table=0,priority=1,actions=drop");
    add("table=1,priority=10,in_port=1,ip,ct_state=+trk+new,"
        "actions=ct(commit,zone=1),output:2");
    add("table=1,priority=10,in_port=1,ip,ct_state=+trk+est,"
        "actions=output:2");
    add("table=1,priority=10,in_port=2,ip,ct_state=+trk+est,"
        "actions=output:1");
    add("table=1,priority=1,actions=drop");
}

/* Sends a frame in 'in' and returns how many came out of 'out'. */
static int
pass(uint32_t in, uint32_t out, const uint8_t *frame, size_t len)
{
    pkt_inject(br.dpif, in, frame, len);
    return pkt_collect(br.dpif, out, 1, 300, SETTLE_MS, NULL, NULL);
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

static size_t
tcp(uint8_t *buf, bool reply, uint16_t flags)
{
    size_t len;

    if (reply) {
        len = pkt_tcp4(buf, pkt_mac(1), pkt_mac(2), IP(10, 0, 0, 2),
                       IP(10, 0, 0, 1), 80, 40000, flags);
    } else {
        len = pkt_tcp4(buf, pkt_mac(2), pkt_mac(1), IP(10, 0, 0, 1),
                       IP(10, 0, 0, 2), 40000, 80, flags);
    }
    pkt_fix_csums(buf, len);
    return len;
}

Test(ctfw, udp_new_reply_and_blocked)
{
    uint8_t buf[PKT_MAX];
    size_t len;
    struct ds s = DS_EMPTY_INITIALIZER;
    struct dpif_ct_dump *d;

    firewall();
    /* New from port 2: not allowed (no connection, table 1 drops). */
    len = udp(buf, true, 1111);
    cr_assert_eq(pass(2, 1, buf, len), 0, "new from port 2 must drop");
    /* New from port 1 passes and commits. */
    len = udp(buf, false, 1111);
    cr_assert_eq(pass(1, 2, buf, len), 1, "new from port 1 must pass");
    cr_assert_eq(dpif_ct_get_nconns(br.ct), 1);
    /* The reply passes back. */
    len = udp(buf, true, 1111);
    cr_assert_eq(pass(2, 1, buf, len), 1, "reply must pass");
    /* More of the same both ways (megaflow hits). */
    for (int i = 0; i < 3; i++) {
        len = udp(buf, false, 1111);
        cr_assert_eq(pass(1, 2, buf, len), 1);
        len = udp(buf, true, 1111);
        cr_assert_eq(pass(2, 1, buf, len), 1);
    }
    d = dpif_ct_dump_start(br.ct, NULL, false, false);
    while (dpif_ct_dump_next(d, &s, 100)) {
        continue;
    }
    dpif_ct_dump_destroy(d);
    cr_assert(strstr(ds_cstr(&s), "udp,orig=(src=10.0.0.1,dst=10.0.0.2,"
                                  "sport=1111,dport=53)"), "%s",
              ds_cstr(&s));
    cr_assert(strstr(ds_cstr(&s), "zone=1"), "%s", ds_cstr(&s));
    ds_destroy(&s);
    /* Flushing zone 1 forgets it: the reply is dropped again. */
    struct dpif_ct_flush_filter f = { .has_zone = true, .zone = 1 };
    cr_assert_eq(dpif_ct_flush(br.ct, &f), 1);
    len = udp(buf, true, 1111);
    cr_assert_eq(pass(2, 1, buf, len), 0);
}

Test(ctfw, tcp_handshake_and_data)
{
    uint8_t buf[PKT_MAX];
    size_t len;

    firewall();
    len = tcp(buf, false, TCP_SYN);
    cr_assert_eq(pass(1, 2, buf, len), 1, "SYN");
    len = tcp(buf, true, TCP_SYN | TCP_ACK);
    cr_assert_eq(pass(2, 1, buf, len), 1, "SYN-ACK");
    len = tcp(buf, false, TCP_ACK);
    cr_assert_eq(pass(1, 2, buf, len), 1, "ACK");
    /* A SYN from the other side for a different connection: dropped. */
    len = pkt_tcp4(buf, pkt_mac(1), pkt_mac(2), IP(10, 0, 0, 2),
                   IP(10, 0, 0, 1), 5555, 22, TCP_SYN);
    pkt_fix_csums(buf, len);
    cr_assert_eq(pass(2, 1, buf, len), 0);
}

Test(ctfw, mark_via_exec_and_registers_across_recirc)
{
    uint8_t buf[PKT_MAX];
    size_t len;

    add("table=0,priority=10,ip,ct_state=-trk,"
        "actions=load:0x2a->NXM_NX_REG3[],ct(table=1,zone=5)");
    add("table=1,priority=20,ip,ct_state=+trk+new,reg3=0x2a,"
        "actions=ct(commit,zone=5,exec(set_field:0x7->ct_mark)),output:2");
    add("table=1,priority=20,ip,ct_state=+trk+est,ct_mark=0x7,reg3=0x2a,"
        "actions=output:2");
    add("table=1,priority=1,actions=drop");
    len = udp(buf, false, 2222);
    cr_assert_eq(pass(1, 2, buf, len), 1, "first packet, reg3 restored");
    len = udp(buf, false, 2222);
    /* UDP in the original direction without reply: +new again in OVS,
     * so the commit rule matches; it still passes. */
    cr_assert_eq(pass(1, 2, buf, len), 1);
    len = udp(buf, true, 2222);
    cr_assert_eq(pass(1, 2, buf, len), 1, "reply: +est with ct_mark=7");
}

Test(ctfw, zones_keep_tuples_apart)
{
    uint8_t buf[PKT_MAX];
    size_t len;

    add("table=0,priority=10,in_port=1,ip,actions=ct(commit,zone=1),"
        "ct(commit,zone=2),output:2");
    len = udp(buf, false, 3333);
    cr_assert_eq(pass(1, 2, buf, len), 1);
    struct dpif_ct_zone_stats zs;
    dpif_ct_get_zone_stats(br.ct, 1, &zs);
    cr_assert_eq(zs.count, 1);
    dpif_ct_get_zone_stats(br.ct, 2, &zs);
    cr_assert_eq(zs.count, 1);
    cr_assert_eq(dpif_ct_get_nconns(br.ct), 2);
}

Test(ctfw, ct_requires_valid_exec)
{
    struct ofp_flow_mod fm;
    char *err = ofp_parse_flow_mod(&fm, "ip,actions=ct(zone=1,exec("
                                   "set_field:0x1->ct_mark))", OFPFC_ADD,
                                   NULL);

    cr_assert_null(err);
    cr_assert_neq(ofproto_flow_mod(br.ofp, &fm, &err), 0);
    cr_assert(err && strstr(err, "commit"), "%s", err ? err : "");
    free(err);
    ofp_flow_mod_release(&fm);
}

Test(ctfw, dpa_format_ct)
{
    uint64_t stub[64];
    struct dpa_buf b;
    struct dpa_ct *c;
    struct ds s = DS_EMPTY_INITIALIZER;
    uint32_t ip;

    DPA_BUF_STUB(&b, stub);
    c = dpa_put(&b, DPA_CT, sizeof *c);
    c->flags = DPA_CT_F_COMMIT;
    c->zone = 1;
    c->mark = 1;
    c->mark_mask = 0xff;
    c->nat_flags = DPA_CT_NAT | DPA_CT_NAT_SRC | DPA_CT_NAT_RANGE_ADDR
                   | DPA_CT_NAT_RANGE_PORT;
    c->nat_family = AF_INET;
    ip = htonl(IP(10, 0, 0, 1));
    memcpy(&c->addr_min, &ip, 4);
    ip = htonl(IP(10, 0, 0, 9));
    memcpy(&c->addr_max, &ip, 4);
    c->port_min = 1000;
    c->port_max = 2000;
    dpa_put(&b, DPA_CT_CLEAR, 0);
    *(uint32_t *) dpa_put(&b, DPA_RECIRC, 4) = 5;
    dpa_format(&s, b.data, b.size);
    cr_assert_str_eq(ds_cstr(&s), "ct(commit,zone=1,mark=0x1/0xff,"
                     "nat(src=10.0.0.1-10.0.0.9:1000-2000)),ct_clear,"
                     "recirc(0x5)");
    ds_destroy(&s);
}

Test(ctfw, control_api)
{
    struct smap keys = SMAP_INITIALIZER, out = SMAP_INITIALIZER;
    struct dpif_ct_tuple t;
    uint16_t zone = 3;
    char *err = NULL;

    smap_replace(&keys, "udp_first", "7");
    cr_assert_eq(dpif_ct_tp_set(br.ct, &zone, &keys, &err), 0);
    cr_assert_eq(dpif_ct_tp_get(br.ct, &zone, &out), 0);
    cr_assert_str_eq(smap_get(&out, "udp_first"), "7");
    cr_assert_eq(dpif_ct_tp_del(br.ct, zone), 0);
    cr_assert_eq(dpif_ct_tp_get(br.ct, &zone, &out), -ENOENT);
    smap_replace(&keys, "bogus", "1");
    cr_assert_eq(dpif_ct_tp_set(br.ct, &zone, &keys, &err), -EINVAL);
    cr_assert(err && strstr(err, "bogus"));
    free(err);
    smap_destroy(&keys);
    smap_destroy(&out);

    dpif_ct_set_zone_limit(br.ct, 9, 5);
    struct dpif_ct_zone_stats zs;
    dpif_ct_get_zone_stats(br.ct, 9, &zs);
    cr_assert_eq(zs.limit, 5);
    cr_assert(zs.own_limit);
    dpif_ct_set_maxconns(br.ct, 77);
    cr_assert_eq(dpif_ct_get_maxconns(br.ct), 77);

    cr_assert_eq(dpif_ct_tuple_parse("ct_nw_src=10.0.0.1,ct_nw_dst=10.0.0.2,"
                                     "ct_nw_proto=17,ct_tp_src=1,"
                                     "ct_tp_dst=2", &t, &err), 0);
    cr_assert_eq(dpif_ct_tuple_parse("ct_nw_src=xx", &t, &err), -EINVAL);
    free(err);
    cr_assert_geq(dpif_ct_run(br.ct, 1000), 1000);
}
