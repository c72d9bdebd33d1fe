/* db: durable configuration store (see db.h and docs/store.md).
 *
 * The file is a 32-byte header then records.  A record is a 16-byte
 * header (body length, type, flags, body CRC32C, header CRC32C) and a
 * body.  Integers are little-endian.  An append is written, then
 * fdatasync()ed, and only then applied to the in-memory view, so a 0
 * return means the change is on stable storage.
 *
 * Why the header has its own checksum: a flipped bit in a length field
 * would otherwise look like a record that runs past the end of the file,
 * which is what a torn append looks like, and the rest of the file would
 * be cut away silently.  With the header checked, "runs past the end" is
 * only believed when the header itself is intact. */
#include "db.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc32c.h"
#include "errors.h"
#include "hash.h"
#include "log.h"
#include "util.h"

TS_LOG_DEFINE(db);

#define DB_MAGIC "TSWSTORE"
#define DB_FILE_HDR_LEN 32
#define DB_REC_HDR_LEN 16
#define DB_WRITE_CHUNK (1u << 20)

enum db_rec_type {
    DB_REC_BRIDGE_ADD = 1,
    DB_REC_BRIDGE_DEL = 2,
    DB_REC_PORT_ADD = 3,
    DB_REC_PORT_DEL = 4,
    DB_REC_FLOWS = 5,
    DB_REC_FLOWS_CLEAR = 6,
    DB_REC_KV_SET = 7,
    DB_REC_KV_DEL = 8,
};

struct db {
    char *path;
    char *tmp_path;
    char *lock_path;
    int fd;                     /* the store, O_APPEND */
    int lock_fd;
    struct hmap bridges;        /* struct db_bridge */
    struct smap kv;
    uint64_t file_size;
    uint64_t base_size;         /* size right after the last compaction */
    uint64_t n_records;
    uint64_t n_commits;
    uint64_t n_compactions;
    uint64_t n_truncated;
    uint64_t n_syncs;           /* fdatasync calls by db_sync() */
    size_t autocompact_min;
    db_snapshot_cb *snapshot_cb;
    void *snapshot_aux;
    db_live_count_cb *live_count_cb;
    void *live_count_aux;
    bool defer_sync;            /* commits skip fdatasync (db_sync does) */
    bool unsynced;              /* records written since the last sync */
    bool flow_counts_only;      /* db_drop_flow_blobs(): flows.n only */
};

/* ---- Byte buffers ----------------------------------------------------- */

struct db_buf {
    uint8_t *data;
    size_t size, allocated;
};

static void
buf_reserve(struct db_buf *b, size_t n)
{
    if (b->size + n > b->allocated) {
        size_t want = MAX(b->allocated * 2, b->size + n);
        b->data = xrealloc(b->data, MAX(want, 64));
        b->allocated = MAX(want, 64);
    }
}

static void
buf_put(struct db_buf *b, const void *p, size_t n)
{
    buf_reserve(b, n);
    if (n) {
        memcpy(b->data + b->size, p, n);
    }
    b->size += n;
}

static void
buf_put_u32(struct db_buf *b, uint32_t v)
{
    uint8_t tmp[4];
    put_le(tmp, v, 4);
    buf_put(b, tmp, 4);
}

static void
buf_put_str(struct db_buf *b, const char *s)
{
    size_t n = strlen(s);
    buf_put_u32(b, n);
    buf_put(b, s, n);
}

static void
buf_put_smap(struct db_buf *b, const struct smap *m)
{
    const struct smap_entry *e;

    buf_put_u32(b, m ? m->n : 0);
    if (m) {
        SMAP_FOR_EACH (e, m) {
            buf_put_str(b, e->key);
            buf_put_str(b, e->value);
        }
    }
}

/* A bounds-checked reader over one record body.  Every get fails (and
 * sets 'err') rather than read past the end. */
struct db_reader {
    const uint8_t *p;
    size_t left;
    const char *err;            /* first problem, static string */
};

static bool
rd_u32(struct db_reader *r, uint32_t *v)
{
    if (r->err || r->left < 4) {
        r->err = r->err ? r->err : "truncated body";
        return false;
    }
    *v = get_le(r->p, 4);
    r->p += 4;
    r->left -= 4;
    return true;
}

/* Returns a malloc'ed copy of the string, or NULL on error. */
static char *
rd_str(struct db_reader *r)
{
    uint32_t n;

    if (!rd_u32(r, &n)) {
        return NULL;
    }
    if (n > r->left) {
        r->err = "string runs past the end of the record";
        return NULL;
    }
    if (memchr(r->p, '\0', n)) {
        r->err = "string contains a NUL byte";
        return NULL;
    }
    char *s = xstrndup((const char *) r->p, n);
    r->p += n;
    r->left -= n;
    return s;
}

static bool
rd_smap(struct db_reader *r, struct smap *m)
{
    uint32_t n;

    if (!rd_u32(r, &n)) {
        return false;
    }
    for (uint32_t i = 0; i < n; i++) {
        char *k = rd_str(r);
        char *v = k ? rd_str(r) : NULL;
        if (!v) {
            free(k);
            return false;
        }
        smap_replace(m, k, v);
        free(k);
        free(v);
    }
    return true;
}

/* ---- Flow blob lists --------------------------------------------------- */

