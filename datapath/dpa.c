/* dpa: building and printing datapath action lists (dpif.h). */
#include "dpif.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <sys/socket.h>
#include <stddef.h>
#include <string.h>

#include "dynamic-string.h"
#include "packets.h"
#include "util.h"

void *
dpa_put(struct dpa_buf *buf, enum dp_action_type type, size_t arg_len)
{
    size_t len = ROUND_UP(sizeof(struct dp_action) + arg_len, 8);
    struct dp_action *a;

    if (buf->overflow || len > UINT16_MAX || len > buf->capacity
        || buf->size > buf->capacity - len) {
        buf->overflow = true;
        return NULL;
    }
    a = (struct dp_action *) (buf->data + buf->size);
    memset(a, 0, len);
    a->type = type;
    a->len = len;
    buf->size += len;
    return a + 1;
}

void
dpa_put_output(struct dpa_buf *buf, uint32_t port)
{
    uint32_t *arg = dpa_put(buf, DPA_OUTPUT, sizeof port);

    if (arg) {
        memcpy(arg, &port, sizeof port);
    }
}

size_t
dpa_start_nested(struct dpa_buf *buf, enum dp_action_type type)
{
    size_t offset = buf->size;

    dpa_put(buf, type, 0);
    return offset;
}

void
dpa_end_nested(struct dpa_buf *buf, size_t offset)
{
    struct dp_action *a;
    size_t len;

    if (buf->overflow || offset + sizeof *a > buf->size) {
        buf->overflow = true;
        return;
    }
    len = buf->size - offset;
    if (len > UINT16_MAX) {
        buf->overflow = true;
        return;
    }
    a = (struct dp_action *) (buf->data + offset);
    a->len = len;
}

/* ---- Formatting ------------------------------------------------------ */

enum dpa_fmt { FMT_MAC, FMT_IP4, FMT_IP6, FMT_BE16, FMT_BE32, FMT_U8,
               FMT_U16, FMT_U32, FMT_U64, FMT_TCI, FMT_LABEL };

struct dpa_field {
    const char *group;          /* OVS key name: "eth", "ipv4", ... */
    const char *name;
    size_t ofs, len;
    enum dpa_fmt fmt;
};

#define F(GROUP, NAME, MEMBER, FMT) \
    { GROUP, NAME, offsetof(struct flow, MEMBER), \
      sizeof(((struct flow *) 0)->MEMBER), FMT }
/* Grouped by OVS key name, in print order.  A set action does not say
 * which protocol it is for, so nw_* print as ipv4 (arp when ARP-only
 * fields are set too; IPv6 tclass and hop limit share nw_tos/nw_ttl) and
 * tp_src/tp_dst as "l4". */
static const struct dpa_field dpa_fields[] = {
    F("recirc_id", NULL, recirc_id, FMT_U32),
    F("in_port", NULL, in_port, FMT_U32),
    F("skb_mark", NULL, pkt_mark, FMT_U32),
    F("dp_hash", NULL, dp_hash, FMT_U32),
    F("metadata", NULL, metadata, FMT_U64),
    F("regs", NULL, regs, FMT_U32),
    F("ct_state", NULL, ct_state, FMT_U16),
    F("ct_zone", NULL, ct_zone, FMT_U16),
    F("ct_mark", NULL, ct_mark, FMT_U32),
    F("ct_label", NULL, ct_label, FMT_U64),
    F("eth", "src", dl_src, FMT_MAC),
    F("eth", "dst", dl_dst, FMT_MAC),
    F("eth_type", NULL, dl_type, FMT_BE16),
    F("vlan", "tpid", vlans[0].tpid, FMT_BE16),
    F("vlan", "tci", vlans[0].tci, FMT_TCI),
    F("vlan2", "tpid", vlans[1].tpid, FMT_BE16),
    F("vlan2", "tci", vlans[1].tci, FMT_TCI),
    F("ipv4", "src", nw_src, FMT_IP4),
    F("ipv4", "dst", nw_dst, FMT_IP4),
    F("ipv4", "proto", nw_proto, FMT_U8),
    F("ipv4", "tos", nw_tos, FMT_U8),
    F("ipv4", "ttl", nw_ttl, FMT_U8),
    F("ipv4", "frag", nw_frag, FMT_U8),
    F("ipv6", "src", ipv6_src, FMT_IP6),
    F("ipv6", "dst", ipv6_dst, FMT_IP6),
    F("ipv6", "label", ipv6_label, FMT_LABEL),
    F("nd", "target", nd_target, FMT_IP6),
    F("arp", "sha", arp_sha, FMT_MAC),
    F("arp", "tha", arp_tha, FMT_MAC),
    F("tcp_flags", NULL, tcp_flags, FMT_BE16),
    F("l4", "src", tp_src, FMT_BE16),
    F("l4", "dst", tp_dst, FMT_BE16),
};
#undef F

