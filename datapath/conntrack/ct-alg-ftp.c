/* ct-alg-ftp: the FTP helper, plus what the helpers share (expectation
 * building and formatting, helper state access).  See ct-alg.h.
 *
 * The helper looks only at the first line of a segment's payload, and
 * only at segments that start with a command or reply it knows: like
 * OVS's, it does not reassemble a command split over segments. */
#include "ct-alg.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "csum.h"
#include "dp-packet.h"
#include "dynamic-string.h"
#include "flow.h"
#include "packets.h"
#include "util.h"

/* ---- Shared helper code ---------------------------------------------- */

void
ct_alg_state_get(const struct ct_conn *conn, struct ct_alg_state *st)
{
    memcpy(st, &conn->ext->alg_data, sizeof *st);
}

void
ct_alg_state_set(struct ct_conn *conn, const struct ct_alg_state *st)
{
    memcpy(&conn->ext->alg_data, st, sizeof *st);
}

static void
ct_alg_reverse(struct ct_tuple *dst, const struct ct_tuple *src)
{
    *dst = *src;
    dst->src = src->dst;
    dst->dst = src->src;
    dst->src_port = src->dst_port;
    dst->dst_port = src->src_port;
}

void
ct_alg_conn_tuples(const struct ct_conn *conn, struct ct_tuple *o,
                   struct ct_tuple *r)
{
    const struct ct_key *k = &conn->key;

    memset(o, 0, sizeof *o);
    o->zone = k->zone;
    o->nw_proto = k->nw_proto;
    o->family = k->family;
    o->src_port = k->src_port;
    o->dst_port = k->dst_port;
    if (k->family == AF_INET) {
        o->src.ipv4 = k->a.v4.src;
        o->dst.ipv4 = k->a.v4.dst;
    } else {
        o->src.ipv6 = k->a.v6.src;
        o->dst.ipv6 = k->a.v6.dst;
    }
    if (conn->ext && (conn->flags & CT_CONN_F_NAT)) {
        *r = conn->ext->rev;
    } else {
        ct_alg_reverse(r, o);
    }
}

static bool
ct_alg_addr_eq(const union ct_addr *a, const union ct_addr *b, int family)
{
    return family == AF_INET ? a->ipv4 == b->ipv4
                             : !memcmp(&a->ipv6, &b->ipv6, sizeof a->ipv6);
}

/* The four endpoints' addresses as seen from the sender of a packet in
 * direction 'reply'. */
struct ct_alg_view {
    union ct_addr sender_real;      /* the sender's own address */
    union ct_addr sender_app;       /* how the receiver sees the sender */
    union ct_addr receiver_real;
    union ct_addr receiver_seen;    /* how the sender sees the receiver */
};

static void
ct_alg_view_init(struct ct_alg_view *v, const struct ct_tuple *o,
                 const struct ct_tuple *r, bool reply)
{
    if (!reply) {
        v->sender_real = o->src;
        v->sender_app = r->dst;
        v->receiver_real = r->src;
        v->receiver_seen = o->dst;
    } else {
        v->sender_real = r->src;
        v->sender_app = o->dst;
        v->receiver_real = o->src;
        v->receiver_seen = r->dst;
    }
}

void
ct_alg_expectation_init(struct ct_expectation *exp,
                        const struct ct_conn *conn, bool reply,
                        uint8_t nw_proto, uint16_t real_port,
                        uint16_t app_port)
{
    struct ct_tuple o, r;
    struct ct_alg_view v;

    ct_alg_conn_tuples(conn, &o, &r);
    ct_alg_view_init(&v, &o, &r, reply);
    memset(exp, 0, sizeof *exp);
    exp->tuple.src = v.receiver_real;
    exp->tuple.dst = v.sender_app;
    exp->tuple.src_port = 0;
    exp->tuple.dst_port = app_port;
    exp->tuple.zone = o.zone;
    exp->tuple.nw_proto = nw_proto;
    exp->tuple.family = o.family;
    exp->parent = o;
    exp->parent_id = conn->id;
    exp->mark = conn->mark;
    if (conn->ext) {
        exp->label[0] = conn->ext->label[0];
        exp->label[1] = conn->ext->label[1];
        exp->alg = conn->ext->alg;
    }
    exp->rev = exp->tuple;
    exp->rev.src = v.sender_real;
    exp->rev.dst = v.receiver_seen;
    exp->rev.src_port = real_port;
    exp->rev.dst_port = 0;
    if (!ct_alg_addr_eq(&v.sender_real, &v.sender_app, o.family)
        || real_port != app_port) {
        exp->nat_flags |= CT_NAT_DST;
    }
    if (!ct_alg_addr_eq(&v.receiver_real, &v.receiver_seen, o.family)) {
        exp->nat_flags |= CT_NAT_SRC;
    }
    exp->nat = exp->nat_flags != 0;
    if (!exp->nat) {
        memset(&exp->rev, 0, sizeof exp->rev);
    }
}

