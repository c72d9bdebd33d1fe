/* vsctl: the command line for vswitchd.
 *
 * Parses arguments and flow text, sends control-protocol requests over
 * the daemon's socket (default TS_DEFAULT_CTL), prints replies as text
 * (Open vSwitch's formats) or JSON.  Exit status: 0 success, 1 an error
 * reported by the daemon or a bad argument, 2 a usage error.
 *
 * This file holds options, the connection and the commands; the output
 * formats live in vsctl-output.c. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl-proto.h"
#include "dynamic-string.h"
#include "errors.h"
#include "hash.h"
#include "hmap.h"
#include "ofp-flow.h"
#include "ofp-group.h"
#include "ofp-port-map.h"
#include "stream.h"
#include "ts-config.h"
#include "util.h"
#include "vsctl.h"

/* Requests in flight at once when sending many flow-mods.  The daemon
 * answers each with an 8-byte OK and makes one fsync for all the requests
 * it reads in one loop iteration, so a wide window means few fsyncs. */
#define VSCTL_WINDOW 4096

static void usage(void) TS_NORETURN;

void
vsctl_fatal(int status, const char *fmt, ...)
{
    va_list args;

    fflush(stdout);
    fprintf(stderr, "vsctl: ");
    va_start(args, fmt);
    vfprintf(stderr, fmt, args);
    va_end(args);
    fputc('\n', stderr);
    exit(status);
}

/* ---- Connection --------------------------------------------------------- */

static long long
deadline(const struct vsctl_ctx *ctx)
{
    return ctx->timeout_ms > 0 ? ctx->start_msec + ctx->timeout_ms : -1;
}

static void
io_fatal(const struct vsctl_ctx *ctx, int err)
{
    const char *tls_err = ctx->stream ? stream_error(ctx->stream) : NULL;

    if (tls_err) {
        vsctl_fatal(1, "connection to '%s' failed: %s", ctx->server,
                    tls_err);
    }
    if (err == -ETIMEDOUT) {
        vsctl_fatal(1, "timed out after %d seconds waiting for '%s'",
                    ctx->timeout_ms / 1000, ctx->server);
    }
    if (err == -EPIPE) {
        vsctl_fatal(1, "'%s' closed the connection", ctx->server);
    }
    vsctl_fatal(1, "connection to '%s' failed: %s", ctx->server,
                ts_strerror(err));
}

static void
send_msg(struct vsctl_ctx *ctx, const struct ctl_msg *msg)
{
    struct ds buf = DS_EMPTY_INITIALIZER;
    int err = ctl_msg_encode(msg, &buf);

    if (err) {
        vsctl_fatal(1, "cannot encode %s request: %s",
                    ctl_type_name(msg->type),
                    err == -TS_ERR_TOO_BIG
                    ? "larger than the 64 kB message limit"
                    : ts_strerror(err));
    }
    err = stream_send_block(ctx->stream, buf.string, buf.length,
                            deadline(ctx));
    ds_destroy(&buf);
    if (err) {
        io_fatal(ctx, err);
    }
}

/* Receives and decodes one message into 'msg' (caller releases). */
void
vsctl_recv(struct vsctl_ctx *ctx, struct ctl_msg *msg)
{
    const uint8_t *frame;
    size_t len;
    char *err_msg;

    int err = stream_recv_frame_block(ctx->stream, deadline(ctx), &frame,
                                      &len);
    if (err) {
        io_fatal(ctx, err);
    }
    err = ctl_msg_decode(frame, len, msg, &err_msg);
    if (err) {
        vsctl_fatal(1, "bad reply from '%s': %s", ctx->server, err_msg);
    }
    if (msg->type == CTL_ECHO_REQUEST) {
        /* The daemon's inactivity probe: answer it and keep waiting. */
        vsctl_answer_echo(ctx, msg);
        ctl_msg_release(msg);
        vsctl_recv(ctx, msg);
    }
}

void
vsctl_answer_echo(struct vsctl_ctx *ctx, struct ctl_msg *echo)
{
    echo->type = CTL_ECHO_REPLY;
    send_msg(ctx, echo);
    echo->type = CTL_ECHO_REQUEST;
}

static void
connect_daemon(struct vsctl_ctx *ctx)
{
    struct ctl_msg hello, reply;
    char *err_msg;

    if (ctx->stream) {
        return;
    }
    const struct stream_tls_config tls = {
        .private_key = ctx->private_key,
        .certificate = ctx->certificate,
        .ca_cert = ctx->ca_cert,
    };
    int err = stream_open_tls(ctx->server, ctx->timeout_ms > 0
                              ? ctx->timeout_ms : -1, &tls, &ctx->stream,
                              &err_msg);
    if (err) {
        vsctl_fatal(1, "%s", err_msg);
    }
    ctl_msg_init_hello(&hello, ctx->next_xid++);
    send_msg(ctx, &hello);
    ctl_msg_release(&hello);

    vsctl_recv(ctx, &reply);
    if (reply.type == CTL_ERROR) {
        vsctl_fatal(1, "%s", reply.error.text);
    }
    if (reply.type != CTL_HELLO || ctl_hello_negotiate(&reply) < 0) {
        vsctl_fatal(1, "'%s' does not speak protocol version %d",
                    ctx->server, CTL_VERSION);
    }
    ctl_msg_release(&reply);
}

static uint32_t
vsctl_xid(struct vsctl_ctx *ctx)
{
    return ctx->next_xid++;
}

/* Checks a reply to a request that expects CTL_OK or 'expected'. */
static void
check_reply(const struct ctl_msg *reply, uint32_t xid, int expected,
            const char *prefix)
{
    if (reply->xid != xid) {
        vsctl_fatal(1, "reply with unexpected xid 0x%"PRIx32, reply->xid);
    }
    if (reply->type == CTL_ERROR) {
        vsctl_fatal(1, "%s%s", prefix ? prefix : "", reply->error.text);
    }
    if (reply->type != expected) {
        vsctl_fatal(1, "unexpected %s reply", ctl_type_name(reply->type));
    }
}

void
vsctl_transact(struct vsctl_ctx *ctx, struct ctl_msg *request,
               int expected, struct ctl_msg *reply)
{
    struct ctl_msg tmp;

    connect_daemon(ctx);
    request->xid = vsctl_xid(ctx);
    send_msg(ctx, request);
    vsctl_recv(ctx, reply ? reply : &tmp);
    check_reply(reply ? reply : &tmp, request->xid, expected, NULL);
    if (!reply) {
        ctl_msg_release(&tmp);
    }
}

/* Like vsctl_transact_mp(), but hands each part to 'cb' as it arrives
 * (then releases it) instead of collecting them: a big dump is printed
 * while the daemon still sends it, in little memory. */
void
vsctl_transact_mp_each(struct vsctl_ctx *ctx, struct ctl_msg *request,
                 void (*cb)(struct vsctl_ctx *, const struct ctl_msg *,
                            void *aux),
                 void *aux)
{
    connect_daemon(ctx);
    request->xid = vsctl_xid(ctx);
    send_msg(ctx, request);
    for (;;) {
        struct ctl_msg part;
        vsctl_recv(ctx, &part);
        check_reply(&part, request->xid, CTL_MULTIPART_REPLY, NULL);
        if (part.mp_reply.mp_type != request->mp_request.mp_type) {
            vsctl_fatal(1, "multipart reply of the wrong kind");
        }
        cb(ctx, &part, aux);
        uint16_t flags = part.mp_reply.flags;
        ctl_msg_release(&part);
        if (!(flags & CTL_MPF_MORE)) {
            break;
        }
    }
}

void
vsctl_transact_mp(struct vsctl_ctx *ctx, struct ctl_msg *request,
                  struct ctl_msg *total)
{
    connect_daemon(ctx);
    request->xid = vsctl_xid(ctx);
    send_msg(ctx, request);
    ctl_msg_init_mp_reply(total, request->xid, request->mp_request.mp_type);
    for (;;) {
        struct ctl_msg part;
        vsctl_recv(ctx, &part);
        check_reply(&part, request->xid, CTL_MULTIPART_REPLY, NULL);
        if (ctl_mp_reply_append(total, &part)) {
            vsctl_fatal(1, "multipart reply of the wrong kind");
        }
        uint16_t flags = part.mp_reply.flags;
        ctl_msg_release(&part);
        if (!(flags & CTL_MPF_MORE)) {
            break;
        }
    }
}

