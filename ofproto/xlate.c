/* xlate: see xlate.h. */
#include "xlate.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include "dynamic-string.h"
#include "errors.h"
#include "hash.h"
#include "hmap.h"
#include "mac-learning.h"
#include "match.h"
#include "meta-flow.h"
#include "ofp-group.h"
#include "ofp-port-map.h"
#include "ofpact.h"
#include "ofproto-private.h"

struct xlate_ctx {
    const struct xlate_in *xin;
    struct xlate_out *xout;
    struct ofproto *ofproto;
    struct flow flow;           /* the packet as modified so far */
    struct flow base;           /* the key as the datapath will have it
                                 * after the actions emitted so far */
    struct flow_wildcards written;  /* bits written since the last commit */
    struct flow_wildcards *wc;
    struct dpa_buf *odp;
    int depth;                  /* nested table lookups */
    int n_resubmits;            /* table lookups so far */
    int clone_depth;            /* nested DPA_CLONEs being emitted */
    uint8_t table_id;           /* table of the rule being executed */
    uint64_t rule_cookie;       /* cookie of that rule */
    int error;
};

static void xlate_ofpacts(struct xlate_ctx *, const struct ofpact *,
                          size_t len);
static void xlate_commit(struct xlate_ctx *);

static void
trace_indent(const struct xlate_ctx *ctx, int extra)
{
    for (int i = 0; i < ctx->depth * 4 + extra; i++) {
        ds_put_char(ctx->xin->trace, ' ');
    }
}

/* Appends a trace line "<indent>FMT\n" if tracing. */
static void TS_PRINTF(3, 4)
trace_note(const struct xlate_ctx *ctx, int extra, const char *fmt, ...)
{
    va_list args;

    if (!ctx->xin->trace) {
        return;
    }
    trace_indent(ctx, extra);
    va_start(args, fmt);
    ds_put_format_valist(ctx->xin->trace, fmt, args);
    va_end(args);
    ds_put_char(ctx->xin->trace, '\n');
}

/* ---- Wildcards ---------------------------------------------------------- */

static void
wc_mask_field(struct flow_wildcards *wc, enum mf_field_id id)
{
    mf_mask_field(mf_from_id(id), wc);
}

/* Records a write of the bits 'tmp' (a mask): they become exact in the
 * megaflow (a write that happens to leave a bit unchanged emits nothing,
 * which is right only for packets with that same bit) and part of the
 * next commit's masks. */
static void
note_write(struct xlate_ctx *ctx, const struct flow_wildcards *tmp)
{
    flow_wildcards_or(ctx->wc, tmp);
    flow_wildcards_or(&ctx->written, tmp);
}

/* field = (field & ~mask) | (value & mask), recorded as a write. */
static void
write_field_masked(struct xlate_ctx *ctx, const struct mf_field *mf,
                   const union mf_value *value, const union mf_value *mask)
{
    struct flow_wildcards tmp;

    mf_set_flow_value_masked(mf, value, mask, &ctx->flow);
    flow_wildcards_init_catchall(&tmp);
    mf_set_mask(mf, mask, &tmp);
    note_write(ctx, &tmp);
}

static void
write_field(struct xlate_ctx *ctx, enum mf_field_id id,
            const union mf_value *value)
{
    const struct mf_field *mf = mf_from_id(id);
    union mf_value ones;

    mf_all_ones(mf, &ones);
    write_field_masked(ctx, mf, value, &ones);
}

/* ---- Commit: working flow -> datapath actions ------------------------- */

static int
count_vlans(const struct flow *f)
{
    int n = 0;

    while (n < FLOW_N_VLANS && f->vlans[n].tci & htons(VLAN_CFI)) {
        n++;
    }
    return n;
}

/* VLAN stack: pops the base's tags down to the part the working flow
 * shares with it (counted from the innermost tag), then pushes the
 * working flow's remaining tags, as OVS does.  The tags involved are made
 * exact: the pushed TCIs come from the flow. */
static void
commit_vlans(struct xlate_ctx *ctx)
{
    int nb = count_vlans(&ctx->base), nf = count_vlans(&ctx->flow);

    if (nb == nf && !memcmp(ctx->base.vlans, ctx->flow.vlans,
                            nb * sizeof ctx->flow.vlans[0])) {
        return;
    }
    for (int i = 0; i < FLOW_N_VLANS; i++) {
        ctx->wc->masks.vlans[i].tci = UINT16_MAX;
        ctx->wc->masks.vlans[i].tpid = UINT16_MAX;
    }
    while (nb > 0 && nf > 0
           && !memcmp(&ctx->base.vlans[nb - 1], &ctx->flow.vlans[nf - 1],
                      sizeof ctx->flow.vlans[0])) {
        nb--;
        nf--;
    }
    for (; nb > 0; nb--) {
        if (!dpa_put(ctx->odp, DPA_POP_VLAN, 0)) {
            ctx->error = -ENOSPC;
            return;
        }
    }
    for (; nf > 0; nf--) {
        const struct flow_vlan *v = &ctx->flow.vlans[nf - 1];
        struct dpa_push_vlan *pv = dpa_put(ctx->odp, DPA_PUSH_VLAN,
                                           sizeof *pv);

        if (!pv) {
            ctx->error = -ENOSPC;
            return;
        }
        pv->tpid = v->tpid == htons(ETH_TYPE_VLAN_8021AD)
                   ? v->tpid : htons(ETH_TYPE_VLAN_8021Q);
        pv->tci = v->tci | htons(VLAN_CFI);
    }
    /* Keep the working flow identical to what the datapath will hold. */
    for (int i = 0; i < count_vlans(&ctx->flow); i++) {
        if (ctx->flow.vlans[i].tpid != htons(ETH_TYPE_VLAN_8021AD)) {
            ctx->flow.vlans[i].tpid = htons(ETH_TYPE_VLAN_8021Q);
        }
    }
    memcpy(ctx->base.vlans, ctx->flow.vlans, sizeof ctx->base.vlans);
}

static void
put_set_masked(struct xlate_ctx *ctx, size_t ofs, size_t n)
{
    const uint8_t *f = (const uint8_t *) &ctx->flow;
    const uint8_t *w = (const uint8_t *) &ctx->written.masks;
    uint8_t *b = (uint8_t *) &ctx->base;
    struct dpa_set_masked *sm = dpa_put(ctx->odp, DPA_SET_MASKED,
                                        sizeof *sm + 2 * n);
    uint8_t *value, *mask;

    if (!sm) {
        ctx->error = -ENOSPC;
        return;
    }
    sm->ofs = ofs;
    sm->n = n;
    value = (uint8_t *) (sm + 1);
    mask = value + n;
    for (size_t i = 0; i < n; i++) {
        mask[i] = w[ofs + i];
        value[i] = f[ofs + i] & mask[i];
    }
    memcpy(b + ofs, f + ofs, n);
}

/* Emits DPA_SET_MASKED for the written bytes in [start, end), in runs of
 * written bytes (runs closer than 8 bytes share one action; the mask
 * leaves the bytes between untouched), skipping runs where the working
 * flow does not differ from the base.  The mask is the written bits, so
 * a field written whole is set whole ("set(ipv4(dst=10.0.0.9))"). */
