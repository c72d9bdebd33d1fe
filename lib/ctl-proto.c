/* ctl-proto: control messages, encoding and decoding.  See ctl-proto.h for
 * the contract and docs/protocol.md for the wire format. */
#include "ctl-proto.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ctl-proto-private.h"
#include "errors.h"
#include "ofp-group.h"
#include "util.h"

static bool
dec_done(struct ctl_dec *d)
{
    if (!d->error && ctl_dec_left(d)) {
        ctl_dec_fail(d, "%zu trailing bytes", ctl_dec_left(d));
    }
    return !d->error;
}

/* ---- Names -------------------------------------------------------------- */

const char *
ctl_type_name(int type)
{
    switch (type) {
    case CTL_HELLO: return "HELLO";
    case CTL_ERROR: return "ERROR";
    case CTL_ECHO_REQUEST: return "ECHO_REQUEST";
    case CTL_ECHO_REPLY: return "ECHO_REPLY";
    case CTL_BARRIER_REQUEST: return "BARRIER_REQUEST";
    case CTL_BARRIER_REPLY: return "BARRIER_REPLY";
    case CTL_OK: return "OK";
    case CTL_MULTIPART_REQUEST: return "MULTIPART_REQUEST";
    case CTL_MULTIPART_REPLY: return "MULTIPART_REPLY";
    case CTL_SET_CONN_FLAGS: return "SET_CONN_FLAGS";
    case CTL_ADD_BR: return "ADD_BR";
    case CTL_DEL_BR: return "DEL_BR";
    case CTL_ADD_PORT: return "ADD_PORT";
    case CTL_DEL_PORT: return "DEL_PORT";
    case CTL_MOD_PORT: return "MOD_PORT";
    case CTL_FLOW_MOD: return "FLOW_MOD";
    case CTL_BUNDLE_OPEN: return "BUNDLE_OPEN";
    case CTL_BUNDLE_ADD: return "BUNDLE_ADD";
    case CTL_BUNDLE_COMMIT: return "BUNDLE_COMMIT";
    case CTL_BUNDLE_DISCARD: return "BUNDLE_DISCARD";
    case CTL_GROUP_MOD: return "GROUP_MOD";
    case CTL_PACKET_OUT: return "PACKET_OUT";
    case CTL_PACKET_IN: return "PACKET_IN";
    case CTL_MONITOR: return "MONITOR";
    case CTL_LOG_LEVEL_REQUEST: return "LOG_LEVEL_REQUEST";
    case CTL_LOG_LEVEL_REPLY: return "LOG_LEVEL_REPLY";
    case CTL_STATUS_REQUEST: return "STATUS_REQUEST";
    case CTL_STATUS_REPLY: return "STATUS_REPLY";
    case CTL_CT_FLUSH: return "CT_FLUSH";
    case CTL_CT_SET_MAXCONNS: return "CT_SET_MAXCONNS";
    case CTL_CT_SET_LIMITS: return "CT_SET_LIMITS";
    case CTL_CT_DEL_LIMITS: return "CT_DEL_LIMITS";
    case CTL_CT_SET_TP: return "CT_SET_TP";
    case CTL_CT_DEL_TP: return "CT_DEL_TP";
    case CTL_CT_SET_TCP_SEQ_CHK: return "CT_SET_TCP_SEQ_CHK";
    case CTL_CT_INFO_REQUEST: return "CT_INFO_REQUEST";
    case CTL_CT_INFO_REPLY: return "CT_INFO_REPLY";
    case CTL_CT_MONITOR: return "CT_MONITOR";
    case CTL_CT_EVENT: return "CT_EVENT";
    case CTL_RESTART: return "RESTART";
    case CTL_CAPTURE_START: return "CAPTURE_START";
    case CTL_CAPTURE_PACKET: return "CAPTURE_PACKET";
    case CTL_CAPTURE_STOP: return "CAPTURE_STOP";
    case CTL_CAPTURE_END: return "CAPTURE_END";
    default: return "UNKNOWN";
    }
}

bool
ctl_type_is_valid(int type)
{
    return strcmp(ctl_type_name(type), "UNKNOWN") != 0;
}

const char *
ctl_mp_type_name(int mp_type)
{
    switch (mp_type) {
    case CTL_MP_LIST_BR: return "LIST_BR";
    case CTL_MP_LIST_PORTS: return "LIST_PORTS";
    case CTL_MP_SHOW: return "SHOW";
    case CTL_MP_DUMP_FLOWS: return "DUMP_FLOWS";
    case CTL_MP_AGGREGATE: return "AGGREGATE";
    case CTL_MP_DUMP_GROUPS: return "DUMP_GROUPS";
    case CTL_MP_DUMP_PORTS: return "DUMP_PORTS";
    case CTL_MP_DUMP_DP_FLOWS: return "DUMP_DP_FLOWS";
    case CTL_MP_TRACE: return "TRACE";
    case CTL_MP_CT_DUMP: return "CT_DUMP";
    case CTL_MP_CT_STATS: return "CT_STATS";
    case CTL_MP_CT_LIMITS: return "CT_LIMITS";
    case CTL_MP_CT_TP: return "CT_TP";
    case CTL_MP_CT_DUMP_EXP: return "CT_DUMP_EXP";
    default: return "UNKNOWN";
    }
}

static bool
mp_type_is_valid(int mp_type)
{
    return strcmp(ctl_mp_type_name(mp_type), "UNKNOWN") != 0;
}

const char *
ctl_error_type_name(int type)
{
    switch (type) {
    case CTL_ET_HELLO_FAILED: return "HELLO_FAILED";
    case CTL_ET_BAD_REQUEST: return "BAD_REQUEST";
    case CTL_ET_FAILED: return "FAILED";
    case CTL_ET_BUNDLE_FAILED: return "BUNDLE_FAILED";
    default: return "UNKNOWN";
    }
}

/* ---- Life cycle --------------------------------------------------------- */

void
ctl_msg_init(struct ctl_msg *msg, enum ctl_type type, uint32_t xid)
{
    memset(msg, 0, sizeof *msg);
    msg->version = CTL_VERSION;
    msg->type = type;
    msg->xid = xid;
    switch (type) {
    case CTL_ADD_PORT:
    case CTL_DEL_PORT:
    case CTL_MOD_PORT:
        smap_init(&msg->port.options);
        break;
    case CTL_LOG_LEVEL_REPLY:
    case CTL_STATUS_REPLY:
    case CTL_CT_INFO_REPLY:
        smap_init(&msg->kv);
        break;
    case CTL_CT_FLUSH:
        msg->ct_flush.zone = CTL_CT_NO_ZONE;
        break;
    case CTL_CT_MONITOR:
        msg->ct_monitor.zone = CTL_CT_NO_ZONE;
        break;
    default:
        break;
    }
}

static void
port_release(struct ctl_port *p)
{
    free(p->name);
    free(p->type);
    smap_destroy(&p->options);
}

static void
show_bridge_release(struct ctl_show_bridge *b)
{
    free(b->name);
    for (size_t i = 0; i < b->n_ports; i++) {
        port_release(&b->ports[i]);
    }
    free(b->ports);
}

