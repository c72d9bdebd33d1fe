/* vslab: lab topologies in Lua.  Private to utilities/vslab*.
 *
 * A lab runs in two phases.  Phase one runs the user's script in a
 * sandboxed Lua state (vslab-lua.c): switch(), host() and link() fill a
 * struct vslab_lab, the model, and nothing outside the process changes.
 * vslab_lab_validate() (vslab-model.c) then checks the whole model (names,
 * addresses, port types, flows and groups parsed against the planned port
 * numbers) and only then does phase two create anything: namespaces and
 * interfaces (vslab-sys.c), bridges, ports, groups and flows through the
 * control protocol (vslab-ctl.c), and, for `vslab test`, the script's test
 * functions, which still live in the Lua state of phase one.
 *
 * Tagging: everything made for lab LAB can be found again without the
 * state file.  Namespaces are "vslab.LAB.NODE" (lab and node names are
 * [A-Za-z0-9_-], so the prefix "vslab.LAB." is unambiguous); interfaces
 * and bridges in the root namespace are "TAG-..." where TAG is "v" and
 * five hex digits of a hash of LAB (15-byte interface names), and carry
 * the alias "vslab.LAB"; a private vswitchd keeps its pid file, socket,
 * store and log in /run/vslab/LAB/, next to the state file.
 *
 * Node kinds: a node's 'kind' says how commands run in it (struct
 * vslab_node_kind).  Hosts are network namespaces ("ip netns exec");
 * vms (vslab-vm.c) are QEMU guests reached through `ts-vm exec`.
 *
 * Threads: single-threaded. */
#ifndef TS_VSLAB_H
#define TS_VSLAB_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "dynamic-string.h"
#include "util.h"

struct lua_State;
struct ofp_port_map;
struct vslab_node;

#define VSLAB_RUN_DIR "/run/vslab"
#define VSLAB_NAME_MAX 32       /* lab and node names */

enum vslab_node_type {
    VSLAB_HOST,
    VSLAB_SWITCH,
};

/* How to run a command inside a node: fills 'argv' (at most 8 entries)
 * with the prefix that precedes the command and returns their number.
 * The strings are borrowed from the node. */
struct vslab_node_kind {
    const char *name;           /* "host" */
    int (*exec_prefix)(const struct vslab_node *, const char *argv[8]);
};

extern const struct vslab_node_kind vslab_kind_netns;

struct vslab_route {
    char *dst;                  /* "default", "10.1.0.0/24" */
    char *via;                  /* gateway address or NULL */
    char *dev;                  /* interface or NULL */
};

struct vslab_neigh {
    char *ip;
    char *mac;                  /* NULL: the MAC of 'node' (first iface) */
    int node;                   /* node index or -1 */
};

struct vslab_flows {
    char *text;                 /* one flow per line */
    char *file;
    int line;                   /* line of the sw:flows call */
};

struct vslab_node {
    char *name;
    enum vslab_node_type type;
    const struct vslab_node_kind *kind;  /* hosts only */
    char *file;
    int line;
    /* Hosts. */
    char *ns;                   /* "vslab.LAB.NAME" */
    char **ips;                 /* "10.0.0.1/24", for the first link */
    size_t n_ips;
    char *gw, *gw6;
    struct vslab_route *routes;
    size_t n_routes;
    struct vslab_neigh *neighs;
    size_t n_neighs;
    char **sysctls;             /* "key=value" */
    size_t n_sysctls;
    int n_ifaces;               /* links so far (eth0, eth1...) */
    int vm_mem;                 /* VMs (kind vm, 'ns' is the ts-vm
                                 * state dir /run/vslab/LAB/vm): MB */
    /* Switches. */
    char *brname;               /* the bridge name in vswitchd */
    struct vslab_flows *flows;
    size_t n_flows;
    struct vslab_flows *groups; /* one group per entry */
    size_t n_groups;
    uint32_t next_ofport;
};

