/* bridge: configuration -> dpif + ofproto, kept durable in the store.
 *
 * Replay model: a bridge's stored flow log is replayed on top of the
 * state right after bridge_add(), i.e. an ofproto with the default
 * NORMAL flow.  A snapshot written at compaction therefore starts with
 * "delete every flow" and then adds the current rules, which makes it
 * replay to exactly the current table from that same starting state.
 *
 * Groups live in the same per-bridge log as CTL_GROUP_MOD frames, in
 * application order with the flow changes, so a flow that names a group
 * always replays after the group's creation.  A snapshot writes the
 * groups before the flows. */
#include "bridge.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl-proto.h"
#include "db.h"
#include "dynamic-string.h"
#include "errors.h"
#include "hash.h"
#include "hmap.h"
#include "log.h"
#include "match.h"
#include "ofp-flow.h"
#include "ofp-group.h"
#include "ofp-port-map.h"
#include "ofpact.h"
#include "ofproto.h"
#include "smap.h"
#include "util.h"

TS_LOG_DEFINE(bridge);

/* Flow mods replayed per ofproto_flow_mod_batch() call at start-up. */
#define REPLAY_CHUNK 4096

struct bridge_set {
    struct db *db;              /* borrowed */
    struct dpif_config dpif_cfg;
    char *internal_type;
    struct hmap bridges;        /* struct bridge, by name */
    void (*wakeup_cb)(void *);
    void *wakeup_aux;
    bridge_packet_in_cb *packet_in_cb;
    void *packet_in_aux;
};

struct bport {
    struct hmap_node node;      /* in bridge's 'ports', by name */
    char *name;
    char *type;
    uint32_t ofport;
    struct smap options;
    bool missing;               /* not in the datapath */
    long long created_msec;
};

struct bridge {
    struct hmap_node node;      /* in bridge_set's 'bridges' */
    struct bridge_set *set;
    char *name;
    struct dpif *dpif;
    struct ofproto *ofproto;
    struct hmap ports;          /* struct bport */
    bool local_ok;              /* internal port is in the datapath */
    long long created_msec;
    struct db_flows expired;    /* deletions of expired rules to store */
};

/* ---- Flow encoding ------------------------------------------------------ */

/* Appends 'msg' (a FLOW_MOD or GROUP_MOD whose body is borrowed) as one
 * frame to 'out'. */
static int
encode_mod(const struct ctl_msg *msg, struct db_flows *out, char **errp)
{
    struct ds ds = DS_EMPTY_INITIALIZER;
    int err = ctl_msg_encode(msg, &ds);

    if (err) {
        if (errp) {
            *errp = xasprintf("cannot encode %s mod for the store: %s",
                              msg->type == CTL_FLOW_MOD ? "flow" : "group",
                              ts_strerror(err));
        }
    } else {
        db_flows_append(out, ds.string, ds.length);
    }
    ds_destroy(&ds);
    return err;
}

/* Appends 'fm' as one CTL_FLOW_MOD frame to 'out'. */
static int
encode_fm(const char *bridge, const struct ofp_flow_mod *fm,
          struct db_flows *out, char **errp)
{
    struct ctl_msg msg;

    ctl_msg_init(&msg, CTL_FLOW_MOD, 0);
    /* Borrowed: encoding never modifies or frees the message. */
    msg.flow_mod.bridge = (char *) bridge;
    msg.flow_mod.fm = (struct ofp_flow_mod *) fm;
    return encode_mod(&msg, out, errp);
}

/* Appends 'gm' as one CTL_GROUP_MOD frame to 'out'. */
static int
encode_gm(const char *bridge, const struct ofp_group_mod *gm,
          struct db_flows *out, char **errp)
{
    struct ctl_msg msg;

    ctl_msg_init(&msg, CTL_GROUP_MOD, 0);
    /* Borrowed: encoding never modifies or frees the message. */
    msg.group_mod.bridge = (char *) bridge;
    msg.group_mod.gm = (struct ofp_group_mod *) gm;
    return encode_mod(&msg, out, errp);
}

/* Decodes a stored blob: a flow mod ('*fmp') or a group mod ('*gmp'); the
 * other is set to NULL.  On success the result is owned by the caller
 * (fm_free() or gm_free()). */
static int
decode_blob(const uint8_t *blob, size_t len, struct ofp_flow_mod **fmp,
            struct ofp_group_mod **gmp, char **errp)
{
    struct ctl_msg msg;
    char *err = NULL;
    int r = ctl_msg_decode(blob, len, &msg, &err);

    *fmp = NULL;
    *gmp = NULL;
    if (r) {
        *errp = xasprintf("undecodable flow mod: %s",
                          err ? err : ts_strerror(r));
        free(err);
        return r;
    }
    if (msg.type == CTL_FLOW_MOD && msg.flow_mod.fm) {
        *fmp = msg.flow_mod.fm;
        msg.flow_mod.fm = NULL;
    } else if (msg.type == CTL_GROUP_MOD && msg.group_mod.gm) {
        *gmp = msg.group_mod.gm;
        msg.group_mod.gm = NULL;
    } else {
        *errp = xasprintf("stored flow is a %s message",
                          ctl_type_name(msg.type));
        ctl_msg_release(&msg);
        return -TS_ERR_STORE;
    }
    ctl_msg_release(&msg);
    return 0;
}

static void
gm_free(struct ofp_group_mod *gm)
{
    if (gm) {
        ofp_group_mod_release(gm);
        free(gm);
    }
}

static void
fm_free(struct ofp_flow_mod *fm)
{
    if (fm) {
        ofp_flow_mod_release(fm);
        free(fm);
    }
}

/* ---- Lookups ------------------------------------------------------------ */

