/* flow: flow key extraction, hashing, masking and formatting.
 *
 * flow_extract() runs once per received packet, so it is written as one
 * straight pass over the headers: the key is zeroed once, every read is
 * preceded by a bounds check against the bytes that remain, and no helper
 * is called that the compiler cannot inline.  A header that does not fit
 * stops the parse with FLOW_EXTRACT_TRUNCATED; a header whose fields make
 * no sense stops it with FLOW_EXTRACT_MALFORMED.  Either way the fields
 * parsed so far stay in the key. */
#include "flow.h"

#include <arpa/inet.h>
#include <inttypes.h>

#include "dp-packet.h"
#include "dynamic-string.h"
#include "hash.h"
#include "packets.h"

/* A cursor over the packet: 'p' points at the next header, 'n' bytes of
 * packet remain from there. */
struct flow_cursor {
    const uint8_t *p;
    uint32_t n;
};

static inline bool
cursor_has(const struct flow_cursor *c, uint32_t n)
{
    return c->n >= n;
}

static inline void
cursor_pull(struct flow_cursor *c, uint32_t n)
{
    c->p += n;
    c->n -= n;
}

static inline uint16_t
get_be16(const uint8_t *p)
{
    uint16_t v;

    memcpy(&v, p, sizeof v);
    return v;
}

/* Parses an 802.2 LLC header after an 802.3 length field.  With SNAP and
 * a zero OUI the SNAP type is the Ethertype; any other 802.3 frame gets
 * ETH_TYPE_NONE (as Open vSwitch does). */
static inline uint16_t
parse_llc(struct flow_cursor *c)
{
    static const uint8_t snap_hdr[6] = { 0xaa, 0xaa, 0x03, 0, 0, 0 };

    if (cursor_has(c, 8) && !memcmp(c->p, snap_hdr, sizeof snap_hdr)) {
        uint16_t type = get_be16(c->p + 6);

        if (ntohs(type) >= ETH_TYPE_MIN) {
            cursor_pull(c, 8);
            return type;
        }
    }
    return htons(ETH_TYPE_NONE);
}

static inline int
parse_arp(struct flow_cursor *c, struct flow *flow)
{
    const struct arp_eth_header *arp = (const void *) c->p;
    uint16_t op;

    if (!cursor_has(c, ARP_ETH_HEADER_LEN)) {
        return FLOW_EXTRACT_TRUNCATED;
    }
    if (arp->ar_hrd != htons(ARP_HRD_ETHERNET)
        || arp->ar_pro != htons(ETH_TYPE_IP)
        || arp->ar_hln != ETH_ADDR_LEN || arp->ar_pln != 4) {
        return FLOW_EXTRACT_MALFORMED;
    }
    op = ntohs(arp->ar_op);
    flow->nw_proto = op <= 0xff ? op : 0;
    flow->nw_src = arp->ar_spa;
    flow->nw_dst = arp->ar_tpa;
    flow->arp_sha = arp->ar_sha;
    flow->arp_tha = arp->ar_tha;
    return 0;
}

static inline int
parse_tcp(struct flow_cursor *c, struct flow *flow)
{
    const struct tcp_header *tcp = (const void *) c->p;
    uint16_t ctl;

    if (!cursor_has(c, TCP_HEADER_LEN)) {
        return FLOW_EXTRACT_TRUNCATED;
    }
    ctl = ntohs(tcp->tcp_ctl);
    if (TCP_OFFSET(ctl) < 5) {
        return FLOW_EXTRACT_MALFORMED;
    }
    flow->tp_src = tcp->tcp_src;
    flow->tp_dst = tcp->tcp_dst;
    flow->tcp_flags = htons(TCP_FLAGS(ctl));
    return cursor_has(c, TCP_OFFSET(ctl) * 4) ? 0 : FLOW_EXTRACT_TRUNCATED;
}

/* Ports of UDP and SCTP sit in the first four bytes. */
static inline int
parse_ports(struct flow_cursor *c, struct flow *flow, uint32_t hdr_len)
{
    if (!cursor_has(c, hdr_len)) {
        return FLOW_EXTRACT_TRUNCATED;
    }
    flow->tp_src = get_be16(c->p);
    flow->tp_dst = get_be16(c->p + 2);
    return 0;
}

