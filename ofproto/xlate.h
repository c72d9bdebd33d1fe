/* xlate: translation of one flow through an ofproto's OpenFlow tables into
 * datapath actions and the wildcard mask that makes them valid for a whole
 * megaflow.
 *
 * The walk is recursive over tables (goto_table and resubmit re-enter
 * xlate_table() with a depth limit of XLATE_MAX_DEPTH and at most
 * XLATE_MAX_RESUBMITS lookups in all, as OVS).  Every field the walk
 * examines is OR'ed into the caller's wildcards: the classifier reports
 * what each lookup examined, and the actions add what they read (in_port
 * is always exact; NORMAL adds dl_src, dl_dst and the outer VLAN; move,
 * output:FIELD, dec_ttl, select-group hashing add their sources).
 *
 * Field writes (set_field, load, move, mod_*, dec_ttl, VLAN actions)
 * change a working copy of the flow, so later tables match the modified
 * packet.  They reach the datapath lazily, as OVS's commit: right before
 * an output, a packet-in or the end of a clone, the differences between
 * the working flow and the flow the datapath will have at that point
 * become DPA_POP_VLAN/DPA_PUSH_VLAN (VLAN stack) and DPA_SET_MASKED (only
 * the changed bits).  Every written bit is also made exact in the
 * wildcards, which is what makes "only the changed bits" valid for every
 * packet of the megaflow.  clone(...) and group buckets run on a copy:
 * the working flow is restored after them.
 *
 * Who calls it: ofproto.c, for upcalls (workers), revalidation, trace and
 * packet-out (main thread).  The caller holds the ofproto's table read
 * lock for the whole call.  Never allocates; the only side effect is MAC
 * learning when 'may_learn' is set, and a reference to (allocating on
 * first use) a recirculation id for each ct(table=N) state (xlate_out).
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
#define XLATE_MAX_RESUBMITS (XLATE_MAX_DEPTH * XLATE_MAX_DEPTH)
                                /* table lookups per xlate, in total */
#define XLATE_MAX_RULES 32      /* rules whose counters one megaflow feeds */
#define XLATE_MAX_GROUPS 16     /* group buckets one megaflow feeds */
#define XLATE_MAX_CLONE_NEST 4  /* nested DPA_CLONEs the datapath runs */
#define XLATE_MAX_RECIRC_IDS 8  /* ct(table=N) actions in one xlate */

struct group;

/* A bucket a packet went through ('first': the group's first use in this
 * xlate, so that the group's own counters count the packet once). */
struct xlate_group_use {
    struct group *group;
    uint16_t bucket;
    bool first;
};

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
    bool too_many_rules;        /* also set for more than MAX_GROUPS */

    /* Group buckets used, in order (no references taken). */
    struct xlate_group_use groups[XLATE_MAX_GROUPS];
    size_t n_groups;

    /* The flow as the actions left it (for trace's "Final flow"). */
    struct flow final_flow;

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

    /* Recirculation ids this translation emitted, one reference each
     * (also after an error): the caller hands them to the megaflow cookie
     * or drops them with xlate_out_release_recirc() once the actions have
     * run. */
    uint32_t recirc_ids[XLATE_MAX_RECIRC_IDS];
    size_t n_recirc_ids;
};

/* Translates.  Returns 0, or a negative error (action buffer overflow,
 * depth limit), in which case the packet must be dropped and nothing
 * installed. */
int xlate_actions(const struct xlate_in *, struct xlate_out *);

/* ---- Recirculation (ct(table=N)) --------------------------------------
 *
 * ct(table=N) emits DPA_CT then DPA_RECIRC(id).  The id names a frozen
 * xlate state: the table to continue in and what the datapath key does
 * not carry (registers, metadata).  A recirculated upcall (recirc_id != 0)
 * resumes in that table with that state.  Ids are deduplicated by content
 * through a hash map (the same state always gets the same id while it is
 * in use, so megaflows stay stable) and found by id through another.
 * They are reference-counted: every xlate takes one reference per id it
 * emits (xlate_out.recirc_ids); a megaflow cookie keeps them for the life
 * of the megaflow, other callers drop them after executing or formatting
 * the actions.  The last reference frees the id.  At most
 * XLATE_MAX_RECIRC ids are in use; past that, translation fails and the
 * packet is dropped.  Thread-safe (a mutex; taken on upcalls, revalidation
 * and when cookies die, never on the megaflow hit path). */
#define XLATE_MAX_RECIRC 65536
struct xlate_recirc;
struct xlate_recirc *xlate_recirc_create(void);
void xlate_recirc_destroy(struct xlate_recirc *);   /* accepts NULL */
/* Drops one reference to 'id' (freed with the last one). */
void xlate_recirc_unref(struct xlate_recirc *, uint32_t id);
/* Drops the references 'xo' holds and empties its list. */
void xlate_out_release_recirc(struct xlate_recirc *, struct xlate_out *);
/* Number of ids in use. */
size_t xlate_recirc_count(struct xlate_recirc *);

/* Checks a ct() action for a flow-mod: exec(...) may only set ct_mark and
 * ct_label (and only with commit) or hold a nat; returns NULL or a
 * malloc'ed error. */
struct ofpact_conntrack;
char *xlate_check_ct(const struct ofpact_conntrack *);

/* Encoding of struct dpa_userspace 'reason' for CONTROLLER actions:
 * the OpenFlow reason in the low byte, the table id in the next. */
#define XLATE_USERSPACE_REASON(REASON, TABLE) \
    ((uint32_t) (REASON) | (uint32_t) (TABLE) << 8)

#endif /* xlate.h */
