#include "run.h"
#include "job.h"

#include <stdlib.h>
#include <string.h>

int imgpipe_run_next(imgpipe_run *r, imgpipe_task *t, char *err)
{
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
    if (r->cb)
        r->cb(&item, r->userdata);
    free(t->url);
    t->url = NULL;
}

void imgpipe_run_complete(imgpipe_run *r, const imgpipe_task *t, const imgpipe_buf *body,
                          imgpipe_outcome *o)
{
    o->bytes = body->len;
    o->status = imgpipe_job_store(r->opts, r->dirfd, t->name, body, &o->thumbs, o->error);
}

void imgpipe_run_perform(imgpipe_run *r, CURL *easy, const imgpipe_task *t, imgpipe_outcome *o)
{
    imgpipe_transfer tr;
    memset(o, 0, sizeof(*o));
    o->status = imgpipe_transfer_init(&tr, easy, t->url, &r->fetch, o->error);
    if (o->status == IMGPIPE_OK)
        o->status = imgpipe_transfer_finish(&tr, curl_easy_perform(easy), o->error);
    if (o->status == IMGPIPE_OK)
        imgpipe_run_complete(r, t, &tr.body, o);
    imgpipe_transfer_cleanup(&tr);
}
