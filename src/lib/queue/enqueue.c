/* enqueue: one job per link. Its name comes from the output's name registry in Redis, so a
 * name goes to one URL only, across batches and across queues writing to one output; a URL
 * the queue holds or has done is skipped unless forced. Keys: docs/queue.md. */
#include "queue/queue.h"
#include "net/s3.h"
#include "store/name.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PIPELINE 512       /* links in flight at once */
#define FIRST_CANDIDATES 4 /* names sent with each link: almost every link takes the first */
#define MORE_CANDIDATES 32 /* a further round, for a link whose first ones are all taken */
#define HEAD_ARGS 18       /* EVALSHA's words before the candidates */

/* KEYS: names registry, stream, urls, stats. ARGV: url, force, dir, thumbs, quality, batch, fit,
 * upscale, pad, format, effort, then candidate names in walk order. The first candidate
 * that is free or already this URL's is its name (registered under its case-folded form:
 * A.jpg and a.jpg are one file on some file systems). The job is counted in `enqueued`
 * with it, so an enqueue stopped half-way counts what it queued. Returns {1, name} queued,
 * {0, state} skipped, {2} none free. */
static const char enqueue_script[] =
    "local st = redis.call('HGET', KEYS[3], ARGV[1])\n"
    "if st and ARGV[2] == '0' and st ~= 'failed' then return {0, st} end\n"
    "local name\n"
    "for i = 12, #ARGV do\n"
    "  local k = string.lower(ARGV[i])\n"
    "  local owner = redis.call('HGET', KEYS[1], k)\n"
    "  if not owner then redis.call('HSET', KEYS[1], k, ARGV[1]) end\n"
    "  if not owner or owner == ARGV[1] then name = ARGV[i]; break end\n"
    "end\n"
    "if not name then return {2} end\n"
    "local id = redis.call('XADD', KEYS[2], '*', 'url', ARGV[1], 'name', name, 'dir', ARGV[3],\n"
    "  'thumbs', ARGV[4], 'quality', ARGV[5], 'fit', ARGV[7], 'upscale', ARGV[8],\n"
    "  'pad', ARGV[9], 'format', ARGV[10], 'effort', ARGV[11], 'attempt', '0', 'batch', ARGV[6])\n"
    "redis.call('HSET', KEYS[3], ARGV[1], id)\n"
    "redis.call('HINCRBY', KEYS[4], 'enqueued', 1)\n"
    "return {1, name}\n";

struct enqueue {
    redisContext *c;
    const char *shown; /* the Redis URL without its password */
    char sha[48];
    char names[IMGPIPE_Q_KEYLEN + 4096], stream[IMGPIPE_Q_KEYLEN], urls[IMGPIPE_Q_KEYLEN];
    char stats[IMGPIPE_Q_KEYLEN];
    char dir[4096], thumbs[IMGPIPE_THUMB_MAX_SIZES * 16], quality[16];
    char fit[16], upscale[4], pad[16], format[16], effort[8];
    const char *force, *batch;
    char *sent[PIPELINE]; /* the links whose replies are not read yet */
    int nsent;
    uint64_t queued, skipped;
    char cand[MORE_CANDIDATES][IMGPIPE_NAME_MAX + 1];
};

/* Candidates of url's walk from *n on, thumbnails' names left out; returns how many. */
static int candidates(struct enqueue *e, const char *url, uint64_t *n, int want)
{
    char base[IMGPIPE_NAME_MAX + 1];
    imgpipe_name_from_url(url, base);
    int k = 0;
    while (k < want) {
        imgpipe_name_candidate(base, url, (*n)++, e->cand[k]);
        if (!imgpipe_is_thumb_name(e->cand[k]))
            k++;
    }
    return k;
}

