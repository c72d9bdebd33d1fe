/* dp-private: internals shared by dpif.c and dp-worker.c (and the
 * datapath's unit tests and benchmark).  Nothing above datapath/ sees it.
 *
 * Objects.
 *   struct dpif        one datapath: ports, workers, callbacks.
 *   struct dp_port     an open netdev with a port number and a tx mutex.
 *   struct dp_port_table  an immutable snapshot of the ports, indexed by
 *                      number, that workers read without locking.
 *   struct dp_worker   a thread that receives from its ports and owns an
 *                      EMC, a megaflow classifier and the megaflows in it.
 *   struct dp_ctx      one thread's packet-processing state: clone pools,
 *                      per-port tx queues, counters.  Each worker has one;
 *                      the main thread has one for dpif_execute().
 *   struct dp_megaflow an installed megaflow: masked key (in the worker's
 *                      classifier), actions, cookie, statistics.  Each
 *                      worker takes its megaflows from a preallocated
 *                      store (struct dp_mf_store), so installing one does
 *                      not allocate unless its actions are longer than
 *                      DP_MF_INLINE_ACTIONS.
 *   struct dp_return   a cookie that an upcall returned but that no
 *                      megaflow holds (not installed, limit reached,
 *                      duplicate, upcall error): it waits in its
 *                      context's queue, with the upcall packet's
 *                      statistics, until the main thread hands it back to
 *                      the statistics callback (removed=true).
 *
 * Megaflow tables are per worker (no sharing, no lock on lookup): a flow
 * whose packets arrive on ports of two workers is installed in each, as
 * two megaflows with their own cookie references and statistics.  The
 * megaflow limit (max_megaflows) counts all of them (dpif->n_megaflows).
 *
 * Locking.
 *   - w->mutex: the worker holds it while it processes what it received
 *     in one pass over its ports, and never while it sleeps.  Everything
 *     the worker owns (rx port list, EMC, classifier, megaflow list and
 *     statistics, ctx counters' writes) changes only under it.  The main
 *     thread takes it with dp_worker_lock(), which makes the worker yield
 *     at its next pass (n_waiters) instead of starving the main thread.
 *     Holding it means: the worker is between passes, so it uses no
 *     megaflow, port table or tx queue entry from before.
 *   - port->tx_mutex: held around netdev send; any worker or the main
 *     thread may send to any port.  Never held while taking w->mutex.
 *   - Port table: replaced (never changed in place) by the main thread;
 *     workers load the pointer at the start of each pass under w->mutex.
 *     The old table is freed after the main thread has taken and released
 *     every worker's mutex once (dp_quiesce_workers()).
 *   - Lock order with ofproto: a worker holding w->mutex calls the upcall
 *     handler, which may take ofproto's read lock; the main thread holding
 *     w->mutex calls revalidation callbacks, which may too.  No deadlock
 *     is possible because the main thread never holds ofproto's write
 *     lock while calling into dpif (ofproto's rule), and the workers never
 *     take the write lock.
 *
 * Callbacks run with w->mutex held: upcall (worker), userspace (worker or
 * main thread inside dpif_execute), revalidate (main).  Statistics
 * callbacks (dpif_stats_cb) run with no datapath lock held. */
#ifndef TS_DP_PRIVATE_H
#define TS_DP_PRIVATE_H 1

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include "dp-cls.h"
#include "dp-emc.h"
#include "dp-execute.h"
#include "dpif.h"
#include "list.h"
#include "netdev.h"

/* Busy-poll passes that receive nothing before a worker sleeps. */
#define DP_IDLE_POLLS 100
/* Tx queues per context: distinct output ports per pass before an early
 * flush. */
#define DP_N_TXQ 16
/* Clone pools per context. */
#define DP_CLONE_SMALL_N 512
#define DP_CLONE_SMALL_BUF 2304
#define DP_CLONE_LARGE_N 16
#define DP_CLONE_LARGE_BUF (DP_PACKET_HEADROOM + 65535 + 14 + 8 + 64)
/* Bytes of upcall action stub (dpif.h promises at least 4 KB). */
#define DP_UPCALL_STUB 4096
/* Megaflows visited per hold of a worker's mutex by revalidate/dump. */
#define DP_SLICE 1024
/* Bytes of actions stored inside a megaflow; longer lists are malloc'ed. */
#define DP_MF_INLINE_ACTIONS 256
/* Cookies per context waiting to be handed back (struct dp_return).  When
 * the queue is full, misses are dropped (n_lost) without an upcall until
 * the main thread drains it: the datapath never forgets a cookie. */
