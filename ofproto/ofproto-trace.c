/* ofproto-trace: packet-out and ofproto/trace (see ofproto.h).  Both run
 * one xlate in the main thread under the table read lock; packet-out
 * then executes the result with dpif_execute(), trace formats it. */
#include "ofproto.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "dp-packet.h"
#include "dpif.h"
#include "dynamic-string.h"
#include "errors.h"
#include "match.h"
#include "ofp-port-map.h"
#include "ofpact.h"
#include "ofproto-private.h"
#include "util.h"
#include "xlate.h"

#define ODP_STUB_BYTES 4096

static void TS_PRINTF(2, 3)
set_error(char **errp, const char *fmt, ...)
{
    va_list args;

    if (!errp) {
        return;
    }
    va_start(args, fmt);
    *errp = xvasprintf(fmt, args);
    va_end(args);
}

int
ofproto_packet_out(struct ofproto *p, uint32_t in_port, const void *packet,
                   size_t len, const struct ofpacts *ofpacts, char **errp)
{
    const struct ofpact *acts = (const struct ofpact *) (const void *)
                                ofpacts->data;
    uint64_t stub[ODP_STUB_BYTES / 8];
    struct flow_wildcards wc;
    struct dpa_buf odp;
    struct xlate_out xo = { .odp = &odp, .wc = &wc };
    struct xlate_in xin = {
        .ofproto = p, .ofpacts = acts, .ofpacts_len = ofpacts->size,
    };
    struct dp_packet *pkt;
    struct flow flow;
    char *err;
    int error;

    if (errp) {
        *errp = NULL;
    }
    if (len < ETH_HEADER_LEN || len > UINT16_MAX) {
        set_error(errp, "packet-out: bad packet length %zu", len);
        return -EINVAL;
    }
    if (in_port != OFPP_NONE && in_port != OFPP_LOCAL
        && !ofproto_port_find(p, in_port)) {
        set_error(errp, "packet-out: no port %"PRIu32, in_port);
        return -TS_ERR_NO_PORT;
    }
    err = ofproto_check_ofpacts(p, acts, ofpacts->size, 255);
    if (err) {
        set_error(errp, "packet-out: %s", err);
        free(err);
        return -TS_ERR_BAD_ACTION;
    }

    pkt = dp_packet_clone_data(packet, len);
    pkt->in_port = in_port;
    flow_extract(pkt, &flow);
    flow.in_port = in_port;
    {
        /* As a flow mod's match, the packet's own type must allow ct. */
        struct match m;

        match_init_catchall(&m);
        m.flow.dl_type = flow.dl_type;
        m.wc.masks.dl_type = UINT16_MAX;
        err = ofproto_check_ct_prereqs(acts, ofpacts->size, &m);
    }
    if (err) {
        dp_packet_delete(pkt);
        set_error(errp, "packet-out: %s", err);
        free(err);
        return -TS_ERR_BAD_ACTION;
    }
    xin.flow = &flow;
    DPA_BUF_STUB(&odp, stub);
    flow_wildcards_init_catchall(&wc);

    pthread_rwlock_rdlock(&p->rwlock);
    error = xlate_actions(&xin, &xo);
    pthread_rwlock_unlock(&p->rwlock);
    if (error) {
        xlate_out_release_recirc(p->recirc, &xo);
        dp_packet_delete(pkt);
        set_error(errp, "packet-out: cannot translate actions: %s",
                  ts_strerror(error));
        return error;
    }
    error = dpif_execute(p->dpif, pkt, &flow, odp.data, odp.size);
    /* The recirculated passes ran inside dpif_execute(). */
    xlate_out_release_recirc(p->recirc, &xo);
    if (error) {
        set_error(errp, "packet-out: execute failed: %s", ts_strerror(error));
    }
    return error;
}

#define TRACE_MAX_RECIRC_DEPTH 4  /* ct(table=N) passes followed */

/* What a recirculation pass starts from: the packet (NULL for a flow
 * text trace) and the user's flow (for its ct_state). */
struct trace_ctx {
    struct ofproto *p;
    const struct dp_packet *packet;
    const struct flow *user_flow;
    struct ds *out;
};

static int trace_pass(struct trace_ctx *, const struct flow *, int depth);

static void
trace_put_ct_state(struct ds *out, uint16_t state)
{
    static const char *const names[] = {
        "new", "est", "rel", "rpl", "inv", "trk", "snat", "dnat",
    };

    if (!state) {
        ds_put_cstr(out, "0");
    }
    for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
        if (state & (1u << i)) {
            ds_put_format(out, "+%s", names[i]);
        }
    }
}

/* Follows DPA_RECIRC 'id', which comes after DPA_CT 'ct', from the flow
 * 'flow' as the first pass left it. */
