#include "imgpipe.h"

#include <stdlib.h>
#include <string.h>

int imgpipe_buf_reserve(imgpipe_buf *b, size_t extra)
{
    if (extra <= b->cap - b->len)
        return IMGPIPE_OK;
    if (extra > SIZE_MAX / 2 - b->len)
        return IMGPIPE_ENOMEM;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->len < extra)
        cap *= 2;
    unsigned char *d = realloc(b->data, cap);
    if (!d)
        return IMGPIPE_ENOMEM;
    b->data = d;
    b->cap = cap;
    return IMGPIPE_OK;
}

int imgpipe_buf_append(imgpipe_buf *b, const void *data, size_t len)
{
    int rc = imgpipe_buf_reserve(b, len);
    if (rc)
        return rc;
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    return IMGPIPE_OK;
}

void imgpipe_buf_free(imgpipe_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
