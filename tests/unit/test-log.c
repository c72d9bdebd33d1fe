/* Unit tests for log: level parsing, registry, rate limits, line format,
 * thread safety of output. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

TS_LOG_DEFINE(test_log);
/* A second module, registered by hand (one TS_LOG_DEFINE per file). */
static struct log_module module_b = { "test_log_b", LOG_INFO, NULL };

__attribute__((constructor)) static void
register_module_b(void)
{
    log_module_register(&module_b);
}

/* The level the TS_* macros of this file see. */
static enum log_level
level_of(const char *name)
{
    cr_assert_str_eq(name, "test_log");
    return this_log_module.level;
}

struct find_aux {
    const char *name;
    enum log_level level;
    bool found;
    int n;
    char last[64];
    bool sorted;
};

static void
find_cb(const struct log_module *m, void *aux_)
{
    struct find_aux *aux = aux_;

    if (aux->n && strcmp(aux->last, m->name) > 0) {
        aux->sorted = false;
    }
    ts_strlcpy(aux->last, m->name, sizeof aux->last);
    aux->n++;
    if (!strcmp(m->name, aux->name)) {
        aux->found = true;
        aux->level = m->level;
    }
}

static enum log_level
module_level(const char *name)
{
    struct find_aux aux = { .name = name, .sorted = true };

    log_for_each_module(find_cb, &aux);
    cr_assert(aux.found, "module %s not registered", name);
    cr_assert(aux.sorted);
    return aux.level;
}

Test(log, level_names)
{
    cr_assert_str_eq(log_level_name(LOG_OFF), "off");
    cr_assert_str_eq(log_level_name(LOG_ERR), "err");
    cr_assert_str_eq(log_level_name(LOG_WARN), "warn");
    cr_assert_str_eq(log_level_name(LOG_INFO), "info");
    cr_assert_str_eq(log_level_name(LOG_DBG), "dbg");
}

Test(log, set_level_and_parse)
{
    cr_assert_eq(level_of("test_log"), LOG_INFO);
    cr_assert_eq(module_level("test_log"), LOG_INFO);

    cr_assert_eq(log_set_level("test_log", LOG_DBG), 0);
    cr_assert_eq(module_level("test_log"), LOG_DBG);
    cr_assert_eq(module_level("test_log_b"), LOG_INFO);
    cr_assert_eq(log_set_level("no_such_module", LOG_DBG), -ENOENT);

    cr_assert_eq(log_set_level_str("test_log:warn"), 0);
    cr_assert_eq(module_level("test_log"), LOG_WARN);
    cr_assert_eq(log_set_level_str("test_log_b:off"), 0);
    cr_assert_eq(module_level("test_log_b"), LOG_OFF);

    cr_assert_eq(log_set_level_str("err"), 0);
    cr_assert_eq(module_level("test_log"), LOG_ERR);
    cr_assert_eq(module_level("test_log_b"), LOG_ERR);

    cr_assert_eq(log_set_level_str("ALL:dbg"), 0);
    cr_assert_eq(module_level("test_log"), LOG_DBG);
    cr_assert_eq(module_level("test_log_b"), LOG_DBG);

    cr_assert_eq(log_set_level_str("test_log_b:info"), 0);
    cr_assert_eq(log_set_level_str("test_log_b"), 0);   /* alone: dbg */
    cr_assert_eq(module_level("test_log_b"), LOG_DBG);

    cr_assert_eq(log_set_level_str("test_log:loud"), -EINVAL);
    cr_assert_eq(log_set_level_str(":info"), -EINVAL);
    cr_assert_eq(log_set_level_str("nosuch:info"), -ENOENT);
    cr_assert_eq(log_set_level_str("nosuch"), -ENOENT);
    cr_assert_eq(log_set_level_str(""), -EINVAL);
    cr_assert_eq(module_level("test_log"), LOG_DBG);

    cr_assert(log_is_enabled(&this_log_module, LOG_DBG));
    log_set_level("test_log", LOG_WARN);
    cr_assert(log_is_enabled(&this_log_module, LOG_WARN));
    cr_assert_not(log_is_enabled(&this_log_module, LOG_INFO));
}

