/* What the dashboard reads from Redis and the actions it takes there. Every read is
 * bounded (docs/dashboard.md counts the commands per refresh): the queues' numbers come
 * from imgpipe_queue_status_json, so they are the numbers `imgpipe status --json` shows;
 * failures are read a page at a time and grouped by reason over the latest REASON_SAMPLE. */
#include "common/clock.h"
#include "web/web.h"

#include <stdlib.h>
#include <string.h>

#define MAX_QUEUES 64
#define REASON_SAMPLE 500 /* latest failures grouped by reason per refresh */
#define REASON_URLS 3     /* example URLs kept per reason */

redisContext *imgpipe_web_redis_get(imgpipe_web_redis *r, char *err)
{
    pthread_mutex_lock(&r->lock);
    long long now = (long long)(imgpipe_now() * 1000);
    if (!r->q && now >= r->retry_at) {
        if (imgpipe_queue_open(&r->q, r->url, r->down) != IMGPIPE_OK)
            r->retry_at = now + 1000; /* a down Redis is asked once a second, not per request */
    }
    if (!r->q) {
        imgpipe_errf(err, IMGPIPE_ENET, "%s", r->down);
        return NULL;
    }
    return imgpipe_q_context(r->q);
}

void imgpipe_web_redis_put(imgpipe_web_redis *r)
{
    if (r->q && imgpipe_q_context(r->q)->err) {
        imgpipe_errf(r->down, IMGPIPE_ENET, "Redis at %s: %s", imgpipe_queue_url(r->url),
                     imgpipe_q_context(r->q)->errstr); /* errf: the password is not shown */
        imgpipe_queue_free(r->q);
        r->q = NULL;
        r->retry_at = 0;
    }
    pthread_mutex_unlock(&r->lock);
}

/* The failure's reason as a JSON string: the worker wrote imgpipe_strerror's, but an entry
 * added by hand may hold any bytes, and the reason is also a key of the grouping. */
static json_t *reason_of(const redisReply *fields)
{
    const char *st = imgpipe_q_field(fields, "status");
    return imgpipe_q_json_text(st && *st ? st : "unknown");
}

/* {"reason","count","urls":[...]} for the latest REASON_SAMPLE failures, most common first. */
static json_t *reasons(redisContext *c, const char *queue, json_int_t *sampled)
{
    char key[IMGPIPE_Q_KEYLEN];
    imgpipe_q_key(key, queue, ":failed");
    redisReply *r = redisCommand(c, "XREVRANGE %s + - COUNT %d", key, REASON_SAMPLE);
    json_t *by = json_object();
    *sampled = 0;
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        redisReply *fields = r->element[i]->element[1];
        json_t *reason = reason_of(fields);
        const char *why = json_string_value(reason), *url = imgpipe_q_field(fields, "url");
        json_t *g = why ? json_object_get(by, why) : NULL;
        if (why && !g) {
            g = json_pack("{s:O,s:I,s:[]}", "reason", reason, "count", (json_int_t)0, "urls");
            json_object_set_new(by, why, g);
        }
        json_decref(reason);
        if (!g)
            continue;
        json_object_set_new(g, "count",
                            json_integer(json_integer_value(json_object_get(g, "count")) + 1));
        if (json_array_size(json_object_get(g, "urls")) < REASON_URLS)
            json_array_append_new(json_object_get(g, "urls"), imgpipe_q_json_shown(url));
        (*sampled)++;
    }
    if (r)
        freeReplyObject(r);
    json_t *list = json_array(), *g;
    const char *k;
    json_object_foreach(by, k, g) json_array_append(list, g);
    json_decref(by);
    return list;
}

