/* ct-dump.c: connection snapshots, OVS's dpctl/dump-conntrack text
 * format, sliced dumps and flushes, and event delivery.  Main thread
 * (ct_conn_to_entry() also runs in workers, for events).  See conntrack.h
 * for the locking rule. */
#include <arpa/inet.h>
#include <string.h>
#include "conntrack-private.h"
#include "dynamic-string.h"
#include "packets.h"
#include "util.h"

/* ---- Snapshots and text format --------------------------------------- */

/* Locked (the conn's owner stripe). */
void
ct_conn_to_entry(const struct conntrack *ct, const struct ct_conn *conn,
                 struct ct_entry *e, uint32_t now)
{
    memset(e, 0, sizeof *e);
    (void) ct;
    ct_conn_orig_tuple(conn, &e->orig);
    ct_conn_reply_tuple(conn, &e->reply);
    if (conn->ext) {
        e->label[0] = conn->ext->label[0];
        e->label[1] = conn->ext->label[1];
        e->helper = conn->ext->alg;
        if (conn->ext->has_parent) {
            e->parent = conn->ext->parent;
            e->has_parent = true;
        }
        if (conn->flags & CT_CONN_F_NAT) {
            e->nat_flags = conn->ext->nat_flags;
        }
    }
    e->id = conn->id;
    e->zone = conn->key.zone;
    e->mark = conn->mark;
    e->timeout = ct_conn_expired(conn, now)
                 ? 0 : (conn->expiration - now) / 1000;
    e->packets[0] = conn->packets[0];
    e->packets[1] = conn->packets[1];
    e->bytes[0] = conn->bytes[0];
    e->bytes[1] = conn->bytes[1];
    e->seen_reply = conn->flags & CT_CONN_F_SEEN_REPLY;
    if (conn->l4_type == CT_L4_TCP) {
        const struct ct_tcp_peer_state *tcp = &conn->l4.tcp;

        for (int i = 0; i < 2; i++) {
            e->tcp_state[i] = tcp->state[i];
            e->tcp_wscale[i] = tcp->wscale[i] & CT_WSCALE_MASK;
            e->tcp_flags[i] = (tcp->wscale[i] & CT_WSCALE_FLAG
                               ? CT_TCPF_WINDOW_SCALE : 0)
                              | (tcp->wscale[i] & CT_WSCALE_UNKNOWN
                                 ? CT_TCPF_BE_LIBERAL : 0);
        }
    } else if (conn->l4_type == CT_L4_SCTP) {
        e->sctp_state = conn->l4_state;
    }
}

static const char *
ct_proto_name(uint8_t proto)
{
    switch (proto) {
    case IPPROTO_ICMP:
        return "icmp";
    case IPPROTO_ICMPV6_:
        return "icmpv6";
    case IPPROTO_TCP:
        return "tcp";
    case IPPROTO_UDP:
        return "udp";
    case IPPROTO_SCTP:
        return "sctp";
    case 136:
        return "udplite";
    case 33:
        return "dccp";
    case 2:
        return "igmp";
    default:
        return NULL;
    }
}

void
ct_format_tuple(struct ds *ds, const struct ct_tuple *t)
{
    char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];

    if (t->family == AF_INET) {
        inet_ntop(AF_INET, &t->src.ipv4, a, sizeof a);
        inet_ntop(AF_INET, &t->dst.ipv4, b, sizeof b);
    } else {
        inet_ntop(AF_INET6, &t->src.ipv6, a, sizeof a);
        inet_ntop(AF_INET6, &t->dst.ipv6, b, sizeof b);
    }
    ds_put_format(ds, "src=%s,dst=%s", a, b);
    if (t->nw_proto == IPPROTO_ICMP || t->nw_proto == IPPROTO_ICMPV6_) {
        ds_put_format(ds, ",id=%u,type=%u,code=%u", ntohs(t->src_port),
                      t->icmp_type, t->icmp_code);
    } else {
        ds_put_format(ds, ",sport=%u,dport=%u", ntohs(t->src_port),
                      ntohs(t->dst_port));
    }
}

static const char *const ct_tcp_state_names[CT_TCPS_N] = {
    "CLOSED", "LISTEN", "SYN_SENT", "SYN_RECV", "ESTABLISHED",
    "CLOSE_WAIT", "FIN_WAIT_1", "CLOSING", "LAST_ACK", "FIN_WAIT_2",
    "TIME_WAIT",
};

const char *
ct_tcp_state_name(unsigned int s)
{
    return s < CT_TCPS_N ? ct_tcp_state_names[s] : NULL;
}