static inline int
parse_icmp(struct flow_cursor *c, struct flow *flow)
{
    if (!cursor_has(c, ICMP_HEADER_LEN)) {
        return FLOW_EXTRACT_TRUNCATED;
    }
    flow->tp_src = htons(c->p[0]);
    flow->tp_dst = htons(c->p[1]);
    return 0;
}

/* Neighbour solicitation or advertisement: target and the link-layer
 * address options.  A zero-length option, or a second SLL or TLL, makes
 * the message invalid and clears the ND fields (as Open vSwitch does). */
static int
parse_nd(struct flow_cursor *c, struct flow *flow)
{
    const struct nd_msg *nd = (const void *) c->p;
    struct flow_cursor opt;

    if (!cursor_has(c, ND_MSG_LEN)) {
        return FLOW_EXTRACT_TRUNCATED;
    }
    memcpy(&flow->nd_target, nd->nd_target, sizeof flow->nd_target);
    opt.p = c->p + ND_MSG_LEN;
    opt.n = c->n - ND_MSG_LEN;
    while (opt.n) {
        uint32_t len;

        if (!cursor_has(&opt, 2)) {
            return FLOW_EXTRACT_TRUNCATED;
        }
        len = opt.p[1] * 8u;
        if (!len) {
            goto invalid;
        }
        if (!cursor_has(&opt, len)) {
            return FLOW_EXTRACT_TRUNCATED;
        }
        if (len == ND_LLA_OPT_LEN && opt.p[0] == ND_OPT_TYPE_SLL) {
            if (!eth_addr_is_zero(flow->arp_sha)) {
                goto invalid;
            }
            memcpy(&flow->arp_sha, opt.p + 2, ETH_ADDR_LEN);
        } else if (len == ND_LLA_OPT_LEN && opt.p[0] == ND_OPT_TYPE_TLL) {
            if (!eth_addr_is_zero(flow->arp_tha)) {
                goto invalid;
            }
            memcpy(&flow->arp_tha, opt.p + 2, ETH_ADDR_LEN);
        }
        cursor_pull(&opt, len);
    }
    return 0;

invalid:
    memset(&flow->nd_target, 0, sizeof flow->nd_target);
    flow->arp_sha = eth_addr_zero;
    flow->arp_tha = eth_addr_zero;
    return FLOW_EXTRACT_MALFORMED;
}

static inline int
parse_icmpv6(struct flow_cursor *c, struct flow *flow)
{
    uint8_t type, code;

    if (!cursor_has(c, 8)) {
        return FLOW_EXTRACT_TRUNCATED;
    }
    type = c->p[0];
    code = c->p[1];
    flow->tp_src = htons(type);
    flow->tp_dst = htons(code);
    if (code == 0 && (type == ICMP6_TYPE_NEIGHBOR_SOLICIT
                      || type == ICMP6_TYPE_NEIGHBOR_ADVERT)) {
        return parse_nd(c, flow);
    }
    return 0;
}

static inline int
parse_l4(struct flow_cursor *c, struct flow *flow)
{
    switch (flow->nw_proto) {
    case IPPROTO_TCP:
        return parse_tcp(c, flow);
    case IPPROTO_UDP:
        return parse_ports(c, flow, UDP_HEADER_LEN);
    case IPPROTO_SCTP:
        return parse_ports(c, flow, SCTP_HEADER_LEN);
    case IPPROTO_ICMP:
        return flow->dl_type == htons(ETH_TYPE_IP) ? parse_icmp(c, flow) : 0;
    case IPPROTO_ICMPV6_:
        return flow->dl_type == htons(ETH_TYPE_IPV6)
               ? parse_icmpv6(c, flow) : 0;
    default:
        return 0;
    }
}

/* Parses the IPv4 header; on success 'c' covers the IP payload (bounded
 * by the total length, so Ethernet padding is not L4 data).  Returns the
 * extract flags, plus 'l4' true if L4 parsing should follow. */
