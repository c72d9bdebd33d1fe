/* netdev-afpacket: a port on an existing Linux interface through an
 * AF_PACKET socket.
 *
 * PACKET_VNET_HDR is on, so TCP segments of up to 64 KB (GRO/GSO) and
 * partial checksums arrive as one frame preceded by a virtio-net header.
 * Two receive modes (option rx-mode):
 * - "ring": a TPACKET_V3 ring.  No system call while traffic
 *   flows.  Ordinary frames are copied out of the ring into the port's
 *   pools.  GSO frames (TCP segments of up to 64 KB) are not: copying
 *   them cost a tenth of the worker's time on a TCP stream, so they are
 *   handed out in place, as packets whose buffer is the ring frame (with
 *   PACKET_RESERVE headroom in front), and their block goes back to the
 *   kernel once it is read and every such packet of it is freed.  A GSO
 *   frame is never an IP fragment, so no reassembly queue holds one, and
 *   the datapath frees received packets within the pass: a block is
 *   pinned for microseconds.  The kernel wakes a poller only when it
 *   retires a block, which an idle port's timer does after 1 ms: each
 *   hop adds up to 1 ms of latency.
 * - "mmsg" (default): recvmmsg() of up to a batch per call, straight
 *   into pool buffers (a spare 64 KB buffer per slot; small frames are
 *   copied out into small buffers).  One system call per batch, but the
 *   kernel wakes the poller per packet: latency of a few microseconds.
 *   Measured through two namespaces, it beats the ring on TCP too (15 vs
 *   12-13 Gbit/s, ping 0.07-0.1 ms vs 0.8-1.9 ms: TCP's ACK clock suffers
 *   from the ring's block timer); the ring delivers more of a 64-byte UDP
 *   flood (about 310 vs 210 kpps).
 * Transmit is one sendmmsg() per batch, each message being the virtio-net
 * header then the frame, so the kernel segments GSO frames and fills
 * partial checksums itself.
 *
 * PACKET_IGNORE_OUTGOING keeps our own transmissions out of the ring;
 * the interface is put in promiscuous mode through a packet membership,
 * which the kernel drops when the socket closes.
 *
 * Threads: recv and run belong to the receiving thread; send is called
 * with the datapath's per-port tx lock held, so the tx scratch arrays
 * need no lock of their own. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "log.h"
#include "netdev-private.h"
#include "util.h"

TS_LOG_DEFINE(netdev_afpacket);

/* 16 blocks of 256 KB: 4 MB per port, room for about 60 full-size GSO
 * frames or 2,000 small ones.  A frame must fit in one block. */
#define AFP_BLOCK_SIZE (256 * 1024)
#define AFP_N_BLOCKS 16
#define AFP_FRAME_SIZE 2048     /* only for the kernel's sanity checks */
#define AFP_BLOCK_TOV_MS 1

#define AFP_N_INPLACE 256       /* GSO frames handed out in place */
#define AFP_N_SMALL 1024
#define AFP_N_LARGE 64
#define AFP_MMSG_N_LARGE (64 + NETDEV_MAX_BURST)
#define AFP_MMSG_RCVBUF (8 * 1024 * 1024)
#define AFP_CMSG_SIZE CMSG_SPACE(sizeof(struct tpacket_auxdata))

struct netdev_afpacket {
    struct netdev up;
    int fd;
    int ifindex;

    bool use_ring;              /* rx-mode=ring, else mmsg */

    /* Receive ring: owned by the receiving thread. */
    uint8_t *ring;
    size_t ring_size;
    unsigned int cur_block;
    struct tpacket3_hdr *next_frame; /* next unread frame in cur_block */
    unsigned int frames_left;        /* unread frames in cur_block */
    struct netdev_rx_pools pools;
    /* In-place packets (ring mode): packet structs whose buffer is a ring
     * frame.  A block goes back to the kernel when it has been read
     * ('block_read') and none of its packets is out ('block_refs'). */
    struct dp_packet_pool *inplace;
    uint16_t block_refs[AFP_N_BLOCKS];
    bool block_read[AFP_N_BLOCKS];

