/* ct-nat: NAT tuple choice and header rewrites.  See ct-nat.h. */
#include "ct-nat.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "conntrack-private.h"
#include "csum.h"
#include "dp-packet.h"
#include "flow.h"
#include "hash.h"
#include "packets.h"
#include "util.h"

/* ---- Counters -------------------------------------------------------- */

/* Per-zone exhaustion counters: module counters (allowed mutable global),
 * 512 KB of zero pages until zones see exhaustion. */
static uint64_t ct_nat_exhausted_by_zone[UINT16_MAX + 1];

uint64_t
ct_nat_zone_exhausted(uint16_t zone)
{
    return __atomic_load_n(&ct_nat_exhausted_by_zone[zone],
                           __ATOMIC_RELAXED);
}

uint16_t
ct_nat_cs_bits(uint16_t nat_flags)
{
    return ((nat_flags & CT_NAT_SRC) ? CS_SRC_NAT : 0)
           | ((nat_flags & CT_NAT_DST) ? CS_DST_NAT : 0);
}

/* ---- Tuples and ranges ----------------------------------------------- */

static void
ct_nat_reverse(struct ct_tuple *dst, const struct ct_tuple *src)
{
    *dst = *src;
    dst->src = src->dst;
    dst->dst = src->src;
    dst->src_port = src->dst_port;
    dst->dst_port = src->src_port;
}

static bool
ct_nat_addr_eq(const union ct_addr *a, const union ct_addr *b, int family)
{
    return family == AF_INET ? a->ipv4 == b->ipv4
                             : ipv6_addr_equals(&a->ipv6, &b->ipv6);
}

static unsigned __int128
ct_nat_addr_to_u128(const union ct_addr *a, int family)
{
    unsigned __int128 v = 0;

    if (family == AF_INET) {
        return ntohl(a->ipv4);
    }
    for (int i = 0; i < 16; i++) {
        v = (v << 8) | a->ipv6.s6_addr[i];
    }
    return v;
}

static void
ct_nat_addr_from_u128(union ct_addr *a, int family, unsigned __int128 v)
{
    memset(a, 0, sizeof *a);
    if (family == AF_INET) {
        a->ipv4 = htonl((uint32_t) v);
        return;
    }
    for (int i = 15; i >= 0; i--) {
        a->ipv6.s6_addr[i] = (uint8_t) v;
        v >>= 8;
    }
}

static bool
ct_nat_is_pat_proto(uint8_t proto)
{
    return proto == IPPROTO_TCP || proto == IPPROTO_UDP
           || proto == IPPROTO_SCTP || proto == IPPROTO_UDPLITE
           || proto == IPPROTO_DCCP;
}

static bool
ct_nat_is_icmp(const struct ct_tuple *t)
{
    return t->nw_proto == (t->family == AF_INET ? IPPROTO_ICMP
                                                : IPPROTO_ICMPV6_);
}

static uint32_t
ct_nat_random(void)
{
    static __thread uint64_t state;

    if (OVS_UNLIKELY(!state)) {
        if (getrandom(&state, sizeof state, 0) != sizeof state) {
            state = (uint64_t) time_nsec();
        }
        state |= 1;
    }
    /* xorshift64* */
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return (uint32_t) ((state * 0x2545F4914F6CDD1Dull) >> 32);
}

/* The port dimension being searched. */
struct ct_nat_ports {
    uint16_t min, max;          /* host order, inclusive */
    uint16_t orig;              /* host order */
    bool try_orig;              /* probe 'orig' first */
};

/* OVS's source port classes for SNAT without a port range. */
static void
ct_nat_port_class(uint16_t port, struct ct_nat_ports *p)
{
    if (port < 512) {
        p->min = 1;
        p->max = 511;
    } else if (port < 1024) {
        p->min = 600;
        p->max = 1023;
    } else {
        p->min = 1024;
        p->max = 65535;
    }
}

