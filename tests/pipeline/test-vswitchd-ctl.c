/* Pipeline test: a control server on a temporary unix socket, run in a
 * thread with bridges of dummy ports, driven through the ctl-proto codec
 * as vsctl would; then a restart from the store. */
#include <criterion/criterion.h>

#include <errno.h>
#include <ev.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bridge.h"
#include "ctl-proto.h"
#include "ctl-server.h"
#include "db.h"
#include "dynamic-string.h"
#include "errors.h"
#include "ofp-flow.h"
#include "ofproto.h"
#include "smap.h"
#include "stream.h"
#include "util.h"

struct daemon {
    char dir[64];
    char dbpath[128];
    char target[160];
    struct db *db;
    struct bridge_set *bridges;
    struct ev_loop *loop;
    struct ctl_server *server;
    ev_async stop;
    pthread_t thread;
};

static void
stop_cb(struct ev_loop *loop, ev_async *w, int revents)
{
    ev_break(loop, EVBREAK_ALL);
}

static void *
loop_main(void *d_)
{
    struct daemon *d = d_;
    ev_run(d->loop, 0);
    return NULL;
}

static void
daemon_start(struct daemon *d)
{
    struct bridge_set_config bcfg = { .internal_port_type = "dummy" };
    struct ctl_server_config scfg = { 0 };
    char *err = NULL;

    cr_assert_eq(db_open(d->dbpath, &d->db, &err), 0, "%s", err);
    cr_assert_eq(bridge_set_create(d->db, &bcfg, &d->bridges, &err), 0,
                 "%s", err);
    d->loop = ev_loop_new(EVFLAG_AUTO);
    scfg.target = d->target;
    cr_assert_eq(ctl_server_create(d->loop, d->bridges, d->db, &scfg,
                                   &d->server, &err), 0, "%s", err);
    ev_async_init(&d->stop, stop_cb);
    ev_async_start(d->loop, &d->stop);
    cr_assert_eq(pthread_create(&d->thread, NULL, loop_main, d), 0);
}

static void
daemon_stop(struct daemon *d)
{
    ev_async_send(d->loop, &d->stop);
    pthread_join(d->thread, NULL);
    ctl_server_destroy(d->server);
    bridge_set_destroy(d->bridges);
    db_close(d->db);
    ev_loop_destroy(d->loop);
}

static struct daemon dmn;

static void
setup(void)
{
    strcpy(dmn.dir, "/tmp/test-vswitchd-XXXXXX");
    cr_assert_not_null(mkdtemp(dmn.dir));
    snprintf(dmn.dbpath, sizeof dmn.dbpath, "%s/conf.db", dmn.dir);
    snprintf(dmn.target, sizeof dmn.target, "unix:%s/ctl", dmn.dir);
}

static void
teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dmn.dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(vswitchd_ctl, .init = setup, .fini = teardown, .timeout = 120);

/* ---- A tiny client ------------------------------------------------------ */

static uint32_t next_xid = 100;

static struct stream *
client_connect(void)
{
    struct stream *s;
    char *err = NULL;
    cr_assert_eq(stream_open(dmn.target, 5000, &s, &err), 0, "%s", err);
    /* The server's HELLO comes first. */
    const uint8_t *frame;
    size_t len;
    cr_assert_eq(stream_recv_frame_block(s, time_msec() + 5000, &frame,
                                         &len), 0);
    struct ctl_msg m;
    cr_assert_eq(ctl_msg_decode(frame, len, &m, NULL), 0);
    cr_assert_eq(m.type, CTL_HELLO);
    ctl_msg_release(&m);
    ctl_msg_init_hello(&m, 1);
    struct ds ds = DS_EMPTY_INITIALIZER;
    cr_assert_eq(ctl_msg_encode(&m, &ds), 0);
    cr_assert_eq(stream_send_block(s, ds.string, ds.length, -1), 0);
    ds_destroy(&ds);
    ctl_msg_release(&m);
    return s;
}

static void
send_raw(struct stream *s, const void *data, size_t len)
{
    cr_assert_eq(stream_send_block(s, data, len, time_msec() + 5000), 0);
}

/* Sends 'req' (released) and returns the reply in 'reply'; multipart
 * replies are merged. */