/* One end of a link. */
struct vslab_end {
    int node;                   /* node index */
    char *port;                 /* switch end: port name in flows */
    uint32_t ofport;            /* switch end */
    char *ifname;               /* host end: name inside the namespace */
    char *dev;                  /* name in the root namespace (tagged) */
    char **ips;                 /* host end: addresses */
    size_t n_ips;
    char mac[18];               /* host end */
    int vlan;                   /* switch end: documented tag, -1 none */
};

/* Impairments of a link, applied by the switch to what it sends out of
 * the link's switch port(s): one direction on a host link, both on a
 * switch-to-switch link. */
struct vslab_netem {
    char *delay, *jitter, *loss, *rate;  /* NULL: not set */
};

struct vslab_link {
    struct vslab_end e[2];
    char *type;                 /* "afpacket", "afxdp", "tap" */
    struct vslab_netem netem;
    int mtu;                    /* 0: default */
    char *file;
    int line;
};

struct vslab_test {
    char *name;
    int ref;                    /* Lua registry reference of the function */
    char *file;
    int line;
};

struct vslab_lab {
    char *name;                 /* from the file name or --name */
    char tag[8];                /* "v" + 5 hex digits */
    char *file;                 /* script path, or NULL */
    struct vslab_node *nodes;
    size_t n_nodes;
    struct vslab_link *links;
    size_t n_links;
    struct vslab_test *tests;
    size_t n_tests;
};

/* Options and run-time state shared by the commands. */
struct vslab_ctx {
    struct vslab_lab *lab;
    struct lua_State *L;
    const char *server;         /* --server target or NULL (default) */
    bool private_only;          /* --private */
    bool verbose;
    bool json;
    uint64_t budget;            /* Lua instructions per script/test */
    int64_t budget_left;        /* of the running chunk or test */
    char *rundir;               /* /run/vslab/LAB */
    char *target;               /* the vswitchd actually used */
    bool is_private;
    struct stream *stream;
    uint32_t next_xid;
    bool in_test;               /* test functions may use run-time API */
};

/* ---- vslab-model.c ---- */
void vslab_lab_init(struct vslab_lab *, const char *name, const char *file);
void vslab_lab_release(struct vslab_lab *);
/* Lab names: [A-Za-z0-9_-], 1..VSLAB_NAME_MAX.  Returns true if valid. */
bool vslab_name_is_valid(const char *);
/* Lab name for a script path ("examples/nat-gw.lua" -> "nat-gw"),
 * invalid characters replaced; caller frees. */
char *vslab_lab_name_from_file(const char *path);
int vslab_node_find(const struct vslab_lab *, const char *name);
/* Checks the whole model; on error returns -EINVAL with '*errp' set to a
 * malloc'ed "FILE:LINE: message".  Assigns names, ofports and MACs. */
int vslab_lab_validate(struct vslab_lab *, char **errp);
/* Sets '*errp' to a malloc'ed "FILE:LINE: message" ('file' NULL: "?")
 * and returns -EINVAL. */
int vslab_fail(char **errp, const char *file, int line, const char *fmt,
               ...) TS_PRINTF(4, 5);
/* Builds the map from the switch's port names (in flows) to ofports. */
void vslab_switch_port_map(const struct vslab_lab *, int node,
                           struct ofp_port_map *);
/* Graph as "mermaid" or "dot". */
int vslab_lab_graph(const struct vslab_lab *, const char *format,
                    struct ds *out);
/* Parses "10.0.0.1/24" into an IPv4 address and prefix length. */
bool vslab_parse_cidr4(const char *, uint32_t *addr, int *plen);
/* First IPv4 address (without the length) of a host, or NULL; caller
 * frees. */
char *vslab_host_ip(const struct vslab_lab *, int node);

/* ---- vslab-sys.c: host-side work ---- */
/* Runs argv (NULL-terminated), waiting at most 'timeout_ms' (<= 0: no
 * limit), collecting stdout and stderr into 'out' if nonnull.  Returns the
 * exit status (0..255), 124 on timeout, or -1 if it could not run. */
