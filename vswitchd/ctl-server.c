/* ctl-server: control connections on libev (see ctl-server.h).
 *
 * Each client has one ev_io watcher whose events follow its state:
 * EV_READ while it has no dump in progress, EV_WRITE while its output
 * queue is not empty.  Stopping EV_READ during a dump both keeps replies
 * in request order and bounds what one client can make us buffer.
 *
 * Group commit.  The store runs with deferred fsync (db_set_defer_sync):
 * a change appends its journal record and is applied at once, but its
 * reply is held in the client's 'held' buffer, not sent, while the store
 * has unsynced records.  An ev_prepare watcher, which libev runs after
 * every callback of a loop iteration and before it blocks again, makes
 * one fsync for everything every client changed in that iteration and
 * only then releases the held replies.  So an acknowledged change is
 * still durable before its reply leaves, and N pipelined flow-mods from
 * any number of clients cost one fsync per loop iteration instead of N.
 * Replies held behind an unsynced change keep their order: once a
 * client has held bytes, everything it is sent is held too.
 *
 * Conntrack.  Dumps, counts (ct-stats) and flushes of the tracker are
 * not collected up front like flow dumps: they read the tracker in
 * slices of at most CT_CALLS_PER_SLICE bounded calls, only while the
 * client's queue is short, and come back from a zero-delay timer (so
 * every other watcher runs in between) or from EV_WRITE.  A timer runs
 * dpif_ct_run() (expiry sweep, event delivery) when the tracker asks,
 * which is about once a second on an idle switch.  Event subscribers
 * get CTL_CT_EVENT messages; one whose queue is over
 * CT_EVENT_MAX_BACKLOG misses events (counted) instead. */
#include "ctl-server.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <ev.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bridge.h"
#include "ctl-proto.h"
#include "db.h"
#include "dpif.h"
#include "dynamic-string.h"
#include "errors.h"
#include "hash.h"
#include "hmap.h"
#include "list.h"
#include "log.h"
#include "match.h"
#include "odp-text.h"
#include "ofp-flow.h"
#include "ofp-group.h"
#include "ofp-port-map.h"
#include "ofpact.h"
#include "ofproto.h"
#include "smap.h"
#include "stream.h"
#include "ts-config.h"
#include "util.h"

TS_LOG_DEFINE(ctl_server);

/* Entries per multipart slice, and the queue length below which the next
 * slice is produced. */
#define DUMP_SLICE 1000
#define DUMP_LOW_WATER (256 * 1024)
/* Messages handled per read callback before yielding to other clients. */
#define MAX_MSGS_PER_CALLBACK 4096
/* Packet-ins are dropped (counted) for a monitor whose queue is longer. */
#define PACKET_IN_MAX_BACKLOG (1024 * 1024)
/* Conntrack events likewise, per subscribed client. */
#define CT_EVENT_MAX_BACKLOG (1024 * 1024)
/* Conntrack dumps, counts and flushes: tracker calls per slice of work
 * (each examines a bounded number of buckets), and buckets per flush
 * call.  One slice of work stays well under a millisecond or two. */
#define CT_CALLS_PER_SLICE 8
#define CT_FLUSH_BUCKETS 1024
/* A slice also ends once it has run this long (tests/bench/bench-ct-stall
 * measures the slices), and a dump call formats at most this many
 * lines. */
#define CT_SLICE_NS 1000000
#define CT_DUMP_LINES 256
/* The conntrack timer never fires more often than this (seconds), nor
 * less often than the upper bound. */
/* Packet capture: drain period (seconds), packets per tap per drain, and
 * the client queue length beyond which captured packets are dropped. */
#define CAPTURE_INTERVAL 0.01
#define CAPTURE_POLL_MAX 8192
#define CAPTURE_MAX_BACKLOG (4 * 1024 * 1024)
#define CT_RUN_MIN 0.005
#define CT_RUN_MAX 10.0

/* One listening socket: the unix socket (always first) or a --listen. */
struct ctl_listener {
    struct ctl_server *server;
    struct stream_listener *l;
    ev_io accept_io;
};

struct ctl_server {
    struct ev_loop *loop;
    struct bridge_set *bridges;
    struct db *db;
    struct ctl_listener *listeners;
    size_t n_listeners;
    ev_timer run_timer;
    ev_async wakeup;
    ev_prepare sync_prepare;    /* group commit, see the top */
    struct ts_list clients;     /* struct ctl_client */
    uint64_t n_packet_in_sent, n_packet_in_dropped;
    size_t n_clients;
    size_t max_backlog;
    double run_interval;        /* seconds */
    long long probe_interval_ms; /* inactivity probe; <= 0: none */
    long long start_msec;
    struct dpif_ct *ct;         /* the bridges' tracker (borrowed) */
    ev_timer ct_timer;          /* dpif_ct_run() */
    ev_timer ct_work_timer;     /* advances conntrack dumps and flushes */
    ev_timer capture_timer;     /* drains capture taps while any runs */
    size_t n_captures;
    uint64_t n_ct_events_sent, n_ct_events_dropped;
    struct dpif_ct_snapshotter *ct_snapshot;   /* borrowed, or NULL */
    bool restart;               /* CTL_RESTART answered: break the loop */
};

/* A running packet capture (see "Packet capture" below). */
struct ctl_capture {
    struct ctl_capture *next;   /* in the client's 'captures' */
    struct ctl_client *client;
    uint32_t xid;               /* of its CAPTURE_START */
    struct dpif_capture *tap;   /* owned */
    uint64_t sent;              /* CAPTURE_PACKETs queued */
    uint64_t dropped;           /* not sent: client queue too long */
};

/* A dump being sent in slices: the entries not yet sent. */
struct ctl_dump {
    uint32_t xid;
    enum ctl_mp_type mp_type;
    size_t n, next;
    struct ofp_flow_stats **flows;      /* DUMP_FLOWS: owned until sent */
    struct ctl_dp_flow *dp_flows;       /* DUMP_DP_FLOWS */
    /* Conntrack work, produced in slices instead of collected first:
     * CT_DUMP and CT_STATS read 'ct_dump'; a CT_FLUSH request (mp_type
     * 0) runs 'ct_flush' and then replies OK. */
    struct dpif_ct_dump *ct_dump;
    struct dpif_ct_flush_op *ct_flush;
    struct ct_count *ct_count;          /* CT_STATS: the tallies */
    uint32_t ct_zone;                   /* CT_STATS: CTL_CT_NO_ZONE: all */
    bool ct_verbose;                    /* CT_STATS: per TCP state */
};

/* Flow mods one bundle may hold (bounds a client's memory use). */
#define CTL_BUNDLE_MAX_MODS (4 * 1024 * 1024)

struct ctl_bundle_state {
    struct hmap_node node;      /* in client's 'bundles', by id */
    uint32_t id;
    char *bridge;
    /* The mods, validated and (adds) built into rules as they came. */
    struct ofproto_bundle *mods;
    size_t n;
    /* The same mods as CTL_FLOW_MOD frames for the store, built from the
     * bytes the client sent. */
    struct db_flows stored;
    bool failed;                /* an ADD was refused: no commit */
    bool quiet;                 /* CTL_BF_QUIET */
};

struct ctl_client {
    struct ts_list node;        /* in server's 'clients' */
    struct ctl_server *server;
    struct stream *stream;
    ev_io io;
    int events;                 /* what 'io' watches now */
    ev_timer hs_timer;          /* TLS handshake deadline */
    uid_t refused_uid;          /* if 'refused' */
    bool refused;               /* unix peer not allowed: answer the first
                                 * frame with an error, then close */
    struct hmap bundles;        /* struct ctl_bundle_state */
    struct ctl_dump *dump;      /* in progress, or NULL */
    bool closing;               /* close once the queue drains */
    bool dead;                  /* closed: freed when its callback ends */
    char *name;
    struct ds held;             /* replies waiting for the store's fsync */
    uint32_t conn_flags;        /* CTL_CONN_* */
    bool change_failed;         /* STOP_ON_ERROR: skip until a barrier */
    const uint8_t *frame;       /* frame being dispatched (borrowed) */
    size_t frame_len;
    char *monitor_bridge;       /* CTL_MONITOR subscription, or NULL */
    uint32_t monitor_flags;     /* CTL_MON_* */
    struct dpif_ct_sub *ct_sub; /* CTL_CT_MONITOR subscription, or NULL */
    struct ctl_capture *captures; /* running captures, or NULL */
    long long last_rx_msec;     /* when it last sent a frame */
    bool probed;                /* an ECHO_REQUEST probe is outstanding */
};

static void client_update_events(struct ctl_client *);
static void client_process(struct ctl_client *);
static void client_refuse(struct ctl_client *, const uint8_t *frame,
                          size_t len);
static void client_close(struct ctl_client *, const char *why);
static void client_free(struct ctl_client *);
static bool ct_continue(struct ctl_client *);
static void ct_count_free(struct ct_count *);
static void reap_clients(struct ctl_server *);
static void handle_ct_dump(struct ctl_client *, const struct ctl_msg *);
static void handle_ct_dump_exp(struct ctl_client *, const struct ctl_msg *);
static void handle_ct_get_limits(struct ctl_client *,
                                 const struct ctl_msg *);
static void handle_ct_get_tp(struct ctl_client *, const struct ctl_msg *);

/* ---- Sending ------------------------------------------------------------ */

/* Bytes queued for 'c': in the stream and held for the fsync. */
static size_t
client_backlog(const struct ctl_client *c)
{
    return stream_tx_backlog(c->stream) + c->held.length;
}

/* Returns false if the client was closed. */
static bool
client_send_bytes(struct ctl_client *c, const struct ds *ds)
{
    if (c->dead) {
        return false;
    }
    /* Always held: the prepare watcher sends it after the fsync, and one
     * write then carries every reply of the iteration. */
    ds_put_buffer(&c->held, ds->string, ds->length);
    if (client_backlog(c) > c->server->max_backlog) {
        TS_WARN("%s: output queue over %zu bytes (client not reading): "
                "disconnecting", c->name, c->server->max_backlog);
        client_close(c, NULL);
        return false;
    }
    return true;
}

static bool
client_send(struct ctl_client *c, struct ctl_msg *msg)
{
    struct ds ds = DS_EMPTY_INITIALIZER;
    int err = msg->type == CTL_MULTIPART_REPLY
              ? ctl_msg_encode_multipart(msg, true, &ds)
              : ctl_msg_encode(msg, &ds);
    bool ok;

    if (err) {
        /* Our own reply does not encode (e.g. an over-long error text):
         * say so rather than leave the client waiting. */
        struct ctl_msg e;
        TS_WARN("%s: cannot encode %s reply: %s", c->name,
                ctl_type_name(msg->type), ts_strerror(err));
        ctl_msg_init_error(&e, msg->xid, CTL_ET_FAILED, err,
                           "reply could not be encoded: %s",
                           ts_strerror(err));
        ds_clear(&ds);
        err = ctl_msg_encode(&e, &ds);
        ctl_msg_release(&e);
    }
    ok = err ? true : client_send_bytes(c, &ds);
    ds_destroy(&ds);
    ctl_msg_release(msg);
    return ok;
}

static bool
send_ok(struct ctl_client *c, uint32_t xid)
{
    /* The most frequent reply (one per flow of a pipelined add-flows):
     * its 8 bytes are written straight into the queue rather than built
     * through a struct ctl_msg and a heap buffer. */
    uint8_t hdr[CTL_HEADER_LEN] = {
        CTL_VERSION, CTL_OK, 0, CTL_HEADER_LEN,
        xid >> 24, xid >> 16, xid >> 8, xid,
    };
    struct ds ds = { (char *) hdr, sizeof hdr, sizeof hdr };

    return client_send_bytes(c, &ds);
}

static bool TS_PRINTF(5, 6)
send_error(struct ctl_client *c, uint32_t xid, enum ctl_error_type type,
           int err, const char *fmt, ...)
{
    struct ctl_msg m;
    va_list args;

    va_start(args, fmt);
    char *text = xvasprintf(fmt, args);
    va_end(args);
    ctl_msg_init_error(&m, xid, type, err, "%s", text);
    free(text);
    return client_send(c, &m);
}

/* Replies OK for 0, else ERROR with 'errmsg' (consumed) or the code. */
static bool
send_result(struct ctl_client *c, uint32_t xid, int err, char *errmsg)
{
    bool ok;
    if (!err) {
        ok = send_ok(c, xid);
    } else {
        ok = send_error(c, xid, CTL_ET_FAILED, err, "%s",
                        errmsg ? errmsg : ts_strerror(err));
    }
    free(errmsg);
    return ok;
}