/* Search state shared by the probing loops. */
struct ct_nat_search {
    const struct ct_nat_request *req;
    struct ct_tuple cand;
    uint32_t probes;
    bool pat;                   /* ports (or ICMP ids) can move */
    bool snat;                  /* the moving port is the source's */
    struct ct_nat_ports ports;
    uint32_t port_off;
};

static bool
ct_nat_probe(struct ct_nat_search *s)
{
    s->probes++;
    return !s->req->in_use(s->req->aux, &s->cand);
}

static void
ct_nat_cand_port(struct ct_nat_search *s, uint16_t port)
{
    if (ct_nat_is_icmp(&s->cand)) {
        s->cand.src_port = s->cand.dst_port = htons(port);
    } else if (s->snat) {
        s->cand.dst_port = htons(port);
    } else {
        s->cand.src_port = htons(port);
    }
}

/* Probes ports for the address already in s->cand.  True if one is
 * free (left in s->cand). */
static bool
ct_nat_probe_ports(struct ct_nat_search *s)
{
    const struct ct_nat_ports *p = &s->ports;
    uint32_t n = (uint32_t) p->max - p->min + 1;
    uint32_t attempts = MIN(n, CT_NAT_PORT_ATTEMPTS);
    uint32_t start = s->port_off % n;

    if (p->try_orig) {
        ct_nat_cand_port(s, p->orig);
        if (ct_nat_probe(s)) {
            return true;
        }
    }
    for (uint32_t i = 0; i < attempts && s->probes < CT_NAT_MAX_PROBES;
         i++) {
        uint16_t port = p->min + (start + i) % n;

        if (p->try_orig && port == p->orig) {
            continue;
        }
        ct_nat_cand_port(s, port);
        if (ct_nat_probe(s)) {
            return true;
        }
    }
    return false;
}

/* Probes the port dimension for the address in s->cand.  DNAT with a port
 * range whose every port clashes falls back, as OVS does, to moving the
 * source port within its class (destination port: the first candidate). */
static bool
ct_nat_probe_addr(struct ct_nat_search *s)
{
    struct ct_nat_ports saved = s->ports;
    uint32_t n = (uint32_t) saved.max - saved.min + 1;
    bool ok;

    if (!s->pat) {
        return ct_nat_probe(s);
    }
    if (ct_nat_probe_ports(s)) {
        return true;
    }
    if (s->snat || ct_nat_is_icmp(&s->cand)
        || s->probes >= CT_NAT_MAX_PROBES) {
        return false;
    }
    s->cand.src_port = htons(saved.try_orig
                             ? saved.orig
                             : saved.min + s->port_off % n);
    s->snat = true;
    s->ports.orig = ntohs(s->req->orig->src_port);
    ct_nat_port_class(s->ports.orig, &s->ports);
    s->ports.try_orig = false;
    ok = ct_nat_probe_ports(s);
    s->snat = false;
    s->ports = saved;
    return ok;
}

static uint32_t
ct_nat_addr_hash(const struct ct_nat_request *req)
{
    const struct ct_tuple *o = req->orig;
    const struct ct_nat_action *a = req->nat;
    bool persistent = a->flags & CT_NAT_PERSISTENT;
    uint32_t basis = persistent ? 0 : req->hash_basis;
    uint32_t h;

    /* The range is hashed too, so different ranges spread differently;
     * "persistent" hashes the client's address alone with a fixed basis
     * (stable across restarts), otherwise the whole address pair. */
    h = hash_bytes(&a->min_addr, sizeof a->min_addr, basis);
    h = hash_bytes(&a->max_addr, sizeof a->max_addr, h);
    h = hash_bytes(&o->src, sizeof o->src, h);
    if (!persistent) {
        h = hash_bytes(&o->dst, sizeof o->dst, h);
        h = hash_add(h, o->nw_proto | (uint32_t) o->zone << 16);
    }
    return hash_finish(h, 0);
}

