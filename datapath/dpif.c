/* dpif: datapath instances, ports and megaflow management (main thread).
 * The packet path is in dp-worker.c; locking rules in dp-private.h. */
#include "dpif.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dp-capture.h"
#include "dp-impair.h"
#include "dp-private.h"
#include "errors.h"
#include "log.h"
#include "netdev.h"
#include "util.h"

TS_LOG_DEFINE(dpif);

#define DPIF_DEFAULT_MAX_MEGAFLOWS 200000
#define DPIF_DEFAULT_IDLE_MS 10000
#define DPIF_MAX_WORKERS 64

/* ---- Port tables ------------------------------------------------------ */

static struct dp_port_table *
dp_port_table_build(const struct dp_port_table *old, struct dp_port *add,
                    const struct dp_port *del)
{
    uint32_t max_no = 0;
    struct dp_port_table *t;

    for (uint32_t i = 0; old && i <= old->max_no; i++) {
        if (old->by_no[i] && old->by_no[i] != del) {
            max_no = i;
        }
    }
    if (add && add->port_no != DPIF_PORT_LOCAL) {
        max_no = MAX(max_no, add->port_no);
    }
    t = xzalloc(sizeof *t + (max_no + 1) * sizeof t->by_no[0]);
    t->max_no = max_no;
    for (uint32_t i = 0; old && i <= MIN(old->max_no, max_no); i++) {
        if (old->by_no[i] != del) {
            t->by_no[i] = old->by_no[i];
        }
    }
    t->local = old && old->local != del ? old->local : NULL;
    if (add) {
        if (add->port_no == DPIF_PORT_LOCAL) {
            t->local = add;
        } else {
            t->by_no[add->port_no] = add;
        }
    }
    for (uint32_t i = 0; i <= max_no; i++) {
        t->n += t->by_no[i] != NULL;
    }
    t->n += t->local != NULL;
    return t;
}

/* After this, no worker uses anything it read before the call (see
 * dp-private.h). */
static void
dp_quiesce_workers(struct dpif *dpif)
{
    for (int i = 0; i < dpif->n_workers; i++) {
        dp_worker_lock(dpif->workers[i]);
        dp_worker_unlock(dpif->workers[i]);
    }
}

static void
dp_ports_publish(struct dpif *dpif, struct dp_port_table *t)
{
    struct dp_port_table *old = dpif->ports;

    __atomic_store_n(&dpif->ports, t, __ATOMIC_RELEASE);
    dp_quiesce_workers(dpif);
    free(old);
}

static struct dp_port *
dp_port_by_name(const struct dpif *dpif, const char *name)
{
    const struct dp_port_table *t = dpif->ports;

    for (uint32_t i = 0; i <= t->max_no; i++) {
        if (t->by_no[i] && !strcmp(t->by_no[i]->netdev->name, name)) {
            return t->by_no[i];
        }
    }
    if (t->local && !strcmp(t->local->netdev->name, name)) {
        return t->local;
    }
    return NULL;
}

/* ---- Instances -------------------------------------------------------- */

int
dpif_create(const char *name, const struct dpif_config *cfg,
            struct dpif **dpifp)
{
    struct dpif *dpif;
    int n_workers = cfg && cfg->n_workers ? cfg->n_workers : 1;
    int err;

    *dpifp = NULL;
    if (!name || !*name || n_workers < 0 || n_workers > DPIF_MAX_WORKERS
        || (cfg && cfg->megaflow_idle_ms < 0)) {
        return -EINVAL;
    }
    dpif = xzalloc(sizeof *dpif);
    dpif->name = xstrdup(name);
    dpif->max_megaflows = cfg && cfg->max_megaflows
                          ? cfg->max_megaflows : DPIF_DEFAULT_MAX_MEGAFLOWS;
    dpif->megaflow_idle_ms = cfg && cfg->megaflow_idle_ms
                             ? cfg->megaflow_idle_ms : DPIF_DEFAULT_IDLE_MS;
    dpif->ports = dp_port_table_build(NULL, NULL, NULL);
    dpif->ct = cfg && cfg->ct ? cfg->ct : dpif_ct_global();
    dpif->conntrack = dpif_ct_conntrack(dpif->ct);
    err = dp_ctx_init(&dpif->main_ctx, dpif, NULL);
    if (err) {
        goto error;
    }
    dpif->workers = xcalloc(n_workers, sizeof *dpif->workers);
    for (int i = 0; i < n_workers; i++) {
        dpif->workers[i] = dp_worker_create(dpif, i);
        if (!dpif->workers[i]) {
            err = -ENOMEM;
            goto error;
        }
        dpif->n_workers++;
    }
    *dpifp = dpif;
    return 0;

error:
    dpif_destroy(dpif);
    return err;
}


void
dpif_destroy(struct dpif *dpif)
{
    struct dp_port_table *t;

    if (!dpif) {
        return;
    }
    /* Stop the threads first, so that no upcall attaches or returns a
     * cookie after the final reports; then report and free. */
    for (int i = 0; i < dpif->n_workers; i++) {
        dp_worker_stop(dpif->workers[i]);
    }
    dpif_flow_flush(dpif);
    for (int i = 0; i < dpif->n_workers; i++) {
        dp_worker_destroy(dpif->workers[i]);
    }
    free(dpif->workers);
    t = dpif->ports;
    for (uint32_t i = 0; t && i <= t->max_no + 1; i++) {
        struct dp_port *port = i <= t->max_no ? t->by_no[i] : t->local;

        if (port) {
            dp_capture_port_gone(port);
            dp_impair_port_gone(dpif, port, false);
            smap_destroy(&port->options);
            netdev_close(port->netdev);
            pthread_mutex_destroy(&port->tx_mutex);
            free(port);
        }
    }
    free(t);
    dp_ctx_release(&dpif->main_ctx);
    free(dpif->name);
    free(dpif);
}

const char *
dpif_name(const struct dpif *dpif)
{
    return dpif->name;
}

void
dpif_set_upcall_cb(struct dpif *dpif, dpif_upcall_cb *cb, void *aux)
{
    for (int i = 0; i < dpif->n_workers; i++) {
        dp_worker_lock(dpif->workers[i]);
    }
    dpif->upcall_cb = cb;
    dpif->upcall_aux = aux;
    for (int i = 0; i < dpif->n_workers; i++) {
        dp_worker_unlock(dpif->workers[i]);
    }
}

void
dpif_set_userspace_cb(struct dpif *dpif, dpif_userspace_cb *cb, void *aux)
{
    for (int i = 0; i < dpif->n_workers; i++) {
        dp_worker_lock(dpif->workers[i]);
    }
    dpif->userspace_cb = cb;
    dpif->userspace_aux = aux;
    for (int i = 0; i < dpif->n_workers; i++) {
        dp_worker_unlock(dpif->workers[i]);
    }
}

