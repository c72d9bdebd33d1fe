/* Unit tests for ct-nat: tuple choice against a fake table, and packet
 * rewrites checked by recomputing every checksum from scratch.  Packets
 * are built byte by byte; connections are built by hand (the core is
 * exercised by test-conntrack). */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "conntrack/conntrack-private.h"
#include "conntrack/ct-nat.h"
#include "csum.h"
#include "dp-packet.h"
#include "flow.h"
#include "packets.h"
#include "util.h"

/* ---- A fake table of taken tuples ------------------------------------ */

#define FAKE_MAX 256
struct fake_table {
    struct ct_tuple t[FAKE_MAX];
    int n;
    int probes;
};

static bool
tuple_eq(const struct ct_tuple *a, const struct ct_tuple *b)
{
    return !memcmp(&a->src, &b->src, sizeof a->src)
           && !memcmp(&a->dst, &b->dst, sizeof a->dst)
           && a->src_port == b->src_port && a->dst_port == b->dst_port
           && a->zone == b->zone && a->nw_proto == b->nw_proto
           && a->family == b->family;
}

static bool
fake_in_use(void *aux, const struct ct_tuple *t)
{
    struct fake_table *ft = aux;

    ft->probes++;
    for (int i = 0; i < ft->n; i++) {
        if (tuple_eq(&ft->t[i], t)) {
            return true;
        }
    }
    return false;
}

static void
fake_add(struct fake_table *ft, const struct ct_tuple *t)
{
    cr_assert_lt(ft->n, FAKE_MAX);
    ft->t[ft->n++] = *t;
}

static struct ct_tuple
tuple4(const char *src, uint16_t sport, const char *dst, uint16_t dport,
       uint8_t proto, uint16_t zone)
{
    struct ct_tuple t;

    memset(&t, 0, sizeof t);
    cr_assert_eq(ip_parse(src, &t.src.ipv4), 0);
    cr_assert_eq(ip_parse(dst, &t.dst.ipv4), 0);
    t.src_port = htons(sport);
    t.dst_port = htons(dport);
    t.nw_proto = proto;
    t.family = AF_INET;
    t.zone = zone;
    return t;
}

static struct ct_tuple
tuple6(const char *src, uint16_t sport, const char *dst, uint16_t dport,
       uint8_t proto)
{
    struct ct_tuple t;

    memset(&t, 0, sizeof t);
    cr_assert_eq(ipv6_parse(src, &t.src.ipv6), 0);
    cr_assert_eq(ipv6_parse(dst, &t.dst.ipv6), 0);
    t.src_port = htons(sport);
    t.dst_port = htons(dport);
    t.nw_proto = proto;
    t.family = AF_INET6;
    return t;
}

static struct ct_nat_action
nat4(uint16_t flags, const char *lo, const char *hi, uint16_t plo,
     uint16_t phi)
{
    struct ct_nat_action a;

    memset(&a, 0, sizeof a);
    a.flags = flags;
    a.family = AF_INET;
    if (lo) {
        a.flags |= CT_NAT_RANGE_ADDR;
        cr_assert_eq(ip_parse(lo, &a.min_addr.ipv4), 0);
        cr_assert_eq(ip_parse(hi ? hi : lo, &a.max_addr.ipv4), 0);
    }
    if (plo) {
        a.flags |= CT_NAT_RANGE_PORT;
        a.min_port = plo;
        a.max_port = phi ? phi : plo;
    }
    return a;
}

static int
choose(struct fake_table *ft, const struct ct_tuple *o,
       const struct ct_nat_action *a, struct ct_tuple *rev,
       uint16_t *applied)
{
    struct ct_nat_request req = {
        .orig = o, .nat = a, .in_use = fake_in_use, .aux = ft,
        .hash_basis = 12345,
    };

    return ct_nat_choose(&req, rev, applied);
}

/* ---- Tuple choice ---------------------------------------------------- */

Test(ct_nat, snat_keeps_port_when_free)
{
    struct fake_table ft = { .n = 0 };
    struct ct_tuple o = tuple4("10.0.0.1", 40000, "10.9.9.9", 80,
                               IPPROTO_TCP, 0);
    struct ct_nat_action a = nat4(CT_NAT_SRC, "192.168.0.10", NULL, 0, 0);
    struct ct_tuple rev, want = tuple4("10.9.9.9", 80, "192.168.0.10",
                                       40000, IPPROTO_TCP, 0);
    uint16_t applied;

    cr_assert_eq(choose(&ft, &o, &a, &rev, &applied), 0);
    cr_assert(tuple_eq(&rev, &want));
    cr_assert_eq(applied, CT_NAT_SRC);
    cr_assert_eq(ft.probes, 1);
}

Test(ct_nat, snat_clash_moves_port_in_class)
{
    struct fake_table ft = { .n = 0 };
    struct ct_nat_action a = nat4(CT_NAT_SRC, "192.168.0.10", NULL, 0, 0);
    uint16_t applied;

    /* Ports from the three OVS classes. */
    static const uint16_t sports[] = { 40000, 700, 100 };
    for (size_t k = 0; k < ARRAY_SIZE(sports); k++) {
        struct ct_tuple o = tuple4("10.0.0.1", sports[k], "10.9.9.9", 80,
                                   IPPROTO_TCP, 0);
        struct ct_tuple taken = tuple4("10.9.9.9", 80, "192.168.0.10",
                                       sports[k], IPPROTO_TCP, 0);
        struct ct_tuple rev;
        uint16_t p;

        fake_add(&ft, &taken);
        cr_assert_eq(choose(&ft, &o, &a, &rev, &applied), 0);
        p = ntohs(rev.dst_port);
        cr_assert_neq(p, sports[k]);
        cr_assert_not(fake_in_use(&ft, &rev));
        cr_assert_eq(rev.dst.ipv4, htonl(0xc0a8000a));
        if (sports[k] >= 1024) {
            cr_assert_geq(p, 1024);
        } else if (sports[k] >= 512) {
            cr_assert(p >= 600 && p <= 1023);
        } else {
            cr_assert(p >= 1 && p <= 511);
        }
    }
}