static void
transact(struct stream *s, struct ctl_msg *req, struct ctl_msg *reply)
{
    struct ds ds = DS_EMPTY_INITIALIZER;
    uint32_t xid = req->xid;

    cr_assert_eq(ctl_msg_encode(req, &ds), 0);
    send_raw(s, ds.string, ds.length);
    ds_destroy(&ds);
    ctl_msg_release(req);

    memset(reply, 0, sizeof *reply);
    bool first = true;
    for (;;) {
        const uint8_t *frame;
        size_t len;
        struct ctl_msg part;
        char *err = NULL;
        cr_assert_eq(stream_recv_frame_block(s, time_msec() + 30000,
                                             &frame, &len), 0);
        cr_assert_eq(ctl_msg_decode(frame, len, &part, &err), 0, "%s",
                     err);
        cr_assert_eq(part.xid, xid);
        if (part.type != CTL_MULTIPART_REPLY) {
            cr_assert(first);
            *reply = part;
            return;
        }
        bool more = part.mp_reply.flags & CTL_MPF_MORE;
        if (first) {
            *reply = part;
        } else {
            cr_assert_eq(ctl_mp_reply_append(reply, &part), 0);
            ctl_msg_release(&part);
        }
        first = false;
        if (!more) {
            return;
        }
    }
}

static void
expect_ok(struct stream *s, struct ctl_msg *req)
{
    struct ctl_msg r;
    transact(s, req, &r);
    cr_assert_eq(r.type, CTL_OK, "got %s: %s", ctl_type_name(r.type),
                 r.type == CTL_ERROR ? r.error.text : "");
    ctl_msg_release(&r);
}

/* Returns the error text (caller frees). */
static char *
expect_error(struct stream *s, struct ctl_msg *req)
{
    struct ctl_msg r;
    transact(s, req, &r);
    cr_assert_eq(r.type, CTL_ERROR, "got %s", ctl_type_name(r.type));
    char *text = xstrdup(r.error.text);
    ctl_msg_release(&r);
    return text;
}

static void
req_br(struct ctl_msg *m, enum ctl_type type, const char *name)
{
    ctl_msg_init(m, type, next_xid++);
    m->br.name = xstrdup(name);
}

static void
req_port(struct ctl_msg *m, enum ctl_type type, const char *br,
         const char *name, const char *ptype, uint32_t ofport)
{
    ctl_msg_init(m, type, next_xid++);
    m->port.bridge = xstrdup(br);
    m->port.name = xstrdup(name);
    m->port.type = xstrdup(ptype);
    m->port.ofport = ofport;
}

static struct ofp_flow_mod *
parse_fm(const char *text)
{
    struct ofp_flow_mod *fm = xmalloc(sizeof *fm);
    char *err = ofp_parse_flow_mod(fm, text, OFPFC_ADD, NULL);
    cr_assert_null(err, "%s: %s", text, err);
    return fm;
}

static void
req_flow(struct ctl_msg *m, const char *br, const char *text)
{
    ctl_msg_init(m, CTL_FLOW_MOD, next_xid++);
    m->flow_mod.bridge = xstrdup(br);
    m->flow_mod.fm = parse_fm(text);
}

static size_t
count_flows(struct stream *s, const char *br)
{
    struct ctl_msg m, r;
    ctl_msg_init_mp_request(&m, next_xid++, CTL_MP_DUMP_FLOWS, br);
    m.mp_request.dump_flows.filter = xmalloc(sizeof(struct ofp_flow_mod));
    ofp_flow_mod_init(m.mp_request.dump_flows.filter, OFPFC_DELETE);
    m.mp_request.dump_flows.filter->table_id = CTL_TABLE_ALL;
    transact(s, &m, &r);
    cr_assert_eq(r.type, CTL_MULTIPART_REPLY);
    size_t n = r.mp_reply.n;
    ctl_msg_release(&r);
    return n;
}

/* ---- Tests -------------------------------------------------------------- */

