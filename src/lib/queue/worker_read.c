/* Reading entries: claims of dead workers' entries first, then our own pending ones, then
 * new ones, a batch at a time. Every reply is checked for its shape before it is indexed;
 * a reply of another shape drops the connection (with a notice) like a network error. */
#include "queue/worker_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DUE_EVERY_S 0.1 /* how often the scheduled retries are looked at */
#define DUE_BATCH "256" /* retries moved per queue per look */

/* Entries as XREADGROUP gives them, [id, fields-or-nil], with a delivery count after them
 * when they come from the claim script. */
static int entries_ok(const redisReply *entries, int counted)
{
    if (entries->type != REDIS_REPLY_ARRAY)
        return 0;
    for (size_t i = 0; i < entries->elements; i++) {
        const redisReply *e = entries->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements != (counted ? 3u : 2u) ||
            e->element[0]->type != REDIS_REPLY_STRING ||
            (e->element[1]->type != REDIS_REPLY_ARRAY && e->element[1]->type != REDIS_REPLY_NIL) ||
            (counted && e->element[2]->type != REDIS_REPLY_INTEGER))
            return 0;
        for (size_t k = 0; e->element[1]->type == REDIS_REPLY_ARRAY && k < e->element[1]->elements;
             k++)
            if (e->element[1]->element[k]->type != REDIS_REPLY_STRING)
                return 0;
    }
    return 1;
}

/* Takes the entries as the batch to hand out: 1, or 0 (entries freed, connection dropped)
 * when they are not shaped as entries. */
static int batch_set(struct worker *w, redisReply *entries, int counted, int qi, const char *what)
{
    if (!entries_ok(entries, counted)) {
        freeReplyObject(entries);
        char why[128];
        snprintf(why, sizeof(why), "Redis answered %s with a reply of an unexpected shape", what);
        imgpipe_wk_drop(w, why);
        return 0;
    }
    if (w->batch)
        freeReplyObject(w->batch);
    w->batch = entries;
    w->batch_pos = 0;
    w->batch_qi = qi;
    w->batch_own = 0;
    return entries->elements > 0;
}

size_t imgpipe_wk_batch_left(const struct worker *w)
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
    redisReply *r = imgpipe_wk_command(w, 10, argv);
    return r && batch_set(w, r, 1, qi, "the claim script");
}

/* XREADGROUP from one queue: new entries (">"), or our own pending ones after `from`.
 * The reply is [[stream, entries]], or nil when there are none. */
static int read_group(struct worker *w, int qi, int want, const char *from)
{
    char count[16];
    snprintf(count, sizeof(count), "%d", want);
    const char *argv[] = {"XREADGROUP", "GROUP",   IMGPIPE_Q_GROUP, w->name, "COUNT",
                          count,        "STREAMS", w->streams[qi],  from};
    redisReply *entries = imgpipe_wk_group_entries(w, imgpipe_wk_command_flushing(w, 9, argv));
    return entries && batch_set(w, entries, 0, qi, "XREADGROUP");
}

redisReply *imgpipe_wk_group_entries(struct worker *w, redisReply *r)
{
    if (!r || r->type == REDIS_REPLY_NIL) {
        if (r)
            freeReplyObject(r);
        return NULL;
    }
    redisReply *stream = imgpipe_q_elem(r, 0, REDIS_REPLY_ARRAY);
    redisReply *entries = stream && stream->elements == 2 && r->elements == 1
                              ? imgpipe_q_elem(stream, 1, REDIS_REPLY_ARRAY)
                              : NULL;
    if (entries) /* keep the entries, free the rest */
        stream->element[1] = NULL;
    freeReplyObject(r);
    if (entries && !entries_ok(entries, 0)) {
        freeReplyObject(entries);
        entries = NULL;
    }
    if (!entries)
        imgpipe_wk_drop(w, "Redis answered XREADGROUP with a reply of an unexpected shape");
    return entries;
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
    w->batch_own = 1;
    snprintf(w->own_last[qi], sizeof(w->own_last[qi]), "%s",
             w->batch->element[w->batch->elements - 1]->element[0]->str);
    return 1;
}

/* The due retries back to the stream, atomically (a script): each gets a new entry, and
 * the URL's state its id. A member that is not a retry as the worker writes them (edited
 * by hand: not a JSON array of text, an odd count, more fields than unpack takes) goes to
 * the failed list with the reason, under pcall, so that it neither stops the retries
 * after it nor vanishes. KEYS: scheduled, stream, urls, failed. ARGV: how many at most,
 * the worker's name. */
static const char due_script[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))\n"
    "for _, m in ipairs(due) do\n"
    "  local nl = string.find(m, '\\n', 1, true)\n"
    "  local ok, f = pcall(cjson.decode, string.sub(m, (nl or 0) + 1))\n"
    "  local url, why = nil, nil\n"
    "  if not ok or type(f) ~= 'table' or #f < 2 or #f % 2 ~= 0 then\n"
    "    why = 'not a JSON array of field names and values'\n"
    "  else\n"
    "    for k = 1, #f do if type(f[k]) ~= 'string' then why = 'a field that is not text' end end\n"
    "  end\n"
    "  for k = 1, ok and type(f) == 'table' and #f - 1 or 0, 2 do\n"
    "    if f[k] == 'url' and type(f[k + 1]) == 'string' then url = f[k + 1] end\n"
    "  end\n"
    "  local id\n"
    "  if not why then\n"
    "    ok, id = pcall(function() return redis.call('XADD', KEYS[2], '*', unpack(f)) end)\n"
    "    if not ok then\n"
    "      why = string.gsub(type(id) == 'table' and tostring(id.err) or tostring(id), "
    "'^[%w_]+:%d+: ', '')\n"
    "    end\n"
    "  end\n"
    "  if why then\n"
    "    ok, id = pcall(redis.call, 'XADD', KEYS[4], '*', 'url', url or '', 'error',\n"
    "      'unreadable scheduled retry: ' .. why, 'status', 'invalid argument', 'worker', "
    "ARGV[2])\n"
    "  end\n"
    "  if ok and url then pcall(redis.call, 'HSET', KEYS[3], url, why and 'failed' or id) end\n"
    "  if ok then redis.call('ZREM', KEYS[1], m) end\n"
    "end\n"
    "return #due\n";

