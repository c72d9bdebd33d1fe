/* ct-nat: network address translation for the connection tracker, with
 * Open vSwitch's userspace semantics (ovs-actions(7) "nat").
 *
 * What.  Tuple choice for new connections (ct_nat_select(), declared in
 * conntrack-private.h, and its testable core ct_nat_choose()), header
 * rewrites of packets of NAT connections in both directions
 * (ct_nat_packet()) and of ICMP errors related to them
 * (ct_nat_related_icmp()).  Checksums are fixed incrementally (lib/csum.h);
 * a packet with DP_OFL_CSUM_PARTIAL keeps a pseudo-header sum in its L4
 * checksum field and only that sum is updated.  The flow key's L3/L4
 * fields are updated to match (the datapath never re-parses).
 *
 * Tuple choice (as OVS does it).  The address is picked from the range by
 * a hash of the original tuple (only of its source address with
 * "persistent", so a client keeps its NAT address); the port (ICMP: the
 * echo id) is kept when the resulting reply tuple is free, otherwise
 * candidates are probed from a start point that is a hash of the tuple
 * ("hash", the default) or random ("random", which also skips keeping the
 * original port).  Without a port range the source port moves within its
 * class as in OVS: 1-511, 600-1023 or 1024-65535.  DNAT without a port
 * range resolves a clash by moving the source port.  Probing is bounded:
 * at most CT_NAT_PORT_ATTEMPTS ports per address and CT_NAT_MAX_PROBES
 * candidates in all.  When nothing is free, -ENOSPC: the caller counts
 * nat_exhausted and this module counts it per zone too
 * (ct_nat_zone_exhausted()).
 *
 * Bare "nat" at commit (neither src nor dst) is an all-zero SNAT: the
 * reply tuple is the plain reverse unless that is taken, in which case the
 * source port moves (as Linux's null binding).
 *
 * Threads.  ct_nat_choose() and ct_nat_select() take no lock of their
 * own (the in-use callback may); the packet functions run with the
 * connection's owner stripe held (see conntrack-private.h).  The per-zone
 * counters are relaxed atomics. */
#ifndef TS_CT_NAT_H
#define TS_CT_NAT_H 1

#include <stdbool.h>
#include <stdint.h>
#include "conntrack.h"

#define CT_NAT_PORT_ATTEMPTS 128
#define CT_NAT_MAX_PROBES 1024

/* True if 'tuple' (a candidate reply tuple, with zone) is taken. */
typedef bool ct_nat_in_use_cb(void *aux, const struct ct_tuple *tuple);

struct ct_nat_request {
    const struct ct_tuple *orig;      /* the new connection's tuple */
    const struct ct_nat_action *nat;
    ct_nat_in_use_cb *in_use;
    void *aux;
    uint32_t hash_basis;              /* basis for non-persistent hashes */
};

/* Picks the reply tuple for req->orig (see the design note).  Writes
 * *rev and *applied (CT_NAT_SRC and/or CT_NAT_DST for what differs from
 * the plain reverse: 0 when nothing had to change).  Returns 0, -EINVAL
 * for a range of the wrong family or an empty range, or -ENOSPC when no
 * tuple is free (counted in the zone's exhaustion counter). */
int ct_nat_choose(const struct ct_nat_request *, struct ct_tuple *rev,
                  uint16_t *applied);

/* NAT tuple-space exhaustions seen in 'zone' since start (all trackers
 * of the process). */
uint64_t ct_nat_zone_exhausted(uint16_t zone);

/* ct_state bits (CS_SRC_NAT, CS_DST_NAT) for a connection whose applied
 * NAT is 'nat_flags' (CT_NAT_*). */
uint16_t ct_nat_cs_bits(uint16_t nat_flags);

#endif /* ct-nat.h */
