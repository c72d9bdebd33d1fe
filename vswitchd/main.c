/* vswitchd: the Trackswitch daemon.  Parses options, optionally detaches,
 * opens the durable store, rebuilds the bridges, listens for control
 * connections and runs the libev loop until SIGTERM or SIGINT.
 *
 * --detach: the parent exits only once the child is ready (store loaded,
 * bridges rebuilt, socket listening): 0 then, or the child's exit status
 * if start-up failed (the child prints its error on the inherited stderr
 * first).  Readiness travels as one byte over a pipe. */
#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bridge.h"
#include "ctl-server.h"
#include "db.h"
#include "dpif.h"
#include "errors.h"
#include "log.h"
#include "stream.h"
#include "ts-config.h"
#include "util.h"

TS_LOG_DEFINE(vswitchd);

#define DEFAULT_PIDFILE "/run/trackswitch/vswitchd.pid"
#define DEFAULT_LOGFILE "/var/log/trackswitch/vswitchd.log"

struct options {
    const char *db;
    char *ctl;                  /* "unix:PATH" */
    const char *pidfile;        /* NULL: none */
    const char *logfile;        /* NULL: stderr */
    const char *internal_type;  /* NULL: "internal" */
    bool detach;
    int threads;
    const char *ct_snapshot;    /* NULL: the store's path + ".ct" */
    int ct_snapshot_interval;   /* seconds; 0: no periodic snapshots */
    int probe_interval;         /* seconds; 0: no inactivity probes */
    bool syslog;                /* --syslog */
    const char **listen;        /* --listen targets */
    size_t n_listen;
    const char *private_key, *certificate, *ca_cert;
};

static void
usage(void)
{
    printf("%s: Trackswitch virtual switch daemon\n"
           "usage: %s [OPTIONS]\n"
           "\n"
           "Options:\n"
           "  --db=FILE             configuration store (default %s)\n"
           "  --ctl=unix:PATH       control socket (default unix:%s)\n"
           "  --listen=ssl:[ADDR:]PORT\n"
           "                        also accept TLS control connections "
           "(repeatable;\n"
           "                        needs the three options below); "
           "--listen=tcp:[ADDR:]PORT\n"
           "                        accepts plain TCP (unauthenticated, "
           "warned about)\n"
           "  --private-key=FILE    TLS: this daemon's private key (PEM)\n"
           "  --certificate=FILE    TLS: this daemon's certificate (PEM)\n"
           "  --ca-cert=FILE        TLS: the CA that signs clients' "
           "certificates\n"
           "  --pidfile[=FILE]      write a pid file (default %s)\n"
           "  --log-file[=FILE]     log to FILE (default %s)\n"
           "  --detach              run in the background once ready\n"
           "  --syslog              also log to syslog (daemon facility; "
           "the default\n"
           "                        once detached without --log-file)\n"
           "  -v, --verbose=MODULE:LEVEL\n"
           "                        set a log level (repeatable; levels: "
           "off, err,\n"
           "                        warn, info, dbg; MODULE may be ALL)\n"
           "  --threads=N           datapath worker threads (default 1)\n"
           "  --ct-snapshot=FILE    conntrack snapshot, restored at start, "
           "saved on\n"
           "                        exit and restart (default: the store's "
           "path + .ct)\n"
           "  --ct-snapshot-interval=SECS\n"
           "                        also save it every SECS seconds, for "
           "kill -9\n"
           "                        (default 5; 0: only on exit)\n"
           "  --probe-interval=SECS probe a control client silent this "
           "long with an\n"
           "                        echo, drop it after twice as long "
           "(default 5;\n"
           "                        0: never)\n"
           "  --internal-port-type=TYPE\n"
           "                        type of each bridge's own port "
           "(default internal)\n"
           "  -h, --help            show this help and exit\n"
           "  -V, --version         show the version and exit\n",
           ts_program_name(), ts_program_name(), TS_DEFAULT_DB,
           TS_DEFAULT_CTL, DEFAULT_PIDFILE, DEFAULT_LOGFILE);
}

