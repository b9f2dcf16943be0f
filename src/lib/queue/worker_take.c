/* Taking entries: each entry read (worker_read.c) becomes a task with its directory and
 * thumbnail options, or is settled at once (gone, unusable, abandoned). */
#define _GNU_SOURCE /* O_TMPFILE */
#include "queue/worker_int.h"
#include "common/util.h"
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DIRCACHE_KEEP 32 /* unused directory descriptors kept open */
#define PROBE_BYTES 4096 /* written to tell a full directory from one file's failure */

/* ---- directories --------------------------------------------------------------------- */

/* A job's directory, or its bucket: checked before the first job there runs, so that a
 * missing bucket or refused credentials are said once, not as every job's failure. */
static int open_output(struct worker *w, struct wk_dir *d, char *err)
{
    const imgpipe_get_opts *g = &w->o->get;
    d->fd = -1;
    if (!imgpipe_s3_is_url(d->path)) {
        int rc = imgpipe_store_open_dir(d->path, &d->fd, err);
        /* A worker of this host killed mid-write left its temporary file: no one else
         * will rename or remove it (get sweeps likewise at its start). */
        if (rc == IMGPIPE_OK)
            imgpipe_store_sweep(d->fd);
        return rc;
    }
    imgpipe_s3_config cfg = {.endpoint = g->s3_endpoint,
                             .connect_timeout_ms = g->connect_timeout_ms,
                             .read_timeout_ms = g->read_timeout_ms,
                             /* the worker's --retries (get's are not set): none is none */
                             .retries = w->o->retries,
                             .retry_wait_ms = g->retry_wait_ms,
                             .insecure = g->insecure,
                             .cacert = g->cacert,
                             .stop = w->o->stop};
    int rc = imgpipe_s3_open(&d->s3, d->path, &cfg, err);
    if (rc == IMGPIPE_OK && (rc = imgpipe_s3_check(d->s3, err))) {
        imgpipe_s3_free(d->s3);
        d->s3 = NULL;
    }
    return rc;
}

static int dir_get(struct worker *w, const char *path, struct wk_dir **out, char *err)
{
    for (struct wk_dir *d = w->dirs; d; d = d->next)
        if (strcmp(d->path, path) == 0) {
            d->refs++;
            *out = d;
            return IMGPIPE_OK;
        }
    *out = NULL;
    struct wk_dir *d = calloc(1, sizeof(*d));
    if (!d || !(d->path = strdup(path))) {
        free(d);
        return imgpipe_errf(err, IMGPIPE_ENOMEM, "out of memory");
    }
    int rc = open_output(w, d, err);
    if (rc) {
        free(d->path);
        free(d);
        return rc;
    }
    d->refs = 1;
    d->next = w->dirs;
    w->dirs = d;
    *out = d;
    return IMGPIPE_OK;
}

void imgpipe_wk_dir_close(struct worker *w, struct wk_dir *d)
{
    struct wk_dir **p = &w->dirs;
    while (*p != d)
        p = &(*p)->next;
    *p = d->next;
    if (d->fd >= 0)
        close(d->fd);
    imgpipe_s3_free(d->s3);
    free(d->path);
    free(d);
}

/* Keeps at most DIRCACHE_KEEP directories open: an unused one past that is closed. */
static void dir_put(struct worker *w, struct wk_dir *d)
{
    if (!d || --d->refs > 0)
        return;
    int n = 0;
    for (struct wk_dir *e = w->dirs; e; e = e->next)
        n++;
    if (n > DIRCACHE_KEEP)
        imgpipe_wk_dir_close(w, d);
}

/* An unnamed file (O_TMPFILE) leaves nothing behind, even if we die while probing. */
int imgpipe_wk_dir_writable(const struct wk_dir *d, char *err)
{
    static const char zeros[PROBE_BYTES];
    if (d->s3)
        return imgpipe_s3_check(d->s3, err) ? IMGPIPE_EDISK : IMGPIPE_OK;
    int fd = openat(d->fd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
    if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR)) /* no O_TMPFILE here */
        return faccessat(d->fd, ".", W_OK, AT_EACCESS) == 0
                   ? IMGPIPE_OK
                   : imgpipe_errf(err, IMGPIPE_EDISK, "%s", strerror(errno));
    if (fd < 0)
        return imgpipe_errf(err, IMGPIPE_EDISK, "%s", strerror(errno));
    ssize_t n = write(fd, zeros, sizeof(zeros));
    int saved = errno;
    close(fd);
    if (n != (ssize_t)sizeof(zeros))
        return imgpipe_errf(err, IMGPIPE_EDISK, "%s", n < 0 ? strerror(saved) : "short write");
    return IMGPIPE_OK;
}

/* ---- jobs ------------------------------------------------------------------------------ */

void imgpipe_wk_job_free(struct worker *w, struct wk_job *j)
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

/* A small count from an entry's field: missing, garbled, negative or huge gives fallback
 * (atoi would overflow, and a negative attempt would buy extra retries). */
