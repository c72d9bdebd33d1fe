/* vsctl-ct: the conntrack commands of vsctl (OVS's ovs-appctl dpctl/
 * *-conntrack and ct-* commands, and ovs-vsctl's zone timeout policies):
 * argument parsing, requests and output, text (OVS's formats) or JSON. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl-proto.h"
#include "dynamic-string.h"
#include "json.h"
#include "util.h"
#include "vsctl.h"

/* ---- Argument parsing --------------------------------------------------- */

static uint32_t
parse_u32(const char *what, const char *s, uint32_t max)
{
    uint64_t v;

    if (!str_to_u64(s, max, &v)) {
        vsctl_fatal(1, "invalid %s '%s' (expected a number up to %"PRIu32
                    ")", what, s, max);
    }
    return v;
}

static uint16_t
parse_zone(const char *s)
{
    return parse_u32("zone", s, UINT16_MAX);
}

/* "zone=N" or nothing: the zone filter of a dump. */
static uint32_t
parse_zone_filter(int argc, char *argv[], int first)
{
    uint32_t zone = CTL_CT_NO_ZONE;

    for (int i = first; i < argc; i++) {
        if (strncmp(argv[i], "zone=", 5) || zone != CTL_CT_NO_ZONE) {
            vsctl_fatal(1, "invalid argument '%s' (expected zone=N)",
                        argv[i]);
        }
        zone = parse_zone(argv[i] + 5);
    }
    return zone;
}

/* Parses "V" or "V/M" of up to 128 bits (hex with 0x, else decimal up to
 * 64 bits) into value[2] and mask[2] ([0] the low 64 bits). */
static bool
parse_u128(const char *s, uint64_t v[2])
{
    v[0] = v[1] = 0;
    if (!strncmp(s, "0x", 2) || !strncmp(s, "0X", 2)) {
        size_t n = strlen(s + 2);
        if (!n || n > 32) {
            return false;
        }
        for (const char *p = s + 2; *p; p++) {
            if (!isxdigit((unsigned char) *p)) {
                return false;
            }
            int d = isdigit((unsigned char) *p) ? *p - '0'
                    : tolower((unsigned char) *p) - 'a' + 10;
            v[1] = (v[1] << 4) | (v[0] >> 60);
            v[0] = (v[0] << 4) | d;
        }
        return true;
    }
    return str_to_u64(s, UINT64_MAX, &v[0]);
}

static void
parse_masked128(const char *what, const char *arg, uint64_t v[2],
                uint64_t m[2])
{
    char *copy = xstrdup(arg);
    char *slash = strchr(copy, '/');

    if (slash) {
        *slash = '\0';
    }
    if (!parse_u128(copy, v) || (slash && !parse_u128(slash + 1, m))) {
        vsctl_fatal(1, "invalid %s '%s' (expected VALUE[/MASK])", what, arg);
    }
    if (!slash) {
        m[0] = m[1] = UINT64_MAX;
    }
    free(copy);
}

static void
parse_addr(const char *field, const char *s, int family, uint8_t out[16])
{
    memset(out, 0, 16);
    if (inet_pton(family == 4 ? AF_INET : AF_INET6, s, out) != 1) {
        vsctl_fatal(1, "failed to parse field '%s': invalid %s address "
                    "'%s'", field, family == 4 ? "IPv4" : "IPv6", s);
    }
}

/* Sets the tuple's family, or fails if it conflicts with the first. */
static void
tuple_family(struct ctl_ct_tuple *t, int family, const char *arg)
{
    if (t->family && t->family != family) {
        vsctl_fatal(1, "invalid conntrack tuple '%s': mixes IPv4 and IPv6 "
                    "addresses", arg);
    }
    t->family = family;
}

/* OVS's tuple syntax: ct_nw_src=A,ct_nw_dst=A (or ct_ipv6_src/dst),
 * ct_nw_proto=N,ct_tp_src=N,ct_tp_dst=N, icmp_id=N, icmp_type=N,
 * icmp_code=N.  Omitted fields are zero. */
