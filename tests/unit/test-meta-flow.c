/* Unit tests for meta-flow and match: names, value/mask access through
 * shared storage, subfields, prerequisites, and a set/get round trip of
 * every field on random values. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "dynamic-string.h"
#include "match.h"
#include "meta-flow.h"
#include "util.h"

Test(meta_flow, names)
{
    cr_assert_eq(mf_from_name("dl_src")->id, MFF_DL_SRC);
    cr_assert_eq(mf_from_name("eth_src")->id, MFF_DL_SRC);
    cr_assert_eq(mf_from_name("NXM_OF_ETH_SRC")->id, MFF_DL_SRC);
    cr_assert_eq(mf_from_name("nxm_nx_reg3")->id, MFF_REG3);
    cr_assert_eq(mf_from_name("nw_src")->id, MFF_NW_SRC);
    cr_assert_eq(mf_from_name("tp_dst")->id, MFF_TP_DST);
    cr_assert_eq(mf_from_name("OXM_OF_PKT_REG1")->id, MFF_XREG1);
    cr_assert_null(mf_from_name("DL_SRC"));
    cr_assert_null(mf_from_name("nw_srcx"));
    for (int i = 0; i < MFF_N_IDS; i++) {
        const struct mf_field *mf = mf_from_id(i);
        cr_assert_eq(mf->id, (enum mf_field_id) i);
        cr_assert(mf->name && mf->n_bytes && mf->n_bits <= mf->n_bytes * 8);
        cr_assert(mf_from_name(mf->name) == mf, "%s", mf->name);
        cr_assert(mf->flow_ofs + mf->flow_len <= sizeof(struct flow));
    }
}

/* Setting a field on a flow and reading it back gives the value masked to
 * the field's bits, and touches no storage outside the field. */
Test(meta_flow, set_get_every_field)
{
    srand(7);
    for (int round = 0; round < 200; round++) {
        for (int i = 0; i < MFF_N_IDS; i++) {
            const struct mf_field *mf = mf_from_id(i);
            union mf_value v, ones, got;
            struct flow f, before;

            for (size_t b = 0; b < sizeof before; b++) {
                ((uint8_t *) &before)[b] = rand();
            }
            f = before;
            mf_all_ones(mf, &ones);
            do {
                memset(&v, 0, sizeof v);
                for (unsigned int b = 0; b < mf->n_bytes; b++) {
                    v.b[b] = rand() & ones.b[b];
                }
            } while (!mf_is_value_valid(mf, &v));
            mf_set_flow_value(mf, &v, &f);
            mf_get_value(mf, &f, &got);
            cr_assert(!memcmp(&v, &got, mf->n_bytes), "%s", mf->name);
            /* Bytes outside the storage are untouched. */
            for (size_t b = 0; b < sizeof f; b++) {
                if (b < mf->flow_ofs || b >= mf->flow_ofs + mf->flow_len) {
                    cr_assert_eq(((uint8_t *) &f)[b],
                                 ((uint8_t *) &before)[b], "%s", mf->name);
                }
            }
        }
    }
}

Test(meta_flow, shared_storage)
{
    struct flow f;
    union mf_value v;

    memset(&f, 0, sizeof f);
    f.vlans[0].tci = htons(0xa00a);          /* pcp 5, vid 10 */
    mf_get_value(mf_from_id(MFF_DL_VLAN), &f, &v);
    cr_assert_eq(ntohs(v.be16), 10);
    mf_get_value(mf_from_id(MFF_DL_VLAN_PCP), &f, &v);
    cr_assert_eq(v.u8, 5);
    v.be16 = htons(20);
    mf_set_flow_value(mf_from_id(MFF_DL_VLAN), &v, &f);
    cr_assert_eq(ntohs(f.vlans[0].tci), 0xa014);

    f.regs[0] = 1;
    f.regs[1] = 2;
    mf_get_value(mf_from_id(MFF_XREG0), &f, &v);
    cr_assert_eq(v.u64, 0x100000002ull);

    f.tp_src = htons(8);
    mf_get_value(mf_from_id(MFF_ICMP_TYPE), &f, &v);
    cr_assert_eq(v.u8, 8);
    f.nw_tos = 0x12;
    mf_get_value(mf_from_id(MFF_NW_ECN), &f, &v);
    cr_assert_eq(v.u8, 2);
    mf_get_value(mf_from_id(MFF_IP_DSCP), &f, &v);
    cr_assert_eq(v.u8, 4);
}

