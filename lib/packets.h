/* packets: wire-format header definitions, Ethernet addresses and
 * constants.  Multi-byte fields are in network byte order.  Header structs
 * are packed: read them only after checking the bytes are there. */
#ifndef TS_PACKETS_H
#define TS_PACKETS_H 1

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <netinet/in.h>
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
/* dl_type of 802.3 frames without a SNAP Ethertype (as in OVS). */
#define ETH_TYPE_NONE 0x05ff

#define VLAN_VID_MASK 0x0fff
#define VLAN_CFI 0x1000
#define VLAN_PCP_MASK 0xe000
#define VLAN_PCP_SHIFT 13

#define IPPROTO_ICMPV6_ 58

/* Header structs follow.  Names avoid the system headers' (netinet/ip.h etc.)
 * so that both may be included together.  Every struct is packed: fields
 * may be read directly at any alignment, but never take a field's
 * address (copy it out with memcpy instead). */

static const struct eth_addr eth_addr_broadcast = {
    { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } };
static const struct eth_addr eth_addr_zero = { { 0, 0, 0, 0, 0, 0 } };

/* Ethernet. */
#define ETH_HEADER_LEN 14
#define ETH_PAYLOAD_MIN 46
#define ETH_PAYLOAD_MAX 1500
struct eth_header {
    struct eth_addr eth_dst;
    struct eth_addr eth_src;
    uint16_t eth_type;          /* be */
} TS_PACKED;
BUILD_ASSERT(sizeof(struct eth_header) == ETH_HEADER_LEN);

/* 802.1Q / 802.1ad tag: follows the TPID that sits where an Ethertype
 * would be. */
#define VLAN_HEADER_LEN 4
struct vlan_header {
    uint16_t vlan_tci;          /* be: PCP, DEI/CFI, VID */
    uint16_t vlan_next_type;    /* be: the inner Ethertype or TPID */
} TS_PACKED;
BUILD_ASSERT(sizeof(struct vlan_header) == VLAN_HEADER_LEN);

/* A tagged frame's first 18 bytes. */
struct vlan_eth_header {
    struct eth_addr veth_dst;
    struct eth_addr veth_src;
    uint16_t veth_type;         /* be: TPID */
    uint16_t veth_tci;          /* be */
    uint16_t veth_next_type;    /* be */
} TS_PACKED;
BUILD_ASSERT(sizeof(struct vlan_eth_header) == 18);

static inline uint16_t vlan_tci_to_vid(uint16_t tci_host)
{
    return tci_host & VLAN_VID_MASK;
}
static inline uint8_t vlan_tci_to_pcp(uint16_t tci_host)
{
    return (tci_host & VLAN_PCP_MASK) >> VLAN_PCP_SHIFT;
}

/* ARP for Ethernet and IPv4 (RFC 826); RARP uses the same layout. */
#define ARP_HRD_ETHERNET 1
#define ARP_OP_REQUEST 1
#define ARP_OP_REPLY 2
#define ARP_OP_RARP_REQUEST 3
#define ARP_OP_RARP_REPLY 4
#define ARP_ETH_HEADER_LEN 28
struct arp_eth_header {
    uint16_t ar_hrd;            /* be: ARP_HRD_ETHERNET */
    uint16_t ar_pro;            /* be: ETH_TYPE_IP */
    uint8_t ar_hln;             /* 6 */
    uint8_t ar_pln;             /* 4 */
    uint16_t ar_op;             /* be: ARP_OP_* */
    struct eth_addr ar_sha;
    uint32_t ar_spa;            /* be */
    struct eth_addr ar_tha;
    uint32_t ar_tpa;            /* be */
} TS_PACKED;
BUILD_ASSERT(sizeof(struct arp_eth_header) == ARP_ETH_HEADER_LEN);

/* IPv4 (RFC 791). */
#define IP_HEADER_LEN 20
#define IP_HEADER_MAX_LEN 60
#define IP_VERSION 4
#define IP_VER(IHL_VER) ((IHL_VER) >> 4)
#define IP_IHL(IHL_VER) ((IHL_VER) & 15)          /* in 32-bit words */
#define IP_IHL_VER(IHL, VER) (((VER) << 4) | (IHL))
#define IP_DSCP_MASK 0xfc
#define IP_ECN_MASK 0x03
#define IP_ECN_NOT_ECT 0x0
#define IP_ECN_ECT_1 0x01
#define IP_ECN_ECT_0 0x02
#define IP_ECN_CE 0x03
/* ip_frag_off, host order. */
#define IP_DONT_FRAGMENT 0x4000
#define IP_MORE_FRAGMENTS 0x2000
#define IP_FRAG_OFF_MASK 0x1fff   /* in 8-byte units */
#define IP_IS_FRAGMENT(FRAG_OFF_HOST) \
    (((FRAG_OFF_HOST) & (IP_MORE_FRAGMENTS | IP_FRAG_OFF_MASK)) != 0)