static void
parse_tuple(const char *arg, struct ctl_ct_tuple *t)
{
    char *copy = xstrdup(arg);
    char *save = NULL;

    memset(t, 0, sizeof *t);
    for (char *f = strtok_r(copy, ",", &save); f;
         f = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(f, '=');
        if (!eq) {
            vsctl_fatal(1, "invalid conntrack tuple field '%s' (expected "
                        "KEY=VALUE)", f);
        }
        *eq = '\0';
        const char *v = eq + 1;
        if (!strcmp(f, "ct_nw_src")) {
            tuple_family(t, 4, arg);
            parse_addr(f, v, 4, t->src);
        } else if (!strcmp(f, "ct_nw_dst")) {
            tuple_family(t, 4, arg);
            parse_addr(f, v, 4, t->dst);
        } else if (!strcmp(f, "ct_ipv6_src")) {
            tuple_family(t, 6, arg);
            parse_addr(f, v, 6, t->src);
        } else if (!strcmp(f, "ct_ipv6_dst")) {
            tuple_family(t, 6, arg);
            parse_addr(f, v, 6, t->dst);
        } else if (!strcmp(f, "ct_nw_proto")) {
            t->nw_proto = parse_u32("ct_nw_proto", v, UINT8_MAX);
        } else if (!strcmp(f, "ct_tp_src")) {
            t->src_port = parse_u32("ct_tp_src", v, UINT16_MAX);
        } else if (!strcmp(f, "ct_tp_dst")) {
            t->dst_port = parse_u32("ct_tp_dst", v, UINT16_MAX);
        } else if (!strcmp(f, "icmp_id")) {
            t->src_port = t->dst_port = parse_u32("icmp_id", v, UINT16_MAX);
        } else if (!strcmp(f, "icmp_type")) {
            t->icmp_type = parse_u32("icmp_type", v, UINT8_MAX);
        } else if (!strcmp(f, "icmp_code")) {
            t->icmp_code = parse_u32("icmp_code", v, UINT8_MAX);
        } else {
            vsctl_fatal(1, "invalid conntrack tuple field '%s'", f);
        }
    }
    if (!t->family) {
        vsctl_fatal(1, "invalid conntrack tuple '%s': no address (need "
                    "ct_nw_src and ct_nw_dst, or ct_ipv6_src and "
                    "ct_ipv6_dst)", arg);
    }
    if (!t->nw_proto) {
        vsctl_fatal(1, "invalid conntrack tuple '%s': missing ct_nw_proto",
                    arg);
    }
    free(copy);
}

/* ---- Output helpers ----------------------------------------------------- */

static void
json_print(struct ds *ds)
{
    fputs(ds_cstr(ds), stdout);
    ds_clear(ds);
}

static char *
memdup0(const char *s, size_t n)
{
    char *p = xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

static bool
is_number(const char *s, size_t n)
{
    if (!n || n > 19 || (n > 1 && s[0] == '0')) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char) s[i])) {
            return false;
        }
    }
    return true;
}

/* Length of the next comma-separated item of 's' at parenthesis depth 0
 * ('s' has 'n' bytes). */
static size_t
item_len(const char *s, size_t n)
{
    int depth = 0;
    size_t i;

    for (i = 0; i < n; i++) {
        if (s[i] == '(') {
            depth++;
        } else if (s[i] == ')' && depth) {
            depth--;
        } else if (s[i] == ',' && !depth) {
            break;
        }
    }
    return i;
}

/* Writes the members of a dump-conntrack line (or of one of its
 * parenthesized groups) into the open JSON object: "k=v" as a number or
 * string, "k=(...)" as a nested object, a bare word (the protocol, as
 * "tcp") as "proto", later bare words as true. */
static void
json_ovs_items(struct json_writer *w, const char *s, size_t n, bool top)
{
    bool first = true;

    while (n) {
        size_t len = item_len(s, n);
        const char *eq = memchr(s, '=', len);
        char *key = memdup0(s, eq ? (size_t) (eq - s) : len);
        if (!eq) {
            if (top && first) {
                json_kv_string(w, "proto", key);
            } else {
                json_kv_bool(w, key, true);
            }
        } else {
            const char *v = eq + 1;
            size_t vlen = len - (v - s);
            if (vlen >= 2 && v[0] == '(' && v[vlen - 1] == ')') {
                json_key(w, key);
                json_begin_object(w);
                json_ovs_items(w, v + 1, vlen - 2, false);
                json_end_object(w);
            } else if (is_number(v, vlen)) {
                char *num = memdup0(v, vlen);
                json_kv_uint(w, key, strtoull(num, NULL, 10));
                free(num);
            } else {
                char *str = memdup0(v, vlen);
                json_kv_string(w, key, str);
                free(str);
            }
        }
        free(key);
        first = false;
        s += len;
        n -= len;
        if (n) {
            s++;
            n--;
        }
    }
}