static void
commit_range(struct xlate_ctx *ctx, size_t start, size_t end)
{
    const uint8_t *f = (const uint8_t *) &ctx->flow;
    const uint8_t *b = (const uint8_t *) &ctx->base;
    const uint8_t *w = (const uint8_t *) &ctx->written.masks;
    size_t i = start;

    while (i < end && !ctx->error) {
        size_t run_start, last;
        bool differs = false;

        while (i < end && !w[i]) {
            i++;
        }
        if (i == end) {
            return;
        }
        run_start = last = i;
        for (; i < end && i - last <= 8; i++) {
            if (w[i]) {
                last = i;
                differs |= f[i] != b[i];
            }
        }
        if (differs) {
            put_set_masked(ctx, run_start, last + 1 - run_start);
        }
        i = last + 1;
    }
}

/* Makes the datapath's packet agree with the working flow (before an
 * output, a packet-in, or leaving a clone).  Registers, metadata and
 * in_port never reach the datapath: they exist only during xlate. */
static void
xlate_commit(struct xlate_ctx *ctx)
{
    if (ctx->error) {
        return;
    }
    commit_vlans(ctx);
    commit_range(ctx, offsetof(struct flow, pkt_mark),
                 offsetof(struct flow, pkt_mark) + sizeof ctx->flow.pkt_mark);
    commit_range(ctx, offsetof(struct flow, dl_dst),
                 offsetof(struct flow, vlans));
    commit_range(ctx, offsetof(struct flow, ipv6_src),
                 offsetof(struct flow, pad3));
    flow_wildcards_init_catchall(&ctx->written);
}

static void
put_output(struct xlate_ctx *ctx, uint32_t port)
{
    xlate_commit(ctx);
    if (ctx->error) {
        return;
    }
    dpa_put_output(ctx->odp, port);
    if (ctx->odp->overflow) {
        ctx->error = -ENOSPC;
    }
}

/* Output to a port number given by an action (OUTPUT, LOCAL): OpenFlow
 * drops output to the input port unless IN_PORT is used. */
static void
xlate_output(struct xlate_ctx *ctx, uint32_t port)
{
    if (port == ctx->flow.in_port) {
        trace_note(ctx, 1, ">> skipping output to input port");
        return;
    }
    if (!ofproto_port_find(ctx->ofproto, port)) {
        trace_note(ctx, 1, ">> nonexistent output port %u", port);
        return;
    }
    put_output(ctx, port);
}

/* Every port but the input port, in port number order. */
static void
xlate_flood(struct xlate_ctx *ctx)
{
    const struct ofproto *p = ctx->ofproto;

    for (size_t i = 0; i < p->n_flood_ports && !ctx->error; i++) {
        if (p->flood_ports[i] != ctx->flow.in_port) {
            put_output(ctx, p->flood_ports[i]);
        }
    }
}

static bool
eth_addr_is_reserved(struct eth_addr a)
{
    /* 01:80:c2:00:00:00 to 01:80:c2:00:00:0f (IEEE 802.1D bridge group
     * addresses: STP, LACP, LLDP...), never forwarded by a bridge. */
    return a.ea[0] == 0x01 && a.ea[1] == 0x80 && a.ea[2] == 0xc2
           && a.ea[3] == 0 && a.ea[4] == 0 && (a.ea[5] & 0xf0) == 0;
}

static void
xlate_normal_learn(struct xlate_ctx *ctx, uint16_t vlan)
{
    struct xlate_out *xo = ctx->xout;
    const struct flow *flow = &ctx->flow;
    struct mac_learning *ml = ctx->ofproto->ml;
    uint32_t port;

    if (eth_addr_is_multicast(flow->dl_src) || eth_addr_is_zero(flow->dl_src)
        || !ofproto_port_find(ctx->ofproto, flow->in_port)) {
        return;
    }
    xo->has_learn = true;
    xo->learn_mac = flow->dl_src;
    xo->learn_vlan = vlan;
    xo->learn_port = flow->in_port;
    if (ctx->xin->may_learn) {
        uint32_t old = 0;
        enum mac_learn_result r = mac_learning_learn(ml, flow->dl_src, vlan,
                                                     flow->in_port, &old);
        if (r == MAC_LEARN_NEW || r == MAC_LEARN_MOVED) {
            xo->mac_changed = true;
            trace_note(ctx, 1, "-> learned that "ETH_ADDR_FMT" is on port "
                       "%u in VLAN %u", ETH_ADDR_ARGS(flow->dl_src),
                       flow->in_port, vlan);
        }
    } else if (!mac_learning_lookup(ml, flow->dl_src, vlan, &port)
               || port != flow->in_port) {
        xo->learn_stale = true;
    }
}

/* The NORMAL action: a MAC learning switch.  It reads dl_src (learning),
 * dl_dst and the outer VLAN (forwarding), so those are exact in the
 * megaflow; dl_src being exact is also what makes a station that moves
 * to another port miss the cache and be relearned. */
static void
xlate_normal(struct xlate_ctx *ctx)
{
    struct flow_wildcards *wc = ctx->wc;
    const struct flow *flow = &ctx->flow;
    uint16_t tci = ntohs(flow->vlans[0].tci);
    uint16_t vlan = tci & VLAN_CFI ? tci & VLAN_VID_MASK : 0;
    uint32_t port;

    memset(&wc->masks.dl_src, 0xff, sizeof wc->masks.dl_src);
    memset(&wc->masks.dl_dst, 0xff, sizeof wc->masks.dl_dst);
    wc->masks.vlans[0].tci |= htons(VLAN_VID_MASK | VLAN_CFI);

    if (eth_addr_is_reserved(flow->dl_dst)) {
        trace_note(ctx, 1, "-> frame to reserved multicast address, "
                   "dropping");
        return;
    }
    xlate_normal_learn(ctx, vlan);

    if (eth_addr_is_multicast(flow->dl_dst)) {
        trace_note(ctx, 1, "-> multicast or broadcast destination, "
                   "flooding");
        xlate_flood(ctx);
    } else if (mac_learning_lookup(ctx->ofproto->ml, flow->dl_dst, vlan,
                                   &port)) {
        if (port == flow->in_port) {
            trace_note(ctx, 1, "-> learned port is input port, dropping");
        } else if (!ofproto_port_find(ctx->ofproto, port)) {
            trace_note(ctx, 1, "-> learned port %u no longer exists, "
                       "flooding", port);
            xlate_flood(ctx);
        } else {
            trace_note(ctx, 1, "-> forwarding to learned port %u", port);
            put_output(ctx, port);
        }
    } else {
        trace_note(ctx, 1, "-> no learned MAC for destination, flooding");
        xlate_flood(ctx);
    }
}

static void
xlate_controller(struct xlate_ctx *ctx, uint16_t max_len, uint8_t reason)
{
    struct dpa_userspace *u;

    xlate_commit(ctx);
    if (ctx->error) {
        return;
    }
    u = dpa_put(ctx->odp, DPA_USERSPACE, sizeof *u);
    if (!u) {
        ctx->error = -ENOSPC;
        return;
    }
    u->reason = XLATE_USERSPACE_REASON(reason, ctx->table_id);
    u->max_len = max_len;
    u->cookie = ctx->rule_cookie;
}

static void
record_rule(struct xlate_ctx *ctx, struct rule *rule)
{
    struct xlate_out *xo = ctx->xout;

    if (xo->n_rules < XLATE_MAX_RULES) {
        xo->rules[xo->n_rules++] = rule;
    } else {
        xo->too_many_rules = true;
    }
}

