/* Unit tests for ct-snapshot.c: round trips of a populated tracker,
 * compared field by field; corruption at every byte and truncation at
 * every length detected; versions; timeouts across the gap; TCP windows
 * re-learned after a non-final snapshot. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
#include "crc32c.h"
#include "errors.h"
#include "test-ct-pkt.h"

static const struct ct_exec_args track1 = { .zone = 1 };

/* A scratch directory, removed by the fixture's teardown. */
static char tmpdir[64];

static void
setup_dir(void)
{
    strcpy(tmpdir, "/tmp/ts-ct-snap-XXXXXX");
    cr_assert(mkdtemp(tmpdir));
}

static void
teardown_dir(void)
{
    char cmd[128];

    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    cr_assert_eq(system(cmd), 0);
}

static char *
tpath(const char *name)
{
    return xasprintf("%s/%s", tmpdir, name);
}

static uint8_t *
read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf;
    long n;

    cr_assert(f, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = xmalloc(n + 1);
    cr_assert_eq(fread(buf, 1, n, f), (size_t) n);
    fclose(f);
    *len = n;
    return buf;
}

static void
write_all(const char *path, const uint8_t *buf, size_t len)
{
    FILE *f = fopen(path, "wb");

    cr_assert(f);
    cr_assert_eq(fwrite(buf, 1, len, f), len);
    cr_assert_eq(fclose(f), 0);
}

/* TCP handshake a -> b, then 'n' data segments each way. */
static void
tcp_open(struct conntrack *ct, const struct ct_exec_args *commit,
         const struct ct_exec_args *track, const char *a, const char *b,
         uint16_t sport, uint16_t dport, long long now)
{
    cr_assert_eq(tct1(ct, tpkt_tcp4(a, b, sport, dport, TCP_SYN, 1000, 0,
                                    65535, 0, 7), commit, now), ST_NEW);
    cr_assert_eq(tct1(ct, tpkt_tcp4(b, a, dport, sport, TCP_SYN | TCP_ACK,
                                    5000, 1001, 65535, 0, 7), track, now),
                 ST_RPL);
    cr_assert_eq(tct1(ct, tpkt_tcp4(a, b, sport, dport, TCP_ACK, 1001,
                                    5001, 512, 100, -1), track, now),
                 ST_EST);
    cr_assert_eq(tct1(ct, tpkt_tcp4(b, a, dport, sport, TCP_ACK, 5001,
                                    1101, 512, 200, -1), track, now),
                 ST_RPL);
}

