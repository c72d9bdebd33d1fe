/* conntrack-private: internals shared by the datapath/conntrack/ files.
 *
 * Who writes what.
 *   c1: conntrack.h, this header, ct-core.c (table, lookup, commit,
 *       zones, limits, stats, expectations, event queueing), ct-dump.c
 *       (snapshots, text format, dump, flush, event delivery),
 *       ct-tcp.c, ct-icmp.c, ct-other.c (UDP, SCTP, other IP protocols),
 *       ct-expiry.c (timeouts, policies, sweep).
 *   c2: ct-nat.c (ct_nat_*), ct-alg-ftp.c and ct-alg-tftp.c (ct_alg_*),
 *       ct-frag.c (ct-frag.h, called by the datapath before conntrack).
 *
 * Locking (see conntrack.h for the rule): every function here that takes
 * a 'struct ct_conn *' documents whether the caller holds the conn's
 * owner stripe ("locked") or nothing.  Fields of a connection marked
 * [const] never change after insertion and may be read by anyone holding
 * any pointer obtained under a lock.
 *
 * Memory.  An IPv4 connection is one slab object of
 * ct_conn_size(AF_INET) bytes: the key at the end is truncated to its
 * IPv4 form.  NEVER copy a struct ct_conn or struct ct_key by value or
 * take sizeof of them for IPv4 entries; use ct_key_* helpers.  Optional
 * data (labels, NAT reply key, helper state, parent) lives in a
 * struct ct_conn_ext from a second slab, attached on first need. */
#ifndef TS_CONNTRACK_PRIVATE_H
#define TS_CONNTRACK_PRIVATE_H 1

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include "conntrack.h"
#include "flow.h"
#include "util.h"

struct dp_packet;

/* ---- Keys ------------------------------------------------------------ */

/* The stored form of a tuple.  For IPv4 only the first 16 bytes exist
 * (CT_KEY_V4_SIZE). */
struct ct_key {
    uint16_t zone;
    uint8_t nw_proto;
    uint8_t family;             /* AF_INET or AF_INET6 */
    uint16_t src_port;          /* be; ICMP: the id */
    uint16_t dst_port;          /* be; ICMP: the id */
    union {
        struct {
            uint32_t src, dst;  /* be */
        } v4;
        struct {
            struct in6_addr src, dst;
        } v6;
    } a;
};
#define CT_KEY_V4_SIZE 16
#define CT_KEY_V6_SIZE 40

/* Conversions between the full tuple and the stored key. */
void ct_key_from_tuple(struct ct_key *, const struct ct_tuple *);
void ct_key_to_tuple(const struct ct_key *, struct ct_tuple *);
bool ct_key_equals_tuple(const struct ct_key *, const struct ct_tuple *);
/* Swaps source and destination (addresses and ports). */
void ct_tuple_reverse(struct ct_tuple *dst, const struct ct_tuple *src);
bool ct_tuple_equals(const struct ct_tuple *, const struct ct_tuple *);
/* Direction-symmetric hash: a tuple and its reverse hash alike.  ICMP
 * type and code are not hashed. */
uint32_t ct_tuple_hash(const struct ct_tuple *, uint32_t basis);

/* ---- Connections ----------------------------------------------------- */

/* A hash-chain node.  A connection's own node files its original key;
 * a NAT connection's ext holds a second node that files the reply key. */
struct ct_node {
    struct ct_node *next;       /* bucket chain, owned by the bucket */
    uint32_t hash;              /* [const] ct_tuple_hash of the key */
    uint8_t is_rev;             /* [const] 1: the ext's reply node */
    uint8_t pad[3];
};

enum ct_l4_type {
    CT_L4_OTHER,                /* other IP protocols: by addresses */
    CT_L4_TCP,
    CT_L4_UDP,                  /* also UDP-Lite, DCCP: port based */
    CT_L4_ICMP,                 /* ICMP and ICMPv6 queries */
    CT_L4_SCTP,
};

enum ct_conn_flags {
    CT_CONN_F_SEEN_REPLY = 1 << 0,
    CT_CONN_F_NAT = 1 << 1,       /* ext->rev is filed in the table */
    CT_CONN_F_ALG_RELATED = 1 << 2, /* created from an expectation */
    CT_CONN_F_DEAD = 1 << 3,      /* unlinked; memory may be reused */
};

