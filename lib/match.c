/* match: flow + wildcards, setters, prerequisites, OVS-style text. */
#include "match.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "dynamic-string.h"
#include "hash.h"
#include "meta-flow.h"
#include "ofp-port-map.h"
#include "util.h"

void
match_init_catchall(struct match *m)
{
    memset(&m->flow, 0, sizeof m->flow);
    flow_wildcards_init_catchall(&m->wc);
}

void
match_init_exact(struct match *m, const struct flow *flow)
{
    m->flow = *flow;
    flow_wildcards_init_exact(&m->wc);
    match_zero_wildcarded_fields(m);
}

void
match_zero_wildcarded_fields(struct match *m)
{
    flow_apply_mask(&m->flow, &m->flow, &m->wc);
}

bool
match_equal(const struct match *a, const struct match *b)
{
    return flow_equal(&a->flow, &b->flow)
           && flow_equal(&a->wc.masks, &b->wc.masks);
}

uint32_t
match_hash(const struct match *m, uint32_t basis)
{
    return flow_hash(&m->flow, flow_hash(&m->wc.masks, basis));
}

bool
(match_is_catchall)(const struct match *m)
{
    return flow_wildcards_is_catchall(&m->wc);
}

bool
match_matches_flow(const struct match *m, const struct flow *flow)
{
    return flow_equal_masked(&m->flow, flow, &m->wc);
}

/* Generic access. */

/* Clears the bits of the storage of 'mf' (and of the VLAN TCI, which some
 * fields also set) that the mask leaves out: what
 * match_zero_wildcarded_fields() would do after a change to those bytes
 * only, in a match that was normalized before. */
static void
zero_wildcarded_storage(struct match *m, const struct mf_field *mf)
{
    uint8_t *f = (uint8_t *) &m->flow + mf->flow_ofs;
    const uint8_t *w = (const uint8_t *) &m->wc.masks + mf->flow_ofs;

    for (unsigned int i = 0; i < mf->flow_len; i++) {
        f[i] &= w[i];
    }
    m->flow.vlans[0].tci &= m->wc.masks.vlans[0].tci;
}

void
match_set_field(struct match *m, const struct mf_field *mf,
                const union mf_value *value, const union mf_value *mask)
{
    union mf_value ones;

    if (!mask) {
        mf_all_ones(mf, &ones);
        mask = &ones;
    }
    switch (mf->id) {
    case MFF_DL_VLAN:
    case MFF_DL_VLAN_PCP:
    case MFF_VLAN_PCP:
        /* OVS semantics: matching the VID or PCP also means "a tag is
         * present". */
        m->wc.masks.vlans[0].tci |= htons(VLAN_CFI);
        m->flow.vlans[0].tci |= htons(VLAN_CFI);
        break;
    default:
        break;
    }
    mf_set_mask(mf, mask, &m->wc);
    mf_set_flow_value_masked(mf, value, mask, &m->flow);
    zero_wildcarded_storage(m, mf);
}

void
match_clear_field(struct match *m, const struct mf_field *mf)
{
    union mf_value zero;

    memset(&zero, 0, sizeof zero);
    mf_set_mask(mf, &zero, &m->wc);
    match_zero_wildcarded_fields(m);
}

/* True if any mask bit of the storage of 'mf' is set: a cheap necessary
 * condition for match_has_field(). */
static bool
storage_is_masked(const struct match *m, const struct mf_field *mf)
{
    const uint8_t *p = (const uint8_t *) &m->wc.masks + mf->flow_ofs;

    for (unsigned int i = 0; i < mf->flow_len; i++) {
        if (p[i]) {
            return true;
        }
    }
    return false;
}

bool
match_has_field(const struct match *m, const struct mf_field *mf)
{
    union mf_value mask;

    if (!storage_is_masked(m, mf)) {
        return false;
    }
    mf_get_mask(mf, &m->wc, &mask);
    return !mf_is_zero(mf, &mask);
}

/* Fields with prerequisites, and the fields that share each field's
 * storage, for match_check_prereqs().  Built once, then read-only. */
