/* ofproto: see ofproto.h for the contract and ofproto-private.h for the
 * locking rules.
 *
 * Flow mods are applied under the table write lock with an undo journal:
 * every insertion, removal and modification is recorded, so a batch whose
 * Nth mod fails at apply time (check_overlap) is rolled back completely
 * before the lock is released.  Removed rules keep their table reference
 * in the journal until the commit, then drop it outside the lock.
 *
 * Megaflow cookies (struct mf_cookie) hold references to the rules an
 * xlate matched, so a megaflow's statistics can be credited to them even
 * after a flow mod removed them (the dpif reports a removed megaflow's
 * last statistics at the next collection). */
#include "ofproto.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include "dpif.h"
#include "dynamic-string.h"
#include "errors.h"
#include "hash.h"
#include "log.h"
#include "mac-learning.h"
#include "match.h"
#include "ofp-flow.h"
#include "ofp-port-map.h"
#include "ofpact.h"
#include "ofproto-private.h"
#include "util.h"
#include "xlate.h"

TS_LOG_DEFINE(ofproto);

#define OFPROTO_RUN_PERIOD_MS 1000
#define ODP_STUB_BYTES 4096


/* ---- Small helpers ------------------------------------------------------ */

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

static void
atomic_add_u64(uint64_t *p, uint64_t n)
{
    __atomic_fetch_add(p, n, __ATOMIC_RELAXED);
}

