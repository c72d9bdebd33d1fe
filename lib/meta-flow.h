/* meta-flow: the catalogue of OpenFlow-visible fields of struct flow.
 *
 * Every field a user can match, set, load or move is described once here:
 * its names ("eth_src" and the alias "dl_src", the NXM/OXM name
 * "NXM_OF_ETH_SRC"), width, where it lives in struct flow, whether it can
 * be masked, which protocol it requires (its prerequisite) and whether an
 * action may write it.  Match parsing and printing, set_field/load/move,
 * the protocol codec (fields travel as TLVs keyed by enum mf_field_id) and
 * xlate's un-wildcarding all go through this table.
 *
 * Value representation (union mf_value): the field's n_bytes bytes at the
 * start of the union, in the byte order struct flow uses for it: network
 * order for packet fields (eth, ip, ports), host order for metadata
 * (in_port, registers, metadata, pkt_mark, recirc_id, dp_hash, ct_state,
 * ct_zone, ct_mark, ct_label).  Fields that are a part of a flow member
 * (dl_vlan is 12 bits of the TCI, nw_ecn 2 bits of nw_tos, icmp_type the
 * low byte of tp_src, arp_op the low byte of nw_proto) have their own
 * n_bytes-wide value: dl_vlan and arp_op are be16, dl_vlan_pcp, nw_ecn,
 * ip_dscp, icmp_* are u8.  xregN is a host-order u64 whose high half is
 * reg(2N) and low half reg(2N+1), as in Open vSwitch.  ct_label is two
 * host-order u64s, [0] the low half, exactly as in struct flow.
 *
 * Several fields share storage (arp_spa and nw_src, icmp_type and tp_src,
 * nd_sll and arp_sha, tp_src/tcp_src/udp_src/sctp_src): they have the same
 * flow location and differ in prerequisites.
 *
 * Subfields ("NXM_NX_REG0[0..15]", "reg0[]", "reg0[5]") number bits from
 * the least significant bit of the field's value.  Bit-level access goes
 * through union mf_subvalue, a 128-bit big-endian integer.
 *
 * Threads: everything here is const tables and pure functions; callable
 * from any thread.  Parse and format functions are control plane only
 * (they allocate).
 */
#ifndef TS_META_FLOW_H
#define TS_META_FLOW_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include "flow.h"
#include "packets.h"

struct ds;
struct match;
struct ofp_port_map;

enum mf_field_id {
    /* Metadata. */
    MFF_RECIRC_ID,
    MFF_DP_HASH,
    MFF_IN_PORT,
    MFF_PKT_MARK,
    MFF_METADATA,
    MFF_REG0, MFF_REG1, MFF_REG2, MFF_REG3,
    MFF_REG4, MFF_REG5, MFF_REG6, MFF_REG7,
    MFF_REG8, MFF_REG9, MFF_REG10, MFF_REG11,
    MFF_REG12, MFF_REG13, MFF_REG14, MFF_REG15,
    MFF_XREG0, MFF_XREG1, MFF_XREG2, MFF_XREG3,
    MFF_XREG4, MFF_XREG5, MFF_XREG6, MFF_XREG7,

    /* Conntrack. */
    MFF_CT_STATE,
    MFF_CT_ZONE,
    MFF_CT_MARK,
    MFF_CT_LABEL,
    MFF_CT_NW_PROTO,
    MFF_CT_NW_SRC,
    MFF_CT_NW_DST,
    MFF_CT_IPV6_SRC,
    MFF_CT_IPV6_DST,
    MFF_CT_TP_SRC,
    MFF_CT_TP_DST,

    /* L2. */
    MFF_DL_SRC,                 /* "eth_src", alias "dl_src" */
    MFF_DL_DST,                 /* "eth_dst", alias "dl_dst" */
    MFF_DL_TYPE,                /* "eth_type", alias "dl_type" */
    MFF_VLAN_TCI,               /* "vlan_tci": whole outer TCI */
    MFF_DL_VLAN,                /* "dl_vlan": outer VID (12 bits) */
    MFF_DL_VLAN_PCP,            /* "dl_vlan_pcp": outer PCP (3 bits) */
    MFF_VLAN_VID,               /* "vlan_vid": OXM style, VID | 0x1000 */
    MFF_VLAN_PCP,               /* "vlan_pcp": OXM style */

    /* L3. */
    MFF_NW_SRC,                 /* "ip_src", alias "nw_src" */
    MFF_NW_DST,                 /* "ip_dst", alias "nw_dst" */
    MFF_IPV6_SRC,
    MFF_IPV6_DST,
    MFF_IPV6_LABEL,
    MFF_NW_PROTO,               /* "nw_proto", alias "ip_proto" */
    MFF_NW_TOS,                 /* "nw_tos": TOS byte, DSCP bits only */
    MFF_IP_DSCP,                /* "ip_dscp": DSCP shifted right by 2 */
    MFF_NW_ECN,                 /* "nw_ecn", alias "ip_ecn" */
    MFF_NW_TTL,
    MFF_IP_FRAG,                /* "ip_frag", alias "nw_frag" */
    MFF_ARP_OP,
    MFF_ARP_SPA,
    MFF_ARP_TPA,
    MFF_ARP_SHA,
    MFF_ARP_THA,

