/* netdev-offload: makes packets acceptable to an output port that cannot
 * take their offload state (netdev_resolve_offloads and
 * netdev_send_resolving in netdev.h).
 *
 * Two repairs:
 * - a partial checksum (virtio-net NEEDS_CSUM semantics: the pseudo-header
 *   sum sits in the checksum field, the rest is to be added from
 *   csum_start to the end) is completed in software;
 * - a GSO packet (TCP over IPv4 or IPv6, UDP_L4) is cut into frames of
 *   gso_size payload bytes, each with its own IP length and id, TCP
 *   sequence number, flags and checksum.  If the port takes partial
 *   checksums the segments carry partial checksums (cheaper); otherwise
 *   full ones.
 *
 * The headers are parsed here from the frame itself (Ethernet, up to two
 * VLAN tags, IPv4 or IPv6); csum_start, which the sender set, locates the
 * L4 header, so IPv6 extension headers need no walking.  A packet that
 * does not parse is dropped and counted, never trusted.
 *
 * Threads: runs on the sending thread; segments come from the caller's
 * pool, which that thread owns. */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "csum.h"
#include "log.h"
#include "netdev-private.h"
#include "netdev.h"
#include "packets.h"
#include "util.h"

struct ofl_layout {
    uint16_t l3;            /* IP header offset */
    uint16_t l4;            /* TCP/UDP header offset */
    uint16_t hdr_len;       /* all headers, L4 included */
    uint8_t proto;          /* IPPROTO_TCP or IPPROTO_UDP */
    bool ipv6;
};

/* Why a packet needs work for a port with 'tx' offloads. */
static bool
ofl_needs_gso(const struct dp_packet *p, uint32_t tx)
{
    if (p->ofl.gso_type == DP_GSO_NONE) {
        return false;
    }
    if (!(p->ofl.flags & DP_OFL_CSUM_PARTIAL)) {
        /* No port takes GSO without a partial checksum (virtio-net
         * semantics): segment in software. */
        return true;
    }
    switch (p->ofl.gso_type) {
    case DP_GSO_TCPV4:
    case DP_GSO_TCPV6:
        return (tx & (NETDEV_TX_TSO | NETDEV_TX_CSUM))
               != (NETDEV_TX_TSO | NETDEV_TX_CSUM);
    case DP_GSO_UDP_L4:
        return (tx & (NETDEV_TX_UFO | NETDEV_TX_CSUM))
               != (NETDEV_TX_UFO | NETDEV_TX_CSUM);
    default:
        return true;
    }
}

static bool
ofl_needs_csum(const struct dp_packet *p, uint32_t tx)
{
    return (p->ofl.flags & DP_OFL_CSUM_PARTIAL) && !(tx & NETDEV_TX_CSUM);
}

/* Parses the headers of GSO packet 'p'.  Returns false if they are not
 * what its gso_type says. */
