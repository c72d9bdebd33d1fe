/* dp-worker: the packet path.  Worker threads (receive, look up, upcall,
 * execute, transmit) and the per-thread processing context also used by
 * the main thread for dpif_execute().  Locking: see dp-private.h. */
#include "dp-private.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "conntrack/ct-frag.h"
#include "dp-capture.h"
#include "dp-impair.h"
#include "errors.h"
#include "log.h"
#include "util.h"

TS_LOG_DEFINE(dp_worker);

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define DP_POISON(ADDR, SIZE) ASAN_POISON_MEMORY_REGION(ADDR, SIZE)
#define DP_UNPOISON(ADDR, SIZE) ASAN_UNPOISON_MEMORY_REGION(ADDR, SIZE)
#else
#define DP_POISON(ADDR, SIZE) ((void) (ADDR), (void) (SIZE))
#define DP_UNPOISON(ADDR, SIZE) ((void) (ADDR), (void) (SIZE))
#endif

/* ---- Context: clone pools, tx queues ---------------------------------- */

int
dp_ctx_init(struct dp_ctx *ctx, struct dpif *dpif, struct dp_worker *w)
{
    char *name;

    memset(ctx, 0, sizeof *ctx);
    ctx->dpif = dpif;
    ctx->worker = w;
    name = xasprintf("%s-clone%d", dpif->name, w ? w->id : -1);
    ctx->clone_small = dp_packet_pool_create(name, DP_CLONE_SMALL_N,
                                             DP_CLONE_SMALL_BUF);
    ctx->clone_large = dp_packet_pool_create(name, DP_CLONE_LARGE_N,
                                             DP_CLONE_LARGE_BUF);
    free(name);
    ctx->returns = xcalloc(DP_RETURNS_MAX, sizeof *ctx->returns);
    ctx->frag = ct_frag_create(NULL);
    ctx->frag_res = xzalloc(sizeof *ctx->frag_res);
    ts_list_init(&ctx->impair_pending);
    if (!ctx->clone_small || !ctx->clone_large || !ctx->frag) {
        dp_ctx_release(ctx);
        return -ENOMEM;
    }
    return 0;
}

void
dp_ctx_release(struct dp_ctx *ctx)
{
    dp_packet_pool_destroy(ctx->clone_small);
    dp_packet_pool_destroy(ctx->clone_large);
    ctx->clone_small = ctx->clone_large = NULL;
    free(ctx->returns);
    ctx->returns = NULL;
    ctx->n_returns = 0;
    ct_frag_destroy(ctx->frag);
    ctx->frag = NULL;
    free(ctx->frag_res);
    ctx->frag_res = NULL;
}

void
dp_ctx_send(struct dp_ctx *ctx, struct dp_port *port,
            struct dp_packet_batch *batch)
{
    uint64_t dropped = 0;
    struct dp_capture_port *cap;

    pthread_mutex_lock(&port->tx_mutex);
    /* Under the tx mutex: the tap's tx ring has one producer.  After the
     * impairments: the tap sees what actually leaves. */
    cap = __atomic_load_n(&port->capture, __ATOMIC_ACQUIRE);
    if (OVS_UNLIKELY(cap != NULL) && batch->count) {
        dp_capture_tx(cap, batch);
    }
    if (batch->count) {
        /* Segments a GSO packet into as many batches as it needs. */
        netdev_send_resolving(port->netdev, batch, ctx->clone_small,
                              &dropped);
    }
    pthread_mutex_unlock(&port->tx_mutex);
    if (dropped) {
        __atomic_add_fetch(&port->tx_dropped, dropped, __ATOMIC_RELAXED);
    }
    dp_packet_batch_delete(batch);  /* empty unless send misbehaved */
}

void
dp_ctx_flush_tx(struct dp_ctx *ctx)
{
    for (size_t i = 0; i < ctx->n_txq; i++) {
        struct dp_txq *q = &ctx->txq[i];
        struct dp_port *port = q->port;

        /* Impaired ports keep what must not leave yet (dp-impair.h). */
        if (OVS_UNLIKELY(port->impair != NULL)) {
            dp_impair_filter(ctx, port, &q->batch);
        }
        dp_ctx_send(ctx, port, &q->batch);
    }
    ctx->n_txq = 0;
}

