/* ofp-group: see ofp-group.h. */
#include "ofp-group.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "dynamic-string.h"
#include "ofp-port-map.h"
#include "ofpact.h"
#include "util.h"

static const char *const group_type_names[] = {
    [OFPGT_ALL] = "all",
    [OFPGT_SELECT] = "select",
    [OFPGT_INDIRECT] = "indirect",
    [OFPGT_FF] = "ff",
};

const char *
ofp_group_type_name(enum ofp_group_type type)
{
    return (unsigned int) type < ARRAY_SIZE(group_type_names)
           ? group_type_names[type] : "unknown";
}

bool
ofp_group_type_from_string(const char *s, enum ofp_group_type *type)
{
    for (size_t i = 0; i < ARRAY_SIZE(group_type_names); i++) {
        if (!strcmp(s, group_type_names[i])) {
            *type = (enum ofp_group_type) i;
            return true;
        }
    }
    if (!strcmp(s, "fast_failover")) {
        *type = OFPGT_FF;
        return true;
    }
    return false;
}

void
ofp_group_mod_init(struct ofp_group_mod *gm,
                   enum ofp_group_mod_command command)
{
    memset(gm, 0, sizeof *gm);
    gm->command = command;
    gm->group_id = OFPG_ALL;
    gm->type = OFPGT_ALL;
}

void
ofp_group_mod_release(struct ofp_group_mod *gm)
{
    if (!gm) {
        return;
    }
    for (size_t i = 0; i < gm->n_buckets; i++) {
        free(gm->buckets[i].ofpacts);
    }
    free(gm->buckets);
    gm->buckets = NULL;
    gm->n_buckets = 0;
}

void
ofp_group_mod_clone(struct ofp_group_mod *dst,
                    const struct ofp_group_mod *src)
{
    *dst = *src;
    dst->buckets = src->n_buckets
                   ? xcalloc(src->n_buckets, sizeof *dst->buckets) : NULL;
    for (size_t i = 0; i < src->n_buckets; i++) {
        const struct ofp_bucket *b = &src->buckets[i];

        dst->buckets[i] = *b;
        dst->buckets[i].ofpacts = b->ofpacts_len
                                  ? xmemdup(b->ofpacts, b->ofpacts_len)
                                  : NULL;
    }
}

struct ofp_bucket *
ofp_group_mod_add_bucket(struct ofp_group_mod *gm,
                         const struct ofpact *ofpacts, size_t len)
{
    struct ofp_bucket *b;

    gm->buckets = xrealloc(gm->buckets,
                           (gm->n_buckets + 1) * sizeof *gm->buckets);
    b = &gm->buckets[gm->n_buckets];
    b->bucket_id = gm->n_buckets++;
    b->weight = gm->type == OFPGT_SELECT ? 1 : 0;
    b->watch_port = OFPP_NONE;
    b->watch_group = OFPG_ANY;
    b->ofpacts = len ? xmemdup(ofpacts, len) : NULL;
    b->ofpacts_len = len;
    return b;
}

/* ---- Parsing ------------------------------------------------------------ */

/* Returns the offset in 's' of the next top-level (outside parentheses)
 * "bucket=" that starts 's' or follows a ',' or white space, or
 * strlen(s). */
static size_t
find_bucket(const char *s)
{
    int depth = 0;

    for (size_t i = 0; s[i]; i++) {
        if (s[i] == '(') {
            depth++;
        } else if (s[i] == ')') {
            depth--;
        } else if (!depth && !strncmp(s + i, "bucket=", 7)
                   && (i == 0 || s[i - 1] == ',' || s[i - 1] == ' '
                       || s[i - 1] == '\t')) {
            return i;
        }
    }
    return strlen(s);
}

static char *
parse_u64(const char *what, const char *s, uint64_t max, uint64_t *out)
{
    if (!str_to_u64(s, max, out)) {
        return xasprintf("invalid %s '%s'", what, s);
    }
    return NULL;
}

