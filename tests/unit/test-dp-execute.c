/* Tests for datapath/dp-execute.c and dpa.c: each action's effect on
 * packet bytes, checksums verified by full recomputation, validation of
 * malformed lists, and dpa_format text. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dp-execute.h"
#include "dpif.h"
#include "dynamic-string.h"
#include "flow.h"
#include "packets.h"

/* ---- Independent checksum helpers (not lib/csum) --------------------- */

static uint32_t
sum16(uint32_t s, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i + 1 < n; i += 2) {
        s += (p[i] << 8) | p[i + 1];
    }
    if (n & 1) {
        s += p[n - 1] << 8;
    }
    return s;
}

static uint16_t
fold(uint32_t s)
{
    while (s >> 16) {
        s = (s & 0xffff) + (s >> 16);
    }
    return s;
}

static bool
ipv4_hdr_ok(const uint8_t *ip)
{
    return fold(sum16(0, ip, (ip[0] & 15) * 4)) == 0xffff;
}

/* Pseudo-header sum (host-order accumulation). */
static uint32_t
pseudo4(const uint8_t *ip, uint8_t proto, uint32_t l4_len)
{
    uint32_t s = sum16(0, ip + 12, 8);

    return s + proto + l4_len;
}

static uint32_t
pseudo6(const uint8_t *ip6, uint8_t proto, uint32_t l4_len)
{
    uint32_t s = sum16(0, ip6 + 8, 32);

    return s + proto + (l4_len >> 16) + (l4_len & 0xffff);
}

static bool
l4_ok(uint32_t pseudo, const uint8_t *l4, size_t len)
{
    return fold(sum16(pseudo, l4, len)) == 0xffff;
}

/* ---- Packet builders ------------------------------------------------- */

static const uint8_t mac_a[6] = { 0x00, 0x11, 0x22, 0x33, 0x44, 0x55 };
static const uint8_t mac_b[6] = { 0x00, 0x66, 0x77, 0x88, 0x99, 0xaa };

static void
put_be16(uint8_t *p, uint16_t v)
{
    p[0] = v >> 8;
    p[1] = v;
}

static size_t
build_eth(uint8_t *f, uint16_t type)
{
    memcpy(f, mac_b, 6);
    memcpy(f + 6, mac_a, 6);
    put_be16(f + 12, type);
    return 14;
}

static void
fix_ipv4_csum(uint8_t *ip)
{
    ip[10] = ip[11] = 0;
    put_be16(ip + 10, ~fold(sum16(0, ip, 20)));
}

/* IPv4 + TCP/UDP/ICMP/SCTP with payload; valid checksums. */
static size_t
build_ipv4(uint8_t *f, uint8_t proto, size_t payload)
{
    size_t l4_len = (proto == IPPROTO_TCP ? 20 : proto == IPPROTO_SCTP
                     ? 12 : 8) + payload;
    uint8_t *ip = f + build_eth(f, ETH_TYPE_IP);
    uint8_t *l4 = ip + 20;

    memset(ip, 0, 20 + l4_len);
    ip[0] = 0x45;
    ip[1] = 0x10;
    put_be16(ip + 2, 20 + l4_len);
    put_be16(ip + 4, 0x1234);
    ip[8] = 64;
    ip[9] = proto;
    memcpy(ip + 12, (uint8_t[]) { 10, 0, 0, 1 }, 4);
    memcpy(ip + 16, (uint8_t[]) { 10, 0, 0, 2 }, 4);
    fix_ipv4_csum(ip);
    for (size_t i = 0; i < payload; i++) {
        l4[l4_len - payload + i] = i * 7 + 3;
    }
    if (proto == IPPROTO_TCP) {
        put_be16(l4, 1234);
        put_be16(l4 + 2, 80);
        l4[12] = 5 << 4;
        l4[13] = 0x02;
        put_be16(l4 + 16, ~fold(sum16(pseudo4(ip, proto, l4_len), l4,
                                      l4_len)));
    } else if (proto == IPPROTO_UDP) {
        put_be16(l4, 1234);
        put_be16(l4 + 2, 53);
        put_be16(l4 + 4, l4_len);
        put_be16(l4 + 6, ~fold(sum16(pseudo4(ip, proto, l4_len), l4,
                                     l4_len)));
    } else if (proto == IPPROTO_ICMP) {
        l4[0] = 8;
        put_be16(l4 + 2, ~fold(sum16(0, l4, l4_len)));
    } else if (proto == IPPROTO_SCTP) {
        uint32_t c;

        put_be16(l4, 1234);
        put_be16(l4 + 2, 5000);
        c = dp_execute_crc32c(l4, l4_len);
        memcpy(l4 + 8, &c, 4);
    }
    return 14 + 20 + l4_len;
}

