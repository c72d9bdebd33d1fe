/* ct-frag: fragment reassembly in front of conntrack.  See ct-frag.h.
 *
 * Layout.  Datagrams in reassembly ("lists") are preallocated structs in
 * a fixed bucket array (no rehash, so no allocation on the packet path),
 * chained through 'next', and also linked in creation order on 'lru':
 * since a list's deadline is fixed when its first fragment arrives, the
 * front of 'lru' is always the next to expire.
 *
 * Invariant: the payload ranges [start, start + len) of the fragments held
 * in a list are pairwise disjoint and, once the last fragment is known,
 * all end at or before 'total'.  So the list is complete exactly when the
 * held bytes 'have' equal 'total'. */
#include "ct-frag.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "csum.h"
#include "dp-packet.h"
#include "dynamic-string.h"
#include "hash.h"
#include "list.h"
#include "packets.h"
#include "util.h"

#define CT_FRAG_L2_MAX 128          /* L2 bytes a view can carry */
#define CT_FRAG_VIEW_SIZE (DP_PACKET_HEADROOM + CT_FRAG_L2_MAX + 65535)
#define CT_FRAG_EXPIRE_BATCH 16     /* lists expired per ct_frag_process */
#define CT_FRAG_TOTAL_UNKNOWN UINT32_MAX

struct ct_frag_key {
    uint32_t src[4];
    uint32_t dst[4];
    uint32_t ident;
    uint16_t zone;
    uint16_t dl_type;
    uint8_t proto;              /* IPv4 only; IPv6 keys leave it 0 */
    uint8_t pad[3];
};

struct ct_frag_ent {
    struct dp_packet *pkt;
    uint32_t start;             /* payload offset in the datagram */
    uint16_t len;               /* payload bytes */
    uint16_t frag_ofs;          /* payload offset from packet data */
    uint16_t hdr_len;           /* L3 bytes before the payload (v4) or
                                 * before the fragment header (v6) */
    uint16_t nxt_ofs;           /* v6: offset from L3 of the next-header
                                 * byte that names the fragment header */
    uint8_t nxt;                /* v6: the fragment header's next header */
};

struct ct_frag_list {
    struct ct_frag_list *next;  /* bucket chain, or free list */
    struct ts_list lru;
    struct ct_frag_key key;
    uint32_t hash;
    long long deadline;
    uint32_t total;             /* payload length, or TOTAL_UNKNOWN */
    uint32_t have;              /* payload bytes held */
    uint32_t n;
    struct ct_frag_ent ents[CT_FRAG_MAX_FRAGS];
};

struct ct_frag {
    struct ct_frag_config cfg;
    struct ct_frag_list *lists;     /* cfg.max_lists */
    struct ct_frag_list *free_lists;
    struct ct_frag_list **buckets;
    uint32_t bucket_mask;
    struct ts_list lru;
    struct dp_packet_pool *views;
    struct ct_frag_stats stats;
};

/* A parsed fragment. */
struct ct_frag_info {
    struct ct_frag_key key;
    struct ct_frag_ent ent;
    bool last;
};

static long long
ct_frag_default_now(void)
{
    return time_msec();
}

