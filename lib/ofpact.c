/* ofpact: action buffers, text parsing and formatting (ovs-ofctl syntax). */
#include "ofpact.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <endian.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "dynamic-string.h"
#include "match.h"
#include "ofp-port-map.h"
#include "util.h"

/* Buffer. */

void
ofpacts_init(struct ofpacts *o)
{
    o->data = NULL;
    o->size = 0;
    o->allocated = 0;
}

void
ofpacts_release(struct ofpacts *o)
{
    if (o) {
        free(o->data);
        ofpacts_init(o);
    }
}

void
ofpacts_clear(struct ofpacts *o)
{
    o->size = 0;
}

void *
ofpacts_put_uninit(struct ofpacts *o, size_t len)
{
    void *p;

    if (o->size + len > o->allocated) {
        o->allocated = MAX(o->size + len, o->allocated * 2 + 64);
        o->data = xrealloc(o->data, o->allocated);
    }
    p = o->data + o->size;
    o->size += len;
    return p;
}

struct ofpact *
ofpacts_put(struct ofpacts *o, enum ofpact_type type, size_t len)
{
    size_t padded = ROUND_UP(len, OFPACT_ALIGNTO);
    struct ofpact *a;

    ts_assert(len >= sizeof *a && len <= UINT16_MAX);
    /* Records start aligned: the previous record was padded. */
    ts_assert(o->size % OFPACT_ALIGNTO == 0);
    a = ofpacts_put_uninit(o, padded);
    memset(a, 0, padded);
    a->type = type;
    a->len = len;
    return a;
}

void
ofpacts_update_len(struct ofpacts *o, size_t ofs)
{
    struct ofpact *a = (struct ofpact *) (void *) (o->data + ofs);

    ts_assert(o->size - ofs <= UINT16_MAX);
    a->len = o->size - ofs;
}

struct ofpact *
ofpacts_clone(const struct ofpact *a, size_t len)
{
    return len ? xmemdup(a, len) : NULL;
}

static size_t
fixed_len(enum ofpact_type type)
{
    switch (type) {
    case OFPACT_CLONE:
        return sizeof(struct ofpact_nest);
    case OFPACT_CT:
        return sizeof(struct ofpact_conntrack);
    default:
        return 0;
    }
}

const struct ofpact *
ofpact_nested(const struct ofpact *a, size_t *len)
{
    size_t fixed = fixed_len(a->type);

    if (!fixed) {
        *len = 0;
        return NULL;
    }
    *len = a->len - fixed;
    return (const struct ofpact *) (const void *)
        ((const uint8_t *) a + fixed);
}

bool
ofpacts_equal(const struct ofpact *a, size_t a_len, const struct ofpact *b,
              size_t b_len)
{
    return a_len == b_len && (!a_len || !memcmp(a, b, a_len));
}

bool
ofpacts_output_to_port(const struct ofpact *ofpacts, size_t len,
                       uint32_t port)
{
    const struct ofpact *a;

    OFPACT_FOR_EACH (a, ofpacts, len) {
        const struct ofpact *nested;
        size_t nested_len;

        switch (a->type) {
        case OFPACT_OUTPUT:
            if (ofpact_get_OUTPUT(a)->port == port) {
                return true;
            }
            break;
        case OFPACT_NORMAL:
            if (port == OFPP_NORMAL) {
                return true;
            }
            break;
        case OFPACT_FLOOD:
            if (port == OFPP_FLOOD) {
                return true;
            }
            break;
        case OFPACT_ALL:
            if (port == OFPP_ALL) {
                return true;
            }
            break;
        case OFPACT_IN_PORT:
            if (port == OFPP_IN_PORT) {
                return true;
            }
            break;
        case OFPACT_LOCAL:
            if (port == OFPP_LOCAL) {
                return true;
            }
            break;
        case OFPACT_CONTROLLER:
            if (port == OFPP_CONTROLLER) {
                return true;
            }
            break;
        case OFPACT_CLONE:
            nested = ofpact_nested(a, &nested_len);
            if (ofpacts_output_to_port(nested, nested_len, port)) {
                return true;
            }
            break;
        default:
            break;
        }
    }
    return false;
}

const char *
ofpact_name(enum ofpact_type type)
{
    static const char *const names[OFPACT_N_TYPES] = {
        [OFPACT_OUTPUT] = "output", [OFPACT_NORMAL] = "normal",
        [OFPACT_FLOOD] = "flood", [OFPACT_ALL] = "all",
        [OFPACT_IN_PORT] = "in_port", [OFPACT_LOCAL] = "local",
        [OFPACT_CONTROLLER] = "controller", [OFPACT_RESUBMIT] = "resubmit",
        [OFPACT_GOTO_TABLE] = "goto_table", [OFPACT_SET_FIELD] = "set_field",
        [OFPACT_LOAD] = "load", [OFPACT_MOVE] = "move",
        [OFPACT_OUTPUT_REG] = "output_reg", [OFPACT_PUSH_VLAN] = "push_vlan",
        [OFPACT_POP_VLAN] = "pop_vlan", [OFPACT_SET_VLAN_VID] = "mod_vlan_vid",
        [OFPACT_SET_VLAN_PCP] = "mod_vlan_pcp",
        [OFPACT_SET_ETH_SRC] = "mod_dl_src", [OFPACT_SET_ETH_DST] = "mod_dl_dst",
        [OFPACT_SET_IPV4_SRC] = "mod_nw_src",
        [OFPACT_SET_IPV4_DST] = "mod_nw_dst",
        [OFPACT_SET_IP_DSCP] = "mod_nw_tos", [OFPACT_SET_IP_ECN] = "mod_nw_ecn",
        [OFPACT_SET_IP_TTL] = "mod_nw_ttl",
        [OFPACT_SET_L4_SRC_PORT] = "mod_tp_src",
        [OFPACT_SET_L4_DST_PORT] = "mod_tp_dst", [OFPACT_DEC_TTL] = "dec_ttl",
        [OFPACT_GROUP] = "group", [OFPACT_NOTE] = "note",
        [OFPACT_CLONE] = "clone", [OFPACT_CT] = "ct",
        [OFPACT_CT_CLEAR] = "ct_clear", [OFPACT_NAT] = "nat",
    };

    return (unsigned int) type < OFPACT_N_TYPES && names[type]
           ? names[type] : "<unknown>";
}

/* Parsing.
 *
 * The text is split into "key", "key:value", "key=value" and
 * "key(value)" items at top-level commas and white space, with
 * parentheses nesting.  Every parse function returns NULL or a malloc'ed
 * error. */

struct parse_ctx {
    const struct ofp_port_map *port_map;
    struct ofpacts *o;
    int depth;
};

static char *parse_list(struct parse_ctx *, const char *text);

