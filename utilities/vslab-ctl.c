/* vslab-ctl: vslab's side of the control protocol (as vsctl speaks it):
 * the connection, a private vswitchd when no daemon answers, bridges,
 * ports, groups and flows of a lab, and the run-time queries of tests. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl-proto.h"
#include "errors.h"
#include "hash.h"
#include "ofp-flow.h"
#include "ofp-group.h"
#include "ofp-port-map.h"
#include "stream.h"
#include "ts-config.h"
#include "vslab.h"

#define VSLAB_CTL_TIMEOUT_MS 30000

static int
send_msg(struct vslab_ctx *ctx, struct ctl_msg *msg)
{
    struct ds buf = DS_EMPTY_INITIALIZER;
    int err = ctl_msg_encode(msg, &buf);

    if (err) {
        fprintf(stderr, "vslab: cannot encode %s request: %s\n",
                ctl_type_name(msg->type), ts_strerror(err));
        ds_destroy(&buf);
        return err;
    }
    err = stream_send_block(ctx->stream, buf.string, buf.length,
                            time_msec() + VSLAB_CTL_TIMEOUT_MS);
    ds_destroy(&buf);
    if (err) {
        fprintf(stderr, "vslab: sending to '%s' failed: %s\n", ctx->target,
                ts_strerror(err));
    }
    return err;
}

/* vswitchd probes a client that has been silent for 5 s (its default) and
 * drops it 5 s later; a lab can be silent longer (vms booting, tests that
 * run in a guest), so transactions after a pause reconnect first. */
#define VSLAB_CTL_IDLE_MS 4000
static long long vslab_ctl_last_io;

static int
refresh(struct vslab_ctx *ctx)
{
    if (ctx->stream && time_msec() - vslab_ctl_last_io > VSLAB_CTL_IDLE_MS) {
        vslab_ctl_close(ctx);
        vslab_ctl_connect(ctx, false);
    }
    vslab_ctl_last_io = time_msec();
    return ctx->stream ? 0 : -ENOTCONN;
}

static int
recv_msg(struct vslab_ctx *ctx, struct ctl_msg *msg)
{
    const uint8_t *frame;
    size_t len;
    char *err_msg;

again:;
    int err = stream_recv_frame_block(ctx->stream,
                                      time_msec() + VSLAB_CTL_TIMEOUT_MS,
                                      &frame, &len);
    if (err) {
        fprintf(stderr, "vslab: receiving from '%s' failed: %s\n",
                ctx->target, ts_strerror(err));
        return err;
    }
    err = ctl_msg_decode(frame, len, msg, &err_msg);
    if (err) {
        fprintf(stderr, "vslab: bad reply from '%s': %s\n", ctx->target,
                err_msg);
        free(err_msg);
    } else if (msg->type == CTL_ECHO_REQUEST) {
        /* The daemon's inactivity probe: answer it, keep waiting. */
        msg->type = CTL_ECHO_REPLY;
        err = send_msg(ctx, msg);
        ctl_msg_release(msg);
        if (!err) {
            goto again;
        }
    }
    vslab_ctl_last_io = time_msec();
    return err;
}

/* Sends 'req' and receives one reply of type 'expected' ('reply' NULL:
 * discard).  An ERROR reply is printed with 'what' and returns -EIO. */
static int
transact(struct vslab_ctx *ctx, struct ctl_msg *req, int expected,
         struct ctl_msg *reply, const char *what)
{
    struct ctl_msg tmp;
    struct ctl_msg *r = reply ? reply : &tmp;

    if (refresh(ctx)) {
        return -ENOTCONN;
    }
    req->xid = ctx->next_xid++;
    int err = send_msg(ctx, req);
    if (!err) {
        err = recv_msg(ctx, r);
    }
    if (err) {
        return err;
    }
    if (r->type == CTL_ERROR) {
        fprintf(stderr, "vslab: %s: %s\n", what, r->error.text);
        err = -EIO;
    } else if (r->type != expected || r->xid != req->xid) {
        fprintf(stderr, "vslab: %s: unexpected %s reply\n", what,
                ctl_type_name(r->type));
        err = -EPROTO;
    }
    if (!reply || err) {
        ctl_msg_release(r);
    }
    return err;
}

