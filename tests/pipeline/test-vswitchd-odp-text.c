/* odp-text: megaflow keys printed as ovs-appctl dpctl/dump-flows does. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <string.h>

#include "dynamic-string.h"
#include "flow.h"
#include "odp-text.h"
#include "packets.h"

static void
expect(const struct flow *k, const struct flow_wildcards *wc,
       const char *want)
{
    struct ds ds = DS_EMPTY_INITIALIZER;
    odp_text_format_key(&ds, k, wc);
    cr_assert_str_eq(ds_cstr(&ds), want);
    ds_destroy(&ds);
}

static void
tcp_key(struct flow *k, struct flow_wildcards *wc)
{
    memset(k, 0, sizeof *k);
    memset(wc, 0, sizeof *wc);
    k->in_port = 1;
    k->dl_src = (struct eth_addr) { { 0, 0, 0, 0, 0, 1 } };
    k->dl_dst = (struct eth_addr) { { 0, 0, 0, 0, 0, 2 } };
    k->dl_type = htons(ETH_TYPE_IP);
    k->nw_src = htonl(0x0a000001);
    k->nw_dst = htonl(0x0a000002);
    k->nw_proto = 6;
    k->nw_ttl = 64;
    k->tp_src = htons(12345);
    k->tp_dst = htons(80);
    wc->masks.recirc_id = UINT32_MAX;
    wc->masks.in_port = UINT32_MAX;
    memset(&wc->masks.dl_src, 0xff, 6);
    memset(&wc->masks.dl_dst, 0xff, 6);
    wc->masks.dl_type = UINT16_MAX;
    wc->masks.nw_src = UINT32_MAX;
    wc->masks.nw_dst = UINT32_MAX;
    wc->masks.nw_proto = 0xff;
    wc->masks.nw_frag = FLOW_NW_FRAG_ANY | FLOW_NW_FRAG_LATER;
    wc->masks.tp_dst = UINT16_MAX;
}

Test(odp_text, exact_tcp)
{
    struct flow k;
    struct flow_wildcards wc;

    tcp_key(&k, &wc);
    expect(&k, &wc, "recirc_id(0),in_port(1),eth(src=00:00:00:00:00:01,"
           "dst=00:00:00:00:00:02),eth_type(0x0800),ipv4(src=10.0.0.1,"
           "dst=10.0.0.2,proto=6,frag=no),tcp(dst=80)");
}

Test(odp_text, masked_fields)
{
    struct flow k;
    struct flow_wildcards wc;

    tcp_key(&k, &wc);
    memset(&wc.masks.dl_src, 0, 6);         /* wildcarded: left out */
    wc.masks.nw_src = htonl(0xffffff00);    /* dotted mask */
    k.nw_src = htonl(0x0a000000);
    wc.masks.tp_dst = htons(0xfff0);        /* hex mask */
    wc.masks.nw_ttl = 0xff;
    k.recirc_id = 2;
    expect(&k, &wc, "recirc_id(0x2),in_port(1),eth(dst=00:00:00:00:00:02),"
           "eth_type(0x0800),ipv4(src=10.0.0.0/255.255.255.0,dst=10.0.0.2,"
           "proto=6,ttl=64,frag=no),tcp(dst=80/0xfff0)");
}

Test(odp_text, wildcarded_attributes_are_omitted)
{
    struct flow k;
    struct flow_wildcards wc;

    tcp_key(&k, &wc);
    memset(&wc.masks.dl_src, 0, 6);
    memset(&wc.masks.dl_dst, 0, 6);
    wc.masks.nw_src = wc.masks.nw_dst = 0;
    wc.masks.nw_proto = 0;
    wc.masks.tp_dst = 0;
    expect(&k, &wc, "recirc_id(0),in_port(1),eth_type(0x0800),"
           "ipv4(frag=no)");
}

Test(odp_text, conntrack_and_tcp_flags)
{
    struct flow k;
    struct flow_wildcards wc;

    tcp_key(&k, &wc);
    k.ct_state = CS_TRACKED | CS_ESTABLISHED;
    wc.masks.ct_state = CS_TRACKED | CS_ESTABLISHED | CS_NEW;
    k.ct_zone = 1;
    wc.masks.ct_zone = UINT16_MAX;
    k.tcp_flags = htons(0x012);
    wc.masks.tcp_flags = htons(0x0fff);
    memset(&wc.masks.dl_src, 0, 6);
    memset(&wc.masks.dl_dst, 0, 6);
    expect(&k, &wc, "recirc_id(0),in_port(1),ct_state(-new+est+trk),"
           "ct_zone(0x1),eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.0.2,"
           "proto=6,frag=no),tcp(dst=80),tcp_flags(syn|ack)");
}

Test(odp_text, arp_and_vlan)
{
    struct flow k;
    struct flow_wildcards wc;

    memset(&k, 0, sizeof k);
    memset(&wc, 0, sizeof wc);
    k.in_port = 2;
    wc.masks.in_port = UINT32_MAX;
    k.vlans[0].tpid = htons(ETH_TYPE_VLAN_8021Q);
    k.vlans[0].tci = htons(0x1000 | 10);
    wc.masks.vlans[0].tci = htons(0x1fff);
    k.dl_type = htons(ETH_TYPE_ARP);
    wc.masks.dl_type = UINT16_MAX;
    k.nw_src = htonl(0x0a000001);
    wc.masks.nw_src = UINT32_MAX;
    k.nw_proto = 1;
    wc.masks.nw_proto = 0xff;
    expect(&k, &wc, "in_port(2),eth_type(0x8100),vlan(vid=10),"
           "encap(eth_type(0x0806),arp(sip=10.0.0.1,op=1))");
}
