/* ctl-proto-ct: the conntrack messages of the control protocol (types
 * 80-90, multipart kinds 80-84): encoding, decoding, release and reply
 * builders.  ctl-proto.c dispatches here for those types; the wire format
 * is in docs/protocol.md ("Conntrack"). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ctl-proto.h"
#include "ctl-proto-private.h"
#include "util.h"

#define CT_LIMIT_LEN 24

/* ---- Release ------------------------------------------------------------ */

void
ctl_ct_tp_release(struct ctl_ct_tp *tp)
{
    if (!tp) {
        return;
    }
    for (size_t i = 0; i < tp->n_attrs; i++) {
        free(tp->attrs[i].name);
    }
    free(tp->attrs);
    tp->attrs = NULL;
    tp->n_attrs = 0;
}

void
ctl_ct_msg_release(struct ctl_msg *msg)
{
    switch (msg->type) {
    case CTL_CT_SET_LIMITS:
    case CTL_CT_DEL_LIMITS:
        free(msg->ct_limits.zones);
        break;
    case CTL_CT_SET_TP:
    case CTL_CT_DEL_TP:
        ctl_ct_tp_release(&msg->ct_tp);
        break;
    case CTL_CT_INFO_REPLY:
        smap_destroy(&msg->kv);
        break;
    case CTL_CT_EVENT:
        free(msg->ct_event.line);
        break;
    default:
        break;
    }
}

void
ctl_ct_mp_request_release(struct ctl_mp_request *r)
{
    if (r->mp_type == CTL_MP_CT_LIMITS) {
        free(r->ct_limits.zones);
    }
}

void
ctl_ct_mp_reply_release(struct ctl_mp_reply *r)
{
    switch (r->mp_type) {
    case CTL_MP_CT_DUMP:
    case CTL_MP_CT_DUMP_EXP:
        for (size_t i = 0; i < r->n; i++) {
            free(r->ct_conns[i].line);
        }
        free(r->ct_conns);
        break;
    case CTL_MP_CT_STATS:
        for (size_t i = 0; i < r->n; i++) {
            free(r->ct_counters[i].name);
        }
        free(r->ct_counters);
        break;
    case CTL_MP_CT_LIMITS:
        free(r->ct_limits);
        break;
    case CTL_MP_CT_TP:
        for (size_t i = 0; i < r->n; i++) {
            ctl_ct_tp_release(&r->ct_tps[i]);
        }
        free(r->ct_tps);
        break;
    default:
        break;
    }
}

/* ---- Builders ----------------------------------------------------------- */

static void *
grow(void **arrayp, size_t *np, size_t elem)
{
    char *array = xrealloc(*arrayp, (*np + 1) * elem);
    memset(array + *np * elem, 0, elem);
    *arrayp = array;
    return array + (*np)++ * elem;
}

void
ctl_mp_reply_add_ct_conn(struct ctl_msg *msg, const char *line)
{
    struct ctl_mp_reply *r = &msg->mp_reply;
    struct ctl_ct_conn *c = grow((void **) &r->ct_conns, &r->n, sizeof *c);

    c->line = xstrdup(line ? line : "");
}

void
ctl_mp_reply_add_ct_counter(struct ctl_msg *msg,
                            enum ctl_ct_counter_kind kind, const char *name,
                            uint64_t value)
{
    struct ctl_mp_reply *r = &msg->mp_reply;
    struct ctl_ct_counter *c = grow((void **) &r->ct_counters, &r->n,
                                    sizeof *c);
    c->kind = kind;
    c->name = xstrdup(name);
    c->value = value;
}

void
ctl_mp_reply_add_ct_limit(struct ctl_msg *msg,
                          const struct ctl_ct_zone_limit *zl)
{
    struct ctl_mp_reply *r = &msg->mp_reply;
    struct ctl_ct_zone_limit *l = grow((void **) &r->ct_limits, &r->n,
                                       sizeof *l);
    *l = *zl;
}

struct ctl_ct_tp *
ctl_mp_reply_add_ct_tp(struct ctl_msg *msg, uint32_t zone)
{
    struct ctl_mp_reply *r = &msg->mp_reply;
    struct ctl_ct_tp *tp = grow((void **) &r->ct_tps, &r->n, sizeof *tp);

    tp->zone = zone;
    return tp;
}

