/* The thumbnail pipeline: sniff, read the header, check the pixel budget, decode once
 * (DCT-scaled for JPEG), then per requested size resize, orient and encode. */
#include "image/image.h"
#include "common/util.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_QUALITY 85
#define DEFAULT_MAX_PIXELS 100000000ULL
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

enum format { FMT_JPEG, FMT_PNG, FMT_WEBP, FMT_GIF };

/* The format by magic bytes, or -1 with err naming the first bytes. */
static int format_of(const unsigned char *p, size_t len, char *err)
{
    static const char *const names[] = {"jpeg", "png", "webp", "gif"};
    const char *fmt = imgpipe_sniff_format(p, len);
    for (int i = 0; fmt && i < 4; i++)
        if (strcmp(fmt, names[i]) == 0)
            return i;
    char hex[3 * 8 + 1] = "";
    size_t used = 0;
    for (size_t i = 0; i < len && i < 8; i++)
        used += (size_t)snprintf(hex + used, sizeof(hex) - used, "%s%02x", i ? " " : "", p[i]);
    imgpipe_errf(err, IMGPIPE_EFORMAT, "not a JPEG, PNG, WebP or GIF image (first bytes %s)",
                 len ? hex : "none: empty input");
    return -1;
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

static int check_budget(const struct imgpipe_image_info *info, uint64_t max_pixels, char *err)
{
    uint64_t px = (uint64_t)info->width * (uint64_t)info->height;
    if (px <= max_pixels)
        return IMGPIPE_OK;
    if (max_pixels < 1000000) /* megapixels would read "0 MP" */
        return imgpipe_errf(err, IMGPIPE_ETOOBIG,
                            "image is %dx%d (%llu pixels), over the %llu pixel limit", info->width,
                            info->height, (unsigned long long)px, (unsigned long long)max_pixels);
    return imgpipe_errf(err, IMGPIPE_ETOOBIG, "image is %dx%d (%.3g MP), over the %.3g MP limit",
                        info->width, info->height, px / 1e6, max_pixels / 1e6);
}

/* The thumbnail's encoding: the source's format, except GIF, whose thumbnails are PNG
 * (a resized GIF would need palette quantisation and lose the antialiasing). */
static int encode(struct imgpipe_engine *eng, int fmt, const struct imgpipe_image *img, int quality,
                  imgpipe_buf *out, char *err)
{
    switch (fmt) {
    case FMT_JPEG:
        return imgpipe_jpeg_encode(eng, img, quality, out, err);
    case FMT_WEBP:
        return imgpipe_webp_encode(img, quality, out, err);
    default:
        return imgpipe_png_encode(img, out, err);
    }
}

/* One thumbnail from its resized image: make it upright, convert an embedded profile to
 * sRGB (on the thumbnail: a few thousand pixels, not the source's millions), encode. */
static int finish_one(struct imgpipe_engine *eng, struct imgpipe_image *small, int fmt,
                      int orientation, int quality, imgpipe_buf *out, char *err)
{
    int rc = imgpipe_orient(small, orientation);
    if (rc)
        return imgpipe_errf(err, rc, "out of memory making a %dx%d thumbnail", small->width,
                            small->height);
    imgpipe_icc_to_srgb(eng, small);
    return encode(eng, fmt, small, quality, out, err);
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

static int read_info(struct imgpipe_engine *eng, int fmt, const unsigned char *p, size_t len,
                     struct imgpipe_image_info *info, char *err)
{
    switch (fmt) {
    case FMT_JPEG:
        return imgpipe_jpeg_info(eng, p, len, info, err);
    case FMT_PNG:
        return imgpipe_png_info(p, len, info, err);
    case FMT_WEBP:
        return imgpipe_webp_info(p, len, info, err);
    default:
        return imgpipe_gif_info(p, len, info, err);
    }
}

/* Decodes into the sink: PNG row by row as libspng produces the rows (a large PNG is
 * never held whole), the others whole (JPEG is small already, DCT-scaled) then fed. */
static int decode(struct imgpipe_engine *eng, int fmt, const unsigned char *p, size_t len,
                  int need_w, int need_h, uint64_t max_pixels, struct sink *k, char *err)
{
    if (fmt == FMT_PNG)
        return imgpipe_png_decode_rows(eng, p, len, max_pixels, sink_start, sink_row, k, err);
    struct imgpipe_image img = {0};
    int rc = fmt == FMT_JPEG   ? imgpipe_jpeg_decode(eng, p, len, need_w, need_h, &img, err)
             : fmt == FMT_WEBP ? imgpipe_webp_decode(eng, p, len, &img, err)
                               : imgpipe_gif_decode(eng, p, len, &img, err);
    if (!rc && (rc = sink_start(k, img.width, img.height, img.channels)) != 0)
        rc = imgpipe_errf(err, rc, "out of memory resizing a %dx%d image", img.width, img.height);
    for (int y = 0; !rc && y < img.height; y++)
        sink_row(k, img.pixels + (size_t)y * img.stride);
    imgpipe_image_free(&img);
    return rc;
}

/* Decodes and makes the n thumbnails into bufs with the calling thread's engine. */
static int make_all(int fmt, const unsigned char *p, size_t len, uint64_t max_pixels, int quality,
                    const imgpipe_thumb_out *outs, int n, int *tw, int *th, imgpipe_buf *bufs,
                    char *err)
{
    struct imgpipe_engine *eng = imgpipe_engine_get();
    if (!eng)
        return imgpipe_errf(err, IMGPIPE_ENOMEM, "cannot create a thumbnail engine");
    struct imgpipe_image_info info;
    int rc = read_info(eng, fmt, p, len, &info, err);
    if (!rc)
        rc = check_budget(&info, max_pixels, err);
    if (rc)
        return rc;
    int need_w, need_h;
    plan_sizes(&info, outs, n, tw, th, &need_w, &need_h);
    struct sink k = {.n = n, .orientation = info.orientation, .tw = tw, .th = th};
    rc = decode(eng, fmt, p, len, need_w, need_h, max_pixels, &k, err);
    for (int i = 0; i < n; i++) {
        struct imgpipe_image small = {0};
        if (!rc && (rc = imgpipe_resizer_finish(k.rs[i], &small)) != 0)
            rc = imgpipe_errf(err, rc, "thumbnail %d: the image ended early", i);
        if (!rc)
            rc = finish_one(eng, &small, fmt, info.orientation, quality, &bufs[i], err);
        imgpipe_image_free(&small);
        imgpipe_resizer_free(k.rs[i]);
    }
    imgpipe_engine_trim(eng);
    return rc;
}

int imgpipe_thumb_make(const void *src, size_t len, const imgpipe_thumb_opts *opts,
                       imgpipe_thumb_out *outs, int n, char *err)
{
    int rc = check_args(src, outs, n, err);
    if (rc)
        return rc;
    const unsigned char *p = src;
    int fmt = format_of(p, len, err);
    if (fmt < 0)
        return IMGPIPE_EFORMAT;
    uint64_t max_pixels = opts && opts->max_pixels ? opts->max_pixels : DEFAULT_MAX_PIXELS;
    int quality = opts && opts->quality ? opts->quality : DEFAULT_QUALITY;
    if (quality < 1 || quality > 100)
        return imgpipe_errf(err, IMGPIPE_EINVAL, "JPEG quality %d is not in 1..100", quality);

    int tw[IMGPIPE_THUMB_MAX_SIZES], th[IMGPIPE_THUMB_MAX_SIZES];
    imgpipe_buf bufs[IMGPIPE_THUMB_MAX_SIZES];
    memset(bufs, 0, sizeof(bufs));
    rc = make_all(fmt, p, len, max_pixels, quality, outs, n, tw, th, bufs, err);
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
