/* Operations on a queue as a whole or on one URL: purge, and the look-up of a job by its
 * URL (through the queue's URL states, docs/queue.md). */
#include "queue/queue.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* One step of a purge. KEYS: stream, scheduled, urls; ARGV: the last entry id seen ('' at
 * the first step), the last id to look at (the stream's last at the first step, so jobs
 * enqueued meanwhile stay), how many entries a step looks at. A step is one script, so no
 * worker can read an entry between the pending check and its deletion: an entry read
 * before the step is left to finish, one not read by then is gone before a worker sees it.
 * A state in :urls is forgotten only when it is the dropped job's, never another's.
 * Returns {dropped, the id to go on after ('' when done), the last id}. */
static const char purge_script[] =
    "local n, from, last = 0, '-', ARGV[2]\n"
    "if ARGV[1] == '' then\n"
    "  for _, m in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do\n"
    "    local nl = string.find(m, '\\n', 1, true)\n"
    "    local ok, f = pcall(cjson.decode, string.sub(m, (nl or 0) + 1))\n"
    "    for i = 1, (ok and type(f) == 'table') and #f - 1 or 0, 2 do\n"
    "      if f[i] == 'url' and redis.call('HGET', KEYS[3], f[i + 1]) == 'scheduled' then\n"
    "        redis.call('HDEL', KEYS[3], f[i + 1]) end\n"
    "    end\n"
    "    n = n + 1\n"
    "  end\n"
    "  redis.call('DEL', KEYS[2])\n"
    "  local top = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)[1]\n"
    "  if not top then return {n, '', ''} end\n"
    "  last = top[1]\n"
    "else\n"
    "  from = '(' .. ARGV[1]\n"
    "end\n"
    "local es = redis.call('XRANGE', KEYS[1], from, last, 'COUNT', tonumber(ARGV[3]))\n"
    "for _, e in ipairs(es) do\n"
    "  local p = redis.pcall('XPENDING', KEYS[1], '" IMGPIPE_Q_GROUP "', e[1], e[1], 1)\n"
    "  if p.err or #p == 0 then\n"
    "    local f = e[2]\n"
    "    for i = 1, #f - 1, 2 do\n"
    "      if f[i] == 'url' and redis.call('HGET', KEYS[3], f[i + 1]) == e[1] then\n"
    "        redis.call('HDEL', KEYS[3], f[i + 1]) end\n"
    "    end\n"
    "    redis.call('XDEL', KEYS[1], e[1])\n"
    "    n = n + 1\n"
    "  end\n"
    "end\n"
    "local go = #es == tonumber(ARGV[3]) and es[#es][1] or ''\n"
    "return {n, go, last}\n";

#define PURGE_STEP "500" /* entries a step looks at: Redis serves others between steps */
#define PURGE_ID 64      /* an entry id, "<ms>-<seq>", is at most 41 bytes */

/* Reads a step's reply into *count, after and last; 0 when it has the script's shape. */
static int purge_reply(const redisReply *r, uint64_t *count, char after[PURGE_ID],
                       char last[PURGE_ID])
{
    const redisReply *n = imgpipe_q_elem(r, 0, REDIS_REPLY_INTEGER);
    const redisReply *a = imgpipe_q_elem(r, 1, REDIS_REPLY_STRING);
    const redisReply *l = imgpipe_q_elem(r, 2, REDIS_REPLY_STRING);
    if (!n || !a || !l || a->len >= PURGE_ID || l->len >= PURGE_ID || n->integer < 0)
        return -1;
    *count += (uint64_t)n->integer;
    memcpy(after, a->str, a->len + 1);
    memcpy(last, l->str, l->len + 1);
    return 0;
}

int imgpipe_queue_purge(imgpipe_queue *q, const char *queue, uint64_t *count, char *err)
{
    *count = 0;
    if (!imgpipe_q_name_ok(queue))
        return imgpipe_errf(err, IMGPIPE_EINVAL, "bad queue name '%s' (" IMGPIPE_Q_NAME_RULE ")",
                            queue);
    char stream[IMGPIPE_Q_KEYLEN], sched[IMGPIPE_Q_KEYLEN], urls[IMGPIPE_Q_KEYLEN];
    imgpipe_q_key(stream, queue, "");
    imgpipe_q_key(sched, queue, ":scheduled");
    imgpipe_q_key(urls, queue, ":urls");
    redisContext *c = imgpipe_q_context(q);
    char after[PURGE_ID] = "", last[PURGE_ID] = "";
    do {
        const char *argv[] = {"EVAL", purge_script, "3",  stream,    sched,
                              urls,   after,        last, PURGE_STEP};
        redisReply *r = imgpipe_q_cmd(c, err, 9, argv);
        if (!r)
            return c->err ? IMGPIPE_ENET : IMGPIPE_EAPI;
        int bad = purge_reply(r, count, after, last);
        freeReplyObject(r);
        if (bad)
            return imgpipe_errf(err, IMGPIPE_EAPI, "Redis answered the purge oddly");
    } while (*after);
    return IMGPIPE_OK;
}

