#include "common/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Control characters (C0, DEL, C1; and the spaces next to them) become one space, none at
 * the end: a message is one
 * line, and nothing in it moves a terminal, whatever a library (libheif ends its own with "\n") or
 * a server (an API's error text) put in what it quotes. */
static void one_line(char *s)
{
    char *w = s;
    int gap = 0; /* a control byte's space was just written: the spaces after it are too */
    for (const char *r = s; *r; r++) {
        unsigned char c = (unsigned char)*r;
        int c1 = c == 0xC2 && (unsigned char)r[1] >= 0x80 && (unsigned char)r[1] <= 0x9F;
        if (c < 0x20 || c == 0x7f || c1) {
            if (w > s && w[-1] != ' ')
                *w++ = ' ';
            r += c1; /* both bytes of U+0080..U+009F */
            gap = 1;
        } else if (c != ' ' || !gap) {
            *w++ = *r;
            gap = 0;
        }
    }
    while (w > s && w[-1] == ' ')
        w--;
    *w = '\0';
}

int imgpipe_errf(char *err, int status, const char *fmt, ...)
{
    if (!err)
        return status;
    /* Every error of the library is made here: none shows a URL's password. It is hidden
     * in the whole text, before the cut to IMGPIPE_ERRLEN, which could fall inside the
     * userinfo and leave a password with no '@' after it to be found by. */
    va_list ap, again;
    va_start(ap, fmt);
    va_copy(again, ap);
    int n = vsnprintf(err, IMGPIPE_ERRLEN, fmt, ap);
    va_end(ap);
    char *whole = n >= IMGPIPE_ERRLEN ? malloc((size_t)n + 1) : NULL;
    if (whole)
        vsnprintf(whole, (size_t)n + 1, fmt, again);
    va_end(again);
    if (n >= IMGPIPE_ERRLEN && !whole)
        snprintf(err, IMGPIPE_ERRLEN, "(out of memory for an error %d bytes long)", n);
    char shown[IMGPIPE_ERRLEN]; /* not in place: "u:p@" grows to "u:***@" */
    imgpipe_redact(whole ? whole : err, shown, sizeof(shown));
    memcpy(err, shown, sizeof(shown));
    free(whole);
    one_line(err);
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

/* The length of the authority at p, as libcurl (7.88) ends it: at '/', '?' or '#', or at
 * a byte it refuses in any URL (space, control bytes), which also ends one in a sentence.
 * Quotes, '<', '>', '`' and '\\' do not end it: libcurl takes them as part of a password
 * and sends it, so a password holding one must be hidden whole. */
static size_t authority_len(const char *p)
{
    size_t n = 0;
    while ((unsigned char)p[n] > ' ' && p[n] != 0x7f && !strchr("/?#", p[n]))
        n++;
    return n;
}

/* The userinfo of the authority [p, p + n): up to and including its last '@' (libcurl
 * refuses a second '@', but a password it would have held is hidden all the same), else 0. */
static size_t userinfo_len(const char *p, size_t n)
{
    size_t at = 0;
    for (size_t k = 0; k < n; k++)
        if (p[k] == '@')
            at = k + 1;
    return at;
}

static int is_scheme_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '-' || c == '.';
}

/* The authority after the ':' at colon, when one or more '/' follow it. libcurl 7.88 reads
 * "http:/h", "http://h" and "http:///h" alike, sending the userinfo of h, and refuses four
 * slashes or more: skipping them all hides at least what it sends. NULL when no '/'. */
static const char *authority_after(const char *colon, size_t *len, size_t *info)
{
    if (colon[1] != '/')
        return NULL;
    const char *p = colon + 1 + strspn(colon + 1, "/");
    *len = authority_len(p);
    *info = userinfo_len(p, *len);
    return p;
}

/* Whether the authority [p, p + n) ends in a port that is no number ("user:pa" of
 * "user:pa/ss@host"): libcurl refuses such a link. */
static int has_broken_port(const char *p, size_t n)
{
    size_t colon = n, k = p[0] == '[' ? 0 : n;
    while (k < n && p[k] != ']') /* an IPv6 literal's colons are not its port's */
        k++;
    for (size_t i = k < n ? k : 0; i < n; i++)
        if (p[i] == ':')
            colon = i;
    if (colon + 1 >= n)
        return 0;
    for (size_t i = colon + 1; i < n; i++)
        if (p[i] < '0' || p[i] > '9')
            return 1;
    return 0;
}

/* The userinfo to hide at the authority [p, p + n) that has none by the URL rules: a
 * password holding '/', '?' or '#' unencoded ends the authority early, at "user:pa" with
 * a port that is no number. libcurl refuses such a link, but it is still shown, and the
 * password with it: when an '@' follows in the same link, everything up to it (up to the
 * last '@' of the authority after it) is taken as the userinfo. A link that libcurl
 * fetches ("https://cdn/x@2x.png", "http://h:80/a@b") is never changed. */
static size_t broken_userinfo(const char *p, size_t n)
{
    if (!has_broken_port(p, n))
        return 0;
    size_t k = n;
    while ((unsigned char)p[k] > ' ' && p[k] != 0x7f && p[k] != '@')
        k++;
    if (p[k] != '@')
        return 0;
    return userinfo_len(p, k + 1 + authority_len(p + k + 1));
}

/* The authority of the next URL in text: after the first ":/", NULL when there is none.
 * Whatever stands before it may be a scheme (text around a URL may touch it), and hiding
 * a '@' that was not userinfo costs less than showing a password. */
static const char *next_authority(const char *text, size_t *len, size_t *info)
{
    const char *c = strstr(text, ":/");
    const char *p = c ? authority_after(c, len, info) : NULL;
    if (p && !*info)
        *info = broken_userinfo(p, *len);
    return p;
}

const char *imgpipe_url_authority(const char *url, size_t *len, size_t *userinfo)
{
    const char *c = url;
    if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z')))
        return NULL;
    while (is_scheme_char(*c))
        c++;
    return *c == ':' ? authority_after(c, len, userinfo) : NULL;
}

size_t imgpipe_utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len = c < 0x80                 ? 1
                 : c >= 0xC2 && c <= 0xDF ? 2
                 : c >= 0xE0 && c <= 0xEF ? 3
                 : c >= 0xF0 && c <= 0xF4 ? 4
                                          : 0;
    if (len == 0 || len > n)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] > 0x9F) || (c == 0xF0 && s[1] < 0x90) ||
        (c == 0xF4 && s[1] > 0x8F))
        return 0;
    return len;
}

const char *imgpipe_url_host(const char *url, size_t *len)
{
    size_t n, info;
    const char *p = imgpipe_url_authority(url, &n, &info);
    if (!p) {
        p = url;
        n = strcspn(p, "/?#");
        info = userinfo_len(p, n);
    }
    *len = n - info;
    return p + info;
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

/* When text is a URL, from its first byte: its authority up to '/', '?' or '#' only. A
 * text that is one URL (a link, not a sentence quoting it) may hold a space or a control
 * byte in its password; libcurl refuses such a URL, but it is still never shown. */
static const char *first_authority(const char *text, size_t *len, size_t *info)
{
    const char *p = imgpipe_url_authority(text, len, info);
    if (p) {
        *len = strcspn(p, "/?#");
        *info = userinfo_len(p, *len);
        if (!*info)
            *info = broken_userinfo(p, *len);
    }
    return p ? p : next_authority(text, len, info);
}

int imgpipe_has_userinfo(const char *text)
{
    size_t n, info;
    for (const char *p = first_authority(text, &n, &info); p; p = next_authority(p, &n, &info))
        if (info)
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
    size_t len = 0, n, info;
    const char *p = text, *u;
    for (u = first_authority(p, &n, &info); u; u = next_authority(p, &n, &info)) {
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
