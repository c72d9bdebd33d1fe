/* Unit tests for lib/ctl-proto (codec), lib/stream (unix sockets) and
 * lib/json, plus vsctl's argument handling and output (vsctl is run as a
 * subprocess against a small fake daemon built from the same codec). */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl-proto.h"
#include "ctl-proto-private.h"
#include "dynamic-string.h"
#include "errors.h"
#include "json.h"
#include "match.h"
#include "meta-flow.h"
#include "ofp-flow.h"
#include "ofp-group.h"
#include "ofp-port-map.h"
#include "ofpact.h"
#include "stream.h"
#include "util.h"

/* An assertion that reports only failures: the runner's --full-stats
 * sends every passing cr_assert to the parent, far too slow for loops
 * that decode hundreds of thousands of messages. */
#define CHECK(COND, ...)                                                  \
    do {                                                                  \
        if (!(COND)) {                                                    \
            cr_assert_fail(__VA_ARGS__);                                  \
        }                                                                 \
    } while (0)

/* ---- Sample messages ----------------------------------------------------- */

static struct ofp_flow_mod *
sample_fm(int variant)
{
    struct ofp_flow_mod *fm = ctl_flow_mod_create(variant == 1 ? OFPFC_ADD
                                                  : OFPFC_MODIFY_STRICT);
    struct match *m = &fm->match;
    struct ofpacts *o = &fm->ofpacts;

    fm->table_id = 3;
    fm->priority = 1234;
    fm->cookie = 0x1122334455667788ULL;
    fm->cookie_mask = UINT64_MAX;
    fm->new_cookie = 0xabcdef;
    fm->modify_cookie = true;
    fm->idle_timeout = 10;
    fm->hard_timeout = 20;
    fm->importance = 7;
    fm->out_port = 5;
    fm->flags = OFPFF_SEND_FLOW_REM | OFPFF_NO_BYT_COUNTS;

    if (variant == 0) {
        match_set_in_port(m, 7);
        match_set_dl_type(m, htons(0x0800));
        match_set_nw_src_masked(m, htonl(0x0a000000), htonl(0xff000000));
        match_set_nw_dst_masked(m, htonl(0xc0a80101), UINT32_MAX);
        match_set_nw_proto(m, 6);
        match_set_tp_dst_masked(m, htons(80), UINT16_MAX);
        match_set_tcp_flags_masked(m, htons(0x002), htons(0x012));
        match_set_ct_state_masked(m, CS_TRACKED | CS_ESTABLISHED,
                                  CS_TRACKED | CS_ESTABLISHED | CS_NEW);
        match_set_ct_zone(m, 9);
        match_set_ct_mark_masked(m, 0x5, 0xf);
        match_set_reg_masked(m, 3, 0xdead, 0xffff);
        match_set_metadata_masked(m, 0x0102030405060708ULL, UINT64_MAX);
        match_set_dl_src(m, (struct eth_addr) { { 0, 1, 2, 3, 4, 5 } });
        match_set_vlan_tci_masked(m, htons(0x1000 | 10), htons(0x1fff));
        match_set_nw_tos(m, 0x28);
        match_set_nw_ecn(m, 2);
        match_set_nw_ttl(m, 64);
        match_set_nw_frag_masked(m, 0, FLOW_NW_FRAG_ANY);
        match_set_pkt_mark_masked(m, 0x77, 0xff);

        ofpact_put_OUTPUT(o)->port = 2;
        ofpact_put_NORMAL(o);
        ofpact_put_FLOOD(o);
        ofpact_put_ALL(o);
        ofpact_put_IN_PORT(o);
        ofpact_put_LOCAL(o);
        struct ofpact_controller *c = (struct ofpact_controller *) (void *)
            ofpacts_put(o, OFPACT_CONTROLLER, sizeof *c + 3);
        c->max_len = 128;
        c->controller_id = 4;
        c->reason = OFPR_ACTION;
        c->userdata_len = 3;
        memcpy(c->userdata, "abc", 3);
        struct ofpact_resubmit *r = ofpact_put_RESUBMIT(o);
        r->in_port = OFPP_IN_PORT;
        r->table_id = 5;
        r->with_ct_orig = true;
        ofpact_put_GOTO_TABLE(o)->table_id = 9;
        struct ofpact_set_field *sf = ofpact_put_SET_FIELD(o);
        sf->field = mf_from_id(MFF_REG0);
        sf->value.u32 = 0x12345678;
        sf->mask.u32 = UINT32_MAX;
        sf = ofpact_put_LOAD(o);
        sf->field = mf_from_id(MFF_DL_DST);
        memset(&sf->value.mac, 0xaa, 6);
        memset(&sf->mask.mac, 0xff, 6);
        struct ofpact_move *mv = ofpact_put_MOVE(o);
        mv->src = (struct mf_subfield) { mf_from_id(MFF_REG1), 0, 16 };
        mv->dst = (struct mf_subfield) { mf_from_id(MFF_TP_DST), 0, 16 };
        struct ofpact_output_reg *oreg = ofpact_put_OUTPUT_REG(o);
        oreg->max_len = 0xffff;
        oreg->src = (struct mf_subfield) { mf_from_id(MFF_REG2), 0, 16 };
        ofpact_put_PUSH_VLAN(o)->ethertype = 0x88a8;
        ofpact_put_POP_VLAN(o)->strip_vlan = true;
        struct ofpact_vlan_vid *vid = ofpact_put_SET_VLAN_VID(o);
        vid->vlan_vid = 100;
        vid->push_vlan_if_needed = true;
        ofpact_put_SET_VLAN_PCP(o)->vlan_pcp = 5;
        memset(&ofpact_put_SET_ETH_SRC(o)->mac, 0x11, 6);
        memset(&ofpact_put_SET_ETH_DST(o)->mac, 0x22, 6);
        ofpact_put_SET_IPV4_SRC(o)->ipv4 = htonl(0x01020304);
        ofpact_put_SET_IPV4_DST(o)->ipv4 = htonl(0x05060708);
        ofpact_put_SET_IP_DSCP(o)->dscp = 0xb8;
        ofpact_put_SET_IP_ECN(o)->ecn = 1;
        ofpact_put_SET_IP_TTL(o)->ttl = 17;
        struct ofpact_l4_port *l4 = ofpact_put_SET_L4_SRC_PORT(o);
        l4->port = 1000;
        l4->flow_ip_proto = 6;
        ofpact_put_SET_L4_DST_PORT(o)->port = 2000;
        ofpact_put_DEC_TTL(o);
        ofpact_put_GROUP(o)->group_id = 42;
        struct ofpact_note *note = (struct ofpact_note *) (void *)
            ofpacts_put(o, OFPACT_NOTE, sizeof *note + 5);
        note->length = 5;
        memcpy(note->data, "\x01\x02\x03\x04\x05", 5);
        ofpact_put_CT_CLEAR(o);
    } else {
        struct in6_addr a, mask;
        memset(&a, 0x20, sizeof a);
        memset(&mask, 0xff, sizeof mask);
        match_set_dl_type(m, htons(0x86dd));
        match_set_ipv6_src_masked(m, &a, &mask);
        match_set_nw_proto(m, 58);
        match_set_recirc_id(m, 99);
        match_set_dp_hash_masked(m, 0x10, 0xf0);

        size_t ofs = o->size;
        ofpact_put_CLONE(o);
        ofpact_put_OUTPUT(o)->port = 3;
        ofpact_put_DEC_TTL(o);
        ofpacts_update_len(o, ofs);

        ofs = o->size;
        struct ofpact_conntrack *ct = ofpact_put_CT(o);
        ct->flags = NX_CT_F_COMMIT;
        ct->zone_src = (struct mf_subfield) { mf_from_id(MFF_REG4), 0, 16 };
        ct->alg = 21;
        ct->recirc_table = 4;
        struct ofpact_set_field *sf = ofpact_put_SET_FIELD(o);
        sf->field = mf_from_id(MFF_CT_MARK);
        sf->value.u32 = 1;
        sf->mask.u32 = 1;
        struct ofpact_nat *nat = ofpact_put_NAT(o);
        nat->flags = NX_NAT_F_SRC | NX_NAT_F_PERSISTENT;
        nat->range_af = AF_INET6;
        memset(&nat->range_addr.ipv6.min, 1, 16);
        memset(&nat->range_addr.ipv6.max, 2, 16);
        nat->proto_min = 1000;
        nat->proto_max = 2000;
        ofpacts_update_len(o, ofs);

        ofs = o->size;
        ct = ofpact_put_CT(o);
        ct->zone_imm = 5;
        ct->recirc_table = NX_CT_RECIRC_NONE;
        nat = ofpact_put_NAT(o);
        nat->flags = NX_NAT_F_DST;
        nat->range_af = AF_INET;
        nat->range_addr.ipv4.min = htonl(0x0a000001);
        nat->range_addr.ipv4.max = htonl(0x0a0000ff);
        ofpacts_update_len(o, ofs);
    }
    return fm;
}

static struct ofp_flow_stats *
sample_fs(int variant, struct ofp_flow_mod **fmp)
{
    struct ofp_flow_mod *fm = sample_fm(variant);
    struct ofp_flow_stats *fs = xzalloc(sizeof *fs);

    fs->table_id = 1 + variant;
    fs->priority = 100 + variant;
    fs->cookie = 0xfeed;
    fs->duration_msec = 123456;
    fs->idle_timeout = 1;
    fs->hard_timeout = 2;
    fs->importance = 3;
    fs->flags = OFPFF_SEND_FLOW_REM;
    fs->idle_age_msec = variant ? -1 : 5000;
    fs->n_packets = 1ULL << 40;
    fs->n_bytes = (1ULL << 50) + 3;
    fs->match = fm->match;
    fs->ofpacts = (const struct ofpact *) (void *) fm->ofpacts.data;
    fs->ofpacts_len = fm->ofpacts.size;
    *fmp = fm;
    return fs;
}

/* Samples 0..N_BASE_SAMPLES-1 are make_sample()'s switch; the packet
 * capture samples (make_capture_sample) follow. */
enum { N_BASE_SAMPLES = 68, N_CAPTURE_SAMPLES = 5,
       N_SAMPLES = N_BASE_SAMPLES + N_CAPTURE_SAMPLES };

/* Packet capture messages (types 113-116). */
static bool
make_capture_sample(int i, uint32_t xid, struct ctl_msg *msg)
{
    static const uint8_t frame[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };

    switch (i) {
    case 0:
        ctl_msg_init(msg, CTL_CAPTURE_START, xid);
        msg->capture_start.bridge = xstrdup("br0");
        msg->capture_start.port = xstrdup("p1");
        msg->capture_start.flags = CTL_CAPF_RX | CTL_CAPF_TX;
        msg->capture_start.snaplen = 96;
        msg->capture_start.buffer_kb = 4;
        msg->capture_start.filter = xstrdup("udp port 5555");
        return false;
    case 1:
        ctl_msg_init(msg, CTL_CAPTURE_PACKET, xid);
        msg->capture_packet.ts_ns = 1700000000123456789ULL;
        msg->capture_packet.port = 0xfffe;
        msg->capture_packet.direction = CTL_CAPF_TX;
        msg->capture_packet.orig_len = 1514;
        msg->capture_packet.data = xmemdup(frame, sizeof frame);
        msg->capture_packet.len = sizeof frame;
        return true;
    case 2:
        ctl_msg_init(msg, CTL_CAPTURE_STOP, xid);
        msg->capture_stop.capture_xid = 0x77;
        return false;
    case 3:
        ctl_msg_init(msg, CTL_CAPTURE_END, xid);
        msg->capture_end.capture_xid = 0x77;
        msg->capture_end.reason = CTL_CAPE_PORT_GONE;
        msg->capture_end.captured = 1ULL << 40;
        msg->capture_end.dropped = 3;
        return false;
    case 4:
        /* No filter, an empty packet. */
        ctl_msg_init(msg, CTL_CAPTURE_START, xid);
        msg->capture_start.bridge = xstrdup("br0");
        msg->capture_start.port = xstrdup("br0");
        msg->capture_start.flags = CTL_CAPF_RX;
        msg->capture_start.filter = xstrdup("");
        return false;
    default:
        cr_assert_fail("no capture sample %d", i);
        return false;
    }
}

/* A select group with two buckets, one with a watch port. */
static struct ofp_group_mod *
sample_gm(enum ofp_group_mod_command command)
{
    struct ofp_group_mod *gm = xmalloc(sizeof *gm);
    char *err = ofp_parse_group_mod(
        gm, "group_id=7,type=select,selection_method=hash,"
        "bucket=bucket_id:3,weight:20,actions=output:1,"
        "bucket=watch_port:2,actions=mod_dl_src:00:00:00:00:00:09,output:2",
        command, NULL);
    cr_assert_null(err, "%s", err);
    return gm;
}

/* Builds sample number 'i'.  Returns true if the message ends with a
 * "rest of the body" field (so a shorter frame may still be valid). */
