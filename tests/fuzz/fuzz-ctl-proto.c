/* libFuzzer target: the control-protocol decoder.
 *
 * Every input is offered to ctl_msg_decode() twice: as is, and with a
 * header patched to a valid version, a message type chosen by the first
 * byte and a length equal to the input size, so that the body parsers
 * (flow-mods, match and action TLVs, multipart replies) see most inputs.
 * A message that decodes must encode again, and that encoding must decode
 * and re-encode to the same bytes.  Any crash, sanitizer report or abort
 * is a bug: bad input must only ever produce an error. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl-proto.h"
#include "dynamic-string.h"
#include "util.h"

static void
check(const uint8_t *data, size_t size)
{
    struct ctl_msg msg, again;
    struct ds a = DS_EMPTY_INITIALIZER, b = DS_EMPTY_INITIALIZER;
    char *err = NULL;

    if (ctl_msg_decode(data, size, &msg, &err)) {
        if (!err) {
            abort();
        }
        free(err);
        return;
    }
    if (ctl_msg_encode(&msg, &a)
        || ctl_msg_decode(a.string, a.length, &again, NULL)
        || ctl_msg_encode(&again, &b)
        || a.length != b.length
        || memcmp(a.string, b.string, a.length)) {
        abort();
    }
    ctl_msg_release(&msg);
    ctl_msg_release(&again);
    ds_destroy(&a);
    ds_destroy(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t types[] = {
        CTL_HELLO, CTL_ERROR, CTL_ECHO_REQUEST, CTL_ECHO_REPLY,
        CTL_BARRIER_REQUEST, CTL_BARRIER_REPLY, CTL_OK,
        CTL_MULTIPART_REQUEST, CTL_MULTIPART_REPLY, CTL_ADD_BR, CTL_DEL_BR,
        CTL_ADD_PORT, CTL_DEL_PORT, CTL_MOD_PORT, CTL_FLOW_MOD,
        CTL_BUNDLE_OPEN, CTL_BUNDLE_ADD, CTL_BUNDLE_COMMIT, CTL_BUNDLE_DISCARD,
        CTL_PACKET_OUT, CTL_LOG_LEVEL_REQUEST, CTL_LOG_LEVEL_REPLY,
        CTL_STATUS_REQUEST, CTL_STATUS_REPLY,
        CTL_CAPTURE_START, CTL_CAPTURE_PACKET, CTL_CAPTURE_STOP,
        CTL_CAPTURE_END,
    };

    check(data, size);
    if (size >= CTL_HEADER_LEN && size <= CTL_MAX_MSG_LEN) {
        uint8_t *copy = xmemdup(data, size);
        copy[1] = types[data[0] % sizeof types];
        copy[0] = CTL_VERSION;
        copy[2] = size >> 8;
        copy[3] = size;
        check(copy, size);
        free(copy);
    }
    return 0;
}
