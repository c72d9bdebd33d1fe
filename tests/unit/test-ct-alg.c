/* Unit tests for the FTP and TFTP helpers (ct-alg): expectations, NAT
 * payload rewrites, sequence adjustment, expectation formatting.  Control
 * connections are built by hand and the expectations go to a fake sink
 * (the core's table is exercised by test-conntrack). */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "conntrack/conntrack-private.h"
#include "conntrack/ct-alg.h"
#include "csum.h"
#include "dp-packet.h"
#include "dynamic-string.h"
#include "flow.h"
#include "packets.h"
#include "util.h"

/* ---- Fixtures -------------------------------------------------------- */

struct sink {
    struct ct_expectation exp[8];
    int n;
    int ret;
};

static int
sink_add(void *aux, const struct ct_expectation *e, uint32_t timeout_ms,
         long long now_ms)
{
    struct sink *s = aux;

    cr_assert_gt(timeout_ms, 0);
    if (s->ret) {
        return s->ret;
    }
    cr_assert_lt(s->n, 8);
    s->exp[s->n++] = *e;
    return 0;
}

struct test_conn {
    struct ct_conn conn;
    struct ct_conn_ext ext;
};

static struct ct_tuple
tuple(int family, const char *src, uint16_t sport, const char *dst,
      uint16_t dport, uint8_t proto)
{
    struct ct_tuple t;

    memset(&t, 0, sizeof t);
    t.family = family;
    if (family == AF_INET) {
        cr_assert_eq(ip_parse(src, &t.src.ipv4), 0);
        cr_assert_eq(ip_parse(dst, &t.dst.ipv4), 0);
    } else {
        cr_assert_eq(ipv6_parse(src, &t.src.ipv6), 0);
        cr_assert_eq(ipv6_parse(dst, &t.dst.ipv6), 0);
    }
    t.src_port = htons(sport);
    t.dst_port = htons(dport);
    t.nw_proto = proto;
    t.zone = 3;
    return t;
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

/* 'r' NULL: no NAT. */
static void
conn_init(struct test_conn *tc, const struct ct_tuple *o,
          const struct ct_tuple *r, enum ct_alg alg)
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
    tc->conn.id = 77;
    tc->conn.mark = 0x42;
    tc->conn.ext = &tc->ext;
    tc->ext.conn = &tc->conn;
    tc->ext.alg = alg;
    tc->ext.label[0] = 0xabc;
    tc->ext.label[1] = 0x1;
    if (r) {
        tc->conn.flags = CT_CONN_F_NAT;
        tc->ext.rev = *r;
    } else {
        tc->ext.rev = reverse(o);
    }
}

/* A TCP (or UDP) packet for tuple 't' carrying TCP options 'opts'
 * ('opt_len' bytes, a multiple of 4) and 'text', with tailroom. */
static struct dp_packet *
build_opts(const struct ct_tuple *t, uint32_t seq, uint32_t ack,
           const uint8_t *opts, uint32_t opt_len, const char *text,
           struct flow *fl)
{
    uint8_t f[1500];
    bool v6 = t->family == AF_INET6;
    bool tcp = t->nw_proto == IPPROTO_TCP;
    uint32_t hl = v6 ? IPV6_HEADER_LEN : IP_HEADER_LEN;
    uint32_t l4h = tcp ? TCP_HEADER_LEN + opt_len : UDP_HEADER_LEN;
    uint32_t n = strlen(text), l4_len = l4h + n;
    uint8_t *l3 = f + ETH_HEADER_LEN, *l4 = l3 + hl;
    uint32_t sum;
    uint16_t c;
    struct dp_packet *p;

    memset(f, 0, sizeof f);
    memset(f, 2, 12);
    f[12] = v6 ? 0x86 : 0x08;
    f[13] = v6 ? 0xdd : 0x00;
    if (v6) {
        l3[0] = 0x60;
        l3[4] = l4_len >> 8;
        l3[5] = l4_len;
        l3[6] = t->nw_proto;
        l3[7] = 64;
        memcpy(l3 + 8, &t->src.ipv6, 16);
        memcpy(l3 + 24, &t->dst.ipv6, 16);
        sum = csum_pseudo_ipv6(&t->src.ipv6, &t->dst.ipv6, t->nw_proto,
                               l4_len);
    } else {
        struct ip_header *ip = (void *) l3;

        ip->ip_ihl_ver = IP_IHL_VER(5, 4);
        ip->ip_tot_len = htons(hl + l4_len);
        ip->ip_ttl = 64;
        ip->ip_proto = t->nw_proto;
        ip->ip_src = t->src.ipv4;
        ip->ip_dst = t->dst.ipv4;
        ip->ip_csum = csum(ip, IP_HEADER_LEN);
        sum = csum_pseudo_ipv4(t->src.ipv4, t->dst.ipv4, t->nw_proto,
                               l4_len);
    }
    memcpy(l4, &t->src_port, 2);
    memcpy(l4 + 2, &t->dst_port, 2);
    if (tcp) {
        uint32_t s = htonl(seq), a = htonl(ack);

        memcpy(l4 + 4, &s, 4);
        memcpy(l4 + 8, &a, 4);
        l4[12] = (5 + opt_len / 4) << 4;
        if (opt_len) {
            memcpy(l4 + TCP_HEADER_LEN, opts, opt_len);
        }
        l4[13] = TCP_ACK | TCP_PSH;
        l4[14] = 0x40;
    } else {
        l4[4] = l4_len >> 8;
        l4[5] = l4_len;
    }
    memcpy(l4 + l4h, text, n);
    c = csum_finish(csum_continue(sum, l4, l4_len));
    memcpy(l4 + (tcp ? 16 : 6), &c, 2);

