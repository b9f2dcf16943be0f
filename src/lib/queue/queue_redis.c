/* Queue operations that are not the worker: connect, enqueue, requeue-failed, status.
 * Why Streams, and the keys: docs/queue.md. */
#include "queue/queue.h"
#include "store/name.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PIPELINE 512   /* XADDs in flight at once when enqueuing */
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

int imgpipe_q_name_ok(const char *queue)
{
    size_t n = strlen(queue);
    if (n == 0 || n > 128)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)queue[i] < 0x20 || queue[i] == 0x7f)
            return 0;
    return 1;
}

redisReply *imgpipe_q_cmd_ex(redisContext *c, char *err, int argc, const char **argv, int *nogroup)
{
    if (nogroup)
        *nogroup = 0;
    redisReply *r = redisCommandArgv(c, argc, argv, NULL);
    if (!r) {
        imgpipe_errf(err, IMGPIPE_ENET, "Redis %s failed: %s", argv[0], c->errstr);
        return NULL;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        /* An error reply starts with its code (RESP): the code, not the text, says what. */
        if (nogroup)
            *nogroup = r->str && strncmp(r->str, "NOGROUP ", 8) == 0;
        imgpipe_errf(err, IMGPIPE_EAPI, "Redis %s failed: %s", argv[0], r->str ? r->str : "");
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

void imgpipe_queue_free(imgpipe_queue *q)
{
    if (!q)
        return;
    if (q->c)
        redisFree(q->c);
    free(q);
}

/* ---- enqueue ------------------------------------------------------------------------ */

struct enqueue {
    imgpipe_queue *q;
    char key[IMGPIPE_Q_KEYLEN];
    char dir[4096], thumbs[IMGPIPE_THUMB_MAX_SIZES * 16], quality[16];
    char fit[16], upscale[4], pad[16], format[16], effort[8];
    char *batch;
    int sent; /* XADDs whose replies are not read yet */
};

static int make_absolute(const char *dir, char *out, size_t cap, char *err)
{
    char cwd[4096];
    if (dir[0] == '/') {
        if ((size_t)snprintf(out, cap, "%s", dir) < cap)
            return IMGPIPE_OK;
    } else if (getcwd(cwd, sizeof(cwd)) &&
               (size_t)snprintf(out, cap, "%s/%s", strcmp(cwd, "/") ? cwd : "", dir) < cap) {
        return IMGPIPE_OK;
    }
    return imgpipe_errf(err, IMGPIPE_EINVAL, "cannot make the output directory '%s' absolute", dir);
}

/* "128x96,128x,x64": an unbounded side is left out, as imgpipe_parse_size reads it. */
static void format_thumbs(const imgpipe_enqueue_opts *o, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    for (int i = 0; i < o->nthumbs && n < cap; i++) {
        char w[16] = "", h[16] = "";
        if (o->thumbs[i].width)
            snprintf(w, sizeof(w), "%d", o->thumbs[i].width);
        if (o->thumbs[i].height)
            snprintf(h, sizeof(h), "%d", o->thumbs[i].height);
        n += (size_t)snprintf(out + n, cap - n, "%s%sx%s", i ? "," : "", w, h);
    }
}

/* The thumbnail settings as job fields (worker_take.c reads them back). */
static int format_thumb_opts(const imgpipe_thumb_opts *t, struct enqueue *e, char *err)
{
    static const char *const fits[] = {"contain", "cover", "pad"};
    if (t->fit < IMGPIPE_FIT_CONTAIN || t->fit > IMGPIPE_FIT_PAD ||
        imgpipe_thumb_format_check(t->format) || t->effort < 0 || t->effort > 9)
        return imgpipe_errf(err, IMGPIPE_EINVAL, "bad thumbnail settings (fit, format or effort)");
    snprintf(e->fit, sizeof(e->fit), "%s", fits[t->fit]);
    snprintf(e->upscale, sizeof(e->upscale), "%d", !!t->upscale);
    if (t->pad_set)
        snprintf(e->pad, sizeof(e->pad), "#%02x%02x%02x%02x", t->pad_colour[0], t->pad_colour[1],
                 t->pad_colour[2], t->pad_colour[3]);
    snprintf(e->format, sizeof(e->format), "%s", t->format ? t->format : "");
    snprintf(e->effort, sizeof(e->effort), "%d", t->effort);
    return IMGPIPE_OK;
}

/* Reads the replies of the XADDs sent so far. */
static int drain(struct enqueue *e, char *err)
{
    int rc = IMGPIPE_OK;
    for (; e->sent > 0; e->sent--) {
        redisReply *r = NULL;
        if (redisGetReply(e->q->c, (void **)&r) != REDIS_OK)
            return imgpipe_errf(err, IMGPIPE_ENET, "Redis at %s: XADD failed: %s", e->q->url,
                                e->q->c->errstr);
        if (r->type == REDIS_REPLY_ERROR && rc == IMGPIPE_OK)
            rc = imgpipe_errf(err, IMGPIPE_EAPI, "Redis at %s refused XADD: %s", e->q->url, r->str);
        freeReplyObject(r);
    }
    return rc;
}

static int add_job(struct enqueue *e, const char *url, const char *name, char *err)
{
    const char *argv[] = {"XADD",     e->key,   "*",       "url",     url,        "name",
                          name,       "dir",    e->dir,    "thumbs",  e->thumbs,  "quality",
                          e->quality, "fit",    e->fit,    "upscale", e->upscale, "pad",
                          e->pad,     "format", e->format, "effort",  e->effort,  "attempt",
                          "0",        "batch",  e->batch};
    int argc = (int)(sizeof(argv) / sizeof(argv[0]));
    if (redisAppendCommandArgv(e->q->c, argc, argv, NULL) != REDIS_OK)
        return imgpipe_errf(err, IMGPIPE_ENOMEM, "out of memory");
    return ++e->sent >= PIPELINE ? drain(e, err) : IMGPIPE_OK;
}

static int add_all(struct enqueue *e, imgpipe_source *const *sources, int n, uint64_t *count,
                   char *err)
{
    imgpipe_nameset *names = imgpipe_nameset_new();
    if (!names)
        return imgpipe_errf(err, IMGPIPE_ENOMEM, "out of memory");
    int rc = IMGPIPE_OK;
    for (int i = 0; i < n && rc == IMGPIPE_OK; i++) {
        const char *url;
        char name[IMGPIPE_NAME_MAX + 1];
        while (rc == IMGPIPE_OK && (rc = imgpipe_source_next(sources[i], &url, err)) == 1) {
            rc = imgpipe_nameset_assign(names, url, name);
            if (rc)
                rc = imgpipe_errf(err, rc, "out of memory");
            if (rc == IMGPIPE_OK && (rc = add_job(e, url, name, err)) == IMGPIPE_OK)
                (*count)++;
        }
    }
    imgpipe_nameset_free(names);
    int drc = drain(e, err);
    return rc ? rc : drc;
}

int imgpipe_queue_enqueue(imgpipe_queue *q, const imgpipe_enqueue_opts *opts,
                          imgpipe_source *const *sources, int nsources, uint64_t *count,
                          char batch[64], char *err)
{
    const char *queue = opts->queue ? opts->queue : "default";
    struct enqueue e = {.q = q, .batch = batch};
    *count = 0;
    if (!imgpipe_q_name_ok(queue))
        return imgpipe_errf(err, IMGPIPE_EINVAL, "bad queue name '%s'", queue);
    int rc = make_absolute(opts->dir ? opts->dir : "images", e.dir, sizeof(e.dir), err);
    if (rc)
        return rc;
    imgpipe_q_key(e.key, queue, "");
    format_thumbs(opts, e.thumbs, sizeof(e.thumbs));
    snprintf(e.quality, sizeof(e.quality), "%d", opts->quality > 0 ? opts->quality : 0);
    if ((rc = format_thumb_opts(&opts->thumb, &e, err)))
        return rc;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(batch, 64, "%llx-%lx", (unsigned long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000,
             (long)getpid());
    if ((rc = imgpipe_q_ensure_group(q->c, queue, err)))
        return rc;
    rc = add_all(&e, sources, nsources, count, err);
    char stats[IMGPIPE_Q_KEYLEN];
    imgpipe_q_key(stats, queue, ":stats");
    redisReply *r =
        redisCommand(q->c, "HINCRBY %s enqueued %llu", stats, (unsigned long long)*count);
    if (r)
        freeReplyObject(r);
    return rc;
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
    "  redis.call('XADD', KEYS[2], '*', unpack(out))\n"
    "  redis.call('XDEL', KEYS[1], e[1])\n"
    "  n = n + 1\n"
    "end\n"
    "return n\n";

int imgpipe_queue_requeue_failed(imgpipe_queue *q, const char *queue, uint64_t *count, char *err)
{
    char failed[IMGPIPE_Q_KEYLEN], stream[IMGPIPE_Q_KEYLEN];
    *count = 0;
    if (!imgpipe_q_name_ok(queue))
        return imgpipe_errf(err, IMGPIPE_EINVAL, "bad queue name '%s'", queue);
    int rc = imgpipe_q_ensure_group(q->c, queue, err);
    if (rc)
        return rc;
    imgpipe_q_key(failed, queue, ":failed");
    imgpipe_q_key(stream, queue, "");
    const char *argv[] = {"EVAL", requeue_script, "2", failed, stream};
    redisReply *r = imgpipe_q_cmd(q->c, err, 5, argv);
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
        json_array_append_new(held,
                              json_pack("{s:s,s:s,s:s,s:I,s:I}", "id", id->str, "worker",
                                        owner->str, "url", url, "age_ms", (json_int_t)idle->integer,
                                        "deliveries", (json_int_t)n->integer));
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
        json_array_append_new(list, json_pack("{s:s,s:s,s:s}", "id", id->str, "url", url ? url : "",
                                              "error", why ? why : ""));
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
    json_t *o = json_pack("{s:s,s:I,s:I,s:I,s:I,s:I}", "name", queue, "waiting",
                          (json_int_t)(len > pending ? len - pending : 0), "in_progress",
                          (json_int_t)pending, "done", hash_int(s, "done"), "failed",
                          (json_int_t)reply_int(cmdf(q, "XLEN %s", failed, NULL)), "retried",
                          hash_int(s, "retried"));
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
        o = json_pack("{s:s,s:s,s:I,s:s,s:I,s:I,s:I,s:I}", "name", name, "host", host ? host : "",
                      "pid", hash_int(h, "pid"), "queues", queues ? queues : "", "done",
                      hash_int(h, "done"), "failed", hash_int(h, "failed"), "in_flight",
                      hash_int(h, "in_flight"), "heartbeat_age_ms",
                      (json_int_t)(now - hash_int(h, "beat")));
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

int imgpipe_queue_status_json(imgpipe_queue *q, const char *const *queues, int nqueues, char **json,
                              char *err)
{
    static const char *const fallback[] = {"default"};
    if (nqueues <= 0)
        queues = fallback, nqueues = 1;
    json_t *doc = json_object(), *list = json_array();
    for (int i = 0; i < nqueues; i++)
        json_array_append_new(list, queue_status(q, queues[i]));
    json_object_set_new(doc, "queues", list);
    json_object_set_new(doc, "workers", workers(q));
    *json = q->c->err ? NULL : json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(doc);
    if (q->c->err)
        return imgpipe_errf(err, IMGPIPE_ENET, "Redis at %s: %s", q->url, q->c->errstr);
    return *json ? IMGPIPE_OK : imgpipe_errf(err, IMGPIPE_ENOMEM, "out of memory");
}
