/* GIF decode through giflib: the first frame only (an animation's poster, as vips and
 * imgproxy take), composed on the logical screen. Records are read one by one up to that
 * frame, so the rest of a large animation is never decoded. Thumbnails of GIFs are PNG. */
#include "image/codec.h"
#include "common/util.h"

#include <gif_lib.h>
#include <string.h>

struct reader {
    const unsigned char *p;
    size_t len, pos;
};

static int read_mem(GifFileType *gif, GifByteType *buf, int n)
{
    struct reader *r = gif->UserData;
    size_t k = r->len - r->pos < (size_t)n ? r->len - r->pos : (size_t)n;
    memcpy(buf, r->p + r->pos, k);
    r->pos += k;
    return (int)k;
}

static GifFileType *open_gif(struct reader *r, char *err, int *rc)
{
    int e = 0;
    GifFileType *gif = DGifOpen(r, read_mem, &e);
    *rc = gif ? IMGPIPE_OK
              : imgpipe_errf(err, IMGPIPE_ECORRUPT, "corrupt GIF: %s", GifErrorString(e));
    if (gif && (gif->SWidth <= 0 || gif->SHeight <= 0)) {
        *rc = imgpipe_errf(err, IMGPIPE_ECORRUPT, "corrupt GIF: screen is %dx%d", gif->SWidth,
                           gif->SHeight);
        DGifCloseFile(gif, &e);
        return NULL;
    }
    return gif;
}

int imgpipe_gif_info(const unsigned char *src, size_t len, struct imgpipe_image_info *info,
                     char *err)
{
    struct reader r = {src, len, 0};
    int rc, e;
    GifFileType *gif = open_gif(&r, err, &rc);
    if (!gif)
        return rc;
    info->width = gif->SWidth;
    info->height = gif->SHeight;
    info->channels = 4;
    info->orientation = 1;
    DGifCloseFile(gif, &e);
    return IMGPIPE_OK;
}

/* Reads the frame's rows (interlaced ones in their four passes) and paints them, through
 * the colour map, on the RGBA canvas; rows and columns off the screen are dropped. */
static int paint(GifFileType *gif, struct imgpipe_image *img, GifPixelType *line, int transparent)
{
    const GifImageDesc *d = &gif->Image;
    const ColorMapObject *cm = d->ColorMap ? d->ColorMap : gif->SColorMap;
    static const int start[4] = {0, 4, 2, 1}, step[4] = {8, 8, 4, 2};
    int passes = d->Interlace ? 4 : 1;
    for (int pass = 0; pass < passes; pass++) {
        for (int y = d->Interlace ? start[pass] : 0; y < d->Height;
             y += d->Interlace ? step[pass] : 1) {
            if (DGifGetLine(gif, line, d->Width) != GIF_OK)
                return -1;
            int sy = d->Top + y;
            if (sy < 0 || sy >= img->height)
                continue;
            unsigned char *row = img->pixels + (size_t)sy * img->stride;
            for (int x = 0; x < d->Width; x++) {
                int sx = d->Left + x, c = line[x];
                if (sx < 0 || sx >= img->width || c == transparent || !cm || c >= cm->ColorCount)
                    continue;
                unsigned char *px = row + (size_t)sx * 4;
                px[0] = cm->Colors[c].Red, px[1] = cm->Colors[c].Green;
                px[2] = cm->Colors[c].Blue, px[3] = 255;
            }
        }
    }
    return 0;
}

/* Skips to the first image descriptor, noting the transparent index of the graphics
 * control extension before it (-1: none). */
static int find_frame(GifFileType *gif, int *transparent)
{
    GifRecordType type;
    *transparent = NO_TRANSPARENT_COLOR;
    do {
        if (DGifGetRecordType(gif, &type) != GIF_OK)
            return -1;
        if (type == EXTENSION_RECORD_TYPE) {
            int code;
            GifByteType *ext;
            if (DGifGetExtension(gif, &code, &ext) != GIF_OK)
                return -1;
            GraphicsControlBlock gcb;
            if (code == GRAPHICS_EXT_FUNC_CODE && ext &&
                DGifExtensionToGCB(ext[0], ext + 1, &gcb) == GIF_OK)
                *transparent = gcb.TransparentColor;
            while (ext)
                if (DGifGetExtensionNext(gif, &ext) != GIF_OK)
                    return -1;
        } else if (type == TERMINATE_RECORD_TYPE) {
            return -1;
        }
    } while (type != IMAGE_DESC_RECORD_TYPE);
    return DGifGetImageDesc(gif) == GIF_OK && gif->Image.Width > 0 ? 0 : -1;
}

/* RGB when every pixel came out opaque: a plain GIF's thumbnail needs no alpha. */
static void drop_opaque_alpha(struct imgpipe_image *img)
{
    size_t n = (size_t)img->width * img->height;
    for (size_t i = 0; i < n; i++)
        if (img->pixels[i * 4 + 3] != 255)
            return;
    for (size_t i = 0; i < n; i++)
        memmove(img->pixels + i * 3, img->pixels + i * 4, 3);
    img->channels = 3;
    img->stride = (size_t)img->width * 3;
}

