/* Tests for datapath/conntrack core: commit, zones, force, mark/label,
 * limits, UDP/ICMP/other/SCTP states, related ICMP errors, validation,
 * the ct_conn shortcut, dump format, flush filters, events. */
#include <pthread.h>
#include <stdatomic.h>
#include "test-ct-pkt.h"

static const struct ct_exec_args commit1 = { .zone = 1, .commit = true };
static const struct ct_exec_args track1 = { .zone = 1 };

Test(ct_core, udp_commit_and_states)
{
    struct conntrack *ct = tct_create();

    /* Not committed: +new each time, nothing stored. */
    cr_assert_eq(tct1(ct, tpkt_udp4("10.0.0.1", "10.0.0.2", 1000, 53, 10),
                      &track1, 0), ST_NEW);
    cr_assert_eq(conntrack_get_nconns(ct), 0);
    cr_assert_eq(tct1(ct, tpkt_udp4("10.0.0.2", "10.0.0.1", 53, 1000, 10),
                      &track1, 0), ST_NEW);

    /* Commit: +new; second packet from the same side still +new
     * (OVS's MULTIPLE state); reply +est+rpl; then +est. */
    cr_assert_eq(tct1(ct, tpkt_udp4("10.0.0.1", "10.0.0.2", 1000, 53, 10),
                      &commit1, 0), ST_NEW);
    cr_assert_eq(conntrack_get_nconns(ct), 1);
    cr_assert_eq(tct1(ct, tpkt_udp4("10.0.0.1", "10.0.0.2", 1000, 53, 10),
                      &track1, 1), ST_NEW);
    cr_assert_eq(tct1(ct, tpkt_udp4("10.0.0.1", "10.0.0.2", 1000, 53, 10),
                      &track1, 1), ST_EST);
    cr_assert_eq(tct1(ct, tpkt_udp4("10.0.0.2", "10.0.0.1", 53, 1000, 10),
                      &track1, 2), ST_RPL);
    cr_assert_eq(tct1(ct, tpkt_udp4("10.0.0.1", "10.0.0.2", 1000, 53, 10),
                      &track1, 3), ST_EST);
    cr_assert_eq(conntrack_get_nconns(ct), 1);
    conntrack_destroy(ct);
}

Test(ct_core, flow_metadata)
{
    struct conntrack *ct = tct_create();
    struct ct_exec_args a = { .zone = 7, .commit = true, .mark = 0x55,
                              .mark_mask = 0xff, .label = { 3, 1 },
                              .label_mask = { ~0ull, ~0ull } };
    struct tpkt *t = tpkt_udp4("10.0.0.1", "10.0.0.2", 1000, 53, 10);

    tct(ct, t, &a, 0);
    cr_assert_eq(t->f.ct_zone, 7);
    cr_assert_eq(t->f.ct_mark, 0x55);
    cr_assert_eq(t->f.ct_label[0], 3);
    cr_assert_eq(t->f.ct_label[1], 1);
    cr_assert_eq(t->f.ct_nw_src, tip4("10.0.0.1"));
    cr_assert_eq(t->f.ct_nw_dst, tip4("10.0.0.2"));
    cr_assert_eq(t->f.ct_tp_src, htons(1000));
    cr_assert_eq(t->f.ct_tp_dst, htons(53));
    cr_assert_eq(t->f.ct_nw_proto, IPPROTO_UDP);
    tpkt_free(t);

    /* The reply carries the original tuple and inherits mark/label. */
    struct ct_exec_args tr = { .zone = 7 };
    t = tpkt_udp4("10.0.0.2", "10.0.0.1", 53, 1000, 10);
    cr_assert_eq(tct(ct, t, &tr, 1), ST_RPL);
    cr_assert_eq(t->f.ct_mark, 0x55);
    cr_assert_eq(t->f.ct_label[0], 3);
    cr_assert_eq(t->f.ct_nw_src, tip4("10.0.0.1"));
    cr_assert_eq(t->f.ct_tp_src, htons(1000));
    tpkt_free(t);

    /* Masked mark update on a later commit. */
    struct ct_exec_args m = { .zone = 7, .commit = true, .mark = 0x100,
                              .mark_mask = 0xf00 };
    t = tpkt_udp4("10.0.0.1", "10.0.0.2", 1000, 53, 10);
    tct(ct, t, &m, 2);
    cr_assert_eq(t->f.ct_mark, 0x155);
    tpkt_free(t);
    conntrack_destroy(ct);
}

Test(ct_core, zones_separate)
{
    struct conntrack *ct = tct_create();
    struct ct_exec_args z2 = { .zone = 2, .commit = true };
    struct ct_exec_args t2 = { .zone = 2 };

    tct1(ct, tpkt_udp4("10.0.0.1", "10.0.0.2", 1000, 53, 0), &commit1, 0);
    /* Same tuple, zone 2: unknown there. */
    cr_assert_eq(tct1(ct, tpkt_udp4("10.0.0.2", "10.0.0.1", 53, 1000, 0),
                      &t2, 0), ST_NEW);
    tct1(ct, tpkt_udp4("10.0.0.1", "10.0.0.2", 1000, 53, 0), &z2, 0);
    cr_assert_eq(conntrack_get_nconns(ct), 2);
    cr_assert_eq(tct1(ct, tpkt_udp4("10.0.0.2", "10.0.0.1", 53, 1000, 0),
                      &t2, 1), ST_RPL);

    struct ct_zone_stats zs;
    conntrack_get_zone_stats(ct, 2, &zs);
    cr_assert_eq(zs.count, 1);
    conntrack_get_zone_stats(ct, 3, &zs);
    cr_assert_eq(zs.count, 0);
    conntrack_destroy(ct);
}