struct bridge *
bridge_find(const struct bridge_set *set, const char *name)
{
    struct bridge *br;

    HMAP_FOR_EACH_WITH_HASH (br, node, hash_string(name, 0), &set->bridges) {
        if (!strcmp(br->name, name)) {
            return br;
        }
    }
    return NULL;
}

static struct bport *
port_find(const struct bridge *br, const char *name)
{
    struct bport *p;

    HMAP_FOR_EACH_WITH_HASH (p, node, hash_string(name, 0), &br->ports) {
        if (!strcmp(p->name, name)) {
            return p;
        }
    }
    return NULL;
}

static struct bport *
port_find_by_number(const struct bridge *br, uint32_t ofport)
{
    struct bport *p;

    HMAP_FOR_EACH (p, node, &br->ports) {
        if (p->ofport == ofport) {
            return p;
        }
    }
    return NULL;
}

struct bridge *
bridge_find_port(const struct bridge_set *set, const char *name,
                 uint32_t *ofport)
{
    struct bridge *br;

    HMAP_FOR_EACH (br, node, &set->bridges) {
        struct bport *p = port_find(br, name);
        if (p || !strcmp(br->name, name)) {
            if (ofport) {
                *ofport = p ? p->ofport : DPIF_PORT_LOCAL;
            }
            return br;
        }
    }
    return NULL;
}

static bool
name_in_use(const struct bridge_set *set, const char *name)
{
    return bridge_find(set, name) || bridge_find_port(set, name, NULL);
}

const char *
bridge_name(const struct bridge *br)
{
    return br->name;
}

struct ofproto *
bridge_ofproto(const struct bridge *br)
{
    return br->ofproto;
}

struct dpif *
bridge_dpif(const struct bridge *br)
{
    return br->dpif;
}

static int
cmp_bridge(const void *a_, const void *b_)
{
    const struct bridge *const *a = a_, *const *b = b_;
    return strcmp((*a)->name, (*b)->name);
}

size_t
bridge_list(const struct bridge_set *set, const struct bridge **out,
            size_t max)
{
    size_t n = hmap_count(&set->bridges), i = 0;
    const struct bridge **all = xcalloc(n ? n : 1, sizeof *all);
    struct bridge *br;

    HMAP_FOR_EACH (br, node, &set->bridges) {
        all[i++] = br;
    }
    qsort(all, n, sizeof *all, cmp_bridge);
    if (max) {
        memcpy(out, all, MIN(n, max) * sizeof *out);
    }
    free(all);
    return n;
}

static int
cmp_port_info(const void *a_, const void *b_)
{
    const struct bridge_port_info *a = a_, *b = b_;
    /* The internal port (LOCAL, the highest number) sorts first. */
    bool la = a->ofport == DPIF_PORT_LOCAL, lb = b->ofport == DPIF_PORT_LOCAL;
    if (la != lb) {
        return la ? -1 : 1;
    }
    return a->ofport < b->ofport ? -1 : a->ofport > b->ofport;
}

size_t
bridge_ports(const struct bridge *br, struct bridge_port_info *out,
             size_t max)
{
    static const struct smap no_options = SMAP_INITIALIZER;
    size_t n = hmap_count(&br->ports) + 1, i = 0;
    struct bridge_port_info *all = xcalloc(n, sizeof *all);
    struct bport *p;

    all[i++] = (struct bridge_port_info) {
        .name = br->name, .type = br->set->internal_type,
        .ofport = DPIF_PORT_LOCAL, .options = &no_options,
        .missing = !br->local_ok, .created_msec = br->created_msec,
    };
    HMAP_FOR_EACH (p, node, &br->ports) {
        all[i++] = (struct bridge_port_info) {
            .name = p->name, .type = p->type, .ofport = p->ofport,
            .options = &p->options, .missing = p->missing,
            .created_msec = p->created_msec,
        };
    }
    qsort(all, n, sizeof *all, cmp_port_info);
    if (max) {
        memcpy(out, all, MIN(n, max) * sizeof *out);
    }
    free(all);
    return n;
}

void
bridge_port_map(const struct bridge *br, struct ofp_port_map *map)
{
    struct bport *p;

    ofp_port_map_put(map, DPIF_PORT_LOCAL, br->name);
    HMAP_FOR_EACH (p, node, &br->ports) {
        ofp_port_map_put(map, p->ofport, p->name);
    }
}

/* ---- Bridge life cycle -------------------------------------------------- */

static void
bridge_flow_removed(void *br_, const struct ofp_flow_stats *fs,
                    enum ofproto_removed_reason reason)
{
    struct bridge *br = br_;
    struct ofp_flow_mod fm;

    if (reason != OFPROTO_RR_IDLE_TIMEOUT
        && reason != OFPROTO_RR_HARD_TIMEOUT) {
        return;
    }
    /* Remember the expiry, so that a restart does not bring it back. */
    ofp_flow_mod_init(&fm, OFPFC_DELETE_STRICT);
    fm.table_id = fs->table_id;
    fm.priority = fs->priority;
    fm.match = fs->match;
    char *err = NULL;
    if (encode_fm(br->name, &fm, &br->expired, &err)) {
        TS_WARN("bridge %s: %s", br->name, err);
        free(err);
    }
    ofp_flow_mod_release(&fm);
}

static void
bridge_packet_in(void *br_, const struct ofproto_packet_in *pin)
{
    struct bridge *br = br_;
    struct bridge_set *set = br->set;

    if (set->packet_in_cb) {
        set->packet_in_cb(set->packet_in_aux, br, pin);
    }
}

static void
bridge_wakeup(void *set_)
{
    struct bridge_set *set = set_;

    if (set->wakeup_cb) {
        set->wakeup_cb(set->wakeup_aux);
    }
}