static uint64_t
atomic_read_u64(const uint64_t *p)
{
    return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static void
atomic_max_ll(long long *p, long long v)
{
    long long cur = __atomic_load_n(p, __ATOMIC_RELAXED);

    while (cur < v && !__atomic_compare_exchange_n(p, &cur, v, true,
                                                   __ATOMIC_RELAXED,
                                                   __ATOMIC_RELAXED)) {
        continue;
    }
}

static void
ofproto_wake(struct ofproto *p)
{
    void (*cb)(void *) = __atomic_load_n(&p->wakeup_cb, __ATOMIC_ACQUIRE);

    if (cb) {
        cb(p->wakeup_aux);
    }
}

/* ---- Rules -------------------------------------------------------------- */

void
ofproto_rule_ref(struct rule *rule)
{
    __atomic_fetch_add(&rule->refcount, 1, __ATOMIC_RELAXED);
}

/* Rule storage: one allocation per rule holds the struct, then its
 * match words (cls_rule_init_in()), then the action list it was created
 * with.  A modify replaces 'ofpacts' with a separate allocation; only
 * such lists are freed. */
static const void *
rule_inline_ofpacts(const struct rule *rule)
{
    return (const uint64_t *) (rule + 1)
           + 2 * minimatch_n_words(&rule->cr.match);
}

static void
rule_free_ofpacts(const struct rule *rule, struct ofpact *ofpacts)
{
    if ((const void *) ofpacts != rule_inline_ofpacts(rule)) {
        free(ofpacts);
    }
}

void
ofproto_rule_unref(struct rule *rule)
{
    if (rule && __atomic_sub_fetch(&rule->refcount, 1, __ATOMIC_ACQ_REL)
                == 0) {
        cls_rule_destroy(&rule->cr);
        rule_free_ofpacts(rule, rule->ofpacts);
        free(rule);
    }
}

/* 'p' NULL: no sequence number nor times yet (a bundle's rule, given
 * them when it is committed). */
static struct rule *
rule_create(struct ofproto *p, const struct ofp_flow_mod *fm,
            uint8_t table_id)
{
    size_t n_words = cls_rule_storage_words(&fm->match);
    size_t acts_ofs = sizeof(struct rule) + n_words * sizeof(uint64_t);
    struct rule *rule = xmalloc(acts_ofs + fm->ofpacts.size);
    long long now = p ? time_msec() : 0;

    memset(rule, 0, sizeof *rule);
    cls_rule_init_in(&rule->cr, &fm->match, fm->priority,
                     (uint64_t *) (rule + 1));
    rule->table_id = table_id;
    rule->cookie = fm->new_cookie;
    rule->idle_timeout = fm->idle_timeout;
    rule->hard_timeout = fm->hard_timeout;
    rule->importance = fm->importance;
    rule->flags = fm->flags;
    rule->ofpacts_len = fm->ofpacts.size;
    if (fm->ofpacts.size) {
        rule->ofpacts = (struct ofpact *) (void *) ((char *) rule + acts_ofs);
        ts_assert((const void *) rule->ofpacts == rule_inline_ofpacts(rule));
        memcpy(rule->ofpacts, fm->ofpacts.data, fm->ofpacts.size);
    } else {
        rule->ofpacts = NULL;
    }
    rule->created = rule->modified = rule->used = now;
    rule->seq = p ? p->next_rule_seq++ : 0;
    rule->refcount = 1;         /* the table's */
    return rule;
}

static void
rule_to_stats(const struct rule *rule, long long now,
              struct ofp_flow_stats *fs)
{
    long long used = __atomic_load_n(&rule->used, __ATOMIC_RELAXED);

    memset(fs, 0, sizeof *fs);
    fs->table_id = rule->table_id;
    fs->priority = rule->cr.priority;
    fs->cookie = rule->cookie;
    fs->duration_msec = now - rule->created;
    fs->idle_timeout = rule->idle_timeout;
    fs->hard_timeout = rule->hard_timeout;
    fs->importance = rule->importance;
    fs->flags = rule->flags;
    fs->idle_age_msec = now - used;
    fs->n_packets = atomic_read_u64(&rule->n_packets);
    fs->n_bytes = atomic_read_u64(&rule->n_bytes);
    cls_rule_get_match(&rule->cr, &fs->match);
    fs->ofpacts = rule->ofpacts;
    fs->ofpacts_len = rule->ofpacts_len;
}

static void
rule_credit(struct rule *rule, uint64_t n_packets, uint64_t n_bytes,
            long long used)
{
    if (!(rule->flags & OFPFF_NO_PKT_COUNTS)) {
        atomic_add_u64(&rule->n_packets, n_packets);
    }
    if (!(rule->flags & OFPFF_NO_BYT_COUNTS)) {
        atomic_add_u64(&rule->n_bytes, n_bytes);
    }
    if (used) {
        atomic_max_ll(&rule->used, used);
    }
}

static bool
rule_cookie_matches(const struct rule *rule, uint64_t cookie, uint64_t mask)
{
    return (rule->cookie & mask) == (cookie & mask);
}

/* ---- Tables and ports --------------------------------------------------- */

static struct oftable *
table_get(struct ofproto *p, uint8_t table_id)
{
    if (!p->tables[table_id]) {
        p->tables[table_id] = xzalloc(sizeof *p->tables[table_id]);
        classifier_init(&p->tables[table_id]->cls);
    }
    return p->tables[table_id];
}

const struct ofport *
ofproto_port_find(const struct ofproto *p, uint32_t port_no)
{
    const struct ofport *port;

    HMAP_FOR_EACH_WITH_HASH (port, node, hash_int(port_no, 0), &p->ports) {
        if (port->port_no == port_no) {
            return port;
        }
    }
    return NULL;
}

static int
cmp_u32(const void *a_, const void *b_)
{
    uint32_t a = *(const uint32_t *) a_, b = *(const uint32_t *) b_;

    return a < b ? -1 : a > b;
}

/* Write lock held. */
static void
rebuild_flood_ports(struct ofproto *p)
{
    const struct ofport *port;
    size_t n = 0;

    free(p->flood_ports);
    p->flood_ports = xcalloc(hmap_count(&p->ports) + 1,
                             sizeof *p->flood_ports);
    HMAP_FOR_EACH (port, node, &p->ports) {
        p->flood_ports[n++] = port->port_no;
    }
    qsort(p->flood_ports, n, sizeof *p->flood_ports, cmp_u32);
    p->n_flood_ports = n;
}

int
ofproto_port_added(struct ofproto *p, uint32_t port_no, const char *name)
{
    struct ofport *port;

    if (ofproto_port_find(p, port_no)) {
        return -EEXIST;
    }
    port = xzalloc(sizeof *port);
    port->port_no = port_no;
    port->name = xstrdup(name ? name : "");
    pthread_rwlock_wrlock(&p->rwlock);
    hmap_insert(&p->ports, &port->node, hash_int(port_no, 0));
    rebuild_flood_ports(p);
    pthread_rwlock_unlock(&p->rwlock);
    ofproto_revalidate(p);
    return 0;
}

int
ofproto_port_removed(struct ofproto *p, uint32_t port_no)
{
    struct ofport *port = (struct ofport *) ofproto_port_find(p, port_no);

    if (!port) {
        return -ENOENT;
    }
    pthread_rwlock_wrlock(&p->rwlock);
    hmap_remove(&p->ports, &port->node);
    rebuild_flood_ports(p);
    pthread_rwlock_unlock(&p->rwlock);
    free(port->name);
    free(port);
    mac_learning_flush_port(p->ml, port_no);
    ofproto_revalidate(p);
    return 0;
}

uint32_t
ofproto_port_by_name(const struct ofproto *p, const char *name)
{
    const struct ofport *port;

    HMAP_FOR_EACH (port, node, &p->ports) {
        if (!strcmp(port->name, name)) {
            return port->port_no;
        }
    }
    return OFPP_NONE;
}

/* ---- Megaflow cookies, upcalls, statistics ------------------------------ */

/* The rules (one reference each) are followed by 'n_groups' group uses
 * (one group reference each).  'recirc_ids' are the recirculation ids the
 * megaflow's actions name, one reference each: they stay valid for as
 * long as a packet can take the megaflow.  A cookie that only carries
 * recirculation references (an uncached upcall) is returned with
 * install false: the dpif hands it back after the packet ran. */
struct mf_cookie {
    uint32_t recirc_ids[XLATE_MAX_RECIRC_IDS];
    size_t n_recirc_ids;
    bool has_learn;
    struct eth_addr learn_mac;
    uint16_t learn_vlan;
    uint32_t learn_port;
    size_t n_rules;
    size_t n_groups;
    struct rule *rules[];
};

static struct xlate_group_use *
mf_cookie_groups(const struct mf_cookie *c)
{
    return (struct xlate_group_use *) (void *) &c->rules[c->n_rules];
}

/* Takes over the recirculation references of 'xo'; with 'rules' false
 * the cookie credits no rule, group or MAC entry. */
static struct mf_cookie *
mf_cookie_create(struct xlate_out *xo, bool rules)
{
    size_t n_rules = rules ? xo->n_rules : 0;
    size_t n_groups = rules ? xo->n_groups : 0;
    struct mf_cookie *c;

    /* The upcall path allocates only this cookie; if memory is short the
     * packet still goes, uncached. */
    c = malloc(sizeof *c + n_rules * sizeof c->rules[0]
               + n_groups * sizeof xo->groups[0]);
    if (!c) {
        return NULL;
    }
    memcpy(c->recirc_ids, xo->recirc_ids,
           xo->n_recirc_ids * sizeof xo->recirc_ids[0]);
    c->n_recirc_ids = xo->n_recirc_ids;
    xo->n_recirc_ids = 0;
    if (!rules) {
        c->has_learn = false;
        c->n_rules = c->n_groups = 0;
        return c;
    }
    c->has_learn = xo->has_learn;
    c->learn_mac = xo->learn_mac;
    c->learn_vlan = xo->learn_vlan;
    c->learn_port = xo->learn_port;
    c->n_rules = xo->n_rules;
    c->n_groups = xo->n_groups;
    for (size_t i = 0; i < xo->n_rules; i++) {
        c->rules[i] = xo->rules[i];
        ofproto_rule_ref(xo->rules[i]);
    }
    for (size_t i = 0; i < xo->n_groups; i++) {
        mf_cookie_groups(c)[i] = xo->groups[i];
        ofproto_group_ref(xo->groups[i].group);
    }
    return c;
}

static void
group_credit(const struct xlate_group_use *u, uint64_t n_packets,
             uint64_t n_bytes)
{
    struct group *g = u->group;

    if (u->first) {
        atomic_add_u64(&g->n_packets, n_packets);
        atomic_add_u64(&g->n_bytes, n_bytes);
    }
    if (u->bucket < g->desc.n_buckets) {
        atomic_add_u64(&g->bucket_stats[u->bucket].packet_count, n_packets);
        atomic_add_u64(&g->bucket_stats[u->bucket].byte_count, n_bytes);
    }
}

static int
ofproto_upcall(void *aux, struct dpif_upcall *up)
{
    struct ofproto *p = aux;
    struct xlate_out xo = { .odp = &up->actions, .wc = &up->wc };
    struct xlate_in xin = {
        .ofproto = p, .flow = up->flow, .may_learn = true,
    };
    uint32_t size = up->packet ? dp_packet_size(up->packet) : 0;
    long long now = time_msec();
    int error;

    atomic_add_u64(&p->stats.n_upcalls, 1);
    pthread_rwlock_rdlock(&p->rwlock);
    error = xlate_actions(&xin, &xo);
    if (!error) {
        struct mf_cookie *c = NULL;

        up->install = false;
        if (!xo.too_many_rules) {
            c = mf_cookie_create(&xo, true);
            up->install = c != NULL;
        } else if (xo.n_recirc_ids) {
            c = mf_cookie_create(&xo, false);
            up->install = false;
        }
        up->cookie = c;
        if (!up->install) {
            /* An installed megaflow counts this packet in its own
             * statistics; an uncached one is credited here. */
            for (size_t i = 0; i < xo.n_rules; i++) {
                rule_credit(xo.rules[i], 1, size, now);
            }
            for (size_t i = 0; i < xo.n_groups; i++) {
                group_credit(&xo.groups[i], 1, size);
            }
        }
    }
    pthread_rwlock_unlock(&p->rwlock);
    /* Left only on error or without memory for a cookie: the packet may
     * then meet an unknown recirculation id and be dropped. */
    xlate_out_release_recirc(p->recirc, &xo);

    if (error) {
        atomic_add_u64(&p->stats.n_upcall_errors, 1);
        return error;
    }
    if (xo.mac_changed) {
        __atomic_store_n(&p->need_revalidate, true, __ATOMIC_RELEASE);
        ofproto_wake(p);
    }
    return 0;
}

/* dpif_stats_cb: main thread. */
static void
ofproto_stats_cb(void *aux, void *cookie, const struct dpif_flow_stats *st,
                 bool removed)
{
    struct ofproto *p = aux;
    struct mf_cookie *c = cookie;

    if (!c) {
        return;
    }
    if (st->n_packets) {
        for (size_t i = 0; i < c->n_rules; i++) {
            rule_credit(c->rules[i], st->n_packets, st->n_bytes, st->used);
        }
        for (size_t i = 0; i < c->n_groups; i++) {
            group_credit(&mf_cookie_groups(c)[i], st->n_packets,
                         st->n_bytes);
        }
        if (c->has_learn) {
            /* Traffic that never upcalls still keeps its station alive
             * (and relearns it if it expired).  It never moves one: these
             * packets may predate a move that an upcall just learned. */
            enum mac_learn_result r = mac_learning_refresh(
                p->ml, c->learn_mac, c->learn_vlan, c->learn_port);

            if (r == MAC_LEARN_NEW) {
                p->need_revalidate = true;
            }
        }
    }
    if (removed) {
        for (size_t i = 0; i < c->n_recirc_ids; i++) {
            xlate_recirc_unref(p->recirc, c->recirc_ids[i]);
        }
        for (size_t i = 0; i < c->n_rules; i++) {
            ofproto_rule_unref(c->rules[i]);
        }
        for (size_t i = 0; i < c->n_groups; i++) {
            ofproto_group_unref(mf_cookie_groups(c)[i].group);
        }
        free(c);
    }
}

void
ofproto_collect_stats(struct ofproto *p)
{
    dpif_collect_stats(p->dpif, ofproto_stats_cb, p);
}

static bool
wc_is_subset(const struct flow_wildcards *a, const struct flow_wildcards *b)
{
    const uint64_t *aw = flow_u64(&a->masks), *bw = flow_u64(&b->masks);

    for (size_t i = 0; i < FLOW_U64S; i++) {
        if (aw[i] & ~bw[i]) {
            return false;
        }
    }
    return true;
}

static bool
group_uses_equal(const struct xlate_group_use *a,
                 const struct xlate_group_use *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (a[i].group != b[i].group || a[i].bucket != b[i].bucket
            || a[i].first != b[i].first) {
            return false;
        }
    }
    return true;
}

