/* dp-capture: packet capture taps, the datapath side of dpif_capture_*
 * (contract in dpif.h).
 *
 * What.  A tap copies packets that pass one port, in one or both
 * directions, that match its BPF filter, into one bounded byte ring per
 * direction.  A port's taps are an immutable set (struct
 * dp_capture_port) that port->capture points to while at least one tap
 * exists; NULL otherwise, so a port without taps costs the packet path a
 * single load per batch.
 *
 * Who calls it.  dp-worker.c calls dp_capture_rx() for each received
 * batch (the receiving worker, before flow extraction) and
 * dp_capture_tx() for each batch it hands to a port (with the port's tx
 * mutex held).  dpif.c calls dp_capture_port_gone() when a port is
 * removed.  The main thread drives the taps through dpif_capture_*().
 *
 * Threads.  Each ring has exactly one producer at a time: the rx ring is
 * written by the port's receiving worker (under its mutex; a port moves
 * between workers only under both mutexes), the tx ring by whoever holds
 * the port's tx mutex.  The consumer is the main thread.  Head and tail
 * are published with release stores and read with acquire loads; the
 * producer never waits: when the ring lacks room it drops the copy and
 * counts it.  The set pointer is replaced by the main thread, which
 * frees the old set (or a stopped tap) only after every worker has been
 * between two passes once (locked and unlocked), so no reader still
 * holds it. */
#ifndef TS_DP_CAPTURE_H
#define TS_DP_CAPTURE_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "dp-packet.h"

struct dp_port;
struct dp_capture_port;

/* Packet path hooks.  'cap' is the value loaded from port->capture
 * (nonnull).  The batch is only read. */
void dp_capture_rx(struct dp_capture_port *cap,
                   const struct dp_packet_batch *batch);
void dp_capture_tx(struct dp_capture_port *cap,
                   const struct dp_packet_batch *batch);

/* Main thread, after 'port' left the port table and the workers were
 * quiesced (or stopped): detaches every tap of 'port' and frees its
 * set. */
void dp_capture_port_gone(struct dp_port *port);

/* ---- Ring (exposed for the unit tests) --------------------------------
 *
 * Records are 8-byte aligned and contiguous: one that would cross the
 * end of the buffer is preceded by a filler record up to the end. */
#define DP_CAPTURE_REC_PAD UINT32_MAX   /* 'cap_len' of a filler record */

struct dp_capture_rec {
    uint32_t len;               /* record bytes, header included, 8k */
    uint32_t cap_len;           /* bytes that follow, or REC_PAD */
    uint32_t orig_len;          /* packet length on the port */
    uint8_t dir;                /* DPIF_CAPTURE_RX or _TX */
    uint8_t ofl_flags;          /* the packet's offload state */
    uint8_t gso_type;
    uint8_t pad;
    uint64_t ts_ns;
    uint16_t gso_size;
    uint16_t csum_start;
    uint16_t csum_offset;
    uint16_t pad2;
    /* 'cap_len' bytes of packet follow. */
};

struct dp_capture_ring {
    uint8_t *buf;
    uint64_t size;              /* power of 2 */
    /* Producer's cache line. */
    uint64_t head;              /* bytes ever written (release) */
    uint64_t n_put;             /* records written (relaxed) */
    uint64_t n_dropped;         /* records refused: no room (relaxed) */
    uint8_t pad_[64];
    /* Consumer's. */
    uint64_t tail;              /* bytes ever consumed (release) */
};

/* 'size' is rounded up to a power of 2 (at least 64). */
void dp_capture_ring_init(struct dp_capture_ring *, size_t size);
void dp_capture_ring_release(struct dp_capture_ring *);
/* Producer: appends a record made of 'hdr' (len and cap_len are filled
 * here from 'cap_len') and 'cap_len' bytes of 'data'.  Returns false,
 * counting a drop, if it does not fit now, or ever (a record over half
 * the ring). */
bool dp_capture_ring_put(struct dp_capture_ring *,
                         const struct dp_capture_rec *hdr,
                         const void *data, uint32_t cap_len);
/* Consumer: the oldest record (borrowed until the pop), or NULL. */
const struct dp_capture_rec *dp_capture_ring_peek(struct dp_capture_ring *);
void dp_capture_ring_pop(struct dp_capture_ring *);

#endif /* dp-capture.h */