Test(ct_core, force_commit_recreates)
{
    struct conntrack *ct = tct_create();
    struct ct_exec_args force = { .zone = 1, .commit = true, .force = true,
                                  .mark = 9, .mark_mask = ~0u };
    struct ds s = DS_EMPTY_INITIALIZER;
    struct tpkt *t;

    tct1(ct, tpkt_udp4("10.0.0.1", "10.0.0.2", 1000, 53, 0), &commit1, 0);
    /* Forced commit in the original direction: the entry stays. */
    t = tpkt_udp4("10.0.0.1", "10.0.0.2", 1000, 53, 0);
    cr_assert_eq(tct(ct, t, &force, 1), ST_NEW);
    tpkt_free(t);
    /* Forced commit from the reply side: deleted and recreated the other
     * way round, as +new. */
    t = tpkt_udp4("10.0.0.2", "10.0.0.1", 53, 1000, 0);
    cr_assert_eq(tct(ct, t, &force, 2), ST_NEW);
    cr_assert_eq(t->f.ct_nw_src, tip4("10.0.0.2"));
    tpkt_free(t);
    cr_assert_eq(conntrack_get_nconns(ct), 1);
    tdump(ct, NULL, &s, false, false, 3);
    cr_assert_str_eq(ds_cstr(&s),
        "udp,orig=(src=10.0.0.2,dst=10.0.0.1,sport=53,dport=1000),"
        "reply=(src=10.0.0.1,dst=10.0.0.2,sport=1000,dport=53),zone=1,"
        "mark=9\n");
    ds_destroy(&s);
    conntrack_destroy(ct);
}

Test(ct_core, limits_global_and_zone)
{
    struct conntrack_config cfg;
    struct conntrack *ct;
    struct ct_stats st;
    struct ct_zone_stats zs;
    bool own;

    conntrack_config_init(&cfg);
    cfg.max_conns = 5;
    cfg.n_buckets = 64;
    ct = conntrack_create(&cfg);
    conntrack_set_zone_limit(ct, 1, 2);
    cr_assert_eq(conntrack_get_zone_limit(ct, 1, &own), 2);
    cr_assert(own);
    cr_assert_eq(conntrack_get_zone_limit(ct, 9, &own), 0);
    cr_assert(!own);

    for (int i = 0; i < 4; i++) {
        struct tpkt *t = tpkt_udp4("10.0.0.1", "10.0.0.2", 1000 + i, 53, 0);

        cr_assert_eq(tct(ct, t, &commit1, 0), ST_NEW);
        tpkt_free(t);
    }
    conntrack_get_zone_stats(ct, 1, &zs);
    cr_assert_eq(zs.count, 2);
    cr_assert_eq(zs.limit_drops, 2);
    /* The refused connections stay unknown. */
    cr_assert_eq(tct1(ct, tpkt_udp4("10.0.0.2", "10.0.0.1", 53, 1003, 0),
                      &track1, 1), ST_NEW);

    /* Default zone limit applies to zones without their own. */
    conntrack_set_default_zone_limit(ct, 1);
    struct ct_exec_args z5 = { .zone = 5, .commit = true };
    tct1(ct, tpkt_udp4("10.0.0.1", "10.0.0.2", 1, 2, 0), &z5, 0);
    tct1(ct, tpkt_udp4("10.0.0.1", "10.0.0.2", 1, 3, 0), &z5, 0);
    conntrack_get_zone_stats(ct, 5, &zs);
    cr_assert_eq(zs.count, 1);
    cr_assert_eq(zs.limit, 1);
    cr_assert_eq(zs.limit_drops, 1);
    conntrack_set_default_zone_limit(ct, 0);

    /* Global maximum. */
    struct ct_exec_args z6 = { .zone = 6, .commit = true };
    for (int i = 0; i < 5; i++) {
        tct1(ct, tpkt_udp4("10.0.0.1", "10.0.0.3", 1000 + i, 53, 0), &z6, 0);
    }
    conntrack_get_stats(ct, &st);
    cr_assert_eq(st.n_conns, 5);
    cr_assert_eq(st.full_drops, 3);
    cr_assert_eq(st.zone_limit_drops, 3);

    /* Deleting the zone limit: zone 1 takes more again. */
    conntrack_del_zone_limit(ct, 1);
    conntrack_set_maxconns(ct, 100);
    tct1(ct, tpkt_udp4("10.0.0.1", "10.0.0.2", 2000, 53, 0), &commit1, 0);
    conntrack_get_zone_stats(ct, 1, &zs);
    cr_assert_eq(zs.count, 3);
    conntrack_destroy(ct);
}