static void
json_conn(struct json_writer *w, const struct ctl_ct_conn *c)
{
    json_begin_object(w);
    json_ovs_items(w, c->line, strlen(c->line), true);
    json_kv_string(w, "line", c->line);
    json_end_object(w);
}

/* ---- dump-conntrack, dump-conntrack-exp --------------------------------- */

struct dump_state {
    struct ds ds;
    struct json_writer w;
};

static void
print_conns_part(struct vsctl_ctx *ctx, const struct ctl_msg *part,
                 void *st_)
{
    struct dump_state *st = st_;
    const struct ctl_mp_reply *r = &part->mp_reply;

    for (size_t i = 0; i < r->n; i++) {
        if (ctx->json) {
            json_conn(&st->w, &r->ct_conns[i]);
        } else {
            printf("%s\n", r->ct_conns[i].line);
        }
    }
    if (ctx->json) {
        json_print(&st->ds);
    }
}

static void
dump_conns(struct vsctl_ctx *ctx, enum ctl_mp_type kind, uint32_t zone)
{
    struct dump_state st;
    bool exp = kind == CTL_MP_CT_DUMP_EXP;
    struct ctl_msg req;

    ds_init(&st.ds);
    ctl_msg_init_mp_request(&req, 0, kind, NULL);
    req.mp_request.ct_dump.zone = zone;
    req.mp_request.ct_dump.flags = ((ctx->more ? CTL_CTD_VERBOSE : 0)
                                    | (ctx->statistics ? CTL_CTD_STATS : 0));
    if (ctx->json) {
        json_writer_init(&st.w, &st.ds, true);
        json_begin_object(&st.w);
        json_key(&st.w, exp ? "expectations" : "connections");
        json_begin_array(&st.w);
    }
    vsctl_transact_mp_each(ctx, &req, print_conns_part, &st);
    if (ctx->json) {
        json_end_array(&st.w);
        json_end_object(&st.w);
        ts_assert(json_writer_is_complete(&st.w));
        json_print(&st.ds);
    }
    ds_destroy(&st.ds);
    ctl_msg_release(&req);
}

static void
cmd_dump_conntrack(struct vsctl_ctx *ctx, int argc, char *argv[])
{
    dump_conns(ctx, CTL_MP_CT_DUMP, parse_zone_filter(argc, argv, 1));
}

static void
cmd_dump_conntrack_exp(struct vsctl_ctx *ctx, int argc, char *argv[])
{
    dump_conns(ctx, CTL_MP_CT_DUMP_EXP, parse_zone_filter(argc, argv, 1));
}

/* ---- flush-conntrack ---------------------------------------------------- */

static void
cmd_flush_conntrack(struct vsctl_ctx *ctx, int argc, char *argv[])
{
    struct ctl_msg req;
    int n_tuples = 0;

    ctl_msg_init(&req, CTL_CT_FLUSH, 0);
    struct ctl_ct_flush *f = &req.ct_flush;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strncmp(a, "zone=", 5) && !n_tuples) {
            f->zone = parse_zone(a + 5);
        } else if (!strncmp(a, "mark=", 5) && !n_tuples) {
            uint64_t v[2], m[2];
            parse_masked128("mark", a + 5, v, m);
            if (v[1] || v[0] > UINT32_MAX || m[1]
                || (m[0] > UINT32_MAX && m[0] != UINT64_MAX)) {
                vsctl_fatal(1, "invalid mark '%s' (32 bits)", a + 5);
            }
            f->mark = v[0];
            f->mark_mask = m[0];
        } else if (!strncmp(a, "labels=", 7) && !n_tuples) {
            parse_masked128("labels", a + 7, f->label, f->label_mask);
        } else if (n_tuples < 2) {
            parse_tuple(a, n_tuples ? &f->reply : &f->orig);
            n_tuples++;
        } else {
            vsctl_fatal(1, "invalid argument '%s' (at most two tuples)", a);
        }
    }
    vsctl_transact(ctx, &req, CTL_OK, NULL);
    ctl_msg_release(&req);
}

