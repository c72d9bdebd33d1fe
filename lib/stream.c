/* stream: connections and listeners carrying framed messages: unix
 * sockets here, TCP sockets in stream-tcp.c, TLS in stream-ssl.c.  See
 * stream.h for the contract and stream-private.h for the layout. */
#include "stream.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "errors.h"
#include "stream-private.h"
#include "util.h"

#define STREAM_HDR_LEN 8
#define STREAM_RX_CHUNK 65536

/* ---- Targets ----------------------------------------------------------- */

static int
target_err(char **errp, const char *target, int err, const char *why)
{
    if (errp) {
        *errp = xasprintf("invalid target '%s': %s", target, why);
    }
    return err;
}

/* Parses "PORT", "HOST:PORT" or "[V6]:PORT" ('passive': HOST optional,
 * PORT may be 0) into 't'. */
static int
parse_inet(const char *target, const char *s, bool passive,
           struct stream_target *t, char **errp)
{
    const char *port_str;
    size_t host_len;

    if (*s == '[') {
        const char *end = strchr(s, ']');
        if (!end || end[1] != ':') {
            return target_err(errp, target, -EINVAL,
                              "expected [IPV6]:PORT");
        }
        host_len = end - s - 1;
        s++;
        port_str = end + 2;
    } else {
        const char *colon = strchr(s, ':');
        if (colon && strchr(colon + 1, ':')) {
            return target_err(errp, target, -EINVAL,
                              "put an IPv6 address in brackets");
        }
        if (!colon) {
            if (!passive) {
                return target_err(errp, target, -EINVAL,
                                  "expected HOST:PORT");
            }
            host_len = 0;
            port_str = s;
        } else {
            host_len = colon - s;
            port_str = colon + 1;
        }
    }
    if (host_len >= sizeof t->host) {
        return target_err(errp, target, -ENAMETOOLONG, "host too long");
    }
    if (!host_len && (!passive || port_str != s)) {
        return target_err(errp, target, -EINVAL, "empty host");
    }
    memcpy(t->host, s, host_len);
    t->host[host_len] = '\0';

    uint64_t port;
    if (!str_to_u64(port_str, 65535, &port) || (!port && !passive)) {
        return target_err(errp, target, -EINVAL,
                          passive ? "expected a port from 0 to 65535"
                                  : "expected a port from 1 to 65535");
    }
    t->port = port;
    return 0;
}

int
stream_target_parse(const char *target, bool passive,
                    struct stream_target *t, char **errp)
{
    static const struct {
        const char *prefix;
        enum stream_kind kind;
        bool passive_only;
    } schemes[] = {
        { "unix:", STREAM_KIND_UNIX, false },
        { "punix:", STREAM_KIND_UNIX, true },
        { "tcp:", STREAM_KIND_TCP, false },
        { "ptcp:", STREAM_KIND_TCP, true },
        { "ssl:", STREAM_KIND_SSL, false },
        { "pssl:", STREAM_KIND_SSL, true },
    };

    if (errp) {
        *errp = NULL;
    }
    memset(t, 0, sizeof *t);
    for (size_t i = 0; i < ARRAY_SIZE(schemes); i++) {
        size_t n = strlen(schemes[i].prefix);
        if (strncmp(target, schemes[i].prefix, n)
            || (schemes[i].passive_only && !passive)) {
            continue;
        }
        const char *rest = target + n;
        t->kind = schemes[i].kind;
        if (t->kind != STREAM_KIND_UNIX) {
            return parse_inet(target, rest, passive, t, errp);
        }
        if (!*rest) {
            return target_err(errp, target, -EINVAL, "empty path");
        }
        if (strlen(rest) >= sizeof t->path) {
            return target_err(errp, target, -ENAMETOOLONG,
                              "path too long");
        }
        ts_strlcpy(t->path, rest, sizeof t->path);
        return 0;
    }
    return target_err(errp, target, -EAFNOSUPPORT, passive
                      ? "unsupported target (use punix:PATH, "
                        "pssl:[ADDR:]PORT or ptcp:[ADDR:]PORT)"
                      : "unsupported target (use unix:PATH, "
                        "ssl:HOST:PORT or tcp:HOST:PORT)");
}

