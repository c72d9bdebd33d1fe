/* conntrack: the userspace connection tracker behind the ct() action.
 *
 * What.  A table of connections shared by all datapath workers, with the
 * semantics of Open vSwitch's userspace conntrack: zones, commit, force,
 * ct_mark and ct_label, the ct_state bits (new, est, rel, rpl, inv, trk,
 * snat, dnat), TCP window tracking (van Rooij), UDP/ICMP/ICMPv6/SCTP/other
 * protocols, related ICMP errors, NAT and FTP/TFTP helpers (ct-nat.c,
 * ct-alg-*.c), per-zone limits and timeout policies, and OVS's
 * dpctl/dump-conntrack text format.  IP fragments are reassembled before
 * conntrack by ct-frag.h (the datapath feeds the reassembled view here);
 * a fragment that reaches conntrack_execute() is +trk+inv.
 *
 * Who calls it.  Datapath workers call conntrack_execute() for DPA_CT.
 * The main thread calls everything else: configuration, limits, timeout
 * policies, conntrack_sweep() from a timer, dumps and flushes in slices,
 * conntrack_run_events() to drain the event queue.
 *
 * Threads and locking (the rule).
 *   - The hash table has a fixed number of buckets (chosen at creation
 *     from the configured maximum), so it never resizes.  Buckets are
 *     guarded by a striped array of spinlocks: bucket b uses stripe
 *     b & (n_stripes - 1).  There is no per-entry mutex.
 *   - A connection's mutable state (protocol state, expiry, mark, labels,
 *     counters, NAT/helper data) is owned by the stripe of the bucket
 *     holding its original-direction key.  A NAT connection is also filed
 *     under its reply key, possibly in another stripe: a lookup that finds
 *     it there only try-locks the owner stripe and, on failure, drops
 *     everything and retries, so stripes are never waited for out of
 *     order.  Insertion and removal of a NAT connection take both stripes
 *     in increasing order.
 *   - Workers never block on the main thread for long: sweep, flush and
 *     dump hold one stripe at a time for a bounded number of entries.
 *   - Connection memory comes from slabs owned by the conntrack and is
 *     never returned before conntrack_destroy() (type-stable memory).
 *     That is what makes the dp_packet->ct_conn shortcut safe: a stale
 *     pointer still points at a connection-shaped object, which is locked
 *     and re-checked against the packet's tuple and zone before use.
 *   - Events are queued by workers into a bounded queue and delivered by
 *     the main thread in conntrack_run_events(); workers never call out.
 *   - Lock order: stripes (increasing index) -> expectation lock -> event
 *     queue lock -> slab lock.
 *
 * Times.  Callers pass now_ms (a monotonic clock in milliseconds, e.g.
 * time_msec()); tests inject any clock.  Entries keep 32-bit expiry
 * times relative to the creation time, so a conntrack must not be fed a
 * clock that moves more than 24 days between two calls to
 * conntrack_sweep(). */
#ifndef TS_CONNTRACK_H
#define TS_CONNTRACK_H 1

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct conntrack;
struct dp_packet;
struct flow;
struct ds;

/* ---- Tuples ---------------------------------------------------------- */

union ct_addr {
    uint32_t ipv4;              /* be */
    struct in6_addr ipv6;
};

/* A connection's tuple in one direction, as packets in that direction
 * carry it.  For ICMP and ICMPv6 queries, src_port and dst_port both hold
 * the identifier (so the reply's tuple is the reverse of the request's)
 * and icmp_type/icmp_code hold the message type and code; they are not
 * part of the key.  Other protocols without ports have zero ports.
 * Unused bytes (address tails for IPv4, pad) are zero. */
struct ct_tuple {
    union ct_addr src;
    union ct_addr dst;
    uint16_t src_port;          /* be */
    uint16_t dst_port;          /* be */
    uint16_t zone;
    uint8_t nw_proto;
    uint8_t family;             /* AF_INET or AF_INET6 */
    uint8_t icmp_type;
    uint8_t icmp_code;
    uint8_t pad[2];
};

