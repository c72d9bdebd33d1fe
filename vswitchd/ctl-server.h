/* ctl-server: the daemon's control connections, on a libev loop.
 *
 * What: listens on a control target (ctl-proto over stream.h), accepts
 * clients, reads frames without blocking, decodes and dispatches each
 * request to the bridge set, and queues replies.  Also runs the periodic
 * bridge work (ofproto_run) from a timer, woken early by datapath workers
 * through an ev_async.
 *
 * Robustness: a malformed message gets an ERROR reply and the connection
 * stays up (unless its framing itself is broken, then it is closed); no
 * client input can take the daemon down.  Replies go to a per-client
 * output queue bounded by 'max_backlog': a client that stops reading
 * while its queue overflows is disconnected with a log line.  Big dumps
 * are produced in slices while the queue is short, and the client's next
 * requests wait until its dump is done, so replies stay in order.
 *
 * Who calls it: main.c and pipeline tests; everything runs in the thread
 * that runs the loop. */
#ifndef TS_VSWITCHD_CTL_SERVER_H
#define TS_VSWITCHD_CTL_SERVER_H 1

#include <stdbool.h>
#include <stddef.h>

struct bridge_set;
struct dpif_ct_snapshotter;
struct db;
struct ev_loop;
struct ctl_server;

struct ctl_server_config {
    const char *target;         /* "unix:PATH", always listened on */
    unsigned int mode;          /* socket file mode, 0: 0600 */
    /* More listeners: "pssl:[ADDR:]PORT" (also "ssl:") or, only when
     * asked for explicitly, plain "ptcp:[ADDR:]PORT" (also "tcp:"; warned
     * about in the log).  TLS clients must finish their handshake within
     * CTL_HANDSHAKE_TIMEOUT seconds. */
    const char *const *listen;
    size_t n_listen;
    /* PEM files for pssl: listeners (stream.h); borrowed during
     * ctl_server_create(). */
    const char *private_key, *certificate, *ca_cert;
    size_t max_backlog;         /* bytes per client, 0: 16 MiB */
    int run_interval_ms;        /* periodic bridge work, 0: 500 */
    int probe_interval_ms;      /* ECHO probe after this much silence,
                                 * disconnect after twice it; 0: 5000,
                                 * < 0: never */
    struct dpif_ct_snapshotter *ct_snapshot;   /* borrowed; NULL: none.
                                 * CTL_RESTART saves it before its OK;
                                 * status shows it */
};

/* A TLS client that has not finished its handshake after this many
 * seconds is dropped. */
#define CTL_HANDSHAKE_TIMEOUT 10.0

/* The unix socket accepts only root and the daemon's own user (checked
 * with SO_PEERCRED besides the socket file's mode); another user gets an
 * ERROR message saying so and is disconnected, with a log line.
 *
 * Listens on cfg->target and registers watchers on 'loop'.  'bridges' and
 * 'db' are borrowed and must outlive the server.  Returns 0 or a negative
 * errno with '*errp' set (malloc'ed), e.g. when another daemon answers
 * on the socket. */
int ctl_server_create(struct ev_loop *loop, struct bridge_set *bridges,
                      struct db *db, const struct ctl_server_config *cfg,
                      struct ctl_server **serverp, char **errp);
/* Disconnects every client, stops the watchers, closes the listener and
 * removes its socket file.  Accepts NULL. */
void ctl_server_destroy(struct ctl_server *);
size_t ctl_server_n_clients(const struct ctl_server *);
/* True once a client asked for CTL_RESTART and got its OK: the server
 * has broken the loop, and the caller tears down and re-executes. */
bool ctl_server_restart_requested(const struct ctl_server *);

#endif /* vswitchd/ctl-server.h */
