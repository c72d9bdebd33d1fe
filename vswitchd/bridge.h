/* bridge: the daemon's configuration applied to the datapath and ofproto.
 *
 * What: a bridge set is the whole switch: every bridge (one dpif and one
 * ofproto each, plus the bridge's internal port, named like the bridge,
 * port number DPIF_PORT_LOCAL) and its ports, backed by the durable
 * store (db.h).  Each change is applied to the datapath/ofproto first
 * and then made durable in the store before the call returns 0, so a
 * caller that acknowledges a client after a 0 return has a change that
 * survives a crash.  If the store cannot record a change, the change is
 * undone where that is possible (ports, bridges) and an error returned;
 * flow changes that were applied but could not be stored are reported as
 * an error saying so.
 *
 * Start-up: bridge_set_create() rebuilds every stored bridge: dpif,
 * ofproto, the stored flow changes replayed in order, then the ports
 * re-added with their stored port numbers (flows first, so no packet
 * meets an empty table).  A port that cannot be re-added (its device is
 * gone) is kept in the configuration with a warning and reported as
 * missing.
 *
 * Names: bridge and port names share one namespace across the switch,
 * as in Open vSwitch.
 *
 * Flow encoding in the store: each flow change is one CTL_FLOW_MOD frame
 * of the control protocol (ctl-proto.h), so there is one serialization.
 *
 * Who calls it: ctl-server.c and main.c, in the main thread only. */
#ifndef TS_VSWITCHD_BRIDGE_H
#define TS_VSWITCHD_BRIDGE_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "dpif.h"

struct db;
struct ds;
struct flow;
struct ofp_flow_mod;
struct ofp_group_mod;
struct ofproto_packet_in;
struct ofp_port_map;
struct ofproto;
struct smap;

struct bridge_set;
struct bridge;

struct bridge_set_config {
    struct dpif_config dpif;    /* for every bridge's dpif */
    /* Type of each bridge's own port; NULL: "internal".  Tests without
     * privileges use "dummy". */
    const char *internal_port_type;
};

/* Rebuilds every bridge stored in 'db' (borrowed; must outlive the set)
 * and installs the store's flow snapshot callback.  Never fails on a
 * bridge or port the system refuses now (logged); returns 0, or a negative
 * error with '*errp' set if a stored flow cannot even be decoded. */
int bridge_set_create(struct db *, const struct bridge_set_config *,
                      struct bridge_set **, char **errp);
/* Destroys every bridge's ofproto and dpif (closing ports, removing TAPs
 * and XDP programs); leaves the store untouched.  Accepts NULL. */
void bridge_set_destroy(struct bridge_set *);

/* Periodic work: ofproto_run() for every bridge, then stores deletions of
 * flows that expired.  Returns the time_msec() of the next call needed. */
long long bridge_set_run(struct bridge_set *);
/* Called from any thread when some bridge has work for bridge_set_run(). */
void bridge_set_set_wakeup_cb(struct bridge_set *, void (*cb)(void *aux),
                              void *aux);

/* Called from bridge_set_run() (main thread) for every packet a bridge
 * sends to the controller; 'pin' is borrowed for the call. */
typedef void bridge_packet_in_cb(void *aux, const struct bridge *,
                                 const struct ofproto_packet_in *pin);
void bridge_set_set_packet_in_cb(struct bridge_set *, bridge_packet_in_cb *,
                                 void *aux);

struct bridge_set_stats {
    size_t n_bridges, n_ports, n_flows, n_megaflows;
    size_t n_workers;           /* datapath threads, all bridges */
};
void bridge_set_get_stats(const struct bridge_set *,
                          struct bridge_set_stats *);

/* ---- Bridges ------------------------------------------------------------ */

struct bridge *bridge_find(const struct bridge_set *, const char *name);
/* Bridges sorted by name: fills up to 'max', returns the total. */
size_t bridge_list(const struct bridge_set *, const struct bridge **out,
                   size_t max);
const char *bridge_name(const struct bridge *);
struct ofproto *bridge_ofproto(const struct bridge *);
struct dpif *bridge_dpif(const struct bridge *);

/* Creates bridge 'name': dpif, ofproto with the default NORMAL flow,
 * internal port.  Errors: -TS_ERR_BRIDGE_EXISTS (name used by a bridge or
 * a port), -EINVAL, or what the datapath or store said ('*errp'). */
int bridge_add(struct bridge_set *, const char *name, char **errp);
/* Destroys bridge 'name' and forgets it.  -TS_ERR_NO_BRIDGE. */
int bridge_del(struct bridge_set *, const char *name, char **errp);

/* ---- Ports -------------------------------------------------------------- */

