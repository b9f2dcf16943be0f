/* Fit modes (contain, cover, pad, upscale), output formats (JPEG, PNG, WebP, AVIF) and
 * the new inputs (AVIF, HEIC): sizes to the pixel, quality against a full-resolution
 * double-precision reference (PSNR), alpha kept or flattened, orientation from irot/imir
 * and EXIF, bomb headers refused before decoding, corrupt files as errors. */
#include "image/codec.h"
#include "testutil.h"

#include <avif/avif.h>
#include <libheif/heif.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <webp/decode.h>

/* ---- the reference (as test_thumb_formats: written independently of resize.c) ---- */

static double pattern(int x, int y, int c, int w, int h)
{
    double fx = (double)x / w, fy = (double)y / h;
    double v =
        127.5 + 70.0 * sin(2 * M_PI * (fx * 4 + 2.0 * fy + c / 6.0)) * cos(2 * M_PI * fy * 5);
    v += 25.0 * sin(2 * M_PI * (fx * 40 + fy * 25));
    v += 20.0 * sin(2 * M_PI * (x * 0.23 + y * 0.19));
    return v < 0 ? 0 : v > 255 ? 255 : v;
}

static double lanczos3(double x)
{
    if (x == 0.0)
        return 1.0;
    if (fabs(x) >= 3.0)
        return 0.0;
    double px = M_PI * x;
    return 3.0 * sin(px) * sin(px / 3.0) / (px * px);
}

static void resample_axis(const double *in, int n_in, size_t in_step, double *out, int n_out,
                          size_t out_step)
{
    double scale = (double)n_in / n_out, fs = scale > 1 ? scale : 1, support = 3.0 * fs;
    for (int i = 0; i < n_out; i++) {
        double center = (i + 0.5) * scale, sum = 0, wsum = 0;
        for (int j = (int)floor(center - support); j <= (int)ceil(center + support); j++) {
            double wgt = lanczos3((j + 0.5 - center) / fs);
            int jj = j < 0 ? 0 : j >= n_in ? n_in - 1 : j;
            sum += wgt * in[(size_t)jj * in_step];
            wsum += wgt;
        }
        out[(size_t)i * out_step] = sum / wsum;
    }
}

/* The w x h x 3 reference resize of a sw x sh x 3 image. */
static double *reference(const unsigned char *px, int sw, int sh, int w, int h)
{
    double *src = malloc(sizeof(double) * sw * sh * 3), *mid = malloc(sizeof(double) * w * sh * 3);
    double *out = malloc(sizeof(double) * w * h * 3);
    assert_true(src && mid && out);
    for (size_t i = 0; i < (size_t)sw * sh * 3; i++)
        src[i] = px[i];
    for (int y = 0; y < sh; y++)
        for (int c = 0; c < 3; c++)
            resample_axis(src + (size_t)y * sw * 3 + c, sw, 3, mid + (size_t)y * w * 3 + c, w, 3);
    for (int x = 0; x < w; x++)
        for (int c = 0; c < 3; c++)
            resample_axis(mid + (size_t)x * 3 + c, sh, (size_t)w * 3, out + (size_t)x * 3 + c, h,
                          (size_t)w * 3);
    free(src), free(mid);
    return out;
}

static unsigned char *pattern_rgb(int w, int h)
{
    unsigned char *px = malloc((size_t)w * h * 3);
    assert_non_null(px);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++)
                px[((size_t)y * w + x) * 3 + c] = (unsigned char)lround(pattern(x, y, c, w, h));
    return px;
}

/* ---- decoding what the pipeline wrote ---- */

/* RGB or RGBA pixels of an encoded thumbnail (any of the four formats); gray becomes RGB. */
static unsigned char *decode_any(const imgpipe_buf *b, int *w, int *h, int *ch)
{
    const char *fmt = imgpipe_sniff_format(b->data, b->len);
    assert_non_null(fmt);
    unsigned char *px = NULL;
    if (strcmp(fmt, "jpeg") == 0) {
        px = testutil_jpeg_decode(b->data, b->len, w, h, ch);
    } else if (strcmp(fmt, "png") == 0) {
        int ct;
        px = testutil_png_decode(b->data, b->len, w, h, ch, &ct);
    } else if (strcmp(fmt, "webp") == 0) {
        WebPBitstreamFeatures f;
        assert_int_equal(WebPGetFeatures(b->data, b->len, &f), VP8_STATUS_OK);
        *ch = f.has_alpha ? 4 : 3;
        px = f.has_alpha ? WebPDecodeRGBA(b->data, b->len, w, h)
                         : WebPDecodeRGB(b->data, b->len, w, h);
        unsigned char *copy = malloc((size_t)*w * *h * *ch);
        memcpy(copy, px, (size_t)*w * *h * *ch);
        WebPFree(px);
        px = copy;
    } else {
        assert_string_equal(fmt, "avif");
        avifDecoder *d = avifDecoderCreate();
        avifImage *im = avifImageCreateEmpty();
        assert_int_equal(avifDecoderReadMemory(d, im, b->data, b->len), AVIF_RESULT_OK);
        avifRGBImage rgb;
        avifRGBImageSetDefaults(&rgb, im);
        *ch = im->alphaPlane ? 4 : 3;
        rgb.format = *ch == 4 ? AVIF_RGB_FORMAT_RGBA : AVIF_RGB_FORMAT_RGB;
        rgb.depth = 8;
        rgb.rowBytes = rgb.width * (uint32_t)*ch;
        px = malloc((size_t)rgb.rowBytes * rgb.height);
        rgb.pixels = px;
        assert_int_equal(avifImageYUVToRGB(im, &rgb), AVIF_RESULT_OK);
        *w = (int)rgb.width, *h = (int)rgb.height;
        avifImageDestroy(im);
        avifDecoderDestroy(d);
    }
    assert_non_null(px);
    if (*ch == 1) { /* gray to RGB */
        unsigned char *rgb = malloc((size_t)*w * *h * 3);
        for (size_t i = 0; i < (size_t)*w * *h; i++)
            rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = px[i];
        free(px);
        px = rgb, *ch = 3;
    }
    return px;
}

/* ---- making thumbnails ---- */

