/* stream: byte-stream connections that carry control-protocol frames.
 *
 * A target names an endpoint.  Clients open "unix:PATH", "tcp:HOST:PORT"
 * or "ssl:HOST:PORT"; listeners take "punix:PATH" (or "unix:PATH"),
 * "ptcp:[ADDR:]PORT" and "pssl:[ADDR:]PORT" (also spelled "tcp:" and
 * "ssl:").  HOST and ADDR are a name, an IPv4 address or an IPv6 address
 * in brackets; a listener without ADDR binds 0.0.0.0; a listener's PORT
 * may be 0 (the kernel picks one; stream_listener_name() shows it).
 *
 * TLS ("ssl:", stream-ssl.c) uses OpenSSL, TLS 1.2 or later, with
 * certificates on both sides: a listener requires a client certificate
 * signed by its CA (the handshake fails otherwise, before any frame is
 * delivered), a client verifies the server's certificate against its CA.
 * Host names are not checked against the certificate (as in Open
 * vSwitch): the CA is the trust anchor, so use a CA of your own.  The
 * handshake is non-blocking: stream_recv_frame() and stream_flush() drive
 * it, and stream_poll_events() says which readiness it waits for, so a
 * daemon never blocks on a slow peer.  A connection is a struct stream
 * rather than a bare descriptor so that TLS hides behind the same calls.
 *
 * Every stream is non-blocking.  The daemon puts stream_fd() in its event
 * loop, waiting for stream_poll_events(), and calls stream_recv_frame()
 * when readable and stream_flush() when writable; clients (vsctl) use the
 * *_block helpers, which wait with poll() up to a deadline.
 *
 * Framing: a frame starts with the control-protocol header (ctl-proto.h):
 * byte 2-3 hold the frame length, big-endian, header included, at least 8.
 * The stream accumulates bytes and hands out whole frames only; it does
 * not interpret anything else.
 *
 * Threads: a stream or listener belongs to one thread at a time. */
#ifndef TS_STREAM_H
#define TS_STREAM_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct stream;
struct stream_listener;

/* TLS settings: PEM file names, borrowed for the duration of the call
 * that takes them.  A "pssl:" listener needs all three.  An "ssl:" client
 * needs 'ca_cert' (to verify the server) and normally the other two; one
 * without a certificate connects, but a listener refuses it. */
struct stream_tls_config {
    const char *private_key;
    const char *certificate;
    const char *ca_cert;
};

/* ---- Clients ---------------------------------------------------------- */

/* Connects to 'target' (blocking for at most 'timeout_ms', < 0: no
 * limit).  Returns 0 and a new stream in '*streamp' (caller owns it; close
 * with stream_close), or a negative errno with '*errp' (if nonnull) set to
 * a malloc'ed message such as "cannot connect to 'unix:/x': No such file
 * or directory". */
int stream_open(const char *target, int timeout_ms, struct stream **streamp,
                char **errp);

/* Same, with TLS settings for "ssl:" targets ('tls' may be NULL for
 * other targets).  For "ssl:" the TLS handshake completes (and the
 * server's certificate is verified) before this returns; with TLS 1.3 the
 * server checks the client's certificate after that, so a refusal shows
 * up as an error on the first receive, with stream_error() saying why. */
int stream_open_tls(const char *target, int timeout_ms,
                    const struct stream_tls_config *tls,
                    struct stream **streamp, char **errp);

/* Convenience for a unix target when only a descriptor is wanted: connects
 * and returns a blocking descriptor in '*fdp' (caller closes it).  Same
 * errors as stream_open().  Not usable for TLS targets. */
int stream_open_client(const char *target, int *fdp, char **errp);

/* Closes the connection and frees 's'.  Accepts NULL. */
void stream_close(struct stream *s);

/* The descriptor to watch (borrowed; valid until stream_close). */
int stream_fd(const struct stream *s);
/* A printable name of the peer/endpoint ("unix:/run/x.ctl"); borrowed. */
const char *stream_name(const struct stream *s);

/* Why the last TLS operation on 's' failed ("TLS handshake failed:
 * certificate verify failed (certificate has expired)"), or NULL.
 * Borrowed until the next call on 's'. */
const char *stream_error(const struct stream *s);
/* The peer certificate's subject ("CN=client,O=Trackswitch") once a TLS
 * handshake is done, else NULL.  Borrowed until stream_close(). */
const char *stream_peer_subject(const struct stream *s);
/* The credentials of the peer of a unix stream (SO_PEERCRED).  Returns 0
 * or -EAFNOSUPPORT for other kinds of stream, or another negative errno. */
int stream_peer_cred(const struct stream *s, uid_t *uidp, pid_t *pidp);

/* ---- Readiness and the TLS handshake ---------------------------------- */

#define STREAM_WANT_READ 1      /* the caller wants frames */
#define STREAM_WANT_WRITE 2     /* the caller has a backlog to flush */

