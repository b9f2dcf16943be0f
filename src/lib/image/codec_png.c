/* PNG decode and encode through libspng. */
#include "image/codec.h"
#include "common/util.h"

#include <limits.h>
#include <spng.h>
#include <stdlib.h>
#include <string.h>

/* Ancillary chunks (text, ICC, EXIF) are bounded so a crafted header cannot make libspng
 * allocate much more than the image itself. */
#define PNG_CHUNK_LIMIT (64u << 20)
#define PNG_CACHE_LIMIT (64u << 20)
/* libspng's own maximum for width and height. */
#define PNG_DIM_LIMIT 0x7FFFFFFFu

static spng_ctx *open_decoder(const unsigned char *src, size_t len, char *err, int *rc)
{
    /* zlib's Adler-32 is kept although it costs ~7% of a decode: libspng 0.7 checks no
     * CRC on the last IDAT bytes it needs, so the checksum is what catches corruption
     * there (test_corrupt_png). */
    spng_ctx *ctx = spng_ctx_new(0);
    if (!ctx) {
        *rc = imgpipe_errf(err, IMGPIPE_ENOMEM, "cannot create a PNG decoder");
        return NULL;
    }
    int e = spng_set_png_buffer(ctx, src, len);
    if (!e)
        e = spng_set_image_limits(ctx, PNG_DIM_LIMIT, PNG_DIM_LIMIT);
    if (!e)
        e = spng_set_chunk_limits(ctx, PNG_CHUNK_LIMIT, PNG_CACHE_LIMIT);
    if (e) {
        *rc = imgpipe_errf(err, IMGPIPE_ECORRUPT, "cannot read PNG: %s", spng_strerror(e));
        spng_ctx_free(ctx);
        return NULL;
    }
    *rc = IMGPIPE_OK;
    return ctx;
}

/* Reads the header and picks the libspng output format and the channel count the image
 * ends with. Anything with alpha or tRNS decodes to RGBA8, the rest to RGB8 (libspng
 * converts palette, tRNS and 16 bits); 8-bit-or-less gray decodes to G8 directly. Other
 * gray images are decoded to RGB(A)8 and compacted to 1 or 2 channels after (libspng
 * 0.7 has no GA8 for them), so gray thumbnails stay gray. */
static int read_header(spng_ctx *ctx, struct spng_ihdr *ihdr, int *fmt, int *channels,
                       int *chunk_err, char *err)
{
    int e = spng_get_ihdr(ctx, ihdr);
    if (e)
        return imgpipe_errf(err, IMGPIPE_ECORRUPT, "corrupt PNG: %s", spng_strerror(e));
    /* The chunks after IHDR are read here. An error there is not the header's (the size
     * is known, and a cut file is still refused by it first), but it is the cause that a
     * decode then reports only as "non-recoverable state" (first_error). */
    struct spng_trns trns;
    e = spng_get_trns(ctx, &trns);
    *chunk_err = e == SPNG_ECHUNKAVAIL ? 0 : e;
    int ct = ihdr->color_type;
    int alpha =
        ct == SPNG_COLOR_TYPE_GRAYSCALE_ALPHA || ct == SPNG_COLOR_TYPE_TRUECOLOR_ALPHA || !e;
    int gray = ct == SPNG_COLOR_TYPE_GRAYSCALE || ct == SPNG_COLOR_TYPE_GRAYSCALE_ALPHA;
    if (gray && !alpha && ihdr->bit_depth <= 8)
        *fmt = SPNG_FMT_G8;
    else
        *fmt = alpha ? SPNG_FMT_RGBA8 : SPNG_FMT_RGB8;
    *channels = (gray ? 1 : 3) + alpha;
    return IMGPIPE_OK;
}

/* After a chunk failed to read, libspng says only "non-recoverable state": the chunk's
 * own error is the cause. */
static int first_error(int e, int chunk_err)
{
    return e == SPNG_EBADSTATE && chunk_err ? chunk_err : e;
}

static int format_channels(int fmt)
{
    return fmt == SPNG_FMT_G8 ? 1 : fmt == SPNG_FMT_RGB8 ? 3 : 4;
}

