/* ctl-proto: the control protocol between vsctl (and other clients) and
 * vswitchd: message definitions, encoding and decoding.
 *
 * Framing follows OpenFlow.  Every message starts with an 8-byte header
 * {uint8 version; uint8 type; uint16 length; uint32 xid}, big-endian,
 * where 'length' counts the header and is at most CTL_MAX_MSG_LEN.  The
 * body is a sequence of typed fields; match fields and actions travel as
 * TLVs {uint16 type; uint16 len; value; zero padding to 8}.  The wire
 * format is specified in docs/protocol.md, which is the reference for
 * third-party clients; this header is the C view of it.
 *
 * A message in memory is a struct ctl_msg: a type, an xid and a union of
 * bodies.  Decoding allocates (strings, arrays, flow-mods); the message
 * owns everything it points to and ctl_msg_release() frees it all.
 * Encoding never modifies the message.
 *
 * Replies that can exceed one message (dumps, lists, trace text) are
 * multipart: a request of type CTL_MULTIPART_REQUEST names a
 * CTL_MP_* kind; the answer is one or more CTL_MULTIPART_REPLY messages of
 * the same kind and xid, all but the last carrying CTL_MPF_MORE.  The
 * receiver concatenates their entries.
 *
 * The daemon also sends CTL_PACKET_IN, with xid 0, at any time to a
 * connection that subscribed with CTL_MONITOR, and CTL_CT_EVENT to one
 * that subscribed with CTL_CT_MONITOR, and CTL_CAPTURE_PACKET (and a
 * self-ended capture's CTL_CAPTURE_END) during a capture: the only
 * messages that are not replies.
 *
 * Every other request is answered by exactly one message: its specific
 * reply (ECHO_REPLY, BARRIER_REPLY, STATUS_REPLY, LOG_LEVEL_REPLY,
 * CT_INFO_REPLY), the generic CTL_OK, or CTL_ERROR.  Conntrack requests
 * (types 80-90, multipart kinds 80-84) are in lib/ctl-proto-ct.c.
 *
 * Decoding untrusted bytes never crashes and never asserts: every length
 * is checked before it is read, and a bad message yields -TS_ERR_PROTO
 * (or -TS_ERR_VERSION, -TS_ERR_TOO_BIG) with a message saying where.
 * Decoding checks syntax and ranges (lengths, known types and field ids,
 * field widths, argument ranges of actions) but not meaning: the daemon
 * still runs match_check_prereqs() and ofpacts_check() on what it gets.
 *
 * Threads: no shared state; use from any thread, one message per thread
 * at a time. */
#ifndef TS_CTL_PROTO_H
#define TS_CTL_PROTO_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "dynamic-string.h"
#include "smap.h"

/* Provided by lib/ofp-flow.h (a flow-mod, and one flow of a dump) and
 * lib/ofpact.h (an action list). */
struct ofp_flow_mod;
struct ofp_flow_stats;
struct ofp_group_mod;
struct ofp_bucket_stats;
struct ofpact;

#define CTL_VERSION 1           /* the only version spoken so far */
#define CTL_MIN_VERSION 1
#define CTL_HEADER_LEN 8
#define CTL_MAX_MSG_LEN 65535   /* 'length' is 16 bits */
#define CTL_TLV_ALIGN 8

/* Message types.  Blocks leave room: 0-15 generic, 16-31 configuration,
 * 32-47 flow tables, 48-63 packets and debugging, 64-79 daemon, 80-111
 * conntrack, 112-127 TLS and management (next issue). */
enum ctl_type {
    /* Generic. */
    CTL_HELLO = 0,              /* struct ctl_hello; both sides, first */
    CTL_ERROR = 1,              /* struct ctl_error */
    CTL_ECHO_REQUEST = 2,       /* struct ctl_echo (arbitrary payload) */
    CTL_ECHO_REPLY = 3,         /* struct ctl_echo (same payload) */
    CTL_BARRIER_REQUEST = 4,    /* no body */
    CTL_BARRIER_REPLY = 5,      /* no body */
    CTL_OK = 6,                 /* no body: generic success reply */
    CTL_MULTIPART_REQUEST = 7,  /* struct ctl_mp_request */
    CTL_MULTIPART_REPLY = 8,    /* struct ctl_mp_reply */
    CTL_SET_CONN_FLAGS = 9,     /* u32 conn_flags (CTL_CONN_*); reply OK */

