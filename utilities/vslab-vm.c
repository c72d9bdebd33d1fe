/* vslab-vm: the 'vm' node kind, QEMU guests run by tools/vm/ts-vm
 * (docs/vm.md, "Using ts-vm from vslab"; docs/vslab.md, "VMs").
 *
 * A vm is a host-like node (type VSLAB_HOST, kind vslab_kind_vm) with one
 * link to a switch.  The link is the TAP that QEMU creates: vslab names
 * it like a switch port ("TAG-Nx", the switch end's device), starts the
 * guest with `ts-vm start NAME --tap TAP --rundir /run/vslab/LAB/vm`
 * (every guest of a lab in parallel), and only then adds the TAP to the
 * switch as an afpacket (or afxdp) port.  No veth, no namespace.
 *
 * Commands run in the guest through `ts-vm exec` (an agent on the serial
 * console); argv commands are quoted into one busybox shell line.
 *
 * Tagging: every process of a lab's guests names /run/vslab/LAB/vm in its
 * command line (ts-vm start, its supervisor and ts-vm exec clients as
 * "--rundir DIR", QEMU in its console's socket path), so `down` finds and
 * kills them from /proc even when vslab was killed in the middle of `up`
 * before any pid file was written; the TAPs go with QEMU (and carry the
 * lab's "TAG-" prefix, which vslab-sys removes if one is left).
 *
 * Where ts-vm is: $VSLAB_TS_VM, else ../../tools/vm/ts-vm from the
 * directory of vslab's binary (the build tree), else ts-vm next to the
 * binary or in ../libexec/trackswitch/, else ts-vm on PATH.
 *
 * Threads: single-threaded. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>

#include "json.h"
#include "vslab.h"

#define VSLAB_VM_BOOT_TIMEOUT_S 120

/* ---- The kind ---------------------------------------------------------- */

static char *vm_tool_path;

const char *
vslab_vm_tool(void)
{
    if (vm_tool_path) {
        return vm_tool_path;
    }
    const char *env = getenv("VSLAB_TS_VM");
    if (env && *env) {
        vm_tool_path = xstrdup(env);
        return vm_tool_path;
    }
    static const char *const rel[] = {
        "../../tools/vm/ts-vm", "ts-vm", "../libexec/trackswitch/ts-vm",
    };
    vm_tool_path = vslab_find_beside_self(rel, ARRAY_SIZE(rel));
    if (!vm_tool_path) {
        vm_tool_path = xstrdup("ts-vm");
    }
    return vm_tool_path;
}

static int
vm_exec_prefix(const struct vslab_node *node, const char *argv[8])
{
    /* ts-vm joins the words after "--" with spaces, as ssh does. */
    argv[0] = vslab_vm_tool();
    argv[1] = "exec";
    argv[2] = node->name;
    argv[3] = "--rundir";
    argv[4] = node->ns;
    argv[5] = "--timeout";
    argv[6] = "3600";
    argv[7] = "--";
    return 8;
}

const struct vslab_node_kind vslab_kind_vm = {
    .name = "vm",
    .exec_prefix = vm_exec_prefix,
};

bool
vslab_node_is_vm(const struct vslab_node *n)
{
    return n && n->kind == &vslab_kind_vm;
}

char *
vslab_vm_dir(const char *lab)
{
    return xasprintf("%s/%s/vm", VSLAB_RUN_DIR, lab);
}

void
vslab_vm_init_node(const struct vslab_lab *lab, struct vslab_node *n)
{
    n->kind = &vslab_kind_vm;
    free(n->ns);
    n->ns = vslab_vm_dir(lab->name);
    n->vm_mem = VSLAB_VM_MEM_DEFAULT;
}

/* The link of vm 'node' (validated: exactly one) and its vm end. */
static struct vslab_link *
vm_link(const struct vslab_lab *lab, int node, int *kp)
{
    for (size_t i = 0; i < lab->n_links; i++) {
        for (int k = 0; k < 2; k++) {
            if (lab->links[i].e[k].node == node) {
                *kp = k;
                return &lab->links[i];
            }
        }
    }
    return NULL;
}