Test(ct_nat, port_range_exhaustion_counted_per_zone)
{
    struct fake_table ft = { .n = 0 };
    struct ct_nat_action a = nat4(CT_NAT_SRC, "192.168.0.10",
                                  "192.168.0.11", 5000, 5003);
    uint64_t before7 = ct_nat_zone_exhausted(7);
    uint64_t before8 = ct_nat_zone_exhausted(8);
    uint16_t applied;

    /* 2 addresses x 4 ports: 8 connections fit, the 9th does not. */
    for (int i = 0; i < 9; i++) {
        struct ct_tuple o = tuple4("10.0.0.1", 30000 + i, "10.9.9.9", 80,
                                   IPPROTO_UDP, 7);
        struct ct_tuple rev;
        int err = choose(&ft, &o, &a, &rev, &applied);

        if (i < 8) {
            uint32_t addr = ntohl(rev.dst.ipv4);

            cr_assert_eq(err, 0, "conn %d", i);
            cr_assert(ntohs(rev.dst_port) >= 5000
                      && ntohs(rev.dst_port) <= 5003);
            cr_assert(addr == 0xc0a8000a || addr == 0xc0a8000b);
            fake_add(&ft, &rev);
        } else {
            cr_assert_eq(err, -ENOSPC);
        }
    }
    cr_assert_eq(ct_nat_zone_exhausted(7), before7 + 1);
    cr_assert_eq(ct_nat_zone_exhausted(8), before8);
}

static bool
always_in_use(void *aux, const struct ct_tuple *t)
{
    (*(int *) aux)++;
    return true;
}

Test(ct_nat, probing_is_bounded)
{
    struct ct_tuple o = tuple4("10.0.0.1", 40000, "10.9.9.9", 80,
                               IPPROTO_TCP, 0);
    struct ct_nat_action one = nat4(CT_NAT_SRC, "192.168.0.10", NULL, 0, 0);
    struct ct_nat_action many = nat4(CT_NAT_SRC, "10.128.0.0",
                                     "10.128.255.255", 0, 0);
    struct ct_tuple rev;
    uint16_t applied;
    int probes = 0;
    struct ct_nat_request req = {
        .orig = &o, .nat = &one, .in_use = always_in_use, .aux = &probes,
        .hash_basis = 1,
    };

    /* One address: the original port, then CT_NAT_PORT_ATTEMPTS. */
    cr_assert_eq(ct_nat_choose(&req, &rev, &applied), -ENOSPC);
    cr_assert_leq(probes, CT_NAT_PORT_ATTEMPTS + 1);
    cr_assert_geq(probes, CT_NAT_PORT_ATTEMPTS);
    /* 64K addresses: the global budget stops the walk. */
    probes = 0;
    req.nat = &many;
    cr_assert_eq(ct_nat_choose(&req, &rev, &applied), -ENOSPC);
    cr_assert_leq(probes, CT_NAT_MAX_PROBES + 1);
    cr_assert_geq(probes, CT_NAT_MAX_PROBES);
}

Test(ct_nat, hash_is_stable_random_is_not)
{
    struct fake_table ft = { .n = 0 };
    struct ct_tuple o = tuple4("10.0.0.1", 40000, "10.9.9.9", 80,
                               IPPROTO_TCP, 0);
    struct ct_tuple taken = tuple4("10.9.9.9", 80, "192.168.0.10", 40000,
                                   IPPROTO_TCP, 0);
    struct ct_nat_action h = nat4(CT_NAT_SRC | CT_NAT_PROTO_HASH,
                                  "192.168.0.10", NULL, 0, 0);
    struct ct_nat_action r = nat4(CT_NAT_SRC | CT_NAT_PROTO_RANDOM,
                                  "192.168.0.10", NULL, 0, 0);
    struct ct_tuple rev;
    uint16_t applied, first;
    bool differ = false;

    fake_add(&ft, &taken);
    cr_assert_eq(choose(&ft, &o, &h, &rev, &applied), 0);
    first = rev.dst_port;
    for (int i = 0; i < 10; i++) {
        cr_assert_eq(choose(&ft, &o, &h, &rev, &applied), 0);
        cr_assert_eq(rev.dst_port, first);
    }
    cr_assert_eq(choose(&ft, &o, &r, &rev, &applied), 0);
    first = rev.dst_port;
    for (int i = 0; i < 20; i++) {
        cr_assert_eq(choose(&ft, &o, &r, &rev, &applied), 0);
        differ |= rev.dst_port != first;
    }
    cr_assert(differ, "random picks vary (1 in 64K^20 to fail)");
}

