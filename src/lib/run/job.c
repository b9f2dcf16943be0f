#include "run/job.h"
#include "image/codec.h"
#include "store/store.h"

#include <stdio.h>
#include <string.h>

/* The header's size of an encoded image (complete, within the default pixel budget). */
static int image_info(const void *data, size_t len, struct imgpipe_image_info *info, char *err)
{
    const struct imgpipe_codec *codec;
    return imgpipe_image_check(data, len, 0, &codec, info, err);
}

/* 1 when the file tname in dirfd is a thumbnail of a w x h source made for box: it fits
 * the box and touches it on one side, or it is the source's size (never upscaled). An
 * unbounded side (0) fits anything. */
static int made_for_box(int dirfd, const char *tname, const imgpipe_thumb_size *box, int w, int h)
{
    imgpipe_buf b = {0};
    struct imgpipe_image_info ti;
    char why[IMGPIPE_ERRLEN];
    int fits = imgpipe_store_read(dirfd, tname, 1 << 24, &b, why) == IMGPIPE_OK &&
               image_info(b.data, b.len, &ti, why) == IMGPIPE_OK &&
               (!box->width || ti.width <= box->width) &&
               (!box->height || ti.height <= box->height) &&
               (ti.width == box->width || ti.height == box->height ||
                (ti.width == w && ti.height == h) || (ti.width == h && ti.height == w));
    imgpipe_buf_free(&b);
    return fits;
}

int imgpipe_job_thumb_name(int dirfd, const char *name, const imgpipe_thumb_size *box, int n,
                           const char *format, const void *data, size_t len, char *out, size_t cap)
{
    struct imgpipe_image_info info;
    char why[IMGPIPE_ERRLEN];
    int rc = imgpipe_thumb_name_as(name, box, n > 1, format, out, cap);
    if (rc || n > 1 || !imgpipe_store_exists(dirfd, out))
        return rc;
    /* One size, and a thumbnail of that name is there: it is this size's (a rerun
     * rewrites it) or another's, which is kept: this one's name then says its size. */
    if (image_info(data, len, &info, why) == IMGPIPE_OK &&
        made_for_box(dirfd, out, box, info.width, info.height))
        return IMGPIPE_OK;
    return imgpipe_thumb_name_as(name, box, 1, format, out, cap);
}

/* The thumbnails of one encoded image, made in memory (outs[0..opts->nthumbs)). */
static int make_thumbs(const imgpipe_get_opts *opts, const void *data, size_t len,
                       imgpipe_thumb_out *outs, char *err)
{
    char why[IMGPIPE_ERRLEN];
    memset(outs, 0, sizeof(*outs) * IMGPIPE_THUMB_MAX_SIZES);
    for (int i = 0; i < opts->nthumbs; i++) {
        outs[i].width = opts->thumbs[i].width;
        outs[i].height = opts->thumbs[i].height;
    }
    int rc = opts->nthumbs > 0
                 ? imgpipe_thumb_make(data, len, &opts->thumb, outs, opts->nthumbs, why)
                 : IMGPIPE_OK;
    return rc ? imgpipe_errf(err, rc, "thumbnail: %s", why) : IMGPIPE_OK;
}

static int write_thumbs(const imgpipe_get_opts *opts, int dirfd, const char *name, const void *data,
                        size_t len, imgpipe_thumb_out *outs, int *thumbs, char *err)
{
    char tname[512];
    int rc = IMGPIPE_OK;
    for (int i = 0; i < opts->nthumbs && rc == IMGPIPE_OK; i++) {
        rc = imgpipe_job_thumb_name(dirfd, name, &opts->thumbs[i], opts->nthumbs,
                                    opts->thumb.format, data, len, tname, sizeof(tname));
        if (rc)
            imgpipe_errf(err, rc, "thumbnail name for '%s' is too long", name);
        else if ((rc = imgpipe_store_write(dirfd, tname, outs[i].data.data, outs[i].data.len,
                                           err)) == IMGPIPE_OK)
            (*thumbs)++;
    }
    return rc;
}

static void free_thumbs(imgpipe_thumb_out *outs)
{
    for (int i = 0; i < IMGPIPE_THUMB_MAX_SIZES; i++)
        imgpipe_buf_free(&outs[i].data);
}

int imgpipe_job_thumbs(const imgpipe_get_opts *opts, int dirfd, const char *name, const void *data,
                       size_t len, int *thumbs, char *err)
{
    imgpipe_thumb_out outs[IMGPIPE_THUMB_MAX_SIZES];
    *thumbs = 0;
    if (opts->nthumbs <= 0)
        return IMGPIPE_OK;
    int rc = make_thumbs(opts, data, len, outs, err);
    if (rc == IMGPIPE_OK)
        rc = write_thumbs(opts, dirfd, name, data, len, outs, thumbs, err);
    free_thumbs(outs);
    return rc;
}

int imgpipe_job_store(const imgpipe_get_opts *opts, int dirfd, const char *name,
                      const imgpipe_buf *body, int *thumbs, char *err)
{
    imgpipe_thumb_out outs[IMGPIPE_THUMB_MAX_SIZES];
    *thumbs = 0;
    /* Before anything is stored: the same check thumbnailing makes (a cut download or a
     * decompression bomb never reaches the disk), then the thumbnails are decoded, so an
     * image that fails to decode is not put in place either. */
    const struct imgpipe_codec *codec;
    struct imgpipe_image_info info;
    int rc = imgpipe_image_check(body->data, body->len, opts->thumb.max_pixels, &codec, &info, err);
    if (rc == IMGPIPE_OK)
        rc = make_thumbs(opts, body->data, body->len, outs, err);
    else
        memset(outs, 0, sizeof(outs));
    if (rc == IMGPIPE_OK)
        rc = imgpipe_store_write(dirfd, name, body->data, body->len, err);
    if (rc == IMGPIPE_OK)
        rc = write_thumbs(opts, dirfd, name, body->data, body->len, outs, thumbs, err);
    free_thumbs(outs);
    return rc;
}
