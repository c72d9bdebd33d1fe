/* meta-flow: field table, value access, prerequisites, text. */
#include "meta-flow.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <endian.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "dynamic-string.h"
#include "match.h"
#include "ofp-port-map.h"
#include "util.h"

#define FOFS(MEMBER) ((uint16_t) offsetof(struct flow, MEMBER))
#define FLEN(MEMBER) ((uint16_t) sizeof(((struct flow *) 0)->MEMBER))
#define AT(MEMBER) FOFS(MEMBER), FLEN(MEMBER)

/* Columns: id, name, alias, nxm name, n_bytes, n_bits, storage,
 * maskable, string, prereq, writable, host_order. */
#define F(...) F_(__VA_ARGS__)
#define F_(ID, NAME, ALIAS, NXM, BYTES, BITS, OFS, LEN, MASK, STR, PRE, W, H) \
    [ID] = { ID, NAME, ALIAS, NXM, BYTES, BITS, OFS, LEN, MASK, STR, PRE,  \
             W, H }

#define REG(N)                                                           \
    F(MFF_REG##N, "reg" #N, NULL, "NXM_NX_REG" #N, 4, 32,                \
      FOFS(regs[N]), 4, MFM_FULLY, MFS_HEXADECIMAL, MFP_NONE, true, true)
#define XREG(N)                                                          \
    F(MFF_XREG##N, "xreg" #N, NULL, "OXM_OF_PKT_REG" #N, 8, 64,          \
      FOFS(regs[2 * N]), 8, MFM_FULLY, MFS_HEXADECIMAL, MFP_NONE, true,  \
      true)

