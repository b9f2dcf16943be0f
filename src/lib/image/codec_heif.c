/* HEIC/HEIF decode through libheif (HEVC through its libde265 plugin); no encoder: their
 * thumbnails are JPEG unless another format is asked for. libheif applies the file's
 * irot/imir itself, so the size and pixels it reports are upright already; a file without
 * them is turned by its EXIF orientation, if any (never both: phones write irot and keep
 * the camera's EXIF orientation beside it). */
#include "image/codec.h"
#include "common/util.h"

#include <libheif/heif.h>
#include <stdlib.h>
#include <string.h>

static const char *const heif_brands[] = {"heic", "heix", "heim", "heis", "hevc",
                                          "hevx", "mif1", "msf1", NULL};
static const char *const avif_brands[] = {"avif", "avis", NULL};

static int sniff(const unsigned char *src, size_t len)
{
    /* mif1 is any HEIF, AVIF too: an AVIF brand makes it AVIF's */
    return imgpipe_bmff_has_brand(src, len, heif_brands) &&
           !imgpipe_bmff_has_brand(src, len, avif_brands);
}

static int complete(const unsigned char *src, size_t len, char *err)
{
    return imgpipe_bmff_complete(src, len, "HEIF", err);
}

static int heif_fail(char *err, struct heif_error e)
{
    const char *why = e.message ? e.message : "unreadable";
    if (e.subcode == heif_suberror_Security_limit_exceeded) /* a size past libheif's own */
        return imgpipe_errf(err, IMGPIPE_ETOOBIG, "HEIF refused: %s", why);
    if (e.code == heif_error_Memory_allocation_error)
        return imgpipe_errf(err, IMGPIPE_ENOMEM, "out of memory reading a HEIF: %s", why);
    return imgpipe_errf(err, IMGPIPE_ECORRUPT, "corrupt HEIF: %s", why);
}

/* 1 when a w x h picture fits in an iw x ih image with pad more in each side, either way
 * round: libheif 1.15 writes a turned grid's ispe turned, its output size not. */
static int fits(uint32_t w, uint32_t h, uint32_t iw, uint32_t ih, uint32_t pad)
{
    return (w <= (uint64_t)iw + pad && h <= (uint64_t)ih + pad) ||
           (w <= (uint64_t)ih + pad && h <= (uint64_t)iw + pad);
}

/* An HEVC coded picture is its image's ispe rounded up to whole coding blocks (the SPS's
 * conformance window crops the rest): less than one 64-sample CTU more in each side. A
 * larger one is a picture the file cannot explain, which libde265 would allocate anyway. */
#define CODED_PADDING 64

/* The largest picture the HEVC streams of a file declare. */
struct coded {
    uint32_t width, height;
    const unsigned char *src;
    size_t len;
    char *err;
    uint64_t units; /* NAL units walked in items' data, against IMGPIPE_HEVC_MAX_UNITS */
};

/* The one rule for an item's SPS sizes, wherever libde265 would read them (its hvcC, its
 * data): within its ispe and padding, else corrupt; the largest counts for the limit. */
static int check_sps(struct coded *c, uint32_t item, const char *where, int found, uint32_t w,
                     uint32_t h, uint32_t ispe_w, uint32_t ispe_h)
{
    if (found < 0)
        return imgpipe_errf(c->err, IMGPIPE_ECORRUPT,
                            "corrupt HEIF: item %u's HEVC parameter sets cannot be read (%s)",
                            (unsigned)item, where);
    if (!found) /* none: libde265 has no picture size to allocate from here */
        return IMGPIPE_OK;
    if (!fits(w, h, ispe_w, ispe_h, CODED_PADDING))
        return imgpipe_errf(c->err, IMGPIPE_ECORRUPT,
                            "corrupt HEIF: item %u's HEVC stream is %ux%u (%s), its image %ux%u",
                            (unsigned)item, (unsigned)w, (unsigned)h, where, (unsigned)ispe_w,
                            (unsigned)ispe_h);
    if ((uint64_t)w * h > (uint64_t)c->width * c->height)
        c->width = w, c->height = h;
    return IMGPIPE_OK;
}

/* libheif hands libde265 the item's data after the hvcC's units, so an SPS in the data
 * replaces the hvcC's: each is walked to. Walked twice when hvcC's length size is not 4:
 * libheif 1.15's libde265 plugin reads every length as 4 bytes whatever hvcC says, a
 * conforming reader as hvcC says; neither reading may find an SPS the rule refuses. */
