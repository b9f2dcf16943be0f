/* Queue operations that are not the worker: connect, enqueue, requeue-failed, status.
 * Why Streams, and the keys: docs/queue.md. */
#include "queue/queue.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SHOW_HELD 50   /* in-progress jobs listed per queue by status */
#define SHOW_FAILED 20 /* failures listed per queue by status */

struct imgpipe_queue {
    redisContext *c;
    char url[512]; /* as shown: without its password */
};

void imgpipe_q_key(char out[IMGPIPE_Q_KEYLEN], const char *queue, const char *suffix)
{
    snprintf(out, IMGPIPE_Q_KEYLEN, "%s%s%s", IMGPIPE_Q_PREFIX, queue, suffix);
}

int imgpipe_queue_name_check(const char *queue, char *err)
{
    return imgpipe_q_name_ok(queue)
               ? IMGPIPE_OK
               : imgpipe_errf(err, IMGPIPE_EINVAL, "bad queue name '%s' (" IMGPIPE_Q_NAME_RULE ")",
                              queue);
}

int imgpipe_q_name_ok(const char *queue)
{
    const unsigned char *s = (const unsigned char *)queue;
    size_t n = strlen(queue), len;
    if (n == 0 || n > 128)
        return 0;
    for (size_t i = 0; i < n; i += len) {
        len = imgpipe_utf8_len(s + i, n - i);
        /* C0, DEL and C1 (U+0080..U+009F): none belongs in a name shown on a terminal */
        if (!len || s[i] < 0x20 || s[i] == 0x7f || (s[i] == 0xC2 && s[i + 1] < 0xA0))
            return 0;
    }
    return 1;
}

json_t *imgpipe_q_json_text(const char *text)
{
    const unsigned char *s = (const unsigned char *)(text ? text : "");
    json_t *j = json_string((const char *)s);
    if (j)
        return j;
    size_t n = strlen((const char *)s), len;
    char *out = malloc(n * 3 + 1), *o = out;
    for (size_t i = 0; out && i < n; i += len ? len : 1) {
        len = imgpipe_utf8_len(s + i, n - i);
        memcpy(o, len ? (const char *)s + i : "\xEF\xBF\xBD", len ? len : 3);
        o += len ? len : 3;
    }
    j = out ? json_stringn(out, (size_t)(o - out)) : NULL;
    free(out);
    return j;
}

json_t *imgpipe_q_json_shown(const char *text)
{
    char *shown = imgpipe_redact_dup(text ? text : "");
    json_t *s = shown ? imgpipe_q_json_text(shown) : NULL;
    free(shown);
    return s;
}

redisReply *imgpipe_q_cmd_ex(redisContext *c, char *err, int argc, const char **argv, int *nogroup)
{
    return imgpipe_q_reply_ex(c, redisCommandArgv(c, argc, argv, NULL), err, argv[0], nogroup);
}

redisReply *imgpipe_q_reply_ex(redisContext *c, redisReply *r, char *err, const char *what,
                               int *nogroup)
{
    if (nogroup)
        *nogroup = 0;
    if (!r) {
        imgpipe_errf(err, IMGPIPE_ENET, "Redis %s failed: %s", what, c->errstr);
        return NULL;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        /* An error reply starts with its code (RESP): the code, not the text, says what. */
        if (nogroup)
            *nogroup = r->str && strncmp(r->str, "NOGROUP ", 8) == 0;
        imgpipe_errf(err, IMGPIPE_EAPI, "Redis %s failed: %s", what, r->str ? r->str : "");
        freeReplyObject(r);
        return NULL;
    }
    return r;
}

redisReply *imgpipe_q_cmd(redisContext *c, char *err, int argc, const char **argv)
{
    return imgpipe_q_cmd_ex(c, err, argc, argv, NULL);
}

redisReply *imgpipe_q_elem(const redisReply *r, size_t i, int type)
{
    if (!r || r->type != REDIS_REPLY_ARRAY || i >= r->elements || !r->element[i] ||
        r->element[i]->type != type)
        return NULL;
    return r->element[i];
}

