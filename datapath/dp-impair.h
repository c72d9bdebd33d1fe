/* dp-impair: link impairments applied by the datapath on transmit.
 *
 * A port's options may carry delay=TIME, jitter=TIME, loss=PCT, rate=RATE
 * and limit=N (docs/ports.md).  They act on the packets the switch sends
 * out of the port, after the actions and before the netdev send, the way
 * a netem qdisc would on the egress of a link, but in the switch: no
 * kernel support needed, and every port type gets them.
 *
 * Pipeline for each packet given to a port's queue:
 *   1. loss: dropped with probability PCT (counted in n_lost);
 *   2. due time: now + delay + uniform(-jitter, +jitter), never earlier
 *      than now, and never earlier than the due time of the packet queued
 *      before it: jitter never reorders the packets of a port;
 *   3. queue: copied into the queue's own buffers (so the receiving port's
 *      buffers are not held), bounded by 'limit' packets: a full queue, or
 *      no free buffer, drops (n_overflow);
 *   4. rate: at its due time the head leaves only if the token bucket
 *      (RATE, burst of max(1 ms of RATE, 3000 bytes)) is not in debt; a
 *      packet may take the bucket into debt, so packets larger than the
 *      burst (GSO) pass and the long-run rate is exact.
 * A packet that would leave at once (the queue is empty, no delay or
 * jitter, and the bucket has tokens) is not copied: it goes on in the
 * caller's batch.  Loss-only ports therefore never copy.
 *
 * Queues (struct dp_impair_q) are per port and per worker: each worker
 * owns its queue of each impaired port, touches it only under its own
 * mutex, and sends from it when the head is due (dp-worker.c arms the
 * worker's timerfd for the earliest due time, so an idle worker still
 * sleeps).  Rates are therefore enforced per worker: a port that several
 * workers send to gets up to RATE from each.  Packets that the main
 * thread sends (packet-out, dpif_execute) skip impairments.
 *
 * The queue functions (dp_impair_q_*) take the time as an argument and
 * touch nothing but the queue, so tests can run them in simulated time.
 *
 * Threads: dp_impair_parse/format, create/destroy and the dp_impair_port_*
 * functions run in the main thread; dp_impair_filter() and dp_impair_run()
 * run in a worker holding its mutex. */
#ifndef TS_DP_IMPAIR_H
#define TS_DP_IMPAIR_H 1

#include <stdbool.h>
#include <stdint.h>
#include "dp-packet.h"
#include "list.h"
#include "smap.h"

struct dp_ctx;
struct dp_port;
struct dpif;
struct ds;

#define DP_IMPAIR_DEFAULT_LIMIT 1000
#define DP_IMPAIR_MAX_LIMIT 100000
/* Buffers for frames larger than a 1500-byte MTU (GSO), per queue. */
#define DP_IMPAIR_MAX_LARGE 64

struct dp_impair_params {
    uint64_t delay_ns;
    uint64_t jitter_ns;         /* uniform in [-jitter, +jitter] */
    uint64_t loss;              /* drop probability * 2^32; 2^32: all */
    uint64_t rate_bps;          /* bits per second; 0: unlimited */
    uint64_t burst_bytes;       /* derived from rate_bps */
    uint32_t limit;             /* queue length, packets */
};

/* True if 'p' changes anything (limit alone does not). */
bool dp_impair_params_active(const struct dp_impair_params *p);

/* Splits 'options' into impairment keys, parsed into '*p', and every
 * other key, copied into 'rest' (initialized here).  Returns 0, or
 * -EINVAL with '*errp' set ("bad delay '5': ...") and 'rest' empty. */
int dp_impair_parse(const struct smap *options, struct dp_impair_params *p,
                    struct smap *rest, char **errp);
/* True if 'key' is one of the impairment keys. */
bool dp_impair_is_key(const char *key);
/* "delay=5ms jitter=1ms loss=1% rate=10mbit limit=1000" (set keys
 * only). */
void dp_impair_format(struct ds *, const struct dp_impair_params *);

/* ---- One queue (simulated-time API) ----------------------------------- */

