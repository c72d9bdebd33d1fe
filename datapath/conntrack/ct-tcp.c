/* ct-tcp.c: TCP tracking.
 *
 * Window tracking after Guido van Rooij's "Real Stateful TCP Packet
 * Filtering in IP Filter", in the form OpenBSD pf and OVS's userspace
 * conntrack use: for each direction we keep the highest sequence number
 * sent (seqlo), the highest the peer's window allows (seqhi), the largest
 * window advertised and the window scale.  A segment is acceptable if its
 * end lies within the receiver's window, it is at most one window behind
 * and its ACK is neither too far back nor beyond what was sent.  State
 * names and transitions are OVS's (ct_dpif TCP states); timers are OVS's.
 *
 * Called by ct-core.c with the connection's owner stripe held. */
#include <arpa/inet.h>
#include <string.h>
#include "conntrack-private.h"
#include "dp-packet.h"
#include "packets.h"
#include "util.h"

#define CT_TCP_MAX_WSCALE 14
/* One maximal unscaled window plus a fudge factor of one MTU. */
#define CT_MAX_ACK_WINDOW (0xffff + 1500)

static inline bool
seq_gt(uint32_t a, uint32_t b)
{
    return (int32_t) (a - b) > 0;
}
static inline bool
seq_geq(uint32_t a, uint32_t b)
{
    return (int32_t) (a - b) >= 0;
}

static const struct tcp_header *
ct_tcp_hdr(const struct ct_pkt *cp)
{
    return cp->l4;
}

static uint16_t
ct_tcp_flags(const struct tcp_header *tcp)
{
    return TCP_FLAGS(ntohs(tcp->tcp_ctl));
}

static uint32_t
ct_tcp_payload_len(const struct ct_pkt *cp)
{
    const struct tcp_header *tcp = ct_tcp_hdr(cp);

    return cp->l4_len - TCP_OFFSET(ntohs(tcp->tcp_ctl)) * 4;
}

/* The window scale option of a SYN: CT_WSCALE_FLAG | shift, or 0. */
static uint8_t
ct_tcp_get_wscale(const struct ct_pkt *cp)
{
    const struct tcp_header *tcp = ct_tcp_hdr(cp);
    const uint8_t *opt = (const uint8_t *) (tcp + 1);
    const uint8_t *end = (const uint8_t *) tcp
                         + TCP_OFFSET(ntohs(tcp->tcp_ctl)) * 4;

    while (opt < end) {
        uint8_t kind = opt[0];

        if (kind == 0) {                    /* end of options */
            break;
        } else if (kind == 1) {             /* no-op */
            opt++;
            continue;
        }
        if (end - opt < 2 || opt[1] < 2 || opt[1] > end - opt) {
            break;
        }
        if (kind == 3 && opt[1] == 3) {     /* window scale */
            return CT_WSCALE_FLAG | MIN(opt[2], CT_TCP_MAX_WSCALE);
        }
        opt += opt[1];
    }
    return 0;
}

/* Flag combinations no TCP sends. */
static bool
ct_tcp_invalid_flags(uint16_t flags)
{
    if (flags & TCP_SYN) {
        if (flags & (TCP_RST | TCP_FIN)) {
            return true;
        }
    } else if (!(flags & (TCP_ACK | TCP_RST))) {
        return true;
    }
    return !(flags & TCP_ACK) && (flags & (TCP_FIN | TCP_PSH | TCP_URG));
}

bool
ct_tcp_valid_new(const struct ct_pkt *cp)
{
    uint16_t flags = ct_tcp_flags(ct_tcp_hdr(cp));

    /* A SYN starts a connection and a segment of an established one may
     * be picked up, but not a half-open SYN|ACK. */
    return !ct_tcp_invalid_flags(flags)
           && (flags & (TCP_SYN | TCP_ACK)) != (TCP_SYN | TCP_ACK);
}

void
ct_tcp_new_conn(struct conntrack *ct, struct ct_conn *conn,
                const struct ct_pkt *cp, uint32_t now)
{
    const struct tcp_header *tcp = ct_tcp_hdr(cp);
    struct ct_tcp_peer_state *t = &conn->l4.tcp;
    uint16_t flags = ct_tcp_flags(tcp);
    uint32_t seq = ntohl(tcp->tcp_seq);

    memset(t, 0, sizeof *t);
    t->seqlo[0] = seq;
    t->seqhi[0] = seq + ct_tcp_payload_len(cp) + 1;
    if (flags & TCP_SYN) {
        t->seqhi[0]++;
        t->wscale[0] = ct_tcp_get_wscale(cp);
    } else {
        /* Picked up mid-stream: neither side's window scale is known, so
         * window checks assume the largest scale (liberal). */
        t->wscale[0] = CT_WSCALE_UNKNOWN;
        t->wscale[1] = CT_WSCALE_UNKNOWN;
    }
    t->max_win[0] = MAX(ntohs(tcp->tcp_winsz), 1);
    if (t->wscale[0] & CT_WSCALE_MASK) {
        /* The SYN's own window is never scaled. */
        uint8_t sws = t->wscale[0] & CT_WSCALE_MASK;

        t->max_win[0] = DIV_ROUND_UP(t->max_win[0], 1u << sws);
    }
    if (flags & TCP_FIN) {
        t->seqhi[0]++;
    }
    t->seqhi[1] = 1;
    t->max_win[1] = 1;
    t->state[0] = CT_TCPS_SYN_SENT;
    t->state[1] = CT_TCPS_CLOSED;
    ct_conn_set_timer(ct, conn, CT_TM_TCP_FIRST_PACKET, now);
}

