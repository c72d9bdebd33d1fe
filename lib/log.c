/* log: module registry, run-time levels, rate limits and output.
 *
 * Threads: modules register from constructors (before main) and may be
 * listed or changed from the main thread; levels are read without a lock
 * by the TS_* macros (a stale level for one message is harmless).  One
 * mutex serialises output, the sequence counter and the destinations;
 * another protects every rate limiter's token bucket.
 *
 * Rate limits: a token bucket in units of 1/60000 of a message.  Each
 * elapsed millisecond adds 'rate' units (rate is per minute), one message
 * costs 60000 units, and the bucket holds at most 'burst' messages.  A
 * bucket that was never used (last_msec == 0) starts full. */
/* <syslog.h> defines LOG_ERR and LOG_INFO as macros, which collide with
 * log.h's enum: take the priorities we need first, then drop the
 * macros before including log.h. */
#include <syslog.h>
static const int sys_prio_err = LOG_ERR;
static const int sys_prio_warning = LOG_WARNING;
static const int sys_prio_info = LOG_INFO;
static const int sys_prio_debug = LOG_DEBUG;
#undef LOG_ERR
#undef LOG_INFO

#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

#define LOG_RL_UNIT 60000u

static pthread_mutex_t log_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t log_rl_mutex = PTHREAD_MUTEX_INITIALIZER;

/* Guarded by log_mutex. */
static struct log_module *log_modules;
static unsigned int log_seqno;
static bool log_to_stderr = true;
static enum log_level stderr_max_level = LOG_DBG;
static bool log_to_syslog;
static int log_fd = -1;
static char *log_file_name;

static const char *const level_names[LOG_N_LEVELS] = {
    [LOG_OFF] = "off", [LOG_ERR] = "err", [LOG_WARN] = "warn",
    [LOG_INFO] = "info", [LOG_DBG] = "dbg",
};
static const char *const level_tags[LOG_N_LEVELS] = {
    [LOG_OFF] = "OFF", [LOG_ERR] = "ERR", [LOG_WARN] = "WARN",
    [LOG_INFO] = "INFO", [LOG_DBG] = "DBG",
};
static int
level_to_syslog(enum log_level level)
{
    switch (level) {
    case LOG_ERR:
        return sys_prio_err;
    case LOG_WARN:
        return sys_prio_warning;
    case LOG_INFO:
        return sys_prio_info;
    case LOG_OFF:
    case LOG_DBG:
    case LOG_N_LEVELS:
    default:
        return sys_prio_debug;
    }
}

void
log_module_register(struct log_module *m)
{
    pthread_mutex_lock(&log_mutex);
    for (struct log_module *p = log_modules; p; p = p->next) {
        if (p == m) {
            pthread_mutex_unlock(&log_mutex);
            return;
        }
    }
    m->next = log_modules;
    log_modules = m;
    pthread_mutex_unlock(&log_mutex);
}

const char *
log_level_name(enum log_level level)
{
    return (unsigned) level < LOG_N_LEVELS ? level_names[level] : "?";
}

static int
log_level_from_string(const char *s, enum log_level *level)
{
    static const struct {
        const char *name;
        enum log_level level;
    } names[] = {
        { "off", LOG_OFF }, { "err", LOG_ERR }, { "error", LOG_ERR },
        { "emer", LOG_ERR }, { "warn", LOG_WARN }, { "warning", LOG_WARN },
        { "info", LOG_INFO }, { "dbg", LOG_DBG }, { "debug", LOG_DBG },
    };

    for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
        if (!strcasecmp(s, names[i].name)) {
            *level = names[i].level;
            return 0;
        }
    }
    return -EINVAL;
}

int
log_set_level(const char *module, enum log_level level)
{
    bool all = !strcasecmp(module, "ALL");
    bool found = false;

    if ((unsigned) level >= LOG_N_LEVELS) {
        return -EINVAL;
    }
    pthread_mutex_lock(&log_mutex);
    for (struct log_module *m = log_modules; m; m = m->next) {
        if (all || !strcmp(m->name, module)) {
            m->level = level;
            found = true;
        }
    }
    pthread_mutex_unlock(&log_mutex);
    return found || all ? 0 : -ENOENT;
}

int
log_set_level_str(const char *spec)
{
    enum log_level level;
    const char *colon = strchr(spec, ':');
    char *module;
    int err;

    if (!colon) {
        /* "LEVEL" sets every module; "MODULE" alone means debugging. */
        if (!log_level_from_string(spec, &level)) {
            return log_set_level("ALL", level);
        }
        return *spec ? log_set_level(spec, LOG_DBG) : -EINVAL;
    }
    if (log_level_from_string(colon + 1, &level)) {
        return -EINVAL;
    }
    if (colon == spec) {
        return -EINVAL;
    }
    module = xstrndup(spec, colon - spec);
    err = log_set_level(module, level);
    free(module);
    return err;
}

static int
log_module_cmp(const void *a_, const void *b_)
{
    const struct log_module *const *a = a_;
    const struct log_module *const *b = b_;

    return strcmp((*a)->name, (*b)->name);
}

void
log_for_each_module(void (*cb)(const struct log_module *, void *aux),
                    void *aux)
{
    struct log_module **array;
    size_t n = 0, i = 0;

    pthread_mutex_lock(&log_mutex);
    for (struct log_module *m = log_modules; m; m = m->next) {
        n++;
    }
    array = xmalloc((n ? n : 1) * sizeof *array);
    for (struct log_module *m = log_modules; m; m = m->next) {
        array[i++] = m;
    }
    pthread_mutex_unlock(&log_mutex);

    qsort(array, n, sizeof *array, log_module_cmp);
    for (i = 0; i < n; i++) {
        cb(array[i], aux);
    }
    free(array);
}

