#include "run/job.h"
#include "image/codec.h"
#include "store/store.h"
#include "run/output.h"

#include <stdio.h>
#include <string.h>

/* The header's size of an encoded image (complete, within the default pixel budget). */
static int image_info(const void *data, size_t len, struct imgpipe_image_info *info, char *err)
{
    const struct imgpipe_codec *codec;
    return imgpipe_image_check(data, len, 0, &codec, info, err);
}

int imgpipe_job_image_size(const void *data, size_t len, int *w, int *h, char *err)
{
    struct imgpipe_image_info info;
    int rc = image_info(data, len, &info, err);
    *w = rc ? 0 : info.width;
    *h = rc ? 0 : info.height;
    return rc;
}

/* 1 when the file tname in out is a thumbnail of a w x h source made for box: it fits
 * the box and touches it on one side, or it is the source's size (never upscaled). An
 * unbounded side (0) fits anything. */
static int made_for_box(const imgpipe_output *out, const char *tname, const imgpipe_thumb_size *box,
                        int w, int h)
{
    imgpipe_buf b = {0};
    struct imgpipe_image_info ti;
    char why[IMGPIPE_ERRLEN];
    int fits = imgpipe_output_read(out, tname, 1 << 24, &b, why) == IMGPIPE_OK &&
               image_info(b.data, b.len, &ti, why) == IMGPIPE_OK &&
               (!box->width || ti.width <= box->width) &&
               (!box->height || ti.height <= box->height) &&
               (ti.width == box->width || ti.height == box->height ||
                (ti.width == w && ti.height == h) || (ti.width == h && ti.height == w));
    imgpipe_buf_free(&b);
    return fits;
}

int imgpipe_job_thumb_name(const imgpipe_output *out, const char *name,
                           const imgpipe_thumb_size *box, int n, const char *format, int w, int h,
                           char *buf, size_t cap)
{
    int rc = imgpipe_thumb_name_as(name, box, n > 1, format, buf, cap);
    if (rc || n > 1 || !imgpipe_output_exists(out, buf))
        return rc;
    /* One size, and a thumbnail of that name is there: it is this size's (a rerun
     * rewrites it) or another's, which is kept: this one's name then says its size. */
    if (w > 0 && made_for_box(out, buf, box, w, h))
        return IMGPIPE_OK;
    return imgpipe_thumb_name_as(name, box, 1, format, buf, cap);
}

/* The thumbnails of one checked image (c, info), made in memory (outs[0..opts->nthumbs)). */
static int make_thumbs(const imgpipe_get_opts *opts, const struct imgpipe_codec *c,
                       const struct imgpipe_image_info *info, const void *data, size_t len,
                       imgpipe_thumb_out *outs, char *err)
{
    char why[IMGPIPE_ERRLEN];
    memset(outs, 0, sizeof(*outs) * IMGPIPE_THUMB_MAX_SIZES);
    for (int i = 0; i < opts->nthumbs; i++) {
        outs[i].width = opts->thumbs[i].width;
        outs[i].height = opts->thumbs[i].height;
    }
    int rc = opts->nthumbs > 0 ? imgpipe_thumb_make_checked(c, info, data, len, &opts->thumb, outs,
                                                            opts->nthumbs, why)
                               : IMGPIPE_OK;
    return rc ? imgpipe_errf(err, rc, "thumbnail: %s", why) : IMGPIPE_OK;
}

/* --format's, else what codec c's thumbnails are written in (NULL: no codec known). */
static const char *thumb_format(const imgpipe_get_opts *opts, const struct imgpipe_codec *c)
{
    return opts->thumb.format ? opts->thumb.format : c ? c->thumb : NULL;
}

const char *imgpipe_job_thumb_format(const imgpipe_get_opts *opts, const void *data, size_t len)
{
    return thumb_format(opts, opts->thumb.format ? NULL : imgpipe_codec_find(data, len));
}

static int write_thumbs(const imgpipe_get_opts *opts, const imgpipe_output *out, const char *name,
                        const struct imgpipe_codec *c, const struct imgpipe_image_info *info,
                        imgpipe_thumb_out *outs, int *thumbs, char (*names)[IMGPIPE_THUMBNAME_LEN],
                        char *err)
{
    char tname[IMGPIPE_THUMBNAME_LEN]; /* longer could not be stored: the write refuses it */
    /* The format the bytes are, not the one the name says: a PNG served as photo.jpg gets
     * photo_thumbnail.jpg.png, never PNG bytes under a .jpg name. */
    const char *format = thumb_format(opts, c);
    int rc = IMGPIPE_OK;
    for (int i = 0; i < opts->nthumbs && rc == IMGPIPE_OK; i++) {
        rc = imgpipe_job_thumb_name(out, name, &opts->thumbs[i], opts->nthumbs, format, info->width,
                                    info->height, tname, sizeof(tname));
        /* A name found free stays another process's if it takes it first; one that is
         * there is a thumbnail's reserved name, of this size (a rerun): rewritten. */
        int flags =
            rc == IMGPIPE_OK && !imgpipe_output_exists(out, tname) ? IMGPIPE_STORE_NOREPLACE : 0;
        if (rc)
            imgpipe_errf(err, rc, "thumbnail name for '%s' is too long", name);
        else if ((rc = imgpipe_output_write(out, tname, outs[i].data.data, outs[i].data.len, flags,
                                            err)) == IMGPIPE_OK)
            (*thumbs)++;
        if (rc == IMGPIPE_OK && names) /* what was written, for the caller to report */
            memcpy(names[i], tname, sizeof(tname));
    }
    return rc;
}

