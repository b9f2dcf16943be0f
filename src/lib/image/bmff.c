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

/* Property `index` (from 1) of ipco: its type, payload and end; NULL when there is none. */
static const unsigned char *property(const unsigned char *p, const unsigned char *end,
                                     unsigned index, const unsigned char **type,
                                     const unsigned char **pend)
{
    for (unsigned i = 1; end - p >= 8; i++) {
        uint64_t size = be32(p);
        if (size < 8 || size > (uint64_t)(end - p))
            return NULL;
        if (i == index) {
            *type = p + 4;
            *pend = p + size;
            return p + 8;
        }
        p += size;
    }
    return NULL;
}

/* The boxes every property walk needs. */
struct props {
    const unsigned char *meta, *mend; /* meta's children */
    const unsigned char *co, *cend;   /* ipco's payload */
    const unsigned char *ma, *aend;   /* ipma's payload */
};

static int find_props(const unsigned char *src, size_t len, struct props *pr)
{
    const unsigned char *end = src + len, *iend;
    pr->meta = child(src, end, "meta", &pr->mend);
    if (!pr->meta || pr->mend - pr->meta < 4)
        return -1;
    pr->meta += 4; /* a FullBox: version and flags */
    const unsigned char *iprp = child(pr->meta, pr->mend, "iprp", &iend);
    pr->co = iprp ? child(iprp, iend, "ipco", &pr->cend) : NULL;
    pr->ma = iprp ? child(iprp, iend, "ipma", &pr->aend) : NULL;
    return pr->co && pr->ma ? 0 : -1;
}

/* Calls fn with each ipma entry's item and property indexes (0 ends them: at most 255);
 * stops at fn's first non-zero result and returns it, -1 when ipma does not fit. */
static int each_item(const struct props *pr,
                     int (*fn)(const struct props *, uint32_t item, const unsigned *index,
                               unsigned n, void *),
                     void *arg)
{
    const unsigned char *p = pr->ma, *end = pr->aend;
    if (end - p < 8)
        return -1;
    int version = p[0], wide = p[3] & 1;
    uint32_t n = be32(p + 4);
    p += 8;
    for (uint32_t e = 0; e < n; e++) {
        size_t idlen = version < 1 ? 2 : 4;
        if ((size_t)(end - p) < idlen + 1)
            return -1;
        uint32_t id = idlen == 2 ? (uint32_t)(p[0] << 8 | p[1]) : be32(p);
        unsigned count = p[idlen], index[256];
        p += idlen + 1;
        if ((size_t)(end - p) < (size_t)count * (wide ? 2 : 1))
            return -1;
        for (unsigned a = 0; a < count; a++, p += wide ? 2 : 1) /* the essential bit dropped */
            index[a] = wide ? (unsigned)((p[0] & 0x7f) << 8 | p[1]) : (unsigned)(p[0] & 0x7f);
        int rc = fn(pr, id, index, count, arg);
        if (rc)
            return rc;
    }
    return 0;
}

struct transformed {
    uint32_t item;
    int found;
};

static int find_transform(const struct props *pr, uint32_t item, const unsigned *index, unsigned n,
                          void *arg)
{
    struct transformed *t = arg;
    const unsigned char *type, *pend;
    for (unsigned a = 0; item == t->item && a < n; a++)
        if (property(pr->co, pr->cend, index[a], &type, &pend) &&
            (memcmp(type, "irot", 4) == 0 || memcmp(type, "imir", 4) == 0))
            t->found = 1;
    return 0;
}

int imgpipe_bmff_primary_transformed(const unsigned char *src, size_t len)
{
    struct props pr;
    const unsigned char *pend;
    if (find_props(src, len, &pr) != 0)
        return -1;
    const unsigned char *pitm = child(pr.meta, pr.mend, "pitm", &pend);
    if (!pitm || pend - pitm < 6)
        return -1;
    struct transformed t = {.item = pitm[0] == 0       ? (uint32_t)(pitm[4] << 8 | pitm[5])
                                    : pend - pitm >= 8 ? be32(pitm + 4)
                                                       : 0};
    if (!t.item || each_item(&pr, find_transform, &t) != 0)
        return -1;
    return t.found;
}

/* The ispe among an item's properties: 0 x 0 when it has none. */
static void ispe_of(const struct props *pr, const unsigned *index, unsigned n, uint32_t *w,
                    uint32_t *h)
{
    const unsigned char *type, *pend, *p;
    *w = *h = 0;
    for (unsigned a = 0; a < n; a++)
        if ((p = property(pr->co, pr->cend, index[a], &type, &pend)) &&
            memcmp(type, "ispe", 4) == 0 && pend - p >= 12)
            *w = be32(p + 4), *h = be32(p + 8);
}

struct configs {
    const char *type;
    imgpipe_bmff_config_fn fn;
    void *arg;
};

static int find_config(const struct props *pr, uint32_t item, const unsigned *index, unsigned n,
                       void *arg)
{
    struct configs *c = arg;
    const unsigned char *type, *pend, *p;
    uint32_t w, h;
    ispe_of(pr, index, n, &w, &h); /* the item's size first */
    for (unsigned a = 0; a < n; a++)
        if ((p = property(pr->co, pr->cend, index[a], &type, &pend)) &&
            memcmp(type, c->type, 4) == 0) {
            int rc = c->fn(c->arg, item, p, (size_t)(pend - p), w, h);
            if (rc)
                return rc;
        }
    return 0;
}

int imgpipe_bmff_each_config(const unsigned char *src, size_t len, const char *type,
                             imgpipe_bmff_config_fn fn, void *arg)
{
    struct props pr;
    if (find_props(src, len, &pr) != 0)
        return -1;
    struct configs c = {type, fn, arg};
    return each_item(&pr, find_config, &c);
}