bool
vslab_vm_link(const struct vslab_lab *lab, const struct vslab_link *l)
{
    return vslab_node_is_vm(&lab->nodes[l->e[0].node])
           || vslab_node_is_vm(&lab->nodes[l->e[1].node]);
}

/* ---- Phase one: options and validation ------------------------------- */

void
vslab_vm_option(struct lua_State *L, struct vslab_node *n, const char *key,
                int v)
{
    if (!strcmp(key, "ip")) {
        if (lua_type(L, v) != LUA_TSTRING) {
            luaL_error(L, "vm '%s': 'ip' must be one IPv4 address "
                       "(\"A.B.C.D/LEN\")", n->name);
        }
        for (size_t i = 0; i < n->n_ips; i++) {
            free(n->ips[i]);
        }
        n->ips = xrealloc(n->ips, sizeof *n->ips);
        n->ips[0] = xstrdup(lua_tostring(L, v));
        n->n_ips = 1;
    } else if (!strcmp(key, "gw")) {
        free(n->gw);
        n->gw = xstrdup(luaL_checkstring(L, v));
    } else if (!strcmp(key, "memory") || !strcmp(key, "mem")) {
        lua_Integer mb = luaL_checkinteger(L, v);
        if (mb < 64 || mb > 16384) {
            luaL_error(L, "vm '%s': memory %d MB out of range 64..16384",
                       n->name, (int) mb);
        }
        n->vm_mem = mb;
    } else {
        luaL_error(L, "unknown option '%s' for vm '%s' (ip, gw, memory)",
                   key, n->name);
    }
}

int
vslab_vm_validate(struct vslab_lab *lab, char **errp)
{
    for (size_t i = 0; i < lab->n_nodes; i++) {
        struct vslab_node *n = &lab->nodes[i];
        if (!vslab_node_is_vm(n)) {
            continue;
        }
        struct vslab_link *l = NULL;
        int n_links = 0, k = 0;
        for (size_t j = 0; j < lab->n_links; j++) {
            for (int m = 0; m < 2; m++) {
                if (lab->links[j].e[m].node == (int) i) {
                    if (!n_links++) {
                        l = &lab->links[j];
                        k = m;
                    }
                }
            }
        }
        if (!l) {
            return vslab_fail(errp, n->file, n->line, "vm '%s' has no link "
                              "(a vm needs one link to a switch)", n->name);
        }
        if (n_links > 1) {
            return vslab_fail(errp, n->file, n->line, "vm '%s' has %d links; "
                              "a vm has one NIC, linked to a switch", n->name,
                              n_links);
        }
        struct vslab_end *e = &l->e[k], *s = &l->e[!k];
        if (lab->nodes[s->node].type != VSLAB_SWITCH) {
            return vslab_fail(errp, l->file, l->line, "vm '%s' must be linked "
                              "to a switch, not to '%s'", n->name,
                              lab->nodes[s->node].name);
        }
        if (!strcmp(l->type, "tap")) {
            return vslab_fail(errp, l->file, l->line, "vm '%s': a vm link "
                              "cannot be type 'tap': QEMU owns the guest's "
                              "TAP, so the switch attaches to it with type "
                              "'afpacket' (or 'afxdp')", n->name);
        }
        if (strcmp(l->type, "afpacket") && strcmp(l->type, "afxdp")) {
            return vslab_fail(errp, l->file, l->line, "vm '%s': link type "
                              "'%s' (expected afpacket or afxdp)", n->name,
                              l->type);
        }
        if (l->mtu) {
            return vslab_fail(errp, l->file, l->line, "vm '%s': 'mtu' is not "
                              "supported on a vm link", n->name);
        }
        if (e->ifname && strcmp(e->ifname, "eth0")) {
            return vslab_fail(errp, l->file, l->line, "vm '%s': the guest's "
                              "interface is eth0, not '%s'", n->name,
                              e->ifname);
        }
        uint32_t a;
        int plen;
        if (e->n_ips != 1 || strchr(e->ips[0], ':')
            || !vslab_parse_cidr4(e->ips[0], &a, &plen)
            || !strchr(e->ips[0], '/')) {
            return vslab_fail(errp, n->file, n->line, "vm '%s' needs one IPv4 "
                              "address (ip = \"A.B.C.D/LEN\")", n->name);
        }
        /* One device: the TAP that QEMU creates is the switch port. */
        free(e->dev);
        e->dev = xstrdup(s->dev);
    }
    return 0;
}