/* ---- ct-stats ----------------------------------------------------------- */

static void
cmd_ct_stats(struct vsctl_ctx *ctx, int argc, char *argv[])
{
    struct ctl_msg req, reply;
    bool verbose = ctx->more;
    uint32_t zone = CTL_CT_NO_ZONE;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "verbose")) {
            verbose = true;
        } else {
            zone = parse_zone_filter(2, (char *[]) { NULL, argv[i] }, 1);
        }
    }
    ctl_msg_init_mp_request(&req, 0, CTL_MP_CT_STATS, NULL);
    req.mp_request.ct_dump.zone = zone;
    req.mp_request.ct_dump.flags = verbose ? CTL_CTD_VERBOSE : 0;
    vsctl_transact_mp(ctx, &req, &reply);

    const struct ctl_mp_reply *r = &reply.mp_reply;
    if (ctx->json) {
        struct ds ds = DS_EMPTY_INITIALIZER;
        struct json_writer w;
        json_writer_init(&w, &ds, true);
        json_begin_object(&w);
        const char *proto = NULL;
        for (size_t i = 0; i < r->n; i++) {
            const struct ctl_ct_counter *c = &r->ct_counters[i];
            if (c->kind == CTL_CTC_PROTO) {
                proto = c->name;
                json_kv_uint(&w, c->name, c->value);
            } else if (c->kind == CTL_CTC_STATE && proto) {
                char *k = xasprintf("%s_%s", proto, c->name);
                json_kv_uint(&w, k, c->value);
                free(k);
            } else {
                json_kv_uint(&w, c->name, c->value);
            }
        }
        json_end_object(&w);
        json_print(&ds);
        ds_destroy(&ds);
    } else {
        bool counters = false;
        printf("Connections Stats:\n");
        for (size_t i = 0; i < r->n; i++) {
            const struct ctl_ct_counter *c = &r->ct_counters[i];
            if (c->kind == CTL_CTC_PROTO) {
                printf("\t%s%s: %"PRIu64"\n",
                       strcmp(c->name, "Total") ? "  " : "", c->name,
                       c->value);
            } else if (c->kind == CTL_CTC_STATE) {
                printf("\t\t%s: %"PRIu64"\n", c->name, c->value);
            } else {
                if (!counters) {
                    printf("Counters:\n");
                    counters = true;
                }
                printf("\t%s: %"PRIu64"\n", c->name, c->value);
            }
        }
    }
    ctl_msg_release(&req);
    ctl_msg_release(&reply);
}

/* ---- maxconns, nconns, tcp-seq-chk -------------------------------------- */

static void
ct_info(struct vsctl_ctx *ctx, struct ctl_msg *reply)
{
    struct ctl_msg req;

    ctl_msg_init(&req, CTL_CT_INFO_REQUEST, 0);
    vsctl_transact(ctx, &req, CTL_CT_INFO_REPLY, reply);
    ctl_msg_release(&req);
}

static void
print_info_value(struct vsctl_ctx *ctx, const char *key)
{
    struct ctl_msg reply;

    ct_info(ctx, &reply);
    const char *v = smap_get(&reply.kv, key);
    if (!v) {
        vsctl_fatal(1, "the daemon did not report '%s'", key);
    }
    if (ctx->json) {
        printf("{\n  \"%s\": %s\n}\n", key, v);
    } else {
        printf("%s\n", v);
    }
    ctl_msg_release(&reply);
}

static void
set_value(struct vsctl_ctx *ctx, enum ctl_type type, uint32_t value)
{
    struct ctl_msg req;

    ctl_msg_init(&req, type, 0);
    req.ct_value = value;
    vsctl_transact(ctx, &req, CTL_OK, NULL);
    ctl_msg_release(&req);
}