Test(ct_core, icmp_echo_and_related_error)
{
    struct conntrack *ct = tct_create();
    struct tpkt *t, *inner;

    cr_assert_eq(tct1(ct, tpkt_icmp4("10.0.0.1", "10.0.0.2", 8, 77),
                      &commit1, 0), ST_NEW);
    /* A repeated request before the reply: still +new. */
    cr_assert_eq(tct1(ct, tpkt_icmp4("10.0.0.1", "10.0.0.2", 8, 77),
                      &track1, 0), ST_NEW);
    cr_assert_eq(tct1(ct, tpkt_icmp4("10.0.0.2", "10.0.0.1", 0, 77),
                      &track1, 1), ST_RPL);
    cr_assert_eq(tct1(ct, tpkt_icmp4("10.0.0.1", "10.0.0.2", 8, 77),
                      &track1, 2), ST_EST);
    /* Another id is another connection; a lone reply is invalid. */
    cr_assert_eq(tct1(ct, tpkt_icmp4("10.0.0.1", "10.0.0.2", 8, 78),
                      &track1, 2), ST_NEW);
    cr_assert_eq(tct1(ct, tpkt_icmp4("10.0.0.2", "10.0.0.1", 0, 79),
                      &track1, 2), ST_INV);
    /* A reply type in the original direction does not match. */
    cr_assert_eq(tct1(ct, tpkt_icmp4("10.0.0.1", "10.0.0.2", 0, 77),
                      &track1, 2), ST_INV);

    struct ds s = DS_EMPTY_INITIALIZER;
    tdump(ct, NULL, &s, false, false, 3);
    cr_assert_str_eq(ds_cstr(&s),
        "icmp,orig=(src=10.0.0.1,dst=10.0.0.2,id=77,type=8,code=0),"
        "reply=(src=10.0.0.2,dst=10.0.0.1,id=77,type=0,code=0),zone=1\n");
    ds_destroy(&s);

    /* Related errors: UDP connection, port unreachable from the server
     * and time exceeded from a router. */
    tct1(ct, tpkt_udp4("10.0.0.1", "10.0.0.2", 4000, 5000, 0), &commit1, 0);
    inner = tpkt_udp4("10.0.0.1", "10.0.0.2", 4000, 5000, 0);
    t = tpkt_icmp4_err("10.0.0.2", "10.0.0.1", 3, 3, inner);
    cr_assert_eq(tct(ct, t, &track1, 1),
                 CS_TRACKED | CS_RELATED | CS_REPLY_DIR);
    cr_assert_eq(t->f.ct_nw_src, tip4("10.0.0.1"));
    tpkt_free(t);
    t = tpkt_icmp4_err("192.168.0.1", "10.0.0.1", 11, 0, inner);
    cr_assert_eq(tct1(ct, t, &track1, 1),
                 CS_TRACKED | CS_RELATED | CS_REPLY_DIR);
    tpkt_free(inner);
    /* An error about an unknown connection is invalid; so is one sent to
     * somebody who did not send the quoted packet. */
    inner = tpkt_udp4("10.0.0.1", "10.0.0.2", 4001, 5000, 0);
    cr_assert_eq(tct1(ct, tpkt_icmp4_err("10.0.0.2", "10.0.0.1", 3, 3, inner),
                      &track1, 1), ST_INV);
    tpkt_free(inner);
    inner = tpkt_udp4("10.0.0.1", "10.0.0.2", 4000, 5000, 0);
    cr_assert_eq(tct1(ct, tpkt_icmp4_err("10.0.0.2", "10.0.0.9", 3, 3, inner),
                      &track1, 1), ST_INV);
    tpkt_free(inner);
    conntrack_destroy(ct);
}

Test(ct_core, ipv6_udp_and_icmpv6)
{
    struct conntrack *ct = tct_create();
    struct ds s = DS_EMPTY_INITIALIZER;
    struct tpkt *t;

    t = tpkt_udp6("fd00::1", "fd00::2", 1000, 53, 20);
    cr_assert_eq(tct(ct, t, &commit1, 0), ST_NEW);
    cr_assert(!memcmp(&t->f.ct_ipv6_src, &t->f.ipv6_src, 16));
    tpkt_free(t);
    cr_assert_eq(tct1(ct, tpkt_udp6("fd00::2", "fd00::1", 53, 1000, 20),
                      &track1, 1), ST_RPL);
    cr_assert_eq(tct1(ct, tpkt_icmp6("fd00::1", "fd00::2", 128, 5),
                      &commit1, 1), ST_NEW);
    cr_assert_eq(tct1(ct, tpkt_icmp6("fd00::2", "fd00::1", 129, 5),
                      &track1, 1), ST_RPL);
    /* Neighbour solicitation is not tracked: invalid (as OVS). */
    cr_assert_eq(tct1(ct, tpkt_icmp6("fd00::2", "fd00::1", 135, 0),
                      &track1, 1), ST_INV);
    tdump(ct, NULL, &s, false, false, 2);
    cr_assert(strstr(ds_cstr(&s),
        "udp,orig=(src=fd00::1,dst=fd00::2,sport=1000,dport=53),"
        "reply=(src=fd00::2,dst=fd00::1,sport=53,dport=1000),zone=1\n"));
    cr_assert(strstr(ds_cstr(&s),
        "icmpv6,orig=(src=fd00::1,dst=fd00::2,id=5,type=128,code=0),"
        "reply=(src=fd00::2,dst=fd00::1,id=5,type=129,code=0),zone=1\n"));
    ds_destroy(&s);
    conntrack_destroy(ct);
}

