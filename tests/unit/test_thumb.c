/* imgpipe_thumb_make and imgpipe_sniff_format on images generated here. */
#include "testutil.h"
#include "imgpipe.h"
#include "run/job.h"
#include "store/store.h"
#include "image/image.h"

#include <math.h>
#include <fcntl.h>
#include <pthread.h>
#include <turbojpeg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <webp/decode.h>
#include <webp/encode.h>

static const unsigned char RED[3] = {255, 0, 0}, WHITE[3] = {255, 255, 255};

/* An RGB image whose top-left quadrant is red and the rest white. */
static unsigned char *quadrant_rgb(int w, int h)
{
    unsigned char *px = malloc((size_t)w * h * 3);
    assert_non_null(px);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            memcpy(px + ((size_t)y * w + x) * 3, x < w / 2 && y < h / 2 ? RED : WHITE, 3);
    return px;
}

static unsigned char *quadrant_jpeg(int w, int h, size_t *len)
{
    unsigned char *px = quadrant_rgb(w, h);
    unsigned char *jpeg = testutil_jpeg(px, w, h, 3, 90, len);
    free(px);
    return jpeg;
}

static int contains(const unsigned char *hay, size_t len, const char *needle, size_t n)
{
    for (size_t i = 0; i + n <= len; i++)
        if (memcmp(hay + i, needle, n) == 0)
            return 1;
    return 0;
}

static void free_outs(imgpipe_thumb_out *outs, int n)
{
    for (int i = 0; i < n; i++)
        imgpipe_buf_free(&outs[i].data);
}

static int thumb(const unsigned char *src, size_t len, imgpipe_thumb_out *outs, int n, char *err)
{
    imgpipe_thumb_opts opts = {0};
    return imgpipe_thumb_make(src, len, &opts, outs, n, err);
}

/* ---- sniff ---- */

static void test_sniff_magics(void **state)
{
    (void)state;
    assert_string_equal(imgpipe_sniff_format("\xFF\xD8\xFF\xE0", 4), "jpeg");
    assert_string_equal(imgpipe_sniff_format("\x89PNG\r\n\x1A\n", 8), "png");
    assert_string_equal(imgpipe_sniff_format("GIF87a", 6), "gif");
    assert_string_equal(imgpipe_sniff_format("GIF89a....", 10), "gif");
    assert_string_equal(imgpipe_sniff_format("RIFF\x10\0\0\0WEBPVP8 ", 16), "webp");
    assert_null(imgpipe_sniff_format("RIFF\x10\0\0\0WAVEfmt ", 16));
    assert_null(imgpipe_sniff_format("GIF88a", 6));
    assert_null(imgpipe_sniff_format("hello world", 11));
}

static void test_sniff_short_buffers(void **state)
{
    (void)state;
    /* Each prefix is cut one byte short: the answer must not depend on bytes past len. */
    assert_null(imgpipe_sniff_format("\xFF\xD8\xFF", 2));
    assert_null(imgpipe_sniff_format("\x89PNG\r\n\x1A\n", 7));
    assert_null(imgpipe_sniff_format("GIF89a", 5));
    assert_null(imgpipe_sniff_format("RIFF\x10\0\0\0WEBP", 11));
    assert_null(imgpipe_sniff_format("", 0));
    assert_null(imgpipe_sniff_format(NULL, 0));
    /* A heap buffer of exactly len bytes, so ASan catches any read past it. */
    unsigned char *p = malloc(3);
    assert_non_null(p);
    memcpy(p, "\xFF\xD8\xFF", 3);
    assert_string_equal(imgpipe_sniff_format(p, 3), "jpeg");
    memcpy(p, "RIF", 3);
    assert_null(imgpipe_sniff_format(p, 3));
    free(p);
}

/* ---- geometry ---- */

static void expect_size(int w, int h, int bw, int bh, int ew, int eh)
{
    size_t len;
    unsigned char *jpeg = quadrant_jpeg(w, h, &len);
    char err[IMGPIPE_ERRLEN] = "";
    imgpipe_thumb_out out = {.width = bw, .height = bh};
    assert_int_equal(thumb(jpeg, len, &out, 1, err), IMGPIPE_OK);
    assert_int_equal(out.width, ew);
    assert_int_equal(out.height, eh);
    int dw, dh, ch;
    unsigned char *px = testutil_jpeg_decode(out.data.data, out.data.len, &dw, &dh, &ch);
    assert_int_equal(dw, ew);
    assert_int_equal(dh, eh);
    free(px);
    free_outs(&out, 1);
    free(jpeg);
}

static void test_geometry_fit_box(void **state)
{
    (void)state;
    expect_size(400, 200, 100, 100, 100, 50);
    expect_size(200, 400, 100, 100, 50, 100);
    expect_size(400, 300, 128, 128, 128, 96);
    expect_size(300, 400, 200, 100, 75, 100);
    expect_size(333, 100, 100, 100, 100, 30); /* 30.03 rounds down */
    expect_size(200, 300, 100, 100, 67, 100); /* 66.67 rounds up */
}

static void test_geometry_never_upscales(void **state)
{
    (void)state;
    expect_size(40, 30, 128, 128, 40, 30);
    expect_size(128, 50, 128, 128, 128, 50);
}

static void test_geometry_one_pixel_minimum(void **state)
{
    (void)state;
    expect_size(2000, 8, 100, 100, 100, 1);
    expect_size(8, 2000, 64, 64, 1, 64);
}

static void test_geometry_several_sizes(void **state)
{
    (void)state;
    size_t len;
    unsigned char *jpeg = quadrant_jpeg(640, 480, &len);
    char err[IMGPIPE_ERRLEN] = "";
    imgpipe_thumb_out outs[4] = {{.width = 320, .height = 320},
                                 {.width = 64, .height = 64},
                                 {.width = 1000, .height = 1000},
                                 {.width = 300, .height = 30}};
    assert_int_equal(thumb(jpeg, len, outs, 4, err), IMGPIPE_OK);
    const int ew[4] = {320, 64, 640, 40}, eh[4] = {240, 48, 480, 30};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(outs[i].width, ew[i]);
        assert_int_equal(outs[i].height, eh[i]);
        assert_string_equal(imgpipe_sniff_format(outs[i].data.data, outs[i].data.len), "jpeg");
        int dw, dh, ch;
        unsigned char *px =
            testutil_jpeg_decode(outs[i].data.data, outs[i].data.len, &dw, &dh, &ch);
        assert_int_equal(dw, ew[i]);
        assert_int_equal(dh, eh[i]);
        assert_int_equal(ch, 3);
        free(px);
    }
    free_outs(outs, 4);
    free(jpeg);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    size_t len;
    unsigned char *jpeg = quadrant_jpeg(16, 16, &len);
    char err[IMGPIPE_ERRLEN] = "";
    imgpipe_thumb_out out = {.width = -1, .height = 10};
    assert_int_equal(thumb(jpeg, len, &out, 1, err), IMGPIPE_EINVAL);
    out = (imgpipe_thumb_out){.width = 0, .height = 0}; /* one side may be unbounded, not both */
    assert_int_equal(thumb(jpeg, len, &out, 1, err), IMGPIPE_EINVAL);
    out.width = 10;
    assert_int_equal(thumb(jpeg, len, &out, 0, err), IMGPIPE_EINVAL);
    assert_int_equal(thumb(jpeg, len, &out, IMGPIPE_THUMB_MAX_SIZES + 1, err), IMGPIPE_EINVAL);
    imgpipe_thumb_opts opts = {.quality = 101};
    assert_int_equal(imgpipe_thumb_make(jpeg, len, &opts, &out, 1, err), IMGPIPE_EINVAL);
    assert_null(out.data.data);
    /* NULL opts means defaults. */
    assert_int_equal(imgpipe_thumb_make(jpeg, len, NULL, &out, 1, err), IMGPIPE_OK);
    free_outs(&out, 1);
    free(jpeg);
}