static int make(const void *src, size_t len, const imgpipe_thumb_opts *o, int bw, int bh,
                imgpipe_thumb_out *out, char *err)
{
    *out = (imgpipe_thumb_out){.width = bw, .height = bh};
    int rc = imgpipe_thumb_make(src, len, o, out, 1, err);
    if (rc)
        print_message("thumbnail failed: %s\n", err);
    return rc;
}

static unsigned char *png_rgb(const unsigned char *px, int w, int h, size_t *len)
{
    return testutil_png(px, (size_t)w * h * 3, w, h, 2, 8, NULL, 0, NULL, 0, len);
}

/* ---- geometry ---- */

struct geo {
    int sw, sh, bw, bh;
    imgpipe_fit fit;
    int upscale;
    int ew, eh; /* expected */
};

static void test_geometry(void **state)
{
    (void)state;
    static const struct geo cases[] = {
        /* contain: as before */
        {300, 200, 128, 128, IMGPIPE_FIT_CONTAIN, 0, 128, 85},
        {200, 300, 128, 128, IMGPIPE_FIT_CONTAIN, 0, 85, 128},
        {100, 50, 128, 128, IMGPIPE_FIT_CONTAIN, 0, 100, 50},
        {100, 50, 128, 128, IMGPIPE_FIT_CONTAIN, 1, 128, 64},
        /* unbounded sides: "128x", "x40" */
        {300, 200, 128, 0, IMGPIPE_FIT_CONTAIN, 0, 128, 85},
        {300, 200, 0, 40, IMGPIPE_FIT_CONTAIN, 0, 60, 40},
        {100, 50, 0, 100, IMGPIPE_FIT_CONTAIN, 0, 100, 50},
        {100, 50, 0, 100, IMGPIPE_FIT_CONTAIN, 1, 200, 100},
        /* cover: exactly the box, the overflow cropped */
        {300, 200, 100, 100, IMGPIPE_FIT_COVER, 0, 100, 100},
        {200, 300, 64, 32, IMGPIPE_FIT_COVER, 0, 64, 32},
        {100, 50, 128, 128, IMGPIPE_FIT_COVER, 0, 100, 50}, /* never enlarged */
        {100, 50, 80, 80, IMGPIPE_FIT_COVER, 0, 80, 50},
        {100, 50, 128, 128, IMGPIPE_FIT_COVER, 1, 128, 128},
        {300, 200, 128, 0, IMGPIPE_FIT_COVER, 0, 128, 85}, /* one side free: contain */
        /* pad: always exactly the box */
        {300, 200, 128, 128, IMGPIPE_FIT_PAD, 0, 128, 128},
        {100, 50, 128, 128, IMGPIPE_FIT_PAD, 0, 128, 128},
        {100, 50, 128, 128, IMGPIPE_FIT_PAD, 1, 128, 128},
        {300, 200, 0, 50, IMGPIPE_FIT_PAD, 0, 75, 50},
        {1, 1000, 16, 16, IMGPIPE_FIT_COVER, 0, 1, 16},
        {1000, 1, 16, 16, IMGPIPE_FIT_PAD, 0, 16, 16},
    };
    char err[IMGPIPE_ERRLEN];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct geo *g = &cases[i];
        unsigned char *px = pattern_rgb(g->sw, g->sh);
        size_t len;
        unsigned char *png = png_rgb(px, g->sw, g->sh, &len);
        imgpipe_thumb_opts o = {.fit = g->fit, .upscale = g->upscale};
        imgpipe_thumb_out out;
        assert_int_equal(make(png, len, &o, g->bw, g->bh, &out, err), 0);
        int w, h, ch;
        unsigned char *t = decode_any(&out.data, &w, &h, &ch);
        if (w != g->ew || h != g->eh || out.width != w || out.height != h)
            fail_msg("case %zu: %dx%d fit %d upscale %d into %dx%d gave %dx%d (says %dx%d), "
                     "expected %dx%d",
                     i, g->sw, g->sh, g->fit, g->upscale, g->bw, g->bh, w, h, out.width, out.height,
                     g->ew, g->eh);
        free(t), free(px), free(png);
        imgpipe_buf_free(&out.data);
    }
}

static void test_upscale_budget(void **state)
{
    (void)state;
    unsigned char px[3 * 4] = {0};
    size_t len;
    unsigned char *png = png_rgb(px, 2, 2, &len);
    char err[IMGPIPE_ERRLEN];
    imgpipe_thumb_opts o = {.upscale = 1, .max_pixels = 1000};
    imgpipe_thumb_out out;
    assert_int_equal(make(png, len, &o, 1000, 1000, &out, err), IMGPIPE_ETOOBIG);
    assert_null(out.data.data);
    assert_string_equal(err, "a 1000x1000 thumbnail is over the 1000 pixel limit");
    /* a pad's canvas is the thumbnail, whatever the image in it */
    o = (imgpipe_thumb_opts){.fit = IMGPIPE_FIT_PAD, .max_pixels = 1000};
    assert_int_equal(make(png, len, &o, 100, 100, &out, err), IMGPIPE_ETOOBIG);
    assert_string_equal(err, "a 100x100 thumbnail is over the 1000 pixel limit");
    /* a cover's image is scaled whole before the crop: that size is named too */
    o = (imgpipe_thumb_opts){.fit = IMGPIPE_FIT_COVER, .upscale = 1, .max_pixels = 1000};
    assert_int_equal(make(png, len, &o, 1, 500, &out, err), IMGPIPE_ETOOBIG);
    assert_string_equal(err, "a 1x500 thumbnail needs the image scaled to 500x500 first, over the "
                             "1000 pixel limit");
    free(png);
}

/* A run whose thumbnail options cannot work is refused before it starts, one error, not
 * one per image downloaded first (nothing is read, written or fetched: no sources). */