    p = dp_packet_new(2048);
    dp_packet_put(p, f, ETH_HEADER_LEN + hl + l4_len);
    flow_extract(p, fl);
    return p;
}

static struct dp_packet *
build(const struct ct_tuple *t, uint32_t seq, uint32_t ack,
      const char *text, struct flow *fl)
{
    return build_opts(t, seq, ack, NULL, 0, text, fl);
}

static void
verify(const struct dp_packet *p)
{
    const uint8_t *l3 = dp_packet_l3(p), *l4 = dp_packet_l4(p);
    bool v6 = (l3[0] >> 4) == 6;
    uint32_t l3_len = dp_packet_size(p) - p->l3_ofs;
    uint32_t l4_len = dp_packet_l4_size(p);
    uint32_t sum;

    if (v6) {
        struct in6_addr s, d;

        cr_assert_eq(((uint32_t) l3[4] << 8 | l3[5]) + IPV6_HEADER_LEN,
                     l3_len);
        memcpy(&s, l3 + 8, 16);
        memcpy(&d, l3 + 24, 16);
        sum = csum_pseudo_ipv6(&s, &d, l3[6], l4_len);
    } else {
        uint32_t s, d;

        cr_assert_eq(((uint32_t) l3[2] << 8 | l3[3]), l3_len, "IP length");
        cr_assert_eq(csum(l3, IP_HEADER_LEN), 0, "IP checksum");
        memcpy(&s, l3 + 12, 4);
        memcpy(&d, l3 + 16, 4);
        sum = csum_pseudo_ipv4(s, d, l3[9], l4_len);
    }
    cr_assert_eq(csum_finish(csum_continue(sum, l4, l4_len)), 0,
                 "L4 checksum");
}

static const char *
payload(const struct dp_packet *p, uint32_t *n)
{
    const uint8_t *l4 = dp_packet_l4(p);
    uint32_t hlen = (l4[12] >> 4) * 4;

    *n = dp_packet_l4_size(p) - hlen;
    return (const char *) l4 + hlen;
}

static void
expect_payload(const struct dp_packet *p, const char *want)
{
    uint32_t n;
    const char *s = payload(p, &n);

    cr_assert_eq(n, strlen(want), "payload length %u, want %zu", n,
                 strlen(want));
    cr_assert_eq(memcmp(s, want, n), 0, "payload '%.*s'", (int) n, s);
}

static uint32_t
seq_of(const struct dp_packet *p)
{
    uint32_t v;

    memcpy(&v, (const uint8_t *) dp_packet_l4(p) + 4, 4);
    return ntohl(v);
}

static uint32_t
ack_of(const struct dp_packet *p)
{
    uint32_t v;

    memcpy(&v, (const uint8_t *) dp_packet_l4(p) + 8, 4);
    return ntohl(v);
}

/* Runs the FTP helper on a packet of tc in direction 'reply'. */
static int
ftp(struct test_conn *tc, struct sink *s, struct dp_packet *p,
    struct flow *fl, bool reply)
{
    struct ct_alg_call c = {
        .expect = sink_add, .aux = s, .pkt = p, .flow = fl,
        .conn = &tc->conn, .reply = reply, .now_ms = 1000,
    };

    return ct_alg_ftp_handle(&c);
}

static bool
tuple_eq(const struct ct_tuple *a, const struct ct_tuple *b)
{
    return !memcmp(&a->src, &b->src, sizeof a->src)
           && !memcmp(&a->dst, &b->dst, sizeof a->dst)
           && a->src_port == b->src_port && a->dst_port == b->dst_port
           && a->zone == b->zone && a->nw_proto == b->nw_proto
           && a->family == b->family;
}

/* ---- FTP without NAT ------------------------------------------------- */

Test(ct_alg, ftp_active_no_nat)
{
    struct ct_tuple o = tuple(AF_INET, "10.0.0.1", 40000, "10.9.9.9", 21,
                              IPPROTO_TCP);
    struct ct_tuple want = tuple(AF_INET, "10.9.9.9", 0, "10.0.0.1", 40001,
                                 IPPROTO_TCP);
    const char *cmd = "PORT 10,0,0,1,156,65\r\n";
    struct test_conn tc;
    struct sink s = { .n = 0 };
    struct flow fl;
    struct dp_packet *p = build(&o, 1000, 5000, cmd, &fl);

    conn_init(&tc, &o, NULL, CT_ALG_FTP);
    cr_assert_eq(ftp(&tc, &s, p, &fl, false), 0);
    cr_assert_eq(s.n, 1);
    cr_assert(tuple_eq(&s.exp[0].tuple, &want));
    cr_assert_not(s.exp[0].nat);
    cr_assert_eq(s.exp[0].mark, 0x42, "inherits the mark");
    cr_assert_eq(s.exp[0].label[0], 0xabc, "inherits the label");
    cr_assert_eq(s.exp[0].label[1], 0x1);
    cr_assert_eq(s.exp[0].parent_id, 77);
    cr_assert(tuple_eq(&s.exp[0].parent, &o));
    cr_assert_eq(s.exp[0].alg, CT_ALG_FTP);
    expect_payload(p, cmd);
    cr_assert_eq(seq_of(p), 1000);
    verify(p);
    dp_packet_delete(p);
}