/* Per-direction TCP tracking (van Rooij): 28 bytes for both peers. */
struct ct_tcp_peer_state {
    uint32_t seqlo[2];          /* max seq sent (next expected end) */
    uint32_t seqhi[2];          /* max seq the peer's window allows */
    uint32_t max_win[2];        /* largest window seen, unscaled */
    uint8_t wscale[2];          /* CT_WSCALE_* flags | shift */
    uint8_t state[2];           /* enum ct_tcp_state */
};
#define CT_WSCALE_MASK 0x0f
#define CT_WSCALE_FLAG 0x80     /* window scale option seen */
#define CT_WSCALE_UNKNOWN 0x40  /* picked up mid-stream */

/* The connection: owned by the table; fields other than [const] ones are
 * protected by the owner stripe (the stripe of node.hash's bucket).
 * [const] fields: node.hash, id, l4_type, key, ext pointer once set. */
struct ct_conn {
    struct ct_node node;
    uint32_t expiration;        /* ct-relative ms, see ct_time() */
    uint32_t id;                /* [const] unique, for dumps */
    uint32_t mark;
    uint8_t l4_type;            /* [const] enum ct_l4_type */
    uint8_t flags;              /* enum ct_conn_flags */
    uint8_t l4_state;           /* UDP/ICMP/SCTP/other state */
    uint8_t tm;                 /* enum ct_tm: the timer last applied */
    struct ct_conn_ext *ext;    /* NULL or optional data */
    uint64_t packets[2];        /* [0] original, [1] reply */
    uint64_t bytes[2];
    union {
        struct ct_tcp_peer_state tcp;
        struct {
            uint8_t type;       /* original-direction ICMP type */
            uint8_t code;
        } icmp;
        struct {
            uint32_t vtag[2];   /* verification tags per direction */
        } sctp;
    } l4;
    struct ct_key key;          /* [const] original direction; MUST be
                                 * last (truncated for IPv4) */
};
size_t ct_conn_size(int family);

/* Helper state, private to c2's ct-alg-*.c (zeroed on attach). */
struct ct_alg_data {
    int32_t seq_skew;           /* FTP NAT: payload length change */
    uint8_t seq_skew_dir;       /* direction whose seq is shifted */
    uint8_t pad[3];
    uint64_t priv[2];
};

/* Optional data of a connection, attached on first need (labels, NAT,
 * helper, parent).  Owned by the connection, freed with it. */
struct ct_conn_ext {
    struct ct_conn *conn;       /* [const] back pointer */
    struct ct_node rev_node;    /* files 'rev' when CT_CONN_F_NAT */
    struct ct_tuple rev;        /* reply-direction tuple as reply packets
                                 * carry it (NAT: translated) */
    uint64_t label[2];
    uint16_t nat_flags;         /* CT_NAT_SRC / CT_NAT_DST applied */
    uint8_t alg;                /* enum ct_alg */
    uint8_t has_parent;
    struct ct_tuple parent;     /* helper-related: parent's orig tuple */
    struct ct_alg_data alg_data;
};

/* Reads the connection's tuples.  Any pointer obtained under a lock. */
void ct_conn_orig_tuple(const struct ct_conn *, struct ct_tuple *);
/* Locked: NAT connections read ext->rev. */
void ct_conn_reply_tuple(const struct ct_conn *, struct ct_tuple *);

/* ---- Expectations (helpers) ------------------------------------------ */

/* A connection a helper expects (FTP data, TFTP transfer).  'tuple' is
 * the expected original tuple; src_port 0 is a wildcard (any source
 * port).  A new packet matching an expectation is +new+rel; committing
 * it creates a connection with CT_CONN_F_ALG_RELATED, the parent tuple,
 * the expectation's mark and label, and, if 'nat' is set, 'rev' as its
 * reply tuple (c2 precomputes it; with a wildcard source port, core
 * sets rev.dst_port to the packet's source port).  One use: the
 * expectation is removed when matched by a commit, when the parent goes
 * away, or on expiry. */
struct ct_expectation {
    struct ct_expectation *next;   /* private to ct-core.c */
    struct ct_tuple tuple;
    struct ct_tuple parent;        /* parent's original tuple */
    uint32_t parent_id;
    uint32_t mark;
    uint64_t label[2];
    uint8_t alg;                   /* enum ct_alg of the parent */
    bool nat;                      /* 'rev' and nat_flags are valid */
    uint16_t nat_flags;
    struct ct_tuple rev;
    uint32_t expiration;           /* private to ct-core.c */
};

