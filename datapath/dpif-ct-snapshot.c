/* dpif-ct-snapshot.c: the daemon's conntrack snapshot file (see dpif.h,
 * "Conntrack snapshots").
 *
 * Two locks.  'save_lock' serializes saves (one may take a second on a
 * table of millions); 'lock' guards the status, the stop flag and the
 * condition the periodic thread sleeps on, and is only ever held for
 * a few field copies, so vsctl status never waits for a save. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conntrack/conntrack.h"
#include "dp-private.h"
#include "dpif.h"
#include "errors.h"
#include "log.h"
#include "util.h"

TS_LOG_DEFINE(dpif_ct_snapshot);

struct dpif_ct_snapshotter {
    struct conntrack *ct;       /* borrowed from the dpif_ct */
    char *path;
    unsigned int interval_ms;

    pthread_mutex_t save_lock;  /* one save at a time */
    pthread_mutex_t lock;       /* everything below */
    pthread_cond_t wake;
    bool stop;                  /* the thread must exit */
    bool final_done;            /* a final save happened: no more
                                 * periodic ones (they would replace an
                                 * exact snapshot by a stale one) */
    bool have_thread;
    pthread_t thread;
    struct dpif_ct_snapshot_status st;
};

static void
snapshotter_record(struct dpif_ct_snapshotter *s, int err, const char *msg,
                   const struct ct_snapshot_info *info)
{
    pthread_mutex_lock(&s->lock);
    if (err) {
        s->st.n_failures++;
        snprintf(s->st.last_error, sizeof s->st.last_error, "%s", msg);
    } else {
        s->st.n_saves++;
        s->st.last_error[0] = '\0';
        s->st.last_save_wall_ms = info->wall_ms;
        s->st.last_conns = info->n_conns;
        s->st.last_exps = info->n_exps;
        s->st.last_bytes = info->bytes;
        s->st.last_duration_us = info->duration_us;
        s->st.last_max_hold_ns = info->max_hold_ns;
        s->st.worst_max_hold_ns = MAX(s->st.worst_max_hold_ns,
                                      info->max_hold_ns);
    }
    pthread_mutex_unlock(&s->lock);
}

static int
snapshotter_do_save(struct dpif_ct_snapshotter *s, bool final, char **errp)
{
    struct ct_snapshot_info info;
    bool had_error;
    char *err = NULL;
    int r;

    pthread_mutex_lock(&s->save_lock);
    pthread_mutex_lock(&s->lock);
    bool skip = !final && s->final_done;
    pthread_mutex_unlock(&s->lock);
    if (skip) {
        pthread_mutex_unlock(&s->save_lock);
        return 0;
    }
    r = conntrack_snapshot_save(s->ct, s->path,
                                final ? CT_SNAPSHOT_F_FINAL : 0,
                                time_msec(), &info, &err);
    if (!r && final) {
        pthread_mutex_lock(&s->lock);
        s->final_done = true;
        pthread_mutex_unlock(&s->lock);
    }
    pthread_mutex_unlock(&s->save_lock);

    pthread_mutex_lock(&s->lock);
    had_error = s->st.last_error[0] != '\0';
    pthread_mutex_unlock(&s->lock);
    snapshotter_record(s, r, err, &info);
    if (r) {
        /* Periodic failures repeat every interval: log the first. */
        if (final || !had_error) {
            TS_WARN("%s", err);
        }
    } else if (final) {
        TS_INFO("saved %"PRIu32" connections and %"PRIu32" expectations "
                "to %s (final, %lld ms)", info.n_conns, info.n_exps,
                s->path, info.duration_us / 1000);
    } else {
        if (had_error) {
            TS_INFO("conntrack snapshots to %s work again", s->path);
        }
        TS_DBG("saved %"PRIu32" connections to %s in %lld us (longest "
               "stripe hold %lld ns)", info.n_conns, s->path,
               info.duration_us, info.max_hold_ns);
    }
    if (errp) {
        *errp = err;
    } else {
        free(err);
    }
    return r;
}