static void test_bad_options_refused_before_a_run(void **state)
{
    (void)state;
    char dir[] = "/tmp/imgpipe-opts.XXXXXX";
    assert_non_null(mkdtemp(dir));
    const imgpipe_thumb_opts bad[] = {
        {.format = "gif"}, {.quality = 500}, {.effort = 50}, {.fit = (imgpipe_fit)7}};
    char err[IMGPIPE_ERRLEN];
    imgpipe_summary sum;
    const char *none[] = {dir};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]) + 1; i++) {
        imgpipe_get_opts o = {.dir = dir, .nthumbs = 1, .thumbs = {{32, 32}}, .no_ledger = 1};
        if (i < sizeof(bad) / sizeof(bad[0]))
            o.thumb = bad[i];
        else
            o.thumbs[0] = (imgpipe_thumb_size){0, 0}; /* both sides unbounded */
        err[0] = '\0';
        assert_int_equal(imgpipe_get(&o, NULL, 0, NULL, NULL, &sum, err), IMGPIPE_EINVAL);
        assert_true(err[0] != '\0');
        assert_int_equal(imgpipe_thumbs(&o, none, 0, NULL, NULL, &sum, err), IMGPIPE_EINVAL);
    }
    assert_int_equal(rmdir(dir), 0); /* nothing was written in it */
}

/* ---- quality: every mode and format against the reference ---- */

static double psnr_region(const unsigned char *t, int tw, int tch, int x0, int y0,
                          const double *ref, int rw, int rx, int ry, int w, int h)
{
    double se = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++) {
                double v = ref[((size_t)(ry + y) * rw + rx + x) * 3 + c];
                v = v < 0 ? 0 : v > 255 ? 255 : v;
                double d = t[((size_t)(y0 + y) * tw + x0 + x) * tch + c] - v;
                se += d * d;
            }
    double mse = se / ((double)w * h * 3);
    return mse == 0 ? 99.0 : 10.0 * log10(255.0 * 255.0 / mse);
}

/* The border of a padded thumbnail: every pixel outside the image is the colour (within
 * tol for lossy formats). */
static void expect_border(const unsigned char *t, int tw, int th, int tch, int x0, int y0, int w,
                          int h, const unsigned char c[3], int tol, const char *what)
{
    for (int y = 0; y < th; y++)
        for (int x = 0; x < tw; x++) {
            if (x >= x0 && x < x0 + w && y >= y0 && y < y0 + h)
                continue;
            /* lossy codecs smear the edge between picture and border */
            int near = x >= x0 - 3 && x < x0 + w + 3 && y >= y0 - 3 && y < y0 + h + 3;
            for (int k = 0; k < 3 && !(tol && near); k++)
                if (abs(t[((size_t)y * tw + x) * tch + k] - c[k]) > tol)
                    fail_msg("%s: border pixel (%d,%d) channel %d is %d, not %d", what, x, y, k,
                             t[((size_t)y * tw + x) * tch + k], c[k]);
        }
}

static void test_quality_modes_formats(void **state)
{
    (void)state;
    const int sw = 960, sh = 640;
    unsigned char *px = pattern_rgb(sw, sh);
    size_t len;
    unsigned char *png = png_rgb(px, sw, sh, &len);
    /* contain 120x80 (box 120x80), cover 96x96 from 144x96 (24 px cropped each side), pad
     * 120x80 in 120x120 */
    double *ref_contain = reference(px, sw, sh, 120, 80);
    double *ref_cover = reference(px, sw, sh, 144, 96);
    static const char *const formats[] = {"png", "jpeg", "webp", "avif"};
    /* PNG is lossless: the pipeline alone. The lossy formats at quality 95 add their own
     * error (4:2:0 chroma): measured 34.8-39.2 dB here; 33 dB still catches every pipeline
     * fault test_thumb_formats lists (those drop to 31-33 dB before any encoder). */
    static const double floor_db[] = {35.0, 33.0, 33.0, 33.0};
    static const unsigned char pad[4] = {20, 200, 90, 255};
    char err[IMGPIPE_ERRLEN], what[96];
    for (size_t f = 0; f < 4; f++)
        for (int mode = 0; mode < 3; mode++) {
            imgpipe_thumb_opts o = {
                .quality = 95, .fit = (imgpipe_fit)mode, .format = formats[f], .pad_set = 1};
            memcpy(o.pad_colour, pad, 4);
            int bw = mode == IMGPIPE_FIT_COVER ? 96 : mode == IMGPIPE_FIT_PAD ? 120 : 120;
            int bh = mode == IMGPIPE_FIT_COVER ? 96 : mode == IMGPIPE_FIT_PAD ? 120 : 120;
            imgpipe_thumb_out out;
            assert_int_equal(make(png, len, &o, bw, bh, &out, err), 0);
            assert_string_equal(imgpipe_sniff_format(out.data.data, out.data.len), formats[f]);
            int w, h, ch;
            unsigned char *t = decode_any(&out.data, &w, &h, &ch);
            double db;
            if (mode == IMGPIPE_FIT_CONTAIN) {
                assert_true(w == 120 && h == 80);
                db = psnr_region(t, w, ch, 0, 0, ref_contain, 120, 0, 0, 120, 80);
            } else if (mode == IMGPIPE_FIT_COVER) {
                assert_true(w == 96 && h == 96);
                db = psnr_region(t, w, ch, 0, 0, ref_cover, 144, 24, 0, 96, 96);
            } else {
                assert_true(w == 120 && h == 120);
                /* 120x80 centred: y 20..99; the edges blend with the border in lossy
                 * codecs, so the PSNR is taken 3 px inside */
                db = psnr_region(t, w, ch, 0, 23, ref_contain, 120, 0, 3, 120, 74);
                snprintf(what, sizeof(what), "%s pad border", formats[f]);
                expect_border(t, w, h, ch, 0, 20, 120, 80, pad, f == 0 ? 0 : 12, what);
            }
            print_message("%s %s: PSNR %.2f dB\n", formats[f],
                          mode == 0   ? "contain"
                          : mode == 1 ? "cover"
                                      : "pad",
                          db);
            if (db < floor_db[f])
                fail_msg("%s mode %d: PSNR %.2f dB under %.1f", formats[f], mode, db, floor_db[f]);
            free(t);
            imgpipe_buf_free(&out.data);
        }
    free(ref_contain), free(ref_cover), free(px), free(png);
}

/* ---- alpha: kept where the format has it, flattened on the stated colour elsewhere ---- */

