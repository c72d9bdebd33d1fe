/* ofpact: OpenFlow actions in a compact, self-describing buffer.
 *
 * An action list is a byte buffer of records.  Each record starts with a
 * struct ofpact header {type, len}; 'len' is the record's unpadded size
 * (header included) and records start at 8-byte aligned offsets, so the
 * next record is at ROUND_UP(len, OFPACT_ALIGNTO).  The empty list is
 * "drop".  Nested lists (clone(...), ct(exec(...))) are stored right after
 * the nesting record's fixed part, and its 'len' covers them.
 *
 * struct ofpacts is the growable buffer the parser and ofproto build lists
 * in (malloc'ed: control plane only).  A finished list is usually copied
 * into its rule and read from there with OFPACT_FOR_EACH.
 *
 * Normalization: the parser produces one canonical form per meaning, so
 * format(parse(x)) is what OVS prints and equal meaning gives equal bytes:
 * "2", "output:2" -> OFPACT_OUTPUT{2}; "normal", "output:NORMAL" ->
 * OFPACT_NORMAL; likewise FLOOD, ALL, IN_PORT, LOCAL; "controller",
 * "output:CONTROLLER", "controller:N", "controller(...)" ->
 * OFPACT_CONTROLLER.  OFPACT_OUTPUT never carries a reserved port.
 *
 * Threads: plain data.  Parse/format allocate (control plane); reading a
 * finished list is safe from any thread as long as nobody frees it.
 */
#ifndef TS_OFPACT_H
#define TS_OFPACT_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "meta-flow.h"
#include "packets.h"
#include "util.h"

struct ds;
struct match;
struct ofp_port_map;

#define OFPACT_ALIGNTO 8

enum ofpact_type {
    OFPACT_OUTPUT = 1,      /* struct ofpact_output */
    OFPACT_NORMAL,          /* struct ofpact */
    OFPACT_FLOOD,           /* struct ofpact */
    OFPACT_ALL,             /* struct ofpact */
    OFPACT_IN_PORT,         /* struct ofpact */
    OFPACT_LOCAL,           /* struct ofpact */
    OFPACT_CONTROLLER,      /* struct ofpact_controller */

    /* Next issue (shapes fixed now; parse/format may lag, see report). */
    OFPACT_RESUBMIT,        /* struct ofpact_resubmit */
    OFPACT_GOTO_TABLE,      /* struct ofpact_goto_table */
    OFPACT_SET_FIELD,       /* struct ofpact_set_field */
    OFPACT_LOAD,            /* struct ofpact_set_field (mask = subfield) */
    OFPACT_MOVE,            /* struct ofpact_move */
    OFPACT_OUTPUT_REG,      /* struct ofpact_output_reg */
    OFPACT_PUSH_VLAN,       /* struct ofpact_push_vlan */
    OFPACT_POP_VLAN,        /* struct ofpact_pop_vlan */
    OFPACT_SET_VLAN_VID,    /* struct ofpact_vlan_vid */
    OFPACT_SET_VLAN_PCP,    /* struct ofpact_vlan_pcp */
    OFPACT_SET_ETH_SRC,     /* struct ofpact_mac */
    OFPACT_SET_ETH_DST,     /* struct ofpact_mac */
    OFPACT_SET_IPV4_SRC,    /* struct ofpact_ipv4 */
    OFPACT_SET_IPV4_DST,    /* struct ofpact_ipv4 */
    OFPACT_SET_IP_DSCP,     /* struct ofpact_dscp */
    OFPACT_SET_IP_ECN,      /* struct ofpact_ecn */
    OFPACT_SET_IP_TTL,      /* struct ofpact_ip_ttl */
    OFPACT_SET_L4_SRC_PORT, /* struct ofpact_l4_port */
    OFPACT_SET_L4_DST_PORT, /* struct ofpact_l4_port */
    OFPACT_DEC_TTL,         /* struct ofpact */
    OFPACT_GROUP,           /* struct ofpact_group */
    OFPACT_NOTE,            /* struct ofpact_note */
    OFPACT_CLONE,           /* struct ofpact_nest */
    OFPACT_CT,              /* struct ofpact_conntrack */
    OFPACT_CT_CLEAR,        /* struct ofpact */
    OFPACT_NAT,             /* struct ofpact_nat */
    OFPACT_N_TYPES
};

