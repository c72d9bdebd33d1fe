/* ofproto: OpenFlow semantics for one bridge, over one dpif.
 *
 * What: an ofproto owns the bridge's OpenFlow tables (up to 255, created
 * lazily; rules kept in a priority classifier per table), its groups
 * (all, select, indirect, fast failover), the MAC learning
 * table used by the NORMAL action, the translation (xlate) from a flow to
 * datapath actions plus the wildcard mask that makes them valid for a
 * megaflow, and the revalidation that keeps the dpif's megaflow cache
 * consistent with the tables.
 *
 * Who calls it: vswitchd's bridge code (main thread) creates one ofproto per
 * bridge right after the dpif, tells it about ports, applies flow mods from
 * the control server, dumps flows, runs ofproto_run() from the event loop.
 * The dpif calls back into ofproto from its worker threads on megaflow
 * misses (upcall) and for DPA_USERSPACE actions (packet-in).
 *
 * Threads:
 *   - Every function declared here must be called from the main thread
 *     (the one that owns the dpif), except where noted.
 *   - Upcalls run in datapath workers.  They read the tables under a
 *     read lock; flow mods take the write lock only while changing the
 *     tables, never while calling into the dpif, and revalidate the
 *     megaflow cache (synchronously with the workers) before returning.
 *     Hence: when ofproto_flow_mod() returns 0, no packet is forwarded by
 *     a rule the mod replaced, changed or deleted.
 *   - The MAC learning table has its own mutex (learning happens in the
 *     upcall, in the workers).
 *   - Callbacks registered here (packet-in, flow-removed) are invoked from
 *     ofproto_run(), in the main thread.  The wakeup callback is the one
 *     exception: it may be called from any thread.
 *
 * MAC learning (NORMAL): learned in the upcall (worker) under the MAC
 * table's own mutex.  A new or moved station makes other megaflows stale;
 * workers cannot revalidate (that waits for the workers), so they flag it
 * and call the wakeup callback, and the next ofproto_run() revalidates.
 * NORMAL megaflows match dl_src and in_port exactly, so a station that
 * moves misses the cache and is relearned at once; megaflow statistics
 * refresh the entries of stations whose packets never upcall.
 *
 * Errors: functions return 0 or a negative errno / TS_ERR_* code; where an
 * 'errp' is taken, a failure also stores a malloc'ed message there (the
 * caller frees it) in house style, e.g.
 *   "cannot add flow: table 300 out of range".
 */
#ifndef TS_OFPROTO_H
#define TS_OFPROTO_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dpif;
struct ds;
struct flow;
struct match;
struct ofpacts;
struct ofp_flow_mod;
struct ofp_flow_stats;
struct ofp_group_mod;
struct ofp_group_stats;

struct ofproto;

/* ---- Lifecycle ---------------------------------------------------------- */

/* Creates the ofproto for bridge 'bridge_name' over 'dpif' (borrowed: the
 * caller destroys the dpif after ofproto_destroy()).  Registers the dpif's
 * upcall and userspace callbacks and installs the default flow
 * "table=0,priority=0,actions=NORMAL".  Never fails (aborts on OOM). */
struct ofproto *ofproto_create(const char *bridge_name, struct dpif *);
/* Same, but with empty tables (every packet is dropped until flows are
 * added): for rebuilding a bridge from the durable store. */
struct ofproto *ofproto_create_empty(const char *bridge_name, struct dpif *);
/* Unregisters from the dpif (flushing its megaflows, whose cookies belong
 * to this ofproto) and frees everything.  Accepts NULL. */
void ofproto_destroy(struct ofproto *);
const char *ofproto_name(const struct ofproto *);

/* ---- Ports -------------------------------------------------------------- */

/* The daemon adds a port to the dpif, then tells ofproto, so that NORMAL,
 * FLOOD and ALL know it.  'name' is copied.  Returns -EEXIST if
 * 'port_no' is already known.  Revalidates (flooding changes). */
int ofproto_port_added(struct ofproto *, uint32_t port_no, const char *name);
/* Forgets the port and its learned MAC addresses; revalidates.  Returns
 * -ENOENT if unknown. */
int ofproto_port_removed(struct ofproto *, uint32_t port_no);
/* Returns the OpenFlow port number of port 'name', or DPIF_PORT_NONE
 * (0xffff). */
