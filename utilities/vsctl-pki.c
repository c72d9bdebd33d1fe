/* vsctl-pki: the certificate authority for TLS control (like ovs-pki).
 *
 * The table is registered in vsctl.c's command groups; it is empty until
 * the TLS work fills it in. */
#include "vsctl.h"

const struct vsctl_command vsctl_pki_commands[] = {
    { NULL, 0, 0, NULL, "", "" },
};
const size_t vsctl_pki_n_commands = 0;