struct ofpact {
    uint16_t type;          /* enum ofpact_type */
    uint16_t len;           /* unpadded length, header included */
};

struct ofpact_output {
    struct ofpact ofpact;
    uint32_t port;          /* ordinary port, 1..OFPP_MAX-1 */
    uint16_t max_len;       /* meaningful only for the controller */
    uint16_t pad;
};

/* OpenFlow packet-in reasons (OFPR_*). */
enum ofp_packet_in_reason {
    OFPR_NO_MATCH = 0,
    OFPR_ACTION = 1,
    OFPR_INVALID_TTL = 2,
    OFPR_ACTION_SET = 3,
    OFPR_GROUP = 4,
    OFPR_PACKET_OUT = 5,
};

struct ofpact_controller {
    struct ofpact ofpact;
    uint16_t max_len;       /* bytes of packet to send, 65535 = all */
    uint16_t controller_id;
    uint8_t reason;         /* enum ofp_packet_in_reason */
    bool pause;
    uint16_t userdata_len;
    uint8_t userdata[];     /* 'userdata_len' bytes */
};

struct ofpact_resubmit {
    struct ofpact ofpact;
    uint32_t in_port;       /* OFPP_IN_PORT: keep the packet's in_port */
    uint8_t table_id;       /* 255: the current table */
    bool with_ct_orig;
    uint16_t pad;
};

struct ofpact_goto_table {
    struct ofpact ofpact;
    uint8_t table_id;
    uint8_t pad[3];
};

/* OFPACT_SET_FIELD: field = (field & ~mask) | (value & mask), in the
 * field's mf_value representation.  OFPACT_LOAD is the same operation
 * written "load:V->FIELD[a..b]": 'mask' covers exactly the subfield. */
struct ofpact_set_field {
    struct ofpact ofpact;
    uint32_t pad;
    const struct mf_field *field;
    union mf_value value;
    union mf_value mask;
};

struct ofpact_move {
    struct ofpact ofpact;
    uint32_t pad;
    struct mf_subfield src;
    struct mf_subfield dst; /* same n_bits as src */
};

struct ofpact_output_reg {
    struct ofpact ofpact;
    uint16_t max_len;
    uint16_t pad;
    struct mf_subfield src; /* port number read from here */
};

struct ofpact_push_vlan {
    struct ofpact ofpact;
    uint16_t ethertype;     /* host order: 0x8100 or 0x88a8 */
    uint16_t pad;
};

struct ofpact_pop_vlan {
    struct ofpact ofpact;
    bool strip_vlan;        /* written "strip_vlan" rather than "pop_vlan" */
    uint8_t pad[3];
};

struct ofpact_vlan_vid {
    struct ofpact ofpact;
    uint16_t vlan_vid;      /* host order, 0..4095 */
    bool push_vlan_if_needed; /* mod_vlan_vid (true) vs set_vlan_vid */
    uint8_t pad;
};

struct ofpact_vlan_pcp {
    struct ofpact ofpact;
    uint8_t vlan_pcp;       /* 0..7 */
    bool push_vlan_if_needed;
    uint16_t pad;
};

struct ofpact_mac {
    struct ofpact ofpact;
    struct eth_addr mac;
    uint16_t pad;
};

struct ofpact_ipv4 {
    struct ofpact ofpact;
    uint32_t ipv4;          /* network order */
};

struct ofpact_dscp {
    struct ofpact ofpact;
    uint8_t dscp;           /* TOS byte with ECN bits zero (mod_nw_tos) */
    uint8_t pad[3];
};

struct ofpact_ecn {
    struct ofpact ofpact;
    uint8_t ecn;            /* 0..3 */
    uint8_t pad[3];
};

struct ofpact_ip_ttl {
    struct ofpact ofpact;
    uint8_t ttl;
    uint8_t pad[3];
};

struct ofpact_l4_port {
    struct ofpact ofpact;
    uint16_t port;          /* host order */
    uint8_t flow_ip_proto;  /* protocol from the match, 0 if unknown */
    uint8_t pad;
};

struct ofpact_group {
    struct ofpact ofpact;
    uint32_t group_id;
};

struct ofpact_note {
    struct ofpact ofpact;
    uint16_t length;
    uint16_t pad;
    uint8_t data[];
};

