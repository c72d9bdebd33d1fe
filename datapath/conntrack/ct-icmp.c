/* ct-icmp.c: ICMP and ICMPv6 query tracking (echo, timestamp, info,
 * address mask), as OVS does it: a request creates the connection (the
 * identifier plays the port in both directions), the matching reply type
 * in the other direction makes it established.  Errors (destination
 * unreachable, time exceeded, ...) carry an inner packet and are related
 * to that packet's connection: ct-core.c parses them.
 *
 * Called by ct-core.c with the connection's owner stripe held. */
#include <string.h>
#include <sys/socket.h>
#include "conntrack-private.h"
#include "packets.h"

int
ct_icmp_reply_type(uint8_t family, uint8_t type)
{
    if (family == AF_INET) {
        switch (type) {
        case 8:         /* echo request */
            return 0;
        case 13:        /* timestamp */
            return 14;
        case 15:        /* information request */
            return 16;
        case 17:        /* address mask request */
            return 18;
        default:
            return -1;
        }
    }
    return type == 128 ? 129 : -1;  /* echo request -> echo reply */
}

bool
ct_icmp_is_query(uint8_t family, uint8_t type)
{
    return ct_icmp_reply_type(family, type) >= 0;
}

bool
ct_icmp_is_reply(uint8_t family, uint8_t type)
{
    if (family == AF_INET) {
        return type == 0 || type == 14 || type == 16 || type == 18;
    }
    return type == 129;
}

bool
ct_icmp_is_error(uint8_t family, uint8_t type)
{
    if (family == AF_INET) {
        /* unreachable, source quench, redirect, time exceeded,
         * parameter problem */
        return type == 3 || type == 4 || type == 5 || type == 11
               || type == 12;
    }
    /* unreachable, packet too big, time exceeded, parameter problem */
    return type >= 1 && type <= 4;
}

void
ct_icmp_new_conn(struct conntrack *ct, struct ct_conn *conn,
                 const struct ct_pkt *cp, uint32_t now)
{
    const uint8_t *icmp = cp->l4;

    conn->l4.icmp.type = icmp[0];
    conn->l4.icmp.code = icmp[1];
    conn->l4_state = CT_ICMP_FIRST;
    ct_conn_set_timer(ct, conn, CT_TM_ICMP_FIRST, now);
}

enum ct_update_res
ct_icmp_update(struct conntrack *ct, struct ct_conn *conn,
               const struct ct_pkt *cp, bool reply, uint32_t now)
{
    enum ct_update_res res = CT_UPDATE_VALID;

    (void) cp;
    if (reply && conn->l4_state == CT_ICMP_FIRST) {
        conn->l4_state = CT_ICMP_REPLY;
    } else if (conn->l4_state == CT_ICMP_FIRST) {
        res = CT_UPDATE_VALID_NEW;
    }
    ct_conn_set_timer(ct, conn, conn->l4_state == CT_ICMP_FIRST
                                ? CT_TM_ICMP_FIRST : CT_TM_ICMP_REPLY, now);
    return res;
}
