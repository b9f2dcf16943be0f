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
};

/* Allocates pixels for a width x height x channels image (stride = width * channels). */
int imgpipe_image_alloc(struct imgpipe_image *img, int width, int height, int channels);
/* Frees the pixels and zeroes img; accepts a zeroed image. */
void imgpipe_image_free(struct imgpipe_image *img);

/* What a codec learns from the header, before any pixel is decoded. */
struct imgpipe_image_info {
    int width, height; /* as stored, before orientation */
    int channels;      /* what decode will produce */
    int orientation;   /* EXIF orientation 1..8 (1 when absent or broken) */
};

/* ---- JPEG (codec_jpeg.c) ---- */

int imgpipe_jpeg_info(const unsigned char *src, size_t len, struct imgpipe_image_info *info,
                      char *err);
/* Decodes once, DCT-scaled to the smallest TurboJPEG factor whose result is still at
 * least min_width x min_height (full size when none is). */
int imgpipe_jpeg_decode(const unsigned char *src, size_t len, int min_width, int min_height,
                        struct imgpipe_image *out, char *err);
/* Encodes a 1- or 3-channel image at quality 1..100 (4:2:0, or gray), no metadata. */
int imgpipe_jpeg_encode(const struct imgpipe_image *img, int quality, imgpipe_buf *out, char *err);
/* Finds the first marker segment before SOS whose payload starts with prefix; sets
 * *payload and *payload_len to the bytes after the prefix. 1 found, 0 not (never fails). */
int imgpipe_jpeg_find_segment(const unsigned char *src, size_t len, int marker, const char *prefix,
                              size_t prefix_len, const unsigned char **payload,
                              size_t *payload_len);

/* ---- PNG (codec_png.c) ---- */

int imgpipe_png_info(const unsigned char *src, size_t len, struct imgpipe_image_info *info,
                     char *err);
/* Decodes to 8 bits: gray or gray+alpha for gray images, else RGBA when the image has
 * any alpha (incl. tRNS), else RGB; refuses images over max_pixels before allocating. */
int imgpipe_png_decode(const unsigned char *src, size_t len, uint64_t max_pixels,
                       struct imgpipe_image *out, char *err);
/* Encodes a 1..4 channel 8-bit image losslessly. */
int imgpipe_png_encode(const struct imgpipe_image *img, imgpipe_buf *out, char *err);

/* ---- resize.c ---- */

/* Resamples src to width x height into dst (allocated here) with a Lanczos3 filter whose
 * support grows with the reduction factor, in premultiplied alpha when there is alpha. */
int imgpipe_resize(const struct imgpipe_image *src, int width, int height,
                   struct imgpipe_image *dst);

/* ---- orient.c ---- */

/* The orientation (tag 0x0112) from a TIFF-structured EXIF block ("II*\0"/"MM\0*" ...);
 * 1 when absent, out of 1..8 or unreadable. */
int imgpipe_exif_orientation(const unsigned char *tiff, size_t len);
/* The EXIF orientation of a JPEG (its APP1 "Exif\0\0" segment), 1 when none. */
int imgpipe_jpeg_orientation(const unsigned char *src, size_t len);
/* Replaces img with its upright version for EXIF orientation 1..8 (1: untouched). */
int imgpipe_orient(struct imgpipe_image *img, int orientation);

#endif
