/* dp-capture: packet capture taps (see dp-capture.h and dpif.h). */
#include "dp-capture.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dp-private.h"
#include "errors.h"
#include "log.h"
#include "util.h"

TS_LOG_DEFINE(dp_capture);

/* Segments of one GSO packet of a tx record: at most 64 KB of payload in
 * frames of at most this many bytes (MTU 9000 plus headers). */
#define DP_CAPTURE_SEG_N 64
#define DP_CAPTURE_SEG_BUF (DP_PACKET_HEADROOM + 9216 + 64)

struct dpif_capture {
    struct dpif *dpif;          /* NULL once detached */
    struct dp_port *port;       /* NULL once detached */
    uint32_t port_no;
    uint32_t dirs;              /* DPIF_CAPTURE_* */
    uint32_t snaplen;
    uint32_t tx_offloads;       /* the port's, for tx segmentation */
    bool has_filter;
    struct bpf_program prog;    /* read by the producers, never changed */
    struct dp_capture_ring rings[2];    /* [0] rx, [1] tx */
    /* Main thread only. */
    uint64_t n_delivered;
    uint64_t n_seg_dropped;
    struct dp_packet_pool *seg_pool;    /* lazily, for tx segmentation */
};

struct dp_capture_port {
    size_t n;
    struct dpif_capture *taps[];
};

/* ---- Ring ----------------------------------------------------------------
 *
 * 'head' and 'tail' count bytes forever (64 bits do not wrap); the
 * offset in 'buf' is the count modulo 'size'.  Free space is size -
 * (head - tail).  Every record starts 8-byte aligned, so the distance to
 * the end of 'buf' is a multiple of 8 and always holds at least the
 * 'len' and 'cap_len' words of a filler record.  A record of at most
 * size / 2 bytes fits an empty ring wherever the head is: either before
 * the end, or the filler plus the record take at most 'size'. */

void
dp_capture_ring_init(struct dp_capture_ring *r, size_t size)
{
    size_t s = 64;

    memset(r, 0, sizeof *r);
    while (s < size) {
        s <<= 1;
    }
    r->buf = xmalloc(s);
    r->size = s;
}

void
dp_capture_ring_release(struct dp_capture_ring *r)
{
    free(r->buf);
    r->buf = NULL;
}

bool
dp_capture_ring_put(struct dp_capture_ring *r,
                    const struct dp_capture_rec *hdr, const void *data,
                    uint32_t cap_len)
{
    uint64_t tail = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
    uint64_t head = r->head;    /* ours */
    uint64_t ofs = head & (r->size - 1);
    uint64_t to_end = r->size - ofs;
    uint64_t need = ROUND_UP(sizeof *hdr + (uint64_t) cap_len, 8);
    uint64_t total = need <= to_end ? need : to_end + need;
    struct dp_capture_rec *rec;

    /* Records of at most half the ring always fit once it drains (see
     * the top), so none waits forever behind its own filler. */
    if (need > r->size / 2 || total > r->size - (head - tail)) {
        DP_COUNT(r->n_dropped, 1);
        return false;
    }
    if (need > to_end) {
        uint32_t *filler = (uint32_t *) (r->buf + ofs);

        filler[0] = to_end;
        filler[1] = DP_CAPTURE_REC_PAD;
        head += to_end;
        ofs = 0;
    }
    rec = (struct dp_capture_rec *) (r->buf + ofs);
    *rec = *hdr;
    rec->len = need;
    rec->cap_len = cap_len;
    memcpy(rec + 1, data, cap_len);
    DP_COUNT(r->n_put, 1);
    __atomic_store_n(&r->head, head + need, __ATOMIC_RELEASE);
    return true;
}

const struct dp_capture_rec *
dp_capture_ring_peek(struct dp_capture_ring *r)
{
    uint64_t head = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);

    while (r->tail != head) {
        const uint32_t *w = (const uint32_t *) (r->buf
                                                + (r->tail & (r->size - 1)));

        if (w[1] != DP_CAPTURE_REC_PAD) {
            return (const struct dp_capture_rec *) w;
        }
        __atomic_store_n(&r->tail, r->tail + w[0], __ATOMIC_RELEASE);
    }
    return NULL;
}

void
dp_capture_ring_pop(struct dp_capture_ring *r)
{
    const struct dp_capture_rec *rec = dp_capture_ring_peek(r);

    if (rec) {
        __atomic_store_n(&r->tail, r->tail + rec->len, __ATOMIC_RELEASE);
    }
}

/* ---- Packet path -------------------------------------------------------- */

