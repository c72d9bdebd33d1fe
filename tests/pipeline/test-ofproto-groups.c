/* Pipeline tests of OpenFlow groups: the text syntax (ofp-group), all,
 * select (spreading by weight), indirect and fast-failover groups through
 * the real dpif, revalidation after group changes, deletion of the flows
 * that use a deleted group, dump-groups lines and group statistics. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include "dpif.h"
#include "dynamic-string.h"
#include "helper-packets.h"
#include "ofp-flow.h"
#include "ofp-group.h"
#include "ofpact.h"
#include "ofproto.h"

#define N_PORTS 4
#define WAIT_MS 3000
#define SETTLE_MS 40

static struct dpif *dpif;
static struct ofproto *ofp;

static void
setup(void)
{
    struct dpif_config cfg = { .n_workers = 1 };

    cr_assert_eq(dpif_create("grp", &cfg, &dpif), 0);
    ofp = ofproto_create_empty("br0", dpif);
    for (uint32_t i = 1; i <= N_PORTS; i++) {
        char name[16];
        char *msg = NULL;
        uint32_t port_no = i;

        snprintf(name, sizeof name, "p%u", i);
        cr_assert_eq(dpif_port_add(dpif, name, "dummy", NULL, &port_no,
                                   &msg), 0);
        cr_assert_eq(ofproto_port_added(ofp, i, name), 0);
    }
}

static void
teardown(void)
{
    ofproto_destroy(ofp);
    dpif_destroy(dpif);
}

TestSuite(groups, .init = setup, .fini = teardown, .timeout = 30);
TestSuite(group_text, .timeout = 10);

static int
group_mod(const char *text, enum ofp_group_mod_command cmd, char **errp)
{
    struct ofp_group_mod gm;
    char *err = ofp_parse_group_mod(&gm, text, cmd, NULL);
    int ret;

    cr_assert_null(err, "parse '%s': %s", text, err);
    ret = ofproto_group_mod(ofp, &gm, errp);
    ofp_group_mod_release(&gm);
    return ret;
}

static void
group_ok(const char *text, enum ofp_group_mod_command cmd)
{
    char *err = NULL;

    cr_assert_eq(group_mod(text, cmd, &err), 0, "'%s': %s", text,
                 err ? err : "?");
}

static void
add(const char *text)
{
    struct ofp_flow_mod fm;
    char *err = ofp_parse_flow_mod(&fm, text, OFPFC_ADD, NULL);

    cr_assert_null(err, "parse '%s': %s", text, err);
    cr_assert_eq(ofproto_flow_mod(ofp, &fm, &err), 0, "'%s': %s", text,
                 err ? err : "?");
    ofp_flow_mod_release(&fm);
}

static size_t
udp(uint8_t *buf, uint16_t sport)
{
    return pkt_udp4(buf, pkt_mac(2), pkt_mac(1), 0x0a000001, 0x0a000002,
                    sport, 53, 10);
}

/* Sends one frame on port 1 and returns the ports' frame counts. */
static void
send_count(uint16_t sport, int expect, int got[N_PORTS + 1])
{
    uint8_t buf[PKT_MAX];
    size_t len = udp(buf, sport);
    int total = 0;

    pkt_inject(dpif, 1, buf, len);
    memset(got, 0, (N_PORTS + 1) * sizeof got[0]);
    for (int waited = 0; waited < WAIT_MS && total < expect; waited += 2) {
        pkt_sleep_ms(2);
        for (uint32_t p = 1; p <= N_PORTS; p++) {
            int n = pkt_drain(dpif, p);

            got[p] += n;
            total += n;
        }
    }
    pkt_sleep_ms(SETTLE_MS);
    for (uint32_t p = 1; p <= N_PORTS; p++) {
        got[p] += pkt_drain(dpif, p);
    }
}

static void
expect_ports(uint16_t sport, int g2, int g3, int g4)
{
    int got[N_PORTS + 1];

    send_count(sport, g2 + g3 + g4, got);
    cr_assert(got[1] == 0 && got[2] == g2 && got[3] == g3 && got[4] == g4,
              "got %d,%d,%d,%d expected 0,%d,%d,%d", got[1], got[2],
              got[3], got[4], g2, g3, g4);
}

/* ---- Text --------------------------------------------------------------- */