Test(ct_core, other_protocols_and_sctp)
{
    struct conntrack *ct = tct_create();
    struct ds s = DS_EMPTY_INITIALIZER;

    cr_assert_eq(tct1(ct, tpkt_proto4("10.0.0.1", "10.0.0.2", 47),
                      &commit1, 0), ST_NEW);
    cr_assert_eq(tct1(ct, tpkt_proto4("10.0.0.2", "10.0.0.1", 47),
                      &track1, 0), ST_RPL);
    tdump(ct, NULL, &s, false, false, 0);
    cr_assert_str_eq(ds_cstr(&s),
        "47,orig=(src=10.0.0.1,dst=10.0.0.2,sport=0,dport=0),"
        "reply=(src=10.0.0.2,dst=10.0.0.1,sport=0,dport=0),zone=1\n");
    ds_clear(&s);
    conntrack_flush(ct, NULL, 0);

    /* SCTP: INIT, INIT ACK, COOKIE ECHO, COOKIE ACK. */
    cr_assert_eq(tct1(ct, tpkt_sctp4("10.0.0.1", "10.0.0.2", 5, 6, 1, 0),
                      &commit1, 0), ST_NEW);
    cr_assert_eq(tct1(ct, tpkt_sctp4("10.0.0.2", "10.0.0.1", 6, 5, 2, 1),
                      &track1, 0), ST_RPL);
    cr_assert_eq(tct1(ct, tpkt_sctp4("10.0.0.1", "10.0.0.2", 5, 6, 10, 2),
                      &track1, 0), ST_EST);
    cr_assert_eq(tct1(ct, tpkt_sctp4("10.0.0.2", "10.0.0.1", 6, 5, 11, 1),
                      &track1, 0), ST_RPL);
    tdump(ct, NULL, &s, false, false, 0);
    cr_assert_str_eq(ds_cstr(&s),
        "sctp,orig=(src=10.0.0.1,dst=10.0.0.2,sport=5,dport=6),"
        "reply=(src=10.0.0.2,dst=10.0.0.1,sport=6,dport=5),zone=1,"
        "protoinfo=(state=ESTABLISHED)\n");
    /* A bad CRC is invalid. */
    struct tpkt *t = tpkt_sctp4("10.0.0.1", "10.0.0.2", 5, 6, 0, 2);
    uint8_t *l4 = dp_packet_l4(t->p);
    l4[9] ^= 1;
    cr_assert_eq(tct1(ct, t, &track1, 0), ST_INV);
    ds_destroy(&s);
    conntrack_destroy(ct);
}

Test(ct_core, validation_and_checksum_offload)
{
    struct conntrack *ct = tct_create();
    struct ct_stats st;
    struct tpkt *t;
    uint8_t *l4;

    /* Bad UDP checksum: +inv, counted. */
    t = tpkt_udp4("10.0.0.1", "10.0.0.2", 1000, 53, 10);
    l4 = dp_packet_l4(t->p);
    l4[6] ^= 0x10;
    cr_assert_eq(tct(ct, t, &commit1, 0), ST_INV);
    cr_assert_eq(t->f.ct_nw_src, 0);
    /* Same bytes with a partial checksum (offload): not verified. */
    t->p->ofl.flags = DP_OFL_CSUM_PARTIAL;
    cr_assert_eq(tct(ct, t, &commit1, 0), ST_NEW);
    /* Or marked valid by the sender. */
    t->p->ofl.flags = DP_OFL_CSUM_VALID;
    cr_assert_eq(tct(ct, t, &track1, 0), ST_NEW);
    tpkt_free(t);
    conntrack_get_stats(ct, &st);
    cr_assert_eq(st.bad_csum, 1);

    /* Bad IPv4 header checksum. */
    t = tpkt_udp4("10.0.0.1", "10.0.0.2", 1000, 54, 10);
    ((uint8_t *) dp_packet_l3(t->p))[10] ^= 1;
    cr_assert_eq(tct1(ct, t, &commit1, 0), ST_INV);

    /* Truncated TCP header. */
    t = tpkt_tcp4("10.0.0.1", "10.0.0.2", 1, 2, TCP_SYN, 1, 0, 100, 0, -1);
    dp_packet_set_size(t->p, dp_packet_size(t->p) - 8);
    ((struct ip_header *) dp_packet_l3(t->p))->ip_tot_len = htons(32);
    ((struct ip_header *) dp_packet_l3(t->p))->ip_csum = 0;
    ((struct ip_header *) dp_packet_l3(t->p))->ip_csum
        = csum(dp_packet_l3(t->p), 20);
    flow_extract(t->p, &t->f);
    cr_assert_eq(tct1(ct, t, &commit1, 0), ST_INV);

    /* Non-IP: +trk+inv. */
    uint8_t arp[28] = { 0 };
    t = tpkt_from_l3(ETH_TYPE_ARP, arp, sizeof arp);
    cr_assert_eq(tct1(ct, t, &commit1, 0), ST_INV);

    /* A fragment reaching conntrack is invalid. */
    uint8_t b[64] = { 0 };
    tip4_hdr(b, tip4("10.0.0.1"), tip4("10.0.0.2"), IPPROTO_UDP, 16);
    ((struct ip_header *) b)->ip_frag_off = htons(IP_MORE_FRAGMENTS);
    ((struct ip_header *) b)->ip_csum = 0;
    ((struct ip_header *) b)->ip_csum = csum(b, 20);
    t = tpkt_from_l3(ETH_TYPE_IP, b, 36);
    cr_assert_eq(tct1(ct, t, &commit1, 0), ST_INV);
    cr_assert_eq(conntrack_get_nconns(ct), 1);
    conntrack_destroy(ct);
}

Test(ct_core, conn_shortcut)
{
    struct conntrack *ct = tct_create();
    struct ct_exec_args z2 = { .zone = 2 };
    struct tpkt *t = tpkt_udp4("10.0.0.1", "10.0.0.2", 1000, 53, 0);
    struct ct_flush_filter all = { 0 };

    tct(ct, t, &commit1, 0);
    cr_assert_not_null(t->p->ct_conn);
    void *cached = t->p->ct_conn;
    /* Second ct() in the same zone: uses (and keeps) the cached conn. */
    cr_assert_eq(tct(ct, t, &track1, 0), ST_NEW);
    cr_assert_eq(t->p->ct_conn, cached);
    cr_assert_eq(tct(ct, t, &track1, 0), ST_EST);
    /* Another zone: the cached conn does not apply. */
    cr_assert_eq(tct(ct, t, &z2, 0), ST_NEW);
    cr_assert_null(t->p->ct_conn);
    tct(ct, t, &track1, 0);
    cr_assert_eq(t->p->ct_conn, cached);

    /* After a flush, the stale pointer is detected. */
    conntrack_flush(ct, &all, 0);
    cr_assert_eq(tct(ct, t, &track1, 0), ST_NEW);
    cr_assert_null(t->p->ct_conn);

    /* A reused slot for another tuple is detected too. */
    tct(ct, t, &commit1, 0);
    cached = t->p->ct_conn;
    conntrack_flush(ct, NULL, 0);
    struct tpkt *u = tpkt_udp4("10.9.9.9", "10.0.0.2", 7, 53, 0);
    tct(ct, u, &commit1, 0);
    cr_assert_eq(u->p->ct_conn, cached);      /* slab reuse */
    cr_assert_eq(tct(ct, t, &track1, 0), ST_NEW);
    cr_assert_eq(t->f.ct_nw_src, tip4("10.0.0.1"));
    conntrack_packet_invalidate(u->p);
    cr_assert_null(u->p->ct_conn);
    tpkt_free(u);
    tpkt_free(t);
    conntrack_destroy(ct);
}

