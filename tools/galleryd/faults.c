/* Fault injection, for the end-to-end tests of imgpipe's retry and validation logic.
 *
 * GET /f/<fault>/<key>/<name>
 *   <name> is an image of the gallery; any other name means the first JPEG (else the first
 *   image, else the /x/ PNG), so tests need not know the gallery. <key> is any token: the
 *   request counter is per full path, so each test case picks its own key and starts at 0.
 *   Every fault is deterministic given that counter; --latency-ms applies as elsewhere.
 *
 *   500x<k> 502x<k> 503x<k> 504x<k> 408x<k>
 *                 the first k requests get that status and a short text body; later ones
 *                 the image
 *   429x<k>[r<s>] the first k get 429 with Retry-After: <s> seconds (default 1)
 *   429x<k>d<s>   the same with Retry-After as an IMF-fixdate <s> seconds ahead
 *   resetx<k>     the first k get the full Content-Length, half the body, then a close
 *   short         always: Content-Length is the size + 1000, the body the image, a close
 *   cut           always: 200 with the first half of the image, Content-Length saying so: a
 *                 body cut short that HTTP alone cannot tell from a whole one
 *   partial       always: 206 Partial Content with Content-Range bytes 0-<half-1>/<size>
 *                 and the first half, to a request that asked for no range
 *   big           always: Content-Length 200 MiB, the body the image, a close (a client
 *                 with a size limit must give up on the header)
 *   drip          the image at 1 byte per second
 *   stall         headers, then nothing for 60 s, then a close
 *   ctype         the image bytes as Content-Type: text/html
 *   quota<n>      the image, with Imgur's X-RateLimit-ClientRemaining: n (ClientLimit 12500)
 *   html          200 text/html, a "Not found" page
 *   loop          302 to itself
 *   removed       302 to /removed.png, a 161x81 PNG like Imgur's placeholder
 *   redirect      302 to /i/<name>: a redirect that must simply work
 *   bomb          200 image/png: a valid header declaring 30000x30000 RGBA, a tiny IDAT
 *   hugeretry     always: 429 with Retry-After: 10000000000000000 (seconds; overflows a
 *                 client that multiplies it into milliseconds)
 *   bighead       always: 200, the image, with a 110 KB header line (X-Padding)
 *   <counted fault>/<key>/3/...  once the fault has run out, the Imgur API answer for
 *                 /3/... instead of an image: IMGUR_API_URL=BASE/f/503x2/k fails the
 *                 API's first two requests
 *   anything else 404 "unknown fault"
 *
 * GET /removed.png  the placeholder itself.
 */
#include "galleryd.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#define BUCKETS 256
#define MAX_TIMES 1000000UL
#define BIG_LENGTH (200ULL * 1024 * 1024)
#define STALL_MS 60000u
#define BIGHEAD_BYTES (110u * 1024) /* over libcurl's CURL_MAX_HTTP_HEADER (100 KB) */

struct counter {
    struct counter *next;
    unsigned long n;
    char path[];
};

struct gd_faults {
    pthread_mutex_t lock; /* thread per connection: requests to one path may race */
    struct counter *buckets[BUCKETS];
    atomic_int stopping; /* set at shutdown so sleeping readers let MHD_stop_daemon join */
    unsigned char *removed_png, *bomb_png;
    size_t removed_size, bomb_size;
};

enum kind {
    F_STATUS,
    F_RESET,
    F_SHORT,
    F_BIG,
    F_DRIP,
    F_STALL,
    F_CTYPE,
    F_HTML,
    F_LOOP,
    F_REMOVED,
    F_REDIRECT,
    F_BOMB,
    F_QUOTA,
    F_CUT,
    F_PARTIAL,
    F_HUGERETRY,
    F_BIGHEAD
};

struct fault {
    enum kind kind;
    unsigned status;     /* F_STATUS */
    unsigned long times; /* the k of <what>x<k>; 0 for faults that apply every time */
    unsigned long retry; /* 429: Retry-After seconds */
    int retry_date;      /* 429: Retry-After as an HTTP date */
};

/* --- the fault name -------------------------------------------------------------------- */

static int parse_number(const char *s, unsigned long *out, const char **end)
{
    char *e;
    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    unsigned long v = strtoul(s, &e, 10);
    if (errno || v > MAX_TIMES)
        return -1;
    *out = v;
    *end = e;
    return 0;
}