static char *
ctl_target(const char *arg)
{
    if (!strncmp(arg, "unix:", 5) || !strncmp(arg, "punix:", 6)) {
        return xstrdup(arg);
    }
    if (arg[0] == '/' || arg[0] == '.') {
        return xasprintf("unix:%s", arg);
    }
    ts_fatal(0, "unsupported control target '%s' (use unix:PATH)", arg);
}

/* Checks a --listen target; the unix socket is --ctl's. */
static void
check_listen_target(const char *arg)
{
    struct stream_target t;
    char *err;

    if (stream_target_parse(arg, true, &t, &err)) {
        ts_fatal(0, "--listen: %s", err);
    }
    if (t.kind == STREAM_KIND_UNIX) {
        ts_fatal(0, "--listen: '%s' is a unix socket (use --ctl)", arg);
    }
}

static void
parse_options(int argc, char *argv[], struct options *o)
{
    enum {
        OPT_DB = 256, OPT_CTL, OPT_PIDFILE, OPT_LOGFILE, OPT_DETACH,
        OPT_THREADS, OPT_INTERNAL_TYPE, OPT_CT_SNAPSHOT,
        OPT_CT_SNAPSHOT_INTERVAL, OPT_PROBE_INTERVAL, OPT_SYSLOG, OPT_LISTEN,
        OPT_PRIVATE_KEY,
        OPT_CERTIFICATE, OPT_CA_CERT,
    };
    static const struct option long_options[] = {
        { "db", required_argument, NULL, OPT_DB },
        { "ctl", required_argument, NULL, OPT_CTL },
        { "pidfile", optional_argument, NULL, OPT_PIDFILE },
        { "log-file", optional_argument, NULL, OPT_LOGFILE },
        { "detach", no_argument, NULL, OPT_DETACH },
        { "verbose", required_argument, NULL, 'v' },
        { "threads", required_argument, NULL, OPT_THREADS },
        { "ct-snapshot", required_argument, NULL, OPT_CT_SNAPSHOT },
        { "ct-snapshot-interval", required_argument, NULL,
          OPT_CT_SNAPSHOT_INTERVAL },
        { "probe-interval", required_argument, NULL, OPT_PROBE_INTERVAL },
        { "syslog", no_argument, NULL, OPT_SYSLOG },
        { "internal-port-type", required_argument, NULL,
          OPT_INTERNAL_TYPE },
        { "listen", required_argument, NULL, OPT_LISTEN },
        { "private-key", required_argument, NULL, OPT_PRIVATE_KEY },
        { "certificate", required_argument, NULL, OPT_CERTIFICATE },
        { "ca-cert", required_argument, NULL, OPT_CA_CERT },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    uint64_t n;

    o->db = TS_DEFAULT_DB;
    o->ct_snapshot_interval = 5;
    o->probe_interval = 5;
    o->ctl = xasprintf("unix:%s", TS_DEFAULT_CTL);
    for (;;) {
        int c = getopt_long(argc, argv, "v:hV", long_options, NULL);
        if (c == -1) {
            break;
        }
        switch (c) {
        case OPT_DB:
            o->db = optarg;
            break;
        case OPT_CTL:
            free(o->ctl);
            o->ctl = ctl_target(optarg);
            break;
        case OPT_PIDFILE:
            o->pidfile = optarg ? optarg : DEFAULT_PIDFILE;
            break;
        case OPT_LOGFILE:
            o->logfile = optarg ? optarg : DEFAULT_LOGFILE;
            break;
        case OPT_DETACH:
            o->detach = true;
            break;
        case OPT_SYSLOG:
            o->syslog = true;
            break;
        case 'v':
            if (log_set_level_str(optarg)) {
                ts_fatal(0, "invalid log level '%s' (use MODULE:LEVEL)",
                         optarg);
            }
            break;
        case OPT_THREADS:
            if (!str_to_u64(optarg, 64, &n) || !n) {
                ts_fatal(0, "--threads: '%s' is not a number from 1 to 64",
                         optarg);
            }
            o->threads = n;
            break;
        case OPT_INTERNAL_TYPE:
            o->internal_type = optarg;
            break;
        case OPT_CT_SNAPSHOT:
            o->ct_snapshot = optarg;
            break;
        case OPT_PROBE_INTERVAL:
            if (!str_to_u64(optarg, 3600, &n)) {
                ts_fatal(0, "--probe-interval: '%s' is not a number of "
                         "seconds from 0 to 3600", optarg);
            }
            o->probe_interval = n;
            break;
        case OPT_CT_SNAPSHOT_INTERVAL:
            if (!str_to_u64(optarg, 86400, &n)) {
                ts_fatal(0, "--ct-snapshot-interval: '%s' is not a number "
                         "of seconds from 0 to 86400", optarg);
            }
            o->ct_snapshot_interval = n;
            break;
        case OPT_LISTEN:
            check_listen_target(optarg);
            o->listen = xrealloc(o->listen,
                                 (o->n_listen + 1) * sizeof *o->listen);
            o->listen[o->n_listen++] = optarg;
            break;
        case OPT_PRIVATE_KEY:
            o->private_key = optarg;
            break;
        case OPT_CERTIFICATE:
            o->certificate = optarg;
            break;
        case OPT_CA_CERT:
            o->ca_cert = optarg;
            break;
        case 'h':
            usage();
            exit(0);
        case 'V':
            printf("vswitchd (Trackswitch) %s\n", TS_VERSION);
            exit(0);
        default:
            fprintf(stderr, "Try '%s --help' for more information.\n",
                    ts_program_name());
            exit(1);
        }
    }
    if (optind < argc) {
        ts_fatal(0, "unexpected argument '%s'", argv[optind]);
    }
}

/* mkdir -p of the directory holding 'path'. */
static void
make_parent_dir(const char *path)
{
    char *copy = xstrdup(path);
    char *dir = dirname(copy);

    for (char *p = dir + 1; ; p++) {
        if (*p == '/' || !*p) {
            char save = *p;
            *p = '\0';
            if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
                ts_fatal(errno, "cannot create directory '%s'", dir);
            }
            *p = save;
            if (!save) {
                break;
            }
        }
    }
    free(copy);
}

