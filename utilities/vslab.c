/* vslab: lab topologies in Lua (docs/vslab.md).
 *
 *   vslab up FILE.lua        build the lab (idempotent)
 *   vslab down FILE.lua      remove everything the lab made
 *   vslab test FILE.lua      up, the script's tests, down; exit 1 on failure
 *   vslab exec NODE -- CMD   run a command in a node
 *   vslab status             labs that are up
 *   vslab graph FILE.lua     the topology as mermaid or dot
 *
 * Exit status: 0 success, 1 a failed test or operation, 2 usage or script
 * error (nothing was created). */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json.h"
#include "ts-config.h"
#include "vslab.h"

#define VSLAB_DEFAULT_BUDGET 100000000ull

void
vslab_log(const struct vslab_ctx *ctx, const char *fmt, ...)
{
    va_list args;

    va_start(args, fmt);
    printf("vslab: ");
    vprintf(fmt, args);
    printf("\n");
    fflush(stdout);
    va_end(args);
}

static void
usage(int status)
{
    FILE *f = status ? stderr : stdout;

    fprintf(f,
"usage: vslab [OPTIONS] COMMAND ...\n"
"  up FILE.lua             build the lab (running it twice changes nothing)\n"
"  down FILE.lua           remove everything the lab made\n"
"  test FILE.lua           up, run the script's tests, down\n"
"  exec NODE -- CMD...     run CMD in NODE (--name LAB if ambiguous)\n"
"  status                  the labs that are up\n"
"  graph FILE.lua          print the topology (--format mermaid|dot)\n"
"options:\n"
"  --server=TARGET         vswitchd to use (default unix:%s;\n"
"                          if none answers, a private one is started)\n"
"  --private               always use a private vswitchd\n"
"  --name=LAB              lab name (default: the file name)\n"
"  --format=FMT            json (status), mermaid or dot (graph)\n"
"  --budget=N              Lua instructions per chunk or test (default "
"%llu)\n"
"  --keep                  test: leave the lab up afterwards\n"
"  -v, --verbose           show every command run\n"
"  -h, --help\n", TS_DEFAULT_CTL, VSLAB_DEFAULT_BUDGET);
    exit(status);
}

/* ---- State file ------------------------------------------------------- */

static void
write_state(const struct vslab_ctx *ctx, const char *phase)
{
    const struct vslab_lab *lab = ctx->lab;
    char *path = xasprintf("%s/state", ctx->rundir);
    char *tmp = xasprintf("%s.tmp", path);
    size_t hosts = 0;
    char cwd[4096];

    mkdir(VSLAB_RUN_DIR, 0755);
    mkdir(ctx->rundir, 0755);
    for (size_t i = 0; i < lab->n_nodes; i++) {
        hosts += lab->nodes[i].type == VSLAB_HOST;
    }
    FILE *f = fopen(tmp, "w");
    if (f) {
        fprintf(f, "lab %s\ntag %s\nphase %s\n", lab->name, lab->tag, phase);
        if (lab->file) {
            fprintf(f, "file %s%s%s\n", lab->file[0] == '/' ? ""
                    : getcwd(cwd, sizeof cwd) ? cwd : ".",
                    lab->file[0] == '/' ? "" : "/", lab->file);
        }
        fprintf(f, "server %s\nprivate %d\n", ctx->target ? ctx->target : "",
                ctx->is_private);
        fprintf(f, "hosts %zu\nswitches %zu\nlinks %zu\n", hosts,
                lab->n_nodes - hosts, lab->n_links);
        for (size_t i = 0; i < lab->n_nodes; i++) {
            const struct vslab_node *n = &lab->nodes[i];
            fprintf(f, "node %s %s %s\n", n->name,
                    n->type == VSLAB_HOST ? n->kind->name : "switch",
                    n->type == VSLAB_HOST ? n->ns : n->brname);
        }
        fclose(f);
        rename(tmp, path);
    }
    free(tmp);
    free(path);
}