int vslab_run(const char *const argv[], int timeout_ms, struct ds *out);
/* Same with a printf-style command line split on spaces (no quoting). */
int vslab_runf(struct ds *out, const char *fmt, ...) TS_PRINTF(2, 3);
/* Starts argv in the background with stdout/stderr to /dev/null; returns
 * its pid or -1. */
int vslab_spawn(const char *const argv[]);
/* Runs 'cmd' (argv) inside 'node' through its kind's exec prefix. */
int vslab_node_run(const struct vslab_lab *, int node,
                   const char *const cmd[], int timeout_ms, struct ds *out);
int vslab_node_spawn(const struct vslab_lab *, int node,
                     const char *const cmd[]);
/* Appends the contents of file 'path' to 'out'.  Returns 0, or -errno if
 * it cannot be opened (then 'out' is unchanged). */
int vslab_read_file(const char *path, struct ds *out);
/* The first of the paths 'rel' (relative to the directory of vslab's own
 * binary) that is executable, or NULL; caller frees. */
char *vslab_find_beside_self(const char *const rel[], size_t n_rel);
bool vslab_ns_exists(const char *ns);
bool vslab_dev_exists(const char *ns, const char *dev);
/* Host side of phase two: namespaces, interfaces, addresses.
 * Idempotent. */
int vslab_sys_create_nodes(struct vslab_ctx *);
/* Before the switch ports: veth pairs.  After them: TAPs moved into the
 * namespaces and every host end configured. */
int vslab_sys_create_links(struct vslab_ctx *, bool after_ports);
int vslab_sys_host_config(struct vslab_ctx *);
int vslab_sys_link_state(struct vslab_ctx *, int i, bool up);
/* Removes every namespace and interface tagged for 'name'/'tag'; kills
 * processes in the namespaces.  Returns the number of objects removed. */
int vslab_sys_cleanup(const char *name, const char *tag, bool verbose);
/* Counts leftovers (namespaces, interfaces) for 'name'/'tag'. */
int vslab_sys_count(const char *name, const char *tag);

/* ---- vslab-ctl.c: vswitchd ---- */
/* Connects to the lab's vswitchd: the one in the state or --server, else
 * a private one (started if 'may_start').  Returns 0 or -errno with a
 * message on stderr. */
int vslab_ctl_connect(struct vslab_ctx *, bool may_start);
void vslab_ctl_close(struct vslab_ctx *);
int vslab_ctl_create_switches(struct vslab_ctx *);
/* Adds the switch ports, with the links' impairments as port options
 * (delay, jitter, loss, rate: the switch applies them to what it sends
 * out of the port, docs/ports.md). */
int vslab_ctl_add_ports(struct vslab_ctx *);
/* Sends link 'i''s current impairments to its switch port(s) (set-port,
 * CTL_MOD_PORT): unset keys are removed. */
int vslab_ctl_set_impair(struct vslab_ctx *, int i);
int vslab_ctl_install_flows(struct vslab_ctx *);
/* Deletes every bridge named "TAG-*". */
int vslab_ctl_delete_bridges(struct vslab_ctx *, const char *tag);
/* Stops the private vswitchd of 'rundir' if running. */
int vslab_ctl_stop_private(const char *rundir, bool verbose);
bool vslab_ctl_private_running(const char *rundir);
/* Run-time queries (tests).  Results appended to 'out' lines. */
int vslab_ctl_dump_flows(struct vslab_ctx *, int node, struct ds *out);
int vslab_ctl_dump_conntrack(struct vslab_ctx *, uint32_t zone,
                             struct ds *out);
int vslab_ctl_flush_conntrack(struct vslab_ctx *);
/* Adds flows at run time (one per line); error message in 'err'. */
int vslab_ctl_add_flows(struct vslab_ctx *, int node, const char *text,
                        struct ds *err);
struct vslab_port_info {
    char *name;                 /* the lab's port name (or vswitchd's) */
    uint32_t ofport;
    uint64_t rx_packets, tx_packets, rx_bytes, tx_bytes, rx_dropped,
             tx_dropped;
};
int vslab_ctl_ports(struct vslab_ctx *, int node,
                    struct vslab_port_info **, size_t *n);

