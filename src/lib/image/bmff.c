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

static uint64_t be64(const unsigned char *p)
{
    return (uint64_t)be32(p) << 32 | be32(p + 4);
}

/* The payload of the first box of `type` among the boxes in [p, end), and its end; NULL
 * when there is none or a box does not fit. */
static const unsigned char *child(const unsigned char *p, const unsigned char *end,
                                  const char *type, const unsigned char **cend)
{
    while (end - p >= 8) {
        uint64_t size = be32(p), head = 8;
        if (size == 1 && end - p >= 16)
            size = be64(p + 8), head = 16;
        else if (size == 0)
            size = (uint64_t)(end - p);
        if (size < head || size > (uint64_t)(end - p))
            return NULL;
        if (memcmp(p + 4, type, 4) == 0) {
            *cend = p + size;
            return p + head;
        }
        p += size;
    }
    return NULL;
}

/* 1 when property `index` (from 1) of ipco is an irot or imir box. */
static int is_transform(const unsigned char *p, const unsigned char *end, unsigned index)
{
    for (unsigned i = 1; end - p >= 8; i++) {
        uint64_t size = be32(p);
        if (size < 8 || size > (uint64_t)(end - p))
            return 0;
        if (i == index)
            return memcmp(p + 4, "irot", 4) == 0 || memcmp(p + 4, "imir", 4) == 0;
        p += size;
    }
    return 0;
}

/* Walks ipma for the item's associations: 1 when one is a transform. */
static int item_transformed(const unsigned char *ma, const unsigned char *mend,
                            const unsigned char *co, const unsigned char *cend, uint32_t item)
{
    if (mend - ma < 8)
        return -1;
    int version = ma[0], wide = ma[3] & 1;
    uint32_t n = be32(ma + 4);
    const unsigned char *p = ma + 8;
    for (uint32_t e = 0; e < n; e++) {
        size_t idlen = version < 1 ? 2 : 4;
        if ((size_t)(mend - p) < idlen + 1)
            return -1;
        uint32_t id = idlen == 2 ? (uint32_t)(p[0] << 8 | p[1]) : be32(p);
        unsigned count = p[idlen];
        p += idlen + 1;
        if ((size_t)(mend - p) < (size_t)count * (wide ? 2 : 1))
            return -1;
        for (unsigned a = 0; a < count; a++, p += wide ? 2 : 1) {
            unsigned index = wide ? (unsigned)((p[0] & 0x7f) << 8 | p[1]) : (unsigned)(p[0] & 0x7f);
            if (id == item && is_transform(co, cend, index))
                return 1;
        }
    }
    return 0;
}

int imgpipe_bmff_primary_transformed(const unsigned char *src, size_t len)
{
    const unsigned char *end = src + len, *mend, *pend, *iend, *cend, *aend;
    const unsigned char *meta = child(src, end, "meta", &mend);
    if (!meta || mend - meta < 4)
        return -1;
    meta += 4; /* a FullBox: version and flags */
    const unsigned char *pitm = child(meta, mend, "pitm", &pend);
    const unsigned char *iprp = child(meta, mend, "iprp", &iend);
    const unsigned char *ipco = iprp ? child(iprp, iend, "ipco", &cend) : NULL;
    const unsigned char *ipma = iprp ? child(iprp, iend, "ipma", &aend) : NULL;
    if (!pitm || pend - pitm < 6 || !ipco || !ipma)
        return -1;
    uint32_t item = pitm[0] == 0       ? (uint32_t)(pitm[4] << 8 | pitm[5])
                    : pend - pitm >= 8 ? be32(pitm + 4)
                                       : 0;
    return item ? item_transformed(ipma, aend, ipco, cend, item) : -1;
}