Test(ct_core, dump_format_verbose_and_stats)
{
    struct conntrack *ct = tct_create();
    struct ct_exec_args a = { .zone = 0, .commit = true, .mark = 5,
                              .mark_mask = ~0u, .label = { 0x1, 0 },
                              .label_mask = { ~0ull, ~0ull } };
    struct ct_exec_args tr = { .zone = 0 };
    struct ds s = DS_EMPTY_INITIALIZER;

    tct1(ct, tpkt_tcp4("10.0.0.1", "10.0.0.2", 39376, 80, TCP_SYN, 100, 0,
                       1000, 0, -1), &a, 0);
    tct1(ct, tpkt_tcp4("10.0.0.2", "10.0.0.1", 80, 39376,
                       TCP_SYN | TCP_ACK, 500, 101, 1000, 0, -1), &tr, 0);
    tct1(ct, tpkt_tcp4("10.0.0.1", "10.0.0.2", 39376, 80, TCP_ACK, 101, 501,
                       1000, 0, -1), &tr, 0);
    tdump(ct, NULL, &s, false, false, 0);
    cr_assert_str_eq(ds_cstr(&s),
        "tcp,orig=(src=10.0.0.1,dst=10.0.0.2,sport=39376,dport=80),"
        "reply=(src=10.0.0.2,dst=10.0.0.1,sport=80,dport=39376),mark=5,"
        "labels=0x1,protoinfo=(state=ESTABLISHED)\n");
    ds_clear(&s);
    tdump(ct, NULL, &s, true, true, 1000);
    /* Three packets: 40 + 40 bytes orig, 40 reply; 24 h - 1 s left. */
    cr_assert(strstr(ds_cstr(&s),
        "tcp,orig=(src=10.0.0.1,dst=10.0.0.2,sport=39376,dport=80,"
        "packets=2,bytes=80),reply=(src=10.0.0.2,dst=10.0.0.1,sport=80,"
        "dport=39376,packets=1,bytes=40),id="), "%s", ds_cstr(&s));
    cr_assert(strstr(ds_cstr(&s),
        ",status=SEEN_REPLY|ASSURED|CONFIRMED,timeout=86399,mark=5,"
        "labels=0x1,protoinfo=(state_orig=ESTABLISHED,"
        "state_reply=ESTABLISHED,flags_orig=,flags_reply=)\n"),
        "%s", ds_cstr(&s));
    ds_destroy(&s);
    conntrack_destroy(ct);
}

Test(ct_core, dump_slices_and_zone_filter)
{
    struct conntrack *ct = tct_create();
    struct ct_dump_cursor cur;
    struct ct_entry e[7];
    uint16_t zone = 3;
    size_t total = 0, calls = 0, in_zone = 0;
    bool seen[300] = { false };

    for (int i = 0; i < 300; i++) {
        struct ct_exec_args a = { .zone = i % 4, .commit = true };

        tct1(ct, tpkt_udp4("10.0.0.1", "10.0.0.2", 1000 + i, 53, 0), &a, 0);
    }
    conntrack_dump_start(&cur, NULL);
    while (!cur.done) {
        size_t n = conntrack_dump_next(ct, &cur, e, 7, 0);

        cr_assert_leq(n, 7);
        for (size_t i = 0; i < n; i++) {
            int port = ntohs(e[i].orig.src_port) - 1000;

            cr_assert(port >= 0 && port < 300 && !seen[port]);
            seen[port] = true;
        }
        total += n;
        calls++;
    }
    cr_assert_eq(total, 300);
    cr_assert_geq(calls, 300 / 7);

    conntrack_dump_start(&cur, &zone);
    while (!cur.done) {
        size_t n = conntrack_dump_next(ct, &cur, e, 7, 0);

        for (size_t i = 0; i < n; i++) {
            cr_assert_eq(e[i].zone, 3);
        }
        in_zone += n;
    }
    cr_assert_eq(in_zone, 75);
    conntrack_destroy(ct);
}

