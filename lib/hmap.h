/* hmap: chained hash map with embedded nodes (the owner of an object owns
 * its node).  The caller computes hashes; the map never hashes.
 *
 * Not thread-safe: one writer, and no readers concurrent with it. */
#ifndef TS_HMAP_H
#define TS_HMAP_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "util.h"

struct hmap_node {
    uint32_t hash;
    struct hmap_node *next;
};

struct hmap {
    struct hmap_node **buckets; /* 'mask + 1' chains */
    struct hmap_node *one;      /* storage for a single bucket when empty */
    size_t mask;
    size_t n;
};

#define HMAP_INITIALIZER(HMAP) { &(HMAP)->one, NULL, 0, 0 }

void hmap_init(struct hmap *);
void hmap_destroy(struct hmap *);   /* frees buckets, not nodes */
void hmap_clear(struct hmap *);     /* empties without freeing nodes */
void hmap_swap(struct hmap *, struct hmap *);
/* Inserts 'node' with 'hash'; grows the table when it gets crowded. */
void hmap_insert(struct hmap *, struct hmap_node *, uint32_t hash);
void hmap_remove(struct hmap *, struct hmap_node *);
/* Grows or shrinks to fit the current count. */
void hmap_shrink(struct hmap *);
void hmap_reserve(struct hmap *, size_t capacity);

static inline size_t hmap_count(const struct hmap *h) { return h->n; }
static inline bool hmap_is_empty(const struct hmap *h) { return !h->n; }

/* First node with 'hash' (or NULL); then hmap_next_with_hash(). */
struct hmap_node *hmap_first_with_hash(const struct hmap *, uint32_t);
struct hmap_node *hmap_next_with_hash(const struct hmap_node *);
/* Iteration in bucket order. */
struct hmap_node *hmap_first(const struct hmap *);
struct hmap_node *hmap_next(const struct hmap *, const struct hmap_node *);

/* Position-based iteration that survives re-entry from the event loop:
 * '*bucket' and '*offset' start at 0; returns NULL at the end.  Used to
 * walk big tables in bounded slices. */
struct hmap_node *hmap_at_position(const struct hmap *, uint32_t *bucket,
                                   uint32_t *offset);

/* In the iteration macros NODE must be a plain identifier: it names the
 * hidden iterator too, so loops over different variables nest. */
#define HMAP_FOR_EACH_WITH_HASH(NODE, MEMBER, HASH, HMAP)                \
    for (struct hmap_node *NODE##__hn = hmap_first_with_hash(HMAP, HASH);      \
         NODE##__hn && ((NODE) = OBJECT_CONTAINING(NODE##__hn, NODE, MEMBER), 1);    \
         NODE##__hn = hmap_next_with_hash(NODE##__hn))

#define HMAP_FOR_EACH(NODE, MEMBER, HMAP)                                \
    for (struct hmap_node *NODE##__hn = hmap_first(HMAP);                      \
         NODE##__hn && ((NODE) = OBJECT_CONTAINING(NODE##__hn, NODE, MEMBER), 1);    \
         NODE##__hn = hmap_next(HMAP, NODE##__hn))

/* Safe against removal (and freeing) of NODE inside the loop. */
#define HMAP_FOR_EACH_SAFE(NODE, MEMBER, HMAP)                           \
    for (struct hmap_node *NODE##__hn = hmap_first(HMAP), *NODE##__hnn = NULL;       \
         NODE##__hn && (NODE##__hnn = hmap_next(HMAP, NODE##__hn),                         \
                  (NODE) = OBJECT_CONTAINING(NODE##__hn, NODE, MEMBER), 1);    \
         NODE##__hn = NODE##__hnn)

/* Removes each node and runs the body for it (node no longer in map). */
#define HMAP_FOR_EACH_POP(NODE, MEMBER, HMAP)                            \
    for (struct hmap_node *NODE##__hn;                                         \
         (NODE##__hn = hmap_first(HMAP)) != NULL                               \
         && (hmap_remove(HMAP, NODE##__hn),                                    \
             (NODE) = OBJECT_CONTAINING(NODE##__hn, NODE, MEMBER), 1);)

#endif /* hmap.h */
