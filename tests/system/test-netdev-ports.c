/* System tests of the port providers (root, network namespaces).
 *
 * For afpacket, afxdp and tap: a namespace with a veth end (or the TAP
 * moved into it) addressed 10.213.0.1/24, whose static neighbour
 * 10.213.0.2 has our MAC.  A ping from the namespace must arrive through
 * the netdev API; an echo request sent through the netdev must be
 * answered by the namespace, and the reply received again.  pcap is
 * tested with files.  Every name carries a per-process prefix, and the
 * fini functions remove everything, also after a failed assertion. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <net/if.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "dp-packet.h"
#include "netdev.h"
#include "packets.h"
#include "smap.h"

#define NS_IP "10.213.0.1"
#define OUR_IP "10.213.0.2"
#define OUR_MAC_STR "02:00:00:d5:00:02"
static const uint8_t our_mac[6] = { 0x02, 0x00, 0x00, 0xd5, 0x00, 0x02 };

static char ns[32], if_a[IFNAMSIZ], if_b[IFNAMSIZ], if_tap[IFNAMSIZ];
static char tmpdir[64];

static int
sh(const char *fmt, ...)
{
    char cmd[512];
    va_list args;
    int r;

    va_start(args, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, args);
    va_end(args);
    r = system(cmd);
    return r == -1 ? -1 : WEXITSTATUS(r);
}

static void
names_init(void)
{
    int id = getpid() % 100000;

    snprintf(ns, sizeof ns, "tnp%05d-ns", id);
    snprintf(if_a, sizeof if_a, "tnp%05da", id);
    snprintf(if_b, sizeof if_b, "tnp%05db", id);
    snprintf(if_tap, sizeof if_tap, "tnp%05dt", id);
}

static void
cleanup(void)
{
    sh("ip netns del %s 2>/dev/null", ns);
    sh("ip link del %s 2>/dev/null", if_a);
    sh("ip link del %s 2>/dev/null", if_tap);
}

static void
ns_address(const char *dev)
{
    cr_assert_eq(sh("ip -n %s link set %s up && "
                    "ip -n %s addr add " NS_IP "/24 dev %s && "
                    "ip -n %s neigh replace " OUR_IP " lladdr " OUR_MAC_STR
                    " dev %s nud permanent", ns, dev, ns, dev, ns, dev), 0,
                 "cannot configure %s in %s", dev, ns);
}

/* A namespace holding veth end B; end A stays here, up, for the netdev.
 * 'no_offload' turns checksum offload off in the namespace (AF_XDP). */
static void
veth_setup(bool no_offload)
{
    if (geteuid()) {
        cr_skip_test("needs root");
    }
    names_init();
    cleanup();
    cr_assert_eq(sh("ip netns add %s && ip link add %s type veth peer name "
                    "%s && ip link set %s netns %s && ip link set %s up",
                    ns, if_a, if_b, if_b, ns, if_a), 0, "veth setup");
    ns_address(if_b);
    if (no_offload) {
        sh("ip netns exec %s ethtool -K %s tx off >/dev/null 2>&1", ns,
           if_b);
    }
}

static void veth_setup_plain(void) { veth_setup(false); }
static void veth_setup_xdp(void) { veth_setup(true); }

static void
ns_setup(void)
{
    if (geteuid()) {
        cr_skip_test("needs root");
    }
    names_init();
    cleanup();
    cr_assert_eq(sh("ip netns add %s", ns), 0);
}

/* --- Frames ----------------------------------------------------------- */

static uint16_t
ip_csum(const void *data, size_t n)
{
    const uint8_t *d = data;
    uint32_t sum = 0;

    for (size_t i = 0; i + 1 < n; i += 2) {
        sum += (d[i] << 8) | d[i + 1];
    }
    if (n & 1) {
        sum += d[n - 1] << 8;
    }
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return htons(~sum);
}

/* Writes an ICMP echo request OUR_IP -> NS_IP to 'dst' into 'f'; returns
 * its length. */
