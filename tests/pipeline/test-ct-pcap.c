/* Pipeline tests of the stateful firewall fed from captures through pcap
 * ports (no kernel, no injection API).
 *
 * Each tests/data/ct-NAME.pcap (written by tools/gen-test-pcaps.py) is a
 * conversation as a tap between the bridge's two ports would see it:
 * frames from 02:00:00:00:00:01 enter port 1, frames from
 * 02:00:00:00:00:02 enter port 2.  The test cuts the conversation into
 * rounds (runs of frames from one side) and replays round after round:
 * the sending side's port is re-created as a pcap port with rx=ROUND and
 * a fresh tx file, and the next round starts once the port has read the
 * whole round (deleting or re-creating a port takes the worker's lock, so
 * the previous batch has been forwarded by then).  Each port's output is
 * the concatenation of its tx files, compared byte for byte with
 * ct-NAME-out1.pcap / -out2.pcap (what the generator computed, with
 * checksums recomputed from scratch), then the conntrack table is dumped
 * and compared line by line. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dpif.h"
#include "dynamic-string.h"
#include "helper-ct-bridge.h"
#include "helper-packets.h"
#include "ofp-flow.h"
#include "ofproto.h"
#include "smap.h"
#include "util.h"

#define MAX_FRAMES 64
#define MAX_TX 64
#define WAIT_MS 5000

/* ---- Minimal pcap files ---------------------------------------------- */

struct frames {
    size_t n;
    uint8_t *data[MAX_FRAMES];
    size_t len[MAX_FRAMES];
};

static void
frames_clear(struct frames *f)
{
    for (size_t i = 0; i < f->n; i++) {
        free(f->data[i]);
    }
    f->n = 0;
}

static uint32_t
rd32(const uint8_t *p, bool swap)
{
    uint32_t v;

    memcpy(&v, p, 4);
    return swap ? __builtin_bswap32(v) : v;
}

/* Appends the frames of classic pcap file 'path' to 'f'. */
static void
pcap_read(const char *path, struct frames *f)
{
    FILE *fp = fopen(path, "rb");
    uint8_t hdr[24], rec[16];
    bool swap;

    cr_assert_not_null(fp, "open %s: %s", path, strerror(errno));
    cr_assert_eq(fread(hdr, 1, 24, fp), 24, "%s: short header", path);
    swap = rd32(hdr, false) != 0xa1b2c3d4;
    cr_assert_eq(rd32(hdr, swap), 0xa1b2c3d4, "%s: not a pcap file", path);
    cr_assert_eq(rd32(hdr + 20, swap), 1, "%s: not Ethernet", path);
    while (fread(rec, 1, 16, fp) == 16) {
        uint32_t caplen = rd32(rec + 8, swap);

        cr_assert_lt(f->n, MAX_FRAMES, "%s: too many frames", path);
        cr_assert_leq(caplen, PKT_MAX, "%s: frame too long", path);
        f->data[f->n] = xmalloc(caplen ? caplen : 1);
        f->len[f->n] = caplen;
        cr_assert_eq(fread(f->data[f->n], 1, caplen, fp), caplen,
                     "%s: truncated", path);
        f->n++;
    }
    fclose(fp);
}

static void
pcap_write(const char *path, uint8_t *const *data, const size_t *len,
           size_t n)
{
    static const uint32_t fh[6] = { 0xa1b2c3d4, 2 | (4 << 16), 0, 0, 65535,
                                    1 };
    FILE *fp = fopen(path, "wb");

    cr_assert_not_null(fp, "create %s: %s", path, strerror(errno));
    fwrite(fh, 4, 6, fp);
    for (size_t i = 0; i < n; i++) {
        uint32_t rh[4] = { 1700000000 + i, 0, len[i], len[i] };

        fwrite(rh, 4, 4, fp);
        fwrite(data[i], 1, len[i], fp);
    }
    cr_assert_eq(fclose(fp), 0);
}

static const char *
data_dir(void)
{
    const char *d = getenv("TS_TEST_DATA");

    return d ? d : "tests/data";
}

/* ---- The bridge with pcap ports --------------------------------------- */

static struct ct_bridge br;
static char tmpdir[64];
static char *tx_files[3][MAX_TX];
static int n_tx[3];

