/* Unit tests for ofproto/mac-learning: learning, moves, aging with an
 * injected clock, LRU eviction, and a random run against a naive
 * reference. */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include "mac-learning.h"

static long long fake_now;

static long long
fake_clock(void *aux)
{
    (void) aux;
    return fake_now;
}

static struct eth_addr
mac_n(unsigned int n)
{
    struct eth_addr m = { { 0x02, 0x00, (uint8_t) (n >> 24),
                            (uint8_t) (n >> 16), (uint8_t) (n >> 8),
                            (uint8_t) n } };
    return m;
}

static struct mac_learning *
new_ml(unsigned int idle_s, size_t max)
{
    struct mac_learning *ml = mac_learning_create(idle_s, max);

    fake_now = 1000000;
    mac_learning_set_clock(ml, fake_clock, NULL);
    return ml;
}

Test(mac_learning, learn_lookup_move)
{
    struct mac_learning *ml = new_ml(0, 0);
    uint32_t port = 0, old = 0;

    cr_assert(!mac_learning_lookup(ml, mac_n(1), 0, &port));
    cr_assert_eq(mac_learning_learn(ml, mac_n(1), 0, 5, NULL),
                 MAC_LEARN_NEW);
    cr_assert(mac_learning_lookup(ml, mac_n(1), 0, &port));
    cr_assert_eq(port, 5);
    /* Other VLAN is another station. */
    cr_assert(!mac_learning_lookup(ml, mac_n(1), 10, &port));
    cr_assert_eq(mac_learning_learn(ml, mac_n(1), 0, 5, NULL),
                 MAC_LEARN_REFRESHED);
    cr_assert_eq(mac_learning_learn(ml, mac_n(1), 0, 7, &old),
                 MAC_LEARN_MOVED);
    cr_assert_eq(old, 5);
    cr_assert(mac_learning_lookup(ml, mac_n(1), 0, &port));
    cr_assert_eq(port, 7);
    cr_assert_eq(mac_learning_count(ml), 1);
    mac_learning_destroy(ml);
}

Test(mac_learning, multicast_source_ignored)
{
    struct mac_learning *ml = new_ml(0, 0);
    struct eth_addr bcast = { { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } };
    struct eth_addr mcast = { { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 } };

    cr_assert_eq(mac_learning_learn(ml, bcast, 0, 1, NULL),
                 MAC_LEARN_IGNORED);
    cr_assert_eq(mac_learning_learn(ml, mcast, 0, 1, NULL),
                 MAC_LEARN_IGNORED);
    cr_assert_eq(mac_learning_count(ml), 0);
    mac_learning_destroy(ml);
}

Test(mac_learning, aging)
{
    struct mac_learning *ml = new_ml(300, 0);
    uint32_t port;

    mac_learning_learn(ml, mac_n(1), 0, 1, NULL);
    fake_now += 100 * 1000;
    mac_learning_learn(ml, mac_n(2), 0, 2, NULL);
    cr_assert_eq(mac_learning_next_expiry(ml), 1000000 + 300 * 1000);

    fake_now += 199 * 1000;             /* mac 1 is 299 s old */
    cr_assert_eq(mac_learning_expire(ml), 0);
    cr_assert(mac_learning_lookup(ml, mac_n(1), 0, &port));

    fake_now += 1000;                   /* 300 s: expired */
    cr_assert(!mac_learning_lookup(ml, mac_n(1), 0, &port));
    cr_assert_eq(mac_learning_expire(ml), 1);
    cr_assert_eq(mac_learning_count(ml), 1);
    cr_assert(mac_learning_lookup(ml, mac_n(2), 0, &port));
    cr_assert_eq(port, 2);

    /* Refreshing keeps an entry alive. */
    fake_now += 50 * 1000;              /* mac 2 is 250 s old */
    cr_assert_eq(mac_learning_learn(ml, mac_n(2), 0, 2, NULL),
                 MAC_LEARN_REFRESHED);
    fake_now += 250 * 1000;
    cr_assert_eq(mac_learning_expire(ml), 0);
    cr_assert(mac_learning_lookup(ml, mac_n(2), 0, &port));

    /* An expired entry seen again is new, not a move. */
    fake_now += 300 * 1000;
    cr_assert_eq(mac_learning_learn(ml, mac_n(2), 0, 9, NULL),
                 MAC_LEARN_NEW);
    cr_assert_eq(mac_learning_count(ml), 1);
    mac_learning_destroy(ml);
}