/* ---- EXIF orientation ---- */

static int is_red(const unsigned char *p)
{
    return p[0] > 200 && p[1] < 60 && p[2] < 60;
}

static int is_white(const unsigned char *p)
{
    return p[0] > 200 && p[1] > 200 && p[2] > 200;
}

/* Thumbnails a 320x240 JPEG with a red top-left quadrant tagged with orientation o and
 * checks the size and that red lands in quadrant (qx, qy) of the upright thumbnail. */
static void expect_orientation(int o, int big_endian, int ew, int eh, int qx, int qy)
{
    size_t len, elen;
    unsigned char *jpeg = quadrant_jpeg(320, 240, &len);
    unsigned char *exif = testutil_jpeg_add_exif(jpeg, len, o, big_endian, &elen);
    char err[IMGPIPE_ERRLEN] = "";
    imgpipe_thumb_out out = {.width = 80, .height = 80};
    assert_int_equal(thumb(exif, elen, &out, 1, err), IMGPIPE_OK);
    assert_int_equal(out.width, ew);
    assert_int_equal(out.height, eh);
    int w, h, ch;
    unsigned char *px = testutil_jpeg_decode(out.data.data, out.data.len, &w, &h, &ch);
    assert_int_equal(w, ew);
    assert_int_equal(h, eh);
    for (int y = 0; y < 2; y++)
        for (int x = 0; x < 2; x++) {
            /* The centre of each quadrant. */
            const unsigned char *p = px + ((size_t)(h / 4 + y * h / 2) * w + w / 4 + x * w / 2) * 3;
            if (x == qx && y == qy)
                assert_true(is_red(p));
            else
                assert_true(is_white(p));
        }
    /* The output carries no EXIF, so viewers will not rotate it again. */
    assert_false(contains(out.data.data, out.data.len, "Exif\0\0", 6));
    free(px);
    free_outs(&out, 1);
    free(exif);
    free(jpeg);
}

static void test_orientation_1(void **state)
{
    (void)state;
    expect_orientation(1, 0, 80, 60, 0, 0);
}

static void test_orientation_3(void **state)
{
    (void)state;
    expect_orientation(3, 0, 80, 60, 1, 1);
}

static void test_orientation_6(void **state)
{
    (void)state;
    expect_orientation(6, 0, 60, 80, 1, 0);
    expect_orientation(6, 1, 60, 80, 1, 0);
}

static void test_orientation_8(void **state)
{
    (void)state;
    expect_orientation(8, 1, 60, 80, 0, 1);
}

static void test_orientation_mirrors(void **state)
{
    (void)state;
    expect_orientation(2, 0, 80, 60, 1, 0);
    expect_orientation(4, 0, 80, 60, 0, 1);
    expect_orientation(5, 0, 60, 80, 0, 0);
    expect_orientation(7, 0, 60, 80, 1, 1);
}

static void test_orientation_out_of_range_is_ignored(void **state)
{
    (void)state;
    expect_orientation(0, 0, 80, 60, 0, 0);
    expect_orientation(9, 1, 80, 60, 0, 0);
}

/* ---- formats ---- */

static void test_gray_jpeg_stays_gray(void **state)
{
    (void)state;
    int w = 256, h = 128;
    unsigned char *px = malloc((size_t)w * h);
    assert_non_null(px);
    for (int i = 0; i < w * h; i++)
        px[i] = (unsigned char)(i % w);
    size_t len;
    unsigned char *jpeg = testutil_jpeg(px, w, h, 1, 90, &len);
    char err[IMGPIPE_ERRLEN] = "";
    imgpipe_thumb_out out = {.width = 64, .height = 64};
    assert_int_equal(thumb(jpeg, len, &out, 1, err), IMGPIPE_OK);
    int dw, dh, ch;
    unsigned char *t = testutil_jpeg_decode(out.data.data, out.data.len, &dw, &dh, &ch);
    assert_int_equal(ch, 1);
    assert_int_equal(dw, 64);
    assert_int_equal(dh, 32);
    /* The horizontal ramp survives: dark on the left, bright on the right. */
    assert_true(t[16 * 64 + 2] < 30);
    assert_true(t[16 * 64 + 61] > 225);
    free(t);
    free_outs(&out, 1);
    free(jpeg);
    free(px);
}

static void test_png_rgba_keeps_alpha(void **state)
{
    (void)state;
    int w = 200, h = 100;
    unsigned char *px = malloc((size_t)w * h * 4);
    assert_non_null(px);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            unsigned char *p = px + ((size_t)y * w + x) * 4;
            /* Left half: fully transparent green; right half: opaque red. Without
             * premultiplication the green would bleed into the red edge. */
            p[0] = x < w / 2 ? 0 : 255;
            p[1] = x < w / 2 ? 255 : 0;
            p[2] = 0;
            p[3] = x < w / 2 ? 0 : 255;
        }
    size_t len;
    unsigned char *png = testutil_png(px, (size_t)w * h * 4, w, h, 6, 8, NULL, 0, NULL, 0, &len);
    char err[IMGPIPE_ERRLEN] = "";
    imgpipe_thumb_out out = {.width = 50, .height = 50};
    assert_int_equal(thumb(png, len, &out, 1, err), IMGPIPE_OK);
    assert_string_equal(imgpipe_sniff_format(out.data.data, out.data.len), "png");
    int tw, th, ch, ct;
    unsigned char *t = testutil_png_decode(out.data.data, out.data.len, &tw, &th, &ch, &ct);
    assert_int_equal(tw, 50);
    assert_int_equal(th, 25);
    assert_int_equal(ct, 6);
    for (int y = 0; y < th; y++)
        for (int x = 0; x < tw; x++) {
            const unsigned char *p = t + ((size_t)y * tw + x) * 4;
            /* The filter spans 3 output pixels each side of the edge at x = 25. */
            if (x <= 21)
                assert_int_equal(p[3], 0);
            if (x >= 29)
                assert_int_equal(p[3], 255);
            if (p[3] > 0) /* every visible pixel is pure red: no green halo */
                assert_true(p[0] >= 250 && p[1] <= 5 && p[2] <= 5);
        }
    free(t);
    free_outs(&out, 1);
    free(png);
    free(px);
}