/* Returns the tx queue for 'port', starting one (and flushing the others
 * first if every queue is taken). */
static struct dp_txq *
dp_ctx_txq(struct dp_ctx *ctx, struct dp_port *port)
{
    struct dp_txq *q;

    for (size_t i = 0; i < ctx->n_txq; i++) {
        if (ctx->txq[i].port == port) {
            return &ctx->txq[i];
        }
    }
    if (ctx->n_txq == DP_N_TXQ) {
        dp_ctx_flush_tx(ctx);
    }
    q = &ctx->txq[ctx->n_txq++];
    q->port = port;
    dp_packet_batch_init(&q->batch);
    return q;
}

static void
dp_ctx_output_batch(void *ctx_, uint32_t port_no,
                    struct dp_packet *const pkts[], uint32_t n)
{
    struct dp_ctx *ctx = ctx_;
    struct dp_port *port = dp_port_table_get(ctx->ports, port_no);
    struct dp_txq *q;

    if (!port) {
        DP_COUNT(ctx->c.n_drop_no_port, n);
        for (uint32_t i = 0; i < n; i++) {
            dp_packet_delete(pkts[i]);
        }
        return;
    }
    q = dp_ctx_txq(ctx, port);
    while (n) {
        uint32_t k = MIN(n, NETDEV_MAX_BURST - q->batch.count);

        if (!k) {
            /* Flush everything rather than one queue: keeps per-port
             * order and the loop simple; happens only past 32 packets
             * per port. */
            dp_ctx_flush_tx(ctx);
            q = dp_ctx_txq(ctx, port);
            continue;
        }
        memcpy(&q->batch.packets[q->batch.count], pkts, k * sizeof *pkts);
        q->batch.count += k;
        pkts += k;
        n -= k;
    }
}

static void
dp_ctx_output(void *ctx_, uint32_t port_no, struct dp_packet *p)
{
    dp_ctx_output_batch(ctx_, port_no, &p, 1);
}

static void
dp_ctx_userspace(void *ctx_, const struct dp_packet *p,
                 const struct flow *flow, const struct dpa_userspace *us)
{
    struct dp_ctx *ctx = ctx_;
    struct dpif *dpif = ctx->dpif;

    if (dpif->userspace_cb) {
        dpif->userspace_cb(dpif->userspace_aux, p, flow, us);
    } else {
        DP_COUNT(ctx->c.n_lost, 1);
    }
}

static void
dp_ctx_recirc(void *ctx_, struct dp_exec_batch *b, int depth)
{
    dp_ctx_process(ctx_, b, depth);
}

static struct dp_packet *
dp_ctx_clone(void *ctx_, const struct dp_packet *p)
{
    struct dp_ctx *ctx = ctx_;

    if (dp_packet_size(p) + DP_PACKET_HEADROOM <= DP_CLONE_SMALL_BUF) {
        struct dp_packet *c = dp_packet_clone(p, ctx->clone_small);

        if (c) {
            return c;
        }
    }
    return dp_packet_clone(p, ctx->clone_large);
}

static void
dp_ctx_drop(void *ctx_, enum dp_exec_drop reason, uint32_t n)
{
    struct dp_ctx *ctx = ctx_;

    switch (reason) {
    case DP_EXEC_DROP_NOMEM:
        DP_COUNT(ctx->c.n_drop_nomem, n);
        break;
    case DP_EXEC_DROP_UNSUPPORTED:
        DP_COUNT(ctx->c.n_drop_unsupported, n);
        break;
    case DP_EXEC_DROP_RECIRC_DEPTH:
        DP_COUNT(ctx->c.n_drop_recirc, n);
        break;
    case DP_EXEC_DROP_INVALID:
    default:
        DP_COUNT(ctx->c.n_drop_invalid, n);
        break;
    }
}

static const struct dp_exec_ops dp_ctx_ops = {
    .output = dp_ctx_output,
    .output_batch = dp_ctx_output_batch,
    .userspace = dp_ctx_userspace,
    .recirc = dp_ctx_recirc,
    .clone = dp_ctx_clone,
    .drop = dp_ctx_drop,
};