    /* L4. */
    MFF_TP_SRC,                 /* "tp_src": TCP, UDP or SCTP port */
    MFF_TP_DST,
    MFF_TCP_SRC,
    MFF_TCP_DST,
    MFF_TCP_FLAGS,
    MFF_UDP_SRC,
    MFF_UDP_DST,
    MFF_SCTP_SRC,
    MFF_SCTP_DST,
    MFF_ICMP_TYPE,              /* ICMPv4 */
    MFF_ICMP_CODE,
    MFF_ICMPV6_TYPE,
    MFF_ICMPV6_CODE,
    MFF_ND_TARGET,
    MFF_ND_SLL,
    MFF_ND_TLL,

    MFF_N_IDS
};

enum mf_maskable {
    MFM_NONE,                   /* exact match or wildcard only */
    MFM_FULLY,                  /* any bitwise mask */
};

enum mf_prereq {
    MFP_NONE,
    MFP_ARP,                    /* dl_type is ARP or RARP */
    MFP_VLAN_VID,               /* a VLAN tag is present (OXM vlan_pcp) */
    MFP_IPV4,
    MFP_IPV6,
    MFP_IP_ANY,                 /* IPv4 or IPv6 */
    MFP_L4,                     /* IP and nw_proto TCP, UDP or SCTP */
    MFP_TCP,
    MFP_UDP,
    MFP_SCTP,
    MFP_ICMPV4,
    MFP_ICMPV6,
    MFP_ND,                     /* ICMPv6 type 135 or 136 */
    MFP_ND_SOLICIT,             /* ICMPv6 type 135 */
    MFP_ND_ADVERT,              /* ICMPv6 type 136 */
};

/* How a value is written as text. */
enum mf_string {
    MFS_DECIMAL,
    MFS_HEXADECIMAL,
    MFS_ETHERNET,
    MFS_IPV4,
    MFS_IPV6,
    MFS_OFP_PORT,               /* port number or reserved/mapped name */
    MFS_FRAG,                   /* no, yes, first, later, not_later */
    MFS_TCP_FLAGS,              /* +syn-ack or syn|ack */
    MFS_CT_STATE,               /* +trk+est or trk|est */
};

struct mf_field {
    enum mf_field_id id;
    const char *name;           /* canonical name, e.g. "eth_src" */
    const char *extra_name;     /* alias, e.g. "dl_src", or NULL */
    const char *nxm_name;       /* e.g. "NXM_OF_ETH_SRC", or NULL */
    unsigned int n_bytes;       /* width of the value in union mf_value */
    unsigned int n_bits;        /* significant low bits of the value */
    uint16_t flow_ofs;          /* offset of the storage in struct flow */
    uint16_t flow_len;          /* bytes of that storage */
    enum mf_maskable maskable;
    enum mf_string string;
    enum mf_prereq prereq;
    bool writable;              /* settable by set_field/load/move */
    bool host_order;            /* value is in host byte order */
};

/* A field value, 'n_bytes' long, in the representation described at the
 * top of this file. */
union mf_value {
    uint8_t u8;
    uint16_t be16;              /* or host u16 for host-order fields */
    uint32_t be32;
    uint64_t be64;
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;
    struct eth_addr mac;
    struct in6_addr ipv6;
    uint64_t u128[2];           /* ct_label: [0] low, [1] high (host) */
    uint8_t b[16];
};
BUILD_ASSERT(sizeof(union mf_value) == 16);

/* 128-bit big-endian integer: bit 0 is the least significant bit of
 * u8[15]. */
union mf_subvalue {
    uint8_t u8[16];
    uint64_t be64[2];
};

struct mf_subfield {
    const struct mf_field *field;
    unsigned int ofs;           /* first bit, counted from the LSB */
    unsigned int n_bits;        /* 1..field->n_bits */
};

/* Lookup.  The returned pointers are to const tables (never freed). */
const struct mf_field *mf_from_id(enum mf_field_id);
/* Accepts the canonical name, the alias and the NXM/OXM name.  Canonical
 * names and aliases are matched case-sensitively (as OVS does), NXM/OXM
 * names case-insensitively.  Returns NULL if unknown. */
const struct mf_field *mf_from_name(const char *);
const struct mf_field *mf_from_name_len(const char *, size_t len);

/* Values. */
void mf_get_value(const struct mf_field *, const struct flow *,
                  union mf_value *);
/* Sets the field in 'flow' (only its bits; shared storage keeps the
 * other bits, e.g. dl_vlan keeps the PCP). */
void mf_set_flow_value(const struct mf_field *, const union mf_value *,
                       struct flow *);
/* flow.field = (flow.field & ~mask) | (value & mask). */
void mf_set_flow_value_masked(const struct mf_field *,
                              const union mf_value *value,
                              const union mf_value *mask, struct flow *);
/* Reads the field's mask out of 'wc' (as a value). */
void mf_get_mask(const struct mf_field *, const struct flow_wildcards *,
                 union mf_value *mask);
