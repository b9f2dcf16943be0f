/* imgpipe_worker_run: jobs from Redis Streams run on the async engine.
 *
 * The run's supply takes entries with XREADGROUP (queues in the order given), turns each
 * into a task with its own dirfd and thumbnail options, and the item callback turns each
 * outcome into a record (ack, retry, fail) that the next supply call sends in one MULTI.
 * A heartbeat thread with its own connection keeps imgpipe:w:<name> alive; entries held
 * by a consumer whose heartbeat is gone are claimed after claim_after (docs/queue.md). */
#include "queue/queue.h"
#include "run/run.h"
#include "store/store.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_JOBS 16 /* the async engine's default: see DEFAULT_IN_FLIGHT in exec_async.c */
#define DEFAULT_CLAIM_MS 60000
#define DEFAULT_RETRIES 3
#define IDLE_READ_S 0.05  /* after an empty read, ask Redis again no sooner than this */
#define BACKOFF_MIN_S 0.1 /* reconnecting to Redis: first wait, doubled up to the max */
#define BACKOFF_MAX_S 2.0
#define DIRCACHE_KEEP 32   /* unused directory descriptors kept open */
#define FINAL_FLUSH_S 10.0 /* at exit, how long to try to record outcomes */

/* A directory opened for jobs, shared by every job that writes there. */
struct dir {
    struct dir *next;
    char *path;
    int fd, refs;
};

/* A job taken from a stream, from XREADGROUP to its recorded outcome. */
struct job {
    struct job *next;
    uint64_t index; /* the task's index, to find the job from its item */
    int qi;
    char id[48];
    imgpipe_strvec fields; /* the entry's k, v, k, v ...: copied on retry or failure */
    int attempt;
    struct dir *dir;
    imgpipe_get_opts opts;
};

enum rec_kind { REC_ACK, REC_RETRY, REC_FAIL };

/* An outcome to write to Redis. */
struct rec {
    struct rec *next;
    enum rec_kind kind;
    int qi;
    char id[48];
    imgpipe_strvec fields; /* the XADD for a retry or a failure */
};

struct worker {
    const imgpipe_worker_opts *o;
    const char *url, *name;
    const char *const *queues;
    int nqueues, jobs, retries;
    long claim_ms;
    char (*streams)[IMGPIPE_Q_KEYLEN];
    redisContext *c;
    double retry_at, backoff, idle_until, reclaim_at;
    int lost;          /* the connection went away: say so once, and when it is back */
    redisReply *batch; /* entries read and not yet handed out */
    size_t batch_pos;
    int batch_qi;
    int *own_done; /* our own pending entries (from an earlier life) re-read, per queue */
    char (*own_last)[48];
    struct job *flight;
    int inflight;
    uint64_t next_index;
    uint64_t retried; /* attempts that failed and were queued again */
    struct dir *dirs;
    struct rec *recs, **recs_tail;
    imgpipe_item_cb cb;
    void *userdata;
    /* shared with the heartbeat thread */
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int stopping;
    unsigned long long done, failed;
    char host[256];
};

static void notice(struct worker *w, const char *fmt, const char *a, const char *b)
{
    char msg[IMGPIPE_ERRLEN];
    snprintf(msg, sizeof(msg), fmt, a, b);
    if (w->o->notice)
        w->o->notice(msg, w->userdata);
}

/* ---- the connection ------------------------------------------------------------------ */

static void drop_connection(struct worker *w, const char *why)
{
    if (!w->lost)
        notice(w, "lost Redis: %s; retrying with backoff%s", why, "");
    w->lost = 1;
    if (w->c)
        redisFree(w->c);
    w->c = NULL;
    w->retry_at = imgpipe_now() + w->backoff;
    w->backoff = w->backoff * 2 > BACKOFF_MAX_S ? BACKOFF_MAX_S : w->backoff * 2;
}

static int ensure_groups(struct worker *w, char *err)
{
    for (int i = 0; i < w->nqueues; i++) {
        int rc = imgpipe_q_ensure_group(w->c, w->queues[i], err);
        if (rc)
            return rc;
    }
    return IMGPIPE_OK;
}

/* 1 when connected, reconnecting when the backoff allows. A Redis that restarted empty
 * gets its groups back here. */