static inline int
parse_ipv4(struct flow_cursor *c, struct flow *flow, bool *l4)
{
    const struct ip_header *ip = (const void *) c->p;
    uint32_t hlen, tot_len;
    uint16_t frag_off;
    int flags = 0;

    *l4 = false;
    if (!cursor_has(c, IP_HEADER_LEN)) {
        return FLOW_EXTRACT_TRUNCATED;
    }
    if (IP_VER(ip->ip_ihl_ver) != IP_VERSION
        || IP_IHL(ip->ip_ihl_ver) < 5) {
        return FLOW_EXTRACT_MALFORMED;
    }
    hlen = IP_IHL(ip->ip_ihl_ver) * 4;
    if (!cursor_has(c, hlen)) {
        return FLOW_EXTRACT_TRUNCATED;
    }
    flow->nw_src = ip->ip_src;
    flow->nw_dst = ip->ip_dst;
    flow->nw_proto = ip->ip_proto;
    flow->nw_tos = ip->ip_tos;
    flow->nw_ttl = ip->ip_ttl;
    frag_off = ntohs(ip->ip_frag_off);
    if (OVS_UNLIKELY(IP_IS_FRAGMENT(frag_off))) {
        flow->nw_frag = FLOW_NW_FRAG_ANY;
        if (frag_off & IP_FRAG_OFF_MASK) {
            flow->nw_frag |= FLOW_NW_FRAG_LATER;
        }
    }

    tot_len = ntohs(ip->ip_tot_len);
    if (OVS_UNLIKELY(tot_len < hlen)) {
        return FLOW_EXTRACT_MALFORMED;
    }
    if (OVS_UNLIKELY(tot_len > c->n)) {
        flags = FLOW_EXTRACT_TRUNCATED;
        tot_len = c->n;
    }
    c->n = tot_len;
    cursor_pull(c, hlen);
    *l4 = !(flow->nw_frag & FLOW_NW_FRAG_LATER);
    return flags;
}

static inline bool
ipv6_is_ext_header(uint8_t nxt)
{
    return nxt == IPPROTO_HOPOPTS || nxt == IPPROTO_ROUTING
           || nxt == IPPROTO_DSTOPTS || nxt == IPPROTO_AH
           || nxt == IPPROTO_FRAGMENT;
}

/* Walks IPv6 extension headers, leaving 'c' at the upper-layer header and
 * flow->nw_proto set to its protocol.  Each header is at least 8 bytes,
 * so the walk ends within the packet. */
static int
parse_ipv6_ext(struct flow_cursor *c, struct flow *flow, bool *l4)
{
    uint8_t nxt = flow->nw_proto;

    while (ipv6_is_ext_header(nxt)) {
        uint32_t len;

        if (nxt == IPPROTO_FRAGMENT) {
            const struct ipv6_frag_header *fh = (const void *) c->p;
            uint16_t offlg;

            if (!cursor_has(c, IPV6_FRAG_HEADER_LEN)) {
                return FLOW_EXTRACT_TRUNCATED;
            }
            offlg = ntohs(fh->ip6f_offlg);
            nxt = fh->ip6f_nxt;
            flow->nw_proto = nxt;
            flow->nw_frag = FLOW_NW_FRAG_ANY;
            cursor_pull(c, IPV6_FRAG_HEADER_LEN);
            if (offlg & IPV6_FRAG_OFF_MASK) {
                flow->nw_frag |= FLOW_NW_FRAG_LATER;
                /* Later fragments carry no headers to walk. */
                return 0;
            }
            continue;
        }
        if (!cursor_has(c, IPV6_EXT_HEADER_LEN)) {
            return FLOW_EXTRACT_TRUNCATED;
        }
        len = nxt == IPPROTO_AH ? (c->p[1] + 2u) * 4 : (c->p[1] + 1u) * 8;
        if (!cursor_has(c, len)) {
            return FLOW_EXTRACT_TRUNCATED;
        }
        nxt = c->p[0];
        flow->nw_proto = nxt;
        cursor_pull(c, len);
    }
    *l4 = true;
    return 0;
}

