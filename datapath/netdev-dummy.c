/* netdev-dummy: a port for tests.  Frames injected with
 * netdev_dummy_inject() are received as if from the wire; frames sent
 * are kept (as heap copies) for netdev_dummy_collect(), or discarded and
 * counted with option discard=true (benchmarks).
 *
 * Options: mac=XX:XX:XX:XX:XX:XX, mtu=N, discard=true|false,
 * tx-offloads=LIST (comma-separated: csum, tso, ufo; default none).
 *
 * Threads: inject and collect run on any thread; recv on the receiving
 * worker; send under the datapath's tx lock.  A mutex guards both
 * queues; an eventfd polls readable while injected frames wait. */
#include "netdev.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "hash.h"
#include "netdev-private.h"
#include "util.h"

#define DUMMY_MAX_QUEUE 4096    /* frames per direction */

struct dummy_frame {
    struct dummy_frame *next;
    size_t len;
    uint8_t data[];
};

struct netdev_dummy {
    struct netdev up;
    pthread_mutex_t mutex;
    struct dummy_frame *rx_head, **rx_tail;     /* under mutex */
    size_t n_rx;
    struct dp_packet **tx;                      /* under mutex */
    size_t n_tx;
    int evfd;
    struct netdev_rx_pools pools;               /* receiving thread */
    bool discard;
    uint32_t tx_offloads;
    struct eth_addr mac;
    int mtu;
    struct netdev_stats stats;  /* rx_* by receiver, tx_* by sender */
};

static struct netdev_dummy *
netdev_dummy_cast(const struct netdev *netdev)
{
    return CONTAINER_OF(netdev, struct netdev_dummy, up);
}

static int
dummy_parse_offloads(const char *s, uint32_t *ofl, char **errp)
{
    char *copy = xstrdup(s), *save = NULL;
    int err = 0;

    *ofl = 0;
    for (char *t = strtok_r(copy, ",", &save); t;
         t = strtok_r(NULL, ",", &save)) {
        if (!strcmp(t, "csum")) {
            *ofl |= NETDEV_TX_CSUM;
        } else if (!strcmp(t, "tso")) {
            *ofl |= NETDEV_TX_TSO;
        } else if (!strcmp(t, "ufo")) {
            *ofl |= NETDEV_TX_UFO;
        } else {
            *errp = xasprintf("bad tx-offloads '%s' (want csum,tso,ufo)",
                              s);
            err = -EINVAL;
            break;
        }
    }
    free(copy);
    return err;
}

static int
dummy_parse_options(struct netdev_dummy *d, const char *name,
                    const struct smap *options, char **errp)
{
    static const char *const allowed[] = { "mac", "mtu", "discard",
                                           "tx-offloads", NULL };
    const char *s;
    uint64_t u;
    int err;

    err = netdev_check_options("dummy", options, allowed, errp);
    if (err) {
        return err;
    }
    /* A stable, locally administered MAC derived from the name. */
    u = hash_string(name, 0);
    d->mac = (struct eth_addr) { { 0xaa, 0x55, u >> 24, u >> 16, u >> 8,
                                   u } };
    d->mtu = 1500;
    s = smap_get(options, "mac");
    if (s && !eth_addr_from_string(s, &d->mac)) {
        *errp = xasprintf("bad mac '%s'", s);
        return -EINVAL;
    }
    s = smap_get(options, "mtu");
    if (s) {
        if (!str_to_u64(s, 65535, &u) || u < 68) {
            *errp = xasprintf("bad mtu '%s'", s);
            return -EINVAL;
        }
        d->mtu = u;
    }
    s = smap_get(options, "discard");
    if (s) {
        if (strcmp(s, "true") && strcmp(s, "false")) {
            *errp = xasprintf("bad discard '%s' (want true or false)", s);
            return -EINVAL;
        }
        d->discard = !strcmp(s, "true");
    }
    s = smap_get(options, "tx-offloads");
    return s ? dummy_parse_offloads(s, &d->tx_offloads, errp) : 0;
}

static void netdev_dummy_close(struct netdev *);

