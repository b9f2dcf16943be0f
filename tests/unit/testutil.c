#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *testutil_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char tmpl[4096];
    snprintf(tmpl, sizeof(tmpl), "%s/imgpipe-test-XXXXXX", base && *base ? base : "/tmp");
    char *dir = mkdtemp(tmpl);
    assert_non_null(dir);
    return strdup(dir);
}

void testutil_rmtree(const char *path)
{
    char cmd[4200];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
    if (system(cmd) != 0)
        fprintf(stderr, "testutil: could not remove %s\n", path);
}

/* ---- image generators ---- */

#include <spng.h>
#include <turbojpeg.h>

unsigned char *testutil_jpeg(const unsigned char *px, int w, int h, int channels, int quality,
                             size_t *len)
{
    tjhandle tj = tjInitCompress();
    assert_non_null(tj);
    unsigned char *jpeg = NULL;
    unsigned long jl = 0;
    int gray = channels == 1;
    assert_int_equal(tjCompress2(tj, px, w, w * channels, h, gray ? TJPF_GRAY : TJPF_RGB, &jpeg,
                                 &jl, gray ? TJSAMP_GRAY : TJSAMP_420, quality, 0),
                     0);
    unsigned char *copy = malloc(jl);
    assert_non_null(copy);
    memcpy(copy, jpeg, jl);
    tjFree(jpeg);
    tjDestroy(tj);
    *len = jl;
    return copy;
}

static void put16(unsigned char *p, unsigned v, int be)
{
    p[be ? 0 : 1] = (unsigned char)(v >> 8);
    p[be ? 1 : 0] = (unsigned char)v;
}

static void put32(unsigned char *p, unsigned long v, int be)
{
    put16(p + (be ? 0 : 2), (unsigned)(v >> 16), be);
    put16(p + (be ? 2 : 0), (unsigned)(v & 0xFFFF), be);
}

size_t testutil_exif_tiff(unsigned char tiff[26], int orientation, int big_endian)
{
    /* TIFF header (8) + IFD0 with one entry (2 + 12 + 4 next-IFD offset) = 26 bytes. */
    memset(tiff, 0, 26);
    memcpy(tiff, big_endian ? "MM\0*" : "II*\0", 4);
    put32(tiff + 4, 8, big_endian);
    put16(tiff + 8, 1, big_endian);
    put16(tiff + 10, 0x0112, big_endian);
    put16(tiff + 12, 3, big_endian);
    put32(tiff + 14, 1, big_endian);
    put16(tiff + 18, (unsigned)orientation, big_endian);
    return 26;
}

unsigned char *testutil_jpeg_add_exif(const unsigned char *jpeg, size_t len, int orientation,
                                      int big_endian, size_t *out_len)
{
    unsigned char tiff[26];
    testutil_exif_tiff(tiff, orientation, big_endian);
    size_t seg = 2 + 6 + sizeof(tiff);
    unsigned char *out = malloc(len + 2 + seg);
    assert_non_null(out);
    memcpy(out, jpeg, 2);
    out[2] = 0xFF;
    out[3] = 0xE1;
    out[4] = (unsigned char)(seg >> 8);
    out[5] = (unsigned char)seg;
    memcpy(out + 6, "Exif\0\0", 6);
    memcpy(out + 12, tiff, sizeof(tiff));
    memcpy(out + 12 + sizeof(tiff), jpeg + 2, len - 2);
    *out_len = len + 2 + seg;
    return out;
}

unsigned char *testutil_jpeg_decode(const unsigned char *jpeg, size_t len, int *w, int *h,
                                    int *channels)
{
    tjhandle tj = tjInitDecompress();
    assert_non_null(tj);
    int sub, cs;
    assert_int_equal(tjDecompressHeader3(tj, jpeg, len, w, h, &sub, &cs), 0);
    *channels = cs == TJCS_GRAY ? 1 : 3;
    unsigned char *px = malloc((size_t)*w * *h * *channels);
    assert_non_null(px);
    assert_int_equal(tjDecompress2(tj, jpeg, len, px, *w, *w * *channels, *h,
                                   *channels == 1 ? TJPF_GRAY : TJPF_RGB, 0),
                     0);
    tjDestroy(tj);
    return px;
}