static void
ct_alg_format_tuple(struct ds *s, const struct ct_tuple *t)
{
    if (t->family == AF_INET) {
        ds_put_format(s, "src="IP_FMT",dst="IP_FMT, IP_ARGS(t->src.ipv4),
                      IP_ARGS(t->dst.ipv4));
    } else {
        char a[IPV6_STRLEN], b[IPV6_STRLEN];

        ds_put_format(s, "src=%s,dst=%s", ipv6_to_string(&t->src.ipv6, a),
                      ipv6_to_string(&t->dst.ipv6, b));
    }
    ds_put_format(s, ",sport=%u,dport=%u", ntohs(t->src_port),
                  ntohs(t->dst_port));
}

void
ct_alg_format_expectation(struct ds *s, const struct ct_expectation *exp,
                          long long timeout_s)
{
    const struct ct_tuple *t = &exp->tuple;

    ds_put_cstr(s, t->nw_proto == IPPROTO_TCP ? "tcp"
                   : t->nw_proto == IPPROTO_UDP ? "udp" : "ip");
    ds_put_cstr(s, ",orig=(");
    ct_alg_format_tuple(s, t);
    ds_put_char(s, ')');
    if (exp->nat) {
        ds_put_cstr(s, ",reply=(");
        ct_alg_format_tuple(s, &exp->rev);
        ds_put_char(s, ')');
    }
    ds_put_cstr(s, ",parent=(");
    ct_alg_format_tuple(s, &exp->parent);
    ds_put_char(s, ')');
    if (t->zone) {
        ds_put_format(s, ",zone=%u", t->zone);
    }
    if (exp->mark) {
        ds_put_format(s, ",mark=%"PRIu32, exp->mark);
    }
    if (exp->label[0] || exp->label[1]) {
        if (exp->label[1]) {
            ds_put_format(s, ",labels=0x%"PRIx64"%016"PRIx64,
                          exp->label[1], exp->label[0]);
        } else {
            ds_put_format(s, ",labels=0x%"PRIx64, exp->label[0]);
        }
    }
    ds_put_format(s, ",helper=%s", exp->alg == CT_ALG_TFTP ? "tftp"
                                   : exp->alg == CT_ALG_FTP ? "ftp"
                                   : "none");
    if (exp->nat) {
        ds_put_format(s, ",nat=%s%s%s",
                      exp->nat_flags & CT_NAT_SRC ? "src" : "",
                      (exp->nat_flags & CT_NAT_SRC)
                      && (exp->nat_flags & CT_NAT_DST) ? "|" : "",
                      exp->nat_flags & CT_NAT_DST ? "dst" : "");
    }
    if (timeout_s >= 0) {
        ds_put_format(s, ",timeout=%lld", timeout_s);
    }
}

/* ---- FTP text -------------------------------------------------------- */

enum ct_ftp_kind {
    CT_FTP_NONE,
    CT_FTP_PORT,                /* PORT h,h,h,h,p,p */
    CT_FTP_EPRT,                /* EPRT |af|addr|port| */
    CT_FTP_227,                 /* 227 ... h,h,h,h,p,p */
    CT_FTP_229,                 /* 229 ... (|||port|) */
};