static bool
make_sample(int i, struct ctl_msg *msg)
{
    uint32_t xid = 0x1000 + i;
    struct ctl_port *p;
    struct ctl_show_bridge *b;
    struct ofp_flow_mod *fm;
    struct ofp_flow_stats *fs;

    if (i >= N_BASE_SAMPLES) {
        return make_capture_sample(i - N_BASE_SAMPLES, xid, msg);
    }
    switch (i) {
    case 0:
        ctl_msg_init_hello(msg, xid);
        return false;
    case 1:
        ctl_msg_init_error(msg, xid, CTL_ET_FAILED, -TS_ERR_NO_BRIDGE,
                           "cannot add port 'p1': no bridge 'br9'");
        return true;
    case 2:
        ctl_msg_init(msg, CTL_ECHO_REQUEST, xid);
        msg->echo.data = xmemdup("ping\0pong", 9);
        msg->echo.size = 9;
        return true;
    case 3:
        ctl_msg_init(msg, CTL_ECHO_REPLY, xid);
        return true;
    case 4:
        ctl_msg_init(msg, CTL_BARRIER_REQUEST, xid);
        return false;
    case 5:
        ctl_msg_init(msg, CTL_BARRIER_REPLY, xid);
        return false;
    case 6:
        ctl_msg_init(msg, CTL_OK, xid);
        return false;
    case 7:
        ctl_msg_init(msg, CTL_ADD_BR, xid);
        msg->br.name = xstrdup("br0");
        msg->br.flags = CTL_CF_MAY_EXIST;
        return false;
    case 8:
        ctl_msg_init(msg, CTL_DEL_BR, xid);
        msg->br.name = xstrdup("br-long-name");
        return false;
    case 9:
        ctl_msg_init(msg, CTL_ADD_PORT, xid);
        msg->port.bridge = xstrdup("br0");
        msg->port.name = xstrdup("veth0");
        msg->port.type = xstrdup("afxdp");
        msg->port.ofport = 12;
        smap_replace(&msg->port.options, "n_rxq", "2");
        smap_replace(&msg->port.options, "xdp-mode", "native-with-zerocopy");
        return false;
    case 10:
        ctl_msg_init(msg, CTL_DEL_PORT, xid);
        msg->port.bridge = xstrdup("br0");
        msg->port.name = xstrdup("veth0");
        msg->port.flags = CTL_CF_IF_EXISTS;
        return false;
    case 11:
    case 12:
        ctl_msg_init(msg, CTL_FLOW_MOD, xid);
        msg->flow_mod.bridge = xstrdup("br0");
        msg->flow_mod.fm = sample_fm(i - 11);
        return false;
    case 13:
        ctl_msg_init(msg, CTL_BUNDLE_OPEN, xid);
        msg->bundle.id = 77;
        msg->bundle.flags = CTL_BF_ATOMIC;
        msg->bundle.bridge = xstrdup("br0");
        return false;
    case 14:
        ctl_msg_init(msg, CTL_BUNDLE_ADD, xid);
        msg->bundle.id = 77;
        msg->bundle.fm = sample_fm(1);
        return false;
    case 15:
        ctl_msg_init(msg, CTL_BUNDLE_COMMIT, xid);
        msg->bundle.id = 77;
        return false;
    case 16:
        ctl_msg_init(msg, CTL_BUNDLE_DISCARD, xid);
        msg->bundle.id = 78;
        return false;
    case 17: {
        ctl_msg_init(msg, CTL_PACKET_OUT, xid);
        msg->packet_out.bridge = xstrdup("br0");
        msg->packet_out.in_port = CTL_PORT_NONE;
        msg->packet_out.packet = xmemdup("\xff\xff\xff\xff\xff\xff\x00\x01"
                                         "\x02\x03\x04\x05\x08\x06", 14);
        msg->packet_out.packet_len = 14;
        struct ofpacts o;
        ofpacts_init(&o);
        ofpact_put_OUTPUT(&o)->port = 4;
        ofpact_put_FLOOD(&o);
        msg->packet_out.ofpacts = (struct ofpact *) (void *) o.data;
        msg->packet_out.ofpacts_len = o.size;
        return true;
    }
    case 18:
        ctl_msg_init(msg, CTL_LOG_LEVEL_REQUEST, xid);
        msg->log_level.spec = xstrdup("netdev_afxdp:dbg");
        return false;
    case 19:
        ctl_msg_init(msg, CTL_LOG_LEVEL_REPLY, xid);
        smap_replace(&msg->kv, "ctl_server", "info");
        smap_replace(&msg->kv, "dpif", "dbg");
        return false;
    case 20:
        ctl_msg_init(msg, CTL_STATUS_REQUEST, xid);
        return false;
    case 21:
        ctl_msg_init(msg, CTL_STATUS_REPLY, xid);
        smap_replace(&msg->kv, "version", "0.1.0");
        smap_replace(&msg->kv, "uptime", "12s");
        return false;
    case 22:
        ctl_msg_init_mp_request(msg, xid, CTL_MP_LIST_BR, NULL);
        return false;
    case 23:
        ctl_msg_init_mp_request(msg, xid, CTL_MP_LIST_PORTS, "br0");
        return false;
    case 24:
        ctl_msg_init_mp_request(msg, xid, CTL_MP_SHOW, NULL);
        return false;
    case 25:
        ctl_msg_init_mp_request(msg, xid, CTL_MP_DUMP_FLOWS, "br0");
        msg->mp_request.dump_flows.flags = CTL_DF_STRICT | CTL_DF_NO_STATS;
        msg->mp_request.dump_flows.filter = sample_fm(0);
        return false;
    case 26:
        ctl_msg_init_mp_request(msg, xid, CTL_MP_DUMP_PORTS, "br0");
        msg->mp_request.port = CTL_PORT_ALL;
        return false;
    case 27:
        ctl_msg_init_mp_request(msg, xid, CTL_MP_DUMP_DP_FLOWS, "br0");
        return false;
    case 28:
        ctl_msg_init_mp_request(msg, xid, CTL_MP_TRACE, "br0");
        msg->mp_request.trace.flow = xstrdup("in_port=1,tcp,tp_dst=80");
        return false;
    case 29:
        ctl_msg_init_mp_request(msg, xid, CTL_MP_TRACE, "br0");
        msg->mp_request.trace.in_port = 3;
        msg->mp_request.trace.packet = xmemdup("0123456789abcdef", 16);
        msg->mp_request.trace.packet_len = 16;
        return true;
    case 30:
        ctl_msg_init_mp_reply(msg, xid, CTL_MP_LIST_BR);
        ctl_mp_reply_add_bridge(msg, "br0");
        ctl_mp_reply_add_bridge(msg, "br1");
        msg->mp_reply.flags = CTL_MPF_MORE;
        return false;
    case 31:
        ctl_msg_init_mp_reply(msg, xid, CTL_MP_LIST_PORTS);
        p = ctl_mp_reply_add_port(msg, "p1", "tap", 1);
        smap_replace(&p->options, "mtu", "9000");
        ctl_mp_reply_add_port(msg, "br0", "internal", OFPP_LOCAL);
        return false;
    case 32:
        ctl_msg_init_mp_reply(msg, xid, CTL_MP_SHOW);
        b = ctl_mp_reply_add_show_bridge(msg, "br0");
        ctl_show_bridge_add_port(b, "br0", "internal", OFPP_LOCAL);
        p = ctl_show_bridge_add_port(b, "p1", "afpacket", 1);
        smap_replace(&p->options, "vnet_hdr", "true");
        ctl_mp_reply_add_show_bridge(msg, "empty");
        return false;
    case 33: {
        struct ofp_flow_mod *fm2;
        struct ofp_flow_stats *fs2;
        ctl_msg_init_mp_reply(msg, xid, CTL_MP_DUMP_FLOWS);
        fs = sample_fs(0, &fm);
        fs2 = sample_fs(1, &fm2);
        ctl_mp_reply_add_flow(msg, fs);
        ctl_mp_reply_add_flow(msg, fs2);
        ctl_flow_mod_free(fm);
        ctl_flow_mod_free(fm2);
        free(fs);
        free(fs2);
        return false;
    }
    case 34: {
        struct ctl_port_stats ps = {
            .ofport = 1, .rx_packets = 10, .rx_bytes = 1000,
            .rx_dropped = 1, .rx_errors = 2, .rx_frame_err = CTL_STAT_UNKNOWN,
            .rx_over_err = CTL_STAT_UNKNOWN, .rx_crc_err = CTL_STAT_UNKNOWN,
            .tx_packets = 20, .tx_bytes = 2000, .tx_dropped = 3,
            .tx_errors = 4, .collisions = CTL_STAT_UNKNOWN,
            .duration_sec = 5, .duration_nsec = 6,
        };
        ctl_msg_init_mp_reply(msg, xid, CTL_MP_DUMP_PORTS);
        ctl_mp_reply_add_port_stats(msg, &ps);
        ps.ofport = OFPP_LOCAL;
        ctl_mp_reply_add_port_stats(msg, &ps);
        return false;
    }
    case 35:
        ctl_msg_init_mp_reply(msg, xid, CTL_MP_DUMP_DP_FLOWS);
        ctl_mp_reply_add_dp_flow(msg, "recirc_id(0),in_port(1),eth_type(0x0800)",
                                 "2", 5, 500, 1234, 0x12);
        ctl_mp_reply_add_dp_flow(msg, "in_port(2)", "drop", 0, 0, -1, 0);
        return false;
    case 36:
        ctl_msg_init(msg, CTL_SET_CONN_FLAGS, xid);
        msg->conn_flags = CTL_CONN_STOP_ON_ERROR;
        return false;
    case 37:
        ctl_msg_init(msg, CTL_GROUP_MOD, xid);
        msg->group_mod.bridge = xstrdup("br0");
        msg->group_mod.gm = sample_gm(OFPGC_ADD_OR_MOD);
        return false;
    case 38: {
        static const uint8_t frame[60] = { 0, 0, 0, 0, 0, 2, 0, 0, 0, 0,
                                           0, 1, 0x08, 0x06 };
        ctl_msg_init(msg, CTL_PACKET_IN, xid);
        msg->packet_in.bridge = xstrdup("br0");
        msg->packet_in.reason = 1;
        msg->packet_in.table_id = 3;
        msg->packet_in.in_port = 2;
        msg->packet_in.cookie = 0x1234567890abcdefULL;
        msg->packet_in.total_len = 1500;
        msg->packet_in.packet = xmemdup(frame, sizeof frame);
        msg->packet_in.packet_len = sizeof frame;
        return true;
    }
    case 39:
        ctl_msg_init(msg, CTL_MONITOR, xid);
        msg->monitor.bridge = xstrdup("br0");
        msg->monitor.flags = CTL_MON_PACKET_IN;
        return false;
    case 40:
        ctl_msg_init_mp_request(msg, xid, CTL_MP_AGGREGATE, "br0");
        msg->mp_request.dump_flows.flags = CTL_DF_STRICT;
        fm = xmalloc(sizeof *fm);
        cr_assert_null(ofp_parse_flow_mod(fm, "table=1,priority=5,ip,"
                                          "cookie=0x10/0xf0,out_port=2",
                                          OFPFC_DELETE_STRICT, NULL));
        msg->mp_request.dump_flows.filter = fm;
        return false;
    case 41:
        ctl_msg_init_mp_request(msg, xid, CTL_MP_DUMP_GROUPS, "br0");
        msg->mp_request.group_id = 7;
        return false;
    case 42: {
        struct ctl_aggregate a = { 1ULL << 40, (1ULL << 50) + 1, 100000 };
        ctl_msg_init_mp_reply(msg, xid, CTL_MP_AGGREGATE);
        ctl_mp_reply_add_aggregate(msg, &a);
        return false;
    }
    case 43: {
        struct ofp_group_mod *gm = sample_gm(OFPGC_ADD);
        struct ofp_group_mod empty;
        struct ofp_bucket_stats bs[2] = { { 1, 100 }, { 2, 200 } };
        ctl_msg_init_mp_reply(msg, xid, CTL_MP_DUMP_GROUPS);
        ctl_mp_reply_add_group(msg, gm, 3, 3, 300, 4567, bs);
        ofp_group_mod_init(&empty, OFPGC_ADD);
        empty.group_id = 8;
        empty.type = OFPGT_INDIRECT;
        ctl_mp_reply_add_group(msg, &empty, 0, 0, 0, 0, NULL);
        ctl_group_mod_free(gm);
        return false;
    }
    case 44: {
        struct ctl_ct_flush *f;
        ctl_msg_init(msg, CTL_CT_FLUSH, xid);
        f = &msg->ct_flush;
        f->zone = 1;
        f->mark = 0x5;
        f->mark_mask = 0xff;
        f->label[0] = 0x1122334455667788ULL;
        f->label[1] = 0x99;
        f->label_mask[0] = UINT64_MAX;
        f->label_mask[1] = 0xff;
        f->orig = (struct ctl_ct_tuple) {
            .family = 4, .nw_proto = 17, .src_port = 2, .dst_port = 1,
            .src = { 10, 1, 1, 2 }, .dst = { 10, 1, 1, 1 } };
        f->reply = (struct ctl_ct_tuple) {
            .family = 4, .nw_proto = 17, .src_port = 1, .dst_port = 2,
            .src = { 10, 1, 1, 1 }, .dst = { 10, 1, 1, 2 } };
        return false;
    }
    case 45:
        ctl_msg_init(msg, CTL_CT_FLUSH, xid);
        msg->ct_flush.orig = (struct ctl_ct_tuple) {
            .family = 6, .nw_proto = 58, .icmp_type = 128, .src_port = 9,
            .dst_port = 9, .src = { 0xfe, 0x80, [15] = 1 },
            .dst = { 0xfe, 0x80, [15] = 2 } };
        return false;
    case 46:
        ctl_msg_init(msg, CTL_CT_SET_MAXCONNS, xid);
        msg->ct_value = 3000000;
        return false;
    case 47:
        ctl_msg_init(msg, CTL_CT_SET_LIMITS, xid);
        ctl_ct_limits_add(&msg->ct_limits, CTL_CT_ZONE_DEFAULT, 10);
        ctl_ct_limits_add(&msg->ct_limits, 1, 1);
        ctl_ct_limits_add(&msg->ct_limits, 65535, 0);
        return false;
    case 48:
        ctl_msg_init(msg, CTL_CT_DEL_LIMITS, xid);
        ctl_ct_limits_add(&msg->ct_limits, 7, 0);
        return false;
    case 49:
        ctl_msg_init(msg, CTL_CT_SET_TP, xid);
        msg->ct_tp.zone = 3;
        ctl_ct_tp_add_attr(&msg->ct_tp, "tcp_established", 600);
        ctl_ct_tp_add_attr(&msg->ct_tp, "udp_first", 10);
        return false;
    case 50:
        ctl_msg_init(msg, CTL_CT_DEL_TP, xid);
        msg->ct_tp.zone = 3;
        return false;
    case 51:
        ctl_msg_init(msg, CTL_CT_SET_TCP_SEQ_CHK, xid);
        msg->ct_value = 1;
        return false;
    case 52:
        ctl_msg_init(msg, CTL_CT_INFO_REQUEST, xid);
        return false;
    case 53:
        ctl_msg_init(msg, CTL_CT_INFO_REPLY, xid);
        smap_replace(&msg->kv, "maxconns", "3000000");
        smap_replace(&msg->kv, "nconns", "2");
        return false;
    case 54:
        ctl_msg_init(msg, CTL_CT_MONITOR, xid);
        msg->ct_monitor.flags = CTL_CTM_EVENTS;
        msg->ct_monitor.zone = 1;
        return false;
    case 55:
        ctl_msg_init(msg, CTL_CT_EVENT, 0);
        msg->ct_event.type = CTL_CTE_DESTROY;
        msg->ct_event.line = xstrdup(
            "udp,orig=(src=10.1.1.2,dst=10.1.1.1,sport=2,dport=1),"
            "reply=(src=10.1.1.1,dst=10.1.1.2,sport=1,dport=2),zone=1");
        return false;
    case 56:
        ctl_msg_init_mp_request(msg, xid, CTL_MP_CT_DUMP, NULL);
        msg->mp_request.ct_dump.flags = CTL_CTD_VERBOSE | CTL_CTD_STATS;
        msg->mp_request.ct_dump.zone = 1;
        return false;
    case 57:
        ctl_msg_init_mp_request(msg, xid, CTL_MP_CT_STATS, NULL);
        msg->mp_request.ct_dump.zone = CTL_CT_NO_ZONE;
        return false;
    case 58:
        ctl_msg_init_mp_request(msg, xid, CTL_MP_CT_LIMITS, NULL);
        ctl_ct_limits_add(&msg->mp_request.ct_limits, 1, 0);
        ctl_ct_limits_add(&msg->mp_request.ct_limits, 2, 0);
        return false;
    case 59:
        ctl_msg_init_mp_request(msg, xid, CTL_MP_CT_TP, NULL);
        msg->mp_request.ct_dump.zone = CTL_CT_ZONE_DEFAULT;
        return false;
    case 60:
        ctl_msg_init_mp_request(msg, xid, CTL_MP_CT_DUMP_EXP, NULL);
        msg->mp_request.ct_dump.zone = CTL_CT_NO_ZONE;
        return false;
    case 61:
        ctl_msg_init_mp_reply(msg, xid, CTL_MP_CT_DUMP);
        ctl_mp_reply_add_ct_conn(msg, "tcp,orig=(src=10.0.0.1,dst=10.0.0.2,"
                                 "sport=39376,dport=80),reply=(src=10.0.0.2,"
                                 "dst=10.0.0.1,sport=80,dport=39376),zone=1,"
                                 "protoinfo=(state=ESTABLISHED)");
        ctl_mp_reply_add_ct_conn(msg, "");
        return false;
    case 62:
        ctl_msg_init_mp_reply(msg, xid, CTL_MP_CT_STATS);
        ctl_mp_reply_add_ct_counter(msg, CTL_CTC_PROTO, "Total", 3);
        ctl_mp_reply_add_ct_counter(msg, CTL_CTC_PROTO, "TCP", 2);
        ctl_mp_reply_add_ct_counter(msg, CTL_CTC_STATE, "ESTABLISHED", 2);
        ctl_mp_reply_add_ct_counter(msg, CTL_CTC_COUNTER, "full_drops",
                                    UINT64_MAX);
        return false;
    case 63:
        ctl_msg_init_mp_reply(msg, xid, CTL_MP_CT_LIMITS);
        ctl_mp_reply_add_ct_limit(msg, &(struct ctl_ct_zone_limit) {
            .zone = CTL_CT_ZONE_DEFAULT, .limit = 0 });
        ctl_mp_reply_add_ct_limit(msg, &(struct ctl_ct_zone_limit) {
            .zone = 1, .limit = 10, .count = 3, .limit_drops = 1ULL << 40 });
        return false;
    case 64: {
        struct ctl_ct_tp *tp;
        ctl_msg_init_mp_reply(msg, xid, CTL_MP_CT_TP);
        tp = ctl_mp_reply_add_ct_tp(msg, CTL_CT_ZONE_DEFAULT);
        ctl_ct_tp_add_attr(tp, "icmp_reply", 30);
        ctl_mp_reply_add_ct_tp(msg, 5);
        tp = ctl_mp_reply_add_ct_tp(msg, 6);
        ctl_ct_tp_add_attr(tp, "udp_single", 60);
        return false;
    }
    case 65:
        ctl_msg_init_mp_reply(msg, xid, CTL_MP_CT_DUMP_EXP);
        ctl_mp_reply_add_ct_conn(msg, "tcp,orig=(src=10.0.0.2,dst=10.0.0.1,"
                                 "sport=0,dport=50000),zone=1,helper=ftp");
        return false;
    case 66:
        ctl_msg_init(msg, CTL_RESTART, xid);
        return false;
    case 67:
        ctl_msg_init(msg, CTL_MOD_PORT, xid);
        msg->port.bridge = xstrdup("br0");
        msg->port.name = xstrdup("tap1");
        msg->port.type = xstrdup("");
        smap_replace(&msg->port.options, "delay", "5ms");
        smap_replace(&msg->port.options, "loss", "1%");
        smap_replace(&msg->port.options, "rate", "");
        return false;
    default:
        cr_assert_fail("no sample %d", i);
        return false;
    }
}

