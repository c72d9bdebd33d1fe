/* helper-packets: see helper-packets.h. */
#include "helper-packets.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <string.h>
#include <time.h>
#include "dp-packet.h"
#include "dpif.h"

struct eth_addr
pkt_mac(unsigned int n)
{
    struct eth_addr m = { { 0x02, 0x00, 0x00, (uint8_t) (n >> 16),
                            (uint8_t) (n >> 8), (uint8_t) n } };
    return m;
}

static uint8_t *
put_eth(uint8_t *p, struct eth_addr dst, struct eth_addr src, uint16_t type)
{
    uint16_t be = htons(type);

    memcpy(p, &dst, 6);
    memcpy(p + 6, &src, 6);
    memcpy(p + 12, &be, 2);
    return p + 14;
}

size_t
pkt_eth(uint8_t *buf, struct eth_addr dst, struct eth_addr src,
        uint16_t eth_type, size_t payload_len)
{
    uint8_t *p = put_eth(buf, dst, src, eth_type);

    if (payload_len > PKT_MAX - 14) {
        payload_len = PKT_MAX - 14;
    }
    memset(p, 0, payload_len);
    return 14 + payload_len;
}

size_t
pkt_eth_vlan(uint8_t *buf, struct eth_addr dst, struct eth_addr src,
             uint16_t vid, uint16_t eth_type, size_t payload_len)
{
    uint8_t *p = put_eth(buf, dst, src, ETH_TYPE_VLAN_8021Q);
    uint16_t tci = htons(vid & VLAN_VID_MASK), type = htons(eth_type);

    memcpy(p, &tci, 2);
    memcpy(p + 2, &type, 2);
    if (payload_len > PKT_MAX - 18) {
        payload_len = PKT_MAX - 18;
    }
    memset(p + 4, 0, payload_len);
    return 18 + payload_len;
}

static uint16_t
ip_csum(const uint8_t *p, size_t n)
{
    uint32_t sum = 0;

    for (size_t i = 0; i + 1 < n; i += 2) {
        sum += (uint32_t) (p[i] << 8 | p[i + 1]);
    }
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return htons((uint16_t) ~sum);
}

static uint8_t *
put_ip4(uint8_t *p, uint8_t proto, uint32_t src, uint32_t dst,
        size_t l4_len)
{
    uint16_t tot = htons((uint16_t) (20 + l4_len)), csum;
    uint32_t s = htonl(src), d = htonl(dst);

    memset(p, 0, 20);
    p[0] = 0x45;
    memcpy(p + 2, &tot, 2);
    p[8] = 64;
    p[9] = proto;
    memcpy(p + 12, &s, 4);
    memcpy(p + 16, &d, 4);
    csum = ip_csum(p, 20);
    memcpy(p + 10, &csum, 2);
    return p + 20;
}

size_t
pkt_udp4(uint8_t *buf, struct eth_addr dst, struct eth_addr src,
         uint32_t ip_src, uint32_t ip_dst, uint16_t sport, uint16_t dport,
         size_t payload_len)
{
    uint8_t *p;
    uint16_t v;

    if (payload_len > PKT_MAX - 42) {
        payload_len = PKT_MAX - 42;
    }
    p = put_eth(buf, dst, src, ETH_TYPE_IP);
    p = put_ip4(p, IPPROTO_UDP, ip_src, ip_dst, 8 + payload_len);
    v = htons(sport);
    memcpy(p, &v, 2);
    v = htons(dport);
    memcpy(p + 2, &v, 2);
    v = htons((uint16_t) (8 + payload_len));
    memcpy(p + 4, &v, 2);
    memset(p + 6, 0, 2 + payload_len);
    return 42 + payload_len;
}

size_t
pkt_tcp4(uint8_t *buf, struct eth_addr dst, struct eth_addr src,
         uint32_t ip_src, uint32_t ip_dst, uint16_t sport, uint16_t dport,
         uint16_t tcp_flags)
{
    uint8_t *p = put_eth(buf, dst, src, ETH_TYPE_IP);
    uint16_t v;

    p = put_ip4(p, IPPROTO_TCP, ip_src, ip_dst, 20);
    memset(p, 0, 20);
    v = htons(sport);
    memcpy(p, &v, 2);
    v = htons(dport);
    memcpy(p + 2, &v, 2);
    v = htons((uint16_t) (5 << 12 | (tcp_flags & 0xfff)));
    memcpy(p + 12, &v, 2);
    v = htons(65535);
    memcpy(p + 14, &v, 2);
    return 54;
}