/* Every kind of entry a snapshot must carry. */
static void
populate(struct conntrack *ct, long long now)
{
    struct ct_exec_args c1 = { .zone = 1, .commit = true,
                               .mark = 0x55, .mark_mask = 0xff,
                               .label = { 0x1234, 0xabcd },
                               .label_mask = { ~0ull, ~0ull } };
    struct ct_exec_args c2 = { .zone = 2, .commit = true };
    struct ct_nat_action nat = { .flags = CT_NAT_SRC | CT_NAT_RANGE_ADDR,
                                 .family = AF_INET };
    struct ct_exec_args cnat = { .zone = 1, .commit = true, .nat = &nat };
    struct ct_exec_args cftp = { .zone = 3, .commit = true,
                                 .helper = CT_ALG_FTP };
    struct ct_exec_args t3 = { .zone = 3 };
    struct ct_exec_args t2 = { .zone = 2 };

    nat.min_addr.ipv4 = nat.max_addr.ipv4 = tip4("192.168.1.1");
    /* Established TCP with mark and label, zone 1. */
    tcp_open(ct, &c1, &track1, "10.0.0.1", "10.0.0.2", 40000, 80, now);
    /* Half-open TCP, zone 2. */
    cr_assert_eq(tct1(ct, tpkt_tcp4("10.0.0.3", "10.0.0.2", 40001, 80,
                                    TCP_SYN, 77, 0, 1000, 0, 2), &c2, now),
                 ST_NEW);
    /* SNAT UDP, zone 1. */
    cr_assert_eq(tct1(ct, tpkt_udp4("10.0.0.1", "10.0.0.9", 1000, 53, 4),
                      &cnat, now), ST_NEW | CS_SRC_NAT);
    /* ICMP echo, UDP over IPv6, SCTP, other, zone 2. */
    cr_assert_eq(tct1(ct, tpkt_icmp4("10.0.0.1", "10.0.0.2", 8, 7), &c2,
                      now), ST_NEW);
    cr_assert_eq(tct1(ct, tpkt_udp6("fd00::1", "fd00::2", 5000, 6000, 8),
                      &c2, now), ST_NEW);
    cr_assert_eq(tct1(ct, tpkt_udp6("fd00::2", "fd00::1", 6000, 5000, 8),
                      &t2, now), ST_RPL);
    cr_assert_eq(tct1(ct, tpkt_sctp4("10.0.0.1", "10.0.0.2", 7, 8, 1, 0),
                      &c2, now), ST_NEW);
    cr_assert_eq(tct1(ct, tpkt_proto4("10.0.0.1", "10.0.0.2", 47), &c2,
                      now), ST_NEW);
    /* FTP control connection with its helper, zone 3, an expectation
     * it owns, and a data connection created from another one. */
    tcp_open(ct, &cftp, &t3, "10.0.0.1", "10.0.0.2", 40002, 21, now);

    struct ct_tuple ctl;
    struct ct_expectation e;
    uint32_t parent_id = 0;
    struct ct_dump_cursor cur;
    struct ct_entry ent[16];
    uint16_t z3 = 3;

    conntrack_dump_start(&cur, &z3);
    while (!cur.done) {
        size_t n = conntrack_dump_next(ct, &cur, ent, 16, now);
        for (size_t i = 0; i < n; i++) {
            if (ent[i].helper == CT_ALG_FTP) {
                parent_id = ent[i].id;
                ctl = ent[i].orig;
            }
        }
    }
    cr_assert(parent_id);
    memset(&e, 0, sizeof e);
    e.tuple.family = AF_INET;
    e.tuple.nw_proto = IPPROTO_TCP;
    e.tuple.zone = 3;
    e.tuple.src.ipv4 = tip4("10.0.0.2");
    e.tuple.dst.ipv4 = tip4("10.0.0.1");
    e.tuple.dst_port = htons(5001);
    e.parent = ctl;
    e.parent_id = parent_id;
    e.mark = 9;
    e.label[1] = 3;
    e.alg = CT_ALG_FTP;
    cr_assert_eq(ct_expect_add(ct, &e, 30000, now), 0);
    /* Matched by a commit: a data connection with a parent. */
    cr_assert_eq(tct1(ct, tpkt_tcp4("10.0.0.2", "10.0.0.1", 20, 5001,
                                    TCP_SYN, 9, 0, 1000, 0, -1), &cftp,
                      now) & ~CS_RELATED, ST_NEW);
    /* A second one stays pending. */
    e.tuple.dst_port = htons(5002);
    e.nat = true;
    e.nat_flags = CT_NAT_DST;
    e.rev = e.tuple;
    e.rev.src.ipv4 = tip4("10.0.0.7");
    cr_assert_eq(ct_expect_add(ct, &e, 30000, now), 0);
}

/* Every connection of 'ct' (single-threaded test: no locks). */
static size_t
collect(struct conntrack *ct, struct ct_conn **out, size_t max)
{
    size_t n = 0;

    for (uint32_t b = 0; b <= ct->bucket_mask; b++) {
        for (struct ct_node *node = ct->buckets[b]; node;
             node = node->next) {
            if (!node->is_rev) {
                cr_assert_lt(n, max);
                out[n++] = CONTAINER_OF(node, struct ct_conn, node);
            }
        }
    }
    return n;
}

static void
expect_tuple_eq(const struct ct_tuple *a, const struct ct_tuple *b)
{
    cr_assert(ct_tuple_equals(a, b));
    cr_assert_eq(a->icmp_type, b->icmp_type);
    cr_assert_eq(a->icmp_code, b->icmp_code);
}

/* Field by field; expirations relative to each tracker's 'now', the
 * restored one 'shift' ms shorter. */
static void
expect_same_tables(struct conntrack *a, long long now_a,
                   struct conntrack *b, long long now_b, uint32_t shift)
{
    struct ct_conn *ca[64], *cb[64];
    size_t na = collect(a, ca, 64), nb = collect(b, cb, 64);

