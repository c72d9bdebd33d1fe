/* Unit tests for flow: extraction of packets built byte by byte for each
 * protocol (every field of the key checked by comparing the whole
 * struct), every truncation of every sample (exact-size heap copies, so
 * the ASan build catches overreads), random corruption, masks, hashing
 * and the text format. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp-packet.h"
#include "dynamic-string.h"
#include "flow.h"
#include "packets.h"

/* Criterion's --full-stats records every assertion, which makes millions
 * of them slow: loops check with CHECK, which asserts only on failure. */
#define CHECK(COND, ...)                                                 \
    do {                                                                 \
        if (!(COND)) {                                                   \
            cr_assert_fail(__VA_ARGS__);                                 \
        }                                                                \
    } while (0)

/* Packet builder. */
struct pb {
    uint8_t buf[512];
    size_t n;
};

static void put8(struct pb *b, uint8_t v) { b->buf[b->n++] = v; }
static void put16(struct pb *b, uint16_t v) { put8(b, v >> 8); put8(b, v); }
static void put32(struct pb *b, uint32_t v)
{
    put16(b, v >> 16);
    put16(b, v);
}
static void put_bytes(struct pb *b, const void *p, size_t n)
{
    if (n) {
        memcpy(b->buf + b->n, p, n);
    }
    b->n += n;
}
static void put_zeros(struct pb *b, size_t n)
{
    memset(b->buf + b->n, 0, n);
    b->n += n;
}
/* Writes a big-endian 16-bit value at 'ofs' (length fields). */
static void poke16(struct pb *b, size_t ofs, uint16_t v)
{
    b->buf[ofs] = v >> 8;
    b->buf[ofs + 1] = v;
}

static const struct eth_addr mac_a = {
    { 0x50, 0x54, 0x00, 0x00, 0x00, 0x01 } };
static const struct eth_addr mac_b = {
    { 0x50, 0x54, 0x00, 0x00, 0x00, 0x02 } };
static const struct eth_addr mac_c = {
    { 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f } };

static struct in6_addr
in6(const char *s)
{
    struct in6_addr a;

    cr_assert_eq(inet_pton(AF_INET6, s, &a), 1);
    return a;
}

static void
put_eth(struct pb *b, uint16_t type)
{
    put_bytes(b, &mac_b, 6);    /* dst */
    put_bytes(b, &mac_a, 6);    /* src */
    put16(b, type);
}

/* IPv4 header with 'opt_len' bytes of options; returns the offset of the
 * header so the caller can fix the total length with ip_done(). */
static size_t
put_ipv4(struct pb *b, uint8_t proto, uint16_t frag, const uint8_t *opts,
         size_t opt_len)
{
    size_t ofs = b->n;

    put8(b, 0x40 | (5 + opt_len / 4));
    put8(b, 0xb9);              /* DSCP 46, ECN 1 */
    put16(b, 0);                /* fixed in ip_done */
    put16(b, 0x1234);
    put16(b, frag);
    put8(b, 64);
    put8(b, proto);
    put16(b, 0);
    put32(b, 0x0a000001);
    put32(b, 0xc0a80102);
    put_bytes(b, opts, opt_len);
    return ofs;
}

static void
ip_done(struct pb *b, size_t ip_ofs)
{
    poke16(b, ip_ofs + 2, b->n - ip_ofs);
}

static size_t
put_ipv6(struct pb *b, uint8_t nxt)
{
    size_t ofs = b->n;
    struct in6_addr s = in6("2001:db8::1"), d = in6("fe80::2");

    put32(b, 0x6a012345);       /* tc 0xa0, label 0x12345 */
    put16(b, 0);
    put8(b, nxt);
    put8(b, 255);
    put_bytes(b, &s, 16);
    put_bytes(b, &d, 16);
    return ofs;
}

static void
ip6_done(struct pb *b, size_t ip_ofs)
{
    poke16(b, ip_ofs + 4, b->n - ip_ofs - 40);
}

static void
put_tcp(struct pb *b, uint16_t src, uint16_t dst, uint16_t flags)
{
    put16(b, src);
    put16(b, dst);
    put32(b, 1000);
    put32(b, 2000);
    put16(b, TCP_CTL(flags, 6));        /* 4 bytes of options */
    put16(b, 65535);
    put16(b, 0);
    put16(b, 0);
    put32(b, 0x020405b4);               /* MSS */
    put_bytes(b, "data", 4);
}

static void
put_udp(struct pb *b, uint16_t src, uint16_t dst)
{
    put16(b, src);
    put16(b, dst);
    put16(b, 12);
    put16(b, 0);
    put_bytes(b, "abcd", 4);
}

/* Expected key with the L2 fields every sample shares. */
static void
expect_eth(struct flow *f, uint16_t type)
{
    memset(f, 0, sizeof *f);
    f->in_port = 3;
    f->dl_src = mac_a;
    f->dl_dst = mac_b;
    f->dl_type = htons(type);
}

static void
expect_ipv4(struct flow *f, uint8_t proto)
{
    expect_eth(f, ETH_TYPE_IP);
    f->nw_src = htonl(0x0a000001);
    f->nw_dst = htonl(0xc0a80102);
    f->nw_proto = proto;
    f->nw_tos = 0xb9;
    f->nw_ttl = 64;
}

static void
expect_ipv6(struct flow *f, uint8_t proto)
{
    expect_eth(f, ETH_TYPE_IPV6);
    f->ipv6_src = in6("2001:db8::1");
    f->ipv6_dst = in6("fe80::2");
    f->ipv6_label = htonl(0x12345);
    f->nw_tos = 0xa0;
    f->nw_ttl = 255;
    f->nw_proto = proto;
}