/* Splits the next item of '*sp'.  Returns false at the end.  Keys and
 * values are malloc'ed copies; '*error' is set for unbalanced
 * parentheses. */
static bool
next_item(const char **sp, char **key, char **value, char **error)
{
    const char *s = *sp;
    const char *k, *v;
    size_t klen;
    int depth = 0;

    *error = NULL;
    s += strspn(s, ", \t\r\n");
    if (!*s) {
        return false;
    }
    k = s;
    klen = strcspn(s, ":=(, \t\r\n)");
    s += klen;
    if (*s == '(') {
        v = ++s;
        for (depth = 1; *s; s++) {
            if (*s == '(') {
                depth++;
            } else if (*s == ')' && !--depth) {
                break;
            }
        }
        if (depth) {
            *error = xasprintf("unbalanced parentheses in '%s'", k);
            return false;
        }
        *key = xstrndup(k, klen);
        *value = xstrndup(v, s - v);
        s++;
    } else if (*s == ':' || *s == '=') {
        v = ++s;
        for (; *s; s++) {
            if (*s == '(') {
                depth++;
            } else if (*s == ')') {
                if (!depth--) {
                    *error = xasprintf("unbalanced parentheses in '%s'", k);
                    return false;
                }
            } else if (!depth && strchr(", \t\r\n", *s)) {
                break;
            }
        }
        if (depth) {
            *error = xasprintf("unbalanced parentheses in '%s'", k);
            return false;
        }
        *key = xstrndup(k, klen);
        *value = xstrndup(v, s - v);
    } else if (*s == ')') {
        *error = xasprintf("unbalanced parentheses in '%s'", k);
        return false;
    } else {
        *key = xstrndup(k, klen);
        *value = xstrdup("");
    }
    if (!klen) {
        free(*key);
        free(*value);
        *error = xasprintf("missing action name in '%s'", k);
        return false;
    }
    *sp = s;
    return true;
}

static char *
parse_uint(const char *s, uint64_t max, const char *what, uint64_t *out)
{
    if (!str_to_u64(s, max, out)) {
        return xasprintf("invalid %s '%s'", what, s);
    }
    return NULL;
}

/* Puts an output to 'port' in its normalized form. */
static char *
put_output(struct parse_ctx *ctx, uint32_t port, uint16_t max_len)
{
    struct ofpact_controller *c;

    switch (port) {
    case OFPP_NORMAL:
        ofpact_put_NORMAL(ctx->o);
        return NULL;
    case OFPP_FLOOD:
        ofpact_put_FLOOD(ctx->o);
        return NULL;
    case OFPP_ALL:
        ofpact_put_ALL(ctx->o);
        return NULL;
    case OFPP_IN_PORT:
        ofpact_put_IN_PORT(ctx->o);
        return NULL;
    case OFPP_LOCAL:
        ofpact_put_LOCAL(ctx->o);
        return NULL;
    case OFPP_CONTROLLER:
        c = ofpact_put_CONTROLLER(ctx->o);
        c->max_len = max_len;
        c->reason = OFPR_ACTION;
        return NULL;
    default:
        if (port == 0 || port >= OFPP_MAX) {
            return xasprintf("invalid output port '%"PRIu32"'", port);
        }
        ofpact_put_OUTPUT(ctx->o)->port = port;
        return NULL;
    }
}

static char *
parse_output(struct parse_ctx *ctx, const char *arg)
{
    uint32_t port;

    if (strchr(arg, '[')) {
        struct ofpact_output_reg *r = ofpact_put_OUTPUT_REG(ctx->o);
        char *error = mf_parse_subfield(&r->src, arg);

        r->max_len = UINT16_MAX;
        if (!error && r->src.n_bits > 32) {
            error = xasprintf("output field '%s' wider than 32 bits", arg);
        }
        return error;
    }
    if (!*arg) {
        return xstrdup("missing port for 'output'");
    }
    if (!ofp_port_parse(arg, ctx->port_map, &port)) {
        return xasprintf("unknown port '%s'", arg);
    }
    return put_output(ctx, port, UINT16_MAX);
}

static const char *const reason_names[] = {
    [OFPR_NO_MATCH] = "no_match", [OFPR_ACTION] = "action",
    [OFPR_INVALID_TTL] = "invalid_ttl", [OFPR_ACTION_SET] = "action_set",
    [OFPR_GROUP] = "group", [OFPR_PACKET_OUT] = "packet_out",
};

static char *
parse_hex_bytes(const char *s, struct ofpacts *o, size_t *n)
{
    *n = 0;
    while (*s) {
        unsigned int byte;

        if (*s == '.') {
            s++;
            continue;
        }
        if (!isxdigit((unsigned char) s[0]) || !isxdigit((unsigned char) s[1])
            || sscanf(s, "%2x", &byte) != 1) {
            return xasprintf("invalid hex bytes at '%s'", s);
        }
        *(uint8_t *) ofpacts_put_uninit(o, 1) = byte;
        (*n)++;
        s += 2;
    }
    return NULL;
}

static char *
parse_controller(struct parse_ctx *ctx, const char *key, const char *arg,
                 bool parens)
{
    size_t ofs = ctx->o->size;
    struct ofpact_controller *c = ofpact_put_CONTROLLER(ctx->o);
    uint64_t x;
    char *error = NULL;

    c->max_len = UINT16_MAX;
    c->reason = OFPR_ACTION;
    if (!parens) {
        if (*arg) {
            error = parse_uint(arg, UINT16_MAX, "max_len", &x);
            c->max_len = x;
        }
        return error;
    }

    const char *s = arg;
    char *k, *v;
    uint8_t *userdata = NULL;
    size_t userdata_len = 0;
    uint16_t max_len = UINT16_MAX, id = 0;
    uint8_t reason = OFPR_ACTION;
    bool pause = false;

    while (!error && next_item(&s, &k, &v, &error)) {
        if (!strcmp(k, "reason")) {
            size_t i;
            for (i = 0; i < ARRAY_SIZE(reason_names); i++) {
                if (!strcmp(v, reason_names[i])) {
                    break;
                }
            }
            if (i == ARRAY_SIZE(reason_names)) {
                error = xasprintf("unknown reason '%s'", v);
            }
            reason = i;
        } else if (!strcmp(k, "max_len")) {
            error = parse_uint(v, UINT16_MAX, "max_len", &x);
            max_len = x;
        } else if (!strcmp(k, "id")) {
            error = parse_uint(v, UINT16_MAX, "controller id", &x);
            id = x;
        } else if (!strcmp(k, "pause")) {
            pause = true;
        } else if (!strcmp(k, "userdata")) {
            struct ofpacts tmp;
            ofpacts_init(&tmp);
            error = parse_hex_bytes(v, &tmp, &userdata_len);
            free(userdata);
            userdata = userdata_len ? xmemdup(tmp.data, userdata_len) : NULL;
            ofpacts_release(&tmp);
        } else {
            error = xasprintf("unknown controller option '%s'", k);
        }
        free(k);
        free(v);
    }
    if (!error) {
        /* The record grows by the userdata; re-fetch it afterwards. */
        ctx->o->size = ofs;
        c = (struct ofpact_controller *) (void *) ofpacts_put(
            ctx->o, OFPACT_CONTROLLER, sizeof *c + userdata_len);
        c->max_len = max_len;
        c->controller_id = id;
        c->reason = reason;
        c->pause = pause;
        c->userdata_len = userdata_len;
        if (userdata_len) {
            memcpy(c->userdata, userdata, userdata_len);
        }
    }
    free(userdata);
    (void) key;
    return error;
}

