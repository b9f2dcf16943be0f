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
    if (x == 0.0) return 1.0;
    x *= M_PI;
    return sin(x) / x;
}

static double lanczos3(double x)
{
    if (x <= -LANCZOS_A || x >= LANCZOS_A) return 0.0;
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
    if (sum == 0.0) sum = 1.0;
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

/* Floats per pixel in the intermediate rows: RGB is padded to 4 so that a pixel is one
 * 4-lane vector in the filter loops below. */
static int lanes_for(int ch)
{
    return ch == 3 ? 4 : ch;
}

/* Four floats, one SSE/NEON register (a GNU C extension gcc and clang share). */
typedef float v4f __attribute__((vector_size(16)));

static v4f load4(const float *p)
{
    v4f v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static void store4(float *p, v4f v)
{
    memcpy(p, &v, sizeof(v));
}

/* Source row y as floats, colour premultiplied by alpha (alpha kept 0..255). */
static void convert_row(const struct imgpipe_image *src, int y, float *out)
{
    const unsigned char *s = src->pixels + (size_t)y * src->stride;
    int ch = src->channels, w = src->width;
    if (ch == 1) {
        for (int x = 0; x < w; x++)
            out[x] = s[x];
    } else if (ch == 3) {
        for (int x = 0; x < w; x++, s += 3, out += 4)
            out[0] = s[0], out[1] = s[1], out[2] = s[2], out[3] = 0.0f;
    } else {
        for (int x = 0; x < w; x++, s += ch, out += ch) {
            float a = s[ch - 1], k = a * (1.0f / 255.0f);
            for (int c = 0; c < ch - 1; c++)
                out[c] = s[c] * k;
            out[ch - 1] = a;
        }
    }
}

/* Adds rows y0..y1-1 into acc, one integer sum per sample, colour premultiplied by alpha:
 * straight loops over whole rows, which the compiler vectorises (summing block by block
 * per row was the resize's main cost on large PNGs). */
static void sum_rows(const struct imgpipe_image *src, int y0, int y1, uint32_t *acc)
{
    int ch = src->channels;
    size_t n = (size_t)src->width * ch;
    memset(acc, 0, sizeof(*acc) * n);
    for (int y = y0; y < y1; y++) {
        const unsigned char *s = src->pixels + (size_t)y * src->stride;
        if (ch == 1 || ch == 3) {
            for (size_t i = 0; i < n; i++)
                acc[i] += s[i];
        } else if (ch == 2) {
            for (size_t i = 0; i < n; i += 2)
                acc[i] += (uint32_t)s[i] * s[i + 1], acc[i + 1] += s[i + 1];
        } else {
            for (size_t i = 0; i < n; i += 4) {
                uint32_t a = s[i + 3];
                acc[i] += s[i] * a, acc[i + 1] += s[i + 1] * a, acc[i + 2] += s[i + 2] * a;
                acc[i + 3] += a;
            }
        }
    }
}

/* Reduced row yr: the average of each rx x ry block of the source, premultiplied, in
 * lanes_for(ch) floats per pixel. */
static void reduce_row(const struct imgpipe_image *src, int yr, int rx, int ry, int rw,
                       uint32_t *acc, float *out)
{
    int ch = src->channels, lanes = lanes_for(ch), alpha = ch % 2 == 0;
    int y0 = yr * ry, y1 = y0 + ry < src->height ? y0 + ry : src->height;
    if (rx == 1 && ry == 1) {
        convert_row(src, y0, out);
        return;
    }
    sum_rows(src, y0, y1, acc);
    for (int xr = 0; xr < rw; xr++, out += lanes) {
        int x0 = xr * rx, x1 = x0 + rx < src->width ? x0 + rx : src->width;
        uint64_t sum[4] = {0, 0, 0, 0};
        for (const uint32_t *a = acc + (size_t)x0 * ch; a < acc + (size_t)x1 * ch; a += ch)
            for (int c = 0; c < ch; c++)
                sum[c] += a[c];
        float inv = 1.0f / (float)((x1 - x0) * (y1 - y0));
        for (int c = 0; c < lanes; c++) /* undo the 0..255 alpha scale of premultiplied colour */
            out[c] = c >= ch ? 0.0f : (float)sum[c] * inv * (alpha && c < ch - 1 ? 1.0f / 255 : 1);
    }
}

/* Horizontal pass over one row. Four lanes: one vector multiply-add per tap, into four
 * accumulators, as one chain of adds waited ~4 cycles a tap on the previous sum. */
static void hpass4(const float *in, float *out, const struct taps *t, int width)
{
    for (int x = 0; x < width; x++, out += 4) {
        const float *w = t->w + (size_t)x * t->ksize;
        const float *s = in + (size_t)t->first[x] * 4;
        v4f a0 = {0, 0, 0, 0}, a1 = a0, a2 = a0, a3 = a0;
        int n = t->n[x], k = 0;
        for (; k + 4 <= n; k += 4, s += 16) {
            a0 += w[k] * load4(s);
            a1 += w[k + 1] * load4(s + 4);
            a2 += w[k + 2] * load4(s + 8);
            a3 += w[k + 3] * load4(s + 12);
        }
        for (; k < n; k++, s += 4)
            a0 += w[k] * load4(s);
        store4(out, (a0 + a1) + (a2 + a3));
    }
}

/* One and two lanes (gray, gray+alpha): scalar accumulators in registers. */
static void hpass_narrow(const float *in, float *out, const struct taps *t, int width, int ch)
{
    for (int x = 0; x < width; x++, out += ch) {
        const float *w = t->w + (size_t)x * t->ksize;
        const float *s = in + (size_t)t->first[x] * ch;
        float a0 = 0, a1 = 0;
        for (int k = 0; k < t->n[x]; k++, s += ch) {
            a0 += w[k] * s[0];
            if (ch == 2) a1 += w[k] * s[1];
        }
        out[0] = a0;
        if (ch == 2) out[1] = a1;
    }
}

static unsigned char to_u8(float v)
{
    if (v <= 0.0f) return 0;
    if (v >= 255.0f) return 255;
    return (unsigned char)(v + 0.5f);
}

/* Writes one output row from premultiplied floats (lanes per pixel), undoing the
 * premultiplication. */
static void row_to_u8(const float *s, unsigned char *d, int width, int ch)
{
    int lanes = lanes_for(ch);
    if (ch == 1 || ch == 3) {
        for (int x = 0; x < width; x++, s += lanes, d += ch)
            for (int c = 0; c < ch; c++)
                d[c] = to_u8(s[c]);
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

/* Vertical pass: each output row is a weighted sum of rows of the intermediate image
 * (row_len is a multiple of 4 floats: see run). */
static void vpass(const float *mid, float *acc, const struct taps *t, int y, size_t row_len)
{
    const float *w = t->w + (size_t)y * t->ksize;
    const float *r = mid + (size_t)t->first[y] * row_len;
    memset(acc, 0, sizeof(float) * row_len);
    for (int k = 0; k < t->n[y]; k++, r += row_len) {
        float wk = w[k];
        for (size_t i = 0; i < row_len; i += 4)
            store4(acc + i, load4(acc + i) + wk * load4(r + i));
    }
}

/* Box pre-reduction: for large factors the source is first averaged over rx x ry blocks,
 * leaving at least REDUCE_GAP x for Lanczos. This is the trade JPEG DCT scaling makes and
 * Pillow's thumbnail() makes (reducing_gap=2.0); it cuts the filter cost by rx * ry. */
#define REDUCE_GAP 2
/* Integer block sums: ry rows of 255 * 255 must fit in 32 bits. */
#define REDUCE_MAX_ROWS 65536

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
    p.ry = p.ry > 1 ? p.ry < REDUCE_MAX_ROWS ? p.ry : REDUCE_MAX_ROWS : 1;
    p.rw = (src->width + p.rx - 1) / p.rx;
    p.rh = (src->height + p.ry - 1) / p.ry;
    return p;
}

struct bufs {
    float *row, *mid;
    uint32_t *acc;
    size_t mid_len; /* floats per intermediate row, a multiple of 4 */
};

static void run(const struct imgpipe_image *src, struct imgpipe_image *dst, const struct plan *p,
                const struct taps *tx, const struct taps *ty, const struct bufs *b)
{
    int ch = src->channels, lanes = lanes_for(ch);
    for (int y = 0; y < p->rh; y++) {
        float *m = b->mid + (size_t)y * b->mid_len;
        reduce_row(src, y, p->rx, p->ry, p->rw, b->acc, b->row);
        if (lanes == 4)
            hpass4(b->row, m, tx, dst->width);
        else
            hpass_narrow(b->row, m, tx, dst->width, ch);
    }
    /* The row buffer is at least as long as an intermediate row: reuse it. */
    for (int y = 0; y < dst->height; y++) {
        vpass(b->mid, b->row, ty, y, b->mid_len);
        row_to_u8(b->row, dst->pixels + (size_t)y * dst->stride, dst->width, ch);
    }
}

static void copy(const struct imgpipe_image *src, struct imgpipe_image *dst)
{
    for (int y = 0; y < dst->height; y++)
        memcpy(dst->pixels + (size_t)y * dst->stride, src->pixels + (size_t)y * src->stride,
               (size_t)dst->width * src->channels);
}

static int alloc_bufs(struct bufs *b, const struct imgpipe_image *src, const struct plan *p,
                      int width)
{
    int lanes = lanes_for(src->channels);
    /* Rounded up to whole vectors; the padding floats stay zero. */
    b->mid_len = ((size_t)width * lanes + 3) & ~(size_t)3;
    size_t row_len = (size_t)(p->rw > width ? p->rw : width) * lanes + 4;
    b->row = calloc(row_len, sizeof(float));
    b->mid = calloc(b->mid_len * (size_t)p->rh, sizeof(float));
    b->acc = p->rx > 1 || p->ry > 1 ? malloc(sizeof(uint32_t) * (size_t)src->width * src->channels)
                                    : NULL;
    return b->row && b->mid && (b->acc || (p->rx == 1 && p->ry == 1)) ? IMGPIPE_OK : IMGPIPE_ENOMEM;
}

int imgpipe_resize(const struct imgpipe_image *src, int width, int height,
                   struct imgpipe_image *dst)
{
    if (width <= 0 || height <= 0 || src->width <= 0 || src->height <= 0) return IMGPIPE_EINVAL;
    int rc = imgpipe_image_alloc(dst, width, height, src->channels);
    if (rc) return rc;
    if (width == src->width && height == src->height) {
        copy(src, dst);
        return IMGPIPE_OK;
    }
    struct plan p = plan_for(src, width, height);
    struct taps tx = {0}, ty = {0};
    struct bufs b = {0};
    if (alloc_bufs(&b, src, &p, width) == 0 &&
        taps_make(&tx, p.rw, (double)src->width / p.rx, width) == 0 &&
        taps_make(&ty, p.rh, (double)src->height / p.ry, height) == 0)
        run(src, dst, &p, &tx, &ty, &b);
    else
        rc = IMGPIPE_ENOMEM;
    taps_free(&tx);
    taps_free(&ty);
    free(b.row);
    free(b.mid);
    free(b.acc);
    if (rc) imgpipe_image_free(dst);
    return rc;
}
