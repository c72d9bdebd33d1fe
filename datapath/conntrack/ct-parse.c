/* ct-parse.c: turns a packet into the tuple conntrack looks up, with
 * the validation OVS's userspace conntrack does: IPv4 header checksum,
 * L4 header lengths, L4 checksums unless the packet's offload state says
 * they are partial (DP_OFL_CSUM_PARTIAL: not yet computed) or verified
 * (DP_OFL_CSUM_VALID), ICMP errors' inner packets.  Pure functions of the
 * packet; any thread. */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include "conntrack-private.h"
#include "csum.h"
#include "dp-packet.h"
#include "packets.h"

/* ---- Packet parsing -------------------------------------------------- */


static bool
ct_l4_csum_skip(const struct dp_packet *pkt)
{
    return pkt->ofl.flags & (DP_OFL_CSUM_PARTIAL | DP_OFL_CSUM_VALID);
}

static bool
ct_l4_csum_ok(const struct ct_tuple *t, const void *l4, uint32_t len)
{
    uint32_t sum;

    if (t->family == AF_INET) {
        sum = csum_pseudo_ipv4(t->src.ipv4, t->dst.ipv4, t->nw_proto, len);
    } else {
        sum = csum_pseudo_ipv6(&t->src.ipv6, &t->dst.ipv6, t->nw_proto,
                               len);
    }
    return csum_finish(csum_continue(sum, l4, len)) == 0;
}

/* Parses the L4 header at 'l4' ('len' bytes) of protocol t->nw_proto
 * into the ports of 't'.  'inner' is true inside an ICMP error (only
 * the first 8 bytes exist, no checksum).  Returns 0, -EINVAL or
 * -EBADMSG (checksum). */
static int
ct_parse_l4(struct ct_tuple *t, const uint8_t *l4, uint32_t len,
            bool inner, bool verify)
{
    switch (t->nw_proto) {
    case IPPROTO_TCP: {
        const struct tcp_header *tcp = (const void *) l4;

        if (len < (inner ? 8 : TCP_HEADER_LEN)) {
            return -EINVAL;
        }
        if (!inner) {
            uint32_t hl = TCP_OFFSET(ntohs(tcp->tcp_ctl)) * 4;

            if (hl < TCP_HEADER_LEN || hl > len) {
                return -EINVAL;
            }
            if (verify && !ct_l4_csum_ok(t, l4, len)) {
                return -EBADMSG;
            }
        }
        t->src_port = tcp->tcp_src;
        t->dst_port = tcp->tcp_dst;
        return 0;
    }
    case IPPROTO_UDP:
    case 136: /* UDP-Lite */
    case 33: { /* DCCP */
        const struct udp_header *udp = (const void *) l4;

        if (len < 8) {
            return -EINVAL;
        }
        if (!inner && t->nw_proto == IPPROTO_UDP) {
            uint32_t ulen = ntohs(udp->udp_len);

            if (ulen < UDP_HEADER_LEN || ulen > len) {
                return -EINVAL;
            }
            if (verify && udp->udp_csum && !ct_l4_csum_ok(t, l4, ulen)) {
                return -EBADMSG;
            }
        }
        t->src_port = udp->udp_src;
        t->dst_port = udp->udp_dst;
        return 0;
    }
    case IPPROTO_SCTP: {
        const struct sctp_header *sh = (const void *) l4;

        if (len < (inner ? 8 : SCTP_HEADER_LEN + 4)) {
            return -EINVAL;
        }
        if (!inner && verify) {
            uint8_t *w = (uint8_t *) l4;
            uint32_t got, want;

            memcpy(&got, &sh->sctp_csum, 4);
            memset(w + 8, 0, 4);
            want = ct_sctp_crc32c(l4, len);
            memcpy(w + 8, &got, 4);
            if (got != want) {
                return -EBADMSG;
            }
        }
        t->src_port = sh->sctp_src;
        t->dst_port = sh->sctp_dst;
        return 0;
    }
    default:
        return 0;
    }
}

