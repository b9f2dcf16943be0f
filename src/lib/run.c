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

void imgpipe_run_report(imgpipe_run *r, imgpipe_task *t, int status, const char *error,
                        uint64_t bytes, int thumbs)
{
    imgpipe_item item = {.index = t->index,
                         .url = t->url,
                         .name = t->name,
                         .status = status,
                         .error = status ? error : "",
                         .bytes = bytes,
                         .thumbs = thumbs};
    if (status == IMGPIPE_OK) {
        r->sum->done++;
        r->sum->bytes += bytes;
    } else {
        r->sum->failed++;
    }
    r->sum->thumbs += (uint64_t)thumbs;
    if (r->cb) r->cb(&item, r->userdata);
    free(t->url);
    t->url = NULL;
}

void imgpipe_run_perform(imgpipe_run *r, CURL *easy, imgpipe_task *t)
{
    char err[IMGPIPE_ERRLEN] = "";
    imgpipe_transfer tr;
    int thumbs = 0;
    uint64_t bytes = 0;
    int rc = imgpipe_transfer_init(&tr, easy, t->url, &r->fetch, err);
    if (rc == IMGPIPE_OK) rc = imgpipe_transfer_finish(&tr, curl_easy_perform(easy), err);
    if (rc == IMGPIPE_OK) {
        bytes = tr.body.len;
        rc = imgpipe_job_store(r->opts, r->dirfd, t->name, &tr.body, &thumbs, err);
    }
    imgpipe_transfer_cleanup(&tr);
    imgpipe_run_report(r, t, rc, err, bytes, thumbs);
}