/* Returns the readiness (STREAM_WANT_READ/WRITE bits: readable, writable)
 * to wait for on stream_fd() given what the caller wants ('want'), or 0
 * if nothing.  Plain streams return 'want'.  A TLS stream in its
 * handshake returns what the handshake waits for, whatever 'want' is; an
 * established one may swap a direction (a TLS read can need a write). */
int stream_poll_events(const struct stream *s, int want);
/* True once the stream carries frames: at once for plain streams, after
 * the handshake for TLS. */
bool stream_is_established(const struct stream *s);
/* Advances the TLS handshake.  Returns 0 once established, -EAGAIN while
 * it waits for stream_poll_events(), or a negative errno (-EPROTO for a
 * TLS failure, with stream_error() saying why).  stream_recv_frame() and
 * stream_flush() call it themselves; calling it is never required. */
int stream_handshake(struct stream *s);

/* ---- Frames, non-blocking --------------------------------------------- */

/* Reads what is available and, if a whole frame is buffered, returns 0
 * with '*frame' and '*len' describing it.  The frame is borrowed until the
 * next call on 's'.  Returns -EAGAIN if no whole frame is available yet,
 * -EPIPE on a clean end of stream between frames, -TS_ERR_PROTO on an
 * end of stream inside a frame or a length field below the header size,
 * or another negative errno.  Call again until -EAGAIN: several frames
 * may be buffered. */
int stream_recv_frame(struct stream *s, const uint8_t **frame, size_t *len);

/* Queues 'len' bytes (one or more whole frames) and writes as much as
 * the socket accepts now.  Returns 0 (all sent or the rest queued) or a
 * negative errno (the connection is broken; the caller closes it). */
int stream_send(struct stream *s, const void *data, size_t len);
/* Writes queued bytes.  Returns 0 when nothing remains queued, -EAGAIN if
 * some does (wait for writability), or a negative errno. */
int stream_flush(struct stream *s);
/* Bytes queued but not yet written; a daemon producing a big dump stops
 * producing while this is large. */
size_t stream_tx_backlog(const struct stream *s);

/* ---- Blocking helpers (clients) ---------------------------------------- */

/* Sends all of 'data' waiting at most until 'deadline_ms' (time_msec()
 * scale; < 0: forever).  Returns 0, -ETIMEDOUT or a negative errno. */
int stream_send_block(struct stream *s, const void *data, size_t len,
                      long long deadline_ms);
/* Waits for one whole frame until 'deadline_ms' (< 0: forever).  Same
 * results as stream_recv_frame() plus -ETIMEDOUT, never -EAGAIN. */
int stream_recv_frame_block(struct stream *s, long long deadline_ms,
                            const uint8_t **frame, size_t *len);

/* ---- Listeners -------------------------------------------------------- */

/* Listens on 'target'.  For unix targets the socket file gets 'mode'
 * (e.g. 0600) before any client can connect; a stale socket file (nobody
 * accepting) is replaced, a live one is -EADDRINUSE; a missing parent
 * directory is created (0755).  Returns 0 and '*lp' (caller owns it), or
 * a negative errno with '*errp' (if nonnull) set to a malloc'ed message. */
int stream_listen(const char *target, unsigned int mode,
                  struct stream_listener **lp, char **errp);
/* Same, with TLS settings (required for "pssl:", else may be NULL).  The
 * key, certificate and CA are loaded now: a bad file is an error here,
 * not at the first connection. */
int stream_listen_tls(const char *target, unsigned int mode,
                      const struct stream_tls_config *tls,
                      struct stream_listener **lp, char **errp);
/* Accepts one pending connection.  Returns 0 and a new non-blocking
 * stream in '*streamp' (caller owns it), -EAGAIN if none is pending, or a
 * negative errno.  A TLS stream starts its handshake: bound its duration
 * (a peer may never finish it) and watch stream_poll_events().  Its name
 * is "ssl:ADDR:PORT" of the peer (tcp likewise, unix: the listener's). */
int stream_accept(struct stream_listener *, struct stream **streamp);
int stream_listener_fd(const struct stream_listener *);
const char *stream_listener_name(const struct stream_listener *);
/* Closes the listener and removes its socket file (unix).  Accepts
 * NULL. */
void stream_listener_close(struct stream_listener *);

/* ---- Targets ----------------------------------------------------------- */

enum stream_kind {
    STREAM_KIND_UNIX,
    STREAM_KIND_TCP,            /* plain TCP: no authentication at all */
    STREAM_KIND_SSL,
};

/* A parsed target. */
struct stream_target {
    enum stream_kind kind;
    char path[108];             /* unix: the socket file */
    char host[256];             /* tcp/ssl: without brackets; "" for a
                                 * listener on every address */
    uint16_t port;
};

/* Parses 'target' as a client ('passive' false) or listener target.
 * Returns 0, -EAFNOSUPPORT for an unknown scheme, -EINVAL for a bad
 * host or port, -ENAMETOOLONG; '*errp' (if nonnull) gets a malloc'ed
 * message on failure. */
int stream_target_parse(const char *target, bool passive,
                        struct stream_target *, char **errp);
/* True if 'target' has a syntax this build can open (client side). */
bool stream_target_is_valid(const char *target);

#endif /* stream.h */