/* ---- Configuration --------------------------------------------------- */

struct conntrack_config {
    uint32_t max_conns;         /* global limit; 0: 3,000,000 (OVS) */
    uint32_t n_buckets;         /* hash buckets (rounded up to a power of
                                 * two); 0: max_conns / 2 */
    uint32_t n_stripes;         /* bucket locks (power of two); 0: 1024 */
    uint32_t event_queue_len;   /* bounded event queue; 0: 4096 */
    uint32_t hash_basis;        /* 0: random */
    bool tcp_seq_chk;           /* initial value of the switch below;
                                 * conntrack_config_init() sets true */
};
void conntrack_config_init(struct conntrack_config *);

/* Creates a tracker ('cfg' NULL: defaults).  The caller owns it. */
struct conntrack *conntrack_create(const struct conntrack_config *cfg);
/* Frees every connection and the tracker.  No worker may be inside
 * conntrack_execute().  Accepts NULL. */
void conntrack_destroy(struct conntrack *);

/* OVS's "dpctl/ct-set-maxconns" and "ct-get-maxconns". */
void conntrack_set_maxconns(struct conntrack *, uint32_t);
uint32_t conntrack_get_maxconns(const struct conntrack *);
/* OVS's "dpctl/ct-get-nconns". */
uint32_t conntrack_get_nconns(const struct conntrack *);
/* OVS's "dpctl/ct-enable-tcp-seq-chk" / "ct-disable-tcp-seq-chk". */
void conntrack_set_tcp_seq_chk(struct conntrack *, bool enabled);
bool conntrack_get_tcp_seq_chk(const struct conntrack *);

/* ---- The ct() action ------------------------------------------------- */

enum ct_alg {
    CT_ALG_NONE = 0,
    CT_ALG_FTP,
    CT_ALG_TFTP,
};
const char *ct_alg_name(enum ct_alg);   /* "ftp", "tftp", or NULL */

/* nat(...) of the ct() action (OVS ovs-actions(7) "nat").  With neither
 * CT_NAT_SRC nor CT_NAT_DST, a bare "nat": existing connections get their
 * translation applied, new ones are not translated. */
enum ct_nat_flags {
    CT_NAT_SRC = 1 << 0,
    CT_NAT_DST = 1 << 1,
    CT_NAT_PERSISTENT = 1 << 2,
    CT_NAT_PROTO_HASH = 1 << 3,
    CT_NAT_PROTO_RANDOM = 1 << 4,
    CT_NAT_RANGE_ADDR = 1 << 5, /* min_addr/max_addr given */
    CT_NAT_RANGE_PORT = 1 << 6, /* min_port/max_port given */
};
struct ct_nat_action {
    uint16_t flags;             /* enum ct_nat_flags */
    uint8_t family;             /* AF_INET or AF_INET6, for the range */
    uint8_t pad;
    union ct_addr min_addr;
    union ct_addr max_addr;
    uint16_t min_port;          /* host order */
    uint16_t max_port;          /* host order */
};

/* Arguments of one ct() action (the same for every packet of a call). */
struct ct_exec_args {
    uint16_t zone;
    bool commit;
    bool force;                 /* commit only: an existing entry seen in
                                 * the reply direction is deleted and the
                                 * packet starts a new one */
    uint32_t mark;              /* ct_mark = (ct_mark & ~mark_mask) | mark,
                                 * on commit, if mark_mask != 0 */
    uint32_t mark_mask;
    uint64_t label[2];          /* same for ct_label, [0] = low 64 bits */
    uint64_t label_mask[2];
    const struct ct_nat_action *nat;  /* NULL: no nat() */
    enum ct_alg helper;         /* alg=ftp|tftp, applied on commit */
};

