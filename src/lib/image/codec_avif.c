/* AVIF decode and encode through libavif (AV1 by whichever codec it was built with). */
#include "image/codec.h"
#include "common/util.h"

#include <avif/avif.h>
#include <string.h>

static const char *const avif_brands[] = {"avif", "avis", NULL};

static int sniff(const unsigned char *src, size_t len)
{
    return imgpipe_bmff_has_brand(src, len, avif_brands);
}

static int complete(const unsigned char *src, size_t len, char *err)
{
    return imgpipe_bmff_complete(src, len, "AVIF", err);
}

/* A decoder for src whose header is read: its image holds the size and metadata. The
 * pixel limit is libavif's own too, so no AV1 frame over it is ever decoded: libavif
 * hands imageSizeLimit to dav1d as its frame_size_limit, so an AV1 sequence or frame
 * header declaring more than ispe is refused by dav1d before it allocates (libavif
 * chooses dav1d first; its other decoders, libgav1 and aom, take no such limit, so this
 * holds only while libavif is built with dav1d, as every distribution's is). */
static avifDecoder *open_decoder(const unsigned char *src, size_t len, uint64_t max_pixels,
                                 char *err, int *rc)
{
    avifDecoder *d = avifDecoderCreate();
    if (!d) {
        *rc = imgpipe_errf(err, IMGPIPE_ENOMEM, "cannot create an AVIF decoder");
        return NULL;
    }
    d->maxThreads = 1; /* one decode per worker thread already */
    if (max_pixels && max_pixels < AVIF_DEFAULT_IMAGE_SIZE_LIMIT)
        d->imageSizeLimit = (uint32_t)max_pixels;
    avifResult r = avifDecoderSetIOMemory(d, src, len);
    if (r == AVIF_RESULT_OK)
        r = avifDecoderParse(d);
    if (r != AVIF_RESULT_OK) {
        *rc = imgpipe_errf(err, IMGPIPE_ECORRUPT, "corrupt AVIF: %s", avifResultToString(r));
        avifDecoderDestroy(d);
        return NULL;
    }
    *rc = IMGPIPE_OK;
    return d;
}

/* irot/imir when the file has them, else the EXIF orientation. */
static int orientation(const avifImage *im)
{
    int rot = im->transformFlags & AVIF_TRANSFORM_IROT,
        mir = im->transformFlags & AVIF_TRANSFORM_IMIR;
    if (rot || mir)
        return imgpipe_orientation_of(rot ? im->irot.angle : 0, mir ? im->imir.mode : -1);
    return im->exif.size ? imgpipe_exif_block_orientation(im->exif.data, im->exif.size) : 1;
}

static int info(struct imgpipe_engine *eng, const unsigned char *src, size_t len,
                struct imgpipe_image_info *out, char *err)
{
    (void)eng;
    int rc;
    /* No limit here: the caller checks the header's size against its budget and names it. */
    avifDecoder *d = open_decoder(src, len, 0, err, &rc);
    if (!d)
        return rc;
    out->width = (int)d->image->width;
    out->height = (int)d->image->height;
    out->channels = d->alphaPresent ? 4 : 3;
    out->orientation = orientation(d->image);
    avifDecoderDestroy(d);
    if (out->width < 1 || out->height < 1)
        return imgpipe_errf(err, IMGPIPE_ECORRUPT, "corrupt AVIF: no image size");
    return IMGPIPE_OK;
}