/* ---- vslab-lua.c ---- */
/* Creates the sandboxed state and runs 'file' (phase one) into ctx->lab.
 * On error returns -EINVAL with '*errp' ("FILE:LINE: message"). */
int vslab_lua_load(struct vslab_ctx *, const char *file, char **errp);
/* Runs every test; prints PASS/FAIL lines.  Returns the failures. */
int vslab_lua_run_tests(struct vslab_ctx *);
void vslab_lua_close(struct vslab_ctx *);
/* The index of the node at stack index 'arg' (raises a Lua error if it is
 * not a node). */
int vslab_lua_node_arg(struct lua_State *, int arg);

/* ---- vslab-vm.c: vm nodes, QEMU guests through tools/vm/ts-vm ---- */
#define VSLAB_VM_MEM_DEFAULT 256        /* MB */
extern const struct vslab_node_kind vslab_kind_vm;
bool vslab_node_is_vm(const struct vslab_node *);
/* True if one end of 'l' is a vm (no veth: the TAP is the link). */
bool vslab_vm_link(const struct vslab_lab *, const struct vslab_link *);
/* ts-vm: $VSLAB_TS_VM, ../../tools/vm/ts-vm or ./ts-vm from vslab's
 * directory, ../libexec/trackswitch/ts-vm, else PATH. */
const char *vslab_vm_tool(void);
char *vslab_vm_dir(const char *lab);    /* /run/vslab/LAB/vm; caller frees */
/* Phase one: makes host node 'n' a vm; its options (ip, gw, memory);
 * checks of the whole lab's vms (called by vslab_lab_validate()). */
void vslab_vm_init_node(const struct vslab_lab *, struct vslab_node *n);
void vslab_vm_option(struct lua_State *, struct vslab_node *,
                     const char *key, int value_idx);
int vslab_vm_validate(struct vslab_lab *, char **errp);
/* Lua methods that vms refuse (udp, spawn; ping and tcp are the hosts'
 * in vslab-lua.c, which run the guest's busybox commands): pushes the
 * function and returns true, or returns false. */
bool vslab_vm_method(struct lua_State *, const char *key);
/* Before phase two: 0 if the lab has no vm or QEMU and ts-vm are there,
 * else -ENOENT with a message. */
int vslab_vm_check(const struct vslab_lab *);
/* Phase two: starts every vm that is not running (in parallel), then
 * waits for them all; before the switch ports are added. */
int vslab_vm_start(struct vslab_ctx *);
int vslab_vm_wait(struct vslab_ctx *);
/* Commands in a guest (argv quoted into one shell line for ts-vm exec).
 * vslab_vm_spawn() starts it in the guest's background and returns 0
 * (there is no host pid) or -1. */
int vslab_vm_run(const struct vslab_lab *, int node, const char *const cmd[],
                 int timeout_ms, struct ds *out);
int vslab_vm_spawn(const struct vslab_lab *, int node,
                   const char *const cmd[]);
/* A TCP listener in the guest for h:tcp(vm, port) (20 s). */
int vslab_vm_listen_tcp(const struct vslab_lab *, int node, int port);
/* down: kills every process of lab 'lab''s guests (found by their command
 * lines, so also after a crash) and removes their state; returns the
 * number of guests (or strays) removed.  count: what is left. */
int vslab_vm_cleanup(const char *lab, bool verbose);
int vslab_vm_count(const char *lab);
/* The lab's guests: "vms": [...] into 'json' if nonnull, else one text
 * line each ("  vm NAME running IP on TAP, ...") appended to 'text'. */
struct json_writer;
void vslab_vm_status(const char *lab, struct json_writer *json,
                     struct ds *text);
/* vslab exec for a vm: execs ts-vm; returns -ENOENT if there is none. */
int vslab_vm_exec_cli(const char *lab, const char *node, int argc,
                      char *argv[]);

/* ---- vslab.c ---- */
void vslab_log(const struct vslab_ctx *, const char *fmt, ...)
    TS_PRINTF(2, 3);

#endif /* vslab.h */
