/* Request handling: /i/ images, /x/ the fixed PNG, and the Imgur-shaped /3/ API with the
 * failure prefixes tests use. Nothing here touches the file system by request path; the
 * only file read per request is DIR/gallery.json, whose name is fixed. */
#include "galleryd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

enum mode { MODE_NORMAL, MODE_BROKEN, MODE_FAIL, MODE_SHAPE, MODE_NOSUCCESS };

/* Path segments, empty ones skipped so trailing slashes do not matter. */
#define MAX_SEGS 8
struct segs {
    const char *p[MAX_SEGS];
    size_t n[MAX_SEGS];
    size_t count; /* MAX_SEGS + 1 when there were too many */
};

static void split(const char *path, struct segs *s)
{
    s->count = 0;
    while (*path) {
        while (*path == '/')
            path++;
        size_t n = strcspn(path, "/");
        if (n == 0)
            break;
        if (s->count == MAX_SEGS) {
            s->count = MAX_SEGS + 1;
            return;
        }
        s->p[s->count] = path;
        s->n[s->count++] = n;
        path += n;
    }
}

static int seg_is(const struct segs *s, size_t i, const char *word)
{
    return i < s->count && s->n[i] == strlen(word) && memcmp(s->p[i], word, s->n[i]) == 0;
}