/* Keeps the first and (with alpha) the last channel of each pixel: gray from gray RGB(A). */
static void compact_gray(struct imgpipe_image *img, int channels)
{
    size_t n = (size_t)img->width * img->height;
    int from = img->channels;
    for (size_t i = 0; i < n; i++) {
        img->pixels[i * channels] = img->pixels[i * from];
        if (channels == 2)
            img->pixels[i * 2 + 1] = img->pixels[i * from + from - 1];
    }
    img->channels = channels;
    img->stride = (size_t)img->width * channels;
}

int imgpipe_png_info(const unsigned char *src, size_t len, struct imgpipe_image_info *info,
                     char *err)
{
    int rc;
    spng_ctx *ctx = open_decoder(src, len, err, &rc);
    if (!ctx)
        return rc;
    struct spng_ihdr ihdr;
    int fmt, chunk_err;
    rc = read_header(ctx, &ihdr, &fmt, &info->channels, &chunk_err, err);
    if (!rc) {
        info->width = (int)ihdr.width;
        info->height = (int)ihdr.height;
        struct spng_exif exif;
        info->orientation = 1;
        if (spng_get_exif(ctx, &exif) == 0)
            info->orientation =
                imgpipe_exif_orientation((const unsigned char *)exif.data, exif.length);
    }
    spng_ctx_free(ctx);
    return rc;
}

/* 16-bit samples to 8 bits, rounded (v / 257), as png_set_scale_16 does: libspng's own
 * 8-bit output keeps only the high byte. */
static void scale16(const uint16_t *in, struct imgpipe_image *out)
{
    size_t n = (size_t)out->width * out->height * 4;
    for (size_t i = 0; i < n; i++)
        out->pixels[i] = (unsigned char)((in[i] + 128u) / 257u);
}

/* Decodes into the engine's pixel buffer; 16-bit images through its aux buffer. */
static int decode_pixels(struct imgpipe_engine *eng, spng_ctx *ctx, const struct spng_ihdr *ihdr,
                         int fmt, struct imgpipe_image *out)
{
    int wide = ihdr->bit_depth == 16;
    int ofmt = wide ? SPNG_FMT_RGBA16 : fmt;
    int channels = wide ? 4 : format_channels(fmt);
    size_t need;
    int e = spng_decoded_image_size(ctx, ofmt, &need);
    if (e)
        return e;
    size_t stride = (size_t)ihdr->width * channels;
    *out = (struct imgpipe_image){.width = (int)ihdr->width,
                                  .height = (int)ihdr->height,
                                  .channels = channels,
                                  .stride = stride,
                                  .borrowed = 1};
    out->pixels = imgpipe_scratch_get(&eng->pixels, stride * ihdr->height);
    void *dst = wide ? imgpipe_scratch_get(&eng->aux, need) : out->pixels;
    if (!out->pixels || !dst)
        return SPNG_EMEM;
    if (!wide && need != stride * ihdr->height)
        return SPNG_EINTERNAL;
    e = spng_decode_image(ctx, dst, need, ofmt, SPNG_DECODE_TRNS);
    if (!e && wide)
        scale16(dst, out);
    return e;
}

/* Drops an alpha channel that decoding to RGBA added to an image without one. */
static void drop_alpha(struct imgpipe_image *img)
{
    size_t n = (size_t)img->width * img->height;
    for (size_t i = 0; i < n; i++)
        memmove(img->pixels + i * 3, img->pixels + i * 4, 3);
    img->channels = 3;
    img->stride = (size_t)img->width * 3;
}

/* The iCCP profile of a colour PNG to eng->icc (none when an sRGB chunk says sRGB). */
static int read_icc(struct imgpipe_engine *eng, spng_ctx *ctx, int channels)
{
    struct spng_iccp iccp;
    uint8_t intent;
    eng->icc.len = 0;
    if (channels < 3 || spng_get_srgb(ctx, &intent) == 0 || spng_get_iccp(ctx, &iccp) != 0)
        return IMGPIPE_OK;
    return imgpipe_buf_append(&eng->icc, iccp.profile, iccp.profile_len);
}