void
dpif_set_stats_cb(struct dpif *dpif, dpif_stats_cb *cb, void *aux)
{
    dpif->stats_cb = cb;
    dpif->stats_aux = aux;
}

/* ---- Ports ------------------------------------------------------------ */

static bool
dp_type_may_be_local(const char *type)
{
    return type && (!strcmp(type, "internal") || !strcmp(type, "dummy"));
}

static int
dp_choose_port_no(const struct dpif *dpif, const char *type,
                  uint32_t *port_no, char **errp)
{
    const struct dp_port_table *t = dpif->ports;
    uint32_t req = *port_no;
    struct dp_port *old;

    if (req == DPIF_PORT_LOCAL) {
        if (!dp_type_may_be_local(type)) {
            *errp = xasprintf("port number %u (LOCAL) is reserved for "
                              "internal ports", req);
            return -EINVAL;
        }
        if (t->local) {
            *errp = xasprintf("port number LOCAL already in use by '%s'",
                              t->local->netdev->name);
            return -TS_ERR_OFPORT_IN_USE;
        }
        return 0;
    }
    if (req > DPIF_PORT_MAX) {
        *errp = xasprintf("port number %u out of range (1 to %u)", req,
                          DPIF_PORT_MAX);
        return -EINVAL;
    }
    if (req) {
        old = dp_port_table_get(t, req);
        if (old) {
            *errp = xasprintf("port number %u already in use by '%s'", req,
                              old->netdev->name);
            return -TS_ERR_OFPORT_IN_USE;
        }
        return 0;
    }
    for (uint32_t n = 1; n <= DPIF_PORT_MAX; n++) {
        if (!dp_port_table_get(t, n)) {
            *port_no = n;
            return 0;
        }
    }
    *errp = xstrdup("no free port number");
    return -ENOSPC;
}

static struct dp_worker *
dp_least_loaded_worker(const struct dpif *dpif)
{
    struct dp_worker *best = NULL;

    for (int i = 0; i < dpif->n_workers; i++) {
        struct dp_worker *w = dpif->workers[i];

        /* n_rx changes only under the main thread's own calls. */
        if (!best || w->n_rx < best->n_rx) {
            best = w;
        }
    }
    return best;
}

int
dpif_port_add(struct dpif *dpif, const char *name, const char *type,
              const struct smap *options, uint32_t *port_no, char **errp)
{
    struct netdev *netdev;
    struct dp_port *port;
    struct dp_worker *w;
    uint32_t no = *port_no;
    const char *eff_type = type && *type ? type : NULL;
    struct dp_impair_params impair;
    struct smap nd_options;
    int err;

    *errp = NULL;
    if (!name || !*name) {
        *errp = xstrdup("port name is empty");
        return -EINVAL;
    }
    if (dp_port_by_name(dpif, name)) {
        *errp = xasprintf("port '%s' already exists", name);
        return -TS_ERR_PORT_EXISTS;
    }
    err = dp_choose_port_no(dpif, eff_type, &no, errp);
    if (err) {
        return err;
    }
    /* Impairment keys are the datapath's (dp-impair.h); the netdev sees
     * the others. */
    err = dp_impair_parse(options, &impair, &nd_options, errp);
    if (err) {
        return err;
    }
    /* netdev_open() picks the default type (and falls back from afxdp to
     * afpacket) when none is given. */
    err = netdev_open(name, eff_type, &nd_options, &netdev, errp);
    if (err) {
        smap_destroy(&nd_options);
        return err;
    }
    port = xzalloc(sizeof *port);
    port->port_no = no;
    port->netdev = netdev;
    port->tx_offloads = netdev->class->tx_offloads(netdev);
    port->rx_fd = netdev->class->rx_fd(netdev);
    port->options = nd_options;
    pthread_mutex_init(&port->tx_mutex, NULL);
    /* Not yet visible to any worker. */
    if (dp_impair_port_set(dpif, port, &impair)) {
        *errp = xasprintf("cannot allocate the impairment queues of '%s'",
                          name);
        smap_destroy(&port->options);
        netdev_close(netdev);
        pthread_mutex_destroy(&port->tx_mutex);
        free(port);
        return -ENOMEM;
    }

    dp_ports_publish(dpif, dp_port_table_build(dpif->ports, port, NULL));
    w = dp_least_loaded_worker(dpif);
    dp_worker_lock(w);
    dp_worker_add_rx(w, port);
    dp_worker_unlock(w);
    dp_worker_wake(w);
    TS_INFO("%s: added port %u '%s' (%s)", dpif->name, no, name,
            netdev->type);
    *port_no = no;
    return 0;
}

int
dpif_port_del(struct dpif *dpif, uint32_t port_no)
{
    struct dp_port *port = dp_port_table_get(dpif->ports, port_no);
    struct dp_worker *w;

    if (!port) {
        return -TS_ERR_NO_PORT;
    }
    w = port->worker;
    if (w) {
        dp_worker_lock(w);
        dp_worker_del_rx(w, port);
        dp_worker_unlock(w);
    }
    /* Publishing quiesces every worker: none holds the port in a tx
     * queue or a port table afterwards. */
    dp_ports_publish(dpif, dp_port_table_build(dpif->ports, NULL, port));
    TS_INFO("%s: deleted port %u '%s'", dpif->name, port_no,
            port->netdev->name);
    dp_capture_port_gone(port);
    dp_impair_port_gone(dpif, port, true);
    smap_destroy(&port->options);
    netdev_close(port->netdev);
    pthread_mutex_destroy(&port->tx_mutex);
    free(port);
    return 0;
}

/* True if 'a' and 'b' hold the same pairs, in any order; otherwise
 * '*key' names one that differs. */
static bool
dp_smap_equal(const struct smap *a, const struct smap *b, const char **key)
{
    const struct smap_entry *e;

    SMAP_FOR_EACH (e, a) {
        const char *v = smap_get(b, e->key);

        if (!v || strcmp(v, e->value)) {
            *key = e->key;
            return false;
        }
    }
    SMAP_FOR_EACH (e, b) {
        if (!smap_get(a, e->key)) {
            *key = e->key;
            return false;
        }
    }
    return true;
}