static uint32_t
ct_nat_port_hash(const struct ct_nat_request *req)
{
    const struct ct_tuple *o = req->orig;
    uint32_t h = req->hash_basis;

    h = hash_bytes(&o->src, sizeof o->src, h);
    h = hash_bytes(&o->dst, sizeof o->dst, h);
    h = hash_add(h, ((uint32_t) o->src_port << 16) | o->dst_port);
    h = hash_add(h, o->nw_proto | (uint32_t) o->zone << 16);
    return hash_finish(h, 0);
}

/* Sets up the port dimension of the search. */
static void
ct_nat_init_ports(struct ct_nat_search *s, bool snat, bool no_range)
{
    const struct ct_nat_action *a = s->req->nat;
    const struct ct_tuple *o = s->req->orig;
    bool random = a->flags & CT_NAT_PROTO_RANDOM;
    bool range = (a->flags & CT_NAT_RANGE_PORT) && !no_range;

    s->pat = ct_nat_is_pat_proto(o->nw_proto) || ct_nat_is_icmp(o);
    s->port_off = random ? ct_nat_random() : ct_nat_port_hash(s->req);
    if (ct_nat_is_icmp(o)) {
        /* The echo id: any value, OVS/Linux style id mapping. */
        s->snat = true;
        s->ports = (struct ct_nat_ports) {
            .min = 0, .max = 65535, .orig = ntohs(o->src_port),
            .try_orig = true,
        };
        return;
    }
    if (range && a->min_port && a->min_port <= a->max_port
        && ct_nat_is_pat_proto(o->nw_proto)) {
        s->snat = snat;
        s->ports.min = a->min_port;
        s->ports.max = a->max_port;
        s->ports.orig = ntohs(snat ? o->src_port : o->dst_port);
        s->ports.try_orig = !random && s->ports.orig >= s->ports.min
                            && s->ports.orig <= s->ports.max;
        return;
    }
    /* No port range: the source port keeps its class (for DNAT too: a
     * DNAT clash is resolved by moving the source port, as OVS does). */
    s->snat = true;
    s->ports.orig = ntohs(o->src_port);
    ct_nat_port_class(s->ports.orig, &s->ports);
    s->ports.try_orig = !random || !snat;
}

/* What a chosen reply tuple 'rev' changes compared to the plain reverse
 * of 'o'.  The reply's destination is the original source: a change
 * there is SNAT, on the other side DNAT.  An ICMP id lives on both sides:
 * its change counts as SNAT unless only the destination address moved. */
static uint16_t
ct_nat_applied(const struct ct_tuple *o, const struct ct_tuple *rev)
{
    bool src_addr = !ct_nat_addr_eq(&rev->dst, &o->src, o->family);
    bool dst_addr = !ct_nat_addr_eq(&rev->src, &o->dst, o->family);
    uint16_t applied = 0;

    if (ct_nat_is_icmp(o)) {
        bool id = rev->src_port != o->dst_port;

        applied |= src_addr || (id && !dst_addr) ? CT_NAT_SRC : 0;
        applied |= dst_addr ? CT_NAT_DST : 0;
        return applied;
    }
    applied |= src_addr || rev->dst_port != o->src_port ? CT_NAT_SRC : 0;
    applied |= dst_addr || rev->src_port != o->dst_port ? CT_NAT_DST : 0;
    return applied;
}

