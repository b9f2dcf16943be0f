/* JPEG decode (DCT-scaled) and encode through the TurboJPEG 2.x API. */
#include "image/codec.h"
#include "common/util.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

/* Limits progressive JPEGs to a sane number of scans: a crafted file with thousands of
 * tiny scans costs minutes of CPU (libjpeg-turbo's own DoS guard). */
#define DECODE_FLAGS TJFLAG_LIMITSCANS

/* TurboJPEG 2.1 leaves a decompressor that failed inside tjDecompressHeader3 unable to
 * read any later header ("Bogus marker length" forever), so the engine's handle is
 * replaced after any failed call; failures are rare, a new handle costs microseconds. */
static void renew(struct imgpipe_engine *eng, int compressor)
{
    void **h = compressor ? &eng->tje : &eng->tjd;
    if (*h)
        tjDestroy(*h);
    *h = compressor ? tjInitCompress() : tjInitDecompress();
}

static int have_handle(struct imgpipe_engine *eng, int compressor, char *err)
{
    if (!(compressor ? eng->tje : eng->tjd))
        renew(eng, compressor);
    if (compressor ? eng->tje : eng->tjd)
        return IMGPIPE_OK;
    return imgpipe_errf(err, IMGPIPE_ENOMEM, "cannot create a JPEG %s",
                        compressor ? "encoder" : "decoder");
}

