/* Unit tests for stream.h: target parsing, plain TCP and TLS streams
 * (handshake outcomes, frames across TLS, readiness during the
 * handshake).  Certificates come from the openssl command line into a
 * temporary directory; the server side of each TLS test runs in a thread
 * that drives its stream without blocking, as the daemon does. */
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "errors.h"
#include "stream.h"
#include "util.h"

/* ---- Target parsing ----------------------------------------------------- */

struct parse_case {
    const char *target;
    bool passive;
    int err;                    /* expected result */
    enum stream_kind kind;
    const char *host_or_path;
    unsigned int port;
};

static const struct parse_case parse_cases[] = {
    { "unix:/run/x.ctl", false, 0, STREAM_KIND_UNIX, "/run/x.ctl", 0 },
    { "punix:/run/x.ctl", true, 0, STREAM_KIND_UNIX, "/run/x.ctl", 0 },
    { "unix:/run/x.ctl", true, 0, STREAM_KIND_UNIX, "/run/x.ctl", 0 },
    { "punix:/run/x.ctl", false, -EAFNOSUPPORT, 0, NULL, 0 },
    { "unix:", false, -EINVAL, 0, NULL, 0 },
    { "ssl:10.0.0.1:6640", false, 0, STREAM_KIND_SSL, "10.0.0.1", 6640 },
    { "tcp:example.com:1", false, 0, STREAM_KIND_TCP, "example.com", 1 },
    { "ssl:[::1]:6640", false, 0, STREAM_KIND_SSL, "::1", 6640 },
    { "ssl:::1:6640", false, -EINVAL, 0, NULL, 0 },
    { "ssl:10.0.0.1", false, -EINVAL, 0, NULL, 0 },
    { "ssl:10.0.0.1:", false, -EINVAL, 0, NULL, 0 },
    { "ssl:10.0.0.1:0", false, -EINVAL, 0, NULL, 0 },
    { "ssl:10.0.0.1:65536", false, -EINVAL, 0, NULL, 0 },
    { "ssl:10.0.0.1:66x", false, -EINVAL, 0, NULL, 0 },
    { "ssl::6640", false, -EINVAL, 0, NULL, 0 },
    { "ssl:[::1]6640", false, -EINVAL, 0, NULL, 0 },
    { "pssl:6640", false, -EAFNOSUPPORT, 0, NULL, 0 },
    { "pssl:6640", true, 0, STREAM_KIND_SSL, "", 6640 },
    { "pssl:127.0.0.1:6640", true, 0, STREAM_KIND_SSL, "127.0.0.1", 6640 },
    { "ssl:127.0.0.1:6640", true, 0, STREAM_KIND_SSL, "127.0.0.1", 6640 },
    { "ptcp:0", true, 0, STREAM_KIND_TCP, "", 0 },
    { "tcp:[::]:6641", true, 0, STREAM_KIND_TCP, "::", 6641 },
    { "pssl::6640", true, -EINVAL, 0, NULL, 0 },
    { "pssl:", true, -EINVAL, 0, NULL, 0 },
    { "pssl:-1", true, -EINVAL, 0, NULL, 0 },
    { "http:x:1", false, -EAFNOSUPPORT, 0, NULL, 0 },
    { "", true, -EAFNOSUPPORT, 0, NULL, 0 },
    { "/run/x.ctl", false, -EAFNOSUPPORT, 0, NULL, 0 },
};

Test(stream_target, parse_table)
{
    for (size_t i = 0; i < ARRAY_SIZE(parse_cases); i++) {
        const struct parse_case *c = &parse_cases[i];
        struct stream_target t;
        char *err = NULL;
        int r = stream_target_parse(c->target, c->passive, &t, &err);

        cr_assert_eq(r, c->err, "'%s' (passive %d): got %d (%s)",
                     c->target, c->passive, r, err ? err : "");
        if (r) {
            cr_assert(err && strstr(err, c->target), "'%s': message %s",
                      c->target, err ? err : "(none)");
            free(err);
            continue;
        }
        cr_assert_null(err);
        cr_assert_eq(t.kind, c->kind, "'%s'", c->target);
        cr_assert_str_eq(c->kind == STREAM_KIND_UNIX ? t.path : t.host,
                         c->host_or_path, "'%s'", c->target);
        cr_assert_eq(t.port, c->port, "'%s'", c->target);
        cr_assert_eq(stream_target_is_valid(c->target),
                     !c->passive || strncmp(c->target, "p", 1), "'%s'",
                     c->target);
    }
}

