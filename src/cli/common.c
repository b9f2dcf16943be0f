#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("imgpipe: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int cli_parse_seconds(const char *opt, const char *text, long *ms)
{
    char *end;
    errno = 0;
    double s = strtod(text, &end);
    if (errno || end == text || *end || !(s > 0) || s > 86400.0 * 365) {
        cli_error("%s: '%s' is not a number of seconds (e.g. 3 or 0.5)", opt, text);
        return -1;
    }
    *ms = (long)(s * 1000.0 + 0.5);
    if (*ms < 1)
        *ms = 1;
    return 0;
}

int cli_parse_bytes(const char *opt, const char *text, uint64_t *bytes)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    unsigned shift = 0;
    if (*end == 'K' || *end == 'k')
        shift = 10, end++;
    else if (*end == 'M' || *end == 'm')
        shift = 20, end++;
    else if (*end == 'G' || *end == 'g')
        shift = 30, end++;
    if (errno || end == text || *end || text[0] == '-' || v == 0 || v > (UINT64_MAX >> shift)) {
        cli_error("%s: '%s' is not a size in bytes (e.g. 50M, 512K, 1000000)", opt, text);
        return -1;
    }
    *bytes = (uint64_t)v << shift;
    return 0;
}

int cli_parse_int(const char *opt, const char *text, int lo, int hi, int *value)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || end == text || *end || v < lo || v > hi) {
        cli_error("%s: '%s' is not a whole number from %d to %d", opt, text, lo, hi);
        return -1;
    }
    *value = (int)v;
    return 0;
}

int cli_add_size(const char *opt, imgpipe_thumb_size *sizes, int *n, const char *text)
{
    if (*n == IMGPIPE_THUMB_MAX_SIZES) {
        cli_error("%s: at most %d sizes", opt, IMGPIPE_THUMB_MAX_SIZES);
        return -1;
    }
    if (imgpipe_parse_size(text, &sizes[*n]) != IMGPIPE_OK) {
        cli_error("%s: '%s' is not a size like 128x128, 128, 128x or x128", opt, text);
        return -1;
    }
    for (int i = 0; i < *n; i++) /* one file for both: counted twice, written once */
        if (sizes[i].width == sizes[*n].width && sizes[i].height == sizes[*n].height) {
            cli_error("%s: '%s' is given twice", opt, text);
            return -1;
        }
    (*n)++;
    return 0;
}

int cli_thumb_option(imgpipe_thumb_opts *t, int c, const char *arg)
{
    static const char *const formats[] = {"jpeg", "png", "webp", "avif"};
    switch (c) {
    case CLI_OPT_FIT:
        if (imgpipe_parse_fit(arg, &t->fit) == IMGPIPE_OK)
            return -1;
        cli_error("--fit: '%s' is not one of contain, cover, pad", arg);
        return CLI_EXIT_USAGE;
    case CLI_OPT_UPSCALE:
        t->upscale = 1;
        return -1;
    case CLI_OPT_PAD_COLOUR:
        if (imgpipe_parse_colour(arg, t->pad_colour) == IMGPIPE_OK) {
            t->pad_set = 1;
            return -1;
        }
        cli_error("--pad-colour: '%s' is not a colour like '#ffffff', '#00000080', white, black "
                  "or transparent",
                  arg);
        return CLI_EXIT_USAGE;
    case CLI_OPT_FORMAT:
        for (int i = 0; i < 4; i++)
            if (strcmp(arg, formats[i]) == 0) {
                t->format = formats[i];
                return -1;
            }
        cli_error("--format: '%s' is not one of jpeg, png, webp, avif", arg);
        return CLI_EXIT_USAGE;
    default:
        return cli_parse_int("--effort", arg, 1, 9, &t->effort) ? CLI_EXIT_USAGE : -1;
    }
}

/* "N" or "NM" (millions of pixels), 1 .. 2^40. */
int cli_parse_pixels(const char *text, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (end != text && (*end == 'M' || *end == 'm') && end[1] == '\0') {
        end++;
        v = v > (1ULL << 40) / 1000000 ? 0 : v * 1000000;
    }
    if (errno || end == text || *end || !isdigit((unsigned char)text[0]) || v < 1 ||
        v > (1ULL << 40)) {
        cli_error("--max-pixels: '%s' is not a pixel count like 50000000 or 50M", text);
        return -1;
    }
    *out = v;
    return 0;
}

/* Returns -1 to go on, else the exit code. */
void cli_format_bytes(uint64_t bytes, char *out, size_t cap)
{
    static const char *const units[] = {"bytes", "KB", "MB", "GB", "TB"};
    double v = (double)bytes;
    int u = 0;
    while (v >= 1000.0 && u < 4)
        v /= 1000.0, u++;
    if (u == 0)
        snprintf(out, cap, "%llu bytes", (unsigned long long)bytes);
    else
        snprintf(out, cap, "%.1f %s", v, units[u]);
}

int cli_parse_rate(const char *text, double *rate)
{
    char *end;
    double v = strtod(text, &end);
    if (end == text || (*end && strcmp(end, "/s") != 0) || !(v > 0) || v > 1e6) {
        cli_error("--rate: '%s' is not a number of requests per second (e.g. 5 or 0.5)", text);
        return -1;
    }
    *rate = v;
    return 0;
}

/* Text from elsewhere (a queue's URLs, errors, names; a link from a list) may hold any
 * byte: control characters (C0, DEL, C1) are written as \xHH or \uHHHH, so a line stays one
 * line and cannot move the cursor or send the terminal a command. */
void cli_put_text(FILE *f, const char *text)
{
    for (const unsigned char *p = (const unsigned char *)(text ? text : ""); *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            fprintf(f, "\\x%02x", *p);
        else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
            fprintf(f, "\\u%04x", *++p);
        else
            putc(*p, f);
    }
}

/* Replaces *slot with a copy of arg (the copy stays reachable until exit: a worker
 * reconnects with it); prints and returns NULL when out of memory. */
static char *keep_copy(char **slot, const char *arg)
{
    free(*slot);
    if (!(*slot = strdup(arg)))
        cli_error("out of memory");
    return *slot;
}

static void blank(char *from, const char *to)
{
    for (char *p = from; p < to; p++)
        *p = '*';
}

const char *cli_hide_password(char *arg)
{
    static char *copy;
    if (!keep_copy(&copy, arg))
        return NULL;
    char *scheme = strstr(arg, "://");
    char *start = scheme ? scheme + 3 : NULL;
    char *at = start ? strrchr(start, '@') : NULL;
    if (!at)
        return copy; /* no userinfo (a unix: URL takes no password) */
    char *colon = memchr(start, ':', (size_t)(at - start));
    /* "user:pw@" hides pw; "pw@" is a password alone (redis_url.c reads it so) */
    blank(colon ? colon + 1 : start, at);
    return copy;
}

const char *cli_hide_auth(char *arg)
{
    static char *copy;
    if (!keep_copy(&copy, arg))
        return NULL;
    char *colon = strchr(arg, ':');
    if (colon)
        blank(colon + 1, colon + 1 + strlen(colon + 1));
    return copy;
}

int cli_check_queue_names(const char *const *queues, int n)
{
    char err[IMGPIPE_ERRLEN];
    for (int i = 0; i < n; i++)
        if (imgpipe_queue_name_check(queues[i], err)) {
            cli_error("%s", err);
            return -1;
        }
    return 0;
}
