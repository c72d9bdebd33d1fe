/* vslab-model: the lab description built by a script, its validation
 * (everything that can be checked before creating anything), names and
 * numbers (namespaces, interfaces, ofports, MACs) and graphs. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hash.h"
#include "ofp-flow.h"
#include "ofp-group.h"
#include "ofp-port-map.h"
#include "vslab.h"

void
vslab_lab_init(struct vslab_lab *lab, const char *name, const char *file)
{
    memset(lab, 0, sizeof *lab);
    lab->name = xstrdup(name);
    lab->file = file ? xstrdup(file) : NULL;
    uint32_t h = hash_bytes(name, strlen(name), 0x76736c61);
    snprintf(lab->tag, sizeof lab->tag, "v%05x", h & 0xfffff);
}

static void
free_strv(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i]);
    }
    free(v);
}

void
vslab_lab_release(struct vslab_lab *lab)
{
    if (!lab) {
        return;
    }
    for (size_t i = 0; i < lab->n_nodes; i++) {
        struct vslab_node *n = &lab->nodes[i];
        free(n->name);
        free(n->file);
        free(n->ns);
        free_strv(n->ips, n->n_ips);
        free(n->gw);
        free(n->gw6);
        for (size_t j = 0; j < n->n_routes; j++) {
            free(n->routes[j].dst);
            free(n->routes[j].via);
            free(n->routes[j].dev);
        }
        free(n->routes);
        for (size_t j = 0; j < n->n_neighs; j++) {
            free(n->neighs[j].ip);
            free(n->neighs[j].mac);
        }
        free(n->neighs);
        free_strv(n->sysctls, n->n_sysctls);
        free(n->brname);
        for (size_t j = 0; j < n->n_flows; j++) {
            free(n->flows[j].text);
            free(n->flows[j].file);
        }
        free(n->flows);
        for (size_t j = 0; j < n->n_groups; j++) {
            free(n->groups[j].text);
            free(n->groups[j].file);
        }
        free(n->groups);
    }
    free(lab->nodes);
    for (size_t i = 0; i < lab->n_links; i++) {
        struct vslab_link *l = &lab->links[i];
        for (int k = 0; k < 2; k++) {
            free(l->e[k].port);
            free(l->e[k].ifname);
            free(l->e[k].dev);
            free_strv(l->e[k].ips, l->e[k].n_ips);
        }
        free(l->type);
        free(l->netem.delay);
        free(l->netem.jitter);
        free(l->netem.loss);
        free(l->netem.rate);
        free(l->file);
    }
    free(lab->links);
    for (size_t i = 0; i < lab->n_tests; i++) {
        free(lab->tests[i].name);
        free(lab->tests[i].file);
    }
    free(lab->tests);
    free(lab->name);
    free(lab->file);
    memset(lab, 0, sizeof *lab);
}

bool
vslab_name_is_valid(const char *s)
{
    size_t len = strlen(s);

    if (!len || len > VSLAB_NAME_MAX) {
        return false;
    }
    for (const char *p = s; *p; p++) {
        if (!isalnum((unsigned char) *p) && *p != '_' && *p != '-') {
            return false;
        }
    }
    return true;
}

char *
vslab_lab_name_from_file(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t len = strlen(base);
    if (len > 4 && !strcmp(base + len - 4, ".lua")) {
        len -= 4;
    }
    if (len > VSLAB_NAME_MAX) {
        len = VSLAB_NAME_MAX;
    }
    char *name = xstrndup(base, len ? len : 1);
    for (char *p = name; *p; p++) {
        if (!isalnum((unsigned char) *p) && *p != '_' && *p != '-') {
            *p = '_';
        }
    }
    return name;
}

int
vslab_node_find(const struct vslab_lab *lab, const char *name)
{
    for (size_t i = 0; i < lab->n_nodes; i++) {
        if (!strcmp(lab->nodes[i].name, name)) {
            return i;
        }
    }
    return -1;
}

bool
vslab_parse_cidr4(const char *s, uint32_t *addr, int *plen)
{
    char buf[64];
    const char *slash = strchr(s, '/');
    size_t len = slash ? (size_t) (slash - s) : strlen(s);
    struct in_addr in;

    if (len >= sizeof buf) {
        return false;
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (inet_pton(AF_INET, buf, &in) != 1) {
        return false;
    }
    *addr = ntohl(in.s_addr);
    *plen = 32;
    if (slash) {
        uint64_t v;
        if (!str_to_u64(slash + 1, 32, &v)) {
            return false;
        }
        *plen = v;
    }
    return true;
}

static bool
parse_cidr6(const char *s)
{
    char buf[64];
    const char *slash = strchr(s, '/');
    size_t len = slash ? (size_t) (slash - s) : strlen(s);
    struct in6_addr in;
    uint64_t v;

    if (len >= sizeof buf) {
        return false;
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    return inet_pton(AF_INET6, buf, &in) == 1
           && (!slash || str_to_u64(slash + 1, 128, &v));
}

char *
vslab_host_ip(const struct vslab_lab *lab, int node)
{
    for (size_t i = 0; i < lab->n_links; i++) {
        for (int k = 0; k < 2; k++) {
            const struct vslab_end *e = &lab->links[i].e[k];
            if (e->node != node) {
                continue;
            }
            for (size_t j = 0; j < e->n_ips; j++) {
                if (!strchr(e->ips[j], ':')) {
                    return xstrndup(e->ips[j], strcspn(e->ips[j], "/"));
                }
            }
        }
    }
    return NULL;
}

int
vslab_fail(char **errp, const char *file, int line, const char *fmt, ...)
{
    va_list args;

    va_start(args, fmt);
    char *msg = xvasprintf(fmt, args);
    va_end(args);
    *errp = xasprintf("%s:%d: %s", file ? file : "?", line, msg);
    free(msg);
    return -EINVAL;
}

static bool
type_is_valid(const char *type)
{
    return !strcmp(type, "afpacket") || !strcmp(type, "afxdp")
           || !strcmp(type, "tap");
}

/* The switch's impairment syntax (docs/ports.md), checked here so that a
 * bad value is refused before anything is created: a number, then for
 * 'units' one of its units ("" allows a bare number). */
