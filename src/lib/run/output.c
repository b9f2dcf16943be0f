#include "run/output.h"
#include "store/store.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

int imgpipe_output_write(const imgpipe_output *o, const char *name, const void *data, size_t len,
                         int flags, char *err)
{
    if (o->s3 && o->guard && o->url && imgpipe_output_taken(o, name, o->url))
        return imgpipe_errf(err, IMGPIPE_EIO, "'%s' in %s is another source's object", name,
                            imgpipe_s3_url(o->s3));
    if (o->s3)
        return imgpipe_s3_put(o->s3, name, data, len, o->url, err);
    return imgpipe_store_put(o->dirfd, name, data, len, flags, err);
}

int imgpipe_output_exists(const imgpipe_output *o, const char *name)
{
    char why[IMGPIPE_ERRLEN];
    if (o->s3)
        return imgpipe_s3_head(o->s3, name, NULL, NULL, 0, why) == 1;
    return imgpipe_store_exists(o->dirfd, name);
}

/* 1 when an object's metadata URL is url's (as imgpipe_s3_put records it). */
static int same_source(const char *meta, const char *url)
{
    char mine[2048];
    imgpipe_s3_meta_url(url, mine, sizeof(mine));
    return strcmp(meta, mine) == 0;
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

int imgpipe_output_holds(const imgpipe_output *o, const char *name, const char *sha256,
                         uint64_t len)
{
    return o->s3 ? 0 : imgpipe_store_holds(o->dirfd, name, sha256, len);
}

void imgpipe_output_remove(const imgpipe_output *o, const char *name)
{
    if (!o->s3)
        imgpipe_store_remove(o->dirfd, name);
}