const char *imgpipe_q_field(const redisReply *kv, const char *name)
{
    if (!kv || kv->type != REDIS_REPLY_ARRAY)
        return NULL;
    for (size_t i = 0; i + 1 < kv->elements; i += 2) {
        const redisReply *k = imgpipe_q_elem(kv, i, REDIS_REPLY_STRING);
        const redisReply *v = imgpipe_q_elem(kv, i + 1, REDIS_REPLY_STRING);
        if (k && strcmp(k->str, name) == 0)
            return v ? v->str : NULL;
    }
    return NULL;
}

int imgpipe_q_script_load(redisContext *c, const char *script, char sha[48], char *err)
{
    const char *argv[] = {"SCRIPT", "LOAD", script};
    redisReply *r = imgpipe_q_cmd(c, err, 3, argv);
    if (!r)
        return c->err ? IMGPIPE_ENET : IMGPIPE_EAPI;
    int ok = r->type == REDIS_REPLY_STRING && r->len < 48;
    if (ok)
        memcpy(sha, r->str, r->len + 1);
    freeReplyObject(r);
    return ok ? IMGPIPE_OK : imgpipe_errf(err, IMGPIPE_EAPI, "Redis answered SCRIPT LOAD oddly");
}

long long imgpipe_q_time_ms(redisContext *c)
{
    redisReply *r = redisCommand(c, "TIME");
    const redisReply *s = imgpipe_q_elem(r, 0, REDIS_REPLY_STRING);
    const redisReply *us = imgpipe_q_elem(r, 1, REDIS_REPLY_STRING);
    long long ms = s && us ? atoll(s->str) * 1000 + atoll(us->str) / 1000 : -1;
    if (r)
        freeReplyObject(r);
    return ms;
}

int imgpipe_q_ensure_group(redisContext *c, const char *queue, char *err)
{
    char key[IMGPIPE_Q_KEYLEN];
    imgpipe_q_key(key, queue, "");
    redisReply *r = redisCommand(c, "XGROUP CREATE %s %s 0 MKSTREAM", key, IMGPIPE_Q_GROUP);
    if (!r)
        return imgpipe_errf(err, IMGPIPE_ENET, "Redis XGROUP CREATE failed: %s", c->errstr);
    int rc = IMGPIPE_OK;
    if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "BUSYGROUP", 9) != 0)
        rc = imgpipe_errf(err, IMGPIPE_EAPI, "cannot create the group of queue '%s': %s", queue,
                          r->str);
    freeReplyObject(r);
    if (rc == IMGPIPE_OK) {
        r = redisCommand(c, "SADD %s %s", IMGPIPE_Q_QUEUES, queue);
        if (r)
            freeReplyObject(r);
    }
    return rc;
}

const char *imgpipe_queue_url(const char *url)
{
    if (url && *url)
        return url;
    const char *env = getenv("IMGPIPE_REDIS_URL");
    return env && *env ? env : IMGPIPE_REDIS_DEFAULT_URL;
}

int imgpipe_queue_open(imgpipe_queue **out, const char *url, char *err)
{
    *out = NULL;
    url = imgpipe_queue_url(url);
    imgpipe_queue *q = calloc(1, sizeof(*q));
    if (!q)
        return imgpipe_errf(err, IMGPIPE_ENOMEM, "out of memory");
    imgpipe_redis_url_redact(url, q->url, sizeof(q->url)); /* for messages: no password */
    int rc = imgpipe_redis_connect(url, 3000, &q->c, err);
    if (rc) {
        free(q);
        return rc;
    }
    *out = q;
    return IMGPIPE_OK;
}

redisContext *imgpipe_q_context(imgpipe_queue *q)
{
    return q->c;
}

const char *imgpipe_q_shown_url(const imgpipe_queue *q)
{
    return q->url;
}