static size_t
build_echo(uint8_t *f, const struct eth_addr *dst, uint16_t id)
{
    struct ip_header *ip = (void *) (f + 14);
    struct icmp_header *icmp = (void *) (f + 34);
    size_t len = 14 + 20 + 8 + 56;
    uint32_t src = inet_addr(OUR_IP), dip = inet_addr(NS_IP);

    memset(f, 0, len);
    memcpy(f, dst->ea, 6);
    memcpy(f + 6, our_mac, 6);
    f[12] = 0x08;
    ip->ip_ihl_ver = IP_IHL_VER(5, 4);
    ip->ip_tot_len = htons(len - 14);
    ip->ip_ttl = 64;
    ip->ip_proto = 1;
    memcpy(&ip->ip_src, &src, 4);
    memcpy(&ip->ip_dst, &dip, 4);
    ip->ip_csum = ip_csum(ip, 20);
    icmp->icmp_type = ICMP4_ECHO_REQUEST;
    icmp->icmp_fields.echo.id = htons(id);
    icmp->icmp_fields.echo.seq = htons(1);
    for (size_t i = 42; i < len; i++) {
        f[i] = i;
    }
    icmp->icmp_csum = ip_csum(icmp, len - 34);
    return len;
}

/* True if 'p' is an ICMP packet of 'type' from NS_IP to OUR_IP (with echo
 * id 'id' unless it is negative). */
static bool
is_icmp(const struct dp_packet *p, uint8_t type, int id)
{
    const uint8_t *d = dp_packet_data(p);
    const struct ip_header *ip = (const void *) (d + 14);
    const struct icmp_header *icmp = (const void *) (d + 34);
    uint32_t src = inet_addr(NS_IP), dst = inet_addr(OUR_IP);

    return p->size >= 42 && d[12] == 0x08 && d[13] == 0x00
           && ip->ip_proto == 1 && !memcmp(&ip->ip_src, &src, 4)
           && !memcmp(&ip->ip_dst, &dst, 4) && icmp->icmp_type == type
           && (id < 0 || ntohs(icmp->icmp_fields.echo.id) == id)
           && !memcmp(d, our_mac, 6);
}

/* Receives through 'nd' for up to 'ms' milliseconds until a packet
 * matches; returns true if one did. */
static bool
wait_for(struct netdev *nd, uint8_t type, int id, int ms)
{
    long long deadline;
    struct timeval tv;
    bool found = false;

    gettimeofday(&tv, NULL);
    deadline = tv.tv_sec * 1000LL + tv.tv_usec / 1000 + ms;
    while (!found) {
        struct pollfd pfd = { .fd = nd->class->rx_fd(nd), .events = POLLIN };
        struct dp_packet_batch batch;
        struct dp_packet *p;
        long long now;

        gettimeofday(&tv, NULL);
        now = tv.tv_sec * 1000LL + tv.tv_usec / 1000;
        if (now >= deadline) {
            break;
        }
        poll(&pfd, 1, MIN(deadline - now, 50));
        if (nd->class->run) {
            nd->class->run(nd);
        }
        dp_packet_batch_init(&batch);
        cr_assert_geq(nd->class->recv(nd, &batch), 0);
        DP_PACKET_BATCH_FOR_EACH (i, p, &batch) {
            found |= is_icmp(p, type, id);
        }
        dp_packet_batch_delete(&batch);
    }
    return found;
}

static void
send_frame(struct netdev *nd, const void *f, size_t len)
{
    struct dp_packet_batch batch;

    dp_packet_batch_init(&batch);
    dp_packet_batch_add(&batch, dp_packet_clone_data(f, len));
    nd->class->send(nd, &batch);
    cr_assert_eq(batch.count, 0, "send must consume the batch");
}

static void
ns_mac(const char *dev, struct eth_addr *mac)
{
    char cmd[256], buf[64] = "";
    FILE *f;

    snprintf(cmd, sizeof cmd, "ip netns exec %s cat /sys/class/net/%s/"
             "address", ns, dev);
    f = popen(cmd, "r");
    cr_assert(f);
    cr_assert(fgets(buf, sizeof buf, f));
    pclose(f);
    cr_assert(eth_addr_from_string(strtok(buf, "\n"), mac),
              "bad mac '%s'", buf);
}