static inline int
parse_ipv6(struct flow_cursor *c, struct flow *flow, bool *l4)
{
    const struct ipv6_header *ip6 = (const void *) c->p;
    uint32_t vtc_flow, plen;
    int flags = 0;

    *l4 = false;
    if (!cursor_has(c, IPV6_HEADER_LEN)) {
        return FLOW_EXTRACT_TRUNCATED;
    }
    vtc_flow = ntohl(ip6->ip6_vtc_flow);
    if ((vtc_flow >> 28) != IPV6_VERSION) {
        return FLOW_EXTRACT_MALFORMED;
    }
    memcpy(&flow->ipv6_src, ip6->ip6_src, sizeof flow->ipv6_src);
    memcpy(&flow->ipv6_dst, ip6->ip6_dst, sizeof flow->ipv6_dst);
    flow->ipv6_label = htonl(vtc_flow & IPV6_LABEL_MASK);
    flow->nw_tos = vtc_flow >> 20;
    flow->nw_ttl = ip6->ip6_hlim;
    flow->nw_proto = ip6->ip6_nxt;

    plen = ntohs(ip6->ip6_plen);
    cursor_pull(c, IPV6_HEADER_LEN);
    if (OVS_UNLIKELY(plen > c->n)) {
        flags = FLOW_EXTRACT_TRUNCATED;
    } else if (plen || flow->nw_proto != IPPROTO_HOPOPTS) {
        /* A zero length with hop-by-hop options may be a jumbogram:
         * then the packet's own length bounds the payload. */
        c->n = plen;
    }
    return flags | parse_ipv6_ext(c, flow, l4);
}

int
flow_extract(struct dp_packet *packet, struct flow *flow)
{
    struct flow_cursor c = { dp_packet_data(packet), dp_packet_size(packet) };
    const uint8_t *start = c.p;
    uint16_t type;
    bool l4 = false;
    int flags = 0;

    memset(flow, 0, sizeof *flow);
    flow->in_port = packet->in_port;
    packet->l3_ofs = DP_PACKET_OFS_NONE;
    packet->l4_ofs = DP_PACKET_OFS_NONE;

    if (OVS_UNLIKELY(!cursor_has(&c, ETH_HEADER_LEN))) {
        return FLOW_EXTRACT_TRUNCATED;
    }
    memcpy(&flow->dl_dst, c.p, ETH_ADDR_LEN);
    memcpy(&flow->dl_src, c.p + ETH_ADDR_LEN, ETH_ADDR_LEN);
    type = get_be16(c.p + 2 * ETH_ADDR_LEN);
    cursor_pull(&c, ETH_HEADER_LEN);

    for (int i = 0; i < FLOW_N_VLANS; i++) {
        if (type != htons(ETH_TYPE_VLAN_8021Q)
            && type != htons(ETH_TYPE_VLAN_8021AD)) {
            break;
        }
        if (!cursor_has(&c, VLAN_HEADER_LEN)) {
            flow->dl_type = type;
            return FLOW_EXTRACT_TRUNCATED;
        }
        flow->vlans[i].tpid = type;
        flow->vlans[i].tci = get_be16(c.p) | htons(VLAN_CFI);
        type = get_be16(c.p + 2);
        cursor_pull(&c, VLAN_HEADER_LEN);
    }
    if (OVS_UNLIKELY(ntohs(type) < ETH_TYPE_MIN)) {
        type = parse_llc(&c);
    }
    flow->dl_type = type;
    packet->l3_ofs = c.p - start;

    if (OVS_LIKELY(type == htons(ETH_TYPE_IP))) {
        flags = parse_ipv4(&c, flow, &l4);
    } else if (type == htons(ETH_TYPE_IPV6)) {
        flags = parse_ipv6(&c, flow, &l4);
    } else if (type == htons(ETH_TYPE_ARP) || type == htons(ETH_TYPE_RARP)) {
        return parse_arp(&c, flow);
    } else {
        return 0;
    }
    if (l4) {
        packet->l4_ofs = c.p - start;
        flags |= parse_l4(&c, flow);
    } else if (flow->nw_frag & FLOW_NW_FRAG_LATER) {
        packet->l4_ofs = c.p - start;
    }
    return flags;
}

/* 64x64->128 multiply, folded: the mixing step of wyhash-style hashes. */
static inline uint64_t
flow_mum(uint64_t a, uint64_t b)
{
    unsigned __int128 r = (unsigned __int128) a * b;

    return (uint64_t) r ^ (uint64_t) (r >> 64);
}

/* Each pair of words is mixed by one wide multiply with keys that depend
 * on the basis and the position; the products are independent, so the
 * CPU overlaps them, and a final multiply and hash_finish() avalanche the
 * sum.  (A word equal to its key would cancel its partner's influence,
 * which takes a 2^-64 coincidence for inputs that do not know the key.) */