static size_t
build_ipv6_tcp(uint8_t *f, size_t payload)
{
    size_t l4_len = 20 + payload;
    uint8_t *ip6 = f + build_eth(f, ETH_TYPE_IPV6);
    uint8_t *l4 = ip6 + 40;

    memset(ip6, 0, 40 + l4_len);
    ip6[0] = 0x60;
    put_be16(ip6 + 4, l4_len);
    ip6[6] = IPPROTO_TCP;
    ip6[7] = 64;
    ip6[8] = 0x20;
    ip6[9] = 0x01;
    ip6[23] = 1;
    ip6[24] = 0x20;
    ip6[25] = 0x01;
    ip6[39] = 2;
    put_be16(l4, 1234);
    put_be16(l4 + 2, 80);
    l4[12] = 5 << 4;
    for (size_t i = 0; i < payload; i++) {
        l4[20 + i] = i;
    }
    put_be16(l4 + 16, ~fold(sum16(pseudo6(ip6, IPPROTO_TCP, l4_len), l4,
                                  l4_len)));
    return 14 + 40 + l4_len;
}

static size_t
build_arp(uint8_t *f)
{
    uint8_t *a = f + build_eth(f, ETH_TYPE_ARP);

    put_be16(a, 1);
    put_be16(a + 2, ETH_TYPE_IP);
    a[4] = 6;
    a[5] = 4;
    put_be16(a + 6, 1);
    memcpy(a + 8, mac_a, 6);
    memcpy(a + 14, (uint8_t[]) { 10, 0, 0, 1 }, 4);
    memset(a + 18, 0, 6);
    memcpy(a + 24, (uint8_t[]) { 10, 0, 0, 2 }, 4);
    return 14 + 28;
}

static struct dp_packet *
make_packet(const uint8_t *f, size_t len, struct flow *flow)
{
    struct dp_packet *p = dp_packet_clone_data(f, len);

    p->in_port = 1;
    cr_assert_eq(flow_extract(p, flow), 0);
    return p;
}

/* ---- Capturing executor ops ------------------------------------------- */

#define MAX_OUT 64
struct capture {
    struct dp_packet *out[MAX_OUT];
    uint32_t out_port[MAX_OUT];
    size_t n_out;
    size_t n_userspace;
    uint32_t last_reason;
    size_t n_recirc;
    uint32_t recirc_id;
    int recirc_depth;
    uint32_t drops[4];
};

static void
cap_output(void *aux, uint32_t port, struct dp_packet *p)
{
    struct capture *c = aux;

    cr_assert_lt(c->n_out, MAX_OUT);
    c->out_port[c->n_out] = port;
    c->out[c->n_out++] = p;
}

static void
cap_userspace(void *aux, const struct dp_packet *p, const struct flow *f,
              const struct dpa_userspace *us)
{
    struct capture *c = aux;

    c->n_userspace++;
    c->last_reason = us->reason;
}

static void
cap_recirc(void *aux, struct dp_exec_batch *b, int depth)
{
    struct capture *c = aux;

    c->n_recirc += b->count;
    c->recirc_id = b->flows[0]->recirc_id;
    c->recirc_depth = depth;
    for (uint32_t i = 0; i < b->count; i++) {
        dp_packet_delete(b->packets[i]);
    }
    b->count = 0;
}

static struct dp_packet *
cap_clone(void *aux, const struct dp_packet *p)
{
    return dp_packet_clone(p, NULL);
}

static void
cap_drop(void *aux, enum dp_exec_drop reason, uint32_t n)
{
    struct capture *c = aux;

    c->drops[reason] += n;
}

static const struct dp_exec_ops cap_ops = {
    cap_output, cap_userspace, cap_recirc, cap_clone, cap_drop,
};

static void
capture_free(struct capture *c)
{
    for (size_t i = 0; i < c->n_out; i++) {
        dp_packet_delete(c->out[i]);
    }
    c->n_out = 0;
}

static void
run(struct capture *c, struct dp_packet *p, struct flow *flow,
    const struct dpa_buf *acts)
{
    struct dp_exec_ctx ctx = { &cap_ops, c };
    struct dp_exec_batch b = { 0 };

    cr_assert(!acts->overflow);
    cr_assert_eq(dp_actions_validate(acts->data, acts->size), 0);
    dp_exec_batch_add(&b, p, flow);
    dp_execute_actions(&ctx, &b, acts->data, acts->size, 0);
}