/* The exchange every kernel-backed port must pass. */
static void
exchange(struct netdev *nd, const char *ns_dev)
{
    struct netdev_stats st;
    struct eth_addr mac;
    uint8_t frame[256];
    size_t len;

    ns_mac(ns_dev, &mac);

    /* Netdev -> namespace -> netdev: a request answered by the kernel. */
    for (int attempt = 0; attempt < 3; attempt++) {
        len = build_echo(frame, &mac, 4242 + attempt);
        send_frame(nd, frame, len);
        if (wait_for(nd, ICMP4_ECHO_REPLY, 4242 + attempt, 2000)) {
            break;
        }
        cr_assert_lt(attempt, 2, "no echo reply from the namespace");
    }
    nd->class->get_stats(nd, &st);
    cr_assert_geq(st.tx_packets, 1);
    cr_assert_geq(st.rx_packets, 1);
    cr_assert_geq(st.rx_bytes, 98);
}

/* Receives a ping from the namespace: an echo request NS_IP -> OUR_IP. */
static void
receive_ping(struct netdev *nd)
{
    long long end = time(NULL) + 5;
    bool found = false;

    cr_assert_eq(sh("ip netns exec %s ping -c 4 -i 0.2 -W 1 " OUR_IP
                    " >/dev/null 2>&1 &", ns), 0);
    while (!found && time(NULL) < end) {
        struct pollfd pfd = { .fd = nd->class->rx_fd(nd), .events = POLLIN };
        struct dp_packet_batch batch;
        struct dp_packet *p;

        poll(&pfd, 1, 50);
        if (nd->class->run) {
            nd->class->run(nd);
        }
        dp_packet_batch_init(&batch);
        nd->class->recv(nd, &batch);
        DP_PACKET_BATCH_FOR_EACH (i, p, &batch) {
            const uint8_t *d = dp_packet_data(p);
            uint32_t src = inet_addr(NS_IP);

            found |= p->size >= 42 && d[12] == 0x08 && d[23] == 1
                     && d[34] == ICMP4_ECHO_REQUEST
                     && !memcmp(d + 26, &src, 4) && !memcmp(d, our_mac, 6);
        }
        dp_packet_batch_delete(&batch);
    }
    cr_assert(found, "no ping from the namespace arrived");
}

static struct netdev *
open_ok(const char *name, const char *type, const struct smap *opts)
{
    struct netdev *nd = NULL;
    char *err = NULL;
    int r = netdev_open(name, type, opts, &nd, &err);

    cr_assert_eq(r, 0, "open %s %s: %s", type, name, err ? err : "?");
    cr_assert_null(err);
    cr_assert_str_eq(nd->type, type);
    return nd;
}

/* --- afpacket ---------------------------------------------------------- */

TestSuite(netdev_ports, .timeout = 60);

static void
afpacket_case(const char *mode)
{
    struct smap opts = SMAP_INITIALIZER;
    struct netdev *nd;
    uint32_t tx;
    int mtu = 0;

    smap_replace(&opts, "rx-mode", mode);
    nd = open_ok(if_a, "afpacket", &opts);
    tx = nd->class->tx_offloads(nd);
    cr_assert_eq(tx & (NETDEV_TX_CSUM | NETDEV_TX_TSO),
                 NETDEV_TX_CSUM | NETDEV_TX_TSO);
    cr_assert_eq(nd->class->get_mtu(nd, &mtu), 0);
    cr_assert_eq(mtu, 1500);
    receive_ping(nd);
    exchange(nd, if_b);
    netdev_close(nd);
    smap_destroy(&opts);
}

Test(netdev_ports, afpacket_ring, .init = veth_setup_plain, .fini = cleanup)
{
    afpacket_case("ring");
}

Test(netdev_ports, afpacket_mmsg, .init = veth_setup_plain, .fini = cleanup)
{
    afpacket_case("mmsg");
}

