/* bench-ct-stall: how long control work on a big connection table holds
 * up the control loop and the forwarding threads.
 *
 * Fills a tracker (default size, as the daemon makes it) with 2,000,000
 * UDP connections in-process: 1,600,000 in zone 1, 200,000 in zone 2 and
 * 200,000 in zone 3 with ct_mark 5.  A "forwarding" thread meanwhile
 * runs conntrack_execute() on batches of 32 packets of random zone-1
 * connections (lookups, no commit) and records how long each batch took.
 * The main thread then runs, each in the slices the daemon uses:
 *
 *   dump        dpif_ct_dump_next(256 lines) up to 8 times per slice,
 *               stopping after 1 ms, as vswitchd/ctl-server.c's
 *               ct_continue() (CT_DUMP_LINES, CT_CALLS_PER_SLICE,
 *               CT_SLICE_NS)
 *   zone flush  dpif_ct_flush_next(1024 buckets), same slices
 *               (CT_FLUSH_BUCKETS), zone 2
 *   mark flush  same, mark=5/0xff (zone 3's connections)
 *   sweep       conntrack_sweep(2048 entries) per slice, as dpif_ct_run()
 *               (DPIF_CT_SWEEP_ENTRIES), every remaining entry expired
 *   full flush  same as the flushes, no filter, after a refill to 2 M
 *
 * Prints, for each OP (dump, flush_zone, flush_mark, sweep, flush_all):
 *   bench: ct_stall_OP_max_slice_us X us   longest slice of the main loop
 *   bench: ct_stall_OP_max_slice_cpu_us X us  same in thread CPU time
 *   bench: ct_stall_OP_max_call_us X us    longest single bounded call
 *   bench: ct_stall_OP_total_ms X ms       the whole operation
 *   bench: ct_stall_OP_fwd_max_batch_us X us  worst batch of the
 *                                          forwarding thread meanwhile
 *   bench: ct_stall_OP_fwd_max_batch_cpu_us X us  same in CPU time (lock
 *                                          spinning included,
 *                                          preemption not)
 * and ct_stall_idle_fwd_max_batch_us: the worst batch with no control
 * work (the noise floor: the machine is shared), plus the fill rate.
 *
 * The forwarding thread's worst batch includes being descheduled; on a
 * loaded 2-vCPU machine that, not lock waits, dominates.  Run it on an
 * idle machine for the lock figure.  Nothing is asserted.
 *
 * Usage: bench-ct-stall [N_CONNS [nofwd]] (default 2000000; "nofwd":
 * no forwarding thread, so the slice figures are the control work alone,
 * without spinning on stripes a preempted worker holds). */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conntrack/conntrack.h"
#include "dp-packet.h"
#include "dp-private.h"
#include "dpif.h"
#include "dynamic-string.h"
#include "flow.h"
#include "packets.h"
#include "util.h"

#include "helper-ct-udp.h"

#define BATCH NETDEV_MAX_BURST

/* The daemon's slicing (vswitchd/ctl-server.c, datapath/dpif.c): a
 * slice makes at most CT_CALLS_PER_SLICE calls and stops early once
 * CT_SLICE_NS have passed. */
#define CT_DUMP_LINES 256
#define CT_CALLS_PER_SLICE 8
#define CT_FLUSH_BUCKETS 1024
#define CT_SLICE_NS 1000000
#define SWEEP_ENTRIES 2048

static struct conntrack *ct;

/* CPU time of the calling thread: excludes time descheduled (the machine
 * is shared), includes spinning on a lock. */
static long long
cpu_nsec(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}
static long n_zone1;

/* Forwarding thread. */
static atomic_bool fwd_stop;
static atomic_llong fwd_max_ns;         /* worst batch since last reset */
static atomic_llong fwd_max_cpu_ns;     /* same, thread CPU time */
static atomic_llong fwd_batches;

/* Commits connections first..first+n-1 in 'zone' with 'mark'. */
static void
fill(long first, long n, uint16_t zone, uint32_t mark)
{
    struct ct_exec_args args = { .zone = zone, .commit = true,
                                 .mark = mark, .mark_mask = mark ? ~0u : 0 };
    const struct ct_exec_args *argsp = &args;
    struct bench_ct_commit_args c = {
        .first = first, .n = n, .args = &argsp, .n_args = 1, .now_ms = -1,
    };

    bench_ct_commit(ct, &c);
}

