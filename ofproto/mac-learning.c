/* mac-learning: see mac-learning.h.
 *
 * Layout: 'entries' is a preallocated array.  Each entry is on exactly one
 * of two lists: 'free' or 'lru' (least recently seen at the front).  In
 * use, it is also on a hash chain: 'buckets' holds index + 1 of the first
 * entry of each chain (0: empty), and each entry's 'next' the index + 1 of
 * the next.  Since idle times only grow toward the front of 'lru',
 * expiry pops from the front and stops at the first live entry. */
#include "mac-learning.h"

#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include "hash.h"
#include "list.h"
#include "util.h"

struct mac_entry {
    struct ts_list node;        /* in 'lru' or 'free' */
    uint32_t next;              /* hash chain: index + 1, 0 ends */
    uint32_t hash;
    struct eth_addr mac;
    uint16_t vlan;
    uint32_t port;
    long long seen;             /* clock msec of last learn */
};

struct mac_learning {
    pthread_mutex_t mutex;
    struct mac_entry *entries;  /* 'max' of them */
    uint32_t *buckets;          /* 'mask + 1' chain heads */
    uint32_t mask;
    size_t max;
    size_t n;
    long long idle_ms;
    struct ts_list lru;
    struct ts_list free;
    long long (*now)(void *aux);
    void *now_aux;
};

static long long
default_now(void *aux TS_UNUSED)
{
    return time_msec();
}

static uint32_t
mac_hash(struct eth_addr mac, uint16_t vlan)
{
    return hash_bytes(&mac, sizeof mac, vlan);
}

static size_t
entry_index(const struct mac_learning *ml, const struct mac_entry *e)
{
    return (size_t) (e - ml->entries);
}

/* (Re)allocates storage for 'max' entries; the table ends up empty. */
static void
ml_alloc(struct mac_learning *ml, size_t max)
{
    size_t n_buckets = 1;

    while (n_buckets < max * 2) {
        n_buckets *= 2;
    }
    free(ml->entries);
    free(ml->buckets);
    ml->entries = xcalloc(max, sizeof *ml->entries);
    ml->buckets = xcalloc(n_buckets, sizeof *ml->buckets);
    ml->mask = (uint32_t) (n_buckets - 1);
    ml->max = max;
    ml->n = 0;
    ts_list_init(&ml->lru);
    ts_list_init(&ml->free);
    for (size_t i = 0; i < max; i++) {
        ts_list_push_back(&ml->free, &ml->entries[i].node);
    }
}

struct mac_learning *
mac_learning_create(unsigned int idle_s, size_t max_entries)
{
    struct mac_learning *ml = xzalloc(sizeof *ml);

    pthread_mutex_init(&ml->mutex, NULL);
    ml->idle_ms = (long long) (idle_s ? idle_s : MAC_LEARNING_DEFAULT_IDLE_S)
                  * 1000;
    ml->now = default_now;
    ml_alloc(ml, max_entries ? max_entries : MAC_LEARNING_DEFAULT_MAX);
    return ml;
}

void
mac_learning_destroy(struct mac_learning *ml)
{
    if (!ml) {
        return;
    }
    pthread_mutex_destroy(&ml->mutex);
    free(ml->entries);
    free(ml->buckets);
    free(ml);
}

void
mac_learning_set_clock(struct mac_learning *ml,
                       long long (*now)(void *aux), void *aux)
{
    pthread_mutex_lock(&ml->mutex);
    ml->now = now ? now : default_now;
    ml->now_aux = aux;
    pthread_mutex_unlock(&ml->mutex);
}

static struct mac_entry *
ml_find(const struct mac_learning *ml, struct eth_addr mac, uint16_t vlan,
        uint32_t hash)
{
    for (uint32_t i = ml->buckets[hash & ml->mask]; i;
         i = ml->entries[i - 1].next) {
        struct mac_entry *e = &ml->entries[i - 1];

        if (e->hash == hash && e->vlan == vlan
            && eth_addr_equals(e->mac, mac)) {
            return e;
        }
    }
    return NULL;
}