struct prereq_table {
    size_t n;
    uint8_t ids[MFF_N_IDS];             /* fields with a prerequisite */
    uint64_t words[MFF_N_IDS];          /* by id: mask words overlapped */
    uint8_t same_ofs_next[MFF_N_IDS];   /* by id: ring of equal flow_ofs */
};
BUILD_ASSERT(MFF_N_IDS <= UINT8_MAX);

static struct prereq_table prereq_table;
static pthread_once_t prereq_table_once = PTHREAD_ONCE_INIT;

/* Bit i set for each mask word i that the storage of 'mf' overlaps. */
static uint64_t
field_word_map(const struct mf_field *mf)
{
    unsigned int first = mf->flow_ofs / 8;
    unsigned int last = (mf->flow_ofs + mf->flow_len - 1) / 8;

    return ((UINT64_C(2) << last) - 1) & ~((UINT64_C(1) << first) - 1);
}

static void
prereq_table_init(void)
{
    struct prereq_table *t = &prereq_table;

    for (int i = 0; i < MFF_N_IDS; i++) {
        const struct mf_field *mf = mf_from_id(i);
        int next = i;

        t->words[i] = field_word_map(mf);
        if (mf->prereq != MFP_NONE) {
            t->ids[t->n++] = i;
        }
        /* The next field (cyclically) stored at the same offset. */
        for (int k = 1; k < MFF_N_IDS; k++) {
            int j = (i + k) % MFF_N_IDS;

            if (mf_from_id(j)->flow_ofs == mf->flow_ofs) {
                next = j;
                break;
            }
        }
        t->same_ofs_next[i] = next;
    }
}

/* True if some field stored where 'mf' is stored, overlapping the bits
 * the match uses there, has its prerequisites met. */
static bool
storage_prereqs_ok(const struct match *m, const struct mf_field *mf)
{
    int i = mf->id;

    do {
        const struct mf_field *other = mf_from_id(i);

        if (match_has_field(m, other)
            && mf_are_match_prereqs_ok(other, m)) {
            return true;
        }
        i = prereq_table.same_ofs_next[i];
    } while (i != (int) mf->id);
    return false;
}

/* Bit i set if mask word i of 'm' is non-zero. */
static uint64_t
mask_word_map(const struct match *m)
{
    const uint64_t *w = flow_u64(&m->wc.masks);
    uint64_t map = 0;

    for (size_t i = 0; i < FLOW_U64S; i++) {
        map |= (uint64_t) (w[i] != 0) << i;
    }
    return map;
}

char *
match_check_prereqs(const struct match *m)
{
    const struct prereq_table *t = &prereq_table;
    uint64_t map = mask_word_map(m);

    pthread_once(&prereq_table_once, prereq_table_init);
    for (size_t i = 0; map && i < t->n; i++) {
        const struct mf_field *mf = mf_from_id(t->ids[i]);

        if ((map & t->words[mf->id])
            && match_has_field(m, mf) && !storage_prereqs_ok(m, mf)) {
            return xasprintf("prerequisites not met for '%s' (needs %s)",
                             mf->extra_name ? mf->extra_name : mf->name,
                             mf_prereq_string(mf->prereq));
        }
    }
    return NULL;
}

/* Typed setters. */

static void
set_u32(struct match *m, enum mf_field_id id, uint32_t v, uint32_t mask)
{
    union mf_value value, msk;

    memset(&value, 0, sizeof value);
    memset(&msk, 0, sizeof msk);
    value.u32 = v;
    msk.u32 = mask;
    match_set_field(m, mf_from_id(id), &value, &msk);
}

void
match_set_in_port(struct match *m, uint32_t port)
{
    set_u32(m, MFF_IN_PORT, port, UINT32_MAX);
}

void
match_set_recirc_id(struct match *m, uint32_t id)
{
    set_u32(m, MFF_RECIRC_ID, id, UINT32_MAX);
}

void
match_set_dp_hash_masked(struct match *m, uint32_t v, uint32_t mask)
{
    set_u32(m, MFF_DP_HASH, v, mask);
}