/* ---- Dumps in slices ---------------------------------------------------- */

static void
dump_free(struct ctl_dump *d)
{
    if (!d) {
        return;
    }
    for (size_t i = d->next; i < d->n; i++) {
        if (d->flows) {
            free((void *) d->flows[i]->ofpacts);
            free(d->flows[i]);
        }
        if (d->dp_flows) {
            free(d->dp_flows[i].match);
            free(d->dp_flows[i].actions);
        }
    }
    free(d->flows);
    free(d->dp_flows);
    if (d->n > 10000) {
        /* Give a big dump's copies back to the system at once, as for
         * big bundles. */
        malloc_trim(0);
    }
    dpif_ct_dump_destroy(d->ct_dump);
    dpif_ct_flush_destroy(d->ct_flush);
    ct_count_free(d->ct_count);
    free(d);
}

/* Sends slices while the queue is short.  Returns false if the client
 * was closed. */
static bool
dump_continue(struct ctl_client *c)
{
    struct ctl_dump *d = c->dump;

    if (d && (d->ct_dump || d->ct_flush)) {
        return ct_continue(c);
    }
    while (d && client_backlog(c) < DUMP_LOW_WATER) {
        struct ctl_msg m;
        struct ds ds = DS_EMPTY_INITIALIZER;
        size_t end = MIN(d->n, d->next + DUMP_SLICE);

        ctl_msg_init_mp_reply(&m, d->xid, d->mp_type);
        for (; d->next < end; d->next++) {
            if (d->flows) {
                /* The reply keeps its own copy. */
                ctl_mp_reply_add_flow(&m, d->flows[d->next]);
                free((void *) d->flows[d->next]->ofpacts);
                free(d->flows[d->next]);
            } else {
                struct ctl_dp_flow *f = &d->dp_flows[d->next];
                ctl_mp_reply_add_dp_flow(&m, f->match, f->actions,
                                         f->n_packets, f->n_bytes,
                                         f->used_msec, f->tcp_flags);
                free(f->match);
                free(f->actions);
            }
        }
        bool last = d->next >= d->n;
        int err = ctl_msg_encode_multipart(&m, last, &ds);
        ctl_msg_release(&m);
        if (err) {
            TS_WARN("%s: cannot encode dump slice: %s", c->name,
                    ts_strerror(err));
            ds_destroy(&ds);
            client_close(c, NULL);
            return false;
        }
        if (last) {
            dump_free(d);
            c->dump = d = NULL;
        }
        bool ok = client_send_bytes(c, &ds);
        ds_destroy(&ds);
        if (!ok) {
            return false;
        }
    }
    return true;
}

static void
dump_collect_flow(void *d_, const struct ofp_flow_stats *fs)
{
    struct ctl_dump *d = d_;
    struct ofp_flow_stats *copy = xmemdup(fs, sizeof *fs);

    copy->ofpacts = fs->ofpacts_len
                    ? xmemdup(fs->ofpacts, fs->ofpacts_len) : NULL;
    if (d->n % 1024 == 0) {
        d->flows = xrealloc(d->flows, (d->n + 1024) * sizeof *d->flows);
    }
    d->flows[d->n++] = copy;
}

static void
dump_collect_dp_flow(void *d_, const struct dpif_flow_dump_entry *e)
{
    struct ctl_dump *d = d_;
    struct ds ds = DS_EMPTY_INITIALIZER;

    if (d->n % 1024 == 0) {
        d->dp_flows = xrealloc(d->dp_flows,
                               (d->n + 1024) * sizeof *d->dp_flows);
    }
    struct ctl_dp_flow *f = &d->dp_flows[d->n++];
    odp_text_format_key(&ds, &e->key, &e->mask);
    f->match = ds_steal_cstr(&ds);
    dpa_format(&ds, e->actions, e->actions_len);
    f->actions = ds_steal_cstr(&ds);
    f->n_packets = e->stats.n_packets;
    f->n_bytes = e->stats.n_bytes;
    f->used_msec = e->stats.used ? time_msec() - e->stats.used : -1;
    f->tcp_flags = e->stats.tcp_flags;
}

/* ---- Requests ----------------------------------------------------------- */

static struct bridge *
need_bridge(struct ctl_client *c, uint32_t xid, const char *name)
{
    struct bridge *br = name ? bridge_find(c->server->bridges, name) : NULL;
    if (!br) {
        send_error(c, xid, CTL_ET_FAILED, TS_ERR_NO_BRIDGE,
                   "no bridge named '%s'", name ? name : "");
    }
    return br;
}

static void
handle_add_br(struct ctl_client *c, const struct ctl_msg *m)
{
    struct bridge_set *set = c->server->bridges;
    char *err = NULL;

    if ((m->br.flags & CTL_CF_MAY_EXIST) && bridge_find(set, m->br.name)) {
        send_ok(c, m->xid);
        return;
    }
    int e = bridge_add(set, m->br.name, &err);
    send_result(c, m->xid, e, err);
}

static void
handle_del_br(struct ctl_client *c, const struct ctl_msg *m)
{
    struct bridge_set *set = c->server->bridges;
    char *err = NULL;

    if ((m->br.flags & CTL_CF_IF_EXISTS) && !bridge_find(set, m->br.name)) {
        send_ok(c, m->xid);
        return;
    }
    int e = bridge_del(set, m->br.name, &err);
    send_result(c, m->xid, e, err);
}

static void
handle_add_port(struct ctl_client *c, const struct ctl_msg *m)
{
    const struct ctl_port_request *r = &m->port;
    struct bridge *br = need_bridge(c, m->xid, r->bridge);
    char *err = NULL;

    if (!br) {
        return;
    }
    if ((r->flags & CTL_CF_MAY_EXIST)
        && bridge_find_port(c->server->bridges, r->name, NULL) == br) {
        send_ok(c, m->xid);
        return;
    }
    int e = bridge_port_add(br, r->name, r->type, r->ofport, &r->options,
                            NULL, &err);
    send_result(c, m->xid, e, err);
}

/* set-port: changes options of a live port (bridge_port_set_options). */
static void
handle_mod_port(struct ctl_client *c, const struct ctl_msg *m)
{
    const struct ctl_port_request *r = &m->port;
    struct bridge *br = need_bridge(c, m->xid, r->bridge);
    char *err = NULL;

    if (!br) {
        return;
    }
    int e = bridge_port_set_options(br, r->name, &r->options, &err);
    send_result(c, m->xid, e, err);
}

static void
handle_del_port(struct ctl_client *c, const struct ctl_msg *m)
{
    const struct ctl_port_request *r = &m->port;
    struct bridge *br;
    char *err = NULL;

    /* As ovs-vsctl: the bridge may be omitted (""). */
    if (!r->bridge || !*r->bridge) {
        br = bridge_find_port(c->server->bridges, r->name, NULL);
        if (!br) {
            if (r->flags & CTL_CF_IF_EXISTS) {
                send_ok(c, m->xid);
            } else {
                send_error(c, m->xid, CTL_ET_FAILED, TS_ERR_NO_PORT,
                           "no port named '%s'", r->name);
            }
            return;
        }
    } else if (!(br = need_bridge(c, m->xid, r->bridge))) {
        return;
    }
    if ((r->flags & CTL_CF_IF_EXISTS)
        && bridge_find_port(c->server->bridges, r->name, NULL) != br) {
        send_ok(c, m->xid);
        return;
    }
    int e = bridge_port_del(br, r->name, &err);
    send_result(c, m->xid, e, err);
}

/* Returns 0 or the error sent. */
static int
handle_flow_mod(struct ctl_client *c, const struct ctl_msg *m)
{
    struct bridge *br = need_bridge(c, m->xid, m->flow_mod.bridge);
    char *err = NULL;

    if (!br) {
        return -TS_ERR_NO_BRIDGE;
    }
    /* The client's frame is the CTL_FLOW_MOD the store keeps. */
    struct db_flows stored;
    db_flows_init(&stored);
    if (c->frame) {
        db_flows_append(&stored, c->frame, c->frame_len);
    }
    int e = bridge_flow_mod_batch_encoded(br, m->flow_mod.fm, 1,
                                          c->frame ? &stored : NULL, &err);
    db_flows_release(&stored);
    send_result(c, m->xid, e, err);
    return e;
}

static int
handle_group_mod(struct ctl_client *c, const struct ctl_msg *m)
{
    struct bridge *br = need_bridge(c, m->xid, m->group_mod.bridge);
    char *err = NULL;

    if (!br) {
        return -TS_ERR_NO_BRIDGE;
    }
    int e = bridge_group_mod(br, m->group_mod.gm, &err);
    send_result(c, m->xid, e, err);
    return e;
}

static void
handle_monitor(struct ctl_client *c, const struct ctl_msg *m)
{
    const struct ctl_monitor *r = &m->monitor;

    if (r->flags && !need_bridge(c, m->xid, r->bridge)) {
        return;
    }
    free(c->monitor_bridge);
    c->monitor_bridge = r->flags ? xstrdup(r->bridge) : NULL;
    c->monitor_flags = r->flags;
    send_ok(c, m->xid);
}

/* Delivers a packet-in of bridge 'br' to every client that monitors it. */
static void
server_packet_in(void *s_, const struct bridge *br,
                 const struct ofproto_packet_in *pin)
{
    struct ctl_server *s = s_;
    struct ctl_client *c;

    TS_LIST_FOR_EACH (c, node, &s->clients) {
        if (c->dead || !(c->monitor_flags & CTL_MON_PACKET_IN)
            || strcmp(c->monitor_bridge, bridge_name(br))) {
            continue;
        }
        if (client_backlog(c) > PACKET_IN_MAX_BACKLOG) {
            s->n_packet_in_dropped++;
            continue;
        }
        struct ctl_msg m;
        ctl_msg_init(&m, CTL_PACKET_IN, 0);
        m.packet_in.bridge = xstrdup(bridge_name(br));
        m.packet_in.reason = pin->reason;
        m.packet_in.table_id = pin->table_id;
        m.packet_in.in_port = pin->in_port;
        m.packet_in.cookie = pin->cookie;
        m.packet_in.total_len = pin->total_len;
        /* Leave room for the fixed fields in one message. */
        m.packet_in.packet_len = MIN(pin->len, CTL_MAX_MSG_LEN - 1024);
        m.packet_in.packet = xmemdup(pin->packet, m.packet_in.packet_len);
        client_send(c, &m);
        s->n_packet_in_sent++;
    }
}

static struct ctl_bundle_state *
bundle_find(struct ctl_client *c, uint32_t id)
{
    struct ctl_bundle_state *b;

    HMAP_FOR_EACH_WITH_HASH (b, node, hash_int(id, 0), &c->bundles) {
        if (b->id == id) {
            return b;
        }
    }
    return NULL;
}

static void
bundle_free(struct ctl_bundle_state *b)
{
    ofproto_bundle_destroy(b->mods);
    free(b->bridge);
    db_flows_release(&b->stored);
    free(b);
}

/* Appends to b->stored the CTL_FLOW_MOD frame for the BUNDLE_ADD 'frame'
 * (header, u32 bundle id, flow-mod): a new header, the bridge name, then
 * the client's flow-mod bytes as they came.  False if it does not fit in
 * one frame (the store could not hold the mod). */
static bool
bundle_store_frame(struct ctl_bundle_state *b, const uint8_t *frame,
                   size_t len)
{
    size_t name_len = strlen(b->bridge);
    size_t fm_ofs = CTL_HEADER_LEN + 4;

    if (!frame || len < fm_ofs) {
        return false;
    }
    size_t out_len = CTL_HEADER_LEN + 2 + name_len + (len - fm_ofs);
    if (out_len > CTL_MAX_MSG_LEN || name_len > UINT16_MAX) {
        return false;
    }
    uint8_t *p = db_flows_append_uninit(&b->stored, out_len);
    p[0] = CTL_VERSION;
    p[1] = CTL_FLOW_MOD;
    p[2] = out_len >> 8;
    p[3] = out_len;
    memset(p + 4, 0, 4);        /* xid */
    p[8] = name_len >> 8;
    p[9] = name_len;
    memcpy(p + 10, b->bridge, name_len);
    memcpy(p + 10 + name_len, frame + fm_ofs, len - fm_ofs);
    return true;
}

/* BUNDLE_ADD: validates the mod against the bridge and keeps it (an add
 * as its rule) with its frame for the store.  A refused mod marks the
 * bundle failed, so that a client that pipelined its COMMIT behind it
 * does not get the rest applied. */