/* Parses one bucket's text (after "bucket=", up to the next bucket). */
static char *
parse_bucket(struct ofp_group_mod *gm, char *s,
             const struct ofp_port_map *map)
{
    struct ofp_bucket b = {
        .bucket_id = gm->n_buckets,
        .weight = gm->type == OFPGT_SELECT ? 1 : 0,
        .watch_port = OFPP_NONE,
        .watch_group = OFPG_ANY,
    };
    struct ofpacts acts;
    char *error = NULL;

    for (;;) {
        size_t klen = strcspn(s, ":=,");
        char *end, *val;
        uint64_t x;

        if (s[klen] != ':' && s[klen] != '=') {
            break;
        }
        if (!(klen == 9 && !strncmp(s, "bucket_id", 9))
            && !(klen == 6 && !strncmp(s, "weight", 6))
            && !(klen == 10 && !strncmp(s, "watch_port", 10))
            && !(klen == 11 && !strncmp(s, "watch_group", 11))) {
            break;
        }
        val = s + klen + 1;
        end = val + strcspn(val, ",");
        if (*end) {
            *end++ = '\0';
        }
        if (!strncmp(s, "bucket_id", 9)) {
            error = parse_u64("bucket id", val, 0xffffff00u, &x);
            b.bucket_id = x;
        } else if (!strncmp(s, "weight", 6)) {
            error = parse_u64("bucket weight", val, UINT16_MAX, &x);
            b.weight = x;
        } else if (!strncmp(s, "watch_port", 10)) {
            uint32_t port;

            if (!ofp_port_parse(val, map, &port)) {
                error = xasprintf("invalid watch_port '%s'", val);
            }
            b.watch_port = port;
        } else {
            if (!strcmp(val, "any")) {
                x = OFPG_ANY;
            } else {
                error = parse_u64("watch_group", val, OFPG_MAX, &x);
            }
            b.watch_group = x;
        }
        if (error) {
            return error;
        }
        s = end;
    }
    if (!strncmp(s, "actions=", 8)) {
        s += 8;
    } else if (!strncmp(s, "actions:", 8)) {
        s += 8;
    }
    ofpacts_init(&acts);
    error = ofpacts_parse(s, map, &acts);
    if (!error) {
        struct ofp_bucket *nb;

        if (gm->n_buckets >= OFPG_MAX_BUCKETS) {
            error = xasprintf("too many buckets (at most %d)",
                              OFPG_MAX_BUCKETS);
        } else {
            nb = ofp_group_mod_add_bucket(
                gm, (const struct ofpact *) (const void *) acts.data,
                acts.size);
            nb->bucket_id = b.bucket_id;
            nb->weight = b.weight;
            nb->watch_port = b.watch_port;
            nb->watch_group = b.watch_group;
        }
    } else {
        char *e = xasprintf("bucket %zu: %s", gm->n_buckets, error);

        free(error);
        error = e;
    }
    ofpacts_release(&acts);
    return error;
}

/* Parses the group-level "key=value" items in 's' (no buckets). */
static char *
parse_group_items(struct ofp_group_mod *gm, char *s, bool *have_id,
                  bool *have_type)
{
    char *save = NULL;

    for (char *tok = strtok_r(s, ", \t", &save); tok;
         tok = strtok_r(NULL, ", \t", &save)) {
        char *val = strchr(tok, '=');
        uint64_t x;
        char *error = NULL;

        if (!val) {
            return xasprintf("missing value for '%s'", tok);
        }
        *val++ = '\0';
        if (!strcmp(tok, "group_id")) {
            if (!strcmp(val, "all")) {
                gm->group_id = OFPG_ALL;
            } else {
                error = parse_u64("group_id", val, OFPG_MAX, &x);
                gm->group_id = x;
            }
            *have_id = true;
        } else if (!strcmp(tok, "type")) {
            if (!ofp_group_type_from_string(val, &gm->type)) {
                return xasprintf("unknown group type '%s'", val);
            }
            *have_type = true;
        } else if (!strcmp(tok, "selection_method")) {
            if (strcmp(val, "hash") && strcmp(val, "dp_hash")) {
                return xasprintf("unknown selection_method '%s'", val);
            }
            snprintf(gm->selection_method, sizeof gm->selection_method,
                     "%s", val);
        } else if (!strcmp(tok, "selection_method_param")) {
            error = parse_u64("selection_method_param", val, UINT64_MAX,
                              &gm->selection_method_param);
        } else {
            return xasprintf("unknown keyword '%s'", tok);
        }
        if (error) {
            return error;
        }
    }
    return NULL;
}