Test(ct_core, flush_filters)
{
    struct conntrack *ct = tct_create();
    struct ct_flush_filter f;
    struct ct_flush_cursor cur;
    struct ct_tuple orig;

    for (int i = 0; i < 40; i++) {
        struct ct_exec_args a = { .zone = i % 2, .commit = true,
                                  .mark = i % 5, .mark_mask = ~0u,
                                  .label = { 0, i % 3 },
                                  .label_mask = { ~0ull, ~0ull } };

        tct1(ct, tpkt_udp4("10.0.0.1", "10.0.0.2", 1000 + i, 53, 0), &a, 0);
    }
    /* By zone and mark (i % 2 == 1, i % 5 == 3: i = 3, 13, 23, 33). */
    memset(&f, 0, sizeof f);
    f.has_zone = true;
    f.zone = 1;
    f.mark = 3;
    f.mark_mask = ~0u;
    cr_assert_eq(conntrack_flush(ct, &f, 0), 4);
    cr_assert_eq(conntrack_get_nconns(ct), 36);
    /* By label (high word == 2: i % 3 == 2, minus i = 23 already). */
    memset(&f, 0, sizeof f);
    f.label[1] = 2;
    f.label_mask[1] = ~0ull;
    cr_assert_eq(conntrack_flush(ct, &f, 0), 12);
    /* By original tuple, and by reply tuple. */
    memset(&orig, 0, sizeof orig);
    orig.family = AF_INET;
    orig.nw_proto = IPPROTO_UDP;
    orig.src.ipv4 = tip4("10.0.0.1");
    orig.dst.ipv4 = tip4("10.0.0.2");
    orig.src_port = htons(1000);
    orig.dst_port = htons(53);
    memset(&f, 0, sizeof f);
    f.orig = &orig;
    cr_assert_eq(conntrack_flush(ct, &f, 0), 1);
    cr_assert_eq(conntrack_flush(ct, &f, 0), 0);
    struct ct_tuple rep;
    ct_tuple_reverse(&rep, &orig);
    rep.dst_port = htons(1001);
    memset(&f, 0, sizeof f);
    f.reply = &rep;
    cr_assert_eq(conntrack_flush(ct, &f, 0), 1);
    cr_assert_eq(conntrack_get_nconns(ct), 22);
    /* In slices: everything. */
    size_t n = 0, calls = 0;
    conntrack_flush_start(&cur);
    while (!cur.done) {
        size_t k = conntrack_flush_next(ct, &cur, NULL, 1, 0);

        cr_assert_leq(k, 8);    /* one bucket per call */
        n += k;
        calls++;
    }
    cr_assert_eq(n, 22);
    cr_assert_geq(calls, 22 / 8);
    cr_assert_eq(conntrack_get_nconns(ct), 0);
    conntrack_destroy(ct);
}

struct ev_log {
    int n[3];
    struct ds text;
};

static void
ev_cb(enum ct_event_type type, const struct ct_entry *e, void *aux)
{
    struct ev_log *log = aux;

    log->n[type]++;
    ds_put_format(&log->text, "%d:", type);
    ct_format_entry(&log->text, e, false, false);
    ds_put_char(&log->text, '\n');
}

Test(ct_core, events)
{
    struct conntrack_config cfg;
    struct conntrack *ct;
    struct ev_log log = { { 0, 0, 0 }, DS_EMPTY_INITIALIZER };
    struct ct_stats st;

    conntrack_config_init(&cfg);
    cfg.event_queue_len = 4;
    ct = conntrack_create(&cfg);
    /* No callback: nothing queued. */
    tct1(ct, tpkt_udp4("10.0.0.1", "10.0.0.2", 1, 2, 0), &commit1, 0);
    cr_assert_eq(conntrack_run_events(ct, 100), 0);

    conntrack_set_event_cb(ct, ev_cb, &log);
    tct1(ct, tpkt_tcp4("10.0.0.1", "10.0.0.2", 5, 80, TCP_SYN, 1, 0, 100, 0,
                       -1), &commit1, 0);
    tct1(ct, tpkt_tcp4("10.0.0.2", "10.0.0.1", 80, 5, TCP_SYN | TCP_ACK, 9,
                       2, 100, 0, -1), &track1, 0);
    /* Not delivered until the main thread drains. */
    cr_assert_eq(log.n[CT_EVENT_NEW], 0);
    cr_assert_eq(conntrack_run_events(ct, 1), 1);
    cr_assert_eq(log.n[CT_EVENT_NEW], 1);
    cr_assert_eq(conntrack_run_events(ct, 100), 1);
    cr_assert_eq(log.n[CT_EVENT_UPDATE], 1);
    conntrack_flush(ct, NULL, 0);
    cr_assert_eq(conntrack_run_events(ct, 100), 2);
    cr_assert_eq(log.n[CT_EVENT_DESTROY], 2);
    cr_assert(strstr(ds_cstr(&log.text), "0:tcp,orig=(src=10.0.0.1"));

    /* Overflow: bounded queue, drops counted. */
    for (int i = 0; i < 6; i++) {
        tct1(ct, tpkt_udp4("10.0.0.1", "10.0.0.2", 100 + i, 2, 0),
             &commit1, 0);
    }
    conntrack_get_stats(ct, &st);
    cr_assert_eq(st.events_dropped, 2);
    cr_assert_eq(conntrack_run_events(ct, 100), 4);
    conntrack_set_event_cb(ct, NULL, NULL);
    ds_destroy(&log.text);
    conntrack_destroy(ct);
}

Test(ct_core, tuple_hash_is_symmetric)
{
    struct ct_tuple t, r;

    srand(7);
    for (int i = 0; i < 1000; i++) {
        memset(&t, 0, sizeof t);
        t.family = i & 1 ? AF_INET6 : AF_INET;
        t.nw_proto = IPPROTO_TCP;
        t.zone = rand() & 3;
        if (t.family == AF_INET) {
            t.src.ipv4 = rand() & 0xff;
            t.dst.ipv4 = rand() & 0xff;
        } else {
            t.src.ipv6.s6_addr[15] = rand() & 0xff;
            t.dst.ipv6.s6_addr[15] = rand() & 0xff;
        }
        t.src_port = rand() & 0xf;
        t.dst_port = rand() & 0xf;
        ct_tuple_reverse(&r, &t);
        cr_assert_eq(ct_tuple_hash(&t, 42), ct_tuple_hash(&r, 42));
    }
}