/* dpif_revalidate_cb: keeps a megaflow only if a fresh xlate of its key
 * gives the same actions, needs no bit the megaflow does not match on,
 * credits the same rules, and does not hide a station that must be
 * relearned. */
static bool
ofproto_revalidate_cb(void *aux, const struct flow *key,
                      const struct flow_wildcards *mask,
                      const void *actions, size_t actions_len, void *cookie)
{
    struct ofproto *p = aux;
    const struct mf_cookie *c = cookie;
    uint64_t stub[ODP_STUB_BYTES / 8];
    struct flow_wildcards wc;
    struct dpa_buf odp;
    struct xlate_out xo = { .odp = &odp, .wc = &wc };
    struct xlate_in xin = { .ofproto = p, .flow = key };
    bool keep;
    int error;

    DPA_BUF_STUB(&odp, stub);
    flow_wildcards_init_catchall(&wc);
    pthread_rwlock_rdlock(&p->rwlock);
    error = xlate_actions(&xin, &xo);
    pthread_rwlock_unlock(&p->rwlock);
    /* Ids the megaflow's actions name are held by its cookie, so these
     * references were never the last ones. */
    xlate_out_release_recirc(p->recirc, &xo);

    keep = !error && !xo.too_many_rules && !xo.learn_stale
           && odp.size == actions_len
           && !memcmp(odp.data, actions, actions_len)
           && wc_is_subset(&wc, mask)
           && xo.n_rules == (c ? c->n_rules : 0)
           && (!xo.n_rules
               || !memcmp(xo.rules, c->rules,
                          xo.n_rules * sizeof xo.rules[0]))
           && xo.n_groups == (c ? c->n_groups : 0)
           && group_uses_equal(xo.groups, c ? mf_cookie_groups(c) : NULL,
                               xo.n_groups);
    if (!keep) {
        atomic_add_u64(&p->stats.n_megaflows_evicted, 1);
    }
    return keep;
}

/* Never called with the table lock held (see ofproto-private.h). */
void
ofproto_revalidate(struct ofproto *p)
{
    __atomic_store_n(&p->need_revalidate, false, __ATOMIC_RELAXED);
    atomic_add_u64(&p->stats.n_revalidations, 1);
    dpif_revalidate(p->dpif, ofproto_revalidate_cb, p);
}

/* ---- Packet-in ---------------------------------------------------------- */

/* dpif_userspace_cb: a worker (or the main thread, for packet-out). */
static void
ofproto_userspace_cb(void *aux, const struct dp_packet *packet,
                     const struct flow *flow, const struct dpa_userspace *u)
{
    struct ofproto *p = aux;
    bool queued = false;

    pthread_mutex_lock(&p->pin_mutex);
    if (p->pin_slots && p->pin_n < OFPROTO_PIN_SLOTS) {
        size_t i = (p->pin_head + p->pin_n) % OFPROTO_PIN_SLOTS;
        struct ofproto_pin_slot *s = &p->pin_slots[i];
        size_t len = dp_packet_size(packet);

        if (u->max_len < len) {
            len = u->max_len;
        }
        if (len > OFPROTO_PIN_MAX_LEN) {
            len = OFPROTO_PIN_MAX_LEN;
        }
        memcpy(s->data, dp_packet_data(packet), len);
        s->flow = *flow;
        s->pin = (struct ofproto_packet_in) {
            .packet = s->data,
            .len = len,
            .total_len = dp_packet_size(packet),
            .in_port = flow->in_port,
            .reason = u->reason & 0xff,
            .table_id = (u->reason >> 8) & 0xff,
            .cookie = u->cookie,
            .flow = &s->flow,
        };
        p->pin_n++;
        queued = true;
    }
    pthread_mutex_unlock(&p->pin_mutex);
    if (queued) {
        ofproto_wake(p);
    } else {
        atomic_add_u64(&p->stats.n_packet_in_dropped, 1);
    }
}

void
ofproto_set_packet_in_cb(struct ofproto *p, ofproto_packet_in_cb *cb,
                         void *aux)
{
    pthread_mutex_lock(&p->pin_mutex);
    if (cb && !p->pin_slots) {
        p->pin_slots = xcalloc(OFPROTO_PIN_SLOTS, sizeof *p->pin_slots);
    }
    p->pin_head = p->pin_n = 0;
    p->packet_in_cb = cb;
    p->packet_in_aux = aux;
    if (!cb) {
        free(p->pin_slots);
        p->pin_slots = NULL;
    }
    pthread_mutex_unlock(&p->pin_mutex);
}

void
ofproto_set_wakeup_cb(struct ofproto *p, void (*cb)(void *aux), void *aux)
{
    p->wakeup_aux = aux;
    __atomic_store_n(&p->wakeup_cb, cb, __ATOMIC_RELEASE);
}

/* Delivers queued packet-ins.  Workers only write the slot after the
 * queue's last one, so the head slot is stable until 'pin_n' drops. */
static void
deliver_packet_ins(struct ofproto *p)
{
    for (;;) {
        struct ofproto_pin_slot *s = NULL;

        pthread_mutex_lock(&p->pin_mutex);
        if (p->pin_n && p->pin_slots) {
            s = &p->pin_slots[p->pin_head];
        }
        pthread_mutex_unlock(&p->pin_mutex);
        if (!s) {
            return;
        }
        if (p->packet_in_cb) {
            p->packet_in_cb(p->packet_in_aux, &s->pin);
            atomic_add_u64(&p->stats.n_packet_in, 1);
        }
        pthread_mutex_lock(&p->pin_mutex);
        p->pin_head = (p->pin_head + 1) % OFPROTO_PIN_SLOTS;
        p->pin_n--;
        pthread_mutex_unlock(&p->pin_mutex);
    }
}

void
ofproto_set_flow_removed_cb(struct ofproto *p, ofproto_flow_removed_cb *cb,
                            void *aux)
{
    p->flow_removed_cb = cb;
    p->flow_removed_aux = aux;
}

/* ---- Flow mods ---------------------------------------------------------- */

enum journal_op { J_ADDED, J_REMOVED, J_MODIFIED };