static void
trace_rule(const struct xlate_ctx *ctx, uint8_t table_id,
           const struct rule *rule)
{
    struct ds *s = ctx->xin->trace;

    if (!s) {
        return;
    }
    trace_indent(ctx, 0);
    ds_put_format(s, "%2u. ", table_id);
    if (!rule) {
        ds_put_cstr(s, "No match.\n");
        trace_note(ctx, 4, "drop");
        return;
    }
    if (!match_is_catchall(&rule->cr.match)) {
        match_format(s, &rule->cr.match, OFP_DEFAULT_PRIORITY, NULL);
        ds_put_cstr(s, ", ");
    }
    ds_put_format(s, "priority %d", rule->cr.priority);
    if (rule->cookie) {
        ds_put_format(s, ", cookie %#"PRIx64, rule->cookie);
    }
    ds_put_char(s, '\n');
}

/* Looks 'table_id' up with the current flow and runs the winning rule's
 * actions (nothing on a miss: drop). */
static void
xlate_table(struct xlate_ctx *ctx, uint8_t table_id)
{
    const struct oftable *t = ofproto_table(ctx->ofproto, table_id);
    const struct cls_rule *cr = NULL;
    uint8_t saved_table = ctx->table_id;
    uint64_t saved_cookie = ctx->rule_cookie;
    struct rule *rule;

    if (ctx->depth >= XLATE_MAX_DEPTH) {
        trace_note(ctx, 0, ">> over max translation depth %d, dropping",
                   XLATE_MAX_DEPTH);
        ctx->error = -ELOOP;
        return;
    }
    if (++ctx->n_resubmits > XLATE_MAX_RESUBMITS) {
        trace_note(ctx, 0, ">> over %d resubmit actions, dropping",
                   XLATE_MAX_RESUBMITS);
        ctx->error = -ELOOP;
        return;
    }
    if (t) {
        cr = classifier_lookup(&t->cls, &ctx->flow, ctx->wc);
    }
    rule = cr ? CONTAINER_OF(cr, struct rule, cr) : NULL;
    trace_rule(ctx, table_id, rule);
    if (!rule) {
        return;
    }
    record_rule(ctx, rule);
    ctx->table_id = table_id;
    ctx->rule_cookie = rule->cookie;
    ctx->depth++;
    xlate_ofpacts(ctx, rule->ofpacts, rule->ofpacts_len);
    ctx->depth--;
    ctx->table_id = saved_table;
    ctx->rule_cookie = saved_cookie;
}

static void
xlate_resubmit(struct xlate_ctx *ctx, const struct ofpact_resubmit *r)
{
    uint32_t saved_in_port = ctx->flow.in_port;
    uint8_t table = r->table_id == 255 ? ctx->table_id : r->table_id;

    if (r->in_port != OFPP_IN_PORT) {
        ctx->flow.in_port = r->in_port;
    }
    xlate_table(ctx, table);
    ctx->flow.in_port = saved_in_port;
}

static void
trace_action(const struct xlate_ctx *ctx, const struct ofpact *a)
{
    struct ds *s = ctx->xin->trace;

    if (!s) {
        return;
    }
    trace_indent(ctx, 0);
    ofpacts_format(a, ROUND_UP(a->len, OFPACT_ALIGNTO), NULL, s);
    ds_put_char(s, '\n');
}

/* ---- Field writes ------------------------------------------------------- */

/* set_field and load: the field's prerequisites are read (exact), and the
 * write is skipped if the packet lacks the field (as OVS). */
static void
xlate_set_field(struct xlate_ctx *ctx, const struct ofpact_set_field *sf)
{
    mf_mask_prereqs(sf->field, ctx->wc);
    if (!mf_are_prereqs_ok(sf->field, &ctx->flow)) {
        trace_note(ctx, 1, ">> packet lacks field %s, skipping",
                   sf->field->name);
        return;
    }
    write_field_masked(ctx, sf->field, &sf->value, &sf->mask);
}

static void
xlate_move(struct xlate_ctx *ctx, const struct ofpact_move *m)
{
    union mf_subvalue sv;
    struct flow_wildcards tmp;

    mf_mask_prereqs(m->src.field, ctx->wc);
    mf_mask_prereqs(m->dst.field, ctx->wc);
    if (!mf_are_prereqs_ok(m->src.field, &ctx->flow)
        || !mf_are_prereqs_ok(m->dst.field, &ctx->flow)) {
        trace_note(ctx, 1, ">> packet lacks a field of move, skipping");
        return;
    }
    memset(&sv, 0, sizeof sv);
    mf_read_subfield(&m->src, &ctx->flow, &sv);
    mf_mask_subfield(&m->src, ctx->wc);
    mf_write_subfield(&m->dst, &sv, &ctx->flow);
    flow_wildcards_init_catchall(&tmp);
    mf_mask_subfield(&m->dst, &tmp);
    note_write(ctx, &tmp);
}

static bool
flow_is_ip(const struct flow *f)
{
    return f->dl_type == htons(ETH_TYPE_IP)
           || f->dl_type == htons(ETH_TYPE_IPV6);
}

static void
xlate_push_vlan(struct xlate_ctx *ctx, uint16_t tpid, uint16_t tci)
{
    struct flow *f = &ctx->flow;

    /* The tag that falls off the bottom of the key is a VLAN the key
     * cannot describe; OVS behaves the same with 2 VLAN headers. */
    f->vlans[1] = f->vlans[0];
    f->vlans[0].tpid = htons(tpid);
    f->vlans[0].tci = htons(tci | VLAN_CFI);
    ctx->wc->masks.vlans[0].tci |= htons(VLAN_CFI);
}

static void
xlate_pop_vlan(struct xlate_ctx *ctx)
{
    struct flow *f = &ctx->flow;

    ctx->wc->masks.vlans[0].tci |= htons(VLAN_CFI);
    if (!(f->vlans[0].tci & htons(VLAN_CFI))) {
        return;
    }
    f->vlans[0] = f->vlans[1];
    memset(&f->vlans[1], 0, sizeof f->vlans[1]);
}

/* mod_vlan_vid / set_vlan_vid (vid) and mod_vlan_pcp / set_vlan_pcp:
 * change the outer tag; the mod_ forms push a tag first if there is none
 * (VID 0, PCP 0), as OVS. */
static void
xlate_set_vlan(struct xlate_ctx *ctx, bool push_if_needed, uint16_t mask,
               uint16_t bits)
{
    struct flow *f = &ctx->flow;

    ctx->wc->masks.vlans[0].tci |= htons(VLAN_CFI);
    if (!(f->vlans[0].tci & htons(VLAN_CFI))) {
        if (!push_if_needed) {
            return;
        }
        xlate_push_vlan(ctx, ETH_TYPE_VLAN_8021Q, 0);
    }
    f->vlans[0].tci = (f->vlans[0].tci & ~htons(mask)) | htons(bits & mask);
    ctx->wc->masks.vlans[0].tci |= htons(mask);
}

/* mod_nw_src/dst: IPv4 only. */
static void
xlate_set_ipv4(struct xlate_ctx *ctx, bool src, uint32_t ip)
{
    wc_mask_field(ctx->wc, MFF_DL_TYPE);
    if (ctx->flow.dl_type != htons(ETH_TYPE_IP)) {
        return;
    }
    union mf_value v = { .be32 = ip };

    write_field(ctx, src ? MFF_NW_SRC : MFF_NW_DST, &v);
}

