/* vsctl-capture: packet capture into a pcap file.
 *
 * `vsctl capture BR PORT FILE` asks the daemon for a capture
 * (CTL_CAPTURE_START), writes every CTL_CAPTURE_PACKET to FILE with
 * libpcap (DLT_EN10MB, nanosecond timestamps: tcpdump -r and Wireshark
 * read it) and stops on --count, --duration, SIGINT/SIGTERM or the end
 * of the capture on the daemon's side (port deleted).  Stopping sends
 * CTL_CAPTURE_STOP and waits for the CTL_CAPTURE_END, so the summary
 * ("N packets captured, M dropped", on stderr like tcpdump's) carries
 * the daemon's final drop count, and the file is flushed and closed
 * before exit. */
#include <errno.h>
#include <inttypes.h>
#include <pcap/pcap.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "ctl-proto.h"
#include "errors.h"
#include "stream.h"
#include "util.h"
#include "vsctl.h"

/* Longest wait for a frame before the stop conditions are checked. */
#define CAPTURE_TICK_MS 100
/* Snapshot length written in the file header (tcpdump's default). */
#define CAPTURE_FILE_SNAPLEN 262144

static volatile sig_atomic_t capture_signalled;

static void
capture_on_signal(int sig)
{
    capture_signalled = sig;
}

static void
capture_catch_signals(void)
{
    static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = capture_on_signal;
    sigemptyset(&sa.sa_mask);
    /* No SA_RESTART: a blocking wait returns early (the stream retries
     * EINTR itself, so the tick bounds the delay anyway). */
    for (size_t i = 0; i < ARRAY_SIZE(sigs); i++) {
        sigaction(sigs[i], &sa, NULL);
    }
}

struct capture_out {
    pcap_t *pd;
    pcap_dumper_t *dumper;
    bool to_stdout;
};

static void
capture_out_open(struct capture_out *o, const char *file)
{
    o->to_stdout = !strcmp(file, "-");
    o->pd = pcap_open_dead_with_tstamp_precision(
        DLT_EN10MB, CAPTURE_FILE_SNAPLEN, PCAP_TSTAMP_PRECISION_NANO);
    if (!o->pd) {
        vsctl_fatal(1, "cannot set up pcap output: out of memory");
    }
    o->dumper = o->to_stdout ? pcap_dump_fopen(o->pd, stdout)
                             : pcap_dump_open(o->pd, file);
    if (!o->dumper) {
        vsctl_fatal(1, "cannot open '%s': %s", file, pcap_geterr(o->pd));
    }
}

static void
capture_out_write(struct capture_out *o, const struct ctl_capture_packet *p)
{
    struct pcap_pkthdr h;

    memset(&h, 0, sizeof h);
    h.ts.tv_sec = p->ts_ns / 1000000000u;
    h.ts.tv_usec = p->ts_ns % 1000000000u;  /* nanoseconds: see open */
    h.caplen = p->len;
    h.len = p->orig_len;
    pcap_dump((u_char *) o->dumper, &h, p->data);
    if (o->to_stdout) {
        pcap_dump_flush(o->dumper);
    }
}

static void
capture_out_close(struct capture_out *o)
{
    if (pcap_dump_flush(o->dumper) < 0) {
        vsctl_fatal(1, "cannot write the capture file: %s",
                    strerror(errno));
    }
    if (o->to_stdout) {
        fflush(stdout);
    } else {
        pcap_dump_close(o->dumper);
    }
    pcap_close(o->pd);
}

static uint32_t
capture_flags(const struct vsctl_ctx *ctx)
{
    if (ctx->direction && !strcmp(ctx->direction, "rx")) {
        return CTL_CAPF_RX;
    }
    if (ctx->direction && !strcmp(ctx->direction, "tx")) {
        return CTL_CAPF_TX;
    }
    return CTL_CAPF_RX | CTL_CAPF_TX;
}

static void
capture_send_stop(struct vsctl_ctx *ctx, uint32_t capture_xid,
                  uint32_t *stop_xid)
{
    struct ds buf = DS_EMPTY_INITIALIZER;
    struct ctl_msg m;

    *stop_xid = ctx->next_xid++;
    ctl_msg_init(&m, CTL_CAPTURE_STOP, *stop_xid);
    m.capture_stop.capture_xid = capture_xid;
    if (ctl_msg_encode(&m, &buf)
        || stream_send_block(ctx->stream, buf.string, buf.length, -1)) {
        vsctl_fatal(1, "cannot stop the capture: connection to '%s' lost",
                    ctx->server);
    }
    ds_destroy(&buf);
}