int imgpipe_png_decode(struct imgpipe_engine *eng, const unsigned char *src, size_t len,
                       uint64_t max_pixels, struct imgpipe_image *out, char *err)
{
    int rc;
    spng_ctx *ctx = open_decoder(src, len, err, &rc);
    if (!ctx)
        return rc;
    struct spng_ihdr ihdr;
    int fmt = 0, channels = 0, chunk_err = 0;
    rc = read_header(ctx, &ihdr, &fmt, &channels, &chunk_err, err);
    if (rc)
        goto done;
    if ((uint64_t)ihdr.width * ihdr.height > max_pixels) {
        rc = imgpipe_errf(err, IMGPIPE_ETOOBIG, "PNG is %ux%u, over the %llu pixel limit",
                          ihdr.width, ihdr.height, (unsigned long long)max_pixels);
        goto done;
    }
    int e = first_error(decode_pixels(eng, ctx, &ihdr, fmt, out), chunk_err);
    if (e == SPNG_EMEM) {
        rc = imgpipe_errf(err, IMGPIPE_ENOMEM, "out of memory decoding a %ux%u PNG", ihdr.width,
                          ihdr.height);
    } else if (e) {
        rc = imgpipe_errf(err, IMGPIPE_ECORRUPT, "corrupt PNG: %s", spng_strerror(e));
    } else if (read_icc(eng, ctx, channels) != 0) {
        rc = imgpipe_errf(err, IMGPIPE_ENOMEM, "out of memory reading a PNG's ICC profile");
    } else if (channels < 3) {
        compact_gray(out, channels);
    } else if (channels < out->channels) {
        drop_alpha(out);
    }
    if (rc)
        imgpipe_image_free(out);
done:
    spng_ctx_free(ctx);
    return rc;
}

/* Keeps `to` of `from` channels per pixel of one row: gray (the first) and alpha (the
 * last), or RGB of RGBA. */
static void pack_row(const unsigned char *in, int from, unsigned char *out, int to, int width)
{
    for (int x = 0; x < width; x++, in += from, out += to) {
        out[0] = in[0];
        if (to == 2)
            out[1] = in[from - 1];
        if (to >= 3)
            out[1] = in[1], out[2] = in[2];
    }
}

/* 16-bit samples of one row to 8 bits, rounded (see scale16). */
static void scale16_row(const uint16_t *in, unsigned char *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (unsigned char)((in[i] + 128u) / 257u);
}

/* Interlaced images come in passes, not rows: they are decoded whole, then fed. */
static int feed_whole(struct imgpipe_engine *eng, const unsigned char *src, size_t len,
                      uint64_t max_pixels, imgpipe_row_start start, imgpipe_row_fn row, void *arg,
                      char *err)
{
    struct imgpipe_image img = {0};
    int rc = imgpipe_png_decode(eng, src, len, max_pixels, &img, err);
    struct imgpipe_decode_req req = {.start = start, .row = row, .arg = arg};
    if (!rc)
        rc = imgpipe_decode_feed(&img, &req, "PNG", err);
    imgpipe_image_free(&img);
    return rc;
}

/* stream_rows' result when start() failed: not a libspng code (those are small, and
 * SPNG_IO_EOF is -1). */
#define START_FAILED INT_MIN

/* Decodes rows one by one into the engine's buffers and hands each over in the image's
 * final channel layout. Returns a libspng error, or START_FAILED (*rc set). */
static int stream_rows(struct imgpipe_engine *eng, spng_ctx *ctx, const struct spng_ihdr *ihdr,
                       int fmt, int channels, imgpipe_row_start start, imgpipe_row_fn row,
                       void *arg, int *rc)
{
    int wide = ihdr->bit_depth == 16, w = (int)ihdr->width;
    int ofmt = wide ? SPNG_FMT_RGBA16 : fmt, from = wide ? 4 : format_channels(fmt);
    size_t row_len = (size_t)w * from * (wide ? 2 : 1);
    unsigned char *raw = imgpipe_scratch_get(&eng->aux, row_len);
    unsigned char *px = imgpipe_scratch_get(&eng->pixels, (size_t)w * from * 2);
    if (!raw || !px)
        return SPNG_EMEM;
    unsigned char *packed = px + (size_t)w * from;
    int e = spng_decode_image(ctx, NULL, 0, ofmt, SPNG_DECODE_TRNS | SPNG_DECODE_PROGRESSIVE);
    if (e)
        return e;
    if ((*rc = start(arg, w, (int)ihdr->height, channels)) != 0)
        return START_FAILED;
    for (uint32_t y = 0; y < ihdr->height; y++) {
        e = spng_decode_row(ctx, raw, row_len);
        if (e && !(e == SPNG_EOI && y + 1 == ihdr->height))
            return e;
        const unsigned char *r8 = raw;
        if (wide)
            scale16_row((const uint16_t *)raw, px, (size_t)w * 4), r8 = px;
        if (channels != from)
            pack_row(r8, from, packed, channels, w), r8 = packed;
        row(arg, r8);
    }
    return 0;
}