void
db_flows_init(struct db_flows *f)
{
    memset(f, 0, sizeof *f);
}

void
db_flows_release(struct db_flows *f)
{
    if (f) {
        free(f->data);
        db_flows_init(f);
    }
}

void
db_flows_clear(struct db_flows *f)
{
    f->size = 0;
    f->n = 0;
}

static void
flows_put_raw(struct db_flows *f, const void *p, size_t len, size_t n)
{
    if (f->size + len > f->allocated) {
        size_t want = MAX(f->allocated * 2, f->size + len);
        f->data = xrealloc(f->data, MAX(want, 256));
        f->allocated = MAX(want, 256);
    }
    if (len && p) {
        memcpy(f->data + f->size, p, len);
    }
    f->size += len;
    f->n += n;
}

void *
db_flows_append_uninit(struct db_flows *f, size_t len)
{
    uint8_t hdr[4];

    put_le(hdr, len, 4);
    flows_put_raw(f, hdr, 4, 0);
    flows_put_raw(f, NULL, len, 1);
    return f->data + f->size - len;
}

void
db_flows_append(struct db_flows *f, const void *blob, size_t len)
{
    uint8_t hdr[4];

    put_le(hdr, len, 4);
    flows_put_raw(f, hdr, 4, 0);
    flows_put_raw(f, blob, len, 1);
}

bool
db_flows_next(const struct db_flows *f, size_t *ofs, const uint8_t **blob,
              size_t *len)
{
    if (*ofs + 4 > f->size) {
        return false;
    }
    size_t n = get_le(f->data + *ofs, 4);
    *blob = f->data + *ofs + 4;
    *len = n;
    *ofs += 4 + n;
    return true;
}

/* Checks that [p, p + size) is 'n' well-formed blobs. */
static bool
flows_valid(const uint8_t *p, size_t size, uint32_t n)
{
    size_t ofs = 0;

    for (uint32_t i = 0; i < n; i++) {
        if (size - ofs < 4) {
            return false;
        }
        size_t len = get_le(p + ofs, 4);
        if (len > size - ofs - 4) {
            return false;
        }
        ofs += 4 + len;
    }
    return ofs == size;
}

/* ---- In-memory model ---------------------------------------------------- */

static struct db_bridge *
find_bridge(const struct db *db, const char *name)
{
    struct db_bridge *br;

    HMAP_FOR_EACH_WITH_HASH (br, node, hash_string(name, 0), &db->bridges) {
        if (!strcmp(br->name, name)) {
            return br;
        }
    }
    return NULL;
}

static struct db_port *
find_port(const struct db_bridge *br, const char *name)
{
    struct db_port *p;

    HMAP_FOR_EACH_WITH_HASH (p, node, hash_string(name, 0), &br->ports) {
        if (!strcmp(p->name, name)) {
            return p;
        }
    }
    return NULL;
}

/* Bridge and port names share one namespace across the switch. */
static bool
name_in_use(const struct db *db, const char *name)
{
    struct db_bridge *br;

    if (find_bridge(db, name)) {
        return true;
    }
    HMAP_FOR_EACH (br, node, &db->bridges) {
        if (find_port(br, name)) {
            return true;
        }
    }
    return false;
}

static bool
ofport_in_use(const struct db_bridge *br, uint32_t ofport)
{
    struct db_port *p;

    HMAP_FOR_EACH (p, node, &br->ports) {
        if (p->ofport == ofport) {
            return true;
        }
    }
    return false;
}

static void
port_free(struct db_port *p)
{
    free(p->name);
    free(p->type);
    smap_destroy(&p->options);
    free(p);
}

static void
bridge_free(struct db_bridge *br)
{
    struct db_port *p;

    HMAP_FOR_EACH_POP (p, node, &br->ports) {
        port_free(p);
    }
    hmap_destroy(&br->ports);
    smap_destroy(&br->options);
    db_flows_release(&br->flows);
    free(br->name);
    free(br);
}

/* Applies a decoded, checksummed record body to memory.  Returns NULL on
 * success or a static string naming the problem.  Used both when loading
 * and after a successful append, so the two can never disagree. */
