/* Thumbnail file names: "<stem>_thumbnail<ext>" beside the original, as in the tutorial. */
#include "common/util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define THUMB_TAG "_thumbnail"

/* The extension starts at the last '.', unless that dot begins the name. */
static const char *ext_of(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && dot != name ? dot : name + strlen(name);
}

/* Thumbnail formats and their file name extensions, the first one written. Names only:
 * the codecs live in image/, which this layer does not know. */
static const char *const format_exts[][4] = {{"jpeg", ".jpg", ".jpeg", ".jpe"},
                                             {"png", ".png", NULL, NULL},
                                             {"webp", ".webp", NULL, NULL},
                                             {"avif", ".avif", NULL, NULL}};
#define NFORMATS (sizeof(format_exts) / sizeof(format_exts[0]))

static int format_index(const char *format)
{
    for (size_t i = 0; format && i < NFORMATS; i++)
        if (strcmp(format_exts[i][0], format) == 0)
            return (int)i;
    return -1;
}

/* The format a source's thumbnails are written in when none is asked: its own, except
 * GIF (no encoder: PNG) and HEIC/HEIF (no encoder: JPEG). By extension, as names are
 * decided before the bytes are known. */
static const char *default_format(const char *ext)
{
    if (strcasecmp(ext, ".gif") == 0)
        return "png";
    if (strcasecmp(ext, ".heic") == 0 || strcasecmp(ext, ".heif") == 0 ||
        strcasecmp(ext, ".hif") == 0)
        return "jpeg";
    return NULL;
}

/* What follows the source's extension: nothing when it is one of the format's, else the
 * format's own, so a.gif and a.png (or a.webp) never share a thumbnail's name. */
static const char *added_ext(const char *ext, const char *format)
{
    int f = format_index(format ? format : default_format(ext));
    if (f < 0 || !*ext)
        return "";
    for (int i = 1; i < 4 && format_exts[f][i]; i++)
        if (strcasecmp(ext, format_exts[f][i]) == 0)
            return "";
    return format_exts[f][1];
}

static void size_text(const imgpipe_thumb_size *size, char *out, size_t cap)
{
    char w[16] = "", h[16] = "";
    if (size->width)
        snprintf(w, sizeof(w), "%d", size->width);
    if (size->height)
        snprintf(h, sizeof(h), "%d", size->height);
    snprintf(out, cap, "_%sx%s", w, h);
}

int imgpipe_thumb_name_as(const char *name, const imgpipe_thumb_size *size, int sized,
                          const char *format, char *out, size_t cap)
{
    if (format && format_index(format) < 0)
        return IMGPIPE_EINVAL;
    const char *ext = ext_of(name);
    char dims[40] = "";
    if (sized)
        size_text(size, dims, sizeof(dims));
    int n = snprintf(out, cap, "%.*s" THUMB_TAG "%s%s%s", (int)(ext - name), name, dims, ext,
                     added_ext(ext, format));
    return n < 0 || (size_t)n >= cap ? IMGPIPE_EINVAL : IMGPIPE_OK;
}

int imgpipe_thumb_name(const char *name, const imgpipe_thumb_size *size, int sized, char *out,
                       size_t cap)
{
    return imgpipe_thumb_name_as(name, size, sized, NULL, out, cap);
}

/* After the tag: nothing, or "_<digits>x<digits>" with either number left out. */
static int is_size_suffix(const char *s, const char *end)
{
    if (s == end)
        return 1;
    if (*s++ != '_')
        return 0;
    int before = 0, after = 0, x = 0;
    for (; s < end; s++) {
        if (isdigit((unsigned char)*s))
            x ? after++ : before++;
        else if ((*s == 'x' || *s == 'X') && !x)
            x = 1;
        else
            return 0;
    }
    return x && (before || after);
}

/* 1 when name, up to end, is "<stem>_thumbnail[_WxH]" for some stem, in any case: on a
 * case-insensitive file system "A_THUMBNAIL.JPG" is the file "a_thumbnail.jpg". */
static int tagged(const char *name, const char *end)
{
    size_t tag = strlen(THUMB_TAG);
    for (const char *p = name; p + tag <= end; p++)
        if (strncasecmp(p, THUMB_TAG, tag) == 0 && is_size_suffix(p + tag, end))
            return 1;
    return 0;
}

/* 1 when ext (".png") is a thumbnail format's. */
static int format_ext(const char *ext)
{
    for (size_t i = 0; i < NFORMATS; i++)
        for (int j = 1; j < 4 && format_exts[i][j]; j++)
            if (strcasecmp(ext, format_exts[i][j]) == 0)
                return 1;
    return 0;
}

/* A thumbnail's name ends in the source's extension, or in it and a format's added
 * (".gif.png"): both places where the source's extension may start are tried. */
int imgpipe_is_thumb_name(const char *name)
{
    const char *end = ext_of(name);
    if (tagged(name, end))
        return 1;
    if (*end == '\0' || !format_ext(end))
        return 0;
    const char *prev = end;
    while (prev > name && prev[-1] != '.')
        prev--;
    return prev > name + 1 && tagged(name, prev - 1);
}

/* A side of a box: 1..65535 digits-only; *end after it. */
static int side(const char *text, const char **end, int *out)
{
    long v = 0;
    const char *p = text;
    while (isdigit((unsigned char)*p) && v <= 65535)
        v = v * 10 + (*p++ - '0');
    *end = p;
    if (p == text || v < 1 || v > 65535)
        return IMGPIPE_EINVAL;
    *out = (int)v;
    return IMGPIPE_OK;
}

int imgpipe_parse_size(const char *text, imgpipe_thumb_size *size)
{
    int w = 0, h = 0;
    const char *p = text;
    if (*p != 'x' && *p != 'X' && side(p, &p, &w))
        return IMGPIPE_EINVAL;
    if (*p == '\0') { /* "128": a square */
        h = w;
    } else {
        if (*p != 'x' && *p != 'X')
            return IMGPIPE_EINVAL;
        p++;
        if (*p && (side(p, &p, &h) || *p)) /* digits to the end, or nothing ("128x") */
            return IMGPIPE_EINVAL;
    }
    if (!w && !h)
        return IMGPIPE_EINVAL;
    size->width = w;
    size->height = h;
    return IMGPIPE_OK;
}
