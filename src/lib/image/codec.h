/* One interface for every image format: a table of codecs that the thumbnail pipeline,
 * the check before storing and the file listing of `thumbs` all go through, so a new
 * format is one new entry (its codec_*.c file and a line in codec.c), not a new branch in
 * each of them. Not part of the public API. */
#ifndef IMGPIPE_CODEC_H
#define IMGPIPE_CODEC_H

#include "image/image.h"

#include <stddef.h>
#include <stdint.h>

/* The pixel budget when the caller gives none. */
#define IMGPIPE_DEFAULT_MAX_PIXELS 100000000ULL

/* What a decode is asked for and where its rows go. */
struct imgpipe_decode_req {
    int min_width, min_height; /* a codec that can decode scaled (JPEG) stays at least this big */
    uint64_t max_pixels;
    imgpipe_row_start start; /* once, with the decoded size and channels */
    imgpipe_row_fn row;      /* then each row, top to bottom */
    void *arg;
};

/* How an encoder is asked to work: quality 1..100, effort 0 (the format's default) or
 * 1..9 (see imgpipe_thumb_opts). */
struct imgpipe_encode_opts {
    int quality, effort;
};

struct imgpipe_codec {
    const char *name;        /* as imgpipe_sniff_format names it: "jpeg" */
    const char *label;       /* for messages: "JPEG" */
    const char *const *exts; /* file name extensions, lower case, no dot; NULL-terminated */
    /* 1 when the bytes start with this format's magic. */
    int (*sniff)(const unsigned char *src, size_t len);
    /* A cheap walk of the container's structure, no pixel decoded: fails (IMGPIPE_ECORRUPT)
     * when the end is missing, as in a cut download. */
    int (*complete)(const unsigned char *src, size_t len, char *err);
    int (*info)(struct imgpipe_engine *eng, const unsigned char *src, size_t len,
                struct imgpipe_image_info *info, char *err);
    /* Decodes through the engine and hands the rows to req. */
    int (*decode)(struct imgpipe_engine *eng, const unsigned char *src, size_t len,
                  const struct imgpipe_decode_req *req, char *err);
    /* Appends img encoded to out; NULL when the format has no encoder. */
    int (*encode)(struct imgpipe_engine *eng, const struct imgpipe_image *img,
                  const struct imgpipe_encode_opts *o, imgpipe_buf *out, char *err);
    /* The codec its thumbnails are written in: its own name unless it has no encoder. */
    const char *thumb;
    /* The channel counts encode takes: bit n set for n channels. */
    unsigned channels_ok;
    int default_quality; /* when the caller gives none */
};

/* The codec whose magic bytes start src, NULL when none. */
const struct imgpipe_codec *imgpipe_codec_find(const void *src, size_t len);
/* By name ("jpeg") or by file name extension ("JPG", no dot, any case); NULL when none. */
const struct imgpipe_codec *imgpipe_codec_by_name(const char *name);
const struct imgpipe_codec *imgpipe_codec_by_ext(const char *ext);

/* IMGPIPE_OK when head, the first n bytes of an encoded image of size bytes, starts like
 * one of the known formats; else IMGPIPE_EFORMAT with imgpipe_image_check's "not an image"
 * sentence. */
int imgpipe_image_sniff(const void *head, size_t n, uint64_t size, char *err);

/* The one check an image passes before it is stored (`get`) or thumbnailed (`thumbs`): a
 * known format, structurally complete, with a header that reads and declares at most
 * max_pixels (0: the default) pixels, so a decompression bomb is refused by its header.
 * Fills *codec and *info. */
int imgpipe_image_check(const void *src, size_t len, uint64_t max_pixels,
                        const struct imgpipe_codec **codec, struct imgpipe_image_info *info,
                        char *err);

/* Whether thumbnails can be made with opts in the n sizes: the format, quality, effort,
 * fit and sizes checked before a run starts, so that a bad one is one error, not one per
 * image. 0 or IMGPIPE_EINVAL with err. */
int imgpipe_thumb_opts_check(const imgpipe_thumb_opts *opts, const imgpipe_thumb_size *sizes, int n,
                             char *err);

/* imgpipe_thumb_make for an image that passed imgpipe_image_check with opts->max_pixels
 * (c and info are what it filled): the check is not made again. */
int imgpipe_thumb_make_checked(const struct imgpipe_codec *c, const struct imgpipe_image_info *info,
                               const void *src, size_t len, const imgpipe_thumb_opts *opts,
                               imgpipe_thumb_out *outs, int n, char *err);

/* Hands a decoded image's rows to req: for codecs that decode whole. */
int imgpipe_decode_feed(const struct imgpipe_image *img, const struct imgpipe_decode_req *req,
                        const char *label, char *err);

/* Each codec's entry (codec_*.c). */
extern const struct imgpipe_codec imgpipe_codec_jpeg, imgpipe_codec_png, imgpipe_codec_webp,
    imgpipe_codec_gif, imgpipe_codec_avif, imgpipe_codec_heif;

/* ---- bmff.c: the ISO box structure AVIF and HEIF share ---- */

/* 1 when src starts with an ftyp box naming one of brands (NULL-terminated, 4 chars). */
int imgpipe_bmff_has_brand(const unsigned char *src, size_t len, const char *const *brands);
/* Complete when every top-level box fits in the file and meta and mdat are there. */
int imgpipe_bmff_complete(const unsigned char *src, size_t len, const char *label, char *err);
/* 1 when the primary item of a HEIF/AVIF file has an irot or imir property, 0 when it has
 * none, -1 when the boxes that say so cannot be read. */