static int field_int(const char *text, int lo, int hi, int fallback)
{
    if (!text || !*text)
        return fallback;
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    return *end || errno || v < lo || v > hi ? fallback : (int)v;
}

/* The thumbnail settings of an entry (queue_redis.c writes them); missing fields, as
 * from an older enqueue, are the defaults. The format points at a literal, not into the
 * entry. */
static int parse_thumb_opts(const redisReply *kv, imgpipe_thumb_opts *t)
{
    static const char *const formats[] = {"jpeg", "png", "webp", "avif"};
    const char *fit = imgpipe_q_field(kv, "fit"), *fmt = imgpipe_q_field(kv, "format");
    const char *pad = imgpipe_q_field(kv, "pad");
    int known = !fit || !*fit || imgpipe_parse_fit(fit, &t->fit) == IMGPIPE_OK;
    t->format = NULL;
    for (int i = 0; i < 4 && fmt && *fmt; i++)
        if (strcmp(fmt, formats[i]) == 0)
            t->format = formats[i];
    t->upscale = field_int(imgpipe_q_field(kv, "upscale"), 0, 1, 0);
    t->effort = field_int(imgpipe_q_field(kv, "effort"), 0, 9, 0);
    t->pad_set = pad && *pad;
    if (!known || (fmt && *fmt && !t->format) ||
        (t->pad_set && imgpipe_parse_colour(pad, t->pad_colour)))
        return IMGPIPE_EINVAL;
    return IMGPIPE_OK;
}

/* 1 when a field's name or value holds a NUL byte: the C string would end there (a name
 * "a\0b.png" written as "a"), so such an entry, written by hand, is not run. */
static int has_nul(const redisReply *kv)
{
    for (size_t i = 0; i < kv->elements; i++)
        if (kv->element[i]->str && strlen(kv->element[i]->str) != kv->element[i]->len)
            return 1;
    return 0;
}

/* Fills the job from its entry's fields; a sentence in err for an entry we cannot run.
 * *transient says whether another attempt may do better (a directory not there yet). */
static int job_setup(struct worker *w, struct wk_job *j, const redisReply *kv, int *transient,
                     char *err)
{
    *transient = 0;
    for (size_t i = 0; i < kv->elements; i++)
        if (imgpipe_strvec_push(&j->fields, kv->element[i]->str ? kv->element[i]->str : ""))
            return imgpipe_errf(err, IMGPIPE_ENOMEM, "out of memory");
    const char *url = imgpipe_q_field(kv, "url"), *name = imgpipe_q_field(kv, "name");
    const char *dir = imgpipe_q_field(kv, "dir");
    /* A job whose attempt cannot be read counts as a first attempt: it is written afresh
     * with the retry, so it ends in the failed list like any other. */
    j->attempt = field_int(imgpipe_q_field(kv, "attempt"), 0, 1000000, 0);
    j->opts = w->o->get;
    j->opts.nthumbs = 0;
    j->opts.thumb.quality = field_int(imgpipe_q_field(kv, "quality"), 0, 100, 0);
    if (!url || !name || !dir)
        return imgpipe_errf(err, IMGPIPE_EINVAL, "job %s lacks url, name or dir", j->id);
    if (has_nul(kv))
        return imgpipe_errf(err, IMGPIPE_EINVAL, "job %s: a field holds a NUL byte", j->id);
    if (!imgpipe_store_name_ok(name) || strlen(name) > IMGPIPE_NAME_MAX)
        return imgpipe_errf(err, IMGPIPE_EINVAL, "job %s: unsafe file name '%s'", j->id, name);
    if (dir[0] != '/' && !imgpipe_s3_is_url(dir))
        return imgpipe_errf(err, IMGPIPE_EINVAL, "job %s: dir '%s' is not absolute", j->id, dir);
    if (parse_thumbs(imgpipe_q_field(kv, "thumbs"), &j->opts))
        return imgpipe_errf(err, IMGPIPE_EINVAL, "job %s: bad thumbnail sizes", j->id);
    if (parse_thumb_opts(kv, &j->opts.thumb))
        return imgpipe_errf(err, IMGPIPE_EINVAL, "job %s: bad thumbnail fit, format or pad colour",
                            j->id);
    int rc = dir_get(w, dir, &j->dir, err);
    if (rc == IMGPIPE_ECONFIG)
        return rc; /* a bucket that refuses us: see imgpipe_wk_take */
    if (rc) {
        *transient = 1; /* a mount not there yet, a permission fixed later */
        return IMGPIPE_EIO;
    }
    return IMGPIPE_OK;
}

static int task_from_job(struct worker *w, struct wk_job *j, imgpipe_task *t, char *err)
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
    t->dirfd = j->dir->fd;
    t->s3 = j->dir->s3;
    t->job_opts = &j->opts;
    t->ctx = j;
    j->next = w->flight;
    w->flight = j;
    w->in_memory += j->in_memory;
    pthread_mutex_lock(&w->lock);
    w->inflight++;
    pthread_mutex_unlock(&w->lock);
    return IMGPIPE_OK;
}

