/* libFuzzer target for flow_extract() and flow_format().
 *
 * Each input is one Ethernet frame, copied into a heap packet of exactly
 * its size so that AddressSanitizer reports any read past the end.  The
 * target also checks the extractor's promises: offsets within the packet,
 * pad bytes zero, and a second extraction giving the same key. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dp-packet.h"
#include "dynamic-string.h"
#include "flow.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct dp_packet *p;
    struct flow f1, f2;
    struct ds s = DS_EMPTY_INITIALIZER;
    int r1, r2;

    if (size > 65535) {
        return 0;
    }
    p = dp_packet_new(size);
    dp_packet_put(p, data, size);
    p->in_port = 1;

    r1 = flow_extract(p, &f1);
    if (r1 & ~(FLOW_EXTRACT_TRUNCATED | FLOW_EXTRACT_MALFORMED)) {
        abort();
    }
    if ((p->l3_ofs != DP_PACKET_OFS_NONE && p->l3_ofs > size)
        || (p->l4_ofs != DP_PACKET_OFS_NONE && p->l4_ofs > size)
        || (p->l4_ofs != DP_PACKET_OFS_NONE
            && (p->l3_ofs == DP_PACKET_OFS_NONE || p->l4_ofs < p->l3_ofs))) {
        abort();
    }
    if (f1.pad1[0] | f1.pad1[1] | f1.pad1[2] | f1.pad2 | f1.pad3) {
        abort();
    }
    r2 = flow_extract(p, &f2);
    if (r1 != r2 || !flow_equal(&f1, &f2) || f1.in_port != 1) {
        abort();
    }
    flow_format(&s, &f1);
    ds_destroy(&s);
    dp_packet_delete(p);
    return 0;
}
