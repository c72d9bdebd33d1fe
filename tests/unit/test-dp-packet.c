/* Unit tests for dp-packet: pools, headroom, push/pull/put, clone. */
#include <criterion/criterion.h>
#include <string.h>

#include "dp-packet.h"

Test(dp_packet, pool_exhaustion_and_reuse)
{
    struct dp_packet_pool *pool = dp_packet_pool_create("t", 4, 2048);
    struct dp_packet *p[4];

    cr_assert_not_null(pool);
    cr_assert_geq(dp_packet_pool_buf_size(pool), 2048);
    cr_assert_eq(dp_packet_pool_available(pool), 4);
    for (int i = 0; i < 4; i++) {
        p[i] = dp_packet_pool_get(pool);
        cr_assert_not_null(p[i]);
        cr_assert_eq(dp_packet_size(p[i]), 0);
        cr_assert_eq(dp_packet_headroom(p[i]), DP_PACKET_HEADROOM);
        cr_assert_eq(p[i]->l3_ofs, DP_PACKET_OFS_NONE);
        for (int j = 0; j < i; j++) {
            cr_assert_neq(p[i], p[j]);
            /* Buffers do not overlap. */
            cr_assert(p[i]->base >= p[j]->base + p[j]->allocated
                      || p[j]->base >= p[i]->base + p[i]->allocated);
        }
    }
    cr_assert_eq(dp_packet_pool_available(pool), 0);
    cr_assert_eq(dp_packet_pool_exhausted(pool), 0);
    cr_assert_null(dp_packet_pool_get(pool));
    cr_assert_null(dp_packet_pool_get(pool));
    cr_assert_eq(dp_packet_pool_exhausted(pool), 2);

    /* A returned packet comes back clean. */
    dp_packet_put(p[2], "abc", 3);
    p[2]->l3_ofs = 1;
    p[2]->ofl.flags = DP_OFL_CSUM_PARTIAL;
    p[2]->rss_valid = true;
    dp_packet_delete(p[2]);
    cr_assert_eq(dp_packet_pool_available(pool), 1);
    struct dp_packet *q = dp_packet_pool_get(pool);
    cr_assert_eq(q, p[2]);
    cr_assert_eq(dp_packet_size(q), 0);
    cr_assert_eq(q->l3_ofs, DP_PACKET_OFS_NONE);
    cr_assert_eq(q->ofl.flags, 0);
    cr_assert_not(q->rss_valid);

    struct dp_packet_batch b;
    dp_packet_batch_init(&b);
    dp_packet_batch_add(&b, p[0]);
    dp_packet_batch_add(&b, p[1]);
    dp_packet_batch_add(&b, q);
    dp_packet_batch_add(&b, p[3]);
    struct dp_packet *it;
    int n = 0;
    DP_PACKET_BATCH_FOR_EACH (i, it, &b) {
        cr_assert_eq(it, b.packets[i]);
        n++;
    }
    cr_assert_eq(n, 4);
    dp_packet_batch_delete(&b);
    cr_assert_eq(b.count, 0);
    cr_assert_eq(dp_packet_pool_available(pool), 4);
    dp_packet_pool_destroy(pool);
}

Test(dp_packet, pool_bad_args)
{
    cr_assert_null(dp_packet_pool_create("t", 0, 2048));
    cr_assert_null(dp_packet_pool_create("t", 4, DP_PACKET_HEADROOM));
    dp_packet_pool_destroy(NULL);
}

struct hook_state {
    int calls;
    struct dp_packet *last;
};

static void
release_hook(struct dp_packet *p, void *aux)
{
    struct hook_state *st = aux;

    st->calls++;
    st->last = p;
    dp_packet_pool_put(p);
}

Test(dp_packet, release_hook)
{
    struct dp_packet_pool *pool = dp_packet_pool_create("xdp", 2, 4096);
    struct hook_state st = { 0 };
    struct dp_packet *p;

    dp_packet_pool_set_release(pool, release_hook, &st);
    p = dp_packet_pool_get(pool);
    dp_packet_delete(p);
    cr_assert_eq(st.calls, 1);
    cr_assert_eq(st.last, p);
    cr_assert_eq(dp_packet_pool_available(pool), 2);
    dp_packet_pool_destroy(pool);
}