static void
cmd_ct_set_maxconns(struct vsctl_ctx *ctx, int argc, char *argv[])
{
    set_value(ctx, CTL_CT_SET_MAXCONNS,
              parse_u32("maxconns", argv[1], UINT32_MAX));
    if (!ctx->json) {
        printf("setting maxconns successful\n");
    }
}

static void
cmd_ct_get_maxconns(struct vsctl_ctx *ctx, int argc, char *argv[])
{
    print_info_value(ctx, "maxconns");
}

static void
cmd_ct_get_nconns(struct vsctl_ctx *ctx, int argc, char *argv[])
{
    print_info_value(ctx, "nconns");
}

static void
set_tcp_seq_chk(struct vsctl_ctx *ctx, bool on)
{
    set_value(ctx, CTL_CT_SET_TCP_SEQ_CHK, on);
    if (!ctx->json) {
        printf("%s TCP sequence checking successful\n",
               on ? "enabling" : "disabling");
    }
}

static void
cmd_ct_set_tcp_seq_chk(struct vsctl_ctx *ctx, int argc, char *argv[])
{
    if (!strcmp(argv[1], "on") || !strcmp(argv[1], "true")) {
        set_tcp_seq_chk(ctx, true);
    } else if (!strcmp(argv[1], "off") || !strcmp(argv[1], "false")) {
        set_tcp_seq_chk(ctx, false);
    } else {
        vsctl_fatal(1, "invalid argument '%s' (expected on or off)",
                    argv[1]);
    }
}

static void
cmd_ct_get_tcp_seq_chk(struct vsctl_ctx *ctx, int argc, char *argv[])
{
    struct ctl_msg reply;

    ct_info(ctx, &reply);
    const char *v = smap_get(&reply.kv, "tcp_seq_chk");
    bool on = v && !strcmp(v, "1");
    if (ctx->json) {
        printf("{\n  \"tcp_seq_chk\": %s\n}\n", on ? "true" : "false");
    } else {
        printf("TCP sequence checking: %s\n", on ? "enabled" : "disabled");
    }
    ctl_msg_release(&reply);
}

/* ---- Zone limits -------------------------------------------------------- */

/* "zone=N,limit=L" (or "default=L" when 'allow_default'); "zone=N"
 * alone when 'need_limit' is false.  Appends to 'l'. */
static void
parse_zone_limit(const char *arg, struct ctl_ct_limits *l, bool need_limit)
{
    if (!strncmp(arg, "default=", 8) && need_limit) {
        ctl_ct_limits_add(l, CTL_CT_ZONE_DEFAULT,
                          parse_u32("limit", arg + 8, UINT32_MAX));
        return;
    }
    char *copy = xstrdup(arg);
    char *save = NULL;
    bool has_zone = false, has_limit = false;
    uint32_t zone = 0, limit = 0;

    for (char *f = strtok_r(copy, ",", &save); f;
         f = strtok_r(NULL, ",", &save)) {
        if (!strncmp(f, "zone=", 5) && !has_zone) {
            zone = parse_zone(f + 5);
            has_zone = true;
        } else if (!strncmp(f, "limit=", 6) && need_limit && !has_limit) {
            limit = parse_u32("limit", f + 6, UINT32_MAX);
            has_limit = true;
        } else {
            vsctl_fatal(1, "invalid zone limit '%s' (expected %s)", arg,
                        need_limit ? "zone=N,limit=L or default=L"
                                   : "zone=N");
        }
    }
    if (!has_zone || (need_limit && !has_limit)) {
        vsctl_fatal(1, "invalid zone limit '%s' (expected %s)", arg,
                    need_limit ? "zone=N,limit=L or default=L" : "zone=N");
    }
    ctl_ct_limits_add(l, zone, limit);
    free(copy);
}

/* "zone=N1[,N2]..." as OVS's ct-get-limits and ct-del-limits. */
static void
parse_zone_list(const char *arg, struct ctl_ct_limits *l)
{
    if (strncmp(arg, "zone=", 5)) {
        vsctl_fatal(1, "invalid argument '%s' (expected zone=N[,N]...)",
                    arg);
    }
    char *copy = xstrdup(arg + 5);
    char *save = NULL;
    for (char *f = strtok_r(copy, ",", &save); f;
         f = strtok_r(NULL, ",", &save)) {
        if (!strcmp(f, "default")) {
            ctl_ct_limits_add(l, CTL_CT_ZONE_DEFAULT, 0);
        } else {
            ctl_ct_limits_add(l, parse_zone(f), 0);
        }
    }
    free(copy);
    if (!l->n) {
        vsctl_fatal(1, "invalid argument '%s' (expected zone=N[,N]...)",
                    arg);
    }
}