/* J_MODIFIED: a rule's previous values. */
struct journal_old {
    struct ofpact *ofpacts;
    size_t ofpacts_len;
    uint64_t cookie;
    long long modified;
    uint64_t n_packets, n_bytes;
};

/* Small (32 bytes): a bundle of N adds journals N of them. */
struct journal_entry {
    enum journal_op op;
    struct rule *rule;
    struct oftable *table;
    struct journal_old *old;    /* J_MODIFIED only, owned */
};

struct journal {
    struct journal_entry *e;
    size_t n, allocated;
};

/* Makes room for 'n' entries, e.g. one per mod of a batch. */
static void
journal_reserve(struct journal *j, size_t n)
{
    if (n > j->allocated) {
        j->allocated = n;
        j->e = xrealloc(j->e, j->allocated * sizeof *j->e);
    }
}

static struct journal_entry *
journal_push(struct journal *j, enum journal_op op, struct oftable *t,
             struct rule *rule)
{
    struct journal_entry *e;

    if (j->n >= j->allocated) {
        j->allocated = j->allocated ? 2 * j->allocated : 8;
        j->e = xrealloc(j->e, j->allocated * sizeof *j->e);
    }
    e = &j->e[j->n++];
    memset(e, 0, sizeof *e);
    e->op = op;
    e->table = t;
    e->rule = rule;
    return e;
}

/* Write lock held.  Reverts everything in reverse order. */
static void
journal_undo(struct journal *j)
{
    while (j->n) {
        struct journal_entry *e = &j->e[--j->n];

        switch (e->op) {
        case J_ADDED:
            classifier_remove(&e->table->cls, &e->rule->cr);
            ofproto_rule_unref(e->rule);
            break;
        case J_REMOVED:
            classifier_insert(&e->table->cls, &e->rule->cr);
            break;
        case J_MODIFIED:
            rule_free_ofpacts(e->rule, e->rule->ofpacts);
            e->rule->ofpacts = e->old->ofpacts;
            e->rule->ofpacts_len = e->old->ofpacts_len;
            e->rule->cookie = e->old->cookie;
            e->rule->modified = e->old->modified;
            e->rule->n_packets = e->old->n_packets;
            e->rule->n_bytes = e->old->n_bytes;
            free(e->old);
            break;
        }
    }
    free(j->e);
}

/* After the write lock is released: drops the references of removed rules
 * and frees replaced action lists.  Returns whether anything changed. */
static bool
journal_commit(struct journal *j)
{
    bool changed = j->n > 0;

    for (size_t i = 0; i < j->n; i++) {
        struct journal_entry *e = &j->e[i];

        if (e->op == J_REMOVED) {
            ofproto_rule_unref(e->rule);
        } else if (e->op == J_MODIFIED) {
            rule_free_ofpacts(e->rule, e->old->ofpacts);
            free(e->old);
        }
    }
    free(j->e);
    return changed;
}

static void
table_remove_rule(struct journal *j, struct oftable *t, struct rule *rule)
{
    classifier_remove(&t->cls, &rule->cr);
    journal_push(j, J_REMOVED, t, rule);
}

static const char *
command_name(enum ofp_flow_mod_command cmd)
{
    switch (cmd) {
    case OFPFC_ADD: return "add";
    case OFPFC_MODIFY: return "modify";
    case OFPFC_MODIFY_STRICT: return "modify_strict";
    case OFPFC_DELETE: return "delete";
    case OFPFC_DELETE_STRICT: return "delete_strict";
    }
    return "unknown";
}

/* Checks that xlate can run 'ofpacts' for a rule in 'table_id' (255: no
 * table, e.g. packet-out), in 'p' (groups must exist).  Returns NULL or a
 * malloc'ed error. */
char *
ofproto_check_ofpacts(const struct ofproto *p, const struct ofpact *ofpacts,
                      size_t len, uint8_t table_id)
{
    const struct ofpact *a;

    OFPACT_FOR_EACH (a, ofpacts, len) {
        switch ((enum ofpact_type) a->type) {
        case OFPACT_OUTPUT:
            if (ofpact_get_OUTPUT(a)->port >= OFPP_MAX) {
                return xasprintf("output to reserved port %#"PRIx32
                                 " must use its own action",
                                 ofpact_get_OUTPUT(a)->port);
            }
            break;
        case OFPACT_NORMAL:
        case OFPACT_FLOOD:
        case OFPACT_ALL:
        case OFPACT_IN_PORT:
        case OFPACT_LOCAL:
        case OFPACT_CONTROLLER:
        case OFPACT_NOTE:
        case OFPACT_RESUBMIT:
        case OFPACT_SET_FIELD:
        case OFPACT_LOAD:
        case OFPACT_MOVE:
        case OFPACT_OUTPUT_REG:
        case OFPACT_PUSH_VLAN:
        case OFPACT_POP_VLAN:
        case OFPACT_SET_VLAN_VID:
        case OFPACT_SET_VLAN_PCP:
        case OFPACT_SET_ETH_SRC:
        case OFPACT_SET_ETH_DST:
        case OFPACT_SET_IPV4_SRC:
        case OFPACT_SET_IPV4_DST:
        case OFPACT_SET_IP_DSCP:
        case OFPACT_SET_IP_ECN:
        case OFPACT_SET_IP_TTL:
        case OFPACT_SET_L4_SRC_PORT:
        case OFPACT_SET_L4_DST_PORT:
        case OFPACT_DEC_TTL:
        case OFPACT_CT_CLEAR:
            break;
        case OFPACT_CT: {
            char *err = xlate_check_ct(ofpact_get_CT(a));

            if (err) {
                return err;
            }
            break;
        }
        case OFPACT_NAT:
            return xasprintf("nat must be inside ct(exec(...)) or "
                             "ct(...,nat)");
        case OFPACT_GROUP: {
            uint32_t id = ofpact_get_GROUP(a)->group_id;

            if (!ofproto_group_find(p, id)) {
                return xasprintf("group %"PRIu32" does not exist", id);
            }
            break;
        }
        case OFPACT_CLONE: {
            size_t nested_len;
            const struct ofpact *nested = ofpact_nested(a, &nested_len);
            char *err = ofproto_check_ofpacts(p, nested, nested_len,
                                              table_id);
            if (err) {
                return err;
            }
            break;
        }
        case OFPACT_GOTO_TABLE: {
            uint8_t t = ofpact_get_GOTO_TABLE(a)->table_id;

            if (t >= OFPROTO_N_TABLES || (table_id != 255 && t <= table_id)) {
                return xasprintf("goto_table:%u must name a later table "
                                 "than %u", t, table_id);
            }
            break;
        }
        default:
            return xasprintf("action '%s' is not supported yet",
                             ofpact_name((enum ofpact_type) a->type));
        }
    }
    return NULL;
}

bool
ofproto_ofpacts_use_group(const struct ofpact *ofpacts, size_t len,
                          uint32_t group_id)
{
    const struct ofpact *a;

    OFPACT_FOR_EACH (a, ofpacts, len) {
        if (a->type == OFPACT_GROUP
            && (group_id == OFPG_ALL
                || ofpact_get_GROUP(a)->group_id == group_id)) {
            return true;
        }
        if (a->type == OFPACT_CLONE) {
            size_t nested_len;
            const struct ofpact *nested = ofpact_nested(a, &nested_len);

            if (ofproto_ofpacts_use_group(nested, nested_len, group_id)) {
                return true;
            }
        }
    }
    return false;
}

