/* Imgur API responses -> image links, and imgur: specs -> API paths. Pure: no I/O. */
#include "source/imgur.h"

#include <jansson.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define API_TEXT_MAX 200           /* bytes of the API's own error text we quote */
#define REPLACEMENT "\xEF\xBF\xBD" /* U+FFFD in UTF-8 */

/* ---- small helpers ------------------------------------------------------------------ */

/* Copies the API's text for an error message, at most API_TEXT_MAX bytes, control bytes
 * as '?': the text comes from a server and ends up on a terminal. */
static void clean_text(const char *s, char *out, size_t cap)
{
    size_t n = 0;
    for (; s[n] && n + 1 < cap && n < API_TEXT_MAX; n++) {
        unsigned char c = (unsigned char)s[n];
        out[n] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    out[n] = '\0';
}

static int has_prefix_nocase(const char *s, const char *prefix)
{
    return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

/* An absolute http(s) URL with something after the scheme and no byte a URL cannot hold
 * raw (space, control, DEL): rules out file:, javascript:, data: and the like. */
static int is_http_link(const char *link)
{
    size_t skip;
    if (has_prefix_nocase(link, "http://"))
        skip = 7;
    else if (has_prefix_nocase(link, "https://"))
        skip = 8;
    else
        return 0;
    if (link[skip] == '\0')
        return 0;
    for (const unsigned char *p = (const unsigned char *)link; *p; p++)
        if (*p <= 0x20 || *p == 0x7f)
            return 0;
    return 1;
}

static int is_kept_type(const char *type)
{
    return strcasecmp(type, "image/jpeg") == 0 || strcasecmp(type, "image/png") == 0;
}

/* The link of an image item we keep, or NULL. Tolerates any JSON value as item. */
static const char *kept_link(const json_t *item)
{
    const json_t *jlink = json_object_get(item, "link");
    const char *type = json_string_value(json_object_get(item, "type"));
    const char *link = json_string_value(jlink);
    if (!type || !link || !is_kept_type(type) || !is_http_link(link))
        return NULL;
    /* A \u0000 would cut the link short; a repaired byte (U+FFFD) means the server's link
     * was not text: either way it is not the link the server meant. */
    if (strlen(link) != json_string_length(jlink) || strstr(link, REPLACEMENT))
        return NULL;
    return link;
}

/* ---- items ---------------------------------------------------------------------- */

struct walk {
    imgpipe_strvec *links;
    imgpipe_source_counts counts; /* added to the caller's only on success */
    char *err;
};

static int keep(struct walk *w, const char *link)
{
    if (imgpipe_strvec_push(w->links, link) != IMGPIPE_OK)
        return imgpipe_errf(w->err, IMGPIPE_ENOMEM, "out of memory while collecting Imgur links");
    w->counts.links++;
    return IMGPIPE_OK;
}

/* One image item: kept or counted as skipped_type. Used for album members too, which are
 * never expanded further: Imgur does not nest albums. */
static int walk_image(struct walk *w, const json_t *item)
{
    const char *link = kept_link(item);
    if (!link) {
        w->counts.skipped_type++;
        return IMGPIPE_OK;
    }
    return keep(w, link);
}

/* An album's images[]: each member through walk_image; no images[] or an empty one counts
 * the album as skipped_album. */
static int walk_album_images(struct walk *w, const json_t *images)
{
    if (!json_is_array(images) || json_array_size(images) == 0) {
        w->counts.skipped_album++;
        return IMGPIPE_OK;
    }
    size_t i;
    const json_t *img;
    json_array_foreach(images, i, img)
    {
        int rc = walk_image(w, img);
        if (rc != IMGPIPE_OK)
            return rc;
    }
    return IMGPIPE_OK;
}

static int is_album_item(const json_t *item)
{
    return json_is_true(json_object_get(item, "is_album"));
}

/* A list of gallery items (or of an album's images, for /album/<id>/images). */
static int walk_items(struct walk *w, const json_t *items)
{
    size_t i;
    const json_t *item;
    json_array_foreach(items, i, item)
    {
        int rc = is_album_item(item) ? walk_album_images(w, json_object_get(item, "images"))
                                     : walk_image(w, item);
        if (rc != IMGPIPE_OK)
            return rc;
    }
    return IMGPIPE_OK;
}

/* ---- the envelope ---------------------------------------------------------------- */

/* The API's error text: data.error as a string, or as {"code":..,"message":..} where the
 * message is the readable part and a bare code is better than nothing. */
static void api_error_text(const json_t *data, char *out, size_t cap)
{
    const json_t *e = json_object_get(data, "error");
    const char *text = json_string_value(e);
    const json_t *code = json_object_get(e, "code");
    if (!text)
        text = json_string_value(json_object_get(e, "message"));
    if (!text)
        text = json_string_value(code);
    if (!text && json_is_integer(code)) {
        snprintf(out, cap, "error code %lld", (long long)json_integer_value(code));
        return;
    }
    clean_text(text ? text : "(no error text given)", out, cap);
}

static int api_error(const json_t *root, const json_t *data, char *err)
{
    char text[API_TEXT_MAX + 1];
    api_error_text(data, text, sizeof(text));
    const json_t *status = json_object_get(root, "status");
    if (json_is_integer(status))
        return imgpipe_errf(err, IMGPIPE_EAPI, "Imgur API error (status %lld): %s",
                            (long long)json_integer_value(status), text);
    return imgpipe_errf(err, IMGPIPE_EAPI, "Imgur API error: %s", text);
}

/* "success": false, or no "success" at all and data.error set: both are refusals. */
static int is_refusal(const json_t *root, const json_t *data)
{
    const json_t *success = json_object_get(root, "success");
    if (json_is_false(success))
        return 1;
    return !json_is_true(success) && json_object_get(data, "error") != NULL;
}

static int shape_error(char *err, const char *what)
{
    return imgpipe_errf(err, IMGPIPE_EAPI, "Imgur API answer has an unexpected shape: %s", what);
}

static int walk_root(struct walk *w, const json_t *root)
{
    if (!json_is_object(root))
        return shape_error(w->err, "it is not a JSON object");
    const json_t *data = json_object_get(root, "data");
    if (is_refusal(root, data))
        return api_error(root, data, w->err);
    if (json_is_array(data))
        return walk_items(w, data);
    if (json_is_object(data)) {
        /* /gallery/t/<tag>: the tag, its gallery items in items[]. */
        const json_t *items = json_object_get(data, "items");
        if (json_is_array(items))
            return walk_items(w, items);
        const json_t *images = json_object_get(data, "images");
        /* /album/<id>: the album itself; an album without images[] has nothing to give. */
        if (json_is_array(images) || (!images && is_album_item(data)))
            return walk_album_images(w, images);
    }
    if (!data)
        return shape_error(w->err, "no \"data\"");
    return shape_error(w->err, "\"data\" is neither a list of items, a tag nor an album");
}

/* ---- text repair ----------------------------------------------------------------- *
 * jansson refuses a whole answer for one string that is not text: invalid UTF-8, or an
 * escaped UTF-16 surrogate without its pair (\ud800). One item's title must not cost the
 * page, so such bytes become U+FFFD before parsing; JSON_ALLOW_NUL does the same for
 * \u0000. Only the repaired item's text changes (and kept_link refuses a repaired link). */

/* The UTF-16 unit of the escape \uXXXX at p (n bytes left), or -1. */
static long escape_unit(const char *p, size_t n)
{
    if (n < 6 || p[0] != '\\' || p[1] != 'u')
        return -1;
    long v = 0;
    for (int i = 2; i < 6; i++) {
        char c = p[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

/* How many bytes at p (n left) are a \uXXXX escape that is a lone surrogate: 0 when it is
 * not one, 6 otherwise. A high surrogate followed by a low one is a pair, kept. */
static size_t lone_surrogate(const char *p, size_t n)
{
    long u = escape_unit(p, n);
    if (u < 0xD800 || u > 0xDFFF)
        return 0;
    long next = u <= 0xDBFF ? escape_unit(p + 6, n - 6) : -1;
    return next >= 0xDC00 && next <= 0xDFFF ? 0 : 6;
}

/* The bytes at p that the repair replaces (0: none), and how many are kept as they are
 * otherwise (*keep: a whole character, or a backslash and what it escapes). */
static size_t bad_run(const char *p, size_t n, size_t *keep)
{
    size_t bad = p[0] == '\\' ? lone_surrogate(p, n) : 0;
    if (bad)
        return bad;
    if (p[0] == '\\') {
        long u = escape_unit(p, n);
        *keep = u >= 0xD800 && u <= 0xDBFF ? 12 : n >= 2 ? 2 : 1; /* a pair is 12 bytes */
        return 0;
    }
    *keep = imgpipe_utf8_len((const unsigned char *)p, n);
    return *keep ? 0 : 1;
}

static int needs_repair(const char *s, size_t len)
{
    size_t keep;
    for (size_t i = 0; i < len; i += keep)
        if (bad_run(s + i, len - i, &keep))
            return 1;
    return 0;
}

/* A malloc'd copy of s with each bad run replaced by U+FFFD (an escape by \ufffd, to keep
 * it inside its string); *len in and out. */
static char *repair_text(const char *s, size_t *len)
{
    char *out = malloc(*len * 3 + 1), *o = out;
    size_t keep = 0;
    for (size_t i = 0; out && i < *len; i += keep) {
        size_t bad = bad_run(s + i, *len - i, &keep);
        if (bad == 6) {
            memcpy(o, "\\ufffd", 6);
            o += 6;
        } else if (bad) {
            memcpy(o, REPLACEMENT, 3);
            o += 3;
        } else {
            memcpy(o, s + i, keep);
            o += keep;
        }
        keep = bad ? bad : keep;
    }
    if (out)
        *len = (size_t)(o - out);
    return out;
}

static void add_counts(imgpipe_source_counts *to, const imgpipe_source_counts *from)
{
    to->links += from->links;
    to->skipped_type += from->skipped_type;
    to->skipped_album += from->skipped_album;
    to->skipped_lines += from->skipped_lines;
}

/* Drops links appended after the first `keep_n`, so a failed parse leaves links as it was. */
static void truncate_links(imgpipe_strvec *links, size_t keep_n)
{
    while (links->n > keep_n)
        free(links->v[--links->n]);
}

int imgpipe_imgur_parse(const char *json, size_t len, imgpipe_strvec *links,
                        imgpipe_source_counts *counts, char *err)
{
    if (!links)
        return imgpipe_errf(err, IMGPIPE_EINVAL, "imgpipe_imgur_parse: no link vector given");
    if (!json)
        return imgpipe_errf(err, IMGPIPE_EAPI, "Imgur API answered nothing");
    char *fixed = NULL;
    if (needs_repair(json, len)) {
        if (!(fixed = repair_text(json, &len)))
            return imgpipe_errf(err, IMGPIPE_ENOMEM,
                                "out of memory while reading the Imgur answer");
        json = fixed;
    }
    json_error_t jerr;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    free(fixed);
    if (!root)
        return imgpipe_errf(err, IMGPIPE_EAPI,
                            "Imgur API answered malformed JSON at line %d, column %d: %s",
                            jerr.line, jerr.column, jerr.text);
    struct walk w = {.links = links, .err = err};
    size_t before = links->n;
    int rc = walk_root(&w, root);
    json_decref(root);
    if (rc != IMGPIPE_OK) {
        truncate_links(links, before);
        return rc;
    }
    if (counts)
        add_counts(counts, &w.counts);
    return IMGPIPE_OK;
}

/* ---- specs ------------------------------------------------------------------------ */

#define SPEC_FORMS                                                                                 \
    "imgur:random, imgur:gallery/<section>[/<sort>[/<window>[/<page>]]], "                         \
    "imgur:r/<subreddit>[/<sort>[/<window>[/<page>]]], "                                           \
    "imgur:tag/<tag>[/<sort>[/<window>[/<page>]]] or imgur:album/<id>, "                           \
    "each part made of A-Z a-z 0-9 _ - and <page> a number"

#define MAX_PARTS 4
#define PAGE_DIGITS_MAX 9 /* a page number fits an int with room to add pages to it */

/* A paged listing: its spec prefix, its API path, and Imgur's documented defaults for the
 * parts a spec may leave out, which later pages must spell out to name a page. */
struct paged_form {
    const char *spec_prefix, *api_prefix, *sort, *window;
};

static const struct paged_form paged_forms[] = {
    {"gallery/", "/3/gallery/", "viral", "day"},
    {"r/", "/3/gallery/r/", "time", "week"},
    {"tag/", "/3/gallery/t/", "viral", "week"},
};

/* The '/'-separated parts of a spec's rest. */
struct parts {
    const char *p[MAX_PARTS];
    size_t n[MAX_PARTS];
    int count;
};

static int is_part_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

/* Splits s into 1..MAX_PARTS parts; -1 when a part is empty, holds a byte outside
 * [A-Za-z0-9_-], or there are more. */
static int split_parts(const char *s, struct parts *pt)
{
    pt->count = 0;
    for (;;) {
        size_t n = 0;
        while (is_part_char(s[n]))
            n++;
        if (n == 0 || pt->count == MAX_PARTS || (s[n] != '/' && s[n] != '\0'))
            return -1;
        pt->p[pt->count] = s;
        pt->n[pt->count++] = n;
        if (s[n] == '\0')
            return 0;
        s += n + 1;
    }
}

/* The page part, when there is one, must be a number: later pages count on from it. */
static int page_of(const struct parts *pt, long *page)
{
    *page = 0;
    if (pt->count < MAX_PARTS)
        return 0;
    const char *s = pt->p[MAX_PARTS - 1];
    size_t n = pt->n[MAX_PARTS - 1];
    if (n > PAGE_DIGITS_MAX)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        *page = *page * 10 + (s[i] - '0');
    }
    return 0;
}

static int bad_spec(const char *spec, char *err)
{
    return imgpipe_errf(err, IMGPIPE_EINVAL,
                        "invalid Imgur spec \"imgur:%.100s\": expected " SPEC_FORMS, spec);
}

static int write_path(char *path, size_t cap, const char *prefix, const char *rest, char *err)
{
    int n = snprintf(path, cap, "%s%s", prefix, rest);
    if (n < 0 || (size_t)n >= cap)
        return imgpipe_errf(err, IMGPIPE_EINVAL, "Imgur API path for \"%.100s\" is too long", rest);
    return IMGPIPE_OK;
}

static const struct paged_form *paged_form_of(const char *spec)
{
    for (size_t i = 0; i < sizeof(paged_forms) / sizeof(paged_forms[0]); i++)
        if (strncmp(spec, paged_forms[i].spec_prefix, strlen(paged_forms[i].spec_prefix)) == 0)
            return &paged_forms[i];
    return NULL;
}

/* Page n > 0 of a paged spec: every part spelled out, the page counted on from the spec's. */
static int write_later_page(char *path, size_t cap, const struct paged_form *f,
                            const struct parts *pt, long page, int n, char *err)
{
    const char *sort = pt->count > 1 ? pt->p[1] : f->sort;
    int sort_len = pt->count > 1 ? (int)pt->n[1] : (int)strlen(f->sort);
    const char *window = pt->count > 2 ? pt->p[2] : f->window;
    int window_len = pt->count > 2 ? (int)pt->n[2] : (int)strlen(f->window);
    int w = snprintf(path, cap, "%s%.*s/%.*s/%.*s/%ld", f->api_prefix, (int)pt->n[0], pt->p[0],
                     sort_len, sort, window_len, window, page + n);
    if (w < 0 || (size_t)w >= cap)
        return imgpipe_errf(err, IMGPIPE_EINVAL, "Imgur API path for \"%.*s\" is too long",
                            (int)pt->n[0], pt->p[0]);
    return IMGPIPE_OK;
}

static int paged_path(const char *spec, const struct paged_form *f, int n, char *path, size_t cap,
                      char *err)
{
    const char *rest = spec + strlen(f->spec_prefix);
    struct parts pt;
    long page;
    if (split_parts(rest, &pt) != 0 || page_of(&pt, &page) != 0)
        return bad_spec(spec, err);
    /* The first page is asked for as written, so a spec means what Imgur says it means. */
    if (n == 0)
        return write_path(path, cap, f->api_prefix, rest, err);
    return write_later_page(path, cap, f, &pt, page, n, err);
}

int imgpipe_imgur_is_paged(const char *spec)
{
    return spec && paged_form_of(spec) != NULL;
}

int imgpipe_imgur_page_path(const char *spec, int n, char *path, size_t cap, char *err)
{
    if (!spec || !path || cap == 0 || n < 0)
        return imgpipe_errf(err, IMGPIPE_EINVAL,
                            "imgpipe_imgur_page_path: no spec or buffer, or a negative page");
    const struct paged_form *f = paged_form_of(spec);
    if (f)
        return paged_path(spec, f, n, path, cap, err);
    if (n > 0)
        return imgpipe_errf(err, IMGPIPE_EINVAL, "Imgur spec \"imgur:%.100s\" has no pages", spec);
    if (strcmp(spec, "random") == 0)
        return write_path(path, cap, "/3/gallery/random/random/", "", err);
    struct parts pt;
    if (strncmp(spec, "album/", 6) == 0 && split_parts(spec + 6, &pt) == 0 && pt.count == 1)
        return write_path(path, cap, "/3/album/", spec + 6, err);
    return bad_spec(spec, err);
}

int imgpipe_imgur_path(const char *spec, char *path, size_t cap, char *err)
{
    return imgpipe_imgur_page_path(spec, 0, path, cap, err);
}