/* Appends SET_MASKED for the bytes of 'value' at flow offset 'ofs'. */
static void
put_set(struct dpa_buf *buf, size_t ofs, const void *value,
        const void *mask, size_t n)
{
    struct dpa_set_masked *sm = dpa_put(buf, DPA_SET_MASKED,
                                        sizeof *sm + 2 * n);

    cr_assert(sm);
    sm->ofs = ofs;
    sm->n = n;
    memcpy(sm + 1, value, n);
    if (mask) {
        memcpy((uint8_t *) (sm + 1) + n, mask, n);
    } else {
        memset((uint8_t *) (sm + 1) + n, 0xff, n);
    }
}

#define SET_FIELD(BUF, FIELD, VALUE)                                     \
    do {                                                                 \
        __typeof__(((struct flow *) 0)->FIELD) v__ = (VALUE);            \
        put_set(BUF, offsetof(struct flow, FIELD), &v__, NULL,           \
                sizeof v__);                                             \
    } while (0)

/* ---- Tests ------------------------------------------------------------ */

Test(dp_execute, output_only_moves_packet)
{
    uint8_t f[256];
    size_t len = build_ipv4(f, IPPROTO_UDP, 10);
    uint64_t stub[64];
    struct capture c = { 0 };
    struct dpa_buf acts;
    struct flow flow;
    struct dp_packet *p = make_packet(f, len, &flow);

    DPA_BUF_STUB(&acts, stub);
    dpa_put_output(&acts, 2);
    run(&c, p, &flow, &acts);
    cr_assert_eq(c.n_out, 1);
    cr_assert_eq(c.out[0], p, "last output must steal, not copy");
    cr_assert_eq(c.out_port[0], 2);
    cr_assert_eq(dp_packet_size(c.out[0]), len);
    cr_assert_eq(memcmp(dp_packet_data(c.out[0]), f, len), 0);
    capture_free(&c);
}

Test(dp_execute, ipv4_addresses_tcp)
{
    uint8_t f[256];
    size_t len = build_ipv4(f, IPPROTO_TCP, 33);
    uint64_t stub[64];
    struct capture c = { 0 };
    struct dpa_buf acts;
    struct flow flow;
    struct dp_packet *p = make_packet(f, len, &flow);
    uint8_t *ip;

    DPA_BUF_STUB(&acts, stub);
    SET_FIELD(&acts, nw_src, htonl(0xc0a80105));
    SET_FIELD(&acts, nw_dst, htonl(0xac100a0b));
    dpa_put_output(&acts, 3);
    run(&c, p, &flow, &acts);
    cr_assert_eq(c.n_out, 1);
    ip = (uint8_t *) dp_packet_data(c.out[0]) + 14;
    cr_assert_eq(memcmp(ip + 12, (uint8_t[]) { 192, 168, 1, 5 }, 4), 0);
    cr_assert_eq(memcmp(ip + 16, (uint8_t[]) { 172, 16, 10, 11 }, 4), 0);
    cr_assert(ipv4_hdr_ok(ip));
    cr_assert(l4_ok(pseudo4(ip, IPPROTO_TCP, len - 34), ip + 20, len - 34));
    /* Only those bytes and the two checksums changed. */
    for (size_t i = 0; i < len; i++) {
        bool expect = (i >= 26 && i < 34) || i == 24 || i == 25
                      || i == 50 || i == 51;

        if (!expect) {
            cr_assert_eq(((uint8_t *) dp_packet_data(c.out[0]))[i], f[i],
                         "byte %zu changed", i);
        }
    }
    cr_assert_eq(flow.nw_src, htonl(0xc0a80105));
    capture_free(&c);
}

Test(dp_execute, ipv4_ttl_tos_udp_ports)
{
    uint8_t f[256];
    size_t len = build_ipv4(f, IPPROTO_UDP, 17);
    uint64_t stub[64];
    struct capture c = { 0 };
    struct dpa_buf acts;
    struct flow flow;
    struct dp_packet *p = make_packet(f, len, &flow);
    uint8_t *ip;

    DPA_BUF_STUB(&acts, stub);
    SET_FIELD(&acts, nw_ttl, 7);
    SET_FIELD(&acts, nw_tos, 0xb8);
    SET_FIELD(&acts, tp_src, htons(4321));
    SET_FIELD(&acts, tp_dst, htons(5353));
    dpa_put_output(&acts, 1);
    run(&c, p, &flow, &acts);
    ip = (uint8_t *) dp_packet_data(c.out[0]) + 14;
    cr_assert_eq(ip[8], 7);
    cr_assert_eq(ip[1], 0xb8);
    cr_assert_eq((ip[20] << 8) | ip[21], 4321);
    cr_assert_eq((ip[22] << 8) | ip[23], 5353);
    cr_assert(ipv4_hdr_ok(ip));
    cr_assert(l4_ok(pseudo4(ip, IPPROTO_UDP, len - 34), ip + 20, len - 34));
    capture_free(&c);
}

