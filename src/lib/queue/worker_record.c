/* Recording outcomes: each job's outcome becomes a record (ack, retry, fail), and the
 * records go to Redis together in one MULTI/EXEC at the next supply call. */
#include "queue/worker_int.h"
#include "common/retry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void rec_free(struct wk_rec *r)
{
    imgpipe_strvec_free(&r->fields);
    free(r->url);
    free(r);
}

static void recs_free(struct wk_rec *r)
{
    while (r) {
        struct wk_rec *next = r->next;
        rec_free(r);
        r = next;
    }
}

void imgpipe_wk_recs_free(struct worker *w)
{
    recs_free(w->recs);
    recs_free(w->sending);
    w->recs = w->sending = NULL;
    w->recs_tail = &w->recs;
    w->nrecs = 0;
}

void imgpipe_wk_recs_unsend(struct worker *w)
{
    if (!w->sending)
        return;
    struct wk_rec *last = w->sending;
    while (last->next)
        last = last->next;
    last->next = w->recs;
    if (!w->recs)
        w->recs_tail = &last->next;
    w->recs = w->sending;
    w->sending = NULL;
    w->nrecs = 0;
    for (struct wk_rec *r = w->recs; r; r = r->next)
        w->nrecs++;
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
    if (w->nrecs++ == 0)
        w->recs_since = imgpipe_now();
    return r;
}

#define FLUSH_AFTER_S 0.1 /* a record waits no longer than this for others to join it */

int imgpipe_wk_flush_due(const struct worker *w)
{
    return w->nrecs > 0 && (w->inflight == 0 || w->nrecs >= w->jobs ||
                            imgpipe_now() - w->recs_since >= FLUSH_AFTER_S);
}

void imgpipe_wk_ack(struct worker *w, int qi, const char *id)
{
    rec_add(w, WK_GONE, qi, id);
}

/* One queue's records, in one script: each entry is settled only while the pending list
 * still has it under our name. A worker frozen past claim-after whose job was claimed by
 * another (or already acked by it) is refused, so `done` never counts a job twice and a
 * retry is never scheduled twice. KEYS: stream, failed, stats, urls, scheduled. ARGV:
 * group, consumer, then per record: kind (a done, g gone, r retry, f failed, b given back
 * unstarted: a new entry at the stream's end, the URL's state its id), id, url,
 * delay ms, field count, fields. A retry waits in the scheduled set (score: due time on
 * Redis's clock; member: "<old id>\n<fields as JSON>"). Returns the refused count.
 * A script is not undone when it fails half-way: a key of another type (set by hand) fails
 * it before any write, and the outcomes stay queued, sent again after a backoff; what may
 * fail still (an entry of more fields than unpack takes) is written first, under pcall,
 * and the entry is acked only once its retry or failure is in place: a failure that
 * cannot be written whole is written as its URL and reason. */
