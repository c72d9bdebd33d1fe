/* stream-private: what stream.c, stream-tcp.c and stream-ssl.c share.
 * Nobody else includes this; see stream.h for the public contract.
 *
 * A stream is a descriptor plus buffers.  A TLS stream also has an SSL
 * object ('ssl'); stream.c calls the stream_ssl_* functions for its I/O
 * instead of read()/send().  The *_wait fields remember which readiness
 * a blocked TLS operation needs (a read may need the socket writable). */
#ifndef TS_STREAM_PRIVATE_H
#define TS_STREAM_PRIVATE_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "stream.h"

struct ssl_st;
struct ssl_ctx_st;

struct stream {
    int fd;
    enum stream_kind kind;
    char *name;
    bool established;           /* plain: always; TLS: handshake done */
    bool server;                /* accepted (not opened) */

    struct ssl_st *ssl;         /* TLS only, else NULL */
    int hs_wait;                /* STREAM_WANT_*: the handshake waits */
    int rx_wait, tx_wait;       /* STREAM_WANT_*, 0: the natural one */
    char *error;                /* last TLS failure, or NULL */
    char *peer_subject;         /* after a TLS handshake, or NULL */

    /* Receive buffer: bytes [rx_start, rx_end) of rx are unconsumed. */
    uint8_t *rx;
    size_t rx_start, rx_end, rx_alloc;
    size_t rx_consume;          /* frame handed out last call, to drop */

    /* Transmit queue: bytes [tx_start, tx_end) of tx wait to be sent. */
    uint8_t *tx;
    size_t tx_start, tx_end, tx_alloc;
};

struct stream_listener {
    int fd;
    enum stream_kind kind;
    char *name;
    char *path;                 /* unix socket file to unlink, or NULL */
    struct ssl_ctx_st *ssl_ctx; /* pssl: only */
};

/* stream.c */
struct stream *stream_create__(int fd, enum stream_kind, const char *name);
/* Waits until 'fd' has one of the STREAM_WANT_* 'events' or the deadline
 * (time_msec() scale, < 0: none) passes: 0, -ETIMEDOUT or -errno. */
int stream_wait_fd__(int fd, int events, long long deadline_ms);

/* stream-tcp.c: plain sockets for tcp: and ssl: targets. */
/* Connects to t->host:t->port, trying each address, waiting at most
 * until 'deadline_ms'.  Returns a non-blocking descriptor or -errno. */
int stream_tcp_connect(const struct stream_target *, long long deadline_ms);
/* Binds and listens.  Returns a non-blocking descriptor or -errno. */
int stream_tcp_listen(const struct stream_target *);
/* Sets TCP_NODELAY (control messages are small and latency-bound). */
void stream_tcp_set_nodelay(int fd);
/* "SCHEME:ADDR:PORT" of the local ('local') or remote end of 'fd';
 * caller frees. */
char *stream_tcp_name(int fd, bool local, const char *scheme);

/* stream-ssl.c */
/* Builds a context for a listener ('server') or a client from 'tls'.
 * Returns 0 or a negative errno with '*errp' saying which file failed. */
int stream_ssl_ctx_create(const struct stream_tls_config *, bool server,
                          struct ssl_ctx_st **, char **errp);
void stream_ssl_ctx_free(struct ssl_ctx_st *);
/* Gives 's' (established == false) an SSL object on its descriptor, in
 * the accept ('s->server') or connect state.  Returns 0 or -ENOMEM. */
int stream_ssl_attach(struct stream *, struct ssl_ctx_st *);
int stream_ssl_handshake(struct stream *);
/* Like read() and send() but with TLS: bytes (> 0), 0 at the end of the
 * stream (receive only), or a negative errno (-EAGAIN: wait for
 * s->rx_wait / s->tx_wait). */
ssize_t stream_ssl_recv(struct stream *, void *, size_t);
ssize_t stream_ssl_send(struct stream *, const void *, size_t);
/* Sends close_notify if it fits without blocking and frees the SSL. */
void stream_ssl_close(struct stream *);

#endif /* stream-private.h */