void imgpipe_q_names_key(char *out, size_t cap, const char *output)
{
    snprintf(out, cap, "%s%s", IMGPIPE_Q_NAMES, output);
}

void imgpipe_queue_free(imgpipe_queue *q)
{
    if (!q)
        return;
    if (q->c)
        redisFree(q->c);
    free(q);
}

/* ---- requeue-failed ----------------------------------------------------------------- */

/* Atomically: every failed entry goes back to the queue with attempt 0, without the
 * fields the failure added. */
static const char requeue_script[] =
    "local n = 0\n"
    "for _, e in ipairs(redis.call('XRANGE', KEYS[1], '-', '+')) do\n"
    "  local f, out = e[2], {}\n"
    "  for i = 1, #f, 2 do\n"
    "    local k = f[i]\n"
    "    if k == 'attempt' then out[#out + 1] = k; out[#out + 1] = '0'\n"
    "    elseif k ~= 'error' and k ~= 'status' and k ~= 'worker' then\n"
    "      out[#out + 1] = k; out[#out + 1] = f[i + 1] end\n"
    "  end\n"
    "  local id = redis.call('XADD', KEYS[2], '*', unpack(out))\n"
    "  for i = 1, #f - 1, 2 do\n"
    "    if f[i] == 'url' then redis.call('HSET', KEYS[3], f[i + 1], id) end\n"
    "  end\n"
    "  redis.call('XDEL', KEYS[1], e[1])\n"
    "  n = n + 1\n"
    "end\n"
    "return n\n";

int imgpipe_queue_requeue_failed(imgpipe_queue *q, const char *queue, uint64_t *count, char *err)
{
    char failed[IMGPIPE_Q_KEYLEN], stream[IMGPIPE_Q_KEYLEN], urls[IMGPIPE_Q_KEYLEN];
    *count = 0;
    if (!imgpipe_q_name_ok(queue))
        return imgpipe_errf(err, IMGPIPE_EINVAL, "bad queue name '%s' (" IMGPIPE_Q_NAME_RULE ")",
                            queue);
    int rc = imgpipe_q_ensure_group(q->c, queue, err);
    if (rc)
        return rc;
    imgpipe_q_key(failed, queue, ":failed");
    imgpipe_q_key(stream, queue, "");
    imgpipe_q_key(urls, queue, ":urls");
    const char *argv[] = {"EVAL", requeue_script, "3", failed, stream, urls};
    redisReply *r = imgpipe_q_cmd(q->c, err, 6, argv);
    if (!r)
        return q->c->err ? IMGPIPE_ENET : IMGPIPE_EAPI;
    *count = r->type == REDIS_REPLY_INTEGER ? (uint64_t)r->integer : 0;
    freeReplyObject(r);
    return IMGPIPE_OK;
}

/* ---- status ------------------------------------------------------------------------- */

static json_int_t hash_int(const redisReply *kv, const char *name)
{
    const char *v = imgpipe_q_field(kv, name);
    return v ? (json_int_t)atoll(v) : 0;
}

static redisReply *cmdf(imgpipe_queue *q, const char *fmt, const char *a, const char *b)
{
    return redisCommand(q->c, fmt, a, b);
}

/* The entry's url, for a held job: one XRANGE per job, the list is short. */
static const char *entry_url(imgpipe_queue *q, const char *stream, const char *id,
                             redisReply **keep)
{
    *keep = redisCommand(q->c, "XRANGE %s %s %s", stream, id, id);
    const char *u = imgpipe_q_field(
        imgpipe_q_elem(imgpipe_q_elem(*keep, 0, REDIS_REPLY_ARRAY), 1, REDIS_REPLY_ARRAY), "url");
    return u ? u : "";
}