static void
write_pidfile(const char *path)
{
    char *tmp = xasprintf("%s.tmp", path);
    FILE *f;

    make_parent_dir(path);
    f = fopen(tmp, "w");
    if (!f) {
        ts_fatal(errno, "cannot create pid file '%s'", tmp);
    }
    fprintf(f, "%ld\n", (long) getpid());
    if (fclose(f) || rename(tmp, path) < 0) {
        ts_fatal(errno, "cannot write pid file '%s'", path);
    }
    free(tmp);
}

/* Forks.  Returns in the child with the pipe's write end in '*ready_fd';
 * the parent never returns. */
static void
detach(int *ready_fd)
{
    int fds[2];
    pid_t pid;

    if (pipe(fds) < 0) {
        ts_fatal(errno, "pipe failed");
    }
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        ts_fatal(errno, "fork failed");
    }
    if (pid > 0) {
        char byte;
        ssize_t r;
        int status;

        close(fds[1]);
        do {
            r = read(fds[0], &byte, 1);
        } while (r < 0 && errno == EINTR);
        if (r == 1) {
            _exit(0);
        }
        /* The child died before it was ready; it said why on stderr. */
        if (waitpid(pid, &status, 0) == pid && WIFEXITED(status)) {
            _exit(WEXITSTATUS(status) ? WEXITSTATUS(status) : 1);
        }
        _exit(1);
    }
    close(fds[0]);
    setsid();
    *ready_fd = fds[1];
}

