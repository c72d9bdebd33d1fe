/* netdev-afxdp: a port on an existing Linux interface through an AF_XDP
 * socket (libxdp), queue 0, copy mode (XDP_COPY) with
 * XDP_USE_NEED_WAKEUP.  libxdp attaches its default program, which
 * redirects every frame of queue 0 to our socket.
 *
 * Options: xdp-mode=native|generic|best-effort (default best-effort: try
 * the driver's XDP, then generic XDP); n_rxq_desc and n_txq_desc, the
 * number of receive and transmit frames, which is also the size of the
 * fill and rx rings, resp. the tx and completion rings (powers of 2).
 *
 * UMEM: n_rxq_desc + n_txq_desc frames of 4 KB.  The first n_rxq_desc
 * are for receive: each frame is in the fill ring, the rx ring, our
 * 'rx_free' stack or in a received dp_packet.  As there are exactly as
 * many rx frames as rx ring entries, a receiver that falls behind shows
 * up as "fill ring empty" drops (XDP_STATISTICS), not "rx ring full": the
 * frames are all waiting in the rx ring.  The rx ring is what absorbs the
 * times the receiving thread is not running (preemption on a busy host),
 * hence its large default.  Received frames are wrapped without copying:
 * the dp_packet points into the UMEM and its pool's release hook puts the
 * frame on 'rx_free', from which recv refills the fill ring in bulk.
 * The other n_txq_desc are for transmit: each frame is on 'tx_free', in
 * the tx ring or awaiting completion; send copies frames in, kicks the
 * kernel with one sendto() per batch when it asks for a wakeup, and reaps
 * the completion ring (as does run(), so frames come back while idle).
 * That sendto() also runs the receiving namespace's stack (veth delivers
 * in the sender's softirq), usually most of the cost of a packet.
 *
 * No offloads: AF_XDP frames carry no checksum or GSO metadata, so
 * tx_offloads is 0 and received frames have no offload state.  XDP on
 * veth limits the MTU to about one page; attaching fails beyond that and
 * open says so.
 *
 * Threads: recv, run and the release hook belong to the receiving thread
 * (which owns the pool); send runs under the datapath's per-port tx lock.
 * run() also reaps completions, so the tx state has its own mutex, which
 * run() only try-locks. */
#include <errno.h>
#include <inttypes.h>
#include <linux/if_link.h>
#include <linux/if_xdp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>
#include <xdp/xsk.h>

#include "log.h"
#include "netdev-private.h"
#include "util.h"

TS_LOG_DEFINE(netdev_afxdp);

#define AFXDP_FRAME_SIZE 4096
/* Default frames (and ring entries) per direction.  4096 rx frames hold
 * about 8 ms of 64-byte traffic at 500 kpps, two scheduler slices of a
 * preempted receiver; UMEM is then 24 MB. */
#define AFXDP_DEF_RX_FRAMES 4096
#define AFXDP_DEF_TX_FRAMES 2048
#define AFXDP_MIN_FRAMES 64
#define AFXDP_MAX_FRAMES 32768
#define AFXDP_BPF_FS "/sys/fs/bpf"
#define AFXDP_BPF_FS_MAGIC 0xcafe4a11

struct netdev_afxdp {
    struct netdev up;
    int ifindex;
    uint8_t *umem_area;
    struct xsk_umem *umem;
    struct xsk_socket *xsk;
    struct xsk_ring_prod fill;
    struct xsk_ring_cons comp;
    struct xsk_ring_cons rx;
    struct xsk_ring_prod tx;
    const char *mode;               /* "native" or "generic" once open */

    uint32_t n_rx_frames;           /* n_rxq_desc */
    uint32_t n_tx_frames;           /* n_txq_desc */

    /* Receive state: the receiving thread's. */
    struct dp_packet_pool *pool;    /* dp_packet structs only */
    struct dp_packet **pkt_free;    /* n_rx_frames entries */
    uint32_t n_pkt_free;
    uint64_t *rx_free;              /* frames to refill, n_rx_frames */
    uint32_t n_rx_free;

