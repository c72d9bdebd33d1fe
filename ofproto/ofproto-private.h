/* ofproto-private: the structures shared by ofproto.c and xlate.c.  Not
 * for use outside ofproto/.
 *
 * Locking (see also ofproto.h):
 *   - 'rwlock' protects the tables (classifiers and the rules' match,
 *     priority and ofpacts) and 'ports'/'flood_ports'.  Upcalls (workers)
 *     and the main thread's read-only operations take it for reading; flow
 *     mods and port changes take it for writing, and never call into the
 *     dpif while holding it (dpif_flow_flush()/dpif_revalidate() wait for
 *     the workers, which may be waiting for the lock).
 *   - Rule counters and 'used' are updated with atomic operations (workers
 *     credit the upcall packet; the main thread credits megaflow stats).
 *   - A rule is freed when its reference count drops to 0: the table holds
 *     one reference while the rule is inserted; each megaflow cookie holds
 *     one per rule it credits.  References are taken by workers only under
 *     the read lock on rules that are still inserted; the last one is
 *     dropped in the main thread.
 *   - 'groups' is protected by 'rwlock' like the tables; struct group is
 *     immutable once inserted (modify swaps in a new object) and
 *     reference-counted like rules (megaflow cookies hold references for
 *     the group and bucket counters).  Only the main thread changes
 *     groups, so it may read 'groups' without the lock.
 *   - 'ml' has its own mutex.  The packet-in queue has 'pin_mutex'. */
#ifndef TS_OFPROTO_PRIVATE_H
#define TS_OFPROTO_PRIVATE_H 1

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include "classifier.h"
#include "hmap.h"
#include "ofp-flow.h"
#include "ofp-group.h"
#include "ofpact.h"
#include "ofproto.h"
#include "packets.h"

struct mac_learning;

#define OFPROTO_N_TABLES 255    /* table ids 0..254; 255 means "all" */

/* One allocation holds the struct, the match words of 'cr' and the
 * action list the rule was created with (ofproto.c, rule_create()).  Read
 * the match with cls_rule_get_match() or the minimatch_*() functions. */
struct rule {
    struct cls_rule cr;         /* match and priority */
    uint8_t table_id;
    uint64_t cookie;
    uint16_t idle_timeout;      /* seconds, 0: none */
    uint16_t hard_timeout;
    uint16_t importance;
    uint16_t flags;             /* OFPFF_* */
    struct ofpact *ofpacts;     /* in the allocation, or owned after a
                                 * modify; replaced under the write lock */
    size_t ofpacts_len;
    long long created;          /* time_msec() */
    long long modified;         /* last add/modify (hard timeout base) */
    uint64_t seq;               /* creation order, for stable dumps */

    /* Atomic. */
    long long used;             /* last packet, or 'created' */
    uint64_t n_packets;
    uint64_t n_bytes;
    int refcount;
};

/* A group.  Immutable once inserted: a group-mod that modifies a group
 * replaces the object (under the write lock), so xlate may use 'desc'
 * under the read lock.  Counters are atomic; references work like rules'
 * (the group table holds one, each megaflow cookie one per use). */
struct group {
    struct hmap_node node;      /* in ofproto->groups, by hash_int(id) */
    struct ofp_group_mod desc;  /* group_id, type, buckets (owned) */
    long long created;          /* time_msec() of the add */
    uint64_t n_packets;         /* atomic */
    uint64_t n_bytes;
    struct ofp_bucket_stats *bucket_stats;  /* n_buckets, atomic */
    int refcount;
};

struct oftable {
    struct classifier cls;
};

struct ofport {
    struct hmap_node node;      /* in ofproto->ports, by hash of port_no */
    uint32_t port_no;
    char *name;
};

/* One queued packet-in (preallocated slot). */
#define OFPROTO_PIN_SLOTS 32
#define OFPROTO_PIN_MAX_LEN 9216
struct ofproto_pin_slot {
    struct ofproto_packet_in pin;
    struct flow flow;
    uint8_t data[OFPROTO_PIN_MAX_LEN];
};