/* Tells the parent that start-up succeeded and cuts the terminal off. */
static void
detach_finish(int ready_fd, bool have_log_file)
{
    int null = open("/dev/null", O_RDWR);

    if (!have_log_file) {
        log_use_syslog(true);
    }
    log_use_stderr(false);
    if (null >= 0) {
        dup2(null, STDIN_FILENO);
        dup2(null, STDOUT_FILENO);
        dup2(null, STDERR_FILENO);
        if (null > STDERR_FILENO) {
            close(null);
        }
    }
    if (chdir("/") < 0) {
        TS_WARN("cannot chdir to /: %s", ts_strerror(-errno));
    }
    if (ready_fd < 0) {
        return;                 /* restarted in place: no parent waits */
    }
    if (write(ready_fd, "", 1) != 1) {
        TS_WARN("cannot notify the parent process");
    }
    close(ready_fd);
}

/* ---- Restart (vsctl restart) ------------------------------------------
 *
 * The daemon re-executes its own binary in place with its original
 * arguments, after it has torn everything down and saved the final
 * conntrack snapshot.  The binary is the path it was started from (read
 * at start), so a new binary renamed over it is picked up: that is the
 * upgrade path.  The process keeps its pid, so the pid file and a
 * supervisor stay right; a detached daemon does not fork again.  The
 * environment variable carries the original working directory, which
 * --detach left for "/", so relative paths in argv keep their meaning. */
#define RESTART_ENV "TRACKSWITCH_VSWITCHD_RESTART_CWD"

struct restart_info {
    char *exe;                  /* our binary's path, or NULL */
    char *cwd;                  /* working directory at the first start */
};

/* At start: returns true if this process is a restart, after going back
 * to the first start's working directory. */
static bool
restart_init(struct restart_info *ri)
{
    char buf[4096];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    const char *env = getenv(RESTART_ENV);
    bool restarted = env != NULL;

    ri->exe = n > 0 ? xstrndup(buf, n) : NULL;
    if (env) {
        if (chdir(env) < 0) {
            TS_WARN("cannot return to '%s' after restart: %s", env,
                    ts_strerror(-errno));
        }
        unsetenv(RESTART_ENV);
    }
    ri->cwd = getcwd(buf, sizeof buf) ? xstrdup(buf) : xstrdup("/");
    return restarted;
}

static void TS_NORETURN
restart_exec(const struct restart_info *ri, char *argv[])
{
    sigset_t none;

    setenv(RESTART_ENV, ri->cwd, 1);
    if (chdir(ri->cwd) < 0) {
        TS_WARN("cannot chdir to '%s': %s", ri->cwd, ts_strerror(-errno));
    }
    /* Nothing of this process leaks into the next one. */
    close_range(3, ~0u, CLOSE_RANGE_CLOEXEC);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    TS_INFO("restarting: executing %s", ri->exe ? ri->exe : "itself");
    if (ri->exe) {
        execv(ri->exe, argv);
        TS_WARN("cannot execute %s: %s; trying the running binary",
                ri->exe, ts_strerror(-errno));
    }
    execv("/proc/self/exe", argv);
    ts_fatal(errno, "restart failed: cannot execute the daemon");
}

static void
signal_exit_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
    TS_INFO("%s received: shutting down",
            w->signum == SIGTERM ? "SIGTERM" : "SIGINT");
    ev_break(loop, EVBREAK_ALL);
}

static void
signal_hup_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
    int err = log_reopen();
    if (err) {
        TS_WARN("cannot reopen the log file: %s", ts_strerror(err));
    } else {
        TS_INFO("log file reopened");
    }
}

