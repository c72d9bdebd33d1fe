/* ofp-flow: flow-mod and flow-stats as structs, and their text forms.
 *
 * ofp_parse_flow_mod() reads ovs-ofctl's flow syntax ("add-flow" text):
 *     [field=value[/mask]|shorthand|keyword=value] ... actions=ACTIONS
 * items separated by commas and/or white space; "actions=" comes last and
 * takes the rest of the string.  Keywords: priority, table, cookie (V or
 * V/M), idle_timeout, hard_timeout, importance, out_port, send_flow_rem,
 * check_overlap, reset_counts, no_packet_counts, no_byte_counts.
 * duration, n_packets, n_bytes, idle_age and hard_age are accepted and
 * ignored, so a dump-flows line parses back.  Shorthands: ip, ipv6, icmp,
 * icmp6, tcp, tcp6, udp, udp6, sctp, sctp6, arp, rarp.
 *
 * ofp_format_flow_stats() prints exactly one ovs-ofctl dump-flows line
 * (with its leading space).  ofp_format_flow_mod() prints a line that
 * ofp_parse_flow_mod() reads back to an equal flow-mod.
 *
 * Threads: control plane only (allocates).
 */
#ifndef TS_OFP_FLOW_H
#define TS_OFP_FLOW_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "match.h"
#include "ofpact.h"

struct ds;
struct ofp_port_map;

enum ofp_flow_mod_command {
    OFPFC_ADD,
    OFPFC_MODIFY,
    OFPFC_MODIFY_STRICT,
    OFPFC_DELETE,
    OFPFC_DELETE_STRICT,
};

enum ofp_flow_mod_flags {
    OFPFF_SEND_FLOW_REM = 1 << 0,
    OFPFF_CHECK_OVERLAP = 1 << 1,
    OFPFF_RESET_COUNTS = 1 << 2,
    OFPFF_NO_PKT_COUNTS = 1 << 3,
    OFPFF_NO_BYT_COUNTS = 1 << 4,
};

#define OFP_TABLE_ALL 0xff          /* table_id: every table */
#define OFP_FLOW_PERMANENT 0        /* idle/hard timeout: never */

struct ofp_flow_mod {
    enum ofp_flow_mod_command command;
    uint8_t table_id;           /* default: 0 for add, OFP_TABLE_ALL else */
    int priority;               /* default OFP_DEFAULT_PRIORITY */
    uint64_t cookie;            /* modify/delete: match cookie & mask */
    uint64_t cookie_mask;
    uint64_t new_cookie;        /* add; modify if modify_cookie */
    bool modify_cookie;         /* "cookie=V" given to modify */
    uint16_t idle_timeout;      /* seconds, 0 = permanent */
    uint16_t hard_timeout;
    uint16_t importance;
    uint32_t out_port;          /* delete/modify filter; OFPP_NONE = any */
    uint16_t flags;             /* OFPFF_* */
    struct match match;
    struct ofpacts ofpacts;     /* owned */
};

/* Initializes 'fm' with the defaults for 'command' (and an empty action
 * list).  ofp_flow_mod_release() frees the actions. */
void ofp_flow_mod_init(struct ofp_flow_mod *, enum ofp_flow_mod_command);
void ofp_flow_mod_release(struct ofp_flow_mod *);

/* Initializes 'fm' (no need to call ofp_flow_mod_init() first) and parses
 * 'text' into it.  Returns NULL on success, else a malloc'ed error that
 * names the offending token and its 1-based column, e.g.
 *     unknown field 'nw_srcx' at column 12
 *     invalid IP address '10.0.0.300' at column 8
 *     prerequisites not met for 'tp_dst' (needs tcp, udp or sctp) ...
 *     must specify an action
 * On error 'fm' is released (nothing to free). */
char *ofp_parse_flow_mod(struct ofp_flow_mod *, const char *text,
                         enum ofp_flow_mod_command,
                         const struct ofp_port_map *);

/* Remembers the last action text parsed and its actions, for files whose
 * flows mostly repeat the actions of the line before (a firewall table):
 * such a line's actions are copied instead of parsed again.  Caller owns
 * it; one parser thread at a time. */
struct ofp_parse_cache {
    char *actions;              /* malloc'ed text, or NULL */
    struct ofpacts ofpacts;     /* its parse, valid if 'actions' */
};

void ofp_parse_cache_init(struct ofp_parse_cache *);
void ofp_parse_cache_release(struct ofp_parse_cache *);

/* ofp_parse_flow_mod() with 'cache' (NULL: none) for the actions.  The
 * result and the errors are the same as without it; the actions are still
 * checked against this flow's match. */
char *ofp_parse_flow_mod_cached(struct ofp_flow_mod *, const char *text,
                                enum ofp_flow_mod_command,
                                const struct ofp_port_map *,
                                struct ofp_parse_cache *);

/* Parses a match alone ("in_port=1,ip,nw_dst=10.0.0.0/8"), as used by
 * filters and trace: the same syntax minus actions; priority= is stored
 * in '*priority' if non-NULL (else refused).  NULL or malloc'ed error. */
char *ofp_parse_match(struct match *, int *priority, const char *text,
                      const struct ofp_port_map *);

/* Appends the flow-mod in a form ofp_parse_flow_mod() reads back:
 * "[table=T, ][cookie=..., ][idle_timeout=..., ]MATCH actions=ACTIONS"
 * (for delete commands: no actions).  Equality after round-trip holds for
 * every field the command uses. */
void ofp_format_flow_mod(struct ds *, const struct ofp_flow_mod *,
                         const struct ofp_port_map *);

struct ofp_flow_stats {
    uint8_t table_id;
    int priority;
    uint64_t cookie;
    long long duration_msec;
    uint16_t idle_timeout, hard_timeout;
    uint16_t importance;
    uint16_t flags;             /* OFPFF_* */
    long long idle_age_msec;    /* < 0: unknown, not printed */
    uint64_t n_packets, n_bytes;
    struct match match;
    const struct ofpact *ofpacts;  /* borrowed */
    size_t ofpacts_len;
};

/* Appends one dump-flows line (no newline), exactly as ovs-ofctl 3.1:
 *  " cookie=0x0, duration=1.234s, table=0, n_packets=3, n_bytes=294,
 *   idle_age=1, priority=100,ip,in_port=1 actions=output:2"
 * With show_stats false (--no-stats): cookie only if non-zero, table only
 * if non-zero, no duration/counters/ages. */
void ofp_format_flow_stats(struct ds *, const struct ofp_flow_stats *,
                           bool show_stats, const struct ofp_port_map *);

#endif /* ofp-flow.h */
