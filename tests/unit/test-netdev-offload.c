/* Unit tests for netdev_resolve_offloads() and netdev_send_resolving():
 * 64 KB TCP GSO packets over IPv4 and IPv6 with partial checksums are cut
 * for ports without offloads, and every segment's size, headers, sequence
 * number, flags and checksums are checked against an independent, naive
 * checksum computation. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "dp-packet.h"
#include "netdev.h"
#include "packets.h"

#define MSS 1448
#define SEG_POOL_N 256
#define SEG_BUF 2304

/* A netdev that keeps what it is sent. */
struct collect_netdev {
    struct netdev up;
    uint32_t tx_offloads;
    struct dp_packet *sent[128];
    size_t n_sent;
    size_t n_sends;              /* calls to send() */
};

static void
collect_send(struct netdev *netdev, struct dp_packet_batch *batch)
{
    struct collect_netdev *c = (struct collect_netdev *) netdev;

    cr_assert_leq(batch->count, NETDEV_MAX_BURST);
    for (uint32_t i = 0; i < batch->count; i++) {
        cr_assert_lt(c->n_sent, 128);
        c->sent[c->n_sent++] = batch->packets[i];
    }
    batch->count = 0;
    c->n_sends++;
}

static uint32_t
collect_tx_offloads(const struct netdev *netdev)
{
    return ((const struct collect_netdev *) netdev)->tx_offloads;
}

static const struct netdev_class collect_class = {
    .type = "collect",
    .send = collect_send,
    .tx_offloads = collect_tx_offloads,
};

/* Naive RFC 1071 sum of big-endian 16-bit words. */
static uint32_t
naive_sum(uint32_t sum, const uint8_t *d, size_t n)
{
    for (size_t i = 0; i + 1 < n; i += 2) {
        sum += (d[i] << 8) | d[i + 1];
    }
    if (n & 1) {
        sum += d[n - 1] << 8;
    }
    return sum;
}

static uint16_t
naive_fold(uint32_t sum)
{
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return sum;
}

/* The pseudo-header sum (host order) for an L4 part of 'len' bytes. */
static uint32_t
naive_pseudo(const uint8_t *l3, bool v6, uint8_t proto, uint32_t len)
{
    uint32_t sum;

    if (v6) {
        sum = naive_sum(0, l3 + 8, 32);
        sum += (len >> 16) + (len & 0xffff) + proto;
    } else {
        sum = naive_sum(0, l3 + 12, 8) + proto + len;
    }
    return sum;
}

/* True if the L4 checksum of the frame is correct. */
static bool
l4_csum_ok(const uint8_t *d, uint32_t l3, uint32_t l4, uint32_t size,
           bool v6, uint8_t proto)
{
    uint32_t len = size - l4;

    return naive_fold(naive_sum(naive_pseudo(d + l3, v6, proto, len),
                                d + l4, len)) == 0xffff;
}

struct gso_spec {
    bool v6;
    bool vlan;
    uint32_t payload;
    uint32_t seq;
    uint16_t ip_id;
    uint16_t flags;              /* TCP flags of the GSO packet */
    uint8_t tcp_opt_len;         /* bytes of TCP options, multiple of 4 */
};

struct gso_layout {
    uint32_t l3, l4, hdr_len;
};

/* Builds a GSO TCP packet with a partial checksum, as a kernel hands it
 * over (pseudo-header sum in the checksum field). */
static struct dp_packet *
build_gso(const struct gso_spec *s, uint8_t *payload_out,
          struct gso_layout *lo)
{
    uint32_t l3 = ETH_HEADER_LEN + (s->vlan ? 4 : 0);
    uint32_t l4 = l3 + (s->v6 ? IPV6_HEADER_LEN : IP_HEADER_LEN);
    uint32_t thl = TCP_HEADER_LEN + s->tcp_opt_len;
    uint32_t size = l4 + thl + s->payload;
    struct dp_packet *p = dp_packet_new(size);
    uint8_t *d = dp_packet_put_uninit(p, size);
    struct tcp_header *tcp;
    uint16_t c;

