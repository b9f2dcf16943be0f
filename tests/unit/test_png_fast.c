/* The PNG fast path (libdeflate, own unfiltering) against libspng: PNGs built here byte by
 * byte (every colour type and bit depth, odd widths, each of the five filters and a mix,
 * palettes with tRNS, several IDAT chunks, Adam7 interlacing) must decode to exactly libspng's
 * pixels; what the fast path does not cover must be declined, and cut or corrupt streams must fail
 * (through libspng's verdict), never crash or hand over rows. */
#include "image/codec.h"
#include "testutil.h"

#include <libdeflate.h>
#include <spng.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- a PNG writer independent of both decoders ---- */

struct png {
    unsigned char *p;
    size_t len;
};

static void put(struct png *o, const void *d, size_t n)
{
    o->p = realloc(o->p, o->len + n);
    assert_non_null(o->p);
    memcpy(o->p + o->len, d, n);
    o->len += n;
}

static void put32(struct png *o, uint32_t v)
{
    unsigned char b[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 8), (unsigned char)v};
    put(o, b, 4);
}

static void chunk(struct png *o, const char *type, const void *d, size_t n)
{
    put32(o, (uint32_t)n);
    size_t at = o->len;
    put(o, type, 4);
    if (n)
        put(o, d, n);
    put32(o, libdeflate_crc32(0, o->p + at, n + 4));
}

