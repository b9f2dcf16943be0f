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
    *thumbs = 0;
    int rc = check_image(opts, body, err);
    if (rc)
        return rc;
    rc = imgpipe_store_write(dirfd, name, body->data, body->len, err);
    if (rc)
        return rc;
    return imgpipe_job_thumbs(opts, dirfd, name, body->data, body->len, thumbs, err);
}
