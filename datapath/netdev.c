/* netdev: the provider registry, open/close dispatch and the helpers that
 * several providers share (netdev-private.h). */
#include "netdev.h"

#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "errors.h"
#include "log.h"
#include "netdev-private.h"
#include "util.h"

TS_LOG_DEFINE(netdev);

/* Frames of at most this MTU fit one 4 KB AF_XDP frame and pass XDP on
 * veth (one page minus the XDP headroom and skb_shared_info). */
#define NETDEV_AFXDP_MAX_MTU 3498

static const struct netdev_class *const netdev_classes[] = {
    &netdev_afxdp_class,
    &netdev_afpacket_class,
    &netdev_tap_class,
    &netdev_internal_class,
    &netdev_pcap_class,
    &netdev_dummy_class,
};

const struct netdev_class *
netdev_lookup_class(const char *type)
{
    for (size_t i = 0; i < ARRAY_SIZE(netdev_classes); i++) {
        if (!strcmp(netdev_classes[i]->type, type)) {
            return netdev_classes[i];
        }
    }
    return NULL;
}

static bool
netdev_afxdp_possible(void)
{
    int fd = socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0);

    if (fd < 0) {
        return false;
    }
    close(fd);
    return true;
}

const char *
netdev_default_type(const char *name)
{
    int mtu;

    if (name && !netdev_linux_get_mtu(name, &mtu)
        && mtu <= NETDEV_AFXDP_MAX_MTU && netdev_afxdp_possible()) {
        return "afxdp";
    }
    return "afpacket";
}

int
netdev_open(const char *name, const char *type, const struct smap *options,
            struct netdev **netdevp, char **errp)
{
    static const struct smap no_options = SMAP_INITIALIZER;
    const struct netdev_class *class;
    bool by_default = !type;
    int err;

    *netdevp = NULL;
    *errp = NULL;
    if (!options) {
        options = &no_options;
    }
    if (!type) {
        type = netdev_default_type(name);
    }
    class = netdev_lookup_class(type);
    if (!class) {
        *errp = xasprintf("unknown port type '%s'", type);
        return -TS_ERR_BAD_TYPE;
    }
    err = class->open(name, options, netdevp, errp);
    if (err && by_default && class == &netdev_afxdp_class) {
        TS_INFO("port '%s': afxdp failed (%s), using afpacket", name,
                *errp ? *errp : ts_strerror(err));
        free(*errp);
        *errp = NULL;
        err = netdev_afpacket_class.open(name, options, netdevp, errp);
    }
    if (err) {
        *netdevp = NULL;
        if (!*errp) {
            *errp = netdev_open_error(type, name, err, NULL);
        }
    }
    return err;
}

void
netdev_close(struct netdev *netdev)
{
    if (netdev) {
        netdev->class->close(netdev);
    }
}

void
netdev_init_base(struct netdev *netdev, const struct netdev_class *class,
                 const char *name)
{
    netdev->class = class;
    netdev->name = xstrdup(name);
    netdev->type = xstrdup(class->type);
}

void
netdev_release_base(struct netdev *netdev)
{
    free(netdev->name);
    free(netdev->type);
}

int
netdev_check_options(const char *type, const struct smap *options,
                     const char *const allowed[], char **errp)
{
    const struct smap_entry *e;

    SMAP_FOR_EACH (e, options) {
        size_t i;

        for (i = 0; allowed[i]; i++) {
            if (!strcmp(allowed[i], e->key)) {
                break;
            }
        }
        if (!allowed[i]) {
            *errp = xasprintf("unknown option '%s' for type %s", e->key,
                              type);
            return -EINVAL;
        }
    }
    return 0;
}

char *
netdev_open_error(const char *type, const char *name, int err,
                  const char *what)
{
    const char *reason;

    switch (err) {
    case -ENODEV:
    case -ENXIO:
        reason = "no such device";
        break;
    case -EPERM:
    case -EACCES:
        reason = "permission denied (needs root or CAP_NET_ADMIN)";
        break;
    default:
        reason = ts_strerror(err);
        break;
    }
    return what ? xasprintf("%s port '%s': %s: %s", type, name, what, reason)
                : xasprintf("%s port '%s': %s", type, name, reason);
}

static int
netdev_linux_ioctl(const char *name, unsigned long cmd, struct ifreq *ifr)
{
    int fd, err = 0;

    if (strlen(name) >= IFNAMSIZ) {
        return -ENODEV;
    }
    fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -errno;
    }
    ts_strlcpy(ifr->ifr_name, name, IFNAMSIZ);
    if (ioctl(fd, cmd, ifr) < 0) {
        err = -errno;
    }
    close(fd);
    return err;
}

int
netdev_linux_ifindex(const char *name, int *ifindex)
{
    struct ifreq ifr;
    int err;

    memset(&ifr, 0, sizeof ifr);
    err = netdev_linux_ioctl(name, SIOCGIFINDEX, &ifr);
    *ifindex = err ? 0 : ifr.ifr_ifindex;
    return err;
}

int
netdev_linux_get_mtu(const char *name, int *mtu)
{
    struct ifreq ifr;
    int err;

    memset(&ifr, 0, sizeof ifr);
    err = netdev_linux_ioctl(name, SIOCGIFMTU, &ifr);
    *mtu = err ? 0 : ifr.ifr_mtu;
    return err;
}

