/* vsctl-output: printing replies as text (Open vSwitch's formats) or as
 * JSON (--format=json).  Every function writes to stdout. */
#include <ctype.h>
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl-proto.h"
#include "dynamic-string.h"
#include "json.h"
#include "match.h"
#include "dp-packet.h"
#include "flow.h"
#include "ofp-flow.h"
#include "ofp-group.h"
#include "ofp-port-map.h"
#include "ofpact.h"
#include "ts-config.h"
#include "vsctl.h"

static void
json_start(struct json_writer *w, struct ds *ds)
{
    json_writer_init(w, ds, true);
}

static void
json_finish(struct json_writer *w, struct ds *ds)
{
    ts_assert(json_writer_is_complete(w));
    fputs(ds_cstr(ds), stdout);
    ds_destroy(ds);
}

/* ---- show, list-br, list-ports ------------------------------------------ */

/* Writes 's' bare if it is an identifier, else quoted (as OVSDB prints
 * strings in ovs-vsctl show). */
static void
put_ovsdb_string(struct ds *ds, const char *s)
{
    bool bare = *s && (isalpha((unsigned char) *s) || *s == '_');
    for (const char *p = s; *p && bare; p++) {
        bare = isalnum((unsigned char) *p) || *p == '_';
    }
    if (bare) {
        ds_put_cstr(ds, s);
        return;
    }
    ds_put_char(ds, '"');
    for (const char *p = s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            ds_put_char(ds, '\\');
        }
        ds_put_char(ds, *p);
    }
    ds_put_char(ds, '"');
}

static bool
type_is_default(const char *type)
{
    return !type || !*type || !strcmp(type, "system");
}

static void
json_port(struct json_writer *w, const struct ctl_port *p)
{
    const struct smap_entry *e;

    json_begin_object(w);
    json_kv_string(w, "name", p->name);
    json_kv_string(w, "type", type_is_default(p->type) ? "system" : p->type);
    json_kv_uint(w, "ofport", p->ofport);
    json_key(w, "options");
    json_begin_object(w);
    for (size_t i = 0; i < p->options.n; i++) {
        e = &p->options.entries[i];
        json_kv_string(w, e->key, e->value);
    }
    json_end_object(w);
    json_end_object(w);
}

void
vsctl_print_show(const struct vsctl_ctx *ctx, const struct ctl_mp_reply *r)
{
    struct ds ds = DS_EMPTY_INITIALIZER;

    if (ctx->json) {
        struct json_writer w;
        json_start(&w, &ds);
        json_begin_object(&w);
        json_key(&w, "bridges");
        json_begin_array(&w);
        for (size_t i = 0; i < r->n; i++) {
            const struct ctl_show_bridge *b = &r->show[i];
            json_begin_object(&w);
            json_kv_string(&w, "name", b->name);
            json_key(&w, "ports");
            json_begin_array(&w);
            for (size_t j = 0; j < b->n_ports; j++) {
                json_port(&w, &b->ports[j]);
            }
            json_end_array(&w);
            json_end_object(&w);
        }
        json_end_array(&w);
        json_end_object(&w);
        json_finish(&w, &ds);
        return;
    }

    for (size_t i = 0; i < r->n; i++) {
        const struct ctl_show_bridge *b = &r->show[i];
        ds_put_cstr(&ds, "    Bridge ");
        put_ovsdb_string(&ds, b->name);
        ds_put_char(&ds, '\n');
        for (size_t j = 0; j < b->n_ports; j++) {
            const struct ctl_port *p = &b->ports[j];
            const struct smap_entry *e;

            ds_put_cstr(&ds, "        Port ");
            put_ovsdb_string(&ds, p->name);
            ds_put_cstr(&ds, "\n            Interface ");
            put_ovsdb_string(&ds, p->name);
            ds_put_char(&ds, '\n');
            if (!type_is_default(p->type)) {
                ds_put_format(&ds, "                type: %s\n", p->type);
            }
            ds_put_format(&ds, "                ofport: %"PRIu32"\n",
                          p->ofport);
            if (p->options.n) {
                ds_put_cstr(&ds, "                options: {");
                SMAP_FOR_EACH (e, &p->options) {
                    if (e != p->options.entries) {
                        ds_put_cstr(&ds, ", ");
                    }
                    put_ovsdb_string(&ds, e->key);
                    ds_put_char(&ds, '=');
                    put_ovsdb_string(&ds, e->value);
                }
                ds_put_cstr(&ds, "}\n");
            }
        }
    }
    fputs(ds_cstr(&ds), stdout);
    ds_destroy(&ds);
}