static int connected(struct worker *w)
{
    char err[IMGPIPE_ERRLEN];
    if (w->c)
        return 1;
    if (imgpipe_now() < w->retry_at)
        return 0;
    if (imgpipe_redis_connect(w->url, 2000, &w->c, err) || ensure_groups(w, err)) {
        drop_connection(w, err);
        return 0;
    }
    if (w->lost)
        notice(w, "Redis at %s is back; carrying on%s", w->url, "");
    w->lost = 0;
    w->backoff = BACKOFF_MIN_S;
    return 1;
}

/* A reply, or NULL after dropping a dead connection (an error reply is freed, NULL too).
 * A queue deleted under us (NOGROUP: FLUSHALL, DEL) gets its group back for next time. */
static redisReply *command(struct worker *w, int argc, const char **argv)
{
    char err[IMGPIPE_ERRLEN];
    redisReply *r = imgpipe_q_cmd(w->c, err, argc, argv);
    if (!r && w->c->err)
        drop_connection(w, err);
    else if (!r && strstr(err, "NOGROUP") && ensure_groups(w, err) && w->c->err)
        drop_connection(w, err);
    return r;
}

/* ---- recording outcomes -------------------------------------------------------------- */

static void rec_free(struct rec *r)
{
    imgpipe_strvec_free(&r->fields);
    free(r);
}

/* Queues an outcome; on out of memory the entry stays pending and is claimed later. */
static struct rec *rec_add(struct worker *w, enum rec_kind kind, int qi, const char *id)
{
    struct rec *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->kind = kind;
    r->qi = qi;
    snprintf(r->id, sizeof(r->id), "%s", id);
    *w->recs_tail = r;
    w->recs_tail = &r->next;
    return r;
}

static int append_argv(struct worker *w, const imgpipe_strvec *argv)
{
    return redisAppendCommandArgv(w->c, (int)argv->n, (const char **)argv->v, NULL) == REDIS_OK;
}

/* XACK + XDEL of every record of queue qi, and the counters: 0 or 1 command each. */
static int append_queue(struct worker *w, int qi, int *sent)
{
    imgpipe_strvec ack = {0}, del = {0};
    long long done = 0, retried = 0;
    int ok = !imgpipe_strvec_push(&ack, "XACK") && !imgpipe_strvec_push(&ack, w->streams[qi]) &&
             !imgpipe_strvec_push(&ack, IMGPIPE_Q_GROUP) && !imgpipe_strvec_push(&del, "XDEL") &&
             !imgpipe_strvec_push(&del, w->streams[qi]);
    for (struct rec *r = w->recs; ok && r; r = r->next) {
        if (r->qi != qi)
            continue;
        ok = !imgpipe_strvec_push(&ack, r->id) && !imgpipe_strvec_push(&del, r->id);
        done += r->kind == REC_ACK;
        retried += r->kind == REC_RETRY;
        if (ok && r->fields.n)
            ok = append_argv(w, &r->fields) && ++*sent;
    }
    if (ok && ack.n > 3)
        ok = append_argv(w, &ack) && append_argv(w, &del) && (*sent += 2);
    char stats[IMGPIPE_Q_KEYLEN];
    imgpipe_q_key(stats, w->queues[qi], ":stats");
    if (ok && done)
        ok = redisAppendCommand(w->c, "HINCRBY %s done %lld", stats, done) == 0 && ++*sent;
    if (ok && retried)
        ok = redisAppendCommand(w->c, "HINCRBY %s retried %lld", stats, retried) == 0 && ++*sent;
    imgpipe_strvec_free(&ack);
    imgpipe_strvec_free(&del);
    return ok;
}

/* Sends every queued outcome in one MULTI/EXEC: an entry leaves the pending list in the
 * same transaction that adds its retry or its failure, so none is lost or doubled by a
 * crash between the two. Records stay queued when Redis cannot be reached. */
static void flush(struct worker *w)
{
    if (!w->recs || !connected(w))
        return;
    int sent = 1, ok = redisAppendCommand(w->c, "MULTI") == REDIS_OK;
    for (int qi = 0; ok && qi < w->nqueues; qi++)
        ok = append_queue(w, qi, &sent);
    ok = ok && redisAppendCommand(w->c, "EXEC") == REDIS_OK && ++sent;
    redisReply *last = NULL;
    for (int i = 0; i < sent && ok; i++) {
        if (last)
            freeReplyObject(last);
        last = NULL;
        ok = redisGetReply(w->c, (void **)&last) == REDIS_OK;
    }
    ok = ok && last && last->type == REDIS_REPLY_ARRAY; /* EXEC ran */
    if (last)
        freeReplyObject(last);
    if (!ok) {
        drop_connection(w, w->c && w->c->err ? w->c->errstr : "MULTI/EXEC failed");
        return;
    }
    while (w->recs) {
        struct rec *r = w->recs;
        w->recs = r->next;
        rec_free(r);
    }
    w->recs_tail = &w->recs;
}

