/* ctl-proto-private: the encoder and decoder cursors shared by
 * ctl-proto.c (messages) and ctl-proto-flow.c (flow-mods, matches,
 * actions, flow stats).  Not for use outside lib/ctl-proto*.c.
 *
 * Encoding appends big-endian fields to a struct ds used as a byte
 * buffer.  Decoding reads through a bounds-checked cursor: every getter
 * checks the remaining length first and, on failure, records the first
 * error (what was being read, at which offset) and returns false; later
 * getters then fail at once, so callers may test once per group. */
#ifndef TS_CTL_PROTO_PRIVATE_H
#define TS_CTL_PROTO_PRIVATE_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "dynamic-string.h"
#include "util.h"

struct ofp_flow_mod;
struct ofp_flow_stats;

/* Nesting limit for action lists inside actions (clone, ct exec). */
#define CTL_MAX_NESTING 4

struct ctl_enc {
    struct ds *out;
};

void ctl_put_u8(struct ctl_enc *, uint8_t);
void ctl_put_u16(struct ctl_enc *, uint16_t);
void ctl_put_u32(struct ctl_enc *, uint32_t);
void ctl_put_u64(struct ctl_enc *, uint64_t);
void ctl_put_bytes(struct ctl_enc *, const void *, size_t);
void ctl_put_zeros(struct ctl_enc *, size_t);
/* uint16 length + bytes; strings longer than 65535 are cut (the caller
 * checks lengths first where it matters).  NULL is the empty string. */
void ctl_put_string(struct ctl_enc *, const char *);
/* Pads with zeros to a multiple of 8 counted from 'start'. */
void ctl_put_pad8(struct ctl_enc *, size_t start);
/* Starts a TLV {type, len} at the current end; returns its offset for
 * ctl_tlv_end(). */
size_t ctl_tlv_start(struct ctl_enc *, uint16_t type);
/* Sets the TLV's length (unpadded) and pads it to 8.  Returns false if
 * the TLV exceeds 65535 bytes. */
bool ctl_tlv_end(struct ctl_enc *, size_t start);
size_t ctl_enc_size(const struct ctl_enc *);

struct ctl_dec {
    const uint8_t *data;
    size_t ofs;                 /* next byte to read */
    size_t end;                 /* bytes readable: data[0..end) */
    size_t base;                /* offset of data[0] in the frame */
    const char *msg_name;       /* for error messages */
    char *error;                /* first error, malloc'ed, or NULL */
};

bool ctl_get_u8(struct ctl_dec *, const char *what, uint8_t *);
bool ctl_get_u16(struct ctl_dec *, const char *what, uint16_t *);
bool ctl_get_u32(struct ctl_dec *, const char *what, uint32_t *);
bool ctl_get_u64(struct ctl_dec *, const char *what, uint64_t *);
bool ctl_get_bytes(struct ctl_dec *, const char *what, void *, size_t);
/* Borrows 'n' bytes (pointer into the frame). */
bool ctl_get_ref(struct ctl_dec *, const char *what, size_t n,
                 const uint8_t **);
/* Reads a uint16-length string; the result is malloc'ed and
 * NUL-terminated; embedded NUL bytes are an error. */
bool ctl_get_string(struct ctl_dec *, const char *what, char **);
/* Skips zero padding to a multiple of 8 from 'start' (or to the end,
 * whichever is first: the last TLV of a body need not be padded). */
bool ctl_skip_pad8(struct ctl_dec *, const char *what, size_t start);
size_t ctl_dec_left(const struct ctl_dec *);
/* Records an error (if none yet) and returns false. */
bool ctl_dec_fail(struct ctl_dec *, const char *fmt, ...) TS_PRINTF(2, 3);
/* Reads a TLV header and makes 'sub' a cursor over its value; advances
 * 'd' past the TLV and its padding. */
bool ctl_get_tlv(struct ctl_dec *d, const char *what, uint16_t *type,
                 struct ctl_dec *sub);
