/* packets: wire-format header definitions, Ethernet addresses and
 * constants.  Multi-byte fields are in network byte order.  Header structs
 * are packed: read them only after checking the bytes are there. */
#ifndef TS_PACKETS_H
#define TS_PACKETS_H 1

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include "util.h"

#define ETH_ADDR_LEN 6
struct eth_addr {
    uint8_t ea[ETH_ADDR_LEN];
};
BUILD_ASSERT(sizeof(struct eth_addr) == 6);

#define ETH_ADDR_FMT "%02x:%02x:%02x:%02x:%02x:%02x"
#define ETH_ADDR_ARGS(E) \
    (E).ea[0], (E).ea[1], (E).ea[2], (E).ea[3], (E).ea[4], (E).ea[5]

static inline bool eth_addr_is_multicast(struct eth_addr a)
{
    return a.ea[0] & 1;
}
static inline bool eth_addr_is_broadcast(struct eth_addr a)
{
    return (a.ea[0] & a.ea[1] & a.ea[2] & a.ea[3] & a.ea[4] & a.ea[5])
           == 0xff;
}
static inline bool eth_addr_is_zero(struct eth_addr a)
{
    return !(a.ea[0] | a.ea[1] | a.ea[2] | a.ea[3] | a.ea[4] | a.ea[5]);
}
static inline bool eth_addr_equals(struct eth_addr a, struct eth_addr b)
{
    return !memcmp(&a, &b, sizeof a);
}
/* Parses "xx:xx:xx:xx:xx:xx"; returns true on success. */
bool eth_addr_from_string(const char *, struct eth_addr *);

#define ETH_TYPE_IP 0x0800
#define ETH_TYPE_ARP 0x0806
#define ETH_TYPE_RARP 0x8035
#define ETH_TYPE_VLAN_8021Q 0x8100
#define ETH_TYPE_VLAN_8021AD 0x88a8
#define ETH_TYPE_IPV6 0x86dd
#define ETH_TYPE_MIN 0x600

#define VLAN_VID_MASK 0x0fff
#define VLAN_CFI 0x1000
#define VLAN_PCP_MASK 0xe000
#define VLAN_PCP_SHIFT 13

#define IPPROTO_ICMPV6_ 58

/* Further header structs (eth, vlan, arp, ip, ipv6 and extension headers,
 * tcp, udp, sctp, icmp, icmpv6/nd) follow below. */

#endif /* packets.h */
