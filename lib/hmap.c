/* hmap: chained hash map.
 *
 * Invariants: 'mask + 1' is a power of two; every node lives in bucket
 * 'hash & mask'; 'n' counts the nodes.  An empty map with mask 0 uses the
 * embedded 'one' pointer as its single bucket, so init never allocates. */
#include "hmap.h"

#include <stdlib.h>
#include <string.h>

void
hmap_init(struct hmap *h)
{
    h->buckets = &h->one;
    h->one = NULL;
    h->mask = 0;
    h->n = 0;
}

void
hmap_destroy(struct hmap *h)
{
    if (h && h->buckets != &h->one) {
        free(h->buckets);
    }
    if (h) {
        hmap_init(h);
    }
}

void
hmap_clear(struct hmap *h)
{
    if (h->n) {
        h->n = 0;
        memset(h->buckets, 0, (h->mask + 1) * sizeof *h->buckets);
    }
}

/* Fixes 'buckets' of a map whose single bucket is embedded, after the
 * struct moved. */
static void
hmap_fix_one(struct hmap *h, struct hmap_node **old_one)
{
    if (h->buckets == old_one) {
        h->buckets = &h->one;
    }
}

void
hmap_swap(struct hmap *a, struct hmap *b)
{
    struct hmap tmp = *a;

    *a = *b;
    *b = tmp;
    hmap_fix_one(a, &b->one);
    hmap_fix_one(b, &a->one);
}

static void
hmap_resize(struct hmap *h, size_t new_mask)
{
    struct hmap_node **old = h->buckets;
    size_t old_n_buckets = h->mask + 1;
    struct hmap_node **nb;

    if (new_mask == h->mask) {
        return;
    }
    if (new_mask) {
        nb = xcalloc(new_mask + 1, sizeof *nb);
    } else {
        h->one = NULL;
        nb = &h->one;
    }
    for (size_t i = 0; i < old_n_buckets; i++) {
        struct hmap_node *node, *next;

        for (node = old[i]; node; node = next) {
            struct hmap_node **bucket = &nb[node->hash & new_mask];

            next = node->next;
            node->next = *bucket;
            *bucket = node;
        }
    }
    if (old != &h->one) {
        free(old);
    }
    h->buckets = nb;
    h->mask = new_mask;
}

/* Smallest mask whose table holds 'capacity' nodes at <= 2 per bucket. */
static size_t
hmap_calc_mask(size_t capacity)
{
    size_t mask = capacity / 2;

    mask |= mask >> 1;
    mask |= mask >> 2;
    mask |= mask >> 4;
    mask |= mask >> 8;
    mask |= mask >> 16;
#if SIZE_MAX > UINT32_MAX
    mask |= mask >> 32;
#endif
    /* Tables of at least 16 buckets are cheap and avoid early resizes. */
    if (mask > 0 && mask < 15) {
        mask = 15;
    }
    return mask;
}

void
hmap_insert(struct hmap *h, struct hmap_node *node, uint32_t hash)
{
    struct hmap_node **bucket = &h->buckets[hash & h->mask];

    node->hash = hash;
    node->next = *bucket;
    *bucket = node;
    h->n++;
    if (h->n / 2 > h->mask) {
        hmap_resize(h, hmap_calc_mask(h->n));
    }
}

void
hmap_remove(struct hmap *h, struct hmap_node *node)
{
    struct hmap_node **pp = &h->buckets[node->hash & h->mask];

    while (*pp != node) {
        ts_assert(*pp);
        pp = &(*pp)->next;
    }
    *pp = node->next;
    h->n--;
}

void
hmap_shrink(struct hmap *h)
{
    hmap_resize(h, hmap_calc_mask(h->n));
}

void
hmap_reserve(struct hmap *h, size_t capacity)
{
    size_t mask = hmap_calc_mask(capacity);

    if (mask > h->mask) {
        hmap_resize(h, mask);
    }
}

struct hmap_node *
hmap_first_with_hash(const struct hmap *h, uint32_t hash)
{
    struct hmap_node *node = h->buckets[hash & h->mask];

    while (node && node->hash != hash) {
        node = node->next;
    }
    return node;
}

struct hmap_node *
hmap_next_with_hash(const struct hmap_node *node)
{
    uint32_t hash = node->hash;

    for (node = node->next; node; node = node->next) {
        if (node->hash == hash) {
            return (struct hmap_node *) node;
        }
    }
    return NULL;
}

static struct hmap_node *
hmap_next_from_bucket(const struct hmap *h, size_t start)
{
    for (size_t i = start; i <= h->mask; i++) {
        if (h->buckets[i]) {
            return h->buckets[i];
        }
    }
    return NULL;
}

struct hmap_node *
hmap_first(const struct hmap *h)
{
    return hmap_next_from_bucket(h, 0);
}

struct hmap_node *
hmap_next(const struct hmap *h, const struct hmap_node *node)
{
    if (node->next) {
        return node->next;
    }
    return hmap_next_from_bucket(h, (node->hash & h->mask) + 1);
}

struct hmap_node *
hmap_at_position(const struct hmap *h, uint32_t *bucket, uint32_t *offset)
{
    for (size_t b = *bucket; b <= h->mask; b++) {
        struct hmap_node *node = h->buckets[b];
        uint32_t i;

        for (i = 0; node && i < *offset; i++) {
            node = node->next;
        }
        if (node) {
            *bucket = b;
            *offset = i + 1;
            return node;
        }
        *offset = 0;
    }
    *bucket = h->mask + 1;
    *offset = 0;
    return NULL;
}
