/* Unit tests for hmap (against a naive reference) and list. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "hash.h"
#include "hmap.h"
#include "list.h"

#define N_ELEMS 500

struct elem {
    struct hmap_node node;
    int key;
    bool in_map;        /* reference: should be in the map */
    int seen;           /* visits during one check */
};

/* Hash functions from good to terrible, so chains get long. */
static uint32_t
hash_good(int key)
{
    return hash_int(key, 0);
}

static uint32_t
hash_bad(int key)
{
    return key % 7;
}

static uint32_t
hash_const(int key)
{
    return 42;
}

/* Criterion's --full-stats records every assertion, which makes millions
 * of them slow: loops check with CHECK, which asserts only on failure. */
#define CHECK(COND, ...)                                                 \
    do {                                                                 \
        if (!(COND)) {                                                   \
            cr_assert_fail(__VA_ARGS__);                                 \
        }                                                                \
    } while (0)

static void
check_map(struct hmap *h, struct elem *elems, size_t n,
          uint32_t (*hashf)(int))
{
    size_t expected = 0;
    struct elem *e;

    for (size_t i = 0; i < n; i++) {
        elems[i].seen = 0;
        expected += elems[i].in_map;
    }
    CHECK(hmap_count(h) == expected, "count %zu, want %zu", hmap_count(h),
          expected);
    CHECK(hmap_is_empty(h) == (expected == 0), "is_empty");

    /* Structural invariants: power-of-two buckets, nodes in the right
     * bucket, chain lengths sum to the count. */
    CHECK(is_pow2(h->mask + 1), "mask %zu", h->mask);
    size_t total = 0;
    for (size_t b = 0; b <= h->mask; b++) {
        for (struct hmap_node *nd = h->buckets[b]; nd; nd = nd->next) {
            CHECK((nd->hash & h->mask) == b, "node in wrong bucket");
            total++;
        }
    }
    CHECK(total == expected, "chains hold %zu, want %zu", total, expected);

    /* Iteration visits each member once and nothing else. */
    HMAP_FOR_EACH (e, node, h) {
        CHECK(e->in_map, "iteration found removed key %d", e->key);
        e->seen++;
    }
    for (size_t i = 0; i < n; i++) {
        CHECK(elems[i].seen == (elems[i].in_map ? 1 : 0),
              "key %d seen %d times", elems[i].key, elems[i].seen);
        elems[i].seen = 0;
    }

    /* Position-based iteration, one node per call. */
    uint32_t bucket = 0, offset = 0;
    struct hmap_node *nd;
    while ((nd = hmap_at_position(h, &bucket, &offset)) != NULL) {
        e = CONTAINER_OF(nd, struct elem, node);
        CHECK(e->in_map, "position iteration found removed key %d",
              e->key);
        e->seen++;
    }
    for (size_t i = 0; i < n; i++) {
        CHECK(elems[i].seen == (elems[i].in_map ? 1 : 0),
              "position iteration: key %d seen %d times", elems[i].key,
              elems[i].seen);
    }

    /* Every member is findable by hash, non-members are not. */
    for (size_t i = 0; i < n; i++) {
        bool found = false;

        HMAP_FOR_EACH_WITH_HASH (e, node, hashf(elems[i].key), h) {
            CHECK(e->node.hash == hashf(elems[i].key), "wrong hash");
            if (e == &elems[i]) {
                found = true;
            }
        }
        CHECK(found == elems[i].in_map, "key %d found %d", elems[i].key,
              found);
    }
}