Test(ct_nat, random_does_not_keep_port_with_range)
{
    struct fake_table ft = { .n = 0 };
    struct ct_tuple o = tuple4("10.0.0.1", 5001, "10.9.9.9", 80,
                               IPPROTO_TCP, 0);
    struct ct_nat_action a = nat4(CT_NAT_SRC | CT_NAT_PROTO_RANDOM,
                                  "192.168.0.10", NULL, 5000, 60000);
    struct ct_nat_action k = nat4(CT_NAT_SRC, "192.168.0.10", NULL, 5000,
                                  60000);
    struct ct_tuple rev;
    uint16_t applied;
    int kept = 0;

    cr_assert_eq(choose(&ft, &o, &k, &rev, &applied), 0);
    cr_assert_eq(ntohs(rev.dst_port), 5001, "in range: kept");
    for (int i = 0; i < 8; i++) {
        cr_assert_eq(choose(&ft, &o, &a, &rev, &applied), 0);
        kept += ntohs(rev.dst_port) == 5001;
    }
    cr_assert_lt(kept, 8);
}

Test(ct_nat, persistent_keeps_client_address)
{
    struct fake_table ft = { .n = 0 };
    struct ct_nat_action p = nat4(CT_NAT_SRC | CT_NAT_PERSISTENT,
                                  "192.168.0.1", "192.168.0.64", 0, 0);
    struct ct_nat_action np = nat4(CT_NAT_SRC, "192.168.0.1",
                                   "192.168.0.64", 0, 0);
    uint32_t addr = 0;
    int n_distinct = 0;
    uint32_t seen[64];
    uint16_t applied;

    for (int i = 0; i < 32; i++) {
        char dst[32];
        struct ct_tuple o, rev;

        snprintf(dst, sizeof dst, "10.9.%d.%d", i, i * 3);
        o = tuple4("10.0.0.1", 20000 + i * 17, dst, 80 + i, IPPROTO_TCP,
                   0);
        cr_assert_eq(choose(&ft, &o, &p, &rev, &applied), 0);
        if (!i) {
            addr = rev.dst.ipv4;
        }
        cr_assert_eq(rev.dst.ipv4, addr, "persistent: same address");
        cr_assert_eq(choose(&ft, &o, &np, &rev, &applied), 0);
        bool found = false;
        for (int k = 0; k < n_distinct; k++) {
            found |= seen[k] == rev.dst.ipv4;
        }
        if (!found) {
            seen[n_distinct++] = rev.dst.ipv4;
        }
    }
    cr_assert_gt(n_distinct, 1, "without persistent, addresses spread");
}

Test(ct_nat, ipv6_range)
{
    struct fake_table ft = { .n = 0 };
    struct ct_nat_action a;
    struct in6_addr lo, hi;
    uint16_t applied;

    memset(&a, 0, sizeof a);
    a.flags = CT_NAT_SRC | CT_NAT_RANGE_ADDR | CT_NAT_RANGE_PORT;
    a.family = AF_INET6;
    cr_assert_eq(ipv6_parse("2001:db8::fffe", &lo), 0);
    cr_assert_eq(ipv6_parse("2001:db8::1:1", &hi), 0);
    a.min_addr.ipv6 = lo;
    a.max_addr.ipv6 = hi;
    a.min_port = 1000;
    a.max_port = 1001;
    /* fffe, ffff, 1:0, 1:1 (carry across a 16-bit word) x 2 ports. */
    for (int i = 0; i < 9; i++) {
        struct ct_tuple o = tuple6("fd00::1", 30000 + i, "2001:db8:1::1",
                                   443, IPPROTO_TCP);
        struct ct_tuple rev;
        int err = choose(&ft, &o, &a, &rev, &applied);

        if (i == 8) {
            cr_assert_eq(err, -ENOSPC);
            break;
        }
        cr_assert_eq(err, 0);
        cr_assert(memcmp(&rev.dst.ipv6, &lo, 16) >= 0
                  && memcmp(&rev.dst.ipv6, &hi, 16) <= 0);
        cr_assert_eq(applied, CT_NAT_SRC);
        fake_add(&ft, &rev);
    }
    /* Family mismatch is refused. */
    struct ct_tuple o4 = tuple4("10.0.0.1", 1, "10.0.0.2", 2, IPPROTO_TCP,
                                0);
    struct ct_tuple rev;

    cr_assert_eq(choose(&ft, &o4, &a, &rev, &applied), -EINVAL);
}

Test(ct_nat, icmp_id_mapping)
{
    struct fake_table ft = { .n = 0 };
    struct ct_tuple o = tuple4("10.0.0.1", 0x1234, "10.9.9.9", 0x1234,
                               IPPROTO_ICMP, 0);
    struct ct_nat_action a = nat4(CT_NAT_SRC, "192.168.0.10", NULL, 0, 0);
    struct ct_tuple rev, taken;
    uint16_t applied;

    o.icmp_type = ICMP4_ECHO_REQUEST;
    cr_assert_eq(choose(&ft, &o, &a, &rev, &applied), 0);
    cr_assert_eq(rev.src_port, htons(0x1234), "id kept when free");
    taken = rev;
    fake_add(&ft, &taken);
    cr_assert_eq(choose(&ft, &o, &a, &rev, &applied), 0);
    cr_assert_neq(rev.src_port, htons(0x1234));
    cr_assert_eq(rev.src_port, rev.dst_port, "one id both ways");
    cr_assert_eq(applied, CT_NAT_SRC);
}