static struct dp_packet *
packet_from(const void *data, size_t n)
{
    /* dp_packet_new() allocates exactly headroom + n: any read past the
     * end is a heap overflow for ASan. */
    struct dp_packet *p = dp_packet_new(n);

    dp_packet_put(p, data, n);
    p->in_port = 3;
    return p;
}

static void
check_flow(const struct flow *got, const struct flow *want)
{
    if (!flow_equal(got, want)) {
        struct ds a = DS_EMPTY_INITIALIZER, b = DS_EMPTY_INITIALIZER;

        flow_format(&a, got);
        flow_format(&b, want);
        for (size_t i = 0; i < sizeof *got; i++) {
            if (((const uint8_t *) got)[i] != ((const uint8_t *) want)[i]) {
                cr_log_error("first difference at byte %zu", i);
                break;
            }
        }
        cr_assert_fail("flow mismatch\n got: %s\nwant: %s", ds_cstr(&a),
                       ds_cstr(&b));
    }
}

/* Extracts 'b' and compares with 'want', flags and offsets too. */
static void
extract_and_check(const struct pb *b, const struct flow *want, int flags,
                  int l3_ofs, int l4_ofs)
{
    struct dp_packet *p = packet_from(b->buf, b->n);
    struct flow f;
    int ret = flow_extract(p, &f);

    check_flow(&f, want);
    cr_assert_eq(ret, flags, "flags %d, want %d", ret, flags);
    cr_assert_eq(p->l3_ofs, l3_ofs == -1 ? DP_PACKET_OFS_NONE : l3_ofs);
    cr_assert_eq(p->l4_ofs, l4_ofs == -1 ? DP_PACKET_OFS_NONE : l4_ofs);
    dp_packet_delete(p);
}

/* Every prefix of 'b' shorter than 'b' parses without overreading and is
 * flagged truncated; the L2 addresses survive whenever present. */
static void
check_truncations(const struct pb *b)
{
    for (size_t len = 0; len < b->n; len++) {
        struct dp_packet *p = packet_from(b->buf, len);
        struct flow f;
        int ret = flow_extract(p, &f);

        CHECK(ret & FLOW_EXTRACT_TRUNCATED, "len %zu of %zu: flags %d",
              len, b->n, ret);
        CHECK(f.in_port == 3, "len %zu: in_port", len);
        CHECK(len < ETH_HEADER_LEN || (eth_addr_equals(f.dl_src, mac_a)
                                       && eth_addr_equals(f.dl_dst, mac_b)),
              "len %zu: L2 addresses lost", len);
        CHECK(p->l3_ofs == DP_PACKET_OFS_NONE || p->l3_ofs <= len,
              "len %zu: l3_ofs %u", len, p->l3_ofs);
        CHECK(p->l4_ofs == DP_PACKET_OFS_NONE || p->l4_ofs <= len,
              "len %zu: l4_ofs %u", len, p->l4_ofs);
        dp_packet_delete(p);
    }
}

static void
check_sample(const struct pb *b, const struct flow *want, int l3, int l4)
{
    extract_and_check(b, want, 0, l3, l4);
    check_truncations(b);
}

Test(flow, ipv4_tcp)
{
    struct pb b = { .n = 0 };
    struct flow want;
    size_t ip;

    put_eth(&b, ETH_TYPE_IP);
    ip = put_ipv4(&b, IPPROTO_TCP, 0x4000, NULL, 0);
    put_tcp(&b, 12345, 80, TCP_SYN | TCP_ACK);
    ip_done(&b, ip);

    expect_ipv4(&want, IPPROTO_TCP);
    want.tp_src = htons(12345);
    want.tp_dst = htons(80);
    want.tcp_flags = htons(TCP_SYN | TCP_ACK);
    check_sample(&b, &want, 14, 34);

    /* Ethernet padding after the datagram is not an error. */
    put_zeros(&b, 10);
    extract_and_check(&b, &want, 0, 14, 34);
}

Test(flow, qinq_udp)
{
    struct pb b = { .n = 0 };
    struct flow want;
    size_t ip;

    put_eth(&b, ETH_TYPE_VLAN_8021AD);
    put16(&b, (3 << 13) | 100);         /* outer: pcp 3, vid 100 */
    put16(&b, ETH_TYPE_VLAN_8021Q);
    put16(&b, (5 << 13) | 0x1000 | 200); /* inner: pcp 5, DEI set, vid 200 */
    put16(&b, ETH_TYPE_IP);
    ip = put_ipv4(&b, IPPROTO_UDP, 0, NULL, 0);
    put_udp(&b, 53, 1053);
    ip_done(&b, ip);

    expect_ipv4(&want, IPPROTO_UDP);
    want.vlans[0].tpid = htons(ETH_TYPE_VLAN_8021AD);
    want.vlans[0].tci = htons((3 << 13) | VLAN_CFI | 100);
    want.vlans[1].tpid = htons(ETH_TYPE_VLAN_8021Q);
    want.vlans[1].tci = htons((5 << 13) | VLAN_CFI | 200);
    want.tp_src = htons(53);
    want.tp_dst = htons(1053);
    check_sample(&b, &want, 22, 42);
}

