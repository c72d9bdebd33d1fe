/* test-ct-pkt: packet builders and a ct() runner shared by the
 * tests/unit/test-ct-*.c files (header-only: each test is one executable).
 * Packets are built byte by byte with valid IPv4 header and L4 checksums
 * and parsed with flow_extract(). */
#ifndef TS_TEST_CT_PKT_H
#define TS_TEST_CT_PKT_H 1

#include <arpa/inet.h>
#include <errno.h>
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include "conntrack/conntrack.h"
#include "conntrack/conntrack-private.h"
#include "csum.h"
#include "dp-packet.h"
#include "dynamic-string.h"
#include "flow.h"
#include "packets.h"

/* A packet and its key. */
struct tpkt {
    struct dp_packet *p;
    struct flow f;
};

static inline uint32_t
tip4(const char *s)
{
    struct in_addr a;

    cr_assert(inet_pton(AF_INET, s, &a) == 1);
    return a.s_addr;
}

static inline struct in6_addr
tip6(const char *s)
{
    struct in6_addr a;

    cr_assert(inet_pton(AF_INET6, s, &a) == 1);
    return a;
}

/* Ethernet header + 'l3' bytes. */
static inline struct tpkt *
tpkt_from_l3(uint16_t eth_type, const uint8_t *l3, size_t len)
{
    struct tpkt *t = calloc(1, sizeof *t);
    uint8_t eth[ETH_HEADER_LEN] = { 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2 };

    eth[12] = eth_type >> 8;
    eth[13] = eth_type & 0xff;
    t->p = dp_packet_new(len + ETH_HEADER_LEN + 64);
    dp_packet_put(t->p, eth, sizeof eth);
    dp_packet_put(t->p, l3, len);
    flow_extract(t->p, &t->f);
    return t;
}

static inline void
tpkt_free(struct tpkt *t)
{
    if (t) {
        dp_packet_delete(t->p);
        free(t);
    }
}

/* Fills an IPv4 header for 'l4_len' bytes of protocol 'proto'. */
static inline void
tip4_hdr(uint8_t *b, uint32_t src, uint32_t dst, uint8_t proto,
         size_t l4_len)
{
    struct ip_header ip;

    memset(&ip, 0, sizeof ip);
    ip.ip_ihl_ver = IP_IHL_VER(5, 4);
    ip.ip_tot_len = htons(IP_HEADER_LEN + l4_len);
    ip.ip_ttl = 64;
    ip.ip_proto = proto;
    ip.ip_src = src;
    ip.ip_dst = dst;
    ip.ip_csum = csum(&ip, sizeof ip);
    memcpy(b, &ip, sizeof ip);
}

static inline void
tip6_hdr(uint8_t *b, struct in6_addr src, struct in6_addr dst,
         uint8_t proto, size_t l4_len)
{
    struct ipv6_header ip6;

    memset(&ip6, 0, sizeof ip6);
    ip6.ip6_vtc_flow = htonl(6u << 28);
    ip6.ip6_plen = htons(l4_len);
    ip6.ip6_nxt = proto;
    ip6.ip6_hlim = 64;
    memcpy(ip6.ip6_src, &src, 16);
    memcpy(ip6.ip6_dst, &dst, 16);
    memcpy(b, &ip6, sizeof ip6);
}

/* Fills the L4 checksum at 'l4 + csum_ofs' (pseudo-header included). */
static inline void
tl4_csum(uint8_t *l4, size_t len, size_t csum_ofs, bool v6,
         const void *src, const void *dst, uint8_t proto)
{
    uint32_t sum;
    uint16_t c;

    memset(l4 + csum_ofs, 0, 2);
    if (v6) {
        sum = csum_pseudo_ipv6(src, dst, proto, len);
    } else {
        uint32_t s, d;

        memcpy(&s, src, 4);
        memcpy(&d, dst, 4);
        sum = csum_pseudo_ipv4(s, d, proto, len);
    }
    c = csum_finish(csum_continue(sum, l4, len));
    if (proto == IPPROTO_UDP && !c) {
        c = 0xffff;
    }
    memcpy(l4 + csum_ofs, &c, 2);
}