int
dpif_port_set_options(struct dpif *dpif, uint32_t port_no,
                      const struct smap *options, char **errp)
{
    struct dp_port *port = dp_port_table_get(dpif->ports, port_no);
    struct dp_impair_params impair;
    struct smap nd_options;
    const char *key = NULL;
    int err;

    *errp = NULL;
    if (!port) {
        *errp = xasprintf("no port number %u", port_no);
        return -TS_ERR_NO_PORT;
    }
    err = dp_impair_parse(options, &impair, &nd_options, errp);
    if (err) {
        return err;
    }
    if (!dp_smap_equal(&port->options, &nd_options, &key)) {
        *errp = xasprintf("option '%s' of port '%s' cannot change while "
                          "the port exists (delete and add the port "
                          "again); only delay, jitter, loss, rate and "
                          "limit change at run time", key,
                          port->netdev->name);
        smap_destroy(&nd_options);
        return -EOPNOTSUPP;
    }
    smap_destroy(&nd_options);
    err = dp_impair_port_set(dpif, port, &impair);
    if (err) {
        *errp = xasprintf("cannot allocate the impairment queues of '%s'",
                          port->netdev->name);
    }
    return err;
}

int
dpif_port_query(const struct dpif *dpif, uint32_t port_no,
                struct dpif_port_info *info)
{
    struct dp_port *port = dp_port_table_get(dpif->ports, port_no);
    struct netdev *netdev;

    memset(info, 0, sizeof *info);
    if (!port) {
        return -TS_ERR_NO_PORT;
    }
    netdev = port->netdev;
    info->port_no = port_no;
    ts_strlcpy(info->name, netdev->name, sizeof info->name);
    ts_strlcpy(info->type, netdev->type, sizeof info->type);
    if (netdev->class->get_mac) {
        netdev->class->get_mac(netdev, &info->mac);
    }
    info->mtu = 1500;
    if (netdev->class->get_mtu) {
        netdev->class->get_mtu(netdev, &info->mtu);
    }
    return 0;
}

int
dpif_port_stats(const struct dpif *dpif, uint32_t port_no,
                struct dpif_port_stats *st)
{
    struct dp_port *port = dp_port_table_get(dpif->ports, port_no);
    struct netdev_stats ns;

    memset(st, 0, sizeof *st);
    if (!port) {
        return -TS_ERR_NO_PORT;
    }
    memset(&ns, 0, sizeof ns);
    port->netdev->class->get_stats(port->netdev, &ns);
    st->rx_packets = ns.rx_packets;
    st->rx_bytes = ns.rx_bytes;
    st->rx_dropped = ns.rx_dropped;
    st->rx_errors = ns.rx_errors + DP_READ(port->rx_errors);
    st->tx_packets = ns.tx_packets;
    st->tx_bytes = ns.tx_bytes;
    st->tx_dropped = ns.tx_dropped + DP_READ(port->tx_dropped);
    st->tx_errors = ns.tx_errors;
    return 0;
}

size_t
dpif_port_list(const struct dpif *dpif, uint32_t *ports, size_t max)
{
    const struct dp_port_table *t = dpif->ports;
    size_t n = 0;

    for (uint32_t i = 0; i <= t->max_no; i++) {
        if (t->by_no[i]) {
            if (n < max) {
                ports[n] = i;
            }
            n++;
        }
    }
    if (t->local) {
        if (n < max) {
            ports[n] = DPIF_PORT_LOCAL;
        }
        n++;
    }
    return n;
}

static struct netdev *
dp_dummy_netdev(const struct dpif *dpif, uint32_t port_no)
{
    struct dp_port *port = dp_port_table_get(dpif->ports, port_no);

    if (!port || strcmp(port->netdev->type, "dummy")) {
        return NULL;
    }
    return port->netdev;
}

int
dpif_port_inject(struct dpif *dpif, uint32_t port_no, const void *frame,
                 size_t len)
{
    struct netdev *netdev = dp_dummy_netdev(dpif, port_no);

    if (!netdev) {
        return dp_port_table_get(dpif->ports, port_no)
               ? -EOPNOTSUPP : -TS_ERR_NO_PORT;
    }
    return netdev_dummy_inject(netdev, frame, len);
}

int
dpif_port_collect(struct dpif *dpif, uint32_t port_no,
                  struct dp_packet **out, size_t max)
{
    struct netdev *netdev = dp_dummy_netdev(dpif, port_no);

    if (!netdev) {
        return dp_port_table_get(dpif->ports, port_no)
               ? -EOPNOTSUPP : -TS_ERR_NO_PORT;
    }
    return netdev_dummy_collect(netdev, out, max);
}

/* ---- Megaflows -------------------------------------------------------- */

/* Statistics to report once the worker's mutex is released.  The
 * report carries copies, so the megaflow it came from may be recycled
 * before the report is delivered. */
struct dp_report {
    void *cookie;
    struct dpif_flow_stats delta;
    bool removed;
};

struct dp_reports {
    struct dp_report *r;
    size_t n, allocated;
};

static struct dp_report *
dp_reports_append(struct dp_reports *rs)
{
    if (rs->n == rs->allocated) {
        rs->allocated = rs->allocated ? 2 * rs->allocated : 64;
        rs->r = xrealloc(rs->r, rs->allocated * sizeof *rs->r);
    }
    return &rs->r[rs->n++];
}

/* Mutex held.  Records 'm''s statistics since the last report. */
static void
dp_reports_add(struct dp_reports *rs, struct dp_megaflow *m, bool removed)
{
    struct dp_report *r;

    if (!removed && m->stats.n_packets == m->reported.n_packets) {
        return;
    }
    r = dp_reports_append(rs);
    r->cookie = m->cookie;
    r->delta.n_packets = m->stats.n_packets - m->reported.n_packets;
    r->delta.n_bytes = m->stats.n_bytes - m->reported.n_bytes;
    r->delta.used = m->stats.used;
    r->delta.tcp_flags = m->stats.tcp_flags;
    r->removed = removed;
    m->reported = m->stats;
}

/* Moves the cookies that 'ctx' could not attach to a megaflow into 'rs'
 * as final reports.  The worker's mutex held (or the main context). */
static void
dp_reports_take_returns(struct dp_reports *rs, struct dp_ctx *ctx)
{
    for (size_t i = 0; i < ctx->n_returns; i++) {
        struct dp_report *r = dp_reports_append(rs);

        r->cookie = ctx->returns[i].cookie;
        r->delta = ctx->returns[i].stats;
        r->removed = true;
    }
    ctx->n_returns = 0;
}

/* Mutex released: calls the statistics callback. */
static void
dp_reports_flush(struct dp_reports *rs, dpif_stats_cb *cb, void *aux)
{
    for (size_t i = 0; i < rs->n; i++) {
        struct dp_report *r = &rs->r[i];

        if (cb) {
            cb(aux, r->cookie, &r->delta, r->removed);
        }
    }
    rs->n = 0;
}

static void
dp_reports_destroy(struct dp_reports *rs)
{
    free(rs->r);
}

