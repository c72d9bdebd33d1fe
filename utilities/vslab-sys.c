/* vslab-sys: the host side of a lab.  Runs ip(8), tc(8) and friends with
 * fork/exec (never a shell), creates namespaces, veth pairs and addresses,
 * moves switch-owned TAPs into namespaces, and finds and
 * removes everything tagged for a lab. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vslab.h"

static int
netns_exec_prefix(const struct vslab_node *node, const char *argv[8])
{
    argv[0] = "ip";
    argv[1] = "netns";
    argv[2] = "exec";
    argv[3] = node->ns;
    return 4;
}

const struct vslab_node_kind vslab_kind_netns = {
    .name = "host",
    .exec_prefix = netns_exec_prefix,
};

static void
child_exec(const char *const argv[], int outfd)
{
    int null = open("/dev/null", O_RDWR);

    if (null >= 0) {
        dup2(null, 0);
    }
    if (outfd >= 0) {
        dup2(outfd, 1);
        dup2(outfd, 2);
    } else if (null >= 0) {
        dup2(null, 1);
        dup2(null, 2);
    }
    setpgid(0, 0);
    execvp(argv[0], (char *const *) argv);
    _exit(127);
}

int
vslab_run(const char *const argv[], int timeout_ms, struct ds *out)
{
    int fds[2];

    if (pipe2(fds, O_CLOEXEC)) {
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (!pid) {
        child_exec(argv, fds[1]);
    }
    close(fds[1]);

    long long deadline = timeout_ms > 0 ? time_msec() + timeout_ms : -1;
    bool timed_out = false;
    for (;;) {
        struct pollfd pfd = { .fd = fds[0], .events = POLLIN };
        int wait_ms = -1;
        if (deadline >= 0) {
            long long left = deadline - time_msec();
            wait_ms = left > 0 ? (int) left : 0;
        }
        int n = poll(&pfd, 1, wait_ms);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n == 0) {
            timed_out = true;
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            break;
        }
        char buf[4096];
        ssize_t r = read(fds[0], buf, sizeof buf);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            break;
        }
        if (out) {
            ds_put_buffer(out, buf, r);
        }
    }
    close(fds[0]);

    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            return -1;
        }
    }
    if (timed_out) {
        return 124;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

int
vslab_runf(struct ds *out, const char *fmt, ...)
{
    const char *argv[64];
    va_list args;
    int n = 0;

    va_start(args, fmt);
    char *line = xvasprintf(fmt, args);
    va_end(args);
    for (char *save = NULL, *tok = strtok_r(line, " ", &save);
         tok && n < 63; tok = strtok_r(NULL, " ", &save)) {
        argv[n++] = tok;
    }
    argv[n] = NULL;
    int rc = vslab_run(argv, 10000, out);
    free(line);
    return rc;
}

int
vslab_spawn(const char *const argv[])
{
    pid_t pid = fork();

    if (pid < 0) {
        return -1;
    }
    if (!pid) {
        child_exec(argv, -1);
    }
    return pid;
}

static int
node_argv(const struct vslab_lab *lab, int node, const char *const cmd[],
          const char **argv, size_t max)
{
    const struct vslab_node *n = &lab->nodes[node];
    const char *prefix[8];
    int k = n->kind ? n->kind->exec_prefix(n, prefix) : 0;
    size_t i = 0;

    for (int j = 0; j < k; j++) {
        argv[i++] = prefix[j];
    }
    for (size_t j = 0; cmd[j] && i < max - 1; j++) {
        argv[i++] = cmd[j];
    }
    argv[i] = NULL;
    return 0;
}

int
vslab_node_run(const struct vslab_lab *lab, int node,
               const char *const cmd[], int timeout_ms, struct ds *out)
{
    const char *argv[72];

    if (vslab_node_is_vm(&lab->nodes[node])) {
        return vslab_vm_run(lab, node, cmd, timeout_ms, out);
    }
    node_argv(lab, node, cmd, argv, ARRAY_SIZE(argv));
    return vslab_run(argv, timeout_ms, out);
}

int
vslab_node_spawn(const struct vslab_lab *lab, int node,
                 const char *const cmd[])
{
    const char *argv[72];

    if (vslab_node_is_vm(&lab->nodes[node])) {
        return vslab_vm_spawn(lab, node, cmd);
    }
    node_argv(lab, node, cmd, argv, ARRAY_SIZE(argv));
    return vslab_spawn(argv);
}

int
vslab_read_file(const char *path, struct ds *out)
{
    FILE *f = fopen(path, "r");
    char buf[4096];
    size_t r;

    if (!f) {
        return -errno;
    }
    while ((r = fread(buf, 1, sizeof buf, f)) > 0) {
        ds_put_buffer(out, buf, r);
    }
    fclose(f);
    return 0;
}

char *
vslab_find_beside_self(const char *const rel[], size_t n_rel)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);

    if (n <= 0) {
        return NULL;
    }
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (!slash) {
        return NULL;
    }
    *slash = '\0';
    for (size_t i = 0; i < n_rel; i++) {
        char *p = xasprintf("%s/%s", self, rel[i]);
        if (!access(p, X_OK)) {
            return p;
        }
        free(p);
    }
    return NULL;
}

bool
vslab_ns_exists(const char *ns)
{
    char *path = xasprintf("/run/netns/%s", ns);
    bool exists = !access(path, F_OK);

    free(path);
    return exists;
}

bool
vslab_dev_exists(const char *ns, const char *dev)
{
    if (!ns) {
        char *path = xasprintf("/sys/class/net/%s", dev);
        bool exists = !access(path, F_OK);
        free(path);
        return exists;
    }
    return !vslab_runf(NULL, "ip -n %s link show dev %s", ns, dev);
}

/* Runs a command that must succeed; prints its output on failure. */
static int
must(struct vslab_ctx *ctx, const char *fmt, ...) TS_PRINTF(2, 3);