Test(log, rate_limit_burst)
{
    /* 1 per second: no refill during this loop. */
    struct log_rl rl = LOG_RL_INIT(60, 5);
    int allowed = 0;

    for (int i = 0; i < 1000; i++) {
        allowed += log_rl_allow(&rl);
    }
    cr_assert_eq(allowed, 5);
    cr_assert_eq(rl.n_dropped, 995);
}

Test(log, rate_limit_refill)
{
    /* 100 per second, burst 20: drain, sleep 100 ms, expect about 10. */
    struct log_rl rl = LOG_RL_INIT(6000, 20);
    int allowed = 0;

    while (log_rl_allow(&rl)) {
        allowed++;
    }
    cr_assert_eq(allowed, 20);
    cr_assert_not(log_rl_allow(&rl));
    usleep(100 * 1000);
    allowed = 0;
    while (log_rl_allow(&rl)) {
        allowed++;
    }
    /* At least 100 ms passed; a slow machine may add more, but never
     * beyond the burst. */
    cr_assert(allowed >= 9 && allowed <= 20, "allowed %d", allowed);
}

static char *
read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf = calloc(1, 1 << 20);
    size_t n;

    cr_assert_not_null(f);
    n = fread(buf, 1, (1 << 20) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

Test(log, file_output_format)
{
    char path[] = "/tmp/ts-test-log-XXXXXX";
    int fd = mkstemp(path);
    regex_t re;

    cr_assert(fd >= 0);
    close(fd);
    log_use_stderr(false);
    cr_assert_eq(log_open_file(path), 0);
    log_set_level("test_log", LOG_INFO);
    TS_WARN("port %s: bad frame", "p1");
    TS_DBG("not shown");
    TS_INFO("second");

    char *text = read_file(path);
    cr_assert_eq(regcomp(&re,
        "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z"
        "\\|[0-9]{5}\\|test_log\\|WARN\\|port p1: bad frame\n"
        "[0-9T:.Z-]+\\|[0-9]{5}\\|test_log\\|INFO\\|second\n$",
        REG_EXTENDED), 0);
    cr_assert_eq(regexec(&re, text, 0, NULL, 0), 0, "got: %s", text);
    regfree(&re);
    free(text);

    /* Reopen after the file was moved away (log rotation). */
    char moved[64];
    snprintf(moved, sizeof moved, "%s.1", path);
    cr_assert_eq(rename(path, moved), 0);
    cr_assert_eq(log_reopen(), 0);
    TS_ERR("after reopen");
    text = read_file(path);
    cr_assert(strstr(text, "|test_log|ERR|after reopen\n"));
    free(text);
    unlink(path);
    unlink(moved);
}

#define N_THREADS 4
#define N_LINES 500

static void *
log_thread(void *arg)
{
    for (int i = 0; i < N_LINES; i++) {
        TS_INFO("thread %ld line %d %s", (long) (intptr_t) arg, i,
                "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
    }
    return NULL;
}

Test(log, threads_do_not_interleave)
{
    char path[] = "/tmp/ts-test-log-XXXXXX";
    int fd = mkstemp(path);
    pthread_t threads[N_THREADS];

    cr_assert(fd >= 0);
    close(fd);
    log_use_stderr(false);
    cr_assert_eq(log_open_file(path), 0);
    log_set_level("test_log", LOG_INFO);
    for (long i = 0; i < N_THREADS; i++) {
        pthread_create(&threads[i], NULL, log_thread, (void *) i);
    }
    for (int i = 0; i < N_THREADS; i++) {
        pthread_join(threads[i], NULL);
    }

    char *text = read_file(path);
    int lines = 0;
    unsigned int prev_seq = 0;
    for (char *save, *line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        unsigned int seq;
        long t;
        int n;

        /* Assert only on failure: thousands of passing assertions are
         * slow under --full-stats. */
        if (sscanf(strchr(line, '|') + 1, "%u|test_log|INFO|"
                   "thread %ld line %d", &seq, &t, &n) != 3
            || seq <= prev_seq) {
            cr_assert_fail("bad line after seq %u: %s", prev_seq, line);
        }
        prev_seq = seq;
        lines++;
    }
    cr_assert_eq(lines, N_THREADS * N_LINES);
    free(text);
    unlink(path);
}
