/* vslab-lua: the sandboxed Lua state of a lab script.
 *
 * Phase one: the script runs with switch(), host(), link(), test() and
 * the expect*() helpers; they only fill the model (struct vslab_lab).
 * Phase two (vslab test): the test functions run in the same state, and
 * the run-time methods (ping, tcp, udp, iperf, exec, conntrack, flows,
 * ports, link:set...) work; called outside a test they raise an error.
 *
 * Sandbox: base functions without dofile/loadfile/collectgarbage, load()
 * of text chunks only, string (without dump), table, math, utf8, and from
 * os only time, clock, date and getenv.  No io, package, require or
 * debug.  Memory is capped by the allocator (VSLAB_LUA_MEM_MAX), and a
 * count hook ends a chunk or test that runs more than ctx->budget VM
 * instructions. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "vslab.h"

#define VSLAB_LUA_MEM_MAX (256u << 20)
#define HOOK_STEP 10000

#define MT_NODE "vslab.node"
#define MT_LINK "vslab.link"
#define MT_LIST "vslab.list"

struct lua_mem {
    size_t used;
};

struct ref {
    int idx;
};

static struct vslab_ctx *
get_ctx(lua_State *L)
{
    return *(struct vslab_ctx **) lua_getextraspace(L);
}

static void *
lua_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    struct lua_mem *mem = ud;

    if (!ptr) {
        osize = 0;
    }
    if (!nsize) {
        mem->used -= osize;
        free(ptr);
        return NULL;
    }
    if (nsize > osize && mem->used + (nsize - osize) > VSLAB_LUA_MEM_MAX) {
        return NULL;
    }
    void *p = realloc(ptr, nsize);
    if (p) {
        mem->used += nsize - osize;
    }
    return p;
}

static void
budget_hook(lua_State *L, lua_Debug *ar)
{
    struct vslab_ctx *ctx = get_ctx(L);

    ctx->budget_left -= HOOK_STEP;
    if (ctx->budget_left < 0) {
        /* 'ar' is the running Lua function: name its line. */
        lua_getinfo(L, "Sl", ar);
        lua_pushfstring(L, "%s:%d: instruction budget of %I exhausted "
                        "(endless loop?)", ar->short_src, ar->currentline,
                        (lua_Integer) ctx->budget);
        lua_error(L);
    }
}

/* Where the running Lua code is: "FILE" and line, of level 'level'. */
static void
where(lua_State *L, char **file, int *line)
{
    lua_Debug ar;

    for (int level = 1; lua_getstack(L, level, &ar); level++) {
        lua_getinfo(L, "Sl", &ar);
        if (ar.currentline > 0) {
            *file = xstrdup(ar.short_src);
            *line = ar.currentline;
            return;
        }
    }
    *file = xstrdup("?");
    *line = 0;
}

static void
need_test(lua_State *L, const char *what)
{
    if (!get_ctx(L)->in_test) {
        luaL_error(L, "'%s' can only be used inside a test() function",
                   what);
    }
}

/* ---- Objects ---------------------------------------------------------- */

static void
push_ref(lua_State *L, const char *mt, int idx)
{
    struct ref *r = lua_newuserdatauv(L, sizeof *r, 0);

    r->idx = idx;
    luaL_setmetatable(L, mt);
}

static struct vslab_node *
check_node(lua_State *L, int arg, int *idxp)
{
    struct ref *r = luaL_checkudata(L, arg, MT_NODE);
    struct vslab_lab *lab = get_ctx(L)->lab;

    if (idxp) {
        *idxp = r->idx;
    }
    return &lab->nodes[r->idx];
}

int
vslab_lua_node_arg(lua_State *L, int arg)
{
    int idx;

    check_node(L, arg, &idx);
    return idx;
}

static struct vslab_node *
check_type(lua_State *L, int arg, enum vslab_node_type type, int *idxp)
{
    struct vslab_node *n = check_node(L, arg, idxp);

    if (n->type != type) {
        luaL_error(L, "'%s' is not a %s", n->name,
                   type == VSLAB_HOST ? "host" : "switch");
    }
    return n;
}

static int
new_node(lua_State *L, enum vslab_node_type type)
{
    struct vslab_ctx *ctx = get_ctx(L);
    struct vslab_lab *lab = ctx->lab;
    const char *name = luaL_checkstring(L, 1);

    if (!vslab_name_is_valid(name)) {
        return luaL_error(L, "bad name '%s' (letters, digits, '_' and '-', "
                          "at most %d)", name, VSLAB_NAME_MAX);
    }
    lab->nodes = xrealloc(lab->nodes, (lab->n_nodes + 1) * sizeof
                          *lab->nodes);
    struct vslab_node *n = &lab->nodes[lab->n_nodes];
    memset(n, 0, sizeof *n);
    n->name = xstrdup(name);
    n->type = type;
    n->next_ofport = 1;
    if (type == VSLAB_HOST) {
        n->kind = &vslab_kind_netns;
        n->ns = xasprintf("vslab.%s.%s", lab->name, name);
    }
    where(L, &n->file, &n->line);
    push_ref(L, MT_NODE, lab->n_nodes++);
    return 1;
}

static int
l_switch(lua_State *L)
{
    return new_node(L, VSLAB_SWITCH);
}

static int
l_host(lua_State *L)
{
    return new_node(L, VSLAB_HOST);
}

/* vm "name": a host-like node that is a QEMU guest (vslab-vm.c). */
static int
l_vm(lua_State *L)
{
    struct vslab_lab *lab = get_ctx(L)->lab;
    int rc = new_node(L, VSLAB_HOST);

    vslab_vm_init_node(lab, &lab->nodes[lab->n_nodes - 1]);
    return rc;
}