Test(ct_alg, ftp_passive_no_nat)
{
    struct ct_tuple o = tuple(AF_INET, "10.0.0.1", 40000, "10.9.9.9", 21,
                              IPPROTO_TCP);
    struct ct_tuple r = reverse(&o);
    struct ct_tuple want = tuple(AF_INET, "10.0.0.1", 0, "10.9.9.9", 5001,
                                 IPPROTO_TCP);
    struct test_conn tc;
    struct sink s = { .n = 0 };
    struct flow fl;
    struct dp_packet *p;

    conn_init(&tc, &o, NULL, CT_ALG_FTP);
    /* A PORT in the reply direction is not a client command. */
    p = build(&r, 9, 9, "PORT 10,9,9,9,19,137\r\n", &fl);
    cr_assert_eq(ftp(&tc, &s, p, &fl, true), 0);
    cr_assert_eq(s.n, 0);
    dp_packet_delete(p);
    p = build(&r, 9, 9, "227 Entering Passive Mode (10,9,9,9,19,137).\r\n",
              &fl);
    cr_assert_eq(ftp(&tc, &s, p, &fl, true), 0);
    cr_assert_eq(s.n, 1);
    cr_assert(tuple_eq(&s.exp[0].tuple, &want));
    verify(p);
    dp_packet_delete(p);
}

Test(ct_alg, ftp_third_party_address_ignored)
{
    struct ct_tuple o = tuple(AF_INET, "10.0.0.1", 40000, "10.9.9.9", 21,
                              IPPROTO_TCP);
    struct test_conn tc;
    struct sink s = { .n = 0 };
    struct flow fl;
    struct dp_packet *p = build(&o, 1, 1, "PORT 10,7,7,7,0,25\r\n", &fl);

    conn_init(&tc, &o, NULL, CT_ALG_FTP);
    cr_assert_eq(ftp(&tc, &s, p, &fl, false), 0);
    cr_assert_eq(s.n, 0, "no expectation toward a third party");
    dp_packet_delete(p);
    /* Malformed numbers: nothing either. */
    p = build(&o, 1, 1, "PORT 10,0,0,1,300,1\r\n", &fl);
    cr_assert_eq(ftp(&tc, &s, p, &fl, false), 0);
    cr_assert_eq(s.n, 0);
    dp_packet_delete(p);
}

/* ---- FTP with NAT ---------------------------------------------------- */

Test(ct_alg, ftp_active_snat_rewrites_and_adjusts_seq)
{
    /* Client 10.0.0.1:40000 SNATed to 192.168.100.200:40000. */
    struct ct_tuple o = tuple(AF_INET, "10.0.0.1", 40000, "10.9.9.9", 21,
                              IPPROTO_TCP);
    struct ct_tuple r = tuple(AF_INET, "10.9.9.9", 21, "192.168.100.200",
                              40000, IPPROTO_TCP);
    struct ct_tuple want = tuple(AF_INET, "10.9.9.9", 0, "192.168.100.200",
                                 40001, IPPROTO_TCP);
    struct test_conn tc;
    struct sink s = { .n = 0 };
    struct flow fl;
    struct dp_packet *p;

    conn_init(&tc, &o, &r, CT_ALG_FTP);
    p = build(&o, 1000, 5000, "PORT 10,0,0,1,156,65\r\n", &fl);
    cr_assert_eq(ftp(&tc, &s, p, &fl, false), 0);
    expect_payload(p, "PORT 192,168,100,200,156,65\r\n");
    cr_assert_eq(seq_of(p), 1000, "the rewritten segment keeps its seq");
    verify(p);
    cr_assert_eq(s.n, 1);
    cr_assert(tuple_eq(&s.exp[0].tuple, &want));
    cr_assert(s.exp[0].nat);
    cr_assert_eq(s.exp[0].nat_flags, CT_NAT_DST);
    struct ct_tuple rev_want = tuple(AF_INET, "10.0.0.1", 40001,
                                     "10.9.9.9", 0, IPPROTO_TCP);
    cr_assert(tuple_eq(&s.exp[0].rev, &rev_want));
    dp_packet_delete(p);

    /* The server acks 1000 + 29 (what it got): the client must see
     * 1000 + 22 (what it sent). */
    p = build(&r, 5000, 1029, "200 PORT command successful\r\n", &fl);
    cr_assert_eq(ftp(&tc, &s, p, &fl, true), 0);
    cr_assert_eq(ack_of(p), 1022);
    cr_assert_eq(seq_of(p), 5000);
    verify(p);
    dp_packet_delete(p);

    /* The client's next segment: seq shifted by +7. */
    p = build(&o, 1022, 5029, "LIST\r\n", &fl);
    cr_assert_eq(ftp(&tc, &s, p, &fl, false), 0);
    cr_assert_eq(seq_of(p), 1029);
    cr_assert_eq(ack_of(p), 5029);
    verify(p);
    dp_packet_delete(p);

    /* A retransmission of the PORT segment: same rewrite, same seq, no
     * second shift. */
    p = build(&o, 1000, 5000, "PORT 10,0,0,1,156,65\r\n", &fl);
    cr_assert_eq(ftp(&tc, &s, p, &fl, false), 0);
    expect_payload(p, "PORT 192,168,100,200,156,65\r\n");
    cr_assert_eq(seq_of(p), 1000);
    verify(p);
    dp_packet_delete(p);
    p = build(&o, 1028, 5029, "QUIT\r\n", &fl);
    cr_assert_eq(ftp(&tc, &s, p, &fl, false), 0);
    cr_assert_eq(seq_of(p), 1035);
    verify(p);
    dp_packet_delete(p);

    /* A second PORT (another client port, the same growth): the
     * offsets accumulate. */
    p = build(&o, 1034, 5029, "PORT 10,0,0,1,156,66\r\n", &fl);
    cr_assert_eq(ftp(&tc, &s, p, &fl, false), 0);
    cr_assert_eq(seq_of(p), 1041);
    verify(p);
    dp_packet_delete(p);
    p = build(&o, 1056, 5029, "NOOP\r\n", &fl);
    cr_assert_eq(ftp(&tc, &s, p, &fl, false), 0);
    cr_assert_eq(seq_of(p), 1070);
    verify(p);
    dp_packet_delete(p);
    p = build(&r, 5029, 1070, "200 ok\r\n", &fl);
    cr_assert_eq(ftp(&tc, &s, p, &fl, true), 0);
    cr_assert_eq(ack_of(p), 1056);
    verify(p);
    dp_packet_delete(p);
}

