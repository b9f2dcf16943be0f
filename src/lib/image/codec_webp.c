/* WebP decode and encode through libwebp; animated WebP through libwebpdemux, first frame. */
#include "image/codec.h"
#include "common/util.h"

#include <string.h>
#include <webp/decode.h>
#include <webp/demux.h>
#include <webp/encode.h>

static int features(const unsigned char *src, size_t len, WebPBitstreamFeatures *f, char *err)
{
    VP8StatusCode st = WebPGetFeatures(src, len, f);
    if (st == VP8_STATUS_NOT_ENOUGH_DATA)
        return imgpipe_errf(err, IMGPIPE_ECORRUPT, "corrupt WebP: truncated header");
    if (st != VP8_STATUS_OK || f->width <= 0 || f->height <= 0)
        return imgpipe_errf(err, IMGPIPE_ECORRUPT, "corrupt WebP: bad header (status %d)", (int)st);
    return IMGPIPE_OK;
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

#define VP8X_EXIF_FLAG 0x08

/* The payload of the first chunk of `fourcc` among the RIFF chunks in [src + 12, src + end),
 * NULL when it or a chunk before it runs past the end. Sizes are attacker-controlled: each is
 * checked against what is left before it is used, and every step moves forward at least
 * 8 bytes, so many chunks cost linear time. */
static const unsigned char *find_chunk(const unsigned char *src, size_t end, const char *fourcc,
                                       size_t *size)
{
    size_t at = 12;
    while (end >= at + 8) {
        size_t n = le32(src + at + 4), left = end - at - 8;
        if (n > left)
            return NULL;
        if (memcmp(src + at, fourcc, 4) == 0) {
            *size = n;
            return src + at + 8;
        }
        /* An odd-sized chunk is followed by a pad byte (it may be missing at the end). */
        if (n + (n & 1) >= left)
            return NULL;
        at += 8 + n + (n & 1);
    }
    return NULL;
}

/* The EXIF orientation of an extended WebP whose VP8X header flags EXIF, 1 otherwise or when
 * the EXIF cannot be read. The chunk holds a TIFF header; some tools put JPEG's "Exif\0\0"
 * before it. */
static int exif_orientation(const unsigned char *src, size_t len)
{
    /* libwebp also reads a bare VP8/VP8L bitstream, which has no chunks. */
    if (len < 30 || memcmp(src, "RIFF", 4) != 0 || memcmp(src + 8, "WEBP", 4) != 0 ||
        memcmp(src + 12, "VP8X", 4) != 0 || le32(src + 16) < 10 || !(src[20] & VP8X_EXIF_FLAG))
        return 1;
    /* Bytes after the RIFF's declared size are not part of the file's chunks. */
    size_t end = len, riff = le32(src + 4);
    if (riff >= 4 && riff <= len - 8)
        end = riff + 8;
    size_t n;
    const unsigned char *exif = find_chunk(src, end, "EXIF", &n);
    if (!exif)
        return 1;
    if (n >= 6 && memcmp(exif, "Exif\0\0", 6) == 0)
        exif += 6, n -= 6;
    return imgpipe_exif_orientation(exif, n);
}

int imgpipe_webp_info(const unsigned char *src, size_t len, struct imgpipe_image_info *info,
                      char *err)
{
    WebPBitstreamFeatures f;
    int rc = features(src, len, &f, err);
    if (rc)
        return rc;
    info->width = f.width;
    info->height = f.height;
    info->channels = f.has_alpha || f.has_animation ? 4 : 3;
    info->orientation = exif_orientation(src, len);
    return IMGPIPE_OK;
}

/* The ICCP chunk of an extended WebP to eng->icc. */
static int read_icc(struct imgpipe_engine *eng, const WebPData *data)
{
    eng->icc.len = 0;
    WebPDemuxer *dmux = WebPDemux(data);
    if (!dmux)
        return IMGPIPE_OK;
    WebPChunkIterator it;
    int rc = IMGPIPE_OK;
    if ((WebPDemuxGetI(dmux, WEBP_FF_FORMAT_FLAGS) & ICCP_FLAG) &&
        WebPDemuxGetChunk(dmux, "ICCP", 1, &it)) {
        rc = imgpipe_buf_append(&eng->icc, it.chunk.bytes, it.chunk.size);
        WebPDemuxReleaseChunkIterator(&it);
    }
    WebPDemuxDelete(dmux);
    return rc;
}

/* The first frame of an animation, composed on its canvas, as RGBA. */
static int first_frame(const WebPData *data, struct imgpipe_image *out, char *err)
{
    WebPAnimDecoderOptions o;
    if (!WebPAnimDecoderOptionsInit(&o))
        return imgpipe_errf(err, IMGPIPE_ECORRUPT, "libwebp version mismatch");
    o.color_mode = MODE_RGBA;
    o.use_threads = 0;
    WebPAnimDecoder *dec = WebPAnimDecoderNew(data, &o);
    uint8_t *frame;
    int ts, rc = IMGPIPE_OK;
    if (!dec || !WebPAnimDecoderGetNext(dec, &frame, &ts))
        rc = imgpipe_errf(err, IMGPIPE_ECORRUPT, "corrupt animated WebP: no first frame");
    else
        memcpy(out->pixels, frame, out->stride * out->height);
    WebPAnimDecoderDelete(dec);
    return rc;
}

int imgpipe_webp_decode(struct imgpipe_engine *eng, const unsigned char *src, size_t len,
                        struct imgpipe_image *out, char *err)
{
    WebPBitstreamFeatures f;
    int rc = features(src, len, &f, err);
    if (rc)
        return rc;
    int ch = f.has_alpha || f.has_animation ? 4 : 3;
    size_t stride = (size_t)f.width * ch;
    *out = (struct imgpipe_image){
        .width = f.width, .height = f.height, .channels = ch, .stride = stride, .borrowed = 1};
    out->pixels = imgpipe_scratch_get(&eng->pixels, stride * f.height);
    if (!out->pixels)
        return imgpipe_errf(err, IMGPIPE_ENOMEM, "out of memory decoding a %dx%d WebP", f.width,
                            f.height);
    WebPData data = {src, len};
    if (f.has_animation) {
        rc = first_frame(&data, out, err);
    } else {
        size_t size = stride * f.height;
        uint8_t *p = ch == 4 ? WebPDecodeRGBAInto(src, len, out->pixels, size, (int)stride)
                             : WebPDecodeRGBInto(src, len, out->pixels, size, (int)stride);
        if (!p)
            rc = imgpipe_errf(err, IMGPIPE_ECORRUPT, "corrupt WebP: cannot decode its pixels");
    }
    if (!rc && read_icc(eng, &data) != 0)
        rc = imgpipe_errf(err, IMGPIPE_ENOMEM, "out of memory reading a WebP's ICC profile");
    if (rc)
        imgpipe_image_free(out);
    return rc;
}

/* WebPEncodeRGB(A) with a method: the advanced API, written to out. */
static int webp_write(const uint8_t *data, size_t size, const WebPPicture *pic)
{
    return imgpipe_buf_append(pic->custom_ptr, data, size) == 0;
}

int imgpipe_webp_encode(const struct imgpipe_image *img, int quality, int method, imgpipe_buf *out,
                        char *err)
{
    if (img->channels != 3 && img->channels != 4)
        return imgpipe_errf(err, IMGPIPE_EINVAL, "cannot encode %d channels as WebP",
                            img->channels);
    WebPConfig cfg;
    WebPPicture pic;
    if (!WebPConfigPreset(&cfg, WEBP_PRESET_DEFAULT, (float)quality) || !WebPPictureInit(&pic))
        return imgpipe_errf(err, IMGPIPE_EINVAL, "libwebp version mismatch");
    cfg.method = method;
    pic.width = img->width, pic.height = img->height;
    pic.writer = webp_write, pic.custom_ptr = out;
    int ok = img->channels == 4 ? WebPPictureImportRGBA(&pic, img->pixels, (int)img->stride)
                                : WebPPictureImportRGB(&pic, img->pixels, (int)img->stride);
    size_t before = out->len;
    ok = ok && WebPEncode(&cfg, &pic);
    WebPPictureFree(&pic);
    if (ok)
        return IMGPIPE_OK;
    out->len = before;
    return imgpipe_errf(err, IMGPIPE_ENOMEM, "cannot encode a %dx%d WebP", img->width, img->height);
}

/* ---- the codec table's entry ---- */

static int sniff(const unsigned char *src, size_t len)
{
    return len >= 12 && memcmp(src, "RIFF", 4) == 0 && memcmp(src + 8, "WEBP", 4) == 0;
}

/* Complete when the file holds all the bytes its RIFF header declares (bytes after them
 * are allowed, as libwebp allows them). */
static int complete(const unsigned char *src, size_t len, char *err)
{
    size_t riff =
        (size_t)src[4] | (size_t)src[5] << 8 | (size_t)src[6] << 16 | (size_t)src[7] << 24;
    if (riff < 4 || riff > len - 8)
        return imgpipe_errf(err, IMGPIPE_ECORRUPT,
                            "truncated WebP: its RIFF header declares %zu bytes, the file has %zu",
                            riff + 8, len);
    return IMGPIPE_OK;
}

static int info(struct imgpipe_engine *eng, const unsigned char *src, size_t len,
                struct imgpipe_image_info *out, char *err)
{
    (void)eng;
    return imgpipe_webp_info(src, len, out, err);
}

static int decode(struct imgpipe_engine *eng, const unsigned char *src, size_t len,
                  const struct imgpipe_decode_req *req, char *err)
{
    struct imgpipe_image img = {0};
    int rc = imgpipe_webp_decode(eng, src, len, &img, err);
    if (!rc)
        rc = imgpipe_decode_feed(&img, req, "WebP", err);
    imgpipe_image_free(&img);
    return rc;
}

static int encode(struct imgpipe_engine *eng, const struct imgpipe_image *img,
                  const struct imgpipe_encode_opts *o, imgpipe_buf *out, char *err)
{
    (void)eng;
    return imgpipe_webp_encode(img, o->quality, o->effort ? o->effort * 2 / 3 : 4, out, err);
}

static const char *const exts[] = {"webp", NULL};

const struct imgpipe_codec imgpipe_codec_webp = {.name = "webp",
                                                 .label = "WebP",
                                                 .exts = exts,
                                                 .sniff = sniff,
                                                 .complete = complete,
                                                 .info = info,
                                                 .decode = decode,
                                                 .encode = encode,
                                                 .thumb = "webp",
                                                 .channels_ok = 1u << 3 | 1u << 4,
                                                 .default_quality = 85};
