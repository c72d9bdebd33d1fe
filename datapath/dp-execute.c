/* dp-execute: the action interpreter and header rewrites. */
#include "dp-execute.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include <sys/socket.h>

#include "conntrack/conntrack.h"
#include "conntrack/ct-frag.h"
#include "csum.h"
#include "hash.h"
#include "packets.h"
#include "util.h"

/* ---- Validation ------------------------------------------------------ */

static size_t
dpa_len_for(size_t arg_len)
{
    return ROUND_UP(sizeof(struct dp_action) + arg_len, 8);
}

static int
dp_actions_validate__(const void *actions, size_t size, int nest)
{
    const uint8_t *p = actions, *end = p + size;

    if (nest > DP_EXEC_MAX_NEST || size % 8) {
        return -EINVAL;
    }
    while (p < end) {
        const struct dp_action *a = (const struct dp_action *) p;
        size_t left = end - p;
        size_t arg_len;

        if (left < sizeof *a || a->len < sizeof *a || a->len % 8
            || a->len > left) {
            return -EINVAL;
        }
        arg_len = a->len - sizeof *a;
        switch ((enum dp_action_type) a->type) {
        case DPA_OUTPUT:
        case DPA_RECIRC:
        case DPA_HASH:
            if (a->len != dpa_len_for(sizeof(uint32_t))) {
                return -EINVAL;
            }
            break;
        case DPA_TRUNC: {
            uint32_t max_len;

            if (a->len != dpa_len_for(sizeof max_len)) {
                return -EINVAL;
            }
            memcpy(&max_len, dpa_arg(a), sizeof max_len);
            if (max_len < ETH_HEADER_LEN) {
                return -EINVAL;
            }
            break;
        }
        case DPA_USERSPACE:
            if (a->len != dpa_len_for(sizeof(struct dpa_userspace))) {
                return -EINVAL;
            }
            break;
        case DPA_SET_MASKED: {
            const struct dpa_set_masked *sm = dpa_arg(a);

            if (arg_len < sizeof *sm || !sm->n
                || (size_t) sm->ofs + sm->n > sizeof(struct flow)
                || a->len != dpa_len_for(sizeof *sm + 2 * (size_t) sm->n)) {
                return -EINVAL;
            }
            break;
        }
        case DPA_PUSH_VLAN: {
            const struct dpa_push_vlan *pv = dpa_arg(a);

            if (a->len != dpa_len_for(sizeof *pv)
                || (pv->tpid != htons(ETH_TYPE_VLAN_8021Q)
                    && pv->tpid != htons(ETH_TYPE_VLAN_8021AD))
                || !(pv->tci & htons(VLAN_CFI))) {
                return -EINVAL;
            }
            break;
        }
        case DPA_POP_VLAN:
        case DPA_CT_CLEAR:
            if (a->len != sizeof *a) {
                return -EINVAL;
            }
            break;
        case DPA_CT: {
            const struct dpa_ct *ct = dpa_arg(a);

            if (a->len != dpa_len_for(sizeof *ct)) {
                return -EINVAL;
            }
            if (((ct->nat_flags & DPA_CT_NAT_RANGE_ADDR)
                    && ct->nat_family != AF_INET
                    && ct->nat_family != AF_INET6)
                || ct->alg > DPA_CT_ALG_TFTP) {
                return -EINVAL;
            }
            break;
        }
        case DPA_CLONE: {
            int err = dp_actions_validate__(dpa_arg(a), arg_len, nest + 1);

            if (err) {
                return err;
            }
            break;
        }
        default:
            return -EINVAL;
        }
        p += a->len;
    }
    return 0;
}

int
dp_actions_validate(const void *actions, size_t size)
{
    if (size && !actions) {
        return -EINVAL;
    }
    return dp_actions_validate__(actions, size, 0);
}

/* ---- L4 checksum bookkeeping ---------------------------------------- */

/* Where a packet's L4 checksum field is and what it holds. */
struct l4_csum {
    uint8_t *field;             /* NULL: no checksum to maintain */
    bool partial;               /* holds the pseudo-header sum */
    bool udp4;                  /* UDP over IPv4: 0 means "none" */
};

static bool
dp_packet_l4_is_partial(const struct dp_packet *p)
{
    return (p->ofl.flags & DP_OFL_CSUM_PARTIAL)
           && p->ofl.csum_start == p->l4_ofs;
}

/* Finds the L4 checksum that covers the pseudo-header (TCP, UDP, ICMPv6)
 * of a non-fragment (or first fragment) packet. */