static bool
is_all_ones(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != 0xff) {
            return false;
        }
    }
    return true;
}

static bool
is_all_zeros(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i]) {
            return false;
        }
    }
    return true;
}

static void
dpa_format_value(struct ds *s, enum dpa_fmt fmt, const uint8_t *v,
                 size_t len)
{
    char buf[IPV6_STRLEN];
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;

    switch (fmt) {
    case FMT_MAC:
        ds_put_format(s, ETH_ADDR_FMT, v[0], v[1], v[2], v[3], v[4], v[5]);
        break;
    case FMT_IP4:
        ds_put_format(s, IP_FMT, v[0], v[1], v[2], v[3]);
        break;
    case FMT_IP6: {
        struct in6_addr a;

        memcpy(&a, v, sizeof a);
        ds_put_cstr(s, ipv6_to_string(&a, buf));
        break;
    }
    case FMT_BE16:
        memcpy(&u16, v, 2);
        ds_put_format(s, "%u", ntohs(u16));
        break;
    case FMT_TCI:
        memcpy(&u16, v, 2);
        u16 = ntohs(u16);
        ds_put_format(s, "vid=%u,pcp=%u", u16 & VLAN_VID_MASK,
                      (u16 & VLAN_PCP_MASK) >> VLAN_PCP_SHIFT);
        break;
    case FMT_BE32:
    case FMT_LABEL:
        memcpy(&u32, v, 4);
        ds_put_format(s, "%#x", ntohl(u32));
        break;
    case FMT_U8:
        ds_put_format(s, "%u", v[0]);
        break;
    case FMT_U16:
        memcpy(&u16, v, 2);
        ds_put_format(s, "%#x", u16);
        break;
    case FMT_U32:
    case FMT_U64:
        if (len == 4) {
            memcpy(&u32, v, 4);
            ds_put_format(s, "%#x", u32);
        } else if (len == 8) {
            memcpy(&u64, v, 8);
            ds_put_format(s, "%#llx", (unsigned long long) u64);
        } else {
            /* regs, ct_label: raw bytes in flow order. */
            ds_put_cstr(s, "0x");
            ds_put_hex(s, v, len);
        }
        break;
    }
}

/* Prints one field's value (and "/mask" unless the mask is exact). */
static void
dpa_format_field(struct ds *s, const struct dpa_field *f,
                 const uint8_t *value, const uint8_t *mask)
{
    if (f->fmt == FMT_TCI) {
        uint16_t v, m;

        memcpy(&v, value, 2);
        memcpy(&m, mask, 2);
        if (is_all_ones(mask, 2)) {
            dpa_format_value(s, f->fmt, value, f->len);
        } else {
            ds_put_format(s, "tci=0x%04x/0x%04x", ntohs(v), ntohs(m));
        }
        return;
    }
    if (f->name) {
        ds_put_format(s, "%s=", f->name);
    }
    dpa_format_value(s, f->fmt, value, f->len);
    if (!is_all_ones(mask, f->len)) {
        ds_put_char(s, '/');
        dpa_format_value(s, f->fmt, mask, f->len);
    }
}

static void
dpa_format_set(struct ds *s, const struct dpa_set_masked *sm)
{
    uint8_t value[sizeof(struct flow)], mask[sizeof(struct flow)];
    const uint8_t *v = (const uint8_t *) (sm + 1);
    const char *group = NULL;
    bool arp = false;

    memset(value, 0, sizeof value);
    memset(mask, 0, sizeof mask);
    memcpy(value + sm->ofs, v, sm->n);
    memcpy(mask + sm->ofs, v + sm->n, sm->n);
    for (size_t i = 0; i < sm->n; i++) {
        value[sm->ofs + i] &= mask[sm->ofs + i];
    }
    if (!is_all_zeros(mask + offsetof(struct flow, arp_sha),
                      2 * ETH_ADDR_LEN)) {
        arp = true;
    }
    /* One "set(GROUP(...))" per header group touched. */
    for (size_t i = 0; i < ARRAY_SIZE(dpa_fields); i++) {
        const struct dpa_field *f = &dpa_fields[i];
        const char *g = f->group;

        if (is_all_zeros(mask + f->ofs, f->len)) {
            continue;
        }
        if (arp && !strcmp(g, "ipv4")) {
            g = "arp";
        }
        if (group && !strcmp(group, g)) {
            ds_put_char(s, ',');
        } else {
            ds_put_format(s, "%sset(%s(", group ? ")),": "", g);
            group = g;
        }
        dpa_format_field(s, f, value + f->ofs, mask + f->ofs);
    }
    if (group) {
        ds_put_cstr(s, "))");
    } else {
        ds_put_cstr(s, "set()");
    }
}

