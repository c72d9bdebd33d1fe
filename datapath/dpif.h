/* dpif: the datapath's public API.  The only datapath header that ofproto
 * and vswitchd may include.
 *
 * A dpif is one datapath instance (one per bridge): a set of ports, a
 * megaflow cache in front of a slow path, and worker threads that move
 * packets.  Port numbers are the bridge's OpenFlow port numbers
 * (1..0xfeff, and DPIF_PORT_LOCAL for the bridge's internal port).
 *
 * Packet path: a worker receives a batch from a port, extracts flow keys,
 * looks each up in its exact-match cache, then in the megaflow classifier;
 * a miss calls the upcall handler (ofproto, inside the worker thread),
 * which returns datapath actions and the wildcard mask that makes them
 * valid for a whole megaflow; the datapath installs that megaflow and runs
 * the actions.
 *
 * Threads: every function here is called from the main thread, except
 * the upcall handler, which workers call.  dpif_flow_flush() and
 * dpif_revalidate() are synchronous with the workers: when they return, no
 * worker uses a megaflow that they removed, so a flow-table change that
 * calls one of them before acknowledging the client never lets a packet
 * follow a stale rule afterwards. */
#ifndef TS_DPIF_H
#define TS_DPIF_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "dp-packet.h"
#include "flow.h"
#include "packets.h"
#include "smap.h"

#define DPIF_PORT_MAX 0xfeff        /* highest ordinary port number */
#define DPIF_PORT_IN_PORT 0xfff8    /* OpenFlow OFPP_IN_PORT */
#define DPIF_PORT_LOCAL 0xfffe      /* OpenFlow OFPP_LOCAL */
#define DPIF_PORT_NONE 0xffff

/* ---- Datapath actions ------------------------------------------------
 *
 * A list of actions is a byte string of TLVs, each 8-byte aligned:
 * struct dp_action, then its argument, padded to a multiple of 8. */
enum dp_action_type {
    DPA_OUTPUT = 1,     /* uint32_t port */
    DPA_USERSPACE,      /* struct dpa_userspace: send to ofproto (packet-in) */
    DPA_SET_MASKED,     /* struct dpa_set_masked + value + mask bytes */
    DPA_PUSH_VLAN,      /* struct dpa_push_vlan */
    DPA_POP_VLAN,       /* no argument */
    DPA_RECIRC,         /* uint32_t recirc_id: re-enter lookup */
    DPA_HASH,           /* uint32_t basis: dp_hash = hash of the 5-tuple */
    DPA_CT,             /* struct dpa_ct */
    DPA_CT_CLEAR,       /* no argument */
    DPA_CLONE,          /* nested action list on a copy of the packet */
    DPA_TRUNC,          /* uint32_t max_len for the next output */
};

struct dp_action {
    uint16_t type;      /* enum dp_action_type */
    uint16_t len;       /* total, header included, multiple of 8 */
    uint32_t pad;
    /* argument follows */
};

struct dpa_userspace {
    uint32_t reason;    /* ofproto-defined (OpenFlow packet-in reason) */
    uint32_t max_len;   /* bytes of the packet to send up, 0xffff: all */
    uint64_t cookie;    /* ofproto-defined */
};

/* Sets fields: the bytes [ofs, ofs + n) of struct flow become
 * (old & ~mask) | (value & mask); the packet's headers are rewritten to
 * match, with checksums fixed incrementally.  Followed by 'n' value bytes
 * then 'n' mask bytes (padded). */
struct dpa_set_masked {
    uint16_t ofs;       /* offsetof(struct flow, FIELD) */
    uint16_t n;         /* bytes */
    uint32_t pad;
};

struct dpa_push_vlan {
    uint16_t tpid;      /* be */
    uint16_t tci;       /* be, VLAN_CFI set */
    uint32_t pad;
};