static char *
parse_resubmit(struct parse_ctx *ctx, const char *arg, bool parens)
{
    struct ofpact_resubmit *r = ofpact_put_RESUBMIT(ctx->o);
    char *copy, *port_s, *table_s, *ct_s;
    char *error = NULL;
    uint64_t x;

    r->in_port = OFPP_IN_PORT;
    r->table_id = 255;
    if (!parens) {
        if (!ofp_port_parse(arg, ctx->port_map, &r->in_port)) {
            return xasprintf("unknown port '%s' in resubmit", arg);
        }
        return NULL;
    }
    copy = xstrdup(arg);
    port_s = copy;
    table_s = strchr(port_s, ',');
    ct_s = NULL;
    if (table_s) {
        *table_s++ = '\0';
        ct_s = strchr(table_s, ',');
        if (ct_s) {
            *ct_s++ = '\0';
        }
    }
    if (*port_s && !ofp_port_parse(port_s, ctx->port_map, &r->in_port)) {
        error = xasprintf("unknown port '%s' in resubmit", port_s);
    } else if (table_s && *table_s) {
        error = parse_uint(table_s, 254, "table", &x);
        r->table_id = x;
    }
    if (!error && ct_s) {
        if (strcmp(ct_s, "ct")) {
            error = xasprintf("unknown resubmit option '%s'", ct_s);
        }
        r->with_ct_orig = true;
    }
    if (!error && !*port_s && (!table_s || !*table_s)) {
        error = xstrdup("resubmit needs a port or a table");
    }
    free(copy);
    return error;
}

/* Splits "A->B" into malloc'ed halves. */
static char *
split_arrow(const char *what, const char *arg, char **a, char **b)
{
    const char *arrow = strstr(arg, "->");

    if (!arrow) {
        return xasprintf("%s: missing '->' in '%s'", what, arg);
    }
    *a = xstrndup(arg, arrow - arg);
    *b = xstrdup(arrow + 2);
    return NULL;
}

static char *
parse_set_field(struct parse_ctx *ctx, const char *arg)
{
    struct ofpact_set_field *sf;
    const struct mf_field *mf;
    char *value_s, *field_s, *error;
    union mf_value value, mask;

    error = split_arrow("set_field", arg, &value_s, &field_s);
    if (error) {
        return error;
    }
    mf = mf_from_name(field_s);
    if (!mf) {
        error = xasprintf("unknown field '%s' in set_field", field_s);
    } else if (!mf->writable) {
        error = xasprintf("field '%s' is read-only", field_s);
    } else {
        error = mf_parse(mf, value_s, ctx->port_map, &value, &mask);
    }
    if (!error) {
        sf = ofpact_put_SET_FIELD(ctx->o);
        sf->field = mf;
        sf->value = value;
        sf->mask = mask;
        for (size_t i = 0; i < sizeof value; i++) {
            sf->value.b[i] &= mask.b[i];
        }
    }
    free(value_s);
    free(field_s);
    return error;
}

/* Parses a decimal or hexadecimal number of up to 128 bits. */
static char *
parse_subvalue(const char *s, union mf_subvalue *sv)
{
    uint64_t x;

    memset(sv, 0, sizeof *sv);
    if (str_to_u64(s, UINT64_MAX, &x)) {
        sv->be64[1] = htobe64(x);
        return NULL;
    }
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        const char *h = s + 2;
        size_t n = strlen(h);

        if (n && n <= 32 && strspn(h, "0123456789abcdefABCDEF") == n) {
            for (size_t i = 0; i < n; i++) {
                int c = tolower((unsigned char) h[n - 1 - i]);
                int d = isdigit(c) ? c - '0' : c - 'a' + 10;
                sv->u8[15 - i / 2] |= (uint8_t) (d << (4 * (i % 2)));
            }
            return NULL;
        }
    }
    return xasprintf("invalid number '%s'", s);
}

static bool
subvalue_fits(const union mf_subvalue *sv, unsigned int n_bits)
{
    for (unsigned int i = n_bits; i < 128; i++) {
        if (sv->u8[15 - i / 8] & (1u << (i % 8))) {
            return false;
        }
    }
    return true;
}

static char *
parse_load(struct parse_ctx *ctx, const char *arg)
{
    char *value_s, *dst_s, *error;
    struct mf_subfield dst;
    union mf_subvalue sv, shifted;

    error = split_arrow("load", arg, &value_s, &dst_s);
    if (error) {
        return error;
    }
    error = mf_parse_subfield(&dst, dst_s);
    if (!error && !dst.field->writable) {
        error = xasprintf("field '%s' is read-only", dst.field->name);
    }
    if (!error) {
        error = parse_subvalue(value_s, &sv);
    }
    if (!error && !subvalue_fits(&sv, dst.n_bits)) {
        error = xasprintf("value '%s' does not fit in %u bits", value_s,
                          dst.n_bits);
    }
    if (!error) {
        struct ofpact_set_field *sf = ofpact_put_LOAD(ctx->o);

        memset(&shifted, 0, sizeof shifted);
        mf_bitwise_copy(&sv, 16, 0, &shifted, 16, dst.ofs, dst.n_bits);
        sf->field = dst.field;
        mf_subvalue_to_value(dst.field, &shifted, &sf->value);
        mf_subfield_to_mask(&dst, &sf->mask);
    }
    free(value_s);
    free(dst_s);
    return error;
}

static char *
parse_move(struct parse_ctx *ctx, const char *arg)
{
    char *src_s, *dst_s, *error;
    struct mf_subfield src, dst;

    error = split_arrow("move", arg, &src_s, &dst_s);
    if (error) {
        return error;
    }
    error = mf_parse_subfield(&src, src_s);
    if (!error) {
        error = mf_parse_subfield(&dst, dst_s);
    }
    if (!error && !dst.field->writable) {
        error = xasprintf("field '%s' is read-only", dst.field->name);
    }
    if (!error && src.n_bits != dst.n_bits) {
        error = xasprintf("move: source '%s' and destination '%s' differ "
                          "in width (%u and %u bits)", src_s, dst_s,
                          src.n_bits, dst.n_bits);
    }
    if (!error) {
        struct ofpact_move *m = ofpact_put_MOVE(ctx->o);
        m->src = src;
        m->dst = dst;
    }
    free(src_s);
    free(dst_s);
    return error;
}

