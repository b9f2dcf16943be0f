/* The PNG fast path: the common PNGs (8-bit gray, gray+alpha, RGB, RGBA, and palette
 * images of any depth with or without tRNS; interlaced or not) inflated whole with
 * libdeflate, which is about twice as fast as zlib's streaming inflate, then unfiltered in
 * place and handed over row by row. libspng still reads the header and every chunk before
 * the image data, so metadata, limits and ICC are judged exactly as before; anything this
 * path is not sure of (other layouts, a bad CRC, a stream that does not inflate to the
 * exact size, an unknown filter, a palette index out of range) is declined before the
 * first row is handed over, and libspng decodes it and gives its own verdict. */
#include "image/codec.h"
#include "common/util.h"

#include <libdeflate.h>
#include <spng.h>
#include <stdlib.h>
#include <string.h>

/* The whole inflated image is held at once: above this libspng streams it instead. */
#define FAST_MAX_RAW ((size_t)256 << 20)

struct layout {
    uint32_t width, height;
    int depth, samples, channels; /* bits per sample, samples per pixel, channels out */
    int palette, interlaced;
    size_t row_bytes, bpp; /* filtered row without its filter byte; filter distance */
    size_t raw_len;        /* the inflated data: every pass's rows with their filter bytes */
    unsigned char lut[256][4];
    int entries;
};

/* Adam7: each pass's first column and row, and its steps. */
static const uint8_t adam7[7][4] = {{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4},
                                    {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}};

/* The size of pass p (all of the image when not interlaced). */
static void pass_size(const struct layout *l, int p, uint32_t *w, uint32_t *h)
{
    if (!l->interlaced) {
        *w = l->width, *h = l->height;
        return;
    }
    *w = (l->width - adam7[p][0] + adam7[p][2] - 1) / adam7[p][2];
    *h = (l->height - adam7[p][1] + adam7[p][3] - 1) / adam7[p][3];
    if (l->width <= adam7[p][0] || l->height <= adam7[p][1])
        *w = *h = 0;
}