char *
ofproto_check_ct_prereqs(const struct ofpact *ofpacts, size_t len,
                         const struct match *match)
{
    bool is_ip = match->wc.masks.dl_type == UINT16_MAX
                 && (match->flow.dl_type == htons(ETH_TYPE_IP)
                     || match->flow.dl_type == htons(ETH_TYPE_IPV6));
    const struct ofpact *a;

    OFPACT_FOR_EACH (a, ofpacts, len) {
        if (a->type == OFPACT_CT) {
            const struct ofpact_conntrack *ct = ofpact_get_CT(a);

            if (!is_ip) {
                return xstrdup("ct requires ip or ipv6 in the match");
            }
            /* As OVS: a helper needs its protocol in the match. */
            uint8_t proto = ct->alg == 21 ? IPPROTO_TCP
                            : ct->alg == 69 ? IPPROTO_UDP : 0;
            if (proto && (match->wc.masks.nw_proto != UINT8_MAX
                          || match->flow.nw_proto != proto)) {
                return xasprintf("ct(alg=%s) requires %s in the match",
                                 proto == IPPROTO_TCP ? "ftp" : "tftp",
                                 proto == IPPROTO_TCP ? "tcp" : "udp");
            }
            if (ct->flags & NX_CT_F_COMMIT
                && match->wc.masks.ct_state & match->flow.ct_state
                   & CS_INVALID) {
                return xstrdup("ct(commit) is not allowed on a flow "
                               "matching ct_state=+inv");
            }
        } else if (a->type == OFPACT_CLONE) {
            size_t nested_len;
            const struct ofpact *nested = ofpact_nested(a, &nested_len);
            char *err = ofproto_check_ct_prereqs(nested, nested_len,
                                                 match);

            if (err) {
                return err;
            }
        }
    }
    return NULL;
}

/* Validates 'fm' without looking at the tables.  Returns 0, or a negative
 * error with a malloc'ed message in '*msg'. */
static int
flow_mod_validate(const struct ofproto *p, const struct ofp_flow_mod *fm,
                  char **msg)
{
    const struct ofpact *acts = (const struct ofpact *) (const void *)
                                fm->ofpacts.data;

    switch (fm->command) {
    case OFPFC_ADD:
    case OFPFC_MODIFY:
    case OFPFC_MODIFY_STRICT:
        if (fm->command == OFPFC_ADD && fm->table_id >= OFPROTO_N_TABLES) {
            *msg = xasprintf("table %u is not valid for add",
                             fm->table_id);
            return -TS_ERR_BAD_TABLE;
        }
        *msg = match_check_prereqs(&fm->match);
        if (*msg) {
            return -TS_ERR_BAD_MATCH;
        }
        *msg = ofproto_check_ofpacts(p, acts, fm->ofpacts.size,
                                     fm->command == OFPFC_ADD
                                     ? fm->table_id : 0);
        if (*msg) {
            return -TS_ERR_BAD_ACTION;
        }
        *msg = ofpacts_check(acts, fm->ofpacts.size, &fm->match);
        if (*msg) {
            return -TS_ERR_BAD_ACTION;
        }
        *msg = ofproto_check_ct_prereqs(acts, fm->ofpacts.size,
                                        &fm->match);
        if (*msg) {
            return -TS_ERR_BAD_ACTION;
        }
        break;
    case OFPFC_DELETE:
    case OFPFC_DELETE_STRICT:
        break;
    default:
        *msg = xasprintf("unknown flow mod command %d", (int) fm->command);
        return -EINVAL;
    }
    if (fm->priority < 0 || fm->priority > UINT16_MAX) {
        *msg = xasprintf("priority %d out of range (0 to 65535)",
                         fm->priority);
        return -EINVAL;
    }
    return 0;
}

/* Write lock held.  Inserts 'rule' (consumed: on error it is freed),
 * built by rule_create() for an add with 'flags' in its table. */
static int
flow_mod_add_rule(struct ofproto *p, struct rule *rule, uint16_t flags,
                  struct journal *j, char **errp)
{
    struct oftable *t = table_get(p, rule->table_id);
    struct cls_rule *old;

    if (flags & OFPFF_CHECK_OVERLAP
        && classifier_rule_overlaps(&t->cls, &rule->cr)) {
        set_error(errp, "new flow overlaps an existing flow of priority %d "
                  "in table %u", rule->cr.priority, rule->table_id);
        ofproto_rule_unref(rule);
        return -EEXIST;
    }
    /* A replaced rule's counters and duration restart (OpenFlow 1.0
     * add semantics, what ovs-ofctl add-flow shows by default). */
    old = classifier_replace(&t->cls, &rule->cr);
    if (old) {
        journal_push(j, J_REMOVED, t, CONTAINER_OF(old, struct rule, cr));
    }
    journal_push(j, J_ADDED, t, rule);
    return 0;
}

static int
flow_mod_add(struct ofproto *p, const struct ofp_flow_mod *fm,
             struct journal *j, char **errp)
{
    return flow_mod_add_rule(p, rule_create(p, fm, fm->table_id),
                             fm->flags, j, errp);
}

static void
rule_modify(struct rule *rule, const struct ofp_flow_mod *fm,
            struct oftable *t, struct journal *j, long long now)
{
    struct journal_entry *e = journal_push(j, J_MODIFIED, t, rule);

    e->old = xmalloc(sizeof *e->old);
    e->old->ofpacts = rule->ofpacts;
    e->old->ofpacts_len = rule->ofpacts_len;
    e->old->cookie = rule->cookie;
    e->old->modified = rule->modified;
    e->old->n_packets = rule->n_packets;
    e->old->n_bytes = rule->n_bytes;

    rule->ofpacts_len = fm->ofpacts.size;
    rule->ofpacts = fm->ofpacts.size
                    ? xmemdup(fm->ofpacts.data, fm->ofpacts.size) : NULL;
    if (fm->modify_cookie) {
        rule->cookie = fm->new_cookie;
    }
    if (fm->flags & OFPFF_RESET_COUNTS) {
        __atomic_store_n(&rule->n_packets, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&rule->n_bytes, 0, __ATOMIC_RELAXED);
    }
    rule->modified = now;
}

static bool
rule_selected(const struct rule *rule, const struct ofp_flow_mod *fm,
              bool check_out_port)
{
    return rule_cookie_matches(rule, fm->cookie, fm->cookie_mask)
           && (!check_out_port || fm->out_port == OFPP_NONE
               || ofpacts_output_to_port(rule->ofpacts, rule->ofpacts_len,
                                         fm->out_port));
}

/* Calls 'cb' for each rule 'fm' selects (loose or strict, in its table or
 * all tables).  'cb' may remove the rule it is given. */
static size_t
flow_mod_for_each(struct ofproto *p, const struct ofp_flow_mod *fm,
                  bool strict, bool check_out_port,
                  void (*cb)(struct rule *, struct oftable *, void *aux),
                  void *aux)
{
    uint8_t lo = fm->table_id == OFP_TABLE_ALL ? 0 : fm->table_id;
    uint8_t hi = fm->table_id == OFP_TABLE_ALL ? OFPROTO_N_TABLES - 1
                                               : fm->table_id;
    size_t n = 0;

    for (unsigned int i = lo; i <= hi && i < OFPROTO_N_TABLES; i++) {
        struct oftable *t = p->tables[i];
        struct rule *rule;

        if (!t) {
            continue;
        }
        if (strict) {
            const struct cls_rule *cr = classifier_find_exactly(
                &t->cls, &fm->match, fm->priority);

            rule = cr ? CONTAINER_OF(cr, struct rule, cr) : NULL;
            if (rule && rule_selected(rule, fm, check_out_port)) {
                cb(rule, t, aux);
                n++;
            }
            continue;
        }
        CLS_FOR_EACH_TARGET (rule, cr, &t->cls, &fm->match) {
            if (rule_selected(rule, fm, check_out_port)) {
                cb(rule, t, aux);
                n++;
            }
        }
    }
    return n;
}