void
match_set_pkt_mark_masked(struct match *m, uint32_t v, uint32_t mask)
{
    set_u32(m, MFF_PKT_MARK, v, mask);
}

void
match_set_metadata_masked(struct match *m, uint64_t v, uint64_t mask)
{
    m->wc.masks.metadata = mask;
    m->flow.metadata = v & mask;
}

void
match_set_reg(struct match *m, unsigned int idx, uint32_t v)
{
    match_set_reg_masked(m, idx, v, UINT32_MAX);
}

void
match_set_reg_masked(struct match *m, unsigned int idx, uint32_t v,
                     uint32_t mask)
{
    ts_assert(idx < FLOW_N_REGS);
    m->wc.masks.regs[idx] = mask;
    m->flow.regs[idx] = v & mask;
}

void
match_set_ct_state_masked(struct match *m, uint16_t v, uint16_t mask)
{
    m->wc.masks.ct_state = mask;
    m->flow.ct_state = v & mask;
}

void
match_set_ct_zone(struct match *m, uint16_t zone)
{
    m->wc.masks.ct_zone = UINT16_MAX;
    m->flow.ct_zone = zone;
}

void
match_set_ct_mark_masked(struct match *m, uint32_t v, uint32_t mask)
{
    m->wc.masks.ct_mark = mask;
    m->flow.ct_mark = v & mask;
}

void
match_set_dl_type(struct match *m, uint16_t be_type)
{
    m->wc.masks.dl_type = UINT16_MAX;
    m->flow.dl_type = be_type;
}

static void
set_eth_masked(struct eth_addr *v, struct eth_addr *mv, struct eth_addr a,
               struct eth_addr mask)
{
    for (int i = 0; i < ETH_ADDR_LEN; i++) {
        mv->ea[i] = mask.ea[i];
        v->ea[i] = a.ea[i] & mask.ea[i];
    }
}

static const struct eth_addr eth_ones = { { 0xff, 0xff, 0xff, 0xff, 0xff,
                                            0xff } };

void
match_set_dl_src(struct match *m, struct eth_addr a)
{
    match_set_dl_src_masked(m, a, eth_ones);
}

void
match_set_dl_src_masked(struct match *m, struct eth_addr a,
                        struct eth_addr mask)
{
    set_eth_masked(&m->flow.dl_src, &m->wc.masks.dl_src, a, mask);
}

void
match_set_dl_dst(struct match *m, struct eth_addr a)
{
    match_set_dl_dst_masked(m, a, eth_ones);
}

void
match_set_dl_dst_masked(struct match *m, struct eth_addr a,
                        struct eth_addr mask)
{
    set_eth_masked(&m->flow.dl_dst, &m->wc.masks.dl_dst, a, mask);
}

void
match_set_vlan_tci_masked(struct match *m, uint16_t tci, uint16_t mask)
{
    m->wc.masks.vlans[0].tci = mask;
    m->flow.vlans[0].tci = tci & mask;
}

void
match_set_dl_vlan(struct match *m, uint16_t vid)
{
    union mf_value v;

    memset(&v, 0, sizeof v);
    v.be16 = htons(vid & VLAN_VID_MASK);
    match_set_field(m, mf_from_id(MFF_DL_VLAN), &v, NULL);
}

void
match_set_dl_vlan_pcp(struct match *m, uint8_t pcp)
{
    union mf_value v;

    memset(&v, 0, sizeof v);
    v.u8 = pcp & 7;
    match_set_field(m, mf_from_id(MFF_DL_VLAN_PCP), &v, NULL);
}

void
match_set_nw_src_masked(struct match *m, uint32_t ip, uint32_t mask)
{
    m->wc.masks.nw_src = mask;
    m->flow.nw_src = ip & mask;
}

void
match_set_nw_dst_masked(struct match *m, uint32_t ip, uint32_t mask)
{
    m->wc.masks.nw_dst = mask;
    m->flow.nw_dst = ip & mask;
}

static void
set_ipv6_masked(struct in6_addr *v, struct in6_addr *mv,
                const struct in6_addr *a, const struct in6_addr *mask)
{
    for (int i = 0; i < 16; i++) {
        mv->s6_addr[i] = mask->s6_addr[i];
        v->s6_addr[i] = a->s6_addr[i] & mask->s6_addr[i];
    }
}