    /* Transmit state: under 'tx_mutex'. */
    pthread_mutex_t tx_mutex;
    uint64_t *tx_free;              /* n_tx_frames entries */
    uint32_t n_tx_free;

    struct netdev_stats stats;
};

static struct netdev_afxdp *
netdev_afxdp_cast(const struct netdev *netdev)
{
    return CONTAINER_OF(netdev, struct netdev_afxdp, up);
}

/* libxdp and libbpf explain their fallbacks (no dispatcher, no native
 * XDP) on stderr; route them to our debug log instead. */
static int TS_PRINTF(2, 0)
afxdp_print(const char *lib, const char *fmt, va_list args)
{
    if (log_is_enabled(&this_log_module, LOG_DBG)) {
        char buf[512];
        size_t n;

        vsnprintf(buf, sizeof buf, fmt, args);
        n = strlen(buf);
        if (n && buf[n - 1] == '\n') {
            buf[n - 1] = '\0';
        }
        TS_DBG("%s: %s", lib, buf);
    }
    return 0;
}

static int
afxdp_libxdp_print(enum libxdp_print_level level, const char *fmt,
                   va_list args)
{
    return afxdp_print("libxdp", fmt, args);
}

static int
afxdp_libbpf_print(enum libbpf_print_level level, const char *fmt,
                   va_list args)
{
    return afxdp_print("libbpf", fmt, args);
}

/* libxdp keeps its dispatcher state in bpffs. */
static int
afxdp_ensure_bpffs(void)
{
    struct statfs st;

    if (!statfs(AFXDP_BPF_FS, &st) && st.f_type == AFXDP_BPF_FS_MAGIC) {
        return 0;
    }
    mkdir(AFXDP_BPF_FS, 0700);
    if (mount("bpf", AFXDP_BPF_FS, "bpf", 0, "mode=0700") < 0) {
        return -errno;
    }
    TS_INFO("mounted bpffs at %s", AFXDP_BPF_FS);
    return 0;
}

static void
afxdp_release(struct dp_packet *p, void *dev_)
{
    struct netdev_afxdp *dev = dev_;

    /* Each rx frame is in at most one packet, so neither stack can
     * overflow. */
    dev->rx_free[dev->n_rx_free++] = p->opaque;
    dev->pkt_free[dev->n_pkt_free++] = p;
}

static void
netdev_afxdp_close(struct netdev *netdev)
{
    struct netdev_afxdp *dev;

    if (!netdev) {
        return;
    }
    dev = netdev_afxdp_cast(netdev);
    /* Deleting the socket detaches libxdp's program if we were its last
     * user. */
    xsk_socket__delete(dev->xsk);
    if (dev->umem) {
        xsk_umem__delete(dev->umem);
    }
    if (dev->umem_area) {
        munmap(dev->umem_area, (size_t) (dev->n_rx_frames + dev->n_tx_frames)
                               * AFXDP_FRAME_SIZE);
    }
    dp_packet_pool_destroy(dev->pool);
    free(dev->pkt_free);
    free(dev->rx_free);
    free(dev->tx_free);
    pthread_mutex_destroy(&dev->tx_mutex);
    netdev_release_base(&dev->up);
    free(dev);
}