/* Adds a copy of 'exp' (expiring with the parent's current timeout, at
 * most 'timeout_ms' from now).  Returns 0, -EEXIST if an identical
 * expectation exists, -ENOSPC past CT_MAX_EXPECTATIONS.  May be called
 * with the parent's stripe held (lock order: stripe -> expectation). */
#define CT_MAX_EXPECTATIONS 4096
int ct_expect_add(struct conntrack *, const struct ct_expectation *exp,
                  uint32_t timeout_ms, long long now_ms);

/* ---- Hooks implemented by c2 ----------------------------------------- */

/* ct-nat.c.  Chooses the reply tuple of a new connection committed with
 * nat(src|dst=...).  'orig' is the packet's original tuple (with zone);
 * writes into *rev the tuple reply packets will carry (for SNAT: source
 * = orig.dst side unchanged, destination = the translated source) and
 * into *applied CT_NAT_SRC and/or CT_NAT_DST.  A candidate is free if
 * !ct_tuple_in_use(ct, candidate); the caller holds no lock; the final
 * insert rechecks and may call again (at most 4 times) on a race.
 * Returns 0, or -ENOSPC when no tuple is free (caller counts
 * nat_exhausted, the packet stays +new uncommitted). */
int ct_nat_select(struct conntrack *, const struct ct_tuple *orig,
                  const struct ct_nat_action *, struct ct_tuple *rev,
                  uint16_t *applied);
/* ct-nat.c.  Rewrites the packet's L3/L4 headers and checksums (honoring
 * DP_OFL_CSUM_PARTIAL) and the flow's nw_src, nw_dst, ipv6_src, ipv6_dst,
 * tp_src and tp_dst for a packet of NAT connection 'conn' travelling in
 * direction 'reply' (false: original).  Locked.  No allocation.  Not
 * called for related ICMP errors. */
void ct_nat_packet(struct dp_packet *, struct flow *,
                   const struct ct_conn *, bool reply);
/* ct-nat.c.  For an ICMP/ICMPv6 error related to NAT connection 'conn'
 * (its inner packet travels in the direction opposite to 'reply'):
 * rewrites the outer addresses and the inner header, and fixes the
 * checksums.  Locked. */
void ct_nat_related_icmp(struct dp_packet *, struct flow *,
                         const struct ct_conn *, bool reply);
/* ct-core.c (c1), for ct_nat_select: true if 'tuple' is the original or
 * reply tuple of a live connection in its zone.  Takes a stripe lock. */
bool ct_tuple_in_use(struct conntrack *, const struct ct_tuple *);

/* ct-alg-ftp.c / ct-alg-tftp.c.  Called for every valid packet of a
 * connection with a helper (ext->alg), after the state machine ran and
 * before NAT is applied (FTP sees untranslated payload addresses), with
 * the conn locked.  May parse the payload, call ct_expect_add(), and
 * rewrite the payload / adjust sequence numbers (ext->alg_data).
 * Returns 0, or a negative errno to mark the packet +inv. */
int ct_alg_ftp_process(struct conntrack *, struct dp_packet *,
                       struct flow *, struct ct_conn *, bool reply,
                       long long now_ms);
int ct_alg_tftp_process(struct conntrack *, struct dp_packet *,
                        struct flow *, struct ct_conn *, bool reply,
                        long long now_ms);

/* ---- Timers (ct-expiry.c) -------------------------------------------- */

/* OVS's userspace timers; each maps to one policy key. */
enum ct_tm {
    CT_TM_TCP_FIRST_PACKET,     /* tcp_syn_sent, 30 s */
    CT_TM_TCP_OPENING,          /* tcp_syn_recv, 30 s */
    CT_TM_TCP_ESTABLISHED,      /* tcp_established, 24 h */
    CT_TM_TCP_CLOSING,          /* tcp_fin_wait, 15 min */
    CT_TM_TCP_FIN_WAIT,         /* tcp_time_wait, 45 s */
    CT_TM_TCP_CLOSED,           /* tcp_close, 30 s */
    CT_TM_OTHER_FIRST,          /* udp_first, 60 s */
    CT_TM_OTHER_MULTIPLE,       /* udp_single, 60 s */
    CT_TM_OTHER_BIDIR,          /* udp_multiple, 30 s */
    CT_TM_ICMP_FIRST,           /* icmp_first, 60 s */
    CT_TM_ICMP_REPLY,           /* icmp_reply, 30 s */
    CT_TM_N
};

/* Milliseconds since the conntrack's time base (wraps after 49 days;
 * compare with ct_time_before()). */
