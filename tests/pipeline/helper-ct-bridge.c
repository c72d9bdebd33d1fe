#include "helper-ct-bridge.h"

#include <criterion/criterion.h>
#include <stdio.h>

#include "dpif.h"
#include "ofproto.h"

void
ct_bridge_create(struct ct_bridge *b, const char *dp_name)
{
    struct dpif_ct_config ccfg = { .max_conns = 1000, .n_buckets = 256 };
    struct dpif_config cfg = { .n_workers = 1 };

    b->ct = dpif_ct_create(&ccfg);
    cr_assert_not_null(b->ct);
    cfg.ct = b->ct;
    cr_assert_eq(dpif_create(dp_name, &cfg, &b->dpif), 0);
    b->ofp = ofproto_create_empty("br0", b->dpif);
    for (uint32_t i = 1; i <= 2; i++) {
        char name[16];
        char *msg = NULL;
        uint32_t port_no = i;

        snprintf(name, sizeof name, "p%u", i);
        cr_assert_eq(dpif_port_add(b->dpif, name, "dummy", NULL, &port_no,
                                   &msg), 0);
        cr_assert_eq(ofproto_port_added(b->ofp, i, name), 0);
    }
}

void
ct_bridge_destroy(struct ct_bridge *b)
{
    ofproto_destroy(b->ofp);
    dpif_destroy(b->dpif);
    dpif_ct_destroy(b->ct);
}