static void
bundle_add(struct ctl_client *c, struct ctl_bundle_state *b,
           const struct ctl_msg *m)
{
    struct bridge *br = need_bridge(c, m->xid, b->bridge);
    char *err = NULL;

    if (!br) {
        b->failed = true;
        return;
    }
    int e = ofproto_bundle_add(b->mods, bridge_ofproto(br), m->bundle.fm,
                               &err);
    if (!e && !bundle_store_frame(b, c->frame, c->frame_len)) {
        e = -TS_ERR_TOO_BIG;
        err = xstrdup("flow mod too large for the store");
    }
    b->n++;
    if (e) {
        b->failed = true;
        send_error(c, m->xid, CTL_ET_FAILED, -e, "%s",
                   err ? err : ts_strerror(e));
        free(err);
        return;
    }
    if (!b->quiet) {
        send_ok(c, m->xid);
    }
}

/* BUNDLE_COMMIT: applies every mod at once, then stores their frames as
 * one record (durable before the reply, as every change). */
static void
bundle_commit(struct ctl_client *c, struct ctl_bundle_state *b,
              uint32_t xid)
{
    struct bridge *br = need_bridge(c, xid, b->bridge);
    char *err = NULL;
    int e = 0;

    if (!br) {
        return;
    }
    if (b->failed) {
        send_error(c, xid, CTL_ET_BUNDLE_FAILED, ECANCELED,
                   "bundle %u has a refused flow mod: nothing applied",
                   b->id);
        return;
    }
    if (b->n) {
        e = ofproto_bundle_commit(b->mods, bridge_ofproto(br), &err);
    }
    if (!e && b->n) {
        char *dberr = NULL;
        e = db_add_flows_take(c->server->db, b->bridge, &b->stored,
                              &dberr);
        if (e) {
            err = xasprintf("flow change applied but not saved: %s",
                            dberr ? dberr : ts_strerror(e));
            free(dberr);
            TS_ERR("bridge %s: %s", b->bridge, err);
        }
    }
    if (e) {
        send_error(c, xid, CTL_ET_BUNDLE_FAILED, -e, "%s",
                   err ? err : ts_strerror(e));
        free(err);
    } else {
        send_ok(c, xid);
    }
}

static void
handle_bundle(struct ctl_client *c, struct ctl_msg *m)
{
    struct ctl_bundle *r = &m->bundle;
    struct ctl_bundle_state *b = bundle_find(c, r->id);

    if (m->type == CTL_BUNDLE_OPEN) {
        if (b) {
            send_error(c, m->xid, CTL_ET_BUNDLE_FAILED, EEXIST,
                       "bundle %u is already open", r->id);
        } else if (need_bridge(c, m->xid, r->bridge)) {
            b = xzalloc(sizeof *b);
            b->id = r->id;
            b->quiet = r->flags & CTL_BF_QUIET;
            b->bridge = xstrdup(r->bridge);
            b->mods = ofproto_bundle_create();
            db_flows_init(&b->stored);
            hmap_insert(&c->bundles, &b->node, hash_int(r->id, 0));
            send_ok(c, m->xid);
        }
        return;
    }
    if (!b) {
        send_error(c, m->xid, CTL_ET_BUNDLE_FAILED, ENOENT,
                   "no open bundle %u", r->id);
        return;
    }
    if (m->type == CTL_BUNDLE_ADD) {
        if (b->quiet && b->failed) {
            return;             /* its first refusal was answered */
        }
        if (b->n >= CTL_BUNDLE_MAX_MODS) {
            b->failed = true;
            send_error(c, m->xid, CTL_ET_BUNDLE_FAILED, E2BIG,
                       "bundle %u has too many flow mods (limit %d)", r->id,
                       CTL_BUNDLE_MAX_MODS);
            return;
        }
        if (!r->fm) {
            b->failed = true;
            send_error(c, m->xid, CTL_ET_BAD_REQUEST, TS_ERR_PROTO,
                       "bundle add without a flow mod");
            return;
        }
        bundle_add(c, b, m);
        return;
    }

    hmap_remove(&c->bundles, &b->node);
    if (m->type == CTL_BUNDLE_COMMIT) {
        bundle_commit(c, b, m->xid);
    } else {
        send_ok(c, m->xid);
    }
    bool big = b->n > 10000;
    bundle_free(b);
    if (big) {
        /* Give the bundle's memory back to the system at once. */
        malloc_trim(0);
    }
}

static void
handle_packet_out(struct ctl_client *c, const struct ctl_msg *m)
{
    const struct ctl_packet_out *r = &m->packet_out;
    struct bridge *br = need_bridge(c, m->xid, r->bridge);
    struct ofpacts acts = {
        .data = (uint8_t *) r->ofpacts, .size = r->ofpacts_len,
        .allocated = r->ofpacts_len,
    };
    char *err = NULL;

    if (br) {
        int e = ofproto_packet_out(bridge_ofproto(br), r->in_port,
                                   r->packet, r->packet_len, &acts, &err);
        send_result(c, m->xid, e, err);
    }
}

static void
collect_level(const struct log_module *mod, void *kv_)
{
    smap_replace(kv_, mod->name, log_level_name(mod->level));
}

static void
handle_log_level(struct ctl_client *c, const struct ctl_msg *m)
{
    const char *spec = m->log_level.spec ? m->log_level.spec : "";
    struct ctl_msg reply;

    if (*spec) {
        int err = log_set_level_str(spec);
        if (err) {
            send_error(c, m->xid, CTL_ET_FAILED, err,
                       "invalid log level specification '%s': %s", spec,
                       err == -ENOENT ? "no such module"
                                      : "bad level or syntax");
            return;
        }
        TS_INFO("log levels changed: %s", spec);
    }
    ctl_msg_init(&reply, CTL_LOG_LEVEL_REPLY, m->xid);
    log_for_each_module(collect_level, &reply.kv);
    client_send(c, &reply);
}

static unsigned long long
rss_kb(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long long size = 0, rss = 0;

    if (f) {
        if (fscanf(f, "%llu %llu", &size, &rss) != 2) {
            rss = 0;
        }
        fclose(f);
    }
    return rss * (unsigned long long) sysconf(_SC_PAGESIZE) / 1024;
}

static void
add_ct_snapshot_status(struct ctl_server *s, struct smap *kv)
{
    struct dpif_ct_snapshot_status st;
    char buf[64];

    if (!s->ct_snapshot) {
        smap_replace(kv, "ct_snapshot", "none");
        return;
    }
    dpif_ct_snapshotter_get_status(s->ct_snapshot, &st);
    smap_replace(kv, "ct_snapshot", st.path);
#define KV(KEY, FMT, VAL)                                   \
    do {                                                    \
        snprintf(buf, sizeof buf, FMT, VAL);                \
        smap_replace(kv, KEY, buf);                         \
    } while (0)
    KV("ct_snapshot_interval", "%u", st.interval_ms / 1000);
    if (st.last_save_wall_ms) {
        time_t t = st.last_save_wall_ms / 1000;
        struct tm tm;

        strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
        smap_replace(kv, "ct_snapshot_last_save", buf);
        KV("ct_snapshot_entries", "%u", st.last_conns);
        KV("ct_snapshot_expectations", "%u", st.last_exps);
        KV("ct_snapshot_bytes", "%llu", (unsigned long long) st.last_bytes);
        KV("ct_snapshot_duration_ms", "%.3f", st.last_duration_us / 1e3);
        KV("ct_snapshot_max_stall_us", "%.1f",
           st.worst_max_hold_ns / 1e3);
    } else {
        smap_replace(kv, "ct_snapshot_last_save", "never");
    }
    KV("ct_snapshot_saves", "%llu", (unsigned long long) st.n_saves);
    KV("ct_snapshot_failures", "%llu", (unsigned long long) st.n_failures);
    if (st.last_error[0]) {
        smap_replace(kv, "ct_snapshot_error", st.last_error);
    }
    KV("ct_snapshot_restored", "%u", st.restored);
#undef KV
}

static void
handle_status(struct ctl_client *c, const struct ctl_msg *m)
{
    struct ctl_server *s = c->server;
    struct bridge_set_stats bs;
    struct db_stats ds;
    struct ctl_msg reply;
    char buf[64];

    bridge_set_get_stats(s->bridges, &bs);
    db_get_stats(s->db, &ds);
    ctl_msg_init(&reply, CTL_STATUS_REPLY, m->xid);
#define KV(KEY, FMT, VAL)                                   \
    do {                                                    \
        snprintf(buf, sizeof buf, FMT, VAL);                \
        smap_replace(&reply.kv, KEY, buf);                  \
    } while (0)
    smap_replace(&reply.kv, "version", TS_VERSION);
    KV("pid", "%ld", (long) getpid());
    KV("uptime", "%lld", (time_msec() - s->start_msec) / 1000);
    KV("bridges", "%zu", bs.n_bridges);
    KV("ports", "%zu", bs.n_ports);
    KV("flows", "%zu", bs.n_flows);
    KV("megaflows", "%zu", bs.n_megaflows);
    /* The main thread, plus each bridge's datapath workers. */
    KV("threads", "%zu", bs.n_workers + 1);
    KV("connections", "%u", dpif_ct_get_nconns(s->ct));
    KV("memory_rss_kb", "%llu", rss_kb());
    KV("clients", "%zu", s->n_clients);
    KV("db_syncs", "%llu", (unsigned long long) ds.n_syncs);
    KV("db_commits", "%llu", (unsigned long long) ds.n_commits);
    KV("packet_in_sent", "%llu", (unsigned long long) s->n_packet_in_sent);
    KV("packet_in_dropped", "%llu",
       (unsigned long long) s->n_packet_in_dropped);
    smap_replace(&reply.kv, "db", db_path(s->db));
    KV("db_bytes", "%llu", (unsigned long long) ds.file_size);
    KV("db_records", "%llu", (unsigned long long) ds.n_records);
#undef KV
    add_ct_snapshot_status(s, &reply.kv);
    client_send(c, &reply);
}

/* CTL_RESTART: save the conntrack snapshot, answer, and leave the loop
 * once the answer is out (sync_prepare_cb); main.c tears down, saves the
 * final snapshot and re-executes.  If the save fails the daemon keeps
 * running and says why. */
static void
handle_restart(struct ctl_client *c, const struct ctl_msg *m)
{
    struct ctl_server *s = c->server;
    char *err = NULL;

    if (s->ct_snapshot && dpif_ct_snapshotter_save(s->ct_snapshot, false,
                                                   &err)) {
        TS_WARN("%s: restart refused: %s", c->name, err);
        send_error(c, m->xid, CTL_ET_FAILED, EIO,
                   "restart refused: %s", err);
        free(err);
        return;
    }
    TS_INFO("%s: restart requested", c->name);
    send_ok(c, m->xid);
    s->restart = true;
}

bool
ctl_server_restart_requested(const struct ctl_server *s)
{
    return s->restart;
}

static void
add_port_options(struct ctl_port *cp, const struct bridge_port_info *pi)
{
    const struct smap_entry *e;

    SMAP_FOR_EACH (e, pi->options) {
        smap_replace(&cp->options, e->key, e->value);
    }
}

/* Ports of 'br' into an array the caller frees. */
static struct bridge_port_info *
ports_of(const struct bridge *br, size_t *n)
{
    size_t total = bridge_ports(br, NULL, 0);
    struct bridge_port_info *ports = xcalloc(total, sizeof *ports);
    *n = bridge_ports(br, ports, total);
    return ports;
}

static void
handle_show(struct ctl_client *c, const struct ctl_msg *m)
{
    struct bridge_set *set = c->server->bridges;
    size_t n_br = bridge_list(set, NULL, 0);
    const struct bridge **brs = xcalloc(n_br ? n_br : 1, sizeof *brs);
    struct ctl_msg reply;

    bridge_list(set, brs, n_br);
    ctl_msg_init_mp_reply(&reply, m->xid, CTL_MP_SHOW);
    for (size_t i = 0; i < n_br; i++) {
        struct ctl_show_bridge *sb
            = ctl_mp_reply_add_show_bridge(&reply, bridge_name(brs[i]));
        size_t n;
        struct bridge_port_info *ports = ports_of(brs[i], &n);
        for (size_t j = 0; j < n; j++) {
            struct ctl_port *cp = ctl_show_bridge_add_port(
                sb, ports[j].name, ports[j].type, ports[j].ofport);
            add_port_options(cp, &ports[j]);
            if (ports[j].missing) {
                smap_replace(&cp->options, "error",
                             "could not open network device");
            }
        }
        free(ports);
    }
    free(brs);
    client_send(c, &reply);
}