/* A parsed command or reply. */
struct ct_ftp_msg {
    enum ct_ftp_kind kind;
    int family;                 /* of the address, AF_INET or AF_INET6 */
    union ct_addr addr;         /* when the text has one */
    uint16_t port;              /* host order */
    uint32_t addr_ofs;          /* address text [addr_ofs, addr_end) */
    uint32_t addr_end;
};

/* Parses a decimal number at s[*i] (at most 'max'); advances *i. */
static bool
ct_ftp_number(const uint8_t *s, uint32_t n, uint32_t *i, uint32_t max,
              uint32_t *out)
{
    uint32_t v = 0, start = *i;

    while (*i < n && isdigit(s[*i]) && *i - start < 6) {
        v = v * 10 + (s[*i] - '0');
        (*i)++;
    }
    if (*i == start || v > max) {
        return false;
    }
    *out = v;
    return true;
}

/* Parses "h1,h2,h3,h4,p1,p2" starting at s[i]. */
static bool
ct_ftp_parse_hp(const uint8_t *s, uint32_t n, uint32_t i,
                struct ct_ftp_msg *m)
{
    uint32_t v[6];
    uint8_t b[4];

    m->addr_ofs = i;
    for (int k = 0; k < 6; k++) {
        if (k && (i >= n || s[i++] != ',')) {
            return false;
        }
        if (!ct_ftp_number(s, n, &i, 255, &v[k])) {
            return false;
        }
        if (k == 3) {
            m->addr_end = i;
        }
    }
    for (int k = 0; k < 4; k++) {
        b[k] = v[k];
    }
    m->family = AF_INET;
    memset(&m->addr, 0, sizeof m->addr);
    memcpy(&m->addr.ipv4, b, 4);
    m->port = v[4] * 256 + v[5];
    return true;
}

/* Parses "|af|addr|port|" (any delimiter) at s[i]. */
static bool
ct_ftp_parse_eprt(const uint8_t *s, uint32_t n, uint32_t i,
                  struct ct_ftp_msg *m)
{
    char text[IPV6_STRLEN];
    uint32_t af, port, len;
    uint8_t d;

    if (i >= n || s[i] < 33 || s[i] > 126) {
        return false;
    }
    d = s[i++];
    if (!ct_ftp_number(s, n, &i, 2, &af) || !af || i >= n
        || s[i++] != d) {
        return false;
    }
    m->addr_ofs = i;
    while (i < n && s[i] != d) {
        i++;
    }
    len = i - m->addr_ofs;
    if (i >= n || !len || len >= sizeof text) {
        return false;
    }
    m->addr_end = i++;
    memcpy(text, s + m->addr_ofs, len);
    text[len] = '\0';
    memset(&m->addr, 0, sizeof m->addr);
    if (af == 1) {
        m->family = AF_INET;
        if (ip_parse(text, &m->addr.ipv4)) {
            return false;
        }
    } else {
        m->family = AF_INET6;
        if (ipv6_parse(text, &m->addr.ipv6)) {
            return false;
        }
    }
    if (!ct_ftp_number(s, n, &i, 65535, &port) || i >= n || s[i] != d) {
        return false;
    }
    m->port = port;
    return true;
}

/* Parses "(|||port|)" somewhere in a 229 reply. */
static bool
ct_ftp_parse_epsv(const uint8_t *s, uint32_t n, uint32_t i,
                  struct ct_ftp_msg *m)
{
    uint32_t port;
    uint8_t d;

    while (i < n && s[i] != '(') {
        i++;
    }
    if (i + 4 >= n) {
        return false;
    }
    d = s[i + 1];
    if (s[i + 2] != d || s[i + 3] != d) {
        return false;
    }
    i += 4;
    if (!ct_ftp_number(s, n, &i, 65535, &port) || i >= n || s[i] != d) {
        return false;
    }
    m->port = port;
    m->addr_ofs = m->addr_end = 0;
    return true;
}

static bool
ct_ftp_starts(const uint8_t *s, uint32_t n, const char *word)
{
    size_t len = strlen(word);

    return n >= len && !strncasecmp((const char *) s, word, len);
}

