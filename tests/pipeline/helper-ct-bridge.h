/* helper-ct-bridge: a bridge for conntrack pipeline tests: its own
 * connection tracker (1,000 connections), one datapath worker, and dummy
 * ports p1 and p2 known to an empty ofproto named "br0". */
#ifndef TS_TEST_HELPER_CT_BRIDGE_H
#define TS_TEST_HELPER_CT_BRIDGE_H 1

struct dpif;
struct dpif_ct;
struct ofproto;

struct ct_bridge {
    struct dpif *dpif;
    struct dpif_ct *ct;
    struct ofproto *ofp;
};

/* Creates it with datapath name 'dp_name' (asserts on failure). */
void ct_bridge_create(struct ct_bridge *, const char *dp_name);
void ct_bridge_destroy(struct ct_bridge *);

#endif
