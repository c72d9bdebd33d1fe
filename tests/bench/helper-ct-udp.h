/* helper-ct-udp: UDP packets and connection fills for the conntrack
 * benches (bench-conntrack, bench-ct-snapshot, bench-ct-stall).
 *
 * Connection number 'id' is the UDP flow 10.0.0.1:(1024 + id % 2^15) ->
 * 10.0.0.2:(1 + id / 2^15) (IPv6: fd00::1 -> fd00::2), so ids below 2^31
 * are distinct connections.
 *
 * Threads: each function works on the packets and tracker it is given;
 * packets are not shared between threads. */
#ifndef TS_BENCH_HELPER_CT_UDP_H
#define TS_BENCH_HELPER_CT_UDP_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct conntrack;
struct ct_exec_args;
struct dp_packet;
struct flow;

/* An Ethernet + IPv4 (or IPv6) + UDP packet with 18 bytes of payload,
 * ports 'sport' and 'dport', a valid UDP checksum if 'with_csum' (IPv4
 * only) else 0; its flow extracted into 'flow'.  Caller owns it. */
struct dp_packet *bench_ct_make_udp(bool v6, uint16_t sport, uint16_t dport,
                                    bool with_csum, struct flow *flow);

/* Rewrites the ports of a bench_ct_make_udp() packet to connection 'id'
 * and forgets its cached connection.  If 'flow' is nonnull, also updates
 * its ports and clears its ct_state. */
void bench_ct_set_conn(struct dp_packet *, struct flow *flow, uint32_t id);

struct bench_ct_commit_args {
    bool v6;
    uint32_t first;             /* id of the first connection */
    long n;                     /* number of connections */
    /* Batch b of NETDEV_MAX_BURST packets runs with args[b % n_args]
     * (each with 'commit' set, or nothing is committed). */
    const struct ct_exec_args *const *args;
    size_t n_args;
    long long now_ms;           /* < 0: time_msec() at each batch */
};

/* Runs connections first .. first + n - 1 through conntrack_execute(). */
void bench_ct_commit(struct conntrack *, const struct bench_ct_commit_args *);

#endif /* helper-ct-udp.h */