struct modify_aux {
    const struct ofp_flow_mod *fm;
    struct journal *j;
    long long now;
};

static void
modify_cb(struct rule *rule, struct oftable *t, void *aux_)
{
    struct modify_aux *aux = aux_;

    rule_modify(rule, aux->fm, t, aux->j, aux->now);
}

static void
delete_cb(struct rule *rule, struct oftable *t, void *j)
{
    table_remove_rule(j, t, rule);
}

/* Write lock held.  Applies one validated mod, journaling every change. */
static int
flow_mod_apply(struct ofproto *p, const struct ofp_flow_mod *fm,
               struct journal *j, char **errp)
{
    bool strict = fm->command == OFPFC_MODIFY_STRICT
                  || fm->command == OFPFC_DELETE_STRICT;

    switch (fm->command) {
    case OFPFC_ADD:
        return flow_mod_add(p, fm, j, errp);
    case OFPFC_MODIFY:
    case OFPFC_MODIFY_STRICT: {
        struct modify_aux aux = { fm, j, time_msec() };

        if (!flow_mod_for_each(p, fm, strict, false, modify_cb, &aux)
            && !fm->cookie_mask && fm->table_id < OFPROTO_N_TABLES) {
            /* OpenFlow 1.0: a modify that matches nothing adds. */
            struct ofp_flow_mod add = *fm;

            add.command = OFPFC_ADD;
            if (!fm->modify_cookie) {
                add.new_cookie = 0;
            }
            return flow_mod_add(p, &add, j, errp);
        }
        return 0;
    }
    case OFPFC_DELETE:
    case OFPFC_DELETE_STRICT:
        flow_mod_for_each(p, fm, strict, true, delete_cb, j);
        return 0;
    }
    set_error(errp, "unknown flow mod command %d", (int) fm->command);
    return -EINVAL;
}

int
ofproto_flow_mod_batch(struct ofproto *p, const struct ofp_flow_mod *mods,
                       size_t n, char **errp)
{
    struct journal j = { NULL, 0, 0 };
    char *err = NULL;
    int error = 0;

    if (errp) {
        *errp = NULL;
    }
    for (size_t i = 0; i < n; i++) {
        error = flow_mod_validate(p, &mods[i], &err);
        if (error) {
            if (n > 1) {
                set_error(errp, "flow mod %zu (%s): %s", i + 1,
                          command_name(mods[i].command), err);
            } else {
                set_error(errp, "%s", err);
            }
            free(err);
            return error;
        }
    }

    journal_reserve(&j, n);
    pthread_rwlock_wrlock(&p->rwlock);
    for (size_t i = 0; i < n && !error; i++) {
        error = flow_mod_apply(p, &mods[i], &j, &err);
        if (error) {
            if (n > 1) {
                set_error(errp, "flow mod %zu (%s): %s", i + 1,
                          command_name(mods[i].command),
                          err ? err : ts_strerror(error));
            } else {
                set_error(errp, "%s", err ? err : ts_strerror(error));
            }
            free(err);
        }
    }
    if (error) {
        journal_undo(&j);
        pthread_rwlock_unlock(&p->rwlock);
        return error;
    }
    pthread_rwlock_unlock(&p->rwlock);

    if (journal_commit(&j)) {
        ofproto_revalidate(p);
    }
    return 0;
}

int
ofproto_flow_mod(struct ofproto *p, const struct ofp_flow_mod *fm,
                 char **errp)
{
    return ofproto_flow_mod_batch(p, fm, 1, errp);
}

/* ---- Bundles built as they arrive --------------------------------------
 *
 * An add is validated and turned into its rule (one allocation: the
 * struct, its minimatch, its actions) when it arrives, so the commit only
 * inserts: no copy of the 600-byte flow-mod is kept per flow, and most
 * of the work overlaps the client still sending.  Other commands keep a
 * copy of their flow-mod.  Rules wait outside every table, owned by the
 * bundle, until the commit. */

struct ofproto_bundle_entry {
    struct rule *rule;          /* add: the rule to insert, or NULL */
    struct ofp_flow_mod *fm;    /* else: owned copy */
    uint16_t flags;             /* add: the mod's OFPFF_* */
    bool uses_group;            /* group existence is checked again */
};

struct ofproto_bundle {
    struct ofproto_bundle_entry *e;
    size_t n, allocated;
};

struct ofproto_bundle *
ofproto_bundle_create(void)
{
    return xzalloc(sizeof(struct ofproto_bundle));
}

static void
bundle_entries_free(struct ofproto_bundle *b)
{
    for (size_t i = 0; i < b->n; i++) {
        ofproto_rule_unref(b->e[i].rule);
        if (b->e[i].fm) {
            ofp_flow_mod_release(b->e[i].fm);
            free(b->e[i].fm);
        }
    }
    free(b->e);
    b->e = NULL;
    b->n = b->allocated = 0;
}

void
ofproto_bundle_destroy(struct ofproto_bundle *b)
{
    if (b) {
        bundle_entries_free(b);
        free(b);
    }
}

size_t
ofproto_bundle_count(const struct ofproto_bundle *b)
{
    return b->n;
}

int
ofproto_bundle_add(struct ofproto_bundle *b, const struct ofproto *p,
                   const struct ofp_flow_mod *fm, char **errp)
{
    const struct ofpact *acts = (const struct ofpact *) (const void *)
                                fm->ofpacts.data;
    char *err = NULL;
    int error;

    if (errp) {
        *errp = NULL;
    }
    error = flow_mod_validate(p, fm, &err);
    if (error) {
        set_error(errp, "%s", err);
        free(err);
        return error;
    }
    if (b->n == b->allocated) {
        b->allocated = b->allocated ? 2 * b->allocated : 64;
        b->e = xrealloc(b->e, b->allocated * sizeof *b->e);
    }

    struct ofproto_bundle_entry *e = &b->e[b->n++];
    memset(e, 0, sizeof *e);
    e->uses_group = ofproto_ofpacts_use_group(acts, fm->ofpacts.size,
                                              OFPG_ALL);
    if (fm->command == OFPFC_ADD) {
        /* No sequence number yet: the commit assigns it. */
        e->rule = rule_create(NULL, fm, fm->table_id);
        e->flags = fm->flags;
    } else {
        e->fm = xmemdup(fm, sizeof *fm);
        ofpacts_init(&e->fm->ofpacts);
        if (fm->ofpacts.size) {
            memcpy(ofpacts_put_uninit(&e->fm->ofpacts, fm->ofpacts.size),
                   fm->ofpacts.data, fm->ofpacts.size);
        }
    }
    return 0;
}

