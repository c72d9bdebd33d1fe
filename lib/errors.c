/* errors: text for negative errno values and TS_ERR_* codes. */
#include "errors.h"

#include <string.h>

#include "util.h"

static const char *const ts_error_names[] = {
    [TS_ERR_SYNTAX - TS_ERR_BASE] = "syntax error",
    [TS_ERR_PROTO - TS_ERR_BASE] = "malformed control message",
    [TS_ERR_VERSION - TS_ERR_BASE] = "unsupported protocol version",
    [TS_ERR_NO_BRIDGE - TS_ERR_BASE] = "no such bridge",
    [TS_ERR_NO_PORT - TS_ERR_BASE] = "no such port",
    [TS_ERR_BRIDGE_EXISTS - TS_ERR_BASE] = "bridge already exists",
    [TS_ERR_PORT_EXISTS - TS_ERR_BASE] = "port already exists",
    [TS_ERR_BAD_TYPE - TS_ERR_BASE] = "unknown port type",
    [TS_ERR_OFPORT_IN_USE - TS_ERR_BASE] = "requested ofport already in use",
    [TS_ERR_BAD_TABLE - TS_ERR_BASE] = "table id out of range",
    [TS_ERR_BAD_ACTION - TS_ERR_BASE] = "invalid action",
    [TS_ERR_BAD_MATCH - TS_ERR_BASE] = "invalid match",
    [TS_ERR_STORE - TS_ERR_BASE] = "configuration store corrupt",
    [TS_ERR_TOO_BIG - TS_ERR_BASE] = "too large",
    [TS_ERR_UNSUPPORTED - TS_ERR_BASE] = "not supported",
};
BUILD_ASSERT(ARRAY_SIZE(ts_error_names) == TS_ERR_MAX - TS_ERR_BASE);

const char *
ts_strerror(int err)
{
    if (err < 0) {
        err = -err;
    }
    if (err == 0) {
        return "success";
    }
    if (err > TS_ERR_BASE) {
        if (err < TS_ERR_MAX && ts_error_names[err - TS_ERR_BASE]) {
            return ts_error_names[err - TS_ERR_BASE];
        }
        return "unknown error";
    }
    /* strerror() may use a shared buffer only for unknown values; glibc
     * returns static strings for known ones.  strerrordesc_np() is
     * thread-safe and always static. */
    const char *s = strerrordesc_np(err);
    return s ? s : "unknown error";
}
