/* xlate: translation of one flow through an ofproto's OpenFlow tables into
 * datapath actions and the wildcard mask that makes them valid for a whole
 * megaflow.
 *
 * The walk is recursive over tables (goto_table and resubmit re-enter
 * xlate_table() with a depth limit), so that later actions slot in.  Every
 * field the walk examines is OR'ed into the caller's wildcards: the
 * classifier reports what each lookup examined, and the actions add what
 * they read (in_port is always exact; NORMAL adds dl_src, dl_dst and the
 * outer VLAN).
 *
 * Who calls it: ofproto.c, for upcalls (workers), revalidation, trace and
 * packet-out (main thread).  The caller holds the ofproto's table read
 * lock for the whole call.  Never allocates; the only side effect is MAC
 * learning when 'may_learn' is set.
 */
#ifndef TS_XLATE_H
#define TS_XLATE_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "dpif.h"
#include "flow.h"
#include "packets.h"

struct ds;
struct ofpact;
struct ofproto;
struct rule;

#define XLATE_MAX_DEPTH 64      /* nested table lookups (resubmit) */
#define XLATE_MAX_RULES 32      /* rules whose counters one megaflow feeds */

struct xlate_in {
    struct ofproto *ofproto;
    const struct flow *flow;
    /* If nonnull, these actions run instead of a table 0 lookup (packet
     * out); 'ofpacts_len' bytes. */
    const struct ofpact *ofpacts;
    size_t ofpacts_len;
    /* True for upcalls: NORMAL updates the MAC learning table.  False for
     * revalidation and trace: the table is only consulted. */
    bool may_learn;
    /* If nonnull, an ofproto/trace-style account of the walk is appended
     * (tables, rules, actions, NORMAL decisions). */
    struct ds *trace;
};

struct xlate_out {
    /* Caller's buffers: actions are appended to 'odp'; wildcards are
     * OR'ed into 'wc'. */
    struct dpa_buf *odp;
    struct flow_wildcards *wc;

    /* Rules matched, in order (no references taken).  If more than
     * XLATE_MAX_RULES matched, 'too_many_rules' is set and the result must
     * not be installed as a megaflow (the counters could not be fed). */
    struct rule *rules[XLATE_MAX_RULES];
    size_t n_rules;
    bool too_many_rules;

    /* NORMAL ran on a learnable source: (learn_mac, learn_vlan) seen on
     * learn_port.  Used to refresh the MAC entry from megaflow stats. */
    bool has_learn;
    struct eth_addr learn_mac;
    uint16_t learn_vlan;
    uint32_t learn_port;
    /* may_learn: learning added or moved an entry (other megaflows may be
     * stale).  !may_learn: the table does not (or no longer) bind the
     * source to this port, so a megaflow made from this flow would hide
     * the packets that must relearn it. */
    bool mac_changed;
    bool learn_stale;
};

/* Translates.  Returns 0, or a negative error (action buffer overflow,
 * depth limit), in which case the packet must be dropped and nothing
 * installed. */
int xlate_actions(const struct xlate_in *, struct xlate_out *);

/* Encoding of struct dpa_userspace 'reason' for CONTROLLER actions:
 * the OpenFlow reason in the low byte, the table id in the next. */
#define XLATE_USERSPACE_REASON(REASON, TABLE) \
    ((uint32_t) (REASON) | (uint32_t) (TABLE) << 8)

#endif /* xlate.h */
