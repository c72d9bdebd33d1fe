#include <errno.h>
#include <stdlib.h>
#include "ofproto.h"
#include "util.h"
int ofproto_group_mod(struct ofproto *p, const struct ofp_group_mod *gm, char **errp)
{ if (errp) *errp = xstrdup("groups stubbed"); return -EOPNOTSUPP; }
size_t ofproto_dump_groups(struct ofproto *p, uint32_t id, ofproto_group_cb *cb, void *aux) { return 0; }
int ofproto_trace_packet(struct ofproto *p, uint32_t in_port, const void *packet, size_t len, struct ds *out) { return -EINVAL; }