static int decode(struct imgpipe_engine *eng, const unsigned char *src, size_t len,
                  const struct imgpipe_decode_req *req, char *err)
{
    int rc;
    avifDecoder *d = open_decoder(src, len, req->max_pixels, err, &rc);
    if (!d)
        return rc;
    avifResult r = avifDecoderNextImage(d);
    if (r != AVIF_RESULT_OK) {
        avifDecoderDestroy(d);
        return imgpipe_errf(err, IMGPIPE_ECORRUPT, "corrupt AVIF: %s", avifResultToString(r));
    }
    int ch = d->alphaPresent ? 4 : 3;
    avifRGBImage rgb;
    avifRGBImageSetDefaults(&rgb, d->image);
    rgb.format = ch == 4 ? AVIF_RGB_FORMAT_RGBA : AVIF_RGB_FORMAT_RGB;
    rgb.depth = 8;
    rgb.rowBytes = rgb.width * (uint32_t)ch;
    struct imgpipe_image img = {.width = (int)rgb.width,
                                .height = (int)rgb.height,
                                .channels = ch,
                                .stride = rgb.rowBytes,
                                .borrowed = 1};
    img.pixels = imgpipe_scratch_get(&eng->pixels, (size_t)rgb.rowBytes * rgb.height);
    rgb.pixels = img.pixels;
    eng->icc.len = 0;
    if (!img.pixels)
        rc = imgpipe_errf(err, IMGPIPE_ENOMEM, "out of memory decoding a %ux%u AVIF", rgb.width,
                          rgb.height);
    else if ((r = avifImageYUVToRGB(d->image, &rgb)) != AVIF_RESULT_OK)
        rc = imgpipe_errf(err, IMGPIPE_ECORRUPT, "corrupt AVIF: %s", avifResultToString(r));
    else if (d->image->icc.size &&
             imgpipe_buf_append(&eng->icc, d->image->icc.data, d->image->icc.size) != 0)
        rc = imgpipe_errf(err, IMGPIPE_ENOMEM, "out of memory reading an AVIF's ICC profile");
    avifDecoderDestroy(d);
    return rc ? rc : imgpipe_decode_feed(&img, req, "AVIF", err);
}

/* Quality 1..100 as AV1 quantizers 63..0. */
static int quantizer(int quality)
{
    return (100 - quality) * 63 / 99;
}

static int encode(struct imgpipe_engine *eng, const struct imgpipe_image *img,
                  const struct imgpipe_encode_opts *o, imgpipe_buf *out, char *err)
{
    (void)eng;
    if (img->channels != 3 && img->channels != 4)
        return imgpipe_errf(err, IMGPIPE_EINVAL, "cannot encode %d channels as AVIF",
                            img->channels);
    avifImage *im = avifImageCreate(img->width, img->height, 8, AVIF_PIXEL_FORMAT_YUV420);
    avifEncoder *enc = avifEncoderCreate();
    avifRWData data = AVIF_DATA_EMPTY;
    avifRGBImage rgb;
    avifResult r = im && enc ? AVIF_RESULT_OK : AVIF_RESULT_OUT_OF_MEMORY;
    if (r == AVIF_RESULT_OK) {
        avifRGBImageSetDefaults(&rgb, im);
        rgb.format = img->channels == 4 ? AVIF_RGB_FORMAT_RGBA : AVIF_RGB_FORMAT_RGB;
        rgb.depth = 8;
        rgb.pixels = img->pixels;
        rgb.rowBytes = (uint32_t)img->stride;
        r = avifImageRGBToYUV(im, &rgb);
    }
    if (r == AVIF_RESULT_OK) {
        enc->maxThreads = 1;
        enc->speed = o->effort ? 10 - o->effort : 8;
        enc->minQuantizer = enc->maxQuantizer = quantizer(o->quality);
        enc->minQuantizerAlpha = enc->maxQuantizerAlpha = quantizer(o->quality);
        r = avifEncoderWrite(enc, im, &data);
    }
    int rc = IMGPIPE_OK;
    if (r != AVIF_RESULT_OK)
        rc = imgpipe_errf(err, IMGPIPE_ENOMEM, "cannot encode a %dx%d AVIF: %s", img->width,
                          img->height, avifResultToString(r));
    else if (imgpipe_buf_append(out, data.data, data.size) != 0)
        rc = imgpipe_errf(err, IMGPIPE_ENOMEM, "out of memory storing an AVIF thumbnail");
    avifRWDataFree(&data);
    if (enc)
        avifEncoderDestroy(enc);
    if (im)
        avifImageDestroy(im);
    return rc;
}

static const char *const exts[] = {"avif", NULL};

const struct imgpipe_codec imgpipe_codec_avif = {.name = "avif",
                                                 .label = "AVIF",
                                                 .exts = exts,
                                                 .sniff = sniff,
                                                 .complete = complete,
                                                 .info = info,
                                                 .decode = decode,
                                                 .encode = encode,
                                                 .thumb = "avif",
                                                 .channels_ok = 1u << 3 | 1u << 4,
                                                 .default_quality = 60};