static struct l4_csum
dp_l4_pseudo_csum(const struct dp_packet *p, const struct flow *flow,
                  bool ipv6)
{
    struct l4_csum c = { NULL, false, false };
    uint8_t *l4 = dp_packet_l4(p);
    uint32_t l4_size = dp_packet_l4_size(p);

    if (!l4 || (flow->nw_frag & FLOW_NW_FRAG_LATER)) {
        return c;
    }
    c.partial = dp_packet_l4_is_partial(p);
    switch (flow->nw_proto) {
    case IPPROTO_TCP:
        if (l4_size >= TCP_HEADER_LEN) {
            c.field = l4 + offsetof(struct tcp_header, tcp_csum);
        }
        break;
    case IPPROTO_UDP:
        if (l4_size >= UDP_HEADER_LEN) {
            c.field = l4 + offsetof(struct udp_header, udp_csum);
            c.udp4 = !ipv6;
        }
        break;
    case IPPROTO_ICMPV6_:
        if (ipv6 && l4_size >= ICMP6_HEADER_LEN) {
            c.field = l4 + offsetof(struct icmp6_header, icmp6_csum);
        }
        break;
    default:
        break;
    }
    return c;
}

/* Updates a pseudo-header-covering checksum for a 32-bit change. */
static void
l4_csum_update32(const struct l4_csum *c, uint32_t old, uint32_t new_)
{
    uint16_t v;

    if (!c->field) {
        return;
    }
    v = get_unaligned_u16(c->field);
    if (c->partial) {
        /* The field holds a folded, uncomplemented sum S: S' = S - m + m'
         * is the complement of the usual update applied to ~S. */
        put_unaligned_u16(c->field, ~csum_update32(~v, old, new_));
    } else if (!(c->udp4 && !v)) {
        v = csum_update32(v, old, new_);
        put_unaligned_u16(c->field, c->udp4 && !v ? 0xffff : v);
    }
}

static void
l4_csum_update128(const struct l4_csum *c, const void *old, const void *new_)
{
    uint16_t v;

    if (!c->field) {
        return;
    }
    v = get_unaligned_u16(c->field);
    if (c->partial) {
        put_unaligned_u16(c->field, ~csum_update128(~v, old, new_));
    } else {
        v = csum_update128(v, old, new_);
        put_unaligned_u16(c->field, !v && c->udp4 ? 0xffff : v);
    }
}

/* For a change inside the L4 header itself (ports, ICMP type/code):
 * a partial checksum is filled later over the new bytes, so only a
 * complete one needs updating. */
static void
l4_csum_update16_data(const struct dp_packet *p, uint8_t *field,
                      uint16_t old, uint16_t new_, bool udp4)
{
    uint16_t v = get_unaligned_u16(field);

    if (dp_packet_l4_is_partial(p) || (udp4 && !v)) {
        return;
    }
    v = csum_update16(v, old, new_);
    put_unaligned_u16(field, udp4 && !v ? 0xffff : v);
}

/* ---- SET_MASKED ------------------------------------------------------ */

#define FIELD_TOUCHED(OFS, N, FIELD)                                      \
    ((OFS) < offsetof(struct flow, FIELD)                                 \
             + sizeof(((struct flow *) 0)->FIELD)                         \
     && offsetof(struct flow, FIELD) < (size_t) (OFS) + (N))
#define FIELD_CHANGED(OLD, NEW, FIELD)                                    \
    memcmp(&(OLD)->FIELD, &(NEW)->FIELD, sizeof (OLD)->FIELD)

static void
dp_rewrite_l2(struct dp_packet *p, const struct flow *old,
              const struct flow *flow)
{
    uint8_t *d = dp_packet_data(p);

    if (dp_packet_size(p) < ETH_HEADER_LEN) {
        return;
    }
    if (FIELD_CHANGED(old, flow, dl_dst)) {
        memcpy(d, &flow->dl_dst, ETH_ADDR_LEN);
    }
    if (FIELD_CHANGED(old, flow, dl_src)) {
        memcpy(d + ETH_ADDR_LEN, &flow->dl_src, ETH_ADDR_LEN);
    }
}

static bool
is_vlan_tpid(uint16_t tpid_be)
{
    return tpid_be == htons(ETH_TYPE_VLAN_8021Q)
           || tpid_be == htons(ETH_TYPE_VLAN_8021AD);
}

static void
dp_rewrite_vlans(struct dp_packet *p, const struct flow *old,
                 const struct flow *flow)
{
    uint8_t *d = dp_packet_data(p);
    uint32_t ofs = 2 * ETH_ADDR_LEN;

    for (int i = 0; i < FLOW_N_VLANS; i++, ofs += VLAN_HEADER_LEN) {
        const struct flow_vlan *v = &flow->vlans[i];

        if (dp_packet_size(p) < ofs + VLAN_HEADER_LEN
            || !is_vlan_tpid(get_unaligned_u16(d + ofs))) {
            return;
        }
        if (!memcmp(v, &old->vlans[i], sizeof *v)
            || !(v->tci & htons(VLAN_CFI)) || !is_vlan_tpid(v->tpid)) {
            /* Unchanged, or cleared (pop_vlan's job, not set's). */
            continue;
        }
        put_unaligned_u16(d + ofs, v->tpid);
        put_unaligned_u16(d + ofs + 2, v->tci & ~htons(VLAN_CFI));
    }
}