int
netdev_linux_get_mac(const char *name, struct eth_addr *mac)
{
    struct ifreq ifr;
    int err;

    memset(&ifr, 0, sizeof ifr);
    err = netdev_linux_ioctl(name, SIOCGIFHWADDR, &ifr);
    if (!err) {
        memcpy(mac->ea, ifr.ifr_hwaddr.sa_data, ETH_ADDR_LEN);
    }
    return err;
}

int
netdev_linux_set_up(const char *name, bool up)
{
    struct ifreq ifr;
    int err;

    memset(&ifr, 0, sizeof ifr);
    err = netdev_linux_ioctl(name, SIOCGIFFLAGS, &ifr);
    if (err) {
        return err;
    }
    if (!!(ifr.ifr_flags & IFF_UP) == up) {
        return 0;
    }
    ifr.ifr_flags = up ? ifr.ifr_flags | IFF_UP : ifr.ifr_flags & ~IFF_UP;
    return netdev_linux_ioctl(name, SIOCSIFFLAGS, &ifr);
}

bool
netdev_vnet_to_ofl(const struct netdev_vnet_hdr *vh, uint32_t size,
                   struct dp_packet_offload *ofl)
{
    memset(ofl, 0, sizeof *ofl);
    if (vh->flags & NETDEV_VNET_F_NEEDS_CSUM) {
        if ((uint32_t) vh->csum_start + vh->csum_offset + 2 > size) {
            return false;
        }
        ofl->flags |= DP_OFL_CSUM_PARTIAL;
        ofl->csum_start = vh->csum_start;
        ofl->csum_offset = vh->csum_offset;
    } else if (vh->flags & NETDEV_VNET_F_DATA_VALID) {
        ofl->flags |= DP_OFL_CSUM_VALID;
    }
    switch (vh->gso_type & ~NETDEV_VNET_GSO_ECN) {
    case NETDEV_VNET_GSO_NONE:
        return true;
    case NETDEV_VNET_GSO_TCPV4:
        ofl->gso_type = DP_GSO_TCPV4;
        break;
    case NETDEV_VNET_GSO_TCPV6:
        ofl->gso_type = DP_GSO_TCPV6;
        break;
    case NETDEV_VNET_GSO_UDP_L4:
        ofl->gso_type = DP_GSO_UDP_L4;
        break;
    default:
        return false;
    }
    /* GSO without NEEDS_CSUM (a GRO'ed frame whose checksum the kernel
     * verified) is kept: netdev_resolve_offloads() segments such packets
     * in software for every port. */
    if (!vh->gso_size) {
        return false;
    }
    ofl->gso_size = vh->gso_size;
    return true;
}

void
netdev_vnet_from_packet(const struct dp_packet *p, struct netdev_vnet_hdr *vh)
{
    const struct dp_packet_offload *ofl = &p->ofl;

    memset(vh, 0, sizeof *vh);
    if (ofl->flags & DP_OFL_CSUM_PARTIAL) {
        vh->flags = NETDEV_VNET_F_NEEDS_CSUM;
        vh->csum_start = ofl->csum_start;
        vh->csum_offset = ofl->csum_offset;
    } else if (ofl->flags & DP_OFL_CSUM_VALID) {
        vh->flags = NETDEV_VNET_F_DATA_VALID;
    }
    if (ofl->gso_type != DP_GSO_NONE && ofl->gso_size
        && (ofl->flags & DP_OFL_CSUM_PARTIAL)) {
        const uint8_t *l4 = (const uint8_t *) dp_packet_data(p)
                            + ofl->csum_start;
        uint32_t l4_hlen = 8;

        if (ofl->gso_type == DP_GSO_TCPV4 || ofl->gso_type == DP_GSO_TCPV6) {
            vh->gso_type = ofl->gso_type == DP_GSO_TCPV4
                           ? NETDEV_VNET_GSO_TCPV4 : NETDEV_VNET_GSO_TCPV6;
            if ((uint32_t) ofl->csum_start + 13 < p->size) {
                l4_hlen = (l4[12] >> 4) * 4;
            }
        } else {
            vh->gso_type = NETDEV_VNET_GSO_UDP_L4;
        }
        vh->gso_size = ofl->gso_size;
        vh->hdr_len = MIN(ofl->csum_start + l4_hlen, p->size);
    }
}

int
netdev_rx_pools_create(struct netdev_rx_pools *pools, const char *name,
                       size_t n_small, size_t n_large)
{
    char *pname;

    pname = xasprintf("%s-small", name);
    pools->small = dp_packet_pool_create(pname, n_small, NETDEV_SMALL_BUF);
    free(pname);
    pname = xasprintf("%s-large", name);
    pools->large = n_large
                   ? dp_packet_pool_create(pname, n_large, NETDEV_LARGE_BUF)
                   : NULL;
    free(pname);
    if (!pools->small || (n_large && !pools->large)) {
        netdev_rx_pools_destroy(pools);
        return -ENOMEM;
    }
    return 0;
}

void
netdev_rx_pools_destroy(struct netdev_rx_pools *pools)
{
    dp_packet_pool_destroy(pools->small);
    dp_packet_pool_destroy(pools->large);
    pools->small = pools->large = NULL;
}