    memset(d, 0, l4 + thl);
    memcpy(d, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01", 12);
    if (s->vlan) {
        d[12] = 0x81;
        d[13] = 0x00;
        d[14] = 0x00;
        d[15] = 0x0a;
        d[16] = s->v6 ? 0x86 : 0x08;
        d[17] = s->v6 ? 0xdd : 0x00;
    } else {
        d[12] = s->v6 ? 0x86 : 0x08;
        d[13] = s->v6 ? 0xdd : 0x00;
    }
    if (s->v6) {
        struct ipv6_header *ip6 = (void *) (d + l3);

        ip6->ip6_vtc_flow = htonl(0x60000000);
        ip6->ip6_plen = htons(size - l3 - IPV6_HEADER_LEN);
        ip6->ip6_nxt = IPPROTO_TCP;
        ip6->ip6_hlim = 64;
        for (int i = 0; i < 16; i++) {
            ip6->ip6_src[i] = 0x20 + i;
            ip6->ip6_dst[i] = 0xf0 - i;
        }
    } else {
        struct ip_header *ip = (void *) (d + l3);
        uint32_t src = htonl(0x0a000001), dst = htonl(0x0a000002);

        ip->ip_ihl_ver = IP_IHL_VER(5, 4);
        ip->ip_tot_len = htons(size - l3);
        ip->ip_id = htons(s->ip_id);
        ip->ip_frag_off = htons(IP_DONT_FRAGMENT);
        ip->ip_ttl = 64;
        ip->ip_proto = IPPROTO_TCP;
        memcpy(&ip->ip_src, &src, 4);
        memcpy(&ip->ip_dst, &dst, 4);
        /* Left 0: the kernel fills it per segment (checked below). */
    }
    tcp = (void *) (d + l4);
    tcp->tcp_src = htons(40000);
    tcp->tcp_dst = htons(5201);
    tcp->tcp_seq = htonl(s->seq);
    tcp->tcp_ack = htonl(12345);
    tcp->tcp_ctl = htons(TCP_CTL(s->flags, thl / 4));
    tcp->tcp_winsz = htons(512);
    for (uint32_t i = 0; i < s->tcp_opt_len; i++) {
        d[l4 + TCP_HEADER_LEN + i] = 1;     /* NOPs */
    }
    for (uint32_t i = 0; i < s->payload; i++) {
        payload_out[i] = rand();
    }
    memcpy(d + l4 + thl, payload_out, s->payload);
    c = htons(naive_fold(naive_pseudo(d + l3, s->v6, IPPROTO_TCP,
                                      size - l4)));
    memcpy(&tcp->tcp_csum, &c, 2);
    p->ofl.flags = DP_OFL_CSUM_PARTIAL;
    p->ofl.csum_start = l4;
    p->ofl.csum_offset = 16;
    p->ofl.gso_type = s->v6 ? DP_GSO_TCPV6 : DP_GSO_TCPV4;
    p->ofl.gso_size = MSS;
    lo->l3 = l3;
    lo->l4 = l4;
    lo->hdr_len = l4 + thl;
    return p;
}

/* Checks the segments 'segs' against the GSO packet described by 's'.
 * If 'partial', the segments must carry partial checksums (completed
 * here before checking). */
static void
check_segments(const struct gso_spec *s, const struct gso_layout *lo,
               struct dp_packet **segs, size_t n, const uint8_t *payload,
               bool partial)
{
    size_t expect_n = (s->payload + MSS - 1) / MSS;

    cr_assert_eq(n, expect_n, "got %zu segments, expected %zu", n,
                 expect_n);
    for (size_t i = 0; i < n; i++) {
        struct dp_packet *q = segs[i];
        uint8_t *d = dp_packet_data(q);
        uint32_t plen = i + 1 < n ? MSS : s->payload - i * MSS;
        struct tcp_header *tcp = (void *) (d + lo->l4);
        uint16_t ctl = ntohs(tcp->tcp_ctl);
        uint16_t want = s->flags;

        cr_assert_eq(q->size, lo->hdr_len + plen, "segment %zu size", i);
        cr_assert_eq(q->ofl.gso_type, DP_GSO_NONE);
        cr_assert_eq(memcmp(d, dp_packet_data(segs[0]), lo->l3), 0,
                     "segment %zu: L2 header changed", i);
        if (s->v6) {
            struct ipv6_header *ip6 = (void *) (d + lo->l3);

            cr_assert_eq(ntohs(ip6->ip6_plen),
                         q->size - lo->l3 - IPV6_HEADER_LEN);
        } else {
            struct ip_header *ip = (void *) (d + lo->l3);

            cr_assert_eq(ntohs(ip->ip_tot_len), q->size - lo->l3);
            cr_assert_eq(ntohs(ip->ip_id), (uint16_t) (s->ip_id + i),
                         "segment %zu ip id", i);
            cr_assert_eq(naive_fold(naive_sum(0, d + lo->l3, 20)), 0xffff,
                         "segment %zu: bad IP checksum", i);
        }
        cr_assert_eq(ntohl(tcp->tcp_seq), (uint32_t) (s->seq + i * MSS),
                     "segment %zu seq", i);
        cr_assert_eq(ntohl(tcp->tcp_ack), 12345);
        if (i + 1 < n) {
            want &= ~(TCP_FIN | TCP_PSH);
        }
        if (i > 0) {
            want &= ~TCP_CWR;
        }
        cr_assert_eq(TCP_FLAGS(ctl), want, "segment %zu flags %#x != %#x",
                     i, TCP_FLAGS(ctl), want);
        cr_assert_eq(TCP_OFFSET(ctl) * 4, lo->hdr_len - lo->l4);
        cr_assert_eq(memcmp(d + lo->hdr_len, payload + i * MSS, plen), 0,
                     "segment %zu payload", i);
        if (partial) {
            uint32_t len = q->size - lo->l4;
            uint16_t c;

            cr_assert(q->ofl.flags & DP_OFL_CSUM_PARTIAL);
            cr_assert_eq(q->ofl.csum_start, lo->l4);
            cr_assert_eq(q->ofl.csum_offset, 16);
            c = htons(~naive_fold(naive_sum(0, d + lo->l4, len)));
            memcpy(&tcp->tcp_csum, &c, 2);
        } else {
            cr_assert_eq(q->ofl.flags & DP_OFL_CSUM_PARTIAL, 0);
        }
        cr_assert(l4_csum_ok(d, lo->l3, lo->l4, q->size, s->v6,
                             IPPROTO_TCP), "segment %zu: bad TCP checksum",
                  i);
    }
}

static void
run_gso_case(const struct gso_spec *s, uint32_t tx_offloads, bool partial)
{
    struct dp_packet_pool *pool = dp_packet_pool_create("seg", SEG_POOL_N,
                                                        SEG_BUF);
    struct collect_netdev c = {
        .up = { .class = &collect_class, .name = "c", .type = "collect" },
        .tx_offloads = tx_offloads,
    };
    uint8_t *payload = malloc(s->payload);
    struct dp_packet_batch batch;
    struct gso_layout lo;
    uint64_t dropped = 0;

    cr_assert(pool);
    dp_packet_batch_init(&batch);
    dp_packet_batch_add(&batch, build_gso(s, payload, &lo));
    netdev_send_resolving(&c.up, &batch, pool, &dropped);
    cr_assert_eq(dropped, 0);
    cr_assert_eq(batch.count, 0);
    cr_assert_geq(c.n_sends, (c.n_sent + NETDEV_MAX_BURST - 1)
                             / NETDEV_MAX_BURST);
    check_segments(s, &lo, c.sent, c.n_sent, payload, partial);
    for (size_t i = 0; i < c.n_sent; i++) {
        dp_packet_delete(c.sent[i]);
    }
    cr_assert_eq(dp_packet_pool_available(pool), SEG_POOL_N,
                 "segments leaked");
    free(payload);
    dp_packet_pool_destroy(pool);
}

Test(netdev_offload, tcp4_64k_no_offloads)
{
    struct gso_spec s = {
        .v6 = false, .payload = 65535 - 20 - 32, .seq = 0xffff0000u,
        .ip_id = 0xfff0, .flags = TCP_ACK | TCP_PSH | TCP_FIN | TCP_CWR,
        .tcp_opt_len = 12,
    };

    srand(1);
    run_gso_case(&s, 0, false);
}

Test(netdev_offload, tcp6_64k_no_offloads)
{
    struct gso_spec s = {
        .v6 = true, .payload = 65535 - 20, .seq = 0x7fffffffu,
        .flags = TCP_ACK | TCP_PSH,
    };

    srand(2);
    run_gso_case(&s, 0, false);
}

Test(netdev_offload, tcp4_vlan_csum_only_port)
{
    struct gso_spec s = {
        .v6 = false, .vlan = true, .payload = 40000, .seq = 1,
        .ip_id = 7, .flags = TCP_ACK | TCP_FIN, .tcp_opt_len = 12,
    };

    srand(3);
    run_gso_case(&s, NETDEV_TX_CSUM, true);
}

Test(netdev_offload, tcp6_csum_only_port)
{
    struct gso_spec s = {
        .v6 = true, .payload = 65000, .seq = 99, .flags = TCP_ACK,
    };

    srand(4);
    run_gso_case(&s, NETDEV_TX_CSUM, true);
}

Test(netdev_offload, odd_payload_sizes)
{
    static const uint32_t sizes[] = { 1, MSS - 1, MSS, MSS + 1, 3 * MSS,
                                      3 * MSS + 7 };

    srand(5);
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        struct gso_spec s = {
            .v6 = i & 1, .payload = sizes[i], .seq = 1000 * i,
            .ip_id = 3, .flags = TCP_ACK | TCP_PSH,
        };

        run_gso_case(&s, 0, false);
    }
}

