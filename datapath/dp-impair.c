/* dp-impair: link impairments on transmit (design: dp-impair.h). */
#include "dp-impair.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/timerfd.h>

#include "dp-private.h"
#include "dynamic-string.h"
#include "errors.h"
#include "log.h"
#include "util.h"

TS_LOG_DEFINE(dp_impair);

#define NS_PER_SEC 1000000000ULL
#define DP_IMPAIR_MAX_TIME_NS (60 * NS_PER_SEC)
#define DP_IMPAIR_MIN_RATE 1000ULL              /* bit/s */
#define DP_IMPAIR_MAX_RATE 400000000000ULL      /* 400 gbit/s */
#define DP_IMPAIR_MIN_BURST 3000ULL             /* two full frames */

/* ---- Options ------------------------------------------------------------ */

static const char *const dp_impair_keys[] = {
    "delay", "jitter", "loss", "rate", "limit", NULL
};

bool
dp_impair_is_key(const char *key)
{
    for (size_t i = 0; dp_impair_keys[i]; i++) {
        if (!strcmp(key, dp_impair_keys[i])) {
            return true;
        }
    }
    return false;
}

bool
dp_impair_params_active(const struct dp_impair_params *p)
{
    return p->delay_ns || p->jitter_ns || p->loss || p->rate_bps;
}

struct dp_unit {
    const char *name;
    double scale;
};

/* Parses "NUMBER UNIT" with a unit from 'units' (case-insensitive).  A
 * bare number is accepted only if 'bare_ok' (then 'bare_scale').
 * Returns false on any error. */
static bool
dp_parse_scaled(const char *s, const struct dp_unit *units, bool bare_ok,
                double bare_scale, double *out)
{
    char *end;
    double v;

    if (!*s || (*s != '.' && (*s < '0' || *s > '9'))) {
        return false;
    }
    v = strtod(s, &end);
    if (end == s || !isfinite(v) || v < 0) {
        return false;
    }
    if (!*end) {
        if (!bare_ok && v != 0) {
            return false;
        }
        *out = v * bare_scale;
        return true;
    }
    for (size_t i = 0; units[i].name; i++) {
        if (!strcasecmp(end, units[i].name)) {
            *out = v * units[i].scale;
            return true;
        }
    }
    return false;
}

static const struct dp_unit dp_time_units[] = {
    { "s", 1e9 }, { "sec", 1e9 }, { "ms", 1e6 }, { "msec", 1e6 },
    { "us", 1e3 }, { "usec", 1e3 }, { "ns", 1 }, { NULL, 0 },
};
static const struct dp_unit dp_rate_units[] = {
    { "bit", 1 }, { "kbit", 1e3 }, { "mbit", 1e6 }, { "gbit", 1e9 },
    { "bps", 8 }, { "kbps", 8e3 }, { "mbps", 8e6 }, { "gbps", 8e9 },
    { NULL, 0 },
};
static const struct dp_unit dp_pct_units[] = {
    { "%", 1 }, { NULL, 0 },
};

static int
dp_impair_parse_one(const char *key, const char *value,
                    struct dp_impair_params *p, char **errp)
{
    double v;