void imgpipe_wk_move_due(struct worker *w)
{
    double now = imgpipe_now();
    if (now < w->due_at)
        return;
    w->due_at = now + DUE_EVERY_S;
    for (int qi = 0; qi < w->nqueues && w->c; qi++) {
        char sched[IMGPIPE_Q_KEYLEN], urls[IMGPIPE_Q_KEYLEN], failed[IMGPIPE_Q_KEYLEN];
        imgpipe_q_key(sched, w->queues[qi], ":scheduled");
        imgpipe_q_key(urls, w->queues[qi], ":urls");
        imgpipe_q_key(failed, w->queues[qi], ":failed");
        const char *argv[] = {"EVAL", due_script, "4",       sched,  w->streams[qi],
                              urls,   failed,     DUE_BATCH, w->name};
        redisReply *r = imgpipe_wk_command(w, 9, argv);
        if (r)
            freeReplyObject(r);
    }
}

/* Refills the batch: our own pending entries first (from an earlier life: read them before
 * claiming, or a claimed entry, pending under our name by then, would be read twice), then
 * claimable entries (they are the oldest), then each queue in order. */
int imgpipe_wk_fill(struct worker *w)
{
    double now = imgpipe_now();
    int want = w->jobs - w->inflight + imgpipe_wk_reserve(w); /* free slots, and a reserve */
    /* Jobs waiting for the CPU hold no transfer slot, so inflight can pass jobs plus the
     * reserve; we are asked because a slot is free. COUNT 0 or less would be no limit to
     * Redis: the whole stream, hoarded. */
    if (want < 1)
        want = 1;
    if (now < w->idle_until || !imgpipe_wk_connected(w))
        return -1;
    for (int qi = 0; qi < w->nqueues && w->c; qi++)
        if (read_own(w, qi, want))
            return 1;
    imgpipe_wk_move_due(w);
    if (now >= w->reclaim_at) {
        w->reclaim_at = now + (double)w->claim_ms / 4000.0;
        for (int qi = 0; qi < w->nqueues && w->c; qi++)
            if (reclaim(w, qi, want))
                return 1;
    }
    for (int qi = 0; qi < w->nqueues && w->c; qi++)
        if (read_group(w, qi, want, ">"))
            return 1;
    w->idle_until = now + IMGPIPE_WK_IDLE_READ_S;
    return w->c ? 0 : -1;
}

/* Burst mode ends when the queue is drained: nothing waiting and nothing held by anyone.
 * Entries another worker holds are waited for even while its heartbeat lives: a worker
 * killed a moment ago still looks alive for up to claim_after, and leaving then would
 * strand its entries until some later worker came. Entries we hold ourselves but no
 * longer have in flight are read again. XPENDING's summary is
 * [count, first id, last id, [[consumer, count], ...] or nil]. */
static int queue_settled(struct worker *w, int qi)
{
    char sched[IMGPIPE_Q_KEYLEN];
    imgpipe_q_key(sched, w->queues[qi], ":scheduled");
    redisReply *z = redisCommand(w->c, "ZCARD %s", sched);
    int waiting = !z || z->type != REDIS_REPLY_INTEGER || z->integer > 0;
    if (z)
        freeReplyObject(z);
    if (waiting) /* retries to come: they are this worker's to run too */
        return 0;
    redisReply *len = redisCommand(w->c, "XLEN %s", w->streams[qi]);
    redisReply *p = redisCommand(w->c, "XPENDING %s %s", w->streams[qi], IMGPIPE_Q_GROUP);
    redisReply *held = p && p->elements == 4 ? imgpipe_q_elem(p, 0, REDIS_REPLY_INTEGER) : NULL;
    redisReply *owners = held ? imgpipe_q_elem(p, 3, REDIS_REPLY_ARRAY) : NULL;
    int settled = len && held && len->type == REDIS_REPLY_INTEGER &&
                  len->integer <= held->integer && held->integer == 0;
    for (size_t i = 0; owners && i < owners->elements; i++) {
        const redisReply *owner = imgpipe_q_elem(owners->element[i], 0, REDIS_REPLY_STRING);
        if (owner && strcmp(owner->str, w->name) == 0) {
            w->own_done[qi] = 0;
            snprintf(w->own_last[qi], sizeof(w->own_last[qi]), "0");
            break;
        }
    }
    if (len)
        freeReplyObject(len);
    if (p)
        freeReplyObject(p);
    if (w->c->err)
        imgpipe_wk_drop(w, w->c->errstr);
    return settled;
}

int imgpipe_wk_burst_done(struct worker *w)
{
    imgpipe_wk_settle(w);
    if (w->inflight || imgpipe_wk_batch_left(w) || w->next_batch || w->recs || w->sending || !w->c)
        return 0;
    for (int qi = 0; qi < w->nqueues; qi++)
        if (!w->c || !queue_settled(w, qi))
            return 0;
    return 1;
}
