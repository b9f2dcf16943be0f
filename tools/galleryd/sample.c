/* The built-in sample gallery: deterministic photo-like images (gradients, soft discs,
 * mild noise) so tests need no corpus on disk. Sizes are kept modest because tests start
 * galleryd many times and generation must stay well under a second. */
#include "galleryd.h"

#include <math.h>
#include <spng.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>
#include <zlib.h>
#include <time.h>

struct pixmap {
    unsigned char *px;
    int w, h, ch; /* ch: 3 (RGB) or 4 (RGBA) */
};

static uint32_t rnd(uint32_t *s)
{
    /* xorshift32: fixed seeds give the same gallery on every run. */
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static float rndf(uint32_t *s)
{
    return (float)(rnd(s) & 0xffff) / 65535.0f;
}

static unsigned char clamp8(float v)
{
    return v < 0 ? 0 : v > 255 ? 255 : (unsigned char)v;
}

/* Two-colour horizontal gradient fading towards a third colour at the bottom, like sky
 * over ground, with luma noise; RGBA images get an alpha ramp from left to right. The
 * horizontal part is tabulated once per image: this loop is most of the generation time. */
static int paint_background(struct pixmap *pm, uint32_t *seed)
{
    float a[3], b[3], c[3];
    for (int k = 0; k < 3; k++) {
        a[k] = 40 + 200 * rndf(seed);
        b[k] = 40 + 200 * rndf(seed);
        c[k] = 20 + 120 * rndf(seed);
    }
    float *across = malloc((size_t)pm->w * 3 * sizeof *across);
    if (!across)
        return -1;
    for (int x = 0; x < pm->w; x++)
        for (int k = 0; k < 3; k++)
            across[x * 3 + k] = a[k] + (b[k] - a[k]) * (float)x / (float)pm->w;
    for (int y = 0; y < pm->h; y++) {
        float ty = 0.5f * (float)y / (float)pm->h;
        float down[3] = {c[0] * ty, c[1] * ty, c[2] * ty};
        unsigned char *p = pm->px + (size_t)y * (size_t)pm->w * (size_t)pm->ch;
        for (int x = 0; x < pm->w; x++, p += pm->ch) {
            float noise = (float)(int)(rnd(seed) & 15) - 7.5f;
            for (int k = 0; k < 3; k++)
                p[k] = clamp8(across[x * 3 + k] * (1 - ty) + down[k] + noise);
            if (pm->ch == 4)
                p[3] = (unsigned char)(255 - 225 * x / pm->w);
        }
    }
    free(across);
    return 0;
}

/* A disc with a smooth edge, blended over what is there; only its bounding box is
 * visited, which keeps generation cheap. */
static void paint_disc(struct pixmap *pm, uint32_t *seed)
{
    int lo = pm->w < pm->h ? pm->w : pm->h;
    float r = (0.08f + 0.25f * rndf(seed)) * (float)lo, soft = r * 0.4f;
    float cx = rndf(seed) * (float)pm->w, cy = rndf(seed) * (float)pm->h;
    float col[3] = {255 * rndf(seed), 255 * rndf(seed), 255 * rndf(seed)};
    int x0 = (int)fmaxf(0, cx - r), x1 = (int)fminf((float)pm->w, cx + r);
    int y0 = (int)fmaxf(0, cy - r), y1 = (int)fminf((float)pm->h, cy + r);
    for (int y = y0; y < y1; y++) {
        for (int x = x0; x < x1; x++) {
            float dx = (float)x - cx, dy = (float)y - cy, d2 = dx * dx + dy * dy;
            if (d2 >= r * r)
                continue;
            float t = fminf(1, (r - sqrtf(d2)) / soft);
            float alpha = 0.7f * t * t * (3 - 2 * t); /* smoothstep */
            unsigned char *p = pm->px + ((size_t)y * (size_t)pm->w + (size_t)x) * (size_t)pm->ch;
            for (int k = 0; k < 3; k++)
                p[k] = clamp8((float)p[k] + (col[k] - (float)p[k]) * alpha);
        }
    }
}

static int encode_jpeg(const struct pixmap *pm, int quality, unsigned char **out, size_t *size)
{
    tjhandle tj = tjInitCompress();
    unsigned char *jpeg = NULL;
    unsigned long len = 0;
    int rc = -1;
    if (tj && tjCompress2(tj, pm->px, pm->w, 0, pm->h, TJPF_RGB, &jpeg, &len, TJSAMP_420, quality,
                          TJFLAG_FASTDCT) == 0) {
        /* Copy into malloc'd memory so every image is freed the same way. */
        *out = malloc(len);
        if (*out) {
            memcpy(*out, jpeg, len);
            *size = len;
            rc = 0;
        }
    }
    if (rc != 0)
        fprintf(stderr, "galleryd: JPEG encoding failed: %s\n", tjGetErrorStr2(tj));
    tjFree(jpeg);
    if (tj)
        tjDestroy(tj);
    return rc;
}

static int encode_png(const struct pixmap *pm, unsigned char **out, size_t *size)
{
    spng_ctx *ctx = spng_ctx_new(SPNG_CTX_ENCODER);
    struct spng_ihdr ihdr = {.width = (uint32_t)pm->w,
                             .height = (uint32_t)pm->h,
                             .bit_depth = 8,
                             .color_type = pm->ch == 4 ? SPNG_COLOR_TYPE_TRUECOLOR_ALPHA
                                                       : SPNG_COLOR_TYPE_TRUECOLOR};
    int err = ctx ? 0 : SPNG_EMEM;
    if (!err)
        err = spng_set_option(ctx, SPNG_ENCODE_TO_BUFFER, 1);
    /* Fast settings: the noise makes deflate matching pointless, and PNG encoding would
     * otherwise dominate start-up time. */
    if (!err)
        err = spng_set_option(ctx, SPNG_IMG_COMPRESSION_LEVEL, 1);
    if (!err)
        err = spng_set_option(ctx, SPNG_FILTER_CHOICE, SPNG_FILTER_CHOICE_SUB);
    if (!err)
        err = spng_set_option(ctx, SPNG_IMG_COMPRESSION_STRATEGY, Z_HUFFMAN_ONLY);
    if (!err)
        err = spng_set_ihdr(ctx, &ihdr);
    size_t len = (size_t)pm->w * (size_t)pm->h * (size_t)pm->ch;
    if (!err)
        err = spng_encode_image(ctx, pm->px, len, SPNG_FMT_PNG, SPNG_ENCODE_FINALIZE);
    if (!err)
        *out = spng_get_png_buffer(ctx, size, &err); /* ours now, free() it */
    if (err)
        fprintf(stderr, "galleryd: PNG encoding failed: %s\n", spng_strerror(err));
    spng_ctx_free(ctx);
    return err ? -1 : 0;
}

/* Long side and aspect ratio cycle with different periods (7, 6) so sizes and orientations
 * mix.
 * PNGs stay at or under 800 px: zlib is far slower than the JPEG encoder. */
static void pick_size(size_t i, int png, int *w, int *h)
{
    static const int longs[] = {320, 480, 640, 800, 960, 1200, 1600};
    static const float aspects[] = {4.f / 3, 3.f / 4, 16.f / 9, 2.f / 3, 3.f / 2, 1.f};
    int l = longs[(i * 3) % 7];
    if (png && l > 800)
        l = 800;
    float a = aspects[(i * 5) % 6];
    *w = a >= 1 ? l : (int)((float)l * a);
    *h = a >= 1 ? (int)((float)l / a) : l;
}

static int make_image(struct gd_image *im, size_t i)
{
    int png = i % 4 == 3; /* about a quarter PNG, as in the benchmark corpus */
    int rgba = png && i % 8 == 7;
    struct pixmap pm = {.ch = rgba ? 4 : 3};
    pick_size(i, png, &pm.w, &pm.h);
    pm.px = malloc((size_t)pm.w * (size_t)pm.h * (size_t)pm.ch);
    char name[32];
    snprintf(name, sizeof name, "img%04zu.%s", i, png ? "png" : "jpg");
    im->name = strdup(name);
    if (!pm.px || !im->name) {
        free(pm.px);
        fprintf(stderr, "galleryd: out of memory\n");
        return -1;
    }
    uint32_t seed = 0x9E3779B9u * (uint32_t)(i + 1) | 1;
    if (paint_background(&pm, &seed) != 0) {
        free(pm.px);
        return -1;
    }
    int discs = 2 + (int)(rnd(&seed) % 4);
    for (int k = 0; k < discs; k++)
        paint_disc(&pm, &seed);
    int rc = png ? encode_png(&pm, &im->data, &im->size)
                 : encode_jpeg(&pm, 85 + (int)(i % 8), &im->data, &im->size);
    im->width = pm.w;
    im->height = pm.h;
    free(pm.px);
    return rc;
}

int gd_gallery_generate(struct gd_gallery *g, size_t count)
{
    g->images = calloc(count ? count : 1, sizeof *g->images);
    if (!g->images)
        return -1;
    for (size_t i = 0; i < count; i++) {
        if (make_image(&g->images[i], i) != 0) {
            g->count = i + 1; /* so gd_gallery_free releases the partial one too */
            return -1;
        }
    }
    g->count = count;
    return 0;
}

int gd_fixed_png(unsigned char **out, size_t *size)
{
    unsigned char px[30][40][3];
    for (int y = 0; y < 30; y++)
        for (int x = 0; x < 40; x++) {
            px[y][x][0] = (unsigned char)(x * 6);
            px[y][x][1] = (unsigned char)(y * 8);
            px[y][x][2] = 160;
        }
    struct pixmap pm = {.px = &px[0][0][0], .w = 40, .h = 30, .ch = 3};
    return encode_png(&pm, out, size);
}

/* A flat grey PNG of any size, e.g. the stand-in for Imgur's removed.png placeholder. */
int gd_grey_png(int w, int h, unsigned char **out, size_t *size)
{
    struct pixmap pm = {.w = w, .h = h, .ch = 3};
    pm.px = malloc((size_t)w * (size_t)h * 3);
    if (!pm.px)
        return -1;
    memset(pm.px, 0xB0, (size_t)w * (size_t)h * 3);
    int rc = encode_png(&pm, out, size);
    free(pm.px);
    return rc;
}