static int
must(struct vslab_ctx *ctx, const char *fmt, ...)
{
    struct ds out = DS_EMPTY_INITIALIZER;
    va_list args;

    va_start(args, fmt);
    char *line = xvasprintf(fmt, args);
    va_end(args);
    if (ctx->verbose) {
        fprintf(stderr, "+ %s\n", line);
    }
    int rc = vslab_runf(&out, "%s", line);
    if (rc) {
        fprintf(stderr, "vslab: '%s' failed (status %d): %s", line, rc,
                out.length ? ds_cstr(&out) : "no output\n");
    }
    free(line);
    ds_destroy(&out);
    return rc ? -EIO : 0;
}

int
vslab_sys_create_nodes(struct vslab_ctx *ctx)
{
    struct vslab_lab *lab = ctx->lab;

    for (size_t i = 0; i < lab->n_nodes; i++) {
        struct vslab_node *n = &lab->nodes[i];
        if (n->type != VSLAB_HOST || vslab_node_is_vm(n)
            || vslab_ns_exists(n->ns)) {
            continue;           /* vms: vslab-vm.c */
        }
        if (must(ctx, "ip netns add %s", n->ns)
            || must(ctx, "ip -n %s link set lo up", n->ns)) {
            return -EIO;
        }
    }
    return 0;
}

/* A namespace end (a vm's end is its TAP, in the root namespace). */
static bool
is_host(const struct vslab_lab *lab, const struct vslab_end *e)
{
    return lab->nodes[e->node].type == VSLAB_HOST
           && !vslab_node_is_vm(&lab->nodes[e->node]);
}

/* A host end's interface is there (inside its namespace). */
static bool
host_end_done(const struct vslab_lab *lab, const struct vslab_end *e)
{
    return vslab_dev_exists(lab->nodes[e->node].ns, e->ifname);
}