Test(ct_alg, ftp_passive_dnat_rewrites_reply)
{
    /* Client 10.0.0.1 talks to VIP 172.16.0.100, DNATed to 10.1.1.1. */
    struct ct_tuple o = tuple(AF_INET, "10.0.0.1", 40000, "172.16.0.100",
                              21, IPPROTO_TCP);
    struct ct_tuple r = tuple(AF_INET, "10.1.1.1", 21, "10.0.0.1", 40000,
                              IPPROTO_TCP);
    struct ct_tuple want = tuple(AF_INET, "10.0.0.1", 0, "172.16.0.100",
                                 5001, IPPROTO_TCP);
    struct test_conn tc;
    struct sink s = { .n = 0 };
    struct flow fl;
    struct dp_packet *p;

    conn_init(&tc, &o, &r, CT_ALG_FTP);
    p = build(&r, 7000, 300, "227 Entering Passive Mode (10,1,1,1,19,137)\r\n",
              &fl);
    cr_assert_eq(ftp(&tc, &s, p, &fl, true), 0);
    expect_payload(p, "227 Entering Passive Mode (172,16,0,100,19,137)\r\n");
    verify(p);
    cr_assert_eq(s.n, 1);
    cr_assert(tuple_eq(&s.exp[0].tuple, &want));
    cr_assert_eq(s.exp[0].nat_flags, CT_NAT_DST);
    struct ct_tuple rev_want = tuple(AF_INET, "10.1.1.1", 5001, "10.0.0.1",
                                     0, IPPROTO_TCP);
    cr_assert(tuple_eq(&s.exp[0].rev, &rev_want));
    dp_packet_delete(p);
    /* The client acks 7000 + 49; the server sent 45. */
    p = build(&o, 300, 7049, "RETR x\r\n", &fl);
    cr_assert_eq(ftp(&tc, &s, p, &fl, false), 0);
    cr_assert_eq(ack_of(p), 7045);
    verify(p);
    dp_packet_delete(p);
    /* The server's next segment: seq + 4. */
    p = build(&r, 7045, 308, "150 ok\r\n", &fl);
    cr_assert_eq(ftp(&tc, &s, p, &fl, true), 0);
    cr_assert_eq(seq_of(p), 7049);
    verify(p);
    dp_packet_delete(p);
}

Test(ct_alg, ftp_passive_snat_expects_translated_client)
{
    struct ct_tuple o = tuple(AF_INET, "10.0.0.1", 40000, "10.9.9.9", 21,
                              IPPROTO_TCP);
    struct ct_tuple r = tuple(AF_INET, "10.9.9.9", 21, "192.168.0.10", 6000,
                              IPPROTO_TCP);
    struct ct_tuple want = tuple(AF_INET, "10.0.0.1", 0, "10.9.9.9", 5001,
                                 IPPROTO_TCP);
    struct ct_tuple rev_want = tuple(AF_INET, "10.9.9.9", 5001,
                                     "192.168.0.10", 0, IPPROTO_TCP);
    struct test_conn tc;
    struct sink s = { .n = 0 };
    struct flow fl;
    const char *text = "227 Entering Passive Mode (10,9,9,9,19,137)\r\n";
    struct dp_packet *p;

    conn_init(&tc, &o, &r, CT_ALG_FTP);
    p = build(&r, 1, 1, text, &fl);
    cr_assert_eq(ftp(&tc, &s, p, &fl, true), 0);
    expect_payload(p, text);
    cr_assert_eq(s.n, 1);
    cr_assert(tuple_eq(&s.exp[0].tuple, &want));
    cr_assert(tuple_eq(&s.exp[0].rev, &rev_want));
    cr_assert_eq(s.exp[0].nat_flags, CT_NAT_SRC);
    dp_packet_delete(p);
}

Test(ct_alg, ftp_eprt_epsv_ipv6)
{
    struct ct_tuple o = tuple(AF_INET6, "fd00::1", 40000, "2001:db8::21",
                              21, IPPROTO_TCP);
    struct ct_tuple r = tuple(AF_INET6, "2001:db8::21", 21,
                              "2001:db8:ffff::1234", 40000, IPPROTO_TCP);
    struct ct_tuple want = tuple(AF_INET6, "2001:db8::21", 0,
                                 "2001:db8:ffff::1234", 40001,
                                 IPPROTO_TCP);
    struct ct_tuple want_pasv = tuple(AF_INET6, "fd00::1", 0,
                                      "2001:db8::21", 6446, IPPROTO_TCP);
    struct test_conn tc;
    struct sink s = { .n = 0 };
    struct flow fl;
    struct dp_packet *p;

    conn_init(&tc, &o, &r, CT_ALG_FTP);
    p = build(&o, 10, 20, "EPRT |2|fd00::1|40001|\r\n", &fl);
    cr_assert_eq(ftp(&tc, &s, p, &fl, false), 0);
    expect_payload(p, "EPRT |2|2001:db8:ffff::1234|40001|\r\n");
    verify(p);
    cr_assert_eq(s.n, 1);
    cr_assert(tuple_eq(&s.exp[0].tuple, &want));
    dp_packet_delete(p);

    p = build(&r, 20, 46, "229 Entering Extended Passive Mode (|||6446|)\r\n",
              &fl);
    cr_assert_eq(ftp(&tc, &s, p, &fl, true), 0);
    cr_assert_eq(ack_of(p), 10 + 24, "ack shifted back by 12");
    verify(p);
    cr_assert_eq(s.n, 2);
    cr_assert(tuple_eq(&s.exp[1].tuple, &want_pasv));
    cr_assert_eq(s.exp[1].nat_flags, CT_NAT_SRC);
    dp_packet_delete(p);
}