/* IPv4 options (type octets). */
#define IP_OPT_EOL 0
#define IP_OPT_NOP 1
#define IP_OPT_RR 7
#define IP_OPT_TS 68
#define IP_OPT_LSRR 131
#define IP_OPT_SSRR 137
#define IP_OPT_RA 148
struct ip_header {
    uint8_t ip_ihl_ver;
    uint8_t ip_tos;
    uint16_t ip_tot_len;        /* be */
    uint16_t ip_id;             /* be */
    uint16_t ip_frag_off;       /* be: flags and offset */
    uint8_t ip_ttl;
    uint8_t ip_proto;
    uint16_t ip_csum;
    uint32_t ip_src;            /* be */
    uint32_t ip_dst;            /* be */
} TS_PACKED;
BUILD_ASSERT(sizeof(struct ip_header) == IP_HEADER_LEN);

/* IPv6 (RFC 8200) and its extension headers. */
#define IPV6_HEADER_LEN 40
#define IPV6_VERSION 6
#define IPV6_LABEL_MASK 0x000fffff  /* host order */
struct ipv6_header {
    uint32_t ip6_vtc_flow;      /* be: version 4, traffic class 8, label 20 */
    uint16_t ip6_plen;          /* be: payload length */
    uint8_t ip6_nxt;
    uint8_t ip6_hlim;
    uint8_t ip6_src[16];
    uint8_t ip6_dst[16];
} TS_PACKED;
BUILD_ASSERT(sizeof(struct ipv6_header) == IPV6_HEADER_LEN);

/* Hop-by-hop, routing and destination options share this start; their
 * length is (ip6e_len + 1) * 8 bytes.  AH's is (ip6e_len + 2) * 4. */
#define IPV6_EXT_HEADER_LEN 2
struct ipv6_ext_header {
    uint8_t ip6e_nxt;
    uint8_t ip6e_len;
} TS_PACKED;

/* Routing header fixed part (RFC 8200 section 4.4). */
struct ipv6_rt_header {
    uint8_t ip6r_nxt;
    uint8_t ip6r_len;
    uint8_t ip6r_type;
    uint8_t ip6r_segleft;
    uint32_t ip6r_reserved;
} TS_PACKED;
BUILD_ASSERT(sizeof(struct ipv6_rt_header) == 8);

#define IPV6_FRAG_HEADER_LEN 8
/* ip6f_offlg, host order. */
#define IPV6_FRAG_OFF_MASK 0xfff8   /* offset in 8-byte units, << 3 */
#define IPV6_FRAG_MORE 0x0001
struct ipv6_frag_header {
    uint8_t ip6f_nxt;
    uint8_t ip6f_reserved;
    uint16_t ip6f_offlg;        /* be: offset, reserved, M flag */
    uint32_t ip6f_ident;        /* be */
} TS_PACKED;
BUILD_ASSERT(sizeof(struct ipv6_frag_header) == IPV6_FRAG_HEADER_LEN);

/* TCP (RFC 9293). */
#define TCP_HEADER_LEN 20
#define TCP_FIN 0x001
#define TCP_SYN 0x002
#define TCP_RST 0x004
#define TCP_PSH 0x008
#define TCP_ACK 0x010
#define TCP_URG 0x020
#define TCP_ECE 0x040
#define TCP_CWR 0x080
#define TCP_NS 0x100
#define TCP_FLAGS_MASK 0x0fff
/* From tcp_ctl in host order: header length in 32-bit words, flags. */
#define TCP_OFFSET(CTL_HOST) ((CTL_HOST) >> 12)
#define TCP_FLAGS(CTL_HOST) ((CTL_HOST) & TCP_FLAGS_MASK)
#define TCP_CTL(FLAGS, OFFSET) (((OFFSET) << 12) | (FLAGS))
struct tcp_header {
    uint16_t tcp_src;           /* be */
    uint16_t tcp_dst;           /* be */
    uint32_t tcp_seq;           /* be */
    uint32_t tcp_ack;           /* be */
    uint16_t tcp_ctl;           /* be: data offset, reserved, flags */
    uint16_t tcp_winsz;         /* be */
    uint16_t tcp_csum;
    uint16_t tcp_urg;           /* be */
} TS_PACKED;
BUILD_ASSERT(sizeof(struct tcp_header) == TCP_HEADER_LEN);

