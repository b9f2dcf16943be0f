/* Antialiased separable downscaling: Lanczos3 with its support widened by the reduction
 * factor (as Pillow and libvips do), float weights precomputed per output column and row,
 * edges clamped, alpha premultiplied while filtering; factors of 4x and more first
 * box-average down to 2..4x the target. */
#include "image/image.h"

#include <math.h>
#include <pthread.h>
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

static double lanczos3_exact(double x)
{
    if (x <= -LANCZOS_A || x >= LANCZOS_A)
        return 0.0;
    return sinc(x) * sinc(x / LANCZOS_A);
}

/* The kernel tabulated over [0, 3] and interpolated linearly (error under 2e-6, far below
 * an 8-bit step): two sin() calls per tap were a tenth of a thumbnail's resize time. */
#define LUT_PER_UNIT 1024
static double lut[(int)LANCZOS_A * LUT_PER_UNIT + 2];
static pthread_once_t lut_once = PTHREAD_ONCE_INIT;

static void lut_init(void)
{
    for (int i = 0; i < (int)(sizeof(lut) / sizeof(lut[0])); i++)
        lut[i] = lanczos3_exact((double)i / LUT_PER_UNIT);
}

static double lanczos3(double x)
{
    double ax = fabs(x) * LUT_PER_UNIT;
    if (ax >= LANCZOS_A * LUT_PER_UNIT)
        return 0.0;
    int i = (int)ax;
    double f = ax - i;
    return lut[i] + f * (lut[i + 1] - lut[i]);
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
    pthread_once(&lut_once, lut_init);
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

/* One source row as floats, colour premultiplied by alpha (alpha kept 0..255). */
static void convert_row(const unsigned char *s, int w, int ch, float *out)
{
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

/* Adds one source row into acc, one integer sum per sample, colour premultiplied by
 * alpha: a straight loop over the row, which the compiler vectorises (summing block by
 * block per row was the resize's main cost on large PNGs). */
static void sum_row(const unsigned char *s, size_t n, int ch, uint32_t *acc)
{
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

/* The reduced row from acc (the sums of `rows` source rows): the average of each rx-wide
 * block, premultiplied, in lanes_for(ch) floats per pixel. */
static void reduce_acc(const uint32_t *acc, int width, int ch, int rx, int rw, int rows, float *out)
{
    int lanes = lanes_for(ch), alpha = ch % 2 == 0;
    for (int xr = 0; xr < rw; xr++, out += lanes) {
        int x0 = xr * rx, x1 = x0 + rx < width ? x0 + rx : width;
        uint64_t sum[4] = {0, 0, 0, 0};
        for (const uint32_t *a = acc + (size_t)x0 * ch; a < acc + (size_t)x1 * ch; a += ch)
            for (int c = 0; c < ch; c++)
                sum[c] += a[c];
        float inv = 1.0f / (float)((x1 - x0) * rows);
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
            if (ch == 2)
                a1 += w[k] * s[1];
        }
        out[0] = a0;
        if (ch == 2)
            out[1] = a1;
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
 * (row_len is a multiple of 8 floats: see alloc_bufs). Eight columns at a time, all taps
 * summed in registers, so the output is stored once instead of once per tap. */
static void vpass(const float *mid, float *out, const struct taps *t, int y, size_t row_len)
{
    const float *w = t->w + (size_t)y * t->ksize;
    const float *rows = mid + (size_t)t->first[y] * row_len;
    int n = t->n[y];
    for (size_t i = 0; i < row_len; i += 8) {
        v4f a0 = {0, 0, 0, 0}, a1 = a0;
        const float *r = rows + i;
        for (int k = 0; k < n; k++, r += row_len) {
            a0 += w[k] * load4(r);
            a1 += w[k] * load4(r + 4);
        }
        store4(out + i, a0);
        store4(out + i + 4, a1);
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

static struct plan plan_for(int sw, int sh, int width, int height)
{
    struct plan p;
    p.rx = sw / width / REDUCE_GAP;
    p.ry = sh / height / REDUCE_GAP;
    p.rx = p.rx > 1 ? p.rx : 1;
    p.ry = p.ry > 1 ? p.ry < REDUCE_MAX_ROWS ? p.ry : REDUCE_MAX_ROWS : 1;
    p.rw = (sw + p.rx - 1) / p.rx;
    p.rh = (sh + p.ry - 1) / p.ry;
    return p;
}

/* The resize of one source to one size, fed row by row: each row is added into the box
 * sums, each finished reduced row goes through the horizontal pass at once, so only the
 * horizontally filtered rows are kept, never the source. */
struct imgpipe_resizer {
    int sw, sh, ch, w, h;
    double ew, eh; /* the source units the sw x sh samples span (imgpipe_resizer_new_part) */
    struct plan p;
    struct taps tx, ty;
    int y;            /* source rows taken */
    float *row, *mid; /* one reduced row; the horizontally filtered rows */
    uint32_t *acc;    /* box sums of the current band of ry rows */
    size_t mid_len;   /* floats per intermediate row, a multiple of 8 */
    struct imgpipe_image out;
};

void imgpipe_resizer_free(struct imgpipe_resizer *r)
{
    if (!r)
        return;
    taps_free(&r->tx);
    taps_free(&r->ty);
    free(r->row);
    free(r->mid);
    free(r->acc);
    imgpipe_image_free(&r->out);
    free(r);
}

static int alloc_bufs(struct imgpipe_resizer *r)
{
    int lanes = lanes_for(r->ch);
    const struct plan *p = &r->p;
    /* Rounded up to two vectors for vpass; the padding floats stay zero. */
    r->mid_len = ((size_t)r->w * lanes + 7) & ~(size_t)7;
    size_t row_len = (size_t)(p->rw > r->w ? p->rw : r->w) * lanes + 8;
    r->row = calloc(row_len, sizeof(float));
    r->mid = calloc(r->mid_len * (size_t)p->rh, sizeof(float));
    if (p->rx > 1 || p->ry > 1)
        r->acc = calloc((size_t)r->sw * r->ch, sizeof(uint32_t));
    if (!r->row || !r->mid || (!r->acc && (p->rx > 1 || p->ry > 1)))
        return IMGPIPE_ENOMEM;
    if (taps_make(&r->tx, p->rw, r->ew / p->rx, r->w) != 0)
        return IMGPIPE_ENOMEM;
    return taps_make(&r->ty, p->rh, r->eh / p->ry, r->h);
}

int imgpipe_resizer_new_part(struct imgpipe_resizer **out, int src_w, int src_h, double ext_w,
                             double ext_h, int channels, int width, int height)
{
    *out = NULL;
    if (width <= 0 || height <= 0 || src_w <= 0 || src_h <= 0 || channels < 1 || channels > 4 ||
        !(ext_w > src_w - 1 && ext_w <= src_w) || !(ext_h > src_h - 1 && ext_h <= src_h))
        return IMGPIPE_EINVAL;
    struct imgpipe_resizer *r = calloc(1, sizeof(*r));
    if (!r)
        return IMGPIPE_ENOMEM;
    *r = (struct imgpipe_resizer){.sw = src_w,
                                  .sh = src_h,
                                  .ew = ext_w,
                                  .eh = ext_h,
                                  .ch = channels,
                                  .w = width,
                                  .h = height};
    int rc = imgpipe_image_alloc(&r->out, width, height, channels);
    if (!rc && (width != src_w || height != src_h || ext_w != src_w || ext_h != src_h)) {
        r->p = plan_for(src_w, src_h, width, height);
        rc = alloc_bufs(r);
    }
    if (rc) {
        imgpipe_resizer_free(r);
        return rc;
    }
    *out = r;
    return IMGPIPE_OK;
}

int imgpipe_resizer_new(struct imgpipe_resizer **out, int src_w, int src_h, int channels, int width,
                        int height)
{
    return imgpipe_resizer_new_part(out, src_w, src_h, src_w, src_h, channels, width, height);
}

static void filter_row(struct imgpipe_resizer *r, int yr)
{
    float *m = r->mid + (size_t)yr * r->mid_len;
    if (lanes_for(r->ch) == 4)
        hpass4(r->row, m, &r->tx, r->w);
    else
        hpass_narrow(r->row, m, &r->tx, r->w, r->ch);
}

void imgpipe_resizer_row(struct imgpipe_resizer *r, const unsigned char *row)
{
    int y = r->y++;
    if (y >= r->sh)
        return;
    if (r->w == r->sw && r->h == r->sh) { /* the size it is: a copy */
        memcpy(r->out.pixels + (size_t)y * r->out.stride, row, r->out.stride);
        return;
    }
    const struct plan *p = &r->p;
    if (p->rx == 1 && p->ry == 1) {
        convert_row(row, r->sw, r->ch, r->row);
        filter_row(r, y);
        return;
    }
    sum_row(row, (size_t)r->sw * r->ch, r->ch, r->acc);
    if ((y + 1) % p->ry != 0 && y + 1 != r->sh)
        return;
    int rows = y % p->ry + 1;
    reduce_acc(r->acc, r->sw, r->ch, p->rx, p->rw, rows, r->row);
    memset(r->acc, 0, sizeof(*r->acc) * (size_t)r->sw * r->ch);
    filter_row(r, y / p->ry);
}

int imgpipe_resizer_finish(struct imgpipe_resizer *r, struct imgpipe_image *dst)
{
    if (!r || r->y < r->sh)
        return IMGPIPE_EINVAL;
    if (r->w != r->sw || r->h != r->sh) {
        /* The row buffer is at least as long as an intermediate row: reuse it. */
        for (int y = 0; y < r->h; y++) {
            vpass(r->mid, r->row, &r->ty, y, r->mid_len);
            row_to_u8(r->row, r->out.pixels + (size_t)y * r->out.stride, r->w, r->ch);
        }
    }
    *dst = r->out;
    memset(&r->out, 0, sizeof(r->out));
    return IMGPIPE_OK;
}

int imgpipe_resize(const struct imgpipe_image *src, int width, int height,
                   struct imgpipe_image *dst)
{
    struct imgpipe_resizer *r;
    int rc = imgpipe_resizer_new(&r, src->width, src->height, src->channels, width, height);
    if (rc)
        return rc;
    for (int y = 0; y < src->height; y++)
        imgpipe_resizer_row(r, src->pixels + (size_t)y * src->stride);
    rc = imgpipe_resizer_finish(r, dst);
    imgpipe_resizer_free(r);
    return rc;
}