void
dp_ctx_execute(struct dp_ctx *ctx, struct dp_exec_batch *b,
               const void *actions, size_t size, int depth)
{
    struct dp_exec_ctx ectx = {
        .ops = &dp_ctx_ops,
        .aux = ctx,
        .ct = ctx->dpif->conntrack,
        .frag = ctx->frag,
        .frag_res = ctx->frag_res,
        .now = ctx->now ? ctx->now : time_msec(),
    };

    dp_execute_actions(&ectx, b, actions, size, depth);
}

/* ---- Megaflow store ---------------------------------------------------- */

static int
dp_mf_store_init(struct dp_mf_store *s, size_t capacity)
{
    size_t page = 4096, size;
    void *base;

    memset(s, 0, sizeof *s);
    ts_list_init(&s->free);
    if (!capacity || capacity > (SIZE_MAX - page) / sizeof *s->base) {
        return -EINVAL;
    }
    size = ROUND_UP(capacity * sizeof *s->base, page);
    /* Reserved, not committed: pages are touched only as entries are
     * first used. */
    base = mmap(NULL, size, PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base == MAP_FAILED) {
        return -errno;
    }
    s->base = base;
    s->capacity = capacity;
    s->map_size = size;
    return 0;
}

static void
dp_mf_store_release(struct dp_mf_store *s)
{
    if (s->base) {
        DP_UNPOISON(s->base, s->map_size);
        munmap(s->base, s->map_size);
        s->base = NULL;
    }
}

static struct dp_megaflow *
dp_mf_store_get(struct dp_mf_store *s)
{
    struct dp_megaflow *m;

    if (!ts_list_is_empty(&s->free)) {
        m = CONTAINER_OF(ts_list_pop_front(&s->free), struct dp_megaflow,
                         node);
        DP_UNPOISON(m, sizeof *m);
    } else if (s->n_used < s->capacity) {
        m = &s->base[s->n_used++];
    } else {
        return NULL;
    }
    m->actions = m->inline_actions;
    return m;
}

/* 'm' must be unlinked and unknown to the EMC. */
static void
dp_mf_store_put(struct dp_mf_store *s, struct dp_megaflow *m)
{
    if (m->actions != m->inline_actions) {
        free(m->actions);
    }
    ts_list_push_front(&s->free, &m->node);
    /* Everything but the free-list node: a stale pointer to a recycled
     * megaflow is a use after free under ASan. */
    DP_POISON(m, offsetof(struct dp_megaflow, node));
    DP_POISON(&m->node + 1,
              sizeof *m - offsetof(struct dp_megaflow, node)
              - sizeof m->node);
}

/* ---- Lookup, upcall, install ----------------------------------------- */

static struct dp_megaflow *
dp_megaflow_from_rule(struct dp_cls_rule *rule)
{
    return rule ? CONTAINER_OF(rule, struct dp_megaflow, rule) : NULL;
}

/* Installs a megaflow in the worker's tables with 'cookie' attached.
 * Returns NULL, attaching nothing, if an identical megaflow is already
 * there, the limit is reached, or a long action list cannot be
 * allocated. */
static struct dp_megaflow *
dp_install(struct dp_worker *w, const struct flow *flow,
           struct flow_wildcards *wc, const void *actions, size_t len,
           void *cookie, long long now)
{
    struct dpif *dpif = w->dpif;
    struct dp_megaflow *m;
    size_t n;

    /* Packets at different recirculation stages or from different ports
     * never share a megaflow, whatever the handler un-wildcarded. */
    wc->masks.recirc_id = UINT32_MAX;
    wc->masks.in_port = UINT32_MAX;
    if (dp_cls_find_exact(&w->cls, flow, wc)) {
        return NULL;
    }
    n = __atomic_add_fetch(&dpif->n_megaflows, 1, __ATOMIC_RELAXED);
    m = n <= dpif->max_megaflows ? dp_mf_store_get(&w->store) : NULL;
    if (m && len > sizeof m->inline_actions) {
        m->actions = malloc(ROUND_UP(len, 8));
        if (!m->actions) {
            m->actions = m->inline_actions;
            dp_mf_store_put(&w->store, m);
            m = NULL;
        }
    }
    if (!m) {
        __atomic_sub_fetch(&dpif->n_megaflows, 1, __ATOMIC_RELAXED);
        return NULL;
    }
    memcpy(m->actions, actions, len);
    m->actions_len = len;
    m->cookie = cookie;
    m->dead = false;
    m->created = now;
    memset(&m->stats, 0, sizeof m->stats);
    memset(&m->reported, 0, sizeof m->reported);
    m->batch_group = UINT32_MAX;
    dp_cls_insert(&w->cls, &m->rule, flow, wc);
    ts_list_push_back(&w->megaflows, &m->node);
    return m;
}