    cr_assert_eq(na, nb);
    for (size_t i = 0; i < na; i++) {
        const struct ct_conn *x = ca[i], *y = NULL;
        struct ct_tuple tx, ty;

        for (size_t j = 0; j < nb; j++) {
            if (cb[j]->id == x->id) {
                y = cb[j];
            }
        }
        cr_assert(y, "connection %u missing", x->id);
        ct_conn_orig_tuple(x, &tx);
        ct_conn_orig_tuple(y, &ty);
        expect_tuple_eq(&tx, &ty);
        ct_conn_reply_tuple(x, &tx);
        ct_conn_reply_tuple(y, &ty);
        expect_tuple_eq(&tx, &ty);
        cr_assert_eq(x->flags, y->flags);
        cr_assert_eq(x->mark, y->mark);
        cr_assert_eq(x->l4_type, y->l4_type);
        cr_assert_eq(x->l4_state, y->l4_state);
        cr_assert_eq(x->tm, y->tm);
        cr_assert_eq(x->expiration - ct_time(a, now_a) - shift,
                     y->expiration - ct_time(b, now_b));
        cr_assert_eq(memcmp(x->packets, y->packets, sizeof x->packets), 0);
        cr_assert_eq(memcmp(x->bytes, y->bytes, sizeof x->bytes), 0);
        cr_assert_eq(memcmp(&x->l4, &y->l4, sizeof x->l4), 0);
        cr_assert_eq(!x->ext, !y->ext);
        if (x->ext) {
            const struct ct_conn_ext *ex = x->ext, *ey = y->ext;

            cr_assert_eq(ex->label[0], ey->label[0]);
            cr_assert_eq(ex->label[1], ey->label[1]);
            cr_assert_eq(ex->nat_flags, ey->nat_flags);
            cr_assert_eq(ex->alg, ey->alg);
            cr_assert_eq(ex->has_parent, ey->has_parent);
            cr_assert_eq(memcmp(&ex->alg_data, &ey->alg_data,
                                sizeof ex->alg_data), 0);
            if (ex->has_parent) {
                expect_tuple_eq(&ex->parent, &ey->parent);
            }
            if (ex->rev.family) {
                expect_tuple_eq(&ex->rev, &ey->rev);
            }
        }
    }
    for (uint16_t z = 0; z < 8; z++) {
        struct ct_zone_stats za, zb;

        conntrack_get_zone_stats(a, z, &za);
        conntrack_get_zone_stats(b, z, &zb);
        cr_assert_eq(za.count, zb.count, "zone %u", z);
    }
    cr_assert_eq(conntrack_get_nconns(a), conntrack_get_nconns(b));

    /* Expectations: same set. */
    cr_assert_eq(atomic_load(&a->n_exp), atomic_load(&b->n_exp));
    for (const struct ct_expectation *e = a->exp_list; e; e = e->next) {
        const struct ct_expectation *f;

        for (f = b->exp_list; f; f = f->next) {
            if (ct_tuple_equals(&e->tuple, &f->tuple)) {
                break;
            }
        }
        cr_assert(f);
        cr_assert_eq(e->parent_id, f->parent_id);
        cr_assert_eq(e->mark, f->mark);
        cr_assert_eq(e->label[1], f->label[1]);
        cr_assert_eq(e->alg, f->alg);
        cr_assert_eq(e->nat, f->nat);
        cr_assert_eq(e->nat_flags, f->nat_flags);
        expect_tuple_eq(&e->parent, &f->parent);
        if (e->nat) {
            expect_tuple_eq(&e->rev, &f->rev);
        }
        cr_assert_eq(e->expiration - ct_time(a, now_a) - shift,
                     f->expiration - ct_time(b, now_b));
    }
}

TestSuite(ct_snapshot, .init = setup_dir, .fini = teardown_dir);