/* The kernel moves VLAN tags into metadata; the port puts them back. */
static void
afpacket_vlan_case(const char *mode)
{
    struct smap opts = SMAP_INITIALIZER;
    long long end = time(NULL) + 5;
    struct netdev *nd;
    bool found = false;

    smap_replace(&opts, "rx-mode", mode);
    nd = open_ok(if_a, "afpacket", &opts);
    /* A tagged frame written raw on the namespace's end: the receiving
     * end's core moves the tag into metadata. */
    cr_assert_eq(sh("ip netns exec %s python3 -c \"import socket, time\n"
                    "s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)\n"
                    "s.bind(('%s', 0))\n"
                    "f = bytes.fromhex('" "020000d50002" "020000000001"
                    "8100000a0800" "4500001c00004000" "4011000000000000"
                    "00000000" "0000000000080000')\n"
                    "for i in range(5):\n"
                    "    s.send(f); time.sleep(0.1)\" >/dev/null 2>&1 &", ns,
                    if_b), 0);
    while (!found && time(NULL) < end) {
        struct pollfd pfd = { .fd = nd->class->rx_fd(nd), .events = POLLIN };
        struct dp_packet_batch batch;
        struct dp_packet *p;

        poll(&pfd, 1, 50);
        dp_packet_batch_init(&batch);
        nd->class->recv(nd, &batch);
        DP_PACKET_BATCH_FOR_EACH (i, p, &batch) {
            const uint8_t *d = dp_packet_data(p);

            if (p->size >= 46 && !memcmp(d, our_mac, 6)) {
                cr_assert_eq(d[12] << 8 | d[13], 0x8100, "tag missing");
                cr_assert_eq((d[14] << 8 | d[15]) & 0xfff, 10);
                cr_assert_eq(d[16] << 8 | d[17], 0x0800);
                cr_assert_eq(d[18 + 8], 64, "TTL not where expected");
                found = true;
            }
        }
        dp_packet_batch_delete(&batch);
    }
    cr_assert(found, "no tagged frame arrived");
    netdev_close(nd);
    smap_destroy(&opts);
}

Test(netdev_ports, afpacket_vlan_ring, .init = veth_setup_plain,
     .fini = cleanup)
{
    afpacket_vlan_case("ring");
}

Test(netdev_ports, afpacket_vlan_mmsg, .init = veth_setup_plain,
     .fini = cleanup)
{
    afpacket_vlan_case("mmsg");
}

/* A UDP datagram from the namespace keeps its partial checksum through
 * the virtio-net header. */
Test(netdev_ports, afpacket_partial_csum, .init = veth_setup_plain,
     .fini = cleanup)
{
    struct netdev *nd = open_ok(if_a, "afpacket", NULL);
    long long end = time(NULL) + 5;
    bool found = false;

    sh("ip netns exec %s bash -c 'for i in 1 2 3 4 5; do echo hello > "
       "/dev/udp/" OUR_IP "/9; sleep 0.2; done' >/dev/null 2>&1 &", ns);
    while (!found && time(NULL) < end) {
        struct pollfd pfd = { .fd = nd->class->rx_fd(nd), .events = POLLIN };
        struct dp_packet_batch batch;
        struct dp_packet *p;

        poll(&pfd, 1, 50);
        dp_packet_batch_init(&batch);
        nd->class->recv(nd, &batch);
        DP_PACKET_BATCH_FOR_EACH (i, p, &batch) {
            const uint8_t *d = dp_packet_data(p);

            if (p->size >= 42 && d[12] == 0x08 && d[23] == 17) {
                found = true;
                cr_assert(p->ofl.flags & DP_OFL_CSUM_PARTIAL,
                          "UDP from a veth with tx offload should carry a "
                          "partial checksum");
                cr_assert_eq(p->ofl.csum_start, 34);
                cr_assert_eq(p->ofl.csum_offset, 6);
            }
        }
        dp_packet_batch_delete(&batch);
    }
    cr_assert(found, "no UDP datagram arrived");
    netdev_close(nd);
}

Test(netdev_ports, afpacket_errors)
{
    struct smap opts = SMAP_INITIALIZER;
    struct netdev *nd = NULL;
    char *err = NULL;

    if (geteuid()) {
        cr_skip_test("needs root");
    }
    cr_assert_lt(netdev_open("tnpnosuchdev0", "afpacket", NULL, &nd, &err),
                 0);
    cr_assert_null(nd);
    cr_assert(err && strstr(err, "no such device"), "message: %s", err);
    free(err);
    err = NULL;
    smap_replace(&opts, "foo", "1");
    cr_assert_lt(netdev_open("lo", "afpacket", &opts, &nd, &err), 0);
    cr_assert_str_eq(err, "unknown option 'foo' for type afpacket");
    free(err);
    err = NULL;
    smap_remove(&opts, "foo");
    smap_replace(&opts, "rx-mode", "fast");
    cr_assert_lt(netdev_open("lo", "afpacket", &opts, &nd, &err), 0);
    cr_assert(err && strstr(err, "bad rx-mode 'fast'"), "%s", err);
    free(err);
    err = NULL;
    cr_assert_lt(netdev_open("lo", "nosuchtype", NULL, &nd, &err), 0);
    cr_assert(err && strstr(err, "unknown port type 'nosuchtype'"));
    free(err);
    smap_destroy(&opts);
}