void
vsctl_print_list_br(const struct vsctl_ctx *ctx,
                    const struct ctl_mp_reply *r)
{
    if (ctx->json) {
        struct ds ds = DS_EMPTY_INITIALIZER;
        struct json_writer w;
        json_start(&w, &ds);
        json_begin_object(&w);
        json_key(&w, "bridges");
        json_begin_array(&w);
        for (size_t i = 0; i < r->n; i++) {
            json_string(&w, r->bridges[i]);
        }
        json_end_array(&w);
        json_end_object(&w);
        json_finish(&w, &ds);
        return;
    }
    for (size_t i = 0; i < r->n; i++) {
        printf("%s\n", r->bridges[i]);
    }
}

void
vsctl_print_list_ports(const struct vsctl_ctx *ctx,
                       const struct ctl_mp_reply *r)
{
    if (ctx->json) {
        struct ds ds = DS_EMPTY_INITIALIZER;
        struct json_writer w;
        json_start(&w, &ds);
        json_begin_object(&w);
        json_key(&w, "ports");
        json_begin_array(&w);
        for (size_t i = 0; i < r->n; i++) {
            json_port(&w, &r->ports[i]);
        }
        json_end_array(&w);
        json_end_object(&w);
        json_finish(&w, &ds);
        return;
    }
    /* As ovs-vsctl list-ports: names only. */
    for (size_t i = 0; i < r->n; i++) {
        printf("%s\n", r->ports[i].name);
    }
}

/* ---- dump-flows ---------------------------------------------------------- */

void
vsctl_print_flows(const struct vsctl_ctx *ctx, const struct ctl_mp_reply *r,
                  const struct ofp_port_map *map)
{
    struct ds ds = DS_EMPTY_INITIALIZER;

    if (ctx->json) {
        struct json_writer w;
        json_start(&w, &ds);
        json_begin_object(&w);
        json_key(&w, "flows");
        json_begin_array(&w);
        for (size_t i = 0; i < r->n; i++) {
            const struct ofp_flow_stats *fs = r->flows[i];
            struct ds a = DS_EMPTY_INITIALIZER;
            char *m = match_to_string(&fs->match, OFP_DEFAULT_PRIORITY, map);

            ofpacts_format(fs->ofpacts, fs->ofpacts_len, map, &a);
            json_begin_object(&w);
            json_kv_uint(&w, "table", fs->table_id);
            json_kv_int(&w, "priority", fs->priority);
            json_kv_uint(&w, "cookie", fs->cookie);
            json_kv_string(&w, "match", m);
            json_kv_string(&w, "actions", ds_cstr(&a));
            if (!ctx->no_stats) {
                json_key(&w, "duration");
                json_double(&w, fs->duration_msec / 1000.0);
                json_kv_uint(&w, "n_packets", fs->n_packets);
                json_kv_uint(&w, "n_bytes", fs->n_bytes);
                if (fs->idle_age_msec >= 0) {
                    json_kv_int(&w, "idle_age", fs->idle_age_msec / 1000);
                }
            }
            json_kv_uint(&w, "idle_timeout", fs->idle_timeout);
            json_kv_uint(&w, "hard_timeout", fs->hard_timeout);
            json_end_object(&w);
            free(m);
            ds_destroy(&a);
        }
        json_end_array(&w);
        json_end_object(&w);
        json_finish(&w, &ds);
        return;
    }
    /* As ovs-ofctl dump-flows (OVS 2.8 and later): no header line, one
     * flow per line with a leading space. */
    for (size_t i = 0; i < r->n; i++) {
        ofp_format_flow_stats(&ds, r->flows[i], !ctx->no_stats, map);
        ds_put_char(&ds, '\n');
    }
    fwrite(ds.string, 1, ds.length, stdout);
    ds_destroy(&ds);
}

/* ---- dump-ports --------------------------------------------------------- */

static void
put_counter(struct ds *ds, const char *name, uint64_t x, bool last)
{
    if (x == CTL_STAT_UNKNOWN) {
        ds_put_format(ds, "%s=?", name);
    } else {
        ds_put_format(ds, "%s=%"PRIu64, name, x);
    }
    ds_put_cstr(ds, last ? "\n" : ", ");
}

static void
json_counter(struct json_writer *w, const char *name, uint64_t x)
{
    json_key(w, name);
    if (x == CTL_STAT_UNKNOWN) {
        json_null(w);
    } else {
        json_uint(w, x);
    }
}