/* Mutex held, EMC already swept: recycles the megaflows on 'dead'. */
static void
dp_free_dead(struct dp_worker *w, struct ts_list *dead)
{
    struct dp_megaflow *m;

    TS_LIST_FOR_EACH_SAFE (m, node, dead) {
        ts_list_remove(&m->node);
        dp_worker_free_megaflow(w, m);
    }
}

/* Hands back the main context's unattached cookies (main thread). */
static void
dp_return_main(struct dpif *dpif, dpif_stats_cb *cb, void *aux)
{
    struct dp_reports rs = { NULL, 0, 0 };

    dp_reports_take_returns(&rs, &dpif->main_ctx);
    dp_reports_flush(&rs, cb, aux);
    dp_reports_destroy(&rs);
}

static void
dp_flush_worker(struct dpif *dpif, struct dp_worker *w)
{
    struct dp_reports rs = { NULL, 0, 0 };
    struct ts_list dead = TS_LIST_INITIALIZER(&dead);
    struct dp_megaflow *m;

    dp_worker_lock(w);
    TS_LIST_FOR_EACH_SAFE (m, node, &w->megaflows) {
        dp_worker_unlink_megaflow(w, m);
        dp_reports_add(&rs, m, true);
        ts_list_push_back(&dead, &m->node);
    }
    dp_reports_take_returns(&rs, &w->ctx);
    dp_emc_clear(w->emc);
    dp_free_dead(w, &dead);
    dp_worker_unlock(w);
    dp_reports_flush(&rs, dpif->stats_cb, dpif->stats_aux);
    dp_reports_destroy(&rs);
}

void
dpif_flow_flush(struct dpif *dpif)
{
    for (int i = 0; i < dpif->n_workers; i++) {
        dp_flush_worker(dpif, dpif->workers[i]);
    }
    dp_return_main(dpif, dpif->stats_cb, dpif->stats_aux);
}

/* Visits every megaflow of 'w' in slices of DP_SLICE per hold of the
 * mutex.  'visit' returns true to remove the megaflow.  Only the main
 * thread removes megaflows and the worker only appends, so the saved
 * position stays valid while the mutex is released between slices.
 * With a callback 'cb', the worker's unattached cookies go back too. */
static void
dp_walk_worker(struct dp_worker *w,
               bool (*visit)(struct dp_megaflow *, void *aux), void *aux,
               dpif_stats_cb *cb, void *cb_aux, bool report_live)
{
    struct dp_reports rs = { NULL, 0, 0 };
    struct ts_list *pos;

    dp_worker_lock(w);
    if (cb) {
        dp_reports_take_returns(&rs, &w->ctx);
    }
    pos = w->megaflows.next;
    while (pos != &w->megaflows) {
        struct ts_list dead = TS_LIST_INITIALIZER(&dead);

        for (size_t k = 0; k < DP_SLICE && pos != &w->megaflows; k++) {
            struct dp_megaflow *m = CONTAINER_OF(pos, struct dp_megaflow,
                                                 node);

            pos = pos->next;
            if (visit(m, aux)) {
                dp_worker_unlink_megaflow(w, m);
                dp_reports_add(&rs, m, true);
                ts_list_push_back(&dead, &m->node);
            } else if (report_live) {
                dp_reports_add(&rs, m, false);
            }
        }
        if (!ts_list_is_empty(&dead)) {
            dp_worker_sweep_emc(w);
            dp_free_dead(w, &dead);
        }
        if (pos != &w->megaflows) {
            dp_worker_unlock(w);
            dp_reports_flush(&rs, cb, cb_aux);
            dp_worker_lock(w);
        }
    }
    dp_worker_unlock(w);
    dp_reports_flush(&rs, cb, cb_aux);
    dp_reports_destroy(&rs);
}

struct dp_reval_aux {
    dpif_revalidate_cb *check;
    void *aux;
};

static bool
dp_reval_visit(struct dp_megaflow *m, void *aux_)
{
    struct dp_reval_aux *aux = aux_;

    return !aux->check(aux->aux, &m->rule.key, dp_cls_rule_mask(&m->rule),
                       m->actions, m->actions_len, m->cookie);
}

void
dpif_revalidate(struct dpif *dpif, dpif_revalidate_cb *check, void *aux)
{
    struct dp_reval_aux ra = { check, aux };

    /* Removed megaflows get their final report; the others keep
     * accumulating until dpif_collect_stats(). */
    for (int i = 0; i < dpif->n_workers; i++) {
        dp_walk_worker(dpif->workers[i], dp_reval_visit, &ra,
                       dpif->stats_cb, dpif->stats_aux, false);
    }
    dp_return_main(dpif, dpif->stats_cb, dpif->stats_aux);
}

struct dp_idle_aux {
    long long cutoff;
};

static bool
dp_idle_visit(struct dp_megaflow *m, void *aux_)
{
    const struct dp_idle_aux *aux = aux_;
    long long used = DP_READ(m->stats.used);

    return MAX(used, m->created) < aux->cutoff;
}

void
dpif_collect_stats(struct dpif *dpif, dpif_stats_cb *cb, void *aux)
{
    struct dp_idle_aux ia = { time_msec() - dpif->megaflow_idle_ms };

    if (!dpif->stats_cb) {
        /* Until dpif_set_stats_cb() is called, flush and revalidation
         * report through the last collector. */
        dpif->stats_cb = cb;
        dpif->stats_aux = aux;
    }
    for (int i = 0; i < dpif->n_workers; i++) {
        dp_walk_worker(dpif->workers[i], dp_idle_visit, &ia, cb, aux, true);
    }
    dp_return_main(dpif, cb, aux);
}

struct dp_dump_aux {
    void (*cb)(void *aux, const struct dpif_flow_dump_entry *);
    void *aux;
};

static bool
dp_dump_visit(struct dp_megaflow *m, void *aux_)
{
    const struct dp_dump_aux *da = aux_;
    struct dpif_flow_dump_entry e;

    e.key = m->rule.key;
    e.mask = *dp_cls_rule_mask(&m->rule);
    e.actions = m->actions;
    e.actions_len = m->actions_len;
    e.stats = m->stats;
    da->cb(da->aux, &e);
    return false;
}

void
dpif_flow_dump(struct dpif *dpif,
               void (*cb)(void *aux, const struct dpif_flow_dump_entry *),
               void *aux)
{
    struct dp_dump_aux da = { cb, aux };

    for (int i = 0; i < dpif->n_workers; i++) {
        dp_walk_worker(dpif->workers[i], dp_dump_visit, &da, NULL, NULL,
                       false);
    }
}