/* DPA_CT: sends the packet through the connection tracker (OVS's
 * ct() datapath action).  Afterwards the packet's flow carries ct_state,
 * ct_zone, ct_mark, ct_label and the original-direction tuple.  IP
 * fragments are reassembled first (held fragments leave the action list;
 * a completed datagram's fragments continue with the datagram's ct
 * results). */
enum dpa_ct_flags {
    DPA_CT_F_COMMIT = 1 << 0,
    DPA_CT_F_FORCE = 1 << 1,            /* commit only */
};
enum dpa_ct_nat_flags {
    DPA_CT_NAT = 1 << 0,                /* nat() present */
    DPA_CT_NAT_SRC = 1 << 1,
    DPA_CT_NAT_DST = 1 << 2,
    DPA_CT_NAT_PERSISTENT = 1 << 3,
    DPA_CT_NAT_HASH = 1 << 4,
    DPA_CT_NAT_RANDOM = 1 << 5,
    DPA_CT_NAT_RANGE_ADDR = 1 << 6,     /* addr_min/addr_max valid */
    DPA_CT_NAT_RANGE_PORT = 1 << 7,     /* port_min/port_max valid */
};
enum dpa_ct_alg {
    DPA_CT_ALG_NONE = 0,
    DPA_CT_ALG_FTP,
    DPA_CT_ALG_TFTP,
};
struct dpa_ct {
    uint16_t zone;
    uint8_t flags;              /* enum dpa_ct_flags */
    uint8_t alg;                /* enum dpa_ct_alg, on commit */
    uint16_t nat_flags;         /* enum dpa_ct_nat_flags */
    uint8_t nat_family;         /* AF_INET or AF_INET6 (with RANGE_ADDR) */
    uint8_t pad;
    uint32_t mark;              /* on commit, if mark_mask != 0 */
    uint32_t mark_mask;
    uint64_t label[2];          /* [0]: low 64 bits; on commit */
    uint64_t label_mask[2];
    struct in6_addr addr_min;   /* IPv4: first 4 bytes, be */
    struct in6_addr addr_max;
    uint16_t port_min;          /* host order */
    uint16_t port_max;
    uint32_t pad2;
};

/* A growable buffer of datapath actions with a fixed capacity (the upcall
 * path must not allocate).  If an append does not fit, 'overflow' is set
 * and the list must not be used. */
struct dpa_buf {
    uint8_t *data;
    size_t size;
    size_t capacity;
    bool overflow;
};
#define DPA_BUF_STUB(BUF, STORAGE) \
    ((BUF)->data = (uint8_t *) (STORAGE), (BUF)->size = 0, \
     (BUF)->capacity = sizeof (STORAGE), (BUF)->overflow = false)
/* Appends an action with 'arg_len' bytes of argument; returns a pointer to
 * the (zeroed) argument, or NULL on overflow. */
void *dpa_put(struct dpa_buf *, enum dp_action_type, size_t arg_len);
void dpa_put_output(struct dpa_buf *, uint32_t port);
/* Starts a nested list (DPA_CLONE); returns an offset for dpa_end_nested. */
size_t dpa_start_nested(struct dpa_buf *, enum dp_action_type);
void dpa_end_nested(struct dpa_buf *, size_t offset);
#define DPA_FOR_EACH(A, DATA, SIZE)                                        \
    for ((A) = (const struct dp_action *) (DATA);                          \
         (const uint8_t *) (A) < (const uint8_t *) (DATA) + (SIZE)         \
         && (A)->len >= sizeof(struct dp_action);                          \
         (A) = (const struct dp_action *) ((const uint8_t *) (A) + (A)->len))
static inline const void *dpa_arg(const struct dp_action *a)
{
    return a + 1;
}
/* Formats actions in OVS's datapath style: "1,2", "drop",
 * "push_vlan(vid=10,pcp=0),2", "recirc(0x1)", "userspace(...)",
 * "set(ipv4(src=10.0.0.1))", "ct(commit,zone=1,mark=0x1/0xff,
 * nat(src=10.0.0.1-10.0.0.9:1000-2000))", "ct_clear". */
struct ds;
void dpa_format(struct ds *, const void *actions, size_t size);