Test(dp_execute, udp_zero_checksum_stays_zero)
{
    uint8_t f[256];
    size_t len = build_ipv4(f, IPPROTO_UDP, 5);
    uint64_t stub[64];
    struct capture c = { 0 };
    struct dpa_buf acts;
    struct flow flow;
    struct dp_packet *p;
    uint8_t *ip;

    f[14 + 20 + 6] = f[14 + 20 + 7] = 0;
    p = make_packet(f, len, &flow);
    DPA_BUF_STUB(&acts, stub);
    SET_FIELD(&acts, nw_src, htonl(0x01020304));
    SET_FIELD(&acts, tp_dst, htons(99));
    dpa_put_output(&acts, 1);
    run(&c, p, &flow, &acts);
    ip = (uint8_t *) dp_packet_data(c.out[0]) + 14;
    cr_assert_eq(ip[26], 0);
    cr_assert_eq(ip[27], 0);
    cr_assert(ipv4_hdr_ok(ip));
    capture_free(&c);
}

Test(dp_execute, partial_checksum_holds_pseudo_sum)
{
    uint8_t f[256];
    size_t len = build_ipv4(f, IPPROTO_TCP, 40);
    uint64_t stub[64];
    struct capture c = { 0 };
    struct dpa_buf acts;
    struct flow flow;
    struct dp_packet *p;
    uint8_t *ip, *l4;
    uint16_t field;

    /* Partial: the field holds the folded pseudo-header sum. */
    ip = f + 14;
    put_be16(ip + 20 + 16, fold(pseudo4(ip, IPPROTO_TCP, len - 34)));
    p = make_packet(f, len, &flow);
    p->ofl.flags = DP_OFL_CSUM_PARTIAL;
    p->ofl.csum_start = 34;
    p->ofl.csum_offset = 16;
    DPA_BUF_STUB(&acts, stub);
    SET_FIELD(&acts, nw_dst, htonl(0x08080808));
    SET_FIELD(&acts, tp_src, htons(2222));
    dpa_put_output(&acts, 1);
    run(&c, p, &flow, &acts);
    ip = (uint8_t *) dp_packet_data(c.out[0]) + 14;
    l4 = ip + 20;
    field = (l4[16] << 8) | l4[17];
    cr_assert(ipv4_hdr_ok(ip));
    cr_assert_eq(field, fold(pseudo4(ip, IPPROTO_TCP, len - 34)),
                 "partial field %#x, want pseudo sum %#x", field,
                 fold(pseudo4(ip, IPPROTO_TCP, len - 34)));
    cr_assert(c.out[0]->ofl.flags & DP_OFL_CSUM_PARTIAL);
    /* Filling it as a NIC would gives a valid checksum. */
    l4[16] = l4[17] = 0;
    put_be16(l4 + 16, ~fold(sum16(field, l4, len - 34)));
    cr_assert(l4_ok(pseudo4(ip, IPPROTO_TCP, len - 34), l4, len - 34));
    capture_free(&c);
}

Test(dp_execute, ipv6_fields_tcp)
{
    uint8_t f[256];
    size_t len = build_ipv6_tcp(f, 21);
    uint64_t stub[128];
    struct capture c = { 0 };
    struct dpa_buf acts;
    struct flow flow;
    struct dp_packet *p = make_packet(f, len, &flow);
    struct in6_addr a;
    uint8_t *ip6;
    uint32_t vtc;

    memset(&a, 0, sizeof a);
    a.s6_addr[0] = 0xfd;
    a.s6_addr[15] = 0x42;
    DPA_BUF_STUB(&acts, stub);
    SET_FIELD(&acts, ipv6_src, a);
    SET_FIELD(&acts, ipv6_label, htonl(0x12345));
    SET_FIELD(&acts, nw_tos, 0x28);
    SET_FIELD(&acts, nw_ttl, 9);
    SET_FIELD(&acts, tp_dst, htons(8080));
    dpa_put_output(&acts, 1);
    run(&c, p, &flow, &acts);
    ip6 = (uint8_t *) dp_packet_data(c.out[0]) + 14;
    cr_assert_eq(memcmp(ip6 + 8, &a, 16), 0);
    vtc = ((uint32_t) ip6[0] << 24) | (ip6[1] << 16) | (ip6[2] << 8) | ip6[3];
    cr_assert_eq(vtc, 0x60000000u | (0x28u << 20) | 0x12345);
    cr_assert_eq(ip6[7], 9);
    cr_assert((ip6[42] << 8 | ip6[43]) == 8080);
    cr_assert(l4_ok(pseudo6(ip6, IPPROTO_TCP, len - 54), ip6 + 40,
                    len - 54));
    capture_free(&c);
}

