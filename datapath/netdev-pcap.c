/* netdev-pcap: a port backed by capture files, for tests and replay.
 *
 * Options: rx=FILE replays FILE (pcap or pcapng, Ethernet) into the
 * bridge as fast as the datapath polls, NETDEV_MAX_BURST packets per
 * recv; tx=FILE writes every packet the bridge sends to this port to FILE
 * (pcap, flushed after each batch, so a reader sees whole batches).
 * Either or both.
 *
 * Replay never drops: when the port's buffers are all in flight, recv
 * returns what it has and resumes later.
 *
 * rx_fd is an eventfd that stays readable while the replay has packets
 * left and is drained at end of file, so an idle worker sleeps once the
 * file is consumed.  tx_offloads is 0: the datapath segments GSO packets
 * and fills checksums before they reach the file, so captures show what a
 * wire would carry.
 *
 * Threads: recv belongs to the receiving thread; send runs under the
 * datapath's per-port tx lock. */
#include <errno.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/time.h>
#include <unistd.h>

#include "log.h"
#include "netdev-private.h"
#include "util.h"

TS_LOG_DEFINE(netdev_pcap);

#define PCAP_N_SMALL 256
#define PCAP_N_LARGE 16
#define PCAP_SNAPLEN 262144

struct netdev_pcap {
    struct netdev up;

    /* Replay: owned by the receiving thread. */
    pcap_t *rx;
    int rx_evfd;                /* readable while 'rx' has packets left */
    struct netdev_rx_pools pools;

    /* Capture: used under the tx lock. */
    pcap_t *tx_dead;
    pcap_dumper_t *tx;

    struct netdev_stats stats;
};

static struct netdev_pcap *
netdev_pcap_cast(const struct netdev *netdev)
{
    return CONTAINER_OF(netdev, struct netdev_pcap, up);
}

static void
pcap_rx_finish(struct netdev_pcap *dev)
{
    uint64_t v;

    if (dev->rx) {
        pcap_close(dev->rx);
        dev->rx = NULL;
    }
    if (dev->rx_evfd >= 0) {
        /* Drain: the descriptor no longer polls readable. */
        if (read(dev->rx_evfd, &v, sizeof v) < 0) {
            /* Already drained. */
        }
    }
}

static void
netdev_pcap_close(struct netdev *netdev)
{
    struct netdev_pcap *dev;

    if (!netdev) {
        return;
    }
    dev = netdev_pcap_cast(netdev);
    if (dev->rx) {
        pcap_close(dev->rx);
    }
    if (dev->rx_evfd >= 0) {
        close(dev->rx_evfd);
    }
    if (dev->tx) {
        pcap_dump_close(dev->tx);
    }
    if (dev->tx_dead) {
        pcap_close(dev->tx_dead);
    }
    netdev_rx_pools_destroy(&dev->pools);
    netdev_release_base(&dev->up);
    free(dev);
}

static int
pcap_open_rx(struct netdev_pcap *dev, const char *file, char **errp)
{
    char ebuf[PCAP_ERRBUF_SIZE];
    int err;

    dev->rx = pcap_open_offline(file, ebuf);
    if (!dev->rx) {
        *errp = xasprintf("pcap port '%s': cannot open rx file '%s': %s",
                          dev->up.name, file, ebuf);
        return -ENOENT;
    }
    if (pcap_datalink(dev->rx) != DLT_EN10MB) {
        *errp = xasprintf("pcap port '%s': rx file '%s' is not an Ethernet "
                          "capture", dev->up.name, file);
        return -EINVAL;
    }
    err = netdev_rx_pools_create(&dev->pools, dev->up.name, PCAP_N_SMALL,
                                 PCAP_N_LARGE);
    if (err) {
        *errp = netdev_open_error("pcap", dev->up.name, err, "no memory");
        return err;
    }
    dev->rx_evfd = eventfd(1, EFD_NONBLOCK | EFD_CLOEXEC);
    if (dev->rx_evfd < 0) {
        err = -errno;
        *errp = netdev_open_error("pcap", dev->up.name, err, "eventfd");
        return err;
    }
    return 0;
}

static int
pcap_open_tx(struct netdev_pcap *dev, const char *file, char **errp)
{
    dev->tx_dead = pcap_open_dead(DLT_EN10MB, PCAP_SNAPLEN);
    if (!dev->tx_dead) {
        *errp = xasprintf("pcap port '%s': out of memory", dev->up.name);
        return -ENOMEM;
    }
    dev->tx = pcap_dump_open(dev->tx_dead, file);
    if (!dev->tx) {
        *errp = xasprintf("pcap port '%s': cannot open tx file '%s': %s",
                          dev->up.name, file, pcap_geterr(dev->tx_dead));
        return -EACCES;
    }
    return 0;
}