Test(stream_target, too_long)
{
    char path[300];
    char host[300];
    struct stream_target t;

    memset(path, 'a', sizeof path);
    memcpy(path, "unix:/", 6);
    path[sizeof path - 1] = '\0';
    cr_assert_eq(stream_target_parse(path, false, &t, NULL), -ENAMETOOLONG);

    memset(host, 'h', sizeof host);
    memcpy(host, "tcp:", 4);
    strcpy(host + sizeof host - 4, ":80");
    cr_assert_eq(stream_target_parse(host, false, &t, NULL), -ENAMETOOLONG);
}

/* ---- Helpers ------------------------------------------------------------ */

static const uint8_t frame_bytes[] = {
    1, 2, 0, 12, 0, 0, 0, 7, 'p', 'i', 'n', 'g',
};

/* Loopback listener on an ephemeral port; returns "ssl:127.0.0.1:N" or
 * "tcp:...", caller frees. */
static char *
client_target_for(const struct stream_listener *l)
{
    const char *name = stream_listener_name(l);     /* pssl:127.0.0.1:N */
    cr_assert(!strncmp(name, "pssl:127.0.0.1:", 15)
              || !strncmp(name, "ptcp:127.0.0.1:", 15), "%s", name);
    cr_assert_neq(strcmp(name + 15, "0"), 0, "port 0 in %s", name);
    return xasprintf("%s", name + 1);
}

Test(stream_tcp, frames_over_loopback)
{
    struct stream_listener *l;
    struct stream *client, *server;
    const uint8_t *frame;
    size_t len;
    char *err = NULL;

    cr_assert_eq(stream_listen("ptcp:127.0.0.1:0", 0, &l, &err), 0, "%s",
                 err);
    char *target = client_target_for(l);
    cr_assert_eq(stream_open(target, 2000, &client, &err), 0, "%s", err);
    for (int i = 0; i < 100; i++) {
        if (!stream_accept(l, &server)) {
            break;
        }
        usleep(10000);
        cr_assert_lt(i, 99, "no connection to accept");
    }
    cr_assert(stream_is_established(server));
    cr_assert_eq(stream_poll_events(server, STREAM_WANT_READ),
                 STREAM_WANT_READ);
    cr_assert(!strncmp(stream_name(server), "tcp:127.0.0.1:", 14), "%s",
              stream_name(server));
    cr_assert_eq(stream_send_block(client, frame_bytes, sizeof frame_bytes,
                                   time_msec() + 2000), 0);
    cr_assert_eq(stream_recv_frame_block(server, time_msec() + 2000, &frame,
                                         &len), 0);
    cr_assert_eq(len, sizeof frame_bytes);
    cr_assert_eq(memcmp(frame, frame_bytes, len), 0);
    cr_assert_eq(stream_peer_cred(server, &(uid_t) { 0 }, &(pid_t) { 0 }),
                 -EAFNOSUPPORT);
    stream_close(client);
    cr_assert_eq(stream_recv_frame_block(server, time_msec() + 2000, &frame,
                                         &len), -EPIPE);
    stream_close(server);
    stream_listener_close(l);
    free(target);
}

Test(stream_tcp, connect_refused)
{
    struct stream_listener *l;
    struct stream *s;
    char *err = NULL;

    /* A port that was just free: nothing listens there now. */
    cr_assert_eq(stream_listen("ptcp:127.0.0.1:0", 0, &l, &err), 0);
    char *target = client_target_for(l);
    stream_listener_close(l);
    cr_assert_eq(stream_open(target, 2000, &s, &err), -ECONNREFUSED);
    cr_assert(strstr(err, "cannot connect to 'tcp:127.0.0.1:"), "%s", err);
    free(err);
    free(target);
}