Test(flow, three_tags_stop_after_two)
{
    struct pb b = { .n = 0 };
    struct flow want;

    put_eth(&b, ETH_TYPE_VLAN_8021Q);
    put16(&b, 1);
    put16(&b, ETH_TYPE_VLAN_8021Q);
    put16(&b, 2);
    put16(&b, ETH_TYPE_VLAN_8021Q);
    put16(&b, 3);
    put16(&b, ETH_TYPE_IP);

    expect_eth(&want, ETH_TYPE_VLAN_8021Q);
    want.vlans[0].tpid = htons(ETH_TYPE_VLAN_8021Q);
    want.vlans[0].tci = htons(VLAN_CFI | 1);
    want.vlans[1].tpid = htons(ETH_TYPE_VLAN_8021Q);
    want.vlans[1].tci = htons(VLAN_CFI | 2);
    extract_and_check(&b, &want, 0, 22, -1);
}

Test(flow, vlan_arp)
{
    struct pb b = { .n = 0 };
    struct flow want;

    put_eth(&b, ETH_TYPE_VLAN_8021Q);
    put16(&b, 10);
    put16(&b, ETH_TYPE_ARP);
    put16(&b, ARP_HRD_ETHERNET);
    put16(&b, ETH_TYPE_IP);
    put8(&b, 6);
    put8(&b, 4);
    put16(&b, ARP_OP_REQUEST);
    put_bytes(&b, &mac_a, 6);
    put32(&b, 0x0a000001);
    put_zeros(&b, 6);
    put32(&b, 0x0a000002);

    expect_eth(&want, ETH_TYPE_ARP);
    want.vlans[0].tpid = htons(ETH_TYPE_VLAN_8021Q);
    want.vlans[0].tci = htons(VLAN_CFI | 10);
    want.nw_proto = ARP_OP_REQUEST;
    want.nw_src = htonl(0x0a000001);
    want.nw_dst = htonl(0x0a000002);
    want.arp_sha = mac_a;
    check_sample(&b, &want, 18, -1);
}

Test(flow, rarp_reply)
{
    struct pb b = { .n = 0 };
    struct flow want;

    put_eth(&b, ETH_TYPE_RARP);
    put16(&b, ARP_HRD_ETHERNET);
    put16(&b, ETH_TYPE_IP);
    put8(&b, 6);
    put8(&b, 4);
    put16(&b, ARP_OP_RARP_REPLY);
    put_bytes(&b, &mac_a, 6);
    put32(&b, 0x0a000001);
    put_bytes(&b, &mac_c, 6);
    put32(&b, 0x0a000009);

    expect_eth(&want, ETH_TYPE_RARP);
    want.nw_proto = ARP_OP_RARP_REPLY;
    want.nw_src = htonl(0x0a000001);
    want.nw_dst = htonl(0x0a000009);
    want.arp_sha = mac_a;
    want.arp_tha = mac_c;
    check_sample(&b, &want, 14, -1);
}

Test(flow, arp_not_ethernet_ipv4_is_malformed)
{
    struct pb b = { .n = 0 };
    struct flow want;

    put_eth(&b, ETH_TYPE_ARP);
    put16(&b, 6);               /* IEEE 802 hardware */
    put16(&b, ETH_TYPE_IP);
    put8(&b, 6);
    put8(&b, 4);
    put16(&b, 1);
    put_zeros(&b, 20);
    expect_eth(&want, ETH_TYPE_ARP);
    extract_and_check(&b, &want, FLOW_EXTRACT_MALFORMED, 14, -1);
}

Test(flow, ipv4_options_udp)
{
    static const uint8_t opts[8] = {
        IP_OPT_NOP, IP_OPT_RR, 7, 4, 0, 0, 0, 0,
    };
    struct pb b = { .n = 0 };
    struct flow want;
    size_t ip;

    put_eth(&b, ETH_TYPE_IP);
    ip = put_ipv4(&b, IPPROTO_UDP, 0, opts, sizeof opts);
    put_udp(&b, 67, 68);
    ip_done(&b, ip);

    expect_ipv4(&want, IPPROTO_UDP);
    want.tp_src = htons(67);
    want.tp_dst = htons(68);
    check_sample(&b, &want, 14, 42);
}

Test(flow, ipv4_fragments)
{
    struct pb b = { .n = 0 };
    struct flow want;
    size_t ip;

    /* First fragment: ports parsed. */
    put_eth(&b, ETH_TYPE_IP);
    ip = put_ipv4(&b, IPPROTO_UDP, IP_MORE_FRAGMENTS, NULL, 0);
    put_udp(&b, 1000, 2000);
    ip_done(&b, ip);
    expect_ipv4(&want, IPPROTO_UDP);
    want.nw_frag = FLOW_NW_FRAG_ANY;
    want.tp_src = htons(1000);
    want.tp_dst = htons(2000);
    check_sample(&b, &want, 14, 34);

    /* Later fragment: no L4 parse, l4_ofs at the payload. */
    b.n = 0;
    put_eth(&b, ETH_TYPE_IP);
    ip = put_ipv4(&b, IPPROTO_UDP, 185, NULL, 0);
    put_udp(&b, 1000, 2000);        /* looks like ports; must be ignored */
    ip_done(&b, ip);
    expect_ipv4(&want, IPPROTO_UDP);
    want.nw_frag = FLOW_NW_FRAG_ANY | FLOW_NW_FRAG_LATER;
    check_sample(&b, &want, 14, 34);
}

