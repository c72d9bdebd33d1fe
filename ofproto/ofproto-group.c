/* ofproto-group: the group table of an ofproto (see ofproto.h, "Groups",
 * and ofproto-private.h for the locking rules).
 *
 * Groups are immutable once inserted: modify builds a new struct group
 * and swaps it in under the write lock, so xlate (read lock) sees either
 * the old or the new group whole, and megaflow cookies keep the old one
 * alive for their final statistics.  Every change revalidates the
 * megaflow cache before returning: a megaflow made with the old group
 * credits the old object, so the revalidator's comparison of group uses
 * evicts it even when the datapath actions happen to be equal. */
#include "ofproto.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "errors.h"
#include "hash.h"
#include "ofp-group.h"
#include "ofp-port-map.h"
#include "ofpact.h"
#include "ofproto-private.h"
#include "util.h"

void
ofproto_group_ref(struct group *g)
{
    __atomic_fetch_add(&g->refcount, 1, __ATOMIC_RELAXED);
}

void
ofproto_group_unref(struct group *g)
{
    if (g && __atomic_sub_fetch(&g->refcount, 1, __ATOMIC_ACQ_REL) == 0) {
        ofp_group_mod_release(&g->desc);
        free(g->bucket_stats);
        free(g);
    }
}

struct group *
ofproto_group_find(const struct ofproto *p, uint32_t group_id)
{
    struct group *g;

    HMAP_FOR_EACH_WITH_HASH (g, node, hash_int(group_id, 0), &p->groups) {
        if (g->desc.group_id == group_id) {
            return g;
        }
    }
    return NULL;
}

void
ofproto_groups_init(struct ofproto *p)
{
    hmap_init(&p->groups);
}

void
ofproto_groups_destroy(struct ofproto *p)
{
    struct group *g;

    HMAP_FOR_EACH_POP (g, node, &p->groups) {
        ofproto_group_unref(g);
    }
    hmap_destroy(&p->groups);
}

size_t
ofproto_group_count(const struct ofproto *p)
{
    return hmap_count(&p->groups);
}

static struct group *
group_create(const struct ofp_group_mod *gm)
{
    struct group *g = xzalloc(sizeof *g);

    ofp_group_mod_clone(&g->desc, gm);
    g->desc.command = OFPGC_ADD;
    g->created = time_msec();
    g->bucket_stats = xcalloc(gm->n_buckets ? gm->n_buckets : 1,
                              sizeof *g->bucket_stats);
    g->refcount = 1;            /* the group table's */
    return g;
}

static void TS_PRINTF(2, 3)
set_error(char **errp, const char *fmt, ...)
{
    va_list args;

    if (!errp) {
        return;
    }
    va_start(args, fmt);
    *errp = xvasprintf(fmt, args);
    va_end(args);
}

/* Checks a group-mod's content before anything changes. */
static int
group_mod_validate(const struct ofproto *p, const struct ofp_group_mod *gm,
                   char **errp)
{
    if (gm->group_id > OFPG_MAX) {
        set_error(errp, "cannot add group: group id %#"PRIx32" is reserved",
                  gm->group_id);
        return -EINVAL;
    }
    if ((unsigned int) gm->type > OFPGT_FF) {
        set_error(errp, "cannot add group %"PRIu32": unknown type %d",
                  gm->group_id, (int) gm->type);
        return -EINVAL;
    }
    if (gm->n_buckets > OFPG_MAX_BUCKETS) {
        set_error(errp, "cannot add group %"PRIu32": too many buckets "
                  "(at most %d)", gm->group_id, OFPG_MAX_BUCKETS);
        return -EINVAL;
    }
    if (gm->type == OFPGT_INDIRECT && gm->n_buckets != 1) {
        set_error(errp, "cannot add group %"PRIu32": indirect groups must "
                  "have exactly one bucket", gm->group_id);
        return -EINVAL;
    }
    for (size_t i = 0; i < gm->n_buckets; i++) {
        const struct ofp_bucket *b = &gm->buckets[i];
        char *err;

        if (ofproto_ofpacts_use_group(b->ofpacts, b->ofpacts_len,
                                      gm->group_id)) {
            set_error(errp, "cannot add group %"PRIu32": bucket %"PRIu32
                      " refers to the group itself", gm->group_id,
                      b->bucket_id);
            return -ELOOP;
        }
        /* No match to check prerequisites against (as packet-out):
         * xlate skips a field write the packet cannot take. */
        err = ofproto_check_ofpacts(p, b->ofpacts, b->ofpacts_len, 255);
        if (err) {
            set_error(errp, "cannot add group %"PRIu32": bucket %"PRIu32
                      ": %s", gm->group_id, b->bucket_id, err);
            free(err);
            return -TS_ERR_BAD_ACTION;
        }
    }
    return 0;
}

