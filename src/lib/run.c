#include "run.h"
#include "job.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

double imgpipe_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

long imgpipe_run_remaining_ms(const imgpipe_run *r)
{
    if (r->deadline <= 0) return -1;
    double left = (r->deadline - imgpipe_now()) * 1000.0;
    return left >= 1.0 ? (long)left : 0;
}

imgpipe_fetch_opts imgpipe_run_fetch_opts(const imgpipe_run *r)
{
    imgpipe_fetch_opts fo = r->fetch;
    long left = imgpipe_run_remaining_ms(r);
    if (left > 0 && (fo.timeout_ms <= 0 || left < fo.timeout_ms)) fo.timeout_ms = left;
    return fo;
}

void imgpipe_run_timed_out(imgpipe_outcome *o, int started)
{
    memset(o, 0, sizeof(*o));
    o->status = IMGPIPE_ETIMEOUT;
    imgpipe_errf(o->error, IMGPIPE_ETIMEOUT, "%s: the run's --timeout deadline passed",
                 started ? "stopped" : "not started");
}

int imgpipe_run_next(imgpipe_run *r, imgpipe_task *t, char *err)
{
    t->dirfd = -1;
    t->job_opts = NULL;
    t->ctx = NULL;
    if (r->supply) {
        int rc;
        while ((rc = r->supply(r, t, err)) == IMGPIPE_RUN_AGAIN && !r->polls)
            nanosleep(&(struct timespec){.tv_nsec = 50 * 1000 * 1000}, NULL);
        return rc;
    }
    while (r->cur < r->nsources) {
        const char *url;
        int rc = imgpipe_source_next(r->sources[r->cur], &url, err);
        if (rc < 0) return rc;
        if (rc == 0) {
            r->cur++;
            continue;
        }
        t->url = strdup(url);
        if (!t->url || imgpipe_nameset_assign(r->names, url, t->name) != IMGPIPE_OK) {
            free(t->url);
            return imgpipe_errf(err, IMGPIPE_ENOMEM, "out of memory");
        }
        t->index = r->next_index++;
        return 1;
    }
    return 0;
}

void imgpipe_run_report(imgpipe_run *r, imgpipe_task *t, const imgpipe_outcome *o)
{
    imgpipe_item item = {.index = t->index,
                         .url = t->url,
                         .name = t->name,
                         .status = o->status,
                         .error = o->status ? o->error : "",
                         .bytes = o->bytes,
                         .thumbs = o->thumbs};
    if (o->status == IMGPIPE_OK) {
        r->sum->done++;
        r->sum->bytes += o->bytes;
    } else {
        r->sum->failed++;
    }
    r->sum->thumbs += (uint64_t)o->thumbs;
    if (r->cb) r->cb(&item, r->userdata);
    free(t->url);
    t->url = NULL;
}

void imgpipe_run_complete(imgpipe_run *r, const imgpipe_task *t, const imgpipe_buf *body,
                          imgpipe_outcome *o)
{
    o->bytes = body->len;
    o->status =
        imgpipe_job_store(t->job_opts ? t->job_opts : r->opts, t->dirfd >= 0 ? t->dirfd : r->dirfd,
                          t->name, body, &o->thumbs, o->error);
}

void imgpipe_run_perform(imgpipe_run *r, CURL *easy, const imgpipe_task *t, imgpipe_outcome *o)
{
    imgpipe_transfer tr;
    if (imgpipe_run_remaining_ms(r) == 0) {
        imgpipe_run_timed_out(o, 0);
        return;
    }
    memset(o, 0, sizeof(*o));
    imgpipe_fetch_opts fo = imgpipe_run_fetch_opts(r);
    o->status = imgpipe_transfer_init(&tr, easy, t->url, &fo, o->error);
    if (o->status == IMGPIPE_OK)
        o->status = imgpipe_transfer_finish(&tr, curl_easy_perform(easy), o->error);
    if (o->status == IMGPIPE_ETIMEOUT && imgpipe_run_remaining_ms(r) == 0)
        imgpipe_run_timed_out(o, 1);
    if (o->status == IMGPIPE_OK) imgpipe_run_complete(r, t, &tr.body, o);
    imgpipe_transfer_cleanup(&tr);
}