    /* Configuration (reply: CTL_OK or CTL_ERROR). */
    CTL_ADD_BR = 16,            /* struct ctl_br_request */
    CTL_DEL_BR = 17,            /* struct ctl_br_request */
    CTL_ADD_PORT = 18,          /* struct ctl_port_request */
    CTL_DEL_PORT = 19,          /* struct ctl_port_request */
    CTL_MOD_PORT = 20,          /* struct ctl_port_request: options to
                                 * change (KEY= removes KEY) */

    /* Flow tables (reply: CTL_OK or CTL_ERROR). */
    CTL_FLOW_MOD = 32,          /* struct ctl_flow_mod */
    CTL_BUNDLE_OPEN = 33,       /* struct ctl_bundle */
    CTL_BUNDLE_ADD = 34,        /* struct ctl_bundle (with flow_mod) */
    CTL_BUNDLE_COMMIT = 35,     /* struct ctl_bundle */
    CTL_BUNDLE_DISCARD = 36,    /* struct ctl_bundle */
    CTL_GROUP_MOD = 37,         /* struct ctl_group_mod */

    /* Packets (reply: CTL_OK or CTL_ERROR). */
    CTL_PACKET_OUT = 48,        /* struct ctl_packet_out */
    CTL_PACKET_IN = 49,         /* struct ctl_packet_in: asynchronous,
                                 * daemon to a subscribed client, xid 0 */
    CTL_MONITOR = 50,           /* struct ctl_monitor: subscribe; OK */

    /* Daemon. */
    CTL_LOG_LEVEL_REQUEST = 64, /* struct ctl_log_level_request */
    CTL_LOG_LEVEL_REPLY = 65,   /* struct smap: module -> level */
    CTL_STATUS_REQUEST = 66,    /* no body */
    CTL_STATUS_REPLY = 67,      /* struct smap: key -> value */

    /* Conntrack (80-95; 96-111 reserved for it).  Changes reply CTL_OK
     * or CTL_ERROR; configuration (limits, maxconns, timeout policies,
     * tcp-seq-chk) is durable before the OK. */
    CTL_CT_FLUSH = 80,          /* struct ctl_ct_flush; OK when done */
    CTL_CT_SET_MAXCONNS = 81,   /* u32 ct_value */
    CTL_CT_SET_LIMITS = 82,     /* struct ctl_ct_limits */
    CTL_CT_DEL_LIMITS = 83,     /* struct ctl_ct_limits (zones only) */
    CTL_CT_SET_TP = 84,         /* struct ctl_ct_tp */
    CTL_CT_DEL_TP = 85,         /* struct ctl_ct_tp (zone only) */
    CTL_CT_SET_TCP_SEQ_CHK = 86, /* u32 ct_value: 0 off, 1 on */
    CTL_CT_INFO_REQUEST = 87,   /* no body */
    CTL_CT_INFO_REPLY = 88,     /* struct smap: key -> decimal value */
    CTL_CT_MONITOR = 89,        /* struct ctl_ct_monitor: subscribe; OK */
    CTL_CT_EVENT = 90,          /* struct ctl_ct_event: asynchronous,
                                 * daemon to a subscribed client, xid 0 */

    /* Management (112-127). */
    CTL_RESTART = 112,          /* no body: save state, reply OK, then
                                 * re-execute the daemon's binary */
    /* Packet capture (113-119; see "Packet capture" below). */
    CTL_CAPTURE_START = 113,    /* struct ctl_capture_start; reply OK,
                                 * then CAPTURE_PACKETs with its xid */
    CTL_CAPTURE_PACKET = 114,   /* struct ctl_capture_packet: asynchronous,
                                 * xid of the CAPTURE_START */
    CTL_CAPTURE_STOP = 115,     /* struct ctl_capture_stop; reply
                                 * CAPTURE_END (the STOP's xid) */
    CTL_CAPTURE_END = 116,      /* struct ctl_capture_end: the capture's
                                 * last message */
};

/* Multipart kinds (struct ctl_mp_request / ctl_mp_reply 'mp_type').  Same
 * blocks as enum ctl_type; conntrack dumps take 80-111. */