void
match_set_ipv6_src_masked(struct match *m, const struct in6_addr *a,
                          const struct in6_addr *mask)
{
    set_ipv6_masked(&m->flow.ipv6_src, &m->wc.masks.ipv6_src, a, mask);
}

void
match_set_ipv6_dst_masked(struct match *m, const struct in6_addr *a,
                          const struct in6_addr *mask)
{
    set_ipv6_masked(&m->flow.ipv6_dst, &m->wc.masks.ipv6_dst, a, mask);
}

void
match_set_nw_proto(struct match *m, uint8_t proto)
{
    m->wc.masks.nw_proto = UINT8_MAX;
    m->flow.nw_proto = proto;
}

void
match_set_nw_tos(struct match *m, uint8_t tos)
{
    m->wc.masks.nw_tos |= IP_DSCP_MASK;
    m->flow.nw_tos = (m->flow.nw_tos & ~IP_DSCP_MASK) | (tos & IP_DSCP_MASK);
}

void
match_set_nw_ecn(struct match *m, uint8_t ecn)
{
    m->wc.masks.nw_tos |= IP_ECN_MASK;
    m->flow.nw_tos = (m->flow.nw_tos & ~IP_ECN_MASK) | (ecn & IP_ECN_MASK);
}

void
match_set_nw_ttl(struct match *m, uint8_t ttl)
{
    m->wc.masks.nw_ttl = UINT8_MAX;
    m->flow.nw_ttl = ttl;
}

void
match_set_nw_frag_masked(struct match *m, uint8_t frag, uint8_t mask)
{
    m->wc.masks.nw_frag = mask;
    m->flow.nw_frag = frag & mask;
}

void
match_set_tp_src_masked(struct match *m, uint16_t port, uint16_t mask)
{
    m->wc.masks.tp_src = mask;
    m->flow.tp_src = port & mask;
}

void
match_set_tp_dst_masked(struct match *m, uint16_t port, uint16_t mask)
{
    m->wc.masks.tp_dst = mask;
    m->flow.tp_dst = port & mask;
}

void
match_set_tcp_flags_masked(struct match *m, uint16_t flags, uint16_t mask)
{
    m->wc.masks.tcp_flags = mask;
    m->flow.tcp_flags = flags & mask;
}

void
match_set_icmp_type(struct match *m, uint8_t type)
{
    match_set_tp_src_masked(m, htons(type), UINT16_MAX);
}

void
match_set_icmp_code(struct match *m, uint8_t code)
{
    match_set_tp_dst_masked(m, htons(code), UINT16_MAX);
}

/* Formatting, in Open vSwitch's order and spelling. */

static void
format_u32_masked(struct ds *s, const char *name, uint32_t v, uint32_t m)
{
    if (m) {
        ds_put_format(s, "%s=%#"PRIx32, name, v);
        if (m != UINT32_MAX) {
            ds_put_format(s, "/%#"PRIx32, m);
        }
        ds_put_char(s, ',');
    }
}

static void
format_u64_masked(struct ds *s, const char *name, uint64_t v, uint64_t m)
{
    if (m) {
        ds_put_format(s, "%s=%#"PRIx64, name, v);
        if (m != UINT64_MAX) {
            ds_put_format(s, "/%#"PRIx64, m);
        }
        ds_put_char(s, ',');
    }
}

static void
format_u16_masked(struct ds *s, const char *name, uint16_t v, uint16_t m)
{
    if (m) {
        if (m == UINT16_MAX) {
            ds_put_format(s, "%s=%"PRIu16",", name, v);
        } else {
            ds_put_format(s, "%s=0x%"PRIx16"/0x%"PRIx16",", name, v, m);
        }
    }
}

static void
format_be16_masked(struct ds *s, const char *name, uint16_t v, uint16_t m)
{
    format_u16_masked(s, name, ntohs(v), ntohs(m));
}