static uint64_t
dp_capture_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t) ts.tv_sec * 1000000000u + ts.tv_nsec;
}

static void
dp_capture_batch(struct dp_capture_port *cap,
                 const struct dp_packet_batch *batch, uint8_t dir)
{
    uint64_t now = 0;

    for (size_t t = 0; t < cap->n; t++) {
        struct dpif_capture *tap = cap->taps[t];
        struct dp_capture_ring *ring = &tap->rings[dir == DPIF_CAPTURE_TX];
        const struct dp_packet *p;

        if (!(tap->dirs & dir)) {
            continue;
        }
        DP_PACKET_BATCH_FOR_EACH (i, p, batch) {
            const uint8_t *data = dp_packet_data(p);
            uint32_t size = dp_packet_size(p);
            struct dp_capture_rec hdr;

            if (tap->has_filter
                && !bpf_filter(tap->prog.bf_insns, data, size, size)) {
                continue;
            }
            if (!now) {
                now = dp_capture_now_ns();
            }
            memset(&hdr, 0, sizeof hdr);
            hdr.orig_len = size;
            hdr.dir = dir;
            hdr.ts_ns = now;
            hdr.ofl_flags = p->ofl.flags;
            hdr.gso_type = p->ofl.gso_type;
            hdr.gso_size = p->ofl.gso_size;
            hdr.csum_start = p->ofl.csum_start;
            hdr.csum_offset = p->ofl.csum_offset;
            dp_capture_ring_put(ring, &hdr, data, MIN(size, tap->snaplen));
        }
    }
}

void
dp_capture_rx(struct dp_capture_port *cap,
              const struct dp_packet_batch *batch)
{
    dp_capture_batch(cap, batch, DPIF_CAPTURE_RX);
}

void
dp_capture_tx(struct dp_capture_port *cap,
              const struct dp_packet_batch *batch)
{
    dp_capture_batch(cap, batch, DPIF_CAPTURE_TX);
}

/* ---- Control ------------------------------------------------------------ */

/* Afterwards no worker uses a capture set it loaded before (every pass
 * loads port->capture anew under the worker's mutex; tx flushes happen
 * inside passes, or in the main thread, which is us). */
static void
dp_capture_quiesce(struct dpif *dpif)
{
    for (int i = 0; i < dpif->n_workers; i++) {
        dp_worker_lock(dpif->workers[i]);
        dp_worker_unlock(dpif->workers[i]);
    }
}

/* Replaces port->capture with 'set' (NULL if it has no tap), then frees
 * the old set once no reader can hold it. */
static void
dp_capture_publish(struct dpif *dpif, struct dp_port *port,
                   struct dp_capture_port *set)
{
    struct dp_capture_port *old = port->capture;

    if (set && !set->n) {
        free(set);
        set = NULL;
    }
    __atomic_store_n(&port->capture, set, __ATOMIC_RELEASE);
    dp_capture_quiesce(dpif);
    free(old);
}

/* A copy of 'old' (may be NULL) with 'add' appended (if nonnull) and
 * 'del' left out (if nonnull). */
static struct dp_capture_port *
dp_capture_set_build(const struct dp_capture_port *old,
                     struct dpif_capture *add, const struct dpif_capture *del)
{
    size_t n_old = old ? old->n : 0;
    struct dp_capture_port *set;

    set = xzalloc(sizeof *set + (n_old + 1) * sizeof set->taps[0]);
    for (size_t i = 0; i < n_old; i++) {
        if (old->taps[i] != del) {
            set->taps[set->n++] = old->taps[i];
        }
    }
    if (add) {
        set->taps[set->n++] = add;
    }
    return set;
}

static int
dp_capture_compile(struct dpif_capture *tap, const char *filter,
                   char **errp)
{
    pcap_t *pd = pcap_open_dead(DLT_EN10MB, tap->snaplen);
    int err = 0;

    if (!pd) {
        *errp = xstrdup("cannot compile filter: out of memory");
        return -ENOMEM;
    }
    if (pcap_compile(pd, &tap->prog, filter, 1,
                     PCAP_NETMASK_UNKNOWN) < 0) {
        *errp = xasprintf("bad filter '%s': %s", filter, pcap_geterr(pd));
        err = -EINVAL;
    } else {
        tap->has_filter = true;
    }
    pcap_close(pd);
    return err;
}