/* Moves sub's error, if any, into 'd'; returns !error. */
bool ctl_dec_merge(struct ctl_dec *d, struct ctl_dec *sub);

/* Returns a malloc'ed NUL-terminated copy of 'n' bytes. */
char *ctl_memdup0(const void *, size_t n);

/* ctl-proto-flow.c. */
struct ofpact;
/* uint16 length + action TLVs. */
bool ctl_put_ofpacts_block(struct ctl_enc *, const struct ofpact *,
                           size_t len);
/* Result malloc'ed (NULL if empty). */
bool ctl_get_ofpacts_block(struct ctl_dec *, struct ofpact **, size_t *len);
struct ofp_flow_stats *ctl_flow_stats_clone(const struct ofp_flow_stats *);
bool ctl_put_flow_mod(struct ctl_enc *, const struct ofp_flow_mod *);
bool ctl_get_flow_mod(struct ctl_dec *, struct ofp_flow_mod **);
bool ctl_put_flow_stats(struct ctl_enc *, const struct ofp_flow_stats *);
bool ctl_get_flow_stats(struct ctl_dec *, struct ofp_flow_stats **);
void ctl_flow_mod_free(struct ofp_flow_mod *);
void ctl_flow_stats_free(struct ofp_flow_stats *);

/* ctl-proto-group.c: group-mods (GROUP_MOD and DUMP_GROUPS entries). */
struct ofp_group_mod;
struct ctl_group_entry;
bool ctl_put_group_mod(struct ctl_enc *, const struct ofp_group_mod *);
/* '*gmp' is malloc'ed on success (and NULL on failure). */
bool ctl_get_group_mod(struct ctl_dec *, struct ofp_group_mod **gmp);
void ctl_group_mod_free(struct ofp_group_mod *);
bool ctl_put_group_entry(struct ctl_enc *, const struct ctl_group_entry *);
bool ctl_get_group_entry(struct ctl_dec *, struct ctl_group_entry *);
void ctl_group_entry_release(struct ctl_group_entry *);

/* ctl-proto.c: a uint16 count then string pairs. */
struct smap;
void ctl_put_kv_list(struct ctl_enc *, const struct smap *);
bool ctl_get_kv_list(struct ctl_dec *, const char *what, struct smap *);

/* ctl-proto-ct.c: conntrack messages (types 80-90) and multipart kinds
 * (80-84).  The getters of entries grow the reply's array themselves. */
struct ctl_msg;
struct ctl_mp_request;
struct ctl_mp_reply;
bool ctl_ct_put_body(struct ctl_enc *, const struct ctl_msg *);
bool ctl_ct_get_body(struct ctl_dec *, struct ctl_msg *);
void ctl_ct_msg_release(struct ctl_msg *);
bool ctl_ct_put_mp_request(struct ctl_enc *, const struct ctl_mp_request *);
bool ctl_ct_get_mp_request(struct ctl_dec *, struct ctl_mp_request *);
void ctl_ct_mp_request_release(struct ctl_mp_request *);
bool ctl_ct_put_mp_entry(struct ctl_enc *, const struct ctl_mp_reply *,
                         size_t i);
bool ctl_ct_get_mp_entry(struct ctl_dec *, struct ctl_mp_reply *);
size_t ctl_ct_mp_entry_min_size(uint16_t mp_type);
void ctl_ct_mp_reply_release(struct ctl_mp_reply *);
/* Moves p's entries to t (same kind); false if not a conntrack kind. */
bool ctl_ct_mp_reply_append(struct ctl_mp_reply *t, struct ctl_mp_reply *p);

/* ctl-proto-capture.c: packet capture messages (types 113-116). */
bool ctl_capture_put_body(struct ctl_enc *, const struct ctl_msg *);
bool ctl_capture_get_body(struct ctl_dec *, struct ctl_msg *);
void ctl_capture_msg_release(struct ctl_msg *);

#endif /* ctl-proto-private.h */