int
ct_nat_choose(const struct ct_nat_request *req, struct ct_tuple *rev,
              uint16_t *applied)
{
    const struct ct_nat_action *a = req->nat;
    const struct ct_tuple *o = req->orig;
    bool snat = !(a->flags & CT_NAT_DST);
    bool null_binding = !(a->flags & (CT_NAT_SRC | CT_NAT_DST));
    struct ct_nat_search s = { .req = req };
    unsigned __int128 lo, hi, n_addrs, idx;
    union ct_addr base;

    if ((a->flags & CT_NAT_SRC) && (a->flags & CT_NAT_DST)) {
        return -EINVAL;
    }
    if (!null_binding && (a->flags & CT_NAT_RANGE_ADDR)) {
        if (a->family != o->family) {
            return -EINVAL;
        }
        lo = ct_nat_addr_to_u128(&a->min_addr, o->family);
        hi = ct_nat_addr_to_u128(&a->max_addr, o->family);
        if (lo > hi) {
            return -EINVAL;
        }
    } else {
        /* No address range: the address stays. */
        base = snat ? o->src : o->dst;
        lo = hi = ct_nat_addr_to_u128(&base, o->family);
    }
    n_addrs = hi - lo + 1;      /* 0 only for the whole IPv6 space */
    idx = n_addrs ? ct_nat_addr_hash(req) % n_addrs
                  : ct_nat_addr_hash(req);

    ct_nat_reverse(&s.cand, o);
    ct_nat_init_ports(&s, snat, null_binding);

    /* Addresses from the hashed one, wrapping; the probe budget bounds
     * the walk over big (IPv6) ranges. */
    for (unsigned __int128 i = 0;
         (!n_addrs || i < n_addrs) && s.probes < CT_NAT_MAX_PROBES; i++) {
        union ct_addr addr;

        ct_nat_addr_from_u128(&addr, o->family,
                              lo + (n_addrs ? (idx + i) % n_addrs
                                            : idx + i));
        if (snat) {
            s.cand.dst = addr;
        } else {
            s.cand.src = addr;
        }
        if (ct_nat_probe_addr(&s)) {
            *rev = s.cand;
            *applied = ct_nat_applied(o, rev);
            return 0;
        }
    }
    __atomic_fetch_add(&ct_nat_exhausted_by_zone[o->zone], 1,
                       __ATOMIC_RELAXED);
    return -ENOSPC;
}

static bool
ct_nat_core_in_use(void *ct, const struct ct_tuple *t)
{
    return ct_tuple_in_use(ct, t);
}

static uint32_t
ct_nat_basis(void)
{
    static uint32_t basis;
    uint32_t b = __atomic_load_n(&basis, __ATOMIC_RELAXED);

    if (OVS_UNLIKELY(!b)) {
        /* Racing first callers may each store a value: any of them is
         * as good, and one wins for good. */
        b = ct_nat_random() | 1;
        __atomic_store_n(&basis, b, __ATOMIC_RELAXED);
        b = __atomic_load_n(&basis, __ATOMIC_RELAXED);
    }
    return b;
}

int
ct_nat_select(struct conntrack *ct, const struct ct_tuple *orig,
              const struct ct_nat_action *nat, struct ct_tuple *rev,
              uint16_t *applied)
{
    struct ct_nat_request req = {
        .orig = orig, .nat = nat, .in_use = ct_nat_core_in_use, .aux = ct,
        .hash_basis = ct_nat_basis(),
    };

    return ct_nat_choose(&req, rev, applied);
}

/* ---- Checksum helpers ------------------------------------------------ */

/* The L4 checksum field covering the pseudo-header, if any. */
struct ct_nat_csum {
    uint8_t *field;             /* NULL: none to maintain */
    bool partial;               /* holds the pseudo-header sum only */
    bool udp4;                  /* 0 means "no checksum" */
};

static void
ct_nat_csum_update32(const struct ct_nat_csum *c, uint32_t old,
                     uint32_t new_)
{
    uint16_t v;

    if (!c->field || old == new_) {
        return;
    }
    v = get_unaligned_u16(c->field);
    if (c->partial) {
        put_unaligned_u16(c->field, ~csum_update32(~v, old, new_));
    } else if (!(c->udp4 && !v)) {
        v = csum_update32(v, old, new_);
        put_unaligned_u16(c->field, c->udp4 && !v ? 0xffff : v);
    }
}

static void
ct_nat_csum_update128(const struct ct_nat_csum *c, const void *old,
                      const void *new_)
{
    uint16_t v;

    if (!c->field || !memcmp(old, new_, 16)) {
        return;
    }
    v = get_unaligned_u16(c->field);
    if (c->partial) {
        put_unaligned_u16(c->field, ~csum_update128(~v, old, new_));
    } else {
        v = csum_update128(v, old, new_);
        put_unaligned_u16(c->field, !v && c->udp4 ? 0xffff : v);
    }
}