int
dpif_capture_start(struct dpif *dpif, const struct dpif_capture_config *cfg,
                   struct dpif_capture **tapp, char **errp)
{
    struct dp_port *port = dp_port_table_get(dpif->ports, cfg->port_no);
    uint32_t dirs = cfg->directions ? cfg->directions
                    : DPIF_CAPTURE_RX | DPIF_CAPTURE_TX;
    size_t ring = cfg->ring_bytes ? cfg->ring_bytes
                  : DPIF_CAPTURE_RING_DEFAULT;
    struct dpif_capture *tap;
    int err;

    *tapp = NULL;
    *errp = NULL;
    if (!port) {
        *errp = xasprintf("%s: no port %"PRIu32, dpif->name, cfg->port_no);
        return -TS_ERR_NO_PORT;
    }
    if (dirs & ~(uint32_t) (DPIF_CAPTURE_RX | DPIF_CAPTURE_TX)) {
        *errp = xasprintf("unknown capture directions 0x%"PRIx32, dirs);
        return -EINVAL;
    }
    if (cfg->snaplen > DPIF_CAPTURE_SNAPLEN_MAX) {
        *errp = xasprintf("snapshot length %"PRIu32" over the maximum of "
                          "%d", cfg->snaplen, DPIF_CAPTURE_SNAPLEN_MAX);
        return -EINVAL;
    }
    if (ring > (1u << 30)) {
        *errp = xasprintf("capture buffer of %zu bytes is too large", ring);
        return -EINVAL;
    }
    tap = xzalloc(sizeof *tap);
    tap->dpif = dpif;
    tap->port = port;
    tap->port_no = cfg->port_no;
    tap->dirs = dirs;
    tap->snaplen = cfg->snaplen ? cfg->snaplen : DPIF_CAPTURE_SNAPLEN_MAX;
    tap->tx_offloads = port->tx_offloads;
    if (cfg->filter && *cfg->filter) {
        err = dp_capture_compile(tap, cfg->filter, errp);
        if (err) {
            free(tap);
            return err;
        }
    }
    ring = MAX(ring, DPIF_CAPTURE_RING_MIN);
    for (int i = 0; i < 2; i++) {
        dp_capture_ring_init(&tap->rings[i],
                             (dirs & (1u << i)) ? ring : 64);
    }
    dp_capture_publish(dpif, port,
                       dp_capture_set_build(port->capture, tap, NULL));
    TS_INFO("%s: capture started on port %"PRIu32" (%s%s%s)", dpif->name,
            tap->port_no, dirs & DPIF_CAPTURE_RX ? "rx" : "",
            dirs == (DPIF_CAPTURE_RX | DPIF_CAPTURE_TX) ? "," : "",
            dirs & DPIF_CAPTURE_TX ? "tx" : "");
    *tapp = tap;
    return 0;
}

void
dp_capture_port_gone(struct dp_port *port)
{
    struct dp_capture_port *set = port->capture;

    if (!set) {
        return;
    }
    for (size_t i = 0; i < set->n; i++) {
        set->taps[i]->dpif = NULL;
        set->taps[i]->port = NULL;
    }
    port->capture = NULL;
    free(set);
}

bool
dpif_capture_is_detached(const struct dpif_capture *tap)
{
    return tap->port == NULL;
}

void
dpif_capture_get_stats(const struct dpif_capture *tap,
                       struct dpif_capture_stats *st)
{
    memset(st, 0, sizeof *st);
    for (int i = 0; i < 2; i++) {
        st->matched += DP_READ(tap->rings[i].n_put)
                       + DP_READ(tap->rings[i].n_dropped);
        st->dropped += DP_READ(tap->rings[i].n_dropped);
    }
    st->delivered = tap->n_delivered;
    st->dropped += tap->n_seg_dropped;
}

void
dpif_capture_stop(struct dpif_capture *tap)
{
    if (!tap) {
        return;
    }
    if (tap->port) {
        dp_capture_publish(tap->dpif, tap->port,
                           dp_capture_set_build(tap->port->capture, NULL,
                                                tap));
    }
    for (int i = 0; i < 2; i++) {
        dp_capture_ring_release(&tap->rings[i]);
    }
    if (tap->has_filter) {
        pcap_freecode(&tap->prog);
    }
    dp_packet_pool_destroy(tap->seg_pool);
    free(tap);
}

/* ---- Delivery ----------------------------------------------------------- */

/* A stand-in for the port: netdev_send_resolving() segments and fills
 * checksums as it would for the port, then "sends" here. */
struct dp_capture_sink {
    struct netdev up;
    struct dpif_capture *tap;
    const struct dp_capture_rec *rec;
    dpif_capture_cb *cb;
    void *aux;
    size_t n;
};