Test(ct_nat, dnat_with_port)
{
    struct fake_table ft = { .n = 0 };
    struct ct_tuple o = tuple4("10.0.0.1", 40000, "172.16.0.1", 80,
                               IPPROTO_TCP, 0);
    struct ct_nat_action a = nat4(CT_NAT_DST, "10.1.1.1", NULL, 8080, 0);
    struct ct_tuple rev, want = tuple4("10.1.1.1", 8080, "10.0.0.1",
                                       40000, IPPROTO_TCP, 0);
    uint16_t applied;

    cr_assert_eq(choose(&ft, &o, &a, &rev, &applied), 0);
    cr_assert(tuple_eq(&rev, &want));
    cr_assert_eq(applied, CT_NAT_DST);
    /* The same backend tuple taken: DNAT moves the source port. */
    fake_add(&ft, &want);
    cr_assert_eq(choose(&ft, &o, &a, &rev, &applied), 0);
    cr_assert_eq(rev.src_port, htons(8080));
    cr_assert_neq(rev.dst_port, htons(40000));
    cr_assert_eq(applied, CT_NAT_SRC | CT_NAT_DST);
}

Test(ct_nat, null_binding_resolves_clash_only)
{
    struct fake_table ft = { .n = 0 };
    struct ct_tuple o = tuple4("10.0.0.1", 40000, "10.9.9.9", 80,
                               IPPROTO_UDP, 0);
    struct ct_nat_action a = nat4(0, NULL, NULL, 0, 0);
    struct ct_tuple rev, plain = tuple4("10.9.9.9", 80, "10.0.0.1", 40000,
                                        IPPROTO_UDP, 0);
    uint16_t applied;

    cr_assert_eq(choose(&ft, &o, &a, &rev, &applied), 0);
    cr_assert(tuple_eq(&rev, &plain));
    cr_assert_eq(applied, 0);
    fake_add(&ft, &plain);
    cr_assert_eq(choose(&ft, &o, &a, &rev, &applied), 0);
    cr_assert_eq(rev.dst.ipv4, o.src.ipv4, "address unchanged");
    cr_assert_neq(rev.dst_port, o.src_port);
    cr_assert_eq(applied, CT_NAT_SRC);
}

/* ---- Packets --------------------------------------------------------- */

/* A connection built by hand: orig tuple 'o', reply tuple 'r'. */
struct test_conn {
    struct ct_conn conn;
    struct ct_conn_ext ext;
};

static void
conn_init(struct test_conn *tc, const struct ct_tuple *o,
          const struct ct_tuple *r, uint16_t nat_flags)
{
    memset(tc, 0, sizeof *tc);
    tc->conn.key.zone = o->zone;
    tc->conn.key.nw_proto = o->nw_proto;
    tc->conn.key.family = o->family;
    tc->conn.key.src_port = o->src_port;
    tc->conn.key.dst_port = o->dst_port;
    if (o->family == AF_INET) {
        tc->conn.key.a.v4.src = o->src.ipv4;
        tc->conn.key.a.v4.dst = o->dst.ipv4;
    } else {
        tc->conn.key.a.v6.src = o->src.ipv6;
        tc->conn.key.a.v6.dst = o->dst.ipv6;
    }
    tc->conn.flags = CT_CONN_F_NAT;
    tc->conn.ext = &tc->ext;
    tc->ext.conn = &tc->conn;
    tc->ext.rev = *r;
    tc->ext.nat_flags = nat_flags;
}

/* Builds Ethernet + IP + L4 for tuple 't' with 'n' payload bytes, all
 * checksums correct.  For ICMP, ports are the echo id and 'type' the
 * type. */
static struct dp_packet *
build(const struct ct_tuple *t, uint8_t type, uint32_t n, struct flow *fl)
{
    uint8_t f[1500];
    bool v6 = t->family == AF_INET6;
    uint32_t l3 = ETH_HEADER_LEN, hl = v6 ? IPV6_HEADER_LEN : IP_HEADER_LEN;
    uint8_t *l4 = f + l3 + hl;
    uint32_t l4_len;
    uint32_t sum;
    struct dp_packet *p;

    memset(f, 0, sizeof f);
    memset(f, 0x02, 12);
    f[12] = v6 ? 0x86 : 0x08;
    f[13] = v6 ? 0xdd : 0x00;
    switch (t->nw_proto) {
    case IPPROTO_TCP:
        l4_len = TCP_HEADER_LEN + n;
        memcpy(l4, &t->src_port, 2);
        memcpy(l4 + 2, &t->dst_port, 2);
        l4[4] = 0x11;               /* seq */
        l4[12] = 5 << 4;
        l4[13] = TCP_ACK | TCP_PSH;
        l4[14] = 0x20;              /* window */
        break;
    case IPPROTO_UDP:
        l4_len = UDP_HEADER_LEN + n;
        memcpy(l4, &t->src_port, 2);
        memcpy(l4 + 2, &t->dst_port, 2);
        l4[4] = l4_len >> 8;
        l4[5] = l4_len;
        break;
    default:                        /* ICMP/ICMPv6 echo */
        l4_len = 8 + n;
        l4[0] = type;
        memcpy(l4 + 4, &t->src_port, 2);
        l4[7] = 1;
        break;
    }
    for (uint32_t i = 0; i < n; i++) {
        l4[l4_len - n + i] = (uint8_t) (i * 13 + 1);
    }
    if (v6) {
        struct ipv6_header *ip6 = (void *) (f + l3);

        ip6->ip6_vtc_flow = htonl(0x60000000);
        ip6->ip6_plen = htons(l4_len);
        ip6->ip6_nxt = t->nw_proto;
        ip6->ip6_hlim = 64;
        memcpy(ip6->ip6_src, &t->src.ipv6, 16);
        memcpy(ip6->ip6_dst, &t->dst.ipv6, 16);
        sum = csum_pseudo_ipv6(&t->src.ipv6, &t->dst.ipv6, t->nw_proto,
                               l4_len);
    } else {
        struct ip_header *ip = (void *) (f + l3);

        ip->ip_ihl_ver = IP_IHL_VER(5, 4);
        ip->ip_tot_len = htons(hl + l4_len);
        ip->ip_ttl = 64;
        ip->ip_proto = t->nw_proto;
        ip->ip_src = t->src.ipv4;
        ip->ip_dst = t->dst.ipv4;
        ip->ip_csum = csum(ip, IP_HEADER_LEN);
        sum = t->nw_proto == IPPROTO_ICMP
              ? 0 : csum_pseudo_ipv4(t->src.ipv4, t->dst.ipv4, t->nw_proto,
                                     l4_len);
    }
    uint16_t c = csum_finish(csum_continue(sum, l4, l4_len));
    int co = t->nw_proto == IPPROTO_TCP ? 16 : t->nw_proto == IPPROTO_UDP
             ? 6 : 2;

    memcpy(l4 + co, &c, 2);
    p = dp_packet_clone_data(f, l3 + hl + l4_len);
    flow_extract(p, fl);
    return p;
}