/* Creates the dpif, ofproto and internal port of a new bridge object (not
 * yet in the set).  With 'strict' (a client's add-br), failing to add the
 * internal port fails the whole operation; at start-up it is a warning. */
static int
bridge_create(struct bridge_set *set, const char *name, bool strict,
              struct bridge **brp, char **errp)
{
    struct bridge *br = xzalloc(sizeof *br);
    uint32_t local = DPIF_PORT_LOCAL;
    char *perr = NULL;
    int err;

    br->set = set;
    br->name = xstrdup(name);
    hmap_init(&br->ports);
    db_flows_init(&br->expired);
    br->created_msec = time_msec();
    err = dpif_create(name, &set->dpif_cfg, &br->dpif);
    if (err) {
        *errp = xasprintf("cannot create datapath for bridge '%s': %s", name,
                          ts_strerror(err));
        goto error;
    }
    br->ofproto = ofproto_create(name, br->dpif);
    ofproto_set_flow_removed_cb(br->ofproto, bridge_flow_removed, br);
    ofproto_set_wakeup_cb(br->ofproto, bridge_wakeup, set);
    ofproto_set_packet_in_cb(br->ofproto, bridge_packet_in, br);

    err = dpif_port_add(br->dpif, name, set->internal_type, NULL, &local,
                        &perr);
    if (err) {
        if (strict) {
            *errp = perr ? perr : xasprintf("cannot add internal port "
                                            "'%s': %s", name,
                                            ts_strerror(err));
            goto error;
        }
        TS_WARN("bridge %s: cannot re-create internal port: %s", name,
                perr ? perr : ts_strerror(err));
        free(perr);
    } else {
        br->local_ok = true;
        ofproto_port_added(br->ofproto, DPIF_PORT_LOCAL, name);
    }
    *brp = br;
    return 0;

error:
    ofproto_destroy(br->ofproto);
    dpif_destroy(br->dpif);
    hmap_destroy(&br->ports);
    free(br->name);
    free(br);
    return err;
}

static void
bport_free(struct bport *p)
{
    free(p->name);
    free(p->type);
    smap_destroy(&p->options);
    free(p);
}

static void
bridge_free(struct bridge *br)
{
    struct bport *p;

    ofproto_destroy(br->ofproto);
    dpif_destroy(br->dpif);
    HMAP_FOR_EACH_POP (p, node, &br->ports) {
        bport_free(p);
    }
    hmap_destroy(&br->ports);
    db_flows_release(&br->expired);
    free(br->name);
    free(br);
}

int
bridge_add(struct bridge_set *set, const char *name, char **errp)
{
    struct bridge *br;
    int err;

    if (!*name) {
        *errp = xstrdup("bridge name must not be empty");
        return -EINVAL;
    }
    if (name_in_use(set, name)) {
        *errp = xasprintf("cannot create bridge '%s': %s already exists",
                          name, bridge_find(set, name)
                                ? "a bridge" : "a port by that name");
        return -TS_ERR_BRIDGE_EXISTS;
    }
    err = bridge_create(set, name, true, &br, errp);
    if (err) {
        return err;
    }
    err = db_add_bridge(set->db, name, NULL, errp);
    if (err) {
        bridge_free(br);
        return err;
    }
    hmap_insert(&set->bridges, &br->node, hash_string(name, 0));
    TS_INFO("added bridge %s", name);
    return 0;
}

int
bridge_del(struct bridge_set *set, const char *name, char **errp)
{
    struct bridge *br = bridge_find(set, name);
    int err;

    if (!br) {
        *errp = xasprintf("no bridge named '%s'", name);
        return -TS_ERR_NO_BRIDGE;
    }
    /* Store first: if that fails, nothing has changed. */
    err = db_del_bridge(set->db, name, errp);
    if (err) {
        return err;
    }
    hmap_remove(&set->bridges, &br->node);
    bridge_free(br);
    TS_INFO("deleted bridge %s", name);
    return 0;
}

/* ---- Ports -------------------------------------------------------------- */

/* Options changed by set-port (bridge_port_set_options) are stored as one
 * key-value record, "port-options/NAME" = the complete option set as
 * "KEY=VALUE" lines, which replaces the options of the port's add record
 * when the switch restarts.  (The store has no port-modify record; one
 * key-value record keeps each change atomic.)  add-port and del-port
 * clear it. */
#define PORT_MOD_KEY_PREFIX "port-options/"

static bool
port_mod_load(const struct bridge_set *set, const char *name,
              struct smap *out)
{
    char *key = xasprintf(PORT_MOD_KEY_PREFIX "%s", name);
    const char *v = db_get_kv(set->db, key);

