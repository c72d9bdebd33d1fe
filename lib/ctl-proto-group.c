/* ctl-proto-group: the wire form of group-mods and group dump entries
 * (docs/protocol.md, "Group-mod").  Shares the cursors of
 * ctl-proto-private.h. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ctl-proto.h"
#include "ctl-proto-private.h"
#include "ofp-group.h"
#include "ofpact.h"
#include "util.h"

/* Fixed part of a group-mod: u8 command, u8 type, u16 n_buckets,
 * u32 group_id, u64 selection_method_param, string selection_method. */
bool
ctl_put_group_mod(struct ctl_enc *e, const struct ofp_group_mod *gm)
{
    if (gm->n_buckets > UINT16_MAX) {
        return false;
    }
    ctl_put_u8(e, gm->command);
    ctl_put_u8(e, gm->type);
    ctl_put_u16(e, gm->n_buckets);
    ctl_put_u32(e, gm->group_id);
    ctl_put_u64(e, gm->selection_method_param);
    ctl_put_string(e, gm->selection_method);
    for (size_t i = 0; i < gm->n_buckets; i++) {
        const struct ofp_bucket *b = &gm->buckets[i];
        ctl_put_u32(e, b->bucket_id);
        ctl_put_u16(e, b->weight);
        ctl_put_u16(e, 0);
        ctl_put_u32(e, b->watch_port);
        ctl_put_u32(e, b->watch_group);
        if (!ctl_put_ofpacts_block(e, b->ofpacts, b->ofpacts_len)) {
            return false;
        }
    }
    return true;
}

void
ctl_group_mod_free(struct ofp_group_mod *gm)
{
    if (gm) {
        ofp_group_mod_release(gm);
        free(gm);
    }
}

/* Smallest encoded bucket: 16 fixed bytes and a 2-byte action length. */
#define BUCKET_MIN_LEN 18

bool
ctl_get_group_mod(struct ctl_dec *d, struct ofp_group_mod **gmp)
{
    struct ofp_group_mod *gm = xmalloc(sizeof *gm);
    uint8_t command, type;
    uint16_t n, pad;
    char *method = NULL;

    ofp_group_mod_init(gm, OFPGC_ADD);
    *gmp = NULL;
    if (!ctl_get_u8(d, "group command", &command)
        || !ctl_get_u8(d, "group type", &type)
        || !ctl_get_u16(d, "bucket count", &n)
        || !ctl_get_u32(d, "group id", &gm->group_id)
        || !ctl_get_u64(d, "selection method parameter",
                        &gm->selection_method_param)
        || !ctl_get_string(d, "selection method", &method)) {
        goto error;
    }
    if (command > OFPGC_ADD_OR_MOD) {
        ctl_dec_fail(d, "unknown group command %u", command);
        goto error;
    }
    if (type > OFPGT_FF) {
        ctl_dec_fail(d, "unknown group type %u", type);
        goto error;
    }
    if (strlen(method) >= sizeof gm->selection_method) {
        ctl_dec_fail(d, "selection method '%s' too long", method);
        goto error;
    }
    if (n > ctl_dec_left(d) / BUCKET_MIN_LEN) {
        ctl_dec_fail(d, "bucket count %u exceeds the message", n);
        goto error;
    }
    gm->command = command;
    gm->type = type;
    strcpy(gm->selection_method, method);
    gm->buckets = n ? xcalloc(n, sizeof *gm->buckets) : NULL;
    for (uint16_t i = 0; i < n; i++) {
        struct ofp_bucket *b = &gm->buckets[i];
        gm->n_buckets++;
        if (!ctl_get_u32(d, "bucket id", &b->bucket_id)
            || !ctl_get_u16(d, "bucket weight", &b->weight)
            || !ctl_get_u16(d, "bucket padding", &pad)
            || !ctl_get_u32(d, "bucket watch_port", &b->watch_port)
            || !ctl_get_u32(d, "bucket watch_group", &b->watch_group)
            || !ctl_get_ofpacts_block(d, &b->ofpacts, &b->ofpacts_len)) {
            goto error;
        }
    }
    free(method);
    *gmp = gm;
    return true;

error:
    free(method);
    ctl_group_mod_free(gm);
    return false;
}

/* Entry: group-mod, then u32 ref_count, u32 pad, u64 packet_count,
 * u64 byte_count, u64 duration_msec, then per bucket u64 packets,
 * u64 bytes. */
bool
ctl_put_group_entry(struct ctl_enc *e, const struct ctl_group_entry *g)
{
    if (!g->desc || !ctl_put_group_mod(e, g->desc)) {
        return false;
    }
    ctl_put_u32(e, g->ref_count);
    ctl_put_u32(e, 0);
    ctl_put_u64(e, g->packet_count);
    ctl_put_u64(e, g->byte_count);
    ctl_put_u64(e, g->duration_msec);
    for (size_t i = 0; i < g->desc->n_buckets; i++) {
        ctl_put_u64(e, g->bucket_stats[i].packet_count);
        ctl_put_u64(e, g->bucket_stats[i].byte_count);
    }
    return true;
}

bool
ctl_get_group_entry(struct ctl_dec *d, struct ctl_group_entry *g)
{
    uint32_t pad;
    uint64_t duration;

    memset(g, 0, sizeof *g);
    if (!ctl_get_group_mod(d, &g->desc)
        || !ctl_get_u32(d, "group ref_count", &g->ref_count)
        || !ctl_get_u32(d, "group padding", &pad)
        || !ctl_get_u64(d, "group packet_count", &g->packet_count)
        || !ctl_get_u64(d, "group byte_count", &g->byte_count)
        || !ctl_get_u64(d, "group duration", &duration)) {
        return false;
    }
    g->duration_msec = (int64_t) duration;
    size_t n = g->desc->n_buckets;
    if (n > ctl_dec_left(d) / 16) {
        return ctl_dec_fail(d, "bucket statistics exceed the message");
    }
    g->bucket_stats = xcalloc(n ? n : 1, sizeof *g->bucket_stats);
    for (size_t i = 0; i < n; i++) {
        if (!ctl_get_u64(d, "bucket packet_count",
                         &g->bucket_stats[i].packet_count)
            || !ctl_get_u64(d, "bucket byte_count",
                            &g->bucket_stats[i].byte_count)) {
            return false;
        }
    }
    return true;
}

void
ctl_group_entry_release(struct ctl_group_entry *g)
{
    ctl_group_mod_free(g->desc);
    free(g->bucket_stats);
    memset(g, 0, sizeof *g);
}