static void *
fwd_main(void *aux TS_UNUSED)
{
    struct dp_packet *pkts[BATCH];
    struct flow fs[BATCH], *flows[BATCH];
    struct ct_exec_args args = { .zone = 1 };
    uint32_t rnd = 12345;

    for (int i = 0; i < BATCH; i++) {
        pkts[i] = bench_ct_make_udp(false, 0, 0, false, &fs[i]);
        flows[i] = &fs[i];
    }
    while (!atomic_load_explicit(&fwd_stop, memory_order_relaxed)) {
        long long t0, dt, c0, dc;

        for (int i = 0; i < BATCH; i++) {
            rnd = rnd * 1103515245 + 12345;
            bench_ct_set_conn(pkts[i], NULL, (rnd >> 1) % n_zone1);
        }
        t0 = time_nsec();
        c0 = cpu_nsec();
        conntrack_execute(ct, pkts, flows, BATCH, &args, time_msec());
        dc = cpu_nsec() - c0;
        dt = time_nsec() - t0;
        if (dt > atomic_load_explicit(&fwd_max_ns, memory_order_relaxed)) {
            atomic_store_explicit(&fwd_max_ns, dt, memory_order_relaxed);
        }
        if (dc > atomic_load_explicit(&fwd_max_cpu_ns,
                                      memory_order_relaxed)) {
            atomic_store_explicit(&fwd_max_cpu_ns, dc, memory_order_relaxed);
        }
        atomic_fetch_add_explicit(&fwd_batches, 1, memory_order_relaxed);
    }
    for (int i = 0; i < BATCH; i++) {
        dp_packet_delete(pkts[i]);
    }
    return NULL;
}

struct op_stats {
    long long max_slice_ns;
    long long max_slice_cpu_ns;
    long long slice_cpu0;
    long long max_call_ns;
    long long total_ns;
    long long n_slices;
};

static void
op_begin(struct op_stats *st)
{
    memset(st, 0, sizeof *st);
    atomic_store(&fwd_max_ns, 0);
    atomic_store(&fwd_max_cpu_ns, 0);
    st->total_ns = time_nsec();
}

static void
op_end(const char *name, struct op_stats *st, size_t n_items)
{
    st->total_ns = time_nsec() - st->total_ns;
    printf("bench: ct_stall_%s_max_slice_us %.0f us\n", name,
           st->max_slice_ns / 1e3);
    printf("bench: ct_stall_%s_max_slice_cpu_us %.0f us\n", name,
           st->max_slice_cpu_ns / 1e3);
    printf("bench: ct_stall_%s_max_call_us %.0f us\n", name,
           st->max_call_ns / 1e3);
    printf("bench: ct_stall_%s_total_ms %.0f ms (%lld slices, %zu entries)\n",
           name, st->total_ns / 1e6, st->n_slices, n_items);
    printf("bench: ct_stall_%s_fwd_max_batch_us %.0f us\n", name,
           atomic_load(&fwd_max_ns) / 1e3);
    printf("bench: ct_stall_%s_fwd_max_batch_cpu_us %.0f us\n", name,
           atomic_load(&fwd_max_cpu_ns) / 1e3);
    fflush(stdout);
}

static void
note_call(struct op_stats *st, long long t0)
{
    st->max_call_ns = MAX(st->max_call_ns, time_nsec() - t0);
}

static long long
slice_begin(struct op_stats *st)
{
    st->slice_cpu0 = cpu_nsec();
    return time_nsec();
}

static void
note_slice(struct op_stats *st, long long t0)
{
    st->max_slice_ns = MAX(st->max_slice_ns, time_nsec() - t0);
    st->max_slice_cpu_ns = MAX(st->max_slice_cpu_ns,
                               cpu_nsec() - st->slice_cpu0);
    st->n_slices++;
}

/* Whether a slice that started at 't0' may make another call. */
static bool
slice_more(long long t0, int calls)
{
    return calls < CT_CALLS_PER_SLICE && time_nsec() - t0 < CT_SLICE_NS;
}

/* Runs 'call' (one bounded call that adds what it did to '*n_items' and
 * returns whether there is more) in the daemon's slices until it is done,
 * then prints operation 'name''s figures. */
static void
run_sliced(const char *name, bool (*call)(void *aux, size_t *n_items),
           void *aux)
{
    struct op_stats st;
    size_t n_items = 0;
    bool more = true;

    op_begin(&st);
    while (more) {
        long long s0 = slice_begin(&st);

        for (int i = 0; more && slice_more(s0, i); i++) {
            long long c0 = time_nsec();

            more = call(aux, &n_items);
            note_call(&st, c0);
        }
        note_slice(&st, s0);
    }
    op_end(name, &st, n_items);
}