Test(ct_alg, ftp_eprt_ipv4_no_nat)
{
    struct ct_tuple o = tuple(AF_INET, "10.0.0.1", 40000, "10.9.9.9", 21,
                              IPPROTO_TCP);
    struct ct_tuple want = tuple(AF_INET, "10.9.9.9", 0, "10.0.0.1", 2000,
                                 IPPROTO_TCP);
    struct test_conn tc;
    struct sink s = { .n = 0 };
    struct flow fl;
    struct dp_packet *p = build(&o, 1, 1, "eprt |1|10.0.0.1|2000|\r\n", &fl);

    conn_init(&tc, &o, NULL, CT_ALG_FTP);
    cr_assert_eq(ftp(&tc, &s, p, &fl, false), 0);
    cr_assert_eq(s.n, 1);
    cr_assert(tuple_eq(&s.exp[0].tuple, &want));
    dp_packet_delete(p);
}

Test(ct_alg, ftp_rewrite_with_partial_checksum)
{
    struct ct_tuple o = tuple(AF_INET, "10.0.0.1", 40000, "10.9.9.9", 21,
                              IPPROTO_TCP);
    struct ct_tuple r = tuple(AF_INET, "10.9.9.9", 21, "192.168.100.200",
                              40000, IPPROTO_TCP);
    struct test_conn tc;
    struct sink s = { .n = 0 };
    struct flow fl;
    struct dp_packet *p = build(&o, 1000, 1, "PORT 10,0,0,1,156,65\r\n", &fl);
    uint8_t *l4 = dp_packet_l4(p);
    uint16_t v, want;

    p->ofl.flags = DP_OFL_CSUM_PARTIAL;
    p->ofl.csum_start = p->l4_ofs;
    p->ofl.csum_offset = 16;
    conn_init(&tc, &o, &r, CT_ALG_FTP);
    cr_assert_eq(ftp(&tc, &s, p, &fl, false), 0);
    want = csum_fold(csum_pseudo_ipv4(o.src.ipv4, o.dst.ipv4, IPPROTO_TCP,
                                      dp_packet_l4_size(p)));
    memcpy(&v, l4 + 16, 2);
    cr_assert_eq(v, want, "pseudo-header sum for the new length");
    dp_packet_delete(p);
}

Test(ct_alg, ftp_no_tailroom_is_an_error)
{
    struct ct_tuple o = tuple(AF_INET, "10.0.0.1", 40000, "10.9.9.9", 21,
                              IPPROTO_TCP);
    struct ct_tuple r = tuple(AF_INET, "10.9.9.9", 21, "192.168.100.200",
                              40000, IPPROTO_TCP);
    struct test_conn tc;
    struct sink s = { .n = 0 };
    struct flow fl;
    struct dp_packet *q = build(&o, 1000, 1, "PORT 10,0,0,1,156,65\r\n",
                                &fl);
    struct dp_packet *p = dp_packet_new(dp_packet_size(q));

    dp_packet_put(p, dp_packet_data(q), dp_packet_size(q));
    flow_extract(p, &fl);
    conn_init(&tc, &o, &r, CT_ALG_FTP);
    if (dp_packet_tailroom(p) < 7) {
        cr_assert_eq(ftp(&tc, &s, p, &fl, false), -ENOSPC);
        cr_assert_eq(memcmp(dp_packet_data(p), dp_packet_data(q),
                            dp_packet_size(q)), 0, "packet untouched");
    }
    dp_packet_delete(p);
    dp_packet_delete(q);
}

/* ---- FTP with NAT: SACK blocks --------------------------------------- */

/* The 32-bit value at byte 'ofs' of the TCP header. */
static uint32_t
tcp_u32(const struct dp_packet *p, uint32_t ofs)
{
    uint32_t v;

    memcpy(&v, (const uint8_t *) dp_packet_l4(p) + ofs, 4);
    return ntohl(v);
}

static void
put_be32(uint8_t *b, uint32_t v)
{
    b[0] = v >> 24;
    b[1] = v >> 16;
    b[2] = v >> 8;
    b[3] = v;
}

/* SACK option at 'o' with 'n' blocks (start, end pairs in 'edges');
 * returns its length. */
static uint32_t
put_sack(uint8_t *o, const uint32_t *edges, int n)
{
    o[0] = 5;
    o[1] = 2 + 8 * n;
    for (int i = 0; i < 2 * n; i++) {
        put_be32(o + 2 + 4 * i, edges[i]);
    }
    return o[1];
}