/* ---- Comparison --------------------------------------------------------- */

static void
assert_str_eq(const char *a, const char *b)
{
    CHECK(a && b, "NULL string");
    CHECK(!strcmp(a, b), "'%s' != '%s'", a, b);
}

static void
assert_smap_eq(const struct smap *a, const struct smap *b)
{
    CHECK((a->n) == (b->n), "%s", "a->n == b->n");
    for (size_t i = 0; i < a->n; i++) {
        assert_str_eq(a->entries[i].key, b->entries[i].key);
        assert_str_eq(a->entries[i].value, b->entries[i].value);
    }
}

static void
assert_port_eq(const struct ctl_port *a, const struct ctl_port *b)
{
    assert_str_eq(a->name, b->name);
    assert_str_eq(a->type, b->type);
    CHECK((a->ofport) == (b->ofport), "%s", "a->ofport == b->ofport");
    assert_smap_eq(&a->options, &b->options);
}

static void
assert_fm_eq(const struct ofp_flow_mod *a, const struct ofp_flow_mod *b)
{
    CHECK(a && b, "check failed: %s", "a && b");
    CHECK((a->command) == (b->command), "%s", "a->command == b->command");
    CHECK((a->table_id) == (b->table_id), "%s", "a->table_id == b->table_id");
    CHECK((a->priority) == (b->priority), "%s", "a->priority == b->priority");
    CHECK((a->cookie) == (b->cookie), "%s", "a->cookie == b->cookie");
    CHECK((a->cookie_mask) == (b->cookie_mask), "%s", "a->cookie_mask == b->cookie_mask");
    CHECK((a->new_cookie) == (b->new_cookie), "%s", "a->new_cookie == b->new_cookie");
    CHECK((a->modify_cookie) == (b->modify_cookie), "%s", "a->modify_cookie == b->modify_cookie");
    CHECK((a->idle_timeout) == (b->idle_timeout), "%s", "a->idle_timeout == b->idle_timeout");
    CHECK((a->hard_timeout) == (b->hard_timeout), "%s", "a->hard_timeout == b->hard_timeout");
    CHECK((a->importance) == (b->importance), "%s", "a->importance == b->importance");
    CHECK((a->out_port) == (b->out_port), "%s", "a->out_port == b->out_port");
    CHECK((a->flags) == (b->flags), "%s", "a->flags == b->flags");
    CHECK(match_equal(&a->match, &b->match), "matches differ");
    CHECK(ofpacts_equal((const struct ofpact *) (void *) a->ofpacts.data,
                            a->ofpacts.size,
                            (const struct ofpact *) (void *) b->ofpacts.data,
                            b->ofpacts.size), "actions differ");
}

static void
assert_fs_eq(const struct ofp_flow_stats *a, const struct ofp_flow_stats *b)
{
    CHECK((a->table_id) == (b->table_id), "%s", "a->table_id == b->table_id");
    CHECK((a->priority) == (b->priority), "%s", "a->priority == b->priority");
    CHECK((a->cookie) == (b->cookie), "%s", "a->cookie == b->cookie");
    CHECK((a->duration_msec) == (b->duration_msec), "%s", "a->duration_msec == b->duration_msec");
    CHECK((a->idle_timeout) == (b->idle_timeout), "%s", "a->idle_timeout == b->idle_timeout");
    CHECK((a->hard_timeout) == (b->hard_timeout), "%s", "a->hard_timeout == b->hard_timeout");
    CHECK((a->importance) == (b->importance), "%s", "a->importance == b->importance");
    CHECK((a->flags) == (b->flags), "%s", "a->flags == b->flags");
    CHECK((a->idle_age_msec) == (b->idle_age_msec), "%s", "a->idle_age_msec == b->idle_age_msec");
    CHECK((a->n_packets) == (b->n_packets), "%s", "a->n_packets == b->n_packets");
    CHECK((a->n_bytes) == (b->n_bytes), "%s", "a->n_bytes == b->n_bytes");
    CHECK(match_equal(&a->match, &b->match), "matches differ");
    CHECK(ofpacts_equal(a->ofpacts, a->ofpacts_len, b->ofpacts,
                            b->ofpacts_len), "actions differ");
}

static void
assert_gm_eq(const struct ofp_group_mod *a, const struct ofp_group_mod *b)
{
    struct ds x = DS_EMPTY_INITIALIZER, y = DS_EMPTY_INITIALIZER;

    CHECK(a->command == b->command, "%s", "group command");
    CHECK(a->group_id == b->group_id, "%s", "group id");
    CHECK(a->type == b->type, "%s", "group type");
    CHECK(a->selection_method_param == b->selection_method_param, "%s",
          "selection method param");
    CHECK(!strcmp(a->selection_method, b->selection_method), "%s",
          "selection method");
    CHECK(a->n_buckets == b->n_buckets, "%s", "bucket count");
    for (size_t i = 0; i < a->n_buckets; i++) {
        const struct ofp_bucket *p = &a->buckets[i], *q = &b->buckets[i];
        CHECK(p->bucket_id == q->bucket_id && p->weight == q->weight
              && p->watch_port == q->watch_port
              && p->watch_group == q->watch_group
              && ofpacts_equal(p->ofpacts, p->ofpacts_len, q->ofpacts,
                               q->ofpacts_len), "bucket %zu differs", i);
    }
    ofp_format_group_mod(&x, a, NULL);
    ofp_format_group_mod(&y, b, NULL);
    CHECK(!strcmp(ds_cstr(&x), ds_cstr(&y)), "%s != %s", ds_cstr(&x),
          ds_cstr(&y));
    ds_destroy(&x);
    ds_destroy(&y);
}

static void
assert_ct_limit_eq(const struct ctl_ct_zone_limit *x,
                   const struct ctl_ct_zone_limit *y)
{
    CHECK(x->zone == y->zone && x->limit == y->limit && x->count == y->count
          && x->limit_drops == y->limit_drops, "%s", "zone limit");
}

static void
assert_ct_tp_eq(const struct ctl_ct_tp *x, const struct ctl_ct_tp *y)
{
    CHECK(x->zone == y->zone && x->n_attrs == y->n_attrs, "%s",
          "timeout policy");
    for (size_t j = 0; j < x->n_attrs; j++) {
        assert_str_eq(x->attrs[j].name, y->attrs[j].name);
        CHECK(x->attrs[j].seconds == y->attrs[j].seconds, "%s", "seconds");
    }
}

static void
assert_ct_tuple_eq(const struct ctl_ct_tuple *x, const struct ctl_ct_tuple *y)
{
    CHECK(!memcmp(x, y, sizeof *x), "%s", "conntrack tuple");
}

static void
assert_mp_reply_eq(const struct ctl_mp_reply *a, const struct ctl_mp_reply *b)
{
    CHECK((a->mp_type) == (b->mp_type), "%s", "a->mp_type == b->mp_type");
    CHECK((a->n) == (b->n), "%s", "a->n == b->n");
    for (size_t i = 0; i < a->n; i++) {
        switch (a->mp_type) {
        case CTL_MP_LIST_BR:
            assert_str_eq(a->bridges[i], b->bridges[i]);
            break;
        case CTL_MP_LIST_PORTS:
            assert_port_eq(&a->ports[i], &b->ports[i]);
            break;
        case CTL_MP_SHOW:
            assert_str_eq(a->show[i].name, b->show[i].name);
            CHECK((a->show[i].n_ports) == (b->show[i].n_ports), "%s", "a->show[i].n_ports == b->show[i].n_ports");
            for (size_t j = 0; j < a->show[i].n_ports; j++) {
                assert_port_eq(&a->show[i].ports[j], &b->show[i].ports[j]);
            }
            break;
        case CTL_MP_DUMP_FLOWS:
            assert_fs_eq(a->flows[i], b->flows[i]);
            break;
        case CTL_MP_DUMP_PORTS:
            {
                const struct ctl_port_stats *x = &a->port_stats[i];
                const struct ctl_port_stats *y = &b->port_stats[i];
                CHECK(x->ofport == y->ofport
                          && x->rx_packets == y->rx_packets
                          && x->rx_bytes == y->rx_bytes
                          && x->rx_dropped == y->rx_dropped
                          && x->rx_errors == y->rx_errors
                          && x->rx_frame_err == y->rx_frame_err
                          && x->rx_over_err == y->rx_over_err
                          && x->rx_crc_err == y->rx_crc_err
                          && x->tx_packets == y->tx_packets
                          && x->tx_bytes == y->tx_bytes
                          && x->tx_dropped == y->tx_dropped
                          && x->tx_errors == y->tx_errors
                          && x->collisions == y->collisions
                          && x->duration_sec == y->duration_sec
                          && x->duration_nsec == y->duration_nsec, "check failed: %s", "x->ofport == y->ofport && x->rx_packets == y->rx_packets && x->rx_bytes == y->rx_bytes && x->rx_dropped == y->rx_dropped && x->rx_errors == y->rx_errors && x->rx_frame_err == y->rx_frame_err && x->rx_over_err == y->rx_over_err && x->rx_crc_err == y->rx_crc_err && x->tx_packets == y->tx_packets && x->tx_bytes == y->tx_bytes && x->tx_dropped == y->tx_dropped && x->tx_errors == y->tx_errors && x->collisions == y->collisions && x->duration_sec == y->duration_sec && x->duration_nsec == y->duration_nsec");
            }
            break;
        case CTL_MP_DUMP_DP_FLOWS:
            assert_str_eq(a->dp_flows[i].match, b->dp_flows[i].match);
            assert_str_eq(a->dp_flows[i].actions, b->dp_flows[i].actions);
            CHECK((a->dp_flows[i].n_packets) == (b->dp_flows[i].n_packets), "%s", "a->dp_flows[i].n_packets == b->dp_flows[i].n_packets");
            CHECK((a->dp_flows[i].n_bytes) == (b->dp_flows[i].n_bytes), "%s", "a->dp_flows[i].n_bytes == b->dp_flows[i].n_bytes");
            CHECK((a->dp_flows[i].used_msec) == (b->dp_flows[i].used_msec), "%s", "a->dp_flows[i].used_msec == b->dp_flows[i].used_msec");
            CHECK((a->dp_flows[i].tcp_flags) == (b->dp_flows[i].tcp_flags), "%s", "a->dp_flows[i].tcp_flags == b->dp_flows[i].tcp_flags");
            break;
        case CTL_MP_TRACE:
            break;
        case CTL_MP_AGGREGATE:
            CHECK(a->aggregates[i].packet_count
                  == b->aggregates[i].packet_count
                  && a->aggregates[i].byte_count
                     == b->aggregates[i].byte_count
                  && a->aggregates[i].flow_count
                     == b->aggregates[i].flow_count, "%s", "aggregate");
            break;
        case CTL_MP_DUMP_GROUPS: {
            const struct ctl_group_entry *x = &a->groups[i];
            const struct ctl_group_entry *y = &b->groups[i];
            assert_gm_eq(x->desc, y->desc);
            CHECK(x->ref_count == y->ref_count
                  && x->packet_count == y->packet_count
                  && x->byte_count == y->byte_count
                  && x->duration_msec == y->duration_msec, "%s",
                  "group stats");
            CHECK(!memcmp(x->bucket_stats, y->bucket_stats,
                          x->desc->n_buckets * sizeof *x->bucket_stats),
                  "%s", "bucket stats");
            break;
        }
        case CTL_MP_CT_DUMP:
        case CTL_MP_CT_DUMP_EXP:
            assert_str_eq(a->ct_conns[i].line, b->ct_conns[i].line);
            break;
        case CTL_MP_CT_STATS:
            assert_str_eq(a->ct_counters[i].name, b->ct_counters[i].name);
            CHECK(a->ct_counters[i].kind == b->ct_counters[i].kind
                  && a->ct_counters[i].value == b->ct_counters[i].value,
                  "%s", "ct counter");
            break;
        case CTL_MP_CT_LIMITS:
            assert_ct_limit_eq(&a->ct_limits[i], &b->ct_limits[i]);
            break;
        case CTL_MP_CT_TP:
            assert_ct_tp_eq(&a->ct_tps[i], &b->ct_tps[i]);
            break;
        default:
            cr_assert_fail("bad mp type");
        }
    }
    if (a->mp_type == CTL_MP_TRACE) {
        CHECK(!memcmp(a->text, b->text, a->n), "check failed: %s", "!memcmp(a->text, b->text, a->n)");
    }
}