Test(netdev_offload, tso_port_passes_untouched)
{
    struct gso_spec s = {
        .payload = 60000, .seq = 5, .flags = TCP_ACK,
    };
    uint8_t *payload = malloc(s.payload);
    struct dp_packet_batch batch;
    struct gso_layout lo;
    struct dp_packet *p;
    uint64_t dropped = 0;

    p = build_gso(&s, payload, &lo);
    dp_packet_batch_init(&batch);
    dp_packet_batch_add(&batch, p);
    cr_assert_not(netdev_batch_needs_resolve(&batch, NETDEV_TX_CSUM
                                                     | NETDEV_TX_TSO));
    cr_assert(netdev_batch_needs_resolve(&batch, NETDEV_TX_CSUM));
    netdev_resolve_offloads(&batch, NETDEV_TX_CSUM | NETDEV_TX_TSO, NULL,
                            &dropped);
    cr_assert_eq(batch.count, 1);
    cr_assert_eq(batch.packets[0], p);
    cr_assert_eq(p->ofl.gso_type, DP_GSO_TCPV4);
    cr_assert_eq(dropped, 0);
    dp_packet_delete(p);
    free(payload);
}

/* netdev_resolve_offloads() has only one batch: what does not fit is
 * dropped and counted, never written past the batch. */
