/* db: the daemon's durable configuration store.
 *
 * What: bridges, their ports (name, type, OpenFlow port number, options),
 * the flow-table changes applied to each bridge and a few generic
 * key/value settings, kept in memory and in one file: a versioned header,
 * then a write-ahead journal of length-prefixed, CRC32C-checksummed
 * records (docs/store.md has the byte layout).
 *
 * Durability: every mutating call below appends one record, fsyncs it
 * and only then changes the in-memory view and returns 0.  A caller that
 * acknowledges a client after a 0 return therefore never acknowledges a
 * change that kill -9 or power loss could take away.  A bundle of many
 * flow mods is one record and one fsync (db_add_flows).
 *
 * Group commit: after db_set_defer_sync(db, true), mutations append their
 * record and change memory but skip the fsync; the caller must call
 * db_sync() before it acknowledges any of them.  The control server does
 * so once per event-loop iteration for every change of every client
 * (ctl-server.c), so the contract above still holds for what clients see.
 *
 * Loading: db_open() replays the file.  A torn last record (the file ends
 * inside it: a crash mid-append, never acknowledged) is cut off with a
 * warning.  Any other damage (bad checksum, bad header, a record that
 * does not make sense) fails with a message naming the file, the record
 * number and its offset; nothing is ever silently dropped.
 *
 * Flows: the store treats each flow change as an opaque byte string (the
 * control protocol's flow-mod encoding, see bridge.c), kept per bridge
 * in application order.  Compaction rewrites the file from the current
 * state (write temp, fsync, rename, fsync dir); for flows it asks the
 * snapshot callback, if one is set, for the bridge's current rules
 * (which replaces the per-bridge log), else it keeps the log as is.
 *
 * Who calls it: bridge.c (main thread) and tests.  Not thread-safe. */
#ifndef TS_VSWITCHD_DB_H
#define TS_VSWITCHD_DB_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "hmap.h"
#include "smap.h"

#define DB_FORMAT_VERSION 1
/* Largest record accepted when loading or writing. */
#define DB_MAX_RECORD (512u * 1024 * 1024)

/* A sequence of opaque flow blobs: each is a little-endian u32 length
 * followed by that many bytes.  The layout is the FLOWS record's body. */
struct db_flows {
    uint8_t *data;
    size_t size, allocated;
    size_t n;                   /* number of blobs */
};

void db_flows_init(struct db_flows *);
void db_flows_release(struct db_flows *);
void db_flows_clear(struct db_flows *);
void db_flows_append(struct db_flows *, const void *blob, size_t len);
/* Appends a blob of 'len' bytes and returns where to write them (valid
 * until the next append). */
void *db_flows_append_uninit(struct db_flows *, size_t len);
/* Iterates: '*ofs' starts at 0.  Returns false at the end; otherwise
 * points '*blob' (borrowed from 'flows') and '*len' at the next blob. */
bool db_flows_next(const struct db_flows *, size_t *ofs,
                   const uint8_t **blob, size_t *len);

struct db_port {
    struct hmap_node node;      /* in db_bridge's 'ports', by name */
    char *name;
    char *type;
    uint32_t ofport;
    struct smap options;
};

struct db_bridge {
    struct hmap_node node;      /* in db's 'bridges', by name */
    char *name;
    struct smap options;
    struct hmap ports;          /* struct db_port */
    struct db_flows flows;      /* flow changes, in order applied */
};

struct db;

/* Fills 'out' (empty on entry) with blobs that recreate bridge 'bridge's
 * current flow table when applied in order.  Returns 0 or a negative
 * errno, which aborts the compaction (the journal stays valid). */
typedef int db_snapshot_cb(void *aux, const char *bridge,
                           struct db_flows *out);

/* Opens the store at 'path', creating it (and an empty store) if it does
 * not exist, and loads it.  Takes an exclusive lock (a sibling file
 * '.NAME.~lock~') so that two daemons never share a store.  On failure
 * returns a negative errno or -TS_ERR_STORE and sets '*errp' to a
 * malloc'ed message starting with the path. */
int db_open(const char *path, struct db **, char **errp);
/* Closes the file and frees everything.  Accepts NULL. */
void db_close(struct db *);
const char *db_path(const struct db *);