Test(dp_packet, push_pull_put_offsets)
{
    struct dp_packet *p = dp_packet_new(100);
    uint8_t bytes[60];

    for (int i = 0; i < 60; i++) {
        bytes[i] = i;
    }
    cr_assert_eq(dp_packet_headroom(p), DP_PACKET_HEADROOM);
    cr_assert_geq(dp_packet_tailroom(p), 100);
    dp_packet_put(p, bytes, 60);
    cr_assert_eq(dp_packet_size(p), 60);
    p->l3_ofs = 14;
    p->l4_ofs = 34;
    p->ofl.flags = DP_OFL_CSUM_PARTIAL;
    p->ofl.csum_start = 34;
    p->ofl.csum_offset = 16;

    /* Push a VLAN tag's worth: everything shifts by 4. */
    uint8_t *start = dp_packet_push_uninit(p, 4);
    cr_assert_eq(start, dp_packet_data(p));
    cr_assert_eq(dp_packet_size(p), 64);
    cr_assert_eq(dp_packet_headroom(p), DP_PACKET_HEADROOM - 4);
    cr_assert_eq(p->l3_ofs, 18);
    cr_assert_eq(p->l4_ofs, 38);
    cr_assert_eq(p->ofl.csum_start, 38);
    cr_assert_eq(((uint8_t *) dp_packet_data(p))[4], 0);
    cr_assert_eq(((uint8_t *) dp_packet_l3(p))[0], 14);
    cr_assert_eq(((uint8_t *) dp_packet_l4(p))[0], 34);
    cr_assert_eq(dp_packet_l4_size(p), 64 - 38);

    /* Pull the tag and the Ethernet header. */
    dp_packet_pull(p, 18);
    cr_assert_eq(p->l3_ofs, 0);
    cr_assert_eq(p->l4_ofs, 20);
    cr_assert_eq(p->ofl.csum_start, 20);
    cr_assert_eq(((uint8_t *) dp_packet_data(p))[0], 14);

    /* Pulling past L3 drops it. */
    dp_packet_pull(p, 4);
    cr_assert_eq(p->l3_ofs, DP_PACKET_OFS_NONE);
    cr_assert_null(dp_packet_l3(p));
    cr_assert_eq(p->l4_ofs, 16);

    /* Pulling past csum_start clears the partial checksum. */
    dp_packet_pull(p, 17);
    cr_assert_eq(p->l4_ofs, DP_PACKET_OFS_NONE);
    cr_assert_eq(dp_packet_l4_size(p), 0);
    cr_assert_eq(p->ofl.flags & DP_OFL_CSUM_PARTIAL, 0);

    uint8_t *tail = dp_packet_put_uninit(p, 8);
    cr_assert_eq(tail + 8, (uint8_t *) dp_packet_tail(p));
    dp_packet_set_size(p, 3);
    cr_assert_eq(dp_packet_size(p), 3);
    dp_packet_reset(p);
    cr_assert_eq(dp_packet_headroom(p), DP_PACKET_HEADROOM);
    cr_assert_eq(dp_packet_size(p), 0);
    dp_packet_delete(p);
    dp_packet_delete(NULL);
}

Test(dp_packet, clone)
{
    struct dp_packet_pool *pool = dp_packet_pool_create("c", 1, 512);
    struct dp_packet *p = dp_packet_clone_data("0123456789", 10);
    struct dp_packet *c;

    p->l3_ofs = 2;
    p->l4_ofs = 5;
    p->in_port = 7;
    p->ofl.flags = DP_OFL_CSUM_VALID;
    c = dp_packet_clone(p, NULL);
    cr_assert_eq(dp_packet_size(c), 10);
    cr_assert_eq(memcmp(dp_packet_data(c), "0123456789", 10), 0);
    cr_assert_eq(c->l3_ofs, 2);
    cr_assert_eq(c->l4_ofs, 5);
    cr_assert_eq(c->in_port, 7);
    cr_assert_eq(c->ofl.flags, DP_OFL_CSUM_VALID);
    cr_assert_null(c->pool);
    dp_packet_delete(c);

    c = dp_packet_clone(p, pool);
    cr_assert_not_null(c);
    cr_assert_eq(c->pool, pool);
    cr_assert_eq(memcmp(dp_packet_data(c), "0123456789", 10), 0);
    cr_assert_null(dp_packet_clone(p, pool));   /* pool now empty */
    cr_assert_eq(dp_packet_pool_exhausted(pool), 1);
    dp_packet_delete(c);

    /* Too big for the pool's buffers: NULL, buffer returned. */
    struct dp_packet *big = dp_packet_new(1000);
    dp_packet_put_uninit(big, 1000);
    cr_assert_null(dp_packet_clone(big, pool));
    cr_assert_eq(dp_packet_pool_available(pool), 1);
    dp_packet_delete(big);
    dp_packet_delete(p);
    dp_packet_pool_destroy(pool);
}