/* Bits 'mask' of the TOS byte become 'bits' (IPv4 and IPv6). */
static void
xlate_set_tos(struct xlate_ctx *ctx, enum mf_field_id id, uint8_t value)
{
    union mf_value v = { .u8 = value };

    wc_mask_field(ctx->wc, MFF_DL_TYPE);
    if (!flow_is_ip(&ctx->flow)) {
        return;
    }
    write_field(ctx, id, &v);
}

static void
xlate_set_ttl(struct xlate_ctx *ctx, uint8_t ttl)
{
    wc_mask_field(ctx->wc, MFF_DL_TYPE);
    if (!flow_is_ip(&ctx->flow)) {
        return;
    }
    union mf_value v = { .u8 = ttl };

    write_field(ctx, MFF_NW_TTL, &v);
}

/* mod_tp_src/dst: TCP, UDP and SCTP, not in later fragments. */
static void
xlate_set_l4_port(struct xlate_ctx *ctx, bool src, uint16_t port)
{
    struct flow *f = &ctx->flow;

    wc_mask_field(ctx->wc, MFF_DL_TYPE);
    if (!flow_is_ip(f)) {
        return;
    }
    ctx->wc->masks.nw_proto = UINT8_MAX;
    ctx->wc->masks.nw_frag |= FLOW_NW_FRAG_LATER;
    if ((f->nw_proto != IPPROTO_TCP && f->nw_proto != IPPROTO_UDP
         && f->nw_proto != IPPROTO_SCTP)
        || f->nw_frag & FLOW_NW_FRAG_LATER) {
        return;
    }
    union mf_value v = { .be16 = htons(port) };

    write_field(ctx, src ? MFF_TP_SRC : MFF_TP_DST, &v);
}

/* dec_ttl: returns false if the packet must go no further in this action
 * list (TTL 0 or 1).  OVS sends such packets to controllers with reason
 * invalid_ttl only if a controller asked for that reason, which none does
 * by default; we have no such setting, so the packet is just dropped. */
static bool
xlate_dec_ttl(struct xlate_ctx *ctx)
{
    struct flow *f = &ctx->flow;

    wc_mask_field(ctx->wc, MFF_DL_TYPE);
    if (!flow_is_ip(f)) {
        return true;
    }
    ctx->wc->masks.nw_ttl = UINT8_MAX;
    if (f->nw_ttl > 1) {
        union mf_value v = { .u8 = f->nw_ttl - 1 };

        write_field(ctx, MFF_NW_TTL, &v);
        return true;
    }
    trace_note(ctx, 1, ">> TTL %u: packet dropped (no controller asked "
               "for invalid_ttl)", f->nw_ttl);
    return false;
}

/* ---- Clones and groups -------------------------------------------------- */

/* True if the top level of the nested list changes the packet (so it
 * needs its own copy). */
static bool
dpa_list_modifies(const uint8_t *data, size_t size)
{
    const struct dp_action *a;

    DPA_FOR_EACH (a, data, size) {
        switch ((enum dp_action_type) a->type) {
        case DPA_OUTPUT:
        case DPA_USERSPACE:
        case DPA_CLONE:
            break;
        default:
            return true;
        }
    }
    return false;
}

struct xlate_clone_state {
    struct flow flow;
    struct flow base;
    struct flow_wildcards written;
    size_t ofs;
};

static bool
xlate_clone_start(struct xlate_ctx *ctx, struct xlate_clone_state *st)
{
    if (ctx->clone_depth >= XLATE_MAX_CLONE_NEST) {
        trace_note(ctx, 1, ">> clones nested deeper than %d, dropping",
                   XLATE_MAX_CLONE_NEST);
        ctx->error = -ELOOP;
        return false;
    }
    /* Changes made before the clone are shared by the clone and what
     * follows it: commit them once, outside. */
    xlate_commit(ctx);
    if (ctx->error) {
        return false;
    }
    st->flow = ctx->flow;
    st->base = ctx->base;
    st->written = ctx->written;
    st->ofs = dpa_start_nested(ctx->odp, DPA_CLONE);
    if (ctx->odp->overflow) {
        ctx->error = -ENOSPC;
        return false;
    }
    ctx->clone_depth++;
    return true;
}

/* Ends the clone and restores the working state.  A clone that changes
 * nothing is unwrapped (its outputs inlined); an empty one vanishes. */
static void
xlate_clone_end(struct xlate_ctx *ctx, struct xlate_clone_state *st)
{
    struct dpa_buf *odp = ctx->odp;
    size_t hdr = sizeof(struct dp_action);

    ctx->clone_depth--;
    ctx->flow = st->flow;
    ctx->base = st->base;
    ctx->written = st->written;
    if (ctx->error) {
        return;
    }
    dpa_end_nested(odp, st->ofs);
    if (odp->overflow) {
        ctx->error = -ENOSPC;
        return;
    }
    if (odp->size == st->ofs + hdr) {
        odp->size = st->ofs;
    } else if (!dpa_list_modifies(odp->data + st->ofs + hdr,
                                  odp->size - st->ofs - hdr)) {
        memmove(odp->data + st->ofs, odp->data + st->ofs + hdr,
                odp->size - st->ofs - hdr);
        odp->size -= hdr;
    }
}

static void
xlate_clone(struct xlate_ctx *ctx, const struct ofpact *a)
{
    struct xlate_clone_state st;
    const struct ofpact *nested;
    size_t len;

    nested = ofpact_nested(a, &len);
    if (xlate_clone_start(ctx, &st)) {
        ctx->depth++;
        xlate_ofpacts(ctx, nested, len);
        ctx->depth--;
        xlate_clone_end(ctx, &st);
    }
}

static void
record_group(struct xlate_ctx *ctx, struct group *g, size_t bucket)
{
    struct xlate_out *xo = ctx->xout;
    bool first = true;

    for (size_t i = 0; i < xo->n_groups; i++) {
        if (xo->groups[i].group == g) {
            first = false;
        }
    }
    if (xo->n_groups < XLATE_MAX_GROUPS) {
        xo->groups[xo->n_groups++] = (struct xlate_group_use) {
            .group = g, .bucket = bucket, .first = first,
        };
    } else {
        xo->too_many_rules = true;
    }
}

static void
xlate_bucket(struct xlate_ctx *ctx, struct group *g, size_t idx)
{
    const struct ofp_bucket *b = &g->desc.buckets[idx];
    struct xlate_clone_state st;

    record_group(ctx, g, idx);
    trace_note(ctx, 0, "bucket %"PRIu32, b->bucket_id);
    if (xlate_clone_start(ctx, &st)) {
        ctx->depth++;
        xlate_ofpacts(ctx, b->ofpacts, b->ofpacts_len);
        ctx->depth--;
        xlate_clone_end(ctx, &st);
    }
}

static bool
bucket_is_live(const struct xlate_ctx *ctx, const struct ofp_bucket *b)
{
    if (b->watch_port != OFPP_NONE
        && !ofproto_port_find(ctx->ofproto, b->watch_port)) {
        return false;
    }
    return b->watch_group == OFPG_ANY
           || ofproto_group_find(ctx->ofproto, b->watch_group) != NULL;
}