/* Formats field 'id' via meta-flow if any bit of it is matched. */
static void
format_field(struct ds *s, const char *name, enum mf_field_id id,
             const struct match *m, const struct ofp_port_map *port_map)
{
    const struct mf_field *mf = mf_from_id(id);
    union mf_value value, mask;

    mf_get_mask(mf, &m->wc, &mask);
    if (mf_is_zero(mf, &mask)) {
        return;
    }
    mf_get_value(mf, &m->flow, &value);
    ds_put_format(s, "%s=", name);
    mf_format(mf, &value, &mask, port_map, s);
    ds_put_char(s, ',');
}

static void
format_vlan(struct ds *s, const struct flow *f, const struct flow *w)
{
    uint16_t mask = ntohs(w->vlans[0].tci);
    uint16_t tci = ntohs(f->vlans[0].tci);
    uint16_t vid_mask = mask & VLAN_VID_MASK;
    uint16_t pcp_mask = mask & VLAN_PCP_MASK;

    if (!mask) {
        return;
    }
    if ((mask & VLAN_CFI) && (tci & VLAN_CFI)
        && (!vid_mask || vid_mask == VLAN_VID_MASK)
        && (!pcp_mask || pcp_mask == VLAN_PCP_MASK)
        && (vid_mask || pcp_mask)) {
        if (vid_mask) {
            ds_put_format(s, "dl_vlan=%u,", tci & VLAN_VID_MASK);
        }
        if (pcp_mask) {
            ds_put_format(s, "dl_vlan_pcp=%u,", tci >> VLAN_PCP_SHIFT);
        }
    } else if (mask == 0xffff) {
        ds_put_format(s, "vlan_tci=0x%04"PRIx16",", tci);
    } else {
        ds_put_format(s, "vlan_tci=0x%04"PRIx16"/0x%04"PRIx16",", tci,
                      mask);
    }
}

static void
format_frag(struct ds *s, uint8_t frag, uint8_t mask)
{
    switch (mask) {
    case FLOW_NW_FRAG_ANY | FLOW_NW_FRAG_LATER:
        ds_put_format(s, "nw_frag=%s,",
                      frag & FLOW_NW_FRAG_ANY
                      ? (frag & FLOW_NW_FRAG_LATER ? "later" : "first")
                      : (frag & FLOW_NW_FRAG_LATER ? "<error>" : "no"));
        break;
    case FLOW_NW_FRAG_ANY:
        ds_put_format(s, "nw_frag=%s,",
                      frag & FLOW_NW_FRAG_ANY ? "yes" : "no");
        break;
    case FLOW_NW_FRAG_LATER:
        ds_put_format(s, "nw_frag=%s,",
                      frag & FLOW_NW_FRAG_LATER ? "later" : "not_later");
        break;
    }
}

/* Protocol shorthand: sets *skip_type / *skip_proto when the shorthand
 * stands for dl_type / nw_proto. */
static void
format_shorthand(struct ds *s, const struct flow *f, const struct flow *w,
                 bool *skip_type, bool *skip_proto)
{
    uint16_t type = ntohs(f->dl_type);
    const char *name = NULL;

    *skip_type = *skip_proto = false;
    if (!w->dl_type) {
        return;
    }
    *skip_type = true;
    if (type == ETH_TYPE_IP || type == ETH_TYPE_IPV6) {
        bool v4 = type == ETH_TYPE_IP;

        if (w->nw_proto) {
            *skip_proto = true;
            switch (f->nw_proto) {
            case IPPROTO_ICMP:
                name = v4 ? "icmp" : NULL;
                break;
            case IPPROTO_ICMPV6_:
                name = v4 ? NULL : "icmp6";
                break;
            case IPPROTO_TCP:
                name = v4 ? "tcp" : "tcp6";
                break;
            case IPPROTO_UDP:
                name = v4 ? "udp" : "udp6";
                break;
            case IPPROTO_SCTP:
                name = v4 ? "sctp" : "sctp6";
                break;
            }
        }
        if (!name) {
            *skip_proto = false;
            name = v4 ? "ip" : "ipv6";
        }
    } else if (type == ETH_TYPE_ARP) {
        name = "arp";
    } else if (type == ETH_TYPE_RARP) {
        name = "rarp";
    } else {
        *skip_type = false;
        return;
    }
    ds_put_format(s, "%s,", name);
}