static void test_png_16bit_scaled(void **state)
{
    (void)state;
    int w = 64, h = 64;
    uint16_t *raw = malloc((size_t)w * h * 6);
    assert_non_null(raw);
    /* Samples whose 8-bit value is the same truncated or rounded; a decoder that kept the
     * low byte would give 0x80, 0x00, 0xFF. */
    const uint16_t sample[3] = {0x8080, 0x4000, 0xC0FF};
    for (int i = 0; i < w * h; i++)
        memcpy(raw + (size_t)i * 3, sample, 6);
    size_t len;
    unsigned char *png = testutil_png(raw, (size_t)w * h * 6, w, h, 2, 16, NULL, 0, NULL, 0, &len);
    char err[IMGPIPE_ERRLEN] = "";
    imgpipe_thumb_out out = {.width = 16, .height = 16};
    assert_int_equal(thumb(png, len, &out, 1, err), IMGPIPE_OK);
    int tw, th, ch, ct;
    unsigned char *t = testutil_png_decode(out.data.data, out.data.len, &tw, &th, &ch, &ct);
    assert_int_equal(ct, 2);
    assert_int_equal(tw, 16);
    for (int i = 0; i < tw * th; i++) {
        assert_int_equal(t[i * 3], 128);
        assert_int_equal(t[i * 3 + 1], 64);
        assert_int_equal(t[i * 3 + 2], 192);
    }
    free(t);
    free_outs(&out, 1);
    free(png);
    free(raw);
}

static void test_png_palette_trns(void **state)
{
    (void)state;
    int w = 64, h = 32;
    unsigned char *idx = malloc((size_t)w * h);
    assert_non_null(idx);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            idx[y * w + x] = x < w / 2 ? 0 : 1;
    const unsigned char plte[6] = {10, 20, 200, 0, 255, 0};
    const unsigned char trns2[2] = {128, 0};
    size_t len;
    unsigned char *png = testutil_png(idx, (size_t)w * h, w, h, 3, 8, plte, 2, trns2, 2, &len);
    char err[IMGPIPE_ERRLEN] = "";
    imgpipe_thumb_out out = {.width = 32, .height = 32};
    assert_int_equal(thumb(png, len, &out, 1, err), IMGPIPE_OK);
    int tw, th, ch, ct;
    unsigned char *t = testutil_png_decode(out.data.data, out.data.len, &tw, &th, &ch, &ct);
    assert_int_equal(ct, 6);
    assert_int_equal(tw, 32);
    assert_int_equal(th, 16);
    const unsigned char *left = t + (8 * 32 + 4) * 4, *right = t + (8 * 32 + 28) * 4;
    assert_int_equal(left[0], 10);
    assert_int_equal(left[1], 20);
    assert_int_equal(left[2], 200);
    assert_int_equal(left[3], 128);
    assert_int_equal(right[3], 0);
    free(t);
    free_outs(&out, 1);
    free(png);
    free(idx);
}

static unsigned char *gray_png(int w, int h, int ct, int depth, size_t *len)
{
    int spp = ct == 4 ? 2 : 1, bps = depth / 8;
    unsigned char *raw = malloc((size_t)w * h * spp * bps);
    assert_non_null(raw);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            /* A horizontal ramp; with alpha, the left half is transparent. */
            uint16_t g = (uint16_t)(x * 255 / (w - 1)), a = x < w / 2 ? 0 : 255;
            uint16_t v[2] = {bps == 2 ? (uint16_t)(g * 257) : g,
                             bps == 2 ? (uint16_t)(a * 257) : a};
            for (int c = 0; c < spp; c++) {
                unsigned char *d = raw + (((size_t)y * w + x) * spp + c) * bps;
                if (bps == 2)
                    memcpy(d, &v[c], 2);
                else
                    *d = (unsigned char)v[c];
            }
        }
    unsigned char *png =
        testutil_png(raw, (size_t)w * h * spp * bps, w, h, ct, depth, NULL, 0, NULL, 0, len);
    free(raw);
    return png;
}

/* Thumbnails a 128x64 gray ramp PNG to 64x32 and checks the output colour type and that
 * the ramp survives (and, with alpha, the transparent half). */
static void expect_gray(int ct, int depth, int want_ct)
{
    size_t len;
    unsigned char *png = gray_png(128, 64, ct, depth, &len);
    char err[IMGPIPE_ERRLEN] = "";
    imgpipe_thumb_out out = {.width = 64, .height = 64};
    assert_int_equal(thumb(png, len, &out, 1, err), IMGPIPE_OK);
    int tw, th, ch, oct;
    unsigned char *t = testutil_png_decode(out.data.data, out.data.len, &tw, &th, &ch, &oct);
    assert_int_equal(oct, want_ct);
    assert_int_equal(tw, 64);
    assert_int_equal(th, 32);
    const unsigned char *right = t + (16 * 64 + 60) * ch, *mid = t + (16 * 64 + 40) * ch;
    assert_in_range(right[0], 230, 255);
    assert_int_equal(right[0], right[1]); /* still gray */
    assert_int_equal(right[0], right[2]);
    assert_in_range(mid[0], 150, 170); /* 40.5 / 63 of the way */
    if (ch == 4) {
        assert_int_equal(t[(16 * 64 + 4) * 4 + 3], 0);
        assert_int_equal(right[3], 255);
    }
    free(t);
    free_outs(&out, 1);
    free(png);
}

static void test_png_gray_stays_gray(void **state)
{
    (void)state;
    expect_gray(0, 8, 0);
    expect_gray(4, 8, 4);
    expect_gray(0, 16, 0);
    expect_gray(4, 16, 4);
}

/* Low bit depths are scaled to 8 bits (1 -> 255), not copied (1 -> 1). */
static void test_png_1bit_gray(void **state)
{
    (void)state;
    int w = 32, h = 8;
    unsigned char raw[4 * 8];
    for (int y = 0; y < h; y++)
        for (int b = 0; b < 4; b++)
            raw[y * 4 + b] = b < 2 ? 0x00 : 0xFF; /* left half black, right half white */
    size_t len;
    unsigned char *png = testutil_png(raw, sizeof(raw), w, h, 0, 1, NULL, 0, NULL, 0, &len);
    char err[IMGPIPE_ERRLEN] = "";
    imgpipe_thumb_out out = {.width = 16, .height = 16};
    assert_int_equal(thumb(png, len, &out, 1, err), IMGPIPE_OK);
    int tw, th, ch, ct;
    unsigned char *t = testutil_png_decode(out.data.data, out.data.len, &tw, &th, &ch, &ct);
    assert_int_equal(ct, 0);
    assert_int_equal(tw, 16);
    assert_int_equal(th, 4);
    assert_int_equal(t[(2 * 16 + 1) * 3], 0);
    assert_int_equal(t[(2 * 16 + 14) * 3], 255);
    free(t);
    free_outs(&out, 1);
    free(png);
}