/* ---- Datapath instance ------------------------------------------------ */

struct dpif;

/* The upcall handler's verdict for one missed packet. */
struct dpif_upcall {
    /* In: the packet (read-only: the datapath executes the actions on it
     * afterwards) and its flow key. */
    const struct dp_packet *packet;
    const struct flow *flow;
    /* Out: actions to execute and, if 'install', to install as a megaflow
     * covering every packet that agrees with 'flow' on 'wc'. 'actions'
     * arrives as a stub with capacity for at least 4 KB. */
    struct dpa_buf actions;
    struct flow_wildcards wc;   /* arrives catch-all; handler sets bits */
    bool install;
    /* Opaque to the datapath.  Every non-NULL cookie the handler returns
     * comes back through dpif_stats_cb exactly once with removed=true,
     * and the upcall packet is counted exactly once:
     *   - If the datapath installs a megaflow, it attaches the cookie:
     *     the megaflow's statistics (the upcall packet included) are
     *     reported with it until the megaflow is removed.
     *   - Otherwise ('install' false, megaflow limit reached, an identical
     *     megaflow already there, no memory for the actions, or the
     *     actions rejected), the cookie is handed back at the next
     *     dpif_collect_stats(), dpif_flow_flush(), dpif_revalidate() or
     *     dpif_destroy(), with removed=true and statistics for the upcall
     *     packet (one packet; zero if it was dropped as malformed).
     *   - A NULL cookie is never reported: the handler then counts the
     *     upcall packet itself.
     * So a handler credits the upcall packet directly only when it
     * returns no cookie. */
    void *cookie;
};

/* Called in a worker thread on a cache miss.  Returns 0, or a negative
 * errno to drop the packet (counted). */
typedef int dpif_upcall_cb(void *aux, struct dpif_upcall *);

/* Called for DPA_USERSPACE (in a worker thread): 'packet' is borrowed. */
typedef void dpif_userspace_cb(void *aux, const struct dp_packet *packet,
                               const struct flow *flow,
                               const struct dpa_userspace *);

/* Statistics credited to a megaflow's cookie since the last collection. */
struct dpif_flow_stats {
    uint64_t n_packets;
    uint64_t n_bytes;
    long long used;             /* time_msec() of last hit, 0 if never */
    uint16_t tcp_flags;         /* OR of TCP flags seen (host order) */
};
/* 'removed' is true on the cookie's last report: the datapath no longer
 * references it afterwards.  Called in the main thread only (from the
 * dpif_* functions below), never in a worker. */
typedef void dpif_stats_cb(void *aux, void *cookie,
                           const struct dpif_flow_stats *, bool removed);

struct dpif_config {
    int n_workers;              /* 0: default (1) */
    size_t max_megaflows;       /* 0: default (200000) */
    int megaflow_idle_ms;       /* 0: default (10000) */
    struct dpif_ct *ct;         /* connection tracker for DPA_CT; NULL:
                                 * dpif_ct_global() */
};

int dpif_create(const char *name, const struct dpif_config *,
                struct dpif **);
/* Stops the workers, closes every port (removing TAPs it made, detaching
 * XDP programs). Accepts NULL. */
void dpif_destroy(struct dpif *);
const char *dpif_name(const struct dpif *);

void dpif_set_upcall_cb(struct dpif *, dpif_upcall_cb *, void *aux);
void dpif_set_userspace_cb(struct dpif *, dpif_userspace_cb *, void *aux);
/* Where megaflows removed by dpif_flow_flush(), dpif_revalidate() and
 * dpif_destroy() report their final statistics (removed=true).  Until it
 * is called, the callback last passed to dpif_collect_stats() is used. */
void dpif_set_stats_cb(struct dpif *, dpif_stats_cb *, void *aux);

/* ---- Ports ------------------------------------------------------------ */

struct dpif_port_stats {
    uint64_t rx_packets, rx_bytes, rx_dropped, rx_errors;
    uint64_t tx_packets, tx_bytes, tx_dropped, tx_errors;
};

