/* Tests for the datapath instance (datapath/dpif.c, dp-worker.c) with
 * dummy ports: upcall, megaflow install and hits, flush, revalidation,
 * statistics, idle expiry, packet-out, port errors. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dpif.h"
#include "errors.h"
#include "flow.h"
#include "packets.h"
#include "util.h"

struct fake {
    unsigned int n_upcalls;     /* atomic: workers write */
    uint32_t out_port;
    bool install;
    bool malformed;
    int cookie;
    int *cookie_pool;           /* if nonnull: upcall N gets pool[N] */
    int n_outputs;              /* 0: one output */
};

static int
fake_upcall(void *aux, struct dpif_upcall *up)
{
    struct fake *fk = aux;
    unsigned int n = __atomic_add_fetch(&fk->n_upcalls, 1,
                                        __ATOMIC_SEQ_CST);

    if (fk->malformed) {
        struct dp_action *a = dpa_put(&up->actions, DPA_OUTPUT, 4);

        (void) a;
        ((struct dp_action *) up->actions.data)->len = 4;   /* corrupt */
        return 0;
    }
    for (int i = 0; i < MAX(fk->n_outputs, 1); i++) {
        dpa_put_output(&up->actions, fk->out_port);
    }
    up->wc.masks.in_port = UINT32_MAX;
    memset(&up->wc.masks.dl_dst, 0xff, sizeof up->wc.masks.dl_dst);
    up->wc.masks.dl_type = UINT16_MAX;
    up->install = fk->install;
    up->cookie = &fk->cookie;
    if (fk->cookie_pool) {
        up->cookie = &fk->cookie_pool[n - 1];
    }
    return 0;
}

static unsigned int
n_upcalls(struct fake *fk)
{
    return __atomic_load_n(&fk->n_upcalls, __ATOMIC_SEQ_CST);
}

struct stats_log {
    int n_reports, n_removed;
    uint64_t n_packets;
    void *last_cookie;
};

static void
stats_cb(void *aux, void *cookie, const struct dpif_flow_stats *st,
         bool removed)
{
    struct stats_log *log = aux;

    log->n_reports++;
    log->n_removed += removed;
    log->n_packets += st->n_packets;
    log->last_cookie = cookie;
}

static size_t
build_udp(uint8_t *f, uint8_t dst_last, uint32_t src_ip)
{
    static const uint8_t tmpl[42] = {
        0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 1, 0x08, 0x00,
        0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0,
        10, 0, 0, 1, 10, 0, 0, 2,
        0x04, 0xd2, 0, 53, 0, 8, 0, 0,
    };

    memcpy(f, tmpl, sizeof tmpl);
    f[5] = dst_last;
    memcpy(f + 26, &src_ip, 4);
    return sizeof tmpl;
}

/* Waits up to 2 s for 'want' frames on 'port'; returns how many came. */
static int
collect(struct dpif *dpif, uint32_t port, struct dp_packet **out, int want)
{
    int n = 0;

    for (int t = 0; t < 2000 && n < want; t++) {
        int k = dpif_port_collect(dpif, port, out + n, want - n);

        cr_assert_geq(k, 0);
        n += k;
        if (n < want) {
            usleep(1000);
        }
    }
    return n;
}

static void
free_pkts(struct dp_packet **p, int n)
{
    for (int i = 0; i < n; i++) {
        dp_packet_delete(p[i]);
    }
}

static struct dpif *
setup(struct fake *fk, const struct dpif_config *cfg, int n_ports)
{
    struct dpif *dpif;
    char *err = NULL;

    cr_assert_eq(dpif_create("br0", cfg, &dpif), 0);
    for (int i = 1; i <= n_ports; i++) {
        char name[16];
        uint32_t no = i;

        snprintf(name, sizeof name, "p%d", i);
        cr_assert_eq(dpif_port_add(dpif, name, "dummy", NULL, &no, &err), 0,
                     "%s", err ? err : "");
        cr_assert_eq(no, (uint32_t) i);
    }
    fk->out_port = 2;
    fk->install = true;
    dpif_set_upcall_cb(dpif, fake_upcall, fk);
    return dpif;
}