static const struct mf_field mf_fields[MFF_N_IDS] = {
    F(MFF_RECIRC_ID, "recirc_id", NULL, "NXM_NX_RECIRC_ID", 4, 32,
      AT(recirc_id), MFM_NONE, MFS_DECIMAL, MFP_NONE, false, true),
    F(MFF_DP_HASH, "dp_hash", NULL, "NXM_NX_DP_HASH", 4, 32,
      AT(dp_hash), MFM_FULLY, MFS_HEXADECIMAL, MFP_NONE, false, true),
    F(MFF_IN_PORT, "in_port", NULL, "NXM_OF_IN_PORT", 4, 32,
      AT(in_port), MFM_NONE, MFS_OFP_PORT, MFP_NONE, true, true),
    F(MFF_PKT_MARK, "pkt_mark", NULL, "NXM_NX_PKT_MARK", 4, 32,
      AT(pkt_mark), MFM_FULLY, MFS_HEXADECIMAL, MFP_NONE, true, true),
    F(MFF_METADATA, "metadata", NULL, "OXM_OF_METADATA", 8, 64,
      AT(metadata), MFM_FULLY, MFS_HEXADECIMAL, MFP_NONE, true, true),
    REG(0), REG(1), REG(2), REG(3), REG(4), REG(5), REG(6), REG(7),
    REG(8), REG(9), REG(10), REG(11), REG(12), REG(13), REG(14), REG(15),
    XREG(0), XREG(1), XREG(2), XREG(3), XREG(4), XREG(5), XREG(6), XREG(7),

    F(MFF_CT_STATE, "ct_state", NULL, "NXM_NX_CT_STATE", 2, 16,
      AT(ct_state), MFM_FULLY, MFS_CT_STATE, MFP_NONE, false, true),
    F(MFF_CT_ZONE, "ct_zone", NULL, "NXM_NX_CT_ZONE", 2, 16,
      AT(ct_zone), MFM_NONE, MFS_DECIMAL, MFP_NONE, false, true),
    F(MFF_CT_MARK, "ct_mark", NULL, "NXM_NX_CT_MARK", 4, 32,
      AT(ct_mark), MFM_FULLY, MFS_HEXADECIMAL, MFP_NONE, true, true),
    F(MFF_CT_LABEL, "ct_label", NULL, "NXM_NX_CT_LABEL", 16, 128,
      AT(ct_label), MFM_FULLY, MFS_HEXADECIMAL, MFP_NONE, true, true),
    F(MFF_CT_NW_PROTO, "ct_nw_proto", NULL, "NXM_NX_CT_NW_PROTO", 1, 8,
      AT(ct_nw_proto), MFM_NONE, MFS_DECIMAL, MFP_NONE, false, false),
    F(MFF_CT_NW_SRC, "ct_nw_src", NULL, "NXM_NX_CT_NW_SRC", 4, 32,
      AT(ct_nw_src), MFM_FULLY, MFS_IPV4, MFP_IPV4, false, false),
    F(MFF_CT_NW_DST, "ct_nw_dst", NULL, "NXM_NX_CT_NW_DST", 4, 32,
      AT(ct_nw_dst), MFM_FULLY, MFS_IPV4, MFP_IPV4, false, false),
    F(MFF_CT_IPV6_SRC, "ct_ipv6_src", NULL, "NXM_NX_CT_IPV6_SRC", 16, 128,
      AT(ct_ipv6_src), MFM_FULLY, MFS_IPV6, MFP_IPV6, false, false),
    F(MFF_CT_IPV6_DST, "ct_ipv6_dst", NULL, "NXM_NX_CT_IPV6_DST", 16, 128,
      AT(ct_ipv6_dst), MFM_FULLY, MFS_IPV6, MFP_IPV6, false, false),
    F(MFF_CT_TP_SRC, "ct_tp_src", NULL, "NXM_NX_CT_TP_SRC", 2, 16,
      AT(ct_tp_src), MFM_FULLY, MFS_DECIMAL, MFP_IP_ANY, false, false),
    F(MFF_CT_TP_DST, "ct_tp_dst", NULL, "NXM_NX_CT_TP_DST", 2, 16,
      AT(ct_tp_dst), MFM_FULLY, MFS_DECIMAL, MFP_IP_ANY, false, false),

    F(MFF_DL_SRC, "eth_src", "dl_src", "NXM_OF_ETH_SRC", 6, 48,
      AT(dl_src), MFM_FULLY, MFS_ETHERNET, MFP_NONE, true, false),
    F(MFF_DL_DST, "eth_dst", "dl_dst", "NXM_OF_ETH_DST", 6, 48,
      AT(dl_dst), MFM_FULLY, MFS_ETHERNET, MFP_NONE, true, false),
    F(MFF_DL_TYPE, "eth_type", "dl_type", "NXM_OF_ETH_TYPE", 2, 16,
      AT(dl_type), MFM_NONE, MFS_HEXADECIMAL, MFP_NONE, false, false),
    F(MFF_VLAN_TCI, "vlan_tci", NULL, "NXM_OF_VLAN_TCI", 2, 16,
      AT(vlans[0].tci), MFM_FULLY, MFS_HEXADECIMAL, MFP_NONE, true, false),
    F(MFF_DL_VLAN, "dl_vlan", NULL, NULL, 2, 12,
      AT(vlans[0].tci), MFM_NONE, MFS_DECIMAL, MFP_NONE, true, false),
    F(MFF_DL_VLAN_PCP, "dl_vlan_pcp", NULL, NULL, 1, 3,
      AT(vlans[0].tci), MFM_NONE, MFS_DECIMAL, MFP_NONE, true, false),
    F(MFF_VLAN_VID, "vlan_vid", NULL, "OXM_OF_VLAN_VID", 2, 13,
      AT(vlans[0].tci), MFM_FULLY, MFS_DECIMAL, MFP_NONE, true, false),
    F(MFF_VLAN_PCP, "vlan_pcp", NULL, "OXM_OF_VLAN_PCP", 1, 3,
      AT(vlans[0].tci), MFM_NONE, MFS_DECIMAL, MFP_VLAN_VID, true, false),

    F(MFF_NW_SRC, "ip_src", "nw_src", "NXM_OF_IP_SRC", 4, 32,
      AT(nw_src), MFM_FULLY, MFS_IPV4, MFP_IPV4, true, false),
    F(MFF_NW_DST, "ip_dst", "nw_dst", "NXM_OF_IP_DST", 4, 32,
      AT(nw_dst), MFM_FULLY, MFS_IPV4, MFP_IPV4, true, false),
    F(MFF_IPV6_SRC, "ipv6_src", NULL, "NXM_NX_IPV6_SRC", 16, 128,
      AT(ipv6_src), MFM_FULLY, MFS_IPV6, MFP_IPV6, true, false),
    F(MFF_IPV6_DST, "ipv6_dst", NULL, "NXM_NX_IPV6_DST", 16, 128,
      AT(ipv6_dst), MFM_FULLY, MFS_IPV6, MFP_IPV6, true, false),
    F(MFF_IPV6_LABEL, "ipv6_label", NULL, "NXM_NX_IPV6_LABEL", 4, 20,
      AT(ipv6_label), MFM_FULLY, MFS_HEXADECIMAL, MFP_IPV6, true, false),
    F(MFF_NW_PROTO, "nw_proto", "ip_proto", "NXM_OF_IP_PROTO", 1, 8,
      AT(nw_proto), MFM_NONE, MFS_DECIMAL, MFP_IP_ANY, false, false),
    F(MFF_NW_TOS, "nw_tos", NULL, "NXM_OF_IP_TOS", 1, 8,
      AT(nw_tos), MFM_NONE, MFS_DECIMAL, MFP_IP_ANY, true, false),
    F(MFF_IP_DSCP, "ip_dscp", NULL, "OXM_OF_IP_DSCP", 1, 6,
      AT(nw_tos), MFM_NONE, MFS_DECIMAL, MFP_IP_ANY, true, false),
    F(MFF_NW_ECN, "nw_ecn", "ip_ecn", "NXM_NX_IP_ECN", 1, 2,
      AT(nw_tos), MFM_NONE, MFS_DECIMAL, MFP_IP_ANY, true, false),
    F(MFF_NW_TTL, "nw_ttl", NULL, "NXM_NX_IP_TTL", 1, 8,
      AT(nw_ttl), MFM_NONE, MFS_DECIMAL, MFP_IP_ANY, true, false),
    F(MFF_IP_FRAG, "ip_frag", "nw_frag", "NXM_NX_IP_FRAG", 1, 2,
      AT(nw_frag), MFM_FULLY, MFS_FRAG, MFP_IP_ANY, false, false),
    F(MFF_ARP_OP, "arp_op", NULL, "NXM_OF_ARP_OP", 2, 8,
      AT(nw_proto), MFM_NONE, MFS_DECIMAL, MFP_ARP, true, false),
    F(MFF_ARP_SPA, "arp_spa", NULL, "NXM_OF_ARP_SPA", 4, 32,
      AT(nw_src), MFM_FULLY, MFS_IPV4, MFP_ARP, true, false),
    F(MFF_ARP_TPA, "arp_tpa", NULL, "NXM_OF_ARP_TPA", 4, 32,
      AT(nw_dst), MFM_FULLY, MFS_IPV4, MFP_ARP, true, false),
    F(MFF_ARP_SHA, "arp_sha", NULL, "NXM_NX_ARP_SHA", 6, 48,
      AT(arp_sha), MFM_FULLY, MFS_ETHERNET, MFP_ARP, true, false),
    F(MFF_ARP_THA, "arp_tha", NULL, "NXM_NX_ARP_THA", 6, 48,
      AT(arp_tha), MFM_FULLY, MFS_ETHERNET, MFP_ARP, true, false),

    F(MFF_TP_SRC, "tp_src", NULL, NULL, 2, 16,
      AT(tp_src), MFM_FULLY, MFS_DECIMAL, MFP_L4, true, false),
    F(MFF_TP_DST, "tp_dst", NULL, NULL, 2, 16,
      AT(tp_dst), MFM_FULLY, MFS_DECIMAL, MFP_L4, true, false),
    F(MFF_TCP_SRC, "tcp_src", NULL, "NXM_OF_TCP_SRC", 2, 16,
      AT(tp_src), MFM_FULLY, MFS_DECIMAL, MFP_TCP, true, false),
    F(MFF_TCP_DST, "tcp_dst", NULL, "NXM_OF_TCP_DST", 2, 16,
      AT(tp_dst), MFM_FULLY, MFS_DECIMAL, MFP_TCP, true, false),
    F(MFF_TCP_FLAGS, "tcp_flags", NULL, "NXM_NX_TCP_FLAGS", 2, 12,
      AT(tcp_flags), MFM_FULLY, MFS_TCP_FLAGS, MFP_TCP, false, false),
    F(MFF_UDP_SRC, "udp_src", NULL, "NXM_OF_UDP_SRC", 2, 16,
      AT(tp_src), MFM_FULLY, MFS_DECIMAL, MFP_UDP, true, false),
    F(MFF_UDP_DST, "udp_dst", NULL, "NXM_OF_UDP_DST", 2, 16,
      AT(tp_dst), MFM_FULLY, MFS_DECIMAL, MFP_UDP, true, false),
    F(MFF_SCTP_SRC, "sctp_src", NULL, "OXM_OF_SCTP_SRC", 2, 16,
      AT(tp_src), MFM_FULLY, MFS_DECIMAL, MFP_SCTP, true, false),
    F(MFF_SCTP_DST, "sctp_dst", NULL, "OXM_OF_SCTP_DST", 2, 16,
      AT(tp_dst), MFM_FULLY, MFS_DECIMAL, MFP_SCTP, true, false),
    F(MFF_ICMP_TYPE, "icmp_type", NULL, "NXM_OF_ICMP_TYPE", 1, 8,
      AT(tp_src), MFM_NONE, MFS_DECIMAL, MFP_ICMPV4, true, false),
    F(MFF_ICMP_CODE, "icmp_code", NULL, "NXM_OF_ICMP_CODE", 1, 8,
      AT(tp_dst), MFM_NONE, MFS_DECIMAL, MFP_ICMPV4, true, false),
    F(MFF_ICMPV6_TYPE, "icmpv6_type", NULL, "NXM_NX_ICMPV6_TYPE", 1, 8,
      AT(tp_src), MFM_NONE, MFS_DECIMAL, MFP_ICMPV6, true, false),
    F(MFF_ICMPV6_CODE, "icmpv6_code", NULL, "NXM_NX_ICMPV6_CODE", 1, 8,
      AT(tp_dst), MFM_NONE, MFS_DECIMAL, MFP_ICMPV6, true, false),
    F(MFF_ND_TARGET, "nd_target", NULL, "NXM_NX_ND_TARGET", 16, 128,
      AT(nd_target), MFM_FULLY, MFS_IPV6, MFP_ND, true, false),
    F(MFF_ND_SLL, "nd_sll", NULL, "NXM_NX_ND_SLL", 6, 48,
      AT(arp_sha), MFM_FULLY, MFS_ETHERNET, MFP_ND_SOLICIT, true, false),
    F(MFF_ND_TLL, "nd_tll", NULL, "NXM_NX_ND_TLL", 6, 48,
      AT(arp_tha), MFM_FULLY, MFS_ETHERNET, MFP_ND_ADVERT, true, false),
};