static json_t *held_jobs(imgpipe_queue *q, const char *stream)
{
    json_t *held = json_array();
    redisReply *r = redisCommand(q->c, "XPENDING %s %s - + %d", stream, IMGPIPE_Q_GROUP, SHOW_HELD);
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        /* [id, consumer, idle ms, deliveries]; an entry of another shape is not shown */
        const redisReply *e = r->element[i], *id = imgpipe_q_elem(e, 0, REDIS_REPLY_STRING);
        const redisReply *owner = imgpipe_q_elem(e, 1, REDIS_REPLY_STRING);
        const redisReply *idle = imgpipe_q_elem(e, 2, REDIS_REPLY_INTEGER);
        const redisReply *n = imgpipe_q_elem(e, 3, REDIS_REPLY_INTEGER);
        if (!id || !owner || !idle || !n)
            continue;
        redisReply *u;
        const char *url = entry_url(q, stream, id->str, &u);
        json_array_append_new(held, json_pack("{s:s,s:o,s:o,s:I,s:I}", "id", id->str, "worker",
                                              imgpipe_q_json_text(owner->str), "url",
                                              imgpipe_q_json_shown(url), "age_ms",
                                              (json_int_t)idle->integer, "deliveries",
                                              (json_int_t)n->integer));
        if (u)
            freeReplyObject(u);
    }
    if (r)
        freeReplyObject(r);
    return held;
}

static json_t *failures(imgpipe_queue *q, const char *failed)
{
    json_t *list = json_array();
    redisReply *r = redisCommand(q->c, "XREVRANGE %s + - COUNT %d", failed, SHOW_FAILED);
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        const redisReply *id = imgpipe_q_elem(r->element[i], 0, REDIS_REPLY_STRING);
        const redisReply *kv = imgpipe_q_elem(r->element[i], 1, REDIS_REPLY_ARRAY);
        if (!id)
            continue;
        const char *url = imgpipe_q_field(kv, "url"), *why = imgpipe_q_field(kv, "error");
        json_array_append_new(list, json_pack("{s:s,s:o,s:o}", "id", id->str, "url",
                                              imgpipe_q_json_shown(url), "error",
                                              imgpipe_q_json_shown(why)));
    }
    if (r)
        freeReplyObject(r);
    return list;
}

static long long reply_int(redisReply *r)
{
    long long v = r && r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
    if (r)
        freeReplyObject(r);
    return v;
}

static json_t *queue_status(imgpipe_queue *q, const char *queue)
{
    char stream[IMGPIPE_Q_KEYLEN], failed[IMGPIPE_Q_KEYLEN], stats[IMGPIPE_Q_KEYLEN];
    imgpipe_q_key(stream, queue, "");
    imgpipe_q_key(failed, queue, ":failed");
    imgpipe_q_key(stats, queue, ":stats");
    long long len = reply_int(cmdf(q, "XLEN %s", stream, NULL));
    redisReply *p = cmdf(q, "XPENDING %s %s", stream, IMGPIPE_Q_GROUP);
    const redisReply *held =
        p && p->elements == 4 ? imgpipe_q_elem(p, 0, REDIS_REPLY_INTEGER) : NULL;
    long long pending = held ? held->integer : 0;
    if (p)
        freeReplyObject(p);
    redisReply *s = cmdf(q, "HGETALL %s", stats, NULL);
    json_t *o = json_pack("{s:o,s:I,s:I,s:I,s:I,s:I}", "name", imgpipe_q_json_text(queue),
                          "waiting", (json_int_t)(len > pending ? len - pending : 0), "in_progress",
                          (json_int_t)pending, "done", hash_int(s, "done"), "failed",
                          (json_int_t)reply_int(cmdf(q, "XLEN %s", failed, NULL)), "retried",
                          hash_int(s, "retried"));
    char sched[IMGPIPE_Q_KEYLEN];
    imgpipe_q_key(sched, queue, ":scheduled");
    json_object_set_new(o, "scheduled", json_integer(reply_int(cmdf(q, "ZCARD %s", sched, NULL))));
    json_object_set_new(o, "refused", json_integer(hash_int(s, "refused")));
    if (s)
        freeReplyObject(s);
    json_object_set_new(o, "held", held_jobs(q, stream));
    json_object_set_new(o, "failures", failures(q, failed));
    return o;
}