struct bridge_port_info {
    const char *name;           /* borrowed until the next change */
    const char *type;
    uint32_t ofport;
    const struct smap *options;
    bool missing;               /* configured, but not in the datapath */
    long long created_msec;     /* time_msec() when added (or re-added) */
};

/* Adds port 'name' of 'type' ("" or NULL: the datapath's default) with
 * port number 'ofport' (0: the lowest free).  The datapath's error is
 * returned verbatim in '*errp'; nothing is stored on failure.  On success
 * '*ofportp' (if nonnull) gets the number. */
int bridge_port_add(struct bridge *, const char *name, const char *type,
                    uint32_t ofport, const struct smap *options,
                    uint32_t *ofportp, char **errp);
int bridge_port_del(struct bridge *, const char *name, char **errp);
/* Changes port 'name''s options: each KEY=VALUE of 'changes' sets KEY,
 * KEY with an empty value removes it.  Applied to the live port (only
 * impairment keys may change: dpif_port_set_options) and stored before
 * returning; on failure nothing changed. */
int bridge_port_set_options(struct bridge *, const char *name,
                            const struct smap *changes, char **errp);
/* Ports of 'br', the internal port first then by number: fills up to
 * 'max', returns the total. */
size_t bridge_ports(const struct bridge *, struct bridge_port_info *out,
                    size_t max);
/* Finds the bridge that has port 'name' (NULL if none). */
struct bridge *bridge_find_port(const struct bridge_set *, const char *name,
                                uint32_t *ofport);
/* Fills 'map' (initialized by the caller) with the bridge's port names. */
void bridge_port_map(const struct bridge *, struct ofp_port_map *map);

/* ---- Flows -------------------------------------------------------------- */

/* Applies one flow mod (see ofproto_flow_mod) and stores it. */
int bridge_flow_mod(struct bridge *, const struct ofp_flow_mod *,
                    char **errp);
/* Applies 'n' flow mods atomically (a bundle) and stores them as one
 * record with one fsync. */
int bridge_flow_mod_batch(struct bridge *, const struct ofp_flow_mod *mods,
                          size_t n, char **errp);
/* Same, but the store records 'stored' (borrowed), which must hold one
 * CTL_FLOW_MOD frame per mod, encoding mods[i] for this bridge: the
 * control server passes what the client sent, which saves encoding every
 * mod again.  'stored' NULL: encode here. */
struct db_flows;
int bridge_flow_mod_batch_encoded(struct bridge *,
                                  const struct ofp_flow_mod *mods, size_t n,
                                  const struct db_flows *stored,
                                  char **errp);

/* ---- Groups ------------------------------------------------------------- */

/* Applies one group mod (see ofproto_group_mod) and stores it in the
 * bridge's flow log, so groups are rebuilt in order with the flows. */
int bridge_group_mod(struct bridge *, const struct ofp_group_mod *,
                     char **errp);

/* ---- Conntrack configuration -------------------------------------------
 *
 * The connection tracker's configuration (maxconns, tcp-seq-chk, zone
 * limits, timeout policies) lives in the store as "ct-*" key/value
 * settings (docs/store.md) and is applied to the tracker by
 * bridge_set_create() before any bridge or port is rebuilt.  Each setter
 * below applies the change and stores it; on a store failure it undoes
 * the change and returns the error (with '*errp'). */

/* The tracker the bridges use (the config's, else dpif_ct_global()). */
struct dpif_ct *bridge_set_ct(const struct bridge_set *);
int bridge_ct_set_maxconns(struct bridge_set *, uint32_t, char **errp);
int bridge_ct_set_tcp_seq_chk(struct bridge_set *, bool, char **errp);
/* 'zone' NULL: the default limit. */
int bridge_ct_set_limit(struct bridge_set *, const uint16_t *zone,
                        uint32_t limit, char **errp);
/* Makes 'zone' follow the default again (no error if it did). */
int bridge_ct_del_limit(struct bridge_set *, uint16_t zone, char **errp);
/* Merges 'keys' (timeout policy key -> decimal seconds) into the policy
 * of 'zone' (NULL: the default).  -EINVAL with '*errp' on a bad key or
 * value, nothing changed. */
int bridge_ct_set_tp(struct bridge_set *, const uint16_t *zone,
                     const struct smap *keys, char **errp);
/* -ENOENT if 'zone' has no policy. */
int bridge_ct_del_tp(struct bridge_set *, uint16_t zone, char **errp);
/* Zones that have their own limit ('tp' false) or timeout policy ('tp'
 * true), sorted: fills up to 'max' and returns the total. */
size_t bridge_ct_zones(const struct bridge_set *, bool tp, uint16_t *zones,
                       size_t max);

#endif /* vswitchd/bridge.h */
