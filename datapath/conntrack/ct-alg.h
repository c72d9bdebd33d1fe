/* ct-alg: application layer gateways (connection helpers) for FTP and
 * TFTP, with Open vSwitch's userspace semantics (ct(alg=ftp|tftp)).
 *
 * What.  conntrack calls ct_alg_ftp_process() / ct_alg_tftp_process()
 * (declared in conntrack-private.h) for every valid packet of a
 * connection committed with a helper, with the connection locked, after
 * its state machine ran and before NAT rewrites the headers.
 *   - FTP parses PORT and EPRT (client to server: active mode) and the
 *     227 and 229 replies to PASV and EPSV (server to client: passive
 *     mode) at the start of the control connection's TCP payload.  It
 *     registers an expectation for the data connection, which conntrack
 *     reports as +rel and commits with the parent's mark and labels.  An
 *     address in the text that is not the sender's own (FXP, bounce
 *     attacks) creates nothing, as Linux's helper does by default.
 *   - With NAT, the address text is rewritten to the sender's translated
 *     address (the length may change; the port text is kept), and from
 *     then on sequence numbers of that direction and acknowledgements of
 *     the other are shifted (one correction point and two offsets per
 *     direction, as Linux's seqadj; OVS keeps a single skew).  SACK
 *     option edges are shifted like the ack (Linux's
 *     nf_nat_sack_adjust()).  The TCP checksum is fixed incrementally, or
 *     recomputed for a rewritten segment (a pseudo-header sum with
 *     DP_OFL_CSUM_PARTIAL).
 *   - TFTP: a packet to UDP port 69 registers an expectation for the
 *     server's reply from any port to the client's port.
 *   The expectation carries the data connection's reply tuple for NAT
 *   (its unknown port, the one the expectation leaves as wildcard, is 0:
 *   the core fills it from the first packet).
 *
 * Expectation table.  It lives in ct-core.c (ct_expect_add()); this
 * module only builds expectations and formats them for
 * "vsctl dump-conntrack-exp" (OVS has no such dump; our line format is
 * documented at ct_alg_format_expectation()).
 *
 * Threads.  Called with the parent's stripe held; the helper state lives
 * in the connection's ext->alg_data, so no other lock is needed. */
#ifndef TS_CT_ALG_H
#define TS_CT_ALG_H 1

#include <stdbool.h>
#include <stdint.h>
#include "conntrack-private.h"

struct dp_packet;
struct ds;
struct flow;

#define CT_ALG_FTP_PORT 21
#define CT_ALG_TFTP_PORT 69
/* Expectations live at most this long (Linux's FTP helper: 5 min). */
#define CT_ALG_EXPECT_TIMEOUT_MS (5 * 60 * 1000)
/* Longest FTP line the helper looks at (OVS: 128). */
#define CT_ALG_FTP_MAX_LINE 128

/* Sequence adjustment for one direction (in ext->alg_data). */
struct ct_alg_seqadj {
    uint32_t pos;               /* seq of the last rewritten segment */
    int32_t before;             /* offset for seq up to 'pos' */
    int32_t after;              /* offset for seq after 'pos' */
};
struct ct_alg_state {
    struct ct_alg_seqadj dir[2];    /* [0] original, [1] reply */
};
BUILD_ASSERT(sizeof(struct ct_alg_state) <= sizeof(struct ct_alg_data));

/* Where expectations go: ct_expect_add() in production, a fake in
 * tests.  Same contract as ct_expect_add(). */
typedef int ct_alg_expect_cb(void *aux, const struct ct_expectation *,
                             uint32_t timeout_ms, long long now_ms);

/* One helper call. */
struct ct_alg_call {
    ct_alg_expect_cb *expect;
    void *aux;
    struct dp_packet *pkt;
    struct flow *flow;
    struct ct_conn *conn;       /* locked; conn->ext non-NULL */
    bool reply;
    long long now_ms;
};

/* The cores of ct_alg_ftp_process() and ct_alg_tftp_process(). */
int ct_alg_ftp_handle(const struct ct_alg_call *);
int ct_alg_tftp_handle(const struct ct_alg_call *);

/* Reads and writes the helper state of a connection. */
void ct_alg_state_get(const struct ct_conn *, struct ct_alg_state *);
void ct_alg_state_set(struct ct_conn *, const struct ct_alg_state *);

/* Builds the expectation for a data connection announced by the sender
 * of a packet in direction 'reply' of 'conn': the receiver will connect
 * to the sender's translated address, port 'app_port' (be); the sender
 * listens on 'real_port' (be).  Fills mark, labels, parent and NAT. */
void ct_alg_expectation_init(struct ct_expectation *,
                             const struct ct_conn *, bool reply,
                             uint8_t nw_proto, uint16_t real_port,
                             uint16_t app_port);

/* The connection's original tuple and the tuple reply packets carry. */
void ct_alg_conn_tuples(const struct ct_conn *, struct ct_tuple *orig,
                        struct ct_tuple *rev);

/* Appends one expectation as a line (no newline):
 *   tcp,orig=(src=S,dst=D,sport=0,dport=P),reply=(...),
 *   parent=(src=...,dst=...,sport=...,dport=...),zone=Z,mark=M,
 *   labels=0xL,helper=ftp,nat=src|dst,timeout=T
 * 'orig' is the expected original tuple (sport=0: any port), 'reply' is
 * present only with NAT (dport=0: the wildcard port), zone/mark/labels
 * are omitted when zero as in dump-conntrack, 'timeout' (seconds) is
 * omitted when 'timeout_s' is negative. */
void ct_alg_format_expectation(struct ds *, const struct ct_expectation *,
                               long long timeout_s);

#endif /* ct-alg.h */
