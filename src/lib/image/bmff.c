/* The ISO base media file format as AVIF and HEIF wrap it: the brands of the ftyp box (to
 * tell the two apart by magic) and the top-level box walk that finds a cut file. The
 * codecs read everything else through libavif and libheif. */
#include "image/codec.h"
#include "common/util.h"

#include <string.h>

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int imgpipe_bmff_has_brand(const unsigned char *src, size_t len, const char *const *brands)
{
    if (len < 16 || memcmp(src + 4, "ftyp", 4) != 0)
        return 0;
    size_t box = be32(src);
    if (box < 16 || box > len)
        box = len < 64 ? len : 64; /* a cut ftyp still names its major brand */
    for (size_t at = 8; at + 4 <= box; at += at == 8 ? 8 : 4) /* major, minor, compatible */
        for (const char *const *b = brands; *b; b++)
            if (memcmp(src + at, *b, 4) == 0)
                return 1;
    return 0;
}

int imgpipe_bmff_complete(const unsigned char *src, size_t len, const char *label, char *err)
{
    int meta = 0, mdat = 0;
    size_t pos = 0;
    while (pos < len) {
        if (len - pos < 8)
            return imgpipe_errf(err, IMGPIPE_ECORRUPT, "truncated %s: %zu stray bytes at %zu",
                                label, len - pos, pos);
        uint64_t size = be32(src + pos), head = 8;
        const unsigned char *type = src + pos + 4;
        if (size == 1) {
            if (len - pos < 16)
                return imgpipe_errf(err, IMGPIPE_ECORRUPT, "truncated %s at byte %zu", label, pos);
            size = (uint64_t)be32(src + pos + 8) << 32 | be32(src + pos + 12);
            head = 16;
        } else if (size == 0) {
            size = len - pos; /* the last box runs to the end of the file */
        }
        if (size < head || size > len - pos)
            return imgpipe_errf(err, IMGPIPE_ECORRUPT,
                                "truncated %s: box %.4s at byte %zu needs %llu bytes, %zu are left",
                                label, (const char *)type, pos, (unsigned long long)size,
                                len - pos);
        meta |= memcmp(type, "meta", 4) == 0;
        mdat |= memcmp(type, "mdat", 4) == 0;
        pos += (size_t)size;
    }
    if (!meta || !mdat)
        return imgpipe_errf(err, IMGPIPE_ECORRUPT, "corrupt %s: no %s box", label,
                            meta ? "mdat" : "meta");
    return IMGPIPE_OK;
}

int imgpipe_orientation_of(int angle, int mirror)
{
    /* irot turns anticlockwise by angle * 90 degrees, then imir mirrors (mode 0: top and
     * bottom exchanged, 1: left and right); as the EXIF orientation that does the same. */
    static const int plain[4] = {1, 8, 3, 6}, lr[4] = {2, 7, 4, 5}, tb[4] = {4, 5, 2, 7};
    angle &= 3;
    return mirror < 0 ? plain[angle] : mirror ? lr[angle] : tb[angle];
}

int imgpipe_exif_block_orientation(const unsigned char *p, size_t len)
{
    /* An Exif item is "Exif\0\0" or a 4-byte offset before the TIFF header, or neither:
     * the TIFF header is looked for in the first bytes. */
    for (size_t at = 0; at + 4 <= len && at < 16; at++)
        if (memcmp(p + at, "II*\0", 4) == 0 || memcmp(p + at, "MM\0*", 4) == 0)
            return imgpipe_exif_orientation(p + at, len - at);
    return 1;
}