/* ---- TLS ---------------------------------------------------------------- */

static char pki_dir[64];

/* Makes two CAs and certificates with the openssl command: server and
 * client from CA 1, stranger from CA 2, expired from CA 1. */
static void
pki_setup(void)
{
    strcpy(pki_dir, "/tmp/ts-test-stream.XXXXXX");
    cr_assert_not_null(mkdtemp(pki_dir));
    char *cmd = xasprintf(
        "set -e; cd %s; exec >log 2>&1\n"
        "ca() { openssl req -x509 -newkey ec -pkeyopt "
        "ec_paramgen_curve:P-256 -nodes -keyout $1-key.pem -out "
        "$1-cert.pem -subj /CN=$1 -days 30; }\n"
        "leaf() { openssl req -new -newkey ec -pkeyopt "
        "ec_paramgen_curve:P-256 -nodes -keyout $1-key.pem -out $1.csr "
        "-subj /CN=$1; openssl x509 -req -in $1.csr -CA $2-cert.pem "
        "-CAkey $2-key.pem -set_serial $3 -out $1-cert.pem $4; }\n"
        "ca ca1; ca ca2\n"
        "leaf server ca1 1 '-days 30'\n"
        "leaf client ca1 2 '-days 30'\n"
        "leaf stranger ca2 3 '-days 30'\n"
        "leaf expired ca1 4 '-days -1'\n", pki_dir);
    int r = system(cmd);
    cr_assert_eq(r, 0, "openssl failed: see %s/log", pki_dir);
    free(cmd);
}

static void
pki_teardown(void)
{
    char *cmd = xasprintf("rm -rf %s", pki_dir);
    cr_assert_eq(system(cmd), 0);
    free(cmd);
}

struct tls_files {
    char key[128], cert[128], ca[128];
};

static void
tls_files(struct tls_files *f, const char *who, const char *ca)
{
    snprintf(f->key, sizeof f->key, "%s/%s-key.pem", pki_dir, who);
    snprintf(f->cert, sizeof f->cert, "%s/%s-cert.pem", pki_dir, who);
    snprintf(f->ca, sizeof f->ca, "%s/%s-cert.pem", pki_dir, ca);
}

/* The server side, in a thread: accepts one connection, drives it with
 * poll() on stream_poll_events() until the handshake ends, then echoes
 * frames until the end of the stream. */
struct server {
    struct stream_listener *l;
    pthread_t thread;
    int hs_result;              /* stream_handshake() outcome */
    int first_events;           /* stream_poll_events() before anything */
    char *hs_error;             /* stream_error() */
    char *subject;              /* stream_peer_subject() */
    int n_echoed;
};

static void *
server_main(void *s_)
{
    struct server *srv = s_;
    struct stream *s = NULL;
    struct pollfd pfd = { .fd = stream_listener_fd(srv->l),
                          .events = POLLIN };

    if (poll(&pfd, 1, 5000) != 1 || stream_accept(srv->l, &s)) {
        srv->hs_result = -ETIMEDOUT;
        return NULL;
    }
    srv->first_events = stream_poll_events(s, STREAM_WANT_WRITE);
    for (;;) {
        int r = stream_handshake(s);
        if (r != -EAGAIN) {
            srv->hs_result = r;
            break;
        }
        int ev = stream_poll_events(s, 0);
        pfd.fd = stream_fd(s);
        pfd.events = (ev & STREAM_WANT_READ ? POLLIN : 0)
                     | (ev & STREAM_WANT_WRITE ? POLLOUT : 0);
        if (poll(&pfd, 1, 5000) != 1) {
            srv->hs_result = -ETIMEDOUT;
            break;
        }
    }
    if (stream_error(s)) {
        srv->hs_error = xstrdup(stream_error(s));
    }
    if (stream_peer_subject(s)) {
        srv->subject = xstrdup(stream_peer_subject(s));
    }
    while (!srv->hs_result) {
        const uint8_t *frame;
        size_t len;
        if (stream_recv_frame_block(s, time_msec() + 5000, &frame, &len)
            || stream_send_block(s, frame, len, time_msec() + 5000)) {
            break;
        }
        srv->n_echoed++;
    }
    stream_close(s);
    return NULL;
}