/* How a row decode goes: libspng's, or the fast path first, or the fast path only. */
enum path { PATH_FAST_FIRST, PATH_FAST_ONLY };

static int decode_rows(struct imgpipe_engine *eng, const unsigned char *src, size_t len,
                       uint64_t max_pixels, const struct imgpipe_decode_req *req, enum path path,
                       char *err)
{
    int rc;
    spng_ctx *ctx = open_decoder(src, len, err, &rc);
    if (!ctx)
        return rc;
    struct spng_ihdr ihdr;
    int fmt = 0, channels = 0, chunk_err = 0;
    rc = read_header(ctx, &ihdr, &fmt, &channels, &chunk_err, err);
    if (!rc && (uint64_t)ihdr.width * ihdr.height > max_pixels)
        rc = imgpipe_errf(err, IMGPIPE_ETOOBIG, "PNG is %ux%u, over the %llu pixel limit",
                          ihdr.width, ihdr.height, (unsigned long long)max_pixels);
    if (!rc && read_icc(eng, ctx, channels) != 0)
        rc = imgpipe_errf(err, IMGPIPE_ENOMEM, "out of memory reading a PNG's ICC profile");
    if (!rc) {
        rc = imgpipe_png_fast(eng, ctx, src, len, channels, req->start, req->row, req->arg, err);
        if (rc != IMGPIPE_PNG_DECLINED || path == PATH_FAST_ONLY) {
            spng_ctx_free(ctx);
            return rc;
        }
        rc = IMGPIPE_OK;
    }
    if (!rc && ihdr.interlace_method != SPNG_INTERLACE_NONE) {
        spng_ctx_free(ctx);
        return feed_whole(eng, src, len, max_pixels, req->start, req->row, req->arg, err);
    }
    int e =
        rc ? 0 : stream_rows(eng, ctx, &ihdr, fmt, channels, req->start, req->row, req->arg, &rc);
    if (e == SPNG_EMEM)
        rc = imgpipe_errf(err, IMGPIPE_ENOMEM, "out of memory decoding a %ux%u PNG", ihdr.width,
                          ihdr.height);
    else if (e == START_FAILED)
        rc = imgpipe_errf(err, rc, "out of memory resizing a %ux%u PNG", ihdr.width, ihdr.height);
    else if (e)
        rc = imgpipe_errf(err, IMGPIPE_ECORRUPT, "corrupt PNG: %s",
                          spng_strerror(first_error(e, chunk_err)));
    spng_ctx_free(ctx);
    return rc;
}

int imgpipe_png_decode_rows(struct imgpipe_engine *eng, const unsigned char *src, size_t len,
                            uint64_t max_pixels, imgpipe_row_start start, imgpipe_row_fn row,
                            void *arg, char *err)
{
    struct imgpipe_decode_req req = {.start = start, .row = row, .arg = arg};
    return decode_rows(eng, src, len, max_pixels, &req, PATH_FAST_FIRST, err);
}

int imgpipe_png_fast_decode_rows(struct imgpipe_engine *eng, const unsigned char *src, size_t len,
                                 uint64_t max_pixels, imgpipe_row_start start, imgpipe_row_fn row,
                                 void *arg, char *err)
{
    struct imgpipe_decode_req req = {.start = start, .row = row, .arg = arg};
    return decode_rows(eng, src, len, max_pixels, &req, PATH_FAST_ONLY, err);
}

static int color_type_for(int channels)
{
    switch (channels) {
    case 1:
        return SPNG_COLOR_TYPE_GRAYSCALE;
    case 2:
        return SPNG_COLOR_TYPE_GRAYSCALE_ALPHA;
    case 3:
        return SPNG_COLOR_TYPE_TRUECOLOR;
    default:
        return SPNG_COLOR_TYPE_TRUECOLOR_ALPHA;
    }
}