uint32_t
flow_hash(const struct flow *flow, uint32_t basis)
{
    const uint64_t k0 = 0xa0761d6478bd642fULL, k1 = 0xe7037ed1a0b428dbULL;
    const uint64_t *w = flow_u64(flow);
    uint64_t seed = (basis + 1) * 0x9e3779b97f4a7c15ULL;
    uint64_t acc = seed;
    size_t i;

    for (i = 0; i + 2 <= FLOW_U64S; i += 2) {
        acc += flow_mum(w[i] ^ (seed + i * k0),
                        w[i + 1] ^ ((seed ^ k1) + i));
    }
    if (i < FLOW_U64S) {
        acc += flow_mum(w[i] ^ (seed + i * k0), k1);
    }
    acc = flow_mum(acc ^ k0, seed ^ k1);
    return hash_finish((uint32_t) acc ^ (uint32_t) (acc >> 32),
                       FLOW_U64S * 8);
}

void
flow_apply_mask(struct flow *dst, const struct flow *src,
                const struct flow_wildcards *wc)
{
    uint64_t *d = flow_u64_rw(dst);
    const uint64_t *s = flow_u64(src);
    const uint64_t *m = flow_u64(&wc->masks);

    for (size_t i = 0; i < FLOW_U64S; i++) {
        d[i] = s[i] & m[i];
    }
}

bool
flow_equal_masked(const struct flow *a, const struct flow *b,
                  const struct flow_wildcards *wc)
{
    const uint64_t *aw = flow_u64(a);
    const uint64_t *bw = flow_u64(b);
    const uint64_t *m = flow_u64(&wc->masks);
    uint64_t diff = 0;

    for (size_t i = 0; i < FLOW_U64S; i++) {
        diff |= (aw[i] ^ bw[i]) & m[i];
    }
    return !diff;
}

void
flow_wildcards_init_catchall(struct flow_wildcards *wc)
{
    memset(&wc->masks, 0, sizeof wc->masks);
}

void
flow_wildcards_init_exact(struct flow_wildcards *wc)
{
    memset(&wc->masks, 0xff, sizeof wc->masks);
    /* Pad bytes are always zero in flows; keep them out of masks too. */
    memset(wc->masks.pad1, 0, sizeof wc->masks.pad1);
    wc->masks.pad2 = 0;
    wc->masks.pad3 = 0;
}

bool
flow_wildcards_is_catchall(const struct flow_wildcards *wc)
{
    const uint64_t *m = flow_u64(&wc->masks);

    for (size_t i = 0; i < FLOW_U64S; i++) {
        if (m[i]) {
            return false;
        }
    }
    return true;
}

void
flow_wildcards_or(struct flow_wildcards *dst,
                  const struct flow_wildcards *src)
{
    uint64_t *d = flow_u64_rw(&dst->masks);
    const uint64_t *s = flow_u64(&src->masks);

    for (size_t i = 0; i < FLOW_U64S; i++) {
        d[i] |= s[i];
    }
}

/* Formatting. */

static void
format_flags(struct ds *s, uint32_t flags, const char *const names[],
             size_t n_names)
{
    bool first = true;

    for (size_t i = 0; i < n_names; i++) {
        if (flags & (1u << i)) {
            ds_put_format(s, "%s%s", first ? "" : "|", names[i]);
            first = false;
            flags &= ~(1u << i);
        }
    }
    if (flags) {
        ds_put_format(s, "%s0x%"PRIx32, first ? "" : "|", flags);
    } else if (first) {
        ds_put_char(s, '0');
    }
}

static void
format_ct_state(struct ds *s, uint16_t state)
{
    static const char *const names[] = {
        "new", "est", "rel", "rpl", "inv", "trk", "snat", "dnat",
    };

    format_flags(s, state, names, ARRAY_SIZE(names));
}

static void
format_tcp_flags(struct ds *s, uint16_t flags)
{
    static const char *const names[] = {
        "fin", "syn", "rst", "psh", "ack", "urg", "ece", "cwr", "ns",
    };

    format_flags(s, flags, names, ARRAY_SIZE(names));
}

static void
format_ip(struct ds *s, const char *name, uint32_t ip)
{
    char buf[IP_STRLEN];

    ds_put_format(s, "%s=%s,", name, ip_to_string(ip, buf));
}