/* ---- Commands --------------------------------------------------------- */

/* Loads and validates the script (phase one).  Exits 2 on error. */
static void
load_lab(struct vslab_ctx *ctx, const char *file, const char *name)
{
    char *err = NULL;
    char *lab_name = name ? xstrdup(name) : vslab_lab_name_from_file(file);

    if (!vslab_name_is_valid(lab_name)) {
        fprintf(stderr, "vslab: bad lab name '%s'\n", lab_name);
        exit(2);
    }
    ctx->lab = xzalloc(sizeof *ctx->lab);
    vslab_lab_init(ctx->lab, lab_name, file);
    ctx->rundir = xasprintf("%s/%s", VSLAB_RUN_DIR, lab_name);
    free(lab_name);
    if (vslab_lua_load(ctx, file, &err)
        || vslab_lab_validate(ctx->lab, &err)) {
        fprintf(stderr, "vslab: %s\n", err);
        free(err);
        exit(2);
    }
}

static void
release(struct vslab_ctx *ctx)
{
    vslab_ctl_close(ctx);
    vslab_lua_close(ctx);
    vslab_lab_release(ctx->lab);
    free(ctx->lab);
    free(ctx->rundir);
    free(ctx->target);
}

static int
do_up(struct vslab_ctx *ctx)
{
    struct vslab_lab *lab = ctx->lab;
    long long start = time_msec();
    size_t hosts = 0;
    int err;

    for (size_t i = 0; i < lab->n_nodes; i++) {
        hosts += lab->nodes[i].type == VSLAB_HOST;
    }
    vslab_log(ctx, "up '%s': %zu hosts, %zu switches, %zu links",
              lab->name, hosts, lab->n_nodes - hosts, lab->n_links);
    err = vslab_vm_check(lab);          /* QEMU and ts-vm, if vms */
    if (!err) {
        err = vslab_ctl_connect(ctx, true);
    }
    if (err) {
        return err;
    }
    write_state(ctx, "building");
    err = vslab_vm_start(ctx);          /* vms boot meanwhile */
    if (!err) {
        err = vslab_sys_create_nodes(ctx);
    }
    if (!err) {
        err = vslab_sys_create_links(ctx, false);
    }
    if (!err) {
        err = vslab_vm_wait(ctx);       /* their TAPs are switch ports */
    }
    if (!err) {
        err = vslab_ctl_create_switches(ctx);
    }
    if (!err) {
        err = vslab_ctl_add_ports(ctx);
    }
    if (!err) {
        err = vslab_sys_create_links(ctx, true);
    }
    if (!err) {
        err = vslab_sys_host_config(ctx);
    }
    if (!err) {
        err = vslab_ctl_install_flows(ctx);
    }
    if (err) {
        fprintf(stderr, "vslab: up '%s' failed; 'vslab down' removes what "
                "was made\n", lab->name);
        return err;
    }
    write_state(ctx, "up");
    vslab_log(ctx, "lab '%s' is up on %s%s (%.2f s)", lab->name, ctx->target,
              ctx->is_private ? " (private)" : "",
              (time_msec() - start) / 1000.0);
    return 0;
}

/* Removes everything tagged for lab 'name'.  Works without the script and
 * without the state file. */