static bool
netem_value_ok(const char *v, const char *const units[])
{
    const char *p = v;
    bool digit = false;

    while (isdigit((unsigned char) *p) || *p == '.') {
        digit |= *p != '.';
        p++;
    }
    if (!digit) {
        return false;
    }
    for (size_t i = 0; units[i]; i++) {
        if (!strcasecmp(p, units[i])) {
            return true;
        }
    }
    return false;
}

static const char *const netem_time_units[] = {
    "s", "sec", "ms", "msec", "us", "usec", "ns", NULL
};
static const char *const netem_pct_units[] = { "%", "", NULL };
static const char *const netem_rate_units[] = {
    "bit", "kbit", "mbit", "gbit", "bps", "kbps", "mbps", "gbps", NULL
};

/* Names and numbers of link 'i'. */
static void
assign_link(struct vslab_lab *lab, size_t i)
{
    struct vslab_link *l = &lab->links[i];

    for (int k = 0; k < 2; k++) {
        struct vslab_end *e = &l->e[k];
        free(e->dev);
        e->dev = xasprintf("%s-%zx%c", lab->tag, i, 'a' + k);
        uint32_t h = hash_bytes(lab->name, strlen(lab->name), 0x6d6163);
        if (e->mac[0]) {
            continue;           /* given by the script */
        }
        snprintf(e->mac, sizeof e->mac, "02:%02x:%02x:%02x:%02x:%02x",
                 (h >> 8) & 0xff, h & 0xff, (unsigned) (i >> 8) & 0x7f,
                 (unsigned) i & 0xff, k);
    }
    if (!strcmp(l->type, "tap")) {
        /* One device: the switch's TAP, moved into the host. */
        int sw = lab->nodes[l->e[0].node].type == VSLAB_SWITCH ? 0 : 1;
        free(l->e[!sw].dev);
        l->e[!sw].dev = xstrdup(l->e[sw].dev);
    }
}

