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
    xin.flow = &flow;
    DPA_BUF_STUB(&odp, stub);
    flow_wildcards_init_catchall(&wc);

    pthread_rwlock_rdlock(&p->rwlock);
    error = xlate_actions(&xin, &xo);
    pthread_rwlock_unlock(&p->rwlock);
    if (error) {
        dp_packet_delete(pkt);
        set_error(errp, "packet-out: cannot translate actions: %s",
                  ts_strerror(error));
        return error;
    }
    error = dpif_execute(p->dpif, pkt, &flow, odp.data, odp.size);
    if (error) {
        set_error(errp, "packet-out: execute failed: %s", ts_strerror(error));
    }
    return error;
}

int
ofproto_trace(struct ofproto *p, const struct flow *flow, struct ds *out)
{
    uint64_t stub[ODP_STUB_BYTES / 8];
    struct flow_wildcards wc;
    struct dpa_buf odp;
    struct xlate_out xo = { .odp = &odp, .wc = &wc };
    struct xlate_in xin = { .ofproto = p, .flow = flow, .trace = out };
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
    return error;
}

int
ofproto_trace_packet(struct ofproto *p, uint32_t in_port, const void *packet,
                     size_t len, struct ds *out)
{
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
    dp_packet_delete(pkt);
    error = ofproto_trace(p, &flow, out);
    return error;
}