static bool
ofl_parse(const struct dp_packet *p, struct ofl_layout *lo)
{
    const uint8_t *d = dp_packet_data(p);
    uint32_t size = p->size, ofs = ETH_HEADER_LEN, l4_min;
    uint16_t type;

    if (size < ETH_HEADER_LEN) {
        return false;
    }
    type = (d[12] << 8) | d[13];
    for (int i = 0; i < 2 && (type == ETH_TYPE_VLAN_8021Q
                              || type == ETH_TYPE_VLAN_8021AD); i++) {
        if (ofs + VLAN_HEADER_LEN > size) {
            return false;
        }
        type = (d[ofs + 2] << 8) | d[ofs + 3];
        ofs += VLAN_HEADER_LEN;
    }
    lo->l3 = ofs;
    if (type == ETH_TYPE_IP) {
        const struct ip_header *ip = (const void *) (d + ofs);
        uint32_t ihl;

        if (ofs + IP_HEADER_LEN > size || IP_VER(ip->ip_ihl_ver) != 4) {
            return false;
        }
        ihl = IP_IHL(ip->ip_ihl_ver) * 4;
        if (ihl < IP_HEADER_LEN
            || IP_IS_FRAGMENT(ntohs(ip->ip_frag_off))) {
            return false;
        }
        lo->ipv6 = false;
        lo->proto = ip->ip_proto;
        l4_min = ofs + ihl;
        lo->l4 = l4_min;
    } else if (type == ETH_TYPE_IPV6) {
        const struct ipv6_header *ip6 = (const void *) (d + ofs);

        if (ofs + IPV6_HEADER_LEN > size) {
            return false;
        }
        lo->ipv6 = true;
        lo->proto = ip6->ip6_nxt;
        l4_min = ofs + IPV6_HEADER_LEN;
        lo->l4 = l4_min;
    } else {
        return false;
    }
    if (p->ofl.flags & DP_OFL_CSUM_PARTIAL) {
        /* The sender located L4 for us (past any IPv6 extensions). */
        if (p->ofl.csum_start < l4_min || p->ofl.csum_start >= size) {
            return false;
        }
        lo->l4 = p->ofl.csum_start;
        if (lo->ipv6 && lo->l4 != l4_min) {
            lo->proto = p->ofl.gso_type == DP_GSO_UDP_L4
                        ? IPPROTO_UDP : IPPROTO_TCP;
        }
    }
    if (p->ofl.gso_type == DP_GSO_UDP_L4) {
        if (lo->proto != IPPROTO_UDP
            || (uint32_t) lo->l4 + UDP_HEADER_LEN > size) {
            return false;
        }
        lo->hdr_len = lo->l4 + UDP_HEADER_LEN;
    } else {
        const struct tcp_header *tcp = (const void *) (d + lo->l4);
        uint32_t thl;

        if (lo->proto != IPPROTO_TCP
            || (uint32_t) lo->l4 + TCP_HEADER_LEN > size) {
            return false;
        }
        thl = TCP_OFFSET(ntohs(tcp->tcp_ctl)) * 4;
        if (thl < TCP_HEADER_LEN || lo->l4 + thl > size) {
            return false;
        }
        lo->hdr_len = lo->l4 + thl;
    }
    return (p->ofl.gso_type == DP_GSO_TCPV4) == !lo->ipv6
           || p->ofl.gso_type == DP_GSO_UDP_L4;
}

/* Completes the partial checksum of 'p' in place. */
static void
ofl_fill_csum(struct dp_packet *p)
{
    uint8_t *d = dp_packet_data(p);
    uint32_t start = p->ofl.csum_start, field = start + p->ofl.csum_offset;
    uint16_t c;

    c = csum_finish(csum_continue(0, d + start, p->size - start));
    if (!c && p->ofl.csum_offset == 6) {
        c = 0xffff;             /* UDP: 0 means "no checksum" */
    }
    memcpy(d + field, &c, sizeof c);
    p->ofl.flags &= ~DP_OFL_CSUM_PARTIAL;
    p->ofl.flags |= DP_OFL_CSUM_VALID;
}

/* Pseudo-header partial sum of a segment whose L4 part is 'l4_len'. */
static uint32_t
ofl_pseudo(const uint8_t *d, const struct ofl_layout *lo, uint32_t l4_len)
{
    if (lo->ipv6) {
        const struct ipv6_header *ip6 = (const void *) (d + lo->l3);
        struct in6_addr src, dst;

        memcpy(&src, ip6->ip6_src, sizeof src);
        memcpy(&dst, ip6->ip6_dst, sizeof dst);
        return csum_pseudo_ipv6(&src, &dst, lo->proto, l4_len);
    } else {
        const struct ip_header *ip = (const void *) (d + lo->l3);
        uint32_t src, dst;

        memcpy(&src, &ip->ip_src, sizeof src);
        memcpy(&dst, &ip->ip_dst, sizeof dst);
        return csum_pseudo_ipv4(src, dst, lo->proto, l4_len);
    }
}

