/* The decode floor for bench/thumbs.sh: what decoding alone costs, with no resize and no
 * encode. JPEG files are decoded by TurboJPEG at the DCT scale imgpipe picks for a WxH
 * box (the smallest factor keeping at least twice the thumbnail), PNG files by libspng to
 * 8-bit RGB(A), both with the options imgpipe uses. Files are read before the clock starts, as
 * imgpipe's time includes its reads but they come from the page cache.
 *
 * usage: decode_floor WxH FILE...   prints "decoded N files in S s" */
#include <spng.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <turbojpeg.h>

struct file {
    unsigned char *data;
    size_t len;
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int slurp(const char *path, struct file *f)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return -1;
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    f->data = malloc(n > 0 ? (size_t)n : 1);
    f->len = f->data && n > 0 ? fread(f->data, 1, (size_t)n, fp) : 0;
    fclose(fp);
    return f->len == (size_t)n ? 0 : -1;
}

/* The thumbnail's size in a bw x bh box, as imgpipe's fit() computes it. */
static void fit(int w, int h, int bw, int bh, int *ow, int *oh)
{
    if (w <= bw && h <= bh) {
        *ow = w, *oh = h;
        return;
    }
    if ((long long)bw * h <= (long long)bh * w) {
        *ow = bw;
        *oh = (int)((2LL * h * bw + w) / (2LL * w));
    } else {
        *oh = bh;
        *ow = (int)((2LL * w * bh + h) / (2LL * h));
    }
}

static int decode_jpeg(tjhandle tj, const struct file *f, int bw, int bh, unsigned char **buf,
                       size_t *cap)
{
    int w, h, ss, cs, n, tw, th;
    if (tjDecompressHeader3(tj, f->data, f->len, &w, &h, &ss, &cs))
        return -1;
    fit(w, h, bw, bh, &tw, &th);
    const tjscalingfactor *sf = tjGetScalingFactors(&n);
    tjscalingfactor best = {1, 1};
    long area = (long)w * h;
    for (int i = 0; i < n; i++) {
        int sw = TJSCALED(w, sf[i]), sh = TJSCALED(h, sf[i]);
        if (sf[i].num > sf[i].denom || sw < 2 * tw || sh < 2 * th)
            continue;
        if ((long)sw * sh < area)
            best = sf[i], area = (long)sw * sh;
    }
    int sw = TJSCALED(w, best), sh = TJSCALED(h, best), ch = cs == TJCS_GRAY ? 1 : 3;
    size_t need = (size_t)sw * sh * 4;
    if (need > *cap && !(*buf = realloc(*buf, *cap = need)))
        return -1;
    int pf = cs == TJCS_GRAY                      ? TJPF_GRAY
             : cs == TJCS_CMYK || cs == TJCS_YCCK ? TJPF_CMYK
                                                  : TJPF_RGB;
    (void)ch;
    return tjDecompress2(tj, f->data, f->len, *buf, sw, 0, sh, pf, TJFLAG_LIMITSCANS) &&
                   tjGetErrorCode(tj) != TJERR_WARNING
               ? -1
               : 0;
}

static int decode_png(const struct file *f, unsigned char **buf, size_t *cap)
{
    spng_ctx *ctx = spng_ctx_new(0); /* checksums checked, as imgpipe decodes */
    struct spng_ihdr ih;
    struct spng_trns trns;
    size_t need;
    int rc = -1;
    if (!ctx || spng_set_png_buffer(ctx, f->data, f->len) || spng_get_ihdr(ctx, &ih))
        goto out;
    int alpha = ih.color_type == SPNG_COLOR_TYPE_GRAYSCALE_ALPHA ||
                ih.color_type == SPNG_COLOR_TYPE_TRUECOLOR_ALPHA || !spng_get_trns(ctx, &trns);
    int fmt = alpha ? SPNG_FMT_RGBA8 : SPNG_FMT_RGB8;
    if (spng_decoded_image_size(ctx, fmt, &need))
        goto out;
    if (need > *cap && !(*buf = realloc(*buf, *cap = need)))
        goto out;
    rc = spng_decode_image(ctx, *buf, need, fmt, SPNG_DECODE_TRNS) ? -1 : 0;
out:
    spng_ctx_free(ctx);
    return rc;
}

int main(int argc, char **argv)
{
    int bw, bh;
    if (argc < 3 || sscanf(argv[1], "%dx%d", &bw, &bh) != 2) {
        fprintf(stderr, "usage: decode_floor WxH FILE...\n");
        return 2;
    }
    int n = argc - 2, failed = 0;
    struct file *files = calloc((size_t)n, sizeof(*files));
    for (int i = 0; i < n; i++)
        if (slurp(argv[i + 2], &files[i]))
            fprintf(stderr, "cannot read %s\n", argv[i + 2]);
    tjhandle tj = tjInitDecompress();
    unsigned char *buf = NULL;
    size_t cap = 0;
    double t0 = now();
    for (int i = 0; i < n; i++) {
        const struct file *f = &files[i];
        int is_jpeg = f->len > 2 && f->data[0] == 0xFF && f->data[1] == 0xD8;
        if ((is_jpeg ? decode_jpeg(tj, f, bw, bh, &buf, &cap) : decode_png(f, &buf, &cap)) != 0) {
            fprintf(stderr, "cannot decode %s\n", argv[i + 2]);
            failed++;
        }
    }
    double t = now() - t0;
    printf("decoded %d files in %.4f s\n", n - failed, t);
    tjDestroy(tj);
    free(buf);
    for (int i = 0; i < n; i++)
        free(files[i].data);
    free(files);
    return failed ? 1 : 0;
}