static void
format_ipv6(struct ds *s, const char *name, const struct in6_addr *a)
{
    char buf[IPV6_STRLEN];

    ds_put_format(s, "%s=%s,", name, ipv6_to_string(a, buf));
}

static void
format_eth(struct ds *s, const char *name, struct eth_addr ea)
{
    ds_put_format(s, "%s="ETH_ADDR_FMT",", name, ETH_ADDR_ARGS(ea));
}

/* The "ip", "tcp6", ... prefix Open vSwitch uses instead of dl_type and
 * nw_proto, or NULL. */
static const char *
flow_shorthand(const struct flow *f, bool *covers_proto)
{
    uint16_t type = ntohs(f->dl_type);
    bool v4 = type == ETH_TYPE_IP;

    *covers_proto = true;
    if (type == ETH_TYPE_ARP) {
        return "arp";
    } else if (type == ETH_TYPE_RARP) {
        return "rarp";
    } else if (!v4 && type != ETH_TYPE_IPV6) {
        return NULL;
    }
    switch (f->nw_proto) {
    case IPPROTO_TCP:
        return v4 ? "tcp" : "tcp6";
    case IPPROTO_UDP:
        return v4 ? "udp" : "udp6";
    case IPPROTO_SCTP:
        return v4 ? "sctp" : "sctp6";
    case IPPROTO_ICMP:
        if (v4) {
            return "icmp";
        }
        break;
    case IPPROTO_ICMPV6_:
        if (!v4) {
            return "icmp6";
        }
        break;
    }
    *covers_proto = false;
    return v4 ? "ip" : "ipv6";
}

static void
format_metadata(struct ds *s, const struct flow *f)
{
    if (f->recirc_id) {
        ds_put_format(s, "recirc_id=%#"PRIx32",", f->recirc_id);
    }
    if (f->dp_hash) {
        ds_put_format(s, "dp_hash=%#"PRIx32",", f->dp_hash);
    }
    if (f->pkt_mark) {
        ds_put_format(s, "pkt_mark=%#"PRIx32",", f->pkt_mark);
    }
    if (f->ct_state) {
        ds_put_cstr(s, "ct_state=");
        format_ct_state(s, f->ct_state);
        ds_put_char(s, ',');
    }
    if (f->ct_zone) {
        ds_put_format(s, "ct_zone=%"PRIu16",", f->ct_zone);
    }
    if (f->ct_mark) {
        ds_put_format(s, "ct_mark=%#"PRIx32",", f->ct_mark);
    }
    if (f->ct_label[0] || f->ct_label[1]) {
        if (f->ct_label[1]) {
            ds_put_format(s, "ct_label=0x%"PRIx64"%016"PRIx64",",
                          f->ct_label[1], f->ct_label[0]);
        } else {
            ds_put_format(s, "ct_label=%#"PRIx64",", f->ct_label[0]);
        }
    }
    if (f->ct_nw_src || f->ct_nw_dst) {
        format_ip(s, "ct_nw_src", f->ct_nw_src);
        format_ip(s, "ct_nw_dst", f->ct_nw_dst);
    }
    if (!ipv6_addr_is_zero(&f->ct_ipv6_src)
        || !ipv6_addr_is_zero(&f->ct_ipv6_dst)) {
        format_ipv6(s, "ct_ipv6_src", &f->ct_ipv6_src);
        format_ipv6(s, "ct_ipv6_dst", &f->ct_ipv6_dst);
    }
    if (f->ct_nw_proto) {
        ds_put_format(s, "ct_nw_proto=%u,ct_tp_src=%u,ct_tp_dst=%u,",
                      f->ct_nw_proto, ntohs(f->ct_tp_src),
                      ntohs(f->ct_tp_dst));
    }
}

static void
format_vlans(struct ds *s, const struct flow *f)
{
    uint16_t tci = ntohs(f->vlans[0].tci);

    if (!(tci & VLAN_CFI)) {
        ds_put_format(s, "vlan_tci=0x%04"PRIx16",", tci);
        return;
    }
    ds_put_format(s, "dl_vlan=%u,dl_vlan_pcp=%u,",
                  vlan_tci_to_vid(tci), vlan_tci_to_pcp(tci));
    if (f->vlans[1].tci) {
        ds_put_format(s, "vlan_tci1=0x%04"PRIx16",",
                      ntohs(f->vlans[1].tci));
    }
}