static char *
parse_ipv4(const char *s, uint32_t *ip)
{
    if (inet_pton(AF_INET, s, ip) != 1) {
        return xasprintf("invalid IP address '%s'", s);
    }
    return NULL;
}

static char *
parse_note(struct parse_ctx *ctx, const char *arg)
{
    size_t ofs = ctx->o->size;
    size_t n;
    char *error;

    ofpact_put_NOTE(ctx->o);
    /* Append the bytes right after the fixed part, then fix lengths. */
    ctx->o->size = ofs + sizeof(struct ofpact_note);
    error = parse_hex_bytes(arg, ctx->o, &n);
    if (error) {
        ctx->o->size = ofs;
        return error;
    }
    ofpacts_update_len(ctx->o, ofs);
    ((struct ofpact_note *) (void *) (ctx->o->data + ofs))->length = n;
    ofpacts_put_uninit(ctx->o, ROUND_UP(ctx->o->size, OFPACT_ALIGNTO)
                               - ctx->o->size);
    memset(ctx->o->data + ofs + sizeof(struct ofpact_note) + n, 0,
           ctx->o->size - ofs - sizeof(struct ofpact_note) - n);
    return NULL;
}

/* Appends a nesting record of 'type' and parses 'arg' into it. */
static char *
parse_nested(struct parse_ctx *ctx, enum ofpact_type type, size_t fixed,
             const char *arg, size_t *ofsp)
{
    size_t ofs = ctx->o->size;
    char *error;

    ofpacts_put(ctx->o, type, fixed);
    if (ctx->depth >= 8) {
        return xstrdup("actions nested too deeply");
    }
    ctx->depth++;
    error = parse_list(ctx, arg);
    ctx->depth--;
    if (!error) {
        ofpacts_update_len(ctx->o, ofs);
    }
    *ofsp = ofs;
    return error;
}

/* Parses "[A]", "[A]-[B]", optionally followed by ":PORTS", in 'addr'
 * (modified in place).  Sets '*ports' to the text after the colon, if
 * any. */
static char *
parse_nat_ipv6(char *addr, struct ofpact_nat *nat, char **ports)
{
    char *end = strchr(addr, ']');
    char *rest;

    if (!end) {
        return xasprintf("nat: missing ']' in '%s'", addr);
    }
    *end = '\0';
    rest = end + 1;
    nat->range_af = AF_INET6;
    if (inet_pton(AF_INET6, addr + 1, &nat->range_addr.ipv6.min) != 1) {
        return xasprintf("invalid IPv6 address '%s'", addr + 1);
    }
    nat->range_addr.ipv6.max = nat->range_addr.ipv6.min;
    if (rest[0] == '-') {
        char *max = rest + 1, *max_end;

        if (max[0] != '[' || !(max_end = strchr(max, ']'))) {
            return xasprintf("nat: IPv6 range end must be '[ADDR]' in "
                             "'%s'", rest);
        }
        *max_end = '\0';
        if (inet_pton(AF_INET6, max + 1, &nat->range_addr.ipv6.max) != 1) {
            return xasprintf("invalid IPv6 address '%s'", max + 1);
        }
        if (memcmp(&nat->range_addr.ipv6.max, &nat->range_addr.ipv6.min,
                   sizeof nat->range_addr.ipv6.min) < 0) {
            return xstrdup("nat: IPv6 range end below its start");
        }
        rest = max_end + 1;
    }
    if (rest[0] == ':') {
        *ports = rest + 1;
    } else if (rest[0]) {
        return xasprintf("nat: unexpected '%s' after IPv6 address", rest);
    }
    return NULL;
}

static char *
parse_nat(struct parse_ctx *ctx, const char *arg)
{
    struct ofpact_nat nat;
    const char *s = arg;
    char *k, *v, *error = NULL;

    memset(&nat, 0, sizeof nat);
    nat.range_af = AF_UNSPEC;
    while (!error && next_item(&s, &k, &v, &error)) {
        if (!strcmp(k, "src") || !strcmp(k, "dst")) {
            if (nat.flags & (NX_NAT_F_SRC | NX_NAT_F_DST)) {
                error = xstrdup("nat: only one of src or dst allowed");
            }
            nat.flags |= !strcmp(k, "src") ? NX_NAT_F_SRC : NX_NAT_F_DST;
            if (!error && *v) {
                char *addr = xstrdup(v), *ports = NULL, *dash;
                if (addr[0] == '[') {
                    error = parse_nat_ipv6(addr, &nat, &ports);
                } else {
                    ports = strchr(addr, ':');
                    if (ports) {
                        *ports++ = '\0';
                    }
                    dash = strchr(addr, '-');
                    if (dash) {
                        *dash++ = '\0';
                    }
                    nat.range_af = AF_INET;
                    error = parse_ipv4(addr, &nat.range_addr.ipv4.min);
                    nat.range_addr.ipv4.max = nat.range_addr.ipv4.min;
                    if (!error && dash) {
                        error = parse_ipv4(dash, &nat.range_addr.ipv4.max);
                    }
                }
                if (!error && ports) {
                    uint64_t lo, hi;
                    char *pd = strchr(ports, '-');
                    if (pd) {
                        *pd++ = '\0';
                    }
                    error = parse_uint(ports, UINT16_MAX, "port", &lo);
                    hi = lo;
                    if (!error && pd) {
                        error = parse_uint(pd, UINT16_MAX, "port", &hi);
                    }
                    if (!error && (hi < lo || !lo)) {
                        error = xasprintf("nat: invalid port range '%s'", v);
                    }
                    nat.proto_min = lo;
                    nat.proto_max = hi;
                }
                free(addr);
            }
        } else if (!strcmp(k, "persistent")) {
            nat.flags |= NX_NAT_F_PERSISTENT;
        } else if (!strcmp(k, "hash")) {
            nat.flags |= NX_NAT_F_PROTO_HASH;
        } else if (!strcmp(k, "random")) {
            nat.flags |= NX_NAT_F_PROTO_RANDOM;
        } else {
            error = xasprintf("nat: unknown option '%s'", k);
        }
        free(k);
        free(v);
    }
    if (!error) {
        struct ofpact_nat *n = ofpact_put_NAT(ctx->o);
        nat.ofpact = n->ofpact;
        *n = nat;
    }
    return error;
}

