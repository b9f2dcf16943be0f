/* Recording outcomes: each job's outcome becomes a record (ack, retry, fail), and the
 * records go to Redis together in one MULTI/EXEC at the next supply call. */
#include "queue/worker_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void rec_free(struct wk_rec *r)
{
    imgpipe_strvec_free(&r->fields);
    free(r);
}

void imgpipe_wk_recs_free(struct worker *w)
{
    while (w->recs) {
        struct wk_rec *r = w->recs;
        w->recs = r->next;
        rec_free(r);
    }
    w->recs_tail = &w->recs;
}

/* Queues an outcome; on out of memory the entry stays pending and is claimed later. */
static struct wk_rec *rec_add(struct worker *w, enum wk_rec_kind kind, int qi, const char *id)
{
    struct wk_rec *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->kind = kind;
    r->qi = qi;
    snprintf(r->id, sizeof(r->id), "%s", id);
    *w->recs_tail = r;
    w->recs_tail = &r->next;
    return r;
}

void imgpipe_wk_ack(struct worker *w, int qi, const char *id)
{
    rec_add(w, WK_ACK, qi, id);
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
    for (struct wk_rec *r = w->recs; ok && r; r = r->next) {
        if (r->qi != qi)
            continue;
        ok = !imgpipe_strvec_push(&ack, r->id) && !imgpipe_strvec_push(&del, r->id);
        done += r->kind == WK_ACK;
        retried += r->kind == WK_RETRY;
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
void imgpipe_wk_flush(struct worker *w)
{
    if (!w->recs || !imgpipe_wk_connected(w))
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
        ok = redisGetReply(w->c, (void **)&last) == REDIS_OK && last;
    }
    /* EXEC ran: an array with one reply per queued command (nil when it was aborted). */
    ok = ok && last->type == REDIS_REPLY_ARRAY && last->elements == (size_t)(sent - 2);
    if (last)
        freeReplyObject(last);
    if (!ok) {
        imgpipe_wk_drop(w, w->c && w->c->err ? w->c->errstr
                                             : "MULTI/EXEC was refused or answered unexpectedly");
        return;
    }
    imgpipe_wk_recs_free(w);
}

/* The entry's fields for a retry (attempt + 1) or a failure (with why). The attempt field
 * is always written afresh, so an entry that lacked one (or had a garbled one) counts its
 * attempts like any other. */
static int copy_fields(struct worker *w, const struct wk_job *j, struct wk_rec *r, int retry,
                       int status, const char *error)
{
    char attempt[16], failed[IMGPIPE_Q_KEYLEN];
    imgpipe_q_key(failed, w->queues[j->qi], ":failed");
    snprintf(attempt, sizeof(attempt), "%d", retry ? j->attempt + 1 : j->attempt);
    imgpipe_strvec *f = &r->fields;
    int bad = imgpipe_strvec_push(f, "XADD") ||
              imgpipe_strvec_push(f, retry ? w->streams[j->qi] : failed) ||
              imgpipe_strvec_push(f, "*");
    for (size_t i = 0; !bad && i + 1 < j->fields.n; i += 2)
        if (strcmp(j->fields.v[i], "attempt") != 0)
            bad = imgpipe_strvec_push(f, j->fields.v[i]) ||
                  imgpipe_strvec_push(f, j->fields.v[i + 1]);
    if (!bad)
        bad = imgpipe_strvec_push(f, "attempt") || imgpipe_strvec_push(f, attempt);
    if (!retry && !bad)
        bad = imgpipe_strvec_push(f, "error") || imgpipe_strvec_push(f, error) ||
              imgpipe_strvec_push(f, "status") ||
              imgpipe_strvec_push(f, imgpipe_strerror(status)) ||
              imgpipe_strvec_push(f, "worker") || imgpipe_strvec_push(f, w->name);
    return bad ? IMGPIPE_ENOMEM : IMGPIPE_OK;
}

/* --retries N means what it means for `get`: N more attempts after the first. Whether a
 * failure may pass on another attempt is the outcome's own `transient`. */
void imgpipe_wk_finish(struct worker *w, struct wk_job *j, int status, int transient,
                       const char *error)
{
    int retry = status && transient && j->attempt < w->retries;
    struct wk_rec *r = rec_add(w,
                               status == IMGPIPE_OK ? WK_ACK
                               : retry              ? WK_RETRY
                                                    : WK_FAIL,
                               j->qi, j->id);
    if (r && status)
        copy_fields(w, j, r, retry, status, error);
    j->verdict = retry ? WK_RETRIED : WK_RECORDED;
    pthread_mutex_lock(&w->lock);
    if (status == IMGPIPE_OK)
        w->done++;
    else if (!retry)
        w->failed++;
    pthread_mutex_unlock(&w->lock);
}