unsigned char *testutil_png(const void *raw, size_t raw_len, int w, int h, int color_type,
                            int bit_depth, const unsigned char *plte_rgb, int n_plte,
                            const unsigned char *trns_alpha, int n_trns, size_t *len)
{
    spng_ctx *ctx = spng_ctx_new(SPNG_CTX_ENCODER);
    assert_non_null(ctx);
    assert_int_equal(spng_set_option(ctx, SPNG_ENCODE_TO_BUFFER, 1), 0);
    struct spng_ihdr ihdr = {.width = (uint32_t)w,
                             .height = (uint32_t)h,
                             .bit_depth = (uint8_t)bit_depth,
                             .color_type = (uint8_t)color_type};
    assert_int_equal(spng_set_ihdr(ctx, &ihdr), 0);
    if (n_plte) {
        struct spng_plte plte = {.n_entries = (uint32_t)n_plte};
        for (int i = 0; i < n_plte; i++) {
            plte.entries[i].red = plte_rgb[3 * i];
            plte.entries[i].green = plte_rgb[3 * i + 1];
            plte.entries[i].blue = plte_rgb[3 * i + 2];
        }
        assert_int_equal(spng_set_plte(ctx, &plte), 0);
    }
    if (n_trns) {
        struct spng_trns trns = {.n_type3_entries = (uint32_t)n_trns};
        memcpy(trns.type3_alpha, trns_alpha, (size_t)n_trns);
        assert_int_equal(spng_set_trns(ctx, &trns), 0);
    }
    assert_int_equal(spng_encode_image(ctx, raw, raw_len, SPNG_FMT_PNG, SPNG_ENCODE_FINALIZE), 0);
    int e = 0;
    unsigned char *png = spng_get_png_buffer(ctx, len, &e);
    assert_int_equal(e, 0);
    assert_non_null(png);
    spng_ctx_free(ctx);
    return png;
}

unsigned char *testutil_png_decode(const unsigned char *png, size_t len, int *w, int *h,
                                   int *channels, int *color_type)
{
    spng_ctx *ctx = spng_ctx_new(0);
    assert_non_null(ctx);
    assert_int_equal(spng_set_png_buffer(ctx, png, len), 0);
    struct spng_ihdr ihdr;
    assert_int_equal(spng_get_ihdr(ctx, &ihdr), 0);
    struct spng_trns trns;
    int alpha = ihdr.color_type == 4 || ihdr.color_type == 6 || spng_get_trns(ctx, &trns) == 0;
    int fmt = alpha ? SPNG_FMT_RGBA8 : SPNG_FMT_RGB8;
    size_t need;
    assert_int_equal(spng_decoded_image_size(ctx, fmt, &need), 0);
    unsigned char *px = malloc(need);
    assert_non_null(px);
    assert_int_equal(spng_decode_image(ctx, px, need, fmt, SPNG_DECODE_TRNS), 0);
    *w = (int)ihdr.width;
    *h = (int)ihdr.height;
    *channels = alpha ? 4 : 3;
    *color_type = ihdr.color_type;
    spng_ctx_free(ctx);
    return px;
}

static uint32_t crc32_png(const unsigned char *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    }
    return c ^ 0xFFFFFFFFu;
}

static void put_be32(unsigned char *p, uint32_t v)
{
    for (int b = 0; b < 4; b++)
        p[b] = (unsigned char)(v >> (24 - 8 * b));
}

unsigned char *testutil_png_add_chunk(const unsigned char *png, size_t len, const char type[4],
                                      const void *data, size_t data_len, size_t *out_len)
{
    const size_t at = 8 + 25; /* signature + IHDR chunk */
    unsigned char *out = malloc(len + 12 + data_len);
    assert_non_null(out);
    memcpy(out, png, at);
    unsigned char *c = out + at;
    put_be32(c, (uint32_t)data_len);
    memcpy(c + 4, type, 4);
    if (data_len)
        memcpy(c + 8, data, data_len);
    put_be32(c + 8 + data_len, crc32_png(c + 4, 4 + data_len));
    memcpy(c + 12 + data_len, png + at, len - at);
    *out_len = len + 12 + data_len;
    return out;
}

unsigned char *testutil_png_header_only(uint32_t w, uint32_t h, size_t *len)
{
    unsigned char *p = calloc(1, 33);
    assert_non_null(p);
    memcpy(p, "\x89PNG\r\n\x1A\n\0\0\0\x0DIHDR", 16);
    put_be32(p + 16, w);
    put_be32(p + 20, h);
    p[24] = 8; /* bit depth */
    p[25] = 2; /* RGB */
    put_be32(p + 29, crc32_png(p + 12, 17));
    *len = 33;
    return p;
}