static char *
parse_ct(struct parse_ctx *ctx, const char *arg)
{
    size_t ofs = ctx->o->size;
    struct ofpact_conntrack ct;
    const char *s = arg;
    char *k, *v, *error = NULL;
    uint64_t x;
    char *exec = NULL;
    bool have_nat = false;

    memset(&ct, 0, sizeof ct);
    ct.recirc_table = NX_CT_RECIRC_NONE;
    while (!error && next_item(&s, &k, &v, &error)) {
        if (!strcmp(k, "commit")) {
            ct.flags |= NX_CT_F_COMMIT;
        } else if (!strcmp(k, "force")) {
            ct.flags |= NX_CT_F_FORCE;
        } else if (!strcmp(k, "table")) {
            error = parse_uint(v, 254, "table", &x);
            ct.recirc_table = x;
        } else if (!strcmp(k, "zone")) {
            if (isdigit((unsigned char) v[0])) {
                error = parse_uint(v, UINT16_MAX, "zone", &x);
                ct.zone_imm = x;
            } else {
                error = mf_parse_subfield(&ct.zone_src, v);
                if (!error && ct.zone_src.n_bits != 16) {
                    error = xasprintf("ct: zone field '%s' must be 16 bits",
                                      v);
                }
            }
        } else if (!strcmp(k, "alg")) {
            if (!strcmp(v, "ftp")) {
                ct.alg = 21;
            } else if (!strcmp(v, "tftp")) {
                ct.alg = 69;
            } else {
                error = xasprintf("ct: unknown alg '%s'", v);
            }
        } else if (!strcmp(k, "exec")) {
            /* As in OVS, the nested actions are kept in the order given:
             * a second exec() or a nat before it adds to the list. */
            char *n = xasprintf("%s%s%s", exec ? exec : "",
                                exec && *v ? "," : "", v);
            free(exec);
            exec = n;
        } else if (!strcmp(k, "nat")) {
            /* ct(nat) is shorthand for ct(exec(nat)) in OVS; keep it in
             * the nested list.  One translation per ct(). */
            if (have_nat) {
                error = xstrdup("ct: nat given more than once");
            } else {
                char *n = xasprintf("%s%snat%s%s%s", exec ? exec : "",
                                    exec && *exec ? "," : "",
                                    *v ? "(" : "", v, *v ? ")" : "");
                free(exec);
                exec = n;
                have_nat = true;
            }
        } else {
            error = xasprintf("ct: unknown option '%s'", k);
        }
        free(k);
        free(v);
    }
    if (!error) {
        error = parse_nested(ctx, OFPACT_CT, sizeof ct, exec ? exec : "",
                             &ofs);
    }
    if (!error) {
        struct ofpact_conntrack *p = (struct ofpact_conntrack *) (void *)
                                     (ctx->o->data + ofs);
        ct.ofpact = p->ofpact;
        memcpy(p, &ct, sizeof ct);
        /* Only ct_mark/ct_label setters and nat belong in exec(). */
        size_t len;
        const struct ofpact *a, *nested = ofpact_nested(&p->ofpact, &len);
        OFPACT_FOR_EACH (a, nested, len) {
            if (a->type == OFPACT_NAT) {
                continue;
            }
            if ((a->type == OFPACT_SET_FIELD || a->type == OFPACT_LOAD)
                && (ofpact_get_SET_FIELD(a)->field->id == MFF_CT_MARK
                    || ofpact_get_SET_FIELD(a)->field->id == MFF_CT_LABEL)) {
                continue;
            }
            error = xasprintf("ct: action '%s' not allowed in exec()",
                              ofpact_name(a->type));
            break;
        }
    }
    free(exec);
    return error;
}

static char *
parse_u8_action(const char *arg, uint64_t max, const char *what,
                uint8_t *out)
{
    uint64_t x;
    char *error = parse_uint(arg, max, what, &x);

    *out = x;
    return error;
}

/* Parses one item; 'parens' says whether it was "key(value)". */
static char *
parse_action(struct parse_ctx *ctx, const char *key, const char *arg,
             bool parens, bool *drop)
{
    struct ofpacts *o = ctx->o;
    uint64_t x;
    uint32_t port;
    char *error = NULL;

#define IS(NAME) (!strcasecmp(key, NAME))
    if (IS("drop")) {
        *drop = true;
    } else if (IS("output")) {
        error = parse_output(ctx, arg);
    } else if (IS("controller")) {
        error = parse_controller(ctx, key, arg, parens);
    } else if (IS("resubmit")) {
        error = parse_resubmit(ctx, arg, parens);
    } else if (IS("goto_table")) {
        error = parse_uint(arg, 254, "table", &x);
        ofpact_put_GOTO_TABLE(o)->table_id = x;
    } else if (IS("set_field")) {
        error = parse_set_field(ctx, arg);
    } else if (IS("load")) {
        error = parse_load(ctx, arg);
    } else if (IS("move")) {
        error = parse_move(ctx, arg);
    } else if (IS("push_vlan")) {
        error = parse_uint(arg, UINT16_MAX, "ethertype", &x);
        if (!error && x != ETH_TYPE_VLAN_8021Q && x != ETH_TYPE_VLAN_8021AD) {
            error = xasprintf("push_vlan: ethertype '%s' is not 0x8100 or "
                              "0x88a8", arg);
        }
        ofpact_put_PUSH_VLAN(o)->ethertype = x;
    } else if (IS("pop_vlan") || IS("strip_vlan")) {
        ofpact_put_POP_VLAN(o)->strip_vlan = IS("strip_vlan");
    } else if (IS("mod_vlan_vid") || IS("set_vlan_vid")) {
        error = parse_uint(arg, VLAN_VID_MASK, "VLAN id", &x);
        struct ofpact_vlan_vid *a = ofpact_put_SET_VLAN_VID(o);
        a->vlan_vid = x;
        a->push_vlan_if_needed = IS("mod_vlan_vid");
    } else if (IS("mod_vlan_pcp") || IS("set_vlan_pcp")) {
        struct ofpact_vlan_pcp *a = ofpact_put_SET_VLAN_PCP(o);
        error = parse_u8_action(arg, 7, "VLAN priority", &a->vlan_pcp);
        a->push_vlan_if_needed = IS("mod_vlan_pcp");
    } else if (IS("mod_dl_src") || IS("mod_dl_dst")) {
        struct ofpact_mac *a = IS("mod_dl_src") ? ofpact_put_SET_ETH_SRC(o)
                                                : ofpact_put_SET_ETH_DST(o);
        if (!eth_addr_from_string(arg, &a->mac)) {
            error = xasprintf("invalid Ethernet address '%s'", arg);
        }
    } else if (IS("mod_nw_src") || IS("mod_nw_dst")) {
        struct ofpact_ipv4 *a = IS("mod_nw_src") ? ofpact_put_SET_IPV4_SRC(o)
                                                 : ofpact_put_SET_IPV4_DST(o);
        error = parse_ipv4(arg, &a->ipv4);
    } else if (IS("mod_nw_tos")) {
        struct ofpact_dscp *a = ofpact_put_SET_IP_DSCP(o);
        error = parse_u8_action(arg, 255, "TOS", &a->dscp);
        if (!error && (a->dscp & IP_ECN_MASK)) {
            error = xasprintf("invalid IP DSCP '%s' (low two bits must be "
                              "zero)", arg);
        }
    } else if (IS("mod_nw_ecn")) {
        error = parse_u8_action(arg, 3, "ECN", &ofpact_put_SET_IP_ECN(o)->ecn);
    } else if (IS("mod_nw_ttl") || IS("set_nw_ttl")) {
        error = parse_u8_action(arg, 255, "TTL",
                                &ofpact_put_SET_IP_TTL(o)->ttl);
    } else if (IS("mod_tp_src") || IS("mod_tp_dst")) {
        struct ofpact_l4_port *a = IS("mod_tp_src")
                                   ? ofpact_put_SET_L4_SRC_PORT(o)
                                   : ofpact_put_SET_L4_DST_PORT(o);
        error = parse_uint(arg, UINT16_MAX, "port", &x);
        a->port = x;
    } else if (IS("dec_ttl")) {
        if (*arg) {
            error = xstrdup("dec_ttl with controller ids is not supported");
        }
        ofpact_put_DEC_TTL(o);
    } else if (IS("group")) {
        error = parse_uint(arg, 0xfffffeff, "group id", &x);
        ofpact_put_GROUP(o)->group_id = x;
    } else if (IS("note")) {
        error = parse_note(ctx, arg);
    } else if (IS("clone")) {
        size_t ofs;
        error = parse_nested(ctx, OFPACT_CLONE, sizeof(struct ofpact_nest),
                             arg, &ofs);
    } else if (IS("ct")) {
        error = parse_ct(ctx, arg);
    } else if (IS("ct_clear")) {
        ofpact_put_CT_CLEAR(o);
    } else if (IS("nat")) {
        error = parse_nat(ctx, arg);
    } else if (!*arg && !parens && ofp_port_parse(key, ctx->port_map, &port)) {
        error = put_output(ctx, port, UINT16_MAX);
    } else {
        error = xasprintf("unknown action '%s'", key);
    }
#undef IS
    return error;
}

