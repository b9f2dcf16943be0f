/* The coded picture size of an HEVC stream, read from its sequence parameter sets (H.265
 * 7.3.2.2) in an hvcC decoder configuration record (ISO/IEC 14496-15 8.3.3.1), no frame
 * decoded. A HEIF's ispe is only a claim: libde265 allocates the picture the SPS declares,
 * so the pixel limit must see that size too. */
#include "image/codec.h"

#include <string.h>

/* The fields up to the picture size take at most 2 + 1 + 86 (a profile_tier_level with 6
 * sub-layers) + 32 (four ue(v) of up to 63 bits) + 1 bytes: the rest is never read. */
#define SPS_HEAD_MAX 192
/* An emulation prevention byte is at most one raw byte in three. */
_Static_assert(IMGPIPE_HEVC_SPS_WINDOW >= SPS_HEAD_MAX * 3 / 2, "the window holds an SPS head");

struct bits {
    const unsigned char *p;
    size_t len, at; /* in bits */
};

static int read_bits(struct bits *b, int n, uint32_t *v)
{
    if (n > 32 || b->len - b->at < (size_t)n)
        return -1;
    uint32_t x = 0;
    for (int i = 0; i < n; i++, b->at++)
        x = x << 1 | (uint32_t)(b->p[b->at >> 3] >> (7 - (b->at & 7)) & 1);
    *v = x;
    return 0;
}

static int skip_bits(struct bits *b, size_t n)
{
    if (b->len - b->at < n)
        return -1;
    b->at += n;
    return 0;
}

/* ue(v) (9.2): at most 31 leading zeros, so the value fits 32 bits; more is corrupt. */
static int read_ue(struct bits *b, uint32_t *v)
{
    int zeros = 0;
    uint32_t bit = 0;
    while (read_bits(b, 1, &bit) == 0 && bit == 0)
        if (++zeros > 31)
            return -1;
    if (bit != 1)
        return -1; /* ran out */
    uint32_t rest = 0;
    if (read_bits(b, zeros, &rest) != 0)
        return -1;
    *v = (uint32_t)(((uint64_t)1 << zeros) - 1 + rest);
    return 0;
}

/* profile_tier_level(1, max_sub_layers_minus1) (7.3.3), skipped. */
static int skip_ptl(struct bits *b, uint32_t max_sub_layers_minus1)
{
    uint32_t profile[8] = {0}, level[8] = {0};
    if (skip_bits(b, 96) != 0) /* the general profile, flags and level */
        return -1;
    for (uint32_t i = 0; i < max_sub_layers_minus1; i++)
        if (read_bits(b, 1, &profile[i]) != 0 || read_bits(b, 1, &level[i]) != 0)
            return -1;
    if (max_sub_layers_minus1 > 0 && skip_bits(b, 2 * (8 - max_sub_layers_minus1)) != 0)
        return -1; /* reserved_zero_2bits up to 8 entries */
    for (uint32_t i = 0; i < max_sub_layers_minus1; i++)
        if (skip_bits(b, (profile[i] ? 88 : 0) + (level[i] ? 8 : 0)) != 0)
            return -1;
    return 0;
}

int imgpipe_hevc_sps_size(const unsigned char *nal, size_t len, uint32_t *width, uint32_t *height)
{
    /* The RBSP: 00 00 03 is an emulation prevention byte the decoder drops (7.4.2) */
    unsigned char rbsp[SPS_HEAD_MAX];
    size_t n = 0;
    int zeros = 0;
    for (size_t i = 0; i < len && n < sizeof(rbsp); i++) {
        if (zeros >= 2 && nal[i] == 3) {
            zeros = 0;
            continue;
        }
        rbsp[n++] = nal[i];
        zeros = nal[i] == 0 ? zeros + 1 : 0;
    }
    struct bits b = {rbsp, n * 8, 0};
    uint32_t v, sub_layers, chroma, w, h;
    if (read_bits(&b, 16, &v) != 0 || (v >> 9 & 0x3f) != 33) /* nal_unit_header: an SPS */
        return -1;
    if (read_bits(&b, 4, &v) != 0 || read_bits(&b, 3, &sub_layers) != 0 || sub_layers > 6 ||
        read_bits(&b, 1, &v) != 0 || skip_ptl(&b, sub_layers) != 0)
        return -1;
    if (read_ue(&b, &v) != 0 || v > 15 || read_ue(&b, &chroma) != 0 || chroma > 3)
        return -1;
    if (chroma == 3 && read_bits(&b, 1, &v) != 0) /* separate_colour_plane_flag */
        return -1;
    if (read_ue(&b, &w) != 0 || read_ue(&b, &h) != 0 || w == 0 || h == 0)
        return -1;
    *width = w;
    *height = h;
    return 0;
}