Test(flow, ipv4_malformed)
{
    struct pb b = { .n = 0 };
    struct flow want;
    size_t ip;

    /* Version 5. */
    put_eth(&b, ETH_TYPE_IP);
    ip = put_ipv4(&b, IPPROTO_UDP, 0, NULL, 0);
    put_udp(&b, 1, 2);
    ip_done(&b, ip);
    b.buf[ip] = 0x55;
    expect_eth(&want, ETH_TYPE_IP);
    extract_and_check(&b, &want, FLOW_EXTRACT_MALFORMED, 14, -1);

    /* IHL 3. */
    b.buf[ip] = 0x43;
    extract_and_check(&b, &want, FLOW_EXTRACT_MALFORMED, 14, -1);

    /* Total length shorter than the header: L3 kept, no L4. */
    b.buf[ip] = 0x45;
    poke16(&b, ip + 2, 19);
    expect_ipv4(&want, IPPROTO_UDP);
    extract_and_check(&b, &want, FLOW_EXTRACT_MALFORMED, 14, -1);

    /* TCP data offset below 5. */
    b.n = 0;
    put_eth(&b, ETH_TYPE_IP);
    ip = put_ipv4(&b, IPPROTO_TCP, 0, NULL, 0);
    put_tcp(&b, 1, 2, TCP_SYN);
    ip_done(&b, ip);
    b.buf[34 + 12] = 0x40;
    expect_ipv4(&want, IPPROTO_TCP);
    extract_and_check(&b, &want, FLOW_EXTRACT_MALFORMED, 14, 34);

    /* TCP options run past the end of a datagram whose total length is
     * consistent: ports and flags kept, flagged truncated. */
    b.n = 0;
    put_eth(&b, ETH_TYPE_IP);
    ip = put_ipv4(&b, IPPROTO_TCP, 0, NULL, 0);
    put_tcp(&b, 1, 2, TCP_RST);
    b.n = 34 + 22;
    ip_done(&b, ip);
    want.tp_src = htons(1);
    want.tp_dst = htons(2);
    want.tcp_flags = htons(TCP_RST);
    extract_and_check(&b, &want, FLOW_EXTRACT_TRUNCATED, 14, 34);
}

Test(flow, icmp_echo)
{
    struct pb b = { .n = 0 };
    struct flow want;
    size_t ip;

    put_eth(&b, ETH_TYPE_IP);
    ip = put_ipv4(&b, IPPROTO_ICMP, 0, NULL, 0);
    put8(&b, ICMP4_ECHO_REQUEST);
    put8(&b, 0);
    put16(&b, 0);
    put16(&b, 0x77);
    put16(&b, 1);
    put_bytes(&b, "pingpingping", 12);
    ip_done(&b, ip);

    expect_ipv4(&want, IPPROTO_ICMP);
    want.tp_src = htons(ICMP4_ECHO_REQUEST);
    check_sample(&b, &want, 14, 34);

    /* Destination unreachable, port: code in tp_dst. */
    b.buf[34] = ICMP4_DST_UNREACH;
    b.buf[35] = ICMP4_UNREACH_PORT;
    want.tp_src = htons(ICMP4_DST_UNREACH);
    want.tp_dst = htons(ICMP4_UNREACH_PORT);
    extract_and_check(&b, &want, 0, 14, 34);
}

Test(flow, sctp)
{
    struct pb b = { .n = 0 };
    struct flow want;
    size_t ip;

    put_eth(&b, ETH_TYPE_IP);
    ip = put_ipv4(&b, IPPROTO_SCTP, 0, NULL, 0);
    put16(&b, 2905);
    put16(&b, 2906);
    put32(&b, 0xdeadbeef);
    put32(&b, 0);
    put_zeros(&b, 16);          /* an INIT chunk's worth */
    ip_done(&b, ip);

    expect_ipv4(&want, IPPROTO_SCTP);
    want.tp_src = htons(2905);
    want.tp_dst = htons(2906);
    check_sample(&b, &want, 14, 34);
}

Test(flow, ipv6_ext_headers_tcp)
{
    struct pb b = { .n = 0 };
    struct flow want;
    size_t ip;

    put_eth(&b, ETH_TYPE_IPV6);
    ip = put_ipv6(&b, IPPROTO_HOPOPTS);
    /* Hop-by-hop: 8 bytes (router alert + padding). */
    put8(&b, IPPROTO_ROUTING);
    put8(&b, 0);
    put8(&b, 5);
    put8(&b, 2);
    put16(&b, 0);
    put8(&b, 1);
    put8(&b, 0);
    /* Routing (type 0 style, one address): 24 bytes. */
    put8(&b, IPPROTO_DSTOPTS);
    put8(&b, 2);
    put8(&b, 0);
    put8(&b, 1);
    put32(&b, 0);
    put_zeros(&b, 16);
    /* Destination options: 16 bytes (PadN). */
    put8(&b, IPPROTO_TCP);
    put8(&b, 1);
    put8(&b, 1);
    put8(&b, 12);
    put_zeros(&b, 12);
    put_tcp(&b, 443, 50000, TCP_FIN | TCP_ACK | TCP_PSH);
    ip6_done(&b, ip);

    expect_ipv6(&want, IPPROTO_TCP);
    want.tp_src = htons(443);
    want.tp_dst = htons(50000);
    want.tcp_flags = htons(TCP_FIN | TCP_ACK | TCP_PSH);
    check_sample(&b, &want, 14, 14 + 40 + 8 + 24 + 16);
}

