/* match: a flow plus wildcards, as used by OpenFlow rules.
 *
 * A struct match is "packets whose flow agrees with match.flow on every bit
 * set in match.wc".  Setters keep it normalized: bits of 'flow' outside the
 * mask are zero, so two equal matches compare equal bytewise.  Setters
 * neither add nor check prerequisites (the flow parser and
 * match_check_prereqs() do); callers that build matches by hand set
 * dl_type and nw_proto themselves.
 *
 * match_format() prints the match in Open vSwitch's normalized order and
 * spelling (ovs-ofctl dump-flows): "priority=N," when not the default
 * 32768, then metadata, ct_*, the protocol shorthand (ip, tcp, arp...),
 * registers, metadata, in_port, VLAN, dl_src, dl_dst, dl_type, L3, L4.
 *
 * Threads: plain data; the caller synchronizes.  Formatting allocates
 * (control plane only).
 */
#ifndef TS_MATCH_H
#define TS_MATCH_H 1

#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>
#include "flow.h"
#include "packets.h"

struct ds;
struct mf_field;
struct ofp_port_map;
union mf_value;

#define OFP_DEFAULT_PRIORITY 32768

struct match {
    struct flow flow;
    struct flow_wildcards wc;
};

void match_init_catchall(struct match *);
/* Exact match on every bit of 'flow'. */
void match_init_exact(struct match *, const struct flow *);
/* Makes 'flow' zero outside the mask. */
void match_zero_wildcarded_fields(struct match *);

bool match_equal(const struct match *, const struct match *);
uint32_t match_hash(const struct match *, uint32_t basis);
bool match_is_catchall(const struct match *);
/* True if 'flow' is in the set of packets 'match' describes. */
bool match_matches_flow(const struct match *, const struct flow *);

/* Generic field access.  'mask' NULL means exact.  Fields narrower than
 * their storage (dl_vlan, nw_ecn, icmp_type...) touch only their bits. */
void match_set_field(struct match *, const struct mf_field *,
                     const union mf_value *value,
                     const union mf_value *mask);
/* Wildcards the field entirely. */
void match_clear_field(struct match *, const struct mf_field *);
/* True if any bit of the field is matched. */
bool match_has_field(const struct match *, const struct mf_field *);

/* Returns NULL if every matched field's prerequisites are pinned by the
 * match, else a malloc'ed error naming the first offending field, e.g.
 * "prerequisites not met for 'tp_dst' (needs tcp, udp or sctp)". */
char *match_check_prereqs(const struct match *);

/* Typed setters (values in struct flow's byte order). */
void match_set_in_port(struct match *, uint32_t port);
void match_set_recirc_id(struct match *, uint32_t);
void match_set_dp_hash_masked(struct match *, uint32_t, uint32_t mask);
void match_set_pkt_mark_masked(struct match *, uint32_t, uint32_t mask);
void match_set_metadata_masked(struct match *, uint64_t, uint64_t mask);
void match_set_reg(struct match *, unsigned int idx, uint32_t);
void match_set_reg_masked(struct match *, unsigned int idx, uint32_t,
                          uint32_t mask);
void match_set_ct_state_masked(struct match *, uint16_t, uint16_t mask);
void match_set_ct_zone(struct match *, uint16_t);
void match_set_ct_mark_masked(struct match *, uint32_t, uint32_t mask);

void match_set_dl_type(struct match *, uint16_t be_type);
void match_set_dl_src(struct match *, struct eth_addr);
void match_set_dl_src_masked(struct match *, struct eth_addr,
                             struct eth_addr mask);
void match_set_dl_dst(struct match *, struct eth_addr);
void match_set_dl_dst_masked(struct match *, struct eth_addr,
                             struct eth_addr mask);
/* Outer TCI; 'be_tci' with VLAN_CFI for "tagged". */
void match_set_vlan_tci_masked(struct match *, uint16_t be_tci,
                               uint16_t be_mask);
/* dl_vlan=VID (host order, 0..4095): a tag with this VID is present.
 * dl_vlan=0xffff means "no tag" (OVS convention). */
void match_set_dl_vlan(struct match *, uint16_t vid);
void match_set_dl_vlan_pcp(struct match *, uint8_t pcp);

void match_set_nw_src_masked(struct match *, uint32_t be_ip,
                             uint32_t be_mask);
void match_set_nw_dst_masked(struct match *, uint32_t be_ip,
                             uint32_t be_mask);
void match_set_ipv6_src_masked(struct match *, const struct in6_addr *,
                               const struct in6_addr *mask);
void match_set_ipv6_dst_masked(struct match *, const struct in6_addr *,
                               const struct in6_addr *mask);