static inline struct tpkt *
tpkt_udp4(const char *src, const char *dst, uint16_t sport, uint16_t dport,
          size_t payload)
{
    uint8_t b[2048];
    uint32_t s = tip4(src), d = tip4(dst);
    size_t l4_len = UDP_HEADER_LEN + payload;
    struct udp_header *udp = (void *) (b + IP_HEADER_LEN);

    memset(b, 0x5a, sizeof b);
    tip4_hdr(b, s, d, IPPROTO_UDP, l4_len);
    udp->udp_src = htons(sport);
    udp->udp_dst = htons(dport);
    udp->udp_len = htons(l4_len);
    tl4_csum((uint8_t *) udp, l4_len, 6, false, &s, &d, IPPROTO_UDP);
    return tpkt_from_l3(ETH_TYPE_IP, b, IP_HEADER_LEN + l4_len);
}

static inline struct tpkt *
tpkt_udp6(const char *src, const char *dst, uint16_t sport, uint16_t dport,
          size_t payload)
{
    uint8_t b[2048];
    struct in6_addr s = tip6(src), d = tip6(dst);
    size_t l4_len = UDP_HEADER_LEN + payload;
    struct udp_header *udp = (void *) (b + IPV6_HEADER_LEN);

    memset(b, 0x5a, sizeof b);
    tip6_hdr(b, s, d, IPPROTO_UDP, l4_len);
    udp->udp_src = htons(sport);
    udp->udp_dst = htons(dport);
    udp->udp_len = htons(l4_len);
    tl4_csum((uint8_t *) udp, l4_len, 6, true, &s, &d, IPPROTO_UDP);
    return tpkt_from_l3(ETH_TYPE_IPV6, b, IPV6_HEADER_LEN + l4_len);
}

/* TCP with flags, seq, ack, window; 'wscale' >= 0 adds the option. */
static inline struct tpkt *
tpkt_tcp4(const char *src, const char *dst, uint16_t sport, uint16_t dport,
          uint16_t flags, uint32_t seq, uint32_t ack, uint16_t win,
          size_t payload, int wscale)
{
    uint8_t b[2048];
    uint32_t s = tip4(src), d = tip4(dst);
    size_t hl = TCP_HEADER_LEN + (wscale >= 0 ? 4 : 0);
    size_t l4_len = hl + payload;
    struct tcp_header *tcp = (void *) (b + IP_HEADER_LEN);

    memset(b, 0x61, sizeof b);
    tip4_hdr(b, s, d, IPPROTO_TCP, l4_len);
    memset(tcp, 0, sizeof *tcp);
    tcp->tcp_src = htons(sport);
    tcp->tcp_dst = htons(dport);
    tcp->tcp_seq = htonl(seq);
    tcp->tcp_ack = htonl(ack);
    tcp->tcp_ctl = htons(TCP_CTL(flags, hl / 4));
    tcp->tcp_winsz = htons(win);
    if (wscale >= 0) {
        uint8_t *o = (uint8_t *) (tcp + 1);

        o[0] = 1;
        o[1] = 3;
        o[2] = 3;
        o[3] = wscale;
    }
    tl4_csum((uint8_t *) tcp, l4_len, 16, false, &s, &d, IPPROTO_TCP);
    return tpkt_from_l3(ETH_TYPE_IP, b, IP_HEADER_LEN + l4_len);
}

/* ICMP query or reply (type, id). */
static inline struct tpkt *
tpkt_icmp4(const char *src, const char *dst, uint8_t type, uint16_t id)
{
    uint8_t b[64];
    uint8_t *icmp = b + IP_HEADER_LEN;
    uint16_t c;

    memset(b, 0, sizeof b);
    tip4_hdr(b, tip4(src), tip4(dst), IPPROTO_ICMP, 16);
    icmp[0] = type;
    id = htons(id);
    memcpy(icmp + 4, &id, 2);
    icmp[7] = 1;
    c = csum(icmp, 16);
    memcpy(icmp + 2, &c, 2);
    return tpkt_from_l3(ETH_TYPE_IP, b, IP_HEADER_LEN + 16);
}

static inline struct tpkt *
tpkt_icmp6(const char *src, const char *dst, uint8_t type, uint16_t id)
{
    uint8_t b[128];
    struct in6_addr s = tip6(src), d = tip6(dst);
    uint8_t *icmp = b + IPV6_HEADER_LEN;

    memset(b, 0, sizeof b);
    tip6_hdr(b, s, d, IPPROTO_ICMPV6_, 16);
    icmp[0] = type;
    id = htons(id);
    memcpy(icmp + 4, &id, 2);
    tl4_csum(icmp, 16, 2, true, &s, &d, IPPROTO_ICMPV6_);
    return tpkt_from_l3(ETH_TYPE_IPV6, b, IPV6_HEADER_LEN + 16);
}