static void
setup(void)
{
    ct_bridge_create(&br, "ctpcap");
    snprintf(tmpdir, sizeof tmpdir, "/tmp/ts-ct-pcap-XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
}

static void
teardown(void)
{
    char cmd[128];

    ct_bridge_destroy(&br);
    for (int p = 1; p <= 2; p++) {
        for (int i = 0; i < n_tx[p]; i++) {
            free(tx_files[p][i]);
        }
        n_tx[p] = 0;
    }
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd)) {
        /* Left behind in /tmp: harmless. */
    }
}

TestSuite(ctpcap, .init = setup, .fini = teardown, .timeout = 60);

static void
add(const char *text)
{
    struct ofp_flow_mod fm;
    char *err = ofp_parse_flow_mod(&fm, text, OFPFC_ADD, NULL);

    cr_assert_null(err, "parse '%s': %s", text, err);
    cr_assert_eq(ofproto_flow_mod(br.ofp, &fm, &err), 0, "add '%s': %s", text,
                 err ? err : "?");
    ofp_flow_mod_release(&fm);
}

/* The stateful firewall: port 1 may open connections, established
 * traffic passes both ways, everything else is dropped.  'commit' is the
 * ct() of the +new rule, 'table0' the ct() of table 0. */
static void
firewall(const char *table0, const char *commit)
{
    char buf[256];

    snprintf(buf, sizeof buf, "table=0,priority=10,ip,actions=%s", table0);
    add(buf);
    add("table=0,priority=1,actions=drop");
    snprintf(buf, sizeof buf, "table=1,priority=10,in_port=1,ip,"
             "ct_state=+trk+new,actions=%s,output:2", commit);
    add(buf);
    add("table=1,priority=10,in_port=1,ip,ct_state=+trk+est,"
        "actions=output:2");
    add("table=1,priority=10,in_port=2,ip,ct_state=+trk+est,"
        "actions=output:1");
    add("table=1,priority=1,actions=drop");
}

/* Re-creates port 'port' as a pcap port reading 'rx' (NULL: none) and
 * writing a new tx file.  Deleting the old port waits for the worker to
 * finish its batch. */
static void
port_reopen(uint32_t port, const char *rx)
{
    struct smap opts = SMAP_INITIALIZER;
    char name[8], *msg = NULL;
    uint32_t no = port;

    dpif_port_del(br.dpif, port);       /* absent the first time: fine */
    cr_assert_lt(n_tx[port], MAX_TX);
    tx_files[port][n_tx[port]] = xasprintf("%s/out%u-%d.pcap", tmpdir, port,
                                           n_tx[port]);
    smap_replace(&opts, "tx", tx_files[port][n_tx[port]]);
    n_tx[port]++;
    if (rx) {
        smap_replace(&opts, "rx", rx);
    }
    snprintf(name, sizeof name, "p%u", port);
    cr_assert_eq(dpif_port_add(br.dpif, name, "pcap", &opts, &no, &msg), 0,
                 "pcap port: %s", msg ? msg : "?");
    cr_assert_eq(no, port);
    smap_destroy(&opts);
}

/* Waits until port 'port' has read 'n' frames. */
static void
wait_rx(uint32_t port, uint64_t n)
{
    struct dpif_port_stats st;

    for (int ms = 0; ms < WAIT_MS; ms++) {
        cr_assert_eq(dpif_port_stats(br.dpif, port, &st), 0);
        if (st.rx_packets >= n) {
            cr_assert_eq(st.rx_packets, n);
            cr_assert_eq(st.rx_errors, 0);
            return;
        }
        pkt_sleep_ms(1);
    }
    cr_assert_fail("port %u read %"PRIu64" of %"PRIu64" frames", port,
                   st.rx_packets, n);
}

static uint32_t
frame_port(const uint8_t *frame, size_t len)
{
    cr_assert_geq(len, 14);
    cr_assert(frame[11] == 1 || frame[11] == 2, "unknown source MAC");
    return frame[11];
}

/* Replays 'conv' round by round, then collects each port's output into
 * out[1] and out[2]. */
static void
replay(const struct frames *conv, struct frames out[3])
{
    size_t i = 0;
    int round = 0;

    port_reopen(1, NULL);
    port_reopen(2, NULL);
    while (i < conv->n) {
        uint32_t side = frame_port(conv->data[i], conv->len[i]);
        size_t j = i;
        char *path;

        while (j < conv->n
               && frame_port(conv->data[j], conv->len[j]) == side) {
            j++;
        }
        path = xasprintf("%s/round-%d.pcap", tmpdir, round++);
        pcap_write(path, &conv->data[i], &conv->len[i], j - i);
        port_reopen(side, path);
        wait_rx(side, j - i);
        free(path);
        i = j;
    }
    /* Closing both ports flushes the last tx files (and waits for the
     * worker to finish the last batch). */
    for (uint32_t p = 1; p <= 2; p++) {
        cr_assert_eq(dpif_port_del(br.dpif, p), 0);
    }
    for (uint32_t p = 1; p <= 2; p++) {
        out[p].n = 0;
        for (int k = 0; k < n_tx[p]; k++) {
            pcap_read(tx_files[p][k], &out[p]);
        }
    }
}