static void
assert_msg_eq(const struct ctl_msg *a, const struct ctl_msg *b)
{
    CHECK((a->type) == (b->type), "%s", "a->type == b->type");
    CHECK((a->xid) == (b->xid), "%s", "a->xid == b->xid");
    CHECK((a->version) == (b->version), "%s", "a->version == b->version");
    switch (a->type) {
    case CTL_HELLO:
        CHECK((a->hello.version_bitmap) == (b->hello.version_bitmap), "%s", "a->hello.version_bitmap == b->hello.version_bitmap");
        break;
    case CTL_ERROR:
        CHECK((a->error.type) == (b->error.type), "%s", "a->error.type == b->error.type");
        CHECK((a->error.code) == (b->error.code), "%s", "a->error.code == b->error.code");
        assert_str_eq(a->error.text, b->error.text);
        break;
    case CTL_ECHO_REQUEST:
    case CTL_ECHO_REPLY:
        CHECK((a->echo.size) == (b->echo.size), "%s", "a->echo.size == b->echo.size");
        CHECK(!a->echo.size
                  || !memcmp(a->echo.data, b->echo.data, a->echo.size), "check failed: %s", "!a->echo.size || !memcmp(a->echo.data, b->echo.data, a->echo.size)");
        break;
    case CTL_ADD_BR:
    case CTL_DEL_BR:
        assert_str_eq(a->br.name, b->br.name);
        CHECK((a->br.flags) == (b->br.flags), "%s", "a->br.flags == b->br.flags");
        break;
    case CTL_ADD_PORT:
    case CTL_MOD_PORT:
        assert_str_eq(a->port.type, b->port.type);
        CHECK((a->port.ofport) == (b->port.ofport), "%s", "a->port.ofport == b->port.ofport");
        assert_smap_eq(&a->port.options, &b->port.options);
        /* fall through */
    case CTL_DEL_PORT:
        assert_str_eq(a->port.bridge, b->port.bridge);
        assert_str_eq(a->port.name, b->port.name);
        CHECK((a->port.flags) == (b->port.flags), "%s", "a->port.flags == b->port.flags");
        break;
    case CTL_FLOW_MOD:
        assert_str_eq(a->flow_mod.bridge, b->flow_mod.bridge);
        assert_fm_eq(a->flow_mod.fm, b->flow_mod.fm);
        break;
    case CTL_BUNDLE_OPEN:
        assert_str_eq(a->bundle.bridge, b->bundle.bridge);
        CHECK((a->bundle.flags) == (b->bundle.flags), "%s", "a->bundle.flags == b->bundle.flags");
        /* fall through */
    case CTL_BUNDLE_COMMIT:
    case CTL_BUNDLE_DISCARD:
        CHECK((a->bundle.id) == (b->bundle.id), "%s", "a->bundle.id == b->bundle.id");
        break;
    case CTL_BUNDLE_ADD:
        CHECK((a->bundle.id) == (b->bundle.id), "%s", "a->bundle.id == b->bundle.id");
        assert_fm_eq(a->bundle.fm, b->bundle.fm);
        break;
    case CTL_PACKET_OUT:
        assert_str_eq(a->packet_out.bridge, b->packet_out.bridge);
        CHECK((a->packet_out.in_port) == (b->packet_out.in_port), "%s", "a->packet_out.in_port == b->packet_out.in_port");
        CHECK((a->packet_out.packet_len) == (b->packet_out.packet_len), "%s", "a->packet_out.packet_len == b->packet_out.packet_len");
        CHECK(!memcmp(a->packet_out.packet, b->packet_out.packet,
                          a->packet_out.packet_len), "check failed: %s", "!memcmp(a->packet_out.packet, b->packet_out.packet, a->packet_out.packet_len)");
        CHECK(ofpacts_equal(a->packet_out.ofpacts,
                                a->packet_out.ofpacts_len,
                                b->packet_out.ofpacts,
                                b->packet_out.ofpacts_len), "check failed: %s", "ofpacts_equal(a->packet_out.ofpacts, a->packet_out.ofpacts_len, b->packet_out.ofpacts, b->packet_out.ofpacts_len)");
        break;
    case CTL_LOG_LEVEL_REQUEST:
        assert_str_eq(a->log_level.spec, b->log_level.spec);
        break;
    case CTL_SET_CONN_FLAGS:
        CHECK(a->conn_flags == b->conn_flags, "%s", "conn_flags");
        break;
    case CTL_GROUP_MOD:
        assert_str_eq(a->group_mod.bridge, b->group_mod.bridge);
        assert_gm_eq(a->group_mod.gm, b->group_mod.gm);
        break;
    case CTL_PACKET_IN: {
        const struct ctl_packet_in *x = &a->packet_in, *y = &b->packet_in;
        assert_str_eq(x->bridge, y->bridge);
        CHECK(x->reason == y->reason && x->table_id == y->table_id
              && x->in_port == y->in_port && x->cookie == y->cookie
              && x->total_len == y->total_len
              && x->packet_len == y->packet_len
              && !memcmp(x->packet, y->packet, x->packet_len), "%s",
              "packet-in");
        break;
    }
    case CTL_MONITOR:
        assert_str_eq(a->monitor.bridge, b->monitor.bridge);
        CHECK(a->monitor.flags == b->monitor.flags, "%s", "monitor flags");
        break;
    case CTL_LOG_LEVEL_REPLY:
    case CTL_STATUS_REPLY:
        assert_smap_eq(&a->kv, &b->kv);
        break;
    case CTL_MULTIPART_REQUEST: {
        const struct ctl_mp_request *x = &a->mp_request, *y = &b->mp_request;
        CHECK((x->mp_type) == (y->mp_type), "%s", "x->mp_type == y->mp_type");
        if (x->bridge || y->bridge) {
            assert_str_eq(x->bridge, y->bridge);
        }
        if (x->mp_type == CTL_MP_DUMP_PORTS) {
            CHECK((x->port) == (y->port), "%s", "x->port == y->port");
        } else if (x->mp_type == CTL_MP_DUMP_GROUPS) {
            CHECK(x->group_id == y->group_id, "%s", "group_id");
        } else if (x->mp_type == CTL_MP_DUMP_FLOWS
                   || x->mp_type == CTL_MP_AGGREGATE) {
            CHECK((x->dump_flows.flags) == (y->dump_flows.flags), "%s", "x->dump_flows.flags == y->dump_flows.flags");
            assert_fm_eq(x->dump_flows.filter, y->dump_flows.filter);
        } else if (x->mp_type == CTL_MP_CT_LIMITS) {
            CHECK(x->ct_limits.n == y->ct_limits.n, "%s", "limits");
            for (size_t i = 0; i < x->ct_limits.n; i++) {
                assert_ct_limit_eq(&x->ct_limits.zones[i],
                                   &y->ct_limits.zones[i]);
            }
        } else if (x->mp_type >= CTL_MP_CT_DUMP) {
            CHECK(x->ct_dump.flags == y->ct_dump.flags
                  && x->ct_dump.zone == y->ct_dump.zone, "%s", "ct dump");
        } else if (x->mp_type == CTL_MP_TRACE) {
            CHECK((!x->trace.flow) == (!y->trace.flow), "%s", "!x->trace.flow == !y->trace.flow");
            if (x->trace.flow) {
                assert_str_eq(x->trace.flow, y->trace.flow);
            } else {
                CHECK((x->trace.in_port) == (y->trace.in_port), "%s", "x->trace.in_port == y->trace.in_port");
                CHECK((x->trace.packet_len) == (y->trace.packet_len), "%s", "x->trace.packet_len == y->trace.packet_len");
                CHECK(!memcmp(x->trace.packet, y->trace.packet,
                                  x->trace.packet_len), "check failed: %s", "!memcmp(x->trace.packet, y->trace.packet, x->trace.packet_len)");
            }
        }
        break;
    }
    case CTL_MULTIPART_REPLY:
        CHECK((a->mp_reply.flags) == (b->mp_reply.flags), "%s", "a->mp_reply.flags == b->mp_reply.flags");
        assert_mp_reply_eq(&a->mp_reply, &b->mp_reply);
        break;
    case CTL_CT_FLUSH: {
        const struct ctl_ct_flush *x = &a->ct_flush, *y = &b->ct_flush;
        CHECK(x->zone == y->zone && x->mark == y->mark
              && x->mark_mask == y->mark_mask
              && !memcmp(x->label, y->label, sizeof x->label)
              && !memcmp(x->label_mask, y->label_mask, sizeof x->label_mask),
              "%s", "flush filter");
        assert_ct_tuple_eq(&x->orig, &y->orig);
        assert_ct_tuple_eq(&x->reply, &y->reply);
        break;
    }
    case CTL_CT_SET_MAXCONNS:
    case CTL_CT_SET_TCP_SEQ_CHK:
        CHECK(a->ct_value == b->ct_value, "%s", "ct_value");
        break;
    case CTL_CT_SET_LIMITS:
    case CTL_CT_DEL_LIMITS:
        CHECK(a->ct_limits.n == b->ct_limits.n, "%s", "limits");
        for (size_t i = 0; i < a->ct_limits.n; i++) {
            assert_ct_limit_eq(&a->ct_limits.zones[i],
                               &b->ct_limits.zones[i]);
        }
        break;
    case CTL_CT_SET_TP:
    case CTL_CT_DEL_TP:
        assert_ct_tp_eq(&a->ct_tp, &b->ct_tp);
        break;
    case CTL_CT_INFO_REPLY:
        assert_smap_eq(&a->kv, &b->kv);
        break;
    case CTL_CT_MONITOR:
        CHECK(a->ct_monitor.flags == b->ct_monitor.flags
              && a->ct_monitor.zone == b->ct_monitor.zone, "%s",
              "ct monitor");
        break;
    case CTL_CT_EVENT:
        CHECK(a->ct_event.type == b->ct_event.type, "%s", "event type");
        assert_str_eq(a->ct_event.line, b->ct_event.line);
        break;
    case CTL_CAPTURE_START:
        assert_str_eq(a->capture_start.bridge, b->capture_start.bridge);
        assert_str_eq(a->capture_start.port, b->capture_start.port);
        assert_str_eq(a->capture_start.filter, b->capture_start.filter);
        CHECK(a->capture_start.flags == b->capture_start.flags
              && a->capture_start.snaplen == b->capture_start.snaplen
              && a->capture_start.buffer_kb == b->capture_start.buffer_kb,
              "%s", "capture start fields");
        break;
    case CTL_CAPTURE_PACKET: {
        const struct ctl_capture_packet *x = &a->capture_packet;
        const struct ctl_capture_packet *y = &b->capture_packet;
        CHECK(x->ts_ns == y->ts_ns && x->port == y->port
              && x->direction == y->direction && x->orig_len == y->orig_len
              && x->len == y->len, "%s", "capture packet fields");
        CHECK(!x->len || !memcmp(x->data, y->data, x->len), "%s",
              "capture packet bytes");
        break;
    }
    case CTL_CAPTURE_STOP:
        CHECK(a->capture_stop.capture_xid == b->capture_stop.capture_xid,
              "%s", "capture stop xid");
        break;
    case CTL_CAPTURE_END:
        CHECK(!memcmp(&a->capture_end, &b->capture_end,
                      sizeof a->capture_end), "%s", "capture end fields");
        break;
    default:
        break;
    }
}

/* ---- Round trips ------------------------------------------------------- */

static void
encode_ok(const struct ctl_msg *msg, struct ds *out)
{
    int err = ctl_msg_encode(msg, out);
    CHECK(!err, "encoding %s failed: %s", ctl_type_name(msg->type),
          ts_strerror(err));
}

/* With TS_FUZZ_CORPUS set to a directory, the samples are written there
 * as seeds for tests/fuzz/fuzz-ctl-proto. */
static void
save_seed(int i, const struct ds *frame)
{
    const char *dir = getenv("TS_FUZZ_CORPUS");
    if (dir) {
        char *name = xasprintf("%s/sample-%02d", dir, i);
        FILE *f = fopen(name, "wb");
        if (f) {
            fwrite(frame->string, 1, frame->length, f);
            fclose(f);
        }
        free(name);
    }
}