static uint32_t be16(const unsigned char *p)
{
    return (uint32_t)p[0] << 8 | p[1];
}

int imgpipe_hevc_config_size(const unsigned char *p, size_t len, uint32_t *width, uint32_t *height)
{
    /* 22 bytes of profile and format fields, then numOfArrays arrays of NAL units */
    if (len < 23)
        return -1;
    const unsigned char *end = p + len;
    unsigned arrays = p[22];
    int found = 0;
    *width = *height = 0;
    p += 23;
    for (unsigned a = 0; a < arrays; a++) {
        if (end - p < 3)
            return -1;
        uint32_t units = be16(p + 1);
        p += 3;
        for (uint32_t u = 0; u < units; u++) {
            if (end - p < 2 || (size_t)(end - p - 2) < be16(p))
                return -1;
            size_t n = be16(p);
            p += 2;
            /* The unit's own header, not the array's type: it is what the decoder reads */
            if (n >= 2 && (p[0] >> 1 & 0x3f) == 33) {
                uint32_t w, h;
                if (imgpipe_hevc_sps_size(p, n, &w, &h) != 0)
                    return -1;
                *width = w > *width ? w : *width;
                *height = h > *height ? h : *height;
                found = 1;
            }
            p += n;
        }
    }
    return found;
}

static int is_sps(const unsigned char *nal)
{
    return (nal[0] >> 1 & 0x3f) == 33;
}

/* The unit in w->buf ends: an SPS's size counts as in an hvcC (a unit under 2 bytes has no
 * header to read). */
static int end_unit(struct imgpipe_hevc_walk *w)
{
    if (w->unit_len >= 2 && is_sps(w->buf)) {
        uint32_t sw, sh;
        if (imgpipe_hevc_sps_size(w->buf, w->have, &sw, &sh) != 0)
            return -1;
        w->width = sw > w->width ? sw : w->width;
        w->height = sh > w->height ? sh : w->height;
        w->found = 1;
    }
    w->in_unit = 0;
    w->have = 0;
    return 0;
}

int imgpipe_hevc_walk_feed(struct imgpipe_hevc_walk *w, const unsigned char *p, size_t n)
{
    if (w->length_size != 1 && w->length_size != 2 && w->length_size != 4)
        return -1;
    while (n > 0) {
        if (!w->in_unit) { /* the length field, perhaps split over extents */
            size_t take = w->length_size - w->have < n ? w->length_size - w->have : n;
            memcpy(w->buf + w->have, p, take);
            w->have += take, p += take, n -= take;
            if (w->have < w->length_size)
                break;
            if (++*w->units > IMGPIPE_HEVC_MAX_UNITS)
                return -2;
            uint64_t len = 0;
            for (unsigned i = 0; i < w->length_size; i++)
                len = len << 8 | w->buf[i];
            w->unit_len = w->left = len;
            w->in_unit = 1;
            w->have = 0;
            if (len == 0 && end_unit(w) != 0)
                return -1;
            continue;
        }
        /* Only an SPS's head is kept: any other unit is skipped by its length */
        size_t take = w->left < n ? (size_t)w->left : n, keep = 0;
        if (w->have == 0 || is_sps(w->buf))
            keep = sizeof(w->buf) - w->have < take ? sizeof(w->buf) - w->have : take;
        memcpy(w->buf + w->have, p, keep);
        w->have += keep, p += take, n -= take, w->left -= take;
        if (w->left == 0 && end_unit(w) != 0)
            return -1;
    }
    return 0;
}

int imgpipe_hevc_walk_end(const struct imgpipe_hevc_walk *w)
{
    return w->in_unit || w->have ? -1 : 0;
}