uint32_t ct_time(const struct conntrack *, long long now_ms);
static inline bool
ct_time_before(uint32_t a, uint32_t b)
{
    return (int32_t) (a - b) < 0;
}
/* Sets conn's expiration to now + the timer's value in conn's zone's
 * policy.  Locked. */
void ct_conn_set_timer(struct conntrack *, struct ct_conn *, enum ct_tm,
                       uint32_t now);
uint32_t ct_tm_value_ms(const struct conntrack *, uint16_t zone,
                        enum ct_tm);

/* ---- Protocol modules (c1) ------------------------------------------- */

enum ct_update_res {
    CT_UPDATE_INVALID,          /* +inv, state unchanged */
    CT_UPDATE_VALID,            /* +est */
    CT_UPDATE_VALID_NEW,        /* still +new (no reply yet) */
    CT_UPDATE_NEW,              /* restart: delete and create anew */
};

/* The packet as the protocol modules see it. */
struct ct_pkt {
    struct dp_packet *pkt;
    const struct flow *flow;
    const void *l4;             /* L4 header, validated length */
    uint32_t l4_len;            /* L4 header + payload bytes */
    uint32_t l3_len;            /* bytes counted for stats */
};

/* ct-tcp.c */
bool ct_tcp_valid_new(const struct ct_pkt *);
void ct_tcp_new_conn(struct conntrack *, struct ct_conn *,
                     const struct ct_pkt *, uint32_t now);
enum ct_update_res ct_tcp_update(struct conntrack *, struct ct_conn *,
                                 const struct ct_pkt *, bool reply,
                                 uint32_t now);
/* ct-icmp.c: query types that start a connection, and their replies. */
bool ct_icmp_is_query(uint8_t family, uint8_t type);
bool ct_icmp_is_error(uint8_t family, uint8_t type);
bool ct_icmp_is_reply(uint8_t family, uint8_t type);
int ct_icmp_reply_type(uint8_t family, uint8_t type);  /* -1: none */
void ct_icmp_new_conn(struct conntrack *, struct ct_conn *,
                      const struct ct_pkt *, uint32_t now);
enum ct_update_res ct_icmp_update(struct conntrack *, struct ct_conn *,
                                  const struct ct_pkt *, bool reply,
                                  uint32_t now);
/* ct-other.c: UDP-like, SCTP, other. */
void ct_other_new_conn(struct conntrack *, struct ct_conn *,
                       const struct ct_pkt *, uint32_t now);
enum ct_update_res ct_other_update(struct conntrack *, struct ct_conn *,
                                   const struct ct_pkt *, bool reply,
                                   uint32_t now);
bool ct_sctp_valid_new(const struct ct_pkt *);
void ct_sctp_new_conn(struct conntrack *, struct ct_conn *,
                      const struct ct_pkt *, uint32_t now);
enum ct_update_res ct_sctp_update(struct conntrack *, struct ct_conn *,
                                  const struct ct_pkt *, bool reply,
                                  uint32_t now);

/* UDP/other states (OVS's OTHERS_*) and ICMP states. */
enum { CT_OTHER_FIRST, CT_OTHER_MULTIPLE, CT_OTHER_BIDIR };
enum { CT_ICMP_FIRST, CT_ICMP_REPLY };

/* ct-parse.c: the packet's lookup tuple. */
struct ct_ctx {
    struct ct_tuple tuple;      /* lookup tuple (related: inner reversed) */
    struct ct_pkt cp;
    uint32_t hash;
    bool related;               /* ICMP error about 'tuple' */
};
/* Fills ctx->tuple (zone 'zone') and ctx->cp.l4/l4_len/l3_len from the
 * packet.  Returns 0, -EINVAL (not trackable or malformed: +inv) or
 * -EBADMSG (bad checksum: +inv, counted apart).  ICMP errors set
 * ctx->related and the tuple of the quoted packet, reversed. */
int ct_extract(struct dp_packet *, const struct flow *, uint16_t zone,
               struct ct_ctx *ctx);
uint32_t ct_sctp_crc32c(const void *, size_t);   /* ct-other.c */

/* ct-core.c: counters the modules bump. */
void ct_count_tcp_seq_fail(struct conntrack *);
bool ct_tcp_seq_chk_enabled(const struct conntrack *);


/* ---- Internals of c1's files (ct-core.c, ct-expiry.c) ---------------- */

#include <pthread.h>
#include <sched.h>