static int
transact_mp(struct vslab_ctx *ctx, struct ctl_msg *req, struct ctl_msg *total,
            const char *what)
{
    if (refresh(ctx)) {
        return -ENOTCONN;
    }
    req->xid = ctx->next_xid++;
    int err = send_msg(ctx, req);
    if (err) {
        return err;
    }
    ctl_msg_init_mp_reply(total, req->xid, req->mp_request.mp_type);
    for (;;) {
        struct ctl_msg part;
        err = recv_msg(ctx, &part);
        if (err) {
            break;
        }
        if (part.type == CTL_ERROR) {
            fprintf(stderr, "vslab: %s: %s\n", what, part.error.text);
            ctl_msg_release(&part);
            err = -EIO;
            break;
        }
        if (part.type != CTL_MULTIPART_REPLY
            || ctl_mp_reply_append(total, &part)) {
            ctl_msg_release(&part);
            err = -EPROTO;
            break;
        }
        uint16_t flags = part.mp_reply.flags;
        ctl_msg_release(&part);
        if (!(flags & CTL_MPF_MORE)) {
            return 0;
        }
    }
    ctl_msg_release(total);
    return err;
}

static int
open_target(struct vslab_ctx *ctx, const char *target, bool quiet)
{
    struct ctl_msg hello, reply;
    char *err_msg = NULL;

    int err = stream_open(target, 2000, &ctx->stream, &err_msg);
    if (err) {
        if (!quiet) {
            fprintf(stderr, "vslab: %s\n", err_msg);
        }
        free(err_msg);
        return err;
    }
    free(ctx->target);
    ctx->target = xstrdup(target);
    ctl_msg_init_hello(&hello, ctx->next_xid++);
    err = send_msg(ctx, &hello);
    ctl_msg_release(&hello);
    if (!err) {
        err = recv_msg(ctx, &reply);
    }
    if (!err) {
        if (reply.type != CTL_HELLO || ctl_hello_negotiate(&reply) < 0) {
            fprintf(stderr, "vslab: '%s' does not speak protocol version "
                    "%d\n", target, CTL_VERSION);
            err = -TS_ERR_VERSION;
        }
        ctl_msg_release(&reply);
    }
    if (err) {
        stream_close(ctx->stream);
        ctx->stream = NULL;
    }
    return err;
}

static char *
private_path(const char *rundir, const char *file)
{
    return xasprintf("%s/%s", rundir, file);
}

static int
read_pid(const char *rundir)
{
    char *path = private_path(rundir, "vswitchd.pid");
    FILE *f = fopen(path, "r");
    int pid = 0;

    free(path);
    if (f) {
        if (fscanf(f, "%d", &pid) != 1) {
            pid = 0;
        }
        fclose(f);
    }
    return pid > 1 ? pid : 0;
}

bool
vslab_ctl_private_running(const char *rundir)
{
    int pid = read_pid(rundir);

    return pid && !kill(pid, 0);
}

/* The vswitchd binary: next to ours (build tree), else from PATH. */
static char *
vswitchd_path(void)
{
    static const char *const rel[] = { "../vswitchd/vswitchd", "vswitchd" };
    char *p = vslab_find_beside_self(rel, ARRAY_SIZE(rel));

    return p ? p : xstrdup("vswitchd");
}

static int
start_private(struct vslab_ctx *ctx)
{
    char *bin = vswitchd_path();
    char *db = xasprintf("--db=%s/conf.db", ctx->rundir);
    char *ctl = xasprintf("--ctl=unix:%s/vswitchd.ctl", ctx->rundir);
    char *pid = xasprintf("--pidfile=%s/vswitchd.pid", ctx->rundir);
    char *log = xasprintf("--log-file=%s/vswitchd.log", ctx->rundir);
    const char *argv[] = { bin, db, ctl, pid, log, "--detach", NULL };
    struct ds out = DS_EMPTY_INITIALIZER;

    mkdir(VSLAB_RUN_DIR, 0755);
    mkdir(ctx->rundir, 0755);
    vslab_log(ctx, "starting a private vswitchd (%s)", ctx->rundir);
    int rc = vslab_run(argv, 20000, &out);
    if (rc) {
        fprintf(stderr, "vslab: cannot start '%s' (status %d): %s", bin, rc,
                out.length ? ds_cstr(&out) : "no output\n");
    }
    ds_destroy(&out);
    free(bin);
    free(db);
    free(ctl);
    free(pid);
    free(log);
    return rc ? -EIO : 0;
}