/* Injects one frame on port 1 and expects it on 'out_port'. */
static void
send_one(struct dpif *dpif, uint8_t dst_last, uint32_t src_ip,
         uint32_t out_port)
{
    uint8_t f[64];
    size_t len = build_udp(f, dst_last, src_ip);
    struct dp_packet *p[2];

    cr_assert_eq(dpif_port_inject(dpif, 1, f, len), 0);
    cr_assert_eq(collect(dpif, out_port, p, 1), 1, "frame not forwarded");
    cr_assert_eq(dp_packet_size(p[0]), len);
    cr_assert_eq(memcmp(dp_packet_data(p[0]), f, len), 0);
    free_pkts(p, 1);
}

Test(dpif, upcall_install_hit_flush)
{
    struct fake fk = { 0 };
    struct stats_log log = { 0 };
    struct dpif *dpif = setup(&fk, NULL, 2);
    struct dpif_stats st;

    dpif_set_stats_cb(dpif, stats_cb, &log);
    send_one(dpif, 2, htonl(0x0a000001), 2);
    cr_assert_eq(n_upcalls(&fk), 1);
    cr_assert_eq(dpif_flow_count(dpif), 1);

    send_one(dpif, 2, htonl(0x0a000001), 2);       /* EMC */
    send_one(dpif, 2, htonl(0x0a000009), 2);       /* megaflow: src wild */
    cr_assert_eq(n_upcalls(&fk), 1, "hit went to the slow path");
    dpif_get_stats(dpif, &st);
    cr_assert_eq(st.n_missed, 1);
    cr_assert_eq(st.n_hit_emc, 1);
    cr_assert_eq(st.n_hit_megaflow, 1);
    cr_assert_eq(st.n_megaflows, 1);

    dpif_flow_flush(dpif);
    cr_assert_eq(dpif_flow_count(dpif), 0);
    cr_assert_eq(log.n_removed, 1);
    cr_assert_eq(log.n_packets, 3);
    cr_assert(log.last_cookie == &fk.cookie);
    send_one(dpif, 2, htonl(0x0a000001), 2);
    cr_assert_eq(n_upcalls(&fk), 2, "flush left a stale cache entry");
    dpif_destroy(dpif);
    cr_assert_eq(log.n_removed, 2, "destroy must report the last flow");
}

static bool
reval_reject(void *aux, const struct flow *key,
             const struct flow_wildcards *mask, const void *actions,
             size_t len, void *cookie)
{
    int *n = aux;

    (*n)++;
    cr_assert_eq(mask->masks.in_port, UINT32_MAX);
    cr_assert_eq(key->in_port, 1);
    cr_assert_eq(len, 16);
    return false;
}

static bool
reval_keep(void *aux, const struct flow *key,
           const struct flow_wildcards *mask, const void *actions,
           size_t len, void *cookie)
{
    (*(int *) aux)++;
    return true;
}

Test(dpif, revalidate_removes_and_reports)
{
    struct fake fk = { 0 };
    struct stats_log log = { 0 };
    struct dpif *dpif = setup(&fk, NULL, 2);
    int n_checked = 0;

    dpif_set_stats_cb(dpif, stats_cb, &log);
    send_one(dpif, 2, htonl(1), 2);
    send_one(dpif, 3, htonl(1), 2);
    cr_assert_eq(dpif_flow_count(dpif), 2);
    dpif_revalidate(dpif, reval_keep, &n_checked);
    cr_assert_eq(n_checked, 2);
    cr_assert_eq(dpif_flow_count(dpif), 2);
    cr_assert_eq(log.n_reports, 0);

    n_checked = 0;
    dpif_revalidate(dpif, reval_reject, &n_checked);
    cr_assert_eq(n_checked, 2);
    cr_assert_eq(dpif_flow_count(dpif), 0);
    cr_assert_eq(log.n_removed, 2);
    cr_assert_eq(log.n_packets, 2);
    /* The EMC held both: the next packets must miss. */
    send_one(dpif, 2, htonl(1), 2);
    cr_assert_eq(n_upcalls(&fk), 3);
    dpif_destroy(dpif);
}

