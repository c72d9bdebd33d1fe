/* ct-other.c: connectionless and simple protocols.
 *
 * UDP (and UDP-Lite, DCCP) and every other IP protocol follow OVS's
 * "other" tracker: FIRST after the first packet, MULTIPLE after more
 * packets from the originator only (still +new), BIDIR once the reply
 * direction spoke (+est); timers udp_first, udp_single, udp_multiple.
 * Protocols without ports are tracked by addresses.
 *
 * SCTP gets a basic association state machine driven by the first chunk
 * of each packet (INIT, INIT ACK, COOKIE ECHO/ACK, SHUTDOWN*, ABORT),
 * with OVS's SCTP state names; verification tags are recorded but not
 * enforced.  Its timers reuse the TCP ones: opening states use
 * tcp_syn_recv, ESTABLISHED tcp_established, SHUTDOWN* tcp_fin_wait and
 * CLOSED tcp_close.
 *
 * Called by ct-core.c with the connection's owner stripe held (the CRC
 * is a pure function). */
#include <arpa/inet.h>
#include <endian.h>
#include <string.h>
#include "conntrack-private.h"
#include "crc32c.h"
#include "packets.h"

void
ct_other_new_conn(struct conntrack *ct, struct ct_conn *conn,
                  const struct ct_pkt *cp, uint32_t now)
{
    (void) cp;
    conn->l4_state = CT_OTHER_FIRST;
    ct_conn_set_timer(ct, conn, CT_TM_OTHER_FIRST, now);
}

enum ct_update_res
ct_other_update(struct conntrack *ct, struct ct_conn *conn,
                const struct ct_pkt *cp, bool reply, uint32_t now)
{
    static const enum ct_tm timers[] = {
        [CT_OTHER_FIRST] = CT_TM_OTHER_FIRST,
        [CT_OTHER_MULTIPLE] = CT_TM_OTHER_MULTIPLE,
        [CT_OTHER_BIDIR] = CT_TM_OTHER_BIDIR,
    };
    enum ct_update_res res = CT_UPDATE_VALID;

    (void) cp;
    if (reply && conn->l4_state != CT_OTHER_BIDIR) {
        conn->l4_state = CT_OTHER_BIDIR;
    } else if (conn->l4_state == CT_OTHER_FIRST) {
        conn->l4_state = CT_OTHER_MULTIPLE;
        res = CT_UPDATE_VALID_NEW;
    }
    ct_conn_set_timer(ct, conn, timers[conn->l4_state], now);
    return res;
}

/* ---- SCTP ------------------------------------------------------------ */

enum {
    SCTP_CHUNK_DATA = 0,
    SCTP_CHUNK_INIT = 1,
    SCTP_CHUNK_INIT_ACK = 2,
    SCTP_CHUNK_ABORT = 6,
    SCTP_CHUNK_SHUTDOWN = 7,
    SCTP_CHUNK_SHUTDOWN_ACK = 8,
    SCTP_CHUNK_COOKIE_ECHO = 10,
    SCTP_CHUNK_COOKIE_ACK = 11,
    SCTP_CHUNK_SHUTDOWN_COMPLETE = 14,
    SCTP_CHUNK_NONE = 256,
};

static int
ct_sctp_first_chunk(const struct ct_pkt *cp)
{
    const uint8_t *p = cp->l4;

    return cp->l4_len >= SCTP_HEADER_LEN + 4 ? p[SCTP_HEADER_LEN]
                                             : SCTP_CHUNK_NONE;
}

bool
ct_sctp_valid_new(const struct ct_pkt *cp)
{
    int chunk = ct_sctp_first_chunk(cp);

    /* INIT, or a picked-up association; never a teardown. */
    return chunk != SCTP_CHUNK_NONE && chunk != SCTP_CHUNK_ABORT
           && chunk != SCTP_CHUNK_SHUTDOWN_COMPLETE
           && chunk != SCTP_CHUNK_SHUTDOWN_ACK
           && chunk != SCTP_CHUNK_INIT_ACK;
}