bool
stream_target_is_valid(const char *target)
{
    struct stream_target t;
    return !stream_target_parse(target, false, &t, NULL);
}

static void
unix_sockaddr(const struct stream_target *t, struct sockaddr_un *sun)
{
    memset(sun, 0, sizeof *sun);
    sun->sun_family = AF_UNIX;
    ts_strlcpy(sun->sun_path, t->path, sizeof sun->sun_path);
}

static void
set_err(char **errp, const char *what, const char *target, int err)
{
    if (errp) {
        *errp = xasprintf("%s '%s': %s", what, target, ts_strerror(err));
    }
}

struct stream *
stream_create__(int fd, enum stream_kind kind, const char *name)
{
    struct stream *s = xzalloc(sizeof *s);
    s->fd = fd;
    s->kind = kind;
    s->name = xstrdup(name);
    s->established = true;
    return s;
}

static short
poll_flags(int events)
{
    return (events & STREAM_WANT_READ ? POLLIN : 0)
           | (events & STREAM_WANT_WRITE ? POLLOUT : 0);
}

int
stream_wait_fd__(int fd, int events, long long deadline_ms)
{
    for (;;) {
        int timeout = -1;
        if (deadline_ms >= 0) {
            long long left = deadline_ms - time_msec();
            if (left <= 0) {
                return -ETIMEDOUT;
            }
            timeout = left > 1000000 ? 1000000 : (int) left;
        }
        struct pollfd pfd = { .fd = fd, .events = poll_flags(events) };
        int n = poll(&pfd, 1, timeout);
        if (n > 0) {
            return 0;
        } else if (n < 0 && errno != EINTR) {
            return -errno;
        }
    }
}

/* Connects a unix socket, waiting at most 'timeout_ms'.  Returns a
 * non-blocking descriptor or a negative errno. */
static int
unix_connect(const struct sockaddr_un *sun, int timeout_ms)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        return -errno;
    }
    if (connect(fd, (const struct sockaddr *) sun, sizeof *sun) < 0) {
        int err = -errno;
        long long deadline;

        /* A non-blocking unix connect returns EAGAIN when the listen
         * backlog is full; retry until the deadline. */
        if (err != -EAGAIN && err != -EINPROGRESS) {
            close(fd);
            return err;
        }
        deadline = timeout_ms < 0 ? -1 : time_msec() + timeout_ms;
        for (;;) {
            if (deadline >= 0 && time_msec() >= deadline) {
                close(fd);
                return -ETIMEDOUT;
            }
            usleep(10 * 1000);
            if (!connect(fd, (const struct sockaddr *) sun, sizeof *sun)
                || errno == EISCONN) {
                break;
            }
            if (errno != EAGAIN && errno != EINPROGRESS
                && errno != EALREADY) {
                err = -errno;
                close(fd);
                return err;
            }
        }
    }
    return fd;
}

/* Opens a TLS client stream on the connected 'fd' (consumed) and runs
 * the handshake until 'deadline'. */
static int
ssl_open(const char *target, int fd, const struct stream_tls_config *tls,
         long long deadline, struct stream **streamp, char **errp)
{
    struct ssl_ctx_st *ctx;
    int err = stream_ssl_ctx_create(tls, false, &ctx, errp);
    if (err) {
        close(fd);
        return err;
    }
    struct stream *s = stream_create__(fd, STREAM_KIND_SSL, target);
    s->established = false;
    err = stream_ssl_attach(s, ctx);
    stream_ssl_ctx_free(ctx);   /* the SSL object holds a reference */
    while (!err) {
        err = stream_handshake(s);
        if (err != -EAGAIN) {
            break;
        }
        err = stream_wait_fd__(s->fd, s->hs_wait, deadline);
    }
    if (err) {
        if (errp) {
            *errp = xasprintf("cannot connect to '%s': %s", target,
                              s->error ? s->error : ts_strerror(err));
        }
        stream_close(s);
        return err;
    }
    *streamp = s;
    return 0;
}

