/* imginfo FILE...: prints "FORMAT WIDTH HEIGHT CHANNELS" per file, read with the codecs
 * directly (not through libimgpipe), so the end-to-end tests check imgpipe's output with an
 * independent reader. With --alpha-range it also prints the min and max alpha of a PNG.
 * WebP and AVIF: from their headers (libwebp, libavif), channels 4 when they have alpha. */
#include <avif/avif.h>
#include <spng.h>
#include <turbojpeg.h>
#include <webp/decode.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = n > 0 ? malloc((size_t)n) : NULL;
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return b;
}

static int jpeg_info(const unsigned char *b, size_t len)
{
    tjhandle tj = tjInitDecompress();
    int w, h, sub, cs;
    int rc = tjDecompressHeader3(tj, b, (unsigned long)len, &w, &h, &sub, &cs);
    tjDestroy(tj);
    if (rc)
        return -1;
    printf("jpeg %d %d %d\n", w, h, cs == TJCS_GRAY ? 1 : 3);
    return 0;
}

static int png_info(const unsigned char *b, size_t len, int alpha_range)
{
    spng_ctx *ctx = spng_ctx_new(0);
    struct spng_ihdr ih;
    int rc = spng_set_png_buffer(ctx, b, len) || spng_get_ihdr(ctx, &ih);
    if (rc) {
        spng_ctx_free(ctx);
        return -1;
    }
    int ch = ih.color_type == 6 ? 4 : ih.color_type == 4 ? 2 : ih.color_type == 0 ? 1 : 3;
    printf("png %u %u %d", ih.width, ih.height, ch);
    if (alpha_range) {
        size_t n;
        spng_decoded_image_size(ctx, SPNG_FMT_RGBA8, &n);
        unsigned char *px = malloc(n);
        if (!px || spng_decode_image(ctx, px, n, SPNG_FMT_RGBA8, 0)) {
            free(px);
            spng_ctx_free(ctx);
            return -1;
        }
        int lo = 255, hi = 0;
        for (size_t i = 3; i < n; i += 4) {
            lo = px[i] < lo ? px[i] : lo;
            hi = px[i] > hi ? px[i] : hi;
        }
        printf(" %d %d", lo, hi);
        free(px);
    }
    printf("\n");
    spng_ctx_free(ctx);
    return 0;
}

static int webp_info(const unsigned char *b, size_t len)
{
    WebPBitstreamFeatures f;
    if (WebPGetFeatures(b, len, &f) != VP8_STATUS_OK)
        return -1;
    printf("webp %d %d %d\n", f.width, f.height, f.has_alpha ? 4 : 3);
    return 0;
}

static int avif_info(const unsigned char *b, size_t len)
{
    avifDecoder *d = avifDecoderCreate();
    int rc = !d || avifDecoderSetIOMemory(d, b, len) != AVIF_RESULT_OK ||
             avifDecoderParse(d) != AVIF_RESULT_OK;
    if (!rc)
        printf("avif %u %u %d\n", d->image->width, d->image->height, d->alphaPresent ? 4 : 3);
    if (d)
        avifDecoderDestroy(d);
    return rc ? -1 : 0;
}

int main(int argc, char **argv)
{
    int alpha = argc > 1 && strcmp(argv[1], "--alpha-range") == 0;
    int status = 0;
    for (int i = 1 + alpha; i < argc; i++) {
        size_t len;
        unsigned char *b = slurp(argv[i], &len);
        int rc = -1;
        if (b && len > 3 && b[0] == 0xff && b[1] == 0xd8)
            rc = jpeg_info(b, len);
        else if (b && len > 8 && memcmp(b, "\x89PNG", 4) == 0)
            rc = png_info(b, len, alpha);
        else if (b && len > 12 && memcmp(b, "RIFF", 4) == 0 && memcmp(b + 8, "WEBP", 4) == 0)
            rc = webp_info(b, len);
        else if (b && len > 12 && memcmp(b + 4, "ftypavif", 8) == 0)
            rc = avif_info(b, len);
        if (rc) {
            printf("unknown 0 0 0\n");
            status = 1;
        }
        free(b);
    }
    return status;
}