static void
handle_list_br(struct ctl_client *c, const struct ctl_msg *m)
{
    struct bridge_set *set = c->server->bridges;
    size_t n_br = bridge_list(set, NULL, 0);
    const struct bridge **brs = xcalloc(n_br ? n_br : 1, sizeof *brs);
    struct ctl_msg reply;

    bridge_list(set, brs, n_br);
    ctl_msg_init_mp_reply(&reply, m->xid, CTL_MP_LIST_BR);
    for (size_t i = 0; i < n_br; i++) {
        ctl_mp_reply_add_bridge(&reply, bridge_name(brs[i]));
    }
    free(brs);
    client_send(c, &reply);
}

static void
handle_list_ports(struct ctl_client *c, const struct ctl_msg *m,
                  const struct bridge *br)
{
    struct ctl_msg reply;
    size_t n;
    struct bridge_port_info *ports = ports_of(br, &n);

    ctl_msg_init_mp_reply(&reply, m->xid, CTL_MP_LIST_PORTS);
    for (size_t i = 0; i < n; i++) {
        /* As ovs-vsctl list-ports: not the bridge's own port. */
        if (ports[i].ofport != DPIF_PORT_LOCAL) {
            struct ctl_port *cp = ctl_mp_reply_add_port(
                &reply, ports[i].name, ports[i].type, ports[i].ofport);
            add_port_options(cp, &ports[i]);
        }
    }
    free(ports);
    client_send(c, &reply);
}

static void
handle_dump_ports(struct ctl_client *c, const struct ctl_msg *m,
                  const struct bridge *br)
{
    uint32_t want = m->mp_request.port;
    struct ctl_msg reply;
    long long now = time_msec();
    bool found = false;
    size_t n;
    struct bridge_port_info *ports = ports_of(br, &n);

    ctl_msg_init_mp_reply(&reply, m->xid, CTL_MP_DUMP_PORTS);
    for (size_t i = 0; i < n; i++) {
        struct dpif_port_stats st;
        if ((want != CTL_PORT_ALL && ports[i].ofport != want)
            || ports[i].missing
            || dpif_port_stats(bridge_dpif(br), ports[i].ofport, &st)) {
            continue;
        }
        long long age = now - ports[i].created_msec;
        struct ctl_port_stats cs = {
            .ofport = ports[i].ofport,
            .rx_packets = st.rx_packets, .rx_bytes = st.rx_bytes,
            .rx_dropped = st.rx_dropped, .rx_errors = st.rx_errors,
            .rx_frame_err = CTL_STAT_UNKNOWN,
            .rx_over_err = CTL_STAT_UNKNOWN,
            .rx_crc_err = CTL_STAT_UNKNOWN,
            .tx_packets = st.tx_packets, .tx_bytes = st.tx_bytes,
            .tx_dropped = st.tx_dropped, .tx_errors = st.tx_errors,
            .collisions = CTL_STAT_UNKNOWN,
            .duration_sec = age / 1000,
            .duration_nsec = (age % 1000) * 1000000,
        };
        ctl_mp_reply_add_port_stats(&reply, &cs);
        found = true;
    }
    free(ports);
    if (!found && want != CTL_PORT_ALL) {
        ctl_msg_release(&reply);
        send_error(c, m->xid, CTL_ET_FAILED, TS_ERR_NO_PORT,
                   "bridge '%s' has no port %u", bridge_name(br), want);
        return;
    }
    client_send(c, &reply);
}

static void
handle_dump_flows(struct ctl_client *c, const struct ctl_msg *m,
                  struct bridge *br)
{
    const struct ctl_dump_flows_request *r = &m->mp_request.dump_flows;
    const struct ofp_flow_mod *f = r->filter;
    struct ctl_dump *d = xzalloc(sizeof *d);

    d->xid = m->xid;
    d->mp_type = CTL_MP_DUMP_FLOWS;
    if (f) {
        struct ofproto_flow_filter filter = {
            .match = &f->match,
            .table_id = f->table_id,
            .strict = (r->flags & CTL_DF_STRICT) != 0,
            .priority = f->priority,
            .cookie = f->cookie,
            .cookie_mask = f->cookie_mask,
            .out_port = f->out_port,
        };
        ofproto_dump_flows_filtered(bridge_ofproto(br), &filter,
                                    dump_collect_flow, d);
    } else {
        ofproto_dump_flows(bridge_ofproto(br), NULL, OFP_TABLE_ALL, false,
                           dump_collect_flow, d);
    }
    d->flows = d->flows ? d->flows : xmalloc(sizeof *d->flows);
    c->dump = d;
    dump_continue(c);
}

static void
aggregate_flow(void *a_, const struct ofp_flow_stats *fs)
{
    struct ctl_aggregate *a = a_;

    a->packet_count += fs->n_packets;
    a->byte_count += fs->n_bytes;
    a->flow_count++;
}

static void
handle_aggregate(struct ctl_client *c, const struct ctl_msg *m,
                 struct bridge *br)
{
    const struct ctl_dump_flows_request *r = &m->mp_request.dump_flows;
    const struct ofp_flow_mod *f = r->filter;
    struct ctl_aggregate a = { 0, 0, 0 };
    struct ofproto_flow_filter filter = OFPROTO_FLOW_FILTER_ALL;
    struct ctl_msg reply;

    if (f) {
        filter.match = &f->match;
        filter.table_id = f->table_id;
        filter.strict = (r->flags & CTL_DF_STRICT) != 0;
        filter.priority = f->priority;
        filter.cookie = f->cookie;
        filter.cookie_mask = f->cookie_mask;
        filter.out_port = f->out_port;
    }
    ofproto_dump_flows_filtered(bridge_ofproto(br), &filter, aggregate_flow,
                                &a);
    ctl_msg_init_mp_reply(&reply, m->xid, CTL_MP_AGGREGATE);
    ctl_mp_reply_add_aggregate(&reply, &a);
    client_send(c, &reply);
}

static void
collect_group(void *reply_, const struct ofp_group_mod *desc,
              const struct ofp_group_stats *st)
{
    ctl_mp_reply_add_group(reply_, desc, st->ref_count, st->packet_count,
                           st->byte_count, st->duration_msec, st->buckets);
}

static void
handle_dump_groups(struct ctl_client *c, const struct ctl_msg *m,
                   struct bridge *br)
{
    struct ctl_msg reply;

    ctl_msg_init_mp_reply(&reply, m->xid, CTL_MP_DUMP_GROUPS);
    ofproto_dump_groups(bridge_ofproto(br), m->mp_request.group_id,
                        collect_group, &reply);
    client_send(c, &reply);
}

static void
handle_dump_dp_flows(struct ctl_client *c, const struct ctl_msg *m,
                     struct bridge *br)
{
    struct ctl_dump *d = xzalloc(sizeof *d);

    d->xid = m->xid;
    d->mp_type = CTL_MP_DUMP_DP_FLOWS;
    dpif_flow_dump(bridge_dpif(br), dump_collect_dp_flow, d);
    d->dp_flows = d->dp_flows ? d->dp_flows : xmalloc(sizeof *d->dp_flows);
    c->dump = d;
    dump_continue(c);
}

static void
handle_trace(struct ctl_client *c, const struct ctl_msg *m,
             struct bridge *br)
{
    const struct ctl_trace_request *r = &m->mp_request.trace;
    struct ds out = DS_EMPTY_INITIALIZER;
    struct flow flow;
    struct ctl_msg reply;

    if (r->flow) {
        struct ofp_port_map map;
        struct match match;
        ofp_port_map_init(&map);
        bridge_port_map(br, &map);
        char *err = ofp_parse_match(&match, NULL, r->flow, &map);
        ofp_port_map_release(&map);
        if (err) {
            send_error(c, m->xid, CTL_ET_FAILED, TS_ERR_SYNTAX,
                       "invalid flow: %s", err);
            free(err);
            return;
        }
        flow = match.flow;
    } else if (r->packet) {
        ofproto_trace_packet(bridge_ofproto(br), r->in_port, r->packet,
                             r->packet_len, &out);
        goto reply;
    } else {
        send_error(c, m->xid, CTL_ET_BAD_REQUEST, TS_ERR_PROTO,
                   "trace needs a flow or a packet");
        return;
    }
    ofproto_trace(bridge_ofproto(br), &flow, &out);
reply:
    ctl_msg_init_mp_reply(&reply, m->xid, CTL_MP_TRACE);
    ctl_mp_reply_add_text(&reply, ds_cstr(&out));
    ds_destroy(&out);
    client_send(c, &reply);
}

static void
handle_multipart(struct ctl_client *c, const struct ctl_msg *m)
{
    const struct ctl_mp_request *r = &m->mp_request;
    struct bridge *br = NULL;

    switch (r->mp_type) {
    case CTL_MP_CT_DUMP:
    case CTL_MP_CT_STATS:
        handle_ct_dump(c, m);
        return;
    case CTL_MP_CT_DUMP_EXP:
        handle_ct_dump_exp(c, m);
        return;
    case CTL_MP_CT_LIMITS:
        handle_ct_get_limits(c, m);
        return;
    case CTL_MP_CT_TP:
        handle_ct_get_tp(c, m);
        return;
    default:
        break;
    }
    if (r->mp_type != CTL_MP_LIST_BR && r->mp_type != CTL_MP_SHOW
        && !(br = need_bridge(c, m->xid, r->bridge))) {
        return;
    }
    switch ((enum ctl_mp_type) r->mp_type) {
    case CTL_MP_LIST_BR:
        handle_list_br(c, m);
        break;
    case CTL_MP_SHOW:
        handle_show(c, m);
        break;
    case CTL_MP_LIST_PORTS:
        handle_list_ports(c, m, br);
        break;
    case CTL_MP_DUMP_PORTS:
        handle_dump_ports(c, m, br);
        break;
    case CTL_MP_DUMP_FLOWS:
        handle_dump_flows(c, m, br);
        break;
    case CTL_MP_DUMP_DP_FLOWS:
        handle_dump_dp_flows(c, m, br);
        break;
    case CTL_MP_AGGREGATE:
        handle_aggregate(c, m, br);
        break;
    case CTL_MP_DUMP_GROUPS:
        handle_dump_groups(c, m, br);
        break;
    case CTL_MP_TRACE:
        handle_trace(c, m, br);
        break;
    default:
        send_error(c, m->xid, CTL_ET_BAD_REQUEST, TS_ERR_UNSUPPORTED,
                   "unsupported multipart request %s (%u)",
                   ctl_mp_type_name(r->mp_type), r->mp_type);
        break;
    }
}

/* ---- Conntrack ---------------------------------------------------------- */

/* Tallies of a CT_STATS count: connections per protocol and, for
 * verbose counts, per protocol state (names as the dump prints them). */
#define CT_COUNT_MAX 16
struct ct_tally {
    char name[24];
    uint64_t n;
};
struct ct_count {
    uint64_t total;
    struct ct_tally protos[CT_COUNT_MAX];
    struct ct_tally states[CT_COUNT_MAX][CT_COUNT_MAX];
    size_t n_protos, n_states[CT_COUNT_MAX];
};

static void
ct_count_free(struct ct_count *cc)
{
    free(cc);
}

/* Adds one to the tally named by the 'n' bytes at 'name' in 'tallies'
 * (which has '*n_tallies'); a name that does not fit goes to "OTHER". */
static size_t
ct_tally(struct ct_tally *tallies, size_t *n_tallies, const char *name,
         size_t n)
{
    size_t i;

    if (n >= sizeof tallies->name) {
        name = "OTHER";
        n = 5;
    }
    for (i = 0; i < *n_tallies; i++) {
        if (strlen(tallies[i].name) == n
            && !strncmp(tallies[i].name, name, n)) {
            break;
        }
    }
    if (i == *n_tallies) {
        if (i == CT_COUNT_MAX) {
            i--;
            snprintf(tallies[i].name, sizeof tallies[i].name, "OTHER");
        } else {
            memcpy(tallies[i].name, name, n);
            tallies[i].name[n] = '\0';
            (*n_tallies)++;
        }
    }
    tallies[i].n++;
    return i;
}

/* Counts one dump-conntrack line: "tcp,orig=(...),...,protoinfo=(state=
 * ESTABLISHED)". */