static void
dp_rewrite_ipv4(struct dp_packet *p, const struct flow *old,
                const struct flow *flow)
{
    struct ip_header *ip = dp_packet_l3(p);
    struct l4_csum l4c;
    uint16_t w_old, w_new;

    if (!ip || dp_packet_size(p) < (uint32_t) p->l3_ofs + IP_HEADER_LEN) {
        return;
    }
    l4c = dp_l4_pseudo_csum(p, flow, false);
    if (FIELD_CHANGED(old, flow, nw_src)) {
        uint32_t o = get_unaligned_u32(&ip->ip_src);

        ip->ip_csum = csum_update32(ip->ip_csum, o, flow->nw_src);
        l4_csum_update32(&l4c, o, flow->nw_src);
        put_unaligned_u32(&ip->ip_src, flow->nw_src);
    }
    if (FIELD_CHANGED(old, flow, nw_dst)) {
        uint32_t o = get_unaligned_u32(&ip->ip_dst);

        ip->ip_csum = csum_update32(ip->ip_csum, o, flow->nw_dst);
        l4_csum_update32(&l4c, o, flow->nw_dst);
        put_unaligned_u32(&ip->ip_dst, flow->nw_dst);
    }
    if (FIELD_CHANGED(old, flow, nw_tos)) {
        uint8_t *w = (uint8_t *) ip;

        w_old = get_unaligned_u16(w);
        w[1] = flow->nw_tos;
        w_new = get_unaligned_u16(w);
        ip->ip_csum = csum_update16(ip->ip_csum, w_old, w_new);
    }
    if (FIELD_CHANGED(old, flow, nw_ttl)) {
        uint8_t *w = (uint8_t *) ip + offsetof(struct ip_header, ip_ttl);

        w_old = get_unaligned_u16(w);
        w[0] = flow->nw_ttl;
        w_new = get_unaligned_u16(w);
        ip->ip_csum = csum_update16(ip->ip_csum, w_old, w_new);
    }
}

static void
dp_rewrite_ipv6(struct dp_packet *p, const struct flow *old,
                const struct flow *flow)
{
    struct ipv6_header *ip6 = dp_packet_l3(p);
    struct l4_csum l4c;

    if (!ip6 || dp_packet_size(p) < (uint32_t) p->l3_ofs + IPV6_HEADER_LEN) {
        return;
    }
    l4c = dp_l4_pseudo_csum(p, flow, true);
    if (FIELD_CHANGED(old, flow, ipv6_src)) {
        l4_csum_update128(&l4c, ip6->ip6_src, &flow->ipv6_src);
        memcpy(ip6->ip6_src, &flow->ipv6_src, 16);
    }
    if (FIELD_CHANGED(old, flow, ipv6_dst)) {
        l4_csum_update128(&l4c, ip6->ip6_dst, &flow->ipv6_dst);
        memcpy(ip6->ip6_dst, &flow->ipv6_dst, 16);
    }
    if (FIELD_CHANGED(old, flow, nw_tos)
        || FIELD_CHANGED(old, flow, ipv6_label)) {
        uint32_t vtc = ntohl(get_unaligned_u32(&ip6->ip6_vtc_flow));

        vtc = (vtc & 0xf0000000u) | ((uint32_t) flow->nw_tos << 20)
              | (ntohl(flow->ipv6_label) & IPV6_LABEL_MASK);
        put_unaligned_u32(&ip6->ip6_vtc_flow, htonl(vtc));
    }
    if (FIELD_CHANGED(old, flow, nw_ttl)) {
        ip6->ip6_hlim = flow->nw_ttl;
    }
}

static void
dp_rewrite_arp(struct dp_packet *p, const struct flow *old,
               const struct flow *flow)
{
    struct arp_eth_header *arp = dp_packet_l3(p);

    if (!arp
        || dp_packet_size(p) < (uint32_t) p->l3_ofs + ARP_ETH_HEADER_LEN) {
        return;
    }
    if (FIELD_CHANGED(old, flow, nw_proto)) {
        put_unaligned_u16(&arp->ar_op, htons(flow->nw_proto));
    }
    if (FIELD_CHANGED(old, flow, arp_sha)) {
        memcpy(&arp->ar_sha, &flow->arp_sha, ETH_ADDR_LEN);
    }
    if (FIELD_CHANGED(old, flow, nw_src)) {
        put_unaligned_u32(&arp->ar_spa, flow->nw_src);
    }
    if (FIELD_CHANGED(old, flow, arp_tha)) {
        memcpy(&arp->ar_tha, &flow->arp_tha, ETH_ADDR_LEN);
    }
    if (FIELD_CHANGED(old, flow, nw_dst)) {
        put_unaligned_u32(&arp->ar_tpa, flow->nw_dst);
    }
}