/* A bucket lock (test-and-test-and-set spinlock, inlined) on its own
 * cache line.  Held only for a bounded walk of one bucket chain and the
 * work on one connection. */
struct ct_stripe {
    atomic_uint locked;
    uint8_t pad[64 - sizeof(atomic_uint)];
};

static inline void
ct_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#else
    __asm__ volatile("" ::: "memory");
#endif
}
/* Spins briefly (a stripe is held for one bucket's work, well under a
 * microsecond), then yields: if the holder was preempted, spinning for the
 * rest of the time slice would only delay it further on a busy machine. */
#define CT_LOCK_SPINS 256
static inline void
ct_lock(struct ct_stripe *s)
{
    unsigned int spins = 0;

    while (atomic_exchange_explicit(&s->locked, 1, memory_order_acquire)) {
        while (atomic_load_explicit(&s->locked, memory_order_relaxed)) {
            if (++spins < CT_LOCK_SPINS) {
                ct_cpu_relax();
            } else {
                sched_yield();
            }
        }
    }
}
static inline bool
ct_trylock(struct ct_stripe *s)
{
    return !atomic_load_explicit(&s->locked, memory_order_relaxed)
           && !atomic_exchange_explicit(&s->locked, 1, memory_order_acquire);
}
static inline void
ct_unlock(struct ct_stripe *s)
{
    atomic_store_explicit(&s->locked, 0, memory_order_release);
}

/* A fixed-size object allocator: chunks are never freed before the
 * conntrack is (type-stable memory, see conntrack.h). */
struct ct_slab {
    pthread_spinlock_t lock;
    uint32_t obj_size;
    uint32_t n_chunks, cap_chunks;
    void **chunks;
    void *free_list;            /* linked through the first word */
    uint8_t *cur;               /* unused tail of the newest chunk */
    size_t left;
};
void ct_slab_init(struct ct_slab *, size_t obj_size);
void ct_slab_release(struct ct_slab *);
void *ct_slab_alloc(struct ct_slab *);   /* NULL if out of memory */
void ct_slab_free(struct ct_slab *, void *);

#define CT_N_ZONES 65536
#define CT_TP_SLOTS (CT_MAX_ZONE_POLICIES + 1)   /* slot 0: default */

struct ct_event_rec {
    enum ct_event_type type;
    struct ct_entry entry;
};

struct conntrack {
    /* Table. */
    struct ct_node **buckets;
    atomic_ullong *bucket_bits; /* bit b: bucket b is non-empty; each
                                 * bit changes under its bucket's stripe,
                                 * atomics only share the word */
    uint32_t bucket_mask;
    uint32_t stripe_mask;
    struct ct_stripe *stripes;
    uint32_t hash_basis;
    long long time_base;
    struct ct_slab slab4, slab6, slab_ext;

    /* Global state. */
    atomic_uint n_conns;
    atomic_uint max_conns;
    atomic_bool tcp_seq_chk;
    atomic_uint next_id;

    /* Zones: indexed by zone; pages untouched until a zone is used. */
    atomic_uint *zone_count;
    atomic_uint *zone_limit;    /* own limit + 1; 0: follow default */
    atomic_ullong *zone_drops;
    atomic_uint default_zone_limit;
    _Atomic uint8_t *zone_tp;   /* policy slot; 0: default */

    /* Timeout policies (main thread writes, workers read relaxed). */
    atomic_uint tp_ms[CT_TP_SLOTS][CT_TM_N];
    struct ct_timeout_policy tp_cfg[CT_TP_SLOTS];
    uint16_t tp_zone[CT_TP_SLOTS];     /* slot -> zone (slot != 0) */
    bool tp_used[CT_TP_SLOTS];

    /* Expectations: a short list under one lock, skipped when empty. */
    pthread_spinlock_t exp_lock;
    struct ct_expectation *exp_list;
    atomic_uint n_exp;
    struct ct_slab slab_exp;

    /* Events. */
    pthread_spinlock_t ev_lock;
    struct ct_event_rec *ev_ring;
    uint32_t ev_len, ev_head, ev_count;
    atomic_bool ev_enabled;
    ct_event_cb *ev_cb;
    void *ev_aux;

    /* Sweep position (main thread). */
    uint32_t sweep_bucket;

    /* Counters (relaxed). */
    atomic_ullong n_full_drops, n_zone_drops, n_invalid, n_bad_csum,
                  n_tcp_seq_fail, n_nat_exhausted, n_ev_dropped,
                  n_created, n_expired;
};