static void free_thumbs(imgpipe_thumb_out *outs)
{
    for (int i = 0; i < IMGPIPE_THUMB_MAX_SIZES; i++)
        imgpipe_buf_free(&outs[i].data);
}

static void no_names(char (*names)[IMGPIPE_THUMBNAME_LEN])
{
    for (int i = 0; names && i < IMGPIPE_THUMB_MAX_SIZES; i++)
        names[i][0] = '\0';
}

int imgpipe_job_thumbs(const imgpipe_get_opts *opts, const imgpipe_output *out, const char *name,
                       const void *data, size_t len, int *thumbs,
                       char (*names)[IMGPIPE_THUMBNAME_LEN], char *err)
{
    imgpipe_thumb_out outs[IMGPIPE_THUMB_MAX_SIZES];
    const struct imgpipe_codec *codec;
    struct imgpipe_image_info info;
    *thumbs = 0;
    no_names(names);
    if (opts->nthumbs <= 0)
        return IMGPIPE_OK;
    char why[IMGPIPE_ERRLEN];
    int rc = imgpipe_image_check(data, len, opts->thumb.max_pixels, &codec, &info, why);
    if (rc)
        return imgpipe_errf(err, rc, "thumbnail: %s", why);
    rc = make_thumbs(opts, codec, &info, data, len, outs, err);
    if (rc == IMGPIPE_OK)
        rc = write_thumbs(opts, out, name, codec, &info, outs, thumbs, names, err);
    free_thumbs(outs);
    return rc;
}

/* An item that fails after its image was put in place (a thumbnail that could not be
 * written: a full disk) leaves neither in DIR: the ledger records it failed, and an image
 * left there unrecorded would be taken for a file of yours by the rerun, which would then
 * store the link a second time under its -<hash> name. */
static void take_back(const imgpipe_output *out, const char *name, int kept,
                      char (*names)[IMGPIPE_THUMBNAME_LEN], int *thumbs)
{
    for (int i = 0; i < IMGPIPE_THUMB_MAX_SIZES; i++)
        if (names[i][0])
            imgpipe_output_remove(out, names[i]);
    no_names(names);
    *thumbs = 0;
    if (!kept)
        imgpipe_output_remove(out, name);
}

int imgpipe_job_store(const imgpipe_get_opts *opts, const imgpipe_output *out, const char *name,
                      int replace, const imgpipe_buf *body, int *thumbs,
                      char (*names)[IMGPIPE_THUMBNAME_LEN], char *err)
{
    imgpipe_thumb_out outs[IMGPIPE_THUMB_MAX_SIZES];
    *thumbs = 0;
    no_names(names);
    /* Before anything is stored: the one check (a cut download or a decompression bomb
     * never reaches the disk), then the thumbnails are decoded from what it found, so an
     * image that fails to decode is not put in place either. */
    const struct imgpipe_codec *codec;
    struct imgpipe_image_info info;
    int rc = imgpipe_image_check(body->data, body->len, opts->thumb.max_pixels, &codec, &info, err);
    if (rc == IMGPIPE_OK)
        rc = make_thumbs(opts, codec, &info, body->data, body->len, outs, err);
    else
        memset(outs, 0, sizeof(outs));
    /* A file of these bytes already there (NOREPLACE keeps it) is not this item's to take
     * back; one it wrote is. */
    int kept = rc == IMGPIPE_OK && !replace && imgpipe_output_exists(out, name);
    int shared = replace == IMGPIPE_JOB_SHARED;
    if (rc == IMGPIPE_OK)
        rc = imgpipe_output_write(out, name, body->data, body->len,
                                  replace ? 0 : IMGPIPE_STORE_NOREPLACE, err);
    if (rc == IMGPIPE_OK) {
        char own[IMGPIPE_THUMB_MAX_SIZES][IMGPIPE_THUMBNAME_LEN];
        char(*written)[IMGPIPE_THUMBNAME_LEN] = names ? names : own;
        no_names(written);
        if ((rc = write_thumbs(opts, out, name, codec, &info, outs, thumbs, written, err)) &&
            !shared)
            take_back(out, name, kept, written, thumbs);
    }
    free_thumbs(outs);
    return rc;
}

int imgpipe_job_land(const imgpipe_get_opts *opts, imgpipe_store_tmp *tmp, const void *data,
                     size_t len, const char *name, int replace, char *err)
{
    const struct imgpipe_codec *codec;
    struct imgpipe_image_info info;
    int rc = imgpipe_image_check(data, len, opts->thumb.max_pixels, &codec, &info, err);
    /* No file: no byte came, and the check says so. */
    if (rc == IMGPIPE_OK && tmp->fd < 0)
        rc = imgpipe_errf(err, IMGPIPE_EFORMAT, "not an image: no data");
    if (rc == IMGPIPE_OK)
        return imgpipe_store_tmp_commit(tmp, name, replace ? 0 : IMGPIPE_STORE_NOREPLACE, data, len,
                                        err);
    imgpipe_store_tmp_discard(tmp);
    return rc;
}