enum ctl_mp_type {
    CTL_MP_LIST_BR = 16,        /* req: none;      reply: bridge names */
    CTL_MP_LIST_PORTS = 17,     /* req: bridge;    reply: struct ctl_port */
    CTL_MP_SHOW = 18,           /* req: none;      reply: ctl_show_bridge */
    CTL_MP_DUMP_FLOWS = 32,     /* req: ctl_dump_flows_request;
                                 * reply: struct ofp_flow_stats */
    CTL_MP_AGGREGATE = 33,      /* req: ctl_dump_flows_request;
                                 * reply: one struct ctl_aggregate */
    CTL_MP_DUMP_GROUPS = 34,    /* req: bridge, group_id (OFPG_ALL: all);
                                 * reply: struct ctl_group_entry */
    CTL_MP_DUMP_PORTS = 48,     /* req: bridge, port; reply: port stats */
    CTL_MP_DUMP_DP_FLOWS = 49,  /* req: bridge;    reply: ctl_dp_flow */
    CTL_MP_TRACE = 50,          /* req: ctl_trace_request; reply: text */
    CTL_MP_CT_DUMP = 80,        /* req: ctl_ct_dump_request;
                                 * reply: struct ctl_ct_conn */
    CTL_MP_CT_STATS = 81,       /* req: ctl_ct_dump_request;
                                 * reply: struct ctl_ct_counter */
    CTL_MP_CT_LIMITS = 82,      /* req: ctl_ct_limits (zones; none: all);
                                 * reply: struct ctl_ct_zone_limit */
    CTL_MP_CT_TP = 83,          /* req: ctl_ct_dump_request (zone may be
                                 * CTL_CT_ZONE_DEFAULT);
                                 * reply: struct ctl_ct_tp */
    CTL_MP_CT_DUMP_EXP = 84,    /* req: ctl_ct_dump_request;
                                 * reply: struct ctl_ct_conn (line only) */
};

/* Multipart flags. */
enum {
    CTL_MPF_MORE = 1 << 0,      /* more replies follow with the same xid */
};

/* Error types (struct ctl_error 'type').  'code' is a positive errno
 * value or a positive TS_ERR_* value (see errors.h) that describes the
 * cause; 'text' is the human-readable message shown to the user. */
enum ctl_error_type {
    CTL_ET_HELLO_FAILED = 0,    /* no common version; connection closes */
    CTL_ET_BAD_REQUEST = 1,     /* undecodable or unknown message */
    CTL_ET_FAILED = 2,          /* valid request that could not be done */
    CTL_ET_BUNDLE_FAILED = 3,   /* bundle commit failed; nothing applied */
};

/* Flags for add/del bridge/port requests. */
enum {
    CTL_CF_MAY_EXIST = 1 << 0,  /* add: no error if it already exists */
    CTL_CF_IF_EXISTS = 1 << 1,  /* del: no error if it does not exist */
};

/* Bundle flags (CTL_BUNDLE_OPEN). */
enum {
    CTL_BF_ATOMIC = 1 << 0,     /* all or nothing (always honoured) */
    CTL_BF_ORDERED = 1 << 1,    /* apply in the order added */
    CTL_BF_QUIET = 1 << 2,      /* BUNDLE_ADDs that succeed get no reply;
                                 * the first refused one gets its ERROR,
                                 * later ones of the failed bundle none */
};

/* Connection flags (CTL_SET_CONN_FLAGS). */
enum {
    /* Once a FLOW_MOD or GROUP_MOD fails, every later FLOW_MOD, GROUP_MOD
     * and BUNDLE_* request on the connection is refused (ERROR type
     * FAILED, code ECANCELED) until a BARRIER_REQUEST, which clears the
     * state: a pipelining client then stops at its first error. */
    CTL_CONN_STOP_ON_ERROR = 1 << 0,
};

/* Monitor flags (CTL_MONITOR); 0 unsubscribes. */
enum {
    CTL_MON_PACKET_IN = 1 << 0, /* send CTL_PACKET_IN for the bridge */
};

/* Dump-flows flags. */
enum {
    CTL_DF_STRICT = 1 << 0,     /* match priority and match exactly */
    CTL_DF_NO_STATS = 1 << 1,   /* client will not show stats */
};

#define CTL_PORT_ANY 0          /* add-port: let the daemon choose */
#define CTL_PORT_ALL 0xffffffff /* dump-ports: every port */
#define CTL_PORT_NONE 0xffff    /* packet-out in_port: none (controller) */
#define CTL_TABLE_ALL 0xff      /* dump-flows: every table */
#define CTL_STAT_UNKNOWN UINT64_MAX /* a counter the port does not keep */

/* Conntrack dump flags (struct ctl_ct_dump_request). */
enum {
    CTL_CTD_VERBOSE = 1 << 0,   /* -m: ids, status, per-direction state */
    CTL_CTD_STATS = 1 << 1,     /* -s: packets, bytes, timeout */
};

/* Conntrack monitor flags (CTL_CT_MONITOR); 0 unsubscribes. */
enum {
    CTL_CTM_EVENTS = 1 << 0,    /* send CTL_CT_EVENT for every event */
};