static void test_png_exif_orientation(void **state)
{
    (void)state;
    int w = 320, h = 240;
    unsigned char *px = quadrant_rgb(w, h);
    size_t len, elen;
    unsigned char *png = testutil_png(px, (size_t)w * h * 3, w, h, 2, 8, NULL, 0, NULL, 0, &len);
    unsigned char tiff[26];
    testutil_exif_tiff(tiff, 6, 1);
    unsigned char *exif = testutil_png_add_chunk(png, len, "eXIf", tiff, sizeof(tiff), &elen);
    char err[IMGPIPE_ERRLEN] = "";
    imgpipe_thumb_out out = {.width = 80, .height = 80};
    assert_int_equal(thumb(exif, elen, &out, 1, err), IMGPIPE_OK);
    assert_int_equal(out.width, 60);
    assert_int_equal(out.height, 80);
    int tw, th, ch, ct;
    unsigned char *t = testutil_png_decode(out.data.data, out.data.len, &tw, &th, &ch, &ct);
    assert_true(is_red(t + (20 * 60 + 45) * 3));   /* top right */
    assert_true(is_white(t + (20 * 60 + 15) * 3)); /* top left */
    free(t);
    free_outs(&out, 1);
    free(exif);
    free(png);
    free(px);
}

/* ---- EXIF orientation in WebP: the EXIF chunk of an extended (VP8X) file ---- */

#define VP8X_ANIMATION 0x02
#define VP8X_EXIF 0x08

/* The VP8 (lossy) or VP8L chunk of a 160x120 image with a red top-left quadrant. */
static unsigned char *quadrant_webp_chunk(int lossless, size_t *len)
{
    int w = 160, h = 120;
    unsigned char *px = quadrant_rgb(w, h);
    uint8_t *webp;
    size_t n = lossless ? WebPEncodeLosslessRGB(px, w, h, w * 3, &webp)
                        : WebPEncodeRGB(px, w, h, w * 3, 90, &webp);
    assert_true(n > 20);
    assert_memory_equal(webp + 12, lossless ? "VP8L" : "VP8 ", 4); /* the simple format */
    unsigned char *chunk = malloc(n - 12);
    assert_non_null(chunk);
    memcpy(chunk, webp + 12, n - 12);
    *len = n - 12;
    WebPFree(webp);
    free(px);
    return chunk;
}

/* Appends the image chunk quadrant_webp_chunk made, as it is. */
static void put_image_chunk(unsigned char **chunks, size_t *clen, const unsigned char *image)
{
    uint32_t n =
        image[4] | (uint32_t)image[5] << 8 | (uint32_t)image[6] << 16 | (uint32_t)image[7] << 24;
    testutil_riff_chunk(chunks, clen, (const char *)image, n, image + 8, n);
}

/* An extended WebP of the quadrant image, then an EXIF chunk holding exif (size as
 * declared, n bytes). */
static unsigned char *webp_with_exif(int lossless, unsigned flags, uint32_t size, const void *exif,
                                     size_t n, size_t *len)
{
    size_t ilen, clen = 0;
    unsigned char *image = quadrant_webp_chunk(lossless, &ilen), *chunks = NULL;
    put_image_chunk(&chunks, &clen, image);
    testutil_riff_chunk(&chunks, &clen, "EXIF", size, exif, n);
    unsigned char *webp = testutil_webp_vp8x(flags, 160, 120, chunks, clen, len);
    free(chunks);
    free(image);
    return webp;
}

/* The EXIF payload for orientation o: a TIFF block, after "Exif\0\0" when prefixed. */
static size_t exif_payload(unsigned char p[40], int o, int big_endian, int prefixed)
{
    memcpy(p, "Exif\0\0", 6);
    return testutil_exif_tiff(p + (prefixed ? 6 : 0), o, big_endian) + (prefixed ? 6 : 0);
}

/* Thumbnails src in an 80x80 box and checks that red is in quadrant (qx, qy) of an
 * ew x eh result, as expect_orientation does for JPEG. */
static void expect_webp_thumb(const unsigned char *src, size_t len, int ew, int eh, int qx, int qy)
{
    char err[IMGPIPE_ERRLEN] = "";
    imgpipe_thumb_out out = {.width = 80, .height = 80};
    assert_int_equal(thumb(src, len, &out, 1, err), IMGPIPE_OK);
    assert_int_equal(out.width, ew);
    assert_int_equal(out.height, eh);
    int w, h;
    uint8_t *px = WebPDecodeRGBA(out.data.data, out.data.len, &w, &h);
    assert_non_null(px);
    assert_int_equal(w, ew);
    assert_int_equal(h, eh);
    for (int y = 0; y < 2; y++)
        for (int x = 0; x < 2; x++) {
            const unsigned char *p = px + ((size_t)(h / 4 + y * h / 2) * w + w / 4 + x * w / 2) * 4;
            assert_true(x == qx && y == qy ? is_red(p) : is_white(p));
        }
    WebPFree(px);
    free_outs(&out, 1);
}

/* Where the red top-left quadrant lands after orientation 1..8, and whether w and h swap. */
static const struct {
    int qx, qy, swap;
} upright[9] = {{0, 0, 0}, {0, 0, 0}, {1, 0, 0}, {1, 1, 0}, {0, 1, 0},
                {0, 0, 1}, {1, 0, 1}, {1, 1, 1}, {0, 1, 1}};

static void expect_upright(const unsigned char *src, size_t len, int o)
{
    int s = upright[o].swap;
    expect_webp_thumb(src, len, s ? 60 : 80, s ? 80 : 60, upright[o].qx, upright[o].qy);
}

static void test_webp_exif_orientation(void **state)
{
    (void)state;
    for (int lossless = 0; lossless < 2; lossless++)
        for (int o = 1; o <= 8; o++) {
            unsigned char exif[40];
            /* Both byte orders, with and without the "Exif\0\0" some tools write. */
            size_t n = exif_payload(exif, o, o & 1, (o + lossless) & 1), len;
            unsigned char *webp = webp_with_exif(lossless, VP8X_EXIF, (uint32_t)n, exif, n, &len);
            expect_upright(webp, len, o);
            free(webp);
        }
}

/* An animation whose one frame is the quadrant image, then EXIF orientation 6: the first
 * frame is turned like a still image. */
