/* Unit tests for ct-frag: IPv4/IPv6 fragment reassembly in front of
 * conntrack.  Packets are built byte by byte. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "conntrack/ct-frag.h"
#include "csum.h"
#include "dp-packet.h"
#include "flow.h"
#include "packets.h"

static long long fake_now;

static long long
fake_clock(void)
{
    return fake_now;
}

static struct ct_frag *
frag_new(uint32_t max_lists, uint32_t max_frags, uint64_t max_bytes)
{
    struct ct_frag_config cfg = {
        .max_lists = max_lists, .max_frags_per_list = max_frags,
        .max_bytes = max_bytes, .timeout_msec = 1000,
        .min_frag_size_v4 = 64, .min_frag_size_v6 = 64,
        .hash_basis = 1, .now = fake_clock,
    };
    struct ct_frag *f;

    fake_now = 1000;
    f = ct_frag_create(&cfg);
    cr_assert_not_null(f);
    return f;
}

/* The UDP datagram every test fragments: 10.0.0.1:1234 -> 10.0.0.2:80
 * (or 2001:db8::1 -> 2001:db8::2), 'n' payload bytes of a pattern. */
static void
udp_payload(uint8_t *p, uint32_t n, uint8_t seed)
{
    for (uint32_t i = 0; i < n; i++) {
        p[i] = (uint8_t) (i * 7 + seed);
    }
}

static void
put_eth(uint8_t *b, uint16_t type)
{
    static const uint8_t macs[12] = { 2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1 };

    memcpy(b, macs, 12);
    b[12] = type >> 8;
    b[13] = type;
}

/* Builds the whole UDP segment (header + payload) into 'seg'. */
static uint32_t
udp_segment(uint8_t *seg, uint32_t n, bool v6, uint16_t ident)
{
    struct udp_header *u = (void *) seg;

    u->udp_src = htons(1234);
    u->udp_dst = htons(80);
    u->udp_len = htons(UDP_HEADER_LEN + n);
    u->udp_csum = 0;
    udp_payload(seg + UDP_HEADER_LEN, n, (uint8_t) ident);
    (void) v6;
    return UDP_HEADER_LEN + n;
}

static struct dp_packet *
finish_packet(const uint8_t *frame, uint32_t len, struct flow *flow)
{
    struct dp_packet *p = dp_packet_clone_data(frame, len);

    flow_extract(p, flow);
    return p;
}

/* An IPv4 fragment carrying seg[ofs, ofs + len). */
static struct dp_packet *
v4_frag(const uint8_t *seg, uint32_t ofs, uint32_t len, bool more,
        uint16_t ident, struct flow *flow)
{
    uint8_t frame[2048];
    struct ip_header *ip = (void *) (frame + ETH_HEADER_LEN);

    put_eth(frame, ETH_TYPE_IP);
    memset(ip, 0, sizeof *ip);
    ip->ip_ihl_ver = IP_IHL_VER(5, 4);
    ip->ip_tot_len = htons(IP_HEADER_LEN + len);
    ip->ip_id = htons(ident);
    ip->ip_frag_off = htons((more ? IP_MORE_FRAGMENTS : 0) | (ofs / 8));
    ip->ip_ttl = 64;
    ip->ip_proto = IPPROTO_UDP;
    ip->ip_src = htonl(0x0a000001);
    ip->ip_dst = htonl(0x0a000002);
    ip->ip_csum = csum(ip, IP_HEADER_LEN);
    memcpy(frame + ETH_HEADER_LEN + IP_HEADER_LEN, seg + ofs, len);
    return finish_packet(frame, ETH_HEADER_LEN + IP_HEADER_LEN + len, flow);
}

