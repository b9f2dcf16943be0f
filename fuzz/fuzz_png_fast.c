/* libFuzzer target: the PNG fast path against libspng, differentially. A fuzzer cannot
 * get past CRCs and Adler-32 by chance, so the input is the *inflated* image data
 * (filter bytes and samples) plus a few header bytes; this target wraps it into a PNG
 * with valid checksums (libdeflate), optionally cuts the stream, and decodes it both
 * ways. The fast path must either decline (nothing handed over) or produce exactly
 * libspng's pixels; it must never decode what libspng refuses. (fuzz_image feeds raw
 * files through the same path via imgpipe_thumb_make.) */
#include "image/codec.h"

#include <libdeflate.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct out {
    unsigned char *p;
    size_t len, cap;
};

static void put(struct out *o, const void *d, size_t n)
{
    if (o->len + n > o->cap) {
        o->cap = (o->len + n) * 2;
        o->p = realloc(o->p, o->cap);
        if (!o->p)
            abort();
    }
    memcpy(o->p + o->len, d, n);
    o->len += n;
}

static void put32(struct out *o, uint32_t v)
{
    unsigned char b[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 8), (unsigned char)v};
    put(o, b, 4);
}

static void chunk(struct out *o, const char *type, const void *d, size_t n)
{
    put32(o, (uint32_t)n);
    size_t at = o->len;
    put(o, type, 4);
    if (n)
        put(o, d, n);
    put32(o, libdeflate_crc32(0, o->p + at, n + 4));
}

struct rows {
    int w, h, c, y;
    unsigned char *px;
};

static int rows_start(void *arg, int w, int h, int c)
{
    struct rows *r = arg;
    if (r->px)
        abort(); /* start() twice */
    r->w = w, r->h = h, r->c = c;
    r->px = malloc((size_t)w * h * c);
    return r->px ? 0 : IMGPIPE_ENOMEM;
}

static void rows_row(void *arg, const unsigned char *row)
{
    struct rows *r = arg;
    if (r->y >= r->h)
        abort();
    memcpy(r->px + (size_t)r->y++ * r->w * r->c, row, (size_t)r->w * r->c);
}

static const unsigned char layouts[][2] = {{0, 1}, {0, 2},  {0, 4},  {0, 8}, {0, 16},
                                           {2, 8}, {2, 16}, {3, 1},  {3, 2}, {3, 4},
                                           {3, 8}, {4, 8},  {4, 16}, {6, 8}, {6, 16}};

/* Header bytes: layout, width, height, palette entries, tRNS entries, IDAT pieces, flags
 * (bit 0: interlaced, bit 1: cut the file short, bit 2: no PLTE). */
#define HDR 7

static void compare(const struct out *png)
{
    struct imgpipe_engine *eng = imgpipe_engine_get();
    char err[IMGPIPE_ERRLEN];
    struct imgpipe_image b = {0};
    int ref_rc = imgpipe_png_decode(eng, png->p, png->len, 1u << 22, &b, err);
    unsigned char *ref = NULL;
    size_t row_len = 0;
    if (ref_rc == 0) {
        row_len = (size_t)b.width * b.channels;
        ref = malloc(row_len * b.height + 1);
        if (!ref)
            abort();
        for (int y = 0; y < b.height; y++)
            memcpy(ref + (size_t)y * row_len, b.pixels + (size_t)y * b.stride, row_len);
    }
    struct rows r = {0};
    int rc = imgpipe_png_fast_decode_rows(eng, png->p, png->len, 1u << 22, rows_start, rows_row, &r,
                                          err);
    if (rc == 0) {
        if (ref_rc != 0 || r.y != r.h || r.w != b.width || r.h != b.height || r.c != b.channels ||
            memcmp(ref, r.px, row_len * b.height) != 0)
            abort();
    } else if (rc == IMGPIPE_PNG_DECLINED && r.px) {
        abort(); /* declined after handing rows over */
    }
    free(r.px);
    free(ref);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < HDR)
        return 0;
    const unsigned char *l = layouts[data[0] % (sizeof(layouts) / sizeof(layouts[0]))];
    uint32_t w = 1 + data[1] % 64, h = 1 + data[2] % 64;
    int n_plte = 1 + data[3], n_trns = data[4] % 258, pieces = 1 + data[5] % 4;
    int flags = data[6];
    struct out png = {0};

    struct libdeflate_compressor *c = libdeflate_alloc_compressor(1);
    if (!c)
        abort();
    size_t cap = libdeflate_zlib_compress_bound(c, size - HDR);
    unsigned char *z = malloc(cap);
    size_t zlen = z ? libdeflate_zlib_compress(c, data + HDR, size - HDR, z, cap) : 0;
    libdeflate_free_compressor(c);
    if (!zlen)
        abort();

    put(&png, "\x89PNG\r\n\x1a\n", 8);
    unsigned char ihdr[13] = {(unsigned char)(w >> 24),
                              (unsigned char)(w >> 16),
                              (unsigned char)(w >> 8),
                              (unsigned char)w,
                              (unsigned char)(h >> 24),
                              (unsigned char)(h >> 16),
                              (unsigned char)(h >> 8),
                              (unsigned char)h,
                              l[1],
                              l[0],
                              0,
                              0,
                              (unsigned char)(flags & 1)};
    chunk(&png, "IHDR", ihdr, 13);
    unsigned char pal[768], alpha[258];
    for (int i = 0; i < 768; i++)
        pal[i] = (unsigned char)(i * 7);
    for (int i = 0; i < 258; i++)
        alpha[i] = (unsigned char)(i * 13);
    if (l[0] == 3 && !(flags & 4))
        chunk(&png, "PLTE", pal, (size_t)n_plte * 3);
    if (n_trns)
        chunk(&png, "tRNS", alpha, l[0] == 3 ? (size_t)n_trns : l[0] == 0 ? 2 : 6);
    size_t at = 0;
    for (int i = 0; i < pieces; i++) {
        size_t n = i + 1 == pieces ? zlen - at : zlen / (size_t)pieces;
        chunk(&png, "IDAT", z + at, n);
        at += n;
    }
    chunk(&png, "IEND", NULL, 0);
    if (flags & 2)
        png.len -= 1 + (size_t)data[5] % (png.len - 33);
    compare(&png);
    free(z);
    free(png.p);
    return 0;
}