static void
mp_reply_release(struct ctl_mp_reply *r)
{
    switch (r->mp_type) {
    case CTL_MP_LIST_BR:
        for (size_t i = 0; i < r->n; i++) {
            free(r->bridges[i]);
        }
        free(r->bridges);
        break;
    case CTL_MP_LIST_PORTS:
        for (size_t i = 0; i < r->n; i++) {
            port_release(&r->ports[i]);
        }
        free(r->ports);
        break;
    case CTL_MP_SHOW:
        for (size_t i = 0; i < r->n; i++) {
            show_bridge_release(&r->show[i]);
        }
        free(r->show);
        break;
    case CTL_MP_DUMP_FLOWS:
        for (size_t i = 0; i < r->n; i++) {
            ctl_flow_stats_free(r->flows[i]);
        }
        free(r->flows);
        break;
    case CTL_MP_DUMP_PORTS:
        free(r->port_stats);
        break;
    case CTL_MP_AGGREGATE:
        free(r->aggregates);
        break;
    case CTL_MP_DUMP_GROUPS:
        for (size_t i = 0; i < r->n; i++) {
            ctl_group_entry_release(&r->groups[i]);
        }
        free(r->groups);
        break;
    case CTL_MP_DUMP_DP_FLOWS:
        for (size_t i = 0; i < r->n; i++) {
            free(r->dp_flows[i].match);
            free(r->dp_flows[i].actions);
        }
        free(r->dp_flows);
        break;
    case CTL_MP_TRACE:
        free(r->text);
        break;
    default:
        ctl_ct_mp_reply_release(r);
        break;
    }
}

static void
mp_request_release(struct ctl_mp_request *r)
{
    free(r->bridge);
    switch (r->mp_type) {
    case CTL_MP_DUMP_FLOWS:
    case CTL_MP_AGGREGATE:
        ctl_flow_mod_free(r->dump_flows.filter);
        break;
    case CTL_MP_TRACE:
        free(r->trace.flow);
        free(r->trace.packet);
        break;
    default:
        ctl_ct_mp_request_release(r);
        break;
    }
}

void
ctl_msg_release(struct ctl_msg *msg)
{
    if (!msg) {
        return;
    }
    switch (msg->type) {
    case CTL_ERROR:
        free(msg->error.text);
        break;
    case CTL_ECHO_REQUEST:
    case CTL_ECHO_REPLY:
        free(msg->echo.data);
        break;
    case CTL_ADD_BR:
    case CTL_DEL_BR:
        free(msg->br.name);
        break;
    case CTL_ADD_PORT:
    case CTL_DEL_PORT:
    case CTL_MOD_PORT:
        free(msg->port.bridge);
        free(msg->port.name);
        free(msg->port.type);
        smap_destroy(&msg->port.options);
        break;
    case CTL_FLOW_MOD:
        free(msg->flow_mod.bridge);
        ctl_flow_mod_free(msg->flow_mod.fm);
        break;
    case CTL_BUNDLE_OPEN:
    case CTL_BUNDLE_ADD:
    case CTL_BUNDLE_COMMIT:
    case CTL_BUNDLE_DISCARD:
        free(msg->bundle.bridge);
        ctl_flow_mod_free(msg->bundle.fm);
        break;
    case CTL_PACKET_OUT:
        free(msg->packet_out.bridge);
        free(msg->packet_out.packet);
        free(msg->packet_out.ofpacts);
        break;
    case CTL_GROUP_MOD:
        free(msg->group_mod.bridge);
        ctl_group_mod_free(msg->group_mod.gm);
        break;
    case CTL_PACKET_IN:
        free(msg->packet_in.bridge);
        free(msg->packet_in.packet);
        break;
    case CTL_MONITOR:
        free(msg->monitor.bridge);
        break;
    case CTL_LOG_LEVEL_REQUEST:
        free(msg->log_level.spec);
        break;
    case CTL_LOG_LEVEL_REPLY:
    case CTL_STATUS_REPLY:
        smap_destroy(&msg->kv);
        break;
    case CTL_MULTIPART_REQUEST:
        mp_request_release(&msg->mp_request);
        break;
    case CTL_MULTIPART_REPLY:
        mp_reply_release(&msg->mp_reply);
        break;
    case CTL_CAPTURE_START:
    case CTL_CAPTURE_PACKET:
        ctl_capture_msg_release(msg);
        break;
    default:
        ctl_ct_msg_release(msg);
        break;
    }
    memset(msg, 0, sizeof *msg);
}

void
ctl_msg_init_error(struct ctl_msg *msg, uint32_t xid,
                   enum ctl_error_type type, int err, const char *fmt, ...)
{
    va_list args;

    ctl_msg_init(msg, CTL_ERROR, xid);
    msg->error.type = type;
    err = err < 0 ? -err : err;
    msg->error.code = err > UINT16_MAX ? 0 : err;
    va_start(args, fmt);
    msg->error.text = xvasprintf(fmt, args);
    va_end(args);
}

void
ctl_msg_init_hello(struct ctl_msg *msg, uint32_t xid)
{
    ctl_msg_init(msg, CTL_HELLO, xid);
    for (int v = CTL_MIN_VERSION; v <= CTL_VERSION; v++) {
        msg->hello.version_bitmap |= 1u << v;
    }
}

int
ctl_hello_negotiate(const struct ctl_msg *peer)
{
    uint32_t ours = 0, theirs = peer->hello.version_bitmap;

    for (int v = CTL_MIN_VERSION; v <= CTL_VERSION; v++) {
        ours |= 1u << v;
    }
    if (!theirs) {
        /* No bitmap: the peer speaks only up to its header version. */
        theirs = peer->version < 32 ? (2u << peer->version) - 1 : ~0u;
    }
    uint32_t common = ours & theirs;
    if (!common) {
        return -TS_ERR_VERSION;
    }
    return 31 - __builtin_clz(common);
}

void
ctl_msg_init_mp_request(struct ctl_msg *msg, uint32_t xid,
                        enum ctl_mp_type mp_type, const char *bridge)
{
    ctl_msg_init(msg, CTL_MULTIPART_REQUEST, xid);
    msg->mp_request.mp_type = mp_type;
    msg->mp_request.bridge = bridge ? xstrdup(bridge) : NULL;
}

void
ctl_msg_init_mp_reply(struct ctl_msg *msg, uint32_t xid,
                      enum ctl_mp_type mp_type)
{
    ctl_msg_init(msg, CTL_MULTIPART_REPLY, xid);
    msg->mp_reply.mp_type = mp_type;
}

/* Grows the entry array of 'r' (element size 'elem') by one zeroed entry
 * and returns it. */
static void *
mp_reply_grow(struct ctl_mp_reply *r, void **arrayp, size_t elem)
{
    char *array = xrealloc(*arrayp, (r->n + 1) * elem);
    memset(array + r->n * elem, 0, elem);
    *arrayp = array;
    return array + r->n++ * elem;
}

void
ctl_mp_reply_add_bridge(struct ctl_msg *msg, const char *name)
{
    struct ctl_mp_reply *r = &msg->mp_reply;
    char **slot = mp_reply_grow(r, (void **) &r->bridges, sizeof *slot);
    *slot = xstrdup(name);
}

static void
port_init(struct ctl_port *p, const char *name, const char *type,
          uint32_t ofport)
{
    p->name = xstrdup(name);
    p->type = xstrdup(type ? type : "");
    p->ofport = ofport;
    smap_init(&p->options);
}

struct ctl_port *
ctl_mp_reply_add_port(struct ctl_msg *msg, const char *name,
                      const char *type, uint32_t ofport)
{
    struct ctl_mp_reply *r = &msg->mp_reply;
    struct ctl_port *p = mp_reply_grow(r, (void **) &r->ports, sizeof *p);
    port_init(p, name, type, ofport);
    return p;
}