/* A pipeline of change requests, each answered by CTL_OK: up to
 * VSCTL_WINDOW unanswered at a time, encoded into one buffer that is
 * written when it is big or when replies are needed, so a big file costs
 * few system calls and the daemon can work while we parse.
 *
 * With 'stop_on_error' the connection is first put in STOP_ON_ERROR mode
 * and pipeline_finish() ends with a barrier: the daemon refuses every
 * change after the first failure, and that first error (not the
 * refusals that follow it) is reported once every reply is in.
 * Otherwise any error is fatal at once. */
struct pipeline {
    struct vsctl_ctx *ctx;
    bool stop_on_error;
    struct ds buf;              /* encoded, not yet written */
    uint32_t *xids;             /* of every message sent */
    char **names;               /* error prefixes (owned), may be NULL */
    size_t *lines;              /* else "FILE: line N: " if N != 0 */
    const char *file;
    size_t sent, done, allocated;
    char *first_error;
    /* Requests that are answered only if they fail (BUNDLE_ADDs of a
     * CTL_BF_QUIET bundle): their xids, in increasing order, and lines. */
    uint32_t *quiet_xids;
    size_t *quiet_lines;
    size_t n_quiet, quiet_allocated;
};

/* The line of the quiet request 'xid', or 0 if 'xid' is not one. */
static size_t
pipeline_quiet_line(const struct pipeline *p, uint32_t xid)
{
    size_t lo = 0, hi = p->n_quiet;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (p->quiet_xids[mid] == xid) {
            return p->quiet_lines[mid];
        } else if (p->quiet_xids[mid] < xid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return 0;
}

static void
pipeline_init(struct pipeline *p, struct vsctl_ctx *ctx, bool stop_on_error)
{
    memset(p, 0, sizeof *p);
    p->ctx = ctx;
    p->stop_on_error = stop_on_error;
    ds_init(&p->buf);
    connect_daemon(ctx);
    if (stop_on_error) {
        struct ctl_msg req;
        ctl_msg_init(&req, CTL_SET_CONN_FLAGS, 0);
        req.conn_flags = CTL_CONN_STOP_ON_ERROR;
        vsctl_transact(ctx, &req, CTL_OK, NULL);
        ctl_msg_release(&req);
    }
}

static void
pipeline_flush(struct pipeline *p)
{
    if (p->buf.length) {
        int err = stream_send_block(p->ctx->stream, p->buf.string,
                                    p->buf.length, deadline(p->ctx));
        if (err) {
            io_fatal(p->ctx, err);
        }
        ds_clear(&p->buf);
    }
}

/* Receives replies until at most 'max_pending' requests are unanswered. */
static void
pipeline_recv(struct pipeline *p, size_t max_pending)
{
    pipeline_flush(p);
    while (p->sent - p->done > max_pending) {
        char *prefix = NULL;
        const char *name;
        struct ctl_msg reply;

        vsctl_recv(p->ctx, &reply);
        if (reply.xid != p->xids[p->done]) {
            size_t line = pipeline_quiet_line(p, reply.xid);
            if (line && reply.type == CTL_ERROR) {
                /* A quiet request failed: its error, with its line, is
                 * the one to report (the commit will fail too). */
                if (!p->first_error) {
                    p->first_error = xasprintf("%s: line %zu: %s", p->file,
                                               line, reply.error.text);
                }
                ctl_msg_release(&reply);
                continue;
            }
        } else if (reply.type == CTL_ERROR && p->first_error
                   && !p->stop_on_error) {
            vsctl_fatal(1, "%s", p->first_error);
        }
        /* The "FILE: line N: " prefix only matters for a bad reply; an
         * add-flows of many lines gets one OK per line. */
        if (!p->names[p->done] && p->lines[p->done]
            && (reply.type != CTL_OK || reply.xid != p->xids[p->done])) {
            prefix = xasprintf("%s: line %zu: ", p->file,
                               p->lines[p->done]);
        }
        name = (p->names[p->done] ? p->names[p->done]
                : prefix ? prefix : "");
        if (p->stop_on_error && reply.type == CTL_ERROR
            && reply.xid == p->xids[p->done]) {
            if (!p->first_error) {
                p->first_error = xasprintf("%s%s", name, reply.error.text);
            }
        } else {
            check_reply(&reply, p->xids[p->done], CTL_OK, name);
        }
        ctl_msg_release(&reply);
        free(prefix);
        free(p->names[p->done]);
        p->names[p->done++] = NULL;
    }
}

/* Sends 'msg' (its xid is assigned; the caller still releases it).
 * 'name' (consumed; may be NULL) prefixes an error reply to it; without
 * one, a nonzero 'line' gives "FILE: line N: " (p->file). */
static void
pipeline_send_line(struct pipeline *p, struct ctl_msg *msg, char *name,
                   size_t line)
{
    if (p->sent == p->allocated) {
        p->allocated = p->allocated ? 2 * p->allocated : 1024;
        p->xids = xrealloc(p->xids, p->allocated * sizeof *p->xids);
        p->names = xrealloc(p->names, p->allocated * sizeof *p->names);
        p->lines = xrealloc(p->lines, p->allocated * sizeof *p->lines);
    }
    msg->xid = vsctl_xid(p->ctx);
    int err = ctl_msg_encode(msg, &p->buf);
    if (err) {
        vsctl_fatal(1, "%scannot encode %s request: %s", name ? name : "",
                    ctl_type_name(msg->type),
                    err == -TS_ERR_TOO_BIG
                    ? "larger than the 64 kB message limit"
                    : ts_strerror(err));
    }
    p->xids[p->sent] = msg->xid;
    p->lines[p->sent] = line;
    p->names[p->sent++] = name;
    if (p->sent - p->done >= VSCTL_WINDOW) {
        pipeline_recv(p, VSCTL_WINDOW / 2);
    } else if (p->buf.length >= 256 * 1024) {
        pipeline_flush(p);
    }
}

static void
pipeline_send(struct pipeline *p, struct ctl_msg *msg, char *name)
{
    pipeline_send_line(p, msg, name, 0);
}

/* Sends 'msg', a request the daemon answers only if it fails (a
 * BUNDLE_ADD of a CTL_BF_QUIET bundle); a failure is reported with
 * "FILE: line N: ".  No window: the socket's own back-pressure paces us. */
static void
pipeline_send_quiet(struct pipeline *p, struct ctl_msg *msg, size_t line)
{
    if (p->n_quiet == p->quiet_allocated) {
        p->quiet_allocated = p->quiet_allocated ? 2 * p->quiet_allocated
                                                : 1024;
        p->quiet_xids = xrealloc(p->quiet_xids,
                                 p->quiet_allocated * sizeof *p->quiet_xids);
        p->quiet_lines = xrealloc(p->quiet_lines, p->quiet_allocated
                                                  * sizeof *p->quiet_lines);
    }
    msg->xid = vsctl_xid(p->ctx);
    int err = ctl_msg_encode(msg, &p->buf);
    if (err) {
        vsctl_fatal(1, "%s: line %zu: cannot encode %s request: %s",
                    p->file, line, ctl_type_name(msg->type),
                    err == -TS_ERR_TOO_BIG
                    ? "larger than the 64 kB message limit"
                    : ts_strerror(err));
    }
    p->quiet_xids[p->n_quiet] = msg->xid;
    p->quiet_lines[p->n_quiet++] = line;
    if (p->buf.length >= 256 * 1024) {
        pipeline_flush(p);
    }
}

/* Waits for every reply; exits 1 with the first error, if any. */
static void
pipeline_finish(struct pipeline *p)
{
    pipeline_recv(p, 0);
    if (p->stop_on_error) {
        struct ctl_msg req;
        ctl_msg_init(&req, CTL_BARRIER_REQUEST, 0);
        vsctl_transact(p->ctx, &req, CTL_BARRIER_REPLY, NULL);
        ctl_msg_release(&req);
    }
    if (p->first_error) {
        vsctl_fatal(1, "%s", p->first_error);
    }
    ds_destroy(&p->buf);
    free(p->xids);
    free(p->names);
    free(p->lines);
    free(p->quiet_xids);
    free(p->quiet_lines);
}

/* ---- Port maps and flows ------------------------------------------------ */

void
vsctl_port_map(struct vsctl_ctx *ctx, const char *bridge,
               struct ofp_port_map *map)
{
    struct ctl_msg req, reply;

    ofp_port_map_init(map);
    ctl_msg_init_mp_request(&req, 0, CTL_MP_LIST_PORTS, bridge);
    vsctl_transact_mp(ctx, &req, &reply);
    for (size_t i = 0; i < reply.mp_reply.n; i++) {
        const struct ctl_port *p = &reply.mp_reply.ports[i];
        ofp_port_map_put(map, p->ofport, p->name);
    }
    ctl_msg_release(&req);
    ctl_msg_release(&reply);
}

/* Parses 'text' as a flow-mod for 'command'; on error prints
 * "vsctl: PREFIX: ERROR" and exits 1.  The caller owns the result
 * (ofp_flow_mod_release + free). */
static struct ofp_flow_mod *
parse_flow(const char *text, int command, const struct ofp_port_map *map,
           const char *prefix)
{
    struct ofp_flow_mod *fm = xmalloc(sizeof *fm);
    char *error = ofp_parse_flow_mod(fm, text, command, map);

    if (error) {
        vsctl_fatal(1, "%s: %s", prefix, error);
    }
    return fm;
}

/* ---- Commands without flows --------------------------------------------- */

static void
cmd_br(struct vsctl_ctx *ctx, int type, const char *name)
{
    struct ctl_msg req;

    ctl_msg_init(&req, type, 0);
    req.br.name = xstrdup(name);
    req.br.flags = (ctx->may_exist ? CTL_CF_MAY_EXIST : 0)
                   | (ctx->if_exists ? CTL_CF_IF_EXISTS : 0);
    vsctl_transact(ctx, &req, CTL_OK, NULL);
    ctl_msg_release(&req);
}

static void
cmd_add_br(struct vsctl_ctx *ctx, int argc, char *argv[])
{
    cmd_br(ctx, CTL_ADD_BR, argv[1]);
}

static void
cmd_del_br(struct vsctl_ctx *ctx, int argc, char *argv[])
{
    cmd_br(ctx, CTL_DEL_BR, argv[1]);
}

static void
cmd_add_port(struct vsctl_ctx *ctx, int argc, char *argv[])
{
    struct ctl_msg req;

    ctl_msg_init(&req, CTL_ADD_PORT, 0);
    req.port.bridge = xstrdup(argv[1]);
    req.port.name = xstrdup(argv[2]);
    req.port.flags = ctx->may_exist ? CTL_CF_MAY_EXIST : 0;
    for (int i = 3; i < argc; i++) {
        const char *eq = strchr(argv[i], '=');
        uint64_t ofport;

        if (!eq || eq == argv[i]) {
            vsctl_fatal(1, "'%s' is not KEY=VALUE", argv[i]);
        }
        if (!strncmp(argv[i], "type=", 5)) {
            free(req.port.type);
            req.port.type = xstrdup(eq + 1);
        } else if (!strncmp(argv[i], "ofport=", 7)) {
            if (!str_to_u64(eq + 1, 0xfeff, &ofport) || !ofport) {
                vsctl_fatal(1, "invalid ofport '%s' (expected 1 to 65279)",
                            eq + 1);
            }
            req.port.ofport = ofport;
        } else {
            char *key = xstrndup(argv[i], eq - argv[i]);
            if (smap_get(&req.port.options, key)) {
                vsctl_fatal(1, "option '%s' given twice", key);
            }
            smap_replace(&req.port.options, key, eq + 1);
            free(key);
        }
    }
    if (!req.port.type) {
        req.port.type = xstrdup("");
    }
    vsctl_transact(ctx, &req, CTL_OK, NULL);
    ctl_msg_release(&req);
}

/* set-port BR PORT KEY=VALUE...: KEY= removes KEY. */
static void
cmd_set_port(struct vsctl_ctx *ctx, int argc, char *argv[])
{
    struct ctl_msg req;

    ctl_msg_init(&req, CTL_MOD_PORT, 0);
    req.port.bridge = xstrdup(argv[1]);
    req.port.name = xstrdup(argv[2]);
    req.port.type = xstrdup("");
    for (int i = 3; i < argc; i++) {
        const char *eq = strchr(argv[i], '=');
        char *key;

        if (!eq || eq == argv[i]) {
            vsctl_fatal(1, "'%s' is not KEY=VALUE or KEY=", argv[i]);
        }
        key = xstrndup(argv[i], eq - argv[i]);
        if (!strcmp(key, "type") || !strcmp(key, "ofport")) {
            vsctl_fatal(1, "cannot change '%s' of a port (delete and add "
                        "it again)", key);
        }
        if (smap_get(&req.port.options, key)) {
            vsctl_fatal(1, "option '%s' given twice", key);
        }
        smap_replace(&req.port.options, key, eq + 1);
        free(key);
    }
    vsctl_transact(ctx, &req, CTL_OK, NULL);
    ctl_msg_release(&req);
}

static void
cmd_del_port(struct vsctl_ctx *ctx, int argc, char *argv[])
{
    struct ctl_msg req;

    ctl_msg_init(&req, CTL_DEL_PORT, 0);
    req.port.bridge = xstrdup(argv[1]);
    req.port.name = xstrdup(argv[2]);
    req.port.flags = ctx->if_exists ? CTL_CF_IF_EXISTS : 0;
    vsctl_transact(ctx, &req, CTL_OK, NULL);
    ctl_msg_release(&req);
}

static void
cmd_show(struct vsctl_ctx *ctx, int argc, char *argv[])
{
    struct ctl_msg req, reply;

    ctl_msg_init_mp_request(&req, 0, CTL_MP_SHOW, NULL);
    vsctl_transact_mp(ctx, &req, &reply);
    vsctl_print_show(ctx, &reply.mp_reply);
    ctl_msg_release(&req);
    ctl_msg_release(&reply);
}

static void
cmd_list_br(struct vsctl_ctx *ctx, int argc, char *argv[])
{
    struct ctl_msg req, reply;

    ctl_msg_init_mp_request(&req, 0, CTL_MP_LIST_BR, NULL);
    vsctl_transact_mp(ctx, &req, &reply);
    vsctl_print_list_br(ctx, &reply.mp_reply);
    ctl_msg_release(&req);
    ctl_msg_release(&reply);
}

static void
cmd_list_ports(struct vsctl_ctx *ctx, int argc, char *argv[])
{
    struct ctl_msg req, reply;

    ctl_msg_init_mp_request(&req, 0, CTL_MP_LIST_PORTS, argv[1]);
    vsctl_transact_mp(ctx, &req, &reply);
    vsctl_print_list_ports(ctx, &reply.mp_reply);
    ctl_msg_release(&req);
    ctl_msg_release(&reply);
}

static void
cmd_log_level(struct vsctl_ctx *ctx, int argc, char *argv[])
{
    struct ctl_msg req, reply;

    ctl_msg_init(&req, CTL_LOG_LEVEL_REQUEST, 0);
    req.log_level.spec = xstrdup(argc > 1 ? argv[1] : "");
    vsctl_transact(ctx, &req, CTL_LOG_LEVEL_REPLY, &reply);
    if (argc == 1) {
        vsctl_print_kv(ctx, &reply.kv, "module", "level");
    }
    ctl_msg_release(&req);
    ctl_msg_release(&reply);
}

static void
cmd_status(struct vsctl_ctx *ctx, int argc, char *argv[])
{
    struct ctl_msg req, reply;

    ctl_msg_init(&req, CTL_STATUS_REQUEST, 0);
    vsctl_transact(ctx, &req, CTL_STATUS_REPLY, &reply);
    vsctl_print_kv(ctx, &reply.kv, "key", "value");
    ctl_msg_release(&req);
    ctl_msg_release(&reply);
}

static void
cmd_version(struct vsctl_ctx *ctx, int argc, char *argv[])
{
    vsctl_print_version(ctx);
}

/* ---- Flow commands ------------------------------------------------------ */

static void
send_flow_mod(struct vsctl_ctx *ctx, const char *bridge, int command,
              const char *text)
{
    struct ofp_port_map map;
    struct ctl_msg req;

    vsctl_port_map(ctx, bridge, &map);
    ctl_msg_init(&req, CTL_FLOW_MOD, 0);
    req.flow_mod.bridge = xstrdup(bridge);
    req.flow_mod.fm = parse_flow(text, command, &map, "invalid flow");
    vsctl_transact(ctx, &req, CTL_OK, NULL);
    ctl_msg_release(&req);
    ofp_port_map_release(&map);
}

static void
cmd_add_flow(struct vsctl_ctx *ctx, int argc, char *argv[])
{
    send_flow_mod(ctx, argv[1], OFPFC_ADD, argv[2]);
}

static void
cmd_del_flows(struct vsctl_ctx *ctx, int argc, char *argv[])
{
    send_flow_mod(ctx, argv[1],
                  ctx->strict ? OFPFC_DELETE_STRICT : OFPFC_DELETE,
                  argc > 2 ? argv[2] : "");
}

static void
cmd_mod_flows(struct vsctl_ctx *ctx, int argc, char *argv[])
{
    send_flow_mod(ctx, argv[1],
                  ctx->strict ? OFPFC_MODIFY_STRICT : OFPFC_MODIFY,
                  argv[2]);
}

/* Opens 'name' ("-": stdin) for reading flows; exits 1 on failure. */
static FILE *
open_flow_file(const char *name)
{
    FILE *f = strcmp(name, "-") ? fopen(name, "r") : stdin;

    if (!f) {
        vsctl_fatal(1, "cannot open '%s': %s", name, strerror(errno));
    }
    return f;
}

/* Returns the next flow line of 'f' (a pointer into '*linep', trimmed)
 * or NULL at the end; blank lines and '#' comments are skipped. */
static char *
next_flow_line(FILE *f, const char *name, char **linep, size_t *sizep,
               size_t *line_no)
{
    while (getline(linep, sizep, f) >= 0) {
        char *s = *linep;

        (*line_no)++;
        s[strcspn(s, "\r\n")] = '\0';
        while (isspace((unsigned char) *s)) {
            s++;
        }
        if (*s && *s != '#') {
            return s;
        }
    }
    if (ferror(f)) {
        vsctl_fatal(1, "error reading '%s': %s", name, strerror(errno));
    }
    return NULL;
}

/* Reads every flow of 'name' ("-": stdin) as an ADD.  Returns the number
 * of flows and fills '*fmsp' and '*linesp' (each flow's line number); the
 * caller frees both arrays and each flow-mod. */
static size_t
read_flows(const char *name, const struct ofp_port_map *map,
           struct ofp_flow_mod ***fmsp, size_t **linesp)
{
    FILE *f = open_flow_file(name);
    struct ofp_flow_mod **fms = NULL;
    size_t *lines = NULL;
    size_t n = 0, allocated = 0, line_no = 0, line_size = 0;
    char *line = NULL, *text;

    while ((text = next_flow_line(f, name, &line, &line_size, &line_no))) {
        if (n == allocated) {
            allocated = allocated ? 2 * allocated : 64;
            fms = xrealloc(fms, allocated * sizeof *fms);
            lines = xrealloc(lines, allocated * sizeof *lines);
        }
        char *prefix = xasprintf("%s: line %zu",
                                 strcmp(name, "-") ? name : "stdin",
                                 line_no);
        fms[n] = parse_flow(text, OFPFC_ADD, map, prefix);
        free(prefix);
        lines[n++] = line_no;
    }
    free(line);
    if (f != stdin) {
        fclose(f);
    }
    *fmsp = fms;
    *linesp = lines;
    return n;
}

/* Without --bundle: every line is parsed first (a syntax error sends
 * nothing, as ovs-ofctl), then one FLOW_MOD per flow, applied in order;
 * the daemon stops at the first failure, whose line we report. */
static void
add_flows_unbundled(struct vsctl_ctx *ctx, const char *bridge,
                    const char *name)
{
    struct ofp_port_map map;
    struct ofp_flow_mod **fms;
    struct pipeline p;
    size_t *lines;

    vsctl_port_map(ctx, bridge, &map);
    size_t n = read_flows(name, &map, &fms, &lines);
    ofp_port_map_release(&map);
    pipeline_init(&p, ctx, true);
    p.file = strcmp(name, "-") ? name : "stdin";
    for (size_t i = 0; i < n; i++) {
        struct ctl_msg msg;
        ctl_msg_init(&msg, CTL_FLOW_MOD, 0);
        msg.flow_mod.bridge = xstrdup(bridge);
        msg.flow_mod.fm = fms[i];
        pipeline_send_line(&p, &msg, NULL, lines[i]);
        ctl_msg_release(&msg);
    }
    pipeline_finish(&p);
    free(fms);
    free(lines);
}

/* With --bundle: parses and sends line by line, so the daemon works while
 * we parse: OPEN, one ADD per flow, COMMIT.  Nothing changes unless every
 * flow is valid (an error, ours or the daemon's, closes the connection
 * and with it the bundle before the commit). */
static void
cmd_add_flows(struct vsctl_ctx *ctx, int argc, char *argv[])
{
    const char *bridge = argv[1];
    const char *fname = strcmp(argv[2], "-") ? argv[2] : "stdin";
    FILE *f = open_flow_file(argv[2]);
    struct ofp_port_map map;
    struct pipeline p;
    struct ctl_msg msg;
    char *line = NULL, *text;
    size_t line_size = 0, line_no = 0;
    const uint32_t bundle_id = 1;

    if (!ctx->bundle) {
        if (f != stdin) {
            fclose(f);
        }
        add_flows_unbundled(ctx, bridge, argv[2]);
        return;
    }
    vsctl_port_map(ctx, bridge, &map);
    pipeline_init(&p, ctx, false);
    p.file = fname;
    if (ctx->bundle) {
        ctl_msg_init(&msg, CTL_BUNDLE_OPEN, 0);
        msg.bundle.id = bundle_id;
        /* Successful adds are not answered: 100,000 flows need not
         * come with 100,000 replies to encode, send and decode. */
        msg.bundle.flags = CTL_BF_ATOMIC | CTL_BF_ORDERED | CTL_BF_QUIET;
        msg.bundle.bridge = xstrdup(bridge);
        pipeline_send(&p, &msg, NULL);
        ctl_msg_release(&msg);
    }
    /* One flow-mod, reused line after line; the cache spares parsing
     * actions that repeat the line before's. */
    struct ofp_parse_cache cache;
    struct ofp_flow_mod fm;
    ofp_parse_cache_init(&cache);
    while ((text = next_flow_line(f, argv[2], &line, &line_size,
                                  &line_no))) {
        char *error = ofp_parse_flow_mod_cached(&fm, text, OFPFC_ADD, &map,
                                                &cache);
        if (error) {
            vsctl_fatal(1, "%s: line %zu: %s", fname, line_no, error);
        }
        ctl_msg_init(&msg, CTL_BUNDLE_ADD, 0);
        msg.bundle.id = bundle_id;
        msg.bundle.fm = &fm;
        pipeline_send_quiet(&p, &msg, line_no);
        msg.bundle.fm = NULL;   /* ours, not the message's */
        ctl_msg_release(&msg);
        ofp_flow_mod_release(&fm);
    }
    ofp_parse_cache_release(&cache);
    if (ctx->bundle) {
        ctl_msg_init(&msg, CTL_BUNDLE_COMMIT, 0);
        msg.bundle.id = bundle_id;
        pipeline_send(&p, &msg, xstrdup("bundle commit failed: "));
        ctl_msg_release(&msg);
    }
    pipeline_finish(&p);
    free(line);
    if (f != stdin) {
        fclose(f);
    }
    ofp_port_map_release(&map);
}

static void
print_flows_part(struct vsctl_ctx *ctx, const struct ctl_msg *part,
                 void *map)
{
    vsctl_print_flows(ctx, &part->mp_reply, map);
}

static void
cmd_dump_flows(struct vsctl_ctx *ctx, int argc, char *argv[])
{
    struct ofp_port_map map;
    struct ctl_msg req, reply;

    vsctl_port_map(ctx, argv[1], &map);
    ctl_msg_init_mp_request(&req, 0, CTL_MP_DUMP_FLOWS, argv[1]);
    req.mp_request.dump_flows.flags = ((ctx->strict ? CTL_DF_STRICT : 0)
                                       | (ctx->no_stats ? CTL_DF_NO_STATS
                                          : 0));
    req.mp_request.dump_flows.filter
        = parse_flow(argc > 2 ? argv[2] : "",
                     ctx->strict ? OFPFC_DELETE_STRICT : OFPFC_DELETE,
                     &map, "invalid flow");
    if (ctx->json) {
        vsctl_transact_mp(ctx, &req, &reply);
        vsctl_print_flows(ctx, &reply.mp_reply, ctx->names ? &map : NULL);
        ctl_msg_release(&reply);
    } else {
        vsctl_transact_mp_each(ctx, &req, print_flows_part,
                         ctx->names ? &map : NULL);
    }
    ctl_msg_release(&req);
    ofp_port_map_release(&map);
}

static void
cmd_dump_ports(struct vsctl_ctx *ctx, int argc, char *argv[])
{
    struct ofp_port_map map;
    struct ctl_msg req, reply;
    uint32_t port = CTL_PORT_ALL;

    vsctl_port_map(ctx, argv[1], &map);
    if (argc > 2 && !ofp_port_parse(argv[2], &map, &port)) {
        vsctl_fatal(1, "unknown port '%s' on bridge '%s'", argv[2],
                    argv[1]);
    }
    ctl_msg_init_mp_request(&req, 0, CTL_MP_DUMP_PORTS, argv[1]);
    req.mp_request.port = port;
    vsctl_transact_mp(ctx, &req, &reply);
    vsctl_print_port_stats(ctx, &reply.mp_reply, reply.xid, &map);
    ctl_msg_release(&req);
    ctl_msg_release(&reply);
    ofp_port_map_release(&map);
}

static void
cmd_dump_dp_flows(struct vsctl_ctx *ctx, int argc, char *argv[])
{
    struct ctl_msg req, reply;

    ctl_msg_init_mp_request(&req, 0, CTL_MP_DUMP_DP_FLOWS, argv[1]);
    vsctl_transact_mp(ctx, &req, &reply);
    vsctl_print_dp_flows(ctx, &reply.mp_reply);
    ctl_msg_release(&req);
    ctl_msg_release(&reply);
}

/* Returns true if 's' is an even number of hex digits (at least 28, a
 * minimal Ethernet header): the packet form of trace. */
static bool
is_hex_packet(const char *s)
{
    size_t n = strlen(s);
    if (n < 28 || n % 2) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!isxdigit((unsigned char) s[i])) {
            return false;
        }
    }
    return true;
}

