/* netdev-tap: TAP devices the switch owns: type "tap" (a TAP named after
 * the port, created if missing, e.g. for a namespace or a VM the switch
 * does not manage) and type "internal" (the bridge's own interface to the
 * host stack, named after the bridge; the datapath passes the name).
 *
 * The TAP is opened with IFF_VNET_HDR and TUNSETOFFLOAD(CSUM, TSO4,
 * TSO6), so the host side hands us 64 KB TCP segments with partial
 * checksums and we may write such segments back; the kernel segments or
 * fills what the receiving side needs.  A "tap" device is brought up;
 * an "internal" one is left down for the user to bring up, as in OVS.  The
 * user may later move it into another namespace: the descriptor stays
 * valid, so the port keeps working.
 *
 * Lifetime: a TAP this port created is non-persistent and vanishes when
 * the descriptor closes; one that existed before (a persistent TAP made
 * by 'ip tuntap add') is left in place.
 *
 * A TAP has no batched read or write: recv loops over readv() until
 * EAGAIN or a full batch, send calls writev() per packet.  Reads go into
 * a spare 64 KB buffer; frames that fit a small buffer are copied into
 * one, so large buffers are only held by large frames.
 *
 * Cold ports.  The worker busy-polls every port while any traffic flows,
 * and a readv() that finds nothing is still a system call (about a
 * microsecond): a bridge's idle internal port, or the TAP of a TCP flow
 * between two 64 KB segments, cost the worker several readv() per packet
 * forwarded (measured: 6 to 20 per segment, a fifth of the worker's time
 * on the ct firewall).  A TAP whose last TAP_COLD_READS reads found
 * nothing is "cold": recv returns 0 without a system call for the next
 * TAP_COLD_SKIPS calls (passes of the worker), then reads again.  Counting
 * passes rather than reading a clock matters: a clock_gettime() per cold
 * port per pass was 8 % of the worker's time in a TCP profile.  A frame
 * on a cold TAP waits at most that many passes (microseconds while the
 * worker is busy); nothing is lost, because the worker sleeps on the
 * descriptor (level-triggered) and a read that finds a frame makes the
 * TAP hot again.
 *
 * Threads: recv belongs to the receiving thread; send runs under the
 * datapath's per-port tx lock. */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "log.h"
#include "netdev-private.h"
#include "util.h"

TS_LOG_DEFINE(netdev_tap);

#define TAP_N_SMALL 1024
#define TAP_N_LARGE 64
#define TAP_COLD_READS 8        /* empty reads in a row: the TAP is cold */
#define TAP_COLD_SKIPS 16       /* a cold TAP is read once per this many
                                 * calls */

struct netdev_tap {
    struct netdev up;
    int fd;
    bool created;               /* we made the device: close removes it */
    uint32_t tx_offloads;
    struct netdev_rx_pools pools;
    struct dp_packet *spare;    /* large buffer the next read goes into */
    uint32_t n_empty;           /* reads in a row that found nothing, up
                                 * to TAP_COLD_READS (cold) */
    uint32_t cold_skip;         /* cold: calls left before the next read */
    struct netdev_stats stats;
};

static struct netdev_tap *
netdev_tap_cast(const struct netdev *netdev)
{
    return CONTAINER_OF(netdev, struct netdev_tap, up);
}

static void
netdev_tap_close(struct netdev *netdev)
{
    struct netdev_tap *dev;

    if (!netdev) {
        return;
    }
    dev = netdev_tap_cast(netdev);
    if (dev->fd >= 0) {
        if (dev->created) {
            /* Non-persistent already; make sure, then let close remove
             * it. */
            ioctl(dev->fd, TUNSETPERSIST, 0);
        }
        close(dev->fd);
    }
    if (dev->spare) {
        dp_packet_pool_put(dev->spare);
    }
    netdev_rx_pools_destroy(&dev->pools);
    netdev_release_base(&dev->up);
    free(dev);
}

