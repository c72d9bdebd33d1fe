/* stream-ssl: TLS for "ssl:" and "pssl:" streams, with OpenSSL.
 *
 * Policy: TLS 1.2 or later; both sides load a certificate, its key and
 * the CA certificate; a listener demands a client certificate signed by
 * that CA (SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT) and a
 * client verifies the server's against its CA.  Host names are not
 * checked: whoever holds a certificate from the CA is trusted, as in Open
 * vSwitch.  No renegotiation, no session tickets or resumption (control
 * connections are few and long-lived).
 *
 * Non-blocking: every SSL call runs on a non-blocking socket; a call that
 * would block records which readiness it needs (hs_wait, rx_wait,
 * tx_wait in struct stream) for stream_poll_events().
 *
 * OpenSSL writes with write(2), which raises SIGPIPE on a reset
 * connection.  The daemon ignores SIGPIPE, a client may not, so every SSL
 * call that can write runs with SIGPIPE blocked and consumes a SIGPIPE it
 * caused.
 *
 * Failures: the reason (OpenSSL's text plus the certificate verification
 * result) goes to s->error; on the listening side it is also logged with
 * the peer's address, rate-limited, since any host that reaches the port
 * can cause one. */
#include <errno.h>
#include <limits.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dynamic-string.h"
#include "log.h"
#include "stream-private.h"
#include "util.h"

TS_LOG_DEFINE(stream_ssl);

/* ---- SIGPIPE ---------------------------------------------------------- */

struct sigpipe_guard {
    sigset_t old;
    bool was_pending;
};

static void
sigpipe_block(struct sigpipe_guard *g)
{
    sigset_t pipe_set, pending;

    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    sigpending(&pending);
    g->was_pending = sigismember(&pending, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &g->old);
}