static void
cmd_ct_set_limits(struct vsctl_ctx *ctx, int argc, char *argv[])
{
    struct ctl_msg req;

    ctl_msg_init(&req, CTL_CT_SET_LIMITS, 0);
    for (int i = 1; i < argc; i++) {
        parse_zone_limit(argv[i], &req.ct_limits, true);
    }
    vsctl_transact(ctx, &req, CTL_OK, NULL);
    ctl_msg_release(&req);
}

static void
cmd_ct_del_limits(struct vsctl_ctx *ctx, int argc, char *argv[])
{
    struct ctl_msg req;

    ctl_msg_init(&req, CTL_CT_DEL_LIMITS, 0);
    for (int i = 1; i < argc; i++) {
        parse_zone_list(argv[i], &req.ct_limits);
    }
    vsctl_transact(ctx, &req, CTL_OK, NULL);
    ctl_msg_release(&req);
}

static void
cmd_ct_get_limits(struct vsctl_ctx *ctx, int argc, char *argv[])
{
    struct ctl_msg req, reply;

    ctl_msg_init_mp_request(&req, 0, CTL_MP_CT_LIMITS, NULL);
    for (int i = 1; i < argc; i++) {
        parse_zone_list(argv[i], &req.mp_request.ct_limits);
    }
    vsctl_transact_mp(ctx, &req, &reply);

    const struct ctl_mp_reply *r = &reply.mp_reply;
    struct ds ds = DS_EMPTY_INITIALIZER;
    if (ctx->json) {
        struct json_writer w;
        json_writer_init(&w, &ds, true);
        json_begin_object(&w);
        json_key(&w, "limits");
        json_begin_array(&w);
        for (size_t i = 0; i < r->n; i++) {
            const struct ctl_ct_zone_limit *l = &r->ct_limits[i];
            json_begin_object(&w);
            if (l->zone == CTL_CT_ZONE_DEFAULT) {
                json_kv_string(&w, "zone", "default");
            } else {
                json_kv_uint(&w, "zone", l->zone);
                json_kv_uint(&w, "count", l->count);
                json_kv_uint(&w, "limit_drops", l->limit_drops);
            }
            json_kv_uint(&w, "limit", l->limit);
            json_end_object(&w);
        }
        json_end_array(&w);
        json_end_object(&w);
    } else {
        for (size_t i = 0; i < r->n; i++) {
            const struct ctl_ct_zone_limit *l = &r->ct_limits[i];
            if (l->zone == CTL_CT_ZONE_DEFAULT) {
                ds_put_format(&ds, "default limit=%"PRIu32"\n", l->limit);
            } else {
                ds_put_format(&ds, "zone=%"PRIu32",limit=%"PRIu32
                              ",count=%"PRIu32"\n", l->zone, l->limit,
                              l->count);
            }
        }
    }
    json_print(&ds);
    ds_destroy(&ds);
    ctl_msg_release(&req);
    ctl_msg_release(&reply);
}

/* ---- Timeout policies --------------------------------------------------- */

/* "zone=N" or "default". */
static uint32_t
parse_tp_zone(const char *arg)
{
    if (!strcmp(arg, "default") || !strcmp(arg, "zone=default")) {
        return CTL_CT_ZONE_DEFAULT;
    }
    if (strncmp(arg, "zone=", 5)) {
        vsctl_fatal(1, "invalid argument '%s' (expected zone=N or "
                    "default)", arg);
    }
    return parse_zone(arg + 5);
}