/* Conntrack event types (struct ctl_ct_event), as conntrack -E. */
enum ctl_ct_event_type {
    CTL_CTE_NEW = 0,
    CTL_CTE_UPDATE = 1,
    CTL_CTE_DESTROY = 2,
};

/* Packet capture.  A CAPTURE_START names a port; the daemon replies OK
 * (or ERROR: no such bridge or port, bad filter, with the reason) and
 * then sends each captured packet as a CAPTURE_PACKET carrying the
 * START's xid, until the client sends CAPTURE_STOP or closes.  The
 * reply to STOP is a CAPTURE_END with the STOP's xid; a capture that
 * ends by itself (its port or bridge deleted) gets a CAPTURE_END with
 * the START's xid.  Packets are never queued without bound: when the
 * client reads too slowly the daemon drops them and counts them in
 * CAPTURE_END's 'dropped'. */
#define CTL_CAPTURE_MAX_DATA (CTL_MAX_MSG_LEN - CTL_HEADER_LEN - 20)
                                /* bytes of one packet a CAPTURE_PACKET
                                 * holds: longer packets are truncated
                                 * (their 'orig_len' stays whole) */
enum {
    CTL_CAPF_RX = 1 << 0,       /* packets the port receives */
    CTL_CAPF_TX = 1 << 1,       /* packets the port transmits */
};
enum ctl_capture_end_reason {
    CTL_CAPE_STOPPED = 0,       /* CAPTURE_STOP */
    CTL_CAPE_PORT_GONE = 1,     /* the port or its bridge was deleted */
};

/* Counter kinds (struct ctl_ct_counter). */
enum ctl_ct_counter_kind {
    CTL_CTC_PROTO = 0,          /* connections of one protocol ("TCP") or
                                 * "Total" */
    CTL_CTC_STATE = 1,          /* connections of the previous PROTO entry
                                 * in one state ("ESTABLISHED") */
    CTL_CTC_COUNTER = 2,        /* a tracker counter ("zone_limit_drops") */
};

#define CTL_CT_ZONE_DEFAULT 0xfffffffeu /* limits, policies: the default */
#define CTL_CT_NO_ZONE 0xffffffffu      /* filters: every zone */

/* ---- Bodies ----------------------------------------------------------- */

struct ctl_hello {
    uint32_t version_bitmap;    /* bit N set: version N spoken; 0: only
                                 * the header's version */
};

struct ctl_error {
    uint16_t type;              /* enum ctl_error_type */
    uint16_t code;              /* positive errno or TS_ERR_* */
    char *text;                 /* owned; never NULL after decode */
};

struct ctl_echo {
    void *data;                 /* owned; may be NULL if size == 0 */
    size_t size;
};

struct ctl_br_request {
    char *name;                 /* owned */
    uint32_t flags;             /* CTL_CF_* */
};

struct ctl_port_request {
    char *bridge;               /* owned */
    char *name;                 /* owned */
    char *type;                 /* owned; add only: "" means "system" */
    uint32_t ofport;            /* add only: CTL_PORT_ANY or 1..0xfeff */
    uint32_t flags;             /* CTL_CF_* */
    struct smap options;        /* add only: KEY=VALUE options */
};

struct ctl_flow_mod {
    char *bridge;               /* owned */
    struct ofp_flow_mod *fm;    /* owned: malloc'ed, ofp_flow_mod_init'ed;
                                 * ctl_msg_release() releases and frees it */
};

struct ctl_bundle {
    uint32_t id;                /* client-chosen, unique per connection */
    uint32_t flags;             /* CTL_BF_* (OPEN only) */
    char *bridge;               /* owned; OPEN only, NULL otherwise */
    struct ofp_flow_mod *fm;    /* owned; ADD only, NULL otherwise */
};

struct ctl_packet_out {
    char *bridge;               /* owned */
    uint32_t in_port;           /* CTL_PORT_NONE or a port number */
    void *packet;               /* owned: the Ethernet frame */
    size_t packet_len;
    struct ofpact *ofpacts;     /* owned (malloc'ed) action list */
    size_t ofpacts_len;
};

struct ctl_group_mod {
    char *bridge;               /* owned */
    struct ofp_group_mod *gm;   /* owned: malloc'ed; ctl_msg_release()
                                 * releases and frees it */
};

/* A packet sent to the controller (OpenFlow's packet-in). */
struct ctl_packet_in {
    char *bridge;               /* owned */
    uint8_t reason;             /* OFPR_*: 0 no match, 1 action, ... */
    uint8_t table_id;
    uint32_t in_port;
    uint64_t cookie;            /* of the rule that sent it */
    uint32_t total_len;         /* length of the whole packet */
    void *packet;               /* owned: the first 'packet_len' bytes */
    size_t packet_len;
};