static void
dp_rewrite_ports(struct dp_packet *p, uint8_t *l4, uint8_t *csum_field,
                 const struct flow *old, const struct flow *flow, bool udp4)
{
    if (flow->tp_src != old->tp_src) {
        uint16_t o = get_unaligned_u16(l4);

        put_unaligned_u16(l4, flow->tp_src);
        if (csum_field) {
            l4_csum_update16_data(p, csum_field, o, flow->tp_src, udp4);
        }
    }
    if (flow->tp_dst != old->tp_dst) {
        uint16_t o = get_unaligned_u16(l4 + 2);

        put_unaligned_u16(l4 + 2, flow->tp_dst);
        if (csum_field) {
            l4_csum_update16_data(p, csum_field, o, flow->tp_dst, udp4);
        }
    }
}

static void
dp_rewrite_l4(struct dp_packet *p, const struct flow *old,
              const struct flow *flow)
{
    uint8_t *l4 = dp_packet_l4(p);
    uint32_t l4_size = dp_packet_l4_size(p);
    bool ipv4 = flow->dl_type == htons(ETH_TYPE_IP);
    bool ipv6 = flow->dl_type == htons(ETH_TYPE_IPV6);

    if (!l4 || !(ipv4 || ipv6) || (flow->nw_frag & FLOW_NW_FRAG_LATER)) {
        return;
    }
    switch (flow->nw_proto) {
    case IPPROTO_TCP:
        if (l4_size >= TCP_HEADER_LEN) {
            dp_rewrite_ports(p, l4, l4 + offsetof(struct tcp_header,
                                                  tcp_csum),
                             old, flow, false);
        }
        break;
    case IPPROTO_UDP:
        if (l4_size >= UDP_HEADER_LEN) {
            dp_rewrite_ports(p, l4, l4 + offsetof(struct udp_header,
                                                  udp_csum),
                             old, flow, ipv4);
        }
        break;
    case IPPROTO_SCTP:
        if (l4_size >= SCTP_HEADER_LEN) {
            dp_rewrite_ports(p, l4, NULL, old, flow, false);
            if (!dp_packet_l4_is_partial(p)) {
                uint8_t *f = l4 + offsetof(struct sctp_header, sctp_csum);

                put_unaligned_u32(f, 0);
                put_unaligned_u32(f, dp_execute_crc32c(l4, l4_size));
            }
        }
        break;
    case IPPROTO_ICMP:
    case IPPROTO_ICMPV6_:
        if ((flow->nw_proto == IPPROTO_ICMP) == ipv4
            && l4_size >= ICMP6_HEADER_LEN) {
            uint16_t o = get_unaligned_u16(l4);

            l4[0] = ntohs(flow->tp_src);
            l4[1] = ntohs(flow->tp_dst);
            l4_csum_update16_data(p, l4 + 2, o, get_unaligned_u16(l4), false);
        }
        break;
    default:
        break;
    }
}

void
dp_execute_set_masked(struct dp_packet *p, struct flow *flow,
                      const struct dpa_set_masked *sm)
{
    const uint8_t *value = (const uint8_t *) (sm + 1);
    const uint8_t *mask = value + sm->n;
    uint8_t *bytes = (uint8_t *) flow + sm->ofs;
    size_t ofs = sm->ofs, n = sm->n;
    struct flow old = *flow;

    for (size_t i = 0; i < n; i++) {
        bytes[i] = (bytes[i] & ~mask[i]) | (value[i] & mask[i]);
    }
    if (!memcmp(&old, flow, sizeof old)) {
        return;
    }
    if (FIELD_TOUCHED(ofs, n, dl_dst) || FIELD_TOUCHED(ofs, n, dl_src)) {
        dp_rewrite_l2(p, &old, flow);
    }
    if (FIELD_TOUCHED(ofs, n, vlans)) {
        dp_rewrite_vlans(p, &old, flow);
    }
    if (ofs < offsetof(struct flow, tcp_flags)
        && offsetof(struct flow, ipv6_src) < ofs + n) {
        /* The L3 fields: ipv6_src through arp_tha. */
        if (flow->dl_type == htons(ETH_TYPE_IP)) {
            dp_rewrite_ipv4(p, &old, flow);
        } else if (flow->dl_type == htons(ETH_TYPE_IPV6)) {
            dp_rewrite_ipv6(p, &old, flow);
        } else if (flow->dl_type == htons(ETH_TYPE_ARP)
                   || flow->dl_type == htons(ETH_TYPE_RARP)) {
            dp_rewrite_arp(p, &old, flow);
        }
    }
    if (FIELD_TOUCHED(ofs, n, tp_src) || FIELD_TOUCHED(ofs, n, tp_dst)) {
        dp_rewrite_l4(p, &old, flow);
    }
}

/* ---- VLAN ------------------------------------------------------------ */

int
dp_execute_push_vlan(struct dp_packet *p, struct flow *flow,
                     const struct dpa_push_vlan *pv)
{
    uint8_t *d;

    if (dp_packet_size(p) < ETH_HEADER_LEN) {
        return -EINVAL;
    }
    if (dp_packet_headroom(p) < VLAN_HEADER_LEN) {
        return -ENOSPC;
    }
    /* push_uninit shifts l3/l4/csum_start, which stay right: the bytes
     * behind the MAC addresses do not move. */
    d = dp_packet_push_uninit(p, VLAN_HEADER_LEN);
    memmove(d, d + VLAN_HEADER_LEN, 2 * ETH_ADDR_LEN);
    put_unaligned_u16(d + 2 * ETH_ADDR_LEN, pv->tpid);
    put_unaligned_u16(d + 2 * ETH_ADDR_LEN + 2, pv->tci & ~htons(VLAN_CFI));
    flow->vlans[1] = flow->vlans[0];
    flow->vlans[0].tpid = pv->tpid;
    flow->vlans[0].tci = pv->tci;
    return 0;
}

