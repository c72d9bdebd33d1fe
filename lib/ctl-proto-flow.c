/* ctl-proto-flow: flow-mods, matches, action lists and flow stats on the
 * wire.  See docs/protocol.md ("Flow-mod", "Match TLVs", "Action TLVs").
 *
 * Matches travel as one TLV per matched field, keyed by enum mf_field_id,
 * with the value then the mask, each the field's n_bytes wide, in network
 * byte order.  The encoder emits a fixed set of fields whose storage in
 * struct flow is disjoint and covers every matchable bit, so decoding
 * reproduces the match exactly; the decoder accepts any field.
 *
 * Actions travel as one TLV per ofpact, keyed by enum ofpact_type, with
 * the record's arguments in network byte order; nested lists (clone, ct)
 * are TLVs inside the TLV, at most CTL_MAX_NESTING deep. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "ctl-proto.h"
#include "ctl-proto-private.h"
#include "match.h"
#include "meta-flow.h"
#include "ofp-flow.h"
#include "ofp-port-map.h"
#include "ofpact.h"

/* Fields the encoder emits: disjoint storage covering the whole match. */
static const enum mf_field_id match_fields[] = {
    MFF_RECIRC_ID, MFF_DP_HASH, MFF_IN_PORT, MFF_PKT_MARK, MFF_METADATA,
    MFF_REG0, MFF_REG1, MFF_REG2, MFF_REG3,
    MFF_REG4, MFF_REG5, MFF_REG6, MFF_REG7,
    MFF_REG8, MFF_REG9, MFF_REG10, MFF_REG11,
    MFF_REG12, MFF_REG13, MFF_REG14, MFF_REG15,
    MFF_CT_STATE, MFF_CT_ZONE, MFF_CT_MARK, MFF_CT_LABEL,
    MFF_CT_NW_PROTO, MFF_CT_NW_SRC, MFF_CT_NW_DST,
    MFF_CT_IPV6_SRC, MFF_CT_IPV6_DST, MFF_CT_TP_SRC, MFF_CT_TP_DST,
    MFF_DL_SRC, MFF_DL_DST, MFF_DL_TYPE, MFF_VLAN_TCI,
    MFF_NW_SRC, MFF_NW_DST, MFF_IPV6_SRC, MFF_IPV6_DST, MFF_IPV6_LABEL,
    MFF_NW_PROTO, MFF_NW_TOS, MFF_NW_ECN, MFF_NW_TTL, MFF_IP_FRAG,
    MFF_ARP_SHA, MFF_ARP_THA,
    MFF_TP_SRC, MFF_TP_DST, MFF_TCP_FLAGS, MFF_ND_TARGET,
};

/* The wire uses enum mf_field_id and enum ofpact_type values as TLV types
 * (docs/protocol.md lists them), and the daemon's store keeps encoded
 * flow-mods: renumbering either enum is a protocol and store change.
 * New values may be appended. */
BUILD_ASSERT(MFF_RECIRC_ID == 0 && MFF_XREG0 == 21 && MFF_CT_STATE == 29);
BUILD_ASSERT(MFF_DL_SRC == 40 && MFF_NW_SRC == 48 && MFF_NW_TOS == 54);
BUILD_ASSERT(MFF_TP_SRC == 64 && MFF_ND_TLL == 79 && MFF_N_IDS >= 80);
BUILD_ASSERT(OFPACT_OUTPUT == 1 && OFPACT_SET_FIELD == 10);
BUILD_ASSERT(OFPACT_DEC_TTL == 27 && OFPACT_NAT == 33);

#define FLOW_MOD_FIXED_LEN 48
#define FLOW_STATS_FIXED_LEN 64

/* ---- Field values ------------------------------------------------------- */

static void
put_be(uint8_t *p, uint64_t x, unsigned int n)
{
    for (unsigned int i = 0; i < n; i++) {
        p[n - 1 - i] = x >> (8 * i);
    }
}

static uint64_t
get_be(const uint8_t *p, unsigned int n)
{
    uint64_t x = 0;
    for (unsigned int i = 0; i < n; i++) {
        x = (x << 8) | p[i];
    }
    return x;
}

/* Converts a value from union mf_value representation to wire bytes. */
static void
value_to_wire(const struct mf_field *mf, const union mf_value *v,
              uint8_t *out)
{
    if (!mf->host_order) {
        memcpy(out, v, mf->n_bytes);
        return;
    }
    switch (mf->n_bytes) {
    case 1: out[0] = v->u8; break;
    case 2: put_be(out, v->u16, 2); break;
    case 4: put_be(out, v->u32, 4); break;
    case 8: put_be(out, v->u64, 8); break;
    case 16:
        put_be(out, v->u128[1], 8);
        put_be(out + 8, v->u128[0], 8);
        break;
    default:
        memcpy(out, v, mf->n_bytes);
        break;
    }
}

static void
value_from_wire(const struct mf_field *mf, const uint8_t *in,
                union mf_value *v)
{
    memset(v, 0, sizeof *v);
    if (!mf->host_order) {
        memcpy(v, in, mf->n_bytes);
        return;
    }
    switch (mf->n_bytes) {
    case 1: v->u8 = in[0]; break;
    case 2: v->u16 = get_be(in, 2); break;
    case 4: v->u32 = get_be(in, 4); break;
    case 8: v->u64 = get_be(in, 8); break;
    case 16:
        v->u128[1] = get_be(in, 8);
        v->u128[0] = get_be(in + 8, 8);
        break;
    default:
        memcpy(v, in, mf->n_bytes);
        break;
    }
}