/* The symmetric L4 hash OVS's default select method uses: the same for
 * both directions of a connection.  The fields read become exact. */
static uint32_t
select_hash(struct xlate_ctx *ctx)
{
    const struct flow *f = &ctx->flow;
    struct flow_wildcards *wc = ctx->wc;
    uint32_t h, a, b;

    wc_mask_field(wc, MFF_DL_TYPE);
    h = hash_int(ntohs(f->dl_type), 0);
    if (f->dl_type == htons(ETH_TYPE_IP)) {
        wc->masks.nw_src = wc->masks.nw_dst = UINT32_MAX;
        a = ntohl(f->nw_src);
        b = ntohl(f->nw_dst);
        h = hash_add(h, MIN(a, b));
        h = hash_add(h, MAX(a, b));
    } else if (f->dl_type == htons(ETH_TYPE_IPV6)) {
        const uint32_t *s = (const uint32_t *) (const void *) &f->ipv6_src;
        const uint32_t *d = (const uint32_t *) (const void *) &f->ipv6_dst;

        memset(&wc->masks.ipv6_src, 0xff, sizeof wc->masks.ipv6_src);
        memset(&wc->masks.ipv6_dst, 0xff, sizeof wc->masks.ipv6_dst);
        for (int i = 0; i < 4; i++) {
            h = hash_add(h, s[i] ^ d[i]);
        }
    } else {
        uint64_t s = 0, d = 0;

        memset(&wc->masks.dl_src, 0xff, sizeof wc->masks.dl_src);
        memset(&wc->masks.dl_dst, 0xff, sizeof wc->masks.dl_dst);
        memcpy(&s, &f->dl_src, sizeof f->dl_src);
        memcpy(&d, &f->dl_dst, sizeof f->dl_dst);
        return hash_finish(hash_add64(h, s ^ d), 8);
    }
    wc->masks.nw_proto = UINT8_MAX;
    h = hash_add(h, f->nw_proto);
    if (f->nw_proto == IPPROTO_TCP || f->nw_proto == IPPROTO_UDP
        || f->nw_proto == IPPROTO_SCTP) {
        wc->masks.tp_src = wc->masks.tp_dst = UINT16_MAX;
        a = ntohs(f->tp_src);
        b = ntohs(f->tp_dst);
        h = hash_add(h, MIN(a, b) << 16 | MAX(a, b));
    }
    return hash_finish(h, 16);
}

/* Picks a live bucket with probability proportional to its weight, from
 * the flow's hash.  Returns SIZE_MAX if none is live with weight > 0. */
static size_t
select_bucket(struct xlate_ctx *ctx, const struct group *g)
{
    const struct ofp_group_mod *d = &g->desc;
    uint64_t total = 0, pick;
    uint32_t h;

    for (size_t i = 0; i < d->n_buckets; i++) {
        if (bucket_is_live(ctx, &d->buckets[i])) {
            total += d->buckets[i].weight;
        }
    }
    if (!total) {
        return SIZE_MAX;
    }
    h = select_hash(ctx);
    pick = ((uint64_t) h * total) >> 32;
    for (size_t i = 0; i < d->n_buckets; i++) {
        if (!bucket_is_live(ctx, &d->buckets[i])) {
            continue;
        }
        if (pick < d->buckets[i].weight) {
            return i;
        }
        pick -= d->buckets[i].weight;
    }
    return SIZE_MAX;
}

static void
xlate_group(struct xlate_ctx *ctx, uint32_t group_id)
{
    struct group *g = ofproto_group_find(ctx->ofproto, group_id);
    size_t idx;

    if (!g) {
        trace_note(ctx, 1, ">> group %"PRIu32" does not exist, dropping",
                   group_id);
        return;
    }
    if (ctx->depth >= XLATE_MAX_DEPTH) {
        trace_note(ctx, 1, ">> over max translation depth %d, dropping",
                   XLATE_MAX_DEPTH);
        ctx->error = -ELOOP;
        return;
    }
    switch (g->desc.type) {
    case OFPGT_ALL:
        for (size_t i = 0; i < g->desc.n_buckets && !ctx->error; i++) {
            xlate_bucket(ctx, g, i);
        }
        break;
    case OFPGT_INDIRECT:
        if (g->desc.n_buckets) {
            xlate_bucket(ctx, g, 0);
        }
        break;
    case OFPGT_SELECT:
        idx = select_bucket(ctx, g);
        if (idx == SIZE_MAX) {
            trace_note(ctx, 1, ">> no live bucket, dropping");
        } else {
            xlate_bucket(ctx, g, idx);
        }
        break;
    case OFPGT_FF:
        for (idx = 0; idx < g->desc.n_buckets; idx++) {
            if (bucket_is_live(ctx, &g->desc.buckets[idx])) {
                xlate_bucket(ctx, g, idx);
                break;
            }
        }
        if (idx == g->desc.n_buckets) {
            trace_note(ctx, 1, ">> no live bucket, dropping");
        }
        break;
    }
}

/* ---- Outputs by number (output:FIELD) ----------------------------------- */

static void
xlate_output_port(struct xlate_ctx *ctx, uint32_t port, uint16_t max_len)
{
    switch (port) {
    case OFPP_IN_PORT:
        if (ofproto_port_find(ctx->ofproto, ctx->flow.in_port)) {
            put_output(ctx, ctx->flow.in_port);
        }
        break;
    case OFPP_NORMAL:
        xlate_normal(ctx);
        break;
    case OFPP_FLOOD:
    case OFPP_ALL:
        xlate_flood(ctx);
        break;
    case OFPP_CONTROLLER:
        xlate_controller(ctx, max_len, OFPR_ACTION);
        break;
    case OFPP_TABLE:
    case OFPP_NONE:
        trace_note(ctx, 1, ">> output to port %#"PRIx32" ignored", port);
        break;
    default:
        xlate_output(ctx, port);
        break;
    }
}

static void
xlate_output_reg(struct xlate_ctx *ctx, const struct ofpact_output_reg *o)
{
    uint64_t port = mf_get_subfield(&o->src, &ctx->flow);

    mf_mask_subfield(&o->src, ctx->wc);
    if (port > UINT16_MAX) {
        trace_note(ctx, 1, ">> output port %"PRIu64" out of range", port);
        return;
    }
    xlate_output_port(ctx, port, o->max_len);
}

/* ---- Conntrack and recirculation ---------------------------------------- */

struct xlate_frozen {
    uint8_t table_id;
    uint8_t pad[3];
    uint32_t regs[FLOW_N_REGS];
    uint64_t metadata;
};

/* One frozen state.  Lives while 'refcount' > 0: references are held by
 * megaflow cookies (through xlate_out.recirc_ids) and, for the length of
 * one call, by whoever ran the xlate (trace, packet-out, revalidation). */
struct xlate_recirc_node {
    struct hmap_node id_node;       /* in by_id, hash_int(id) */
    struct hmap_node state_node;    /* in by_state, recirc_hash_state() */
    uint32_t id;
    int refcount;                   /* protected by the mutex */
    struct xlate_frozen st;
};

/* Ids are handed out in increasing order (skipping ids still in use, and
 * 0) and wrap only after 2^32 allocations, so a freed id is not given to a
 * different state while megaflows of the old one (keyed on recirc_id, not
 * holding a reference) may still sit in the cache: those are evicted by
 * the next revalidation, whose xlate no longer finds their id. */