/* ---- Phase two: starting guests -------------------------------------- */

static int *start_pids;         /* per node: the running `ts-vm start` */

static bool
in_path(const char *prog)
{
    if (strchr(prog, '/')) {
        return !access(prog, X_OK);
    }
    const char *path = getenv("PATH");
    char *copy = xstrdup(path ? path : "/usr/bin:/bin");
    bool found = false;

    for (char *save = NULL, *d = strtok_r(copy, ":", &save);
         d && !found; d = strtok_r(NULL, ":", &save)) {
        char *p = xasprintf("%s/%s", d, prog);
        found = !access(p, X_OK);
        free(p);
    }
    free(copy);
    return found;
}

static int
read_pid_file(const char *path)
{
    FILE *f = fopen(path, "r");
    int pid = 0;

    if (f) {
        if (fscanf(f, "%d", &pid) != 1) {
            pid = 0;
        }
        fclose(f);
    }
    return pid > 1 && !kill(pid, 0) ? pid : 0;
}

/* A guest is running: its supervisor lives and it reported ready. */
static bool
vm_dir_running(const char *dir, const char *name)
{
    char *pidf = xasprintf("%s/%s/broker.pid", dir, name);
    char *ready = xasprintf("%s/%s/ready", dir, name);
    bool up = read_pid_file(pidf) && !access(ready, F_OK);

    free(pidf);
    free(ready);
    return up;
}

static pid_t
spawn_logged(const char *const argv[], const char *log)
{
    pid_t pid = fork();

    if (pid) {
        return pid;
    }
    int null = open("/dev/null", O_RDONLY);
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (null >= 0) {
        dup2(null, 0);
    }
    if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
    }
    setpgid(0, 0);
    execvp(argv[0], (char *const *) argv);
    _exit(127);
}

static size_t
count_vms(const struct vslab_lab *lab)
{
    size_t n = 0;

    for (size_t i = 0; i < lab->n_nodes; i++) {
        n += vslab_node_is_vm(&lab->nodes[i]);
    }
    return n;
}

int
vslab_vm_check(const struct vslab_lab *lab)
{
    const char *qemu = getenv("TS_VM_QEMU");

    if (!count_vms(lab)) {
        return 0;
    }
    qemu = qemu && *qemu ? qemu : "qemu-system-x86_64";
    if (!in_path(qemu)) {
        fprintf(stderr, "vslab: the lab has vm nodes, but %s is not "
                "installed (Debian: qemu-system-x86, linux-image-amd64, "
                "busybox-static; tools/install-deps)\n", qemu);
        return -ENOENT;
    }
    if (!in_path(vslab_vm_tool())) {
        fprintf(stderr, "vslab: cannot find ts-vm ('%s'); set "
                "VSLAB_TS_VM\n", vslab_vm_tool());
        return -ENOENT;
    }
    return 0;
}