static void
cmd_trace(struct vsctl_ctx *ctx, int argc, char *argv[])
{
    struct ctl_msg req, reply;

    ctl_msg_init_mp_request(&req, 0, CTL_MP_TRACE, argv[1]);
    if (argc == 4) {
        struct ofp_port_map map;
        uint32_t port;

        if (strncmp(argv[2], "in_port=", 8)) {
            vsctl_fatal(2, "trace with a packet needs 'in_port=PORT HEX' "
                        "(try --help)");
        }
        if (!is_hex_packet(argv[3])) {
            vsctl_fatal(1, "'%s' is not a packet in hex (an even number of "
                        "hex digits, at least 14 bytes)", argv[3]);
        }
        vsctl_port_map(ctx, argv[1], &map);
        if (!ofp_port_parse(argv[2] + 8, &map, &port)) {
            vsctl_fatal(1, "unknown port '%s' on bridge '%s'", argv[2] + 8,
                        argv[1]);
        }
        ofp_port_map_release(&map);

        size_t n = strlen(argv[3]) / 2;
        uint8_t *packet = xmalloc(n);
        for (size_t i = 0; i < n; i++) {
            unsigned int byte;
            sscanf(argv[3] + 2 * i, "%2x", &byte);
            packet[i] = byte;
        }
        req.mp_request.trace.packet = packet;
        req.mp_request.trace.packet_len = n;
        req.mp_request.trace.in_port = port;
    } else {
        req.mp_request.trace.flow = xstrdup(argv[2]);
    }
    vsctl_transact_mp(ctx, &req, &reply);
    vsctl_print_trace(ctx, &reply.mp_reply);
    ctl_msg_release(&req);
    ctl_msg_release(&reply);
}