static const char *
apply_record(struct db *db, int type, const uint8_t *body, size_t len)
{
    struct db_reader r = { body, len, NULL };
    const char *err = NULL;
    char *a = NULL, *b = NULL, *c = NULL;
    struct smap opts = SMAP_INITIALIZER;
    struct db_bridge *br;
    struct db_port *port;
    uint32_t u;

    switch (type) {
    case DB_REC_BRIDGE_ADD:
        if (!(a = rd_str(&r)) || !rd_smap(&r, &opts)) {
            break;
        }
        if (!*a) {
            err = "empty bridge name";
        } else if (name_in_use(db, a)) {
            err = "bridge name already in use";
        } else {
            br = xzalloc(sizeof *br);
            br->name = a;
            a = NULL;
            smap_clone(&br->options, &opts);
            hmap_init(&br->ports);
            db_flows_init(&br->flows);
            hmap_insert(&db->bridges, &br->node, hash_string(br->name, 0));
        }
        break;

    case DB_REC_BRIDGE_DEL:
        if (!(a = rd_str(&r))) {
            break;
        }
        if (!(br = find_bridge(db, a))) {
            err = "deletes an unknown bridge";
        } else {
            hmap_remove(&db->bridges, &br->node);
            bridge_free(br);
        }
        break;

    case DB_REC_PORT_ADD:
        if (!(a = rd_str(&r)) || !(b = rd_str(&r)) || !(c = rd_str(&r))
            || !rd_u32(&r, &u) || !rd_smap(&r, &opts)) {
            break;
        }
        if (!(br = find_bridge(db, a))) {
            err = "port on an unknown bridge";
        } else if (!*b) {
            err = "empty port name";
        } else if (name_in_use(db, b)) {
            err = "port name already in use";
        } else if (u == 0 || ofport_in_use(br, u)) {
            err = "bad or duplicate port number";
        } else {
            port = xzalloc(sizeof *port);
            port->name = b;
            port->type = c;
            b = c = NULL;
            port->ofport = u;
            smap_clone(&port->options, &opts);
            hmap_insert(&br->ports, &port->node, hash_string(port->name, 0));
        }
        break;

    case DB_REC_PORT_DEL:
        if (!(a = rd_str(&r)) || !(b = rd_str(&r))) {
            break;
        }
        if (!(br = find_bridge(db, a))) {
            err = "port deletion on an unknown bridge";
        } else if (!(port = find_port(br, b))) {
            err = "deletes an unknown port";
        } else {
            hmap_remove(&br->ports, &port->node);
            port_free(port);
        }
        break;

    case DB_REC_FLOWS:
        if (!(a = rd_str(&r)) || !rd_u32(&r, &u)) {
            break;
        }
        if (!(br = find_bridge(db, a))) {
            err = "flows for an unknown bridge";
        } else if (!flows_valid(r.p, r.left, u)) {
            err = "malformed flow list";
        } else if (db->flow_counts_only) {
            br->flows.n += u;
            r.left = 0;
        } else {
            flows_put_raw(&br->flows, r.p, r.left, u);
            r.left = 0;
        }
        break;

    case DB_REC_FLOWS_CLEAR:
        if (!(a = rd_str(&r))) {
            break;
        }
        if (!(br = find_bridge(db, a))) {
            err = "flow clear for an unknown bridge";
        } else {
            db_flows_clear(&br->flows);
        }
        break;

    case DB_REC_KV_SET:
        if (!(a = rd_str(&r)) || !(b = rd_str(&r))) {
            break;
        }
        smap_replace(&db->kv, a, b);
        break;

    case DB_REC_KV_DEL:
        if (!(a = rd_str(&r))) {
            break;
        }
        if (!smap_remove(&db->kv, a)) {
            err = "deletes an unknown key";
        }
        break;

    default:
        err = "unknown record type";
        break;
    }

    if (!err && r.err) {
        err = r.err;
    } else if (!err && r.left) {
        err = "trailing bytes in record";
    }
    free(a);
    free(b);
    free(c);
    smap_destroy(&opts);
    return err;
}

/* ---- File I/O ---------------------------------------------------------- */

static int
write_all(int fd, const void *p_, size_t n)
{
    const uint8_t *p = p_;

    while (n) {
        ssize_t r = write(fd, p, n);
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -errno;
        }
        p += r;
        n -= r;
    }
    return 0;
}

static int
fsync_dir_of(const char *path)
{
    char *copy = xstrdup(path);
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int err = 0;

    if (fd < 0) {
        err = -errno;
    } else {
        if (fsync(fd) < 0) {
            err = -errno;
        }
        close(fd);
    }
    free(copy);
    return err;
}

static void
make_file_header(uint8_t hdr[DB_FILE_HDR_LEN])
{
    memset(hdr, 0, DB_FILE_HDR_LEN);
    memcpy(hdr, DB_MAGIC, 8);
    put_le(hdr + 8, DB_FORMAT_VERSION, 4);
    put_le(hdr + 12, DB_FILE_HDR_LEN, 4);
    put_le(hdr + 16, time_wall_msec(), 8);
    put_le(hdr + 28, crc32c(hdr, 28), 4);
}

static void
make_rec_header(uint8_t hdr[DB_REC_HDR_LEN], int type, const void *body,
                size_t len)
{
    put_le(hdr, len, 4);
    put_le(hdr + 4, type, 2);
    put_le(hdr + 6, 0, 2);
    put_le(hdr + 8, crc32c(body, len), 4);
    put_le(hdr + 12, crc32c(hdr, 12), 4);
}

static char *
store_error(const struct db *db, uint64_t rec, uint64_t ofs,
            const char *what)
{
    return xasprintf("%s: record %llu at offset %llu: %s", db->path,
                     (unsigned long long) rec, (unsigned long long) ofs,
                     what);
}

static bool
all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i]) {
            return false;
        }
    }
    return true;
}

static int
read_file(int fd, uint8_t **datap, size_t *sizep)
{
    struct stat st;

    if (fstat(fd, &st) < 0) {
        return -errno;
    }
    size_t size = st.st_size;
    uint8_t *data = xmalloc(size ? size : 1);
    size_t got = 0;
    while (got < size) {
        ssize_t r = pread(fd, data + got, size - got, got);
        if (r < 0 && errno == EINTR) {
            continue;
        } else if (r <= 0) {
            int err = r < 0 ? -errno : -EIO;
            free(data);
            return err;
        }
        got += r;
    }
    *datap = data;
    *sizep = size;
    return 0;
}