Test(ct_core, snat_through_execute)
{
    struct conntrack *ct = tct_create();
    struct ct_nat_action nat = { .flags = CT_NAT_SRC | CT_NAT_RANGE_ADDR,
                                 .family = AF_INET };
    struct ct_nat_action bare = { 0 };
    struct ds s = DS_EMPTY_INITIALIZER;
    struct tpkt *t;

    nat.min_addr.ipv4 = nat.max_addr.ipv4 = tip4("192.168.1.1");
    struct ct_exec_args a = { .zone = 1, .commit = true, .nat = &nat };
    struct ct_exec_args n = { .zone = 1, .nat = &bare };

    t = tpkt_udp4("10.0.0.1", "10.0.0.2", 1000, 53, 4);
    cr_assert_eq(tct(ct, t, &a, 0), ST_NEW | CS_SRC_NAT);
    cr_assert_eq(t->f.nw_src, tip4("192.168.1.1"));
    cr_assert_eq(((struct ip_header *) dp_packet_l3(t->p))->ip_src,
                 tip4("192.168.1.1"));
    /* The original tuple stays the pre-NAT one. */
    cr_assert_eq(t->f.ct_nw_src, tip4("10.0.0.1"));
    uint16_t port = t->f.tp_src;
    tpkt_free(t);

    /* The reply to the translated address is found through the reply
     * key and translated back. */
    t = tpkt_udp4("10.0.0.2", "192.168.1.1", 53, ntohs(port), 4);
    cr_assert_eq(tct(ct, t, &n, 1), ST_RPL | CS_DST_NAT);
    cr_assert_eq(t->f.nw_dst, tip4("10.0.0.1"));
    cr_assert_eq(t->f.tp_dst, htons(1000));
    tpkt_free(t);
    /* The untranslated reverse is not this connection. */
    cr_assert_eq(tct1(ct, tpkt_udp4("10.0.0.2", "10.0.0.1", 53, 1000, 4),
                      &track1, 1), ST_NEW);

    tdump(ct, NULL, &s, false, false, 1);
    ds_put_format(&s, "|%u", ntohs(port));
    char want[256];
    snprintf(want, sizeof want,
             "udp,orig=(src=10.0.0.1,dst=10.0.0.2,sport=1000,dport=53),"
             "reply=(src=10.0.0.2,dst=192.168.1.1,sport=53,dport=%u),"
             "zone=1\n|%u", ntohs(port), ntohs(port));
    cr_assert_str_eq(ds_cstr(&s), want);
    ds_destroy(&s);
    /* The reply tuple is taken: ct_tuple_in_use sees it. */
    struct ct_tuple rt;
    memset(&rt, 0, sizeof rt);
    rt.family = AF_INET;
    rt.nw_proto = IPPROTO_UDP;
    rt.zone = 1;
    rt.src.ipv4 = tip4("10.0.0.2");
    rt.dst.ipv4 = tip4("192.168.1.1");
    rt.src_port = htons(53);
    rt.dst_port = port;
    cr_assert(ct_tuple_in_use(ct, &rt));
    cr_assert_eq(conntrack_flush(ct, NULL, 2), 1);
    cr_assert(!ct_tuple_in_use(ct, &rt));
    cr_assert_eq(conntrack_get_nconns(ct), 0);
    conntrack_destroy(ct);
}

Test(ct_core, many_nat_conns_flush_and_sweep)
{
    struct conntrack *ct = tct_create();
    struct ct_nat_action nat = { .flags = CT_NAT_SRC | CT_NAT_RANGE_ADDR,
                                 .family = AF_INET };

    nat.min_addr.ipv4 = tip4("192.168.1.1");
    nat.max_addr.ipv4 = tip4("192.168.1.4");
    struct ct_exec_args a = { .zone = 3, .commit = true, .nat = &nat };
    for (int i = 0; i < 500; i++) {
        tct1(ct, tpkt_udp4("10.0.0.1", "10.0.0.2", 1000 + i, 53, 0), &a, 0);
    }
    cr_assert_eq(conntrack_get_nconns(ct), 500);
    /* Half expire by sweep, the rest by flush. */
    struct ct_exec_args tr = { .zone = 3, .nat = &nat };
    for (int i = 0; i < 250; i++) {
        tct1(ct, tpkt_udp4("10.0.0.1", "10.0.0.2", 1000 + i, 53, 0), &tr,
             50000);
    }
    size_t swept = 0;
    for (int i = 0; i < 100; i++) {
        swept += conntrack_sweep(ct, 61000, 1000);
    }
    cr_assert_eq(swept, 250);
    struct ct_flush_filter f = { .has_zone = true, .zone = 3 };
    cr_assert_eq(conntrack_flush(ct, &f, 61000), 250);
    cr_assert_eq(conntrack_get_nconns(ct), 0);
    conntrack_destroy(ct);
}

/* Workers track and commit (some with NAT) while the main thread sweeps,
 * dumps and flushes.  Checks that nothing crashes or leaks (ASan) and
 * that the counters agree with a dump at the end. */
struct stress_arg {
    struct conntrack *ct;
    int seed;
    atomic_bool *stop;
};

