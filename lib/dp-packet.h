/* dp-packet: packet buffers, pools and batches for the packet path.
 *
 * A packet is a window [data, data + size) into a buffer that has
 * headroom in front (for pushed headers: VLAN tags, the virtio-net header
 * on transmit) and tailroom behind.  Buffers come from preallocated pools:
 * the packet path never allocates.
 *
 * Offload metadata follows virtio-net header semantics, so TAP and
 * AF_PACKET ports carry 64 KB TCP segments (GSO) and partial checksums
 * through the switch untouched; the switch segments or fills checksums
 * only when an action needs it or the output port cannot take them
 * (dp_packet_resolve_offloads in datapath/).
 *
 * Ownership: a pool and its packets belong to one thread (the worker that
 * receives on the port, or the main thread).  A packet is freed with
 * dp_packet_delete() by the thread that owns its pool; the pool's release
 * hook returns it (for AF_XDP: to the UMEM fill ring).  Packets from
 * dp_packet_new() (control plane, tests) are malloc'ed. */
#ifndef TS_DP_PACKET_H
#define TS_DP_PACKET_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "util.h"

#define NETDEV_MAX_BURST 32
#define DP_PACKET_HEADROOM 128     /* >= virtio-net hdr + 2 VLAN tags */
#define DP_PACKET_OFS_NONE UINT16_MAX

/* Offload state (virtio-net header semantics). */
enum dp_packet_ofl_flags {
    DP_OFL_CSUM_PARTIAL = 1 << 0, /* L4 checksum to be filled: the sum over
                                   * [csum_start, end) goes at csum_start +
                                   * csum_offset; pseudo-header sum is
                                   * already there. */
    DP_OFL_CSUM_VALID = 1 << 1,   /* L4 checksum verified by the sender. */
};
enum dp_packet_gso_type {
    DP_GSO_NONE = 0,
    DP_GSO_TCPV4 = 1,
    DP_GSO_TCPV6 = 2,
    DP_GSO_UDP_L4 = 3,
};
struct dp_packet_offload {
    uint8_t flags;          /* enum dp_packet_ofl_flags */
    uint8_t gso_type;       /* enum dp_packet_gso_type */
    uint16_t gso_size;      /* L4 payload bytes per segment, if GSO */
    uint16_t csum_start;    /* from start of packet data */
    uint16_t csum_offset;   /* from csum_start */
};

struct dp_packet_pool;

struct dp_packet {
    uint8_t *base;              /* start of buffer */
    uint32_t allocated;         /* bytes at 'base' */
    uint32_t data_ofs;          /* packet data starts at base + data_ofs */
    uint32_t size;              /* bytes of packet data */
    uint16_t l3_ofs;            /* from data start, or DP_PACKET_OFS_NONE */
    uint16_t l4_ofs;            /* from data start, or DP_PACKET_OFS_NONE */
    uint32_t in_port;           /* port the packet arrived on */
    uint32_t rss_hash;          /* valid if rss_valid */
    bool rss_valid;
    uint8_t source;             /* owner-defined (pool hook) */
    struct dp_packet_offload ofl;
    struct dp_packet_pool *pool; /* NULL: malloc'ed */
    uint64_t opaque;            /* owner-defined: AF_XDP UMEM address */
    void *ct_conn;              /* conntrack shortcut (conntrack issue) */
};

struct dp_packet_batch {
    uint32_t count;
    struct dp_packet *packets[NETDEV_MAX_BURST];
};

/* Pools.  'n' buffers of 'buf_size' bytes each (headroom included),
 * allocated once.  'release', if nonnull, is called instead of putting the
 * packet back on the free list (AF_XDP recycles UMEM frames). */
struct dp_packet_pool *dp_packet_pool_create(const char *name, size_t n,
                                             size_t buf_size);
void dp_packet_pool_destroy(struct dp_packet_pool *);
void dp_packet_pool_set_release(struct dp_packet_pool *,
                                void (*release)(struct dp_packet *, void *),
                                void *aux);
