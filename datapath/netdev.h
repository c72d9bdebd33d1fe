/* netdev: the datapath's port providers (internal to datapath/).
 *
 * A netdev is one open port: an AF_XDP socket, an AF_PACKET ring, a TAP
 * device, a pcap file pair or a dummy.  The datapath opens it from the
 * main thread, then one worker thread receives from it; any thread may
 * send to it while holding the port's tx lock (kept by the datapath, not
 * here), so providers need no locking of their own.
 *
 * Receive fills a batch with packets from the netdev's own pool; those
 * packets belong to the receiving thread, which frees them with
 * dp_packet_delete().  Send consumes every packet of the batch (sent or
 * dropped and counted) and leaves the batch empty. */
#ifndef TS_NETDEV_H
#define TS_NETDEV_H 1

#include <stdbool.h>
#include <stdint.h>
#include "dp-packet.h"
#include "packets.h"
#include "smap.h"

/* What a port accepts on transmit. */
enum netdev_tx_offload {
    NETDEV_TX_CSUM = 1 << 0,   /* partial L4 checksums (DP_OFL_CSUM_PARTIAL) */
    NETDEV_TX_TSO = 1 << 1,    /* GSO TCP segments larger than the MTU */
    NETDEV_TX_UFO = 1 << 2,    /* GSO UDP_L4 */
};

struct netdev_stats {
    uint64_t rx_packets, rx_bytes, rx_dropped, rx_errors;
    uint64_t tx_packets, tx_bytes, tx_dropped, tx_errors;
};

struct netdev;

struct netdev_class {
    const char *type;           /* "afxdp", "afpacket", "tap", ... */

    /* Opens port 'name' with 'options'.  On failure returns a negative
     * errno and sets '*errp' to a malloc'ed message (caller frees) that
     * names the problem ("no such device"), having undone everything it
     * did. */
    int (*open)(const char *name, const struct smap *options,
                struct netdev **, char **errp);
    /* Closes and frees; removes what open created (a TAP it made, an XDP
     * program it attached).  Every packet received from the port must
     * have been freed first: its buffers (AF_XDP: the UMEM) go too. */
    void (*close)(struct netdev *);
    /* A descriptor that polls readable when packets wait, or -1 if the
     * port never receives (dummy, pcap tx-only). */
    int (*rx_fd)(struct netdev *);
    /* Receives up to NETDEV_MAX_BURST packets into 'batch' (which is
     * empty on entry).  Returns the number received (0 if none is
     * waiting) or a negative errno. */
    int (*recv)(struct netdev *, struct dp_packet_batch *);
    /* Sends and consumes every packet in 'batch'.  Offloads beyond
     * tx_offloads() have already been resolved by the caller. */
    void (*send)(struct netdev *, struct dp_packet_batch *);
    void (*get_stats)(const struct netdev *, struct netdev_stats *);
    uint32_t (*tx_offloads)(const struct netdev *);
    /* Optional. */
    int (*get_mac)(const struct netdev *, struct eth_addr *);
    int (*get_mtu)(const struct netdev *, int *mtu);
    /* Optional: called periodically from the receiving thread while idle
     * (AF_XDP completion rings, pcap replay pacing). */
    void (*run)(struct netdev *);
};

/* Base of every provider's struct (embedded first). */
struct netdev {
    const struct netdev_class *class;
    char *name;
    char *type;
};

/* Registry. */
const struct netdev_class *netdev_lookup_class(const char *type);
/* The type used when none is given: "afxdp" where the kernel and device
 * allow it (AF_XDP sockets available, the device exists and its MTU fits
 * one 4 KB UMEM frame), else "afpacket". */
const char *netdev_default_type(const char *name);

/* Dispatch helpers.  'type' may be NULL: netdev_default_type() then
 * chooses, and if that is "afxdp" and opening fails (no XDP on the
 * device, MTU too large), netdev_open() falls back to "afpacket".
 * 'options' may be NULL (no options). */
int netdev_open(const char *name, const char *type,
                const struct smap *options, struct netdev **, char **errp);
void netdev_close(struct netdev *);

/* Makes every packet in 'batch' acceptable to a port with 'tx_offloads':
 * fills partial checksums the port cannot take and segments GSO packets
 * it cannot take, using 'pool' for the segments.  Packets that cannot be
 * fixed are dropped and counted in '*dropped'. */
void netdev_resolve_offloads(struct dp_packet_batch *batch,
                             uint32_t tx_offloads,
                             struct dp_packet_pool *pool,
                             uint64_t *dropped);
/* Note: a 64 KB GSO packet becomes up to 45 segments at a 1448-byte MSS,
 * more than one batch holds; netdev_resolve_offloads() drops (and counts)
 * segments that do not fit in 'batch'.  The datapath's output path should
 * use netdev_send_resolving() instead, which has no such limit. */

/* True if some packet of 'batch' needs netdev_resolve_offloads() for a
 * port with 'tx_offloads' (cheap: flags only). */
bool netdev_batch_needs_resolve(const struct dp_packet_batch *batch,
                                uint32_t tx_offloads);
/* Resolves the offloads 'netdev' cannot take (as above) and sends the
 * result with netdev->class->send(), in as many batches as segmentation
 * needs.  Consumes every packet of 'batch' and leaves it empty.  Call it
 * with the port's tx lock held, like send(); 'pool' must be owned by the
 * calling thread and have buffers of at least the MTU plus headers. */
void netdev_send_resolving(struct netdev *netdev,
                           struct dp_packet_batch *batch,
                           struct dp_packet_pool *pool, uint64_t *dropped);

/* The dummy provider, for tests: packets injected are received by the
 * datapath as if from the wire; packets sent are queued for collection.
 * Both functions are thread-safe. */
int netdev_dummy_inject(struct netdev *, const void *frame, size_t len);
/* Moves up to 'max' sent packets into 'out' (caller frees); returns the
 * number moved. */
size_t netdev_dummy_collect(struct netdev *, struct dp_packet **out,
                            size_t max);

#endif /* netdev.h */
