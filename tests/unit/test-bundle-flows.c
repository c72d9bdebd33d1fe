/* Pieces of the add-flows --bundle fast path: the flow parser's action
 * cache against plain parsing, and the in-place flow-mod encoder against
 * decoding.  (The store's CRC32C is tested in test-crc32c.c.) */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "ctl-proto.h"
#include "dynamic-string.h"
#include "match.h"
#include "ofp-flow.h"
#include "ofpact.h"
#include "util.h"

static void
parse_ok(struct ofp_flow_mod *fm, const char *text,
         struct ofp_parse_cache *cache)
{
    char *err = ofp_parse_flow_mod_cached(fm, text, OFPFC_ADD, NULL, cache);
    cr_assert(!err, "%s: %s", text, err);
}

static void
assert_same_fm(const struct ofp_flow_mod *a, const struct ofp_flow_mod *b)
{
    struct ds x = DS_EMPTY_INITIALIZER, y = DS_EMPTY_INITIALIZER;

    ofp_format_flow_mod(&x, a, NULL);
    ofp_format_flow_mod(&y, b, NULL);
    cr_assert_str_eq(ds_cstr(&x), ds_cstr(&y));
    cr_assert_eq(a->ofpacts.size, b->ofpacts.size);
    cr_assert(!a->ofpacts.size
              || !memcmp(a->ofpacts.data, b->ofpacts.data, a->ofpacts.size));
    ds_destroy(&x);
    ds_destroy(&y);
}

Test(bundle_flows, parse_cache_same_as_plain)
{
    static const char *const lines[] = {
        "priority=100,ip,nw_src=10.0.0.1,ct_state=-trk,"
        "actions=ct(table=1,zone=1)",
        "priority=100,ip,nw_src=10.0.0.2,ct_state=-trk,"
        "actions=ct(table=1,zone=1)",
        "priority=90,tcp,tp_dst=80,actions=output:2",
        "priority=90,tcp,tp_dst=81,actions=output:2",
        "priority=90,udp,tp_dst=53,actions=output:3",
        "priority=10,actions=drop",
        "priority=11,actions=drop",
        "priority=12,arp,actions=NORMAL",
        "priority=100,ip,nw_src=10.0.0.3,ct_state=-trk,"
        "actions=ct(table=1,zone=1)",
    };
    struct ofp_parse_cache cache;

    ofp_parse_cache_init(&cache);
    for (size_t i = 0; i < ARRAY_SIZE(lines); i++) {
        struct ofp_flow_mod plain, cached;
        char *err = ofp_parse_flow_mod(&plain, lines[i], OFPFC_ADD, NULL);
        cr_assert(!err, "%s", err);
        parse_ok(&cached, lines[i], &cache);
        assert_same_fm(&plain, &cached);
        ofp_flow_mod_release(&plain);
        ofp_flow_mod_release(&cached);
    }

    /* Errors are the same with the cache, and a bad line does not leave
     * its actions behind: the actions are still checked against the
     * flow's own match (mod_nw_src needs ip). */
    struct ofp_flow_mod fm;
    parse_ok(&fm, "ip,actions=mod_nw_src:10.0.0.9", &cache);
    ofp_flow_mod_release(&fm);
    char *err = ofp_parse_flow_mod_cached(&fm,
                                          "arp,actions=mod_nw_src:10.0.0.9",
                                          OFPFC_ADD, NULL, &cache);
    char *plain_err = ofp_parse_flow_mod(&fm,
                                         "arp,actions=mod_nw_src:10.0.0.9",
                                         OFPFC_ADD, NULL);
    cr_assert(err && plain_err);
    cr_assert_str_eq(err, plain_err);
    free(err);
    free(plain_err);
    err = ofp_parse_flow_mod_cached(&fm, "ip,actions=bogus", OFPFC_ADD,
                                    NULL, &cache);
    cr_assert(err && strstr(err, "bogus"), "%s", err ? err : "(none)");
    free(err);
    parse_ok(&fm, "ip,actions=ct(zone=3)", &cache);
    struct ofp_flow_mod plain;
    cr_assert(!ofp_parse_flow_mod(&plain, "ip,actions=ct(zone=3)",
                                  OFPFC_ADD, NULL));
    assert_same_fm(&plain, &fm);
    ofp_flow_mod_release(&plain);
    ofp_flow_mod_release(&fm);
    ofp_parse_cache_release(&cache);
    ofp_parse_cache_release(&cache);    /* twice is harmless */
}