    if (!strcmp(key, "delay") || !strcmp(key, "jitter")) {
        if (!dp_parse_scaled(value, dp_time_units, false, 0, &v)
            || v > DP_IMPAIR_MAX_TIME_NS) {
            goto bad;
        }
        *(!strcmp(key, "delay") ? &p->delay_ns : &p->jitter_ns)
            = (uint64_t) llround(v);
    } else if (!strcmp(key, "loss")) {
        if (!dp_parse_scaled(value, dp_pct_units, true, 1, &v) || v > 100) {
            goto bad;
        }
        p->loss = (uint64_t) llround(v / 100.0 * 4294967296.0);
    } else if (!strcmp(key, "rate")) {
        if (!dp_parse_scaled(value, dp_rate_units, false, 0, &v)
            || (v && (v < DP_IMPAIR_MIN_RATE || v > DP_IMPAIR_MAX_RATE))) {
            goto bad;
        }
        p->rate_bps = (uint64_t) llround(v);
    } else if (!strcmp(key, "limit")) {
        char *end;
        unsigned long n = strtoul(value, &end, 10);

        if (*value < '0' || *value > '9' || *end || n < 1
            || n > DP_IMPAIR_MAX_LIMIT) {
            goto bad;
        }
        p->limit = n;
    }
    return 0;

bad:
    if (!strcmp(key, "delay") || !strcmp(key, "jitter")) {
        *errp = xasprintf("bad %s '%s': expected a time such as 5ms or "
                          "200us (at most 60s)", key, value);
    } else if (!strcmp(key, "loss")) {
        *errp = xasprintf("bad loss '%s': expected a percentage such as "
                          "1%% or 0.5%% (0 to 100)", value);
    } else if (!strcmp(key, "rate")) {
        *errp = xasprintf("bad rate '%s': expected a rate such as 500kbit, "
                          "10mbit or 1gbit (1kbit to 400gbit)", value);
    } else {
        *errp = xasprintf("bad limit '%s': expected a number of packets "
                          "(1 to %d)", value, DP_IMPAIR_MAX_LIMIT);
    }
    return -EINVAL;
}

int
dp_impair_parse(const struct smap *options, struct dp_impair_params *p,
                struct smap *rest, char **errp)
{
    const struct smap_entry *e;

    memset(p, 0, sizeof *p);
    p->limit = DP_IMPAIR_DEFAULT_LIMIT;
    smap_init(rest);
    if (!options) {
        return 0;
    }
    SMAP_FOR_EACH (e, options) {
        if (!dp_impair_is_key(e->key)) {
            smap_replace(rest, e->key, e->value);
            continue;
        }
        int err = dp_impair_parse_one(e->key, e->value, p, errp);
        if (err) {
            smap_destroy(rest);
            smap_init(rest);
            return err;
        }
    }
    if (p->rate_bps) {
        p->burst_bytes = MAX(p->rate_bps / 8 / 1000, DP_IMPAIR_MIN_BURST);
    }
    return 0;
}

static void
dp_format_time(struct ds *s, const char *key, uint64_t ns)
{
    if (ns % 1000000 == 0) {
        ds_put_format(s, " %s=%llums", key, (unsigned long long) ns / 1000000);
    } else if (ns % 1000 == 0) {
        ds_put_format(s, " %s=%lluus", key, (unsigned long long) ns / 1000);
    } else {
        ds_put_format(s, " %s=%lluns", key, (unsigned long long) ns);
    }
}

void
dp_impair_format(struct ds *s, const struct dp_impair_params *p)
{
    size_t start = s->length;

    if (p->delay_ns) {
        dp_format_time(s, "delay", p->delay_ns);
    }
    if (p->jitter_ns) {
        dp_format_time(s, "jitter", p->jitter_ns);
    }
    if (p->loss) {
        ds_put_format(s, " loss=%.4g%%", p->loss * 100.0 / 4294967296.0);
    }
    if (p->rate_bps) {
        ds_put_format(s, " rate=%llubit", (unsigned long long) p->rate_bps);
    }
    ds_put_format(s, " limit=%u", p->limit);
    /* Drop the leading space. */
    memmove(s->string + start, s->string + start + 1, s->length - start);
    s->length--;
}

/* ---- One queue ---------------------------------------------------------- */

