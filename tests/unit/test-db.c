/* Unit tests for vswitchd/db: durability, torn tails, corruption,
 * compaction. */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db.h"
#include "dynamic-string.h"
#include "errors.h"
#include "hmap.h"
#include "smap.h"
#include "util.h"

static char tmpdir[64];
static char dbpath[128];

static void
setup(void)
{
    strcpy(tmpdir, "/tmp/test-db-XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
    snprintf(dbpath, sizeof dbpath, "%s/conf.db", tmpdir);
}

static void
teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(db, .init = setup, .fini = teardown);

static struct db *
open_ok(const char *path)
{
    struct db *db;
    char *err = NULL;
    int r = db_open(path, &db, &err);
    cr_assert_eq(r, 0, "db_open: %s", err ? err : "?");
    return db;
}

/* A canonical text form of everything in the store, for comparisons. */
static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

static char *
dump(const struct db *db)
{
    const struct db_bridge *br;
    const struct db_port *p;
    const struct smap_entry *e;
    char **lines = NULL;
    size_t n = 0;

    HMAP_FOR_EACH (br, node, db_bridges(db)) {
        struct ds s = DS_EMPTY_INITIALIZER;
        ds_put_format(&s, "bridge %s", br->name);
        SMAP_FOR_EACH (e, &br->options) {
            ds_put_format(&s, " %s=%s", e->key, e->value);
        }
        ds_put_cstr(&s, " flows:");
        size_t ofs = 0, len;
        const uint8_t *blob;
        while (db_flows_next(&br->flows, &ofs, &blob, &len)) {
            ds_put_char(&s, ' ');
            ds_put_buffer(&s, (const char *) blob, len);
        }
        lines = xrealloc(lines, (n + 1) * sizeof *lines);
        lines[n++] = ds_steal_cstr(&s);
        for (struct hmap_node *hn = hmap_first(&br->ports); hn;
             hn = hmap_next(&br->ports, hn)) {
            p = CONTAINER_OF(hn, struct db_port, node);
            struct ds t = DS_EMPTY_INITIALIZER;
            ds_put_format(&t, "port %s %s %s %u", br->name, p->name,
                          p->type, p->ofport);
            SMAP_FOR_EACH (e, &p->options) {
                ds_put_format(&t, " %s=%s", e->key, e->value);
            }
            lines = xrealloc(lines, (n + 1) * sizeof *lines);
            lines[n++] = ds_steal_cstr(&t);
        }
    }
    SMAP_FOR_EACH (e, db_kv(db)) {
        lines = xrealloc(lines, (n + 1) * sizeof *lines);
        lines[n++] = xasprintf("kv %s=%s", e->key, e->value);
    }
    qsort(lines, n, sizeof *lines, cmp_str);
    struct ds out = DS_EMPTY_INITIALIZER;
    for (size_t i = 0; i < n; i++) {
        ds_put_format(&out, "%s\n", lines[i]);
        free(lines[i]);
    }
    free(lines);
    return ds_steal_cstr(&out);
}

static void
add_flow_text(struct db *db, const char *br, const char *text)
{
    struct db_flows f;
    db_flows_init(&f);
    db_flows_append(&f, text, strlen(text));
    cr_assert_eq(db_add_flows(db, br, &f, NULL), 0);
    db_flows_release(&f);
}

/* Builds a store with a bit of everything.  Returns the file sizes after
 * each commit in 'sizes' (up to 'max'), and their count. */
static size_t
populate(struct db *db, uint64_t *sizes, size_t max)
{
    struct smap o = SMAP_INITIALIZER;
    struct db_stats st;
    size_t n = 0;

#define STEP(CALL)                                   \
    do {                                             \
        cr_assert_eq((CALL), 0, "%s", #CALL);        \
        db_get_stats(db, &st);                       \
        if (n < max) {                               \
            sizes[n] = st.file_size;                 \
        }                                            \
        n++;                                         \
    } while (0)

    smap_replace(&o, "datapath_type", "netdev");
    STEP(db_add_bridge(db, "br0", &o, NULL));
    STEP(db_add_bridge(db, "br1", NULL, NULL));
    smap_destroy(&o);
    smap_init(&o);
    smap_replace(&o, "peer", "x");
    smap_replace(&o, "n_rxq", "2");
    STEP(db_add_port(db, "br0", "p1", "dummy", 1, &o, NULL));
    STEP(db_add_port(db, "br0", "p2", "tap", 7, NULL, NULL));
    STEP(db_add_port(db, "br1", "q1", "dummy", 1, NULL, NULL));
    STEP(db_add_port(db, "br1", "q2", "dummy", 2, NULL, NULL));
    STEP(db_del_port(db, "br1", "q2", NULL));
    struct db_flows f;
    db_flows_init(&f);
    db_flows_append(&f, "in_port=1,actions=2", 19);
    db_flows_append(&f, "", 0);
    db_flows_append(&f, "priority=5,actions=drop", 23);
    STEP(db_add_flows(db, "br0", &f, NULL));
    db_flows_release(&f);
    STEP(db_set_kv(db, "ct.limit.zone1", "100", NULL));
    STEP(db_add_bridge(db, "br2", NULL, NULL));
    STEP(db_del_bridge(db, "br2", NULL));
    STEP(db_set_kv(db, "other", "x", NULL));
    STEP(db_del_kv(db, "other", NULL));
    db_flows_init(&f);
    db_flows_append(&f, "table=1,actions=NORMAL", 22);
    STEP(db_add_flows(db, "br1", &f, NULL));
    db_flows_release(&f);
    smap_destroy(&o);
#undef STEP
    return n;
}

Test(db, roundtrip)
{
    struct db *db = open_ok(dbpath);
    uint64_t sizes[32];
    populate(db, sizes, 32);
    char *before = dump(db);
    db_close(db);

    db = open_ok(dbpath);
    char *after = dump(db);
    cr_assert_str_eq(after, before);
    cr_assert(strstr(after, "port br0 p1 dummy 1 peer=x n_rxq=2\n"));
    cr_assert(strstr(after, "port br0 p2 tap 7\n"));
    cr_assert(!strstr(after, "q2"));
    cr_assert(!strstr(after, "br2"));
    cr_assert(strstr(after, "bridge br0 datapath_type=netdev flows: "
                     "in_port=1,actions=2  priority=5,actions=drop\n"));
    cr_assert(strstr(after, "kv ct.limit.zone1=100\n"));
    cr_assert(!strstr(after, "other"));
    struct db_stats st;
    db_get_stats(db, &st);
    cr_assert_eq(st.n_truncated, 0);
    cr_assert_eq(st.n_records, 14);
    db_close(db);
    free(before);
    free(after);
}

Test(db, rejects_bad_changes)
{
    struct db *db = open_ok(dbpath);
    cr_assert_eq(db_add_bridge(db, "br0", NULL, NULL), 0);
    cr_assert_eq(db_add_bridge(db, "br0", NULL, NULL),
                 -TS_ERR_BRIDGE_EXISTS);
    cr_assert_eq(db_add_bridge(db, "", NULL, NULL), -EINVAL);
    cr_assert_eq(db_add_port(db, "brX", "p", "dummy", 1, NULL, NULL),
                 -TS_ERR_NO_BRIDGE);
    cr_assert_eq(db_add_port(db, "br0", "p", "dummy", 1, NULL, NULL), 0);
    cr_assert_eq(db_add_port(db, "br0", "p", "dummy", 2, NULL, NULL),
                 -TS_ERR_PORT_EXISTS);
    cr_assert_eq(db_add_port(db, "br0", "q", "dummy", 1, NULL, NULL),
                 -TS_ERR_OFPORT_IN_USE);
    /* One namespace for bridges and ports across the switch. */
    cr_assert_eq(db_add_bridge(db, "br1", NULL, NULL), 0);
    cr_assert_eq(db_add_port(db, "br1", "p", "dummy", 1, NULL, NULL),
                 -TS_ERR_PORT_EXISTS);
    cr_assert_eq(db_add_port(db, "br1", "br0", "dummy", 1, NULL, NULL),
                 -TS_ERR_PORT_EXISTS);
    cr_assert_eq(db_add_bridge(db, "p", NULL, NULL), -TS_ERR_BRIDGE_EXISTS);
    cr_assert_eq(db_del_port(db, "br1", "p", NULL), -TS_ERR_NO_PORT);
    cr_assert_eq(db_del_bridge(db, "br9", NULL), -TS_ERR_NO_BRIDGE);
    struct db_stats st;
    db_get_stats(db, &st);
    cr_assert_eq(st.n_records, 3);
    db_close(db);
}

Test(db, second_open_is_locked)
{
    struct db *db = open_ok(dbpath), *db2 = NULL;
    char *err = NULL;
    cr_assert_eq(db_open(dbpath, &db2, &err), -EBUSY);
    cr_assert_null(db2);
    cr_assert(strstr(err, dbpath), "%s", err);
    free(err);
    db_close(db);
    db = open_ok(dbpath);
    db_close(db);
}

static void
copy_file(const char *from, const char *to, off_t truncate_at)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", from, to);
    cr_assert_eq(system(cmd), 0);
    if (truncate_at >= 0) {
        cr_assert_eq(truncate(to, truncate_at), 0);
    }
}

Test(db, torn_tail_every_offset)
{
    struct db *db = open_ok(dbpath);
    uint64_t sizes[32];
    size_t n = populate(db, sizes, 32);
    cr_assert_geq(n, 2);
    db_close(db);

    /* The state before the last record: a copy cut at its start. */
    char path2[160], path3[160];
    snprintf(path2, sizeof path2, "%s/before.db", tmpdir);
    snprintf(path3, sizeof path3, "%s/torn.db", tmpdir);
    copy_file(dbpath, path2, sizes[n - 2]);
    db = open_ok(path2);
    char *expect = dump(db);
    db_close(db);

    for (uint64_t cut = sizes[n - 2]; cut < sizes[n - 1]; cut++) {
        copy_file(dbpath, path3, cut);
        db = open_ok(path3);
        char *got = dump(db);
        cr_assert_str_eq(got, expect, "cut at %llu",
                         (unsigned long long) cut);
        struct db_stats st;
        db_get_stats(db, &st);
        cr_assert_eq(st.n_truncated, cut > sizes[n - 2] ? 1 : 0);
        /* The tail is gone from the file, and new appends follow the
         * last good record. */
        cr_assert_eq(st.file_size, sizes[n - 2]);
        add_flow_text(db, "br1", "after");
        db_close(db);
        free(got);

        db = open_ok(path3);
        got = dump(db);
        cr_assert(strstr(got, "flows: after\n"), "%s", got);
        db_close(db);
        free(got);
    }
    free(expect);
}

Test(db, zeroed_tail_is_torn)
{
    struct db *db = open_ok(dbpath);
    uint64_t sizes[32];
    size_t n = populate(db, sizes, 32);
    db_close(db);

    /* A crash can leave a size update without the data: zeros. */
    int fd = open(dbpath, O_WRONLY);
    cr_assert_geq(fd, 0);
    uint8_t zeros[100] = { 0 };
    cr_assert_eq(pwrite(fd, zeros, sizeof zeros, sizes[n - 1]),
                 (ssize_t) sizeof zeros);
    close(fd);
    db = open_ok(dbpath);
    struct db_stats st;
    db_get_stats(db, &st);
    cr_assert_eq(st.n_truncated, 1);
    cr_assert_eq(st.file_size, sizes[n - 1]);
    db_close(db);
}

static void
flip_byte(const char *path, off_t ofs)
{
    int fd = open(path, O_RDWR);
    uint8_t b;
    cr_assert_geq(fd, 0);
    cr_assert_eq(pread(fd, &b, 1, ofs), 1);
    b ^= 0x5a;
    cr_assert_eq(pwrite(fd, &b, 1, ofs), 1);
    close(fd);
}

Test(db, corruption_is_fatal_and_named)
{
    struct db *db = open_ok(dbpath);
    uint64_t sizes[32];
    size_t n = populate(db, sizes, 32);
    db_close(db);

    /* Every byte of a record in the middle (header and body), and every
     * byte of the last record: a flipped byte is damage, not a torn
     * write, so loading must fail, naming the file and the record. */
    char path2[160];
    snprintf(path2, sizeof path2, "%s/bad.db", tmpdir);
    size_t mid = n / 2;                     /* record mid + 1 */
    size_t checks[2][2] = { { sizes[mid - 1], sizes[mid] },
                            { sizes[n - 2], sizes[n - 1] } };
    size_t recnos[2] = { mid + 1, n };
    for (int c = 0; c < 2; c++) {
        for (size_t ofs = checks[c][0]; ofs < checks[c][1]; ofs++) {
            copy_file(dbpath, path2, -1);
            flip_byte(path2, ofs);
            struct db *bad = NULL;
            char *err = NULL;
            cr_assert_eq(db_open(path2, &bad, &err), -TS_ERR_STORE,
                         "flip at %zu loaded", ofs);
            cr_assert_null(bad);
            char want[256];
            snprintf(want, sizeof want, "%s: record %zu at offset %zu: ",
                     path2, recnos[c], checks[c][0]);
            cr_assert(!strncmp(err, want, strlen(want)),
                      "flip at %zu: '%s' does not start with '%s'", ofs,
                      err, want);
            cr_assert(strstr(err, "checksum mismatch"), "%s", err);
            free(err);
        }
    }

    /* The file header. */
    for (off_t ofs = 0; ofs < 32; ofs++) {
        copy_file(dbpath, path2, -1);
        flip_byte(path2, ofs);
        struct db *bad = NULL;
        char *err = NULL;
        cr_assert_eq(db_open(path2, &bad, &err), -TS_ERR_STORE);
        cr_assert(!strncmp(err, path2, strlen(path2)), "%s", err);
        free(err);
    }

    /* A short file that is not empty. */
    copy_file(dbpath, path2, 10);
    struct db *bad = NULL;
    char *err = NULL;
    cr_assert_eq(db_open(path2, &bad, &err), -TS_ERR_STORE);
    cr_assert(strstr(err, "too short"), "%s", err);
    free(err);
}

Test(db, records_that_make_no_sense_are_fatal)
{
    /* A well-checksummed record that deletes an unknown bridge: the
     * store is inconsistent, which is damage too. */
    struct db *db = open_ok(dbpath);
    cr_assert_eq(db_add_bridge(db, "br0", NULL, NULL), 0);
    cr_assert_eq(db_del_bridge(db, "br0", NULL), 0);
    struct db_stats st;
    db_get_stats(db, &st);
    uint64_t del_end = st.file_size;
    db_close(db);

    /* Duplicate the deletion record at the end. */
    int fd = open(dbpath, O_RDWR);
    uint8_t rec[64];
    size_t len = 16 + 4 + 3;
    cr_assert_eq(pread(fd, rec, len, del_end - len), (ssize_t) len);
    cr_assert_eq(pwrite(fd, rec, len, del_end), (ssize_t) len);
    close(fd);
    char *err = NULL;
    cr_assert_eq(db_open(dbpath, &db, &err), -TS_ERR_STORE);
    cr_assert(strstr(err, "record 3 at offset"), "%s", err);
    cr_assert(strstr(err, "unknown bridge"), "%s", err);
    free(err);
}

static int
snapshot_cb(void *aux, const char *bridge, struct db_flows *out)
{
    int *calls = aux;
    (*calls)++;
    char *text = xasprintf("snapshot-of-%s", bridge);
    db_flows_append(out, text, strlen(text));
    free(text);
    return 0;
}

Test(db, compaction_preserves_content)
{
    struct db *db = open_ok(dbpath);
    uint64_t sizes[32];
    populate(db, sizes, 32);
    /* Churn, so that compaction has something to remove. */
    for (int i = 0; i < 50; i++) {
        char name[16];
        snprintf(name, sizeof name, "tmp%d", i);
        cr_assert_eq(db_add_port(db, "br1", name, "dummy", 10, NULL, NULL),
                     0);
        cr_assert_eq(db_del_port(db, "br1", name, NULL), 0);
    }
    char *before = dump(db);
    struct db_stats st0, st1;
    db_get_stats(db, &st0);
    char *err = NULL;
    cr_assert_eq(db_compact(db, &err), 0, "%s", err);
    db_get_stats(db, &st1);
    cr_assert_lt(st1.file_size, st0.file_size);
    cr_assert_eq(st1.n_compactions, 1);
    char *mid = dump(db);
    cr_assert_str_eq(mid, before);
    /* Appends after compaction land in the new file. */
    cr_assert_eq(db_set_kv(db, "k", "v", NULL), 0);
    db_close(db);

    db = open_ok(dbpath);
    char *after = dump(db);
    cr_assert(strstr(after, "kv k=v\n"));
    cr_assert_eq(db_del_kv(db, "k", NULL), 0);
    db_close(db);
    db = open_ok(dbpath);
    free(after);
    after = dump(db);
    cr_assert_str_eq(after, before);
    struct stat sb;
    char tmp[160];
    snprintf(tmp, sizeof tmp, "%s.tmp", dbpath);
    cr_assert_neq(stat(tmp, &sb), 0);

    /* With a snapshot callback, flows come from the callback. */
    int calls = 0;
    db_set_snapshot_cb(db, snapshot_cb, &calls);
    cr_assert_eq(db_compact(db, &err), 0, "%s", err);
    cr_assert_eq(calls, 2);
    db_close(db);
    db = open_ok(dbpath);
    char *snap = dump(db);
    cr_assert(strstr(snap, "bridge br0 datapath_type=netdev flows: "
                     "snapshot-of-br0\n"), "%s", snap);
    cr_assert(strstr(snap, "bridge br1 flows: snapshot-of-br1\n"), "%s",
              snap);
    cr_assert(strstr(snap, "port br0 p1 dummy 1 peer=x n_rxq=2\n"));
    db_close(db);
    free(before);
    free(mid);
    free(after);
    free(snap);
}

Test(db, autocompaction)
{
    struct db *db = open_ok(dbpath);
    db_set_autocompact(db, 4096);
    cr_assert_eq(db_add_bridge(db, "br0", NULL, NULL), 0);
    for (int i = 0; i < 400; i++) {
        cr_assert_eq(db_set_kv(db, "counter", i % 2 ? "odd" : "even",
                               NULL), 0);
    }
    struct db_stats st;
    db_get_stats(db, &st);
    cr_assert_geq(st.n_compactions, 1);
    cr_assert_lt(st.file_size, 4 * 4096 + 1);
    db_close(db);
    db = open_ok(dbpath);
    cr_assert_str_eq(db_get_kv(db, "counter"), "odd");
    db_close(db);
}

Test(db, many_flows)
{
    /* 100,000 flows as one bundle record plus 1,000 single records: the
     * bundle costs one fsync, and the whole store loads back intact. */
    struct db *db = open_ok(dbpath);
    cr_assert_eq(db_add_bridge(db, "br0", NULL, NULL), 0);
    struct db_flows f;
    db_flows_init(&f);
    for (int i = 0; i < 100000; i++) {
        char text[64];
        int n = snprintf(text, sizeof text,
                         "priority=%d,ip,nw_dst=10.%d.%d.%d,actions=1",
                         i % 65536, i >> 16, (i >> 8) & 255, i & 255);
        db_flows_append(&f, text, n);
    }
    struct db_stats st0, st1;
    db_get_stats(db, &st0);
    cr_assert_eq(db_add_flows(db, "br0", &f, NULL), 0);
    db_get_stats(db, &st1);
    cr_assert_eq(st1.n_commits, st0.n_commits + 1);
    db_flows_release(&f);
    for (int i = 0; i < 1000; i++) {
        char text[32];
        snprintf(text, sizeof text, "single-%d", i);
        add_flow_text(db, "br0", text);
    }
    db_close(db);

    db = open_ok(dbpath);
    const struct db_bridge *br = db_find_bridge(db, "br0");
    cr_assert_not_null(br);
    cr_assert_eq(br->flows.n, 101000);
    size_t ofs = 0, len, i = 0;
    const uint8_t *blob;
    while (db_flows_next(&br->flows, &ofs, &blob, &len)) {
        if (i == 65793) {
            const char *want = "priority=257,ip,nw_dst=10.1.1.1,actions=1";
            cr_assert_eq(len, strlen(want));
            cr_assert(!memcmp(blob, want, len));
        }
        i++;
    }
    cr_assert_eq(i, 101000);
    char *err = NULL;
    cr_assert_eq(db_compact(db, &err), 0, "%s", err);
    db_close(db);
    db = open_ok(dbpath);
    cr_assert_eq(db_find_bridge(db, "br0")->flows.n, 101000);
    db_close(db);
}

static size_t live_count_stub;

static size_t
live_count(void *aux, const char *bridge)
{
    return live_count_stub;
}

Test(db, group_commit)
{
    /* Deferred sync: records reach the file at once but are fsynced by
     * db_sync(), once for many; a reopened store has them all. */
    struct db *db = open_ok(dbpath);
    struct db_stats st;
    char *err = NULL;

    db_set_defer_sync(db, true);
    cr_assert(!db_needs_sync(db));
    cr_assert_eq(db_add_bridge(db, "br0", NULL, NULL), 0);
    cr_assert(db_needs_sync(db));
    for (int i = 0; i < 50; i++) {
        char text[32];
        snprintf(text, sizeof text, "flow-%d", i);
        add_flow_text(db, "br0", text);
    }
    cr_assert_eq(db_sync(db, &err), 0, "%s", err);
    cr_assert(!db_needs_sync(db));
    cr_assert_eq(db_sync(db, NULL), 0);     /* nothing to do */
    db_get_stats(db, &st);
    cr_assert_eq(st.n_commits, 51);
    cr_assert_eq(st.n_syncs, 1);
    db_close(db);

    db = open_ok(dbpath);
    cr_assert_eq(db_find_bridge(db, "br0")->flows.n, 50);
    db_close(db);
}

Test(db, no_autocompaction_of_additions)
{
    /* With a live count, a log of additions (as many entries as are live)
     * is not rewritten; once most entries are dead, it is. */
    struct db *db = open_ok(dbpath);
    struct db_stats st;

    db_set_autocompact(db, 4096);
    db_set_live_count_cb(db, live_count, NULL);
    cr_assert_eq(db_add_bridge(db, "br0", NULL, NULL), 0);
    for (int i = 0; i < 3000; i++) {
        char text[32];
        snprintf(text, sizeof text, "flow-%d", i);
        live_count_stub = i + 1;
        add_flow_text(db, "br0", text);
    }
    db_get_stats(db, &st);
    cr_assert_eq(st.n_compactions, 0);
    live_count_stub = 10;       /* most of the log is now garbage */
    add_flow_text(db, "br0", "one-more");
    db_get_stats(db, &st);
    cr_assert_eq(st.n_compactions, 1);
    db_set_live_count_cb(db, NULL, NULL);
    db_close(db);
}

Test(db, drop_flow_blobs_keeps_counts_and_file)
{
    /* After db_drop_flow_blobs() the store keeps only counts in memory;
     * the file keeps every flow, and compaction takes them from the
     * snapshot callback (and refuses to run without one). */
    struct db *db = open_ok(dbpath);
    int calls = 0;
    char *err = NULL;

    cr_assert_eq(db_add_bridge(db, "br0", NULL, NULL), 0);
    add_flow_text(db, "br0", "before");
    db_drop_flow_blobs(db);
    const struct db_bridge *br = db_find_bridge(db, "br0");
    cr_assert_eq(br->flows.n, 1);
    cr_assert_null(br->flows.data);
    add_flow_text(db, "br0", "after-1");
    add_flow_text(db, "br0", "after-2");
    cr_assert_eq(db_find_bridge(db, "br0")->flows.n, 3);
    cr_assert_null(db_find_bridge(db, "br0")->flows.data);

    cr_assert_eq(db_compact(db, &err), -EINVAL);
    cr_assert(strstr(err, "not kept in memory"), "%s", err);
    free(err);
    err = NULL;
    db_close(db);

    /* Reopened: all three blobs are in the file, in order. */
    db = open_ok(dbpath);
    br = db_find_bridge(db, "br0");
    cr_assert_eq(br->flows.n, 3);
    size_t ofs = 0, len;
    const uint8_t *blob;
    cr_assert(db_flows_next(&br->flows, &ofs, &blob, &len));
    cr_assert(len == 6 && !memcmp(blob, "before", 6));
    db_drop_flow_blobs(db);
    db_set_snapshot_cb(db, snapshot_cb, &calls);
    cr_assert_eq(db_compact(db, &err), 0, "%s", err);
    cr_assert_eq(calls, 1);
    cr_assert_eq(db_find_bridge(db, "br0")->flows.n, 1);
    cr_assert_null(db_find_bridge(db, "br0")->flows.data);
    db_close(db);

    db = open_ok(dbpath);
    br = db_find_bridge(db, "br0");
    ofs = 0;
    cr_assert(db_flows_next(&br->flows, &ofs, &blob, &len));
    cr_assert(len == 15 && !memcmp(blob, "snapshot-of-br0", 15));
    db_close(db);
}