uint32_t ofproto_port_by_name(const struct ofproto *, const char *name);

/* ---- Flow table --------------------------------------------------------- */

/* Applies one flow mod with OpenFlow semantics (see ofp-flow.h):
 *   - ADD: inserts, or replaces the rule with an identical match and
 *     priority in the table; the replacement starts with fresh counters
 *     and duration (OpenFlow 1.0 semantics, which is what ovs-ofctl
 *     add-flow shows by default).  With OFPFF_CHECK_OVERLAP, fails with
 *     -EEXIST if a rule of the same priority overlaps.
 *   - MODIFY (loose): changes the actions of every rule that is at least
 *     as specific as the mod's match (any priority) and whose cookie
 *     matches cookie/cookie_mask; the cookie too if 'modify_cookie'; the
 *     counters are kept unless OFPFF_RESET_COUNTS.  If nothing matches
 *     and cookie_mask is 0, the mod is an ADD (OpenFlow 1.0).
 *     MODIFY_STRICT: the rule with exactly that match and priority.
 *     out_port is ignored for modify (OpenFlow 1.1+).
 *   - DELETE / DELETE_STRICT: likewise; also filtered by out_port.
 *   - table_id 0xff means every table (not for ADD).
 * Table changes are followed by revalidation of the megaflow cache before
 * this returns.  Returns 0 or a negative error with a message in '*errp'
 * (may be NULL). */
int ofproto_flow_mod(struct ofproto *, const struct ofp_flow_mod *,
                     char **errp);
/* Applies 'n' flow mods atomically (a bundle): all are validated first;
 * if any is invalid nothing changes and the error names its index
 * ("flow mod 3: ...").  Otherwise all are applied under one write lock and
 * the cache is revalidated once: a packet sees either none or all of
 * them. */
int ofproto_flow_mod_batch(struct ofproto *, const struct ofp_flow_mod *mods,
                           size_t n, char **errp);

/* A bundle built as its mods arrive (the control server's BUNDLE_ADD):
 * ofproto_bundle_add() validates a mod against 'p' (which it does not
 * keep: the bundle outlives no bridge lookup) and, for an add, builds its
 * rule at once; ofproto_bundle_commit() applies every mod in order,
 * atomically as ofproto_flow_mod_batch() (an error names the mod's
 * 1-based index, "flow mod 3 (add): ..."), and empties the bundle whether
 * it succeeds or not.  Groups that adds use are checked again at the
 * commit.  Main thread only. */
struct ofproto_bundle;
struct ofproto_bundle *ofproto_bundle_create(void);
void ofproto_bundle_destroy(struct ofproto_bundle *);
size_t ofproto_bundle_count(const struct ofproto_bundle *);
int ofproto_bundle_add(struct ofproto_bundle *, const struct ofproto *p,
                       const struct ofp_flow_mod *, char **errp);
int ofproto_bundle_commit(struct ofproto_bundle *, struct ofproto *p,
                          char **errp);

/* A filter for dumps (ovs-ofctl dump-flows): a rule passes if it is in
 * 'table_id' (0xff: any), matches 'match' (NULL: any; loose = rule at
 * least as specific; strict = identical match and 'priority'), its cookie
 * agrees with 'cookie' on 'cookie_mask', and (if 'out_port' is not
 * DPIF_PORT_NONE) it outputs to 'out_port'. */
struct ofproto_flow_filter {
    const struct match *match;
    uint8_t table_id;
    bool strict;
    uint16_t priority;
    uint64_t cookie;
    uint64_t cookie_mask;
    uint32_t out_port;
};
#define OFPROTO_FLOW_FILTER_ALL \
    ((struct ofproto_flow_filter) { .table_id = 0xff, .out_port = 0xffff })

/* Called once per rule; 'stats' (and everything it points to) is
 * borrowed for the duration of the call.  The callback must not call back
 * into this ofproto. */
typedef void ofproto_flow_stats_cb(void *aux, const struct ofp_flow_stats *);

/* Dumps rules in ovs-ofctl order: by table, then priority descending, then
 * by creation order (stable).  Statistics are collected from the dpif
 * first, so counters, duration and idle age are current.  Returns the
 * number of rules reported.  ofproto_dump_flows() is the short form:
 * 'strict' there compares against priority 32768 (the default), so use
 * the filtered form for a strict dump at another priority. */
