/* mac-learning: the (MAC, VLAN) -> port table behind the NORMAL action.
 *
 * What: a bounded table of learned stations.  Entries expire after
 * 'idle_s' seconds without being seen as a source; when the table is full
 * the least recently seen entry is evicted to make room.  All entries are
 * preallocated at create time (and when the limits change), so learning
 * from the upcall path never allocates.
 *
 * Who calls it: ofproto's xlate (NORMAL) learns and looks up from the
 * datapath workers' upcalls; ofproto_run() expires from the main thread;
 * fdb/show and flushes come from the main thread.
 *
 * Threads: every function is thread-safe (one mutex per table, held for a
 * bounded time: a hash lookup, or a sweep of the expired entries).
 *
 * Time: the table reads time from a clock function (default time_msec())
 * that tests may replace with mac_learning_set_clock(). */
#ifndef TS_MAC_LEARNING_H
#define TS_MAC_LEARNING_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "packets.h"

#define MAC_LEARNING_DEFAULT_IDLE_S 300
#define MAC_LEARNING_DEFAULT_MAX 8192

struct mac_learning;

/* Result of mac_learning_learn(). */
enum mac_learn_result {
    MAC_LEARN_REFRESHED,    /* known on the same port: only the age reset */
    MAC_LEARN_NEW,          /* new entry (possibly evicting the oldest) */
    MAC_LEARN_MOVED,        /* known on another port: now on this one */
    MAC_LEARN_IGNORED,      /* not learnable (multicast source) */
};

/* 'idle_s' of 0 and 'max_entries' of 0 select the defaults.  The caller
 * owns the result and frees it with mac_learning_destroy(). */
struct mac_learning *mac_learning_create(unsigned int idle_s,
                                         size_t max_entries);
void mac_learning_destroy(struct mac_learning *);   /* accepts NULL */

/* Replaces the clock ('now' returns milliseconds; NULL: time_msec()). */
void mac_learning_set_clock(struct mac_learning *,
                            long long (*now)(void *aux), void *aux);
/* Changes the limits (0: default).  If the table shrinks, the most
 * recently seen entries are kept. */
void mac_learning_set_limits(struct mac_learning *, unsigned int idle_s,
                             size_t max_entries);

/* Records that 'mac' on 'vlan' was seen as a source on 'port'.  On
 * MAC_LEARN_MOVED, stores the previous port in '*old_port' if nonnull. */
enum mac_learn_result mac_learning_learn(struct mac_learning *,
                                         struct eth_addr mac, uint16_t vlan,
                                         uint32_t port, uint32_t *old_port);
/* Like mac_learning_learn(), but never moves a station: if 'mac' is
 * bound to another port, nothing changes and MAC_LEARN_IGNORED is
 * returned.  For evidence that may be stale (megaflow statistics). */
enum mac_learn_result mac_learning_refresh(struct mac_learning *,
                                           struct eth_addr mac,
                                           uint16_t vlan, uint32_t port);
/* Looks up where 'mac' on 'vlan' lives.  An entry past its idle time is
 * treated as absent even before it is swept.  Does not refresh it. */
bool mac_learning_lookup(struct mac_learning *, struct eth_addr mac,
                         uint16_t vlan, uint32_t *port);

/* Removes entries idle for 'idle_s' or more; returns how many.  Bounded by
 * the table size. */
size_t mac_learning_expire(struct mac_learning *);
/* Removes every entry (or every entry on 'port'); returns how many. */
size_t mac_learning_flush(struct mac_learning *);
size_t mac_learning_flush_port(struct mac_learning *, uint32_t port);
size_t mac_learning_count(struct mac_learning *);
/* Clock time (milliseconds) at which the oldest entry expires, or
 * LLONG_MAX if the table is empty. */
long long mac_learning_next_expiry(struct mac_learning *);

struct mac_learning_info {
    struct eth_addr mac;
    uint16_t vlan;
    uint32_t port;
    unsigned int age_s;     /* seconds since last seen */
};
/* Copies up to 'max' entries into 'out', least recently seen first;
 * returns the number of entries in the table. */
size_t mac_learning_snapshot(struct mac_learning *,
                             struct mac_learning_info *out, size_t max);

#endif /* mac-learning.h */