const struct mf_field *
mf_from_id(enum mf_field_id id)
{
    ts_assert((unsigned int) id < MFF_N_IDS);
    return &mf_fields[id];
}

static bool
name_eq(const char *name, const char *s, size_t len, bool nocase)
{
    if (!name || strnlen(name, len + 1) != len) {
        return false;
    }
    return nocase ? !strncasecmp(name, s, len) : !strncmp(name, s, len);
}

/* Name lookup: an open-addressing table over every name, alias and NXM
 * name, keyed by a case-insensitive hash (NXM names match in any case,
 * the others exactly).  Built once, on first use, then read-only, so
 * lookups from any thread are safe.  At most 3 * MFF_N_IDS names in
 * NAME_SLOTS slots keeps it under half full. */
#define NAME_SLOTS 1024
BUILD_ASSERT(3 * MFF_N_IDS * 2 <= NAME_SLOTS);

struct name_slot {
    const char *name;           /* NULL: empty */
    uint16_t len;
    uint16_t id;                /* enum mf_field_id */
    bool nocase;
};

static struct name_slot name_table[NAME_SLOTS];
static pthread_once_t name_table_once = PTHREAD_ONCE_INIT;

static uint32_t
name_hash(const char *s, size_t len)
{
    uint32_t h = 2166136261u;

    for (size_t i = 0; i < len; i++) {
        uint8_t c = s[i];

        c = c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;   /* ASCII fold */
        h = (h ^ c) * 16777619u;
    }
    return h;
}

static void
name_table_add(const char *name, enum mf_field_id id, bool nocase)
{
    size_t len = name ? strlen(name) : 0;

    if (!name) {
        return;
    }
    for (uint32_t i = name_hash(name, len);; i++) {
        struct name_slot *slot = &name_table[i % NAME_SLOTS];

        if (!slot->name) {
            *slot = (struct name_slot) { name, len, id, nocase };
            return;
        }
    }
}

static void
name_table_init(void)
{
    for (size_t i = 0; i < MFF_N_IDS; i++) {
        const struct mf_field *mf = &mf_fields[i];

        name_table_add(mf->name, mf->id, false);
        name_table_add(mf->extra_name, mf->id, false);
        name_table_add(mf->nxm_name, mf->id, true);
    }
}

/* Every field one of whose names is 's' is a candidate; as the linear
 * search this replaces did, the one with the lowest id wins. */
const struct mf_field *
mf_from_name_len(const char *s, size_t len)
{
    const struct mf_field *best = NULL;

    pthread_once(&name_table_once, name_table_init);
    for (uint32_t i = name_hash(s, len);; i++) {
        const struct name_slot *slot = &name_table[i % NAME_SLOTS];

        if (!slot->name) {
            break;
        }
        if (name_eq(slot->name, s, len, slot->nocase)
            && (!best || slot->id < best->id)) {
            best = &mf_fields[slot->id];
        }
    }
    return best;
}

const struct mf_field *
mf_from_name(const char *s)
{
    return mf_from_name_len(s, strlen(s));
}

/* Storage <-> value.
 *
 * Each field lives in 'flow_len' bytes of struct flow ("storage").  The
 * functions below convert between the field's value representation and
 * that storage, keeping only the field's bits; the bits of the storage
 * that belong to the field are to_storage(all ones). */

static bool
mf_is_xreg(const struct mf_field *mf)
{
    return mf->id >= MFF_XREG0 && mf->id <= MFF_XREG7;
}

static void
to_storage(const struct mf_field *mf, const union mf_value *v,
           uint8_t st[16])
{
    uint16_t be16;

    memset(st, 0, 16);
    switch (mf->id) {
    case MFF_DL_VLAN:
        be16 = v->be16 & htons(VLAN_VID_MASK);
        memcpy(st, &be16, 2);
        break;
    case MFF_DL_VLAN_PCP:
    case MFF_VLAN_PCP:
        be16 = htons((uint16_t) ((v->u8 & 7) << VLAN_PCP_SHIFT));
        memcpy(st, &be16, 2);
        break;
    case MFF_VLAN_VID:
        be16 = v->be16 & htons(VLAN_VID_MASK | VLAN_CFI);
        memcpy(st, &be16, 2);
        break;
    case MFF_NW_TOS:
        st[0] = v->u8 & IP_DSCP_MASK;
        break;
    case MFF_IP_DSCP:
        st[0] = (uint8_t) (v->u8 << 2);
        break;
    case MFF_NW_ECN:
        st[0] = v->u8 & IP_ECN_MASK;
        break;
    case MFF_IP_FRAG:
        st[0] = v->u8 & 3;
        break;
    case MFF_ARP_OP:
        st[0] = (uint8_t) ntohs(v->be16);
        break;
    case MFF_ICMP_TYPE:
    case MFF_ICMP_CODE:
    case MFF_ICMPV6_TYPE:
    case MFF_ICMPV6_CODE:
        be16 = htons(v->u8);
        memcpy(st, &be16, 2);
        break;
    case MFF_TCP_FLAGS:
        be16 = v->be16 & htons(TCP_FLAGS_MASK);
        memcpy(st, &be16, 2);
        break;
    case MFF_IPV6_LABEL: {
        uint32_t be32 = v->be32 & htonl(IPV6_LABEL_MASK);
        memcpy(st, &be32, 4);
        break;
    }
    default:
        if (mf_is_xreg(mf)) {
            uint32_t regs[2] = { (uint32_t) (v->u64 >> 32),
                                 (uint32_t) v->u64 };
            memcpy(st, regs, 8);
        } else {
            memcpy(st, v, mf->n_bytes);
        }
        break;
    }
}

static void
from_storage(const struct mf_field *mf, const uint8_t st[16],
             union mf_value *v)
{
    uint16_t be16;

    memset(v, 0, sizeof *v);
    memcpy(&be16, st, 2);
    switch (mf->id) {
    case MFF_DL_VLAN:
        v->be16 = be16 & htons(VLAN_VID_MASK);
        break;
    case MFF_DL_VLAN_PCP:
    case MFF_VLAN_PCP:
        v->u8 = ntohs(be16) >> VLAN_PCP_SHIFT;
        break;
    case MFF_VLAN_VID:
        v->be16 = be16 & htons(VLAN_VID_MASK | VLAN_CFI);
        break;
    case MFF_NW_TOS:
        v->u8 = st[0] & IP_DSCP_MASK;
        break;
    case MFF_IP_DSCP:
        v->u8 = st[0] >> 2;
        break;
    case MFF_NW_ECN:
        v->u8 = st[0] & IP_ECN_MASK;
        break;
    case MFF_IP_FRAG:
        v->u8 = st[0] & 3;
        break;
    case MFF_ARP_OP:
        v->be16 = htons(st[0]);
        break;
    case MFF_ICMP_TYPE:
    case MFF_ICMP_CODE:
    case MFF_ICMPV6_TYPE:
    case MFF_ICMPV6_CODE:
        v->u8 = (uint8_t) ntohs(be16);
        break;
    case MFF_TCP_FLAGS:
        v->be16 = be16 & htons(TCP_FLAGS_MASK);
        break;
    case MFF_IPV6_LABEL: {
        uint32_t be32;
        memcpy(&be32, st, 4);
        v->be32 = be32 & htonl(IPV6_LABEL_MASK);
        break;
    }
    default:
        if (mf_is_xreg(mf)) {
            uint32_t regs[2];
            memcpy(regs, st, 8);
            v->u64 = (uint64_t) regs[0] << 32 | regs[1];
        } else {
            memcpy(v, st, mf->n_bytes);
        }
        break;
    }
}