bool
log_is_enabled(const struct log_module *m, enum log_level level)
{
    return level != LOG_OFF && m->level >= level;
}

bool
log_rl_allow(struct log_rl *rl)
{
    long long now = time_msec();
    uint64_t max_units = (uint64_t) rl->burst * LOG_RL_UNIT;
    bool allow;

    if (max_units > UINT32_MAX) {
        max_units = UINT32_MAX - UINT32_MAX % LOG_RL_UNIT;
    }
    pthread_mutex_lock(&log_rl_mutex);
    if (!rl->last_msec) {
        rl->tokens = max_units;
    } else if (now > rl->last_msec) {
        uint64_t add = (uint64_t) (now - rl->last_msec) * rl->rate;
        uint64_t tokens = rl->tokens + add;

        rl->tokens = tokens < max_units ? tokens : max_units;
    }
    /* Keep last_msec nonzero so the bucket is never refilled again. */
    rl->last_msec = now > 0 ? now : 1;
    allow = rl->tokens >= LOG_RL_UNIT;
    if (allow) {
        rl->tokens -= LOG_RL_UNIT;
    } else {
        rl->n_dropped++;
    }
    pthread_mutex_unlock(&log_rl_mutex);
    return allow;
}

static size_t
log_format_time(char *buf, size_t size)
{
    long long ms = time_wall_msec();
    time_t secs = ms / 1000;
    struct tm tm;
    size_t n;

    gmtime_r(&secs, &tm);
    n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
    n += snprintf(buf + n, size - n, ".%03dZ", (int) (ms % 1000));
    return n;
}

static void
log_write_all(int fd, const char *buf, size_t len)
{
    while (len) {
        ssize_t n = write(fd, buf, len);

        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return;
        }
        buf += n;
        len -= n;
    }
}

void
log_msg(const struct log_module *m, enum log_level level,
        const char *fmt, ...)
{
    char stackbuf[1024];
    char *msg = stackbuf;
    char line_head[128];
    va_list args;
    int n;

    if (!log_is_enabled(m, level)) {
        return;
    }
    va_start(args, fmt);
    n = vsnprintf(stackbuf, sizeof stackbuf, fmt, args);
    va_end(args);
    if (n < 0) {
        return;
    }
    if ((size_t) n >= sizeof stackbuf) {
        va_start(args, fmt);
        msg = xvasprintf(fmt, args);
        va_end(args);
    }

    int saved_errno = errno;
    pthread_mutex_lock(&log_mutex);
    unsigned int seq = ++log_seqno;
    if (log_to_stderr || log_fd >= 0) {
        char ts[48];
        size_t head;

        log_format_time(ts, sizeof ts);
        head = snprintf(line_head, sizeof line_head, "%s|%05u|%s|%s|",
                        ts, seq, m->name, level_tags[level]);
        head = MIN(head, sizeof line_head - 1);

        size_t len = strlen(msg);
        char *line = xmalloc(head + len + 1);
        memcpy(line, line_head, head);
        memcpy(line + head, msg, len);
        line[head + len] = '\n';
        if (log_to_stderr && level <= stderr_max_level) {
            log_write_all(STDERR_FILENO, line, head + len + 1);
        }
        if (log_fd >= 0) {
            log_write_all(log_fd, line, head + len + 1);
        }
        free(line);
    }
    if (log_to_syslog) {
        syslog(level_to_syslog(level), "%05u|%s|%s|%s", seq, m->name,
               level_tags[level], msg);
    }
    pthread_mutex_unlock(&log_mutex);
    errno = saved_errno;

    if (msg != stackbuf) {
        free(msg);
    }
}

/* Opens 'path' for appending and swaps it in.  Caller holds log_mutex. */
static int
log_open_locked(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);

    if (fd < 0) {
        return -errno;
    }
    if (log_fd >= 0) {
        close(log_fd);
    }
    log_fd = fd;
    return 0;
}

int
log_open_file(const char *path)
{
    int err;

    pthread_mutex_lock(&log_mutex);
    err = log_open_locked(path);
    if (!err && path != log_file_name) {
        free(log_file_name);
        log_file_name = xstrdup(path);
    }
    pthread_mutex_unlock(&log_mutex);
    return err;
}

int
log_reopen(void)
{
    int err = 0;

    pthread_mutex_lock(&log_mutex);
    if (log_file_name) {
        err = log_open_locked(log_file_name);
    }
    pthread_mutex_unlock(&log_mutex);
    return err;
}

void
log_use_syslog(bool on)
{
    pthread_mutex_lock(&log_mutex);
    if (on && !log_to_syslog) {
        openlog(ts_program_name(), LOG_NDELAY | LOG_PID, LOG_DAEMON);
    } else if (!on && log_to_syslog) {
        closelog();
    }
    log_to_syslog = on;
    pthread_mutex_unlock(&log_mutex);
}

void
log_set_stderr_level(enum log_level max)
{
    pthread_mutex_lock(&log_mutex);
    stderr_max_level = max;
    pthread_mutex_unlock(&log_mutex);
}

void
log_use_stderr(bool on)
{
    pthread_mutex_lock(&log_mutex);
    log_to_stderr = on;
    pthread_mutex_unlock(&log_mutex);
}
