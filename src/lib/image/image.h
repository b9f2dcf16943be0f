/* Internal image model of the thumbnail engine: a decoded 8-bit raster, plus the codec,
 * resize and orientation steps that thumb.c chains together. Not part of the public API. */
#ifndef IMGPIPE_IMAGE_H
#define IMGPIPE_IMAGE_H

#include "imgpipe.h"

#include <stddef.h>
#include <stdint.h>

/* Interleaved 8-bit samples; with 2 or 4 channels the last one is straight (not
 * premultiplied) alpha. Rows are stride bytes apart. */
struct imgpipe_image {
    int width, height;
    int channels; /* 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA */
    size_t stride;
    unsigned char *pixels;
    int borrowed; /* pixels are an engine's scratch buffer: imgpipe_image_free leaves them */
};

/* ---- the image model (image.c) ---- */

/* Allocates pixels for a width x height x channels image (stride = width * channels). */
int imgpipe_image_alloc(struct imgpipe_image *img, int width, int height, int channels);
/* Frees the pixels and zeroes img; accepts a zeroed image. */
void imgpipe_image_free(struct imgpipe_image *img);

/* ---- the per-thread engine (engine.c) ---- */

/* A reusable buffer: grows, never shrinks until trimmed. */
struct imgpipe_scratch {
    void *p;
    size_t cap;
};

/* Returns at least need bytes (contents not kept), NULL when out of memory. */
void *imgpipe_scratch_get(struct imgpipe_scratch *s, size_t need);

/* What one thread reuses from thumbnail to thumbnail. */
struct imgpipe_engine {
    void *tjd, *tje;                    /* TurboJPEG decompressor and compressor */
    struct imgpipe_scratch pixels, aux; /* the decoded source; CMYK or 16-bit samples */
    struct imgpipe_scratch zdata;       /* a PNG's IDAT chunks joined (png_fast.c) */
    void *inflater;                     /* libdeflate decompressor of this thread */
    imgpipe_buf icc;                    /* the current source's ICC profile, len 0: none */
    void *lcms;                         /* lcms2 context of this thread */
    void *xform;                        /* the last profile's transform to sRGB */
    imgpipe_buf xform_icc;              /* ... and that profile's bytes */
    int xform_channels;                 /* ... and the pixels it takes (engine.c) */
    /* What the last decoded image spans, in its own samples, when that is less than its
     * size (a DCT-scaled JPEG: ceil(w * scale) samples for w * scale); 0: its size. Set by
     * the decoder, read when its rows are resized, cleared with the image. */
    double extent_w, extent_h;
};

/* The calling thread's engine, created on first use and freed when the thread exits;
 * NULL when out of memory. */
struct imgpipe_engine *imgpipe_engine_get(void);
/* Frees the calling thread's engine now (e.g. the main thread's, before exit). */
void imgpipe_engine_release(void);
/* Ends an image: forgets its profile, gives back buffers a huge image left large. */
void imgpipe_engine_trim(struct imgpipe_engine *e);
/* Converts 3/4-channel pixels from the profile in e->icc to sRGB in place; 1 when done, 0
 * when there is no usable RGB profile (the pixels are then left as they are: sRGB). */
int imgpipe_icc_to_srgb(struct imgpipe_engine *e, struct imgpipe_image *img);
/* Converts width x height CMYK pixels (4 bytes each, inks inverted when Adobe stored them
 * so) through the CMYK profile in e->icc into rgb's 3 channels; 1 when done, 0 when there is
 * no usable CMYK profile (rgb is then left untouched). */
int imgpipe_icc_cmyk_to_srgb(struct imgpipe_engine *e, const unsigned char *cmyk, int inverted,
                             struct imgpipe_image *rgb);

/* What a codec learns from the header, before any pixel is decoded. */
struct imgpipe_image_info {
    int width, height; /* as stored, before orientation */
    int channels;      /* what decode will produce */
    int orientation;   /* EXIF orientation 1..8 (1 when absent or broken) */
    /* The largest picture the decoder allocates when its stream declares one of its own
     * (HEIF: the HEVC sequence parameter sets); 0 x 0 when only width x height is known. */
    uint32_t coded_width, coded_height;
};

/* ---- JPEG (codec_jpeg.c) ---- */

int imgpipe_jpeg_info(struct imgpipe_engine *eng, const unsigned char *src, size_t len,
                      struct imgpipe_image_info *info, char *err);
/* Decodes once, DCT-scaled to the smallest TurboJPEG factor whose result is still at
 * least min_width x min_height (full size when none is), into the engine's pixel buffer
 * (out is borrowed); the embedded RGB ICC profile, if any, goes to eng->icc; a CMYK
 * image's CMYK profile is applied here. */
int imgpipe_jpeg_decode(struct imgpipe_engine *eng, const unsigned char *src, size_t len,
                        int min_width, int min_height, struct imgpipe_image *out, char *err);
/* Appends a 1- or 3-channel image encoded at quality 1..100 (4:2:0, or gray), no
 * metadata, to out. */
struct imgpipe_encode_opts;
int imgpipe_jpeg_encode(struct imgpipe_engine *eng, const struct imgpipe_image *img,
                        const struct imgpipe_encode_opts *o, imgpipe_buf *out, char *err);
/* Finds the first marker segment before SOS whose payload starts with prefix; sets
 * *payload and *payload_len to the bytes after the prefix. 1 found, 0 not (never fails). */
int imgpipe_jpeg_find_segment(const unsigned char *src, size_t len, int marker, const char *prefix,
                              size_t prefix_len, const unsigned char **payload,
                              size_t *payload_len);
/* The EXIF orientation of a JPEG (its APP1 "Exif\0\0" segment, read by
 * imgpipe_exif_orientation), 1 when none. */