/* Verifies every checksum of a packet by full recomputation. */
static void
verify(const struct dp_packet *p)
{
    const uint8_t *l3 = dp_packet_l3(p);
    const uint8_t *l4 = dp_packet_l4(p);
    bool v6 = (l3[0] >> 4) == 6;
    uint32_t l4_len = dp_packet_l4_size(p);
    uint8_t proto = v6 ? l3[6] : l3[9];
    uint32_t sum = 0;

    if (!v6) {
        cr_assert_eq(csum(l3, IP_HEADER_LEN), 0, "IPv4 header checksum");
    }
    if (proto == IPPROTO_UDP && !v6 && !l4[6] && !l4[7]) {
        return;
    }
    if (v6) {
        struct in6_addr s, d;

        memcpy(&s, l3 + 8, 16);
        memcpy(&d, l3 + 24, 16);
        sum = csum_pseudo_ipv6(&s, &d, proto, l4_len);
    } else if (proto != IPPROTO_ICMP) {
        uint32_t s, d;

        memcpy(&s, l3 + 12, 4);
        memcpy(&d, l3 + 16, 4);
        sum = csum_pseudo_ipv4(s, d, proto, l4_len);
    }
    cr_assert_eq(csum_finish(csum_continue(sum, l4, l4_len)), 0,
                 "L4 checksum (proto %u)", proto);
}

/* The packet must equal one freshly built for tuple 't'. */
static void
expect_like(const struct dp_packet *p, const struct flow *fl,
            const struct ct_tuple *t, uint8_t type, uint32_t n)
{
    struct flow want_fl;
    struct dp_packet *want = build(t, type, n, &want_fl);

    cr_assert_eq(dp_packet_size(p), dp_packet_size(want));
    cr_assert_eq(memcmp(dp_packet_data(p), dp_packet_data(want),
                        dp_packet_size(p)), 0, "bytes after NAT");
    cr_assert(flow_equal(fl, &want_fl), "flow key after NAT");
    verify(p);
    dp_packet_delete(want);
}

static struct ct_tuple
reverse(const struct ct_tuple *t)
{
    struct ct_tuple r = *t;

    r.src = t->dst;
    r.dst = t->src;
    r.src_port = t->dst_port;
    r.dst_port = t->src_port;
    return r;
}

/* Runs orig and reply packets of a connection through ct_nat_packet(). */
static void
roundtrip(const struct ct_tuple *o, const struct ct_tuple *r, uint8_t type,
          uint8_t reply_type, uint32_t n)
{
    struct test_conn tc;
    struct ct_tuple out, back;
    struct flow fl;
    struct dp_packet *p;

    conn_init(&tc, o, r, 0);
    /* Original direction: leaves as the reverse of the reply tuple. */
    p = build(o, type, n, &fl);
    verify(p);
    ct_nat_packet(p, &fl, &tc.conn, false);
    out = reverse(r);
    expect_like(p, &fl, &out, type, n);
    dp_packet_delete(p);
    /* Reply direction: arrives as 'r', leaves as the reverse of 'o'. */
    p = build(r, reply_type, n, &fl);
    ct_nat_packet(p, &fl, &tc.conn, true);
    back = reverse(o);
    expect_like(p, &fl, &back, reply_type, n);
    dp_packet_delete(p);
}

Test(ct_nat, snat_tcp_v4_bytes)
{
    struct ct_tuple o = tuple4("10.0.0.1", 40000, "10.9.9.9", 80,
                               IPPROTO_TCP, 0);
    struct ct_tuple r = tuple4("10.9.9.9", 80, "192.168.0.10", 5000,
                               IPPROTO_TCP, 0);

    roundtrip(&o, &r, 0, 0, 33);
}