/* The job's entry: its name and attempt, and who holds it for how long. */
static void describe_entry(redisContext *c, const char *stream, const char *id, json_t *o)
{
    redisReply *e = redisCommand(c, "XRANGE %s %s %s", stream, id, id);
    const redisReply *kv =
        imgpipe_q_elem(imgpipe_q_elem(e, 0, REDIS_REPLY_ARRAY), 1, REDIS_REPLY_ARRAY);
    const char *name = imgpipe_q_field(kv, "name"), *attempt = imgpipe_q_field(kv, "attempt");
    json_object_set_new(o, "id", json_string(id));
    if (name)
        json_object_set_new(o, "name", imgpipe_q_json_text(name));
    if (attempt)
        json_object_set_new(o, "attempt", json_integer(atoi(attempt)));
    if (e)
        freeReplyObject(e);
    redisReply *p = redisCommand(c, "XPENDING %s %s %s %s 1", stream, IMGPIPE_Q_GROUP, id, id);
    const redisReply *h = imgpipe_q_elem(p, 0, REDIS_REPLY_ARRAY);
    const redisReply *owner = imgpipe_q_elem(h, 1, REDIS_REPLY_STRING);
    const redisReply *idle = imgpipe_q_elem(h, 2, REDIS_REPLY_INTEGER);
    json_object_set_new(o, "state", json_string(owner && idle ? "in_progress" : "waiting"));
    if (owner && idle) {
        json_object_set_new(o, "worker", imgpipe_q_json_text(owner->str));
        json_object_set_new(o, "age_ms", json_integer(idle->integer));
    }
    if (p)
        freeReplyObject(p);
}

/* The latest failure of url among the last FAILED_SCAN of the failed list, for its reason. */
#define FAILED_SCAN 1000
static void describe_failure(redisContext *c, const char *failed, const char *url, json_t *o)
{
    redisReply *r = redisCommand(c, "XREVRANGE %s + - COUNT %d", failed, FAILED_SCAN);
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        const redisReply *kv = imgpipe_q_elem(r->element[i], 1, REDIS_REPLY_ARRAY);
        const char *u = imgpipe_q_field(kv, "url"), *why = imgpipe_q_field(kv, "error");
        if (u && strcmp(u, url) == 0) {
            json_object_set_new(o, "error", imgpipe_q_json_shown(why));
            break;
        }
    }
    if (r)
        freeReplyObject(r);
}

static json_t *lookup_one(redisContext *c, const char *queue, const char *url)
{
    char stream[IMGPIPE_Q_KEYLEN], failed[IMGPIPE_Q_KEYLEN], urls[IMGPIPE_Q_KEYLEN];
    imgpipe_q_key(stream, queue, "");
    imgpipe_q_key(failed, queue, ":failed");
    imgpipe_q_key(urls, queue, ":urls");
    redisReply *st = redisCommand(c, "HGET %s %s", urls, url);
    json_t *o = NULL;
    if (st && st->type == REDIS_REPLY_STRING) {
        o = json_pack("{s:o,s:o}", "queue", imgpipe_q_json_text(queue), "url",
                      imgpipe_q_json_shown(url)); /* a password in it reads *** */
        if (strcmp(st->str, "done") == 0 || strcmp(st->str, "scheduled") == 0 ||
            strcmp(st->str, "failed") == 0)
            json_object_set_new(o, "state", json_string(st->str));
        else
            describe_entry(c, stream, st->str, o);
        if (strcmp(st->str, "failed") == 0)
            describe_failure(c, failed, url, o);
    }
    if (st)
        freeReplyObject(st);
    return o;
}

int imgpipe_queue_lookup_json(imgpipe_queue *q, const char *const *queues, int nqueues,
                              const char *url, char **json, char *err)
{
    redisContext *c = imgpipe_q_context(q);
    const char *names[IMGPIPE_Q_LIST_MAX];
    redisReply *keep = NULL;
    if (nqueues <= 0) {
        nqueues = imgpipe_q_all_queues(c, names, IMGPIPE_Q_LIST_MAX, &keep);
        queues = names;
    }
    json_t *list = json_array();
    for (int i = 0; i < nqueues; i++) {
        json_t *o = imgpipe_q_name_ok(queues[i]) ? lookup_one(c, queues[i], url) : NULL;
        if (o)
            json_array_append_new(list, o);
    }
    if (keep)
        freeReplyObject(keep);
    json_t *doc = json_pack("{s:o,s:o}", "url", imgpipe_q_json_shown(url), "jobs", list);
    *json = c->err ? NULL : json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(doc);
    if (c->err)
        return imgpipe_errf(err, IMGPIPE_ENET, "Redis at %s: %s", imgpipe_q_shown_url(q),
                            c->errstr);
    return *json ? IMGPIPE_OK : imgpipe_errf(err, IMGPIPE_ENOMEM, "out of memory");
}
