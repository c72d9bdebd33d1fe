/* ct-core.c: the connection table, the ct() packet path (parsing,
 * lookup, commit), zones, limits, statistics, expectations and event
 * queueing.  Dumps, flushes, the text format and event delivery are in
 * ct-dump.c.  See conntrack.h for the locking rule. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include "conntrack-private.h"
#include "csum.h"
#include "dp-packet.h"
#include "dynamic-string.h"
#include "flow.h"
#include "hash.h"
#include "packets.h"
#include "util.h"

#define CT_SLAB_CHUNK (1u << 20)
#define CT_NAT_RETRIES 4

/* ---- Tuples and keys ------------------------------------------------- */

void
ct_key_from_tuple(struct ct_key *k, const struct ct_tuple *t)
{
    k->zone = t->zone;
    k->nw_proto = t->nw_proto;
    k->family = t->family;
    k->src_port = t->src_port;
    k->dst_port = t->dst_port;
    if (t->family == AF_INET) {
        k->a.v4.src = t->src.ipv4;
        k->a.v4.dst = t->dst.ipv4;
    } else {
        k->a.v6.src = t->src.ipv6;
        k->a.v6.dst = t->dst.ipv6;
    }
}

void
ct_key_to_tuple(const struct ct_key *k, struct ct_tuple *t)
{
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

static inline bool
ct_key_head_equals(const struct ct_key *k, const struct ct_tuple *t)
{
    return k->zone == t->zone && k->nw_proto == t->nw_proto
           && k->family == t->family;
}

bool
ct_key_equals_tuple(const struct ct_key *k, const struct ct_tuple *t)
{
    if (!ct_key_head_equals(k, t) || k->src_port != t->src_port
        || k->dst_port != t->dst_port) {
        return false;
    }
    if (k->family == AF_INET) {
        return k->a.v4.src == t->src.ipv4 && k->a.v4.dst == t->dst.ipv4;
    }
    return !memcmp(&k->a.v6.src, &t->src.ipv6, 16)
           && !memcmp(&k->a.v6.dst, &t->dst.ipv6, 16);
}

/* True if 't' is the reverse of the key. */
static bool
ct_key_equals_reverse(const struct ct_key *k, const struct ct_tuple *t)
{
    if (!ct_key_head_equals(k, t) || k->src_port != t->dst_port
        || k->dst_port != t->src_port) {
        return false;
    }
    if (k->family == AF_INET) {
        return k->a.v4.src == t->dst.ipv4 && k->a.v4.dst == t->src.ipv4;
    }
    return !memcmp(&k->a.v6.src, &t->dst.ipv6, 16)
           && !memcmp(&k->a.v6.dst, &t->src.ipv6, 16);
}

void
ct_tuple_reverse(struct ct_tuple *dst, const struct ct_tuple *src)
{
    struct ct_tuple tmp = *src;

    tmp.src = src->dst;
    tmp.dst = src->src;
    tmp.src_port = src->dst_port;
    tmp.dst_port = src->src_port;
    *dst = tmp;
}

bool
ct_tuple_equals(const struct ct_tuple *a, const struct ct_tuple *b)
{
    if (a->zone != b->zone || a->nw_proto != b->nw_proto
        || a->family != b->family || a->src_port != b->src_port
        || a->dst_port != b->dst_port) {
        return false;
    }
    if (a->family == AF_INET) {
        return a->src.ipv4 == b->src.ipv4 && a->dst.ipv4 == b->dst.ipv4;
    }
    return !memcmp(&a->src, &b->src, sizeof a->src)
           && !memcmp(&a->dst, &b->dst, sizeof a->dst);
}

/* Mixes two 64-bit words keyed by 'basis' (multiplications run in
 * parallel; the random basis keeps bucket choice unpredictable from
 * outside, as OVS's hash with a random basis does). */
static inline uint32_t
ct_hash_mix(uint64_t lo, uint64_t hi, uint32_t head, uint32_t basis)
{
    uint64_t k = basis * 0x9e3779b97f4a7c15ull;
    uint64_t a = (lo ^ k) * 0xc2b2ae3d27d4eb4full;
    uint64_t b = (hi + k + head) * 0x165667b19e3779f9ull;
    uint64_t h = a ^ (b >> 29) ^ (b << 35) ^ (a >> 31);

    h *= 0xd6e8feb86659fd93ull;
    return (uint32_t) (h ^ (h >> 32));
}

uint32_t
ct_tuple_hash(const struct ct_tuple *t, uint32_t basis)
{
    uint32_t head = ((uint32_t) t->zone << 16) | ((uint32_t) t->nw_proto << 8)
                    | t->family;

    if (t->family == AF_INET) {
        uint64_t a = ((uint64_t) t->src.ipv4 << 16) | t->src_port;
        uint64_t b = ((uint64_t) t->dst.ipv4 << 16) | t->dst_port;

        return ct_hash_mix(MIN(a, b), MAX(a, b), head, basis);
    }

    int c = memcmp(&t->src.ipv6, &t->dst.ipv6, 16);
    bool fwd = c < 0 || (c == 0 && t->src_port <= t->dst_port);
    const union ct_addr *lo = fwd ? &t->src : &t->dst;
    const union ct_addr *hi = fwd ? &t->dst : &t->src;
    uint64_t w[4];
    uint32_t ports = fwd ? ((uint32_t) t->src_port << 16) | t->dst_port
                         : ((uint32_t) t->dst_port << 16) | t->src_port;

    memcpy(w, &lo->ipv6, 16);
    memcpy(w + 2, &hi->ipv6, 16);
    return ct_hash_mix(w[0] ^ (w[1] * 0x9e3779b97f4a7c15ull) ^ ports,
                       w[2] ^ (w[3] * 0xc2b2ae3d27d4eb4full),
                       head, basis);
}

size_t
ct_conn_size(int family)
{
    size_t n = offsetof(struct ct_conn, key)
               + (family == AF_INET ? CT_KEY_V4_SIZE : CT_KEY_V6_SIZE);

    return ROUND_UP(n, 8);
}

void
ct_conn_orig_tuple(const struct ct_conn *conn, struct ct_tuple *t)
{
    ct_key_to_tuple(&conn->key, t);
    if (conn->l4_type == CT_L4_ICMP) {
        t->icmp_type = conn->l4.icmp.type;
        t->icmp_code = conn->l4.icmp.code;
    }
}

void
ct_conn_reply_tuple(const struct ct_conn *conn, struct ct_tuple *t)
{
    if (conn->flags & CT_CONN_F_NAT) {
        *t = conn->ext->rev;
    } else {
        struct ct_tuple orig;

        ct_conn_orig_tuple(conn, &orig);
        ct_tuple_reverse(t, &orig);
    }
    if (conn->l4_type == CT_L4_ICMP) {
        int rt = ct_icmp_reply_type(conn->key.family, conn->l4.icmp.type);

        t->icmp_type = rt < 0 ? 0 : rt;
        t->icmp_code = conn->l4.icmp.code;
    }
}

/* ---- Slabs ----------------------------------------------------------- */

void
ct_slab_init(struct ct_slab *s, size_t obj_size)
{
    memset(s, 0, sizeof *s);
    pthread_spin_init(&s->lock, PTHREAD_PROCESS_PRIVATE);
    s->obj_size = ROUND_UP(obj_size, 8);
}

void
ct_slab_release(struct ct_slab *s)
{
    for (uint32_t i = 0; i < s->n_chunks; i++) {
        munmap(s->chunks[i], CT_SLAB_CHUNK);
    }
    free(s->chunks);
    pthread_spin_destroy(&s->lock);
}

/* Called with the slab locked.  Returns false on out-of-memory. */
static bool
ct_slab_grow(struct ct_slab *s)
{
    void *chunk;

    if (s->n_chunks == s->cap_chunks) {
        uint32_t cap = s->cap_chunks ? 2 * s->cap_chunks : 64;
        void **chunks = realloc(s->chunks, cap * sizeof *chunks);

        if (!chunks) {
            return false;
        }
        s->chunks = chunks;
        s->cap_chunks = cap;
    }
    chunk = mmap(NULL, CT_SLAB_CHUNK, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (chunk == MAP_FAILED) {
        return false;
    }
    s->chunks[s->n_chunks++] = chunk;
    s->cur = chunk;
    s->left = CT_SLAB_CHUNK;
    return true;
}

void *
ct_slab_alloc(struct ct_slab *s)
{
    void *p;

    pthread_spin_lock(&s->lock);
    p = s->free_list;
    if (p) {
        memcpy(&s->free_list, p, sizeof(void *));
    } else if (s->left >= s->obj_size || ct_slab_grow(s)) {
        p = s->cur;
        s->cur += s->obj_size;
        s->left -= s->obj_size;
    }
    pthread_spin_unlock(&s->lock);
    return p;
}

void
ct_slab_free(struct ct_slab *s, void *p)
{
    if (p) {
        pthread_spin_lock(&s->lock);
        memcpy(p, &s->free_list, sizeof(void *));
        s->free_list = p;
        pthread_spin_unlock(&s->lock);
    }
}

/* ---- Creation -------------------------------------------------------- */

void
conntrack_config_init(struct conntrack_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->tcp_seq_chk = true;
}

static uint32_t
ct_pow2_at_least(uint64_t n)
{
    uint32_t p = 1;

    while (p < n && p < (1u << 30)) {
        p <<= 1;
    }
    return p;
}

struct conntrack *
conntrack_create(const struct conntrack_config *cfg_)
{
    struct conntrack_config cfg;
    struct conntrack *ct;

    if (cfg_) {
        cfg = *cfg_;
    } else {
        conntrack_config_init(&cfg);
    }
    if (!cfg.max_conns) {
        cfg.max_conns = 3000000;
    }
    ct = xzalloc(sizeof *ct);
    uint32_t n_buckets = ct_pow2_at_least(MAX(cfg.n_buckets ? cfg.n_buckets
                                              : cfg.max_conns / 2, 64));
    uint32_t n_stripes = ct_pow2_at_least(cfg.n_stripes ? cfg.n_stripes
                                          : 1024);
    n_stripes = MIN(n_stripes, n_buckets);

    ct->buckets = xcalloc(n_buckets, sizeof *ct->buckets);
    ct->bucket_bits = xcalloc(n_buckets / 64, sizeof *ct->bucket_bits);
    ct->bucket_mask = n_buckets - 1;
    ct->stripes = xcalloc(n_stripes, sizeof *ct->stripes);
    ct->stripe_mask = n_stripes - 1;
    for (uint32_t i = 0; i < n_stripes; i++) {
        atomic_init(&ct->stripes[i].locked, 0);
    }
    ct->hash_basis = cfg.hash_basis;
    if (!ct->hash_basis
        && getrandom(&ct->hash_basis, sizeof ct->hash_basis, 0)
           != sizeof ct->hash_basis) {
        ct->hash_basis = (uint32_t) time_nsec() ^ 0x9e3779b9;
    }
    ct->time_base = 0;
    ct_slab_init(&ct->slab4, ct_conn_size(AF_INET));
    ct_slab_init(&ct->slab6, ct_conn_size(AF_INET6));
    ct_slab_init(&ct->slab_ext, sizeof(struct ct_conn_ext));
    ct_slab_init(&ct->slab_exp, sizeof(struct ct_expectation));
    atomic_init(&ct->n_conns, 0);
    atomic_init(&ct->max_conns, cfg.max_conns);
    atomic_init(&ct->tcp_seq_chk, cfg.tcp_seq_chk);
    atomic_init(&ct->next_id, 1);

    ct->zone_count = xcalloc(CT_N_ZONES, sizeof *ct->zone_count);
    ct->zone_limit = xcalloc(CT_N_ZONES, sizeof *ct->zone_limit);
    ct->zone_drops = xcalloc(CT_N_ZONES, sizeof *ct->zone_drops);
    ct->zone_tp = xcalloc(CT_N_ZONES, sizeof *ct->zone_tp);
    ct_expiry_init(ct);

    pthread_spin_init(&ct->exp_lock, PTHREAD_PROCESS_PRIVATE);
    pthread_spin_init(&ct->ev_lock, PTHREAD_PROCESS_PRIVATE);
    ct->ev_len = cfg.event_queue_len ? cfg.event_queue_len : 4096;
    return ct;
}

void
conntrack_destroy(struct conntrack *ct)
{
    if (!ct) {
        return;
    }
    conntrack_set_event_cb(ct, NULL, NULL);
    ct_slab_release(&ct->slab4);
    ct_slab_release(&ct->slab6);
    ct_slab_release(&ct->slab_ext);
    ct_slab_release(&ct->slab_exp);
    pthread_spin_destroy(&ct->exp_lock);
    pthread_spin_destroy(&ct->ev_lock);
    free(ct->ev_ring);
    free(ct->buckets);
    free(ct->bucket_bits);
    free(ct->stripes);
    free(ct->zone_count);
    free(ct->zone_limit);
    free(ct->zone_drops);
    free(ct->zone_tp);
    free(ct);
}

void
conntrack_set_maxconns(struct conntrack *ct, uint32_t n)
{
    atomic_store(&ct->max_conns, n);
}

uint32_t
conntrack_get_maxconns(const struct conntrack *ct)
{
    return atomic_load_explicit(&((struct conntrack *) ct)->max_conns,
                                memory_order_relaxed);
}

uint32_t
conntrack_get_nconns(const struct conntrack *ct)
{
    return atomic_load_explicit(&((struct conntrack *) ct)->n_conns,
                                memory_order_relaxed);
}

void
conntrack_set_tcp_seq_chk(struct conntrack *ct, bool enabled)
{
    atomic_store(&ct->tcp_seq_chk, enabled);
}

bool
conntrack_get_tcp_seq_chk(const struct conntrack *ct)
{
    return ct_tcp_seq_chk_enabled(ct);
}

bool
ct_tcp_seq_chk_enabled(const struct conntrack *ct)
{
    return atomic_load_explicit(&((struct conntrack *) ct)->tcp_seq_chk,
                                memory_order_relaxed);
}

#define CT_INC(CT, FIELD) \
    atomic_fetch_add_explicit(&(CT)->FIELD, 1, memory_order_relaxed)

void
ct_count_tcp_seq_fail(struct conntrack *ct)
{
    CT_INC(ct, n_tcp_seq_fail);
}

const char *
ct_alg_name(enum ct_alg alg)
{
    return alg == CT_ALG_FTP ? "ftp" : alg == CT_ALG_TFTP ? "tftp" : NULL;
}

/* ---- Limits and statistics ------------------------------------------- */

void
conntrack_set_default_zone_limit(struct conntrack *ct, uint32_t limit)
{
    atomic_store(&ct->default_zone_limit, limit);
}

uint32_t
conntrack_get_default_zone_limit(const struct conntrack *ct)
{
    return atomic_load(&((struct conntrack *) ct)->default_zone_limit);
}

void
conntrack_set_zone_limit(struct conntrack *ct, uint16_t zone,
                         uint32_t limit)
{
    atomic_store(&ct->zone_limit[zone],
                 limit == UINT32_MAX ? UINT32_MAX : limit + 1);
}

void
conntrack_del_zone_limit(struct conntrack *ct, uint16_t zone)
{
    atomic_store(&ct->zone_limit[zone], 0);
}

uint32_t
conntrack_get_zone_limit(const struct conntrack *ct_, uint16_t zone,
                         bool *own)
{
    struct conntrack *ct = (struct conntrack *) ct_;
    uint32_t v = atomic_load_explicit(&ct->zone_limit[zone],
                                      memory_order_relaxed);

    if (own) {
        *own = v != 0;
    }
    return v ? (v == UINT32_MAX ? v : v - 1)
             : atomic_load_explicit(&ct->default_zone_limit,
                                    memory_order_relaxed);
}

void
conntrack_get_zone_stats(const struct conntrack *ct_, uint16_t zone,
                         struct ct_zone_stats *st)
{
    struct conntrack *ct = (struct conntrack *) ct_;

    st->count = atomic_load(&ct->zone_count[zone]);
    st->limit = conntrack_get_zone_limit(ct, zone, NULL);
    st->limit_drops = atomic_load(&ct->zone_drops[zone]);
}

void
conntrack_get_stats(const struct conntrack *ct_, struct ct_stats *st)
{
    struct conntrack *ct = (struct conntrack *) ct_;

    st->n_conns = atomic_load(&ct->n_conns);
    st->max_conns = atomic_load(&ct->max_conns);
    st->full_drops = atomic_load(&ct->n_full_drops);
    st->zone_limit_drops = atomic_load(&ct->n_zone_drops);
    st->invalid = atomic_load(&ct->n_invalid);
    st->bad_csum = atomic_load(&ct->n_bad_csum);
    st->tcp_seq_fail = atomic_load(&ct->n_tcp_seq_fail);
    st->nat_exhausted = atomic_load(&ct->n_nat_exhausted);
    st->events_dropped = atomic_load(&ct->n_ev_dropped);
    st->created = atomic_load(&ct->n_created);
    st->expired = atomic_load(&ct->n_expired);
}

/* Takes a slot in the zone and the table; false (and counts) if full. */
static bool
ct_reserve(struct conntrack *ct, uint16_t zone)
{
    uint32_t limit = conntrack_get_zone_limit(ct, zone, NULL);
    uint32_t old = atomic_fetch_add_explicit(&ct->zone_count[zone], 1,
                                             memory_order_relaxed);

    if (limit && old >= limit) {
        atomic_fetch_sub_explicit(&ct->zone_count[zone], 1,
                                  memory_order_relaxed);
        atomic_fetch_add_explicit(&ct->zone_drops[zone], 1,
                                  memory_order_relaxed);
        CT_INC(ct, n_zone_drops);
        return false;
    }
    old = atomic_fetch_add_explicit(&ct->n_conns, 1, memory_order_relaxed);
    if (old >= atomic_load_explicit(&ct->max_conns, memory_order_relaxed)) {
        atomic_fetch_sub_explicit(&ct->n_conns, 1, memory_order_relaxed);
        atomic_fetch_sub_explicit(&ct->zone_count[zone], 1,
                                  memory_order_relaxed);
        CT_INC(ct, n_full_drops);
        return false;
    }
    return true;
}

static void
ct_unreserve(struct conntrack *ct, uint16_t zone)
{
    atomic_fetch_sub_explicit(&ct->zone_count[zone], 1,
                              memory_order_relaxed);
    atomic_fetch_sub_explicit(&ct->n_conns, 1, memory_order_relaxed);
}

/* ---- Expectations ---------------------------------------------------- */

static bool
ct_exp_matches(const struct ct_expectation *e, const struct ct_tuple *t)
{
    struct ct_tuple want = e->tuple;

    if (!want.src_port) {
        want.src_port = t->src_port;
    }
    return ct_tuple_equals(&want, t);
}

int
ct_expect_add(struct conntrack *ct, const struct ct_expectation *exp,
              uint32_t timeout_ms, long long now_ms)
{
    struct ct_expectation *e;
    int err = 0;

    pthread_spin_lock(&ct->exp_lock);
    for (e = ct->exp_list; e; e = e->next) {
        if (ct_tuple_equals(&e->tuple, &exp->tuple)) {
            err = -EEXIST;
            goto out;
        }
    }
    if (atomic_load(&ct->n_exp) >= CT_MAX_EXPECTATIONS) {
        err = -ENOSPC;
        goto out;
    }
    e = ct_slab_alloc(&ct->slab_exp);
    if (!e) {
        err = -ENOMEM;
        goto out;
    }
    *e = *exp;
    e->expiration = ct_time(ct, now_ms) + timeout_ms;
    e->next = ct->exp_list;
    ct->exp_list = e;
    atomic_fetch_add(&ct->n_exp, 1);
out:
    pthread_spin_unlock(&ct->exp_lock);
    return err;
}

/* Finds a live expectation for 't'; copies it to '*out' and, if 'take',
 * removes it.  Drops expired ones met on the way. */
static bool
ct_expect_find(struct conntrack *ct, const struct ct_tuple *t, uint32_t now,
               bool take, struct ct_expectation *out)
{
    struct ct_expectation **prev, *e;
    bool found = false;

    if (!atomic_load_explicit(&ct->n_exp, memory_order_relaxed)) {
        return false;
    }
    pthread_spin_lock(&ct->exp_lock);
    for (prev = &ct->exp_list; (e = *prev) != NULL; ) {
        if (ct_time_before(e->expiration, now)) {
            *prev = e->next;
            atomic_fetch_sub(&ct->n_exp, 1);
            ct_slab_free(&ct->slab_exp, e);
            continue;
        }
        if (ct_exp_matches(e, t)) {
            *out = *e;
            found = true;
            if (take) {
                *prev = e->next;
                atomic_fetch_sub(&ct->n_exp, 1);
                ct_slab_free(&ct->slab_exp, e);
            }
            break;
        }
        prev = &e->next;
    }
    pthread_spin_unlock(&ct->exp_lock);
    return found;
}

static void
ct_expect_remove_parent(struct conntrack *ct, uint32_t parent_id)
{
    struct ct_expectation **prev, *e;

    if (!atomic_load_explicit(&ct->n_exp, memory_order_relaxed)) {
        return;
    }
    pthread_spin_lock(&ct->exp_lock);
    for (prev = &ct->exp_list; (e = *prev) != NULL; ) {
        if (e->parent_id == parent_id) {
            *prev = e->next;
            atomic_fetch_sub(&ct->n_exp, 1);
            ct_slab_free(&ct->slab_exp, e);
        } else {
            prev = &e->next;
        }
    }
    pthread_spin_unlock(&ct->exp_lock);
}

/* ---- Events (queueing; delivery is in ct-dump.c) --------------------- */

/* Locked (the conn's owner stripe). */
static void
ct_event_queue(struct conntrack *ct, enum ct_event_type type,
               const struct ct_conn *conn, uint32_t now)
{
    struct ct_event_rec rec;

    if (!atomic_load_explicit(&ct->ev_enabled, memory_order_relaxed)) {
        return;
    }
    rec.type = type;
    ct_conn_to_entry(ct, conn, &rec.entry, now);
    pthread_spin_lock(&ct->ev_lock);
    if (ct->ev_ring && ct->ev_count < ct->ev_len) {
        uint32_t slot = (ct->ev_head + ct->ev_count) % ct->ev_len;

        ct->ev_ring[slot] = rec;
        ct->ev_count++;
    } else {
        CT_INC(ct, n_ev_dropped);
    }
    pthread_spin_unlock(&ct->ev_lock);
}

/* ---- Removal --------------------------------------------------------- */

bool
ct_conn_expired(const struct ct_conn *conn, uint32_t now)
{
    return ct_time_before(conn->expiration, now);
}

/* Removes 'node' from its bucket chain.  The bucket's stripe is held. */
static void
ct_bucket_unlink(struct conntrack *ct, struct ct_node *node)
{
    uint32_t b = node->hash & ct->bucket_mask;
    struct ct_node **prev = &ct->buckets[b];

    for (; *prev; prev = &(*prev)->next) {
        if (*prev == node) {
            /* Atomic: bucket heads are also read unlocked, as hints. */
            __atomic_store_n(prev, node->next, __ATOMIC_RELAXED);
            break;
        }
    }
    if (!ct->buckets[b]) {
        atomic_fetch_and_explicit(&ct->bucket_bits[b >> 6],
                                  ~(1ull << (b & 63)),
                                  memory_order_relaxed);
    }
}

/* Files 'node' in its bucket, whose stripe the caller holds. */
static void
ct_bucket_link(struct conntrack *ct, struct ct_node *node)
{
    uint32_t b = node->hash & ct->bucket_mask;

    if (!ct->buckets[b]) {
        atomic_fetch_or_explicit(&ct->bucket_bits[b >> 6],
                                 1ull << (b & 63), memory_order_relaxed);
    }
    node->next = ct->buckets[b];
    __atomic_store_n(&ct->buckets[b], node, __ATOMIC_RELAXED);
}

static void
ct_conn_free(struct conntrack *ct, struct ct_conn *conn)
{
    if (conn->ext) {
        ct_slab_free(&ct->slab_ext, conn->ext);
        conn->ext = NULL;
    }
    __atomic_store_n(&conn->flags, CT_CONN_F_DEAD, __ATOMIC_RELAXED);
    ct_slab_free(conn->key.family == AF_INET ? &ct->slab4 : &ct->slab6,
                 conn);
}

int
ct_conn_remove(struct conntrack *ct, struct ct_conn *conn,
               struct ct_stripe *held, struct ct_stripe *held2,
               uint32_t now)
{
    struct ct_stripe *s1 = ct_stripe_of(ct, conn->node.hash);
    struct ct_stripe *s2 = s1;
    struct ct_stripe *taken = NULL;

    if (conn->flags & CT_CONN_F_NAT) {
        s2 = ct_stripe_of(ct, conn->ext->rev_node.hash);
    }
    if (s1 != s2) {
        struct ct_stripe *other = (held == s1 || held2 == s1) ? s2 : s1;

        if (other != held && other != held2) {
            bool ordered = other > held && (!held2 || other > held2);

            if (ordered) {
                ct_lock(other);
            } else if (!ct_trylock(other)) {
                conn->expiration = now - 1;
                return -EAGAIN;
            }
            taken = other;
        }
    }
    ct_bucket_unlink(ct, &conn->node);
    if (conn->flags & CT_CONN_F_NAT) {
        ct_bucket_unlink(ct, &conn->ext->rev_node);
    }
    if (taken) {
        ct_unlock(taken);
    }
    ct_event_queue(ct, CT_EVENT_DESTROY, conn, now);
    if (conn->ext && conn->ext->alg) {
        ct_expect_remove_parent(ct, conn->id);
    }
    ct_unreserve(ct, conn->key.zone);
    ct_conn_free(ct, conn);
    return 0;
}

bool
ct_tuple_in_use(struct conntrack *ct, const struct ct_tuple *t)
{
    uint32_t hash = ct_tuple_hash(t, ct->hash_basis);
    struct ct_stripe *s = ct_stripe_of(ct, hash);
    bool found = false;

    ct_lock(s);
    for (struct ct_node *n = ct->buckets[hash & ct->bucket_mask]; n;
         n = n->next) {
        struct ct_conn *conn;

        if (n->hash != hash) {
            continue;
        }
        conn = ct_node_conn(n);
        if (n->is_rev) {
            found = ct_tuple_equals(&conn->ext->rev, t);
        } else {
            found = ct_key_equals_tuple(&conn->key, t)
                    || ct_key_equals_reverse(&conn->key, t);
        }
        if (found) {
            break;
        }
    }
    ct_unlock(s);
    return found;
}

/* ---- Lookup ---------------------------------------------------------- */

static enum ct_l4_type
ct_l4_type_of(uint8_t proto)
{
    switch (proto) {
    case IPPROTO_TCP:
        return CT_L4_TCP;
    case IPPROTO_UDP:
    case 136:
    case 33:
        return CT_L4_UDP;
    case IPPROTO_ICMP:
    case IPPROTO_ICMPV6_:
        return CT_L4_ICMP;
    case IPPROTO_SCTP:
        return CT_L4_SCTP;
    default:
        return CT_L4_OTHER;
    }
}

/* Does node 'n' (hash already equal) file 'conn' for tuple 't'? */
static bool
ct_node_match(const struct ct_node *n, const struct ct_conn *conn,
              const struct ct_tuple *t, bool related, bool *reply)
{
    if (n->is_rev) {
        if (!ct_tuple_equals(&conn->ext->rev, t)) {
            return false;
        }
        *reply = true;
    } else if (ct_key_equals_tuple(&conn->key, t)) {
        *reply = false;
    } else if (!(conn->flags & CT_CONN_F_NAT)
               && ct_key_equals_reverse(&conn->key, t)) {
        *reply = true;
    } else {
        return false;
    }
    if (conn->l4_type == CT_L4_ICMP && !related) {
        int want = *reply ? ct_icmp_reply_type(conn->key.family,
                                               conn->l4.icmp.type)
                          : conn->l4.icmp.type;
        if (want != t->icmp_type) {
            return false;
        }
    }
    return true;
}

/* Locks held by one packet's processing. */
struct ct_held {
    struct ct_stripe *bucket;   /* stripe of the tuple's bucket */
    struct ct_stripe *owner;    /* the found conn's stripe if different */
};

static void
ct_held_release(struct ct_held *h)
{
    if (h->owner) {
        ct_unlock(h->owner);
        h->owner = NULL;
    }
    if (h->bucket) {
        ct_unlock(h->bucket);
        h->bucket = NULL;
    }
}

/* Finds the live connection for ctx->tuple.  Returns with h->bucket
 * locked and, if the conn's owner stripe differs, h->owner locked too.
 * Returns NULL if none.  Expired non-NAT entries met are removed. */
static struct ct_conn *
ct_find(struct conntrack *ct, const struct ct_ctx *ctx, uint32_t now,
        struct ct_held *h, bool *reply)
{
    struct ct_stripe *s = ct_stripe_of(ct, ctx->hash);

    for (;;) {
        struct ct_node *n, *next;
        bool retry = false;

        ct_lock(s);
        h->bucket = s;
        h->owner = NULL;
        for (n = ct->buckets[ctx->hash & ct->bucket_mask]; n; n = next) {
            struct ct_conn *conn;
            struct ct_stripe *os;

            next = n->next;
            if (n->hash != ctx->hash) {
                continue;
            }
            conn = ct_node_conn(n);
            if (!ct_node_match(n, conn, &ctx->tuple, ctx->related, reply)) {
                continue;
            }
            os = ct_stripe_of(ct, conn->node.hash);
            if (os != s) {
                if (!ct_trylock(os)) {
                    retry = true;
                    break;
                }
                h->owner = os;
            }
            if (ct_conn_expired(conn, now)) {
                if (!(conn->flags & CT_CONN_F_NAT)) {
                    ct_conn_remove(ct, conn, s, NULL, now);
                    CT_INC(ct, n_expired);
                } else if (h->owner) {
                    ct_unlock(h->owner);
                    h->owner = NULL;
                }
                continue;
            }
            return conn;
        }
        if (!retry) {
            return NULL;
        }
        ct_unlock(s);
        h->bucket = NULL;
        ct_cpu_relax();
    }
}

/* The dp_packet->ct_conn shortcut: validates a cached pointer without
 * hashing.  On success returns the conn with its owner stripe locked in
 * h->bucket (and h->owner NULL). */
static struct ct_conn *
ct_shortcut(struct conntrack *ct, struct ct_conn *conn,
            const struct ct_ctx *ctx, uint32_t now, struct ct_held *h,
            bool *reply)
{
    uint32_t hash = __atomic_load_n(&conn->node.hash, __ATOMIC_RELAXED);
    struct ct_stripe *s = ct_stripe_of(ct, hash);

    ct_lock(s);
    if (!(__atomic_load_n(&conn->flags, __ATOMIC_ACQUIRE) & CT_CONN_F_DEAD)
        && ct_stripe_of(ct, __atomic_load_n(&conn->node.hash,
                                            __ATOMIC_RELAXED)) == s
        && conn->key.zone == ctx->tuple.zone
        && !ct_conn_expired(conn, now)) {
        bool match = false;

        if (ct_key_equals_tuple(&conn->key, &ctx->tuple)) {
            *reply = false;
            match = true;
        } else if (!(conn->flags & CT_CONN_F_NAT)) {
            match = ct_key_equals_reverse(&conn->key, &ctx->tuple);
            *reply = true;
        } else {
            match = ct_tuple_equals(&conn->ext->rev, &ctx->tuple);
            *reply = true;
        }
        if (match && conn->l4_type == CT_L4_ICMP) {
            int want = *reply ? ct_icmp_reply_type(conn->key.family,
                                                   conn->l4.icmp.type)
                              : conn->l4.icmp.type;
            match = want == ctx->tuple.icmp_type;
        }
        if (match) {
            h->bucket = s;
            h->owner = NULL;
            return conn;
        }
    }
    ct_unlock(s);
    return NULL;
}

/* ---- Commit ---------------------------------------------------------- */

static struct ct_conn_ext *
ct_conn_ext_get(struct conntrack *ct, struct ct_conn *conn)
{
    if (!conn->ext) {
        struct ct_conn_ext *ext = ct_slab_alloc(&ct->slab_ext);

        if (!ext) {
            return NULL;
        }
        memset(ext, 0, sizeof *ext);
        ext->conn = conn;
        ext->rev_node.is_rev = 1;
        conn->ext = ext;
    }
    return conn->ext;
}

/* Applies the commit's mark and label.  Returns true if they changed. */
static bool
ct_conn_set_mark_label(struct conntrack *ct, struct ct_conn *conn,
                       const struct ct_exec_args *args)
{
    bool changed = false;

    if (args->mark_mask) {
        uint32_t m = (conn->mark & ~args->mark_mask)
                     | (args->mark & args->mark_mask);
        changed |= m != conn->mark;
        conn->mark = m;
    }
    if (args->label_mask[0] | args->label_mask[1]) {
        uint64_t cur[2] = { 0, 0 }, l[2];

        if (conn->ext) {
            cur[0] = conn->ext->label[0];
            cur[1] = conn->ext->label[1];
        }
        for (int i = 0; i < 2; i++) {
            l[i] = (cur[i] & ~args->label_mask[i])
                   | (args->label[i] & args->label_mask[i]);
        }
        if (l[0] != cur[0] || l[1] != cur[1]) {
            struct ct_conn_ext *ext = ct_conn_ext_get(ct, conn);

            if (ext) {
                ext->label[0] = l[0];
                ext->label[1] = l[1];
                changed = true;
            }
        }
    }
    return changed;
}

/* Allocates and initializes a connection for the packet (not yet in the
 * table: flags has CT_CONN_F_DEAD until inserted).  Reserves its slot in
 * the limits.  Returns NULL when full (counted). */
static struct ct_conn *
ct_conn_new(struct conntrack *ct, const struct ct_ctx *ctx,
            const struct ct_exec_args *args,
            const struct ct_expectation *exp, uint32_t now)
{
    const struct ct_tuple *t = &ctx->tuple;
    struct ct_conn *conn;

    if (!ct_reserve(ct, t->zone)) {
        return NULL;
    }
    conn = ct_slab_alloc(t->family == AF_INET ? &ct->slab4 : &ct->slab6);
    if (!conn) {
        ct_unreserve(ct, t->zone);
        CT_INC(ct, n_full_drops);
        return NULL;
    }
    /* 'flags' stays DEAD until insertion (a stale ct_conn shortcut may be
     * looking at this memory, see ct_shortcut()). */
    __atomic_store_n(&conn->flags, CT_CONN_F_DEAD, __ATOMIC_RELAXED);
    conn->node.next = NULL;
    __atomic_store_n(&conn->node.hash, ctx->hash, __ATOMIC_RELAXED);
    conn->node.is_rev = 0;
    memset(&conn->expiration, 0, offsetof(struct ct_conn, flags)
                                 - offsetof(struct ct_conn, expiration));
    memset(&conn->l4_state, 0,
           offsetof(struct ct_conn, key) - offsetof(struct ct_conn, l4_state));
    ct_key_from_tuple(&conn->key, t);
    conn->id = atomic_fetch_add_explicit(&ct->next_id, 1,
                                         memory_order_relaxed);
    conn->l4_type = ct_l4_type_of(t->nw_proto);
    switch (conn->l4_type) {
    case CT_L4_TCP:
        ct_tcp_new_conn(ct, conn, &ctx->cp, now);
        break;
    case CT_L4_ICMP:
        ct_icmp_new_conn(ct, conn, &ctx->cp, now);
        break;
    case CT_L4_SCTP:
        ct_sctp_new_conn(ct, conn, &ctx->cp, now);
        break;
    default:
        ct_other_new_conn(ct, conn, &ctx->cp, now);
        break;
    }
    if (exp) {
        struct ct_conn_ext *ext = ct_conn_ext_get(ct, conn);

        conn->mark = exp->mark;
        if (ext) {
            ext->label[0] = exp->label[0];
            ext->label[1] = exp->label[1];
            ext->has_parent = 1;
            ext->parent = exp->parent;
            __atomic_fetch_or(&conn->flags, CT_CONN_F_ALG_RELATED,
                              __ATOMIC_RELAXED);
        }
    }
    ct_conn_set_mark_label(ct, conn, args);
    if (args->helper != CT_ALG_NONE && !exp) {
        struct ct_conn_ext *ext = ct_conn_ext_get(ct, conn);

        if (ext) {
            ext->alg = args->helper;
        }
    }
    return conn;
}

static void
ct_conn_discard(struct conntrack *ct, struct ct_conn *conn)
{
    ct_unreserve(ct, conn->key.zone);
    ct_conn_free(ct, conn);
}

/* Inserts a non-NAT conn into the bucket of its hash, whose stripe the
 * caller holds. */
static void
ct_insert_locked(struct conntrack *ct, struct ct_conn *conn)
{
    ct_bucket_link(ct, &conn->node);
    /* Release: whoever sees the flag cleared sees the initialization. */
    __atomic_store_n(&conn->flags, conn->flags & ~CT_CONN_F_DEAD,
                     __ATOMIC_RELEASE);
    CT_INC(ct, n_created);
}

/* Does bucket 'hash' (stripe held) file a live conn matching 't'? */
static bool
ct_bucket_has(struct conntrack *ct, uint32_t hash, const struct ct_tuple *t,
              uint32_t now)
{
    for (struct ct_node *n = ct->buckets[hash & ct->bucket_mask]; n;
         n = n->next) {
        struct ct_conn *c;
        bool reply;

        if (n->hash != hash) {
            continue;
        }
        c = ct_node_conn(n);
        if (ct_node_match(n, c, t, true, &reply)
            && (n->is_rev || !ct_conn_expired(c, now))) {
            return true;
        }
    }
    return false;
}

/* Commits a NAT connection: chooses the reply tuple (c2's ct_nat_select,
 * or the expectation's), then inserts both nodes under both stripes.
 * Called with no lock held.  On success returns the conn with its owner
 * stripe locked in h; on failure returns NULL, no lock held. */
static struct ct_conn *
ct_commit_nat(struct conntrack *ct, const struct ct_ctx *ctx,
              const struct ct_exec_args *args,
              const struct ct_expectation *exp, uint32_t now,
              struct ct_held *h)
{
    for (int attempt = 0; attempt < CT_NAT_RETRIES; attempt++) {
        struct ct_tuple rev;
        uint16_t applied = 0;
        struct ct_conn *conn;
        struct ct_stripe *s1, *s2;
        uint32_t rhash;

        if (exp && exp->nat) {
            rev = exp->rev;
            applied = exp->nat_flags;
            if (!exp->tuple.src_port) {
                /* Wildcard source port: the reply goes back to it. */
                rev.dst_port = ctx->tuple.src_port;
            }
        } else if (ct_nat_select(ct, &ctx->tuple, args->nat, &rev,
                                 &applied)) {
            CT_INC(ct, n_nat_exhausted);
            return NULL;
        }
        rev.zone = ctx->tuple.zone;
        conn = ct_conn_new(ct, ctx, args, exp, now);
        if (!conn) {
            return NULL;
        }
        if (!ct_conn_ext_get(ct, conn)) {
            ct_conn_discard(ct, conn);
            return NULL;
        }
        rhash = ct_tuple_hash(&rev, ct->hash_basis);
        s1 = ct_stripe_of(ct, ctx->hash);
        s2 = ct_stripe_of(ct, rhash);
        if (s1 == s2) {
            ct_lock(s1);
        } else {
            ct_lock(MIN(s1, s2));
            ct_lock(MAX(s1, s2));
        }
        if (ct_bucket_has(ct, ctx->hash, &ctx->tuple, now)
            || ct_bucket_has(ct, rhash, &rev, now)) {
            /* Lost a race: somebody committed it or took the tuple. */
            if (s1 != s2) {
                ct_unlock(s2);
            }
            ct_unlock(s1);
            ct_conn_discard(ct, conn);
            if (exp && exp->nat) {
                return NULL;
            }
            continue;
        }
        if (!ct_tuple_equals(&rev, &ctx->tuple)) {
            struct ct_tuple plain;

            ct_tuple_reverse(&plain, &ctx->tuple);
            if (!ct_tuple_equals(&rev, &plain)) {
                /* Not inserted yet: a stale shortcut may read 'flags'. */
                __atomic_fetch_or(&conn->flags, CT_CONN_F_NAT,
                                  __ATOMIC_RELAXED);
            }
        }
        conn->ext->rev = rev;
        conn->ext->nat_flags = applied;
        conn->ext->rev_node.hash = rhash;
        ct_insert_locked(ct, conn);
        if (conn->flags & CT_CONN_F_NAT) {
            ct_bucket_link(ct, &conn->ext->rev_node);
        }
        if (s1 != s2) {
            ct_unlock(s2);
        }
        h->bucket = s1;
        h->owner = NULL;
        return conn;
    }
    CT_INC(ct, n_nat_exhausted);
    return NULL;
}

/* ---- The ct() action ------------------------------------------------- */

static void
ct_write_md_tuple(struct flow *flow, const struct ct_tuple *t)
{
    flow->ct_nw_proto = t->nw_proto;
    if (t->family == AF_INET) {
        flow->ct_nw_src = t->src.ipv4;
        flow->ct_nw_dst = t->dst.ipv4;
    } else {
        flow->ct_ipv6_src = t->src.ipv6;
        flow->ct_ipv6_dst = t->dst.ipv6;
    }
    if (t->nw_proto == IPPROTO_ICMP || t->nw_proto == IPPROTO_ICMPV6_) {
        flow->ct_tp_src = htons(t->icmp_type);
        flow->ct_tp_dst = htons(t->icmp_code);
    } else {
        flow->ct_tp_src = t->src_port;
        flow->ct_tp_dst = t->dst_port;
    }
}

static void
ct_clear_md_tuple(struct flow *flow)
{
    flow->ct_nw_src = flow->ct_nw_dst = 0;
    memset(&flow->ct_ipv6_src, 0, sizeof flow->ct_ipv6_src);
    memset(&flow->ct_ipv6_dst, 0, sizeof flow->ct_ipv6_dst);
    flow->ct_tp_src = flow->ct_tp_dst = 0;
    flow->ct_nw_proto = 0;
}

/* Writes ct_zone/mark/label and the original tuple from 'conn' (locked),
 * or from 'exp' (its parent), or from the packet's own tuple 't', or
 * clears them. */
static void
ct_write_md(struct flow *flow, uint16_t zone, const struct ct_conn *conn,
            const struct ct_expectation *exp, const struct ct_tuple *t)
{
    flow->ct_zone = zone;
    flow->ct_mark = 0;
    flow->ct_label[0] = flow->ct_label[1] = 0;
    if (conn) {
        struct ct_tuple orig;

        flow->ct_mark = conn->mark;
        if (conn->ext) {
            flow->ct_label[0] = conn->ext->label[0];
            flow->ct_label[1] = conn->ext->label[1];
        }
        if ((conn->flags & CT_CONN_F_ALG_RELATED) && conn->ext
            && conn->ext->has_parent) {
            ct_write_md_tuple(flow, &conn->ext->parent);
        } else if (conn->key.family == AF_INET
                   && conn->l4_type != CT_L4_ICMP) {
            flow->ct_nw_proto = conn->key.nw_proto;
            flow->ct_nw_src = conn->key.a.v4.src;
            flow->ct_nw_dst = conn->key.a.v4.dst;
            flow->ct_tp_src = conn->key.src_port;
            flow->ct_tp_dst = conn->key.dst_port;
        } else {
            ct_conn_orig_tuple(conn, &orig);
            ct_write_md_tuple(flow, &orig);
        }
    } else if (exp) {
        flow->ct_mark = exp->mark;
        flow->ct_label[0] = exp->label[0];
        flow->ct_label[1] = exp->label[1];
        ct_write_md_tuple(flow, &exp->parent);
    } else if (t) {
        ct_write_md_tuple(flow, t);
    } else {
        ct_clear_md_tuple(flow);
    }
}

static void
ct_set_invalid(struct conntrack *ct, struct dp_packet *pkt,
               struct flow *flow, uint16_t zone)
{
    CT_INC(ct, n_invalid);
    flow->ct_state = CS_TRACKED | CS_INVALID;
    ct_write_md(flow, zone, NULL, NULL, NULL);
    pkt->ct_conn = NULL;
}

static enum ct_update_res
ct_conn_update(struct conntrack *ct, struct ct_conn *conn,
               const struct ct_pkt *cp, bool reply, uint32_t now)
{
    switch (conn->l4_type) {
    case CT_L4_TCP:
        return ct_tcp_update(ct, conn, cp, reply, now);
    case CT_L4_ICMP:
        return ct_icmp_update(ct, conn, cp, reply, now);
    case CT_L4_SCTP:
        return ct_sctp_update(ct, conn, cp, reply, now);
    default:
        return ct_other_update(ct, conn, cp, reply, now);
    }
}

static bool
ct_valid_new(const struct ct_ctx *ctx)
{
    switch (ct_l4_type_of(ctx->tuple.nw_proto)) {
    case CT_L4_TCP:
        return ct_tcp_valid_new(&ctx->cp);
    case CT_L4_ICMP:
        return ct_icmp_is_query(ctx->tuple.family, ctx->tuple.icmp_type);
    case CT_L4_SCTP:
        return ct_sctp_valid_new(&ctx->cp);
    default:
        return true;
    }
}

static uint32_t
ct_proto_state_sig(const struct ct_conn *conn)
{
    if (conn->l4_type == CT_L4_TCP) {
        return conn->l4.tcp.state[0] | (conn->l4.tcp.state[1] << 8);
    }
    return conn->l4_state;
}

/* Applies NAT for a packet of existing conn (locked) and sets the
 * snat/dnat bits. */
static void
ct_apply_nat(struct dp_packet *pkt, struct flow *flow,
             const struct ct_conn *conn, bool reply, bool related)
{
    uint16_t nf;

    if (!(conn->flags & CT_CONN_F_NAT)) {
        return;
    }
    nf = conn->ext->nat_flags;
    if (reply) {
        flow->ct_state |= (nf & CT_NAT_SRC ? CS_DST_NAT : 0)
                          | (nf & CT_NAT_DST ? CS_SRC_NAT : 0);
    } else {
        flow->ct_state |= (nf & CT_NAT_SRC ? CS_SRC_NAT : 0)
                          | (nf & CT_NAT_DST ? CS_DST_NAT : 0);
    }
    if (related) {
        ct_nat_related_icmp(pkt, flow, conn, reply);
    } else {
        ct_nat_packet(pkt, flow, conn, reply);
    }
}

/* An established or existing connection's packet.  Locked (h).  Returns
 * false if the conn must be recreated (the caller then treats the packet
 * as new, conn already removed). */
static bool
ct_process_existing(struct conntrack *ct, struct ct_ctx *ctx,
                    struct ct_conn *conn, bool reply,
                    const struct ct_exec_args *args, uint32_t now,
                    struct ct_held *h, long long now_ms)
{
    struct dp_packet *pkt = ctx->cp.pkt;
    struct flow *flow = (struct flow *) ctx->cp.flow;
    uint16_t state = CS_TRACKED;
    uint32_t sig = ct_proto_state_sig(conn);
    enum ct_update_res res;
    bool changed;

    if (ctx->related) {
        flow->ct_state = CS_TRACKED | CS_RELATED | (reply ? CS_REPLY_DIR : 0);
        ct_write_md(flow, ctx->tuple.zone, conn, NULL, NULL);
        if (args->nat) {
            ct_apply_nat(pkt, flow, conn, reply, true);
        }
        pkt->ct_conn = NULL;
        return true;
    }
    res = ct_conn_update(ct, conn, &ctx->cp, reply, now);
    switch (res) {
    case CT_UPDATE_NEW:
        ct_conn_remove(ct, conn, h->bucket, h->owner, now);
        return false;
    case CT_UPDATE_INVALID:
        CT_INC(ct, n_invalid);
        flow->ct_state = CS_TRACKED | CS_INVALID;
        ct_write_md(flow, ctx->tuple.zone, conn, NULL, NULL);
        pkt->ct_conn = conn;
        return true;
    case CT_UPDATE_VALID:
        state |= CS_ESTABLISHED | (reply ? CS_REPLY_DIR : 0);
        break;
    case CT_UPDATE_VALID_NEW:
        state |= CS_NEW;
        break;
    }
    if (conn->flags & CT_CONN_F_ALG_RELATED) {
        state |= CS_RELATED;
    }
    if (reply) {
        conn->flags |= CT_CONN_F_SEEN_REPLY;
    }
    conn->packets[reply]++;
    conn->bytes[reply] += ctx->cp.l3_len;
    changed = sig != ct_proto_state_sig(conn);
    if (args->commit) {
        changed |= ct_conn_set_mark_label(ct, conn, args);
    }
    flow->ct_state = state;
    if (conn->ext && conn->ext->alg
        && !(conn->flags & CT_CONN_F_ALG_RELATED)) {
        int err = conn->ext->alg == CT_ALG_FTP
                  ? ct_alg_ftp_process(ct, pkt, flow, conn, reply, now_ms)
                  : ct_alg_tftp_process(ct, pkt, flow, conn, reply, now_ms);
        if (err) {
            CT_INC(ct, n_invalid);
            flow->ct_state = CS_TRACKED | CS_INVALID;
        }
    }
    ct_write_md(flow, ctx->tuple.zone, conn, NULL, NULL);
    if (args->nat && !(flow->ct_state & CS_INVALID)) {
        ct_apply_nat(pkt, flow, conn, reply, false);
    }
    if (changed) {
        ct_event_queue(ct, CT_EVENT_UPDATE, conn, now);
    }
    pkt->ct_conn = conn;
    return true;
}

/* A packet without a connection.  Called with h->bucket (the tuple's
 * bucket stripe) held; releases or keeps locks as it goes (h tracks). */
static void
ct_process_new(struct conntrack *ct, struct ct_ctx *ctx,
               const struct ct_exec_args *args, uint32_t now,
               struct ct_held *h, long long now_ms)
{
    struct dp_packet *pkt = ctx->cp.pkt;
    struct flow *flow = (struct flow *) ctx->cp.flow;
    struct ct_expectation exp;
    bool has_exp;
    struct ct_conn *conn;
    bool nat;

    pkt->ct_conn = NULL;
    if (ctx->related || !ct_valid_new(ctx)) {
        ct_set_invalid(ct, pkt, flow, ctx->tuple.zone);
        return;
    }
    has_exp = ct_expect_find(ct, &ctx->tuple, now, args->commit, &exp);
    flow->ct_state = CS_TRACKED | CS_NEW | (has_exp ? CS_RELATED : 0);
    if (!args->commit) {
        ct_write_md(flow, ctx->tuple.zone, NULL, has_exp ? &exp : NULL,
                    &ctx->tuple);
        return;
    }
    nat = (args->nat && (args->nat->flags & (CT_NAT_SRC | CT_NAT_DST)))
          || (has_exp && exp.nat);
    if (!nat) {
        conn = ct_conn_new(ct, ctx, args, has_exp ? &exp : NULL, now);
        if (conn) {
            ct_insert_locked(ct, conn);
        }
    } else {
        ct_held_release(h);
        conn = ct_commit_nat(ct, ctx, args, has_exp ? &exp : NULL, now, h);
    }
    if (!conn) {
        /* Full or no NAT tuple: +new, not committed. */
        ct_write_md(flow, ctx->tuple.zone, NULL, has_exp ? &exp : NULL,
                    &ctx->tuple);
        return;
    }
    conn->packets[0]++;
    conn->bytes[0] += ctx->cp.l3_len;
    if (conn->ext && conn->ext->alg && !has_exp) {
        int err = conn->ext->alg == CT_ALG_FTP
                  ? ct_alg_ftp_process(ct, pkt, flow, conn, false, now_ms)
                  : ct_alg_tftp_process(ct, pkt, flow, conn, false, now_ms);
        if (err) {
            CT_INC(ct, n_invalid);
            flow->ct_state = CS_TRACKED | CS_INVALID;
        }
    }
    ct_write_md(flow, ctx->tuple.zone, conn, NULL, NULL);
    if (args->nat && !(flow->ct_state & CS_INVALID)) {
        ct_apply_nat(pkt, flow, conn, false, false);
    }
    ct_event_queue(ct, CT_EVENT_NEW, conn, now);
    pkt->ct_conn = conn;
}

/* One packet, already parsed into 'ctx' (err: the parse result; hash
 * valid unless the packet came with a cached conn). */
static void
ct_process(struct conntrack *ct, struct ct_ctx *ctx, int err,
           const struct ct_exec_args *args, uint32_t now, long long now_ms)
{
    struct dp_packet *pkt = ctx->cp.pkt;
    struct flow *flow = (struct flow *) ctx->cp.flow;
    struct ct_held h = { NULL, NULL };
    struct ct_conn *conn = NULL;
    bool reply = false, via_shortcut = false;

    if (err) {
        if (err == -EBADMSG) {
            CT_INC(ct, n_bad_csum);
        }
        ct_set_invalid(ct, pkt, flow, args->zone);
        return;
    }
    if (pkt->ct_conn && !ctx->related) {
        conn = ct_shortcut(ct, pkt->ct_conn, ctx, now, &h, &reply);
        via_shortcut = conn != NULL;
    }
    if (!conn) {
        conn = ct_find(ct, ctx, now, &h, &reply);
    }
    if (conn && reply && args->commit && args->force && !ctx->related) {
        ct_conn_remove(ct, conn, h.bucket, h.owner, now);
        conn = NULL;
    }
    if (conn && !ct_process_existing(ct, ctx, conn, reply, args, now, &h,
                                     now_ms)) {
        conn = NULL;
    }
    if (!conn) {
        if (via_shortcut) {
            /* The shortcut locked the conn's stripe, which need not be the
             * tuple's bucket's (NAT reply): lock the right one. */
            ct_held_release(&h);
            conn = ct_find(ct, ctx, now, &h, &reply);
            if (conn) {
                /* Someone else committed it meanwhile. */
                ct_process_existing(ct, ctx, conn, reply, args, now, &h,
                                    now_ms);
                ct_held_release(&h);
                return;
            }
        }
        ct_process_new(ct, ctx, args, now, &h, now_ms);
    }
    ct_held_release(&h);
}

/* Packets are handled in three passes so that the memory accesses of
 * different packets overlap: parse and hash all, prefetch their buckets,
 * prefetch the first entries, then track one by one. */
void
conntrack_execute(struct conntrack *ct, struct dp_packet **pkts,
                  struct flow **flows, size_t n,
                  const struct ct_exec_args *args, long long now_ms)
{
    uint32_t now = ct_time(ct, now_ms);

    while (n) {
        struct ct_ctx ctx[NETDEV_MAX_BURST];
        int err[NETDEV_MAX_BURST];
        size_t m = MIN(n, NETDEV_MAX_BURST);

        for (size_t i = 0; i < m; i++) {
            err[i] = ct_extract(pkts[i], flows[i], args->zone, &ctx[i]);
            ctx[i].cp.pkt = pkts[i];
            ctx[i].cp.flow = flows[i];
            if (!err[i]) {
                ctx[i].hash = ct_tuple_hash(&ctx[i].tuple, ct->hash_basis);
                __builtin_prefetch(&ct->buckets[ctx[i].hash
                                                & ct->bucket_mask]);
            }
        }
        for (size_t i = 0; i < m; i++) {
            if (!err[i]) {
                const struct ct_node *node = __atomic_load_n(
                    &ct->buckets[ctx[i].hash & ct->bucket_mask],
                    __ATOMIC_RELAXED);

                if (node) {
                    __builtin_prefetch(node);
                    __builtin_prefetch((const char *) node + 64);
                }
            }
        }
        for (size_t i = 0; i < m; i++) {
            ct_process(ct, &ctx[i], err[i], args, now, now_ms);
        }
        pkts += m;
        flows += m;
        n -= m;
    }
}

void
conntrack_packet_invalidate(struct dp_packet *pkt)
{
    pkt->ct_conn = NULL;
}

/* ---- Restore (for ct-snapshot.c) ------------------------------------- */

enum ct_l4_type
ct_l4_type_from_proto(uint8_t nw_proto)
{
    return ct_l4_type_of(nw_proto);
}

int
ct_conn_insert_restored(struct conntrack *ct, struct ct_conn *conn,
                        uint32_t now)
{
    bool nat = conn->flags & CT_CONN_F_NAT;
    struct ct_stripe *s1 = ct_stripe_of(ct, conn->node.hash);
    struct ct_stripe *s2 = nat ? ct_stripe_of(ct, conn->ext->rev_node.hash)
                               : s1;
    struct ct_tuple orig;
    int err = 0;

    if (!ct_reserve(ct, conn->key.zone)) {
        return -ENOSPC;
    }
    ct_conn_orig_tuple(conn, &orig);
    ct_lock(MIN(s1, s2));
    if (s1 != s2) {
        ct_lock(MAX(s1, s2));
    }
    if (ct_bucket_has(ct, conn->node.hash, &orig, now)
        || (nat && ct_bucket_has(ct, conn->ext->rev_node.hash,
                                 &conn->ext->rev, now))) {
        err = -EEXIST;
    } else {
        ct_insert_locked(ct, conn);
        if (nat) {
            ct_bucket_link(ct, &conn->ext->rev_node);
        }
        /* Restored ids are kept; new ones continue after them. */
        unsigned int next = atomic_load(&ct->next_id);
        while ((int32_t) (conn->id + 1 - next) > 0
               && !atomic_compare_exchange_weak(&ct->next_id, &next,
                                                conn->id + 1)) {
            continue;
        }
    }
    if (s1 != s2) {
        ct_unlock(MAX(s1, s2));
    }
    ct_unlock(MIN(s1, s2));
    if (err) {
        ct_unreserve(ct, conn->key.zone);
    }
    return err;
}