static void
random_ops(uint32_t (*hashf)(int), unsigned int seed, int n_ops)
{
    struct elem *elems = calloc(N_ELEMS, sizeof *elems);
    struct hmap h;

    srand(seed);
    hmap_init(&h);
    for (int i = 0; i < N_ELEMS; i++) {
        elems[i].key = i;
    }
    for (int op = 0; op < n_ops; op++) {
        struct elem *e = &elems[rand() % N_ELEMS];
        int r = rand() % 100;

        if (r < 55) {
            if (!e->in_map) {
                hmap_insert(&h, &e->node, hashf(e->key));
                e->in_map = true;
            }
        } else if (r < 95) {
            if (e->in_map) {
                hmap_remove(&h, &e->node);
                e->in_map = false;
            }
        } else if (r < 97) {
            hmap_shrink(&h);
        } else if (r < 99) {
            hmap_reserve(&h, rand() % 2000);
        } else {
            /* Swap out and back: exercises the embedded bucket fix-up. */
            struct hmap other;

            hmap_init(&other);
            hmap_swap(&h, &other);
            CHECK(hmap_is_empty(&h), "swap left entries");
            hmap_swap(&h, &other);
            hmap_destroy(&other);
        }
        if (op % 37 == 0 || op == n_ops - 1) {
            check_map(&h, elems, N_ELEMS, hashf);
        }
    }
    hmap_destroy(&h);
    free(elems);
}

Test(hmap, random_good_hash)
{
    random_ops(hash_good, 1, 20000);
}

Test(hmap, random_bad_hash)
{
    random_ops(hash_bad, 2, 10000);
}

Test(hmap, random_const_hash)
{
    random_ops(hash_const, 3, 3000);
}

Test(hmap, initializer_and_empty)
{
    struct hmap h = HMAP_INITIALIZER(&h);

    cr_assert(hmap_is_empty(&h));
    cr_assert_null(hmap_first(&h));
    cr_assert_null(hmap_first_with_hash(&h, 5));
    hmap_destroy(&h);
}

Test(hmap, pop_and_safe)
{
    struct elem elems[100];
    struct elem *e;
    struct hmap h;
    int n = 0;

    hmap_init(&h);
    for (int i = 0; i < 100; i++) {
        elems[i].key = i;
        hmap_insert(&h, &elems[i].node, hash_good(i));
    }
    HMAP_FOR_EACH_SAFE (e, node, &h) {
        if (e->key % 2) {
            hmap_remove(&h, &e->node);
        }
    }
    cr_assert_eq(hmap_count(&h), 50);
    HMAP_FOR_EACH_POP (e, node, &h) {
        cr_assert_eq(e->key % 2, 0);
        n++;
    }
    cr_assert_eq(n, 50);
    cr_assert(hmap_is_empty(&h));
    hmap_insert(&h, &elems[0].node, 1);
    hmap_clear(&h);
    cr_assert(hmap_is_empty(&h));
    cr_assert_null(hmap_first(&h));
    hmap_destroy(&h);
}

struct item {
    struct ts_list node;
    int v;
};

Test(list, push_pop_iterate)
{
    struct ts_list l = TS_LIST_INITIALIZER(&l);
    struct item items[10];
    struct item *it;
    int expect;

    cr_assert(ts_list_is_empty(&l));
    cr_assert_eq(ts_list_size(&l), 0);
    for (int i = 0; i < 10; i++) {
        items[i].v = i;
        if (i % 2) {
            ts_list_push_back(&l, &items[i].node);
        } else {
            ts_list_push_front(&l, &items[i].node);
        }
        cr_assert_eq(ts_list_size(&l), (size_t) i + 1);
    }
    /* Front: 8 6 4 2 0, then 1 3 5 7 9. */
    int order[10] = { 8, 6, 4, 2, 0, 1, 3, 5, 7, 9 };
    expect = 0;
    TS_LIST_FOR_EACH (it, node, &l) {
        cr_assert_eq(it->v, order[expect]);
        expect++;
    }
    cr_assert_eq(expect, 10);
    TS_LIST_FOR_EACH_SAFE (it, node, &l) {
        if (it->v >= 5) {
            ts_list_remove(&it->node);
        }
    }
    cr_assert_eq(ts_list_size(&l), 5);
    it = CONTAINER_OF(ts_list_pop_front(&l), struct item, node);
    cr_assert_eq(it->v, 4);
    cr_assert_eq(ts_list_size(&l), 4);
    /* A removed node points at itself. */
    cr_assert_eq(it->node.next, &it->node);
}