json_t *imgpipe_web_state(imgpipe_web_redis *r, const char *const *queues, int nqueues, char *err)
{
    redisContext *c = imgpipe_web_redis_get(r, err);
    json_t *doc = NULL;
    redisReply *keep = NULL;
    const char *names[MAX_QUEUES];
    char *text = NULL;
    if (c && nqueues <= 0 && (nqueues = imgpipe_q_all_queues(c, names, MAX_QUEUES, &keep)) > 0)
        queues = names;
    if (c && imgpipe_queue_status_json(r->q, queues, nqueues, &text, err) == IMGPIPE_OK)
        doc = json_loads(text, 0, NULL);
    free(text);
    size_t i;
    json_t *q;
    json_array_foreach(doc ? json_object_get(doc, "queues") : NULL, i, q)
    {
        json_int_t sampled;
        json_object_set_new(q, "reasons",
                            reasons(c, json_string_value(json_object_get(q, "name")), &sampled));
        json_object_set_new(q, "reasons_sampled", json_integer(sampled));
    }
    if (doc)
        json_object_set_new(doc, "time_ms", json_integer(imgpipe_q_time_ms(c)));
    if (keep)
        freeReplyObject(keep);
    if (c && c->err) {
        imgpipe_errf(err, IMGPIPE_ENET, "Redis at %s: %s", imgpipe_queue_url(r->url), c->errstr);
        json_decref(doc);
        doc = NULL;
    }
    imgpipe_web_redis_put(r);
    return doc;
}

static json_t *failure_json(const redisReply *e)
{
    const redisReply *f = e->element[1];
    const char *url = imgpipe_q_field(f, "url"), *why = imgpipe_q_field(f, "error"),
               *w = imgpipe_q_field(f, "worker");
    return json_pack("{s:s,s:o,s:o,s:o,s:o}", "id", e->element[0]->str, "url",
                     imgpipe_q_json_shown(url), "error", imgpipe_q_json_shown(why), "reason",
                     reason_of(f), "worker", imgpipe_q_json_text(w));
}

int imgpipe_web_failures(imgpipe_web_redis *r, const char *queue, const char *before, int count,
                         json_t **doc, char *err)
{
    *doc = NULL;
    if (!imgpipe_q_name_ok(queue))
        return imgpipe_errf(err, IMGPIPE_EINVAL, "bad queue name");
    char key[IMGPIPE_Q_KEYLEN], end[80];
    imgpipe_q_key(key, queue, ":failed");
    /* "(" makes the bound exclusive (Redis 6.2): the next page starts after the last id. */
    snprintf(end, sizeof(end), "%s%.64s", before && *before ? "(" : "",
             before && *before ? before : "+");
    count = count < 1 ? 1 : count > IMGPIPE_WEB_PAGE_MAX ? IMGPIPE_WEB_PAGE_MAX : count;
    redisContext *c = imgpipe_web_redis_get(r, err);
    redisReply *rep = c ? redisCommand(c, "XREVRANGE %s %s - COUNT %d", key, end, count + 1) : NULL;
    int rc = c ? IMGPIPE_OK : IMGPIPE_ENET;
    if (rep && rep->type == REDIS_REPLY_ARRAY) {
        json_t *list = json_array();
        for (size_t i = 0; i < rep->elements && i < (size_t)count; i++)
            json_array_append_new(list, failure_json(rep->element[i]));
        *doc = json_pack("{s:o}", "failures", list);
        json_object_set_new(*doc, "next",
                            rep->elements > (size_t)count
                                ? json_string(rep->element[count - 1]->element[0]->str)
                                : json_null());
    } else if (c) { /* Redis gone (503), or refusing the request: a bad id (400) */
        rc = imgpipe_errf(err, c->err ? IMGPIPE_ENET : IMGPIPE_EINVAL,
                          "cannot read the failures: %s",
                          c->err ? c->errstr
                          : rep  ? rep->str
                                 : "no reply");
    }
    if (rep)
        freeReplyObject(rep);
    imgpipe_web_redis_put(r);
    return rc;
}