struct ct_frag *
ct_frag_create(const struct ct_frag_config *cfg_)
{
    struct ct_frag_config cfg = cfg_ ? *cfg_ : (struct ct_frag_config) {0};
    struct ct_frag *f;
    uint32_t n_buckets;

    cfg.max_lists = cfg.max_lists ? cfg.max_lists : 1000;
    if (!cfg.max_frags_per_list
        || cfg.max_frags_per_list > CT_FRAG_MAX_FRAGS) {
        cfg.max_frags_per_list = CT_FRAG_MAX_FRAGS;
    }
    cfg.max_bytes = cfg.max_bytes ? cfg.max_bytes : 4 * 1024 * 1024;
    cfg.timeout_msec = cfg.timeout_msec ? cfg.timeout_msec : 15000;
    cfg.min_frag_size_v4 = cfg.min_frag_size_v4 ? cfg.min_frag_size_v4
                                                : 1200;
    cfg.min_frag_size_v6 = cfg.min_frag_size_v6 ? cfg.min_frag_size_v6
                                                : 1280;
    cfg.n_views = cfg.n_views ? cfg.n_views : 2;
    cfg.now = cfg.now ? cfg.now : ct_frag_default_now;
    if (!cfg.hash_basis
        && getrandom(&cfg.hash_basis, sizeof cfg.hash_basis, 0)
           != sizeof cfg.hash_basis) {
        cfg.hash_basis = (uint32_t) time_nsec();
    }
    if (cfg.max_lists > (1u << 24)) {
        return NULL;
    }

    f = xzalloc(sizeof *f);
    f->cfg = cfg;
    f->views = dp_packet_pool_create("ct-frag", cfg.n_views,
                                     CT_FRAG_VIEW_SIZE);
    if (!f->views) {
        free(f);
        return NULL;
    }
    f->lists = xcalloc(cfg.max_lists, sizeof *f->lists);
    for (uint32_t i = cfg.max_lists; i-- > 0;) {
        f->lists[i].next = f->free_lists;
        f->free_lists = &f->lists[i];
    }
    for (n_buckets = 1; n_buckets < cfg.max_lists; n_buckets <<= 1) {
        continue;
    }
    f->buckets = xcalloc(n_buckets, sizeof *f->buckets);
    f->bucket_mask = n_buckets - 1;
    ts_list_init(&f->lru);
    return f;
}

/* Unlinks 'l' from the table and the LRU and frees its fragments
 * (counting them in '*counter'). */
static void
ct_frag_list_drop(struct ct_frag *f, struct ct_frag_list *l,
                  uint64_t *counter)
{
    struct ct_frag_list **pp = &f->buckets[l->hash & f->bucket_mask];

    while (*pp != l) {
        pp = &(*pp)->next;
    }
    *pp = l->next;
    ts_list_remove(&l->lru);
    for (uint32_t i = 0; i < l->n; i++) {
        struct dp_packet *p = l->ents[i].pkt;

        if (p) {
            f->stats.n_bytes -= dp_packet_size(p);
            f->stats.n_frags--;
            if (counter) {
                (*counter)++;
            }
            dp_packet_delete(p);
        }
    }
    l->n = 0;
    l->next = f->free_lists;
    f->free_lists = l;
    f->stats.n_lists--;
}

void
ct_frag_destroy(struct ct_frag *f)
{
    if (!f) {
        return;
    }
    while (!ts_list_is_empty(&f->lru)) {
        struct ct_frag_list *l = CONTAINER_OF(f->lru.next,
                                              struct ct_frag_list, lru);

        ct_frag_list_drop(f, l, NULL);
    }
    dp_packet_pool_destroy(f->views);
    free(f->buckets);
    free(f->lists);
    free(f);
}

static uint32_t
ct_frag_expire(struct ct_frag *f, long long now, uint32_t max)
{
    uint32_t n = 0;

    while (n < max && !ts_list_is_empty(&f->lru)) {
        struct ct_frag_list *l = CONTAINER_OF(f->lru.next,
                                              struct ct_frag_list, lru);

        if (l->deadline > now) {
            break;
        }
        ct_frag_list_drop(f, l, &f->stats.expired);
        n++;
    }
    return n;
}

uint32_t
ct_frag_run(struct ct_frag *f, uint32_t max)
{
    return ct_frag_expire(f, f->cfg.now(), max);
}