static int
check_host_end(struct vslab_lab *lab, const struct vslab_link *l,
               const struct vslab_end *e, char **errp)
{
    const struct vslab_node *n = &lab->nodes[e->node];
    uint32_t net4 = 0;
    int plen4 = -1;

    for (size_t j = 0; j < e->n_ips; j++) {
        uint32_t a;
        int plen;
        if (strchr(e->ips[j], ':')) {
            if (!parse_cidr6(e->ips[j])) {
                return vslab_fail(errp, l->file, l->line,
                                  "host '%s': bad IPv6 address '%s'",
                                  n->name, e->ips[j]);
            }
            continue;
        }
        if (!vslab_parse_cidr4(e->ips[j], &a, &plen) || !strchr(e->ips[j],
                                                               '/')) {
            return vslab_fail(errp, l->file, l->line, "host '%s': bad "
                              "address '%s' (expected A.B.C.D/LEN)", n->name,
                              e->ips[j]);
        }
        uint32_t mask = plen ? ~0u << (32 - plen) : 0;
        if (plen4 >= 0 && ((a & mask) != net4 || plen != plen4)) {
            return vslab_fail(errp, l->file, l->line, "host '%s' is on two "
                              "subnets of one link (%s and %s)", n->name,
                              e->ips[0], e->ips[j]);
        }
        net4 = a & mask;
        plen4 = plen;
    }
    return 0;
}

static bool
ip_in_subnets(const struct vslab_lab *lab, int node, const char *ip)
{
    uint32_t a, b;
    int plen, bl;

    if (!vslab_parse_cidr4(ip, &a, &bl)) {
        return false;
    }
    for (size_t i = 0; i < lab->n_links; i++) {
        for (int k = 0; k < 2; k++) {
            const struct vslab_end *e = &lab->links[i].e[k];
            if (e->node != node) {
                continue;
            }
            for (size_t j = 0; j < e->n_ips; j++) {
                if (vslab_parse_cidr4(e->ips[j], &b, &plen)) {
                    uint32_t mask = plen ? ~0u << (32 - plen) : 0;
                    if ((a & mask) == (b & mask)) {
                        return true;
                    }
                }
            }
        }
    }
    return false;
}

static int
check_switch(struct vslab_lab *lab, int idx, char **errp)
{
    struct vslab_node *n = &lab->nodes[idx];
    struct ofp_port_map map;
    int err = 0;

    vslab_switch_port_map(lab, idx, &map);
    for (size_t j = 0; !err && j < n->n_groups; j++) {
        struct ofp_group_mod gm;
        char *e = ofp_parse_group_mod(&gm, n->groups[j].text, OFPGC_ADD,
                                      &map);
        if (e) {
            err = vslab_fail(errp, n->groups[j].file, n->groups[j].line,
                             "switch '%s': bad group: %s", n->name, e);
            free(e);
        } else {
            ofp_group_mod_release(&gm);
        }
    }
    for (size_t j = 0; !err && j < n->n_flows; j++) {
        const struct vslab_flows *f = &n->flows[j];
        char *copy = xstrdup(f->text);
        int line = f->line;
        for (char *save = NULL, *s = strtok_r(copy, "\n", &save);
             s; s = strtok_r(NULL, "\n", &save)) {
            /* Line numbers: count the newlines skipped before 's'. */
            line = f->line;
            for (const char *p = f->text; p < f->text + (s - copy); p++) {
                line += *p == '\n';
            }
            while (isspace((unsigned char) *s)) {
                s++;
            }
            if (!*s || *s == '#') {
                continue;
            }
            struct ofp_flow_mod fm;
            char *e = ofp_parse_flow_mod(&fm, s, OFPFC_ADD, &map);
            if (e) {
                err = vslab_fail(errp, f->file, line,
                                 "switch '%s': bad flow: %s", n->name, e);
                free(e);
                break;
            }
            ofp_flow_mod_release(&fm);
        }
        free(copy);
    }
    ofp_port_map_release(&map);
    return err;
}