static char *
server_start(struct server *srv)
{
    struct tls_files f;
    struct stream_tls_config tls = { f.key, f.cert, f.ca };
    char *err = NULL;

    memset(srv, 0, sizeof *srv);
    tls_files(&f, "server", "ca1");
    cr_assert_eq(stream_listen_tls("pssl:127.0.0.1:0", 0, &tls, &srv->l,
                                   &err), 0, "%s", err);
    cr_assert_eq(pthread_create(&srv->thread, NULL, server_main, srv), 0);
    return client_target_for(srv->l);
}

static void
server_finish(struct server *srv)
{
    pthread_join(srv->thread, NULL);
    stream_listener_close(srv->l);
}

static void
server_release(struct server *srv)
{
    free(srv->hs_error);
    free(srv->subject);
}

/* Opens a client as 'who' (NULL: no certificate) trusting 'ca'. */
static int
client_open(const char *target, const char *who, const char *ca,
            struct stream **sp, char **errp)
{
    struct tls_files f;
    struct stream_tls_config tls = { NULL, NULL, NULL };

    tls_files(&f, who ? who : "none", ca);
    tls.ca_cert = f.ca;
    if (who) {
        tls.private_key = f.key;
        tls.certificate = f.cert;
    }
    return stream_open_tls(target, 5000, &tls, sp, errp);
}

TestSuite(stream_ssl, .init = pki_setup, .fini = pki_teardown);

Test(stream_ssl, good_certificate_carries_frames)
{
    struct server srv;
    char *target = server_start(&srv);
    struct stream *c;
    char *err = NULL;
    const uint8_t *frame;
    size_t len;

    cr_assert_eq(client_open(target, "client", "ca1", &c, &err), 0, "%s",
                 err);
    cr_assert(stream_is_established(c));
    cr_assert_str_eq(stream_peer_subject(c), "CN=server");
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(stream_send_block(c, frame_bytes, sizeof frame_bytes,
                                       time_msec() + 5000), 0);
        cr_assert_eq(stream_recv_frame_block(c, time_msec() + 5000, &frame,
                                             &len), 0, "%s",
                     stream_error(c) ? stream_error(c) : "");
        cr_assert_eq(len, sizeof frame_bytes);
        cr_assert_eq(memcmp(frame, frame_bytes, len), 0);
    }
    stream_close(c);
    server_finish(&srv);
    cr_assert_eq(srv.hs_result, 0, "%s", srv.hs_error);
    cr_assert_eq(srv.first_events, STREAM_WANT_READ,
                 "a fresh TLS stream waits for the ClientHello, whatever "
                 "the caller wants");
    cr_assert_str_eq(srv.subject, "CN=client");
    cr_assert_eq(srv.n_echoed, 3);
    server_release(&srv);
    free(target);
}

/* A client the server refuses: with TLS 1.3 the client's own handshake
 * ends first, and the refusal arrives as an alert on its first read. */
static void
check_refused(const char *who, const char *ca, const char *server_says,
              const char *client_says)
{
    struct server srv;
    char *target = server_start(&srv);
    struct stream *c;
    char *err = NULL;
    const uint8_t *frame;
    size_t len;
    int r = client_open(target, who, ca, &c, &err);

    if (!r) {
        stream_send_block(c, frame_bytes, sizeof frame_bytes,
                          time_msec() + 5000);
        r = stream_recv_frame_block(c, time_msec() + 5000, &frame, &len);
        cr_assert_lt(r, 0);
        cr_assert_neq(r, -ETIMEDOUT);
        cr_assert(stream_error(c) && strstr(stream_error(c), client_says),
                  "client error: %s", stream_error(c));
        stream_close(c);
    } else {
        cr_assert(strstr(err, client_says), "client error: %s", err);
        free(err);
    }
    server_finish(&srv);
    cr_assert_eq(srv.hs_result, -EPROTO);
    cr_assert(srv.hs_error && strstr(srv.hs_error, server_says),
              "server error: %s", srv.hs_error);
    cr_assert_null(srv.subject);
    cr_assert_eq(srv.n_echoed, 0);
    server_release(&srv);
    free(target);
}