size_t
dpif_flow_count(const struct dpif *dpif)
{
    return __atomic_load_n(&dpif->n_megaflows, __ATOMIC_RELAXED);
}

/* ---- Execution -------------------------------------------------------- */

int
dpif_execute(struct dpif *dpif, struct dp_packet *packet,
             const struct flow *flow, const void *actions,
             size_t actions_len)
{
    struct dp_ctx *ctx = &dpif->main_ctx;
    struct dp_exec_batch b;
    struct flow f = *flow;
    int err;

    err = dp_actions_validate(actions, actions_len);
    if (err) {
        dp_packet_delete(packet);
        return err;
    }
    ctx->ports = dpif->ports;
    ctx->now = time_msec();
    b.count = 0;
    dp_exec_batch_add(&b, packet, &f);
    dp_ctx_execute(ctx, &b, actions, actions_len, 0);
    dp_ctx_flush_tx(ctx);
    return 0;
}

/* ---- Statistics -------------------------------------------------------- */

static void
dp_add_counters(struct dpif_stats *st, const struct dp_ctx_counters *c)
{
    st->n_hit_emc += DP_READ(c->n_hit_emc);
    st->n_hit_megaflow += DP_READ(c->n_hit_megaflow);
    st->n_missed += DP_READ(c->n_missed);
    st->n_lost += DP_READ(c->n_lost);
    st->n_upcall_errors += DP_READ(c->n_upcall_errors);
}

void
dpif_get_stats(const struct dpif *dpif, struct dpif_stats *st)
{
    memset(st, 0, sizeof *st);
    for (int i = 0; i < dpif->n_workers; i++) {
        dp_add_counters(st, &dpif->workers[i]->ctx.c);
    }
    dp_add_counters(st, &dpif->main_ctx.c);
    st->n_megaflows = dpif_flow_count(dpif);
}

/* ---- Connection tracking ---------------------------------------------
 *
 * Thin wrappers over conntrack.h: struct dpif_ct owns the tracker and
 * multiplexes its single event callback over the subscribers. */

#include <pthread.h>
#include <sys/socket.h>
#include <inttypes.h>
#include "conntrack/conntrack-private.h"
#include "conntrack/ct-alg.h"
#include "conntrack/ct-nat.h"
#include "dynamic-string.h"

BUILD_ASSERT(sizeof(struct ct_tuple) <= sizeof(struct dpif_ct_tuple));

/* Bounds on the work of one dpif_ct_run(). */
#define DPIF_CT_SWEEP_ENTRIES 2048
#define DPIF_CT_EVENTS_PER_RUN 4096
#define DPIF_CT_IDLE_MS 1000        /* wake-up when nothing is pending */
#define DPIF_CT_BUSY_MS 100         /* while connections exist */

struct dpif_ct_sub {
    struct ts_list node;        /* in dpif_ct->subs */
    struct dpif_ct *owner;
    bool has_zone;
    uint16_t zone;
    dpif_ct_event_cb *cb;
    void *aux;
};

struct dpif_ct {
    struct conntrack *ct;
    struct ts_list subs;        /* struct dpif_ct_sub.node */
    long long next_sweep;
};

struct dpif_ct *
dpif_ct_create(const struct dpif_ct_config *cfg)
{
    struct conntrack_config cc;
    struct dpif_ct *dct;

    conntrack_config_init(&cc);
    if (cfg) {
        cc.max_conns = cfg->max_conns;
        cc.n_buckets = cfg->n_buckets;
    }
    dct = xzalloc(sizeof *dct);
    dct->ct = conntrack_create(&cc);
    if (!dct->ct) {
        free(dct);
        return NULL;
    }
    ts_list_init(&dct->subs);
    return dct;
}

void
dpif_ct_destroy(struct dpif_ct *dct)
{
    struct dpif_ct_sub *sub;

    if (!dct) {
        return;
    }
    TS_LIST_FOR_EACH_SAFE (sub, node, &dct->subs) {
        ts_list_remove(&sub->node);
        free(sub);
    }
    conntrack_destroy(dct->ct);
    free(dct);
}

static struct dpif_ct *dpif_ct_the_global;
static pthread_once_t dpif_ct_global_once = PTHREAD_ONCE_INIT;

static void
dpif_ct_global_init(void)
{
    /* A smaller table than OVS's default 3 M: 256 K buckets (the limit
     * stays OVS's and can be raised; buckets chain). */
    struct dpif_ct_config cfg = { .max_conns = 0, .n_buckets = 1 << 18 };

    dpif_ct_the_global = dpif_ct_create(&cfg);
    if (!dpif_ct_the_global) {
        ts_fatal(-ENOMEM, "cannot create the connection tracker");
    }
}

struct dpif_ct *
dpif_ct_global(void)
{
    pthread_once(&dpif_ct_global_once, dpif_ct_global_init);
    return dpif_ct_the_global;
}

struct dpif_ct *
dpif_get_ct(const struct dpif *dpif)
{
    return dpif->ct;
}

struct conntrack *
dpif_ct_conntrack(const struct dpif_ct *dct)
{
    return dct->ct;
}

long long
dpif_ct_run(struct dpif_ct *dct, long long now_ms)
{
    long long next;
    size_t removed = 0;

    if (!ts_list_is_empty(&dct->subs)) {
        conntrack_run_events(dct->ct, DPIF_CT_EVENTS_PER_RUN);
    }
    if (now_ms >= dct->next_sweep) {
        removed = conntrack_sweep(dct->ct, now_ms, DPIF_CT_SWEEP_ENTRIES);
        /* Expired entries found: keep going soon; connections present:
         * sweep at a steady pace; empty table: mostly sleep. */
        dct->next_sweep = now_ms + (removed ? 10
                                    : conntrack_get_nconns(dct->ct)
                                    ? DPIF_CT_BUSY_MS : DPIF_CT_IDLE_MS);
        if (!ts_list_is_empty(&dct->subs)) {
            conntrack_run_events(dct->ct, DPIF_CT_EVENTS_PER_RUN);
        }
    }
    next = dct->next_sweep;
    if (!ts_list_is_empty(&dct->subs)) {
        next = MIN(next, now_ms + DPIF_CT_BUSY_MS);
    }
    return next;
}

void
dpif_ct_set_maxconns(struct dpif_ct *dct, uint32_t n)
{
    conntrack_set_maxconns(dct->ct, n);
}

uint32_t
dpif_ct_get_maxconns(const struct dpif_ct *dct)
{
    return conntrack_get_maxconns(dct->ct);
}

uint32_t
dpif_ct_get_nconns(const struct dpif_ct *dct)
{
    return conntrack_get_nconns(dct->ct);
}

