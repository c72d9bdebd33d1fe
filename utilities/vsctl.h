/* vsctl: shared declarations of vsctl.c (commands, connection) and
 * vsctl-output.c (text and JSON output).  Private to utilities/vsctl*. */
#ifndef TS_VSCTL_H
#define TS_VSCTL_H 1

#include <stdbool.h>
#include <stdint.h>
#include "ctl-proto.h"
#include "util.h"

struct ofp_port_map;
struct stream;

struct vsctl_ctx {
    const char *server;         /* "unix:PATH" */
    bool json;                  /* --format=json */
    int timeout_ms;             /* 0: no limit */
    long long start_msec;
    bool strict, bundle, no_stats, names, may_exist, if_exists;
    bool may_create;            /* mod-group --may-create */
    bool more;                  /* -m, --more: dump-conntrack details */
    bool statistics;            /* -s, --statistics: dump-conntrack */
    /* TLS (--server=ssl:...; also for `pki`). */
    const char *private_key;    /* --private-key=FILE */
    const char *certificate;    /* --certificate=FILE */
    const char *ca_cert;        /* --ca-cert=FILE */
    /* capture. */
    uint64_t count;             /* --count=N, 0: no limit */
    double duration;            /* --duration=SECS, 0: no limit */
    const char *direction;      /* --direction=rx|tx|both, NULL: both */
    const char *filter;         /* --filter=EXPR (pcap syntax), or NULL */
    uint32_t buffer_kb;         /* --buffer-size=KB, 0: daemon default */
    uint32_t snaplen;           /* --snaplen=BYTES, 0: whole packets */
    struct stream *stream;      /* NULL until the first request */
    uint32_t next_xid;
};

/* Prints "vsctl: MESSAGE" to stderr and exits with 'status'. */
void vsctl_fatal(int status, const char *fmt, ...)
    TS_PRINTF(2, 3) TS_NORETURN;

/* Sends 'request' (its xid is assigned) and receives one reply of type
 * 'expected' into 'reply' (NULL: discard).  An ERROR reply, an I/O error
 * or an unexpected reply is fatal (exit 1). */
void vsctl_transact(struct vsctl_ctx *, struct ctl_msg *request,
                    int expected, struct ctl_msg *reply);
/* Same for a MULTIPART_REQUEST; collects every part into 'total'. */
void vsctl_transact_mp(struct vsctl_ctx *, struct ctl_msg *request,
                       struct ctl_msg *total);
/* Like vsctl_transact_mp(), but hands each part to 'cb' as it arrives
 * (then releases it): a big dump is printed while it arrives. */
void vsctl_transact_mp_each(struct vsctl_ctx *, struct ctl_msg *request,
                            void (*cb)(struct vsctl_ctx *,
                                       const struct ctl_msg *, void *aux),
                            void *aux);
/* Receives and decodes one message (for subscriptions); caller releases.
 * Errors are fatal.  The daemon's ECHO_REQUEST probes are answered here
 * and never returned. */
void vsctl_recv(struct vsctl_ctx *, struct ctl_msg *);
/* Answers the ECHO_REQUEST 'echo' (the daemon's inactivity probe), for a
 * command that reads the stream itself. */
void vsctl_answer_echo(struct vsctl_ctx *, struct ctl_msg *echo);

/* A command: name, argument counts (not counting the command itself),
 * handler, synopsis and help. */
struct vsctl_command {
    const char *name;
    int min_args, max_args;
    void (*run)(struct vsctl_ctx *, int argc, char *argv[]);
    const char *args;
    const char *help;
};

/* A group of commands, printed under its own heading by --help. */
struct vsctl_command_group {
    const char *title;
    const struct vsctl_command *commands;
    const size_t *n_commands;
};

/* vsctl-ct.c: the conntrack commands. */
extern const struct vsctl_command vsctl_ct_commands[];
extern const size_t vsctl_ct_n_commands;
/* vsctl-admin.c: restart and other daemon management. */
extern const struct vsctl_command vsctl_admin_commands[];
extern const size_t vsctl_admin_n_commands;
/* vsctl-capture.c: packet capture. */
extern const struct vsctl_command vsctl_capture_commands[];
extern const size_t vsctl_capture_n_commands;
/* vsctl-pki.c: the certificate authority for TLS control. */
extern const struct vsctl_command vsctl_pki_commands[];
extern const size_t vsctl_pki_n_commands;

/* Fills 'map' with the ports of 'bridge' (asks the daemon). */
void vsctl_port_map(struct vsctl_ctx *, const char *bridge,
                    struct ofp_port_map *map);

/* vsctl-output.c. */
void vsctl_print_show(const struct vsctl_ctx *, const struct ctl_mp_reply *);
void vsctl_print_list_br(const struct vsctl_ctx *,
                         const struct ctl_mp_reply *);
void vsctl_print_list_ports(const struct vsctl_ctx *,
                            const struct ctl_mp_reply *);
void vsctl_print_flows(const struct vsctl_ctx *, const struct ctl_mp_reply *,
                       const struct ofp_port_map *);
void vsctl_print_port_stats(const struct vsctl_ctx *,
                            const struct ctl_mp_reply *, uint32_t xid,
                            const struct ofp_port_map *);
void vsctl_print_dp_flows(const struct vsctl_ctx *,
                          const struct ctl_mp_reply *);
void vsctl_print_trace(const struct vsctl_ctx *, const struct ctl_mp_reply *);
/* "NXST_AGGREGATE reply (xid=0x4): packet_count=N byte_count=N
 * flow_count=N", as ovs-ofctl dump-aggregate. */
void vsctl_print_aggregate(const struct vsctl_ctx *,
                           const struct ctl_aggregate *, uint32_t xid);
/* dump-groups ('stats' false) or dump-group-stats, as ovs-ofctl with
 * OpenFlow 1.5: a header line, then one line per group. */
void vsctl_print_groups(const struct vsctl_ctx *, const struct ctl_mp_reply *,
                        uint32_t xid, bool stats,
                        const struct ofp_port_map *);
/* One packet-in as ovs-ofctl monitor prints an NXT_PACKET_IN2. */
void vsctl_print_packet_in(const struct vsctl_ctx *, const struct ctl_msg *,
                           const struct ofp_port_map *);
/* Key/value replies (status, log levels). */
void vsctl_print_kv(const struct vsctl_ctx *, const struct smap *,
                    const char *key_name, const char *value_name);
void vsctl_print_version(const struct vsctl_ctx *);

#endif /* vsctl.h */