/* Decides whether the record starting at 'ofs' is a torn append.  Called
 * only for the record that a problem was found in; returns true if the
 * problem is explained by a crash before the append completed. */
static bool
is_torn(const uint8_t *data, size_t size, size_t ofs, bool hdr_ok,
        size_t rec_len)
{
    size_t left = size - ofs;

    if (left < DB_REC_HDR_LEN) {
        return true;
    }
    if (!hdr_ok) {
        /* Space allocated but never written reads back as zeros. */
        return all_zero(data + ofs, left);
    }
    if (DB_REC_HDR_LEN + rec_len > left) {
        return true;
    }
    /* Body checksum bad on the very last record: torn only if its tail
     * was never written (zeros), else it is damage. */
    if (ofs + DB_REC_HDR_LEN + rec_len == size && rec_len) {
        size_t tail = MIN(rec_len, 512);
        return all_zero(data + size - tail, tail);
    }
    return false;
}

static int
load(struct db *db, char **errp)
{
    uint8_t *data = NULL;
    size_t size = 0;
    int err = read_file(db->fd, &data, &size);

    if (err) {
        *errp = xasprintf("%s: cannot read: %s", db->path, ts_strerror(err));
        return err;
    }
    if (size < DB_FILE_HDR_LEN) {
        *errp = xasprintf("%s: file too short for a store header (%zu "
                          "bytes)", db->path, size);
        err = -TS_ERR_STORE;
        goto out;
    }
    if (memcmp(data, DB_MAGIC, 8)) {
        *errp = xasprintf("%s: not a trackswitch store (bad magic)",
                          db->path);
        err = -TS_ERR_STORE;
        goto out;
    }
    if (get_le(data + 28, 4) != crc32c(data, 28)) {
        *errp = xasprintf("%s: header checksum mismatch", db->path);
        err = -TS_ERR_STORE;
        goto out;
    }
    uint32_t version = get_le(data + 8, 4);
    if (version != DB_FORMAT_VERSION
        || get_le(data + 12, 4) != DB_FILE_HDR_LEN) {
        *errp = xasprintf("%s: unsupported store version %u", db->path,
                          version);
        err = -TS_ERR_STORE;
        goto out;
    }

    size_t ofs = DB_FILE_HDR_LEN;
    uint64_t rec = 0;
    while (ofs < size) {
        const uint8_t *h = data + ofs;
        bool hdr_ok = size - ofs >= DB_REC_HDR_LEN
                      && get_le(h + 12, 4) == crc32c(h, 12);
        size_t len = hdr_ok ? get_le(h, 4) : 0;
        bool body_ok = hdr_ok && DB_REC_HDR_LEN + len <= size - ofs
                       && get_le(h + 8, 4)
                          == crc32c(h + DB_REC_HDR_LEN, len);
        rec++;
        if (hdr_ok && len > DB_MAX_RECORD) {
            *errp = store_error(db, rec, ofs, "record too large");
            err = -TS_ERR_STORE;
            goto out;
        }
        if (!body_ok) {
            if (is_torn(data, size, ofs, hdr_ok, len)) {
                TS_WARN("%s: record %llu at offset %zu: incomplete write "
                        "(%zu bytes), never acknowledged: truncating",
                        db->path, (unsigned long long) rec, ofs,
                        size - ofs);
                if (ftruncate(db->fd, ofs) < 0 || fsync(db->fd) < 0) {
                    err = -errno;
                    *errp = xasprintf("%s: cannot truncate torn record: %s",
                                      db->path, ts_strerror(err));
                    goto out;
                }
                db->n_truncated++;
                size = ofs;
                break;
            }
            *errp = store_error(db, rec, ofs, hdr_ok
                                ? "checksum mismatch"
                                : "header checksum mismatch");
            err = -TS_ERR_STORE;
            goto out;
        }
        const char *problem = apply_record(db, get_le(h + 4, 2),
                                           h + DB_REC_HDR_LEN, len);
        if (problem) {
            *errp = store_error(db, rec, ofs, problem);
            err = -TS_ERR_STORE;
            goto out;
        }
        db->n_records++;
        ofs += DB_REC_HDR_LEN + len;
    }
    db->file_size = size;
    db->base_size = size;
    err = 0;
out:
    free(data);
    return err;
}

/* Creates an empty store at 'path' via a temporary file, so that a crash
 * never leaves a file without a complete header. */
static int
create_empty(struct db *db, char **errp)
{
    uint8_t hdr[DB_FILE_HDR_LEN];
    int err = 0;
    int fd = open(db->tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                  0600);

    if (fd < 0) {
        err = -errno;
        goto error;
    }
    make_file_header(hdr);
    if ((err = write_all(fd, hdr, sizeof hdr))) {
        goto error_close;
    }
    if (fsync(fd) < 0) {
        err = -errno;
        goto error_close;
    }
    close(fd);
    if (rename(db->tmp_path, db->path) < 0) {
        err = -errno;
        goto error;
    }
    return fsync_dir_of(db->path);

error_close:
    close(fd);
    unlink(db->tmp_path);
error:
    *errp = xasprintf("%s: cannot create store: %s", db->path,
                      ts_strerror(err));
    return err;
}