void
vsctl_print_port_stats(const struct vsctl_ctx *ctx,
                       const struct ctl_mp_reply *r, uint32_t xid,
                       const struct ofp_port_map *map)
{
    struct ds ds = DS_EMPTY_INITIALIZER;

    if (ctx->json) {
        struct json_writer w;
        json_start(&w, &ds);
        json_begin_object(&w);
        json_key(&w, "ports");
        json_begin_array(&w);
        for (size_t i = 0; i < r->n; i++) {
            const struct ctl_port_stats *ps = &r->port_stats[i];
            const char *name = ofp_port_map_get_name(map, ps->ofport);
            json_begin_object(&w);
            json_kv_uint(&w, "ofport", ps->ofport);
            if (name) {
                json_kv_string(&w, "name", name);
            }
            json_counter(&w, "rx_packets", ps->rx_packets);
            json_counter(&w, "rx_bytes", ps->rx_bytes);
            json_counter(&w, "rx_dropped", ps->rx_dropped);
            json_counter(&w, "rx_errors", ps->rx_errors);
            json_counter(&w, "rx_frame_err", ps->rx_frame_err);
            json_counter(&w, "rx_over_err", ps->rx_over_err);
            json_counter(&w, "rx_crc_err", ps->rx_crc_err);
            json_counter(&w, "tx_packets", ps->tx_packets);
            json_counter(&w, "tx_bytes", ps->tx_bytes);
            json_counter(&w, "tx_dropped", ps->tx_dropped);
            json_counter(&w, "tx_errors", ps->tx_errors);
            json_counter(&w, "collisions", ps->collisions);
            json_key(&w, "duration");
            json_double(&w, ps->duration_sec + ps->duration_nsec / 1e9);
            json_end_object(&w);
        }
        json_end_array(&w);
        json_end_object(&w);
        json_finish(&w, &ds);
        return;
    }

    ds_put_format(&ds, "OFPST_PORT reply (xid=0x%"PRIx32"): %zu ports\n",
                  xid, r->n);
    for (size_t i = 0; i < r->n; i++) {
        const struct ctl_port_stats *ps = &r->port_stats[i];
        struct ds port = DS_EMPTY_INITIALIZER;

        ofp_port_format(ps->ofport, ctx->names ? map : NULL, &port);
        ds_put_format(&ds, "  port %2s: rx ", ds_cstr(&port));
        ds_destroy(&port);
        put_counter(&ds, "pkts", ps->rx_packets, false);
        put_counter(&ds, "bytes", ps->rx_bytes, false);
        put_counter(&ds, "drop", ps->rx_dropped, false);
        put_counter(&ds, "errs", ps->rx_errors, false);
        put_counter(&ds, "frame", ps->rx_frame_err, false);
        put_counter(&ds, "over", ps->rx_over_err, false);
        put_counter(&ds, "crc", ps->rx_crc_err, true);
        ds_put_cstr(&ds, "           tx ");
        put_counter(&ds, "pkts", ps->tx_packets, false);
        put_counter(&ds, "bytes", ps->tx_bytes, false);
        put_counter(&ds, "drop", ps->tx_dropped, false);
        put_counter(&ds, "errs", ps->tx_errors, false);
        put_counter(&ds, "coll", ps->collisions, true);
    }
    fputs(ds_cstr(&ds), stdout);
    ds_destroy(&ds);
}

/* ---- dump-dp-flows ------------------------------------------------------ */

/* TCP flags as ovs-appctl dpctl/dump-flows prints them ("S.", "FP."). */
static void
put_tcp_flags(struct ds *ds, uint16_t flags)
{
    static const struct { uint16_t bit; char c; } names[] = {
        { 0x001, 'F' }, { 0x002, 'S' }, { 0x004, 'R' }, { 0x008, 'P' },
        { 0x010, '.' }, { 0x020, 'U' }, { 0x040, 'E' }, { 0x080, 'C' },
        { 0x100, 'N' },
    };
    for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
        if (flags & names[i].bit) {
            ds_put_char(ds, names[i].c);
        }
    }
}

