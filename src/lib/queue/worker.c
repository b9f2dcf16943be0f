/* imgpipe_worker_run: jobs from Redis Streams run on the async engine.
 *
 * The run's supply takes entries (worker_take.c) and turns each into a task with its own
 * dirfd and thumbnail options; the outcome hook turns each outcome into a record (ack,
 * retry, fail: worker_record.c) that the next supply call sends in one MULTI. A heartbeat
 * thread (heartbeat.c) keeps imgpipe:w:<name> alive; entries held by a consumer whose
 * heartbeat is gone are claimed after claim_after (docs/queue.md). */
#include "queue/worker_int.h"
#include "common/stop.h"
#include "common/retry.h"
#include "net/hostrate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Without -j the run adapts its transfers in flight as get's does (exec_async.c: 16, on
 * to 256 when the first answers show latency or in a long run, 16 again when the queues
 * run empty); reads follow the run's count, the reserve is half of it, 32 at most
 * (imgpipe_wk_reserve), so a worker that runs 16 holds 24 jobs, not the 96 a read sized
 * for 64 would take from the others (2000 jobs, bench/worker_jobs.sh, 2026-12-03: the
 * same time either way, 0.14 s at 0 ms and 0.95-0.96 s at 100 ms). Jobs whose bodies stay in
 * memory (thumbnails, a bucket) are held to 16, get's figure for bodies in memory.
 * bench/queue.sh and bench/queue_scale.sh measured the worker at 16: 0.75-0.84x get on
 * disk, 64: 0.90x (2026-12-03, 10000 jobs, median of 6). */
#define DEFAULT_READ_AHEAD 16 /* the adaptive count's start (exec_async.c) */
#define DEFAULT_IN_MEMORY 16
#define DEFAULT_CLAIM_MS 60000
#define BACKOFF_MAX_S 2.0
#define FINAL_FLUSH_S 10.0 /* at exit, how long to try to record outcomes */

void imgpipe_wk_notice(struct worker *w, const char *fmt, const char *a, const char *b)
{
    char msg[IMGPIPE_ERRLEN];
    if (snprintf(msg, sizeof(msg), fmt, a, b) >= (int)sizeof(msg))
        memcpy(msg + sizeof(msg) - 4, "...", 4); /* a long Redis error: cut, and say so */
    if (w->o->notice)
        w->o->notice(msg, w->userdata);
}

/* ---- the connection ------------------------------------------------------------------ */

void imgpipe_wk_drop(struct worker *w, const char *why)
{
    if (!w->lost)
        imgpipe_wk_notice(w, "lost Redis: %s; retrying with backoff%s", why, "");
    w->lost = 1;
    if (w->c)
        redisFree(w->c);
    w->c = NULL;
    w->ahead = 0; /* its reply went with the connection */
    imgpipe_wk_recs_unsend(w);
    /* A read whose reply was lost left its entries pending under our name, where no claim
     * reaches them while we beat: read our own pending entries again once back (a take
     * skips those we hold). */
    for (int i = 0; i < w->nqueues; i++) {
        w->own_done[i] = 0;
        snprintf(w->own_last[i], sizeof(w->own_last[i]), "0");
    }
    w->retry_at = imgpipe_now() + w->backoff;
    w->backoff = w->backoff * 2 > BACKOFF_MAX_S ? BACKOFF_MAX_S : w->backoff * 2;
}

/* What a new connection needs: the groups (a Redis restarted empty has none) and the
 * scripts (nor those). */
static int ensure_groups(struct worker *w, char *err)
{
    for (int i = 0; i < w->nqueues; i++) {
        int rc = imgpipe_q_ensure_group(w->c, w->queues[i], err);
        if (rc)
            return rc;
    }
    /* A server that will not load them (a proxy, an odd Redis) gets them in full each
     * time (EVAL): only a lost connection is an error here. */
    if (imgpipe_wk_record_load(w, err) && w->c->err)
        return IMGPIPE_ENET;
    if (imgpipe_wk_rate_load(w, err) && w->c->err)
        return IMGPIPE_ENET;
    return IMGPIPE_OK;
}