size_t
pkt_arp(uint8_t *buf, uint16_t op, struct eth_addr sha, uint32_t spa,
        struct eth_addr tha, uint32_t tpa)
{
    struct eth_addr dst = op == 1 ? eth_addr_broadcast : tha;
    uint8_t *p = put_eth(buf, dst, sha, ETH_TYPE_ARP);
    uint16_t v;
    uint32_t a;

    v = htons(1);
    memcpy(p, &v, 2);
    v = htons(ETH_TYPE_IP);
    memcpy(p + 2, &v, 2);
    p[4] = 6;
    p[5] = 4;
    v = htons(op);
    memcpy(p + 6, &v, 2);
    memcpy(p + 8, &sha, 6);
    a = htonl(spa);
    memcpy(p + 14, &a, 4);
    memcpy(p + 18, op == 1 ? &eth_addr_zero : &tha, 6);
    a = htonl(tpa);
    memcpy(p + 24, &a, 4);
    return 42;
}

void
pkt_inject(struct dpif *dpif, uint32_t port, const void *frame, size_t len)
{
    int err = dpif_port_inject(dpif, port, frame, len);

    cr_assert_eq(err, 0, "inject on port %u failed: %d", port, err);
}

void
pkt_sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long) (ms % 1000) * 1000000L };

    nanosleep(&ts, NULL);
}

static int
collect_some(struct dpif *dpif, uint32_t port, uint8_t *last,
             size_t *last_len)
{
    struct dp_packet *pkts[32];
    int n = dpif_port_collect(dpif, port, pkts, 32);

    for (int i = 0; i < n; i++) {
        if (last) {
            size_t len = MIN(dp_packet_size(pkts[i]), PKT_MAX);

            memcpy(last, dp_packet_data(pkts[i]), len);
            *last_len = len;
        }
        dp_packet_delete(pkts[i]);
    }
    return n < 0 ? 0 : n;
}

int
pkt_collect(struct dpif *dpif, uint32_t port, int expect, int timeout_ms,
            int settle_ms, uint8_t *last, size_t *last_len)
{
    int got = 0, waited = 0;

    while (got < expect && waited < timeout_ms) {
        got += collect_some(dpif, port, last, last_len);
        if (got < expect) {
            pkt_sleep_ms(2);
            waited += 2;
        }
    }
    for (waited = 0; waited < settle_ms; waited += 2) {
        pkt_sleep_ms(2);
        got += collect_some(dpif, port, last, last_len);
    }
    return got;
}

int
pkt_drain(struct dpif *dpif, uint32_t port)
{
    int n = 0, got;

    while ((got = collect_some(dpif, port, NULL, NULL)) > 0) {
        n += got;
    }
    return n;
}

/* ---- Checksums and VLAN tags -------------------------------------------- */

size_t
pkt_l3_ofs(const uint8_t *buf, size_t len)
{
    size_t ofs = 12;

    while (ofs + 4 <= len
           && ((buf[ofs] == 0x81 && buf[ofs + 1] == 0x00)
               || (buf[ofs] == 0x88 && buf[ofs + 1] == 0xa8))) {
        ofs += 4;
    }
    return ofs + 2;
}

static uint32_t
sum16(const uint8_t *p, size_t n, uint32_t sum)
{
    for (size_t i = 0; i + 1 < n; i += 2) {
        sum += (uint32_t) (p[i] << 8 | p[i + 1]);
    }
    if (n & 1) {
        sum += (uint32_t) p[n - 1] << 8;
    }
    return sum;
}

static uint16_t
fold(uint32_t sum)
{
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return (uint16_t) ~sum;
}