Test(dp_execute, icmp_type_code)
{
    uint8_t f[256];
    size_t len = build_ipv4(f, IPPROTO_ICMP, 12);
    uint64_t stub[64];
    struct capture c = { 0 };
    struct dpa_buf acts;
    struct flow flow;
    struct dp_packet *p = make_packet(f, len, &flow);
    uint8_t *l4;

    DPA_BUF_STUB(&acts, stub);
    SET_FIELD(&acts, tp_src, htons(0));
    SET_FIELD(&acts, tp_dst, htons(3));
    dpa_put_output(&acts, 1);
    run(&c, p, &flow, &acts);
    l4 = (uint8_t *) dp_packet_data(c.out[0]) + 34;
    cr_assert_eq(l4[0], 0);
    cr_assert_eq(l4[1], 3);
    cr_assert_eq(fold(sum16(0, l4, len - 34)), 0xffff);
    capture_free(&c);
}

Test(dp_execute, sctp_ports_crc)
{
    uint8_t f[256];
    size_t len = build_ipv4(f, IPPROTO_SCTP, 16);
    uint64_t stub[64];
    struct capture c = { 0 };
    struct dpa_buf acts;
    struct flow flow;
    struct dp_packet *p = make_packet(f, len, &flow);
    uint8_t *l4, copy[256];
    uint32_t got, want;

    cr_assert_eq(dp_execute_crc32c("123456789", 9), 0xe3069283u);
    DPA_BUF_STUB(&acts, stub);
    SET_FIELD(&acts, tp_src, htons(7777));
    dpa_put_output(&acts, 1);
    run(&c, p, &flow, &acts);
    l4 = (uint8_t *) dp_packet_data(c.out[0]) + 34;
    cr_assert_eq((l4[0] << 8) | l4[1], 7777);
    memcpy(copy, l4, len - 34);
    memcpy(&got, copy + 8, 4);
    memset(copy + 8, 0, 4);
    want = dp_execute_crc32c(copy, len - 34);
    cr_assert_eq(got, want);
    capture_free(&c);
}

Test(dp_execute, arp_and_eth)
{
    uint8_t f[128];
    size_t len = build_arp(f);
    uint64_t stub[64];
    struct capture c = { 0 };
    struct dpa_buf acts;
    struct flow flow;
    struct dp_packet *p = make_packet(f, len, &flow);
    struct eth_addr m = { { 2, 0, 0, 0, 0, 9 } };
    uint8_t *d;

    DPA_BUF_STUB(&acts, stub);
    SET_FIELD(&acts, dl_src, m);
    SET_FIELD(&acts, arp_sha, m);
    SET_FIELD(&acts, nw_src, htonl(0x0a000063));
    SET_FIELD(&acts, nw_proto, 2);
    dpa_put_output(&acts, 1);
    run(&c, p, &flow, &acts);
    d = dp_packet_data(c.out[0]);
    cr_assert_eq(memcmp(d + 6, &m, 6), 0);
    cr_assert_eq(memcmp(d, mac_b, 6), 0);
    cr_assert_eq(d[14 + 7], 2);
    cr_assert_eq(memcmp(d + 14 + 8, &m, 6), 0);
    cr_assert_eq(memcmp(d + 14 + 14, (uint8_t[]) { 10, 0, 0, 99 }, 4), 0);
    capture_free(&c);
}

Test(dp_execute, masked_set_keeps_unmasked_bits)
{
    uint8_t f[256];
    size_t len = build_ipv4(f, IPPROTO_TCP, 0);
    uint64_t stub[64];
    struct capture c = { 0 };
    struct dpa_buf acts;
    struct flow flow;
    struct dp_packet *p = make_packet(f, len, &flow);
    uint32_t v = htonl(0xc0a80000), m = htonl(0xffff0000);
    uint8_t *ip;

    DPA_BUF_STUB(&acts, stub);
    put_set(&acts, offsetof(struct flow, nw_src), &v, &m, 4);
    dpa_put_output(&acts, 1);
    run(&c, p, &flow, &acts);
    ip = (uint8_t *) dp_packet_data(c.out[0]) + 14;
    cr_assert_eq(memcmp(ip + 12, (uint8_t[]) { 192, 168, 0, 1 }, 4), 0);
    cr_assert(ipv4_hdr_ok(ip));
    cr_assert(l4_ok(pseudo4(ip, IPPROTO_TCP, len - 34), ip + 20, len - 34));
    capture_free(&c);
}

