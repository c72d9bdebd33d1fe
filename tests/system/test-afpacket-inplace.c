/* System test (root): an afpacket ring port hands GSO frames out in place
 * (their buffer is the ring frame) and returns a ring block to the kernel
 * only when every packet of it is freed.
 *
 * A namespace end of a veth pair injects TCP GSO frames (an AF_PACKET
 * socket with PACKET_VNET_HDR, from python3); the root end is opened as
 * an afpacket port.  We hold one received GSO frame while more than a
 * whole ring's worth of frames passes, then check that its bytes are
 * intact (the kernel never reused its block) and that receiving goes on
 * after it is freed. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dp-packet.h"
#include "netdev.h"
#include "smap.h"

#define FRAME_PAYLOAD 20000     /* TCP payload bytes per injected frame */

static char ns[32], if_a[16], script[64];

static int
sh(const char *fmt, ...)
{
    char cmd[1024];
    va_list args;

    va_start(args, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, args);
    va_end(args);
    return system(cmd);
}

/* Writes the injector: sends 'n' TCP GSO frames, frame i with seq i and
 * every payload byte equal to i % 251. */
static void
write_injector(void)
{
    FILE *f = fopen(script, "w");

    cr_assert_not_null(f);
    fputs("import socket, struct, sys\n"
          "n, plen = int(sys.argv[1]), int(sys.argv[2])\n"
          "s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)\n"
          "s.setsockopt(263, 15, 1)\n"         /* SOL_PACKET, VNET_HDR */
          "s.bind(('eth0', 0))\n"
          "for i in range(n):\n"
          "    tcp_len = 20 + plen\n"
          "    eth = b'\\x02\\0\\0\\0\\0\\x01' + b'\\x02\\0\\0\\0\\0\\x02'"
          " + b'\\x08\\x00'\n"
          "    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + tcp_len, i,"
          " 0x4000, 64, 6, 0, bytes([10,77,0,2]), bytes([10,77,0,1]))\n"
          "    tcp = struct.pack('!HHIIBBHHH', 40000, 5001, i, 1, 0x50,"
          " 0x18, 65535, 0, 0)\n"
          "    vh = struct.pack('=BBHHHH', 1, 1, 54, 1400, 34, 16)\n"
          "    s.send(vh + eth + ip + tcp + bytes([i % 251]) * plen)\n",
          f);
    fclose(f);
}

static void
setup(void)
{
    snprintf(ns, sizeof ns, "p4tns%d", (int) getpid());
    snprintf(if_a, sizeof if_a, "p4ia%d", (int) getpid() % 100000);
    snprintf(script, sizeof script, "/tmp/p4-inject-%d.py", (int) getpid());
    cr_assert_eq(sh("ip netns add %s && ip link add %s type veth peer name "
                    "eth0 netns %s && ip link set %s up && "
                    "ip -n %s link set eth0 up", ns, if_a, ns, if_a, ns), 0);
    write_injector();
}

static void
cleanup(void)
{
    sh("ip link del %s 2>/dev/null; ip netns del %s 2>/dev/null", if_a, ns);
    unlink(script);
}

/* The TCP sequence number (the injector's frame index) of 'p', or -1 if
 * it is not one of ours. */
static int
frame_index(const struct dp_packet *p)
{
    const uint8_t *d = dp_packet_data(p);
    uint32_t seq;

    if (p->size != 54 + FRAME_PAYLOAD || d[12] != 0x08 || d[23] != 6) {
        return -1;
    }
    memcpy(&seq, d + 38, 4);
    return ntohl(seq);
}

static bool
payload_intact(const struct dp_packet *p, int idx)
{
    const uint8_t *d = (const uint8_t *) dp_packet_data(p) + 54;

    for (int i = 0; i < FRAME_PAYLOAD; i++) {
        if (d[i] != idx % 251) {
            return false;
        }
    }
    return true;
}

/* Receives for up to 'ms' or until 'want' of our frames came; frees
 * everything but the first frame (returned in '*held', with its index in
 * '*held_idx', if 'held' is nonnull).  Returns the number of our frames
 * seen. */
static int
drain(struct netdev *nd, int want, int ms, struct dp_packet **held,
      int *held_idx)
{
    struct timespec t0, t;
    int seen = 0;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        struct pollfd pfd = { .fd = nd->class->rx_fd(nd), .events = POLLIN };
        struct dp_packet_batch batch;
        struct dp_packet *p;

        clock_gettime(CLOCK_MONOTONIC, &t);
        if (seen >= want || (t.tv_sec - t0.tv_sec) * 1000
                            + (t.tv_nsec - t0.tv_nsec) / 1000000 > ms) {
            return seen;
        }
        poll(&pfd, 1, 5);
        dp_packet_batch_init(&batch);
        nd->class->recv(nd, &batch);
        DP_PACKET_BATCH_FOR_EACH (i, p, &batch) {
            int idx = frame_index(p);

            if (idx < 0) {
                dp_packet_delete(p);
                continue;
            }
            seen++;
            cr_assert_eq(p->ofl.gso_type, DP_GSO_TCPV4);
            cr_assert_eq(p->ofl.gso_size, 1400);
            cr_assert(p->ofl.flags & DP_OFL_CSUM_PARTIAL);
            cr_assert(payload_intact(p, idx), "frame %d corrupt", idx);
            if (held && !*held) {
                *held = p;
                *held_idx = idx;
            } else {
                dp_packet_delete(p);
            }
        }
    }
}

TestSuite(afpacket_inplace, .init = setup, .fini = cleanup, .timeout = 60);

Test(afpacket_inplace, held_frame_pins_its_block)
{
    struct smap opts = SMAP_INITIALIZER;
    struct dp_packet *held = NULL;
    struct netdev *nd = NULL;
    char *err = NULL;
    int held_idx, seen;

    smap_replace(&opts, "rx-mode", "ring");
    cr_assert_eq(netdev_open(if_a, "afpacket", &opts, &nd, &err), 0,
                 "%s", err ? err : "?");
    smap_destroy(&opts);
    /* 400 frames of 20 KB: twice the 4 MB ring, so the kernel comes
     * round to the held frame's block while we hold it. */
    cr_assert_eq(sh("ip netns exec %s python3 %s 400 %d &", ns, script,
                    FRAME_PAYLOAD), 0);
    seen = drain(nd, 400, 8000, &held, &held_idx);
    cr_assert_geq(seen, 100, "only %d GSO frames arrived", seen);
    cr_assert_not_null(held);
    cr_assert_eq(frame_index(held), held_idx,
                 "the kernel reused the block of a held frame");
    cr_assert(payload_intact(held, held_idx),
              "the kernel reused the block of a held frame");
    dp_packet_delete(held);

    /* The block is back: frames still flow once the ring wraps again. */
    cr_assert_eq(sh("ip netns exec %s python3 %s 400 %d &", ns, script,
                    FRAME_PAYLOAD), 0);
    seen = drain(nd, 400, 8000, NULL, NULL);
    cr_assert_geq(seen, 100, "only %d GSO frames after the release", seen);
    netdev_close(nd);
}