static void
ct_count_line(struct ct_count *cc, const char *line, size_t len)
{
    char proto[sizeof cc->protos[0].name];
    size_t n = strcspn(line, ",");

    n = MIN(n, len);
    if (n >= sizeof proto) {
        n = sizeof proto - 1;
    }
    for (size_t i = 0; i < n; i++) {
        proto[i] = toupper((unsigned char) line[i]);
    }
    proto[n] = '\0';
    cc->total++;
    size_t p = ct_tally(cc->protos, &cc->n_protos, proto, n);

    const char *state = memmem(line, len, "state=", 6);
    if (state) {
        state += 6;
        size_t sn = 0;
        while (state + sn < line + len && state[sn] != ','
               && state[sn] != ')') {
            sn++;
        }
        ct_tally(cc->states[p], &cc->n_states[p], state, sn);
    }
}

static void
ct_send_stats(struct ctl_client *c, const struct ctl_dump *d)
{
    const struct ct_count *cc = d->ct_count;
    struct dpif_ct_stats st;
    struct ctl_msg m;

    ctl_msg_init_mp_reply(&m, d->xid, CTL_MP_CT_STATS);
    ctl_mp_reply_add_ct_counter(&m, CTL_CTC_PROTO, "Total", cc->total);
    for (size_t i = 0; i < cc->n_protos; i++) {
        ctl_mp_reply_add_ct_counter(&m, CTL_CTC_PROTO, cc->protos[i].name,
                                    cc->protos[i].n);
        for (size_t j = 0; d->ct_verbose && j < cc->n_states[i]; j++) {
            ctl_mp_reply_add_ct_counter(&m, CTL_CTC_STATE,
                                        cc->states[i][j].name,
                                        cc->states[i][j].n);
        }
    }
    dpif_ct_get_stats(c->server->ct, &st);
    if (d->ct_zone != CTL_CT_NO_ZONE) {
        struct dpif_ct_zone_stats zs;
        dpif_ct_get_zone_stats(c->server->ct, d->ct_zone, &zs);
        ctl_mp_reply_add_ct_counter(&m, CTL_CTC_COUNTER, "zone_count",
                                    zs.count);
        ctl_mp_reply_add_ct_counter(&m, CTL_CTC_COUNTER, "zone_limit",
                                    zs.limit);
        ctl_mp_reply_add_ct_counter(&m, CTL_CTC_COUNTER,
                                    "zone_limit_drops", zs.limit_drops);
        ctl_mp_reply_add_ct_counter(&m, CTL_CTC_COUNTER,
                                    "zone_nat_exhausted", zs.nat_exhausted);
    }
#define COUNTER(NAME) \
    ctl_mp_reply_add_ct_counter(&m, CTL_CTC_COUNTER, #NAME, st.NAME)
    COUNTER(n_conns);
    COUNTER(max_conns);
    COUNTER(created);
    COUNTER(expired);
    COUNTER(full_drops);
    COUNTER(zone_limit_drops);
    COUNTER(invalid);
    COUNTER(bad_csum);
    COUNTER(tcp_seq_fail);
    COUNTER(nat_exhausted);
    COUNTER(events_dropped);
#undef COUNTER
    client_send(c, &m);
}

static void
ct_schedule_work(struct ctl_server *s)
{
    if (!ev_is_active(&s->ct_work_timer)) {
        ev_timer_set(&s->ct_work_timer, 0., 0.);
        ev_timer_start(s->loop, &s->ct_work_timer);
    }
}

/* Sends the lines in 'lines' ("...\n" each) as one multipart slice. */
static bool
ct_send_lines(struct ctl_client *c, uint32_t xid, enum ctl_mp_type mp_type,
              const struct ds *lines, bool last)
{
    struct ctl_msg m;
    struct ds out = DS_EMPTY_INITIALIZER;
    const char *p = lines->string;
    const char *end = p + lines->length;

    ctl_msg_init_mp_reply(&m, xid, mp_type);
    while (p < end) {
        const char *nl = memchr(p, '\n', end - p);
        size_t n = nl ? (size_t) (nl - p) : (size_t) (end - p);
        char *line = xmalloc(n + 1);
        memcpy(line, p, n);
        line[n] = '\0';
        ctl_mp_reply_add_ct_conn(&m, line);
        free(line);
        p += n + 1;
    }
    int err = ctl_msg_encode_multipart(&m, last, &out);
    ctl_msg_release(&m);
    if (err) {
        TS_WARN("%s: cannot encode conntrack slice: %s", c->name,
                ts_strerror(err));
        ds_destroy(&out);
        client_close(c, NULL);
        return false;
    }
    bool ok = client_send_bytes(c, &out);
    ds_destroy(&out);
    return ok;
}

/* Advances the client's conntrack dump, count or flush by at most
 * CT_CALLS_PER_SLICE tracker calls, while its queue is short; if work
 * remains and the queue has room, comes back from the work timer (after
 * the loop has served everything else), otherwise from EV_WRITE.
 * Returns false if the client was closed. */
static bool
ct_continue(struct ctl_client *c)
{
    struct ctl_dump *d = c->dump;
    struct ds lines = DS_EMPTY_INITIALIZER;
    long long slice_start = time_nsec();
    bool ok = true;

    for (int i = 0; ok && d && i < CT_CALLS_PER_SLICE
                    && client_backlog(c) < DUMP_LOW_WATER
                    && time_nsec() - slice_start < CT_SLICE_NS; i++) {
        uint32_t xid = d->xid;

        if (d->ct_flush) {
            size_t n = 0;
            if (!dpif_ct_flush_next(d->ct_flush, CT_FLUSH_BUCKETS, &n)) {
                dump_free(d);
                c->dump = d = NULL;
                ok = send_ok(c, xid);
            }
            continue;
        }
        ds_clear(&lines);
        bool more = dpif_ct_dump_next(d->ct_dump, &lines, CT_DUMP_LINES);
        if (d->mp_type == CTL_MP_CT_STATS) {
            const char *p = lines.string, *end = p + lines.length;
            while (p < end) {
                const char *nl = memchr(p, '\n', end - p);
                size_t n = nl ? (size_t) (nl - p) : (size_t) (end - p);
                ct_count_line(d->ct_count, p, n);
                p += n + 1;
            }
            if (!more) {
                ct_send_stats(c, d);
                dump_free(d);
                c->dump = d = NULL;
                ok = !c->dead;
            }
            continue;
        }
        if (!lines.length && more) {
            continue;
        }
        enum ctl_mp_type mp_type = d->mp_type;
        if (!more) {
            dump_free(d);
            c->dump = d = NULL;
        }
        ok = ct_send_lines(c, xid, mp_type, &lines, !more);
    }
    ds_destroy(&lines);
    if (ok && c->dump && client_backlog(c) < DUMP_LOW_WATER) {
        ct_schedule_work(c->server);
    }
    return ok && !c->dead;
}

static void
ct_work_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct ctl_server *s = w->data;
    struct ctl_client *c;

    TS_LIST_FOR_EACH (c, node, &s->clients) {
        if (c->dead || !c->dump || (!c->dump->ct_dump
                                    && !c->dump->ct_flush)) {
            continue;
        }
        if (ct_continue(c) && !c->dump) {
            /* Done: handle what the client sent since. */
            client_process(c);
        }
        if (!c->dead) {
            client_update_events(c);
        }
    }
    reap_clients(s);
}

/* Starts a sliced conntrack job for 'c' ('d' is consumed). */
static void
ct_start(struct ctl_client *c, struct ctl_dump *d)
{
    c->dump = d;
    ct_continue(c);
}

static void
ct_format_tuple(struct ds *ds, const struct ctl_ct_tuple *t)
{
    char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
    int af = t->family == 4 ? AF_INET : AF_INET6;

    inet_ntop(af, t->src, a, sizeof a);
    inet_ntop(af, t->dst, b, sizeof b);
    ds_put_format(ds, "%s=%s,%s=%s,ct_nw_proto=%u",
                  t->family == 4 ? "ct_nw_src" : "ct_ipv6_src", a,
                  t->family == 4 ? "ct_nw_dst" : "ct_ipv6_dst", b,
                  t->nw_proto);
    if (t->nw_proto == 1 || t->nw_proto == 58) {
        ds_put_format(ds, ",icmp_id=%u,icmp_type=%u,icmp_code=%u",
                      t->src_port, t->icmp_type, t->icmp_code);
    } else {
        ds_put_format(ds, ",ct_tp_src=%u,ct_tp_dst=%u", t->src_port,
                      t->dst_port);
    }
}

/* Converts a wire tuple into the tracker's; sends an error on failure. */
static bool
ct_tuple_from_msg(struct ctl_client *c, uint32_t xid,
                  const struct ctl_ct_tuple *t, struct dpif_ct_tuple *out)
{
    struct ds text = DS_EMPTY_INITIALIZER;
    char *err = NULL;

    ct_format_tuple(&text, t);
    int e = dpif_ct_tuple_parse(ds_cstr(&text), out, &err);
    if (e) {
        send_error(c, xid, CTL_ET_FAILED, e, "invalid conntrack tuple "
                   "'%s': %s", ds_cstr(&text), err ? err : ts_strerror(e));
    }
    free(err);
    ds_destroy(&text);
    return !e;
}

static void
handle_ct_flush(struct ctl_client *c, const struct ctl_msg *m)
{
    const struct ctl_ct_flush *f = &m->ct_flush;
    struct dpif_ct_tuple orig, reply;
    struct dpif_ct_flush_filter filter = {
        .has_zone = f->zone != CTL_CT_NO_ZONE,
        .zone = f->zone,
        .mark = f->mark,
        .mark_mask = f->mark_mask,
        .label = { f->label[0], f->label[1] },
        .label_mask = { f->label_mask[0], f->label_mask[1] },
    };

    if (f->orig.family) {
        if (!ct_tuple_from_msg(c, m->xid, &f->orig, &orig)) {
            return;
        }
        filter.orig = &orig;
    }
    if (f->reply.family) {
        if (!ct_tuple_from_msg(c, m->xid, &f->reply, &reply)) {
            return;
        }
        filter.reply = &reply;
    }
    struct ctl_dump *d = xzalloc(sizeof *d);
    d->xid = m->xid;
    d->ct_flush = dpif_ct_flush_start(c->server->ct, &filter);
    ct_start(c, d);
}

static void
handle_ct_info(struct ctl_client *c, const struct ctl_msg *m)
{
    struct ctl_server *s = c->server;
    struct dpif_ct_stats st;
    struct ctl_msg reply;
    char buf[32];

    dpif_ct_get_stats(s->ct, &st);
    ctl_msg_init(&reply, CTL_CT_INFO_REPLY, m->xid);
#define KV(KEY, VAL)                                                \
    do {                                                            \
        snprintf(buf, sizeof buf, "%llu", (unsigned long long) (VAL)); \
        smap_replace(&reply.kv, KEY, buf);                          \
    } while (0)
    KV("maxconns", dpif_ct_get_maxconns(s->ct));
    KV("nconns", dpif_ct_get_nconns(s->ct));
    KV("tcp_seq_chk", dpif_ct_get_tcp_seq_chk(s->ct));
    KV("default_limit", dpif_ct_get_default_limit(s->ct));
    KV("created", st.created);
    KV("expired", st.expired);
    KV("full_drops", st.full_drops);
    KV("zone_limit_drops", st.zone_limit_drops);
    KV("invalid", st.invalid);
    KV("events_sent", s->n_ct_events_sent);
    KV("events_dropped", s->n_ct_events_dropped + st.events_dropped);
#undef KV
    client_send(c, &reply);
}

static void
handle_ct_set_limits(struct ctl_client *c, const struct ctl_msg *m)
{
    const struct ctl_ct_limits *l = &m->ct_limits;
    char *err = NULL;
    int e = 0;

    for (size_t i = 0; !e && i < l->n; i++) {
        uint16_t zone = l->zones[i].zone;
        bool dflt = l->zones[i].zone == CTL_CT_ZONE_DEFAULT;
        if (m->type == CTL_CT_SET_LIMITS) {
            e = bridge_ct_set_limit(c->server->bridges, dflt ? NULL : &zone,
                                    l->zones[i].limit, &err);
        } else if (dflt) {
            e = bridge_ct_set_limit(c->server->bridges, NULL, 0, &err);
        } else {
            e = bridge_ct_del_limit(c->server->bridges, zone, &err);
        }
    }
    send_result(c, m->xid, e, err);
}

