#include "run/job.h"
#include "image/codec.h"
#include "store/store.h"

#include <stdio.h>
#include <string.h>

int imgpipe_job_thumbs(const imgpipe_get_opts *opts, int dirfd, const char *name, const void *data,
                       size_t len, int *thumbs, char *err)
{
    imgpipe_thumb_out outs[IMGPIPE_THUMB_MAX_SIZES];
    char why[IMGPIPE_ERRLEN], tname[512];
    int n = opts->nthumbs;
    *thumbs = 0;
    if (n <= 0)
        return IMGPIPE_OK;
    memset(outs, 0, sizeof(outs));
    for (int i = 0; i < n; i++) {
        outs[i].width = opts->thumbs[i].width;
        outs[i].height = opts->thumbs[i].height;
    }
    int rc = imgpipe_thumb_make(data, len, &opts->thumb, outs, n, why);
    if (rc)
        return imgpipe_errf(err, rc, "thumbnail: %s", why);
    for (int i = 0; i < n && rc == IMGPIPE_OK; i++) {
        rc = imgpipe_thumb_name(name, &opts->thumbs[i], n > 1, tname, sizeof(tname));
        if (rc)
            imgpipe_errf(err, rc, "thumbnail name for '%s' is too long", name);
        else if ((rc = imgpipe_store_write(dirfd, tname, outs[i].data.data, outs[i].data.len,
                                           err)) == IMGPIPE_OK)
            (*thumbs)++;
    }
    for (int i = 0; i < n; i++)
        imgpipe_buf_free(&outs[i].data);
    return rc;
}

int imgpipe_job_store(const imgpipe_get_opts *opts, int dirfd, const char *name,
                      const imgpipe_buf *body, int *thumbs, char *err)
{
    *thumbs = 0;
    /* Before anything is stored, the same check thumbnailing makes: a cut download or a
     * decompression bomb never reaches the disk. */
    const struct imgpipe_codec *codec;
    struct imgpipe_image_info info;
    int rc = imgpipe_image_check(body->data, body->len, opts->thumb.max_pixels, &codec, &info, err);
    if (rc)
        return rc;
    rc = imgpipe_store_write(dirfd, name, body->data, body->len, err);
    if (rc)
        return rc;
    return imgpipe_job_thumbs(opts, dirfd, name, body->data, body->len, thumbs, err);
}
