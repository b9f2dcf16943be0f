/* The thumbnail pipeline: the image check (codec.c: format, completeness, pixel budget),
 * one decode through the format's codec (DCT-scaled for JPEG), then per requested size
 * resize, orient and encode. */
#include "image/codec.h"
#include "common/util.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_QUALITY 85
/* Decode at least this many times the largest thumbnail so DCT scaling cannot alias. */
#define DECODE_HEADROOM 2

/* Fits a w x h image in a bw x bh box: aspect kept, rounded to nearest, at least 1 px,
 * never enlarged. */
static void fit(int w, int h, int bw, int bh, int *ow, int *oh)
{
    if (w <= bw && h <= bh) {
        *ow = w, *oh = h;
        return;
    }
    uint64_t W = (uint64_t)w, H = (uint64_t)h;
    if ((uint64_t)bw * H <= (uint64_t)bh * W) { /* the width is the tighter limit */
        *ow = bw;
        *oh = (int)((2 * H * (uint64_t)bw + W) / (2 * W));
    } else {
        *oh = bh;
        *ow = (int)((2 * W * (uint64_t)bh + H) / (2 * H));
    }
    if (*ow < 1)
        *ow = 1;
    if (*oh < 1)
        *oh = 1;
}

static int check_args(const void *src, const imgpipe_thumb_out *outs, int n, char *err)
{
    if (!src || !outs || n < 1 || n > IMGPIPE_THUMB_MAX_SIZES)
        return imgpipe_errf(err, IMGPIPE_EINVAL,
                            "thumbnail request needs a source and 1..%d "
                            "sizes",
                            IMGPIPE_THUMB_MAX_SIZES);
    for (int i = 0; i < n; i++)
        if (outs[i].width < 1 || outs[i].height < 1)
            return imgpipe_errf(err, IMGPIPE_EINVAL, "thumbnail size %d is %dx%d, not positive", i,
                                outs[i].width, outs[i].height);
    return IMGPIPE_OK;
}

/* One thumbnail from its resized image: make it upright, convert an embedded profile to
 * sRGB (on the thumbnail: a few thousand pixels, not the source's millions), encode. */
static int finish_one(struct imgpipe_engine *eng, struct imgpipe_image *small,
                      const struct imgpipe_codec *enc, int orientation, int quality,
                      imgpipe_buf *out, char *err)
{
    int rc = imgpipe_orient(small, orientation);
    if (rc)
        return imgpipe_errf(err, rc, "out of memory making a %dx%d thumbnail", small->width,
                            small->height);
    imgpipe_icc_to_srgb(eng, small);
    return enc->encode(eng, small, quality, out, err);
}

/* The resizers of one source, one per size (in stored orientation), fed the decoded
 * rows. */
struct sink {
    int n, orientation;
    const int *tw, *th;
    struct imgpipe_resizer *rs[IMGPIPE_THUMB_MAX_SIZES];
};

static int sink_start(void *arg, int width, int height, int channels)
{
    struct sink *k = arg;
    int swap = k->orientation >= 5;
    for (int i = 0; i < k->n; i++) {
        int rc = imgpipe_resizer_new(&k->rs[i], width, height, channels, swap ? k->th[i] : k->tw[i],
                                     swap ? k->tw[i] : k->th[i]);
        if (rc)
            return rc;
    }
    return IMGPIPE_OK;
}

static void sink_row(void *arg, const unsigned char *row)
{
    struct sink *k = arg;
    for (int i = 0; i < k->n; i++)
        imgpipe_resizer_row(k->rs[i], row);
}

/* PNG sides reach 2^31 - 1: keep the doubling in range. */
static int headroom(int side)
{
    return side > INT_MAX / DECODE_HEADROOM ? INT_MAX : side * DECODE_HEADROOM;
}

/* Fits each box to the displayed (upright) image; the decode minimum, DECODE_HEADROOM
 * times the largest thumbnail, is in stored axes. */