struct walks {
    struct imgpipe_hevc_walk as_said, as_read;
    int twice, rc;
};

static int feed_walks(void *arg, const unsigned char *p, size_t n)
{
    struct walks *k = arg;
    k->rc = imgpipe_hevc_walk_feed(&k->as_said, p, n);
    if (k->rc == 0 && k->twice)
        k->rc = imgpipe_hevc_walk_feed(&k->as_read, p, n);
    return k->rc != 0;
}

static int check_data(struct coded *c, uint32_t item, unsigned length_size, uint32_t ispe_w,
                      uint32_t ispe_h)
{
    if (length_size == 3) /* 14496-15 allows 1, 2 and 4 */
        return imgpipe_errf(c->err, IMGPIPE_ECORRUPT,
                            "corrupt HEIF: item %u's hvcC gives NAL lengths of 3 bytes",
                            (unsigned)item);
    struct walks k = {.as_said = {.length_size = length_size, .units = &c->units},
                      .as_read = {.length_size = 4, .units = &c->units},
                      .twice = length_size != 4};
    int rc = imgpipe_bmff_item_extents(c->src, c->len, item, feed_walks, &k);
    if (k.rc == -2)
        return imgpipe_errf(c->err, IMGPIPE_ECORRUPT,
                            "corrupt HEIF: more than %u HEVC NAL units in its items",
                            IMGPIPE_HEVC_MAX_UNITS);
    if (rc == -1)
        return imgpipe_errf(c->err, IMGPIPE_ECORRUPT, "corrupt HEIF: item %u's data cannot be read",
                            (unsigned)item);
    if (k.rc != 0 || imgpipe_hevc_walk_end(&k.as_said) != 0 ||
        (k.twice && imgpipe_hevc_walk_end(&k.as_read) != 0))
        return imgpipe_errf(c->err, IMGPIPE_ECORRUPT,
                            "corrupt HEIF: item %u's HEVC data is not whole NAL units (%u-byte "
                            "lengths), or an SPS in it cannot be read",
                            (unsigned)item, length_size);
    rc = check_sps(c, item, "in its data", k.as_said.found, k.as_said.width, k.as_said.height,
                   ispe_w, ispe_h);
    if (rc == IMGPIPE_OK && k.twice)
        rc = check_sps(c, item, "in its data", k.as_read.found, k.as_read.width, k.as_read.height,
                       ispe_w, ispe_h);
    return rc;
}

static int check_config(void *arg, uint32_t item, const unsigned char *config, size_t len,
                        uint32_t ispe_w, uint32_t ispe_h)
{
    struct coded *c = arg;
    uint32_t w, h;
    int found = imgpipe_hevc_config_size(config, len, &w, &h);
    int rc = check_sps(c, item, "in its hvcC", found, w, h, ispe_w, ispe_h);
    /* an item with an hvcC is one libheif decodes with libde265: an hvc1 image, a grid's
     * tile, an alpha plane (config_size read the byte: len >= 23) */
    return rc != IMGPIPE_OK ? rc : check_data(c, item, (config[21] & 3) + 1u, ispe_w, ispe_h);
}

/* A grid's or overlay's output size is the canvas libheif allocates for it: the item's
 * ispe (HEIF 6.6.2.3), else libheif would allocate a canvas no header declares. */
static int check_derived(void *arg, uint32_t item, const char *type)
{
    struct coded *c = arg;
    int grid = memcmp(type, "grid", 4) == 0;
    if (!grid && memcmp(type, "iovl", 4) != 0)
        return IMGPIPE_OK;
    unsigned char d[18];
    size_t at = grid ? 4 : 10; /* version, flags, then rows and columns or a fill colour */
    long n = imgpipe_bmff_item_head(c->src, c->len, item, d, sizeof(d));
    uint32_t iw, ih, w, h;
    int wide = n >= 2 && d[1] & 1;
    if (n < (long)(at + (wide ? 8 : 4)) || imgpipe_bmff_item_ispe(c->src, c->len, item, &iw, &ih))
        return imgpipe_errf(c->err, IMGPIPE_ECORRUPT, "corrupt HEIF: item %u's %.4s is unreadable",
                            (unsigned)item, type);
    w = wide ? (uint32_t)d[at] << 24 | (uint32_t)d[at + 1] << 16 | (uint32_t)d[at + 2] << 8 |
                   d[at + 3]
             : (uint32_t)(d[at] << 8 | d[at + 1]);
    at += wide ? 4 : 2;
    h = wide ? (uint32_t)d[at] << 24 | (uint32_t)d[at + 1] << 16 | (uint32_t)d[at + 2] << 8 |
                   d[at + 3]
             : (uint32_t)(d[at] << 8 | d[at + 1]);
    if (!fits(w, h, iw, ih, 0))
        return imgpipe_errf(
            c->err, IMGPIPE_ECORRUPT, "corrupt HEIF: item %u's %.4s is %ux%u, its image %ux%u",
            (unsigned)item, type, (unsigned)w, (unsigned)h, (unsigned)iw, (unsigned)ih);
    if ((uint64_t)w * h > (uint64_t)c->width * c->height)
        c->width = w, c->height = h;
    return IMGPIPE_OK;
}