#define DP_RETURNS_MAX 4096

/* Relaxed single-writer counters: the owner adds, anyone reads. */
#define DP_COUNT(C, N) \
    __atomic_store_n(&(C), (C) + (N), __ATOMIC_RELAXED)
#define DP_READ(C) __atomic_load_n(&(C), __ATOMIC_RELAXED)

struct dp_port {
    uint32_t port_no;
    struct netdev *netdev;      /* owned */
    uint32_t tx_offloads;
    int rx_fd;                  /* -1: polled, never waited on */
    struct dp_worker *worker;   /* receiving worker (main thread's view) */
    pthread_mutex_t tx_mutex;
    uint64_t rx_errors;         /* recv failures (receiving worker) */
    uint64_t tx_dropped;        /* datapath tx drops (atomic add) */
    /* Capture taps (dp-capture.h), or NULL: replaced, never changed in
     * place, by the main thread; readers load it once per batch. */
    struct dp_capture_port *capture;
    /* Impairments (dp-impair.h), or NULL: changed by the main thread
     * holding every worker's mutex; workers read it under their own. */
    struct dp_impair *impair;
    struct smap options;        /* netdev options as opened (main) */
};

struct dp_port_table {
    size_t n;                   /* ports, LOCAL included */
    struct dp_port *local;      /* DPIF_PORT_LOCAL, or NULL */
    uint32_t max_no;            /* highest ordinary number, 0 if none */
    struct dp_port *by_no[];    /* [max_no + 1], NULL where unused */
};

static inline struct dp_port *
dp_port_table_get(const struct dp_port_table *t, uint32_t port_no)
{
    if (port_no <= t->max_no) {
        return t->by_no[port_no];
    }
    return port_no == DPIF_PORT_LOCAL ? t->local : NULL;
}

struct dp_megaflow {
    struct dp_cls_rule rule;    /* masked key; in the worker's dp_cls */
    struct ts_list node;        /* in worker->megaflows, or the free list */
    void *cookie;
    bool dead;                  /* removed; EMC sweep pending */
    uint32_t batch_group;       /* dp_ctx_process() scratch */
    long long created;          /* time_msec() */
    struct dpif_flow_stats stats;       /* totals, owner worker writes */
    struct dpif_flow_stats reported;    /* totals at the last report */
    size_t actions_len;
    uint64_t *actions;          /* 8-byte aligned TLVs: 'inline_actions'
                                 * or, if longer, malloc'ed */
    uint64_t inline_actions[DP_MF_INLINE_ACTIONS / 8];
};

/* A worker's megaflows: an array of 'capacity' (max_megaflows) entries,
 * reserved at creation but touched only as they are first used, so an
 * idle datapath costs address space, not memory.  Entries are taken
 * from 'free' first, then from the never-used tail at 'n_used'.  Under
 * the worker's mutex; freed entries are recycled only after the EMC no
 * longer refers to them (see dp_worker_free_megaflow()). */
struct dp_mf_store {
    struct dp_megaflow *base;
    size_t capacity;
    size_t n_used;              /* entries ever handed out */
    size_t map_size;            /* bytes mapped at 'base' */
    struct ts_list free;        /* dp_megaflow.node */
};

/* A cookie on its way back to the statistics callback. */
struct dp_return {
    void *cookie;
    struct dpif_flow_stats stats;   /* the upcall packet, or nothing */
};

struct dp_txq {
    struct dp_port *port;
    struct dp_packet_batch batch;
};

struct dp_ctx_counters {
    uint64_t n_hit_emc, n_hit_megaflow, n_missed, n_lost;
    uint64_t n_upcall_errors;
    uint64_t n_drop_nomem, n_drop_unsupported, n_drop_recirc;
    uint64_t n_drop_invalid, n_drop_no_port;
};

struct dp_ctx {
    struct dpif *dpif;
    struct dp_worker *worker;   /* NULL: the main thread's context */
    struct dp_packet_pool *clone_small, *clone_large;
    const struct dp_port_table *ports;  /* current for this pass */
    struct dp_txq txq[DP_N_TXQ];
    size_t n_txq;
    long long now;              /* time_msec() at the start of the pass */
    struct dp_ctx_counters c;
    /* Fragment reassembly for DPA_CT (this thread's own, ct-frag.h) and
     * the scratch result it fills (large: kept off the stack). */
    struct ct_frag *frag;
    struct ct_frag_result *frag_res;
    /* Cookies to hand back: a worker's context appends under the
     * worker's mutex, the main thread drains holding it; the main
     * context is the main thread's alone. */
    struct dp_return *returns;  /* [DP_RETURNS_MAX] */
    size_t n_returns;
    /* Impairment queues holding packets (dp_impair_q.node) and the time
     * the worker's timerfd is armed for (dp-impair.h). */
    struct ts_list impair_pending;
    uint64_t impair_armed_ns;
};