static int
afxdp_create_umem(struct netdev_afxdp *dev, char **errp)
{
    struct xsk_umem_config cfg = {
        .fill_size = dev->n_rx_frames,
        .comp_size = dev->n_tx_frames,
        .frame_size = AFXDP_FRAME_SIZE,
        .frame_headroom = 0,
        .flags = 0,
    };
    size_t size = (size_t) (dev->n_rx_frames + dev->n_tx_frames)
                  * AFXDP_FRAME_SIZE;
    int err;

    dev->umem_area = mmap(NULL, size, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (dev->umem_area == MAP_FAILED) {
        dev->umem_area = NULL;
        *errp = netdev_open_error("afxdp", dev->up.name, -errno,
                                  "cannot allocate UMEM");
        return -ENOMEM;
    }
    err = xsk_umem__create(&dev->umem, dev->umem_area, size, &dev->fill,
                           &dev->comp, &cfg);
    if (err) {
        dev->umem = NULL;
        *errp = netdev_open_error("afxdp", dev->up.name, err,
                                  "cannot register UMEM");
        return err;
    }
    return 0;
}

static int
afxdp_create_socket(struct netdev_afxdp *dev, uint32_t xdp_flags)
{
    struct xsk_socket_config cfg = {
        .rx_size = dev->n_rx_frames,
        .tx_size = dev->n_tx_frames,
        .libxdp_flags = 0,
        .xdp_flags = xdp_flags,
        .bind_flags = XDP_COPY | XDP_USE_NEED_WAKEUP,
    };
    int err;

    err = xsk_socket__create(&dev->xsk, dev->up.name, 0, dev->umem,
                             &dev->rx, &dev->tx, &cfg);
    if (err) {
        dev->xsk = NULL;
    }
    return err;
}

static int
afxdp_attach(struct netdev_afxdp *dev, const char *mode, char **errp)
{
    int err = -EINVAL, mtu = 0;

    if (!strcmp(mode, "native") || !strcmp(mode, "best-effort")) {
        err = afxdp_create_socket(dev, XDP_FLAGS_DRV_MODE);
        dev->mode = "native";
    }
    if (!strcmp(mode, "generic")
        || (err && !strcmp(mode, "best-effort"))) {
        if (err) {
            TS_DBG("afxdp port '%s': native XDP failed (%s), trying "
                   "generic", dev->up.name, strerror(-err));
        }
        err = afxdp_create_socket(dev, XDP_FLAGS_SKB_MODE);
        dev->mode = "generic";
    }
    if (!err) {
        return 0;
    }
    netdev_linux_get_mtu(dev->up.name, &mtu);
    if (mtu > AFXDP_FRAME_SIZE - XDP_PACKET_HEADROOM - 320) {
        *errp = xasprintf("afxdp port '%s': cannot attach XDP (%s): device "
                          "MTU %d is too large for XDP (at most about "
                          "3500)", dev->up.name, strerror(-err), mtu);
    } else {
        *errp = xasprintf("afxdp port '%s': cannot attach %s XDP: %s",
                          dev->up.name, mode, strerror(-err));
    }
    return err;
}

/* Puts every rx frame into the fill ring, every tx frame on 'tx_free',
 * and takes every dp_packet struct out of the pool. */
static int
afxdp_init_frames(struct netdev_afxdp *dev, char **errp)
{
    uint32_t n_rx = dev->n_rx_frames, n_tx = dev->n_tx_frames, idx;

    dev->pool = dp_packet_pool_create(dev->up.name, n_rx,
                                      DP_PACKET_HEADROOM + 64);
    dev->pkt_free = calloc(n_rx, sizeof *dev->pkt_free);
    dev->rx_free = calloc(n_rx, sizeof *dev->rx_free);
    dev->tx_free = calloc(n_tx, sizeof *dev->tx_free);
    if (!dev->pool || !dev->pkt_free || !dev->rx_free || !dev->tx_free) {
        *errp = netdev_open_error("afxdp", dev->up.name, -ENOMEM,
                                  "no memory");
        return -ENOMEM;
    }
    for (uint32_t i = 0; i < n_rx; i++) {
        dev->pkt_free[i] = dp_packet_pool_get(dev->pool);
    }
    dev->n_pkt_free = n_rx;
    dp_packet_pool_set_release(dev->pool, afxdp_release, dev);

    if (xsk_ring_prod__reserve(&dev->fill, n_rx, &idx) != n_rx) {
        *errp = xasprintf("afxdp port '%s': fill ring too small",
                          dev->up.name);
        return -ENOSPC;
    }
    for (uint32_t i = 0; i < n_rx; i++) {
        *xsk_ring_prod__fill_addr(&dev->fill, idx + i)
            = (uint64_t) i * AFXDP_FRAME_SIZE;
    }
    xsk_ring_prod__submit(&dev->fill, n_rx);
    for (uint32_t i = 0; i < n_tx; i++) {
        dev->tx_free[i] = (uint64_t) (n_rx + i) * AFXDP_FRAME_SIZE;
    }
    dev->n_tx_free = n_tx;
    return 0;
}

/* Parses ring-size option 'key' of port 'name' into '*n' ('def' if
 * absent). */
static int
afxdp_parse_frames(const char *name, const struct smap *options,
                   const char *key, uint32_t def, uint32_t *n, char **errp)
{
    const char *s = smap_get_def(options, key, NULL);
    unsigned long v;
    char *end;

    *n = def;
    if (!s) {
        return 0;
    }
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno || end == s || *end || v < AFXDP_MIN_FRAMES
        || v > AFXDP_MAX_FRAMES || (v & (v - 1))) {
        *errp = xasprintf("afxdp port '%s': bad %s '%s' (expected a power "
                          "of 2 from %d to %d)", name, key, s,
                          AFXDP_MIN_FRAMES, AFXDP_MAX_FRAMES);
        return -EINVAL;
    }
    *n = v;
    return 0;
}