struct xlate_recirc {
    pthread_mutex_t mutex;
    struct hmap by_id;
    struct hmap by_state;
    uint32_t next_id;
    uint64_t n_allocated;           /* statistics: ids ever allocated */
};

struct xlate_recirc *
xlate_recirc_create(void)
{
    struct xlate_recirc *r = xzalloc(sizeof *r);

    pthread_mutex_init(&r->mutex, NULL);
    hmap_init(&r->by_id);
    hmap_init(&r->by_state);
    r->next_id = 1;
    return r;
}

void
xlate_recirc_destroy(struct xlate_recirc *r)
{
    struct xlate_recirc_node *n;

    if (!r) {
        return;
    }
    HMAP_FOR_EACH_POP (n, id_node, &r->by_id) {
        free(n);
    }
    hmap_destroy(&r->by_id);
    hmap_destroy(&r->by_state);
    pthread_mutex_destroy(&r->mutex);
    free(r);
}

static uint32_t
recirc_hash_state(const struct xlate_frozen *st)
{
    return hash_bytes(st, sizeof *st, 0);
}

static struct xlate_recirc_node *
recirc_find_id(const struct xlate_recirc *r, uint32_t id)
{
    struct xlate_recirc_node *n;

    HMAP_FOR_EACH_WITH_HASH (n, id_node, hash_int(id, 0), &r->by_id) {
        if (n->id == id) {
            return n;
        }
    }
    return NULL;
}

/* Returns the id of 'st' with a new reference (allocating the id on first
 * use), or 0 if XLATE_MAX_RECIRC ids are in use. */
static uint32_t
xlate_recirc_get(struct xlate_recirc *r, const struct xlate_frozen *st)
{
    uint32_t hash = recirc_hash_state(st);
    struct xlate_recirc_node *n;
    uint32_t id = 0;

    pthread_mutex_lock(&r->mutex);
    HMAP_FOR_EACH_WITH_HASH (n, state_node, hash, &r->by_state) {
        if (!memcmp(&n->st, st, sizeof *st)) {
            n->refcount++;
            id = n->id;
            goto out;
        }
    }
    if (hmap_count(&r->by_id) >= XLATE_MAX_RECIRC) {
        goto out;
    }
    /* At most XLATE_MAX_RECIRC ids are in use, so this ends quickly. */
    while (!r->next_id || recirc_find_id(r, r->next_id)) {
        r->next_id++;
    }
    n = malloc(sizeof *n);
    if (!n) {
        goto out;
    }
    n->id = r->next_id++;
    n->refcount = 1;
    n->st = *st;
    hmap_insert(&r->by_id, &n->id_node, hash_int(n->id, 0));
    hmap_insert(&r->by_state, &n->state_node, hash);
    r->n_allocated++;
    id = n->id;
out:
    pthread_mutex_unlock(&r->mutex);
    return id;
}

static bool
xlate_recirc_lookup(struct xlate_recirc *r, uint32_t id,
                    struct xlate_frozen *st)
{
    const struct xlate_recirc_node *n;

    pthread_mutex_lock(&r->mutex);
    n = id ? recirc_find_id(r, id) : NULL;
    if (n) {
        *st = n->st;
    }
    pthread_mutex_unlock(&r->mutex);
    return n != NULL;
}

void
xlate_recirc_unref(struct xlate_recirc *r, uint32_t id)
{
    struct xlate_recirc_node *n;

    pthread_mutex_lock(&r->mutex);
    n = recirc_find_id(r, id);
    if (n && !--n->refcount) {
        hmap_remove(&r->by_id, &n->id_node);
        hmap_remove(&r->by_state, &n->state_node);
        free(n);
    }
    pthread_mutex_unlock(&r->mutex);
}

size_t
xlate_recirc_count(struct xlate_recirc *r)
{
    size_t n;

    pthread_mutex_lock(&r->mutex);
    n = hmap_count(&r->by_id);
    pthread_mutex_unlock(&r->mutex);
    return n;
}

void
xlate_out_release_recirc(struct xlate_recirc *r, struct xlate_out *xo)
{
    for (size_t i = 0; i < xo->n_recirc_ids; i++) {
        xlate_recirc_unref(r, xo->recirc_ids[i]);
    }
    xo->n_recirc_ids = 0;
}

char *
xlate_check_ct(const struct ofpact_conntrack *ct)
{
    size_t len;
    const struct ofpact *nested = ofpact_nested(&ct->ofpact, &len);
    const struct ofpact *a;

    if ((ct->flags & NX_CT_F_FORCE) && !(ct->flags & NX_CT_F_COMMIT)) {
        return xstrdup("ct: force requires commit");
    }
    OFPACT_FOR_EACH (a, nested, len) {
        switch ((enum ofpact_type) a->type) {
        case OFPACT_SET_FIELD:
        case OFPACT_LOAD: {
            const struct mf_field *mf = ofpact_get_SET_FIELD(a)->field;

            if (mf->id != MFF_CT_MARK && mf->id != MFF_CT_LABEL) {
                return xasprintf("ct: exec may only set ct_mark or "
                                 "ct_label, not '%s'", mf->name);
            }
            if (!(ct->flags & NX_CT_F_COMMIT)) {
                return xstrdup("ct: setting ct_mark or ct_label requires "
                               "commit");
            }
            break;
        }
        case OFPACT_MOVE: {
            const struct ofpact_move *m = ofpact_get_MOVE(a);

            if (m->dst.field->id != MFF_CT_MARK
                && m->dst.field->id != MFF_CT_LABEL) {
                return xasprintf("ct: exec may only set ct_mark or "
                                 "ct_label, not '%s'", m->dst.field->name);
            }
            if (!(ct->flags & NX_CT_F_COMMIT)) {
                return xstrdup("ct: setting ct_mark or ct_label requires "
                               "commit");
            }
            break;
        }
        case OFPACT_NAT:
            break;
        default:
            return xasprintf("ct: action '%s' not allowed in exec",
                             ofpact_name((enum ofpact_type) a->type));
        }
    }
    return NULL;
}

static void
xlate_ct_nat(struct dpa_ct *d, const struct ofpact_nat *nat)
{
    d->nat_flags = DPA_CT_NAT;
    d->nat_flags |= (nat->flags & NX_NAT_F_SRC ? DPA_CT_NAT_SRC : 0)
                    | (nat->flags & NX_NAT_F_DST ? DPA_CT_NAT_DST : 0)
                    | (nat->flags & NX_NAT_F_PERSISTENT
                       ? DPA_CT_NAT_PERSISTENT : 0)
                    | (nat->flags & NX_NAT_F_PROTO_HASH ? DPA_CT_NAT_HASH : 0)
                    | (nat->flags & NX_NAT_F_PROTO_RANDOM
                       ? DPA_CT_NAT_RANDOM : 0);
    if (nat->range_af == AF_INET) {
        d->nat_family = AF_INET;
        d->nat_flags |= DPA_CT_NAT_RANGE_ADDR;
        memcpy(&d->addr_min, &nat->range_addr.ipv4.min, 4);
        memcpy(&d->addr_max, &nat->range_addr.ipv4.max, 4);
    } else if (nat->range_af == AF_INET6) {
        d->nat_family = AF_INET6;
        d->nat_flags |= DPA_CT_NAT_RANGE_ADDR;
        d->addr_min = nat->range_addr.ipv6.min;
        d->addr_max = nat->range_addr.ipv6.max;
    }
    if (nat->proto_min) {
        d->nat_flags |= DPA_CT_NAT_RANGE_PORT;
        d->port_min = nat->proto_min;
        d->port_max = nat->proto_max ? nat->proto_max : nat->proto_min;
    }
}