static void
cmd_ct_set_tp(struct vsctl_ctx *ctx, int argc, char *argv[])
{
    struct ctl_msg req;

    ctl_msg_init(&req, CTL_CT_SET_TP, 0);
    req.ct_tp.zone = parse_tp_zone(argv[1]);
    for (int i = 2; i < argc; i++) {
        char *copy = xstrdup(argv[i]);
        char *eq = strchr(copy, '=');
        if (!eq || eq == copy) {
            vsctl_fatal(1, "invalid timeout '%s' (expected KEY=SECONDS)",
                        argv[i]);
        }
        *eq = '\0';
        ctl_ct_tp_add_attr(&req.ct_tp, copy,
                           parse_u32("timeout", eq + 1, UINT32_MAX));
        free(copy);
    }
    vsctl_transact(ctx, &req, CTL_OK, NULL);
    ctl_msg_release(&req);
}

static void
cmd_ct_del_tp(struct vsctl_ctx *ctx, int argc, char *argv[])
{
    struct ctl_msg req;

    ctl_msg_init(&req, CTL_CT_DEL_TP, 0);
    req.ct_tp.zone = parse_tp_zone(argv[1]);
    if (req.ct_tp.zone == CTL_CT_ZONE_DEFAULT) {
        vsctl_fatal(1, "cannot delete the default timeout policy (set "
                    "its values instead)");
    }
    vsctl_transact(ctx, &req, CTL_OK, NULL);
    ctl_msg_release(&req);
}

static void
cmd_ct_get_tp(struct vsctl_ctx *ctx, int argc, char *argv[])
{
    struct ctl_msg req, reply;
    struct ds ds = DS_EMPTY_INITIALIZER;

    ctl_msg_init_mp_request(&req, 0, CTL_MP_CT_TP, NULL);
    req.mp_request.ct_dump.zone = (argc > 1 ? parse_tp_zone(argv[1])
                                            : CTL_CT_NO_ZONE);
    vsctl_transact_mp(ctx, &req, &reply);

    const struct ctl_mp_reply *r = &reply.mp_reply;
    if (ctx->json) {
        struct json_writer w;
        json_writer_init(&w, &ds, true);
        json_begin_object(&w);
        json_key(&w, "policies");
        json_begin_array(&w);
        for (size_t i = 0; i < r->n; i++) {
            const struct ctl_ct_tp *tp = &r->ct_tps[i];
            json_begin_object(&w);
            if (tp->zone == CTL_CT_ZONE_DEFAULT) {
                json_kv_string(&w, "zone", "default");
            } else {
                json_kv_uint(&w, "zone", tp->zone);
            }
            json_key(&w, "timeouts");
            json_begin_object(&w);
            for (size_t j = 0; j < tp->n_attrs; j++) {
                json_kv_uint(&w, tp->attrs[j].name, tp->attrs[j].seconds);
            }
            json_end_object(&w);
            json_end_object(&w);
        }
        json_end_array(&w);
        json_end_object(&w);
    } else {
        for (size_t i = 0; i < r->n; i++) {
            const struct ctl_ct_tp *tp = &r->ct_tps[i];
            if (tp->zone == CTL_CT_ZONE_DEFAULT) {
                ds_put_cstr(&ds, "default:");
            } else {
                ds_put_format(&ds, "zone=%"PRIu32":", tp->zone);
            }
            for (size_t j = 0; j < tp->n_attrs; j++) {
                ds_put_format(&ds, " %s=%"PRIu32, tp->attrs[j].name,
                              tp->attrs[j].seconds);
            }
            ds_put_char(&ds, '\n');
        }
    }
    json_print(&ds);
    ds_destroy(&ds);
    ctl_msg_release(&req);
    ctl_msg_release(&reply);
}

/* ---- ct-events ---------------------------------------------------------- */

static const char *
event_name(uint8_t type)
{
    return (type == CTL_CTE_NEW ? "[NEW]"
            : type == CTL_CTE_UPDATE ? "[UPDATE]" : "[DESTROY]");
}

