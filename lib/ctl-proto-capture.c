/* ctl-proto-capture: the packet capture messages of the control protocol
 * (types 113-116): encoding, decoding and release.  ctl-proto.c
 * dispatches here for those types; the wire format is in
 * docs/protocol.md ("Packet capture"). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ctl-proto.h"
#include "ctl-proto-private.h"
#include "util.h"

#define CAPTURE_SNAPLEN_MAX 262144
#define CAPTURE_BUFFER_KB_MAX (1024 * 1024)

void
ctl_capture_msg_release(struct ctl_msg *msg)
{
    switch (msg->type) {
    case CTL_CAPTURE_START:
        free(msg->capture_start.bridge);
        free(msg->capture_start.port);
        free(msg->capture_start.filter);
        break;
    case CTL_CAPTURE_PACKET:
        free(msg->capture_packet.data);
        break;
    default:
        break;
    }
}

bool
ctl_capture_put_body(struct ctl_enc *e, const struct ctl_msg *msg)
{
    switch (msg->type) {
    case CTL_CAPTURE_START: {
        const struct ctl_capture_start *s = &msg->capture_start;
        ctl_put_u32(e, s->flags);
        ctl_put_u32(e, s->snaplen);
        ctl_put_u32(e, s->buffer_kb);
        ctl_put_u32(e, 0);
        ctl_put_string(e, s->bridge);
        ctl_put_string(e, s->port);
        ctl_put_string(e, s->filter);
        return true;
    }
    case CTL_CAPTURE_PACKET: {
        const struct ctl_capture_packet *p = &msg->capture_packet;
        if (p->len && !p->data) {
            return false;
        }
        ctl_put_u64(e, p->ts_ns);
        ctl_put_u32(e, p->port);
        ctl_put_u32(e, p->orig_len);
        ctl_put_u8(e, p->direction);
        ctl_put_zeros(e, 3);
        ctl_put_bytes(e, p->data, p->len);
        return true;
    }
    case CTL_CAPTURE_STOP:
        ctl_put_u32(e, msg->capture_stop.capture_xid);
        return true;
    case CTL_CAPTURE_END: {
        const struct ctl_capture_end *end = &msg->capture_end;
        ctl_put_u32(e, end->capture_xid);
        ctl_put_u32(e, end->reason);
        ctl_put_u64(e, end->captured);
        ctl_put_u64(e, end->dropped);
        return true;
    }
    default:
        return false;
    }
}

static bool
get_start(struct ctl_dec *d, struct ctl_capture_start *s)
{
    uint32_t pad;

    if (!ctl_get_u32(d, "capture flags", &s->flags)
        || !ctl_get_u32(d, "snapshot length", &s->snaplen)
        || !ctl_get_u32(d, "buffer size", &s->buffer_kb)
        || !ctl_get_u32(d, "padding", &pad)
        || !ctl_get_string(d, "bridge name", &s->bridge)
        || !ctl_get_string(d, "port name", &s->port)
        || !ctl_get_string(d, "filter", &s->filter)) {
        return false;
    }
    if (!s->flags || s->flags & ~(uint32_t) (CTL_CAPF_RX | CTL_CAPF_TX)) {
        return ctl_dec_fail(d, "bad capture directions 0x%"PRIx32,
                            s->flags);
    }
    if (s->snaplen > CAPTURE_SNAPLEN_MAX) {
        return ctl_dec_fail(d, "snapshot length %"PRIu32" over %d",
                            s->snaplen, CAPTURE_SNAPLEN_MAX);
    }
    if (s->buffer_kb > CAPTURE_BUFFER_KB_MAX) {
        return ctl_dec_fail(d, "buffer size %"PRIu32" kB over %d",
                            s->buffer_kb, CAPTURE_BUFFER_KB_MAX);
    }
    return true;
}

static bool
get_packet(struct ctl_dec *d, struct ctl_capture_packet *p)
{
    uint8_t pad[3];
    const uint8_t *data;
    size_t len;

    if (!ctl_get_u64(d, "timestamp", &p->ts_ns)
        || !ctl_get_u32(d, "port", &p->port)
        || !ctl_get_u32(d, "original length", &p->orig_len)
        || !ctl_get_u8(d, "direction", &p->direction)
        || !ctl_get_bytes(d, "padding", pad, sizeof pad)) {
        return false;
    }
    if (p->direction != CTL_CAPF_RX && p->direction != CTL_CAPF_TX) {
        return ctl_dec_fail(d, "bad packet direction %u", p->direction);
    }
    len = ctl_dec_left(d);
    if (len > p->orig_len) {
        return ctl_dec_fail(d, "%zu captured bytes exceed the original "
                            "length %"PRIu32, len, p->orig_len);
    }
    if (!ctl_get_ref(d, "packet", len, &data)) {
        return false;
    }
    p->data = len ? xmemdup(data, len) : NULL;
    p->len = len;
    return true;
}

bool
ctl_capture_get_body(struct ctl_dec *d, struct ctl_msg *msg)
{
    switch (msg->type) {
    case CTL_CAPTURE_START:
        return get_start(d, &msg->capture_start);
    case CTL_CAPTURE_PACKET:
        return get_packet(d, &msg->capture_packet);
    case CTL_CAPTURE_STOP:
        return ctl_get_u32(d, "capture xid", &msg->capture_stop.capture_xid);
    case CTL_CAPTURE_END: {
        struct ctl_capture_end *end = &msg->capture_end;
        if (!ctl_get_u32(d, "capture xid", &end->capture_xid)
            || !ctl_get_u32(d, "end reason", &end->reason)
            || !ctl_get_u64(d, "captured", &end->captured)
            || !ctl_get_u64(d, "dropped", &end->dropped)) {
            return false;
        }
        if (end->reason > CTL_CAPE_PORT_GONE) {
            return ctl_dec_fail(d, "unknown end reason %"PRIu32,
                                end->reason);
        }
        return true;
    }
    default:
        return ctl_dec_fail(d, "unknown message type %u", msg->type);
    }
}