int
vslab_ctl_connect(struct vslab_ctx *ctx, bool may_start)
{
    char *priv = xasprintf("unix:%s/vswitchd.ctl", ctx->rundir);
    int err;

    if (ctx->stream) {
        free(priv);
        return 0;
    }
    /* A private daemon of this lab wins: the lab lives there. */
    if (vslab_ctl_private_running(ctx->rundir)
        && !open_target(ctx, priv, true)) {
        ctx->is_private = true;
        free(priv);
        return 0;
    }
    if (!ctx->private_only) {
        const char *server = ctx->server ? ctx->server
                             : "unix:" TS_DEFAULT_CTL;
        err = open_target(ctx, server, !ctx->server);
        if (!err || ctx->server) {
            free(priv);
            return err;
        }
    }
    if (!may_start) {
        free(priv);
        return -ENOENT;
    }
    err = start_private(ctx);
    if (!err) {
        err = open_target(ctx, priv, false);
        ctx->is_private = !err;
    }
    free(priv);
    return err;
}

void
vslab_ctl_close(struct vslab_ctx *ctx)
{
    stream_close(ctx->stream);
    ctx->stream = NULL;
}

int
vslab_ctl_stop_private(const char *rundir, bool verbose)
{
    int pid = read_pid(rundir);

    if (!pid || kill(pid, SIGTERM)) {
        return 0;
    }
    for (int i = 0; i < 100 && !kill(pid, 0); i++) {
        usleep(50000);
    }
    if (!kill(pid, 0)) {
        kill(pid, SIGKILL);
    }
    if (verbose) {
        printf("  stopped private vswitchd (pid %d)\n", pid);
    }
    return 1;
}

int
vslab_ctl_create_switches(struct vslab_ctx *ctx)
{
    struct vslab_lab *lab = ctx->lab;

    for (size_t i = 0; i < lab->n_nodes; i++) {
        struct vslab_node *n = &lab->nodes[i];
        if (n->type != VSLAB_SWITCH) {
            continue;
        }
        struct ctl_msg req;
        ctl_msg_init(&req, CTL_ADD_BR, 0);
        req.br.name = xstrdup(n->brname);
        req.br.flags = CTL_CF_MAY_EXIST;
        char *what = xasprintf("cannot add switch '%s'", n->name);
        int err = transact(ctx, &req, CTL_OK, NULL, what);
        free(what);
        ctl_msg_release(&req);
        if (err) {
            return err;
        }
    }
    return 0;
}

/* The ports vswitchd has on bridge 'br' (names), for idempotent adds. */
static bool
port_exists(const struct ctl_msg *ports, const char *name)
{
    for (size_t i = 0; i < ports->mp_reply.n; i++) {
        if (!strcmp(ports->mp_reply.ports[i].name, name)) {
            return true;
        }
    }
    return false;
}

/* The switch's impairment options for a link (docs/ports.md): every key,
 * with "" (remove) for the unset ones when 'removals'. */
static void
put_impair(struct smap *opts, const struct vslab_netem *ne, bool removals)
{
    const char *keys[] = { "delay", "jitter", "loss", "rate" };
    const char *vals[] = { ne->delay, ne->jitter, ne->loss, ne->rate };

    for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
        if (vals[i] || removals) {
            smap_replace(opts, keys[i], vals[i] ? vals[i] : "");
        }
    }
}

