/* ct-snapshot.c: the connection table on disk (see conntrack.h,
 * "Snapshots", and docs/conntrack.md, "Restarts").
 *
 * File layout (all integers little-endian, addresses and ports as they
 * travel, in network order):
 *
 *   header   64 bytes: magic "TSWCTSNP", u16 major, u16 minor,
 *            u32 header_len, u32 flags, u32 reserved, u64 wall_ms,
 *            u64 mono_ms, u8 boot_id[16], 8 reserved bytes
 *   records  u16 type, u16 reserved, u32 body_len, body
 *   trailer  28 bytes: magic "TSWCTEND", u32 n_conns, u32 n_exps,
 *            u64 file_len, u32 crc32c of every byte before it
 *
 * Counts are in the trailer because the writer learns them at the end
 * and the checksum is computed as the file streams out.  A reader checks
 * magic and major version first (a newer major may change everything
 * after them), then length, trailer and checksum, then decodes every
 * record, and only then inserts.  Records and attributes are
 * type-length encoded: a reader skips types it does not know and the
 * tail of a known body longer than it understands (both only appear in
 * newer minor versions).
 *
 * Times.  Entries store their remaining lifetime, not the tracker's
 * clock, which means nothing to another process.  On load, the time since
 * the snapshot is subtracted: by the monotonic clock if the snapshot was
 * taken in this boot (same kernel boot id), else by the wall clock.
 *
 * Locking.  Save takes one stripe per bucket, like a dump, and encodes
 * that bucket's connections into a memory buffer; all file I/O happens
 * with no lock held.  The expectation list is copied under its lock. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conntrack-private.h"
#include "crc32c.h"
#include "errors.h"
#include "log.h"
#include "util.h"

TS_LOG_DEFINE(ct_snapshot);

#define SNAP_MAGIC "TSWCTSNP"
#define SNAP_END_MAGIC "TSWCTEND"
#define SNAP_MAJOR 1
#define SNAP_MINOR 0
#define SNAP_HDR_LEN 64
#define SNAP_TRAILER_LEN 28
#define SNAP_REC_HDR_LEN 8

/* Record types. */
enum {
    SNAP_REC_CONN = 1,
    SNAP_REC_EXP = 2,
};
/* Attribute types (inside CONN and EXP bodies, after the fixed part). */
enum {
    SNAP_ATTR_LABEL = 1,        /* u64 label[0], u64 label[1] */
    SNAP_ATTR_NAT = 2,          /* u16 nat_flags, u16 0, tuple rev */
    SNAP_ATTR_ALG = 3,          /* u8 alg, u8 skew_dir, u16 0, i32 skew,
                                 * u64 priv[2] */
    SNAP_ATTR_PARENT = 4,       /* tuple */
    SNAP_ATTR_TUPLE = 5,        /* tuple (EXP: the expected tuple) */
};
/* CONN fixed part (after u16 fixed_len, u16 0): see snap_put_conn(). */
#define SNAP_CONN_FIXED_MIN 84  /* + 2 addresses */
#define SNAP_EXP_FIXED_LEN 32
#define SNAP_L4_LEN 28
#define SNAP_TUPLE_FIXED 12     /* + 2 addresses */

/* Conn flags that a snapshot keeps. */
#define SNAP_CONN_FLAGS (CT_CONN_F_SEEN_REPLY | CT_CONN_F_NAT \
                         | CT_CONN_F_ALG_RELATED)
/* Lifetimes beyond this are clamped (keeps 32-bit times comparable). */
#define SNAP_MAX_REMAINING_MS (24u * 24 * 3600 * 1000)
/* The writer flushes its buffer to the file past this many bytes. */
#define SNAP_FLUSH_BYTES (1u << 20)

/* ---- Little-endian fields -------------------------------------------- */

/* The kernel's boot id (16 bytes), or zeros if unknown. */
static void
snap_boot_id(uint8_t id[16])
{
    char text[64];
    FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
    size_t k = 0;

    memset(id, 0, 16);
    if (!f) {
        return;
    }
    if (fgets(text, sizeof text, f)) {
        for (const char *p = text; *p && k < 32; p++) {
            int v = *p >= '0' && *p <= '9' ? *p - '0'
                    : *p >= 'a' && *p <= 'f' ? *p - 'a' + 10 : -1;
            if (v >= 0) {
                id[k / 2] |= k % 2 ? v : v << 4;
                k++;
            }
        }
    }
    fclose(f);
    if (k != 32) {
        memset(id, 0, 16);
    }
}

/* ---- Writing --------------------------------------------------------- */

struct snap_writer {
    int fd;
    uint8_t *buf;
    size_t len, cap;
    uint32_t crc;
    uint64_t total;             /* bytes written to the file */
    int err;                    /* first write error */
};

/* Makes room for 'n' more bytes. */
static void
snap_reserve(struct snap_writer *w, size_t n)
{
    if (w->len + n > w->cap) {
        w->cap = MAX(w->cap * 2, w->len + n);
        w->buf = xrealloc(w->buf, w->cap);
    }
}

/* Appends 'n' zero bytes and returns them. */
static uint8_t *
snap_put(struct snap_writer *w, size_t n)
{
    snap_reserve(w, n);
    uint8_t *p = w->buf + w->len;
    memset(p, 0, n);
    w->len += n;
    return p;
}