Test(ct_alg, ftp_sack_blocks_follow_the_ack)
{
    /* Active mode, client SNATed: the PORT text grows by 7 at seq 1000,
     * so the server's view of the client's data is 7 bytes ahead after
     * it.  Its acks and SACK edges go back by 7; edges at or before the
     * adjustment point stay. */
    struct ct_tuple o = tuple(AF_INET, "10.0.0.1", 40000, "10.9.9.9", 21,
                              IPPROTO_TCP);
    struct ct_tuple r = tuple(AF_INET, "10.9.9.9", 21, "192.168.100.200",
                              40000, IPPROTO_TCP);
    static const uint32_t three[] = { 900, 950, 1000, 1029, 1100, 1200 };
    static const uint32_t three_want[] = { 900, 950, 1000, 1022, 1093,
                                           1193 };
    static const uint32_t one[] = { 1029, 1129 };
    static const uint32_t client[] = { 5100, 5200 };
    struct test_conn tc;
    struct sink s = { .n = 0 };
    uint8_t opts[40];
    struct flow fl;
    struct dp_packet *p;
    uint32_t n;

    conn_init(&tc, &o, &r, CT_ALG_FTP);
    p = build(&o, 1000, 5000, "PORT 10,0,0,1,156,65\r\n", &fl);
    cr_assert_eq(ftp(&tc, &s, p, &fl, false), 0);
    expect_payload(p, "PORT 192,168,100,200,156,65\r\n");
    dp_packet_delete(p);

    /* NOP, SACK with three blocks, EOL: the edges sit at odd offsets
     * (23, 27, ...) of the TCP header, so the incremental checksum
     * update must handle byte-swapped words. */
    memset(opts, 0, sizeof opts);
    opts[0] = 1;
    n = 1 + put_sack(opts + 1, three, 3);
    opts[n++] = 0;
    cr_assert_eq(n, 28);
    p = build_opts(&r, 5000, 1029, opts, n, "200 ok\r\n", &fl);
    cr_assert_eq(ftp(&tc, &s, p, &fl, true), 0);
    cr_assert_eq(ack_of(p), 1022);
    for (int i = 0; i < 6; i++) {
        cr_assert_eq(tcp_u32(p, 23 + 4 * i), three_want[i],
                     "edge %d: %u, want %u", i, tcp_u32(p, 23 + 4 * i),
                     three_want[i]);
    }
    verify(p);
    dp_packet_delete(p);

    /* NOP, NOP, SACK with one block: even offsets. */
    memset(opts, 0, sizeof opts);
    opts[0] = opts[1] = 1;
    n = 2 + put_sack(opts + 2, one, 1);
    p = build_opts(&r, 5008, 1029, opts, n, "", &fl);
    cr_assert_eq(ftp(&tc, &s, p, &fl, true), 0);
    cr_assert_eq(tcp_u32(p, 24), 1022);
    cr_assert_eq(tcp_u32(p, 28), 1122);
    verify(p);
    dp_packet_delete(p);

    /* The client's SACK blocks acknowledge the server's data, which was
     * never resized: untouched, however far past the point they are;
     * its seq moves as before. */
    memset(opts, 0, sizeof opts);
    opts[0] = opts[1] = 1;
    n = 2 + put_sack(opts + 2, client, 1);
    p = build_opts(&o, 1022, 5008, opts, n, "NOOP\r\n", &fl);
    cr_assert_eq(ftp(&tc, &s, p, &fl, false), 0);
    cr_assert_eq(seq_of(p), 1029);
    cr_assert_eq(tcp_u32(p, 24), 5100);
    cr_assert_eq(tcp_u32(p, 28), 5200);
    expect_payload(p, "NOOP\r\n");
    verify(p);
    dp_packet_delete(p);
}

Test(ct_alg, ftp_sack_in_a_rewritten_segment)
{
    /* Both ends translated: the server's 227 grows by 4 at seq 7000;
     * then the client's PORT (rewritten itself, +7) carries SACK blocks
     * for the server's data, adjusted in the same pass. */
    struct ct_tuple o = tuple(AF_INET, "10.0.0.1", 40000, "172.16.0.100",
                              21, IPPROTO_TCP);
    struct ct_tuple r = tuple(AF_INET, "10.1.1.1", 21, "192.168.100.200",
                              40000, IPPROTO_TCP);
    static const uint32_t edges[] = { 6000, 7000, 7049, 7100 };
    struct test_conn tc;
    struct sink s = { .n = 0 };
    uint8_t opts[40];
    struct flow fl;
    struct dp_packet *p;
    uint32_t n;

    conn_init(&tc, &o, &r, CT_ALG_FTP);
    p = build(&r, 7000, 300, "227 Entering Passive Mode (10,1,1,1,19,137)\r\n",
              &fl);
    cr_assert_eq(ftp(&tc, &s, p, &fl, true), 0);
    expect_payload(p, "227 Entering Passive Mode (172,16,0,100,19,137)\r\n");
    verify(p);
    dp_packet_delete(p);

    memset(opts, 0, sizeof opts);
    opts[0] = opts[1] = 1;
    n = 2 + put_sack(opts + 2, edges, 2);
    cr_assert_eq(n, 20);
    p = build_opts(&o, 300, 7049, opts, n, "PORT 10,0,0,1,156,65\r\n", &fl);
    cr_assert_eq(ftp(&tc, &s, p, &fl, false), 0);
    expect_payload(p, "PORT 192,168,100,200,156,65\r\n");
    cr_assert_eq(seq_of(p), 300);
    cr_assert_eq(ack_of(p), 7045);
    cr_assert_eq(tcp_u32(p, 24), 6000);
    cr_assert_eq(tcp_u32(p, 28), 7000);
    cr_assert_eq(tcp_u32(p, 32), 7045);
    cr_assert_eq(tcp_u32(p, 36), 7096);
    verify(p);
    dp_packet_delete(p);
}