static void
format_ct(struct ds *s, const struct match *m)
{
    const struct flow *f = &m->flow, *w = &m->wc.masks;

    format_field(s, "ct_state", MFF_CT_STATE, m, NULL);
    format_u16_masked(s, "ct_zone", f->ct_zone, w->ct_zone);
    format_u32_masked(s, "ct_mark", f->ct_mark, w->ct_mark);
    format_field(s, "ct_label", MFF_CT_LABEL, m, NULL);
    if (f->dl_type == htons(ETH_TYPE_IP)) {
        format_field(s, "ct_nw_src", MFF_CT_NW_SRC, m, NULL);
        format_field(s, "ct_nw_dst", MFF_CT_NW_DST, m, NULL);
    } else if (f->dl_type == htons(ETH_TYPE_IPV6)) {
        format_field(s, "ct_ipv6_src", MFF_CT_IPV6_SRC, m, NULL);
        format_field(s, "ct_ipv6_dst", MFF_CT_IPV6_DST, m, NULL);
    }
    if (w->ct_nw_proto) {
        ds_put_format(s, "ct_nw_proto=%"PRIu8",", f->ct_nw_proto);
    }
    format_be16_masked(s, "ct_tp_src", f->ct_tp_src, w->ct_tp_src);
    format_be16_masked(s, "ct_tp_dst", f->ct_tp_dst, w->ct_tp_dst);
}

static void
format_l3(struct ds *s, const struct match *m, uint16_t type,
          bool skip_proto)
{
    const struct flow *f = &m->flow, *w = &m->wc.masks;
    bool arp = type == ETH_TYPE_ARP || type == ETH_TYPE_RARP;

    if (type == ETH_TYPE_IPV6) {
        format_field(s, "ipv6_src", MFF_IPV6_SRC, m, NULL);
        format_field(s, "ipv6_dst", MFF_IPV6_DST, m, NULL);
        if (w->ipv6_label) {
            if (w->ipv6_label == htonl(IPV6_LABEL_MASK)) {
                ds_put_format(s, "ipv6_label=0x%05"PRIx32",",
                              ntohl(f->ipv6_label));
            } else {
                ds_put_format(s, "ipv6_label=0x%05"PRIx32"/0x%05"PRIx32",",
                              ntohl(f->ipv6_label), ntohl(w->ipv6_label));
            }
        }
    } else if (arp) {
        format_field(s, "arp_spa", MFF_ARP_SPA, m, NULL);
        format_field(s, "arp_tpa", MFF_ARP_TPA, m, NULL);
    } else {
        format_field(s, "nw_src", MFF_NW_SRC, m, NULL);
        format_field(s, "nw_dst", MFF_NW_DST, m, NULL);
    }
    if (!skip_proto && w->nw_proto) {
        ds_put_format(s, "%s=%"PRIu8",", arp ? "arp_op" : "nw_proto",
                      f->nw_proto);
    }
    if (arp) {
        format_field(s, "arp_sha", MFF_ARP_SHA, m, NULL);
        format_field(s, "arp_tha", MFF_ARP_THA, m, NULL);
    }
    if (w->nw_tos & IP_DSCP_MASK) {
        ds_put_format(s, "nw_tos=%d,", f->nw_tos & IP_DSCP_MASK);
    }
    if (w->nw_tos & IP_ECN_MASK) {
        ds_put_format(s, "nw_ecn=%d,", f->nw_tos & IP_ECN_MASK);
    }
    if (w->nw_ttl) {
        ds_put_format(s, "nw_ttl=%d,", f->nw_ttl);
    }
    format_frag(s, f->nw_frag, w->nw_frag);
}

