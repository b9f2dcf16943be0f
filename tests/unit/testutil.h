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
/* Writes a 26-byte TIFF block whose IFD0 holds only the orientation tag; returns 26. */
size_t testutil_exif_tiff(unsigned char tiff[26], int orientation, int big_endian);
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
/* Returns a copy of the PNG with a chunk (CRC computed) inserted right after IHDR. */
unsigned char *testutil_png_add_chunk(const unsigned char *png, size_t len, const char type[4],
                                      const void *data, size_t data_len, size_t *out_len);
/* A PNG that is only a signature and an IHDR (8-bit RGB) claiming w x h: no pixel data. */
unsigned char *testutil_png_header_only(uint32_t w, uint32_t h, size_t *len);

/* Appends a RIFF chunk to *buf (realloc'd, *len bytes): fourcc, `size` as its declared
 * size, then n bytes of data and a pad byte when n is odd. size and n differ only for
 * broken files. */
void testutil_riff_chunk(unsigned char **buf, size_t *len, const char fourcc[4], uint32_t size,
                         const void *data, size_t n);
/* An extended WebP: RIFF header, a VP8X chunk (flags, w x h canvas), then `chunks` as is. */
unsigned char *testutil_webp_vp8x(unsigned flags, int w, int h, const unsigned char *chunks,
                                  size_t chunks_len, size_t *out_len);

/* An HEVC SPS NAL unit (2-byte header, emulation prevention bytes in) up to its picture
 * size: max_sub_layers_minus1 sub-layers, sub-layer i with a profile when bit i of
 * profile_mask is set and a level when bit i of level_mask is, chroma_format_idc chroma,
 * then `tail` 0xff bytes. Returns its length in out (cap bytes). */
size_t testutil_hevc_sps(unsigned char *out, size_t cap, int max_sub_layers_minus1,
                         unsigned profile_mask, unsigned level_mask, unsigned chroma,
                         uint32_t width, uint32_t height, size_t tail);

#endif