static const char record_script[] =
    "local want = {'stream', 'stream', 'hash', 'hash', 'zset'}\n"
    "for k = 1, 5 do\n"
    "  local ty = redis.call('TYPE', KEYS[k])['ok']\n"
    "  if ty ~= 'none' and ty ~= want[k] then\n"
    "    return redis.error_reply('WRONGTYPE ' .. KEYS[k] .. ' is a ' .. ty .. ', not a ' .. "
    "want[k])\n"
    "  end\n"
    "end\n"
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local i, done, retried, refused = 3, 0, 0, 0\n"
    "local function add(key, f)\n"
    "  local ok, r = pcall(function() return redis.call('XADD', key, '*', unpack(f)) end)\n"
    "  if ok then return r end\n"
    "  return nil, (string.gsub(type(r) == 'table' and tostring(r.err) or tostring(r), "
    "'^[%w_]+:%d+: ', ''))\n"
    "end\n"
    "local function fail(url, f, extra)\n"
    "  local why, st = extra, 'invalid argument'\n"
    "  for k = 1, #f - 1, 2 do\n"
    "    if f[k] == 'error' then why = f[k + 1] elseif f[k] == 'status' then st = f[k + 1] end\n"
    "  end\n"
    "  if extra then f[#f + 1] = 'error'; f[#f + 1] = extra; f[#f + 1] = 'status'\n"
    "    f[#f + 1] = st; f[#f + 1] = 'worker'; f[#f + 1] = ARGV[2] end\n"
    "  local id, e = add(KEYS[2], f)\n"
    "  if not id then id = add(KEYS[2], {'url', url, 'error', tostring(why) .. ' (the job could '\n"
    "    .. 'not be recorded whole: ' .. e .. ')', 'status', st, 'worker', ARGV[2]}) end\n"
    "  if id then pcall(redis.call, 'HSET', KEYS[4], url, 'failed') end\n"
    "  return id\n"
    "end\n"
    "while i <= #ARGV do\n"
    "  local kind, id, url, delay, nf = ARGV[i], ARGV[i + 1], ARGV[i + 2],\n"
    "    tonumber(ARGV[i + 3]), tonumber(ARGV[i + 4])\n"
    "  local f = {}\n"
    "  for k = 1, nf do f[k] = ARGV[i + 4 + k] end\n"
    "  i = i + 5 + nf\n"
    "  if #redis.call('XPENDING', KEYS[1], ARGV[1], id, id, 1, ARGV[2]) == 0 then\n"
    "    refused = refused + 1\n"
    "  else\n"
    "    local settled = true\n"
    "    if kind == 'a' then\n"
    "      done = done + 1\n"
    "      pcall(redis.call, 'HSET', KEYS[4], url, 'done')\n"
    "    elseif kind == 'r' then\n"
    "      local ok, e = pcall(redis.call, 'ZADD', KEYS[5], now + delay, id .. '\\n' .. "
    "cjson.encode(f))\n"
    "      if ok then\n"
    "        retried = retried + 1\n"
    "        pcall(redis.call, 'HSET', KEYS[4], url, 'scheduled')\n"
    "      else\n"
    "        settled = fail(url, f, 'its retry could not be scheduled: ' .. tostring(e.err or e))\n"
    "      end\n"
    "    elseif kind == 'f' then\n"
    "      settled = fail(url, f)\n"
    "    elseif kind == 'b' and nf > 0 then\n"
    "      settled = add(KEYS[1], f)\n"
    "      if settled then pcall(redis.call, 'HSET', KEYS[4], url, settled) end\n"
    "    end\n"
    "    if settled then\n"
    "      redis.call('XACK', KEYS[1], ARGV[1], id)\n"
    "      redis.call('XDEL', KEYS[1], id)\n"
    "    end\n"
    "  end\n"
    "end\n"
    "if done > 0 then pcall(redis.call, 'HINCRBY', KEYS[3], 'done', done) end\n"
    "if retried > 0 then pcall(redis.call, 'HINCRBY', KEYS[3], 'retried', retried) end\n"
    "if refused > 0 then pcall(redis.call, 'HINCRBY', KEYS[3], 'refused', refused) end\n"
    "return refused\n";

int imgpipe_wk_record_load(struct worker *w, char *err)
{
    int rc = imgpipe_q_script_load(w->c, record_script, w->record_sha, err);
    if (rc)
        w->record_sha[0] = '\0';
    return rc;
}

static int push_rec(imgpipe_strvec *a, const struct wk_rec *r)
{
    static const char kinds[] = {
        [WK_ACK] = 'a', [WK_GONE] = 'g', [WK_RETRY] = 'r', [WK_FAIL] = 'f', [WK_BACK] = 'b'};
    char kind[2] = {kinds[r->kind], 0}, delay[24], nf[24];
    snprintf(delay, sizeof(delay), "%ld", r->delay_ms);
    snprintf(nf, sizeof(nf), "%zu", r->fields.n);
    int bad = imgpipe_strvec_push(a, kind) || imgpipe_strvec_push(a, r->id) ||
              imgpipe_strvec_push(a, r->url ? r->url : "") || imgpipe_strvec_push(a, delay) ||
              imgpipe_strvec_push(a, nf);
    for (size_t i = 0; !bad && i < r->fields.n; i++)
        bad = imgpipe_strvec_push(a, r->fields.v[i]);
    return bad;
}

