/* The thumbnail pipeline: the image check (codec.c: format, completeness, pixel budget),
 * one decode through the format's codec (DCT-scaled for JPEG), then per requested size
 * resize, orient and encode. */
#include "image/codec.h"
#include "common/util.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Decode at least this many times the largest thumbnail so DCT scaling cannot alias. */
#define DECODE_HEADROOM 2
/* An unbounded side of a box ("128x"): larger than any image side times any box side
 * keeps the products below in 64 bits. */
#define UNBOUNDED (1 << 30)

/* What one thumbnail becomes, in displayed (upright) axes: resized to rw x rh, then a
 * cw x ch canvas: cropped from (cx, cy) when smaller (cover), padded when larger (pad). */
struct shape {
    int rw, rh, cw, ch, cx, cy;
};

/* Scales w x h so that it fits bw x bh (contain) or covers it (cover) with one side
 * exactly on the box, rounded to nearest, at least 1 px; never enlarged unless upscale. */
static void scale_to(int w, int h, int bw, int bh, int cover, int upscale, int *ow, int *oh)
{
    uint64_t W = (uint64_t)w, H = (uint64_t)h, BW = (uint64_t)bw, BH = (uint64_t)bh;
    int width_rules = (BW * H <= BH * W) != cover; /* the width is the side on the box */
    uint64_t side = width_rules ? BW : BH;
    if (!upscale && side >= (width_rules ? W : H)) {
        *ow = w, *oh = h;
        return;
    }
    if (width_rules) {
        *ow = bw;
        *oh = (int)((2 * H * BW + W) / (2 * W));
    } else {
        *oh = bh;
        *ow = (int)((2 * W * BH + H) / (2 * H));
    }
    *ow = *ow < 1 ? 1 : *ow;
    *oh = *oh < 1 ? 1 : *oh;
}

static struct shape shape_for(int dw, int dh, int bw, int bh, imgpipe_fit fit, int upscale)
{
    struct shape s;
    int unbounded = !bw || !bh; /* one side free: nothing to crop or pad on it */
    int cover = fit == IMGPIPE_FIT_COVER && !unbounded;
    scale_to(dw, dh, bw ? bw : UNBOUNDED, bh ? bh : UNBOUNDED, cover, upscale, &s.rw, &s.rh);
    s.cw = s.rw, s.ch = s.rh, s.cx = s.cy = 0;
    if (cover) {
        s.cw = s.rw < bw ? s.rw : bw;
        s.ch = s.rh < bh ? s.rh : bh;
        s.cx = (s.rw - s.cw) / 2, s.cy = (s.rh - s.ch) / 2;
    } else if (fit == IMGPIPE_FIT_PAD) {
        s.cw = bw ? bw : s.rw;
        s.ch = bh ? bh : s.rh;
    }
    return s;
}

static int check_args(const void *src, const imgpipe_thumb_out *outs, int n, char *err)
{
    if (!src || !outs || n < 1 || n > IMGPIPE_THUMB_MAX_SIZES)
        return imgpipe_errf(err, IMGPIPE_EINVAL,
                            "thumbnail request needs a source and 1..%d "
                            "sizes",
                            IMGPIPE_THUMB_MAX_SIZES);
    for (int i = 0; i < n; i++)
        if (outs[i].width < 0 || outs[i].height < 0 || (!outs[i].width && !outs[i].height))
            return imgpipe_errf(err, IMGPIPE_EINVAL,
                                "thumbnail size %d is %dx%d: a side is negative or both are "
                                "unbounded",
                                i, outs[i].width, outs[i].height);
    return IMGPIPE_OK;
}

/* What the thumbnails of one source are made with. */
struct job {
    const struct imgpipe_codec *enc;
    struct imgpipe_encode_opts eo;
    imgpipe_fit fit;
    int upscale;
    unsigned char bg[4];
};

static int gray_colour(const unsigned char c[4])
{
    return c[0] == c[1] && c[1] == c[2];
}

/* The channels the thumbnail is encoded with: alpha is kept where the format has it (and
 * added for a see-through padding); gray stays gray unless a colour shows in it: the
 * padding's, or the background alpha is flattened onto for a format without alpha. */
static int channels_for(const struct job *j, const struct imgpipe_image *img, int padded)
{
    int had_alpha = img->channels == 2 || img->channels == 4;
    int alpha = had_alpha || (padded && j->bg[3] < 255);
    unsigned char flat[4];
    imgpipe_canvas_flat(j->bg, flat);
    for (int a = alpha; a >= 0; a--) {
        int flattened = !a && had_alpha;
        int colour =
            (padded && !gray_colour(a ? j->bg : flat)) || (flattened && !gray_colour(flat));
        for (int g = img->channels < 3 && !colour; g >= 0; g--) {
            int c = (g ? 1 : 3) + a;
            if (j->enc->channels_ok & 1u << c)
                return c;
        }
    }
    return 3;
}

/* One thumbnail from its resized image: make it upright, convert an embedded profile to
 * sRGB (on the thumbnail: a few thousand pixels, not the source's millions), crop or pad
 * it, give it the channels its format takes, encode. */
