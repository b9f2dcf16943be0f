/* Antialiased separable downscaling: Lanczos3 with its support widened by the reduction
 * factor (as Pillow and libvips do), float weights precomputed per output column and row,
 * edges clamped, alpha premultiplied while filtering; factors of 4x and more first
 * box-average down to 2..4x the target. */
#include "image.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define LANCZOS_A 3.0

/* Weights for one axis: output i reads taps n[i] input samples from first[i], with
 * weights w[i * ksize ...]. */
struct taps {
    int ksize;
    int *first;
    int *n;
    float *w;
    double *scratch; /* ksize accumulators while computing one output's weights */
};

static double sinc(double x)
{
    if (x == 0.0)
        return 1.0;
    x *= M_PI;
    return sin(x) / x;
}

static double lanczos3(double x)
{
    if (x <= -LANCZOS_A || x >= LANCZOS_A)
        return 0.0;
    return sinc(x) * sinc(x / LANCZOS_A);
}

static void taps_free(struct taps *t)
{
    free(t->first);
    free(t->n);
    free(t->w);
    free(t->scratch);
    t->first = t->n = NULL;
    t->w = NULL;
    t->scratch = NULL;
}

/* Taps for one output sample centred at `center` in input coordinates. Taps that fall
 * outside the input are folded onto the edge sample (clamp-to-edge). */
static void one_output(struct taps *t, int i, int in, double center, double fscale, double support)
{
    int lo = (int)floor(center - support), hi = (int)ceil(center + support);
    int first = lo < 0 ? 0 : lo, last = hi > in - 1 ? in - 1 : hi;
    float *w = t->w + (size_t)i * t->ksize;
    double *acc = t->scratch, sum = 0.0;
    for (int k = 0; k <= last - first; k++)
        acc[k] = 0.0;
    for (int j = lo; j <= hi; j++) {
        double v = lanczos3((j + 0.5 - center) / fscale);
        int jj = j < 0 ? 0 : j > in - 1 ? in - 1 : j;
        acc[jj - first] += v;
        sum += v;
    }
    if (sum == 0.0)
        sum = 1.0;
    for (int k = 0; k <= last - first; k++)
        w[k] = (float)(acc[k] / sum);
    t->first[i] = first;
    t->n[i] = last - first + 1;
}

/* Taps from `in` samples spanning `extent` input units (extent < in when the last sample
 * of a box-reduced axis averages a partial block) to `out` samples. */
static int taps_make(struct taps *t, int in, double extent, int out)
{
    double scale = extent / out;
    double fscale = scale > 1.0 ? scale : 1.0;
    double support = LANCZOS_A * fscale;
    t->ksize = (int)ceil(support) * 2 + 3;
    t->first = malloc(sizeof(int) * (size_t)out);
    t->n = malloc(sizeof(int) * (size_t)out);
    t->w = malloc(sizeof(float) * (size_t)out * t->ksize);
    t->scratch = malloc(sizeof(double) * t->ksize);
    if (!t->first || !t->n || !t->w || !t->scratch) {
        taps_free(t);
        return IMGPIPE_ENOMEM;
    }
    for (int i = 0; i < out; i++)
        one_output(t, i, in, (i + 0.5) * scale, fscale, support);
    return IMGPIPE_OK;
}

/* Adds one source row, summed over blocks of rx pixels, into d; colour is premultiplied
 * by alpha (alpha kept 0..255). One function per channel count, as for the passes below;
 * with an even count the last channel is alpha. */
#define ADD_ROW(NAME, CH)                                                                          \
    static void NAME(const unsigned char *s, float *d, int width, int rx)                          \
    {                                                                                              \
        const int alpha = CH % 2 == 0;                                                             \
        for (int x0 = 0; x0 < width; x0 += rx, d += CH) {                                          \
            int x1 = x0 + rx < width ? x0 + rx : width;                                            \
            /* Integer sums: a float add chain was latency-bound at ~4 cycles a pixel. */          \
            uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;                                               \
            for (int x = x0; x < x1; x++, s += CH) {                                               \
                unsigned m = alpha ? s[CH - 1] : 1;                                                \
                a0 += s[0] * m;                                                                    \
                if (CH >= 3)                                                                       \
                    a1 += s[CH >= 3 ? 1 : 0] * m, a2 += s[CH >= 3 ? 2 : 0] * m;                    \
                if (alpha)                                                                         \
                    a3 += s[CH - 1];                                                               \
            }                                                                                      \
            const float k = alpha ? 1.0f / 255.0f : 1.0f; /* undo the 0..255 alpha scale */        \
            d[0] += (float)a0 * k;                                                                 \
            if (CH >= 3)                                                                           \
                d[CH >= 3 ? 1 : 0] += (float)a1 * k, d[CH >= 3 ? 2 : 0] += (float)a2 * k;          \
            if (alpha)                                                                             \
                d[CH - 1] += (float)a3;                                                            \
        }                                                                                          \
    }