Test(mac_learning, lru_eviction)
{
    struct mac_learning *ml = new_ml(0, 4);
    uint32_t port;

    for (unsigned int i = 1; i <= 4; i++) {
        fake_now += 1000;
        mac_learning_learn(ml, mac_n(i), 0, i, NULL);
    }
    /* Seeing 1 again makes 2 the least recently seen. */
    fake_now += 1000;
    mac_learning_learn(ml, mac_n(1), 0, 1, NULL);
    fake_now += 1000;
    cr_assert_eq(mac_learning_learn(ml, mac_n(5), 0, 5, NULL),
                 MAC_LEARN_NEW);
    cr_assert_eq(mac_learning_count(ml), 4);
    cr_assert(!mac_learning_lookup(ml, mac_n(2), 0, &port));
    cr_assert(mac_learning_lookup(ml, mac_n(1), 0, &port));
    cr_assert(mac_learning_lookup(ml, mac_n(3), 0, &port));
    cr_assert(mac_learning_lookup(ml, mac_n(5), 0, &port));

    struct mac_learning_info info[8];
    cr_assert_eq(mac_learning_snapshot(ml, info, 8), 4);
    cr_assert(eth_addr_equals(info[0].mac, mac_n(3)));
    cr_assert(eth_addr_equals(info[3].mac, mac_n(5)));
    cr_assert_eq(info[0].age_s, 3);

    /* Shrinking keeps the most recent. */
    mac_learning_set_limits(ml, 0, 2);
    cr_assert_eq(mac_learning_count(ml), 2);
    cr_assert(mac_learning_lookup(ml, mac_n(1), 0, &port));
    cr_assert_eq(port, 1);
    cr_assert(mac_learning_lookup(ml, mac_n(5), 0, &port));
    cr_assert(!mac_learning_lookup(ml, mac_n(4), 0, &port));
    mac_learning_destroy(ml);
}

Test(mac_learning, flush)
{
    struct mac_learning *ml = new_ml(0, 0);
    uint32_t port;

    for (unsigned int i = 0; i < 10; i++) {
        mac_learning_learn(ml, mac_n(i + 1), 0, i % 2 ? 1 : 2, NULL);
    }
    cr_assert_eq(mac_learning_flush_port(ml, 1), 5);
    cr_assert_eq(mac_learning_count(ml), 5);
    cr_assert(!mac_learning_lookup(ml, mac_n(2), 0, &port));
    cr_assert(mac_learning_lookup(ml, mac_n(1), 0, &port));
    cr_assert_eq(mac_learning_flush(ml), 5);
    cr_assert_eq(mac_learning_count(ml), 0);
    cr_assert_eq(mac_learning_next_expiry(ml), LLONG_MAX);
    mac_learning_destroy(ml);
}

/* Asserts only on failure, so that --full-stats does not record every
 * one of the many checks of the random test. */
#define CHECK(COND, ...)                                                 \
    do {                                                                 \
        if (!(COND)) {                                                   \
            cr_assert_fail(__VA_ARGS__);                                 \
        }                                                                \
    } while (0)

/* Naive reference: an array with linear search and explicit LRU order
 * (last-seen times are strictly increasing, so the smallest is LRU). */
struct ref_entry {
    bool used;
    unsigned int mac;
    uint16_t vlan;
    uint32_t port;
    long long seen;
};

#define REF_MAX 16

static struct ref_entry *
ref_find(struct ref_entry *ref, unsigned int mac, uint16_t vlan,
         long long now, long long idle_ms)
{
    for (int i = 0; i < REF_MAX; i++) {
        if (ref[i].used && ref[i].mac == mac && ref[i].vlan == vlan
            && now - ref[i].seen < idle_ms) {
            return &ref[i];
        }
    }
    return NULL;
}