static int
group_add_or_modify(struct ofproto *p, const struct ofp_group_mod *gm,
                    char **errp)
{
    struct group *old, *g;
    int error;

    error = group_mod_validate(p, gm, errp);
    if (error) {
        return error;
    }
    old = ofproto_group_find(p, gm->group_id);
    if (old && gm->command == OFPGC_ADD) {
        set_error(errp, "cannot add group %"PRIu32": group already exists",
                  gm->group_id);
        return -EEXIST;
    }
    if (!old && gm->command == OFPGC_MODIFY) {
        set_error(errp, "cannot modify group %"PRIu32": no such group",
                  gm->group_id);
        return -ENOENT;
    }
    g = group_create(gm);
    if (old) {
        /* The group's life and totals carry over a modify. */
        g->created = old->created;
        g->n_packets = __atomic_load_n(&old->n_packets, __ATOMIC_RELAXED);
        g->n_bytes = __atomic_load_n(&old->n_bytes, __ATOMIC_RELAXED);
    }
    pthread_rwlock_wrlock(&p->rwlock);
    if (old) {
        hmap_remove(&p->groups, &old->node);
    }
    hmap_insert(&p->groups, &g->node, hash_int(gm->group_id, 0));
    pthread_rwlock_unlock(&p->rwlock);

    if (old) {
        ofproto_revalidate(p);
        ofproto_group_unref(old);
    }
    /* A new group changes no existing megaflow: no rule can name a group
     * that did not exist. */
    return 0;
}

static int
group_delete(struct ofproto *p, uint32_t group_id)
{
    struct group **victims = NULL;
    size_t n = 0;
    struct group *g;

    pthread_rwlock_wrlock(&p->rwlock);
    if (group_id == OFPG_ALL) {
        victims = xcalloc(hmap_count(&p->groups) + 1, sizeof *victims);
        HMAP_FOR_EACH_POP (g, node, &p->groups) {
            victims[n++] = g;
        }
    } else if ((g = ofproto_group_find(p, group_id)) != NULL) {
        victims = xmalloc(sizeof *victims);
        hmap_remove(&p->groups, &g->node);
        victims[n++] = g;
    }
    pthread_rwlock_unlock(&p->rwlock);

    if (n) {
        /* Revalidates, even when no rule used the group. */
        if (!ofproto_remove_group_rules(p, group_id)) {
            ofproto_revalidate(p);
        }
    }
    for (size_t i = 0; i < n; i++) {
        ofproto_group_unref(victims[i]);
    }
    free(victims);
    return 0;
}

int
ofproto_group_mod(struct ofproto *p, const struct ofp_group_mod *gm,
                  char **errp)
{
    if (errp) {
        *errp = NULL;
    }
    switch (gm->command) {
    case OFPGC_ADD:
    case OFPGC_MODIFY:
    case OFPGC_ADD_OR_MOD:
        return group_add_or_modify(p, gm, errp);
    case OFPGC_DELETE:
        return group_delete(p, gm->group_id);
    }
    set_error(errp, "unknown group mod command %d", (int) gm->command);
    return -EINVAL;
}

static int
cmp_groups(const void *a_, const void *b_)
{
    const struct group *const *a = a_, *const *b = b_;
    uint32_t x = (*a)->desc.group_id, y = (*b)->desc.group_id;

    return x < y ? -1 : x > y;
}

size_t
ofproto_dump_groups(struct ofproto *p, uint32_t group_id,
                    ofproto_group_cb *cb, void *aux)
{
    size_t n = 0, cap = hmap_count(&p->groups);
    struct group **groups = xcalloc(cap + 1, sizeof *groups);
    long long now = time_msec();
    struct group *g;

    /* Final counters of megaflows that used the groups. */
    ofproto_collect_stats(p);
    HMAP_FOR_EACH (g, node, &p->groups) {
        if (group_id == OFPG_ALL || g->desc.group_id == group_id) {
            groups[n++] = g;
        }
    }
    qsort(groups, n, sizeof *groups, cmp_groups);
    for (size_t i = 0; i < n; i++) {
        struct ofp_group_stats gs;
        size_t nb = groups[i]->desc.n_buckets;
        struct ofp_bucket_stats *bs = xcalloc(nb + 1, sizeof *bs);

        g = groups[i];
        for (size_t k = 0; k < nb; k++) {
            bs[k].packet_count = __atomic_load_n(
                &g->bucket_stats[k].packet_count, __ATOMIC_RELAXED);
            bs[k].byte_count = __atomic_load_n(
                &g->bucket_stats[k].byte_count, __ATOMIC_RELAXED);
        }
        gs = (struct ofp_group_stats) {
            .group_id = g->desc.group_id,
            .ref_count = ofproto_group_rule_count(p, g->desc.group_id),
            .packet_count = __atomic_load_n(&g->n_packets, __ATOMIC_RELAXED),
            .byte_count = __atomic_load_n(&g->n_bytes, __ATOMIC_RELAXED),
            .duration_msec = now - g->created,
            .n_buckets = nb,
            .buckets = bs,
        };
        cb(aux, &g->desc, &gs);
        free(bs);
    }
    free(groups);
    return n;
}