Test(netdev_offload, resolve_in_batch_counts_overflow)
{
    struct dp_packet_pool *pool = dp_packet_pool_create("seg", SEG_POOL_N,
                                                        SEG_BUF);
    struct gso_spec s = {
        .payload = 45 * MSS, .seq = 5, .flags = TCP_ACK,
    };
    uint8_t *payload = malloc(s.payload);
    struct dp_packet_batch batch;
    struct gso_layout lo;
    uint64_t dropped = 0;

    dp_packet_batch_init(&batch);
    dp_packet_batch_add(&batch, build_gso(&s, payload, &lo));
    netdev_resolve_offloads(&batch, 0, pool, &dropped);
    cr_assert_eq(batch.count, NETDEV_MAX_BURST);
    cr_assert_eq(dropped, 45 - NETDEV_MAX_BURST);
    check_segments(&(struct gso_spec) { .payload = 32 * MSS, .seq = 5,
                                        .flags = TCP_ACK },
                   &lo, batch.packets, batch.count, payload, false);
    dp_packet_batch_delete(&batch);
    cr_assert_eq(dp_packet_pool_available(pool), SEG_POOL_N);
    free(payload);
    dp_packet_pool_destroy(pool);
}

Test(netdev_offload, udp_partial_csum_filled)
{
    static const uint8_t hdr[] = {
        2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00,
        0x45, 0, 0, 0, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
    };
    uint32_t plen = 333, size = sizeof hdr + 8 + plen, l4 = sizeof hdr;
    struct dp_packet *p = dp_packet_new(size);
    uint8_t *d = dp_packet_put_uninit(p, size);
    struct dp_packet_batch batch;
    uint64_t dropped = 0;
    uint16_t c;

    memcpy(d, hdr, sizeof hdr);
    d[16] = (size - 14) >> 8;
    d[17] = (size - 14) & 0xff;
    d[l4] = 0x30;
    d[l4 + 1] = 0x39;
    d[l4 + 2] = 0x00;
    d[l4 + 3] = 0x35;
    d[l4 + 4] = (8 + plen) >> 8;
    d[l4 + 5] = (8 + plen) & 0xff;
    for (uint32_t i = 0; i < plen; i++) {
        d[l4 + 8 + i] = i * 7;
    }
    c = htons(naive_fold(naive_pseudo(d + 14, false, 17, 8 + plen)));
    memcpy(d + l4 + 6, &c, 2);
    p->ofl.flags = DP_OFL_CSUM_PARTIAL;
    p->ofl.csum_start = l4;
    p->ofl.csum_offset = 6;

    dp_packet_batch_init(&batch);
    dp_packet_batch_add(&batch, p);
    /* A port that takes partial checksums: untouched. */
    netdev_resolve_offloads(&batch, NETDEV_TX_CSUM, NULL, &dropped);
    cr_assert(p->ofl.flags & DP_OFL_CSUM_PARTIAL);
    cr_assert_not(l4_csum_ok(d, 14, l4, size, false, 17));
    /* One that does not: filled. */
    netdev_resolve_offloads(&batch, 0, NULL, &dropped);
    cr_assert_eq(batch.count, 1);
    cr_assert_eq(dropped, 0);
    cr_assert_not(p->ofl.flags & DP_OFL_CSUM_PARTIAL);
    cr_assert(l4_csum_ok(d, 14, l4, size, false, 17));
    dp_packet_delete(p);
}

