/* vsctl-pki: a small certificate authority for TLS control (like
 * ovs-pki), with OpenSSL's libcrypto.
 *
 *   vsctl pki init            DIR/cacert.pem and DIR/cakey.pem (0600)
 *   vsctl pki req NAME        NAME-privkey.pem (0600) and NAME-req.pem
 *   vsctl pki sign NAME       NAME-cert.pem from NAME-req.pem, signed by
 *                             the CA in DIR
 *   vsctl pki req+sign NAME   both
 *
 * NAME may hold a directory ("/etc/ts/server" writes /etc/ts/server-*);
 * the certificate's common name is NAME's last component.  DIR is
 * /var/lib/trackswitch/pki unless $TRACKSWITCH_PKI_DIR or a dir=DIR
 * argument says otherwise.  days=N sets the validity (default 3650);
 * a negative N makes a certificate that expired N days ago (for tests).
 * (--dir=DIR and --days=N are accepted after a "--" too.)
 *
 * Keys are ECDSA P-256.  The CA certificate is self-signed with
 * basicConstraints CA:TRUE; signed certificates are end-entity ones with
 * both serverAuth and clientAuth, so one CA serves the daemon and its
 * clients and the same three commands make either. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vsctl.h"

#define PKI_DEFAULT_DIR "/var/lib/trackswitch/pki"
#define PKI_DEFAULT_DAYS 3650
#define PKI_MAX_DAYS 36500

struct pki_args {
    const char *dir;
    long days;
};

static void TS_NORETURN
pki_ssl_fatal(const char *what)
{
    unsigned long code = ERR_get_error();
    const char *reason = code ? ERR_reason_error_string(code) : NULL;

    vsctl_fatal(1, "pki: %s: %s", what, reason ? reason : "OpenSSL error");
}

/* mkdir -p. */
static void
pki_mkdirs(const char *dir, mode_t mode)
{
    char *copy = xstrdup(dir);

    for (char *p = copy + 1; ; p++) {
        if (*p == '/' || !*p) {
            char save = *p;
            *p = '\0';
            if (mkdir(copy, mode) < 0 && errno != EEXIST) {
                vsctl_fatal(1, "pki: cannot create directory '%s': %s",
                            copy, strerror(errno));
            }
            *p = save;
            if (!save) {
                break;
            }
        }
    }
    free(copy);
}

/* Opens 'path' for writing: a new file ('exclusive') or a replacement,
 * with 'mode' from the start so a key is never readable by others. */
static FILE *
pki_create(const char *path, mode_t mode, bool exclusive)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC
                  | (exclusive ? O_EXCL : O_TRUNC), mode);
    FILE *f;

    if (fd < 0) {
        vsctl_fatal(1, "pki: cannot create '%s': %s", path,
                    errno == EEXIST ? "it already exists (remove it first)"
                                    : strerror(errno));
    }
    f = fdopen(fd, "w");
    if (!f) {
        vsctl_fatal(1, "pki: cannot create '%s': %s", path, strerror(errno));
    }
    return f;
}

static void
pki_close(FILE *f, const char *path)
{
    if (fflush(f) || fsync(fileno(f)) || fclose(f)) {
        vsctl_fatal(1, "pki: cannot write '%s': %s", path, strerror(errno));
    }
    printf("%s\n", path);
}

static FILE *
pki_open(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        vsctl_fatal(1, "pki: cannot read '%s': %s", path, strerror(errno));
    }
    return f;
}

static EVP_PKEY *
pki_gen_key(void)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    if (!key) {
        pki_ssl_fatal("cannot generate a key");
    }
    return key;
}

static void
pki_write_key(const char *path, EVP_PKEY *key)
{
    FILE *f = pki_create(path, 0600, true);
    if (!PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL)) {
        pki_ssl_fatal("cannot write the private key");
    }
    pki_close(f, path);
}

static void
pki_add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX v3;
    X509_EXTENSION *ext;

    X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
    ext = X509V3_EXT_nconf_nid(NULL, &v3, nid, value);
    if (!ext || !X509_add_ext(x, ext, -1)) {
        pki_ssl_fatal("cannot add a certificate extension");
    }
    X509_EXTENSION_free(ext);
}

/* Makes a certificate for 'subject' and 'pubkey', signed by 'ca_key'
 * and issued by 'ca' (NULL: self-signed, a CA). */
