/* vsctl-admin: restart and other daemon management.
 *
 * restart: the daemon saves its conntrack snapshot, answers OK, closes
 * every connection and re-executes its binary (docs/vswitchd.8,
 * "RESTART").  We then wait for our connection to close (the old daemon
 * is gone) and for a daemon to answer a status request on the same
 * target: only a full answer counts, since a connection queued on the
 * old listener just before it closed is accepted by nobody. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "dynamic-string.h"
#include "stream.h"
#include "vsctl.h"

/* How long restart waits without --timeout. */
#define VSCTL_RESTART_TIMEOUT_MS 60000
/* Between two attempts to reach the new daemon. */
#define VSCTL_RESTART_POLL_MS 50

static bool
admin_send(struct stream *s, const struct ctl_msg *msg, long long deadline)
{
    struct ds buf = DS_EMPTY_INITIALIZER;
    bool ok = !ctl_msg_encode(msg, &buf)
              && !stream_send_block(s, buf.string, buf.length, deadline);

    ds_destroy(&buf);
    return ok;
}

/* Receives one message of type 'type' (skipping echo probes). */
static bool
admin_recv(struct stream *s, int type, long long deadline)
{
    for (;;) {
        const uint8_t *frame;
        struct ctl_msg msg;
        size_t len;
        bool match;

        if (stream_recv_frame_block(s, deadline, &frame, &len)
            || ctl_msg_decode(frame, len, &msg, NULL)) {
            return false;
        }
        match = msg.type == type;
        if (msg.type == CTL_ECHO_REQUEST) {
            struct ctl_msg reply;

            ctl_msg_init(&reply, CTL_ECHO_REPLY, msg.xid);
            admin_send(s, &reply, deadline);
            ctl_msg_release(&reply);
            ctl_msg_release(&msg);
            continue;
        }
        ctl_msg_release(&msg);
        return match;
    }
}

/* Does a daemon answer a status request on ctx->server now? */
static bool
admin_probe(struct vsctl_ctx *ctx, long long deadline)
{
    struct stream_tls_config tls = {
        .private_key = ctx->private_key,
        .certificate = ctx->certificate,
        .ca_cert = ctx->ca_cert,
    };
    struct stream *s = NULL;
    struct ctl_msg msg;
    bool ok;
    long long left = deadline - time_msec();

    if (left <= 0 || stream_open_tls(ctx->server, MIN(left, 1000), &tls, &s,
                                     NULL)) {
        return false;
    }
    ctl_msg_init_hello(&msg, 1);
    ok = admin_send(s, &msg, deadline) && admin_recv(s, CTL_HELLO, deadline);
    ctl_msg_release(&msg);
    if (ok) {
        ctl_msg_init(&msg, CTL_STATUS_REQUEST, 2);
        ok = admin_send(s, &msg, deadline)
             && admin_recv(s, CTL_STATUS_REPLY, deadline);
        ctl_msg_release(&msg);
    }
    stream_close(s);
    return ok;
}

static void
cmd_restart(struct vsctl_ctx *ctx, int argc, char *argv[])
{
    int timeout = ctx->timeout_ms > 0 ? ctx->timeout_ms
                                      : VSCTL_RESTART_TIMEOUT_MS;
    long long deadline = time_msec() + timeout;
    struct ctl_msg req;

    ctl_msg_init(&req, CTL_RESTART, 0);
    vsctl_transact(ctx, &req, CTL_OK, NULL);
    ctl_msg_release(&req);

    /* The old daemon closes every connection as it goes. */
    for (;;) {
        const uint8_t *frame;
        size_t len;
        int err = stream_recv_frame_block(ctx->stream, deadline, &frame,
                                          &len);
        if (err == -ETIMEDOUT) {
            vsctl_fatal(1, "daemon at '%s' did not stop within %d seconds "
                        "after accepting the restart", ctx->server,
                        timeout / 1000);
        } else if (err) {
            break;
        }
    }
    stream_close(ctx->stream);
    ctx->stream = NULL;

    while (!admin_probe(ctx, deadline)) {
        if (time_msec() >= deadline) {
            vsctl_fatal(1, "daemon at '%s' did not come back within %d "
                        "seconds of the restart (see its log)",
                        ctx->server, timeout / 1000);
        }
        usleep(VSCTL_RESTART_POLL_MS * 1000);
    }
}

const struct vsctl_command vsctl_admin_commands[] = {
    { "restart", 0, 0, cmd_restart, "",
      "save the connection table, restart the daemon (its binary may "
      "have been upgraded) and wait until it answers" },
};
const size_t vsctl_admin_n_commands = ARRAY_SIZE(vsctl_admin_commands);
