/* ofp-group: OpenFlow groups (group-mod, group description and group
 * statistics) as structs, and their ovs-ofctl text forms.
 *
 * Text syntax read by ofp_parse_group_mod() (ovs-ofctl add-group /
 * mod-group / del-groups):
 *     group_id=ID[,type=all|select|indirect|ff]
 *                [,selection_method=hash|dp_hash][,selection_method_param=N]
 *                [,bucket=BUCKET]...
 * where each BUCKET is
 *     [bucket_id:N,][weight:N,][watch_port:P,][watch_group:G,]
 *     actions=ACTIONS    (or ACTIONS directly, e.g. "bucket=output:1")
 * and a bucket's actions run up to the next ",bucket=".  The separator
 * after bucket_id/weight/watch_* may be ':' or '='.  For delete, only
 * "group_id=ID" or "group_id=all" (or an empty string: all) is accepted.
 * Select buckets default to weight 1 (others 0), bucket ids default to
 * the bucket's index.
 *
 * ofp_format_group_desc() prints one ovs-ofctl dump-groups line as OVS 3.1
 * does with OpenFlow 1.5 (its leading space, no newline):
 *  " group_id=1,type=select,bucket=bucket_id:0,actions=output:1,
 *   bucket=bucket_id:1,weight:50,actions=output:2"
 * (weight printed only when it is not the type's default; watch_port and
 * watch_group only when set).
 *
 * Who calls it: vsctl (parse, format), the control protocol codec, ofproto
 * (which keeps a copy of each group's description) and vswitchd.
 * Threads: control plane only (allocates).
 */
#ifndef TS_OFP_GROUP_H
#define TS_OFP_GROUP_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ds;
struct ofpact;
struct ofp_port_map;

#define OFPG_MAX 0xffffff00u    /* last ordinary group id */
#define OFPG_ALL 0xfffffffcu    /* delete: every group */
#define OFPG_ANY 0xffffffffu    /* watch_group: none */

/* Limits accepted by the parser and ofproto. */
#define OFPG_MAX_BUCKETS 64

enum ofp_group_type {
    OFPGT_ALL = 0,
    OFPGT_SELECT = 1,
    OFPGT_INDIRECT = 2,
    OFPGT_FF = 3,               /* fast failover */
};

enum ofp_group_mod_command {
    OFPGC_ADD = 0,
    OFPGC_MODIFY = 1,
    OFPGC_DELETE = 2,
    OFPGC_ADD_OR_MOD = 3,       /* mod-group --may-create */
};

struct ofp_bucket {
    uint32_t bucket_id;
    uint16_t weight;            /* select: relative share; else 0 */
    uint32_t watch_port;        /* OFPP_NONE (0xffff): none */
    uint32_t watch_group;       /* OFPG_ANY: none */
    struct ofpact *ofpacts;     /* owned (malloc'ed) */
    size_t ofpacts_len;
};
/* A group-mod, and also a group's description (command ignored). */
struct ofp_group_mod {
    enum ofp_group_mod_command command;
    uint32_t group_id;          /* OFPG_ALL allowed for delete */
    enum ofp_group_type type;
    char selection_method[16];  /* "", "hash" or "dp_hash" */
    uint64_t selection_method_param;
    struct ofp_bucket *buckets; /* owned array */
    size_t n_buckets;
};

void ofp_group_mod_init(struct ofp_group_mod *, enum ofp_group_mod_command);
/* Frees the buckets and their actions.  Accepts NULL. */
void ofp_group_mod_release(struct ofp_group_mod *);
/* Deep copy into 'dst' (uninitialized). */
void ofp_group_mod_clone(struct ofp_group_mod *dst,
                         const struct ofp_group_mod *src);
/* Appends a bucket (weight per type default, id = index, no watch) and
 * returns it; its actions are a copy of 'ofpacts' ('len' bytes). */
struct ofp_bucket *ofp_group_mod_add_bucket(struct ofp_group_mod *,
                                            const struct ofpact *ofpacts,
                                            size_t len);

/* Initializes 'gm' and parses 'text' (see top).  NULL on success, else a
 * malloc'ed error such as "unknown group type 'foo'" or "group_id must be
 * specified"; 'gm' is then released. */
char *ofp_parse_group_mod(struct ofp_group_mod *, const char *text,
                          enum ofp_group_mod_command,
                          const struct ofp_port_map *);

const char *ofp_group_type_name(enum ofp_group_type);
bool ofp_group_type_from_string(const char *, enum ofp_group_type *);

/* One dump-groups line (see top). */
void ofp_format_group_desc(struct ds *, const struct ofp_group_mod *,
                           const struct ofp_port_map *);
/* A line that ofp_parse_group_mod() reads back ("group_id=1,type=...",
 * no leading space). */
void ofp_format_group_mod(struct ds *, const struct ofp_group_mod *,
                          const struct ofp_port_map *);

struct ofp_bucket_stats {
    uint64_t packet_count;
    uint64_t byte_count;
};

struct ofp_group_stats {
    uint32_t group_id;
    uint32_t ref_count;         /* rules whose actions name the group */
    uint64_t packet_count;
    uint64_t byte_count;
    long long duration_msec;
    size_t n_buckets;
    const struct ofp_bucket_stats *buckets; /* borrowed */
};

/* One dump-group-stats line, as ovs-ofctl 3.1:
 *  " group_id=1,duration=1.234s,ref_count=0,packet_count=0,byte_count=0,
 *   bucket0:packet_count=0,byte_count=0,bucket1:..."                   */
void ofp_format_group_stats(struct ds *, const struct ofp_group_stats *);

#endif /* ofp-group.h */