static void *
stress_worker(void *arg_)
{
    struct stress_arg *arg = arg_;
    struct ct_nat_action nat = { .flags = CT_NAT_SRC | CT_NAT_RANGE_ADDR,
                                 .family = AF_INET };
    unsigned int r = arg->seed;
    struct tpkt *pk[64];
    long long now = 0;

    nat.min_addr.ipv4 = tip4("192.168.9.1");
    nat.max_addr.ipv4 = tip4("192.168.9.8");
    for (int i = 0; i < 64; i++) {
        pk[i] = tpkt_udp4(i & 1 ? "10.1.0.1" : "10.1.0.2", "10.2.0.1",
                          1000 + i + 100 * arg->seed, 53, 0);
    }
    while (!atomic_load(arg->stop)) {
        int i = rand_r(&r) % 64;
        struct ct_exec_args a = { .zone = rand_r(&r) % 3,
                                  .commit = rand_r(&r) & 1,
                                  .nat = (i % 4 == 0) ? &nat : NULL };

        if (!a.nat) {
            pk[i]->p->ct_conn = (rand_r(&r) & 1) ? pk[i]->p->ct_conn : NULL;
        } else {
            /* NAT rewrites headers: start from a fresh parse. */
            tpkt_free(pk[i]);
            pk[i] = tpkt_udp4(i & 1 ? "10.1.0.1" : "10.1.0.2", "10.2.0.1",
                              1000 + i + 100 * arg->seed, 53, 0);
        }
        tct(arg->ct, pk[i], &a, now++ / 16);
    }
    for (int i = 0; i < 64; i++) {
        tpkt_free(pk[i]);
    }
    return NULL;
}

Test(ct_core, concurrent_workers_and_control)
{
    struct conntrack_config cfg;
    struct conntrack *ct;
    pthread_t th[2];
    struct stress_arg args[2];
    atomic_bool stop = false;
    long long t0 = time_msec();
    struct ct_entry e[16];

    conntrack_config_init(&cfg);
    cfg.n_buckets = 64;
    cfg.n_stripes = 8;
    ct = conntrack_create(&cfg);
    for (int i = 0; i < 2; i++) {
        args[i] = (struct stress_arg) { ct, i + 1, &stop };
        pthread_create(&th[i], NULL, stress_worker, &args[i]);
    }
    while (time_msec() - t0 < 700) {
        struct ct_dump_cursor cur;
        struct ct_flush_filter f = { .has_zone = true, .zone = 1 };

        conntrack_sweep(ct, 1 << 20, 100);
        conntrack_dump_start(&cur, NULL);
        while (!cur.done) {
            conntrack_dump_next(ct, &cur, e, 16, 0);
        }
        conntrack_flush(ct, &f, 0);
    }
    atomic_store(&stop, true);
    for (int i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
    }
    /* Deferred NAT removals finish with a sweep at a late time. */
    conntrack_sweep(ct, 1LL << 30, 1 << 20);
    struct ct_dump_cursor cur;
    size_t n = 0;
    conntrack_dump_start(&cur, NULL);
    while (!cur.done) {
        n += conntrack_dump_next(ct, &cur, e, 16, 0);
    }
    cr_assert_eq(n, 0);
    cr_assert_eq(conntrack_get_nconns(ct), 0);
    for (int z = 0; z < 3; z++) {
        struct ct_zone_stats zs;

        conntrack_get_zone_stats(ct, z, &zs);
        cr_assert_eq(zs.count, 0);
    }
    conntrack_destroy(ct);
}

/* Garbage in: random corruptions and truncations of valid packets are
 * tracked or marked invalid, never a crash (run under ASan). */
Test(ct_core, corrupted_packets_never_crash)
{
    struct conntrack *ct = tct_create();
    unsigned int r = 12345;

    for (int i = 0; i < 3000; i++) {
        struct tpkt *t;
        struct tpkt *inner = NULL;

        switch (i % 6) {
        case 0:
            t = tpkt_udp4("10.0.0.1", "10.0.0.2", 1, 2, i % 40);
            break;
        case 1:
            t = tpkt_tcp4("10.0.0.1", "10.0.0.2", 1, 2, rand_r(&r) & 0x3f,
                          rand_r(&r), rand_r(&r), 1000, i % 30,
                          (i & 8) ? 5 : -1);
            break;
        case 2:
            t = tpkt_icmp4("10.0.0.1", "10.0.0.2", rand_r(&r) % 20, i);
            break;
        case 3:
            inner = tpkt_tcp4("10.0.0.2", "10.0.0.1", 2, 1, TCP_SYN, 1, 0,
                              10, 0, -1);
            t = tpkt_icmp4_err("10.0.0.1", "10.0.0.2", 3, 1, inner);
            break;
        case 4:
            t = tpkt_udp6("fd00::1", "fd00::2", 1, 2, i % 50);
            break;
        default:
            t = tpkt_sctp4("10.0.0.1", "10.0.0.2", 1, 2, rand_r(&r) % 16, 1);
            break;
        }
        uint8_t *d = dp_packet_data(t->p);
        uint32_t size = dp_packet_size(t->p);
        int flips = 1 + rand_r(&r) % 4;

        for (int k = 0; k < flips; k++) {
            uint32_t at = ETH_HEADER_LEN
                          + rand_r(&r) % (size - ETH_HEADER_LEN);
            d[at] = rand_r(&r);
        }
        if (rand_r(&r) % 3 == 0) {
            dp_packet_set_size(t->p, ETH_HEADER_LEN
                               + rand_r(&r) % (size - ETH_HEADER_LEN + 1));
        }
        flow_extract(t->p, &t->f);
        struct ct_exec_args a = { .zone = i % 2, .commit = rand_r(&r) & 1 };
        uint16_t st = tct(ct, t, &a, i);

        cr_assert(st & CS_TRACKED);
        tpkt_free(t);
        tpkt_free(inner);
    }
    struct ds s = DS_EMPTY_INITIALIZER;
    tdump(ct, NULL, &s, true, true, 3000);
    ds_destroy(&s);
    conntrack_destroy(ct);
}