struct dump_aux {
    struct dpif_ct_dump *d;
    struct ds lines;
};

static bool
dump_call(void *aux_, size_t *n_lines)
{
    struct dump_aux *aux = aux_;
    bool more;

    ds_clear(&aux->lines);
    more = dpif_ct_dump_next(aux->d, &aux->lines, CT_DUMP_LINES);
    for (size_t j = 0; j < aux->lines.length; j++) {
        *n_lines += aux->lines.string[j] == '\n';
    }
    return more;
}

static void
bench_dump(struct dpif_ct *dct)
{
    struct dump_aux aux = {
        .d = dpif_ct_dump_start(dct, NULL, false, false),
        .lines = DS_EMPTY_INITIALIZER,
    };

    run_sliced("dump", dump_call, &aux);
    dpif_ct_dump_destroy(aux.d);
    ds_destroy(&aux.lines);
}

static bool
flush_call(void *op, size_t *removed)
{
    return dpif_ct_flush_next(op, CT_FLUSH_BUCKETS, removed);
}

static void
bench_flush(struct dpif_ct *dct, const char *name,
            const struct dpif_ct_flush_filter *f)
{
    struct dpif_ct_flush_op *op = dpif_ct_flush_start(dct, f);

    run_sliced(name, flush_call, op);
    dpif_ct_flush_destroy(op);
}

static void
bench_sweep(void)
{
    struct op_stats st;
    size_t removed = 0;

    op_begin(&st);
    while (conntrack_get_nconns(ct)) {
        long long s0 = slice_begin(&st);

        /* Two hours on: every UDP connection has expired. */
        removed += conntrack_sweep(ct, time_msec() + 2 * 3600 * 1000LL,
                                   SWEEP_ENTRIES);
        note_call(&st, s0);
        note_slice(&st, s0);
    }
    op_end("sweep", &st, removed);
}

static void
fill_all(long n)
{
    long n2 = n / 10, n3 = n / 10;
    long long t0 = time_nsec();

    n_zone1 = n - n2 - n3;
    fill(0, n_zone1, 1, 0);
    fill(n_zone1, n2, 2, 0);
    fill(n_zone1 + n2, n3, 3, 5);
    t0 = time_nsec() - t0;
    if (conntrack_get_nconns(ct) != (uint32_t) n) {
        fprintf(stderr, "bench-ct-stall: only %u of %ld committed\n",
                conntrack_get_nconns(ct), n);
    }
    printf("bench: ct_stall_fill_conns_per_sec %.0f\n", n * 1e9 / t0);
}

int
main(int argc, char *argv[])
{
    long n = argc > 1 ? atol(argv[1]) : 2000000;
    struct dpif_ct *dct = dpif_ct_create(NULL);
    struct dpif_ct_flush_filter zone2 = { .has_zone = true, .zone = 2 };
    struct dpif_ct_flush_filter mark5 = { .mark = 5, .mark_mask = 0xff };
    bool with_fwd = !(argc > 2 && !strcmp(argv[2], "nofwd"));
    pthread_t fwd;
    struct op_stats idle;

    if (!dct || n < 100) {
        fprintf(stderr, "bench-ct-stall: cannot create the tracker\n");
        return 1;
    }
    ct = dpif_ct_conntrack(dct);
    fill_all(n);
    if (with_fwd) {
        pthread_create(&fwd, NULL, fwd_main, NULL);
    }

    /* Noise floor: the forwarding thread alone for 300 ms. */
    op_begin(&idle);
    while (time_nsec() - idle.total_ns < 300 * 1000000LL) {
        nanosleep(&(struct timespec) { 0, 10 * 1000 * 1000 }, NULL);
    }
    printf("bench: ct_stall_idle_fwd_max_batch_us %.0f us (%lld batches)\n",
           atomic_load(&fwd_max_ns) / 1e3, atomic_load(&fwd_batches));
    printf("bench: ct_stall_idle_fwd_max_batch_cpu_us %.0f us\n",
           atomic_load(&fwd_max_cpu_ns) / 1e3);

    bench_dump(dct);
    bench_flush(dct, "flush_zone", &zone2);
    bench_flush(dct, "flush_mark", &mark5);
    bench_sweep();
    fill_all(n);
    bench_flush(dct, "flush_all", NULL);

    atomic_store(&fwd_stop, true);
    if (with_fwd) {
        pthread_join(fwd, NULL);
    }
    dpif_ct_destroy(dct);
    return 0;
}