Test(ct_nat, dnat_udp_v4_bytes)
{
    struct ct_tuple o = tuple4("10.0.0.1", 40000, "172.16.0.1", 53,
                               IPPROTO_UDP, 0);
    struct ct_tuple r = tuple4("10.1.1.1", 5353, "10.0.0.1", 40000,
                               IPPROTO_UDP, 0);

    roundtrip(&o, &r, 0, 0, 17);
}

Test(ct_nat, udp_zero_checksum_stays_zero)
{
    struct ct_tuple o = tuple4("10.0.0.1", 40000, "172.16.0.1", 53,
                               IPPROTO_UDP, 0);
    struct ct_tuple r = tuple4("10.1.1.1", 53, "10.0.0.1", 40000,
                               IPPROTO_UDP, 0);
    struct test_conn tc;
    struct flow fl;
    struct dp_packet *p = build(&o, 0, 10, &fl);
    uint8_t *l4 = dp_packet_l4(p);

    l4[6] = l4[7] = 0;
    conn_init(&tc, &o, &r, CT_NAT_DST);
    ct_nat_packet(p, &fl, &tc.conn, false);
    cr_assert_eq(l4[6] | l4[7], 0);
    cr_assert_eq(fl.nw_dst, r.src.ipv4);
    verify(p);
    dp_packet_delete(p);
}

Test(ct_nat, tcp_v6_both_ways)
{
    struct ct_tuple o = tuple6("fd00::1", 40000, "2001:db8::80", 443,
                               IPPROTO_TCP);
    struct ct_tuple r = tuple6("fd00:1::5", 8443, "2001:db8:ffff::1", 1234,
                               IPPROTO_TCP);

    roundtrip(&o, &r, 0, 0, 51);
}

Test(ct_nat, icmp_echo_id_v4)
{
    struct ct_tuple o = tuple4("10.0.0.1", 0x1234, "10.9.9.9", 0x1234,
                               IPPROTO_ICMP, 0);
    struct ct_tuple r = tuple4("10.9.9.9", 0x4321, "192.168.0.10", 0x4321,
                               IPPROTO_ICMP, 0);

    roundtrip(&o, &r, ICMP4_ECHO_REQUEST, ICMP4_ECHO_REPLY, 24);
}

Test(ct_nat, icmp_echo_id_v6)
{
    struct ct_tuple o = tuple6("fd00::1", 7, "2001:db8::1", 7,
                               IPPROTO_ICMPV6_);
    struct ct_tuple r = tuple6("2001:db8::1", 99, "2001:db8:1::a", 99,
                               IPPROTO_ICMPV6_);

    roundtrip(&o, &r, ICMP6_TYPE_ECHO_REQUEST, ICMP6_TYPE_ECHO_REPLY, 16);
}

Test(ct_nat, csum_partial_keeps_pseudo_sum)
{
    struct ct_tuple o = tuple4("10.0.0.1", 40000, "10.9.9.9", 80,
                               IPPROTO_TCP, 0);
    struct ct_tuple r = tuple4("10.9.9.9", 80, "192.168.0.10", 5000,
                               IPPROTO_TCP, 0);
    struct test_conn tc;
    struct flow fl;
    struct dp_packet *p = build(&o, 0, 100, &fl);
    uint8_t *l3 = dp_packet_l3(p), *l4 = dp_packet_l4(p);
    uint32_t s, d;
    uint16_t v, want;

    /* Offloaded: the field holds the pseudo-header sum only. */
    v = csum_fold(csum_pseudo_ipv4(o.src.ipv4, o.dst.ipv4, IPPROTO_TCP,
                                   TCP_HEADER_LEN + 100));
    memcpy(l4 + 16, &v, 2);
    p->ofl.flags = DP_OFL_CSUM_PARTIAL;
    p->ofl.csum_start = p->l4_ofs;
    p->ofl.csum_offset = 16;
    conn_init(&tc, &o, &r, CT_NAT_SRC);
    ct_nat_packet(p, &fl, &tc.conn, false);
    memcpy(&s, l3 + 12, 4);
    memcpy(&d, l3 + 16, 4);
    cr_assert_eq(s, r.dst.ipv4);
    want = csum_fold(csum_pseudo_ipv4(s, d, IPPROTO_TCP,
                                      TCP_HEADER_LEN + 100));
    memcpy(&v, l4 + 16, 2);
    cr_assert_eq(v, want, "pseudo-header sum %#x, want %#x", v, want);
    /* Filling it as the NIC would gives a correct checksum. */
    v = csum_finish(csum_continue(0, l4, TCP_HEADER_LEN + 100));
    memcpy(l4 + 16, &v, 2);
    verify(p);
    dp_packet_delete(p);
}

/* ---- Related ICMP errors --------------------------------------------- */

/* An ICMP(v6) error from 'from' to 'to' quoting a complete packet 'inner'
 * (built by build()). */