/* True if 'v' has no bit outside the field's n_bits. */
static bool
value_fits(const struct mf_field *mf, const union mf_value *v)
{
    union mf_value ones;

    if (mf->n_bits == 8 * mf->n_bytes) {
        return true;            /* every bit of the value is the field's */
    }
    mf_all_ones(mf, &ones);
    for (unsigned int i = 0; i < mf->n_bytes; i++) {
        if (v->b[i] & ~ones.b[i]) {
            return false;
        }
    }
    return true;
}

/* mf_is_all_ones() without building the all-ones value bit by bit for
 * the (common) fields that use every bit of their value. */
static bool
is_all_ones(const struct mf_field *mf, const union mf_value *v)
{
    if (mf->n_bits == 8 * mf->n_bytes) {
        for (unsigned int i = 0; i < mf->n_bytes; i++) {
            if (v->b[i] != 0xff) {
                return false;
            }
        }
        return true;
    }
    return mf_is_all_ones(mf, v);
}

/* Room for 'n' bytes at the end of the encoding, which the caller fills:
 * one reservation instead of one per field keeps the encoder of big flow
 * files fast. */
static uint8_t *
enc_uninit(struct ctl_enc *e, size_t n)
{
    struct ds *ds = e->out;
    uint8_t *p;

    ds_reserve(ds, ds->length + n);
    p = (uint8_t *) ds->string + ds->length;
    ds->length += n;
    ds->string[ds->length] = '\0';
    return p;
}

/* ---- Match -------------------------------------------------------------- */

/* True if 'mask' means "exact" for 'mf': all ones, or the mask an exact
 * match reads back as (nw_tos, whose exact mask leaves out the ECN bits
 * it shares storage with). */
static bool
mask_is_exact(const struct mf_field *mf, const union mf_value *mask)
{
    struct flow_wildcards wc;
    union mf_value exact;

    if (is_all_ones(mf, mask)) {
        return true;
    }
    memset(&wc, 0, sizeof wc);
    mf_mask_field(mf, &wc);
    mf_get_mask(mf, &wc, &exact);
    return !memcmp(&exact, mask, mf->n_bytes);
}

static bool
put_match(struct ctl_enc *e, const struct match *match)
{
    for (size_t i = 0; i < ARRAY_SIZE(match_fields); i++) {
        const struct mf_field *mf = mf_from_id(match_fields[i]);
        union mf_value value, mask;

        /* Most fields are wildcarded: skip them on their raw storage. */
        const uint8_t *st = (const uint8_t *) &match->wc.masks + mf->flow_ofs;
        bool any = false;
        for (unsigned int j = 0; j < mf->flow_len && !any; j++) {
            any = st[j] != 0;
        }
        if (!any) {
            continue;
        }
        mf_get_mask(mf, &match->wc, &mask);
        if (mf_is_zero(mf, &mask)) {
            continue;
        }
        mf_get_value(mf, &match->flow, &value);

        /* One TLV: type, length, value, mask, zeros to 8. */
        size_t len = 4 + 2 * mf->n_bytes;
        size_t padded = ROUND_UP(len, CTL_TLV_ALIGN);
        uint8_t *p = enc_uninit(e, padded);
        put_be(p, mf->id, 2);
        put_be(p + 2, len, 2);
        value_to_wire(mf, &value, p + 4);
        value_to_wire(mf, &mask, p + 4 + mf->n_bytes);
        memset(p + len, 0, padded - len);
    }
    return true;
}

static bool
get_match_field(struct ctl_dec *d, uint16_t type, struct ctl_dec *sub,
                struct match *match, uint8_t *seen)
{
    const struct mf_field *mf = (type < MFF_N_IDS
                                 ? mf_from_id(type) : NULL);
    union mf_value value, mask;
    const uint8_t *p;

    if (!mf) {
        return ctl_dec_fail(sub, "unknown match field %u", type);
    }
    if (seen[type]) {
        return ctl_dec_fail(sub, "duplicate match field '%s'", mf->name);
    }
    seen[type] = 1;
    if (ctl_dec_left(sub) != 2 * mf->n_bytes) {
        return ctl_dec_fail(sub, "match field '%s' has %zu bytes, "
                            "expected %u", mf->name, ctl_dec_left(sub),
                            2 * mf->n_bytes);
    }
    ctl_get_ref(sub, mf->name, 2 * mf->n_bytes, &p);
    value_from_wire(mf, p, &value);
    value_from_wire(mf, p + mf->n_bytes, &mask);
    if (!value_fits(mf, &value) || !value_fits(mf, &mask)) {
        return ctl_dec_fail(sub, "match field '%s' has bits beyond its "
                            "%u-bit width", mf->name, mf->n_bits);
    }
    if (mf_is_zero(mf, &mask)) {
        return ctl_dec_fail(sub, "match field '%s' has an all-zero mask",
                            mf->name);
    }
    if (mf->maskable == MFM_NONE || is_all_ones(mf, &mask)) {
        if (!mask_is_exact(mf, &mask)) {
            return ctl_dec_fail(sub, "match field '%s' cannot be masked",
                                mf->name);
        }
        if (!mf_is_value_valid(mf, &value)) {
            return ctl_dec_fail(sub, "invalid value for match field '%s'",
                                mf->name);
        }
        match_set_field(match, mf, &value, NULL);
    } else {
        match_set_field(match, mf, &value, &mask);
    }
    return true;
}

static bool
get_match(struct ctl_dec *d, size_t len, struct match *match)
{
    uint8_t seen[MFF_N_IDS] = { 0 };
    const uint8_t *p;
    size_t start = d->ofs;

    match_init_catchall(match);
    if (!ctl_get_ref(d, "match", len, &p)) {
        return false;
    }
    struct ctl_dec md = {
        .data = p, .end = len, .base = d->base + start,
        .msg_name = d->msg_name,
    };
    while (ctl_dec_left(&md)) {
        struct ctl_dec sub = { .error = NULL };
        uint16_t type;
        if (!ctl_get_tlv(&md, "match field", &type, &sub)
            || !get_match_field(&md, type, &sub, match, seen)) {
            ctl_dec_merge(&md, &sub);
            return ctl_dec_merge(d, &md);
        }
    }
    return ctl_dec_merge(d, &md);
}