struct dp_worker {
    struct dpif *dpif;
    int id;
    pthread_t thread;
    bool started;
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    unsigned int n_waiters;     /* main-thread lockers waiting (atomic) */
    bool exit;                  /* under mutex */
    int epfd;                   /* rx fds + evfd */
    int evfd;                   /* wakes the worker */
    int tfd;                    /* timerfd: impairment queue due */
    /* Under mutex: */
    struct dp_port **rx_ports;
    size_t n_rx, allocated_rx;
    int sleep_timeout_ms;       /* epoll timeout when idle, -1: none */
    struct dp_emc *emc;
    struct dp_cls cls;
    struct ts_list megaflows;   /* dp_megaflow.node, install order */
    struct dp_mf_store store;
    struct dp_ctx ctx;
};

struct dpif {
    char *name;
    size_t max_megaflows;
    int megaflow_idle_ms;
    struct dp_worker **workers;
    int n_workers;
    struct dp_port_table *ports;        /* atomic pointer, main writes */
    struct dp_ctx main_ctx;
    size_t n_megaflows;                 /* atomic */
    /* Callbacks: changed by the main thread holding every worker mutex. */
    dpif_upcall_cb *upcall_cb;
    void *upcall_aux;
    dpif_userspace_cb *userspace_cb;
    void *userspace_aux;
    dpif_stats_cb *stats_cb;            /* main thread only */
    void *stats_aux;
    struct dpif_ct *ct;                 /* borrowed; set at creation */
    struct conntrack *conntrack;        /* ct's tracker */
};

/* dpif.c: the tracker behind a struct dpif_ct. */
struct conntrack *dpif_ct_conntrack(const struct dpif_ct *);

/* dp-worker.c */
int dp_ctx_init(struct dp_ctx *, struct dpif *, struct dp_worker *);
void dp_ctx_release(struct dp_ctx *);
/* Looks up, upcalls and executes every packet of 'batch' (consumed).
 * Worker: with w->mutex held.  Main context: no caches, every packet is
 * an upcall that installs nothing. */
void dp_ctx_process(struct dp_ctx *, struct dp_exec_batch *, int depth);
/* Runs 'actions' on 'batch' (consumed). */
void dp_ctx_execute(struct dp_ctx *, struct dp_exec_batch *,
                    const void *actions, size_t size, int depth);
/* Sends every queued packet. */
void dp_ctx_flush_tx(struct dp_ctx *);
/* Sends 'batch' (consumed) out of 'port' now: tx lock, capture tap,
 * offload resolution, drops counted in port->tx_dropped. */
void dp_ctx_send(struct dp_ctx *, struct dp_port *, struct dp_packet_batch *);

struct dp_worker *dp_worker_create(struct dpif *, int id);
/* Stops and joins the thread; the worker's state stays for the main
 * thread to flush.  Idempotent. */
void dp_worker_stop(struct dp_worker *);
/* Stops the thread, frees the megaflows without reports. */
void dp_worker_destroy(struct dp_worker *);
void dp_worker_lock(struct dp_worker *);
void dp_worker_unlock(struct dp_worker *);
void dp_worker_wake(struct dp_worker *);
/* With the worker's mutex held. */
void dp_worker_add_rx(struct dp_worker *, struct dp_port *);
void dp_worker_del_rx(struct dp_worker *, struct dp_port *);
/* Removes 'm' from the worker's tables (mutex held).  The caller sweeps
 * the EMC (dp_worker_sweep_emc) and only then frees 'm' with
 * dp_worker_free_megaflow(), before releasing the mutex. */
void dp_worker_unlink_megaflow(struct dp_worker *, struct dp_megaflow *);
void dp_worker_sweep_emc(struct dp_worker *);
/* Returns an unlinked megaflow that no EMC entry refers to any more to
 * the worker's store (mutex held). */
void dp_worker_free_megaflow(struct dp_worker *, struct dp_megaflow *);

#endif /* dp-private.h */