/* 429's optional r<s> or d<s>, after the count. */
static int parse_retry(const char *s, struct fault *f)
{
    f->retry = 1;
    if (!*s)
        return 0;
    if (*s != 'r' && *s != 'd')
        return -1;
    f->retry_date = *s == 'd';
    return parse_number(s + 1, &f->retry, &s) == 0 && !*s ? 0 : -1;
}

/* <what>x<k>: a fault for the first k requests to the path. */
static int parse_counted(const char *tok, struct fault *f)
{
    static const struct {
        const char *what;
        enum kind kind;
        unsigned status;
    } counted[] = {{"500", F_STATUS, 500}, {"502", F_STATUS, 502}, {"503", F_STATUS, 503},
                   {"504", F_STATUS, 504}, {"408", F_STATUS, 408}, {"429", F_STATUS, 429},
                   {"reset", F_RESET, 0}};
    for (size_t i = 0; i < sizeof counted / sizeof counted[0]; i++) {
        size_t n = strlen(counted[i].what);
        if (strncmp(tok, counted[i].what, n) != 0 || tok[n] != 'x')
            continue;
        const char *rest;
        if (parse_number(tok + n + 1, &f->times, &rest) != 0)
            return -1;
        f->kind = counted[i].kind;
        f->status = counted[i].status;
        if (f->status == 429)
            return parse_retry(rest, f);
        return *rest ? -1 : 0;
    }
    return -1;
}

static int parse_fault(const char *p, size_t n, struct fault *f)
{
    static const struct {
        const char *word;
        enum kind kind;
    } words[] = {{"short", F_SHORT},         {"big", F_BIG},         {"drip", F_DRIP},
                 {"stall", F_STALL},         {"ctype", F_CTYPE},     {"html", F_HTML},
                 {"loop", F_LOOP},           {"removed", F_REMOVED}, {"redirect", F_REDIRECT},
                 {"bomb", F_BOMB},           {"cut", F_CUT},         {"partial", F_PARTIAL},
                 {"hugeretry", F_HUGERETRY}, {"bighead", F_BIGHEAD}};
    char tok[32];
    if (n >= sizeof tok)
        return -1;
    memcpy(tok, p, n);
    tok[n] = '\0';
    *f = (struct fault){0};
    const char *rest;
    if (strncmp(tok, "quota", 5) == 0) {
        f->kind = F_QUOTA;
        return parse_number(tok + 5, &f->times, &rest) == 0 && !*rest ? 0 : -1;
    }
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strcmp(tok, words[i].word) == 0) {
            f->kind = words[i].kind;
            return 0;
        }
    return parse_counted(tok, f);
}

/* --- per-path counters ----------------------------------------------------------------- */

static size_t hash(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h % BUCKETS;
}

/* Counts this request to path: returns 1 for the first, 2 for the second...; 0 when out of
 * memory. */
static unsigned long bump(struct gd_faults *f, const char *path)
{
    size_t b = hash(path);
    unsigned long n = 0;
    pthread_mutex_lock(&f->lock);
    struct counter *c = f->buckets[b];
    while (c && strcmp(c->path, path) != 0)
        c = c->next;
    if (!c && (c = malloc(sizeof *c + strlen(path) + 1)) != NULL) {
        strcpy(c->path, path);
        c->n = 0;
        c->next = f->buckets[b];
        f->buckets[b] = c;
    }
    if (c)
        n = ++c->n;
    pthread_mutex_unlock(&f->lock);
    return n;
}

/* --- canned bodies --------------------------------------------------------------------- */

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static unsigned char *put_chunk(unsigned char *p, const char *type, const unsigned char *data,
                                size_t n)
{
    put_be32(p, (uint32_t)n);
    memcpy(p + 4, type, 4);
    if (n)
        memcpy(p + 8, data, n);
    put_be32(p + 8 + n, (uint32_t)crc32(0L, p + 4, (uInt)(n + 4)));
    return p + 12 + n;
}

/* A PNG whose header is valid and declares 30000x30000 RGBA (3.6 GB of pixels): a decoder
 * that allocates from the header before checking limits falls for it. The IDAT is one
 * short row's worth, so the file is tiny and would fail to decode anyway. */