struct dpif_port_info {
    uint32_t port_no;
    char name[64];
    char type[16];
    struct eth_addr mac;
    int mtu;
};

/* Adds port 'name' of 'type' (NULL or "": the default type) with port
 * number '*port_no' (0: the lowest free number).  On success stores the
 * number.  On failure returns a negative errno (or TS_ERR_*) and sets
 * '*errp' to a malloc'ed message; nothing half-made is left behind. */
int dpif_port_add(struct dpif *, const char *name, const char *type,
                  const struct smap *options, uint32_t *port_no,
                  char **errp);
int dpif_port_del(struct dpif *, uint32_t port_no);
/* Changes a live port's options to 'options' (the complete new set).
 * Only the impairment keys (delay, jitter, loss, rate, limit: see
 * docs/ports.md) may differ from what the port was opened with; any
 * other change fails with -EOPNOTSUPP and '*errp' (malloc'ed) naming the
 * key.  Packets already queued keep their due times unless 'limit'
 * changes (then they leave at once). */
int dpif_port_set_options(struct dpif *, uint32_t port_no,
                          const struct smap *options, char **errp);
int dpif_port_query(const struct dpif *, uint32_t port_no,
                    struct dpif_port_info *);
int dpif_port_stats(const struct dpif *, uint32_t port_no,
                    struct dpif_port_stats *);
/* Fills 'ports' with up to 'max' ports, sorted by number; returns the
 * total number of ports. */
size_t dpif_port_list(const struct dpif *, uint32_t *ports, size_t max);

/* Dummy ports only (tests): inject a frame as if received; collect frames
 * the datapath sent.  Return 0 / the number collected, or -errno. */
int dpif_port_inject(struct dpif *, uint32_t port_no, const void *frame,
                     size_t len);
int dpif_port_collect(struct dpif *, uint32_t port_no,
                      struct dp_packet **out, size_t max);

/* ---- Megaflows -------------------------------------------------------- */

/* Removes every megaflow (reporting final stats through 'stats_cb'
 * first).  Synchronous with the workers (see top of file). */
void dpif_flow_flush(struct dpif *);

/* For each megaflow, asks 'check' whether it is still right; a megaflow
 * for which 'check' returns false is removed.  Synchronous with the
 * workers. */
typedef bool dpif_revalidate_cb(void *aux, const struct flow *key,
                                const struct flow_wildcards *mask,
                                const void *actions, size_t actions_len,
                                void *cookie);
void dpif_revalidate(struct dpif *, dpif_revalidate_cb *, void *aux);

/* Reports statistics accumulated since the last call, per megaflow
 * cookie, and removes megaflows idle longer than the idle time. */
void dpif_collect_stats(struct dpif *, dpif_stats_cb *, void *aux);

struct dpif_flow_dump_entry {
    struct flow key;
    struct flow_wildcards mask;
    const void *actions;        /* borrowed for the callback only */
    size_t actions_len;
    struct dpif_flow_stats stats;   /* totals since install */
};
/* Calls 'cb' for every megaflow.  Consistent per megaflow. */
void dpif_flow_dump(struct dpif *,
                    void (*cb)(void *aux, const struct dpif_flow_dump_entry *),
                    void *aux);
size_t dpif_flow_count(const struct dpif *);

/* ---- Execution -------------------------------------------------------- */

/* Runs 'actions' on 'packet' (consumed) whose key is 'flow' (as from
 * flow_extract), in the calling (main) thread.  Used for packet-out. */
int dpif_execute(struct dpif *, struct dp_packet *packet,
                 const struct flow *flow, const void *actions,
                 size_t actions_len);

/* ---- Statistics -------------------------------------------------------- */

/* n_lost: misses dropped without an upcall (no handler, or too many
 * unattached cookies waiting for the next collection). */
struct dpif_stats {
    uint64_t n_hit_emc, n_hit_megaflow, n_missed, n_lost;
    uint64_t n_megaflows;
    uint64_t n_upcall_errors;
};
void dpif_get_stats(const struct dpif *, struct dpif_stats *);