/* Network trouble, timeouts, 5xx/408/429 and disk errors may pass; the rest will not. */
static int transient(int status, const char *error)
{
    const char *http;
    switch (status) {
    case IMGPIPE_ENET:
    case IMGPIPE_ETIMEOUT:
    case IMGPIPE_EIO:
    case IMGPIPE_ENOMEM:
        return 1;
    case IMGPIPE_EHTTP:
        http = strstr(error, "HTTP ");
        if (!http)
            return 0;
        long code = strtol(http + 5, NULL, 10);
        return code >= 500 || code == 408 || code == 429;
    default:
        return 0;
    }
}

/* The entry's fields for a retry (attempt + 1) or a failure (with why). */
static int copy_fields(struct worker *w, const struct job *j, struct rec *r, int retry, int status,
                       const char *error)
{
    char attempt[16];
    const char *key = retry ? w->streams[j->qi] : NULL;
    char failed[IMGPIPE_Q_KEYLEN];
    if (!retry)
        imgpipe_q_key(failed, w->queues[j->qi], ":failed");
    snprintf(attempt, sizeof(attempt), "%d", retry ? j->attempt + 1 : j->attempt);
    imgpipe_strvec *f = &r->fields;
    int bad = imgpipe_strvec_push(f, "XADD") || imgpipe_strvec_push(f, key ? key : failed) ||
              imgpipe_strvec_push(f, "*");
    for (size_t i = 0; !bad && i + 1 < j->fields.n; i += 2) {
        const char *k = j->fields.v[i];
        bad = imgpipe_strvec_push(f, k) ||
              imgpipe_strvec_push(f, strcmp(k, "attempt") ? j->fields.v[i + 1] : attempt);
    }
    if (!retry && !bad)
        bad = imgpipe_strvec_push(f, "error") || imgpipe_strvec_push(f, error) ||
              imgpipe_strvec_push(f, "status") ||
              imgpipe_strvec_push(f, imgpipe_strerror(status)) ||
              imgpipe_strvec_push(f, "worker") || imgpipe_strvec_push(f, w->name);
    return bad ? IMGPIPE_ENOMEM : IMGPIPE_OK;
}

/* Decides what becomes of a job: done, tried again, or failed for good; 1 for a retry. */
static int finish(struct worker *w, const struct job *j, int status, const char *error)
{
    int retry = status && transient(status, error) && j->attempt < w->retries;
    struct rec *r = rec_add(w,
                            status == IMGPIPE_OK ? REC_ACK
                            : retry              ? REC_RETRY
                                                 : REC_FAIL,
                            j->qi, j->id);
    if (r && status)
        copy_fields(w, j, r, retry, status, error);
    pthread_mutex_lock(&w->lock);
    if (status == IMGPIPE_OK)
        w->done++;
    else if (!retry)
        w->failed++;
    pthread_mutex_unlock(&w->lock);
    return retry;
}

/* ---- directories --------------------------------------------------------------------- */

static struct dir *dir_get(struct worker *w, const char *path, char *err)
{
    for (struct dir *d = w->dirs; d; d = d->next)
        if (strcmp(d->path, path) == 0) {
            d->refs++;
            return d;
        }
    struct dir *d = calloc(1, sizeof(*d));
    if (!d || !(d->path = strdup(path))) {
        free(d);
        imgpipe_errf(err, IMGPIPE_ENOMEM, "out of memory");
        return NULL;
    }
    if (imgpipe_store_open_dir(path, &d->fd, err)) {
        free(d->path);
        free(d);
        return NULL;
    }
    d->refs = 1;
    d->next = w->dirs;
    w->dirs = d;
    return d;
}

static void dir_close(struct worker *w, struct dir *d)
{
    struct dir **p = &w->dirs;
    while (*p != d)
        p = &(*p)->next;
    *p = d->next;
    close(d->fd);
    free(d->path);
    free(d);
}