void
dpif_ct_set_tcp_seq_chk(struct dpif_ct *dct, bool enabled)
{
    conntrack_set_tcp_seq_chk(dct->ct, enabled);
}

bool
dpif_ct_get_tcp_seq_chk(const struct dpif_ct *dct)
{
    return conntrack_get_tcp_seq_chk(dct->ct);
}

void
dpif_ct_get_stats(const struct dpif_ct *dct, struct dpif_ct_stats *out)
{
    struct ct_stats s;

    conntrack_get_stats(dct->ct, &s);
    *out = (struct dpif_ct_stats) {
        .n_conns = s.n_conns, .max_conns = s.max_conns,
        .full_drops = s.full_drops, .zone_limit_drops = s.zone_limit_drops,
        .invalid = s.invalid, .bad_csum = s.bad_csum,
        .tcp_seq_fail = s.tcp_seq_fail, .nat_exhausted = s.nat_exhausted,
        .events_dropped = s.events_dropped, .created = s.created,
        .expired = s.expired,
    };
}

void
dpif_ct_get_zone_stats(const struct dpif_ct *dct, uint16_t zone,
                       struct dpif_ct_zone_stats *out)
{
    struct ct_zone_stats s;
    bool own = false;

    conntrack_get_zone_stats(dct->ct, zone, &s);
    conntrack_get_zone_limit(dct->ct, zone, &own);
    *out = (struct dpif_ct_zone_stats) {
        .count = s.count, .limit = s.limit, .own_limit = own,
        .limit_drops = s.limit_drops,
        .nat_exhausted = ct_nat_zone_exhausted(zone),
    };
}

void
dpif_ct_set_default_limit(struct dpif_ct *dct, uint32_t limit)
{
    conntrack_set_default_zone_limit(dct->ct, limit);
}

uint32_t
dpif_ct_get_default_limit(const struct dpif_ct *dct)
{
    return conntrack_get_default_zone_limit(dct->ct);
}

void
dpif_ct_set_zone_limit(struct dpif_ct *dct, uint16_t zone, uint32_t limit)
{
    conntrack_set_zone_limit(dct->ct, zone, limit);
}

void
dpif_ct_del_zone_limit(struct dpif_ct *dct, uint16_t zone)
{
    conntrack_del_zone_limit(dct->ct, zone);
}

/* ---- Timeout policies ---- */

const char *const *
dpif_ct_tp_keys(void)
{
    static const char *const keys[] = {
        "tcp_syn_sent", "tcp_syn_recv", "tcp_established", "tcp_fin_wait",
        "tcp_close_wait", "tcp_last_ack", "tcp_time_wait", "tcp_close",
        "tcp_syn_sent2", "tcp_retransmit", "tcp_unack", "udp_first",
        "udp_single", "udp_multiple", "icmp_first", "icmp_reply", NULL,
    };
    BUILD_ASSERT(ARRAY_SIZE(keys) == CT_TP_N_ATTRS + 1);

    return keys;
}

int
dpif_ct_tp_set(struct dpif_ct *dct, const uint16_t *zone,
               const struct smap *keys, char **errp)
{
    struct ct_timeout_policy tp;
    const struct smap_entry *kv;
    int err;

    *errp = NULL;
    if (zone) {
        if (conntrack_zone_tp_get(dct->ct, *zone, &tp)) {
            memset(&tp, 0, sizeof tp);
        }
    } else {
        conntrack_default_tp_get(dct->ct, &tp);
    }
    SMAP_FOR_EACH (kv, keys) {
        enum ct_tp_attr attr;
        uint64_t v;

        if (ct_tp_attr_from_name(kv->key, &attr)) {
            *errp = xasprintf("unknown timeout policy key '%s'", kv->key);
            return -EINVAL;
        }
        if (!str_to_u64(kv->value, UINT32_MAX, &v)) {
            *errp = xasprintf("bad value '%s' for timeout policy key '%s'",
                              kv->value, kv->key);
            return -EINVAL;
        }
        tp.present |= 1u << attr;
        tp.attrs[attr] = v;
    }
    err = zone ? conntrack_zone_tp_set(dct->ct, *zone, &tp)
               : conntrack_default_tp_set(dct->ct, &tp);
    if (err) {
        *errp = xasprintf("cannot set timeout policy: %s",
                          ts_strerror(err));
    }
    return err;
}

int
dpif_ct_tp_get(const struct dpif_ct *dct, const uint16_t *zone,
               struct smap *out)
{
    struct ct_timeout_policy tp;

    smap_destroy(out);
    smap_init(out);
    if (zone) {
        int err = conntrack_zone_tp_get(dct->ct, *zone, &tp);

        if (err) {
            return err;
        }
    } else {
        conntrack_default_tp_get(dct->ct, &tp);
    }
    for (int i = 0; i < CT_TP_N_ATTRS; i++) {
        if (tp.present & (1u << i)) {
            char buf[16];

            snprintf(buf, sizeof buf, "%"PRIu32, tp.attrs[i]);
            smap_replace(out, ct_tp_attr_name(i), buf);
        }
    }
    return 0;
}

int
dpif_ct_tp_del(struct dpif_ct *dct, uint16_t zone)
{
    return conntrack_zone_tp_del(dct->ct, zone);
}

/* ---- Flush ---- */

static int
dpif_ct_tuple_field(struct ct_tuple *t, const char *key, const char *value,
                    char **errp)
{
    uint64_t v;

    if (!strcmp(key, "ct_nw_src") || !strcmp(key, "ct_nw_dst")) {
        uint32_t ip;

        if (t->family == AF_INET6 || ip_parse(value, &ip)) {
            goto bad;
        }
        t->family = AF_INET;
        if (key[6] == 's') {
            t->src.ipv4 = ip;
        } else {
            t->dst.ipv4 = ip;
        }
    } else if (!strcmp(key, "ct_ipv6_src") || !strcmp(key, "ct_ipv6_dst")) {
        struct in6_addr a;

        if (t->family == AF_INET || ipv6_parse(value, &a)) {
            goto bad;
        }
        t->family = AF_INET6;
        if (key[8] == 's') {
            t->src.ipv6 = a;
        } else {
            t->dst.ipv6 = a;
        }
    } else if (!strcmp(key, "ct_nw_proto")) {
        if (!str_to_u64(value, UINT8_MAX, &v)) {
            goto bad;
        }
        t->nw_proto = v;
    } else if (!strcmp(key, "ct_tp_src") || !strcmp(key, "ct_tp_dst")) {
        if (!str_to_u64(value, UINT16_MAX, &v)) {
            goto bad;
        }
        if (key[6] == 's') {
            t->src_port = htons(v);
        } else {
            t->dst_port = htons(v);
        }
    } else if (!strcmp(key, "icmp_id")) {
        if (!str_to_u64(value, UINT16_MAX, &v)) {
            goto bad;
        }
        t->src_port = t->dst_port = htons(v);
    } else if (!strcmp(key, "icmp_type") || !strcmp(key, "icmp_code")) {
        if (!str_to_u64(value, UINT8_MAX, &v)) {
            goto bad;
        }
        if (key[5] == 't') {
            t->icmp_type = v;
        } else {
            t->icmp_code = v;
        }
    } else {
        *errp = xasprintf("unknown conntrack tuple field '%s'", key);
        return -EINVAL;
    }
    return 0;

bad:
    *errp = xasprintf("bad value '%s' for conntrack tuple field '%s'",
                      value, key);
    return -EINVAL;
}