/* ---- Packet capture (datapath/dp-capture.c) ---------------------------
 *
 * A capture tap copies what passes a port into bounded rings: received
 * packets ('rx', as the port hands them over, before the pipeline) and
 * transmitted ones ('tx', after the actions, as the datapath gives them to
 * the port).  The packet path pays one relaxed load per batch while no
 * tap is on the port; with a tap, one BPF run per packet (libpcap filter
 * syntax, compiled here) and one copy per matching packet.  A full ring
 * drops the copy (counted), never the port's packet, and never blocks.
 *
 * Offloads: 'rx' shows what the port received, so a GSO superframe from
 * a TAP or AF_PACKET port appears as one large frame (as tcpdump on the
 * kernel interface shows it).  'tx' shows what the port transmits: if
 * the port takes GSO/partial checksums, the superframe; if not, the
 * segments (with filled checksums) the datapath makes for it.
 *
 * Threads: every dpif_capture_* function is for the main thread.  A tap
 * belongs to its creator until dpif_capture_stop(); if its port or dpif
 * goes away first, the tap is detached: polling still returns what was
 * captured before, then dpif_capture_is_detached() says so. */
enum dpif_capture_dir {
    DPIF_CAPTURE_RX = 1 << 0,
    DPIF_CAPTURE_TX = 1 << 1,
};
#define DPIF_CAPTURE_SNAPLEN_MAX 262144         /* tcpdump's default */
#define DPIF_CAPTURE_RING_DEFAULT (4u << 20)    /* bytes per direction */
#define DPIF_CAPTURE_RING_MIN 4096

struct dpif_capture_config {
    uint32_t port_no;
    uint32_t directions;        /* DPIF_CAPTURE_*; 0: both */
    uint32_t snaplen;           /* 0: DPIF_CAPTURE_SNAPLEN_MAX */
    const char *filter;         /* pcap-filter(7) text; NULL or "": all */
    size_t ring_bytes;          /* per direction (rounded up to a power of
                                 * 2, at least RING_MIN); 0: default */
};

struct dpif_capture_packet {
    uint64_t ts_ns;             /* CLOCK_REALTIME of the batch */
    uint32_t port_no;
    uint8_t direction;          /* DPIF_CAPTURE_RX or DPIF_CAPTURE_TX */
    uint32_t orig_len;          /* length on the port */
    const void *data;           /* borrowed for the callback */
    uint32_t len;               /* captured bytes, <= snaplen */
};
typedef void dpif_capture_cb(void *aux, const struct dpif_capture_packet *);

struct dpif_capture_stats {
    uint64_t matched;           /* packets that passed the filter */
    uint64_t delivered;         /* handed to the poll callback */
    uint64_t dropped;           /* ring full, or too big for the ring */
};

struct dpif_capture;
/* Starts a tap.  Errors: -TS_ERR_NO_PORT, -EINVAL (bad filter, bad
 * snaplen or directions) with '*errp' set to a malloc'ed message that
 * says why (libpcap's text for a filter). */
int dpif_capture_start(struct dpif *, const struct dpif_capture_config *,
                       struct dpif_capture **, char **errp);
/* Hands up to 'max' captured packets to 'cb' in timestamp order (rx and
 * tx merged); returns how many.  Bounded work. */
size_t dpif_capture_poll(struct dpif_capture *, size_t max,
                         dpif_capture_cb *, void *aux);
void dpif_capture_get_stats(const struct dpif_capture *,
                            struct dpif_capture_stats *);
/* True once the tap's port or dpif is gone (nothing more will come). */
bool dpif_capture_is_detached(const struct dpif_capture *);
/* Detaches (if needed) and frees the tap; what was not polled is lost.
 * Accepts NULL. */
void dpif_capture_stop(struct dpif_capture *);