/* The encoder writes the fixed part, match and actions in place and
 * patches the lengths: BUNDLE_ADD frames decode back to the same mod, and
 * one appended after another leaves the first intact. */
Test(bundle_flows, encode_in_place_round_trip)
{
    static const char *const lines[] = {
        "table=3,priority=7,cookie=0x1234,idle_timeout=5,hard_timeout=9,"
        "importance=2,send_flow_rem,ip,in_port=1,nw_src=10.1.2.0/24,"
        "ct_state=+trk+est,ct_zone=9,reg3=0x5/0xf,"
        "actions=ct(commit,zone=1,exec(set_field:1->ct_mark)),output:2",
        "priority=100,tcp6,ipv6_src=2001:db8::1,tp_dst=443,"
        "actions=drop",
    };
    struct ds buf = DS_EMPTY_INITIALIZER;
    size_t ends[ARRAY_SIZE(lines)];
    struct ofp_flow_mod fms[ARRAY_SIZE(lines)];

    for (size_t i = 0; i < ARRAY_SIZE(lines); i++) {
        struct ctl_msg msg;
        char *err = ofp_parse_flow_mod(&fms[i], lines[i], OFPFC_ADD, NULL);
        cr_assert(!err, "%s", err);
        ctl_msg_init(&msg, CTL_BUNDLE_ADD, 42 + i);
        msg.bundle.id = 7;
        msg.bundle.fm = &fms[i];
        cr_assert_eq(ctl_msg_encode(&msg, &buf), 0);
        msg.bundle.fm = NULL;
        ctl_msg_release(&msg);
        ends[i] = buf.length;
    }
    size_t start = 0;
    for (size_t i = 0; i < ARRAY_SIZE(lines); i++) {
        struct ctl_msg back;
        char *err = NULL;
        int r = ctl_msg_decode((const uint8_t *) buf.string + start,
                               ends[i] - start, &back, &err);
        cr_assert_eq(r, 0, "%s", err ? err : "");
        cr_assert_eq(back.type, CTL_BUNDLE_ADD);
        cr_assert_eq(back.xid, 42 + i);
        cr_assert_eq(back.bundle.id, 7);
        cr_assert(back.bundle.fm);
        cr_assert(match_equal(&back.bundle.fm->match, &fms[i].match));
        assert_same_fm(back.bundle.fm, &fms[i]);
        ctl_msg_release(&back);
        ofp_flow_mod_release(&fms[i]);
        start = ends[i];
    }
    ds_destroy(&buf);
}

/* ---- ofproto bundles built as mods arrive ---------------------------- */

#include "dpif.h"
#include "ofp-group.h"
#include "ofproto.h"

static struct dpif *b_dpif;
static struct ofproto *b_ofp;

static void
b_setup(void)
{
    struct dpif_config cfg = { .n_workers = 1 };

    cr_assert_eq(dpif_create("bflows", &cfg, &b_dpif), 0);
    b_ofp = ofproto_create_empty("br0", b_dpif);
}

static void
b_teardown(void)
{
    ofproto_destroy(b_ofp);
    dpif_destroy(b_dpif);
}

TestSuite(ofproto_bundle, .init = b_setup, .fini = b_teardown,
          .timeout = 30);

static int
b_add(struct ofproto_bundle *b, const char *text, enum
      ofp_flow_mod_command cmd, char **errp)
{
    struct ofp_flow_mod fm;
    char *err = ofp_parse_flow_mod(&fm, text, cmd, NULL);

    cr_assert(!err, "%s: %s", text, err);
    int r = ofproto_bundle_add(b, b_ofp, &fm, errp);
    ofp_flow_mod_release(&fm);
    return r;
}