/* For bytes inside the checksummed L4 data (ports, ids): a partial sum is
 * filled later over the new bytes, so only a complete one is updated. */
static void
ct_nat_csum_data16(const struct ct_nat_csum *c, uint8_t *field,
                   uint16_t old, uint16_t new_)
{
    uint16_t v;

    if (!field || c->partial || old == new_) {
        return;
    }
    v = get_unaligned_u16(field);
    if (c->udp4 && !v) {
        return;
    }
    v = csum_update16(v, old, new_);
    put_unaligned_u16(field, c->udp4 && !v ? 0xffff : v);
}

/* CRC32c (SCTP), nibble-table version: SCTP NAT is rare. */
static uint32_t
ct_nat_crc32c(const uint8_t *p, size_t n)
{
    static const uint32_t tab[16] = {
        0x00000000, 0x105ec76f, 0x20bd8ede, 0x30e349b1,
        0x417b1dbc, 0x5125dad3, 0x61c69362, 0x7198540d,
        0x82f63b78, 0x92a8fc17, 0xa24bb5a6, 0xb21572c9,
        0xc38d26c4, 0xd3d3e1ab, 0xe330a81a, 0xf36e6f75,
    };
    uint32_t crc = 0xffffffff;

    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        crc = (crc >> 4) ^ tab[crc & 15];
        crc = (crc >> 4) ^ tab[crc & 15];
    }
    return ~crc;
}

/* ---- Packet view ----------------------------------------------------- */

/* A packet's L3/L4 headers as NAT rewrites them. */
struct ct_nat_hdrs {
    uint8_t *l3;
    uint8_t *l4;
    uint32_t l4_len;            /* L4 header + payload (to the L3 end) */
    bool ipv6;
    uint8_t proto;
    struct ct_nat_csum csum;    /* pseudo-header covering checksum */
    uint8_t *sport, *dport;     /* NULL: none */
    uint8_t *icmp_id;           /* ICMP query id, or NULL */
    uint8_t *icmp_csum;         /* ICMP/ICMPv6 checksum field, or NULL */
};

static bool
ct_nat_is_query(bool ipv6, uint8_t type)
{
    if (ipv6) {
        return type == ICMP6_TYPE_ECHO_REQUEST
               || type == ICMP6_TYPE_ECHO_REPLY;
    }
    return type == ICMP4_ECHO_REQUEST || type == ICMP4_ECHO_REPLY
           || type == ICMP4_TIMESTAMP || type == ICMP4_TIMESTAMPREPLY
           || type == ICMP4_INFOREQUEST || type == ICMP4_INFOREPLY;
}

/* Fills 'h' for the headers at 'l3' (bounded by 'avail' bytes) with L4
 * at 'l4' ('l4' NULL: none).  'partial' says whether the L4 checksum is a
 * pseudo-header sum. */
static bool
ct_nat_hdrs_init(struct ct_nat_hdrs *h, uint8_t *l3, uint8_t *l4,
                 uint32_t avail, bool partial)
{
    uint32_t l3_len;

    memset(h, 0, sizeof *h);
    h->l3 = l3;
    if (avail < IP_HEADER_LEN) {
        return false;
    }
    h->ipv6 = IP_VER(l3[0]) == IPV6_VERSION;
    if (h->ipv6) {
        const struct ipv6_header *ip6 = (const void *) l3;

        if (avail < IPV6_HEADER_LEN) {
            return false;
        }
        l3_len = IPV6_HEADER_LEN + ntohs(ip6->ip6_plen);
    } else {
        l3_len = ntohs(((const struct ip_header *) l3)->ip_tot_len);
    }
    l3_len = MIN(l3_len, avail);
    if (!l4 || l4 < l3 || l4 > l3 + l3_len) {
        return true;
    }
    h->l4 = l4;
    h->l4_len = l3 + l3_len - l4;
    h->csum.partial = partial;
    return true;
}