/* ICMP/ICMPv6 query: id in both ports. */
static int
ct_parse_icmp_query(struct ct_tuple *t, const uint8_t *l4, uint32_t len)
{
    uint16_t id;

    if (len < 8) {
        return -EINVAL;
    }
    t->icmp_type = l4[0];
    t->icmp_code = l4[1];
    memcpy(&id, l4 + 4, 2);
    t->src_port = t->dst_port = id;
    return 0;
}

static int ct_parse_ip(struct ct_tuple *, const uint8_t *l3, uint32_t len,
                       uint16_t zone, uint32_t *l4_ofs, uint32_t *l4_len,
                       bool inner);

/* The inner packet of an ICMP error at 'p' ('len' bytes). */
static int
ct_parse_icmp_inner(struct ct_ctx *ctx, const uint8_t *p, uint32_t len)
{
    struct ct_tuple in;
    uint32_t ofs, l4_len;
    int err;

    memset(&in, 0, sizeof in);
    in.family = ctx->tuple.family;
    err = ct_parse_ip(&in, p, len, ctx->tuple.zone, &ofs, &l4_len, true);
    if (err) {
        return err;
    }
    if (in.nw_proto == IPPROTO_ICMP || in.nw_proto == IPPROTO_ICMPV6_) {
        if ((in.nw_proto == IPPROTO_ICMP) != (in.family == AF_INET)
            || ct_parse_icmp_query(&in, p + ofs, l4_len)
            || !ct_icmp_is_query(in.family, in.icmp_type)) {
            return -EINVAL;
        }
    } else {
        err = ct_parse_l4(&in, p + ofs, l4_len, true, false);
        if (err) {
            return err;
        }
    }
    /* The error goes back to the inner packet's sender. */
    if (in.family == AF_INET ? in.src.ipv4 != ctx->tuple.dst.ipv4
        : memcmp(&in.src.ipv6, &ctx->tuple.dst.ipv6, 16)) {
        return -EINVAL;
    }
    ct_tuple_reverse(&ctx->tuple, &in);
    ctx->related = true;
    return 0;
}

/* Parses an IP header at 'l3' ('len' bytes to the end of the buffer):
 * addresses and protocol into 't', the L4 offset (from l3) and length.
 * Outer packets have their IPv4 header checksum verified.  Fragments are
 * rejected (non-first ones carry no L4 header; reassembly is ct-frag's). */
static int
ct_parse_ip(struct ct_tuple *t, const uint8_t *l3, uint32_t len,
            uint16_t zone, uint32_t *l4_ofs, uint32_t *l4_len, bool inner)
{
    t->zone = zone;
    if (t->family == AF_INET) {
        const struct ip_header *ip = (const void *) l3;
        uint32_t hl, tot;

        if (len < IP_HEADER_LEN || IP_VER(ip->ip_ihl_ver) != 4) {
            return -EINVAL;
        }
        hl = IP_IHL(ip->ip_ihl_ver) * 4;
        tot = ntohs(ip->ip_tot_len);
        if (hl < IP_HEADER_LEN || hl > len) {
            return -EINVAL;
        }
        if (!inner && (tot < hl || tot > len || csum(ip, hl))) {
            return -EINVAL;
        }
        if (ntohs(ip->ip_frag_off) & (IP_MORE_FRAGMENTS | IP_FRAG_OFF_MASK)) {
            if (!inner || (ntohs(ip->ip_frag_off) & IP_FRAG_OFF_MASK)) {
                return -EINVAL;
            }
        }
        t->src.ipv4 = ip->ip_src;
        t->dst.ipv4 = ip->ip_dst;
        t->nw_proto = ip->ip_proto;
        *l4_ofs = hl;
        *l4_len = (inner ? len : tot) - hl;
        return 0;
    } else {
        const struct ipv6_header *ip6 = (const void *) l3;
        uint32_t ofs = IPV6_HEADER_LEN, end;
        uint8_t nxt;

        if (len < IPV6_HEADER_LEN || (l3[0] >> 4) != 6) {
            return -EINVAL;
        }
        end = IPV6_HEADER_LEN + ntohs(ip6->ip6_plen);
        if (!inner && end > len) {
            return -EINVAL;
        }
        if (inner) {
            end = len;
        }
        memcpy(&t->src.ipv6, ip6->ip6_src, 16);
        memcpy(&t->dst.ipv6, ip6->ip6_dst, 16);
        nxt = ip6->ip6_nxt;
        /* Skip extension headers (bounded by the packet length). */
        for (;;) {
            if (nxt == 0 || nxt == 43 || nxt == 60) {   /* HBH, RT, DST */
                if (ofs + 8 > end) {
                    return -EINVAL;
                }
                nxt = l3[ofs];
                ofs += (l3[ofs + 1] + 1) * 8;
            } else if (nxt == 51) {                     /* AH */
                if (ofs + 8 > end) {
                    return -EINVAL;
                }
                nxt = l3[ofs];
                ofs += (l3[ofs + 1] + 2) * 4;
            } else if (nxt == 44) {                     /* fragment */
                return -EINVAL;
            } else {
                break;
            }
            if (ofs > end) {
                return -EINVAL;
            }
        }
        t->nw_proto = nxt;
        *l4_ofs = ofs;
        *l4_len = end - ofs;
        return 0;
    }
}