static inline struct ct_stripe *
ct_stripe_of(const struct conntrack *ct, uint32_t hash)
{
    return &ct->stripes[hash & ct->bucket_mask & ct->stripe_mask];
}
/* First non-empty bucket >= 'b' (racy hint: a concurrent insert may be
 * missed).  Reads at most 'max_words' bitmap words; *found tells whether
 * it found one, else the return value is where to continue (n_buckets at
 * the end). */
static inline uint32_t
ct_bucket_next(struct conntrack *ct, uint32_t b, uint32_t max_words,
               bool *found)
{
    uint32_t n = ct->bucket_mask + 1;

    while (b < n && max_words--) {
        uint32_t w = b >> 6;
        uint64_t bits = atomic_load_explicit(&ct->bucket_bits[w],
                                             memory_order_relaxed)
                        >> (b & 63);

        if (bits) {
            *found = true;
            return b + __builtin_ctzll(bits);
        }
        b = (w + 1) << 6;
    }
    *found = false;
    return MIN(b, n);
}

/* Collects up to 'n' (at most CT_GATHER) non-empty buckets from *pos on
 * into 'out' and prefetches their heads and first entries, so that the
 * caller's walks of them overlap their cache misses.  Advances *pos past
 * the last one collected (or to where the bitmap scan stopped: see
 * ct_bucket_next()).  The unlocked reads are hints only. */
#define CT_GATHER 16
static inline size_t
ct_bucket_gather(struct conntrack *ct, uint32_t *pos, uint32_t *out,
                 size_t n, uint32_t max_words)
{
    size_t k = 0;

    while (k < n) {
        bool found;
        uint32_t b = ct_bucket_next(ct, *pos, max_words, &found);

        *pos = b;
        if (!found) {
            break;
        }
        out[k++] = b;
        __builtin_prefetch(&ct->buckets[b]);
        *pos = b + 1;
    }
    for (size_t i = 0; i < k; i++) {
        const void *node = __atomic_load_n(&ct->buckets[out[i]],
                                           __ATOMIC_RELAXED);
        if (node) {
            __builtin_prefetch(node);
            __builtin_prefetch((const char *) node + 64);
        }
    }
    return k;
}

static inline struct ct_conn *
ct_node_conn(const struct ct_node *node)
{
    return node->is_rev
           ? CONTAINER_OF(node, struct ct_conn_ext, rev_node)->conn
           : CONTAINER_OF(node, struct ct_conn, node);
}

/* Unlinks and frees 'conn' (queues a DESTROY event).  The caller holds
 * stripe 'held' (the one of the bucket it found the conn in) and maybe
 * 'held2' (or NULL), one of which is the conn's owner stripe.  For a NAT
 * connection whose other node is in a stripe not held it takes that
 * stripe if the order allows, else try-locks it; returns -EAGAIN if it
 * could not (the conn is then only marked expired, for the sweep).
 * Returns 0 on removal. */
int ct_conn_remove(struct conntrack *, struct ct_conn *,
                   struct ct_stripe *held, struct ct_stripe *held2,
                   uint32_t now);
bool ct_conn_expired(const struct ct_conn *, uint32_t now);
/* Fills a snapshot of 'conn' (locked: its owner stripe).  ct-dump.c. */
void ct_conn_to_entry(const struct conntrack *, const struct ct_conn *,
                      struct ct_entry *, uint32_t now);
void ct_expiry_init(struct conntrack *);

/* ---- Restore (ct-core.c, for ct-snapshot.c) -------------------------- */

/* The l4_type a connection of protocol 'nw_proto' has. */
enum ct_l4_type ct_l4_type_from_proto(uint8_t nw_proto);
/* Files a connection rebuilt from a snapshot.  'conn' comes from the
 * family's slab, fully initialized, with flags including CT_CONN_F_DEAD
 * (cleared on insertion), node.hash set and, with CT_CONN_F_NAT, ext->rev
 * and ext->rev_node.hash set.  Reserves its slot in its zone and the
 * table (zone counts are rebuilt this way), keeps its id (later ids
 * follow it).  Takes the stripes itself.  Returns 0, -ENOSPC (table or
 * zone full) or -EEXIST (a tuple of it is in use); on error the caller
 * still owns 'conn' and frees it. */
int ct_conn_insert_restored(struct conntrack *, struct ct_conn *,
                            uint32_t now);

#endif /* conntrack-private.h */