    free(key);
    smap_init(out);
    if (!v) {
        return false;
    }
    char *copy = xstrdup(v), *save = NULL;
    for (char *line = strtok_r(copy, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        smap_add_kv(out, line);
    }
    free(copy);
    return true;
}

static int
port_mod_clear(struct bridge_set *set, const char *name, char **errp)
{
    char *key = xasprintf(PORT_MOD_KEY_PREFIX "%s", name);
    int err = 0;

    if (db_get_kv(set->db, key)) {
        err = db_del_kv(set->db, key, errp);
    }
    free(key);
    return err;
}

static struct bport *
bport_insert(struct bridge *br, const char *name, const char *type,
             uint32_t ofport, const struct smap *options)
{
    struct bport *p = xzalloc(sizeof *p);

    p->name = xstrdup(name);
    p->type = xstrdup(type);
    p->ofport = ofport;
    smap_init(&p->options);
    if (options) {
        smap_clone(&p->options, options);
    }
    p->created_msec = time_msec();
    hmap_insert(&br->ports, &p->node, hash_string(name, 0));
    return p;
}

int
bridge_port_add(struct bridge *br, const char *name, const char *type,
                uint32_t ofport, const struct smap *options,
                uint32_t *ofportp, char **errp)
{
    struct bridge_set *set = br->set;
    struct dpif_port_info info;
    uint32_t port_no = ofport;
    int err;

    if (!*name) {
        *errp = xstrdup("port name must not be empty");
        return -EINVAL;
    }
    if (name_in_use(set, name)) {
        *errp = xasprintf("cannot create port '%s': a %s by that name "
                          "already exists", name,
                          bridge_find(set, name) ? "bridge" : "port");
        return -TS_ERR_PORT_EXISTS;
    }
    if (ofport > DPIF_PORT_MAX) {
        *errp = xasprintf("cannot create port '%s': port number %u out of "
                          "range (1 to %u)", name, ofport, DPIF_PORT_MAX);
        return -EINVAL;
    }
    if (ofport && port_find_by_number(br, ofport)) {
        *errp = xasprintf("cannot create port '%s': port number %u is "
                          "already in use on bridge '%s'", name, ofport,
                          br->name);
        return -TS_ERR_OFPORT_IN_USE;
    }
    /* Configured-but-missing ports keep their numbers: pick one the
     * store does not already use. */
    if (!port_no) {
        for (port_no = 1; port_no <= DPIF_PORT_MAX; port_no++) {
            if (!port_find_by_number(br, port_no)) {
                break;
            }
        }
    }
    err = dpif_port_add(br->dpif, name, type && *type ? type : NULL,
                        options, &port_no, errp);
    if (err) {
        if (!*errp) {
            *errp = xasprintf("cannot add port '%s': %s", name,
                              ts_strerror(err));
        }
        return err;
    }
    const char *real_type = type && *type ? type : "system";
    if (!dpif_port_query(br->dpif, port_no, &info) && info.type[0]) {
        real_type = info.type;
    }
    err = port_mod_clear(set, name, errp);
    if (!err) {
        err = db_add_port(set->db, br->name, name, real_type, port_no,
                          options, errp);
    }
    if (err) {
        dpif_port_del(br->dpif, port_no);
        return err;
    }
    ofproto_port_added(br->ofproto, port_no, name);
    bport_insert(br, name, real_type, port_no, options);
    if (ofportp) {
        *ofportp = port_no;
    }
    TS_INFO("bridge %s: added port %s (%s) as %u", br->name, name,
            real_type, port_no);
    return 0;
}

int
bridge_port_del(struct bridge *br, const char *name, char **errp)
{
    struct bport *p = port_find(br, name);
    char *perr = NULL;
    int err;

    if (!p) {
        *errp = xasprintf("bridge '%s' has no port named '%s'%s", br->name,
                          name, !strcmp(name, br->name)
                          ? " (the internal port goes with the bridge)"
                          : "");
        return -TS_ERR_NO_PORT;
    }
    err = db_del_port(br->set->db, br->name, name, errp);
    if (err) {
        return err;
    }
    err = port_mod_clear(br->set, name, &perr);
    if (err) {
        /* Harmless: add-port clears a stale override first. */
        TS_WARN("bridge %s: port %s: %s", br->name, name,
                perr ? perr : ts_strerror(err));
        free(perr);
    }
    if (!p->missing) {
        ofproto_port_removed(br->ofproto, p->ofport);
        err = dpif_port_del(br->dpif, p->ofport);
        if (err) {
            TS_WARN("bridge %s: removing port %s from the datapath: %s",
                    br->name, name, ts_strerror(err));
        }
    }
    hmap_remove(&br->ports, &p->node);
    bport_free(p);
    TS_INFO("bridge %s: deleted port %s", br->name, name);
    return 0;
}

int
bridge_port_set_options(struct bridge *br, const char *name,
                        const struct smap *changes, char **errp)
{
    struct bport *p = port_find(br, name);
    const struct smap_entry *e;
    struct smap opts;
    struct ds value = DS_EMPTY_INITIALIZER;
    char *key;
    int err;

    if (!p) {
        *errp = xasprintf("bridge '%s' has no port named '%s'", br->name,
                          name);
        return -TS_ERR_NO_PORT;
    }
    if (p->missing) {
        *errp = xasprintf("cannot change port '%s': it is not in the "
                          "datapath", name);
        return -ENODEV;
    }
    smap_clone(&opts, &p->options);
    SMAP_FOR_EACH (e, changes) {
        if (!*e->key || strchr(e->key, '=') || strchr(e->key, '\n')
            || strchr(e->value, '\n')) {
            *errp = xasprintf("cannot change port '%s': bad option '%s'",
                              name, e->key);
            smap_destroy(&opts);
            return -EINVAL;
        }
        if (*e->value) {
            smap_replace(&opts, e->key, e->value);
        } else {
            smap_remove(&opts, e->key);
        }
    }
    /* Apply first (it validates); store; undo if the store fails. */
    err = dpif_port_set_options(br->dpif, p->ofport, &opts, errp);
    if (err) {
        if (*errp) {
            char *msg = xasprintf("cannot change port '%s': %s", name,
                                  *errp);
            free(*errp);
            *errp = msg;
        }
        smap_destroy(&opts);
        return err;
    }
    SMAP_FOR_EACH (e, &opts) {
        ds_put_format(&value, "%s=%s\n", e->key, e->value);
    }
    key = xasprintf(PORT_MOD_KEY_PREFIX "%s", name);
    err = db_set_kv(br->set->db, key, value.string ? value.string : "",
                    errp);
    free(key);
    ds_destroy(&value);
    if (err) {
        char *ignore = NULL;

        dpif_port_set_options(br->dpif, p->ofport, &p->options, &ignore);
        free(ignore);
        smap_destroy(&opts);
        return err;
    }
    smap_destroy(&p->options);
    p->options = opts;
    TS_INFO("bridge %s: port %s: options changed", br->name, name);
    return 0;
}

/* ---- Flows -------------------------------------------------------------- */

int
bridge_flow_mod(struct bridge *br, const struct ofp_flow_mod *fm,
                char **errp)
{
    return bridge_flow_mod_batch_encoded(br, fm, 1, NULL, errp);
}

int
bridge_flow_mod_batch(struct bridge *br, const struct ofp_flow_mod *mods,
                      size_t n, char **errp)
{
    return bridge_flow_mod_batch_encoded(br, mods, n, NULL, errp);
}

int
bridge_flow_mod_batch_encoded(struct bridge *br,
                              const struct ofp_flow_mod *mods, size_t n,
                              const struct db_flows *stored, char **errp)
{
    struct db_flows blobs;
    int err;

    /* Encode first: a mod the store cannot hold is refused before it
     * changes anything. */
    db_flows_init(&blobs);
    for (size_t i = 0; !stored && i < n; i++) {
        err = encode_fm(br->name, &mods[i], &blobs, errp);
        if (err) {
            goto out;
        }
    }
    err = n == 1 ? ofproto_flow_mod(br->ofproto, mods, errp)
                 : ofproto_flow_mod_batch(br->ofproto, mods, n, errp);
    if (err) {
        goto out;
    }
    char *dberr = NULL;
    err = db_add_flows(br->set->db, br->name, stored ? stored : &blobs,
                       &dberr);
    if (err) {
        *errp = xasprintf("flow change applied but not saved: %s",
                          dberr ? dberr : ts_strerror(err));
        free(dberr);
        TS_ERR("bridge %s: %s", br->name, *errp);
    }
out:
    db_flows_release(&blobs);
    return err;
}

int
bridge_group_mod(struct bridge *br, const struct ofp_group_mod *gm,
                 char **errp)
{
    struct db_flows blobs;
    int err;

    db_flows_init(&blobs);
    err = encode_gm(br->name, gm, &blobs, errp);
    if (err) {
        goto out;
    }
    err = ofproto_group_mod(br->ofproto, gm, errp);
    if (err) {
        goto out;
    }
    char *dberr = NULL;
    err = db_add_flows(br->set->db, br->name, &blobs, &dberr);
    if (err) {
        *errp = xasprintf("group change applied but not saved: %s",
                          dberr ? dberr : ts_strerror(err));
        free(dberr);
        TS_ERR("bridge %s: %s", br->name, *errp);
    }
out:
    db_flows_release(&blobs);
    return err;
}

/* Compaction: the bridge's current rules, replayable from the state after
 * bridge_add() (see the top of this file). */
struct snapshot_ctx {
    const char *bridge;
    struct db_flows *out;
    int err;
};

static void
snapshot_rule(void *ctx_, const struct ofp_flow_stats *fs)
{
    struct snapshot_ctx *ctx = ctx_;
    struct ofp_flow_mod fm;

    if (ctx->err) {
        return;
    }
    ofp_flow_mod_init(&fm, OFPFC_ADD);
    fm.table_id = fs->table_id;
    fm.priority = fs->priority;
    fm.new_cookie = fs->cookie;
    fm.idle_timeout = fs->idle_timeout;
    fm.hard_timeout = fs->hard_timeout;
    fm.importance = fs->importance;
    fm.flags = fs->flags & ~OFPFF_CHECK_OVERLAP;
    fm.match = fs->match;
    if (fs->ofpacts_len) {
        memcpy(ofpacts_put_uninit(&fm.ofpacts, fs->ofpacts_len),
               fs->ofpacts, fs->ofpacts_len);
    }
    ctx->err = encode_fm(ctx->bridge, &fm, ctx->out, NULL);
    ofp_flow_mod_release(&fm);
}

static void
snapshot_group(void *ctx_, const struct ofp_group_mod *desc,
               const struct ofp_group_stats *stats )
{
    struct snapshot_ctx *ctx = ctx_;
    struct ofp_group_mod gm = *desc;

    if (!ctx->err) {
        gm.command = OFPGC_ADD;
        ctx->err = encode_gm(ctx->bridge, &gm, ctx->out, NULL);
    }
}

static int
bridge_snapshot(void *set_, const char *name, struct db_flows *out)
{
    struct bridge_set *set = set_;
    struct bridge *br = bridge_find(set, name);
    struct snapshot_ctx ctx = { name, out, 0 };
    struct ofp_flow_mod del;

    if (!br) {
        return -TS_ERR_NO_BRIDGE;
    }
    ofp_flow_mod_init(&del, OFPFC_DELETE);
    del.table_id = OFP_TABLE_ALL;
    match_init_catchall(&del.match);
    ctx.err = encode_fm(name, &del, out, NULL);
    ofp_flow_mod_release(&del);
    if (!ctx.err) {
        ofproto_dump_groups(br->ofproto, OFPG_ALL, snapshot_group, &ctx);
    }
    if (!ctx.err) {
        ofproto_dump_flows(br->ofproto, NULL, OFP_TABLE_ALL, false,
                           snapshot_rule, &ctx);
    }
    return ctx.err;
}

static size_t
bridge_live_count(void *set_, const char *name)
{
    struct bridge *br = bridge_find(set_, name);

    return br ? (ofproto_flow_count(br->ofproto, OFP_TABLE_ALL)
                 + ofproto_group_count(br->ofproto) + 1) : 0;
}

/* Replays 'flows' into 'br' in order, in chunks; a chunk that fails as a
 * whole is retried one mod at a time so that one bad mod costs only
 * itself (logged). */
static int
replay_chunk(struct bridge *br, struct ofp_flow_mod **fms, size_t n)
{
    struct ofp_flow_mod *arr;
    char *err = NULL;

    if (!n) {
        return 0;
    }
    arr = xcalloc(n, sizeof *arr);

    for (size_t i = 0; i < n; i++) {
        arr[i] = *fms[i];       /* shallow: ownership stays with fms[] */
    }
    if (ofproto_flow_mod_batch(br->ofproto, arr, n, &err)) {
        free(err);
        for (size_t i = 0; i < n; i++) {
            err = NULL;
            if (ofproto_flow_mod(br->ofproto, fms[i], &err)) {
                TS_WARN("bridge %s: stored flow change not replayed: %s",
                        br->name, err ? err : "error");
            }
            free(err);
        }
    }
    free(arr);
    return 0;
}

static int
replay_flows(struct bridge *br, const struct db_flows *flows, char **errp)
{
    struct ofp_flow_mod **fms = xcalloc(REPLAY_CHUNK, sizeof *fms);
    size_t ofs = 0, n = 0, len;
    const uint8_t *blob;
    int err = 0;

    while (db_flows_next(flows, &ofs, &blob, &len)) {
        struct ofp_group_mod *gm;
        char *derr = NULL;
        err = decode_blob(blob, len, &fms[n], &gm, &derr);
        if (err) {
            *errp = xasprintf("%s: bridge '%s': %s",
                              db_path(br->set->db), br->name, derr);
            free(derr);
            goto out;
        }
        if (gm) {
            /* Keep the order: the flow mods before it go first. */
            replay_chunk(br, fms, n);
            while (n) {
                fm_free(fms[--n]);
            }
            if (ofproto_group_mod(br->ofproto, gm, &derr)) {
                TS_WARN("bridge %s: stored group change not replayed: %s",
                        br->name, derr ? derr : "error");
            }
            free(derr);
            gm_free(gm);
            continue;
        }
        if (++n == REPLAY_CHUNK) {
            replay_chunk(br, fms, n);
            while (n) {
                fm_free(fms[--n]);
            }
        }
    }
    replay_chunk(br, fms, n);
out:
    while (n) {
        fm_free(fms[--n]);
    }
    free(fms);
    return err;
}

static void
restore_ports(struct bridge *br, const struct db_bridge *dbr)
{
    struct db_port *dp;

    HMAP_FOR_EACH (dp, node, &dbr->ports) {
        uint32_t port_no = dp->ofport;
        char *perr = NULL;
        struct smap mod;
        bool modded = port_mod_load(br->set, dp->name, &mod);
        const struct smap *opts = modded ? &mod : &dp->options;
        struct bport *p = bport_insert(br, dp->name, dp->type, dp->ofport,
                                       opts);
        int err = dpif_port_add(br->dpif, dp->name, dp->type, opts,
                                &port_no, &perr);

        smap_destroy(&mod);
        if (err) {
            TS_WARN("bridge %s: cannot re-add port %s (kept in the "
                    "configuration): %s", br->name, dp->name,
                    perr ? perr : ts_strerror(err));
            p->missing = true;
        } else {
            ofproto_port_added(br->ofproto, port_no, dp->name);
        }
        free(perr);
    }
}

static int
restore_bridge(struct bridge_set *set, const struct db_bridge *dbr,
               char **errp)
{
    struct bridge *br;
    int err = bridge_create(set, dbr->name, false, &br, errp);

    if (err) {
        /* Without a datapath there is nothing to run; keep it stored. */
        TS_ERR("%s", *errp);
        free(*errp);
        *errp = NULL;
        return 0;
    }
    err = replay_flows(br, &dbr->flows, errp);
    if (err) {
        bridge_free(br);
        return err;
    }
    restore_ports(br, dbr);
    hmap_insert(&set->bridges, &br->node, hash_string(br->name, 0));
    TS_INFO("restored bridge %s: %zu ports, %zu flow changes replayed",
            br->name, hmap_count(&br->ports), dbr->flows.n);
    return 0;
}

/* ---- Conntrack configuration ------------------------------------------- */

#define CT_KEY_MAXCONNS "ct-maxconns"
#define CT_KEY_SEQ_CHK "ct-tcp-seq-chk"
#define CT_KEY_LIMIT_DEFAULT "ct-limit-default"
#define CT_KEY_LIMIT_ZONE "ct-limit-zone-"
#define CT_KEY_TP_DEFAULT "ct-tp-default"
#define CT_KEY_TP_ZONE "ct-tp-zone-"

struct dpif_ct *
bridge_set_ct(const struct bridge_set *set)
{
    return set->dpif_cfg.ct ? set->dpif_cfg.ct : dpif_ct_global();
}

/* Parses the zone number after 'prefix' in 'key'; false if 'key' is not
 * such a key. */
static bool
ct_key_zone(const char *key, const char *prefix, uint16_t *zone)
{
    size_t n = strlen(prefix);
    uint64_t z;

    if (strncmp(key, prefix, n) || !str_to_u64(key + n, UINT16_MAX, &z)) {
        return false;
    }
    *zone = z;
    return true;
}

static bool
ct_value_u32(const char *key, const char *value, uint32_t *out)
{
    uint64_t v;

    if (!str_to_u64(value, UINT32_MAX, &v)) {
        TS_WARN("store: ignoring '%s': bad value '%s'", key, value);
        return false;
    }
    *out = v;
    return true;
}

/* "k=v,k=v" -> smap. */
static void
ct_tp_parse(const char *text, struct smap *keys)
{
    char *copy = xstrdup(text);
    char *save = NULL;

    for (char *kv = strtok_r(copy, ",", &save); kv;
         kv = strtok_r(NULL, ",", &save)) {
        smap_add_kv(keys, kv);
    }
    free(copy);
}

static char *
ct_tp_format(const struct smap *keys)
{
    struct ds ds = DS_EMPTY_INITIALIZER;

    for (size_t i = 0; i < keys->n; i++) {
        ds_put_format(&ds, "%s%s=%s", i ? "," : "", keys->entries[i].key,
                      keys->entries[i].value);
    }
    return ds_steal_cstr(&ds);
}

/* Applies the stored "ct-*" settings; a bad one is logged and skipped. */
static void
ct_restore(struct bridge_set *set)
{
    const struct smap *kv = db_kv(set->db);
    struct dpif_ct *ct = bridge_set_ct(set);

    for (size_t i = 0; i < kv->n; i++) {
        const char *key = kv->entries[i].key;
        const char *value = kv->entries[i].value;
        uint32_t v;
        uint16_t zone;

        if (!strcmp(key, CT_KEY_MAXCONNS)) {
            if (ct_value_u32(key, value, &v)) {
                dpif_ct_set_maxconns(ct, v);
            }
        } else if (!strcmp(key, CT_KEY_SEQ_CHK)) {
            dpif_ct_set_tcp_seq_chk(ct, !strcmp(value, "true"));
        } else if (!strcmp(key, CT_KEY_LIMIT_DEFAULT)) {
            if (ct_value_u32(key, value, &v)) {
                dpif_ct_set_default_limit(ct, v);
            }
        } else if (ct_key_zone(key, CT_KEY_LIMIT_ZONE, &zone)) {
            if (ct_value_u32(key, value, &v)) {
                dpif_ct_set_zone_limit(ct, zone, v);
            }
        } else if (!strcmp(key, CT_KEY_TP_DEFAULT)
                   || ct_key_zone(key, CT_KEY_TP_ZONE, &zone)) {
            struct smap keys = SMAP_INITIALIZER;
            char *err = NULL;
            ct_tp_parse(value, &keys);
            if (dpif_ct_tp_set(ct, strcmp(key, CT_KEY_TP_DEFAULT)
                                   ? &zone : NULL, &keys, &err)) {
                TS_WARN("store: ignoring '%s': %s", key, err ? err : "");
            }
            free(err);
            smap_destroy(&keys);
        }
    }
}

int
bridge_ct_set_maxconns(struct bridge_set *set, uint32_t n, char **errp)
{
    struct dpif_ct *ct = bridge_set_ct(set);
    uint32_t old = dpif_ct_get_maxconns(ct);
    char value[16];

    snprintf(value, sizeof value, "%"PRIu32, n);
    dpif_ct_set_maxconns(ct, n);
    int err = db_set_kv(set->db, CT_KEY_MAXCONNS, value, errp);
    if (err) {
        dpif_ct_set_maxconns(ct, old);
    }
    return err;
}

int
bridge_ct_set_tcp_seq_chk(struct bridge_set *set, bool on, char **errp)
{
    struct dpif_ct *ct = bridge_set_ct(set);
    bool old = dpif_ct_get_tcp_seq_chk(ct);

    dpif_ct_set_tcp_seq_chk(ct, on);
    int err = db_set_kv(set->db, CT_KEY_SEQ_CHK, on ? "true" : "false",
                        errp);
    if (err) {
        dpif_ct_set_tcp_seq_chk(ct, old);
    }
    return err;
}

/* Restores zone 'zone's limit as it was ('old', 'own'). */
static void
ct_limit_restore(struct dpif_ct *ct, const uint16_t *zone, uint32_t old,
                 bool own)
{
    if (!zone) {
        dpif_ct_set_default_limit(ct, old);
    } else if (own) {
        dpif_ct_set_zone_limit(ct, *zone, old);
    } else {
        dpif_ct_del_zone_limit(ct, *zone);
    }
}

int
bridge_ct_set_limit(struct bridge_set *set, const uint16_t *zone,
                    uint32_t limit, char **errp)
{
    struct dpif_ct *ct = bridge_set_ct(set);
    struct dpif_ct_zone_stats zs = { 0 };
    uint32_t old;
    char value[16];
    char *key;

    if (zone) {
        dpif_ct_get_zone_stats(ct, *zone, &zs);
        old = zs.limit;
        dpif_ct_set_zone_limit(ct, *zone, limit);
        key = xasprintf(CT_KEY_LIMIT_ZONE "%u", *zone);
    } else {
        old = dpif_ct_get_default_limit(ct);
        dpif_ct_set_default_limit(ct, limit);
        key = xstrdup(CT_KEY_LIMIT_DEFAULT);
    }
    snprintf(value, sizeof value, "%"PRIu32, limit);
    int err = db_set_kv(set->db, key, value, errp);
    if (err) {
        ct_limit_restore(ct, zone, old, zs.own_limit);
    }
    free(key);
    return err;
}

int
bridge_ct_del_limit(struct bridge_set *set, uint16_t zone, char **errp)
{
    struct dpif_ct *ct = bridge_set_ct(set);
    struct dpif_ct_zone_stats zs;
    char *key = xasprintf(CT_KEY_LIMIT_ZONE "%u", zone);
    int err = 0;

    dpif_ct_get_zone_stats(ct, zone, &zs);
    dpif_ct_del_zone_limit(ct, zone);
    if (db_get_kv(set->db, key)) {
        err = db_del_kv(set->db, key, errp);
        if (err) {
            ct_limit_restore(ct, &zone, zs.limit, zs.own_limit);
        }
    }
    free(key);
    return err;
}

int
bridge_ct_set_tp(struct bridge_set *set, const uint16_t *zone,
                 const struct smap *keys, char **errp)
{
    struct dpif_ct *ct = bridge_set_ct(set);
    struct smap old = SMAP_INITIALIZER, now = SMAP_INITIALIZER;
    bool had = !dpif_ct_tp_get(ct, zone, &old);
    char *key = (zone ? xasprintf(CT_KEY_TP_ZONE "%u", *zone)
                      : xstrdup(CT_KEY_TP_DEFAULT));

    int err = dpif_ct_tp_set(ct, zone, keys, errp);
    if (err) {
        goto out;
    }
    dpif_ct_tp_get(ct, zone, &now);
    char *value = ct_tp_format(&now);
    err = db_set_kv(set->db, key, value, errp);
    free(value);
    if (err) {
        /* Put the old policy back. */
        if (zone) {
            dpif_ct_tp_del(ct, *zone);
        }
        if (had) {
            dpif_ct_tp_set(ct, zone, &old, NULL);
        }
    }
out:
    free(key);
    smap_destroy(&old);
    smap_destroy(&now);
    return err;
}

int
bridge_ct_del_tp(struct bridge_set *set, uint16_t zone, char **errp)
{
    struct dpif_ct *ct = bridge_set_ct(set);
    struct smap old = SMAP_INITIALIZER;
    char *key = xasprintf(CT_KEY_TP_ZONE "%u", zone);
    int err;

    if (dpif_ct_tp_get(ct, &zone, &old)) {
        err = -ENOENT;
        if (errp) {
            *errp = xasprintf("zone %u has no timeout policy", zone);
        }
        goto out;
    }
    err = dpif_ct_tp_del(ct, zone);
    if (!err && db_get_kv(set->db, key)) {
        err = db_del_kv(set->db, key, errp);
        if (err) {
            dpif_ct_tp_set(ct, &zone, &old, NULL);
        }
    }
out:
    free(key);
    smap_destroy(&old);
    return err;
}

static int
compare_u16(const void *a_, const void *b_)
{
    const uint16_t *a = a_, *b = b_;
    return *a < *b ? -1 : *a > *b;
}

size_t
bridge_ct_zones(const struct bridge_set *set, bool tp, uint16_t *zones,
                size_t max)
{
    const struct smap *kv = db_kv(set->db);
    const char *prefix = tp ? CT_KEY_TP_ZONE : CT_KEY_LIMIT_ZONE;
    size_t n = 0;

    for (size_t i = 0; i < kv->n; i++) {
        uint16_t zone;
        if (ct_key_zone(kv->entries[i].key, prefix, &zone)) {
            if (n < max) {
                zones[n] = zone;
            }
            n++;
        }
    }
    if (MIN(n, max)) {
        qsort(zones, MIN(n, max), sizeof *zones, compare_u16);
    }
    return n;
}

int
bridge_set_create(struct db *db, const struct bridge_set_config *cfg,
                  struct bridge_set **setp, char **errp)
{
    struct bridge_set *set = xzalloc(sizeof *set);
    const struct db_bridge *dbr;
    int err = 0;

