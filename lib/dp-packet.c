/* dp-packet: packet buffers and pools.
 *
 * A pool is one aligned allocation holding its buffers, made at creation;
 * a stack of free packet pointers makes get and put O(1) without locks
 * (a pool belongs to one thread).  Heap packets put the struct and the
 * buffer in a single malloc block. */
#include "dp-packet.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define DP_PACKET_POOL_ALIGN 64

struct dp_packet_pool {
    char *name;
    size_t n;                   /* buffers in the pool */
    size_t buf_size;            /* bytes per buffer, headroom included */
    uint8_t *mem;               /* n * buf_size bytes, one allocation */
    struct dp_packet *packets;  /* n packet structs */
    struct dp_packet **free;    /* stack of free packets */
    size_t n_free;
    uint64_t exhausted;         /* gets that found the pool empty */
    void (*release)(struct dp_packet *, void *aux);
    void *aux;
};

struct dp_packet_pool *
dp_packet_pool_create(const char *name, size_t n, size_t buf_size)
{
    struct dp_packet_pool *pool;
    void *mem;

    if (!n || buf_size <= DP_PACKET_HEADROOM || buf_size > UINT32_MAX) {
        return NULL;
    }
    buf_size = ROUND_UP(buf_size, DP_PACKET_POOL_ALIGN);
    if (n > SIZE_MAX / buf_size
        || posix_memalign(&mem, DP_PACKET_POOL_ALIGN, n * buf_size)) {
        return NULL;
    }
    pool = xzalloc(sizeof *pool);
    pool->name = xstrdup(name ? name : "");
    pool->n = n;
    pool->buf_size = buf_size;
    pool->mem = mem;
    pool->packets = xcalloc(n, sizeof *pool->packets);
    pool->free = xcalloc(n, sizeof *pool->free);
    for (size_t i = 0; i < n; i++) {
        struct dp_packet *p = &pool->packets[i];

        p->base = pool->mem + i * buf_size;
        p->allocated = buf_size;
        p->pool = pool;
        dp_packet_reset(p);
        /* Pop order follows memory order: nicer to caches and tests. */
        pool->free[n - 1 - i] = p;
    }
    pool->n_free = n;
    return pool;
}

void
dp_packet_pool_destroy(struct dp_packet_pool *pool)
{
    if (!pool) {
        return;
    }
    free(pool->free);
    free(pool->packets);
    free(pool->mem);
    free(pool->name);
    free(pool);
}

void
dp_packet_pool_set_release(struct dp_packet_pool *pool,
                           void (*release)(struct dp_packet *, void *),
                           void *aux)
{
    pool->release = release;
    pool->aux = aux;
}

struct dp_packet *
dp_packet_pool_get(struct dp_packet_pool *pool)
{
    struct dp_packet *p;

    if (OVS_UNLIKELY(!pool->n_free)) {
        __atomic_store_n(&pool->exhausted, pool->exhausted + 1,
                         __ATOMIC_RELAXED);
        return NULL;
    }
    p = pool->free[--pool->n_free];
    dp_packet_reset(p);
    p->in_port = 0;
    p->rss_hash = 0;
    p->rss_valid = false;
    p->ct_conn = NULL;
    return p;
}

void
dp_packet_pool_put(struct dp_packet *p)
{
    struct dp_packet_pool *pool = p->pool;

    ts_assert(pool && pool->n_free < pool->n);
    pool->free[pool->n_free++] = p;
}

size_t
dp_packet_pool_available(const struct dp_packet_pool *pool)
{
    return pool->n_free;
}

uint64_t
dp_packet_pool_exhausted(const struct dp_packet_pool *pool)
{
    return __atomic_load_n(&pool->exhausted, __ATOMIC_RELAXED);
}

size_t
dp_packet_pool_buf_size(const struct dp_packet_pool *pool)
{
    return pool->buf_size;
}

struct dp_packet *
dp_packet_new(size_t capacity)
{
    size_t allocated = DP_PACKET_HEADROOM + capacity;
    size_t hdr = ROUND_UP(sizeof(struct dp_packet), 64);
    struct dp_packet *p;

    ts_assert(allocated <= UINT32_MAX);
    p = xmalloc(hdr + allocated);
    memset(p, 0, sizeof *p);
    p->base = (uint8_t *) p + hdr;
    p->allocated = allocated;
    p->pool = NULL;
    dp_packet_reset(p);
    return p;
}