/* --- afxdp ------------------------------------------------------------- */

static void
afxdp_case(const char *mode)
{
    struct smap opts = SMAP_INITIALIZER;
    struct netdev *nd;

    if (mode) {
        smap_replace(&opts, "xdp-mode", mode);
    }
    nd = open_ok(if_a, "afxdp", &opts);
    cr_assert_eq(nd->class->tx_offloads(nd), 0);
    receive_ping(nd);
    exchange(nd, if_b);
    netdev_close(nd);
    smap_destroy(&opts);
    /* The XDP program is gone with the socket. */
    cr_assert_neq(sh("ip link show %s | grep -q xdp", if_a), 0,
                  "XDP program left attached");
}

Test(netdev_ports, afxdp_best_effort, .init = veth_setup_xdp,
     .fini = cleanup)
{
    afxdp_case(NULL);
}

Test(netdev_ports, afxdp_generic, .init = veth_setup_xdp, .fini = cleanup)
{
    afxdp_case("generic");
}

Test(netdev_ports, afxdp_errors, .init = veth_setup_xdp, .fini = cleanup)
{
    struct smap opts = SMAP_INITIALIZER;
    struct netdev *nd = NULL;
    char *err = NULL;

    smap_replace(&opts, "xdp-mode", "turbo");
    cr_assert_lt(netdev_open(if_a, "afxdp", &opts, &nd, &err), 0);
    cr_assert(err && strstr(err, "bad xdp-mode 'turbo'"), "%s", err);
    free(err);
    err = NULL;
    cr_assert_lt(netdev_open("tnpnosuchdev0", "afxdp", NULL, &nd, &err), 0);
    cr_assert(err && strstr(err, "no such device"), "%s", err);
    free(err);
    err = NULL;

    /* Too large an MTU for native XDP on veth: a clear message. */
    cr_assert_eq(sh("ip link set %s mtu 9000 && ip -n %s link set %s mtu "
                    "9000", if_a, ns, if_b), 0);
    smap_replace(&opts, "xdp-mode", "native");
    if (netdev_open(if_a, "afxdp", &opts, &nd, &err) < 0) {
        cr_assert(err && strstr(err, "too large"), "%s", err);
        free(err);
    } else {
        netdev_close(nd);
    }
    /* Default type: afpacket for such an MTU, then afxdp once it fits. */
    cr_assert_str_eq(netdev_default_type(if_a), "afpacket");
    cr_assert_eq(sh("ip link set %s mtu 1500", if_a), 0);
    cr_assert_str_eq(netdev_default_type("tnpnosuchdev0"), "afpacket");
    smap_destroy(&opts);
}

/* --- tap and internal ------------------------------------------------- */

Test(netdev_ports, tap_moved_into_namespace, .init = ns_setup,
     .fini = cleanup)
{
    struct netdev *nd = open_ok(if_tap, "tap", NULL);
    uint32_t tx = nd->class->tx_offloads(nd);

    cr_assert_eq(tx & NETDEV_TX_TSO, NETDEV_TX_TSO);
    cr_assert_eq(sh("ip link show %s | grep -q ',UP'", if_tap), 0,
                 "TAP not up");
    cr_assert_eq(sh("ip link set %s netns %s", if_tap, ns), 0);
    ns_address(if_tap);
    receive_ping(nd);
    exchange(nd, if_tap);
    netdev_close(nd);
    cr_assert_neq(sh("ip -n %s link show %s >/dev/null 2>&1", ns, if_tap),
                  0, "a TAP we created must vanish on close");
}

Test(netdev_ports, tap_existing_persistent_kept, .init = ns_setup,
     .fini = cleanup)
{
    struct netdev *nd;

    cr_assert_eq(sh("ip tuntap add dev %s mode tap", if_tap), 0);
    nd = open_ok(if_tap, "tap", NULL);
    netdev_close(nd);
    cr_assert_eq(sh("ip link show %s >/dev/null 2>&1", if_tap), 0,
                 "a TAP that existed before must stay");
}