static int make_bomb(unsigned char **out, size_t *size)
{
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    unsigned char ihdr[13] = {0}, raw[1 + 4 * 16] = {0}, z[128];
    uLongf zlen = sizeof z;
    put_be32(ihdr, 30000);
    put_be32(ihdr + 4, 30000);
    ihdr[8] = 8; /* bits per channel */
    ihdr[9] = 6; /* RGBA */
    if (compress2(z, &zlen, raw, sizeof raw, 9) != Z_OK)
        return -1;
    *size = sizeof sig + (12 + sizeof ihdr) + (12 + zlen) + 12;
    unsigned char *p = *out = malloc(*size);
    if (!p)
        return -1;
    memcpy(p, sig, sizeof sig);
    p = put_chunk(p + sizeof sig, "IHDR", ihdr, sizeof ihdr);
    p = put_chunk(p, "IDAT", z, zlen);
    put_chunk(p, "IEND", NULL, 0);
    return 0;
}

struct gd_faults *gd_faults_new(void)
{
    struct gd_faults *f = calloc(1, sizeof *f);
    if (!f || pthread_mutex_init(&f->lock, NULL) != 0) {
        free(f);
        fprintf(stderr, "galleryd: out of memory\n");
        return NULL;
    }
    atomic_init(&f->stopping, 0);
    if (gd_grey_png(161, 81, &f->removed_png, &f->removed_size) != 0 ||
        make_bomb(&f->bomb_png, &f->bomb_size) != 0) {
        fprintf(stderr, "galleryd: cannot make the fault images\n");
        gd_faults_free(f);
        return NULL;
    }
    return f;
}

void gd_faults_stop(struct gd_faults *f)
{
    if (f)
        atomic_store(&f->stopping, 1);
}

void gd_faults_free(struct gd_faults *f)
{
    if (!f)
        return;
    for (size_t b = 0; b < BUCKETS; b++)
        while (f->buckets[b]) {
            struct counter *c = f->buckets[b];
            f->buckets[b] = c->next;
            free(c);
        }
    pthread_mutex_destroy(&f->lock);
    free(f->removed_png);
    free(f->bomb_png);
    free(f);
}

/* --- bodies sent by a reader: truncated, dripped, stalled ------------------------------ */

enum how { B_TRUNCATE, B_DRIP, B_STALL };

struct reader {
    struct gd_faults *f;
    const unsigned char *data;
    size_t avail; /* bytes sent before the connection is closed */
    enum how how;
};

/* Sleeps in short steps; -1 as soon as galleryd is stopping. */
static int nap(struct gd_faults *f, unsigned ms)
{
    for (unsigned slept = 0; slept < ms; slept += 50) {
        if (atomic_load(&f->stopping))
            return -1;
        struct timespec ts = {.tv_sec = 0, .tv_nsec = 50 * 1000000L};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
        }
    }
    return atomic_load(&f->stopping) ? -1 : 0;
}

/* END_WITH_ERROR makes MHD close the connection short of the announced Content-Length,
 * which is what a reset or a truncating proxy looks like to the client. */