int
stream_open_tls(const char *target, int timeout_ms,
                const struct stream_tls_config *tls,
                struct stream **streamp, char **errp)
{
    long long deadline = timeout_ms < 0 ? -1 : time_msec() + timeout_ms;
    struct stream_target t;
    struct sockaddr_un sun;
    int fd;

    *streamp = NULL;
    int err = stream_target_parse(target, false, &t, errp);
    if (err) {
        return err;
    }
    switch (t.kind) {
    case STREAM_KIND_UNIX:
        unix_sockaddr(&t, &sun);
        fd = unix_connect(&sun, timeout_ms);
        break;
    case STREAM_KIND_TCP:
    case STREAM_KIND_SSL:
    default:
        if (t.kind == STREAM_KIND_SSL && (!tls || !tls->ca_cert)) {
            if (errp) {
                *errp = xasprintf("cannot connect to '%s': TLS needs the "
                                  "CA certificate (--ca-cert) to verify "
                                  "the server", target);
            }
            return -EINVAL;
        }
        fd = stream_tcp_connect(&t, deadline);
        break;
    }
    if (fd < 0) {
        set_err(errp, "cannot connect to", target, fd);
        return fd;
    }
    if (t.kind == STREAM_KIND_SSL) {
        return ssl_open(target, fd, tls, deadline, streamp, errp);
    }
    *streamp = stream_create__(fd, t.kind, target);
    return 0;
}

int
stream_open(const char *target, int timeout_ms, struct stream **streamp,
            char **errp)
{
    return stream_open_tls(target, timeout_ms, NULL, streamp, errp);
}

int
stream_open_client(const char *target, int *fdp, char **errp)
{
    struct stream *s;
    int err;

    *fdp = -1;
    if (!strncmp(target, "ssl:", 4)) {
        set_err(errp, "cannot connect to", target, -EAFNOSUPPORT);
        return -EAFNOSUPPORT;
    }
    err = stream_open(target, -1, &s, errp);
    if (err) {
        return err;
    }
    int flags = fcntl(s->fd, F_GETFL, 0);
    if (flags < 0 || fcntl(s->fd, F_SETFL, flags & ~O_NONBLOCK) < 0) {
        err = -errno;
        set_err(errp, "cannot connect to", target, err);
        stream_close(s);
        return err;
    }
    *fdp = s->fd;
    s->fd = -1;
    stream_close(s);
    return 0;
}

void
stream_close(struct stream *s)
{
    if (!s) {
        return;
    }
    if (s->ssl) {
        stream_ssl_close(s);
    }
    if (s->fd >= 0) {
        close(s->fd);
    }
    free(s->name);
    free(s->error);
    free(s->peer_subject);
    free(s->rx);
    free(s->tx);
    free(s);
}

const char *
stream_error(const struct stream *s)
{
    return s->error;
}

const char *
stream_peer_subject(const struct stream *s)
{
    return s->peer_subject;
}