/* Strings of a string-or-array value at 'idx' (appended). */
static void
get_strings(lua_State *L, int idx, const char *what, char ***vp, size_t *np)
{
    idx = lua_absindex(L, idx);
    if (lua_type(L, idx) == LUA_TSTRING) {
        *vp = xrealloc(*vp, (*np + 1) * sizeof **vp);
        (*vp)[(*np)++] = xstrdup(lua_tostring(L, idx));
        return;
    }
    if (!lua_istable(L, idx)) {
        luaL_error(L, "'%s' must be a string or a list of strings", what);
    }
    for (lua_Integer i = 1; lua_geti(L, idx, i) != LUA_TNIL; i++) {
        if (lua_type(L, -1) != LUA_TSTRING) {
            luaL_error(L, "'%s' must be a string or a list of strings", what);
        }
        *vp = xrealloc(*vp, (*np + 1) * sizeof **vp);
        (*vp)[(*np)++] = xstrdup(lua_tostring(L, -1));
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
}

static char *
opt_string(lua_State *L, int idx, const char *key)
{
    char *s = NULL;

    if (lua_type(L, idx) == LUA_TSTRING || lua_type(L, idx) == LUA_TNUMBER) {
        s = xstrdup(lua_tostring(L, idx));
    } else {
        luaL_error(L, "option '%s' must be a string", key);
    }
    return s;
}

static void
host_option(lua_State *L, struct vslab_node *n, const char *key, int v)
{
    struct vslab_lab *lab = get_ctx(L)->lab;

    if (!strcmp(key, "ip")) {
        get_strings(L, v, "ip", &n->ips, &n->n_ips);
    } else if (!strcmp(key, "gw")) {
        free(n->gw);
        n->gw = opt_string(L, v, key);
    } else if (!strcmp(key, "gw6")) {
        free(n->gw6);
        n->gw6 = opt_string(L, v, key);
    } else if (!strcmp(key, "forward")) {
        if (lua_toboolean(L, v)) {
            n->sysctls = xrealloc(n->sysctls, (n->n_sysctls + 2)
                                  * sizeof *n->sysctls);
            n->sysctls[n->n_sysctls++] = xstrdup("net.ipv4.ip_forward=1");
            n->sysctls[n->n_sysctls++] =
                xstrdup("net.ipv6.conf.all.forwarding=1");
        }
    } else if (!strcmp(key, "sysctl")) {
        luaL_checktype(L, v, LUA_TTABLE);
        lua_pushnil(L);
        while (lua_next(L, v)) {
            n->sysctls = xrealloc(n->sysctls, (n->n_sysctls + 1)
                                  * sizeof *n->sysctls);
            n->sysctls[n->n_sysctls++] = xasprintf(
                "%s=%s", luaL_checkstring(L, -2), luaL_tolstring(L, -1,
                                                                  NULL));
            lua_pop(L, 2);
        }
    } else if (!strcmp(key, "routes")) {
        luaL_checktype(L, v, LUA_TTABLE);
        lua_pushnil(L);
        while (lua_next(L, v)) {
            struct vslab_route r = { .dst = xstrdup(luaL_checkstring(L,
                                                                     -2)) };
            if (lua_istable(L, -1)) {
                if (lua_getfield(L, -1, "via") == LUA_TSTRING) {
                    r.via = xstrdup(lua_tostring(L, -1));
                }
                lua_pop(L, 1);
                if (lua_getfield(L, -1, "dev") == LUA_TSTRING) {
                    r.dev = xstrdup(lua_tostring(L, -1));
                }
                lua_pop(L, 1);
            } else {
                r.via = xstrdup(luaL_checkstring(L, -1));
            }
            n->routes = xrealloc(n->routes, (n->n_routes + 1)
                                 * sizeof *n->routes);
            n->routes[n->n_routes++] = r;
            lua_pop(L, 1);
        }
    } else if (!strcmp(key, "neigh")) {
        luaL_checktype(L, v, LUA_TTABLE);
        lua_pushnil(L);
        while (lua_next(L, v)) {
            struct vslab_neigh nb = { .node = -1 };
            nb.ip = xstrdup(luaL_checkstring(L, -2));
            if (lua_type(L, -1) == LUA_TSTRING) {
                nb.mac = xstrdup(lua_tostring(L, -1));
            } else {
                check_node(L, -1, &nb.node);
            }
            n->neighs = xrealloc(n->neighs, (n->n_neighs + 1)
                                 * sizeof *n->neighs);
            n->neighs[n->n_neighs++] = nb;
            lua_pop(L, 1);
        }
    } else {
        luaL_error(L, "unknown option '%s' for host '%s'", key, n->name);
    }
    (void) lab;
}

/* node { options }: sets options, returns the node. */
static int
node_call(lua_State *L)
{
    int idx;
    struct vslab_node *n = check_node(L, 1, &idx);

    luaL_checktype(L, 2, LUA_TTABLE);
    lua_pushnil(L);
    while (lua_next(L, 2)) {
        const char *key = luaL_checkstring(L, -2);
        if (vslab_node_is_vm(n)) {
            vslab_vm_option(L, n, key, lua_gettop(L));
        } else if (n->type == VSLAB_HOST) {
            host_option(L, n, key, lua_gettop(L));
        } else {
            luaL_error(L, "unknown option '%s' for switch '%s'", key,
                       n->name);
        }
        lua_pop(L, 1);
    }
    lua_settop(L, 1);
    return 1;
}

static void
add_text(lua_State *L, struct vslab_flows **vp, size_t *np)
{
    struct vslab_flows f;

    f.text = xstrdup(luaL_checkstring(L, 2));
    where(L, &f.file, &f.line);
    /* sw:flows [[ NEWLINE ... ]]: Lua drops the newline after "[[", so a
     * multi-line text starts on the line after the call. */
    if (strchr(f.text, '\n')) {
        f.line++;
    }
    *vp = xrealloc(*vp, (*np + 1) * sizeof **vp);
    (*vp)[(*np)++] = f;
}

static int
sw_flows(lua_State *L)
{
    int idx;
    struct vslab_node *n = check_type(L, 1, VSLAB_SWITCH, &idx);
    struct vslab_ctx *ctx = get_ctx(L);

    if (ctx->in_test) {
        struct ds err = DS_EMPTY_INITIALIZER;
        if (vslab_ctl_add_flows(ctx, idx, luaL_checkstring(L, 2), &err)) {
            lua_pushstring(L, ds_cstr(&err));
            ds_destroy(&err);
            return lua_error(L);
        }
        ds_destroy(&err);
        return 0;
    }
    add_text(L, &n->flows, &n->n_flows);
    return 0;
}

static int
sw_group(lua_State *L)
{
    struct vslab_node *n = check_type(L, 1, VSLAB_SWITCH, NULL);

    if (get_ctx(L)->in_test) {
        return luaL_error(L, "groups can only be given before the tests");
    }
    add_text(L, &n->groups, &n->n_groups);
    return 0;
}

static void
link_option(lua_State *L, struct vslab_link *l, const char *key, int v)
{
    struct vslab_lab *lab = get_ctx(L)->lab;
    bool sw0 = lab->nodes[l->e[0].node].type == VSLAB_SWITCH;
    bool sw1 = lab->nodes[l->e[1].node].type == VSLAB_SWITCH;

    if (!strcmp(key, "type")) {
        free(l->type);
        l->type = opt_string(L, v, key);
        if (!strcmp(l->type, "veth")) {
            free(l->type);
            l->type = xstrdup("afpacket");
        }
    } else if (!strcmp(key, "port") || !strcmp(key, "ifname")) {
        char **names = NULL;
        size_t n = 0;
        get_strings(L, v, key, &names, &n);
        bool want_sw = key[0] == 'p';
        size_t used = 0;
        for (int k = 0; k < 2 && used < n; k++) {
            bool sw = k ? sw1 : sw0;
            if (sw == want_sw) {
                char **slot = want_sw ? &l->e[k].port : &l->e[k].ifname;
                free(*slot);
                *slot = names[used++];
            }
        }
        if (used != n) {
            luaL_error(L, "link has %zu %s end(s), '%s' names %zu",
                       used, want_sw ? "switch" : "host", key, n);
        }
        free(names);
    } else if (!strcmp(key, "ip") || !strcmp(key, "ip1")
               || !strcmp(key, "ip2")) {
        int k = key[2] == '2' ? 1 : key[2] == '1' ? 0 : (sw0 ? 1 : 0);
        if (lab->nodes[l->e[k].node].type != VSLAB_HOST) {
            luaL_error(L, "'%s' names an address of a switch end", key);
        }
        get_strings(L, v, key, &l->e[k].ips, &l->e[k].n_ips);
    } else if (!strcmp(key, "mac")) {
        const char *mac = luaL_checkstring(L, v);
        unsigned int b[6];
        char c;
        int k = sw0 ? 1 : 0;
        if (strlen(mac) != 17 || sscanf(mac, "%x:%x:%x:%x:%x:%x%c", &b[0],
                                        &b[1], &b[2], &b[3], &b[4], &b[5],
                                        &c) != 6
            || lab->nodes[l->e[k].node].type != VSLAB_HOST) {
            luaL_error(L, "bad mac '%s' (XX:XX:XX:XX:XX:XX, host end)", mac);
        }
        snprintf(l->e[k].mac, sizeof l->e[k].mac, "%s", mac);
    } else if (!strcmp(key, "delay")) {
        l->netem.delay = opt_string(L, v, key);
    } else if (!strcmp(key, "jitter")) {
        l->netem.jitter = opt_string(L, v, key);
    } else if (!strcmp(key, "loss")) {
        l->netem.loss = opt_string(L, v, key);
    } else if (!strcmp(key, "rate")) {
        l->netem.rate = opt_string(L, v, key);
    } else if (!strcmp(key, "mtu")) {
        l->mtu = luaL_checkinteger(L, v);
    } else if (!strcmp(key, "ofport")) {
        lua_Integer p = luaL_checkinteger(L, v);
        if (p < 1 || p > 0xfeff) {
            luaL_error(L, "ofport %d out of range 1..65279", (int) p);
        }
        for (int k = 0; k < 2; k++) {
            if (lab->nodes[l->e[k].node].type == VSLAB_SWITCH) {
                l->e[k].ofport = p;
            }
        }
    } else {
        luaL_error(L, "unknown link option '%s'", key);
    }
}

static int
l_link(lua_State *L)
{
    struct vslab_lab *lab = get_ctx(L)->lab;
    int a, b;

    check_node(L, 1, &a);
    check_node(L, 2, &b);
    if (!lua_isnoneornil(L, 3)) {
        luaL_checktype(L, 3, LUA_TTABLE);
    }
    lab->links = xrealloc(lab->links, (lab->n_links + 1) * sizeof
                          *lab->links);
    struct vslab_link *l = &lab->links[lab->n_links];
    memset(l, 0, sizeof *l);
    l->e[0].node = a;
    l->e[1].node = b;
    l->type = xstrdup("afpacket");
    where(L, &l->file, &l->line);
    lab->n_links++;
    if (lua_istable(L, 3)) {
        lua_pushnil(L);
        while (lua_next(L, 3)) {
            link_option(L, l, luaL_checkstring(L, -2), lua_gettop(L));
            lua_pop(L, 1);
        }
    }
    /* Defaults: switch ports are named after the peer, host interfaces
     * eth0, eth1...; ofports count up per switch. */
    for (int k = 0; k < 2; k++) {
        struct vslab_end *e = &l->e[k];
        struct vslab_node *n = &lab->nodes[e->node];
        struct vslab_node *peer = &lab->nodes[l->e[!k].node];
        if (n->type == VSLAB_SWITCH) {
            if (!e->port) {
                e->port = xstrdup(peer->name);
            }
            if (!e->ofport) {
                e->ofport = n->next_ofport;
            }
            if (e->ofport >= n->next_ofport) {
                n->next_ofport = e->ofport + 1;
            }
        } else {
            if (!e->ifname) {
                e->ifname = xasprintf("eth%d", n->n_ifaces);
            }
            n->n_ifaces++;
        }
    }
    push_ref(L, MT_LINK, lab->n_links - 1);
    return 1;
}

static int
l_test(lua_State *L)
{
    struct vslab_lab *lab = get_ctx(L)->lab;
    const char *name = luaL_checkstring(L, 1);

    luaL_checktype(L, 2, LUA_TFUNCTION);
    if (get_ctx(L)->in_test) {
        return luaL_error(L, "test() inside a test");
    }
    lab->tests = xrealloc(lab->tests, (lab->n_tests + 1) * sizeof
                          *lab->tests);
    struct vslab_test *t = &lab->tests[lab->n_tests++];
    t->name = xstrdup(name);
    where(L, &t->file, &t->line);
    lua_pushvalue(L, 2);
    t->ref = luaL_ref(L, LUA_REGISTRYINDEX);
    return 0;
}

static int
expect_fail(lua_State *L, int msg_arg, const char *dflt)
{
    const char *msg = luaL_optstring(L, msg_arg, dflt);

    return luaL_error(L, "%s", msg);
}

static int
l_expect(lua_State *L)
{
    luaL_checkany(L, 1);
    if (!lua_toboolean(L, 1)) {
        return expect_fail(L, 2, "expectation failed");
    }
    return 0;
}

static int
l_expect_not(lua_State *L)
{
    luaL_checkany(L, 1);
    if (lua_toboolean(L, 1)) {
        return expect_fail(L, 2, "expectation failed: expected false");
    }
    return 0;
}

static int
l_expect_eq(lua_State *L)
{
    luaL_checkany(L, 2);
    if (!lua_compare(L, 1, 2, LUA_OPEQ)) {
        const char *a = luaL_tolstring(L, 1, NULL);
        const char *b = luaL_tolstring(L, 2, NULL);
        return luaL_error(L, "%s: got %s, expected %s",
                          luaL_optstring(L, 3, "expect_eq failed"), a, b);
    }
    return 0;
}

static int
l_sleep(lua_State *L)
{
    lua_Number s = luaL_checknumber(L, 1);

    need_test(L, "sleep");
    if (s < 0 || s > 60) {
        return luaL_error(L, "sleep: %g seconds is out of range 0..60", s);
    }
    usleep((useconds_t) (s * 1e6));
    return 0;
}

static int
l_print(lua_State *L)
{
    struct ds s = DS_EMPTY_INITIALIZER;
    int n = lua_gettop(L);

    for (int i = 1; i <= n; i++) {
        ds_put_format(&s, "%s%s", i > 1 ? "\t" : "",
                      luaL_tolstring(L, i, NULL));
        lua_pop(L, 1);
    }
    printf("%s%s\n", get_ctx(L)->in_test ? "        " : "", ds_cstr(&s));
    fflush(stdout);
    ds_destroy(&s);
    return 0;
}

/* ---- Run-time methods (tests) ----------------------------------------- */

static void
push_list(lua_State *L, const char *text)
{
    lua_newtable(L);
    int i = 1;
    const char *p = text;
    while (*p) {
        size_t len = strcspn(p, "\n");
        if (len) {
            lua_pushlstring(L, p, len);
            lua_rawseti(L, -2, i++);
        }
        p += len + (p[len] == '\n');
    }
    luaL_setmetatable(L, MT_LIST);
}

static int
list_count(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    if (lua_isnoneornil(L, 2)) {
        lua_pushinteger(L, luaL_len(L, 1));
        return 1;
    }
    const char *pat = luaL_checkstring(L, 2);
    int n = 0;
    for (lua_Integer i = 1; lua_geti(L, 1, i) == LUA_TSTRING; i++) {
        n += strstr(lua_tostring(L, -1), pat) != NULL;
        lua_pop(L, 1);
    }
    lua_pushinteger(L, n);
    return 1;
}

/* The IPv4 address a target (host or "A.B.C.D") stands for.  If 'idxp' is
 * nonnull, stores the host's index there (-1 for an address). */
static char *
target_ip(lua_State *L, int arg, int *idxp)
{
    int idx = -1;

    if (idxp) {
        *idxp = idx;
    }
    if (lua_type(L, arg) == LUA_TSTRING) {
        return xstrdup(lua_tostring(L, arg));
    }
    check_type(L, arg, VSLAB_HOST, &idx);
    if (idxp) {
        *idxp = idx;
    }
    char *ip = vslab_host_ip(get_ctx(L)->lab, idx);
    if (!ip) {
        luaL_error(L, "host '%s' has no IPv4 address",
                   get_ctx(L)->lab->nodes[idx].name);
    }
    return ip;
}

static int
opt_int(lua_State *L, int arg, const char *key, int dflt)
{
    int v = dflt;

    if (lua_istable(L, arg)) {
        if (lua_getfield(L, arg, key) != LUA_TNIL) {
            v = luaL_checkinteger(L, -1);
        }
        lua_pop(L, 1);
    }
    return v;
}

/* h:ping(target [, {count=1, timeout=2}]) -> ok, output.  In a vm, the
 * guest's busybox ping (no -n, no -i), given count + timeout + 5 s. */
static int
h_ping(lua_State *L)
{
    struct vslab_lab *lab = get_ctx(L)->lab;
    int idx;
    check_type(L, 1, VSLAB_HOST, &idx);
    need_test(L, "ping");
    char *ip = target_ip(L, 2, NULL);
    char count[16], wait[16];
    int c = opt_int(L, 3, "count", 1), w = opt_int(L, 3, "timeout", 2);
    snprintf(count, sizeof count, "%d", c);
    snprintf(wait, sizeof wait, "%d", w);
    const char *cmd[] = { "ping", "-n", "-c", count, "-W", wait, "-i",
                          "0.2", ip, NULL };
    const char *vm_cmd[] = { "ping", "-c", count, "-W", wait, ip, NULL };
    bool vm = vslab_node_is_vm(&lab->nodes[idx]);
    struct ds out = DS_EMPTY_INITIALIZER;
    int rc = vslab_node_run(lab, idx, vm ? vm_cmd : cmd,
                            vm ? (c + w + 5) * 1000 : 20000, &out);
    lua_pushboolean(L, rc == 0);
    lua_pushstring(L, ds_cstr(&out));
    ds_destroy(&out);
    free(ip);
    return 2;
}

static void
kill_wait(int pid)
{
    if (pid > 0) {
        kill(-pid, SIGKILL);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
}

/* h:tcp(target, port [, {timeout=S, listen=true}]): true if a TCP
 * connection opens.  With a host target and listen (default), vslab runs
 * a listener there for the check.  In a vm, the guest's busybox nc has no
 * -z: "-e true" runs once connected, so the status is the connect's. */
static int
h_tcp(lua_State *L)
{
    struct vslab_lab *lab = get_ctx(L)->lab;
    int idx, tidx;

    check_type(L, 1, VSLAB_HOST, &idx);
    need_test(L, "tcp");
    char *ip = target_ip(L, 2, &tidx);
    int port = luaL_checkinteger(L, 3);
    bool listen = true;
    if (lua_istable(L, 4)) {
        lua_getfield(L, 4, "listen");
        listen = lua_isnil(L, -1) || lua_toboolean(L, -1);
        lua_pop(L, 1);
    }
    char ports[16], wait[16];
    snprintf(ports, sizeof ports, "%d", port);
    int w = opt_int(L, 4, "timeout", 2);
    snprintf(wait, sizeof wait, "%d", w);
    int spid = -1;
    if (listen && tidx >= 0 && vslab_node_is_vm(&lab->nodes[tidx])) {
        vslab_vm_listen_tcp(lab, tidx, port);   /* busybox nc */
    } else if (listen && tidx >= 0) {
        const char *srv[] = { "timeout", "20", "nc", "-l", "-k", "-p", ports,
                              NULL };
        spid = vslab_node_spawn(lab, tidx, srv);
        usleep(200000);
    }
    const char *cmd[] = { "nc", "-z", "-w", wait, ip, ports, NULL };
    const char *vm_cmd[] = { "nc", "-w", wait, ip, ports, "-e", "true",
                             NULL };
    bool vm = vslab_node_is_vm(&lab->nodes[idx]);
    int rc = vslab_node_run(lab, idx, vm ? vm_cmd : cmd,
                            vm ? (w + 5) * 1000 : 15000, NULL);
    kill_wait(spid);
    free(ip);
    lua_pushboolean(L, rc == 0);
    return 1;
}

/* h:udp(target, port): true if a datagram from h reaches a listener that
 * vslab runs on the target host. */
/* The host that runs the listener for target 'arg': the host itself, or
 * the lab host that has the address string (its links' or its own
 * addresses).  Raises an error if no host has it. */
static int
listener_host(lua_State *L, int arg, const char *what)
{
    const struct vslab_lab *lab = get_ctx(L)->lab;
    int tidx;

    if (lua_type(L, arg) != LUA_TSTRING) {
        check_type(L, arg, VSLAB_HOST, &tidx);
        return tidx;
    }
    const char *addr = lua_tostring(L, arg);
    size_t alen = strlen(addr);
    for (size_t i = 0; i < lab->n_links; i++) {
        for (int k = 0; k < 2; k++) {
            const struct vslab_end *e = &lab->links[i].e[k];
            for (size_t j = 0; j < e->n_ips; j++) {
                if (!strncmp(e->ips[j], addr, alen)
                    && (e->ips[j][alen] == '/' || !e->ips[j][alen])
                    && lab->nodes[e->node].type == VSLAB_HOST) {
                    return e->node;
                }
            }
        }
    }
    for (size_t i = 0; i < lab->n_nodes; i++) {
        const struct vslab_node *n = &lab->nodes[i];
        for (size_t j = 0; n->type == VSLAB_HOST && j < n->n_ips; j++) {
            if (!strncmp(n->ips[j], addr, alen)
                && (n->ips[j][alen] == '/' || !n->ips[j][alen])) {
                return i;
            }
        }
    }
    return luaL_error(L, "%s: no host of the lab has address '%s' (vslab "
                      "runs the listener there)", what, addr);
}

static int
h_udp(lua_State *L)
{
    struct vslab_ctx *ctx = get_ctx(L);
    int idx, tidx;

    check_type(L, 1, VSLAB_HOST, &idx);
    need_test(L, "udp");
    tidx = listener_host(L, 2, "udp");
    if (vslab_node_is_vm(&ctx->lab->nodes[tidx])) {
        return luaL_error(L, "udp: the listener cannot run in vm '%s'",
                          ctx->lab->nodes[tidx].name);
    }
    char *ip = target_ip(L, 2, NULL);
    int port = luaL_checkinteger(L, 3);
    char ports[16];
    snprintf(ports, sizeof ports, "%d", port);

    char *file = xasprintf("%s/udp-%d.out", ctx->rundir, port);
    char *srv_cmd = xasprintf("exec timeout 5 nc -u -l -p %d -W 1 > %s",
                              port, file);
    unlink(file);
    const char *srv[] = { "sh", "-c", srv_cmd, NULL };
    int spid = vslab_node_spawn(ctx->lab, tidx, srv);
    usleep(200000);
    char *cli_cmd = xasprintf("for i in 1 2 3; do echo vslab-udp; sleep "
                              "0.2; done | nc -u -w 1 -q 1 %s %d", ip, port);
    const char *cli[] = { "sh", "-c", cli_cmd, NULL };
    vslab_node_run(ctx->lab, idx, cli, 10000, NULL);
    kill_wait(spid);

    bool ok = false;
    FILE *f = fopen(file, "r");
    if (f) {
        char buf[64] = "";
        ok = fgets(buf, sizeof buf, f) && strstr(buf, "vslab-udp");
        fclose(f);
    }
    unlink(file);
    free(file);
    free(srv_cmd);
    free(cli_cmd);
    free(ip);
    lua_pushboolean(L, ok);
    return 1;
}

/* h:iperf(target [, {time=1}]): throughput in bits per second, or nil and
 * the output. */
static int
h_iperf(lua_State *L)
{
    struct vslab_ctx *ctx = get_ctx(L);
    int idx, tidx;

    check_type(L, 1, VSLAB_HOST, &idx);
    need_test(L, "iperf");
    tidx = listener_host(L, 2, "iperf");
    char *ip = target_ip(L, 2, NULL);
    char secs[16];
    snprintf(secs, sizeof secs, "%d", opt_int(L, 3, "time", 1));
    const char *srv[] = { "timeout", "30", "iperf3", "-s", "-1", "-p",
                          "5299", NULL };
    int spid = vslab_node_spawn(ctx->lab, tidx, srv);
    usleep(300000);
    const char *cli[] = { "iperf3", "-c", ip, "-p", "5299", "-t", secs,
                          "-f", "m", NULL };
    struct ds out = DS_EMPTY_INITIALIZER;
    int rc = vslab_node_run(ctx->lab, idx, cli, 30000, &out);
    kill_wait(spid);
    free(ip);

    /* "[  5]   0.00-1.00   sec   ...  1234 Mbits/sec   receiver" */
    double mbits = -1;
    const char *s = ds_cstr(&out);
    for (const char *p = strstr(s, "receiver"); p && p > s; p--) {
        if (!strncmp(p, " Mbits/sec", 10)) {
            const char *q = p;
            while (q > s && q[-1] != ' ') {
                q--;
            }
            mbits = atof(q);
            break;
        }
    }
    if (rc || mbits < 0) {
        lua_pushnil(L);
        lua_pushstring(L, s);
    } else {
        lua_pushnumber(L, mbits * 1e6);
        lua_pushstring(L, s);
    }
    ds_destroy(&out);
    return 2;
}

/* h:exec("command line") -> ok, output, status (runs sh -c in h). */
static int
h_exec(lua_State *L)
{
    int idx;

    check_type(L, 1, VSLAB_HOST, &idx);
    need_test(L, "exec");
    const char *cmd[] = { "sh", "-c", luaL_checkstring(L, 2), NULL };
    struct ds out = DS_EMPTY_INITIALIZER;
    int rc = vslab_node_run(get_ctx(L)->lab, idx, cmd,
                            opt_int(L, 3, "timeout", 30) * 1000, &out);
    lua_pushboolean(L, rc == 0);
    lua_pushstring(L, ds_cstr(&out));
    lua_pushinteger(L, rc);
    ds_destroy(&out);
    return 3;
}

/* h:spawn("command line") -> pid; the process is killed at `down`. */
static int
h_spawn(lua_State *L)
{
    int idx;

    check_type(L, 1, VSLAB_HOST, &idx);
    need_test(L, "spawn");
    const char *cmd[] = { "sh", "-c", luaL_checkstring(L, 2), NULL };
    int pid = vslab_node_spawn(get_ctx(L)->lab, idx, cmd);
    if (pid < 0) {
        return luaL_error(L, "spawn: cannot run '%s'", lua_tostring(L, 2));
    }
    usleep(opt_int(L, 3, "wait_ms", 300) * 1000);
    lua_pushinteger(L, pid);
    return 1;
}

static int
l_kill(lua_State *L)
{
    need_test(L, "kill");
    kill_wait(luaL_checkinteger(L, 1));
    return 0;
}

static int
n_ip(lua_State *L)
{
    int idx;

    check_type(L, 1, VSLAB_HOST, &idx);
    char *ip = vslab_host_ip(get_ctx(L)->lab, idx);
    if (ip) {
        lua_pushstring(L, ip);
        free(ip);
    } else {
        lua_pushnil(L);
    }
    return 1;
}

static int
sw_dump_flows(lua_State *L)
{
    int idx;
    struct ds out = DS_EMPTY_INITIALIZER;

    check_type(L, 1, VSLAB_SWITCH, &idx);
    need_test(L, "dump_flows");
    if (vslab_ctl_dump_flows(get_ctx(L), idx, &out)) {
        ds_destroy(&out);
        return luaL_error(L, "cannot dump flows");
    }
    push_list(L, ds_cstr(&out));
    ds_destroy(&out);
    return 1;
}

static int
sw_conntrack(lua_State *L)
{
    struct ds out = DS_EMPTY_INITIALIZER;
    uint32_t zone = 0xffffffffu;

    check_type(L, 1, VSLAB_SWITCH, NULL);
    need_test(L, "conntrack");
    if (lua_istable(L, 2)) {
        zone = opt_int(L, 2, "zone", -1);
    }
    if (vslab_ctl_dump_conntrack(get_ctx(L), zone, &out)) {
        ds_destroy(&out);
        return luaL_error(L, "cannot dump conntrack");
    }
    push_list(L, ds_cstr(&out));
    ds_destroy(&out);
    return 1;
}

static int
sw_flush_conntrack(lua_State *L)
{
    check_type(L, 1, VSLAB_SWITCH, NULL);
    need_test(L, "flush_conntrack");
    if (vslab_ctl_flush_conntrack(get_ctx(L))) {
        return luaL_error(L, "cannot flush conntrack");
    }
    return 0;
}

static int
sw_ports(lua_State *L)
{
    struct vslab_port_info *ports;
    size_t n;
    int idx;

    check_type(L, 1, VSLAB_SWITCH, &idx);
    need_test(L, "ports");
    if (vslab_ctl_ports(get_ctx(L), idx, &ports, &n)) {
        return luaL_error(L, "cannot dump ports");
    }
    lua_createtable(L, n, 0);
    for (size_t i = 0; i < n; i++) {
        lua_newtable(L);
        lua_pushstring(L, ports[i].name);
        lua_setfield(L, -2, "name");
        lua_pushinteger(L, ports[i].ofport);
        lua_setfield(L, -2, "ofport");
#define FIELD(F) lua_pushinteger(L, (lua_Integer) ports[i].F); \
                 lua_setfield(L, -2, #F)
        FIELD(rx_packets);
        FIELD(tx_packets);
        FIELD(rx_bytes);
        FIELD(tx_bytes);
        FIELD(rx_dropped);
        FIELD(tx_dropped);
#undef FIELD
        lua_rawseti(L, -2, i + 1);
        free(ports[i].name);
    }
    free(ports);
    return 1;
}

static int
node_index(lua_State *L)
{
    struct vslab_node *n = check_node(L, 1, NULL);
    const char *key = luaL_checkstring(L, 2);

    if (!strcmp(key, "name")) {
        lua_pushstring(L, n->name);
        return 1;
    }
    if (!strcmp(key, "kind")) {
        lua_pushstring(L, n->type == VSLAB_SWITCH ? "switch"
                       : n->kind->name);
        return 1;
    }
    if (vslab_node_is_vm(n) && vslab_vm_method(L, key)) {
        return 1;
    }
    luaL_getmetatable(L, MT_NODE);
    lua_getfield(L, -1, "methods");
    lua_getfield(L, -1, key);
    return 1;
}

static int
node_tostring(lua_State *L)
{
    struct vslab_node *n = check_node(L, 1, NULL);

    lua_pushfstring(L, "%s '%s'", n->type == VSLAB_SWITCH ? "switch"
                    : n->kind->name, n->name);
    return 1;
}

static struct vslab_link *
check_link(lua_State *L, int *idxp)
{
    struct ref *r = luaL_checkudata(L, 1, MT_LINK);

    *idxp = r->idx;
    return &get_ctx(L)->lab->links[r->idx];
}

static int
link_set(lua_State *L)
{
    int idx;
    struct vslab_link *l = check_link(L, &idx);

    luaL_checktype(L, 2, LUA_TTABLE);
    need_test(L, "link:set");
    lua_pushnil(L);
    while (lua_next(L, 2)) {
        const char *key = luaL_checkstring(L, -2);
        char **slot = !strcmp(key, "delay") ? &l->netem.delay
                      : !strcmp(key, "jitter") ? &l->netem.jitter
                      : !strcmp(key, "loss") ? &l->netem.loss
                      : !strcmp(key, "rate") ? &l->netem.rate : NULL;
        if (!slot) {
            return luaL_error(L, "link:set: unknown key '%s' (delay, "
                              "jitter, loss, rate)", key);
        }
        free(*slot);
        *slot = NULL;
        if (lua_toboolean(L, -1)) {
            const char *v = luaL_tolstring(L, -1, NULL);
            *slot = xstrdup(v);
            lua_pop(L, 1);
            if (!strcmp(v, "0") || !strcmp(v, "0%") || !strcmp(v, "0ms")) {
                free(*slot);
                *slot = NULL;
            }
        }
        lua_pop(L, 1);
    }
    if (vslab_ctl_set_impair(get_ctx(L), idx)) {
        return luaL_error(L, "link:set: the switch refused the change");
    }
    return 0;
}

static int
link_updown(lua_State *L, bool up)
{
    int idx;

    check_link(L, &idx);
    need_test(L, up ? "link:up" : "link:down");
    if (vslab_sys_link_state(get_ctx(L), idx, up)) {
        return luaL_error(L, "cannot set the link %s", up ? "up" : "down");
    }
    return 0;
}

static int
link_up(lua_State *L)
{
    return link_updown(L, true);
}

static int
link_down(lua_State *L)
{
    return link_updown(L, false);
}

/* ---- State ------------------------------------------------------------ */

static const luaL_Reg node_methods[] = {
    { "flows", sw_flows },
    { "group", sw_group },
    { "ping", h_ping },
    { "tcp", h_tcp },
    { "udp", h_udp },
    { "iperf", h_iperf },
    { "exec", h_exec },
    { "spawn", h_spawn },
    { "ip", n_ip },
    { "dump_flows", sw_dump_flows },
    { "conntrack", sw_conntrack },
    { "flush_conntrack", sw_flush_conntrack },
    { "ports", sw_ports },
    { NULL, NULL },
};

static const luaL_Reg link_methods[] = {
    { "set", link_set },
    { "up", link_up },
    { "down", link_down },
    { NULL, NULL },
};

static const luaL_Reg globals[] = {
    { "switch", l_switch },
    { "host", l_host },
    { "vm", l_vm },
    { "link", l_link },
    { "test", l_test },
    { "expect", l_expect },
    { "expect_not", l_expect_not },
    { "expect_eq", l_expect_eq },
    { "sleep", l_sleep },
    { "kill", l_kill },
    { "print", l_print },
    { NULL, NULL },
};

/* load() restricted to text chunks: load(chunk [, name [, mode [, env]]])
 * always with mode "t". */
static int
safe_load(lua_State *L)
{
    lua_settop(L, 4);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushvalue(L, 1);
    lua_pushvalue(L, 2);
    lua_pushliteral(L, "t");
    int nargs = 3;
    if (!lua_isnone(L, 4) && !lua_isnil(L, 4)) {
        lua_pushvalue(L, 4);
        nargs = 4;
    }
    lua_call(L, nargs, LUA_MULTRET);
    return lua_gettop(L) - 4;
}

static void
open_sandbox(lua_State *L)
{
    static const luaL_Reg libs[] = {
        { LUA_GNAME, luaopen_base },
        { LUA_STRLIBNAME, luaopen_string },
        { LUA_TABLIBNAME, luaopen_table },
        { LUA_MATHLIBNAME, luaopen_math },
        { LUA_UTF8LIBNAME, luaopen_utf8 },
        { LUA_OSLIBNAME, luaopen_os },
    };
    for (size_t i = 0; i < ARRAY_SIZE(libs); i++) {
        luaL_requiref(L, libs[i].name, libs[i].func, 1);
        lua_pop(L, 1);
    }
    static const char *const drop_base[] = { "dofile", "loadfile",
                                             "collectgarbage", "require" };
    for (size_t i = 0; i < ARRAY_SIZE(drop_base); i++) {
        lua_pushnil(L);
        lua_setglobal(L, drop_base[i]);
    }
    lua_getglobal(L, "load");
    lua_pushcclosure(L, safe_load, 1);
    lua_setglobal(L, "load");
    lua_getglobal(L, "string");
    lua_pushnil(L);
    lua_setfield(L, -2, "dump");
    lua_pop(L, 1);

    /* os: only the clock, the date and the environment. */
    lua_getglobal(L, "os");
    lua_newtable(L);
    static const char *const keep_os[] = { "time", "clock", "date",
                                           "getenv", "difftime" };
    for (size_t i = 0; i < ARRAY_SIZE(keep_os); i++) {
        lua_getfield(L, -2, keep_os[i]);
        lua_setfield(L, -2, keep_os[i]);
    }
    lua_setglobal(L, "os");
    lua_pop(L, 1);
    /* The loaded-modules table would give the full os back. */
    lua_pushnil(L);
    lua_setfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);

    luaL_newmetatable(L, MT_NODE);
    lua_pushcfunction(L, node_index);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, node_call);
    lua_setfield(L, -2, "__call");
    lua_pushcfunction(L, node_tostring);
    lua_setfield(L, -2, "__tostring");
    luaL_newlib(L, node_methods);
    lua_setfield(L, -2, "methods");
    lua_pop(L, 1);

    luaL_newmetatable(L, MT_LINK);
    luaL_newlib(L, link_methods);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);

    luaL_newmetatable(L, MT_LIST);
    lua_newtable(L);
    lua_pushcfunction(L, list_count);
    lua_setfield(L, -2, "count");
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);

    lua_pushglobaltable(L);
    luaL_setfuncs(L, globals, 0);
    lua_pop(L, 1);
}