int
vslab_lab_validate(struct vslab_lab *lab, char **errp)
{
    size_t n_hosts = 0;

    for (size_t i = 0; i < lab->n_nodes; i++) {
        struct vslab_node *n = &lab->nodes[i];
        if (vslab_node_find(lab, n->name) != (int) i) {
            int first = vslab_node_find(lab, n->name);
            return vslab_fail(errp, n->file, n->line, "duplicate name '%s' "
                              "(first defined at %s:%d)", n->name,
                              lab->nodes[first].file, lab->nodes[first].line);
        }
        if (n->type == VSLAB_SWITCH) {
            free(n->brname);
            n->brname = strlen(lab->tag) + 1 + strlen(n->name) <= 15
                        ? xasprintf("%s-%s", lab->tag, n->name)
                        : xasprintf("%s-s%zx", lab->tag, i);
        } else {
            n_hosts++;
        }
    }
    /* host { ip = ... } addresses go to the host's first link that has
     * none of its own. */
    for (size_t i = 0; i < lab->n_nodes; i++) {
        struct vslab_node *n = &lab->nodes[i];
        for (size_t j = 0; n->n_ips && j < lab->n_links; j++) {
            struct vslab_end *e = (lab->links[j].e[0].node == (int) i
                                   ? &lab->links[j].e[0]
                                   : lab->links[j].e[1].node == (int) i
                                   ? &lab->links[j].e[1] : NULL);
            if (e) {
                if (!e->n_ips) {
                    e->ips = xcalloc(n->n_ips, sizeof *e->ips);
                    for (size_t k = 0; k < n->n_ips; k++) {
                        e->ips[k] = xstrdup(n->ips[k]);
                    }
                    e->n_ips = n->n_ips;
                }
                break;
            }
        }
    }
    for (size_t i = 0; i < lab->n_links; i++) {
        struct vslab_link *l = &lab->links[i];
        if (!type_is_valid(l->type)) {
            return vslab_fail(errp, l->file, l->line, "unknown port type "
                              "'%s' (expected afpacket, afxdp, tap or veth)",
                              l->type);
        }
        if (l->e[0].node == l->e[1].node) {
            return vslab_fail(errp, l->file, l->line,
                              "link from '%s' to itself",
                              lab->nodes[l->e[0].node].name);
        }
        const char *vals[] = { l->netem.delay, l->netem.jitter,
                               l->netem.loss, l->netem.rate };
        const char *const *units[] = { netem_time_units, netem_time_units,
                                       netem_pct_units, netem_rate_units };
        const char *keys[] = { "delay", "jitter", "loss", "rate" };
        bool impaired = false;
        for (size_t j = 0; j < ARRAY_SIZE(vals); j++) {
            if (vals[j] && !netem_value_ok(vals[j], units[j])) {
                return vslab_fail(errp, l->file, l->line, "bad %s '%s' (e.g. "
                                  "delay = \"5ms\", loss = \"1%%\", rate = "
                                  "\"10mbit\")", keys[j], vals[j]);
            }
            impaired |= vals[j] != NULL;
        }
        if (impaired && lab->nodes[l->e[0].node].type != VSLAB_SWITCH
            && lab->nodes[l->e[1].node].type != VSLAB_SWITCH) {
            return vslab_fail(errp, l->file, l->line, "impairments need a "
                              "switch on the link (the switch applies them)");
        }
        bool tap = !strcmp(l->type, "tap");
        int n_switch = 0;
        for (int k = 0; k < 2; k++) {
            struct vslab_end *e = &l->e[k];
            if (lab->nodes[e->node].type == VSLAB_SWITCH) {
                n_switch++;
                continue;
            }
            int err = check_host_end(lab, l, e, errp);
            if (err) {
                return err;
            }
        }
        if (tap && n_switch != 1) {
            return vslab_fail(errp, l->file, l->line, "type 'tap' needs a "
                              "link between a host and a switch");
        }
        assign_link(lab, i);
    }
    /* Port names per switch, and the same interface name twice in one
     * host. */
    for (size_t i = 0; i < lab->n_links; i++) {
        for (int k = 0; k < 2; k++) {
            const struct vslab_end *a = &lab->links[i].e[k];
            for (size_t j = i; j < lab->n_links; j++) {
                for (int m = (j == i ? k + 1 : 0); m < 2; m++) {
                    const struct vslab_end *b = &lab->links[j].e[m];
                    if (a->node != b->node) {
                        continue;
                    }
                    const char *na = a->port ? a->port : a->ifname;
                    const char *nb = b->port ? b->port : b->ifname;
                    if (na && nb && !strcmp(na, nb)) {
                        const struct vslab_link *l = &lab->links[j];
                        return vslab_fail(errp, l->file, l->line, "duplicate "
                                          "port name '%s' on '%s'", na,
                                          lab->nodes[a->node].name);
                    }
                    if (a->ofport && a->ofport == b->ofport) {
                        const struct vslab_link *l = &lab->links[j];
                        return vslab_fail(errp, l->file, l->line, "duplicate "
                                          "ofport %u on '%s'", a->ofport,
                                          lab->nodes[a->node].name);
                    }
                }
            }
        }
    }
    for (size_t i = 0; i < lab->n_nodes; i++) {
        struct vslab_node *n = &lab->nodes[i];
        if (n->type == VSLAB_HOST) {
            if (n->gw && !ip_in_subnets(lab, i, n->gw)) {
                return vslab_fail(errp, n->file, n->line, "host '%s': "
                                  "gateway %s is on none of its subnets",
                                  n->name, n->gw);
            }
            continue;
        }
        int err = check_switch(lab, i, errp);
        if (err) {
            return err;
        }
    }
    (void) n_hosts;
    return vslab_vm_validate(lab, errp);
}