Test(mac_learning, random_vs_reference)
{
    const long long idle_ms = 50 * 1000;
    struct mac_learning *ml = new_ml(50, REF_MAX);
    struct ref_entry ref[REF_MAX];

    memset(ref, 0, sizeof ref);
    srand(12345);
    for (int iter = 0; iter < 20000; iter++) {
        unsigned int mac = (unsigned int) rand() % 40 + 1;
        uint16_t vlan = (uint16_t) (rand() % 2);
        uint32_t port = (uint32_t) (rand() % 4 + 1);
        int op = rand() % 10;

        fake_now += rand() % 3000 + 1;
        if (op < 6) {
            struct ref_entry *r = ref_find(ref, mac, vlan, fake_now,
                                           idle_ms);
            enum mac_learn_result expect;

            if (r) {
                expect = r->port == port ? MAC_LEARN_REFRESHED
                                         : MAC_LEARN_MOVED;
            } else {
                int slot = -1;

                expect = MAC_LEARN_NEW;
                /* Drop any expired copy of this station, then take a free
                 * slot or evict the least recently seen. */
                for (int i = 0; i < REF_MAX; i++) {
                    if (ref[i].used && ref[i].mac == mac
                        && ref[i].vlan == vlan) {
                        ref[i].used = false;
                    }
                }
                for (int i = 0; i < REF_MAX && slot < 0; i++) {
                    if (!ref[i].used) {
                        slot = i;
                    }
                }
                if (slot < 0) {
                    slot = 0;
                    for (int i = 1; i < REF_MAX; i++) {
                        if (ref[i].seen < ref[slot].seen) {
                            slot = i;
                        }
                    }
                }
                r = &ref[slot];
                r->used = true;
                r->mac = mac;
                r->vlan = vlan;
            }
            r->port = port;
            r->seen = fake_now;
            enum mac_learn_result got = mac_learning_learn(ml, mac_n(mac),
                                                           vlan, port, NULL);
            CHECK(got == expect, "iter %d: learn %d, expected %d", iter,
                  got, expect);
        } else if (op < 9) {
            struct ref_entry *r = ref_find(ref, mac, vlan, fake_now,
                                           idle_ms);
            uint32_t got = 0;
            bool found = mac_learning_lookup(ml, mac_n(mac), vlan, &got);

            CHECK(found == (r != NULL), "iter %d: found %d", iter, found);
            CHECK(!r || got == r->port, "iter %d: port %u, expected %u",
                  iter, got, r ? r->port : 0);
        } else {
            size_t n_exp = 0, n_live = 0;

            for (int i = 0; i < REF_MAX; i++) {
                if (ref[i].used && fake_now - ref[i].seen >= idle_ms) {
                    ref[i].used = false;
                    n_exp++;
                }
                n_live += ref[i].used;
            }
            size_t n = mac_learning_expire(ml);

            CHECK(n == n_exp, "iter %d: expired %zu, expected %zu", iter, n,
                  n_exp);
            n = mac_learning_count(ml);
            CHECK(n == n_live, "iter %d: count %zu, expected %zu", iter, n,
                  n_live);
        }
    }
    mac_learning_destroy(ml);
}

Test(mac_learning, refresh_never_moves)
{
    struct mac_learning *ml = new_ml(100, 0);
    uint32_t port;

    cr_assert_eq(mac_learning_refresh(ml, mac_n(1), 0, 1), MAC_LEARN_NEW);
    fake_now += 50 * 1000;
    cr_assert_eq(mac_learning_refresh(ml, mac_n(1), 0, 1),
                 MAC_LEARN_REFRESHED);
    cr_assert_eq(mac_learning_refresh(ml, mac_n(1), 0, 2),
                 MAC_LEARN_IGNORED);
    cr_assert(mac_learning_lookup(ml, mac_n(1), 0, &port));
    cr_assert_eq(port, 1);
    /* The refresh at +50 s keeps it alive at +120 s. */
    fake_now += 70 * 1000;
    cr_assert(mac_learning_lookup(ml, mac_n(1), 0, &port));
    fake_now += 31 * 1000;
    cr_assert(!mac_learning_lookup(ml, mac_n(1), 0, &port));
    /* Expired: a refresh from another port learns it there. */
    cr_assert_eq(mac_learning_refresh(ml, mac_n(1), 0, 2), MAC_LEARN_NEW);
    cr_assert(mac_learning_lookup(ml, mac_n(1), 0, &port));
    cr_assert_eq(port, 2);
    mac_learning_destroy(ml);
}