void
ctl_ct_tp_add_attr(struct ctl_ct_tp *tp, const char *name, uint32_t seconds)
{
    struct ctl_ct_tp_attr *a = grow((void **) &tp->attrs, &tp->n_attrs,
                                    sizeof *a);
    a->name = xstrdup(name);
    a->seconds = seconds;
}

void
ctl_ct_limits_add(struct ctl_ct_limits *l, uint32_t zone, uint32_t limit)
{
    struct ctl_ct_zone_limit *zl = grow((void **) &l->zones, &l->n,
                                        sizeof *zl);
    zl->zone = zone;
    zl->limit = limit;
}

/* ---- Encoding ----------------------------------------------------------- */

static void
put_tuple(struct ctl_enc *e, const struct ctl_ct_tuple *t)
{
    ctl_put_u8(e, t->family);
    ctl_put_u8(e, t->nw_proto);
    ctl_put_u8(e, t->icmp_type);
    ctl_put_u8(e, t->icmp_code);
    ctl_put_u16(e, t->src_port);
    ctl_put_u16(e, t->dst_port);
    ctl_put_bytes(e, t->src, 16);
    ctl_put_bytes(e, t->dst, 16);
}

static void
put_limit(struct ctl_enc *e, const struct ctl_ct_zone_limit *l)
{
    ctl_put_u32(e, l->zone);
    ctl_put_u32(e, l->limit);
    ctl_put_u32(e, l->count);
    ctl_put_u32(e, 0);
    ctl_put_u64(e, l->limit_drops);
}

static bool
put_limits(struct ctl_enc *e, const struct ctl_ct_limits *l)
{
    if (l->n > UINT16_MAX) {
        return false;
    }
    ctl_put_u32(e, l->n);
    for (size_t i = 0; i < l->n; i++) {
        put_limit(e, &l->zones[i]);
    }
    return true;
}

static bool
put_tp(struct ctl_enc *e, const struct ctl_ct_tp *tp)
{
    if (tp->n_attrs > UINT16_MAX) {
        return false;
    }
    ctl_put_u32(e, tp->zone);
    ctl_put_u16(e, tp->n_attrs);
    for (size_t i = 0; i < tp->n_attrs; i++) {
        ctl_put_string(e, tp->attrs[i].name);
        ctl_put_u32(e, tp->attrs[i].seconds);
    }
    return true;
}

bool
ctl_ct_put_body(struct ctl_enc *e, const struct ctl_msg *msg)
{
    switch (msg->type) {
    case CTL_CT_FLUSH: {
        const struct ctl_ct_flush *f = &msg->ct_flush;
        ctl_put_u32(e, f->zone);
        ctl_put_u32(e, f->mark);
        ctl_put_u32(e, f->mark_mask);
        ctl_put_u32(e, 0);
        ctl_put_u64(e, f->label[0]);
        ctl_put_u64(e, f->label[1]);
        ctl_put_u64(e, f->label_mask[0]);
        ctl_put_u64(e, f->label_mask[1]);
        put_tuple(e, &f->orig);
        put_tuple(e, &f->reply);
        return true;
    }
    case CTL_CT_SET_MAXCONNS:
    case CTL_CT_SET_TCP_SEQ_CHK:
        ctl_put_u32(e, msg->ct_value);
        return true;
    case CTL_CT_SET_LIMITS:
    case CTL_CT_DEL_LIMITS:
        return put_limits(e, &msg->ct_limits);
    case CTL_CT_SET_TP:
    case CTL_CT_DEL_TP:
        return put_tp(e, &msg->ct_tp);
    case CTL_CT_INFO_REQUEST:
        return true;
    case CTL_CT_INFO_REPLY:
        ctl_put_kv_list(e, &msg->kv);
        return true;
    case CTL_CT_MONITOR:
        ctl_put_u32(e, msg->ct_monitor.flags);
        ctl_put_u32(e, msg->ct_monitor.zone);
        return true;
    case CTL_CT_EVENT:
        ctl_put_u8(e, msg->ct_event.type);
        ctl_put_string(e, msg->ct_event.line);
        return true;
    default:
        return false;
    }
}