static uint8_t *
storage_rw(const struct mf_field *mf, struct flow *flow)
{
    return (uint8_t *) flow + mf->flow_ofs;
}

static const uint8_t *
storage(const struct mf_field *mf, const struct flow *flow)
{
    return (const uint8_t *) flow + mf->flow_ofs;
}

void
mf_all_ones(const struct mf_field *mf, union mf_value *v)
{
    union mf_subvalue sv;
    unsigned int full = mf->n_bits / 8, rest = mf->n_bits % 8;

    /* The low 'n_bits' bits of a big-endian 128-bit integer: whole bytes
     * from the end, then the partial byte before them. */
    memset(&sv, 0, sizeof sv);
    memset(&sv.u8[16 - full], 0xff, full);
    if (rest) {
        sv.u8[15 - full] = (1u << rest) - 1;
    }
    mf_subvalue_to_value(mf, &sv, v);
}

static bool
mf_is_icmp(const struct mf_field *mf)
{
    return (mf->id == MFF_ICMP_TYPE || mf->id == MFF_ICMP_CODE
            || mf->id == MFF_ICMPV6_TYPE || mf->id == MFF_ICMPV6_CODE);
}

/* Converts a mask to storage.  ICMP type and code are 8-bit values kept
 * in 16-bit tp_src/tp_dst whose high byte is always zero: their exact
 * mask covers the whole 16 bits, as a port match does. */
static void
mask_to_storage(const struct mf_field *mf, const union mf_value *mask,
                uint8_t st[16])
{
    if (mf_is_icmp(mf)) {
        memset(st, 0, 16);
        if (mask->u8) {
            st[0] = st[1] = 0xff;
        }
        return;
    }
    to_storage(mf, mask, st);
}

static void
field_bits__(const struct mf_field *mf, uint8_t bits[16])
{
    union mf_value ones;

    mf_all_ones(mf, &ones);
    mask_to_storage(mf, &ones, bits);
}

/* field_bits__() of every field, computed once: mf_set_mask() runs for
 * every field of every parsed or decoded flow. */
static uint8_t field_bits_table[MFF_N_IDS][16];
static pthread_once_t field_bits_once = PTHREAD_ONCE_INIT;

static void
field_bits_init(void)
{
    for (size_t i = 0; i < MFF_N_IDS; i++) {
        field_bits__(&mf_fields[i], field_bits_table[i]);
    }
}

static void
field_bits(const struct mf_field *mf, uint8_t bits[16])
{
    pthread_once(&field_bits_once, field_bits_init);
    memcpy(bits, field_bits_table[mf->id], 16);
}

void
mf_get_value(const struct mf_field *mf, const struct flow *flow,
             union mf_value *v)
{
    uint8_t st[16] = { 0 };

    memcpy(st, storage(mf, flow), mf->flow_len);
    from_storage(mf, st, v);
}

void
mf_set_flow_value_masked(const struct mf_field *mf,
                         const union mf_value *value,
                         const union mf_value *mask, struct flow *flow)
{
    uint8_t sv[16], sm[16];
    uint8_t *st = storage_rw(mf, flow);

    to_storage(mf, value, sv);
    mask_to_storage(mf, mask, sm);
    for (unsigned int i = 0; i < mf->flow_len; i++) {
        st[i] = (st[i] & ~sm[i]) | (sv[i] & sm[i]);
    }
}

void
mf_set_flow_value(const struct mf_field *mf, const union mf_value *value,
                  struct flow *flow)
{
    union mf_value ones;

    mf_all_ones(mf, &ones);
    mf_set_flow_value_masked(mf, value, &ones, flow);
}

void
mf_get_mask(const struct mf_field *mf, const struct flow_wildcards *wc,
            union mf_value *mask)
{
    mf_get_value(mf, &wc->masks, mask);
}

void
mf_set_mask(const struct mf_field *mf, const union mf_value *mask,
            struct flow_wildcards *wc)
{
    uint8_t sm[16], bits[16];
    uint8_t *st = storage_rw(mf, &wc->masks);

    mask_to_storage(mf, mask, sm);
    field_bits(mf, bits);
    for (unsigned int i = 0; i < mf->flow_len; i++) {
        st[i] = (st[i] & ~bits[i]) | sm[i];
    }
}

void
mf_mask_field(const struct mf_field *mf, struct flow_wildcards *wc)
{
    union mf_value ones;

    mf_all_ones(mf, &ones);
    mf_set_mask(mf, &ones, wc);
    if (mf->id == MFF_DL_VLAN || mf->id == MFF_DL_VLAN_PCP
        || mf->id == MFF_VLAN_PCP) {
        wc->masks.vlans[0].tci |= htons(VLAN_CFI);
    }
}

void
mf_mask_prereqs(const struct mf_field *mf, struct flow_wildcards *wc)
{
    switch (mf->prereq) {
    case MFP_ND:
    case MFP_ND_SOLICIT:
    case MFP_ND_ADVERT:
        wc->masks.tp_src = UINT16_MAX;
        /* fall through */
    case MFP_L4:
    case MFP_TCP:
    case MFP_UDP:
    case MFP_SCTP:
    case MFP_ICMPV4:
    case MFP_ICMPV6:
        wc->masks.nw_proto = UINT8_MAX;
        /* fall through */
    case MFP_ARP:
    case MFP_IPV4:
    case MFP_IPV6:
    case MFP_IP_ANY:
        wc->masks.dl_type = UINT16_MAX;
        break;
    case MFP_VLAN_VID:
        wc->masks.vlans[0].tci |= htons(VLAN_CFI);
        break;
    case MFP_NONE:
        break;
    }
}

void
mf_mask_field_and_prereqs(const struct mf_field *mf,
                          struct flow_wildcards *wc)
{
    mf_mask_field(mf, wc);
    mf_mask_prereqs(mf, wc);
}

bool
mf_is_all_ones(const struct mf_field *mf, const union mf_value *v)
{
    union mf_value ones;

    mf_all_ones(mf, &ones);
    return !memcmp(&ones, v, mf->n_bytes);
}

bool
mf_is_zero(const struct mf_field *mf, const union mf_value *v)
{
    static const uint8_t zero[16];

    return !memcmp(zero, v, mf->n_bytes);
}

bool
mf_is_value_valid(const struct mf_field *mf, const union mf_value *v)
{
    union mf_value ones;

    mf_all_ones(mf, &ones);
    for (unsigned int i = 0; i < mf->n_bytes; i++) {
        if (v->b[i] & ~ones.b[i]) {
            return false;
        }
    }
    switch (mf->id) {
    case MFF_NW_TOS:
        return !(v->u8 & IP_ECN_MASK);
    case MFF_IP_FRAG:
        return v->u8 != FLOW_NW_FRAG_LATER;
    default:
        return true;
    }
}

/* Prerequisites. */

static bool
is_ip_any(uint16_t be_type)
{
    return be_type == htons(ETH_TYPE_IP) || be_type == htons(ETH_TYPE_IPV6);
}