Test(netdev_offload, udp_l4_gso_segmented)
{
    static const uint8_t hdr[] = {
        2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00,
        0x45, 0, 0, 0, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
    };
    struct dp_packet_pool *pool = dp_packet_pool_create("seg", SEG_POOL_N,
                                                        SEG_BUF);
    uint32_t gso = 1000, plen = 4 * gso + 10, l4 = sizeof hdr;
    uint32_t size = l4 + 8 + plen;
    struct dp_packet *p = dp_packet_new(size);
    uint8_t *d = dp_packet_put_uninit(p, size);
    struct dp_packet_batch batch;
    uint64_t dropped = 0;

    memcpy(d, hdr, sizeof hdr);
    memset(d + l4, 0, 8);
    d[l4 + 1] = 53;
    for (uint32_t i = 0; i < plen; i++) {
        d[l4 + 8 + i] = i;
    }
    p->ofl.flags = DP_OFL_CSUM_PARTIAL;
    p->ofl.csum_start = l4;
    p->ofl.csum_offset = 6;
    p->ofl.gso_type = DP_GSO_UDP_L4;
    p->ofl.gso_size = gso;
    dp_packet_batch_init(&batch);
    dp_packet_batch_add(&batch, p);
    netdev_resolve_offloads(&batch, 0, pool, &dropped);
    cr_assert_eq(dropped, 0);
    cr_assert_eq(batch.count, 5);
    for (uint32_t i = 0; i < batch.count; i++) {
        struct dp_packet *q = batch.packets[i];
        uint8_t *e = dp_packet_data(q);
        uint32_t n = i < 4 ? gso : 10;

        cr_assert_eq(q->size, l4 + 8 + n);
        cr_assert_eq((e[l4 + 4] << 8) | e[l4 + 5], 8 + n);
        cr_assert_eq((e[16] << 8) | e[17], q->size - 14);
        cr_assert_eq((e[18] << 8) | e[19], 1 + i);
        cr_assert_eq(naive_fold(naive_sum(0, e + 14, 20)), 0xffff);
        cr_assert(l4_csum_ok(e, 14, l4, q->size, false, 17));
        cr_assert_eq(e[l4 + 8], (uint8_t) (i * gso));
    }
    dp_packet_batch_delete(&batch);
    dp_packet_pool_destroy(pool);
}