/* Locates the L4 fields for protocol 'proto'. */
static void
ct_nat_hdrs_l4(struct ct_nat_hdrs *h, uint8_t proto)
{
    uint8_t *l4 = h->l4;
    uint32_t n = h->l4_len;

    h->proto = proto;
    if (!l4) {
        return;
    }
    switch (proto) {
    case IPPROTO_TCP:
        if (n >= TCP_HEADER_LEN) {
            h->sport = l4;
            h->dport = l4 + 2;
            h->csum.field = l4 + offsetof(struct tcp_header, tcp_csum);
        } else if (n >= 4) {
            h->sport = l4;
            h->dport = l4 + 2;
        }
        break;
    case IPPROTO_UDP:
    case IPPROTO_UDPLITE:
        if (n >= 4) {
            h->sport = l4;
            h->dport = l4 + 2;
        }
        if (n >= UDP_HEADER_LEN) {
            h->csum.field = l4 + offsetof(struct udp_header, udp_csum);
            h->csum.udp4 = !h->ipv6 && proto == IPPROTO_UDP;
        }
        break;
    case IPPROTO_SCTP:
    case IPPROTO_DCCP:
        if (n >= 4) {
            h->sport = l4;
            h->dport = l4 + 2;
        }
        break;
    case IPPROTO_ICMP:
    case IPPROTO_ICMPV6_:
        if (n >= 4) {
            h->icmp_csum = l4 + 2;
            if (proto == IPPROTO_ICMPV6_) {
                h->csum.field = l4 + 2;
            }
        }
        if (n >= 8 && ct_nat_is_query(h->ipv6, l4[0])) {
            h->icmp_id = l4 + 4;
        }
        break;
    default:
        break;
    }
}

static void
ct_nat_set_addr(struct ct_nat_hdrs *h, bool src, const union ct_addr *a)
{
    if (h->ipv6) {
        uint8_t *field = h->l3 + (src ? 8 : 24);
        uint8_t old[16];

        memcpy(old, field, 16);
        memcpy(field, &a->ipv6, 16);
        ct_nat_csum_update128(&h->csum, old, field);
    } else {
        uint8_t *field = h->l3 + (src ? 12 : 16);
        uint32_t old = get_unaligned_u32(field);

        if (old == a->ipv4) {
            return;
        }
        put_unaligned_u32(field, a->ipv4);
        put_unaligned_u16(h->l3 + 10, csum_update32(get_unaligned_u16(h->l3 + 10), old, a->ipv4));
        ct_nat_csum_update32(&h->csum, old, a->ipv4);
    }
}

static void
ct_nat_set_port(struct ct_nat_hdrs *h, bool src, uint16_t port)
{
    uint8_t *field = src ? h->sport : h->dport;
    uint16_t old;

    if (!field || (old = get_unaligned_u16(field)) == port) {
        return;
    }
    put_unaligned_u16(field, port);
    if (h->proto == IPPROTO_TCP || h->proto == IPPROTO_UDP
        || h->proto == IPPROTO_UDPLITE) {
        ct_nat_csum_data16(&h->csum, h->csum.field, old, port);
    }
}

static void
ct_nat_set_icmp_id(struct ct_nat_hdrs *h, uint16_t id)
{
    uint16_t old;

    if (!h->icmp_id || (old = get_unaligned_u16(h->icmp_id)) == id) {
        return;
    }
    put_unaligned_u16(h->icmp_id, id);
    if (h->icmp_csum && !h->csum.partial) {
        put_unaligned_u16(h->icmp_csum, csum_update16(get_unaligned_u16(h->icmp_csum), old, id));
    }
}

/* SCTP's CRC32c covers the whole packet: recompute after port changes
 * (only when the packet carries a complete one). */
static void
ct_nat_fix_sctp(struct ct_nat_hdrs *h)
{
    uint32_t crc;

    if (h->proto != IPPROTO_SCTP || h->l4_len < SCTP_HEADER_LEN
        || h->csum.partial) {
        return;
    }
    put_unaligned_u32(h->l4 + 8, 0);
    crc = ct_nat_crc32c(h->l4, h->l4_len);
    /* The CRC goes on the wire least significant byte first. */
    h->l4[8] = crc;
    h->l4[9] = crc >> 8;
    h->l4[10] = crc >> 16;
    h->l4[11] = crc >> 24;
}