/* OFPACT_CLONE: the nested list follows the struct, up to 'ofpact.len'. */
struct ofpact_nest {
    struct ofpact ofpact;
    uint32_t pad;
    struct ofpact actions[];
};

enum nx_conntrack_flags {
    NX_CT_F_COMMIT = 1 << 0,
    NX_CT_F_FORCE = 1 << 1,
};

#define NX_CT_RECIRC_NONE 255

/* OFPACT_CT: ct(commit,zone=Z,table=T,alg=A,exec(...)).  The exec list
 * (set_field to ct_mark/ct_label, and nat) follows the struct. */
struct ofpact_conntrack {
    struct ofpact ofpact;
    uint16_t flags;         /* NX_CT_F_* */
    uint16_t zone_imm;      /* zone when zone_src.field is NULL */
    struct mf_subfield zone_src; /* zone from a register (16 bits) */
    uint16_t alg;           /* 0, 21 (ftp) or 69 (tftp) */
    uint8_t recirc_table;   /* NX_CT_RECIRC_NONE: no recirculation */
    uint8_t pad[5];
    struct ofpact actions[];
};

enum nx_nat_flags {
    NX_NAT_F_SRC = 1 << 0,
    NX_NAT_F_DST = 1 << 1,
    NX_NAT_F_PERSISTENT = 1 << 2,
    NX_NAT_F_PROTO_HASH = 1 << 3,
    NX_NAT_F_PROTO_RANDOM = 1 << 4,
};

struct ofpact_nat {
    struct ofpact ofpact;
    uint16_t flags;         /* NX_NAT_F_* */
    uint16_t range_af;      /* AF_UNSPEC, AF_INET or AF_INET6 */
    union {
        struct {
            uint32_t min, max;  /* network order */
        } ipv4;
        struct {
            struct in6_addr min, max;
        } ipv6;
    } range_addr;
    uint16_t proto_min;     /* host order, 0 if none */
    uint16_t proto_max;
    uint32_t pad;
};

/* A growable action list.  Caller owns the struct; 'data' is malloc'ed. */
struct ofpacts {
    uint8_t *data;
    size_t size;
    size_t allocated;
};

void ofpacts_init(struct ofpacts *);
void ofpacts_release(struct ofpacts *);       /* accepts NULL */
void ofpacts_clear(struct ofpacts *);
/* Appends a zeroed record of 'len' bytes (>= sizeof(struct ofpact)) with
 * 'type'; returns it (valid until the next append). */
struct ofpact *ofpacts_put(struct ofpacts *, enum ofpact_type, size_t len);
/* Appends raw bytes (used to add a nested list's records). */
void *ofpacts_put_uninit(struct ofpacts *, size_t len);
/* Fixes the 'len' of the record at 'ofs' to reach the end of the buffer
 * (call after appending a nested list). */
void ofpacts_update_len(struct ofpacts *, size_t ofs);
/* Copy of the list owned by the caller (free()). */
struct ofpact *ofpacts_clone(const struct ofpact *, size_t len);