/* The script call for the records of queue qi: 1 sent (or none to send), 0 out of memory. */
static int append_queue(struct worker *w, int qi, int *sent)
{
    char keys[5][IMGPIPE_Q_KEYLEN];
    static const char *const suffix[] = {"", ":failed", ":stats", ":urls", ":scheduled"};
    imgpipe_strvec a = {0};
    int sha = w->record_sha[0] != '\0';
    int bad = imgpipe_strvec_push(&a, sha ? "EVALSHA" : "EVAL") ||
              imgpipe_strvec_push(&a, sha ? w->record_sha : record_script) ||
              imgpipe_strvec_push(&a, "5");
    for (int k = 0; k < 5 && !bad; k++) {
        imgpipe_q_key(keys[k], w->queues[qi], suffix[k]);
        bad = imgpipe_strvec_push(&a, keys[k]);
    }
    bad = bad || imgpipe_strvec_push(&a, IMGPIPE_Q_GROUP) || imgpipe_strvec_push(&a, w->name);
    size_t head = a.n;
    for (struct wk_rec *r = w->recs; !bad && r; r = r->next)
        if (r->qi == qi)
            bad = push_rec(&a, r);
    int ok = !bad;
    if (ok && a.n > head) {
        ok = redisAppendCommandArgv(w->c, (int)a.n, (const char **)a.v, NULL) == REDIS_OK;
        *sent += ok;
    }
    imgpipe_strvec_free(&a);
    return ok;
}

/* Sends every queued outcome: one script call per queue, in one MULTI/EXEC. An entry
 * leaves the pending list in the same script that schedules its retry or adds its failure,
 * so none is lost or doubled by a crash between the two. Records stay queued when Redis
 * cannot be reached. */
int imgpipe_wk_flush_append(struct worker *w)
{
    if (!w->recs || !imgpipe_wk_connected(w))
        return 0;
    int sent = 1, ok = redisAppendCommand(w->c, "MULTI") == REDIS_OK;
    for (int qi = 0; ok && qi < w->nqueues; qi++)
        ok = append_queue(w, qi, &sent);
    ok = ok && redisAppendCommand(w->c, "EXEC") == REDIS_OK && ++sent;
    if (!ok) { /* what was appended goes with the connection */
        imgpipe_wk_drop(w, w->c->err ? w->c->errstr : "out of memory");
        return 0;
    }
    /* Outcomes made while the replies are awaited (a read ahead) join the next MULTI. */
    w->sending = w->recs;
    w->recs = NULL;
    w->recs_tail = &w->recs;
    w->nrecs = 0;
    return sent;
}

void imgpipe_wk_flush(struct worker *w)
{
    imgpipe_wk_settle(w);
    imgpipe_wk_flush_collect(w, imgpipe_wk_flush_append(w));
}

/* The records of queue qi taken out of those sent, and freed: its script ran. */
static void sending_settled(struct worker *w, int qi)
{
    for (struct wk_rec **p = &w->sending; *p;) {
        struct wk_rec *r = *p;
        if (r->qi != qi) {
            p = &r->next;
            continue;
        }
        *p = r->next;
        rec_free(r);
    }
}

static void say_refused(struct worker *w, long long refused)
{
    char n[24];
    snprintf(n, sizeof(n), "%lld", refused);
    imgpipe_wk_notice(w,
                      "%s outcomes refused: their jobs were claimed by another worker while "
                      "this one was silent past claim-after%s",
                      n, "");
}

static int has_sending(const struct worker *w, int qi)
{
    for (const struct wk_rec *r = w->sending; r; r = r->next)
        if (r->qi == qi)
            return 1;
    return 0;
}