static void
snap_flush(struct snap_writer *w)
{
    size_t done = 0;

    w->crc = crc32c_extend(w->crc, w->buf, w->len);
    while (!w->err && done < w->len) {
        ssize_t r = write(w->fd, w->buf + done, w->len - done);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            w->err = r < 0 ? -errno : -EIO;
            break;
        }
        done += r;
    }
    w->total += w->len;
    w->len = 0;
}

static size_t
snap_alen(uint8_t family)
{
    return family == AF_INET ? 4 : 16;
}

static void
snap_put_addr(uint8_t *p, const union ct_addr *a, uint8_t family)
{
    memcpy(p, family == AF_INET ? (const void *) &a->ipv4
                                : (const void *) &a->ipv6,
           snap_alen(family));
}

static size_t
snap_tuple_len(const struct ct_tuple *t)
{
    return SNAP_TUPLE_FIXED + 2 * snap_alen(t->family);
}

static void
snap_put_tuple(uint8_t *p, const struct ct_tuple *t)
{
    size_t alen = snap_alen(t->family);

    p[0] = t->family == AF_INET ? 4 : 6;
    p[1] = t->nw_proto;
    put_le(p + 2, t->zone, 2);
    memcpy(p + 4, &t->src_port, 2);
    memcpy(p + 6, &t->dst_port, 2);
    p[8] = t->icmp_type;
    p[9] = t->icmp_code;
    snap_put_addr(p + SNAP_TUPLE_FIXED, &t->src, t->family);
    snap_put_addr(p + SNAP_TUPLE_FIXED + alen, &t->dst, t->family);
}

/* Appends an attribute header and returns its body ('len' bytes). */
static uint8_t *
snap_put_attr(struct snap_writer *w, uint16_t type, size_t len)
{
    uint8_t *p = snap_put(w, 4 + len);

    put_le(p, type, 2);
    put_le(p + 2, len, 2);
    return p + 4;
}

static void
snap_put_tuple_attr(struct snap_writer *w, uint16_t type,
                    const struct ct_tuple *t)
{
    snap_put_tuple(snap_put_attr(w, type, snap_tuple_len(t)), t);
}

/* Starts a record; returns its offset for snap_end_record(). */
static size_t
snap_begin_record(struct snap_writer *w, uint16_t type)
{
    size_t ofs = w->len;
    uint8_t *p = snap_put(w, SNAP_REC_HDR_LEN);

    put_le(p, type, 2);
    return ofs;
}

static void
snap_end_record(struct snap_writer *w, size_t ofs)
{
    put_le(w->buf + ofs + 4, w->len - ofs - SNAP_REC_HDR_LEN, 4);
}

static void
snap_put_l4(uint8_t *p, const struct ct_conn *conn)
{
    if (conn->l4_type == CT_L4_TCP) {
        const struct ct_tcp_peer_state *t = &conn->l4.tcp;

        for (int i = 0; i < 2; i++) {
            put_le(p + 4 * i, t->seqlo[i], 4);
            put_le(p + 8 + 4 * i, t->seqhi[i], 4);
            put_le(p + 16 + 4 * i, t->max_win[i], 4);
            p[24 + i] = t->wscale[i];
            p[26 + i] = t->state[i];
        }
    } else if (conn->l4_type == CT_L4_ICMP) {
        p[0] = conn->l4.icmp.type;
        p[1] = conn->l4.icmp.code;
    } else if (conn->l4_type == CT_L4_SCTP) {
        put_le(p, conn->l4.sctp.vtag[0], 4);
        put_le(p + 4, conn->l4.sctp.vtag[1], 4);
    }
}

/* Encodes one live connection.  Locked (its owner stripe). */
static void
snap_put_conn(struct snap_writer *w, const struct ct_conn *conn,
              uint32_t now)
{
    const struct ct_key *k = &conn->key;
    const struct ct_conn_ext *ext = conn->ext;
    size_t alen = snap_alen(k->family);
    size_t fixed = SNAP_CONN_FIXED_MIN + 2 * alen;
    size_t ofs = snap_begin_record(w, SNAP_REC_CONN);
    uint32_t left = conn->expiration - now;
    struct ct_tuple orig;
    uint8_t *p = snap_put(w, 4 + fixed);

    ct_conn_orig_tuple(conn, &orig);
    put_le(p, fixed, 2);
    p += 4;
    p[0] = k->family == AF_INET ? 4 : 6;
    p[1] = k->nw_proto;
    put_le(p + 2, k->zone, 2);
    p[4] = conn->l4_type;
    p[5] = conn->flags & SNAP_CONN_FLAGS;
    p[6] = conn->l4_state;
    p[7] = conn->tm;
    put_le(p + 8, conn->id, 4);
    put_le(p + 12, conn->mark, 4);
    put_le(p + 16, MIN(left, SNAP_MAX_REMAINING_MS), 4);
    memcpy(p + 20, &k->src_port, 2);
    memcpy(p + 22, &k->dst_port, 2);
    for (int i = 0; i < 2; i++) {
        put_le(p + 24 + 8 * i, conn->packets[i], 8);
        put_le(p + 40 + 8 * i, conn->bytes[i], 8);
    }
    snap_put_l4(p + 56, conn);
    snap_put_addr(p + SNAP_CONN_FIXED_MIN, &orig.src, k->family);
    snap_put_addr(p + SNAP_CONN_FIXED_MIN + alen, &orig.dst, k->family);

    if (ext) {
        if (ext->label[0] || ext->label[1]) {
            uint8_t *a = snap_put_attr(w, SNAP_ATTR_LABEL, 16);
            put_le(a, ext->label[0], 8);
            put_le(a + 8, ext->label[1], 8);
        }
        if (ext->rev.family) {
            uint8_t *a = snap_put_attr(w, SNAP_ATTR_NAT,
                                       4 + snap_tuple_len(&ext->rev));
            put_le(a, ext->nat_flags, 2);
            snap_put_tuple(a + 4, &ext->rev);
        }
        if (ext->alg || ext->alg_data.seq_skew || ext->alg_data.priv[0]
            || ext->alg_data.priv[1]) {
            uint8_t *a = snap_put_attr(w, SNAP_ATTR_ALG, 24);
            a[0] = ext->alg;
            a[1] = ext->alg_data.seq_skew_dir;
            put_le(a + 4, (uint32_t) ext->alg_data.seq_skew, 4);
            put_le(a + 8, ext->alg_data.priv[0], 8);
            put_le(a + 16, ext->alg_data.priv[1], 8);
        }
        if (ext->has_parent) {
            snap_put_tuple_attr(w, SNAP_ATTR_PARENT, &ext->parent);
        }
    }
    snap_end_record(w, ofs);
}