static json_t *worker_status(imgpipe_queue *q, const char *name, long long now)
{
    char key[IMGPIPE_Q_KEYLEN];
    snprintf(key, sizeof(key), "%s%s", IMGPIPE_Q_WORKER, name);
    redisReply *h = cmdf(q, "HGETALL %s", key, NULL);
    json_t *o = NULL;
    if (h && h->type == REDIS_REPLY_ARRAY && h->elements) {
        const char *host = imgpipe_q_field(h, "host"), *queues = imgpipe_q_field(h, "queues");
        o = json_pack("{s:o,s:o,s:I,s:o,s:I,s:I,s:I,s:I}", "name", imgpipe_q_json_text(name),
                      "host", imgpipe_q_json_text(host), "pid", hash_int(h, "pid"), "queues",
                      imgpipe_q_json_text(queues), "done", hash_int(h, "done"), "failed",
                      hash_int(h, "failed"), "in_flight", hash_int(h, "in_flight"),
                      "heartbeat_age_ms", (json_int_t)(now - hash_int(h, "beat")));
    } else { /* its heartbeat expired: it is gone */
        reply_int(cmdf(q, "SREM %s %s", IMGPIPE_Q_WORKERS, name));
    }
    if (h)
        freeReplyObject(h);
    return o;
}

static json_t *workers(imgpipe_queue *q)
{
    json_t *list = json_array();
    long long now = imgpipe_q_time_ms(q->c);
    redisReply *m = cmdf(q, "SMEMBERS %s", IMGPIPE_Q_WORKERS, NULL);
    for (size_t i = 0; m && m->type == REDIS_REPLY_ARRAY && i < m->elements; i++) {
        const redisReply *name = imgpipe_q_elem(m, i, REDIS_REPLY_STRING);
        json_t *w = name ? worker_status(q, name->str, now) : NULL;
        if (w)
            json_array_append_new(list, w);
    }
    if (m)
        freeReplyObject(m);
    return list;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int imgpipe_q_all_queues(redisContext *c, const char **names, int cap, redisReply **keep)
{
    *keep = redisCommand(c, "SMEMBERS %s", IMGPIPE_Q_QUEUES);
    int n = 0;
    for (size_t i = 0; *keep && (*keep)->type == REDIS_REPLY_ARRAY && i < (*keep)->elements; i++)
        if (n < cap && (*keep)->element[i]->type == REDIS_REPLY_STRING &&
            imgpipe_q_name_ok((*keep)->element[i]->str))
            names[n++] = (*keep)->element[i]->str;
    qsort(names, (size_t)n, sizeof(*names), by_name);
    return n;
}

int imgpipe_queue_status_json(imgpipe_queue *q, const char *const *queues, int nqueues, char **json,
                              char *err)
{
    static const char *const fallback[] = {"default"};
    const char *names[IMGPIPE_Q_LIST_MAX];
    redisReply *keep = NULL;
    if (nqueues <= 0 &&
        (nqueues = imgpipe_q_all_queues(q->c, names, IMGPIPE_Q_LIST_MAX, &keep)) > 0)
        queues = names;
    if (nqueues <= 0)
        queues = fallback, nqueues = 1;
    json_t *doc = json_object(), *list = json_array();
    for (int i = 0; i < nqueues; i++)
        json_array_append_new(list, queue_status(q, queues[i]));
    if (keep)
        freeReplyObject(keep);
    json_object_set_new(doc, "queues", list);
    json_object_set_new(doc, "workers", workers(q));
    *json = q->c->err ? NULL : json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(doc);
    if (q->c->err)
        return imgpipe_errf(err, IMGPIPE_ENET, "Redis at %s: %s", q->url, q->c->errstr);
    return *json ? IMGPIPE_OK : imgpipe_errf(err, IMGPIPE_ENOMEM, "out of memory");
}