/* ---- replace-flows ------------------------------------------------------ */

/* A flow of the table or of the file, keyed by table, priority and
 * match (what identifies a rule). */
struct flow_entry {
    struct hmap_node node;
    uint8_t table_id;
    int priority;
    const struct match *match;
    uint64_t cookie;
    uint16_t idle_timeout, hard_timeout, importance, flags;
    const struct ofpact *ofpacts;
    size_t ofpacts_len;
    struct ofp_flow_mod *fm;    /* file side: the flow-mod (borrowed) */
    bool seen;                  /* table side: also in the file */
};

static uint32_t
flow_entry_hash(uint8_t table_id, int priority, const struct match *match)
{
    return match_hash(match, hash_int(table_id << 16 | priority, 0));
}

static struct flow_entry *
flow_entry_find(const struct hmap *map, uint8_t table_id, int priority,
                const struct match *match)
{
    struct flow_entry *e;

    HMAP_FOR_EACH_WITH_HASH (e, node,
                             flow_entry_hash(table_id, priority, match),
                             map) {
        if (e->table_id == table_id && e->priority == priority
            && match_equal(e->match, match)) {
            return e;
        }
    }
    return NULL;
}

/* As ovs-ofctl replace-flows: a flow is unchanged if its cookie,
 * timeouts, importance, flags and actions are the same. */