Test(flow, ipv6_fragments)
{
    struct pb b = { .n = 0 };
    struct flow want;
    size_t ip;

    /* First fragment, after a destination options header. */
    put_eth(&b, ETH_TYPE_IPV6);
    ip = put_ipv6(&b, IPPROTO_DSTOPTS);
    put8(&b, IPPROTO_FRAGMENT);
    put8(&b, 0);
    put_zeros(&b, 6);
    put8(&b, IPPROTO_UDP);
    put8(&b, 0);
    put16(&b, IPV6_FRAG_MORE);
    put32(&b, 0xabcdef);
    put_udp(&b, 5000, 6000);
    ip6_done(&b, ip);

    expect_ipv6(&want, IPPROTO_UDP);
    want.nw_frag = FLOW_NW_FRAG_ANY;
    want.tp_src = htons(5000);
    want.tp_dst = htons(6000);
    check_sample(&b, &want, 14, 14 + 40 + 8 + 8);

    /* Later fragment (offset 1480 bytes = 185 units). */
    b.n = 0;
    put_eth(&b, ETH_TYPE_IPV6);
    ip = put_ipv6(&b, IPPROTO_FRAGMENT);
    put8(&b, IPPROTO_UDP);
    put8(&b, 0);
    put16(&b, 185 << 3);
    put32(&b, 0xabcdef);
    put_udp(&b, 5000, 6000);
    ip6_done(&b, ip);

    expect_ipv6(&want, IPPROTO_UDP);
    want.nw_frag = FLOW_NW_FRAG_ANY | FLOW_NW_FRAG_LATER;
    check_sample(&b, &want, 14, 14 + 40 + 8);
}

static void
put_icmp6(struct pb *b, uint8_t type, uint8_t code)
{
    put8(b, type);
    put8(b, code);
    put16(b, 0);
}

Test(flow, icmpv6_echo)
{
    struct pb b = { .n = 0 };
    struct flow want;
    size_t ip;

    put_eth(&b, ETH_TYPE_IPV6);
    ip = put_ipv6(&b, IPPROTO_ICMPV6);
    put_icmp6(&b, ICMP6_TYPE_ECHO_REQUEST, 0);
    put16(&b, 9);
    put16(&b, 1);
    put_bytes(&b, "payload!", 8);
    ip6_done(&b, ip);

    expect_ipv6(&want, IPPROTO_ICMPV6);
    want.tp_src = htons(ICMP6_TYPE_ECHO_REQUEST);
    check_sample(&b, &want, 14, 54);
}

Test(flow, nd_solicit_with_sll)
{
    struct pb b = { .n = 0 };
    struct in6_addr target = in6("fe80::1234");
    struct flow want;
    size_t ip;

    put_eth(&b, ETH_TYPE_IPV6);
    ip = put_ipv6(&b, IPPROTO_ICMPV6);
    put_icmp6(&b, ICMP6_TYPE_NEIGHBOR_SOLICIT, 0);
    put32(&b, 0);
    put_bytes(&b, &target, 16);
    /* An unknown option first (nonce, 8 bytes), then SLL. */
    put8(&b, 14);
    put8(&b, 1);
    put_zeros(&b, 6);
    put8(&b, ND_OPT_TYPE_SLL);
    put8(&b, 1);
    put_bytes(&b, &mac_c, 6);
    ip6_done(&b, ip);

    expect_ipv6(&want, IPPROTO_ICMPV6);
    want.tp_src = htons(ICMP6_TYPE_NEIGHBOR_SOLICIT);
    want.nd_target = target;
    want.arp_sha = mac_c;
    check_sample(&b, &want, 14, 54);

    /* A second SLL makes it invalid: ND fields cleared. */
    put8(&b, ND_OPT_TYPE_SLL);
    put8(&b, 1);
    put_bytes(&b, &mac_a, 6);
    ip6_done(&b, ip);
    want.nd_target = (struct in6_addr) IN6ADDR_ANY_INIT;
    want.arp_sha = eth_addr_zero;
    extract_and_check(&b, &want, FLOW_EXTRACT_MALFORMED, 14, 54);

    /* A zero-length option is invalid too. */
    b.n -= 16;
    put8(&b, ND_OPT_TYPE_SLL);
    put8(&b, 0);
    put_zeros(&b, 6);
    ip6_done(&b, ip);
    extract_and_check(&b, &want, FLOW_EXTRACT_MALFORMED, 14, 54);
}

Test(flow, nd_advert_with_tll)
{
    struct pb b = { .n = 0 };
    struct in6_addr target = in6("2001:db8::99");
    struct flow want;
    size_t ip;

    put_eth(&b, ETH_TYPE_IPV6);
    ip = put_ipv6(&b, IPPROTO_ICMPV6);
    put_icmp6(&b, ICMP6_TYPE_NEIGHBOR_ADVERT, 0);
    put32(&b, ND_RSO_SOLICITED | ND_RSO_OVERRIDE);
    put_bytes(&b, &target, 16);
    put8(&b, ND_OPT_TYPE_TLL);
    put8(&b, 1);
    put_bytes(&b, &mac_c, 6);
    ip6_done(&b, ip);

    expect_ipv6(&want, IPPROTO_ICMPV6);
    want.tp_src = htons(ICMP6_TYPE_NEIGHBOR_ADVERT);
    want.nd_target = target;
    want.arp_tha = mac_c;
    check_sample(&b, &want, 14, 54);

    /* A nonzero code is not ND: no target. */
    b.buf[55] = 1;
    want.tp_dst = htons(1);
    want.nd_target = (struct in6_addr) IN6ADDR_ANY_INIT;
    want.arp_tha = eth_addr_zero;
    extract_and_check(&b, &want, 0, 14, 54);
}

