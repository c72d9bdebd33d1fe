/* netdev-private: helpers shared by the netdev providers (datapath/
 * netdev-*.c only; the rest of the datapath uses netdev.h).
 *
 * - Option checking, so that every provider rejects unknown keys and bad
 *   values with the same words.
 * - Linux interface queries (index, MTU, MAC, flags) through one ioctl
 *   socket per call: these run on the main thread at open time only.
 * - The virtio-net header, used by AF_PACKET (PACKET_VNET_HDR) and TAP
 *   (IFF_VNET_HDR), and its translation to and from struct
 *   dp_packet_offload.
 * - Receive pools: small buffers for ordinary frames and a few large ones
 *   for 64 KB GSO frames, so that a port does not pin 64 KB per buffer.
 *
 * Threads: the option and interface helpers run on the main thread; the
 * virtio-net translation runs on the packet path and neither allocates
 * nor blocks. */
#ifndef TS_NETDEV_PRIVATE_H
#define TS_NETDEV_PRIVATE_H 1

#include <stdbool.h>
#include <stdint.h>
#include "dp-packet.h"
#include "netdev.h"
#include "packets.h"
#include "smap.h"

/* The largest frame any provider receives: a 64 KB IP packet behind an
 * Ethernet header and two VLAN tags. */
#define NETDEV_MAX_FRAME (65535 + 14 + 8)
/* Buffer sizes (headroom included) of the two receive pools. */
#define NETDEV_SMALL_BUF 2304           /* 128 + 2176: a 1500-MTU frame */
#define NETDEV_LARGE_BUF (DP_PACKET_HEADROOM + NETDEV_MAX_FRAME + 64)

/* Checks that every key of 'options' is one of the NULL-terminated
 * 'allowed' keys.  On failure returns -EINVAL and sets '*errp' to
 * "unknown option 'KEY' for type TYPE". */
int netdev_check_options(const char *type, const struct smap *options,
                         const char *const allowed[], char **errp);

/* Interface queries on the interface 'name' in the current network
 * namespace.  Return 0 or a negative errno (-ENODEV if it does not
 * exist). */
int netdev_linux_ifindex(const char *name, int *ifindex);
int netdev_linux_get_mtu(const char *name, int *mtu);
int netdev_linux_get_mac(const char *name, struct eth_addr *);
/* Sets or clears IFF_UP (and IFF_PROMISC if 'promisc' changes it). */
int netdev_linux_set_up(const char *name, bool up);

/* Formats the usual open-failure message into a malloc'ed string. */
char *netdev_open_error(const char *type, const char *name, int err,
                        const char *what);

/* The 10-byte virtio-net header, little-endian (this is an x86 project;
 * TAP and AF_PACKET use the host's order for legacy headers). */
struct netdev_vnet_hdr {
    uint8_t flags;
    uint8_t gso_type;
    uint16_t hdr_len;
    uint16_t gso_size;
    uint16_t csum_start;
    uint16_t csum_offset;
};
#define NETDEV_VNET_F_NEEDS_CSUM 1
#define NETDEV_VNET_F_DATA_VALID 2
#define NETDEV_VNET_GSO_NONE 0
#define NETDEV_VNET_GSO_TCPV4 1
#define NETDEV_VNET_GSO_UDP 3
#define NETDEV_VNET_GSO_TCPV6 4
#define NETDEV_VNET_GSO_UDP_L4 5
#define NETDEV_VNET_GSO_ECN 0x80

/* Fills 'p->ofl' from 'vh' for a frame of 'size' bytes.  Returns false if
 * the header is inconsistent (unknown GSO type, checksum outside the
 * frame): the caller drops the packet and counts an rx error. */
bool netdev_vnet_to_ofl(const struct netdev_vnet_hdr *vh, uint32_t size,
                        struct dp_packet_offload *ofl);
/* Fills 'vh' for transmitting 'p'. */
void netdev_vnet_from_packet(const struct dp_packet *p,
                             struct netdev_vnet_hdr *vh);

/* Two receive pools named after 'name': 'n_small' buffers of
 * NETDEV_SMALL_BUF bytes and 'n_large' of NETDEV_LARGE_BUF.  Return 0 or
 * -ENOMEM. */
struct netdev_rx_pools {
    struct dp_packet_pool *small;
    struct dp_packet_pool *large;
};
int netdev_rx_pools_create(struct netdev_rx_pools *, const char *name,
                           size_t n_small, size_t n_large);
void netdev_rx_pools_destroy(struct netdev_rx_pools *);

/* Counts of drops/errors are kept by each provider in a struct
 * netdev_stats that only its receiving thread (rx_*) or the tx-lock
 * holder (tx_*) writes; get_stats reads them without locking, which may
 * give a slightly stale value but never a torn one on x86-64. */

/* Fills the base members of a provider's struct. */
void netdev_init_base(struct netdev *, const struct netdev_class *,
                      const char *name);
void netdev_release_base(struct netdev *);

extern const struct netdev_class netdev_afpacket_class;
extern const struct netdev_class netdev_tap_class;
extern const struct netdev_class netdev_internal_class;
extern const struct netdev_class netdev_afxdp_class;
extern const struct netdev_class netdev_pcap_class;
extern const struct netdev_class netdev_dummy_class;

#endif /* netdev-private.h */