static int
traceback(lua_State *L)
{
    /* Keep the message ("FILE:LINE: ..."), no traceback: short output. */
    if (!lua_isstring(L, 1)) {
        lua_pushfstring(L, "(error object is a %s value)",
                        luaL_typename(L, 1));
    }
    return 1;
}

static int
call_budgeted(struct vslab_ctx *ctx, int nargs)
{
    lua_State *L = ctx->L;
    int base = lua_gettop(L) - nargs;

    ctx->budget_left = ctx->budget;
    lua_pushcfunction(L, traceback);
    lua_insert(L, base);
    int rc = lua_pcall(L, nargs, 0, base);
    lua_remove(L, base);
    return rc;
}

int
vslab_lua_load(struct vslab_ctx *ctx, const char *file, char **errp)
{
    struct lua_mem *mem = xzalloc(sizeof *mem);
    lua_State *L = lua_newstate(lua_alloc, mem);

    if (!L) {
        free(mem);
        *errp = xstrdup("cannot create a Lua state");
        return -ENOMEM;
    }
    ctx->L = L;
    *(struct vslab_ctx **) lua_getextraspace(L) = ctx;
    open_sandbox(L);
    lua_sethook(L, budget_hook, LUA_MASKCOUNT, HOOK_STEP);

    struct ds text = DS_EMPTY_INITIALIZER;
    int err = vslab_read_file(file, &text);
    if (err) {
        *errp = xasprintf("cannot open '%s': %s", file, strerror(-err));
        return err;
    }
    if (text.length && text.string[0] == LUA_SIGNATURE[0]) {
        ds_destroy(&text);
        *errp = xasprintf("%s: binary chunks are not accepted", file);
        return -EINVAL;
    }
    char *chunkname = xasprintf("@%s", file);
    int rc = luaL_loadbufferx(L, ds_cstr(&text), text.length, chunkname,
                              "t");
    free(chunkname);
    ds_destroy(&text);
    if (rc == LUA_OK) {
        rc = call_budgeted(ctx, 0);
    }
    if (rc != LUA_OK) {
        *errp = xstrdup(lua_tostring(L, -1) ? lua_tostring(L, -1)
                        : "unknown error");
        lua_pop(L, 1);
        return -EINVAL;
    }
    return 0;
}

int
vslab_lua_run_tests(struct vslab_ctx *ctx)
{
    struct vslab_lab *lab = ctx->lab;
    lua_State *L = ctx->L;
    int failed = 0;

    ctx->in_test = true;
    for (size_t i = 0; i < lab->n_tests; i++) {
        struct vslab_test *t = &lab->tests[i];
        long long start = time_msec();
        lua_rawgeti(L, LUA_REGISTRYINDEX, t->ref);
        int rc = call_budgeted(ctx, 0);
        double secs = (time_msec() - start) / 1000.0;
        if (rc == LUA_OK) {
            printf("  PASS  %s (%.2f s)\n", t->name, secs);
        } else {
            printf("  FAIL  %s (%.2f s)\n        %s\n", t->name, secs,
                   lua_tostring(L, -1));
            lua_pop(L, 1);
            failed++;
        }
        fflush(stdout);
    }
    ctx->in_test = false;
    return failed;
}

void
vslab_lua_close(struct vslab_ctx *ctx)
{
    if (ctx->L) {
        void *mem;
        lua_getallocf(ctx->L, &mem);
        lua_close(ctx->L);
        free(mem);
        ctx->L = NULL;
    }
}
