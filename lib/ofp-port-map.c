/* ofp-port-map: port numbers and names as text. */
#include "ofp-port-map.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "dynamic-string.h"
#include "hash.h"
#include "util.h"

struct ofp_port_map_node {
    struct hmap_node name_node;
    struct hmap_node number_node;
    uint32_t port;
    char *name;
    bool ambiguous_name;        /* name maps to several numbers */
    bool ambiguous_number;      /* number maps to several names */
};

static const struct {
    uint32_t port;
    const char *name;
} reserved_ports[] = {
    { OFPP_IN_PORT, "IN_PORT" },
    { OFPP_TABLE, "TABLE" },
    { OFPP_NORMAL, "NORMAL" },
    { OFPP_FLOOD, "FLOOD" },
    { OFPP_ALL, "ALL" },
    { OFPP_CONTROLLER, "CONTROLLER" },
    { OFPP_LOCAL, "LOCAL" },
    { OFPP_NONE, "ANY" },
    { OFPP_NONE, "NONE" },
};

void
ofp_port_map_init(struct ofp_port_map *map)
{
    hmap_init(&map->by_name);
    hmap_init(&map->by_number);
}

void
ofp_port_map_release(struct ofp_port_map *map)
{
    struct ofp_port_map_node *node;

    if (!map) {
        return;
    }
    HMAP_FOR_EACH_POP (node, name_node, &map->by_name) {
        hmap_remove(&map->by_number, &node->number_node);
        free(node->name);
        free(node);
    }
    hmap_destroy(&map->by_name);
    hmap_destroy(&map->by_number);
}

static struct ofp_port_map_node *
find_by_name(const struct ofp_port_map *map, const char *name)
{
    struct ofp_port_map_node *node;

    HMAP_FOR_EACH_WITH_HASH (node, name_node, hash_string(name, 0),
                             &map->by_name) {
        if (!strcmp(node->name, name)) {
            return node;
        }
    }
    return NULL;
}

static struct ofp_port_map_node *
find_by_number(const struct ofp_port_map *map, uint32_t port)
{
    struct ofp_port_map_node *node;

    HMAP_FOR_EACH_WITH_HASH (node, number_node, hash_int(port, 0),
                             &map->by_number) {
        if (node->port == port) {
            return node;
        }
    }
    return NULL;
}

void
ofp_port_map_put(struct ofp_port_map *map, uint32_t port, const char *name)
{
    struct ofp_port_map_node *by_name = find_by_name(map, name);
    struct ofp_port_map_node *by_number = find_by_number(map, port);

    if (by_name && by_name == by_number) {
        return;
    }
    if (by_name) {
        by_name->ambiguous_name = true;
    }
    if (by_number) {
        by_number->ambiguous_number = true;
    }
    if (by_name || by_number) {
        /* Keep the first entry, marked ambiguous; do not add a second
         * node that lookups could reach. */
        return;
    }
    struct ofp_port_map_node *node = xzalloc(sizeof *node);
    node->port = port;
    node->name = xstrdup(name);
    hmap_insert(&map->by_name, &node->name_node, hash_string(name, 0));
    hmap_insert(&map->by_number, &node->number_node, hash_int(port, 0));
}

bool
ofp_port_map_get_number(const struct ofp_port_map *map, const char *name,
                        uint32_t *port)
{
    const struct ofp_port_map_node *node;

    node = map ? find_by_name(map, name) : NULL;
    if (!node || node->ambiguous_name) {
        return false;
    }
    *port = node->port;
    return true;
}

const char *
ofp_port_map_get_name(const struct ofp_port_map *map, uint32_t port)
{
    const struct ofp_port_map_node *node;

    node = map ? find_by_number(map, port) : NULL;
    return node && !node->ambiguous_number ? node->name : NULL;
}

const char *
ofp_port_reserved_name(uint32_t port)
{
    for (size_t i = 0; i < ARRAY_SIZE(reserved_ports); i++) {
        if (reserved_ports[i].port == port) {
            return reserved_ports[i].name;
        }
    }
    return NULL;
}

static bool
reserved_from_name(const char *s, uint32_t *port)
{
    for (size_t i = 0; i < ARRAY_SIZE(reserved_ports); i++) {
        if (!strcasecmp(reserved_ports[i].name, s)) {
            *port = reserved_ports[i].port;
            return true;
        }
    }
    return false;
}

bool
ofp_port_parse(const char *s, const struct ofp_port_map *map,
               uint32_t *port)
{
    uint64_t n;

    if (!*s) {
        return false;
    }
    if (s[0] == '"') {
        size_t len = strlen(s);
        bool ok;
        char *name;

        if (len < 2 || s[len - 1] != '"') {
            return false;
        }
        name = xstrndup(s + 1, len - 2);
        ok = ofp_port_map_get_number(map, name, port);
        free(name);
        return ok;
    }
    if (str_to_u64(s, UINT32_MAX, &n)) {
        if (n >= OFPP_MAX && !ofp_port_reserved_name(n)) {
            return false;
        }
        *port = n;
        return true;
    }
    if (reserved_from_name(s, port)) {
        return true;
    }
    return ofp_port_map_get_number(map, s, port);
}

static bool
name_needs_quotes(const char *name)
{
    uint32_t dummy;
    uint64_t n;

    if (!*name || str_to_u64(name, UINT64_MAX, &n)
        || reserved_from_name(name, &dummy)) {
        return true;
    }
    for (const char *p = name; *p; p++) {
        unsigned char c = *p;
        if (!isalnum(c) && c != '_' && c != '-' && c != '.') {
            return true;
        }
    }
    return false;
}

void
ofp_port_format(uint32_t port, const struct ofp_port_map *map,
                struct ds *s)
{
    const char *reserved = ofp_port_reserved_name(port);
    const char *name;

    if (reserved) {
        ds_put_cstr(s, reserved);
        return;
    }
    name = ofp_port_map_get_name(map, port);
    if (!name) {
        ds_put_format(s, "%"PRIu32, port);
    } else if (name_needs_quotes(name)) {
        ds_put_format(s, "\"%s\"", name);
    } else {
        ds_put_cstr(s, name);
    }
}