static void test_alpha_kept_or_flattened(void **state)
{
    (void)state;
    /* left half transparent red, right half opaque blue */
    const int w = 64, h = 32;
    unsigned char *px = malloc((size_t)w * h * 4);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            unsigned char *p = px + ((size_t)y * w + x) * 4;
            int left = x < w / 2;
            p[0] = left ? 255 : 0, p[1] = 0, p[2] = left ? 0 : 255, p[3] = left ? 0 : 255;
        }
    size_t len;
    unsigned char *png = testutil_png(px, (size_t)w * h * 4, w, h, 6, 8, NULL, 0, NULL, 0, &len);
    static const char *const formats[] = {"png", "webp", "avif", "jpeg"};
    char err[IMGPIPE_ERRLEN];
    for (int f = 0; f < 4; f++)
        for (int set = 0; set < 2; set++) {
            imgpipe_thumb_opts o = {.format = formats[f],
                                    .quality = 90,
                                    .pad_set = set,
                                    .pad_colour = {0, 128, 0, 255}};
            imgpipe_thumb_out out;
            assert_int_equal(make(png, len, &o, 32, 32, &out, err), 0);
            int tw, th, ch;
            unsigned char *t = decode_any(&out.data, &tw, &th, &ch);
            assert_true(tw == 32 && th == 16);
            const unsigned char *l = t + ((size_t)8 * tw + 4) * ch,
                                *r = t + ((size_t)8 * tw + 28) * ch;
            if (f < 3) { /* alpha kept */
                assert_int_equal(ch, 4);
                assert_true(l[3] < 8 && r[3] > 247);
            } else { /* JPEG: flattened on the colour (white when none is given) */
                assert_int_equal(ch, 3);
                int eg = set ? 128 : 255, er = set ? 0 : 255;
                if (abs(l[0] - er) > 12 || abs(l[1] - eg) > 12 || abs(l[2] - er) > 12)
                    fail_msg("flattened pixel is %d,%d,%d", l[0], l[1], l[2]);
            }
            assert_true(r[2] > 230 && r[0] < 25); /* opaque blue stays blue */
            free(t);
            imgpipe_buf_free(&out.data);
        }
    free(px), free(png);
}

static void test_gray_to_colour_formats(void **state)
{
    (void)state;
    unsigned char px[40 * 20];
    for (size_t i = 0; i < sizeof(px); i++)
        px[i] = (unsigned char)(i % 40 * 6);
    size_t len;
    unsigned char *png = testutil_png(px, sizeof(px), 40, 20, 0, 8, NULL, 0, NULL, 0, &len);
    char err[IMGPIPE_ERRLEN];
    imgpipe_thumb_opts o = {.format = "webp"};
    imgpipe_thumb_out out;
    assert_int_equal(make(png, len, &o, 20, 20, &out, err), 0);
    int w, h, ch;
    unsigned char *t = decode_any(&out.data, &w, &h, &ch);
    assert_true(w == 20 && h == 10);
    free(t);
    imgpipe_buf_free(&out.data);
    /* a gray image padded in colour is colour */
    o = (imgpipe_thumb_opts){
        .format = "png", .fit = IMGPIPE_FIT_PAD, .pad_set = 1, .pad_colour = {255, 0, 0, 255}};
    assert_int_equal(make(png, len, &o, 20, 20, &out, err), 0);
    t = decode_any(&out.data, &w, &h, &ch);
    assert_true(w == 20 && h == 20 && t[0] == 255 && t[1] == 0 && t[2] == 0);
    free(t), free(png);
    imgpipe_buf_free(&out.data);
}

static void test_bad_options(void **state)
{
    (void)state;
    unsigned char px[12] = {0};
    size_t len;
    unsigned char *png = png_rgb(px, 2, 2, &len);
    char err[IMGPIPE_ERRLEN];
    imgpipe_thumb_out out;
    imgpipe_thumb_opts o = {.format = "gif"};
    assert_int_equal(make(png, len, &o, 8, 8, &out, err), IMGPIPE_EINVAL);
    o = (imgpipe_thumb_opts){.format = "heif"}; /* decoded, never written */
    assert_int_equal(make(png, len, &o, 8, 8, &out, err), IMGPIPE_EINVAL);
    o = (imgpipe_thumb_opts){.effort = 10};
    assert_int_equal(make(png, len, &o, 8, 8, &out, err), IMGPIPE_EINVAL);
    o = (imgpipe_thumb_opts){.fit = (imgpipe_fit)7};
    assert_int_equal(make(png, len, &o, 8, 8, &out, err), IMGPIPE_EINVAL);
    assert_int_equal(imgpipe_thumb_format_check("avif"), 0);
    assert_int_equal(imgpipe_thumb_format_check("bmp"), IMGPIPE_EINVAL);
    imgpipe_fit fit = IMGPIPE_FIT_CONTAIN;
    for (int i = IMGPIPE_FIT_CONTAIN; i <= IMGPIPE_FIT_PAD; i++) { /* names read back */
        assert_int_equal(imgpipe_parse_fit(imgpipe_fit_name((imgpipe_fit)i), &fit), 0);
        assert_int_equal(fit, i);
    }
    assert_string_equal(imgpipe_fit_name(IMGPIPE_FIT_COVER), "cover");
    assert_null(imgpipe_fit_name((imgpipe_fit)7));
    assert_int_equal(imgpipe_parse_fit("Cover", &fit), IMGPIPE_EINVAL);
    assert_int_equal(imgpipe_parse_fit(NULL, &fit), IMGPIPE_EINVAL);
    unsigned char c[4];
    assert_int_equal(imgpipe_parse_colour("#102030", c), 0);
    assert_true(c[0] == 0x10 && c[1] == 0x20 && c[2] == 0x30 && c[3] == 255);
    assert_int_equal(imgpipe_parse_colour("fff8", c), IMGPIPE_EINVAL);
    assert_int_equal(imgpipe_parse_colour("#f0a", c), 0);
    assert_true(c[0] == 255 && c[1] == 0 && c[2] == 0xaa);
    assert_int_equal(imgpipe_parse_colour("11223344", c), 0);
    assert_int_equal(c[3], 0x44);
    assert_int_equal(imgpipe_parse_colour("transparent", c), 0);
    assert_int_equal(c[3], 0);
    assert_int_equal(imgpipe_parse_colour("#12345g", c), IMGPIPE_EINVAL);
    assert_int_equal(imgpipe_parse_colour("", c), IMGPIPE_EINVAL);
    free(png);
}