void
vslab_switch_port_map(const struct vslab_lab *lab, int node,
                      struct ofp_port_map *map)
{
    ofp_port_map_init(map);
    for (size_t i = 0; i < lab->n_links; i++) {
        for (int k = 0; k < 2; k++) {
            const struct vslab_end *e = &lab->links[i].e[k];
            if (e->node == node && e->port) {
                ofp_port_map_put(map, e->ofport, e->port);
            }
        }
    }
}

static const char *
end_label(const struct vslab_lab *lab, const struct vslab_end *e)
{
    return e->port ? e->port : e->ifname ? e->ifname : "";
}

int
vslab_lab_graph(const struct vslab_lab *lab, const char *format,
                struct ds *out)
{
    bool dot = !strcmp(format, "dot");

    if (!dot && strcmp(format, "mermaid")) {
        return -EINVAL;
    }
    if (dot) {
        ds_put_format(out, "graph \"%s\" {\n", lab->name);
    } else {
        ds_put_cstr(out, "graph LR\n");
    }
    for (size_t i = 0; i < lab->n_nodes; i++) {
        const struct vslab_node *n = &lab->nodes[i];
        struct ds label = DS_EMPTY_INITIALIZER;
        ds_put_cstr(&label, n->name);
        char *ip = n->type == VSLAB_HOST ? vslab_host_ip(lab, i) : NULL;
        if (ip) {
            ds_put_format(&label, dot ? "\\n%s" : "<br/>%s", ip);
            free(ip);
        }
        if (dot) {
            ds_put_format(out, "  \"%s\" [shape=%s,label=\"%s\"];\n",
                          n->name, n->type == VSLAB_SWITCH ? "box"
                          : vslab_node_is_vm(n) ? "box3d" : "ellipse",
                          ds_cstr(&label));
        } else if (vslab_node_is_vm(n)) {
            ds_put_format(out, "  %s{{\"%s\"}}\n", n->name,
                          ds_cstr(&label));
        } else if (n->type == VSLAB_SWITCH) {
            ds_put_format(out, "  %s[[\"%s\"]]\n", n->name,
                          ds_cstr(&label));
        } else {
            ds_put_format(out, "  %s(\"%s\")\n", n->name, ds_cstr(&label));
        }
        ds_destroy(&label);
    }
    for (size_t i = 0; i < lab->n_links; i++) {
        const struct vslab_link *l = &lab->links[i];
        struct ds label = DS_EMPTY_INITIALIZER;
        ds_put_format(&label, "%s %s-%s", l->type,
                      end_label(lab, &l->e[0]), end_label(lab, &l->e[1]));
        if (l->netem.delay) {
            ds_put_format(&label, " delay %s", l->netem.delay);
        }
        if (l->netem.loss) {
            ds_put_format(&label, " loss %s", l->netem.loss);
        }
        if (l->netem.rate) {
            ds_put_format(&label, " rate %s", l->netem.rate);
        }
        const char *a = lab->nodes[l->e[0].node].name;
        const char *b = lab->nodes[l->e[1].node].name;
        if (dot) {
            ds_put_format(out, "  \"%s\" -- \"%s\" [label=\"%s\"];\n", a, b,
                          ds_cstr(&label));
        } else {
            ds_put_format(out, "  %s ---|\"%s\"| %s\n", a, ds_cstr(&label),
                          b);
        }
        ds_destroy(&label);
    }
    if (dot) {
        ds_put_cstr(out, "}\n");
    }
    return 0;
}