static int
tap_attach(struct netdev_tap *dev, const char *type, const char *name,
           char **errp)
{
    unsigned int ofl = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;
    int hdr_size = sizeof(struct netdev_vnet_hdr);
    struct ifreq ifr;
    int err;

    if (strlen(name) >= IFNAMSIZ || !*name) {
        *errp = xasprintf("%s port '%s': name must be 1 to %d characters",
                          type, name, IFNAMSIZ - 1);
        return -EINVAL;
    }
    dev->created = !if_nametoindex(name);
    dev->fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (dev->fd < 0) {
        err = -errno;
        *errp = netdev_open_error(type, name, err,
                                  "cannot open /dev/net/tun");
        return err;
    }
    memset(&ifr, 0, sizeof ifr);
    ts_strlcpy(ifr.ifr_name, name, IFNAMSIZ);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
    if (ioctl(dev->fd, TUNSETIFF, &ifr) < 0) {
        err = -errno;
        *errp = err == -EINVAL || err == -EBUSY
                ? xasprintf("%s port '%s': device exists and is not a "
                            "free TAP", type, name)
                : netdev_open_error(type, name, err, "cannot create TAP");
        return err;
    }
    if (ioctl(dev->fd, TUNSETVNETHDRSZ, &hdr_size) < 0) {
        err = -errno;
        *errp = netdev_open_error(type, name, err, "TUNSETVNETHDRSZ");
        return err;
    }
    dev->tx_offloads = NETDEV_TX_CSUM | NETDEV_TX_TSO;
    if (ioctl(dev->fd, TUNSETOFFLOAD, ofl) < 0) {
        /* The kernel will then send us only plain frames; we can still
         * write segments (the TAP segments them for the host). */
        TS_WARN("%s port '%s': TUNSETOFFLOAD failed (%s)", type, name,
                strerror(errno));
    }
    if (!strcmp(type, "internal")) {
        /* As in OVS, a bridge's internal interface starts down: the host
         * stack speaks on it only once the user brings it up. */
        return 0;
    }
    err = netdev_linux_set_up(name, true);
    if (err) {
        *errp = netdev_open_error(type, name, err, "cannot bring it up");
        return err;
    }
    return 0;
}

static int
tap_open(const struct netdev_class *class, const char *name,
         const struct smap *options, struct netdev **netdevp, char **errp)
{
    static const char *const allowed[] = { NULL };
    struct netdev_tap *dev;
    int err;

    *netdevp = NULL;
    err = netdev_check_options(class->type, options, allowed, errp);
    if (err) {
        return err;
    }
    dev = xzalloc(sizeof *dev);
    netdev_init_base(&dev->up, class, name);
    dev->fd = -1;
    err = netdev_rx_pools_create(&dev->pools, name, TAP_N_SMALL,
                                 TAP_N_LARGE);
    if (err) {
        *errp = netdev_open_error(class->type, name, err, "no memory");
        goto error;
    }
    dev->spare = dp_packet_pool_get(dev->pools.large);
    err = tap_attach(dev, class->type, name, errp);
    if (err) {
        goto error;
    }
    TS_INFO("%s port '%s' opened (%s)", class->type, name,
            dev->created ? "created" : "existing TAP");
    *netdevp = &dev->up;
    return 0;

error:
    netdev_tap_close(&dev->up);
    return err;
}

static int
netdev_tap_open(const char *name, const struct smap *options,
                struct netdev **netdevp, char **errp)
{
    return tap_open(&netdev_tap_class, name, options, netdevp, errp);
}

static int
netdev_internal_open(const char *name, const struct smap *options,
                     struct netdev **netdevp, char **errp)
{
    return tap_open(&netdev_internal_class, name, options, netdevp, errp);
}

static int
netdev_tap_rx_fd(struct netdev *netdev)
{
    return netdev_tap_cast(netdev)->fd;
}

/* Turns the frame just read into 'dev->spare' into a packet of the right
 * pool.  Returns NULL if it was dropped. */
static struct dp_packet *
tap_rx_frame(struct netdev_tap *dev, const struct netdev_vnet_hdr *vh,
             uint32_t len)
{
    struct dp_packet *p = dev->spare, *q;

    if (OVS_UNLIKELY(len < ETH_HEADER_LEN)) {
        dev->stats.rx_errors++;
        return NULL;
    }
    dp_packet_set_size(p, len);
    if (OVS_UNLIKELY(!netdev_vnet_to_ofl(vh, len, &p->ofl))) {
        dev->stats.rx_errors++;
        return NULL;
    }
    if (len + DP_PACKET_HEADROOM <= NETDEV_SMALL_BUF) {
        q = dp_packet_pool_get(dev->pools.small);
        if (q) {
            dp_packet_put(q, dp_packet_data(p), len);
            q->ofl = p->ofl;
            return q;
        }
    }
    /* Hand out the large buffer; the next read needs a new spare. */
    dev->spare = dp_packet_pool_get(dev->pools.large);
    return p;
}

/* Ends a receive call that stopped on EAGAIN after 'n_read' frames. */
static void
tap_note_empty(struct netdev_tap *dev, uint32_t n_read)
{
    if (n_read) {
        dev->n_empty = 0;
    } else if (++dev->n_empty >= TAP_COLD_READS) {
        dev->n_empty = TAP_COLD_READS;
        dev->cold_skip = TAP_COLD_SKIPS;
    }
}

