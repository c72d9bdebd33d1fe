/* ofp-flow: flow-mod parsing and flow-mod/flow-stats formatting. */
#include "ofp-flow.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "dynamic-string.h"
#include "meta-flow.h"
#include "ofp-port-map.h"
#include "util.h"


void
ofp_flow_mod_init(struct ofp_flow_mod *fm, enum ofp_flow_mod_command cmd)
{
    memset(fm, 0, sizeof *fm);
    fm->command = cmd;
    fm->table_id = cmd == OFPFC_ADD ? 0 : OFP_TABLE_ALL;
    fm->priority = OFP_DEFAULT_PRIORITY;
    fm->out_port = OFPP_NONE;
    match_init_catchall(&fm->match);
    ofpacts_init(&fm->ofpacts);
}

void
ofp_flow_mod_release(struct ofp_flow_mod *fm)
{
    if (fm) {
        ofpacts_release(&fm->ofpacts);
    }
}

static bool
is_delim(char c)
{
    switch (c) {
    case ',': case ' ': case '\t': case '\r': case '\n':
        return true;
    default:
        return false;
    }
}

/* Offset of the "actions=" (or "action=", ':' also accepted) keyword that
 * starts an item, or -1. */
static long
find_actions(const char *text, size_t *value_ofs)
{
    for (const char *p = text; (p = strstr(p, "action")) != NULL; p++) {
        const char *q = p + 6;

        if (p != text && !is_delim(p[-1])) {
            continue;
        }
        if (*q == 's') {
            q++;
        }
        if (*q == '=' || *q == ':') {
            *value_ofs = q + 1 - text;
            return p - text;
        }
    }
    return -1;
}

struct shorthand {
    const char *name;
    uint16_t dl_type;
    uint8_t nw_proto;           /* 0: none */
};

static const struct shorthand shorthands[] = {
    { "ip", ETH_TYPE_IP, 0 },
    { "ipv6", ETH_TYPE_IPV6, 0 },
    { "icmp", ETH_TYPE_IP, IPPROTO_ICMP },
    { "icmp6", ETH_TYPE_IPV6, IPPROTO_ICMPV6_ },
    { "tcp", ETH_TYPE_IP, IPPROTO_TCP },
    { "tcp6", ETH_TYPE_IPV6, IPPROTO_TCP },
    { "udp", ETH_TYPE_IP, IPPROTO_UDP },
    { "udp6", ETH_TYPE_IPV6, IPPROTO_UDP },
    { "sctp", ETH_TYPE_IP, IPPROTO_SCTP },
    { "sctp6", ETH_TYPE_IPV6, IPPROTO_SCTP },
    { "arp", ETH_TYPE_ARP, 0 },
    { "rarp", ETH_TYPE_RARP, 0 },
};

static const struct {
    const char *name;
    uint16_t flag;
} flag_names[] = {
    { "send_flow_rem", OFPFF_SEND_FLOW_REM },
    { "check_overlap", OFPFF_CHECK_OVERLAP },
    { "reset_counts", OFPFF_RESET_COUNTS },
    { "no_packet_counts", OFPFF_NO_PKT_COUNTS },
    { "no_byte_counts", OFPFF_NO_BYT_COUNTS },
};

/* A field the text set, for the prerequisite check at the end. */
struct set_field {
    const struct mf_field *mf;
    size_t col;                 /* 1-based column of its name */
    size_t name_len;            /* the name as written: text[col - 1...] */
};

struct parse_state {
    struct ofp_flow_mod *fm;    /* NULL when parsing a match alone */
    struct match *match;
    int *priority;
    enum ofp_flow_mod_command command;
    const struct ofp_port_map *port_map;
    const char *text;           /* the text being parsed */
    struct set_field *fields;   /* 'inline_fields' until it outgrows it */
    size_t n_fields, allocated_fields;
    struct set_field inline_fields[8];
};

/* Fields that share storage and representation with another field whose
 * prerequisite OVS also accepts for the same text. */
static enum mf_field_id
alternate_field(enum mf_field_id id)
{
    switch (id) {
    case MFF_NW_SRC: return MFF_ARP_SPA;
    case MFF_NW_DST: return MFF_ARP_TPA;
    case MFF_ICMP_TYPE: return MFF_ICMPV6_TYPE;
    case MFF_ICMP_CODE: return MFF_ICMPV6_CODE;
    case MFF_ICMPV6_TYPE: return MFF_ICMP_TYPE;
    case MFF_ICMPV6_CODE: return MFF_ICMP_CODE;
    default: return id;
    }
}

