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

int imgpipe_thumb_name(const char *name, const imgpipe_thumb_size *size, int sized, char *out,
                       size_t cap)
{
    const char *ext = ext_of(name);
    /* GIF thumbnails are PNG (see thumb.c). The name keeps ".gif" before ".png", so that
     * the thumbnails of a.gif and a.png (or a.GIF) never share a name. */
    const char *png = strcasecmp(ext, ".gif") == 0 ? ".png" : "";
    int n;
    if (sized)
        n = snprintf(out, cap, "%.*s" THUMB_TAG "_%dx%d%s%s", (int)(ext - name), name, size->width,
                     size->height, ext, png);
    else
        n = snprintf(out, cap, "%.*s" THUMB_TAG "%s%s", (int)(ext - name), name, ext, png);
    return n < 0 || (size_t)n >= cap ? IMGPIPE_EINVAL : IMGPIPE_OK;
}

/* After the tag: nothing, or "_<digits>x<digits>". */
static int is_size_suffix(const char *s, const char *end)
{
    if (s == end)
        return 1;
    if (*s++ != '_')
        return 0;
    int digits = 0, x = 0;
    for (; s < end; s++) {
        if (isdigit((unsigned char)*s))
            digits++;
        else if (*s == 'x' && digits && !x)
            x = 1, digits = 0;
        else
            return 0;
    }
    return x && digits;
}

/* Where the source's extension starts in a thumbnail's name: before ".gif.png" for a
 * GIF's, else at the last '.'. */
static const char *thumb_ext_of(const char *name)
{
    const char *end = ext_of(name);
    if (strcmp(end, ".png") != 0 || end - name < 5 || strncasecmp(end - 4, ".gif", 4) != 0)
        return end;
    return end - 4 == name ? end : end - 4;
}

int imgpipe_is_thumb_name(const char *name)
{
    const char *end = thumb_ext_of(name);
    size_t tag = strlen(THUMB_TAG);
    for (const char *p = name; p + tag <= end; p++) {
        const char *found = strstr(p, THUMB_TAG);
        if (!found || found + tag > end)
            return 0;
        if (is_size_suffix(found + tag, end))
            return 1;
        p = found;
    }
    return 0;
}

int imgpipe_parse_size(const char *text, imgpipe_thumb_size *size)
{
    char *end;
    long w = strtol(text, &end, 10);
    if (end == text || (*end != 'x' && *end != 'X') || !isdigit((unsigned char)end[1]))
        return IMGPIPE_EINVAL;
    const char *h_text = end + 1;
    long h = strtol(h_text, &end, 10);
    if (*end || w < 1 || h < 1 || w > 65535 || h > 65535 || !isdigit((unsigned char)text[0]))
        return IMGPIPE_EINVAL;
    size->width = (int)w;
    size->height = (int)h;
    return IMGPIPE_OK;
}
