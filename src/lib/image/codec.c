/* The codec table, lookups in it, and the one check before storing or thumbnailing. */
#include "image/codec.h"
#include "common/util.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Sniffing order: every magic is distinct, so the order only decides lookup cost. */
static const struct imgpipe_codec *const codecs[] = {&imgpipe_codec_jpeg, &imgpipe_codec_png,
                                                     &imgpipe_codec_webp, &imgpipe_codec_gif,
                                                     &imgpipe_codec_avif, &imgpipe_codec_heif};
#define NCODECS (sizeof(codecs) / sizeof(codecs[0]))

const struct imgpipe_codec *imgpipe_codec_find(const void *src, size_t len)
{
    for (size_t i = 0; src && i < NCODECS; i++)
        if (codecs[i]->sniff(src, len))
            return codecs[i];
    return NULL;
}

const struct imgpipe_codec *imgpipe_codec_by_name(const char *name)
{
    for (size_t i = 0; name && i < NCODECS; i++)
        if (strcmp(codecs[i]->name, name) == 0)
            return codecs[i];
    return NULL;
}

const struct imgpipe_codec *imgpipe_codec_by_ext(const char *ext)
{
    for (size_t i = 0; ext && i < NCODECS; i++)
        for (const char *const *e = codecs[i]->exts; *e; e++)
            if (strcasecmp(*e, ext) == 0)
                return codecs[i];
    return NULL;
}

const char *imgpipe_sniff_format(const void *data, size_t len)
{
    const struct imgpipe_codec *c = imgpipe_codec_find(data, len);
    return c ? c->name : NULL;
}

/* Its first bytes, printable: an HTML error page reads as one. */
static void preview(const unsigned char *p, size_t len, char *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < len && i < 24 && n + 5 < cap; i++)
        n += (size_t)snprintf(out + n, cap - n, p[i] >= 0x20 && p[i] < 0x7f ? "%c" : "\\x%02x",
                              p[i]);
    out[n] = '\0';
}

/* "not an image: ... (not JPEG, PNG, WebP or GIF)", the list from the table; p is the
 * first len bytes of size. */
static int unknown_format(const unsigned char *p, size_t len, uint64_t size, char *err)
{
    char names[128] = "", first[128];
    size_t used = 0;
    for (size_t i = 0; i < NCODECS; i++)
        used += (size_t)snprintf(names + used, sizeof(names) - used, "%s%s",
                                 i == 0            ? ""
                                 : i + 1 < NCODECS ? ", "
                                                   : " or ",
                                 codecs[i]->label);
    if (!len)
        return imgpipe_errf(err, IMGPIPE_EFORMAT, "not an image: no data (not %s)", names);
    preview(p, len, first, sizeof(first));
    return imgpipe_errf(err, IMGPIPE_EFORMAT,
                        "not an image: %llu bytes starting with \"%s\" (not %s)",
                        (unsigned long long)size, first, names);
}

int imgpipe_image_sniff(const void *head, size_t n, uint64_t size, char *err)
{
    return imgpipe_codec_find(head, n) ? IMGPIPE_OK : unknown_format(head, n, size, err);
}

static int over_budget(const char *what, uint64_t w, uint64_t h, uint64_t max_pixels, char *err)
{
    uint64_t px = w * h;
    if (max_pixels < 1000000) /* megapixels would read "0 MP" */
        return imgpipe_errf(err, IMGPIPE_ETOOBIG,
                            "%s %llux%llu (%llu pixels), over the %llu pixel limit", what,
                            (unsigned long long)w, (unsigned long long)h, (unsigned long long)px,
                            (unsigned long long)max_pixels);
    return imgpipe_errf(err, IMGPIPE_ETOOBIG, "%s %llux%llu (%.3g MP), over the %.3g MP limit",
                        what, (unsigned long long)w, (unsigned long long)h, px / 1e6,
                        max_pixels / 1e6);
}

static int check_budget(const struct imgpipe_image_info *info, uint64_t max_pixels, char *err)
{
    if ((uint64_t)info->width * (uint64_t)info->height > max_pixels)
        return over_budget("image is", (uint64_t)info->width, (uint64_t)info->height, max_pixels,
                           err);
    /* what the decoder would allocate, when its stream says more than the header */
    if ((uint64_t)info->coded_width * info->coded_height > max_pixels)
        return over_budget("image's coded stream is", info->coded_width, info->coded_height,
                           max_pixels, err);
    return IMGPIPE_OK;
}

int imgpipe_image_check(const void *src, size_t len, uint64_t max_pixels,
                        const struct imgpipe_codec **codec, struct imgpipe_image_info *info,
                        char *err)
{
    const unsigned char *p = src;
    const struct imgpipe_codec *c = imgpipe_codec_find(p, len);
    if (!c)
        return unknown_format(p, len, len, err);
    struct imgpipe_engine *eng = imgpipe_engine_get();
    if (!eng)
        return imgpipe_errf(err, IMGPIPE_ENOMEM, "cannot create an image engine");
    /* The header first: a bomb is named as one even when it is also cut short. */
    memset(info, 0, sizeof(*info));
    int rc = c->info(eng, p, len, info, err);
    if (!rc)
        rc = check_budget(info, max_pixels ? max_pixels : IMGPIPE_DEFAULT_MAX_PIXELS, err);
    if (!rc)
        rc = c->complete(p, len, err);
    if (!rc)
        *codec = c;
    return rc;
}

int imgpipe_decode_feed(const struct imgpipe_image *img, const struct imgpipe_decode_req *req,
                        const char *label, char *err)
{
    int rc = req->start(req->arg, img->width, img->height, img->channels);
    if (rc)
        return imgpipe_errf(err, rc, "out of memory resizing a %dx%d %s", img->width, img->height,
                            label);
    for (int y = 0; y < img->height; y++)
        req->row(req->arg, img->pixels + (size_t)y * img->stride);
    return IMGPIPE_OK;
}