/* Changes the impairments of port 'e' of link 'l' on the live switch. */
static int
set_impair_end(struct vslab_ctx *ctx, const struct vslab_link *l,
               const struct vslab_end *e)
{
    const struct vslab_node *sw = &ctx->lab->nodes[e->node];
    struct ctl_msg req;

    ctl_msg_init(&req, CTL_MOD_PORT, 0);
    req.port.bridge = xstrdup(sw->brname);
    req.port.name = xstrdup(e->dev);
    req.port.type = xstrdup("");
    put_impair(&req.port.options, &l->netem, true);
    char *what = xasprintf("cannot change the impairments of port '%s' of "
                           "switch '%s'", e->port, sw->name);
    int err = transact(ctx, &req, CTL_OK, NULL, what);
    free(what);
    ctl_msg_release(&req);
    return err;
}

int
vslab_ctl_set_impair(struct vslab_ctx *ctx, int i)
{
    const struct vslab_link *l = &ctx->lab->links[i];

    for (int k = 0; k < 2; k++) {
        if (ctx->lab->nodes[l->e[k].node].type == VSLAB_SWITCH) {
            int err = set_impair_end(ctx, l, &l->e[k]);
            if (err) {
                return err;
            }
        }
    }
    return 0;
}

int
vslab_ctl_add_ports(struct vslab_ctx *ctx)
{
    struct vslab_lab *lab = ctx->lab;

    for (size_t s = 0; s < lab->n_nodes; s++) {
        struct vslab_node *sw = &lab->nodes[s];
        struct ctl_msg req, ports;
        if (sw->type != VSLAB_SWITCH) {
            continue;
        }
        ctl_msg_init_mp_request(&req, 0, CTL_MP_LIST_PORTS, sw->brname);
        int err = transact_mp(ctx, &req, &ports, "cannot list ports");
        ctl_msg_release(&req);
        if (err) {
            return err;
        }
        for (size_t i = 0; !err && i < lab->n_links; i++) {
            struct vslab_link *l = &lab->links[i];
            for (int k = 0; !err && k < 2; k++) {
                struct vslab_end *e = &l->e[k];
                if (e->node != (int) s) {
                    continue;
                }
                if (port_exists(&ports, e->dev)) {
                    /* A second up converges the impairments. */
                    err = set_impair_end(ctx, l, e);
                    continue;
                }
                ctl_msg_init(&req, CTL_ADD_PORT, 0);
                req.port.bridge = xstrdup(sw->brname);
                req.port.name = xstrdup(e->dev);
                req.port.type = xstrdup(l->type);
                req.port.ofport = e->ofport;
                req.port.flags = CTL_CF_MAY_EXIST;
                if (!strcmp(l->type, "afpacket")) {
                    /* Latency matters more than batching in a lab. */
                    smap_replace(&req.port.options, "rx-mode", "mmsg");
                }
                put_impair(&req.port.options, &l->netem, false);
                char *what = xasprintf("cannot add port '%s' to switch "
                                       "'%s'", e->port, sw->name);
                err = transact(ctx, &req, CTL_OK, NULL, what);
                free(what);
                ctl_msg_release(&req);
            }
        }
        ctl_msg_release(&ports);
        if (err) {
            return err;
        }
    }
    return 0;
}

/* Parses every flow of switch 'node' into '*fmsp'; the model was
 * validated, so errors here are unexpected. */
static size_t
parse_flows(const struct vslab_lab *lab, int node,
            const struct ofp_port_map *map, struct ofp_flow_mod ***fmsp)
{
    const struct vslab_node *n = &lab->nodes[node];
    struct ofp_flow_mod **fms = NULL;
    size_t count = 0;

    for (size_t j = 0; j < n->n_flows; j++) {
        char *copy = xstrdup(n->flows[j].text);
        for (char *save = NULL, *s = strtok_r(copy, "\n", &save);
             s; s = strtok_r(NULL, "\n", &save)) {
            s += strspn(s, " \t\r");
            if (!*s || *s == '#') {
                continue;
            }
            struct ofp_flow_mod *fm = xmalloc(sizeof *fm);
            char *e = ofp_parse_flow_mod(fm, s, OFPFC_ADD, map);
            if (e) {
                free(e);
                free(fm);
                continue;
            }
            fms = xrealloc(fms, (count + 1) * sizeof *fms);
            fms[count++] = fm;
        }
        free(copy);
    }
    *fmsp = fms;
    return count;
}