/* Rewrites the IP and L4 headers of segment 'q' ('i' of 'n'), whose
 * payload is 'plen' bytes, and sets its checksums. */
static void
ofl_fix_segment(struct dp_packet *q, const struct ofl_layout *lo,
                uint32_t i, uint32_t n, uint32_t seq_ofs, bool partial)
{
    uint8_t *d = dp_packet_data(q);
    uint32_t l4_len = q->size - lo->l4;
    uint16_t csum_field = lo->proto == IPPROTO_TCP ? 16 : 6;
    uint16_t c;

    if (lo->ipv6) {
        struct ipv6_header *ip6 = (void *) (d + lo->l3);

        ip6->ip6_plen = htons(q->size - lo->l3 - IPV6_HEADER_LEN);
    } else {
        struct ip_header *ip = (void *) (d + lo->l3);

        ip->ip_tot_len = htons(q->size - lo->l3);
        ip->ip_id = htons(ntohs(ip->ip_id) + i);
        ip->ip_csum = 0;
        ip->ip_csum = csum(ip, IP_IHL(ip->ip_ihl_ver) * 4);
    }
    if (lo->proto == IPPROTO_TCP) {
        struct tcp_header *tcp = (void *) (d + lo->l4);
        uint16_t ctl = ntohs(tcp->tcp_ctl);

        tcp->tcp_seq = htonl(ntohl(tcp->tcp_seq) + seq_ofs);
        if (i + 1 < n) {
            ctl &= ~(TCP_FIN | TCP_PSH);
        }
        if (i > 0) {
            ctl &= ~TCP_CWR;
        }
        tcp->tcp_ctl = htons(ctl);
    } else {
        struct udp_header *udp = (void *) (d + lo->l4);

        udp->udp_len = htons(l4_len);
    }
    memset(&q->ofl, 0, sizeof q->ofl);
    if (partial) {
        c = csum_fold(ofl_pseudo(d, lo, l4_len));
        memcpy(d + lo->l4 + csum_field, &c, sizeof c);
        q->ofl.flags = DP_OFL_CSUM_PARTIAL;
        q->ofl.csum_start = lo->l4;
        q->ofl.csum_offset = csum_field;
    } else {
        memset(d + lo->l4 + csum_field, 0, 2);
        c = csum_finish(csum_continue(ofl_pseudo(d, lo, l4_len),
                                      d + lo->l4, l4_len));
        if (!c && lo->proto == IPPROTO_UDP) {
            c = 0xffff;
        }
        memcpy(d + lo->l4 + csum_field, &c, sizeof c);
        q->ofl.flags = DP_OFL_CSUM_VALID;
    }
    q->l3_ofs = lo->l3;
    q->l4_ofs = lo->l4;
}

struct ofl_out {
    struct dp_packet_batch *out;
    void (*emit)(void *aux, struct dp_packet_batch *);
    void *aux;
    uint64_t *dropped;
};

/* Appends 'p' to the output, emitting a full batch first if there is an
 * emitter; without one, a packet that does not fit is dropped. */
static void
ofl_out_add(struct ofl_out *o, struct dp_packet *p)
{
    if (dp_packet_batch_is_full(o->out)) {
        if (!o->emit) {
            dp_packet_delete(p);
            ++*o->dropped;
            return;
        }
        o->emit(o->aux, o->out);
        dp_packet_batch_init(o->out);
    }
    dp_packet_batch_add(o->out, p);
}

/* Segments 'p' into the output and frees it. */
static void
ofl_segment(struct dp_packet *p, uint32_t tx, struct dp_packet_pool *pool,
            struct ofl_out *o)
{
    const uint8_t *d = dp_packet_data(p);
    struct ofl_layout lo;
    uint32_t payload, mss = p->ofl.gso_size, n;
    bool partial = tx & NETDEV_TX_CSUM;