/* ---- Connection tracking ----------------------------------------------
 *
 * One connection tracker serves every datapath of the process, as in
 * OVS's single userspace datapath: dpif_ct_global() creates it on first
 * use and it lives until exit.  A dpif uses dpif_config.ct if set (tests
 * make private trackers with dpif_ct_create()), else the global one.
 * Zones are the only separation between bridges.
 *
 * Threads: every dpif_ct_* function is for the main thread (workers only
 * run DPA_CT).  Work that can be large (dump, flush) proceeds in slices
 * bounded by the caller. */
struct dpif_ct;

struct dpif_ct_config {
    uint32_t max_conns;         /* 0: 3,000,000 (OVS) */
    uint32_t n_buckets;         /* 0: derived from max_conns */
};
/* Creates a private tracker ('cfg' NULL: defaults); the caller owns it and
 * must destroy it after every dpif using it.  Returns NULL on failure. */
struct dpif_ct *dpif_ct_create(const struct dpif_ct_config *cfg);
void dpif_ct_destroy(struct dpif_ct *);     /* accepts NULL */
/* The process-wide tracker (created on first call, never freed).
 * Thread-safe. */
struct dpif_ct *dpif_ct_global(void);
/* The tracker 'dpif' uses (borrowed). */
struct dpif_ct *dpif_get_ct(const struct dpif *);

/* Main-loop work: sweeps expired connections (bounded work), delivers
 * queued events to subscribers.  Returns the time (msec, same clock as
 * 'now_ms') at which it wants to run again; when idle that is seconds
 * away so an idle switch costs no CPU. */
long long dpif_ct_run(struct dpif_ct *, long long now_ms);

/* Limits and counters (OVS's dpctl/ct-set-maxconns, ct-get-maxconns,
 * ct-get-nconns, ct-enable/disable-tcp-seq-chk). */
void dpif_ct_set_maxconns(struct dpif_ct *, uint32_t);
uint32_t dpif_ct_get_maxconns(const struct dpif_ct *);
uint32_t dpif_ct_get_nconns(const struct dpif_ct *);
void dpif_ct_set_tcp_seq_chk(struct dpif_ct *, bool enabled);
bool dpif_ct_get_tcp_seq_chk(const struct dpif_ct *);

struct dpif_ct_stats {
    uint32_t n_conns, max_conns;
    uint64_t full_drops;        /* commits refused: table full */
    uint64_t zone_limit_drops;  /* commits refused: zone limit */
    uint64_t invalid;           /* packets marked +inv */
    uint64_t bad_csum;
    uint64_t tcp_seq_fail;
    uint64_t nat_exhausted;     /* NAT found no free tuple */
    uint64_t events_dropped;
    uint64_t created, expired;
};
void dpif_ct_get_stats(const struct dpif_ct *, struct dpif_ct_stats *);

struct dpif_ct_zone_stats {
    uint32_t count;             /* connections in the zone */
    uint32_t limit;             /* in force; 0: unlimited */
    bool own_limit;             /* false: follows the default limit */
    uint64_t limit_drops;
    uint64_t nat_exhausted;     /* NAT found no free tuple in this zone
                                 * (counted process-wide: every tracker
                                 * adds to the same per-zone counter) */
};
void dpif_ct_get_zone_stats(const struct dpif_ct *, uint16_t zone,
                            struct dpif_ct_zone_stats *);

/* Zone limits (OVS's ct-set-limits / ct-get-limits / ct-del-limits):
 * limit 0 is unlimited; a zone without its own limit uses the
 * default. */
void dpif_ct_set_default_limit(struct dpif_ct *, uint32_t limit);
uint32_t dpif_ct_get_default_limit(const struct dpif_ct *);
void dpif_ct_set_zone_limit(struct dpif_ct *, uint16_t zone, uint32_t);
void dpif_ct_del_zone_limit(struct dpif_ct *, uint16_t zone);

