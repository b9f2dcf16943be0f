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
    /* Appends img encoded at quality 1..100 to out; NULL when the format has no encoder. */
    int (*encode)(struct imgpipe_engine *eng, const struct imgpipe_image *img, int quality,
                  imgpipe_buf *out, char *err);
    /* The codec its thumbnails are written in: its own name unless it has no encoder. */
    const char *thumb;
};

/* The codec whose magic bytes start src, NULL when none. */
const struct imgpipe_codec *imgpipe_codec_find(const void *src, size_t len);
/* By name ("jpeg") or by file name extension ("JPG", no dot, any case); NULL when none. */
const struct imgpipe_codec *imgpipe_codec_by_name(const char *name);
const struct imgpipe_codec *imgpipe_codec_by_ext(const char *ext);

/* The one check an image passes before it is stored (`get`) or thumbnailed (`thumbs`): a
 * known format, structurally complete, with a header that reads and declares at most
 * max_pixels (0: the default) pixels, so a decompression bomb is refused by its header.
 * Fills *codec and *info. */
int imgpipe_image_check(const void *src, size_t len, uint64_t max_pixels,
                        const struct imgpipe_codec **codec, struct imgpipe_image_info *info,
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
    imgpipe_codec_gif;

#endif
