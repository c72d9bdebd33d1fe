/* stream: byte-stream connections that carry control-protocol frames.
 *
 * A target names an endpoint: "unix:PATH" today; "tcp:HOST:PORT" and
 * "ssl:HOST:PORT" (OpenSSL, mutual certificates) come next, which is why
 * a connection is an opaque struct stream rather than a bare descriptor:
 * a TLS stream will carry its SSL object behind the same calls.  Listeners
 * take "punix:PATH" or "unix:PATH" (and later "ptcp:", "pssl:").
 *
 * Every stream is non-blocking.  The daemon puts stream_fd() in its event
 * loop and calls stream_recv_frame() when readable and stream_flush() when
 * writable; clients (vsctl) use the *_block helpers, which wait with poll()
 * up to a deadline.
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

/* ---- Clients ---------------------------------------------------------- */

/* Connects to 'target' (blocking for at most 'timeout_ms', < 0: no
 * limit).  Returns 0 and a new stream in '*streamp' (caller owns it; close
 * with stream_close), or a negative errno with '*errp' (if nonnull) set to
 * a malloc'ed message such as "cannot connect to 'unix:/x': No such file
 * or directory". */
int stream_open(const char *target, int timeout_ms, struct stream **streamp,
                char **errp);

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
/* Accepts one pending connection.  Returns 0 and a new non-blocking
 * stream in '*streamp' (caller owns it), -EAGAIN if none is pending, or a
 * negative errno. */
int stream_accept(struct stream_listener *, struct stream **streamp);
int stream_listener_fd(const struct stream_listener *);
const char *stream_listener_name(const struct stream_listener *);
/* Closes the listener and removes its socket file.  Accepts NULL. */
void stream_listener_close(struct stream_listener *);

/* ---- Targets ----------------------------------------------------------- */

/* True if 'target' has a syntax this build can open (client side). */
bool stream_target_is_valid(const char *target);

#endif /* stream.h */