static void
cmd_ct_events(struct vsctl_ctx *ctx, int argc, char *argv[])
{
    struct ctl_msg req;

    ctl_msg_init(&req, CTL_CT_MONITOR, 0);
    req.ct_monitor.flags = CTL_CTM_EVENTS;
    req.ct_monitor.zone = parse_zone_filter(argc, argv, 1);
    vsctl_transact(ctx, &req, CTL_OK, NULL);
    ctl_msg_release(&req);

    /* Until interrupted (or the daemon goes away): the timeout applies to
     * the subscription only.  Line-buffered so a pipe sees each event. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    ctx->timeout_ms = 0;
    for (;;) {
        struct ctl_msg m;
        vsctl_recv(ctx, &m);
        if (m.type == CTL_CT_EVENT) {
            if (ctx->json) {
                struct ds ds = DS_EMPTY_INITIALIZER;
                ds_put_cstr(&ds, "{\"event\": ");
                json_put_string(&ds, event_name(m.ct_event.type));
                ds_put_cstr(&ds, ", \"line\": ");
                json_put_string(&ds, m.ct_event.line);
                ds_put_cstr(&ds, "}\n");
                json_print(&ds);
                ds_destroy(&ds);
            } else {
                printf("%s %s\n", event_name(m.ct_event.type),
                       m.ct_event.line);
            }
            fflush(stdout);
        }
        ctl_msg_release(&m);
    }
}

/* ---- Command table ------------------------------------------------------ */

const struct vsctl_command vsctl_ct_commands[] = {
    { "dump-conntrack", 0, 1, cmd_dump_conntrack, "[-m] [-s] [zone=N]",
      "print the connection tracker's entries (of zone N)" },
    { "flush-conntrack", 0, 5, cmd_flush_conntrack,
      "[zone=N] [mark=V[/M]] [labels=V[/M]] [ORIG-TUPLE [REPLY-TUPLE]]",
      "delete the matching entries (all if no filter); a tuple is\n"
      "      ct_nw_src=A,ct_nw_dst=A,ct_nw_proto=P,ct_tp_src=N,"
      "ct_tp_dst=N" },
    { "ct-stats", 0, 2, cmd_ct_stats, "[zone=N] [verbose]",
      "print connection counts per protocol (and TCP state)" },
    { "ct-stats-show", 0, 2, cmd_ct_stats, "[zone=N] [verbose]",
      "same as ct-stats" },
    { "ct-set-maxconns", 1, 1, cmd_ct_set_maxconns, "N",
      "set the maximum number of connections" },
    { "ct-get-maxconns", 0, 0, cmd_ct_get_maxconns, "",
      "print the maximum number of connections" },
    { "ct-get-nconns", 0, 0, cmd_ct_get_nconns, "",
      "print the current number of connections" },
    { "ct-set-limits", 1, INT32_MAX, cmd_ct_set_limits,
      "[default=L] [zone=N,limit=L]...",
      "set the default or per-zone connection limits (0: unlimited)" },
    { "ct-get-limits", 0, INT32_MAX, cmd_ct_get_limits, "[zone=N[,N]...]",
      "print the default limit and zone limits with their counts" },
    { "ct-del-limits", 1, INT32_MAX, cmd_ct_del_limits, "zone=N[,N]...",
      "make the zones follow the default limit again" },
    { "ct-set-timeout-policy", 2, INT32_MAX, cmd_ct_set_tp,
      "zone=N|default KEY=SECONDS...",
      "set timeouts of zone N (keys as ovs-vsctl add-zone-tp: "
      "tcp_established,\n      udp_first, icmp_reply, ...)" },
    { "ct-get-timeout-policy", 0, 1, cmd_ct_get_tp, "[zone=N|default]",
      "print the timeout policies" },
    { "ct-del-timeout-policy", 1, 1, cmd_ct_del_tp, "zone=N",
      "remove zone N's timeout policy (it uses the default again)" },
    { "ct-set-tcp-seq-chk", 1, 1, cmd_ct_set_tcp_seq_chk, "on|off",
      "enable or disable TCP sequence number checking" },
    { "ct-get-tcp-seq-chk", 0, 0, cmd_ct_get_tcp_seq_chk, "",
      "print whether TCP sequence numbers are checked" },
    { "dump-conntrack-exp", 0, 1, cmd_dump_conntrack_exp, "[zone=N]",
      "print the expected connections (FTP/TFTP helpers)" },
    { "ct-events", 0, 1, cmd_ct_events, "[zone=N]",
      "print NEW, UPDATE and DESTROY events as they happen, until "
      "interrupted" },
};
const size_t vsctl_ct_n_commands = ARRAY_SIZE(vsctl_ct_commands);