static char *
parse_list(struct parse_ctx *ctx, const char *text)
{
    const char *s = text;
    bool drop = false;
    size_t start = ctx->o->size;
    char *key, *value, *error = NULL;

    for (;;) {
        const char *item = s + strspn(s, ", \t\r\n");
        size_t klen = strcspn(item, ":=(, \t\r\n)");
        bool parens = item[klen] == '(';

        if (!next_item(&s, &key, &value, &error)) {
            break;
        }
        error = parse_action(ctx, key, value, parens, &drop);
        free(key);
        free(value);
        if (error) {
            break;
        }
    }
    if (!error && drop && ctx->o->size != start) {
        error = xstrdup("'drop' must not be accompanied by any other "
                        "action");
    }
    return error;
}

char *
ofpacts_parse(const char *text, const struct ofp_port_map *port_map,
              struct ofpacts *o)
{
    struct parse_ctx ctx = { port_map, o, 0 };
    size_t start = o->size;
    char *error = parse_list(&ctx, text);

    if (error) {
        o->size = start;
    }
    return error;
}

/* Checking against the match. */

static char *
check_prereq(const char *action, enum mf_prereq prereq,
             const struct match *match)
{
    const struct mf_field *probe;
    enum mf_field_id id;

    switch (prereq) {
    case MFP_IPV4: id = MFF_NW_SRC; break;
    case MFP_IP_ANY: id = MFF_NW_TTL; break;
    case MFP_L4: id = MFF_TP_SRC; break;
    default: return NULL;
    }
    probe = mf_from_id(id);
    if (!mf_are_match_prereqs_ok(probe, match)) {
        return xasprintf("action '%s' needs %s in the match", action,
                         mf_prereq_string(prereq));
    }
    return NULL;
}

static char *
check_field(const char *action, const struct mf_field *mf,
            const struct match *match)
{
    if (!mf_are_match_prereqs_ok(mf, match)) {
        return xasprintf("action '%s' on '%s' needs %s in the match",
                         action, mf->name, mf_prereq_string(mf->prereq));
    }
    return NULL;
}

char *
ofpacts_check(const struct ofpact *ofpacts, size_t len,
              const struct match *match)
{
    const struct ofpact *a;
    char *error = NULL;

    OFPACT_FOR_EACH (a, ofpacts, len) {
        const char *name = ofpact_name(a->type);
        const struct ofpact *nested;
        size_t nested_len;

        switch (a->type) {
        case OFPACT_SET_FIELD:
        case OFPACT_LOAD:
            error = check_field(name, ofpact_get_SET_FIELD(a)->field, match);
            break;
        case OFPACT_MOVE:
            error = check_field(name, ofpact_get_MOVE(a)->src.field, match);
            if (!error) {
                error = check_field(name, ofpact_get_MOVE(a)->dst.field,
                                    match);
            }
            break;
        case OFPACT_OUTPUT_REG:
            error = check_field(name, ofpact_get_OUTPUT_REG(a)->src.field,
                                match);
            break;
        case OFPACT_SET_IPV4_SRC:
        case OFPACT_SET_IPV4_DST:
            error = check_prereq(name, MFP_IPV4, match);
            break;
        case OFPACT_SET_IP_DSCP:
        case OFPACT_SET_IP_ECN:
        case OFPACT_SET_IP_TTL:
            error = check_prereq(name, MFP_IP_ANY, match);
            break;
        case OFPACT_SET_L4_SRC_PORT:
        case OFPACT_SET_L4_DST_PORT:
            error = check_prereq(name, MFP_L4, match);
            break;
        case OFPACT_CLONE:
        case OFPACT_CT:
            nested = ofpact_nested(a, &nested_len);
            error = ofpacts_check(nested, nested_len, match);
            break;
        default:
            break;
        }
        if (error) {
            return error;
        }
    }
    return NULL;
}

/* Formatting. */

static void
format_hex_bytes(struct ds *s, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        ds_put_format(s, "%s%02x", i ? "." : "", p[i]);
    }
}

static void
format_subvalue(struct ds *s, const union mf_subvalue *sv)
{
    size_t i = 0;

    while (i < 15 && !sv->u8[i]) {
        i++;
    }
    ds_put_format(s, "%#x", sv->u8[i]);
    for (i++; i < 16; i++) {
        ds_put_format(s, "%02x", sv->u8[i]);
    }
}

