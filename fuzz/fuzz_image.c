/* libFuzzer target: format sniffing, the JPEG and PNG header readers, the EXIF
 * orientation readers and the whole thumbnail pipeline (32x32 box, 4 MP budget so the
 * fuzzer cannot ask for huge rasters). */
#include "image/image.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BOX 32
#define MAX_PIXELS 4000000ULL

static void check_info(const struct imgpipe_image_info *info)
{
    if (info->width < 1 || info->height < 1)
        abort();
    if (info->channels < 1 || info->channels > 4)
        abort();
    if (info->orientation < 1 || info->orientation > 8)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[IMGPIPE_ERRLEN];
    const char *fmt = imgpipe_sniff_format(data, size);

    struct imgpipe_image_info info;
    struct imgpipe_engine *eng = imgpipe_engine_get();
    if (!eng)
        abort();
    if (imgpipe_jpeg_info(eng, data, size, &info, err) == IMGPIPE_OK)
        check_info(&info);
    if (imgpipe_png_info(data, size, &info, err) == IMGPIPE_OK)
        check_info(&info);
    if (imgpipe_webp_info(data, size, &info, err) == IMGPIPE_OK)
        check_info(&info);
    if (imgpipe_gif_info(data, size, &info, err) == IMGPIPE_OK)
        check_info(&info);
    int o = imgpipe_exif_orientation(data, size);
    if (o < 1 || o > 8)
        abort();
    o = imgpipe_jpeg_orientation(data, size);
    if (o < 1 || o > 8)
        abort();

    imgpipe_thumb_opts opts = {.quality = 0, .max_pixels = MAX_PIXELS};
    imgpipe_thumb_out out = {.width = BOX, .height = BOX};
    int rc = imgpipe_thumb_make(data, size, &opts, &out, 1, err);
    if (rc == IMGPIPE_OK) {
        if (out.width < 1 || out.width > BOX || out.height < 1 || out.height > BOX)
            abort();
        if (out.data.len == 0 || !fmt)
            abort();
        const char *got = imgpipe_sniff_format(out.data.data, out.data.len);
        const char *want = strcmp(fmt, "gif") == 0 ? "png" : fmt; /* GIF thumbnails are PNG */
        if (!got || strcmp(got, want) != 0)
            abort();
    } else if (out.data.data || out.data.len) {
        abort();
    }
    imgpipe_buf_free(&out.data);
    return 0;
}