struct ctl_show_bridge *
ctl_mp_reply_add_show_bridge(struct ctl_msg *msg, const char *name)
{
    struct ctl_mp_reply *r = &msg->mp_reply;
    struct ctl_show_bridge *b = mp_reply_grow(r, (void **) &r->show,
                                              sizeof *b);
    b->name = xstrdup(name);
    return b;
}

struct ctl_port *
ctl_show_bridge_add_port(struct ctl_show_bridge *b, const char *name,
                         const char *type, uint32_t ofport)
{
    b->ports = xrealloc(b->ports, (b->n_ports + 1) * sizeof *b->ports);
    struct ctl_port *p = &b->ports[b->n_ports++];
    port_init(p, name, type, ofport);
    return p;
}

void
ctl_mp_reply_add_flow(struct ctl_msg *msg, const struct ofp_flow_stats *fs)
{
    struct ctl_mp_reply *r = &msg->mp_reply;
    struct ofp_flow_stats **slot = mp_reply_grow(r, (void **) &r->flows,
                                                 sizeof *slot);
    *slot = ctl_flow_stats_clone(fs);
}

void
ctl_mp_reply_add_port_stats(struct ctl_msg *msg,
                            const struct ctl_port_stats *ps)
{
    struct ctl_mp_reply *r = &msg->mp_reply;
    struct ctl_port_stats *slot = mp_reply_grow(r, (void **) &r->port_stats,
                                                sizeof *slot);
    *slot = *ps;
}

void
ctl_mp_reply_add_dp_flow(struct ctl_msg *msg, const char *match,
                         const char *actions, uint64_t n_packets,
                         uint64_t n_bytes, int64_t used_msec,
                         uint16_t tcp_flags)
{
    struct ctl_mp_reply *r = &msg->mp_reply;
    struct ctl_dp_flow *f = mp_reply_grow(r, (void **) &r->dp_flows,
                                          sizeof *f);
    f->match = xstrdup(match);
    f->actions = xstrdup(actions);
    f->n_packets = n_packets;
    f->n_bytes = n_bytes;
    f->used_msec = used_msec;
    f->tcp_flags = tcp_flags;
}

void
ctl_mp_reply_add_text(struct ctl_msg *msg, const char *text)
{
    struct ctl_mp_reply *r = &msg->mp_reply;
    size_t len = strlen(text);

    r->text = xrealloc(r->text, r->n + len + 1);
    memcpy(r->text + r->n, text, len + 1);
    r->n += len;
}

void
ctl_mp_reply_add_aggregate(struct ctl_msg *msg, const struct ctl_aggregate *a)
{
    struct ctl_mp_reply *r = &msg->mp_reply;
    struct ctl_aggregate *slot = mp_reply_grow(r, (void **) &r->aggregates,
                                               sizeof *slot);
    *slot = *a;
}

void
ctl_mp_reply_add_group(struct ctl_msg *msg, const struct ofp_group_mod *desc,
                       uint32_t ref_count, uint64_t packet_count,
                       uint64_t byte_count, int64_t duration_msec,
                       const struct ofp_bucket_stats *bucket_stats)
{
    struct ctl_mp_reply *r = &msg->mp_reply;
    struct ctl_group_entry *g = mp_reply_grow(r, (void **) &r->groups,
                                              sizeof *g);
    size_t n = desc->n_buckets;

    g->desc = xmalloc(sizeof *g->desc);
    ofp_group_mod_clone(g->desc, desc);
    g->desc->command = OFPGC_ADD;
    g->ref_count = ref_count;
    g->packet_count = packet_count;
    g->byte_count = byte_count;
    g->duration_msec = duration_msec;
    g->bucket_stats = xcalloc(n ? n : 1, sizeof *g->bucket_stats);
    if (n && bucket_stats) {
        memcpy(g->bucket_stats, bucket_stats, n * sizeof *bucket_stats);
    }
}

/* Appends 'n' entries of 'elem' bytes from '*srcp' to '*dstp' (which has
 * 'dst_n'), freeing the source array. */
static void
move_entries(void **dstp, size_t dst_n, void **srcp, size_t n, size_t elem)
{
    if (n) {
        *dstp = xrealloc(*dstp, (dst_n + n) * elem);
        memcpy((char *) *dstp + dst_n * elem, *srcp, n * elem);
    }
    free(*srcp);
    *srcp = NULL;
}

int
ctl_mp_reply_append(struct ctl_msg *total_msg, struct ctl_msg *part_msg)
{
    struct ctl_mp_reply *t = &total_msg->mp_reply;
    struct ctl_mp_reply *p = &part_msg->mp_reply;
    size_t skip = 0;

    if (total_msg->type != CTL_MULTIPART_REPLY
        || part_msg->type != CTL_MULTIPART_REPLY
        || t->mp_type != p->mp_type) {
        return -TS_ERR_PROTO;
    }
    t->flags = p->flags;
    switch (t->mp_type) {
    case CTL_MP_LIST_BR:
        move_entries((void **) &t->bridges, t->n, (void **) &p->bridges,
                     p->n, sizeof *t->bridges);
        break;
    case CTL_MP_LIST_PORTS:
        move_entries((void **) &t->ports, t->n, (void **) &p->ports, p->n,
                     sizeof *t->ports);
        break;
    case CTL_MP_SHOW:
        if (t->n && p->n && !strcmp(t->show[t->n - 1].name, p->show[0].name)) {
            /* A continuation of the last bridge. */
            struct ctl_show_bridge *last = &t->show[t->n - 1];
            struct ctl_show_bridge *first = &p->show[0];
            move_entries((void **) &last->ports, last->n_ports,
                         (void **) &first->ports, first->n_ports,
                         sizeof *last->ports);
            last->n_ports += first->n_ports;
            first->n_ports = 0;
            show_bridge_release(first);
            skip = 1;
        }
        if (p->n > skip) {
            t->show = xrealloc(t->show, (t->n + p->n - skip)
                               * sizeof *t->show);
            memcpy(&t->show[t->n], &p->show[skip],
                   (p->n - skip) * sizeof *t->show);
        }
        free(p->show);
        p->show = NULL;
        t->n += p->n - skip;
        p->n = 0;
        return 0;
    case CTL_MP_DUMP_FLOWS:
        move_entries((void **) &t->flows, t->n, (void **) &p->flows, p->n,
                     sizeof *t->flows);
        break;
    case CTL_MP_DUMP_PORTS:
        move_entries((void **) &t->port_stats, t->n,
                     (void **) &p->port_stats, p->n, sizeof *t->port_stats);
        break;
    case CTL_MP_AGGREGATE:
        move_entries((void **) &t->aggregates, t->n,
                     (void **) &p->aggregates, p->n, sizeof *t->aggregates);
        break;
    case CTL_MP_DUMP_GROUPS:
        move_entries((void **) &t->groups, t->n, (void **) &p->groups, p->n,
                     sizeof *t->groups);
        break;
    case CTL_MP_DUMP_DP_FLOWS:
        move_entries((void **) &t->dp_flows, t->n, (void **) &p->dp_flows,
                     p->n, sizeof *t->dp_flows);
        break;
    case CTL_MP_TRACE:
        if (p->n) {
            t->text = xrealloc(t->text, t->n + p->n + 1);
            memcpy(t->text + t->n, p->text, p->n + 1);
        }
        free(p->text);
        p->text = NULL;
        break;
    default:
        if (!ctl_ct_mp_reply_append(t, p)) {
            return -TS_ERR_PROTO;
        }
        break;
    }
    t->n += p->n;
    p->n = 0;
    return 0;
}

