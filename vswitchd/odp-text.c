/* odp-text: megaflow keys in OVS's datapath flow syntax (odp-text.h). */
#include "odp-text.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <string.h>

#include "dynamic-string.h"
#include "flow.h"
#include "packets.h"
#include "util.h"

/* Builds one "name(field=value,...)" attribute: fields are appended only
 * when masked; the attribute is dropped if none was. */
struct attr {
    struct ds *ds;
    size_t start;               /* where the attribute began */
    size_t n;                   /* fields written */
};

static void
attr_begin(struct attr *a, struct ds *ds, const char *name)
{
    a->ds = ds;
    a->start = ds->length;
    a->n = 0;
    ds_put_format(ds, "%s(", name);
}

static void
attr_field(struct attr *a, const char *name)
{
    ds_put_format(a->ds, "%s%s=", a->n++ ? "," : "", name);
}

static void
attr_end(struct attr *a)
{
    if (a->n) {
        ds_put_cstr(a->ds, "),");
    } else {
        ds_truncate(a->ds, a->start);
    }
}

static bool
is_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) {
        if (b[i]) {
            return false;
        }
    }
    return true;
}

static bool
is_ones(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) {
        if (b[i] != 0xff) {
            return false;
        }
    }
    return true;
}

static void
put_eth(struct attr *a, const char *name, struct eth_addr v,
        struct eth_addr m)
{
    if (is_zero(&m, sizeof m)) {
        return;
    }
    attr_field(a, name);
    ds_put_format(a->ds, ETH_ADDR_FMT, ETH_ADDR_ARGS(v));
    if (!is_ones(&m, sizeof m)) {
        ds_put_format(a->ds, "/"ETH_ADDR_FMT, ETH_ADDR_ARGS(m));
    }
}

static void
put_ip(struct attr *a, const char *name, uint32_t v, uint32_t m)
{
    char buf[IP_STRLEN];

    if (!m) {
        return;
    }
    attr_field(a, name);
    ds_put_cstr(a->ds, ip_to_string(v, buf));
    if (m != UINT32_MAX) {
        ds_put_format(a->ds, "/%s", ip_to_string(m, buf));
    }
}

static void
put_ipv6(struct attr *a, const char *name, const struct in6_addr *v,
         const struct in6_addr *m)
{
    char buf[INET6_ADDRSTRLEN];

    if (is_zero(m, sizeof *m)) {
        return;
    }
    attr_field(a, name);
    ds_put_cstr(a->ds, inet_ntop(AF_INET6, v, buf, sizeof buf));
    if (!is_ones(m, sizeof *m)) {
        ds_put_format(a->ds, "/%s", inet_ntop(AF_INET6, m, buf, sizeof buf));
    }
}

/* Decimal value, hex mask (OVS's format_u8u / format_be16). */
static void
put_dec(struct attr *a, const char *name, unsigned int v, unsigned int m,
        unsigned int all)
{
    if (!m) {
        return;
    }
    attr_field(a, name);
    ds_put_format(a->ds, "%u", v);
    if (m != all) {
        ds_put_format(a->ds, "/%#x", m);
    }
}

/* Hex value and mask (OVS's format_u8x, "%#x": 0 prints as 0). */
static void
put_hex(struct attr *a, const char *name, unsigned int v, unsigned int m,
        unsigned int all)
{
    if (!m) {
        return;
    }
    attr_field(a, name);
    ds_put_format(a->ds, "%#x", v);
    if (m != all) {
        ds_put_format(a->ds, "/%#x", m);
    }
}

static void
put_frag(struct attr *a, uint8_t v, uint8_t m)
{
    if (!m) {
        return;
    }
    attr_field(a, "frag");
    if (m == (FLOW_NW_FRAG_ANY | FLOW_NW_FRAG_LATER)) {
        ds_put_cstr(a->ds, !(v & FLOW_NW_FRAG_ANY) ? "no"
                    : v & FLOW_NW_FRAG_LATER ? "later" : "first");
    } else {
        ds_put_format(a->ds, "%#x/%#x", v, m);
    }
}

/* A single scalar attribute "name(0x1)" or "name(0x1/0xff)". */
static void
put_scalar_hex(struct ds *ds, const char *name, uint64_t v, uint64_t m,
               uint64_t all)
{
    if (!m) {
        return;
    }
    ds_put_format(ds, "%s(%#"PRIx64, name, v);
    if (m != all) {
        ds_put_format(ds, "/%#"PRIx64, m);
    }
    ds_put_cstr(ds, "),");
}