static void
cmd_capture(struct vsctl_ctx *ctx, int argc, char *argv[])
{
    const char *bridge = argv[1], *port = argv[2], *file = argv[3];
    uint64_t captured = 0, dropped = 0;
    uint32_t stop_xid = 0, reason = CTL_CAPE_STOPPED;
    struct capture_out out;
    long long stop_at = -1;
    bool stopping = false;
    struct ctl_msg req;

    capture_catch_signals();
    ctl_msg_init(&req, CTL_CAPTURE_START, 0);
    req.capture_start.bridge = xstrdup(bridge);
    req.capture_start.port = xstrdup(port);
    req.capture_start.flags = capture_flags(ctx);
    req.capture_start.buffer_kb = ctx->buffer_kb;
    req.capture_start.snaplen = ctx->snaplen;
    req.capture_start.filter = xstrdup(ctx->filter ? ctx->filter : "");
    vsctl_transact(ctx, &req, CTL_OK, NULL);
    uint32_t xid = req.xid;
    ctl_msg_release(&req);

    capture_out_open(&out, file);
    if (ctx->duration > 0) {
        stop_at = time_msec() + (long long) (ctx->duration * 1000);
    }
    for (;;) {
        const uint8_t *frame;
        size_t len;
        char *derr;
        struct ctl_msg m;

        if (!stopping && (capture_signalled
                          || (stop_at >= 0 && time_msec() >= stop_at)
                          || (ctx->count && captured >= ctx->count))) {
            capture_send_stop(ctx, xid, &stop_xid);
            stopping = true;
        }
        long long wait = time_msec() + CAPTURE_TICK_MS;
        if (!stopping && stop_at >= 0) {
            wait = MIN(wait, stop_at);
        }
        int err = stream_recv_frame_block(ctx->stream, wait, &frame, &len);
        if (err == -ETIMEDOUT) {
            if (!out.to_stdout) {
                pcap_dump_flush(out.dumper);
            }
            continue;
        }
        if (err) {
            capture_out_close(&out);
            vsctl_fatal(1, "capture ended: connection to '%s' %s",
                        ctx->server, err == -EPIPE ? "closed"
                                                   : ts_strerror(err));
        }
        err = ctl_msg_decode(frame, len, &m, &derr);
        if (err) {
            capture_out_close(&out);
            vsctl_fatal(1, "bad message from '%s': %s", ctx->server, derr);
        }
        if (m.type == CTL_CAPTURE_PACKET && m.xid == xid) {
            if (!ctx->count || captured < ctx->count) {
                capture_out_write(&out, &m.capture_packet);
                captured++;
            }
        } else if (m.type == CTL_CAPTURE_END
                   && m.capture_end.capture_xid == xid) {
            dropped = m.capture_end.dropped;
            reason = m.capture_end.reason;
            ctl_msg_release(&m);
            break;
        } else if (m.type == CTL_ECHO_REQUEST) {
            vsctl_answer_echo(ctx, &m);     /* we are alive, only quiet */
        } else if (m.type == CTL_ERROR) {
            capture_out_close(&out);
            vsctl_fatal(1, "%s", m.error.text);
        }
        ctl_msg_release(&m);
    }
    capture_out_close(&out);
    fprintf(stderr, "%"PRIu64" packets captured, %"PRIu64" dropped\n",
            captured, dropped);
    if (reason == CTL_CAPE_PORT_GONE) {
        vsctl_fatal(1, "capture ended: port '%s' was deleted", port);
    }
}

const struct vsctl_command vsctl_capture_commands[] = {
    { "capture", 3, 3, cmd_capture, "BR PORT FILE",
      "write packets that pass PORT to pcap FILE (\"-\": stdout) until "
      "--count,\n      --duration or Ctrl-C (options --direction, "
      "--filter, --buffer-size)" },
};
const size_t vsctl_capture_n_commands = ARRAY_SIZE(vsctl_capture_commands);