static int build_argv(struct enqueue *e, const char *url, uint64_t *n, int want, const char **argv)
{
    const char *head[HEAD_ARGS] = {"EVALSHA", e->sha, "4",        e->names, e->stream, e->urls,
                                   e->stats,  url,    e->force,   e->dir,   e->thumbs, e->quality,
                                   e->batch,  e->fit, e->upscale, e->pad,   e->format, e->effort};
    int argc = (int)(sizeof(head) / sizeof(head[0]));
    memcpy(argv, head, sizeof(head));
    int k = candidates(e, url, n, want);
    for (int i = 0; i < k; i++)
        argv[argc++] = e->cand[i];
    return argc;
}

/* 1 queued, 0 skipped, 2 every candidate taken, < 0 an error. Frees r. */
static int verdict(struct enqueue *e, redisReply *r, char *err)
{
    const redisReply *v = imgpipe_q_elem(r, 0, REDIS_REPLY_INTEGER);
    int rc = v && v->integer >= 0 && v->integer <= 2 ? (int)v->integer : -1;
    if (rc < 0)
        rc = imgpipe_errf(err, IMGPIPE_EAPI, "Redis at %s refused a job: %s", e->shown,
                          r->type == REDIS_REPLY_ERROR ? r->str : "a reply of another shape");
    e->queued += rc == 1;
    e->skipped += rc == 0;
    freeReplyObject(r);
    return rc;
}

/* A link whose first candidates are all other URLs' names: further rounds, one at a time
 * (rare: names collide across batches, or many links share one name). */
static int walk_on(struct enqueue *e, const char *url, char *err)
{
    uint64_t n = FIRST_CANDIDATES;
    const char *argv[HEAD_ARGS + MORE_CANDIDATES];
    for (;;) {
        int argc = build_argv(e, url, &n, MORE_CANDIDATES, argv);
        redisReply *r = redisCommandArgv(e->c, argc, argv, NULL);
        if (!r)
            return imgpipe_errf(err, IMGPIPE_ENET, "Redis at %s: %s", e->shown, e->c->errstr);
        int rc = verdict(e, r, err);
        if (rc != 2)
            return rc < 0 ? rc : IMGPIPE_OK;
    }
}

/* Reads the replies of the links sent so far. */
static int drain(struct enqueue *e, char *err)
{
    int rc = IMGPIPE_OK, more[PIPELINE], nmore = 0;
    for (int i = 0; i < e->nsent; i++) {
        redisReply *r = NULL;
        if (redisGetReply(e->c, (void **)&r) != REDIS_OK || !r) {
            rc = imgpipe_errf(err, IMGPIPE_ENET, "Redis at %s: %s", e->shown, e->c->errstr);
            break;
        }
        int v = verdict(e, r, rc ? NULL : err);
        if (v == 2)
            more[nmore++] = i;
        else if (v < 0 && rc == IMGPIPE_OK)
            rc = v;
    }
    for (int i = 0; i < nmore && rc == IMGPIPE_OK; i++)
        rc = walk_on(e, e->sent[more[i]], err);
    for (int i = 0; i < e->nsent; i++)
        free(e->sent[i]);
    e->nsent = 0;
    return rc;
}

static int add_job(struct enqueue *e, const char *url, char *err)
{
    const char *argv[HEAD_ARGS + FIRST_CANDIDATES];
    uint64_t n = 0;
    int argc = build_argv(e, url, &n, FIRST_CANDIDATES, argv);
    char *copy = strdup(url);
    if (!copy || redisAppendCommandArgv(e->c, argc, argv, NULL) != REDIS_OK) {
        free(copy);
        return imgpipe_errf(err, IMGPIPE_ENOMEM, "out of memory");
    }
    e->sent[e->nsent++] = copy;
    return e->nsent >= PIPELINE ? drain(e, err) : IMGPIPE_OK;
}

static int add_all(struct enqueue *e, imgpipe_source *const *sources, int n, char *err)
{
    int rc = IMGPIPE_OK;
    for (int i = 0; i < n && rc == IMGPIPE_OK; i++) {
        const char *url;
        while (rc == IMGPIPE_OK && (rc = imgpipe_source_next(sources[i], &url, err)) == 1)
            rc = add_job(e, url, err);
    }
    int drc = drain(e, rc ? NULL : err);
    return rc ? rc : drc;
}