/* Tracks each of the 'n' packets with keys 'flows[i]' (as extracted by
 * flow_extract(): l3_ofs and l4_ofs set).  For each packet it sets, in
 * the flow: ct_state (CS_TRACKED plus new/est/rel/rpl/inv/snat/dnat),
 * ct_zone, ct_mark, ct_label and the original-direction tuple (ct_nw_src,
 * ct_nw_dst or ct_ipv6_*, ct_tp_src, ct_tp_dst, ct_nw_proto; zero when
 * there is no connection).  With args->nat it may rewrite packet headers
 * and the flow's L3/L4 fields.  It caches the connection in
 * pkts[i]->ct_conn.  Never allocates from the heap; a full table or zone
 * leaves the packet +new uncommitted and counts the drop. */
void conntrack_execute(struct conntrack *, struct dp_packet **pkts,
                       struct flow **flows, size_t n,
                       const struct ct_exec_args *args, long long now_ms);

/* Forgets the packet's cached connection.  The datapath calls it after
 * any action that rewrites the packet's L3/L4 headers (the cached entry
 * would be found by a stale tuple) and on ct_clear. */
void conntrack_packet_invalidate(struct dp_packet *);

/* ---- Timeouts -------------------------------------------------------- */

/* Timeout policy keys, named as in OVS's ovs-vsctl add-zone-tp. */
enum ct_tp_attr {
    CT_TP_TCP_SYN_SENT,
    CT_TP_TCP_SYN_RECV,
    CT_TP_TCP_ESTABLISHED,
    CT_TP_TCP_FIN_WAIT,
    CT_TP_TCP_CLOSE_WAIT,
    CT_TP_TCP_LAST_ACK,
    CT_TP_TCP_TIME_WAIT,
    CT_TP_TCP_CLOSE,
    CT_TP_TCP_SYN_SENT2,
    CT_TP_TCP_RETRANSMIT,
    CT_TP_TCP_UNACK,
    CT_TP_UDP_FIRST,
    CT_TP_UDP_SINGLE,
    CT_TP_UDP_MULTIPLE,
    CT_TP_ICMP_FIRST,
    CT_TP_ICMP_REPLY,
    CT_TP_N_ATTRS
};
/* "tcp_syn_sent", ...; NULL if out of range. */
const char *ct_tp_attr_name(enum ct_tp_attr);
/* Parses a key name; returns 0 and sets *attr, or -EINVAL. */
int ct_tp_attr_from_name(const char *, enum ct_tp_attr *attr);

/* A timeout policy: values in seconds for the attributes whose bit is set
 * in 'present'; others fall back to the default policy.  Userspace
 * conntrack (like OVS's) has fewer timers than keys: tcp_close_wait,
 * tcp_last_ack, tcp_syn_sent2, tcp_retransmit and tcp_unack are accepted
 * and stored but unused. */
struct ct_timeout_policy {
    uint32_t present;           /* 1 << enum ct_tp_attr */
    uint32_t attrs[CT_TP_N_ATTRS];
};
/* The default policy (OVS's defaults unless changed). */
void conntrack_default_tp_get(const struct conntrack *,
                              struct ct_timeout_policy *);
int conntrack_default_tp_set(struct conntrack *,
                             const struct ct_timeout_policy *);
/* Per-zone policies.  Set returns 0 or -ENOSPC (too many zones with a
 * policy: CT_MAX_ZONE_POLICIES); get returns -ENOENT if the zone has
 * none; del returns -ENOENT likewise.  New values apply from each
 * connection's next packet. */
#define CT_MAX_ZONE_POLICIES 255
int conntrack_zone_tp_set(struct conntrack *, uint16_t zone,
                          const struct ct_timeout_policy *);
int conntrack_zone_tp_get(const struct conntrack *, uint16_t zone,
                          struct ct_timeout_policy *);
int conntrack_zone_tp_del(struct conntrack *, uint16_t zone);

/* Removes expired connections, examining at most 'max_entries' entries
 * (and a bounded number of empty buckets) from where the previous call
 * stopped.  Returns how many it removed.  Main thread, from a timer;
 * a full pass over the table takes n_buckets / buckets-per-call calls. */
size_t conntrack_sweep(struct conntrack *, long long now_ms,
                       size_t max_entries);

/* ---- Limits and statistics ------------------------------------------ */