static int
move_to_ns(struct vslab_ctx *ctx, const struct vslab_end *e)
{
    const struct vslab_node *n = &ctx->lab->nodes[e->node];

    return must(ctx, "ip link set dev %s netns %s name %s", e->dev, n->ns,
                e->ifname);
}

int
vslab_sys_create_links(struct vslab_ctx *ctx, bool after_ports)
{
    struct vslab_lab *lab = ctx->lab;

    for (size_t i = 0; i < lab->n_links; i++) {
        struct vslab_link *l = &lab->links[i];
        bool tap = !strcmp(l->type, "tap");

        if (vslab_vm_link(lab, l)) {
            continue;           /* QEMU's TAP is the link (vslab-vm.c) */
        }
        if (!after_ports && !tap) {
            /* A veth pair: root-side names, then host ends move. */
            bool done0 = is_host(lab, &l->e[0])
                         ? host_end_done(lab, &l->e[0])
                         : vslab_dev_exists(NULL, l->e[0].dev);
            bool done1 = is_host(lab, &l->e[1])
                         ? host_end_done(lab, &l->e[1])
                         : vslab_dev_exists(NULL, l->e[1].dev);
            if (!done0 && !done1
                && !vslab_dev_exists(NULL, l->e[0].dev)
                && !vslab_dev_exists(NULL, l->e[1].dev)) {
                if (must(ctx, "ip link add %s type veth peer name %s",
                         l->e[0].dev, l->e[1].dev)) {
                    return -EIO;
                }
            } else if (!done0 || !done1) {
                /* Half made: finish from what is there. */
                if ((!done0 && !vslab_dev_exists(NULL, l->e[0].dev))
                    || (!done1 && !vslab_dev_exists(NULL, l->e[1].dev))) {
                    fprintf(stderr, "vslab: link %s-%s is half made; run "
                            "'vslab down' first\n", l->e[0].dev,
                            l->e[1].dev);
                    return -EEXIST;
                }
            }
            for (int k = 0; k < 2; k++) {
                struct vslab_end *e = &l->e[k];
                bool done = is_host(lab, e) ? host_end_done(lab, e) : false;
                if (done) {
                    continue;
                }
                if (must(ctx, "ip link set dev %s alias vslab.%s", e->dev,
                         lab->name)
                    || (l->mtu && must(ctx, "ip link set dev %s mtu %d",
                                       e->dev, l->mtu))
                    || must(ctx, "ip link set dev %s up", e->dev)) {
                    return -EIO;
                }
                if (is_host(lab, e) && move_to_ns(ctx, e)) {
                    return -EIO;
                }
            }
        } else if (after_ports && tap) {
            /* The switch made the TAP (named e->dev); move it. */
            for (int k = 0; k < 2; k++) {
                struct vslab_end *e = &l->e[k];
                if (!is_host(lab, e) || host_end_done(lab, e)) {
                    continue;
                }
                for (int tries = 0; tries < 50
                     && !vslab_dev_exists(NULL, e->dev); tries++) {
                    usleep(20000);
                }
                if (must(ctx, "ip link set dev %s alias vslab.%s", e->dev,
                         lab->name)
                    || move_to_ns(ctx, e)) {
                    return -EIO;
                }
            }
        }
    }
    return 0;
}

static int
config_end(struct vslab_ctx *ctx, const struct vslab_link *l,
           const struct vslab_end *e)
{
    const struct vslab_node *n = &ctx->lab->nodes[e->node];

    if (must(ctx, "ip -n %s link set dev %s address %s", n->ns, e->ifname,
             e->mac)) {
        return -EIO;
    }
    if (l->mtu && must(ctx, "ip -n %s link set dev %s mtu %d", n->ns,
                       e->ifname, l->mtu)) {
        return -EIO;
    }
    for (size_t i = 0; i < e->n_ips; i++) {
        if (must(ctx, "ip -n %s addr replace %s dev %s", n->ns, e->ips[i],
                 e->ifname)) {
            return -EIO;
        }
    }
    if (must(ctx, "ip -n %s link set dev %s up", n->ns, e->ifname)) {
        return -EIO;
    }
    if (!strcmp(l->type, "afxdp")) {
        /* AF_XDP frames carry no checksum metadata (docs/ports.md). */
        vslab_runf(NULL, "ip netns exec %s ethtool -K %s tx off", n->ns,
                   e->ifname);
    }
    return 0;
}