Test(vswitchd_ctl, config_flows_bundles_and_restart)
{
    daemon_start(&dmn);
    struct stream *s = client_connect();
    struct ctl_msg m, r;

    /* Socket mode 0600. */
    struct stat st;
    char path[192];
    snprintf(path, sizeof path, "%s/ctl", dmn.dir);
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0600);

    ctl_msg_init(&m, CTL_ECHO_REQUEST, next_xid++);
    m.echo.data = xstrdup("ping");
    m.echo.size = 5;
    transact(s, &m, &r);
    cr_assert_eq(r.type, CTL_ECHO_REPLY);
    cr_assert_eq(r.echo.size, 5);
    cr_assert_str_eq(r.echo.data, "ping");
    ctl_msg_release(&r);

    req_br(&m, CTL_ADD_BR, "br0");
    expect_ok(s, &m);
    req_br(&m, CTL_ADD_BR, "br0");
    char *e = expect_error(s, &m);
    cr_assert(strstr(e, "br0"), "%s", e);
    free(e);
    req_br(&m, CTL_ADD_BR, "br0");
    m.br.flags = CTL_CF_MAY_EXIST;
    expect_ok(s, &m);

    req_port(&m, CTL_ADD_PORT, "br0", "p1", "dummy", 0);
    expect_ok(s, &m);
    req_port(&m, CTL_ADD_PORT, "br0", "p2", "dummy", 7);
    expect_ok(s, &m);
    req_port(&m, CTL_ADD_PORT, "br0", "p1", "dummy", 0);
    e = expect_error(s, &m);
    cr_assert(strstr(e, "p1"), "%s", e);
    free(e);
    req_port(&m, CTL_ADD_PORT, "br0", "br0", "dummy", 0);
    free(expect_error(s, &m));
    req_port(&m, CTL_ADD_PORT, "br0", "px", "no-such-type", 0);
    e = expect_error(s, &m);
    cr_assert(strlen(e) > 0);
    free(e);

    ctl_msg_init_mp_request(&m, next_xid++, CTL_MP_LIST_PORTS, "br0");
    transact(s, &m, &r);
    cr_assert_eq(r.type, CTL_MULTIPART_REPLY);
    cr_assert_eq(r.mp_reply.n, 2);
    cr_assert_str_eq(r.mp_reply.ports[0].name, "p1");
    cr_assert_eq(r.mp_reply.ports[0].ofport, 1);
    cr_assert_str_eq(r.mp_reply.ports[1].name, "p2");
    cr_assert_eq(r.mp_reply.ports[1].ofport, 7);
    ctl_msg_release(&r);

    /* Default flow plus one. */
    req_flow(&m, "br0", "in_port=1,actions=output:7");
    expect_ok(s, &m);
    cr_assert_eq(count_flows(s, "br0"), 2);

    /* A bundle of 2000 flows: all or nothing. */
    ctl_msg_init(&m, CTL_BUNDLE_OPEN, next_xid++);
    m.bundle.id = 1;
    m.bundle.bridge = xstrdup("br0");
    m.bundle.flags = CTL_BF_ATOMIC;
    expect_ok(s, &m);
    for (int i = 0; i < 2000; i++) {
        char text[96];
        snprintf(text, sizeof text,
                 "priority=10,ip,nw_dst=10.0.%d.%d,actions=output:1",
                 i / 256, i % 256);
        ctl_msg_init(&m, CTL_BUNDLE_ADD, next_xid++);
        m.bundle.id = 1;
        m.bundle.fm = parse_fm(text);
        expect_ok(s, &m);
    }
    ctl_msg_init(&m, CTL_BUNDLE_COMMIT, next_xid++);
    m.bundle.id = 1;
    expect_ok(s, &m);
    cr_assert_eq(count_flows(s, "br0"), 2002);

    /* A bundle with one bad mod (table out of range) changes nothing. */
    ctl_msg_init(&m, CTL_BUNDLE_OPEN, next_xid++);
    m.bundle.id = 2;
    m.bundle.bridge = xstrdup("br0");
    expect_ok(s, &m);
    ctl_msg_init(&m, CTL_BUNDLE_ADD, next_xid++);
    m.bundle.id = 2;
    m.bundle.fm = parse_fm("priority=5,actions=drop");
    expect_ok(s, &m);
    ctl_msg_init(&m, CTL_BUNDLE_ADD, next_xid++);
    m.bundle.id = 2;
    m.bundle.fm = parse_fm("priority=6,actions=drop");
    m.bundle.fm->table_id = 255;    /* "all tables": invalid for add */
    /* Refused as soon as it is added (as OVS checks a bundled mod when it
     * is added), and the bundle is marked failed. */
    transact(s, &m, &r);
    cr_assert_eq(r.type, CTL_ERROR);
    cr_assert(strstr(r.error.text, "table 255"), "%s", r.error.text);
    ctl_msg_release(&r);
    ctl_msg_init(&m, CTL_BUNDLE_COMMIT, next_xid++);
    m.bundle.id = 2;
    transact(s, &m, &r);
    cr_assert_eq(r.type, CTL_ERROR);
    cr_assert_eq(r.error.type, CTL_ET_BUNDLE_FAILED);
    ctl_msg_release(&r);
    cr_assert_eq(count_flows(s, "br0"), 2002);
    /* The bundle is gone after a failed commit. */
    ctl_msg_init(&m, CTL_BUNDLE_COMMIT, next_xid++);
    m.bundle.id = 2;
    free(expect_error(s, &m));
    size_t n_flows = count_flows(s, "br0");

    /* Garbage: an unknown type gets an ERROR and the connection lives. */
    uint8_t junk[16] = { CTL_VERSION, 200, 0, 16, 0, 0, 0, 9 };
    send_raw(s, junk, sizeof junk);
    const uint8_t *frame;
    size_t len;
    cr_assert_eq(stream_recv_frame_block(s, time_msec() + 5000, &frame,
                                         &len), 0);
    cr_assert_eq(ctl_msg_decode(frame, len, &r, NULL), 0);
    cr_assert_eq(r.type, CTL_ERROR);
    cr_assert_eq(r.xid, 9);
    cr_assert_eq(r.error.type, CTL_ET_BAD_REQUEST);
    ctl_msg_release(&r);
    ctl_msg_init(&m, CTL_BARRIER_REQUEST, next_xid++);
    transact(s, &m, &r);
    cr_assert_eq(r.type, CTL_BARRIER_REPLY);
    ctl_msg_release(&r);

    ctl_msg_init(&m, CTL_STATUS_REQUEST, next_xid++);
    transact(s, &m, &r);
    cr_assert_eq(r.type, CTL_STATUS_REPLY);
    cr_assert_str_eq(smap_get(&r.kv, "bridges"), "1");
    cr_assert_str_eq(smap_get(&r.kv, "ports"), "3");
    cr_assert_not_null(smap_get(&r.kv, "memory_rss_kb"));
    cr_assert_not_null(smap_get(&r.kv, "uptime"));
    ctl_msg_release(&r);

    ctl_msg_init(&m, CTL_LOG_LEVEL_REQUEST, next_xid++);
    m.log_level.spec = xstrdup("nosuchmodule:dbg");
    free(expect_error(s, &m));

    req_port(&m, CTL_DEL_PORT, "br0", "p2", "", 0);
    expect_ok(s, &m);

    stream_close(s);
    daemon_stop(&dmn);

    /* Restart from the store: same bridge, ports, numbers and flows. */
    daemon_start(&dmn);
    s = client_connect();
    ctl_msg_init_mp_request(&m, next_xid++, CTL_MP_LIST_PORTS, "br0");
    transact(s, &m, &r);
    cr_assert_eq(r.mp_reply.n, 1);
    cr_assert_str_eq(r.mp_reply.ports[0].name, "p1");
    cr_assert_eq(r.mp_reply.ports[0].ofport, 1);
    ctl_msg_release(&r);
    cr_assert_eq(count_flows(s, "br0"), n_flows);

    /* Compaction (snapshot from ofproto) keeps the same flows. */
    char *err = NULL;
    cr_assert_eq(db_compact(dmn.db, &err), 0, "%s", err);
    stream_close(s);
    daemon_stop(&dmn);
    daemon_start(&dmn);
    s = client_connect();
    cr_assert_eq(count_flows(s, "br0"), n_flows);
    req_br(&m, CTL_DEL_BR, "br0");
    expect_ok(s, &m);
    stream_close(s);
    daemon_stop(&dmn);

    daemon_start(&dmn);
    s = client_connect();
    ctl_msg_init_mp_request(&m, next_xid++, CTL_MP_LIST_BR, NULL);
    transact(s, &m, &r);
    cr_assert_eq(r.mp_reply.n, 0);
    ctl_msg_release(&r);
    stream_close(s);
    daemon_stop(&dmn);
}