static char *
check_prereqs(const struct parse_state *ps)
{
    for (size_t i = 0; i < ps->n_fields; i++) {
        const struct set_field *f = &ps->fields[i];
        const struct mf_field *alt = mf_from_id(alternate_field(f->mf->id));

        if (!mf_are_match_prereqs_ok(f->mf, ps->match)
            && !mf_are_match_prereqs_ok(alt, ps->match)) {
            return xasprintf("prerequisites not met for '%.*s' (needs %s) "
                             "at column %zu", (int) f->name_len,
                             ps->text + f->col - 1,
                             mf_prereq_string(f->mf->prereq), f->col);
        }
    }
    return NULL;
}

static char *
with_col(char *error, size_t col)
{
    char *e = xasprintf("%s at column %zu", error, col);

    free(error);
    return e;
}

static char *
parse_u64_value(const char *name, const char *value, uint64_t max,
                uint64_t *out)
{
    if (!str_to_u64(value, max, out)) {
        return xasprintf("invalid value '%s' for '%s'", value, name);
    }
    return NULL;
}

static char *
parse_cookie(struct parse_state *ps, const char *value)
{
    struct ofp_flow_mod *fm = ps->fm;
    const char *slash = strchr(value, '/');
    uint64_t v, m;
    char *error;

    if (slash) {
        char *head = xstrndup(value, slash - value);

        if (fm->command == OFPFC_ADD) {
            free(head);
            return xstrdup("flow additions cannot use a cookie mask");
        }
        error = parse_u64_value("cookie", head, UINT64_MAX, &v);
        free(head);
        if (!error) {
            error = parse_u64_value("cookie", slash + 1, UINT64_MAX, &m);
        }
        if (!error) {
            fm->cookie = v & m;
            fm->cookie_mask = m;
        }
        return error;
    }
    if (fm->command == OFPFC_DELETE || fm->command == OFPFC_DELETE_STRICT) {
        return xstrdup("cannot set cookie (use cookie=VALUE/MASK to match "
                       "one)");
    }
    error = parse_u64_value("cookie", value, UINT64_MAX, &v);
    if (!error) {
        fm->new_cookie = v;
        fm->modify_cookie = fm->command != OFPFC_ADD;
    }
    return error;
}

/* True if 'name' might be a flow-mod keyword (a cheap filter: most field
 * names are not). */
static bool
is_keyword(const char *name)
{
    static const struct {
        const char *name;
        size_t len;
    } keywords[] = {
#define KW(S) { S, sizeof S - 1 }
        KW("priority"), KW("table"), KW("cookie"), KW("idle_timeout"),
        KW("hard_timeout"), KW("importance"), KW("out_port"),
        KW("duration"), KW("n_packets"), KW("n_bytes"), KW("idle_age"),
        KW("hard_age"),
#undef KW
    };
    size_t len = strnlen(name, 13);

    for (size_t i = 0; i < ARRAY_SIZE(keywords); i++) {
        if (keywords[i].len == len && keywords[i].name[0] == name[0]) {
            return true;
        }
    }
    return false;
}

/* Flow-mod keywords.  Returns true if 'name' was one (error or not). */
static bool
parse_keyword(struct parse_state *ps, const char *name, const char *value,
              char **error)
{
    struct ofp_flow_mod *fm = ps->fm;
    uint64_t x;

    *error = NULL;
    if (!is_keyword(name)) {
        return false;
    }
    if (!strcmp(name, "priority") && ps->priority) {
        *error = parse_u64_value(name, value, UINT16_MAX, &x);
        *ps->priority = x;
        return true;
    }
    if (!fm) {
        return false;
    }
    if (!strcmp(name, "table")) {
        *error = parse_u64_value(name, value, 254, &x);
        fm->table_id = x;
    } else if (!strcmp(name, "cookie")) {
        *error = parse_cookie(ps, value);
    } else if (!strcmp(name, "idle_timeout")) {
        *error = parse_u64_value(name, value, UINT16_MAX, &x);
        fm->idle_timeout = x;
    } else if (!strcmp(name, "hard_timeout")) {
        *error = parse_u64_value(name, value, UINT16_MAX, &x);
        fm->hard_timeout = x;
    } else if (!strcmp(name, "importance")) {
        *error = parse_u64_value(name, value, UINT16_MAX, &x);
        fm->importance = x;
    } else if (!strcmp(name, "out_port")) {
        if (!ofp_port_parse(value, ps->port_map, &fm->out_port)) {
            *error = xasprintf("invalid port '%s' for 'out_port'", value);
        }
    } else if (!strcmp(name, "duration") || !strcmp(name, "n_packets")
               || !strcmp(name, "n_bytes") || !strcmp(name, "idle_age")
               || !strcmp(name, "hard_age")) {
        /* Ignored, so that dump-flows output parses back. */
    } else {
        return false;
    }
    return true;
}