int imgpipe_gif_decode(struct imgpipe_engine *eng, const unsigned char *src, size_t len,
                       struct imgpipe_image *out, char *err)
{
    struct reader r = {src, len, 0};
    int rc, e, transparent;
    GifFileType *gif = open_gif(&r, err, &rc);
    if (!gif)
        return rc;
    int w = gif->SWidth, h = gif->SHeight;
    *out = (struct imgpipe_image){
        .width = w, .height = h, .channels = 4, .stride = (size_t)w * 4, .borrowed = 1};
    out->pixels = imgpipe_scratch_get(&eng->pixels, out->stride * h);
    GifPixelType *line = NULL;
    if (!out->pixels) {
        rc = imgpipe_errf(err, IMGPIPE_ENOMEM, "out of memory decoding a %dx%d GIF", w, h);
    } else if (find_frame(gif, &transparent) != 0) {
        rc = imgpipe_errf(err, IMGPIPE_ECORRUPT, "corrupt GIF: no image: %s",
                          GifErrorString(gif->Error));
    } else if (!(line = imgpipe_scratch_get(&eng->aux, (size_t)gif->Image.Width))) {
        rc = imgpipe_errf(err, IMGPIPE_ENOMEM, "out of memory decoding a GIF");
    } else {
        /* What the first frame leaves uncovered is transparent, as browsers show it. */
        memset(out->pixels, 0, out->stride * h);
        if (paint(gif, out, line, transparent) != 0)
            rc = imgpipe_errf(err, IMGPIPE_ECORRUPT, "corrupt GIF: %s", GifErrorString(gif->Error));
        else
            drop_opaque_alpha(out);
    }
    eng->icc.len = 0;
    if (rc)
        imgpipe_image_free(out);
    DGifCloseFile(gif, &e);
    return rc;
}

/* ---- the codec table's entry ---- */

static int sniff(const unsigned char *src, size_t len)
{
    return len >= 6 && (memcmp(src, "GIF87a", 6) == 0 || memcmp(src, "GIF89a", 6) == 0);
}

/* The size of a colour table whose presence and size are in a descriptor's flags. */
static size_t color_table(unsigned flags)
{
    return flags & 0x80 ? 3u << ((flags & 7) + 1) : 0;
}

/* Skips data sub-blocks (a length byte, then that many bytes) up to the empty one. */
static size_t skip_sub_blocks(const unsigned char *src, size_t len, size_t pos)
{
    while (pos < len && src[pos] != 0)
        pos += 1 + (size_t)src[pos];
    return pos + 1; /* past the terminator; > len when cut */
}

/* Complete when the blocks, walked by their lengths, reach the trailer (3B) inside the
 * file: a cut GIF ends inside a block instead. */
static int complete(const unsigned char *src, size_t len, char *err)
{
    size_t pos = 13;
    if (len >= 13)
        pos += color_table(src[10]);
    while (pos < len) {
        size_t at = pos;
        if (src[pos] == 0x3B)
            return IMGPIPE_OK;
        if (src[pos] == 0x21) { /* extension: introducer, label, sub-blocks */
            pos = skip_sub_blocks(src, len, pos + 2);
        } else if (src[pos] == 0x2C && pos + 11 <= len) { /* image: descriptor, table, LZW */
            pos += 10 + color_table(src[pos + 9]);
            pos = skip_sub_blocks(src, len, pos + 1);
        } else if (src[pos] != 0x2C) {
            return imgpipe_errf(err, IMGPIPE_ECORRUPT,
                                "corrupt GIF: unknown block 0x%02x at byte %zu", src[pos], at);
        } else {
            break;
        }
    }
    return imgpipe_errf(err, IMGPIPE_ECORRUPT, "truncated GIF: no trailer (3B) in its %zu bytes",
                        len);
}

static int info(struct imgpipe_engine *eng, const unsigned char *src, size_t len,
                struct imgpipe_image_info *out, char *err)
{
    (void)eng;
    return imgpipe_gif_info(src, len, out, err);
}

static int decode(struct imgpipe_engine *eng, const unsigned char *src, size_t len,
                  const struct imgpipe_decode_req *req, char *err)
{
    struct imgpipe_image img = {0};
    int rc = imgpipe_gif_decode(eng, src, len, &img, err);
    if (!rc)
        rc = imgpipe_decode_feed(&img, req, "GIF", err);
    imgpipe_image_free(&img);
    return rc;
}

static const char *const exts[] = {"gif", NULL};

/* No encoder: a resized GIF would need palette quantisation and lose the antialiasing, so
 * its thumbnails are PNG. */
const struct imgpipe_codec imgpipe_codec_gif = {.name = "gif",
                                                .label = "GIF",
                                                .exts = exts,
                                                .sniff = sniff,
                                                .complete = complete,
                                                .info = info,
                                                .decode = decode,
                                                .encode = NULL,
                                                .channels_ok = 0,
                                                .default_quality = 85,
                                                .thumb = "png"};