/* Parses an IPv4 fragment.  Returns 0, or the counter to charge. */
static uint64_t *
ct_frag_parse_v4(struct ct_frag *f, const struct dp_packet *pkt,
                 uint16_t zone, struct ct_frag_info *fi)
{
    const uint8_t *l3 = dp_packet_l3(pkt);
    uint32_t avail = dp_packet_size(pkt) - pkt->l3_ofs;
    const struct ip_header *ip = (const void *) l3;
    uint32_t hlen, tot_len, len, start;
    uint16_t frag_off;

    if (avail < IP_HEADER_LEN || IP_VER(ip->ip_ihl_ver) != IP_VERSION) {
        return &f->stats.invalid;
    }
    hlen = IP_IHL(ip->ip_ihl_ver) * 4;
    tot_len = ntohs(ip->ip_tot_len);
    if (hlen < IP_HEADER_LEN || tot_len < hlen || tot_len > avail
        || csum(l3, hlen)) {
        return &f->stats.invalid;
    }
    frag_off = ntohs(ip->ip_frag_off);
    len = tot_len - hlen;
    start = (frag_off & IP_FRAG_OFF_MASK) * 8u;
    fi->last = !(frag_off & IP_MORE_FRAGMENTS);
    if (start + len > 65535 - hlen) {
        return &f->stats.invalid;
    }
    if (!fi->last) {
        if (!len || len % 8) {
            return &f->stats.invalid;
        }
        if (tot_len < f->cfg.min_frag_size_v4) {
            return &f->stats.small;
        }
    }
    memset(&fi->key, 0, sizeof fi->key);
    fi->key.src[0] = ip->ip_src;
    fi->key.dst[0] = ip->ip_dst;
    fi->key.ident = ip->ip_id;
    fi->key.proto = ip->ip_proto;
    fi->key.zone = zone;
    fi->key.dl_type = htons(ETH_TYPE_IP);
    fi->ent = (struct ct_frag_ent) {
        .start = start, .len = len, .frag_ofs = pkt->l3_ofs + hlen,
        .hdr_len = hlen,
    };
    return NULL;
}

static bool
ct_frag_v6_ext(uint8_t nxt)
{
    return nxt == IPPROTO_HOPOPTS || nxt == IPPROTO_ROUTING
           || nxt == IPPROTO_DSTOPTS || nxt == IPPROTO_AH;
}

/* Parses an IPv6 fragment.  Returns 0, or the counter to charge. */
static uint64_t *
ct_frag_parse_v6(struct ct_frag *f, const struct dp_packet *pkt,
                 uint16_t zone, struct ct_frag_info *fi)
{
    const uint8_t *l3 = dp_packet_l3(pkt);
    uint32_t avail = dp_packet_size(pkt) - pkt->l3_ofs;
    const struct ipv6_header *ip6 = (const void *) l3;
    const struct ipv6_frag_header *fh;
    uint32_t l3_len, ofs = IPV6_HEADER_LEN, nxt_ofs = 6, len, start;
    uint16_t offlg;
    uint8_t nxt;

    if (avail < IPV6_HEADER_LEN) {
        return &f->stats.invalid;
    }
    l3_len = IPV6_HEADER_LEN + ntohs(ip6->ip6_plen);
    if (l3_len > avail) {
        return &f->stats.invalid;
    }
    /* Each extension header is at least 8 bytes: at most 8 K steps. */
    for (nxt = ip6->ip6_nxt; ct_frag_v6_ext(nxt);) {
        uint32_t elen;

        if (ofs + 8 > l3_len) {
            return &f->stats.invalid;
        }
        elen = nxt == IPPROTO_AH ? (l3[ofs + 1] + 2u) * 4
                                 : (l3[ofs + 1] + 1u) * 8;
        nxt_ofs = ofs;
        nxt = l3[ofs];
        ofs += elen;
    }
    if (nxt != IPPROTO_FRAGMENT || ofs + IPV6_FRAG_HEADER_LEN > l3_len) {
        return &f->stats.invalid;
    }
    fh = (const void *) (l3 + ofs);
    offlg = ntohs(fh->ip6f_offlg);
    start = offlg & IPV6_FRAG_OFF_MASK;
    fi->last = !(offlg & IPV6_FRAG_MORE);
    len = l3_len - ofs - IPV6_FRAG_HEADER_LEN;
    if (start + len > 65535 - (ofs - IPV6_HEADER_LEN)) {
        return &f->stats.invalid;
    }
    if (!fi->last) {
        if (!len || len % 8) {
            return &f->stats.invalid;
        }
        if (l3_len < f->cfg.min_frag_size_v6) {
            return &f->stats.small;
        }
    }
    memset(&fi->key, 0, sizeof fi->key);
    memcpy(fi->key.src, ip6->ip6_src, 16);
    memcpy(fi->key.dst, ip6->ip6_dst, 16);
    fi->key.ident = fh->ip6f_ident;
    fi->key.zone = zone;
    fi->key.dl_type = htons(ETH_TYPE_IPV6);
    fi->ent = (struct ct_frag_ent) {
        .start = start, .len = len,
        .frag_ofs = pkt->l3_ofs + ofs + IPV6_FRAG_HEADER_LEN,
        .hdr_len = ofs, .nxt_ofs = nxt_ofs, .nxt = fh->ip6f_nxt,
    };
    return NULL;
}