int
vslab_vm_start(struct vslab_ctx *ctx)
{
    struct vslab_lab *lab = ctx->lab;
    size_t n_vms = count_vms(lab);
    int err = vslab_vm_check(lab);

    if (!n_vms || err) {
        return err;
    }
    char *dir = vslab_vm_dir(lab->name);
    mkdir(VSLAB_RUN_DIR, 0755);
    mkdir(ctx->rundir, 0755);
    mkdir(dir, 0700);
    free(start_pids);
    start_pids = xcalloc(lab->n_nodes, sizeof *start_pids);
    for (size_t i = 0; !err && i < lab->n_nodes; i++) {
        struct vslab_node *n = &lab->nodes[i];
        int k = 0;
        if (!vslab_node_is_vm(n)) {
            continue;
        }
        if (vm_dir_running(dir, n->name)) {
            continue;           /* `up` again: keep it */
        }
        struct vslab_link *l = vm_link(lab, i, &k);
        struct vslab_end *e = &l->e[k];
        if (vslab_dev_exists(NULL, e->dev)) {
            fprintf(stderr, "vslab: interface %s of vm '%s' exists but the "
                    "guest is not running; run 'vslab down' first\n",
                    e->dev, n->name);
            err = -EEXIST;
            break;
        }
        char mem[16];
        snprintf(mem, sizeof mem, "%d", n->vm_mem);
        const char *argv[24] = {
            vslab_vm_tool(), "start", n->name, "--tap", e->dev, "--ip",
            e->ips[0], "--mem", mem, "--mac", e->mac, "--rundir", dir,
        };
        size_t argc = 13;
        if (n->gw) {
            argv[argc++] = "--gw";
            argv[argc++] = n->gw;
        }
        argv[argc] = NULL;
        if (ctx->verbose) {
            fprintf(stderr, "+");
            for (size_t j = 0; j < argc; j++) {
                fprintf(stderr, " %s", argv[j]);
            }
            fprintf(stderr, " &\n");
        }
        char *log = xasprintf("%s/%s.start", dir, n->name);
        start_pids[i] = spawn_logged(argv, log);
        free(log);
        if (start_pids[i] < 0) {
            fprintf(stderr, "vslab: cannot run ts-vm: %s\n",
                    strerror(errno));
            start_pids[i] = 0;
            err = -errno;
        }
    }
    if (!err) {
        vslab_log(ctx, "booting %zu vm%s in parallel", n_vms,
                  n_vms > 1 ? "s" : "");
    }
    free(dir);
    return err;
}

int
vslab_vm_wait(struct vslab_ctx *ctx)
{
    struct vslab_lab *lab = ctx->lab;
    char *dir = vslab_vm_dir(lab->name);
    long long start = time_msec();
    int err = 0;

    for (size_t i = 0; start_pids && i < lab->n_nodes; i++) {
        struct vslab_node *n = &lab->nodes[i];
        int status, k = 0;
        if (!start_pids[i]) {
            continue;
        }
        while (waitpid(start_pids[i], &status, 0) < 0 && errno == EINTR) {
            continue;
        }
        start_pids[i] = 0;
        char *log = xasprintf("%s/%s.start", dir, n->name);
        if (!WIFEXITED(status) || WEXITSTATUS(status)) {
            struct ds text = DS_EMPTY_INITIALIZER;
            vslab_read_file(log, &text);
            fprintf(stderr, "vslab: vm '%s' did not start:\n%s", n->name,
                    ds_cstr(&text));
            ds_destroy(&text);
            err = -EIO;
        } else {
            struct vslab_link *l = vm_link(lab, i, &k);
            vslab_runf(NULL, "ip link set dev %s alias vslab.%s",
                       l->e[k].dev, lab->name);
            unlink(log);
        }
        free(log);
    }
    if (!err) {
        for (size_t i = 0; i < lab->n_nodes; i++) {
            if (vslab_node_is_vm(&lab->nodes[i])) {
                vslab_log(ctx, "vms are up (%.1f s)",
                          (time_msec() - start) / 1000.0);
                break;
            }
        }
    }
    free(dir);
    return err;
}

/* ---- Commands in a guest --------------------------------------------- */