/* Keeps at most DIRCACHE_KEEP directories open: an unused one past that is closed. */
static void dir_put(struct worker *w, struct dir *d)
{
    if (!d || --d->refs > 0)
        return;
    int n = 0;
    for (struct dir *e = w->dirs; e; e = e->next)
        n++;
    if (n > DIRCACHE_KEEP)
        dir_close(w, d);
}

/* ---- taking jobs --------------------------------------------------------------------- */

static void job_free(struct worker *w, struct job *j)
{
    if (!j)
        return;
    dir_put(w, j->dir);
    imgpipe_strvec_free(&j->fields);
    free(j);
}

static int parse_thumbs(const char *text, imgpipe_get_opts *o)
{
    char buf[IMGPIPE_THUMB_MAX_SIZES * 16 + 1];
    if (!text || !*text)
        return IMGPIPE_OK;
    if (strlen(text) >= sizeof(buf))
        return IMGPIPE_EINVAL;
    strcpy(buf, text);
    char *save = NULL;
    for (char *s = strtok_r(buf, ",", &save); s; s = strtok_r(NULL, ",", &save)) {
        if (o->nthumbs == IMGPIPE_THUMB_MAX_SIZES)
            return IMGPIPE_EINVAL;
        if (imgpipe_parse_size(s, &o->thumbs[o->nthumbs++]))
            return IMGPIPE_EINVAL;
    }
    return IMGPIPE_OK;
}

/* Fills the job from its entry's fields; a sentence in err for an entry we cannot run. */
static int job_setup(struct worker *w, struct job *j, const redisReply *kv, char *err)
{
    for (size_t i = 0; i < kv->elements; i++)
        if (imgpipe_strvec_push(&j->fields, kv->element[i]->str ? kv->element[i]->str : ""))
            return imgpipe_errf(err, IMGPIPE_ENOMEM, "out of memory");
    const char *url = imgpipe_q_field(kv, "url"), *name = imgpipe_q_field(kv, "name");
    const char *dir = imgpipe_q_field(kv, "dir"), *attempt = imgpipe_q_field(kv, "attempt");
    const char *quality = imgpipe_q_field(kv, "quality");
    j->attempt = attempt ? atoi(attempt) : 0;
    j->opts = w->o->get;
    j->opts.nthumbs = 0;
    j->opts.thumb.quality = quality ? atoi(quality) : 0;
    if (j->opts.thumb.quality < 0 || j->opts.thumb.quality > 100)
        j->opts.thumb.quality = 0;
    if (!url || !name || !dir)
        return imgpipe_errf(err, IMGPIPE_EINVAL, "job %s lacks url, name or dir", j->id);
    if (!imgpipe_store_name_ok(name) || strlen(name) > IMGPIPE_NAME_MAX)
        return imgpipe_errf(err, IMGPIPE_EINVAL, "job %s: unsafe file name '%s'", j->id, name);
    if (dir[0] != '/')
        return imgpipe_errf(err, IMGPIPE_EINVAL, "job %s: dir '%s' is not absolute", j->id, dir);
    if (parse_thumbs(imgpipe_q_field(kv, "thumbs"), &j->opts))
        return imgpipe_errf(err, IMGPIPE_EINVAL, "job %s: bad thumbnail sizes", j->id);
    if (!(j->dir = dir_get(w, dir, err)))
        return IMGPIPE_EIO;
    return IMGPIPE_OK;
}

static int task_from_job(struct worker *w, struct job *j, imgpipe_task *t, char *err)
{
    const char *url = NULL;
    for (size_t i = 0; i + 1 < j->fields.n; i += 2)
        if (strcmp(j->fields.v[i], "url") == 0)
            url = j->fields.v[i + 1];
    for (size_t i = 0; i + 1 < j->fields.n; i += 2)
        if (strcmp(j->fields.v[i], "name") == 0)
            snprintf(t->name, sizeof(t->name), "%s", j->fields.v[i + 1]);
    if (!url || !(t->url = strdup(url)))
        return imgpipe_errf(err, IMGPIPE_ENOMEM, "out of memory");
    t->index = j->index = w->next_index++;
    t->dirfd = j->dir->fd;
    t->job_opts = &j->opts;
    t->ctx = j;
    j->next = w->flight;
    w->flight = j;
    pthread_mutex_lock(&w->lock);
    w->inflight++;
    pthread_mutex_unlock(&w->lock);
    return IMGPIPE_OK;
}