Test(vswitchd_ctl, second_server_refused)
{
    daemon_start(&dmn);
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    struct ctl_server_config scfg = { .target = dmn.target };
    struct ctl_server *s2 = NULL;
    char *err = NULL;
    cr_assert_neq(ctl_server_create(loop, dmn.bridges, dmn.db, &scfg, &s2,
                                    &err), 0);
    cr_assert_null(s2);
    free(err);
    ev_loop_destroy(loop);
    daemon_stop(&dmn);
}

/* Sends 'n' pipelined FLOW_MODs on 's' without reading the replies. */
static void
send_flow_mods(struct stream *s, int client, int n, uint32_t first_xid)
{
    struct ds ds = DS_EMPTY_INITIALIZER;

    for (int i = 0; i < n; i++) {
        struct ctl_msg m;
        char text[96];
        snprintf(text, sizeof text, "table=%d,priority=%d,ip,"
                 "nw_dst=10.%d.%d.%d,actions=drop", client, 100,
                 client, i / 256, i % 256);
        req_flow(&m, "br0", text);
        m.xid = first_xid + i;
        cr_assert_eq(ctl_msg_encode(&m, &ds), 0);
        ctl_msg_release(&m);
    }
    send_raw(s, ds.string, ds.length);
    ds_destroy(&ds);
}

