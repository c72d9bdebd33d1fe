/* bench-conntrack: in-process conntrack figures, single thread.
 *
 * Prints:
 *   bench: ct_est_udp_ns_per_pkt X ns      one established UDP connection,
 *                                          batches of 32, commit on every
 *                                          packet (OVS test-conntrack's
 *                                          benchmark workload), valid UDP
 *                                          checksums verified; best of 5
 *   bench: ct_new_conns_per_sec X          new committed UDP connections
 *   bench: ct_bytes_per_conn_ipv4 X B      RSS growth / 1 M connections
 *   bench: ct_bytes_per_conn_ipv6 X B
 *   bench: ct_flush_zone_10k_us X us       flush of a 10,000-entry zone
 *                                          (another 10,000 in another zone)
 *                                          in a default-sized table; best
 *                                          of 3
 *   bench: ct_flush_zone_10k_in_1m_us X us same, with 1 M entries in
 *                                          other zones (a full scan)
 *   bench: ct_sweep_1m_ms X ms             sweep of 1 M expired entries
 *
 * Usage: bench-conntrack [N_CONNS] (default 1000000). */
#include <arpa/inet.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conntrack/conntrack.h"
#include "csum.h"
#include "dp-packet.h"
#include "flow.h"
#include "packets.h"
#include "util.h"

#include "helper-ct-udp.h"

#define BATCH NETDEV_MAX_BURST

static long
rss_bytes(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");

    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2) {
            resident = 0;
        }
        fclose(f);
    }
    return resident * sysconf(_SC_PAGESIZE);
}

static double
bench_est(void)
{
    struct conntrack *ct = conntrack_create(NULL);
    struct dp_packet *pkts[BATCH];
    struct flow flow_store[BATCH], *flows[BATCH];
    struct ct_exec_args args = { .zone = 1, .commit = true };
    long n_batches = 200000;
    long long start;

    for (int i = 0; i < BATCH; i++) {
        pkts[i] = bench_ct_make_udp(false, 1234, 53, true, &flow_store[i]);
        flows[i] = &flow_store[i];
    }
    /* Establish: one packet each way. */
    conntrack_execute(ct, pkts, flows, 1, &args, 0);
    {
        struct flow rf;
        struct dp_packet *r = bench_ct_make_udp(false, 53, 1234, false, &rf);
        struct ip_header *ip = dp_packet_l3(r);
        struct flow *rfp = &rf;

        ip->ip_src = htonl(0x0a000002);
        ip->ip_dst = htonl(0x0a000001);
        ip->ip_csum = 0;
        ip->ip_csum = csum(ip, IP_HEADER_LEN);
        conntrack_execute(ct, &r, &rfp, 1, &args, 0);
        if (!(rf.ct_state & CS_REPLY_DIR)) {
            fprintf(stderr, "bench: reply not recognised\n");
        }
        dp_packet_delete(r);
    }
    start = time_nsec();
    for (long b = 0; b < n_batches; b++) {
        for (int i = 0; i < BATCH; i++) {
            pkts[i]->ct_conn = NULL;        /* fresh packets: no cache */
        }
        conntrack_execute(ct, pkts, flows, BATCH, &args, b >> 10);
    }
    double ns = (double) (time_nsec() - start) / (n_batches * BATCH);
    if (flows[0]->ct_state != (CS_TRACKED | CS_ESTABLISHED)) {
        fprintf(stderr, "bench: unexpected state %#x\n", flows[0]->ct_state);
    }
    for (int i = 0; i < BATCH; i++) {
        dp_packet_delete(pkts[i]);
    }
    conntrack_destroy(ct);
    return ns;
}

/* Commits 'n' new connections in zone 'zone' through batches of 32,
 * varying the ports (addresses fixed).  Returns the ns it took. */
static long long
commit_many(struct conntrack *ct, bool v6, long n, uint16_t zone,
            uint32_t salt)
{
    struct ct_exec_args args = { .zone = zone, .commit = true };
    const struct ct_exec_args *argsp = &args;
    struct bench_ct_commit_args c = {
        .v6 = v6, .first = salt, .n = n, .args = &argsp, .n_args = 1,
    };
    long long start = time_nsec();

    bench_ct_commit(ct, &c);
    return time_nsec() - start;
}

static struct conntrack *
create_sized(uint32_t max)
{
    struct conntrack_config cfg;

    conntrack_config_init(&cfg);
    cfg.max_conns = max;
    return conntrack_create(&cfg);
}

int
main(int argc, char *argv[])
{
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    uint32_t max = 1;
    struct conntrack *ct;
    long rss0, rss1;
    long long t;

    while (max < n) {
        max <<= 1;
    }
    /* Best of 5: the machine is shared and noisy. */
    double est = bench_est();
    for (int i = 0; i < 4; i++) {
        est = MIN(est, bench_est());
    }
    printf("bench: ct_est_udp_ns_per_pkt %.1f ns\n", est);

    /* New connections and IPv4 memory. */
    ct = create_sized(max);
    rss0 = rss_bytes();
    t = commit_many(ct, false, n, 1, 0);
    rss1 = rss_bytes();
    if (conntrack_get_nconns(ct) != (uint32_t) n) {
        fprintf(stderr, "bench: only %u of %ld committed\n",
                conntrack_get_nconns(ct), n);
    }
    printf("bench: ct_new_conns_per_sec %.0f\n", n * 1e9 / t);
    printf("bench: ct_bytes_per_conn_ipv4 %.1f B\n",
           (double) (rss1 - rss0) / n);

    /* Zone flush with 1 M entries in other zones (full scan). */
    commit_many(ct, false, 10000, 7, 0);
    t = time_nsec();
    struct ct_flush_filter f = { .has_zone = true, .zone = 7 };
    size_t flushed = conntrack_flush(ct, &f, 0);
    t = time_nsec() - t;
    if (flushed != 10000) {
        fprintf(stderr, "bench: flushed %zu\n", flushed);
    }
    printf("bench: ct_flush_zone_10k_in_1m_us %.0f us\n", t / 1e3);

    /* Sweep of everything, expired. */
    t = time_nsec();
    size_t swept = 0;
    while (conntrack_get_nconns(ct)) {
        swept += conntrack_sweep(ct, 1000000000LL, 10000);
    }
    t = time_nsec() - t;
    printf("bench: ct_sweep_1m_ms %.1f ms (%zu removed)\n", t / 1e6, swept);
    conntrack_destroy(ct);

    /* IPv6 memory. */
    ct = create_sized(max);
    rss0 = rss_bytes();
    commit_many(ct, true, n, 1, 0);
    rss1 = rss_bytes();
    printf("bench: ct_bytes_per_conn_ipv6 %.1f B\n",
           (double) (rss1 - rss0) / n);
    conntrack_destroy(ct);

    /* Zone flush in a default-sized table (best of 3). */
    long long best = LLONG_MAX;
    for (int i = 0; i < 3; i++) {
        ct = conntrack_create(NULL);
        commit_many(ct, false, 10000, 5, 0);
        commit_many(ct, false, 10000, 6, 0);
        t = time_nsec();
        f.zone = 5;
        flushed = conntrack_flush(ct, &f, 0);
        t = time_nsec() - t;
        if (flushed != 10000 || conntrack_get_nconns(ct) != 10000) {
            fprintf(stderr, "bench: flushed %zu, left %u\n", flushed,
                    conntrack_get_nconns(ct));
        }
        best = MIN(best, t);
        conntrack_destroy(ct);
    }
    printf("bench: ct_flush_zone_10k_us %.0f us\n", best / 1e3);
    return 0;
}
