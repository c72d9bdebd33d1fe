/* Tests for datapath/conntrack/ct-expiry.c: timeouts with an injected
 * clock, default and per-zone timeout policies, and the bounded sweep. */
#include "test-ct-pkt.h"

static const struct ct_exec_args commit1 = { .zone = 1, .commit = true };
static const struct ct_exec_args track1 = { .zone = 1 };

#define T0 1000000000LL         /* an arbitrary clock origin */

Test(ct_expiry, udp_timeouts_with_clock)
{
    struct conntrack *ct = tct_create();

    tct1(ct, tpkt_udp4("10.0.0.1", "10.0.0.2", 1, 2, 0), &commit1, T0);
    /* udp_first is 60 s. */
    cr_assert_eq(tct1(ct, tpkt_udp4("10.0.0.2", "10.0.0.1", 2, 1, 0),
                      &track1, T0 + 59999), ST_RPL);
    /* Now udp_multiple, 30 s from the last packet. */
    cr_assert_eq(tct1(ct, tpkt_udp4("10.0.0.1", "10.0.0.2", 1, 2, 0),
                      &track1, T0 + 59999 + 29999), ST_EST);
    cr_assert_eq(tct1(ct, tpkt_udp4("10.0.0.1", "10.0.0.2", 1, 2, 0),
                      &track1, T0 + 59999 + 29999 + 30001), ST_NEW);
    /* Expired entries are invisible to dumps before any sweep. */
    struct ds s = DS_EMPTY_INITIALIZER;
    cr_assert_eq(tdump(ct, NULL, &s, false, false, T0 + 200000), 0);
    ds_destroy(&s);
    conntrack_destroy(ct);
}

Test(ct_expiry, policy_names)
{
    enum ct_tp_attr a;

    cr_assert_str_eq(ct_tp_attr_name(CT_TP_TCP_SYN_SENT), "tcp_syn_sent");
    cr_assert_str_eq(ct_tp_attr_name(CT_TP_ICMP_REPLY), "icmp_reply");
    cr_assert_null(ct_tp_attr_name(CT_TP_N_ATTRS));
    cr_assert_eq(ct_tp_attr_from_name("udp_multiple", &a), 0);
    cr_assert_eq(a, CT_TP_UDP_MULTIPLE);
    cr_assert_eq(ct_tp_attr_from_name("udp_many", &a), -EINVAL);
}

Test(ct_expiry, default_and_zone_policies)
{
    struct conntrack *ct = tct_create();
    struct ct_timeout_policy p, got;
    struct ds s = DS_EMPTY_INITIALIZER;

    conntrack_default_tp_get(ct, &got);
    cr_assert(got.present & (1u << CT_TP_TCP_ESTABLISHED));
    cr_assert_eq(got.attrs[CT_TP_TCP_ESTABLISHED], 86400);
    cr_assert_eq(got.attrs[CT_TP_UDP_FIRST], 60);
    cr_assert_eq(got.attrs[CT_TP_ICMP_REPLY], 30);

    /* Zone 1 policy: icmp_first 5 s, udp_first 7 s. */
    memset(&p, 0, sizeof p);
    p.present = (1u << CT_TP_ICMP_FIRST) | (1u << CT_TP_UDP_FIRST);
    p.attrs[CT_TP_ICMP_FIRST] = 5;
    p.attrs[CT_TP_UDP_FIRST] = 7;
    cr_assert_eq(conntrack_zone_tp_set(ct, 1, &p), 0);
    cr_assert_eq(conntrack_zone_tp_get(ct, 1, &got), 0);
    cr_assert_eq(got.present, p.present);
    cr_assert_eq(got.attrs[CT_TP_UDP_FIRST], 7);
    cr_assert_eq(conntrack_zone_tp_get(ct, 2, &got), -ENOENT);

    tct1(ct, tpkt_udp4("10.0.0.1", "10.0.0.2", 1, 2, 0), &commit1, T0);
    tct1(ct, tpkt_icmp4("10.0.0.1", "10.0.0.2", 8, 1), &commit1, T0);
    struct ct_exec_args z2 = { .zone = 2, .commit = true };
    tct1(ct, tpkt_udp4("10.0.0.1", "10.0.0.2", 1, 2, 0), &z2, T0);
    tdump(ct, NULL, &s, false, true, T0);
    cr_assert(strstr(ds_cstr(&s), "dport=1),zone=1,timeout=7\n"),
              "%s", ds_cstr(&s));
    cr_assert(strstr(ds_cstr(&s), "type=0,code=0),zone=1,timeout=5\n"));
    cr_assert(strstr(ds_cstr(&s), "dport=1),zone=2,timeout=60\n"));
    ds_clear(&s);
    /* Keys the zone policy lacks follow the default, also after it
     * changes; changes apply from each connection's next packet. */
    memset(&p, 0, sizeof p);
    p.present = 1u << CT_TP_UDP_SINGLE;
    p.attrs[CT_TP_UDP_SINGLE] = 11;
    cr_assert_eq(conntrack_default_tp_set(ct, &p), 0);
    tct1(ct, tpkt_udp4("10.0.0.1", "10.0.0.2", 1, 2, 0), &track1, T0);
    tdump(ct, NULL, &s, false, true, T0);
    cr_assert(strstr(ds_cstr(&s), "dport=1),zone=1,timeout=11\n"),
              "%s", ds_cstr(&s));
    ds_clear(&s);
    /* Deleting the zone policy: back to the default. */
    cr_assert_eq(conntrack_zone_tp_del(ct, 1), 0);
    cr_assert_eq(conntrack_zone_tp_del(ct, 1), -ENOENT);
    tct1(ct, tpkt_icmp4("10.0.0.1", "10.0.0.2", 8, 1), &track1, T0);
    tdump(ct, NULL, &s, false, true, T0);
    cr_assert(strstr(ds_cstr(&s), "type=0,code=0),zone=1,timeout=60\n"));
    ds_destroy(&s);

    /* Out of range values are refused. */
    p.attrs[CT_TP_UDP_SINGLE] = 2000000;
    cr_assert_eq(conntrack_default_tp_set(ct, &p), -ERANGE);
    conntrack_destroy(ct);
}