static void *
snapshotter_main(void *s_)
{
    struct dpif_ct_snapshotter *s = s_;
    struct timespec deadline;
    sigset_t all;

    /* Signals are the main loop's business. */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    pthread_mutex_lock(&s->lock);
    while (!s->stop) {
        deadline.tv_sec += s->interval_ms / 1000;
        deadline.tv_nsec += (s->interval_ms % 1000) * 1000000L;
        if (deadline.tv_nsec >= 1000000000L) {
            deadline.tv_sec++;
            deadline.tv_nsec -= 1000000000L;
        }
        while (!s->stop
               && pthread_cond_timedwait(&s->wake, &s->lock, &deadline)
                  != ETIMEDOUT) {
            continue;
        }
        if (s->stop || s->final_done) {
            break;
        }
        pthread_mutex_unlock(&s->lock);
        snapshotter_do_save(s, false, NULL);
        pthread_mutex_lock(&s->lock);
        /* A save longer than the interval: the next starts an interval
         * after this one ended, never back to back. */
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec > deadline.tv_sec
            || (now.tv_sec == deadline.tv_sec
                && now.tv_nsec > deadline.tv_nsec)) {
            deadline = now;
        }
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

/* Restores the file at creation and records the outcome. */
static void
snapshotter_restore(struct dpif_ct_snapshotter *s)
{
    struct ct_snapshot_info info;
    char *err = NULL;
    int r = conntrack_snapshot_load(s->ct, s->path, time_msec(), &info,
                                    &err);

    s->st.restore_error = r;
    if (!r) {
        s->st.restored = info.n_restored;
        s->st.restore_skipped = info.n_expired + info.n_dropped;
        s->st.restore_age_ms = info.age_ms;
        s->st.restore_us = info.duration_us;
        TS_INFO("restored %"PRIu32" connections and %"PRIu32" expectations "
                "from %s (%s snapshot v%u.%u, %lld ms old; %"PRIu32
                " expired, %"PRIu32" did not fit; %lld ms)",
                info.n_restored, info.n_exps_restored, s->path,
                info.flags & CT_SNAPSHOT_F_FINAL ? "final" : "periodic",
                info.version_major, info.version_minor, info.age_ms,
                info.n_expired, info.n_dropped, info.duration_us / 1000);
    } else if (r == -ENOENT) {
        TS_INFO("no conntrack snapshot at %s: starting with an empty "
                "connection table", s->path);
    } else {
        char *bad = xasprintf("%s.rejected", s->path);

        TS_WARN("ignoring conntrack snapshot %s; starting with an empty "
                "connection table", err);
        if (rename(s->path, bad) == 0) {
            TS_WARN("kept the rejected snapshot as %s", bad);
        }
        free(bad);
    }
    free(err);
}

struct dpif_ct_snapshotter *
dpif_ct_snapshotter_create(struct dpif_ct *dct, const char *path,
                           unsigned int interval_ms)
{
    struct dpif_ct_snapshotter *s = xzalloc(sizeof *s);
    pthread_condattr_t attr;

    s->ct = dpif_ct_conntrack(dct);
    s->path = xstrdup(path);
    s->interval_ms = interval_ms;
    s->st.path = s->path;
    s->st.interval_ms = interval_ms;
    pthread_mutex_init(&s->save_lock, NULL);
    pthread_mutex_init(&s->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&s->wake, &attr);
    pthread_condattr_destroy(&attr);

    snapshotter_restore(s);
    if (interval_ms) {
        int err = pthread_create(&s->thread, NULL, snapshotter_main, s);
        if (err) {
            TS_WARN("cannot start periodic conntrack snapshots: %s",
                    ts_strerror(-err));
        } else {
            pthread_setname_np(s->thread, "ct-snapshot");
            s->have_thread = true;
        }
    }
    return s;
}

int
dpif_ct_snapshotter_save(struct dpif_ct_snapshotter *s, bool final,
                         char **errp)
{
    return snapshotter_do_save(s, final, errp);
}

void
dpif_ct_snapshotter_get_status(struct dpif_ct_snapshotter *s,
                               struct dpif_ct_snapshot_status *st)
{
    pthread_mutex_lock(&s->lock);
    *st = s->st;
    pthread_mutex_unlock(&s->lock);
}

void
dpif_ct_snapshotter_destroy(struct dpif_ct_snapshotter *s)
{
    if (!s) {
        return;
    }
    if (s->have_thread) {
        pthread_mutex_lock(&s->lock);
        s->stop = true;
        pthread_cond_signal(&s->wake);
        pthread_mutex_unlock(&s->lock);
        pthread_join(s->thread, NULL);
    }
    pthread_cond_destroy(&s->wake);
    pthread_mutex_destroy(&s->lock);
    pthread_mutex_destroy(&s->save_lock);
    free(s->path);
    free(s);
}