ADD_ROW(add_row1, 1)
ADD_ROW(add_row2, 2)
ADD_ROW(add_row3, 3)
ADD_ROW(add_row4, 4)

/* Reduced row yr: the average of each rx x ry block of the source, premultiplied. With
 * rx = ry = 1 it is a plain conversion to float. */
static void reduce_row(const struct imgpipe_image *src, int yr, int rx, int ry, int rw, float *out)
{
    int ch = src->channels;
    int y0 = yr * ry, y1 = y0 + ry < src->height ? y0 + ry : src->height;
    memset(out, 0, sizeof(float) * (size_t)rw * ch);
    for (int y = y0; y < y1; y++) {
        const unsigned char *s = src->pixels + (size_t)y * src->stride;
        if (ch == 1)
            add_row1(s, out, src->width, rx);
        else if (ch == 2)
            add_row2(s, out, src->width, rx);
        else if (ch == 3)
            add_row3(s, out, src->width, rx);
        else
            add_row4(s, out, src->width, rx);
    }
    if (rx == 1 && ry == 1)
        return;
    for (int xr = 0; xr < rw; xr++) {
        int bw = src->width - xr * rx < rx ? src->width - xr * rx : rx;
        float inv = 1.0f / (float)(bw * (y1 - y0));
        for (int c = 0; c < ch; c++)
            out[(size_t)xr * ch + c] *= inv;
    }
}

/* Horizontal pass over one row, one function per channel count so the accumulators live
 * in registers (a generic acc[c] loop kept them in memory and ran 5x slower). */
#define HPASS(NAME, CH)                                                                            \
    static void NAME(const float *in, float *out, const struct taps *t, int width)                 \
    {                                                                                              \
        for (int x = 0; x < width; x++, out += CH) {                                               \
            const float *w = t->w + (size_t)x * t->ksize;                                          \
            const float *s = in + (size_t)t->first[x] * CH;                                        \
            float a0 = 0, a1 = 0, a2 = 0, a3 = 0;                                                  \
            for (int k = 0; k < t->n[x]; k++, s += CH) {                                           \
                a0 += w[k] * s[0];                                                                 \
                if (CH > 1)                                                                        \
                    a1 += w[k] * s[CH > 1 ? 1 : 0];                                                \
                if (CH > 2)                                                                        \
                    a2 += w[k] * s[CH > 2 ? 2 : 0];                                                \
                if (CH > 3)                                                                        \
                    a3 += w[k] * s[CH > 3 ? 3 : 0];                                                \
            }                                                                                      \
            const float a[4] = {a0, a1, a2, a3};                                                   \
            for (int c = 0; c < CH; c++)                                                           \
                out[c] = a[c];                                                                     \
        }                                                                                          \
    }

HPASS(hpass1, 1)
HPASS(hpass2, 2)
HPASS(hpass3, 3)
HPASS(hpass4, 4)

static void hpass(const float *in, float *out, const struct taps *t, int width, int ch)
{
    switch (ch) {
    case 1:
        hpass1(in, out, t, width);
        break;
    case 2:
        hpass2(in, out, t, width);
        break;
    case 3:
        hpass3(in, out, t, width);
        break;
    default:
        hpass4(in, out, t, width);
        break;
    }
}

static unsigned char to_u8(float v)
{
    if (v <= 0.0f)
        return 0;
    if (v >= 255.0f)
        return 255;
    return (unsigned char)(v + 0.5f);
}