void
vsctl_print_dp_flows(const struct vsctl_ctx *ctx,
                     const struct ctl_mp_reply *r)
{
    struct ds ds = DS_EMPTY_INITIALIZER;

    if (ctx->json) {
        struct json_writer w;
        json_start(&w, &ds);
        json_begin_object(&w);
        json_key(&w, "flows");
        json_begin_array(&w);
        for (size_t i = 0; i < r->n; i++) {
            const struct ctl_dp_flow *f = &r->dp_flows[i];
            json_begin_object(&w);
            json_kv_string(&w, "match", f->match);
            json_kv_uint(&w, "packets", f->n_packets);
            json_kv_uint(&w, "bytes", f->n_bytes);
            json_key(&w, "used");
            if (f->used_msec < 0) {
                json_null(&w);
            } else {
                json_double(&w, f->used_msec / 1000.0);
            }
            json_kv_uint(&w, "tcp_flags", f->tcp_flags);
            json_kv_string(&w, "actions", f->actions);
            json_end_object(&w);
        }
        json_end_array(&w);
        json_end_object(&w);
        json_finish(&w, &ds);
        return;
    }
    for (size_t i = 0; i < r->n; i++) {
        const struct ctl_dp_flow *f = &r->dp_flows[i];
        ds_put_format(&ds, "%s, packets:%"PRIu64", bytes:%"PRIu64", used:",
                      f->match, f->n_packets, f->n_bytes);
        if (f->used_msec < 0) {
            ds_put_cstr(&ds, "never");
        } else {
            ds_put_format(&ds, "%.3fs", f->used_msec / 1000.0);
        }
        if (f->tcp_flags) {
            ds_put_cstr(&ds, ", flags:");
            put_tcp_flags(&ds, f->tcp_flags);
        }
        ds_put_format(&ds, ", actions:%s\n", f->actions);
    }
    fputs(ds_cstr(&ds), stdout);
    ds_destroy(&ds);
}

/* ---- trace, key/value, version ------------------------------------------ */

void
vsctl_print_trace(const struct vsctl_ctx *ctx, const struct ctl_mp_reply *r)
{
    const char *text = r->text ? r->text : "";

    if (ctx->json) {
        struct ds ds = DS_EMPTY_INITIALIZER;
        struct json_writer w;
        json_start(&w, &ds);
        json_begin_object(&w);
        json_kv_string(&w, "trace", text);
        json_end_object(&w);
        json_finish(&w, &ds);
        return;
    }
    fputs(text, stdout);
    if (*text && text[strlen(text) - 1] != '\n') {
        putchar('\n');
    }
}

void
vsctl_print_kv(const struct vsctl_ctx *ctx, const struct smap *kv,
               const char *key_name, const char *value_name)
{
    const struct smap_entry *e;

    if (ctx->json) {
        struct ds ds = DS_EMPTY_INITIALIZER;
        struct json_writer w;
        json_start(&w, &ds);
        json_begin_object(&w);
        for (size_t i = 0; i < kv->n; i++) {
            e = &kv->entries[i];
            json_kv_string(&w, e->key, e->value);
        }
        json_end_object(&w);
        json_finish(&w, &ds);
        return;
    }
    for (size_t i = 0; i < kv->n; i++) {
        e = &kv->entries[i];
        printf("%s: %s\n", e->key, e->value);
    }
}

void
vsctl_print_version(const struct vsctl_ctx *ctx)
{
    if (ctx->json) {
        printf("{\n  \"program\": \"vsctl\",\n  \"version\": \"%s\",\n"
               "  \"protocol\": %d\n}\n", TS_VERSION, CTL_VERSION);
    } else {
        printf("vsctl (Trackswitch) %s\nprotocol version %d\n", TS_VERSION,
               CTL_VERSION);
    }
}

/* ---- dump-aggregate, dump-groups ---------------------------------------- */

void
vsctl_print_aggregate(const struct vsctl_ctx *ctx,
                      const struct ctl_aggregate *a, uint32_t xid)
{
    if (ctx->json) {
        struct ds ds = DS_EMPTY_INITIALIZER;
        struct json_writer w;
        json_start(&w, &ds);
        json_begin_object(&w);
        json_kv_uint(&w, "packet_count", a->packet_count);
        json_kv_uint(&w, "byte_count", a->byte_count);
        json_kv_uint(&w, "flow_count", a->flow_count);
        json_end_object(&w);
        json_finish(&w, &ds);
        return;
    }
    printf("NXST_AGGREGATE reply (xid=0x%"PRIx32"): packet_count=%"PRIu64
           " byte_count=%"PRIu64" flow_count=%"PRIu32"\n", xid,
           a->packet_count, a->byte_count, a->flow_count);
}