int imgpipe_png_encode(const struct imgpipe_image *img, int level, imgpipe_buf *out, char *err)
{
    spng_ctx *ctx = spng_ctx_new(SPNG_CTX_ENCODER);
    if (!ctx)
        return imgpipe_errf(err, IMGPIPE_ENOMEM, "cannot create a PNG encoder");
    struct spng_ihdr ihdr = {
        .width = (uint32_t)img->width,
        .height = (uint32_t)img->height,
        .bit_depth = 8,
        .color_type = (uint8_t)color_type_for(img->channels),
    };
    /* Thumbnails are small: a fast zlib level costs little size and most of the time. */
    int e = spng_set_option(ctx, SPNG_ENCODE_TO_BUFFER, 1);
    if (!e)
        e = spng_set_option(ctx, SPNG_IMG_COMPRESSION_LEVEL, level);
    if (!e)
        e = spng_set_ihdr(ctx, &ihdr);
    if (!e)
        e = spng_encode_image(ctx, img->pixels, img->stride * img->height, SPNG_FMT_PNG,
                              SPNG_ENCODE_FINALIZE);
    size_t png_len = 0;
    void *png = e ? NULL : spng_get_png_buffer(ctx, &png_len, &e);
    int rc = IMGPIPE_OK;
    if (e || !png)
        rc = imgpipe_errf(err, IMGPIPE_ENOMEM, "cannot encode a %dx%d PNG: %s", img->width,
                          img->height, spng_strerror(e));
    else if (imgpipe_buf_append(out, png, png_len) != 0)
        rc = imgpipe_errf(err, IMGPIPE_ENOMEM, "out of memory storing a PNG thumbnail");
    free(png);
    spng_ctx_free(ctx);
    return rc;
}

/* ---- the codec table's entry ---- */

static int sniff(const unsigned char *src, size_t len)
{
    return len >= 8 && memcmp(src, "\x89PNG\r\n\x1A\n", 8) == 0;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Complete when the chunks, each within the file by its length, reach IEND after image
 * data. Bytes after IEND are allowed (libspng ignores them). */
static int complete(const unsigned char *src, size_t len, char *err)
{
    int idat = 0;
    for (size_t pos = 8; pos + 12 <= len;) {
        uint32_t n = be32(src + pos);
        const unsigned char *type = src + pos + 4;
        if (n > 0x7FFFFFFFu || n > len - pos - 12)
            return imgpipe_errf(
                err, IMGPIPE_ECORRUPT,
                "truncated PNG: chunk %.4s at byte %zu needs %lu bytes, %zu are left",
                (const char *)type, pos, (unsigned long)n + 12, len - pos);
        if (memcmp(type, "IDAT", 4) == 0)
            idat = 1;
        if (memcmp(type, "IEND", 4) == 0)
            return idat ? IMGPIPE_OK
                        : imgpipe_errf(err, IMGPIPE_ECORRUPT, "corrupt PNG: IEND before any IDAT");
        pos += 12 + (size_t)n;
    }
    return imgpipe_errf(err, IMGPIPE_ECORRUPT, "truncated PNG: no IEND chunk in its %zu bytes",
                        len);
}

static int info(struct imgpipe_engine *eng, const unsigned char *src, size_t len,
                struct imgpipe_image_info *out, char *err)
{
    (void)eng;
    return imgpipe_png_info(src, len, out, err);
}

static int decode(struct imgpipe_engine *eng, const unsigned char *src, size_t len,
                  const struct imgpipe_decode_req *req, char *err)
{
    return imgpipe_png_decode_rows(eng, src, len, req->max_pixels, req->start, req->row, req->arg,
                                   err);
}

static int encode(struct imgpipe_engine *eng, const struct imgpipe_image *img,
                  const struct imgpipe_encode_opts *o, imgpipe_buf *out, char *err)
{
    (void)eng; /* lossless: no quality */
    return imgpipe_png_encode(img, o->effort ? o->effort : 3, out, err);
}

static const char *const exts[] = {"png", NULL};

const struct imgpipe_codec imgpipe_codec_png = {.name = "png",
                                                .label = "PNG",
                                                .exts = exts,
                                                .sniff = sniff,
                                                .complete = complete,
                                                .info = info,
                                                .decode = decode,
                                                .encode = encode,
                                                .thumb = "png",
                                                .channels_ok = 0x1e,
                                                .default_quality = 85};