int
vslab_sys_host_config(struct vslab_ctx *ctx)
{
    struct vslab_lab *lab = ctx->lab;

    for (size_t i = 0; i < lab->n_links; i++) {
        struct vslab_link *l = &lab->links[i];
        for (int k = 0; k < 2; k++) {
            if (is_host(lab, &l->e[k]) && config_end(ctx, l, &l->e[k])) {
                return -EIO;
            }
        }
    }
    for (size_t i = 0; i < lab->n_nodes; i++) {
        struct vslab_node *n = &lab->nodes[i];
        if (n->type != VSLAB_HOST || vslab_node_is_vm(n)) {
            continue;
        }
        for (size_t j = 0; j < n->n_sysctls; j++) {
            if (must(ctx, "ip netns exec %s sysctl -q -w %s", n->ns,
                     n->sysctls[j])) {
                return -EIO;
            }
        }
        if (n->gw && must(ctx, "ip -n %s route replace default via %s",
                          n->ns, n->gw)) {
            return -EIO;
        }
        if (n->gw6 && must(ctx, "ip -n %s -6 route replace default via %s",
                           n->ns, n->gw6)) {
            return -EIO;
        }
        for (size_t j = 0; j < n->n_routes; j++) {
            const struct vslab_route *r = &n->routes[j];
            struct ds cmd = DS_EMPTY_INITIALIZER;
            ds_put_format(&cmd, "ip -n %s route replace %s", n->ns, r->dst);
            if (r->via) {
                ds_put_format(&cmd, " via %s", r->via);
            }
            if (r->dev) {
                ds_put_format(&cmd, " dev %s", r->dev);
            }
            int rc = must(ctx, "%s", ds_cstr(&cmd));
            ds_destroy(&cmd);
            if (rc) {
                return -EIO;
            }
        }
        for (size_t j = 0; j < n->n_neighs; j++) {
            const struct vslab_neigh *nb = &n->neighs[j];
            const char *mac = nb->mac;
            for (size_t k = 0; !mac && k < lab->n_links; k++) {
                for (int m = 0; m < 2; m++) {
                    if (lab->links[k].e[m].node == nb->node) {
                        mac = lab->links[k].e[m].mac;
                        break;
                    }
                }
            }
            /* The neighbour goes on the interface of the first link. */
            const char *dev = "eth0";
            for (size_t k = 0; k < lab->n_links; k++) {
                for (int m = 0; m < 2; m++) {
                    if (lab->links[k].e[m].node == (int) i) {
                        dev = lab->links[k].e[m].ifname;
                        goto found;
                    }
                }
            }
        found:
            if (mac && must(ctx, "ip -n %s neigh replace %s lladdr %s dev %s "
                            "nud permanent", n->ns, nb->ip, mac, dev)) {
                return -EIO;
            }
        }
    }
    return 0;
}

int
vslab_sys_link_state(struct vslab_ctx *ctx, int i, bool up)
{
    struct vslab_lab *lab = ctx->lab;
    struct vslab_link *l = &lab->links[i];

    for (int k = 0; k < 2; k++) {
        struct vslab_end *e = &l->e[k];
        int rc = is_host(lab, e)
                 ? must(ctx, "ip -n %s link set dev %s %s",
                        lab->nodes[e->node].ns, e->ifname,
                        up ? "up" : "down")
                 : must(ctx, "ip link set dev %s %s", e->dev,
                        up ? "up" : "down");
        if (rc) {
            return rc;
        }
    }
    return 0;
}