/* ICMPv4 error (type, code) from 'src' to 'dst' quoting the L3 bytes of
 * 'inner' (its IP header and first 8 bytes of L4). */
static inline struct tpkt *
tpkt_icmp4_err(const char *src, const char *dst, uint8_t type, uint8_t code,
               const struct tpkt *inner)
{
    uint8_t b[256];
    uint8_t *icmp = b + IP_HEADER_LEN;
    const uint8_t *in = dp_packet_l3(inner->p);
    size_t in_len = IP_HEADER_LEN + 8;
    uint16_t c;

    memset(b, 0, sizeof b);
    tip4_hdr(b, tip4(src), tip4(dst), IPPROTO_ICMP, 8 + in_len);
    icmp[0] = type;
    icmp[1] = code;
    memcpy(icmp + 8, in, in_len);
    c = csum(icmp, 8 + in_len);
    memcpy(icmp + 2, &c, 2);
    return tpkt_from_l3(ETH_TYPE_IP, b, IP_HEADER_LEN + 8 + in_len);
}

/* Any IP protocol without ports. */
static inline struct tpkt *
tpkt_proto4(const char *src, const char *dst, uint8_t proto)
{
    uint8_t b[64];

    memset(b, 0, sizeof b);
    tip4_hdr(b, tip4(src), tip4(dst), proto, 8);
    return tpkt_from_l3(ETH_TYPE_IP, b, IP_HEADER_LEN + 8);
}

/* SCTP with one chunk of 'chunk' type (4 bytes) and a valid CRC32c. */
uint32_t ct_sctp_crc32c(const void *, size_t);
static inline struct tpkt *
tpkt_sctp4(const char *src, const char *dst, uint16_t sport, uint16_t dport,
           uint8_t chunk, uint32_t vtag)
{
    uint8_t b[64];
    uint8_t *l4 = b + IP_HEADER_LEN;
    struct sctp_header *sh = (void *) l4;
    uint32_t crc;

    memset(b, 0, sizeof b);
    tip4_hdr(b, tip4(src), tip4(dst), IPPROTO_SCTP, 16);
    sh->sctp_src = htons(sport);
    sh->sctp_dst = htons(dport);
    sh->sctp_vtag = htonl(vtag);
    l4[12] = chunk;
    l4[15] = 4;
    crc = ct_sctp_crc32c(l4, 16);
    memcpy(l4 + 8, &crc, 4);
    return tpkt_from_l3(ETH_TYPE_IP, b, IP_HEADER_LEN + 16);
}

/* Runs one ct() on 't' and returns its ct_state. */
static inline uint16_t
tct(struct conntrack *ct, struct tpkt *t, const struct ct_exec_args *a,
    long long now)
{
    struct dp_packet *pkts[1] = { t->p };
    struct flow *flows[1] = { &t->f };

    conntrack_execute(ct, pkts, flows, 1, a, now);
    return t->f.ct_state;
}

/* Builds, runs and frees in one go. */
static inline uint16_t
tct1(struct conntrack *ct, struct tpkt *t, const struct ct_exec_args *a,
     long long now)
{
    uint16_t st = tct(ct, t, a, now);

    tpkt_free(t);
    return st;
}

#define CS_T CS_TRACKED
#define ST_NEW (CS_TRACKED | CS_NEW)
#define ST_EST (CS_TRACKED | CS_ESTABLISHED)
#define ST_RPL (CS_TRACKED | CS_ESTABLISHED | CS_REPLY_DIR)
#define ST_INV (CS_TRACKED | CS_INVALID)

/* Dumps every entry (optionally of one zone) into a string, one line
 * each, sorted is not needed: tests use at most a few entries. */
static inline size_t
tdump(struct conntrack *ct, const uint16_t *zone, struct ds *out,
      bool verbose, bool stats, long long now)
{
    struct ct_dump_cursor cur;
    struct ct_entry e[8];
    size_t total = 0;

    conntrack_dump_start(&cur, zone);
    while (!cur.done) {
        size_t n = conntrack_dump_next(ct, &cur, e, 8, now);

        for (size_t i = 0; i < n; i++) {
            ct_format_entry(out, &e[i], verbose, stats);
            ds_put_char(out, '\n');
        }
        total += n;
    }
    return total;
}

static inline struct conntrack *
tct_create(void)
{
    struct conntrack_config cfg;

    conntrack_config_init(&cfg);
    cfg.max_conns = 100000;
    cfg.n_buckets = 1024;
    return conntrack_create(&cfg);
}

#endif /* test-ct-pkt.h */