Test(ct_snapshot, round_trip_field_by_field)
{
    struct conntrack *a = tct_create(), *b = tct_create();
    struct ct_snapshot_info si, li;
    char *path = tpath("ct.snap");
    char *tmp = tpath("ct.snap.tmp");
    char *err = NULL;

    populate(a, 1000);
    cr_assert_eq(conntrack_snapshot_save(a, path, CT_SNAPSHOT_F_FINAL, 2000,
                                         &si, &err), 0, "%s", err);
    cr_assert_eq(si.n_conns, conntrack_get_nconns(a));
    cr_assert_eq(si.n_exps, 1);
    cr_assert(access(tmp, F_OK) < 0, "temporary file left behind");

    /* Loaded 5 s later (same boot: by the monotonic clock). */
    cr_assert_eq(conntrack_snapshot_load(b, path, 7000, &li, &err), 0,
                 "%s", err);
    cr_assert_eq(li.n_restored, si.n_conns);
    cr_assert_eq(li.n_exps_restored, 1);
    cr_assert_eq(li.n_dropped, 0);
    cr_assert_eq(li.age_ms, 5000);
    cr_assert_eq(li.flags, CT_SNAPSHOT_F_FINAL);
    expect_same_tables(a, 2000, b, 7000, 5000);

    /* The restored tracker works: the SNAT reply still translates and
     * the NAT port stays reserved, the established stream goes on, and
     * the pending expectation still matches. */
    struct ct_conn *cs[64];
    size_t n = collect(b, cs, 64);
    struct ct_tuple rev;
    bool found = false;
    for (size_t i = 0; i < n; i++) {
        if (cs[i]->flags & CT_CONN_F_NAT) {
            rev = cs[i]->ext->rev;
            found = true;
        }
    }
    cr_assert(found);
    cr_assert(ct_tuple_in_use(b, &rev));
    struct tpkt *t = tpkt_udp4("10.0.0.9", "192.168.1.1", 53,
                               ntohs(rev.dst_port), 4);
    struct ct_nat_action bare = { 0 };
    struct ct_exec_args nat1 = { .zone = 1, .nat = &bare };
    cr_assert_eq(tct(b, t, &nat1, 7001), ST_RPL | CS_DST_NAT);
    cr_assert_eq(t->f.nw_dst, tip4("10.0.0.1"));
    cr_assert_eq(t->f.tp_dst, htons(1000));
    tpkt_free(t);
    cr_assert_eq(tct1(b, tpkt_tcp4("10.0.0.1", "10.0.0.2", 40000, 80,
                                   TCP_ACK, 1101, 5201, 512, 100, -1),
                      &track1, 7001), ST_EST);
    struct ct_exec_args t3 = { .zone = 3 };
    cr_assert_eq(tct1(b, tpkt_tcp4("10.0.0.2", "10.0.0.1", 20, 5002,
                                   TCP_SYN, 9, 0, 1000, 0, -1), &t3, 7001),
                 ST_NEW | CS_RELATED);
    /* New ids continue after the restored ones. */
    struct ct_exec_args c2 = { .zone = 2, .commit = true };
    cr_assert_eq(tct1(b, tpkt_udp4("10.0.0.5", "10.0.0.6", 1, 2, 0), &c2,
                      7002), ST_NEW);
    struct ct_conn *after[64];
    size_t m = collect(b, after, 64);
    for (size_t i = 0; i < m; i++) {
        for (size_t j = i + 1; j < m; j++) {
            cr_assert_neq(after[i]->id, after[j]->id);
        }
    }

    /* Into a tracker that is not empty: refused, nothing changes. */
    uint32_t before = conntrack_get_nconns(b);
    free(err);
    err = NULL;
    cr_assert_eq(conntrack_snapshot_load(b, path, 7000, NULL, &err), -EBUSY);
    cr_assert_eq(conntrack_get_nconns(b), before);
    free(err);
    free(path);
    free(tmp);
    conntrack_destroy(a);
    conntrack_destroy(b);
}