static size_t row_bytes_of(const struct layout *l, uint32_t w)
{
    return ((size_t)w * (size_t)(l->depth * l->samples) + 7) / 8;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int natural_samples(int color_type)
{
    switch (color_type) {
    case SPNG_COLOR_TYPE_GRAYSCALE:
    case SPNG_COLOR_TYPE_INDEXED:
        return 1;
    case SPNG_COLOR_TYPE_GRAYSCALE_ALPHA:
        return 2;
    case SPNG_COLOR_TYPE_TRUECOLOR:
        return 3;
    default:
        return 4;
    }
}

/* The palette as RGBA entries; tRNS alpha for the first entries, 255 for the rest. */
static int read_palette(spng_ctx *ctx, struct layout *l)
{
    struct spng_plte plte;
    struct spng_trns trns;
    if (spng_get_plte(ctx, &plte) != 0 || plte.n_entries == 0 || plte.n_entries > 256)
        return -1;
    int has_trns = spng_get_trns(ctx, &trns) == 0;
    for (uint32_t i = 0; i < plte.n_entries; i++) {
        l->lut[i][0] = plte.entries[i].red;
        l->lut[i][1] = plte.entries[i].green;
        l->lut[i][2] = plte.entries[i].blue;
        l->lut[i][3] = has_trns && i < trns.n_type3_entries ? trns.type3_alpha[i] : 255;
    }
    l->entries = (int)plte.n_entries;
    return 0;
}

/* Fills l when the image is one this path covers and decodes to `channels` channels. */
static int covered(spng_ctx *ctx, int channels, struct layout *l)
{
    struct spng_ihdr h;
    if (spng_get_ihdr(ctx, &h) != 0)
        return 0;
    l->interlaced = h.interlace_method != SPNG_INTERLACE_NONE;
    l->palette = h.color_type == SPNG_COLOR_TYPE_INDEXED;
    if (h.bit_depth != 8 && !l->palette)
        return 0;
    l->width = h.width, l->height = h.height, l->depth = h.bit_depth;
    l->samples = natural_samples(h.color_type);
    l->channels = channels;
    /* Gray or RGB with tRNS gains an alpha channel: libspng's. A tRNS libspng refuses is
     * libspng's to report. */
    struct spng_trns trns;
    int e = spng_get_trns(ctx, &trns);
    if ((e && e != SPNG_ECHUNKAVAIL) || (!l->palette && channels != l->samples))
        return 0;
    if (l->palette && read_palette(ctx, l) != 0)
        return 0;
    l->row_bytes = row_bytes_of(l, l->width);
    l->bpp = l->depth < 8 ? 1 : (size_t)l->samples;
    if ((size_t)l->height > FAST_MAX_RAW / (l->row_bytes + 1) ||
        (uint64_t)l->width * l->height * 4 > FAST_MAX_RAW)
        return 0;
    l->raw_len = 0;
    for (int p = 0; p < (l->interlaced ? 7 : 1); p++) {
        uint32_t w, ph;
        pass_size(l, p, &w, &ph);
        l->raw_len += w ? (size_t)ph * (row_bytes_of(l, w) + 1) : 0;
    }
    return 1;
}

/* The zlib stream: the one IDAT's data in place, or the consecutive IDATs joined into
 * eng->zdata. NULL when a chunk is out of bounds, an IDAT's CRC is wrong or the IDATs are
 * not consecutive. */
static const unsigned char *zlib_stream(struct imgpipe_engine *eng, const unsigned char *src,
                                        size_t len, size_t *zlen)
{
    size_t total = 0, first = 0, count = 0;
    int ended = 0;
    for (size_t pos = 8; pos + 12 <= len;) {
        size_t n = be32(src + pos);
        if (n > 0x7FFFFFFFu || n > len - pos - 12)
            return NULL;
        const unsigned char *type = src + pos + 4;
        if (memcmp(type, "IEND", 4) == 0)
            break;
        if (memcmp(type, "IDAT", 4) == 0) {
            if (ended || libdeflate_crc32(0, type, n + 4) != be32(type + 4 + n))
                return NULL;
            if (count++ == 0)
                first = pos;
            total += n;
        } else if (count) {
            ended = 1;
        }
        pos += 12 + n;
    }
    if (count == 0)
        return NULL;
    *zlen = total;
    if (count == 1)
        return src + first + 8;
    unsigned char *z = imgpipe_scratch_get(&eng->zdata, total);
    if (!z)
        return NULL;
    size_t at = 0;
    for (size_t pos = first; at < total; pos += 12 + be32(src + pos)) {
        size_t n = be32(src + pos);
        memcpy(z + at, src + pos + 8, n);
        at += n;
    }
    return z;
}

static inline unsigned char paeth(int a, int b, int c)
{
    int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
    return (unsigned char)(pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
}

/* One row unfiltered in place against the row above (already unfiltered, zeros for the
 * first); inlined with a constant bpp so each filter loop is specialised. */
static inline __attribute__((always_inline)) void
unfilter(int f, unsigned char *cur, const unsigned char *prev, size_t n, size_t bpp)
{
    size_t i;
    switch (f) {
    case 1:
        for (i = bpp; i < n; i++)
            cur[i] = (unsigned char)(cur[i] + cur[i - bpp]);
        break;
    case 2:
        for (i = 0; i < n; i++)
            cur[i] = (unsigned char)(cur[i] + prev[i]);
        break;
    case 3:
        for (i = 0; i < bpp; i++)
            cur[i] = (unsigned char)(cur[i] + (prev[i] >> 1));
        for (; i < n; i++)
            cur[i] = (unsigned char)(cur[i] + ((cur[i - bpp] + prev[i]) >> 1));
        break;
    case 4:
        for (i = 0; i < bpp; i++)
            cur[i] = (unsigned char)(cur[i] + prev[i]);
        for (; i < n; i++)
            cur[i] = (unsigned char)(cur[i] + paeth(cur[i - bpp], prev[i], prev[i - bpp]));
        break;
    default:
        break;
    }
}

static void unfilter_any(int f, unsigned char *cur, const unsigned char *prev, size_t n, size_t bpp)
{
    switch (bpp) {
    case 1:
        unfilter(f, cur, prev, n, 1);
        break;
    case 2:
        unfilter(f, cur, prev, n, 2);
        break;
    case 3:
        unfilter(f, cur, prev, n, 3);
        break;
    default:
        unfilter(f, cur, prev, n, 4);
        break;
    }
}

/* Palette index x of a row packed at `depth` bits per pixel, most significant first. */
static inline unsigned index_at(const unsigned char *row, int depth, uint32_t x)
{
    if (depth == 8)
        return row[x];
    unsigned per = 8u / (unsigned)depth, shift = 8u - (unsigned)depth * (x % per + 1);
    return (row[x / per] >> shift) & ((1u << depth) - 1);
}

static int indices_ok(const struct layout *l, const unsigned char *row, uint32_t width)
{
    if (l->entries == 256)
        return 1;
    for (uint32_t x = 0; x < width; x++)
        if (index_at(row, l->depth, x) >= (unsigned)l->entries)
            return 0;
    return 1;
}

/* Unfilters the w x h rows of one pass (or the image) at raw in place; 0 when a filter
 * type is unknown or an index is out of the palette (then libspng decides). zero is at
 * least a row of zero bytes. */
static int unfilter_rows(const struct layout *l, uint32_t w, uint32_t h, unsigned char *raw,
                         const unsigned char *zero)
{
    size_t rb = row_bytes_of(l, w), stride = rb + 1;
    for (uint32_t y = 0; y < h; y++) {
        unsigned char *cur = raw + (size_t)y * stride;
        if (cur[0] > 4)
            return 0;
        unfilter_any(cur[0], cur + 1, y ? cur + 1 - stride : zero, rb, l->bpp);
        if (l->palette && !indices_ok(l, cur + 1, w))
            return 0;
    }
    return 1;
}

static int unfilter_all(const struct layout *l, unsigned char *raw, const unsigned char *zero)
{
    for (int p = 0; p < (l->interlaced ? 7 : 1); p++) {
        uint32_t w, h;
        pass_size(l, p, &w, &h);
        if (!w)
            continue;
        if (!unfilter_rows(l, w, h, raw, zero))
            return 0;
        raw += (size_t)h * (row_bytes_of(l, w) + 1);
    }
    return 1;
}

static void expand_palette(const struct layout *l, const unsigned char *in, unsigned char *out)
{
    int c = l->channels;
    for (uint32_t x = 0; x < l->width; x++, out += c)
        memcpy(out, l->lut[index_at(in, l->depth, x)], (size_t)c);
}

/* Puts the unfiltered passes at raw into their places in img (width x height x
 * channels, palette expanded). */
static void deinterlace(const struct layout *l, const unsigned char *raw, unsigned char *img)
{
    size_t c = (size_t)l->channels, out_stride = (size_t)l->width * c;
    for (int p = 0; p < 7; p++) {
        uint32_t w, h;
        pass_size(l, p, &w, &h);
        size_t stride = row_bytes_of(l, w) + 1;
        for (uint32_t y = 0; w && y < h; y++, raw += stride) {
            unsigned char *d =
                img + (size_t)(adam7[p][1] + y * adam7[p][3]) * out_stride + adam7[p][0] * c;
            for (uint32_t x = 0; x < w; x++, d += adam7[p][2] * c)
                memcpy(d, l->palette ? l->lut[index_at(raw + 1, l->depth, x)] : raw + 1 + x * c, c);
        }
    }
}

/* Hands the decoded rows over: straight from raw (or through the palette), or for an
 * interlaced image from the whole image put together in img. */
static void feed(const struct layout *l, const unsigned char *raw, unsigned char *aux,
                 imgpipe_row_fn row, void *arg)
{
    size_t stride = l->row_bytes + 1;
    if (l->interlaced)
        deinterlace(l, raw, aux);
    for (uint32_t y = 0; y < l->height; y++) {
        const unsigned char *r = raw + (size_t)y * stride + 1;
        if (l->interlaced)
            r = aux + (size_t)y * l->width * l->channels;
        else if (l->palette)
            expand_palette(l, r, aux), r = aux;
        row(arg, r);
    }
}

int imgpipe_png_fast(struct imgpipe_engine *eng, struct spng_ctx *ctx, const unsigned char *src,
                     size_t len, int channels, imgpipe_row_start start, imgpipe_row_fn row,
                     void *arg, char *err)
{
    struct layout l;
    size_t zlen = 0;
    if (!covered(ctx, channels, &l))
        return IMGPIPE_PNG_DECLINED;
    const unsigned char *z = zlib_stream(eng, src, len, &zlen);
    size_t out_row = (size_t)l.width * 4;
    size_t aux_len = l.interlaced ? out_row * l.height : out_row;
    unsigned char *raw = z ? imgpipe_scratch_get(&eng->pixels, l.raw_len ? l.raw_len : 1) : NULL;
    unsigned char *aux = raw ? imgpipe_scratch_get(&eng->aux, aux_len) : NULL;
    if (!aux)
        return IMGPIPE_PNG_DECLINED;
    if (libdeflate_zlib_decompress(eng->inflater, z, zlen, raw, l.raw_len, NULL) !=
        LIBDEFLATE_SUCCESS)
        return IMGPIPE_PNG_DECLINED;
    /* The zlib stream is spent: its buffer holds the zero row the first rows are
     * unfiltered against. */
    unsigned char *zero = imgpipe_scratch_get(&eng->zdata, l.row_bytes + 1);
    if (!zero)
        return IMGPIPE_PNG_DECLINED;
    memset(zero, 0, l.row_bytes + 1);
    if (!unfilter_all(&l, raw, zero))
        return IMGPIPE_PNG_DECLINED;
    int rc = start(arg, (int)l.width, (int)l.height, channels);
    if (rc)
        return imgpipe_errf(err, rc, "out of memory resizing a %ux%u PNG", l.width, l.height);
    feed(&l, raw, aux, row, arg);
    return IMGPIPE_OK;
}