bool
mf_are_prereqs_ok(const struct mf_field *mf, const struct flow *f)
{
    switch (mf->prereq) {
    case MFP_NONE:
        return true;
    case MFP_ARP:
        return f->dl_type == htons(ETH_TYPE_ARP)
               || f->dl_type == htons(ETH_TYPE_RARP);
    case MFP_VLAN_VID:
        return (f->vlans[0].tci & htons(VLAN_CFI)) != 0;
    case MFP_IPV4:
        return f->dl_type == htons(ETH_TYPE_IP);
    case MFP_IPV6:
        return f->dl_type == htons(ETH_TYPE_IPV6);
    case MFP_IP_ANY:
        return is_ip_any(f->dl_type);
    case MFP_L4:
        return is_ip_any(f->dl_type)
               && (f->nw_proto == IPPROTO_TCP || f->nw_proto == IPPROTO_UDP
                   || f->nw_proto == IPPROTO_SCTP);
    case MFP_TCP:
        return is_ip_any(f->dl_type) && f->nw_proto == IPPROTO_TCP;
    case MFP_UDP:
        return is_ip_any(f->dl_type) && f->nw_proto == IPPROTO_UDP;
    case MFP_SCTP:
        return is_ip_any(f->dl_type) && f->nw_proto == IPPROTO_SCTP;
    case MFP_ICMPV4:
        return f->dl_type == htons(ETH_TYPE_IP)
               && f->nw_proto == IPPROTO_ICMP;
    case MFP_ICMPV6:
        return f->dl_type == htons(ETH_TYPE_IPV6)
               && f->nw_proto == IPPROTO_ICMPV6_;
    case MFP_ND:
        return f->dl_type == htons(ETH_TYPE_IPV6)
               && f->nw_proto == IPPROTO_ICMPV6_
               && (f->tp_src == htons(135) || f->tp_src == htons(136));
    case MFP_ND_SOLICIT:
        return f->dl_type == htons(ETH_TYPE_IPV6)
               && f->nw_proto == IPPROTO_ICMPV6_ && f->tp_src == htons(135);
    case MFP_ND_ADVERT:
        return f->dl_type == htons(ETH_TYPE_IPV6)
               && f->nw_proto == IPPROTO_ICMPV6_ && f->tp_src == htons(136);
    }
    return false;
}

bool
mf_are_match_prereqs_ok(const struct mf_field *mf, const struct match *m)
{
    const struct flow *have = &m->wc.masks;

    if (!mf_are_prereqs_ok(mf, &m->flow)) {
        return false;
    }
    /* The bits mf_mask_prereqs() would set must all be matched. */
    switch (mf->prereq) {
    case MFP_ND:
    case MFP_ND_SOLICIT:
    case MFP_ND_ADVERT:
        if (have->tp_src != UINT16_MAX) {
            return false;
        }
        /* fall through */
    case MFP_L4:
    case MFP_TCP:
    case MFP_UDP:
    case MFP_SCTP:
    case MFP_ICMPV4:
    case MFP_ICMPV6:
        if (have->nw_proto != UINT8_MAX) {
            return false;
        }
        /* fall through */
    case MFP_ARP:
    case MFP_IPV4:
    case MFP_IPV6:
    case MFP_IP_ANY:
        return have->dl_type == UINT16_MAX;
    case MFP_VLAN_VID:
        return (have->vlans[0].tci & htons(VLAN_CFI)) != 0;
    case MFP_NONE:
        return true;
    }
    return true;
}

const char *
mf_prereq_string(enum mf_prereq p)
{
    switch (p) {
    case MFP_NONE: return "nothing";
    case MFP_ARP: return "arp or rarp";
    case MFP_VLAN_VID: return "a VLAN tag";
    case MFP_IPV4: return "ip";
    case MFP_IPV6: return "ipv6";
    case MFP_IP_ANY: return "ip or ipv6";
    case MFP_L4: return "tcp, udp or sctp";
    case MFP_TCP: return "tcp or tcp6";
    case MFP_UDP: return "udp or udp6";
    case MFP_SCTP: return "sctp or sctp6";
    case MFP_ICMPV4: return "icmp";
    case MFP_ICMPV6: return "icmp6";
    case MFP_ND: return "icmp6 with icmp_type 135 or 136";
    case MFP_ND_SOLICIT: return "icmp6 with icmp_type 135";
    case MFP_ND_ADVERT: return "icmp6 with icmp_type 136";
    }
    return "?";
}

/* Subvalues: big-endian 128-bit integers. */

void
mf_value_to_subvalue(const struct mf_field *mf, const union mf_value *v,
                     union mf_subvalue *sv)
{
    memset(sv, 0, sizeof *sv);
    if (!mf->host_order || mf->n_bytes == 1) {
        memcpy(&sv->u8[16 - mf->n_bytes], v, mf->n_bytes);
        return;
    }
    switch (mf->n_bytes) {
    case 2: {
        uint16_t x = htons(v->u16);
        memcpy(&sv->u8[14], &x, 2);
        break;
    }
    case 4: {
        uint32_t x = htonl(v->u32);
        memcpy(&sv->u8[12], &x, 4);
        break;
    }
    case 8:
        sv->be64[1] = htobe64(v->u64);
        break;
    case 16:
        sv->be64[0] = htobe64(v->u128[1]);
        sv->be64[1] = htobe64(v->u128[0]);
        break;
    default:
        ts_assert(false);
    }
}

void
mf_subvalue_to_value(const struct mf_field *mf, const union mf_subvalue *sv,
                     union mf_value *v)
{
    memset(v, 0, sizeof *v);
    if (!mf->host_order || mf->n_bytes == 1) {
        memcpy(v, &sv->u8[16 - mf->n_bytes], mf->n_bytes);
        return;
    }
    switch (mf->n_bytes) {
    case 2: {
        uint16_t x;
        memcpy(&x, &sv->u8[14], 2);
        v->u16 = ntohs(x);
        break;
    }
    case 4: {
        uint32_t x;
        memcpy(&x, &sv->u8[12], 4);
        v->u32 = ntohl(x);
        break;
    }
    case 8:
        v->u64 = be64toh(sv->be64[1]);
        break;
    case 16:
        v->u128[1] = be64toh(sv->be64[0]);
        v->u128[0] = be64toh(sv->be64[1]);
        break;
    default:
        ts_assert(false);
    }
}

void
mf_bitwise_copy(const void *src_, unsigned int src_len, unsigned int src_ofs,
                void *dst_, unsigned int dst_len, unsigned int dst_ofs,
                unsigned int n_bits)
{
    const uint8_t *src = src_;
    uint8_t *dst = dst_;

    /* Bit by bit: subfields are at most 128 bits and this is not a hot
     * path worth the complexity of byte-wise shifting. */
    for (unsigned int i = 0; i < n_bits; i++) {
        unsigned int s = src_ofs + i, d = dst_ofs + i;
        unsigned int sbyte = src_len - 1 - s / 8;
        unsigned int dbyte = dst_len - 1 - d / 8;
        uint8_t bit = (src[sbyte] >> (s % 8)) & 1;

        dst[dbyte] = (uint8_t) ((dst[dbyte] & ~(1u << (d % 8)))
                                | (bit << (d % 8)));
    }
}

bool
mf_subfield_is_valid(const struct mf_subfield *sf)
{
    return sf->field && sf->n_bits >= 1
           && sf->ofs < sf->field->n_bits
           && sf->n_bits <= sf->field->n_bits - sf->ofs;
}

void
mf_read_subfield(const struct mf_subfield *sf, const struct flow *flow,
                 union mf_subvalue *out)
{
    union mf_value v;
    union mf_subvalue sv;