/* The timer for the pair of states, as OVS chooses it. */
static enum ct_tm
ct_tcp_timer(uint8_t src, uint8_t dst)
{
    if (src >= CT_TCPS_FIN_WAIT_2 && dst >= CT_TCPS_FIN_WAIT_2) {
        return CT_TM_TCP_CLOSED;
    } else if (src >= CT_TCPS_CLOSING && dst >= CT_TCPS_CLOSING) {
        return CT_TM_TCP_FIN_WAIT;
    } else if (src < CT_TCPS_ESTABLISHED || dst < CT_TCPS_ESTABLISHED) {
        return CT_TM_TCP_OPENING;
    } else if (src >= CT_TCPS_CLOSING || dst >= CT_TCPS_CLOSING) {
        return CT_TM_TCP_CLOSING;
    }
    return CT_TM_TCP_ESTABLISHED;
}

/* Everything the window checks need about one segment. */
struct ct_tcp_seg {
    uint16_t flags;
    uint32_t seq, orig_seq, ack, end, win;
    uint8_t sws, dws;           /* scale shifts, source and destination */
    bool check_ackskew;
};

/* First packet seen from this side (the responder's SYN|ACK, or its
 * first segment after a pick-up): initialize its half. */
static void
ct_tcp_first_from_src(struct ct_tcp_peer_state *t, int si, int di,
                      const struct ct_pkt *cp, struct ct_tcp_seg *g)
{
    if (g->flags & TCP_SYN) {
        g->end++;
        if (t->wscale[di] & CT_WSCALE_FLAG) {
            t->wscale[si] = ct_tcp_get_wscale(cp);
            if (t->wscale[si] & CT_WSCALE_FLAG) {
                g->sws = t->wscale[si] & CT_WSCALE_MASK;
                g->win = DIV_ROUND_UP(g->win, 1u << g->sws);
                g->dws = t->wscale[di] & CT_WSCALE_MASK;
            } else {
                /* Scaling needs both sides: undo the originator's. */
                t->max_win[di] <<= t->wscale[di] & CT_WSCALE_MASK;
                t->wscale[di] = 0;
            }
        }
    }
    if (g->flags & TCP_FIN) {
        g->end++;
    }
    t->seqlo[si] = g->seq;
    t->state[si] = CT_TCPS_SYN_SENT;
    /* seqhi may be stale (pick-up, or the placeholder 1): slide it, and
     * skip the ACK check for this packet. */
    uint32_t lim = g->end + MAX(1, t->max_win[di] << g->dws);
    if (t->seqhi[si] == 1 || seq_geq(lim, t->seqhi[si])) {
        t->seqhi[si] = lim;
        g->check_ackskew = false;
    }
    if (g->win > t->max_win[si]) {
        t->max_win[si] = g->win;
    }
}

/* Accepted segment: advance the windows. */
static void
ct_tcp_advance(struct ct_tcp_peer_state *t, int si, int di,
               const struct ct_tcp_seg *g)
{
    uint32_t swin = g->win << g->sws;

    if (t->max_win[si] < g->win) {
        t->max_win[si] = g->win;
    }
    if (seq_gt(g->end, t->seqlo[si])) {
        t->seqlo[si] = g->end;
    }
    if (seq_geq(g->ack + swin, t->seqhi[di])) {
        t->seqhi[di] = g->ack + MAX(swin, 1);
    }
}