struct ctl_monitor {
    char *bridge;               /* owned */
    uint32_t flags;             /* CTL_MON_*; 0: stop */
};

struct ctl_log_level_request {
    char *spec;                 /* owned; "" to only read the levels, else
                                 * "MODULE:LEVEL", "MODULE" or "LEVEL" as
                                 * for log_set_level_str() */
};

/* A connection's tuple in one direction (flush-conntrack's ct_nw_src...
 * syntax).  Addresses are in network byte order: IPv4 in the first 4
 * bytes, the rest zero.  For ICMP, src_port and dst_port both hold the
 * id; icmp_type/icmp_code the query's type and code. */
struct ctl_ct_tuple {
    uint8_t family;             /* 4 or 6; 0: no tuple */
    uint8_t nw_proto;
    uint8_t icmp_type, icmp_code;
    uint16_t src_port, dst_port; /* host order */
    uint8_t src[16], dst[16];
};

struct ctl_ct_flush {
    uint32_t zone;              /* CTL_CT_NO_ZONE: every zone */
    uint32_t mark, mark_mask;   /* mask 0: any mark */
    uint64_t label[2], label_mask[2]; /* [0] low 64 bits; mask 0: any */
    struct ctl_ct_tuple orig;   /* family 0: any */
    struct ctl_ct_tuple reply;  /* family 0: any (requires 'orig') */
};

struct ctl_ct_zone_limit {
    uint32_t zone;              /* 0..65535 or CTL_CT_ZONE_DEFAULT */
    uint32_t limit;             /* 0: unlimited */
    uint32_t count;             /* replies only: connections now */
    uint64_t limit_drops;       /* replies only: commits refused */
};

struct ctl_ct_limits {
    struct ctl_ct_zone_limit *zones; /* owned array */
    size_t n;
};

struct ctl_ct_tp_attr {
    char *name;                 /* owned: "tcp_established", ... */
    uint32_t seconds;
};

/* A timeout policy (ovs-vsctl add-zone-tp keys). */
struct ctl_ct_tp {
    uint32_t zone;              /* 0..65535 or CTL_CT_ZONE_DEFAULT */
    struct ctl_ct_tp_attr *attrs; /* owned array */
    size_t n_attrs;
};

struct ctl_ct_monitor {
    uint32_t flags;             /* CTL_CTM_*; 0: stop */
    uint32_t zone;              /* CTL_CT_NO_ZONE: every zone */
};

struct ctl_ct_event {
    uint8_t type;               /* enum ctl_ct_event_type */
    char *line;                 /* owned: the connection as dump-conntrack
                                 * prints it (no "[NEW]" prefix) */
};

struct ctl_capture_start {
    char *bridge;               /* owned */
    char *port;                 /* owned: port name */
    uint32_t flags;             /* CTL_CAPF_*: at least one */
    uint32_t snaplen;           /* bytes kept per packet; 0: 262144 */
    uint32_t buffer_kb;         /* daemon's ring per direction; 0: default */
    char *filter;               /* owned: pcap-filter(7) text, "" for all */
};

struct ctl_capture_packet {
    uint64_t ts_ns;             /* Unix time, nanoseconds */
    uint32_t port;              /* port number */
    uint8_t direction;          /* CTL_CAPF_RX or CTL_CAPF_TX */
    uint32_t orig_len;          /* length on the wire */
    void *data;                 /* owned: the first 'len' bytes */
    size_t len;
};

struct ctl_capture_stop {
    uint32_t capture_xid;       /* xid of the CAPTURE_START */
};

struct ctl_capture_end {
    uint32_t capture_xid;       /* xid of the CAPTURE_START */
    uint32_t reason;            /* enum ctl_capture_end_reason */
    uint64_t captured;          /* CAPTURE_PACKETs sent */
    uint64_t dropped;           /* matching packets not sent (datapath
                                 * ring full or client too slow) */
};

/* Multipart requests. */
struct ctl_ct_dump_request {
    uint32_t flags;             /* CTL_CTD_* */
    uint32_t zone;              /* CTL_CT_NO_ZONE: every zone */
};

struct ctl_dump_flows_request {
    uint32_t flags;             /* CTL_DF_* */
    /* The filter: its match, table_id (CTL_TABLE_ALL for every table),
     * priority (strict only), cookie/cookie_mask and out_port.  Owned;
     * never NULL after decode. */
    struct ofp_flow_mod *filter;
};