/* Timeout policies with OVS's key names ("tcp_established", "udp_first",
 * "icmp_reply", ..., values in seconds as decimal strings).  'zone' NULL
 * is the default policy.  Set merges the given keys into the zone's
 * policy (a zone without one starts from nothing: unset keys use the
 * default policy); an unknown key or bad value returns -EINVAL and sets
 * '*errp' (malloc'ed) and changes nothing.  Get fills 'out' (cleared
 * first) with the keys set, returns -ENOENT if the zone has no policy.
 * Del returns -ENOENT likewise (the default policy cannot be deleted:
 * -EINVAL). */
int dpif_ct_tp_set(struct dpif_ct *, const uint16_t *zone,
                   const struct smap *keys, char **errp);
int dpif_ct_tp_get(const struct dpif_ct *, const uint16_t *zone,
                   struct smap *out);
int dpif_ct_tp_del(struct dpif_ct *, uint16_t zone);
/* Every valid key name, NULL-terminated (static). */
const char *const *dpif_ct_tp_keys(void);

/* A connection tuple as dpctl/flush-conntrack takes it.  Parsed from
 * OVS's syntax "ct_nw_src=10.0.0.1,ct_nw_dst=10.0.0.2,ct_nw_proto=6,
 * ct_tp_src=1,ct_tp_dst=2" (ct_ipv6_src/ct_ipv6_dst for IPv6; for ICMP
 * icmp_id, icmp_type, icmp_code).  Opaque storage, plain data. */
struct dpif_ct_tuple {
    uint8_t opaque[48];
};
/* Returns 0, or -EINVAL with '*errp' (malloc'ed) naming the bad part. */
int dpif_ct_tuple_parse(const char *, struct dpif_ct_tuple *, char **errp);

/* Flush filter: every given criterion must match. */
struct dpif_ct_flush_filter {
    bool has_zone;
    uint16_t zone;
    uint32_t mark, mark_mask;       /* mask 0: any */
    uint64_t label[2], label_mask[2];
    const struct dpif_ct_tuple *orig;   /* NULL: any */
    const struct dpif_ct_tuple *reply;  /* NULL: any */
};
/* Flushes in one call; returns the number of entries removed.  'filter'
 * NULL: everything. */
size_t dpif_ct_flush(struct dpif_ct *, const struct dpif_ct_flush_filter *);
/* Sliced flush.  start copies the filter (tuples included); next removes
 * matching entries from at most 'max_buckets' buckets, adds to '*n_removed'
 * and returns true while more remains; destroy accepts NULL. */
struct dpif_ct_flush_op;
struct dpif_ct_flush_op *dpif_ct_flush_start(
    struct dpif_ct *, const struct dpif_ct_flush_filter *);
bool dpif_ct_flush_next(struct dpif_ct_flush_op *, size_t max_buckets,
                        size_t *n_removed);
void dpif_ct_flush_destroy(struct dpif_ct_flush_op *);

/* Sliced dump in OVS's dpctl/dump-conntrack format, one line per
 * connection ending in '\n'.  'zone' NULL: every zone; 'verbose' is -m,
 * 'stats' is -s (per-direction packets/bytes, timeout).  next appends at
 * most 'max' lines to 'out' and returns true while more remains (it may
 * append nothing and still return true).  Lines are not sorted. */
struct dpif_ct_dump;
struct dpif_ct_dump *dpif_ct_dump_start(struct dpif_ct *,
                                        const uint16_t *zone,
                                        bool verbose, bool stats);
bool dpif_ct_dump_next(struct dpif_ct_dump *, struct ds *out, size_t max);
void dpif_ct_dump_destroy(struct dpif_ct_dump *);

/* Appends pending helper expectations (FTP/TFTP), one line each ending in
 * '\n' (format of ct_alg_format_expectation); 'zone' NULL: all.  Returns
 * the number of lines.  Bounded by the expectation table size. */
size_t dpif_ct_dump_expectations(struct dpif_ct *, const uint16_t *zone,
                                 struct ds *out);