/* Returns a packet with DP_PACKET_HEADROOM headroom and size 0, or NULL
 * (and counts an exhaustion) when the pool is empty. */
struct dp_packet *dp_packet_pool_get(struct dp_packet_pool *);
/* Puts a packet back on its pool's free list, bypassing 'release'. */
void dp_packet_pool_put(struct dp_packet *);
size_t dp_packet_pool_available(const struct dp_packet_pool *);
uint64_t dp_packet_pool_exhausted(const struct dp_packet_pool *);
size_t dp_packet_pool_buf_size(const struct dp_packet_pool *);

/* Heap packets for the control plane and tests. */
struct dp_packet *dp_packet_new(size_t capacity);  /* + headroom */
struct dp_packet *dp_packet_clone_data(const void *, size_t);
/* Copies 'p' (data, offsets, offload, metadata) into a buffer from 'pool'
 * if nonnull, else the heap.  Returns NULL if the pool is empty. */
struct dp_packet *dp_packet_clone(const struct dp_packet *p,
                                  struct dp_packet_pool *pool);
void dp_packet_delete(struct dp_packet *);

static inline void *dp_packet_data(const struct dp_packet *p)
{
    return p->base + p->data_ofs;
}
static inline uint32_t dp_packet_size(const struct dp_packet *p)
{
    return p->size;
}
static inline void *dp_packet_tail(const struct dp_packet *p)
{
    return p->base + p->data_ofs + p->size;
}
static inline uint32_t dp_packet_headroom(const struct dp_packet *p)
{
    return p->data_ofs;
}
static inline uint32_t dp_packet_tailroom(const struct dp_packet *p)
{
    return p->allocated - p->data_ofs - p->size;
}
static inline void *dp_packet_l3(const struct dp_packet *p)
{
    return p->l3_ofs == DP_PACKET_OFS_NONE
           ? NULL : (uint8_t *) dp_packet_data(p) + p->l3_ofs;
}
static inline void *dp_packet_l4(const struct dp_packet *p)
{
    return p->l4_ofs == DP_PACKET_OFS_NONE
           ? NULL : (uint8_t *) dp_packet_data(p) + p->l4_ofs;
}
/* Bytes from the L4 header to the end, or 0. */
static inline uint32_t dp_packet_l4_size(const struct dp_packet *p)
{
    return p->l4_ofs == DP_PACKET_OFS_NONE ? 0 : p->size - p->l4_ofs;
}
/* Resets data to start after the default headroom, size 0, no offsets,
 * no offload state. */
void dp_packet_reset(struct dp_packet *);
void dp_packet_set_size(struct dp_packet *, uint32_t);
/* Grows the front by 'n' bytes (must fit in the headroom); returns the new
 * start.  Offsets and csum_start shift accordingly. */
void *dp_packet_push_uninit(struct dp_packet *, uint32_t n);
/* Removes 'n' bytes from the front; returns the new start. */
void *dp_packet_pull(struct dp_packet *, uint32_t n);
/* Appends 'n' bytes (must fit in the tailroom); returns their start. */
void *dp_packet_put_uninit(struct dp_packet *, uint32_t n);
void *dp_packet_put(struct dp_packet *, const void *, uint32_t n);

static inline void dp_packet_batch_init(struct dp_packet_batch *b)
{
    b->count = 0;
}
static inline bool dp_packet_batch_is_full(const struct dp_packet_batch *b)
{
    return b->count >= NETDEV_MAX_BURST;
}
static inline void
dp_packet_batch_add(struct dp_packet_batch *b, struct dp_packet *p)
{
    b->packets[b->count++] = p;
}
void dp_packet_batch_delete(struct dp_packet_batch *);
#define DP_PACKET_BATCH_FOR_EACH(I, P, B)                                \
    for (size_t I = 0; I < (B)->count && ((P) = (B)->packets[I], 1); I++)

#endif /* dp-packet.h */