/* ---- Actions ------------------------------------------------------------ */

static void
put_subfield(struct ctl_enc *e, const struct mf_subfield *sf)
{
    ctl_put_u16(e, sf->field ? sf->field->id : 0xffff);
    ctl_put_u16(e, sf->ofs);
    ctl_put_u16(e, sf->n_bits);
}

static bool
get_subfield(struct ctl_dec *d, const char *what, bool optional,
             struct mf_subfield *sf)
{
    uint16_t id, ofs, n_bits;

    if (!ctl_get_u16(d, what, &id) || !ctl_get_u16(d, what, &ofs)
        || !ctl_get_u16(d, what, &n_bits)) {
        return false;
    }
    memset(sf, 0, sizeof *sf);
    if (optional && id == 0xffff) {
        return true;
    }
    sf->field = id < MFF_N_IDS ? mf_from_id(id) : NULL;
    sf->ofs = ofs;
    sf->n_bits = n_bits;
    if (!sf->field) {
        return ctl_dec_fail(d, "unknown field %u in %s", id, what);
    }
    if (!n_bits || !mf_subfield_is_valid(sf)) {
        return ctl_dec_fail(d, "bits %u..%u do not fit field '%s' in %s",
                            ofs, ofs + n_bits - 1, sf->field->name, what);
    }
    return true;
}

static bool put_actions(struct ctl_enc *, const struct ofpact *, size_t len,
                        int depth);

static bool
put_action(struct ctl_enc *e, const struct ofpact *a, int depth)
{
    switch ((enum ofpact_type) a->type) {
    case OFPACT_OUTPUT: {
        const struct ofpact_output *o = ofpact_get_OUTPUT(a);
        ctl_put_u32(e, o->port);
        ctl_put_u16(e, o->max_len);
        return true;
    }
    case OFPACT_NORMAL:
    case OFPACT_FLOOD:
    case OFPACT_ALL:
    case OFPACT_IN_PORT:
    case OFPACT_LOCAL:
    case OFPACT_DEC_TTL:
    case OFPACT_CT_CLEAR:
        return true;
    case OFPACT_CONTROLLER: {
        const struct ofpact_controller *c = ofpact_get_CONTROLLER(a);
        ctl_put_u16(e, c->max_len);
        ctl_put_u16(e, c->controller_id);
        ctl_put_u8(e, c->reason);
        ctl_put_u8(e, c->pause);
        ctl_put_u16(e, c->userdata_len);
        ctl_put_bytes(e, c->userdata, c->userdata_len);
        return true;
    }
    case OFPACT_RESUBMIT: {
        const struct ofpact_resubmit *r = ofpact_get_RESUBMIT(a);
        ctl_put_u32(e, r->in_port);
        ctl_put_u8(e, r->table_id);
        ctl_put_u8(e, r->with_ct_orig);
        return true;
    }
    case OFPACT_GOTO_TABLE:
        ctl_put_u8(e, ofpact_get_GOTO_TABLE(a)->table_id);
        return true;
    case OFPACT_SET_FIELD:
    case OFPACT_LOAD: {
        const struct ofpact_set_field *sf = ofpact_get_SET_FIELD(a);
        uint8_t wire[32];
        if (!sf->field) {
            return false;
        }
        value_to_wire(sf->field, &sf->value, wire);
        value_to_wire(sf->field, &sf->mask, wire + sf->field->n_bytes);
        ctl_put_u16(e, sf->field->id);
        ctl_put_u16(e, 0);
        ctl_put_bytes(e, wire, 2 * sf->field->n_bytes);
        return true;
    }
    case OFPACT_MOVE: {
        const struct ofpact_move *m = ofpact_get_MOVE(a);
        if (!m->src.field || !m->dst.field) {
            return false;
        }
        put_subfield(e, &m->src);
        put_subfield(e, &m->dst);
        return true;
    }
    case OFPACT_OUTPUT_REG: {
        const struct ofpact_output_reg *o = ofpact_get_OUTPUT_REG(a);
        if (!o->src.field) {
            return false;
        }
        ctl_put_u16(e, o->max_len);
        put_subfield(e, &o->src);
        return true;
    }
    case OFPACT_PUSH_VLAN:
        ctl_put_u16(e, ofpact_get_PUSH_VLAN(a)->ethertype);
        return true;
    case OFPACT_POP_VLAN:
        ctl_put_u8(e, ofpact_get_POP_VLAN(a)->strip_vlan);
        return true;
    case OFPACT_SET_VLAN_VID: {
        const struct ofpact_vlan_vid *v = ofpact_get_SET_VLAN_VID(a);
        ctl_put_u16(e, v->vlan_vid);
        ctl_put_u8(e, v->push_vlan_if_needed);
        return true;
    }
    case OFPACT_SET_VLAN_PCP: {
        const struct ofpact_vlan_pcp *v = ofpact_get_SET_VLAN_PCP(a);
        ctl_put_u8(e, v->vlan_pcp);
        ctl_put_u8(e, v->push_vlan_if_needed);
        return true;
    }
    case OFPACT_SET_ETH_SRC:
    case OFPACT_SET_ETH_DST:
        ctl_put_bytes(e, &ofpact_get_SET_ETH_SRC(a)->mac, 6);
        return true;
    case OFPACT_SET_IPV4_SRC:
    case OFPACT_SET_IPV4_DST:
        ctl_put_bytes(e, &ofpact_get_SET_IPV4_SRC(a)->ipv4, 4);
        return true;
    case OFPACT_SET_IP_DSCP:
        ctl_put_u8(e, ofpact_get_SET_IP_DSCP(a)->dscp);
        return true;
    case OFPACT_SET_IP_ECN:
        ctl_put_u8(e, ofpact_get_SET_IP_ECN(a)->ecn);
        return true;
    case OFPACT_SET_IP_TTL:
        ctl_put_u8(e, ofpact_get_SET_IP_TTL(a)->ttl);
        return true;
    case OFPACT_SET_L4_SRC_PORT:
    case OFPACT_SET_L4_DST_PORT: {
        const struct ofpact_l4_port *l4 = ofpact_get_SET_L4_SRC_PORT(a);
        ctl_put_u16(e, l4->port);
        ctl_put_u8(e, l4->flow_ip_proto);
        return true;
    }
    case OFPACT_GROUP:
        ctl_put_u32(e, ofpact_get_GROUP(a)->group_id);
        return true;
    case OFPACT_NOTE: {
        const struct ofpact_note *n = ofpact_get_NOTE(a);
        ctl_put_bytes(e, n->data, n->length);
        return true;
    }
    case OFPACT_CLONE: {
        size_t len;
        const struct ofpact *nested = ofpact_nested(a, &len);
        return put_actions(e, nested, len, depth + 1);
    }
    case OFPACT_CT: {
        const struct ofpact_conntrack *ct = ofpact_get_CT(a);
        size_t len;
        const struct ofpact *nested = ofpact_nested(a, &len);
        ctl_put_u16(e, ct->flags);
        ctl_put_u16(e, ct->zone_imm);
        put_subfield(e, &ct->zone_src);
        ctl_put_u16(e, ct->alg);
        ctl_put_u8(e, ct->recirc_table);
        ctl_put_u8(e, 0);
        return put_actions(e, nested, len, depth + 1);
    }
    case OFPACT_NAT: {
        const struct ofpact_nat *n = ofpact_get_NAT(a);
        ctl_put_u16(e, n->flags);
        ctl_put_u16(e, n->proto_min);
        ctl_put_u16(e, n->proto_max);
        if (n->range_af == AF_INET) {
            ctl_put_u8(e, 4);
            ctl_put_u8(e, 0);
            ctl_put_bytes(e, &n->range_addr.ipv4.min, 4);
            ctl_put_bytes(e, &n->range_addr.ipv4.max, 4);
        } else if (n->range_af == AF_INET6) {
            ctl_put_u8(e, 6);
            ctl_put_u8(e, 0);
            ctl_put_bytes(e, &n->range_addr.ipv6.min, 16);
            ctl_put_bytes(e, &n->range_addr.ipv6.max, 16);
        } else {
            ctl_put_u8(e, 0);
            ctl_put_u8(e, 0);
        }
        return true;
    }
    case OFPACT_N_TYPES:
    default:
        return false;
    }
}

