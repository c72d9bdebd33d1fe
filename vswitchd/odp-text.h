/* odp-text: a megaflow's key and mask as ovs-appctl dpctl/dump-flows
 * prints them, e.g.
 *   recirc_id(0),in_port(1),eth(src=00:00:00:00:00:01,dst=...),
 *   eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.0.2,proto=6,frag=no),
 *   tcp(dst=80)
 * Fields whose mask is zero are left out (and so is an attribute whose
 * fields all are); a partially masked field prints as VALUE/MASK, in the
 * style OVS uses for that field (dotted mask for IPv4, hex for ports).
 *
 * Who calls it: ctl-server.c for DUMP_DP_FLOWS.  Pure functions; any
 * thread. */
#ifndef TS_VSWITCHD_ODP_TEXT_H
#define TS_VSWITCHD_ODP_TEXT_H 1

struct ds;
struct flow;
struct flow_wildcards;

void odp_text_format_key(struct ds *, const struct flow *key,
                         const struct flow_wildcards *mask);

#endif /* vswitchd/odp-text.h */