bool
ctl_ct_put_mp_request(struct ctl_enc *e, const struct ctl_mp_request *r)
{
    switch (r->mp_type) {
    case CTL_MP_CT_DUMP:
    case CTL_MP_CT_STATS:
    case CTL_MP_CT_TP:
    case CTL_MP_CT_DUMP_EXP:
        ctl_put_u32(e, r->ct_dump.flags);
        ctl_put_u32(e, r->ct_dump.zone);
        return true;
    case CTL_MP_CT_LIMITS:
        return put_limits(e, &r->ct_limits);
    default:
        return false;
    }
}

bool
ctl_ct_put_mp_entry(struct ctl_enc *e, const struct ctl_mp_reply *r,
                    size_t i)
{
    switch (r->mp_type) {
    case CTL_MP_CT_DUMP:
    case CTL_MP_CT_DUMP_EXP:
        ctl_put_string(e, r->ct_conns[i].line);
        return true;
    case CTL_MP_CT_STATS:
        ctl_put_u8(e, r->ct_counters[i].kind);
        ctl_put_u64(e, r->ct_counters[i].value);
        ctl_put_string(e, r->ct_counters[i].name);
        return true;
    case CTL_MP_CT_LIMITS:
        put_limit(e, &r->ct_limits[i]);
        return true;
    case CTL_MP_CT_TP:
        return put_tp(e, &r->ct_tps[i]);
    default:
        return false;
    }
}

/* ---- Decoding ----------------------------------------------------------- */

static bool
get_tuple(struct ctl_dec *d, const char *what, struct ctl_ct_tuple *t)
{
    if (!ctl_get_u8(d, what, &t->family)
        || !ctl_get_u8(d, what, &t->nw_proto)
        || !ctl_get_u8(d, what, &t->icmp_type)
        || !ctl_get_u8(d, what, &t->icmp_code)
        || !ctl_get_u16(d, what, &t->src_port)
        || !ctl_get_u16(d, what, &t->dst_port)
        || !ctl_get_bytes(d, what, t->src, 16)
        || !ctl_get_bytes(d, what, t->dst, 16)) {
        return false;
    }
    if (t->family != 0 && t->family != 4 && t->family != 6) {
        return ctl_dec_fail(d, "%s: unknown address family %u", what,
                            t->family);
    }
    return true;
}

static bool
check_zone(struct ctl_dec *d, uint32_t zone, uint32_t special)
{
    if (zone > UINT16_MAX && zone != special) {
        return ctl_dec_fail(d, "zone %"PRIu32" out of range (0 to 65535)",
                            zone);
    }
    return true;
}

static bool
get_limit(struct ctl_dec *d, struct ctl_ct_zone_limit *l)
{
    uint32_t pad;
    const char *w = "zone limit";

    return (ctl_get_u32(d, w, &l->zone)
            && ctl_get_u32(d, w, &l->limit)
            && ctl_get_u32(d, w, &l->count)
            && ctl_get_u32(d, w, &pad)
            && ctl_get_u64(d, w, &l->limit_drops)
            && check_zone(d, l->zone, CTL_CT_ZONE_DEFAULT));
}

static bool
get_limits(struct ctl_dec *d, struct ctl_ct_limits *l)
{
    uint32_t n;

    if (!ctl_get_u32(d, "zone limit count", &n)) {
        return false;
    }
    if (n > ctl_dec_left(d) / CT_LIMIT_LEN) {
        return ctl_dec_fail(d, "zone limit count %"PRIu32" exceeds the "
                            "message", n);
    }
    for (uint32_t i = 0; i < n; i++) {
        if (!get_limit(d, grow((void **) &l->zones, &l->n,
                               sizeof *l->zones))) {
            return false;
        }
    }
    return true;
}