Test(netdev_ports, internal, .init = ns_setup, .fini = cleanup)
{
    struct netdev *nd = open_ok(if_tap, "internal", NULL);

    /* Like OVS's, the internal interface starts down until the user
     * brings it up (ns_address does, inside the namespace). */
    cr_assert_neq(sh("ip link show %s | grep -q ',UP'", if_tap), 0);
    cr_assert_eq(sh("ip link set %s netns %s", if_tap, ns), 0);
    ns_address(if_tap);
    exchange(nd, if_tap);
    netdev_close(nd);
    cr_assert_neq(sh("ip -n %s link show %s >/dev/null 2>&1", ns, if_tap),
                  0);
}

/* --- pcap ---------------------------------------------------------------
 * Needs no root. */

static void
tmp_setup(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/tnp-pcap-XXXXXX");
    cr_assert(mkdtemp(tmpdir));
}

static void
tmp_cleanup(void)
{
    sh("rm -rf %s", tmpdir);
}

Test(netdev_ports, pcap_replay_and_capture, .init = tmp_setup,
     .fini = tmp_cleanup)
{
    enum { N = 75 };
    char rx[128], tx[128], ebuf[PCAP_ERRBUF_SIZE];
    struct smap opts = SMAP_INITIALIZER;
    struct pcap_pkthdr hdr = { .caplen = 0 };
    struct eth_addr dst = { { 2, 0, 0, 0, 0, 1 } };
    uint8_t frame[256];
    pcap_dumper_t *dumper;
    struct netdev *nd;
    pcap_t *pc;
    size_t got = 0, len;
    const u_char *data;
    struct pcap_pkthdr *h;

    snprintf(rx, sizeof rx, "%s/in.pcap", tmpdir);
    snprintf(tx, sizeof tx, "%s/out.pcap", tmpdir);
    pc = pcap_open_dead(DLT_EN10MB, 65535);
    dumper = pcap_dump_open(pc, rx);
    cr_assert(dumper);
    for (int i = 0; i < N; i++) {
        len = build_echo(frame, &dst, i);
        hdr.caplen = hdr.len = len;
        pcap_dump((u_char *) dumper, &hdr, frame);
    }
    pcap_dump_close(dumper);
    pcap_close(pc);

    smap_replace(&opts, "rx", rx);
    smap_replace(&opts, "tx", tx);
    nd = open_ok("p0", "pcap", &opts);
    while (got < N) {
        struct pollfd pfd = { .fd = nd->class->rx_fd(nd), .events = POLLIN };
        struct dp_packet_batch batch;
        struct dp_packet *p;
        int n;

        cr_assert_eq(poll(&pfd, 1, 0), 1, "rx_fd must poll readable while "
                     "packets remain (%zu of %d read)", got, N);
        dp_packet_batch_init(&batch);
        n = nd->class->recv(nd, &batch);
        cr_assert_gt(n, 0);
        cr_assert_leq(n, NETDEV_MAX_BURST);
        DP_PACKET_BATCH_FOR_EACH (i, p, &batch) {
            const uint8_t *d = dp_packet_data(p);

            cr_assert_eq(d[38] << 8 | d[39], got + i, "order");
        }
        got += n;
        nd->class->send(nd, &batch);
    }
    {
        struct pollfd pfd = { .fd = nd->class->rx_fd(nd), .events = POLLIN };
        struct dp_packet_batch batch;

        dp_packet_batch_init(&batch);
        cr_assert_eq(nd->class->recv(nd, &batch), 0);
        cr_assert_eq(poll(&pfd, 1, 0), 0, "rx_fd readable after EOF");
    }
    netdev_close(nd);
    smap_destroy(&opts);

    pc = pcap_open_offline(tx, ebuf);
    cr_assert(pc, "%s", ebuf);
    got = 0;
    while (pcap_next_ex(pc, &h, &data) == 1) {
        len = build_echo(frame, &dst, got);
        cr_assert_eq(h->caplen, len);
        cr_assert_eq(memcmp(data, frame, len), 0, "packet %zu differs", got);
        got++;
    }
    pcap_close(pc);
    cr_assert_eq(got, N);
}