/* Parses the first line of 'payload' for the messages that direction
 * 'reply' may carry. */
static void
ct_ftp_parse(const uint8_t *p, uint32_t n, bool reply,
             struct ct_ftp_msg *m)
{
    uint32_t i;

    memset(m, 0, sizeof *m);
    for (i = 0; i < n && i < CT_ALG_FTP_MAX_LINE && p[i] != '\n'; i++) {
        continue;
    }
    n = i;
    if (!reply && ct_ftp_starts(p, n, "PORT ")) {
        for (i = 5; i < n && p[i] == ' '; i++) {
            continue;
        }
        m->kind = ct_ftp_parse_hp(p, n, i, m) ? CT_FTP_PORT : CT_FTP_NONE;
    } else if (!reply && ct_ftp_starts(p, n, "EPRT ")) {
        for (i = 5; i < n && p[i] == ' '; i++) {
            continue;
        }
        m->kind = ct_ftp_parse_eprt(p, n, i, m) ? CT_FTP_EPRT
                                                 : CT_FTP_NONE;
    } else if (reply && ct_ftp_starts(p, n, "227")) {
        /* The numbers start at the first digit after the code. */
        for (i = 3; i < n && !isdigit(p[i]); i++) {
            continue;
        }
        m->kind = ct_ftp_parse_hp(p, n, i, m) ? CT_FTP_227 : CT_FTP_NONE;
    } else if (reply && ct_ftp_starts(p, n, "229")) {
        m->kind = ct_ftp_parse_epsv(p, n, 3, m) ? CT_FTP_229 : CT_FTP_NONE;
    }
}

/* ---- Packet surgery -------------------------------------------------- */

/* TCP option kinds the sequence adjustment looks at. */
#define CT_TCPOPT_EOL 0
#define CT_TCPOPT_NOP 1
#define CT_TCPOPT_SACK 5

/* The TCP segment of a packet. */
struct ct_ftp_seg {
    uint8_t *l3;
    uint8_t *tcp;
    uint32_t l3_len;            /* IP header(s) + TCP segment */
    uint32_t tcp_len;           /* TCP header + payload */
    uint32_t hlen;              /* TCP header */
    bool ipv6;
    bool partial;
};

static bool
ct_ftp_seg_init(struct ct_ftp_seg *g, struct dp_packet *pkt)
{
    uint32_t avail;

    g->l3 = dp_packet_l3(pkt);
    g->tcp = dp_packet_l4(pkt);
    if (!g->l3 || !g->tcp) {
        return false;
    }
    avail = dp_packet_size(pkt) - pkt->l3_ofs;
    g->ipv6 = IP_VER(g->l3[0]) == IPV6_VERSION;
    g->l3_len = g->ipv6 ? IPV6_HEADER_LEN + ntohs(get_unaligned_u16(g->l3 + 4))
                        : ntohs(get_unaligned_u16(g->l3 + 2));
    if (g->l3_len > avail || g->tcp < g->l3
        || g->tcp + TCP_HEADER_LEN > g->l3 + g->l3_len) {
        return false;
    }
    g->tcp_len = g->l3 + g->l3_len - g->tcp;
    g->hlen = TCP_OFFSET(ntohs(get_unaligned_u16(g->tcp + 12))) * 4;
    g->partial = (pkt->ofl.flags & DP_OFL_CSUM_PARTIAL)
                 && pkt->ofl.csum_start == pkt->l4_ofs;
    return g->hlen >= TCP_HEADER_LEN && g->hlen <= g->tcp_len;
}

/* Recomputes the TCP checksum of 'g' (or its pseudo-header sum). */
static void
ct_ftp_seg_csum(struct ct_ftp_seg *g)
{
    uint32_t sum;

    if (g->ipv6) {
        struct in6_addr s, d;

        memcpy(&s, g->l3 + 8, 16);
        memcpy(&d, g->l3 + 24, 16);
        sum = csum_pseudo_ipv6(&s, &d, IPPROTO_TCP, g->tcp_len);
    } else {
        sum = csum_pseudo_ipv4(get_unaligned_u32(g->l3 + 12), get_unaligned_u32(g->l3 + 16),
                               IPPROTO_TCP, g->tcp_len);
    }
    put_unaligned_u16(g->tcp + 16, 0);
    if (g->partial) {
        put_unaligned_u16(g->tcp + 16, csum_fold(sum));
    } else {
        put_unaligned_u16(g->tcp + 16, csum_finish(csum_continue(sum, g->tcp,
                                                     g->tcp_len)));
    }
}