static int
do_down(struct vslab_ctx *ctx, const char *name)
{
    struct vslab_lab tmp;
    long long start = time_msec();
    int n = 0;

    vslab_lab_init(&tmp, name, NULL);
    if (!ctx->rundir) {
        ctx->rundir = xasprintf("%s/%s", VSLAB_RUN_DIR, name);
    }
    vslab_log(ctx, "down '%s'", name);
    if (!vslab_ctl_connect(ctx, false)) {
        int k = vslab_ctl_delete_bridges(ctx, tmp.tag);
        n += k > 0 ? k : 0;
        vslab_ctl_close(ctx);
    }
    n += vslab_vm_cleanup(name, true);  /* QEMU takes its TAP along */
    n += vslab_sys_cleanup(name, tmp.tag, true);
    n += vslab_ctl_stop_private(ctx->rundir, true);
    /* Deleting namespaces removes veth peers asynchronously. */
    for (int i = 0; i < 20 && vslab_sys_count(name, tmp.tag); i++) {
        usleep(50000);
        n += vslab_sys_cleanup(name, tmp.tag, false);
    }
    const char *files[] = { "state", "state.tmp", "vswitchd.pid",
                            "vswitchd.ctl", "vswitchd.log", "conf.db" };
    for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
        char *p = xasprintf("%s/%s", ctx->rundir, files[i]);
        unlink(p);
        free(p);
    }
    /* The store may keep more files: remove the directory's contents. */
    DIR *d = opendir(ctx->rundir);
    if (d) {
        struct dirent *de;
        while ((de = readdir(d))) {
            if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
                char *p = xasprintf("%s/%s", ctx->rundir, de->d_name);
                unlink(p);
                free(p);
            }
        }
        closedir(d);
    }
    rmdir(ctx->rundir);
    int left = vslab_sys_count(name, tmp.tag) + vslab_vm_count(name);
    if (n) {
        vslab_log(ctx, "lab '%s' is down: %d objects removed (%.2f s)", name,
                  n, (time_msec() - start) / 1000.0);
    } else {
        vslab_log(ctx, "lab '%s': nothing to remove", name);
    }
    vslab_lab_release(&tmp);
    if (left) {
        fprintf(stderr, "vslab: %d objects of lab '%s' remain\n", left, name);
        return -EBUSY;
    }
    return 0;
}

static int
cmd_exec(struct vslab_ctx *ctx, const char *lab, int argc, char *argv[])
{
    const char *node = argv[0];
    char *ns = NULL;

    if (argc < 2) {
        usage(2);
    }
    argv++;
    argc--;
    if (!strcmp(argv[0], "--")) {
        argv++;
        argc--;
    }
    if (!argc) {
        usage(2);
    }
    if (lab) {
        ns = xasprintf("vslab.%s.%s", lab, node);
    } else {
        DIR *d = opendir("/run/netns");
        struct dirent *de;
        int found = 0;
        size_t len = strlen(node);
        while (d && (de = readdir(d))) {
            size_t dl = strlen(de->d_name);
            if (!strncmp(de->d_name, "vslab.", 6) && dl > len + 7
                && de->d_name[dl - len - 1] == '.'
                && !strcmp(de->d_name + dl - len, node)) {
                free(ns);
                ns = xstrdup(de->d_name);
                found++;
            }
        }
        if (d) {
            closedir(d);
        }
        if (found > 1) {
            fprintf(stderr, "vslab: node '%s' is in several labs; use "
                    "--name=LAB\n", node);
            return 1;
        }
    }
    if ((!ns || !vslab_ns_exists(ns))
        && vslab_vm_exec_cli(lab, node, argc, argv) != -ENOENT) {
        return 1;               /* a vm's exec failed (else it execs) */
    }
    if (!ns || !vslab_ns_exists(ns)) {
        fprintf(stderr, "vslab: no running node '%s'\n", node);
        return 1;
    }
    char **args = xcalloc(argc + 5, sizeof *args);
    args[0] = "ip";
    args[1] = "netns";
    args[2] = "exec";
    args[3] = ns;
    memcpy(&args[4], argv, argc * sizeof *argv);
    execvp("ip", args);
    fprintf(stderr, "vslab: cannot run ip: %s\n", strerror(errno));
    return 1;
}

static char *
state_get(const char *state, const char *key)
{
    size_t len = strlen(key);

    for (const char *p = state; *p; ) {
        size_t l = strcspn(p, "\n");
        if (l > len && !strncmp(p, key, len) && p[len] == ' ') {
            return xstrndup(p + len + 1, l - len - 1);
        }
        p += l + (p[l] == '\n');
    }
    return xstrdup("");
}

