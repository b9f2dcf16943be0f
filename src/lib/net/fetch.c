#include "net/fetch.h"
#include "common/clock.h"
#include "common/stop.h"
#include "common/retry.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define DEFAULT_CONNECT_TIMEOUT_MS 3000L
#define DEFAULT_READ_TIMEOUT_MS 30000L
#define DEFAULT_MAX_BYTES (50ULL << 20)
#define DEFAULT_MAX_REDIRS 5L

/* An answer that is not 2xx is kept only as far as its reason can be read from it (an
 * API's error text): a server's error page may be endless, and a body held for each of
 * hundreds of transfers would be memory bounded by --max-bytes, not by the concurrency. */
#define ERROR_BODY_MAX (64u << 10)

static int is_2xx(const imgpipe_transfer *t)
{
    long status = 0;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
    return status >= 200 && status <= 299;
}

/* The start of an error answer's body; past ERROR_BODY_MAX the transfer ends, and
 * imgpipe_transfer_finish reports the answer by its status as if it had ended there. */
static size_t keep_error_body(imgpipe_transfer *t, const char *data, size_t n)
{
    size_t room = ERROR_BODY_MAX - t->body.len;
    if (imgpipe_buf_append(&t->body, data, n < room ? n : room) != IMGPIPE_OK)
        return 0;
    if (n < room)
        return n;
    t->error_cut = 1;
    return 0; /* makes curl stop with CURLE_WRITE_ERROR */
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userp)
{
    imgpipe_transfer *t = userp;
    size_t n = size * nmemb;
    if (!is_2xx(t))
        return keep_error_body(t, data, n);
    if (t->received + n > t->max_bytes) {
        t->overflow = 1;
        return 0; /* makes curl stop with CURLE_WRITE_ERROR */
    }
    t->received += n;
    /* A 2xx answer's body goes to the sink when there is one, else to memory. */
    if (t->sink) {
        if (t->sink(t->sink_arg, data, n) == 0)
            return n;
        t->sink_failed = 1;
        return 0;
    }
    if (t->body.cap == 0) {
        /* One allocation of the announced size, not a series of doublings and copies. */
        curl_off_t announced = -1;
        curl_easy_getinfo(t->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &announced);
        if (announced > 0 && (uint64_t)announced <= t->max_bytes)
            imgpipe_buf_reserve(&t->body, (size_t)announced);
    }
    if (imgpipe_buf_append(&t->body, data, n) != IMGPIPE_OK)
        return 0;
    return n;
}

void imgpipe_transfer_sink(imgpipe_transfer *t, imgpipe_body_sink sink, void *arg)
{
    t->sink = sink;
    t->sink_arg = arg;
}

/* A server may ask for any wait, in seconds or as a date; more than a day is as good as
 * never, and clamping there keeps the arithmetic in range. */
#define RETRY_AFTER_CLAMP_S 86400L

long imgpipe_retry_after_ms(const char *value, time_t now)
{
    char *end;
    errno = 0;
    long long secs = strtoll(value, &end, 10);
    if (end == value || *end != '\0' || secs < 0) {
        time_t when = curl_getdate(value, NULL);
        if (when <= 0)
            return -1;
        secs = when > now ? (long long)(when - now) : 0;
    }
    if (secs > RETRY_AFTER_CLAMP_S || errno == ERANGE)
        secs = RETRY_AFTER_CLAMP_S;
    return (long)secs * 1000;
}

/* Resets what a response said when the next one (after a redirect) begins. */
static void parse_header(imgpipe_transfer *t, const char *line, size_t n)
{
    char buf[256];
    if (n >= sizeof(buf))
        return;
    memcpy(buf, line, n);
    buf[n] = '\0';
    char *colon = strchr(buf, ':');
    if (strncmp(buf, "HTTP/", 5) == 0) {
        t->retry_after_ms = -1;
        t->content_length = -1;
        t->in_headers = 1;
        return;
    }
    if (buf[0] == '\r' || buf[0] == '\n') {
        t->in_headers = 0; /* the blank line that ends them */
        return;
    }
    if (!colon)
        return;
    *colon = '\0';
    char *v = colon + 1;
    while (*v == ' ' || *v == '\t')
        v++;
    v[strcspn(v, "\r\n")] = '\0';
    if (strcasecmp(buf, "Retry-After") == 0) {
        t->retry_after_ms = imgpipe_retry_after_ms(v, time(NULL));
    } else if (strcasecmp(buf, "Content-Length") == 0) {
        errno = 0;
        long long len = strtoll(v, NULL, 10);
        if (len > t->content_length)
            t->content_length = errno == ERANGE ? LLONG_MAX : len;
    } else if (strcasecmp(buf, "X-RateLimit-ClientRemaining") == 0 ||
               strcasecmp(buf, "X-RateLimit-UserRemaining") == 0) {
        long left = strtol(v, NULL, 10);
        if (t->quota_remaining < 0 || left < t->quota_remaining)
            t->quota_remaining = left;
    } else if (strcasecmp(buf, "X-RateLimit-UserReset") == 0) {
        t->quota_reset_s = strtol(v, NULL, 10);
    }
}