static bool
flow_entry_same(const struct flow_entry *a, const struct flow_entry *b)
{
    return (a->cookie == b->cookie && a->idle_timeout == b->idle_timeout
            && a->hard_timeout == b->hard_timeout
            && a->importance == b->importance
            && (a->flags & ~OFPFF_CHECK_OVERLAP)
               == (b->flags & ~OFPFF_CHECK_OVERLAP)
            && ofpacts_equal(a->ofpacts, a->ofpacts_len, b->ofpacts,
                             b->ofpacts_len));
}

static void
cmd_replace_flows(struct vsctl_ctx *ctx, int argc, char *argv[])
{
    const char *bridge = argv[1];
    struct ofp_port_map map;
    struct ofp_flow_mod **fms;
    size_t *lines;
    struct ctl_msg req, dump;
    struct hmap table = HMAP_INITIALIZER(&table);
    struct hmap file = HMAP_INITIALIZER(&file);
    struct flow_entry *e, *old;

    vsctl_port_map(ctx, bridge, &map);
    size_t n = read_flows(argv[2], &map, &fms, &lines);
    ofp_port_map_release(&map);

    /* The file's flows; a later duplicate replaces an earlier one. */
    struct flow_entry *fe = xcalloc(n ? n : 1, sizeof *fe);
    for (size_t i = 0; i < n; i++) {
        const struct ofp_flow_mod *fm = fms[i];
        e = &fe[i];
        *e = (struct flow_entry) {
            .table_id = fm->table_id, .priority = fm->priority,
            .match = &fm->match, .cookie = fm->new_cookie,
            .idle_timeout = fm->idle_timeout,
            .hard_timeout = fm->hard_timeout,
            .importance = fm->importance, .flags = fm->flags,
            .ofpacts = (const struct ofpact *) (void *) fm->ofpacts.data,
            .ofpacts_len = fm->ofpacts.size, .fm = fms[i],
        };
        old = flow_entry_find(&file, e->table_id, e->priority, e->match);
        if (old) {
            hmap_remove(&file, &old->node);
        }
        hmap_insert(&file, &e->node,
                    flow_entry_hash(e->table_id, e->priority, e->match));
    }

    /* The table's flows. */
    ctl_msg_init_mp_request(&req, 0, CTL_MP_DUMP_FLOWS, bridge);
    req.mp_request.dump_flows.filter = ctl_flow_mod_create(OFPFC_DELETE);
    vsctl_transact_mp(ctx, &req, &dump);
    ctl_msg_release(&req);
    struct flow_entry *te = xcalloc(dump.mp_reply.n ? dump.mp_reply.n : 1,
                                    sizeof *te);
    for (size_t i = 0; i < dump.mp_reply.n; i++) {
        const struct ofp_flow_stats *fs = dump.mp_reply.flows[i];
        e = &te[i];
        *e = (struct flow_entry) {
            .table_id = fs->table_id, .priority = fs->priority,
            .match = &fs->match, .cookie = fs->cookie,
            .idle_timeout = fs->idle_timeout,
            .hard_timeout = fs->hard_timeout,
            .importance = fs->importance, .flags = fs->flags,
            .ofpacts = fs->ofpacts, .ofpacts_len = fs->ofpacts_len,
        };
        hmap_insert(&table, &e->node,
                    flow_entry_hash(e->table_id, e->priority, e->match));
    }

    /* One bundle: delete what the file lacks, add what is new or changed;
     * unchanged flows are not touched and keep their counters. */
    size_t max = n + dump.mp_reply.n + 2, k = 0;
    struct ctl_msg *msgs = xcalloc(max, sizeof *msgs);
    const uint32_t bundle_id = 1;

    ctl_msg_init(&msgs[k], CTL_BUNDLE_OPEN, 0);
    msgs[k].bundle.id = bundle_id;
    msgs[k].bundle.flags = CTL_BF_ATOMIC | CTL_BF_ORDERED;
    msgs[k++].bundle.bridge = xstrdup(bridge);
    for (size_t i = 0; i < dump.mp_reply.n; i++) {
        e = &te[i];
        if (flow_entry_find(&file, e->table_id, e->priority, e->match)) {
            continue;
        }
        struct ofp_flow_mod *del = ctl_flow_mod_create(OFPFC_DELETE_STRICT);
        del->table_id = e->table_id;
        del->priority = e->priority;
        del->match = *e->match;
        ctl_msg_init(&msgs[k], CTL_BUNDLE_ADD, 0);
        msgs[k].bundle.id = bundle_id;
        msgs[k++].bundle.fm = del;
    }
    for (size_t i = 0; i < n; i++) {
        e = &fe[i];
        if (flow_entry_find(&file, e->table_id, e->priority, e->match)
            != e) {
            continue;           /* replaced by a later line */
        }
        old = flow_entry_find(&table, e->table_id, e->priority, e->match);
        if (old && flow_entry_same(old, e)) {
            continue;
        }
        ctl_msg_init(&msgs[k], CTL_BUNDLE_ADD, 0);
        msgs[k].bundle.id = bundle_id;
        msgs[k++].bundle.fm = fms[i];
        fms[i] = NULL;
    }
    ctl_msg_init(&msgs[k], CTL_BUNDLE_COMMIT, 0);
    msgs[k++].bundle.id = bundle_id;
    if (k > 2) {
        struct pipeline p;
        pipeline_init(&p, ctx, false);
        for (size_t i = 0; i < k; i++) {
            pipeline_send(&p, &msgs[i],
                          xstrdup(i == k - 1 ? "bundle commit failed: "
                                  : "replace-flows: "));
        }
        pipeline_finish(&p);
    }

    for (size_t i = 0; i < k; i++) {
        ctl_msg_release(&msgs[i]);
    }
    free(msgs);
    hmap_destroy(&table);
    hmap_destroy(&file);
    free(te);
    free(fe);
    ctl_msg_release(&dump);
    for (size_t i = 0; i < n; i++) {
        if (fms[i]) {
            ofp_flow_mod_release(fms[i]);
            free(fms[i]);
        }
    }
    free(fms);
    free(lines);
}