static void
format_load(struct ds *s, const struct ofpact_set_field *sf)
{
    union mf_subvalue sv, sm, bits;
    struct mf_subfield dst = { sf->field, 0, 0 };
    int lo = -1, hi = -1;

    mf_value_to_subvalue(sf->field, &sf->mask, &sm);
    mf_value_to_subvalue(sf->field, &sf->value, &sv);
    for (int i = 0; i < 128; i++) {
        if (sm.u8[15 - i / 8] & (1u << (i % 8))) {
            if (lo < 0) {
                lo = i;
            }
            hi = i;
        }
    }
    if (lo < 0) {
        lo = hi = 0;
    }
    dst.ofs = lo;
    dst.n_bits = hi - lo + 1;
    memset(&bits, 0, sizeof bits);
    mf_bitwise_copy(&sv, 16, dst.ofs, &bits, 16, 0, dst.n_bits);
    ds_put_cstr(s, "load:");
    format_subvalue(s, &bits);
    ds_put_cstr(s, "->");
    mf_format_subfield(&dst, s);
}

static void
format_controller(struct ds *s, const struct ofpact_controller *c)
{
    if (c->reason == OFPR_ACTION && !c->controller_id && !c->pause
        && !c->userdata_len) {
        ds_put_format(s, "CONTROLLER:%"PRIu16, c->max_len);
        return;
    }
    ds_put_cstr(s, "controller(");
    if (c->reason != OFPR_ACTION) {
        ds_put_format(s, "reason=%s,", c->reason < ARRAY_SIZE(reason_names)
                                       ? reason_names[c->reason] : "?");
    }
    if (c->max_len != UINT16_MAX) {
        ds_put_format(s, "max_len=%"PRIu16",", c->max_len);
    }
    if (c->controller_id) {
        ds_put_format(s, "id=%"PRIu16",", c->controller_id);
    }
    if (c->userdata_len) {
        ds_put_cstr(s, "userdata=");
        format_hex_bytes(s, c->userdata, c->userdata_len);
        ds_put_char(s, ',');
    }
    if (c->pause) {
        ds_put_cstr(s, "pause,");
    }
    ds_chomp(s, ',');
    ds_put_char(s, ')');
}

static void
format_resubmit(struct ds *s, const struct ofpact_resubmit *r,
                const struct ofp_port_map *pm)
{
    if (r->in_port != OFPP_IN_PORT && r->table_id == 255
        && !r->with_ct_orig) {
        ds_put_cstr(s, "resubmit:");
        ofp_port_format(r->in_port, pm, s);
        return;
    }
    ds_put_cstr(s, "resubmit(");
    if (r->in_port != OFPP_IN_PORT) {
        ofp_port_format(r->in_port, pm, s);
    }
    ds_put_char(s, ',');
    if (r->table_id != 255) {
        ds_put_format(s, "%u", r->table_id);
    }
    if (r->with_ct_orig) {
        ds_put_cstr(s, ",ct");
    }
    ds_put_char(s, ')');
}

static void
format_nat(struct ds *s, const struct ofpact_nat *n)
{
    char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];

    ds_put_cstr(s, "nat");
    if (!(n->flags & (NX_NAT_F_SRC | NX_NAT_F_DST))) {
        return;
    }
    ds_put_format(s, "(%s", n->flags & NX_NAT_F_SRC ? "src" : "dst");
    if (n->range_af == AF_INET) {
        inet_ntop(AF_INET, &n->range_addr.ipv4.min, a, sizeof a);
        ds_put_format(s, "=%s", a);
        if (n->range_addr.ipv4.max != n->range_addr.ipv4.min) {
            inet_ntop(AF_INET, &n->range_addr.ipv4.max, b, sizeof b);
            ds_put_format(s, "-%s", b);
        }
    } else if (n->range_af == AF_INET6) {
        char a6[INET6_ADDRSTRLEN], b6[INET6_ADDRSTRLEN];

        inet_ntop(AF_INET6, &n->range_addr.ipv6.min, a6, sizeof a6);
        ds_put_format(s, "=[%s]", a6);
        if (memcmp(&n->range_addr.ipv6.max, &n->range_addr.ipv6.min,
                   sizeof n->range_addr.ipv6.min)) {
            inet_ntop(AF_INET6, &n->range_addr.ipv6.max, b6, sizeof b6);
            ds_put_format(s, "-[%s]", b6);
        }
    }
    if (n->range_af != AF_UNSPEC && n->proto_min) {
        ds_put_format(s, ":%"PRIu16, n->proto_min);
        if (n->proto_max != n->proto_min) {
            ds_put_format(s, "-%"PRIu16, n->proto_max);
        }
    }
    ds_put_char(s, ',');
    if (n->flags & NX_NAT_F_PERSISTENT) {
        ds_put_cstr(s, "persistent,");
    }
    if (n->flags & NX_NAT_F_PROTO_HASH) {
        ds_put_cstr(s, "hash,");
    }
    if (n->flags & NX_NAT_F_PROTO_RANDOM) {
        ds_put_cstr(s, "random,");
    }
    ds_chomp(s, ',');
    ds_put_char(s, ')');
}

static void format_list(const struct ofpact *, size_t,
                        const struct ofp_port_map *, struct ds *);

static void
format_ct(struct ds *s, const struct ofpact_conntrack *ct,
          const struct ofp_port_map *pm)
{
    const struct ofpact *nested;
    size_t len;

    ds_put_cstr(s, "ct(");
    if (ct->flags & NX_CT_F_COMMIT) {
        ds_put_cstr(s, "commit,");
    }
    if (ct->flags & NX_CT_F_FORCE) {
        ds_put_cstr(s, "force,");
    }
    if (ct->recirc_table != NX_CT_RECIRC_NONE) {
        ds_put_format(s, "table=%u,", ct->recirc_table);
    }
    if (ct->zone_src.field) {
        ds_put_cstr(s, "zone=");
        mf_format_subfield(&ct->zone_src, s);
        ds_put_char(s, ',');
    } else if (ct->zone_imm) {
        ds_put_format(s, "zone=%"PRIu16",", ct->zone_imm);
    }
    nested = ofpact_nested(&ct->ofpact, &len);
    /* As OVS: a leading nat is written outside the exec() envelope. */
    if (len && nested->type == OFPACT_NAT) {
        format_nat(s, ofpact_get_NAT(nested));
        ds_put_char(s, ',');
        len -= ROUND_UP(nested->len, OFPACT_ALIGNTO);
        nested = ofpact_next(nested);
    }
    if (len) {
        ds_put_cstr(s, "exec(");
        format_list(nested, len, pm, s);
        ds_put_cstr(s, "),");
    }
    if (ct->alg == 21) {
        ds_put_cstr(s, "alg=ftp,");
    } else if (ct->alg == 69) {
        ds_put_cstr(s, "alg=tftp,");
    } else if (ct->alg) {
        ds_put_format(s, "alg=%"PRIu16",", ct->alg);
    }
    ds_chomp(s, ',');
    ds_put_char(s, ')');
}