void db_set_snapshot_cb(struct db *, db_snapshot_cb *, void *aux);
/* Returns how many entries bridge 'bridge's snapshot would hold (live
 * flows and groups).  With it set, automatic compaction waits until the
 * flow logs hold more than about twice that, so that a log of mere
 * additions is never rewritten. */
typedef size_t db_live_count_cb(void *aux, const char *bridge);
/* From now on, keeps only the number of flow blobs of each bridge in
 * memory ('flows.n'; 'flows' holds no data), not the blobs themselves,
 * and frees those held now.  For a caller that has replayed the stored
 * flows and set a snapshot callback, which compaction then needs: without
 * one, db_compact() fails with -EINVAL rather than lose the flows.  Saves
 * a second in-memory copy of every flow. */
void db_drop_flow_blobs(struct db *);
void db_set_live_count_cb(struct db *, db_live_count_cb *, void *aux);
/* Rewrites the file from the current state.  Returns 0 or -errno (the
 * old file stays in place on failure). */
int db_compact(struct db *, char **errp);
/* Compaction happens on its own after a commit once the file exceeds
 * max(min_bytes, 4 * size after the last compaction); 0 disables. */
void db_set_autocompact(struct db *, size_t min_bytes);

/* Read access: pointers borrowed until the next mutation. */
const struct hmap *db_bridges(const struct db *);
const struct db_bridge *db_find_bridge(const struct db *, const char *);
const struct db_port *db_find_port(const struct db_bridge *,
                                   const char *name);
const char *db_get_kv(const struct db *, const char *key);
const struct smap *db_kv(const struct db *);

/* Mutations: each is one durable record.  Return 0,
 * -TS_ERR_BRIDGE_EXISTS (the name is taken by a bridge or a port: one
 * namespace), -TS_ERR_NO_BRIDGE, -TS_ERR_PORT_EXISTS,
 * -TS_ERR_OFPORT_IN_USE, -TS_ERR_NO_PORT, -EINVAL (empty name, port
 * number 0), -TS_ERR_TOO_BIG or a negative errno from the file system
 * ('*errp', if non-NULL, gets a malloc'ed message on I/O errors).  On
 * failure nothing changed in memory. */
int db_add_bridge(struct db *, const char *name, const struct smap *opts,
                  char **errp);
int db_del_bridge(struct db *, const char *name, char **errp);
int db_add_port(struct db *, const char *bridge, const char *name,
                const char *type, uint32_t ofport,
                const struct smap *options, char **errp);
int db_del_port(struct db *, const char *bridge, const char *name,
                char **errp);
/* Appends the 'flows' blobs to bridge 'bridge's log, as one record. */
int db_add_flows(struct db *, const char *bridge,
                 const struct db_flows *flows, char **errp);
/* Same, but consumes 'flows' (left empty, whatever the result): its
 * buffer may become the bridge's log instead of being copied. */
int db_add_flows_take(struct db *, const char *bridge,
                      struct db_flows *flows, char **errp);
/* Forgets bridge 'bridge's flow log (e.g. after deleting every flow). */
int db_clear_flows(struct db *, const char *bridge, char **errp);
int db_set_kv(struct db *, const char *key, const char *value,
              char **errp);
int db_del_kv(struct db *, const char *key, char **errp);

/* Group commit (see the top).  db_sync() fsyncs the records appended
 * since the last sync, if any; returns 0 or a negative errno ('*errp'
 * gets a message).  On failure the records stay appended and applied in
 * memory but are not known to be durable: the caller must not
 * acknowledge them. */
void db_set_defer_sync(struct db *, bool defer);
bool db_needs_sync(const struct db *);
int db_sync(struct db *, char **errp);

/* Statistics for 'status' and tests. */
struct db_stats {
    uint64_t file_size;         /* bytes */
    uint64_t n_records;         /* records in the file now */
    uint64_t n_commits;         /* appended since open */
    uint64_t n_compactions;
    uint64_t n_truncated;       /* torn tails cut off at open (0 or 1) */
    uint64_t n_syncs;           /* db_sync() calls that fsynced */
};
void db_get_stats(const struct db *, struct db_stats *);

#endif /* vswitchd/db.h */