Test(meta_flow, subfields)
{
    struct mf_subfield sf;
    struct flow f;
    struct ds s = DS_EMPTY_INITIALIZER;
    char *error;

    memset(&f, 0, sizeof f);
    cr_assert_null(mf_parse_subfield(&sf, "NXM_NX_REG0[4..11]"));
    cr_assert_eq(sf.field->id, MFF_REG0);
    cr_assert_eq(sf.ofs, 4);
    cr_assert_eq(sf.n_bits, 8);
    f.regs[0] = 0xffffffff;
    mf_set_subfield(&sf, 0x5a, &f);
    cr_assert_eq(f.regs[0], 0xfffff5af);
    cr_assert_eq(mf_get_subfield(&sf, &f), 0x5a);
    mf_format_subfield(&sf, &s);
    cr_assert_str_eq(ds_cstr(&s), "NXM_NX_REG0[4..11]");

    cr_assert_null(mf_parse_subfield(&sf, "eth_dst[40..47]"));
    mf_set_subfield(&sf, 0xab, &f);
    cr_assert_eq(f.dl_dst.ea[0], 0xab);
    cr_assert_null(mf_parse_subfield(&sf, "reg1[5]"));
    cr_assert_eq(sf.n_bits, 1);
    cr_assert_null(mf_parse_subfield(&sf, "ct_label[100..127]"));
    mf_set_subfield(&sf, 0xabcdef1, &f);
    cr_assert_eq(f.ct_label[1], 0xabcdef1ull << 36);

    error = mf_parse_subfield(&sf, "reg0[30..33]");
    cr_assert_str_eq(error, "bit range 30..33 out of range for 'reg0' "
                            "(32 bits)");
    free(error);
    error = mf_parse_subfield(&sf, "bogus[]");
    cr_assert_str_eq(error, "unknown field 'bogus'");
    free(error);
    ds_destroy(&s);
}

Test(meta_flow, prereqs)
{
    struct match m;
    char *error;

    match_init_catchall(&m);
    match_set_tp_dst_masked(&m, htons(80), UINT16_MAX);
    error = match_check_prereqs(&m);
    cr_assert_str_eq(error, "prerequisites not met for 'tp_dst' (needs tcp, "
                            "udp or sctp)");
    free(error);
    match_set_dl_type(&m, htons(ETH_TYPE_IP));
    match_set_nw_proto(&m, IPPROTO_UDP);
    cr_assert_null(match_check_prereqs(&m));

    /* ARP SPA shares nw_src and is fine under arp. */
    match_init_catchall(&m);
    match_set_dl_type(&m, htons(ETH_TYPE_ARP));
    match_set_nw_src_masked(&m, htonl(0x0a000001), UINT32_MAX);
    cr_assert_null(match_check_prereqs(&m));

    struct flow_wildcards wc;
    flow_wildcards_init_catchall(&wc);
    mf_mask_field_and_prereqs(mf_from_id(MFF_ND_TARGET), &wc);
    cr_assert_eq(wc.masks.dl_type, 0xffff);
    cr_assert_eq(wc.masks.nw_proto, 0xff);
    cr_assert_eq(wc.masks.tp_src, 0xffff);
}

Test(match, format_and_equal)
{
    struct match a, b;
    char *s;

    match_init_catchall(&a);
    match_set_dl_type(&a, htons(ETH_TYPE_IP));
    match_set_nw_proto(&a, IPPROTO_TCP);
    match_set_nw_dst_masked(&a, htonl(0x0a000000), htonl(0xff000000));
    match_set_tp_dst_masked(&a, htons(443), UINT16_MAX);
    match_set_in_port(&a, 3);
    s = match_to_string(&a, 100, NULL);
    cr_assert_str_eq(s, "priority=100,tcp,in_port=3,nw_dst=10.0.0.0/8,"
                        "tp_dst=443");
    free(s);
    b = a;
    cr_assert(match_equal(&a, &b));
    match_set_nw_dst_masked(&b, htonl(0x0a0000ff), htonl(0xff000000));
    cr_assert(match_equal(&a, &b));     /* normalized */
    s = match_to_string(&b, OFP_DEFAULT_PRIORITY, NULL);
    cr_assert_str_eq(s, "tcp,in_port=3,nw_dst=10.0.0.0/8,tp_dst=443");
    free(s);
    match_init_catchall(&b);
    s = match_to_string(&b, OFP_DEFAULT_PRIORITY, NULL);
    cr_assert_str_eq(s, "");
    free(s);
}