static int
netdev_dummy_open(const char *name, const struct smap *options,
                  struct netdev **netdevp, char **errp)
{
    struct netdev_dummy *d = xzalloc(sizeof *d);
    int err;

    netdev_init_base(&d->up, &netdev_dummy_class, name);
    pthread_mutex_init(&d->mutex, NULL);
    d->rx_tail = &d->rx_head;
    d->evfd = -1;
    err = dummy_parse_options(d, name, options, errp);
    if (err) {
        goto error;
    }
    d->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (d->evfd < 0) {
        err = -errno;
        goto error;
    }
    err = netdev_rx_pools_create(&d->pools, name, 256, 4);
    if (err) {
        goto error;
    }
    *netdevp = &d->up;
    return 0;

error:
    if (!*errp) {
        *errp = netdev_open_error("dummy", name, err, NULL);
    }
    netdev_dummy_close(&d->up);
    return err;
}

static void
netdev_dummy_close(struct netdev *netdev)
{
    struct netdev_dummy *d = netdev_dummy_cast(netdev);
    struct dummy_frame *f, *next;

    for (f = d->rx_head; f; f = next) {
        next = f->next;
        free(f);
    }
    for (size_t i = 0; i < d->n_tx; i++) {
        dp_packet_delete(d->tx[i]);
    }
    free(d->tx);
    if (d->evfd >= 0) {
        close(d->evfd);
    }
    netdev_rx_pools_destroy(&d->pools);
    pthread_mutex_destroy(&d->mutex);
    netdev_release_base(&d->up);
    free(d);
}

static int
netdev_dummy_rx_fd(struct netdev *netdev)
{
    return netdev_dummy_cast(netdev)->evfd;
}

int
netdev_dummy_inject(struct netdev *netdev, const void *frame, size_t len)
{
    struct netdev_dummy *d;
    struct dummy_frame *f;
    uint64_t one = 1;
    int err = 0;

    if (netdev->class != &netdev_dummy_class) {
        return -EOPNOTSUPP;
    }
    d = netdev_dummy_cast(netdev);
    if (len > NETDEV_MAX_FRAME) {
        return -EMSGSIZE;
    }
    f = xmalloc(sizeof *f + len);
    f->next = NULL;
    f->len = len;
    memcpy(f->data, frame, len);
    pthread_mutex_lock(&d->mutex);
    if (d->n_rx >= DUMMY_MAX_QUEUE) {
        err = -ENOBUFS;
    } else {
        *d->rx_tail = f;
        d->rx_tail = &f->next;
        __atomic_store_n(&d->n_rx, d->n_rx + 1, __ATOMIC_RELAXED);
        if (write(d->evfd, &one, sizeof one) < 0) {
            /* Counter saturated: it is readable anyway. */
        }
    }
    pthread_mutex_unlock(&d->mutex);
    if (err) {
        free(f);
    }
    return err;
}

static int
netdev_dummy_recv(struct netdev *netdev, struct dp_packet_batch *batch)
{
    struct netdev_dummy *d = netdev_dummy_cast(netdev);
    struct dummy_frame *frames = NULL, *f;
    uint64_t junk;
    size_t n = 0;

    if (!__atomic_load_n(&d->n_rx, __ATOMIC_RELAXED)) {
        return 0;
    }
    pthread_mutex_lock(&d->mutex);
    if (d->rx_head) {
        struct dummy_frame **tail = &d->rx_head;

        while (*tail && n < NETDEV_MAX_BURST) {
            tail = &(*tail)->next;
            n++;
        }
        frames = d->rx_head;
        d->rx_head = *tail;
        *tail = NULL;
        if (!d->rx_head) {
            d->rx_tail = &d->rx_head;
            if (read(d->evfd, &junk, sizeof junk) < 0) {
                /* Already clear. */
            }
        }
        __atomic_store_n(&d->n_rx, d->n_rx - n, __ATOMIC_RELAXED);
    }
    pthread_mutex_unlock(&d->mutex);

    while ((f = frames) != NULL) {
        struct dp_packet_pool *pool = f->len + DP_PACKET_HEADROOM
                                      <= NETDEV_SMALL_BUF
                                      ? d->pools.small : d->pools.large;
        struct dp_packet *p = dp_packet_pool_get(pool);

        frames = f->next;
        if (p && dp_packet_tailroom(p) >= f->len) {
            dp_packet_put(p, f->data, f->len);
            dp_packet_batch_add(batch, p);
            d->stats.rx_packets++;
            d->stats.rx_bytes += f->len;
        } else {
            dp_packet_delete(p);
            d->stats.rx_dropped++;
        }
        free(f);
    }
    return batch->count;
}

