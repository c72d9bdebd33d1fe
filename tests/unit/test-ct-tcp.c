/* Tests for datapath/conntrack/ct-tcp.c: handshake, teardown, RST,
 * invalid flags, window violations, window scaling, mid-stream pick-up,
 * port reuse, the tcp_seq_chk switch, and the states dumps print. */
#include "test-ct-pkt.h"

#define CLI "10.0.0.1"
#define SRV "10.0.0.2"

static const struct ct_exec_args commit = { .zone = 0, .commit = true };
static const struct ct_exec_args track = { .zone = 0 };

/* A segment from the client (c2s) or the server. */
static uint16_t
seg(struct conntrack *ct, bool c2s, uint16_t flags, uint32_t seq,
    uint32_t ack, uint16_t win, size_t len, const struct ct_exec_args *a)
{
    struct tpkt *t = c2s
        ? tpkt_tcp4(CLI, SRV, 40000, 80, flags, seq, ack, win, len, -1)
        : tpkt_tcp4(SRV, CLI, 80, 40000, flags, seq, ack, win, len, -1);

    return tct1(ct, t, a, 0);
}

static uint16_t
seg_ws(struct conntrack *ct, bool c2s, uint16_t flags, uint32_t seq,
       uint32_t ack, uint16_t win, int ws, const struct ct_exec_args *a)
{
    struct tpkt *t = c2s
        ? tpkt_tcp4(CLI, SRV, 40000, 80, flags, seq, ack, win, 0, ws)
        : tpkt_tcp4(SRV, CLI, 80, 40000, flags, seq, ack, win, 0, ws);

    return tct1(ct, t, a, 0);
}

/* The protoinfo of the only entry, e.g. "state=ESTABLISHED". */
static char *
state_of(struct conntrack *ct, bool verbose)
{
    static char buf[256];
    struct ds s = DS_EMPTY_INITIALIZER;
    const char *p, *q;

    cr_assert_eq(tdump(ct, NULL, &s, verbose, false, 0), 1);
    p = strstr(ds_cstr(&s), "protoinfo=(");
    cr_assert_not_null(p);
    p += strlen("protoinfo=(");
    q = strchr(p, ')');
    snprintf(buf, sizeof buf, "%.*s", (int) (q - p), p);
    ds_destroy(&s);
    return buf;
}

static void
handshake(struct conntrack *ct)
{
    cr_assert_eq(seg(ct, true, TCP_SYN, 1000, 0, 65535, 0, &commit),
                 ST_NEW);
    cr_assert_str_eq(state_of(ct, false), "state=SYN_SENT");
    cr_assert_eq(seg(ct, false, TCP_SYN | TCP_ACK, 5000, 1001, 65535, 0,
                     &track), ST_RPL);
    cr_assert_eq(seg(ct, true, TCP_ACK, 1001, 5001, 65535, 0, &track),
                 ST_EST);
    cr_assert_str_eq(state_of(ct, false), "state=ESTABLISHED");
}

Test(ct_tcp, handshake_data_teardown)
{
    struct conntrack *ct = tct_create();

    handshake(ct);
    cr_assert_eq(seg(ct, true, TCP_ACK | TCP_PSH, 1001, 5001, 65535, 100,
                     &track), ST_EST);
    cr_assert_eq(seg(ct, false, TCP_ACK | TCP_PSH, 5001, 1101, 65535, 300,
                     &track), ST_RPL);
    /* Retransmission of old data is fine. */
    cr_assert_eq(seg(ct, true, TCP_ACK | TCP_PSH, 1001, 5301, 65535, 100,
                     &track), ST_EST);
    /* Client closes. */
    cr_assert_eq(seg(ct, true, TCP_FIN | TCP_ACK, 1101, 5301, 65535, 0,
                     &track), ST_EST);
    cr_assert_str_eq(state_of(ct, true),
                     "state_orig=CLOSING,state_reply=ESTABLISHED,"
                     "flags_orig=,flags_reply=");
    cr_assert_eq(seg(ct, false, TCP_ACK, 5301, 1102, 65535, 0, &track),
                 ST_RPL);
    cr_assert_str_eq(state_of(ct, true),
                     "state_orig=FIN_WAIT_2,state_reply=ESTABLISHED,"
                     "flags_orig=,flags_reply=");
    cr_assert_eq(seg(ct, false, TCP_FIN | TCP_ACK, 5301, 1102, 65535, 0,
                     &track), ST_RPL);
    cr_assert_eq(seg(ct, true, TCP_ACK, 1102, 5302, 65535, 0, &track),
                 ST_EST);
    /* Both FIN_WAIT_2: printed as TIME_WAIT (OVS's coalescing). */
    cr_assert_str_eq(state_of(ct, false), "state=TIME_WAIT");
    cr_assert_str_eq(state_of(ct, true),
                     "state_orig=FIN_WAIT_2,state_reply=FIN_WAIT_2,"
                     "flags_orig=,flags_reply=");
    conntrack_destroy(ct);
}