Test(ct_alg, ftp_sack_malformed_options_left_alone)
{
    struct ct_tuple o = tuple(AF_INET, "10.0.0.1", 40000, "10.9.9.9", 21,
                              IPPROTO_TCP);
    struct ct_tuple r = tuple(AF_INET, "10.9.9.9", 21, "192.168.100.200",
                              40000, IPPROTO_TCP);
    static const uint32_t one[] = { 1100, 1200 };
    struct test_conn tc;
    struct sink s = { .n = 0 };
    uint8_t opts[40];
    struct flow fl;
    struct dp_packet *p;

    conn_init(&tc, &o, &r, CT_ALG_FTP);
    p = build(&o, 1000, 5000, "PORT 10,0,0,1,156,65\r\n", &fl);
    cr_assert_eq(ftp(&tc, &s, p, &fl, false), 0);
    dp_packet_delete(p);

    /* A SACK option whose length runs past the header. */
    memset(opts, 0, sizeof opts);
    put_sack(opts, one, 1);
    opts[1] = 34;
    p = build_opts(&r, 5000, 1029, opts, 12, "", &fl);
    cr_assert_eq(ftp(&tc, &s, p, &fl, true), 0);
    cr_assert_eq(ack_of(p), 1022, "the ack is still adjusted");
    cr_assert_eq(tcp_u32(p, 22), 1100);
    verify(p);
    dp_packet_delete(p);

    /* An option of length 0 before it: the walk stops there. */
    memset(opts, 0, sizeof opts);
    opts[0] = 8;
    opts[1] = 0;
    put_sack(opts + 2, one, 1);
    p = build_opts(&r, 5000, 1029, opts, 12, "", &fl);
    cr_assert_eq(ftp(&tc, &s, p, &fl, true), 0);
    cr_assert_eq(tcp_u32(p, 24), 1100);
    verify(p);
    dp_packet_delete(p);

    /* A SACK length that is not 2 + 8n. */
    memset(opts, 0, sizeof opts);
    put_sack(opts, one, 1);
    opts[1] = 12;
    p = build_opts(&r, 5000, 1029, opts, 12, "", &fl);
    cr_assert_eq(ftp(&tc, &s, p, &fl, true), 0);
    cr_assert_eq(tcp_u32(p, 22), 1100);
    verify(p);
    dp_packet_delete(p);
}

/* ---- TFTP ------------------------------------------------------------ */

static int
tftp(struct test_conn *tc, struct sink *s, struct dp_packet *p,
     struct flow *fl, bool reply)
{
    struct ct_alg_call c = {
        .expect = sink_add, .aux = s, .pkt = p, .flow = fl,
        .conn = &tc->conn, .reply = reply, .now_ms = 1000,
    };

    return ct_alg_tftp_handle(&c);
}

Test(ct_alg, tftp_expectation)
{
    struct ct_tuple o = tuple(AF_INET, "10.0.0.1", 40000, "10.9.9.9", 69,
                              IPPROTO_UDP);
    struct ct_tuple want = tuple(AF_INET, "10.9.9.9", 0, "10.0.0.1", 40000,
                                 IPPROTO_UDP);
    struct test_conn tc;
    struct sink s = { .n = 0 };
    struct flow fl;
    struct dp_packet *p = build(&o, 0, 0, "\x00\x01" "file\0octet", &fl);

    conn_init(&tc, &o, NULL, CT_ALG_TFTP);
    cr_assert_eq(tftp(&tc, &s, p, &fl, false), 0);
    cr_assert_eq(s.n, 1);
    cr_assert(tuple_eq(&s.exp[0].tuple, &want));
    cr_assert_not(s.exp[0].nat);
    cr_assert_eq(s.exp[0].alg, CT_ALG_TFTP);
    cr_assert_eq(s.exp[0].mark, 0x42);
    /* Reply-direction packets expect nothing. */
    cr_assert_eq(tftp(&tc, &s, p, &fl, true), 0);
    cr_assert_eq(s.n, 1);
    /* A full table does not make the request invalid. */
    s.ret = -ENOSPC;
    cr_assert_eq(tftp(&tc, &s, p, &fl, false), 0);
    dp_packet_delete(p);
}

Test(ct_alg, tftp_expectation_with_snat)
{
    struct ct_tuple o = tuple(AF_INET, "10.0.0.1", 40000, "10.9.9.9", 69,
                              IPPROTO_UDP);
    struct ct_tuple r = tuple(AF_INET, "10.9.9.9", 69, "192.168.0.10", 5000,
                              IPPROTO_UDP);
    struct ct_tuple want = tuple(AF_INET, "10.9.9.9", 0, "192.168.0.10",
                                 5000, IPPROTO_UDP);
    struct ct_tuple rev_want = tuple(AF_INET, "10.0.0.1", 40000,
                                     "10.9.9.9", 0, IPPROTO_UDP);
    struct test_conn tc;
    struct sink s = { .n = 0 };
    struct flow fl;
    struct dp_packet *p = build(&o, 0, 0, "\x00\x01" "f\0octet", &fl);

    conn_init(&tc, &o, &r, CT_ALG_TFTP);
    cr_assert_eq(tftp(&tc, &s, p, &fl, false), 0);
    cr_assert_eq(s.n, 1);
    cr_assert(tuple_eq(&s.exp[0].tuple, &want));
    cr_assert(tuple_eq(&s.exp[0].rev, &rev_want));
    cr_assert_eq(s.exp[0].nat_flags, CT_NAT_DST);
    dp_packet_delete(p);
}