struct dp_impair_stats {
    uint64_t n_lost;            /* dropped by loss= */
    uint64_t n_overflow;        /* dropped: queue full or no buffer */
    uint64_t n_queued;          /* copied into the queue */
    uint64_t n_passed;          /* left at once, not copied */
    uint64_t n_sent;            /* left the queue */
};

struct dp_impair_slot {
    struct dp_packet *p;
    uint64_t due_ns;
};

struct dp_impair_q {
    struct dp_impair_params params;
    struct dp_impair_slot *ring;        /* [params.limit] */
    uint32_t head, count;
    struct dp_packet_pool *small, *large;
    uint64_t last_due_ns;       /* due time of the last packet queued */
    int64_t tokens;             /* bytes * 8e9 (bit-nanoseconds); may be
                                 * negative: debt */
    uint64_t tokens_ns;         /* time of the last refill */
    uint64_t rng;               /* xorshift64* state, never 0 */
    struct dp_impair_stats stats;       /* owner writes, anyone reads */
    /* Worker integration. */
    struct dp_port *port;       /* owner of this queue */
    struct ts_list node;        /* in dp_ctx.impair_pending if 'pending' */
    bool pending;
};

enum dp_impair_verdict {
    DP_IMPAIR_PASS,             /* send now; the caller keeps 'p' */
    DP_IMPAIR_QUEUED,           /* copied; the caller frees 'p' */
    DP_IMPAIR_DROP,             /* counted; the caller frees 'p' */
};

/* 'name' names the buffer pools; 'seed' the random generator.  Returns
 * NULL if the buffers cannot be allocated. */
struct dp_impair_q *dp_impair_q_create(const struct dp_impair_params *,
                                       const char *name, uint64_t seed);
/* Frees the queue and every packet in it.  Accepts NULL. */
void dp_impair_q_destroy(struct dp_impair_q *);
/* Changes the parameters in place ('limit' must not change). */
void dp_impair_q_set_params(struct dp_impair_q *,
                            const struct dp_impair_params *);
enum dp_impair_verdict dp_impair_q_enqueue(struct dp_impair_q *,
                                           const struct dp_packet *p,
                                           uint64_t now_ns);
/* Moves the packets that may leave at 'now_ns' into 'out' (which has
 * room; at most until it is full), in order.  Returns how many. */
uint32_t dp_impair_q_dequeue(struct dp_impair_q *, uint64_t now_ns,
                             struct dp_packet_batch *out);
/* When the head may leave (due time and tokens), or UINT64_MAX if the
 * queue is empty. */
uint64_t dp_impair_q_next_ns(struct dp_impair_q *, uint64_t now_ns);

/* ---- A port's impairment ---------------------------------------------- */

/* Hangs off struct dp_port (NULL: no impairment).  The main thread
 * creates, changes and destroys it holding every worker's mutex; a
 * worker uses q[its id] under its own mutex. */
struct dp_impair {
    struct dp_impair_params params;
    int n_q;
    struct dp_impair_q *q[];    /* by worker id */
};

/* Applies 'p' to 'port' (NULL or inactive: removes the impairment).
 * Packets queued under the old settings keep their due times if the
 * limit is unchanged; otherwise they leave at once.  Main thread. */
int dp_impair_port_set(struct dpif *, struct dp_port *,
                       const struct dp_impair_params *p);
/* The port is being deleted (already out of the port table): frees its
 * queues and their packets.  Main thread, workers running or not. */
void dp_impair_port_gone(struct dpif *, struct dp_port *, bool workers_live);

/* Worker side (w->mutex held).  Takes the packets of 'batch' (bound for
 * 'port', which has an impairment) that must not leave now; the rest
 * stay in 'batch'.  Drops are added to the port's tx_dropped.  The main
 * context leaves 'batch' as it is. */
void dp_impair_filter(struct dp_ctx *, struct dp_port *,
                      struct dp_packet_batch *batch);
/* Sends what is due in the context's pending queues and arms 'tfd' for
 * the earliest due time left. */
void dp_impair_run(struct dp_ctx *, int tfd);

#endif /* dp-impair.h */