int imgpipe_bmff_primary_transformed(const unsigned char *src, size_t len);
/* What imgpipe_bmff_each_config hands over: an item, the payload of one of its decoder
 * configuration properties, and its ispe size (0 x 0 when it has none). */
typedef int (*imgpipe_bmff_config_fn)(void *arg, uint32_t item, const unsigned char *config,
                                      size_t len, uint32_t ispe_width, uint32_t ispe_height);
/* Calls fn for each association of a `type` property ("hvcC") with an item in ipma; returns
 * fn's first non-zero result, -1 when meta, ipco or ipma cannot be read, else 0. */
int imgpipe_bmff_each_config(const unsigned char *src, size_t len, const char *type,
                             imgpipe_bmff_config_fn fn, void *arg);
/* The item's ispe size in *width, *height (0 x 0 when it has none): 0, or -1 when meta,
 * ipco or ipma cannot be read. */
int imgpipe_bmff_item_ispe(const unsigned char *src, size_t len, uint32_t item, uint32_t *width,
                           uint32_t *height);
/* Calls fn with each item and its 4-character type from iinf (infe versions 2 and 3); fn's
 * first non-zero result, -1 when the boxes cannot be read, else 0. */
typedef int (*imgpipe_bmff_type_fn)(void *arg, uint32_t item, const char *type);
int imgpipe_bmff_each_item_type(const unsigned char *src, size_t len, imgpipe_bmff_type_fn fn,
                                void *arg);
/* Copies the first (at most cap) bytes of an item's data, as iloc places them in the file
 * or in idat, to buf: how many, or -1 when iloc cannot be read, does not list the item, or
 * puts an extent outside the file or idat. */
/* Calls fn with each extent of an item's data in iloc's order, as a pointer into the file
 * or idat and its length, nothing copied; fn's first non-zero result stops the walk and is
 * returned. 0 after the last extent, -1 when iloc cannot be read, does not list the item,
 * or puts an extent outside the file or idat. */
typedef int (*imgpipe_bmff_extent_fn)(void *arg, const unsigned char *p, size_t n);
int imgpipe_bmff_item_extents(const unsigned char *src, size_t len, uint32_t item,
                              imgpipe_bmff_extent_fn fn, void *arg);
long imgpipe_bmff_item_head(const unsigned char *src, size_t len, uint32_t item, unsigned char *buf,
                            size_t cap);
/* The EXIF orientation equal to irot `angle` (0..3) then imir `mirror` (0, 1; -1: none). */
int imgpipe_orientation_of(int angle, int mirror);
/* The orientation in an Exif item or block whose TIFF header starts within 16 bytes. */
int imgpipe_exif_block_orientation(const unsigned char *p, size_t len);

/* ---- hevc_sps.c: an HEVC stream's coded size, from its parameter sets ---- */

/* pic_width/height_in_luma_samples of an SPS NAL unit (its 2-byte header first, emulation
 * prevention bytes in): 0, or -1 when it is not an SPS or cannot be read that far. */
int imgpipe_hevc_sps_size(const unsigned char *nal, size_t len, uint32_t *width, uint32_t *height);
/* The largest width and height over the SPS units of an hvcC record (the box's payload): 1,
 * 0 when it holds no SPS, -1 when the record or one of its SPS cannot be read. */
int imgpipe_hevc_config_size(const unsigned char *p, size_t len, uint32_t *width, uint32_t *height);

/* A walk over an item's length-prefixed NAL units (ISO/IEC 14496-15 4.3.2), fed in pieces
 * (an item's extents) through a window of a unit's first bytes: the largest width and
 * height over its SPS units, as imgpipe_hevc_config_size gives them for an hvcC. Set
 * length_size (1, 2 or 4) and units (a count shared over a file) and zero the rest. */
#define IMGPIPE_HEVC_SPS_WINDOW 288 /* raw bytes that hold the SPS head hevc_sps.c reads */
struct imgpipe_hevc_walk {
    unsigned length_size;
    uint64_t *units;
    uint32_t width, height;
    int found;
    int in_unit;
    uint64_t left, unit_len;
    size_t have;
    unsigned char buf[IMGPIPE_HEVC_SPS_WINDOW];
};
/* NAL units walked per file at most: more refuses the file as corrupt. */
#define IMGPIPE_HEVC_MAX_UNITS (1u << 20)
/* 0; -1 when an SPS cannot be read or the length size is not 1, 2 or 4; -2 past
 * IMGPIPE_HEVC_MAX_UNITS units. */
int imgpipe_hevc_walk_feed(struct imgpipe_hevc_walk *w, const unsigned char *p, size_t n);
/* 0 when the data fed ended with a whole unit, -1 when a length or a unit was cut. */
int imgpipe_hevc_walk_end(const struct imgpipe_hevc_walk *w);

/* ---- canvas.c ---- */

/* Keeps the w x h rectangle at (x, y) of img. */
int imgpipe_canvas_crop(struct imgpipe_image *img, int x, int y, int w, int h);
/* Replaces img with a w x h image of `channels` channels, img centred on it: the border
 * is bg (RGBA); without alpha in `channels`, img's alpha and bg are flattened onto bg
 * composited on white. Gray `channels` only for gray img and a gray bg. */
int imgpipe_canvas_place(struct imgpipe_image *img, int w, int h, const unsigned char bg[4],
                         int channels);
/* bg composited on white: the opaque colour alpha is flattened onto. */
void imgpipe_canvas_flat(const unsigned char bg[4], unsigned char flat[4]);

#endif