    mf_get_value(sf->field, flow, &v);
    mf_value_to_subvalue(sf->field, &v, &sv);
    memset(out, 0, sizeof *out);
    mf_bitwise_copy(&sv, 16, sf->ofs, out, 16, 0, sf->n_bits);
}

uint64_t
mf_get_subfield(const struct mf_subfield *sf, const struct flow *flow)
{
    union mf_subvalue sv;

    mf_read_subfield(sf, flow, &sv);
    return be64toh(sv.be64[1]);
}

void
mf_subfield_to_mask(const struct mf_subfield *sf, union mf_value *mask)
{
    union mf_subvalue sm;

    memset(&sm, 0, sizeof sm);
    for (unsigned int i = sf->ofs; i < sf->ofs + sf->n_bits; i++) {
        sm.u8[15 - i / 8] |= 1u << (i % 8);
    }
    mf_subvalue_to_value(sf->field, &sm, mask);
}

void
mf_write_subfield(const struct mf_subfield *sf,
                  const union mf_subvalue *in, struct flow *flow)
{
    union mf_subvalue sv;
    union mf_value v, mask;

    memset(&sv, 0, sizeof sv);
    mf_bitwise_copy(in, 16, 0, &sv, 16, sf->ofs, sf->n_bits);
    mf_subvalue_to_value(sf->field, &sv, &v);
    mf_subfield_to_mask(sf, &mask);
    mf_set_flow_value_masked(sf->field, &v, &mask, flow);
}

void
mf_set_subfield(const struct mf_subfield *sf, uint64_t value,
                struct flow *flow)
{
    union mf_subvalue sv;

    memset(&sv, 0, sizeof sv);
    sv.be64[1] = htobe64(value);
    mf_write_subfield(sf, &sv, flow);
}

void
mf_mask_subfield(const struct mf_subfield *sf, struct flow_wildcards *wc)
{
    union mf_value old, mask;

    mf_get_mask(sf->field, wc, &old);
    mf_subfield_to_mask(sf, &mask);
    for (size_t i = 0; i < sizeof mask; i++) {
        mask.b[i] |= old.b[i];
    }
    mf_set_mask(sf->field, &mask, wc);
}

static bool
is_name_char(int c)
{
    return isalnum(c) || c == '_';
}

char *
mf_parse_subfield__(struct mf_subfield *sf, const char **sp)
{
    const char *s = *sp;
    const char *name = s;
    size_t name_len;
    const struct mf_field *mf;
    unsigned long start, end;
    char *tail;

    while (is_name_char((unsigned char) *s)) {
        s++;
    }
    name_len = s - name;
    if (!name_len) {
        return xasprintf("missing field name in '%s'", *sp);
    }
    mf = mf_from_name_len(name, name_len);
    if (!mf) {
        return xasprintf("unknown field '%.*s'", (int) name_len, name);
    }
    if (*s != '[') {
        /* A bare field name means the whole field (as OVS accepts). */
        sf->field = mf;
        sf->ofs = 0;
        sf->n_bits = mf->n_bits;
        *sp = s;
        return NULL;
    }
    s++;
    if (*s == ']') {
        start = 0;
        end = mf->n_bits - 1;
        s++;
    } else {
        if (!isdigit((unsigned char) *s)) {
            return xasprintf("invalid bit range in subfield '%s'", *sp);
        }
        start = strtoul(s, &tail, 10);
        s = tail;
        if (s[0] == '.' && s[1] == '.') {
            s += 2;
            if (!isdigit((unsigned char) *s)) {
                return xasprintf("invalid bit range in subfield '%s'", *sp);
            }
            end = strtoul(s, &tail, 10);
            s = tail;
        } else {
            end = start;
        }
        if (*s != ']') {
            return xasprintf("missing ']' in subfield '%s'", *sp);
        }
        s++;
    }
    if (start > end || end >= mf->n_bits) {
        return xasprintf("bit range %lu..%lu out of range for '%s' "
                         "(%u bits)", start, end, mf->name, mf->n_bits);
    }
    sf->field = mf;
    sf->ofs = start;
    sf->n_bits = end - start + 1;
    *sp = s;
    return NULL;
}

char *
mf_parse_subfield(struct mf_subfield *sf, const char *s)
{
    const char *p = s;
    char *error = mf_parse_subfield__(sf, &p);

    if (!error && *p) {
        error = xasprintf("trailing garbage in subfield '%s'", s);
    }
    return error;
}

void
mf_format_subfield(const struct mf_subfield *sf, struct ds *s)
{
    const struct mf_field *mf = sf->field;

    ds_put_cstr(s, mf->nxm_name ? mf->nxm_name : mf->name);
    if (sf->ofs == 0 && sf->n_bits == mf->n_bits) {
        ds_put_cstr(s, "[]");
    } else if (sf->n_bits == 1) {
        ds_put_format(s, "[%u]", sf->ofs);
    } else {
        ds_put_format(s, "[%u..%u]", sf->ofs, sf->ofs + sf->n_bits - 1);
    }
}

/* Flag names. */

const char *
mf_tcp_flag_name(uint16_t bit)
{
    switch (bit) {
    case TCP_FIN: return "fin";
    case TCP_SYN: return "syn";
    case TCP_RST: return "rst";
    case TCP_PSH: return "psh";
    case TCP_ACK: return "ack";
    case TCP_URG: return "urg";
    case TCP_ECE: return "ece";
    case TCP_CWR: return "cwr";
    case TCP_NS: return "ns";
    case 0x200: return "[200]";
    case 0x400: return "[400]";
    case 0x800: return "[800]";
    default: return NULL;
    }
}

const char *
mf_ct_state_name(uint16_t bit)
{
    switch (bit) {
    case CS_NEW: return "new";
    case CS_ESTABLISHED: return "est";
    case CS_RELATED: return "rel";
    case CS_REPLY_DIR: return "rpl";
    case CS_INVALID: return "inv";
    case CS_TRACKED: return "trk";
    case CS_SRC_NAT: return "snat";
    case CS_DST_NAT: return "dnat";
    default: return NULL;
    }
}

/* Text parsing. */

static uint16_t
flag_from_name(const struct mf_field *mf, const char *name, size_t len)
{
    for (unsigned int i = 0; i < 16; i++) {
        uint16_t bit = 1u << i;
        const char *n = (mf->string == MFS_TCP_FLAGS
                         ? mf_tcp_flag_name(bit) : mf_ct_state_name(bit));

        if (n && strlen(n) == len && !strncmp(n, name, len)) {
            return bit;
        }
    }
    return 0;
}

/* "+syn-ack", or "syn|ack" (exact over all flags). */
static char *
parse_flags(const struct mf_field *mf, const char *s, uint16_t *valuep,
            uint16_t *maskp)
{
    uint16_t value = 0, mask = 0;
    const char *p = s;
    bool signed_form = (*s == '+' || *s == '-');

    while (*p) {
        bool set = true;
        const char *name;
        uint16_t bit;

        if (signed_form) {
            if (*p != '+' && *p != '-') {
                return xasprintf("invalid flags '%s' for '%s'", s, mf->name);
            }
            set = *p++ == '+';
        }
        name = p;
        while (*p && *p != '+' && *p != '-' && *p != '|') {
            p++;
        }
        bit = flag_from_name(mf, name, p - name);
        if (!bit) {
            return xasprintf("unknown flag '%.*s' for '%s'",
                             (int) (p - name), name, mf->name);
        }
        if (mask & bit) {
            return xasprintf("flag '%.*s' given twice for '%s'",
                             (int) (p - name), name, mf->name);
        }
        mask |= bit;
        value |= set ? bit : 0;
        if (!signed_form) {
            if (*p == '|') {
                p++;
            } else if (*p) {
                return xasprintf("invalid flags '%s' for '%s'", s, mf->name);
            }
        }
    }
    if (!signed_form) {
        union mf_value ones;

        mf_all_ones(mf, &ones);
        mask = mf->host_order ? ones.u16 : ntohs(ones.be16);
    }
    *valuep = value;
    *maskp = mask;
    return NULL;
}