struct ctl_trace_request {
    /* Exactly one of 'flow' and 'packet' is set. */
    char *flow;                 /* owned: flow text as for ofproto/trace */
    void *packet;               /* owned: Ethernet frame */
    size_t packet_len;
    uint32_t in_port;           /* with 'packet': the input port */
};

struct ctl_mp_request {
    uint16_t mp_type;           /* enum ctl_mp_type */
    uint16_t flags;             /* none defined yet, 0 */
    char *bridge;               /* owned; all kinds but LIST_BR and SHOW */
    union {
        uint32_t port;          /* DUMP_PORTS: number or CTL_PORT_ALL */
        uint32_t group_id;      /* DUMP_GROUPS: id or OFPG_ALL */
        struct ctl_dump_flows_request dump_flows; /* and AGGREGATE */
        struct ctl_trace_request trace;
        struct ctl_ct_dump_request ct_dump; /* CT_DUMP, CT_STATS, CT_TP,
                                             * CT_DUMP_EXP */
        struct ctl_ct_limits ct_limits;     /* CT_LIMITS */
    };
};

/* Multipart reply entries. */
struct ctl_port {
    char *name;                 /* owned */
    char *type;                 /* owned: "system", "internal", "tap"... */
    uint32_t ofport;
    struct smap options;
};

struct ctl_show_bridge {
    char *name;                 /* owned */
    struct ctl_port *ports;     /* owned array */
    size_t n_ports;
};

struct ctl_port_stats {
    uint32_t ofport;
    uint64_t rx_packets, rx_bytes, rx_dropped, rx_errors;
    uint64_t rx_frame_err, rx_over_err, rx_crc_err;
    uint64_t tx_packets, tx_bytes, tx_dropped, tx_errors;
    uint64_t collisions;        /* any counter: CTL_STAT_UNKNOWN if none */
    uint32_t duration_sec;      /* since the port was added */
    uint32_t duration_nsec;
};

struct ctl_dp_flow {
    char *match;                /* owned: key/mask as formatted text */
    char *actions;              /* owned: datapath actions as text */
    uint64_t n_packets, n_bytes;
    int64_t used_msec;          /* milliseconds since last hit, -1: never */
    uint16_t tcp_flags;         /* host order */
};

struct ctl_aggregate {
    uint64_t packet_count;
    uint64_t byte_count;
    uint32_t flow_count;
};

/* One connection of a CT_DUMP reply, or expectation of CT_DUMP_EXP: the
 * line OVS's dpctl/dump-conntrack prints, formatted for the request's
 * flags (no newline). */
struct ctl_ct_conn {
    char *line;                 /* owned */
};

struct ctl_ct_counter {
    uint8_t kind;               /* enum ctl_ct_counter_kind */
    char *name;                 /* owned */
    uint64_t value;
};

/* One group of a DUMP_GROUPS reply: its description and statistics. */
struct ctl_group_entry {
    struct ofp_group_mod *desc; /* owned (malloc'ed); command is ADD */
    uint32_t ref_count;
    uint64_t packet_count, byte_count;
    int64_t duration_msec;
    struct ofp_bucket_stats *bucket_stats; /* owned; desc->n_buckets */
};

struct ctl_mp_reply {
    uint16_t mp_type;           /* enum ctl_mp_type */
    uint16_t flags;             /* CTL_MPF_* */
    size_t n;                   /* number of entries in the array below */
    union {
        char **bridges;                 /* LIST_BR: owned strings */
        struct ctl_port *ports;         /* LIST_PORTS */
        /* SHOW.  A bridge whose ports do not fit one message continues
         * in the next one under the same name; ctl_mp_reply_append()
         * merges such continuations. */
        struct ctl_show_bridge *show;
        /* DUMP_FLOWS: owned pointers; each one's 'ofpacts' is owned too
         * (malloc'ed), despite ofp-flow.h's "borrowed". */
        struct ofp_flow_stats **flows;
        struct ctl_port_stats *port_stats; /* DUMP_PORTS */
        struct ctl_dp_flow *dp_flows;   /* DUMP_DP_FLOWS */
        struct ctl_aggregate *aggregates; /* AGGREGATE (n is 1) */
        struct ctl_group_entry *groups; /* DUMP_GROUPS */
        char *text;                     /* TRACE: owned; 'n' = strlen */
        struct ctl_ct_conn *ct_conns;   /* CT_DUMP, CT_DUMP_EXP */
        struct ctl_ct_counter *ct_counters; /* CT_STATS */
        struct ctl_ct_zone_limit *ct_limits; /* CT_LIMITS */
        struct ctl_ct_tp *ct_tps;       /* CT_TP */
    };
};