void imgpipe_wk_flush_collect(struct worker *w, int sent)
{
    int ok = sent > 0;
    if (!ok)
        return;
    redisReply *last = NULL;
    for (int i = 0; i < sent && ok; i++) {
        if (last)
            freeReplyObject(last);
        last = NULL;
        ok = redisGetReply(w->c, (void **)&last) == REDIS_OK && last;
    }
    /* EXEC ran: an array with one reply per queued command (nil when it was aborted). */
    ok = ok && last->type == REDIS_REPLY_ARRAY && last->elements == (size_t)(sent - 2);
    long long refused = 0;
    int refusing = 0, failed = 0;
    char why[256] = "the outcome script was refused or answered unexpectedly";
    /* Each queue's script is its own: one that failed keeps its records for the resend;
     * one that ran has written its records, which are not sent again (they would come back
     * "refused", already acked, each time the other is tried). The replies are in queue
     * order, one per queue with records (imgpipe_wk_flush_append). */
    size_t i = 0;
    for (int qi = 0; ok && qi < w->nqueues && i < last->elements; qi++) {
        if (!has_sending(w, qi))
            continue;
        const redisReply *n = imgpipe_q_elem(last, i, REDIS_REPLY_INTEGER);
        const redisReply *e = imgpipe_q_elem(last, i, REDIS_REPLY_ERROR);
        i++;
        if (e && e->str) /* say what Redis said */
            snprintf(why, sizeof(why), "the outcomes cannot be recorded: %s", e->str);
        if (e && e->str && strncmp(e->str, "WRONGTYPE", 9) == 0)
            refusing = 1; /* a key of another type: until fixed, back off, say it once */
        if (n) {
            refused += n->integer;
            sending_settled(w, qi);
        } else {
            failed = 1;
        }
    }
    ok = ok && !failed && i == last->elements;
    if (last)
        freeReplyObject(last);
    if (refused)
        say_refused(w, refused);
    if (!ok) {
        imgpipe_wk_drop(w, w->c && w->c->err ? w->c->errstr : why);
        w->refusing = refusing;
        return;
    }
    if (w->refusing) {
        w->refusing = 0;
        imgpipe_wk_notice(w, "Redis at %s takes the outcomes again; carrying on%s", w->shown_url,
                          "");
        w->lost = 0;
        w->backoff = IMGPIPE_WK_BACKOFF_MIN_S;
    }
    recs_free(w->sending);
    w->sending = NULL;
}

/* The entry's fields for a retry (attempt + 1) or a failure (with why). The attempt field
 * is always written afresh, so an entry that lacked one (or had a garbled one) counts its
 * attempts like any other. */
static int copy_fields(struct worker *w, const struct wk_job *j, struct wk_rec *r, int retry,
                       int status, const char *error)
{
    char attempt[16];
    snprintf(attempt, sizeof(attempt), "%d", retry ? j->attempt + 1 : j->attempt);
    imgpipe_strvec *f = &r->fields;
    int bad = 0;
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

static const char *job_url(const struct wk_job *j)
{
    for (size_t i = 0; i + 1 < j->fields.n; i += 2)
        if (strcmp(j->fields.v[i], "url") == 0)
            return j->fields.v[i + 1];
    return "";
}

/* --retries N means what it means for `get`: N more attempts after the first, each after a
 * wait that grows (jittered, or the server's Retry-After: common/retry.c) spent in the
 * scheduled set, not in a worker's slot. Whether a failure may pass on another attempt is
 * the outcome's own `transient`; a Retry-After longer than we wait fails the job. */
void imgpipe_wk_finish(struct worker *w, struct wk_job *j, int status, int transient,
                       long retry_after_ms, const char *error)
{
    int retry = status && transient && j->attempt < w->retries;
    long delay = retry ? imgpipe_retry_delay_ms(j->attempt + 1, w->o->get.retry_wait_ms,
                                                retry_after_ms, &w->rng)
                       : 0;
    retry = retry && delay >= 0;
    struct wk_rec *r = rec_add(w,
                               status == IMGPIPE_OK ? WK_ACK
                               : retry              ? WK_RETRY
                                                    : WK_FAIL,
                               j->qi, j->id);
    if (r) {
        r->delay_ms = delay;
        r->url = strdup(job_url(j)); /* NULL when out of memory: sent as "" */
    }
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

void imgpipe_wk_give_back(struct worker *w, const redisReply *entries, size_t from, int qi)
{
    for (size_t i = from; entries && i < entries->elements; i++) {
        const redisReply *e = entries->element[i], *kv = e->element[1];
        if (kv->type != REDIS_REPLY_ARRAY) { /* deleted while pending */
            imgpipe_wk_ack(w, qi, e->element[0]->str);
            continue;
        }
        /* A claimed entry keeps its delivery count (poison-pill protection) and an entry
         * without fields is not one to add again: both stay pending, for a claim. */
        if ((e->elements > 2 && e->element[2]->integer > 1) || kv->elements == 0)
            continue;
        imgpipe_strvec f = {0};
        int bad = 0;
        for (size_t k = 0; !bad && k < kv->elements; k++)
            bad = imgpipe_strvec_push(&f, kv->element[k]->str);
        struct wk_rec *r = bad ? NULL : rec_add(w, WK_BACK, qi, e->element[0]->str);
        if (!r) { /* out of memory: it stays pending, for a claim */
            imgpipe_strvec_free(&f);
            continue;
        }
        const char *url = imgpipe_q_field(kv, "url");
        r->url = strdup(url ? url : "");
        r->fields = f;
    }
}