static void
put_uint(const struct mf_field *mf, uint64_t x, union mf_value *v)
{
    union mf_subvalue sv;

    memset(&sv, 0, sizeof sv);
    sv.be64[1] = htobe64(x);
    mf_subvalue_to_value(mf, &sv, v);
}

static char *
parse_uint(const struct mf_field *mf, const char *s, union mf_value *v)
{
    uint64_t x;

    if (mf->n_bytes == 16) {
        /* 128-bit: hexadecimal only (ct_label). */
        union mf_subvalue sv;
        const char *h = s;
        size_t n;

        if (h[0] == '0' && (h[1] == 'x' || h[1] == 'X')) {
            h += 2;
        } else if (str_to_u64(s, UINT64_MAX, &x)) {
            put_uint(mf, x, v);
            return NULL;
        } else {
            return xasprintf("invalid number '%s' for '%s'", s, mf->name);
        }
        n = strlen(h);
        if (!n || n > 32) {
            return xasprintf("invalid number '%s' for '%s'", s, mf->name);
        }
        memset(&sv, 0, sizeof sv);
        for (size_t i = 0; i < n; i++) {
            int c = (unsigned char) h[n - 1 - i];
            int d = isdigit(c) ? c - '0'
                    : isxdigit(c) ? tolower(c) - 'a' + 10 : -1;
            if (d < 0) {
                return xasprintf("invalid number '%s' for '%s'", s,
                                 mf->name);
            }
            sv.u8[15 - i / 2] |= (uint8_t) (d << (4 * (i % 2)));
        }
        mf_subvalue_to_value(mf, &sv, v);
        return NULL;
    }
    if (!str_to_u64(s, UINT64_MAX, &x)) {
        return xasprintf("invalid number '%s' for '%s'", s, mf->name);
    }
    if (mf->n_bits < 64 && x >> mf->n_bits) {
        return xasprintf("value '%s' does not fit in %u bits of '%s'",
                         s, mf->n_bits, mf->name);
    }
    put_uint(mf, x, v);
    return NULL;
}

static char *
parse_ipv4_mask(const char *s, const char *m, uint32_t *mask)
{
    uint64_t plen;

    if (strchr(m, '.')) {
        if (inet_pton(AF_INET, m, mask) != 1) {
            return xasprintf("invalid IP mask '%s'", m);
        }
        return NULL;
    }
    if (!str_to_u64(m, 32, &plen) || (m[0] == '0' && m[1] == 'x')) {
        return xasprintf("invalid prefix length in '%s'", s);
    }
    *mask = ip_mask_from_plen(plen);
    return NULL;
}

static char *
parse_ipv6_mask(const char *s, const char *m, struct in6_addr *mask)
{
    uint64_t plen;

    if (strchr(m, ':')) {
        if (inet_pton(AF_INET6, m, mask) != 1) {
            return xasprintf("invalid IPv6 mask '%s'", m);
        }
        return NULL;
    }
    if (!str_to_u64(m, 128, &plen) || (m[0] == '0' && m[1] == 'x')) {
        return xasprintf("invalid prefix length in '%s'", s);
    }
    ipv6_mask_from_plen(plen, mask);
    return NULL;
}

char *
mf_parse_value(const struct mf_field *mf, const char *s,
               const struct ofp_port_map *port_map, union mf_value *v)
{
    memset(v, 0, sizeof *v);
    switch (mf->string) {
    case MFS_DECIMAL:
    case MFS_HEXADECIMAL:
        return parse_uint(mf, s, v);
    case MFS_ETHERNET:
        if (!eth_addr_from_string(s, &v->mac)) {
            return xasprintf("invalid Ethernet address '%s'", s);
        }
        return NULL;
    case MFS_IPV4:
        if (inet_pton(AF_INET, s, &v->be32) != 1) {
            return xasprintf("invalid IP address '%s'", s);
        }
        return NULL;
    case MFS_IPV6:
        if (inet_pton(AF_INET6, s, &v->ipv6) != 1) {
            return xasprintf("invalid IPv6 address '%s'", s);
        }
        return NULL;
    case MFS_OFP_PORT:
        if (!ofp_port_parse(s, port_map, &v->u32)) {
            return xasprintf("invalid port '%s'", s);
        }
        return NULL;
    case MFS_FRAG:
    case MFS_TCP_FLAGS:
    case MFS_CT_STATE: {
        union mf_value mask;
        char *error = mf_parse(mf, s, port_map, v, &mask);

        if (!error && !mf_is_all_ones(mf, &mask)) {
            error = xasprintf("value '%s' for '%s' must not be masked",
                              s, mf->name);
        }
        return error;
    }
    }
    return xasprintf("cannot parse '%s'", mf->name);
}

static const struct {
    const char *name;
    uint8_t value, mask;
} frag_names[] = {
    { "no", 0, FLOW_NW_FRAG_ANY },
    { "yes", FLOW_NW_FRAG_ANY, FLOW_NW_FRAG_ANY },
    { "first", FLOW_NW_FRAG_ANY, FLOW_NW_FRAG_ANY | FLOW_NW_FRAG_LATER },
    { "later", FLOW_NW_FRAG_ANY | FLOW_NW_FRAG_LATER,
      FLOW_NW_FRAG_ANY | FLOW_NW_FRAG_LATER },
    { "not_later", 0, FLOW_NW_FRAG_LATER },
};

static char *
parse_special(const struct mf_field *mf, const char *s, union mf_value *v,
              union mf_value *m)
{
    if (mf->string == MFS_FRAG) {
        for (size_t i = 0; i < ARRAY_SIZE(frag_names); i++) {
            if (!strcmp(s, frag_names[i].name)) {
                v->u8 = frag_names[i].value;
                m->u8 = frag_names[i].mask;
                return NULL;
            }
        }
        return xasprintf("invalid fragment type '%s' (use no, yes, first, "
                         "later or not_later)", s);
    } else {
        uint16_t value = 0, mask = 0;
        char *error = parse_flags(mf, s, &value, &mask);

        if (error) {
            return error;
        }
        if (mf->host_order) {
            v->u16 = value;
            m->u16 = mask;
        } else {
            v->be16 = htons(value);
            m->be16 = htons(mask);
        }
        return NULL;
    }
}

char *
mf_parse(const struct mf_field *mf, const char *s,
         const struct ofp_port_map *port_map, union mf_value *value,
         union mf_value *mask)
{
    const char *slash = strchr(s, '/');
    char *head, *error;