int
dpif_ct_tuple_parse(const char *s, struct dpif_ct_tuple *out, char **errp)
{
    struct ct_tuple t;
    char *copy = xstrdup(s), *save = NULL;
    int err = 0;

    *errp = NULL;
    memset(&t, 0, sizeof t);
    for (char *tok = strtok_r(copy, ", ", &save); tok;
         tok = strtok_r(NULL, ", ", &save)) {
        char *eq = strchr(tok, '=');

        if (!eq) {
            *errp = xasprintf("conntrack tuple part '%s' lacks '='", tok);
            err = -EINVAL;
            goto out;
        }
        *eq = '\0';
        err = dpif_ct_tuple_field(&t, tok, eq + 1, errp);
        if (err) {
            goto out;
        }
    }
    if (!t.family || !t.nw_proto) {
        *errp = xasprintf("conntrack tuple '%s' needs addresses and "
                          "ct_nw_proto", s);
        err = -EINVAL;
        goto out;
    }
    memset(out, 0, sizeof *out);
    memcpy(out->opaque, &t, sizeof t);
out:
    free(copy);
    return err;
}

struct dpif_ct_flush_op {
    struct dpif_ct *dct;
    struct ct_flush_filter filter;
    bool has_filter;
    struct ct_tuple orig, reply;
    struct ct_flush_cursor cursor;
};

static void
dpif_ct_filter_convert(const struct dpif_ct_flush_filter *in,
                       struct ct_flush_filter *out,
                       struct ct_tuple *orig, struct ct_tuple *reply)
{
    memset(out, 0, sizeof *out);
    out->has_zone = in->has_zone;
    out->zone = in->zone;
    out->mark = in->mark;
    out->mark_mask = in->mark_mask;
    memcpy(out->label, in->label, sizeof out->label);
    memcpy(out->label_mask, in->label_mask, sizeof out->label_mask);
    if (in->orig) {
        memcpy(orig, in->orig->opaque, sizeof *orig);
        orig->zone = in->zone;
        out->orig = orig;
    }
    if (in->reply) {
        memcpy(reply, in->reply->opaque, sizeof *reply);
        reply->zone = in->zone;
        out->reply = reply;
    }
}

size_t
dpif_ct_flush(struct dpif_ct *dct, const struct dpif_ct_flush_filter *f)
{
    struct dpif_ct_flush_op *op = dpif_ct_flush_start(dct, f);
    size_t n = 0;

    while (dpif_ct_flush_next(op, SIZE_MAX, &n)) {
        continue;
    }
    dpif_ct_flush_destroy(op);
    return n;
}

struct dpif_ct_flush_op *
dpif_ct_flush_start(struct dpif_ct *dct, const struct dpif_ct_flush_filter *f)
{
    struct dpif_ct_flush_op *op = xzalloc(sizeof *op);

    op->dct = dct;
    if (f) {
        op->has_filter = true;
        dpif_ct_filter_convert(f, &op->filter, &op->orig, &op->reply);
    }
    conntrack_flush_start(&op->cursor);
    return op;
}

bool
dpif_ct_flush_next(struct dpif_ct_flush_op *op, size_t max_buckets,
                   size_t *n_removed)
{
    if (!op->cursor.done) {
        *n_removed += conntrack_flush_next(op->dct->ct, &op->cursor,
                                           op->has_filter ? &op->filter
                                                          : NULL,
                                           max_buckets, time_msec());
    }
    return !op->cursor.done;
}

void
dpif_ct_flush_destroy(struct dpif_ct_flush_op *op)
{
    free(op);
}

/* ---- Dump ---- */

#define DPIF_CT_DUMP_CHUNK 64

struct dpif_ct_dump {
    struct dpif_ct *dct;
    struct ct_dump_cursor cursor;
    bool verbose, stats;
    struct ct_entry entries[DPIF_CT_DUMP_CHUNK];
};

struct dpif_ct_dump *
dpif_ct_dump_start(struct dpif_ct *dct, const uint16_t *zone, bool verbose,
                   bool stats)
{
    struct dpif_ct_dump *d = xzalloc(sizeof *d);

    d->dct = dct;
    d->verbose = verbose;
    d->stats = stats;
    conntrack_dump_start(&d->cursor, zone);
    return d;
}

bool
dpif_ct_dump_next(struct dpif_ct_dump *d, struct ds *out, size_t max)
{
    while (max && !d->cursor.done) {
        size_t n = conntrack_dump_next(d->dct->ct, &d->cursor, d->entries,
                                       MIN(max, DPIF_CT_DUMP_CHUNK),
                                       time_msec());

        for (size_t i = 0; i < n; i++) {
            ct_format_entry(out, &d->entries[i], d->verbose, d->stats);
            ds_put_char(out, '\n');
        }
        if (!n) {
            break;      /* bounded work: let the caller come back */
        }
        max -= n;
    }
    return !d->cursor.done;
}

void
dpif_ct_dump_destroy(struct dpif_ct_dump *d)
{
    free(d);
}

size_t
dpif_ct_dump_expectations(struct dpif_ct *dct, const uint16_t *zone,
                          struct ds *out)
{
    struct conntrack *ct = dct->ct;
    size_t n = 0;

    /* The list is bounded by CT_MAX_EXPECTATIONS; formatting under the
     * spinlock only appends to a string. */
    pthread_spin_lock(&ct->exp_lock);
    for (const struct ct_expectation *e = ct->exp_list; e; e = e->next) {
        if (zone && e->tuple.zone != *zone) {
            continue;
        }
        ct_alg_format_expectation(out, e, -1);
        ds_put_char(out, '\n');
        n++;
    }
    pthread_spin_unlock(&ct->exp_lock);
    return n;
}

/* ---- Events ---- */