static uint64_t
dp_impair_rand(struct dp_impair_q *q)
{
    uint64_t x = q->rng;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    q->rng = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/* Token cost of 'bytes': the bucket counts bit-nanoseconds so that a
 * refill of 'dt' ns adds exactly dt * rate_bps. */
static int64_t
dp_impair_cost(uint32_t bytes)
{
    return (int64_t) bytes * 8 * (int64_t) NS_PER_SEC;
}

static void
dp_impair_refill(struct dp_impair_q *q, uint64_t now)
{
    int64_t burst = (int64_t) q->params.burst_bytes * 8
                    * (int64_t) NS_PER_SEC;
    uint64_t dt, room;

    if (now <= q->tokens_ns) {
        return;
    }
    dt = now - q->tokens_ns;
    q->tokens_ns = now;
    if (q->tokens >= burst) {
        q->tokens = burst;
        return;
    }
    room = (uint64_t) (burst - q->tokens);
    if (dt >= room / q->params.rate_bps + 1) {
        q->tokens = burst;
    } else {
        q->tokens += (int64_t) (dt * q->params.rate_bps);
        if (q->tokens > burst) {
            q->tokens = burst;
        }
    }
}

struct dp_impair_q *
dp_impair_q_create(const struct dp_impair_params *p, const char *name,
                   uint64_t seed)
{
    struct dp_impair_q *q = xzalloc(sizeof *q);
    uint32_t n_large = MIN(p->limit, DP_IMPAIR_MAX_LARGE);

    q->params = *p;
    q->ring = xcalloc(p->limit, sizeof *q->ring);
    q->small = dp_packet_pool_create(name, p->limit, DP_CLONE_SMALL_BUF);
    q->large = dp_packet_pool_create(name, n_large, DP_CLONE_LARGE_BUF);
    q->rng = seed ? seed : 0x9E3779B97F4A7C15ULL;
    ts_list_init(&q->node);
    if (!q->small || !q->large) {
        dp_impair_q_destroy(q);
        return NULL;
    }
    return q;
}

void
dp_impair_q_destroy(struct dp_impair_q *q)
{
    if (!q) {
        return;
    }
    /* The packets live in the pools' memory: freeing the pools frees
     * them. */
    dp_packet_pool_destroy(q->small);
    dp_packet_pool_destroy(q->large);
    free(q->ring);
    free(q);
}

void
dp_impair_q_set_params(struct dp_impair_q *q, const struct dp_impair_params *p)
{
    ts_assert(p->limit == q->params.limit);
    if (p->rate_bps != q->params.rate_bps) {
        /* A new bucket starts full at its next use. */
        q->tokens = 0;
        q->tokens_ns = 0;
    }
    q->params = *p;
}

enum dp_impair_verdict
dp_impair_q_enqueue(struct dp_impair_q *q, const struct dp_packet *p,
                    uint64_t now)
{
    const struct dp_impair_params *pa = &q->params;
    struct dp_impair_slot *slot;
    struct dp_packet *c;
    uint64_t due;

    if (pa->loss && (dp_impair_rand(q) >> 32) < pa->loss) {
        q->stats.n_lost++;
        return DP_IMPAIR_DROP;
    }
    if (!q->count && !pa->delay_ns && !pa->jitter_ns) {
        if (!pa->rate_bps) {
            q->stats.n_passed++;
            return DP_IMPAIR_PASS;
        }
        dp_impair_refill(q, now);
        if (q->tokens >= 0) {
            q->tokens -= dp_impair_cost(dp_packet_size(p));
            q->stats.n_passed++;
            return DP_IMPAIR_PASS;
        }
    }
    due = now + pa->delay_ns;
    if (pa->jitter_ns) {
        uint64_t span = 2 * pa->jitter_ns + 1;
        int64_t j = (int64_t) (dp_impair_rand(q) % span)
                    - (int64_t) pa->jitter_ns;

        due = j < 0 && (uint64_t) -j > pa->delay_ns ? now : due + j;
    }
    if (q->count && due < q->last_due_ns) {
        due = q->last_due_ns;       /* never overtake the packet ahead */
    }
    if (q->count >= pa->limit) {
        q->stats.n_overflow++;
        return DP_IMPAIR_DROP;
    }
    c = NULL;
    if (dp_packet_size(p) + DP_PACKET_HEADROOM <= DP_CLONE_SMALL_BUF) {
        c = dp_packet_clone(p, q->small);
    }
    if (!c) {
        c = dp_packet_clone(p, q->large);
    }
    if (!c) {
        q->stats.n_overflow++;
        return DP_IMPAIR_DROP;
    }
    c->ct_conn = NULL;          /* may be gone by the time it leaves */
    slot = &q->ring[(q->head + q->count) % pa->limit];
    slot->p = c;
    slot->due_ns = due;
    q->count++;
    q->last_due_ns = due;
    q->stats.n_queued++;
    return DP_IMPAIR_QUEUED;
}

static struct dp_packet *
dp_impair_q_pop(struct dp_impair_q *q)
{
    struct dp_packet *p = q->ring[q->head].p;

    q->ring[q->head].p = NULL;
    q->head = (q->head + 1) % q->params.limit;
    q->count--;
    q->stats.n_sent++;
    return p;
}

uint32_t
dp_impair_q_dequeue(struct dp_impair_q *q, uint64_t now,
                    struct dp_packet_batch *out)
{
    uint32_t n = 0;

    while (q->count && !dp_packet_batch_is_full(out)) {
        const struct dp_impair_slot *slot = &q->ring[q->head];

        if (slot->due_ns > now) {
            break;
        }
        if (q->params.rate_bps) {
            dp_impair_refill(q, now);
            if (q->tokens < 0) {
                break;
            }
            q->tokens -= dp_impair_cost(dp_packet_size(slot->p));
        }
        dp_packet_batch_add(out, dp_impair_q_pop(q));
        n++;
    }
    return n;
}

uint64_t
dp_impair_q_next_ns(struct dp_impair_q *q, uint64_t now)
{
    uint64_t t;

    if (!q->count) {
        return UINT64_MAX;
    }
    t = q->ring[q->head].due_ns;
    if (q->params.rate_bps) {
        dp_impair_refill(q, now);
        if (q->tokens < 0) {
            uint64_t wait = ((uint64_t) -q->tokens + q->params.rate_bps - 1)
                            / q->params.rate_bps;

            t = MAX(t, now + wait);
        }
    }
    return t;
}

/* ---- Ports ------------------------------------------------------------ */

static struct dp_impair *
dp_impair_create(struct dpif *dpif, struct dp_port *port,
                 const struct dp_impair_params *p)
{
    struct dp_impair *imp;

    imp = xzalloc(sizeof *imp + dpif->n_workers * sizeof imp->q[0]);
    imp->params = *p;
    imp->n_q = dpif->n_workers;
    for (int i = 0; i < imp->n_q; i++) {
        char *name = xasprintf("%s-impair%d", port->netdev->name, i);
        uint64_t seed = (uint64_t) time_nsec() ^ ((uint64_t) port->port_no
                                                  << 32) ^ (i + 1);

        imp->q[i] = dp_impair_q_create(p, name, seed);
        free(name);
        if (!imp->q[i]) {
            goto error;
        }
        imp->q[i]->port = port;
    }
    return imp;

error:
    for (int i = 0; i < imp->n_q; i++) {
        dp_impair_q_destroy(imp->q[i]);
    }
    free(imp);
    return NULL;
}

static void
dp_impair_destroy(struct dp_impair *imp)
{
    if (imp) {
        for (int i = 0; i < imp->n_q; i++) {
            dp_impair_q_destroy(imp->q[i]);
        }
        free(imp);
    }
}

static void
dp_impair_unlink(struct dp_impair_q *q)
{
    if (q->pending) {
        ts_list_remove(&q->node);
        q->pending = false;
    }
}

/* Sends everything 'q' holds at once (its worker's mutex held). */
static void
dp_impair_q_release(struct dp_ctx *ctx, struct dp_impair_q *q)
{
    while (q->count) {
        struct dp_packet_batch b;

        dp_packet_batch_init(&b);
        while (q->count && !dp_packet_batch_is_full(&b)) {
            dp_packet_batch_add(&b, dp_impair_q_pop(q));
        }
        dp_ctx_send(ctx, q->port, &b);
    }
    dp_impair_unlink(q);
}

int
dp_impair_port_set(struct dpif *dpif, struct dp_port *port,
                   const struct dp_impair_params *p)
{
    struct dp_impair *old = port->impair, *imp = NULL;
    bool active = p && dp_impair_params_active(p);

    if (!old && !active) {
        return 0;
    }
    if (active && !(old && old->params.limit == p->limit)) {
        imp = dp_impair_create(dpif, port, p);
        if (!imp) {
            return -ENOMEM;
        }
    }
    for (int i = 0; i < dpif->n_workers; i++) {
        dp_worker_lock(dpif->workers[i]);
    }
    if (active && !imp) {
        /* Same queue length: the queues keep their packets. */
        old->params = *p;
        for (int i = 0; i < old->n_q; i++) {
            dp_impair_q_set_params(old->q[i], p);
        }
        old = NULL;
    } else {
        for (int i = 0; old && i < old->n_q; i++) {
            dp_impair_q_release(&dpif->workers[i]->ctx, old->q[i]);
        }
        port->impair = imp;
    }
    for (int i = 0; i < dpif->n_workers; i++) {
        dp_worker_unlock(dpif->workers[i]);
    }
    dp_impair_destroy(old);
    return 0;
}

void
dp_impair_port_gone(struct dpif *dpif, struct dp_port *port,
                    bool workers_live)
{
    struct dp_impair *imp = port->impair;

    if (!imp) {
        return;
    }
    for (int i = 0; workers_live && i < imp->n_q; i++) {
        dp_worker_lock(dpif->workers[i]);
        dp_impair_unlink(imp->q[i]);
        dp_worker_unlock(dpif->workers[i]);
    }
    port->impair = NULL;
    dp_impair_destroy(imp);
}

/* ---- Packet path ------------------------------------------------------- */

void
dp_impair_filter(struct dp_ctx *ctx, struct dp_port *port,
                 struct dp_packet_batch *batch)
{
    struct dp_impair_q *q;
    uint64_t now, dropped = 0;
    uint32_t k = 0;

    if (!ctx->worker) {
        return;
    }
    q = port->impair->q[ctx->worker->id];
    now = time_nsec();
    for (uint32_t i = 0; i < batch->count; i++) {
        struct dp_packet *p = batch->packets[i];

        switch (dp_impair_q_enqueue(q, p, now)) {
        case DP_IMPAIR_PASS:
            batch->packets[k++] = p;
            break;
        case DP_IMPAIR_DROP:
            dropped++;
            dp_packet_delete(p);
            break;
        case DP_IMPAIR_QUEUED:
        default:
            dp_packet_delete(p);
            break;
        }
    }
    batch->count = k;
    if (dropped) {
        __atomic_add_fetch(&port->tx_dropped, dropped, __ATOMIC_RELAXED);
    }
    if (q->count && !q->pending) {
        ts_list_push_back(&ctx->impair_pending, &q->node);
        q->pending = true;
    }
}

static void
dp_impair_arm(struct dp_ctx *ctx, int tfd, uint64_t when)
{
    struct itimerspec its = {
        .it_value = { .tv_sec = when / NS_PER_SEC,
                      .tv_nsec = when % NS_PER_SEC },
    };

    if (timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL) < 0) {
        static struct log_rl rl = LOG_RL_INIT(5, 20);

        TS_WARN_RL(&rl, "cannot arm the impairment timer: %s",
                   ts_strerror(-errno));
        return;
    }
    ctx->impair_armed_ns = when;
}

void
dp_impair_run(struct dp_ctx *ctx, int tfd)
{
    uint64_t now = time_nsec(), next = UINT64_MAX;
    struct dp_impair_q *q;

    TS_LIST_FOR_EACH_SAFE (q, node, &ctx->impair_pending) {
        struct dp_packet_batch b;

        do {
            dp_packet_batch_init(&b);
            dp_impair_q_dequeue(q, now, &b);
            if (b.count) {
                dp_ctx_send(ctx, q->port, &b);
            }
        } while (q->count && b.count == NETDEV_MAX_BURST);
        if (!q->count) {
            dp_impair_unlink(q);
            continue;
        }
        next = MIN(next, dp_impair_q_next_ns(q, now));
    }
    if (tfd >= 0 && next != UINT64_MAX
        && (next < ctx->impair_armed_ns || ctx->impair_armed_ns <= now)) {
        dp_impair_arm(ctx, tfd, MAX(next, 1));
    }
}