Test(flow, llc_and_snap)
{
    struct pb b = { .n = 0 };
    struct flow want;

    /* 802.3 with plain LLC (STP). */
    put_eth(&b, 38);
    put8(&b, 0x42);
    put8(&b, 0x42);
    put8(&b, 0x03);
    put_zeros(&b, 35);
    expect_eth(&want, ETH_TYPE_NONE);
    extract_and_check(&b, &want, 0, 14, -1);

    /* 802.3 with SNAP carrying IPv4. */
    b.n = 0;
    put_eth(&b, 60);
    put8(&b, 0xaa);
    put8(&b, 0xaa);
    put8(&b, 0x03);
    put_zeros(&b, 3);
    put16(&b, ETH_TYPE_IP);
    size_t ip = put_ipv4(&b, IPPROTO_UDP, 0, NULL, 0);
    put_udp(&b, 7, 9);
    ip_done(&b, ip);
    expect_ipv4(&want, IPPROTO_UDP);
    want.tp_src = htons(7);
    want.tp_dst = htons(9);
    extract_and_check(&b, &want, 0, 22, 42);
}

/* Random corruption of a sample: never crashes or overreads (ASan). */
Test(flow, random_corruption)
{
    struct pb base = { .n = 0 };
    size_t ip;

    put_eth(&base, ETH_TYPE_VLAN_8021Q);
    put16(&base, 5);
    put16(&base, ETH_TYPE_IPV6);
    ip = put_ipv6(&base, IPPROTO_HOPOPTS);
    put8(&base, IPPROTO_FRAGMENT);
    put8(&base, 0);
    put_zeros(&base, 6);
    put8(&base, IPPROTO_ICMPV6);
    put8(&base, 0);
    put16(&base, 0);
    put32(&base, 1);
    put_icmp6(&base, ICMP6_TYPE_NEIGHBOR_SOLICIT, 0);
    put_zeros(&base, 20);
    put8(&base, ND_OPT_TYPE_SLL);
    put8(&base, 1);
    put_bytes(&base, &mac_c, 6);
    ip6_done(&base, ip);

    srand(99);
    for (int i = 0; i < 20000; i++) {
        struct pb b = base;
        int n_flips = 1 + rand() % 4;

        for (int k = 0; k < n_flips; k++) {
            b.buf[14 + rand() % (b.n - 14)] = rand();
        }
        b.n -= rand() % 8;

        struct dp_packet *p = packet_from(b.buf, b.n);
        struct flow f;
        flow_extract(p, &f);
        CHECK(eth_addr_equals(f.dl_src, mac_a), "iteration %d: dl_src", i);
        CHECK(!(f.pad1[0] | f.pad1[1] | f.pad1[2] | f.pad2 | f.pad3),
              "iteration %d: nonzero pad", i);
        dp_packet_delete(p);
    }
}

Test(flow, in_port_and_metadata_reset)
{
    uint8_t frame[14] = { 0 };
    struct dp_packet *p = packet_from(frame, 14);
    struct flow f;

    memset(&f, 0xaa, sizeof f);
    p->in_port = 77;
    cr_assert_eq(flow_extract(p, &f), 0);
    cr_assert_eq(f.in_port, 77);
    cr_assert_eq(f.recirc_id, 0);
    cr_assert_eq(f.ct_state, 0);
    cr_assert_eq(f.regs[5], 0);
    dp_packet_delete(p);
}

/* Masks and hashing against naive byte-wise references. */
static void
random_flow(struct flow *f)
{
    uint8_t *p = (uint8_t *) f;

    for (size_t i = 0; i < sizeof *f; i++) {
        p[i] = rand() % 4 ? 0 : rand();
    }
    memset(f->pad1, 0, sizeof f->pad1);
    f->pad2 = f->pad3 = 0;
}

Test(flow, masks_against_reference)
{
    srand(5);
    for (int i = 0; i < 2000; i++) {
        struct flow a, b, masked;
        struct flow_wildcards wc, wc2, wc_or;

        random_flow(&a);
        b = a;
        random_flow(&wc.masks);
        random_flow(&wc2.masks);
        if (rand() % 2) {
            ((uint8_t *) &b)[rand() % sizeof b] ^= 1 << (rand() % 8);
        }

        flow_apply_mask(&masked, &a, &wc);
        bool eq_ref = true;
        for (size_t k = 0; k < sizeof a; k++) {
            uint8_t m = ((uint8_t *) &wc.masks)[k];

            CHECK(((uint8_t *) &masked)[k] == (((uint8_t *) &a)[k] & m),
                  "apply_mask byte %zu", k);
            if ((((uint8_t *) &a)[k] ^ ((uint8_t *) &b)[k]) & m) {
                eq_ref = false;
            }
        }
        CHECK(flow_equal_masked(&a, &b, &wc) == eq_ref, "equal_masked");

        wc_or = wc;
        flow_wildcards_or(&wc_or, &wc2);
        for (size_t k = 0; k < sizeof a; k++) {
            CHECK(((uint8_t *) &wc_or.masks)[k]
                  == (((uint8_t *) &wc.masks)[k]
                      | ((uint8_t *) &wc2.masks)[k]), "or byte %zu", k);
        }

        /* Equal flows hash equal; a one-bit change almost never does. */
        CHECK(flow_hash(&a, 1) == flow_hash(&a, 1), "hash unstable");
        CHECK(flow_equal(&a, &b) || flow_hash(&a, 1) != flow_hash(&b, 1),
              "one-bit change kept the hash");
    }

    struct flow_wildcards wc;
    flow_wildcards_init_catchall(&wc);
    cr_assert(flow_wildcards_is_catchall(&wc));
    flow_wildcards_init_exact(&wc);
    cr_assert_not(flow_wildcards_is_catchall(&wc));
    cr_assert_eq(wc.masks.nw_src, UINT32_MAX);
    cr_assert_eq(wc.masks.pad2, 0);
}