static struct dp_packet *
build_error(const struct ct_tuple *inner_t, const union ct_addr *from,
            const union ct_addr *to, struct flow *fl)
{
    struct flow ifl;
    struct dp_packet *inner = build(inner_t, ICMP4_ECHO_REQUEST, 0, &ifl);
    const uint8_t *iq = dp_packet_l3(inner);
    uint32_t iq_len = dp_packet_size(inner) - inner->l3_ofs;
    bool v6 = inner_t->family == AF_INET6;
    struct ct_tuple et;
    struct flow tmp;
    struct dp_packet *e, *out;
    uint8_t *l4;
    uint32_t l4_len = 8 + iq_len;

    memset(&et, 0, sizeof et);
    et.family = inner_t->family;
    et.nw_proto = v6 ? IPPROTO_ICMPV6_ : IPPROTO_ICMP;
    et.src = *from;
    et.dst = *to;
    e = build(&et, v6 ? ICMP6_TYPE_DST_UNREACH : ICMP4_DST_UNREACH, iq_len,
              &tmp);
    l4 = dp_packet_l4(e);
    l4[1] = v6 ? 4 : ICMP4_UNREACH_PORT;
    memset(l4 + 4, 0, 4);
    memcpy(l4 + 8, iq, iq_len);
    l4[2] = l4[3] = 0;
    uint32_t sum = v6 ? csum_pseudo_ipv6(&from->ipv6, &to->ipv6,
                                         IPPROTO_ICMPV6_, l4_len) : 0;
    uint16_t c = csum_finish(csum_continue(sum, l4, l4_len));

    memcpy(l4 + 2, &c, 2);
    out = dp_packet_clone_data(dp_packet_data(e), dp_packet_size(e));
    flow_extract(out, fl);
    dp_packet_delete(e);
    dp_packet_delete(inner);
    return out;
}

/* Checks the inner packet of error 'p' equals a fresh build of 't'. */
static void
expect_inner(const struct dp_packet *p, const struct ct_tuple *t)
{
    struct flow ifl;
    struct dp_packet *want = build(t, ICMP4_ECHO_REQUEST, 0, &ifl);
    const uint8_t *inner = (const uint8_t *) dp_packet_l4(p) + 8;
    uint32_t n = dp_packet_size(want) - want->l3_ofs;

    cr_assert_eq(memcmp(inner, dp_packet_l3(want), n), 0,
                 "inner packet restored, checksums included");
    dp_packet_delete(want);
}

Test(ct_nat, icmp_error_snat_reply)
{
    /* 10.0.0.1:40000 -> 10.9.9.9:80 SNATed to 192.168.0.10:5000.  A
     * router 10.5.5.5 reports the translated packet to 192.168.0.10. */
    struct ct_tuple o = tuple4("10.0.0.1", 40000, "10.9.9.9", 80,
                               IPPROTO_TCP, 0);
    struct ct_tuple r = tuple4("10.9.9.9", 80, "192.168.0.10", 5000,
                               IPPROTO_TCP, 0);
    struct ct_tuple translated = reverse(&r);
    union ct_addr router;
    struct test_conn tc;
    struct flow fl;
    struct dp_packet *p;
    const uint8_t *l3;
    uint32_t s, d;

    memset(&router, 0, sizeof router);
    ip_parse("10.5.5.5", &router.ipv4);
    conn_init(&tc, &o, &r, CT_NAT_SRC);
    p = build_error(&translated, &router, &r.dst, &fl);
    verify(p);
    ct_nat_related_icmp(p, &fl, &tc.conn, true);
    l3 = dp_packet_l3(p);
    memcpy(&s, l3 + 12, 4);
    memcpy(&d, l3 + 16, 4);
    cr_assert_eq(s, router.ipv4, "a router stays visible under SNAT");
    cr_assert_eq(d, o.src.ipv4, "outer destination restored");
    cr_assert_eq(fl.nw_dst, o.src.ipv4);
    verify(p);
    expect_inner(p, &o);
    dp_packet_delete(p);
}

Test(ct_nat, icmp_error_dnat_reply)
{
    /* 10.0.0.1:40000 -> VIP 172.16.0.1:53 DNATed to 10.1.1.1:5353; the
     * backend answers port unreachable. */
    struct ct_tuple o = tuple4("10.0.0.1", 40000, "172.16.0.1", 53,
                               IPPROTO_UDP, 0);
    struct ct_tuple r = tuple4("10.1.1.1", 5353, "10.0.0.1", 40000,
                               IPPROTO_UDP, 0);
    struct ct_tuple translated = reverse(&r);
    struct test_conn tc;
    struct flow fl;
    struct dp_packet *p;
    const uint8_t *l3;
    uint32_t s;

    conn_init(&tc, &o, &r, CT_NAT_DST);
    p = build_error(&translated, &r.src, &r.dst, &fl);
    ct_nat_related_icmp(p, &fl, &tc.conn, true);
    l3 = dp_packet_l3(p);
    memcpy(&s, l3 + 12, 4);
    cr_assert_eq(s, o.dst.ipv4, "outer source is the VIP");
    cr_assert_eq(fl.nw_src, o.dst.ipv4);
    verify(p);
    expect_inner(p, &o);
    dp_packet_delete(p);
}

Test(ct_nat, icmp_error_orig_direction_v6)
{
    /* The client reports a (translated) reply packet it got. */
    struct ct_tuple o = tuple6("fd00::1", 40000, "2001:db8::80", 443,
                               IPPROTO_TCP);
    struct ct_tuple r = tuple6("2001:db8::80", 443, "2001:db8:ffff::1",
                               1234, IPPROTO_TCP);
    struct ct_tuple seen = reverse(&o);
    struct test_conn tc;
    struct flow fl;
    struct dp_packet *p;
    const uint8_t *l3;

    conn_init(&tc, &o, &r, CT_NAT_SRC);
    p = build_error(&seen, &o.src, &o.dst, &fl);
    ct_nat_related_icmp(p, &fl, &tc.conn, false);
    l3 = dp_packet_l3(p);
    cr_assert_eq(memcmp(l3 + 8, &r.dst.ipv6, 16), 0, "outer src is SNAT");
    cr_assert_eq(memcmp(l3 + 24, &o.dst.ipv6, 16), 0);
    cr_assert_eq(memcmp(&fl.ipv6_src, &r.dst.ipv6, 16), 0);
    verify(p);
    expect_inner(p, &r);
    dp_packet_delete(p);
}