/* Replaces payload bytes [ofs, end) (offsets from the payload start) by
 * 'text' of 'len' bytes, moving the rest and fixing the IP length.
 * Stores the length change in *deltap.  Returns 0, or -ENOSPC without
 * tailroom (nothing changed). */
static int
ct_ftp_splice(struct dp_packet *pkt, struct ct_ftp_seg *g, uint32_t ofs,
              uint32_t end, const char *text, uint32_t len, int32_t *deltap)
{
    uint8_t *payload = g->tcp + g->hlen;
    uint32_t payload_len = g->tcp_len - g->hlen;
    int32_t delta = (int32_t) len - (int32_t) (end - ofs);
    uint32_t new_size = pkt->l3_ofs + g->l3_len + delta;

    *deltap = delta;
    if (g->l3_len + delta > 65535
        || (new_size > dp_packet_size(pkt)
            && new_size - dp_packet_size(pkt) > dp_packet_tailroom(pkt))) {
        return -ENOSPC;
    }
    /* Bytes beyond the IP length (Ethernet padding) are dropped. */
    if (new_size > dp_packet_size(pkt)) {
        dp_packet_put_uninit(pkt, new_size - dp_packet_size(pkt));
    }
    memmove(payload + ofs + len, payload + end, payload_len - end);
    memcpy(payload + ofs, text, len);
    dp_packet_set_size(pkt, new_size);
    g->l3_len += delta;
    g->tcp_len += delta;
    if (g->ipv6) {
        put_unaligned_u16(g->l3 + 4, htons(ntohs(get_unaligned_u16(g->l3 + 4)) + delta));
    } else {
        uint16_t old = get_unaligned_u16(g->l3 + 2);

        put_unaligned_u16(g->l3 + 2, htons(g->l3_len));
        put_unaligned_u16(g->l3 + 10, csum_update16(get_unaligned_u16(g->l3 + 10), old,
                                        get_unaligned_u16(g->l3 + 2)));
    }
    return 0;
}

static bool
ct_seq_after(uint32_t a, uint32_t b)
{
    return (int32_t) (a - b) > 0;
}

/* Records a payload length change of 'delta' at 'seq' (raw) in 'adj'. */
static void
ct_ftp_seqadj_record(struct ct_alg_seqadj *adj, uint32_t seq, int32_t delta)
{
    if (adj->before == adj->after || ct_seq_after(seq, adj->pos)) {
        adj->pos = seq;
        adj->before = adj->after;
        adj->after += delta;
    }
}

/* Maps a sequence number of the other direction as this side saw it
 * (after the other side's rewrites) back to what the other side sent:
 * acks and SACK edges. */
static uint32_t
ct_ftp_unshift(uint32_t v, const struct ct_alg_seqadj *other)
{
    return v - (ct_seq_after(v - other->before, other->pos)
                ? other->after : other->before);
}

/* Updates the TCP checksum for the 4 bytes at 'field' (inside g->tcp)
 * changing from 'old' to 'new_' (both as in memory).  The field may sit
 * at an odd offset from the TCP header (options are byte aligned): its
 * bytes then fall in the other halves of the 16-bit words, which the
 * one's complement sum sees as byte-swapped words. */
static void
ct_ftp_csum_update_u32(struct ct_ftp_seg *g, const uint8_t *field,
                       uint32_t old, uint32_t new_)
{
    uint16_t c = get_unaligned_u16(g->tcp + 16);

    if ((field - g->tcp) & 1) {
        old = ((old & 0x00ff00ffu) << 8) | ((old & 0xff00ff00u) >> 8);
        new_ = ((new_ & 0x00ff00ffu) << 8) | ((new_ & 0xff00ff00u) >> 8);
    }
    put_unaligned_u16(g->tcp + 16, csum_update32(c, old, new_));
}