/* ---- dump-aggregate ----------------------------------------------------- */

static void
cmd_dump_aggregate(struct vsctl_ctx *ctx, int argc, char *argv[])
{
    struct ofp_port_map map;
    struct ctl_msg req, reply;

    vsctl_port_map(ctx, argv[1], &map);
    ctl_msg_init_mp_request(&req, 0, CTL_MP_AGGREGATE, argv[1]);
    req.mp_request.dump_flows.flags = ctx->strict ? CTL_DF_STRICT : 0;
    req.mp_request.dump_flows.filter
        = parse_flow(argc > 2 ? argv[2] : "",
                     ctx->strict ? OFPFC_DELETE_STRICT : OFPFC_DELETE,
                     &map, "invalid flow");
    vsctl_transact_mp(ctx, &req, &reply);
    if (reply.mp_reply.n != 1) {
        vsctl_fatal(1, "aggregate reply with %zu entries", reply.mp_reply.n);
    }
    vsctl_print_aggregate(ctx, &reply.mp_reply.aggregates[0], reply.xid);
    ctl_msg_release(&req);
    ctl_msg_release(&reply);
    ofp_port_map_release(&map);
}

/* ---- packet-out --------------------------------------------------------- */

/* Parses 'hex' (an even number of hex digits, at least 14 bytes) into a
 * malloc'ed frame. */
static uint8_t *
parse_hex_packet(const char *hex, size_t *lenp)
{
    if (!is_hex_packet(hex)) {
        vsctl_fatal(1, "'%s' is not a packet in hex (an even number of hex "
                    "digits, at least 14 bytes)", hex);
    }
    size_t n = strlen(hex) / 2;
    uint8_t *packet = xmalloc(n);
    for (size_t i = 0; i < n; i++) {
        unsigned int byte;
        sscanf(hex + 2 * i, "%2x", &byte);
        packet[i] = byte;
    }
    *lenp = n;
    return packet;
}

static uint32_t
parse_in_port(const char *s, const struct ofp_port_map *map,
              const char *bridge)
{
    uint32_t port;

    if (!strcasecmp(s, "none") || !strcasecmp(s, "controller")) {
        return CTL_PORT_NONE;
    }
    if (!ofp_port_parse(s, map, &port)) {
        vsctl_fatal(1, "unknown port '%s' on bridge '%s'", s, bridge);
    }
    return port;
}

/* "in_port=N packet=HEX actions=ACTIONS" (ovs-ofctl's newer form) or
 * IN_PORT ACTIONS PACKET (its older one). */
static void
cmd_packet_out(struct vsctl_ctx *ctx, int argc, char *argv[])
{
    const char *bridge = argv[1];
    const char *in_port = "none", *packet = NULL, *actions = NULL;
    struct ofp_port_map map;
    struct ofpacts acts;
    struct ctl_msg req;
    char *copy = NULL;

    if (argc == 5) {
        in_port = argv[2];
        actions = argv[3];
        packet = argv[4];
    } else if (argc == 3) {
        /* Keywords up to "actions=", which takes the rest. */
        copy = xstrdup(argv[2]);
        char *p = copy;
        while (*p) {
            p += strspn(p, ", \t");
            if (!strncmp(p, "actions=", 8)) {
                actions = p + 8;
                break;
            }
            char *end = p + strcspn(p, ", \t");
            if (*end) {
                *end++ = '\0';
            }
            if (!strncmp(p, "in_port=", 8)) {
                in_port = p + 8;
            } else if (!strncmp(p, "packet=", 7)) {
                packet = p + 7;
            } else if (*p) {
                vsctl_fatal(1, "unknown packet-out keyword '%s' (expected "
                            "in_port=, packet= or actions=)", p);
            }
            p = end;
        }
    } else {
        vsctl_fatal(2, "'packet-out': usage: packet-out BR \"in_port=PORT "
                    "packet=HEX actions=ACTIONS\" or packet-out BR IN_PORT "
                    "ACTIONS PACKET");
    }
    if (!packet) {
        vsctl_fatal(1, "packet-out: missing packet=HEX");
    }
    if (!actions) {
        vsctl_fatal(1, "packet-out: missing actions=");
    }

    vsctl_port_map(ctx, bridge, &map);
    ctl_msg_init(&req, CTL_PACKET_OUT, 0);
    req.packet_out.bridge = xstrdup(bridge);
    req.packet_out.in_port = parse_in_port(in_port, &map, bridge);
    req.packet_out.packet = parse_hex_packet(packet,
                                             &req.packet_out.packet_len);
    ofpacts_init(&acts);
    char *error = ofpacts_parse(actions, &map, &acts);
    if (error) {
        vsctl_fatal(1, "invalid actions: %s", error);
    }
    req.packet_out.ofpacts = (struct ofpact *) (void *) acts.data;
    req.packet_out.ofpacts_len = acts.size;
    vsctl_transact(ctx, &req, CTL_OK, NULL);
    ctl_msg_release(&req);
    ofp_port_map_release(&map);
    free(copy);
}

/* ---- monitor ------------------------------------------------------------ */

static void
cmd_monitor(struct vsctl_ctx *ctx, int argc, char *argv[])
{
    struct ofp_port_map map;
    struct ctl_msg req;

    vsctl_port_map(ctx, argv[1], &map);
    ctl_msg_init(&req, CTL_MONITOR, 0);
    req.monitor.bridge = xstrdup(argv[1]);
    req.monitor.flags = CTL_MON_PACKET_IN;
    vsctl_transact(ctx, &req, CTL_OK, NULL);
    ctl_msg_release(&req);

    /* Until interrupted (or the daemon goes away): the timeout applies to
     * the subscription only. */
    ctx->timeout_ms = 0;
    for (;;) {
        struct ctl_msg m;
        vsctl_recv(ctx, &m);
        if (m.type == CTL_PACKET_IN) {
            vsctl_print_packet_in(ctx, &m, ctx->names ? &map : NULL);
            fflush(stdout);
        }
        ctl_msg_release(&m);
    }
}

/* ---- groups ------------------------------------------------------------- */

static void
send_group_mod(struct vsctl_ctx *ctx, const char *bridge, int command,
               const char *text)
{
    struct ofp_port_map map;
    struct ctl_msg req;
    struct ofp_group_mod *gm = xmalloc(sizeof *gm);

    vsctl_port_map(ctx, bridge, &map);
    char *error = ofp_parse_group_mod(gm, text, command, &map);
    if (error) {
        vsctl_fatal(1, "invalid group: %s", error);
    }
    ctl_msg_init(&req, CTL_GROUP_MOD, 0);
    req.group_mod.bridge = xstrdup(bridge);
    req.group_mod.gm = gm;
    vsctl_transact(ctx, &req, CTL_OK, NULL);
    ctl_msg_release(&req);
    ofp_port_map_release(&map);
}

static void
cmd_add_group(struct vsctl_ctx *ctx, int argc, char *argv[])
{
    send_group_mod(ctx, argv[1], OFPGC_ADD, argv[2]);
}

