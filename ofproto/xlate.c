/* xlate: see xlate.h. */
#include "xlate.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>
#include "dynamic-string.h"
#include "errors.h"
#include "mac-learning.h"
#include "match.h"
#include "ofp-port-map.h"
#include "ofpact.h"
#include "ofproto-private.h"

struct xlate_ctx {
    const struct xlate_in *xin;
    struct xlate_out *xout;
    struct ofproto *ofproto;
    struct flow flow;           /* the packet as modified so far */
    struct flow_wildcards *wc;
    struct dpa_buf *odp;
    int depth;                  /* nested table lookups */
    uint8_t table_id;           /* table of the rule being executed */
    uint64_t rule_cookie;       /* cookie of that rule */
    int error;
};

static void xlate_ofpacts(struct xlate_ctx *, const struct ofpact *,
                          size_t len);

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

static void
put_output(struct xlate_ctx *ctx, uint32_t port)
{
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
    struct dpa_userspace *u = dpa_put(ctx->odp, DPA_USERSPACE, sizeof *u);

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
        trace_note(ctx, 0, ">> too many resubmits, dropping");
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
            if (ofproto_port_find(ctx->ofproto, ctx->flow.in_port)) {
                put_output(ctx, ctx->flow.in_port);
            }
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
        case OFPACT_NOTE:
            break;
        default:
            /* Flow mods refuse these (ofproto_ofpacts_supported()), and
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
        .wc = xout->wc,
        .odp = xout->odp,
    };

    xout->n_rules = 0;
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
    } else {
        xlate_table(&ctx, 0);
    }
    if (!ctx.error && ctx.odp->overflow) {
        ctx.error = -ENOSPC;
    }
    return ctx.error;
}