int
ofproto_bundle_commit(struct ofproto_bundle *b, struct ofproto *p,
                      char **errp)
{
    struct journal j = { NULL, 0, 0 };
    long long now = time_msec();
    char *err = NULL;
    int error = 0;
    size_t i;

    if (errp) {
        *errp = NULL;
    }
    /* Groups may have gone since the adds were checked. */
    for (i = 0; i < b->n; i++) {
        const struct ofproto_bundle_entry *e = &b->e[i];
        const struct ofpact *acts;
        size_t len;

        if (!e->uses_group) {
            continue;
        }
        acts = e->rule ? e->rule->ofpacts
                       : (const struct ofpact *) (const void *)
                         e->fm->ofpacts.data;
        len = e->rule ? e->rule->ofpacts_len : e->fm->ofpacts.size;
        err = ofproto_check_ofpacts(p, acts, len,
                                    e->rule ? e->rule->table_id : 0);
        if (err) {
            set_error(errp, "flow mod %zu (%s): %s", i + 1,
                      e->rule ? "add" : command_name(e->fm->command), err);
            free(err);
            return -TS_ERR_BAD_ACTION;
        }
    }

    journal_reserve(&j, b->n);
    pthread_rwlock_wrlock(&p->rwlock);
    for (i = 0; i < b->n && !error; i++) {
        struct ofproto_bundle_entry *e = &b->e[i];

        if (e->rule) {
            struct rule *rule = e->rule;

            e->rule = NULL;     /* the table's now, or freed on error */
            rule->created = rule->modified = rule->used = now;
            rule->seq = p->next_rule_seq++;
            error = flow_mod_add_rule(p, rule, e->flags, &j, &err);
        } else {
            error = flow_mod_apply(p, e->fm, &j, &err);
        }
        if (error) {
            set_error(errp, "flow mod %zu (%s): %s", i + 1,
                      e->fm ? command_name(e->fm->command) : "add",
                      err ? err : ts_strerror(error));
            free(err);
        }
    }
    if (error) {
        journal_undo(&j);
        pthread_rwlock_unlock(&p->rwlock);
        bundle_entries_free(b);
        return error;
    }
    pthread_rwlock_unlock(&p->rwlock);

    if (journal_commit(&j)) {
        ofproto_revalidate(p);
    }
    bundle_entries_free(b);
    return 0;
}

size_t
ofproto_remove_group_rules(struct ofproto *p, uint32_t group_id)
{
    struct journal j = { NULL, 0, 0 };
    long long now = time_msec();
    size_t n;

    pthread_rwlock_wrlock(&p->rwlock);
    for (unsigned int i = 0; i < OFPROTO_N_TABLES; i++) {
        struct oftable *t = p->tables[i];
        struct rule *rule;

        if (!t) {
            continue;
        }
        CLS_FOR_EACH (rule, cr, &t->cls) {
            if (ofproto_ofpacts_use_group(rule->ofpacts, rule->ofpacts_len,
                                          group_id)) {
                table_remove_rule(&j, t, rule);
            }
        }
    }
    pthread_rwlock_unlock(&p->rwlock);
    n = j.n;
    if (!n) {
        free(j.e);
        return 0;
    }
    ofproto_revalidate(p);
    ofproto_collect_stats(p);
    for (size_t i = 0; i < j.n && p->flow_removed_cb; i++) {
        struct ofp_flow_stats fs;

        rule_to_stats(j.e[i].rule, now, &fs);
        p->flow_removed_cb(p->flow_removed_aux, &fs,
                           OFPROTO_RR_GROUP_DELETE);
    }
    journal_commit(&j);
    return n;
}

uint32_t
ofproto_group_rule_count(const struct ofproto *p, uint32_t group_id)
{
    uint32_t n = 0;

    for (unsigned int i = 0; i < OFPROTO_N_TABLES; i++) {
        const struct oftable *t = p->tables[i];
        struct rule *rule;

        if (!t) {
            continue;
        }
        CLS_FOR_EACH (rule, cr, &t->cls) {
            n += ofproto_ofpacts_use_group(rule->ofpacts, rule->ofpacts_len,
                                           group_id);
        }
    }
    return n;
}

/* ---- Dumps -------------------------------------------------------------- */

static bool
rule_passes_filter(const struct rule *rule,
                   const struct ofproto_flow_filter *f)
{
    if (f->match) {
        if (f->strict) {
            if (rule->cr.priority != f->priority
                || !minimatch_equal_match(&rule->cr.match, f->match)) {
                return false;
            }
        } else if (!cls_rule_is_loose_match(&rule->cr, f->match)) {
            return false;
        }
    }
    return rule_cookie_matches(rule, f->cookie, f->cookie_mask)
           && (f->out_port == OFPP_NONE
               || ofpacts_output_to_port(rule->ofpacts, rule->ofpacts_len,
                                         f->out_port));
}