static int
cmd_status(struct vslab_ctx *ctx)
{
    DIR *d = opendir(VSLAB_RUN_DIR);
    struct dirent *de;
    int n = 0;

    if (ctx->json) {
        printf("[");
    }
    while (d && (de = readdir(d))) {
        if (de->d_name[0] == '.') {
            continue;
        }
        char *dir = xasprintf("%s/%s", VSLAB_RUN_DIR, de->d_name);
        char *path = xasprintf("%s/state", dir);
        struct ds state = DS_EMPTY_INITIALIZER;
        vslab_read_file(path, &state);
        struct vslab_lab tmp;
        vslab_lab_init(&tmp, de->d_name, NULL);
        const char *s = ds_cstr(&state);
        char *phase = state_get(s, "phase"), *file = state_get(s, "file");
        char *server = state_get(s, "server");
        char *hosts = state_get(s, "hosts"), *sws = state_get(s, "switches");
        char *links = state_get(s, "links");
        bool priv = vslab_ctl_private_running(dir);
        int objs = vslab_sys_count(de->d_name, tmp.tag);
        if (ctx->json) {
            /* Names, paths and the server come from the file system and
             * the state file: escaped by the writer. */
            struct ds js = DS_EMPTY_INITIALIZER;
            struct json_writer w;

            json_writer_init(&w, &js, false);
            json_begin_object(&w);
            json_kv_string(&w, "lab", de->d_name);
            json_kv_string(&w, "phase", *phase ? phase : "unknown");
            json_kv_string(&w, "file", file);
            json_kv_string(&w, "server", server);
            json_kv_bool(&w, "private_running", priv);
            json_kv_int(&w, "hosts", atoi(hosts));
            json_kv_int(&w, "switches", atoi(sws));
            json_kv_int(&w, "links", atoi(links));
            json_kv_int(&w, "objects", objs);
            vslab_vm_status(de->d_name, &w, NULL);      /* "vms": [...] */
            json_end_object(&w);
            printf("%s\n  %s", n ? "," : "", ds_cstr(&js));
            ds_destroy(&js);
        } else {
            printf("%-16s %-8s %s hosts, %s switches, %s links; %d "
                   "namespaces/interfaces; vswitchd %s%s\n  %s\n",
                   de->d_name, *phase ? phase : "unknown",
                   *hosts ? hosts : "?", *sws ? sws : "?",
                   *links ? links : "?", objs, server,
                   priv ? " (private, running)" : "", file);
            struct ds vms = DS_EMPTY_INITIALIZER;
            vslab_vm_status(de->d_name, NULL, &vms);   /* "  vm ..." */
            fputs(ds_cstr(&vms), stdout);
            ds_destroy(&vms);
        }
        n++;
        free(phase);
        free(file);
        free(server);
        free(hosts);
        free(sws);
        free(links);
        vslab_lab_release(&tmp);
        ds_destroy(&state);
        free(path);
        free(dir);
    }
    if (d) {
        closedir(d);
    }
    if (ctx->json) {
        printf("%s]\n", n ? "\n" : "");
    } else if (!n) {
        printf("no lab is up\n");
    }
    return 0;
}

