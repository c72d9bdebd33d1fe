/* Unit tests for smap. */
#include <criterion/criterion.h>
#include <stdio.h>

#include "smap.h"

Test(smap, replace_get_remove_order)
{
    struct smap s = SMAP_INITIALIZER;
    struct smap_entry *e;
    const char *keys[] = { "a", "b", "c", "d", "e", "f" };
    char buf[16];
    int i = 0;

    cr_assert_null(smap_get(&s, "a"));
    for (size_t k = 0; k < 6; k++) {
        snprintf(buf, sizeof buf, "v%zu", k);
        smap_replace(&s, keys[k], buf);
    }
    cr_assert_eq(s.n, 6);
    smap_replace(&s, "c", "new");
    cr_assert_eq(s.n, 6);
    cr_assert_str_eq(smap_get(&s, "c"), "new");
    cr_assert_str_eq(smap_get_def(&s, "zz", "dflt"), "dflt");
    cr_assert_str_eq(smap_get_def(&s, "a", "dflt"), "v0");

    cr_assert(smap_remove(&s, "b"));
    cr_assert_not(smap_remove(&s, "b"));
    const char *order[] = { "a", "c", "d", "e", "f" };
    SMAP_FOR_EACH (e, &s) {
        cr_assert_str_eq(e->key, order[i]);
        i++;
    }
    cr_assert_eq(i, 5);

    struct smap c;
    smap_clone(&c, &s);
    smap_replace(&s, "a", "changed");
    cr_assert_str_eq(smap_get(&c, "a"), "v0");
    cr_assert_eq(c.n, 5);
    smap_destroy(&c);
    smap_destroy(&s);
    cr_assert_eq(s.n, 0);
    smap_destroy(NULL);
}

Test(smap, add_kv)
{
    struct smap s;

    smap_init(&s);
    cr_assert(smap_add_kv(&s, "key=value"));
    cr_assert(smap_add_kv(&s, "empty="));
    cr_assert(smap_add_kv(&s, "eq=a=b"));
    cr_assert_not(smap_add_kv(&s, "novalue"));
    cr_assert_str_eq(smap_get(&s, "key"), "value");
    cr_assert_str_eq(smap_get(&s, "empty"), "");
    cr_assert_str_eq(smap_get(&s, "eq"), "a=b");
    cr_assert(smap_add_kv(&s, "key=other"));
    cr_assert_str_eq(smap_get(&s, "key"), "other");
    cr_assert_eq(s.n, 3);
    smap_destroy(&s);
}