static int paeth(int a, int b, int c)
{
    int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
    return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/* Filters row `cur` (previous row `prev`, NULL for the first) with filter f into out. */
static void filter_row(int f, const unsigned char *cur, const unsigned char *prev, size_t n,
                       size_t bpp, unsigned char *out)
{
    for (size_t i = 0; i < n; i++) {
        int a = i >= bpp ? cur[i - bpp] : 0, b = prev ? prev[i] : 0;
        int c = prev && i >= bpp ? prev[i - bpp] : 0;
        int pred = f == 1 ? a : f == 2 ? b : f == 3 ? (a + b) / 2 : f == 4 ? paeth(a, b, c) : 0;
        out[i] = (unsigned char)(cur[i] - pred);
    }
}

struct spec {
    uint32_t w, h;
    int ct, depth;
    int filter;      /* 0..4, or -1: row y uses filter y % 5; 5..255: that byte, invalid */
    int n_plte;      /* palette entries (ct 3) */
    int n_trns;      /* tRNS entries (ct 3) or 1: a gray/RGB key (ct 0, 2) */
    int idat_pieces; /* IDAT chunks the stream is cut into */
    int index_over;  /* ct 3: plant one index past the palette */
    int interlace;   /* Adam7 */
};

static const int adam7[7][4] = {{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4},
                                {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}};

/* Copies pixel sx of row `from` to pixel dx of row `to`, both packed at bits per pixel. */
static void copy_pixel(const unsigned char *from, size_t sx, unsigned char *to, size_t dx,
                       size_t bits)
{
    if (bits >= 8) {
        memcpy(to + dx * bits / 8, from + sx * bits / 8, bits / 8);
        return;
    }
    unsigned v = (from[sx * bits / 8] >> (8 - bits - sx * bits % 8)) & ((1u << bits) - 1);
    unsigned char *b = to + dx * bits / 8;
    int shift = (int)(8 - bits - dx * bits % 8);
    *b = (unsigned char)((*b & ~(((1u << bits) - 1) << shift)) | v << shift);
}

/* The rows of the image as PNG stores them: filtered, per Adam7 pass when interlaced.
 * Returns the length written to raw (sized for the worst case by the caller). */
static size_t filter_image(const struct spec *s, const unsigned char *img, size_t rb, size_t bits,
                           size_t bpp, unsigned char *raw)
{
    size_t at = 0, row = 0;
    unsigned char *pass = malloc(rb * s->h + 1);
    assert_non_null(pass);
    for (int p = 0; p < (s->interlace ? 7 : 1); p++) {
        const int *a = s->interlace ? adam7[p] : (const int[]){0, 0, 1, 1};
        if (s->w <= (uint32_t)a[0] || s->h <= (uint32_t)a[1])
            continue;
        size_t pw = (s->w - a[0] + a[2] - 1) / a[2], ph = (s->h - a[1] + a[3] - 1) / a[3];
        size_t prb = (pw * bits + 7) / 8;
        memset(pass, 0, prb * ph + 1);
        for (size_t y = 0; y < ph; y++)
            for (size_t x = 0; x < pw; x++)
                copy_pixel(img + (a[1] + y * a[3]) * rb, a[0] + x * a[2], pass + y * prb, x, bits);
        for (size_t y = 0; y < ph; y++, row++) {
            int f = s->filter < 0 ? (int)(row % 5) : s->filter;
            raw[at] = (unsigned char)f;
            filter_row(f > 4 ? 0 : f, pass + y * prb, y ? pass + (y - 1) * prb : NULL, prb, bpp,
                       raw + at + 1);
            at += prb + 1;
        }
    }
    free(pass);
    return at;
}

static int samples_of(int ct)
{
    return ct == 0 || ct == 3 ? 1 : ct == 4 ? 2 : ct == 2 ? 3 : 4;
}

static struct png build(const struct spec *s, unsigned seed)
{
    size_t bits = (size_t)s->w * samples_of(s->ct) * s->depth, rb = (bits + 7) / 8;
    size_t bpp = bits / s->w >= 8 ? bits / s->w / 8 : 1;
    /* Adam7 rows are at most a row each plus a filter byte, 15 passes' worth of rounding */
    unsigned char *img = malloc(rb * s->h), *raw = malloc((rb + 2) * s->h * 2 + 64);
    assert_true(img && raw);
    for (size_t i = 0; i < rb * s->h; i++) {
        seed = seed * 1103515245u + 12345u;
        /* smooth-ish content so the predictors matter, plus noise */
        img[i] = (unsigned char)((i % rb) * 3 + (i / rb) * 5 + ((seed >> 16) & 15));
    }
    if (s->ct == 3) { /* indices within the palette */
        int per = 8 / s->depth;
        for (size_t y = 0; y < s->h; y++)
            for (size_t x = 0; x < s->w; x++) {
                unsigned v = (unsigned)((x * 7 + y * 3) % (size_t)s->n_plte);
                if (s->index_over && x == s->w / 2 && y == s->h / 2)
                    v = (unsigned)s->n_plte;
                unsigned char *b = img + y * rb + x / (size_t)per;
                int shift = 8 - s->depth * ((int)(x % (size_t)per) + 1);
                *b = (unsigned char)((*b & ~(((1 << s->depth) - 1) << shift)) | v << shift);
            }
    }
    size_t raw_len = filter_image(s, img, rb, bits / s->w, bpp, raw);
    struct libdeflate_compressor *c = libdeflate_alloc_compressor(6);
    size_t cap = libdeflate_zlib_compress_bound(c, raw_len);
    unsigned char *z = malloc(cap);
    size_t zlen = libdeflate_zlib_compress(c, raw, raw_len, z, cap);
    libdeflate_free_compressor(c);
    assert_true(zlen > 0);

    struct png o = {0};
    put(&o, "\x89PNG\r\n\x1a\n", 8);
    unsigned char ihdr[13] = {0};
    for (int i = 0; i < 4; i++)
        ihdr[i] = (unsigned char)(s->w >> (24 - 8 * i)),
        ihdr[4 + i] = (unsigned char)(s->h >> (24 - 8 * i));
    ihdr[8] = (unsigned char)s->depth, ihdr[9] = (unsigned char)s->ct;
    ihdr[12] = (unsigned char)s->interlace;
    chunk(&o, "IHDR", ihdr, 13);
    if (s->ct == 3) {
        unsigned char plte[768], trns[256];
        for (int i = 0; i < s->n_plte; i++) {
            plte[3 * i] = (unsigned char)(i * 37), plte[3 * i + 1] = (unsigned char)(255 - i * 11);
            plte[3 * i + 2] = (unsigned char)(i * i);
            trns[i] = (unsigned char)(i * 29 + 3);
        }
        chunk(&o, "PLTE", plte, (size_t)s->n_plte * 3);
        if (s->n_trns)
            chunk(&o, "tRNS", trns, (size_t)s->n_trns);
    } else if (s->n_trns) {
        unsigned char key[6] = {0, img[0], 0, img[0], 0, img[0]};
        chunk(&o, "tRNS", key, s->ct == 0 ? 2 : 6);
    }
    int pieces = s->idat_pieces > 0 ? s->idat_pieces : 1;
    size_t at = 0;
    for (int i = 0; i < pieces; i++) {
        size_t n = i + 1 == pieces ? zlen - at : zlen / (size_t)pieces;
        chunk(&o, "IDAT", z + at, n);
        at += n;
    }
    chunk(&o, "IEND", NULL, 0);
    free(img), free(raw), free(z);
    return o;
}

/* ---- decoding through each path ---- */

struct rows {
    int w, h, c, y;
    unsigned char *px;
};

static int rows_start(void *arg, int w, int h, int c)
{
    struct rows *r = arg;
    r->w = w, r->h = h, r->c = c, r->y = 0;
    r->px = malloc((size_t)w * h * c);
    return r->px ? 0 : IMGPIPE_ENOMEM;
}

static void rows_row(void *arg, const unsigned char *row)
{
    struct rows *r = arg;
    assert_true(r->y < r->h);
    memcpy(r->px + (size_t)r->y++ * r->w * r->c, row, (size_t)r->w * r->c);
}

/* libspng's pixels (the whole-image decode, which never takes the fast path), copied out
 * of the engine's buffer that the other decodes reuse. */
static int reference(const struct png *p, struct imgpipe_image *img)
{
    char err[IMGPIPE_ERRLEN];
    struct imgpipe_image b = {0};
    int rc = imgpipe_png_decode(imgpipe_engine_get(), p->p, p->len, 1u << 30, &b, err);
    if (rc)
        return rc;
    assert_int_equal(imgpipe_image_alloc(img, b.width, b.height, b.channels), 0);
    for (int y = 0; y < b.height; y++)
        memcpy(img->pixels + (size_t)y * img->stride, b.pixels + (size_t)y * b.stride, img->stride);
    return 0;
}

static void assert_same(const struct imgpipe_image *ref, const struct rows *r, const char *what)
{
    if (r->w != ref->width || r->h != ref->height || r->c != ref->channels || r->y != r->h)
        fail_msg("%s: %dx%dx%d (%d rows) vs libspng %dx%dx%d", what, r->w, r->h, r->c, r->y,
                 ref->width, ref->height, ref->channels);
    for (int y = 0; y < r->h; y++)
        if (memcmp(r->px + (size_t)y * r->w * r->c, ref->pixels + (size_t)y * ref->stride,
                   (size_t)r->w * r->c) != 0)
            fail_msg("%s: row %d differs from libspng's", what, y);
}

enum expect { DECLINE, TAKE, EITHER };

/* Decodes p through the fast path alone and through the default path; `covered` says
 * whether the fast path must take it, must not, or may (then it must match). Whatever
 * decodes must match libspng exactly. */
static void check(const struct png *p, enum expect covered, const char *what)
{
    struct imgpipe_engine *eng = imgpipe_engine_get();
    char err[IMGPIPE_ERRLEN];
    struct imgpipe_image ref = {0};
    int ref_rc = reference(p, &ref);
    struct rows fast = {0}, dflt = {0};
    int rc =
        imgpipe_png_fast_decode_rows(eng, p->p, p->len, 1u << 30, rows_start, rows_row, &fast, err);
    if (covered == TAKE && rc != 0)
        fail_msg("%s: fast path gave %d (%s), expected to cover it", what, rc, err);
    if (covered == DECLINE && rc == 0)
        fail_msg("%s: fast path decoded it, expected to decline or fail", what);
    if (rc == 0) {
        if (ref_rc != 0)
            fail_msg("%s: fast path decoded what libspng refuses", what);
        assert_same(&ref, &fast, what);
    } else {
        assert_null(fast.px); /* declined or failed before any row */
    }
    rc = imgpipe_png_decode_rows(eng, p->p, p->len, 1u << 30, rows_start, rows_row, &dflt, err);
    if (ref_rc == 0) {
        assert_int_equal(rc, 0);
        assert_same(&ref, &dflt, what);
    } else {
        assert_int_not_equal(rc, 0);
    }
    imgpipe_image_free(&ref);
    free(fast.px), free(dflt.px);
}

static void test_every_layout(void **state)
{
    (void)state;
    static const struct {
        int ct, depth;
    } layouts[] = {{0, 1}, {0, 2}, {0, 4}, {0, 8}, {0, 16}, {2, 8}, {2, 16}, {3, 1},
                   {3, 2}, {3, 4}, {3, 8}, {4, 8}, {4, 16}, {6, 8}, {6, 16}};
    static const uint32_t widths[] = {1, 2, 7, 33, 130};
    char what[128];
    for (size_t l = 0; l < sizeof(layouts) / sizeof(layouts[0]); l++)
        for (size_t wi = 0; wi < sizeof(widths) / sizeof(widths[0]); wi++)
            for (int k = 0; k < 12; k++) { /* filters -1 (a mix) .. 4, plain and Adam7 */
                int f = k / 2 - 1, il = k % 2, ct = layouts[l].ct, d = layouts[l].depth;
                struct spec s = {.w = widths[wi],
                                 .h = 9 + (uint32_t)wi,
                                 .ct = ct,
                                 .depth = d,
                                 .filter = f,
                                 .n_plte = ct == 3 ? (1 << d) - (d > 1) : 0,
                                 .idat_pieces = 1 + (int)wi % 3,
                                 .interlace = il};
                struct png p = build(&s, (unsigned)(l * 100 + wi * 10 + (unsigned)(f + 1)));
                snprintf(what, sizeof(what), "ct %d depth %d width %u filter %d%s", ct, d, s.w, f,
                         il ? " Adam7" : "");
                check(&p, ct == 3 || d == 8 ? TAKE : DECLINE, what);
                free(p.p);
            }
}

static void test_transparency(void **state)
{
    (void)state;
    for (int d = 1; d <= 8; d *= 2) {
        int n = 1 << d;
        /* tRNS shorter than the palette, as long as it, and a full 256-entry palette */
        for (int t = 1; t <= n; t += n > 2 ? n / 2 - 1 : 1) {
            struct spec s = {
                .w = 17, .h = 6, .ct = 3, .depth = d, .filter = -1, .n_plte = n, .n_trns = t};
            struct png p = build(&s, (unsigned)(d * 31 + t));
            check(&p, TAKE, "palette with tRNS");
            free(p.p);
        }
    }
    /* a colour key on gray or RGB adds alpha: libspng's, not the fast path's */
    for (int ct = 0; ct <= 2; ct += 2) {
        struct spec s = {.w = 11, .h = 5, .ct = ct, .depth = 8, .filter = 4, .n_trns = 1};
        struct png p = build(&s, 7);
        check(&p, DECLINE, "gray/RGB with tRNS");
        free(p.p);
    }
}

/* Adam7 written by libspng's encoder (not only by the writer above): taken, same pixels. */
static void test_interlaced_by_libspng(void **state)
{
    (void)state;
    unsigned char px[15 * 9 * 4];
    for (size_t i = 0; i < sizeof(px); i++)
        px[i] = (unsigned char)(i * 13);
    spng_ctx *ctx = spng_ctx_new(SPNG_CTX_ENCODER);
    struct spng_ihdr ihdr = {.width = 15,
                             .height = 9,
                             .bit_depth = 8,
                             .color_type = SPNG_COLOR_TYPE_TRUECOLOR_ALPHA,
                             .interlace_method = SPNG_INTERLACE_ADAM7};
    int e = spng_set_option(ctx, SPNG_ENCODE_TO_BUFFER, 1);
    if (!e)
        e = spng_set_ihdr(ctx, &ihdr);
    if (!e)
        e = spng_encode_image(ctx, px, sizeof(px), SPNG_FMT_PNG, SPNG_ENCODE_FINALIZE);
    assert_int_equal(e, 0);
    struct png p = {0};
    p.p = spng_get_png_buffer(ctx, &p.len, &e);
    assert_non_null(p.p);
    check(&p, TAKE, "interlaced by libspng");
    free(p.p);
    spng_ctx_free(ctx);
}

/* Corrupt or cut streams: never crash, never a row handed over by the fast path, and the
 * default path fails as libspng does. */
static void test_corrupt(void **state)
{
    (void)state;
    for (int il = 0; il < 2; il++) {
        struct spec s = {
            .w = 40, .h = 30, .ct = 6, .depth = 8, .filter = -1, .idat_pieces = 3, .interlace = il};
        struct png good = build(&s, 99);
        struct png p = {malloc(good.len), 0};
        assert_non_null(p.p);
        /* cut anywhere after the header; a cut inside IEND leaves the image whole (the
         * codec table's complete() refuses such a file before any decode) */
        for (size_t cut = 40; cut < good.len; cut += 7) {
            memcpy(p.p, good.p, cut);
            p.len = cut;
            check(&p, cut < good.len - 12 ? DECLINE : EITHER, "cut PNG");
        }
        /* each byte of the stream flipped, CRCs left wrong */
        for (size_t at = 33; at < good.len - 12; at += 5) {
            memcpy(p.p, good.p, good.len);
            p.len = good.len;
            p.p[at] ^= 0x5a;
            /* IEND's CRC may go unread by both: then it decodes, and must match */
            check(&p, at >= good.len - 12 ? EITHER : DECLINE, "flipped byte");
        }
        free(p.p), free(good.p);
    }

    /* an unknown filter type, and an index past the palette: declined, libspng decides */
    struct spec bad_filter = {.w = 9, .h = 4, .ct = 2, .depth = 8, .filter = 5};
    struct png p = build(&bad_filter, 1);
    check(&p, DECLINE, "filter type 5");
    free(p.p);
    struct spec bad_index = {
        .w = 9, .h = 4, .ct = 3, .depth = 4, .filter = 0, .n_plte = 5, .index_over = 1};
    p = build(&bad_index, 1);
    check(&p, DECLINE, "index past the palette");
    free(p.p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_layout),
        cmocka_unit_test(test_transparency),
        cmocka_unit_test(test_interlaced_by_libspng),
        cmocka_unit_test(test_corrupt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