static uint32_t
flows_hash(const struct vslab_node *n)
{
    uint32_t h = 0;

    for (size_t j = 0; j < n->n_flows; j++) {
        h = hash_string(n->flows[j].text, h);
    }
    for (size_t j = 0; j < n->n_groups; j++) {
        h = hash_string(n->groups[j].text, h);
    }
    return h;
}

/* The cookie of every flow vslab installs carries the hash of the
 * switch's flows and groups, so a second `up` recognizes its own flows
 * and leaves them (and their counters) alone. */
static bool
flows_current(struct vslab_ctx *ctx, const struct vslab_node *n,
              size_t n_expected, uint64_t cookie)
{
    struct ctl_msg req, reply;

    ctl_msg_init_mp_request(&req, 0, CTL_MP_DUMP_FLOWS, n->brname);
    req.mp_request.dump_flows.filter = ctl_flow_mod_create(OFPFC_DELETE);
    req.mp_request.dump_flows.flags = CTL_DF_NO_STATS;
    int err = transact_mp(ctx, &req, &reply, "cannot dump flows");
    ctl_msg_release(&req);
    if (err) {
        return false;
    }
    bool same = reply.mp_reply.n == n_expected;
    for (size_t i = 0; same && i < reply.mp_reply.n; i++) {
        same = reply.mp_reply.flows[i]->cookie == cookie;
    }
    ctl_msg_release(&reply);
    return same;
}

static int
install_groups(struct vslab_ctx *ctx, const struct vslab_node *n,
               const struct ofp_port_map *map)
{
    struct ctl_msg req;
    int err;

    ctl_msg_init(&req, CTL_GROUP_MOD, 0);
    req.group_mod.bridge = xstrdup(n->brname);
    req.group_mod.gm = xmalloc(sizeof *req.group_mod.gm);
    ofp_group_mod_init(req.group_mod.gm, OFPGC_DELETE);
    req.group_mod.gm->group_id = OFPG_ALL;
    err = transact(ctx, &req, CTL_OK, NULL, "cannot delete groups");
    ctl_msg_release(&req);
    for (size_t j = 0; !err && j < n->n_groups; j++) {
        ctl_msg_init(&req, CTL_GROUP_MOD, 0);
        req.group_mod.bridge = xstrdup(n->brname);
        req.group_mod.gm = xmalloc(sizeof *req.group_mod.gm);
        char *e = ofp_parse_group_mod(req.group_mod.gm, n->groups[j].text,
                                      OFPGC_ADD, map);
        if (e) {
            fprintf(stderr, "vslab: %s\n", e);
            free(e);
            free(req.group_mod.gm);
            req.group_mod.gm = NULL;
            ctl_msg_release(&req);
            return -EINVAL;
        }
        char *what = xasprintf("%s:%d: switch '%s': cannot add group",
                               n->groups[j].file, n->groups[j].line,
                               n->name);
        err = transact(ctx, &req, CTL_OK, NULL, what);
        free(what);
        ctl_msg_release(&req);
    }
    return err;
}