/* ---- Through the conntrack core -------------------------------------- */

static struct conntrack *
core_create(void)
{
    struct conntrack_config cfg;

    conntrack_config_init(&cfg);
    cfg.max_conns = 1024;
    cfg.n_stripes = 4;
    cfg.hash_basis = 99;
    return conntrack_create(&cfg);
}

static void
core_exec(struct conntrack *ct, struct dp_packet *p, struct flow *fl,
          const struct ct_exec_args *a, long long now)
{
    struct flow *fls[1] = { fl };

    conntrack_execute(ct, &p, fls, 1, a, now);
}

/* Zeroes the conntrack fields of a flow (to compare L2-L4 with a fresh
 * extraction). */
static void
clear_ct(struct flow *fl)
{
    size_t a = offsetof(struct flow, ct_state);
    size_t b = offsetof(struct flow, dl_dst);

    memset((uint8_t *) fl + a, 0, b - a);
}

Test(ct_nat_core, snat_commit_reply_and_clash)
{
    struct conntrack *ct = core_create();
    struct ct_nat_action snat = nat4(CT_NAT_SRC, "192.168.0.10", NULL, 0,
                                     0);
    struct ct_nat_action bare = nat4(0, NULL, NULL, 0, 0);
    struct ct_exec_args commit = { .zone = 1, .commit = true, .nat = &snat };
    struct ct_exec_args track = { .zone = 1, .nat = &bare };
    struct ct_tuple o1 = tuple4("10.0.0.1", 40000, "10.9.9.9", 53,
                                IPPROTO_UDP, 1);
    struct ct_tuple o2 = tuple4("10.0.0.2", 40000, "10.9.9.9", 53,
                                IPPROTO_UDP, 1);
    struct ct_tuple out1 = tuple4("192.168.0.10", 40000, "10.9.9.9", 53,
                                  IPPROTO_UDP, 1);
    struct flow fl;
    struct dp_packet *p;
    uint16_t sport2;

    cr_assert_not_null(ct);
    p = build(&o1, 0, 20, &fl);
    core_exec(ct, p, &fl, &commit, 1000);
    cr_assert_eq(fl.ct_state, CS_TRACKED | CS_NEW | CS_SRC_NAT);
    clear_ct(&fl);
    expect_like(p, &fl, &out1, 0, 20);
    dp_packet_delete(p);

    /* The reply finds the connection by its translated tuple. */
    struct ct_tuple rep = reverse(&out1), back = reverse(&o1);

    p = build(&rep, 0, 20, &fl);
    core_exec(ct, p, &fl, &track, 1001);
    cr_assert_eq(fl.ct_state, CS_TRACKED | CS_ESTABLISHED | CS_REPLY_DIR
                              | CS_DST_NAT);
    cr_assert_eq(fl.ct_nw_src, o1.src.ipv4, "ct tuple is the original");
    clear_ct(&fl);
    expect_like(p, &fl, &back, 0, 20);
    dp_packet_delete(p);

    /* Another client with the same port: the NAT port moves. */
    p = build(&o2, 0, 20, &fl);
    core_exec(ct, p, &fl, &commit, 1002);
    cr_assert_eq(fl.ct_state, CS_TRACKED | CS_NEW | CS_SRC_NAT);
    cr_assert_eq(fl.nw_src, out1.src.ipv4);
    memcpy(&sport2, (uint8_t *) dp_packet_l4(p), 2);
    cr_assert_neq(sport2, htons(40000));
    cr_assert_eq(fl.tp_src, sport2);
    verify(p);
    dp_packet_delete(p);
    cr_assert_eq(conntrack_get_nconns(ct), 2);
    conntrack_destroy(ct);
}

Test(ct_nat_core, exhaustion_counted)
{
    struct conntrack *ct = core_create();
    struct ct_nat_action snat = nat4(CT_NAT_SRC, "192.168.0.10", NULL,
                                     6000, 6001);
    struct ct_exec_args commit = { .zone = 9, .commit = true, .nat = &snat };
    uint64_t before = ct_nat_zone_exhausted(9);
    struct ct_stats st;

    for (int i = 0; i < 3; i++) {
        struct ct_tuple o = tuple4("10.0.0.1", 1000 + i, "10.9.9.9", 53,
                                   IPPROTO_UDP, 9);
        struct flow fl;
        struct dp_packet *p = build(&o, 0, 4, &fl);

        core_exec(ct, p, &fl, &commit, 1000);
        if (i < 2) {
            cr_assert(fl.ct_state & CS_SRC_NAT);
        } else {
            cr_assert_not(fl.ct_state & (CS_SRC_NAT | CS_ESTABLISHED));
        }
        dp_packet_delete(p);
    }
    conntrack_get_stats(ct, &st);
    cr_assert_eq(st.nat_exhausted, 1);
    cr_assert_eq(ct_nat_zone_exhausted(9), before + 1);
    cr_assert_eq(conntrack_get_nconns(ct), 2);
    conntrack_destroy(ct);
}