static X509 *
pki_make_cert(const X509_NAME *subject, EVP_PKEY *pubkey, X509 *ca,
              EVP_PKEY *ca_key, long days)
{
    X509 *x = X509_new();
    BIGNUM *serial = BN_new();
    long not_before, not_after;

    if (!x || !serial || !BN_rand(serial, 63, BN_RAND_TOP_ANY,
                                  BN_RAND_BOTTOM_ANY)
        || !BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(x))) {
        pki_ssl_fatal("cannot make a certificate");
    }
    BN_free(serial);

    /* An hour back, for clocks slightly behind ours; a negative 'days'
     * makes a certificate that has already expired. */
    if (days > 0) {
        not_before = -3600;
        not_after = days * 86400L;
    } else {
        not_before = (days - 1) * 86400L;
        not_after = days * 86400L;
    }
    if (!X509_set_version(x, 2)
        || !X509_gmtime_adj(X509_getm_notBefore(x), not_before)
        || !X509_gmtime_adj(X509_getm_notAfter(x), not_after)
        || !X509_set_subject_name(x, subject)
        || !X509_set_issuer_name(x, ca ? X509_get_subject_name(ca)
                                       : subject)
        || !X509_set_pubkey(x, pubkey)) {
        pki_ssl_fatal("cannot make a certificate");
    }
    pki_add_ext(x, ca ? ca : x, NID_subject_key_identifier, "hash");
    if (ca) {
        pki_add_ext(x, ca, NID_authority_key_identifier, "keyid");
        pki_add_ext(x, ca, NID_basic_constraints, "CA:FALSE");
        pki_add_ext(x, ca, NID_key_usage,
                    "critical,digitalSignature,keyEncipherment");
        pki_add_ext(x, ca, NID_ext_key_usage, "serverAuth,clientAuth");
    } else {
        pki_add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE");
        pki_add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign");
    }
    if (!X509_sign(x, ca_key, EVP_sha256())) {
        pki_ssl_fatal("cannot sign the certificate");
    }
    return x;
}

static X509_NAME *
pki_name(const char *cn, const char *ou)
{
    X509_NAME *name = X509_NAME_new();

    if (!name
        || !X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                                       (const unsigned char *) "Trackswitch",
                                       -1, -1, 0)
        || !X509_NAME_add_entry_by_txt(name, "OU", MBSTRING_UTF8,
                                       (const unsigned char *) ou, -1, -1, 0)
        || !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                       (const unsigned char *) cn, -1, -1,
                                       0)) {
        pki_ssl_fatal("cannot make a certificate name");
    }
    return name;
}

static void
pki_write_cert(const char *path, X509 *x)
{
    /* Replaced in place: re-signing renews a certificate. */
    FILE *f = pki_create(path, 0644, false);
    if (!PEM_write_X509(f, x)) {
        pki_ssl_fatal("cannot write the certificate");
    }
    pki_close(f, path);
}

/* ---- Commands ----------------------------------------------------------- */

static void
pki_init(const struct pki_args *a)
{
    char *cert_path = xasprintf("%s/cacert.pem", a->dir);
    char *key_path = xasprintf("%s/cakey.pem", a->dir);

    if (!access(cert_path, F_OK)) {
        vsctl_fatal(1, "pki init: '%s' already exists (remove it to make "
                    "a new CA)", cert_path);
    }
    pki_mkdirs(a->dir, 0755);

    EVP_PKEY *key = pki_gen_key();
    X509_NAME *name = pki_name("Trackswitch CA", "CA");
    X509 *cert = pki_make_cert(name, key, NULL, key, a->days);

    pki_write_key(key_path, key);
    pki_write_cert(cert_path, cert);
    X509_free(cert);
    X509_NAME_free(name);
    EVP_PKEY_free(key);
    free(cert_path);
    free(key_path);
}

static void
pki_req(const char *name)
{
    char *key_path = xasprintf("%s-privkey.pem", name);
    char *req_path = xasprintf("%s-req.pem", name);
    char *copy = xstrdup(name);
    const char *cn = basename(copy);

    if (!access(req_path, F_OK)) {
        vsctl_fatal(1, "pki req: '%s' already exists (remove it first)",
                    req_path);
    }

    EVP_PKEY *key = pki_gen_key();
    X509_REQ *req = X509_REQ_new();
    X509_NAME *subject = pki_name(cn, "clients and daemons");

    if (!req || !X509_REQ_set_version(req, 0)
        || !X509_REQ_set_subject_name(req, subject)
        || !X509_REQ_set_pubkey(req, key)
        || !X509_REQ_sign(req, key, EVP_sha256())) {
        pki_ssl_fatal("cannot make a certificate request");
    }
    pki_write_key(key_path, key);

    FILE *f = pki_create(req_path, 0644, true);
    if (!PEM_write_X509_REQ(f, req)) {
        pki_ssl_fatal("cannot write the certificate request");
    }
    pki_close(f, req_path);

    X509_NAME_free(subject);
    X509_REQ_free(req);
    EVP_PKEY_free(key);
    free(copy);
    free(key_path);
    free(req_path);
}