/* ---- Encoding ----------------------------------------------------------- */

void
ctl_put_kv_list(struct ctl_enc *e, const struct smap *smap)
{
    const struct smap_entry *entry;

    ctl_put_u16(e, MIN(smap->n, UINT16_MAX));
    if (!smap->n) {
        return;                 /* SMAP_FOR_EACH on NULL entries is UB */
    }
    SMAP_FOR_EACH (entry, smap) {
        ctl_put_string(e, entry->key);
        ctl_put_string(e, entry->value);
    }
}

static void
put_port(struct ctl_enc *e, const struct ctl_port *p)
{
    ctl_put_u32(e, p->ofport);
    ctl_put_string(e, p->name);
    ctl_put_string(e, p->type);
    ctl_put_kv_list(e, &p->options);
}

static bool
put_mp_request(struct ctl_enc *e, const struct ctl_mp_request *r)
{
    ctl_put_u16(e, r->mp_type);
    ctl_put_u16(e, r->flags);
    ctl_put_u32(e, 0);
    switch (r->mp_type) {
    case CTL_MP_LIST_BR:
    case CTL_MP_SHOW:
        return true;
    case CTL_MP_LIST_PORTS:
    case CTL_MP_DUMP_DP_FLOWS:
        ctl_put_string(e, r->bridge);
        return true;
    case CTL_MP_DUMP_PORTS:
        ctl_put_string(e, r->bridge);
        ctl_put_u32(e, r->port);
        return true;
    case CTL_MP_DUMP_FLOWS:
    case CTL_MP_AGGREGATE:
        ctl_put_string(e, r->bridge);
        ctl_put_u32(e, r->dump_flows.flags);
        return r->dump_flows.filter
               && ctl_put_flow_mod(e, r->dump_flows.filter);
    case CTL_MP_DUMP_GROUPS:
        ctl_put_string(e, r->bridge);
        ctl_put_u32(e, r->group_id);
        return true;
    case CTL_MP_TRACE:
        ctl_put_string(e, r->bridge);
        if (r->trace.flow) {
            ctl_put_u8(e, 0);
            ctl_put_string(e, r->trace.flow);
        } else {
            ctl_put_u8(e, 1);
            ctl_put_u32(e, r->trace.in_port);
            ctl_put_bytes(e, r->trace.packet, r->trace.packet_len);
        }
        return true;
    default:
        return ctl_ct_put_mp_request(e, r);
    }
}

static void
put_port_stats(struct ctl_enc *e, const struct ctl_port_stats *ps)
{
    ctl_put_u32(e, ps->ofport);
    ctl_put_u32(e, ps->duration_sec);
    ctl_put_u32(e, ps->duration_nsec);
    ctl_put_u32(e, 0);
    ctl_put_u64(e, ps->rx_packets);
    ctl_put_u64(e, ps->rx_bytes);
    ctl_put_u64(e, ps->rx_dropped);
    ctl_put_u64(e, ps->rx_errors);
    ctl_put_u64(e, ps->rx_frame_err);
    ctl_put_u64(e, ps->rx_over_err);
    ctl_put_u64(e, ps->rx_crc_err);
    ctl_put_u64(e, ps->tx_packets);
    ctl_put_u64(e, ps->tx_bytes);
    ctl_put_u64(e, ps->tx_dropped);
    ctl_put_u64(e, ps->tx_errors);
    ctl_put_u64(e, ps->collisions);
}

/* Encodes entry 'i' of 'r' (not SHOW or TRACE). */
static bool
put_mp_entry(struct ctl_enc *e, const struct ctl_mp_reply *r, size_t i)
{
    switch (r->mp_type) {
    case CTL_MP_LIST_BR:
        ctl_put_string(e, r->bridges[i]);
        return true;
    case CTL_MP_LIST_PORTS:
        put_port(e, &r->ports[i]);
        return true;
    case CTL_MP_DUMP_FLOWS:
        return ctl_put_flow_stats(e, r->flows[i]);
    case CTL_MP_DUMP_PORTS:
        put_port_stats(e, &r->port_stats[i]);
        return true;
    case CTL_MP_AGGREGATE:
        ctl_put_u64(e, r->aggregates[i].packet_count);
        ctl_put_u64(e, r->aggregates[i].byte_count);
        ctl_put_u32(e, r->aggregates[i].flow_count);
        ctl_put_u32(e, 0);
        return true;
    case CTL_MP_DUMP_GROUPS:
        return ctl_put_group_entry(e, &r->groups[i]);
    case CTL_MP_DUMP_DP_FLOWS: {
        const struct ctl_dp_flow *f = &r->dp_flows[i];
        ctl_put_u64(e, f->n_packets);
        ctl_put_u64(e, f->n_bytes);
        ctl_put_u64(e, f->used_msec);
        ctl_put_u16(e, f->tcp_flags);
        ctl_put_string(e, f->match);
        ctl_put_string(e, f->actions);
        return true;
    }
    default:
        return ctl_ct_put_mp_entry(e, r, i);
    }
}

/* Entries: n_entries counts SHOW bridges, TRACE bytes, else entries. */
static void
put_mp_reply_header(struct ctl_enc *e, uint16_t mp_type, uint16_t flags,
                    uint32_t n_entries)
{
    ctl_put_u16(e, mp_type);
    ctl_put_u16(e, flags);
    ctl_put_u32(e, n_entries);
}

static bool
put_show_bridge(struct ctl_enc *e, const struct ctl_show_bridge *b,
                size_t first, size_t n)
{
    ctl_put_string(e, b->name);
    ctl_put_u32(e, n);
    for (size_t i = first; i < first + n; i++) {
        put_port(e, &b->ports[i]);
    }
    return true;
}

static bool
put_mp_reply(struct ctl_enc *e, const struct ctl_mp_reply *r)
{
    if (r->mp_type == CTL_MP_TRACE) {
        put_mp_reply_header(e, r->mp_type, r->flags, r->n);
        ctl_put_bytes(e, r->text, r->n);
        return true;
    }
    if (!mp_type_is_valid(r->mp_type) || r->n > UINT32_MAX) {
        return false;
    }
    put_mp_reply_header(e, r->mp_type, r->flags, r->n);
    for (size_t i = 0; i < r->n; i++) {
        bool ok = (r->mp_type == CTL_MP_SHOW
                   ? put_show_bridge(e, &r->show[i], 0, r->show[i].n_ports)
                   : put_mp_entry(e, r, i));
        if (!ok) {
            return false;
        }
    }
    return true;
}