int
main(int argc, char *argv[])
{
    enum { OPT_SERVER = 256, OPT_PRIVATE, OPT_NAME, OPT_FORMAT, OPT_BUDGET,
           OPT_KEEP };
    static const struct option longopts[] = {
        { "server", required_argument, NULL, OPT_SERVER },
        { "private", no_argument, NULL, OPT_PRIVATE },
        { "name", required_argument, NULL, OPT_NAME },
        { "format", required_argument, NULL, OPT_FORMAT },
        { "budget", required_argument, NULL, OPT_BUDGET },
        { "keep", no_argument, NULL, OPT_KEEP },
        { "verbose", no_argument, NULL, 'v' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct vslab_ctx ctx = { .budget = VSLAB_DEFAULT_BUDGET };
    const char *name = NULL, *format = NULL;
    bool keep = false;
    int c;

    ts_set_program_name(argv[0]);
    setvbuf(stdout, NULL, _IOLBF, 0);
    while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_SERVER:
            ctx.server = optarg;
            break;
        case OPT_PRIVATE:
            ctx.private_only = true;
            break;
        case OPT_NAME:
            name = optarg;
            break;
        case OPT_FORMAT:
            format = optarg;
            break;
        case OPT_BUDGET: {
            uint64_t v;
            if (!str_to_u64(optarg, UINT64_MAX / 2, &v) || v < 1000) {
                fprintf(stderr, "vslab: --budget: '%s' is not a number of "
                        "at least 1000\n", optarg);
                return 2;
            }
            ctx.budget = v;
            break;
        }
        case OPT_KEEP:
            keep = true;
            break;
        case 'v':
            ctx.verbose = true;
            break;
        case 'h':
            usage(0);
            break;
        default:
            usage(2);
        }
    }
    argc -= optind;
    argv += optind;
    if (!argc) {
        usage(2);
    }
    const char *cmd = argv[0];
    ctx.json = format && !strcmp(format, "json");

    if (!strcmp(cmd, "status")) {
        return cmd_status(&ctx);
    }
    if (!strcmp(cmd, "exec")) {
        return argc < 3 ? (usage(2), 2) : cmd_exec(&ctx, name, argc - 1,
                                                     argv + 1);
    }
    if (argc != 2) {
        usage(2);
    }
    const char *file = argv[1];
    if (geteuid() && strcmp(cmd, "graph")) {
        fprintf(stderr, "vslab: %s needs root (network namespaces)\n", cmd);
        return 1;
    }
    int rc = 0;
    if (!strcmp(cmd, "graph")) {
        struct ds out = DS_EMPTY_INITIALIZER;
        load_lab(&ctx, file, name);
        if (vslab_lab_graph(ctx.lab, format ? format : "mermaid", &out)) {
            fprintf(stderr, "vslab: unknown graph format '%s' (mermaid, "
                    "dot)\n", format);
            rc = 2;
        }
        fputs(ds_cstr(&out), stdout);
        ds_destroy(&out);
    } else if (!strcmp(cmd, "up")) {
        load_lab(&ctx, file, name);
        rc = do_up(&ctx) ? 1 : 0;
    } else if (!strcmp(cmd, "down")) {
        char *lab_name = name ? xstrdup(name)
                         : vslab_lab_name_from_file(file);
        if (!vslab_name_is_valid(lab_name)) {
            fprintf(stderr, "vslab: bad lab name '%s'\n", lab_name);
            return 2;
        }
        rc = do_down(&ctx, lab_name) ? 1 : 0;
        free(lab_name);
    } else if (!strcmp(cmd, "test")) {
        load_lab(&ctx, file, name);
        if (do_up(&ctx)) {
            rc = 1;
        } else if (ctx.lab->n_tests) {
            vslab_log(&ctx, "running %zu tests", ctx.lab->n_tests);
            int failed = vslab_lua_run_tests(&ctx);
            vslab_log(&ctx, "%zu passed, %d failed",
                      ctx.lab->n_tests - failed, failed);
            rc = failed ? 1 : 0;
        }
        if (!keep) {
            vslab_ctl_close(&ctx);
            char *lab_name = xstrdup(ctx.lab->name);
            if (do_down(&ctx, lab_name)) {
                rc = 1;
            }
            free(lab_name);
        }
    } else {
        fprintf(stderr, "vslab: unknown command '%s'\n", cmd);
        rc = 2;
    }
    release(&ctx);
    return rc;
}
