/* Thumbnail quality against a reference, and the cases galleries hold: ICC profiles, 16-bit
 * and interlaced PNG, progressive JPEG, WebP (alpha, ICC), GIF (first frame, transparency,
 * interlace), files cut short. Each case is built here so that a wrong handling fails a
 * test. */
#include "image/codec.h"
#include "testutil.h"

#include <gif_lib.h>
#include <lcms2.h>
#include <math.h>
#include <spng.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>
#include <webp/decode.h>
#include <webp/encode.h>
#include <webp/mux.h>

static int thumb(const void *src, size_t len, int bw, int bh, imgpipe_thumb_out *out)
{
    char err[IMGPIPE_ERRLEN] = "";
    imgpipe_thumb_opts opts = {.quality = 95};
    *out = (imgpipe_thumb_out){.width = bw, .height = bh};
    int rc = imgpipe_thumb_make(src, len, &opts, out, 1, err);
    if (rc)
        print_message("thumbnail failed: %s\n", err);
    return rc;
}

/* ---- quality: PSNR against full-resolution decode + float Lanczos3 ---- */

/* Detail up to about a third of the thumbnail's Nyquist frequency plus content above it,
 * which a correct antialiasing filter removes (and an aliasing one folds back). The fine
 * detail and most of the variation are in luma, as in photos: strong chroma detail
 * measures the thumbnail's own 4:2:0 JPEG encode (36 dB at q95 on the reference image
 * itself), not the pipeline. */
static double pattern(int x, int y, int c, int w, int h)
{
    double fx = (double)x / w, fy = (double)y / h;
    double v =
        127.5 + 70.0 * sin(2 * M_PI * (fx * 4 + 2.0 * fy + c / 6.0)) * cos(2 * M_PI * fy * 5);
    v += 25.0 * sin(2 * M_PI * (fx * 40 + fy * 25));   /* fine, below thumbnail Nyquist */
    v += 20.0 * sin(2 * M_PI * (x * 0.23 + y * 0.19)); /* far above it: must vanish */
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

/* One axis of a double-precision Lanczos3 resize with the support scaled by the factor
 * (a textbook antialiased resampler, written independently of resize.c). */
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

/* Reference thumbnail (w x h x 3, doubles) of a sw x sh x 3 image. */
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
    free(src);
    free(mid);
    return out;
}

/* PSNR over all RGB samples. PSNR, not SSIM or butteraugli: it needs no library, is
 * what the reference implementations are compared with, and at 35 dB (RMS error under
 * 4.5 levels) it catches what a thumbnailer gets wrong: aliasing from a missing or narrow
 * antialiasing filter, a half-pixel shift, DCT scaling without headroom, swapped
 * channels, a wrong gamma or colour conversion. Checked: with DCT scaling to 1x the target
 * (no headroom) the JPEG cases drop to 33 dB, with a Lanczos1 kernel all cases to 31-33. */