static void
hexdump(struct ds *s, const uint8_t *d, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        ds_put_format(s, "%02x%s", d[i], i % 16 == 15 ? "\n" : " ");
    }
}

/* Asserts 'got' equals the frames of 'file' byte for byte and that every
 * frame has valid checksums. */
static void
expect_frames(const struct frames *got, const char *file)
{
    struct frames want = { .n = 0 };
    char *path = xasprintf("%s/%s", data_dir(), file);

    pcap_read(path, &want);
    cr_assert_eq(got->n, want.n, "%s: %zu frames out, want %zu", file,
                 got->n, want.n);
    for (size_t i = 0; i < want.n; i++) {
        if (got->len[i] != want.len[i]
            || memcmp(got->data[i], want.data[i], want.len[i])) {
            struct ds s = DS_EMPTY_INITIALIZER;

            ds_put_cstr(&s, "got:\n");
            hexdump(&s, got->data[i], got->len[i]);
            ds_put_cstr(&s, "\nwant:\n");
            hexdump(&s, want.data[i], want.len[i]);
            cr_assert_fail("%s: frame %zu differs\n%s", file, i,
                           ds_cstr(&s));
        }
        cr_assert(pkt_csums_ok(got->data[i], got->len[i]),
                  "%s: frame %zu: bad checksum", file, i);
    }
    frames_clear(&want);
    free(path);
}

