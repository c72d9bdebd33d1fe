/* ct-alg-tftp: the TFTP helper.  See ct-alg.h.
 *
 * A TFTP request goes from the client's port to the server's port 69; the
 * server answers from a new port of its own to the client's port, which
 * is a new connection as far as conntrack is concerned.  Every
 * original-direction packet of the request connection registers (or, with
 * -EEXIST, refreshes nothing and keeps) the expectation for that answer:
 * from the server, any source port, to the client's (translated) port. */
#include "ct-alg.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>

#include "flow.h"

int
ct_alg_tftp_handle(const struct ct_alg_call *c)
{
    struct ct_expectation exp;
    struct ct_tuple o, r;
    int err;

    if (c->reply || c->conn->key.dst_port != htons(CT_ALG_TFTP_PORT)) {
        return 0;
    }
    ct_alg_conn_tuples(c->conn, &o, &r);
    /* The client (the sender) listens on its own port; the server sends
     * to the client's port as it sees it (translated with SNAT). */
    ct_alg_expectation_init(&exp, c->conn, false, IPPROTO_UDP, o.src_port,
                            r.dst_port);
    err = c->expect(c->aux, &exp, CT_ALG_EXPECT_TIMEOUT_MS, c->now_ms);
    /* A full table is not the request's fault: it passes (the transfer
     * will then be +new, as without a helper). */
    (void) err;
    return 0;
}

static int
ct_alg_tftp_core_expect(void *ct, const struct ct_expectation *exp,
                        uint32_t timeout_ms, long long now_ms)
{
    return ct_expect_add(ct, exp, timeout_ms, now_ms);
}

int
ct_alg_tftp_process(struct conntrack *ct, struct dp_packet *pkt,
                    struct flow *flow, struct ct_conn *conn, bool reply,
                    long long now_ms)
{
    struct ct_alg_call c = {
        .expect = ct_alg_tftp_core_expect, .aux = ct, .pkt = pkt,
        .flow = flow, .conn = conn, .reply = reply, .now_ms = now_ms,
    };

    if (flow->nw_proto != IPPROTO_UDP) {
        return 0;
    }
    return ct_alg_tftp_handle(&c);
}