static void
format_action(const struct ofpact *a, const struct ofp_port_map *pm,
              struct ds *s)
{
    char buf[INET_ADDRSTRLEN];
    const struct ofpact *nested;
    size_t len;

    switch ((enum ofpact_type) a->type) {
    case OFPACT_OUTPUT:
        ds_put_cstr(s, "output:");
        ofp_port_format(ofpact_get_OUTPUT(a)->port, pm, s);
        break;
    case OFPACT_NORMAL:
        ds_put_cstr(s, "NORMAL");
        break;
    case OFPACT_FLOOD:
        ds_put_cstr(s, "FLOOD");
        break;
    case OFPACT_ALL:
        ds_put_cstr(s, "ALL");
        break;
    case OFPACT_IN_PORT:
        ds_put_cstr(s, "IN_PORT");
        break;
    case OFPACT_LOCAL:
        ds_put_cstr(s, "LOCAL");
        break;
    case OFPACT_CONTROLLER:
        format_controller(s, ofpact_get_CONTROLLER(a));
        break;
    case OFPACT_RESUBMIT:
        format_resubmit(s, ofpact_get_RESUBMIT(a), pm);
        break;
    case OFPACT_GOTO_TABLE:
        ds_put_format(s, "goto_table:%u", ofpact_get_GOTO_TABLE(a)->table_id);
        break;
    case OFPACT_SET_FIELD: {
        const struct ofpact_set_field *sf = ofpact_get_SET_FIELD(a);
        ds_put_cstr(s, "set_field:");
        mf_format(sf->field, &sf->value, &sf->mask, pm, s);
        ds_put_format(s, "->%s", sf->field->name);
        break;
    }
    case OFPACT_LOAD:
        format_load(s, ofpact_get_LOAD(a));
        break;
    case OFPACT_MOVE:
        ds_put_cstr(s, "move:");
        mf_format_subfield(&ofpact_get_MOVE(a)->src, s);
        ds_put_cstr(s, "->");
        mf_format_subfield(&ofpact_get_MOVE(a)->dst, s);
        break;
    case OFPACT_OUTPUT_REG:
        ds_put_cstr(s, "output:");
        mf_format_subfield(&ofpact_get_OUTPUT_REG(a)->src, s);
        break;
    case OFPACT_PUSH_VLAN:
        ds_put_format(s, "push_vlan:%#"PRIx16,
                      ofpact_get_PUSH_VLAN(a)->ethertype);
        break;
    case OFPACT_POP_VLAN:
        ds_put_cstr(s, ofpact_get_POP_VLAN(a)->strip_vlan ? "strip_vlan"
                                                          : "pop_vlan");
        break;
    case OFPACT_SET_VLAN_VID:
        ds_put_format(s, "%s:%"PRIu16,
                      ofpact_get_SET_VLAN_VID(a)->push_vlan_if_needed
                      ? "mod_vlan_vid" : "set_vlan_vid",
                      ofpact_get_SET_VLAN_VID(a)->vlan_vid);
        break;
    case OFPACT_SET_VLAN_PCP:
        ds_put_format(s, "%s:%u",
                      ofpact_get_SET_VLAN_PCP(a)->push_vlan_if_needed
                      ? "mod_vlan_pcp" : "set_vlan_pcp",
                      ofpact_get_SET_VLAN_PCP(a)->vlan_pcp);
        break;
    case OFPACT_SET_ETH_SRC:
    case OFPACT_SET_ETH_DST:
        ds_put_format(s, "%s:"ETH_ADDR_FMT, ofpact_name(a->type),
                      ETH_ADDR_ARGS(ofpact_get_SET_ETH_SRC(a)->mac));
        break;
    case OFPACT_SET_IPV4_SRC:
    case OFPACT_SET_IPV4_DST:
        inet_ntop(AF_INET, &ofpact_get_SET_IPV4_SRC(a)->ipv4, buf,
                  sizeof buf);
        ds_put_format(s, "%s:%s", ofpact_name(a->type), buf);
        break;
    case OFPACT_SET_IP_DSCP:
        ds_put_format(s, "mod_nw_tos:%u", ofpact_get_SET_IP_DSCP(a)->dscp);
        break;
    case OFPACT_SET_IP_ECN:
        ds_put_format(s, "mod_nw_ecn:%u", ofpact_get_SET_IP_ECN(a)->ecn);
        break;
    case OFPACT_SET_IP_TTL:
        ds_put_format(s, "mod_nw_ttl:%u", ofpact_get_SET_IP_TTL(a)->ttl);
        break;
    case OFPACT_SET_L4_SRC_PORT:
    case OFPACT_SET_L4_DST_PORT:
        ds_put_format(s, "%s:%"PRIu16, ofpact_name(a->type),
                      ofpact_get_SET_L4_SRC_PORT(a)->port);
        break;
    case OFPACT_DEC_TTL:
        ds_put_cstr(s, "dec_ttl");
        break;
    case OFPACT_GROUP:
        ds_put_format(s, "group:%"PRIu32, ofpact_get_GROUP(a)->group_id);
        break;
    case OFPACT_NOTE:
        ds_put_cstr(s, "note:");
        format_hex_bytes(s, ofpact_get_NOTE(a)->data,
                         ofpact_get_NOTE(a)->length);
        break;
    case OFPACT_CLONE:
        nested = ofpact_nested(a, &len);
        ds_put_cstr(s, "clone(");
        format_list(nested, len, pm, s);
        ds_put_char(s, ')');
        break;
    case OFPACT_CT:
        format_ct(s, ofpact_get_CT(a), pm);
        break;
    case OFPACT_CT_CLEAR:
        ds_put_cstr(s, "ct_clear");
        break;
    case OFPACT_NAT:
        format_nat(s, ofpact_get_NAT(a));
        break;
    case OFPACT_N_TYPES:
    default:
        ds_put_format(s, "<unknown action %u>", a->type);
        break;
    }
}

static void
format_list(const struct ofpact *ofpacts, size_t len,
            const struct ofp_port_map *pm, struct ds *s)
{
    const struct ofpact *a;

    OFPACT_FOR_EACH (a, ofpacts, len) {
        if (a != ofpacts) {
            ds_put_char(s, ',');
        }
        format_action(a, pm, s);
    }
}

void
ofpacts_format(const struct ofpact *ofpacts, size_t len,
               const struct ofp_port_map *pm, struct ds *s)
{
    if (!len) {
        ds_put_cstr(s, "drop");
    } else {
        format_list(ofpacts, len, pm, s);
    }
}