/* Runs scenario 'name': replay, outputs compared with the generator's. */
static void
run(const char *name, struct frames out[3])
{
    struct frames conv = { .n = 0 };
    char *path = xasprintf("%s/%s.pcap", data_dir(), name);
    char *o1 = xasprintf("%s-out1.pcap", name);
    char *o2 = xasprintf("%s-out2.pcap", name);

    pcap_read(path, &conv);
    cr_assert_gt(conv.n, 0);
    replay(&conv, out);
    expect_frames(&out[1], o1);
    expect_frames(&out[2], o2);
    frames_clear(&conv);
    free(path);
    free(o1);
    free(o2);
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Asserts the conntrack dump (sorted lines) is exactly 'want' (sorted,
 * NULL-terminated). */
static void
expect_dump(bool verbose, const char *const *want)
{
    struct ds s = DS_EMPTY_INITIALIZER;
    struct dpif_ct_dump *d = dpif_ct_dump_start(br.ct, NULL, verbose, false);
    char *lines[16], *save = NULL;
    size_t n = 0, n_want = 0;

    while (dpif_ct_dump_next(d, &s, 100)) {
        continue;
    }
    dpif_ct_dump_destroy(d);
    for (char *l = strtok_r(s.string ? s.string : (char *) "", "\n", &save);
         l; l = strtok_r(NULL, "\n", &save)) {
        cr_assert_lt(n, 16);
        lines[n++] = l;
    }
    qsort(lines, n, sizeof *lines, cmp_str);
    while (want[n_want]) {
        n_want++;
    }
    cr_assert_eq(n, n_want, "%zu entries, want %zu", n, n_want);
    for (size_t i = 0; i < n; i++) {
        cr_assert_str_eq(lines[i], want[i]);
    }
    ds_destroy(&s);
}

static void
out_clear(struct frames out[3])
{
    frames_clear(&out[1]);
    frames_clear(&out[2]);
}

/* ---- Scenarios ------------------------------------------------------- */

#define FW_T0 "ct(table=1,zone=1)"
#define FW_COMMIT "ct(commit,zone=1)"

Test(ctpcap, tcp_handshake_data_fin)
{
    static const char *const want[] = {
        "tcp,orig=(src=10.0.0.1,dst=10.0.0.2,sport=40000,dport=80),"
        "reply=(src=10.0.0.2,dst=10.0.0.1,sport=80,dport=40000),zone=1,"
        "protoinfo=(state=TIME_WAIT)",
        NULL
    };
    struct frames out[3];

    firewall(FW_T0, FW_COMMIT);
    run("ct-tcp", out);
    expect_dump(false, want);
    out_clear(out);
}

Test(ctpcap, udp_exchange)
{
    static const char *const want[] = {
        "udp,orig=(src=10.0.0.1,dst=10.0.0.3,sport=5353,dport=53),"
        "reply=(src=10.0.0.3,dst=10.0.0.1,sport=53,dport=5353),zone=1",
        NULL
    };
    struct frames out[3];

    firewall(FW_T0, FW_COMMIT);
    run("ct-udp", out);
    expect_dump(false, want);
    out_clear(out);
}

Test(ctpcap, icmp_echo)
{
    static const char *const want[] = {
        "icmp,orig=(src=10.0.0.1,dst=10.0.0.2,id=1234,type=8,code=0),"
        "reply=(src=10.0.0.2,dst=10.0.0.1,id=1234,type=0,code=0),zone=1",
        NULL
    };
    struct frames out[3];

    firewall(FW_T0, FW_COMMIT);
    run("ct-icmp", out);
    expect_dump(false, want);
    out_clear(out);
}

Test(ctpcap, unsolicited_from_port2_dropped)
{
    static const char *const want[] = { NULL };
    struct frames out[3];

    firewall(FW_T0, FW_COMMIT);
    run("ct-unsolicited", out);
    expect_dump(false, want);
    cr_assert_eq(dpif_ct_get_nconns(br.ct), 0);
    out_clear(out);
}

/* FTP in active mode: the server's data connection comes from port 2 and
 * passes only as +rel (an expectation made by alg=ftp from the PORT
 * command); it reports the control connection as its original tuple. */
static void
ftp_firewall(bool alg)
{
    firewall(FW_T0, FW_COMMIT);
    if (alg) {
        add("table=1,priority=20,in_port=1,tcp,tp_dst=21,"
            "ct_state=+trk+new,actions=ct(commit,zone=1,alg=ftp),output:2");
    }
    add("table=1,priority=20,in_port=2,ip,ct_state=+trk+new+rel,"
        "actions=ct(commit,zone=1),output:1");
}

Test(ctpcap, ftp_active_data_connection_is_related)
{
    static const char *const want[] = {
        "tcp,orig=(src=10.0.0.1,dst=10.0.0.2,sport=40001,dport=21),"
        "reply=(src=10.0.0.2,dst=10.0.0.1,sport=21,dport=40001),zone=1,"
        "protoinfo=(state=TIME_WAIT),helper=ftp",
        "tcp,orig=(src=10.0.0.2,dst=10.0.0.1,sport=20,dport=40008),"
        "reply=(src=10.0.0.1,dst=10.0.0.2,sport=40008,dport=20),zone=1,"
        "protoinfo=(state=TIME_WAIT)",
        NULL
    };
    struct ds s = DS_EMPTY_INITIALIZER;
    struct dpif_ct_dump *d;
    struct frames out[3];

    ftp_firewall(true);
    run("ct-ftp", out);
    expect_dump(false, want);
    /* -m shows the data connection's parent. */
    d = dpif_ct_dump_start(br.ct, NULL, true, false);
    while (dpif_ct_dump_next(d, &s, 100)) {
        continue;
    }
    dpif_ct_dump_destroy(d);
    cr_assert(strstr(ds_cstr(&s), "parent=(src=10.0.0.1,dst=10.0.0.2,"
                                  "sport=40001,dport=21)"), "%s",
              ds_cstr(&s));
    ds_destroy(&s);
    out_clear(out);
}

Test(ctpcap, ftp_without_alg_blocks_data_connection)
{
    struct frames conv = { .n = 0 }, out[3];
    char *path = xasprintf("%s/ct-ftp.pcap", data_dir());
    size_t n_data_in = 0;

    ftp_firewall(false);
    pcap_read(path, &conv);
    replay(&conv, out);
    for (size_t i = 0; i < conv.n; i++) {
        const uint8_t *f = conv.data[i];

        n_data_in += f[11] == 2 && f[34] == 0 && f[35] == 20;
    }
    cr_assert_eq(n_data_in, 5);
    /* Neither the server's SYN nor its data (source port 20) reached the
     * client.  (The client's later ACK, from port 1, may be picked up
     * mid-stream as a new connection, after which the server's FIN passes
     * as +est: that is the liberal TCP pick-up, not the helper.)  The
     * control connection's 11 server frames all passed. */
    size_t n_ctl = 0;
    for (size_t i = 0; i < out[1].n; i++) {
        const uint8_t *f = out[1].data[i];
        size_t l4_len = out[1].len[i] - 34;

        cr_assert_geq(out[1].len[i], 54);
        if (f[34] == 0 && f[35] == 21) {
            n_ctl++;
        } else {
            cr_assert(f[34] == 0 && f[35] == 20);
            cr_assert_not(f[47] & 0x02, "the data SYN passed");
            cr_assert_eq(l4_len, (size_t) (f[46] >> 4) * 4,
                         "data payload passed (frame %zu)", i);
        }
    }
    cr_assert_eq(n_ctl, 11);
    frames_clear(&conv);
    out_clear(out);
    free(path);
}

/* SNAT: port 1's 10.0.0.1 leaves as 192.168.0.100; the replies from the
 * server (to 192.168.0.100) come back translated.  The expected captures
 * carry checksums computed from scratch by the generator (a UDP datagram
 * without checksum keeps none). */
Test(ctpcap, snat_translates_with_valid_checksums)
{
    static const char *const want[] = {
        "icmp,orig=(src=10.0.0.1,dst=172.16.0.2,id=99,type=8,code=0),"
        "reply=(src=172.16.0.2,dst=192.168.0.100,id=99,type=0,code=0),"
        "zone=1",
        "tcp,orig=(src=10.0.0.1,dst=172.16.0.2,sport=40002,dport=80),"
        "reply=(src=172.16.0.2,dst=192.168.0.100,sport=80,dport=40002),"
        "zone=1,protoinfo=(state=TIME_WAIT)",
        "udp,orig=(src=10.0.0.1,dst=172.16.0.2,sport=6000,dport=7000),"
        "reply=(src=172.16.0.2,dst=192.168.0.100,sport=7000,dport=6000),"
        "zone=1",
        "udp,orig=(src=10.0.0.1,dst=172.16.0.2,sport=6001,dport=7000),"
        "reply=(src=172.16.0.2,dst=192.168.0.100,sport=7000,dport=6001),"
        "zone=1",
        NULL
    };
    struct frames out[3];

    firewall("ct(table=1,zone=1,nat)",
             "ct(commit,zone=1,nat(src=192.168.0.100))");
    run("ct-snat", out);
    expect_dump(false, want);
    out_clear(out);
}

/* FTP through SNAT: alg=ftp rewrites the PORT text to the NAT address
 * (5 bytes longer) and shifts the client's seq and the server's acks
 * from then on; the server's data connection to 192.168.0.100:40008 is
 * +rel and reaches the client at 10.0.0.1:40008.  Both outputs match the
 * generator's views byte for byte (it built the client's and the
 * server's view of the control connection separately). */
Test(ctpcap, ftp_snat_rewrites_port_and_adjusts_seq)
{
    static const char *const want[] = {
        "tcp,orig=(src=10.0.0.1,dst=172.16.0.2,sport=40003,dport=21),"
        "reply=(src=172.16.0.2,dst=192.168.0.100,sport=21,dport=40003),"
        "zone=1,protoinfo=(state=TIME_WAIT),helper=ftp",
        "tcp,orig=(src=172.16.0.2,dst=192.168.0.100,sport=20,dport=40008),"
        "reply=(src=10.0.0.1,dst=172.16.0.2,sport=40008,dport=20),zone=1,"
        "protoinfo=(state=TIME_WAIT)",
        NULL
    };
    struct frames out[3];

    add("table=0,priority=10,ip,actions=ct(table=1,zone=1,nat)");
    add("table=0,priority=1,actions=drop");
    add("table=1,priority=20,in_port=1,tcp,tp_dst=21,ct_state=+trk+new,"
        "actions=ct(commit,zone=1,alg=ftp,nat(src=192.168.0.100)),"
        "output:2");
    add("table=1,priority=10,in_port=1,ip,ct_state=+trk+new,"
        "actions=ct(commit,zone=1,nat(src=192.168.0.100)),output:2");
    add("table=1,priority=20,in_port=2,ip,ct_state=+trk+new+rel,"
        "actions=ct(commit,zone=1,nat),output:1");
    add("table=1,priority=10,in_port=1,ip,ct_state=+trk+est,"
        "actions=output:2");
    add("table=1,priority=10,in_port=2,ip,ct_state=+trk+est,"
        "actions=output:1");
    add("table=1,priority=1,actions=drop");
    run("ct-ftp-snat", out);
    expect_dump(false, want);
    out_clear(out);
}