static int
take_lock(struct db *db, char **errp)
{
    db->lock_fd = open(db->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (db->lock_fd < 0) {
        int err = -errno;
        *errp = xasprintf("%s: cannot open lock file: %s", db->lock_path,
                          ts_strerror(err));
        return err;
    }
    if (flock(db->lock_fd, LOCK_EX | LOCK_NB) < 0) {
        int err = -errno;
        *errp = xasprintf("%s: store is locked by another process%s%s",
                          db->path, err == -EWOULDBLOCK ? "" : ": ",
                          err == -EWOULDBLOCK ? "" : ts_strerror(err));
        return err == -EWOULDBLOCK ? -EBUSY : err;
    }
    return 0;
}

int
db_open(const char *path, struct db **dbp, char **errp)
{
    struct db *db = xzalloc(sizeof *db);
    char *copy = xstrdup(path);
    char *copy2 = xstrdup(path);
    struct stat st;
    int err;

    *dbp = NULL;
    *errp = NULL;
    db->path = xstrdup(path);
    db->tmp_path = xasprintf("%s.tmp", path);
    db->lock_path = xasprintf("%s/.%s.~lock~", dirname(copy),
                              basename(copy2));
    free(copy);
    free(copy2);
    db->fd = db->lock_fd = -1;
    hmap_init(&db->bridges);
    smap_init(&db->kv);
    db->autocompact_min = 8u << 20;

    if ((err = take_lock(db, errp))) {
        goto error;
    }
    unlink(db->tmp_path);
    if (stat(path, &st) < 0) {
        if (errno != ENOENT) {
            err = -errno;
            *errp = xasprintf("%s: %s", path, ts_strerror(err));
            goto error;
        }
        TS_INFO("%s: creating an empty store", path);
        if ((err = create_empty(db, errp))) {
            goto error;
        }
    } else if (st.st_size == 0) {
        TS_INFO("%s: empty file, initializing an empty store", path);
        if ((err = create_empty(db, errp))) {
            goto error;
        }
    }
    db->fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC);
    if (db->fd < 0) {
        err = -errno;
        *errp = xasprintf("%s: cannot open: %s", path, ts_strerror(err));
        goto error;
    }
    if ((err = load(db, errp))) {
        goto error;
    }
    TS_INFO("%s: loaded %llu records (%llu bytes), %zu bridges", path,
            (unsigned long long) db->n_records,
            (unsigned long long) db->file_size, hmap_count(&db->bridges));
    *dbp = db;
    return 0;

error:
    db_close(db);
    return err;
}

void
db_close(struct db *db)
{
    struct db_bridge *br;

    if (!db) {
        return;
    }
    if (db->fd >= 0) {
        close(db->fd);
    }
    if (db->lock_fd >= 0) {
        close(db->lock_fd);
    }
    HMAP_FOR_EACH_POP (br, node, &db->bridges) {
        bridge_free(br);
    }
    hmap_destroy(&db->bridges);
    smap_destroy(&db->kv);
    free(db->path);
    free(db->tmp_path);
    free(db->lock_path);
    free(db);
}

const char *
db_path(const struct db *db)
{
    return db->path;
}

void
db_set_snapshot_cb(struct db *db, db_snapshot_cb *cb, void *aux)
{
    db->snapshot_cb = cb;
    db->snapshot_aux = aux;
}

void
db_set_autocompact(struct db *db, size_t min_bytes)
{
    db->autocompact_min = min_bytes;
}

/* ---- Appending ---------------------------------------------------------- */

void
db_set_defer_sync(struct db *db, bool defer)
{
    db->defer_sync = defer;
}

bool
db_needs_sync(const struct db *db)
{
    return db->unsynced;
}

int
db_sync(struct db *db, char **errp)
{
    if (!db->unsynced) {
        return 0;
    }
    if (fdatasync(db->fd) < 0) {
        int err = -errno;
        if (errp) {
            *errp = xasprintf("%s: cannot sync: %s", db->path,
                              ts_strerror(err));
        }
        return err;
    }
    db->unsynced = false;
    db->n_syncs++;
    return 0;
}

void
db_drop_flow_blobs(struct db *db)
{
    struct db_bridge *br;

    db->flow_counts_only = true;
    HMAP_FOR_EACH (br, node, &db->bridges) {
        size_t n = br->flows.n;

        db_flows_release(&br->flows);
        br->flows.n = n;
    }
}

void
db_set_live_count_cb(struct db *db, db_live_count_cb *cb, void *aux)
{
    db->live_count_cb = cb;
    db->live_count_aux = aux;
}

/* A log of additions only is no bigger than its snapshot: compacting it
 * costs a full rewrite for nothing.  With a live-count callback, compact
 * only once the flow logs hold more than twice the entries that are
 * live. */
static bool
log_is_mostly_garbage(const struct db *db)
{
    const struct db_bridge *br;
    size_t logged = 0, live = 0;

    if (!db->live_count_cb) {
        return true;
    }
    HMAP_FOR_EACH (br, node, &db->bridges) {
        logged += br->flows.n;
        live += db->live_count_cb(db->live_count_aux, br->name);
    }
    return logged > 2 * live + 1024;
}

/* Appends one record, whose body is 'head' then 'tail' (either may be
 * empty), and makes it durable.  If the write fails part-way, the file is
 * cut back to its old size so that a later append does not follow
 * garbage.  The body travels in two parts so that a big flow list is
 * written from where it lies, not copied behind its header first. */