static void
dp_capture_deliver(struct dpif_capture *tap, const struct dp_capture_rec *rec,
                   const void *data, uint32_t orig_len, uint32_t cap_len,
                   dpif_capture_cb *cb, void *aux)
{
    struct dpif_capture_packet pkt = {
        .ts_ns = rec->ts_ns,
        .port_no = tap->port_no,
        .direction = rec->dir,
        .orig_len = orig_len,
        .data = data,
        .len = MIN(cap_len, tap->snaplen),
    };

    cb(aux, &pkt);
    tap->n_delivered++;
}

static void
dp_capture_sink_send(struct netdev *netdev, struct dp_packet_batch *batch)
{
    struct dp_capture_sink *sink = CONTAINER_OF(netdev, struct dp_capture_sink,
                                                up);
    struct dp_packet *p;

    DP_PACKET_BATCH_FOR_EACH (i, p, batch) {
        dp_capture_deliver(sink->tap, sink->rec, dp_packet_data(p),
                           dp_packet_size(p), dp_packet_size(p), sink->cb,
                           sink->aux);
        sink->n++;
        dp_packet_delete(p);
    }
    dp_packet_batch_init(batch);
}

static uint32_t
dp_capture_sink_tx_offloads(const struct netdev *netdev)
{
    const struct dp_capture_sink *sink
        = CONTAINER_OF(netdev, const struct dp_capture_sink, up);

    return sink->tap->tx_offloads;
}

static const struct netdev_class dp_capture_sink_class = {
    .type = "capture-sink",
    .send = dp_capture_sink_send,
    .tx_offloads = dp_capture_sink_tx_offloads,
};

/* Delivers a tx record whose packet carries offload state the port cannot
 * take as the segments (or filled checksum) the port really sent.
 * Returns false if it cannot (truncated copy): deliver as is. */
static bool
dp_capture_deliver_resolved(struct dpif_capture *tap,
                            const struct dp_capture_rec *rec,
                            dpif_capture_cb *cb, void *aux)
{
    struct dp_capture_sink sink = {
        .up = { .class = &dp_capture_sink_class, .name = "capture",
                .type = "capture-sink" },
        .tap = tap, .rec = rec, .cb = cb, .aux = aux,
    };
    struct dp_packet_batch batch;
    struct dp_packet *p;
    uint64_t dropped = 0;

    if (rec->cap_len != rec->orig_len) {
        return false;
    }
    p = dp_packet_clone_data(rec + 1, rec->cap_len);
    p->ofl.flags = rec->ofl_flags;
    p->ofl.gso_type = rec->gso_type;
    p->ofl.gso_size = rec->gso_size;
    p->ofl.csum_start = rec->csum_start;
    p->ofl.csum_offset = rec->csum_offset;
    dp_packet_batch_init(&batch);
    dp_packet_batch_add(&batch, p);
    if (!netdev_batch_needs_resolve(&batch, tap->tx_offloads)) {
        dp_packet_delete(p);
        return false;
    }
    if (!tap->seg_pool) {
        tap->seg_pool = dp_packet_pool_create("capture-seg",
                                              DP_CAPTURE_SEG_N,
                                              DP_CAPTURE_SEG_BUF);
    }
    netdev_send_resolving(&sink.up, &batch, tap->seg_pool, &dropped);
    tap->n_seg_dropped += dropped;
    return true;
}

size_t
dpif_capture_poll(struct dpif_capture *tap, size_t max,
                  dpif_capture_cb *cb, void *aux)
{
    size_t n = 0;

    while (n < max) {
        const struct dp_capture_rec *rx, *tx, *rec;
        struct dp_capture_ring *ring;

        rx = dp_capture_ring_peek(&tap->rings[0]);
        tx = dp_capture_ring_peek(&tap->rings[1]);
        if (!rx && !tx) {
            break;
        }
        rec = !tx || (rx && rx->ts_ns <= tx->ts_ns) ? rx : tx;
        ring = &tap->rings[rec == tx];
        if (rec->dir != DPIF_CAPTURE_TX
            || !(rec->ofl_flags & DP_OFL_CSUM_PARTIAL
                 || rec->gso_type != DP_GSO_NONE)
            || !dp_capture_deliver_resolved(tap, rec, cb, aux)) {
            dp_capture_deliver(tap, rec, rec + 1, rec->orig_len,
                               rec->cap_len, cb, aux);
        }
        dp_capture_ring_pop(ring);
        n++;
    }
    return n;
}