void
dp_execute_pop_vlan(struct dp_packet *p, struct flow *flow)
{
    uint8_t *d = dp_packet_data(p);
    uint32_t tag = 2 * ETH_ADDR_LEN;

    if (dp_packet_size(p) < ETH_HEADER_LEN + VLAN_HEADER_LEN
        || !is_vlan_tpid(get_unaligned_u16(d + tag))) {
        return;
    }
    memmove(d + VLAN_HEADER_LEN, d, 2 * ETH_ADDR_LEN);
    d = dp_packet_pull(p, VLAN_HEADER_LEN);
    flow->vlans[0] = flow->vlans[1];
    memset(&flow->vlans[1], 0, sizeof flow->vlans[1]);
    /* A third tag, which the flow could not hold, becomes the inner. */
    if (flow->vlans[0].tpid
        && dp_packet_size(p) >= ETH_HEADER_LEN + 2 * VLAN_HEADER_LEN
        && is_vlan_tpid(get_unaligned_u16(d + tag + VLAN_HEADER_LEN))) {
        flow->vlans[1].tpid = get_unaligned_u16(d + tag + VLAN_HEADER_LEN);
        flow->vlans[1].tci = get_unaligned_u16(d + tag + VLAN_HEADER_LEN + 2)
                             | htons(VLAN_CFI);
    }
}

/* ---- HASH, CRC32c ---------------------------------------------------- */

static uint32_t
fold_ipv6(const struct in6_addr *a)
{
    uint32_t w[4];

    memcpy(w, a, sizeof w);
    return hash_finish(hash_add(hash_add(hash_add(w[0], w[1]), w[2]),
                                w[3]), 16);
}

uint32_t
dp_execute_hash5(const struct flow *flow, uint32_t basis)
{
    uint32_t a, b, h = basis;

    if (flow->dl_type == htons(ETH_TYPE_IP)) {
        a = flow->nw_src;
        b = flow->nw_dst;
    } else if (flow->dl_type == htons(ETH_TYPE_IPV6)) {
        a = fold_ipv6(&flow->ipv6_src);
        b = fold_ipv6(&flow->ipv6_dst);
    } else {
        uint64_t s = 0, d = 0;

        memcpy(&s, &flow->dl_src, ETH_ADDR_LEN);
        memcpy(&d, &flow->dl_dst, ETH_ADDR_LEN);
        h = hash_add64(h, MIN(s, d));
        h = hash_add64(h, MAX(s, d));
        return hash_finish(h, flow->dl_type);
    }
    h = hash_add(h, MIN(a, b));
    h = hash_add(h, MAX(a, b));
    h = hash_add(h, flow->nw_proto);
    if (!(flow->nw_frag & FLOW_NW_FRAG_ANY)) {
        h = hash_add(h, MIN(flow->tp_src, flow->tp_dst));
        h = hash_add(h, MAX(flow->tp_src, flow->tp_dst));
    }
    return hash_finish(h, 13);
}

static uint32_t crc32c_table[256];
static bool crc32c_ready;

__attribute__((constructor)) static void
crc32c_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;

        for (int k = 0; k < 8; k++) {
            c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
        }
        crc32c_table[i] = c;
    }
    crc32c_ready = true;
}

uint32_t
dp_execute_crc32c(const void *data, size_t n)
{
    const uint8_t *p = data;
    uint32_t crc = 0xffffffffu;
    uint8_t out[4];
    uint32_t res;

    ts_assert(crc32c_ready);
    for (size_t i = 0; i < n; i++) {
        crc = crc32c_table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
    }
    crc = ~crc;
    /* SCTP stores the CRC least significant byte first. */
    out[0] = crc;
    out[1] = crc >> 8;
    out[2] = crc >> 16;
    out[3] = crc >> 24;
    memcpy(&res, out, sizeof res);
    return res;
}

/* ---- The interpreter ------------------------------------------------- */

static void
dp_exec_drop_batch(const struct dp_exec_ctx *ctx, struct dp_exec_batch *b,
                   enum dp_exec_drop reason)
{
    if (b->count) {
        ctx->ops->drop(ctx->aux, reason, b->count);
    }
    for (uint32_t i = 0; i < b->count; i++) {
        dp_packet_delete(b->packets[i]);
    }
    b->count = 0;
}

/* Cuts 'p' to 'max_len' bytes, dropping offload state that no longer
 * fits. */