static int
trace_recirc(struct trace_ctx *tc, const struct flow *flow,
             const struct dpa_ct *ct, uint32_t id, int depth)
{
    struct ds *out = tc->out;
    struct flow f = *flow;
    bool live = tc->packet != NULL;
    int lookup_error = 0;

    f.recirc_id = id;
    if (live) {
        lookup_error = dpif_ct_lookup(dpif_get_ct(tc->p->dpif), tc->packet,
                                      &f, ct->zone);
    } else {
        f.ct_state = tc->user_flow->ct_state & CS_TRACKED
                     ? tc->user_flow->ct_state : CS_TRACKED | CS_NEW;
        f.ct_zone = ct->zone;
    }
    ds_put_cstr(out, "\n");
    for (int i = 0; i < 79; i++) {
        ds_put_char(out, '=');
    }
    ds_put_format(out, "\nrecirc(%#"PRIx32") - Recirculation conntrack "
                  "action (%s: state=", id,
                  live ? "live table" : "no packet, state from the flow");
    trace_put_ct_state(out, f.ct_state);
    ds_put_format(out, ", zone=%u, mark=%#"PRIx32")\n", f.ct_zone,
                  f.ct_mark);
    for (int i = 0; i < 79; i++) {
        ds_put_char(out, '=');
    }
    ds_put_char(out, '\n');
    if (!live) {
        ds_put_cstr(out, "(a real packet would be looked up in the "
                    "connection table; trace a packet to see its live "
                    "state)\n");
    } else if (lookup_error) {
        ds_put_format(out, "(the packet cannot be tracked: %s)\n",
                      ts_strerror(lookup_error));
    }
    if (ct->flags & DPA_CT_F_COMMIT) {
        ds_put_cstr(out, "(commit: the real packet would create or update "
                    "the connection; the trace changes nothing)\n");
    }
    if (ct->nat_flags && f.ct_state & (CS_SRC_NAT | CS_DST_NAT)) {
        ds_put_cstr(out, "(nat: the real packet's addresses would be "
                    "translated; the traced flow keeps them)\n");
    }
    ds_put_char(out, '\n');
    return trace_pass(tc, &f, depth + 1);
}

/* Runs one xlate of 'flow' and formats it, then follows each
 * ct(...),recirc(id) pair of its datapath actions. */
static int
trace_pass(struct trace_ctx *tc, const struct flow *flow, int depth)
{
    struct ofproto *p = tc->p;
    struct ds *out = tc->out;
    uint64_t stub[ODP_STUB_BYTES / 8];
    struct flow_wildcards wc;
    struct dpa_buf odp;
    struct xlate_out xo = { .odp = &odp, .wc = &wc };
    struct xlate_in xin = { .ofproto = p, .flow = flow, .trace = out };
    const struct dpa_ct *last_ct = NULL;
    const struct dp_action *a;
    struct match megaflow;
    size_t name_len = strlen(p->name) + 10;
    int error;

    DPA_BUF_STUB(&odp, stub);
    flow_wildcards_init_catchall(&wc);

    ds_put_cstr(out, "Flow: ");
    flow_format(out, flow);
    ds_put_format(out, "\n\nbridge(\"%s\")\n", p->name);
    for (size_t i = 0; i < name_len; i++) {
        ds_put_char(out, '-');
    }
    ds_put_char(out, '\n');

    pthread_rwlock_rdlock(&p->rwlock);
    error = xlate_actions(&xin, &xo);
    pthread_rwlock_unlock(&p->rwlock);

    if (flow_equal(&xo.final_flow, flow)) {
        ds_put_cstr(out, "\nFinal flow: unchanged\n");
    } else {
        ds_put_cstr(out, "\nFinal flow: ");
        flow_format(out, &xo.final_flow);
        ds_put_char(out, '\n');
    }
    megaflow.wc = wc;
    flow_apply_mask(&megaflow.flow, flow, &wc);
    ds_put_cstr(out, "Megaflow: ");
    match_format(out, &megaflow, OFP_DEFAULT_PRIORITY, NULL);
    ds_put_cstr(out, "\nDatapath actions: ");
    if (error) {
        ds_put_format(out, "drop (translation failed: %s)",
                      ts_strerror(error));
    } else {
        dpa_format(out, odp.data, odp.size);
    }
    ds_put_char(out, '\n');

    /* The ids stay referenced (xo) until the passes that resume from
     * them are done. */
    DPA_FOR_EACH (a, odp.data, error ? 0 : odp.size) {
        if (a->type == DPA_CT && a->len >= sizeof *a + sizeof *last_ct) {
            last_ct = dpa_arg(a);
        } else if (a->type == DPA_RECIRC && last_ct
                   && a->len >= sizeof *a + sizeof(uint32_t)) {
            uint32_t id;

            memcpy(&id, dpa_arg(a), sizeof id);
            if (depth >= TRACE_MAX_RECIRC_DEPTH) {
                ds_put_format(out, "\n>> recirc(%#"PRIx32") not followed: "
                              "more than %d recirculations\n", id,
                              TRACE_MAX_RECIRC_DEPTH);
            } else {
                int e = trace_recirc(tc, &xo.final_flow, last_ct, id, depth);

                error = error ? error : e;
            }
            last_ct = NULL;
        }
    }
    xlate_out_release_recirc(p->recirc, &xo);
    return error;
}

int
ofproto_trace(struct ofproto *p, const struct flow *flow, struct ds *out)
{
    struct trace_ctx tc = { .p = p, .user_flow = flow, .out = out };

    return trace_pass(&tc, flow, 0);
}

int
ofproto_trace_packet(struct ofproto *p, uint32_t in_port, const void *packet,
                     size_t len, struct ds *out)
{
    struct trace_ctx tc = { .p = p, .out = out };
    struct dp_packet *pkt;
    struct flow flow;
    int error;

    if (!len || len > UINT16_MAX) {
        ds_put_format(out, "trace: bad packet length %zu\n", len);
        return -EINVAL;
    }
    pkt = dp_packet_clone_data(packet, len);
    pkt->in_port = in_port;
    flow_extract(pkt, &flow);
    flow.in_port = in_port;
    tc.packet = pkt;
    tc.user_flow = &flow;
    error = trace_pass(&tc, &flow, 0);
    dp_packet_delete(pkt);
    return error;
}
