/* Reading ahead: the next batch of entries is asked for while the current one still has
 * jobs to hand out, with the outcomes recorded so far, and its reply is picked up once it
 * has come. The transfer loop then waits on Redis only when a batch runs out first.
 *
 * Only the plain case reads ahead: one queue, none of our own entries left to read again,
 * no claim or due retries to look at. Claims and our own entries wait for the batch to run
 * out, when imgpipe_wk_fill looks at each in turn; the supply moves due retries every
 * 0.1 s. Every other command first reads the reply owed (imgpipe_wk_settle): one
 * connection, replies in order. */
#include "queue/worker_int.h"

#include <poll.h>
#include <stdio.h>

static int may_read_ahead(const struct worker *w)
{
    double now = imgpipe_now();
    return w->c && !w->ahead && !w->next_batch && w->nqueues == 1 && w->own_done[0] &&
           imgpipe_wk_batch_left(w) <= (size_t)imgpipe_wk_reserve(w) / 2 && now >= w->idle_until &&
           now < w->reclaim_at && now < w->due_at;
}

void imgpipe_wk_read_ahead(struct worker *w)
{
    if (!may_read_ahead(w))
        return;
    char count[16];
    snprintf(count, sizeof(count), "%d", imgpipe_wk_reserve(w));
    const char *argv[] = {"XREADGROUP", "GROUP",   IMGPIPE_Q_GROUP, w->name, "COUNT",
                          count,        "STREAMS", w->streams[0],   ">"};
    if (redisAppendCommandArgv(w->c, 9, argv, NULL) != REDIS_OK) {
        imgpipe_wk_drop(w, "out of memory");
        return;
    }
    int sent = imgpipe_wk_flush_append(w);
    for (int done = 0; w->c && !done;)
        if (redisBufferWrite(w->c, &done) != REDIS_OK)
            imgpipe_wk_drop(w, w->c->errstr);
    if (!w->c)
        return;
    w->ahead = 1;
    w->ahead_flush = sent;
}

/* The reply, if it has come (all of it): 1 with it in *raw, 0 not yet, -1 on a
 * connection error (dropped). */
static int reply_if_come(struct worker *w, redisReply **raw)
{
    struct pollfd p = {.fd = w->c->fd, .events = POLLIN};
    if (redisGetReplyFromReader(w->c, (void **)raw) != REDIS_OK)
        goto lost;
    if (*raw)
        return 1;
    if (poll(&p, 1, 0) != 1)
        return 0;
    if (redisBufferRead(w->c) != REDIS_OK ||
        redisGetReplyFromReader(w->c, (void **)raw) != REDIS_OK)
        goto lost;
    return *raw != NULL;
lost:
    imgpipe_wk_drop(w, w->c->errstr);
    return -1;
}

void imgpipe_wk_ahead_collect(struct worker *w, int block)
{
    if (!w->ahead || !w->c)
        return;
    redisReply *raw = NULL;
    if (block) {
        if (redisGetReply(w->c, (void **)&raw) != REDIS_OK)
            raw = NULL; /* checked below: the connection is dropped */
    } else if (reply_if_come(w, &raw) <= 0) {
        return;
    }
    w->ahead = 0;
    if (raw) /* the outcomes' replies before anything else is asked */
        imgpipe_wk_flush_collect(w, w->ahead_flush);
    redisReply *entries = imgpipe_wk_group_entries(w, imgpipe_wk_checked(w, raw, "XREADGROUP"));
    if (entries && entries->elements > 0) {
        w->next_batch = entries;
        return;
    }
    if (entries)
        freeReplyObject(entries);
    if (w->c) /* none waiting: not asked again before the idle wait, read ahead or not */
        w->idle_until = imgpipe_now() + IMGPIPE_WK_IDLE_READ_S;
}

void imgpipe_wk_settle(struct worker *w)
{
    imgpipe_wk_ahead_collect(w, 1);
}

void imgpipe_wk_batch_next(struct worker *w)
{
    if (imgpipe_wk_batch_left(w) || !w->next_batch)
        return;
    if (w->batch)
        freeReplyObject(w->batch);
    w->batch = w->next_batch;
    w->batch_pos = 0;
    w->batch_qi = 0;
    w->batch_own = 0;
    w->next_batch = NULL;
}
