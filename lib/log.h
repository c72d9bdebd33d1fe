/* log: per-module logging with run-time levels and rate limits.
 *
 * Each .c file that logs declares its module once:
 *
 *     TS_LOG_DEFINE(netdev_afxdp);
 *
 * and then calls TS_ERR(...), TS_WARN(...), TS_INFO(...), TS_DBG(...).
 * Levels are changed at run time with log_set_level("netdev_afxdp",
 * LOG_DBG) or log_set_level_str("netdev_afxdp:dbg").  The packet path
 * counts instead of logging; when it must log it uses a rate limit:
 *
 *     static struct log_rl rl = LOG_RL_INIT(5, 20);  // 5/min, burst 20
 *     TS_WARN_RL(&rl, "port %s: bad frame", name);
 *
 * Output goes to stderr by default, or to a file (log_open_file), or to
 * syslog; the line format is
 *     2026-11-26T21:53:31.123Z|00042|module|WARN|message
 * Logging is thread-safe (one mutex around the write). */
#ifndef TS_LOG_H
#define TS_LOG_H 1

#include <stdbool.h>
#include <stdint.h>
#include "util.h"

enum log_level { LOG_OFF, LOG_ERR, LOG_WARN, LOG_INFO, LOG_DBG, LOG_N_LEVELS };

struct log_module {
    const char *name;
    enum log_level level;       /* messages above this are dropped */
    struct log_module *next;    /* registry */
};

struct log_rl {                 /* token bucket */
    unsigned int rate;          /* messages per minute */
    unsigned int burst;
    unsigned int tokens;        /* in 1/60000ths of a message? see log.c */
    long long last_msec;
    unsigned int n_dropped;
};
#define LOG_RL_INIT(RATE, BURST) { (RATE), (BURST), 0, 0, 0 }

void log_module_register(struct log_module *);

#define TS_LOG_DEFINE(MODULE)                                             \
    static struct log_module this_log_module = { #MODULE, LOG_INFO, NULL };\
    __attribute__((constructor)) static void                              \
    log_register_##MODULE(void) { log_module_register(&this_log_module); }

void log_msg(const struct log_module *, enum log_level, const char *fmt, ...)
    TS_PRINTF(3, 4);
bool log_is_enabled(const struct log_module *, enum log_level);
/* Returns true if a message may be logged now under 'rl'. */
bool log_rl_allow(struct log_rl *);

#define TS_LOG__(LEVEL, ...)                                              \
    do {                                                                  \
        if (this_log_module.level >= (LEVEL)) {                           \
            log_msg(&this_log_module, LEVEL, __VA_ARGS__);                \
        }                                                                 \
    } while (0)
#define TS_ERR(...) TS_LOG__(LOG_ERR, __VA_ARGS__)
#define TS_WARN(...) TS_LOG__(LOG_WARN, __VA_ARGS__)
#define TS_INFO(...) TS_LOG__(LOG_INFO, __VA_ARGS__)
#define TS_DBG(...) TS_LOG__(LOG_DBG, __VA_ARGS__)
#define TS_LOG_RL__(RL, LEVEL, ...)                                       \
    do {                                                                  \
        if (this_log_module.level >= (LEVEL) && log_rl_allow(RL)) {       \
            log_msg(&this_log_module, LEVEL, __VA_ARGS__);                \
        }                                                                 \
    } while (0)
#define TS_ERR_RL(RL, ...) TS_LOG_RL__(RL, LOG_ERR, __VA_ARGS__)
#define TS_WARN_RL(RL, ...) TS_LOG_RL__(RL, LOG_WARN, __VA_ARGS__)
#define TS_INFO_RL(RL, ...) TS_LOG_RL__(RL, LOG_INFO, __VA_ARGS__)
#define TS_DBG_RL(RL, ...) TS_LOG_RL__(RL, LOG_DBG, __VA_ARGS__)

/* Level control.  'module' may be "ALL".  Return 0 or -ENOENT/-EINVAL. */
int log_set_level(const char *module, enum log_level);
/* Parses "MODULE:LEVEL", "MODULE" or "LEVEL" (level names: off, err,
 * warn, info, dbg). */
int log_set_level_str(const char *spec);
const char *log_level_name(enum log_level);
/* Calls 'cb' for each registered module, sorted by name. */
void log_for_each_module(void (*cb)(const struct log_module *, void *aux),
                         void *aux);

/* Destinations. */
int log_open_file(const char *path);   /* also used to reopen on SIGHUP */
int log_reopen(void);
void log_use_syslog(bool);
void log_use_stderr(bool);
/* Messages above 'max' go to the file and syslog but not to stderr (a
 * daemon with a log file keeps its terminal for warnings and errors). */
void log_set_stderr_level(enum log_level max);

#endif /* log.h */