/* Queues 'cookie' (if any) to be handed back by the main thread, with
 * 'p' (if nonnull) counted as its one packet.  dp_upcall() made sure
 * that a slot is free before it called the handler. */
static void
dp_ctx_return_cookie(struct dp_ctx *ctx, void *cookie,
                     const struct dp_packet *p, const struct flow *flow)
{
    struct dp_return *r;

    if (!cookie) {
        return;
    }
    r = &ctx->returns[ctx->n_returns++];
    r->cookie = cookie;
    memset(&r->stats, 0, sizeof r->stats);
    if (p) {
        r->stats.n_packets = 1;
        r->stats.n_bytes = dp_packet_size(p);
        r->stats.used = ctx->now;
        r->stats.tcp_flags = ntohs(flow->tcp_flags);
    }
}

/* Handles a miss for packet 'p' with 'flow'.  Returns the megaflow that
 * now covers it, for the caller to execute with its group (the megaflow
 * counts the packet); or NULL after having executed (or dropped) the
 * packet itself, in which case the upcall's cookie, if any, goes back
 * with this packet's statistics (see dpif.h). */
static struct dp_megaflow * __attribute__((noinline))
dp_upcall(struct dp_ctx *ctx, struct dp_packet *p, struct flow *flow,
          int depth)
{
    uint64_t stub[DP_UPCALL_STUB / 8];
    struct dpif *dpif = ctx->dpif;
    struct dp_megaflow *m = NULL;
    struct dp_exec_batch b;
    struct dpif_upcall up;
    int err;

    DP_COUNT(ctx->c.n_missed, 1);
    if (!dpif->upcall_cb || ctx->n_returns >= DP_RETURNS_MAX) {
        /* No handler, or no room to hand a cookie back until the main
         * thread collects. */
        DP_COUNT(ctx->c.n_lost, 1);
        dp_packet_delete(p);
        return NULL;
    }
    memset(&up, 0, sizeof up);
    up.packet = p;
    up.flow = flow;
    DPA_BUF_STUB(&up.actions, stub);
    flow_wildcards_init_catchall(&up.wc);
    err = dpif->upcall_cb(dpif->upcall_aux, &up);
    if (err || up.actions.overflow
        || dp_actions_validate(up.actions.data, up.actions.size)) {
        static struct log_rl rl = LOG_RL_INIT(5, 20);

        TS_WARN_RL(&rl, "%s: upcall failed: %s", dpif->name,
                   err ? ts_strerror(err)
                   : up.actions.overflow ? "actions overflow"
                   : "malformed actions");
        DP_COUNT(ctx->c.n_upcall_errors, 1);
        dp_ctx_return_cookie(ctx, up.cookie, NULL, NULL);
        dp_packet_delete(p);
        return NULL;
    }
    if (up.install && ctx->worker) {
        m = dp_install(ctx->worker, flow, &up.wc, up.actions.data,
                       up.actions.size, up.cookie, ctx->now);
        if (m) {
            return m;
        }
    }
    dp_ctx_return_cookie(ctx, up.cookie, p, flow);
    b.count = 0;
    dp_exec_batch_add(&b, p, flow);
    dp_ctx_execute(ctx, &b, up.actions.data, up.actions.size, depth);
    return NULL;
}