/* Calls 'cb' for every namespace of lab 'name'. */
static int
for_each_ns(const char *name, void (*cb)(const char *ns, void *), void *aux)
{
    struct ds out = DS_EMPTY_INITIALIZER;
    char *prefix = xasprintf("vslab.%s.", name);
    int n = 0;

    vslab_runf(&out, "ip netns list");
    for (char *save = NULL, *line = strtok_r(
             (char *) ds_cstr(&out), "\n", &save);
         line; line = strtok_r(NULL, "\n", &save)) {
        line[strcspn(line, " ")] = '\0';
        if (!strncmp(line, prefix, strlen(prefix))) {
            if (cb) {
                cb(line, aux);
            }
            n++;
        }
    }
    free(prefix);
    ds_destroy(&out);
    return n;
}

/* Calls 'cb' for every root-namespace interface tagged 'tag' whose alias
 * is the lab's or missing (a crash between creation and alias). */
static int
for_each_dev(const char *name, const char *tag,
             void (*cb)(const char *dev, void *), void *aux)
{
    struct ds out = DS_EMPTY_INITIALIZER;
    char *prefix = xasprintf("%s-", tag);
    char *alias = xasprintf("vslab.%s", name);
    int n = 0;

    vslab_runf(&out, "ip -o link show");
    for (char *save = NULL, *line = strtok_r(
             (char *) ds_cstr(&out), "\n", &save);
         line; line = strtok_r(NULL, "\n", &save)) {
        /* "12: NAME@PEER: <...> ... alias ALIAS" */
        char *p = strchr(line, ':');
        if (!p) {
            continue;
        }
        p += 2;
        size_t len = strcspn(p, "@:");
        char dev[32];
        if (len >= sizeof dev) {
            continue;
        }
        memcpy(dev, p, len);
        dev[len] = '\0';
        if (strncmp(dev, prefix, strlen(prefix))) {
            continue;
        }
        const char *a = strstr(p, " alias ");
        if (a && strncmp(a + 7, alias, strlen(alias))) {
            continue;
        }
        if (cb) {
            cb(dev, aux);
        }
        n++;
    }
    free(prefix);
    free(alias);
    ds_destroy(&out);
    return n;
}

static void
del_ns(const char *ns, void *verbose_)
{
    bool verbose = *(bool *) verbose_;
    struct ds out = DS_EMPTY_INITIALIZER;

    vslab_runf(&out, "ip netns pids %s", ns);
    for (char *save = NULL, *tok = strtok_r(
             (char *) ds_cstr(&out), "\n", &save);
         tok; tok = strtok_r(NULL, "\n", &save)) {
        int pid = atoi(tok);
        if (pid > 1) {
            kill(pid, SIGKILL);
        }
    }
    ds_destroy(&out);
    if (verbose) {
        printf("  removed namespace %s\n", ns);
    }
    vslab_runf(NULL, "ip netns del %s", ns);
}

static void
del_dev(const char *dev, void *verbose_)
{
    bool verbose = *(bool *) verbose_;

    if (verbose) {
        printf("  removed interface %s\n", dev);
    }
    vslab_runf(NULL, "ip link del dev %s", dev);
}

int
vslab_sys_cleanup(const char *name, const char *tag, bool verbose)
{
    int n = for_each_ns(name, del_ns, &verbose);
    /* Deleting a namespace deletes its ends of veth pairs, and with them
     * their peers, asynchronously; what remains is removed by name. */
    n += for_each_dev(name, tag, del_dev, &verbose);
    return n;
}

int
vslab_sys_count(const char *name, const char *tag)
{
    return for_each_ns(name, NULL, NULL) + for_each_dev(name, tag, NULL,
                                                         NULL);
}