static bool
put_actions(struct ctl_enc *e, const struct ofpact *ofpacts, size_t len,
            int depth)
{
    const struct ofpact *a;

    if (depth > CTL_MAX_NESTING) {
        return false;
    }
    if (!len) {
        return true;
    }
    OFPACT_FOR_EACH (a, ofpacts, len) {
        size_t start = ctl_tlv_start(e, a->type);
        if (!put_action(e, a, depth) || !ctl_tlv_end(e, start)) {
            return false;
        }
    }
    return true;
}

static bool get_actions(struct ctl_dec *, struct ofpacts *, int depth);

/* Each case reads its arguments from 'd', the TLV's value, which must be
 * consumed exactly. */
static bool
get_action(struct ctl_dec *d, uint16_t type, struct ofpacts *out,
           int depth)
{
    uint8_t u8a, u8b;
    uint16_t u16a, u16b;
    uint32_t u32;

    switch (type) {
    case OFPACT_OUTPUT:
        if (!ctl_get_u32(d, "output port", &u32)
            || !ctl_get_u16(d, "output max_len", &u16a)) {
            return false;
        }
        if (!u32 || u32 >= OFPP_MAX) {
            return ctl_dec_fail(d, "output to invalid port %"PRIu32, u32);
        }
        struct ofpact_output *o = ofpact_put_OUTPUT(out);
        o->port = u32;
        o->max_len = u16a;
        return true;
    case OFPACT_NORMAL:
    case OFPACT_FLOOD:
    case OFPACT_ALL:
    case OFPACT_IN_PORT:
    case OFPACT_LOCAL:
    case OFPACT_DEC_TTL:
    case OFPACT_CT_CLEAR:
        ofpacts_put(out, type, sizeof(struct ofpact));
        return true;
    case OFPACT_CONTROLLER: {
        uint16_t id, udlen;
        const uint8_t *ud;
        if (!ctl_get_u16(d, "controller max_len", &u16a)
            || !ctl_get_u16(d, "controller id", &id)
            || !ctl_get_u8(d, "controller reason", &u8a)
            || !ctl_get_u8(d, "controller pause", &u8b)
            || !ctl_get_u16(d, "controller userdata length", &udlen)
            || !ctl_get_ref(d, "controller userdata", udlen, &ud)) {
            return false;
        }
        if (u8a > OFPR_PACKET_OUT || u8b > 1) {
            return ctl_dec_fail(d, "invalid controller reason or pause");
        }
        struct ofpact_controller *c = (struct ofpact_controller *) (void *)
            ofpacts_put(out, OFPACT_CONTROLLER, sizeof *c + udlen);
        c->max_len = u16a;
        c->controller_id = id;
        c->reason = u8a;
        c->pause = u8b;
        c->userdata_len = udlen;
        if (udlen) {
            memcpy(c->userdata, ud, udlen);
        }
        return true;
    }
    case OFPACT_RESUBMIT: {
        if (!ctl_get_u32(d, "resubmit port", &u32)
            || !ctl_get_u8(d, "resubmit table", &u8a)
            || !ctl_get_u8(d, "resubmit ct flag", &u8b)) {
            return false;
        }
        if (u8b > 1) {
            return ctl_dec_fail(d, "invalid resubmit ct flag");
        }
        struct ofpact_resubmit *r = ofpact_put_RESUBMIT(out);
        r->in_port = u32;
        r->table_id = u8a;
        r->with_ct_orig = u8b;
        return true;
    }
    case OFPACT_GOTO_TABLE:
        if (!ctl_get_u8(d, "goto_table table", &u8a)) {
            return false;
        }
        ofpact_put_GOTO_TABLE(out)->table_id = u8a;
        return true;
    case OFPACT_SET_FIELD:
    case OFPACT_LOAD: {
        const struct mf_field *mf;
        union mf_value value, mask;
        const uint8_t *p;
        if (!ctl_get_u16(d, "set_field field", &u16a)
            || !ctl_get_u16(d, "set_field pad", &u16b)) {
            return false;
        }
        /* Whether the field may be written here (ct_mark only inside
         * ct's exec, for instance) is ofpacts_check()'s business. */
        mf = u16a < MFF_N_IDS ? mf_from_id(u16a) : NULL;
        if (!mf) {
            return ctl_dec_fail(d, "unknown field %u in set_field", u16a);
        }
        if (!ctl_get_ref(d, "set_field value", 2 * mf->n_bytes, &p)) {
            return false;
        }
        value_from_wire(mf, p, &value);
        value_from_wire(mf, p + mf->n_bytes, &mask);
        if (!value_fits(mf, &value) || !value_fits(mf, &mask)
            || mf_is_zero(mf, &mask)) {
            return ctl_dec_fail(d, "invalid value or mask for '%s'",
                                mf->name);
        }
        struct ofpact_set_field *sf = (struct ofpact_set_field *) (void *)
            ofpacts_put(out, type, sizeof *sf);
        sf->field = mf;
        sf->value = value;
        sf->mask = mask;
        return true;
    }
    case OFPACT_MOVE: {
        struct mf_subfield src, dst;
        if (!get_subfield(d, "move source", false, &src)
            || !get_subfield(d, "move destination", false, &dst)) {
            return false;
        }
        if (src.n_bits != dst.n_bits) {
            return ctl_dec_fail(d, "move of %u bits into %u bits",
                                src.n_bits, dst.n_bits);
        }
        struct ofpact_move *m = ofpact_put_MOVE(out);
        m->src = src;
        m->dst = dst;
        return true;
    }
    case OFPACT_OUTPUT_REG: {
        struct mf_subfield src;
        if (!ctl_get_u16(d, "output max_len", &u16a)
            || !get_subfield(d, "output source", false, &src)) {
            return false;
        }
        struct ofpact_output_reg *oreg = ofpact_put_OUTPUT_REG(out);
        oreg->max_len = u16a;
        oreg->src = src;
        return true;
    }
    case OFPACT_PUSH_VLAN:
        if (!ctl_get_u16(d, "push_vlan ethertype", &u16a)) {
            return false;
        }
        if (u16a != 0x8100 && u16a != 0x88a8) {
            return ctl_dec_fail(d, "invalid push_vlan ethertype 0x%04x",
                                u16a);
        }
        ofpact_put_PUSH_VLAN(out)->ethertype = u16a;
        return true;
    case OFPACT_POP_VLAN:
        if (!ctl_get_u8(d, "pop_vlan flag", &u8a)) {
            return false;
        }
        if (u8a > 1) {
            return ctl_dec_fail(d, "invalid pop_vlan flag");
        }
        ofpact_put_POP_VLAN(out)->strip_vlan = u8a;
        return true;
    case OFPACT_SET_VLAN_VID:
        if (!ctl_get_u16(d, "vlan vid", &u16a)
            || !ctl_get_u8(d, "vlan push flag", &u8a)) {
            return false;
        }
        if (u16a > 4095 || u8a > 1) {
            return ctl_dec_fail(d, "invalid set_vlan_vid");
        }
        struct ofpact_vlan_vid *vid = ofpact_put_SET_VLAN_VID(out);
        vid->vlan_vid = u16a;
        vid->push_vlan_if_needed = u8a;
        return true;
    case OFPACT_SET_VLAN_PCP:
        if (!ctl_get_u8(d, "vlan pcp", &u8a)
            || !ctl_get_u8(d, "vlan push flag", &u8b)) {
            return false;
        }
        if (u8a > 7 || u8b > 1) {
            return ctl_dec_fail(d, "invalid set_vlan_pcp");
        }
        struct ofpact_vlan_pcp *pcp = ofpact_put_SET_VLAN_PCP(out);
        pcp->vlan_pcp = u8a;
        pcp->push_vlan_if_needed = u8b;
        return true;
    case OFPACT_SET_ETH_SRC:
    case OFPACT_SET_ETH_DST: {
        struct eth_addr mac;
        if (!ctl_get_bytes(d, "mac address", &mac, 6)) {
            return false;
        }
        struct ofpact_mac *m = (struct ofpact_mac *) (void *)
            ofpacts_put(out, type, sizeof *m);
        m->mac = mac;
        return true;
    }
    case OFPACT_SET_IPV4_SRC:
    case OFPACT_SET_IPV4_DST:
        if (!ctl_get_bytes(d, "ipv4 address", &u32, 4)) {
            return false;
        }
        ((struct ofpact_ipv4 *) (void *)
         ofpacts_put(out, type, sizeof(struct ofpact_ipv4)))->ipv4 = u32;
        return true;
    case OFPACT_SET_IP_DSCP:
        if (!ctl_get_u8(d, "dscp", &u8a)) {
            return false;
        }
        if (u8a & 3) {
            return ctl_dec_fail(d, "invalid dscp 0x%02x", u8a);
        }
        ofpact_put_SET_IP_DSCP(out)->dscp = u8a;
        return true;
    case OFPACT_SET_IP_ECN:
        if (!ctl_get_u8(d, "ecn", &u8a)) {
            return false;
        }
        if (u8a > 3) {
            return ctl_dec_fail(d, "invalid ecn %u", u8a);
        }
        ofpact_put_SET_IP_ECN(out)->ecn = u8a;
        return true;
    case OFPACT_SET_IP_TTL:
        if (!ctl_get_u8(d, "ttl", &u8a)) {
            return false;
        }
        ofpact_put_SET_IP_TTL(out)->ttl = u8a;
        return true;
    case OFPACT_SET_L4_SRC_PORT:
    case OFPACT_SET_L4_DST_PORT: {
        if (!ctl_get_u16(d, "l4 port", &u16a)
            || !ctl_get_u8(d, "l4 protocol", &u8a)) {
            return false;
        }
        struct ofpact_l4_port *l4 = (struct ofpact_l4_port *) (void *)
            ofpacts_put(out, type, sizeof *l4);
        l4->port = u16a;
        l4->flow_ip_proto = u8a;
        return true;
    }
    case OFPACT_GROUP:
        if (!ctl_get_u32(d, "group id", &u32)) {
            return false;
        }
        ofpact_put_GROUP(out)->group_id = u32;
        return true;
    case OFPACT_NOTE: {
        size_t n = ctl_dec_left(d);
        const uint8_t *p;
        ctl_get_ref(d, "note", n, &p);
        struct ofpact_note *note = (struct ofpact_note *) (void *)
            ofpacts_put(out, OFPACT_NOTE, sizeof *note + n);
        note->length = n;
        if (n) {
            memcpy(note->data, p, n);
        }
        return true;
    }
    case OFPACT_CLONE: {
        size_t ofs = out->size;
        ofpact_put_CLONE(out);
        if (!get_actions(d, out, depth + 1)) {
            return false;
        }
        ofpacts_update_len(out, ofs);
        return true;
    }
    case OFPACT_CT: {
        struct mf_subfield zone_src;
        uint16_t zone, alg;
        uint8_t table, pad;
        if (!ctl_get_u16(d, "ct flags", &u16a)
            || !ctl_get_u16(d, "ct zone", &zone)
            || !get_subfield(d, "ct zone source", true, &zone_src)
            || !ctl_get_u16(d, "ct alg", &alg)
            || !ctl_get_u8(d, "ct table", &table)
            || !ctl_get_u8(d, "ct pad", &pad)) {
            return false;
        }
        if (u16a & ~(NX_CT_F_COMMIT | NX_CT_F_FORCE)) {
            return ctl_dec_fail(d, "invalid ct flags 0x%x", u16a);
        }
        if (alg != 0 && alg != 21 && alg != 69) {
            return ctl_dec_fail(d, "invalid ct alg %u", alg);
        }
        if (zone_src.field && zone_src.n_bits != 16) {
            return ctl_dec_fail(d, "ct zone source must be 16 bits");
        }
        size_t ofs = out->size;
        struct ofpact_conntrack *ct = ofpact_put_CT(out);
        ct->flags = u16a;
        ct->zone_imm = zone;
        ct->zone_src = zone_src;
        ct->alg = alg;
        ct->recirc_table = table;
        if (!get_actions(d, out, depth + 1)) {
            return false;
        }
        ofpacts_update_len(out, ofs);
        return true;
    }
    case OFPACT_NAT: {
        uint16_t flags, pmin, pmax;
        uint8_t af, pad;
        if (!ctl_get_u16(d, "nat flags", &flags)
            || !ctl_get_u16(d, "nat port min", &pmin)
            || !ctl_get_u16(d, "nat port max", &pmax)
            || !ctl_get_u8(d, "nat family", &af)
            || !ctl_get_u8(d, "nat pad", &pad)) {
            return false;
        }
        if (flags & ~0x1f || (af != 0 && af != 4 && af != 6)) {
            return ctl_dec_fail(d, "invalid nat flags or family");
        }
        struct ofpact_nat n;
        memset(&n, 0, sizeof n);
        n.flags = flags;
        n.proto_min = pmin;
        n.proto_max = pmax;
        n.range_af = af == 4 ? AF_INET : af == 6 ? AF_INET6 : AF_UNSPEC;
        if ((af == 4 && (!ctl_get_bytes(d, "nat range", 
                                        &n.range_addr.ipv4.min, 4)
                         || !ctl_get_bytes(d, "nat range",
                                           &n.range_addr.ipv4.max, 4)))
            || (af == 6 && (!ctl_get_bytes(d, "nat range",
                                           &n.range_addr.ipv6.min, 16)
                            || !ctl_get_bytes(d, "nat range",
                                              &n.range_addr.ipv6.max,
                                              16)))) {
            return false;
        }
        struct ofpact_nat *dst = ofpact_put_NAT(out);
        n.ofpact = dst->ofpact;
        *dst = n;
        return true;
    }
    default:
        return ctl_dec_fail(d, "unknown action type %u", type);
    }
}

