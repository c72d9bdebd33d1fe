/* stream: unix-socket connections and listeners carrying framed messages.
 * See stream.h for the contract. */
#include "stream.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "errors.h"
#include "util.h"

#define STREAM_HDR_LEN 8
#define STREAM_RX_CHUNK 65536

/* The class of a connection.  Only unix exists; TCP and TLS add their
 * own read/write functions here. */
struct stream {
    int fd;
    char *name;

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
    char *name;
    char *path;                 /* unix socket file to unlink on close */
};

/* Parses "unix:PATH" (or, if 'passive', also "punix:PATH") into 'sun'.
 * Returns 0, -EAFNOSUPPORT for another scheme, -ENAMETOOLONG. */
static int
parse_unix_target(const char *target, bool passive, struct sockaddr_un *sun,
                  const char **pathp)
{
    const char *path;

    if (!strncmp(target, "unix:", 5)) {
        path = target + 5;
    } else if (passive && !strncmp(target, "punix:", 6)) {
        path = target + 6;
    } else {
        return -EAFNOSUPPORT;
    }
    if (!*path) {
        return -EINVAL;
    }
    if (strlen(path) >= sizeof sun->sun_path) {
        return -ENAMETOOLONG;
    }
    memset(sun, 0, sizeof *sun);
    sun->sun_family = AF_UNIX;
    ts_strlcpy(sun->sun_path, path, sizeof sun->sun_path);
    *pathp = path;
    return 0;
}

static void
set_err(char **errp, const char *what, const char *target, int err)
{
    if (errp) {
        *errp = xasprintf("%s '%s': %s", what, target,
                          err == -EAFNOSUPPORT
                          ? "unsupported target (use unix:PATH)"
                          : ts_strerror(err));
    }
}

static struct stream *
stream_create__(int fd, const char *name)
{
    struct stream *s = xzalloc(sizeof *s);
    s->fd = fd;
    s->name = xstrdup(name);
    return s;
}

bool
stream_target_is_valid(const char *target)
{
    struct sockaddr_un sun;
    const char *path;
    return !parse_unix_target(target, false, &sun, &path);
}

static int
wait_fd(int fd, short events, long long deadline_ms)
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
        struct pollfd pfd = { .fd = fd, .events = events };
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

int
stream_open(const char *target, int timeout_ms, struct stream **streamp,
            char **errp)
{
    struct sockaddr_un sun;
    const char *path;
    int fd;

    *streamp = NULL;
    if (errp) {
        *errp = NULL;
    }
    int err = parse_unix_target(target, false, &sun, &path);
    if (err) {
        set_err(errp, "cannot connect to", target, err);
        return err;
    }
    fd = unix_connect(&sun, timeout_ms);
    if (fd < 0) {
        set_err(errp, "cannot connect to", target, fd);
        return fd;
    }
    *streamp = stream_create__(fd, target);
    return 0;
}

int
stream_open_client(const char *target, int *fdp, char **errp)
{
    struct stream *s;
    int err = stream_open(target, -1, &s, errp);

    *fdp = -1;
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
    if (s->fd >= 0) {
        close(s->fd);
    }
    free(s->name);
    free(s->rx);
    free(s->tx);
    free(s);
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
        ssize_t n = read(s->fd, s->rx + s->rx_end, s->rx_alloc - s->rx_end);
        if (n > 0) {
            s->rx_end += n;
        } else if (n == 0) {
            return s->rx_end == s->rx_start ? -EPIPE : -TS_ERR_PROTO;
        } else if (errno == EINTR) {
            continue;
        } else {
            return errno == EWOULDBLOCK ? -EAGAIN : -errno;
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
        err = wait_fd(s->fd, POLLIN, deadline_ms);
        if (err) {
            return err;
        }
    }
}

/* ---- Sending ---------------------------------------------------------- */

int
stream_flush(struct stream *s)
{
    while (s->tx_start < s->tx_end) {
        ssize_t n = send(s->fd, s->tx + s->tx_start, s->tx_end - s->tx_start,
                         MSG_NOSIGNAL);
        if (n > 0) {
            s->tx_start += n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return -EAGAIN;
        } else {
            return n < 0 ? -errno : -EPIPE;
        }
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
        err = wait_fd(s->fd, POLLOUT, deadline_ms);
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

int
stream_listen(const char *target, unsigned int mode,
              struct stream_listener **lp, char **errp)
{
    struct sockaddr_un sun;
    const char *path;

    *lp = NULL;
    if (errp) {
        *errp = NULL;
    }
    int err = parse_unix_target(target, true, &sun, &path);
    if (!err) {
        err = unix_listen(&sun, path, mode);
    }
    if (err < 0) {
        if (errp) {
            *errp = xasprintf("cannot listen on '%s': %s", target,
                              err == -EAFNOSUPPORT
                              ? "unsupported target (use punix:PATH)"
                              : err == -EADDRINUSE
                              ? "another process is listening there"
                              : ts_strerror(err));
        }
        return err;
    }

    struct stream_listener *l = xzalloc(sizeof *l);
    l->fd = err;
    l->name = xstrdup(target);
    l->path = xstrdup(path);
    *lp = l;
    return 0;
}

int
stream_accept(struct stream_listener *l, struct stream **streamp)
{
    *streamp = NULL;
    for (;;) {
        int fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd >= 0) {
            *streamp = stream_create__(fd, l->name);
            return 0;
        }
        if (errno == EINTR) {
            continue;
        }
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
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
    unlink(l->path);
    free(l->name);
    free(l->path);
    free(l);
}