enum MHD_Result gd_queue(struct MHD_Connection *conn, unsigned status, const char *type, void *data,
                         size_t len, enum MHD_ResponseMemoryMode mem)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, data, mem);
    if (!r) {
        if (mem == MHD_RESPMEM_MUST_FREE)
            free(data);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

enum MHD_Result gd_queue_text(struct MHD_Connection *conn, unsigned status, const char *text)
{
    return gd_queue(conn, status, "text/plain; charset=utf-8", (void *)text, strlen(text),
                    MHD_RESPMEM_PERSISTENT);
}

/* Hands the buffer's memory to MHD, which frees it after sending. */
static enum MHD_Result queue_json(struct MHD_Connection *conn, unsigned status, struct gd_buf *b)
{
    if (b->failed || !b->data) {
        gd_buf_free(b);
        return gd_queue_text(conn, 500, "galleryd: out of memory\n");
    }
    return gd_queue(conn, status, "application/json", b->data, b->len, MHD_RESPMEM_MUST_FREE);
}

/* Imgur's error shape; json_status differs from the HTTP status for /nosuccess/. */
static enum MHD_Result api_error(struct MHD_Connection *conn, unsigned status, unsigned json_status,
                                 const char *error, const char *url, const char *method)
{
    struct gd_buf b = {0};
    gd_buf_puts(&b, "{\"data\":{\"error\":");
    gd_buf_json_string(&b, error);
    gd_buf_puts(&b, ",\"request\":");
    gd_buf_json_string(&b, url);
    gd_buf_puts(&b, ",\"method\":");
    gd_buf_json_string(&b, method);
    gd_buf_printf(&b, "},\"success\":false,\"status\":%u}", json_status);
    return queue_json(conn, status, &b);
}

static void put_link(struct gd_buf *b, const struct gd_server *s, const char *kind,
                     const char *name)
{
    /* The encoded name is only unreserved characters and %XX: no JSON escaping needed. */
    gd_buf_printf(b, "\"%s/%s/", s->base, kind);
    gd_buf_url_path(b, name);
    gd_buf_puts(b, "\"");
}

static void put_item(struct gd_buf *b, const struct gd_server *s, const struct gd_image *im)
{
    char *id = strdup(im->name);
    if (!id) {
        b->failed = 1;
        return;
    }
    char *dot = strrchr(id, '.');
    if (dot && dot != id)
        *dot = '\0';
    gd_buf_puts(b, "{\"id\":");
    gd_buf_json_string(b, id);
    gd_buf_puts(b, ",\"title\":");
    gd_buf_json_string(b, id);
    gd_buf_printf(b, ",\"type\":\"%s\",\"animated\":false,\"width\":%d,\"height\":%d,\"size\":%zu",
                  gd_mime_type(im->name), im->width, im->height, im->size);
    gd_buf_puts(b, ",\"link\":");
    put_link(b, s, "i", im->name);
    gd_buf_puts(b, "}");
    free(id);
}

/* The album holds the last two images, when there are at least three. */
static size_t album_size(const struct gd_server *s)
{
    return s->gallery.count >= 3 ? 2 : 0;
}

static void put_album_images(struct gd_buf *b, const struct gd_server *s)
{
    size_t n = s->gallery.count, first = n - album_size(s);
    gd_buf_puts(b, "[");
    for (size_t i = first; i < n; i++) {
        if (i > first)
            gd_buf_puts(b, ",");
        put_item(b, s, &s->gallery.images[i]);
    }
    gd_buf_puts(b, "]");
}

/* The gallery's items: every image exactly once for a client that keeps jpeg/png items and
 * expands albums, plus a gif item it must skip. Item i of gallery_items(s) is: an image
 * for i < single, then the gif, then the album (when there is one). */
static size_t gallery_items(const struct gd_server *s)
{
    return s->gallery.count - album_size(s) + 1 + (album_size(s) ? 1 : 0);
}

static void put_gallery_item(struct gd_buf *b, const struct gd_server *s, size_t i)
{
    size_t single = s->gallery.count - album_size(s);
    if (i < single) {
        put_item(b, s, &s->gallery.images[i]);
    } else if (i == single) {
        gd_buf_puts(b, "{\"id\":\"gif0\",\"type\":\"image/gif\",\"animated\":true,\"link\":");
        put_link(b, s, "i", "gif0.gif");
        gd_buf_puts(b, "}");
    } else {
        gd_buf_puts(b, "{\"id\":\"sample\",\"title\":\"album\",\"is_album\":true,\"link\":");
        put_link(b, s, "a", "sample");
        gd_buf_printf(b, ",\"images_count\":%zu,\"images\":", album_size(s));
        put_album_images(b, s);
        gd_buf_puts(b, "}");
    }
}

/* What a gallery request asks for: a page, and for /gallery/t/<tag> the tag, whose answer
 * wraps the items as {"name":..,"items":[..]}. */
struct listing {
    unsigned long page;
    const char *tag; /* NULL unless a tag listing */
    size_t tag_len;
};

/* Items [first, end) of the page: with --page-size K, page p is [p*K, (p+1)*K); without,
 * page 0 is everything and later pages are empty, which is how Imgur ends pagination. */
static void page_range(const struct gd_server *s, unsigned long page, size_t *first, size_t *end)
{
    size_t total = gallery_items(s), k = s->page_size;
    if (!k) {
        *first = 0;
        *end = page ? 0 : total;
        return;
    }
    *first = page >= total / k + 1 ? total : page * k;
    *end = *first + k < total ? *first + k : total;
}

static void put_gallery(struct gd_buf *b, const struct gd_server *s, const struct listing *l)
{
    size_t first, end;
    page_range(s, l->page, &first, &end);
    if (l->tag) {
        struct gd_buf name = {0};
        gd_buf_append(&name, l->tag, l->tag_len);
        gd_buf_puts(b, "{\"data\":{\"name\":");
        gd_buf_json_string(b, name.failed || !name.data ? "" : name.data);
        gd_buf_puts(b, ",\"items\":[");
        b->failed |= name.failed;
        gd_buf_free(&name);
    } else {
        gd_buf_puts(b, "{\"data\":[");
    }
    for (size_t i = first; i < end; i++) {
        if (i > first)
            gd_buf_puts(b, ",");
        put_gallery_item(b, s, i);
    }
    gd_buf_puts(b, l->tag ? "]}" : "]");
    gd_buf_puts(b, ",\"success\":true,\"status\":200}");
}

/* Copies DIR/gallery.json with every {{base}} replaced. Returns 1 when served from the
 * file, 0 when there is no such file, -1 when it exists but cannot be read. */
static int put_gallery_file(struct gd_buf *b, const struct gd_server *s)
{
    static const char mark[] = "{{base}}";
    const size_t mlen = sizeof mark - 1;
    char path[4096];
    unsigned char *data;
    size_t size;
    snprintf(path, sizeof path, "%s/gallery.json", s->dir);
    if (gd_read_file(path, &data, &size) != 0)
        return errno == ENOENT ? 0 : -1;
    gd_buf_append(b, "", 0); /* an empty file is an empty body, not a failure */
    const char *p = (const char *)data, *end = p + size;
    while (p < end) {
        const char *hit = p;
        while (hit + mlen <= end && memcmp(hit, mark, mlen) != 0)
            hit++;
        if (hit + mlen > end)
            hit = end;
        gd_buf_append(b, p, (size_t)(hit - p));
        if (hit == end)
            break;
        gd_buf_puts(b, s->base);
        p = hit + mlen;
    }
    free(data);
    return 1;
}

/* The page segment at index i, if any: 0 when absent, 1 when a number (capped, so a huge
 * one is merely past the end), -1 when not a number. */
static int page_seg(const struct segs *sg, size_t i, unsigned long *page)
{
    *page = 0;
    if (i >= sg->count)
        return 0;
    for (size_t j = 0; j < sg->n[i]; j++) {
        char c = sg->p[i][j];
        if (c < '0' || c > '9')
            return -1;
        if (*page < 100000000UL)
            *page = *page * 10 + (unsigned long)(c - '0');
    }
    return 1;
}

/* /3/gallery/<section>/<sort>/<window>/<page>, /3/gallery/r/<sub>/<sort>/<window>/<page>
 * and /3/gallery/t/<tag>/<sort>/<window>/<page>: the same items, paged (see page_range);
 * a tag's answer wraps them. --fail-page P answers page P with Imgur's 500. */
static enum MHD_Result gallery(const struct gd_server *s, struct MHD_Connection *conn,
                               const struct segs *sg, const char *url, const char *method)
{
    int named = seg_is(sg, 2, "r") || seg_is(sg, 2, "t"); /* r/<sub>, t/<tag>: one more part */
    size_t page_at = named ? 6 : 5;
    if (sg->count > page_at + 1 || (named && sg->count < 4))
        return api_error(conn, 404, 404, "Not found", url, method);
    struct listing l = {0};
    if (page_seg(sg, page_at, &l.page) < 0)
        return api_error(conn, 400, 400, "Invalid page", url, method);
    if (s->fail_page >= 0 && l.page == (unsigned long)s->fail_page)
        return api_error(conn, 500, 500,
                         "Imgur is temporarily over capacity. Please try again later.", url,
                         method);
    if (seg_is(sg, 2, "t")) {
        l.tag = sg->p[3];
        l.tag_len = sg->n[3];
    }
    struct gd_buf b = {0};
    /* gallery.json is served as it is, for page 0 of every listing. */
    int from_file = s->dir && l.page == 0 ? put_gallery_file(&b, s) : 0;
    if (from_file < 0) {
        gd_buf_free(&b);
        return api_error(conn, 500, 500, "galleryd: cannot read gallery.json", url, method);
    }
    if (!from_file)
        put_gallery(&b, s, &l);
    return queue_json(conn, 200, &b);
}

/* /3/album/sample and /3/album/sample/images; any other id is Imgur's 404. */
static enum MHD_Result album(const struct gd_server *s, struct MHD_Connection *conn,
                             const struct segs *sg, const char *url, const char *method)
{
    int images = sg->count == 4 && seg_is(sg, 3, "images");
    if (sg->count < 3 || (sg->count > 3 && !images))
        return api_error(conn, 404, 404, "Not found", url, method);
    if (!seg_is(sg, 2, "sample") || !album_size(s)) {
        struct gd_buf msg = {0};
        gd_buf_puts(&msg, "Unable to find an album with the id, ");
        gd_buf_append(&msg, sg->p[2], sg->n[2]);
        enum MHD_Result r = msg.failed ? MHD_NO : api_error(conn, 404, 404, msg.data, url, method);
        gd_buf_free(&msg);
        return r;
    }
    struct gd_buf b = {0};
    if (images) {
        gd_buf_puts(&b, "{\"data\":");
        put_album_images(&b, s);
    } else {
        gd_buf_printf(
            &b, "{\"data\":{\"id\":\"sample\",\"images_count\":%zu,\"images\":", album_size(s));
        put_album_images(&b, s);
        gd_buf_puts(&b, "}");
    }
    gd_buf_puts(&b, ",\"success\":true,\"status\":200}");
    return queue_json(conn, 200, &b);
}

/* Authorization: Client-ID <id>, as Imgur requires for anonymous API use. */
static int authorized(const struct gd_server *s, struct MHD_Connection *conn)
{
    const char *h =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!h || strncasecmp(h, "Client-ID ", 10) != 0)
        return 0;
    h += 10;
    while (*h == ' ')
        h++;
    return *h && (!s->client_id || strcmp(h, s->client_id) == 0);
}