void match_set_nw_proto(struct match *, uint8_t);
void match_set_nw_tos(struct match *, uint8_t dscp_bits);
void match_set_nw_ecn(struct match *, uint8_t);
void match_set_nw_ttl(struct match *, uint8_t);
void match_set_nw_frag_masked(struct match *, uint8_t, uint8_t mask);

void match_set_tp_src_masked(struct match *, uint16_t be_port,
                             uint16_t be_mask);
void match_set_tp_dst_masked(struct match *, uint16_t be_port,
                             uint16_t be_mask);
void match_set_tcp_flags_masked(struct match *, uint16_t be_flags,
                                uint16_t be_mask);
void match_set_icmp_type(struct match *, uint8_t);
void match_set_icmp_code(struct match *, uint8_t);

/* minimatch: a compact, immutable copy of a normalized match, for storing
 * many rules (classifier rules, flow tables).  Only the 64-bit words of
 * struct flow whose mask is non-zero are kept: 'map' has bit i set when
 * mask word i is non-zero, and 'words' holds, for the set bits in
 * ascending order, first the n flow words and then the n mask words
 * (n = popcount(map); 'words' is NULL when n is 0).  A typical 5-field
 * rule takes 16 bytes here plus 80 for 'words', instead of 544 for a
 * struct match.
 *
 * Lifetime: minimatch_init() allocates 'words'; minimatch_destroy() frees
 * them.  A minimatch is never modified after init. */
struct minimatch {
    uint64_t map;
    uint64_t *words;
};
BUILD_ASSERT(FLOW_U64S <= 64);

/* Copies 'match', normalized (flow bits outside the mask dropped). */
void minimatch_init(struct minimatch *, const struct match *);
/* Same, into 'storage' (minimatch_storage_words() words), which the
 * caller owns: for embedding the words in a bigger allocation.  Such a
 * minimatch must not be passed to minimatch_destroy(). */
size_t minimatch_storage_words(const struct match *);
void minimatch_init_in(struct minimatch *, const struct match *,
                       uint64_t *storage);
void minimatch_destroy(struct minimatch *);
/* Rebuilds the full match. */
void minimatch_expand(const struct minimatch *, struct match *);
/* Rebuilds the full flow (zero outside the mask) or mask only. */
void minimatch_expand_flow(const struct minimatch *, struct flow *);
void minimatch_expand_mask(const struct minimatch *,
                           struct flow_wildcards *);
static inline unsigned int minimatch_n_words(const struct minimatch *mm)
{
    return (unsigned int) __builtin_popcountll(mm->map);
}
/* The packed flow and mask words (minimatch_n_words() each). */
static inline const uint64_t *minimatch_flow_words(const struct minimatch *mm)
{
    return mm->words;
}
static inline const uint64_t *minimatch_mask_words(const struct minimatch *mm)
{
    return mm->words + minimatch_n_words(mm);
}
bool minimatch_is_catchall(const struct minimatch *);
bool minimatch_equal(const struct minimatch *, const struct minimatch *);
/* True if 'mm' equals 'match' (which need not be normalized: bits of
 * match->flow outside its mask are ignored). */
bool minimatch_equal_match(const struct minimatch *, const struct match *);
bool minimatch_matches_flow(const struct minimatch *, const struct flow *);
/* True if every packet 'mm' matches, 'target' matches too (OpenFlow loose
 * match).  NULL target: always true. */
bool minimatch_is_loose_match(const struct minimatch *,
                              const struct match *target);
void minimatch_format(struct ds *, const struct minimatch *, int priority,
                      const struct ofp_port_map *);

/* Appends the match as ovs-ofctl prints it (no trailing comma; nothing
 * for a catch-all at the default priority).  'priority' is printed as
 * "priority=N," first unless it is OFP_DEFAULT_PRIORITY; pass
 * OFP_DEFAULT_PRIORITY to omit it. */
void match_format(struct ds *, const struct match *, int priority,
                  const struct ofp_port_map *);
/* Same, returned as a malloc'ed string owned by the caller. */
char *match_to_string(const struct match *, int priority,
                      const struct ofp_port_map *);

/* Compatibility: code written when rules stored a struct match (e.g.
 * ofproto's trace in xlate.c: match_format(s, &rule->cr.match, ...)) may
 * pass a struct minimatch to match_is_catchall() and match_format(); the
 * call goes to the minimatch version.  New code should call the
 * minimatch_*() functions directly. */
#define match_is_catchall(M)                                            \
    _Generic((M),                                                       \
             struct minimatch *: minimatch_is_catchall,                 \
             const struct minimatch *: minimatch_is_catchall,           \
             default: match_is_catchall)(M)
#define match_format(S, M, PRIORITY, PORT_MAP)                          \
    _Generic((M),                                                       \
             struct minimatch *: minimatch_format,                      \
             const struct minimatch *: minimatch_format,                \
             default: match_format)(S, M, PRIORITY, PORT_MAP)

#endif /* match.h */