Test(ct_snapshot, timeouts_and_expiry_across_the_gap)
{
    struct conntrack *a = tct_create(), *b = tct_create();
    struct ct_exec_args c = { .zone = 4, .commit = true };
    struct ct_snapshot_info li;
    char *path = tpath("ct.snap");
    char *err = NULL;

    /* udp_first is 60 s in OVS's defaults; the ICMP conn 60 s too, the
     * half-open TCP 30 s. */
    cr_assert_eq(tct1(a, tpkt_udp4("10.1.0.1", "10.1.0.2", 9, 9, 0), &c, 0),
                 ST_NEW);
    cr_assert_eq(tct1(a, tpkt_tcp4("10.1.0.1", "10.1.0.2", 9, 9, TCP_SYN,
                                   1, 0, 100, 0, -1), &c, 0), ST_NEW);
    cr_assert_eq(conntrack_snapshot_save(a, path, 0, 0, NULL, &err), 0);
    /* 45 s later: the TCP entry (30 s) has expired, the UDP one has 15 s
     * left. */
    cr_assert_eq(conntrack_snapshot_load(b, path, 45000, &li, &err), 0);
    cr_assert_eq(li.n_restored, 1);
    cr_assert_eq(li.n_expired, 1);
    struct ct_conn *cs[4];
    cr_assert_eq(collect(b, cs, 4), 1);
    cr_assert_eq(cs[0]->l4_type, CT_L4_UDP);
    cr_assert_eq(cs[0]->expiration - ct_time(b, 45000), 15000);
    struct ct_zone_stats zs;
    conntrack_get_zone_stats(b, 4, &zs);
    cr_assert_eq(zs.count, 1);
    free(path);
    conntrack_destroy(a);
    conntrack_destroy(b);
}

/* After a periodic (non-final) snapshot the stream has moved on by much
 * more than a window: the first segment each way re-learns it, the
 * connection stays +est and is ESTABLISHED again. */
Test(ct_snapshot, tcp_windows_relearned_after_periodic_snapshot)
{
    struct conntrack *a = tct_create(), *b = tct_create();
    struct ct_exec_args c = { .zone = 1, .commit = true };
    char *path = tpath("ct.snap");
    char *err = NULL;

    tcp_open(a, &c, &track1, "10.0.0.1", "10.0.0.2", 40000, 80, 0);
    cr_assert_eq(conntrack_snapshot_save(a, path, 0, 0, NULL, &err), 0);
    cr_assert_eq(conntrack_snapshot_load(b, path, 10, NULL, &err), 0);

    /* 300 MB later in both directions. */
    uint32_t s1 = 1101 + 300000000u, s2 = 5201 + 300000000u;
    cr_assert_eq(tct1(b, tpkt_tcp4("10.0.0.1", "10.0.0.2", 40000, 80,
                                   TCP_ACK, s1, s2, 512, 1000, -1),
                      &track1, 20), ST_EST);
    cr_assert_eq(tct1(b, tpkt_tcp4("10.0.0.2", "10.0.0.1", 80, 40000,
                                   TCP_ACK, s2, s1 + 1000, 512, 1000, -1),
                      &track1, 20), ST_RPL);
    cr_assert_eq(tct1(b, tpkt_tcp4("10.0.0.1", "10.0.0.2", 40000, 80,
                                   TCP_ACK, s1 + 1000, s2 + 1000, 512, 1000,
                                   -1), &track1, 30), ST_EST);
    struct ct_conn *cs[4];
    cr_assert_eq(collect(b, cs, 4), 1);
    cr_assert_eq(cs[0]->l4.tcp.state[0], CT_TCPS_ESTABLISHED);
    cr_assert_eq(cs[0]->l4.tcp.state[1], CT_TCPS_ESTABLISHED);
    /* ... and the window is enforced again: far beyond it is invalid. */
    cr_assert_eq(tct1(b, tpkt_tcp4("10.0.0.1", "10.0.0.2", 40000, 80,
                                   TCP_ACK, s1 + 900000000u, s2 + 1000, 512,
                                   10, -1), &track1, 40), ST_INV);

    /* The same from a final snapshot keeps the exact windows: the
     * far-ahead segment is refused at once. */
    struct conntrack *d = tct_create();
    cr_assert_eq(conntrack_snapshot_save(a, path, CT_SNAPSHOT_F_FINAL, 0,
                                         NULL, &err), 0);
    cr_assert_eq(conntrack_snapshot_load(d, path, 10, NULL, &err), 0);
    cr_assert_eq(tct1(d, tpkt_tcp4("10.0.0.1", "10.0.0.2", 40000, 80,
                                   TCP_ACK, s1, s2, 512, 1000, -1),
                      &track1, 20), ST_INV);
    free(path);
    conntrack_destroy(a);
    conntrack_destroy(b);
    conntrack_destroy(d);
}