static void
handle_ct_set_tp(struct ctl_client *c, const struct ctl_msg *m)
{
    const struct ctl_ct_tp *tp = &m->ct_tp;
    struct smap keys = SMAP_INITIALIZER;
    uint16_t zone = tp->zone;
    char *err = NULL;
    char buf[16];
    int e;

    if (m->type == CTL_CT_DEL_TP) {
        if (tp->zone == CTL_CT_ZONE_DEFAULT) {
            send_error(c, m->xid, CTL_ET_FAILED, EINVAL,
                       "cannot delete the default timeout policy");
            return;
        }
        e = bridge_ct_del_tp(c->server->bridges, zone, &err);
        send_result(c, m->xid, e, err);
        return;
    }
    for (size_t i = 0; i < tp->n_attrs; i++) {
        snprintf(buf, sizeof buf, "%"PRIu32, tp->attrs[i].seconds);
        smap_replace(&keys, tp->attrs[i].name, buf);
    }
    e = bridge_ct_set_tp(c->server->bridges,
                         tp->zone == CTL_CT_ZONE_DEFAULT ? NULL : &zone,
                         &keys, &err);
    smap_destroy(&keys);
    send_result(c, m->xid, e, err);
}

static void
ct_event_cb(void *c_, const char *line)
{
    static const struct {
        const char *prefix;
        enum ctl_ct_event_type type;
    } kinds[] = {
        { "[NEW] ", CTL_CTE_NEW },
        { "[UPDATE] ", CTL_CTE_UPDATE },
        { "[DESTROY] ", CTL_CTE_DESTROY },
    };
    struct ctl_client *c = c_;
    struct ctl_server *s = c->server;
    struct ctl_msg m;

    if (c->dead) {
        return;
    }
    if (client_backlog(c) > CT_EVENT_MAX_BACKLOG) {
        s->n_ct_events_dropped++;
        return;
    }
    ctl_msg_init(&m, CTL_CT_EVENT, 0);
    m.ct_event.type = CTL_CTE_UPDATE;
    for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
        size_t n = strlen(kinds[i].prefix);
        if (!strncmp(line, kinds[i].prefix, n)) {
            m.ct_event.type = kinds[i].type;
            line += n;
            break;
        }
    }
    m.ct_event.line = xstrdup(line);
    client_send(c, &m);
    s->n_ct_events_sent++;
}

static void
handle_ct_monitor(struct ctl_client *c, const struct ctl_msg *m)
{
    const struct ctl_ct_monitor *r = &m->ct_monitor;
    uint16_t zone = r->zone;

    dpif_ct_unsubscribe(c->ct_sub);
    c->ct_sub = NULL;
    if (r->flags & CTL_CTM_EVENTS) {
        c->ct_sub = dpif_ct_subscribe(c->server->ct,
                                      r->zone == CTL_CT_NO_ZONE
                                      ? NULL : &zone, ct_event_cb, c);
    }
    send_ok(c, m->xid);
}

static void
handle_ct_dump(struct ctl_client *c, const struct ctl_msg *m)
{
    const struct ctl_ct_dump_request *r = &m->mp_request.ct_dump;
    uint16_t zone = r->zone;
    struct ctl_dump *d = xzalloc(sizeof *d);

    d->xid = m->xid;
    d->mp_type = m->mp_request.mp_type;
    if (d->mp_type == CTL_MP_CT_STATS) {
        d->ct_count = xzalloc(sizeof *d->ct_count);
        d->ct_zone = r->zone;
        d->ct_verbose = r->flags & CTL_CTD_VERBOSE;
        d->ct_dump = dpif_ct_dump_start(c->server->ct,
                                        r->zone == CTL_CT_NO_ZONE
                                        ? NULL : &zone, false, false);
    } else {
        d->ct_dump = dpif_ct_dump_start(c->server->ct,
                                        r->zone == CTL_CT_NO_ZONE
                                        ? NULL : &zone,
                                        r->flags & CTL_CTD_VERBOSE,
                                        r->flags & CTL_CTD_STATS);
    }
    ct_start(c, d);
}

static void
handle_ct_dump_exp(struct ctl_client *c, const struct ctl_msg *m)
{
    const struct ctl_ct_dump_request *r = &m->mp_request.ct_dump;
    uint16_t zone = r->zone;
    struct ds lines = DS_EMPTY_INITIALIZER;

    dpif_ct_dump_expectations(c->server->ct,
                              r->zone == CTL_CT_NO_ZONE ? NULL : &zone,
                              &lines);
    ct_send_lines(c, m->xid, CTL_MP_CT_DUMP_EXP, &lines, true);
    ds_destroy(&lines);
}

static void
add_zone_limit(struct ctl_msg *reply, struct dpif_ct *ct, uint16_t zone)
{
    struct dpif_ct_zone_stats zs;

    dpif_ct_get_zone_stats(ct, zone, &zs);
    ctl_mp_reply_add_ct_limit(reply, &(struct ctl_ct_zone_limit) {
        .zone = zone, .limit = zs.limit, .count = zs.count,
        .limit_drops = zs.limit_drops });
}

static void
handle_ct_get_limits(struct ctl_client *c, const struct ctl_msg *m)
{
    const struct ctl_ct_limits *req = &m->mp_request.ct_limits;
    struct ctl_server *s = c->server;
    struct ctl_msg reply;

    ctl_msg_init_mp_reply(&reply, m->xid, CTL_MP_CT_LIMITS);
    ctl_mp_reply_add_ct_limit(&reply, &(struct ctl_ct_zone_limit) {
        .zone = CTL_CT_ZONE_DEFAULT,
        .limit = dpif_ct_get_default_limit(s->ct) });
    if (req->n) {
        for (size_t i = 0; i < req->n; i++) {
            if (req->zones[i].zone != CTL_CT_ZONE_DEFAULT) {
                add_zone_limit(&reply, s->ct, req->zones[i].zone);
            }
        }
    } else {
        size_t n = bridge_ct_zones(s->bridges, false, NULL, 0);
        uint16_t *zones = xcalloc(n ? n : 1, sizeof *zones);
        n = bridge_ct_zones(s->bridges, false, zones, n);
        for (size_t i = 0; i < n; i++) {
            add_zone_limit(&reply, s->ct, zones[i]);
        }
        free(zones);
    }
    client_send(c, &reply);
}

/* Adds the policy of 'zone' (NULL: default) to 'reply'; false if it has
 * none. */
static bool
add_tp(struct ctl_msg *reply, struct dpif_ct *ct, const uint16_t *zone)
{
    struct smap keys = SMAP_INITIALIZER;
    uint64_t v;

    if (dpif_ct_tp_get(ct, zone, &keys)) {
        smap_destroy(&keys);
        return false;
    }
    struct ctl_ct_tp *tp = ctl_mp_reply_add_ct_tp(
        reply, zone ? *zone : CTL_CT_ZONE_DEFAULT);
    for (size_t i = 0; i < keys.n; i++) {
        if (str_to_u64(keys.entries[i].value, UINT32_MAX, &v)) {
            ctl_ct_tp_add_attr(tp, keys.entries[i].key, v);
        }
    }
    smap_destroy(&keys);
    return true;
}

static void
handle_ct_get_tp(struct ctl_client *c, const struct ctl_msg *m)
{
    uint32_t want = m->mp_request.ct_dump.zone;
    struct ctl_server *s = c->server;
    struct ctl_msg reply;

    ctl_msg_init_mp_reply(&reply, m->xid, CTL_MP_CT_TP);
    if (want == CTL_CT_NO_ZONE || want == CTL_CT_ZONE_DEFAULT) {
        add_tp(&reply, s->ct, NULL);
    }
    if (want == CTL_CT_NO_ZONE) {
        size_t n = bridge_ct_zones(s->bridges, true, NULL, 0);
        uint16_t *zones = xcalloc(n ? n : 1, sizeof *zones);
        n = bridge_ct_zones(s->bridges, true, zones, n);
        for (size_t i = 0; i < n; i++) {
            add_tp(&reply, s->ct, &zones[i]);
        }
        free(zones);
    } else if (want != CTL_CT_ZONE_DEFAULT) {
        uint16_t zone = want;
        if (!add_tp(&reply, s->ct, &zone)) {
            ctl_msg_release(&reply);
            send_error(c, m->xid, CTL_ET_FAILED, ENOENT,
                       "zone %u has no timeout policy", zone);
            return;
        }
    }
    client_send(c, &reply);
}

/* Periodic tracker work (sweep, events); the tracker says when next. */
static void
ct_run(struct ctl_server *s)
{
    long long now = time_msec();
    double after = (dpif_ct_run(s->ct, now) - now) / 1000.0;

    after = after < CT_RUN_MIN ? CT_RUN_MIN
            : after > CT_RUN_MAX ? CT_RUN_MAX : after;
    ev_timer_stop(s->loop, &s->ct_timer);
    ev_timer_set(&s->ct_timer, after, 0.);
    ev_timer_start(s->loop, &s->ct_timer);
}

static void
ct_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct ctl_server *s = w->data;

    ct_run(s);
    reap_clients(s);
}

/* ---- Packet capture ----------------------------------------------------
 *
 * Each CAPTURE_START makes a datapath tap (dpif_capture_start) owned by
 * the client.  While any capture runs, a 10 ms timer drains every tap
 * into CAPTURE_PACKET messages, at most CAPTURE_POLL_MAX per tap per
 * tick, and only while the client's queue is under
 * CAPTURE_MAX_BACKLOG: beyond it packets are dropped and counted, so a
 * slow reader costs neither memory nor the datapath anything. */

static void
capture_free(struct ctl_capture *cap)
{
    struct ctl_server *s = cap->client->server;

    dpif_capture_stop(cap->tap);
    free(cap);
    if (!--s->n_captures) {
        ev_timer_stop(s->loop, &s->capture_timer);
    }
}

static void
capture_packet_cb(void *cap_, const struct dpif_capture_packet *pkt)
{
    struct ctl_capture *cap = cap_;
    struct ctl_client *c = cap->client;
    struct ds ds = DS_EMPTY_INITIALIZER;
    struct ctl_msg m;

    if (c->dead || client_backlog(c) > CAPTURE_MAX_BACKLOG) {
        cap->dropped++;
        return;
    }
    ctl_msg_init(&m, CTL_CAPTURE_PACKET, cap->xid);
    m.capture_packet.ts_ns = pkt->ts_ns;
    m.capture_packet.port = pkt->port_no;
    m.capture_packet.direction = pkt->direction;
    m.capture_packet.orig_len = pkt->orig_len;
    m.capture_packet.data = (void *) pkt->data;     /* borrowed */
    m.capture_packet.len = MIN(pkt->len, CTL_CAPTURE_MAX_DATA);
    if (ctl_msg_encode(&m, &ds) || !client_send_bytes(c, &ds)) {
        cap->dropped++;
    } else {
        cap->sent++;
    }
    ds_destroy(&ds);
}

static void
capture_send_end(struct ctl_capture *cap, uint32_t xid,
                 enum ctl_capture_end_reason reason)
{
    struct dpif_capture_stats st;
    struct ctl_msg m;

    dpif_capture_get_stats(cap->tap, &st);
    ctl_msg_init(&m, CTL_CAPTURE_END, xid);
    m.capture_end.capture_xid = cap->xid;
    m.capture_end.reason = reason;
    m.capture_end.captured = cap->sent;
    m.capture_end.dropped = st.dropped + cap->dropped;
    client_send(cap->client, &m);
}

/* Drains 'c''s taps; ends those whose port went away. */
static void
capture_run_client(struct ctl_client *c)
{
    struct ctl_capture **prev = &c->captures;

    while (*prev && !c->dead) {
        struct ctl_capture *cap = *prev;
        bool detached = dpif_capture_is_detached(cap->tap);

        if (dpif_capture_poll(cap->tap, CAPTURE_POLL_MAX, capture_packet_cb,
                              cap) < CAPTURE_POLL_MAX && detached) {
            capture_send_end(cap, cap->xid, CTL_CAPE_PORT_GONE);
            *prev = cap->next;
            capture_free(cap);
            continue;
        }
        prev = &cap->next;
    }
}

static void
capture_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct ctl_server *s = w->data;
    struct ctl_client *c;

    TS_LIST_FOR_EACH (c, node, &s->clients) {
        if (c->captures && !c->dead) {
            capture_run_client(c);
        }
    }
    reap_clients(s);
}