static void
dp_exec_truncate(struct dp_packet *p, uint32_t max_len)
{
    if (dp_packet_size(p) <= max_len) {
        return;
    }
    dp_packet_set_size(p, max_len);
    p->ofl.gso_type = DP_GSO_NONE;
    p->ofl.gso_size = 0;
    p->ofl.flags &= ~(DP_OFL_CSUM_PARTIAL | DP_OFL_CSUM_VALID);
    if (p->l4_ofs != DP_PACKET_OFS_NONE && p->l4_ofs > max_len) {
        p->l4_ofs = DP_PACKET_OFS_NONE;
    }
    if (p->l3_ofs != DP_PACKET_OFS_NONE && p->l3_ofs > max_len) {
        p->l3_ofs = DP_PACKET_OFS_NONE;
    }
}

static void
dp_exec_output(const struct dp_exec_ctx *ctx, struct dp_exec_batch *b,
               uint32_t port_no, uint32_t trunc, bool last)
{
    if (last && !trunc && port_no != DPIF_PORT_IN_PORT
        && ctx->ops->output_batch) {
        ctx->ops->output_batch(ctx->aux, port_no, b->packets, b->count);
        b->count = 0;
        return;
    }
    for (uint32_t i = 0; i < b->count; i++) {
        struct dp_packet *p = b->packets[i];
        uint32_t port = port_no == DPIF_PORT_IN_PORT
                        ? b->flows[i]->in_port : port_no;

        if (!last) {
            p = ctx->ops->clone(ctx->aux, p);
            if (!p) {
                ctx->ops->drop(ctx->aux, DP_EXEC_DROP_NOMEM, 1);
                continue;
            }
        }
        if (trunc) {
            dp_exec_truncate(p, trunc);
        }
        ctx->ops->output(ctx->aux, port, p);
    }
    if (last) {
        b->count = 0;
    }
}

/* Copies 'b' into 'copy', flows into 'storage'.  Packets that cannot be
 * cloned are dropped and counted. */
static void
dp_exec_clone_batch(const struct dp_exec_ctx *ctx,
                    const struct dp_exec_batch *b, struct dp_exec_batch *copy,
                    struct flow storage[NETDEV_MAX_BURST])
{
    copy->count = 0;
    for (uint32_t i = 0; i < b->count; i++) {
        struct dp_packet *c = ctx->ops->clone(ctx->aux, b->packets[i]);

        if (!c) {
            ctx->ops->drop(ctx->aux, DP_EXEC_DROP_NOMEM, 1);
            continue;
        }
        storage[copy->count] = *b->flows[i];
        dp_exec_batch_add(copy, c, &storage[copy->count]);
    }
}

static void
dp_exec_recirc(const struct dp_exec_ctx *ctx, struct dp_exec_batch *b,
               uint32_t recirc_id, int depth, bool last)
{
    struct flow storage[NETDEV_MAX_BURST];
    struct dp_exec_batch copy;
    struct dp_exec_batch *rb = b;

    if (depth + 1 > DP_EXEC_MAX_RECIRC) {
        if (last) {
            dp_exec_drop_batch(ctx, b, DP_EXEC_DROP_RECIRC_DEPTH);
        } else {
            ctx->ops->drop(ctx->aux, DP_EXEC_DROP_RECIRC_DEPTH, b->count);
        }
        return;
    }
    if (!last) {
        dp_exec_clone_batch(ctx, b, &copy, storage);
        rb = &copy;
    }
    for (uint32_t i = 0; i < rb->count; i++) {
        rb->flows[i]->recirc_id = recirc_id;
    }
    if (rb->count) {
        ctx->ops->recirc(ctx->aux, rb, depth + 1);
    }
    rb->count = 0;
}

static void
dp_exec_ct_clear(struct dp_exec_batch *b)
{
    for (uint32_t i = 0; i < b->count; i++) {
        struct flow *f = b->flows[i];

        f->ct_state = 0;
        f->ct_zone = 0;
        f->ct_mark = 0;
        memset(f->ct_label, 0, sizeof f->ct_label);
        f->ct_nw_src = f->ct_nw_dst = 0;
        memset(&f->ct_ipv6_src, 0, sizeof f->ct_ipv6_src);
        memset(&f->ct_ipv6_dst, 0, sizeof f->ct_ipv6_dst);
        f->ct_tp_src = f->ct_tp_dst = 0;
        f->ct_nw_proto = 0;
        b->packets[i]->ct_conn = NULL;
    }
}

/* ---- Conntrack ---- */