/* Reads action TLVs until the end of 'd'. */
static bool
get_actions(struct ctl_dec *d, struct ofpacts *out, int depth)
{
    if (depth > CTL_MAX_NESTING) {
        return ctl_dec_fail(d, "actions nested more than %d deep",
                            CTL_MAX_NESTING);
    }
    while (ctl_dec_left(d)) {
        struct ctl_dec sub = { .error = NULL };
        uint16_t type;
        if (!ctl_get_tlv(d, "action", &type, &sub)) {
            return false;
        }
        if (!get_action(&sub, type, out, depth)
            || (ctl_dec_left(&sub)
                && ctl_dec_fail(&sub, "%zu trailing bytes in action %u",
                                ctl_dec_left(&sub), type))) {
            return ctl_dec_merge(d, &sub);
        }
        ctl_dec_merge(d, &sub);
    }
    return !d->error;
}

/* Reads 'len' bytes of action TLVs at the cursor into 'out'. */
static bool
get_action_block(struct ctl_dec *d, size_t len, struct ofpacts *out)
{
    const uint8_t *p;
    size_t start = d->ofs;

    if (!ctl_get_ref(d, "actions", len, &p)) {
        return false;
    }
    struct ctl_dec ad = {
        .data = p, .end = len, .base = d->base + start,
        .msg_name = d->msg_name,
    };
    get_actions(&ad, out, 0);
    return ctl_dec_merge(d, &ad);
}