static void
format_l4(struct ds *s, const struct match *m, uint16_t type)
{
    const struct flow *f = &m->flow, *w = &m->wc.masks;

    if (type == ETH_TYPE_IP && f->nw_proto == IPPROTO_ICMP) {
        format_be16_masked(s, "icmp_type", f->tp_src, w->tp_src);
        format_be16_masked(s, "icmp_code", f->tp_dst, w->tp_dst);
    } else if (type == ETH_TYPE_IPV6 && f->nw_proto == IPPROTO_ICMPV6_) {
        format_be16_masked(s, "icmp_type", f->tp_src, w->tp_src);
        format_be16_masked(s, "icmp_code", f->tp_dst, w->tp_dst);
        format_field(s, "nd_target", MFF_ND_TARGET, m, NULL);
        format_field(s, "nd_sll", MFF_ND_SLL, m, NULL);
        format_field(s, "nd_tll", MFF_ND_TLL, m, NULL);
    } else {
        format_be16_masked(s, "tp_src", f->tp_src, w->tp_src);
        format_be16_masked(s, "tp_dst", f->tp_dst, w->tp_dst);
    }
    if ((type == ETH_TYPE_IP || type == ETH_TYPE_IPV6)
        && f->nw_proto == IPPROTO_TCP && w->tcp_flags) {
        format_field(s, "tcp_flags", MFF_TCP_FLAGS, m, NULL);
    }
}

void
(match_format)(struct ds *s, const struct match *m, int priority,
               const struct ofp_port_map *port_map)
{
    const struct flow *f = &m->flow, *w = &m->wc.masks;
    size_t start = s->length;
    bool skip_type, skip_proto;
    uint16_t type = w->dl_type ? ntohs(f->dl_type) : 0;

    if (priority != OFP_DEFAULT_PRIORITY) {
        ds_put_format(s, "priority=%d,", priority);
    }
    format_u32_masked(s, "pkt_mark", f->pkt_mark, w->pkt_mark);
    format_u32_masked(s, "recirc_id", f->recirc_id, w->recirc_id);
    format_u32_masked(s, "dp_hash", f->dp_hash, w->dp_hash);
    format_ct(s, m);
    format_shorthand(s, f, w, &skip_type, &skip_proto);
    for (int i = 0; i < FLOW_N_REGS; i++) {
        char name[16];

        snprintf(name, sizeof name, "reg%d", i);
        format_u32_masked(s, name, f->regs[i], w->regs[i]);
    }
    format_u64_masked(s, "metadata", f->metadata, w->metadata);
    if (w->in_port) {
        ds_put_cstr(s, "in_port=");
        ofp_port_format(f->in_port, port_map, s);
        ds_put_char(s, ',');
    }
    format_vlan(s, f, w);
    format_field(s, "dl_src", MFF_DL_SRC, m, NULL);
    format_field(s, "dl_dst", MFF_DL_DST, m, NULL);
    if (!skip_type && w->dl_type) {
        ds_put_format(s, "dl_type=0x%04"PRIx16",", ntohs(f->dl_type));
    }
    format_l3(s, m, type, skip_proto);
    format_l4(s, m, type);
    if (s->length > start) {
        ds_chomp(s, ',');
    }
}

char *
match_to_string(const struct match *m, int priority,
                const struct ofp_port_map *port_map)
{
    struct ds s = DS_EMPTY_INITIALIZER;

    match_format(&s, m, priority, port_map);
    return ds_steal_cstr(&s);
}

/* minimatch. */

size_t
minimatch_storage_words(const struct match *m)
{
    const uint64_t *w = flow_u64(&m->wc.masks);
    size_t n = 0;

    for (size_t i = 0; i < FLOW_U64S; i++) {
        n += w[i] != 0;
    }
    return 2 * n;
}

void
minimatch_init(struct minimatch *mm, const struct match *m)
{
    size_t n = minimatch_storage_words(m);

    minimatch_init_in(mm, m, n ? xmalloc(n * sizeof *mm->words) : NULL);
}

void
minimatch_init_in(struct minimatch *mm, const struct match *m,
                  uint64_t *storage)
{
    const uint64_t *f = flow_u64(&m->flow);
    const uint64_t *w = flow_u64(&m->wc.masks);
    unsigned int n = 0, k = 0;

    mm->map = 0;
    for (size_t i = 0; i < FLOW_U64S; i++) {
        if (w[i]) {
            mm->map |= UINT64_C(1) << i;
            n++;
        }
    }
    mm->words = n ? storage : NULL;
    for (size_t i = 0; i < FLOW_U64S; i++) {
        if (w[i]) {
            mm->words[k] = f[i] & w[i];
            mm->words[n + k] = w[i];
            k++;
        }
    }
}

