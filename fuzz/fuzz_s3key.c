/* libFuzzer target: s3:// URLs, object keys and the metadata URL, from arbitrary bytes.
 * The input is "URL\nKEY\nSOURCE". Aborts when a parsed bucket breaks S3's naming rule or
 * a prefix has an empty, "." or ".." folder; when an encoded key holds anything but
 * unreserved bytes, '/' and %XX, or does not decode back to the key; or when the metadata
 * URL holds a byte outside printable ASCII or overruns its buffer. */
#include "net/s3.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '~';
}

static void check_parse(const char *url)
{
    char b[64], p[1100], err[IMGPIPE_ERRLEN];
    if (imgpipe_s3_parse_url(url, b, sizeof(b), p, sizeof(p), err) != IMGPIPE_OK)
        return;
    size_t n = strlen(b);
    if (n < 3 || n > 63)
        abort();
    for (size_t i = 0; i < n; i++)
        if (!((b[i] >= 'a' && b[i] <= 'z') || (b[i] >= '0' && b[i] <= '9') || b[i] == '.' ||
              b[i] == '-'))
            abort();
    for (char *s = p; *s;) {
        size_t k = strcspn(s, "/");
        if (k == 0 || (k == 1 && s[0] == '.') || (k == 2 && s[0] == '.' && s[1] == '.'))
            abort();
        s += k + (s[k] == '/');
    }
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static void check_key(const char *key)
{
    char out[3 * 512 + 1], back[512 + 1];
    if (imgpipe_s3_encode_key(key, out, sizeof(out)) != IMGPIPE_OK) {
        if (strlen(key) <= 512 / 3)
            abort(); /* fits even when every byte is encoded */
        return;
    }
    size_t o = 0;
    for (const char *s = out; *s; s++) {
        if (*s == '%') {
            int hi = hexval(s[1]), lo = hi < 0 ? -1 : hexval(s[2]);
            if (hi < 0 || lo < 0)
                abort();
            back[o++] = (char)(hi * 16 + lo);
            s += 2;
        } else if (unreserved((unsigned char)*s) || *s == '/') {
            back[o++] = *s;
        } else {
            abort();
        }
        if (o > 512)
            abort();
    }
    back[o] = '\0';
    if (strcmp(back, key) != 0)
        abort();
}

static void check_meta(const char *url)
{
    char out[64];
    memset(out, 'X', sizeof(out));
    imgpipe_s3_meta_url(url, out, 40);
    size_t n = strnlen(out, 40);
    if (n >= 40 || out[41] != 'X')
        abort();
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)out[i] <= 0x20 || (unsigned char)out[i] >= 0x7f)
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    char *key = strchr(buf, '\n');
    if (key)
        *key++ = '\0';
    char *src = key ? strchr(key, '\n') : NULL;
    if (src)
        *src++ = '\0';
    check_parse(buf);
    if (key && strlen(key) <= 512)
        check_key(key);
    check_meta(src ? src : buf);
    free(buf);
    return 0;
}