/* The largest picture over every hvcC of the file (a grid's tiles, an alpha plane) and
 * every grid or overlay canvas, each checked against its item's ispe, read from the boxes
 * without decoding: what libde265 and libheif will allocate, which the handle's size (the
 * primary item's ispe) does not tell. */
static int coded_size(const unsigned char *src, size_t len, struct coded *c, char *err)
{
    *c = (struct coded){.src = src, .len = len, .err = err};
    int rc = imgpipe_bmff_each_config(src, len, "hvcC", check_config, c);
    if (rc == IMGPIPE_OK)
        rc = imgpipe_bmff_each_item_type(src, len, check_derived, c);
    if (rc < 0 && rc != IMGPIPE_ECORRUPT)
        return imgpipe_errf(err, IMGPIPE_ECORRUPT, "corrupt HEIF: unreadable item properties");
    return rc;
}

/* The primary image's handle, its header read; NULL with *rc set on failure. */
static struct heif_image_handle *open_primary(struct heif_context **ctx, const unsigned char *src,
                                              size_t len, char *err, int *rc)
{
    struct heif_image_handle *h = NULL;
    *ctx = heif_context_alloc();
    if (!*ctx) {
        *rc = imgpipe_errf(err, IMGPIPE_ENOMEM, "cannot create a HEIF decoder");
        return NULL;
    }
    struct heif_error e = heif_context_read_from_memory_without_copy(*ctx, src, len, NULL);
    if (e.code == heif_error_Ok)
        e = heif_context_get_primary_image_handle(*ctx, &h);
    if (e.code != heif_error_Ok) {
        *rc = heif_fail(err, e);
        heif_context_free(*ctx);
        *ctx = NULL;
        return NULL;
    }
    *rc = IMGPIPE_OK;
    return h;
}

/* The orientation in the image's Exif metadata block, 1 when there is none. */
static int exif_orientation(const struct heif_image_handle *h)
{
    heif_item_id id;
    if (heif_image_handle_get_list_of_metadata_block_IDs(h, "Exif", &id, 1) < 1)
        return 1;
    size_t n = heif_image_handle_get_metadata_size(h, id);
    unsigned char head[64];
    if (n == 0 || n > 1 << 20)
        return 1;
    unsigned char *block = n <= sizeof(head) ? head : malloc(n);
    int o = 1;
    if (block && heif_image_handle_get_metadata(h, id, block).code == heif_error_Ok)
        o = imgpipe_exif_block_orientation(block, n);
    if (block != head)
        free(block);
    return o;
}

static int info(struct imgpipe_engine *eng, const unsigned char *src, size_t len,
                struct imgpipe_image_info *out, char *err)
{
    (void)eng;
    struct heif_context *ctx;
    int rc;
    struct heif_image_handle *h = open_primary(&ctx, src, len, err, &rc);
    if (!h)
        return rc;
    struct coded c;
    if ((rc = coded_size(src, len, &c, err)) != IMGPIPE_OK) {
        heif_image_handle_release(h);
        heif_context_free(ctx);
        return rc;
    }
    out->coded_width = c.width;
    out->coded_height = c.height;
    out->width = heif_image_handle_get_width(h);
    out->height = heif_image_handle_get_height(h);
    out->channels = heif_image_handle_has_alpha_channel(h) ? 4 : 3;
    out->orientation = imgpipe_bmff_primary_transformed(src, len) == 0 ? exif_orientation(h) : 1;
    heif_image_handle_release(h);
    heif_context_free(ctx);
    if (out->width < 1 || out->height < 1)
        return imgpipe_errf(err, IMGPIPE_ECORRUPT, "corrupt HEIF: no image size");
    return IMGPIPE_OK;
}