static const char *const ct_sctp_state_names[CT_SCTPS_N] = {
    "CLOSED", "COOKIE_WAIT", "COOKIE_ECHOED", "ESTABLISHED",
    "SHUTDOWN_SENT", "SHUTDOWN_RECD", "SHUTDOWN_ACK_SENT",
    "HEARTBEAT_SENT", "HEARTBEAT_ACKED",
};

const char *
ct_sctp_state_name(unsigned int s)
{
    return s < CT_SCTPS_N ? ct_sctp_state_names[s] : NULL;
}

static void
ct_format_enum(struct ds *ds, const char *title, const char *name,
               unsigned int v)
{
    ds_put_cstr(ds, title);
    if (name) {
        ds_put_cstr(ds, name);
    } else {
        ds_put_format(ds, "[%u]", v);
    }
}

static void
ct_format_flags(struct ds *ds, const char *title, uint32_t flags,
                const char *const names[], size_t n)
{
    ds_put_cstr(ds, title);
    for (size_t i = 0; i < n; i++) {
        if (flags & (1u << i)) {
            ds_put_format(ds, "%s|", names[i]);
        }
    }
    ds_chomp(ds, '|');
}

static const char *const ct_tcpf_names[] = {
    "WINDOW_SCALE", "SACK_PERM", "CLOSE_INIT", "BE_LIBERAL",
    "DATA_UNACKNOWLEDGED", "MAXACK_SET",
};

/* Kernel-style status bits, in the kernel's (and OVS's) order. */
static const char *const ct_status_names[] = {
    "EXPECTED", "SEEN_REPLY", "ASSURED", "CONFIRMED", "SRC_NAT", "DST_NAT",
    "SEQ_ADJUST", "SRC_NAT_DONE", "DST_NAT_DONE",
};

static uint32_t
ct_entry_status(const struct ct_entry *e)
{
    uint32_t st = 1u << 3;                            /* CONFIRMED */

    st |= e->has_parent ? 1u << 0 : 0;
    st |= e->seen_reply ? (1u << 1) | (1u << 2) : 0;  /* +ASSURED */
    st |= e->nat_flags & CT_NAT_SRC ? (1u << 4) | (1u << 7) : 0;
    st |= e->nat_flags & CT_NAT_DST ? (1u << 5) | (1u << 8) : 0;
    return st;
}

/* OVS prints one TCP state, the larger of the two, with the userspace
 * and kernel views reconciled (SYN_RECV reads as ESTABLISHED, FIN_WAIT_2
 * as TIME_WAIT). */
static unsigned int
ct_tcp_state_coalesce(unsigned int s)
{
    return s == CT_TCPS_SYN_RECV ? CT_TCPS_ESTABLISHED
           : s == CT_TCPS_FIN_WAIT_2 ? CT_TCPS_TIME_WAIT : s;
}

static void
ct_format_protoinfo(struct ds *ds, const struct ct_entry *e, bool verbose)
{
    if (e->orig.nw_proto == IPPROTO_TCP) {
        ds_put_cstr(ds, ",protoinfo=(");
        if (!verbose) {
            unsigned int s = ct_tcp_state_coalesce(MAX(e->tcp_state[0],
                                                       e->tcp_state[1]));
            ct_format_enum(ds, "state=", ct_tcp_state_name(s), s);
        } else {
            ct_format_enum(ds, "state_orig=",
                           ct_tcp_state_name(e->tcp_state[0]),
                           e->tcp_state[0]);
            ct_format_enum(ds, ",state_reply=",
                           ct_tcp_state_name(e->tcp_state[1]),
                           e->tcp_state[1]);
            if (e->tcp_wscale[0] || e->tcp_wscale[1]) {
                ds_put_format(ds, ",wscale_orig=%u,wscale_reply=%u",
                              e->tcp_wscale[0], e->tcp_wscale[1]);
            }
            ct_format_flags(ds, ",flags_orig=", e->tcp_flags[0],
                            ct_tcpf_names, ARRAY_SIZE(ct_tcpf_names));
            ct_format_flags(ds, ",flags_reply=", e->tcp_flags[1],
                            ct_tcpf_names, ARRAY_SIZE(ct_tcpf_names));
        }
        ds_put_char(ds, ')');
    } else if (e->orig.nw_proto == IPPROTO_SCTP) {
        ds_put_cstr(ds, ",protoinfo=(");
        ct_format_enum(ds, "state=", ct_sctp_state_name(e->sctp_state),
                       e->sctp_state);
        ds_put_char(ds, ')');
    }
}

static void
ct_format_counters(struct ds *ds, uint64_t packets, uint64_t bytes)
{
    if (packets || bytes) {
        ds_put_format(ds, ",packets=%llu,bytes=%llu",
                      (unsigned long long) packets,
                      (unsigned long long) bytes);
    }
}