void testutil_riff_chunk(unsigned char **buf, size_t *len, const char fourcc[4], uint32_t size,
                         const void *data, size_t n)
{
    unsigned char *p = realloc(*buf, *len + 8 + n + (n & 1));
    assert_non_null(p);
    unsigned char *c = p + *len;
    memcpy(c, fourcc, 4);
    put32(c + 4, size, 0);
    if (n)
        memcpy(c + 8, data, n);
    if (n & 1)
        c[8 + n] = 0;
    *buf = p;
    *len += 8 + n + (n & 1);
}

static void put24le(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v, p[1] = (unsigned char)(v >> 8), p[2] = (unsigned char)(v >> 16);
}

unsigned char *testutil_webp_vp8x(unsigned flags, int w, int h, const unsigned char *chunks,
                                  size_t chunks_len, size_t *out_len)
{
    unsigned char vp8x[10] = {(unsigned char)flags};
    put24le(vp8x + 4, (uint32_t)w - 1);
    put24le(vp8x + 7, (uint32_t)h - 1);
    unsigned char *out = malloc(12);
    assert_non_null(out);
    size_t len = 12;
    testutil_riff_chunk(&out, &len, "VP8X", sizeof(vp8x), vp8x, sizeof(vp8x));
    out = realloc(out, len + chunks_len);
    assert_non_null(out);
    memcpy(out + len, chunks, chunks_len);
    len += chunks_len;
    memcpy(out, "RIFF", 4);
    put32(out + 4, (unsigned long)(len - 8), 0);
    memcpy(out + 8, "WEBP", 4);
    *out_len = len;
    return out;
}

struct bitw {
    unsigned char b[1024];
    size_t at; /* bits */
};

static void put(struct bitw *w, int n, uint64_t v)
{
    for (int i = n - 1; i >= 0; i--, w->at++)
        if (i < 64 && v >> i & 1) /* wider fields are zero-extended */
            w->b[w->at >> 3] |= (unsigned char)(0x80 >> (w->at & 7));
}

static void put_ue(struct bitw *w, uint32_t v)
{
    int zeros = 0;
    while (((uint64_t)v + 1) >> (zeros + 1))
        zeros++;
    put(w, zeros, 0);
    put(w, zeros + 1, (uint64_t)v + 1);
}

size_t testutil_hevc_sps(unsigned char *out, size_t cap, int max_sub_layers_minus1,
                         unsigned profile_mask, unsigned level_mask, unsigned chroma,
                         uint32_t width, uint32_t height, size_t tail)
{
    struct bitw w;
    memset(&w, 0, sizeof(w));
    put(&w, 16, 0x4201); /* nal_unit_type 33, layer 0, temporal id 1 */
    put(&w, 4, 0);
    put(&w, 3, (uint64_t)max_sub_layers_minus1);
    put(&w, 1, 1);
    put(&w, 96, 0); /* general profile_tier_level: all zero, so emulation prevention is needed */
    for (int i = 0; i < max_sub_layers_minus1; i++)
        put(&w, 1, profile_mask >> i & 1), put(&w, 1, level_mask >> i & 1);
    if (max_sub_layers_minus1 > 0)
        put(&w, 2 * (8 - max_sub_layers_minus1), 0);
    for (int i = 0; i < max_sub_layers_minus1; i++)
        put(&w, (profile_mask >> i & 1 ? 88 : 0) + (level_mask >> i & 1 ? 8 : 0), 0);
    put_ue(&w, 0); /* sps_seq_parameter_set_id */
    put_ue(&w, chroma);
    if (chroma == 3)
        put(&w, 1, 0);
    put_ue(&w, width);
    put_ue(&w, height);
    size_t n = (w.at + 7) / 8, o = 0;
    for (size_t i = 0; i < tail && n < sizeof(w.b); i++)
        w.b[n++] = 0xff;
    int zeros = 0;
    for (size_t i = 0; i < n && o + 1 < cap; i++) {
        if (zeros >= 2 && w.b[i] <= 3)
            out[o++] = 3, zeros = 0;
        out[o++] = w.b[i];
        zeros = w.b[i] == 0 ? zeros + 1 : 0;
    }
    return o;
}