static void
snap_put_exp(struct snap_writer *w, const struct ct_expectation *e,
             uint32_t now)
{
    size_t ofs = snap_begin_record(w, SNAP_REC_EXP);
    uint32_t left = e->expiration - now;
    uint8_t *p = snap_put(w, 4 + SNAP_EXP_FIXED_LEN);

    put_le(p, SNAP_EXP_FIXED_LEN, 2);
    p += 4;
    put_le(p, e->parent_id, 4);
    put_le(p + 4, e->mark, 4);
    put_le(p + 8, MIN(left, SNAP_MAX_REMAINING_MS), 4);
    p[12] = e->alg;
    put_le(p + 16, e->label[0], 8);
    put_le(p + 24, e->label[1], 8);
    snap_put_tuple_attr(w, SNAP_ATTR_TUPLE, &e->tuple);
    snap_put_tuple_attr(w, SNAP_ATTR_PARENT, &e->parent);
    if (e->nat) {
        uint8_t *a = snap_put_attr(w, SNAP_ATTR_NAT,
                                   4 + snap_tuple_len(&e->rev));
        put_le(a, e->nat_flags, 2);
        snap_put_tuple(a + 4, &e->rev);
    }
    snap_end_record(w, ofs);
}

/* Walks the table, one bucket per stripe hold; flushes between buckets
 * once the buffer is big.  Returns the number of connections written. */
static uint32_t
snap_write_conns(struct conntrack *ct, struct snap_writer *w, uint32_t now,
                 long long *max_hold_ns)
{
    uint32_t n_buckets = ct->bucket_mask + 1;
    uint32_t pos = 0, n = 0;

    while (pos < n_buckets && !w->err) {
        uint32_t bk[CT_GATHER];
        size_t k = ct_bucket_gather(ct, &pos, bk, CT_GATHER, 1024);

        for (size_t i = 0; i < k; i++) {
            struct ct_stripe *s = &ct->stripes[bk[i] & ct->stripe_mask];
            long long t0;

            /* Room for a typical chain, so the lock is not held across
             * a reallocation. */
            snap_reserve(w, 4096);
            t0 = time_nsec();
            ct_lock(s);
            for (struct ct_node *node = ct->buckets[bk[i]]; node;
                 node = node->next) {
                struct ct_conn *conn;

                if (node->is_rev) {
                    continue;   /* written with its original node */
                }
                conn = CONTAINER_OF(node, struct ct_conn, node);
                if ((conn->flags & CT_CONN_F_DEAD)
                    || ct_conn_expired(conn, now)) {
                    continue;
                }
                snap_put_conn(w, conn, now);
                n++;
            }
            ct_unlock(s);
            *max_hold_ns = MAX(*max_hold_ns, time_nsec() - t0);
        }
        if (w->len >= SNAP_FLUSH_BYTES) {
            snap_flush(w);
        }
    }
    return n;
}

/* Copies the live expectations under their lock, then encodes them. */
static uint32_t
snap_write_exps(struct conntrack *ct, struct snap_writer *w, uint32_t now)
{
    struct ct_expectation *copy;
    size_t n = 0, cap = atomic_load(&ct->n_exp) + 16;

    copy = xmalloc(cap * sizeof *copy);
    pthread_spin_lock(&ct->exp_lock);
    for (const struct ct_expectation *e = ct->exp_list; e && n < cap;
         e = e->next) {
        if (!ct_time_before(e->expiration, now)) {
            copy[n++] = *e;
        }
    }
    pthread_spin_unlock(&ct->exp_lock);
    for (size_t i = 0; i < n; i++) {
        snap_put_exp(w, &copy[i], now);
    }
    free(copy);
    return n;
}

static int
snap_fsync_dir(const char *path)
{
    char *copy = xstrdup(path);
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int err = 0;

    if (fd < 0 || fsync(fd) < 0) {
        err = -errno;
    }
    if (fd >= 0) {
        close(fd);
    }
    free(copy);
    return err;
}