static void
put_shell_word(struct ds *s, const char *w)
{
    bool plain = *w != '\0';

    for (const char *p = w; *p; p++) {
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                    "0123456789_./:=,@%+-", *p)) {
            plain = false;
            break;
        }
    }
    if (plain) {
        ds_put_cstr(s, w);
        return;
    }
    ds_put_char(s, '\'');
    for (const char *p = w; *p; p++) {
        if (*p == '\'') {
            ds_put_cstr(s, "'\\''");
        } else {
            ds_put_char(s, *p);
        }
    }
    ds_put_char(s, '\'');
}

static void
put_shell_line(struct ds *s, const char *const cmd[])
{
    for (size_t i = 0; cmd[i]; i++) {
        if (i) {
            ds_put_char(s, ' ');
        }
        put_shell_word(s, cmd[i]);
    }
}

static int
vm_run_line(const struct vslab_node *n, const char *line, int timeout_ms,
            struct ds *out)
{
    char secs[16];

    snprintf(secs, sizeof secs, "%d",
             timeout_ms > 0 ? (timeout_ms + 999) / 1000 : 3600);
    const char *argv[] = { vslab_vm_tool(), "exec", n->name, "--rundir",
                           n->ns, "--timeout", secs, "--", line, NULL };
    return vslab_run(argv, timeout_ms > 0 ? timeout_ms + 20000 : 0, out);
}

int
vslab_vm_run(const struct vslab_lab *lab, int node, const char *const cmd[],
             int timeout_ms, struct ds *out)
{
    struct ds line = DS_EMPTY_INITIALIZER;

    put_shell_line(&line, cmd);
    int rc = vm_run_line(&lab->nodes[node], ds_cstr(&line), timeout_ms,
                         out);
    ds_destroy(&line);
    return rc;
}

int
vslab_vm_spawn(const struct vslab_lab *lab, int node,
               const char *const cmd[])
{
    struct ds line = DS_EMPTY_INITIALIZER;

    ds_put_cstr(&line, "(");
    put_shell_line(&line, cmd);
    ds_put_cstr(&line, ") </dev/null >/dev/null 2>&1 &");
    int rc = vm_run_line(&lab->nodes[node], ds_cstr(&line), 20000, NULL);
    ds_destroy(&line);
    /* Started in the guest; give it time to bind (TCG is slow).  There is
     * no host process to kill: guest commands carry their own timeout. */
    usleep(300000);
    return rc ? -1 : 0;
}

int
vslab_vm_listen_tcp(const struct vslab_lab *lab, int node, int port)
{
    char ports[16];

    snprintf(ports, sizeof ports, "%d", port);
    /* busybox nc: -ll keeps listening, -e runs a program per connection. */
    const char *cmd[] = { "timeout", "20", "nc", "-ll", "-p", ports, "-e",
                          "true", NULL };
    return vslab_vm_spawn(lab, node, cmd);
}

/* ---- Lua methods of vm nodes ----------------------------------------- */

static int
vm_unsupported(lua_State *L)
{
    return luaL_error(L, "vm:%s is not supported (use vm:exec)",
                      lua_tostring(L, lua_upvalueindex(1)));
}

bool
vslab_vm_method(struct lua_State *L, const char *key)
{
    if (!strcmp(key, "udp") || !strcmp(key, "spawn")) {
        lua_pushstring(L, key);
        lua_pushcclosure(L, vm_unsupported, 1);
        return true;
    }
    return false;
}

/* ---- down, status ---------------------------------------------------- */

/* True if a command line (NUL-separated) is one of the guests' under
 * 'dir': ts-vm (start, exec, and the supervisor it forks) has the
 * arguments "--rundir" 'dir'; QEMU has "path='dir'/NAME/console.sock" in
 * its -chardev.  (Other programs that merely name files there, an 'ls'
 * say, do not match.) */
static bool
cmdline_tagged(const char *buf, size_t len, const char *dir)
{
    char *chardev = xasprintf("path=%s/", dir);
    const char *prev = "";
    bool tagged = false;

    for (size_t i = 0; !tagged && i < len; i += strlen(buf + i) + 1) {
        const char *arg = buf + i;
        tagged = (!strcmp(prev, "--rundir") && !strcmp(arg, dir))
                 || strstr(arg, chardev);
        prev = arg;
    }
    free(chardev);
    return tagged;
}