/* Sets the field's mask in 'wc' to 'mask' (all-ones mask = exact). */
void mf_set_mask(const struct mf_field *, const union mf_value *mask,
                 struct flow_wildcards *);
/* Sets every bit of the field (exact) in 'wc'. */
void mf_mask_field(const struct mf_field *, struct flow_wildcards *);
/* Sets exact masks in 'wc' for the fields the prerequisite of 'mf'
 * examines (dl_type, nw_proto, the ICMPv6 type for ND fields). */
void mf_mask_prereqs(const struct mf_field *, struct flow_wildcards *);
/* Both of the above. */
void mf_mask_field_and_prereqs(const struct mf_field *,
                               struct flow_wildcards *);

bool mf_is_all_ones(const struct mf_field *, const union mf_value *);
bool mf_is_zero(const struct mf_field *, const union mf_value *);
/* Value with the field's n_bits low bits set (the exact mask). */
void mf_all_ones(const struct mf_field *, union mf_value *);
/* True if 'value' has no bits above n_bits and is valid for the field
 * (e.g. nw_tos has zero ECN bits, ip_frag is a valid combination). */
bool mf_is_value_valid(const struct mf_field *, const union mf_value *);

/* True if 'flow' satisfies the prerequisites of 'mf'. */
bool mf_are_prereqs_ok(const struct mf_field *, const struct flow *);
/* True if 'match' pins the prerequisites of 'mf' (exact masks on the
 * fields examined and values that satisfy them). */
bool mf_are_match_prereqs_ok(const struct mf_field *, const struct match *);
/* Text for an error: "ip", "tcp, udp or sctp", "arp or rarp"... */
const char *mf_prereq_string(enum mf_prereq);

/* Text.  Parse functions return NULL on success or a malloc'ed error
 * message (without position; the caller adds it), e.g.
 * "invalid IP address '10.0.0.300'". */
char *mf_parse_value(const struct mf_field *, const char *s,
                     const struct ofp_port_map *, union mf_value *);
/* Accepts "VALUE" (mask all ones) and, for maskable fields,
 * "VALUE/MASK" and CIDR "/LEN" for IP addresses; flag fields (tcp_flags,
 * ct_state) also take "+syn-ack" and "syn|ack". */
char *mf_parse(const struct mf_field *, const char *s,
               const struct ofp_port_map *, union mf_value *value,
               union mf_value *mask);
/* Appends the value (and "/mask" unless 'mask' is NULL or all ones). */
void mf_format(const struct mf_field *, const union mf_value *value,
               const union mf_value *mask, const struct ofp_port_map *,
               struct ds *);

/* Subfields. */
/* Parses "FIELD[]", "FIELD[BIT]", "FIELD[START..END]" (FIELD any name
 * mf_from_name() accepts) at '*sp' and advances '*sp' past it.  Returns
 * NULL or a malloc'ed error. */
char *mf_parse_subfield__(struct mf_subfield *, const char **sp);
/* Same, but the subfield must span all of 's'. */
char *mf_parse_subfield(struct mf_subfield *, const char *s);
/* "NXM_NX_REG0[0..15]" (NXM name when the field has one, else its name;
 * "[]" for the whole field, "[N]" for one bit). */
void mf_format_subfield(const struct mf_subfield *, struct ds *);
/* True if the subfield fits in its field. */
bool mf_subfield_is_valid(const struct mf_subfield *);

void mf_value_to_subvalue(const struct mf_field *, const union mf_value *,
                          union mf_subvalue *);
void mf_subvalue_to_value(const struct mf_field *, const union mf_subvalue *,
                          union mf_value *);
/* Reads the subfield's bits of 'flow' into the low bits of 'sv'. */
void mf_read_subfield(const struct mf_subfield *, const struct flow *,
                      union mf_subvalue *);
/* Low 64 bits of the above (for n_bits <= 64). */
uint64_t mf_get_subfield(const struct mf_subfield *, const struct flow *);
/* Writes the low n_bits of 'sv' into the subfield of 'flow'. */
void mf_write_subfield(const struct mf_subfield *,
                       const union mf_subvalue *, struct flow *);
void mf_set_subfield(const struct mf_subfield *, uint64_t value,
                     struct flow *);
/* Sets the subfield's bits in 'wc' (exact). */
void mf_mask_subfield(const struct mf_subfield *, struct flow_wildcards *);
/* The subfield as a mask of its field (its bits set). */
void mf_subfield_to_mask(const struct mf_subfield *, union mf_value *);

/* Copies n_bits bits from 'src' starting at bit 'src_ofs' to 'dst' at
 * 'dst_ofs' (bit 0 = LSB of byte [len-1]; big-endian bit strings). */
void mf_bitwise_copy(const void *src, unsigned int src_len,
                     unsigned int src_ofs, void *dst, unsigned int dst_len,
                     unsigned int dst_ofs, unsigned int n_bits);

/* Names of tcp flag and ct_state bits ("syn", "trk"...), NULL if none. */
const char *mf_tcp_flag_name(uint16_t bit);
const char *mf_ct_state_name(uint16_t bit);

#endif /* meta-flow.h */