Test(ctl_proto, round_trip_every_message)
{
    bool seen_type[256] = { false };
    bool seen_req[256] = { false }, seen_rep[256] = { false };

    for (int i = 0; i < N_SAMPLES; i++) {
        struct ctl_msg msg, back;
        struct ds a = DS_EMPTY_INITIALIZER, b = DS_EMPTY_INITIALIZER;
        char *err = NULL;

        make_sample(i, &msg);
        seen_type[msg.type] = true;
        if (msg.type == CTL_MULTIPART_REQUEST) {
            seen_req[msg.mp_request.mp_type] = true;
        } else if (msg.type == CTL_MULTIPART_REPLY) {
            seen_rep[msg.mp_reply.mp_type] = true;
        }
        encode_ok(&msg, &a);
        save_seed(i, &a);
        cr_assert_eq(a.length, ((uint8_t) a.string[2] << 8
                                | (uint8_t) a.string[3]));
        int r = ctl_msg_decode(a.string, a.length, &back, &err);
        cr_assert_eq(r, 0, "sample %d (%s): %s", i, ctl_type_name(msg.type),
                     err ? err : "");
        assert_msg_eq(&msg, &back);
        encode_ok(&back, &b);
        cr_assert_eq(a.length, b.length);
        cr_assert(!memcmp(a.string, b.string, a.length),
                  "sample %d re-encodes differently", i);
        ctl_msg_release(&msg);
        ctl_msg_release(&back);
        ds_destroy(&a);
        ds_destroy(&b);
    }
    /* Every type and multipart kind is covered (trace replies are covered
     * by the multipart split test). */
    for (int t = 0; t < 256; t++) {
        if (ctl_type_is_valid(t)) {
            cr_assert(seen_type[t], "no sample for %s", ctl_type_name(t));
        }
        if (strcmp(ctl_mp_type_name(t), "UNKNOWN")) {
            cr_assert(seen_req[t], "no request sample for %s",
                      ctl_mp_type_name(t));
            cr_assert(seen_rep[t] || t == CTL_MP_TRACE,
                      "no reply sample for %s", ctl_mp_type_name(t));
        }
    }
}

Test(ctl_proto, truncated_at_every_length)
{
    for (int i = 0; i < N_SAMPLES; i++) {
        struct ctl_msg msg;
        struct ds a = DS_EMPTY_INITIALIZER;
        bool has_tail = make_sample(i, &msg);

        encode_ok(&msg, &a);
        for (size_t len = 0; len < a.length; len++) {
            uint8_t *buf = xmemdup(a.string, len ? len : 1);
            struct ctl_msg back;
            char *err = NULL;

            /* Header length consistent with the truncated size, so the
             * body parser itself must notice. */
            if (len >= 4) {
                buf[2] = len >> 8;
                buf[3] = len;
            }
            int r = ctl_msg_decode(buf, len, &back, &err);
            if (r) {
                CHECK(err && *err, "sample %d len %zu: no message", i, len);
                CHECK(r == -TS_ERR_PROTO, "sample %d len %zu: %d", i, len,
                      r);
                /* The message is zeroed on failure. */
                CHECK(back.type == 0, "message not zeroed");
            } else {
                CHECK(has_tail || (i == 0 && len >= CTL_HEADER_LEN),
                      "sample %d (%s) decoded at %zu of %zu bytes", i,
                      ctl_type_name(msg.type), len, a.length);
                ctl_msg_release(&back);
            }
            free(err);
            free(buf);
        }
        ctl_msg_release(&msg);
        ds_destroy(&a);
    }
}

Test(ctl_proto, header_length_mismatch)
{
    struct ctl_msg msg, back;
    struct ds a = DS_EMPTY_INITIALIZER;
    char *err;

    make_sample(9, &msg);
    encode_ok(&msg, &a);
    cr_assert_eq(ctl_msg_decode(a.string, a.length - 1, &back, &err),
                 -TS_ERR_PROTO);
    cr_assert(strstr(err, "header length"), "%s", err);
    free(err);
    ds_put_char(&a, 0);
    cr_assert_eq(ctl_msg_decode(a.string, a.length, &back, &err),
                 -TS_ERR_PROTO);
    free(err);
    /* Trailing bytes inside the stated length. */
    a.string[3]++;
    cr_assert_eq(ctl_msg_decode(a.string, a.length, &back, &err),
                 -TS_ERR_PROTO);
    cr_assert(strstr(err, "trailing"), "%s", err);
    free(err);
    ctl_msg_release(&msg);
    ds_destroy(&a);
}

/* Decodes 'len' bytes; if that works, the message must re-encode and
 * decode again to the same bytes. */
static void
decode_any(const uint8_t *buf, size_t len)
{
    struct ctl_msg msg;
    char *err = NULL;

    int r = ctl_msg_decode(buf, len, &msg, &err);
    if (r) {
        CHECK(err != NULL, "error without a message");
        free(err);
        return;
    }
    struct ds a = DS_EMPTY_INITIALIZER, b = DS_EMPTY_INITIALIZER;
    struct ctl_msg again;
    encode_ok(&msg, &a);
    CHECK(!ctl_msg_decode(a.string, a.length, &again, NULL),
          "re-encoded %s does not decode", ctl_type_name(msg.type));
    encode_ok(&again, &b);
    CHECK(a.length == b.length && !memcmp(a.string, b.string, a.length),
          "%s is not stable across re-encoding", ctl_type_name(msg.type));
    ctl_msg_release(&msg);
    ctl_msg_release(&again);
    ds_destroy(&a);
    ds_destroy(&b);
}

Test(ctl_proto, random_bytes)
{
    srandom(12345);
    uint8_t buf[512];
    for (int iter = 0; iter < 200000; iter++) {
        size_t len = random() % sizeof buf;
        for (size_t i = 0; i < len; i++) {
            buf[i] = random();
        }
        if (len >= 8 && (iter & 1)) {
            /* Make the header plausible so the body parsers run. */
            static const uint8_t types[] = {
                0, 1, 2, 3, 4, 5, 6, 7, 8, 16, 17, 18, 19, 32, 33, 34, 35,
                36, 48, 64, 65, 66, 67, 80, 81, 82, 83, 84, 85, 86, 87,
                88, 89, 90,
            };
            buf[0] = CTL_VERSION;
            buf[1] = types[random() % sizeof types];
            buf[2] = len >> 8;
            buf[3] = len;
        }
        decode_any(buf, len);
    }
}

Test(ctl_proto, mutated_messages)
{
    srandom(54321);
    for (int i = 0; i < N_SAMPLES; i++) {
        struct ctl_msg msg;
        struct ds a = DS_EMPTY_INITIALIZER;

        make_sample(i, &msg);
        encode_ok(&msg, &a);
        for (int iter = 0; iter < 3000; iter++) {
            uint8_t *buf = xmemdup(a.string, a.length);
            int n_flips = 1 + random() % 4;
            for (int k = 0; k < n_flips; k++) {
                size_t pos = CTL_HEADER_LEN
                             + random() % (a.length - CTL_HEADER_LEN + 1);
                if (pos < a.length) {
                    buf[pos] ^= 1u << (random() % 8);
                }
            }
            decode_any(buf, a.length);
            free(buf);
        }
        ctl_msg_release(&msg);
        ds_destroy(&a);
    }
}

Test(ctl_proto, oversize)
{
    struct ctl_msg msg, back;
    struct ds out = DS_EMPTY_INITIALIZER;
    char *err;

    ctl_msg_init(&msg, CTL_ADD_PORT, 1);
    msg.port.bridge = xstrdup("br0");
    msg.port.name = xstrdup("p");
    msg.port.type = xstrdup("");
    for (int i = 0; i < 5000; i++) {
        char key[32];
        snprintf(key, sizeof key, "key%d", i);
        smap_replace(&msg.port.options, key, "valuevalue");
    }
    ds_put_cstr(&out, "keep");
    cr_assert_eq(ctl_msg_encode(&msg, &out), -TS_ERR_TOO_BIG);
    cr_assert_eq(out.length, 4, "output changed on error");
    ctl_msg_release(&msg);

    uint8_t *big = xzalloc(70000);
    big[0] = CTL_VERSION;
    big[1] = CTL_ECHO_REQUEST;
    big[2] = big[3] = 0xff;
    cr_assert_eq(ctl_msg_decode(big, 70000, &back, &err), -TS_ERR_TOO_BIG);
    free(err);
    /* The largest legal message decodes. */
    cr_assert_eq(ctl_msg_decode(big, 65535, &back, &err), 0);
    cr_assert_eq(back.echo.size, 65535 - 8);
    ctl_msg_release(&back);
    free(big);
    ds_destroy(&out);
}

/* Finds the offset of the first match TLV in an encoded FLOW_MOD for
 * bridge "br0": header 8 + string 2+3 + fixed part 48. */
#define FM_TLV_OFS (8 + 5 + 48)

Test(ctl_proto, bad_tlv_lengths)
{
    struct ctl_msg msg, back;
    struct ds a = DS_EMPTY_INITIALIZER;
    static const uint16_t bad_lens[] = { 0, 1, 3, 4, 5, 0x7fff, 0xffff };

    make_sample(11, &msg);
    encode_ok(&msg, &a);
    for (size_t i = 0; i < ARRAY_SIZE(bad_lens); i++) {
        uint8_t *buf = xmemdup(a.string, a.length);
        char *err = NULL;
        buf[FM_TLV_OFS + 2] = bad_lens[i] >> 8;
        buf[FM_TLV_OFS + 3] = bad_lens[i];
        cr_assert_eq(ctl_msg_decode(buf, a.length, &back, &err),
                     -TS_ERR_PROTO, "TLV length %u accepted", bad_lens[i]);
        cr_assert(strstr(err, "FLOW_MOD"), "%s", err);
        free(err);
        free(buf);
    }

    /* Unknown field id. */
    uint8_t *buf = xmemdup(a.string, a.length);
    char *err = NULL;
    buf[FM_TLV_OFS] = 0x7f;
    cr_assert_eq(ctl_msg_decode(buf, a.length, &back, &err), -TS_ERR_PROTO);
    cr_assert(strstr(err, "unknown match field"), "%s", err);
    free(err);
    free(buf);

    /* Match length pointing past the end. */
    buf = xmemdup(a.string, a.length);
    buf[8 + 5 + 44] = 0xff;
    cr_assert_eq(ctl_msg_decode(buf, a.length, &back, &err), -TS_ERR_PROTO);
    cr_assert(strstr(err, "truncated match"), "%s", err);
    free(err);
    free(buf);

    ctl_msg_release(&msg);
    ds_destroy(&a);
}

Test(ctl_proto, deep_nesting_refused)
{
    /* clone(clone(clone(clone(clone(clone(output)))))) by hand. */
    struct ctl_msg msg, back;
    struct ds a = DS_EMPTY_INITIALIZER;
    struct ofp_flow_mod *fm = ctl_flow_mod_create(OFPFC_ADD);
    size_t ofs[8];
    int depth = CTL_MAX_NESTING + 2;

    for (int i = 0; i < depth; i++) {
        ofs[i] = fm->ofpacts.size;
        ofpact_put_CLONE(&fm->ofpacts);
    }
    ofpact_put_OUTPUT(&fm->ofpacts)->port = 1;
    for (int i = depth - 1; i >= 0; i--) {
        ofpacts_update_len(&fm->ofpacts, ofs[i]);
    }
    ctl_msg_init(&msg, CTL_FLOW_MOD, 1);
    msg.flow_mod.bridge = xstrdup("br0");
    msg.flow_mod.fm = fm;
    cr_assert_eq(ctl_msg_encode(&msg, &a), -EINVAL);
    ctl_msg_release(&msg);
    ds_destroy(&a);
    (void) back;
}

Test(ctl_proto, multipart_split_and_merge)
{
    struct ctl_msg big;
    struct ds out = DS_EMPTY_INITIALIZER;

    /* Port stats: 3000 x 112 bytes needs several frames. */
    ctl_msg_init_mp_reply(&big, 9, CTL_MP_DUMP_PORTS);
    for (uint32_t i = 1; i <= 3000; i++) {
        struct ctl_port_stats ps = { .ofport = i, .rx_packets = i * 3 };
        ctl_mp_reply_add_port_stats(&big, &ps);
    }
    cr_assert_eq(ctl_msg_encode(&big, &out), -TS_ERR_TOO_BIG);
    cr_assert_eq(ctl_msg_encode_multipart(&big, true, &out), 0);

    struct ctl_msg total;
    ctl_msg_init_mp_reply(&total, 9, CTL_MP_DUMP_PORTS);
    size_t ofs = 0, n_frames = 0;
    bool more = true;
    while (ofs < out.length) {
        uint8_t v, t;
        uint32_t xid;
        int len = ctl_peek_header(out.string + ofs, out.length - ofs, &v, &t,
                                  &xid);
        struct ctl_msg part;
        cr_assert(len > 0 && len <= CTL_MAX_MSG_LEN);
        cr_assert(more, "frame after the last one");
        cr_assert_eq(ctl_msg_decode(out.string + ofs, len, &part, NULL), 0);
        cr_assert_eq(part.xid, 9);
        more = part.mp_reply.flags & CTL_MPF_MORE;
        cr_assert_eq(ctl_mp_reply_append(&total, &part), 0);
        ctl_msg_release(&part);
        ofs += len;
        n_frames++;
    }
    cr_assert(!more);
    cr_assert_geq(n_frames, 6);
    big.mp_reply.flags = total.mp_reply.flags;
    assert_mp_reply_eq(&big.mp_reply, &total.mp_reply);
    ctl_msg_release(&total);
    ctl_msg_release(&big);

    /* SHOW with one bridge of 8000 ports: continued across frames and
     * merged back into one bridge. */
    ds_clear(&out);
    ctl_msg_init_mp_reply(&big, 10, CTL_MP_SHOW);
    ctl_mp_reply_add_show_bridge(&big, "br0");
    struct ctl_show_bridge *b = ctl_mp_reply_add_show_bridge(&big, "br1");
    for (int i = 0; i < 8000; i++) {
        char name[32];
        snprintf(name, sizeof name, "port%d", i);
        ctl_show_bridge_add_port(b, name, "tap", i + 1);
    }
    ctl_mp_reply_add_show_bridge(&big, "br2");
    cr_assert_eq(ctl_msg_encode_multipart(&big, false, &out), 0);
    ctl_msg_init_mp_reply(&total, 10, CTL_MP_SHOW);
    n_frames = 0;
    for (ofs = 0; ofs < out.length; n_frames++) {
        uint8_t v, t;
        uint32_t xid;
        int len = ctl_peek_header(out.string + ofs, out.length - ofs, &v, &t,
                                  &xid);
        struct ctl_msg part;
        cr_assert_eq(ctl_msg_decode(out.string + ofs, len, &part, NULL), 0);
        /* last = false: every frame says MORE. */
        cr_assert(part.mp_reply.flags & CTL_MPF_MORE);
        cr_assert_eq(ctl_mp_reply_append(&total, &part), 0);
        ctl_msg_release(&part);
        ofs += len;
    }
    cr_assert_geq(n_frames, 2);
    big.mp_reply.flags = total.mp_reply.flags;
    assert_mp_reply_eq(&big.mp_reply, &total.mp_reply);
    ctl_msg_release(&total);
    ctl_msg_release(&big);

    /* Trace text of 200 kB. */
    ds_clear(&out);
    ctl_msg_init_mp_reply(&big, 11, CTL_MP_TRACE);
    char *text = xmalloc(200001);
    for (int i = 0; i < 200000; i++) {
        text[i] = 'a' + i % 26;
    }
    text[200000] = '\0';
    ctl_mp_reply_add_text(&big, text);
    cr_assert_eq(ctl_msg_encode_multipart(&big, true, &out), 0);
    ctl_msg_init_mp_reply(&total, 11, CTL_MP_TRACE);
    for (ofs = 0; ofs < out.length;) {
        uint8_t v, t;
        uint32_t xid;
        int len = ctl_peek_header(out.string + ofs, out.length - ofs, &v, &t,
                                  &xid);
        struct ctl_msg part;
        cr_assert_eq(ctl_msg_decode(out.string + ofs, len, &part, NULL), 0);
        cr_assert_eq(ctl_mp_reply_append(&total, &part), 0);
        ctl_msg_release(&part);
        ofs += len;
    }
    cr_assert_eq(total.mp_reply.n, 200000);
    cr_assert_str_eq(total.mp_reply.text, text);
    free(text);
    ctl_msg_release(&total);
    ctl_msg_release(&big);

    /* An empty final slice is one frame without MORE. */
    ds_clear(&out);
    ctl_msg_init_mp_reply(&big, 12, CTL_MP_DUMP_FLOWS);
    cr_assert_eq(ctl_msg_encode_multipart(&big, true, &out), 0);
    struct ctl_msg part;
    cr_assert_eq(ctl_msg_decode(out.string, out.length, &part, NULL), 0);
    cr_assert_eq(part.mp_reply.flags, 0);
    cr_assert_eq(part.mp_reply.n, 0);
    ctl_msg_release(&part);
    ctl_msg_release(&big);

    /* Kind mismatch. */
    ctl_msg_init_mp_reply(&big, 1, CTL_MP_LIST_BR);
    ctl_msg_init_mp_reply(&part, 1, CTL_MP_LIST_PORTS);
    cr_assert_eq(ctl_mp_reply_append(&big, &part), -TS_ERR_PROTO);
    ctl_msg_release(&big);
    ctl_msg_release(&part);
    ds_destroy(&out);
}