static void test_webp_exif_animated(void **state)
{
    (void)state;
    size_t ilen, clen = 0, len;
    unsigned char *image = quadrant_webp_chunk(1, &ilen), *chunks = NULL;
    /* ANMF: x/2, y/2, width-1, height-1, duration (24 bits each), flags; then the frame. */
    size_t flen = 16 + ilen;
    unsigned char *frame = calloc(1, flen);
    assert_non_null(frame);
    frame[6] = 159, frame[9] = 119, frame[12] = 100;
    memcpy(frame + 16, image, ilen);
    const unsigned char anim[6] = {255, 255, 255, 255, 0, 0}; /* background, loop forever */
    testutil_riff_chunk(&chunks, &clen, "ANIM", sizeof(anim), anim, sizeof(anim));
    testutil_riff_chunk(&chunks, &clen, "ANMF", (uint32_t)flen, frame, flen);
    unsigned char exif[40];
    size_t n = exif_payload(exif, 6, 0, 0);
    testutil_riff_chunk(&chunks, &clen, "EXIF", (uint32_t)n, exif, n);
    unsigned char *webp =
        testutil_webp_vp8x(VP8X_ANIMATION | VP8X_EXIF, 160, 120, chunks, clen, &len);
    expect_upright(webp, len, 6);
    free(webp);
    free(chunks);
    free(frame);
    free(image);
}

/* The orientation imgpipe_webp_info reads from a malloc'd copy of exactly len bytes, so
 * AddressSanitizer sees any read past the end; -1 when the header does not read. */
static int webp_orientation(const unsigned char *src, size_t len)
{
    unsigned char *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    if (len)
        memcpy(copy, src, len);
    struct imgpipe_image_info info;
    char err[IMGPIPE_ERRLEN];
    int rc = imgpipe_webp_info(copy, len, &info, err);
    free(copy);
    return rc ? -1 : info.orientation;
}

/* A broken EXIF chunk or chunk list reads as orientation 1; the image still thumbnails. */
static void expect_exif_ignored(const unsigned char *webp, size_t len)
{
    assert_int_equal(webp_orientation(webp, len), 1);
    expect_upright(webp, len, 1);
}

static void test_webp_exif_chunk_sizes(void **state)
{
    (void)state;
    unsigned char exif[40];
    size_t n = exif_payload(exif, 6, 0, 1), len;
    /* Declared sizes past the end of the file, up to UINT32_MAX. */
    uint32_t m = (uint32_t)n;
    const uint32_t sizes[] = {m + 1, m + 2, m + 1000, 0x7FFFFFFF, 0xFFFFFFF8, 0xFFFFFFFE, ~0u};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        unsigned char *webp = webp_with_exif(i & 1, VP8X_EXIF, sizes[i], exif, n, &len);
        expect_exif_ignored(webp, len);
        free(webp);
    }
    /* An odd size: the chunk is padded and still read. */
    exif[n] = 0;
    unsigned char *webp = webp_with_exif(0, VP8X_EXIF, (uint32_t)n + 1, exif, n + 1, &len);
    assert_int_equal(len % 2, 0);
    assert_int_equal(webp_orientation(webp, len), 6);
    /* Cut anywhere: it reads or fails cleanly, never past the end. */
    for (size_t cut = 0; cut < len; cut++) {
        int o = webp_orientation(webp, cut);
        assert_true(o == -1 || o == 1 || o == 6);
    }
    free(webp);
    /* Without the VP8X EXIF flag the chunk is not looked for. */
    n = exif_payload(exif, 6, 0, 0);
    webp = webp_with_exif(1, 0, (uint32_t)n, exif, n, &len);
    expect_exif_ignored(webp, len);
    free(webp);
}

static void test_webp_exif_bad_tiff(void **state)
{
    (void)state;
    unsigned char exif[40];
    size_t len;
    /* IFD offset past the end, then an entry count running past it (the one entry there is
     * not the orientation, so the reader goes on looking). */
    for (int bad = 0; bad < 2; bad++) {
        size_t n = exif_payload(exif, 6, 0, 0);
        unsigned char *good = webp_with_exif(bad, VP8X_EXIF, (uint32_t)n, exif, n, &len);
        assert_int_equal(webp_orientation(good, len), 6);
        free(good);
        if (bad == 0)
            memcpy(exif + 4, "\xF0\xFF\xFF\xFF", 4);
        else
            memcpy(exif + 8, "\xFF\xFF\x00\x01", 4);
        unsigned char *webp = webp_with_exif(bad, VP8X_EXIF, (uint32_t)n, exif, n, &len);
        expect_exif_ignored(webp, len);
        free(webp);
    }
    /* Only the prefix, and nothing at all. */
    unsigned char *webp = webp_with_exif(0, VP8X_EXIF, 6, "Exif\0\0", 6, &len);
    expect_exif_ignored(webp, len);
    free(webp);
    webp = webp_with_exif(1, VP8X_EXIF, 0, NULL, 0, &len);
    expect_exif_ignored(webp, len);
    free(webp);
}

/* Thousands of chunks before the EXIF one are walked, an odd one padded; a last chunk
 * without its pad byte ends the walk. */
static void test_webp_exif_many_chunks(void **state)
{
    (void)state;
    size_t ilen, clen = 0, len;
    unsigned char *image = quadrant_webp_chunk(1, &ilen), *chunks = NULL;
    put_image_chunk(&chunks, &clen, image);
    for (int i = 0; i < 5000; i++)
        testutil_riff_chunk(&chunks, &clen, "JUNK", (uint32_t)(i % 3), "abc", (size_t)(i % 3));
    unsigned char exif[40];
    size_t n = exif_payload(exif, 8, 1, 0);
    testutil_riff_chunk(&chunks, &clen, "EXIF", (uint32_t)n, exif, n);
    unsigned char *webp = testutil_webp_vp8x(VP8X_EXIF, 160, 120, chunks, clen, &len);
    assert_int_equal(webp_orientation(webp, len), 8);
    expect_upright(webp, len, 8);
    free(webp);
    /* The EXIF chunk replaced by an odd one whose pad byte is missing. */
    clen -= 8 + n;
    testutil_riff_chunk(&chunks, &clen, "JUNK", 1, "x", 1);
    webp = testutil_webp_vp8x(VP8X_EXIF, 160, 120, chunks, clen - 1, &len);
    assert_int_equal(webp_orientation(webp, len), 1);
    free(webp);
    free(chunks);
    free(image);
}

/* Bytes after the size the RIFF header declares are not chunks of the file. */
static void test_webp_exif_after_riff_end(void **state)
{
    (void)state;
    unsigned char exif[40];
    size_t n = exif_payload(exif, 6, 0, 0), len;
    unsigned char *webp = webp_with_exif(0, VP8X_EXIF, (uint32_t)n, exif, n, &len);
    assert_int_equal(webp_orientation(webp, len), 6);
    uint32_t riff = (uint32_t)(len - 8 - 8 - n);
    unsigned char le[4] = {(unsigned char)riff, (unsigned char)(riff >> 8),
                           (unsigned char)(riff >> 16), (unsigned char)(riff >> 24)};
    memcpy(webp + 4, le, 4);
    expect_exif_ignored(webp, len);
    free(webp);
}

