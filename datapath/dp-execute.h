/* dp-execute: runs datapath action lists (dpif.h's DPA_*) on a batch of
 * packets, and checks action lists before they are installed.
 *
 * The executor knows packets and flows, not ports or caches: output,
 * userspace, recirculation, clones and drop accounting go through the
 * caller's struct dp_exec_ops, so the same code serves the workers and
 * the main thread (dpif_execute).
 *
 * Packets: every packet of the batch is consumed (output, recirculated,
 * or freed with dp_packet_delete() at the end of the list), so the caller
 * must own them and run in the thread that owns their pools.  A packet
 * that an action outputs while later actions still use it is cloned
 * first (ops->clone); later actions never see or corrupt the copy sent.
 *
 * Flows: each packet carries its own struct flow, which SET_MASKED, VLAN,
 * HASH, RECIRC, CT and CT_CLEAR update as they change the packet, so that a
 * recirculated packet is looked up again without being re-parsed.
 *
 * Conntrack: DPA_CT runs conntrack_execute() once for the packets of the
 * batch that are not fragments (the batch shares one megaflow, hence one
 * ct() argument).  IP fragments go through the thread's ct_frag first:
 * held ones leave the batch; when a datagram completes, its reassembled
 * view is tracked and its fragments run the rest of the action list with
 * the view's ct results.  SET_MASKED of L3/L4 fields forgets the packet's
 * cached connection (dp_packet->ct_conn).
 *
 * Threads: reentrant; no globals, no allocation; conntrack takes its own
 * bucket locks. */
#ifndef TS_DP_EXECUTE_H
#define TS_DP_EXECUTE_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "dp-packet.h"
#include "dpif.h"
#include "flow.h"

/* Bounds checked by dp_actions_validate() and the executor. */
#define DP_EXEC_MAX_NEST 4          /* nested DPA_CLONE levels */
#define DP_EXEC_MAX_RECIRC 8        /* DPA_RECIRC depth per packet */

/* A batch of packets with their flow keys.  'flows[i]' belongs to
 * 'packets[i]'; the storage behind the flow pointers is the caller's. */
struct dp_exec_batch {
    uint32_t count;
    struct dp_packet *packets[NETDEV_MAX_BURST];
    struct flow *flows[NETDEV_MAX_BURST];
};

static inline void
dp_exec_batch_add(struct dp_exec_batch *b, struct dp_packet *p,
                  struct flow *flow)
{
    b->packets[b->count] = p;
    b->flows[b->count++] = flow;
}

enum dp_exec_drop {
    DP_EXEC_DROP_NOMEM,         /* clone pool empty, no headroom */
    DP_EXEC_DROP_UNSUPPORTED,   /* DPA_CT: conntrack not yet supported */
    DP_EXEC_DROP_RECIRC_DEPTH,  /* recirculated too often */
    DP_EXEC_DROP_INVALID,       /* action does not fit the packet */
};

struct dp_exec_ops {
    /* Consumes 'packet': queues it for port 'port_no' or drops it. */
    void (*output)(void *aux, uint32_t port_no, struct dp_packet *packet);
    /* DPA_USERSPACE: 'packet' and 'flow' are borrowed for the call. */
    void (*userspace)(void *aux, const struct dp_packet *,
                      const struct flow *, const struct dpa_userspace *);
    /* DPA_RECIRC: consumes every packet of 'batch' (whose flows carry
     * the new recirc_id); 'depth' counts recirculations so far. */
    void (*recirc)(void *aux, struct dp_exec_batch *batch, int depth);
    /* Returns a copy of 'packet' from a pool the calling thread owns, or
     * NULL if none is left. */
    struct dp_packet *(*clone)(void *aux, const struct dp_packet *packet);
    /* Counts 'n' packets dropped for 'reason' (the executor frees them). */
    void (*drop)(void *aux, enum dp_exec_drop reason, uint32_t n);
    /* Optional (may be NULL): like 'output' for 'n' packets at once, in
     * order; used for a batch's last, untruncated output to a fixed
     * port. */
    void (*output_batch)(void *aux, uint32_t port_no,
                         struct dp_packet *const packets[], uint32_t n);
};

/* Connection tracking state of the calling thread, for DPA_CT.  'ct' NULL:
 * DPA_CT drops (counted DP_EXEC_DROP_UNSUPPORTED).  'frag' and
 * 'frag_res' belong to the calling thread (ct-frag.h); 'frag' NULL: IP
 * fragments reach conntrack as they are (+trk+inv). */
struct conntrack;
struct ct_frag;
struct ct_frag_result;

struct dp_exec_ctx {
    const struct dp_exec_ops *ops;
    void *aux;
    struct conntrack *ct;
    struct ct_frag *frag;
    struct ct_frag_result *frag_res;
    long long now;              /* msec, for conntrack */
};

/* Checks that 'actions' is a well-formed list: lengths, argument sizes,
 * field ranges, VLAN TPIDs, nesting depth.  Returns 0 or -EINVAL.  The
 * executor trusts lists that passed. */
int dp_actions_validate(const void *actions, size_t size);

/* Runs 'actions' on every packet of 'batch' and consumes them all (see
 * the top of the file).  'depth' is the recirculation depth of the batch
 * (0 for packets fresh from a port). */
void dp_execute_actions(const struct dp_exec_ctx *, struct dp_exec_batch *,
                        const void *actions, size_t size, int depth);

/* Single-packet primitives (also used by tests). */
/* Applies a SET_MASKED argument to 'flow' and rewrites the packet's
 * headers that changed, fixing IP and L4 checksums incrementally (the
 * pseudo-header sum, for a partial checksum).  Fields with no header in
 * this packet change only in 'flow'. */
void dp_execute_set_masked(struct dp_packet *, struct flow *,
                           const struct dpa_set_masked *);
/* Return 0, or -ENOSPC (no headroom) / -EINVAL (too short). */
int dp_execute_push_vlan(struct dp_packet *, struct flow *,
                         const struct dpa_push_vlan *);
/* Removes the outer tag, if there is one. */
void dp_execute_pop_vlan(struct dp_packet *, struct flow *);
/* The direction-symmetric 5-tuple hash of DPA_HASH. */
uint32_t dp_execute_hash5(const struct flow *, uint32_t basis);
/* CRC32c (SCTP) over 'n' bytes, as stored in the SCTP header. */
uint32_t dp_execute_crc32c(const void *data, size_t n);

#endif /* dp-execute.h */