static int
netdev_afxdp_open(const char *name, const struct smap *options,
                  struct netdev **netdevp, char **errp)
{
    static const char *const allowed[] = {
        "xdp-mode", "n_rxq_desc", "n_txq_desc", NULL
    };
    static bool print_set;
    const char *mode = smap_get_def(options, "xdp-mode", "best-effort");
    uint32_t n_rx, n_tx;
    struct netdev_afxdp *dev;
    int err;

    *netdevp = NULL;
    err = netdev_check_options("afxdp", options, allowed, errp);
    if (err
        || (err = afxdp_parse_frames(name, options, "n_rxq_desc",
                                     AFXDP_DEF_RX_FRAMES, &n_rx, errp))
        || (err = afxdp_parse_frames(name, options, "n_txq_desc",
                                     AFXDP_DEF_TX_FRAMES, &n_tx, errp))) {
        return err;
    }
    if (strcmp(mode, "native") && strcmp(mode, "generic")
        && strcmp(mode, "best-effort")) {
        *errp = xasprintf("afxdp port '%s': bad xdp-mode '%s' (expected "
                          "native, generic or best-effort)", name, mode);
        return -EINVAL;
    }
    if (!print_set) {
        libxdp_set_print(afxdp_libxdp_print);
        libbpf_set_print(afxdp_libbpf_print);
        print_set = true;
    }
    dev = xzalloc(sizeof *dev);
    dev->n_rx_frames = n_rx;
    dev->n_tx_frames = n_tx;
    netdev_init_base(&dev->up, &netdev_afxdp_class, name);
    pthread_mutex_init(&dev->tx_mutex, NULL);
    err = netdev_linux_ifindex(name, &dev->ifindex);
    if (err) {
        *errp = netdev_open_error("afxdp", name, err, NULL);
        goto error;
    }
    err = afxdp_ensure_bpffs();
    if (err) {
        *errp = netdev_open_error("afxdp", name, err,
                                  "cannot mount bpffs at " AFXDP_BPF_FS);
        goto error;
    }
    if ((err = afxdp_create_umem(dev, errp))
        || (err = afxdp_attach(dev, mode, errp))
        || (err = afxdp_init_frames(dev, errp))) {
        goto error;
    }
    TS_INFO("afxdp port '%s' opened (%s XDP, copy mode, %"PRIu32" rx and "
            "%"PRIu32" tx frames)", name, dev->mode, n_rx, n_tx);
    *netdevp = &dev->up;
    return 0;

error:
    netdev_afxdp_close(&dev->up);
    return err;
}