/* Events, in the style of `conntrack -E`: "[NEW] ", "[UPDATE] " or
 * "[DESTROY] " followed by the dump-conntrack line (no newline).  The
 * callback runs in the main thread from dpif_ct_run(); 'line' is borrowed
 * for the call.  Subscriptions stay until unsubscribed; the tracker
 * queues events only while at least one exists. */
typedef void dpif_ct_event_cb(void *aux, const char *line);
struct dpif_ct_sub;
struct dpif_ct_sub *dpif_ct_subscribe(struct dpif_ct *, const uint16_t *zone,
                                      dpif_ct_event_cb *, void *aux);
void dpif_ct_unsubscribe(struct dpif_ct_sub *);     /* accepts NULL */

/* Read-only lookup for tracing: the ct_state (CS_* bits, CS_TRACKED
 * included), mark, labels and original tuple that DPA_CT in 'zone' would
 * give 'packet' with key 'flow' now, without creating or updating
 * anything.  Writes the result into 'flow' ct_* fields.  Returns 0, or
 * -EINVAL if the packet cannot be tracked (+trk+inv is then written). */
int dpif_ct_lookup(struct dpif_ct *, const struct dp_packet *packet,
                   struct flow *flow, uint16_t zone);

/* ---- Conntrack snapshots (datapath/dpif-ct-snapshot.c) ----------------
 *
 * Restarts that keep connections.  A snapshotter owns one snapshot file
 * for one tracker: at creation it restores the file into the (empty)
 * tracker, then, with an interval, a thread of its own saves the table
 * every interval (the walk holds one conntrack stripe for one bucket at
 * a time; neither workers nor the main loop wait for it).  The daemon
 * creates it before any port exists, saves once more with
 * 'final' after the datapath has stopped, and destroys it.  Format and
 * guarantees: conntrack.h "Snapshots", docs/conntrack.md "Restarts".
 *
 * Threads: main thread, except that the periodic thread runs saves; a
 * mutex serializes every save and the status. */
struct dpif_ct_snapshotter;

struct dpif_ct_snapshot_status {
    const char *path;           /* borrowed from the snapshotter */
    unsigned int interval_ms;   /* 0: no periodic saves */
    /* The restore at creation. */
    int restore_error;          /* 0, or why nothing was restored: -ENOENT
                                 * (no file), -TS_ERR_STORE, ... */
    uint32_t restored;          /* connections restored */
    uint32_t restore_skipped;   /* expired or did not fit */
    long long restore_age_ms;   /* age of the snapshot restored */
    long long restore_us;       /* time the restore took */
    /* Saves. */
    uint64_t n_saves, n_failures;
    long long last_save_wall_ms;    /* 0: never */
    uint32_t last_conns, last_exps;
    uint64_t last_bytes;
    long long last_duration_us;
    long long last_max_hold_ns; /* longest stripe hold of the last save */
    long long worst_max_hold_ns;    /* ... of every save */
    char last_error[160];       /* "" if the last save succeeded */
};

/* Restores 'path' into 'ct' (logging what it restored, or why it
 * refused: a file it refuses is renamed to PATH.rejected so that the
 * next save does not destroy the evidence), then starts periodic saves
 * every 'interval_ms' (0: none).  'path' is copied.  Never fails: the
 * caller owns the result. */
struct dpif_ct_snapshotter *dpif_ct_snapshotter_create(
    struct dpif_ct *ct, const char *path, unsigned int interval_ms);
/* Saves now (waits for a periodic save in progress first).  'final':
 * the datapath has stopped forwarding (TCP windows are exact).  Returns 0
 * or a negative errno with '*errp' (malloc'ed, if nonnull). */
int dpif_ct_snapshotter_save(struct dpif_ct_snapshotter *, bool final,
                             char **errp);
void dpif_ct_snapshotter_get_status(struct dpif_ct_snapshotter *,
                                    struct dpif_ct_snapshot_status *);
/* Stops the periodic thread and frees.  Saves nothing.  Accepts NULL. */
void dpif_ct_snapshotter_destroy(struct dpif_ct_snapshotter *);

#endif /* dpif.h */