Test(dpif, collect_stats_and_idle_expiry)
{
    struct fake fk = { 0 };
    struct stats_log log = { 0 };
    struct dpif_config cfg = { .megaflow_idle_ms = 200 };
    struct dpif *dpif = setup(&fk, &cfg, 2);

    for (int i = 0; i < 3; i++) {
        send_one(dpif, 2, htonl(i), 2);
    }
    dpif_collect_stats(dpif, stats_cb, &log);
    cr_assert_eq(log.n_reports, 1);
    cr_assert_eq(log.n_packets, 3);
    cr_assert_eq(log.n_removed, 0);
    dpif_collect_stats(dpif, stats_cb, &log);
    cr_assert_eq(log.n_reports, 1, "no traffic, no report");
    usleep(400 * 1000);
    dpif_collect_stats(dpif, stats_cb, &log);
    cr_assert_eq(log.n_removed, 1);
    cr_assert_eq(log.n_packets, 3);
    cr_assert_eq(dpif_flow_count(dpif), 0);
    send_one(dpif, 2, htonl(0), 2);
    cr_assert_eq(n_upcalls(&fk), 2);
    dpif_destroy(dpif);
}

static void
dump_cb(void *aux, const struct dpif_flow_dump_entry *e)
{
    int *n = aux;

    (*n)++;
    cr_assert_eq(e->key.in_port, 1);
    cr_assert_eq(e->key.nw_src, 0, "key not masked");
    cr_assert_eq(e->mask.masks.dl_type, UINT16_MAX);
    cr_assert_eq(e->actions_len, 16);
    cr_assert_eq(e->stats.n_packets, 2);
    cr_assert_eq(e->stats.n_bytes, 84);
}

Test(dpif, dump)
{
    struct fake fk = { 0 };
    struct dpif *dpif = setup(&fk, NULL, 2);
    int n = 0;

    send_one(dpif, 2, htonl(1), 2);
    send_one(dpif, 2, htonl(2), 2);
    dpif_flow_dump(dpif, dump_cb, &n);
    cr_assert_eq(n, 1);
    dpif_destroy(dpif);
}

Test(dpif, no_install_and_limit)
{
    struct fake fk = { 0 };
    struct dpif_config cfg = { .max_megaflows = 1 };
    struct dpif *dpif = setup(&fk, &cfg, 2);

    fk.install = false;
    send_one(dpif, 2, htonl(1), 2);
    send_one(dpif, 2, htonl(1), 2);
    cr_assert_eq(n_upcalls(&fk), 2);
    cr_assert_eq(dpif_flow_count(dpif), 0);
    fk.install = true;
    send_one(dpif, 2, htonl(1), 2);
    send_one(dpif, 3, htonl(1), 2);     /* over the limit: not installed */
    send_one(dpif, 3, htonl(1), 2);
    cr_assert_eq(dpif_flow_count(dpif), 1);
    cr_assert_eq(n_upcalls(&fk), 5);
    dpif_destroy(dpif);
}

/* Per-cookie accounting for cookies from a pool. */
#define N_POOL 8
struct pool_log {
    int *pool;
    int removed[N_POOL];        /* final reports per cookie */
    uint64_t packets[N_POOL];
    int n_after_removed;        /* reports for an already returned cookie */
};