Test(stream_ssl, certificate_from_another_ca_is_refused)
{
    check_refused("stranger", "ca1", "unable to get local issuer",
                  "unknown ca");
}

Test(stream_ssl, expired_certificate_is_refused)
{
    check_refused("expired", "ca1", "certificate has expired",
                  "certificate expired");
}

Test(stream_ssl, missing_certificate_is_refused)
{
    check_refused(NULL, "ca1", "did not return a certificate",
                  "certificate required");
}

Test(stream_ssl, client_verifies_the_server)
{
    check_refused("stranger", "ca2", "unknown ca",
                  "certificate verify failed");
}

Test(stream_ssl, listener_needs_good_files)
{
    struct stream_tls_config tls = { NULL, NULL, NULL };
    struct stream_listener *l;
    struct tls_files f;
    char *err = NULL;

    cr_assert_eq(stream_listen_tls("pssl:127.0.0.1:0", 0, &tls, &l, &err),
                 -EINVAL);
    cr_assert(strstr(err, "private key"), "%s", err);
    free(err);

    tls_files(&f, "server", "ca1");
    tls = (struct stream_tls_config) { f.key, "/nonexistent.pem", f.ca };
    cr_assert_eq(stream_listen_tls("pssl:127.0.0.1:0", 0, &tls, &l, &err),
                 -EINVAL);
    cr_assert(strstr(err, "cannot load certificate '/nonexistent.pem': No "
                     "such file or directory"), "%s", err);
    free(err);

    /* A key that is not the certificate's. */
    struct tls_files other;
    tls_files(&other, "client", "ca1");
    tls = (struct stream_tls_config) { other.key, f.cert, f.ca };
    cr_assert_eq(stream_listen_tls("pssl:127.0.0.1:0", 0, &tls, &l, &err),
                 -EINVAL);
    cr_assert(strstr(err, "does not match"), "%s", err);
    free(err);
}

Test(stream_ssl, client_needs_a_ca)
{
    struct stream *s;
    char *err = NULL;

    cr_assert_eq(stream_open("ssl:127.0.0.1:1", 1000, &s, &err), -EINVAL);
    cr_assert(strstr(err, "CA certificate"), "%s", err);
    free(err);
}

/* Garbage instead of a ClientHello fails the handshake at once (no wait
 * for a timeout) and says so. */
Test(stream_ssl, garbage_fails_the_handshake)
{
    struct tls_files f;
    struct stream_tls_config tls = { f.key, f.cert, f.ca };
    struct stream_listener *l;
    struct stream *plain, *s = NULL;
    char *err = NULL;

    tls_files(&f, "server", "ca1");
    cr_assert_eq(stream_listen_tls("pssl:127.0.0.1:0", 0, &tls, &l, &err),
                 0, "%s", err);
    char *target = client_target_for(l);
    char *tcp = xasprintf("tcp:%s", target + 4);
    cr_assert_eq(stream_open(tcp, 2000, &plain, &err), 0, "%s", err);
    cr_assert_eq(stream_send_block(plain, "GET / HTTP/1.0\r\n\r\n", 18,
                                   time_msec() + 2000), 0);
    for (int i = 0; i < 100 && stream_accept(l, &s); i++) {
        usleep(10000);
    }
    cr_assert_not_null(s);
    int r;
    long long deadline = time_msec() + 5000;
    while ((r = stream_handshake(s)) == -EAGAIN && time_msec() < deadline) {
        usleep(1000);
    }
    cr_assert_eq(r, -EPROTO);
    cr_assert(strstr(stream_error(s), "TLS handshake failed"), "%s",
              stream_error(s));
    cr_assert(!stream_is_established(s));
    stream_close(s);
    stream_close(plain);
    stream_listener_close(l);
    free(target);
    free(tcp);
}