static void
dp_megaflow_credit(struct dp_megaflow *m, const struct dp_exec_batch *b,
                   long long now)
{
    uint64_t bytes = 0;
    uint16_t flags = 0;         /* network order until the end */

    for (uint32_t i = 0; i < b->count; i++) {
        bytes += dp_packet_size(b->packets[i]);
        flags |= b->flows[i]->tcp_flags;
    }
    DP_COUNT(m->stats.n_packets, b->count);
    DP_COUNT(m->stats.n_bytes, bytes);
    __atomic_store_n(&m->stats.used, now, __ATOMIC_RELAXED);
    if (flags) {
        __atomic_store_n(&m->stats.tcp_flags,
                         m->stats.tcp_flags | ntohs(flags), __ATOMIC_RELAXED);
    }
}

/* Runs each group of packets of 'b' that share a megaflow (mf[i], NULL
 * for packets already consumed), groups in order of their first packet.
 * O(n): a megaflow remembers its group index for the batch in
 * 'batch_group', checked against 'gm' so that a stale value from an
 * earlier batch is harmless. */
static void
dp_ctx_run_groups(struct dp_ctx *ctx, struct dp_exec_batch *b,
                  void *const mf[], int depth)
{
    struct dp_megaflow *gm[NETDEV_MAX_BURST];
    uint32_t end[NETDEV_MAX_BURST], order[NETDEV_MAX_BURST];
    uint8_t gi[NETDEV_MAX_BURST];
    uint32_t n = b->count, ng = 0, pos = 0, i;

    /* The common case: one megaflow for the whole batch. */
    for (i = 1; i < n && mf[i] == mf[0]; i++) {
        continue;
    }
    if (i >= n && n && mf[0]) {
        struct dp_megaflow *m = mf[0];

        dp_megaflow_credit(m, b, ctx->now);
        dp_ctx_execute(ctx, b, m->actions, m->actions_len, depth);
        return;
    }

    for (i = 0; i < n; i++) {
        struct dp_megaflow *m = mf[i];
        uint32_t k;

        if (!m) {
            continue;
        }
        k = m->batch_group;
        if (k >= ng || gm[k] != m) {
            k = ng++;
            gm[k] = m;
            end[k] = 0;
            m->batch_group = k;
        }
        gi[i] = k;
        end[k]++;
    }
    /* Counting sort of the packets by group: 'end[k]' becomes the start
     * of group k, then advances to its end. */
    for (uint32_t k = 0, sum = 0; k < ng; k++) {
        sum += end[k];
        end[k] = sum - end[k];
    }
    for (i = 0; i < n; i++) {
        if (mf[i]) {
            order[end[gi[i]]++] = i;
        }
    }
    for (uint32_t k = 0; k < ng; k++) {
        struct dp_exec_batch g;

        g.count = 0;
        for (; pos < end[k]; pos++) {
            dp_exec_batch_add(&g, b->packets[order[pos]],
                              b->flows[order[pos]]);
        }
        dp_megaflow_credit(gm[k], &g, ctx->now);
        dp_ctx_execute(ctx, &g, gm[k]->actions, gm[k]->actions_len, depth);
    }
    b->count = 0;
}

/* Handles the packets of 'b' that 'miss' marks, in order: a megaflow
 * installed for one may cover the next. */
static void
dp_ctx_handle_misses(struct dp_ctx *ctx, struct dp_exec_batch *b,
                     void *mf[], const uint32_t hashes[], uint64_t miss,
                     int depth)
{
    struct dp_worker *w = ctx->worker;
    bool installed = false;

    for (; miss; miss &= miss - 1) {
        uint32_t i = __builtin_ctzll(miss);
        struct dp_megaflow *m = NULL;

        if (installed) {
            m = dp_megaflow_from_rule(dp_cls_lookup(&w->cls, b->flows[i]));
            if (m) {
                mf[i] = m;
                continue;
            }
        }
        m = dp_upcall(ctx, b->packets[i], b->flows[i], depth);
        mf[i] = m;
        if (m) {
            /* Only a worker installs. */
            installed = true;
            dp_emc_insert(w->emc, b->flows[i], hashes[i], m);
        } else {
            b->packets[i] = NULL;   /* consumed by dp_upcall() */
        }
    }
}