/* Rewrites 'h' to carry addresses src/dst and ports (or the ICMP id:
 * 'sport') 'sport'/'dport'. */
static void
ct_nat_rewrite(struct ct_nat_hdrs *h, const union ct_addr *src,
               const union ct_addr *dst, uint16_t sport, uint16_t dport)
{
    uint16_t old_s = h->sport ? get_unaligned_u16(h->sport) : 0;
    uint16_t old_d = h->dport ? get_unaligned_u16(h->dport) : 0;

    ct_nat_set_addr(h, true, src);
    ct_nat_set_addr(h, false, dst);
    if (h->icmp_id) {
        ct_nat_set_icmp_id(h, sport);
    } else {
        ct_nat_set_port(h, true, sport);
        ct_nat_set_port(h, false, dport);
        if (h->sport && (old_s != sport || old_d != dport)) {
            ct_nat_fix_sctp(h);
        }
    }
}

static void
ct_nat_flow_update(struct flow *flow, const struct ct_nat_hdrs *h)
{
    if (h->ipv6) {
        memcpy(&flow->ipv6_src, h->l3 + 8, 16);
        memcpy(&flow->ipv6_dst, h->l3 + 24, 16);
    } else {
        flow->nw_src = get_unaligned_u32(h->l3 + 12);
        flow->nw_dst = get_unaligned_u32(h->l3 + 16);
    }
    if (h->sport && h->proto != IPPROTO_ICMP
        && h->proto != IPPROTO_ICMPV6_) {
        flow->tp_src = get_unaligned_u16(h->sport);
        flow->tp_dst = get_unaligned_u16(h->dport);
    }
}

/* The connection's original tuple, from its key (no lock needed: the key
 * is [const]). */
static void
ct_nat_conn_orig(const struct ct_conn *conn, struct ct_tuple *t)
{
    const struct ct_key *k = &conn->key;

    memset(t, 0, sizeof *t);
    t->zone = k->zone;
    t->nw_proto = k->nw_proto;
    t->family = k->family;
    t->src_port = k->src_port;
    t->dst_port = k->dst_port;
    if (k->family == AF_INET) {
        t->src.ipv4 = k->a.v4.src;
        t->dst.ipv4 = k->a.v4.dst;
    } else {
        t->src.ipv6 = k->a.v6.src;
        t->dst.ipv6 = k->a.v6.dst;
    }
}

static bool
ct_nat_packet_partial(const struct dp_packet *p)
{
    return (p->ofl.flags & DP_OFL_CSUM_PARTIAL)
           && p->ofl.csum_start == p->l4_ofs;
}

void
ct_nat_packet(struct dp_packet *pkt, struct flow *flow,
              const struct ct_conn *conn, bool reply)
{
    struct ct_tuple o;
    const struct ct_tuple *r;
    struct ct_nat_hdrs h;
    uint8_t *l3 = dp_packet_l3(pkt);

    if (!conn->ext || !l3 || (flow->nw_frag & FLOW_NW_FRAG_ANY)) {
        return;
    }
    ct_nat_conn_orig(conn, &o);
    r = &conn->ext->rev;
    if (!ct_nat_hdrs_init(&h, l3, dp_packet_l4(pkt),
                          dp_packet_size(pkt) - pkt->l3_ofs,
                          ct_nat_packet_partial(pkt))) {
        return;
    }
    ct_nat_hdrs_l4(&h, flow->nw_proto);
    if (!reply) {
        /* Leaves as the reverse of the reply tuple. */
        ct_nat_rewrite(&h, &r->dst, &r->src, r->dst_port, r->src_port);
    } else {
        ct_nat_rewrite(&h, &o.dst, &o.src, o.dst_port, o.src_port);
    }
    ct_nat_flow_update(flow, &h);
}

/* ---- Related ICMP errors --------------------------------------------- */