static int
install_switch(struct vslab_ctx *ctx, int node)
{
    const struct vslab_node *n = &ctx->lab->nodes[node];
    struct ofp_port_map map;
    struct ofp_flow_mod **fms;
    uint64_t cookie = 0x7600000000000000ull | flows_hash(n);
    int err = 0;

    if (!n->n_flows && !n->n_groups) {
        return 0;               /* the bridge's default NORMAL flow */
    }
    vslab_switch_port_map(ctx->lab, node, &map);
    size_t count = parse_flows(ctx->lab, node, &map, &fms);
    if (flows_current(ctx, n, count, cookie)) {
        goto out;
    }
    err = install_groups(ctx, n, &map);

    /* One atomic bundle: delete every flow, add the lab's. */
    struct ctl_msg msg;
    const uint32_t id = 1;
    ctl_msg_init(&msg, CTL_BUNDLE_OPEN, 0);
    msg.bundle.id = id;
    msg.bundle.flags = CTL_BF_ATOMIC | CTL_BF_ORDERED;
    msg.bundle.bridge = xstrdup(n->brname);
    if (!err) {
        err = transact(ctx, &msg, CTL_OK, NULL, "cannot open a bundle");
    }
    ctl_msg_release(&msg);
    if (!err) {
        ctl_msg_init(&msg, CTL_BUNDLE_ADD, 0);
        msg.bundle.id = id;
        msg.bundle.fm = ctl_flow_mod_create(OFPFC_DELETE);
        err = transact(ctx, &msg, CTL_OK, NULL, "cannot delete flows");
        ctl_msg_release(&msg);
    }
    for (size_t i = 0; !err && i < count; i++) {
        ctl_msg_init(&msg, CTL_BUNDLE_ADD, 0);
        msg.bundle.id = id;
        fms[i]->new_cookie = cookie;
        msg.bundle.fm = fms[i];
        fms[i] = NULL;
        char *what = xasprintf("switch '%s': flow %zu", n->name, i + 1);
        err = transact(ctx, &msg, CTL_OK, NULL, what);
        free(what);
        ctl_msg_release(&msg);
    }
    if (!err) {
        ctl_msg_init(&msg, CTL_BUNDLE_COMMIT, 0);
        msg.bundle.id = id;
        char *what = xasprintf("switch '%s': flows refused", n->name);
        err = transact(ctx, &msg, CTL_OK, NULL, what);
        free(what);
        ctl_msg_release(&msg);
    }
out:
    for (size_t i = 0; i < count; i++) {
        if (fms[i]) {
            ofp_flow_mod_release(fms[i]);
            free(fms[i]);
        }
    }
    free(fms);
    ofp_port_map_release(&map);
    return err;
}

int
vslab_ctl_install_flows(struct vslab_ctx *ctx)
{
    for (size_t i = 0; i < ctx->lab->n_nodes; i++) {
        if (ctx->lab->nodes[i].type == VSLAB_SWITCH) {
            int err = install_switch(ctx, i);
            if (err) {
                return err;
            }
        }
    }
    return 0;
}

int
vslab_ctl_add_flows(struct vslab_ctx *ctx, int node, const char *text,
                    struct ds *errs)
{
    const struct vslab_node *n = &ctx->lab->nodes[node];
    struct ofp_port_map map;
    int err = 0;

    vslab_switch_port_map(ctx->lab, node, &map);
    char *copy = xstrdup(text);
    for (char *save = NULL, *s = strtok_r(copy, "\n", &save);
         !err && s; s = strtok_r(NULL, "\n", &save)) {
        s += strspn(s, " \t\r");
        if (!*s || *s == '#') {
            continue;
        }
        struct ctl_msg msg;
        ctl_msg_init(&msg, CTL_FLOW_MOD, 0);
        msg.flow_mod.bridge = xstrdup(n->brname);
        msg.flow_mod.fm = xmalloc(sizeof *msg.flow_mod.fm);
        char *e = ofp_parse_flow_mod(msg.flow_mod.fm, s, OFPFC_ADD, &map);
        if (e) {
            ds_put_format(errs, "bad flow: %s", e);
            free(e);
            free(msg.flow_mod.fm);
            msg.flow_mod.fm = NULL;
            err = -EINVAL;
        } else {
            err = transact(ctx, &msg, CTL_OK, NULL, "cannot add flow");
            if (err) {
                ds_put_cstr(errs, "the switch refused the flow");
            }
        }
        ctl_msg_release(&msg);
    }
    free(copy);
    ofp_port_map_release(&map);
    return err;
}

int
vslab_ctl_delete_bridges(struct vslab_ctx *ctx, const char *tag)
{
    struct ctl_msg req, reply;
    size_t len = strlen(tag);
    int n = 0;

    ctl_msg_init_mp_request(&req, 0, CTL_MP_LIST_BR, NULL);
    int err = transact_mp(ctx, &req, &reply, "cannot list bridges");
    ctl_msg_release(&req);
    if (err) {
        return err;
    }
    for (size_t i = 0; i < reply.mp_reply.n; i++) {
        const char *br = reply.mp_reply.bridges[i];
        if (strncmp(br, tag, len) || br[len] != '-') {
            continue;
        }
        ctl_msg_init(&req, CTL_DEL_BR, 0);
        req.br.name = xstrdup(br);
        req.br.flags = CTL_CF_IF_EXISTS;
        if (!transact(ctx, &req, CTL_OK, NULL, "cannot delete bridge")) {
            printf("  removed switch %s\n", br);
            n++;
        }
        ctl_msg_release(&req);
    }
    ctl_msg_release(&reply);
    return n;
}