void
ct_format_entry(struct ds *ds, const struct ct_entry *e, bool verbose,
                bool stats)
{
    const char *name = ct_proto_name(e->orig.nw_proto);

    if (name) {
        ds_put_cstr(ds, name);
    } else {
        ds_put_format(ds, "%u", e->orig.nw_proto);
    }
    ds_put_cstr(ds, ",orig=(");
    ct_format_tuple(ds, &e->orig);
    if (stats) {
        ct_format_counters(ds, e->packets[0], e->bytes[0]);
    }
    ds_put_cstr(ds, "),reply=(");
    ct_format_tuple(ds, &e->reply);
    if (stats) {
        ct_format_counters(ds, e->packets[1], e->bytes[1]);
    }
    ds_put_char(ds, ')');
    if (verbose) {
        ds_put_format(ds, ",id=%u", e->id);
    }
    if (e->zone) {
        ds_put_format(ds, ",zone=%u", e->zone);
    }
    if (verbose) {
        ct_format_flags(ds, ",status=", ct_entry_status(e), ct_status_names,
                        ARRAY_SIZE(ct_status_names));
    }
    if (stats) {
        ds_put_format(ds, ",timeout=%u", e->timeout);
    }
    if (e->mark) {
        ds_put_format(ds, ",mark=%u", e->mark);
    }
    if (e->label[0] || e->label[1]) {
        if (e->label[1]) {
            ds_put_format(ds, ",labels=0x%llx%016llx",
                          (unsigned long long) e->label[1],
                          (unsigned long long) e->label[0]);
        } else {
            ds_put_format(ds, ",labels=0x%llx",
                          (unsigned long long) e->label[0]);
        }
    }
    ct_format_protoinfo(ds, e, verbose);
    if (e->helper != CT_ALG_NONE && ct_alg_name(e->helper)) {
        ds_put_format(ds, ",helper=%s", ct_alg_name(e->helper));
    }
    if (verbose && e->has_parent) {
        ds_put_cstr(ds, ",parent=(");
        ct_format_tuple(ds, &e->parent);
        ds_put_char(ds, ')');
    }
}

/* ---- Dump ------------------------------------------------------------ */

#define CT_DUMP_MAX_BUCKETS 4096    /* buckets examined per call */

void
conntrack_dump_start(struct ct_dump_cursor *cur, const uint16_t *zone)
{
    memset(cur, 0, sizeof *cur);
    if (zone) {
        cur->filter_zone = true;
        cur->zone = *zone;
    }
}

static bool
ct_dump_wants(const struct ct_dump_cursor *cur, const struct ct_node *n,
              uint32_t now)
{
    const struct ct_conn *conn;

    if (n->is_rev) {
        return false;
    }
    conn = CONTAINER_OF(n, struct ct_conn, node);
    return !ct_conn_expired(conn, now)
           && (!cur->filter_zone || conn->key.zone == cur->zone);
}

size_t
conntrack_dump_next(struct conntrack *ct, struct ct_dump_cursor *cur,
                    struct ct_entry *entries, size_t max, long long now_ms)
{
    uint32_t now = ct_time(ct, now_ms);
    size_t n = 0;

    for (uint32_t budget = CT_DUMP_MAX_BUCKETS;
         budget && n < max && !cur->done; budget--) {
        struct ct_stripe *s;
        struct ct_node *node;
        uint32_t idx = 0, wanted = 0;
        bool finished = true;

        bool found;

        if (!cur->skip) {
            cur->bucket = ct_bucket_next(ct, cur->bucket, 4096, &found);
            if (!found) {
                cur->done = cur->bucket > ct->bucket_mask;
                continue;
            }
        }
        s = &ct->stripes[cur->bucket & ct->stripe_mask];
        ct_lock(s);
        node = ct->buckets[cur->bucket];
        /* Whole buckets only, unless one alone exceeds 'max'. */
        for (struct ct_node *m = node; m; m = m->next) {
            wanted += ct_dump_wants(cur, m, now);
        }
        if (n && wanted - cur->skip > max - n) {
            ct_unlock(s);
            break;
        }
        for (; node; node = node->next) {
            if (!ct_dump_wants(cur, node, now) || idx++ < cur->skip) {
                continue;
            }
            if (n == max) {
                finished = false;
                break;
            }
            ct_conn_to_entry(ct, CONTAINER_OF(node, struct ct_conn, node),
                             &entries[n++], now);
            cur->skip++;
        }
        ct_unlock(s);
        if (finished) {
            cur->bucket++;
            cur->skip = 0;
        }
    }
    return n;
}

/* ---- Flush ----------------------------------------------------------- */

