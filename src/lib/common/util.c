#include "common/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int imgpipe_errf(char *err, int status, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, IMGPIPE_ERRLEN, fmt, ap);
        va_end(ap);
    }
    return status;
}

int imgpipe_strvec_push(imgpipe_strvec *sv, const char *s)
{
    if (sv->n == sv->cap) {
        size_t cap = sv->cap ? sv->cap * 2 : 16;
        char **v = realloc(sv->v, cap * sizeof(*v));
        if (!v)
            return IMGPIPE_ENOMEM;
        sv->v = v;
        sv->cap = cap;
    }
    char *copy = strdup(s);
    if (!copy)
        return IMGPIPE_ENOMEM;
    sv->v[sv->n++] = copy;
    return IMGPIPE_OK;
}

void imgpipe_strvec_free(imgpipe_strvec *sv)
{
    for (size_t i = 0; i < sv->n; i++)
        free(sv->v[i]);
    free(sv->v);
    sv->v = NULL;
    sv->n = sv->cap = 0;
}

const char *imgpipe_url_host(const char *url, size_t *len)
{
    const char *p = strstr(url, "://");
    p = p ? p + 3 : url;
    size_t n = strcspn(p, "/?#");
    const char *at = memchr(p, '@', n);
    if (at) {
        n -= (size_t)(at + 1 - p);
        p = at + 1;
    }
    *len = n;
    return p;
}

uint64_t imgpipe_hash64(const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    return h;
}