static void
pool_stats_cb(void *aux, void *cookie, const struct dpif_flow_stats *st,
              bool removed)
{
    struct pool_log *log = aux;
    int i = (int *) cookie - log->pool;

    cr_assert(i >= 0 && i < N_POOL, "unknown cookie");
    log->n_after_removed += log->removed[i] > 0;
    log->packets[i] += st->n_packets;
    log->removed[i] += removed;
}

/* Every cookie the handler returned comes back once, removed, whether or
 * not a megaflow holds it, and every packet is counted once. */
Test(dpif, every_cookie_comes_back_once)
{
    int pool[N_POOL];
    struct fake fk = { .cookie_pool = pool };
    struct pool_log log = { .pool = pool };
    struct dpif_config cfg = { .max_megaflows = 1 };
    struct dpif *dpif = setup(&fk, &cfg, 2);
    uint8_t f[64];
    size_t len = build_udp(f, 5, 1);
    uint64_t stub[8];
    struct dpa_buf acts;
    struct dp_packet *pkt, *p[1];
    struct flow flow;
    uint32_t recirc_id = 7;

    dpif_set_stats_cb(dpif, pool_stats_cb, &log);
    send_one(dpif, 2, htonl(1), 2);     /* pool[0]: installed */
    send_one(dpif, 3, htonl(1), 2);     /* pool[1]: over the limit */
    fk.install = false;
    send_one(dpif, 4, htonl(1), 2);     /* pool[2]: not installed */
    fk.install = true;
    cr_assert_eq(dpif_flow_count(dpif), 1);

    /* An upcall from the main thread (packet-out that recirculates). */
    pkt = dp_packet_clone_data(f, len);
    pkt->in_port = 1;
    flow_extract(pkt, &flow);
    DPA_BUF_STUB(&acts, stub);
    memcpy(dpa_put(&acts, DPA_RECIRC, sizeof recirc_id), &recirc_id,
           sizeof recirc_id);
    cr_assert_eq(dpif_execute(dpif, pkt, &flow, acts.data, acts.size), 0);
    cr_assert_eq(collect(dpif, 2, p, 1), 1);    /* pool[3] */
    free_pkts(p, 1);
    cr_assert_eq(n_upcalls(&fk), 4);

    dpif_collect_stats(dpif, pool_stats_cb, &log);
    for (int i = 1; i <= 3; i++) {
        cr_assert_eq(log.removed[i], 1, "cookie %d not handed back", i);
        cr_assert_eq(log.packets[i], 1, "cookie %d: upcall packet", i);
    }
    cr_assert_eq(log.removed[0], 0);
    cr_assert_eq(log.packets[0], 1);

    send_one(dpif, 2, htonl(1), 2);     /* hit on pool[0]'s megaflow */
    dpif_destroy(dpif);
    cr_assert_eq(log.removed[0], 1, "destroy must hand back the last");
    cr_assert_eq(log.packets[0], 2);
    for (int i = 4; i < N_POOL; i++) {
        cr_assert_eq(log.removed[i], 0);
    }
    cr_assert_eq(log.n_after_removed, 0, "report after the last one");
}

static void
dump_len_cb(void *aux, const struct dpif_flow_dump_entry *e)
{
    *(size_t *) aux = e->actions_len;
}

/* Action lists longer than a megaflow's inline storage, and megaflow
 * entries recycled after a flush, run correctly (and leak nothing under
 * ASan). */