static void
cmd_mod_group(struct vsctl_ctx *ctx, int argc, char *argv[])
{
    send_group_mod(ctx, argv[1],
                   ctx->may_create ? OFPGC_ADD_OR_MOD : OFPGC_MODIFY,
                   argv[2]);
}

static void
cmd_del_groups(struct vsctl_ctx *ctx, int argc, char *argv[])
{
    send_group_mod(ctx, argv[1], OFPGC_DELETE, argc > 2 ? argv[2] : "");
}

/* "group_id=N" or "N" (or nothing: all). */
static uint32_t
parse_group_id_arg(int argc, char *argv[])
{
    uint64_t id;

    if (argc < 3 || !strcmp(argv[2], "group_id=all")) {
        return OFPG_ALL;
    }
    const char *s = argv[2];
    if (!strncmp(s, "group_id=", 9)) {
        s += 9;
    }
    if (!str_to_u64(s, OFPG_MAX, &id)) {
        vsctl_fatal(1, "invalid group id '%s' (expected group_id=N, N up "
                    "to %u)", argv[2], OFPG_MAX);
    }
    return id;
}

static void
dump_groups(struct vsctl_ctx *ctx, int argc, char *argv[], bool stats)
{
    struct ofp_port_map map;
    struct ctl_msg req, reply;

    vsctl_port_map(ctx, argv[1], &map);
    ctl_msg_init_mp_request(&req, 0, CTL_MP_DUMP_GROUPS, argv[1]);
    req.mp_request.group_id = parse_group_id_arg(argc, argv);
    vsctl_transact_mp(ctx, &req, &reply);
    vsctl_print_groups(ctx, &reply.mp_reply, reply.xid, stats,
                       ctx->names ? &map : NULL);
    ctl_msg_release(&req);
    ctl_msg_release(&reply);
    ofp_port_map_release(&map);
}

static void
cmd_dump_groups(struct vsctl_ctx *ctx, int argc, char *argv[])
{
    dump_groups(ctx, argc, argv, false);
}

static void
cmd_dump_group_stats(struct vsctl_ctx *ctx, int argc, char *argv[])
{
    dump_groups(ctx, argc, argv, true);
}

/* ---- Command table and options ------------------------------------------ */

static const struct vsctl_command commands[] = {
    { "show", 0, 0, cmd_show, "",
      "print the bridges, their ports, types and port numbers" },
    { "add-br", 1, 1, cmd_add_br, "BR", "create bridge BR" },
    { "del-br", 1, 1, cmd_del_br, "BR", "delete bridge BR and its ports" },
    { "list-br", 0, 0, cmd_list_br, "", "print the names of all bridges" },
    { "add-port", 2, INT32_MAX, cmd_add_port,
      "BR PORT [type=T] [ofport=N] [KEY=VALUE...]",
      "add port PORT to BR (options as KEY=VALUE)" },
    { "del-port", 2, 2, cmd_del_port, "BR PORT", "delete PORT from BR" },
    { "set-port", 3, INT32_MAX, cmd_set_port, "BR PORT KEY=VALUE...",
      "change PORT's options (KEY= removes KEY; impairments apply live)" },
    { "list-ports", 1, 1, cmd_list_ports, "BR",
      "print the names of the ports on BR" },
    { "add-flow", 2, 2, cmd_add_flow, "BR FLOW", "add FLOW to BR" },
    { "add-flows", 2, 2, cmd_add_flows, "BR FILE|-",
      "add the flows in FILE (or stdin), one per line; stops at the "
      "first error\n      (with --bundle: all or nothing)" },
    { "del-flows", 1, 2, cmd_del_flows, "BR [FLOW]",
      "delete the flows of BR that match FLOW (all if none)" },
    { "mod-flows", 2, 2, cmd_mod_flows, "BR FLOW",
      "change the actions of the flows that match FLOW" },
    { "replace-flows", 2, 2, cmd_replace_flows, "BR FILE|-",
      "make BR's flows those of FILE, atomically; unchanged flows keep "
      "their\n      counters" },
    { "dump-flows", 1, 2, cmd_dump_flows, "BR [FLOW]",
      "print the flows of BR (that match FLOW)" },
    { "dump-aggregate", 1, 2, cmd_dump_aggregate, "BR [FLOW]",
      "print the total packets, bytes and flows of BR (that match FLOW)" },
    { "add-group", 2, 2, cmd_add_group, "BR GROUP", "add GROUP to BR" },
    { "mod-group", 2, 2, cmd_mod_group, "BR GROUP",
      "change GROUP (with --may-create: add it if missing)" },
    { "del-groups", 1, 2, cmd_del_groups, "BR [group_id=N]",
      "delete group N from BR (all if none)" },
    { "dump-groups", 1, 2, cmd_dump_groups, "BR [group_id=N]",
      "print BR's groups" },
    { "dump-group-stats", 1, 2, cmd_dump_group_stats, "BR [group_id=N]",
      "print BR's group statistics" },
    { "packet-out", 2, 4, cmd_packet_out,
      "BR \"in_port=PORT packet=HEX actions=ACTIONS\" | BR IN_PORT ACTIONS "
      "PACKET", "run ACTIONS on a packet as if it came in on PORT" },
    { "monitor", 1, 1, cmd_monitor, "BR",
      "print the packets BR sends to the controller, until interrupted" },
    { "dump-ports", 1, 2, cmd_dump_ports, "BR [PORT]",
      "print port statistics" },
    { "dump-dp-flows", 1, 1, cmd_dump_dp_flows, "BR",
      "print BR's datapath megaflows" },
    { "trace", 2, 3, cmd_trace, "BR FLOW | BR in_port=PORT HEX",
      "trace a flow or a packet through BR's tables" },
    { "log-level", 0, 1, cmd_log_level, "[MODULE:LEVEL]",
      "print the daemon's log levels, or set one" },
    { "status", 0, 0, cmd_status, "", "print the daemon's status" },
    { "version", 0, 0, cmd_version, "", "print the version of vsctl" },
};

static const struct vsctl_command_group command_groups[] = {
    { "Conntrack commands", vsctl_ct_commands, &vsctl_ct_n_commands },
    { "Administration", vsctl_admin_commands, &vsctl_admin_n_commands },
    { "Capture", vsctl_capture_commands, &vsctl_capture_n_commands },
    { "TLS certificates", vsctl_pki_commands, &vsctl_pki_n_commands },
};

static void
usage(void)
{
    printf("vsctl: control the Trackswitch daemon (vswitchd)\n"
           "usage: vsctl [OPTIONS] COMMAND [ARG...]\n\nCommands:\n");
    for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
        char *syn = xasprintf("%s %s", commands[i].name, commands[i].args);
        printf("  %s\n      %s\n", syn, commands[i].help);
        free(syn);
    }
    for (size_t g = 0; g < ARRAY_SIZE(command_groups); g++) {
        const struct vsctl_command_group *grp = &command_groups[g];
        if (!*grp->n_commands) {
            continue;
        }
        printf("\n%s:\n", grp->title);
        for (size_t i = 0; i < *grp->n_commands; i++) {
            const struct vsctl_command *c = &grp->commands[i];
            char *syn = xasprintf("%s %s", c->name, c->args);
            printf("  %s\n      %s\n", syn, c->help);
            free(syn);
        }
    }
    printf("\nOptions:\n"
           "  --server=unix:PATH   daemon socket (default: unix:%s)\n"
           "  --server=ssl:HOST:PORT  the daemon over TLS (needs the "
           "three options\n"
           "                       below); tcp:HOST:PORT: plain TCP\n"
           "  --format=text|json   output format (default: text)\n"
           "  -t, --timeout=SECS   give up after SECS seconds (default: "
           "wait forever)\n"
           "  --strict             del-flows, mod-flows, dump-flows: match "
           "priority\n"
           "                       and fields exactly\n"
           "  --bundle             add-flows: apply all flows or none\n"
           "  --may-create         mod-group: add the group if it is "
           "missing\n"
           "  --no-stats           dump-flows: omit statistics\n"
           "  --names              dump-flows: print port names\n"
           "  --may-exist          add-br, add-port: no error if it "
           "exists\n"
           "  --if-exists          del-br, del-port: no error if it is "
           "missing\n"
           "  --private-key=FILE   --server=ssl:: this client's key\n"
           "  --certificate=FILE   --server=ssl:: this client's "
           "certificate\n"
           "  --ca-cert=FILE       --server=ssl:: the CA that signed the "
           "daemon's\n"
           "                       certificate\n"
           "  --count=N            capture: stop after N packets\n"
           "  --duration=SECS      capture: stop after SECS seconds\n"
           "  --direction=rx|tx|both  capture: which packets (default: "
           "both)\n"
           "  --filter=EXPR        capture: pcap filter expression\n"
           "  --buffer-size=KB     capture: daemon buffer per direction "
           "(default 4096)\n"
           "  --snaplen=BYTES      capture: keep the first BYTES of each "
           "packet\n"
           "  -m, --more           dump-conntrack: ids, status and both "
           "directions'\n"
           "                       TCP states\n"
           "  -s, --statistics     dump-conntrack: packets, bytes and "
           "timeouts\n"
           "  -h, --help           print this help and exit\n"
           "  -V, --version        print the version and exit\n"
           "\nExit status: 0 on success, 1 on an error, 2 on a usage "
           "error.\n", TS_DEFAULT_CTL);
    exit(0);
}

