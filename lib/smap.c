/* smap: ordered string map with linear search (a handful of entries). */
#include "smap.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

void
smap_init(struct smap *s)
{
    s->entries = NULL;
    s->n = s->allocated = 0;
}

void
smap_destroy(struct smap *s)
{
    if (!s) {
        return;
    }
    for (size_t i = 0; i < s->n; i++) {
        free(s->entries[i].key);
        free(s->entries[i].value);
    }
    free(s->entries);
    smap_init(s);
}

static struct smap_entry *
smap_find(const struct smap *s, const char *key)
{
    for (size_t i = 0; i < s->n; i++) {
        if (!strcmp(s->entries[i].key, key)) {
            return &s->entries[i];
        }
    }
    return NULL;
}

static void
smap_append_nocopy(struct smap *s, char *key, char *value)
{
    if (s->n >= s->allocated) {
        s->allocated = s->allocated ? s->allocated * 2 : 4;
        s->entries = xrealloc(s->entries,
                              s->allocated * sizeof *s->entries);
    }
    s->entries[s->n].key = key;
    s->entries[s->n].value = value;
    s->n++;
}

void
smap_clone(struct smap *dst, const struct smap *src)
{
    smap_init(dst);
    for (size_t i = 0; i < src->n; i++) {
        smap_append_nocopy(dst, xstrdup(src->entries[i].key),
                           xstrdup(src->entries[i].value));
    }
}

void
smap_replace(struct smap *s, const char *key, const char *value)
{
    struct smap_entry *e = smap_find(s, key);

    if (e) {
        char *copy = xstrdup(value);

        free(e->value);
        e->value = copy;
    } else {
        smap_append_nocopy(s, xstrdup(key), xstrdup(value));
    }
}

bool
smap_remove(struct smap *s, const char *key)
{
    struct smap_entry *e = smap_find(s, key);
    size_t i;

    if (!e) {
        return false;
    }
    i = e - s->entries;
    free(e->key);
    free(e->value);
    memmove(&s->entries[i], &s->entries[i + 1],
            (s->n - i - 1) * sizeof *s->entries);
    s->n--;
    return true;
}

const char *
smap_get(const struct smap *s, const char *key)
{
    const struct smap_entry *e = smap_find(s, key);

    return e ? e->value : NULL;
}

const char *
smap_get_def(const struct smap *s, const char *key, const char *def)
{
    const char *value = smap_get(s, key);

    return value ? value : def;
}

bool
smap_add_kv(struct smap *s, const char *kv)
{
    const char *eq = strchr(kv, '=');
    char *key;

    if (!eq) {
        return false;
    }
    key = xstrndup(kv, eq - kv);
    smap_replace(s, key, eq + 1);
    free(key);
    return true;
}