static void
ml_insert(struct mac_learning *ml, struct mac_entry *e)
{
    uint32_t *head = &ml->buckets[e->hash & ml->mask];

    e->next = *head;
    *head = (uint32_t) entry_index(ml, e) + 1;
    ts_list_push_back(&ml->lru, &e->node);
    ml->n++;
}

static void
ml_remove(struct mac_learning *ml, struct mac_entry *e)
{
    uint32_t idx = (uint32_t) entry_index(ml, e) + 1;
    uint32_t *link = &ml->buckets[e->hash & ml->mask];

    while (*link != idx) {
        link = &ml->entries[*link - 1].next;
    }
    *link = e->next;
    e->next = 0;
    ts_list_remove(&e->node);
    ts_list_push_back(&ml->free, &e->node);
    ml->n--;
}

static bool
ml_is_expired(const struct mac_learning *ml, const struct mac_entry *e,
              long long now)
{
    return now - e->seen >= ml->idle_ms;
}

void
mac_learning_set_limits(struct mac_learning *ml, unsigned int idle_s,
                        size_t max_entries)
{
    size_t max = max_entries ? max_entries : MAC_LEARNING_DEFAULT_MAX;

    pthread_mutex_lock(&ml->mutex);
    ml->idle_ms = (long long) (idle_s ? idle_s : MAC_LEARNING_DEFAULT_IDLE_S)
                  * 1000;
    if (max != ml->max) {
        /* Keep the 'max' most recently seen entries, oldest first. */
        size_t keep = MIN(ml->n, max);
        struct mac_entry *saved = xcalloc(keep ? keep : 1, sizeof *saved);
        size_t skip = ml->n - keep, i = 0;
        struct mac_entry *e;

        TS_LIST_FOR_EACH (e, node, &ml->lru) {
            if (skip) {
                skip--;
            } else {
                saved[i++] = *e;
            }
        }
        ml_alloc(ml, max);
        for (i = 0; i < keep; i++) {
            struct mac_entry *n = CONTAINER_OF(ts_list_pop_front(&ml->free),
                                               struct mac_entry, node);
            n->mac = saved[i].mac;
            n->vlan = saved[i].vlan;
            n->port = saved[i].port;
            n->seen = saved[i].seen;
            n->hash = saved[i].hash;
            ml_insert(ml, n);
        }
        free(saved);
    }
    pthread_mutex_unlock(&ml->mutex);
}

static enum mac_learn_result
ml_learn__(struct mac_learning *ml, struct eth_addr mac, uint16_t vlan,
           uint32_t port, uint32_t *old_port, bool may_move)
{
    uint32_t hash = mac_hash(mac, vlan);
    enum mac_learn_result res;
    struct mac_entry *e;
    long long now;

    if (eth_addr_is_multicast(mac) || eth_addr_is_zero(mac)) {
        return MAC_LEARN_IGNORED;
    }
    pthread_mutex_lock(&ml->mutex);
    now = ml->now(ml->now_aux);
    e = ml_find(ml, mac, vlan, hash);
    if (e && e->port == port && !ml_is_expired(ml, e, now)) {
        res = MAC_LEARN_REFRESHED;
        ts_list_remove(&e->node);
        ts_list_push_back(&ml->lru, &e->node);
    } else if (e && !ml_is_expired(ml, e, now) && !may_move) {
        pthread_mutex_unlock(&ml->mutex);
        return MAC_LEARN_IGNORED;
    } else if (e && !ml_is_expired(ml, e, now)) {
        res = MAC_LEARN_MOVED;
        if (old_port) {
            *old_port = e->port;
        }
        e->port = port;
        ts_list_remove(&e->node);
        ts_list_push_back(&ml->lru, &e->node);
    } else {
        res = MAC_LEARN_NEW;
        if (e) {
            ml_remove(ml, e);       /* expired: a fresh entry replaces it */
        }
        if (ts_list_is_empty(&ml->free)) {
            ml_remove(ml, CONTAINER_OF(ml->lru.next, struct mac_entry,
                                       node));
        }
        e = CONTAINER_OF(ts_list_pop_front(&ml->free), struct mac_entry,
                         node);
        e->mac = mac;
        e->vlan = vlan;
        e->port = port;
        e->hash = hash;
        ml_insert(ml, e);
    }
    e->seen = now;
    pthread_mutex_unlock(&ml->mutex);
    return res;
}