struct sized {
    uint32_t item, *w, *h;
};

static int find_ispe(const struct props *pr, uint32_t item, const unsigned *index, unsigned n,
                     void *arg)
{
    struct sized *z = arg;
    if (item == z->item)
        ispe_of(pr, index, n, z->w, z->h);
    return 0;
}

int imgpipe_bmff_item_ispe(const unsigned char *src, size_t len, uint32_t item, uint32_t *width,
                           uint32_t *height)
{
    struct props pr;
    struct sized z = {item, width, height};
    *width = *height = 0;
    return find_props(src, len, &pr) != 0 ? -1 : each_item(&pr, find_ispe, &z);
}

int imgpipe_bmff_each_item_type(const unsigned char *src, size_t len, imgpipe_bmff_type_fn fn,
                                void *arg)
{
    struct props pr;
    const unsigned char *iend, *eend;
    if (find_props(src, len, &pr) != 0)
        return -1;
    const unsigned char *iinf = child(pr.meta, pr.mend, "iinf", &iend);
    if (!iinf || iend - iinf < 6)
        return -1;
    const unsigned char *p = iinf + (iinf[0] == 0 ? 6 : 8); /* FullBox, entry_count */
    while (p < iend) {
        const unsigned char *e = child(p, iend, "infe", &eend);
        if (!e)
            return iend - p < 8 ? 0 : -1;
        /* versions 2 and 3 name the item type: the older ones never describe an image */
        if (eend - e >= 12 && (e[0] == 2 || e[0] == 3)) {
            int wide = e[0] == 3;
            uint32_t item = wide ? be32(e + 4) : (uint32_t)(e[4] << 8 | e[5]);
            if (eend - e >= (wide ? 14 : 12)) {
                int rc = fn(arg, item, (const char *)e + (wide ? 10 : 8));
                if (rc)
                    return rc;
            }
        }
        p = eend;
    }
    return 0;
}

/* An n-byte (0, 2, 4 or 8) big-endian field at *p, which moves past it; -1 past end. */
static int field(const unsigned char **p, const unsigned char *end, unsigned n, uint64_t *v)
{
    if ((n != 0 && n != 2 && n != 4 && n != 8) || (size_t)(end - *p) < n)
        return -1;
    *v = n == 8 ? be64(*p) : n == 4 ? be32(*p) : n == 2 ? (uint64_t)((*p)[0] << 8 | (*p)[1]) : 0;
    *p += n;
    return 0;
}

int imgpipe_bmff_item_extents(const unsigned char *src, size_t len, uint32_t item,
                              imgpipe_bmff_extent_fn fn, void *arg)
{
    struct props pr;
    const unsigned char *lend, *dend = NULL;
    if (find_props(src, len, &pr) != 0)
        return -1;
    const unsigned char *loc = child(pr.meta, pr.mend, "iloc", &lend);
    const unsigned char *idat = child(pr.meta, pr.mend, "idat", &dend);
    if (!loc || lend - loc < 6)
        return -1;
    int v = loc[0];
    unsigned osize = loc[4] >> 4, lsize = loc[4] & 15, bsize = loc[5] >> 4,
             isize = v == 1 || v == 2 ? loc[5] & 15u : 0;
    const unsigned char *p = loc + 6;
    uint64_t items, id, method = 0, ref, base, extents, index, off, n;
    if (field(&p, lend, v < 2 ? 2 : 4, &items) != 0)
        return -1;
    for (uint64_t i = 0; i < items; i++) {
        if (field(&p, lend, v < 2 ? 2 : 4, &id) != 0 ||
            ((v == 1 || v == 2) && field(&p, lend, 2, &method) != 0) ||
            field(&p, lend, 2, &ref) != 0 || field(&p, lend, bsize, &base) != 0 ||
            field(&p, lend, 2, &extents) != 0)
            return -1;
        method &= 15;
        for (uint64_t e = 0; e < extents; e++) {
            if (field(&p, lend, isize, &index) != 0 || field(&p, lend, osize, &off) != 0 ||
                field(&p, lend, lsize, &n) != 0)
                return -1;
            if (id != item)
                continue;
            /* in the file (method 0) or in idat (1); an item's data in another item (2) is
             * not read here */
            const unsigned char *from = method == 0 ? src : idat,
                                *to = method == 0 ? src + len : dend;
            if (method > 1 || !from || ref != 0 || base > (uint64_t)(to - from) ||
                off > (uint64_t)(to - from) - base)
                return -1;
            from += base + off;
            if (n == 0) /* to the end */
                n = (uint64_t)(to - from);
            if (n > (uint64_t)(to - from))
                return -1; /* an extent past its container: libheif may read on beyond it */
            int rc = fn(arg, from, (size_t)n);
            if (rc)
                return rc;
        }
        if (id == item)
            return 0;
    }
    return -1;
}

struct head {
    unsigned char *buf;
    size_t cap, got;
};

static int copy_head(void *arg, const unsigned char *p, size_t n)
{
    struct head *h = arg;
    size_t take = n < h->cap - h->got ? n : h->cap - h->got;
    memcpy(h->buf + h->got, p, take);
    h->got += take;
    return h->got == h->cap; /* full: the extents after it are not looked at */
}

long imgpipe_bmff_item_head(const unsigned char *src, size_t len, uint32_t item, unsigned char *buf,
                            size_t cap)
{
    struct head h = {buf, cap, 0};
    return imgpipe_bmff_item_extents(src, len, item, copy_head, &h) < 0 ? -1 : (long)h.got;
}