int
conntrack_snapshot_save(struct conntrack *ct, const char *path,
                        uint32_t flags, long long now_ms,
                        struct ct_snapshot_info *info, char **errp)
{
    struct snap_writer w = { .fd = -1 };
    long long t0 = time_usec(), max_hold = 0;
    uint32_t now = ct_time(ct, now_ms);
    char *tmp = xasprintf("%s.tmp", path);
    const char *what = "write";
    uint32_t n_conns, n_exps;
    long long wall = time_wall_msec();
    uint8_t *p;
    int err;

    w.fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (w.fd < 0) {
        err = -errno;
        what = "create";
        goto out;
    }
    p = snap_put(&w, SNAP_HDR_LEN);
    memcpy(p, SNAP_MAGIC, 8);
    put_le(p + 8, SNAP_MAJOR, 2);
    put_le(p + 10, SNAP_MINOR, 2);
    put_le(p + 12, SNAP_HDR_LEN, 4);
    put_le(p + 16, flags, 4);
    put_le(p + 24, (uint64_t) wall, 8);
    put_le(p + 32, (uint64_t) now_ms, 8);
    snap_boot_id(p + 40);

    n_conns = snap_write_conns(ct, &w, now, &max_hold);
    n_exps = snap_write_exps(ct, &w, now);

    p = snap_put(&w, SNAP_TRAILER_LEN);
    memcpy(p, SNAP_END_MAGIC, 8);
    put_le(p + 8, n_conns, 4);
    put_le(p + 12, n_exps, 4);
    put_le(p + 16, w.total + w.len, 8);
    /* The checksum covers everything before it, trailer included. */
    w.len -= 4;
    snap_flush(&w);
    p = snap_put(&w, 4);
    put_le(p, w.crc, 4);
    snap_flush(&w);
    err = w.err;
    if (err) {
        goto out;
    }
    if (fsync(w.fd) < 0) {
        err = -errno;
        what = "sync";
        goto out;
    }
    err = close(w.fd) < 0 ? -errno : 0;
    w.fd = -1;
    if (err) {
        goto out;
    }
    if (rename(tmp, path) < 0) {
        err = -errno;
        what = "rename";
        goto out;
    }
    /* The rename is durable only once the directory is. */
    err = snap_fsync_dir(path);
    what = "sync the directory of";
    if (!err && info) {
        memset(info, 0, sizeof *info);
        info->flags = flags;
        info->version_major = SNAP_MAJOR;
        info->version_minor = SNAP_MINOR;
        info->wall_ms = wall;
        info->n_conns = n_conns;
        info->n_exps = n_exps;
        info->bytes = w.total;
        info->duration_us = time_usec() - t0;
        info->max_hold_ns = max_hold;
    }
out:
    if (w.fd >= 0) {
        close(w.fd);
    }
    if (err) {
        unlink(tmp);
        if (errp) {
            *errp = xasprintf("cannot %s conntrack snapshot '%s': %s",
                              what, path, ts_strerror(err));
        }
    }
    free(w.buf);
    free(tmp);
    return err;
}

/* ---- Reading --------------------------------------------------------- */

/* One record, decoded (no resources). */
struct snap_conn {
    struct ct_tuple orig;
    uint8_t l4_type, flags, l4_state, tm;
    uint32_t id, mark, remaining;
    uint64_t packets[2], bytes[2];
    const uint8_t *l4;          /* SNAP_L4_LEN bytes, in the file */
    bool has_nat, has_parent;
    uint16_t nat_flags;
    uint64_t label[2];
    struct ct_tuple rev, parent;
    uint8_t alg;
    struct ct_alg_data alg_data;
};

struct snap_exp {
    struct ct_expectation exp;
    uint32_t remaining;
    bool has_tuple;
};

/* Decodes a tuple of at most 'len' bytes; returns false if invalid. */
static bool
snap_get_tuple(const uint8_t *p, size_t len, struct ct_tuple *t)
{
    size_t alen;

    memset(t, 0, sizeof *t);
    if (len < SNAP_TUPLE_FIXED || (p[0] != 4 && p[0] != 6)) {
        return false;
    }
    t->family = p[0] == 4 ? AF_INET : AF_INET6;
    alen = snap_alen(t->family);
    if (len < SNAP_TUPLE_FIXED + 2 * alen) {
        return false;
    }
    t->nw_proto = p[1];
    t->zone = get_le(p + 2, 2);
    memcpy(&t->src_port, p + 4, 2);
    memcpy(&t->dst_port, p + 6, 2);
    t->icmp_type = p[8];
    t->icmp_code = p[9];
    if (t->family == AF_INET) {
        memcpy(&t->src.ipv4, p + SNAP_TUPLE_FIXED, 4);
        memcpy(&t->dst.ipv4, p + SNAP_TUPLE_FIXED + 4, 4);
    } else {
        memcpy(&t->src.ipv6, p + SNAP_TUPLE_FIXED, 16);
        memcpy(&t->dst.ipv6, p + SNAP_TUPLE_FIXED + 16, 16);
    }
    return true;
}

/* Walks the attributes in [p, end).  Calls 'cb' for each; unknown types
 * are the callback's to skip.  Returns false on a malformed attribute or
 * if the callback refuses one. */
static bool
snap_for_each_attr(const uint8_t *p, const uint8_t *end,
                   bool (*cb)(uint16_t type, const uint8_t *a, size_t len,
                              void *aux),
                   void *aux)
{
    while (p < end) {
        if (end - p < 4) {
            return false;
        }
        uint16_t type = get_le(p, 2);
        size_t len = get_le(p + 2, 2);
        if ((size_t) (end - p - 4) < len || !cb(type, p + 4, len, aux)) {
            return false;
        }
        p += 4 + len;
    }
    return true;
}