/* Shifts the edges of the segment's SACK blocks, which acknowledge the
 * other direction's data as the ack does, back into the other side's
 * sequence space (Linux's nf_nat_sack_adjust()).  Malformed options end
 * the walk; nothing else is touched.  Returns true if an edge changed. */
static bool
ct_ftp_sack_adjust(struct ct_ftp_seg *g, const struct ct_alg_seqadj *other,
                   bool fix_csum)
{
    uint8_t *opt = g->tcp + TCP_HEADER_LEN;
    uint8_t *end = g->tcp + g->hlen;
    bool changed = false;

    if (other->before == 0 && other->after == 0) {
        return false;
    }
    while (opt < end) {
        uint8_t kind = opt[0], len;

        if (kind == CT_TCPOPT_EOL) {
            break;
        }
        if (kind == CT_TCPOPT_NOP) {
            opt++;
            continue;
        }
        if (end - opt < 2) {
            break;
        }
        len = opt[1];
        if (len < 2 || len > end - opt) {
            break;
        }
        if (kind == CT_TCPOPT_SACK && len >= 10 && (len - 2) % 8 == 0) {
            for (uint8_t *e = opt + 2; e < opt + len; e += 4) {
                uint32_t v = ntohl(get_unaligned_u32(e));
                uint32_t nv = ct_ftp_unshift(v, other);

                if (nv != v) {
                    put_unaligned_u32(e, htonl(nv));
                    if (fix_csum && !g->partial) {
                        ct_ftp_csum_update_u32(g, e, htonl(v), htonl(nv));
                    }
                    changed = true;
                }
            }
        }
        opt += len;
    }
    return changed;
}

/* Shifts the segment's seq by this direction's offsets, and its ack and
 * SACK blocks by the other's.  Returns true if any changed. */
static bool
ct_ftp_seqadj_apply(struct ct_ftp_seg *g, const struct ct_alg_state *st,
                    bool reply, bool fix_csum)
{
    const struct ct_alg_seqadj *me = &st->dir[reply];
    const struct ct_alg_seqadj *other = &st->dir[!reply];
    uint32_t seq = ntohl(get_unaligned_u32(g->tcp + 4));
    uint32_t ack = ntohl(get_unaligned_u32(g->tcp + 8));
    uint32_t new_seq, new_ack = ack;
    bool changed;

    new_seq = seq + (ct_seq_after(seq, me->pos) ? me->after : me->before);
    if (ntohs(get_unaligned_u16(g->tcp + 12)) & TCP_ACK) {
        new_ack = ct_ftp_unshift(ack, other);
    }
    changed = new_seq != seq || new_ack != ack;
    put_unaligned_u32(g->tcp + 4, htonl(new_seq));
    put_unaligned_u32(g->tcp + 8, htonl(new_ack));
    if (changed && fix_csum && !g->partial) {
        uint16_t c = get_unaligned_u16(g->tcp + 16);

        c = csum_update32(c, htonl(seq), htonl(new_seq));
        c = csum_update32(c, htonl(ack), htonl(new_ack));
        put_unaligned_u16(g->tcp + 16, c);
    }
    if (ct_ftp_sack_adjust(g, other, fix_csum)) {
        changed = true;
    }
    return changed;
}

/* Writes the address text for 'addr' in the style of message 'kind'. */
static uint32_t
ct_ftp_addr_text(enum ct_ftp_kind kind, int family, const union ct_addr *a,
                 char *buf, size_t size)
{
    const uint8_t *b = (const uint8_t *) &a->ipv4;

    if (family == AF_INET6) {
        ipv6_to_string(&a->ipv6, buf);
        return strlen(buf);
    }
    if (kind == CT_FTP_EPRT) {
        return snprintf(buf, size, IP_FMT, IP_ARGS(a->ipv4));
    }
    return snprintf(buf, size, "%u,%u,%u,%u", b[0], b[1], b[2], b[3]);
}