static bool
put_body(struct ctl_enc *e, const struct ctl_msg *msg)
{
    switch (msg->type) {
    case CTL_HELLO:
        ctl_put_u32(e, msg->hello.version_bitmap);
        return true;
    case CTL_ERROR:
        ctl_put_u16(e, msg->error.type);
        ctl_put_u16(e, msg->error.code);
        if (msg->error.text) {
            ctl_put_bytes(e, msg->error.text, strlen(msg->error.text));
        }
        return true;
    case CTL_ECHO_REQUEST:
    case CTL_ECHO_REPLY:
        ctl_put_bytes(e, msg->echo.data, msg->echo.size);
        return true;
    case CTL_BARRIER_REQUEST:
    case CTL_BARRIER_REPLY:
    case CTL_OK:
    case CTL_STATUS_REQUEST:
    case CTL_RESTART:
        return true;
    case CTL_SET_CONN_FLAGS:
        ctl_put_u32(e, msg->conn_flags);
        return true;
    case CTL_GROUP_MOD:
        ctl_put_string(e, msg->group_mod.bridge);
        return msg->group_mod.gm && ctl_put_group_mod(e, msg->group_mod.gm);
    case CTL_PACKET_IN: {
        const struct ctl_packet_in *pi = &msg->packet_in;
        ctl_put_string(e, pi->bridge);
        ctl_put_u8(e, pi->reason);
        ctl_put_u8(e, pi->table_id);
        ctl_put_u16(e, 0);
        ctl_put_u32(e, pi->in_port);
        ctl_put_u64(e, pi->cookie);
        ctl_put_u32(e, pi->total_len);
        ctl_put_bytes(e, pi->packet, pi->packet_len);
        return true;
    }
    case CTL_MONITOR:
        ctl_put_u32(e, msg->monitor.flags);
        ctl_put_string(e, msg->monitor.bridge);
        return true;
    case CTL_ADD_BR:
    case CTL_DEL_BR:
        ctl_put_u32(e, msg->br.flags);
        ctl_put_string(e, msg->br.name);
        return true;
    case CTL_ADD_PORT:
    case CTL_MOD_PORT:
        ctl_put_u32(e, msg->port.flags);
        ctl_put_u32(e, msg->port.ofport);
        ctl_put_string(e, msg->port.bridge);
        ctl_put_string(e, msg->port.name);
        ctl_put_string(e, msg->port.type);
        ctl_put_kv_list(e, &msg->port.options);
        return true;
    case CTL_DEL_PORT:
        ctl_put_u32(e, msg->port.flags);
        ctl_put_string(e, msg->port.bridge);
        ctl_put_string(e, msg->port.name);
        return true;
    case CTL_FLOW_MOD:
        ctl_put_string(e, msg->flow_mod.bridge);
        return msg->flow_mod.fm && ctl_put_flow_mod(e, msg->flow_mod.fm);
    case CTL_BUNDLE_OPEN:
        ctl_put_u32(e, msg->bundle.id);
        ctl_put_u32(e, msg->bundle.flags);
        ctl_put_string(e, msg->bundle.bridge);
        return true;
    case CTL_BUNDLE_ADD:
        ctl_put_u32(e, msg->bundle.id);
        return msg->bundle.fm && ctl_put_flow_mod(e, msg->bundle.fm);
    case CTL_BUNDLE_COMMIT:
    case CTL_BUNDLE_DISCARD:
        ctl_put_u32(e, msg->bundle.id);
        return true;
    case CTL_PACKET_OUT: {
        const struct ctl_packet_out *po = &msg->packet_out;
        if (po->ofpacts_len > UINT16_MAX) {
            return false;
        }
        ctl_put_string(e, po->bridge);
        ctl_put_u32(e, po->in_port);
        if (!ctl_put_ofpacts_block(e, po->ofpacts, po->ofpacts_len)) {
            return false;
        }
        ctl_put_bytes(e, po->packet, po->packet_len);
        return true;
    }
    case CTL_LOG_LEVEL_REQUEST:
        ctl_put_string(e, msg->log_level.spec);
        return true;
    case CTL_LOG_LEVEL_REPLY:
    case CTL_STATUS_REPLY:
        ctl_put_kv_list(e, &msg->kv);
        return true;
    case CTL_MULTIPART_REQUEST:
        return put_mp_request(e, &msg->mp_request);
    case CTL_MULTIPART_REPLY:
        return put_mp_reply(e, &msg->mp_reply);
    case CTL_CAPTURE_START:
    case CTL_CAPTURE_PACKET:
    case CTL_CAPTURE_STOP:
    case CTL_CAPTURE_END:
        return ctl_capture_put_body(e, msg);
    default:
        return ctl_ct_put_body(e, msg);
    }
}

static void
put_header(struct ctl_enc *e, const struct ctl_msg *msg, uint8_t type)
{
    ctl_put_u8(e, msg->version ? msg->version : CTL_VERSION);
    ctl_put_u8(e, type);
    ctl_put_u16(e, 0);
    ctl_put_u32(e, msg->xid);
}

/* Fixes the length of the frame that starts at 'start'; returns 0 or
 * -TS_ERR_TOO_BIG (the frame is then removed). */
static int
finish_frame(struct ds *out, size_t start)
{
    size_t len = out->length - start;
    if (len > CTL_MAX_MSG_LEN) {
        ds_truncate(out, start);
        return -TS_ERR_TOO_BIG;
    }
    uint8_t *p = (uint8_t *) out->string + start;
    p[2] = len >> 8;
    p[3] = len;
    return 0;
}

int
ctl_msg_encode(const struct ctl_msg *msg, struct ds *out)
{
    struct ctl_enc e = { .out = out };
    size_t start = out->length;

    put_header(&e, msg, msg->type);
    if (!put_body(&e, msg)) {
        ds_truncate(out, start);
        return -EINVAL;
    }
    return finish_frame(out, start);
}

/* Encodes the entries [*ip, n) of 'r' into one frame, as many as fit;
 * updates '*ip' (and '*portp' for SHOW continuations).  'last' says
 * whether this reply ends the sequence (no MORE flag if all entries fit).
 * Returns 0, -TS_ERR_TOO_BIG or -EINVAL. */
static int
put_mp_frame(struct ds *out, const struct ctl_msg *msg, bool last,
             size_t *ip, size_t *portp)
{
    const struct ctl_mp_reply *r = &msg->mp_reply;
    struct ctl_enc e = { .out = out };
    size_t start = out->length;
    size_t limit = start + CTL_MAX_MSG_LEN;
    uint32_t count = 0;
    struct ds entry = DS_EMPTY_INITIALIZER;
    struct ctl_enc ee = { .out = &entry };
    int err = 0;

    put_header(&e, msg, CTL_MULTIPART_REPLY);
    put_mp_reply_header(&e, r->mp_type, 0, 0);

    if (r->mp_type == CTL_MP_TRACE) {
        size_t chunk = MIN(r->n - *ip, limit - out->length);
        ctl_put_bytes(&e, r->text + *ip, chunk);
        *ip += chunk;
        count = chunk;
    }
    while (r->mp_type != CTL_MP_TRACE && *ip < r->n) {
        ds_clear(&entry);
        if (r->mp_type == CTL_MP_SHOW) {
            /* As many ports of bridge *ip as fit. */
            const struct ctl_show_bridge *b = &r->show[*ip];
            size_t n = 0;
            size_t room = limit - out->length;
            ctl_put_string(&ee, b->name);
            ctl_put_u32(&ee, 0);
            size_t fixed = entry.length;
            while (*portp + n < b->n_ports) {
                size_t before = entry.length;
                put_port(&ee, &b->ports[*portp + n]);
                if (entry.length > room) {
                    ds_truncate(&entry, before);
                    break;
                }
                n++;
            }
            if (entry.length > room
                || (!n && *portp < b->n_ports)) {
                if (!count) {
                    err = -TS_ERR_TOO_BIG;
                }
                break;
            }
            uint8_t *cnt = (uint8_t *) entry.string + fixed - 4;
            cnt[0] = n >> 24;
            cnt[1] = n >> 16;
            cnt[2] = n >> 8;
            cnt[3] = n;
            ds_put_buffer(out, entry.string, entry.length);
            count++;
            *portp += n;
            if (*portp < b->n_ports) {
                break;          /* continues in the next frame */
            }
            *portp = 0;
            (*ip)++;
            continue;
        }
        if (!put_mp_entry(&ee, r, *ip)) {
            err = -EINVAL;
            break;
        }
        if (out->length + entry.length > limit) {
            if (!count) {
                err = -TS_ERR_TOO_BIG;
            }
            break;
        }
        ds_put_buffer(out, entry.string, entry.length);
        count++;
        (*ip)++;
    }
    ds_destroy(&entry);
    if (err) {
        ds_truncate(out, start);
        return err;
    }

    /* Patch flags and count. */
    bool done = *ip >= r->n;
    uint16_t flags = (r->flags & ~CTL_MPF_MORE)
                     | (done && last ? 0 : CTL_MPF_MORE);
    uint8_t *p = (uint8_t *) out->string + start + CTL_HEADER_LEN;
    p[2] = flags >> 8;
    p[3] = flags;
    p[4] = count >> 24;
    p[5] = count >> 16;
    p[6] = count >> 8;
    p[7] = count;
    return finish_frame(out, start);
}