enum ct_update_res
ct_tcp_update(struct conntrack *ct, struct ct_conn *conn,
              const struct ct_pkt *cp, bool reply, uint32_t now)
{
    const struct tcp_header *tcp = ct_tcp_hdr(cp);
    struct ct_tcp_peer_state *t = &conn->l4.tcp;
    int si = reply, di = !reply;
    struct ct_tcp_seg g;

    memset(&g, 0, sizeof g);
    g.flags = ct_tcp_flags(tcp);
    if (ct_tcp_invalid_flags(g.flags)) {
        return CT_UPDATE_INVALID;
    }

    if ((g.flags & (TCP_SYN | TCP_ACK)) == TCP_SYN) {
        if (t->state[si] >= CT_TCPS_FIN_WAIT_2
            && t->state[di] >= CT_TCPS_FIN_WAIT_2) {
            /* Port reuse after a close: start over. */
            t->state[si] = t->state[di] = CT_TCPS_CLOSED;
            return CT_UPDATE_NEW;
        } else if (t->state[si] <= CT_TCPS_SYN_SENT) {
            /* A retransmitted SYN. */
            t->state[si] = CT_TCPS_SYN_SENT;
            ct_conn_set_timer(ct, conn, CT_TM_TCP_FIRST_PACKET, now);
            return CT_UPDATE_VALID_NEW;
        }
    }

    if ((t->wscale[si] & CT_WSCALE_FLAG) && (t->wscale[di] & CT_WSCALE_FLAG)
        && !(g.flags & TCP_SYN)) {
        g.sws = t->wscale[si] & CT_WSCALE_MASK;
        g.dws = t->wscale[di] & CT_WSCALE_MASK;
    } else if ((t->wscale[si] & CT_WSCALE_UNKNOWN)
               && (t->wscale[di] & CT_WSCALE_UNKNOWN)
               && !(g.flags & TCP_SYN)) {
        g.sws = g.dws = CT_TCP_MAX_WSCALE;
    }

    g.orig_seq = g.seq = ntohl(tcp->tcp_seq);
    g.ack = ntohl(tcp->tcp_ack);
    g.win = ntohs(tcp->tcp_winsz);
    g.end = g.seq + ct_tcp_payload_len(cp);
    g.check_ackskew = true;
    if (t->state[si] < CT_TCPS_SYN_SENT) {
        ct_tcp_first_from_src(t, si, di, cp, &g);
    } else {
        g.end += !!(g.flags & TCP_SYN) + !!(g.flags & TCP_FIN);
    }

    if (!(g.flags & TCP_ACK)) {
        g.ack = t->seqlo[di];           /* nothing acknowledged */
    } else if (g.ack == 0
               && (g.flags & (TCP_ACK | TCP_RST)) == (TCP_ACK | TCP_RST)) {
        g.ack = t->seqlo[di];           /* stacks that send RST|ACK 0 */
    }
    if (g.seq == g.end) {
        /* No data: only the ACK matters. */
        g.seq = g.end = t->seqlo[si];
    }

    int32_t ackskew = g.check_ackskew ? (int32_t) (t->seqlo[di] - g.ack) : 0;
    bool rst_ok = !(g.flags & TCP_RST) || g.orig_seq == t->seqlo[si]
                  || g.orig_seq == t->seqlo[si] + 1
                  || g.orig_seq + 1 == t->seqlo[si];
    bool in_window =
        seq_geq(t->seqhi[si], g.end)
        && seq_geq(g.seq, t->seqlo[si] - (t->max_win[di] << g.dws))
        && ackskew >= -CT_MAX_ACK_WINDOW
        && ackskew <= (CT_MAX_ACK_WINDOW << g.sws)
        && rst_ok;

    if (in_window || !ct_tcp_seq_chk_enabled(ct)) {
        ct_tcp_advance(t, si, di, &g);
        if ((g.flags & TCP_SYN) && t->state[si] < CT_TCPS_SYN_SENT) {
            t->state[si] = CT_TCPS_SYN_SENT;
        }
        if ((g.flags & TCP_FIN) && t->state[si] < CT_TCPS_CLOSING) {
            t->state[si] = CT_TCPS_CLOSING;
        }
        if (g.flags & TCP_ACK) {
            if (t->state[di] == CT_TCPS_SYN_SENT) {
                t->state[di] = CT_TCPS_ESTABLISHED;
            } else if (t->state[di] == CT_TCPS_CLOSING) {
                t->state[di] = CT_TCPS_FIN_WAIT_2;
            }
        }
        if (g.flags & TCP_RST) {
            t->state[si] = t->state[di] = CT_TCPS_TIME_WAIT;
        }
        ct_conn_set_timer(ct, conn, ct_tcp_timer(t->state[si], t->state[di]),
                          now);
        return CT_UPDATE_VALID;
    }

    /* Loose acceptance (no timer refresh): SYNs shotgunned before the
     * peer answered, a stream picked up after establishment, and stray
     * segments right after a close; within a window of what was seen. */
    if ((t->state[di] < CT_TCPS_SYN_SENT
         || t->state[di] >= CT_TCPS_FIN_WAIT_2
         || t->state[si] >= CT_TCPS_FIN_WAIT_2)
        && seq_geq(t->seqhi[si] + CT_MAX_ACK_WINDOW, g.end)
        && seq_geq(g.seq, t->seqlo[si] - CT_MAX_ACK_WINDOW)) {
        ct_tcp_advance(t, si, di, &g);
        if ((g.flags & TCP_FIN) && t->state[si] < CT_TCPS_CLOSING) {
            t->state[si] = CT_TCPS_CLOSING;
        }
        if (g.flags & TCP_RST) {
            t->state[si] = t->state[di] = CT_TCPS_TIME_WAIT;
        }
        return CT_UPDATE_VALID;
    }
    ct_count_tcp_seq_fail(ct);
    return CT_UPDATE_INVALID;
}
