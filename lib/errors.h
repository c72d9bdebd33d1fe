/* errors: one convention for failure.
 *
 * Functions that can fail return 0 or a negative errno value.  Failures
 * that no errno describes use the project codes below, all below
 * -TS_ERR_BASE so they never collide with errno values.  ts_strerror()
 * turns either kind into text. */
#ifndef TS_ERRORS_H
#define TS_ERRORS_H 1

#include <errno.h>

#define TS_ERR_BASE 4096
enum ts_error {
    TS_ERR_SYNTAX = TS_ERR_BASE + 1, /* malformed text input */
    TS_ERR_PROTO,                    /* malformed control message */
    TS_ERR_VERSION,                  /* unsupported protocol version */
    TS_ERR_NO_BRIDGE,                /* no such bridge */
    TS_ERR_NO_PORT,                  /* no such port */
    TS_ERR_BRIDGE_EXISTS,            /* bridge already exists */
    TS_ERR_PORT_EXISTS,              /* port already exists */
    TS_ERR_BAD_TYPE,                 /* unknown port type */
    TS_ERR_OFPORT_IN_USE,            /* requested ofport taken */
    TS_ERR_BAD_TABLE,                /* table id out of range */
    TS_ERR_BAD_ACTION,               /* action invalid in context */
    TS_ERR_BAD_MATCH,                /* match invalid (prerequisites) */
    TS_ERR_STORE,                    /* durable store corrupt */
    TS_ERR_TOO_BIG,                  /* message or object too large */
    TS_ERR_UNSUPPORTED,              /* valid but not implemented */
    TS_ERR_MAX
};

/* Returns a static string for 'err', which may be negative (as returned
 * by functions) or positive. */
const char *ts_strerror(int err);

#endif /* errors.h */
