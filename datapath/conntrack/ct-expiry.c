/* ct-expiry.c: timers, timeout policies (default and per zone) and the
 * bounded sweep of expired connections.
 *
 * Policies are stored twice: as configured (seconds, with a 'present'
 * bitmap, for get) and as resolved per-timer millisecond values that
 * workers read with relaxed loads (each value is one word: a reader sees
 * the old or the new value).  A zone maps to a policy slot through a
 * byte per zone; slot 0 is the default policy. */
#include <errno.h>
#include <string.h>
#include "conntrack-private.h"
#include "util.h"

/* Seconds; OVS's userspace defaults. */
static const uint32_t ct_tm_defaults[CT_TM_N] = {
    [CT_TM_TCP_FIRST_PACKET] = 30,
    [CT_TM_TCP_OPENING] = 30,
    [CT_TM_TCP_ESTABLISHED] = 24 * 60 * 60,
    [CT_TM_TCP_CLOSING] = 15 * 60,
    [CT_TM_TCP_FIN_WAIT] = 45,
    [CT_TM_TCP_CLOSED] = 30,
    [CT_TM_OTHER_FIRST] = 60,
    [CT_TM_OTHER_MULTIPLE] = 60,
    [CT_TM_OTHER_BIDIR] = 30,
    [CT_TM_ICMP_FIRST] = 60,
    [CT_TM_ICMP_REPLY] = 30,
};

/* Which policy key sets each timer (as OVS maps them). */
static const enum ct_tp_attr ct_tm_attr[CT_TM_N] = {
    [CT_TM_TCP_FIRST_PACKET] = CT_TP_TCP_SYN_SENT,
    [CT_TM_TCP_OPENING] = CT_TP_TCP_SYN_RECV,
    [CT_TM_TCP_ESTABLISHED] = CT_TP_TCP_ESTABLISHED,
    [CT_TM_TCP_CLOSING] = CT_TP_TCP_FIN_WAIT,
    [CT_TM_TCP_FIN_WAIT] = CT_TP_TCP_TIME_WAIT,
    [CT_TM_TCP_CLOSED] = CT_TP_TCP_CLOSE,
    [CT_TM_OTHER_FIRST] = CT_TP_UDP_FIRST,
    [CT_TM_OTHER_MULTIPLE] = CT_TP_UDP_SINGLE,
    [CT_TM_OTHER_BIDIR] = CT_TP_UDP_MULTIPLE,
    [CT_TM_ICMP_FIRST] = CT_TP_ICMP_FIRST,
    [CT_TM_ICMP_REPLY] = CT_TP_ICMP_REPLY,
};

static const char *const ct_tp_names[CT_TP_N_ATTRS] = {
    "tcp_syn_sent", "tcp_syn_recv", "tcp_established", "tcp_fin_wait",
    "tcp_close_wait", "tcp_last_ack", "tcp_time_wait", "tcp_close",
    "tcp_syn_sent2", "tcp_retransmit", "tcp_unack", "udp_first",
    "udp_single", "udp_multiple", "icmp_first", "icmp_reply",
};

/* Keeps every expiry within 2^31 ms of now (see ct_time_before()). */
#define CT_TP_MAX_SECONDS 1000000

const char *
ct_tp_attr_name(enum ct_tp_attr attr)
{
    return (unsigned int) attr < CT_TP_N_ATTRS ? ct_tp_names[attr] : NULL;
}

int
ct_tp_attr_from_name(const char *name, enum ct_tp_attr *attr)
{
    for (int i = 0; i < CT_TP_N_ATTRS; i++) {
        if (!strcmp(name, ct_tp_names[i])) {
            *attr = i;
            return 0;
        }
    }
    return -EINVAL;
}

uint32_t
ct_time(const struct conntrack *ct, long long now_ms)
{
    return (uint32_t) (now_ms - ct->time_base);
}

uint32_t
ct_tm_value_ms(const struct conntrack *ct_, uint16_t zone, enum ct_tm tm)
{
    struct conntrack *ct = (struct conntrack *) ct_;
    uint8_t slot = atomic_load_explicit(&ct->zone_tp[zone],
                                        memory_order_relaxed);

    return atomic_load_explicit(&ct->tp_ms[slot][tm], memory_order_relaxed);
}

void
ct_conn_set_timer(struct conntrack *ct, struct ct_conn *conn, enum ct_tm tm,
                  uint32_t now)
{
    conn->tm = tm;
    conn->expiration = now + ct_tm_value_ms(ct, conn->key.zone, tm);
}

/* Recomputes slot 'slot' from its configuration over the default's. */
static void
ct_tp_resolve(struct conntrack *ct, int slot)
{
    const struct ct_timeout_policy *p = &ct->tp_cfg[slot];
    const struct ct_timeout_policy *d = &ct->tp_cfg[0];

    for (int tm = 0; tm < CT_TM_N; tm++) {
        enum ct_tp_attr a = ct_tm_attr[tm];
        uint32_t sec = p->present & (1u << a) ? p->attrs[a]
                       : d->present & (1u << a) ? d->attrs[a]
                       : ct_tm_defaults[tm];

        atomic_store_explicit(&ct->tp_ms[slot][tm], sec * 1000,
                              memory_order_relaxed);
    }
}