static bool
get_tp(struct ctl_dec *d, struct ctl_ct_tp *tp)
{
    uint16_t n;

    if (!ctl_get_u32(d, "timeout policy zone", &tp->zone)
        || !check_zone(d, tp->zone, CTL_CT_ZONE_DEFAULT)
        || !ctl_get_u16(d, "timeout policy size", &n)) {
        return false;
    }
    if (n > ctl_dec_left(d) / 6) {
        return ctl_dec_fail(d, "timeout policy size %u exceeds the "
                            "message", n);
    }
    for (unsigned int i = 0; i < n; i++) {
        struct ctl_ct_tp_attr *a = grow((void **) &tp->attrs, &tp->n_attrs,
                                        sizeof *a);
        if (!ctl_get_string(d, "timeout policy key", &a->name)
            || !ctl_get_u32(d, "timeout policy value", &a->seconds)) {
            return false;
        }
        if (!a->name[0]) {
            return ctl_dec_fail(d, "empty timeout policy key");
        }
    }
    return true;
}

bool
ctl_ct_get_body(struct ctl_dec *d, struct ctl_msg *msg)
{
    switch (msg->type) {
    case CTL_CT_FLUSH: {
        struct ctl_ct_flush *f = &msg->ct_flush;
        const char *w = "flush filter";
        uint32_t pad;
        if (!ctl_get_u32(d, w, &f->zone)
            || !check_zone(d, f->zone, CTL_CT_NO_ZONE)
            || !ctl_get_u32(d, w, &f->mark)
            || !ctl_get_u32(d, w, &f->mark_mask)
            || !ctl_get_u32(d, w, &pad)
            || !ctl_get_u64(d, w, &f->label[0])
            || !ctl_get_u64(d, w, &f->label[1])
            || !ctl_get_u64(d, w, &f->label_mask[0])
            || !ctl_get_u64(d, w, &f->label_mask[1])
            || !get_tuple(d, "original tuple", &f->orig)
            || !get_tuple(d, "reply tuple", &f->reply)) {
            return false;
        }
        if (f->reply.family && !f->orig.family) {
            return ctl_dec_fail(d, "reply tuple without original tuple");
        }
        return true;
    }
    case CTL_CT_SET_MAXCONNS:
        return ctl_get_u32(d, "maximum connections", &msg->ct_value);
    case CTL_CT_SET_TCP_SEQ_CHK:
        if (!ctl_get_u32(d, "tcp sequence check", &msg->ct_value)) {
            return false;
        }
        if (msg->ct_value > 1) {
            return ctl_dec_fail(d, "tcp sequence check %"PRIu32" is not 0 "
                                "or 1", msg->ct_value);
        }
        return true;
    case CTL_CT_SET_LIMITS:
    case CTL_CT_DEL_LIMITS:
        return get_limits(d, &msg->ct_limits);
    case CTL_CT_SET_TP:
    case CTL_CT_DEL_TP:
        return get_tp(d, &msg->ct_tp);
    case CTL_CT_INFO_REQUEST:
        return true;
    case CTL_CT_INFO_REPLY:
        return ctl_get_kv_list(d, "conntrack information", &msg->kv);
    case CTL_CT_MONITOR:
        if (!ctl_get_u32(d, "monitor flags", &msg->ct_monitor.flags)
            || !ctl_get_u32(d, "monitor zone", &msg->ct_monitor.zone)
            || !check_zone(d, msg->ct_monitor.zone, CTL_CT_NO_ZONE)) {
            return false;
        }
        if (msg->ct_monitor.flags & ~(uint32_t) CTL_CTM_EVENTS) {
            return ctl_dec_fail(d, "unknown monitor flags 0x%"PRIx32,
                                msg->ct_monitor.flags);
        }
        return true;
    case CTL_CT_EVENT:
        if (!ctl_get_u8(d, "event type", &msg->ct_event.type)
            || !ctl_get_string(d, "event line", &msg->ct_event.line)) {
            return false;
        }
        if (msg->ct_event.type > CTL_CTE_DESTROY) {
            return ctl_dec_fail(d, "unknown event type %u",
                                msg->ct_event.type);
        }
        return true;
    default:
        return ctl_dec_fail(d, "unknown message type %u", msg->type);
    }
}