static bool
parse_flag(struct parse_state *ps, const char *name)
{
    if (!ps->fm) {
        return false;
    }
    for (size_t i = 0; i < ARRAY_SIZE(flag_names); i++) {
        if (!strcmp(name, flag_names[i].name)) {
            ps->fm->flags |= flag_names[i].flag;
            return true;
        }
    }
    return false;
}

static const struct shorthand *
find_shorthand(const char *name)
{
    /* Shorthands are 2 to 5 letters, starting with one of these. */
    switch (name[0]) {
    case 'i': case 'a': case 't': case 'u': case 's': case 'r':
        break;
    default:
        return NULL;
    }
    if (strnlen(name, 6) > 5) {
        return NULL;
    }
    for (size_t i = 0; i < ARRAY_SIZE(shorthands); i++) {
        if (!strcmp(name, shorthands[i].name)) {
            return &shorthands[i];
        }
    }
    return NULL;
}

/* Makes room for one more entry in 'ps->fields'. */
static void
add_field_slot(struct parse_state *ps)
{
    size_t n = ps->allocated_fields * 2;

    if (ps->fields == ps->inline_fields) {
        ps->fields = xmalloc(n * sizeof *ps->fields);
        memcpy(ps->fields, ps->inline_fields,
               ps->allocated_fields * sizeof *ps->fields);
    } else {
        ps->fields = xrealloc(ps->fields, n * sizeof *ps->fields);
    }
    ps->allocated_fields = n;
}

static char *
parse_item(struct parse_state *ps, const char *name, const char *value,
           bool has_value, size_t name_col, size_t value_col)
{
    const struct shorthand *sh = find_shorthand(name);
    const struct mf_field *mf;
    union mf_value v, m;
    char *error;

    if (sh) {
        if (has_value) {
            return xasprintf("unexpected value for '%s' at column %zu",
                             name, value_col);
        }
        match_set_dl_type(ps->match, htons(sh->dl_type));
        if (sh->nw_proto) {
            match_set_nw_proto(ps->match, sh->nw_proto);
        }
        return NULL;
    }
    if (!has_value && parse_flag(ps, name)) {
        return NULL;
    }
    if (parse_keyword(ps, name, value, &error)) {
        return error ? with_col(error, has_value ? value_col : name_col)
                     : NULL;
    }
    mf = mf_from_name(name);
    if (!mf) {
        return xasprintf("unknown field '%s' at column %zu", name, name_col);
    }
    if (!has_value || !*value) {
        return xasprintf("missing value for '%s' at column %zu", name,
                         name_col);
    }
    error = mf_parse(mf, value, ps->port_map, &v, &m);
    if (error) {
        return with_col(error, value_col);
    }
    match_set_field(ps->match, mf, &v, &m);
    if (ps->n_fields == ps->allocated_fields) {
        add_field_slot(ps);
    }
    ps->fields[ps->n_fields++] = (struct set_field) {
        mf, name_col, strlen(name)
    };
    return NULL;
}

/* Copies 's[0, len)' as a string into 'buf' if it fits, else into a
 * malloc'ed copy; returns the copy. */