static void
ct_sctp_set_timer(struct conntrack *ct, struct ct_conn *conn, uint32_t now)
{
    enum ct_tm tm;

    switch (conn->l4_state) {
    case CT_SCTPS_CLOSED:
        tm = CT_TM_TCP_CLOSED;
        break;
    case CT_SCTPS_COOKIE_WAIT:
    case CT_SCTPS_COOKIE_ECHOED:
        tm = CT_TM_TCP_OPENING;
        break;
    case CT_SCTPS_SHUTDOWN_SENT:
    case CT_SCTPS_SHUTDOWN_RECD:
    case CT_SCTPS_SHUTDOWN_ACK_SENT:
        tm = CT_TM_TCP_CLOSING;
        break;
    default:
        tm = CT_TM_TCP_ESTABLISHED;
        break;
    }
    ct_conn_set_timer(ct, conn, tm, now);
}

void
ct_sctp_new_conn(struct conntrack *ct, struct ct_conn *conn,
                 const struct ct_pkt *cp, uint32_t now)
{
    const struct sctp_header *sh = cp->l4;

    conn->l4.sctp.vtag[0] = sh->sctp_vtag;
    conn->l4_state = ct_sctp_first_chunk(cp) == SCTP_CHUNK_INIT
                     ? CT_SCTPS_COOKIE_WAIT : CT_SCTPS_ESTABLISHED;
    ct_sctp_set_timer(ct, conn, now);
}

enum ct_update_res
ct_sctp_update(struct conntrack *ct, struct ct_conn *conn,
               const struct ct_pkt *cp, bool reply, uint32_t now)
{
    const struct sctp_header *sh = cp->l4;
    uint8_t st = conn->l4_state;

    switch (ct_sctp_first_chunk(cp)) {
    case SCTP_CHUNK_INIT:
        if (st == CT_SCTPS_CLOSED || st >= CT_SCTPS_SHUTDOWN_SENT) {
            conn->l4_state = CT_SCTPS_CLOSED;
            return CT_UPDATE_NEW;
        }
        break;
    case SCTP_CHUNK_INIT_ACK:
        if (!reply) {
            return CT_UPDATE_INVALID;
        }
        conn->l4.sctp.vtag[1] = sh->sctp_vtag;
        break;
    case SCTP_CHUNK_COOKIE_ECHO:
        if (st < CT_SCTPS_COOKIE_ECHOED) {
            st = CT_SCTPS_COOKIE_ECHOED;
        }
        break;
    case SCTP_CHUNK_COOKIE_ACK:
        if (st == CT_SCTPS_COOKIE_ECHOED) {
            st = CT_SCTPS_ESTABLISHED;
        }
        break;
    case SCTP_CHUNK_SHUTDOWN:
        if (st < CT_SCTPS_SHUTDOWN_SENT) {
            st = reply ? CT_SCTPS_SHUTDOWN_RECD : CT_SCTPS_SHUTDOWN_SENT;
        }
        break;
    case SCTP_CHUNK_SHUTDOWN_ACK:
        st = CT_SCTPS_SHUTDOWN_ACK_SENT;
        break;
    case SCTP_CHUNK_SHUTDOWN_COMPLETE:
    case SCTP_CHUNK_ABORT:
        st = CT_SCTPS_CLOSED;
        break;
    case SCTP_CHUNK_NONE:
        return CT_UPDATE_INVALID;
    default:
        break;
    }
    conn->l4_state = st;
    ct_sctp_set_timer(ct, conn, now);
    if (!reply && !(conn->flags & CT_CONN_F_SEEN_REPLY)
        && st < CT_SCTPS_ESTABLISHED) {
        return CT_UPDATE_VALID_NEW;
    }
    return CT_UPDATE_VALID;
}

/* CRC32c (Castagnoli), as SCTP stores it (RFC 9260 appendix B): the
 * returned value compares equal to the checksum field's raw bytes. */
uint32_t
ct_sctp_crc32c(const void *data, size_t n)
{
    return htole32(crc32c(data, n));
}