/* The next entry of the batch as a task: 1, or 0 when the entry was settled without one
 * (gone from the stream, abandoned too often, unusable). */
static int take(struct worker *w, imgpipe_task *t)
{
    redisReply *e = w->batch->element[w->batch_pos++];
    const char *id = e->element[0]->str;
    long long deliveries = e->elements > 2 ? e->element[2]->integer : 1;
    char err[IMGPIPE_ERRLEN];
    struct job *j = calloc(1, sizeof(*j));
    if (!j)
        return 0; /* stays pending: claimed again later */
    j->qi = w->batch_qi;
    snprintf(j->id, sizeof(j->id), "%s", id);
    if (e->element[1]->type != REDIS_REPLY_ARRAY) { /* deleted while pending */
        rec_add(w, REC_ACK, j->qi, id);
        job_free(w, j);
        return 0;
    }
    int rc = job_setup(w, j, e->element[1], err);
    if (rc == IMGPIPE_OK && deliveries > w->retries + 1) {
        rc = imgpipe_errf(err, IMGPIPE_ECANCELED,
                          "abandoned: taken %lld times by workers that stopped heartbeating",
                          deliveries);
        j->attempt = w->retries; /* no retry */
    }
    if (rc == IMGPIPE_OK)
        rc = task_from_job(w, j, t, err);
    if (rc == IMGPIPE_OK)
        return 1;
    finish(w, j, rc, err);
    job_free(w, j);
    return 0;
}

static void batch_set(struct worker *w, redisReply *entries, int qi)
{
    if (w->batch)
        freeReplyObject(w->batch);
    w->batch = entries;
    w->batch_pos = 0;
    w->batch_qi = qi;
}

static size_t batch_left(const struct worker *w)
{
    return w->batch ? w->batch->elements - w->batch_pos : 0;
}

/* Claims entries held by consumers whose heartbeat is gone and idle past claim_after. Both
 * steps in one script: XCLAIM's min-idle makes sure only one claimer wins. Returns
 * [[id, fields, deliveries], ...]. (It reads heartbeat keys it is not given: fine on a
 * single Redis, not on a cluster.) */
static const char reclaim_script[] =
    "local p = redis.call('XPENDING', KEYS[1], ARGV[1], 'IDLE', ARGV[3], '-', '+', ARGV[4])\n"
    "local ids, dl, alive = {}, {}, {[ARGV[2]] = true}\n"
    "for _, e in ipairs(p) do\n"
    "  if alive[e[2]] == nil then alive[e[2]] = redis.call('EXISTS', ARGV[5] .. e[2]) == 1 end\n"
    "  if #ids < tonumber(ARGV[6]) and not alive[e[2]] then\n"
    "    ids[#ids + 1] = e[1]; dl[e[1]] = e[4] end\n"
    "end\n"
    "if #ids == 0 then return {} end\n"
    "local out = {}\n"
    "for _, c in ipairs(redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[3], unpack(ids))) do\n"
    "  out[#out + 1] = {c[1], c[2] or false, dl[c[1]] + 1} end\n"
    "return out\n";

static int reclaim(struct worker *w, int qi, int want)
{
    char idle[32], count[16];
    snprintf(idle, sizeof(idle), "%ld", w->claim_ms);
    snprintf(count, sizeof(count), "%d", want);
    /* Scan well past `want`: live workers' long jobs are idle too, and may come first. */
    const char *argv[] = {"EVAL",  reclaim_script, "1",    w->streams[qi],   IMGPIPE_Q_GROUP,
                          w->name, idle,           "1000", IMGPIPE_Q_WORKER, count};
    redisReply *r = command(w, 10, argv);
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements == 0) {
        if (r)
            freeReplyObject(r);
        return 0;
    }
    batch_set(w, r, qi);
    return 1;
}

/* XREADGROUP from one queue: new entries (">"), or our own pending ones after `own`. */
static int read_group(struct worker *w, int qi, int want, const char *from)
{
    char count[16];
    snprintf(count, sizeof(count), "%d", want);
    const char *argv[] = {"XREADGROUP", "GROUP",   IMGPIPE_Q_GROUP, w->name, "COUNT",
                          count,        "STREAMS", w->streams[qi],  from};
    redisReply *r = command(w, 9, argv);
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements == 0 ||
        r->element[0]->element[1]->elements == 0) {
        if (r)
            freeReplyObject(r);
        return 0;
    }
    /* Keep the whole reply; hand out its entries array. */
    redisReply *entries = r->element[0]->element[1];
    r->element[0]->element[1] = NULL;
    freeReplyObject(r);
    batch_set(w, entries, qi);
    return 1;
}