void
minimatch_destroy(struct minimatch *mm)
{
    if (mm) {
        free(mm->words);
        mm->words = NULL;
        mm->map = 0;
    }
}

/* Scatters the packed words 'src' (one per bit of 'map') into 'dst',
 * which is zeroed first. */
static void
scatter_words(uint64_t map, const uint64_t *src, uint64_t *dst)
{
    memset(dst, 0, sizeof(struct flow));
    for (; map; map &= map - 1) {
        dst[__builtin_ctzll(map)] = *src++;
    }
}

void
minimatch_expand_flow(const struct minimatch *mm, struct flow *flow)
{
    scatter_words(mm->map, minimatch_flow_words(mm), flow_u64_rw(flow));
}

void
minimatch_expand_mask(const struct minimatch *mm, struct flow_wildcards *wc)
{
    scatter_words(mm->map, minimatch_mask_words(mm),
                  flow_u64_rw(&wc->masks));
}

void
minimatch_expand(const struct minimatch *mm, struct match *m)
{
    minimatch_expand_flow(mm, &m->flow);
    minimatch_expand_mask(mm, &m->wc);
}

bool
minimatch_is_catchall(const struct minimatch *mm)
{
    return !mm->map;
}

bool
minimatch_equal(const struct minimatch *a, const struct minimatch *b)
{
    return a->map == b->map
           && (!a->map || !memcmp(a->words, b->words,
                                  2 * minimatch_n_words(a)
                                  * sizeof *a->words));
}

bool
minimatch_equal_match(const struct minimatch *mm, const struct match *m)
{
    const uint64_t *f = flow_u64(&m->flow);
    const uint64_t *w = flow_u64(&m->wc.masks);
    const uint64_t *mf = minimatch_flow_words(mm);
    const uint64_t *mw = minimatch_mask_words(mm);
    unsigned int k = 0;

    for (size_t i = 0; i < FLOW_U64S; i++) {
        if (mm->map & (UINT64_C(1) << i)) {
            if (w[i] != mw[k] || (f[i] & w[i]) != mf[k]) {
                return false;
            }
            k++;
        } else if (w[i]) {
            return false;
        }
    }
    return true;
}

bool
minimatch_matches_flow(const struct minimatch *mm, const struct flow *flow)
{
    const uint64_t *f = flow_u64(flow);
    const uint64_t *mf = minimatch_flow_words(mm);
    const uint64_t *mw = minimatch_mask_words(mm);
    unsigned int k = 0;

    for (uint64_t map = mm->map; map; map &= map - 1, k++) {
        if ((f[__builtin_ctzll(map)] & mw[k]) != mf[k]) {
            return false;
        }
    }
    return true;
}

bool
minimatch_is_loose_match(const struct minimatch *mm,
                         const struct match *target)
{
    const uint64_t *mf = minimatch_flow_words(mm);
    const uint64_t *mw = minimatch_mask_words(mm);
    const uint64_t *tm, *tf;
    unsigned int k = 0;

    if (!target) {
        return true;
    }
    tm = flow_u64(&target->wc.masks);
    tf = flow_u64(&target->flow);
    for (size_t i = 0; i < FLOW_U64S; i++) {
        uint64_t rm = 0, rf = 0;

        if (mm->map & (UINT64_C(1) << i)) {
            rm = mw[k];
            rf = mf[k];
            k++;
        }
        if ((tm[i] & ~rm) || ((rf ^ tf[i]) & tm[i])) {
            return false;
        }
    }
    return true;
}

void
minimatch_format(struct ds *s, const struct minimatch *mm, int priority,
                 const struct ofp_port_map *port_map)
{
    struct match m;

    minimatch_expand(mm, &m);
    (match_format)(s, &m, priority, port_map);
}