static char *
copy_token(char *buf, size_t size, const char *s, size_t len)
{
    if (len >= size) {
        return xstrndup(s, len);
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    return buf;
}

/* Parses the match part: text[0, len). */
static char *
parse_match_items(struct parse_state *ps, const char *text, size_t len)
{
    size_t i = 0;
    char *error = NULL;

    while (!error) {
        size_t name_start, name_end, value_start, value_end;
        bool has_value = false;
        char name_buf[64], value_buf[128];
        char *name, *value;

        while (i < len && is_delim(text[i])) {
            i++;
        }
        if (i >= len) {
            break;
        }
        name_start = i;
        while (i < len && !is_delim(text[i]) && text[i] != '='
               && text[i] != ':') {
            i++;
        }
        name_end = i;
        value_start = value_end = i;
        if (i < len && (text[i] == '=' || text[i] == ':')) {
            has_value = true;
            value_start = ++i;
            while (i < len && !is_delim(text[i])) {
                i++;
            }
            value_end = i;
        }
        if (name_end == name_start) {
            return xasprintf("missing field name at column %zu",
                             name_start + 1);
        }
        name = copy_token(name_buf, sizeof name_buf, text + name_start,
                          name_end - name_start);
        value = copy_token(value_buf, sizeof value_buf, text + value_start,
                           value_end - value_start);
        error = parse_item(ps, name, value, has_value, name_start + 1,
                           value_start + 1);
        if (name != name_buf) {
            free(name);
        }
        if (value != value_buf) {
            free(value);
        }
    }
    if (!error) {
        error = check_prereqs(ps);
    }
    return error;
}

static void
init_fields(struct parse_state *ps)
{
    ps->fields = ps->inline_fields;
    ps->n_fields = 0;
    ps->allocated_fields = ARRAY_SIZE(ps->inline_fields);
}

static void
free_fields(struct parse_state *ps)
{
    if (ps->fields != ps->inline_fields) {
        free(ps->fields);
    }
}

void
ofp_parse_cache_init(struct ofp_parse_cache *c)
{
    c->actions = NULL;
    ofpacts_init(&c->ofpacts);
}

void
ofp_parse_cache_release(struct ofp_parse_cache *c)
{
    if (c) {
        free(c->actions);
        c->actions = NULL;
        ofpacts_release(&c->ofpacts);
    }
}

/* Parses the action text 'text' into 'out' (empty), from 'cache' if it
 * holds the same text.  The parse depends only on the text and the port
 * map, which the cache's user keeps the same. */
static char *
parse_actions_cached(const char *text, const struct ofp_port_map *port_map,
                     struct ofpacts *out, struct ofp_parse_cache *cache)
{
    char *error;

    if (cache && cache->actions && !strcmp(cache->actions, text)) {
        if (cache->ofpacts.size) {
            memcpy(ofpacts_put_uninit(out, cache->ofpacts.size),
                   cache->ofpacts.data, cache->ofpacts.size);
        }
        return NULL;
    }
    error = ofpacts_parse(text, port_map, out);
    if (cache) {
        free(cache->actions);
        cache->actions = NULL;
        if (!error) {
            ofpacts_clear(&cache->ofpacts);
            if (out->size) {
                memcpy(ofpacts_put_uninit(&cache->ofpacts, out->size),
                       out->data, out->size);
            }
            cache->actions = xstrdup(text);
        }
    }
    return error;
}

char *
ofp_parse_flow_mod(struct ofp_flow_mod *fm, const char *text,
                   enum ofp_flow_mod_command command,
                   const struct ofp_port_map *port_map)
{
    return ofp_parse_flow_mod_cached(fm, text, command, port_map, NULL);
}

char *
ofp_parse_flow_mod_cached(struct ofp_flow_mod *fm, const char *text,
                          enum ofp_flow_mod_command command,
                          const struct ofp_port_map *port_map,
                          struct ofp_parse_cache *cache)
{
    struct parse_state ps = {
        .fm = fm, .match = &fm->match, .priority = &fm->priority,
        .command = command, .port_map = port_map, .text = text,
    };
    bool wants_actions = command == OFPFC_ADD || command == OFPFC_MODIFY
                         || command == OFPFC_MODIFY_STRICT;
    size_t act_ofs = 0;
    long act = find_actions(text, &act_ofs);
    size_t match_len = act < 0 ? strlen(text) : (size_t) act;
    char *error;

    ofp_flow_mod_init(fm, command);
    init_fields(&ps);
    if (wants_actions && act < 0) {
        return xstrdup("must specify an action");
    }
    if (!wants_actions && act >= 0) {
        return xasprintf("actions are not allowed here at column %ld",
                         act + 1);
    }
    error = parse_match_items(&ps, text, match_len);
    free_fields(&ps);
    if (!error && wants_actions) {
        error = parse_actions_cached(text + act_ofs, port_map,
                                     &fm->ofpacts, cache);
        if (!error) {
            error = ofpacts_check((const struct ofpact *) (void *)
                                  fm->ofpacts.data, fm->ofpacts.size,
                                  &fm->match);
        }
        if (error) {
            char *e = xasprintf("%s (in actions at column %zu)", error,
                                act_ofs + 1);
            free(error);
            error = e;
        }
    }
    if (error) {
        ofp_flow_mod_release(fm);
    }
    return error;
}

char *
ofp_parse_match(struct match *match, int *priority, const char *text,
                const struct ofp_port_map *port_map)
{
    struct parse_state ps = {
        .fm = NULL, .match = match, .priority = priority,
        .command = OFPFC_ADD, .port_map = port_map, .text = text,
    };
    char *error;

    init_fields(&ps);
    match_init_catchall(match);
    if (priority) {
        *priority = OFP_DEFAULT_PRIORITY;
    }
    error = parse_match_items(&ps, text, strlen(text));
    free_fields(&ps);
    return error;
}

/* Formatting. */

static void
format_flags(struct ds *s, uint16_t flags)
{
    for (size_t i = 0; i < ARRAY_SIZE(flag_names); i++) {
        if (flags & flag_names[i].flag) {
            ds_put_format(s, "%s ", flag_names[i].name);
        }
    }
}

void
ofp_format_flow_mod(struct ds *s, const struct ofp_flow_mod *fm,
                    const struct ofp_port_map *port_map)
{
    bool del = fm->command == OFPFC_DELETE
               || fm->command == OFPFC_DELETE_STRICT;
    uint8_t default_table = fm->command == OFPFC_ADD ? 0 : OFP_TABLE_ALL;
    size_t length;

    if (fm->table_id != default_table) {
        ds_put_format(s, "table=%u, ", fm->table_id);
    }
    if (fm->cookie_mask) {
        ds_put_format(s, "cookie=0x%"PRIx64"/0x%"PRIx64", ", fm->cookie,
                      fm->cookie_mask);
    }
    if (!del && (fm->command == OFPFC_ADD ? fm->new_cookie != 0
                                          : fm->modify_cookie)) {
        ds_put_format(s, "cookie=0x%"PRIx64", ", fm->new_cookie);
    }
    if (fm->idle_timeout) {
        ds_put_format(s, "idle_timeout=%"PRIu16", ", fm->idle_timeout);
    }
    if (fm->hard_timeout) {
        ds_put_format(s, "hard_timeout=%"PRIu16", ", fm->hard_timeout);
    }
    if (fm->importance) {
        ds_put_format(s, "importance=%"PRIu16", ", fm->importance);
    }
    if (fm->out_port != OFPP_NONE) {
        ds_put_cstr(s, "out_port=");
        ofp_port_format(fm->out_port, port_map, s);
        ds_put_cstr(s, ", ");
    }
    format_flags(s, fm->flags);
    length = s->length;
    match_format(s, &fm->match, fm->priority, port_map);
    if (del) {
        if (s->length == length) {
            ds_chomp(s, ' ');
            ds_chomp(s, ',');
        }
        return;
    }
    if (s->length != length) {
        ds_put_char(s, ' ');
    }
    ds_put_cstr(s, "actions=");
    ofpacts_format((const struct ofpact *) (const void *) fm->ofpacts.data,
                   fm->ofpacts.size, port_map, s);
}

/* "1.234s", "5s", or more decimals when the time is not whole msec (never,
 * here: durations are in msec). */
static void
format_duration(struct ds *s, long long msec)
{
    if (msec < 0) {
        msec = 0;
    }
    ds_put_format(s, "%lld", msec / 1000);
    if (msec % 1000) {
        ds_put_format(s, ".%03lld", msec % 1000);
    }
    ds_put_char(s, 's');
}

void
ofp_format_flow_stats(struct ds *s, const struct ofp_flow_stats *fs,
                      bool show_stats, const struct ofp_port_map *port_map)
{
    size_t length;

    ds_put_char(s, ' ');
    if (show_stats || fs->cookie) {
        ds_put_format(s, "cookie=0x%"PRIx64", ", fs->cookie);
    }
    if (show_stats) {
        ds_put_cstr(s, "duration=");
        format_duration(s, fs->duration_msec);
        ds_put_cstr(s, ", ");
    }
    if (show_stats || fs->table_id) {
        ds_put_format(s, "table=%u, ", fs->table_id);
    }
    if (show_stats) {
        ds_put_format(s, "n_packets=%"PRIu64", ", fs->n_packets);
        ds_put_format(s, "n_bytes=%"PRIu64", ", fs->n_bytes);
    }
    if (fs->idle_timeout) {
        ds_put_format(s, "idle_timeout=%"PRIu16", ", fs->idle_timeout);
    }
    if (fs->hard_timeout) {
        ds_put_format(s, "hard_timeout=%"PRIu16", ", fs->hard_timeout);
    }
    format_flags(s, fs->flags);
    if (fs->importance) {
        ds_put_format(s, "importance=%"PRIu16", ", fs->importance);
    }
    if (show_stats && fs->idle_age_msec >= 0) {
        ds_put_format(s, "idle_age=%lld, ", fs->idle_age_msec / 1000);
    }
    length = s->length;
    match_format(s, &fs->match, fs->priority, port_map);
    if (s->length != length) {
        ds_put_char(s, ' ');
    }
    ds_put_cstr(s, "actions=");
    ofpacts_format(fs->ofpacts, fs->ofpacts_len, port_map, s);
}