/* "+name-name" for each masked bit, as OVS's format_flags_masked(). */
static void
put_flags_masked(struct ds *ds, const char *const names[], int n_names,
                 uint32_t v, uint32_t m)
{
    for (int i = 0; i < n_names; i++) {
        if (m & (1u << i)) {
            ds_put_format(ds, "%c%s", v & (1u << i) ? '+' : '-', names[i]);
        }
    }
}

static const char *const ct_state_names[] = {
    "new", "est", "rel", "rpl", "inv", "trk", "snat", "dnat",
};

static const char *const tcp_flag_names[] = {
    "fin", "syn", "rst", "psh", "ack", "urg", "ece", "cwr", "ns",
};

static void
put_metadata(struct ds *ds, const struct flow *k, const struct flow *m)
{
    put_scalar_hex(ds, "recirc_id", k->recirc_id, m->recirc_id,
                   UINT32_MAX);
    put_scalar_hex(ds, "dp_hash", k->dp_hash, m->dp_hash, UINT32_MAX);
    if (m->in_port) {
        ds_put_format(ds, "in_port(%"PRIu32")", k->in_port);
        if (m->in_port != UINT32_MAX) {
            ds_truncate(ds, ds->length - 1);
            ds_put_format(ds, "/%#"PRIx32")", m->in_port);
        }
        ds_put_char(ds, ',');
    }
    put_scalar_hex(ds, "skb_mark", k->pkt_mark, m->pkt_mark, UINT32_MAX);
    if (m->ct_state) {
        ds_put_cstr(ds, "ct_state(");
        put_flags_masked(ds, ct_state_names, ARRAY_SIZE(ct_state_names),
                         k->ct_state, m->ct_state);
        ds_put_cstr(ds, "),");
    }
    put_scalar_hex(ds, "ct_zone", k->ct_zone, m->ct_zone, UINT16_MAX);
    put_scalar_hex(ds, "ct_mark", k->ct_mark, m->ct_mark, UINT32_MAX);
    if (m->ct_label[0] || m->ct_label[1]) {
        ds_put_format(ds, "ct_label(0x%016"PRIx64"%016"PRIx64,
                      k->ct_label[1], k->ct_label[0]);
        if (~m->ct_label[0] || ~m->ct_label[1]) {
            ds_put_format(ds, "/0x%016"PRIx64"%016"PRIx64,
                          m->ct_label[1], m->ct_label[0]);
        }
        ds_put_cstr(ds, "),");
    }
}

static void
put_l4(struct ds *ds, const struct flow *k, const struct flow *m)
{
    struct attr a;
    const char *name;

    switch (k->nw_proto) {
    case 6: name = "tcp"; break;
    case 17: name = "udp"; break;
    case 132: name = "sctp"; break;
    case 1: name = ntohs(k->dl_type) == ETH_TYPE_IP ? "icmp" : NULL; break;
    case IPPROTO_ICMPV6_:
        name = ntohs(k->dl_type) == ETH_TYPE_IPV6 ? "icmpv6" : NULL;
        break;
    default: name = NULL; break;
    }
    if (!name || !m->nw_proto) {
        return;
    }
    attr_begin(&a, ds, name);
    if (k->nw_proto == 1 || k->nw_proto == IPPROTO_ICMPV6_) {
        put_dec(&a, "type", ntohs(k->tp_src), ntohs(m->tp_src) & 0xff, 0xff);
        put_dec(&a, "code", ntohs(k->tp_dst), ntohs(m->tp_dst) & 0xff, 0xff);
    } else {
        put_dec(&a, "src", ntohs(k->tp_src), ntohs(m->tp_src), 0xffff);
        put_dec(&a, "dst", ntohs(k->tp_dst), ntohs(m->tp_dst), 0xffff);
    }
    attr_end(&a);
    if (k->nw_proto == 6 && m->tcp_flags) {
        uint16_t v = ntohs(k->tcp_flags), mk = ntohs(m->tcp_flags);
        ds_put_cstr(ds, "tcp_flags(");
        if (mk == 0x0fff) {
            size_t start = ds->length;
            for (size_t i = 0; i < ARRAY_SIZE(tcp_flag_names); i++) {
                if (v & (1u << i)) {
                    ds_put_format(ds, "%s%s", ds->length > start ? "|" : "",
                                  tcp_flag_names[i]);
                }
            }
            if (ds->length == start) {
                ds_put_char(ds, '0');
            }
        } else {
            put_flags_masked(ds, tcp_flag_names, ARRAY_SIZE(tcp_flag_names),
                             v, mk);
        }
        ds_put_cstr(ds, "),");
    }
}

