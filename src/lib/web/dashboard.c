/* imgpipe_dashboard_run: the dashboard's HTTP server. Pages and script are embedded; the
 * page polls /api/state. Every state-changing request is a POST carrying the per-process
 * token of the page in X-Imgpipe-Token (a cross-site form cannot set a header); anything
 * else is refused with 403. Off loopback, HTTP basic auth is required. Without it, the Host
 * must name this machine (an address, localhost): a page that a DNS rebinding pointed at
 * 127.0.0.1 could otherwise read the page, its token with it, and act. */
#include "web/assets.h"
#include "common/stop.h"
#include "web/web.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define TOKEN_HEADER "X-Imgpipe-Token"
#define GALLERY_PER_PAGE 24

struct dash {
    imgpipe_web_redis redis;
    const char *const *queues;
    int nqueues;
    int dirfd; /* the gallery's, or -1 */
    char token[65];
    const char *auth; /* "user:password" or NULL */
    char *page;       /* index.html with the token in it */
    size_t page_len;
};

/* Compares without an early exit, so timing does not tell how much of a secret matched. */
static int same(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char d = la != lb;
    for (size_t i = 0; i < la && i < lb; i++)
        d |= (unsigned char)(a[i] ^ b[i]);
    return d == 0;
}

static int authorized(const struct dash *d, struct MHD_Connection *conn)
{
    if (!d->auth)
        return 1;
    char *pass = NULL, *user = MHD_basic_auth_get_username_password(conn, &pass);
    int ok = 0;
    if (user && pass) {
        size_t ul = strlen(user);
        ok = strncmp(d->auth, user, ul) == 0 && d->auth[ul] == ':' && same(d->auth + ul + 1, pass);
    }
    MHD_free(user);
    MHD_free(pass);
    return ok;
}

static enum MHD_Result deny_auth(struct MHD_Connection *conn)
{
    static char msg[] = "authentication required\n";
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(msg), msg, MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
    imgpipe_web_secure(r, NULL);
    enum MHD_Result ret = MHD_queue_basic_auth_fail_response(conn, "imgpipe dashboard", r);
    MHD_destroy_response(r);
    return ret;
}

static const char *arg(struct MHD_Connection *conn, const char *key)
{
    return MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, key);
}

static const char *type_of(const char *name)
{
    static const char *const types[][2] = {{".jpg", "image/jpeg"},
                                           {".jpeg", "image/jpeg"},
                                           {".png", "image/png"},
                                           {".gif", "image/gif"},
                                           {".webp", "image/webp"}};
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < sizeof(types) / sizeof(*types); i++)
        if (strcasecmp(dot, types[i][0]) == 0)
            return types[i][1];
    return "application/octet-stream";
}

static enum MHD_Result serve_file(struct dash *d, struct MHD_Connection *conn, const char *name)
{
    uint64_t size;
    int fd = d->dirfd >= 0 ? imgpipe_web_open_file(d->dirfd, name, &size) : -1;
    if (fd < 0)
        return imgpipe_web_error(conn, 404, "no such file in the gallery");
    struct MHD_Response *r = MHD_create_response_from_fd((size_t)size, fd);
    if (!r) {
        close(fd);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type_of(name));
    /* opened by itself, a file runs nothing, not even as a page of ours */
    imgpipe_web_secure(r, "default-src 'none'; frame-ancestors 'none'; sandbox");
    enum MHD_Result ret = MHD_queue_response(conn, 200, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result state(struct dash *d, struct MHD_Connection *conn, int metrics)
{
    char err[IMGPIPE_ERRLEN];
    json_t *doc = imgpipe_web_state(&d->redis, d->queues, d->nqueues, err);
    if (metrics) {
        char *text = imgpipe_web_metrics(doc);
        json_decref(doc);
        return text ? imgpipe_web_respond(conn, 200, "text/plain; version=0.0.4; charset=utf-8",
                                          text, strlen(text), MHD_RESPMEM_MUST_FREE)
                    : MHD_NO;
    }
    return doc ? imgpipe_web_json(conn, 200, doc) : imgpipe_web_error(conn, 503, err);
}

static enum MHD_Result get(struct dash *d, struct MHD_Connection *conn, const char *url)
{
    char err[IMGPIPE_ERRLEN];
    if (strcmp(url, "/") == 0 || strcmp(url, "/gallery") == 0)
        return imgpipe_web_respond(conn, 200, "text/html; charset=utf-8", d->page, d->page_len,
                                   MHD_RESPMEM_PERSISTENT);
    if (strcmp(url, "/app.js") == 0)
        return imgpipe_web_respond(conn, 200, "text/javascript; charset=utf-8",
                                   (void *)web_asset_app_js, web_asset_app_js_len,
                                   MHD_RESPMEM_PERSISTENT);
    if (strcmp(url, "/app.css") == 0)
        return imgpipe_web_respond(conn, 200, "text/css; charset=utf-8", (void *)web_asset_app_css,
                                   web_asset_app_css_len, MHD_RESPMEM_PERSISTENT);
    if (strcmp(url, "/api/state") == 0 || strcmp(url, "/metrics") == 0)
        return state(d, conn, url[1] == 'm');
    if (strcmp(url, "/api/failures") == 0) {
        const char *q = arg(conn, "queue"), *n = arg(conn, "count");
        json_t *doc;
        int rc = imgpipe_web_failures(&d->redis, q ? q : "default", arg(conn, "before"),
                                      n ? atoi(n) : 50, &doc, err);
        return rc == IMGPIPE_OK ? imgpipe_web_json(conn, 200, doc)
                                : imgpipe_web_error(conn, rc == IMGPIPE_ENET ? 503 : 400, err);
    }
    if (strcmp(url, "/api/gallery") == 0) {
        if (d->dirfd < 0)
            return imgpipe_web_error(
                conn, 404, "no gallery: the dashboard was started without an image directory");
        const char *p = arg(conn, "page");
        json_t *doc = imgpipe_web_gallery(d->dirfd, p ? atol(p) : 1, GALLERY_PER_PAGE, err);
        return doc ? imgpipe_web_json(conn, 200, doc) : imgpipe_web_error(conn, 500, err);
    }
    if (strncmp(url, "/files/", 7) == 0)
        return serve_file(d, conn, url + 7);
    return imgpipe_web_error(conn, 404, "not found");
}

static enum MHD_Result post(struct dash *d, struct MHD_Connection *conn, const char *url)
{
    const char *token = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, TOKEN_HEADER);
    if (!token || !same(token, d->token))
        return imgpipe_web_error(conn, 403, "missing or wrong " TOKEN_HEADER " (reload the page)");
    if (strncmp(url, "/api/", 5) != 0)
        return imgpipe_web_error(conn, 404, "not found");
    char err[IMGPIPE_ERRLEN];
    long long count;
    int rc =
        imgpipe_web_action(&d->redis, url + 5, arg(conn, "queue"), arg(conn, "id"), &count, err);
    if (rc)
        return imgpipe_web_error(conn, rc == IMGPIPE_ENET ? 503 : 400, err);
    return imgpipe_web_json(conn, 200, json_pack("{s:I}", "count", (json_int_t)count));
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **con_cls)
{
    struct dash *d = cls;
    (void)upload;
    if (!*con_cls) {  /* the headers: answer once the body (ignored) is in */
        *con_cls = d; /* any non-NULL mark: the body comes next */
        return MHD_YES;
    }
    if (*upload_size) {
        *upload_size = 0;
        return MHD_YES;
    }
    if (!authorized(d, conn))
        return deny_auth(conn);
    unsigned host = d->auth ? 0 : imgpipe_web_host_status(conn, version);
    if (host)
        return imgpipe_web_error(
            conn, host,
            host == 400 ? "one Host header is needed"
                        : "the Host header names another machine (a DNS rebinding?): open the "
                          "dashboard by its address or localhost, or require basic auth");
    if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)
        return get(d, conn, url);
    if (strcmp(method, "POST") == 0)
        return post(d, conn, url);
    return imgpipe_web_not_allowed(conn, "GET, HEAD, POST");
}