static double psnr(const unsigned char *t, const double *ref, size_t n)
{
    double se = 0;
    for (size_t i = 0; i < n; i++) {
        double v = ref[i] < 0 ? 0 : ref[i] > 255 ? 255 : ref[i];
        se += (t[i] - v) * (t[i] - v);
    }
    double mse = se / n;
    return mse == 0 ? 99.0 : 10.0 * log10(255.0 * 255.0 / mse);
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

static void expect_psnr(const char *what, const unsigned char *full, int sw, int sh,
                        const unsigned char *t, int tw, int th)
{
    double *ref = reference(full, sw, sh, tw, th);
    double db = psnr(t, ref, (size_t)tw * th * 3);
    print_message("%s: %dx%d -> %dx%d, PSNR vs full decode + float Lanczos3: %.2f dB\n", what, sw,
                  sh, tw, th, db);
    assert_true(db >= 35.0);
    free(ref);
}

static void test_psnr_jpeg(void **state)
{
    (void)state;
    int sw = 2000, sh = 1500;
    unsigned char *px = pattern_rgb(sw, sh);
    size_t len;
    unsigned char *jpeg = testutil_jpeg(px, sw, sh, 3, 95, &len);
    /* The reference starts from the full-resolution decode: DCT scaling is on trial. */
    int fw, fh, fc;
    unsigned char *full = testutil_jpeg_decode(jpeg, len, &fw, &fh, &fc);
    imgpipe_thumb_out out;
    assert_int_equal(thumb(jpeg, len, 128, 128, &out), IMGPIPE_OK);
    int tw, th, tc;
    unsigned char *t = testutil_jpeg_decode(out.data.data, out.data.len, &tw, &th, &tc);
    assert_int_equal(tw, 128);
    assert_int_equal(th, 96);
    expect_psnr("JPEG", full, fw, fh, t, tw, th);
    free(t);
    free(full);
    imgpipe_buf_free(&out.data);
    free(jpeg);
    free(px);
}

static void test_psnr_png(void **state)
{
    (void)state;
    int sw = 1200, sh = 900;
    unsigned char *px = pattern_rgb(sw, sh);
    size_t len;
    unsigned char *png =
        testutil_png(px, (size_t)sw * sh * 3, sw, sh, 2, 8, NULL, 0, NULL, 0, &len);
    imgpipe_thumb_out out;
    assert_int_equal(thumb(png, len, 128, 128, &out), IMGPIPE_OK);
    int tw, th, tc, ct;
    unsigned char *t = testutil_png_decode(out.data.data, out.data.len, &tw, &th, &tc, &ct);
    assert_int_equal(tc, 3);
    expect_psnr("PNG", px, sw, sh, t, tw, th);
    free(t);
    imgpipe_buf_free(&out.data);
    free(png);
    free(px);
}

/* ---- ICC ---- */

/* A profile far from sRGB: wide (Rec. 2020-like) primaries and a linear tone curve. */
static void *odd_profile(cmsUInt32Number *len)
{
    cmsCIExyY white = {0.3127, 0.3290, 1.0};
    cmsCIExyYTRIPLE prim = {{0.708, 0.292, 1.0}, {0.170, 0.797, 1.0}, {0.131, 0.046, 1.0}};
    cmsToneCurve *lin = cmsBuildGamma(NULL, 1.0);
    cmsToneCurve *curves[3] = {lin, lin, lin};
    cmsHPROFILE p = cmsCreateRGBProfile(&white, &prim, curves);
    assert_non_null(p);
    assert_true(cmsSaveProfileToMem(p, NULL, len));
    void *mem = malloc(*len);
    assert_true(cmsSaveProfileToMem(p, mem, len));
    cmsCloseProfile(p);
    cmsFreeToneCurve(lin);
    return mem;
}

/* What a colour in the odd profile is in sRGB, by lcms2 directly. */
static void to_srgb(const void *icc, cmsUInt32Number len, const unsigned char in[3],
                    unsigned char out[3])
{
    cmsHPROFILE src = cmsOpenProfileFromMem(icc, len), dst = cmsCreate_sRGBProfile();
    cmsHTRANSFORM t = cmsCreateTransform(src, TYPE_RGB_8, dst, TYPE_RGB_8, INTENT_PERCEPTUAL, 0);
    assert_non_null(t);
    cmsDoTransform(t, in, out, 1);
    cmsDeleteTransform(t);
    cmsCloseProfile(src);
    cmsCloseProfile(dst);
}

static const unsigned char ICC_COLOUR[3] = {180, 90, 40};

static void expect_converted(const unsigned char *t, int n, const void *icc, cmsUInt32Number len,
                             int tol)
{
    unsigned char want[3];
    to_srgb(icc, len, ICC_COLOUR, want);
    /* The profile must matter, or the test could not tell. */
    assert_true(abs(want[0] - ICC_COLOUR[0]) + abs(want[1] - ICC_COLOUR[1]) +
                    abs(want[2] - ICC_COLOUR[2]) >
                40);
    for (int i = 0; i < n; i++)
        for (int c = 0; c < 3; c++)
            if (abs(t[i * 3 + c] - want[c]) > tol)
                fail_msg("pixel %d channel %d is %d, sRGB-converted %d (raw %d)", i, c,
                         t[i * 3 + c], want[c], ICC_COLOUR[c]);
}

static unsigned char *solid(int w, int h)
{
    unsigned char *px = malloc((size_t)w * h * 3);
    assert_non_null(px);
    for (int i = 0; i < w * h; i++)
        memcpy(px + (size_t)i * 3, ICC_COLOUR, 3);
    return px;
}

static void test_icc_jpeg(void **state)
{
    (void)state;
    cmsUInt32Number plen;
    unsigned char *icc = odd_profile(&plen);
    unsigned char *px = solid(64, 64);
    size_t len;
    unsigned char *jpeg = testutil_jpeg(px, 64, 64, 3, 100, &len);
    /* APP2 "ICC_PROFILE\0", chunk 1 of 1, right after SOI. */
    size_t seg = 2 + 12 + 2 + plen, out_len = len + 2 + seg;
    unsigned char *j = malloc(out_len);
    assert_non_null(j);
    memcpy(j, jpeg, 2);
    unsigned char *p = j + 2;
    *p++ = 0xFF, *p++ = 0xE2, *p++ = (unsigned char)(seg >> 8), *p++ = (unsigned char)seg;
    memcpy(p, "ICC_PROFILE", 12), p += 12;
    *p++ = 1, *p++ = 1;
    memcpy(p, icc, plen), p += plen;
    memcpy(p, jpeg + 2, len - 2);
    imgpipe_thumb_out out;
    assert_int_equal(thumb(j, out_len, 16, 16, &out), IMGPIPE_OK);
    int tw, th, tc;
    unsigned char *t = testutil_jpeg_decode(out.data.data, out.data.len, &tw, &th, &tc);
    expect_converted(t, tw * th, icc, plen, 4);
    free(t);
    imgpipe_buf_free(&out.data);
    free(j);
    free(jpeg);
    free(px);
    free(icc);
}

/* An 8-bit RGB PNG with an iCCP chunk, through libspng's encoder. */
static unsigned char *png_with_icc(const unsigned char *px, int w, int h, void *icc,
                                   cmsUInt32Number plen, size_t *len)
{
    spng_ctx *ctx = spng_ctx_new(SPNG_CTX_ENCODER);
    struct spng_ihdr ihdr = {.width = (uint32_t)w,
                             .height = (uint32_t)h,
                             .bit_depth = 8,
                             .color_type = SPNG_COLOR_TYPE_TRUECOLOR};
    struct spng_iccp iccp = {.profile_name = "odd", .profile_len = plen, .profile = icc};
    int e = 0;
    assert_int_equal(spng_set_option(ctx, SPNG_ENCODE_TO_BUFFER, 1), 0);
    assert_int_equal(spng_set_ihdr(ctx, &ihdr), 0);
    assert_int_equal(spng_set_iccp(ctx, &iccp), 0);
    assert_int_equal(
        spng_encode_image(ctx, px, (size_t)w * h * 3, SPNG_FMT_PNG, SPNG_ENCODE_FINALIZE), 0);
    unsigned char *png = spng_get_png_buffer(ctx, len, &e);
    assert_non_null(png);
    spng_ctx_free(ctx);
    return png;
}

static void test_icc_png(void **state)
{
    (void)state;
    cmsUInt32Number plen;
    unsigned char *icc = odd_profile(&plen);
    unsigned char *px = solid(64, 64);
    size_t len;
    unsigned char *png = png_with_icc(px, 64, 64, icc, plen, &len);
    imgpipe_thumb_out out;
    assert_int_equal(thumb(png, len, 16, 16, &out), IMGPIPE_OK);
    int tw, th, tc, ct;
    unsigned char *t = testutil_png_decode(out.data.data, out.data.len, &tw, &th, &tc, &ct);
    expect_converted(t, tw * th, icc, plen, 1);
    free(t);
    imgpipe_buf_free(&out.data);
    free(png);
    free(px);
    free(icc);
}

/* ---- PNG: 16-bit, interlaced ---- */

static void test_png_16bit_rounds(void **state)
{
    (void)state;
    int w = 32, h = 32;
    /* Truncation (the high byte) gives 255, 254, 128; scaling (v / 257) 254, 253, 128. */
    const uint16_t sample[3] = {0xFF00, 0xFE00, 0x8000};
    uint16_t *raw = malloc((size_t)w * h * 6);
    assert_non_null(raw);
    for (int i = 0; i < w * h; i++)
        memcpy(raw + (size_t)i * 3, sample, 6);
    size_t len;
    unsigned char *png = testutil_png(raw, (size_t)w * h * 6, w, h, 2, 16, NULL, 0, NULL, 0, &len);
    imgpipe_thumb_out out;
    assert_int_equal(thumb(png, len, 8, 8, &out), IMGPIPE_OK);
    int tw, th, tc, ct;
    unsigned char *t = testutil_png_decode(out.data.data, out.data.len, &tw, &th, &tc, &ct);
    for (int i = 0; i < tw * th; i++) {
        assert_int_equal(t[i * 3], 254);
        assert_int_equal(t[i * 3 + 1], 253);
        assert_int_equal(t[i * 3 + 2], 128);
    }
    free(t);
    imgpipe_buf_free(&out.data);
    free(png);
    free(raw);
}

static void test_png_interlaced(void **state)
{
    (void)state;
    int w = 600, h = 450;
    unsigned char *px = pattern_rgb(w, h);
    spng_ctx *ctx = spng_ctx_new(SPNG_CTX_ENCODER);
    struct spng_ihdr ihdr = {.width = (uint32_t)w,
                             .height = (uint32_t)h,
                             .bit_depth = 8,
                             .color_type = SPNG_COLOR_TYPE_TRUECOLOR,
                             .interlace_method = SPNG_INTERLACE_ADAM7};
    int e = 0;
    size_t len;
    assert_int_equal(spng_set_option(ctx, SPNG_ENCODE_TO_BUFFER, 1), 0);
    assert_int_equal(spng_set_ihdr(ctx, &ihdr), 0);
    int rc = spng_encode_image(ctx, px, (size_t)w * h * 3, SPNG_FMT_PNG, SPNG_ENCODE_FINALIZE);
    unsigned char *png = rc ? NULL : spng_get_png_buffer(ctx, &len, &e);
    spng_ctx_free(ctx);
    if (!png) {
        print_message("libspng cannot encode Adam7 here (%s): skipped\n", spng_strerror(rc));
        free(px);
        skip();
    }
    imgpipe_thumb_out out;
    assert_int_equal(thumb(png, len, 128, 128, &out), IMGPIPE_OK);
    int tw, th, tc, ct;
    unsigned char *t = testutil_png_decode(out.data.data, out.data.len, &tw, &th, &tc, &ct);
    expect_psnr("interlaced PNG", px, w, h, t, tw, th);
    free(t);
    imgpipe_buf_free(&out.data);
    free(png);
    free(px);
}

/* ---- progressive JPEG ---- */

static void test_jpeg_progressive(void **state)
{
    (void)state;
    int w = 1024, h = 768;
    unsigned char *px = pattern_rgb(w, h);
    tjhandle tj = tjInitCompress();
    unsigned char *jpeg = NULL;
    unsigned long len = 0;
    assert_int_equal(
        tjCompress2(tj, px, w, 0, h, TJPF_RGB, &jpeg, &len, TJSAMP_420, 95, TJFLAG_PROGRESSIVE), 0);
    tjDestroy(tj);
    int fw, fh, fc;
    unsigned char *full = testutil_jpeg_decode(jpeg, len, &fw, &fh, &fc);
    imgpipe_thumb_out out;
    assert_int_equal(thumb(jpeg, len, 128, 128, &out), IMGPIPE_OK);
    int tw, th, tc;
    unsigned char *t = testutil_jpeg_decode(out.data.data, out.data.len, &tw, &th, &tc);
    expect_psnr("progressive JPEG", full, fw, fh, t, tw, th);
    /* Cut inside its scans, it fails like a baseline one. */
    char err[IMGPIPE_ERRLEN] = "";
    imgpipe_thumb_out cut = {.width = 64, .height = 64};
    assert_int_equal(imgpipe_thumb_make(jpeg, len / 2, NULL, &cut, 1, err), IMGPIPE_ECORRUPT);
    assert_non_null(strstr(err, "truncated JPEG"));
    free(t);
    free(full);
    imgpipe_buf_free(&out.data);
    tjFree(jpeg);
    free(px);
}

/* ---- WebP ---- */

static void test_webp_alpha(void **state)
{
    (void)state;
    int w = 200, h = 100;
    unsigned char *px = malloc((size_t)w * h * 4);
    assert_non_null(px);
    /* Left half opaque green, right half fully transparent. */
    for (int i = 0; i < w * h; i++) {
        int left = i % w < w / 2;
        unsigned char v[4] = {0, left ? 200 : 0, 0, left ? 255 : 0};
        memcpy(px + (size_t)i * 4, v, 4);
    }
    uint8_t *webp;
    size_t len = WebPEncodeLosslessRGBA(px, w, h, w * 4, &webp);
    assert_true(len > 0);
    imgpipe_thumb_out out;
    assert_int_equal(thumb(webp, len, 50, 50, &out), IMGPIPE_OK);
    assert_string_equal(imgpipe_sniff_format(out.data.data, out.data.len), "webp");
    int tw, th;
    uint8_t *t = WebPDecodeRGBA(out.data.data, out.data.len, &tw, &th);
    assert_non_null(t);
    assert_int_equal(tw, 50);
    assert_int_equal(th, 25);
    const uint8_t *l = t + (12 * 50 + 5) * 4, *r = t + (12 * 50 + 45) * 4;
    assert_true(l[3] > 250 && l[1] > 170 && l[0] < 30);
    assert_true(r[3] < 5);
    WebPFree(t);
    WebPFree(webp);
    imgpipe_buf_free(&out.data);
    free(px);
}

/* A 60x40 animation: a red first frame, then blue. The thumbnail is the first frame. */
static void test_webp_animated_first_frame(void **state)
{
    (void)state;
    int w = 60, h = 40;
    WebPAnimEncoderOptions eo;
    assert_true(WebPAnimEncoderOptionsInit(&eo));
    WebPAnimEncoder *enc = WebPAnimEncoderNew(w, h, &eo);
    assert_non_null(enc);
    WebPConfig cfg;
    assert_true(WebPConfigInit(&cfg));
    cfg.lossless = 1;
    unsigned char *px = malloc((size_t)w * h * 4);
    assert_non_null(px);
    for (int f = 0; f < 2; f++) {
        for (int i = 0; i < w * h; i++) {
            unsigned char v[4] = {f ? 0 : 220, 0, f ? 220 : 0, 255};
            memcpy(px + (size_t)i * 4, v, 4);
        }
        WebPPicture pic;
        assert_true(WebPPictureInit(&pic));
        pic.width = w, pic.height = h, pic.use_argb = 1;
        assert_true(WebPPictureImportRGBA(&pic, px, w * 4));
        assert_true(WebPAnimEncoderAdd(enc, &pic, f * 100, &cfg));
        WebPPictureFree(&pic);
    }
    assert_true(WebPAnimEncoderAdd(enc, NULL, 200, NULL));
    WebPData data;
    WebPDataInit(&data);
    assert_true(WebPAnimEncoderAssemble(enc, &data));
    WebPAnimEncoderDelete(enc);
    imgpipe_thumb_out out;
    assert_int_equal(thumb(data.bytes, data.size, 30, 30, &out), IMGPIPE_OK);
    int tw, th;
    uint8_t *t = WebPDecodeRGBA(out.data.data, out.data.len, &tw, &th);
    assert_non_null(t);
    assert_int_equal(tw, 30);
    assert_int_equal(th, 20);
    const uint8_t *c = t + (10 * 30 + 15) * 4;
    assert_true(c[0] > 180 && c[2] < 40); /* red: frame 1, not frame 2's blue */
    WebPFree(t);
    WebPDataClear(&data);
    imgpipe_buf_free(&out.data);
    free(px);
}

/* ---- GIF ---- */

struct gif_out {
    unsigned char *p;
    size_t len;
};

static int gif_write(GifFileType *gif, const GifByteType *data, int n)
{
    struct gif_out *o = gif->UserData;
    o->p = realloc(o->p, o->len + (size_t)n);
    memcpy(o->p + o->len, data, (size_t)n);
    o->len += (size_t)n;
    return n;
}

/* A 40x20 two-frame animation: frame 1 is red with a transparent right half (interlaced
 * when asked), frame 2 all blue. */
static unsigned char *two_frame_gif(int interlace, size_t *len)
{
    struct gif_out o = {0};
    int e;
    GifFileType *g = EGifOpen(&o, gif_write, &e);
    assert_non_null(g);
    GifColorType colors[4] = {{255, 0, 0}, {0, 0, 255}, {0, 0, 0}, {0, 0, 0}};
    ColorMapObject *cm = GifMakeMapObject(4, colors);
    EGifSetGifVersion(g, true);
    assert_int_equal(EGifPutScreenDesc(g, 40, 20, 2, 0, cm), GIF_OK);
    for (int f = 0; f < 2; f++) {
        GraphicsControlBlock gcb = {.DisposalMode = DISPOSAL_UNSPECIFIED,
                                    .DelayTime = 10,
                                    .TransparentColor = f == 0 ? 2 : NO_TRANSPARENT_COLOR};
        GifByteType ext[4];
        EGifGCBToExtension(&gcb, ext);
        assert_int_equal(EGifPutExtension(g, GRAPHICS_EXT_FUNC_CODE, 4, ext), GIF_OK);
        assert_int_equal(EGifPutImageDesc(g, 0, 0, 40, 20, f == 0 && interlace, NULL), GIF_OK);
        /* Interlaced rows go in pass order; every row of a frame is the same here. */
        GifPixelType row[40];
        for (int x = 0; x < 40; x++)
            row[x] = (GifPixelType)(f == 1 ? 1 : x < 20 ? 0 : 2);
        for (int y = 0; y < 20; y++)
            assert_int_equal(EGifPutLine(g, row, 40), GIF_OK);
    }
    assert_int_equal(EGifCloseFile(g, &e), GIF_OK);
    GifFreeMapObject(cm);
    *len = o.len;
    return o.p;
}

static void expect_gif_first_frame(int interlace)
{
    size_t len;
    unsigned char *gif = two_frame_gif(interlace, &len);
    imgpipe_thumb_out out;
    assert_int_equal(thumb(gif, len, 20, 20, &out), IMGPIPE_OK);
    assert_string_equal(imgpipe_sniff_format(out.data.data, out.data.len), "png");
    int tw, th, tc, ct;
    unsigned char *t = testutil_png_decode(out.data.data, out.data.len, &tw, &th, &tc, &ct);
    assert_int_equal(tw, 20);
    assert_int_equal(th, 10);
    assert_int_equal(tc, 4);
    const unsigned char *l = t + (5 * 20 + 3) * 4, *r = t + (5 * 20 + 17) * 4;
    assert_true(l[0] > 250 && l[2] < 5 && l[3] == 255); /* red, frame 1, not frame 2's blue */
    assert_int_equal(r[3], 0);                          /* transparent */
    free(t);
    imgpipe_buf_free(&out.data);
    free(gif);
}

static void test_gif_first_frame(void **state)
{
    (void)state;
    expect_gif_first_frame(0);
}

static void test_gif_interlaced(void **state)
{
    (void)state;
    expect_gif_first_frame(1);
}

static void test_gif_truncated(void **state)
{
    (void)state;
    size_t len;
    unsigned char *gif = two_frame_gif(0, &len);
    char err[IMGPIPE_ERRLEN] = "";
    imgpipe_thumb_out out = {.width = 20, .height = 20};
    assert_int_equal(imgpipe_thumb_make(gif, 40, NULL, &out, 1, err), IMGPIPE_ECORRUPT);
    assert_non_null(strstr(err, "truncated GIF"));
    assert_null(out.data.data);
    free(gif);
}

/* A GIF's thumbnail is PNG data: its name ends in .png so viewers agree, after ".gif", so
 * that a.gif's and a.png's thumbnails never share a name. */
static void test_gif_thumbnail_name(void **state)
{
    (void)state;
    char name[64];
    imgpipe_thumb_size size = {64, 48};
    assert_int_equal(imgpipe_thumb_name("anim.gif", &size, 0, name, sizeof(name)), 0);
    assert_string_equal(name, "anim_thumbnail.gif.png");
    assert_int_equal(imgpipe_thumb_name("ANIM.GIF", &size, 1, name, sizeof(name)), 0);
    assert_string_equal(name, "ANIM_thumbnail_64x48.GIF.png");
    assert_true(imgpipe_is_thumb_name("anim_thumbnail.gif.png"));
    assert_true(imgpipe_is_thumb_name("ANIM_thumbnail_64x48.GIF.png"));
    assert_true(imgpipe_is_thumb_name("anim_thumbnail.png"));
    assert_false(imgpipe_is_thumb_name("anim.gif.png"));
    assert_false(imgpipe_is_thumb_name("a_thumbnail-1b2c3d4e.jpg"));
    assert_int_equal(imgpipe_thumb_name("pic.webp", &size, 0, name, sizeof(name)), 0);
    assert_string_equal(name, "pic_thumbnail.webp");
}

/* ---- the codec table's structure check: every cut is caught ---- */

/* The whole file passes; every shorter prefix that still sniffs as the format fails as
 * corrupt, through the codec's check and through the one check before storing; bytes
 * appended after a complete file (by cameras, editors) are allowed. */
static void expect_cuts_caught(const char *name, const unsigned char *img, size_t len)
{
    const struct imgpipe_codec *c = imgpipe_codec_by_name(name), *found = NULL;
    assert_non_null(c);
    assert_ptr_equal(imgpipe_codec_find(img, len), c);
    char err[IMGPIPE_ERRLEN] = "";
    struct imgpipe_image_info info;
    assert_int_equal(c->complete(img, len, err), IMGPIPE_OK);
    assert_int_equal(imgpipe_image_check(img, len, 0, &found, &info, err), IMGPIPE_OK);
    assert_ptr_equal(found, c);
    size_t checked = 0;
    for (size_t cut = 1; cut < len; cut++) {
        if (imgpipe_codec_find(img, cut) != c)
            continue;
        checked++;
        if (c->complete(img, cut, err) != IMGPIPE_ECORRUPT)
            fail_msg("%s cut to %zu of %zu bytes passes the structure check", name, cut, len);
        if (imgpipe_image_check(img, cut, 0, &found, &info, err) != IMGPIPE_ECORRUPT)
            fail_msg("%s cut to %zu of %zu bytes passes the image check", name, cut, len);
    }
    assert_true(checked > len / 2);
    unsigned char *tail = malloc(len + 16);
    assert_non_null(tail);
    memcpy(tail, img, len);
    memset(tail + len, 0x00, 16);
    assert_int_equal(c->complete(tail, len + 16, err), IMGPIPE_OK);
    free(tail);
}

static void test_complete_jpeg(void **state)
{
    (void)state;
    unsigned char *px = pattern_rgb(48, 32);
    size_t len;
    unsigned char *jpeg = testutil_jpeg(px, 48, 32, 3, 90, &len);
    expect_cuts_caught("jpeg", jpeg, len);
    char err[IMGPIPE_ERRLEN] = "";
    assert_int_equal(imgpipe_codec_jpeg.complete(jpeg, len - 1, err), IMGPIPE_ECORRUPT);
    assert_non_null(strstr(err, "truncated JPEG"));
    /* FF D9 inside the headers (an EXIF thumbnail's end) is not the image's end. */
    size_t elen;
    unsigned char *exif = testutil_jpeg_add_exif(jpeg, len, 6, 0, &elen);
    expect_cuts_caught("jpeg", exif, elen);
    free(exif);
    free(jpeg);
    free(px);
}

static void test_complete_png(void **state)
{
    (void)state;
    unsigned char *px = pattern_rgb(24, 16);
    size_t len;
    unsigned char *png = testutil_png(px, 24 * 16 * 3, 24, 16, 2, 8, NULL, 0, NULL, 0, &len);
    expect_cuts_caught("png", png, len);
    char err[IMGPIPE_ERRLEN] = "";
    /* A chunk length pointing past the end is caught even when IEND bytes follow. */
    png[8 + 1] = 0x10; /* IHDR: 13 bytes -> 1 MB */
    assert_int_equal(imgpipe_codec_png.complete(png, len, err), IMGPIPE_ECORRUPT);
    assert_non_null(strstr(err, "truncated PNG: chunk IHDR"));
    free(png);
    free(px);
}

static void test_complete_webp(void **state)
{
    (void)state;
    unsigned char *px = pattern_rgb(24, 16);
    uint8_t *webp = NULL;
    size_t len = WebPEncodeRGB(px, 24, 16, 24 * 3, 80, &webp);
    assert_true(len > 12);
    expect_cuts_caught("webp", webp, len);
    WebPFree(webp);
    free(px);
}

static void test_complete_gif(void **state)
{
    (void)state;
    for (int interlace = 0; interlace < 2; interlace++) {
        size_t len;
        unsigned char *gif = two_frame_gif(interlace, &len);
        assert_int_equal(gif[len - 1], 0x3B);
        /* The trailer byte must be where the blocks end, not anywhere: a 3B inside the
         * LZW data of a cut file does not count. */
        expect_cuts_caught("gif", gif, len);
        free(gif);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_psnr_jpeg),
        cmocka_unit_test(test_psnr_png),
        cmocka_unit_test(test_icc_jpeg),
        cmocka_unit_test(test_icc_png),
        cmocka_unit_test(test_png_16bit_rounds),
        cmocka_unit_test(test_png_interlaced),
        cmocka_unit_test(test_jpeg_progressive),
        cmocka_unit_test(test_webp_alpha),
        cmocka_unit_test(test_webp_animated_first_frame),
        cmocka_unit_test(test_gif_first_frame),
        cmocka_unit_test(test_gif_interlaced),
        cmocka_unit_test(test_gif_truncated),
        cmocka_unit_test(test_gif_thumbnail_name),
        cmocka_unit_test(test_complete_jpeg),
        cmocka_unit_test(test_complete_png),
        cmocka_unit_test(test_complete_webp),
        cmocka_unit_test(test_complete_gif),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    imgpipe_engine_release(); /* the main thread's engine: no thread exit frees it */
    return rc;
}