size_t ofproto_dump_flows(struct ofproto *, const struct match *filter,
                          uint8_t table_id, bool strict,
                          ofproto_flow_stats_cb *, void *aux);
size_t ofproto_dump_flows_filtered(struct ofproto *,
                                   const struct ofproto_flow_filter *,
                                   ofproto_flow_stats_cb *, void *aux);
/* Number of rules in 'table_id' (0xff: all tables). */
size_t ofproto_flow_count(const struct ofproto *, uint8_t table_id);

/* ---- Groups ------------------------------------------------------------ */

/* Applies one group-mod (see lib/ofp-group.h) with OpenFlow semantics:
 *   - ADD: fails with -EEXIST ("group 1 already exists") if present.
 *   - MODIFY: replaces type and buckets; -ENOENT if absent.
 *   - ADD_OR_MOD: either.
 *   - DELETE: removes the group (group_id OFPG_ALL: every group); not an
 *     error if absent.  As in OVS, the rules whose actions name a deleted
 *     group are deleted too, and reported to the flow-removed callback
 *     with OFPROTO_RR_GROUP_DELETE (so the daemon's store follows).
 * A flow mod whose actions name a group that does not exist is refused
 * ("group 5 does not exist"), as OVS does.
 * Buckets' actions are checked (a bucket may not name its own group,
 * limits: OFPG_MAX_BUCKETS buckets; group_id <= OFPG_MAX).  The megaflow
 * cache is revalidated before this returns.  Returns 0 or a negative error
 * with a malloc'ed message in '*errp' (may be NULL). */
int ofproto_group_mod(struct ofproto *, const struct ofp_group_mod *,
                      char **errp);

/* Called once per group, by ascending group id.  'desc' (command field
 * meaningless) and 'stats' are borrowed for the call; the callback must
 * not call back into this ofproto.  Statistics are collected from the
 * dpif first.  Packets are counted per group and per bucket when the
 * packet's megaflow went through the group. */
typedef void ofproto_group_cb(void *aux, const struct ofp_group_mod *desc,
                              const struct ofp_group_stats *stats);
/* Dumps every group ('group_id' OFPG_ALL) or just that one.  Returns the
 * number of groups reported. */
size_t ofproto_dump_groups(struct ofproto *, uint32_t group_id,
                           ofproto_group_cb *, void *aux);
size_t ofproto_group_count(const struct ofproto *);

/* ---- Periodic work ------------------------------------------------------ */

/* Called from the main loop: collects megaflow statistics into rule
 * counters, ages MAC entries, expires rules past their idle or hard
 * timeouts (removing them, revalidating, and reporting them to the
 * flow-removed callback), delivers queued packet-ins.  Cheap when there is
 * nothing to do. */
void ofproto_run(struct ofproto *);
/* time_msec() by which ofproto_run() should be called next (at most one
 * second away). */
long long ofproto_next_wakeup_msec(const struct ofproto *);

/* Reason a rule left the table (OpenFlow OFPRR_* values). */
enum ofproto_removed_reason {
    OFPROTO_RR_IDLE_TIMEOUT = 0,
    OFPROTO_RR_HARD_TIMEOUT = 1,
    OFPROTO_RR_DELETE = 2,
    OFPROTO_RR_GROUP_DELETE = 3,    /* its group was deleted */
};
/* Called from ofproto_run() (main thread) for every rule that expired,
 * and from ofproto_group_mod() for every rule removed because its group
 * was deleted, so that the daemon can drop it from its store and tell
 * controllers.
 * 'stats' is borrowed for the call. */
typedef void ofproto_flow_removed_cb(void *aux, const struct ofp_flow_stats *,
                                     enum ofproto_removed_reason);
void ofproto_set_flow_removed_cb(struct ofproto *, ofproto_flow_removed_cb *,
                                 void *aux);

/* ---- Packet in / out ---------------------------------------------------- */

/* A packet sent to the controller.  Everything is borrowed for the
 * duration of the callback. */