void
ct_expiry_init(struct conntrack *ct)
{
    struct ct_timeout_policy *d = &ct->tp_cfg[0];

    memset(d, 0, sizeof *d);
    for (int tm = 0; tm < CT_TM_N; tm++) {
        d->attrs[ct_tm_attr[tm]] = ct_tm_defaults[tm];
        d->present |= 1u << ct_tm_attr[tm];
    }
    ct->tp_used[0] = true;
    for (int slot = 0; slot < CT_TP_SLOTS; slot++) {
        ct_tp_resolve(ct, slot);
    }
}

static int
ct_tp_check(const struct ct_timeout_policy *p)
{
    for (int a = 0; a < CT_TP_N_ATTRS; a++) {
        if ((p->present & (1u << a)) && p->attrs[a] > CT_TP_MAX_SECONDS) {
            return -ERANGE;
        }
    }
    return p->present >> CT_TP_N_ATTRS ? -EINVAL : 0;
}

void
conntrack_default_tp_get(const struct conntrack *ct,
                         struct ct_timeout_policy *p)
{
    *p = ct->tp_cfg[0];
}

/* Keys present in 'p' replace the default's; others keep their value. */
int
conntrack_default_tp_set(struct conntrack *ct,
                         const struct ct_timeout_policy *p)
{
    int err = ct_tp_check(p);

    if (err) {
        return err;
    }
    for (int a = 0; a < CT_TP_N_ATTRS; a++) {
        if (p->present & (1u << a)) {
            ct->tp_cfg[0].attrs[a] = p->attrs[a];
            ct->tp_cfg[0].present |= 1u << a;
        }
    }
    for (int slot = 0; slot < CT_TP_SLOTS; slot++) {
        if (ct->tp_used[slot]) {
            ct_tp_resolve(ct, slot);
        }
    }
    return 0;
}

static int
ct_tp_slot_of(const struct conntrack *ct, uint16_t zone)
{
    return atomic_load_explicit(&((struct conntrack *) ct)->zone_tp[zone],
                                memory_order_relaxed);
}

int
conntrack_zone_tp_set(struct conntrack *ct, uint16_t zone,
                      const struct ct_timeout_policy *p)
{
    int slot = ct_tp_slot_of(ct, zone);
    int err = ct_tp_check(p);

    if (err) {
        return err;
    }
    if (!slot) {
        for (slot = 1; slot < CT_TP_SLOTS && ct->tp_used[slot]; slot++) {
            continue;
        }
        if (slot == CT_TP_SLOTS) {
            return -ENOSPC;
        }
    }
    ct->tp_cfg[slot] = *p;
    ct->tp_used[slot] = true;
    ct->tp_zone[slot] = zone;
    ct_tp_resolve(ct, slot);
    atomic_store_explicit(&ct->zone_tp[zone], slot, memory_order_release);
    return 0;
}

int
conntrack_zone_tp_get(const struct conntrack *ct, uint16_t zone,
                      struct ct_timeout_policy *p)
{
    int slot = ct_tp_slot_of(ct, zone);

    if (!slot) {
        return -ENOENT;
    }
    *p = ct->tp_cfg[slot];
    return 0;
}

int
conntrack_zone_tp_del(struct conntrack *ct, uint16_t zone)
{
    int slot = ct_tp_slot_of(ct, zone);

    if (!slot) {
        return -ENOENT;
    }
    atomic_store_explicit(&ct->zone_tp[zone], 0, memory_order_release);
    ct->tp_used[slot] = false;
    memset(&ct->tp_cfg[slot], 0, sizeof ct->tp_cfg[slot]);
    return 0;
}

/* The sweep.  Each call examines at most 'max_entries' entries (plus
 * the rest of the last bucket) in at most 4 * max_entries + 64 steps,
 * each step one non-empty bucket or 64 words of the bucket bitmap (4096
 * empty buckets), holding one stripe at a time, so a worker waits at
 * most for one bucket's worth of work. */
size_t
conntrack_sweep(struct conntrack *ct, long long now_ms, size_t max_entries)
{
    uint32_t now = ct_time(ct, now_ms);
    size_t examined = 0, removed = 0;
    size_t max_buckets = 4 * max_entries + 64;

    for (size_t nb = 0; nb < max_buckets && examined < max_entries; ) {
        uint32_t idx[CT_GATHER];
        uint32_t pos = ct->sweep_bucket;
        size_t k = ct_bucket_gather(ct, &pos, idx, CT_GATHER, 64);

        ct->sweep_bucket = pos & ct->bucket_mask;   /* wraps at the end */
        if (!k) {
            nb++;
            continue;
        }
        for (size_t i = 0; i < k && examined < max_entries; i++) {
            struct ct_stripe *s = &ct->stripes[idx[i] & ct->stripe_mask];
            struct ct_node *node, *next;

            ct_lock(s);
            for (node = ct->buckets[idx[i]]; node; node = next) {
                struct ct_conn *conn;

                next = node->next;
                examined++;
                if (node->is_rev) {
                    continue;       /* handled from the conn's main node */
                }
                conn = CONTAINER_OF(node, struct ct_conn, node);
                if (ct_conn_expired(conn, now)
                    && !ct_conn_remove(ct, conn, s, NULL, now)) {
                    removed++;
                }
            }
            ct_unlock(s);
            ct->sweep_bucket = (idx[i] + 1) & ct->bucket_mask;
            nb++;
        }
    }
    atomic_fetch_add_explicit(&ct->n_expired, removed, memory_order_relaxed);
    return removed;
}