int
stream_peer_cred(const struct stream *s, uid_t *uidp, pid_t *pidp)
{
    struct ucred cred;
    socklen_t len = sizeof cred;

    if (s->kind != STREAM_KIND_UNIX) {
        return -EAFNOSUPPORT;
    }
    if (getsockopt(s->fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
        return -errno;
    }
    *uidp = cred.uid;
    *pidp = cred.pid;
    return 0;
}

/* ---- Readiness and handshake ------------------------------------------ */

int
stream_poll_events(const struct stream *s, int want)
{
    int events = 0;

    if (!s->ssl) {
        return want;
    }
    if (!s->established) {
        return s->hs_wait;
    }
    if (want & STREAM_WANT_READ) {
        events |= s->rx_wait ? s->rx_wait : STREAM_WANT_READ;
    }
    if (want & STREAM_WANT_WRITE) {
        events |= s->tx_wait ? s->tx_wait : STREAM_WANT_WRITE;
    }
    return events;
}

bool
stream_is_established(const struct stream *s)
{
    return s->established;
}

int
stream_handshake(struct stream *s)
{
    return s->established ? 0 : stream_ssl_handshake(s);
}

/* Reads up to 'n' bytes: > 0, 0 at the end of the stream, -errno. */
static ssize_t
stream_read__(struct stream *s, void *buf, size_t n)
{
    if (s->ssl) {
        return stream_ssl_recv(s, buf, n);
    }
    for (;;) {
        ssize_t r = read(s->fd, buf, n);
        if (r >= 0) {
            return r;
        } else if (errno != EINTR) {
            return errno == EWOULDBLOCK ? -EAGAIN : -errno;
        }
    }
}

/* Writes up to 'n' bytes: > 0 or -errno. */
static ssize_t
stream_write__(struct stream *s, const void *buf, size_t n)
{
    if (s->ssl) {
        return stream_ssl_send(s, buf, n);
    }
    for (;;) {
        ssize_t r = send(s->fd, buf, n, MSG_NOSIGNAL);
        if (r > 0) {
            return r;
        } else if (r == 0) {
            return -EPIPE;
        } else if (errno != EINTR) {
            return errno == EWOULDBLOCK ? -EAGAIN : -errno;
        }
    }
}

int
stream_fd(const struct stream *s)
{
    return s->fd;
}

const char *
stream_name(const struct stream *s)
{
    return s->name;
}

/* ---- Receiving -------------------------------------------------------- */

/* Returns the length of the whole frame at the head of the buffer, 0 if
 * not even a header is buffered, or -TS_ERR_PROTO for a bad length. */
static int
rx_frame_len(const struct stream *s)
{
    size_t avail = s->rx_end - s->rx_start;
    if (avail < STREAM_HDR_LEN) {
        return 0;
    }
    const uint8_t *h = s->rx + s->rx_start;
    int len = (h[2] << 8) | h[3];
    return len < STREAM_HDR_LEN ? -TS_ERR_PROTO : len;
}

/* Makes room for at least STREAM_RX_CHUNK more bytes at rx_end. */
static void
rx_reserve(struct stream *s)
{
    if (s->rx_start > 0 && s->rx_start == s->rx_end) {
        s->rx_start = s->rx_end = 0;
    }
    if (s->rx_alloc - s->rx_end >= STREAM_RX_CHUNK) {
        return;
    }
    if (s->rx_start > 0) {
        memmove(s->rx, s->rx + s->rx_start, s->rx_end - s->rx_start);
        s->rx_end -= s->rx_start;
        s->rx_start = 0;
    }
    if (s->rx_alloc - s->rx_end < STREAM_RX_CHUNK) {
        s->rx_alloc = s->rx_end + STREAM_RX_CHUNK;
        s->rx = xrealloc(s->rx, s->rx_alloc);
    }
}

int
stream_recv_frame(struct stream *s, const uint8_t **frame, size_t *len)
{
    s->rx_start += s->rx_consume;
    s->rx_consume = 0;

    int err = stream_handshake(s);
    if (err) {
        return err;
    }
    /* Likewise for a TLS write that needed input: reading now is what
     * it waited for; the next flush retries. */
    if (s->tx_wait == STREAM_WANT_READ) {
        s->tx_wait = 0;
    }

    for (;;) {
        int flen = rx_frame_len(s);
        if (flen < 0) {
            return flen;
        }
        if (flen > 0 && s->rx_end - s->rx_start >= (size_t) flen) {
            *frame = s->rx + s->rx_start;
            *len = flen;
            s->rx_consume = flen;
            return 0;
        }

        /* Read only while there is no whole frame, so one fast client
         * cannot make us buffer without bound. */
        rx_reserve(s);
        ssize_t n = stream_read__(s, s->rx + s->rx_end,
                                  s->rx_alloc - s->rx_end);
        if (n > 0) {
            s->rx_end += n;
        } else if (n == 0) {
            return s->rx_end == s->rx_start ? -EPIPE : -TS_ERR_PROTO;
        } else {
            return n;
        }
    }
}

int
stream_recv_frame_block(struct stream *s, long long deadline_ms,
                        const uint8_t **frame, size_t *len)
{
    for (;;) {
        int err = stream_recv_frame(s, frame, len);
        if (err != -EAGAIN) {
            return err;
        }
        err = stream_wait_fd__(s->fd,
                               stream_poll_events(s, STREAM_WANT_READ),
                               deadline_ms);
        if (err) {
            return err;
        }
    }
}

/* ---- Sending ---------------------------------------------------------- */

int
stream_flush(struct stream *s)
{
    int err = stream_handshake(s);
    if (err) {
        return err == -EAGAIN && s->tx_start == s->tx_end ? 0 : err;
    }
    /* A TLS read that needed the socket writable: it is, or the caller
     * would not flush; the next read retries rather than the caller
     * polling for writability forever. */
    if (s->rx_wait == STREAM_WANT_WRITE) {
        s->rx_wait = 0;
    }
    while (s->tx_start < s->tx_end) {
        ssize_t n = stream_write__(s, s->tx + s->tx_start,
                                   s->tx_end - s->tx_start);
        if (n < 0) {
            return n;
        }
        s->tx_start += n;
    }
    s->tx_start = s->tx_end = 0;
    return 0;
}

int
stream_send(struct stream *s, const void *data, size_t len)
{
    if (s->tx_start > 0 && s->tx_start == s->tx_end) {
        s->tx_start = s->tx_end = 0;
    }
    if (s->tx_alloc - s->tx_end < len) {
        if (s->tx_start > 0) {
            memmove(s->tx, s->tx + s->tx_start, s->tx_end - s->tx_start);
            s->tx_end -= s->tx_start;
            s->tx_start = 0;
        }
        if (s->tx_alloc - s->tx_end < len) {
            s->tx_alloc = MAX(s->tx_end + len, 2 * s->tx_alloc);
            s->tx = xrealloc(s->tx, s->tx_alloc);
        }
    }
    memcpy(s->tx + s->tx_end, data, len);
    s->tx_end += len;

    int err = stream_flush(s);
    return err == -EAGAIN ? 0 : err;
}

size_t
stream_tx_backlog(const struct stream *s)
{
    return s->tx_end - s->tx_start;
}

int
stream_send_block(struct stream *s, const void *data, size_t len,
                  long long deadline_ms)
{
    int err = stream_send(s, data, len);
    while (!err && stream_tx_backlog(s)) {
        err = stream_wait_fd__(s->fd,
                               stream_poll_events(s, STREAM_WANT_WRITE),
                               deadline_ms);
        if (!err) {
            err = stream_flush(s);
            if (err == -EAGAIN) {
                err = 0;
            }
        }
    }
    return err;
}

/* ---- Listeners -------------------------------------------------------- */

/* Returns true if something accepts connections at 'sun'. */
static bool
unix_is_live(const struct sockaddr_un *sun)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool live = false;
    if (fd >= 0) {
        live = !connect(fd, (const struct sockaddr *) sun, sizeof *sun)
               || errno == EAGAIN;
        close(fd);
    }
    return live;
}