static void
netdev_dummy_send(struct netdev *netdev, struct dp_packet_batch *batch)
{
    struct netdev_dummy *d = netdev_dummy_cast(netdev);
    struct dp_packet *p;

    if (d->discard) {
        /* Benchmarks' sink: count and free, nothing else. */
        uint64_t bytes = 0;

        DP_PACKET_BATCH_FOR_EACH (i, p, batch) {
            bytes += dp_packet_size(p);
            dp_packet_delete(p);
        }
        d->stats.tx_packets += batch->count;
        d->stats.tx_bytes += bytes;
        batch->count = 0;
        return;
    }
    DP_PACKET_BATCH_FOR_EACH (i, p, batch) {
        struct dp_packet *copy = NULL;

        if (!d->discard) {
            copy = dp_packet_clone(p, NULL);
        }
        if (copy) {
            pthread_mutex_lock(&d->mutex);
            if (d->n_tx < DUMMY_MAX_QUEUE) {
                if (!d->tx) {
                    d->tx = xcalloc(DUMMY_MAX_QUEUE, sizeof *d->tx);
                }
                d->tx[d->n_tx++] = copy;
                copy = NULL;
            }
            pthread_mutex_unlock(&d->mutex);
        }
        if (copy) {
            dp_packet_delete(copy);
            d->stats.tx_dropped++;
        } else {
            d->stats.tx_packets++;
            d->stats.tx_bytes += dp_packet_size(p);
        }
        dp_packet_delete(p);
    }
    batch->count = 0;
}

size_t
netdev_dummy_collect(struct netdev *netdev, struct dp_packet **out,
                     size_t max)
{
    struct netdev_dummy *d;
    size_t n;

    if (netdev->class != &netdev_dummy_class) {
        return 0;
    }
    d = netdev_dummy_cast(netdev);
    pthread_mutex_lock(&d->mutex);
    n = MIN(max, d->n_tx);
    if (n) {
        memcpy(out, d->tx, n * sizeof *out);
        memmove(d->tx, d->tx + n, (d->n_tx - n) * sizeof *d->tx);
        d->n_tx -= n;
    }
    pthread_mutex_unlock(&d->mutex);
    return n;
}

static void
netdev_dummy_get_stats(const struct netdev *netdev, struct netdev_stats *st)
{
    const struct netdev_dummy *d = netdev_dummy_cast(netdev);

    /* Single writers per field; x86-64 loads do not tear. */
    *st = d->stats;
}

static uint32_t
netdev_dummy_tx_offloads(const struct netdev *netdev)
{
    return netdev_dummy_cast(netdev)->tx_offloads;
}

static int
netdev_dummy_get_mac(const struct netdev *netdev, struct eth_addr *mac)
{
    *mac = netdev_dummy_cast(netdev)->mac;
    return 0;
}

static int
netdev_dummy_get_mtu(const struct netdev *netdev, int *mtu)
{
    *mtu = netdev_dummy_cast(netdev)->mtu;
    return 0;
}

const struct netdev_class netdev_dummy_class = {
    .type = "dummy",
    .open = netdev_dummy_open,
    .close = netdev_dummy_close,
    .rx_fd = netdev_dummy_rx_fd,
    .recv = netdev_dummy_recv,
    .send = netdev_dummy_send,
    .get_stats = netdev_dummy_get_stats,
    .tx_offloads = netdev_dummy_tx_offloads,
    .get_mac = netdev_dummy_get_mac,
    .get_mtu = netdev_dummy_get_mtu,
    .run = NULL,
};