static struct ct_frag_list *
ct_frag_lookup(struct ct_frag *f, const struct ct_frag_key *key,
               uint32_t hash)
{
    for (struct ct_frag_list *l = f->buckets[hash & f->bucket_mask]; l;
         l = l->next) {
        if (l->hash == hash && !memcmp(&l->key, key, sizeof *key)) {
            return l;
        }
    }
    return NULL;
}

static struct ct_frag_list *
ct_frag_list_new(struct ct_frag *f, const struct ct_frag_key *key,
                 uint32_t hash, long long now)
{
    struct ct_frag_list *l = f->free_lists, **bucket;

    if (!l) {
        return NULL;
    }
    f->free_lists = l->next;
    l->key = *key;
    l->hash = hash;
    l->deadline = now + f->cfg.timeout_msec;
    l->total = CT_FRAG_TOTAL_UNKNOWN;
    l->have = 0;
    l->n = 0;
    bucket = &f->buckets[hash & f->bucket_mask];
    l->next = *bucket;
    *bucket = l;
    ts_list_push_back(&f->lru, &l->lru);
    f->stats.n_lists++;
    return l;
}

/* Checks the new fragment 'e' against the list.  Returns 0 to add it,
 * 1 for an exact duplicate, -1 if the datagram is broken. */
static int
ct_frag_check(const struct ct_frag_list *l, const struct ct_frag_ent *e,
              bool last)
{
    uint32_t end = e->start + e->len;

    for (uint32_t i = 0; i < l->n; i++) {
        const struct ct_frag_ent *o = &l->ents[i];
        uint32_t o_end = o->start + o->len;

        if (o->start == e->start && o->len == e->len) {
            return 1;
        }
        if (e->start < o_end && o->start < end) {
            return -1;
        }
        if (last && o_end > end) {
            return -1;
        }
    }
    if (last) {
        return l->total != CT_FRAG_TOTAL_UNKNOWN ? -1 : 0;
    }
    return l->total != CT_FRAG_TOTAL_UNKNOWN && end > l->total ? -1 : 0;
}

/* Builds the view of the complete list 'l' into 'res'.  Returns false if
 * the datagram cannot be represented. */
static bool
ct_frag_build_view(struct ct_frag *f, struct ct_frag_list *l,
                   const struct flow *flow, struct ct_frag_result *res)
{
    const struct ct_frag_ent *first = NULL;
    struct dp_packet *view;
    uint32_t hdr_len, l3_len;
    uint8_t *l3;
    struct flow tmp;

    for (uint32_t i = 0; i < l->n; i++) {
        if (!l->ents[i].start) {
            first = &l->ents[i];
        }
    }
    if (!first || first->pkt->l3_ofs > CT_FRAG_L2_MAX
        || first->hdr_len + l->total > 65535 + (l->key.dl_type
                                               == htons(ETH_TYPE_IPV6)
                                               ? IPV6_HEADER_LEN : 0)) {
        return false;
    }
    view = dp_packet_pool_get(f->views);
    if (!view) {
        f->stats.no_view++;
        return false;
    }
    hdr_len = first->pkt->l3_ofs + first->hdr_len;
    dp_packet_put(view, dp_packet_data(first->pkt), hdr_len);
    l3 = (uint8_t *) dp_packet_data(view) + first->pkt->l3_ofs;
    for (uint32_t i = 0; i < l->n; i++) {
        const struct ct_frag_ent *e = &l->ents[i];

        memcpy((uint8_t *) dp_packet_data(view) + hdr_len + e->start,
               (const uint8_t *) dp_packet_data(e->pkt) + e->frag_ofs,
               e->len);
    }
    dp_packet_set_size(view, hdr_len + l->total);
    view->in_port = first->pkt->in_port;
    l3_len = first->hdr_len + l->total;
    if (l->key.dl_type == htons(ETH_TYPE_IP)) {
        struct ip_header *ip = (void *) l3;

        ip->ip_tot_len = htons(l3_len);
        ip->ip_frag_off &= htons(IP_DONT_FRAGMENT);
        ip->ip_csum = 0;
        ip->ip_csum = csum(l3, first->hdr_len);
    } else {
        struct ipv6_header *ip6 = (void *) l3;

        ip6->ip6_plen = htons(l3_len - IPV6_HEADER_LEN);
        l3[first->nxt_ofs] = first->nxt;
    }
    flow_extract(view, &tmp);
    memcpy(&res->flow, flow, offsetof(struct flow, dl_dst));
    memcpy((uint8_t *) &res->flow + offsetof(struct flow, dl_dst),
           (uint8_t *) &tmp + offsetof(struct flow, dl_dst),
           sizeof tmp - offsetof(struct flow, dl_dst));
    res->view = view;
    res->view_l3_len = l3_len;
    res->view_payload_ofs = first->hdr_len;
    res->ipv6 = l->key.dl_type == htons(ETH_TYPE_IPV6);
    return true;
}