static void
handle_capture_start(struct ctl_client *c, const struct ctl_msg *m)
{
    const struct ctl_capture_start *r = &m->capture_start;
    struct ctl_server *s = c->server;
    struct bridge *br = need_bridge(c, m->xid, r->bridge);
    struct dpif_capture_config cfg;
    struct ctl_capture *cap;
    uint32_t ofport = 0;
    char *err = NULL;

    if (!br) {
        return;
    }
    if (bridge_find_port(s->bridges, r->port, &ofport) != br) {
        send_error(c, m->xid, CTL_ET_FAILED, TS_ERR_NO_PORT,
                   "no port named '%s' on bridge '%s'", r->port, r->bridge);
        return;
    }
    for (cap = c->captures; cap; cap = cap->next) {
        if (cap->xid == m->xid) {
            send_error(c, m->xid, CTL_ET_FAILED, EEXIST,
                       "a capture with xid %"PRIu32" is running", m->xid);
            return;
        }
    }
    memset(&cfg, 0, sizeof cfg);
    cfg.port_no = ofport;
    cfg.directions = ((r->flags & CTL_CAPF_RX ? DPIF_CAPTURE_RX : 0)
                      | (r->flags & CTL_CAPF_TX ? DPIF_CAPTURE_TX : 0));
    cfg.snaplen = MIN(r->snaplen ? r->snaplen : CTL_CAPTURE_MAX_DATA,
                      CTL_CAPTURE_MAX_DATA);
    cfg.filter = r->filter;
    cfg.ring_bytes = (size_t) r->buffer_kb * 1024;
    cap = xzalloc(sizeof *cap);
    cap->client = c;
    cap->xid = m->xid;
    int e = dpif_capture_start(bridge_dpif(br), &cfg, &cap->tap, &err);
    if (e) {
        free(cap);
        send_error(c, m->xid, CTL_ET_FAILED, e, "cannot capture on port "
                   "'%s': %s", r->port, err ? err : ts_strerror(e));
        free(err);
        return;
    }
    cap->next = c->captures;
    c->captures = cap;
    if (!s->n_captures++) {
        ev_timer_init(&s->capture_timer, capture_timer_cb,
                      CAPTURE_INTERVAL, CAPTURE_INTERVAL);
        s->capture_timer.data = s;
        ev_timer_start(s->loop, &s->capture_timer);
    }
    send_ok(c, m->xid);
}

static void
handle_capture_stop(struct ctl_client *c, const struct ctl_msg *m)
{
    uint32_t xid = m->capture_stop.capture_xid;

    for (struct ctl_capture **prev = &c->captures; *prev;
         prev = &(*prev)->next) {
        struct ctl_capture *cap = *prev;

        if (cap->xid == xid) {
            /* What was captured before the STOP still goes out. */
            dpif_capture_poll(cap->tap, CAPTURE_POLL_MAX, capture_packet_cb,
                              cap);
            capture_send_end(cap, m->xid, CTL_CAPE_STOPPED);
            *prev = cap->next;
            capture_free(cap);
            return;
        }
    }
    send_error(c, m->xid, CTL_ET_FAILED, ENOENT,
               "no capture with xid %"PRIu32, xid);
}

/* Dispatches one decoded message; 'm' may be modified (ownership moves
 * out of it).  Flat by design: one case per message type. */
static bool
is_change_request(int type)
{
    return (type == CTL_FLOW_MOD || type == CTL_GROUP_MOD
            || type == CTL_BUNDLE_OPEN || type == CTL_BUNDLE_ADD
            || type == CTL_BUNDLE_COMMIT || type == CTL_BUNDLE_DISCARD);
}

static void
dispatch(struct ctl_client *c, struct ctl_msg *m)
{
    struct ctl_msg reply;

    if (c->change_failed && is_change_request(m->type)) {
        send_error(c, m->xid, CTL_ET_FAILED, ECANCELED,
                   "skipped after an earlier error");
        return;
    }
    switch ((enum ctl_type) m->type) {
    case CTL_HELLO:
        if (ctl_hello_negotiate(m) < 0) {
            send_error(c, m->xid, CTL_ET_HELLO_FAILED, TS_ERR_VERSION,
                       "no common protocol version (we speak %d to %d)",
                       CTL_MIN_VERSION, CTL_VERSION);
            c->closing = true;
        }
        break;
    case CTL_ECHO_REQUEST:
        ctl_msg_init(&reply, CTL_ECHO_REPLY, m->xid);
        reply.echo = m->echo;
        memset(&m->echo, 0, sizeof m->echo);
        client_send(c, &reply);
        break;
    case CTL_ECHO_REPLY:
        break;
    case CTL_BARRIER_REQUEST:
        /* Every earlier request is complete already, and durable by the
         * time this reply leaves (held replies keep their order). */
        c->change_failed = false;
        ctl_msg_init(&reply, CTL_BARRIER_REPLY, m->xid);
        client_send(c, &reply);
        break;
    case CTL_ADD_BR:
        handle_add_br(c, m);
        break;
    case CTL_DEL_BR:
        handle_del_br(c, m);
        break;
    case CTL_ADD_PORT:
        handle_add_port(c, m);
        break;
    case CTL_MOD_PORT:
        handle_mod_port(c, m);
        break;
    case CTL_DEL_PORT:
        handle_del_port(c, m);
        break;
    case CTL_FLOW_MOD:
        if (handle_flow_mod(c, m)
            && (c->conn_flags & CTL_CONN_STOP_ON_ERROR)) {
            c->change_failed = true;
        }
        break;
    case CTL_GROUP_MOD:
        if (handle_group_mod(c, m)
            && (c->conn_flags & CTL_CONN_STOP_ON_ERROR)) {
            c->change_failed = true;
        }
        break;
    case CTL_SET_CONN_FLAGS:
        c->conn_flags = m->conn_flags;
        c->change_failed = false;
        send_ok(c, m->xid);
        break;
    case CTL_MONITOR:
        handle_monitor(c, m);
        break;
    case CTL_BUNDLE_OPEN:
    case CTL_BUNDLE_ADD:
    case CTL_BUNDLE_COMMIT:
    case CTL_BUNDLE_DISCARD:
        handle_bundle(c, m);
        break;
    case CTL_PACKET_OUT:
        handle_packet_out(c, m);
        break;
    case CTL_LOG_LEVEL_REQUEST:
        handle_log_level(c, m);
        break;
    case CTL_RESTART:
        handle_restart(c, m);
        break;
    case CTL_STATUS_REQUEST:
        handle_status(c, m);
        break;
    case CTL_CT_FLUSH:
        handle_ct_flush(c, m);
        break;
    case CTL_CT_SET_MAXCONNS: {
        char *err = NULL;
        int e = bridge_ct_set_maxconns(c->server->bridges, m->ct_value,
                                       &err);
        send_result(c, m->xid, e, err);
        break;
    }
    case CTL_CT_SET_TCP_SEQ_CHK: {
        char *err = NULL;
        int e = bridge_ct_set_tcp_seq_chk(c->server->bridges,
                                          m->ct_value != 0, &err);
        send_result(c, m->xid, e, err);
        break;
    }
    case CTL_CT_SET_LIMITS:
    case CTL_CT_DEL_LIMITS:
        handle_ct_set_limits(c, m);
        break;
    case CTL_CT_SET_TP:
    case CTL_CT_DEL_TP:
        handle_ct_set_tp(c, m);
        break;
    case CTL_CT_INFO_REQUEST:
        handle_ct_info(c, m);
        break;
    case CTL_CT_MONITOR:
        handle_ct_monitor(c, m);
        break;
    case CTL_CAPTURE_START:
        handle_capture_start(c, m);
        break;
    case CTL_CAPTURE_STOP:
        handle_capture_stop(c, m);
        break;
    case CTL_MULTIPART_REQUEST:
        handle_multipart(c, m);
        break;
    case CTL_ERROR:
    case CTL_OK:
    case CTL_BARRIER_REPLY:
    case CTL_MULTIPART_REPLY:
    case CTL_PACKET_IN:
    case CTL_LOG_LEVEL_REPLY:
    case CTL_STATUS_REPLY:
    case CTL_CT_INFO_REPLY:
    case CTL_CT_EVENT:
    case CTL_CAPTURE_PACKET:
    case CTL_CAPTURE_END:
    default:
        send_error(c, m->xid, CTL_ET_BAD_REQUEST, TS_ERR_PROTO,
                   "unexpected %s message", ctl_type_name(m->type));
        break;
    }
}

/* ---- Client life cycle -------------------------------------------------- */

static void
client_update_events(struct ctl_client *c)
{
    int want = 0;

    if (c->closing && !client_backlog(c)) {
        client_close(c, "closed after a fatal error");
        return;
    }

    if (!c->dump && !c->closing) {
        want |= STREAM_WANT_READ;
    }
    if (stream_tx_backlog(c->stream)) {
        want |= STREAM_WANT_WRITE;
    }
    /* A TLS stream may need the other direction (its handshake). */
    want = stream_poll_events(c->stream, want);
    want = (want & STREAM_WANT_READ ? EV_READ : 0)
           | (want & STREAM_WANT_WRITE ? EV_WRITE : 0);
    if (want != c->events) {
        ev_io_stop(c->server->loop, &c->io);
        ev_io_set(&c->io, stream_fd(c->stream), want);
        if (want) {
            ev_io_start(c->server->loop, &c->io);
        }
        c->events = want;
    }
}

/* Marks 'c' closed.  The object stays valid until the libev callback
 * that is running returns (it calls client_free()), so no caller up the
 * stack touches freed memory. */
static void
client_close(struct ctl_client *c, const char *why)
{
    if (c->dead) {
        return;
    }
    if (why) {
        TS_INFO("%s: disconnected (%s)", c->name, why);
    }
    c->dead = true;
    ev_io_stop(c->server->loop, &c->io);
}

static void
client_free(struct ctl_client *c)
{
    struct ctl_bundle_state *b;

    ev_io_stop(c->server->loop, &c->io);
    ev_timer_stop(c->server->loop, &c->hs_timer);
    ts_list_remove(&c->node);
    c->server->n_clients--;
    HMAP_FOR_EACH_POP (b, node, &c->bundles) {
        bundle_free(b);
    }
    hmap_destroy(&c->bundles);
    dump_free(c->dump);
    dpif_ct_unsubscribe(c->ct_sub);
    while (c->captures) {
        struct ctl_capture *cap = c->captures;
        c->captures = cap->next;
        capture_free(cap);
    }
    stream_close(c->stream);
    ds_destroy(&c->held);
    free(c->monitor_bridge);
    free(c->name);
    free(c);
}

/* Handles every complete frame buffered, until a dump starts, the client
 * is closed or no frame remains. */
static void
client_process(struct ctl_client *c)
{
    for (int n = 0; !c->dump && !c->closing && !c->dead; n++) {
        const uint8_t *frame;
        size_t len;
        if (n == MAX_MSGS_PER_CALLBACK) {
            /* Frames may remain buffered, where libev cannot see them:
             * come back after the other clients' turn. */
            ev_feed_event(c->server->loop, &c->io, EV_READ);
            break;
        }
        int err = stream_recv_frame(c->stream, &frame, &len);

        if (err == -EAGAIN) {
            break;
        } else if (err == -EPIPE) {
            client_close(c, "end of stream");
            return;
        } else if (err) {
            const char *why = stream_error(c->stream);
            client_close(c, why ? why : ts_strerror(err));
            return;
        }
        if (c->refused) {
            client_refuse(c, frame, len);
            break;
        }

        struct ctl_msg m;
        char *derr = NULL;
        err = ctl_msg_decode(frame, len, &m, &derr);
        if (err) {
            uint8_t version, type;
            uint32_t xid = 0;
            ctl_peek_header(frame, len, &version, &type, &xid);
            static struct log_rl bad_rl = LOG_RL_INIT(60, 20);
            TS_INFO_RL(&bad_rl, "%s: bad %s message: %s", c->name,
                    ctl_type_name(type), derr ? derr : ts_strerror(err));
            send_error(c, xid, CTL_ET_BAD_REQUEST, err, "%s",
                       derr ? derr : ts_strerror(err));
            free(derr);
            continue;
        }
        c->last_rx_msec = time_msec();
        c->probed = false;
        c->frame = frame;
        c->frame_len = len;
        dispatch(c, &m);
        c->frame = NULL;
        ctl_msg_release(&m);
    }
    if (!c->dead) {
        client_update_events(c);
    }
}