static void
check_format(const struct pb *b, const char *expect)
{
    struct dp_packet *p = packet_from(b->buf, b->n);
    struct ds s = DS_EMPTY_INITIALIZER;
    struct flow f;

    flow_extract(p, &f);
    flow_format(&s, &f);
    cr_assert_str_eq(ds_cstr(&s), expect);
    ds_destroy(&s);
    dp_packet_delete(p);
}

Test(flow, format)
{
    struct pb b = { .n = 0 };
    size_t ip;

    put_eth(&b, ETH_TYPE_IP);
    ip = put_ipv4(&b, IPPROTO_TCP, 0, NULL, 0);
    put_tcp(&b, 12345, 80, TCP_SYN | TCP_ACK);
    ip_done(&b, ip);
    check_format(&b, "tcp,in_port=3,vlan_tci=0x0000,"
                 "dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,"
                 "nw_src=10.0.0.1,nw_dst=192.168.1.2,nw_tos=184,nw_ecn=1,"
                 "nw_ttl=64,nw_frag=no,tp_src=12345,tp_dst=80,"
                 "tcp_flags=syn|ack");

    b.n = 0;
    put_eth(&b, ETH_TYPE_VLAN_8021Q);
    put16(&b, (2 << 13) | 10);
    put16(&b, ETH_TYPE_IP);
    ip = put_ipv4(&b, 47, IP_MORE_FRAGMENTS, NULL, 0);
    put_zeros(&b, 8);
    ip_done(&b, ip);
    check_format(&b, "ip,in_port=3,dl_vlan=10,dl_vlan_pcp=2,"
                 "dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,"
                 "nw_src=10.0.0.1,nw_dst=192.168.1.2,nw_proto=47,nw_tos=184,"
                 "nw_ecn=1,nw_ttl=64,nw_frag=first");

    b.n = 0;
    put_eth(&b, ETH_TYPE_ARP);
    put16(&b, ARP_HRD_ETHERNET);
    put16(&b, ETH_TYPE_IP);
    put8(&b, 6);
    put8(&b, 4);
    put16(&b, ARP_OP_REPLY);
    put_bytes(&b, &mac_a, 6);
    put32(&b, 0x0a000001);
    put_bytes(&b, &mac_b, 6);
    put32(&b, 0x0a000002);
    check_format(&b, "arp,in_port=3,vlan_tci=0x0000,"
                 "dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,"
                 "arp_spa=10.0.0.1,arp_tpa=10.0.0.2,arp_op=2,"
                 "arp_sha=50:54:00:00:00:01,arp_tha=50:54:00:00:00:02");

    b.n = 0;
    struct in6_addr target = in6("fe80::1234");
    put_eth(&b, ETH_TYPE_IPV6);
    ip = put_ipv6(&b, IPPROTO_ICMPV6);
    put_icmp6(&b, ICMP6_TYPE_NEIGHBOR_SOLICIT, 0);
    put32(&b, 0);
    put_bytes(&b, &target, 16);
    put8(&b, ND_OPT_TYPE_SLL);
    put8(&b, 1);
    put_bytes(&b, &mac_c, 6);
    ip6_done(&b, ip);
    check_format(&b, "icmp6,in_port=3,vlan_tci=0x0000,"
                 "dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,"
                 "ipv6_src=2001:db8::1,ipv6_dst=fe80::2,ipv6_label=0x12345,"
                 "nw_tos=160,nw_ecn=0,nw_ttl=255,nw_frag=no,icmp_type=135,"
                 "icmp_code=0,nd_target=fe80::1234,"
                 "nd_sll=0a:0b:0c:0d:0e:0f");

    b.n = 0;
    put_eth(&b, 0x88cc);
    put_zeros(&b, 30);
    check_format(&b, "in_port=3,vlan_tci=0x0000,dl_src=50:54:00:00:00:01,"
                 "dl_dst=50:54:00:00:00:02,dl_type=0x88cc");

    /* Metadata after recirculation. */
    struct flow f;
    struct ds s = DS_EMPTY_INITIALIZER;
    memset(&f, 0, sizeof f);
    f.recirc_id = 1;
    f.ct_state = CS_NEW | CS_TRACKED;
    f.ct_zone = 5;
    f.regs[0] = 0x10;
    f.in_port = 2;
    f.dl_type = htons(ETH_TYPE_IP);
    f.nw_proto = IPPROTO_UDP;
    flow_format(&s, &f);
    cr_assert_str_eq(ds_cstr(&s),
                     "recirc_id=0x1,ct_state=new|trk,ct_zone=5,udp,"
                     "reg0=0x10,in_port=2,vlan_tci=0x0000,"
                     "dl_src=00:00:00:00:00:00,dl_dst=00:00:00:00:00:00,"
                     "nw_src=0.0.0.0,nw_dst=0.0.0.0,nw_tos=0,nw_ecn=0,"
                     "nw_ttl=0,nw_frag=no,tp_src=0,tp_dst=0");
    ds_destroy(&s);
}