/* Hands the complete list 'l' over in 'res' and frees the list. */
static enum ct_frag_verdict
ct_frag_complete(struct ct_frag *f, struct ct_frag_list *l,
                 const struct flow *flow, struct ct_frag_result *res)
{
    if (!ct_frag_build_view(f, l, flow, res)) {
        /* The last fragment (the caller's) is handed back invalid. */
        struct dp_packet *p = l->ents[--l->n].pkt;

        f->stats.n_bytes -= dp_packet_size(p);
        f->stats.n_frags--;
        ct_frag_list_drop(f, l, &f->stats.purged);
        f->stats.accepted--;
        return CT_FRAG_INVALID;
    }
    res->n_frags = l->n;
    for (uint32_t i = 0; i < l->n; i++) {
        const struct ct_frag_ent *e = &l->ents[i];

        res->frags[i] = e->pkt;
        res->pos[i].frag_ofs = e->frag_ofs;
        res->pos[i].len = e->len;
        res->pos[i].view_ofs = e->start;
        f->stats.n_bytes -= dp_packet_size(e->pkt);
        f->stats.n_frags--;
        l->ents[i].pkt = NULL;
    }
    ct_frag_list_drop(f, l, NULL);
    f->stats.completed++;
    return CT_FRAG_COMPLETE;
}

enum ct_frag_verdict
ct_frag_process(struct ct_frag *f, struct dp_packet *pkt,
                const struct flow *flow, uint16_t zone,
                struct ct_frag_result *res)
{
    long long now = f->cfg.now();
    struct ct_frag_info fi;
    struct ct_frag_list *l;
    uint64_t *bad;
    uint32_t hash;
    int r;