static void
dp_exec_ct_args(const struct dpa_ct *a, struct ct_exec_args *args,
                struct ct_nat_action *nat)
{
    memset(args, 0, sizeof *args);
    args->zone = a->zone;
    args->commit = (a->flags & DPA_CT_F_COMMIT) != 0;
    args->force = (a->flags & DPA_CT_F_FORCE) != 0;
    args->mark = a->mark;
    args->mark_mask = a->mark_mask;
    memcpy(args->label, a->label, sizeof args->label);
    memcpy(args->label_mask, a->label_mask, sizeof args->label_mask);
    args->helper = a->alg == DPA_CT_ALG_FTP ? CT_ALG_FTP
                   : a->alg == DPA_CT_ALG_TFTP ? CT_ALG_TFTP : CT_ALG_NONE;
    if (!(a->nat_flags & DPA_CT_NAT)) {
        return;
    }
    memset(nat, 0, sizeof *nat);
    nat->flags = ((a->nat_flags & DPA_CT_NAT_SRC) ? CT_NAT_SRC : 0)
                 | ((a->nat_flags & DPA_CT_NAT_DST) ? CT_NAT_DST : 0)
                 | ((a->nat_flags & DPA_CT_NAT_PERSISTENT)
                    ? CT_NAT_PERSISTENT : 0)
                 | ((a->nat_flags & DPA_CT_NAT_HASH) ? CT_NAT_PROTO_HASH : 0)
                 | ((a->nat_flags & DPA_CT_NAT_RANDOM)
                    ? CT_NAT_PROTO_RANDOM : 0)
                 | ((a->nat_flags & DPA_CT_NAT_RANGE_ADDR)
                    ? CT_NAT_RANGE_ADDR : 0)
                 | ((a->nat_flags & DPA_CT_NAT_RANGE_PORT)
                    ? CT_NAT_RANGE_PORT : 0);
    nat->family = a->nat_family;
    if (a->nat_family == AF_INET) {
        memcpy(&nat->min_addr.ipv4, &a->addr_min, 4);
        memcpy(&nat->max_addr.ipv4, &a->addr_max, 4);
    } else {
        nat->min_addr.ipv6 = a->addr_min;
        nat->max_addr.ipv6 = a->addr_max;
    }
    nat->min_port = a->port_min;
    nat->max_port = a->port_max;
    args->nat = nat;
}

/* A datagram reassembled by ct_frag: tracks the view, then runs the rest
 * of the action list on its fragments (in slices of a batch) with the
 * view's ct results and metadata. */
static void
dp_exec_ct_datagram(const struct dp_exec_ctx *ctx,
                    const struct ct_exec_args *args, const void *rest,
                    size_t rest_len, int depth)
{
    struct ct_frag_result *res = ctx->frag_res;
    struct dp_packet *view = res->view;
    struct flow *view_flow = &res->flow;
    uint32_t n = res->n_frags;

    conntrack_execute(ctx->ct, &view, &view_flow, 1, args, ctx->now);
    if (ct_frag_result_finish(res)) {
        ctx->ops->drop(ctx->aux, DP_EXEC_DROP_INVALID, n);
        for (uint32_t i = 0; i < n; i++) {
            dp_packet_delete(res->frags[i]);
        }
        ct_frag_result_release(ctx->frag, res);
        return;
    }
    ct_frag_result_release(ctx->frag, res);
    for (uint32_t i = 0; i < n; ) {
        struct flow storage[NETDEV_MAX_BURST];
        struct dp_exec_batch sub;

        sub.count = 0;
        for (; i < n && sub.count < NETDEV_MAX_BURST; i++) {
            struct flow *f = &storage[sub.count];

            flow_extract(res->frags[i], f);
            /* Metadata and ct fields come first in struct flow. */
            memcpy(f, view_flow, offsetof(struct flow, dl_dst));
            res->frags[i]->ct_conn = NULL;
            dp_exec_batch_add(&sub, res->frags[i], f);
        }
        dp_execute_actions(ctx, &sub, rest, rest_len, depth);
    }
}

/* DPA_CT on 'b': non-fragments are tracked in one conntrack_execute()
 * call and stay in 'b'; fragments are taken out and handled by
 * ct_frag (see the top of dp-execute.h). */
static void
dp_exec_ct(const struct dp_exec_ctx *ctx, struct dp_exec_batch *b,
           const struct dpa_ct *a, const void *rest, size_t rest_len,
           int depth)
{
    struct ct_nat_action nat;
    struct ct_exec_args args;

    dp_exec_ct_args(a, &args, &nat);
    for (uint32_t i = 0; ctx->frag && i < b->count; ) {
        struct flow *f = b->flows[i];
        struct dp_packet *p = b->packets[i];
        enum ct_frag_verdict v;

        if (!(f->nw_frag & FLOW_NW_FRAG_ANY)) {
            i++;
            continue;
        }
        v = ct_frag_process(ctx->frag, p, f, a->zone, ctx->frag_res);
        if (v == CT_FRAG_NOT_FRAG || v == CT_FRAG_INVALID) {
            i++;            /* conntrack marks an invalid fragment +inv */
            continue;
        }
        /* Held, or part of the result now: out of the batch, unfreed. */
        memmove(&b->packets[i], &b->packets[i + 1],
                (b->count - i - 1) * sizeof b->packets[0]);
        memmove(&b->flows[i], &b->flows[i + 1],
                (b->count - i - 1) * sizeof b->flows[0]);
        b->count--;
        if (v == CT_FRAG_COMPLETE) {
            dp_exec_ct_datagram(ctx, &args, rest, rest_len, depth);
        }
    }
    if (b->count) {
        conntrack_execute(ctx->ct, b->packets, b->flows, b->count, &args,
                          ctx->now);
    }
}