int
ctl_msg_encode_multipart(const struct ctl_msg *msg, bool last,
                         struct ds *out)
{
    size_t start = out->length;
    size_t i = 0, port = 0;

    if (msg->type != CTL_MULTIPART_REPLY
        || !mp_type_is_valid(msg->mp_reply.mp_type)) {
        return -EINVAL;
    }
    do {
        int err = put_mp_frame(out, msg, last, &i, &port);
        if (err) {
            ds_truncate(out, start);
            return err;
        }
    } while (i < msg->mp_reply.n);
    return 0;
}

/* ---- Decoding ----------------------------------------------------------- */

bool
ctl_get_kv_list(struct ctl_dec *d, const char *what, struct smap *smap)
{
    uint16_t n;

    if (!ctl_get_u16(d, what, &n)) {
        return false;
    }
    for (unsigned int i = 0; i < n; i++) {
        char *key, *value;
        if (!ctl_get_string(d, what, &key)) {
            return false;
        }
        if (!ctl_get_string(d, what, &value)) {
            free(key);
            return false;
        }
        if (smap_get(smap, key)) {
            ctl_dec_fail(d, "duplicate key '%s' in %s", key, what);
        } else {
            smap_replace(smap, key, value);
        }
        free(key);
        free(value);
        if (d->error) {
            return false;
        }
    }
    return true;
}

static bool
get_port(struct ctl_dec *d, struct ctl_port *p)
{
    smap_init(&p->options);
    return (ctl_get_u32(d, "port number", &p->ofport)
            && ctl_get_string(d, "port name", &p->name)
            && ctl_get_string(d, "port type", &p->type)
            && ctl_get_kv_list(d, "port options", &p->options));
}

static bool
get_port_stats(struct ctl_dec *d, struct ctl_port_stats *ps)
{
    uint32_t pad;
    const char *w = "port stats";
    return (ctl_get_u32(d, w, &ps->ofport)
            && ctl_get_u32(d, w, &ps->duration_sec)
            && ctl_get_u32(d, w, &ps->duration_nsec)
            && ctl_get_u32(d, w, &pad)
            && ctl_get_u64(d, w, &ps->rx_packets)
            && ctl_get_u64(d, w, &ps->rx_bytes)
            && ctl_get_u64(d, w, &ps->rx_dropped)
            && ctl_get_u64(d, w, &ps->rx_errors)
            && ctl_get_u64(d, w, &ps->rx_frame_err)
            && ctl_get_u64(d, w, &ps->rx_over_err)
            && ctl_get_u64(d, w, &ps->rx_crc_err)
            && ctl_get_u64(d, w, &ps->tx_packets)
            && ctl_get_u64(d, w, &ps->tx_bytes)
            && ctl_get_u64(d, w, &ps->tx_dropped)
            && ctl_get_u64(d, w, &ps->tx_errors)
            && ctl_get_u64(d, w, &ps->collisions));
}

static bool
get_dp_flow(struct ctl_dec *d, struct ctl_dp_flow *f)
{
    const char *w = "datapath flow";
    uint64_t used;
    bool ok = (ctl_get_u64(d, w, &f->n_packets)
               && ctl_get_u64(d, w, &f->n_bytes)
               && ctl_get_u64(d, w, &used)
               && ctl_get_u16(d, w, &f->tcp_flags)
               && ctl_get_string(d, "datapath flow match", &f->match)
               && ctl_get_string(d, "datapath flow actions", &f->actions));
    f->used_msec = (int64_t) used;
    return ok;
}

static bool
get_show_bridge(struct ctl_dec *d, struct ctl_show_bridge *b)
{
    uint32_t n;

    if (!ctl_get_string(d, "bridge name", &b->name)
        || !ctl_get_u32(d, "port count", &n)) {
        return false;
    }
    /* Each port needs at least 10 bytes: bound the allocation by what
     * the frame can hold before trusting 'n'. */
    if (n > ctl_dec_left(d) / 10) {
        return ctl_dec_fail(d, "port count %"PRIu32" exceeds the message",
                            n);
    }
    b->ports = xcalloc(n ? n : 1, sizeof *b->ports);
    for (uint32_t i = 0; i < n; i++) {
        b->n_ports++;
        if (!get_port(d, &b->ports[i])) {
            return false;
        }
    }
    return true;
}

/* Minimum encoded size of one entry, to bound allocations. */
static size_t
mp_entry_min_size(uint16_t mp_type)
{
    switch (mp_type) {
    case CTL_MP_LIST_BR: return 2;
    case CTL_MP_LIST_PORTS: return 10;
    case CTL_MP_SHOW: return 6;
    case CTL_MP_DUMP_FLOWS: return 8;
    case CTL_MP_DUMP_PORTS: return 112;
    case CTL_MP_AGGREGATE: return 24;
    case CTL_MP_DUMP_GROUPS: return 56;
    case CTL_MP_DUMP_DP_FLOWS: return 30;
    default: return ctl_ct_mp_entry_min_size(mp_type);
    }
}