/* A small snapshot in memory. */
static uint8_t *
small_snapshot(size_t *len)
{
    struct conntrack *a = tct_create();
    struct ct_nat_action nat = { .flags = CT_NAT_SRC | CT_NAT_RANGE_ADDR,
                                 .family = AF_INET };
    struct ct_exec_args cnat = { .zone = 1, .commit = true, .nat = &nat,
                                 .label = { 1, 2 },
                                 .label_mask = { 3, 3 } };
    char *path = tpath("small.snap");
    char *err = NULL;
    uint8_t *buf;

    nat.min_addr.ipv4 = nat.max_addr.ipv4 = tip4("192.168.1.1");
    cr_assert_eq(tct1(a, tpkt_udp4("10.0.0.1", "10.0.0.9", 1000, 53, 4),
                      &cnat, 0), ST_NEW | CS_SRC_NAT);
    cr_assert_eq(conntrack_snapshot_save(a, path, 0, 0, NULL, &err), 0);
    buf = read_all(path, len);
    free(path);
    conntrack_destroy(a);
    return buf;
}

Test(ct_snapshot, corruption_at_every_byte_detected)
{
    struct conntrack *b = tct_create();
    size_t len;
    uint8_t *buf = small_snapshot(&len);

    cr_assert_eq(conntrack_snapshot_load_buf(b, buf, len, 0, NULL, NULL), 0);
    cr_assert_eq(conntrack_get_nconns(b), 1);
    conntrack_flush(b, NULL, 0);
    for (size_t i = 0; i < len; i++) {
        static const uint8_t flips[] = { 0x01, 0x80, 0xff };

        for (size_t k = 0; k < ARRAY_SIZE(flips); k++) {
            char *err = NULL;
            int r;

            buf[i] ^= flips[k];
            r = conntrack_snapshot_load_buf(b, buf, len, 0, NULL, &err);
            buf[i] ^= flips[k];
            cr_assert(r == -TS_ERR_STORE || r == -TS_ERR_VERSION,
                      "flip 0x%02x at byte %zu of %zu not detected (%d)",
                      flips[k], i, len, r);
            cr_assert(err && *err);
            cr_assert_eq(conntrack_get_nconns(b), 0);
            cr_assert_eq(atomic_load(&b->n_exp), 0);
            free(err);
        }
    }
    free(buf);
    conntrack_destroy(b);
}

Test(ct_snapshot, truncation_at_every_length_detected)
{
    struct conntrack *b = tct_create();
    size_t len;
    uint8_t *buf = small_snapshot(&len);

    for (size_t n = 0; n < len; n++) {
        char *err = NULL;
        uint8_t *copy = xmemdup(buf, n ? n : 1);   /* exact size: ASan */

        cr_assert_eq(conntrack_snapshot_load_buf(b, copy, n, 0, NULL, &err),
                     -TS_ERR_STORE, "truncation to %zu bytes", n);
        cr_assert(err && *err);
        cr_assert_eq(conntrack_get_nconns(b), 0);
        free(err);
        free(copy);
    }
    /* Torn file on disk: same, through the file path; also empty. */
    char *path = tpath("torn.snap");
    char *err = NULL;
    write_all(path, buf, len / 2);
    cr_assert_eq(conntrack_snapshot_load(b, path, 0, NULL, &err),
                 -TS_ERR_STORE);
    cr_assert(strstr(err, "torn.snap"), "%s", err);
    free(err);
    err = NULL;
    write_all(path, buf, 0);
    cr_assert_eq(conntrack_snapshot_load(b, path, 0, NULL, &err),
                 -TS_ERR_STORE);
    free(err);
    err = NULL;
    cr_assert_eq(conntrack_snapshot_load(b, "/nonexistent/x.ct", 0, NULL,
                                         &err), -ENOENT);
    free(err);
    free(path);
    free(buf);
    conntrack_destroy(b);
}