/* ---- limits and failures ---- */

static void test_max_pixels_before_decode(void **state)
{
    (void)state;
    size_t len;
    unsigned char *png = testutil_png_header_only(30000, 30000, &len);
    char err[IMGPIPE_ERRLEN] = "";
    imgpipe_thumb_out out = {.width = 128, .height = 128};
    assert_int_equal(thumb(png, len, &out, 1, err), IMGPIPE_ETOOBIG);
    assert_string_equal(err, "image is 30000x30000 (900 MP), over the 100 MP limit");
    assert_null(out.data.data);
    free(png);
    /* Under the limit the same file is found to be cut short (it has no IEND). */
    png = testutil_png_header_only(100, 100, &len);
    assert_int_equal(thumb(png, len, &out, 1, err), IMGPIPE_ECORRUPT);
    imgpipe_thumb_opts opts = {.max_pixels = 9999};
    assert_int_equal(imgpipe_thumb_make(png, len, &opts, &out, 1, err), IMGPIPE_ETOOBIG);
    free(png);
    unsigned char *jpeg = quadrant_jpeg(100, 100, &len);
    assert_int_equal(imgpipe_thumb_make(jpeg, len, &opts, &out, 1, err), IMGPIPE_ETOOBIG);
    assert_string_equal(err, "image is 100x100 (10000 pixels), over the 9999 pixel limit");
    opts.max_pixels = 10000;
    assert_int_equal(imgpipe_thumb_make(jpeg, len, &opts, &out, 1, err), IMGPIPE_OK);
    free_outs(&out, 1);
    free(jpeg);
}

static void expect_corrupt(const unsigned char *data, size_t len, const char *prefix)
{
    char err[IMGPIPE_ERRLEN] = "";
    imgpipe_thumb_out outs[2] = {{.width = 64, .height = 64}, {.width = 32, .height = 32}};
    assert_int_equal(thumb(data, len, outs, 2, err), IMGPIPE_ECORRUPT);
    assert_non_null(strstr(err, prefix));
    assert_null(outs[0].data.data);
    assert_null(outs[1].data.data);
}

static void test_corrupt_jpeg(void **state)
{
    (void)state;
    size_t len;
    unsigned char *jpeg = quadrant_jpeg(128, 128, &len);
    /* Cut inside the headers. */
    expect_corrupt(jpeg, 100, "corrupt JPEG: ");
    expect_corrupt(jpeg, 3, "corrupt JPEG: ");
    /* A bogus marker where the frame header should be. */
    unsigned char junk[64];
    memset(junk, 0x5A, sizeof(junk));
    memcpy(junk, "\xFF\xD8\xFF\xC0\x00\x02", 6);
    expect_corrupt(junk, sizeof(junk), "corrupt JPEG: ");
    free(jpeg);
}

static void test_corrupt_png(void **state)
{
    (void)state;
    int w = 64, h = 64;
    unsigned char *px = quadrant_rgb(w, h);
    size_t len;
    unsigned char *png = testutil_png(px, (size_t)w * h * 3, w, h, 2, 8, NULL, 0, NULL, 0, &len);
    expect_corrupt(png, len - 30, "truncated PNG: ");
    expect_corrupt(png, 20, "corrupt PNG: ");
    /* A chunk libspng refuses: its own reason, not the "non-recoverable state" that every
     * call after the first failure gives. */
    size_t blen;
    unsigned char *bad = testutil_png_add_chunk(png, len, "ABCD", "x", 1, &blen);
    expect_corrupt(bad, blen, "corrupt PNG: unknown critical chunk");
    free(bad);
    png[len - 20] ^= 0xFF; /* inside IDAT: fails the CRC */
    expect_corrupt(png, len, "corrupt PNG: ");
    free(png);
    free(px);
}

/* Data cut inside the entropy-coded scan is refused by the structure check (no EOI after
 * the scan); cut and then ending in FF D9 by chance, it passes that check and is only a
 * libjpeg warning ("premature end of data segment"), and the decoder would fill the rest
 * with grey: a cut download must not pass for an image, so the decode fails too. */
static void test_truncated_jpeg_scan_is_rejected(void **state)
{
    (void)state;
    size_t len;
    unsigned char *jpeg = quadrant_jpeg(256, 256, &len);
    char err[IMGPIPE_ERRLEN] = "";
    imgpipe_thumb_out out = {.width = 64, .height = 64};
    size_t cut = len - len / 4;
    assert_int_equal(thumb(jpeg, cut, &out, 1, err), IMGPIPE_ECORRUPT);
    assert_non_null(strstr(err, "truncated JPEG: no end-of-image marker"));
    assert_null(out.data.data);
    jpeg[cut] = 0xFF, jpeg[cut + 1] = 0xD9;
    assert_int_equal(thumb(jpeg, cut + 2, &out, 1, err), IMGPIPE_ECORRUPT);
    assert_non_null(strstr(err, "corrupt JPEG: "));
    assert_non_null(strstr(err, "premature end of data segment"));
    assert_null(out.data.data);
    free(jpeg);
}

/* Bytes between the scan and EOI are only libjpeg's harmless "extraneous bytes" warning,
 * common in real files: the decode that stops at warnings tries again and passes. */
/* More than libjpeg reads ahead into its bit buffer, so some are left over. */
#define JUNK 32

static void test_jpeg_extraneous_bytes_pass(void **state)
{
    (void)state;
    size_t len;
    unsigned char *jpeg = quadrant_jpeg(256, 256, &len);
    unsigned char *junk = malloc(len + JUNK);
    assert_non_null(junk);
    memcpy(junk, jpeg, len - 2);
    memset(junk + len - 2, 0x11, JUNK);
    memcpy(junk + len - 2 + JUNK, "\xFF\xD9", 2);
    char err[IMGPIPE_ERRLEN] = "";
    imgpipe_thumb_out out = {.width = 64, .height = 64}, ref = {.width = 64, .height = 64};
    assert_int_equal(thumb(jpeg, len, &ref, 1, err), IMGPIPE_OK);
    assert_int_equal(thumb(junk, len + JUNK, &out, 1, err), IMGPIPE_OK);
    assert_int_equal(out.data.len, ref.data.len);
    assert_memory_equal(out.data.data, ref.data.data, ref.data.len);
    free_outs(&out, 1);
    free_outs(&ref, 1);
    free(junk);
    free(jpeg);
}