Test(ctl_proto, version_negotiation)
{
    struct ctl_msg ours, peer, back;
    struct ds a = DS_EMPTY_INITIALIZER;
    char *err;

    ctl_msg_init_hello(&ours, 0);
    cr_assert_eq(ctl_hello_negotiate(&ours), CTL_VERSION);

    /* A future peer that speaks 1..3: version 1 wins. */
    ctl_msg_init(&peer, CTL_HELLO, 0);
    peer.version = 3;
    peer.hello.version_bitmap = (1 << 1) | (1 << 2) | (1 << 3);
    encode_ok(&peer, &a);
    cr_assert_eq(ctl_msg_decode(a.string, a.length, &back, NULL), 0);
    cr_assert_eq(back.version, 3);
    cr_assert_eq(ctl_hello_negotiate(&back), 1);

    /* A peer that speaks only 2 and 3. */
    back.hello.version_bitmap = (1 << 2) | (1 << 3);
    cr_assert_eq(ctl_hello_negotiate(&back), -TS_ERR_VERSION);
    /* No bitmap: header version 5 means 1..5. */
    back.hello.version_bitmap = 0;
    back.version = 5;
    cr_assert_eq(ctl_hello_negotiate(&back), 1);
    ctl_msg_release(&back);

    /* Non-HELLO at another version. */
    ds_clear(&a);
    ctl_msg_init(&peer, CTL_OK, 0);
    peer.version = 2;
    encode_ok(&peer, &a);
    cr_assert_eq(ctl_msg_decode(a.string, a.length, &back, &err),
                 -TS_ERR_VERSION);
    cr_assert(strstr(err, "version 2"), "%s", err);
    free(err);
    ds_destroy(&a);
}

Test(ctl_proto, error_helpers)
{
    struct ctl_msg msg;

    ctl_msg_init_error(&msg, 5, CTL_ET_FAILED, -ENOENT, "no such %s", "x");
    cr_assert_eq(msg.error.code, ENOENT);
    cr_assert_str_eq(msg.error.text, "no such x");
    ctl_msg_release(&msg);
    cr_assert_str_eq(ctl_type_name(CTL_ADD_PORT), "ADD_PORT");
    cr_assert_str_eq(ctl_type_name(200), "UNKNOWN");
    cr_assert(!ctl_type_is_valid(10));
    cr_assert(ctl_type_is_valid(CTL_SET_CONN_FLAGS));
    cr_assert_str_eq(ctl_type_name(CTL_PACKET_IN), "PACKET_IN");
    cr_assert_str_eq(ctl_mp_type_name(CTL_MP_AGGREGATE), "AGGREGATE");
    ctl_msg_release(NULL);
}

/* ---- Streams ------------------------------------------------------------ */

static char *
tmp_sock_path(const char *name)
{
    return xasprintf("/tmp/h6a-test-%d-%s.sock", (int) getpid(), name);
}

Test(stream, connect_missing)
{
    struct stream *s;
    char *err;
    int r = stream_open("unix:/nonexistent/dir/x.ctl", 1000, &s, &err);

    cr_assert_eq(r, -ENOENT);
    cr_assert_str_eq(err, "cannot connect to 'unix:/nonexistent/dir/x.ctl': "
                     "No such file or directory");
    free(err);
    /* Loopback only: port 1 is closed, so the connection is refused. */
    r = stream_open("tcp:127.0.0.1:1", 1000, &s, &err);
    cr_assert_lt(r, 0);
    free(err);
    cr_assert(stream_target_is_valid("tcp:127.0.0.1:5"));
    cr_assert(!stream_target_is_valid("udp:127.0.0.1:5"));
    cr_assert(stream_target_is_valid("unix:/x"));
}

Test(stream, frames_across_partial_writes)
{
    char *path = tmp_sock_path("frames");
    char *target = xasprintf("unix:%s", path);
    struct stream_listener *l;
    struct stream *client, *server;
    char *err;
    struct stat st;

    cr_assert_eq(stream_listen(target, 0600, &l, &err), 0);
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0600);

    /* A second listener on a live socket fails. */
    struct stream_listener *l2;
    cr_assert_eq(stream_listen(target, 0600, &l2, &err), -EADDRINUSE);
    free(err);

    /* That probe left a connection behind; it reads as closed. */
    struct stream *probe;
    const uint8_t *frame;
    size_t len;
    cr_assert_eq(stream_accept(l, &probe), 0);
    cr_assert_eq(stream_recv_frame_block(probe, time_msec() + 2000, &frame,
                                         &len), -EPIPE);
    stream_close(probe);
    cr_assert_eq(stream_accept(l, &probe), -EAGAIN);
    cr_assert_eq(stream_open(target, 1000, &client, &err), 0);
    cr_assert_eq(stream_accept(l, &server), 0);

    /* Three frames written one byte at a time from a raw descriptor. */
    struct ds frames = DS_EMPTY_INITIALIZER;
    for (int i = 0; i < 3; i++) {
        struct ctl_msg m;
        ctl_msg_init(&m, CTL_ECHO_REQUEST, i);
        m.echo.size = 100 * i;
        m.echo.data = m.echo.size ? xzalloc(m.echo.size) : NULL;
        encode_ok(&m, &frames);
        ctl_msg_release(&m);
    }
    /* Written 7 bytes at a time, so that headers and bodies are split;
     * the server drains whatever whole frames it has after each write. */
    int n_got = 0;
    for (size_t i = 0; i < frames.length; i += 7) {
        size_t n = MIN(7, frames.length - i);
        cr_assert_eq(stream_send_block(client, frames.string + i, n,
                                       time_msec() + 2000), 0);
        usleep(100);
        for (;;) {
            struct ctl_msg m;
            int r = stream_recv_frame(server, &frame, &len);
            if (r == -EAGAIN) {
                break;
            }
            cr_assert_eq(r, 0, "%s", ts_strerror(r));
            cr_assert_eq(ctl_msg_decode(frame, len, &m, NULL), 0);
            cr_assert_eq(m.xid, (uint32_t) n_got);
            cr_assert_eq(m.echo.size, 100u * n_got);
            ctl_msg_release(&m);
            n_got++;
        }
        if (i + n < 8) {
            cr_assert_eq(n_got, 0);
        }
    }
    while (n_got < 3) {
        struct ctl_msg m;
        cr_assert_eq(stream_recv_frame_block(server, time_msec() + 2000,
                                             &frame, &len), 0);
        cr_assert_eq(ctl_msg_decode(frame, len, &m, NULL), 0);
        cr_assert_eq(m.xid, (uint32_t) n_got);
        ctl_msg_release(&m);
        n_got++;
    }
    cr_assert_eq(stream_recv_frame(server, &frame, &len), -EAGAIN);
    cr_assert_eq(stream_recv_frame_block(server, time_msec() + 50, &frame,
                                         &len), -ETIMEDOUT);

    /* A big burst from the server side is queued and flushed. */
    size_t total = 4 << 20;
    uint8_t *blob = xzalloc(total);
    for (size_t ofs = 0; ofs < total; ofs += 65000) {
        size_t n = MIN(65000, total - ofs);
        blob[ofs + 2] = n >> 8;
        blob[ofs + 3] = n;
    }
    cr_assert_eq(stream_send(server, blob, total), 0);
    cr_assert_gt(stream_tx_backlog(server), 0);
    size_t got = 0;
    while (got < total) {
        int r = stream_recv_frame(client, &frame, &len);
        if (r == -EAGAIN) {
            r = stream_flush(server);
            cr_assert(r == 0 || r == -EAGAIN);
            continue;
        }
        cr_assert_eq(r, 0);
        got += len;
    }
    cr_assert_eq(got, total);
    cr_assert_eq(stream_flush(server), 0);
    free(blob);

    /* Clean EOF, then EOF in the middle of a frame. */
    stream_close(client);
    cr_assert_eq(stream_recv_frame_block(server, time_msec() + 2000, &frame,
                                         &len), -EPIPE);
    stream_close(server);

    cr_assert_eq(stream_open(target, 1000, &client, &err), 0);
    cr_assert_eq(stream_accept(l, &server), 0);
    cr_assert_eq(stream_send_block(client, "\x01\x02\x00\x10\x00", 5, -1), 0);
    stream_close(client);
    cr_assert_eq(stream_recv_frame_block(server, time_msec() + 2000, &frame,
                                         &len), -TS_ERR_PROTO);
    stream_close(server);

    /* A length field below the header size. */
    cr_assert_eq(stream_open(target, 1000, &client, &err), 0);
    cr_assert_eq(stream_accept(l, &server), 0);
    cr_assert_eq(stream_send_block(client, "\x01\x02\x00\x03\x00\x00\x00\x00",
                                   8, -1), 0);
    cr_assert_eq(stream_recv_frame_block(server, time_msec() + 2000, &frame,
                                         &len), -TS_ERR_PROTO);
    stream_close(client);
    stream_close(server);

    stream_listener_close(l);
    cr_assert_neq(stat(path, &st), 0, "socket file left behind");
    ds_destroy(&frames);
    free(target);
    free(path);
}

Test(stream, stale_socket_replaced)
{
    char *path = tmp_sock_path("stale");
    char *target = xasprintf("punix:%s", path);
    struct stream_listener *l;
    char *err;

    /* Leave a socket file nobody listens on. */
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    ts_strlcpy(sun.sun_path, path, sizeof sun.sun_path);
    unlink(path);
    cr_assert_eq(bind(fd, (struct sockaddr *) &sun, sizeof sun), 0);
    close(fd);

    cr_assert_eq(stream_listen(target, 0660, &l, &err), 0);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0660);
    stream_listener_close(l);

    /* A regular file is not replaced. */
    fd = open(path, O_CREAT | O_WRONLY, 0600);
    close(fd);
    cr_assert_eq(stream_listen(target, 0600, &l, &err), -EEXIST);
    cr_assert(strstr(err, path), "%s", err);
    free(err);
    unlink(path);
    free(target);
    free(path);
}

/* ---- JSON ---------------------------------------------------------------- */

Test(json, writer)
{
    struct ds ds = DS_EMPTY_INITIALIZER;
    struct json_writer w;

    json_writer_init(&w, &ds, false);
    json_begin_object(&w);
    json_kv_string(&w, "a", "x\"y\\z\n\x01\xff");
    json_key(&w, "list");
    json_begin_array(&w);
    json_int(&w, -5);
    json_uint(&w, UINT64_MAX);
    json_bool(&w, true);
    json_null(&w);
    json_begin_object(&w);
    json_end_object(&w);
    json_begin_array(&w);
    json_end_array(&w);
    json_end_array(&w);
    json_kv_string(&w, "utf8", "caf\xc3\xa9");
    json_end_object(&w);
    cr_assert(json_writer_is_complete(&w));
    cr_assert_str_eq(ds_cstr(&ds),
                     "{\"a\":\"x\\\"y\\\\z\\n\\u0001\\u00ff\","
                     "\"list\":[-5,18446744073709551615,true,null,{},[]],"
                     "\"utf8\":\"caf\xc3\xa9\"}");

    ds_clear(&ds);
    json_writer_init(&w, &ds, true);
    json_begin_object(&w);
    json_kv_int(&w, "n", 1);
    json_key(&w, "l");
    json_begin_array(&w);
    json_string(&w, "s");
    json_end_array(&w);
    json_end_object(&w);
    cr_assert_str_eq(ds_cstr(&ds),
                     "{\n  \"n\": 1,\n  \"l\": [\n    \"s\"\n  ]\n}\n");
    ds_destroy(&ds);
}

/* ---- vsctl ---------------------------------------------------------------- */

struct run_result {
    int status;
    char *out, *err;
};

static char *
read_all(int fd)
{
    struct ds ds = DS_EMPTY_INITIALIZER;
    char buf[4096];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) {
        ds_put_buffer(&ds, buf, n);
    }
    return ds_steal_cstr(&ds);
}