/* Calls kill(pid, 'sig') for every live process of the guests under
 * 'dir' (sig 0: count only).  Returns their number. */
static int
for_each_vm_proc(const char *dir, int sig)
{
    DIR *d = opendir("/proc");
    struct dirent *de;
    int n = 0;

    while (d && (de = readdir(d))) {
        char *end;
        long pid = strtol(de->d_name, &end, 10);
        if (*end || pid <= 1 || pid == getpid()) {
            continue;
        }
        char *path = xasprintf("/proc/%ld/cmdline", pid);
        int fd = open(path, O_RDONLY);
        free(path);
        if (fd < 0) {
            continue;
        }
        char buf[8192];
        ssize_t r = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (r <= 0) {
            continue;           /* a kernel thread or a zombie */
        }
        buf[r] = '\0';
        if (cmdline_tagged(buf, r, dir)) {
            if (sig) {
                kill(pid, sig);
            }
            n++;
        }
    }
    if (d) {
        closedir(d);
    }
    return n;
}

/* Names of the guests' state directories under 'dir'. */
static size_t
vm_names(const char *dir, char ***namesp)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char **names = NULL;
    size_t n = 0;

    while (d && (de = readdir(d))) {
        struct stat st;
        char *p = xasprintf("%s/%s", dir, de->d_name);
        if (de->d_name[0] != '.' && !stat(p, &st) && S_ISDIR(st.st_mode)) {
            names = xrealloc(names, (n + 1) * sizeof *names);
            names[n++] = xstrdup(de->d_name);
        }
        free(p);
    }
    if (d) {
        closedir(d);
    }
    *namesp = names;
    return n;
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *f)
{
    (void) st;
    (void) f;
    if (flag == FTW_DP) {
        rmdir(path);
    } else {
        unlink(path);
    }
    return 0;
}

int
vslab_vm_cleanup(const char *lab, bool verbose)
{
    char *dir = vslab_vm_dir(lab);
    char **names;
    size_t n_names = vm_names(dir, &names);
    int n = 0;

    for (size_t i = 0; i < n_names; i++) {
        if (verbose) {
            printf("  stopped vm %s%s\n", names[i],
                   vm_dir_running(dir, names[i]) ? "" : " (not running)");
        }
        n++;
        free(names[i]);
    }
    free(names);
    /* Everything with the tag dies: `ts-vm start` (also one whose
     * supervisor has not written its pid file yet), the supervisors,
     * QEMU, exec clients.  QEMU's TAP goes with it.  Repeat until a scan
     * finds nothing: a supervisor may fork QEMU between two scans. */
    int procs = 0;
    for (int round = 0; round < 100; round++) {
        int k = for_each_vm_proc(dir, SIGKILL);
        if (!k) {
            break;
        }
        procs += k;
        usleep(50000);
    }
    if (procs && !n) {
        if (verbose) {
            printf("  killed %d vm processes\n", procs);
        }
        n++;
    }
    struct stat st;
    if (!stat(dir, &st)) {
        nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    }
    free(dir);
    return n;
}

int
vslab_vm_count(const char *lab)
{
    char *dir = vslab_vm_dir(lab);
    char **names;
    size_t n = vm_names(dir, &names);

    for (size_t i = 0; i < n; i++) {
        free(names[i]);
    }
    free(names);
    int procs = for_each_vm_proc(dir, 0);
    free(dir);
    return n + procs;
}

/* The value of "key": "..." or "key": N in ts-vm's info.json. */
static char *
info_get(const char *json, const char *key)
{
    char *pat = xasprintf("\"%s\": ", key);
    const char *p = strstr(json, pat);
    char *v = NULL;

    if (p) {
        p += strlen(pat);
        if (*p == '"') {
            p++;
            v = xstrndup(p, strcspn(p, "\""));
        } else {
            v = xstrndup(p, strcspn(p, ",}"));
        }
    }
    free(pat);
    return v ? v : xstrdup("");
}