static void
pki_sign(const struct pki_args *a, const char *name)
{
    char *ca_cert_path = xasprintf("%s/cacert.pem", a->dir);
    char *ca_key_path = xasprintf("%s/cakey.pem", a->dir);
    char *req_path = xasprintf("%s-req.pem", name);
    char *cert_path = xasprintf("%s-cert.pem", name);
    FILE *f;

    f = pki_open(ca_cert_path);
    X509 *ca = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    if (!ca) {
        vsctl_fatal(1, "pki sign: '%s' is not a PEM certificate (run "
                    "'vsctl pki init' first?)", ca_cert_path);
    }
    f = pki_open(ca_key_path);
    EVP_PKEY *ca_key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    if (!ca_key) {
        vsctl_fatal(1, "pki sign: '%s' is not a PEM private key",
                    ca_key_path);
    }
    f = pki_open(req_path);
    X509_REQ *req = PEM_read_X509_REQ(f, NULL, NULL, NULL);
    fclose(f);
    if (!req) {
        vsctl_fatal(1, "pki sign: '%s' is not a PEM certificate request",
                    req_path);
    }

    EVP_PKEY *pubkey = X509_REQ_get0_pubkey(req);
    if (!pubkey || X509_REQ_verify(req, pubkey) != 1) {
        vsctl_fatal(1, "pki sign: '%s' has a bad signature", req_path);
    }
    X509 *cert = pki_make_cert(X509_REQ_get_subject_name(req), pubkey, ca,
                               ca_key, a->days);
    pki_write_cert(cert_path, cert);

    X509_free(cert);
    X509_REQ_free(req);
    EVP_PKEY_free(ca_key);
    X509_free(ca);
    free(ca_cert_path);
    free(ca_key_path);
    free(req_path);
    free(cert_path);
}

/* Parses the KEY=VALUE (or --KEY=VALUE) arguments after the positional
 * ones. */
static void
pki_parse_args(int argc, char *argv[], struct pki_args *a)
{
    const char *env = getenv("TRACKSWITCH_PKI_DIR");

    a->dir = env && *env ? env : PKI_DEFAULT_DIR;
    a->days = PKI_DEFAULT_DAYS;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (!strncmp(arg, "--", 2)) {
            arg += 2;
        }
        if (!strncmp(arg, "dir=", 4) && arg[4]) {
            a->dir = arg + 4;
        } else if (!strncmp(arg, "days=", 5)) {
            char *end;
            errno = 0;
            a->days = strtol(arg + 5, &end, 10);
            if (errno || end == arg + 5 || *end || !a->days
                || a->days > PKI_MAX_DAYS || a->days < -PKI_MAX_DAYS) {
                vsctl_fatal(2, "pki: invalid '%s' (expected days=N, N a "
                            "non-zero number of days)", argv[i]);
            }
        } else {
            vsctl_fatal(2, "pki: unexpected argument '%s' (expected "
                        "dir=DIR or days=N)", argv[i]);
        }
    }
}

static void
cmd_pki(struct vsctl_ctx *ctx, int argc, char *argv[])
{
    const char *sub = argv[1];
    struct pki_args a;

    if (!strcmp(sub, "init")) {
        pki_parse_args(argc - 2, argv + 2, &a);
        pki_init(&a);
        return;
    }
    if (strcmp(sub, "req") && strcmp(sub, "sign")
        && strcmp(sub, "req+sign")) {
        vsctl_fatal(2, "pki: unknown subcommand '%s' (expected init, req, "
                    "sign or req+sign)", sub);
    }
    if (argc < 3 || strchr(argv[2], '=') || !argv[2][0]) {
        vsctl_fatal(2, "pki %s: missing NAME (usage: pki %s NAME)", sub,
                    sub);
    }
    const char *name = argv[2];
    pki_parse_args(argc - 3, argv + 3, &a);
    if (strcmp(sub, "sign")) {
        pki_req(name);
    }
    if (strcmp(sub, "req")) {
        pki_sign(&a, name);
    }
}

const struct vsctl_command vsctl_pki_commands[] = {
    { "pki", 1, 4, cmd_pki,
      "init | req NAME | sign NAME | req+sign NAME [dir=DIR] [days=N]",
      "init: make a CA in DIR (default $TRACKSWITCH_PKI_DIR or\n"
      "      " PKI_DEFAULT_DIR "); req: make NAME-privkey.pem and "
      "NAME-req.pem;\n"
      "      sign: make NAME-cert.pem, signed by the CA in DIR, valid for "
      "N days\n"
      "      (default 3650; negative: already expired)" },
};
const size_t vsctl_pki_n_commands = ARRAY_SIZE(vsctl_pki_commands);