static int
netdev_tap_recv(struct netdev *netdev, struct dp_packet_batch *batch)
{
    struct netdev_tap *dev = netdev_tap_cast(netdev);

    if (dev->n_empty >= TAP_COLD_READS && dev->cold_skip) {
        dev->cold_skip--;
        return 0;
    }
    while (!dp_packet_batch_is_full(batch)) {
        struct netdev_vnet_hdr vh;
        struct iovec iov[2];
        struct dp_packet *p;
        ssize_t n;

        if (!dev->spare) {
            dev->spare = dp_packet_pool_get(dev->pools.large);
            if (!dev->spare) {
                /* Every large buffer is in flight: leave the frames in
                 * the kernel's queue until some come back. */
                break;
            }
        }
        dp_packet_reset(dev->spare);
        iov[0].iov_base = &vh;
        iov[0].iov_len = sizeof vh;
        iov[1].iov_base = dp_packet_data(dev->spare);
        iov[1].iov_len = dp_packet_tailroom(dev->spare);
        n = readv(dev->fd, iov, 2);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno != EAGAIN) {
                dev->stats.rx_errors++;
            }
            tap_note_empty(dev, batch->count);
            break;
        }
        if (OVS_UNLIKELY((size_t) n < sizeof vh)) {
            dev->stats.rx_errors++;
            continue;
        }
        p = tap_rx_frame(dev, &vh, n - sizeof vh);
        if (p) {
            dev->stats.rx_packets++;
            dev->stats.rx_bytes += p->size;
            dp_packet_batch_add(batch, p);
        }
    }
    return batch->count;
}

static void
netdev_tap_send(struct netdev *netdev, struct dp_packet_batch *batch)
{
    struct netdev_tap *dev = netdev_tap_cast(netdev);
    struct dp_packet *p;

    DP_PACKET_BATCH_FOR_EACH (i, p, batch) {
        struct netdev_vnet_hdr vh;
        struct iovec iov[2];
        ssize_t n;

        netdev_vnet_from_packet(p, &vh);
        iov[0].iov_base = &vh;
        iov[0].iov_len = sizeof vh;
        iov[1].iov_base = dp_packet_data(p);
        iov[1].iov_len = p->size;
        do {
            n = writev(dev->fd, iov, 2);
        } while (n < 0 && errno == EINTR);
        if (n >= 0) {
            dev->stats.tx_packets++;
            dev->stats.tx_bytes += p->size;
        } else if (errno == EAGAIN || errno == ENOBUFS) {
            dev->stats.tx_dropped++;
        } else {
            /* EIO: the device is down; EINVAL: a bad offload header. */
            dev->stats.tx_errors++;
        }
    }
    dp_packet_batch_delete(batch);
}

static void
netdev_tap_get_stats(const struct netdev *netdev, struct netdev_stats *stats)
{
    *stats = netdev_tap_cast(netdev)->stats;
}

static uint32_t
netdev_tap_tx_offloads(const struct netdev *netdev)
{
    return netdev_tap_cast(netdev)->tx_offloads;
}

static int
netdev_tap_get_mac(const struct netdev *netdev, struct eth_addr *mac)
{
    struct netdev_tap *dev = netdev_tap_cast(netdev);
    struct ifreq ifr;

    /* Through the descriptor: works after a move to another namespace. */
    memset(&ifr, 0, sizeof ifr);
    if (ioctl(dev->fd, SIOCGIFHWADDR, &ifr) < 0) {
        return -errno;
    }
    memcpy(mac->ea, ifr.ifr_hwaddr.sa_data, ETH_ADDR_LEN);
    return 0;
}

static int
netdev_tap_get_mtu(const struct netdev *netdev, int *mtu)
{
    return netdev_linux_get_mtu(netdev->name, mtu);
}

const struct netdev_class netdev_tap_class = {
    .type = "tap",
    .open = netdev_tap_open,
    .close = netdev_tap_close,
    .rx_fd = netdev_tap_rx_fd,
    .recv = netdev_tap_recv,
    .send = netdev_tap_send,
    .get_stats = netdev_tap_get_stats,
    .tx_offloads = netdev_tap_tx_offloads,
    .get_mac = netdev_tap_get_mac,
    .get_mtu = netdev_tap_get_mtu,
};

const struct netdev_class netdev_internal_class = {
    .type = "internal",
    .open = netdev_internal_open,
    .close = netdev_tap_close,
    .rx_fd = netdev_tap_rx_fd,
    .recv = netdev_tap_recv,
    .send = netdev_tap_send,
    .get_stats = netdev_tap_get_stats,
    .tx_offloads = netdev_tap_tx_offloads,
    .get_mac = netdev_tap_get_mac,
    .get_mtu = netdev_tap_get_mtu,
};
