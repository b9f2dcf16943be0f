/* S3 names: s3:// URLs, bucket names, keys encoded for a signed URL path. */
#include "net/s3.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

int imgpipe_s3_is_url(const char *text)
{
    return text && strncmp(text, "s3://", 5) == 0;
}

/* S3's rule for new buckets: 3..63 of [a-z0-9.-], starting and ending alphanumeric. */
static int bucket_ok(const char *b, size_t n)
{
    if (n < 3 || n > 63 || !isalnum((unsigned char)b[0]) || !isalnum((unsigned char)b[n - 1]))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!(islower((unsigned char)b[i]) || isdigit((unsigned char)b[i]) || b[i] == '.' ||
              b[i] == '-'))
            return 0;
    return 1;
}

/* A prefix's folders: no empty, "." or ".." part (an HTTP client would fold those away,
 * and the key signed would not be the key written). */
static int prefix_ok(const char *p)
{
    const char *s = p;
    while (*s) {
        size_t n = strcspn(s, "/");
        if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
            return 0;
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
                return 0;
        s += n;
        if (*s == '/')
            s++;
    }
    return 1;
}

int imgpipe_s3_parse_url(const char *url, char *bucket, size_t bcap, char *prefix, size_t pcap,
                         char *err)
{
    if (!imgpipe_s3_is_url(url))
        return imgpipe_errf(err, IMGPIPE_EINVAL, "'%s' is not an s3://bucket/prefix URL", url);
    const char *b = url + 5;
    size_t n = strcspn(b, "/");
    if (!bucket_ok(b, n) || n >= bcap)
        return imgpipe_errf(err, IMGPIPE_EINVAL,
                            "'%s': the bucket name must be 3..63 of a-z, 0-9, '.' and '-', "
                            "starting and ending with a letter or digit",
                            url);
    snprintf(bucket, bcap, "%.*s", (int)n, b);
    const char *p = b[n] == '/' ? b + n + 1 : b + n;
    size_t plen = strlen(p);
    while (plen > 0 && p[plen - 1] == '/')
        plen--;
    if (plen >= pcap || plen > IMGPIPE_S3_KEY_MAX / 2)
        return imgpipe_errf(err, IMGPIPE_EINVAL, "'%s': the prefix is too long", url);
    snprintf(prefix, pcap, "%.*s", (int)plen, p);
    if (!prefix_ok(prefix))
        return imgpipe_errf(err, IMGPIPE_EINVAL,
                            "'%s': the prefix has an empty, '.' or '..' folder or a control byte",
                            url);
    return IMGPIPE_OK;
}

int imgpipe_s3_encode_key(const char *key, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (const unsigned char *k = (const unsigned char *)key; *k; k++) {
        int plain = (*k >= 'A' && *k <= 'Z') || (*k >= 'a' && *k <= 'z') ||
                    (*k >= '0' && *k <= '9') || *k == '-' || *k == '_' || *k == '.' || *k == '~' ||
                    *k == '/';
        if (o + (plain ? 1 : 3) >= cap)
            return IMGPIPE_EINVAL;
        if (plain) {
            out[o++] = (char)*k;
        } else {
            out[o++] = '%';
            out[o++] = hex[*k >> 4];
            out[o++] = hex[*k & 15];
        }
    }
    if (o >= cap)
        return IMGPIPE_EINVAL;
    out[o] = '\0';
    return IMGPIPE_OK;
}