static void
put_l3(struct ds *ds, const struct flow *k, const struct flow *m)
{
    uint16_t type = ntohs(k->dl_type);
    struct attr a;

    if (type == ETH_TYPE_IP) {
        attr_begin(&a, ds, "ipv4");
        put_ip(&a, "src", k->nw_src, m->nw_src);
        put_ip(&a, "dst", k->nw_dst, m->nw_dst);
        put_dec(&a, "proto", k->nw_proto, m->nw_proto, 0xff);
        put_hex(&a, "tos", k->nw_tos, m->nw_tos, 0xff);
        put_dec(&a, "ttl", k->nw_ttl, m->nw_ttl, 0xff);
        put_frag(&a, k->nw_frag, m->nw_frag);
        attr_end(&a);
        put_l4(ds, k, m);
    } else if (type == ETH_TYPE_IPV6) {
        attr_begin(&a, ds, "ipv6");
        put_ipv6(&a, "src", &k->ipv6_src, &m->ipv6_src);
        put_ipv6(&a, "dst", &k->ipv6_dst, &m->ipv6_dst);
        put_hex(&a, "label", ntohl(k->ipv6_label), ntohl(m->ipv6_label),
                0xfffff);
        put_dec(&a, "proto", k->nw_proto, m->nw_proto, 0xff);
        put_hex(&a, "tclass", k->nw_tos, m->nw_tos, 0xff);
        put_dec(&a, "hlimit", k->nw_ttl, m->nw_ttl, 0xff);
        put_frag(&a, k->nw_frag, m->nw_frag);
        attr_end(&a);
        put_l4(ds, k, m);
        if (k->nw_proto == IPPROTO_ICMPV6_
            && (ntohs(k->tp_src) == 135 || ntohs(k->tp_src) == 136)) {
            attr_begin(&a, ds, "nd");
            put_ipv6(&a, "target", &k->nd_target, &m->nd_target);
            put_eth(&a, "sll", k->arp_sha, m->arp_sha);
            put_eth(&a, "tll", k->arp_tha, m->arp_tha);
            attr_end(&a);
        }
    } else if (type == ETH_TYPE_ARP || type == ETH_TYPE_RARP) {
        attr_begin(&a, ds, "arp");
        put_ip(&a, "sip", k->nw_src, m->nw_src);
        put_ip(&a, "tip", k->nw_dst, m->nw_dst);
        put_dec(&a, "op", k->nw_proto, m->nw_proto, 0xff);
        put_eth(&a, "sha", k->arp_sha, m->arp_sha);
        put_eth(&a, "tha", k->arp_tha, m->arp_tha);
        attr_end(&a);
    }
}

void
odp_text_format_key(struct ds *ds, const struct flow *k,
                    const struct flow_wildcards *wc)
{
    const struct flow *m = &wc->masks;
    size_t start = ds->length;
    struct attr a;
    int n_encap = 0;

    put_metadata(ds, k, m);
    attr_begin(&a, ds, "eth");
    put_eth(&a, "src", k->dl_src, m->dl_src);
    put_eth(&a, "dst", k->dl_dst, m->dl_dst);
    attr_end(&a);

    /* VLAN tags: eth_type(TPID),vlan(vid=..,pcp=..),encap(...). */
    for (int i = 0; i < FLOW_N_VLANS; i++) {
        uint16_t tci = ntohs(k->vlans[i].tci), mtci = ntohs(m->vlans[i].tci);
        if (!k->vlans[i].tpid || !mtci) {
            break;
        }
        ds_put_format(ds, "eth_type(%#06"PRIx16"),", ntohs(k->vlans[i].tpid));
        attr_begin(&a, ds, "vlan");
        put_dec(&a, "vid", tci & 0xfff, mtci & 0xfff, 0xfff);
        put_dec(&a, "pcp", tci >> 13, mtci >> 13, 7);
        attr_end(&a);
        if (a.n == 0) {
            ds_put_cstr(ds, "vlan(),");
        }
        ds_put_cstr(ds, "encap(");
        n_encap++;
    }
    if (m->dl_type) {
        ds_put_format(ds, "eth_type(%#06"PRIx16, ntohs(k->dl_type));
        if (m->dl_type != UINT16_MAX) {
            ds_put_format(ds, "/%#06"PRIx16, ntohs(m->dl_type));
        }
        ds_put_cstr(ds, "),");
    }
    put_l3(ds, k, m);
    if (ds->length > start && ds->string[ds->length - 1] == ',') {
        ds_truncate(ds, ds->length - 1);
    }
    for (int i = 0; i < n_encap; i++) {
        ds_put_char(ds, ')');
    }
}
