#include "run/job.h"
#include "image/image.h"
#include "store/store.h"

#include <stdio.h>
#include <string.h>

/* For a message about a body that is not an image: its first bytes, printable. */
static void body_preview(const imgpipe_buf *body, char *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < body->len && i < 24 && n + 5 < cap; i++) {
        unsigned char c = body->data[i];
        n += (size_t)snprintf(out + n, cap - n, c >= 0x20 && c < 0x7f ? "%c" : "\\x%02x", c);
    }
    out[n] = '\0';
}

/* The header's size of an encoded image, by its format. */
static int image_info(const void *data, size_t len, struct imgpipe_image_info *info, char *err)
{
    const char *fmt = imgpipe_sniff_format(data, len);
    struct imgpipe_engine *eng;
    if (!fmt)
        return imgpipe_errf(err, IMGPIPE_EFORMAT, "not an image");
    if (strcmp(fmt, "jpeg") == 0)
        return (eng = imgpipe_engine_get()) ? imgpipe_jpeg_info(eng, data, len, info, err)
                                            : imgpipe_errf(err, IMGPIPE_ENOMEM, "out of memory");
    if (strcmp(fmt, "png") == 0)
        return imgpipe_png_info(data, len, info, err);
    if (strcmp(fmt, "webp") == 0)
        return imgpipe_webp_info(data, len, info, err);
    return imgpipe_gif_info(data, len, info, err);
}

/* 1 when the file tname in dirfd is a thumbnail of a w x h source made for box: it fits
 * the box and touches it on one side, or it is the source's size (never upscaled). */
static int made_for_box(int dirfd, const char *tname, const imgpipe_thumb_size *box, int w, int h)
{
    imgpipe_buf b = {0};
    struct imgpipe_image_info ti;
    char why[IMGPIPE_ERRLEN];
    int fits = imgpipe_store_read(dirfd, tname, 1 << 24, &b, why) == IMGPIPE_OK &&
               image_info(b.data, b.len, &ti, why) == IMGPIPE_OK && ti.width <= box->width &&
               ti.height <= box->height &&
               (ti.width == box->width || ti.height == box->height ||
                (ti.width == w && ti.height == h) || (ti.width == h && ti.height == w));
    imgpipe_buf_free(&b);
    return fits;
}

int imgpipe_job_thumb_name(int dirfd, const char *name, const imgpipe_thumb_size *box, int n,
                           const void *data, size_t len, char *out, size_t cap)
{
    struct imgpipe_image_info info;
    char why[IMGPIPE_ERRLEN];
    int rc = imgpipe_thumb_name(name, box, n > 1, out, cap);
    if (rc || n > 1 || !imgpipe_store_exists(dirfd, out))
        return rc;
    /* One size, and a thumbnail of that name is there: it is this size's (a rerun
     * rewrites it) or another's, which is kept: this one's name then says its size. */
    if (image_info(data, len, &info, why) == IMGPIPE_OK &&
        made_for_box(dirfd, out, box, info.width, info.height))
        return IMGPIPE_OK;
    return imgpipe_thumb_name(name, box, 1, out, cap);
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
        rc = imgpipe_job_thumb_name(dirfd, name, &opts->thumbs[i], opts->nthumbs, data, len, tname,
                                    sizeof(tname));
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

#define DEFAULT_MAX_PIXELS 100000000ULL

/* Before anything is stored: the bytes must be an image whose header declares a size
 * within the pixel limit (a decompression bomb is refused by its header). */
static int check_image(const imgpipe_get_opts *opts, const imgpipe_buf *body, char *err)
{
    const char *fmt = imgpipe_sniff_format(body->data, body->len);
    if (!fmt) {
        char preview[128];
        body_preview(body, preview, sizeof(preview));
        return imgpipe_errf(err, IMGPIPE_EFORMAT, "not an image: %zu bytes starting with \"%s\"",
                            body->len, preview);
    }
    struct imgpipe_image_info info;
    struct imgpipe_engine *eng;
    int rc = IMGPIPE_OK;
    if (strcmp(fmt, "jpeg") == 0 && !(eng = imgpipe_engine_get()))
        return imgpipe_errf(err, IMGPIPE_ENOMEM, "out of memory");
    if (strcmp(fmt, "jpeg") == 0)
        rc = imgpipe_jpeg_info(eng, body->data, body->len, &info, err);
    else if (strcmp(fmt, "png") == 0)
        rc = imgpipe_png_info(body->data, body->len, &info, err);
    else if (strcmp(fmt, "webp") == 0)
        rc = imgpipe_webp_info(body->data, body->len, &info, err);
    else
        rc = imgpipe_gif_info(body->data, body->len, &info, err);
    if (rc)
        return rc;
    uint64_t max = opts->thumb.max_pixels ? opts->thumb.max_pixels : DEFAULT_MAX_PIXELS;
    uint64_t px = (uint64_t)info.width * (uint64_t)info.height;
    if (px > max)
        return imgpipe_errf(err, IMGPIPE_ETOOBIG,
                            "image is %dx%d (%.0f MP), over the %.0f MP limit (--max-pixels)",
                            info.width, info.height, (double)px / 1e6, (double)max / 1e6);
    return IMGPIPE_OK;
}

int imgpipe_job_store(const imgpipe_get_opts *opts, int dirfd, const char *name,
                      const imgpipe_buf *body, int *thumbs, char *err)
{
    imgpipe_thumb_out outs[IMGPIPE_THUMB_MAX_SIZES];
    *thumbs = 0;
    int rc = check_image(opts, body, err);
    /* The thumbnails are decoded before the image is put in place: an image that fails
     * to decode (cut short, corrupt) is not stored. */
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