static bool
get_mp_reply(struct ctl_dec *d, struct ctl_mp_reply *r)
{
    uint32_t n;

    if (!ctl_get_u16(d, "multipart type", &r->mp_type)
        || !ctl_get_u16(d, "multipart flags", &r->flags)
        || !ctl_get_u32(d, "entry count", &n)) {
        return false;
    }
    if (!mp_type_is_valid(r->mp_type)) {
        uint16_t mp_type = r->mp_type;
        d->ofs -= 8;
        r->mp_type = 0;
        return ctl_dec_fail(d, "unknown multipart type %u", mp_type);
    }
    if (r->flags & ~CTL_MPF_MORE) {
        return ctl_dec_fail(d, "unknown multipart flags 0x%x", r->flags);
    }
    if (r->mp_type == CTL_MP_TRACE) {
        const uint8_t *p;
        if (n != ctl_dec_left(d)) {
            return ctl_dec_fail(d, "trace text length %"PRIu32" does not "
                                "match the %zu bytes left", n,
                                ctl_dec_left(d));
        }
        if (!ctl_get_ref(d, "trace text", n, &p)) {
            return false;
        }
        if (memchr(p, '\0', n)) {
            return ctl_dec_fail(d, "NUL byte inside trace text");
        }
        r->text = ctl_memdup0(p, n);
        r->n = n;
        return true;
    }
    if (n > ctl_dec_left(d) / mp_entry_min_size(r->mp_type)) {
        return ctl_dec_fail(d, "entry count %"PRIu32" exceeds the message",
                            n);
    }
    for (uint32_t i = 0; i < n; i++) {
        bool ok;
        switch (r->mp_type) {
        case CTL_MP_LIST_BR: {
            char *name;
            ok = ctl_get_string(d, "bridge name", &name);
            if (ok) {
                char **slot = mp_reply_grow(r, (void **) &r->bridges,
                                            sizeof *slot);
                *slot = name;
            }
            break;
        }
        case CTL_MP_LIST_PORTS:
            ok = get_port(d, mp_reply_grow(r, (void **) &r->ports,
                                           sizeof *r->ports));
            break;
        case CTL_MP_SHOW:
            ok = get_show_bridge(d, mp_reply_grow(r, (void **) &r->show,
                                                  sizeof *r->show));
            break;
        case CTL_MP_DUMP_FLOWS: {
            struct ofp_flow_stats *fs = NULL;
            ok = ctl_get_flow_stats(d, &fs);
            if (ok) {
                struct ofp_flow_stats **slot
                    = mp_reply_grow(r, (void **) &r->flows, sizeof *slot);
                *slot = fs;
            }
            break;
        }
        case CTL_MP_DUMP_PORTS:
            ok = get_port_stats(d, mp_reply_grow(r, (void **) &r->port_stats,
                                                 sizeof *r->port_stats));
            break;
        case CTL_MP_AGGREGATE: {
            struct ctl_aggregate *a = mp_reply_grow(
                r, (void **) &r->aggregates, sizeof *a);
            uint32_t pad;
            ok = (ctl_get_u64(d, "aggregate packet_count", &a->packet_count)
                  && ctl_get_u64(d, "aggregate byte_count", &a->byte_count)
                  && ctl_get_u32(d, "aggregate flow_count", &a->flow_count)
                  && ctl_get_u32(d, "aggregate padding", &pad));
            break;
        }
        case CTL_MP_DUMP_GROUPS:
            ok = ctl_get_group_entry(d, mp_reply_grow(r, (void **) &r->groups,
                                                      sizeof *r->groups));
            break;
        case CTL_MP_DUMP_DP_FLOWS:
            ok = get_dp_flow(d, mp_reply_grow(r, (void **) &r->dp_flows,
                                              sizeof *r->dp_flows));
            break;
        default:
            ok = ctl_ct_get_mp_entry(d, r);
            break;
        }
        if (!ok) {
            return false;
        }
    }
    return true;
}

static bool
get_mp_request(struct ctl_dec *d, struct ctl_mp_request *r)
{
    uint32_t pad;
    uint8_t kind;

    if (!ctl_get_u16(d, "multipart type", &r->mp_type)
        || !ctl_get_u16(d, "multipart flags", &r->flags)
        || !ctl_get_u32(d, "multipart padding", &pad)) {
        return false;
    }
    if (r->flags || pad) {
        return ctl_dec_fail(d, "nonzero multipart request flags or pad");
    }
    switch (r->mp_type) {
    case CTL_MP_LIST_BR:
    case CTL_MP_SHOW:
        return true;
    case CTL_MP_LIST_PORTS:
    case CTL_MP_DUMP_DP_FLOWS:
        return ctl_get_string(d, "bridge name", &r->bridge);
    case CTL_MP_DUMP_PORTS:
        return (ctl_get_string(d, "bridge name", &r->bridge)
                && ctl_get_u32(d, "port number", &r->port));
    case CTL_MP_DUMP_FLOWS:
    case CTL_MP_AGGREGATE:
        return (ctl_get_string(d, "bridge name", &r->bridge)
                && ctl_get_u32(d, "dump flags", &r->dump_flows.flags)
                && ctl_get_flow_mod(d, &r->dump_flows.filter));
    case CTL_MP_DUMP_GROUPS:
        return (ctl_get_string(d, "bridge name", &r->bridge)
                && ctl_get_u32(d, "group id", &r->group_id));
    case CTL_MP_TRACE:
        if (!ctl_get_string(d, "bridge name", &r->bridge)
            || !ctl_get_u8(d, "trace kind", &kind)) {
            return false;
        }
        if (kind == 0) {
            return ctl_get_string(d, "trace flow", &r->trace.flow);
        } else if (kind == 1) {
            const uint8_t *p;
            if (!ctl_get_u32(d, "trace in_port", &r->trace.in_port)) {
                return false;
            }
            r->trace.packet_len = ctl_dec_left(d);
            if (!r->trace.packet_len) {
                return ctl_dec_fail(d, "empty trace packet");
            }
            ctl_get_ref(d, "trace packet", r->trace.packet_len, &p);
            r->trace.packet = xmemdup(p, r->trace.packet_len);
            return true;
        }
        d->ofs--;
        return ctl_dec_fail(d, "unknown trace kind %u", kind);
    case CTL_MP_CT_DUMP:
    case CTL_MP_CT_STATS:
    case CTL_MP_CT_LIMITS:
    case CTL_MP_CT_TP:
    case CTL_MP_CT_DUMP_EXP:
        return ctl_ct_get_mp_request(d, r);
    default: {
        uint16_t mp_type = r->mp_type;
        d->ofs -= 8;
        r->mp_type = 0;
        return ctl_dec_fail(d, "unknown multipart type %u", mp_type);
    }
    }
}

static bool
get_rest(struct ctl_dec *d, const char *what, void **datap, size_t *sizep)
{
    const uint8_t *p;
    size_t n = ctl_dec_left(d);

    ctl_get_ref(d, what, n, &p);
    *datap = n ? xmemdup(p, n) : NULL;
    *sizep = n;
    return true;
}