Test(ct_expiry, zone_policy_slots_run_out)
{
    struct conntrack *ct = tct_create();
    struct ct_timeout_policy p;

    memset(&p, 0, sizeof p);
    for (int z = 0; z < CT_MAX_ZONE_POLICIES; z++) {
        cr_assert_eq(conntrack_zone_tp_set(ct, z, &p), 0);
    }
    cr_assert_eq(conntrack_zone_tp_set(ct, 60000, &p), -ENOSPC);
    /* Updating an existing zone needs no new slot. */
    cr_assert_eq(conntrack_zone_tp_set(ct, 3, &p), 0);
    cr_assert_eq(conntrack_zone_tp_del(ct, 3), 0);
    cr_assert_eq(conntrack_zone_tp_set(ct, 60000, &p), 0);
    conntrack_destroy(ct);
}

Test(ct_expiry, sweep_is_bounded_and_complete)
{
    struct conntrack_config cfg;
    struct conntrack *ct;
    struct ct_stats st;
    size_t removed = 0, calls = 0;

    conntrack_config_init(&cfg);
    cfg.n_buckets = 4096;
    ct = conntrack_create(&cfg);
    for (int i = 0; i < 2000; i++) {
        struct tpkt *t = tpkt_udp4(i & 1 ? "10.0.0.1" : "10.0.0.3",
                                   "10.0.0.2", 1000 + i, 53, 0);
        tct(ct, t, &commit1, T0 + (i < 1000 ? 0 : 100000));
        tpkt_free(t);
    }
    cr_assert_eq(conntrack_get_nconns(ct), 2000);
    /* At T0 + 61 s the first 1000 expired, the rest not. */
    for (;;) {
        size_t n = conntrack_sweep(ct, T0 + 61000, 50);

        cr_assert_leq(n, 50 + 8);   /* at most one bucket beyond */
        removed += n;
        calls++;
        if (calls > 4096) {
            break;
        }
    }
    cr_assert_eq(removed, 1000);
    cr_assert_eq(conntrack_get_nconns(ct), 1000);
    conntrack_get_stats(ct, &st);
    cr_assert_eq(st.expired, 1000);

    /* A single small call examines only a few entries. */
    removed = conntrack_sweep(ct, T0 + 500000, 10);
    cr_assert_leq(removed, 10 + 8);
    cr_assert_lt(conntrack_get_nconns(ct), 1000 + 1);
    conntrack_destroy(ct);
}

Test(ct_expiry, expired_entry_replaced_on_lookup)
{
    struct conntrack *ct = tct_create();

    tct1(ct, tpkt_udp4("10.0.0.1", "10.0.0.2", 1, 2, 0), &commit1, T0);
    /* Long after expiry, without a sweep, a commit creates a fresh
     * entry (the stale one is removed on the way). */
    cr_assert_eq(tct1(ct, tpkt_udp4("10.0.0.2", "10.0.0.1", 2, 1, 0),
                      &commit1, T0 + 100000), ST_NEW);
    cr_assert_eq(conntrack_get_nconns(ct), 1);
    struct ds s = DS_EMPTY_INITIALIZER;
    tdump(ct, NULL, &s, false, false, T0 + 100000);
    cr_assert(strstr(ds_cstr(&s), "orig=(src=10.0.0.2,"));
    ds_destroy(&s);
    conntrack_destroy(ct);
}

Test(ct_expiry, clock_wraps_32_bits)
{
    struct conntrack *ct = tct_create();
    long long t = (1LL << 32) - 10000;  /* ct_time wraps 10 s later */

    tct1(ct, tpkt_udp4("10.0.0.1", "10.0.0.2", 1, 2, 0), &commit1, t);
    cr_assert_eq(tct1(ct, tpkt_udp4("10.0.0.2", "10.0.0.1", 2, 1, 0),
                      &track1, t + 50000), ST_RPL);
    cr_assert_eq(conntrack_sweep(ct, t + 60000, 100000), 0);
    cr_assert_eq(conntrack_sweep(ct, t + 50000 + 30001, 100000), 1);
    conntrack_destroy(ct);
}