/* Recomputes the ICMP/ICMPv6 checksum over the whole message. */
static void
ct_nat_icmp_csum(struct ct_nat_hdrs *h)
{
    uint32_t sum = 0;

    put_unaligned_u16(h->l4 + 2, 0);
    if (h->ipv6) {
        struct in6_addr s, d;

        memcpy(&s, h->l3 + 8, 16);
        memcpy(&d, h->l3 + 24, 16);
        sum = csum_pseudo_ipv6(&s, &d, IPPROTO_ICMPV6_, h->l4_len);
    }
    put_unaligned_u16(h->l4 + 2, csum_finish(csum_continue(sum, h->l4, h->l4_len)));
}

void
ct_nat_related_icmp(struct dp_packet *pkt, struct flow *flow,
                    const struct ct_conn *conn, bool reply)
{
    uint8_t *l3 = dp_packet_l3(pkt);
    struct ct_nat_hdrs outer, inner;
    const struct ct_tuple *r;
    const struct ct_tuple *in_t;
    struct ct_tuple o;
    uint8_t *ip_in, *l4_in;
    uint32_t in_avail, in_hlen;
    uint8_t in_proto;

    if (!conn->ext || !l3 || (flow->nw_frag & FLOW_NW_FRAG_ANY)) {
        return;
    }
    if (!ct_nat_hdrs_init(&outer, l3, dp_packet_l4(pkt),
                          dp_packet_size(pkt) - pkt->l3_ofs, false)
        || !outer.l4 || outer.l4_len < 8 + IP_HEADER_LEN) {
        return;
    }
    outer.proto = flow->nw_proto;
    ip_in = outer.l4 + 8;
    in_avail = outer.l4_len - 8;
    if (outer.ipv6) {
        if (in_avail < IPV6_HEADER_LEN || IP_VER(ip_in[0]) != 6) {
            return;
        }
        in_hlen = IPV6_HEADER_LEN;
        in_proto = ip_in[6];
    } else {
        if (IP_VER(ip_in[0]) != 4 || IP_IHL(ip_in[0]) < 5
            || IP_IHL(ip_in[0]) * 4u > in_avail) {
            return;
        }
        in_hlen = IP_IHL(ip_in[0]) * 4;
        in_proto = ip_in[9];
    }
    /* The inner packet is usually truncated: bound it by what is here
     * (ct_nat_hdrs_init clamps its L3 length to 'in_avail'). */
    l4_in = in_hlen < in_avail ? ip_in + in_hlen : NULL;
    ct_nat_hdrs_init(&inner, ip_in, l4_in, in_avail, false);
    ct_nat_hdrs_l4(&inner, in_proto);
    if (inner.icmp_csum && !ct_nat_is_query(inner.ipv6, inner.l4[0])) {
        return;
    }

    ct_nat_conn_orig(conn, &o);
    r = &conn->ext->rev;
    /* The inner packet is one that went the other way, already
     * translated: restore its untranslated form (the tuple of its own
     * direction).  The outer header is translated like a packet of the
     * error's direction, but only on the NATed side(s). */
    in_t = reply ? &o : r;
    ct_nat_rewrite(&inner, &in_t->src, &in_t->dst, in_t->src_port,
                   in_t->dst_port);
    if (!reply) {
        if (!ct_nat_addr_eq(&o.src, &r->dst, o.family)) {
            ct_nat_set_addr(&outer, true, &r->dst);
        }
        if (!ct_nat_addr_eq(&o.dst, &r->src, o.family)) {
            ct_nat_set_addr(&outer, false, &r->src);
        }
    } else {
        if (!ct_nat_addr_eq(&r->src, &o.dst, o.family)) {
            ct_nat_set_addr(&outer, true, &o.dst);
        }
        if (!ct_nat_addr_eq(&r->dst, &o.src, o.family)) {
            ct_nat_set_addr(&outer, false, &o.src);
        }
    }
    ct_nat_icmp_csum(&outer);
    ct_nat_flow_update(flow, &outer);
}