static void
dpa_format_nat_addr(struct ds *s, int family, const struct in6_addr *a)
{
    char buf[INET6_ADDRSTRLEN];

    if (family == AF_INET) {
        inet_ntop(AF_INET, a, buf, sizeof buf);
        ds_put_cstr(s, buf);
    } else {
        inet_ntop(AF_INET6, a, buf, sizeof buf);
        ds_put_format(s, "[%s]", buf);
    }
}

static void
dpa_format_nat(struct ds *s, const struct dpa_ct *ct)
{
    uint16_t f = ct->nat_flags;

    ds_put_cstr(s, "nat");
    if (!(f & (DPA_CT_NAT_SRC | DPA_CT_NAT_DST))) {
        return;
    }
    ds_put_format(s, "(%s", f & DPA_CT_NAT_SRC ? "src" : "dst");
    if (f & DPA_CT_NAT_RANGE_ADDR) {
        ds_put_char(s, '=');
        dpa_format_nat_addr(s, ct->nat_family, &ct->addr_min);
        if (memcmp(&ct->addr_min, &ct->addr_max, sizeof ct->addr_min)) {
            ds_put_char(s, '-');
            dpa_format_nat_addr(s, ct->nat_family, &ct->addr_max);
        }
        if (f & DPA_CT_NAT_RANGE_PORT) {
            ds_put_format(s, ":%u", ct->port_min);
            if (ct->port_max != ct->port_min) {
                ds_put_format(s, "-%u", ct->port_max);
            }
        }
    }
    if (f & DPA_CT_NAT_PERSISTENT) {
        ds_put_cstr(s, ",persistent");
    }
    if (f & DPA_CT_NAT_HASH) {
        ds_put_cstr(s, ",hash");
    }
    if (f & DPA_CT_NAT_RANDOM) {
        ds_put_cstr(s, ",random");
    }
    ds_put_char(s, ')');
}

/* OVS's datapath text: ct(commit,zone=1,mark=0x1/0xff,label=0x1/0xf,
 * helper=ftp,nat(src=10.0.0.1-10.0.0.9:1000-2000)). */
static void
dpa_format_ct(struct ds *s, const struct dpa_ct *ct)
{
    size_t start;

    ds_put_cstr(s, "ct(");
    start = s->length;
    if (ct->flags & DPA_CT_F_FORCE) {
        ds_put_cstr(s, "force_commit,");
    } else if (ct->flags & DPA_CT_F_COMMIT) {
        ds_put_cstr(s, "commit,");
    }
    if (ct->zone) {
        ds_put_format(s, "zone=%u,", ct->zone);
    }
    if (ct->mark_mask) {
        ds_put_format(s, "mark=%#"PRIx32"/%#"PRIx32",", ct->mark,
                      ct->mark_mask);
    }
    if (ct->label_mask[0] || ct->label_mask[1]) {
        ds_put_cstr(s, "label=0x");
        if (ct->label[1]) {
            ds_put_format(s, "%"PRIx64"%016"PRIx64, ct->label[1],
                          ct->label[0]);
        } else {
            ds_put_format(s, "%"PRIx64, ct->label[0]);
        }
        ds_put_cstr(s, "/0x");
        if (ct->label_mask[1]) {
            ds_put_format(s, "%"PRIx64"%016"PRIx64, ct->label_mask[1],
                          ct->label_mask[0]);
        } else {
            ds_put_format(s, "%"PRIx64, ct->label_mask[0]);
        }
        ds_put_char(s, ',');
    }
    if (ct->alg == DPA_CT_ALG_FTP || ct->alg == DPA_CT_ALG_TFTP) {
        ds_put_format(s, "helper=%s,",
                      ct->alg == DPA_CT_ALG_FTP ? "ftp" : "tftp");
    }
    if (ct->nat_flags & DPA_CT_NAT) {
        dpa_format_nat(s, ct);
        ds_put_char(s, ',');
    }
    if (s->length > start) {
        ds_chomp(s, ',');
        ds_put_char(s, ')');
    } else {
        /* A bare "ct" as OVS prints it. */
        ds_truncate(s, start - 1);
    }
}