/* ---- AVIF and HEIC in ---- */

/* 64x32: quadrants red, green (top), blue, white (bottom). */
static void quadrants(unsigned char *px, int w, int h)
{
    static const unsigned char q[4][3] = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {255, 255, 255}};
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            memcpy(px + ((size_t)y * w + x) * 3, q[(y >= h / 2) * 2 + (x >= w / 2)], 3);
}

static unsigned char *make_avif(int angle, int mirror, int exif_orientation, size_t *len)
{
    const int w = 64, h = 32;
    unsigned char px[64 * 32 * 3];
    quadrants(px, w, h);
    avifImage *im = avifImageCreate(w, h, 8, AVIF_PIXEL_FORMAT_YUV444);
    avifRGBImage rgb;
    avifRGBImageSetDefaults(&rgb, im);
    rgb.format = AVIF_RGB_FORMAT_RGB, rgb.depth = 8, rgb.pixels = px, rgb.rowBytes = w * 3;
    assert_int_equal(avifImageRGBToYUV(im, &rgb), AVIF_RESULT_OK);
    if (angle >= 0)
        im->transformFlags |= AVIF_TRANSFORM_IROT, im->irot.angle = (uint8_t)angle;
    if (mirror >= 0)
        im->transformFlags |= AVIF_TRANSFORM_IMIR, im->imir.mode = (uint8_t)mirror;
    if (exif_orientation) {
        unsigned char tiff[26];
        size_t n = testutil_exif_tiff(tiff, exif_orientation, 0);
        avifRWDataSet(&im->exif, tiff, n); /* as is: no irot/imir derived from it */
    }
    avifEncoder *enc = avifEncoderCreate();
    enc->speed = 10, enc->minQuantizer = enc->maxQuantizer = 0;
    avifRWData out = AVIF_DATA_EMPTY;
    assert_int_equal(avifEncoderWrite(enc, im, &out), AVIF_RESULT_OK);
    unsigned char *copy = malloc(out.size);
    memcpy(copy, out.data, out.size);
    *len = out.size;
    avifRWDataFree(&out);
    avifEncoderDestroy(enc);
    avifImageDestroy(im);
    return copy;
}

/* An AVIF sequence (avis) of a red then a blue frame: its thumbnail is the first. */
static void test_avif_sequence_first_frame(void **state)
{
    (void)state;
    avifEncoder *enc = avifEncoderCreate();
    enc->speed = 10;
    for (int f = 0; f < 2; f++) {
        unsigned char px[32 * 16 * 3];
        for (size_t i = 0; i < sizeof(px); i += 3)
            px[i] = f ? 0 : 255, px[i + 1] = 0, px[i + 2] = f ? 255 : 0;
        avifImage *im = avifImageCreate(32, 16, 8, AVIF_PIXEL_FORMAT_YUV444);
        avifRGBImage rgb;
        avifRGBImageSetDefaults(&rgb, im);
        rgb.format = AVIF_RGB_FORMAT_RGB, rgb.depth = 8, rgb.pixels = px, rgb.rowBytes = 32 * 3;
        assert_int_equal(avifImageRGBToYUV(im, &rgb), AVIF_RESULT_OK);
        assert_int_equal(avifEncoderAddImage(enc, im, 1, AVIF_ADD_IMAGE_FLAG_NONE), AVIF_RESULT_OK);
        avifImageDestroy(im);
    }
    avifRWData out = AVIF_DATA_EMPTY;
    assert_int_equal(avifEncoderFinish(enc, &out), AVIF_RESULT_OK);
    avifEncoderDestroy(enc);
    assert_string_equal(imgpipe_sniff_format(out.data, out.size), "avif");
    char err[IMGPIPE_ERRLEN];
    imgpipe_thumb_opts o = {.format = "png"};
    imgpipe_thumb_out t;
    assert_int_equal(make(out.data, out.size, &o, 16, 16, &t, err), 0);
    int w, h, ch;
    unsigned char *px = decode_any(&t.data, &w, &h, &ch);
    assert_true(w == 16 && h == 8);
    if (px[0] < 200 || px[2] > 50)
        fail_msg("the first frame is red, the thumbnail is %d,%d,%d", px[0], px[1], px[2]);
    free(px);
    imgpipe_buf_free(&t.data);
    avifRWDataFree(&out);
}

static struct heif_error heif_write(struct heif_context *ctx, const void *data, size_t size,
                                    void *user)
{
    (void)ctx;
    imgpipe_buf *b = user;
    struct heif_error ok = {heif_error_Ok, heif_suberror_Unspecified, "ok"};
    assert_int_equal(imgpipe_buf_append(b, data, size), 0);
    return ok;
}

static unsigned char *make_heic(int orientation, int exif_orientation, size_t *len)
{
    const int w = 64, h = 32;
    struct heif_context *ctx = heif_context_alloc();
    struct heif_image *img;
    assert_int_equal(
        heif_image_create(w, h, heif_colorspace_RGB, heif_chroma_interleaved_RGB, &img).code, 0);
    assert_int_equal(heif_image_add_plane(img, heif_channel_interleaved, w, h, 8).code, 0);
    int stride;
    uint8_t *p = heif_image_get_plane(img, heif_channel_interleaved, &stride);
    unsigned char px[64 * 32 * 3];
    quadrants(px, w, h);
    for (int y = 0; y < h; y++)
        memcpy(p + (size_t)y * stride, px + (size_t)y * w * 3, (size_t)w * 3);
    struct heif_encoder *enc;
    assert_int_equal(heif_context_get_encoder_for_format(ctx, heif_compression_HEVC, &enc).code, 0);
    heif_encoder_set_lossy_quality(enc, 95);
    struct heif_encoding_options *eo = heif_encoding_options_alloc();
    eo->image_orientation = (enum heif_orientation)orientation;
    struct heif_image_handle *hd;
    assert_int_equal(heif_context_encode_image(ctx, img, enc, eo, &hd).code, 0);
    if (exif_orientation) {
        unsigned char tiff[26];
        size_t n = testutil_exif_tiff(tiff, exif_orientation, 1);
        assert_int_equal(heif_context_add_exif_metadata(ctx, hd, tiff, (int)n).code, 0);
    }
    imgpipe_buf b = {0};
    struct heif_writer wr = {.writer_api_version = 1, .write = heif_write};
    assert_int_equal(heif_context_write(ctx, &wr, &b).code, 0);
    heif_image_handle_release(hd);
    heif_encoding_options_free(eo);
    heif_encoder_release(enc);
    heif_image_release(img);
    heif_context_free(ctx);
    *len = b.len;
    return b.data;
}