static void
dpif_ct_event(enum ct_event_type type, const struct ct_entry *e, void *dct_)
{
    static const char *const names[] = {
        [CT_EVENT_NEW] = "[NEW] ",
        [CT_EVENT_UPDATE] = "[UPDATE] ",
        [CT_EVENT_DESTROY] = "[DESTROY] ",
    };
    struct dpif_ct *dct = dct_;
    struct dpif_ct_sub *sub;
    struct ds line;

    ds_init(&line);
    ds_put_cstr(&line, type < ARRAY_SIZE(names) ? names[type] : "[?] ");
    ct_format_entry(&line, e, false, false);
    TS_LIST_FOR_EACH_SAFE (sub, node, &dct->subs) {
        if (!sub->has_zone || sub->zone == e->zone) {
            sub->cb(sub->aux, ds_cstr(&line));
        }
    }
    ds_destroy(&line);
}

struct dpif_ct_sub *
dpif_ct_subscribe(struct dpif_ct *dct, const uint16_t *zone,
                  dpif_ct_event_cb *cb, void *aux)
{
    struct dpif_ct_sub *sub = xzalloc(sizeof *sub);

    sub->owner = dct;
    sub->has_zone = zone != NULL;
    sub->zone = zone ? *zone : 0;
    sub->cb = cb;
    sub->aux = aux;
    if (ts_list_is_empty(&dct->subs)) {
        conntrack_set_event_cb(dct->ct, dpif_ct_event, dct);
    }
    ts_list_push_back(&dct->subs, &sub->node);
    return sub;
}

void
dpif_ct_unsubscribe(struct dpif_ct_sub *sub)
{
    if (!sub) {
        return;
    }
    ts_list_remove(&sub->node);
    if (ts_list_is_empty(&sub->owner->subs)) {
        conntrack_set_event_cb(sub->owner->ct, NULL, NULL);
    }
    free(sub);
}

/* ---- Read-only lookup (trace) ---- */

static void
dpif_ct_fill_flow(struct flow *flow, const struct ct_entry *e, uint16_t zone)
{
    flow->ct_zone = zone;
    flow->ct_mark = e->mark;
    memcpy(flow->ct_label, e->label, sizeof flow->ct_label);
    flow->ct_nw_proto = e->orig.nw_proto;
    flow->ct_tp_src = e->orig.src_port;
    flow->ct_tp_dst = e->orig.dst_port;
    if (e->orig.family == AF_INET) {
        flow->ct_nw_src = e->orig.src.ipv4;
        flow->ct_nw_dst = e->orig.dst.ipv4;
    } else {
        flow->ct_ipv6_src = e->orig.src.ipv6;
        flow->ct_ipv6_dst = e->orig.dst.ipv6;
    }
}

/* Finds the connection for 'tuple' and snapshots it; returns whether it
 * found one and, in '*reply', the direction.  Takes the bucket stripe
 * and then the owner stripe by try-lock only (the order rule of
 * conntrack.h), retrying a bounded number of times. */
static bool
dpif_ct_find(struct conntrack *ct, const struct ct_tuple *tuple,
             long long now_ms, struct ct_entry *e, bool *reply)
{
    uint32_t hash = ct_tuple_hash(tuple, ct->hash_basis);
    struct ct_stripe *s = ct_stripe_of(ct, hash);
    uint32_t now = ct_time(ct, now_ms);

    for (int attempt = 0; attempt < 64; attempt++) {
        bool retry = false;

        ct_lock(s);
        for (struct ct_node *n = ct->buckets[hash & ct->bucket_mask]; n;
             n = n->next) {
            struct ct_conn *conn = ct_node_conn(n);
            struct ct_stripe *owner;
            struct ct_tuple t, rev;
            bool is_reply;

            if (n->hash != hash) {
                continue;
            }
            /* As the packet path's lookup: the node of a NAT entry's
             * reply key, the original key, or (one node for both
             * directions when there is no NAT: the hash is symmetric)
             * the reverse of the original key. */
            if (n->is_rev) {
                is_reply = ct_tuple_equals(&conn->ext->rev, tuple);
                if (!is_reply) {
                    continue;
                }
            } else {
                ct_key_to_tuple(&conn->key, &t);
                ct_tuple_reverse(&rev, &t);
                if (ct_tuple_equals(&t, tuple)) {
                    is_reply = false;
                } else if (!(conn->flags & CT_CONN_F_NAT)
                           && ct_tuple_equals(&rev, tuple)) {
                    is_reply = true;
                } else {
                    continue;
                }
            }
            owner = ct_stripe_of(ct, conn->node.hash);
            if (owner != s && !ct_trylock(owner)) {
                retry = true;
                break;
            }
            {
            bool alive = !ct_conn_expired(conn, now);

            if (alive) {
                ct_conn_to_entry(ct, conn, e, now);
                *reply = is_reply;
            }
            if (owner != s) {
                ct_unlock(owner);
            }
            ct_unlock(s);
            return alive;
            }
        }
        ct_unlock(s);
        if (!retry) {
            return false;
        }
    }
    return false;
}

int
dpif_ct_lookup(struct dpif_ct *dct, const struct dp_packet *packet,
               struct flow *flow, uint16_t zone)
{
    struct conntrack *ct = dct->ct;
    struct ct_entry e;
    struct ct_ctx ctx;
    bool reply = false;
    uint16_t state;

    memset(&ctx, 0, sizeof ctx);
    if (flow->nw_frag
        || ct_extract((struct dp_packet *) (uintptr_t) packet, flow, zone,
                      &ctx)) {
        flow->ct_state = CS_TRACKED | CS_INVALID;
        flow->ct_zone = zone;
        return -EINVAL;
    }
    memset(&e, 0, sizeof e);
    if (dpif_ct_find(ct, &ctx.tuple, time_msec(), &e, &reply)) {
        state = CS_TRACKED;
        if (ctx.related) {
            state |= CS_RELATED;
        } else if (reply || e.seen_reply) {
            state |= CS_ESTABLISHED;
        } else {
            state |= CS_NEW;
        }
        if (reply) {
            state |= CS_REPLY_DIR;
        }
        if (e.nat_flags & CT_NAT_SRC) {
            state |= CS_SRC_NAT;
        }
        if (e.nat_flags & CT_NAT_DST) {
            state |= CS_DST_NAT;
        }
        dpif_ct_fill_flow(flow, &e, zone);
        flow->ct_state = state;
        return 0;
    }
    /* No connection: a packet that could start one is +new (a reply
     * without a connection would be +new too in OVS's other/UDP; TCP
     * non-SYN is +inv, which this lookup does not second-guess). */
    memset(&e, 0, sizeof e);
    e.orig = ctx.tuple;
    dpif_ct_fill_flow(flow, &e, zone);
    flow->ct_state = CS_TRACKED | (ctx.related ? CS_INVALID : CS_NEW);
    return 0;
}