/* Runs vsctl with 'args' (NULL-terminated), feeding 'input' on stdin. */
static struct run_result
run_vsctl(const char *input, const char *const *args)
{
    const char *build = getenv("TS_BUILD_DIR");
    char *exe = xasprintf("%s/utilities/vsctl", build ? build : ".");
    int out[2], err[2], in[2];
    struct run_result r;

    cr_assert_eq(access(exe, X_OK), 0, "%s not built", exe);
    cr_assert_eq(pipe(out), 0);
    cr_assert_eq(pipe(err), 0);
    cr_assert_eq(pipe(in), 0);
    /* No Criterion call in the child: it would talk to the runner. */
    pid_t pid = fork();
    if (!pid) {
        const char *argv[32] = { "vsctl" };
        int n = 1;
        for (; args[n - 1]; n++) {
            argv[n] = args[n - 1];
        }
        argv[n] = NULL;
        dup2(out[1], 1);
        dup2(err[1], 2);
        dup2(in[0], 0);
        close(out[0]);
        close(err[0]);
        close(in[1]);
        execv(exe, (char **) argv);
        _exit(127);
    }
    cr_assert_geq(pid, 0);
    close(out[1]);
    close(err[1]);
    close(in[0]);
    if (input) {
        cr_assert_eq(write(in[1], input, strlen(input)),
                     (ssize_t) strlen(input));
    }
    close(in[1]);
    r.out = read_all(out[0]);
    r.err = read_all(err[0]);
    close(out[0]);
    close(err[0]);
    int status;
    waitpid(pid, &status, 0);
    r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    free(exe);
    return r;
}

static void
free_result(struct run_result *r)
{
    free(r->out);
    free(r->err);
}

#define RUN(INPUT, ...) \
    run_vsctl(INPUT, (const char *const []) { __VA_ARGS__, NULL })

Test(vsctl, usage_errors)
{
    struct run_result r = RUN(NULL, "--server=unix:/nonexistent.ctl");
    cr_assert_eq(r.status, 2);
    cr_assert_str_eq(r.err, "vsctl: missing command (try --help)\n");
    free_result(&r);

    r = RUN(NULL, "frobnicate");
    cr_assert_eq(r.status, 2);
    cr_assert_str_eq(r.err, "vsctl: unknown command 'frobnicate' "
                     "(try --help)\n");
    free_result(&r);

    r = RUN(NULL, "add-br");
    cr_assert_eq(r.status, 2);
    cr_assert(strstr(r.err, "add-br BR"), "%s", r.err);
    free_result(&r);

    r = RUN(NULL, "add-br", "a", "b");
    cr_assert_eq(r.status, 2);
    free_result(&r);

    r = RUN(NULL, "--format=xml", "show");
    cr_assert_eq(r.status, 2);
    cr_assert(strstr(r.err, "unknown format 'xml'"), "%s", r.err);
    free_result(&r);

    r = RUN(NULL, "--bogus", "show");
    cr_assert_eq(r.status, 2);
    cr_assert(strstr(r.err, "unknown option '--bogus'"), "%s", r.err);
    free_result(&r);

    r = RUN(NULL, "-t", "abc", "show");
    cr_assert_eq(r.status, 2);
    free_result(&r);

    r = RUN(NULL, "--server=udp:127.0.0.1:6640", "show");
    cr_assert_eq(r.status, 2);
    free_result(&r);
}

Test(vsctl, help_and_version)
{
    struct run_result r = RUN(NULL, "--help");
    static const char *const cmds[] = {
        "show", "add-br BR", "del-br BR", "list-br", "add-port BR PORT",
        "del-port BR PORT", "list-ports BR", "add-flow BR FLOW",
        "add-flows BR FILE|-", "del-flows BR [FLOW]", "mod-flows BR FLOW",
        "dump-flows BR [FLOW]", "dump-ports BR [PORT]", "dump-dp-flows BR",
        "trace BR", "log-level", "status", "version", "--server",
        "--format", "--timeout", "--strict", "--bundle", "--no-stats",
    };
    cr_assert_eq(r.status, 0);
    for (size_t i = 0; i < ARRAY_SIZE(cmds); i++) {
        cr_assert(strstr(r.out, cmds[i]), "--help lacks '%s'", cmds[i]);
    }
    free_result(&r);

    r = RUN(NULL, "version");
    cr_assert_eq(r.status, 0);
    cr_assert(strstr(r.out, "vsctl (Trackswitch) "), "%s", r.out);
    free_result(&r);

    r = RUN(NULL, "--format=json", "version");
    cr_assert_eq(r.status, 0);
    cr_assert(strstr(r.out, "\"version\": "), "%s", r.out);
    free_result(&r);
}

Test(vsctl, connect_failure)
{
    struct run_result r = RUN(NULL, "--server=unix:/nonexistent/x.ctl",
                              "list-br");
    cr_assert_eq(r.status, 1);
    cr_assert_str_eq(r.err, "vsctl: cannot connect to 'unix:/nonexistent/"
                     "x.ctl': No such file or directory\n");
    free_result(&r);
}

/* A fake daemon: answers HELLO, LIST_PORTS (p1=1, p2=2), SHOW, DUMP_PORTS,
 * DUMP_FLOWS; OK to everything else, except FLOW_MODs whose priority is
 * 666 (ERROR).  Records the types of the requests it got. */
struct fake {
    struct stream_listener *l;
    char *target;
    pthread_t thread;
    struct ds log;              /* "TYPE\n" per request */
    struct ds flows;            /* ofp_format_flow_mod() per flow-mod */
    int n_clients;              /* serve this many then stop */
    bool quiet;                 /* the open bundle is CTL_BF_QUIET */
};

/* The fake runs in its own thread and so never calls Criterion; a
 * problem is recorded and checked by the test afterwards. */
static int fake_errors;

static void
fake_reply(struct stream *s, struct ctl_msg *reply, bool mp)
{
    struct ds out = DS_EMPTY_INITIALIZER;
    if (mp ? ctl_msg_encode_multipart(reply, true, &out)
        : ctl_msg_encode(reply, &out)) {
        fake_errors++;
    }
    stream_send_block(s, out.string, out.length, -1);
    ds_destroy(&out);
    ctl_msg_release(reply);
}

static void
fake_handle(struct fake *f, struct stream *s, struct ctl_msg *req)
{
    struct ctl_msg reply;

    ds_put_format(&f->log, "%s\n", req->type == CTL_MULTIPART_REQUEST
                  ? ctl_mp_type_name(req->mp_request.mp_type)
                  : ctl_type_name(req->type));
    switch (req->type) {
    case CTL_HELLO:
        ctl_msg_init_hello(&reply, req->xid);
        fake_reply(s, &reply, false);
        return;
    case CTL_FLOW_MOD:
    case CTL_BUNDLE_ADD: {
        struct ofp_flow_mod *fm = req->type == CTL_FLOW_MOD
                                  ? req->flow_mod.fm : req->bundle.fm;
        ofp_format_flow_mod(&f->flows, fm, NULL);
        ds_put_char(&f->flows, '\n');
        if (fm->priority == 666) {
            ctl_msg_init_error(&reply, req->xid, CTL_ET_FAILED, EINVAL,
                               "table full");
            fake_reply(s, &reply, false);
            return;
        }
        if (req->type == CTL_BUNDLE_ADD && f->quiet) {
            return;             /* quiet bundles: no OK per add */
        }
        break;
    }
    case CTL_BUNDLE_OPEN:
        f->quiet = req->bundle.flags & CTL_BF_QUIET;
        break;
    case CTL_BARRIER_REQUEST:
        ctl_msg_init(&reply, CTL_BARRIER_REPLY, req->xid);
        fake_reply(s, &reply, false);
        return;
    case CTL_MULTIPART_REQUEST: {
        struct ctl_mp_request *r = &req->mp_request;
        ctl_msg_init_mp_reply(&reply, req->xid, r->mp_type);
        if (r->mp_type == CTL_MP_LIST_PORTS) {
            if (strcmp(r->bridge, "br0")) {
                ctl_msg_release(&reply);
                ctl_msg_init_error(&reply, req->xid, CTL_ET_FAILED,
                                   TS_ERR_NO_BRIDGE, "no bridge '%s'",
                                   r->bridge);
                fake_reply(s, &reply, false);
                return;
            }
            ctl_mp_reply_add_port(&reply, "p1", "tap", 1);
            ctl_mp_reply_add_port(&reply, "p2", "", 2);
        } else if (r->mp_type == CTL_MP_SHOW) {
            struct ctl_show_bridge *b
                = ctl_mp_reply_add_show_bridge(&reply, "br0");
            ctl_show_bridge_add_port(b, "br0", "internal", OFPP_LOCAL);
            struct ctl_port *p = ctl_show_bridge_add_port(b, "p1", "tap", 1);
            smap_replace(&p->options, "remote_ip", "10.0.0.1");
        } else if (r->mp_type == CTL_MP_DUMP_PORTS) {
            struct ctl_port_stats ps = {
                .ofport = 1, .rx_packets = 5, .rx_bytes = 300,
                .rx_frame_err = CTL_STAT_UNKNOWN,
                .rx_over_err = CTL_STAT_UNKNOWN,
                .rx_crc_err = CTL_STAT_UNKNOWN,
                .tx_packets = 7, .tx_bytes = 420, .tx_dropped = 1,
                .collisions = CTL_STAT_UNKNOWN,
            };
            ctl_mp_reply_add_port_stats(&reply, &ps);
        } else if (r->mp_type == CTL_MP_DUMP_FLOWS) {
            struct ofp_flow_stats fs;
            memset(&fs, 0, sizeof fs);
            fs.priority = 100;
            fs.duration_msec = 1500;
            fs.idle_age_msec = 1000;
            fs.n_packets = 3;
            fs.n_bytes = 180;
            match_init_catchall(&fs.match);
            match_set_in_port(&fs.match, 1);
            struct ofpacts o;
            ofpacts_init(&o);
            ofpact_put_OUTPUT(&o)->port = 2;
            fs.ofpacts = (const struct ofpact *) (void *) o.data;
            fs.ofpacts_len = o.size;
            ctl_mp_reply_add_flow(&reply, &fs);
            ofpacts_release(&o);
        }
        fake_reply(s, &reply, true);
        return;
    }
    default:
        break;
    }
    ctl_msg_init(&reply, CTL_OK, req->xid);
    fake_reply(s, &reply, false);
}

static void *
fake_main(void *f_)
{
    struct fake *f = f_;
    for (int i = 0; i < f->n_clients; i++) {
        struct stream *s;
        long long deadline = time_msec() + 20000;
        int r;
        while ((r = stream_accept(f->l, &s)) == -EAGAIN
               && time_msec() < deadline) {
            usleep(1000);
        }
        if (r) {
            fake_errors++;      /* a client we waited for never came */
            break;
        }
        for (;;) {
            const uint8_t *frame;
            size_t len;
            struct ctl_msg req;
            if (stream_recv_frame_block(s, time_msec() + 20000, &frame,
                                        &len)) {
                break;
            }
            if (ctl_msg_decode(frame, len, &req, NULL)) {
                fake_errors++;
                break;
            }
            fake_handle(f, s, &req);
            ctl_msg_release(&req);
        }
        stream_close(s);
    }
    return NULL;
}

static void
fake_start(struct fake *f, const char *name, int n_clients)
{
    char *path = tmp_sock_path(name);
    char *err;
    memset(f, 0, sizeof *f);
    f->target = xasprintf("--server=unix:%s", path);
    f->n_clients = n_clients;
    cr_assert_eq(stream_listen(f->target + 9, 0600, &f->l, &err), 0);
    pthread_create(&f->thread, NULL, fake_main, f);
    free(path);
}

/* Waits until the fake has served its clients. */
static void
fake_join(struct fake *f)
{
    pthread_join(f->thread, NULL);
    stream_listener_close(f->l);
    f->l = NULL;
    cr_assert_eq(fake_errors, 0, "the fake daemon saw a bad message");
}

static void
fake_stop(struct fake *f)
{
    if (f->l) {
        fake_join(f);
    }
    free(f->target);
    ds_destroy(&f->log);
    ds_destroy(&f->flows);
}

Test(vsctl, flows_against_fake_daemon)
{
    struct fake f;
    fake_start(&f, "flows", 6);

    /* add-flow with port names resolved through LIST_PORTS. */
    struct run_result r = RUN(NULL, f.target, "add-flow", "br0",
                              "in_port=p1,actions=output:p2");
    cr_assert_eq(r.status, 0, "%s", r.err);
    free_result(&r);

    /* A bad flow: error names the problem, nothing is sent. */
    r = RUN(NULL, f.target, "add-flow", "br0", "in_port=1,nw_srcx=1,"
            "actions=drop");
    cr_assert_eq(r.status, 1);
    cr_assert(!strncmp(r.err, "vsctl: invalid flow: ", 21), "%s", r.err);
    cr_assert(strstr(r.err, "nw_srcx"), "%s", r.err);
    free_result(&r);

    /* add-flows from stdin, bundle: comment and blank lines skipped. */
    r = RUN("# comment\n\npriority=5,in_port=1,actions=2\n"
            "  in_port=2 actions=1\n", f.target, "add-flows", "br0", "-",
            "--bundle");
    cr_assert_eq(r.status, 0, "%s", r.err);
    free_result(&r);

    /* An error on line 3. */
    r = RUN("in_port=1,actions=2\n\nin_port=1,bogus=3,actions=2\n",
            f.target, "add-flows", "br0", "-");
    cr_assert_eq(r.status, 1);
    cr_assert(strstr(r.err, "line 3: "), "%s", r.err);
    cr_assert(strstr(r.err, "bogus"), "%s", r.err);
    free_result(&r);

    /* The daemon refuses the flow on line 2. */
    r = RUN("in_port=1,actions=2\npriority=666,actions=drop\n", f.target,
            "add-flows", "br0", "-");
    cr_assert_eq(r.status, 1);
    cr_assert_str_eq(r.err, "vsctl: stdin: line 2: table full\n");
    free_result(&r);

    /* dump-flows prints OVS lines. */
    r = RUN(NULL, f.target, "dump-flows", "br0");
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(strstr(r.out, " cookie=0x0, duration=1.5"), "%s", r.out);
    cr_assert(strstr(r.out, "priority=100,in_port=1 actions=output:2"),
              "%s", r.out);
    free_result(&r);

    fake_stop(&f);
}

Test(vsctl, requests_seen_by_fake_daemon)
{
    struct fake f;
    fake_start(&f, "seen", 2);
    struct run_result r = RUN("priority=5,in_port=p2,actions=2\n", f.target,
                              "add-flows", "br0", "-", "--bundle");
    cr_assert_eq(r.status, 0, "%s", r.err);
    free_result(&r);
    r = RUN(NULL, f.target, "add-flow", "br1", "actions=drop");
    cr_assert_eq(r.status, 1);
    cr_assert_str_eq(r.err, "vsctl: no bridge 'br1'\n");
    free_result(&r);
    fake_join(&f);
    cr_assert_str_eq(ds_cstr(&f.log),
                     "HELLO\nLIST_PORTS\nBUNDLE_OPEN\nBUNDLE_ADD\n"
                     "BUNDLE_COMMIT\nHELLO\nLIST_PORTS\n");
    cr_assert(strstr(ds_cstr(&f.flows), "in_port=2"), "%s",
              ds_cstr(&f.flows));
    fake_stop(&f);
}