static int
netdev_afxdp_rx_fd(struct netdev *netdev)
{
    return xsk_socket__fd(netdev_afxdp_cast(netdev)->xsk);
}

static void
afxdp_refill(struct netdev_afxdp *dev)
{
    uint32_t n = dev->n_rx_free, idx;

    if (!n || xsk_ring_prod__reserve(&dev->fill, n, &idx) != n) {
        return;
    }
    for (uint32_t i = 0; i < n; i++) {
        *xsk_ring_prod__fill_addr(&dev->fill, idx + i) = dev->rx_free[i];
    }
    xsk_ring_prod__submit(&dev->fill, n);
    dev->n_rx_free = 0;
}

static int
netdev_afxdp_recv(struct netdev *netdev, struct dp_packet_batch *batch)
{
    struct netdev_afxdp *dev = netdev_afxdp_cast(netdev);
    uint32_t n, idx;

    afxdp_refill(dev);
    n = xsk_ring_cons__peek(&dev->rx, MIN(NETDEV_MAX_BURST,
                                          dev->n_pkt_free), &idx);
    if (!n) {
        if (xsk_ring_prod__needs_wakeup(&dev->fill)) {
            recvfrom(xsk_socket__fd(dev->xsk), NULL, 0, MSG_DONTWAIT, NULL,
                     NULL);
        }
        return 0;
    }
    for (uint32_t i = 0; i < n; i++) {
        const struct xdp_desc *desc = xsk_ring_cons__rx_desc(&dev->rx,
                                                             idx + i);
        uint64_t frame = desc->addr & ~(uint64_t) (AFXDP_FRAME_SIZE - 1);
        struct dp_packet *p = dev->pkt_free[--dev->n_pkt_free];

        p->base = dev->umem_area + frame;
        p->allocated = AFXDP_FRAME_SIZE;
        p->data_ofs = desc->addr - frame;
        p->size = desc->len;
        p->l3_ofs = p->l4_ofs = DP_PACKET_OFS_NONE;
        memset(&p->ofl, 0, sizeof p->ofl);
        p->in_port = 0;
        p->rss_hash = 0;
        p->rss_valid = false;
        p->ct_conn = NULL;
        p->opaque = frame;
        dev->stats.rx_bytes += desc->len;
        dp_packet_batch_add(batch, p);
    }
    xsk_ring_cons__release(&dev->rx, n);
    dev->stats.rx_packets += n;
    return n;
}

/* Takes completed tx frames back.  Caller holds 'tx_mutex'. */
static void
afxdp_reap(struct netdev_afxdp *dev)
{
    uint32_t idx, n;

    n = xsk_ring_cons__peek(&dev->comp, dev->n_tx_frames, &idx);
    for (uint32_t i = 0; i < n; i++) {
        dev->tx_free[dev->n_tx_free++]
            = *xsk_ring_cons__comp_addr(&dev->comp, idx + i);
    }
    if (n) {
        xsk_ring_cons__release(&dev->comp, n);
    }
}

/* Descriptors in the tx ring that the kernel has not consumed yet. */
static uint32_t
afxdp_tx_pending(const struct netdev_afxdp *dev)
{
    return *dev->tx.producer
           - __atomic_load_n(dev->tx.consumer, __ATOMIC_ACQUIRE);
}

/* In copy mode each sendto() transmits at most 32 descriptors (the
 * kernel's TX_BATCH_SIZE) and returns EAGAIN if more wait, so kick until
 * the ring is drained, a bounded number of times. */
static void
afxdp_kick(struct netdev_afxdp *dev)
{
    for (int i = 0; i < 4 && xsk_ring_prod__needs_wakeup(&dev->tx)
                    && afxdp_tx_pending(dev); i++) {
        if (sendto(xsk_socket__fd(dev->xsk), NULL, 0, MSG_DONTWAIT, NULL,
                   0) < 0 && errno != EAGAIN) {
            if (errno != EBUSY && errno != ENOBUFS && errno != ENETDOWN) {
                dev->stats.tx_errors++;
            }
            break;
        }
    }
}