enum mac_learn_result
mac_learning_learn(struct mac_learning *ml, struct eth_addr mac,
                   uint16_t vlan, uint32_t port, uint32_t *old_port)
{
    return ml_learn__(ml, mac, vlan, port, old_port, true);
}

enum mac_learn_result
mac_learning_refresh(struct mac_learning *ml, struct eth_addr mac,
                     uint16_t vlan, uint32_t port)
{
    return ml_learn__(ml, mac, vlan, port, NULL, false);
}

bool
mac_learning_lookup(struct mac_learning *ml, struct eth_addr mac,
                    uint16_t vlan, uint32_t *port)
{
    uint32_t hash = mac_hash(mac, vlan);
    struct mac_entry *e;
    bool found = false;

    pthread_mutex_lock(&ml->mutex);
    e = ml_find(ml, mac, vlan, hash);
    if (e && !ml_is_expired(ml, e, ml->now(ml->now_aux))) {
        *port = e->port;
        found = true;
    }
    pthread_mutex_unlock(&ml->mutex);
    return found;
}

size_t
mac_learning_expire(struct mac_learning *ml)
{
    size_t n = 0;
    long long now;

    pthread_mutex_lock(&ml->mutex);
    now = ml->now(ml->now_aux);
    while (!ts_list_is_empty(&ml->lru)) {
        struct mac_entry *e = CONTAINER_OF(ml->lru.next, struct mac_entry,
                                           node);
        if (!ml_is_expired(ml, e, now)) {
            break;
        }
        ml_remove(ml, e);
        n++;
    }
    pthread_mutex_unlock(&ml->mutex);
    return n;
}

static size_t
ml_flush__(struct mac_learning *ml, bool all, uint32_t port)
{
    struct mac_entry *e;
    size_t n = 0;

    pthread_mutex_lock(&ml->mutex);
    TS_LIST_FOR_EACH_SAFE (e, node, &ml->lru) {
        if (all || e->port == port) {
            ml_remove(ml, e);
            n++;
        }
    }
    pthread_mutex_unlock(&ml->mutex);
    return n;
}

size_t
mac_learning_flush(struct mac_learning *ml)
{
    return ml_flush__(ml, true, 0);
}

size_t
mac_learning_flush_port(struct mac_learning *ml, uint32_t port)
{
    return ml_flush__(ml, false, port);
}

size_t
mac_learning_count(struct mac_learning *ml)
{
    size_t n;

    pthread_mutex_lock(&ml->mutex);
    n = ml->n;
    pthread_mutex_unlock(&ml->mutex);
    return n;
}

long long
mac_learning_next_expiry(struct mac_learning *ml)
{
    long long t = LLONG_MAX;

    pthread_mutex_lock(&ml->mutex);
    if (!ts_list_is_empty(&ml->lru)) {
        const struct mac_entry *e = CONTAINER_OF(ml->lru.next,
                                                 struct mac_entry, node);
        t = e->seen + ml->idle_ms;
    }
    pthread_mutex_unlock(&ml->mutex);
    return t;
}

size_t
mac_learning_snapshot(struct mac_learning *ml, struct mac_learning_info *out,
                      size_t max)
{
    const struct mac_entry *e;
    size_t i = 0, n;
    long long now;

    pthread_mutex_lock(&ml->mutex);
    now = ml->now(ml->now_aux);
    TS_LIST_FOR_EACH (e, node, &ml->lru) {
        if (i >= max) {
            break;
        }
        out[i].mac = e->mac;
        out[i].vlan = e->vlan;
        out[i].port = e->port;
        out[i].age_s = (unsigned int) ((now - e->seen) / 1000);
        i++;
    }
    n = ml->n;
    pthread_mutex_unlock(&ml->mutex);
    return n;
}