Test(ct_tcp, rst)
{
    struct conntrack *ct = tct_create();

    handshake(ct);
    /* A RST with a sequence far from the expected one is invalid. */
    cr_assert_eq(seg(ct, false, TCP_RST, 9000, 0, 0, 0, &track), ST_INV);
    cr_assert_eq(seg(ct, false, TCP_RST | TCP_ACK, 5001, 1001, 0, 0, &track),
                 ST_RPL);
    cr_assert_str_eq(state_of(ct, false), "state=TIME_WAIT");
    conntrack_destroy(ct);
}

Test(ct_tcp, invalid_flags_and_new_checks)
{
    struct conntrack *ct = tct_create();

    cr_assert_eq(seg(ct, true, TCP_SYN | TCP_FIN, 1, 0, 100, 0, &commit),
                 ST_INV);
    cr_assert_eq(seg(ct, true, TCP_SYN | TCP_RST, 1, 0, 100, 0, &commit),
                 ST_INV);
    cr_assert_eq(seg(ct, true, 0, 1, 0, 100, 0, &commit), ST_INV);
    cr_assert_eq(seg(ct, true, TCP_FIN, 1, 0, 100, 0, &commit), ST_INV);
    cr_assert_eq(seg(ct, true, TCP_PSH | TCP_RST, 1, 0, 100, 0, &commit),
                 ST_INV);
    /* A SYN|ACK cannot start a connection. */
    cr_assert_eq(seg(ct, true, TCP_SYN | TCP_ACK, 1, 1, 100, 0, &commit),
                 ST_INV);
    cr_assert_eq(conntrack_get_nconns(ct), 0);

    /* On an existing connection invalid flags are +inv too. */
    handshake(ct);
    cr_assert_eq(seg(ct, true, TCP_SYN | TCP_FIN | TCP_ACK, 1001, 5001,
                     100, 0, &track), ST_INV);
    cr_assert_str_eq(state_of(ct, false), "state=ESTABLISHED");
    conntrack_destroy(ct);
}

Test(ct_tcp, window_violations_and_seq_chk_switch)
{
    struct conntrack *ct = tct_create();
    struct ct_stats st;

    handshake(ct);
    /* Data far beyond the server's advertised window. */
    cr_assert_eq(seg(ct, true, TCP_ACK, 1001 + 200000, 5001, 65535, 100,
                     &track), ST_INV);
    /* Data far behind (more than a window back). */
    cr_assert_eq(seg(ct, true, TCP_ACK, 1001 - 300000, 5001, 65535, 100,
                     &track), ST_INV);
    /* Acknowledging data never sent. */
    cr_assert_eq(seg(ct, true, TCP_ACK, 1001, 5001 + 200000, 65535, 0,
                     &track), ST_INV);
    conntrack_get_stats(ct, &st);
    cr_assert_eq(st.tcp_seq_fail, 3);

    conntrack_set_tcp_seq_chk(ct, false);
    cr_assert(!conntrack_get_tcp_seq_chk(ct));
    cr_assert_eq(seg(ct, true, TCP_ACK, 1001 + 200000, 5001, 65535, 100,
                     &track), ST_EST);
    conntrack_set_tcp_seq_chk(ct, true);
    conntrack_destroy(ct);
}

Test(ct_tcp, window_scaling)
{
    struct conntrack *ct = tct_create();

    /* Both sides scale by 7: a 1000 window means 128000 bytes. */
    cr_assert_eq(seg_ws(ct, true, TCP_SYN, 1000, 0, 65535, 7, &commit),
                 ST_NEW);
    cr_assert_eq(seg_ws(ct, false, TCP_SYN | TCP_ACK, 5000, 1001, 65535, 7,
                        &track), ST_RPL);
    cr_assert_eq(seg(ct, true, TCP_ACK, 1001, 5001, 1000, 0, &track),
                 ST_EST);
    cr_assert_eq(seg(ct, false, TCP_ACK, 5001, 1001, 1000, 0, &track),
                 ST_RPL);
    cr_assert_eq(seg(ct, true, TCP_ACK, 1001 + 100000, 5001, 1000, 1000,
                     &track), ST_EST);
    cr_assert(strstr(state_of(ct, true), "wscale_orig=7,wscale_reply=7,"
                     "flags_orig=WINDOW_SCALE,flags_reply=WINDOW_SCALE"));
    conntrack_destroy(ct);

    /* The server does not scale: windows are taken literally. */
    ct = tct_create();
    seg_ws(ct, true, TCP_SYN, 1000, 0, 65535, 7, &commit);
    seg_ws(ct, false, TCP_SYN | TCP_ACK, 5000, 1001, 1000, -1, &track);
    seg(ct, true, TCP_ACK, 1001, 5001, 1000, 0, &track);
    seg(ct, false, TCP_ACK, 5001, 1001, 1000, 0, &track);
    cr_assert_eq(seg(ct, true, TCP_ACK, 1001 + 100000, 5001, 1000, 1000,
                     &track), ST_INV);
    conntrack_destroy(ct);
}