/* The handle's ICC profile (prof or rICC) to eng->icc. */
static int read_icc(struct imgpipe_engine *eng, const struct heif_image_handle *h)
{
    enum heif_color_profile_type t = heif_image_handle_get_color_profile_type(h);
    size_t n = heif_image_handle_get_raw_color_profile_size(h);
    eng->icc.len = 0;
    if ((t != heif_color_profile_type_prof && t != heif_color_profile_type_rICC) || n == 0)
        return IMGPIPE_OK;
    if (imgpipe_buf_reserve(&eng->icc, n) != 0)
        return IMGPIPE_ENOMEM;
    if (heif_image_handle_get_raw_color_profile(h, eng->icc.data).code == heif_error_Ok)
        eng->icc.len = n;
    return IMGPIPE_OK;
}

static int feed(const struct heif_image *img, int ch, const struct imgpipe_decode_req *req,
                char *err)
{
    int stride = 0;
    const uint8_t *p = heif_image_get_plane_readonly(img, heif_channel_interleaved, &stride);
    if (!p || stride < 1)
        return imgpipe_errf(err, IMGPIPE_ECORRUPT, "corrupt HEIF: no decoded pixels");
    struct imgpipe_image view = {.width = heif_image_get_width(img, heif_channel_interleaved),
                                 .height = heif_image_get_height(img, heif_channel_interleaved),
                                 .channels = ch,
                                 .stride = (size_t)stride,
                                 .pixels = (unsigned char *)p,
                                 .borrowed = 1};
    return imgpipe_decode_feed(&view, req, "HEIF", err);
}

static int decode(struct imgpipe_engine *eng, const unsigned char *src, size_t len,
                  const struct imgpipe_decode_req *req, char *err)
{
    struct heif_context *ctx;
    int rc;
    struct heif_image_handle *h = open_primary(&ctx, src, len, err, &rc);
    if (!h)
        return rc;
    uint64_t px = (uint64_t)heif_image_handle_get_width(h) * heif_image_handle_get_height(h);
    int ch = heif_image_handle_has_alpha_channel(h) ? 4 : 3;
    struct heif_image *img = NULL;
    struct coded c;
    if (px > req->max_pixels) {
        rc = imgpipe_errf(err, IMGPIPE_ETOOBIG, "HEIF is %llu pixels, over the %llu pixel limit",
                          (unsigned long long)px, (unsigned long long)req->max_pixels);
    } else if ((rc = coded_size(src, len, &c, err)) == IMGPIPE_OK &&
               (uint64_t)c.width * c.height > req->max_pixels) {
        rc = imgpipe_errf(err, IMGPIPE_ETOOBIG,
                          "HEIF's coded stream is %ux%u (%llu pixels), over the %llu pixel limit",
                          (unsigned)c.width, (unsigned)c.height,
                          (unsigned long long)c.width * c.height,
                          (unsigned long long)req->max_pixels);
    } else if (rc == IMGPIPE_OK) {
        struct heif_error e = heif_decode_image(
            h, &img, heif_colorspace_RGB,
            ch == 4 ? heif_chroma_interleaved_RGBA : heif_chroma_interleaved_RGB, NULL);
        rc = e.code != heif_error_Ok ? heif_fail(err, e)
             : read_icc(eng, h)      ? imgpipe_errf(err, IMGPIPE_ENOMEM,
                                                    "out of memory reading "
                                                         "a HEIF's ICC profile")
                                     : feed(img, ch, req, err);
    }
    if (img)
        heif_image_release(img);
    heif_image_handle_release(h);
    heif_context_free(ctx);
    return rc;
}

static const char *const exts[] = {"heic", "heif", "hif", NULL};

const struct imgpipe_codec imgpipe_codec_heif = {.name = "heif",
                                                 .label = "HEIF",
                                                 .exts = exts,
                                                 .sniff = sniff,
                                                 .complete = complete,
                                                 .info = info,
                                                 .decode = decode,
                                                 .encode = NULL,
                                                 .thumb = "jpeg",
                                                 .channels_ok = 0,
                                                 .default_quality = 85};
