/* helper-ct-udp: see helper-ct-udp.h. */
#include "helper-ct-udp.h"

#include <arpa/inet.h>
#include <string.h>

#include "conntrack/conntrack.h"
#include "csum.h"
#include "dp-packet.h"
#include "flow.h"
#include "packets.h"
#include "util.h"

struct dp_packet *
bench_ct_make_udp(bool v6, uint16_t sport, uint16_t dport, bool with_csum,
                  struct flow *flow)
{
    uint8_t b[128];
    size_t l3 = v6 ? IPV6_HEADER_LEN : IP_HEADER_LEN;
    size_t len = ETH_HEADER_LEN + l3 + UDP_HEADER_LEN + 18;
    struct udp_header *udp = (void *) (b + ETH_HEADER_LEN + l3);
    struct dp_packet *p;

    memset(b, 0, sizeof b);
    b[0] = 2;
    b[6] = 2;
    b[11] = 1;
    b[12] = v6 ? 0x86 : 0x08;
    b[13] = v6 ? 0xdd : 0x00;
    if (v6) {
        struct ipv6_header *ip6 = (void *) (b + ETH_HEADER_LEN);

        ip6->ip6_vtc_flow = htonl(6u << 28);
        ip6->ip6_plen = htons(UDP_HEADER_LEN + 18);
        ip6->ip6_nxt = IPPROTO_UDP;
        ip6->ip6_hlim = 64;
        ip6->ip6_src[0] = 0xfd;
        ip6->ip6_src[15] = 1;
        ip6->ip6_dst[0] = 0xfd;
        ip6->ip6_dst[15] = 2;
    } else {
        struct ip_header *ip = (void *) (b + ETH_HEADER_LEN);

        ip->ip_ihl_ver = IP_IHL_VER(5, 4);
        ip->ip_tot_len = htons(IP_HEADER_LEN + UDP_HEADER_LEN + 18);
        ip->ip_ttl = 64;
        ip->ip_proto = IPPROTO_UDP;
        ip->ip_src = htonl(0x0a000001);
        ip->ip_dst = htonl(0x0a000002);
        ip->ip_csum = csum(ip, IP_HEADER_LEN);
    }
    udp->udp_src = htons(sport);
    udp->udp_dst = htons(dport);
    udp->udp_len = htons(UDP_HEADER_LEN + 18);
    if (with_csum && !v6) {
        struct ip_header *ip = (void *) (b + ETH_HEADER_LEN);
        uint32_t sum = csum_pseudo_ipv4(ip->ip_src, ip->ip_dst, IPPROTO_UDP,
                                        UDP_HEADER_LEN + 18);

        udp->udp_csum = csum_finish(csum_continue(sum, udp,
                                                  UDP_HEADER_LEN + 18));
    }
    p = dp_packet_clone_data(b, len);
    flow_extract(p, flow);
    return p;
}

void
bench_ct_set_conn(struct dp_packet *p, struct flow *flow, uint32_t id)
{
    struct udp_header *udp = dp_packet_l4(p);

    udp->udp_src = htons(1024 + (id & 0x7fff));
    udp->udp_dst = htons(1 + (id >> 15));
    p->ct_conn = NULL;
    if (flow) {
        flow->tp_src = udp->udp_src;
        flow->tp_dst = udp->udp_dst;
        flow->ct_state = 0;
    }
}

void
bench_ct_commit(struct conntrack *ct, const struct bench_ct_commit_args *c)
{
    enum { BATCH = NETDEV_MAX_BURST };
    struct dp_packet *pkts[BATCH];
    struct flow fs[BATCH], *flows[BATCH];

    for (int i = 0; i < BATCH; i++) {
        pkts[i] = bench_ct_make_udp(c->v6, 0, 0, false, &fs[i]);
        flows[i] = &fs[i];
    }
    for (long k = 0; k < c->n; k += BATCH) {
        int m = MIN(BATCH, c->n - k);
        long long now = c->now_ms < 0 ? time_msec() : c->now_ms;

        for (int i = 0; i < m; i++) {
            bench_ct_set_conn(pkts[i], NULL, c->first + k + i);
        }
        conntrack_execute(ct, pkts, flows, m,
                          c->args[(k / BATCH) % c->n_args], now);
    }
    for (int i = 0; i < BATCH; i++) {
        dp_packet_delete(pkts[i]);
    }
}