/* 1 when connected, reconnecting when the backoff allows. A Redis that restarted empty
 * gets its groups back here. */
int imgpipe_wk_connected(struct worker *w)
{
    char err[IMGPIPE_ERRLEN];
    if (w->c)
        return 1;
    if (imgpipe_now() < w->retry_at)
        return 0;
    if (imgpipe_redis_connect(w->url, 2000, &w->c, err) || ensure_groups(w, err)) {
        imgpipe_wk_drop(w, err);
        return 0;
    }
    if (w->refusing) /* the outcomes' keys are wrong, not the connection: keep backing off */
        return 1;
    if (w->lost)
        imgpipe_wk_notice(w, "Redis at %s is back; carrying on%s", w->shown_url, "");
    w->lost = 0;
    w->backoff = IMGPIPE_WK_BACKOFF_MIN_S;
    return 1;
}

/* The reply raw (NULL: the connection failed) to the command named what, checked: NULL
 * after dropping a dead connection (an error reply is freed, NULL too). A queue deleted
 * under us (NOGROUP: FLUSHALL, DEL) gets its group back for next time. A reply read before
 * the connection was dropped is still the server's answer, and is kept. */
redisReply *imgpipe_wk_checked(struct worker *w, redisReply *raw, const char *what)
{
    char err[IMGPIPE_ERRLEN];
    int nogroup = 0;
    if (!w->c) {
        if (raw && raw->type != REDIS_REPLY_ERROR)
            return raw;
        if (raw)
            freeReplyObject(raw);
        return NULL;
    }
    redisReply *r = imgpipe_q_reply_ex(w->c, raw, err, what, &nogroup);
    if (!r && w->c->err)
        imgpipe_wk_drop(w, err);
    else if (!r && nogroup && ensure_groups(w, err) && w->c->err)
        imgpipe_wk_drop(w, err);
    return r;
}

redisReply *imgpipe_wk_command(struct worker *w, int argc, const char **argv)
{
    imgpipe_wk_settle(w);
    if (!w->c)
        return NULL;
    return imgpipe_wk_checked(w, redisCommandArgv(w->c, argc, argv, NULL), argv[0]);
}

redisReply *imgpipe_wk_command_flushing(struct worker *w, int argc, const char **argv)
{
    imgpipe_wk_settle(w);
    if (!w->recs || !w->c)
        return imgpipe_wk_command(w, argc, argv);
    /* The command first: its reply is read before the outcomes', so an outcome refused
     * (which drops the connection) never loses entries the command took. */
    if (redisAppendCommandArgv(w->c, argc, argv, NULL) != REDIS_OK) {
        imgpipe_wk_drop(w, "out of memory");
        return NULL;
    }
    int sent = imgpipe_wk_flush_append(w);
    if (!w->c)
        return NULL; /* nothing was sent */
    redisReply *raw = NULL;
    if (redisGetReply(w->c, (void **)&raw) != REDIS_OK)
        raw = NULL;
    if (raw) /* the outcomes' replies before anything else is asked (ensure_groups) */
        imgpipe_wk_flush_collect(w, sent);
    return imgpipe_wk_checked(w, raw, argv[0]);
}

/* ---- the run's callbacks --------------------------------------------------------------- */

/* When to ask Redis again with nothing in flight to wake the run: at the end of the idle
 * wait or of the reconnect backoff, not after the executor's longer poll (a burst worker
 * would idle that long after its last job). */
static long again_ms(const struct worker *w)
{
    double until = w->idle_until > w->retry_at ? w->idle_until : w->retry_at;
    double left = until - imgpipe_now();
    return left > 0 ? (long)(left * 1000.0) + 1 : 1;
}