/* Handles a recognised message: expectation, then NAT rewrite.  Sets
 * *rewritten and *delta (the payload length change) if the payload was
 * rewritten.  Returns 0 or a negative errno (the packet is then +inv). */
static int
ct_ftp_act(const struct ct_alg_call *c, struct ct_ftp_seg *g,
           const struct ct_ftp_msg *m, bool *rewritten, int32_t *delta)
{
    struct ct_tuple o, r;
    struct ct_alg_view v;
    struct ct_expectation exp;
    union ct_addr named;
    uint16_t port = htons(m->port);
    char text[IPV6_STRLEN];
    int res;

    ct_alg_conn_tuples(c->conn, &o, &r);
    ct_alg_view_init(&v, &o, &r, c->reply);
    if (m->kind == CT_FTP_229) {
        named = v.sender_real;          /* EPSV names no address */
    } else {
        if (m->family != o.family) {
            return 0;
        }
        named = m->addr;
    }
    if (!ct_alg_addr_eq(&named, &v.sender_real, o.family)) {
        /* Not the sender's own address: no expectation (FXP/bounce). */
        return 0;
    }
    if (!m->port) {
        return 0;
    }
    ct_alg_expectation_init(&exp, c->conn, c->reply, IPPROTO_TCP, port,
                            port);
    res = c->expect(c->aux, &exp, CT_ALG_EXPECT_TIMEOUT_MS, c->now_ms);
    if (res && res != -EEXIST) {
        /* Table full: the control connection goes on, the data
         * connection will be +new (or dropped by the flow table). */
        return 0;
    }
    if (m->kind == CT_FTP_229
        || ct_alg_addr_eq(&v.sender_real, &v.sender_app, o.family)) {
        return 0;
    }
    res = ct_ftp_splice(c->pkt, g, m->addr_ofs, m->addr_end, text,
                        ct_ftp_addr_text(m->kind, o.family, &v.sender_app,
                                         text, sizeof text), delta);
    if (res) {
        return res;
    }
    *rewritten = true;
    return 0;
}

int
ct_alg_ftp_handle(const struct ct_alg_call *c)
{
    struct ct_alg_state st;
    struct ct_ftp_seg g;
    struct ct_ftp_msg m;
    bool rewritten = false;
    int32_t delta = 0;
    uint32_t seq;
    int err;

    if (!c->conn->ext || !ct_ftp_seg_init(&g, c->pkt)) {
        return 0;
    }
    ct_alg_state_get(c->conn, &st);
    seq = ntohl(get_unaligned_u32(g.tcp + 4));
    if (g.tcp_len > g.hlen) {
        ct_ftp_parse(g.tcp + g.hlen, g.tcp_len - g.hlen, c->reply, &m);
        if (m.kind != CT_FTP_NONE) {
            err = ct_ftp_act(c, &g, &m, &rewritten, &delta);
            if (err) {
                return err;
            }
        }
    }
    if (rewritten) {
        if (delta) {
            ct_ftp_seqadj_record(&st.dir[c->reply], seq, delta);
            ct_alg_state_set(c->conn, &st);
        }
        ct_ftp_seqadj_apply(&g, &st, c->reply, false);
        ct_ftp_seg_csum(&g);
    } else {
        ct_ftp_seqadj_apply(&g, &st, c->reply, true);
    }
    return 0;
}

static int
ct_alg_core_expect(void *ct, const struct ct_expectation *exp,
                   uint32_t timeout_ms, long long now_ms)
{
    return ct_expect_add(ct, exp, timeout_ms, now_ms);
}

int
ct_alg_ftp_process(struct conntrack *ct, struct dp_packet *pkt,
                   struct flow *flow, struct ct_conn *conn, bool reply,
                   long long now_ms)
{
    struct ct_alg_call c = {
        .expect = ct_alg_core_expect, .aux = ct, .pkt = pkt, .flow = flow,
        .conn = conn, .reply = reply, .now_ms = now_ms,
    };

    if (flow->nw_proto != IPPROTO_TCP) {
        return 0;
    }
    return ct_alg_ftp_handle(&c);
}