/* UDP (RFC 768). */
#define UDP_HEADER_LEN 8
struct udp_header {
    uint16_t udp_src;           /* be */
    uint16_t udp_dst;           /* be */
    uint16_t udp_len;           /* be */
    uint16_t udp_csum;          /* 0: no checksum (IPv4 only) */
} TS_PACKED;
BUILD_ASSERT(sizeof(struct udp_header) == UDP_HEADER_LEN);

/* SCTP common header (RFC 9260); the checksum is CRC32c. */
#define SCTP_HEADER_LEN 12
struct sctp_header {
    uint16_t sctp_src;          /* be */
    uint16_t sctp_dst;          /* be */
    uint32_t sctp_vtag;         /* be */
    uint32_t sctp_csum;
} TS_PACKED;
BUILD_ASSERT(sizeof(struct sctp_header) == SCTP_HEADER_LEN);

/* ICMPv4 (RFC 792). */
#define ICMP_HEADER_LEN 8
#define ICMP4_ECHO_REPLY 0
#define ICMP4_DST_UNREACH 3
#define ICMP4_SOURCEQUENCH 4
#define ICMP4_REDIRECT 5
#define ICMP4_ECHO_REQUEST 8
#define ICMP4_TIME_EXCEEDED 11
#define ICMP4_PARAM_PROB 12
#define ICMP4_TIMESTAMP 13
#define ICMP4_TIMESTAMPREPLY 14
#define ICMP4_INFOREQUEST 15
#define ICMP4_INFOREPLY 16
/* Codes of ICMP4_DST_UNREACH. */
#define ICMP4_UNREACH_NET 0
#define ICMP4_UNREACH_HOST 1
#define ICMP4_UNREACH_PROTO 2
#define ICMP4_UNREACH_PORT 3
#define ICMP4_UNREACH_NEEDFRAG 4
struct icmp_header {
    uint8_t icmp_type;
    uint8_t icmp_code;
    uint16_t icmp_csum;
    union {
        struct {
            uint16_t id;        /* be */
            uint16_t seq;       /* be */
        } echo;
        struct {
            uint16_t empty;
            uint16_t mtu;       /* be */
        } frag;
        uint32_t gateway;       /* be */
    } icmp_fields;
} TS_PACKED;
BUILD_ASSERT(sizeof(struct icmp_header) == ICMP_HEADER_LEN);

/* ICMPv6 (RFC 4443) and neighbour discovery (RFC 4861). */
#define ICMP6_HEADER_LEN 4
#define ICMP6_TYPE_DST_UNREACH 1
#define ICMP6_TYPE_PACKET_TOO_BIG 2
#define ICMP6_TYPE_TIME_EXCEEDED 3
#define ICMP6_TYPE_PARAM_PROB 4
#define ICMP6_TYPE_ECHO_REQUEST 128
#define ICMP6_TYPE_ECHO_REPLY 129
#define ICMP6_TYPE_MLD_QUERY 130
#define ICMP6_TYPE_MLD_REPORT 131
#define ICMP6_TYPE_MLD_DONE 132
#define ICMP6_TYPE_ROUTER_SOLICIT 133
#define ICMP6_TYPE_ROUTER_ADVERT 134
#define ICMP6_TYPE_NEIGHBOR_SOLICIT 135
#define ICMP6_TYPE_NEIGHBOR_ADVERT 136
#define ICMP6_TYPE_REDIRECT 137
#define ICMP6_TYPE_MLD2_REPORT 143
struct icmp6_header {
    uint8_t icmp6_type;
    uint8_t icmp6_code;
    uint16_t icmp6_csum;
} TS_PACKED;
BUILD_ASSERT(sizeof(struct icmp6_header) == ICMP6_HEADER_LEN);

/* ICMPv6 echo request and reply. */
struct icmp6_echo_header {
    struct icmp6_header icmp6;
    uint16_t id;                /* be */
    uint16_t seq;               /* be */
} TS_PACKED;
BUILD_ASSERT(sizeof(struct icmp6_echo_header) == 8);