static int supply(imgpipe_run *r, imgpipe_task *t, char *err)
{
    struct worker *w = r->supply_ctx;
    (void)err;
    if (w->o->jobs <= 0) /* the run's count may have climbed: so do the reads */
        w->jobs = r->in_flight > DEFAULT_READ_AHEAD ? r->in_flight : DEFAULT_READ_AHEAD;
    int ending = imgpipe_stop_set(w->o->stop) || w->dir_failed;
    imgpipe_wk_ahead_collect(w, 0);
    if (ending || (imgpipe_wk_flush_due(w) && !w->ahead)) /* else they go with the next read */
        imgpipe_wk_flush(w);
    if (ending)
        return 0;
    if (!w->ahead && w->c) /* due retries back in their stream, however long a batch lasts */
        imgpipe_wk_move_due(w);
    for (;;) {
        imgpipe_wk_batch_next(w);
        while (imgpipe_wk_batch_left(w) && !w->dir_failed) {
            int took = imgpipe_wk_take(w, t);
            if (took == IMGPIPE_WK_HELD) {
                r->supply_again_ms = 0; /* a job's end frees a slot and asks again */
                return IMGPIPE_RUN_AGAIN;
            }
            if (took) {
                imgpipe_wk_read_ahead(w);
                t->index = r->next_index++;
                return 1;
            }
        }
        if (w->dir_failed)
            return 0;
        if (w->ahead) { /* the batch ran out before the next one came: wait for it */
            imgpipe_wk_ahead_collect(w, 1);
            imgpipe_wk_batch_next(w);
            if (imgpipe_wk_batch_left(w))
                continue;
        }
        int got = imgpipe_wk_fill(w); /* what is done goes with its read */
        if (got == 1)
            continue;
        imgpipe_wk_flush(w); /* settled entries */
        /* After an empty read (got 0, or -1 while its idle wait lasts), a burst ends as
         * soon as the last job is recorded, not an idle wait later. */
        if (got != 1 && w->o->burst && imgpipe_wk_burst_done(w))
            return 0;
        r->supply_again_ms = again_ms(w);
        return IMGPIPE_RUN_AGAIN;
    }
}

/* A file that cannot be written is the job's failure when its directory still takes a
 * small file (a directory in the way of the name, a file too big for what is left); when
 * the directory takes nothing (deleted, full, read-only), every job there would fail alike:
 * the worker stops, and the job stays pending for a worker that can write it. */
static void check_disk_error(struct worker *w, imgpipe_run *r, struct wk_job *j, imgpipe_outcome *o)
{
    char why[IMGPIPE_ERRLEN];
    if (o->status != IMGPIPE_EDISK)
        return;
    if (imgpipe_wk_dir_writable(j->dir, why) == IMGPIPE_OK) {
        o->status = IMGPIPE_EIO; /* the item's own: the run goes on */
        return;
    }
    j->verdict = WK_LEFT;
    if (!w->dir_failed)
        imgpipe_errf(w->dir_err, IMGPIPE_EDISK,
                     "stopped: the output directory '%s' cannot be written (%s; a test file "
                     "there fails too: %s); the job stays queued for another worker",
                     j->dir->path, o->error, why);
    w->dir_failed = 1;
    atomic_store(&r->fatal, 1); /* no new task starts; those in flight finish */
}

/* Sees each outcome before the run counts it: decides what Redis records. */
static void on_outcome(imgpipe_run *r, imgpipe_task *t, imgpipe_outcome *o)
{
    struct worker *w = r->supply_ctx;
    struct wk_job *j = t->ctx, **p = &w->flight;
    while (*p && *p != j)
        p = &(*p)->next;
    if (!*p)
        return;
    *p = j->next;
    check_disk_error(w, r, j, o);
    if (j->verdict != WK_LEFT)
        imgpipe_wk_finish(w, j, o->status, o->transient, o->retry_after_ms, o->error);
    w->reported = j;
}

