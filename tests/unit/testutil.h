/* Helpers for the cmocka unit tests. */
#ifndef IMGPIPE_TESTUTIL_H
#define IMGPIPE_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

/* A fresh directory under $TMPDIR (or /tmp); the caller removes it with testutil_rmtree. */
char *testutil_tmpdir(void);
void testutil_rmtree(const char *path);

/* ---- image generators for the thumbnail tests (malloc'd results, caller frees) ---- */

/* Encodes interleaved 8-bit pixels (1 = gray, 3 = RGB) as a baseline 4:2:0 (or gray) JPEG. */
unsigned char *testutil_jpeg(const unsigned char *px, int w, int h, int channels, int quality,
                             size_t *len);
/* Returns a copy of the JPEG with an APP1 Exif segment (orientation tag only) after SOI;
 * big_endian picks "MM" over "II". */
unsigned char *testutil_jpeg_add_exif(const unsigned char *jpeg, size_t len, int orientation,
                                      int big_endian, size_t *out_len);
/* Decodes a JPEG to gray (channels 1) or RGB; sets *w, *h, *channels. */
unsigned char *testutil_jpeg_decode(const unsigned char *jpeg, size_t len, int *w, int *h,
                                    int *channels);

/* Encodes raw PNG samples (packed per color type and bit depth; 16-bit samples in host
 * byte order, as libspng's encoder takes them)
 * with an optional palette (n_plte entries of RGB) and tRNS alpha for palette entries. */
unsigned char *testutil_png(const void *raw, size_t raw_len, int w, int h, int color_type,
                            int bit_depth, const unsigned char *plte_rgb, int n_plte,
                            const unsigned char *trns_alpha, int n_trns, size_t *len);
/* Decodes a PNG as stored to 8-bit: RGBA when it has alpha, else RGB; reports its IHDR
 * color type. */
unsigned char *testutil_png_decode(const unsigned char *png, size_t len, int *w, int *h,
                                   int *channels, int *color_type);

#endif