static char *
roundtrip(const char *text)
{
    struct ofp_group_mod gm;
    struct ds s = DS_EMPTY_INITIALIZER;
    char *err = ofp_parse_group_mod(&gm, text, OFPGC_ADD, NULL);

    cr_assert_null(err, "'%s': %s", text, err);
    ofp_format_group_desc(&s, &gm, NULL);
    ofp_group_mod_release(&gm);
    return ds_steal_cstr(&s);
}

Test(group_text, parse_and_format)
{
    char *s = roundtrip("group_id=1,type=select,bucket=actions=output:1,"
                        "bucket=weight:50,actions=output:2");
    cr_assert_str_eq(s, " group_id=1,type=select,bucket=bucket_id:0,"
                     "actions=output:1,bucket=bucket_id:1,weight:50,"
                     "actions=output:2");
    free(s);
    s = roundtrip("group_id=7,type=all,bucket=output:1,"
                  "bucket=mod_dl_dst:02:00:00:00:00:09,output:2");
    cr_assert_str_eq(s, " group_id=7,type=all,bucket=bucket_id:0,"
                     "actions=output:1,bucket=bucket_id:1,"
                     "actions=mod_dl_dst:02:00:00:00:00:09,output:2");
    free(s);
    s = roundtrip("group_id=3,type=ff,bucket=watch_port:2,actions=output:2,"
                  "bucket=bucket_id:9,watch_port:3,actions=output:3");
    cr_assert_str_eq(s, " group_id=3,type=ff,bucket=bucket_id:0,"
                     "watch_port:2,actions=output:2,bucket=bucket_id:9,"
                     "watch_port:3,actions=output:3");
    free(s);
    s = roundtrip("group_id=4,type=select,selection_method=hash,"
                  "bucket=actions=output:1");
    cr_assert_str_eq(s, " group_id=4,type=select,selection_method=hash,"
                     "bucket=bucket_id:0,actions=output:1");
    free(s);
    /* The printed form parses back to the same text. */
    s = roundtrip("group_id=5,type=indirect,bucket=bucket_id:0,"
                  "actions=clone(output:1),output:2");
    char *again = roundtrip(s + 1);
    cr_assert_str_eq(s, again);
    free(s);
    free(again);
}

Test(group_text, errors)
{
    static const char *const bad[] = {
        "type=all,bucket=output:1",
        "group_id=1,type=foo",
        "group_id=1,type=indirect,bucket=output:1,bucket=output:2",
        "group_id=1,type=all,bucket=output:1,bucket=bucket_id:0,output:2",
        "group_id=1,type=all,bucket=frobnicate",
        "group_id=all,type=all",
        "group_id=1,colour=blue",
    };

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct ofp_group_mod gm;
        char *err = ofp_parse_group_mod(&gm, bad[i], OFPGC_ADD, NULL);

        cr_assert_not_null(err, "'%s' accepted", bad[i]);
        free(err);
    }
    struct ofp_group_mod gm;
    cr_assert_null(ofp_parse_group_mod(&gm, "group_id=all", OFPGC_DELETE,
                                       NULL));
    cr_assert_eq(gm.group_id, OFPG_ALL);
    ofp_group_mod_release(&gm);
}

/* ---- Forwarding --------------------------------------------------------- */

Test(groups, all_group_copies_with_per_bucket_changes)
{
    uint8_t in[PKT_MAX], exp[PKT_MAX], out[PKT_MAX];
    size_t len, elen, olen;

    group_ok("group_id=1,type=all,bucket=mod_dl_dst:02:00:00:00:00:33,"
             "output:3,bucket=output:2", OFPGC_ADD);
    add("in_port=1,actions=group:1,output:4");
    len = udp(in, 1000);
    pkt_inject(dpif, 1, in, len);
    cr_assert_eq(pkt_collect(dpif, 3, 1, WAIT_MS, SETTLE_MS, out, &olen), 1);
    memcpy(exp, in, len);
    elen = len;
    exp[5] = 0x33;
    cr_assert_eq(olen, elen);
    cr_assert_arr_eq(out, exp, elen);
    /* The bucket ran on a copy: port 2 and 4 get the original. */
    cr_assert_eq(pkt_collect(dpif, 2, 1, WAIT_MS, SETTLE_MS, out, &olen), 1);
    cr_assert_arr_eq(out, in, len);
    cr_assert_eq(pkt_collect(dpif, 4, 1, WAIT_MS, SETTLE_MS, out, &olen), 1);
    cr_assert_arr_eq(out, in, len);

    struct ds s = DS_EMPTY_INITIALIZER;
    ofproto_trace_packet(ofp, 1, in, len, &s);
    cr_assert(strstr(ds_cstr(&s), "Datapath actions: clone(set(eth(dst="
                     "02:00:00:00:00:33)),3),2,4\n"), "%s", ds_cstr(&s));
    ds_destroy(&s);
}