Test(dpif, long_actions_and_recycled_megaflows)
{
    enum { N_OUT = 20 };        /* 20 x 16 bytes: past the inline 256 */
    struct fake fk = { .n_outputs = N_OUT };
    struct dpif *dpif = setup(&fk, NULL, 2);
    uint8_t f[64];
    size_t len = build_udp(f, 2, 1), actions_len = 0;
    struct dp_packet *p[N_OUT + 1];

    for (int round = 0; round < 3; round++) {
        fk.n_outputs = round == 1 ? 1 : N_OUT;
        for (int k = 0; k < 2; k++) {   /* upcall, then EMC hit */
            int want = fk.n_outputs;

            cr_assert_eq(dpif_port_inject(dpif, 1, f, len), 0);
            cr_assert_eq(collect(dpif, 2, p, want), want);
            for (int i = 0; i < want; i++) {
                cr_assert_eq(memcmp(dp_packet_data(p[i]), f, len), 0);
            }
            free_pkts(p, want);
        }
        dpif_flow_dump(dpif, dump_len_cb, &actions_len);
        cr_assert_eq(actions_len, 16 * (size_t) fk.n_outputs);
        cr_assert_eq(dpif_flow_count(dpif), 1);
        dpif_flow_flush(dpif);
    }
    cr_assert_eq(n_upcalls(&fk), 3);
    dpif_destroy(dpif);
}

Test(dpif, malformed_upcall_actions_dropped)
{
    struct fake fk = { 0 };
    struct dpif *dpif = setup(&fk, NULL, 2);
    struct dpif_stats st;
    uint8_t f[64];
    size_t len = build_udp(f, 2, 1);
    struct dp_packet *p[1];

    fk.malformed = true;
    cr_assert_eq(dpif_port_inject(dpif, 1, f, len), 0);
    for (int t = 0; t < 2000; t++) {
        dpif_get_stats(dpif, &st);
        if (st.n_upcall_errors) {
            break;
        }
        usleep(1000);
    }
    cr_assert_eq(st.n_upcall_errors, 1);
    cr_assert_eq(dpif_flow_count(dpif), 0);
    cr_assert_eq(dpif_port_collect(dpif, 2, p, 1), 0);
    dpif_destroy(dpif);
}

Test(dpif, two_workers_both_directions)
{
    struct fake fk = { 0 };
    struct dpif_config cfg = { .n_workers = 2 };
    struct dpif *dpif = setup(&fk, &cfg, 3);
    uint8_t f[64];
    size_t len = build_udp(f, 2, 1);
    struct dp_packet *p[64];

    for (int i = 0; i < 50; i++) {
        cr_assert_eq(dpif_port_inject(dpif, 1, f, len), 0);
        cr_assert_eq(dpif_port_inject(dpif, 3, f, len), 0);
    }
    cr_assert_eq(collect(dpif, 2, p, 64), 64);
    free_pkts(p, 64);
    cr_assert_eq(collect(dpif, 2, p, 36), 36);
    free_pkts(p, 36);
    /* One megaflow per in_port (ports 1 and 3 on different workers). */
    cr_assert_eq(dpif_flow_count(dpif), 2);
    dpif_flow_flush(dpif);
    cr_assert_eq(dpif_flow_count(dpif), 0);
    dpif_destroy(dpif);
}

Test(dpif, execute_packet_out)
{
    struct fake fk = { 0 };
    struct dpif *dpif = setup(&fk, NULL, 2);
    uint8_t f[64];
    size_t len = build_udp(f, 2, 1);
    uint64_t stub[8];
    struct dpa_buf acts;
    struct dp_packet *pkt = dp_packet_clone_data(f, len), *p[2];
    struct flow flow;

    pkt->in_port = DPIF_PORT_LOCAL;
    flow_extract(pkt, &flow);
    DPA_BUF_STUB(&acts, stub);
    dpa_put_output(&acts, 1);
    dpa_put_output(&acts, 2);
    cr_assert_eq(dpif_execute(dpif, pkt, &flow, acts.data, acts.size), 0);
    cr_assert_eq(collect(dpif, 1, p, 1), 1);
    cr_assert_eq(collect(dpif, 2, p + 1, 1), 1);
    cr_assert_eq(memcmp(dp_packet_data(p[0]), f, len), 0);
    cr_assert_eq(memcmp(dp_packet_data(p[1]), f, len), 0);
    free_pkts(p, 2);
    ((struct dp_action *) acts.data)->len = 0;
    pkt = dp_packet_clone_data(f, len);
    cr_assert_eq(dpif_execute(dpif, pkt, &flow, acts.data, acts.size),
                 -EINVAL);
    dpif_destroy(dpif);
}