static int
write_record(struct db *db, int type, const void *head, size_t head_len,
             const void *tail, size_t tail_len, char **errp)
{
    uint8_t hdr[DB_REC_HDR_LEN];
    size_t len = head_len + tail_len;
    int err;

    if (len > DB_MAX_RECORD) {
        if (errp) {
            *errp = xasprintf("%s: change too large for one record (%zu "
                              "bytes)", db->path, len);
        }
        return -TS_ERR_TOO_BIG;
    }
    uint32_t crc = crc32c_extend(crc32c(head, head_len), tail, tail_len);
    put_le(hdr, len, 4);
    put_le(hdr + 4, type, 2);
    put_le(hdr + 6, 0, 2);
    put_le(hdr + 8, crc, 4);
    put_le(hdr + 12, crc32c(hdr, 12), 4);
    err = write_all(db->fd, hdr, sizeof hdr);
    if (!err) {
        err = write_all(db->fd, head, head_len);
    }
    if (!err) {
        err = write_all(db->fd, tail, tail_len);
    }
    if (!err && !db->defer_sync && fdatasync(db->fd) < 0) {
        err = -errno;
    }
    if (err) {
        if (ftruncate(db->fd, db->file_size) < 0) {
            TS_ERR("%s: cannot cut back a failed append: %s", db->path,
                   ts_strerror(-errno));
        }
        if (errp) {
            *errp = xasprintf("%s: cannot write: %s", db->path,
                              ts_strerror(err));
        }
        return err;
    }
    db->file_size += sizeof hdr + len;
    db->n_records++;
    db->n_commits++;
    db->unsynced = db->defer_sync;
    return 0;
}

/* After a record is applied to memory: compacts if the log is big and
 * mostly garbage. */
static void
after_commit(struct db *db)
{
    if (db->autocompact_min
        && db->file_size > MAX(db->autocompact_min, 4 * db->base_size)
        && log_is_mostly_garbage(db)) {
        char *cerr = NULL;
        if (db_compact(db, &cerr)) {
            TS_WARN("automatic compaction failed: %s", cerr);
            free(cerr);
        }
    }
}

/* Appends one record and makes it durable, then applies it to memory. */
static int
commit(struct db *db, int type, const struct db_buf *body, char **errp)
{
    int err = write_record(db, type, body->data, body->size, NULL, 0,
                           errp);
    if (err) {
        return err;
    }
    const char *problem = apply_record(db, type, body->data, body->size);
    ts_assert(!problem);   /* callers validate before committing */
    after_commit(db);
    return 0;
}

int
db_add_bridge(struct db *db, const char *name, const struct smap *opts,
              char **errp)
{
    struct db_buf b = { NULL, 0, 0 };

    if (!*name) {
        return -EINVAL;
    }
    if (name_in_use(db, name)) {
        return -TS_ERR_BRIDGE_EXISTS;
    }
    buf_put_str(&b, name);
    buf_put_smap(&b, opts);
    int err = commit(db, DB_REC_BRIDGE_ADD, &b, errp);
    free(b.data);
    return err;
}

int
db_del_bridge(struct db *db, const char *name, char **errp)
{
    struct db_buf b = { NULL, 0, 0 };

    if (!find_bridge(db, name)) {
        return -TS_ERR_NO_BRIDGE;
    }
    buf_put_str(&b, name);
    int err = commit(db, DB_REC_BRIDGE_DEL, &b, errp);
    free(b.data);
    return err;
}

int
db_add_port(struct db *db, const char *bridge, const char *name,
            const char *type, uint32_t ofport, const struct smap *options,
            char **errp)
{
    struct db_buf b = { NULL, 0, 0 };
    struct db_bridge *br = find_bridge(db, bridge);

    if (!br) {
        return -TS_ERR_NO_BRIDGE;
    }
    if (!*name || !ofport) {
        return -EINVAL;
    }
    if (name_in_use(db, name)) {
        return -TS_ERR_PORT_EXISTS;
    }
    if (ofport_in_use(br, ofport)) {
        return -TS_ERR_OFPORT_IN_USE;
    }
    buf_put_str(&b, bridge);
    buf_put_str(&b, name);
    buf_put_str(&b, type ? type : "");
    buf_put_u32(&b, ofport);
    buf_put_smap(&b, options);
    int err = commit(db, DB_REC_PORT_ADD, &b, errp);
    free(b.data);
    return err;
}

int
db_del_port(struct db *db, const char *bridge, const char *name,
            char **errp)
{
    struct db_buf b = { NULL, 0, 0 };
    struct db_bridge *br = find_bridge(db, bridge);

    if (!br) {
        return -TS_ERR_NO_BRIDGE;
    }
    if (!find_port(br, name)) {
        return -TS_ERR_NO_PORT;
    }
    buf_put_str(&b, bridge);
    buf_put_str(&b, name);
    int err = commit(db, DB_REC_PORT_DEL, &b, errp);
    free(b.data);
    return err;
}

static void
put_flows_body(struct db_buf *b, const char *bridge, const uint8_t *blobs,
               size_t size, size_t n)
{
    buf_put_str(b, bridge);
    buf_put_u32(b, n);
    buf_put(b, blobs, size);
}