/* A 2xx answer announcing more than max_bytes ends before its body (libcurl's own
 * CURLOPT_MAXFILESIZE would end an error answer's too, whose status is the reason). */
static size_t on_header(char *data, size_t size, size_t nmemb, void *userp)
{
    imgpipe_transfer *t = userp;
    t->header_lines++;
    int was_in_headers = t->in_headers;
    parse_header(t, data, size * nmemb);
    if (was_in_headers && !t->in_headers && t->content_length >= 0 &&
        (unsigned long long)t->content_length > t->max_bytes && is_2xx(t)) {
        t->overflow = 1;
        return 0; /* makes curl stop with CURLE_WRITE_ERROR */
    }
    return size * nmemb;
}

static int on_progress(void *userp, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    const imgpipe_transfer *t = userp;
    return imgpipe_stop_set(t->stop); /* non-zero aborts the transfer */
}

int imgpipe_url_too_long(char *err)
{
    return imgpipe_errf(err, IMGPIPE_EINVAL, "URL longer than %d bytes", IMGPIPE_URL_MAX);
}

int imgpipe_url_is_http(const char *url)
{
    return strncasecmp(url, "http://", 7) == 0 || strncasecmp(url, "https://", 8) == 0;
}

static long or_default(long v, long dflt)
{
    return v > 0 ? v : dflt;
}

/* A stalled or trickling server must not hold a transfer forever: less than min_speed
 * bytes/s over the read timeout aborts it. libcurl counts this in whole seconds. */
static void set_read_timeout(CURL *e, long read_timeout_ms, long min_speed)
{
    long secs = (read_timeout_ms + 999) / 1000;
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, min_speed > 0 ? min_speed : 1L);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, secs > 0 ? secs : 1L);
}

/* HTTP/2 where TLS offers it (ALPN), HTTP/1.1 keep-alive elsewhere. With pipewait, an
 * https transfer that finds the host's first connection still in its handshake waits to
 * multiplex on it instead of opening a connection and a handshake of its own: 160
 * transfers started at once in a multi handle opened 161 TLS connections without it. Not
 * over http: libcurl learns that a plain connection cannot multiplex only from its first
 * response, so the others would wait a whole response for nothing. Not for handles run
 * by several threads: they must not multiplex on one connection. */
static void set_http_version(CURL *e, const char *url, int pipewait)
{
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    if (pipewait && strncasecmp(url, "https://", 8) == 0)
        curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
}

int imgpipe_transfer_init(imgpipe_transfer *t, CURL *easy, const char *url,
                          const imgpipe_fetch_opts *opts, char *err)
{
    memset(t, 0, sizeof(*t));
    t->easy = easy;
    t->retry_after_ms = t->quota_remaining = t->quota_reset_s = -1;
    t->content_length = -1;
    t->max_bytes = opts->max_bytes ? opts->max_bytes : DEFAULT_MAX_BYTES;
    if (!imgpipe_url_is_http(url))
        return imgpipe_errf(err, IMGPIPE_EINVAL, "not an http(s) URL");
    if (strlen(url) > IMGPIPE_URL_MAX)
        return imgpipe_url_too_long(err);
    curl_easy_reset(easy);
    if (opts->auth_header) {
        t->headers = curl_slist_append(NULL, opts->auth_header);
        if (!t->headers)
            return imgpipe_errf(err, IMGPIPE_ENOMEM, "out of memory");
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
    /* Asks for the bytes as they are, and still decodes a body a server compressed unasked
     * (gzip, deflate, br, zstd as libcurl was built): left as it came, it failed as "not an
     * image". --max-bytes counts the decoded bytes, so a small bomb stops at the limit. */
    curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "identity");
    set_http_version(easy, url, opts->pipewait);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
                     or_default(opts->connect_timeout_ms, DEFAULT_CONNECT_TIMEOUT_MS));
    set_read_timeout(easy, or_default(opts->read_timeout_ms, DEFAULT_READ_TIMEOUT_MS),
                     opts->min_speed);
    if (opts->cacert)
        curl_easy_setopt(easy, CURLOPT_CAINFO, opts->cacert);
    if (opts->insecure) {
        curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, t);
    if (opts->stop) {
        t->stop = opts->stop;
        curl_easy_setopt(easy, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(easy, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(easy, CURLOPT_XFERINFODATA, t);
    }
    if (opts->timeout_ms > 0)
        curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, opts->timeout_ms);
    curl_easy_setopt(easy, CURLOPT_BUFFERSIZE, 256L * 1024); /* fewer reads and callbacks */
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, t->curl_err);
    return IMGPIPE_OK;
}