Test(groups, select_spreads_by_weight)
{
    enum { N = 400 };
    uint8_t buf[PKT_MAX];
    int got2, got3, total = 0;

    group_ok("group_id=2,type=select,bucket=weight:1,actions=output:2,"
             "bucket=weight:3,actions=output:3", OFPGC_ADD);
    add("in_port=1,actions=group:2");
    for (int i = 0; i < N; i++) {
        size_t len = udp(buf, (uint16_t) (2000 + i));

        pkt_inject(dpif, 1, buf, len);
    }
    got2 = got3 = 0;
    for (int waited = 0; waited < 5000 && total < N; waited += 5) {
        pkt_sleep_ms(5);
        got2 += pkt_drain(dpif, 2);
        got3 += pkt_drain(dpif, 3);
        total = got2 + got3;
    }
    cr_assert_eq(total, N, "only %d of %d frames", total, N);
    /* Expected 100 : 300; allow wide statistical slack. */
    cr_assert(got2 > 60 && got2 < 140, "port 2 got %d, port 3 %d", got2,
              got3);

    /* The same flow always picks the same bucket. */
    int got[N_PORTS + 1];
    send_count(2000, 1, got);
    int first = got[2] ? 2 : 3;
    for (int i = 0; i < 5; i++) {
        send_count(2000, 1, got);
        cr_assert_eq(got[first], 1);
    }
}

Test(groups, indirect_and_chained)
{
    group_ok("group_id=5,type=indirect,bucket=output:4", OFPGC_ADD);
    group_ok("group_id=6,type=all,bucket=group:5,bucket=output:2",
             OFPGC_ADD);
    add("in_port=1,actions=group:6");
    expect_ports(1000, 1, 0, 1);
}

Test(groups, fast_failover_follows_port_liveness)
{
    group_ok("group_id=3,type=ff,bucket=watch_port:2,actions=output:2,"
             "bucket=watch_port:3,actions=output:3", OFPGC_ADD);
    add("in_port=1,actions=group:3");
    expect_ports(1000, 1, 0, 0);
    cr_assert_eq(ofproto_port_removed(ofp, 2), 0);
    expect_ports(1000, 0, 1, 0);
}

Test(groups, modify_revalidates)
{
    group_ok("group_id=1,type=all,bucket=output:2", OFPGC_ADD);
    add("in_port=1,actions=group:1");
    expect_ports(1000, 1, 0, 0);
    expect_ports(1000, 1, 0, 0);        /* now from the megaflow */
    group_ok("group_id=1,type=all,bucket=output:3", OFPGC_MODIFY);
    expect_ports(1000, 0, 1, 0);
    group_ok("group_id=1,type=select,bucket=output:4", OFPGC_ADD_OR_MOD);
    expect_ports(1000, 0, 0, 1);

    char *err = NULL;
    cr_assert_eq(group_mod("group_id=1,type=all,bucket=output:2", OFPGC_ADD,
                           &err), -EEXIST);
    cr_assert(strstr(err, "already exists"), "%s", err);
    free(err);
    err = NULL;
    cr_assert_eq(group_mod("group_id=9,type=all,bucket=output:2",
                           OFPGC_MODIFY, &err), -ENOENT);
    free(err);
    err = NULL;
    cr_assert_neq(group_mod("group_id=9,type=all,bucket=group:9", OFPGC_ADD,
                            &err), 0);
    free(err);
    err = NULL;
    cr_assert_neq(group_mod("group_id=9,type=all,bucket=group:77",
                            OFPGC_ADD, &err), 0);
    cr_assert(strstr(err, "group 77 does not exist"), "%s", err);
    free(err);
}

static int n_removed;
static enum ofproto_removed_reason last_reason;

static void
removed_cb(void *aux, const struct ofp_flow_stats *fs,
           enum ofproto_removed_reason reason)
{
    (void) aux;
    (void) fs;
    n_removed++;
    last_reason = reason;
}