/* Encodes 'ofpacts' into a temporary buffer; returns false if it does not
 * fit 65535 bytes or holds an unencodable action. */
static bool
encode_actions(const struct ofpact *ofpacts, size_t len, struct ds *buf)
{
    struct ctl_enc e = { .out = buf };
    return put_actions(&e, ofpacts, len, 0) && buf->length <= UINT16_MAX;
}

bool
ctl_put_ofpacts_block(struct ctl_enc *e, const struct ofpact *ofpacts,
                      size_t len)
{
    struct ds buf = DS_EMPTY_INITIALIZER;
    bool ok = encode_actions(ofpacts, len, &buf);
    if (ok) {
        ctl_put_u16(e, buf.length);
        ctl_put_bytes(e, buf.string, buf.length);
    }
    ds_destroy(&buf);
    return ok;
}

bool
ctl_get_ofpacts_block(struct ctl_dec *d, struct ofpact **ofpactsp,
                      size_t *lenp)
{
    struct ofpacts ofpacts;
    uint16_t len;

    *ofpactsp = NULL;
    *lenp = 0;
    if (!ctl_get_u16(d, "actions length", &len)) {
        return false;
    }
    ofpacts_init(&ofpacts);
    if (!get_action_block(d, len, &ofpacts)) {
        ofpacts_release(&ofpacts);
        return false;
    }
    *ofpactsp = (struct ofpact *) (void *) ofpacts.data;
    *lenp = ofpacts.size;
    return true;
}