    set->db = db;
    if (cfg) {
        set->dpif_cfg = cfg->dpif;
    }
    set->internal_type = xstrdup(cfg && cfg->internal_port_type
                                 ? cfg->internal_port_type : "internal");
    hmap_init(&set->bridges);
    *errp = NULL;
    /* Before any port exists: no packet meets an unconfigured tracker. */
    ct_restore(set);
    HMAP_FOR_EACH (dbr, node, db_bridges(db)) {
        if (!err) {
            err = restore_bridge(set, dbr, errp);
        }
    }
    if (err) {
        bridge_set_destroy(set);
        *setp = NULL;
        return err;
    }
    db_set_snapshot_cb(db, bridge_snapshot, set);
    db_set_live_count_cb(db, bridge_live_count, set);
    /* Replayed: from now on the flow tables and the snapshot callback
     * hold the flows, and the store need not keep a copy in memory. */
    db_drop_flow_blobs(db);
    *setp = set;
    return 0;
}

void
bridge_set_destroy(struct bridge_set *set)
{
    struct bridge *br;

    if (!set) {
        return;
    }
    if (set->db) {
        db_set_snapshot_cb(set->db, NULL, NULL);
        db_set_live_count_cb(set->db, NULL, NULL);
    }
    HMAP_FOR_EACH_POP (br, node, &set->bridges) {
        bridge_free(br);
    }
    hmap_destroy(&set->bridges);
    free(set->internal_type);
    free(set);
}

void
bridge_set_set_packet_in_cb(struct bridge_set *set, bridge_packet_in_cb *cb,
                            void *aux)
{
    set->packet_in_cb = cb;
    set->packet_in_aux = aux;
}

void
bridge_set_set_wakeup_cb(struct bridge_set *set, void (*cb)(void *),
                         void *aux)
{
    set->wakeup_cb = cb;
    set->wakeup_aux = aux;
}

long long
bridge_set_run(struct bridge_set *set)
{
    long long next = time_msec() + 1000;
    struct bridge *br;

    HMAP_FOR_EACH (br, node, &set->bridges) {
        ofproto_run(br->ofproto);
        next = MIN(next, ofproto_next_wakeup_msec(br->ofproto));
        if (br->expired.n) {
            char *err = NULL;
            if (db_add_flows(set->db, br->name, &br->expired, &err)) {
                TS_WARN("bridge %s: cannot store expired flows: %s",
                        br->name, err ? err : "error");
                free(err);
            }
            db_flows_clear(&br->expired);
        }
    }
    return next;
}

void
bridge_set_get_stats(const struct bridge_set *set,
                     struct bridge_set_stats *s)
{
    struct bridge *br;

    memset(s, 0, sizeof *s);
    HMAP_FOR_EACH (br, node, &set->bridges) {
        s->n_bridges++;
        s->n_ports += hmap_count(&br->ports) + 1;
        s->n_flows += ofproto_flow_count(br->ofproto, OFP_TABLE_ALL);
        s->n_megaflows += dpif_flow_count(br->dpif);
        s->n_workers += set->dpif_cfg.n_workers > 0
                        ? set->dpif_cfg.n_workers : 1;
    }
}