Test(groups, delete_removes_flows_using_it)
{
    ofproto_set_flow_removed_cb(ofp, removed_cb, NULL);
    group_ok("group_id=1,type=all,bucket=output:2", OFPGC_ADD);
    group_ok("group_id=2,type=all,bucket=output:3", OFPGC_ADD);
    add("priority=10,in_port=1,actions=group:1");
    add("priority=5,in_port=1,actions=output:4");
    add("priority=5,in_port=2,actions=clone(group:2)");
    expect_ports(1000, 1, 0, 0);
    n_removed = 0;
    group_ok("group_id=1", OFPGC_DELETE);
    cr_assert_eq(n_removed, 1);
    cr_assert_eq(last_reason, OFPROTO_RR_GROUP_DELETE);
    cr_assert_eq(ofproto_group_count(ofp), 1);
    expect_ports(1000, 0, 0, 1);        /* the lower-priority flow now */
    group_ok("group_id=all", OFPGC_DELETE);
    cr_assert_eq(n_removed, 2);
    cr_assert_eq(ofproto_group_count(ofp), 0);
    cr_assert_eq(ofproto_flow_count(ofp, 0xff), 1);
    group_ok("group_id=44", OFPGC_DELETE);  /* absent: not an error */
}

struct dump {
    struct ds s;
    struct ofp_group_stats st[4];
    uint64_t b0[4], b1[4];
    int n;
};

static void
dump_cb(void *aux, const struct ofp_group_mod *desc,
        const struct ofp_group_stats *st)
{
    struct dump *d = aux;

    ofp_format_group_desc(&d->s, desc, NULL);
    ds_put_char(&d->s, '\n');
    if (d->n < 4) {
        d->st[d->n] = *st;
        d->b0[d->n] = st->n_buckets > 0 ? st->buckets[0].packet_count : 0;
        d->b1[d->n] = st->n_buckets > 1 ? st->buckets[1].packet_count : 0;
    }
    d->n++;
}

Test(groups, dump_and_stats)
{
    struct dump d = { .s = DS_EMPTY_INITIALIZER };

    group_ok("group_id=10,type=all,bucket=output:2,bucket=output:3",
             OFPGC_ADD);
    group_ok("group_id=2,type=indirect,bucket=output:4", OFPGC_ADD);
    add("in_port=1,udp,tp_dst=53,actions=group:10");
    add("in_port=1,udp,tp_dst=54,actions=group:10");
    for (int i = 0; i < 3; i++) {
        expect_ports(1000, 1, 1, 0);
    }
    cr_assert_eq(ofproto_dump_groups(ofp, OFPG_ALL, dump_cb, &d), 2);
    cr_assert_str_eq(ds_cstr(&d.s),
                     " group_id=2,type=indirect,bucket=bucket_id:0,"
                     "actions=output:4\n"
                     " group_id=10,type=all,bucket=bucket_id:0,"
                     "actions=output:2,bucket=bucket_id:1,"
                     "actions=output:3\n");
    cr_assert_eq(d.st[0].ref_count, 0);
    cr_assert_eq(d.st[1].group_id, 10);
    cr_assert_eq(d.st[1].ref_count, 2);
    cr_assert_eq(d.st[1].packet_count, 3);
    cr_assert_eq(d.st[1].byte_count, 3 * 52);
    cr_assert_eq(d.b0[1], 3);
    cr_assert_eq(d.b1[1], 3);

    struct ds line = DS_EMPTY_INITIALIZER;
    struct ofp_bucket_stats bs[2] = { { 3, 156 }, { 3, 156 } };
    struct ofp_group_stats gs = {
        .group_id = 10, .ref_count = 2, .packet_count = 3,
        .byte_count = 156, .duration_msec = 1234, .n_buckets = 2,
        .buckets = bs,
    };
    ofp_format_group_stats(&line, &gs);
    cr_assert_str_eq(ds_cstr(&line), " group_id=10,duration=1.234s,"
                     "ref_count=2,packet_count=3,byte_count=156,"
                     "bucket0:packet_count=3,byte_count=156,"
                     "bucket1:packet_count=3,byte_count=156");
    ds_destroy(&line);
    ds_destroy(&d.s);

    d = (struct dump) { .s = DS_EMPTY_INITIALIZER };
    cr_assert_eq(ofproto_dump_groups(ofp, 2, dump_cb, &d), 1);
    ds_destroy(&d.s);
}