static int
netdev_pcap_open(const char *name, const struct smap *options,
                 struct netdev **netdevp, char **errp)
{
    static const char *const allowed[] = { "rx", "tx", NULL };
    const char *rx = smap_get(options, "rx");
    const char *tx = smap_get(options, "tx");
    struct netdev_pcap *dev;
    int err;

    *netdevp = NULL;
    err = netdev_check_options("pcap", options, allowed, errp);
    if (err) {
        return err;
    }
    if ((!rx || !*rx) && (!tx || !*tx)) {
        *errp = xasprintf("pcap port '%s': needs rx=FILE or tx=FILE", name);
        return -EINVAL;
    }
    dev = xzalloc(sizeof *dev);
    netdev_init_base(&dev->up, &netdev_pcap_class, name);
    dev->rx_evfd = -1;
    if (rx && *rx && (err = pcap_open_rx(dev, rx, errp))) {
        goto error;
    }
    if (tx && *tx && (err = pcap_open_tx(dev, tx, errp))) {
        goto error;
    }
    *netdevp = &dev->up;
    return 0;

error:
    netdev_pcap_close(&dev->up);
    return err;
}

static int
netdev_pcap_rx_fd(struct netdev *netdev)
{
    return netdev_pcap_cast(netdev)->rx_evfd;
}

static int
netdev_pcap_recv(struct netdev *netdev, struct dp_packet_batch *batch)
{
    struct netdev_pcap *dev = netdev_pcap_cast(netdev);

    while (dev->rx && !dp_packet_batch_is_full(batch)) {
        struct pcap_pkthdr *hdr;
        const u_char *data;
        struct dp_packet *p;
        int r;

        if (!dp_packet_pool_available(dev->pools.small)
            || !dp_packet_pool_available(dev->pools.large)) {
            /* Replay is lossless: wait for buffers to come back. */
            break;
        }
        r = pcap_next_ex(dev->rx, &hdr, &data);
        if (r != 1) {
            if (r != PCAP_ERROR_BREAK) {
                dev->stats.rx_errors++;
            }
            pcap_rx_finish(dev);
            break;
        }
        if (hdr->caplen + DP_PACKET_HEADROOM <= NETDEV_SMALL_BUF) {
            p = dp_packet_pool_get(dev->pools.small);
        } else if (hdr->caplen + DP_PACKET_HEADROOM
                   <= dp_packet_pool_buf_size(dev->pools.large)) {
            p = dp_packet_pool_get(dev->pools.large);
        } else {
            dev->stats.rx_errors++;
            continue;
        }
        dp_packet_put(p, data, hdr->caplen);
        dev->stats.rx_packets++;
        dev->stats.rx_bytes += p->size;
        dp_packet_batch_add(batch, p);
    }
    return batch->count;
}

static void
netdev_pcap_send(struct netdev *netdev, struct dp_packet_batch *batch)
{
    struct netdev_pcap *dev = netdev_pcap_cast(netdev);
    struct pcap_pkthdr hdr;
    struct dp_packet *p;

    if (!dev->tx) {
        dev->stats.tx_dropped += batch->count;
        dp_packet_batch_delete(batch);
        return;
    }
    gettimeofday(&hdr.ts, NULL);
    DP_PACKET_BATCH_FOR_EACH (i, p, batch) {
        hdr.caplen = hdr.len = p->size;
        pcap_dump((u_char *) dev->tx, &hdr, dp_packet_data(p));
        dev->stats.tx_packets++;
        dev->stats.tx_bytes += p->size;
    }
    if (pcap_dump_flush(dev->tx)) {
        dev->stats.tx_errors++;
    }
    dp_packet_batch_delete(batch);
}

static void
netdev_pcap_get_stats(const struct netdev *netdev, struct netdev_stats *stats)
{
    *stats = netdev_pcap_cast(netdev)->stats;
}

static uint32_t
netdev_pcap_tx_offloads(const struct netdev *netdev)
{
    return 0;
}

const struct netdev_class netdev_pcap_class = {
    .type = "pcap",
    .open = netdev_pcap_open,
    .close = netdev_pcap_close,
    .rx_fd = netdev_pcap_rx_fd,
    .recv = netdev_pcap_recv,
    .send = netdev_pcap_send,
    .get_stats = netdev_pcap_get_stats,
    .tx_offloads = netdev_pcap_tx_offloads,
};