/* One FLOWS record for 'f', written from 'f' itself (no copy behind the
 * record's head); with 'take', 'f's buffer becomes the bridge's log if
 * that is empty (else it is copied) and 'f' is left empty. */
static int
add_flows(struct db *db, const char *bridge, struct db_flows *f, bool take,
          char **errp)
{
    struct db_buf head = { NULL, 0, 0 };
    struct db_bridge *br = find_bridge(db, bridge);

    if (!br) {
        return -TS_ERR_NO_BRIDGE;
    }
    if (!f->n) {
        return 0;
    }
    if (f->n > UINT32_MAX || !flows_valid(f->data, f->size, f->n)) {
        if (errp) {
            *errp = xasprintf("%s: malformed flow list", db->path);
        }
        return -EINVAL;
    }
    buf_put_str(&head, bridge);
    buf_put_u32(&head, f->n);
    int err = write_record(db, DB_REC_FLOWS, head.data, head.size,
                           f->data, f->size, errp);
    free(head.data);
    if (err) {
        return err;
    }
    /* As apply_record() does for a FLOWS record. */
    if (db->flow_counts_only) {
        br->flows.n += f->n;
    } else if (take && !br->flows.size) {
        db_flows_release(&br->flows);
        br->flows = *f;
        db_flows_init(f);
    } else {
        flows_put_raw(&br->flows, f->data, f->size, f->n);
    }
    after_commit(db);
    return 0;
}

int
db_add_flows(struct db *db, const char *bridge, const struct db_flows *f,
             char **errp)
{
    /* Not modified: 'take' is false. */
    return add_flows(db, bridge, (struct db_flows *) f, false, errp);
}

int
db_add_flows_take(struct db *db, const char *bridge, struct db_flows *f,
                  char **errp)
{
    int err = add_flows(db, bridge, f, true, errp);
    db_flows_release(f);
    return err;
}

int
db_clear_flows(struct db *db, const char *bridge, char **errp)
{
    struct db_buf b = { NULL, 0, 0 };

    if (!find_bridge(db, bridge)) {
        return -TS_ERR_NO_BRIDGE;
    }
    buf_put_str(&b, bridge);
    int err = commit(db, DB_REC_FLOWS_CLEAR, &b, errp);
    free(b.data);
    return err;
}

int
db_set_kv(struct db *db, const char *key, const char *value, char **errp)
{
    struct db_buf b = { NULL, 0, 0 };

    if (!*key) {
        return -EINVAL;
    }
    buf_put_str(&b, key);
    buf_put_str(&b, value);
    int err = commit(db, DB_REC_KV_SET, &b, errp);
    free(b.data);
    return err;
}

int
db_del_kv(struct db *db, const char *key, char **errp)
{
    struct db_buf b = { NULL, 0, 0 };

    if (!smap_get(&db->kv, key)) {
        return -ENOENT;
    }
    buf_put_str(&b, key);
    int err = commit(db, DB_REC_KV_DEL, &b, errp);
    free(b.data);
    return err;
}

/* ---- Compaction --------------------------------------------------------- */

/* Accumulates records for a new file and writes them in large chunks. */
struct db_writer {
    int fd;
    struct db_buf buf;
    uint64_t size;
    uint64_t n_records;
    int err;
};

static void
writer_flush(struct db_writer *w)
{
    if (!w->err && w->buf.size) {
        w->err = write_all(w->fd, w->buf.data, w->buf.size);
    }
    w->size += w->buf.size;
    w->buf.size = 0;
}

static void
writer_record(struct db_writer *w, int type, const struct db_buf *body)
{
    uint8_t hdr[DB_REC_HDR_LEN];

    make_rec_header(hdr, type, body->data, body->size);
    buf_put(&w->buf, hdr, sizeof hdr);
    buf_put(&w->buf, body->data, body->size);
    w->n_records++;
    if (w->buf.size >= DB_WRITE_CHUNK) {
        writer_flush(w);
    }
}

/* Writes 'f' as FLOWS records of at most about DB_MAX_RECORD / 2 bytes
 * each.  Splitting is safe here: the whole file replaces the old one
 * atomically. */
static void
writer_flows(struct db_writer *w, const char *bridge,
             const struct db_flows *f)
{
    struct db_buf body = { NULL, 0, 0 };
    size_t ofs = 0, start = 0, n = 0;
    const uint8_t *blob;
    size_t len;

    while (true) {
        size_t prev = ofs;
        bool more = db_flows_next(f, &ofs, &blob, &len);
        if (n && (!more || ofs - start > DB_MAX_RECORD / 2)) {
            body.size = 0;
            put_flows_body(&body, bridge, f->data + start, prev - start, n);
            writer_record(w, DB_REC_FLOWS, &body);
            start = prev;
            n = 0;
        }
        if (!more) {
            break;
        }
        n++;
    }
    free(body.data);
}

/* (A function of its own: HMAP_FOR_EACH does not nest.) */
static void
writer_ports(struct db_writer *w, const struct db_bridge *br,
             struct db_buf *body)
{
    struct db_port *p;

