/* JPEG decode (DCT-scaled) and encode through the TurboJPEG 2.x API. */
#include "image.h"
#include "util.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

/* Limits progressive JPEGs to a sane number of scans: a crafted file with thousands of
 * tiny scans costs minutes of CPU (libjpeg-turbo's own DoS guard). */
#define DECODE_FLAGS TJFLAG_LIMITSCANS

static int header(tjhandle tj, const unsigned char *src, size_t len, int *w, int *h, int *cs,
                  char *err)
{
    int subsamp = -1;
    /* TurboJPEG 2.1 returns 0 without setting the outputs when the data ends inside the
     * headers (a warning), so start from values that read as "no image". */
    *w = *h = 0;
    *cs = -1;
    if (len > ULONG_MAX)
        return imgpipe_errf(err, IMGPIPE_ETOOBIG, "JPEG data is too large (%zu bytes)", len);
    if (tjDecompressHeader3(tj, src, (unsigned long)len, w, h, &subsamp, cs) != 0)
        return imgpipe_errf(err, IMGPIPE_ECORRUPT, "corrupt JPEG: %s", tjGetErrorStr2(tj));
    if (*w <= 0 || *h <= 0 || *cs < 0)
        return imgpipe_errf(err, IMGPIPE_ECORRUPT, "corrupt JPEG: %s", tjGetErrorStr2(tj));
    return IMGPIPE_OK;
}

static int channels_for(int colorspace)
{
    return colorspace == TJCS_GRAY ? 1 : 3;
}

int imgpipe_jpeg_info(const unsigned char *src, size_t len, struct imgpipe_image_info *info,
                      char *err)
{
    tjhandle tj = tjInitDecompress();
    if (!tj)
        return imgpipe_errf(err, IMGPIPE_ENOMEM, "cannot create a JPEG decoder");
    int cs;
    int rc = header(tj, src, len, &info->width, &info->height, &cs, err);
    tjDestroy(tj);
    if (rc)
        return rc;
    info->channels = channels_for(cs);
    info->orientation = imgpipe_jpeg_orientation(src, len);
    return IMGPIPE_OK;
}

/* The smallest scaling factor (<= 1) that keeps both dimensions >= the minimum. */
static tjscalingfactor pick_scale(int w, int h, int min_w, int min_h)
{
    tjscalingfactor best = {1, 1};
    int n = 0;
    const tjscalingfactor *sf = tjGetScalingFactors(&n);
    long best_area = (long)w * h;
    for (int i = 0; sf && i < n; i++) {
        if (sf[i].num > sf[i].denom)
            continue;
        int sw = TJSCALED(w, sf[i]), sh = TJSCALED(h, sf[i]);
        if (sw < min_w || sh < min_h)
            continue;
        if ((long)sw * sh < best_area) {
            best = sf[i];
            best_area = (long)sw * sh;
        }
    }
    return best;
}

/* Converts CMYK samples to RGB in place-compatible order (4 -> 3 bytes per pixel). Adobe
 * (Photoshop) files store inverted inks, which libjpeg hands back as-is. */
static void cmyk_to_rgb(const unsigned char *cmyk, struct imgpipe_image *rgb, int inverted)
{
    for (int y = 0; y < rgb->height; y++) {
        const unsigned char *s = cmyk + (size_t)y * rgb->width * 4;
        unsigned char *d = rgb->pixels + (size_t)y * rgb->stride;
        for (int x = 0; x < rgb->width; x++, s += 4, d += 3) {
            int k = inverted ? s[3] : 255 - s[3];
            for (int c = 0; c < 3; c++) {
                int v = inverted ? s[c] : 255 - s[c];
                d[c] = (unsigned char)((v * k + 127) / 255);
            }
        }
    }
}

/* libjpeg's warnings cover both the harmless (extraneous bytes before a marker, common in
 * real files) and a truncated file, whose missing rows come out grey: the first kind is
 * kept, as vips does with fail_on=none, the second fails, so that a cut download is never
 * taken for an image. */
static int decode_failed(tjhandle tj)
{
    return tjGetErrorCode(tj) != TJERR_WARNING || strstr(tjGetErrorStr2(tj), "Premature end");
}

static int decode_cmyk(tjhandle tj, const unsigned char *src, size_t len, int w, int h,
                       struct imgpipe_image *out, char *err)
{
    unsigned char *cmyk = malloc((size_t)w * h * 4);
    if (!cmyk)
        return imgpipe_errf(err, IMGPIPE_ENOMEM, "out of memory decoding a %dx%d JPEG", w, h);
    int rc = tjDecompress2(tj, src, (unsigned long)len, cmyk, w, w * 4, h, TJPF_CMYK, DECODE_FLAGS);
    if (rc != 0 && decode_failed(tj)) {
        rc = imgpipe_errf(err, IMGPIPE_ECORRUPT, "corrupt JPEG: %s", tjGetErrorStr2(tj));
    } else {
        const unsigned char *adobe;
        size_t adobe_len;
        int inverted = imgpipe_jpeg_find_segment(src, len, 0xEE, "Adobe", 5, &adobe, &adobe_len);
        cmyk_to_rgb(cmyk, out, inverted);
        rc = IMGPIPE_OK;
    }
    free(cmyk);
    return rc;
}