/* The thumbnail's four quadrant centres are the stored quadrants (0 red, 1 green, 2 blue,
 * 3 white) in the order `expect` names, and its size is ew x eh. */
static void expect_quadrants(const unsigned char *src, size_t len, int ew, int eh,
                             const int expect[4], const char *what)
{
    static const unsigned char q[4][3] = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {255, 255, 255}};
    char err[IMGPIPE_ERRLEN];
    imgpipe_thumb_opts o = {.format = "png"};
    imgpipe_thumb_out out;
    assert_int_equal(make(src, len, &o, 32, 32, &out, err), 0);
    int w, h, ch;
    unsigned char *t = decode_any(&out.data, &w, &h, &ch);
    if (w != ew || h != eh)
        fail_msg("%s: %dx%d, expected %dx%d", what, w, h, ew, eh);
    for (int i = 0; i < 4; i++) {
        int x = (i % 2) * w / 2 + w / 4, y = (i / 2) * h / 2 + h / 4;
        const unsigned char *p = t + ((size_t)y * w + x) * ch;
        for (int c = 0; c < 3; c++)
            if (abs(p[c] - q[expect[i]][c]) > 40)
                fail_msg("%s: quadrant %d is %d,%d,%d, expected stored quadrant %d", what, i, p[0],
                         p[1], p[2], expect[i]);
    }
    free(t);
    imgpipe_buf_free(&out.data);
}