enum {
    OPT_SERVER = 256, OPT_FORMAT, OPT_STRICT, OPT_BUNDLE, OPT_NO_STATS,
    OPT_NAMES, OPT_NO_NAMES, OPT_MAY_EXIST, OPT_IF_EXISTS, OPT_MAY_CREATE,
    OPT_PRIVATE_KEY, OPT_CERTIFICATE, OPT_CA_CERT, OPT_COUNT, OPT_DURATION,
    OPT_DIRECTION, OPT_FILTER, OPT_BUFFER_SIZE, OPT_SNAPLEN,
};

/* Looks 'name' up in every command table. */
static const struct vsctl_command *
find_command(const char *name)
{
    for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
        if (!strcmp(commands[i].name, name)) {
            return &commands[i];
        }
    }
    for (size_t g = 0; g < ARRAY_SIZE(command_groups); g++) {
        const struct vsctl_command_group *grp = &command_groups[g];
        for (size_t i = 0; i < *grp->n_commands; i++) {
            if (!strcmp(grp->commands[i].name, name)) {
                return &grp->commands[i];
            }
        }
    }
    return NULL;
}

static void
parse_options(struct vsctl_ctx *ctx, int argc, char *argv[])
{
    static const struct option long_options[] = {
        { "server", required_argument, NULL, OPT_SERVER },
        { "db", required_argument, NULL, OPT_SERVER },
        { "format", required_argument, NULL, OPT_FORMAT },
        { "timeout", required_argument, NULL, 't' },
        { "strict", no_argument, NULL, OPT_STRICT },
        { "bundle", no_argument, NULL, OPT_BUNDLE },
        { "no-stats", no_argument, NULL, OPT_NO_STATS },
        { "names", no_argument, NULL, OPT_NAMES },
        { "no-names", no_argument, NULL, OPT_NO_NAMES },
        { "may-exist", no_argument, NULL, OPT_MAY_EXIST },
        { "if-exists", no_argument, NULL, OPT_IF_EXISTS },
        { "may-create", no_argument, NULL, OPT_MAY_CREATE },
        { "private-key", required_argument, NULL, OPT_PRIVATE_KEY },
        { "certificate", required_argument, NULL, OPT_CERTIFICATE },
        { "ca-cert", required_argument, NULL, OPT_CA_CERT },
        { "count", required_argument, NULL, OPT_COUNT },
        { "duration", required_argument, NULL, OPT_DURATION },
        { "direction", required_argument, NULL, OPT_DIRECTION },
        { "filter", required_argument, NULL, OPT_FILTER },
        { "buffer-size", required_argument, NULL, OPT_BUFFER_SIZE },
        { "snaplen", required_argument, NULL, OPT_SNAPLEN },
        { "more", no_argument, NULL, 'm' },
        { "statistics", no_argument, NULL, 's' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    uint64_t secs;

    opterr = 0;
    for (;;) {
        int c = getopt_long(argc, argv, ":t:hVms", long_options, NULL);
        if (c == -1) {
            break;
        }
        switch (c) {
        case OPT_SERVER:
            if (!stream_target_is_valid(optarg)) {
                vsctl_fatal(2, "invalid server '%s' (expected unix:PATH, "
                            "ssl:HOST:PORT or tcp:HOST:PORT)", optarg);
            }
            ctx->server = optarg;
            break;
        case OPT_FORMAT:
            if (!strcmp(optarg, "text")) {
                ctx->json = false;
            } else if (!strcmp(optarg, "json")) {
                ctx->json = true;
            } else {
                vsctl_fatal(2, "unknown format '%s' (expected text or json)",
                            optarg);
            }
            break;
        case 't':
            if (!str_to_u64(optarg, INT32_MAX / 1000, &secs)) {
                vsctl_fatal(2, "invalid timeout '%s' (expected seconds)",
                            optarg);
            }
            ctx->timeout_ms = secs * 1000;
            break;
        case OPT_STRICT: ctx->strict = true; break;
        case OPT_BUNDLE: ctx->bundle = true; break;
        case OPT_NO_STATS: ctx->no_stats = true; break;
        case OPT_NAMES: ctx->names = true; break;
        case OPT_NO_NAMES: ctx->names = false; break;
        case OPT_MAY_EXIST: ctx->may_exist = true; break;
        case OPT_IF_EXISTS: ctx->if_exists = true; break;
        case OPT_MAY_CREATE: ctx->may_create = true; break;
        case OPT_PRIVATE_KEY: ctx->private_key = optarg; break;
        case OPT_CERTIFICATE: ctx->certificate = optarg; break;
        case OPT_CA_CERT: ctx->ca_cert = optarg; break;
        case OPT_COUNT:
            if (!str_to_u64(optarg, UINT64_MAX, &ctx->count)
                || !ctx->count) {
                vsctl_fatal(2, "invalid count '%s' (expected a positive "
                            "number)", optarg);
            }
            break;
        case OPT_DURATION: {
            char *end;
            ctx->duration = strtod(optarg, &end);
            if (*end || end == optarg || !(ctx->duration > 0)
                || ctx->duration > 1e9) {
                vsctl_fatal(2, "invalid duration '%s' (expected seconds)",
                            optarg);
            }
            break;
        }
        case OPT_DIRECTION:
            if (strcmp(optarg, "rx") && strcmp(optarg, "tx")
                && strcmp(optarg, "both")) {
                vsctl_fatal(2, "invalid direction '%s' (expected rx, tx or "
                            "both)", optarg);
            }
            ctx->direction = optarg;
            break;
        case OPT_FILTER: ctx->filter = optarg; break;
        case OPT_SNAPLEN:
            if (!str_to_u64(optarg, 262144, &secs) || secs < 14) {
                vsctl_fatal(2, "invalid snaplen '%s' (expected 14 to 262144 "
                            "bytes)", optarg);
            }
            ctx->snaplen = secs;
            break;
        case OPT_BUFFER_SIZE:
            if (!str_to_u64(optarg, 1024 * 1024, &secs) || secs < 4) {
                vsctl_fatal(2, "invalid buffer size '%s' (expected 4 to "
                            "1048576 kB)", optarg);
            }
            ctx->buffer_kb = secs;
            break;
        case 'm': ctx->more = true; break;
        case 's': ctx->statistics = true; break;
        case 'h':
            usage();
        case 'V':
            vsctl_print_version(ctx);
            exit(0);
        case ':':
            vsctl_fatal(2, "option '%s' needs an argument (try --help)",
                        argv[optind - 1]);
        case '?':
        default:
            vsctl_fatal(2, "unknown option '%s' (try --help)",
                        argv[optind - 1]);
        }
    }
}

int
main(int argc, char *argv[])
{
    static char default_server[] = "unix:" TS_DEFAULT_CTL;
    struct vsctl_ctx ctx = {
        .server = default_server,
        .next_xid = 1,
    };

    ts_set_program_name(argv[0]);
    parse_options(&ctx, argc, argv);
    ctx.start_msec = time_msec();

    if (optind >= argc) {
        vsctl_fatal(2, "missing command (try --help)");
    }
    const char *name = argv[optind];
    int n_args = argc - optind - 1;
    const struct vsctl_command *cmd = find_command(name);
    if (cmd) {
        if (n_args < cmd->min_args || n_args > cmd->max_args
            || (cmd->run == cmd_packet_out && n_args == 3)) {
            vsctl_fatal(2, "'%s': wrong number of arguments (usage: "
                        "%s%s%s)", name, name, *cmd->args ? " " : "",
                        cmd->args);
        }
        cmd->run(&ctx, n_args + 1, argv + optind);
        stream_close(ctx.stream);
        return 0;
    }
    vsctl_fatal(2, "unknown command '%s' (try --help)", name);
}