/* TurboJPEG writes CMYK as Adobe-style inverted YCCK; the thumbnail comes out RGB. */
static void test_cmyk_jpeg_to_rgb(void **state)
{
    (void)state;
    int w = 64, h = 64;
    unsigned char *cmyk = malloc((size_t)w * h * 4);
    assert_non_null(cmyk);
    for (int i = 0; i < w * h; i++) {
        /* Inverted inks: C=255 means no cyan. Left half red, right half blue. */
        int left = i % w < w / 2;
        const unsigned char red[4] = {255, 0, 0, 255}, blue[4] = {0, 0, 255, 255};
        memcpy(cmyk + (size_t)i * 4, left ? red : blue, 4);
    }
    tjhandle tj = tjInitCompress();
    assert_non_null(tj);
    unsigned char *jpeg = NULL;
    unsigned long len = 0;
    assert_int_equal(tjCompress2(tj, cmyk, w, w * 4, h, TJPF_CMYK, &jpeg, &len, TJSAMP_444, 95, 0),
                     0);
    tjDestroy(tj);
    char err[IMGPIPE_ERRLEN] = "";
    imgpipe_thumb_out out = {.width = 32, .height = 32};
    assert_int_equal(thumb(jpeg, len, &out, 1, err), IMGPIPE_OK);
    int tw, th, ch;
    unsigned char *t = testutil_jpeg_decode(out.data.data, out.data.len, &tw, &th, &ch);
    assert_int_equal(ch, 3);
    assert_true(is_red(t + (16 * 32 + 4) * 3));
    const unsigned char *b = t + (16 * 32 + 28) * 3;
    assert_true(b[0] < 40 && b[1] < 40 && b[2] > 200);
    free(t);
    free_outs(&out, 1);
    tjFree(jpeg);
    free(cmyk);
}

/* get's check before storing is the one thumbnailing makes, and runs without thumbnails
 * too: a cut download is refused and nothing is written. */
static void test_store_refuses_cut_image(void **state)
{
    (void)state;
    size_t len;
    unsigned char *jpeg = quadrant_jpeg(128, 128, &len);
    char *dir = testutil_tmpdir();
    int dirfd = open(dir, O_RDONLY | O_DIRECTORY);
    assert_true(dirfd >= 0);
    imgpipe_get_opts opts = {0};
    char err[IMGPIPE_ERRLEN] = "";
    int thumbs = -1;
    imgpipe_output out = {.dirfd = dirfd};
    imgpipe_buf cut = {.data = jpeg, .len = len - 20, .cap = len}; /* inside the scan */
    assert_int_equal(imgpipe_job_store(&opts, &out, "cut.jpg", 0, &cut, &thumbs, NULL, err),
                     IMGPIPE_ECORRUPT);
    assert_non_null(strstr(err, "truncated JPEG"));
    struct stat st;
    assert_int_not_equal(fstatat(dirfd, "cut.jpg", &st, 0), 0);
    imgpipe_buf whole = {.data = jpeg, .len = len, .cap = len};
    assert_int_equal(imgpipe_job_store(&opts, &out, "whole.jpg", 0, &whole, &thumbs, NULL, err),
                     IMGPIPE_OK);
    assert_int_equal(fstatat(dirfd, "whole.jpg", &st, 0), 0);
    assert_int_equal(st.st_size, (off_t)len);
    /* A name given as free is not taken from whoever wrote it since; a name that is the
     * caller's own is rewritten. Thumbnails are reported under the names written. */
    imgpipe_buf part = {.data = jpeg, .len = len / 2, .cap = len};
    char names[IMGPIPE_THUMB_MAX_SIZES][IMGPIPE_THUMBNAME_LEN];
    assert_int_equal(imgpipe_store_write(dirfd, "taken.jpg", part.data, part.len, err), 0);
    opts.nthumbs = 1;
    opts.thumbs[0] = (imgpipe_thumb_size){16, 16};
    assert_int_equal(imgpipe_job_store(&opts, &out, "taken.jpg", 0, &whole, &thumbs, names, err),
                     IMGPIPE_EIO);
    assert_non_null(strstr(err, "not replaced"));
    assert_int_equal(fstatat(dirfd, "taken.jpg", &st, 0), 0);
    assert_int_equal(st.st_size, (off_t)(len / 2));
    assert_string_equal(names[0], "");
    assert_int_equal(imgpipe_store_write(dirfd, "same.jpg", whole.data, whole.len, err), 0);
    assert_int_equal(imgpipe_job_store(&opts, &out, "same.jpg", 0, &whole, &thumbs, names, err),
                     IMGPIPE_OK); /* the very bytes: another run of the link was first */
    assert_int_equal(imgpipe_job_store(&opts, &out, "taken.jpg", 1, &whole, &thumbs, names, err),
                     IMGPIPE_OK);
    assert_int_equal(fstatat(dirfd, "taken.jpg", &st, 0), 0);
    assert_int_equal(st.st_size, (off_t)len);
    assert_int_equal(thumbs, 1);
    assert_string_equal(names[0], "taken_thumbnail.jpg");
    opts.thumbs[0] = (imgpipe_thumb_size){8, 8}; /* another size: the 16x16 one is kept */
    assert_int_equal(imgpipe_job_store(&opts, &out, "taken.jpg", 1, &whole, &thumbs, names, err),
                     IMGPIPE_OK);
    assert_string_equal(names[0], "taken_thumbnail_8x8.jpg");
    assert_int_equal(fstatat(dirfd, names[0], &st, 0), 0);
    close(dirfd);
    testutil_rmtree(dir);
    free(dir);
    free(jpeg);
}

static void test_unsupported_formats(void **state)
{
    (void)state;
    char err[IMGPIPE_ERRLEN] = "";
    imgpipe_thumb_out out = {.width = 64, .height = 64};
    /* GIF and WebP are handled: a cut one is corrupt, not unsupported. */
    assert_int_equal(thumb((const unsigned char *)"GIF89a\x01\0\x01\0", 10, &out, 1, err),
                     IMGPIPE_ECORRUPT);
    assert_non_null(strstr(err, "corrupt GIF"));
    assert_int_equal(thumb((const unsigned char *)"RIFF\0\0\0\0WEBPVP8 ", 16, &out, 1, err),
                     IMGPIPE_ECORRUPT);
    assert_non_null(strstr(err, "corrupt WebP"));
    assert_int_equal(thumb((const unsigned char *)"<html>", 6, &out, 1, err), IMGPIPE_EFORMAT);
    assert_string_equal(
        err,
        "not an image: 6 bytes starting with \"<html>\" (not JPEG, PNG, WebP, GIF, AVIF or HEIF)");
    assert_int_equal(thumb((const unsigned char *)"\x01z", 2, &out, 1, err), IMGPIPE_EFORMAT);
    assert_string_equal(
        err,
        "not an image: 2 bytes starting with \"\\x01z\" (not JPEG, PNG, WebP, GIF, AVIF or HEIF)");
    assert_int_equal(thumb((const unsigned char *)"", 0, &out, 1, err), IMGPIPE_EFORMAT);
    assert_null(out.data.data);
}

