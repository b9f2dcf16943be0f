/* Hand-written JSON output: galleryd does not link jansson, and names come from the file
 * system, so every string goes through gd_buf_json_string. */
#include "galleryd.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int grow(struct gd_buf *b, size_t extra)
{
    if (b->failed)
        return -1;
    if (b->len + extra + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p) {
        b->failed = 1;
        return -1;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

void gd_buf_append(struct gd_buf *b, const char *s, size_t n)
{
    if (grow(b, n) != 0)
        return;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void gd_buf_puts(struct gd_buf *b, const char *s)
{
    gd_buf_append(b, s, strlen(s));
}

void gd_buf_printf(struct gd_buf *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = 1;
        return;
    }
    if ((size_t)n < sizeof small) {
        gd_buf_append(b, small, (size_t)n);
        return;
    }
    if (grow(b, (size_t)n) != 0)
        return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void gd_buf_json_string(struct gd_buf *b, const char *s)
{
    gd_buf_append(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"':
            gd_buf_puts(b, "\\\"");
            break;
        case '\\':
            gd_buf_puts(b, "\\\\");
            break;
        case '\n':
            gd_buf_puts(b, "\\n");
            break;
        case '\r':
            gd_buf_puts(b, "\\r");
            break;
        case '\t':
            gd_buf_puts(b, "\\t");
            break;
        default:
            /* Other control bytes need \u escapes; bytes >= 0x80 pass through (names
             * are taken to be UTF-8, as on Imgur). */
            if (*p < 0x20 || *p == 0x7f)
                gd_buf_printf(b, "\\u%04x", *p);
            else
                gd_buf_append(b, (const char *)p, 1);
        }
    }
    gd_buf_append(b, "\"", 1);
}

void gd_buf_url_path(struct gd_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        /* RFC 3986 unreserved characters stay; everything else is %XX so a link built
         * from any file name is a valid URL that MHD decodes back to the name. */
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            gd_buf_append(b, (const char *)p, 1);
        } else {
            char esc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            gd_buf_append(b, esc, 3);
        }
    }
}

void gd_buf_free(struct gd_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