    if (!(flow->nw_frag & FLOW_NW_FRAG_ANY)
        || pkt->l3_ofs == DP_PACKET_OFS_NONE) {
        return CT_FRAG_NOT_FRAG;
    }
    ct_frag_expire(f, now, CT_FRAG_EXPIRE_BATCH);
    if (flow->dl_type == htons(ETH_TYPE_IP)) {
        bad = ct_frag_parse_v4(f, pkt, zone, &fi);
    } else if (flow->dl_type == htons(ETH_TYPE_IPV6)) {
        bad = ct_frag_parse_v6(f, pkt, zone, &fi);
    } else {
        return CT_FRAG_NOT_FRAG;
    }
    if (bad) {
        (*bad)++;
        return CT_FRAG_INVALID;
    }
    if (f->stats.n_bytes + dp_packet_size(pkt) > f->cfg.max_bytes) {
        f->stats.no_mem++;
        return CT_FRAG_INVALID;
    }
    hash = hash_bytes(&fi.key, sizeof fi.key, f->cfg.hash_basis);
    l = ct_frag_lookup(f, &fi.key, hash);
    if (!l) {
        l = ct_frag_list_new(f, &fi.key, hash, now);
        if (!l) {
            f->stats.no_list++;
            return CT_FRAG_INVALID;
        }
    }
    r = ct_frag_check(l, &fi.ent, fi.last);
    if (r > 0) {
        f->stats.duplicate++;
        return CT_FRAG_INVALID;
    }
    if (r < 0 || l->n >= f->cfg.max_frags_per_list) {
        if (r < 0) {
            f->stats.overlap++;
        } else {
            f->stats.too_many++;
        }
        ct_frag_list_drop(f, l, &f->stats.purged);
        return CT_FRAG_INVALID;
    }
    fi.ent.pkt = pkt;
    l->ents[l->n++] = fi.ent;
    l->have += fi.ent.len;
    if (fi.last) {
        l->total = fi.ent.start + fi.ent.len;
    }
    f->stats.accepted++;
    f->stats.n_frags++;
    f->stats.n_bytes += dp_packet_size(pkt);
    if (l->have == l->total) {
        return ct_frag_complete(f, l, flow, res);
    }
    return CT_FRAG_HELD;
}

int
ct_frag_result_finish(struct ct_frag_result *res)
{
    const uint8_t *vl3 = dp_packet_l3(res->view);
    const uint8_t *payload;
    uint32_t l3_len;

    if (!vl3) {
        return -EMSGSIZE;
    }
    if (res->ipv6) {
        l3_len = IPV6_HEADER_LEN
                 + ntohs(((const struct ipv6_header *) vl3)->ip6_plen);
    } else {
        l3_len = ntohs(((const struct ip_header *) vl3)->ip_tot_len);
    }
    if (l3_len != res->view_l3_len
        || res->view->l3_ofs + l3_len > dp_packet_size(res->view)) {
        return -EMSGSIZE;
    }
    payload = vl3 + res->view_payload_ofs;
    for (uint32_t i = 0; i < res->n_frags; i++) {
        struct dp_packet *p = res->frags[i];
        uint8_t *l3 = dp_packet_l3(p);

        if (res->ipv6) {
            memcpy(l3 + 8, vl3 + 8, 32);
        } else {
            struct ip_header *ip = (void *) l3;
            const struct ip_header *vip = (const void *) vl3;

            ip->ip_src = vip->ip_src;
            ip->ip_dst = vip->ip_dst;
            ip->ip_csum = 0;
            ip->ip_csum = csum(l3, IP_IHL(ip->ip_ihl_ver) * 4);
        }
        memcpy((uint8_t *) dp_packet_data(p) + res->pos[i].frag_ofs,
               payload + res->pos[i].view_ofs, res->pos[i].len);
    }
    return 0;
}

void
ct_frag_result_release(struct ct_frag *f, struct ct_frag_result *res)
{
    if (res->view) {
        dp_packet_delete(res->view);
        res->view = NULL;
    }
    (void) f;
}

void
ct_frag_get_stats(const struct ct_frag *f, struct ct_frag_stats *s)
{
    *s = f->stats;
}

void
ct_frag_format_stats(const struct ct_frag *f, struct ds *s)
{
    const struct ct_frag_stats *st = &f->stats;

    ds_put_format(s, "fragments held: %"PRIu32" in %"PRIu32" datagrams, "
                  "%"PRIu64" bytes\n", st->n_frags, st->n_lists,
                  st->n_bytes);
    ds_put_format(s, "accepted=%"PRIu64" completed=%"PRIu64
                  " expired=%"PRIu64" purged=%"PRIu64"\n",
                  st->accepted, st->completed, st->expired, st->purged);
    ds_put_format(s, "invalid=%"PRIu64" small=%"PRIu64" overlap=%"PRIu64
                  " duplicate=%"PRIu64" too_many=%"PRIu64" no_mem=%"PRIu64
                  " no_list=%"PRIu64" no_view=%"PRIu64"\n",
                  st->invalid, st->small, st->overlap, st->duplicate,
                  st->too_many, st->no_mem, st->no_list, st->no_view);
}