static bool
ct_flush_match(const struct ct_conn *conn, const struct ct_flush_filter *f)
{
    uint64_t label[2] = { 0, 0 };

    if (!f) {
        return true;
    }
    if (f->has_zone && conn->key.zone != f->zone) {
        return false;
    }
    if ((conn->mark ^ f->mark) & f->mark_mask) {
        return false;
    }
    if (conn->ext) {
        label[0] = conn->ext->label[0];
        label[1] = conn->ext->label[1];
    }
    if (((label[0] ^ f->label[0]) & f->label_mask[0])
        || ((label[1] ^ f->label[1]) & f->label_mask[1])) {
        return false;
    }
    if (f->orig || f->reply) {
        struct ct_tuple t, want;
        bool icmp = conn->l4_type == CT_L4_ICMP;

        if (f->orig) {
            ct_conn_orig_tuple(conn, &t);
            want = *f->orig;
            want.zone = t.zone;
            if (!ct_tuple_equals(&t, &want)
                || (icmp && t.icmp_type != want.icmp_type)) {
                return false;
            }
        }
        if (f->reply) {
            ct_conn_reply_tuple(conn, &t);
            want = *f->reply;
            want.zone = t.zone;
            if (!ct_tuple_equals(&t, &want)
                || (icmp && t.icmp_type != want.icmp_type)) {
                return false;
            }
        }
    }
    return true;
}

void
conntrack_flush_start(struct ct_flush_cursor *cur)
{
    memset(cur, 0, sizeof *cur);
}

size_t
conntrack_flush_next(struct conntrack *ct, struct ct_flush_cursor *cur,
                     const struct ct_flush_filter *f, size_t max_buckets,
                     long long now_ms)
{
    uint32_t now = ct_time(ct, now_ms);
    size_t removed = 0;

    while (max_buckets && !cur->done) {
        uint32_t idx[CT_GATHER];
        size_t k = ct_bucket_gather(ct, &cur->bucket, idx,
                                    MIN(max_buckets, CT_GATHER), 4096);

        if (!k) {
            cur->done = cur->bucket > ct->bucket_mask;
            max_buckets--;
            continue;
        }
        max_buckets -= k;
        for (size_t i = 0; i < k; i++) {
            struct ct_stripe *s = &ct->stripes[idx[i] & ct->stripe_mask];
            struct ct_node *node, *next;

            ct_lock(s);
            for (node = ct->buckets[idx[i]]; node; node = next) {
                struct ct_conn *conn;

                next = node->next;
                if (node->is_rev) {
                    continue;
                }
                conn = CONTAINER_OF(node, struct ct_conn, node);
                if (ct_flush_match(conn, f)) {
                    /* A NAT conn whose other stripe is busy is only
                     * expired here (invisible from now on); the sweep
                     * unlinks it. */
                    ct_conn_remove(ct, conn, s, NULL, now);
                    removed++;
                }
            }
            ct_unlock(s);
        }
    }
    return removed;
}

size_t
conntrack_flush(struct conntrack *ct, const struct ct_flush_filter *f,
                long long now_ms)
{
    struct ct_flush_cursor cur;
    size_t n = 0;

    conntrack_flush_start(&cur);
    while (!cur.done) {
        n += conntrack_flush_next(ct, &cur, f, 65536, now_ms);
    }
    return n;
}

/* ---- Events ---------------------------------------------------------- */

void
conntrack_set_event_cb(struct conntrack *ct, ct_event_cb *cb, void *aux)
{
    struct ct_event_rec *ring = NULL;

    if (cb && !ct->ev_ring) {
        ring = xcalloc(ct->ev_len, sizeof *ring);
    }
    pthread_spin_lock(&ct->ev_lock);
    if (ring) {
        ct->ev_ring = ring;
    }
    ct->ev_cb = cb;
    ct->ev_aux = aux;
    if (!cb) {
        ct->ev_head = ct->ev_count = 0;
    }
    pthread_spin_unlock(&ct->ev_lock);
    atomic_store(&ct->ev_enabled, cb != NULL);
}

size_t
conntrack_run_events(struct conntrack *ct, size_t max)
{
    size_t n = 0;

    while (n < max) {
        struct ct_event_rec rec;
        ct_event_cb *cb;
        void *aux;

        pthread_spin_lock(&ct->ev_lock);
        if (!ct->ev_count) {
            pthread_spin_unlock(&ct->ev_lock);
            break;
        }
        rec = ct->ev_ring[ct->ev_head];
        ct->ev_head = (ct->ev_head + 1) % ct->ev_len;
        ct->ev_count--;
        cb = ct->ev_cb;
        aux = ct->ev_aux;
        pthread_spin_unlock(&ct->ev_lock);
        if (cb) {
            cb(rec.type, &rec.entry, aux);
        }
        n++;
    }
    return n;
}
