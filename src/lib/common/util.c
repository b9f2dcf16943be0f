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
        /* Every error of the library is made here: none shows a URL's password. */
        if (imgpipe_has_userinfo(err)) {
            char shown[IMGPIPE_ERRLEN];
            imgpipe_redact(err, shown, sizeof(shown));
            memcpy(err, shown, sizeof(shown));
        }
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

/* Where the authority of the URL whose "://" is at p ends: the first byte that cannot be
 * in it, in a URL or in the sentence around it. */
static size_t authority_len(const char *p)
{
    return strcspn(p, "/?#\\ \t\r\n'\"<>`");
}

/* The URL at text + i (just past "://") has userinfo: its length (up to and including the
 * last '@' of the authority), else 0. */
static size_t userinfo_len(const char *p)
{
    size_t n = authority_len(p), at = 0;
    for (size_t k = 0; k < n; k++)
        if (p[k] == '@')
            at = k + 1;
    return at;
}

int imgpipe_has_userinfo(const char *text)
{
    for (const char *p = strstr(text, "://"); p; p = strstr(p + 3, "://"))
        if (userinfo_len(p + 3))
            return 1;
    return 0;
}

/* Appends n bytes of s to out (cap bytes) at *len, counting what does not fit. */
static void put(char *out, size_t cap, size_t *len, const char *s, size_t n)
{
    if (*len < cap) {
        size_t room = cap - *len - 1;
        memcpy(out + *len, s, n < room ? n : room);
    }
    *len += n;
}

size_t imgpipe_redact(const char *text, char *out, size_t cap)
{
    size_t len = 0;
    const char *p = text, *u;
    while ((u = strstr(p, "://"))) {
        u += 3;
        size_t info = userinfo_len(u);
        put(out, cap, &len, p, (size_t)(u - p));
        p = u;
        if (!info)
            continue;
        const char *colon = memchr(u, ':', info - 1);
        if (colon) /* the user stays: it says whose password was used */
            put(out, cap, &len, u, (size_t)(colon + 1 - u));
        put(out, cap, &len, "***@", 4);
        p = u + info;
    }
    put(out, cap, &len, p, strlen(p));
    if (cap)
        out[len < cap ? len : cap - 1] = '\0';
    return len;
}

char *imgpipe_redact_dup(const char *text)
{
    size_t n = imgpipe_redact(text, NULL, 0);
    char *s = malloc(n + 1);
    if (s)
        imgpipe_redact(text, s, n + 1);
    return s;
}