Test(dp_execute, push_pop_vlan)
{
    uint8_t f[256];
    size_t len = build_ipv4(f, IPPROTO_UDP, 8);
    uint64_t stub[64];
    struct capture c = { 0 };
    struct dpa_buf acts;
    struct dpa_push_vlan *pv;
    struct flow flow;
    struct dp_packet *p = make_packet(f, len, &flow);
    uint8_t *d;

    DPA_BUF_STUB(&acts, stub);
    pv = dpa_put(&acts, DPA_PUSH_VLAN, sizeof *pv);
    pv->tpid = htons(ETH_TYPE_VLAN_8021Q);
    pv->tci = htons(VLAN_CFI | (5 << VLAN_PCP_SHIFT) | 10);
    dpa_put_output(&acts, 1);
    dpa_put(&acts, DPA_POP_VLAN, 0);
    dpa_put_output(&acts, 2);
    run(&c, p, &flow, &acts);
    cr_assert_eq(c.n_out, 2);
    d = dp_packet_data(c.out[0]);
    cr_assert_eq(dp_packet_size(c.out[0]), len + 4);
    cr_assert_eq(memcmp(d, f, 12), 0);
    cr_assert_eq(d[12], 0x81);
    cr_assert_eq(d[13], 0x00);
    cr_assert_eq((d[14] << 8) | d[15], (5 << 13) | 10, "CFI not on wire");
    cr_assert_eq(memcmp(d + 16, f + 12, len - 12), 0);
    cr_assert_eq(c.out[0]->l3_ofs, 18);
    cr_assert_eq(dp_packet_size(c.out[1]), len);
    cr_assert_eq(memcmp(dp_packet_data(c.out[1]), f, len), 0);
    cr_assert_eq(c.out[1]->l3_ofs, 14);
    cr_assert_eq(flow.vlans[0].tci, 0);
    capture_free(&c);
}

Test(dp_execute, output_then_modify_does_not_corrupt)
{
    uint8_t f[256];
    size_t len = build_ipv4(f, IPPROTO_TCP, 10);
    uint64_t stub[128];
    struct capture c = { 0 };
    struct dpa_buf acts;
    struct flow flow;
    struct dp_packet *p = make_packet(f, len, &flow);
    struct eth_addr m = { { 2, 2, 2, 2, 2, 2 } };
    size_t ofs;

    DPA_BUF_STUB(&acts, stub);
    dpa_put_output(&acts, 1);
    ofs = dpa_start_nested(&acts, DPA_CLONE);
    SET_FIELD(&acts, dl_dst, m);
    dpa_put_output(&acts, 3);
    dpa_end_nested(&acts, ofs);
    SET_FIELD(&acts, nw_ttl, 1);
    dpa_put_output(&acts, 2);
    run(&c, p, &flow, &acts);
    cr_assert_eq(c.n_out, 3);
    cr_assert_eq(c.out_port[0], 1);
    cr_assert_eq(c.out_port[1], 3);
    cr_assert_eq(c.out_port[2], 2);
    cr_assert_eq(memcmp(dp_packet_data(c.out[0]), f, len), 0);
    cr_assert_eq(memcmp(dp_packet_data(c.out[1]), &m, 6), 0);
    cr_assert_eq(((uint8_t *) dp_packet_data(c.out[1]))[14 + 8], 64,
                 "clone saw a later action");
    cr_assert_eq(memcmp(dp_packet_data(c.out[2]), f, 6), 0,
                 "clone's set leaked to the original");
    cr_assert_eq(((uint8_t *) dp_packet_data(c.out[2]))[14 + 8], 1);
    cr_assert(ipv4_hdr_ok((uint8_t *) dp_packet_data(c.out[2]) + 14));
    capture_free(&c);
}

Test(dp_execute, trunc_userspace_recirc_hash_ct)
{
    uint8_t f[256];
    size_t len = build_ipv4(f, IPPROTO_TCP, 60);
    uint64_t stub[128];
    struct capture c = { 0 };
    struct dpa_buf acts;
    struct dpa_userspace *us;
    struct flow flow, rev;
    struct dp_packet *p = make_packet(f, len, &flow);
    uint32_t *u;

    DPA_BUF_STUB(&acts, stub);
    u = dpa_put(&acts, DPA_TRUNC, 4);
    *u = 20;
    dpa_put_output(&acts, 1);
    dpa_put_output(&acts, 2);
    us = dpa_put(&acts, DPA_USERSPACE, sizeof *us);
    us->reason = 1;
    us->max_len = 0xffff;
    u = dpa_put(&acts, DPA_HASH, 4);
    *u = 0;
    u = dpa_put(&acts, DPA_RECIRC, 4);
    *u = 7;
    run(&c, p, &flow, &acts);
    cr_assert_eq(c.n_out, 2);
    cr_assert_eq(dp_packet_size(c.out[0]), 20);
    cr_assert_eq(dp_packet_size(c.out[1]), len);
    cr_assert_eq(c.n_userspace, 1);
    cr_assert_eq(c.last_reason, 1);
    cr_assert_eq(c.n_recirc, 1);
    cr_assert_eq(c.recirc_id, 7);
    cr_assert_eq(c.recirc_depth, 1);
    /* The hash is direction-symmetric. */
    rev = flow;
    rev.nw_src = flow.nw_dst;
    rev.nw_dst = flow.nw_src;
    rev.tp_src = flow.tp_dst;
    rev.tp_dst = flow.tp_src;
    cr_assert_eq(dp_execute_hash5(&flow, 5), dp_execute_hash5(&rev, 5));
    rev.tp_src = htons(1);
    cr_assert_neq(dp_execute_hash5(&flow, 5), dp_execute_hash5(&rev, 5));
    capture_free(&c);
}