static void on_item(const imgpipe_item *item, void *userdata)
{
    struct worker *w = userdata;
    struct wk_job *j = w->reported;
    w->reported = NULL;
    if (!j)
        return;
    w->in_memory -= j->in_memory;
    pthread_mutex_lock(&w->lock);
    w->inflight--;
    pthread_mutex_unlock(&w->lock);
    if (j->verdict == WK_RETRIED) { /* not an outcome yet: a notice, not a failure */
        char msg[IMGPIPE_ERRLEN];
        snprintf(msg, sizeof(msg), "retrying %s (attempt %d of %d): %s", item->url, j->attempt + 2,
                 w->retries + 1, item->error);
        imgpipe_wk_notice(w, "%s%s", msg, "");
        w->uncounted++;
    } else if (j->verdict == WK_LEFT) {
        w->uncounted++;
    } else if (w->cb) {
        w->cb(item, w->userdata);
    }
    imgpipe_wk_job_free(w, j);
}

/* ---- the run ------------------------------------------------------------------------- */

static int check_opts(const imgpipe_worker_opts *o, char *err)
{
    for (int i = 0; i < o->nqueues; i++)
        if (!imgpipe_q_name_ok(o->queues[i]))
            return imgpipe_errf(err, IMGPIPE_EINVAL,
                                "bad queue name '%s' (" IMGPIPE_Q_NAME_RULE ")", o->queues[i]);
    if (o->jobs < 0 || o->jobs > 4096)
        return imgpipe_errf(err, IMGPIPE_EINVAL, "jobs must be 1..4096, not %d", o->jobs);
    if (o->claim_after_ms < 0)
        return imgpipe_errf(err, IMGPIPE_EINVAL, "claim_after must not be negative");
    if (o->name && (!*o->name || strlen(o->name) > 200))
        return imgpipe_errf(err, IMGPIPE_EINVAL, "a worker name is 1..200 bytes");
    return IMGPIPE_OK;
}

static int worker_init(struct worker *w, const imgpipe_worker_opts *o, char *name, char *err)
{
    static const char *const fallback[] = {"default"};
    pthread_mutex_init(&w->lock, NULL);
    pthread_condattr_t ca; /* the heartbeat's waits: a wall clock set back never stalls it */
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->wake, &ca);
    pthread_condattr_destroy(&ca);
    w->o = o;
    w->url = imgpipe_queue_url(o->url);
    imgpipe_redis_url_redact(w->url, w->shown_url, sizeof(w->shown_url));
    w->queues = o->nqueues > 0 ? o->queues : fallback;
    w->nqueues = o->nqueues > 0 ? o->nqueues : 1;
    w->jobs = o->jobs > 0 ? o->jobs : DEFAULT_READ_AHEAD;
    w->in_memory_max = o->jobs > 0 ? o->jobs : DEFAULT_IN_MEMORY;
    w->retries = imgpipe_retry_count(o->retries);
    w->claim_ms = o->claim_after_ms > 0 ? o->claim_after_ms : DEFAULT_CLAIM_MS;
    w->backoff = IMGPIPE_WK_BACKOFF_MIN_S;
    w->recs_tail = &w->recs;
    w->rng = (uint64_t)getpid() * 0x9e3779b97f4a7c15ULL ^ (uint64_t)(imgpipe_now() * 1e9);
    if (gethostname(w->host, sizeof(w->host) - 1))
        strcpy(w->host, "unknown");
    snprintf(name, 256, "%s", o->name ? o->name : "");
    if (!o->name) /* the host is cut, not the pid, so names stay unique per host */
        snprintf(name, 256, "%.*s:%ld", 200, w->host, (long)getpid());
    w->name = name;
    w->streams = calloc((size_t)w->nqueues, sizeof(*w->streams));
    w->own_done = calloc((size_t)w->nqueues, sizeof(*w->own_done));
    w->own_last = calloc((size_t)w->nqueues, sizeof(*w->own_last));
    if (!w->streams || !w->own_done || !w->own_last)
        return imgpipe_errf(err, IMGPIPE_ENOMEM, "out of memory");
    for (int i = 0; i < w->nqueues; i++) {
        imgpipe_q_key(w->streams[i], w->queues[i], "");
        strcpy(w->own_last[i], "0");
    }
    int rc = imgpipe_redis_connect(w->url, 3000, &w->c, err);
    return rc ? rc : ensure_groups(w, err);
}