/* ---- threads ---- */

struct job {
    const unsigned char *src;
    size_t len;
    const imgpipe_buf *want;
    int mismatches;
};

static void *thumb_loop(void *arg)
{
    struct job *j = arg;
    for (int i = 0; i < 10; i++) {
        char err[IMGPIPE_ERRLEN];
        imgpipe_thumb_out out = {.width = 48, .height = 48};
        if (thumb(j->src, j->len, &out, 1, err) != IMGPIPE_OK || out.data.len != j->want->len ||
            memcmp(out.data.data, j->want->data, out.data.len) != 0)
            j->mismatches++;
        free_outs(&out, 1);
    }
    return NULL;
}

/* No shared state: threads making thumbnails at once get the same bytes as one alone. */
static void test_threads_agree(void **state)
{
    (void)state;
    size_t len;
    unsigned char *jpeg = quadrant_jpeg(300, 200, &len);
    char err[IMGPIPE_ERRLEN] = "";
    imgpipe_thumb_out ref = {.width = 48, .height = 48};
    assert_int_equal(thumb(jpeg, len, &ref, 1, err), IMGPIPE_OK);
    struct job jobs[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        jobs[i] = (struct job){jpeg, len, &ref.data, 0};
        assert_int_equal(pthread_create(&t[i], NULL, thumb_loop, &jobs[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(jobs[i].mismatches, 0);
    }
    free_outs(&ref, 1);
    free(jpeg);
}

/* ---- quality ---- */

static double smooth(int x, int y, int c, int w, int h)
{
    double fx = (double)x / w, fy = (double)y / h;
    return 127.5 + 100.0 * sin(2 * M_PI * (fx * (1 + c) + 0.3 * fy)) * cos(2 * M_PI * fy * 1.5);
}

/* PSNR of a w x h x 3 thumbnail against the area average (box filter) of the source
 * in double precision; the source is exactly f times bigger. */
static double psnr_vs_area(const unsigned char *t, int w, int h, int f, int sw, int sh)
{
    double se = 0.0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++) {
                double sum = 0.0;
                for (int j = 0; j < f; j++)
                    for (int i = 0; i < f; i++)
                        sum += round(smooth(x * f + i, y * f + j, c, sw, sh));
                double d = sum / (f * f) - t[((size_t)y * w + x) * 3 + c];
                se += d * d;
            }
    double mse = se / ((double)w * h * 3);
    return mse == 0.0 ? 99.0 : 10.0 * log10(255.0 * 255.0 / mse);
}

static void test_quality_psnr(void **state)
{
    (void)state;
    int sw = 768, sh = 512, f = 8;
    unsigned char *px = malloc((size_t)sw * sh * 3);
    assert_non_null(px);
    for (int y = 0; y < sh; y++)
        for (int x = 0; x < sw; x++)
            for (int c = 0; c < 3; c++)
                px[((size_t)y * sw + x) * 3 + c] = (unsigned char)round(smooth(x, y, c, sw, sh));
    size_t len;
    unsigned char *png =
        testutil_png(px, (size_t)sw * sh * 3, sw, sh, 2, 8, NULL, 0, NULL, 0, &len);
    char err[IMGPIPE_ERRLEN] = "";
    imgpipe_thumb_out out = {.width = sw / f, .height = sh / f};
    assert_int_equal(thumb(png, len, &out, 1, err), IMGPIPE_OK);
    int tw, th, ch, ct;
    unsigned char *t = testutil_png_decode(out.data.data, out.data.len, &tw, &th, &ch, &ct);
    double psnr = psnr_vs_area(t, tw, th, f, sw, sh);
    print_message("PNG thumbnail PSNR vs area average: %.2f dB\n", psnr);
    assert_true(psnr >= 35.0);
    free(t);
    free_outs(&out, 1);
    free(png);

    /* The JPEG path adds DCT scaling and two lossy codings: a looser bound. */
    unsigned char *jpeg = testutil_jpeg(px, sw, sh, 3, 95, &len);
    imgpipe_thumb_opts opts = {.quality = 95};
    out = (imgpipe_thumb_out){.width = sw / f, .height = sh / f};
    assert_int_equal(imgpipe_thumb_make(jpeg, len, &opts, &out, 1, err), IMGPIPE_OK);
    t = testutil_jpeg_decode(out.data.data, out.data.len, &tw, &th, &ch);
    psnr = psnr_vs_area(t, tw, th, f, sw, sh);
    print_message("JPEG thumbnail PSNR vs area average: %.2f dB\n", psnr);
    assert_true(psnr >= 30.0);
    free(t);
    free_outs(&out, 1);
    free(jpeg);
    free(px);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sniff_magics),
        cmocka_unit_test(test_sniff_short_buffers),
        cmocka_unit_test(test_geometry_fit_box),
        cmocka_unit_test(test_geometry_never_upscales),
        cmocka_unit_test(test_geometry_one_pixel_minimum),
        cmocka_unit_test(test_geometry_several_sizes),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_orientation_1),
        cmocka_unit_test(test_orientation_3),
        cmocka_unit_test(test_orientation_6),
        cmocka_unit_test(test_orientation_8),
        cmocka_unit_test(test_orientation_mirrors),
        cmocka_unit_test(test_orientation_out_of_range_is_ignored),
        cmocka_unit_test(test_gray_jpeg_stays_gray),
        cmocka_unit_test(test_png_rgba_keeps_alpha),
        cmocka_unit_test(test_png_16bit_scaled),
        cmocka_unit_test(test_png_palette_trns),
        cmocka_unit_test(test_png_gray_stays_gray),
        cmocka_unit_test(test_png_1bit_gray),
        cmocka_unit_test(test_png_exif_orientation),
        cmocka_unit_test(test_webp_exif_orientation),
        cmocka_unit_test(test_webp_exif_animated),
        cmocka_unit_test(test_webp_exif_chunk_sizes),
        cmocka_unit_test(test_webp_exif_bad_tiff),
        cmocka_unit_test(test_webp_exif_many_chunks),
        cmocka_unit_test(test_webp_exif_after_riff_end),
        cmocka_unit_test(test_max_pixels_before_decode),
        cmocka_unit_test(test_corrupt_jpeg),
        cmocka_unit_test(test_corrupt_png),
        cmocka_unit_test(test_truncated_jpeg_scan_is_rejected),
        cmocka_unit_test(test_jpeg_extraneous_bytes_pass),
        cmocka_unit_test(test_cmyk_jpeg_to_rgb),
        cmocka_unit_test(test_unsupported_formats),
        cmocka_unit_test(test_store_refuses_cut_image),
        cmocka_unit_test(test_threads_agree),
        cmocka_unit_test(test_quality_psnr),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
