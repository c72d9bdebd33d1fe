/* vsctl-capture: packet capture.
 *
 * The table is registered in vsctl.c's command groups; it is empty until
 * the capture work fills it in. */
#include "vsctl.h"

const struct vsctl_command vsctl_capture_commands[] = {
    { NULL, 0, 0, NULL, "", "" },
};
const size_t vsctl_capture_n_commands = 0;