int
main(int argc, char *argv[])
{
    struct options o = { 0 };
    struct bridge_set_config bcfg = { { 0 }, NULL };
    struct ctl_server_config scfg = { 0 };
    struct bridge_set *bridges;
    struct ctl_server *server;
    struct db *db;
    int ready_fd = -1;
    char *err = NULL;
    int r;

    ts_set_program_name(argv[0]);
    struct restart_info ri;
    bool restarted = restart_init(&ri);
    parse_options(argc, argv, &o);
    signal(SIGPIPE, SIG_IGN);

    if (o.syslog) {
        log_use_syslog(true);
    }
    if (o.logfile) {
        make_parent_dir(o.logfile);
        r = log_open_file(o.logfile);
        if (r) {
            ts_fatal(r, "cannot open log file '%s'", o.logfile);
        }
        log_set_stderr_level(LOG_WARN);
    }
    if (o.detach && !restarted) {
        detach(&ready_fd);
    }

    make_parent_dir(o.db);
    r = db_open(o.db, &db, &err);
    if (r) {
        ts_fatal(0, "%s", err);
    }
    /* The connection table comes back before any port exists, so that
     * no packet of a restored connection meets an empty table. */
    struct dpif_ct_snapshotter *snap = NULL;
    if (!o.ct_snapshot || strcmp(o.ct_snapshot, "none")) {
        char *path = o.ct_snapshot ? xstrdup(o.ct_snapshot)
                                   : xasprintf("%s.ct", o.db);
        snap = dpif_ct_snapshotter_create(dpif_ct_global(), path,
                                          o.ct_snapshot_interval * 1000u);
        free(path);
    }
    bcfg.dpif.n_workers = o.threads;
    bcfg.internal_port_type = o.internal_type;
    r = bridge_set_create(db, &bcfg, &bridges, &err);
    if (r) {
        ts_fatal(0, "%s", err);
    }

    struct ev_loop *loop = ev_default_loop(EVFLAG_AUTO);
    if (!loop) {
        ts_fatal(0, "cannot initialize the event loop");
    }
    const char *sock = strchr(o.ctl, ':') + 1;
    make_parent_dir(sock);
    scfg.target = o.ctl;
    scfg.mode = 0600;
    scfg.ct_snapshot = snap;
    scfg.probe_interval_ms = o.probe_interval ? o.probe_interval * 1000
                                              : -1;
    scfg.listen = o.listen;
    scfg.n_listen = o.n_listen;
    scfg.private_key = o.private_key;
    scfg.certificate = o.certificate;
    scfg.ca_cert = o.ca_cert;
    r = ctl_server_create(loop, bridges, db, &scfg, &server, &err);
    if (r) {
        ts_fatal(0, "%s%s", err, r == -EADDRINUSE
                 ? " (is another vswitchd running?)" : "");
    }
    if (o.pidfile) {
        write_pidfile(o.pidfile);
    }

    ev_signal sig_term, sig_int, sig_hup;
    ev_signal_init(&sig_term, signal_exit_cb, SIGTERM);
    ev_signal_init(&sig_int, signal_exit_cb, SIGINT);
    ev_signal_init(&sig_hup, signal_hup_cb, SIGHUP);
    ev_signal_start(loop, &sig_term);
    ev_signal_start(loop, &sig_int);
    ev_signal_start(loop, &sig_hup);

    TS_INFO("vswitchd %s started (pid %ld, store %s, control %s)",
            TS_VERSION, (long) getpid(), o.db, o.ctl);
    if (o.detach) {
        detach_finish(ready_fd, o.logfile != NULL);
    }

    ev_run(loop, 0);

    bool restart = ctl_server_restart_requested(server);
    ctl_server_destroy(server);
    bridge_set_destroy(bridges);
    /* Forwarding has stopped: this snapshot's TCP windows are exact. */
    if (snap) {
        dpif_ct_snapshotter_save(snap, true, NULL);
        dpif_ct_snapshotter_destroy(snap);
    }
    db_close(db);
    if (restart) {
        restart_exec(&ri, argv);
    }
    free(ri.exe);
    free(ri.cwd);
    if (o.pidfile) {
        unlink(o.pidfile);
    }
    TS_INFO("vswitchd exiting");
    ev_loop_destroy(loop);
    free(o.ctl);
    free(o.listen);
    return 0;
}