/* Our own pending entries, left by an earlier run under the same name: read them again. */
static int read_own(struct worker *w, int qi, int want)
{
    if (w->own_done[qi])
        return 0;
    if (!read_group(w, qi, want, w->own_last[qi])) {
        w->own_done[qi] = w->c != NULL;
        return 0;
    }
    snprintf(w->own_last[qi], sizeof(w->own_last[qi]), "%s",
             w->batch->element[w->batch->elements - 1]->element[0]->str);
    return 1;
}

/* Refills the batch: claimable entries first (they are the oldest), then each queue in
 * order. 1 with entries, 0 when Redis had none, -1 when it was not asked. */
static int fill(struct worker *w)
{
    double now = imgpipe_now();
    int want = w->jobs - w->inflight;
    if (want <= 0 || now < w->idle_until || !connected(w))
        return -1;
    if (now >= w->reclaim_at) {
        w->reclaim_at = now + (double)w->claim_ms / 4000.0;
        for (int qi = 0; qi < w->nqueues && w->c; qi++)
            if (reclaim(w, qi, want))
                return 1;
    }
    for (int qi = 0; qi < w->nqueues && w->c; qi++)
        if (read_own(w, qi, want) || read_group(w, qi, want, ">"))
            return 1;
    w->idle_until = now + IDLE_READ_S;
    return w->c ? 0 : -1;
}

/* Burst mode ends when nothing is waiting and every held entry is held by a live worker
 * (so nothing will come back to be claimed); entries of dead workers are waited for. */
static int queue_settled(struct worker *w, int qi)
{
    redisReply *len = redisCommand(w->c, "XLEN %s", w->streams[qi]);
    redisReply *p = redisCommand(w->c, "XPENDING %s %s", w->streams[qi], IMGPIPE_Q_GROUP);
    int settled = len && p && len->type == REDIS_REPLY_INTEGER && p->type == REDIS_REPLY_ARRAY &&
                  p->elements == 4 && len->integer <= p->element[0]->integer;
    redisReply *owners = settled ? p->element[3] : NULL;
    for (size_t i = 0; owners && owners->type == REDIS_REPLY_ARRAY && i < owners->elements; i++) {
        const char *owner = owners->element[i]->element[0]->str;
        if (strcmp(owner, w->name) == 0) { /* ours, not in flight: read them again */
            w->own_done[qi] = 0;
            snprintf(w->own_last[qi], sizeof(w->own_last[qi]), "0");
            settled = 0;
            break;
        }
        redisReply *alive = redisCommand(w->c, "EXISTS %s%s", IMGPIPE_Q_WORKER, owner);
        settled = alive && alive->type == REDIS_REPLY_INTEGER && alive->integer == 1;
        if (alive)
            freeReplyObject(alive);
        if (!settled)
            break;
    }
    if (len)
        freeReplyObject(len);
    if (p)
        freeReplyObject(p);
    if (w->c->err)
        drop_connection(w, w->c->errstr);
    return settled;
}

static int burst_done(struct worker *w)
{
    if (w->inflight || batch_left(w) || w->recs || !w->c)
        return 0;
    for (int qi = 0; qi < w->nqueues; qi++)
        if (!w->c || !queue_settled(w, qi))
            return 0;
    return 1;
}

static int supply(imgpipe_run *r, imgpipe_task *t, char *err)
{
    struct worker *w = r->supply_ctx;
    (void)err;
    flush(w);
    if (w->o->stop && *w->o->stop)
        return 0;
    for (;;) {
        while (batch_left(w))
            if (take(w, t))
                return 1;
        int got = fill(w);
        if (got == 1)
            continue;
        flush(w); /* settled entries */
        if (got == 0 && w->o->burst && burst_done(w))
            return 0;
        return IMGPIPE_RUN_AGAIN;
    }
}