Test(netdev_offload, malformed_gso_dropped)
{
    struct dp_packet_pool *pool = dp_packet_pool_create("seg", SEG_POOL_N,
                                                        SEG_BUF);
    struct gso_spec s = { .payload = 5000, .flags = TCP_ACK };
    uint8_t *payload = malloc(s.payload);
    struct dp_packet_batch batch;
    struct gso_layout lo;
    uint64_t dropped = 0;
    struct dp_packet *p;

    /* IPv4 packet claiming TCPv6 GSO. */
    p = build_gso(&s, payload, &lo);
    p->ofl.gso_type = DP_GSO_TCPV6;
    dp_packet_batch_init(&batch);
    dp_packet_batch_add(&batch, p);
    /* Truncated: csum_start beyond the end. */
    p = build_gso(&s, payload, &lo);
    p->ofl.csum_start = p->size + 10;
    dp_packet_batch_add(&batch, p);
    /* Not IP at all. */
    p = build_gso(&s, payload, &lo);
    ((uint8_t *) dp_packet_data(p))[12] = 0x88;
    dp_packet_batch_add(&batch, p);
    /* gso_size 0. */
    p = build_gso(&s, payload, &lo);
    p->ofl.gso_size = 0;
    dp_packet_batch_add(&batch, p);
    netdev_resolve_offloads(&batch, 0, pool, &dropped);
    cr_assert_eq(batch.count, 0);
    cr_assert_eq(dropped, 4);
    cr_assert_eq(dp_packet_pool_available(pool), SEG_POOL_N);
    free(payload);
    dp_packet_pool_destroy(pool);
}

/* A GSO packet without a partial checksum (a GRO'ed frame the kernel had
 * verified) is segmented for every port, even one that takes TSO. */
Test(netdev_offload, gso_without_partial_segmented_for_tso_port)
{
    struct dp_packet_pool *pool = dp_packet_pool_create("seg", SEG_POOL_N,
                                                        SEG_BUF);
    struct gso_spec s = {
        .payload = 10 * MSS + 5, .seq = 77, .ip_id = 9,
        .flags = TCP_ACK | TCP_PSH,
    };
    uint8_t *payload = malloc(s.payload);
    struct dp_packet_batch batch;
    struct gso_layout lo;
    uint64_t dropped = 0;
    struct dp_packet *p;

    p = build_gso(&s, payload, &lo);
    p->ofl.flags = DP_OFL_CSUM_VALID;
    p->ofl.csum_start = p->ofl.csum_offset = 0;
    dp_packet_batch_init(&batch);
    dp_packet_batch_add(&batch, p);
    netdev_resolve_offloads(&batch, NETDEV_TX_CSUM | NETDEV_TX_TSO, pool,
                            &dropped);
    cr_assert_eq(dropped, 0);
    check_segments(&s, &lo, batch.packets, batch.count, payload, true);
    dp_packet_batch_delete(&batch);
    free(payload);
    dp_packet_pool_destroy(pool);
}