    if (!ofl_parse(p, &lo) || !mss) {
        goto drop;
    }
    payload = p->size - lo.hdr_len;
    n = payload ? DIV_ROUND_UP(payload, mss) : 1;
    if (n == 1) {
        /* Nothing to cut: fix lengths/checksums in place. */
        ofl_fix_segment(p, &lo, 0, 1, 0, partial);
        ofl_out_add(o, p);
        return;
    }
    if (!pool || lo.hdr_len + mss + DP_PACKET_HEADROOM
                 > dp_packet_pool_buf_size(pool)) {
        goto drop;
    }
    for (uint32_t i = 0; i < n; i++) {
        uint32_t ofs = i * mss, len = MIN(mss, payload - ofs);
        struct dp_packet *q = dp_packet_pool_get(pool);

        if (!q) {
            *o->dropped += n - i;
            break;
        }
        dp_packet_put(q, d, lo.hdr_len);
        dp_packet_put(q, d + lo.hdr_len + ofs, len);
        q->in_port = p->in_port;
        q->rss_hash = p->rss_hash;
        q->rss_valid = p->rss_valid;
        q->ct_conn = p->ct_conn;
        ofl_fix_segment(q, &lo, i, n, lo.proto == IPPROTO_TCP ? ofs : 0,
                        partial);
        ofl_out_add(o, q);
    }
    dp_packet_delete(p);
    return;

drop:
    ++*o->dropped;
    dp_packet_delete(p);
}

static void
ofl_resolve(struct dp_packet_batch *batch, uint32_t tx,
            struct dp_packet_pool *pool, struct ofl_out *o)
{
    struct dp_packet *in[NETDEV_MAX_BURST];
    uint32_t n = batch->count;

    memcpy(in, batch->packets, n * sizeof in[0]);
    dp_packet_batch_init(batch);
    for (uint32_t i = 0; i < n; i++) {
        struct dp_packet *p = in[i];

        if (ofl_needs_gso(p, tx)) {
            ofl_segment(p, tx, pool, o);
            continue;
        }
        if (ofl_needs_csum(p, tx)) {
            if ((uint32_t) p->ofl.csum_start + p->ofl.csum_offset + 2
                > p->size) {
                ++*o->dropped;
                dp_packet_delete(p);
                continue;
            }
            ofl_fill_csum(p);
        }
        ofl_out_add(o, p);
    }
}

void
netdev_resolve_offloads(struct dp_packet_batch *batch, uint32_t tx_offloads,
                        struct dp_packet_pool *pool, uint64_t *dropped)
{
    struct ofl_out o = {
        .out = batch, .emit = NULL, .aux = NULL, .dropped = dropped,
    };

    ofl_resolve(batch, tx_offloads, pool, &o);
}

bool
netdev_batch_needs_resolve(const struct dp_packet_batch *batch,
                           uint32_t tx_offloads)
{
    for (uint32_t i = 0; i < batch->count; i++) {
        const struct dp_packet *p = batch->packets[i];

        if (ofl_needs_gso(p, tx_offloads) || ofl_needs_csum(p, tx_offloads)) {
            return true;
        }
    }
    return false;
}

static void
ofl_emit_send(void *netdev_, struct dp_packet_batch *batch)
{
    struct netdev *netdev = netdev_;

    netdev->class->send(netdev, batch);
}

void
netdev_send_resolving(struct netdev *netdev, struct dp_packet_batch *batch,
                      struct dp_packet_pool *pool, uint64_t *dropped)
{
    uint32_t tx = netdev->class->tx_offloads(netdev);
    struct ofl_out o = {
        .out = batch, .emit = ofl_emit_send, .aux = netdev,
        .dropped = dropped,
    };

    if (netdev_batch_needs_resolve(batch, tx)) {
        ofl_resolve(batch, tx, pool, &o);
    }
    if (batch->count) {
        netdev->class->send(netdev, batch);
    }
    dp_packet_batch_init(batch);
}