void
vslab_vm_status(const char *lab, struct json_writer *json, struct ds *text)
{
    char *dir = vslab_vm_dir(lab);
    char **names;
    size_t n = vm_names(dir, &names);

    if (json) {
        json_key(json, "vms");
        json_begin_array(json);
    }
    for (size_t i = 0; i < n; i++) {
        char *path = xasprintf("%s/%s/info.json", dir, names[i]);
        struct ds info = DS_EMPTY_INITIALIZER;
        vslab_read_file(path, &info);
        char *pidf = xasprintf("%s/%s/qemu.pid", dir, names[i]);
        int qpid = read_pid_file(pidf);
        bool up = vm_dir_running(dir, names[i]);
        char *tap = info_get(ds_cstr(&info), "tap");
        char *ip = info_get(ds_cstr(&info), "ip");
        char *mem = info_get(ds_cstr(&info), "mem");
        char *accel = info_get(ds_cstr(&info), "accel");
        if (json) {
            json_begin_object(json);
            json_kv_string(json, "name", names[i]);
            json_kv_bool(json, "running", up);
            json_kv_string(json, "tap", tap);
            json_kv_string(json, "ip", ip);
            json_kv_int(json, "memory", atoi(mem));
            json_kv_string(json, "accel", accel);
            json_kv_int(json, "qemu_pid", qpid);
            json_end_object(json);
        } else {
            ds_put_format(text, "  vm %-12s %-9s %s on %s, %s MB, %s, "
                          "qemu pid %d\n", names[i],
                          up ? "running" : "stopped", ip, tap, mem, accel,
                          qpid);
        }
        free(tap);
        free(ip);
        free(mem);
        free(accel);
        free(pidf);
        free(path);
        ds_destroy(&info);
        free(names[i]);
    }
    if (json) {
        json_end_array(json);
    }
    free(names);
    free(dir);
}

/* `vslab exec NODE -- CMD` for a vm: finds /run/vslab/LAB/vm/NODE (in
 * lab 'lab', or in any lab) and execs ts-vm; returns only on error, with
 * -ENOENT if there is no such vm. */
int
vslab_vm_exec_cli(const char *lab, const char *node, int argc, char *argv[])
{
    char *found = NULL;
    int n = 0;

    if (lab) {
        char *dir = vslab_vm_dir(lab);
        if (vm_dir_running(dir, node)) {
            found = dir;
            n = 1;
        } else {
            free(dir);
        }
    } else {
        DIR *d = opendir(VSLAB_RUN_DIR);
        struct dirent *de;
        while (d && (de = readdir(d))) {
            if (de->d_name[0] == '.') {
                continue;
            }
            char *dir = vslab_vm_dir(de->d_name);
            if (vm_dir_running(dir, node)) {
                free(found);
                found = dir;
                n++;
            } else {
                free(dir);
            }
        }
        if (d) {
            closedir(d);
        }
    }
    if (!n) {
        return -ENOENT;
    }
    if (n > 1) {
        free(found);
        fprintf(stderr, "vslab: vm '%s' is in several labs; use "
                "--name=LAB\n", node);
        return -EEXIST;
    }
    char **args = xcalloc(argc + 9, sizeof *args);
    args[0] = (char *) vslab_vm_tool();
    args[1] = "exec";
    args[2] = (char *) node;
    args[3] = "--rundir";
    args[4] = found;
    args[5] = "--timeout";
    args[6] = "3600";
    args[7] = "--";
    memcpy(&args[8], argv, argc * sizeof *argv);
    execvp(args[0], args);
    fprintf(stderr, "vslab: cannot run %s: %s\n", args[0], strerror(errno));
    free(args);
    free(found);
    return -errno;
}