static const uint8_t v6_src[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
static const uint8_t v6_dst[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 2 };

/* An IPv6 fragment with a destination options header in front of the
 * fragment header (part of the unfragmentable part). */
static struct dp_packet *
v6_frag(const uint8_t *seg, uint32_t ofs, uint32_t len, bool more,
        uint32_t ident, struct flow *flow)
{
    uint8_t frame[2048];
    uint8_t *l3 = frame + ETH_HEADER_LEN;
    struct ipv6_header *ip6 = (void *) l3;
    uint8_t *dopt = l3 + IPV6_HEADER_LEN;
    struct ipv6_frag_header *fh = (void *) (dopt + 8);

    put_eth(frame, ETH_TYPE_IPV6);
    ip6->ip6_vtc_flow = htonl(0x60000000);
    ip6->ip6_plen = htons(8 + IPV6_FRAG_HEADER_LEN + len);
    ip6->ip6_nxt = IPPROTO_HOPOPTS;
    ip6->ip6_hlim = 64;
    memcpy(ip6->ip6_src, v6_src, 16);
    memcpy(ip6->ip6_dst, v6_dst, 16);
    memset(dopt, 0, 8);
    dopt[0] = IPPROTO_FRAGMENT;
    dopt[2] = 1;                /* PadN, 4 bytes */
    dopt[3] = 4;
    fh->ip6f_nxt = IPPROTO_UDP;
    fh->ip6f_reserved = 0;
    fh->ip6f_offlg = htons(ofs | (more ? IPV6_FRAG_MORE : 0));
    fh->ip6f_ident = htonl(ident);
    memcpy((uint8_t *) (fh + 1), seg + ofs, len);
    return finish_packet(frame, ETH_HEADER_LEN + IPV6_HEADER_LEN + 8
                         + IPV6_FRAG_HEADER_LEN + len, flow);
}

static void
check_stats_zero_held(const struct ct_frag *f)
{
    struct ct_frag_stats st;

    ct_frag_get_stats(f, &st);
    cr_assert_eq(st.n_frags, 0);
    cr_assert_eq(st.n_lists, 0);
    cr_assert_eq(st.n_bytes, 0);
}

static void
release_all(struct ct_frag *f, struct ct_frag_result *res)
{
    ct_frag_result_release(f, res);
    for (uint32_t i = 0; i < res->n_frags; i++) {
        dp_packet_delete(res->frags[i]);
    }
    res->n_frags = 0;
}

/* Feeds fragments of a v4 datagram in the order 'order' and checks the
 * result. */
static void
v4_roundtrip(const int *order, int n_frags, uint32_t frag_len)
{
    static struct ct_frag_result res;
    struct ct_frag *f = frag_new(16, 0, 0);
    uint32_t seg_len, payload = frag_len * (n_frags - 1) + 13 - 8;
    uint8_t seg[4096];
    struct dp_packet *pkts[16];
    struct flow flows[16];

    seg_len = udp_segment(seg, payload, false, 7);
    cr_assert_eq(seg_len, frag_len * (n_frags - 1) + 13);
    for (int i = 0; i < n_frags; i++) {
        uint32_t ofs = i * frag_len;
        uint32_t len = i + 1 < n_frags ? frag_len : seg_len - ofs;

        pkts[i] = v4_frag(seg, ofs, len, i + 1 < n_frags, 7, &flows[i]);
        cr_assert(flows[i].nw_frag & FLOW_NW_FRAG_ANY);
    }
    for (int k = 0; k < n_frags; k++) {
        int i = order[k];
        enum ct_frag_verdict v = ct_frag_process(f, pkts[i], &flows[i], 3,
                                                 &res);

        cr_assert_eq(v, k + 1 < n_frags ? CT_FRAG_HELD : CT_FRAG_COMPLETE,
                     "fragment %d: verdict %d", i, v);
    }
    /* The view: one datagram, valid header, the whole segment. */
    const uint8_t *vl3 = dp_packet_l3(res.view);
    const struct ip_header *vip = (const void *) vl3;

    cr_assert_eq(ntohs(vip->ip_tot_len), IP_HEADER_LEN + seg_len);
    cr_assert_eq(ntohs(vip->ip_frag_off) & (IP_MORE_FRAGMENTS
                                            | IP_FRAG_OFF_MASK), 0);
    cr_assert_eq(csum(vl3, IP_HEADER_LEN), 0);
    cr_assert_eq(memcmp(vl3 + IP_HEADER_LEN, seg, seg_len), 0);
    cr_assert_eq(res.flow.nw_frag, 0);
    cr_assert_eq(res.flow.nw_proto, IPPROTO_UDP);
    cr_assert_eq(res.flow.tp_src, htons(1234));
    cr_assert_eq(res.flow.tp_dst, htons(80));
    cr_assert_eq(res.n_frags, (uint32_t) n_frags);
    for (int k = 0; k < n_frags; k++) {
        cr_assert_eq(res.frags[k], pkts[order[k]], "arrival order");
    }
    check_stats_zero_held(f);

    /* Conntrack NATs the view: new source address and port. */
    uint8_t *wl3 = dp_packet_l3(res.view);
    struct ip_header *wip = (void *) wl3;
    uint32_t new_src = htonl(0xc0a80001);

    wip->ip_src = new_src;
    wip->ip_csum = 0;
    wip->ip_csum = csum(wl3, IP_HEADER_LEN);
    wl3[IP_HEADER_LEN] = 0x55;
    wl3[IP_HEADER_LEN + 1] = 0x66;
    cr_assert_eq(ct_frag_result_finish(&res), 0);
    for (int i = 0; i < n_frags; i++) {
        const uint8_t *l3 = dp_packet_l3(pkts[i]);
        const struct ip_header *ip = (const void *) l3;
        uint32_t ofs = (ntohs(ip->ip_frag_off) & IP_FRAG_OFF_MASK) * 8;
        uint32_t len = ntohs(ip->ip_tot_len) - IP_HEADER_LEN;

        cr_assert_eq(ip->ip_src, new_src);
        cr_assert_eq(csum(l3, IP_HEADER_LEN), 0, "fragment %d header", i);
        cr_assert_eq(memcmp(l3 + IP_HEADER_LEN,
                            wl3 + IP_HEADER_LEN + ofs, len), 0);
        if (!ofs) {
            cr_assert_eq(l3[IP_HEADER_LEN], 0x55);
            cr_assert_eq(l3[IP_HEADER_LEN + 1], 0x66);
        }
    }
    release_all(f, &res);
    ct_frag_destroy(f);
}

Test(ct_frag, v4_in_order)
{
    static const int order[] = { 0, 1, 2, 3 };

    v4_roundtrip(order, 4, 96);
}

Test(ct_frag, v4_out_of_order)
{
    static const int rev[] = { 4, 3, 2, 1, 0 };
    static const int mix[] = { 2, 4, 0, 3, 1 };

    v4_roundtrip(rev, 5, 80);
    v4_roundtrip(mix, 5, 80);
}

Test(ct_frag, not_a_fragment)
{
    struct ct_frag *f = frag_new(4, 0, 0);
    static struct ct_frag_result res;
    uint8_t seg[256];
    uint32_t n = udp_segment(seg, 40, false, 1);
    struct flow flow;
    struct dp_packet *p = v4_frag(seg, 0, n, false, 1, &flow);

    cr_assert_eq(ct_frag_process(f, p, &flow, 0, &res), CT_FRAG_NOT_FRAG);
    dp_packet_delete(p);
    ct_frag_destroy(f);
}

Test(ct_frag, overlap_rejected)
{
    struct ct_frag *f = frag_new(4, 0, 0);
    static struct ct_frag_result res;
    struct ct_frag_stats st;
    uint8_t seg[1024];
    uint32_t n = udp_segment(seg, 300, false, 2);
    struct flow f0, f1, f2;
    struct dp_packet *p0 = v4_frag(seg, 0, 128, true, 2, &f0);
    struct dp_packet *p1 = v4_frag(seg, 120, 128, true, 2, &f1);  /* ov. */
    struct dp_packet *p2 = v4_frag(seg, 128, n - 128, false, 2, &f2);

    cr_assert_eq(ct_frag_process(f, p0, &f0, 0, &res), CT_FRAG_HELD);
    cr_assert_eq(ct_frag_process(f, p1, &f1, 0, &res), CT_FRAG_INVALID);
    ct_frag_get_stats(f, &st);
    cr_assert_eq(st.overlap, 1);
    cr_assert_eq(st.purged, 1);        /* p0 went with the datagram */
    check_stats_zero_held(f);
    /* The rest alone cannot complete the datagram. */
    cr_assert_eq(ct_frag_process(f, p2, &f2, 0, &res), CT_FRAG_HELD);
    dp_packet_delete(p1);
    ct_frag_destroy(f);
}

Test(ct_frag, duplicate_dropped_alone)
{
    struct ct_frag *f = frag_new(4, 0, 0);
    static struct ct_frag_result res;
    struct ct_frag_stats st;
    uint8_t seg[1024];
    uint32_t n = udp_segment(seg, 300, false, 3);
    struct flow f0, f0b, f1;
    struct dp_packet *p0 = v4_frag(seg, 0, 128, true, 3, &f0);
    struct dp_packet *p0b = v4_frag(seg, 0, 128, true, 3, &f0b);
    struct dp_packet *p1 = v4_frag(seg, 128, n - 128, false, 3, &f1);

    cr_assert_eq(ct_frag_process(f, p0, &f0, 0, &res), CT_FRAG_HELD);
    cr_assert_eq(ct_frag_process(f, p0b, &f0b, 0, &res), CT_FRAG_INVALID);
    cr_assert_eq(ct_frag_process(f, p1, &f1, 0, &res), CT_FRAG_COMPLETE);
    ct_frag_get_stats(f, &st);
    cr_assert_eq(st.duplicate, 1);
    cr_assert_eq(st.completed, 1);
    dp_packet_delete(p0b);
    release_all(f, &res);
    ct_frag_destroy(f);
}

Test(ct_frag, timeout)
{
    struct ct_frag *f = frag_new(4, 0, 0);
    static struct ct_frag_result res;
    struct ct_frag_stats st;
    uint8_t seg[1024];
    uint32_t n = udp_segment(seg, 300, false, 4);
    struct flow f0, f1;
    struct dp_packet *p0 = v4_frag(seg, 0, 128, true, 4, &f0);
    struct dp_packet *p1 = v4_frag(seg, 128, n - 128, false, 4, &f1);

    cr_assert_eq(ct_frag_process(f, p0, &f0, 0, &res), CT_FRAG_HELD);
    fake_now += 999;
    cr_assert_eq(ct_frag_run(f, 10), 0);
    fake_now += 2;
    cr_assert_eq(ct_frag_run(f, 10), 1);
    ct_frag_get_stats(f, &st);
    cr_assert_eq(st.expired, 1);
    check_stats_zero_held(f);
    /* The late last fragment starts a new datagram that never ends. */
    cr_assert_eq(ct_frag_process(f, p1, &f1, 0, &res), CT_FRAG_HELD);
    /* Expiry also runs lazily from ct_frag_process(). */
    fake_now += 5000;
    struct flow f2;
    struct dp_packet *p2 = v4_frag(seg, 0, 128, true, 99, &f2);

    cr_assert_eq(ct_frag_process(f, p2, &f2, 0, &res), CT_FRAG_HELD);
    ct_frag_get_stats(f, &st);
    cr_assert_eq(st.expired, 2);
    cr_assert_eq(st.n_lists, 1);
    ct_frag_destroy(f);
}

Test(ct_frag, memory_bound)
{
    struct ct_frag *f = frag_new(8, 0, 400);
    static struct ct_frag_result res;
    struct ct_frag_stats st;
    uint8_t seg[1024];
    struct flow fl[3];
    struct dp_packet *p[3];

    udp_segment(seg, 600, false, 5);
    for (int i = 0; i < 3; i++) {
        /* 14 + 20 + 128 = 162 bytes each: the third exceeds 400. */
        p[i] = v4_frag(seg, i * 128, 128, true, 5, &fl[i]);
    }
    cr_assert_eq(ct_frag_process(f, p[0], &fl[0], 0, &res), CT_FRAG_HELD);
    cr_assert_eq(ct_frag_process(f, p[1], &fl[1], 0, &res), CT_FRAG_HELD);
    cr_assert_eq(ct_frag_process(f, p[2], &fl[2], 0, &res),
                 CT_FRAG_INVALID);
    ct_frag_get_stats(f, &st);
    cr_assert_eq(st.no_mem, 1);
    cr_assert_eq(st.n_bytes, 2 * 162);
    cr_assert_leq(st.n_bytes, 400);
    dp_packet_delete(p[2]);
    ct_frag_destroy(f);
}

Test(ct_frag, too_many_fragments)
{
    struct ct_frag *f = frag_new(8, 3, 0);
    static struct ct_frag_result res;
    struct ct_frag_stats st;
    uint8_t seg[2048];
    struct flow fl[4];
    struct dp_packet *p[4];

    udp_segment(seg, 1000, false, 6);
    for (int i = 0; i < 4; i++) {
        p[i] = v4_frag(seg, i * 64, 64, true, 6, &fl[i]);
        cr_assert_eq(ct_frag_process(f, p[i], &fl[i], 0, &res),
                     i < 3 ? CT_FRAG_HELD : CT_FRAG_INVALID);
    }
    ct_frag_get_stats(f, &st);
    cr_assert_eq(st.too_many, 1);
    cr_assert_eq(st.purged, 3);
    check_stats_zero_held(f);
    dp_packet_delete(p[3]);
    ct_frag_destroy(f);
}

Test(ct_frag, list_limit_and_zones)
{
    struct ct_frag *f = frag_new(2, 0, 0);
    static struct ct_frag_result res;
    struct ct_frag_stats st;
    uint8_t seg[1024];
    struct flow fl[3];
    struct dp_packet *p[3];

    udp_segment(seg, 300, false, 8);
    for (int i = 0; i < 3; i++) {
        /* Same datagram id in three zones: three datagrams. */
        p[i] = v4_frag(seg, 0, 128, true, 8, &fl[i]);
    }
    cr_assert_eq(ct_frag_process(f, p[0], &fl[0], 1, &res), CT_FRAG_HELD);
    cr_assert_eq(ct_frag_process(f, p[1], &fl[1], 2, &res), CT_FRAG_HELD);
    cr_assert_eq(ct_frag_process(f, p[2], &fl[2], 3, &res),
                 CT_FRAG_INVALID);
    ct_frag_get_stats(f, &st);
    cr_assert_eq(st.no_list, 1);
    cr_assert_eq(st.n_lists, 2);
    dp_packet_delete(p[2]);
    ct_frag_destroy(f);
}

Test(ct_frag, bad_fragments)
{
    struct ct_frag *f = frag_new(4, 0, 0);
    static struct ct_frag_result res;
    struct ct_frag_stats st;
    uint8_t seg[1024];
    struct flow fl;
    struct dp_packet *p;

    udp_segment(seg, 300, false, 9);
    /* Non-last fragment below the minimum size. */
    p = v4_frag(seg, 0, 16, true, 9, &fl);
    cr_assert_eq(ct_frag_process(f, p, &fl, 0, &res), CT_FRAG_INVALID);
    dp_packet_delete(p);
    /* Non-last fragment not a multiple of 8. */
    p = v4_frag(seg, 0, 100, true, 9, &fl);
    cr_assert_eq(ct_frag_process(f, p, &fl, 0, &res), CT_FRAG_INVALID);
    dp_packet_delete(p);
    /* Bad IPv4 header checksum. */
    p = v4_frag(seg, 0, 128, true, 9, &fl);
    ((uint8_t *) dp_packet_l3(p))[10] ^= 1;
    cr_assert_eq(ct_frag_process(f, p, &fl, 0, &res), CT_FRAG_INVALID);
    dp_packet_delete(p);
    /* Past 64 KB. */
    static uint8_t big[65536 + 64];

    p = v4_frag(big, 65528, 16, false, 9, &fl);
    cr_assert_eq(ct_frag_process(f, p, &fl, 0, &res), CT_FRAG_INVALID);
    dp_packet_delete(p);
    ct_frag_get_stats(f, &st);
    cr_assert_eq(st.small, 1);
    cr_assert_eq(st.invalid, 3);
    check_stats_zero_held(f);
    ct_frag_destroy(f);
}

Test(ct_frag, ipv6)
{
    struct ct_frag *f = frag_new(4, 0, 0);
    static struct ct_frag_result res;
    uint8_t seg[1024];
    uint32_t n = udp_segment(seg, 400, true, 10);
    struct flow fl[3];
    struct dp_packet *p[3];
    static const int order[] = { 1, 2, 0 };

    p[0] = v6_frag(seg, 0, 136, true, 0xabcdef, &fl[0]);
    p[1] = v6_frag(seg, 136, 136, true, 0xabcdef, &fl[1]);
    p[2] = v6_frag(seg, 272, n - 272, false, 0xabcdef, &fl[2]);
    for (int k = 0; k < 3; k++) {
        int i = order[k];

        cr_assert(fl[i].nw_frag & FLOW_NW_FRAG_ANY);
        cr_assert_eq(ct_frag_process(f, p[i], &fl[i], 0, &res),
                     k < 2 ? CT_FRAG_HELD : CT_FRAG_COMPLETE);
    }
    const uint8_t *vl3 = dp_packet_l3(res.view);

    /* IPv6 header + 8-byte options header, then the UDP segment. */
    cr_assert_eq(ntohs(((const struct ipv6_header *) vl3)->ip6_plen),
                 8 + n);
    cr_assert_eq(vl3[IPV6_HEADER_LEN], IPPROTO_UDP, "nxt patched");
    cr_assert_eq(memcmp(vl3 + IPV6_HEADER_LEN + 8, seg, n), 0);
    cr_assert_eq(res.flow.nw_proto, IPPROTO_UDP);
    cr_assert_eq(res.flow.tp_dst, htons(80));
    cr_assert_eq(res.flow.nw_frag, 0);

    /* NAT on the view reaches each fragment's header. */
    uint8_t *wl3 = dp_packet_l3(res.view);

    wl3[8 + 15] = 0x99;
    cr_assert_eq(ct_frag_result_finish(&res), 0);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(((const uint8_t *) dp_packet_l3(p[i]))[8 + 15], 0x99);
    }
    /* A length change cannot be spread over the fragments. */
    ((struct ipv6_header *) wl3)->ip6_plen = htons(8 + n + 1);
    cr_assert_eq(ct_frag_result_finish(&res), -EMSGSIZE);
    release_all(f, &res);
    check_stats_zero_held(f);
    ct_frag_destroy(f);
}

Test(ct_frag, destroy_frees_held)
{
    struct ct_frag *f = frag_new(4, 0, 0);
    static struct ct_frag_result res;
    uint8_t seg[1024];
    struct flow fl;
    struct dp_packet *p;

    udp_segment(seg, 300, false, 11);
    p = v4_frag(seg, 0, 128, true, 11, &fl);
    cr_assert_eq(ct_frag_process(f, p, &fl, 0, &res), CT_FRAG_HELD);
    /* ASan reports a leak if destroy does not free the held packet. */
    ct_frag_destroy(f);
}
