/* The canvas: what happens to a resized thumbnail before its encoder sees it: a centre
 * crop (fit cover), placing it on a padded canvas (fit pad), and the change of channels
 * an encoder needs (alpha flattened onto a background for JPEG, gray to RGB for WebP).
 * Also the colours these take. */
#include "image/codec.h"
#include "common/util.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int imgpipe_canvas_crop(struct imgpipe_image *img, int x, int y, int w, int h)
{
    if (x == 0 && y == 0 && w == img->width && h == img->height)
        return IMGPIPE_OK;
    struct imgpipe_image out = {0};
    if (imgpipe_image_alloc(&out, w, h, img->channels) != 0)
        return IMGPIPE_ENOMEM;
    for (int r = 0; r < h; r++)
        memcpy(out.pixels + (size_t)r * out.stride,
               img->pixels + (size_t)(y + r) * img->stride + (size_t)x * img->channels,
               (size_t)w * img->channels);
    imgpipe_image_free(img);
    *img = out;
    return IMGPIPE_OK;
}

/* A pixel of `from` channels as straight RGBA. */
static void to_rgba(const unsigned char *p, int from, unsigned char o[4])
{
    int gray = from < 3;
    o[0] = p[0];
    o[1] = gray ? p[0] : p[1];
    o[2] = gray ? p[0] : p[2];
    o[3] = from == 2 || from == 4 ? p[from - 1] : 255;
}

/* Writes RGBA c as `to` channels (gray takes the red channel: only gray pixels are ever
 * written to a gray canvas). */
static void from_rgba(const unsigned char c[4], int to, unsigned char *p)
{
    if (to < 3) {
        p[0] = c[0];
        if (to == 2)
            p[1] = c[3];
        return;
    }
    memcpy(p, c, 3);
    if (to == 4)
        p[3] = c[3];
}

/* c over an opaque background, rounded. */
static void over(unsigned char c[4], const unsigned char bg[4])
{
    for (int i = 0; i < 3; i++)
        c[i] = (unsigned char)((c[i] * c[3] + bg[i] * (255 - c[3]) + 127) / 255);
    c[3] = 255;
}

void imgpipe_canvas_flat(const unsigned char bg[4], unsigned char flat[4])
{
    static const unsigned char white[4] = {255, 255, 255, 255};
    memcpy(flat, bg, 4);
    over(flat, white);
}

int imgpipe_canvas_place(struct imgpipe_image *img, int w, int h, const unsigned char bg[4],
                         int channels)
{
    if (w == img->width && h == img->height && channels == img->channels)
        return IMGPIPE_OK;
    struct imgpipe_image out = {0};
    if (imgpipe_image_alloc(&out, w, h, channels) != 0)
        return IMGPIPE_ENOMEM;
    int alpha = channels == 2 || channels == 4;
    unsigned char flat[4], fill[4];
    imgpipe_canvas_flat(bg, flat);
    memcpy(fill, alpha ? bg : flat, 4);
    int x0 = (w - img->width) / 2, y0 = (h - img->height) / 2;
    for (int y = 0; y < h; y++) {
        unsigned char *d = out.pixels + (size_t)y * out.stride;
        int sy = y - y0;
        for (int x = 0; x < w; x++, d += channels) {
            int sx = x - x0;
            unsigned char c[4];
            if (sy < 0 || sy >= img->height || sx < 0 || sx >= img->width) {
                from_rgba(fill, channels, d);
                continue;
            }
            to_rgba(img->pixels + (size_t)sy * img->stride + (size_t)sx * img->channels,
                    img->channels, c);
            if (!alpha)
                over(c, flat);
            from_rgba(c, channels, d);
        }
    }
    imgpipe_image_free(img);
    *img = out;
    return IMGPIPE_OK;
}

static int hex(int c)
{
    return isdigit(c) ? c - '0' : isxdigit(c) ? tolower(c) - 'a' + 10 : -1;
}

static const char *const fit_names[] = {"contain", "cover", "pad"};

int imgpipe_parse_fit(const char *text, imgpipe_fit *fit)
{
    for (int i = IMGPIPE_FIT_CONTAIN; text && i <= IMGPIPE_FIT_PAD; i++)
        if (strcmp(text, fit_names[i]) == 0) {
            *fit = (imgpipe_fit)i;
            return IMGPIPE_OK;
        }
    return IMGPIPE_EINVAL;
}

const char *imgpipe_fit_name(imgpipe_fit fit)
{
    return fit >= IMGPIPE_FIT_CONTAIN && fit <= IMGPIPE_FIT_PAD ? fit_names[fit] : NULL;
}

int imgpipe_parse_colour(const char *text, unsigned char rgba[4])
{
    static const struct {
        const char *name;
        unsigned char c[4];
    } named[] = {
        {"white", {255, 255, 255, 255}}, {"black", {0, 0, 0, 255}}, {"transparent", {0, 0, 0, 0}}};
    for (size_t i = 0; text && i < sizeof(named) / sizeof(named[0]); i++)
        if (strcasecmp(text, named[i].name) == 0) {
            memcpy(rgba, named[i].c, 4);
            return IMGPIPE_OK;
        }
    if (!text)
        return IMGPIPE_EINVAL;
    const char *p = text + (text[0] == '#');
    size_t n = strlen(p);
    for (size_t i = 0; i < n; i++)
        if (hex((unsigned char)p[i]) < 0)
            return IMGPIPE_EINVAL;
    unsigned char c[4] = {0, 0, 0, 255};
    if (n == 3)
        for (int i = 0; i < 3; i++)
            c[i] = (unsigned char)(hex((unsigned char)p[i]) * 17);
    else if (n == 6 || n == 8)
        for (size_t i = 0; i < n / 2; i++)
            c[i] = (unsigned char)(hex((unsigned char)p[2 * i]) * 16 +
                                   hex((unsigned char)p[2 * i + 1]));
    else
        return IMGPIPE_EINVAL;
    memcpy(rgba, c, 4);
    return IMGPIPE_OK;
}