static void worker_cleanup(struct worker *w)
{
    imgpipe_wk_recs_free(w);
    while (w->flight) {
        struct wk_job *j = w->flight;
        w->flight = j->next;
        imgpipe_wk_job_free(w, j);
    }
    while (w->dirs)
        imgpipe_wk_dir_close(w, w->dirs);
    if (w->batch)
        freeReplyObject(w->batch);
    if (w->next_batch) /* pending under our name: read again by our name, or claimed */
        freeReplyObject(w->next_batch);
    if (w->c)
        redisFree(w->c);
    if (w->beat_c)
        redisFree(w->beat_c);
    free(w->streams);
    free(w->own_done);
    free(w->own_last);
    pthread_cond_destroy(&w->wake);
    pthread_mutex_destroy(&w->lock);
}

/* The outcomes of the last jobs: tried for a while when Redis is away; what cannot be
 * recorded stays pending and runs again elsewhere (at least once). */
static void final_flush(struct worker *w)
{
    double until = imgpipe_now() + FINAL_FLUSH_S;
    while (w->recs && imgpipe_now() < until) {
        imgpipe_wk_flush(w);
        if (w->recs)
            nanosleep(&(struct timespec){.tv_nsec = 100 * 1000 * 1000}, NULL);
    }
    if (w->recs)
        imgpipe_wk_notice(w, "could not record the last outcomes in Redis at %s%s", w->shown_url,
                          "");
}

static int run_jobs(struct worker *w, imgpipe_summary *sum, char *err)
{
    imgpipe_get_opts opts = w->o->get;
    opts.jobs = w->o->jobs; /* 0: adaptive */
    opts.mode = IMGPIPE_MODE_ASYNC;
    /* No retries inside the run: a retry goes back to the queue, for any worker. */
    imgpipe_run r = {.opts = &opts,
                     .fetch = {.connect_timeout_ms = opts.connect_timeout_ms,
                               .read_timeout_ms = opts.read_timeout_ms,
                               .max_bytes = opts.max_bytes},
                     .dirfd = -1,
                     .cb = on_item,
                     .userdata = w,
                     .sum = sum,
                     .supply = supply,
                     .supply_ctx = w,
                     .on_outcome = on_outcome};
    pthread_mutex_init(&r.lock, NULL);
    imgpipe_wk_rate_setup(w, &r);
    double t0 = imgpipe_now();
    int rc = imgpipe_exec_async(&r, err);
    sum->seconds = imgpipe_now() - t0;
    pthread_mutex_destroy(&r.lock);
    imgpipe_hostrate_free(r.rate);
    sum->failed -= w->uncounted; /* the run counted every attempt */
    sum->failed += w->failed_at_take;
    imgpipe_wk_settle(w); /* the read ahead's entries too */
    imgpipe_wk_give_back(w, w->batch, w->batch_pos, w->batch_qi);
    imgpipe_wk_give_back(w, w->next_batch, 0, 0);
    final_flush(w);
    if (rc == IMGPIPE_OK && w->dir_failed)
        rc = imgpipe_errf(err, IMGPIPE_EDISK, "%s", w->dir_err);
    return rc;
}

int imgpipe_worker_run(const imgpipe_worker_opts *o, imgpipe_item_cb cb, void *userdata,
                       imgpipe_summary *sum, char *err)
{
    struct worker w = {.cb = cb, .userdata = userdata};
    char name[256];
    memset(sum, 0, sizeof(*sum));
    int rc = check_opts(o, err);
    if (rc)
        return rc;
    rc = worker_init(&w, o, name, err);
    /* The name and the first beat before the first job: nobody may think our jobs
     * abandoned, and no live worker's jobs are taken as our own. */
    if (rc == IMGPIPE_OK)
        rc = imgpipe_wk_claim_name(&w, err);
    if (rc == IMGPIPE_OK)
        rc = imgpipe_wk_heartbeat_start(&w, err);
    if (rc == IMGPIPE_OK) {
        rc = run_jobs(&w, sum, err);
        imgpipe_wk_heartbeat_stop(&w);
    }
    worker_cleanup(&w);
    return rc;
}
