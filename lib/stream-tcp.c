/* stream-tcp: TCP sockets under "tcp:" and "ssl:" streams (stream.h).
 *
 * Connecting resolves HOST with getaddrinfo() (which may block: clients
 * only) and tries each address until the deadline.  Listening binds a
 * numeric or resolvable ADDR, or 0.0.0.0 when there is none, with
 * SO_REUSEADDR so a restarted daemon gets its port back at once. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "stream-private.h"
#include "util.h"

/* Resolves 't'.  Returns 0 and a list the caller frees with freeaddrinfo,
 * or a negative errno (-EADDRNOTAVAIL when the name does not resolve). */
static int
resolve(const struct stream_target *t, bool passive, struct addrinfo **aip)
{
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC,
        .ai_socktype = SOCK_STREAM,
        .ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0),
    };
    char port[8];

    snprintf(port, sizeof port, "%u", (unsigned int) t->port);
    const char *host = t->host[0] ? t->host : passive ? "0.0.0.0" : NULL;
    int r = getaddrinfo(host, port, &hints, aip);
    if (r == EAI_SYSTEM) {
        return -errno;
    }
    return r ? -EADDRNOTAVAIL : 0;
}

/* Finishes a non-blocking connect of 'fd' by 'deadline_ms'. */
static int
connect_wait(int fd, long long deadline_ms)
{
    int err = stream_wait_fd__(fd, STREAM_WANT_WRITE, deadline_ms);
    int so_error = 0;
    socklen_t len = sizeof so_error;

    if (err) {
        return err;
    }
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len) < 0) {
        return -errno;
    }
    return -so_error;
}

void
stream_tcp_set_nodelay(int fd)
{
    int on = 1;
    /* Only latency depends on it; a failure is harmless. */
    (void) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
}

int
stream_tcp_connect(const struct stream_target *t, long long deadline_ms)
{
    struct addrinfo *ai, *p;
    int err = resolve(t, false, &ai);

    if (err) {
        return err;
    }
    err = -EADDRNOTAVAIL;
    for (p = ai; p; p = p->ai_next) {
        int fd = socket(p->ai_family,
                        p->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                        p->ai_protocol);
        if (fd < 0) {
            err = -errno;
            continue;
        }
        if (connect(fd, p->ai_addr, p->ai_addrlen) < 0) {
            err = errno == EINPROGRESS ? connect_wait(fd, deadline_ms)
                                       : -errno;
        } else {
            err = 0;
        }
        if (!err) {
            stream_tcp_set_nodelay(fd);
            freeaddrinfo(ai);
            return fd;
        }
        close(fd);
        if (err == -ETIMEDOUT) {
            break;
        }
    }
    freeaddrinfo(ai);
    return err;
}

int
stream_tcp_listen(const struct stream_target *t)
{
    struct addrinfo *ai;
    int err = resolve(t, true, &ai);
    int fd, on = 1;

    if (err) {
        return err;
    }
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC
                | SOCK_NONBLOCK, ai->ai_protocol);
    if (fd < 0) {
        err = -errno;
        goto out;
    }
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) < 0
        || bind(fd, ai->ai_addr, ai->ai_addrlen) < 0
        || listen(fd, 64) < 0) {
        err = -errno;
        close(fd);
        goto out;
    }
    err = fd;
out:
    freeaddrinfo(ai);
    return err;
}

char *
stream_tcp_name(int fd, bool local, const char *scheme)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    char host[INET6_ADDRSTRLEN + 2] = "?";
    unsigned int port = 0;
    int r = local ? getsockname(fd, (struct sockaddr *) &ss, &len)
                  : getpeername(fd, (struct sockaddr *) &ss, &len);

    if (!r && ss.ss_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *) &ss;
        inet_ntop(AF_INET, &sin->sin_addr, host, sizeof host);
        port = ntohs(sin->sin_port);
    } else if (!r && ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *) &ss;
        char addr[INET6_ADDRSTRLEN];
        inet_ntop(AF_INET6, &sin6->sin6_addr, addr, sizeof addr);
        snprintf(host, sizeof host, "[%.*s]",
                 (int) sizeof host - 3, addr);
        port = ntohs(sin6->sin6_port);
    }
    return xasprintf("%s:%s:%u", scheme, host, port);
}