static void
recv_replies(struct stream *s, int n, uint32_t first_xid, int want_type)
{
    for (int i = 0; i < n; i++) {
        const uint8_t *frame;
        size_t len;
        struct ctl_msg r;
        cr_assert_eq(stream_recv_frame_block(s, time_msec() + 30000, &frame,
                                             &len), 0);
        cr_assert_eq(ctl_msg_decode(frame, len, &r, NULL), 0);
        cr_assert_eq(r.xid, first_xid + i);
        cr_assert_eq(r.type, want_type, "reply %d: %s %s", i,
                     ctl_type_name(r.type),
                     r.type == CTL_ERROR ? r.error.text : "");
        ctl_msg_release(&r);
    }
}

Test(vswitchd_ctl, group_commit_and_stop_on_error)
{
    enum { N_CLIENTS = 3, N_MODS = 500 };
    struct stream *s[N_CLIENTS];
    struct ctl_msg m, r;

    daemon_start(&dmn);
    for (int c = 0; c < N_CLIENTS; c++) {
        s[c] = client_connect();
    }
    req_br(&m, CTL_ADD_BR, "br0");
    expect_ok(s[0], &m);

    /* Many pipelined changes from several clients at once: every one is
     * acknowledged, and they cost far fewer fsyncs than changes. */
    for (int c = 0; c < N_CLIENTS; c++) {
        send_flow_mods(s[c], c, N_MODS, 10000);
    }
    for (int c = 0; c < N_CLIENTS; c++) {
        recv_replies(s[c], N_MODS, 10000, CTL_OK);
    }
    ctl_msg_init(&m, CTL_STATUS_REQUEST, next_xid++);
    transact(s[0], &m, &r);
    cr_assert_eq(r.type, CTL_STATUS_REPLY);
    long commits = atol(smap_get(&r.kv, "db_commits"));
    long syncs = atol(smap_get(&r.kv, "db_syncs"));
    cr_assert_geq(commits, N_CLIENTS * N_MODS);
    cr_assert_lt(syncs * 10, commits, "%ld fsyncs for %ld commits", syncs,
                 commits);
    ctl_msg_release(&r);

    /* STOP_ON_ERROR: after a failure, changes are skipped until a
     * barrier. */
    ctl_msg_init(&m, CTL_SET_CONN_FLAGS, next_xid++);
    m.conn_flags = CTL_CONN_STOP_ON_ERROR;
    expect_ok(s[1], &m);
    req_flow(&m, "br0", "table=9,priority=1,actions=drop");
    expect_ok(s[1], &m);
    req_flow(&m, "br0", "table=9,priority=2,actions=drop");
    m.flow_mod.fm->table_id = 255;      /* refused: bad table for add */
    free(expect_error(s[1], &m));
    req_flow(&m, "br0", "table=9,priority=3,actions=drop");
    char *e = expect_error(s[1], &m);
    cr_assert(strstr(e, "skipped"), "%s", e);
    free(e);
    ctl_msg_init(&m, CTL_BARRIER_REQUEST, next_xid++);
    transact(s[1], &m, &r);
    cr_assert_eq(r.type, CTL_BARRIER_REPLY);
    ctl_msg_release(&r);
    req_flow(&m, "br0", "table=9,priority=4,actions=drop");
    expect_ok(s[1], &m);
    /* Other connections never stopped. */
    req_flow(&m, "br0", "table=9,priority=5,actions=drop");
    expect_ok(s[2], &m);

    for (int c = 0; c < N_CLIENTS; c++) {
        stream_close(s[c]);
    }
    daemon_stop(&dmn);

    /* Everything acknowledged is in the store. */
    daemon_start(&dmn);
    struct stream *s2 = client_connect();
    cr_assert_eq(count_flows(s2, "br0"), 1 + N_CLIENTS * N_MODS + 3);
    stream_close(s2);
    daemon_stop(&dmn);
}