/* Fills ctx from the packet.  Returns 0, -EINVAL (invalid) or -EBADMSG
 * (bad L4 checksum). */
int
ct_extract(struct dp_packet *pkt, const struct flow *flow, uint16_t zone,
           struct ct_ctx *ctx)
{
    const uint8_t *l3 = dp_packet_l3(pkt);
    uint32_t l4_ofs, l4_len, avail;
    const uint8_t *l4;
    bool verify = !ct_l4_csum_skip(pkt);
    int err;

    memset(&ctx->tuple, 0, sizeof ctx->tuple);
    ctx->related = false;
    if (!l3 || (flow->nw_frag & FLOW_NW_FRAG_ANY)) {
        return -EINVAL;
    }
    if (flow->dl_type == htons(ETH_TYPE_IP)) {
        ctx->tuple.family = AF_INET;
    } else if (flow->dl_type == htons(ETH_TYPE_IPV6)) {
        ctx->tuple.family = AF_INET6;
    } else {
        return -EINVAL;
    }
    avail = dp_packet_size(pkt) - pkt->l3_ofs;
    err = ct_parse_ip(&ctx->tuple, l3, avail, zone, &l4_ofs, &l4_len,
                      false);
    if (err) {
        return err;
    }
    l4 = l3 + l4_ofs;
    ctx->cp.pkt = pkt;
    ctx->cp.flow = flow;
    ctx->cp.l4 = l4;
    ctx->cp.l4_len = l4_len;
    ctx->cp.l3_len = l4_ofs + l4_len;

    switch (ctx->tuple.nw_proto) {
    case IPPROTO_ICMP:
    case IPPROTO_ICMPV6_: {
        uint8_t type;
        bool v4 = ctx->tuple.family == AF_INET;

        if ((ctx->tuple.nw_proto == IPPROTO_ICMP) != v4 || l4_len < 8) {
            return -EINVAL;
        }
        if (verify) {
            bool ok = v4 ? csum(l4, l4_len) == 0
                         : ct_l4_csum_ok(&ctx->tuple, l4, l4_len);
            if (!ok) {
                return -EBADMSG;
            }
        }
        type = l4[0];
        if (ct_icmp_is_error(ctx->tuple.family, type)) {
            ctx->tuple.icmp_type = type;
            ctx->tuple.icmp_code = l4[1];
            return ct_parse_icmp_inner(ctx, l4 + 8, l4_len - 8);
        }
        if (!ct_icmp_is_query(ctx->tuple.family, type)
            && !ct_icmp_is_reply(ctx->tuple.family, type)) {
            return -EINVAL;
        }
        /* Replies are queries' mirrors: parse alike. */
        return ct_parse_icmp_query(&ctx->tuple, l4, l4_len);
    }
    default:
        return ct_parse_l4(&ctx->tuple, l4, l4_len, false, verify);
    }
}