/* ---- Format ---------------------------------------------------------- */

Test(ct_alg, format_expectation)
{
    struct ct_tuple o = tuple(AF_INET, "10.0.0.1", 40000, "10.9.9.9", 21,
                              IPPROTO_TCP);
    struct ct_tuple r = tuple(AF_INET, "10.9.9.9", 21, "192.168.0.10",
                              40000, IPPROTO_TCP);
    struct test_conn tc;
    struct ct_expectation e;
    struct ds s = DS_EMPTY_INITIALIZER;

    conn_init(&tc, &o, &r, CT_ALG_FTP);
    ct_alg_expectation_init(&e, &tc.conn, false, IPPROTO_TCP, htons(2000),
                            htons(2000));
    ct_alg_format_expectation(&s, &e, 299);
    cr_assert_str_eq(ds_cstr(&s),
        "tcp,orig=(src=10.9.9.9,dst=192.168.0.10,sport=0,dport=2000),"
        "reply=(src=10.0.0.1,dst=10.9.9.9,sport=2000,dport=0),"
        "parent=(src=10.0.0.1,dst=10.9.9.9,sport=40000,dport=21),"
        "zone=3,mark=66,labels=0x10000000000000abc,helper=ftp,nat=dst,"
        "timeout=299");
    ds_destroy(&s);
}

/* ---- Through the conntrack core -------------------------------------- */

static struct conntrack *
core_create(void)
{
    struct conntrack_config cfg;

    conntrack_config_init(&cfg);
    cfg.max_conns = 1024;
    cfg.n_stripes = 4;
    return conntrack_create(&cfg);
}

static void
core_exec(struct conntrack *ct, struct dp_packet *p, struct flow *fl,
          const struct ct_exec_args *a, long long now)
{
    struct flow *fls[1] = { fl };

    conntrack_execute(ct, &p, fls, 1, a, now);
}

static uint16_t
l4_port(const struct dp_packet *p, int which)
{
    uint16_t v;

    memcpy(&v, (const uint8_t *) dp_packet_l4(p) + 2 * which, 2);
    return ntohs(v);
}

Test(ct_alg_core, tftp_snat_related_transfer)
{
    struct conntrack *ct = core_create();
    struct ct_nat_action snat;
    struct ct_nat_action bare;
    struct ct_tuple c = tuple(AF_INET, "10.0.0.1", 40000, "10.9.9.9", 69,
                              IPPROTO_UDP);
    struct ct_exec_args parent = {
        .zone = 3, .commit = true, .mark = 5, .mark_mask = ~0u,
        .nat = &snat, .helper = CT_ALG_TFTP,
    };
    struct ct_exec_args data = { .zone = 3, .commit = true, .nat = &bare };
    struct flow fl;
    struct dp_packet *p;
    uint32_t src, dst;

    memset(&snat, 0, sizeof snat);
    snat.flags = CT_NAT_SRC | CT_NAT_RANGE_ADDR;
    snat.family = AF_INET;
    ip_parse("192.168.0.10", &snat.min_addr.ipv4);
    snat.max_addr = snat.min_addr;
    memset(&bare, 0, sizeof bare);

    p = build(&c, 0, 0, "RRQ", &fl);
    core_exec(ct, p, &fl, &parent, 1000);
    cr_assert_eq(fl.ct_state, CS_TRACKED | CS_NEW | CS_SRC_NAT);
    cr_assert_eq(fl.nw_src, snat.min_addr.ipv4);
    dp_packet_delete(p);

    /* The server answers from a new port to the translated client. */
    struct ct_tuple s = tuple(AF_INET, "10.9.9.9", 50000, "192.168.0.10",
                              40000, IPPROTO_UDP);

    p = build(&s, 0, 0, "DATA", &fl);
    core_exec(ct, p, &fl, &data, 1001);
    cr_assert_eq(fl.ct_state & (CS_NEW | CS_RELATED | CS_TRACKED),
                 CS_NEW | CS_RELATED | CS_TRACKED);
    cr_assert_eq(fl.ct_mark, 5, "inherits the parent's mark");
    memcpy(&src, (uint8_t *) dp_packet_l3(p) + 12, 4);
    memcpy(&dst, (uint8_t *) dp_packet_l3(p) + 16, 4);
    cr_assert_eq(src, s.src.ipv4);
    cr_assert_eq(dst, c.src.ipv4, "translated back to the client");
    cr_assert_eq(l4_port(p, 0), 50000, "server port untouched");
    cr_assert_eq(l4_port(p, 1), 40000);
    verify(p);
    dp_packet_delete(p);

    /* The client's acknowledgement goes back through the same NAT. */
    struct ct_tuple ack = tuple(AF_INET, "10.0.0.1", 40000, "10.9.9.9",
                                50000, IPPROTO_UDP);
    struct ct_exec_args track = { .zone = 3, .nat = &bare };

    p = build(&ack, 0, 0, "ACK", &fl);
    core_exec(ct, p, &fl, &track, 1002);
    cr_assert(fl.ct_state & CS_ESTABLISHED, "state %#x", fl.ct_state);
    cr_assert(fl.ct_state & CS_REPLY_DIR);
    memcpy(&src, (uint8_t *) dp_packet_l3(p) + 12, 4);
    cr_assert_eq(src, snat.min_addr.ipv4);
    cr_assert_eq(l4_port(p, 0), 40000);
    cr_assert_eq(l4_port(p, 1), 50000);
    verify(p);
    dp_packet_delete(p);
    conntrack_destroy(ct);
}