BUILD_ASSERT(NETDEV_MAX_BURST <= 64);

void
dp_ctx_process(struct dp_ctx *ctx, struct dp_exec_batch *b, int depth)
{
    struct dp_worker *w = ctx->worker;
    void *mf[NETDEV_MAX_BURST];         /* struct dp_megaflow *, or NULL */
    uint32_t hashes[NETDEV_MAX_BURST];
    uint32_t n = b->count;
    uint64_t miss;

    if (OVS_LIKELY(w != NULL)) {
        uint64_t mf_miss = 0;
        uint32_t n_mf = 0;

        miss = dp_emc_lookup_batch(w->emc, b->flows, n, hashes, mf);
        for (uint64_t left = miss; left; left &= left - 1) {
            uint32_t i = __builtin_ctzll(left);
            struct dp_megaflow *m;

            m = dp_megaflow_from_rule(dp_cls_lookup(&w->cls, b->flows[i]));
            if (m) {
                n_mf++;
                dp_emc_insert(w->emc, b->flows[i], hashes[i], m);
                mf[i] = m;
            } else {
                mf_miss |= UINT64_C(1) << i;
            }
        }
        DP_COUNT(ctx->c.n_hit_emc, n - __builtin_popcountll(miss));
        DP_COUNT(ctx->c.n_hit_megaflow, n_mf);
        miss = mf_miss;
    } else {
        /* The main thread has no caches: every packet is an upcall. */
        for (uint32_t i = 0; i < n; i++) {
            mf[i] = NULL;
        }
        miss = n < 64 ? (UINT64_C(1) << n) - 1 : UINT64_MAX;
    }
    if (OVS_UNLIKELY(miss)) {
        dp_ctx_handle_misses(ctx, b, mf, hashes, miss, depth);
    }

    /* Execution: once per group of packets that share a megaflow. */
    dp_ctx_run_groups(ctx, b, mf, depth);
    b->count = 0;
}

/* ---- Worker thread ----------------------------------------------------- */

void
dp_worker_lock(struct dp_worker *w)
{
    __atomic_add_fetch(&w->n_waiters, 1, __ATOMIC_SEQ_CST);
    pthread_mutex_lock(&w->mutex);
}

void
dp_worker_unlock(struct dp_worker *w)
{
    __atomic_sub_fetch(&w->n_waiters, 1, __ATOMIC_SEQ_CST);
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->mutex);
}

void
dp_worker_wake(struct dp_worker *w)
{
    uint64_t one = 1;

    if (write(w->evfd, &one, sizeof one) < 0 && errno != EAGAIN) {
        TS_WARN("worker %d: cannot wake: %s", w->id, ts_strerror(-errno));
    }
}

/* The worker's side of the mutex: lets waiting main-thread lockers go
 * first. */
static void
dp_worker_enter(struct dp_worker *w)
{
    pthread_mutex_lock(&w->mutex);
    while (__atomic_load_n(&w->n_waiters, __ATOMIC_SEQ_CST)) {
        pthread_cond_wait(&w->cond, &w->mutex);
    }
}

static void
dp_worker_update_timeout(struct dp_worker *w)
{
    w->sleep_timeout_ms = -1;
    for (size_t i = 0; i < w->n_rx; i++) {
        struct dp_port *port = w->rx_ports[i];

        if (port->rx_fd < 0) {
            w->sleep_timeout_ms = 10;
            return;
        }
        if (port->netdev->class->run) {
            w->sleep_timeout_ms = 100;
        }
    }
}

void
dp_worker_add_rx(struct dp_worker *w, struct dp_port *port)
{
    if (w->n_rx == w->allocated_rx) {
        w->allocated_rx = w->allocated_rx ? 2 * w->allocated_rx : 8;
        w->rx_ports = xrealloc(w->rx_ports,
                               w->allocated_rx * sizeof *w->rx_ports);
    }
    w->rx_ports[w->n_rx++] = port;
    port->worker = w;
    if (port->rx_fd >= 0) {
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = port };

        if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, port->rx_fd, &ev) < 0) {
            TS_WARN("worker %d: cannot wait on port %u: %s", w->id,
                    port->port_no, ts_strerror(-errno));
            port->rx_fd = -1;   /* polled with a timeout instead */
        }
    }
    dp_worker_update_timeout(w);
}