/* Writes one output row from premultiplied floats, undoing the premultiplication. */
static void row_to_u8(const float *s, unsigned char *d, int width, int ch)
{
    int alpha = ch == 2 || ch == 4;
    if (!alpha) {
        for (int i = 0; i < width * ch; i++)
            d[i] = to_u8(s[i]);
        return;
    }
    for (int x = 0; x < width; x++, s += ch, d += ch) {
        unsigned char a = to_u8(s[ch - 1]);
        float inv = a ? 255.0f / s[ch - 1] : 0.0f;
        for (int c = 0; c < ch - 1; c++)
            d[c] = a ? to_u8(s[c] * inv) : 0;
        d[ch - 1] = a;
    }
}

/* Vertical pass: each output row is a weighted sum of rows of the intermediate image. */
static void vpass(const float *mid, float *acc, const struct taps *t, int y, size_t row_len)
{
    const float *w = t->w + (size_t)y * t->ksize;
    const float *r = mid + (size_t)t->first[y] * row_len;
    memset(acc, 0, sizeof(float) * row_len);
    for (int k = 0; k < t->n[y]; k++, r += row_len) {
        float wk = w[k];
        for (size_t i = 0; i < row_len; i++)
            acc[i] += wk * r[i];
    }
}

/* Box pre-reduction: for large factors the source is first averaged over rx x ry blocks,
 * leaving at least REDUCE_GAP x for Lanczos. This is the trade JPEG DCT scaling makes and
 * Pillow's thumbnail() makes (reducing_gap=2.0); it cuts the filter cost by rx * ry. */
#define REDUCE_GAP 2

struct plan {
    int rx, ry; /* box sizes */
    int rw, rh; /* reduced size */
};

static struct plan plan_for(const struct imgpipe_image *src, int width, int height)
{
    struct plan p;
    p.rx = src->width / width / REDUCE_GAP;
    p.ry = src->height / height / REDUCE_GAP;
    p.rx = p.rx > 1 ? p.rx : 1;
    p.ry = p.ry > 1 ? p.ry : 1;
    p.rw = (src->width + p.rx - 1) / p.rx;
    p.rh = (src->height + p.ry - 1) / p.ry;
    return p;
}

static void run(const struct imgpipe_image *src, struct imgpipe_image *dst, const struct plan *p,
                const struct taps *tx, const struct taps *ty, float *row, float *mid)
{
    int ch = src->channels;
    size_t mid_len = (size_t)dst->width * ch;
    for (int y = 0; y < p->rh; y++) {
        reduce_row(src, y, p->rx, p->ry, p->rw, row);
        hpass(row, mid + (size_t)y * mid_len, tx, dst->width, ch);
    }
    /* The row buffer is at least as long as an output row: reuse it. */
    for (int y = 0; y < dst->height; y++) {
        vpass(mid, row, ty, y, mid_len);
        row_to_u8(row, dst->pixels + (size_t)y * dst->stride, dst->width, ch);
    }
}

static void copy(const struct imgpipe_image *src, struct imgpipe_image *dst)
{
    for (int y = 0; y < dst->height; y++)
        memcpy(dst->pixels + (size_t)y * dst->stride, src->pixels + (size_t)y * src->stride,
               (size_t)dst->width * src->channels);
}

int imgpipe_resize(const struct imgpipe_image *src, int width, int height,
                   struct imgpipe_image *dst)
{
    if (width <= 0 || height <= 0 || src->width <= 0 || src->height <= 0)
        return IMGPIPE_EINVAL;
    int rc = imgpipe_image_alloc(dst, width, height, src->channels);
    if (rc)
        return rc;
    if (width == src->width && height == src->height) {
        copy(src, dst);
        return IMGPIPE_OK;
    }
    int ch = src->channels;
    struct plan p = plan_for(src, width, height);
    size_t row_len = (size_t)(p.rw > width ? p.rw : width) * ch;
    struct taps tx = {0}, ty = {0};
    float *row = malloc(sizeof(float) * row_len);
    float *mid = malloc(sizeof(float) * (size_t)width * ch * p.rh);
    if (row && mid && taps_make(&tx, p.rw, (double)src->width / p.rx, width) == 0 &&
        taps_make(&ty, p.rh, (double)src->height / p.ry, height) == 0)
        run(src, dst, &p, &tx, &ty, row, mid);
    else
        rc = IMGPIPE_ENOMEM;
    taps_free(&tx);
    taps_free(&ty);
    free(row);
    free(mid);
    if (rc)
        imgpipe_image_free(dst);
    return rc;
}