static int finish_one(struct imgpipe_engine *eng, struct imgpipe_image *small, const struct job *j,
                      const struct shape *s, int orientation, imgpipe_buf *out, char *err)
{
    int rc = imgpipe_orient(small, orientation);
    if (!rc) {
        imgpipe_icc_to_srgb(eng, small);
        rc = imgpipe_canvas_crop(small, s->cx, s->cy, s->cw < s->rw ? s->cw : s->rw,
                                 s->ch < s->rh ? s->ch : s->rh);
    }
    int padded = s->cw > small->width || s->ch > small->height;
    if (!rc)
        rc = imgpipe_canvas_place(small, s->cw, s->ch, j->bg, channels_for(j, small, padded));
    if (rc)
        return imgpipe_errf(err, rc, "out of memory making a %dx%d thumbnail", s->cw, s->ch);
    return j->enc->encode(eng, small, &j->eo, out, err);
}

/* The resizers of one source, one per size (in stored orientation), fed the decoded
 * rows. */
struct sink {
    struct imgpipe_engine *eng; /* its extent_w/h: what the decoded samples span */
    int n, orientation;
    const struct shape *sh;
    struct imgpipe_resizer *rs[IMGPIPE_THUMB_MAX_SIZES];
};

static int sink_start(void *arg, int width, int height, int channels)
{
    struct sink *k = arg;
    int swap = k->orientation >= 5;
    double ew = k->eng->extent_w > 0 ? k->eng->extent_w : width;
    double eh = k->eng->extent_h > 0 ? k->eng->extent_h : height;
    for (int i = 0; i < k->n; i++) {
        int rw = k->sh[i].rw, rh = k->sh[i].rh;
        int rc = imgpipe_resizer_new_part(&k->rs[i], width, height, ew, eh, channels,
                                          swap ? rh : rw, swap ? rw : rh);
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

/* Shapes each box for the displayed (upright) image; the decode minimum, DECODE_HEADROOM
 * times the largest resize, is in stored axes. A thumbnail over the pixel budget (a huge
 * enlargement) is refused. */
static int plan_sizes(const struct imgpipe_image_info *info, const imgpipe_thumb_out *outs, int n,
                      const struct job *j, uint64_t max_pixels, struct shape *sh, int *need_w,
                      int *need_h, char *err)
{
    int swap = info->orientation >= 5;
    int dw = swap ? info->height : info->width, dh = swap ? info->width : info->height;
    *need_w = *need_h = 0;
    for (int i = 0; i < n; i++) {
        sh[i] = shape_for(dw, dh, outs[i].width, outs[i].height, j->fit, j->upscale);
        uint64_t rpx = (uint64_t)sh[i].rw * (uint64_t)sh[i].rh;
        uint64_t cpx = (uint64_t)sh[i].cw * (uint64_t)sh[i].ch;
        if (cpx > max_pixels) /* the box a pad fills, or an enlargement */
            return imgpipe_errf(err, IMGPIPE_ETOOBIG,
                                "a %dx%d thumbnail is over the %llu pixel limit", sh[i].cw,
                                sh[i].ch, (unsigned long long)max_pixels);
        if (rpx > max_pixels) /* a cover's whole image is resized before the crop */
            return imgpipe_errf(err, IMGPIPE_ETOOBIG,
                                "a %dx%d thumbnail needs the image scaled to %dx%d first, over "
                                "the %llu pixel limit",
                                sh[i].cw, sh[i].ch, sh[i].rw, sh[i].rh,
                                (unsigned long long)max_pixels);
        int sw = headroom(swap ? sh[i].rh : sh[i].rw), shh = headroom(swap ? sh[i].rw : sh[i].rh);
        *need_w = sw > *need_w ? sw : *need_w;
        *need_h = shh > *need_h ? shh : *need_h;
    }
    return IMGPIPE_OK;
}

/* Decodes once into one resizer per size, then makes the n thumbnails into bufs with the
 * calling thread's engine. */
static int make_all(const struct imgpipe_codec *c, const struct imgpipe_image_info *info,
                    const unsigned char *p, size_t len, uint64_t max_pixels, const struct job *j,
                    const imgpipe_thumb_out *outs, int n, struct shape *sh, imgpipe_buf *bufs,
                    char *err)
{
    struct imgpipe_engine *eng = imgpipe_engine_get();
    if (!eng)
        return imgpipe_errf(err, IMGPIPE_ENOMEM, "cannot create a thumbnail engine");
    int need_w, need_h;
    int rc = plan_sizes(info, outs, n, j, max_pixels, sh, &need_w, &need_h, err);
    if (rc)
        return rc;
    struct sink k = {.eng = eng, .n = n, .orientation = info->orientation, .sh = sh};
    eng->extent_w = eng->extent_h = 0;
    struct imgpipe_decode_req req = {.min_width = need_w,
                                     .min_height = need_h,
                                     .max_pixels = max_pixels,
                                     .start = sink_start,
                                     .row = sink_row,
                                     .arg = &k};
    rc = c->decode(eng, p, len, &req, err);
    for (int i = 0; i < n; i++) {
        struct imgpipe_image small = {0};
        if (!rc && (rc = imgpipe_resizer_finish(k.rs[i], &small)) != 0)
            rc = imgpipe_errf(err, rc, "thumbnail %d: the image ended early", i);
        if (!rc)
            rc = finish_one(eng, &small, j, &sh[i], info->orientation, &bufs[i], err);
        imgpipe_image_free(&small);
        imgpipe_resizer_free(k.rs[i]);
    }
    imgpipe_engine_trim(eng);
    return rc;
}

int imgpipe_thumb_format_check(const char *format)
{
    const struct imgpipe_codec *c = format ? imgpipe_codec_by_name(format) : NULL;
    return !format || (c && c->encode) ? IMGPIPE_OK : IMGPIPE_EINVAL;
}

/* The encoder and settings from opts; the encoder is the source's own (or the one its
 * format's thumbnails use) unless opts names one. */
static int job_for(const imgpipe_thumb_opts *opts, const struct imgpipe_codec *src, struct job *j,
                   char *err)
{
    static const imgpipe_thumb_opts none = {0};
    const imgpipe_thumb_opts *o = opts ? opts : &none;
    const char *fmt = o->format ? o->format : src->thumb;
    j->enc = imgpipe_codec_by_name(fmt);
    if (!j->enc || !j->enc->encode)
        return imgpipe_errf(err, IMGPIPE_EINVAL,
                            "thumbnail format '%s' is not one of jpeg, png, webp, avif", fmt);
    j->eo.quality = o->quality ? o->quality : j->enc->default_quality;
    j->eo.effort = o->effort;
    if (j->eo.quality < 1 || j->eo.quality > 100)
        return imgpipe_errf(err, IMGPIPE_EINVAL, "thumbnail quality %d is not in 1..100",
                            j->eo.quality);
    if (j->eo.effort < 0 || j->eo.effort > 9)
        return imgpipe_errf(err, IMGPIPE_EINVAL, "thumbnail effort %d is not in 1..9",
                            j->eo.effort);
    if (o->fit < IMGPIPE_FIT_CONTAIN || o->fit > IMGPIPE_FIT_PAD)
        return imgpipe_errf(err, IMGPIPE_EINVAL, "unknown fit mode %d", (int)o->fit);
    j->fit = o->fit;
    j->upscale = o->upscale;
    static const unsigned char white[4] = {255, 255, 255, 255};
    memcpy(j->bg, o->pad_set ? o->pad_colour : white, 4);
    return IMGPIPE_OK;
}

int imgpipe_thumb_opts_check(const imgpipe_thumb_opts *opts, const imgpipe_thumb_size *sizes, int n,
                             char *err)
{
    imgpipe_thumb_out outs[IMGPIPE_THUMB_MAX_SIZES];
    memset(outs, 0, sizeof(outs));
    for (int i = 0; i < n && i < IMGPIPE_THUMB_MAX_SIZES; i++) {
        outs[i].width = sizes[i].width;
        outs[i].height = sizes[i].height;
    }
    static const char any; /* a source is not needed to check the rest */
    int rc = check_args(&any, outs, n, err);
    if (rc == IMGPIPE_OK && opts && imgpipe_thumb_format_check(opts->format))
        rc =
            imgpipe_errf(err, IMGPIPE_EINVAL,
                         "thumbnail format '%s' is not one of jpeg, png, webp, avif", opts->format);
    struct job j;
    return rc ? rc : job_for(opts, imgpipe_codec_by_name("jpeg"), &j, err);
}

int imgpipe_thumb_make_checked(const struct imgpipe_codec *c, const struct imgpipe_image_info *info,
                               const void *src, size_t len, const imgpipe_thumb_opts *opts,
                               imgpipe_thumb_out *outs, int n, char *err)
{
    int rc = check_args(src, outs, n, err);
    if (rc)
        return rc;
    uint64_t max_pixels = opts && opts->max_pixels ? opts->max_pixels : IMGPIPE_DEFAULT_MAX_PIXELS;
    if (opts && imgpipe_thumb_format_check(opts->format))
        return imgpipe_errf(err, IMGPIPE_EINVAL,
                            "thumbnail format '%s' is not one of jpeg, png, webp, avif",
                            opts->format);
    struct job j;
    if ((rc = job_for(opts, c, &j, err)))
        return rc;
    struct shape sh[IMGPIPE_THUMB_MAX_SIZES];
    imgpipe_buf bufs[IMGPIPE_THUMB_MAX_SIZES];
    memset(bufs, 0, sizeof(bufs));
    rc = make_all(c, info, src, len, max_pixels, &j, outs, n, sh, bufs, err);
    for (int i = 0; i < n; i++) {
        if (rc) {
            imgpipe_buf_free(&bufs[i]);
            continue;
        }
        outs[i].data = bufs[i];
        outs[i].width = sh[i].cw;
        outs[i].height = sh[i].ch;
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
