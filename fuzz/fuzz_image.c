/* libFuzzer target: format sniffing, every codec's structure check and header reader
 * (through the codec table, whatever the magic bytes say), the EXIF orientation readers
 * and the whole thumbnail pipeline (32x32 box, 4 MP budget so the
 * fuzzer cannot ask for huge rasters). */
#include "image/codec.h"

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
    static const char *const names[] = {"jpeg", "png", "webp", "gif"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        const struct imgpipe_codec *c = imgpipe_codec_by_name(names[i]);
        if (!c)
            abort();
        if (c->info(eng, data, size, &info, err) == IMGPIPE_OK)
            check_info(&info);
        if (size >= 12) /* what any sniff needs at least; complete() is called after one */
            c->complete(data, size, err);
    }
    /* The ISO box walks of AVIF and HEIF (ours; libavif and libheif are not fuzzed here) */
    if (imgpipe_bmff_primary_transformed(data, size) < -1)
        abort();
    imgpipe_bmff_complete(data, size, "HEIF", err);
    /* The HEVC parameter set reader, on the input as an SPS unit and as an hvcC record */
    uint32_t w, h;
    imgpipe_hevc_sps_size(data, size, &w, &h);
    imgpipe_hevc_config_size(data, size, &w, &h);
    int o = imgpipe_exif_block_orientation(data, size);
    if (o < 1 || o > 8)
        abort();
    o = imgpipe_exif_orientation(data, size);
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
        /* GIF thumbnails are PNG, HEIF's JPEG */
        const char *want = strcmp(fmt, "gif") == 0    ? "png"
                           : strcmp(fmt, "heif") == 0 ? "jpeg"
                                                      : fmt;
        if (!got || strcmp(got, want) != 0)
            abort();
    } else if (out.data.data || out.data.len) {
        abort();
    }
    imgpipe_buf_free(&out.data);
    return 0;
}