/* Creates the parent directory of 'path' if it is missing (one level). */
static void
make_parent_dir(const char *path)
{
    char *dir = xstrdup(path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        /* A failure here shows up as bind()'s error, which is reported. */
        (void) mkdir(dir, 0755);
    }
    free(dir);
}

static int
unix_listen(const struct sockaddr_un *sun, const char *path,
            unsigned int mode)
{
    struct stat st;
    int fd, err;

    if (!lstat(path, &st)) {
        if (!S_ISSOCK(st.st_mode)) {
            return -EEXIST;
        }
        if (unix_is_live(sun)) {
            return -EADDRINUSE;
        }
        unlink(path);
    } else {
        make_parent_dir(path);
    }

    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        return -errno;
    }
    /* The file is created by bind() with the umask applied; a restrictive
     * umask during bind() means no client can connect before chmod(). */
    mode_t old_umask = umask(0077);
    int bound = bind(fd, (const struct sockaddr *) sun, sizeof *sun);
    err = bound < 0 ? -errno : 0;
    umask(old_umask);
    if (err) {
        goto err_close;
    }
    if (chmod(path, mode & 07777) < 0 || listen(fd, 64) < 0) {
        err = -errno;
        goto err_unlink;
    }
    return fd;

err_unlink:
    unlink(path);