void
dp_worker_del_rx(struct dp_worker *w, struct dp_port *port)
{
    for (size_t i = 0; i < w->n_rx; i++) {
        if (w->rx_ports[i] == port) {
            w->rx_ports[i] = w->rx_ports[--w->n_rx];
            break;
        }
    }
    if (port->rx_fd >= 0) {
        epoll_ctl(w->epfd, EPOLL_CTL_DEL, port->rx_fd, NULL);
    }
    port->worker = NULL;
    dp_worker_update_timeout(w);
}

void
dp_worker_unlink_megaflow(struct dp_worker *w, struct dp_megaflow *m)
{
    dp_cls_remove(&w->cls, &m->rule);
    ts_list_remove(&m->node);
    m->dead = true;
    __atomic_sub_fetch(&w->dpif->n_megaflows, 1, __ATOMIC_RELAXED);
}

static bool
dp_megaflow_is_dead(const void *m_)
{
    const struct dp_megaflow *m = m_;

    return m->dead;
}

void
dp_worker_sweep_emc(struct dp_worker *w)
{
    dp_emc_sweep(w->emc, dp_megaflow_is_dead);
}

void
dp_worker_free_megaflow(struct dp_worker *w, struct dp_megaflow *m)
{
    dp_mf_store_put(&w->store, m);
}

/* One pass over the worker's ports.  Returns packets received. */
static uint32_t
dp_worker_pass(struct dp_worker *w)
{
    struct dp_ctx *ctx = &w->ctx;
    uint32_t total = 0;

    ctx->ports = __atomic_load_n(&w->dpif->ports, __ATOMIC_ACQUIRE);
    ctx->now = time_msec();
    for (size_t i = 0; i < w->n_rx; i++) {
        struct dp_port *port = w->rx_ports[i];
        struct flow flows[NETDEV_MAX_BURST];
        struct dp_packet_batch rx;
        struct dp_exec_batch b;
        struct dp_capture_port *cap;
        int n;

        dp_packet_batch_init(&rx);
        n = port->netdev->class->recv(port->netdev, &rx);
        if (n < 0) {
            DP_COUNT(port->rx_errors, 1);
        }
        if (!rx.count) {
            continue;
        }
        cap = __atomic_load_n(&port->capture, __ATOMIC_ACQUIRE);
        if (OVS_UNLIKELY(cap != NULL)) {
            dp_capture_rx(cap, &rx);
        }
        b.count = 0;
        for (uint32_t j = 0; j < rx.count; j++) {
            struct dp_packet *p = rx.packets[j];

            p->in_port = port->port_no;
            flow_extract(p, &flows[j]);
            dp_exec_batch_add(&b, p, &flows[j]);
        }
        total += rx.count;
        dp_ctx_process(ctx, &b, 0);
        dp_ctx_flush_tx(ctx);
    }
    if (OVS_UNLIKELY(!ts_list_is_empty(&ctx->impair_pending))) {
        dp_impair_run(ctx, w->tfd);
    }
    return total;
}

static void
dp_worker_run_netdevs(struct dp_worker *w)
{
    for (size_t i = 0; i < w->n_rx; i++) {
        struct netdev *netdev = w->rx_ports[i]->netdev;

        if (netdev->class->run) {
            netdev->class->run(netdev);
        }
    }
}

static void
dp_worker_sleep(struct dp_worker *w, int timeout_ms)
{
    struct epoll_event evs[16];
    uint64_t junk;

    if (epoll_wait(w->epfd, evs, ARRAY_SIZE(evs), timeout_ms) < 0
        && errno != EINTR) {
        static struct log_rl rl = LOG_RL_INIT(5, 20);

        TS_WARN_RL(&rl, "worker %d: epoll_wait: %s", w->id,
                   ts_strerror(-errno));
    }
    if (read(w->evfd, &junk, sizeof junk) < 0) {
        /* EAGAIN: woken by a port, not by the main thread. */
    }
    if (read(w->tfd, &junk, sizeof junk) < 0) {
        /* EAGAIN: the impairment timer has not fired. */
    }
}