#define OFPACT_PUT_DECL(ENUM, STRUCT)                                    \
    static inline struct STRUCT *                                        \
    ofpact_put_##ENUM(struct ofpacts *o)                                 \
    {                                                                    \
        return (struct STRUCT *) (void *)                                \
            ofpacts_put(o, OFPACT_##ENUM, sizeof(struct STRUCT));        \
    }                                                                    \
    static inline const struct STRUCT *                                  \
    ofpact_get_##ENUM(const struct ofpact *a)                            \
    {                                                                    \
        return (const struct STRUCT *) (const void *) a;                 \
    }
OFPACT_PUT_DECL(OUTPUT, ofpact_output)
OFPACT_PUT_DECL(NORMAL, ofpact)
OFPACT_PUT_DECL(FLOOD, ofpact)
OFPACT_PUT_DECL(ALL, ofpact)
OFPACT_PUT_DECL(IN_PORT, ofpact)
OFPACT_PUT_DECL(LOCAL, ofpact)
OFPACT_PUT_DECL(CONTROLLER, ofpact_controller)
OFPACT_PUT_DECL(RESUBMIT, ofpact_resubmit)
OFPACT_PUT_DECL(GOTO_TABLE, ofpact_goto_table)
OFPACT_PUT_DECL(SET_FIELD, ofpact_set_field)
OFPACT_PUT_DECL(LOAD, ofpact_set_field)
OFPACT_PUT_DECL(MOVE, ofpact_move)
OFPACT_PUT_DECL(OUTPUT_REG, ofpact_output_reg)
OFPACT_PUT_DECL(PUSH_VLAN, ofpact_push_vlan)
OFPACT_PUT_DECL(POP_VLAN, ofpact_pop_vlan)
OFPACT_PUT_DECL(SET_VLAN_VID, ofpact_vlan_vid)
OFPACT_PUT_DECL(SET_VLAN_PCP, ofpact_vlan_pcp)
OFPACT_PUT_DECL(SET_ETH_SRC, ofpact_mac)
OFPACT_PUT_DECL(SET_ETH_DST, ofpact_mac)
OFPACT_PUT_DECL(SET_IPV4_SRC, ofpact_ipv4)
OFPACT_PUT_DECL(SET_IPV4_DST, ofpact_ipv4)
OFPACT_PUT_DECL(SET_IP_DSCP, ofpact_dscp)
OFPACT_PUT_DECL(SET_IP_ECN, ofpact_ecn)
OFPACT_PUT_DECL(SET_IP_TTL, ofpact_ip_ttl)
OFPACT_PUT_DECL(SET_L4_SRC_PORT, ofpact_l4_port)
OFPACT_PUT_DECL(SET_L4_DST_PORT, ofpact_l4_port)
OFPACT_PUT_DECL(DEC_TTL, ofpact)
OFPACT_PUT_DECL(GROUP, ofpact_group)
OFPACT_PUT_DECL(NOTE, ofpact_note)
OFPACT_PUT_DECL(CLONE, ofpact_nest)
OFPACT_PUT_DECL(CT, ofpact_conntrack)
OFPACT_PUT_DECL(CT_CLEAR, ofpact)
OFPACT_PUT_DECL(NAT, ofpact_nat)

static inline const struct ofpact *
ofpact_next(const struct ofpact *a)
{
    return (const struct ofpact *) (const void *)
        ((const uint8_t *) a + ROUND_UP(a->len, OFPACT_ALIGNTO));
}

static inline const struct ofpact *
ofpact_end(const struct ofpact *a, size_t len)
{
    /* An empty list may be NULL, and NULL + 0 is undefined in C. */
    return len ? (const struct ofpact *) (const void *)
                 ((const uint8_t *) a + len)
               : a;
}

/* Iterates over the list of 'LEN' bytes at 'OFPACTS' (const). */
#define OFPACT_FOR_EACH(POS, OFPACTS, LEN)                               \
    for ((POS) = (OFPACTS); (POS) < ofpact_end(OFPACTS, LEN);           \
         (POS) = ofpact_next(POS))

/* Nested list of a CLONE or CT record. */
const struct ofpact *ofpact_nested(const struct ofpact *, size_t *len);

/* Parses "output:1,normal,..." (the text after "actions=", may be empty
 * or "drop") and appends to 'ofpacts'.  Returns NULL or a malloc'ed error
 * naming the offending action, e.g. "unknown action 'foo'".  Errors carry
 * no position; ofp_parse_flow_mod() adds it. */
char *ofpacts_parse(const char *text, const struct ofp_port_map *,
                    struct ofpacts *);
/* Checks the list against the match it runs under (set_field and
 * load/move prerequisites, e.g. mod_nw_src needs ip).  NULL or a malloc'ed
 * error. */
char *ofpacts_check(const struct ofpact *, size_t len, const struct match *);
/* Appends the list as ovs-ofctl prints it ("drop" when empty). */
void ofpacts_format(const struct ofpact *, size_t len,
                    const struct ofp_port_map *, struct ds *);
bool ofpacts_equal(const struct ofpact *, size_t, const struct ofpact *,
                   size_t);
/* True if the list outputs to 'port' (for out_port filters): OFPACT_OUTPUT
 * with that port, or the reserved port of NORMAL/FLOOD/... */
bool ofpacts_output_to_port(const struct ofpact *, size_t len,
                            uint32_t port);
const char *ofpact_name(enum ofpact_type);

#endif /* ofpact.h */