int
vslab_ctl_dump_flows(struct vslab_ctx *ctx, int node, struct ds *out)
{
    const struct vslab_node *n = &ctx->lab->nodes[node];
    struct ofp_port_map map;
    struct ctl_msg req, reply;

    ctl_msg_init_mp_request(&req, 0, CTL_MP_DUMP_FLOWS, n->brname);
    req.mp_request.dump_flows.filter = ctl_flow_mod_create(OFPFC_DELETE);
    int err = transact_mp(ctx, &req, &reply, "cannot dump flows");
    ctl_msg_release(&req);
    if (err) {
        return err;
    }
    vslab_switch_port_map(ctx->lab, node, &map);
    for (size_t i = 0; i < reply.mp_reply.n; i++) {
        ofp_format_flow_stats(out, reply.mp_reply.flows[i], true, &map);
        ds_put_char(out, '\n');
    }
    ofp_port_map_release(&map);
    ctl_msg_release(&reply);
    return 0;
}

int
vslab_ctl_dump_conntrack(struct vslab_ctx *ctx, uint32_t zone,
                         struct ds *out)
{
    struct ctl_msg req, reply;

    ctl_msg_init_mp_request(&req, 0, CTL_MP_CT_DUMP, NULL);
    req.mp_request.ct_dump.zone = zone;
    int err = transact_mp(ctx, &req, &reply, "cannot dump conntrack");
    ctl_msg_release(&req);
    if (err) {
        return err;
    }
    for (size_t i = 0; i < reply.mp_reply.n; i++) {
        ds_put_format(out, "%s\n", reply.mp_reply.ct_conns[i].line);
    }
    ctl_msg_release(&reply);
    return 0;
}

int
vslab_ctl_flush_conntrack(struct vslab_ctx *ctx)
{
    struct ctl_msg req;

    ctl_msg_init(&req, CTL_CT_FLUSH, 0);
    req.ct_flush.zone = CTL_CT_NO_ZONE;
    int err = transact(ctx, &req, CTL_OK, NULL, "cannot flush conntrack");
    ctl_msg_release(&req);
    return err;
}

int
vslab_ctl_ports(struct vslab_ctx *ctx, int node,
                struct vslab_port_info **portsp, size_t *np)
{
    const struct vslab_node *n = &ctx->lab->nodes[node];
    struct ofp_port_map map;
    struct ctl_msg req, reply;

    ctl_msg_init_mp_request(&req, 0, CTL_MP_DUMP_PORTS, n->brname);
    req.mp_request.port = CTL_PORT_ALL;
    int err = transact_mp(ctx, &req, &reply, "cannot dump ports");
    ctl_msg_release(&req);
    if (err) {
        return err;
    }
    vslab_switch_port_map(ctx->lab, node, &map);
    struct vslab_port_info *ports = xcalloc(reply.mp_reply.n + 1,
                                            sizeof *ports);
    for (size_t i = 0; i < reply.mp_reply.n; i++) {
        const struct ctl_port_stats *ps = &reply.mp_reply.port_stats[i];
        const char *name = ofp_port_map_get_name(&map, ps->ofport);
        struct ds s = DS_EMPTY_INITIALIZER;
        if (name) {
            ds_put_cstr(&s, name);
        } else {
            ofp_port_format(ps->ofport, NULL, &s);
        }
        ports[i].name = ds_steal_cstr(&s);
        ports[i].ofport = ps->ofport;
        ports[i].rx_packets = ps->rx_packets;
        ports[i].tx_packets = ps->tx_packets;
        ports[i].rx_bytes = ps->rx_bytes;
        ports[i].tx_bytes = ps->tx_bytes;
        ports[i].rx_dropped = ps->rx_dropped;
        ports[i].tx_dropped = ps->tx_dropped;
    }
    *portsp = ports;
    *np = reply.mp_reply.n;
    ofp_port_map_release(&map);
    ctl_msg_release(&reply);
    return 0;
}