static void *
dp_worker_main(void *w_)
{
    struct dp_worker *w = w_;
    unsigned int empty = 0;
    long long last_sort = 0;
    uint64_t passes = 0;

    for (;;) {
        int timeout;
        bool idle;

        dp_worker_enter(w);
        if (w->exit) {
            pthread_mutex_unlock(&w->mutex);
            break;
        }
        empty = dp_worker_pass(w) ? 0 : empty + 1;
        idle = empty >= DP_IDLE_POLLS;
        if (idle || !(++passes & 1023)) {
            dp_worker_run_netdevs(w);
        }
        if (w->ctx.now - last_sort >= 1000) {
            dp_cls_sort(&w->cls);
            last_sort = w->ctx.now;
        }
        timeout = w->sleep_timeout_ms;
        pthread_mutex_unlock(&w->mutex);
        if (idle) {
            dp_worker_sleep(w, timeout);
            empty = 0;
        }
    }
    return NULL;
}

struct dp_worker *
dp_worker_create(struct dpif *dpif, int id)
{
    struct dp_worker *w = xzalloc(sizeof *w);
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
    int err;

    w->dpif = dpif;
    w->id = id;
    w->epfd = w->evfd = w->tfd = -1;
    pthread_mutex_init(&w->mutex, NULL);
    pthread_cond_init(&w->cond, NULL);
    ts_list_init(&w->megaflows);
    dp_cls_init(&w->cls);
    w->sleep_timeout_ms = -1;
    w->emc = dp_emc_create();
    err = dp_mf_store_init(&w->store, dpif->max_megaflows);
    if (err) {
        TS_ERR("%s: worker %d: cannot reserve %zu megaflows: %s",
               dpif->name, id, dpif->max_megaflows, ts_strerror(err));
        goto error;
    }
    if (dp_ctx_init(&w->ctx, dpif, w)) {
        goto error;
    }
    w->epfd = epoll_create1(EPOLL_CLOEXEC);
    w->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    w->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (w->epfd < 0 || w->evfd < 0 || w->tfd < 0
        || epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->evfd, &ev) < 0
        || epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->tfd, &ev) < 0) {
        TS_ERR("%s: worker %d: cannot create descriptors: %s", dpif->name,
               id, ts_strerror(-errno));
        goto error;
    }
    err = pthread_create(&w->thread, NULL, dp_worker_main, w);
    if (err) {
        TS_ERR("%s: cannot start worker %d: %s", dpif->name, id,
               ts_strerror(-err));
        goto error;
    }
    w->started = true;
    /* "pmd" like OVS's datapath threads, so top -H and perf name them. */
    char tname[16];
    snprintf(tname, sizeof tname, "pmd-%.8s-%d", dpif->name, id);
    pthread_setname_np(w->thread, tname);
    return w;

error:
    dp_worker_destroy(w);
    return NULL;
}

void
dp_worker_stop(struct dp_worker *w)
{
    if (w && w->started) {
        dp_worker_lock(w);
        w->exit = true;
        dp_worker_unlock(w);
        dp_worker_wake(w);
        pthread_join(w->thread, NULL);
        w->started = false;
    }
}

void
dp_worker_destroy(struct dp_worker *w)
{
    struct dp_megaflow *m;

    if (!w) {
        return;
    }
    dp_worker_stop(w);
    TS_LIST_FOR_EACH_SAFE (m, node, &w->megaflows) {
        dp_worker_unlink_megaflow(w, m);
        dp_worker_free_megaflow(w, m);
    }
    dp_mf_store_release(&w->store);
    dp_cls_release(&w->cls);
    dp_emc_destroy(w->emc);
    dp_ctx_release(&w->ctx);
    if (w->epfd >= 0) {
        close(w->epfd);
    }
    if (w->evfd >= 0) {
        close(w->evfd);
    }
    if (w->tfd >= 0) {
        close(w->tfd);
    }
    free(w->rx_ports);
    pthread_cond_destroy(&w->cond);
    pthread_mutex_destroy(&w->mutex);
    free(w);
}
