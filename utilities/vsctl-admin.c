/* vsctl-admin: restart and other daemon management.
 *
 * The table is registered in vsctl.c's command groups; it is empty until
 * the restart work fills it in. */
#include "vsctl.h"

const struct vsctl_command vsctl_admin_commands[] = {
    { NULL, 0, 0, NULL, "", "" },
};
const size_t vsctl_admin_n_commands = 0;