static void test_avif_orientation(void **state)
{
    (void)state;
    size_t len;
    static const struct {
        int angle, mirror, exif, w, h;
        int q[4];
        const char *what;
    } cases[] = {
        {-1, -1, 0, 32, 16, {0, 1, 2, 3}, "AVIF upright"},
        {1, -1, 0, 16, 32, {1, 3, 0, 2}, "AVIF irot 90 anticlockwise"},
        {3, -1, 0, 16, 32, {2, 0, 3, 1}, "AVIF irot 270 anticlockwise"},
        {2, -1, 0, 32, 16, {3, 2, 1, 0}, "AVIF irot 180"},
        {-1, 1, 0, 32, 16, {1, 0, 3, 2}, "AVIF imir left-right"},
        {-1, 0, 0, 32, 16, {2, 3, 0, 1}, "AVIF imir top-bottom"},
        {1, 1, 0, 16, 32, {3, 1, 2, 0}, "AVIF irot 90 then imir left-right"},
        {-1, -1, 6, 16, 32, {2, 0, 3, 1}, "AVIF EXIF orientation 6"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        unsigned char *avif = make_avif(cases[i].angle, cases[i].mirror, cases[i].exif, &len);
        assert_string_equal(imgpipe_sniff_format(avif, len), "avif");
        expect_quadrants(avif, len, cases[i].w, cases[i].h, cases[i].q, cases[i].what);
        free(avif);
    }
}

static void test_heic_in(void **state)
{
    (void)state;
    size_t len;
    unsigned char *heic = make_heic(1, 0, &len);
    assert_string_equal(imgpipe_sniff_format(heic, len), "heif");
    expect_quadrants(heic, len, 32, 16, (const int[]){0, 1, 2, 3}, "HEIC upright");
    /* the default thumbnail format of HEIC is JPEG */
    char err[IMGPIPE_ERRLEN];
    imgpipe_thumb_out out;
    assert_int_equal(make(heic, len, NULL, 16, 16, &out, err), 0);
    assert_string_equal(imgpipe_sniff_format(out.data.data, out.data.len), "jpeg");
    imgpipe_buf_free(&out.data);
    free(heic);
    heic = make_heic(6, 0, &len); /* irot written by libheif */
    expect_quadrants(heic, len, 16, 32, (const int[]){2, 0, 3, 1}, "HEIC rotated 90 clockwise");
    free(heic);
    /* no irot/imir: the EXIF orientation turns it */
    heic = make_heic(1, 6, &len);
    expect_quadrants(heic, len, 16, 32, (const int[]){2, 0, 3, 1}, "HEIC with EXIF orientation 6");
    free(heic);
    /* irot and the camera's EXIF orientation beside it, as phones write: turned once */
    heic = make_heic(6, 6, &len);
    expect_quadrants(heic, len, 16, 32, (const int[]){2, 0, 3, 1}, "HEIC with irot and EXIF 6");
    free(heic);
    heic = make_heic(3, 8, &len); /* irot 180 wins over an EXIF that disagrees */
    expect_quadrants(heic, len, 32, 16, (const int[]){3, 2, 1, 0}, "HEIC irot 180, EXIF 8");
    free(heic);
}

/* Every ispe box claims w x h. */
static void patch_ispe(unsigned char *p, size_t len, uint32_t w, uint32_t h)
{
    int found = 0;
    for (size_t i = 0; i + 16 <= len; i++)
        if (memcmp(p + i, "ispe", 4) == 0) {
            unsigned char *d = p + i + 8;
            for (int k = 0; k < 4; k++)
                d[k] = (unsigned char)(w >> (24 - 8 * k)),
                d[4 + k] = (unsigned char)(h >> (24 - 8 * k));
            found = 1;
        }
    assert_true(found);
}

static void test_bombs_refused(void **state)
{
    (void)state;
    size_t len;
    unsigned char *files[2] = {make_avif(-1, -1, 0, &len), NULL};
    size_t lens[2] = {len, 0};
    files[1] = make_heic(1, 0, &lens[1]);
    char err[IMGPIPE_ERRLEN];
    for (int i = 0; i < 2; i++) {
        patch_ispe(files[i], lens[i], 12000, 12000); /* 144 MP, over the default 100 */
        imgpipe_thumb_out out;
        assert_int_equal(make(files[i], lens[i], NULL, 32, 32, &out, err), IMGPIPE_ETOOBIG);
        assert_non_null(strstr(err, "12000x12000"));
        assert_null(out.data.data);
        /* a smaller budget refuses a smaller claim */
        patch_ispe(files[i], lens[i], 4000, 3000);
        imgpipe_thumb_opts o = {.max_pixels = 10000000};
        assert_int_equal(make(files[i], lens[i], &o, 32, 32, &out, err), IMGPIPE_ETOOBIG);
        free(files[i]);
    }
}

/* The first box type `t` in p (as bytes: no box walk), NULL when none. */
static unsigned char *find4(unsigned char *p, size_t len, const char *t)
{
    for (size_t i = 0; i + 4 <= len; i++)
        if (memcmp(p + i, t, 4) == 0)
            return p + i;
    return NULL;
}

/* The SPS unit of the file's hvcC replaced by sps (no longer than it, the rest 0xff). */
static void patch_sps(unsigned char *p, size_t len, const unsigned char *sps, size_t n)
{
    unsigned char *c = find4(p, len, "hvcC");
    assert_non_null(c);
    c += 4;
    size_t at = 23, arrays = c[22];
    for (size_t a = 0; a < arrays; a++) {
        size_t units = (size_t)(c[at + 1] << 8 | c[at + 2]);
        at += 3;
        for (size_t u = 0; u < units; u++) {
            size_t ul = (size_t)(c[at] << 8 | c[at + 1]);
            if ((c[at + 2] >> 1 & 0x3f) == 33) {
                assert_true(n <= ul);
                memcpy(c + at + 2, sps, n);
                memset(c + at + 2 + n, 0xff, ul - n);
                return;
            }
            at += 2 + ul;
        }
    }
    fail_msg("no SPS in the hvcC");
}

static uint64_t be_n(const unsigned char *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

static void put_n(unsigned char *p, unsigned n, uint64_t v)
{
    for (unsigned i = n; i-- > 0; v >>= 8)
        p[i] = (unsigned char)v;
}

/* A copy of the file whose first item stored in the file (an HEVC tile: the grid is in
 * idat) has `before`, `after` around its data: the data is copied with them into an mdat
 * added at the end (8 spare bytes after it) and iloc's one extent points there, grown. */
static unsigned char *wrap_item(const unsigned char *src, size_t len, const unsigned char *before,
                                size_t nb, const unsigned char *after, size_t na, size_t *out_len)
{
    unsigned char *p = malloc(2 * len + nb + na + 16) /* the item's data is within len */;
    memcpy(p, src, len);
    unsigned char *loc = find4(p, len, "iloc");
    assert_non_null(loc);
    unsigned char *q = loc + 4;
    int v = q[0];
    unsigned osize = q[4] >> 4, lsize = q[4] & 15, bsize = q[5] >> 4,
             isize = v == 1 ? q[5] & 15u : 0;
    assert_true(v <= 1);
    q += 6;
    uint64_t items = be_n(q, 2);
    q += 2;
    for (uint64_t i = 0; i < items; i++) {
        unsigned method = v == 1 ? q[3] & 15u : 0;
        q += 2 + (v == 1 ? 2 : 0) + 2;
        uint64_t base = be_n(q, bsize);
        q += bsize;
        uint64_t extents = be_n(q, 2);
        q += 2;
        if (method == 0) {
            assert_int_equal(extents, 1);
            uint64_t off = be_n(q + isize, osize), n = be_n(q + isize + osize, lsize);
            size_t at = len;
            put_n(p + at, 4, 8 + nb + n + na + 8);
            memcpy(p + at + 4, "mdat", 4);
            if (nb) /* before and after may be NULL: memcpy must not see them */
                memcpy(p + at + 8, before, nb);
            memcpy(p + at + 8 + nb, src + base + off, n);
            if (na)
                memcpy(p + at + 8 + nb + n, after, na);
            memset(p + at + 8 + nb + n + na, 0, 8);
            put_n(q + isize, osize, at + 8 - base);
            put_n(q + isize + osize, lsize, nb + n + na);
            *out_len = at + 8 + nb + n + na + 8;
            return p;
        }
        q += extents * (isize + osize + lsize);
    }
    fail_msg("no item in the file's mdat");
    return NULL;
}

/* A HEIC's ispe is a claim: the HEVC stream's SPS and a grid's descriptor say what is
 * allocated, and are checked before decoding (the header check of `get` too). */
static void test_heic_coded_size(void **state)
{
    (void)state;
    size_t len;
    char err[IMGPIPE_ERRLEN];
    imgpipe_thumb_out out;
    imgpipe_thumb_opts small = {.max_pixels = 10000};
    unsigned char *heic = make_heic(1, 0, &len), sps[300];
    /* the file as made fits a small budget: its coded picture is its size, padded */
    assert_int_equal(make(heic, len, &small, 16, 16, &out, err), 0);
    imgpipe_buf_free(&out.data);
    unsigned char *p = malloc(len);
    /* a coded picture within the CTU padding of its 64x64 tile, but over the budget */
    memcpy(p, heic, len);
    size_t n = testutil_hevc_sps(sps, sizeof(sps), 0, 0, 0, 1, 120, 96, 0);
    patch_sps(p, len, sps, n);
    assert_int_equal(make(p, len, &small, 16, 16, &out, err), IMGPIPE_ETOOBIG);
    assert_non_null(strstr(err, "120x96"));
    assert_null(out.data.data);
    const struct imgpipe_codec *c;
    struct imgpipe_image_info info;
    assert_int_equal(imgpipe_image_check(p, len, 10000, &c, &info, err), IMGPIPE_ETOOBIG);
    /* 20000x20000 for a 64x32 image: no padding explains it, at any budget */
    memcpy(p, heic, len);
    n = testutil_hevc_sps(sps, sizeof(sps), 1, 0, 1, 1, 20000, 20000, 0);
    patch_sps(p, len, sps, n);
    assert_int_equal(make(p, len, NULL, 16, 16, &out, err), IMGPIPE_ECORRUPT);
    assert_non_null(strstr(err, "20000x20000"));
    assert_int_equal(make(p, len, &small, 16, 16, &out, err), IMGPIPE_ECORRUPT);
    assert_int_equal(imgpipe_image_check(p, len, 0, &c, &info, err), IMGPIPE_ECORRUPT);
    /* an SPS that cannot be read as far as its size */
    memcpy(p, heic, len);
    sps[2] = 0xff; /* 8 sub-layers */
    patch_sps(p, len, sps, n);
    assert_int_equal(make(p, len, NULL, 16, 16, &out, err), IMGPIPE_ECORRUPT);
    /* a grid whose canvas is larger than its ispe: libheif 1.15 allocates the canvas */
    memcpy(p, heic, len);
    unsigned char *idat = find4(p, len, "idat");
    assert_non_null(idat);
    assert_int_equal(idat[-1], 16); /* 8 bytes: version, flags, rows, columns, 16-bit size */
    idat[4 + 6] = 0x40, idat[4 + 7] = 0;
    assert_int_equal(make(p, len, &small, 16, 16, &out, err), IMGPIPE_ECORRUPT);
    assert_non_null(strstr(err, "x16384"));
    free(p);
    free(heic);
}

/* libheif hands libde265 a tile's own NAL units after its hvcC's: an SPS among them
 * declares the picture as well, and is held to the same rule. */
static void test_heic_sps_in_data(void **state)
{
    (void)state;
    size_t len, n, plen;
    char err[IMGPIPE_ERRLEN];
    imgpipe_thumb_out out;
    imgpipe_thumb_opts small = {.max_pixels = 10000};
    const struct imgpipe_codec *c;
    struct imgpipe_image_info info;
    unsigned char *heic = make_heic(1, 0, &len), unit[300];
    /* moved to a new mdat with nothing added: still thumbnails, in a small budget too */
    unsigned char *p = wrap_item(heic, len, NULL, 0, NULL, 0, &plen);
    assert_int_equal(make(p, plen, &small, 16, 16, &out, err), 0);
    imgpipe_buf_free(&out.data);
    free(p);
    /* a 20000x20000 SPS before the slice: no padding explains it, at any budget */
    n = testutil_hevc_sps(unit + 4, sizeof(unit) - 4, 0, 0, 0, 1, 20000, 20000, 4);
    put_n(unit, 4, n);
    p = wrap_item(heic, len, unit, 4 + n, NULL, 0, &plen);
    assert_int_equal(make(p, plen, NULL, 16, 16, &out, err), IMGPIPE_ECORRUPT);
    assert_non_null(strstr(err, "20000x20000"));
    assert_null(out.data.data);
    assert_int_equal(imgpipe_image_check(p, plen, 0, &c, &info, err), IMGPIPE_ECORRUPT);
    free(p);
    /* within the tile's padding, over a small budget */
    n = testutil_hevc_sps(unit + 4, sizeof(unit) - 4, 0, 0, 0, 1, 120, 96, 4);
    put_n(unit, 4, n);
    p = wrap_item(heic, len, unit, 4 + n, NULL, 0, &plen);
    assert_int_equal(make(p, plen, &small, 16, 16, &out, err), IMGPIPE_ETOOBIG);
    assert_non_null(strstr(err, "120x96"));
    free(p);
    /* an SPS that cannot be read as far as its size */
    unit[4 + 2] = 0xff;
    p = wrap_item(heic, len, unit, 4 + n, NULL, 0, &plen);
    assert_int_equal(make(p, plen, NULL, 16, 16, &out, err), IMGPIPE_ECORRUPT);
    free(p);
    /* a unit whose length runs past the item's data (not past the file) */
    static const unsigned char cut[] = {0, 0, 0, 9, 0x42, 0x01};
    p = wrap_item(heic, len, NULL, 0, cut, sizeof(cut), &plen);
    assert_int_equal(make(p, plen, NULL, 16, 16, &out, err), IMGPIPE_ECORRUPT);
    assert_non_null(strstr(err, "NAL units"));
    free(p);
    /* a length field cut by the data's end */
    p = wrap_item(heic, len, NULL, 0, cut, 3, &plen);
    assert_int_equal(make(p, plen, NULL, 16, 16, &out, err), IMGPIPE_ECORRUPT);
    free(p);
    free(heic);
}

/* Cut, flipped and garbled files: an error for that file, never a crash (ASan checks). */
static void test_corrupt_avif_heic(void **state)
{
    (void)state;
    size_t lens[2];
    unsigned char *files[2] = {make_avif(-1, -1, 0, &lens[0]), make_heic(1, 0, &lens[1])};
    char err[IMGPIPE_ERRLEN];
    for (int i = 0; i < 2; i++) {
        unsigned char *p = malloc(lens[i]);
        for (size_t cut = 16; cut < lens[i]; cut += lens[i] / 9 + 1) {
            imgpipe_thumb_out out;
            assert_int_equal(make(files[i], cut, NULL, 32, 32, &out, err), IMGPIPE_ECORRUPT);
            assert_null(out.data.data);
        }
        for (size_t at = 24; at < lens[i]; at += 7) {
            memcpy(p, files[i], lens[i]);
            p[at] ^= 0xff;
            imgpipe_thumb_out out;
            int rc = make(p, lens[i], NULL, 32, 32, &out, err);
            if (rc != 0 && rc != IMGPIPE_ECORRUPT && rc != IMGPIPE_ETOOBIG && rc != IMGPIPE_EFORMAT)
                fail_msg("file %d, byte %zu flipped: %d (%s)", i, at, rc, err);
            imgpipe_buf_free(&out.data);
        }
        free(p), free(files[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_geometry),
        cmocka_unit_test(test_upscale_budget),
        cmocka_unit_test(test_bad_options_refused_before_a_run),
        cmocka_unit_test(test_quality_modes_formats),
        cmocka_unit_test(test_alpha_kept_or_flattened),
        cmocka_unit_test(test_gray_to_colour_formats),
        cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_avif_orientation),
        cmocka_unit_test(test_avif_sequence_first_frame),
        cmocka_unit_test(test_heic_in),
        cmocka_unit_test(test_bombs_refused),
        cmocka_unit_test(test_heic_coded_size),
        cmocka_unit_test(test_heic_sps_in_data),
        cmocka_unit_test(test_corrupt_avif_heic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