static bool
get_body(struct ctl_dec *d, struct ctl_msg *msg)
{
    switch (msg->type) {
    case CTL_HELLO:
        /* Later versions may append hello elements: ignore the rest. */
        if (ctl_dec_left(d) >= 4) {
            ctl_get_u32(d, "version bitmap", &msg->hello.version_bitmap);
            d->ofs = d->end;
        }
        return true;
    case CTL_ERROR: {
        void *text;
        size_t len;
        if (!ctl_get_u16(d, "error type", &msg->error.type)
            || !ctl_get_u16(d, "error code", &msg->error.code)) {
            return false;
        }
        get_rest(d, "error text", &text, &len);
        if (text && memchr(text, '\0', len)) {
            free(text);
            return ctl_dec_fail(d, "NUL byte inside error text");
        }
        msg->error.text = ctl_memdup0(text ? text : "", len);
        free(text);
        return true;
    }
    case CTL_ECHO_REQUEST:
    case CTL_ECHO_REPLY:
        return get_rest(d, "echo payload", &msg->echo.data, &msg->echo.size);
    case CTL_BARRIER_REQUEST:
    case CTL_BARRIER_REPLY:
    case CTL_OK:
    case CTL_STATUS_REQUEST:
    case CTL_RESTART:
        return true;
    case CTL_SET_CONN_FLAGS:
        if (!ctl_get_u32(d, "connection flags", &msg->conn_flags)) {
            return false;
        }
        if (msg->conn_flags & ~(uint32_t) CTL_CONN_STOP_ON_ERROR) {
            return ctl_dec_fail(d, "unknown connection flags 0x%"PRIx32,
                                msg->conn_flags);
        }
        return true;
    case CTL_GROUP_MOD:
        return (ctl_get_string(d, "bridge name", &msg->group_mod.bridge)
                && ctl_get_group_mod(d, &msg->group_mod.gm));
    case CTL_PACKET_IN: {
        struct ctl_packet_in *pi = &msg->packet_in;
        uint16_t pad;
        return (ctl_get_string(d, "bridge name", &pi->bridge)
                && ctl_get_u8(d, "reason", &pi->reason)
                && ctl_get_u8(d, "table id", &pi->table_id)
                && ctl_get_u16(d, "padding", &pad)
                && ctl_get_u32(d, "in_port", &pi->in_port)
                && ctl_get_u64(d, "cookie", &pi->cookie)
                && ctl_get_u32(d, "total length", &pi->total_len)
                && get_rest(d, "packet", &pi->packet, &pi->packet_len));
    }
    case CTL_MONITOR:
        if (!ctl_get_u32(d, "monitor flags", &msg->monitor.flags)
            || !ctl_get_string(d, "bridge name", &msg->monitor.bridge)) {
            return false;
        }
        if (msg->monitor.flags & ~(uint32_t) CTL_MON_PACKET_IN) {
            return ctl_dec_fail(d, "unknown monitor flags 0x%"PRIx32,
                                msg->monitor.flags);
        }
        return true;
    case CTL_ADD_BR:
    case CTL_DEL_BR:
        return (ctl_get_u32(d, "flags", &msg->br.flags)
                && ctl_get_string(d, "bridge name", &msg->br.name));
    case CTL_ADD_PORT:
    case CTL_MOD_PORT:
        return (ctl_get_u32(d, "flags", &msg->port.flags)
                && ctl_get_u32(d, "port number", &msg->port.ofport)
                && ctl_get_string(d, "bridge name", &msg->port.bridge)
                && ctl_get_string(d, "port name", &msg->port.name)
                && ctl_get_string(d, "port type", &msg->port.type)
                && ctl_get_kv_list(d, "port options", &msg->port.options));
    case CTL_DEL_PORT:
        return (ctl_get_u32(d, "flags", &msg->port.flags)
                && ctl_get_string(d, "bridge name", &msg->port.bridge)
                && ctl_get_string(d, "port name", &msg->port.name));
    case CTL_FLOW_MOD:
        return (ctl_get_string(d, "bridge name", &msg->flow_mod.bridge)
                && ctl_get_flow_mod(d, &msg->flow_mod.fm));
    case CTL_BUNDLE_OPEN:
        return (ctl_get_u32(d, "bundle id", &msg->bundle.id)
                && ctl_get_u32(d, "bundle flags", &msg->bundle.flags)
                && ctl_get_string(d, "bridge name", &msg->bundle.bridge));
    case CTL_BUNDLE_ADD:
        return (ctl_get_u32(d, "bundle id", &msg->bundle.id)
                && ctl_get_flow_mod(d, &msg->bundle.fm));
    case CTL_BUNDLE_COMMIT:
    case CTL_BUNDLE_DISCARD:
        return ctl_get_u32(d, "bundle id", &msg->bundle.id);
    case CTL_PACKET_OUT: {
        struct ctl_packet_out *po = &msg->packet_out;
        return (ctl_get_string(d, "bridge name", &po->bridge)
                && ctl_get_u32(d, "in_port", &po->in_port)
                && ctl_get_ofpacts_block(d, &po->ofpacts, &po->ofpacts_len)
                && get_rest(d, "packet", &po->packet, &po->packet_len));
    }
    case CTL_LOG_LEVEL_REQUEST:
        return ctl_get_string(d, "log level spec", &msg->log_level.spec);
    case CTL_LOG_LEVEL_REPLY:
    case CTL_STATUS_REPLY:
        return ctl_get_kv_list(d, "key-value list", &msg->kv);
    case CTL_MULTIPART_REQUEST:
        return get_mp_request(d, &msg->mp_request);
    case CTL_MULTIPART_REPLY:
        return get_mp_reply(d, &msg->mp_reply);
    case CTL_CAPTURE_START:
    case CTL_CAPTURE_PACKET:
    case CTL_CAPTURE_STOP:
    case CTL_CAPTURE_END:
        return ctl_capture_get_body(d, msg);
    default:
        return ctl_ct_get_body(d, msg);
    }
}

int
ctl_peek_header(const void *data, size_t size, uint8_t *version,
                uint8_t *type, uint32_t *xid)
{
    const uint8_t *p = data;

    if (size < CTL_HEADER_LEN) {
        return -TS_ERR_PROTO;
    }
    *version = p[0];
    *type = p[1];
    *xid = ((uint32_t) p[4] << 24) | ((uint32_t) p[5] << 16)
           | ((uint32_t) p[6] << 8) | p[7];
    int len = (p[2] << 8) | p[3];
    return len < CTL_HEADER_LEN ? -TS_ERR_PROTO : len;
}

int
ctl_msg_decode(const void *data, size_t size, struct ctl_msg *msg,
               char **errp)
{
    uint8_t version, type;
    uint32_t xid;
    int err;

    memset(msg, 0, sizeof *msg);
    if (errp) {
        *errp = NULL;
    }
    if (size > CTL_MAX_MSG_LEN) {
        err = -TS_ERR_TOO_BIG;
        if (errp) {
            *errp = xasprintf("message of %zu bytes exceeds the maximum "
                              "of %d", size, CTL_MAX_MSG_LEN);
        }
        return err;
    }
    int len = ctl_peek_header(data, size, &version, &type, &xid);
    if (len < 0 || (size_t) len != size) {
        if (errp) {
            *errp = (size < CTL_HEADER_LEN
                     ? xasprintf("message of %zu bytes is shorter than "
                                 "its %d-byte header", size, CTL_HEADER_LEN)
                     : xasprintf("%s: header length %d does not match "
                                 "the %zu bytes received",
                                 ctl_type_name(type), len < 0 ? 0 : len,
                                 size));
        }
        return -TS_ERR_PROTO;
    }
    if (!ctl_type_is_valid(type)) {
        if (errp) {
            *errp = xasprintf("unknown message type %u", type);
        }
        return -TS_ERR_PROTO;
    }
    if (type != CTL_HELLO && version != CTL_VERSION) {
        if (errp) {
            *errp = xasprintf("%s: unsupported protocol version %u",
                              ctl_type_name(type), version);
        }
        return -TS_ERR_VERSION;
    }

    ctl_msg_init(msg, type, xid);
    msg->version = version;
    struct ctl_dec d = {
        .data = (const uint8_t *) data + CTL_HEADER_LEN,
        .end = size - CTL_HEADER_LEN,
        .base = CTL_HEADER_LEN,
        .msg_name = ctl_type_name(type),
    };
    if (msg->type == CTL_MULTIPART_REQUEST
        || msg->type == CTL_MULTIPART_REPLY) {
        d.msg_name = (msg->type == CTL_MULTIPART_REQUEST
                      ? "MULTIPART_REQUEST" : "MULTIPART_REPLY");
    }
    if (get_body(&d, msg) && dec_done(&d)) {
        return 0;
    }
    if (errp) {
        *errp = d.error ? d.error : xstrdup("malformed message");
    } else {
        free(d.error);
    }
    ctl_msg_release(msg);
    return -TS_ERR_PROTO;
}
