/* PNG decode alone, the two ways imgpipe can: libspng + zlib (what every PNG went through
 * before) and the fast path (libdeflate, png_fast.c), to 8-bit pixels with no resize, on
 * the same files read into memory before the clock starts. For bench/thumbs.sh.
 *
 * usage: png_decode spng|fast FILE...   prints "decoded N PNGs in S s" */
#include "image/codec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    unsigned char *p = n > 0 ? malloc((size_t)n) : NULL;
    *len = p ? fread(p, 1, (size_t)n, fp) : 0;
    fclose(fp);
    return p && *len == (size_t)n ? p : NULL;
}

static int rows_start(void *arg, int w, int h, int c)
{
    (void)arg, (void)w, (void)h, (void)c;
    return 0;
}

/* Touches each row as a resizer would read it, so the work is not skipped. */
static void rows_row(void *arg, const unsigned char *row)
{
    *(unsigned *)arg += row[0];
}

int main(int argc, char **argv)
{
    if (argc < 3 || (strcmp(argv[1], "spng") && strcmp(argv[1], "fast"))) {
        fprintf(stderr, "usage: png_decode spng|fast FILE...\n");
        return 2;
    }
    int fast = strcmp(argv[1], "fast") == 0, n = argc - 2;
    unsigned char **data = calloc((size_t)n, sizeof(*data));
    size_t *lens = calloc((size_t)n, sizeof(*lens));
    for (int i = 0; i < n; i++)
        if (!(data[i] = slurp(argv[i + 2], &lens[i]))) {
            fprintf(stderr, "png_decode: cannot read %s\n", argv[i + 2]);
            return 1;
        }
    struct imgpipe_engine *eng = imgpipe_engine_get();
    char err[IMGPIPE_ERRLEN];
    unsigned sum = 0, declined = 0;
    /* PASSES=2: the files again, with the engine's buffers grown (page faults paid). */
    int passes = getenv("PASSES") ? atoi(getenv("PASSES")) : 1;
    double t0 = 0, c0 = 0;
    for (int k = 0; k < passes * n; k++) {
        int i = k % n;
        if (i == 0)
            t0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_PROCESS_CPUTIME_ID), declined = 0;
        int rc;
        if (fast) {
            rc = imgpipe_png_fast_decode_rows(eng, data[i], lens[i], 1ULL << 32, rows_start,
                                              rows_row, &sum, err);
            declined += rc == IMGPIPE_PNG_DECLINED;
            if (rc == IMGPIPE_PNG_DECLINED) /* what the pipeline does then */
                rc = imgpipe_png_decode_rows(eng, data[i], lens[i], 1ULL << 32, rows_start,
                                             rows_row, &sum, err);
        } else {
            struct imgpipe_image img = {0};
            rc = imgpipe_png_decode(eng, data[i], lens[i], 1ULL << 32, &img, err);
            sum += rc ? 0 : img.pixels[0];
        }
        if (rc) {
            fprintf(stderr, "png_decode: %s: %s\n", argv[i + 2], err);
            return 1;
        }
    }
    printf("decoded %d PNGs in %.3f s, %.3f s CPU (%u declined by the fast path; %u)\n", n,
           now(CLOCK_MONOTONIC) - t0, now(CLOCK_PROCESS_CPUTIME_ID) - c0, declined, sum & 1);
    imgpipe_engine_release();
    return 0;
}