struct ofproto_packet_in {
    const void *packet;         /* first 'len' bytes of the packet */
    size_t len;
    size_t total_len;           /* length of the whole packet */
    uint32_t in_port;
    uint8_t reason;             /* OpenFlow OFPR_*: 0 no match, 1 action */
    uint8_t table_id;
    uint64_t cookie;            /* cookie of the rule that sent it */
    const struct flow *flow;
};
/* Packet-ins are queued by the workers (bounded, preallocated queue;
 * overflow is counted) and delivered to 'cb' from ofproto_run() in the
 * main thread.  With no callback set, packets sent to the controller are
 * dropped (counted). */
typedef void ofproto_packet_in_cb(void *aux, const struct ofproto_packet_in *);
void ofproto_set_packet_in_cb(struct ofproto *, ofproto_packet_in_cb *,
                              void *aux);
/* 'cb' is called from any thread (a datapath worker) when ofproto_run()
 * has work queued (packet-ins), e.g. to ev_async_send() the main loop.
 * It must be thread-safe and must not call into ofproto. */
void ofproto_set_wakeup_cb(struct ofproto *, void (*cb)(void *aux),
                           void *aux);

/* Runs 'ofpacts' on the 'len'-byte frame 'packet' (copied) as if received
 * on 'in_port' (DPIF_PORT_NONE: from the controller, no port; OUTPUT to
 * a real port is then always allowed), via xlate and dpif_execute().
 * Returns 0 or a negative error with a message in '*errp'. */
int ofproto_packet_out(struct ofproto *, uint32_t in_port,
                       const void *packet, size_t len,
                       const struct ofpacts *, char **errp);

/* ---- Introspection ------------------------------------------------------ */

/* Appends an ofproto/trace-style report for a packet with key 'flow':
 * the flow, each table visited with the rule matched (or "no match") and
 * its actions, then "Final flow", "Megaflow" (the wildcard mask xlate
 * computed) and "Datapath actions".  Read-only: learns no MAC address and
 * changes no counter.  "Final flow" is "unchanged" unless actions modified
 * fields.  Each ct(...,table=N) is then followed into table N in its own
 * section ("Recirculation conntrack action (...)"), as OVS does: without
 * a packet the connection state cannot be looked up, so the resumed flow
 * has the ct_state the flow text gives if it has +trk, else +new+trk
 * (OVS's default).  Returns 0, or a negative error if the translation
 * failed (the report then says why, e.g. resubmit depth exceeded). */
int ofproto_trace(struct ofproto *, const struct flow *, struct ds *out);
/* Same for the 'len'-byte frame 'packet' received on 'in_port': the flow
 * is extracted from the bytes (flow_extract).  At each ct(table=N) the
 * live connection table is consulted read-only (dpif_ct_lookup) and the
 * resumed pipeline sees the ct_state, zone, mark and label the real
 * packet would get now; the section header says "live table".  Nothing
 * is committed or updated.  Returns -EINVAL for an empty frame. */
int ofproto_trace_packet(struct ofproto *, uint32_t in_port,
                         const void *packet, size_t len, struct ds *out);

/* Appends the MAC learning table as ovs-appctl fdb/show does:
 *  " port  VLAN  MAC                Age"
 *  "    1     0  00:00:00:00:00:01    3"                              */
void ofproto_fdb_show(struct ofproto *, struct ds *out);
/* Removes every learned MAC address (revalidating). */
void ofproto_fdb_flush(struct ofproto *);
/* MAC learning limits: entries idle longer than 'idle_s' seconds expire
 * (default 300); at most 'max_entries' are kept (default 8192; the least
 * recently used is evicted). */
void ofproto_set_mac_aging(struct ofproto *, unsigned int idle_s,
                           size_t max_entries);

struct ofproto_stats {
    uint64_t n_upcalls;         /* xlates done for the datapath */
    uint64_t n_upcall_errors;   /* xlates that failed (packet dropped) */
    uint64_t n_revalidations;   /* dpif_revalidate() passes */
    uint64_t n_megaflows_evicted;   /* removed by revalidation */
    uint64_t n_packet_in;       /* delivered to the packet-in callback */
    uint64_t n_packet_in_dropped;   /* queue full or no callback */
    uint64_t n_rules_expired;
};
void ofproto_get_stats(const struct ofproto *, struct ofproto_stats *);
/* Recirculation ids (ct(table=N) states) in use: each lives while an
 * installed megaflow (or a translation in progress) names it. */
size_t ofproto_recirc_count(const struct ofproto *);

#endif /* ofproto.h */