/* ---- Flow-mod ----------------------------------------------------------- */

struct ofp_flow_mod *
ctl_flow_mod_create(int command)
{
    struct ofp_flow_mod *fm = xmalloc(sizeof *fm);
    ofp_flow_mod_init(fm, command);
    return fm;
}

void
ctl_flow_mod_free(struct ofp_flow_mod *fm)
{
    if (fm) {
        ofp_flow_mod_release(fm);
        free(fm);
    }
}

/* Appends the match TLVs then the action TLVs and writes their lengths as
 * two u16 at 'lens_ofs' (already reserved).  Returns false if either is
 * too big or unencodable.  Encodes in place, without a copy. */
static bool
put_match_actions(struct ctl_enc *e, size_t lens_ofs,
                  const struct match *match, const struct ofpact *ofpacts,
                  size_t ofpacts_len)
{
    size_t m_start = ctl_enc_size(e);
    if (!put_match(e, match)) {
        return false;
    }
    size_t a_start = ctl_enc_size(e);
    if (!put_actions(e, ofpacts, ofpacts_len, 0)) {
        return false;
    }
    size_t m_len = a_start - m_start;
    size_t a_len = ctl_enc_size(e) - a_start;
    if (m_len > UINT16_MAX || a_len > UINT16_MAX) {
        return false;
    }
    uint8_t *lens = (uint8_t *) e->out->string + lens_ofs;
    put_be(lens, m_len, 2);
    put_be(lens + 2, a_len, 2);
    return true;
}

bool
ctl_put_flow_mod(struct ctl_enc *e, const struct ofp_flow_mod *fm)
{
    size_t start = ctl_enc_size(e);
    uint8_t *p = enc_uninit(e, FLOW_MOD_FIXED_LEN);

    p[0] = fm->command;
    p[1] = fm->table_id;
    put_be(p + 2, fm->flags, 2);
    put_be(p + 4, (uint32_t) fm->priority, 4);
    put_be(p + 8, fm->cookie, 8);
    put_be(p + 16, fm->cookie_mask, 8);
    put_be(p + 24, fm->new_cookie, 8);
    put_be(p + 32, fm->idle_timeout, 2);
    put_be(p + 34, fm->hard_timeout, 2);
    put_be(p + 36, fm->importance, 2);
    p[38] = fm->modify_cookie;
    p[39] = 0;
    put_be(p + 40, fm->out_port, 4);
    /* 44: match_len, 46: actions_len, filled in below. */
    if (!put_match_actions(e, start + 44, &fm->match,
                           (const struct ofpact *) (const void *)
                           fm->ofpacts.data, fm->ofpacts.size)) {
        ds_truncate(e->out, start);
        return false;
    }
    return true;
}