void
vsctl_print_groups(const struct vsctl_ctx *ctx, const struct ctl_mp_reply *r,
                   uint32_t xid, bool stats, const struct ofp_port_map *map)
{
    struct ds ds = DS_EMPTY_INITIALIZER;

    if (ctx->json) {
        struct json_writer w;
        json_start(&w, &ds);
        json_begin_object(&w);
        json_key(&w, "groups");
        json_begin_array(&w);
        for (size_t i = 0; i < r->n; i++) {
            const struct ctl_group_entry *g = &r->groups[i];
            struct ds text = DS_EMPTY_INITIALIZER;
            ofp_format_group_mod(&text, g->desc, map);
            json_begin_object(&w);
            json_kv_uint(&w, "group_id", g->desc->group_id);
            json_kv_string(&w, "type", ofp_group_type_name(g->desc->type));
            json_kv_string(&w, "group", ds_cstr(&text));
            json_kv_uint(&w, "ref_count", g->ref_count);
            json_kv_uint(&w, "packet_count", g->packet_count);
            json_kv_uint(&w, "byte_count", g->byte_count);
            json_key(&w, "bucket_stats");
            json_begin_array(&w);
            for (size_t j = 0; j < g->desc->n_buckets; j++) {
                json_begin_object(&w);
                json_kv_uint(&w, "packet_count",
                             g->bucket_stats[j].packet_count);
                json_kv_uint(&w, "byte_count", g->bucket_stats[j].byte_count);
                json_end_object(&w);
            }
            json_end_array(&w);
            json_end_object(&w);
            ds_destroy(&text);
        }
        json_end_array(&w);
        json_end_object(&w);
        json_finish(&w, &ds);
        return;
    }
    printf("%s reply (OF1.5) (xid=0x%"PRIx32"):\n",
           stats ? "OFPST_GROUP" : "OFPST_GROUP_DESC", xid);
    for (size_t i = 0; i < r->n; i++) {
        const struct ctl_group_entry *g = &r->groups[i];
        ds_clear(&ds);
        if (stats) {
            struct ofp_group_stats gs = {
                .group_id = g->desc->group_id,
                .ref_count = g->ref_count,
                .packet_count = g->packet_count,
                .byte_count = g->byte_count,
                .duration_msec = g->duration_msec,
                .n_buckets = g->desc->n_buckets,
                .buckets = g->bucket_stats,
            };
            ofp_format_group_stats(&ds, &gs);
        } else {
            ofp_format_group_desc(&ds, g->desc, map);
        }
        printf("%s\n", ds_cstr(&ds));
    }
    ds_destroy(&ds);
}

/* ---- monitor ------------------------------------------------------------ */

static const char *
packet_in_reason(uint8_t reason)
{
    switch (reason) {
    case 0: return "no_match";
    case 1: return "action";
    case 2: return "invalid_ttl";
    case 3: return "action_set";
    case 4: return "group";
    case 5: return "packet_out";
    default: return "unknown";
    }
}

#define SET_EXACT(MATCH, FIELD) \
    memset(&(MATCH)->wc.masks.FIELD, 0xff, sizeof (MATCH)->wc.masks.FIELD)

/* The fields of 'flow' that its protocols define, exact, as OVS's
 * flow_format() prints a packet: metadata that is zero is left out. */
static void
packet_match(const struct flow *flow, struct match *m)
{
    uint16_t type = ntohs(flow->dl_type);

    match_init_catchall(m);
    m->flow = *flow;
    m->flow.in_port = 0;
    SET_EXACT(m, dl_src);
    SET_EXACT(m, dl_dst);
    SET_EXACT(m, dl_type);
    SET_EXACT(m, vlans[0].tci);
    if (type == ETH_TYPE_ARP || type == ETH_TYPE_RARP) {
        SET_EXACT(m, nw_src);
        SET_EXACT(m, nw_dst);
        SET_EXACT(m, nw_proto);
        SET_EXACT(m, arp_sha);
        SET_EXACT(m, arp_tha);
    } else if (type == ETH_TYPE_IP || type == ETH_TYPE_IPV6) {
        if (type == ETH_TYPE_IP) {
            SET_EXACT(m, nw_src);
            SET_EXACT(m, nw_dst);
        } else {
            SET_EXACT(m, ipv6_src);
            SET_EXACT(m, ipv6_dst);
            SET_EXACT(m, ipv6_label);
        }
        SET_EXACT(m, nw_proto);
        SET_EXACT(m, nw_tos);
        SET_EXACT(m, nw_ttl);
        m->wc.masks.nw_frag = FLOW_NW_FRAG_ANY | FLOW_NW_FRAG_LATER;
        if (!(flow->nw_frag & FLOW_NW_FRAG_LATER)
            && (flow->nw_proto == 6 || flow->nw_proto == 17
                || flow->nw_proto == 132 || flow->nw_proto == 1
                || flow->nw_proto == 58)) {
            SET_EXACT(m, tp_src);
            SET_EXACT(m, tp_dst);
            if (flow->nw_proto == 6) {
                SET_EXACT(m, tcp_flags);
            }
        }
    }
    match_zero_wildcarded_fields(m);
}