    memset(value, 0, sizeof *value);
    memset(mask, 0, sizeof *mask);
    if (!*s) {
        return xasprintf("missing value for '%s'", mf->name);
    }
    if ((mf->string == MFS_TCP_FLAGS || mf->string == MFS_CT_STATE)
        && !isdigit((unsigned char) *s)) {
        return parse_special(mf, s, value, mask);
    }
    if (mf->string == MFS_FRAG) {
        return parse_special(mf, s, value, mask);
    }
    if (!slash) {
        if (mf->string == MFS_TCP_FLAGS || mf->string == MFS_CT_STATE) {
            error = parse_uint(mf, s, value);
        } else {
            error = mf_parse_value(mf, s, port_map, value);
        }
        if (!error) {
            mf_all_ones(mf, mask);
        }
        goto check;
    }
    if (mf->maskable == MFM_NONE) {
        return xasprintf("field '%s' does not support masking", mf->name);
    }
    head = xstrndup(s, slash - s);
    if (mf->string == MFS_TCP_FLAGS || mf->string == MFS_CT_STATE) {
        error = parse_uint(mf, head, value);
    } else {
        error = mf_parse_value(mf, head, port_map, value);
    }
    free(head);
    if (error) {
        return error;
    }
    switch (mf->string) {
    case MFS_IPV4:
        error = parse_ipv4_mask(s, slash + 1, &mask->be32);
        break;
    case MFS_IPV6:
        error = parse_ipv6_mask(s, slash + 1, &mask->ipv6);
        break;
    case MFS_ETHERNET:
        if (!eth_addr_from_string(slash + 1, &mask->mac)) {
            error = xasprintf("invalid Ethernet mask '%s'", slash + 1);
        }
        break;
    default:
        error = parse_uint(mf, slash + 1, mask);
        break;
    }
check:
    if (error) {
        return error;
    }
    if (!mf_is_value_valid(mf, value)) {
        return xasprintf("invalid value '%s' for '%s'", s, mf->name);
    }
    return NULL;
}

/* Text formatting. */

static void
format_flags(struct ds *s, const struct mf_field *mf, uint16_t value,
             uint16_t mask, uint16_t all)
{
    /* Bits without a name print as numbers, the form that parses back. */
    uint16_t shown = mask == all ? value : mask;
    for (unsigned int i = 0; i < 16; i++) {
        uint16_t bit = 1u << i;
        if ((shown & bit) && !(mf->string == MFS_TCP_FLAGS
                              ? mf_tcp_flag_name(bit)
                              : mf_ct_state_name(bit))) {
            ds_put_format(s, "0x%x", (unsigned int) value);
            if (mask != all) {
                ds_put_format(s, "/0x%x", (unsigned int) mask);
            }
            return;
        }
    }
    if (mask == all) {
        if (!value) {
            ds_put_cstr(s, "0");
            return;
        }
        for (unsigned int i = 0; i < 16; i++) {
            uint16_t bit = 1u << i;
            if (value & bit) {
                const char *n = (mf->string == MFS_TCP_FLAGS
                                 ? mf_tcp_flag_name(bit)
                                 : mf_ct_state_name(bit));
                if (n) {
                    ds_put_format(s, "%s|", n);
                } else {
                    ds_put_format(s, "0x%x|", bit);
                }
            }
        }
        ds_chomp(s, '|');
        return;
    }
    if (!mask) {
        ds_put_cstr(s, "0/0");
        return;
    }
    for (unsigned int i = 0; i < 16; i++) {
        uint16_t bit = 1u << i;
        if (mask & bit) {
            const char *n = (mf->string == MFS_TCP_FLAGS
                             ? mf_tcp_flag_name(bit)
                             : mf_ct_state_name(bit));
            ds_put_format(s, "%c%s", value & bit ? '+' : '-',
                          n ? n : "[Unknown]");
        }
    }
}

static uint64_t
value_low64(const struct mf_field *mf, const union mf_value *v)
{
    union mf_subvalue sv;

    mf_value_to_subvalue(mf, v, &sv);
    return be64toh(sv.be64[1]);
}

static void
format_hex128(struct ds *s, const struct mf_field *mf,
              const union mf_value *v)
{
    union mf_subvalue sv;
    size_t i = 0;

    mf_value_to_subvalue(mf, v, &sv);
    while (i < 15 && !sv.u8[i]) {
        i++;
    }
    ds_put_format(s, "0x%x", sv.u8[i]);
    for (i++; i < 16; i++) {
        ds_put_format(s, "%02x", sv.u8[i]);
    }
}

void
mf_format(const struct mf_field *mf, const union mf_value *value,
          const union mf_value *mask, const struct ofp_port_map *port_map,
          struct ds *s)
{
    bool exact = !mask || mf_is_all_ones(mf, mask);
    char buf[64];

    switch (mf->string) {
    case MFS_OFP_PORT:
        ofp_port_format(value->u32, port_map, s);
        break;
    case MFS_DECIMAL:
    case MFS_HEXADECIMAL:
        if (mf->n_bytes == 16) {
            format_hex128(s, mf, value);
            if (!exact) {
                ds_put_char(s, '/');
                format_hex128(s, mf, mask);
            }
        } else if (mf->string == MFS_DECIMAL && exact) {
            ds_put_format(s, "%llu",
                          (unsigned long long) value_low64(mf, value));
        } else {
            ds_put_format(s, "%#llx",
                          (unsigned long long) value_low64(mf, value));
            if (!exact) {
                ds_put_format(s, "/%#llx",
                              (unsigned long long) value_low64(mf, mask));
            }
        }
        break;
    case MFS_ETHERNET:
        ds_put_format(s, ETH_ADDR_FMT, ETH_ADDR_ARGS(value->mac));
        if (!exact) {
            ds_put_format(s, "/" ETH_ADDR_FMT, ETH_ADDR_ARGS(mask->mac));
        }
        break;
    case MFS_IPV4:
        inet_ntop(AF_INET, &value->be32, buf, sizeof buf);
        ds_put_cstr(s, buf);
        if (!exact) {
            int plen = ip_mask_to_plen(mask->be32);
            if (plen >= 0) {
                ds_put_format(s, "/%d", plen);
            } else {
                inet_ntop(AF_INET, &mask->be32, buf, sizeof buf);
                ds_put_format(s, "/%s", buf);
            }
        }
        break;
    case MFS_IPV6:
        inet_ntop(AF_INET6, &value->ipv6, buf, sizeof buf);
        ds_put_cstr(s, buf);
        if (!exact) {
            int plen = ipv6_mask_to_plen(&mask->ipv6);
            if (plen >= 0) {
                ds_put_format(s, "/%d", plen);
            } else {
                inet_ntop(AF_INET6, &mask->ipv6, buf, sizeof buf);
                ds_put_format(s, "/%s", buf);
            }
        }
        break;
    case MFS_FRAG: {
        uint8_t m = mask ? mask->u8 : 3;
        for (size_t i = 0; i < ARRAY_SIZE(frag_names); i++) {
            if (frag_names[i].value == (value->u8 & m)
                && frag_names[i].mask == m) {
                ds_put_cstr(s, frag_names[i].name);
                return;
            }
        }
        ds_put_format(s, "%#x/%#x", value->u8, m);
        break;
    }
    case MFS_TCP_FLAGS:
    case MFS_CT_STATE: {
        union mf_value ones;
        uint16_t all, v, m;

        mf_all_ones(mf, &ones);
        if (mf->host_order) {
            all = ones.u16;
            v = value->u16;
            m = mask ? mask->u16 : all;
        } else {
            all = ntohs(ones.be16);
            v = ntohs(value->be16);
            m = mask ? ntohs(mask->be16) : all;
        }
        format_flags(s, mf, v, m, all);
        break;
    }
    }
}