/* exec(...): ct_mark/ct_label writes become value/mask pairs (applied on
 * commit by conntrack), nat becomes the nat part. */
static void
xlate_ct_exec(struct xlate_ctx *ctx, const struct ofpact_conntrack *ct,
              struct dpa_ct *d)
{
    size_t len;
    const struct ofpact *nested = ofpact_nested(&ct->ofpact, &len);
    const struct ofpact *a;
    struct flow val, work;
    struct flow_wildcards msk;

    memset(&val, 0, sizeof val);
    flow_wildcards_init_catchall(&msk);
    OFPACT_FOR_EACH (a, nested, len) {
        if (a->type == OFPACT_SET_FIELD || a->type == OFPACT_LOAD) {
            const struct ofpact_set_field *sf = ofpact_get_SET_FIELD(a);

            mf_set_flow_value_masked(sf->field, &sf->value, &sf->mask, &val);
            mf_set_mask(sf->field, &sf->mask, &msk);
        } else if (a->type == OFPACT_MOVE) {
            const struct ofpact_move *m = ofpact_get_MOVE(a);
            union mf_subvalue sv;

            mf_read_subfield(&m->src, &ctx->flow, &sv);
            mf_mask_subfield(&m->src, ctx->wc);
            work = val;
            mf_write_subfield(&m->dst, &sv, &work);
            val = work;
            mf_mask_subfield(&m->dst, &msk);
        } else if (a->type == OFPACT_NAT) {
            xlate_ct_nat(d, ofpact_get_NAT(a));
        }
    }
    d->mark = val.ct_mark & msk.masks.ct_mark;
    d->mark_mask = msk.masks.ct_mark;
    for (int i = 0; i < 2; i++) {
        d->label[i] = val.ct_label[i] & msk.masks.ct_label[i];
        d->label_mask[i] = msk.masks.ct_label[i];
    }
}

static void
xlate_ct(struct xlate_ctx *ctx, const struct ofpact_conntrack *ct)
{
    struct dpa_ct *d;
    uint16_t zone = ct->zone_imm;

    if (ct->zone_src.field) {
        zone = mf_get_subfield(&ct->zone_src, &ctx->flow);
        mf_mask_subfield(&ct->zone_src, ctx->wc);
    }
    /* Pending header writes must reach the packet before conntrack sees
     * it. */
    xlate_commit(ctx);
    d = dpa_put(ctx->odp, DPA_CT, sizeof *d);
    if (!d) {
        ctx->error = -ENOSPC;
        return;
    }
    d->zone = zone;
    d->flags = (ct->flags & NX_CT_F_COMMIT ? DPA_CT_F_COMMIT : 0)
               | (ct->flags & NX_CT_F_FORCE ? DPA_CT_F_FORCE : 0);
    d->alg = ct->alg == 21 ? DPA_CT_ALG_FTP
             : ct->alg == 69 ? DPA_CT_ALG_TFTP : DPA_CT_ALG_NONE;
    xlate_ct_exec(ctx, ct, d);
    /* NAT rewrites the packet in ways xlate cannot predict: the base
     * key's L3/L4 fields are unknown from here on, so later writes must
     * not be committed as deltas against them.  Mark them written. */
    if (d->nat_flags) {
        struct flow_wildcards tmp;

        flow_wildcards_init_catchall(&tmp);
        memset(&tmp.masks.ipv6_src, 0xff,
               offsetof(struct flow, tcp_flags)
               - offsetof(struct flow, ipv6_src));
        memset(&tmp.masks.tp_src, 0xff, 4);
        flow_wildcards_or(&ctx->written, &tmp);
    }
    if (ct->recirc_table != NX_CT_RECIRC_NONE) {
        struct xlate_frozen st;
        uint32_t id, *idp;

        memset(&st, 0, sizeof st);
        st.table_id = ct->recirc_table;
        memcpy(st.regs, ctx->flow.regs, sizeof st.regs);
        st.metadata = ctx->flow.metadata;
        if (ctx->xout->n_recirc_ids >= XLATE_MAX_RECIRC_IDS) {
            trace_note(ctx, 1, ">> more than %d ct(table=N) in one "
                       "translation, dropping", XLATE_MAX_RECIRC_IDS);
            ctx->error = -E2BIG;
            return;
        }
        id = xlate_recirc_get(ctx->ofproto->recirc, &st);
        if (!id) {
            trace_note(ctx, 1, ">> recirculation table full, dropping");
            ctx->error = -ENOSPC;
            return;
        }
        ctx->xout->recirc_ids[ctx->xout->n_recirc_ids++] = id;
        idp = dpa_put(ctx->odp, DPA_RECIRC, sizeof *idp);
        if (!idp) {
            ctx->error = -ENOSPC;
            return;
        }
        *idp = id;
        trace_note(ctx, 1, "-> A clone of the packet is forked to "
                   "recirculate. The forked pipeline will be resumed at "
                   "table %u.", ct->recirc_table);
    }
    /* The rest of this pipeline sees the pre-ct connection state (as
     * OVS): ctx->flow's ct fields are left alone. */
}

static void
xlate_ct_clear(struct xlate_ctx *ctx)
{
    struct dpa_buf *odp = ctx->odp;

    if (!dpa_put(odp, DPA_CT_CLEAR, 0)) {
        ctx->error = -ENOSPC;
        return;
    }
    /* The datapath zeroes the ct fields; so does the working flow. */
    ctx->flow.ct_state = 0;
    ctx->flow.ct_zone = 0;
    ctx->flow.ct_mark = 0;
    memset(ctx->flow.ct_label, 0, sizeof ctx->flow.ct_label);
    ctx->flow.ct_nw_src = ctx->flow.ct_nw_dst = 0;
    memset(&ctx->flow.ct_ipv6_src, 0, sizeof ctx->flow.ct_ipv6_src);
    memset(&ctx->flow.ct_ipv6_dst, 0, sizeof ctx->flow.ct_ipv6_dst);
    ctx->flow.ct_tp_src = ctx->flow.ct_tp_dst = 0;
    ctx->flow.ct_nw_proto = 0;
    memcpy(&ctx->base.ct_state, &ctx->flow.ct_state,
           offsetof(struct flow, dl_dst) - offsetof(struct flow, ct_state));
}

/* A recirculated packet: continue where ct(table=N) froze the walk. */
static void
xlate_resume(struct xlate_ctx *ctx)
{
    struct xlate_frozen st;

    if (!xlate_recirc_lookup(ctx->ofproto->recirc, ctx->flow.recirc_id,
                             &st)) {
        trace_note(ctx, 0, ">> unknown recirculation id %#"PRIx32
                   ", dropping", ctx->flow.recirc_id);
        ctx->error = -ENOENT;
        return;
    }
    memcpy(ctx->flow.regs, st.regs, sizeof st.regs);
    ctx->flow.metadata = st.metadata;
    memcpy(ctx->base.regs, st.regs, sizeof st.regs);
    ctx->base.metadata = st.metadata;
    if (ctx->xin->trace) {
        trace_note(ctx, 0, "Resuming from recirculation %#"PRIx32
                   " in table %u (ct_state=%#x)", ctx->flow.recirc_id,
                   st.table_id, ctx->flow.ct_state);
    }
    xlate_table(ctx, st.table_id);
}