/* Appends " tcp_csum:HEX" and the like, as ovs-ofctl does. */
static void
put_l4_csum(struct ds *ds, const struct dp_packet *pkt,
            const struct flow *flow)
{
    const uint8_t *l4 = dp_packet_l4(pkt);
    size_t l4_size = l4 ? dp_packet_size(pkt)
                          - (l4 - (const uint8_t *) dp_packet_data(pkt)) : 0;
    const char *name = NULL;
    size_t ofs = 0, min = 0;

    if (!l4 || (flow->nw_frag & FLOW_NW_FRAG_LATER)) {
        return;
    }
    switch (flow->nw_proto) {
    case 6: name = "tcp_csum"; ofs = 16; min = 20; break;
    case 17: name = "udp_csum"; ofs = 6; min = 8; break;
    case 132: name = "sctp_csum"; ofs = 8; min = 12; break;
    case 1: name = "icmp_csum"; ofs = 2; min = 8; break;
    case 58: name = "icmp6_csum"; ofs = 2; min = 4; break;
    default: return;
    }
    if (l4_size < min) {
        return;
    }
    if (flow->nw_proto == 132) {
        ds_put_format(ds, " %s:%"PRIx32, name,
                      ((uint32_t) l4[ofs] << 24) | (l4[ofs + 1] << 16)
                      | (l4[ofs + 2] << 8) | l4[ofs + 3]);
    } else {
        ds_put_format(ds, " %s:%x", name, (l4[ofs] << 8) | l4[ofs + 1]);
    }
}

void
vsctl_print_packet_in(const struct vsctl_ctx *ctx, const struct ctl_msg *msg,
                      const struct ofp_port_map *map)
{
    const struct ctl_packet_in *pi = &msg->packet_in;
    struct ds ds = DS_EMPTY_INITIALIZER;
    struct dp_packet *pkt = dp_packet_clone_data(pi->packet, pi->packet_len);
    struct flow flow;
    struct match m;

    flow_extract(pkt, &flow);
    packet_match(&flow, &m);
    if (ctx->json) {
        struct json_writer w;
        char *text = match_to_string(&m, OFP_DEFAULT_PRIORITY, NULL);
        json_writer_init(&w, &ds, false);
        json_begin_object(&w);
        json_kv_string(&w, "bridge", pi->bridge);
        json_kv_uint(&w, "table_id", pi->table_id);
        json_kv_uint(&w, "cookie", pi->cookie);
        json_kv_uint(&w, "total_len", pi->total_len);
        json_kv_uint(&w, "in_port", pi->in_port);
        json_kv_string(&w, "reason", packet_in_reason(pi->reason));
        json_kv_uint(&w, "data_len", pi->packet_len);
        json_kv_string(&w, "packet", text);
        json_end_object(&w);
        printf("%s\n", ds_cstr(&ds));
        free(text);
        goto out;
    }
    ds_put_format(&ds, "NXT_PACKET_IN2 (xid=0x%"PRIx32"):", msg->xid);
    if (pi->table_id) {
        ds_put_format(&ds, " table_id=%"PRIu8, pi->table_id);
    }
    ds_put_format(&ds, " cookie=0x%"PRIx64" total_len=%"PRIu32" in_port=",
                  pi->cookie, pi->total_len);
    ofp_port_format(pi->in_port, map, &ds);
    ds_put_format(&ds, " (via %s) data_len=%zu (unbuffered)",
                  packet_in_reason(pi->reason), pi->packet_len);
    if (pi->total_len != pi->packet_len) {
        ds_put_cstr(&ds, " (***total_len != data_len***)");
    }
    ds_put_char(&ds, '\n');
    match_format(&ds, &m, OFP_DEFAULT_PRIORITY, NULL);
    put_l4_csum(&ds, pkt, &flow);
    printf("%s\n", ds_cstr(&ds));
out:
    dp_packet_delete(pkt);
    ds_destroy(&ds);
}