static void
format_l3(struct ds *s, const struct flow *f, bool v4, bool covers_proto)
{
    static const char *const frag_names[] = {
        "no", "first", "later", "later",
    };

    if (v4) {
        format_ip(s, "nw_src", f->nw_src);
        format_ip(s, "nw_dst", f->nw_dst);
    } else {
        format_ipv6(s, "ipv6_src", &f->ipv6_src);
        format_ipv6(s, "ipv6_dst", &f->ipv6_dst);
        ds_put_format(s, "ipv6_label=0x%05"PRIx32",", ntohl(f->ipv6_label));
    }
    if (!covers_proto) {
        ds_put_format(s, "nw_proto=%u,", f->nw_proto);
    }
    ds_put_format(s, "nw_tos=%u,nw_ecn=%u,nw_ttl=%u,nw_frag=%s,",
                  f->nw_tos & IP_DSCP_MASK, f->nw_tos & IP_ECN_MASK,
                  f->nw_ttl, frag_names[f->nw_frag & 3]);
}

static void
format_l4(struct ds *s, const struct flow *f)
{
    switch (f->nw_proto) {
    case IPPROTO_TCP:
        ds_put_format(s, "tp_src=%u,tp_dst=%u,tcp_flags=",
                      ntohs(f->tp_src), ntohs(f->tp_dst));
        format_tcp_flags(s, ntohs(f->tcp_flags));
        ds_put_char(s, ',');
        break;
    case IPPROTO_UDP:
    case IPPROTO_SCTP:
        ds_put_format(s, "tp_src=%u,tp_dst=%u,",
                      ntohs(f->tp_src), ntohs(f->tp_dst));
        break;
    case IPPROTO_ICMP:
    case IPPROTO_ICMPV6_:
        ds_put_format(s, "icmp_type=%u,icmp_code=%u,",
                      ntohs(f->tp_src), ntohs(f->tp_dst));
        if (f->nw_proto == IPPROTO_ICMPV6_ && !f->tp_dst
            && (f->tp_src == htons(ICMP6_TYPE_NEIGHBOR_SOLICIT)
                || f->tp_src == htons(ICMP6_TYPE_NEIGHBOR_ADVERT))) {
            format_ipv6(s, "nd_target", &f->nd_target);
            if (f->tp_src == htons(ICMP6_TYPE_NEIGHBOR_SOLICIT)) {
                format_eth(s, "nd_sll", f->arp_sha);
            } else {
                format_eth(s, "nd_tll", f->arp_tha);
            }
        }
        break;
    }
}

void
flow_format(struct ds *s, const struct flow *f)
{
    uint16_t type = ntohs(f->dl_type);
    bool covers_proto;
    const char *shorthand = flow_shorthand(f, &covers_proto);
    size_t start = s->length;

    format_metadata(s, f);
    if (shorthand) {
        ds_put_format(s, "%s,", shorthand);
    }
    for (int i = 0; i < FLOW_N_REGS; i++) {
        if (f->regs[i]) {
            ds_put_format(s, "reg%d=%#"PRIx32",", i, f->regs[i]);
        }
    }
    if (f->metadata) {
        ds_put_format(s, "metadata=%#"PRIx64",", f->metadata);
    }
    ds_put_format(s, "in_port=%"PRIu32",", f->in_port);
    format_vlans(s, f);
    format_eth(s, "dl_src", f->dl_src);
    format_eth(s, "dl_dst", f->dl_dst);
    if (!shorthand) {
        ds_put_format(s, "dl_type=0x%04"PRIx16",", type);
    }
    if (type == ETH_TYPE_ARP || type == ETH_TYPE_RARP) {
        format_ip(s, "arp_spa", f->nw_src);
        format_ip(s, "arp_tpa", f->nw_dst);
        ds_put_format(s, "arp_op=%u,", f->nw_proto);
        format_eth(s, "arp_sha", f->arp_sha);
        format_eth(s, "arp_tha", f->arp_tha);
    } else if (type == ETH_TYPE_IP || type == ETH_TYPE_IPV6) {
        format_l3(s, f, type == ETH_TYPE_IP, covers_proto);
        format_l4(s, f);
    }
    if (s->length > start) {
        ds_chomp(s, ',');
    }
}