static void on_item(const imgpipe_item *item, void *userdata)
{
    struct worker *w = userdata;
    struct job **p = &w->flight;
    while (*p && (*p)->index != item->index)
        p = &(*p)->next;
    struct job *j = *p;
    if (!j)
        return;
    *p = j->next;
    int retry = finish(w, j, item->status, item->error);
    pthread_mutex_lock(&w->lock);
    w->inflight--;
    pthread_mutex_unlock(&w->lock);
    if (retry) { /* not an outcome yet: said as a notice, not counted as a failure */
        char msg[IMGPIPE_ERRLEN];
        snprintf(msg, sizeof(msg), "retrying %s (attempt %d of %d): %s", item->url, j->attempt + 2,
                 w->retries + 1, item->error);
        notice(w, "%s%s", msg, "");
        w->retried++;
    } else if (w->cb) {
        w->cb(item, w->userdata);
    }
    job_free(w, j);
}

/* ---- heartbeat ----------------------------------------------------------------------- */

/* On Redis's clock, so ages read the same from every host. */
static const char beat_script[] =
    "local t = redis.call('TIME')\n"
    "redis.call('HSET', KEYS[1], 'host', ARGV[1], 'pid', ARGV[2], 'queues', ARGV[3],\n"
    "  'done', ARGV[4], 'failed', ARGV[5], 'in_flight', ARGV[6],\n"
    "  'beat', t[1] * 1000 + math.floor(t[2] / 1000))\n"
    "redis.call('PEXPIRE', KEYS[1], ARGV[7])\n"
    "redis.call('SADD', KEYS[2], ARGV[8])\n"
    "return 1\n";

static int beat(struct worker *w, redisContext **c, char *err)
{
    char key[IMGPIPE_Q_KEYLEN], pid[16], done[24], failed[24], inflight[16], ttl[24], queues[1024];
    if (!*c && imgpipe_redis_connect(w->url, 1000, c, err))
        return IMGPIPE_ENET;
    snprintf(key, sizeof(key), "%s%s", IMGPIPE_Q_WORKER, w->name);
    snprintf(pid, sizeof(pid), "%ld", (long)getpid());
    pthread_mutex_lock(&w->lock);
    snprintf(done, sizeof(done), "%llu", w->done);
    snprintf(failed, sizeof(failed), "%llu", w->failed);
    snprintf(inflight, sizeof(inflight), "%d", w->inflight);
    pthread_mutex_unlock(&w->lock);
    snprintf(ttl, sizeof(ttl), "%ld", w->claim_ms);
    size_t n = 0;
    queues[0] = '\0';
    for (int i = 0; i < w->nqueues && n < sizeof(queues); i++)
        n += (size_t)snprintf(queues + n, sizeof(queues) - n, "%s%s", i ? " " : "", w->queues[i]);
    const char *argv[] = {"EVAL",   beat_script, "2",    key,  IMGPIPE_Q_WORKERS,
                          w->host,  pid,         queues, done, failed,
                          inflight, ttl,         w->name};
    redisReply *r = imgpipe_q_cmd(*c, err, 13, argv);
    if (r)
        freeReplyObject(r);
    if (!r && (*c)->err) {
        redisFree(*c);
        *c = NULL;
    }
    return r ? IMGPIPE_OK : IMGPIPE_ENET;
}

static void beat_wait(struct worker *w, long ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L)
        ts.tv_sec++, ts.tv_nsec -= 1000000000L;
    pthread_cond_timedwait(&w->wake, &w->lock, &ts);
}

struct beater {
    struct worker *w;
    redisContext *c;
};