Test(dp_execute, recirc_depth_bounded)
{
    uint8_t f[256];
    size_t len = build_ipv4(f, IPPROTO_TCP, 0);
    uint64_t stub[16];
    struct capture c = { 0 };
    struct dp_exec_ctx ctx = { &cap_ops, &c };
    struct dp_exec_batch b = { 0 };
    struct dpa_buf acts;
    struct flow flow;
    struct dp_packet *p = make_packet(f, len, &flow);
    uint32_t *u;

    DPA_BUF_STUB(&acts, stub);
    u = dpa_put(&acts, DPA_RECIRC, 4);
    *u = 1;
    dp_exec_batch_add(&b, p, &flow);
    dp_execute_actions(&ctx, &b, acts.data, acts.size, DP_EXEC_MAX_RECIRC);
    cr_assert_eq(c.n_recirc, 0);
    cr_assert_eq(c.drops[DP_EXEC_DROP_RECIRC_DEPTH], 1);
}

Test(dp_execute, validate_rejects_malformed)
{
    uint64_t buf[32];
    struct dp_action *a = (struct dp_action *) buf;
    struct dpa_set_masked *sm;
    struct dpa_buf b;

    memset(buf, 0, sizeof buf);
    cr_assert_eq(dp_actions_validate(buf, 0), 0);
    a->type = DPA_OUTPUT;
    a->len = 0;
    cr_assert_eq(dp_actions_validate(buf, 16), -EINVAL);
    a->len = 12;
    cr_assert_eq(dp_actions_validate(buf, 16), -EINVAL);
    a->len = 24;
    cr_assert_eq(dp_actions_validate(buf, 16), -EINVAL);
    a->len = 16;
    cr_assert_eq(dp_actions_validate(buf, 16), 0);
    cr_assert_eq(dp_actions_validate(buf, 12), -EINVAL);
    a->type = 99;
    cr_assert_eq(dp_actions_validate(buf, 16), -EINVAL);

    DPA_BUF_STUB(&b, buf);
    sm = dpa_put(&b, DPA_SET_MASKED, sizeof *sm + 8);
    sm->ofs = sizeof(struct flow) - 2;
    sm->n = 4;
    cr_assert_eq(dp_actions_validate(b.data, b.size), -EINVAL);
    sm->ofs = 0;
    cr_assert_eq(dp_actions_validate(b.data, b.size), 0);
    sm->n = 0;
    cr_assert_eq(dp_actions_validate(b.data, b.size), -EINVAL);

    /* ct(): a short argument, a bad NAT family, an unknown helper. */
    struct dpa_ct *ct;
    DPA_BUF_STUB(&b, buf);
    dpa_put(&b, DPA_CT, 8);
    cr_assert_eq(dp_actions_validate(b.data, b.size), -EINVAL);
    DPA_BUF_STUB(&b, buf);
    ct = dpa_put(&b, DPA_CT, sizeof *ct);
    cr_assert_eq(dp_actions_validate(b.data, b.size), 0);
    ct->nat_flags = DPA_CT_NAT | DPA_CT_NAT_RANGE_ADDR;
    ct->nat_family = 99;
    cr_assert_eq(dp_actions_validate(b.data, b.size), -EINVAL);
    ct->nat_flags = 0;
    ct->alg = 200;
    cr_assert_eq(dp_actions_validate(b.data, b.size), -EINVAL);

    /* Nesting beyond the bound. */
    DPA_BUF_STUB(&b, buf);
    size_t ofs[DP_EXEC_MAX_NEST + 2];
    for (int i = 0; i < DP_EXEC_MAX_NEST + 2; i++) {
        ofs[i] = dpa_start_nested(&b, DPA_CLONE);
    }
    for (int i = DP_EXEC_MAX_NEST + 1; i >= 0; i--) {
        dpa_end_nested(&b, ofs[i]);
    }
    cr_assert(!b.overflow);
    cr_assert_eq(dp_actions_validate(b.data, b.size), -EINVAL);
}