static void
b_group(const char *text, enum ofp_group_mod_command cmd)
{
    struct ofp_group_mod gm;
    char *err = ofp_parse_group_mod(&gm, text, cmd, NULL);

    cr_assert(!err, "%s", err);
    cr_assert_eq(ofproto_group_mod(b_ofp, &gm, &err), 0, "%s", err);
    ofp_group_mod_release(&gm);
}

Test(ofproto_bundle, adds_apply_only_at_commit_in_order)
{
    struct ofproto_bundle *b = ofproto_bundle_create();
    char *err = NULL;

    for (int i = 0; i < 300; i++) {
        char text[128];
        snprintf(text, sizeof text,
                 "priority=100,ip,nw_src=10.0.%d.%d,actions=drop",
                 i / 256, i % 256);
        cr_assert_eq(b_add(b, text, OFPFC_ADD, &err), 0, "%s", err);
    }
    /* A delete after the adds removes one of them; a later add of the
     * same match replaces it. */
    cr_assert_eq(b_add(b, "priority=100,ip,nw_src=10.0.0.7",
                       OFPFC_DELETE_STRICT, &err), 0);
    cr_assert_eq(b_add(b, "priority=100,ip,nw_src=10.0.0.8,actions=output:1",
                       OFPFC_ADD, &err), 0);
    cr_assert_eq(ofproto_bundle_count(b), 302);
    cr_assert_eq(ofproto_flow_count(b_ofp, 0), 0, "applied before commit");
    cr_assert_eq(ofproto_bundle_commit(b, b_ofp, &err), 0, "%s", err);
    cr_assert_eq(ofproto_flow_count(b_ofp, 0), 299);
    cr_assert_eq(ofproto_bundle_count(b), 0);
    ofproto_bundle_destroy(b);
}

Test(ofproto_bundle, invalid_add_refused_at_once)
{
    struct ofproto_bundle *b = ofproto_bundle_create();
    char *err = NULL;

    cr_assert_eq(b_add(b, "ip,actions=drop", OFPFC_ADD, &err), 0);
    cr_assert_lt(b_add(b, "ip,actions=group:5", OFPFC_ADD, &err), 0);
    cr_assert(err && strstr(err, "group 5"), "%s", err ? err : "(none)");
    free(err);
    cr_assert_eq(ofproto_bundle_count(b), 1);
    ofproto_bundle_destroy(b);       /* frees the unapplied rule */
    cr_assert_eq(ofproto_flow_count(b_ofp, 0), 0);
}

Test(ofproto_bundle, commit_failure_changes_nothing)
{
    struct ofproto_bundle *b = ofproto_bundle_create();
    char *err = NULL;

    /* A group checked at the add, deleted before the commit. */
    b_group("group_id=5,type=all,bucket=actions=drop", OFPGC_ADD);
    cr_assert_eq(b_add(b, "priority=1,ip,actions=drop", OFPFC_ADD, &err), 0);
    cr_assert_eq(b_add(b, "priority=2,ip,actions=group:5", OFPFC_ADD, &err),
                 0, "%s", err);
    b_group("group_id=5", OFPGC_DELETE);
    cr_assert_lt(ofproto_bundle_commit(b, b_ofp, &err), 0);
    cr_assert(err && strstr(err, "flow mod 2 (add)"), "%s",
              err ? err : "(none)");
    free(err);
    cr_assert_eq(ofproto_flow_count(b_ofp, 0), 0);

    /* An overlap found while inserting: the earlier adds are undone. */
    cr_assert_eq(b_add(b, "priority=5,ip,nw_src=10.0.0.1,actions=drop",
                       OFPFC_ADD, &err), 0);
    cr_assert_eq(b_add(b, "priority=5,check_overlap,ip,nw_src=10.0.0.0/24,"
                       "actions=drop", OFPFC_ADD, &err), 0);
    cr_assert_lt(ofproto_bundle_commit(b, b_ofp, &err), 0);
    cr_assert(err && strstr(err, "flow mod 2 (add)"), "%s",
              err ? err : "(none)");
    free(err);
    cr_assert_eq(ofproto_flow_count(b_ofp, 0), 0);
    ofproto_bundle_destroy(b);
}