/* Rewrites the trailer of a modified snapshot so that it verifies. */
static void
reseal(uint8_t *buf, size_t len)
{
    uint8_t *t = buf + len - 28;
    uint32_t crc;

    for (int i = 0; i < 8; i++) {
        t[16 + i] = (uint64_t) len >> (8 * i);
    }
    crc = crc32c(buf, len - 4);
    for (int i = 0; i < 4; i++) {
        t[24 + i] = crc >> (8 * i);
    }
}

Test(ct_snapshot, versions)
{
    struct conntrack *b = tct_create();
    size_t len;
    uint8_t *buf = small_snapshot(&len);
    char *err = NULL;

    /* A newer major version: refused, with the versions named. */
    buf[8] = 2;
    reseal(buf, len);
    cr_assert_eq(conntrack_snapshot_load_buf(b, buf, len, 0, NULL, &err),
                 -TS_ERR_VERSION);
    cr_assert(strstr(err, "version 2.0"), "%s", err);
    cr_assert_eq(conntrack_get_nconns(b), 0);
    free(err);
    err = NULL;
    buf[8] = 1;

    /* A newer minor version with a record type this binary does not
     * know, and a longer header: loads, the record is skipped. */
    size_t hl = 64, extra_hdr = 8, extra_rec = 8 + 5;
    size_t nlen = len + extra_hdr + extra_rec;
    uint8_t *nb = xzalloc(nlen);
    memcpy(nb, buf, hl);
    nb[10] = 7;                         /* minor 7 */
    nb[12] = hl + extra_hdr;            /* header_len */
    memcpy(nb + hl + extra_hdr, buf + hl, len - hl - 28);
    uint8_t *r = nb + hl + extra_hdr + (len - hl - 28);
    r[0] = 99;                          /* type 99, length 5 */
    r[4] = 5;
    memcpy(nb + nlen - 28, buf + len - 28, 28);
    reseal(nb, nlen);
    struct ct_snapshot_info li;
    cr_assert_eq(conntrack_snapshot_load_buf(b, nb, nlen, 0, &li, &err), 0,
                 "%s", err);
    cr_assert_eq(li.version_minor, 7);
    cr_assert_eq(li.n_restored, 1);
    cr_assert_eq(conntrack_get_nconns(b), 1);
    free(nb);
    free(buf);
    conntrack_destroy(b);
}

Test(ct_snapshot, save_failure_leaves_old_file)
{
    struct conntrack *a = tct_create();
    char *err = NULL;

    cr_assert_lt(conntrack_snapshot_save(a, "/nonexistent/dir/x.ct", 0, 0,
                                         NULL, &err), 0);
    cr_assert(strstr(err, "cannot create"), "%s", err);
    free(err);
    conntrack_destroy(a);
}

/* Many connections across many buckets: everything comes back, and a
 * table too small for them takes what fits and counts the rest. */
Test(ct_snapshot, many_connections_and_limits)
{
    struct conntrack *a = tct_create(), *b = tct_create();
    struct ct_exec_args c = { .zone = 5, .commit = true };
    struct ct_snapshot_info li;
    char *path = tpath("many.snap");
    char *err = NULL;

    for (int i = 0; i < 5000; i++) {
        char src[32];
        snprintf(src, sizeof src, "10.%d.%d.1", i / 250, i % 250);
        cr_assert_eq(tct1(a, tpkt_udp4(src, "10.200.0.1", 1000 + i % 7, 53,
                                       0), &c, 0), ST_NEW);
    }
    cr_assert_eq(conntrack_snapshot_save(a, path, 0, 0, NULL, &err), 0);
    cr_assert_eq(conntrack_snapshot_load(b, path, 0, &li, &err), 0);
    cr_assert_eq(li.n_restored, 5000);
    cr_assert_eq(conntrack_get_nconns(b), 5000);

    struct conntrack *d = tct_create();
    conntrack_set_maxconns(d, 1200);
    cr_assert_eq(conntrack_snapshot_load(d, path, 0, &li, &err), 0);
    cr_assert_eq(li.n_restored, 1200);
    cr_assert_eq(li.n_dropped, 3800);
    free(path);
    conntrack_destroy(a);
    conntrack_destroy(b);
    conntrack_destroy(d);
}