static ssize_t read_body(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct reader *r = cls;
    if (r->how == B_STALL) {
        nap(r->f, STALL_MS);
        return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    if (pos >= r->avail)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    if (r->how == B_DRIP) {
        if (nap(r->f, 1000) != 0)
            return MHD_CONTENT_READER_END_WITH_ERROR;
        max = 1;
    }
    size_t n = r->avail - (size_t)pos < max ? r->avail - (size_t)pos : max;
    memcpy(buf, r->data + pos, n);
    return (ssize_t)n;
}

struct blob {
    const unsigned char *data;
    size_t size;
    const char *type, *name; /* name: NULL for the /x/ fallback */
};

static enum MHD_Result queue_reader(struct gd_faults *f, struct MHD_Connection *conn,
                                    const struct blob *im, uint64_t announced, size_t avail,
                                    enum how how)
{
    struct reader *r = malloc(sizeof *r);
    if (!r)
        return MHD_NO;
    *r = (struct reader){.f = f, .data = im->data, .avail = avail, .how = how};
    struct MHD_Response *resp =
        MHD_create_response_from_callback(announced, 4096, read_body, r, free);
    if (!resp) {
        free(r);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, im->type);
    enum MHD_Result ret = MHD_queue_response(conn, 200, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* --- other answers --------------------------------------------------------------------- */

static enum MHD_Result queue_with(struct MHD_Connection *conn, unsigned status, const char *text,
                                  const char *header, const char *value)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
    if (header)
        MHD_add_response_header(r, header, value);
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* RFC 7231 IMF-fixdate; by hand, since strftime's names follow the locale. */
static void http_date(time_t t, char *out, size_t n)
{
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, n, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday], tm.tm_mday,
             months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static enum MHD_Result fail_status(struct MHD_Connection *conn, const struct fault *ft,
                                   unsigned long nth)
{
    char text[96], retry[64];
    snprintf(text, sizeof text, "galleryd: injected %u (request %lu of %lu)\n", ft->status, nth,
             ft->times);
    if (ft->status != 429)
        return queue_with(conn, ft->status, text, NULL, NULL);
    if (ft->retry_date)
        http_date(time(NULL) + (time_t)ft->retry, retry, sizeof retry);
    else
        snprintf(retry, sizeof retry, "%lu", ft->retry);
    return queue_with(conn, 429, text, MHD_HTTP_HEADER_RETRY_AFTER, retry);
}

/* Location is absolute, like Imgur's, with each segment of the (decoded) path re-encoded. */
static enum MHD_Result redirect(const struct gd_server *s, struct MHD_Connection *conn,
                                const char *path)
{
    struct gd_buf loc = {0};
    gd_buf_puts(&loc, s->base);
    while (*path == '/') {
        size_t n = strcspn(++path, "/");
        char *seg = strndup(path, n);
        if (!seg)
            loc.failed = 1;
        gd_buf_puts(&loc, "/");
        if (seg)
            gd_buf_url_path(&loc, seg);
        free(seg);
        path += n;
    }
    enum MHD_Result ret =
        loc.failed ? gd_queue_text(conn, 500, "galleryd: out of memory\n")
                   : queue_with(conn, 302, "galleryd: moved\n", MHD_HTTP_HEADER_LOCATION, loc.data);
    gd_buf_free(&loc);
    return ret;
}

static struct blob pick_image(const struct gd_server *s, const char *name)
{
    const struct gd_gallery *g = &s->gallery;
    const struct gd_image *im = gd_gallery_find(g, name);
    for (size_t i = 0; !im && i < g->count; i++)
        if (strcmp(gd_mime_type(g->images[i].name), "image/jpeg") == 0)
            im = &g->images[i];
    if (!im && g->count)
        im = &g->images[0];
    if (!im)
        return (struct blob){s->x_png, s->x_png_size, "image/png", NULL};
    return (struct blob){im->data, im->size, gd_mime_type(im->name), im->name};
}

static enum MHD_Result to_image(const struct gd_server *s, struct MHD_Connection *conn,
                                const struct blob *im)
{
    struct gd_buf path = {0};
    gd_buf_puts(&path, im->name ? "/i/" : "/x/");
    gd_buf_puts(&path, im->name ? im->name : "galleryd.png");
    enum MHD_Result ret = path.failed ? MHD_NO : redirect(s, conn, path.data);
    gd_buf_free(&path);
    return ret;
}

/* The answer once a counted fault has run out, and every time for the others. */
/* Imgur's rate-limit headers, as its API sends them, on the image. */
static enum MHD_Result with_quota(struct MHD_Connection *conn, const struct blob *im,
                                  unsigned long remaining)
{
    char left[32];
    snprintf(left, sizeof left, "%lu", remaining);
    struct MHD_Response *r =
        MHD_create_response_from_buffer(im->size, (void *)im->data, MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, im->type);
    MHD_add_response_header(r, "X-RateLimit-ClientLimit", "12500");
    MHD_add_response_header(r, "X-RateLimit-ClientRemaining", left);
    enum MHD_Result ret = MHD_queue_response(conn, 200, r);
    MHD_destroy_response(r);
    return ret;
}

/* The first half of the image, as a whole 200 answer or as a 206 range of the image. */
static enum MHD_Result half(struct MHD_Connection *conn, const struct blob *im, int partial)
{
    size_t n = im->size / 2;
    char range[96];
    struct MHD_Response *r =
        MHD_create_response_from_buffer(n, (void *)im->data, MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, im->type);
    snprintf(range, sizeof range, "bytes 0-%zu/%zu", n ? n - 1 : 0, im->size);
    if (partial)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_RANGE, range);
    enum MHD_Result ret = MHD_queue_response(conn, partial ? 206 : 200, r);
    MHD_destroy_response(r);
    return ret;
}

/* An image behind a header of BIGHEAD_BYTES: a client must refuse it, not run out of
 * memory. */
static enum MHD_Result big_header(struct MHD_Connection *conn, const struct blob *im)
{
    char *pad = malloc(BIGHEAD_BYTES + 1);
    if (!pad)
        return MHD_NO;
    memset(pad, 'x', BIGHEAD_BYTES);
    pad[BIGHEAD_BYTES] = '\0';
    struct MHD_Response *r =
        MHD_create_response_from_buffer(im->size, (void *)im->data, MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ret = MHD_NO;
    if (r) {
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, im->type);
        MHD_add_response_header(r, "X-Padding", pad);
        ret = MHD_queue_response(conn, 200, r);
        MHD_destroy_response(r);
    }
    free(pad);
    return ret;
}

static enum MHD_Result serve(const struct gd_server *s, struct MHD_Connection *conn,
                             const char *url, const struct fault *ft, const struct blob *im)
{
    static const char html[] = "<!DOCTYPE html><html><body>Not found</body></html>";
    switch (ft->kind) {
    case F_SHORT:
        return queue_reader(s->faults, conn, im, im->size + 1000, im->size, B_TRUNCATE);
    case F_BIG:
        return queue_reader(s->faults, conn, im, BIG_LENGTH, im->size, B_TRUNCATE);
    case F_DRIP:
        return queue_reader(s->faults, conn, im, im->size, im->size, B_DRIP);
    case F_STALL:
        return queue_reader(s->faults, conn, im, im->size, 0, B_STALL);
    case F_CTYPE:
        return gd_queue(conn, 200, "text/html", (void *)im->data, im->size, MHD_RESPMEM_PERSISTENT);
    case F_HTML:
        return gd_queue(conn, 200, "text/html; charset=utf-8", (void *)html, sizeof html - 1,
                        MHD_RESPMEM_PERSISTENT);
    case F_LOOP:
        return redirect(s, conn, url);
    case F_REMOVED:
        return redirect(s, conn, "/removed.png");
    case F_REDIRECT:
        return to_image(s, conn, im);
    case F_BOMB:
        return gd_queue(conn, 200, "image/png", s->faults->bomb_png, s->faults->bomb_size,
                        MHD_RESPMEM_PERSISTENT);
    case F_QUOTA:
        return with_quota(conn, im, ft->times);
    case F_CUT:
        return half(conn, im, 0);
    case F_PARTIAL:
        return half(conn, im, 1);
    case F_HUGERETRY:
        return queue_with(conn, 429, "galleryd: injected 429, come back in 317 million years\n",
                          MHD_HTTP_HEADER_RETRY_AFTER, "10000000000000000");
    case F_BIGHEAD:
        return big_header(conn, im);
    default: /* F_STATUS, F_RESET after their k failures */
        return gd_queue(conn, 200, im->type, (void *)im->data, im->size, MHD_RESPMEM_PERSISTENT);
    }
}

enum MHD_Result gd_fault(const struct gd_server *s, struct MHD_Connection *conn, const char *url)
{
    struct gd_faults *f = s->faults;
    if (strcmp(url, "/removed.png") == 0)
        return gd_queue(conn, 200, "image/png", f->removed_png, f->removed_size,
                        MHD_RESPMEM_PERSISTENT);
    const char *what = url + 3; /* after /f/ */
    size_t wn = strcspn(what, "/");
    const char *key = what + wn + (what[wn] == '/');
    size_t kn = strcspn(key, "/");
    const char *name = key + kn + (key[kn] == '/');
    if (!wn || !kn || !*name)
        return gd_queue_text(conn, 404, "galleryd: want /f/<fault>/<key>/<name>\n");
    struct fault ft;
    if (parse_fault(what, wn, &ft) != 0)
        return gd_queue_text(conn, 404, "unknown fault\n");
    struct blob im = pick_image(s, name);
    if (ft.kind == F_STATUS || ft.kind == F_RESET) {
        unsigned long nth = bump(f, url);
        if (!nth)
            return gd_queue_text(conn, 500, "galleryd: out of memory\n");
        if (nth <= ft.times && ft.kind == F_RESET)
            return queue_reader(f, conn, &im, im.size, im.size / 2, B_TRUNCATE);
        if (nth <= ft.times)
            return fail_status(conn, &ft, nth);
        if (strncmp(name, "3/", 2) == 0)
            return gd_api_route(s, conn, name - 1);
    }
    return serve(s, conn, url, &ft, &im);
}