static char *
parse_group_mod__(struct ofp_group_mod *gm, char *s,
                  const struct ofp_port_map *map)
{
    size_t head_len = find_bucket(s);
    bool have_id = false, have_type = false;
    char *rest = s[head_len] ? s + head_len : NULL;
    char *error;

    s[head_len] = '\0';
    error = parse_group_items(gm, s, &have_id, &have_type);
    if (error) {
        return error;
    }
    if (gm->command == OFPGC_DELETE) {
        if (rest || have_type || gm->selection_method[0]) {
            return xstrdup("del-groups takes only group_id");
        }
        return NULL;
    }
    if (!have_id) {
        return xstrdup("group_id must be specified");
    }
    if (gm->group_id == OFPG_ALL) {
        return xstrdup("group_id=all is only allowed for delete");
    }
    if (gm->selection_method[0] && gm->type != OFPGT_SELECT) {
        return xstrdup("selection_method is only allowed for select groups");
    }
    while (rest) {
        char *body = rest + 7;          /* after "bucket=" */
        size_t len = find_bucket(body);
        char *next = body[len] ? body + len : NULL;

        body[len] = '\0';
        /* Strip the separator before the next bucket. */
        while (len && (body[len - 1] == ',' || body[len - 1] == ' '
                       || body[len - 1] == '\t')) {
            body[--len] = '\0';
        }
        error = parse_bucket(gm, body, map);
        if (error) {
            return error;
        }
        rest = next;
    }
    if (gm->type == OFPGT_INDIRECT && gm->n_buckets != 1) {
        return xstrdup("indirect groups must have exactly one bucket");
    }
    for (size_t i = 0; i < gm->n_buckets; i++) {
        for (size_t j = 0; j < i; j++) {
            if (gm->buckets[i].bucket_id == gm->buckets[j].bucket_id) {
                return xasprintf("duplicate bucket_id %"PRIu32,
                                 gm->buckets[i].bucket_id);
            }
        }
    }
    return NULL;
}

char *
ofp_parse_group_mod(struct ofp_group_mod *gm, const char *text,
                    enum ofp_group_mod_command command,
                    const struct ofp_port_map *map)
{
    char *copy = xstrdup(text ? text : "");
    char *error;

    ofp_group_mod_init(gm, command);
    error = parse_group_mod__(gm, copy, map);
    free(copy);
    if (error) {
        ofp_group_mod_release(gm);
    }
    return error;
}

/* ---- Formatting --------------------------------------------------------- */

static void
format_bucket(struct ds *s, const struct ofp_group_mod *gm,
              const struct ofp_bucket *b, const struct ofp_port_map *map)
{
    ds_put_format(s, ",bucket=bucket_id:%"PRIu32",", b->bucket_id);
    if (b->weight != (gm->type == OFPGT_SELECT ? 1 : 0)) {
        ds_put_format(s, "weight:%u,", b->weight);
    }
    if (b->watch_port != OFPP_NONE) {
        ds_put_cstr(s, "watch_port:");
        ofp_port_format(b->watch_port, map, s);
        ds_put_char(s, ',');
    }
    if (b->watch_group != OFPG_ANY) {
        ds_put_format(s, "watch_group:%"PRIu32",", b->watch_group);
    }
    ds_put_cstr(s, "actions=");
    ofpacts_format(b->ofpacts, b->ofpacts_len, map, s);
}

void
ofp_format_group_mod(struct ds *s, const struct ofp_group_mod *gm,
                     const struct ofp_port_map *map)
{
    if (gm->group_id == OFPG_ALL) {
        ds_put_cstr(s, "group_id=all");
    } else {
        ds_put_format(s, "group_id=%"PRIu32, gm->group_id);
    }
    if (gm->command == OFPGC_DELETE) {
        return;
    }
    ds_put_format(s, ",type=%s", ofp_group_type_name(gm->type));
    if (gm->selection_method[0]) {
        ds_put_format(s, ",selection_method=%s", gm->selection_method);
        if (gm->selection_method_param) {
            ds_put_format(s, ",selection_method_param=%"PRIu64,
                          gm->selection_method_param);
        }
    }
    for (size_t i = 0; i < gm->n_buckets; i++) {
        format_bucket(s, gm, &gm->buckets[i], map);
    }
}

void
ofp_format_group_desc(struct ds *s, const struct ofp_group_mod *gm,
                      const struct ofp_port_map *map)
{
    struct ofp_group_mod desc = *gm;

    desc.command = OFPGC_ADD;
    ds_put_char(s, ' ');
    ofp_format_group_mod(s, &desc, map);
}

void
ofp_format_group_stats(struct ds *s, const struct ofp_group_stats *gs)
{
    ds_put_format(s, " group_id=%"PRIu32",duration=%lld.%03llds,"
                  "ref_count=%"PRIu32",packet_count=%"PRIu64
                  ",byte_count=%"PRIu64, gs->group_id,
                  gs->duration_msec / 1000, gs->duration_msec % 1000,
                  gs->ref_count, gs->packet_count, gs->byte_count);
    for (size_t i = 0; i < gs->n_buckets; i++) {
        ds_put_format(s, ",bucket%zu:packet_count=%"PRIu64",byte_count=%"
                      PRIu64, i, gs->buckets[i].packet_count,
                      gs->buckets[i].byte_count);
    }
}