static int header_of(tjhandle tj, const unsigned char *src, size_t len, int *w, int *h, int *cs,
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

static int read_icc(const unsigned char *src, size_t len, imgpipe_buf *icc);

static int channels_for(int colorspace)
{
    return colorspace == TJCS_GRAY ? 1 : 3;
}

static int header(struct imgpipe_engine *eng, const unsigned char *src, size_t len, int *w, int *h,
                  int *cs, char *err)
{
    int rc = have_handle(eng, 0, err);
    if (!rc)
        rc = header_of(eng->tjd, src, len, w, h, cs, err);
    if (rc)
        renew(eng, 0);
    return rc;
}

int imgpipe_jpeg_info(struct imgpipe_engine *eng, const unsigned char *src, size_t len,
                      struct imgpipe_image_info *info, char *err)
{
    int cs;
    int rc = header(eng, src, len, &info->width, &info->height, &cs, err);
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
 * real files) and a cut or damaged file ("premature end of data segment", "bad Huffman
 * code"), whose missing rows come out grey. A decode stops at the first warning; only when
 * that is the harmless kind is it done again to the end, and then passes only if the last
 * warning is harmless too (TurboJPEG keeps the last one), as vips does with fail_on=none:
 * a cut download is never taken for an image, even when it happens to end in FFD9. */
static int harmless(tjhandle tj)
{
    return tjGetErrorCode(tj) == TJERR_WARNING && strstr(tjGetErrorStr2(tj), "extraneous bytes");
}

/* tjDecompress2 with the policy above; renews the handle after any complaint. */
static int decompress(struct imgpipe_engine *eng, const unsigned char *src, size_t len,
                      unsigned char *dst, int w, int pitch, int h, int pf, char *err)
{
    int flags = DECODE_FLAGS | TJFLAG_STOPONWARNING;
    if (tjDecompress2(eng->tjd, src, (unsigned long)len, dst, w, pitch, h, pf, flags) == 0)
        return IMGPIPE_OK;
    int ok = harmless(eng->tjd);
    if (ok) {
        renew(eng, 0);
        if (!eng->tjd)
            return imgpipe_errf(err, IMGPIPE_ENOMEM, "cannot create a JPEG decoder");
        ok = tjDecompress2(eng->tjd, src, (unsigned long)len, dst, w, pitch, h, pf, DECODE_FLAGS) ==
                 0 ||
             harmless(eng->tjd);
    }
    int rc = ok ? IMGPIPE_OK
                : imgpipe_errf(err, IMGPIPE_ECORRUPT, "corrupt JPEG: %s", tjGetErrorStr2(eng->tjd));
    renew(eng, 0);
    return rc;
}

static int decode_cmyk(struct imgpipe_engine *eng, const unsigned char *src, size_t len, int w,
                       int h, struct imgpipe_image *out, char *err)
{
    unsigned char *cmyk = imgpipe_scratch_get(&eng->aux, (size_t)w * h * 4);
    if (!cmyk)
        return imgpipe_errf(err, IMGPIPE_ENOMEM, "out of memory decoding a %dx%d JPEG", w, h);
    int rc = decompress(eng, src, len, cmyk, w, w * 4, h, TJPF_CMYK, err);
    if (rc)
        return rc;
    const unsigned char *adobe;
    size_t adobe_len;
    int inverted = imgpipe_jpeg_find_segment(src, len, 0xEE, "Adobe", 5, &adobe, &adobe_len);
    /* The inks mean what the file's CMYK profile says (a print profile, e.g. SWOP): through
     * it to sRGB here, on the CMYK samples; the naive inversion only without one. The
     * profile is then used up: the RGB pixels are sRGB already. */
    if (read_icc(src, len, &eng->icc) != 0)
        return imgpipe_errf(err, IMGPIPE_ENOMEM, "out of memory reading a JPEG's ICC profile");
    if (!imgpipe_icc_cmyk_to_srgb(eng, cmyk, inverted, out))
        cmyk_to_rgb(cmyk, out, inverted);
    eng->icc.len = 0;
    return IMGPIPE_OK;
}

/* The decoded image in the engine's pixel buffer (borrowed: no allocation per image). */
static int borrow(struct imgpipe_engine *eng, int w, int h, int channels, struct imgpipe_image *out)
{
    size_t stride = (size_t)w * channels;
    if ((size_t)h > SIZE_MAX / stride)
        return IMGPIPE_ENOMEM;
    *out = (struct imgpipe_image){
        .width = w, .height = h, .channels = channels, .stride = stride, .borrowed = 1};
    out->pixels = imgpipe_scratch_get(&eng->pixels, stride * h);
    return out->pixels ? IMGPIPE_OK : IMGPIPE_ENOMEM;
}

int imgpipe_jpeg_decode(struct imgpipe_engine *eng, const unsigned char *src, size_t len,
                        int min_width, int min_height, struct imgpipe_image *out, char *err)
{
    int w, h, cs;
    int rc = header(eng, src, len, &w, &h, &cs, err);
    if (rc)
        return rc;
    tjscalingfactor sf = pick_scale(w, h, min_width, min_height);
    int sw = TJSCALED(w, sf), sh = TJSCALED(h, sf);
    eng->extent_w = (double)w * sf.num / sf.denom;
    eng->extent_h = (double)h * sf.num / sf.denom;
    if (borrow(eng, sw, sh, channels_for(cs), out))
        return imgpipe_errf(err, IMGPIPE_ENOMEM, "out of memory decoding a %dx%d JPEG", sw, sh);
    if (cs == TJCS_CMYK || cs == TJCS_YCCK) {
        rc = decode_cmyk(eng, src, len, sw, sh, out, err);
    } else {
        rc = decompress(eng, src, len, out->pixels, sw, (int)out->stride, sh,
                        out->channels == 1 ? TJPF_GRAY : TJPF_RGB, err);
    }
    /* A CMYK profile was applied while decoding; an RGB one is applied to the thumbnail. */
    if (!rc && out->channels == 3 && cs != TJCS_CMYK && cs != TJCS_YCCK &&
        read_icc(src, len, &eng->icc) != 0)
        rc = imgpipe_errf(err, IMGPIPE_ENOMEM, "out of memory reading a JPEG's ICC profile");
    if (rc)
        imgpipe_image_free(out);
    return rc;
}

int imgpipe_jpeg_encode(struct imgpipe_engine *eng, const struct imgpipe_image *img,
                        const struct imgpipe_encode_opts *o, imgpipe_buf *out, char *err)
{
    int quality = o->quality, flags = TJFLAG_NOREALLOC | (o->effort >= 7 ? TJFLAG_PROGRESSIVE : 0);
    if (img->channels != 1 && img->channels != 3)
        return imgpipe_errf(err, IMGPIPE_EINVAL, "cannot encode %d channels as JPEG",
                            img->channels);
    int rc = have_handle(eng, 1, err);
    if (rc)
        return rc;
    tjhandle tj = eng->tje;
    int gray = img->channels == 1;
    int samp = gray ? TJSAMP_GRAY : TJSAMP_420;
    /* Encode straight into out, sized for the worst case: no TurboJPEG buffer, no copy. */
    unsigned long cap = tjBufSize(img->width, img->height, samp);
    if (cap == (unsigned long)-1 || imgpipe_buf_reserve(out, cap) != 0)
        return imgpipe_errf(err, IMGPIPE_ENOMEM, "out of memory encoding a %dx%d JPEG", img->width,
                            img->height);
    unsigned char *jpeg = out->data + out->len;
    unsigned long jpeg_len = cap;
    if (tjCompress2(tj, img->pixels, img->width, (int)img->stride, img->height,
                    gray ? TJPF_GRAY : TJPF_RGB, &jpeg, &jpeg_len, samp, quality, flags) != 0) {
        rc = imgpipe_errf(err, IMGPIPE_ENOMEM, "cannot encode a %dx%d JPEG: %s", img->width,
                          img->height, tjGetErrorStr2(tj));
        renew(eng, 1);
        return rc;
    }
    out->len += jpeg_len;
    return IMGPIPE_OK;
}

/* Markers that carry no length field (RSTn, SOI, TEM). */
static int standalone(int marker)
{
    return marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8);
}

/* The next marker segment at or after *pos (a marker's offset; 2 starts after SOI) and
 * before SOS whose payload starts with prefix; *pos moves past it. 1 found, 0 not. */
static int next_segment(const unsigned char *src, size_t len, size_t *pos, int marker,
                        const char *prefix, size_t prefix_len, const unsigned char **payload,
                        size_t *payload_len)
{
    if (len < 4 || src[0] != 0xFF || src[1] != 0xD8)
        return 0;
    while (*pos + 4 <= len) {
        size_t at = *pos;
        if (src[at] != 0xFF)
            return 0;
        int m = src[at + 1];
        if (m == 0xFF) { /* fill byte */
            (*pos)++;
            continue;
        }
        if (m == 0xDA || m == 0xD9) /* image data starts: metadata is over */
            return 0;
        if (standalone(m)) {
            *pos += 2;
            continue;
        }
        size_t seg = ((size_t)src[at + 2] << 8) | src[at + 3];
        if (seg < 2 || seg > len - at - 2)
            return 0;
        const unsigned char *data = src + at + 4;
        size_t data_len = seg - 2;
        *pos += 2 + seg;
        if (m == marker && data_len >= prefix_len && memcmp(data, prefix, prefix_len) == 0) {
            *payload = data + prefix_len;
            *payload_len = data_len - prefix_len;
            return 1;
        }
    }
    return 0;
}

int imgpipe_jpeg_find_segment(const unsigned char *src, size_t len, int marker, const char *prefix,
                              size_t prefix_len, const unsigned char **payload, size_t *payload_len)
{
    size_t pos = 2;
    return next_segment(src, len, &pos, marker, prefix, prefix_len, payload, payload_len);
}

int imgpipe_jpeg_orientation(const unsigned char *src, size_t len)
{
    const unsigned char *tiff;
    size_t tiff_len;
    if (!imgpipe_jpeg_find_segment(src, len, 0xE1, "Exif\0\0", 6, &tiff, &tiff_len))
        return 1;
    return imgpipe_exif_orientation(tiff, tiff_len);
}

/* Appends the ICC profile carried by the APP2 "ICC_PROFILE\0" segments (each: sequence
 * number from 1, count, then a chunk) to icc, chunks in sequence order. A broken chunk
 * list leaves icc empty: the image is then taken as sRGB. Returns 0, or IMGPIPE_ENOMEM. */
static int read_icc(const unsigned char *src, size_t len, imgpipe_buf *icc)
{
    static const char tag[] = "ICC_PROFILE";
    icc->len = 0;
    for (int seq = 1, count = 1; seq <= count; seq++) {
        const unsigned char *p;
        size_t n, pos = 2;
        int found = 0;
        while (!found && next_segment(src, len, &pos, 0xE2, tag, sizeof(tag), &p, &n))
            found = n >= 2 && p[0] == seq;
        if (!found)
            return icc->len = 0, IMGPIPE_OK;
        count = p[1];
        if (imgpipe_buf_append(icc, p + 2, n - 2) != 0)
            return IMGPIPE_ENOMEM;
    }
    return IMGPIPE_OK;
}

/* ---- the codec table's entry ---- */

static int sniff(const unsigned char *src, size_t len)
{
    return len >= 3 && src[0] == 0xFF && src[1] == 0xD8 && src[2] == 0xFF;
}

/* Where the first SOS segment ends, walking the marker segments after SOI (stray bytes
 * between segments are skipped, as libjpeg does); 0 when the headers are cut or broken. */
static size_t scan_start(const unsigned char *src, size_t len)
{
    size_t pos = 2;
    while (pos + 4 <= len) {
        if (src[pos] != 0xFF || src[pos + 1] == 0xFF) { /* a stray or a fill byte */
            pos++;
            continue;
        }
        int m = src[pos + 1];
        if (m == 0xD9)
            return 0;
        if (standalone(m)) {
            pos += 2;
            continue;
        }
        size_t seg = ((size_t)src[pos + 2] << 8) | src[pos + 3];
        if (seg < 2 || seg > len - pos - 2)
            return 0;
        pos += 2 + seg;
        if (m == 0xDA)
            return pos;
    }
    return 0;
}

/* Complete when an EOI marker follows the first scan. Entropy-coded data never holds
 * FF D9 (an FF in it is followed by 00 or RSTn), so one found there is the real end, and
 * bytes a camera or an editor appended after it are allowed. */
static int complete(const unsigned char *src, size_t len, char *err)
{
    size_t scan = scan_start(src, len);
    if (!scan)
        return imgpipe_errf(err, IMGPIPE_ECORRUPT,
                            "truncated JPEG: its headers end before the image data (%zu bytes)",
                            len);
    for (size_t i = len - 1; i > scan; i--)
        if (src[i] == 0xD9 && src[i - 1] == 0xFF)
            return IMGPIPE_OK;
    return imgpipe_errf(err, IMGPIPE_ECORRUPT,
                        "truncated JPEG: no end-of-image marker (FF D9) after its image data "
                        "(%zu bytes)",
                        len);
}

static int info(struct imgpipe_engine *eng, const unsigned char *src, size_t len,
                struct imgpipe_image_info *out, char *err)
{
    return imgpipe_jpeg_info(eng, src, len, out, err);
}

static int decode(struct imgpipe_engine *eng, const unsigned char *src, size_t len,
                  const struct imgpipe_decode_req *req, char *err)
{
    struct imgpipe_image img = {0};
    int rc = imgpipe_jpeg_decode(eng, src, len, req->min_width, req->min_height, &img, err);
    if (!rc)
        rc = imgpipe_decode_feed(&img, req, "JPEG", err);
    imgpipe_image_free(&img);
    return rc;
}

static const char *const exts[] = {"jpg", "jpeg", NULL};

const struct imgpipe_codec imgpipe_codec_jpeg = {.name = "jpeg",
                                                 .label = "JPEG",
                                                 .exts = exts,
                                                 .sniff = sniff,
                                                 .complete = complete,
                                                 .info = info,
                                                 .decode = decode,
                                                 .encode = imgpipe_jpeg_encode,
                                                 .channels_ok = 1u << 1 | 1u << 3,
                                                 .default_quality = 85,
                                                 .thumb = "jpeg"};