    /* Receive with recvmmsg (rx-mode=mmsg): the receiving thread's.  Each
     * slot holds a spare large packet, or NULL while the pool is dry. */
    struct dp_packet *rx_slot[NETDEV_MAX_BURST];
    uint32_t rx_unarmed;        /* bit k: rx_msgs[k] must be re-armed */
    struct mmsghdr rx_msgs[NETDEV_MAX_BURST];
    struct iovec rx_iovs[NETDEV_MAX_BURST][2];
    struct netdev_vnet_hdr rx_vhs[NETDEV_MAX_BURST];
    union {
        char buf[AFP_CMSG_SIZE];
        struct cmsghdr align;
    } rx_cmsg[NETDEV_MAX_BURST];

    struct netdev_stats stats;
    /* Frames the kernel dropped for want of ring or socket buffer space
     * (PACKET_STATISTICS resets on read, so get_stats accumulates). */
    uint64_t kernel_drops;

    /* Transmit scratch: used under the datapath's tx lock. */
    struct mmsghdr msgs[NETDEV_MAX_BURST];
    struct iovec iovs[NETDEV_MAX_BURST][2];
    struct netdev_vnet_hdr vhs[NETDEV_MAX_BURST];
};

static struct netdev_afpacket *
netdev_afpacket_cast(const struct netdev *netdev)
{
    return CONTAINER_OF(netdev, struct netdev_afpacket, up);
}

static struct tpacket_block_desc *
afp_block(const struct netdev_afpacket *dev, unsigned int i)
{
    return (struct tpacket_block_desc *) (void *)
           (dev->ring + (size_t) i * AFP_BLOCK_SIZE);
}

static int
afp_setsockopt(int fd, int level, int opt, const void *val, socklen_t len,
               const char *what, const char *name, char **errp)
{
    int err;

    if (setsockopt(fd, level, opt, val, len) < 0) {
        err = -errno;
        *errp = netdev_open_error("afpacket", name, err, what);
        return err;
    }
    return 0;
}

_Static_assert(NETDEV_MAX_BURST <= 32, "rx_unarmed is a 32-bit mask");

/* Sets up the TPACKET_V3 receive ring (rx-mode=ring). */
static int
afp_setup_ring(struct netdev_afpacket *dev, const char *name, char **errp)
{
    struct tpacket_req3 req = {
        .tp_block_size = AFP_BLOCK_SIZE,
        .tp_block_nr = AFP_N_BLOCKS,
        .tp_frame_size = AFP_FRAME_SIZE,
        .tp_frame_nr = AFP_BLOCK_SIZE / AFP_FRAME_SIZE * AFP_N_BLOCKS,
        .tp_retire_blk_tov = AFP_BLOCK_TOV_MS,
    };
    int version = TPACKET_V3, err;
    unsigned int reserve = DP_PACKET_HEADROOM;

    /* The reserve puts headroom in front of each frame (before its
     * virtio-net header) for in-place packets' pushed headers. */
    if ((err = afp_setsockopt(dev->fd, SOL_PACKET, PACKET_VERSION,
                              &version, sizeof version, "PACKET_VERSION",
                              name, errp))
        || (err = afp_setsockopt(dev->fd, SOL_PACKET, PACKET_RESERVE,
                                 &reserve, sizeof reserve, "PACKET_RESERVE",
                                 name, errp))
        || (err = afp_setsockopt(dev->fd, SOL_PACKET, PACKET_RX_RING, &req,
                                 sizeof req, "PACKET_RX_RING", name, errp))) {
        return err;
    }
    dev->ring_size = (size_t) req.tp_block_size * req.tp_block_nr;
    dev->ring = mmap(NULL, dev->ring_size, PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_POPULATE, dev->fd, 0);
    if (dev->ring == MAP_FAILED) {
        dev->ring = NULL;
        err = -errno;
        *errp = netdev_open_error("afpacket", name, err, "cannot map ring");
        return err;
    }
    return 0;
}