Test(dpif, port_add_del_errors)
{
    struct fake fk = { 0 };
    struct dpif *dpif = setup(&fk, NULL, 2);
    struct dpif_port_info info;
    struct dpif_port_stats ps;
    uint32_t ports[8], no;
    char *err = NULL;

    no = 0;
    cr_assert_eq(dpif_port_add(dpif, "p1", "dummy", NULL, &no, &err),
                 -TS_ERR_PORT_EXISTS);
    cr_assert_not_null(err);
    cr_assert(strstr(err, "p1"), "%s", err);
    free(err);
    no = 2;
    cr_assert_eq(dpif_port_add(dpif, "px", "dummy", NULL, &no, &err),
                 -TS_ERR_OFPORT_IN_USE);
    cr_assert(strstr(err, "p2"), "%s", err);
    free(err);
    no = 0;
    cr_assert_eq(dpif_port_add(dpif, "px", "no-such-type", NULL, &no, &err),
                 -TS_ERR_BAD_TYPE);
    cr_assert_not_null(err);
    free(err);
    no = DPIF_PORT_LOCAL;
    cr_assert_eq(dpif_port_add(dpif, "px", "afpacket", NULL, &no, &err),
                 -EINVAL);
    free(err);
    no = 0x10000;
    cr_assert_eq(dpif_port_add(dpif, "px", "dummy", NULL, &no, &err),
                 -EINVAL);
    free(err);
    cr_assert_eq(dpif_port_list(dpif, ports, 8), 2);

    no = DPIF_PORT_LOCAL;
    cr_assert_eq(dpif_port_add(dpif, "br0", "dummy", NULL, &no, &err), 0);
    cr_assert_eq(no, DPIF_PORT_LOCAL);
    no = 0;
    cr_assert_eq(dpif_port_add(dpif, "p9", "dummy", NULL, &no, &err), 0);
    cr_assert_eq(no, 3, "lowest free number");
    cr_assert_eq(dpif_port_list(dpif, ports, 8), 4);
    cr_assert_eq(ports[0], 1);
    cr_assert_eq(ports[2], 3);
    cr_assert_eq(ports[3], DPIF_PORT_LOCAL);
    cr_assert_eq(dpif_port_query(dpif, 3, &info), 0);
    cr_assert_str_eq(info.name, "p9");
    cr_assert_str_eq(info.type, "dummy");
    cr_assert_eq(info.mtu, 1500);

    send_one(dpif, 2, htonl(1), 2);
    cr_assert_eq(dpif_port_stats(dpif, 1, &ps), 0);
    cr_assert_eq(ps.rx_packets, 1);
    cr_assert_eq(dpif_port_stats(dpif, 2, &ps), 0);
    cr_assert_eq(ps.tx_packets, 1);

    cr_assert_eq(dpif_port_del(dpif, 3), 0);
    cr_assert_eq(dpif_port_del(dpif, 3), -TS_ERR_NO_PORT);
    cr_assert_eq(dpif_port_query(dpif, 3, &info), -TS_ERR_NO_PORT);
    cr_assert_eq(dpif_port_inject(dpif, 3, "x", 1), -TS_ERR_NO_PORT);
    /* Output to a deleted port is a counted drop, not a crash. */
    cr_assert_eq(dpif_port_del(dpif, 2), 0);
    cr_assert_eq(dpif_port_inject(dpif, 1, "0123456789abcdef", 16), 0);
    no = 0;
    cr_assert_eq(dpif_port_add(dpif, "p2", "dummy", NULL, &no, &err), 0);
    cr_assert_eq(no, 2);
    dpif_destroy(dpif);
}