static bool
snap_conn_attr(uint16_t type, const uint8_t *a, size_t len, void *c_)
{
    struct snap_conn *c = c_;

    switch (type) {
    case SNAP_ATTR_LABEL:
        if (len < 16) {
            return false;
        }
        c->label[0] = get_le(a, 8);
        c->label[1] = get_le(a + 8, 8);
        return true;
    case SNAP_ATTR_NAT:
        if (len < 4 || !snap_get_tuple(a + 4, len - 4, &c->rev)) {
            return false;
        }
        c->nat_flags = get_le(a, 2);
        c->has_nat = true;
        return c->rev.zone == c->orig.zone
               && c->rev.family == c->orig.family
               && c->rev.nw_proto == c->orig.nw_proto
               && !(c->nat_flags & ~(CT_NAT_SRC | CT_NAT_DST));
    case SNAP_ATTR_ALG:
        if (len < 24 || a[0] > CT_ALG_TFTP || a[1] > 1) {
            return false;
        }
        c->alg = a[0];
        c->alg_data.seq_skew_dir = a[1];
        c->alg_data.seq_skew = (int32_t) get_le(a + 4, 4);
        c->alg_data.priv[0] = get_le(a + 8, 8);
        c->alg_data.priv[1] = get_le(a + 16, 8);
        return true;
    case SNAP_ATTR_PARENT:
        c->has_parent = true;
        return snap_get_tuple(a, len, &c->parent);
    default:
        return true;            /* newer minor version: skipped */
    }
}

static bool
snap_l4_valid(const struct snap_conn *c)
{
    switch (c->l4_type) {
    case CT_L4_TCP:
        for (int i = 0; i < 2; i++) {
            uint8_t ws = c->l4[24 + i];

            if (c->l4[26 + i] >= CT_TCPS_N
                || (ws & ~(CT_WSCALE_FLAG | CT_WSCALE_UNKNOWN
                           | CT_WSCALE_MASK))
                || (ws & CT_WSCALE_MASK) > 14) {
                return false;
            }
        }
        return true;
    case CT_L4_SCTP:
        return c->l4_state < CT_SCTPS_N;
    case CT_L4_ICMP:
        return c->l4_state <= CT_ICMP_REPLY;
    default:
        return c->l4_state <= CT_OTHER_BIDIR;
    }
}

/* Decodes and validates a CONN body.  Returns NULL or what is wrong. */
static const char *
snap_get_conn(const uint8_t *body, size_t len, struct snap_conn *c)
{
    const uint8_t *p = body + 4;
    size_t fixed, alen;

    memset(c, 0, sizeof *c);
    if (len < 4 + SNAP_CONN_FIXED_MIN) {
        return "short connection record";
    }
    fixed = get_le(body, 2);
    if (fixed > len - 4 || fixed < SNAP_CONN_FIXED_MIN
        || (p[0] != 4 && p[0] != 6)) {
        return "bad connection record";
    }
    c->orig.family = p[0] == 4 ? AF_INET : AF_INET6;
    alen = snap_alen(c->orig.family);
    if (fixed < SNAP_CONN_FIXED_MIN + 2 * alen) {
        return "bad connection record";
    }
    c->orig.nw_proto = p[1];
    c->orig.zone = get_le(p + 2, 2);
    c->l4_type = p[4];
    c->flags = p[5];
    c->l4_state = p[6];
    c->tm = p[7];
    c->id = get_le(p + 8, 4);
    c->mark = get_le(p + 12, 4);
    c->remaining = get_le(p + 16, 4);
    memcpy(&c->orig.src_port, p + 20, 2);
    memcpy(&c->orig.dst_port, p + 22, 2);
    for (int i = 0; i < 2; i++) {
        c->packets[i] = get_le(p + 24 + 8 * i, 8);
        c->bytes[i] = get_le(p + 40 + 8 * i, 8);
    }
    c->l4 = p + 56;
    if (c->orig.family == AF_INET) {
        memcpy(&c->orig.src.ipv4, p + SNAP_CONN_FIXED_MIN, 4);
        memcpy(&c->orig.dst.ipv4, p + SNAP_CONN_FIXED_MIN + 4, 4);
    } else {
        memcpy(&c->orig.src.ipv6, p + SNAP_CONN_FIXED_MIN, 16);
        memcpy(&c->orig.dst.ipv6, p + SNAP_CONN_FIXED_MIN + 16, 16);
    }
    if (c->l4_type != ct_l4_type_from_proto(c->orig.nw_proto)
        || (c->flags & ~SNAP_CONN_FLAGS) || c->tm >= CT_TM_N
        || !snap_l4_valid(c)) {
        return "bad connection state";
    }
    if (!snap_for_each_attr(p + fixed, body + len, snap_conn_attr, c)) {
        return "bad connection attribute";
    }
    if ((c->flags & CT_CONN_F_NAT) && !c->has_nat) {
        return "NAT connection without its binding";
    }
    return NULL;
}