static void
sigpipe_unblock(struct sigpipe_guard *g)
{
    sigset_t pipe_set, pending;

    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    sigpending(&pending);
    if (!g->was_pending && sigismember(&pending, SIGPIPE)) {
        const struct timespec zero = { 0, 0 };
        (void) sigtimedwait(&pipe_set, NULL, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}

/* ---- Error text ------------------------------------------------------- */

/* Appends OpenSSL's queued reasons to 'ds' ("a; b") and clears the
 * queue.  Returns true if any reason was a TLS alert from the peer. */
static bool
put_ssl_errors(struct ds *ds)
{
    bool alert = false;
    unsigned long code;
    size_t start = ds->length;

    while ((code = ERR_get_error()) != 0) {
        const char *reason = ERR_reason_error_string(code);
        char buf[64];

        if (!reason) {
            snprintf(buf, sizeof buf, "error %#lx", code);
            reason = buf;
        }
        if (strstr(reason, " alert ")) {
            alert = true;
        }
        /* The same reason often comes twice from different layers. */
        if (ds->length > start && strstr(ds_cstr(ds) + start, reason)) {
            continue;
        }
        ds_put_format(ds, "%s%s", ds->length > start ? "; " : "", reason);
    }
    if (ds->length == start) {
        ds_put_cstr(ds, "unknown TLS error");
    }
    return alert;
}

/* Records why 's' failed: 'what' (e.g. "TLS handshake failed"), then
 * OpenSSL's reasons and the certificate verification result. */
static void
set_ssl_error(struct stream *s, const char *what)
{
    struct ds ds = DS_EMPTY_INITIALIZER;
    struct ds reasons = DS_EMPTY_INITIALIZER;
    bool alert = put_ssl_errors(&reasons);
    long verify = SSL_get_verify_result(s->ssl);

    ds_put_format(&ds, "%s: ", what);
    if (alert) {
        ds_put_format(&ds, "the peer refused the connection (%s)",
                      ds_cstr(&reasons));
    } else {
        ds_put_cstr(&ds, ds_cstr(&reasons));
    }
    if (verify != X509_V_OK) {
        ds_put_format(&ds, " (%s certificate: %s)",
                      s->server ? "client" : "server",
                      X509_verify_cert_error_string(verify));
    }
    free(s->error);
    s->error = ds_steal_cstr(&ds);
    ds_destroy(&reasons);
}

static void
set_error_text(struct stream *s, const char *what, const char *why)
{
    free(s->error);
    s->error = xasprintf("%s: %s", what, why);
    ERR_clear_error();
}

/* Maps the result 'r' of an SSL call that failed.  Returns -EAGAIN (with
 * '*wait' set), 0 for a clean or bare end of stream, or a negative errno
 * with s->error set. */
static int
ssl_result(struct stream *s, int r, int sys_errno, const char *what,
           int *wait)
{
    switch (SSL_get_error(s->ssl, r)) {
    case SSL_ERROR_WANT_READ:
        *wait = STREAM_WANT_READ;
        return -EAGAIN;
    case SSL_ERROR_WANT_WRITE:
        *wait = STREAM_WANT_WRITE;
        return -EAGAIN;
    case SSL_ERROR_ZERO_RETURN:
        return 0;
    case SSL_ERROR_SYSCALL:
        if (!sys_errno) {
            return 0;
        }
        set_error_text(s, what, strerror(sys_errno));
        return -sys_errno;
    case SSL_ERROR_SSL:
    default:
        set_ssl_error(s, what);
        return -EPROTO;
    }
}

/* ---- Contexts --------------------------------------------------------- */

static int
ctx_err(char **errp, const char *what, const char *file)
{
    struct ds ds = DS_EMPTY_INITIALIZER;

    ds_put_format(&ds, "cannot load %s '%s': ", what, file);
    if (access(file, R_OK) < 0) {
        ds_put_cstr(&ds, strerror(errno));
        ERR_clear_error();
    } else {
        put_ssl_errors(&ds);
    }
    if (errp) {
        *errp = ds_steal_cstr(&ds);
    }
    ds_destroy(&ds);
    return -EINVAL;
}

int
stream_ssl_ctx_create(const struct stream_tls_config *tls, bool server,
                      struct ssl_ctx_st **ctxp, char **errp)
{
    SSL_CTX *ctx;
    int err = 0;

    *ctxp = NULL;
    if (errp) {
        *errp = NULL;
    }
    if (!tls->private_key != !tls->certificate) {
        if (errp) {
            *errp = xstrdup("a private key and a certificate go together: "
                            "give both or neither");
        }
        return -EINVAL;
    }
    ERR_clear_error();
    ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
    if (!ctx) {
        return ctx_err(errp, "TLS", "context");
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION
                        | SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_TICKET);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE
                     | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    if (server) {
        SSL_CTX_set_num_tickets(ctx, 0);
    }

    if (tls->certificate
        && SSL_CTX_use_certificate_chain_file(ctx, tls->certificate) != 1) {
        err = ctx_err(errp, "certificate", tls->certificate);
        goto err_free;
    }
    if (tls->private_key
        && SSL_CTX_use_PrivateKey_file(ctx, tls->private_key,
                                       SSL_FILETYPE_PEM) != 1) {
        unsigned long code = ERR_peek_last_error();
        if (ERR_GET_LIB(code) != ERR_LIB_X509
            || ERR_GET_REASON(code) != X509_R_KEY_VALUES_MISMATCH) {
            err = ctx_err(errp, "private key", tls->private_key);
            goto err_free;
        }
    }
    if (tls->private_key && SSL_CTX_check_private_key(ctx) != 1) {
        ERR_clear_error();
        if (errp) {
            *errp = xasprintf("private key '%s' does not match "
                              "certificate '%s'", tls->private_key,
                              tls->certificate);
        }
        err = -EINVAL;
        goto err_free;
    }
    if (tls->ca_cert) {
        if (SSL_CTX_load_verify_locations(ctx, tls->ca_cert, NULL) != 1) {
            err = ctx_err(errp, "CA certificate", tls->ca_cert);
            goto err_free;
        }
        if (server) {
            STACK_OF(X509_NAME) *names
                = SSL_load_client_CA_file(tls->ca_cert);
            if (names) {
                SSL_CTX_set_client_CA_list(ctx, names);
            }
        }
    }
    SSL_CTX_set_verify(ctx, server ? SSL_VERIFY_PEER
                                     | SSL_VERIFY_FAIL_IF_NO_PEER_CERT
                                   : SSL_VERIFY_PEER, NULL);
    *ctxp = ctx;
    return 0;

err_free:
    SSL_CTX_free(ctx);
    return err;
}

void
stream_ssl_ctx_free(struct ssl_ctx_st *ctx)
{
    SSL_CTX_free(ctx);
}

/* ---- Connections ------------------------------------------------------ */

int
stream_ssl_attach(struct stream *s, struct ssl_ctx_st *ctx)
{
    SSL *ssl = SSL_new(ctx);

    if (!ssl || SSL_set_fd(ssl, s->fd) != 1) {
        SSL_free(ssl);
        ERR_clear_error();
        return -ENOMEM;
    }
    if (s->server) {
        SSL_set_accept_state(ssl);
        s->hs_wait = STREAM_WANT_READ;
    } else {
        SSL_set_connect_state(ssl);
        s->hs_wait = STREAM_WANT_WRITE;
    }
    s->ssl = ssl;
    return 0;
}

/* Remembers the peer certificate's subject ("CN=x,O=y"). */
static void
save_peer_subject(struct stream *s)
{
    X509 *peer = SSL_get1_peer_certificate(s->ssl);
    BIO *bio;

    if (!peer) {
        return;
    }
    bio = BIO_new(BIO_s_mem());
    if (bio) {
        char *data;
        X509_NAME_print_ex(bio, X509_get_subject_name(peer), 0,
                           XN_FLAG_RFC2253);
        long n = BIO_get_mem_data(bio, &data);
        s->peer_subject = xasprintf("%.*s", (int) (n > 0 ? n : 0), data);
        BIO_free(bio);
    }
    X509_free(peer);
}

int
stream_ssl_handshake(struct stream *s)
{
    static struct log_rl rl = LOG_RL_INIT(60, 20);
    struct sigpipe_guard g;
    int r, err;

    ERR_clear_error();
    sigpipe_block(&g);
    errno = 0;
    r = SSL_do_handshake(s->ssl);
    err = errno;
    sigpipe_unblock(&g);

    if (r == 1) {
        s->established = true;
        s->hs_wait = 0;
        save_peer_subject(s);
        if (s->server) {
            TS_INFO("%s: TLS connection accepted (%s, %s, peer subject "
                    "'%s')", s->name, SSL_get_version(s->ssl),
                    SSL_get_cipher_name(s->ssl),
                    s->peer_subject ? s->peer_subject : "");
        }
        return 0;
    }
    err = ssl_result(s, r, err, "TLS handshake failed", &s->hs_wait);
    if (err == -EAGAIN) {
        return err;
    }
    if (!err) {
        set_error_text(s, "TLS handshake failed",
                       "the peer closed the connection");
        err = -ECONNRESET;
    }
    if (s->server) {
        TS_WARN_RL(&rl, "%s: refused: %s", s->name, s->error);
    }
    return err;
}

ssize_t
stream_ssl_recv(struct stream *s, void *buf, size_t n)
{
    int r, err;

    ERR_clear_error();
    errno = 0;
    r = SSL_read(s->ssl, buf, n > INT_MAX ? INT_MAX : (int) n);
    err = errno;
    if (r > 0) {
        s->rx_wait = 0;
        return r;
    }
    return ssl_result(s, r, err, "TLS error", &s->rx_wait);
}

ssize_t
stream_ssl_send(struct stream *s, const void *buf, size_t n)
{
    struct sigpipe_guard g;
    int r, err;

    ERR_clear_error();
    sigpipe_block(&g);
    errno = 0;
    r = SSL_write(s->ssl, buf, n > INT_MAX ? INT_MAX : (int) n);
    err = errno;
    sigpipe_unblock(&g);
    if (r > 0) {
        s->tx_wait = 0;
        return r;
    }
    err = ssl_result(s, r, err, "TLS error", &s->tx_wait);
    return err ? err : -EPIPE;
}

void
stream_ssl_close(struct stream *s)
{
    if (!s->established && s->server) {
        /* Closing a socket with unread input makes the kernel send a
         * reset, which can overtake the alert that tells the client why
         * it was refused.  Drop what has arrived (bounded) first. */
        char buf[4096];
        for (int i = 0; i < 16 && recv(s->fd, buf, sizeof buf,
                                       MSG_DONTWAIT) > 0; i++) {
            continue;
        }
    }
    if (s->established) {
        struct sigpipe_guard g;

        /* Best effort, non-blocking: the peer learns it was a clean
         * close if the close_notify fits in the socket buffer. */
        sigpipe_block(&g);
        (void) SSL_shutdown(s->ssl);
        sigpipe_unblock(&g);
    }
    SSL_free(s->ssl);
    s->ssl = NULL;
    ERR_clear_error();
}