/* Strips a failure prefix (/broken, /fail, /shape, /nosuccess) in front of /3/. */
static const char *api_path(const char *url, enum mode *mode)
{
    static const struct {
        const char *prefix;
        enum mode mode;
    } prefixes[] = {{"/broken", MODE_BROKEN},
                    {"/fail", MODE_FAIL},
                    {"/shape", MODE_SHAPE},
                    {"/nosuccess", MODE_NOSUCCESS},
                    {"", MODE_NORMAL}};
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
        size_t n = strlen(prefixes[i].prefix);
        if (strncmp(url, prefixes[i].prefix, n) == 0 && strncmp(url + n, "/3/", 3) == 0) {
            *mode = prefixes[i].mode;
            return url + n;
        }
    }
    return NULL;
}

static enum MHD_Result failure(struct MHD_Connection *conn, enum mode mode, const char *url,
                               const char *method)
{
    static const char broken[] = "{\"data\":[{\"id\":\"x\",";
    static const char shape[] = "{\"data\":{\"unexpected\":true},\"success\":true,\"status\":200}";
    switch (mode) {
    case MODE_BROKEN:
        return gd_queue(conn, 200, "application/json", (void *)broken, sizeof broken - 1,
                        MHD_RESPMEM_PERSISTENT);
    case MODE_SHAPE:
        return gd_queue(conn, 200, "application/json", (void *)shape, sizeof shape - 1,
                        MHD_RESPMEM_PERSISTENT);
    case MODE_FAIL:
        return api_error(conn, 500, 500,
                         "Imgur is temporarily over capacity. Please try again later.", url,
                         method);
    default:
        return api_error(conn, 200, 200, "Invalid client", url, method);
    }
}