int imgpipe_jpeg_orientation(const unsigned char *src, size_t len);

/* ---- PNG (codec_png.c) ---- */

int imgpipe_png_info(const unsigned char *src, size_t len, struct imgpipe_image_info *info,
                     char *err);
/* Decodes to 8 bits (16-bit samples rounded, not truncated) into the engine's pixel
 * buffer: gray or gray+alpha for gray images, else RGBA when the image has any alpha
 * (incl. tRNS), else RGB; refuses images over max_pixels before allocating. A colour
 * image's iCCP profile goes to eng->icc. */
int imgpipe_png_decode(struct imgpipe_engine *eng, const unsigned char *src, size_t len,
                       uint64_t max_pixels, struct imgpipe_image *out, char *err);
/* Where a streaming decoder hands its rows: start() once with the size and channels
 * (non-zero: stop with that status), then row() for each row, top to bottom. */
typedef int (*imgpipe_row_start)(void *arg, int width, int height, int channels);
typedef void (*imgpipe_row_fn)(void *arg, const unsigned char *row);
/* The same decode as imgpipe_png_decode, handed over row by row as libspng makes the
 * rows, so the image is never stored whole (interlaced images are, then fed). */
int imgpipe_png_decode_rows(struct imgpipe_engine *eng, const unsigned char *src, size_t len,
                            uint64_t max_pixels, imgpipe_row_start start, imgpipe_row_fn row,
                            void *arg, char *err);
/* The same, through the fast path only (png_fast.c): IMGPIPE_PNG_DECLINED, before any
 * row is handed over, when the fast path does not cover the image (tests, fuzzing). */
int imgpipe_png_fast_decode_rows(struct imgpipe_engine *eng, const unsigned char *src, size_t len,
                                 uint64_t max_pixels, imgpipe_row_start start, imgpipe_row_fn row,
                                 void *arg, char *err);
#define IMGPIPE_PNG_DECLINED 1
struct spng_ctx;
/* The fast path's core, for an image whose header ctx has read and that decodes to
 * `channels` channels: IMGPIPE_OK, an error after start() failed, or IMGPIPE_PNG_DECLINED
 * with nothing handed over. */
int imgpipe_png_fast(struct imgpipe_engine *eng, struct spng_ctx *ctx, const unsigned char *src,
                     size_t len, int channels, imgpipe_row_start start, imgpipe_row_fn row,
                     void *arg, char *err);
/* Encodes a 1..4 channel 8-bit image losslessly at zlib level 1..9. */
int imgpipe_png_encode(const struct imgpipe_image *img, int level, imgpipe_buf *out, char *err);

/* ---- WebP (codec_webp.c) ---- */

int imgpipe_webp_info(const unsigned char *src, size_t len, struct imgpipe_image_info *info,
                      char *err);
/* Decodes to RGB or RGBA (an animation: its first frame) into the engine's pixel buffer;
 * an ICCP chunk goes to eng->icc. */
int imgpipe_webp_decode(struct imgpipe_engine *eng, const unsigned char *src, size_t len,
                        struct imgpipe_image *out, char *err);
/* Appends a lossy WebP of a 3- or 4-channel image at quality 1..100, method 0..6, to out. */
int imgpipe_webp_encode(const struct imgpipe_image *img, int quality, int method, imgpipe_buf *out,
                        char *err);

/* ---- GIF (codec_gif.c) ---- */

int imgpipe_gif_info(const unsigned char *src, size_t len, struct imgpipe_image_info *info,
                     char *err);
/* Decodes the first frame on the logical screen into the engine's pixel buffer: RGBA, or
 * RGB when no pixel is transparent. */
int imgpipe_gif_decode(struct imgpipe_engine *eng, const unsigned char *src, size_t len,
                       struct imgpipe_image *out, char *err);

/* ---- resize.c ---- */

/* Resamples src to width x height into dst (allocated here) with a Lanczos3 filter whose
 * support grows with the reduction factor, in premultiplied alpha when there is alpha. */
int imgpipe_resize(const struct imgpipe_image *src, int width, int height,
                   struct imgpipe_image *dst);

/* The same resize fed one source row at a time (top to bottom, height rows of width *
 * channels bytes), so a decoder can hand over rows while they are in cache and the
 * source never needs to be stored whole. */
struct imgpipe_resizer;
int imgpipe_resizer_new(struct imgpipe_resizer **out, int src_w, int src_h, int channels, int width,
                        int height);
/* The same, for src_w x src_h samples that span only ext_w x ext_h source units (src_w - 1 <
 * ext_w <= src_w): a DCT-scaled JPEG whose last block was partial has a last column or row
 * standing for less than a whole sample, which then weighs only what it stands for. */
int imgpipe_resizer_new_part(struct imgpipe_resizer **out, int src_w, int src_h, double ext_w,
                             double ext_h, int channels, int width, int height);
void imgpipe_resizer_row(struct imgpipe_resizer *r, const unsigned char *row);
/* After the last row: the result (allocated, the caller frees it) into dst. */
int imgpipe_resizer_finish(struct imgpipe_resizer *r, struct imgpipe_image *dst);
void imgpipe_resizer_free(struct imgpipe_resizer *r);

/* ---- orient.c: knows TIFF-structured EXIF, not the containers (the codecs find the EXIF
 * block and call it) ---- */

/* The orientation (tag 0x0112) from a TIFF-structured EXIF block ("II*\0"/"MM\0*" ...);
 * 1 when absent, out of 1..8 or unreadable. */
int imgpipe_exif_orientation(const unsigned char *tiff, size_t len);
/* Replaces img with its upright version for EXIF orientation 1..8 (1: untouched). */
int imgpipe_orient(struct imgpipe_image *img, int orientation);

#endif
