#include "run/output.h"
#include "store/store.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

int imgpipe_output_write(const imgpipe_output *o, const char *name, const void *data, size_t len,
                         char *err)
{
    if (o->s3 && o->guard && o->url && imgpipe_output_taken(o, name, o->url))
        return imgpipe_errf(err, IMGPIPE_EIO, "'%s' in %s is another source's object", name,
                            imgpipe_s3_url(o->s3));
    if (o->s3)
        return imgpipe_s3_put(o->s3, name, data, len, o->url, err);
    return imgpipe_store_write(o->dirfd, name, data, len, err);
}

int imgpipe_output_exists(const imgpipe_output *o, const char *name)
{
    char why[IMGPIPE_ERRLEN];
    if (o->s3)
        return imgpipe_s3_head(o->s3, name, NULL, NULL, 0, why) == 1;
    return imgpipe_store_exists(o->dirfd, name);
}

/* The URL as an object's metadata holds it: without userinfo (see imgpipe_s3_put). */
static int same_source(const char *meta, const char *url)
{
    const char *scheme = strstr(url, "://");
    const char *host = scheme ? scheme + 3 : url;
    const char *end = host + strcspn(host, "/?#");
    const char *at = memchr(host, '@', (size_t)(end - host));
    size_t head = (size_t)(host - url);
    if (!at)
        return strcmp(meta, url) == 0;
    return strncmp(meta, url, head) == 0 && strcmp(meta + head, at + 1) == 0;
}

int imgpipe_output_stat(const imgpipe_output *o, const char *name, const char *url, uint64_t *size)
{
    if (o->s3) {
        char why[IMGPIPE_ERRLEN], meta[2048];
        return imgpipe_s3_head(o->s3, name, size, meta, sizeof(meta), why) == 1 &&
               same_source(meta, url);
    }
    struct stat sb;
    if (fstatat(o->dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(sb.st_mode))
        return 0;
    *size = (uint64_t)sb.st_size;
    return 1;
}

int imgpipe_output_taken(const imgpipe_output *o, const char *name, const char *url)
{
    if (!o->s3)
        return imgpipe_store_exists(o->dirfd, name);
    char why[IMGPIPE_ERRLEN], meta[2048];
    return imgpipe_s3_head(o->s3, name, NULL, meta, sizeof(meta), why) == 1 &&
           !same_source(meta, url);
}

int imgpipe_output_read(const imgpipe_output *o, const char *name, uint64_t max, imgpipe_buf *b,
                        char *err)
{
    if (o->s3)
        return imgpipe_s3_get(o->s3, name, max, b, err);
    return imgpipe_store_read(o->dirfd, name, max, b, err);
}