static bool
snap_exp_attr(uint16_t type, const uint8_t *a, size_t len, void *x_)
{
    struct snap_exp *x = x_;

    switch (type) {
    case SNAP_ATTR_TUPLE:
        x->has_tuple = true;
        return snap_get_tuple(a, len, &x->exp.tuple);
    case SNAP_ATTR_PARENT:
        return snap_get_tuple(a, len, &x->exp.parent);
    case SNAP_ATTR_NAT:
        if (len < 4 || !snap_get_tuple(a + 4, len - 4, &x->exp.rev)) {
            return false;
        }
        x->exp.nat = true;
        x->exp.nat_flags = get_le(a, 2);
        return true;
    default:
        return true;
    }
}

static const char *
snap_get_exp(const uint8_t *body, size_t len, struct snap_exp *x)
{
    const uint8_t *p = body + 4;
    size_t fixed;

    memset(x, 0, sizeof *x);
    if (len < 4 + SNAP_EXP_FIXED_LEN) {
        return "short expectation record";
    }
    fixed = get_le(body, 2);
    if (fixed < SNAP_EXP_FIXED_LEN || fixed > len - 4) {
        return "bad expectation record";
    }
    x->exp.parent_id = get_le(p, 4);
    x->exp.mark = get_le(p + 4, 4);
    x->remaining = get_le(p + 8, 4);
    x->exp.alg = p[12];
    x->exp.label[0] = get_le(p + 16, 8);
    x->exp.label[1] = get_le(p + 24, 8);
    if (x->exp.alg > CT_ALG_TFTP
        || !snap_for_each_attr(p + fixed, body + len, snap_exp_attr, x)
        || !x->has_tuple) {
        return "bad expectation record";
    }
    return NULL;
}

/* The checked-out header and trailer. */
struct snap_file {
    const uint8_t *data;
    size_t len;
    uint32_t flags;
    uint16_t major, minor;
    long long wall_ms, mono_ms;
    uint8_t boot_id[16];
    uint32_t n_conns, n_exps;
    const uint8_t *rec, *rec_end;   /* the records */
};

/* Everything but the records' contents.  Returns 0 or an error with
 * '*why' (static text). */
static int
snap_check_frame(const uint8_t *d, size_t len, struct snap_file *f,
                 const char **why)
{
    size_t hlen;

    memset(f, 0, sizeof *f);
    f->data = d;
    f->len = len;
    if (len < 12) {
        *why = "truncated";
        return -TS_ERR_STORE;
    }
    if (memcmp(d, SNAP_MAGIC, 8)) {
        *why = "not a conntrack snapshot (bad magic)";
        return -TS_ERR_STORE;
    }
    f->major = get_le(d + 8, 2);
    f->minor = get_le(d + 10, 2);
    if (f->major != SNAP_MAJOR) {
        *why = "unsupported format version";
        return -TS_ERR_VERSION;
    }
    if (len < SNAP_HDR_LEN + SNAP_TRAILER_LEN) {
        *why = "truncated";
        return -TS_ERR_STORE;
    }
    hlen = get_le(d + 12, 4);
    if (hlen < SNAP_HDR_LEN || hlen > len - SNAP_TRAILER_LEN) {
        *why = "bad header length";
        return -TS_ERR_STORE;
    }
    const uint8_t *t = d + len - SNAP_TRAILER_LEN;
    if (memcmp(t, SNAP_END_MAGIC, 8) || get_le(t + 16, 8) != len) {
        *why = "truncated or torn (no trailer at the end)";
        return -TS_ERR_STORE;
    }
    if (get_le(t + 24, 4) != crc32c(d, len - 4)) {
        *why = "checksum mismatch";
        return -TS_ERR_STORE;
    }
    f->flags = get_le(d + 16, 4);
    f->wall_ms = get_le(d + 24, 8);
    f->mono_ms = get_le(d + 32, 8);
    memcpy(f->boot_id, d + 40, 16);
    f->n_conns = get_le(t + 8, 4);
    f->n_exps = get_le(t + 12, 4);
    f->rec = d + hlen;
    f->rec_end = t;
    return 0;
}

/* Calls 'cb' for each record (type, body, len).  Returns false, with
 * '*why', on a malformed frame or a refused record. */
static bool
snap_for_each_record(const struct snap_file *f,
                     const char *(*cb)(uint16_t type, const uint8_t *body,
                                       size_t len, void *aux),
                     void *aux, const char **why)
{
    for (const uint8_t *p = f->rec; p < f->rec_end; ) {
        if (f->rec_end - p < SNAP_REC_HDR_LEN) {
            *why = "bad record header";
            return false;
        }
        uint16_t type = get_le(p, 2);
        size_t len = get_le(p + 4, 4);
        p += SNAP_REC_HDR_LEN;
        if ((size_t) (f->rec_end - p) < len) {
            *why = "record runs past the end";
            return false;
        }
        *why = cb(type, p, len, aux);
        if (*why) {
            return false;
        }
        p += len;
    }
    return true;
}

struct snap_verify {
    uint32_t n_conns, n_exps;
};

static const char *
snap_verify_record(uint16_t type, const uint8_t *body, size_t len,
                   void *v_)
{
    struct snap_verify *v = v_;
    const char *why = NULL;

    if (type == SNAP_REC_CONN) {
        struct snap_conn c;
        why = snap_get_conn(body, len, &c);
        v->n_conns++;
    } else if (type == SNAP_REC_EXP) {
        struct snap_exp x;
        why = snap_get_exp(body, len, &x);
        v->n_exps++;
    }
    return why;
}