Test(dp_execute, random_lists_never_crash)
{
    uint8_t f[256];
    size_t len = build_ipv4(f, IPPROTO_UDP, 30);
    unsigned int seed = 12345;
    int valid = 0;

    for (int iter = 0; iter < 20000; iter++) {
        uint64_t buf[16];
        uint8_t *bytes = (uint8_t *) buf;
        size_t size = (rand_r(&seed) % 16) * 8;

        for (size_t i = 0; i < sizeof buf; i++) {
            bytes[i] = rand_r(&seed);
        }
        /* Bias toward plausible headers. */
        for (size_t o = 0; o + 8 <= size; o += 8 * (1 + rand_r(&seed) % 3)) {
            struct dp_action *a = (struct dp_action *) (bytes + o);

            a->type = 1 + rand_r(&seed) % 12;
            a->len = 8 * (1 + rand_r(&seed) % 4);
        }
        if (!dp_actions_validate(buf, size)) {
            struct capture c = { 0 };
            struct dp_exec_ctx ctx = { &cap_ops, &c };
            struct dp_exec_batch b = { 0 };
            struct flow flow;
            struct dp_packet *p = make_packet(f, len, &flow);

            valid++;
            dp_exec_batch_add(&b, p, &flow);
            dp_execute_actions(&ctx, &b, buf, size, 0);
            capture_free(&c);
        }
    }
    cr_assert_gt(valid, 100, "only %d valid lists", valid);
}

static void
check_format(const void *data, size_t size, const char *want)
{
    struct ds s = DS_EMPTY_INITIALIZER;

    dpa_format(&s, data, size);
    cr_assert_str_eq(ds_cstr(&s), want);
    ds_destroy(&s);
}

Test(dpa, format)
{
    uint64_t stub[128] = { 0 };
    struct dpa_buf b;
    struct dpa_push_vlan *pv;
    struct dpa_userspace *us;
    uint32_t *u;
    size_t ofs;

    DPA_BUF_STUB(&b, stub);
    check_format(b.data, b.size, "drop");
    dpa_put_output(&b, 1);
    dpa_put_output(&b, 2);
    check_format(b.data, b.size, "1,2");

    DPA_BUF_STUB(&b, stub);
    pv = dpa_put(&b, DPA_PUSH_VLAN, sizeof *pv);
    pv->tpid = htons(ETH_TYPE_VLAN_8021Q);
    pv->tci = htons(VLAN_CFI | 10);
    dpa_put_output(&b, 2);
    dpa_put(&b, DPA_POP_VLAN, 0);
    check_format(b.data, b.size, "push_vlan(vid=10,pcp=0),2,pop_vlan");

    DPA_BUF_STUB(&b, stub);
    SET_FIELD(&b, nw_src, htonl(0x0a000001));
    u = dpa_put(&b, DPA_RECIRC, 4);
    *u = 1;
    check_format(b.data, b.size, "set(ipv4(src=10.0.0.1)),recirc(0x1)");

    DPA_BUF_STUB(&b, stub);
    {
        struct eth_addr v[2] = { { { 0, 0, 0, 0, 0, 2 } },
                                 { { 0, 0, 0, 0, 0, 1 } } };

        put_set(&b, offsetof(struct flow, dl_dst), v, NULL, sizeof v);
    }
    check_format(b.data, b.size,
                 "set(eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02))");

    DPA_BUF_STUB(&b, stub);
    us = dpa_put(&b, DPA_USERSPACE, sizeof *us);
    us->reason = 1;
    us->max_len = 0xffff;
    ofs = dpa_start_nested(&b, DPA_CLONE);
    dpa_put_output(&b, 3);
    dpa_end_nested(&b, ofs);
    u = dpa_put(&b, DPA_HASH, 4);
    *u = 0;
    dpa_put(&b, DPA_CT_CLEAR, 0);
    u = dpa_put(&b, DPA_TRUNC, 4);
    *u = 100;
    dpa_put_output(&b, DPIF_PORT_LOCAL);
    check_format(b.data, b.size,
                 "userspace(pid=0,controller(reason=1)),clone(3),"
                 "hash(l4(0)),ct_clear,trunc(100),LOCAL");
}

Test(dpa, buf_overflow)
{
    uint64_t stub[2];
    struct dpa_buf b;

    DPA_BUF_STUB(&b, stub);
    dpa_put_output(&b, 1);
    cr_assert(!b.overflow);
    cr_assert_null(dpa_put(&b, DPA_OUTPUT, 4));
    cr_assert(b.overflow);
}