bool
ctl_get_flow_mod(struct ctl_dec *d, struct ofp_flow_mod **fmp)
{
    uint8_t command, table_id, modify_cookie, pad;
    uint16_t flags, idle, hard, importance, match_len, actions_len;
    uint32_t priority, out_port;
    uint64_t cookie, cookie_mask, new_cookie;
    const char *w = "flow-mod";

    *fmp = NULL;
    if (!ctl_get_u8(d, w, &command) || !ctl_get_u8(d, w, &table_id)
        || !ctl_get_u16(d, w, &flags) || !ctl_get_u32(d, w, &priority)
        || !ctl_get_u64(d, w, &cookie) || !ctl_get_u64(d, w, &cookie_mask)
        || !ctl_get_u64(d, w, &new_cookie) || !ctl_get_u16(d, w, &idle)
        || !ctl_get_u16(d, w, &hard) || !ctl_get_u16(d, w, &importance)
        || !ctl_get_u8(d, w, &modify_cookie) || !ctl_get_u8(d, w, &pad)
        || !ctl_get_u32(d, w, &out_port) || !ctl_get_u16(d, w, &match_len)
        || !ctl_get_u16(d, w, &actions_len)) {
        return false;
    }
    if (command > OFPFC_DELETE_STRICT) {
        return ctl_dec_fail(d, "unknown flow-mod command %u", command);
    }
    if (priority > UINT16_MAX) {
        return ctl_dec_fail(d, "flow priority %"PRIu32" above 65535",
                            priority);
    }
    if (flags & ~0x1f || modify_cookie > 1 || pad) {
        return ctl_dec_fail(d, "invalid flow-mod flags");
    }

    struct ofp_flow_mod *fm = ctl_flow_mod_create(command);
    fm->table_id = table_id;
    fm->flags = flags;
    fm->priority = priority;
    fm->cookie = cookie;
    fm->cookie_mask = cookie_mask;
    fm->new_cookie = new_cookie;
    fm->idle_timeout = idle;
    fm->hard_timeout = hard;
    fm->importance = importance;
    fm->modify_cookie = modify_cookie;
    fm->out_port = out_port;
    if (!get_match(d, match_len, &fm->match)
        || !get_action_block(d, actions_len, &fm->ofpacts)) {
        ctl_flow_mod_free(fm);
        return false;
    }
    *fmp = fm;
    return true;
}

/* ---- Flow stats --------------------------------------------------------- */

void
ctl_flow_stats_free(struct ofp_flow_stats *fs)
{
    if (fs) {
        free((void *) fs->ofpacts);
        free(fs);
    }
}

struct ofp_flow_stats *
ctl_flow_stats_clone(const struct ofp_flow_stats *src)
{
    struct ofp_flow_stats *fs = xmemdup(src, sizeof *src);
    fs->ofpacts = (src->ofpacts_len
                   ? ofpacts_clone(src->ofpacts, src->ofpacts_len)
                   : NULL);
    return fs;
}

bool
ctl_put_flow_stats(struct ctl_enc *e, const struct ofp_flow_stats *fs)
{
    size_t start = ctl_enc_size(e);
    uint8_t *p = enc_uninit(e, FLOW_STATS_FIXED_LEN);

    p[0] = fs->table_id;
    p[1] = 0;
    put_be(p + 2, fs->flags, 2);
    put_be(p + 4, (uint32_t) fs->priority, 4);
    put_be(p + 8, fs->cookie, 8);
    put_be(p + 16, (uint64_t) fs->duration_msec, 8);
    put_be(p + 24, (uint64_t) fs->idle_age_msec, 8);
    put_be(p + 32, fs->n_packets, 8);
    put_be(p + 40, fs->n_bytes, 8);
    put_be(p + 48, fs->idle_timeout, 2);
    put_be(p + 50, fs->hard_timeout, 2);
    put_be(p + 52, fs->importance, 2);
    /* 54: match_len, 56: actions_len, filled in below. */
    memset(p + 58, 0, 6);
    if (!put_match_actions(e, start + 54, &fs->match, fs->ofpacts,
                           fs->ofpacts_len)) {
        ds_truncate(e->out, start);
        return false;
    }
    return true;
}

bool
ctl_get_flow_stats(struct ctl_dec *d, struct ofp_flow_stats **fsp)
{
    uint8_t table_id, pad8;
    uint16_t flags, idle, hard, importance, match_len, actions_len;
    uint32_t priority;
    uint64_t cookie, duration, idle_age, n_packets, n_bytes;
    uint8_t pad[6];
    const char *w = "flow stats";

    *fsp = NULL;
    if (!ctl_get_u8(d, w, &table_id) || !ctl_get_u8(d, w, &pad8)
        || !ctl_get_u16(d, w, &flags) || !ctl_get_u32(d, w, &priority)
        || !ctl_get_u64(d, w, &cookie) || !ctl_get_u64(d, w, &duration)
        || !ctl_get_u64(d, w, &idle_age) || !ctl_get_u64(d, w, &n_packets)
        || !ctl_get_u64(d, w, &n_bytes) || !ctl_get_u16(d, w, &idle)
        || !ctl_get_u16(d, w, &hard) || !ctl_get_u16(d, w, &importance)
        || !ctl_get_u16(d, w, &match_len)
        || !ctl_get_u16(d, w, &actions_len)
        || !ctl_get_bytes(d, w, pad, sizeof pad)) {
        return false;
    }
    if (priority > UINT16_MAX) {
        return ctl_dec_fail(d, "flow priority %"PRIu32" above 65535",
                            priority);
    }

    struct ofp_flow_stats *fs = xzalloc(sizeof *fs);
    struct ofpacts ofpacts;
    fs->table_id = table_id;
    fs->flags = flags;
    fs->priority = priority;
    fs->cookie = cookie;
    fs->duration_msec = (int64_t) duration;
    fs->idle_age_msec = (int64_t) idle_age;
    fs->n_packets = n_packets;
    fs->n_bytes = n_bytes;
    fs->idle_timeout = idle;
    fs->hard_timeout = hard;
    fs->importance = importance;
    ofpacts_init(&ofpacts);
    if (!get_match(d, match_len, &fs->match)
        || !get_action_block(d, actions_len, &ofpacts)) {
        ofpacts_release(&ofpacts);
        free(fs);
        return false;
    }
    fs->ofpacts = (const struct ofpact *) (const void *) ofpacts.data;
    fs->ofpacts_len = ofpacts.size;
    *fsp = fs;
    return true;
}