/* Inserting. */
struct snap_load {
    struct conntrack *ct;
    uint32_t now;
    long long now_ms;
    long long elapsed_ms;
    bool final;
    struct ct_snapshot_info *info;
    uint32_t *ids;              /* restored connection ids, for parents */
    size_t n_ids;
    bool ids_sorted;
};

/* A TCP connection from a snapshot older than its traffic: its windows
 * moved on since.  Its two sides are put back in the state a pick-up
 * leaves (no state, placeholder seqhi), so the next segment in each
 * direction re-learns its side's window (see ct-tcp.c,
 * ct_tcp_first_from_src()); the connection stays +est throughout
 * because it has seen a reply. */
static void
snap_tcp_relearn(struct ct_tcp_peer_state *t)
{
    for (int i = 0; i < 2; i++) {
        t->state[i] = CT_TCPS_CLOSED;
        t->seqhi[i] = 1;
    }
}

static void
snap_set_l4(struct ct_conn *conn, const struct snap_conn *c, bool final)
{
    const uint8_t *p = c->l4;

    if (conn->l4_type == CT_L4_TCP) {
        struct ct_tcp_peer_state *t = &conn->l4.tcp;

        for (int i = 0; i < 2; i++) {
            t->seqlo[i] = get_le(p + 4 * i, 4);
            t->seqhi[i] = get_le(p + 8 + 4 * i, 4);
            t->max_win[i] = get_le(p + 16 + 4 * i, 4);
            t->wscale[i] = p[24 + i];
            t->state[i] = p[26 + i];
        }
        if (!final && t->state[0] == CT_TCPS_ESTABLISHED
            && t->state[1] == CT_TCPS_ESTABLISHED) {
            snap_tcp_relearn(t);
        }
    } else if (conn->l4_type == CT_L4_ICMP) {
        conn->l4.icmp.type = p[0];
        conn->l4.icmp.code = p[1];
    } else if (conn->l4_type == CT_L4_SCTP) {
        conn->l4.sctp.vtag[0] = get_le(p, 4);
        conn->l4.sctp.vtag[1] = get_le(p + 4, 4);
    }
}

static bool
snap_needs_ext(const struct snap_conn *c)
{
    return c->label[0] || c->label[1] || c->has_nat || c->has_parent
           || c->alg || c->alg_data.seq_skew || c->alg_data.priv[0]
           || c->alg_data.priv[1];
}

static void
snap_free_conn(struct conntrack *ct, struct ct_conn *conn)
{
    if (conn->ext) {
        ct_slab_free(&ct->slab_ext, conn->ext);
    }
    ct_slab_free(conn->key.family == AF_INET ? &ct->slab4 : &ct->slab6,
                 conn);
}

/* Rebuilds and files one connection.  Returns 0, or a negative errno
 * (counted by the caller as dropped). */
static int
snap_insert_conn(struct snap_load *l, const struct snap_conn *c)
{
    struct conntrack *ct = l->ct;
    struct ct_conn *conn;
    int err;

    conn = ct_slab_alloc(c->orig.family == AF_INET ? &ct->slab4
                                                   : &ct->slab6);
    if (!conn) {
        return -ENOMEM;
    }
    memset(conn, 0, ct_conn_size(c->orig.family));
    __atomic_store_n(&conn->flags, CT_CONN_F_DEAD | c->flags,
                     __ATOMIC_RELAXED);
    conn->node.hash = ct_tuple_hash(&c->orig, ct->hash_basis);
    conn->expiration = l->now + (uint32_t) (c->remaining - l->elapsed_ms);
    conn->id = c->id;
    conn->mark = c->mark;
    conn->l4_type = c->l4_type;
    conn->l4_state = c->l4_state;
    conn->tm = c->tm;
    memcpy(conn->packets, c->packets, sizeof conn->packets);
    memcpy(conn->bytes, c->bytes, sizeof conn->bytes);
    ct_key_from_tuple(&conn->key, &c->orig);
    snap_set_l4(conn, c, l->final);
    if (snap_needs_ext(c)) {
        struct ct_conn_ext *ext = ct_slab_alloc(&ct->slab_ext);

        if (!ext) {
            snap_free_conn(ct, conn);
            return -ENOMEM;
        }
        memset(ext, 0, sizeof *ext);
        ext->conn = conn;
        ext->rev_node.is_rev = 1;
        ext->label[0] = c->label[0];
        ext->label[1] = c->label[1];
        if (c->has_nat) {
            ext->rev = c->rev;
            ext->nat_flags = c->nat_flags;
            ext->rev_node.hash = ct_tuple_hash(&c->rev, ct->hash_basis);
        }
        ext->alg = c->alg;
        ext->alg_data = c->alg_data;
        if (c->has_parent) {
            ext->has_parent = 1;
            ext->parent = c->parent;
        }
        conn->ext = ext;
    }
    err = ct_conn_insert_restored(ct, conn, l->now);
    if (err) {
        snap_free_conn(ct, conn);
    }
    return err;
}

static int
snap_cmp_u32(const void *a_, const void *b_)
{
    uint32_t a = *(const uint32_t *) a_, b = *(const uint32_t *) b_;

    return a < b ? -1 : a > b;
}