static void
netdev_afxdp_send(struct netdev *netdev, struct dp_packet_batch *batch)
{
    struct netdev_afxdp *dev = netdev_afxdp_cast(netdev);
    uint32_t n = 0, idx = 0, k = 0;
    struct dp_packet *p;

    pthread_mutex_lock(&dev->tx_mutex);
    afxdp_reap(dev);
    DP_PACKET_BATCH_FOR_EACH (i, p, batch) {
        if (p->size <= AFXDP_FRAME_SIZE && p->size >= ETH_HEADER_LEN) {
            n++;
        }
    }
    n = MIN(n, dev->n_tx_free);
    if (n && xsk_ring_prod__reserve(&dev->tx, n, &idx) != n) {
        n = 0;
    }
    DP_PACKET_BATCH_FOR_EACH (i, p, batch) {
        struct xdp_desc *desc;
        uint64_t frame;

        if (p->size > AFXDP_FRAME_SIZE || p->size < ETH_HEADER_LEN) {
            dev->stats.tx_errors++;
            continue;
        }
        if (k == n) {
            dev->stats.tx_dropped++;
            continue;
        }
        frame = dev->tx_free[--dev->n_tx_free];
        memcpy(dev->umem_area + frame, dp_packet_data(p), p->size);
        desc = xsk_ring_prod__tx_desc(&dev->tx, idx + k);
        desc->addr = frame;
        desc->len = p->size;
        dev->stats.tx_bytes += p->size;
        k++;
    }
    if (n) {
        xsk_ring_prod__submit(&dev->tx, n);
        dev->stats.tx_packets += n;
    }
    afxdp_kick(dev);
    pthread_mutex_unlock(&dev->tx_mutex);
    dp_packet_batch_delete(batch);
}

static void
netdev_afxdp_run(struct netdev *netdev)
{
    struct netdev_afxdp *dev = netdev_afxdp_cast(netdev);

    afxdp_refill(dev);
    if (!pthread_mutex_trylock(&dev->tx_mutex)) {
        afxdp_reap(dev);
        afxdp_kick(dev);
        pthread_mutex_unlock(&dev->tx_mutex);
    }
}

static void
netdev_afxdp_get_stats(const struct netdev *netdev,
                       struct netdev_stats *stats)
{
    struct netdev_afxdp *dev = netdev_afxdp_cast(netdev);
    struct xdp_statistics xs;
    socklen_t len = sizeof xs;

    *stats = dev->stats;
    if (!getsockopt(xsk_socket__fd(dev->xsk), SOL_XDP, XDP_STATISTICS, &xs,
                    &len)) {
        stats->rx_dropped += xs.rx_dropped + xs.rx_ring_full;
        stats->rx_errors += xs.rx_invalid_descs;
        stats->tx_errors += xs.tx_invalid_descs;
    }
}

static uint32_t
netdev_afxdp_tx_offloads(const struct netdev *netdev)
{
    return 0;
}

static int
netdev_afxdp_get_mac(const struct netdev *netdev, struct eth_addr *mac)
{
    return netdev_linux_get_mac(netdev->name, mac);
}

static int
netdev_afxdp_get_mtu(const struct netdev *netdev, int *mtu)
{
    return netdev_linux_get_mtu(netdev->name, mtu);
}

const struct netdev_class netdev_afxdp_class = {
    .type = "afxdp",
    .open = netdev_afxdp_open,
    .close = netdev_afxdp_close,
    .rx_fd = netdev_afxdp_rx_fd,
    .recv = netdev_afxdp_recv,
    .send = netdev_afxdp_send,
    .get_stats = netdev_afxdp_get_stats,
    .tx_offloads = netdev_afxdp_tx_offloads,
    .get_mac = netdev_afxdp_get_mac,
    .get_mtu = netdev_afxdp_get_mtu,
    .run = netdev_afxdp_run,
};