/* Failures that another attempt cannot mend: a header line libcurl will not hold, a
 * certificate that does not verify. 0 when rc is none of them. */
static int permanent_failure(const imgpipe_transfer *t, CURLcode rc, const char *why, char *err)
{
    switch (rc) {
    case CURLE_OUT_OF_MEMORY:
        /* libcurl (before 8.6) refuses a header line over CURL_MAX_HTTP_HEADER (100 KB)
         * as out of memory, without a word: failing amid the headers is that. */
        if (t->in_headers)
            return imgpipe_errf(err, IMGPIPE_ETOOBIG,
                                "response header too large (a line over libcurl's 100 KB)");
        return 0;
#if LIBCURL_VERSION_NUM >= 0x080600
    case CURLE_TOO_LARGE:
        return imgpipe_errf(err, IMGPIPE_ETOOBIG, "response header too large: %s", why);
#endif
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_CRL_BADFILE:
        return imgpipe_errf(err, IMGPIPE_ENET, "TLS certificate not accepted: %s", why);
    default:
        return 0;
    }
}

static int curl_failure(imgpipe_transfer *t, CURLcode rc, char *err)
{
    const char *why = t->curl_err[0] ? t->curl_err : curl_easy_strerror(rc);
    unsigned long long max = (unsigned long long)t->max_bytes;
    int permanent = permanent_failure(t, rc, why, err);
    if (permanent)
        return permanent;
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
        t->transient = 1;
        return imgpipe_errf(err, IMGPIPE_ETIMEOUT, "timed out: %s", why);
    case CURLE_WRITE_ERROR:
        if (t->overflow)
            return imgpipe_errf(err, IMGPIPE_ETOOBIG, "larger than the size limit of %llu bytes",
                                max);
        if (t->sink_failed)
            return imgpipe_errf(err, IMGPIPE_EIO, "cannot store the body as it arrives");
        return imgpipe_errf(err, IMGPIPE_ENOMEM, "out of memory while receiving the body");
    case CURLE_ABORTED_BY_CALLBACK:
        return imgpipe_errf(err, IMGPIPE_ECANCELED, "interrupted");
    case CURLE_UNSUPPORTED_PROTOCOL:
        /* Before any header: the answer had no status line (HTTP/0.9, or not HTTP at all),
         * not a redirect to another scheme. */
        if (t->header_lines == 0)
            return imgpipe_errf(err, IMGPIPE_ENET, "the server's answer is not HTTP: %s", why);
        return imgpipe_errf(err, IMGPIPE_ENET, "refused a non-http(s) URL or redirect: %s", why);
    case CURLE_TOO_MANY_REDIRECTS:
        return imgpipe_errf(err, IMGPIPE_ENET, "too many redirects: %s", why);
    case CURLE_URL_MALFORMAT:
        return imgpipe_errf(err, IMGPIPE_EINVAL, "malformed URL: %s", why);
    case CURLE_PARTIAL_FILE:
        t->transient = 1;
        return imgpipe_errf(err, IMGPIPE_ENET, "body cut short: %s", why);
    default:
        t->transient = 1; /* connect, reset, DNS hiccup: another attempt may do */
        return imgpipe_errf(err, IMGPIPE_ENET, "%s", why);
    }
}

static int transient_status(long status)
{
    return status == 408 || status == 429 || status == 500 || status == 502 || status == 503 ||
           status == 504;
}

/* Imgur answers a removed image with a redirect to its placeholder, removed.png. */
static int is_removed(CURL *easy)
{
    long redirects = 0;
    char *url = NULL;
    curl_easy_getinfo(easy, CURLINFO_REDIRECT_COUNT, &redirects);
    curl_easy_getinfo(easy, CURLINFO_EFFECTIVE_URL, &url);
    if (redirects == 0 || !url)
        return 0;
    size_t n = strcspn(url, "?#");
    return n >= 12 && strncmp(url + n - 12, "/removed.png", 12) == 0;
}