/* Computes the L4 checksum (network order) with the field zeroed. */
static uint16_t
l4_csum(const uint8_t *ip, const uint8_t *l4, size_t l4_len, size_t csum_ofs)
{
    uint8_t tmp[PKT_MAX];
    uint32_t sum = 0;

    memcpy(tmp, l4, l4_len);
    tmp[csum_ofs] = tmp[csum_ofs + 1] = 0;
    if (ip[9] != IPPROTO_ICMP) {
        sum = sum16(ip + 12, 8, 0);
        sum += ip[9];
        sum += (uint32_t) l4_len;
    }
    sum = sum16(tmp, l4_len, sum);
    return fold(sum);
}

static bool
pkt_ipv4(const uint8_t *buf, size_t len, size_t *l3, size_t *l4,
         size_t *l4_len, size_t *csum_ofs)
{
    size_t ofs = pkt_l3_ofs(buf, len), ihl, tot;

    if (ofs + 20 > len || buf[ofs - 2] != 0x08 || buf[ofs - 1] != 0x00) {
        return false;
    }
    ihl = (size_t) (buf[ofs] & 0xf) * 4;
    tot = (size_t) buf[ofs + 2] << 8 | buf[ofs + 3];
    if (ihl < 20 || ofs + tot > len || tot < ihl) {
        return false;
    }
    *l3 = ofs;
    *l4 = ofs + ihl;
    *l4_len = tot - ihl;
    switch (buf[ofs + 9]) {
    case IPPROTO_TCP: *csum_ofs = 16; break;
    case IPPROTO_UDP: *csum_ofs = 6; break;
    case IPPROTO_ICMP: *csum_ofs = 2; break;
    default: *csum_ofs = SIZE_MAX; break;
    }
    if (*csum_ofs != SIZE_MAX && *csum_ofs + 2 > *l4_len) {
        *csum_ofs = SIZE_MAX;
    }
    return true;
}

void
pkt_fix_csums(uint8_t *buf, size_t len)
{
    size_t l3, l4, l4_len, cofs;
    uint16_t c;

    if (!pkt_ipv4(buf, len, &l3, &l4, &l4_len, &cofs)) {
        return;
    }
    buf[l3 + 10] = buf[l3 + 11] = 0;
    c = fold(sum16(buf + l3, l4 - l3, 0));
    buf[l3 + 10] = c >> 8;
    buf[l3 + 11] = c & 0xff;
    if (cofs != SIZE_MAX) {
        c = l4_csum(buf + l3, buf + l4, l4_len, cofs);
        if (buf[l3 + 9] == IPPROTO_UDP && !c) {
            c = 0xffff;
        }
        buf[l4 + cofs] = c >> 8;
        buf[l4 + cofs + 1] = c & 0xff;
    }
}

bool
pkt_csums_ok(const uint8_t *buf, size_t len)
{
    size_t l3, l4, l4_len, cofs;
    uint16_t c, have;

    if (!pkt_ipv4(buf, len, &l3, &l4, &l4_len, &cofs)) {
        return true;
    }
    if (fold(sum16(buf + l3, l4 - l3, 0)) != 0) {
        return false;
    }
    if (cofs == SIZE_MAX) {
        return true;
    }
    have = (uint16_t) (buf[l4 + cofs] << 8 | buf[l4 + cofs + 1]);
    if (buf[l3 + 9] == IPPROTO_UDP && !have) {
        return true;
    }
    c = l4_csum(buf + l3, buf + l4, l4_len, cofs);
    if (buf[l3 + 9] == IPPROTO_UDP && !c) {
        c = 0xffff;
    }
    return c == have;
}

size_t
pkt_push_vlan(uint8_t *buf, size_t len, uint16_t tpid, uint16_t tci)
{
    if (len + 4 > PKT_MAX || len < 12) {
        return len;
    }
    memmove(buf + 16, buf + 12, len - 12);
    buf[12] = tpid >> 8;
    buf[13] = tpid & 0xff;
    buf[14] = tci >> 8;
    buf[15] = tci & 0xff;
    return len + 4;
}

size_t
pkt_pop_vlan(uint8_t *buf, size_t len)
{
    if (len < 18) {
        return len;
    }
    memmove(buf + 12, buf + 16, len - 16);
    return len - 4;
}