static const char *
snap_load_record(uint16_t type, const uint8_t *body, size_t len, void *l_)
{
    struct snap_load *l = l_;

    if (type == SNAP_REC_CONN) {
        struct snap_conn c;

        snap_get_conn(body, len, &c);   /* verified before */
        if (c.remaining <= l->elapsed_ms) {
            l->info->n_expired++;
        } else if (snap_insert_conn(l, &c)) {
            l->info->n_dropped++;
        } else {
            l->info->n_restored++;
            l->ids[l->n_ids++] = c.id;
        }
    } else if (type == SNAP_REC_EXP) {
        struct snap_exp x;

        snap_get_exp(body, len, &x);
        if (x.remaining <= l->elapsed_ms) {
            l->info->n_expired++;
        } else if (!bsearch(&x.exp.parent_id, l->ids, l->n_ids,
                            sizeof *l->ids, snap_cmp_u32)
                   || ct_expect_add(l->ct, &x.exp,
                                    x.remaining - l->elapsed_ms,
                                    l->now_ms)) {
            l->info->n_dropped++;   /* orphan, duplicate or too many */
        } else {
            l->info->n_exps_restored++;
        }
    }
    return NULL;
}

/* Records are written connections first, so every parent is known (and
 * 'ids' sorted) before the first expectation. */
static const char *
snap_sort_ids_then_load(uint16_t type, const uint8_t *body, size_t len,
                        void *l_)
{
    struct snap_load *l = l_;

    if (type == SNAP_REC_EXP && !l->ids_sorted) {
        qsort(l->ids, l->n_ids, sizeof *l->ids, snap_cmp_u32);
        l->ids_sorted = true;
    }
    return snap_load_record(type, body, len, l);
}

static long long
snap_elapsed(const struct snap_file *f, long long now_ms)
{
    static const uint8_t zero[16];
    uint8_t boot[16];
    long long e;

    snap_boot_id(boot);
    if (memcmp(boot, zero, 16) && !memcmp(boot, f->boot_id, 16)) {
        e = now_ms - f->mono_ms;
    } else {
        e = time_wall_msec() - f->wall_ms;
    }
    return MAX(e, 0);
}

int
conntrack_snapshot_load_buf(struct conntrack *ct, const void *data,
                            size_t len, long long now_ms,
                            struct ct_snapshot_info *info_, char **errp)
{
    struct ct_snapshot_info dummy, *info = info_ ? info_ : &dummy;
    struct snap_verify v = { 0, 0 };
    long long t0 = time_usec();
    const char *why = NULL;
    struct snap_file f;
    int err;

    memset(info, 0, sizeof *info);
    err = snap_check_frame(data, len, &f, &why);
    if (!err && !snap_for_each_record(&f, snap_verify_record, &v, &why)) {
        err = -TS_ERR_STORE;
    }
    if (!err && (v.n_conns != f.n_conns || v.n_exps != f.n_exps)) {
        why = "record counts do not match the trailer";
        err = -TS_ERR_STORE;
    }
    if (err) {
        if (errp) {
            *errp = err == -TS_ERR_VERSION
                    ? xasprintf("unsupported format version %u.%u (this "
                                "binary reads %d.x)", f.major, f.minor,
                                SNAP_MAJOR)
                    : xasprintf("corrupt snapshot: %s", why);
        }
        return err;
    }
    if (conntrack_get_nconns(ct) || atomic_load(&ct->n_exp)) {
        if (errp) {
            *errp = xstrdup("the connection table is not empty");
        }
        return -EBUSY;
    }

    struct snap_load l = {
        .ct = ct,
        .now = ct_time(ct, now_ms),
        .now_ms = now_ms,
        .elapsed_ms = snap_elapsed(&f, now_ms),
        .final = f.flags & CT_SNAPSHOT_F_FINAL,
        .info = info,
        .ids = xmalloc((f.n_conns + 1) * sizeof *l.ids),
    };
    snap_for_each_record(&f, snap_sort_ids_then_load, &l, &why);
    free(l.ids);

    info->flags = f.flags;
    info->version_major = f.major;
    info->version_minor = f.minor;
    info->wall_ms = f.wall_ms;
    info->n_conns = f.n_conns;
    info->n_exps = f.n_exps;
    info->bytes = len;
    info->age_ms = l.elapsed_ms;
    info->duration_us = time_usec() - t0;
    return 0;
}

int
conntrack_snapshot_load(struct conntrack *ct, const char *path,
                        long long now_ms, struct ct_snapshot_info *info,
                        char **errp)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    char *why = NULL;
    struct stat st;
    void *map;
    int err;

    if (fd < 0) {
        err = -errno;
        if (errp) {
            *errp = xasprintf("cannot open '%s': %s", path,
                              ts_strerror(err));
        }
        return err;
    }
    if (fstat(fd, &st) < 0) {
        err = -errno;
        close(fd);
        if (errp) {
            *errp = xasprintf("cannot stat '%s': %s", path,
                              ts_strerror(err));
        }
        return err;
    }
    if (!st.st_size) {
        close(fd);
        if (errp) {
            *errp = xasprintf("'%s': corrupt snapshot: empty file", path);
        }
        return -TS_ERR_STORE;
    }
    map = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) {
        err = -errno;
        if (errp) {
            *errp = xasprintf("cannot map '%s': %s", path, ts_strerror(err));
        }
        return err;
    }
    err = conntrack_snapshot_load_buf(ct, map, st.st_size, now_ms, info,
                                      &why);
    munmap(map, st.st_size);
    if (err && errp) {
        *errp = xasprintf("'%s': %s", path, why);
    }
    free(why);
    return err;
}