static int
cmp_rules(const void *a_, const void *b_)
{
    const struct rule *a = *(struct rule *const *) a_;
    const struct rule *b = *(struct rule *const *) b_;

    if (a->table_id != b->table_id) {
        return a->table_id < b->table_id ? -1 : 1;
    }
    if (a->cr.priority != b->cr.priority) {
        return a->cr.priority > b->cr.priority ? -1 : 1;
    }
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

size_t
ofproto_dump_flows_filtered(struct ofproto *p,
                            const struct ofproto_flow_filter *f,
                            ofproto_flow_stats_cb *cb, void *aux)
{
    struct rule **rules = NULL;
    size_t n = 0, allocated = 0;
    long long now;

    ofproto_collect_stats(p);
    pthread_rwlock_rdlock(&p->rwlock);
    for (unsigned int i = 0; i < OFPROTO_N_TABLES; i++) {
        struct oftable *t = p->tables[i];
        struct rule *rule;

        if (!t || (f->table_id != OFP_TABLE_ALL && f->table_id != i)) {
            continue;
        }
        CLS_FOR_EACH (rule, cr, &t->cls) {
            if (!rule_passes_filter(rule, f)) {
                continue;
            }
            if (n >= allocated) {
                allocated = allocated ? 2 * allocated : 64;
                rules = xrealloc(rules, allocated * sizeof *rules);
            }
            rules[n++] = rule;
        }
    }
    qsort(rules, n, sizeof *rules, cmp_rules);
    now = time_msec();
    for (size_t i = 0; i < n; i++) {
        struct ofp_flow_stats fs;

        rule_to_stats(rules[i], now, &fs);
        cb(aux, &fs);
    }
    pthread_rwlock_unlock(&p->rwlock);
    free(rules);
    return n;
}

size_t
ofproto_dump_flows(struct ofproto *p, const struct match *filter,
                   uint8_t table_id, bool strict, ofproto_flow_stats_cb *cb,
                   void *aux)
{
    struct ofproto_flow_filter f = OFPROTO_FLOW_FILTER_ALL;

    f.match = filter;
    f.table_id = table_id;
    f.strict = strict;
    f.priority = OFP_DEFAULT_PRIORITY;
    return ofproto_dump_flows_filtered(p, &f, cb, aux);
}

size_t
ofproto_flow_count(const struct ofproto *p, uint8_t table_id)
{
    size_t n = 0;

    for (unsigned int i = 0; i < OFPROTO_N_TABLES; i++) {
        if (p->tables[i] && (table_id == OFP_TABLE_ALL || table_id == i)) {
            n += classifier_count(&p->tables[i]->cls);
        }
    }
    return n;
}

/* ---- Periodic work ------------------------------------------------------ */

static bool
rule_expired(const struct rule *rule, long long now,
             enum ofproto_removed_reason *reason)
{
    if (rule->hard_timeout
        && now >= rule->modified + rule->hard_timeout * 1000LL) {
        *reason = OFPROTO_RR_HARD_TIMEOUT;
        return true;
    }
    if (rule->idle_timeout
        && now >= __atomic_load_n(&rule->used, __ATOMIC_RELAXED)
                  + rule->idle_timeout * 1000LL) {
        *reason = OFPROTO_RR_IDLE_TIMEOUT;
        return true;
    }
    return false;
}

/* Removes rules past their timeouts, revalidates, then reports them. */
static void
expire_rules(struct ofproto *p)
{
    struct journal j = { NULL, 0, 0 };
    enum ofproto_removed_reason *reasons = NULL;
    long long now = time_msec();

    pthread_rwlock_wrlock(&p->rwlock);
    for (unsigned int i = 0; i < OFPROTO_N_TABLES; i++) {
        struct oftable *t = p->tables[i];
        struct rule *rule;

        if (!t) {
            continue;
        }
        CLS_FOR_EACH (rule, cr, &t->cls) {
            enum ofproto_removed_reason reason;

            if ((rule->idle_timeout || rule->hard_timeout)
                && rule_expired(rule, now, &reason)) {
                table_remove_rule(&j, t, rule);
                reasons = xrealloc(reasons, j.n * sizeof *reasons);
                reasons[j.n - 1] = reason;
            }
        }
    }
    pthread_rwlock_unlock(&p->rwlock);
    if (!j.n) {
        free(j.e);
        return;
    }

    ofproto_revalidate(p);
    ofproto_collect_stats(p);   /* final counters for the report */
    for (size_t i = 0; i < j.n; i++) {
        struct ofp_flow_stats fs;

        atomic_add_u64(&p->stats.n_rules_expired, 1);
        if (p->flow_removed_cb) {
            rule_to_stats(j.e[i].rule, now, &fs);
            p->flow_removed_cb(p->flow_removed_aux, &fs, reasons[i]);
        }
    }
    free(reasons);
    journal_commit(&j);
}

void
ofproto_run(struct ofproto *p)
{
    long long now = time_msec();

    if (now >= p->next_expire_check) {
        p->next_expire_check = now + OFPROTO_RUN_PERIOD_MS;
        ofproto_collect_stats(p);
        if (mac_learning_expire(p->ml)) {
            p->need_revalidate = true;
        }
        expire_rules(p);
    }
    if (__atomic_load_n(&p->need_revalidate, __ATOMIC_ACQUIRE)) {
        ofproto_revalidate(p);
    }
    deliver_packet_ins(p);
}

long long
ofproto_next_wakeup_msec(const struct ofproto *p)
{
    struct ofproto *q = (struct ofproto *) p;
    bool pending;

    pthread_mutex_lock(&q->pin_mutex);
    pending = q->pin_n > 0;
    pthread_mutex_unlock(&q->pin_mutex);
    if (pending || __atomic_load_n(&q->need_revalidate, __ATOMIC_ACQUIRE)) {
        return time_msec();
    }
    return p->next_expire_check;
}

/* ---- MAC learning ------------------------------------------------------- */

void
ofproto_fdb_show(struct ofproto *p, struct ds *out)
{
    size_t n = mac_learning_count(p->ml) + 16;
    struct mac_learning_info *info = xcalloc(n, sizeof *info);

    n = MIN(n, mac_learning_snapshot(p->ml, info, n));
    ds_put_cstr(out, " port  VLAN  MAC                Age\n");
    for (size_t i = 0; i < n; i++) {
        if (info[i].port == OFPP_LOCAL) {
            ds_put_format(out, "%5s", "LOCAL");
        } else {
            ds_put_format(out, "%5"PRIu32, info[i].port);
        }
        ds_put_format(out, "  %4u  "ETH_ADDR_FMT"  %3u\n", info[i].vlan,
                      ETH_ADDR_ARGS(info[i].mac), info[i].age_s);
    }
    free(info);
}

void
ofproto_fdb_flush(struct ofproto *p)
{
    if (mac_learning_flush(p->ml)) {
        ofproto_revalidate(p);
    }
}

void
ofproto_set_mac_aging(struct ofproto *p, unsigned int idle_s,
                      size_t max_entries)
{
    mac_learning_set_limits(p->ml, idle_s, max_entries);
    p->need_revalidate = true;
}

void
ofproto_get_stats(const struct ofproto *p, struct ofproto_stats *s)
{
    const uint64_t *src = (const uint64_t *) &p->stats;
    uint64_t *dst = (uint64_t *) s;

    BUILD_ASSERT(sizeof *s % sizeof(uint64_t) == 0);
    for (size_t i = 0; i < sizeof *s / sizeof(uint64_t); i++) {
        dst[i] = atomic_read_u64(&src[i]);
    }
}

size_t
ofproto_recirc_count(const struct ofproto *p)
{
    return xlate_recirc_count(p->recirc);
}

/* ---- Lifecycle ---------------------------------------------------------- */

static struct ofproto *
ofproto_create__(const char *bridge_name, struct dpif *dpif)
{
    struct ofproto *p = xzalloc(sizeof *p);

    p->name = xstrdup(bridge_name);
    p->dpif = dpif;
    pthread_rwlock_init(&p->rwlock, NULL);
    pthread_mutex_init(&p->pin_mutex, NULL);
    hmap_init(&p->ports);
    ofproto_groups_init(p);
    p->ml = mac_learning_create(0, 0);
    p->recirc = xlate_recirc_create();
    p->next_expire_check = time_msec() + OFPROTO_RUN_PERIOD_MS;
    table_get(p, 0);
    dpif_set_stats_cb(dpif, ofproto_stats_cb, p);
    dpif_set_upcall_cb(dpif, ofproto_upcall, p);
    dpif_set_userspace_cb(dpif, ofproto_userspace_cb, p);
    return p;
}

struct ofproto *
ofproto_create_empty(const char *bridge_name, struct dpif *dpif)
{
    struct ofproto *p = ofproto_create__(bridge_name, dpif);

    /* Megaflows made before we took over would bypass our tables. */
    dpif_flow_flush(dpif);
    return p;
}

struct ofproto *
ofproto_create(const char *bridge_name, struct dpif *dpif)
{
    struct ofproto *p = ofproto_create_empty(bridge_name, dpif);
    struct ofp_flow_mod fm;
    char *err = NULL;

    memset(&fm, 0, sizeof fm);
    fm.command = OFPFC_ADD;
    fm.table_id = 0;
    fm.priority = 0;
    fm.out_port = OFPP_NONE;
    match_init_catchall(&fm.match);
    ofpacts_init(&fm.ofpacts);
    ofpact_put_NORMAL(&fm.ofpacts);
    if (ofproto_flow_mod(p, &fm, &err)) {
        TS_ERR("%s: cannot install the default flow: %s", p->name,
               err ? err : "unknown error");
        free(err);
    }
    ofpacts_release(&fm.ofpacts);
    return p;
}

void
ofproto_destroy(struct ofproto *p)
{
    struct ofport *port;

    if (!p) {
        return;
    }
    dpif_set_upcall_cb(p->dpif, NULL, NULL);
    dpif_set_userspace_cb(p->dpif, NULL, NULL);
    /* Release every megaflow cookie: the flush reports each removed
     * megaflow (removed=true) to ofproto_stats_cb(). */
    dpif_flow_flush(p->dpif);
    dpif_set_stats_cb(p->dpif, NULL, NULL);
    ofproto_groups_destroy(p);

    for (unsigned int i = 0; i < OFPROTO_N_TABLES; i++) {
        struct oftable *t = p->tables[i];
        struct rule *rule;

        if (!t) {
            continue;
        }
        CLS_FOR_EACH (rule, cr, &t->cls) {
            classifier_remove(&t->cls, &rule->cr);
            ofproto_rule_unref(rule);
        }
        classifier_destroy(&t->cls);
        free(t);
    }
    HMAP_FOR_EACH_POP (port, node, &p->ports) {
        free(port->name);
        free(port);
    }
    hmap_destroy(&p->ports);
    free(p->flood_ports);
    mac_learning_destroy(p->ml);
    xlate_recirc_destroy(p->recirc);
    free(p->pin_slots);
    pthread_mutex_destroy(&p->pin_mutex);
    pthread_rwlock_destroy(&p->rwlock);
    free(p->name);
    free(p);
}

const char *
ofproto_name(const struct ofproto *p)
{
    return p->name;
}