/* Removes packet 'i' from 'b' (freeing it), keeping the order. */
static void
dp_exec_batch_remove(struct dp_exec_batch *b, uint32_t i)
{
    dp_packet_delete(b->packets[i]);
    memmove(&b->packets[i], &b->packets[i + 1],
            (b->count - i - 1) * sizeof b->packets[0]);
    memmove(&b->flows[i], &b->flows[i + 1],
            (b->count - i - 1) * sizeof b->flows[0]);
    b->count--;
}

void
dp_execute_actions(const struct dp_exec_ctx *ctx, struct dp_exec_batch *b,
                   const void *actions, size_t size, int depth)
{
    const uint8_t *end = (const uint8_t *) actions + size;
    const struct dp_action *a;
    uint32_t trunc = 0;

    DPA_FOR_EACH (a, actions, size) {
        bool last = (const uint8_t *) a + a->len >= end;

        if (!b->count) {
            return;
        }
        switch ((enum dp_action_type) a->type) {
        case DPA_OUTPUT: {
            uint32_t port;

            memcpy(&port, dpa_arg(a), sizeof port);
            dp_exec_output(ctx, b, port, trunc, last);
            trunc = 0;
            break;
        }
        case DPA_TRUNC:
            memcpy(&trunc, dpa_arg(a), sizeof trunc);
            break;
        case DPA_USERSPACE:
            for (uint32_t i = 0; i < b->count; i++) {
                ctx->ops->userspace(ctx->aux, b->packets[i], b->flows[i],
                                    dpa_arg(a));
            }
            break;
        case DPA_SET_MASKED: {
            const struct dpa_set_masked *sm = dpa_arg(a);
            bool l34 = sm->ofs + sm->n > offsetof(struct flow, dl_type);

            for (uint32_t i = 0; i < b->count; i++) {
                dp_execute_set_masked(b->packets[i], b->flows[i], sm);
                if (l34) {
                    conntrack_packet_invalidate(b->packets[i]);
                }
            }
            break;
        }
        case DPA_PUSH_VLAN:
            for (uint32_t i = 0; i < b->count; ) {
                int err = dp_execute_push_vlan(b->packets[i], b->flows[i],
                                               dpa_arg(a));

                if (err) {
                    ctx->ops->drop(ctx->aux, err == -ENOSPC
                                   ? DP_EXEC_DROP_NOMEM
                                   : DP_EXEC_DROP_INVALID, 1);
                    dp_exec_batch_remove(b, i);
                } else {
                    i++;
                }
            }
            break;
        case DPA_POP_VLAN:
            for (uint32_t i = 0; i < b->count; i++) {
                dp_execute_pop_vlan(b->packets[i], b->flows[i]);
            }
            break;
        case DPA_HASH: {
            uint32_t basis;

            memcpy(&basis, dpa_arg(a), sizeof basis);
            for (uint32_t i = 0; i < b->count; i++) {
                b->flows[i]->dp_hash = dp_execute_hash5(b->flows[i], basis);
            }
            break;
        }
        case DPA_RECIRC: {
            uint32_t id;

            memcpy(&id, dpa_arg(a), sizeof id);
            dp_exec_recirc(ctx, b, id, depth, last);
            break;
        }
        case DPA_CT:
            if (!ctx->ct) {
                /* No tracker: dropped and counted rather than forwarded
                 * as if untracked. */
                dp_exec_drop_batch(ctx, b, DP_EXEC_DROP_UNSUPPORTED);
                return;
            }
            if (a->len != dpa_len_for(sizeof(struct dpa_ct))) {
                dp_exec_drop_batch(ctx, b, DP_EXEC_DROP_INVALID);
                return;
            }
            dp_exec_ct(ctx, b, dpa_arg(a), (const uint8_t *) a + a->len,
                       end - ((const uint8_t *) a + a->len), depth);
            break;
        case DPA_CT_CLEAR:
            dp_exec_ct_clear(b);
            break;
        case DPA_CLONE: {
            const void *nested = dpa_arg(a);
            size_t nested_len = a->len - sizeof *a;

            if (last) {
                /* Nothing follows: the originals can serve as the
                 * copies. */
                dp_execute_actions(ctx, b, nested, nested_len, depth);
            } else {
                struct flow storage[NETDEV_MAX_BURST];
                struct dp_exec_batch copy;

                dp_exec_clone_batch(ctx, b, &copy, storage);
                dp_execute_actions(ctx, &copy, nested, nested_len, depth);
            }
            break;
        }
        default:
            /* dp_actions_validate() lets nothing else through. */
            dp_exec_drop_batch(ctx, b, DP_EXEC_DROP_INVALID);
            return;
        }
    }
    /* End of the list: what was not output is dropped (the "drop"
     * action), which is not an error. */
    for (uint32_t i = 0; i < b->count; i++) {
        dp_packet_delete(b->packets[i]);
    }
    b->count = 0;
}