static enum MHD_Result api(const struct gd_server *s, struct MHD_Connection *conn, const char *url,
                           const char *path, enum mode mode, const char *method)
{
    if (!authorized(s, conn))
        return api_error(conn, 403, 403, "Authentication required", url, method);
    if (mode != MODE_NORMAL)
        return failure(conn, mode, url, method);
    struct segs sg;
    split(path, &sg);
    if (seg_is(&sg, 1, "gallery"))
        return gallery(s, conn, &sg, url, method);
    if (seg_is(&sg, 1, "album"))
        return album(s, conn, &sg, url, method);
    return api_error(conn, 404, 404, "Not found", url, method);
}

enum MHD_Result gd_api_route(const struct gd_server *s, struct MHD_Connection *conn,
                             const char *path)
{
    return api(s, conn, path, path, MODE_NORMAL, "GET");
}

static enum MHD_Result route(const struct gd_server *s, struct MHD_Connection *conn,
                             const char *url, const char *method)
{
    if (strncmp(url, "/i/", 3) == 0) {
        const struct gd_image *im = gd_gallery_find(&s->gallery, url + 3);
        if (!im)
            return gd_queue_text(conn, 404, "galleryd: no such image\n");
        return gd_queue(conn, 200, gd_mime_type(im->name), im->data, im->size,
                        MHD_RESPMEM_PERSISTENT);
    }
    if (strncmp(url, "/x/", 3) == 0) /* any name at all: for hostile link names */
        return gd_queue(conn, 200, "image/png", s->x_png, s->x_png_size, MHD_RESPMEM_PERSISTENT);
    if (strncmp(url, "/f/", 3) == 0 || strcmp(url, "/removed.png") == 0)
        return gd_fault(s, conn, url);
    enum mode mode;
    const char *path = api_path(url, &mode);
    if (path)
        return api(s, conn, url, path, mode, method);
    return gd_queue_text(conn, 404, "galleryd: not found\n");
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static void raise_to(atomic_int *peak, int now)
{
    int seen = atomic_load(peak);
    while (now > seen && !atomic_compare_exchange_weak(peak, &seen, now)) {
    }
}

static void load_begin(struct gd_load *l)
{
    int now = atomic_fetch_add(&l->in_flight, 1) + 1;
    raise_to(&l->peak, now);
    if (atomic_load(&l->answered) == 0)
        raise_to(&l->first, now);
}

static void load_end(struct gd_load *l)
{
    atomic_fetch_add(&l->answered, 1);
    atomic_fetch_sub(&l->in_flight, 1);
}

static enum MHD_Result stats(const struct gd_server *s, struct MHD_Connection *conn,
                             const char *what)
{
    char text[32];
    struct gd_load *l = s->load;
    if (strcmp(what, "reset") == 0) {
        atomic_store(&l->peak, 0);
        atomic_store(&l->first, 0);
        atomic_store(&l->answered, 0);
    } else if (strcmp(what, "peak") != 0 && strcmp(what, "first") != 0) {
        return gd_queue_text(conn, 404, "galleryd: not found\n");
    }
    int n = strcmp(what, "first") == 0 ? atomic_load(&l->first) : atomic_load(&l->peak);
    snprintf(text, sizeof(text), "%d\n", n);
    return gd_queue(conn, 200, "text/plain; charset=utf-8", text, strlen(text),
                    MHD_RESPMEM_MUST_COPY);
}

enum MHD_Result gd_handle(void *cls, struct MHD_Connection *conn, const char *url,
                          const char *method, const char *version, const char *upload_data,
                          size_t *upload_data_size, void **con_cls)
{
    static int seen;
    (void)version;
    (void)upload_data;
    /* MHD calls once with the headers, then with any body, then with none left; answer
     * on the last call so a stray request body is read and ignored, not left unread. */
    if (*con_cls == NULL) {
        *con_cls = &seen;
        return MHD_YES;
    }
    if (*upload_data_size) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    const struct gd_server *s = cls;
    if (strncmp(url, "/stats/", 7) == 0)
        return stats(s, conn, url + 7);
    if (s->log)
        fprintf(stderr, "galleryd: %s %s\n", method, url); /* tests count requests */
    load_begin(s->load);
    if (s->latency_ms)
        sleep_ms(s->latency_ms); /* thread per connection: sleeping is fine */
    enum MHD_Result r = strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0
                            ? gd_queue_text(conn, 405, "galleryd: only GET and HEAD\n")
                            : route(s, conn, url, method);
    load_end(s->load);
    return r;
}
