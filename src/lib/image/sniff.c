/* Image format detection by magic bytes. */
#include "imgpipe.h"

#include <string.h>

/* True when data (len bytes) starts with the n bytes of magic. */
static int starts_with(const unsigned char *data, size_t len, const char *magic, size_t n)
{
    return len >= n && memcmp(data, magic, n) == 0;
}

const char *imgpipe_sniff_format(const void *data, size_t len)
{
    const unsigned char *p = data;
    if (!p)
        return NULL;
    if (starts_with(p, len, "\xFF\xD8\xFF", 3))
        return "jpeg";
    if (starts_with(p, len, "\x89PNG\r\n\x1A\n", 8))
        return "png";
    if (starts_with(p, len, "GIF87a", 6) || starts_with(p, len, "GIF89a", 6))
        return "gif";
    /* RIFF, a 4-byte size we do not need, then the form type. */
    if (len >= 12 && starts_with(p, len, "RIFF", 4) && memcmp(p + 8, "WEBP", 4) == 0)
        return "webp";
    return NULL;
}