/* flow_hash: single-bit changes flip about half the output bits, and
 * flows that differ only in a port spread evenly over buckets. */
Test(flow, hash_quality)
{
    enum { BUCKETS = 64, N = 64 * 256 };
    unsigned int counts[BUCKETS] = { 0 };
    long flips = 0, trials = 0;
    struct flow f;

    srand(77);
    for (int i = 0; i < 300; i++) {
        random_flow(&f);
        uint32_t h0 = flow_hash(&f, 3);

        for (size_t bit = 0; bit < sizeof f * 8; bit += 7) {
            struct flow g = f;

            ((uint8_t *) &g)[bit / 8] ^= 1 << (bit % 8);
            flips += __builtin_popcount(h0 ^ flow_hash(&g, 3));
            trials += 32;
        }
    }
    double ratio = (double) flips / trials;
    cr_assert(ratio > 0.47 && ratio < 0.53, "avalanche %f", ratio);

    memset(&f, 0, sizeof f);
    f.dl_type = htons(ETH_TYPE_IP);
    f.nw_proto = IPPROTO_TCP;
    for (int i = 0; i < N; i++) {
        f.tp_src = htons(i);
        counts[flow_hash(&f, 0) % BUCKETS]++;
    }
    for (int b = 0; b < BUCKETS; b++) {
        cr_assert(counts[b] > 180 && counts[b] < 340, "bucket %d: %u", b,
                  counts[b]);
    }
    cr_assert_neq(flow_hash(&f, 0), flow_hash(&f, 1));
}

/* packets.c address helpers (used by the flow parser). */
Test(packets, ip_parse_cidr)
{
    unsigned int plen;
    uint32_t ip;
    char buf[IP_STRLEN];

    cr_assert_eq(ip_parse_cidr("10.0.0.0/24", &ip, &plen), 0);
    cr_assert_eq(ip, htonl(0x0a000000));
    cr_assert_eq(plen, 24);
    cr_assert_eq(ip_parse_cidr("192.168.1.7", &ip, &plen), 0);
    cr_assert_eq(plen, 32);
    cr_assert_str_eq(ip_to_string(ip, buf), "192.168.1.7");
    cr_assert_eq(ip_parse_cidr("10.1.0.0/255.255.0.0", &ip, &plen), 0);
    cr_assert_eq(plen, 16);
    cr_assert_eq(ip_parse_cidr("0.0.0.0/0", &ip, &plen), 0);
    cr_assert_eq(plen, 0);

    const char *bad[] = {
        "10.0.0.0/33", "10.0.0/24", "10.0.0.256", "10.0.0.1/", "10.0.0.1/x",
        "10.0.0.0/255.0.255.0", "1.2.3.4.5", "", "a.b.c.d", "10.0.0.1 ",
        "10.0.0.0/-1", "0001.2.3.4",
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        cr_assert_neq(ip_parse_cidr(bad[i], &ip, &plen), 0, "%s", bad[i]);
    }
    cr_assert_eq(ip_mask_from_plen(24), htonl(0xffffff00));
    cr_assert_eq(ip_mask_from_plen(0), 0);
    cr_assert_eq(ip_mask_from_plen(32), UINT32_MAX);
    for (unsigned int n = 0; n <= 32; n++) {
        cr_assert_eq(ip_mask_to_plen(ip_mask_from_plen(n)), (int) n);
    }
    cr_assert_eq(ip_mask_to_plen(htonl(0xff00ff00)), -1);
}

Test(packets, ipv6_parse_cidr)
{
    struct in6_addr a, m;
    unsigned int plen;
    char buf[IPV6_STRLEN];

    cr_assert_eq(ipv6_parse_cidr("2001:db8::/32", &a, &plen), 0);
    cr_assert_eq(plen, 32);
    cr_assert_str_eq(ipv6_to_string(&a, buf), "2001:db8::");
    cr_assert_eq(ipv6_parse_cidr("fe80::1", &a, &plen), 0);
    cr_assert_eq(plen, 128);
    cr_assert_neq(ipv6_parse_cidr("fe80::1/129", &a, &plen), 0);
    cr_assert_neq(ipv6_parse_cidr("fe80::g", &a, &plen), 0);
    cr_assert_neq(ipv6_parse_cidr("fe80::1/", &a, &plen), 0);
    for (unsigned int n = 0; n <= 128; n++) {
        ipv6_mask_from_plen(n, &m);
        cr_assert_eq(ipv6_mask_to_plen(&m), (int) n);
    }
    m.s6_addr[15] = 1;
    m.s6_addr[0] = 0;
    cr_assert_eq(ipv6_mask_to_plen(&m), -1);
}

Test(packets, eth_addr_from_string)
{
    struct eth_addr ea;

    cr_assert(eth_addr_from_string("0a:0B:0c:0d:0e:0f", &ea));
    cr_assert(eth_addr_equals(ea, mac_c));
    cr_assert_not(eth_addr_from_string("0a:0b:0c:0d:0e", &ea));
    cr_assert_not(eth_addr_from_string("0a:0b:0c:0d:0e:0f:", &ea));
    cr_assert_not(eth_addr_from_string("0a-0b-0c-0d-0e-0f", &ea));
    cr_assert_not(eth_addr_from_string("0g:0b:0c:0d:0e:0f", &ea));
    cr_assert_not(eth_addr_from_string("", &ea));
    cr_assert(eth_addr_is_broadcast(eth_addr_broadcast));
    cr_assert(eth_addr_is_zero(eth_addr_zero));
}