    HMAP_FOR_EACH (p, node, &br->ports) {
        body->size = 0;
        buf_put_str(body, br->name);
        buf_put_str(body, p->name);
        buf_put_str(body, p->type);
        buf_put_u32(body, p->ofport);
        buf_put_smap(body, &p->options);
        writer_record(w, DB_REC_PORT_ADD, body);
    }
}

static void
writer_snapshot(struct db *db, struct db_writer *w,
                struct db_flows *snaps)
{
    struct db_buf body = { NULL, 0, 0 };
    const struct smap_entry *e;
    struct db_bridge *br;
    size_t i = 0;

    HMAP_FOR_EACH (br, node, &db->bridges) {
        body.size = 0;
        buf_put_str(&body, br->name);
        buf_put_smap(&body, &br->options);
        writer_record(w, DB_REC_BRIDGE_ADD, &body);
        writer_ports(w, br, &body);
        writer_flows(w, br->name, snaps ? &snaps[i] : &br->flows);
        i++;
    }
    SMAP_FOR_EACH (e, &db->kv) {
        body.size = 0;
        buf_put_str(&body, e->key);
        buf_put_str(&body, e->value);
        writer_record(w, DB_REC_KV_SET, &body);
    }
    free(body.data);
}

int
db_compact(struct db *db, char **errp)
{
    size_t n_br = hmap_count(&db->bridges);
    struct db_flows *snaps = NULL;
    struct db_writer w = { .fd = -1 };
    uint8_t hdr[DB_FILE_HDR_LEN];
    struct db_bridge *br;
    int err = 0, fd;
    size_t i = 0;

    if (db->flow_counts_only && !db->snapshot_cb) {
        /* The flows exist only in the file: a rewrite would lose them. */
        *errp = xasprintf("%s: cannot compact: flows are not kept in "
                          "memory and no snapshot callback is set",
                          db->path);
        return -EINVAL;
    }
    if (db->snapshot_cb) {
        snaps = xcalloc(n_br ? n_br : 1, sizeof *snaps);
        HMAP_FOR_EACH (br, node, &db->bridges) {
            err = db->snapshot_cb(db->snapshot_aux, br->name, &snaps[i++]);
            if (err) {
                *errp = xasprintf("%s: cannot snapshot flows of bridge "
                                  "'%s': %s", db->path, br->name,
                                  ts_strerror(err));
                goto out;
            }
        }
    }

    w.fd = open(db->tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                0600);
    if (w.fd < 0) {
        err = -errno;
        goto io_error;
    }
    make_file_header(hdr);
    buf_put(&w.buf, hdr, sizeof hdr);
    writer_snapshot(db, &w, snaps);
    writer_flush(&w);
    if ((err = w.err)) {
        goto io_error;
    }
    if (fsync(w.fd) < 0 || rename(db->tmp_path, db->path) < 0) {
        err = -errno;
        goto io_error;
    }
    if ((err = fsync_dir_of(db->path))) {
        /* The rename happened; only its durability is in doubt.  Keep
         * going with the new file, which has the same content. */
        TS_WARN("%s: cannot sync directory: %s", db->path,
                ts_strerror(err));
        err = 0;
    }
    fd = open(db->path, O_RDWR | O_APPEND | O_CLOEXEC);
    if (fd < 0) {
        /* Cannot happen short of the directory vanishing; without an fd
         * no further change could be made durable. */
        ts_fatal(errno, "%s: cannot reopen after compaction", db->path);
    }
    close(db->fd);
    db->fd = fd;
    db->unsynced = false;       /* the new file was synced whole */
    db->file_size = db->base_size = w.size;
    db->n_records = w.n_records;
    db->n_compactions++;
    if (snaps) {
        i = 0;
        HMAP_FOR_EACH (br, node, &db->bridges) {
            db_flows_release(&br->flows);
            if (db->flow_counts_only) {
                br->flows.n = snaps[i++].n;
            } else {
                br->flows = snaps[i];
                db_flows_init(&snaps[i++]);
            }
        }
    }
    TS_INFO("%s: compacted to %llu bytes, %llu records", db->path,
            (unsigned long long) w.size, (unsigned long long) w.n_records);
    goto out;

io_error:
    *errp = xasprintf("%s: compaction failed: %s", db->path,
                      ts_strerror(err));
    unlink(db->tmp_path);
out:
    if (w.fd >= 0) {
        close(w.fd);
    }
    free(w.buf.data);
    for (i = 0; snaps && i < n_br; i++) {
        db_flows_release(&snaps[i]);
    }
    free(snaps);
    return err;
}

/* ---- Read access -------------------------------------------------------- */

const struct hmap *
db_bridges(const struct db *db)
{
    return &db->bridges;
}

const struct db_bridge *
db_find_bridge(const struct db *db, const char *name)
{
    return find_bridge(db, name);
}

const struct db_port *
db_find_port(const struct db_bridge *br, const char *name)
{
    return find_port(br, name);
}

const char *
db_get_kv(const struct db *db, const char *key)
{
    return smap_get(&db->kv, key);
}

const struct smap *
db_kv(const struct db *db)
{
    return &db->kv;
}

void
db_get_stats(const struct db *db, struct db_stats *s)
{
    s->file_size = db->file_size;
    s->n_records = db->n_records;
    s->n_commits = db->n_commits;
    s->n_compactions = db->n_compactions;
    s->n_truncated = db->n_truncated;
    s->n_syncs = db->n_syncs;
}