/* Neighbour solicitation and advertisement, options follow. */
#define ND_MSG_LEN 24
/* nd_rso_flags, host order (advertisements). */
#define ND_RSO_ROUTER 0x80000000u
#define ND_RSO_SOLICITED 0x40000000u
#define ND_RSO_OVERRIDE 0x20000000u
struct nd_msg {
    struct icmp6_header icmp6;
    uint32_t nd_rso_flags;      /* be: reserved in solicitations */
    uint8_t nd_target[16];
} TS_PACKED;
BUILD_ASSERT(sizeof(struct nd_msg) == ND_MSG_LEN);

/* ND option: 'nd_opt_len' counts 8-byte units and is never 0. */
#define ND_OPT_TYPE_SLL 1       /* source link-layer address */
#define ND_OPT_TYPE_TLL 2       /* target link-layer address */
#define ND_OPT_TYPE_PREFIX 3
#define ND_OPT_TYPE_MTU 5
#define ND_LLA_OPT_LEN 8
struct nd_opt_header {
    uint8_t nd_opt_type;
    uint8_t nd_opt_len;
} TS_PACKED;
struct nd_lla_opt {
    uint8_t nd_opt_type;        /* ND_OPT_TYPE_SLL or _TLL */
    uint8_t nd_opt_len;         /* 1 for Ethernet */
    struct eth_addr nd_opt_mac;
} TS_PACKED;
BUILD_ASSERT(sizeof(struct nd_lla_opt) == ND_LLA_OPT_LEN);

/* IPv4 address helpers.  Addresses are in network byte order. */
#define IP_FMT "%u.%u.%u.%u"
#define IP_ARGS(IP_BE)                                           \
    ((const uint8_t *) &(IP_BE))[0], ((const uint8_t *) &(IP_BE))[1], \
    ((const uint8_t *) &(IP_BE))[2], ((const uint8_t *) &(IP_BE))[3]
#define IP_STRLEN 16            /* "255.255.255.255" and NUL */

/* Returns the be32 netmask of prefix length 'plen' (0 to 32). */
uint32_t ip_mask_from_plen(unsigned int plen);
/* If 'mask' (be32) is a CIDR mask, returns its prefix length, else -1. */
int ip_mask_to_plen(uint32_t mask);
/* Parses dotted quad "a.b.c.d".  Returns 0 or -TS_ERR_SYNTAX. */
int ip_parse(const char *, uint32_t *ip);
/* Parses "a.b.c.d", "a.b.c.d/N" or "a.b.c.d/m.m.m.m" (a CIDR mask); an
 * address alone has plen 32.  Returns 0 or -TS_ERR_SYNTAX.  Host bits
 * beyond the prefix are left as written. */
int ip_parse_cidr(const char *, uint32_t *ip, unsigned int *plen);
/* Writes "a.b.c.d" into 'buf' (IP_STRLEN bytes) and returns it. */
char *ip_to_string(uint32_t ip, char buf[IP_STRLEN]);

/* IPv6 address helpers. */
#define IPV6_STRLEN 46          /* INET6_ADDRSTRLEN */
void ipv6_mask_from_plen(unsigned int plen, struct in6_addr *mask);
/* If 'mask' is a CIDR mask, returns its prefix length, else -1. */
int ipv6_mask_to_plen(const struct in6_addr *mask);
int ipv6_parse(const char *, struct in6_addr *);
/* Parses "ADDR" or "ADDR/N" (N 0 to 128); an address alone has plen
 * 128.  Returns 0 or -TS_ERR_SYNTAX. */
int ipv6_parse_cidr(const char *, struct in6_addr *, unsigned int *plen);
/* Writes RFC 5952 text into 'buf' (IPV6_STRLEN bytes) and returns it. */
char *ipv6_to_string(const struct in6_addr *, char buf[IPV6_STRLEN]);
static inline bool ipv6_addr_is_zero(const struct in6_addr *a)
{
    static const struct in6_addr zero;

    return !memcmp(a, &zero, sizeof zero);
}
static inline bool ipv6_addr_equals(const struct in6_addr *a,
                                    const struct in6_addr *b)
{
    return !memcmp(a, b, sizeof *a);
}
static inline bool ipv6_addr_is_multicast(const struct in6_addr *a)
{
    return a->s6_addr[0] == 0xff;
}

#endif /* packets.h */