/* Zone limits as in OVS's ct-set-limits: 'limit' 0 is unlimited. */
void conntrack_set_default_zone_limit(struct conntrack *, uint32_t limit);
uint32_t conntrack_get_default_zone_limit(const struct conntrack *);
/* Sets a zone's own limit; conntrack_del_zone_limit() makes it follow
 * the default again. */
void conntrack_set_zone_limit(struct conntrack *, uint16_t zone,
                              uint32_t limit);
void conntrack_del_zone_limit(struct conntrack *, uint16_t zone);
/* The limit in force for 'zone' (its own or the default), and whether
 * it has its own. */
uint32_t conntrack_get_zone_limit(const struct conntrack *, uint16_t zone,
                                  bool *own);

struct ct_zone_stats {
    uint32_t count;             /* connections in the zone */
    uint32_t limit;             /* in force, 0: unlimited */
    uint64_t limit_drops;       /* commits refused by the zone limit */
};
void conntrack_get_zone_stats(const struct conntrack *, uint16_t zone,
                              struct ct_zone_stats *);

struct ct_stats {
    uint32_t n_conns;
    uint32_t max_conns;
    uint64_t full_drops;        /* commits refused by the global limit */
    uint64_t zone_limit_drops;  /* commits refused by a zone limit */
    uint64_t invalid;           /* packets marked +inv */
    uint64_t bad_csum;          /* of which: L4 checksum errors */
    uint64_t tcp_seq_fail;      /* of which: TCP window check failures */
    uint64_t nat_exhausted;     /* NAT found no free tuple */
    uint64_t events_dropped;    /* event queue overflows */
    uint64_t created;
    uint64_t expired;
};
void conntrack_get_stats(const struct conntrack *, struct ct_stats *);

/* ---- Dump and format ------------------------------------------------- */

/* TCP states as OVS prints them (values of OVS's ct_dpif_tcp_state). */
enum ct_tcp_state {
    CT_TCPS_CLOSED,
    CT_TCPS_LISTEN,
    CT_TCPS_SYN_SENT,
    CT_TCPS_SYN_RECV,
    CT_TCPS_ESTABLISHED,
    CT_TCPS_CLOSE_WAIT,
    CT_TCPS_FIN_WAIT_1,
    CT_TCPS_CLOSING,
    CT_TCPS_LAST_ACK,
    CT_TCPS_FIN_WAIT_2,
    CT_TCPS_TIME_WAIT,
    CT_TCPS_N
};
const char *ct_tcp_state_name(unsigned int);   /* NULL if out of range */

/* SCTP states (OVS's ct_dpif_sctp_state names). */
enum ct_sctp_state {
    CT_SCTPS_CLOSED,
    CT_SCTPS_COOKIE_WAIT,
    CT_SCTPS_COOKIE_ECHOED,
    CT_SCTPS_ESTABLISHED,
    CT_SCTPS_SHUTDOWN_SENT,
    CT_SCTPS_SHUTDOWN_RECD,
    CT_SCTPS_SHUTDOWN_ACK_SENT,
    CT_SCTPS_HEARTBEAT_SENT,
    CT_SCTPS_HEARTBEAT_ACKED,
    CT_SCTPS_N
};
const char *ct_sctp_state_name(unsigned int);  /* NULL if out of range */

/* A snapshot of one connection (dumps and events).  Plain data. */
struct ct_entry {
    struct ct_tuple orig;
    struct ct_tuple reply;
    struct ct_tuple parent;     /* helper-related: the parent's orig */
    bool has_parent;
    uint32_t id;
    uint16_t zone;
    uint16_t nat_flags;         /* CT_NAT_SRC / CT_NAT_DST applied */
    uint32_t mark;
    uint64_t label[2];
    uint32_t timeout;           /* seconds left */
    uint64_t packets[2];        /* [0] original, [1] reply direction */
    uint64_t bytes[2];
    enum ct_alg helper;
    uint8_t tcp_state[2];       /* enum ct_tcp_state, TCP only */
    uint8_t tcp_wscale[2];      /* 0-14 */
    uint8_t tcp_flags[2];       /* CT_TCPF_* */
    uint8_t sctp_state;         /* enum ct_sctp_state, SCTP only */
    bool seen_reply;
};
/* tcp_flags bits (OVS's CT_DPIF_TCPF_*). */
enum {
    CT_TCPF_WINDOW_SCALE = 1 << 0,
    CT_TCPF_SACK_PERM = 1 << 1,
    CT_TCPF_CLOSE_INIT = 1 << 2,
    CT_TCPF_BE_LIBERAL = 1 << 3,
    CT_TCPF_DATA_UNACKNOWLEDGED = 1 << 4,
    CT_TCPF_MAXACK_SET = 1 << 5,
};