/* A job whose body is held in memory: thumbnails are made from it, or a bucket takes it
 * whole. Its body is not streamed to a file. */
static int held_in_memory(const redisReply *kv)
{
    const char *thumbs = imgpipe_q_field(kv, "thumbs"), *dir = imgpipe_q_field(kv, "dir");
    return (thumbs && *thumbs) || (dir && imgpipe_s3_is_url(dir));
}

/* One of our own pending entries read again that we still hold: in flight, or its outcome
 * not yet recorded in Redis. */
static int held_here(const struct worker *w, int qi, const char *id)
{
    for (const struct wk_job *j = w->flight; j; j = j->next)
        if (j->qi == qi && strcmp(j->id, id) == 0)
            return 1;
    const struct wk_rec *lists[] = {w->recs, w->sending};
    for (int l = 0; l < 2; l++)
        for (const struct wk_rec *r = lists[l]; r; r = r->next)
            if (r->qi == qi && strcmp(r->id, id) == 0)
                return 1;
    return 0;
}

static const char *job_field(const struct wk_job *j, const char *name)
{
    for (size_t i = 0; i + 1 < j->fields.n; i += 2)
        if (strcmp(j->fields.v[i], name) == 0)
            return j->fields.v[i + 1];
    return NULL;
}

/* A job settled at its take (an entry that cannot run, abandoned) is reported as the run
 * reports its jobs: a FAILED line, its --json object, its count in the summary. */
static void report_taken(struct worker *w, const struct wk_job *j, int status, const char *error)
{
    const char *url = job_field(j, "url"), *name = job_field(j, "name");
    char *shown = imgpipe_redact_dup(url ? url : "");
    if (j->verdict == WK_RETRIED) {
        char msg[2 * IMGPIPE_ERRLEN]; /* the notice cuts it to IMGPIPE_ERRLEN */
        snprintf(msg, sizeof(msg), "retrying %s (attempt %d of %d): %s", shown ? shown : "",
                 j->attempt + 2, w->retries + 1, error);
        imgpipe_wk_notice(w, "%s%s", msg, "");
    } else {
        w->failed_at_take++;
        imgpipe_item item = {
            .url = shown ? shown : "", .name = name ? name : "", .status = status, .error = error};
        if (w->cb)
            w->cb(&item, w->userdata);
    }
    free(shown);
}

/* The next entry of the batch as a task: 1, or 0 when the entry was settled without one
 * (gone from the stream, abandoned too often, unusable, ours already). The batch's shape
 * was checked. */
int imgpipe_wk_take(struct worker *w, imgpipe_task *t)
{
    redisReply *e = w->batch->element[w->batch_pos];
    const char *id = e->element[0]->str;
    long long deliveries = e->elements > 2 ? e->element[2]->integer : 1;
    char err[IMGPIPE_ERRLEN];
    if (e->element[1]->type != REDIS_REPLY_ARRAY) { /* deleted while pending */
        w->batch_pos++;
        imgpipe_wk_ack(w, w->batch_qi, id);
        return 0;
    }
    if (w->batch_own && held_here(w, w->batch_qi, id)) {
        w->batch_pos++;
        return 0;
    }
    int in_memory = held_in_memory(e->element[1]);
    if (in_memory && w->in_memory >= w->in_memory_max)
        return IMGPIPE_WK_HELD; /* taken when one of those ends */
    w->batch_pos++;
    struct wk_job *j = calloc(1, sizeof(*j));
    if (!j)
        return 0; /* stays pending: claimed again later */
    j->in_memory = in_memory;
    j->qi = w->batch_qi;
    snprintf(j->id, sizeof(j->id), "%s", id);
    int transient;
    int rc = job_setup(w, j, e->element[1], &transient, err);
    if (rc == IMGPIPE_OK && deliveries > w->retries + 1) {
        rc = imgpipe_errf(err, IMGPIPE_ECANCELED,
                          "abandoned: taken %lld times by workers that stopped heartbeating",
                          deliveries);
        transient = 0;
    }
    if (rc == IMGPIPE_OK)
        rc = task_from_job(w, j, t, err);
    if (rc == IMGPIPE_OK)
        return 1;
    if (rc == IMGPIPE_ECONFIG) {
        /* A missing bucket or refused credentials: every job there would fail alike on
         * this host. The worker stops; the job stays pending for a worker that can. */
        if (!w->dir_failed)
            imgpipe_errf(w->dir_err, IMGPIPE_EDISK, "stopped: %s; the job stays queued", err);
        w->dir_failed = 1;
        imgpipe_wk_job_free(w, j);
        return 0;
    }
    imgpipe_wk_finish(w, j, rc, transient, -1, err);
    report_taken(w, j, rc, err);
    imgpipe_wk_job_free(w, j);
    return 0;
}