static void
client_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    struct ctl_client *c = w->data;

    if (revents & EV_WRITE) {
        int err = stream_flush(c->stream);
        if (err && err != -EAGAIN) {
            client_close(c, stream_error(c->stream)
                            ? stream_error(c->stream) : ts_strerror(err));
        } else if (c->closing && !client_backlog(c)) {
            client_close(c, "closed after a fatal error");
        } else if (c->dump) {
            if (dump_continue(c) && !c->dump) {
                /* The dump is done: handle what the client sent since. */
                client_process(c);
            }
        }
    }
    if ((revents & EV_READ) && !c->dead) {
        client_process(c);
    }
    if (!c->dead) {
        client_update_events(c);
    }
    if (c->dead) {
        client_free(c);
    }
}

static void
handshake_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct ctl_client *c = w->data;

    if (!stream_is_established(c->stream)) {
        TS_WARN("%s: refused: TLS handshake not finished after %.0f "
                "seconds", stream_name(c->stream), CTL_HANDSHAKE_TIMEOUT);
        client_close(c, "TLS handshake timed out");
        client_free(c);
    }
}

/* Only root and the daemon's own user may use the unix socket.  The
 * socket file's mode (0600) already keeps others out; this makes a
 * looser mode or a passed descriptor fail safe, and says so.  Returns
 * false if 'c' is refused (it is then closing). */
static bool
client_check_peer(struct ctl_client *c)
{
    uid_t uid;
    pid_t pid;

    if (stream_peer_cred(c->stream, &uid, &pid)
        || uid == 0 || uid == geteuid()) {
        return true;
    }
    TS_WARN("%s: refused connection on %s from uid %u (pid %ld): only "
            "root and uid %u may use the control socket", c->name,
            stream_name(c->stream), (unsigned int) uid, (long) pid,
            (unsigned int) geteuid());
    /* The reply waits for the client's first frame: closing now, with
     * its request unread, would reset the connection before the client
     * reads why. */
    c->refused = true;
    c->refused_uid = uid;
    return false;
}

/* Answers a refused client's frame with the reason and closes. */
static void
client_refuse(struct ctl_client *c, const uint8_t *frame, size_t len)
{
    uint8_t version, type;
    uint32_t xid = 0;

    ctl_peek_header(frame, len, &version, &type, &xid);
    send_error(c, xid, CTL_ET_FAILED, -EACCES, "permission denied: uid %u "
               "may not use the control socket of vswitchd (only root "
               "and uid %u may)", (unsigned int) c->refused_uid,
               (unsigned int) geteuid());
    c->closing = true;
}

static void
accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    struct ctl_listener *cl = w->data;
    struct ctl_server *s = cl->server;

    for (int i = 0; i < 64; i++) {
        struct stream *stream;
        int err = stream_accept(cl->l, &stream);
        if (err == -EAGAIN) {
            break;
        } else if (err) {
            TS_WARN("%s: accept failed: %s", stream_listener_name(cl->l),
                    ts_strerror(err));
            break;
        }
        struct ctl_client *c = xzalloc(sizeof *c);
        static unsigned int serial;
        c->server = s;
        c->stream = stream;
        c->name = xasprintf("client %u", ++serial);
        hmap_init(&c->bundles);
        ds_init(&c->held);
        ev_io_init(&c->io, client_io_cb, stream_fd(stream), 0);
        c->io.data = c;
        ev_timer_init(&c->hs_timer, handshake_timeout_cb,
                      CTL_HANDSHAKE_TIMEOUT, 0.);
        c->hs_timer.data = c;
        if (!stream_is_established(stream)) {
            ev_timer_start(loop, &c->hs_timer);
        }
        ts_list_push_back(&s->clients, &c->node);
        s->n_clients++;
        if (!strncmp(stream_name(stream), "unix:", 5)) {
            TS_DBG("%s: connected", c->name);
        } else {
            TS_INFO("%s: connected from %s", c->name, stream_name(stream));
        }

        if (client_check_peer(c)) {
            struct ctl_msg hello;
            ctl_msg_init_hello(&hello, 0);
            client_send(c, &hello);
        }
        if (!c->dead) {
            client_update_events(c);
        }
        if (c->dead) {
            client_free(c);
        }
    }
}

/* ---- Group commit ------------------------------------------------------- */

/* Frees clients closed outside their own I/O callback. */
static void
reap_clients(struct ctl_server *s)
{
    struct ctl_client *c;

    TS_LIST_FOR_EACH_SAFE (c, node, &s->clients) {
        if (c->dead) {
            client_free(c);
        }
    }
}

/* Runs once per loop iteration, after every callback: one fsync for all
 * the changes of the iteration, then the held replies go out. */
static void
sync_prepare_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
    struct ctl_server *s = w->data;
    struct ctl_client *c;
    char *err = NULL;
    bool synced = !db_sync(s->db, &err);

    if (!synced) {
        /* The changes are applied but not known to be durable: no client
         * may see them acknowledged.  Drop the connections that hold
         * acknowledgements; their clients see an error. */
        TS_ERR("%s; disconnecting clients with unacknowledged changes",
               err);
        free(err);
    }
    TS_LIST_FOR_EACH (c, node, &s->clients) {
        if (c->dead || !c->held.length) {
            continue;
        }
        if (!synced) {
            client_close(c, "store not durable");
            continue;
        }
        int e = stream_send(c->stream, c->held.string, c->held.length);
        ds_clear(&c->held);
        if (e) {
            client_close(c, stream_error(c->stream)
                            ? stream_error(c->stream) : ts_strerror(e));
            continue;
        }
        if (c->dump) {
            dump_continue(c);
        }
        if (!c->dead) {
            client_update_events(c);
        }
    }
    reap_clients(s);
    if (s->restart) {
        /* The OK of CTL_RESTART went out just above. */
        ev_break(loop, EVBREAK_ALL);
    }
}

/* ---- Periodic work ------------------------------------------------------ */

static void
run_bridges(struct ctl_server *s)
{
    long long next = bridge_set_run(s->bridges);

    reap_clients(s);
    double after = (next - time_msec()) / 1000.0;

    /* Never spin: at least 10 ms, at most the configured interval. */
    after = after < 0.01 ? 0.01 : after > s->run_interval ? s->run_interval
                                                          : after;
    ev_timer_stop(s->loop, &s->run_timer);
    ev_timer_set(&s->run_timer, after, 0.);
    ev_timer_start(s->loop, &s->run_timer);
}

/* Inactivity probes, as OpenFlow does: a client silent for one interval
 * gets an ECHO_REQUEST; silent for a second interval, it is disconnected.
 * A dead peer (a remote host gone without a FIN) so cannot hold its
 * connection and buffers forever.  A client whose dump is in progress is
 * not read from, so it counts as active. */
static void
probe_clients(struct ctl_server *s)
{
    long long now = time_msec();
    struct ctl_client *c;

    if (s->probe_interval_ms <= 0) {
        return;
    }
    TS_LIST_FOR_EACH (c, node, &s->clients) {
        if (c->dead || c->closing) {
            continue;
        }
        if (c->dump || !c->last_rx_msec) {
            c->last_rx_msec = now;
            continue;
        }
        long long idle = now - c->last_rx_msec;
        if (idle >= 2 * s->probe_interval_ms && c->probed) {
            TS_WARN("%s: no reply to an echo probe in %lld ms, "
                    "disconnecting", c->name, idle);
            client_close(c, NULL);
        } else if (idle >= s->probe_interval_ms && !c->probed) {
            struct ctl_msg echo;
            ctl_msg_init(&echo, CTL_ECHO_REQUEST, 0);
            c->probed = true;
            client_send(c, &echo);
            if (!c->dead) {
                client_update_events(c);
            }
        }
    }
    reap_clients(s);
}

static void
run_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    probe_clients(w->data);
    run_bridges(w->data);
}

static void
wakeup_cb(struct ev_loop *loop, ev_async *w, int revents)
{
    run_bridges(w->data);
}

static void
wakeup_from_worker(void *s_)
{
    struct ctl_server *s = s_;
    ev_async_send(s->loop, &s->wakeup);
}

int
ctl_server_create(struct ev_loop *loop, struct bridge_set *bridges,
                  struct db *db, const struct ctl_server_config *cfg,
                  struct ctl_server **serverp, char **errp)
{
    struct ctl_server *s = xzalloc(sizeof *s);
    const struct stream_tls_config tls = {
        .private_key = cfg->private_key,
        .certificate = cfg->certificate,
        .ca_cert = cfg->ca_cert,
    };
    int err;

    *serverp = NULL;
    s->listeners = xcalloc(1 + cfg->n_listen, sizeof *s->listeners);
    for (size_t i = 0; i <= cfg->n_listen; i++) {
        struct ctl_listener *cl = &s->listeners[i];
        const char *target = i ? cfg->listen[i - 1] : cfg->target;

        err = stream_listen_tls(target, cfg->mode ? cfg->mode : 0600,
                                &tls, &cl->l, errp);
        if (err) {
            goto err_close;
        }
        cl->server = s;
        s->n_listeners++;
        if (!strncmp(stream_listener_name(cl->l), "ptcp:", 5)) {
            TS_WARN("listening on %s without TLS: control connections "
                    "there are neither authenticated nor encrypted",
                    stream_listener_name(cl->l));
        }
    }
    s->loop = loop;
    s->bridges = bridges;
    s->db = db;
    s->max_backlog = cfg->max_backlog ? cfg->max_backlog : 16u << 20;
    s->run_interval = (cfg->run_interval_ms ? cfg->run_interval_ms
                                            : 500) / 1000.0;
    s->start_msec = time_msec();
    s->probe_interval_ms = (cfg->probe_interval_ms ? cfg->probe_interval_ms
                            : 5000);
    ts_list_init(&s->clients);

    for (size_t i = 0; i < s->n_listeners; i++) {
        struct ctl_listener *cl = &s->listeners[i];
        ev_io_init(&cl->accept_io, accept_cb, stream_listener_fd(cl->l),
                   EV_READ);
        cl->accept_io.data = cl;
        ev_io_start(loop, &cl->accept_io);
        TS_INFO("listening on %s", stream_listener_name(cl->l));
    }
    ev_timer_init(&s->run_timer, run_timer_cb, s->run_interval, 0.);
    s->run_timer.data = s;
    ev_timer_start(loop, &s->run_timer);
    ev_async_init(&s->wakeup, wakeup_cb);
    s->wakeup.data = s;
    ev_async_start(loop, &s->wakeup);
    bridge_set_set_wakeup_cb(bridges, wakeup_from_worker, s);
    bridge_set_set_packet_in_cb(bridges, server_packet_in, s);
    s->ct = bridge_set_ct(bridges);
    s->ct_snapshot = cfg->ct_snapshot;
    ev_timer_init(&s->ct_timer, ct_timer_cb, CT_RUN_MIN, 0.);
    s->ct_timer.data = s;
    ev_timer_start(loop, &s->ct_timer);
    ev_timer_init(&s->ct_work_timer, ct_work_cb, 0., 0.);
    s->ct_work_timer.data = s;
    ev_prepare_init(&s->sync_prepare, sync_prepare_cb);
    s->sync_prepare.data = s;
    ev_prepare_start(loop, &s->sync_prepare);
    db_set_defer_sync(db, true);
    *serverp = s;
    return 0;

err_close:
    for (size_t i = 0; i < s->n_listeners; i++) {
        stream_listener_close(s->listeners[i].l);
    }
    free(s->listeners);
    free(s);
    return err;
}

void
ctl_server_destroy(struct ctl_server *s)
{
    struct ctl_client *c;

    if (!s) {
        return;
    }
    bridge_set_set_wakeup_cb(s->bridges, NULL, NULL);
    bridge_set_set_packet_in_cb(s->bridges, NULL, NULL);
    ev_prepare_stop(s->loop, &s->sync_prepare);
    /* Whatever is still unsynced becomes durable; no reply is sent. */
    db_sync(s->db, NULL);
    db_set_defer_sync(s->db, false);
    TS_LIST_FOR_EACH_SAFE (c, node, &s->clients) {
        client_free(c);
    }
    for (size_t i = 0; i < s->n_listeners; i++) {
        ev_io_stop(s->loop, &s->listeners[i].accept_io);
        stream_listener_close(s->listeners[i].l);
    }
    free(s->listeners);
    ev_timer_stop(s->loop, &s->run_timer);
    ev_timer_stop(s->loop, &s->ct_timer);
    ev_timer_stop(s->loop, &s->ct_work_timer);
    ev_timer_stop(s->loop, &s->capture_timer);
    ev_async_stop(s->loop, &s->wakeup);
    free(s);
}

size_t
ctl_server_n_clients(const struct ctl_server *s)
{
    return s->n_clients;
}