err_close:
    close(fd);
    return err;
}

static int
listen_err(char **errp, const char *target, int err, char *why)
{
    if (errp) {
        *errp = xasprintf("cannot listen on '%s': %s", target,
                          why ? why
                          : err == -EADDRINUSE
                          ? "another process is listening there"
                          : ts_strerror(err));
    }
    free(why);
    return err;
}

int
stream_listen_tls(const char *target, unsigned int mode,
                  const struct stream_tls_config *tls,
                  struct stream_listener **lp, char **errp)
{
    struct ssl_ctx_st *ctx = NULL;
    struct stream_target t;
    struct sockaddr_un sun;
    char *why = NULL;
    int fd;

    *lp = NULL;
    int err = stream_target_parse(target, true, &t, errp);
    if (err) {
        return err;
    }
    if (t.kind == STREAM_KIND_SSL) {
        if (!tls || !tls->private_key || !tls->certificate
            || !tls->ca_cert) {
            return listen_err(errp, target, -EINVAL, xstrdup(
                "TLS needs a private key, a certificate and a CA "
                "certificate (--private-key, --certificate, --ca-cert)"));
        }
        err = stream_ssl_ctx_create(tls, true, &ctx, &why);
        if (err) {
            return listen_err(errp, target, err, why);
        }
    }
    if (t.kind == STREAM_KIND_UNIX) {
        unix_sockaddr(&t, &sun);
        fd = unix_listen(&sun, t.path, mode);
    } else {
        fd = stream_tcp_listen(&t);
    }
    if (fd < 0) {
        stream_ssl_ctx_free(ctx);
        return listen_err(errp, target, fd, NULL);
    }

    struct stream_listener *l = xzalloc(sizeof *l);
    l->fd = fd;
    l->kind = t.kind;
    l->ssl_ctx = ctx;
    if (t.kind == STREAM_KIND_UNIX) {
        l->name = xstrdup(target);
        l->path = xstrdup(t.path);
    } else {
        l->name = stream_tcp_name(fd, true, t.kind == STREAM_KIND_SSL
                                            ? "pssl" : "ptcp");
    }
    *lp = l;
    return 0;
}

int
stream_listen(const char *target, unsigned int mode,
              struct stream_listener **lp, char **errp)
{
    return stream_listen_tls(target, mode, NULL, lp, errp);
}

int
stream_accept(struct stream_listener *l, struct stream **streamp)
{
    *streamp = NULL;
    for (;;) {
        int fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0 && errno == EINTR) {
            continue;
        } else if (fd < 0) {
            return errno == EWOULDBLOCK ? -EAGAIN : -errno;
        }
        if (l->kind == STREAM_KIND_UNIX) {
            *streamp = stream_create__(fd, l->kind, l->name);
            return 0;
        }
        stream_tcp_set_nodelay(fd);
        char *name = stream_tcp_name(fd, false,
                                     l->kind == STREAM_KIND_SSL
                                     ? "ssl" : "tcp");
        struct stream *s = stream_create__(fd, l->kind, name);
        free(name);
        if (l->kind == STREAM_KIND_SSL) {
            s->server = true;
            s->established = false;
            int err = stream_ssl_attach(s, l->ssl_ctx);
            if (err) {
                stream_close(s);
                return err;
            }
        }
        *streamp = s;
        return 0;
    }
}

int
stream_listener_fd(const struct stream_listener *l)
{
    return l->fd;
}

const char *
stream_listener_name(const struct stream_listener *l)
{
    return l->name;
}

void
stream_listener_close(struct stream_listener *l)
{
    if (!l) {
        return;
    }
    close(l->fd);
    if (l->path) {
        unlink(l->path);
    }
    stream_ssl_ctx_free(l->ssl_ctx);
    free(l->name);
    free(l->path);
    free(l);
}
