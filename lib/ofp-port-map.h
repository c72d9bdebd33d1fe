/* ofp-port-map: OpenFlow port numbers as text, and an optional map between
 * port names and numbers.
 *
 * Port numbers are 32-bit in struct flow and actions but follow OpenFlow
 * 1.0's 16-bit numbering, as ovs-ofctl shows it: 1..0xfeff are ordinary
 * ports (OFPP_MAX is the first reserved value) and the reserved ports are
 * written IN_PORT, TABLE, NORMAL, FLOOD, ALL, CONTROLLER, LOCAL, ANY
 * (aka NONE), parsed case-insensitively.
 *
 * A port map is filled by a client that knows the bridge's ports (vsctl
 * asks the daemon) so that "in_port=p1" and "output:p1" parse, and so that
 * printing can show names (vsctl dump-flows --names).  Passing NULL for a
 * map means "numbers only".  Names that look like numbers or reserved
 * names, or contain delimiters, are printed in double quotes, and quoted
 * names parse.
 *
 * Threads: control plane only; a map is owned by one thread.
 */
#ifndef TS_OFP_PORT_MAP_H
#define TS_OFP_PORT_MAP_H 1

#include <stdbool.h>
#include <stdint.h>
#include "hmap.h"

struct ds;

#define OFPP_MAX 0xff00u         /* first reserved number */
#define OFPP_UNSET 0xfff7u       /* not a port: "no value given" */
#define OFPP_IN_PORT 0xfff8u
#define OFPP_TABLE 0xfff9u
#define OFPP_NORMAL 0xfffau
#define OFPP_FLOOD 0xfffbu
#define OFPP_ALL 0xfffcu
#define OFPP_CONTROLLER 0xfffdu
#define OFPP_LOCAL 0xfffeu
#define OFPP_NONE 0xffffu        /* "ANY" in OpenFlow 1.1+ */
#define OFPP_ANY OFPP_NONE

struct ofp_port_map {
    struct hmap by_name;        /* struct ofp_port_map_node */
    struct hmap by_number;
};

void ofp_port_map_init(struct ofp_port_map *);
void ofp_port_map_release(struct ofp_port_map *);   /* accepts NULL */
/* Adds 'name' <-> 'port' (copies 'name').  A name or number already
 * present with a different partner becomes ambiguous and is no longer
 * resolved in that direction. */
void ofp_port_map_put(struct ofp_port_map *, uint32_t port,
                      const char *name);
/* NULL map: always false / NULL. */
bool ofp_port_map_get_number(const struct ofp_port_map *, const char *name,
                             uint32_t *port);
const char *ofp_port_map_get_name(const struct ofp_port_map *,
                                  uint32_t port);

/* Parses a port: a decimal number (< OFPP_MAX, or a reserved number), a
 * reserved name, or a (possibly "quoted") name in 'map'.  Returns true on
 * success. */
bool ofp_port_parse(const char *s, const struct ofp_port_map *,
                    uint32_t *port);
/* Appends the port as OVS prints it: reserved names in capitals, a name
 * from 'map' if it has one, else the decimal number. */
void ofp_port_format(uint32_t port, const struct ofp_port_map *,
                     struct ds *);
/* Reserved name ("LOCAL") or NULL. */
const char *ofp_port_reserved_name(uint32_t port);

#endif /* ofp-port-map.h */