bool
ctl_ct_get_mp_request(struct ctl_dec *d, struct ctl_mp_request *r)
{
    switch (r->mp_type) {
    case CTL_MP_CT_DUMP:
    case CTL_MP_CT_STATS:
    case CTL_MP_CT_TP:
    case CTL_MP_CT_DUMP_EXP:
        if (!ctl_get_u32(d, "dump flags", &r->ct_dump.flags)
            || !ctl_get_u32(d, "dump zone", &r->ct_dump.zone)
            || !check_zone(d, r->ct_dump.zone,
                           (r->mp_type == CTL_MP_CT_TP
                            && r->ct_dump.zone == CTL_CT_ZONE_DEFAULT)
                           ? CTL_CT_ZONE_DEFAULT : CTL_CT_NO_ZONE)) {
            return false;
        }
        if (r->ct_dump.flags & ~(uint32_t) (CTL_CTD_VERBOSE
                                            | CTL_CTD_STATS)) {
            return ctl_dec_fail(d, "unknown dump flags 0x%"PRIx32,
                                r->ct_dump.flags);
        }
        return true;
    case CTL_MP_CT_LIMITS:
        return get_limits(d, &r->ct_limits);
    default:
        return ctl_dec_fail(d, "unknown multipart type %u", r->mp_type);
    }
}

size_t
ctl_ct_mp_entry_min_size(uint16_t mp_type)
{
    switch (mp_type) {
    case CTL_MP_CT_DUMP:
    case CTL_MP_CT_DUMP_EXP:
        return 2;
    case CTL_MP_CT_STATS:
        return 11;
    case CTL_MP_CT_LIMITS:
        return CT_LIMIT_LEN;
    case CTL_MP_CT_TP:
        return 6;
    default:
        return 1;
    }
}

bool
ctl_ct_get_mp_entry(struct ctl_dec *d, struct ctl_mp_reply *r)
{
    switch (r->mp_type) {
    case CTL_MP_CT_DUMP:
    case CTL_MP_CT_DUMP_EXP:
        return ctl_get_string(d, "connection line",
                              &((struct ctl_ct_conn *)
                                grow((void **) &r->ct_conns, &r->n,
                                     sizeof *r->ct_conns))->line);
    case CTL_MP_CT_STATS: {
        struct ctl_ct_counter *c = grow((void **) &r->ct_counters, &r->n,
                                        sizeof *c);
        if (!ctl_get_u8(d, "counter kind", &c->kind)
            || !ctl_get_u64(d, "counter value", &c->value)
            || !ctl_get_string(d, "counter name", &c->name)) {
            return false;
        }
        if (c->kind > CTL_CTC_COUNTER) {
            return ctl_dec_fail(d, "unknown counter kind %u", c->kind);
        }
        return true;
    }
    case CTL_MP_CT_LIMITS:
        return get_limit(d, grow((void **) &r->ct_limits, &r->n,
                                 sizeof *r->ct_limits));
    case CTL_MP_CT_TP:
        return get_tp(d, grow((void **) &r->ct_tps, &r->n,
                              sizeof *r->ct_tps));
    default:
        return false;
    }
}

/* Appends part's entries to total's; both of conntrack kind 'mp_type'. */
static void
move(void **dstp, size_t dst_n, void **srcp, size_t n, size_t elem)
{
    if (n) {
        *dstp = xrealloc(*dstp, (dst_n + n) * elem);
        memcpy((char *) *dstp + dst_n * elem, *srcp, n * elem);
    }
    free(*srcp);
    *srcp = NULL;
}

bool
ctl_ct_mp_reply_append(struct ctl_mp_reply *t, struct ctl_mp_reply *p)
{
    switch (t->mp_type) {
    case CTL_MP_CT_DUMP:
    case CTL_MP_CT_DUMP_EXP:
        move((void **) &t->ct_conns, t->n, (void **) &p->ct_conns, p->n,
             sizeof *t->ct_conns);
        return true;
    case CTL_MP_CT_STATS:
        move((void **) &t->ct_counters, t->n, (void **) &p->ct_counters,
             p->n, sizeof *t->ct_counters);
        return true;
    case CTL_MP_CT_LIMITS:
        move((void **) &t->ct_limits, t->n, (void **) &p->ct_limits, p->n,
             sizeof *t->ct_limits);
        return true;
    case CTL_MP_CT_TP:
        move((void **) &t->ct_tps, t->n, (void **) &p->ct_tps, p->n,
             sizeof *t->ct_tps);
        return true;
    default:
        return false;
    }
}