Test(vsctl, output_formats)
{
    struct fake f;
    fake_start(&f, "output", 4);

    struct run_result r = RUN(NULL, f.target, "dump-ports", "br0");
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(strstr(r.out, "): 1 ports\n"
                     "  port  1: rx pkts=5, bytes=300, drop=0, errs=0, "
                     "frame=?, over=?, crc=?\n"
                     "           tx pkts=7, bytes=420, drop=1, errs=0, "
                     "coll=?\n"), "%s", r.out);
    cr_assert(!strncmp(r.out, "OFPST_PORT reply (xid=0x", 24), "%s", r.out);
    free_result(&r);

    r = RUN(NULL, f.target, "show");
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert_str_eq(r.out,
                     "    Bridge br0\n"
                     "        Port br0\n"
                     "            Interface br0\n"
                     "                type: internal\n"
                     "                ofport: 65534\n"
                     "        Port p1\n"
                     "            Interface p1\n"
                     "                type: tap\n"
                     "                ofport: 1\n"
                     "                options: {remote_ip=\"10.0.0.1\"}\n");
    free_result(&r);

    r = RUN(NULL, f.target, "--format=json", "list-ports", "br0");
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(strstr(r.out, "\"name\": \"p1\""), "%s", r.out);
    cr_assert(strstr(r.out, "\"ofport\": 2"), "%s", r.out);
    free_result(&r);

    r = RUN(NULL, f.target, "list-ports", "br0");
    cr_assert_str_eq(r.out, "p1\np2\n");
    free_result(&r);

    fake_stop(&f);
}

Test(vsctl, bad_arguments)
{
    struct run_result r = RUN(NULL, "--server=unix:/nonexistent.ctl",
                              "add-port", "br0", "p1", "ofport=0");
    cr_assert_eq(r.status, 1);
    cr_assert_str_eq(r.err, "vsctl: invalid ofport '0' (expected 1 to "
                     "65279)\n");
    free_result(&r);

    r = RUN(NULL, "--server=unix:/nonexistent.ctl", "add-port", "br0", "p1",
            "novalue");
    cr_assert_eq(r.status, 1);
    cr_assert_str_eq(r.err, "vsctl: 'novalue' is not KEY=VALUE\n");
    free_result(&r);

    r = RUN(NULL, "--server=unix:/nonexistent.ctl", "add-port", "br0", "p1",
            "a=1", "a=2");
    cr_assert_eq(r.status, 1);
    cr_assert(strstr(r.err, "option 'a' given twice"), "%s", r.err);
    free_result(&r);

    /* Conntrack arguments are checked before connecting. */
    static const struct {
        const char *args[4];
        const char *err;
    } ct_cases[] = {
        { { "ct-set-limits", "zone=70000,limit=1" },
          "vsctl: invalid zone '70000' (expected a number up to 65535)\n" },
        { { "ct-set-limits", "zone=1" },
          "vsctl: invalid zone limit 'zone=1' (expected zone=N,limit=L or "
          "default=L)\n" },
        { { "ct-del-limits", "1" },
          "vsctl: invalid argument '1' (expected zone=N[,N]...)\n" },
        { { "flush-conntrack", "ct_nw_src=10.0.0.1,ct_foo=1" },
          "vsctl: invalid conntrack tuple field 'ct_foo'\n" },
        { { "flush-conntrack", "ct_nw_src=10.0.0.300,ct_nw_proto=6" },
          "vsctl: failed to parse field 'ct_nw_src': invalid IPv4 address "
          "'10.0.0.300'\n" },
        { { "flush-conntrack", "ct_nw_src=10.0.0.1,ct_nw_dst=10.0.0.2" },
          "vsctl: invalid conntrack tuple 'ct_nw_src=10.0.0.1,"
          "ct_nw_dst=10.0.0.2': missing ct_nw_proto\n" },
        { { "flush-conntrack", "mark=0x100000000" },
          "vsctl: invalid mark '0x100000000' (32 bits)\n" },
        { { "ct-set-tcp-seq-chk", "maybe" },
          "vsctl: invalid argument 'maybe' (expected on or off)\n" },
        { { "ct-set-timeout-policy", "zone=1", "tcp_established" },
          "vsctl: invalid timeout 'tcp_established' (expected "
          "KEY=SECONDS)\n" },
        { { "dump-conntrack", "zone=x" },
          "vsctl: invalid zone 'x' (expected a number up to 65535)\n" },
    };
    for (size_t i = 0; i < ARRAY_SIZE(ct_cases); i++) {
        const char *const *a = ct_cases[i].args;
        r = RUN(NULL, "--server=unix:/nonexistent.ctl", a[0], a[1], a[2],
                a[3]);
        cr_assert_eq(r.status, 1, "%s: status %d", a[0], r.status);
        cr_assert_str_eq(r.err, ct_cases[i].err);
        free_result(&r);
    }
}

Test(vsctl, timeout)
{
    char *path = tmp_sock_path("timeout");
    char *target = xasprintf("unix:%s", path);
    char *server = xasprintf("--server=%s", target);
    struct stream_listener *l;
    char *err;

    /* A listener that never answers: the connection completes from the
     * backlog, the HELLO reply never comes. */
    cr_assert_eq(stream_listen(target, 0600, &l, &err), 0);
    long long start = time_msec();
    struct run_result r = RUN(NULL, server, "-t", "1", "list-br");
    long long elapsed = time_msec() - start;
    cr_assert_eq(r.status, 1);
    cr_assert(strstr(r.err, "timed out after 1 seconds"), "%s", r.err);
    cr_assert_geq(elapsed, 900);
    cr_assert_lt(elapsed, 5000);
    free_result(&r);
    stream_listener_close(l);
    free(server);
    free(target);
    free(path);
}

Test(stream, blocking_client_descriptor)
{
    char *path = tmp_sock_path("blocking");
    char *target = xasprintf("unix:%s", path);
    struct stream_listener *l;
    struct stream *server;
    char *err;
    int fd;

    cr_assert_eq(stream_listen(target, 0600, &l, &err), 0);
    cr_assert_eq(stream_open_client(target, &fd, &err), 0);
    cr_assert(!(fcntl(fd, F_GETFL) & O_NONBLOCK));
    cr_assert_eq(stream_accept(l, &server), 0);
    cr_assert_eq(write(fd, "\x01\x06\x00\x08\x00\x00\x00\x07", 8), 8);
    const uint8_t *frame;
    size_t len;
    cr_assert_eq(stream_recv_frame_block(server, time_msec() + 2000, &frame,
                                         &len), 0);
    cr_assert_eq(len, 8);
    cr_assert_eq(frame[7], 7);
    close(fd);
    stream_close(server);
    stream_listener_close(l);
    free(target);
    free(path);
}

/* ---- Conntrack messages ---------------------------------------------------- */

/* Encodes 'msg', lets 'patch' change the body bytes, and expects the
 * decoder to refuse it with a message containing 'want'. */
static void
expect_refused(struct ctl_msg *msg, size_t ofs, uint8_t value,
               const char *want)
{
    struct ds a = DS_EMPTY_INITIALIZER;
    struct ctl_msg back;
    char *err = NULL;

    encode_ok(msg, &a);
    cr_assert_lt(CTL_HEADER_LEN + ofs, a.length);
    a.string[CTL_HEADER_LEN + ofs] = value;
    cr_assert_eq(ctl_msg_decode(a.string, a.length, &back, &err),
                 -TS_ERR_PROTO, "%s accepted", ctl_type_name(msg->type));
    cr_assert(err && strstr(err, want), "%s: '%s' lacks '%s'",
              ctl_type_name(msg->type), err ? err : "", want);
    cr_assert_eq(back.type, 0);
    free(err);
    ds_destroy(&a);
    ctl_msg_release(msg);
}

Test(ctl_proto, capture_bad_values_refused)
{
    struct ctl_msg m;

    /* Directions: none, then an unknown bit (u32 flags at offset 0). */
    make_capture_sample(0, 1, &m);
    expect_refused(&m, 3, 0, "bad capture directions 0x0");
    make_capture_sample(0, 1, &m);
    expect_refused(&m, 3, 7, "bad capture directions 0x7");
    /* Snapshot length 0x01000000 (u32 at offset 4). */
    make_capture_sample(0, 1, &m);
    expect_refused(&m, 4, 1, "over 262144");
    /* Buffer size 0x01000000 kB (u32 at offset 8). */
    make_capture_sample(0, 1, &m);
    expect_refused(&m, 8, 1, "kB over");
    /* Packet direction 3 (u8 at offset 16). */
    make_capture_sample(1, 1, &m);
    expect_refused(&m, 16, 3, "bad packet direction 3");
    /* Original length 5, shorter than the 9 bytes carried (u32 at 12). */
    make_capture_sample(1, 1, &m);
    m.capture_packet.orig_len = 9;
    expect_refused(&m, 15, 5, "exceed the original length 5");
    /* End reason 9 (u32 at offset 4). */
    make_capture_sample(3, 1, &m);
    expect_refused(&m, 7, 9, "unknown end reason 9");
}

Test(ctl_proto, conntrack_bad_values_refused)
{
    struct ctl_msg m;

    /* Zone 65536 in a flush filter (u32 at offset 0). */
    ctl_msg_init(&m, CTL_CT_FLUSH, 1);
    m.ct_flush.zone = 0;
    expect_refused(&m, 1, 1, "zone 65536 out of range");
    /* Unknown address family in the original tuple (offset 48). */
    ctl_msg_init(&m, CTL_CT_FLUSH, 1);
    expect_refused(&m, 48, 5, "unknown address family 5");
    /* A reply tuple without an original one (offset 88). */
    ctl_msg_init(&m, CTL_CT_FLUSH, 1);
    expect_refused(&m, 88, 4, "reply tuple without original tuple");
    /* tcp-seq-chk must be 0 or 1. */
    ctl_msg_init(&m, CTL_CT_SET_TCP_SEQ_CHK, 1);
    expect_refused(&m, 3, 2, "is not 0 or 1");
    /* Unknown event type. */
    ctl_msg_init(&m, CTL_CT_EVENT, 0);
    m.ct_event.line = xstrdup("x");
    expect_refused(&m, 0, 3, "unknown event type 3");
    /* Unknown monitor flag. */
    ctl_msg_init(&m, CTL_CT_MONITOR, 1);
    expect_refused(&m, 3, 2, "unknown monitor flags");
    /* A zone limit count larger than the message. */
    ctl_msg_init(&m, CTL_CT_SET_LIMITS, 1);
    ctl_ct_limits_add(&m.ct_limits, 1, 1);
    expect_refused(&m, 3, 2, "exceeds the message");
    /* A timeout policy with an empty key. */
    ctl_msg_init(&m, CTL_CT_SET_TP, 1);
    m.ct_tp.zone = 1;
    ctl_ct_tp_add_attr(&m.ct_tp, "", 5);
    expect_refused(&m, 3, 1, "empty timeout policy key");
    /* Unknown dump flags. */
    ctl_msg_init_mp_request(&m, 1, CTL_MP_CT_DUMP, NULL);
    expect_refused(&m, 11, 4, "unknown dump flags");
    /* The "default" zone is only for timeout policies and limits. */
    ctl_msg_init_mp_request(&m, 1, CTL_MP_CT_DUMP, NULL);
    m.mp_request.ct_dump.zone = CTL_CT_ZONE_DEFAULT;
    expect_refused(&m, 15, 0xfe, "out of range");
    /* An unknown counter kind in a stats reply. */
    ctl_msg_init_mp_reply(&m, 1, CTL_MP_CT_STATS);
    ctl_mp_reply_add_ct_counter(&m, CTL_CTC_PROTO, "Total", 1);
    expect_refused(&m, 8, 7, "unknown counter kind 7");
}

/* A dump of many connections goes out in several frames (each within
 * CTL_MAX_MSG_LEN) and merges back to the same lines in order. */
Test(ctl_proto, conntrack_dump_split_and_merge)
{
    struct ctl_msg msg, total;
    struct ds out = DS_EMPTY_INITIALIZER;
    enum { N = 3000 };
    size_t n_frames = 0;

    ctl_msg_init_mp_reply(&msg, 9, CTL_MP_CT_DUMP);
    for (int i = 0; i < N; i++) {
        char *line = xasprintf("tcp,orig=(src=10.0.%d.%d,dst=10.9.9.9,"
                               "sport=%d,dport=80),reply=(src=10.9.9.9,"
                               "dst=10.0.%d.%d,sport=80,dport=%d),zone=1,"
                               "protoinfo=(state=ESTABLISHED)",
                               i / 256, i % 256, 1024 + i, i / 256,
                               i % 256, 1024 + i);
        ctl_mp_reply_add_ct_conn(&msg, line);
        free(line);
    }
    cr_assert_eq(ctl_msg_encode_multipart(&msg, true, &out), 0);
    ctl_msg_init_mp_reply(&total, 9, CTL_MP_CT_DUMP);
    for (size_t ofs = 0; ofs < out.length; n_frames++) {
        uint8_t version, type;
        uint32_t xid;
        int len = ctl_peek_header(out.string + ofs, out.length - ofs,
                                  &version, &type, &xid);
        struct ctl_msg part;
        char *err = NULL;

        cr_assert_gt(len, 0);
        cr_assert_leq(len, CTL_MAX_MSG_LEN);
        cr_assert_eq(ctl_msg_decode(out.string + ofs, len, &part, &err), 0,
                     "%s", err ? err : "");
        bool more = part.mp_reply.flags & CTL_MPF_MORE;
        ofs += len;
        cr_assert_eq(more, ofs < out.length);
        cr_assert_eq(ctl_mp_reply_append(&total, &part), 0);
        ctl_msg_release(&part);
    }
    cr_assert_gt(n_frames, 2);
    cr_assert_eq(total.mp_reply.n, N);
    for (int i = 0; i < N; i++) {
        CHECK(!strcmp(total.mp_reply.ct_conns[i].line,
                      msg.mp_reply.ct_conns[i].line), "line %d", i);
    }
    ctl_msg_release(&msg);
    ctl_msg_release(&total);
    ds_destroy(&out);
}