/* A control message in memory. */
struct ctl_msg {
    uint8_t version;            /* header version (set by decode) */
    uint8_t type;               /* enum ctl_type */
    uint32_t xid;
    union {
        struct ctl_hello hello;
        struct ctl_error error;
        struct ctl_echo echo;
        struct ctl_br_request br;
        struct ctl_port_request port;
        struct ctl_flow_mod flow_mod;
        struct ctl_bundle bundle;
        struct ctl_packet_out packet_out;
        struct ctl_group_mod group_mod;
        struct ctl_packet_in packet_in;
        struct ctl_monitor monitor;
        uint32_t conn_flags;    /* SET_CONN_FLAGS */
        struct ctl_log_level_request log_level;
        struct smap kv;         /* LOG_LEVEL_REPLY, STATUS_REPLY,
                                 * CT_INFO_REPLY */
        uint32_t ct_value;      /* CT_SET_MAXCONNS, CT_SET_TCP_SEQ_CHK */
        struct ctl_ct_flush ct_flush;
        struct ctl_ct_limits ct_limits; /* CT_SET_LIMITS, CT_DEL_LIMITS */
        struct ctl_ct_tp ct_tp;         /* CT_SET_TP, CT_DEL_TP */
        struct ctl_ct_monitor ct_monitor;
        struct ctl_ct_event ct_event;
        struct ctl_capture_start capture_start;
        struct ctl_capture_packet capture_packet;
        struct ctl_capture_stop capture_stop;
        struct ctl_capture_end capture_end;
        struct ctl_mp_request mp_request;
        struct ctl_mp_reply mp_reply;
    };
};

/* ---- Life cycle ------------------------------------------------------- */

/* Zeroes 'msg' and sets its type, xid and version (CTL_VERSION); smaps
 * in the body are initialized as the type needs. */
void ctl_msg_init(struct ctl_msg *msg, enum ctl_type, uint32_t xid);
/* Frees everything 'msg' owns and leaves it zeroed.  Accepts NULL and a
 * zeroed or just-initialized message. */
void ctl_msg_release(struct ctl_msg *msg);

/* Convenience initializers.  Strings are copied. */
void ctl_msg_init_error(struct ctl_msg *, uint32_t xid,
                        enum ctl_error_type, int err,
                        const char *fmt, ...) TS_PRINTF(5, 6);
void ctl_msg_init_mp_request(struct ctl_msg *, uint32_t xid,
                             enum ctl_mp_type, const char *bridge);
void ctl_msg_init_mp_reply(struct ctl_msg *, uint32_t xid,
                           enum ctl_mp_type);

/* Appending entries to a multipart reply (the reply takes ownership of
 * what is passed by pointer; strings are copied). */
void ctl_mp_reply_add_bridge(struct ctl_msg *, const char *name);
/* Returns the new port, whose options the caller may fill. */
struct ctl_port *ctl_mp_reply_add_port(struct ctl_msg *, const char *name,
                                       const char *type, uint32_t ofport);
/* SHOW: adds a bridge; then ctl_show_bridge_add_port() adds its ports. */
struct ctl_show_bridge *ctl_mp_reply_add_show_bridge(struct ctl_msg *,
                                                     const char *name);
struct ctl_port *ctl_show_bridge_add_port(struct ctl_show_bridge *,
                                          const char *name, const char *type,
                                          uint32_t ofport);
/* Copies 'fs' and its action list (which stays the caller's). */
void ctl_mp_reply_add_flow(struct ctl_msg *, const struct ofp_flow_stats *fs);
/* Returns a new flow-mod for a FLOW_MOD, BUNDLE_ADD or DUMP_FLOWS filter:
 * malloc'ed and ofp_flow_mod_init()ed for 'command' (an enum
 * ofp_flow_mod_command).  The message that stores it owns it. */
struct ofp_flow_mod *ctl_flow_mod_create(int command);
void ctl_mp_reply_add_port_stats(struct ctl_msg *,
                                 const struct ctl_port_stats *);
void ctl_mp_reply_add_dp_flow(struct ctl_msg *, const char *match,
                              const char *actions, uint64_t n_packets,
                              uint64_t n_bytes, int64_t used_msec,
                              uint16_t tcp_flags);
void ctl_mp_reply_add_text(struct ctl_msg *, const char *text);
void ctl_mp_reply_add_aggregate(struct ctl_msg *,
                                const struct ctl_aggregate *);
/* Copies 'desc' (deep) and the 'desc->n_buckets' bucket counters. */
void ctl_mp_reply_add_group(struct ctl_msg *,
                            const struct ofp_group_mod *desc,
                            uint32_t ref_count, uint64_t packet_count,
                            uint64_t byte_count, int64_t duration_msec,
                            const struct ofp_bucket_stats *bucket_stats);
