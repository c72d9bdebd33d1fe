/* flow: the flow key, extracted once per packet, and its wildcards.
 *
 * struct flow is the one key format used by every layer: flow extraction
 * fills it, the exact-match cache compares it, the megaflow classifier
 * masks it, ofproto's tables match it, conntrack and recirculation update
 * it in place (a recirculated packet is never re-parsed).
 *
 * Layout rules (classifier and caches depend on them):
 *   - The struct is a whole number of 64-bit words (FLOW_U64S) with no
 *     hidden padding; every pad byte is an explicit member and is always
 *     zero, so flows compare and hash as words.
 *   - Metadata first, then conntrack, then L2, L3, L4, so that typical
 *     masks touch few words.
 *   - Multi-byte packet fields are in network byte order (as in the
 *     packet); metadata (ports, registers, ct_mark, ct_zone, recirc_id) is
 *     in host order.
 *   - Conventions from Open vSwitch: ARP's opcode lives in nw_proto (low 8
 *     bits), its SPA/TPA in nw_src/nw_dst and SHA/THA in arp_sha/arp_tha;
 *     ND's source/target link-layer addresses reuse arp_sha/arp_tha; ICMP
 *     type/code live in tp_src/tp_dst; VLAN TCIs carry VLAN_CFI (0x1000)
 *     when a tag is present.
 */
#ifndef TS_FLOW_H
#define TS_FLOW_H 1

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include "packets.h"
#include "util.h"

struct dp_packet;

#define FLOW_N_REGS 16
#define FLOW_N_VLANS 2

/* ct_state bits (OVS values). */
enum {
    CS_NEW = 1 << 0,
    CS_ESTABLISHED = 1 << 1,
    CS_RELATED = 1 << 2,
    CS_REPLY_DIR = 1 << 3,
    CS_INVALID = 1 << 4,
    CS_TRACKED = 1 << 5,
    CS_SRC_NAT = 1 << 6,
    CS_DST_NAT = 1 << 7,
};

/* nw_frag bits (OVS values). */
enum {
    FLOW_NW_FRAG_ANY = 1 << 0,   /* any fragment */
    FLOW_NW_FRAG_LATER = 1 << 1, /* not the first fragment */
};

struct flow_vlan {
    uint16_t tpid;              /* be: 0x8100 or 0x88a8, 0 if no tag */
    uint16_t tci;               /* be: PCP, VLAN_CFI if present, VID */
};

struct flow {
    /* Metadata (host order). */
    uint32_t recirc_id;         /* 0 for a packet fresh from a port */
    uint32_t in_port;           /* port number on the bridge */
    uint32_t pkt_mark;
    uint32_t dp_hash;
    uint64_t metadata;
    uint32_t regs[FLOW_N_REGS];

    /* Conntrack state (filled by ct(); all zero before). */
    uint16_t ct_state;          /* CS_* */
    uint16_t ct_zone;
    uint32_t ct_mark;
    uint64_t ct_label[2];       /* [0] low 64 bits, [1] high 64 bits */
    uint32_t ct_nw_src;         /* be: original-direction tuple */
    uint32_t ct_nw_dst;
    struct in6_addr ct_ipv6_src;
    struct in6_addr ct_ipv6_dst;
    uint16_t ct_tp_src;         /* be */
    uint16_t ct_tp_dst;         /* be */
    uint8_t ct_nw_proto;
    uint8_t pad1[3];

    /* L2. */
    struct eth_addr dl_dst;
    struct eth_addr dl_src;
    uint16_t dl_type;           /* be: Ethertype after all VLAN tags */
    uint16_t pad2;
    struct flow_vlan vlans[FLOW_N_VLANS]; /* outermost first */

    /* L3. */
    struct in6_addr ipv6_src;
    struct in6_addr ipv6_dst;
    struct in6_addr nd_target;
    uint32_t nw_src;            /* be: IPv4 source, ARP SPA */
    uint32_t nw_dst;            /* be: IPv4 destination, ARP TPA */
    uint32_t ipv6_label;        /* be: low 20 bits */
    uint8_t nw_frag;            /* FLOW_NW_FRAG_* */
    uint8_t nw_tos;             /* DSCP and ECN bits */
    uint8_t nw_ttl;             /* TTL or hop limit */
    uint8_t nw_proto;           /* IP protocol, ARP opcode (low 8 bits) */
    struct eth_addr arp_sha;    /* ARP SHA, ND source link-layer addr */
    struct eth_addr arp_tha;    /* ARP THA, ND target link-layer addr */

    /* L4. */
    uint16_t tcp_flags;         /* be: low 12 bits */
    uint16_t tp_src;            /* be: port, or ICMP type */
    uint16_t tp_dst;            /* be: port, or ICMP code */
    uint16_t pad3;
    uint32_t pad4;
};

#define FLOW_U64S (sizeof(struct flow) / sizeof(uint64_t))
BUILD_ASSERT(sizeof(struct flow) % sizeof(uint64_t) == 0);
/* No hidden padding: the last member ends at the end of the struct. */
BUILD_ASSERT(offsetof(struct flow, pad4) + 4 == sizeof(struct flow));

/* A mask over struct flow: a 1-bit means "this bit matters". */
struct flow_wildcards {
    struct flow masks;
};

/* Result flags of flow_extract(). */
enum flow_extract_flags {
    FLOW_EXTRACT_TRUNCATED = 1 << 0, /* a header ran past the packet end */
    FLOW_EXTRACT_MALFORMED = 1 << 1, /* a header field was invalid */
};

/* Parses the packet's headers into 'flow' (which it zeroes first, then
 * sets in_port from the packet) and sets the packet's l3_ofs and l4_ofs.
 * Never reads past the end of the packet: a truncated or malformed packet
 * is extracted as far as it is valid, and the return value says what was
 * wrong (0 for a clean parse). */
int flow_extract(struct dp_packet *, struct flow *);

/* Words. */
static inline const uint64_t *flow_u64(const struct flow *f)
{
    return (const uint64_t *) f;
}
static inline uint64_t *flow_u64_rw(struct flow *f)
{
    return (uint64_t *) f;
}
uint32_t flow_hash(const struct flow *, uint32_t basis);
static inline bool flow_equal(const struct flow *a, const struct flow *b)
{
    return !memcmp(a, b, sizeof *a);
}
/* dst = src & mask, word by word. */
void flow_apply_mask(struct flow *dst, const struct flow *src,
                     const struct flow_wildcards *);
/* True if 'a' and 'b' agree on every bit set in 'wc'. */
bool flow_equal_masked(const struct flow *a, const struct flow *b,
                       const struct flow_wildcards *);

void flow_wildcards_init_catchall(struct flow_wildcards *);
void flow_wildcards_init_exact(struct flow_wildcards *);
bool flow_wildcards_is_catchall(const struct flow_wildcards *);
/* dst |= src */
void flow_wildcards_or(struct flow_wildcards *dst,
                       const struct flow_wildcards *src);

/* Appends a human-readable description ("in_port=1,dl_src=...,...") of
 * the fields that matter for the packet's protocols to 's'. */
struct ds;
void flow_format(struct ds *, const struct flow *);

#endif /* flow.h */
