#include "run/spool.h"

#include <errno.h>
#include <string.h>

void imgpipe_spool_init(imgpipe_spool *s)
{
    memset(s, 0, sizeof(*s));
    s->tmp.fd = -1;
}

int imgpipe_spool_take(imgpipe_spool *s, const void *data, size_t len)
{
    if (s->write_errno)
        return -1;
    if (len == 0)
        return 0;
    if (s->tmp.fd < 0 && imgpipe_store_tmp_open(s->dirfd, &s->tmp, NULL) != IMGPIPE_OK) {
        s->write_errno = errno;
        return -1;
    }
    int e = imgpipe_store_tmp_write(&s->tmp, data, len);
    if (e) {
        s->write_errno = e;
        return -1;
    }
    /* After the write, while the piece is still in this core's cache. */
    imgpipe_sha256_update(&s->sha, data, len);
    s->bytes += len;
    return 0;
}

static int sink(void *arg, const void *data, size_t len)
{
    return imgpipe_spool_take(arg, data, len);
}

void imgpipe_spool_reset(imgpipe_spool *s, int dirfd)
{
    if (s->tmp.fd >= 0 && (s->dirfd != dirfd || imgpipe_store_tmp_rewind(&s->tmp) != 0))
        imgpipe_store_tmp_discard(&s->tmp);
    char unused[65];
    if (s->bytes)
        imgpipe_sha256_final(&s->sha, unused); /* an earlier attempt's pieces */
    s->dirfd = dirfd;
    s->bytes = 0;
    s->write_errno = 0;
}

void imgpipe_spool_begin(imgpipe_spool *s, int dirfd, imgpipe_transfer *t)
{
    imgpipe_spool_reset(s, dirfd);
    imgpipe_transfer_sink(t, sink, s);
}

void imgpipe_spool_digest(imgpipe_spool *s, char hex[65])
{
    imgpipe_sha256_final(&s->sha, hex);
}

int imgpipe_spool_error(const imgpipe_spool *s, const char *name, char *err)
{
    if (!s->write_errno)
        return IMGPIPE_OK;
    return imgpipe_errf(err, imgpipe_store_errno_code(s->write_errno), "cannot write '%s': %s",
                        name, strerror(s->write_errno));
}

void imgpipe_spool_discard(imgpipe_spool *s)
{
    imgpipe_store_tmp_discard(&s->tmp);
}

void imgpipe_spool_free(imgpipe_spool *s)
{
    imgpipe_spool_discard(s);
    imgpipe_sha256_free(&s->sha);
}