/* Conntrack.  Strings are copied; returned entries belong to the
 * message. */
void ctl_mp_reply_add_ct_conn(struct ctl_msg *, const char *line);
void ctl_mp_reply_add_ct_counter(struct ctl_msg *, enum ctl_ct_counter_kind,
                                 const char *name, uint64_t value);
void ctl_mp_reply_add_ct_limit(struct ctl_msg *,
                               const struct ctl_ct_zone_limit *);
/* Returns the new policy; add attributes with ctl_ct_tp_add_attr(). */
struct ctl_ct_tp *ctl_mp_reply_add_ct_tp(struct ctl_msg *, uint32_t zone);
void ctl_ct_tp_add_attr(struct ctl_ct_tp *, const char *name,
                        uint32_t seconds);
void ctl_ct_limits_add(struct ctl_ct_limits *, uint32_t zone,
                       uint32_t limit);
void ctl_ct_tp_release(struct ctl_ct_tp *);

/* Moves every entry of 'part' (a decoded reply of the same mp_type) to
 * the end of 'total', merging SHOW continuations, and takes part's flags.
 * 'part' is left empty.  Returns 0 or -TS_ERR_PROTO on an mp_type
 * mismatch. */
int ctl_mp_reply_append(struct ctl_msg *total, struct ctl_msg *part);

/* ---- Encoding --------------------------------------------------------- */

/* Appends 'msg' as one frame to 'out' (binary; 'out' is used as a byte
 * buffer).  Returns 0, -TS_ERR_TOO_BIG if it would exceed
 * CTL_MAX_MSG_LEN, or -EINVAL if 'msg' is not encodable (unknown type,
 * missing body part, string over 65535 bytes).  On error 'out' is
 * unchanged. */
int ctl_msg_encode(const struct ctl_msg *msg, struct ds *out);

/* Appends a CTL_MULTIPART_REPLY as as many frames as its entries need,
 * each at most CTL_MAX_MSG_LEN.  Every frame carries CTL_MPF_MORE except
 * the last one when 'last' is true, so a daemon can send a big dump in
 * slices (last = false for all slices but the final one; the final slice
 * may have no entries).  Returns 0 or -TS_ERR_TOO_BIG if one entry alone
 * does not fit a message (then 'out' is unchanged). */
int ctl_msg_encode_multipart(const struct ctl_msg *reply, bool last,
                             struct ds *out);

/* ---- Decoding --------------------------------------------------------- */

/* Reads the header of the frame starting at 'data' (at least
 * CTL_HEADER_LEN bytes).  Returns the frame length, or a negative error
 * (-TS_ERR_PROTO if 'length' < CTL_HEADER_LEN). */
int ctl_peek_header(const void *data, size_t size, uint8_t *version,
                    uint8_t *type, uint32_t *xid);

/* Decodes the single frame of 'size' bytes at 'data' (its header length
 * must equal 'size') into 'msg'.  Returns 0 or a negative error:
 * -TS_ERR_PROTO (malformed: truncated, bad lengths, bad TLV, trailing
 * bytes, unknown type), -TS_ERR_VERSION (not CTL_VERSION; HELLO is
 * accepted at any version), -TS_ERR_TOO_BIG.  On error 'msg' is zeroed
 * and, if 'errp' is nonnull, '*errp' gets a malloc'ed message naming the
 * message type and the offset of the problem (caller frees); on error
 * a daemon that must answer ERROR gets the xid with ctl_peek_header(). */
int ctl_msg_decode(const void *data, size_t size, struct ctl_msg *msg,
                   char **errp);

/* ---- Version negotiation ---------------------------------------------- */

/* Initializes 'msg' as our HELLO (header version CTL_VERSION, bitmap of
 * CTL_MIN_VERSION..CTL_VERSION). */
void ctl_msg_init_hello(struct ctl_msg *, uint32_t xid);
/* Given the peer's decoded HELLO, returns the version to speak (highest
 * common), or -TS_ERR_VERSION if there is none. */
int ctl_hello_negotiate(const struct ctl_msg *peer_hello);

/* ---- Names ------------------------------------------------------------ */

/* Static names such as "ADD_PORT", "MULTIPART_REPLY"; "UNKNOWN" for
 * values outside the enum. */
const char *ctl_type_name(int type);
const char *ctl_mp_type_name(int mp_type);
const char *ctl_error_type_name(int type);
/* True for types this version defines. */
bool ctl_type_is_valid(int type);

#endif /* ctl-proto.h */
