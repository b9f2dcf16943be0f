/* Writes the seed images of fuzz_image into the directory given, with the unit tests'
 * generators (tests/unit/testutil.c). Not part of the build; the bytes are committed:
 *   cc -std=c11 -D_DEFAULT_SOURCE -Itests/unit fuzz/make_image_seeds.c tests/unit/testutil.c \
 *      $(pkg-config --cflags --libs libturbojpeg spng libwebp cmocka) -o /tmp/make_image_seeds
 *   /tmp/make_image_seeds fuzz/corpus/fuzz_image */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <webp/encode.h>

static void save(const char *dir, const char *name, const unsigned char *p, size_t len)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, len, f) != len || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

/* A w x h gradient with `channels` interleaved samples. */
static unsigned char *gradient(int w, int h, int channels)
{
    unsigned char *px = malloc((size_t)w * h * channels);
    if (!px)
        exit(1);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < channels; c++)
                px[((size_t)y * w + x) * channels + c] =
                    (unsigned char)(c == 3 ? 255 * y / (h - 1) : (x * 37 + y * 11 + c * 80));
    return px;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    const char *dir = argv[1];
    size_t len, xlen;

    unsigned char *rgb = gradient(12, 8, 3);
    unsigned char *jpeg = testutil_jpeg(rgb, 12, 8, 3, 50, &len);
    save(dir, "rgb-12x8.jpg", jpeg, len);
    unsigned char *exif = testutil_jpeg_add_exif(jpeg, len, 6, 0, &xlen);
    save(dir, "rgb-12x8-exif6-mm.jpg", exif, xlen);
    free(exif);
    exif = testutil_jpeg_add_exif(jpeg, len, 3, 1, &xlen);
    save(dir, "rgb-12x8-exif3-ii.jpg", exif, xlen);
    free(exif);
    free(jpeg);

    unsigned char *gray = gradient(8, 8, 1);
    jpeg = testutil_jpeg(gray, 8, 8, 1, 50, &len);
    save(dir, "gray-8x8.jpg", jpeg, len);
    free(jpeg);

    unsigned char *png = testutil_png(rgb, 12 * 8 * 3, 12, 8, 2, 8, NULL, 0, NULL, 0, &len);
    save(dir, "rgb-12x8.png", png, len);
    free(png);

    unsigned char *rgba = gradient(6, 5, 4);
    png = testutil_png(rgba, 6 * 5 * 4, 6, 5, 6, 8, NULL, 0, NULL, 0, &len);
    save(dir, "rgba-6x5.png", png, len);
    free(png);

    /* 4x2 palette image, 2 bits per pixel, entry 0 transparent. */
    const unsigned char plte[] = {255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255};
    const unsigned char trns[] = {0};
    const unsigned char idx[] = {0x1b, 0xe4}; /* 0 1 2 3 / 3 2 1 0 */
    png = testutil_png(idx, sizeof(idx), 4, 2, 3, 2, plte, 4, trns, 1, &len);
    save(dir, "palette-trns-4x2.png", png, len);
    free(png);

    /* Larger than the 32x32 box, so the resize runs. */
    unsigned char *wide = gradient(40, 24, 3);
    png = testutil_png(wide, 40 * 24 * 3, 40, 24, 2, 8, NULL, 0, NULL, 0, &len);
    save(dir, "rgb-40x24.png", png, len);
    free(png);
    jpeg = testutil_jpeg(wide, 40, 24, 3, 30, &len);
    save(dir, "rgb-40x24.jpg", jpeg, len);
    free(jpeg);
    free(wide);

    /* An extended WebP with an EXIF chunk (orientation 6 after "Exif\0\0"), so the fuzzer
     * starts from a file whose RIFF chunks are walked for it. */
    uint8_t *webp;
    len = WebPEncodeLosslessRGB(rgb, 12, 8, 12 * 3, &webp);
    if (len < 12)
        exit(1);
    size_t clen = len - 12;
    unsigned char *chunks = malloc(clen), payload[32];
    if (!chunks)
        exit(1);
    memcpy(chunks, webp + 12, clen); /* the VP8L chunk */
    memcpy(payload, "Exif\0\0", 6);
    size_t n = 6 + testutil_exif_tiff(payload + 6, 6, 0);
    testutil_riff_chunk(&chunks, &clen, "EXIF", (uint32_t)n, payload, n);
    exif = testutil_webp_vp8x(0x08, 12, 8, chunks, clen, &xlen);
    save(dir, "rgb-12x8-exif6.webp", exif, xlen);
    free(exif);
    free(chunks);
    WebPFree(webp);

    unsigned char exif_tiff[26];
    save(dir, "exif-tiff-orient8.bin", exif_tiff, testutil_exif_tiff(exif_tiff, 8, 1));

    free(rgb);
    free(gray);
    free(rgba);
    return 0;
}