/* One failure back to its queue, as requeue-failed does for all. */
static const char requeue_one[] =
    "local e = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])[1]\n"
    "if not e then return 0 end\n"
    "local f, out = e[2], {}\n"
    "for i = 1, #f, 2 do\n"
    "  local k = f[i]\n"
    "  if k == 'attempt' then out[#out + 1] = k; out[#out + 1] = '0'\n"
    "  elseif k ~= 'error' and k ~= 'status' and k ~= 'worker' then\n"
    "    out[#out + 1] = k; out[#out + 1] = f[i + 1] end\n"
    "end\n"
    "local id = redis.call('XADD', KEYS[2], '*', unpack(out))\n"
    "for i = 1, #f - 1, 2 do\n"
    "  if f[i] == 'url' then redis.call('HSET', KEYS[3], f[i + 1], id) end\n"
    "end\n"
    "redis.call('XDEL', KEYS[1], e[1])\n"
    "return 1\n";

/* Drops every failure, saying how many. */
static const char drop_all[] = "local n = redis.call('XLEN', KEYS[1])\n"
                               "redis.call('DEL', KEYS[1])\n"
                               "return n\n";

static int run_action(imgpipe_queue *q, const char *action, const char *queue, const char *id,
                      long long *count, char *err)
{
    char failed[IMGPIPE_Q_KEYLEN], stream[IMGPIPE_Q_KEYLEN], urls[IMGPIPE_Q_KEYLEN];
    imgpipe_q_key(failed, queue, ":failed");
    imgpipe_q_key(stream, queue, "");
    imgpipe_q_key(urls, queue, ":urls");
    uint64_t n = 0;
    int rc = IMGPIPE_OK;
    if (strcmp(action, "purge") == 0) {
        /* Waiting and scheduled jobs go; jobs in hand finish. */
        rc = imgpipe_queue_purge(q, queue, &n, err);
        *count = (long long)n;
        return rc;
    }
    if (strcmp(action, "requeue") == 0 && !id) {
        rc = imgpipe_queue_requeue_failed(q, queue, &n, err);
        *count = (long long)n;
        return rc;
    }
    const char *argv[7];
    int argc;
    if (strcmp(action, "requeue") == 0) {
        const char *a[] = {"EVAL", requeue_one, "3", failed, stream, urls, id};
        memcpy(argv, a, sizeof(a)), argc = 7;
    } else if (strcmp(action, "drop") == 0 && id) {
        const char *a[] = {"XDEL", failed, id};
        memcpy(argv, a, sizeof(a)), argc = 3;
    } else if (strcmp(action, "drop") == 0) {
        const char *a[] = {"EVAL", drop_all, "1", failed};
        memcpy(argv, a, sizeof(a)), argc = 4;
    } else {
        return imgpipe_errf(err, IMGPIPE_EINVAL, "unknown action '%s'", action);
    }
    redisReply *rep = imgpipe_q_cmd(imgpipe_q_context(q), err, argc, argv);
    if (!rep)
        return imgpipe_q_context(q)->err ? IMGPIPE_ENET : IMGPIPE_EINVAL;
    *count = rep->type == REDIS_REPLY_INTEGER ? rep->integer : 0;
    freeReplyObject(rep);
    return IMGPIPE_OK;
}

int imgpipe_web_action(imgpipe_web_redis *r, const char *action, const char *queue, const char *id,
                       long long *count, char *err)
{
    *count = 0;
    if (!queue || !imgpipe_q_name_ok(queue))
        return imgpipe_errf(err, IMGPIPE_EINVAL, "bad queue name");
    if (id && (strlen(id) > 64 || strspn(id, "0123456789-") != strlen(id)))
        return imgpipe_errf(err, IMGPIPE_EINVAL, "bad entry id");
    if (!imgpipe_web_redis_get(r, err)) {
        imgpipe_web_redis_put(r);
        return IMGPIPE_ENET;
    }
    int rc = run_action(r->q, action, queue, id, count, err);
    imgpipe_web_redis_put(r);
    return rc;
}