/* Appends the entry in OVS's dpctl/dump-conntrack format, e.g.
 * tcp,orig=(src=10.0.0.1,dst=10.0.0.2,sport=39376,dport=80),reply=(...),
 * zone=1,mark=5,protoinfo=(state=ESTABLISHED)
 * 'verbose' is -m (id, status, per-direction TCP states), 'stats' is -s
 * (packets/bytes, timeout). */
void ct_format_entry(struct ds *, const struct ct_entry *, bool verbose,
                     bool stats);
/* Appends a tuple's "src=...,dst=...,sport=...,dport=..." part. */
void ct_format_tuple(struct ds *, const struct ct_tuple *);

/* Sliced dumps.  The cursor is the caller's (plain data, no resources):
 * start with conntrack_dump_start(), call conntrack_dump_next() until it
 * sets cursor->done.  Entries inserted or removed during a dump may or
 * may not be seen; an entry present throughout is seen once (a bucket is
 * returned whole unless it alone holds more than 'max' entries, then an
 * insertion into it between calls can repeat one of its entries). */
struct ct_dump_cursor {
    uint32_t bucket;            /* next bucket to read */
    uint32_t skip;              /* entries of it already returned */
    bool filter_zone;
    uint16_t zone;
    bool done;
};
void conntrack_dump_start(struct ct_dump_cursor *, const uint16_t *zone);
/* Fills up to 'max' entries and returns how many; examines a bounded
 * number of buckets per call, so it may return 0 before the end.  The
 * dump is over when cursor->done. */
size_t conntrack_dump_next(struct conntrack *, struct ct_dump_cursor *,
                           struct ct_entry *entries, size_t max,
                           long long now_ms);

/* ---- Flush ----------------------------------------------------------- */

/* What to flush (OVS's dpctl/flush-conntrack [zone=N] [mark=X/M]
 * [labels=X/M] [ct-orig-tuple] [ct-reply-tuple]).  Every given criterion
 * must match. */
struct ct_flush_filter {
    bool has_zone;
    uint16_t zone;
    uint32_t mark, mark_mask;   /* mask 0: any mark */
    uint64_t label[2], label_mask[2];
    const struct ct_tuple *orig;   /* exact original tuple (zone ignored:
                                    * use has_zone), or NULL */
    const struct ct_tuple *reply;  /* exact reply tuple, or NULL */
};
struct ct_flush_cursor {
    uint32_t bucket;
    bool done;
};
void conntrack_flush_start(struct ct_flush_cursor *);
/* Flushes matching entries from at most 'max_buckets' buckets; returns
 * how many entries it removed.  Call until cursor->done.  'filter' NULL
 * flushes everything. */
size_t conntrack_flush_next(struct conntrack *, struct ct_flush_cursor *,
                            const struct ct_flush_filter *filter,
                            size_t max_buckets, long long now_ms);
/* Whole flush in one call (tests, small tables): returns entries
 * removed. */
size_t conntrack_flush(struct conntrack *, const struct ct_flush_filter *,
                       long long now_ms);

/* ---- Events ---------------------------------------------------------- */

enum ct_event_type {
    CT_EVENT_NEW,               /* committed */
    CT_EVENT_UPDATE,            /* protocol state changed */
    CT_EVENT_DESTROY,           /* expired, flushed or replaced */
};
typedef void ct_event_cb(enum ct_event_type, const struct ct_entry *,
                         void *aux);