struct dp_packet *
dp_packet_clone_data(const void *data, size_t size)
{
    struct dp_packet *p = dp_packet_new(size);

    dp_packet_put(p, data, size);
    return p;
}

struct dp_packet *
dp_packet_clone(const struct dp_packet *p, struct dp_packet_pool *pool)
{
    struct dp_packet *c;

    if (pool) {
        c = dp_packet_pool_get(pool);
        if (!c) {
            return NULL;
        }
        if (dp_packet_tailroom(c) < p->size) {
            dp_packet_pool_put(c);
            return NULL;
        }
    } else {
        c = dp_packet_new(p->size);
    }
    dp_packet_put(c, dp_packet_data(p), p->size);
    c->l3_ofs = p->l3_ofs;
    c->l4_ofs = p->l4_ofs;
    c->in_port = p->in_port;
    c->rss_hash = p->rss_hash;
    c->rss_valid = p->rss_valid;
    c->ofl = p->ofl;
    c->ct_conn = p->ct_conn;
    if (p->pool == pool) {
        /* 'source' and 'opaque' belong to the pool's owner. */
        c->source = p->source;
    }
    return c;
}

void
dp_packet_delete(struct dp_packet *p)
{
    struct dp_packet_pool *pool;

    if (!p) {
        return;
    }
    pool = p->pool;
    if (!pool) {
        free(p);
    } else if (pool->release) {
        pool->release(p, pool->aux);
    } else {
        dp_packet_pool_put(p);
    }
}

void
dp_packet_reset(struct dp_packet *p)
{
    p->data_ofs = MIN(DP_PACKET_HEADROOM, p->allocated);
    p->size = 0;
    p->l3_ofs = DP_PACKET_OFS_NONE;
    p->l4_ofs = DP_PACKET_OFS_NONE;
    memset(&p->ofl, 0, sizeof p->ofl);
}

void
dp_packet_set_size(struct dp_packet *p, uint32_t size)
{
    ts_assert(size <= p->allocated - p->data_ofs);
    p->size = size;
}

static inline uint16_t
shift_ofs(uint16_t ofs, int32_t delta)
{
    int32_t v;

    if (ofs == DP_PACKET_OFS_NONE) {
        return ofs;
    }
    v = (int32_t) ofs + delta;
    return v < 0 || v >= DP_PACKET_OFS_NONE ? DP_PACKET_OFS_NONE : v;
}

static void
dp_packet_shift_offsets(struct dp_packet *p, int32_t delta)
{
    p->l3_ofs = shift_ofs(p->l3_ofs, delta);
    p->l4_ofs = shift_ofs(p->l4_ofs, delta);
    if (p->ofl.flags & DP_OFL_CSUM_PARTIAL) {
        int32_t v = (int32_t) p->ofl.csum_start + delta;

        if (v < 0 || v > UINT16_MAX) {
            /* The checksummed region was pulled off: nothing to fill. */
            p->ofl.flags &= ~DP_OFL_CSUM_PARTIAL;
            p->ofl.csum_start = p->ofl.csum_offset = 0;
        } else {
            p->ofl.csum_start = v;
        }
    }
}

void *
dp_packet_push_uninit(struct dp_packet *p, uint32_t n)
{
    ts_assert(n <= p->data_ofs);
    p->data_ofs -= n;
    p->size += n;
    dp_packet_shift_offsets(p, n);
    return dp_packet_data(p);
}

void *
dp_packet_pull(struct dp_packet *p, uint32_t n)
{
    ts_assert(n <= p->size);
    p->data_ofs += n;
    p->size -= n;
    dp_packet_shift_offsets(p, -(int32_t) n);
    return dp_packet_data(p);
}

void *
dp_packet_put_uninit(struct dp_packet *p, uint32_t n)
{
    void *tail = dp_packet_tail(p);

    ts_assert(n <= dp_packet_tailroom(p));
    p->size += n;
    return tail;
}

void *
dp_packet_put(struct dp_packet *p, const void *data, uint32_t n)
{
    void *dst = dp_packet_put_uninit(p, n);

    if (n) {
        memcpy(dst, data, n);
    }
    return dst;
}

void
dp_packet_batch_delete(struct dp_packet_batch *b)
{
    for (uint32_t i = 0; i < b->count; i++) {
        dp_packet_delete(b->packets[i]);
    }
    b->count = 0;
}
