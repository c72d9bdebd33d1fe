/* bench-ct-snapshot: conntrack snapshot save and load times, and how
 * long a save holds up forwarding.
 *
 * For N = 100,000 and 1,000,000 UDP connections (IPv4, zone 1, one in
 * eight with a label) in a tracker sized as the daemon's (256 K buckets),
 * while a "forwarding" thread runs conntrack_execute() lookups on batches
 * of 32 packets of random existing connections:
 *
 *   bench: ct_snapshot_save_N_ms X ms        save to a file in /tmp
 *                                            (fsync included)
 *   bench: ct_snapshot_save_N_cpu_ms X ms    the same in thread CPU time
 *                                            (without preemption and I/O
 *                                            waits: on a loaded machine
 *                                            the wall figures are noise)
 *   bench: ct_snapshot_load_N_ms X ms        load into an empty tracker
 *   bench: ct_snapshot_bytes_per_conn_N X B  file size / N
 *   bench: ct_snapshot_save_N_max_hold_us X us  longest stripe hold of
 *                                            the save (what a worker can
 *                                            wait for)
 *   bench: ct_snapshot_fwd_max_batch_N_us X us  worst forwarding batch
 *                                            during the save
 *   bench: ct_snapshot_fwd_max_batch_idle_N_us X us  worst batch over
 *                                            the same time without a save
 *                                            (the noise floor)
 *
 * Usage: bench-ct-snapshot [MAX_N] (default 1000000). */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conntrack/conntrack.h"
#include "dp-packet.h"
#include "flow.h"
#include "packets.h"
#include "util.h"

#include "helper-ct-udp.h"

#define BATCH 32

static void
populate(struct conntrack *ct, uint32_t n)
{
    struct ct_exec_args plain = { .zone = 1, .commit = true };
    struct ct_exec_args labeled = { .zone = 1, .commit = true,
                                    .label = { 7, 0 },
                                    .label_mask = { ~0ull, 0 } };
    /* One batch in 8 labeled. */
    const struct ct_exec_args *args[8] = {
        &labeled, &plain, &plain, &plain, &plain, &plain, &plain, &plain,
    };

    struct bench_ct_commit_args c = {
        .n = n, .args = args, .n_args = ARRAY_SIZE(args),
    };

    bench_ct_commit(ct, &c);
}

struct fwd {
    struct conntrack *ct;
    uint32_t n;
    atomic_bool stop;
    atomic_llong max_batch_ns;  /* reset by the main thread */
};

static void *
fwd_main(void *f_)
{
    struct fwd *f = f_;
    struct dp_packet *pkts[BATCH];
    struct flow fs[BATCH], *flows[BATCH];
    struct ct_exec_args track = { .zone = 1 };
    uint32_t seed = 12345;

    for (int i = 0; i < BATCH; i++) {
        pkts[i] = bench_ct_make_udp(false, 0, 0, false, &fs[i]);
        flows[i] = &fs[i];
    }
    while (!atomic_load(&f->stop)) {
        for (int i = 0; i < BATCH; i++) {
            seed = seed * 1103515245 + 12345;
            bench_ct_set_conn(pkts[i], flows[i], (seed >> 4) % f->n);
        }
        long long t0 = time_nsec();
        conntrack_execute(f->ct, pkts, flows, BATCH, &track, 1);
        long long dt = time_nsec() - t0;
        long long cur = atomic_load(&f->max_batch_ns);
        while (dt > cur
               && !atomic_compare_exchange_weak(&f->max_batch_ns, &cur, dt)) {
            continue;
        }
    }
    for (int i = 0; i < BATCH; i++) {
        dp_packet_delete(pkts[i]);
    }
    return NULL;
}

static struct conntrack *
create_tracker(void)
{
    struct conntrack_config cfg;

    conntrack_config_init(&cfg);
    cfg.n_buckets = 1 << 18;
    return conntrack_create(&cfg);
}

static void
run(uint32_t n, const char *label)
{
    struct conntrack *ct = create_tracker(), *ct2 = create_tracker();
    char path[] = "/tmp/bench-ct-snapshot.XXXXXX";
    struct ct_snapshot_info si, li;
    struct fwd f = { .ct = ct, .n = n };
    pthread_t thr;
    char *err = NULL;
    int fd = mkstemp(path);

    if (fd < 0) {
        perror("mkstemp");
        exit(1);
    }
    close(fd);
    populate(ct, n);
    if (conntrack_get_nconns(ct) != n) {
        fprintf(stderr, "bench: only %u of %u committed\n",
                conntrack_get_nconns(ct), n);
        exit(1);
    }
    pthread_create(&thr, NULL, fwd_main, &f);
    usleep(100000);

    atomic_store(&f.max_batch_ns, 0);
    struct timespec c0, c1;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
    if (conntrack_snapshot_save(ct, path, 0, 1, &si, &err)) {
        fprintf(stderr, "bench: %s\n", err);
        exit(1);
    }
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
    long long cpu_ns = (c1.tv_sec - c0.tv_sec) * 1000000000LL
                       + (c1.tv_nsec - c0.tv_nsec);
    long long during = atomic_load(&f.max_batch_ns);
    atomic_store(&f.max_batch_ns, 0);
    usleep(si.duration_us);
    long long idle = atomic_load(&f.max_batch_ns);
    atomic_store(&f.stop, true);
    pthread_join(thr, NULL);

    if (conntrack_snapshot_load(ct2, path, 1, &li, &err)
        || li.n_restored != n) {
        fprintf(stderr, "bench: load: %s (%u restored)\n",
                err ? err : "ok", li.n_restored);
        exit(1);
    }
    printf("bench: ct_snapshot_save_%s_ms %.1f ms\n", label,
           si.duration_us / 1e3);
    printf("bench: ct_snapshot_save_%s_cpu_ms %.1f ms\n", label,
           cpu_ns / 1e6);
    printf("bench: ct_snapshot_load_%s_ms %.1f ms\n", label,
           li.duration_us / 1e3);
    printf("bench: ct_snapshot_bytes_per_conn_%s %.1f B\n", label,
           (double) si.bytes / n);
    printf("bench: ct_snapshot_save_%s_max_hold_us %.1f us\n", label,
           si.max_hold_ns / 1e3);
    printf("bench: ct_snapshot_fwd_max_batch_%s_us %.1f us\n", label,
           during / 1e3);
    printf("bench: ct_snapshot_fwd_max_batch_idle_%s_us %.1f us\n", label,
           idle / 1e3);
    unlink(path);
    conntrack_destroy(ct);
    conntrack_destroy(ct2);
}

int
main(int argc, char *argv[])
{
    long max = argc > 1 ? atol(argv[1]) : 1000000;

    run(MIN(max, 100000), "100k");
    if (max >= 1000000) {
        run(1000000, "1m");
    }
    return 0;
}
