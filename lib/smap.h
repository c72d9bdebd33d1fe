/* smap: a small ordered list of string KEY=VALUE pairs (port options,
 * command arguments).  Keys are unique; insertion order is kept.  Linear
 * search: these lists hold a handful of entries. */
#ifndef TS_SMAP_H
#define TS_SMAP_H 1

#include <stdbool.h>
#include <stddef.h>

struct smap_entry {
    char *key;
    char *value;
};

struct smap {
    struct smap_entry *entries;
    size_t n, allocated;
};

#define SMAP_INITIALIZER { NULL, 0, 0 }

void smap_init(struct smap *);
void smap_destroy(struct smap *);
void smap_clone(struct smap *dst, const struct smap *src);
/* Adds or replaces; copies both strings. */
void smap_replace(struct smap *, const char *key, const char *value);
bool smap_remove(struct smap *, const char *key);
const char *smap_get(const struct smap *, const char *key);
const char *smap_get_def(const struct smap *, const char *key,
                         const char *def);
/* Parses "KEY=VALUE" and adds it; returns false if there is no '='. */
bool smap_add_kv(struct smap *, const char *kv);
#define SMAP_FOR_EACH(E, SMAP) \
    for ((E) = (SMAP)->entries; (E) < (SMAP)->entries + (SMAP)->n; (E)++)

#endif /* smap.h */