/* The page with this process's token in it: {{TOKEN}} in web/index.html. */
static int make_page(struct dash *d, char *err)
{
    const char *tpl = (const char *)web_asset_index_html, *at = strstr(tpl, "{{TOKEN}}");
    unsigned char raw[32];
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, raw, sizeof(raw)) : -1;
    if (fd >= 0)
        close(fd);
    if (n != (ssize_t)sizeof(raw) || !at)
        return imgpipe_errf(err, IMGPIPE_EIO, "cannot make the page's token from /dev/urandom");
    for (size_t i = 0; i < sizeof(raw); i++)
        snprintf(d->token + 2 * i, 3, "%02x", raw[i]);
    d->page_len = web_asset_index_html_len - strlen("{{TOKEN}}") + 64;
    if (!(d->page = malloc(d->page_len + 1)))
        return imgpipe_errf(err, IMGPIPE_ENOMEM, "out of memory");
    snprintf(d->page, d->page_len + 1, "%.*s%s%s", (int)(at - tpl), tpl, d->token, at + 9);
    return IMGPIPE_OK;
}

static int setup(struct dash *d, const imgpipe_dashboard_opts *o, char *err)
{
    if (o->auth && !strchr(o->auth, ':'))
        return imgpipe_errf(err, IMGPIPE_EINVAL, "basic auth credentials must be user:password");
    if (o->dir && (d->dirfd = open(o->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
        return imgpipe_errf(err, IMGPIPE_EIO, "cannot open the gallery directory '%s': %s", o->dir,
                            strerror(errno));
    return make_page(d, err);
}

int imgpipe_dashboard_run(const imgpipe_dashboard_opts *o, volatile sig_atomic_t *stop, char *err)
{
    struct dash d = {.queues = o->queues, .nqueues = o->nqueues, .dirfd = -1, .auth = o->auth};
    d.redis.url = o->url;
    pthread_mutex_init(&d.redis.lock, NULL);
    char url[300];
    int loopback = 0, rc = setup(&d, o, err);
    struct MHD_Daemon *mhd = NULL;
    if (rc == IMGPIPE_OK)
        rc = imgpipe_web_start(&mhd, o->listen ? o->listen : "127.0.0.1:8080", o->auth != NULL,
                               handle, &d, url, &loopback, err);
    if (mhd) {
        if (o->ready)
            o->ready(url, loopback, o->userdata);
        while (!imgpipe_stop_set(stop))
            usleep(100 * 1000);
    }
    if (mhd)
        MHD_stop_daemon(mhd);
    imgpipe_queue_free(d.redis.q);
    pthread_mutex_destroy(&d.redis.lock);
    if (d.dirfd >= 0)
        close(d.dirfd);
    free(d.page);
    return rc;
}