Test(netdev_ports, pcap_errors, .init = tmp_setup, .fini = tmp_cleanup)
{
    struct smap opts = SMAP_INITIALIZER;
    struct netdev *nd = NULL;
    char *err = NULL;

    cr_assert_lt(netdev_open("p0", "pcap", &opts, &nd, &err), 0);
    cr_assert(err && strstr(err, "needs rx=FILE or tx=FILE"), "%s", err);
    free(err);
    err = NULL;
    smap_replace(&opts, "rx", "/nonexistent/x.pcap");
    cr_assert_lt(netdev_open("p0", "pcap", &opts, &nd, &err), 0);
    cr_assert(err && strstr(err, "cannot open rx file"), "%s", err);
    free(err);
    err = NULL;
    smap_remove(&opts, "rx");
    smap_replace(&opts, "speed", "9");
    cr_assert_lt(netdev_open("p0", "pcap", &opts, &nd, &err), 0);
    cr_assert_str_eq(err, "unknown option 'speed' for type pcap");
    free(err);
    cr_assert_null(nd);
    smap_destroy(&opts);
}

/* Replay holds back, never drops, while every buffer is in flight. */
Test(netdev_ports, pcap_replay_waits_for_buffers, .init = tmp_setup,
     .fini = tmp_cleanup)
{
    enum { N = 600, MAX_HELD = 600 };
    struct smap opts = SMAP_INITIALIZER;
    struct pcap_pkthdr hdr = { .caplen = 0 };
    struct eth_addr dst = { { 2, 0, 0, 0, 0, 1 } };
    struct dp_packet **held = calloc(MAX_HELD, sizeof *held);
    struct netdev_stats st;
    size_t n_held = 0, got = 0, len;
    uint8_t frame[256];
    pcap_dumper_t *dumper;
    struct netdev *nd;
    char rx[128];
    pcap_t *pc;

    snprintf(rx, sizeof rx, "%s/in.pcap", tmpdir);
    pc = pcap_open_dead(DLT_EN10MB, 65535);
    dumper = pcap_dump_open(pc, rx);
    cr_assert(dumper);
    for (int i = 0; i < N; i++) {
        len = build_echo(frame, &dst, i);
        hdr.caplen = hdr.len = len;
        pcap_dump((u_char *) dumper, &hdr, frame);
    }
    pcap_dump_close(dumper);
    pcap_close(pc);

    smap_replace(&opts, "rx", rx);
    nd = open_ok("p0", "pcap", &opts);
    for (;;) {
        struct dp_packet_batch batch;
        struct dp_packet *p;

        dp_packet_batch_init(&batch);
        if (nd->class->recv(nd, &batch) <= 0) {
            break;
        }
        DP_PACKET_BATCH_FOR_EACH (i, p, &batch) {
            held[n_held++] = p;
        }
    }
    cr_assert_lt(n_held, N, "the pool should run dry before the file");
    {
        struct pollfd pfd = { .fd = nd->class->rx_fd(nd), .events = POLLIN };

        cr_assert_eq(poll(&pfd, 1, 0), 1, "packets remain: still readable");
    }
    got = n_held;
    for (size_t i = 0; i < n_held; i++) {
        const uint8_t *d = dp_packet_data(held[i]);

        cr_assert_eq(d[38] << 8 | d[39], i);
        dp_packet_delete(held[i]);
    }
    for (;;) {
        struct dp_packet_batch batch;
        struct dp_packet *p;

        dp_packet_batch_init(&batch);
        if (nd->class->recv(nd, &batch) <= 0) {
            break;
        }
        DP_PACKET_BATCH_FOR_EACH (i, p, &batch) {
            const uint8_t *d = dp_packet_data(p);

            cr_assert_eq(d[38] << 8 | d[39], got + i, "lost or reordered");
        }
        got += batch.count;
        dp_packet_batch_delete(&batch);
    }
    cr_assert_eq(got, N);
    nd->class->get_stats(nd, &st);
    cr_assert_eq(st.rx_packets, N);
    cr_assert_eq(st.rx_dropped, 0);
    netdev_close(nd);
    smap_destroy(&opts);
    free(held);
}