/* ---- The action list ---------------------------------------------------- */

static void
xlate_ofpacts(struct xlate_ctx *ctx, const struct ofpact *ofpacts,
              size_t len)
{
    const struct ofpact *a;

    if (!len) {
        trace_note(ctx, 0, "drop");
        return;
    }
    OFPACT_FOR_EACH (a, ofpacts, len) {
        if (ctx->error) {
            return;
        }
        trace_action(ctx, a);
        switch ((enum ofpact_type) a->type) {
        case OFPACT_OUTPUT:
            xlate_output(ctx, ofpact_get_OUTPUT(a)->port);
            break;
        case OFPACT_NORMAL:
            xlate_normal(ctx);
            break;
        case OFPACT_FLOOD:
        case OFPACT_ALL:
            xlate_flood(ctx);
            break;
        case OFPACT_IN_PORT:
            xlate_output_port(ctx, OFPP_IN_PORT, 0);
            break;
        case OFPACT_LOCAL:
            xlate_output(ctx, OFPP_LOCAL);
            break;
        case OFPACT_CONTROLLER: {
            const struct ofpact_controller *c = ofpact_get_CONTROLLER(a);
            xlate_controller(ctx, c->max_len, c->reason);
            break;
        }
        case OFPACT_RESUBMIT:
            xlate_resubmit(ctx, ofpact_get_RESUBMIT(a));
            break;
        case OFPACT_GOTO_TABLE:
            xlate_table(ctx, ofpact_get_GOTO_TABLE(a)->table_id);
            break;
        case OFPACT_SET_FIELD:
        case OFPACT_LOAD:
            xlate_set_field(ctx, ofpact_get_SET_FIELD(a));
            break;
        case OFPACT_MOVE:
            xlate_move(ctx, ofpact_get_MOVE(a));
            break;
        case OFPACT_OUTPUT_REG:
            xlate_output_reg(ctx, ofpact_get_OUTPUT_REG(a));
            break;
        case OFPACT_PUSH_VLAN:
            xlate_push_vlan(ctx, ofpact_get_PUSH_VLAN(a)->ethertype, 0);
            break;
        case OFPACT_POP_VLAN:
            xlate_pop_vlan(ctx);
            break;
        case OFPACT_SET_VLAN_VID: {
            const struct ofpact_vlan_vid *v = ofpact_get_SET_VLAN_VID(a);
            xlate_set_vlan(ctx, v->push_vlan_if_needed, VLAN_VID_MASK,
                           v->vlan_vid);
            break;
        }
        case OFPACT_SET_VLAN_PCP: {
            const struct ofpact_vlan_pcp *v = ofpact_get_SET_VLAN_PCP(a);
            xlate_set_vlan(ctx, v->push_vlan_if_needed, VLAN_PCP_MASK,
                           (uint16_t) v->vlan_pcp << VLAN_PCP_SHIFT);
            break;
        }
        case OFPACT_SET_ETH_SRC:
        case OFPACT_SET_ETH_DST: {
            union mf_value v = { .mac = ofpact_get_SET_ETH_SRC(a)->mac };

            write_field(ctx, a->type == OFPACT_SET_ETH_SRC ? MFF_DL_SRC
                                                           : MFF_DL_DST, &v);
            break;
        }
        case OFPACT_SET_IPV4_SRC:
        case OFPACT_SET_IPV4_DST:
            xlate_set_ipv4(ctx, a->type == OFPACT_SET_IPV4_SRC,
                           ofpact_get_SET_IPV4_SRC(a)->ipv4);
            break;
        case OFPACT_SET_IP_DSCP:
            xlate_set_tos(ctx, MFF_NW_TOS, ofpact_get_SET_IP_DSCP(a)->dscp);
            break;
        case OFPACT_SET_IP_ECN:
            xlate_set_tos(ctx, MFF_NW_ECN, ofpact_get_SET_IP_ECN(a)->ecn);
            break;
        case OFPACT_SET_IP_TTL:
            xlate_set_ttl(ctx, ofpact_get_SET_IP_TTL(a)->ttl);
            break;
        case OFPACT_SET_L4_SRC_PORT:
        case OFPACT_SET_L4_DST_PORT:
            xlate_set_l4_port(ctx, a->type == OFPACT_SET_L4_SRC_PORT,
                              ofpact_get_SET_L4_SRC_PORT(a)->port);
            break;
        case OFPACT_DEC_TTL:
            if (!xlate_dec_ttl(ctx)) {
                return;
            }
            break;
        case OFPACT_GROUP:
            xlate_group(ctx, ofpact_get_GROUP(a)->group_id);
            break;
        case OFPACT_CLONE:
            xlate_clone(ctx, a);
            break;
        case OFPACT_NOTE:
            break;
        case OFPACT_CT:
            xlate_ct(ctx, ofpact_get_CT(a));
            break;
        case OFPACT_CT_CLEAR:
            xlate_ct_clear(ctx);
            break;
        case OFPACT_NAT:
        case OFPACT_N_TYPES:
        default:
            /* Flow mods refuse these (conntrack is a later issue), and
             * packet-out checks the same; reaching here is a bug, which
             * we turn into a counted drop rather than a crash. */
            trace_note(ctx, 1, ">> unsupported action, dropping");
            ctx->error = -TS_ERR_UNSUPPORTED;
            return;
        }
    }
}

int
xlate_actions(const struct xlate_in *xin, struct xlate_out *xout)
{
    struct xlate_ctx ctx = {
        .xin = xin,
        .xout = xout,
        .ofproto = xin->ofproto,
        .flow = *xin->flow,
        .base = *xin->flow,
        .wc = xout->wc,
        .odp = xout->odp,
    };

    flow_wildcards_init_catchall(&ctx.written);
    xout->n_rules = 0;
    xout->n_groups = 0;
    xout->n_recirc_ids = 0;
    xout->too_many_rules = false;
    xout->has_learn = false;
    xout->mac_changed = false;
    xout->learn_stale = false;

    /* The datapath key's metadata: a megaflow never spans ports or
     * recirculation passes. */
    xout->wc->masks.in_port = UINT32_MAX;
    xout->wc->masks.recirc_id = UINT32_MAX;

    if (xin->ofpacts) {
        ctx.table_id = 0;
        ctx.rule_cookie = UINT64_MAX;
        xlate_ofpacts(&ctx, xin->ofpacts, xin->ofpacts_len);
    } else if (xin->flow->recirc_id) {
        xlate_resume(&ctx);
    } else {
        xlate_table(&ctx, 0);
    }
    if (!ctx.error && ctx.odp->overflow) {
        ctx.error = -ENOSPC;
    }
    /* Registers and metadata exist only inside xlate: every datapath key
     * has them zero, so matching them in a megaflow adds nothing. */
    memset(xout->wc->masks.regs, 0, sizeof xout->wc->masks.regs);
    xout->wc->masks.metadata = 0;
    xout->final_flow = ctx.flow;
    return ctx.error;
}
