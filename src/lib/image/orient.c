/* EXIF orientation: a small bounds-checked reader of IFD0 tag 0x0112, and the eight
 * flips/rotations that make a stored image upright. Broken EXIF never fails: it reads as 1. */
#include "image/image.h"

#include <string.h>

#define TAG_ORIENTATION 0x0112
#define TYPE_SHORT 3

static unsigned get16(const unsigned char *p, int le)
{
    return le ? (unsigned)p[0] | (unsigned)p[1] << 8 : (unsigned)p[0] << 8 | p[1];
}

static unsigned long get32(const unsigned char *p, int le)
{
    return le ? (unsigned long)get16(p, 1) | (unsigned long)get16(p + 2, 1) << 16
              : (unsigned long)get16(p, 0) << 16 | get16(p + 2, 0);
}

int imgpipe_exif_orientation(const unsigned char *tiff, size_t len)
{
    if (!tiff || len < 8)
        return 1;
    int le;
    if (memcmp(tiff, "II*\0", 4) == 0)
        le = 1;
    else if (memcmp(tiff, "MM\0*", 4) == 0)
        le = 0;
    else
        return 1;
    unsigned long ifd = get32(tiff + 4, le);
    if (ifd > len - 2)
        return 1;
    unsigned count = get16(tiff + ifd, le);
    const unsigned char *e = tiff + ifd + 2;
    for (unsigned i = 0; i < count; i++, e += 12) {
        if (len < 12 || (size_t)(e - tiff) > len - 12)
            return 1;
        if (get16(e, le) != TAG_ORIENTATION)
            continue;
        /* A single SHORT sits left-justified in the 4-byte value field. */
        if (get16(e + 2, le) != TYPE_SHORT || get32(e + 4, le) != 1)
            return 1;
        unsigned v = get16(e + 8, le);
        return v >= 1 && v <= 8 ? (int)v : 1;
    }
    return 1;
}

/* Where the upright pixel (x, y) comes from in the stored w x h image. */
static void source_of(int o, int x, int y, int w, int h, int *sx, int *sy)
{
    switch (o) {
    case 2: /* mirrored left-right */
        *sx = w - 1 - x, *sy = y;
        break;
    case 3: /* rotated 180 */
        *sx = w - 1 - x, *sy = h - 1 - y;
        break;
    case 4: /* mirrored top-bottom */
        *sx = x, *sy = h - 1 - y;
        break;
    case 5: /* transposed */
        *sx = y, *sy = x;
        break;
    case 6: /* needs 90 degrees clockwise */
        *sx = y, *sy = h - 1 - x;
        break;
    case 7: /* transversed */
        *sx = w - 1 - y, *sy = h - 1 - x;
        break;
    case 8: /* needs 90 degrees counter-clockwise */
        *sx = w - 1 - y, *sy = x;
        break;
    default:
        *sx = x, *sy = y;
        break;
    }
}

int imgpipe_orient(struct imgpipe_image *img, int orientation)
{
    if (orientation < 2 || orientation > 8)
        return IMGPIPE_OK;
    int swap = orientation >= 5;
    struct imgpipe_image out = {0};
    int rc = imgpipe_image_alloc(&out, swap ? img->height : img->width,
                                 swap ? img->width : img->height, img->channels);
    if (rc)
        return rc;
    int ch = img->channels;
    /* Per pixel lookups are fine: this runs on the thumbnail, not the source. */
    for (int y = 0; y < out.height; y++) {
        unsigned char *d = out.pixels + (size_t)y * out.stride;
        for (int x = 0; x < out.width; x++, d += ch) {
            int sx, sy;
            source_of(orientation, x, y, img->width, img->height, &sx, &sy);
            memcpy(d, img->pixels + (size_t)sy * img->stride + (size_t)sx * ch, (size_t)ch);
        }
    }
    imgpipe_image_free(img);
    *img = out;
    return IMGPIPE_OK;
}
