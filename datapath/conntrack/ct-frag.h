/* ct-frag: IPv4 and IPv6 fragment reassembly in front of the connection
 * tracker, in the manner of Open vSwitch's userspace "ipf".
 *
 * What.  Conntrack can only track whole datagrams (the L4 header lives in
 * the first fragment only).  The datapath feeds every fragment that meets
 * a ct() action to ct_frag_process().  A fragment is held until its
 * datagram is complete; then the caller gets back all of the datagram's
 * original fragments (in arrival order) together with a reassembled view
 * (one packet holding the whole datagram, with a parsed flow key).  The
 * caller tracks (and NATs) the view, calls ct_frag_result_finish() to copy
 * the view's translated addresses and payload bytes back into the
 * fragments, and sends the fragments on: the switch never emits the
 * reassembled datagram.
 *
 * Bounds.  Every resource is preallocated at ct_frag_create(): the table
 * of datagrams being reassembled ('max_lists'), the fragments per datagram
 * ('max_frags_per_list', at most CT_FRAG_MAX_FRAGS), the bytes held in
 * all fragments ('max_bytes') and the buffers for reassembled views
 * ('n_views').  A datagram not completed within 'timeout_msec' of its
 * first fragment is dropped.  Overlapping fragments (RFC 5722) drop the
 * whole datagram; an exact duplicate of a held fragment is dropped alone.
 * Non-last fragments shorter than the minimum size are rejected (OVS's
 * min_frag_size, a defence against tiny-fragment floods).  A fragment
 * that cannot be held comes back as CT_FRAG_INVALID and, as in OVS, the
 * caller passes it through conntrack as +trk+inv.
 *
 * Ownership.  A held fragment belongs to ct_frag (which frees it with
 * dp_packet_delete() on expiry or rejection); fragments returned in a
 * result belong to the caller again.  The view stays ct_frag's and must
 * be given back with ct_frag_result_release().
 *
 * Threads.  A struct ct_frag is not thread-safe and is meant to be owned
 * by one datapath worker: the packets it holds come from, and are freed
 * to, that worker's pools.  Fragments of one datagram normally arrive on
 * one rx queue (RSS hashes fragments on addresses only). */
#ifndef TS_CT_FRAG_H
#define TS_CT_FRAG_H 1

#include <stdbool.h>
#include <stdint.h>
#include "flow.h"

struct dp_packet;
struct ds;

/* Hard cap on fragments per datagram (a 64 KB datagram of 1200-byte
 * fragments needs 55). */
#define CT_FRAG_MAX_FRAGS 64

struct ct_frag_config {
    uint32_t max_lists;           /* datagrams in reassembly; 0: 1000 */
    uint32_t max_frags_per_list;  /* 0 or > CT_FRAG_MAX_FRAGS: the cap */
    uint64_t max_bytes;           /* bytes held in fragments; 0: 4 MB */
    uint32_t timeout_msec;        /* 0: 15000 (as OVS) */
    uint32_t min_frag_size_v4;    /* L3 bytes of a non-last fragment;
                                   * 0: 1200 (as OVS) */
    uint32_t min_frag_size_v6;    /* 0: 1280 (as OVS) */
    uint32_t n_views;             /* reassembly buffers; 0: 2 */
    uint32_t hash_basis;          /* 0: random */
    long long (*now)(void);       /* clock in msec; NULL: time_msec */
};

enum ct_frag_verdict {
    CT_FRAG_NOT_FRAG = 0,   /* not a fragment: caller continues with it */
    CT_FRAG_HELD,           /* ct_frag owns the packet now */
    CT_FRAG_COMPLETE,       /* the result holds the datagram */
    CT_FRAG_INVALID,        /* rejected: caller keeps it, marks it +inv */
};

/* Counters (since creation).  "frags" count packets. */
struct ct_frag_stats {
    uint64_t accepted;        /* fragments held (or completing a list) */
    uint64_t completed;       /* datagrams reassembled */
    uint64_t invalid;         /* malformed fragment headers */
    uint64_t small;           /* non-last fragment below the minimum */
    uint64_t overlap;         /* fragments overlapping a held one */
    uint64_t duplicate;       /* exact duplicates dropped */
    uint64_t too_many;        /* fragments past max_frags_per_list */
    uint64_t no_mem;          /* fragments refused: max_bytes reached */
    uint64_t no_list;         /* fragments refused: max_lists reached */
    uint64_t no_view;         /* datagrams dropped: no reassembly buffer */
    uint64_t expired;         /* held fragments freed on timeout */
    uint64_t purged;          /* held fragments freed with a bad list */
    uint32_t n_lists;         /* datagrams in reassembly now */
    uint32_t n_frags;         /* fragments held now */
    uint64_t n_bytes;         /* bytes held now */
};

/* A completed datagram.  Filled by ct_frag_process(); the caller owns the
 * struct (it is large: keep it off small stacks or reuse one). */
struct ct_frag_result {
    struct dp_packet *view;   /* reassembled datagram, ct_frag's until
                               * ct_frag_result_release() */
    struct flow flow;         /* the view's key: metadata and ct fields
                               * from the completing fragment's flow,
                               * L2-L4 parsed from the view */
    uint32_t n_frags;
    struct dp_packet *frags[CT_FRAG_MAX_FRAGS];  /* arrival order */
    /* Private to ct_frag: where each fragment's payload sits. */
    struct {
        uint16_t frag_ofs;    /* payload offset in the fragment */
        uint16_t len;         /* payload bytes */
        uint32_t view_ofs;    /* offset in the view's L3 payload */
    } pos[CT_FRAG_MAX_FRAGS];
    uint16_t view_l3_len;     /* view's L3 length when handed out */
    uint16_t view_payload_ofs; /* view's L3 payload offset from L3 */
    bool ipv6;
};

/* Creates a reassembler ('cfg' may be NULL for the defaults).  Returns
 * NULL if the buffers cannot be allocated.  Control plane. */
struct ct_frag *ct_frag_create(const struct ct_frag_config *cfg);
/* Frees every held fragment and the reassembler.  Accepts NULL. */
void ct_frag_destroy(struct ct_frag *);

/* Feeds 'pkt' whose key is 'flow' (as extracted: l3_ofs set, nw_frag
 * says whether it is a fragment) for conntrack zone 'zone'.  Expires
 * timed-out datagrams first.  On CT_FRAG_COMPLETE fills 'res'. */
enum ct_frag_verdict ct_frag_process(struct ct_frag *, struct dp_packet *pkt,
                                     const struct flow *flow, uint16_t zone,
                                     struct ct_frag_result *res);

/* After conntrack has run on res->view: writes the view's L3 addresses
 * and its payload bytes back into each fragment (fixing each IPv4 header
 * checksum).  Returns 0, or -EMSGSIZE if the view's L3 length changed (a
 * length-changing rewrite cannot be spread over the original fragments:
 * the caller drops them). */
int ct_frag_result_finish(struct ct_frag_result *res);

/* Gives the view back.  The fragments in 'res' stay the caller's. */
void ct_frag_result_release(struct ct_frag *, struct ct_frag_result *res);

/* Drops datagrams older than the timeout; bounded by 'max' datagrams.
 * Returns how many were dropped.  Call from the worker's idle path. */
uint32_t ct_frag_run(struct ct_frag *, uint32_t max);

void ct_frag_get_stats(const struct ct_frag *, struct ct_frag_stats *);
/* Appends counters as "name=value" lines (for vsctl and logs). */
void ct_frag_format_stats(const struct ct_frag *, struct ds *);

#endif /* ct-frag.h */