/* Jobs for a bucket are queued only when it takes objects with these credentials: a
 * missing bucket or a wrong secret is said now, not by every worker. */
static int check_bucket(const char *url, const char *endpoint, char *err)
{
    imgpipe_s3 *s3;
    imgpipe_s3_config cfg = {.endpoint = endpoint, .retries = -1};
    int rc = imgpipe_s3_open(&s3, url, &cfg, err);
    if (rc == IMGPIPE_OK)
        rc = imgpipe_s3_check(s3, err);
    imgpipe_s3_free(s3);
    return rc;
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
    const char *fit = imgpipe_fit_name(t->fit);
    if (!fit || imgpipe_thumb_format_check(t->format) || t->effort < 0 || t->effort > 9)
        return imgpipe_errf(err, IMGPIPE_EINVAL, "bad thumbnail settings (fit, format or effort)");
    snprintf(e->fit, sizeof(e->fit), "%s", fit);
    snprintf(e->upscale, sizeof(e->upscale), "%d", !!t->upscale);
    if (t->pad_set)
        snprintf(e->pad, sizeof(e->pad), "#%02x%02x%02x%02x", t->pad_colour[0], t->pad_colour[1],
                 t->pad_colour[2], t->pad_colour[3]);
    snprintf(e->format, sizeof(e->format), "%s", t->format ? t->format : "");
    snprintf(e->effort, sizeof(e->effort), "%d", t->effort);
    return IMGPIPE_OK;
}

static int setup(struct enqueue *e, const imgpipe_enqueue_opts *opts, const char *queue,
                 char batch[64], char *err)
{
    int rc = imgpipe_q_output(opts->dir ? opts->dir : "images", e->dir, sizeof(e->dir), err);
    if (rc == IMGPIPE_OK && imgpipe_s3_is_url(e->dir))
        rc = check_bucket(e->dir, opts->s3_endpoint, err);
    if (rc)
        return rc;
    imgpipe_q_names_key(e->names, sizeof(e->names), e->dir);
    imgpipe_q_key(e->stream, queue, "");
    imgpipe_q_key(e->urls, queue, ":urls");
    imgpipe_q_key(e->stats, queue, ":stats");
    format_thumbs(opts, e->thumbs, sizeof(e->thumbs));
    snprintf(e->quality, sizeof(e->quality), "%d", opts->quality > 0 ? opts->quality : 0);
    if ((rc = format_thumb_opts(&opts->thumb, e, err)))
        return rc;
    e->force = opts->force ? "1" : "0";
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(batch, 64, "%llx-%lx", (unsigned long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000,
             (long)getpid());
    e->batch = batch;
    return imgpipe_q_script_load(e->c, enqueue_script, e->sha, err);
}

int imgpipe_queue_enqueue(imgpipe_queue *q, const imgpipe_enqueue_opts *opts,
                          imgpipe_source *const *sources, int nsources, uint64_t *count,
                          uint64_t *skipped, char batch[64], char *err)
{
    const char *queue = opts->queue ? opts->queue : "default";
    *count = 0;
    if (skipped)
        *skipped = 0;
    batch[0] = '\0';
    if (!imgpipe_q_name_ok(queue))
        return imgpipe_errf(err, IMGPIPE_EINVAL, "bad queue name '%s' (" IMGPIPE_Q_NAME_RULE ")",
                            queue);
    struct enqueue *e = calloc(1, sizeof(*e));
    if (!e)
        return imgpipe_errf(err, IMGPIPE_ENOMEM, "out of memory");
    e->c = imgpipe_q_context(q);
    e->shown = imgpipe_q_shown_url(q);
    int rc = setup(e, opts, queue, batch, err);
    if (rc == IMGPIPE_OK)
        rc = imgpipe_q_ensure_group(e->c, queue, err);
    if (rc == IMGPIPE_OK)
        rc = add_all(e, sources, nsources, err);
    *count = e->queued;
    if (skipped)
        *skipped = e->skipped;
    free(e);
    return rc;
}