static void plan_sizes(const struct imgpipe_image_info *info, const imgpipe_thumb_out *outs, int n,
                       int *tw, int *th, int *need_w, int *need_h)
{
    int swap = info->orientation >= 5;
    int dw = swap ? info->height : info->width, dh = swap ? info->width : info->height;
    *need_w = *need_h = 0;
    for (int i = 0; i < n; i++) {
        fit(dw, dh, outs[i].width, outs[i].height, &tw[i], &th[i]);
        int sw = headroom(swap ? th[i] : tw[i]), sh = headroom(swap ? tw[i] : th[i]);
        if (sw > *need_w)
            *need_w = sw;
        if (sh > *need_h)
            *need_h = sh;
    }
}

/* Decodes once into one resizer per size, then makes the n thumbnails into bufs with the
 * calling thread's engine. The thumbnails' format is the source's, except for a format
 * without an encoder (GIF: PNG). */
static int make_all(const struct imgpipe_codec *c, const struct imgpipe_image_info *info,
                    const unsigned char *p, size_t len, uint64_t max_pixels, int quality,
                    const imgpipe_thumb_out *outs, int n, int *tw, int *th, imgpipe_buf *bufs,
                    char *err)
{
    struct imgpipe_engine *eng = imgpipe_engine_get();
    const struct imgpipe_codec *enc = imgpipe_codec_by_name(c->thumb);
    if (!eng)
        return imgpipe_errf(err, IMGPIPE_ENOMEM, "cannot create a thumbnail engine");
    int need_w, need_h;
    plan_sizes(info, outs, n, tw, th, &need_w, &need_h);
    struct sink k = {.n = n, .orientation = info->orientation, .tw = tw, .th = th};
    struct imgpipe_decode_req req = {.min_width = need_w,
                                     .min_height = need_h,
                                     .max_pixels = max_pixels,
                                     .start = sink_start,
                                     .row = sink_row,
                                     .arg = &k};
    int rc = c->decode(eng, p, len, &req, err);
    for (int i = 0; i < n; i++) {
        struct imgpipe_image small = {0};
        if (!rc && (rc = imgpipe_resizer_finish(k.rs[i], &small)) != 0)
            rc = imgpipe_errf(err, rc, "thumbnail %d: the image ended early", i);
        if (!rc)
            rc = finish_one(eng, &small, enc, info->orientation, quality, &bufs[i], err);
        imgpipe_image_free(&small);
        imgpipe_resizer_free(k.rs[i]);
    }
    imgpipe_engine_trim(eng);
    return rc;
}

int imgpipe_thumb_make_checked(const struct imgpipe_codec *c, const struct imgpipe_image_info *info,
                               const void *src, size_t len, const imgpipe_thumb_opts *opts,
                               imgpipe_thumb_out *outs, int n, char *err)
{
    int rc = check_args(src, outs, n, err);
    if (rc)
        return rc;
    uint64_t max_pixels = opts && opts->max_pixels ? opts->max_pixels : IMGPIPE_DEFAULT_MAX_PIXELS;
    int quality = opts && opts->quality ? opts->quality : DEFAULT_QUALITY;
    if (quality < 1 || quality > 100)
        return imgpipe_errf(err, IMGPIPE_EINVAL, "JPEG quality %d is not in 1..100", quality);
    int tw[IMGPIPE_THUMB_MAX_SIZES], th[IMGPIPE_THUMB_MAX_SIZES];
    imgpipe_buf bufs[IMGPIPE_THUMB_MAX_SIZES];
    memset(bufs, 0, sizeof(bufs));
    rc = make_all(c, info, src, len, max_pixels, quality, outs, n, tw, th, bufs, err);
    for (int i = 0; i < n; i++) {
        if (rc) {
            imgpipe_buf_free(&bufs[i]);
            continue;
        }
        outs[i].data = bufs[i];
        outs[i].width = tw[i];
        outs[i].height = th[i];
    }
    return rc;
}

int imgpipe_thumb_make(const void *src, size_t len, const imgpipe_thumb_opts *opts,
                       imgpipe_thumb_out *outs, int n, char *err)
{
    int rc = check_args(src, outs, n, err);
    if (rc)
        return rc;
    uint64_t max_pixels = opts && opts->max_pixels ? opts->max_pixels : IMGPIPE_DEFAULT_MAX_PIXELS;
    const struct imgpipe_codec *c;
    struct imgpipe_image_info info;
    rc = imgpipe_image_check(src, len, max_pixels, &c, &info, err);
    return rc ? rc : imgpipe_thumb_make_checked(c, &info, src, len, opts, outs, n, err);
}