static void
dpa_format_list(struct ds *s, const void *actions, size_t size)
{
    const struct dp_action *a;
    size_t start = s->length;
    bool first = true;

    DPA_FOR_EACH (a, actions, size) {
        const uint8_t *arg = dpa_arg(a);
        size_t arg_len = a->len - sizeof *a;
        uint32_t u32 = 0;

        if (!first) {
            ds_put_char(s, ',');
        }
        first = false;
        if (arg_len >= sizeof u32) {
            memcpy(&u32, arg, sizeof u32);
        }
        switch ((enum dp_action_type) a->type) {
        case DPA_OUTPUT:
            if (u32 == DPIF_PORT_LOCAL) {
                ds_put_cstr(s, "LOCAL");
            } else if (u32 == DPIF_PORT_IN_PORT) {
                ds_put_cstr(s, "in_port");
            } else {
                ds_put_format(s, "%u", u32);
            }
            break;
        case DPA_USERSPACE: {
            struct dpa_userspace us;

            if (arg_len < sizeof us) {
                goto bad;
            }
            memcpy(&us, arg, sizeof us);
            ds_put_format(s, "userspace(pid=0,controller(reason=%u",
                          us.reason);
            if (us.max_len != 0xffff) {
                ds_put_format(s, ",max_len=%u", us.max_len);
            }
            if (us.cookie) {
                ds_put_format(s, ",cookie=%#llx",
                              (unsigned long long) us.cookie);
            }
            ds_put_cstr(s, "))");
            break;
        }
        case DPA_SET_MASKED: {
            const struct dpa_set_masked *sm = (const void *) arg;

            if (arg_len < sizeof *sm
                || (size_t) sm->ofs + sm->n > sizeof(struct flow)
                || arg_len < sizeof *sm + 2 * (size_t) sm->n) {
                goto bad;
            }
            dpa_format_set(s, sm);
            break;
        }
        case DPA_PUSH_VLAN: {
            struct dpa_push_vlan pv;
            uint16_t tci;

            if (arg_len < sizeof pv) {
                goto bad;
            }
            memcpy(&pv, arg, sizeof pv);
            tci = ntohs(pv.tci);
            ds_put_cstr(s, "push_vlan(");
            if (pv.tpid != htons(ETH_TYPE_VLAN_8021Q)) {
                ds_put_format(s, "tpid=0x%04x,", ntohs(pv.tpid));
            }
            ds_put_format(s, "vid=%u,pcp=%u)", tci & VLAN_VID_MASK,
                          (tci & VLAN_PCP_MASK) >> VLAN_PCP_SHIFT);
            break;
        }
        case DPA_POP_VLAN:
            ds_put_cstr(s, "pop_vlan");
            break;
        case DPA_RECIRC:
            ds_put_format(s, "recirc(%#x)", u32);
            break;
        case DPA_HASH:
            ds_put_format(s, "hash(l4(%u))", u32);
            break;
        case DPA_CT: {
            struct dpa_ct ct;

            if (arg_len < sizeof ct) {
                goto bad;
            }
            memcpy(&ct, arg, sizeof ct);
            dpa_format_ct(s, &ct);
            break;
        }
        case DPA_CT_CLEAR:
            ds_put_cstr(s, "ct_clear");
            break;
        case DPA_CLONE:
            ds_put_cstr(s, "clone(");
            dpa_format_list(s, arg, arg_len);
            ds_put_char(s, ')');
            break;
        case DPA_TRUNC:
            ds_put_format(s, "trunc(%u)", u32);
            break;
        default:
        bad:
            ds_put_format(s, "<unknown action %u, len %u>", a->type, a->len);
            break;
        }
    }
    if (s->length == start) {
        ds_put_cstr(s, "drop");
    }
}

void
dpa_format(struct ds *s, const void *actions, size_t size)
{
    dpa_format_list(s, actions, size);
}