int imgpipe_jpeg_decode(const unsigned char *src, size_t len, int min_width, int min_height,
                        struct imgpipe_image *out, char *err)
{
    tjhandle tj = tjInitDecompress();
    if (!tj)
        return imgpipe_errf(err, IMGPIPE_ENOMEM, "cannot create a JPEG decoder");
    int w, h, cs;
    int rc = header(tj, src, len, &w, &h, &cs, err);
    if (rc)
        goto done;
    tjscalingfactor sf = pick_scale(w, h, min_width, min_height);
    int sw = TJSCALED(w, sf), sh = TJSCALED(h, sf);
    rc = imgpipe_image_alloc(out, sw, sh, channels_for(cs));
    if (rc) {
        rc = imgpipe_errf(err, rc, "out of memory decoding a %dx%d JPEG", sw, sh);
        goto done;
    }
    if (cs == TJCS_CMYK || cs == TJCS_YCCK) {
        rc = decode_cmyk(tj, src, len, sw, sh, out, err);
    } else if (tjDecompress2(tj, src, (unsigned long)len, out->pixels, sw, (int)out->stride, sh,
                             out->channels == 1 ? TJPF_GRAY : TJPF_RGB, DECODE_FLAGS) != 0 &&
               decode_failed(tj)) {
        rc = imgpipe_errf(err, IMGPIPE_ECORRUPT, "corrupt JPEG: %s", tjGetErrorStr2(tj));
    }
    if (rc)
        imgpipe_image_free(out);
done:
    tjDestroy(tj);
    return rc;
}

int imgpipe_jpeg_encode(const struct imgpipe_image *img, int quality, imgpipe_buf *out, char *err)
{
    if (img->channels != 1 && img->channels != 3)
        return imgpipe_errf(err, IMGPIPE_EINVAL, "cannot encode %d channels as JPEG",
                            img->channels);
    tjhandle tj = tjInitCompress();
    if (!tj)
        return imgpipe_errf(err, IMGPIPE_ENOMEM, "cannot create a JPEG encoder");
    unsigned char *jpeg = NULL;
    unsigned long jpeg_len = 0;
    int gray = img->channels == 1;
    int rc = IMGPIPE_OK;
    if (tjCompress2(tj, img->pixels, img->width, (int)img->stride, img->height,
                    gray ? TJPF_GRAY : TJPF_RGB, &jpeg, &jpeg_len, gray ? TJSAMP_GRAY : TJSAMP_420,
                    quality, 0) != 0)
        rc = imgpipe_errf(err, IMGPIPE_ENOMEM, "cannot encode a %dx%d JPEG: %s", img->width,
                          img->height, tjGetErrorStr2(tj));
    else if (imgpipe_buf_append(out, jpeg, jpeg_len) != 0)
        rc = imgpipe_errf(err, IMGPIPE_ENOMEM, "out of memory storing a JPEG thumbnail");
    tjFree(jpeg);
    tjDestroy(tj);
    return rc;
}

/* Markers that carry no length field (RSTn, SOI, TEM). */
static int standalone(int marker)
{
    return marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8);
}

int imgpipe_jpeg_find_segment(const unsigned char *src, size_t len, int marker, const char *prefix,
                              size_t prefix_len, const unsigned char **payload, size_t *payload_len)
{
    size_t pos = 2; /* after SOI */
    if (len < 4 || src[0] != 0xFF || src[1] != 0xD8)
        return 0;
    while (pos + 4 <= len) {
        if (src[pos] != 0xFF)
            return 0;
        int m = src[pos + 1];
        if (m == 0xFF) { /* fill byte */
            pos++;
            continue;
        }
        if (m == 0xDA || m == 0xD9) /* image data starts: metadata is over */
            return 0;
        if (standalone(m)) {
            pos += 2;
            continue;
        }
        size_t seg = ((size_t)src[pos + 2] << 8) | src[pos + 3];
        if (seg < 2 || seg > len - pos - 2)
            return 0;
        const unsigned char *data = src + pos + 4;
        size_t data_len = seg - 2;
        if (m == marker && data_len >= prefix_len && memcmp(data, prefix, prefix_len) == 0) {
            *payload = data + prefix_len;
            *payload_len = data_len - prefix_len;
            return 1;
        }
        pos += 2 + seg;
    }
    return 0;
}
