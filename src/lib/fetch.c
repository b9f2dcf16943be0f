#include "fetch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_CONNECT_TIMEOUT_MS 3000L
#define DEFAULT_READ_TIMEOUT_MS 30000L
#define DEFAULT_MAX_BYTES (50ULL << 20)
#define DEFAULT_MAX_REDIRS 5L

static size_t on_body(char *data, size_t size, size_t nmemb, void *userp)
{
    imgpipe_transfer *t = userp;
    size_t n = size * nmemb;
    if (t->body.len + n > t->max_bytes) {
        t->overflow = 1;
        return 0; /* makes curl stop with CURLE_WRITE_ERROR */
    }
    if (imgpipe_buf_append(&t->body, data, n) != IMGPIPE_OK) return 0;
    return n;
}

int imgpipe_url_is_http(const char *url)
{
    return strncasecmp(url, "http://", 7) == 0 || strncasecmp(url, "https://", 8) == 0;
}

static long or_default(long v, long dflt)
{
    return v > 0 ? v : dflt;
}

/* A stalled server must not hold a transfer forever: less than 1 byte/s over the read
 * timeout aborts it. libcurl counts this in whole seconds. */
static void set_read_timeout(CURL *e, long read_timeout_ms)
{
    long secs = (read_timeout_ms + 999) / 1000;
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, secs > 0 ? secs : 1L);
}

int imgpipe_transfer_init(imgpipe_transfer *t, CURL *easy, const char *url,
                          const imgpipe_fetch_opts *opts, char *err)
{
    memset(t, 0, sizeof(*t));
    t->easy = easy;
    t->max_bytes = opts->max_bytes ? opts->max_bytes : DEFAULT_MAX_BYTES;
    if (!imgpipe_url_is_http(url)) return imgpipe_errf(err, IMGPIPE_EINVAL, "not an http(s) URL");
    curl_easy_reset(easy);
    if (opts->auth_header) {
        t->headers = curl_slist_append(NULL, opts->auth_header);
        if (!t->headers) return imgpipe_errf(err, IMGPIPE_ENOMEM, "out of memory");
        curl_easy_setopt(easy, CURLOPT_HTTPHEADER, t->headers);
    }
    if (opts->share)
        curl_easy_setopt(easy, CURLOPT_SHARE, opts->share);
    curl_easy_setopt(easy, CURLOPT_URL, url);
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    long redirs = opts->max_redirs ? opts->max_redirs : DEFAULT_MAX_REDIRS;
    curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, redirs > 0 ? 1L : 0L);
    curl_easy_setopt(easy, CURLOPT_MAXREDIRS, redirs > 0 ? redirs : 0L);
    curl_easy_setopt(easy, CURLOPT_USERAGENT, "imgpipe/" IMGPIPE_VERSION);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
                     or_default(opts->connect_timeout_ms, DEFAULT_CONNECT_TIMEOUT_MS));
    set_read_timeout(easy, or_default(opts->read_timeout_ms, DEFAULT_READ_TIMEOUT_MS));
    if (opts->timeout_ms > 0) curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, opts->timeout_ms);
    curl_easy_setopt(easy, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)t->max_bytes);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, t->curl_err);
    return IMGPIPE_OK;
}

static int curl_failure(imgpipe_transfer *t, CURLcode rc, char *err)
{
    const char *why = t->curl_err[0] ? t->curl_err : curl_easy_strerror(rc);
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
        return imgpipe_errf(err, IMGPIPE_ETIMEOUT, "timed out: %s", why);
    case CURLE_FILESIZE_EXCEEDED:
        return imgpipe_errf(err, IMGPIPE_ETOOBIG, "larger than --max-bytes (%llu bytes)",
                            (unsigned long long)t->max_bytes);
    case CURLE_WRITE_ERROR:
        if (t->overflow)
            return imgpipe_errf(err, IMGPIPE_ETOOBIG, "larger than --max-bytes (%llu bytes)",
                                (unsigned long long)t->max_bytes);
        return imgpipe_errf(err, IMGPIPE_ENOMEM, "out of memory while receiving the body");
    case CURLE_UNSUPPORTED_PROTOCOL:
        return imgpipe_errf(err, IMGPIPE_ENET, "refused a non-http(s) URL or redirect: %s", why);
    case CURLE_TOO_MANY_REDIRECTS:
        return imgpipe_errf(err, IMGPIPE_ENET, "too many redirects: %s", why);
    default:
        return imgpipe_errf(err, IMGPIPE_ENET, "%s", why);
    }
}

int imgpipe_transfer_finish(imgpipe_transfer *t, CURLcode rc, char *err)
{
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &t->http_status);
    if (rc != CURLE_OK) return curl_failure(t, rc, err);
    if (t->http_status < 200 || t->http_status > 299)
        return imgpipe_errf(err, IMGPIPE_EHTTP, "server answered HTTP %ld", t->http_status);
    return IMGPIPE_OK;
}

void imgpipe_transfer_cleanup(imgpipe_transfer *t)
{
    curl_slist_free_all(t->headers);
    t->headers = NULL;
    imgpipe_buf_free(&t->body);
}

int imgpipe_fetch(const char *url, const imgpipe_fetch_opts *opts, imgpipe_buf *body,
                  long *http_status, char *err)
{
    CURL *easy = curl_easy_init();
    if (!easy) return imgpipe_errf(err, IMGPIPE_ENOMEM, "cannot create a libcurl handle");
    imgpipe_transfer t;
    int rc = imgpipe_transfer_init(&t, easy, url, opts, err);
    if (rc == IMGPIPE_OK) rc = imgpipe_transfer_finish(&t, curl_easy_perform(easy), err);
    *http_status = t.http_status;
    *body = t.body;
    t.body = (imgpipe_buf){0};
    imgpipe_transfer_cleanup(&t);
    curl_easy_cleanup(easy);
    return rc;
}
