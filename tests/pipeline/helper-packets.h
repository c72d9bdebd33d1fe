/* helper-packets: frames built byte by byte for pipeline tests, and
 * helpers to inject into and collect from a dpif's dummy ports with a
 * timeout (workers forward asynchronously).
 *
 * Compiled into every pipeline test (tests/meson.build links every
 * tests/pipeline/helper-*.c).  Main thread only. */
#ifndef TS_TEST_HELPER_PACKETS_H
#define TS_TEST_HELPER_PACKETS_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "packets.h"

struct dpif;

#define PKT_MAX 2048

/* 02:00:00:00:00:NN style locally administered unicast address. */
struct eth_addr pkt_mac(unsigned int n);

/* Ethernet frame of 'payload_len' zero bytes after the header.  Returns
 * the frame length (at most PKT_MAX). */
size_t pkt_eth(uint8_t *buf, struct eth_addr dst, struct eth_addr src,
               uint16_t eth_type, size_t payload_len);
/* Same with an 802.1Q tag carrying 'vid'. */
size_t pkt_eth_vlan(uint8_t *buf, struct eth_addr dst, struct eth_addr src,
                    uint16_t vid, uint16_t eth_type, size_t payload_len);
/* Ethernet + IPv4 (valid header checksum) + UDP (checksum 0) with
 * 'payload_len' payload bytes.  'ip_src'/'ip_dst' are host order. */
size_t pkt_udp4(uint8_t *buf, struct eth_addr dst, struct eth_addr src,
                uint32_t ip_src, uint32_t ip_dst, uint16_t sport,
                uint16_t dport, size_t payload_len);
/* Ethernet + IPv4 + TCP (flags 'tcp_flags', no payload). */
size_t pkt_tcp4(uint8_t *buf, struct eth_addr dst, struct eth_addr src,
                uint32_t ip_src, uint32_t ip_dst, uint16_t sport,
                uint16_t dport, uint16_t tcp_flags);
/* ARP request (op 1) or reply (op 2); broadcast destination for
 * requests. */
size_t pkt_arp(uint8_t *buf, uint16_t op, struct eth_addr sha, uint32_t spa,
               struct eth_addr tha, uint32_t tpa);

/* Checksums by full recomputation, for Ethernet (optionally with one or
 * two VLAN tags) + IPv4 + TCP/UDP/ICMP frames; other frames are left
 * alone / reported fine.  pkt_fix_csums() fills the IPv4 header checksum
 * and the L4 checksum (UDP too: a zero UDP checksum becomes a real one).
 * pkt_csums_ok() verifies them (a zero UDP checksum counts as "none"). */
void pkt_fix_csums(uint8_t *buf, size_t len);
bool pkt_csums_ok(const uint8_t *buf, size_t len);
/* Inserts an 802.1Q-style tag (tpid, tci host order) after the MAC
 * addresses / removes the outer tag.  Return the new length. */
size_t pkt_push_vlan(uint8_t *buf, size_t len, uint16_t tpid, uint16_t tci);
size_t pkt_pop_vlan(uint8_t *buf, size_t len);
/* Offset of the L3 header (after any VLAN tags). */
size_t pkt_l3_ofs(const uint8_t *buf, size_t len);

/* Injects 'len' bytes on 'port'; asserts success (Criterion). */
void pkt_inject(struct dpif *, uint32_t port, const void *frame, size_t len);
/* Collects frames sent on 'port' until 'expect' have arrived or
 * 'timeout_ms' passed, then keeps collecting for 'settle_ms' more to catch
 * extra copies.  Frees the frames; returns how many arrived.  If 'last'
 * is nonnull, the bytes of the last frame (up to PKT_MAX) are copied there
 * and its length stored in '*last_len'. */
int pkt_collect(struct dpif *, uint32_t port, int expect, int timeout_ms,
                int settle_ms, uint8_t *last, size_t *last_len);
/* Drains every frame queued on 'port' (no waiting); returns how many. */
int pkt_drain(struct dpif *, uint32_t port);
/* Sleeps 'ms' milliseconds. */
void pkt_sleep_ms(int ms);

#endif