/* Beats every claim_after / 3, so one late beat never lets the heartbeat expire. */
static void *heartbeat_main(void *arg)
{
    struct beater *b = arg;
    struct worker *w = b->w;
    char err[IMGPIPE_ERRLEN];
    long every = w->claim_ms / 3 < 100 ? 100 : w->claim_ms / 3 > 10000 ? 10000 : w->claim_ms / 3;
    pthread_mutex_lock(&w->lock);
    while (!w->stopping) {
        beat_wait(w, every);
        if (w->stopping)
            break;
        pthread_mutex_unlock(&w->lock);
        beat(w, &b->c, err);
        pthread_mutex_lock(&w->lock);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

/* Gone for good: others may claim what we still hold (nothing, after a clean stop). */
static void heartbeat_end(struct worker *w, redisContext *c)
{
    if (!c)
        return;
    redisReply *r = redisCommand(c, "DEL %s%s", IMGPIPE_Q_WORKER, w->name);
    if (r)
        freeReplyObject(r);
    r = redisCommand(c, "SREM %s %s", IMGPIPE_Q_WORKERS, w->name);
    if (r)
        freeReplyObject(r);
}

/* ---- the run ------------------------------------------------------------------------- */

static int check_opts(const imgpipe_worker_opts *o, char *err)
{
    for (int i = 0; i < o->nqueues; i++)
        if (!imgpipe_q_name_ok(o->queues[i]))
            return imgpipe_errf(err, IMGPIPE_EINVAL, "bad queue name '%s'", o->queues[i]);
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
    pthread_cond_init(&w->wake, NULL);
    w->o = o;
    w->url = imgpipe_queue_url(o->url);
    w->queues = o->nqueues > 0 ? o->queues : fallback;
    w->nqueues = o->nqueues > 0 ? o->nqueues : 1;
    w->jobs = o->jobs > 0 ? o->jobs : DEFAULT_JOBS;
    w->retries = o->retries >= 0 ? o->retries : DEFAULT_RETRIES;
    w->claim_ms = o->claim_after_ms > 0 ? o->claim_after_ms : DEFAULT_CLAIM_MS;
    w->backoff = BACKOFF_MIN_S;
    w->recs_tail = &w->recs;
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
    while (w->recs) {
        struct rec *r = w->recs;
        w->recs = r->next;
        rec_free(r);
    }
    while (w->flight) {
        struct job *j = w->flight;
        w->flight = j->next;
        job_free(w, j);
    }
    while (w->dirs)
        dir_close(w, w->dirs);
    if (w->batch)
        freeReplyObject(w->batch);
    if (w->c)
        redisFree(w->c);
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
        flush(w);
        if (w->recs)
            nanosleep(&(struct timespec){.tv_nsec = 100 * 1000 * 1000}, NULL);
    }
    if (w->recs)
        notice(w, "could not record the last outcomes in Redis at %s%s", w->url, "");
}

static int run_jobs(struct worker *w, imgpipe_summary *sum, char *err)
{
    imgpipe_get_opts opts = w->o->get;
    opts.jobs = w->jobs;
    opts.mode = IMGPIPE_MODE_ASYNC;
    imgpipe_run r = {.opts = &opts,
                     .fetch = {.connect_timeout_ms = opts.connect_timeout_ms,
                               .read_timeout_ms = opts.read_timeout_ms,
                               .max_bytes = opts.max_bytes},
                     .dirfd = -1,
                     .cb = on_item,
                     .userdata = w,
                     .sum = sum,
                     .supply = supply,
                     .supply_ctx = w};
    pthread_mutex_init(&r.lock, NULL);
    double t0 = imgpipe_now();
    int rc = imgpipe_exec_async(&r, err);
    sum->seconds = imgpipe_now() - t0;
    pthread_mutex_destroy(&r.lock);
    sum->failed -= w->retried; /* the run counted every attempt */
    final_flush(w);
    return rc;
}

int imgpipe_worker_run(const imgpipe_worker_opts *o, imgpipe_item_cb cb, void *userdata,
                       imgpipe_summary *sum, char *err)
{
    struct worker w = {.cb = cb, .userdata = userdata};
    struct beater b = {.w = &w};
    char name[256];
    pthread_t beater;
    memset(sum, 0, sizeof(*sum));
    int rc = check_opts(o, err);
    if (rc)
        return rc;
    rc = worker_init(&w, o, name, err);
    /* The first beat before the first job: nobody may think our jobs abandoned. */
    if (rc == IMGPIPE_OK)
        rc = beat(&w, &b.c, err);
    if (rc == IMGPIPE_OK && pthread_create(&beater, NULL, heartbeat_main, &b))
        rc = imgpipe_errf(err, IMGPIPE_ENOMEM, "cannot start the heartbeat thread");
    else if (rc == IMGPIPE_OK) {
        rc = run_jobs(&w, sum, err);
        pthread_mutex_lock(&w.lock);
        w.stopping = 1;
        pthread_cond_signal(&w.wake);
        pthread_mutex_unlock(&w.lock);
        pthread_join(beater, NULL);
        heartbeat_end(&w, b.c ? b.c : w.c);
    }
    if (b.c)
        redisFree(b.c);
    worker_cleanup(&w);
    return rc;
}