struct ofproto {
    char *name;
    struct dpif *dpif;

    pthread_rwlock_t rwlock;
    struct oftable *tables[OFPROTO_N_TABLES];   /* NULL until used */
    struct hmap ports;          /* struct ofport */
    struct hmap groups;         /* struct group */
    uint32_t *flood_ports;      /* sorted port numbers */
    size_t n_flood_ports;
    uint64_t next_rule_seq;

    struct mac_learning *ml;
    struct xlate_recirc *recirc;    /* frozen states of ct(table=N) */
    bool need_revalidate;       /* atomic: set by workers (MAC changes) */

    /* Main thread only. */
    ofproto_flow_removed_cb *flow_removed_cb;
    void *flow_removed_aux;
    ofproto_packet_in_cb *packet_in_cb;
    void *packet_in_aux;
    long long next_expire_check;

    /* Wakeup (read by workers; set before traffic). */
    void (*wakeup_cb)(void *aux);
    void *wakeup_aux;

    /* Packet-in queue: ring of 'pin_slots' (NULL until a callback is
     * set), 'pin_head' first used, 'pin_n' used. */
    pthread_mutex_t pin_mutex;
    struct ofproto_pin_slot *pin_slots;
    size_t pin_head, pin_n;

    /* Statistics (atomic). */
    struct ofproto_stats stats;
};

/* Rule references (any thread; see locking above). */
void ofproto_rule_ref(struct rule *);
void ofproto_rule_unref(struct rule *);

/* Main thread, no table lock held: revalidates the megaflow cache. */
void ofproto_revalidate(struct ofproto *);
/* Main thread: credits megaflow statistics to rules and groups. */
void ofproto_collect_stats(struct ofproto *);
/* Checks that xlate can run 'ofpacts' for a rule in 'table_id' (255: no
 * table, e.g. packet-out); groups named must exist.  Main thread.
 * Returns NULL or a malloc'ed error. */
char *ofproto_check_ofpacts(const struct ofproto *, const struct ofpact *,
                            size_t len, uint8_t table_id);
/* ct() needs an IP match ("ct requires ip or ipv6", as OVS refuses it
 * as inconsistent with the match); ct(commit) on a flow matching +inv is
 * refused too.  Nested clones are checked.  Returns NULL or a malloc'ed
 * error. */
struct match;
char *ofproto_check_ct_prereqs(const struct ofpact *, size_t len,
                               const struct match *);
/* True if the list (or a nested clone) has group:'group_id' (OFPG_ALL:
 * any group). */
bool ofproto_ofpacts_use_group(const struct ofpact *, size_t len,
                               uint32_t group_id);
/* Main thread, no lock held: removes every rule that uses group
 * 'group_id' (OFPG_ALL: any), revalidates, and reports them to the
 * flow-removed callback with OFPROTO_RR_GROUP_DELETE.  Returns the number
 * removed. */
size_t ofproto_remove_group_rules(struct ofproto *, uint32_t group_id);
/* Number of rules that use group 'group_id' (read lock or main thread). */
uint32_t ofproto_group_rule_count(const struct ofproto *, uint32_t group_id);
/* Lifecycle of the group table (ofproto-group.c). */
void ofproto_groups_init(struct ofproto *);
void ofproto_groups_destroy(struct ofproto *);

/* Table access for xlate (read lock held).  NULL if the table was never
 * used. */
static inline const struct oftable *
ofproto_table(const struct ofproto *p, uint8_t table_id)
{
    return table_id < OFPROTO_N_TABLES ? p->tables[table_id] : NULL;
}
void ofproto_group_ref(struct group *);
void ofproto_group_unref(struct group *);
/* Read lock held (or main thread).  NULL if no such group. */
struct group *ofproto_group_find(const struct ofproto *, uint32_t group_id);
const struct ofport *ofproto_port_find(const struct ofproto *,
                                       uint32_t port_no);

#endif /* ofproto-private.h */