Test(ct_tcp, mid_stream_pickup)
{
    struct conntrack *ct = tct_create();

    /* First packet seen is an ACK with data: liberal pick-up. */
    cr_assert_eq(seg(ct, true, TCP_ACK, 777777, 999999, 500, 100, &commit),
                 ST_NEW);
    cr_assert_eq(seg(ct, false, TCP_ACK, 999999, 777877, 500, 50, &track),
                 ST_RPL);
    cr_assert_eq(seg(ct, true, TCP_ACK, 777877, 1000049, 500, 100, &track),
                 ST_EST);
    cr_assert_str_eq(state_of(ct, false), "state=ESTABLISHED");
    cr_assert(strstr(state_of(ct, true),
                     "flags_orig=BE_LIBERAL,flags_reply=BE_LIBERAL"));
    /* Windows may have been scaled before the pick-up: a segment far
     * beyond an unscaled window still passes. */
    cr_assert_eq(seg(ct, false, TCP_ACK, 1000049, 777977, 500, 1000,
                     &track), ST_RPL);
    cr_assert_eq(seg(ct, true, TCP_ACK, 777977 + 200000, 1001049, 500, 100,
                     &track), ST_EST);
    conntrack_destroy(ct);
}

Test(ct_tcp, port_reuse_and_syn_retransmit)
{
    struct conntrack *ct = tct_create();
    struct ds s = DS_EMPTY_INITIALIZER;

    /* A retransmitted SYN stays +new. */
    seg(ct, true, TCP_SYN, 1000, 0, 65535, 0, &commit);
    cr_assert_eq(seg(ct, true, TCP_SYN, 1000, 0, 65535, 0, &track), ST_NEW);
    seg(ct, false, TCP_SYN | TCP_ACK, 5000, 1001, 65535, 0, &track);
    seg(ct, true, TCP_ACK, 1001, 5001, 65535, 0, &track);
    /* RST: both TIME_WAIT; a new SYN with another ISN restarts it. */
    seg(ct, true, TCP_RST | TCP_ACK, 1001, 5001, 0, 0, &track);
    cr_assert_str_eq(state_of(ct, false), "state=TIME_WAIT");
    cr_assert_eq(seg(ct, true, TCP_SYN, 80000000, 0, 65535, 0, &track),
                 ST_NEW);
    cr_assert_eq(conntrack_get_nconns(ct), 0);     /* not committed */
    cr_assert_eq(seg(ct, true, TCP_SYN, 80000000, 0, 65535, 0, &commit),
                 ST_NEW);
    cr_assert_eq(conntrack_get_nconns(ct), 1);
    cr_assert_str_eq(state_of(ct, false), "state=SYN_SENT");
    cr_assert_eq(seg(ct, false, TCP_SYN | TCP_ACK, 123, 80000001, 65535, 0,
                     &track), ST_RPL);
    ds_destroy(&s);
    conntrack_destroy(ct);
}

Test(ct_tcp, timers_follow_states)
{
    struct conntrack *ct = tct_create();
    struct ds s = DS_EMPTY_INITIALIZER;

    seg(ct, true, TCP_SYN, 1000, 0, 65535, 0, &commit);
    tdump(ct, NULL, &s, false, true, 0);
    cr_assert(strstr(ds_cstr(&s), ",timeout=30,"), "%s", ds_cstr(&s));
    ds_clear(&s);
    seg(ct, false, TCP_SYN | TCP_ACK, 5000, 1001, 65535, 0, &track);
    seg(ct, true, TCP_ACK, 1001, 5001, 65535, 0, &track);
    tdump(ct, NULL, &s, false, true, 0);
    cr_assert(strstr(ds_cstr(&s), ",timeout=86400,"), "%s", ds_cstr(&s));
    ds_clear(&s);
    seg(ct, true, TCP_FIN | TCP_ACK, 1001, 5001, 65535, 0, &track);
    tdump(ct, NULL, &s, false, true, 0);
    cr_assert(strstr(ds_cstr(&s), ",timeout=900,"), "%s", ds_cstr(&s));
    ds_clear(&s);
    seg(ct, false, TCP_FIN | TCP_ACK, 5001, 1002, 65535, 0, &track);
    tdump(ct, NULL, &s, false, true, 0);
    cr_assert(strstr(ds_cstr(&s), ",timeout=45,"), "%s", ds_cstr(&s));
    ds_clear(&s);
    seg(ct, true, TCP_ACK, 1002, 5002, 65535, 0, &track);
    tdump(ct, NULL, &s, false, true, 0);
    cr_assert(strstr(ds_cstr(&s), ",timeout=30,"), "%s", ds_cstr(&s));
    ds_destroy(&s);
    conntrack_destroy(ct);
}