int imgpipe_transfer_finish(imgpipe_transfer *t, CURLcode rc, char *err)
{
    t->transient = 0;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &t->http_status);
    if (rc == CURLE_WRITE_ERROR && t->error_cut)
        rc = CURLE_OK; /* the error answer's start was all that was needed */
    if (rc != CURLE_OK)
        return curl_failure(t, rc, err);
    if (t->http_status < 200 || t->http_status > 299) {
        t->transient = transient_status(t->http_status);
        if (t->retry_after_ms < 0)
            return imgpipe_errf(err, IMGPIPE_EHTTP, "server answered HTTP %ld", t->http_status);
        /* a wait longer than imgpipe's is not waited for: said, or "HTTP 503" is all */
        char longer[64] = "";
        if (t->retry_after_ms > IMGPIPE_RETRY_AFTER_MAX_MS)
            snprintf(longer, sizeof(longer), ", longer than the %ld s imgpipe waits",
                     IMGPIPE_RETRY_AFTER_MAX_MS / 1000);
        return imgpipe_errf(err, IMGPIPE_EHTTP, "server answered HTTP %ld (%sretry after %ld s%s)",
                            t->http_status, t->http_status == 429 ? "too many requests; " : "",
                            t->retry_after_ms / 1000, longer);
    }
    /* No request here asks for a range: a 206 is a part of the image, never the whole. */
    if (t->http_status == 206)
        return imgpipe_errf(err, IMGPIPE_EHTTP,
                            "server answered HTTP 206 (a part of the body) to a request for all "
                            "of it");
    if (is_removed(t->easy))
        return imgpipe_errf(err, IMGPIPE_EREMOVED, "removed: the host redirects it to removed.png");
    return IMGPIPE_OK;
}

void imgpipe_transfer_cleanup(imgpipe_transfer *t)
{
    curl_slist_free_all(t->headers);
    t->headers = NULL;
    imgpipe_buf_free(&t->body);
}

/* One attempt with easy; the body and status go out whatever the outcome. */
static int fetch_once(CURL *easy, const char *url, const imgpipe_fetch_opts *opts,
                      imgpipe_transfer *t, char *err)
{
    int rc = imgpipe_transfer_init(t, easy, url, opts, err);
    if (rc == IMGPIPE_OK)
        rc = imgpipe_transfer_finish(t, curl_easy_perform(easy), err);
    return rc;
}

/* Sleeps ms, in steps so that a stop is heard; 0 when it was cut short. */
static int nap(long ms, const volatile sig_atomic_t *stop)
{
    for (long left = ms; left > 0; left -= 50) {
        if (imgpipe_stop_set(stop))
            return 0;
        long step = left < 50 ? left : 50;
        nanosleep(&(struct timespec){.tv_nsec = step * 1000000L}, NULL);
    }
    return !imgpipe_stop_set(stop);
}

int imgpipe_fetch(const char *url, const imgpipe_fetch_opts *opts, imgpipe_buf *body,
                  long *http_status, int *attempts, char *err)
{
    CURL *easy = curl_easy_init();
    if (!easy)
        return imgpipe_errf(err, IMGPIPE_ENOMEM, "cannot create a libcurl handle");
    int retries = imgpipe_retry_count(opts->retries), rc;
    uint64_t rng = imgpipe_hash64(url, strlen(url)) ^ (uint64_t)time(NULL);
    imgpipe_transfer t;
    /* timeout_ms is the whole request's: each attempt gets what is left of it (within its
     * own attempt_timeout_ms), and a wait that would use it all up is not waited. */
    double until = opts->timeout_ms > 0 ? imgpipe_now() + (double)opts->timeout_ms / 1000.0 : 0;
    imgpipe_fetch_opts each = *opts;
    for (*attempts = 1;; ++*attempts) {
        long left = until > 0 ? (long)((until - imgpipe_now()) * 1000.0) + 1 : 0;
        each.timeout_ms =
            left > 0 && (opts->attempt_timeout_ms <= 0 || left < opts->attempt_timeout_ms)
                ? left
                : opts->attempt_timeout_ms;
        rc = fetch_once(easy, url, &each, &t, err);
        long delay =
            rc && t.transient && *attempts <= retries
                ? imgpipe_retry_delay_ms(*attempts, opts->retry_wait_ms, t.retry_after_ms, &rng)
                : -1;
        if (until > 0 && imgpipe_now() + (double)delay / 1000.0 >= until)
            delay = -1;
        if (delay < 0 || !nap(delay, opts->stop))
            break;
        imgpipe_transfer_cleanup(&t);
    }
    *http_status = t.http_status;
    *body = t.body;
    t.body = (imgpipe_buf){0};
    imgpipe_transfer_cleanup(&t);
    curl_easy_cleanup(easy);
    return rc;
}