/* Sets (or with NULL clears) the callback.  Events are queued only while
 * a callback is set.  Main thread. */
void conntrack_set_event_cb(struct conntrack *, ct_event_cb *, void *aux);
/* Delivers queued events to the callback, at most 'max'.  Returns how
 * many it delivered.  Main thread. */
size_t conntrack_run_events(struct conntrack *, size_t max);

/* ---- Snapshots (ct-snapshot.c) --------------------------------------
 *
 * The table on disk, so that a restarted daemon keeps its connections
 * (format: docs/conntrack.md, "Restarts").  A snapshot holds every live
 * connection (both tuples, NAT binding, mark, label, zone, counters, TCP
 * window state, helper state and parent) with its remaining lifetime, and
 * the pending helper expectations.  Limits and timeout policies are not
 * in it (they live in the daemon's store); zone counts are rebuilt by
 * insertion.
 *
 * Save may run in any thread while workers forward: it walks the table
 * like a dump, holding one stripe for one bucket at a time, writes
 * PATH.tmp, fsyncs it, renames it over PATH and fsyncs the directory.
 * The caller serializes saves to the same path.
 *
 * Load verifies the whole file first (magic, format version, lengths,
 * CRC32C over everything, every record) and inserts nothing from a file
 * that fails.  A newer minor version loads (unknown record and attribute
 * types are skipped); a newer major version is refused.  It needs an
 * empty tracker and no worker inside conntrack_execute(). */

/* Flags of a snapshot.  FINAL: taken with forwarding stopped, so TCP
 * windows are exact; connections from other snapshots (periodic, older
 * than the traffic) re-learn their TCP windows from the next segment in
 * each direction, as a pick-up does. */
#define CT_SNAPSHOT_F_FINAL 0x1u

struct ct_snapshot_info {
    uint32_t flags;             /* CT_SNAPSHOT_F_* */
    uint16_t version_major;
    uint16_t version_minor;
    long long wall_ms;          /* creation time, CLOCK_REALTIME ms */
    uint32_t n_conns;           /* connection records in the file */
    uint32_t n_exps;            /* expectation records in the file */
    uint64_t bytes;             /* file size */
    long long duration_us;      /* time the save or load took */
    long long max_hold_ns;      /* save: longest single stripe hold */
    /* Load only. */
    long long age_ms;           /* snapshot age when loaded */
    uint32_t n_restored;        /* connections inserted */
    uint32_t n_exps_restored;   /* expectations inserted */
    uint32_t n_expired;         /* expired since the snapshot: skipped */
    uint32_t n_dropped;         /* not inserted: table or zone full,
                                 * duplicate, orphan expectation */
};

/* Writes the table to 'path' (see above).  'flags' CT_SNAPSHOT_F_*.
 * Returns 0, or a negative errno with '*errp' (malloc'ed, if nonnull)
 * saying what failed; 'path' is then left as it was.  'info' may be
 * NULL. */
int conntrack_snapshot_save(struct conntrack *, const char *path,
                            uint32_t flags, long long now_ms,
                            struct ct_snapshot_info *info, char **errp);
/* Loads the snapshot in 'path' into an empty tracker.  Returns 0,
 * -ENOENT if there is no file, -TS_ERR_VERSION for a format this binary
 * does not read, -TS_ERR_STORE for a torn or corrupt file, -EBUSY if the
 * tracker is not empty, or another negative errno; on error nothing was
 * inserted and '*errp' (malloc'ed, if nonnull) says why.  Connections
 * that do not fit (limits) are counted in info->n_dropped, not errors. */
int conntrack_snapshot_load(struct conntrack *, const char *path,
                            long long now_ms, struct ct_snapshot_info *info,
                            char **errp);
/* The same from memory ('data' borrowed for the call). */
int conntrack_snapshot_load_buf(struct conntrack *, const void *data,
                                size_t len, long long now_ms,
                                struct ct_snapshot_info *info, char **errp);

#endif /* conntrack.h */