/* Prepares plain recvmmsg() receive (rx-mode=mmsg). */
static int
afp_setup_mmsg(struct netdev_afpacket *dev, const char *name, char **errp)
{
    int rcvbuf = AFP_MMSG_RCVBUF, one = 1;

    /* Room for a burst of 64 KB frames; FORCE needs CAP_NET_ADMIN. */
    if (setsockopt(dev->fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf,
                   sizeof rcvbuf) < 0) {
        setsockopt(dev->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    }
    return afp_setsockopt(dev->fd, SOL_PACKET, PACKET_AUXDATA, &one,
                          sizeof one, "PACKET_AUXDATA", name, errp);
}

static int
afp_setup_socket(struct netdev_afpacket *dev, const char *name, char **errp)
{
    struct packet_mreq mreq = {
        .mr_ifindex = dev->ifindex,
        .mr_type = PACKET_MR_PROMISC,
    };
    struct sockaddr_ll sll = {
        .sll_family = AF_PACKET,
        .sll_protocol = htons(ETH_P_ALL),
        .sll_ifindex = dev->ifindex,
    };
    int one = 1, err;

    /* Protocol 0: nothing is queued until bind() below. */
    dev->fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (dev->fd < 0) {
        err = -errno;
        *errp = netdev_open_error("afpacket", name, err,
                                  "cannot create socket");
        return err;
    }
    if ((err = afp_setsockopt(dev->fd, SOL_PACKET, PACKET_VNET_HDR, &one,
                              sizeof one, "PACKET_VNET_HDR", name, errp))
        || (err = dev->use_ring ? afp_setup_ring(dev, name, errp)
                                : afp_setup_mmsg(dev, name, errp))) {
        return err;
    }
    if ((err = afp_setsockopt(dev->fd, SOL_PACKET, PACKET_IGNORE_OUTGOING,
                              &one, sizeof one, "PACKET_IGNORE_OUTGOING",
                              name, errp))) {
        return err;
    }
    if (bind(dev->fd, (struct sockaddr *) &sll, sizeof sll) < 0) {
        err = -errno;
        *errp = netdev_open_error("afpacket", name, err, "cannot bind");
        return err;
    }
    return afp_setsockopt(dev->fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mreq,
                          sizeof mreq, "cannot set promiscuous mode", name,
                          errp);
}

static void
netdev_afpacket_close(struct netdev *netdev)
{
    struct netdev_afpacket *dev;

    if (!netdev) {
        return;
    }
    dev = netdev_afpacket_cast(netdev);
    if (dev->ring) {
        munmap(dev->ring, dev->ring_size);
    }
    if (dev->fd >= 0) {
        close(dev->fd);
    }
    dp_packet_pool_destroy(dev->inplace);
    for (size_t i = 0; i < NETDEV_MAX_BURST; i++) {
        if (dev->rx_slot[i]) {
            dp_packet_pool_put(dev->rx_slot[i]);
        }
    }
    netdev_rx_pools_destroy(&dev->pools);
    netdev_release_base(&dev->up);
    free(dev);
}

/* Returns block 'b' to the kernel if it is read and no packet holds it. */
static void
afp_block_maybe_return(struct netdev_afpacket *dev, unsigned int b)
{
    if (dev->block_read[b] && !dev->block_refs[b]) {
        dev->block_read[b] = false;
        __atomic_store_n(&afp_block(dev, b)->hdr.bh1.block_status,
                         TP_STATUS_KERNEL, __ATOMIC_RELEASE);
    }
}

/* Release hook of the in-place pool: runs on the receiving thread, which
 * owns the ring (see netdev.h: packets are freed by their receiver). */
static void
afp_inplace_release(struct dp_packet *p, void *dev_)
{
    struct netdev_afpacket *dev = dev_;
    unsigned int b = (p->base - dev->ring) / AFP_BLOCK_SIZE;

    dev->block_refs[b]--;
    afp_block_maybe_return(dev, b);
    dp_packet_pool_put(p);
}

static int
afp_inplace_create(struct netdev_afpacket *dev)
{
    /* Only the structs are used; their own buffers are minimal. */
    dev->inplace = dp_packet_pool_create(dev->up.name, AFP_N_INPLACE,
                                         DP_PACKET_HEADROOM + 64);
    if (!dev->inplace) {
        return -ENOMEM;
    }
    dp_packet_pool_set_release(dev->inplace, afp_inplace_release, dev);
    return 0;
}

static int
netdev_afpacket_open(const char *name, const struct smap *options,
                     struct netdev **netdevp, char **errp)
{
    static const char *const allowed[] = { "rx-mode", NULL };
    const char *mode = smap_get_def(options, "rx-mode", "mmsg");
    struct netdev_afpacket *dev;
    int err;

    *netdevp = NULL;
    err = netdev_check_options("afpacket", options, allowed, errp);
    if (err) {
        return err;
    }
    if (strcmp(mode, "ring") && strcmp(mode, "mmsg")) {
        *errp = xasprintf("afpacket port '%s': bad rx-mode '%s' (expected "
                          "ring or mmsg)", name, mode);
        return -EINVAL;
    }
    dev = xzalloc(sizeof *dev);
    netdev_init_base(&dev->up, &netdev_afpacket_class, name);
    dev->fd = -1;
    dev->use_ring = !strcmp(mode, "ring");
    err = netdev_linux_ifindex(name, &dev->ifindex);
    if (err) {
        *errp = netdev_open_error("afpacket", name, err, NULL);
        goto error;
    }
    err = netdev_rx_pools_create(&dev->pools, name, AFP_N_SMALL,
                                 dev->use_ring ? AFP_N_LARGE
                                 : AFP_MMSG_N_LARGE);
    if (err) {
        *errp = netdev_open_error("afpacket", name, err, "no memory");
        goto error;
    }
    err = afp_setup_socket(dev, name, errp);
    if (err) {
        goto error;
    }
    if (dev->use_ring) {
        err = afp_inplace_create(dev);
        if (err) {
            *errp = netdev_open_error("afpacket", name, err, "no memory");
            goto error;
        }
    }
    for (size_t i = 0; i < NETDEV_MAX_BURST; i++) {
        dev->msgs[i].msg_hdr.msg_iov = dev->iovs[i];
        dev->msgs[i].msg_hdr.msg_iovlen = 2;
        dev->iovs[i][0].iov_base = &dev->vhs[i];
        dev->iovs[i][0].iov_len = sizeof dev->vhs[i];
        dev->rx_msgs[i].msg_hdr.msg_iov = dev->rx_iovs[i];
        dev->rx_msgs[i].msg_hdr.msg_iovlen = 2;
        dev->rx_iovs[i][0].iov_base = &dev->rx_vhs[i];
        dev->rx_iovs[i][0].iov_len = sizeof dev->rx_vhs[i];
        if (!dev->use_ring) {
            dev->rx_slot[i] = dp_packet_pool_get(dev->pools.large);
        }
    }
    dev->rx_unarmed = UINT32_MAX;
    TS_INFO("afpacket port '%s' opened (ifindex %d, rx-mode %s)", name,
            dev->ifindex, mode);
    *netdevp = &dev->up;
    return 0;

error:
    netdev_afpacket_close(&dev->up);
    return err;
}

static int
netdev_afpacket_rx_fd(struct netdev *netdev)
{
    return netdev_afpacket_cast(netdev)->fd;
}

/* Puts the VLAN tag that the kernel moved into metadata back into 'p'
 * (whose offload state is already set: csum_start shifts with it). */
static void
afp_insert_vlan(struct dp_packet *p, uint16_t tpid, uint16_t tci)
{
    uint8_t *d = dp_packet_push_uninit(p, 4);

    memmove(d, d + 4, 2 * ETH_ALEN);
    d[12] = tpid >> 8;
    d[13] = tpid;
    d[14] = tci >> 8;
    d[15] = tci;
}

/* Makes an in-place packet of GSO frame 'h' of block 'b' (virtio-net
 * header 'vh'), or returns NULL if no struct is free (the caller then
 * copies).  Its buffer runs from the frame's start to the next frame (or
 * the block's end): headroom is the PACKET_RESERVE and the frame's own
 * header, already read; tailroom is the padding before the next frame. */
static struct dp_packet *
afp_rx_inplace(struct netdev_afpacket *dev, struct tpacket3_hdr *h,
               unsigned int b, const struct netdev_vnet_hdr *vh)
{
    uint8_t *block_end = (uint8_t *) afp_block(dev, b) + AFP_BLOCK_SIZE;
    uint8_t *end = h->tp_next_offset ? (uint8_t *) h + h->tp_next_offset
                                     : block_end;
    struct dp_packet *p;

    if (h->tp_mac < DP_PACKET_HEADROOM || end > block_end
        || (uint8_t *) h + h->tp_mac + h->tp_snaplen > end) {
        return NULL;
    }
    p = dp_packet_pool_get(dev->inplace);
    if (!p) {
        return NULL;
    }
    if (OVS_UNLIKELY(!netdev_vnet_to_ofl(vh, h->tp_snaplen, &p->ofl))) {
        dp_packet_pool_put(p);
        return NULL;
    }
    p->base = (uint8_t *) h;
    p->allocated = end - (uint8_t *) h;
    p->data_ofs = h->tp_mac;
    p->size = h->tp_snaplen;
    p->l3_ofs = p->l4_ofs = DP_PACKET_OFS_NONE;
    p->in_port = 0;
    p->rss_hash = 0;
    p->rss_valid = false;
    p->ct_conn = NULL;
    dev->block_refs[b]++;
    return p;
}

/* Turns one ring frame of block 'b' into a packet, in place (GSO) or
 * copied; returns NULL (and counts) if it must be dropped. */
static struct dp_packet *
afp_rx_frame(struct netdev_afpacket *dev, struct tpacket3_hdr *h,
             unsigned int b)
{
    const uint8_t *frame = (const uint8_t *) h + h->tp_mac;
    const struct netdev_vnet_hdr *vh;
    struct dp_packet_pool *pool;
    struct dp_packet *p;
    uint32_t len = h->tp_snaplen;
    bool vlan = h->tp_status & TP_STATUS_VLAN_VALID;

    if (OVS_UNLIKELY(len != h->tp_len || len < ETH_HLEN
                     || h->tp_mac < sizeof *vh)) {
        dev->stats.rx_errors++;
        return NULL;
    }
    vh = (const struct netdev_vnet_hdr *) (const void *) (frame - sizeof *vh);
    if (vh->gso_type != NETDEV_VNET_GSO_NONE && dev->inplace) {
        p = afp_rx_inplace(dev, h, b, vh);
        if (p) {
            goto done;
        }
    }
    pool = len + 4 + DP_PACKET_HEADROOM <= NETDEV_SMALL_BUF
           ? dev->pools.small : dev->pools.large;
    p = dp_packet_pool_get(pool);
    if (OVS_UNLIKELY(!p)) {
        dev->stats.rx_dropped++;
        return NULL;
    }
    if (OVS_UNLIKELY(!netdev_vnet_to_ofl(vh, len, &p->ofl))) {
        dev->stats.rx_errors++;
        dp_packet_pool_put(p);
        return NULL;
    }
    dp_packet_put(p, frame, len);
done:
    if (vlan) {
        /* The kernel took the tag out into metadata: put it back. */
        afp_insert_vlan(p, h->tp_status & TP_STATUS_VLAN_TPID_VALID
                           ? h->hv1.tp_vlan_tpid : ETH_P_8021Q,
                        h->hv1.tp_vlan_tci);
    }
    return p;
}

/* Handles message 'k' of a recvmmsg() of 'len' bytes in slot 'k'. */
static struct dp_packet *
afp_mmsg_frame(struct netdev_afpacket *dev, uint32_t k, uint32_t len)
{
    struct msghdr *mh = &dev->rx_msgs[k].msg_hdr;
    struct dp_packet *p = dev->rx_slot[k], *q;
    struct cmsghdr *cmsg;

    if (OVS_UNLIKELY(len < sizeof dev->rx_vhs[k] + ETH_HLEN
                     || (mh->msg_flags & MSG_TRUNC))) {
        dev->stats.rx_errors++;
        return NULL;
    }
    len -= sizeof dev->rx_vhs[k];
    dp_packet_reset(p);
    dp_packet_set_size(p, len);
    if (OVS_UNLIKELY(!netdev_vnet_to_ofl(&dev->rx_vhs[k], len, &p->ofl))) {
        dev->stats.rx_errors++;
        return NULL;
    }
    if (len + 4 + DP_PACKET_HEADROOM <= NETDEV_SMALL_BUF
        && (q = dp_packet_pool_get(dev->pools.small))) {
        dp_packet_put(q, dp_packet_data(p), len);
        q->ofl = p->ofl;
    } else {
        q = p;
        dev->rx_slot[k] = dp_packet_pool_get(dev->pools.large);
    }
    for (cmsg = CMSG_FIRSTHDR(mh); cmsg; cmsg = CMSG_NXTHDR(mh, cmsg)) {
        const struct tpacket_auxdata *aux;

        if (cmsg->cmsg_level != SOL_PACKET
            || cmsg->cmsg_type != PACKET_AUXDATA
            || cmsg->cmsg_len < CMSG_LEN(sizeof *aux)) {
            continue;
        }
        aux = (const void *) CMSG_DATA(cmsg);
        if (aux->tp_status & TP_STATUS_VLAN_VALID) {
            afp_insert_vlan(q, aux->tp_status & TP_STATUS_VLAN_TPID_VALID
                               ? aux->tp_vlan_tpid : ETH_P_8021Q,
                            aux->tp_vlan_tci);
        }
    }
    return q;
}

static int
afp_recv_mmsg(struct netdev_afpacket *dev, struct dp_packet_batch *batch)
{
    struct mmsghdr *msgs = dev->rx_msgs;
    struct mmsghdr gathered[NETDEV_MAX_BURST];
    uint32_t map[NETDEV_MAX_BURST], n = NETDEV_MAX_BURST;
    int r;

    /* A slot stays armed (buffer and iovec set, control length and flags
     * reset) until the kernel fills it.  The kernel writes only to the
     * messages it fills, so a call re-arms just those: one that got one
     * frame touches one slot, not all 32 and their buffers' headers. */
    for (uint32_t todo = dev->rx_unarmed; todo; todo &= todo - 1) {
        uint32_t k = __builtin_ctz(todo);

        if (!dev->rx_slot[k]) {
            dev->rx_slot[k] = dp_packet_pool_get(dev->pools.large);
            if (!dev->rx_slot[k]) {
                continue;       /* pool dry: stays unarmed */
            }
        }
        dev->rx_iovs[k][1].iov_base = dev->rx_slot[k]->base
                                      + DP_PACKET_HEADROOM;
        dev->rx_iovs[k][1].iov_len = dev->rx_slot[k]->allocated
                                     - DP_PACKET_HEADROOM;
        dev->rx_msgs[k].msg_hdr.msg_control = dev->rx_cmsg[k].buf;
        dev->rx_msgs[k].msg_hdr.msg_controllen = AFP_CMSG_SIZE;
        dev->rx_msgs[k].msg_hdr.msg_flags = 0;
        dev->rx_unarmed &= ~(1u << k);
    }
    if (OVS_UNLIKELY(dev->rx_unarmed)) {
        /* Some slots have no buffer: receive into the armed ones only. */
        n = 0;
        for (uint32_t k = 0; k < NETDEV_MAX_BURST; k++) {
            if (!(dev->rx_unarmed & (1u << k))) {
                gathered[n] = dev->rx_msgs[k];
                map[n++] = k;
            }
        }
        if (!n) {
            return 0;
        }
        msgs = gathered;
    }
    do {
        r = recvmmsg(dev->fd, msgs, n, MSG_DONTWAIT, NULL);
    } while (r < 0 && errno == EINTR);
    if (r < 0) {
        if (errno != EAGAIN) {
            dev->stats.rx_errors++;
        }
        return 0;
    }
    for (int i = 0; i < r; i++) {
        uint32_t k = msgs == gathered ? map[i] : (uint32_t) i;
        struct dp_packet *p;

        if (msgs == gathered) {
            dev->rx_msgs[k] = gathered[i];
        }
        dev->rx_unarmed |= 1u << k;
        p = afp_mmsg_frame(dev, k, dev->rx_msgs[k].msg_len);
        if (p) {
            dev->stats.rx_packets++;
            dev->stats.rx_bytes += p->size;
            dp_packet_batch_add(batch, p);
        }
    }
    return batch->count;
}

static int
netdev_afpacket_recv(struct netdev *netdev, struct dp_packet_batch *batch)
{
    struct netdev_afpacket *dev = netdev_afpacket_cast(netdev);

    if (!dev->use_ring) {
        return afp_recv_mmsg(dev, batch);
    }
    while (!dp_packet_batch_is_full(batch)) {
        struct tpacket_block_desc *bd = afp_block(dev, dev->cur_block);

        if (!dev->next_frame) {
            if (!(__atomic_load_n(&bd->hdr.bh1.block_status,
                                  __ATOMIC_ACQUIRE) & TP_STATUS_USER)) {
                break;
            }
            dev->frames_left = bd->hdr.bh1.num_pkts;
            dev->next_frame = (struct tpacket3_hdr *) (void *)
                              ((uint8_t *) bd
                               + bd->hdr.bh1.offset_to_first_pkt);
        }
        while (dev->frames_left && !dp_packet_batch_is_full(batch)) {
            struct tpacket3_hdr *h = dev->next_frame;
            struct dp_packet *p = afp_rx_frame(dev, h, dev->cur_block);

            if (p) {
                dev->stats.rx_packets++;
                dev->stats.rx_bytes += p->size;
                dp_packet_batch_add(batch, p);
            }
            dev->frames_left--;
            dev->next_frame = (struct tpacket3_hdr *) (void *)
                              ((uint8_t *) h + h->tp_next_offset);
        }
        if (!dev->frames_left) {
            dev->block_read[dev->cur_block] = true;
            afp_block_maybe_return(dev, dev->cur_block);
            dev->next_frame = NULL;
            dev->cur_block = (dev->cur_block + 1) % AFP_N_BLOCKS;
        }
    }
    return batch->count;
}

static void
netdev_afpacket_send(struct netdev *netdev, struct dp_packet_batch *batch)
{
    struct netdev_afpacket *dev = netdev_afpacket_cast(netdev);
    uint32_t n = batch->count, i = 0;

    for (uint32_t k = 0; k < n; k++) {
        struct dp_packet *p = batch->packets[k];

        netdev_vnet_from_packet(p, &dev->vhs[k]);
        dev->iovs[k][1].iov_base = dp_packet_data(p);
        dev->iovs[k][1].iov_len = p->size;
    }
    while (i < n) {
        int r = sendmmsg(dev->fd, &dev->msgs[i], n - i, MSG_DONTWAIT);

        if (r > 0) {
            for (uint32_t k = i; k < i + (uint32_t) r; k++) {
                dev->stats.tx_bytes += batch->packets[k]->size;
            }
            dev->stats.tx_packets += r;
            i += r;
        } else if (r < 0 && errno == EINTR) {
            continue;
        } else if (r < 0 && (errno == EAGAIN || errno == ENOBUFS)) {
            /* Socket buffer full: drop the rest rather than wait. */
            dev->stats.tx_dropped += n - i;
            break;
        } else {
            /* This message is bad (too big, device down): skip it. */
            dev->stats.tx_errors++;
            i++;
        }
    }
    dp_packet_batch_delete(batch);
}

static void
netdev_afpacket_get_stats(const struct netdev *netdev,
                          struct netdev_stats *stats)
{
    struct netdev_afpacket *dev = netdev_afpacket_cast(netdev);
    struct tpacket_stats_v3 ks;
    socklen_t len = sizeof ks;

    /* Each read returns and resets a disjoint delta, and the sum is
     * atomic, so concurrent callers count every drop once. */
    if (!getsockopt(dev->fd, SOL_PACKET, PACKET_STATISTICS, &ks, &len)) {
        __atomic_add_fetch(&dev->kernel_drops, ks.tp_drops,
                           __ATOMIC_RELAXED);
    }
    *stats = dev->stats;
    stats->rx_dropped += __atomic_load_n(&dev->kernel_drops,
                                         __ATOMIC_RELAXED);
}

static uint32_t
netdev_afpacket_tx_offloads(const struct netdev *netdev)
{
    return NETDEV_TX_CSUM | NETDEV_TX_TSO;
}

static int
netdev_afpacket_get_mac(const struct netdev *netdev, struct eth_addr *mac)
{
    return netdev_linux_get_mac(netdev->name, mac);
}

static int
netdev_afpacket_get_mtu(const struct netdev *netdev, int *mtu)
{
    return netdev_linux_get_mtu(netdev->name, mtu);
}

const struct netdev_class netdev_afpacket_class = {
    .type = "afpacket",
    .open = netdev_afpacket_open,
    .close = netdev_afpacket_close,
    .rx_fd = netdev_afpacket_rx_fd,
    .recv = netdev_afpacket_recv,
    .send = netdev_afpacket_send,
    .get_stats = netdev_afpacket_get_stats,
    .tx_offloads = netdev_afpacket_tx_offloads,
    .get_mac = netdev_afpacket_get_mac,
    .get_mtu = netdev_afpacket_get_mtu,
};
