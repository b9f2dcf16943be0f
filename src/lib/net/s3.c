/* The S3 client: requests signed by libcurl (SigV4), their answers classified as data
 * (transient, a configuration error, or the object's own failure), retried with backoff. */
#include "net/s3.h"
#include "common/stop.h"
#include "common/clock.h"
#include "common/retry.h"
#include "net/fetch.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define S3_IDLE_MAX 32
#define S3_ENDPOINT_MAX 512
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

struct imgpipe_s3 {
    char url[S3_ENDPOINT_MAX + IMGPIPE_S3_KEY_MAX];
    char endpoint[S3_ENDPOINT_MAX], region[64], bucket[64], prefix[IMGPIPE_S3_KEY_MAX];
    char sigv4[128];
    char *key_id, *secret;
    imgpipe_s3_config cfg;
    pthread_mutex_t lock; /* guards idle and rng */
    CURL *idle[S3_IDLE_MAX];
    int nidle;
    pid_t pid; /* whose idle handles they are: a forked child opens its own */
    uint64_t rng;
};

/* One request's answer. */
struct s3_req {
    const char *method;
    long status;
    imgpipe_buf body;
    uint64_t max;
    int overflow;
    long long length;
    long retry_after_ms;
    char etag[80];
    char meta_url[2048];
    int transient, config; /* worth another attempt; the bucket or credentials are wrong */
    const volatile sig_atomic_t *abort;
    char curl_err[CURL_ERROR_SIZE];
};

static const char *env_or(const char *given, const char *a, const char *b, const char *dflt)
{
    if (given && *given)
        return given;
    const char *v = a ? getenv(a) : NULL;
    if (v && *v)
        return v;
    v = b ? getenv(b) : NULL;
    return v && *v ? v : dflt;
}

static int set_names(imgpipe_s3 *s, const char *url, const imgpipe_s3_config *cfg, char *err)
{
    int rc =
        imgpipe_s3_parse_url(url, s->bucket, sizeof(s->bucket), s->prefix, sizeof(s->prefix), err);
    if (rc)
        return rc;
    snprintf(s->url, sizeof(s->url), "%s", url);
    snprintf(s->region, sizeof(s->region), "%s",
             env_or(cfg->region, "AWS_REGION", "AWS_DEFAULT_REGION", "us-east-1"));
    char aws[128];
    snprintf(aws, sizeof(aws), "https://s3.%s.amazonaws.com", s->region);
    const char *ep = env_or(cfg->endpoint, "IMGPIPE_S3_ENDPOINT", "AWS_ENDPOINT_URL", aws);
    size_t n = strlen(ep);
    while (n > 0 && ep[n - 1] == '/')
        n--;
    if (!imgpipe_url_is_http(ep) || n >= sizeof(s->endpoint) || strchr(ep, '@'))
        return imgpipe_errf(err, IMGPIPE_EINVAL,
                            "the S3 endpoint must be an http:// or https:// URL without "
                            "credentials in it");
    snprintf(s->endpoint, sizeof(s->endpoint), "%.*s", (int)n, ep);
    snprintf(s->sigv4, sizeof(s->sigv4), "aws:amz:%s:s3", s->region);
    return IMGPIPE_OK;
}

int imgpipe_s3_open(imgpipe_s3 **out, const char *url, const imgpipe_s3_config *cfg, char *err)
{
    static const imgpipe_s3_config none = {0};
    *out = NULL;
    if (!cfg)
        cfg = &none;
    imgpipe_s3 *s = calloc(1, sizeof(*s));
    if (!s)
        return imgpipe_errf(err, IMGPIPE_ENOMEM, "out of memory");
    int rc = set_names(s, url, cfg, err);
    const char *id = env_or(cfg->key_id, "AWS_ACCESS_KEY_ID", NULL, NULL);
    const char *secret = env_or(cfg->secret, "AWS_SECRET_ACCESS_KEY", NULL, NULL);
    if (rc == IMGPIPE_OK && (!id || !secret))
        rc = imgpipe_errf(err, IMGPIPE_ECONFIG,
                          "writing to %s needs credentials: set AWS_ACCESS_KEY_ID and "
                          "AWS_SECRET_ACCESS_KEY",
                          url);
    if (rc == IMGPIPE_OK && (!(s->key_id = strdup(id)) || !(s->secret = strdup(secret))))
        rc = imgpipe_errf(err, IMGPIPE_ENOMEM, "out of memory");
    if (rc) {
        free(s->key_id);
        free(s->secret);
        free(s);
        return rc;
    }
    s->cfg = *cfg;
    s->rng = (uint64_t)time(NULL) * 2654435761u ^ (uint64_t)(uintptr_t)s;
    s->rng = s->rng ? s->rng : 1;
    s->pid = getpid();
    pthread_mutex_init(&s->lock, NULL);
    *out = s;
    return IMGPIPE_OK;
}

void imgpipe_s3_free(imgpipe_s3 *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->nidle; i++)
        curl_easy_cleanup(s->idle[i]);
    pthread_mutex_destroy(&s->lock);
    if (s->secret)
        memset(s->secret, 0, strlen(s->secret));
    free(s->secret);
    free(s->key_id);
    free(s);
}

const char *imgpipe_s3_url(const imgpipe_s3 *s)
{
    return s->url;
}

/* A handle for one request: an idle one (keep-alive to the service), else a new one. */
static CURL *take_easy(imgpipe_s3 *s)
{
    CURL *e = NULL;
    pthread_mutex_lock(&s->lock);
    if (s->pid != getpid()) {
        /* A connection the parent holds is not ours to use: forget its handles (freeing
         * them here could speak on its sockets). */
        s->pid = getpid();
        s->nidle = 0;
    }
    if (s->nidle > 0)
        e = s->idle[--s->nidle];
    pthread_mutex_unlock(&s->lock);
    return e ? e : curl_easy_init();
}

static void give_easy(imgpipe_s3 *s, CURL *e)
{
    pthread_mutex_lock(&s->lock);
    if (s->nidle < S3_IDLE_MAX) {
        s->idle[s->nidle++] = e;
        e = NULL;
    }
    pthread_mutex_unlock(&s->lock);
    if (e)
        curl_easy_cleanup(e);
}

/* The value of header line h (length n) when it is called name, trimmed, into out. */
static int header_value(const char *h, size_t n, const char *name, char *out, size_t cap)
{
    size_t k = strlen(name);
    if (n <= k || strncasecmp(h, name, k) != 0 || h[k] != ':')
        return 0;
    const char *v = h + k + 1;
    size_t len = n - k - 1;
    while (len > 0 && (*v == ' ' || *v == '\t'))
        v++, len--;
    while (len > 0 && (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' '))
        len--;
    snprintf(out, cap, "%.*s", (int)(len < cap ? len : cap - 1), v);
    return 1;
}

static size_t on_header(char *h, size_t size, size_t n, void *ud)
{
    struct s3_req *rq = ud;
    char v[64];
    n *= size;
    if (n > 5 && strncmp(h, "HTTP/", 5) == 0) { /* a new answer (after 100 Continue) */
        rq->etag[0] = rq->meta_url[0] = '\0';
        rq->length = -1;
        rq->retry_after_ms = -1;
    } else if (header_value(h, n, "Content-Length", v, sizeof(v))) {
        rq->length = strtoll(v, NULL, 10);
    } else if (header_value(h, n, "Retry-After", v, sizeof(v))) {
        rq->retry_after_ms = imgpipe_retry_after_ms(v, time(NULL));
    } else if (!header_value(h, n, "ETag", rq->etag, sizeof(rq->etag))) {
        header_value(h, n, "x-amz-meta-imgpipe-url", rq->meta_url, sizeof(rq->meta_url));
    }
    return n;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    struct s3_req *rq = ud;
    n *= size;
    if (rq->body.len + n > rq->max) {
        rq->overflow = 1;
        return 0;
    }
    return imgpipe_buf_append(&rq->body, p, n) ? 0 : n;
}

/* The request's URL: path-style, the key under the prefix, encoded once (as signed). */
static int request_url(const imgpipe_s3 *s, const char *name, char *url, size_t cap)
{
    char key[IMGPIPE_S3_KEY_MAX + 1], enc[3 * IMGPIPE_S3_KEY_MAX + 1];
    if (!name)
        return (size_t)snprintf(url, cap, "%s/%s", s->endpoint, s->bucket) < cap ? IMGPIPE_OK
                                                                                 : IMGPIPE_EINVAL;
    if ((size_t)snprintf(key, sizeof(key), "%s%s%s", s->prefix, s->prefix[0] ? "/" : "", name) >=
            sizeof(key) ||
        imgpipe_s3_encode_key(key, enc, sizeof(enc)))
        return IMGPIPE_EINVAL;
    return (size_t)snprintf(url, cap, "%s/%s/%s", s->endpoint, s->bucket, enc) < cap
               ? IMGPIPE_OK
               : IMGPIPE_EINVAL;
}

/* Non-zero ends the transfer: a stopped get does not wait for a service that is silent. */
static int on_progress(void *ud, curl_off_t dlt, curl_off_t dln, curl_off_t ult, curl_off_t uln)
{
    (void)dlt, (void)dln, (void)ult, (void)uln;
    return imgpipe_stop_set(((const struct s3_req *)ud)->abort);
}

static void setup(imgpipe_s3 *s, CURL *e, const char *url, struct s3_req *rq)
{
    const imgpipe_s3_config *c = &s->cfg;
    curl_easy_reset(e);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_AWS_SIGV4, s->sigv4);
    curl_easy_setopt(e, CURLOPT_USERNAME, s->key_id);
    curl_easy_setopt(e, CURLOPT_PASSWORD, s->secret);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                     c->connect_timeout_ms > 0 ? c->connect_timeout_ms : 3000L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, c->timeout_ms > 0 ? c->timeout_ms : 60000L);
    /* --read-timeout, as for a download: a service that takes the body and then says
     * nothing (or stalls mid-body) is given up after that silence, not after the whole
     * request's 60 s, and the PUT is retried. */
    long silent_s = ((c->read_timeout_ms > 0 ? c->read_timeout_ms : 30000L) + 999) / 1000;
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, silent_s);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, rq->curl_err);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, rq);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, rq);
    rq->abort = c->abort;
    if (c->abort) {
        curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(e, CURLOPT_XFERINFODATA, rq);
    }
    if (c->cacert)
        curl_easy_setopt(e, CURLOPT_CAINFO, c->cacert);
    if (c->insecure) {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
}

/* The <Code> of an S3 error document, or "" (a HEAD has no body). */
static void error_code(const struct s3_req *rq, char *code, size_t cap)
{
    char doc[4096];
    size_t n = rq->body.len < sizeof(doc) - 1 ? rq->body.len : sizeof(doc) - 1;
    code[0] = '\0';
    if (n == 0)
        return;
    memcpy(doc, rq->body.data, n);
    doc[n] = '\0';
    const char *open = strstr(doc, "<Code>");
    const char *close = open ? strstr(open, "</Code>") : NULL;
    if (close && (size_t)(close - open - 6) < cap)
        snprintf(code, cap, "%.*s", (int)(close - open - 6), open + 6);
}

/* Classifies a finished request: 0 for a 2xx, else a code with a sentence naming url. */
static int classify(struct s3_req *rq, CURLcode crc, const char *url, char *err)
{
    char code[64];
    if (crc == CURLE_ABORTED_BY_CALLBACK)
        return imgpipe_errf(err, IMGPIPE_ECANCELED, "%s %s: interrupted", rq->method, url);
    if (crc != CURLE_OK) {
        rq->transient = 1;
        return imgpipe_errf(err, crc == CURLE_OPERATION_TIMEDOUT ? IMGPIPE_ETIMEOUT : IMGPIPE_ENET,
                            "%s %s: %s", rq->method, url,
                            rq->curl_err[0] ? rq->curl_err : curl_easy_strerror(crc));
    }
    if (rq->status >= 200 && rq->status < 300)
        return IMGPIPE_OK;
    error_code(rq, code, sizeof(code));
    long st = rq->status;
    rq->transient = st == 408 || st == 429 || st >= 500 || strcmp(code, "SlowDown") == 0;
    rq->config = st == 403 || st == 401 || strcmp(code, "NoSuchBucket") == 0;
    return imgpipe_errf(err, IMGPIPE_EHTTP, "%s %s: HTTP %ld%s%s", rq->method, url, st,
                        code[0] ? " " : "", code);
}

/* One request. data (len bytes) is the body of a PUT; hdrs are signed with the rest. */
static int request(imgpipe_s3 *s, const char *method, const char *name, const void *data,
                   size_t len, struct curl_slist *hdrs, struct s3_req *rq, char *err)
{
    char url[S3_ENDPOINT_MAX + 3 * IMGPIPE_S3_KEY_MAX + 128];
    imgpipe_buf_free(&rq->body);
    rq->method = method;
    rq->status = 0;
    rq->overflow = rq->transient = rq->config = 0;
    rq->length = rq->retry_after_ms = -1;
    rq->etag[0] = rq->meta_url[0] = rq->curl_err[0] = '\0';
    if (request_url(s, name, url, sizeof(url)))
        return imgpipe_errf(err, IMGPIPE_EINVAL, "the key of '%s' under %s is too long", name,
                            s->url);
    CURL *e = take_easy(s);
    if (!e)
        return imgpipe_errf(err, IMGPIPE_ENOMEM, "out of memory");
    setup(s, e, url, rq);
    if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (strcmp(method, "PUT") == 0) {
        /* A body in memory, so that libcurl can hash it for the signature. */
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "PUT");
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, len ? data : "");
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    } else if (strcmp(method, "GET") != 0) {
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    }
    /* Without a body, the payload signed is the empty one, said as S3 wants it. */
    struct curl_slist *empty =
        hdrs ? NULL : curl_slist_append(NULL, "x-amz-content-sha256: " EMPTY_SHA256);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs ? hdrs : empty);
    CURLcode crc = curl_easy_perform(e);
    curl_slist_free_all(empty);
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &rq->status);
    give_easy(s, e);
    if (rq->overflow)
        return imgpipe_errf(err, IMGPIPE_ETOOBIG, "%s %s: over %llu bytes", method, url,
                            (unsigned long long)rq->max);
    return classify(rq, crc, url, err);
}

static int wait_ms(const imgpipe_s3 *s, long ms)
{
    double until = imgpipe_now() + (double)ms / 1000.0;
    while (imgpipe_now() < until) {
        if (imgpipe_stop_set(s->cfg.stop))
            return 0;
        nanosleep(&(struct timespec){.tv_nsec = 20 * 1000 * 1000}, NULL);
    }
    return 1;
}

/* request(), again after transient failures with backoff (Retry-After honoured). */
static int request_retry(imgpipe_s3 *s, const char *method, const char *name, const void *data,
                         size_t len, struct curl_slist *hdrs, struct s3_req *rq, char *err)
{
    int retries = imgpipe_retry_count(s->cfg.retries);
    long base = s->cfg.retry_wait_ms > 0 ? s->cfg.retry_wait_ms : IMGPIPE_RETRY_WAIT_MS;
    for (int attempt = 1;; attempt++) {
        int rc = request(s, method, name, data, len, hdrs, rq, err);
        if (rc == IMGPIPE_OK || !rq->transient || attempt > retries)
            return rc;
        pthread_mutex_lock(&s->lock);
        long ms = imgpipe_retry_delay_ms(attempt, base, rq->retry_after_ms, &s->rng);
        pthread_mutex_unlock(&s->lock);
        if (ms < 0 || !wait_ms(s, ms))
            return rc;
    }
}

int imgpipe_s3_check(imgpipe_s3 *s, char *err)
{
    struct s3_req rq = {.max = 1 << 16};
    char why[IMGPIPE_ERRLEN];
    int rc = request_retry(s, "HEAD", NULL, NULL, 0, NULL, &rq, why);
    imgpipe_buf_free(&rq.body);
    if (rc == IMGPIPE_OK)
        return IMGPIPE_OK;
    if (rq.status == 0)
        return imgpipe_errf(err, rc, "cannot reach the S3 service at %s for %s: %s", s->endpoint,
                            s->url, why);
    if (rq.status == 404)
        return imgpipe_errf(err, IMGPIPE_ECONFIG, "the bucket '%s' does not exist at %s", s->bucket,
                            s->endpoint);
    if (rq.status == 401 || rq.status == 403)
        return imgpipe_errf(err, IMGPIPE_ECONFIG,
                            "%s refused the credentials for bucket '%s' (HTTP %ld): check "
                            "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_REGION",
                            s->endpoint, s->bucket, rq.status);
    return imgpipe_errf(err, rc, "the bucket '%s' at %s cannot be used: %s", s->bucket, s->endpoint,
                        why);
}

/* base64 of a digest, as Content-MD5 and x-amz-checksum-sha256 want it. */
static void digest_b64(const EVP_MD *md, const void *data, size_t len, char *b64, char *hex)
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_Digest(data, len, d, &n, md, NULL);
    EVP_EncodeBlock((unsigned char *)b64, d, (int)n);
    for (unsigned int i = 0; i < n; i++)
        sprintf(hex + 2 * i, "%02x", d[i]);
}

void imgpipe_s3_meta_url(const char *url, char *out, size_t cap)
{
    size_t n, info = 0;
    const char *authority = imgpipe_url_authority(url, &n, &info);
    const char *p = url;
    size_t o = 0;
    while (*p && o + 4 < cap) {
        if (info && p == authority) {
            p += info; /* drop the userinfo */
            continue;
        }
        unsigned char c = (unsigned char)*p++;
        if (c > 0x20 && c < 0x7f)
            out[o++] = (char)c;
        else
            o += (size_t)snprintf(out + o, cap - o, "%%%02X", c);
    }
    out[o] = '\0';
}

static const char *content_type(const void *data, size_t len)
{
    const char *f = imgpipe_sniff_format(data, len);
    if (!f)
        return "application/octet-stream";
    return strcmp(f, "jpeg") == 0   ? "image/jpeg"
           : strcmp(f, "png") == 0  ? "image/png"
           : strcmp(f, "gif") == 0  ? "image/gif"
           : strcmp(f, "webp") == 0 ? "image/webp"
                                    : "application/octet-stream";
}

static struct curl_slist *put_headers(const void *data, size_t len, const char *src_url,
                                      char md5hex[33])
{
    char md5[32], sha[48], shahex[65], line[2300], url[2048];
    digest_b64(EVP_md5(), data, len, md5, md5hex);
    digest_b64(EVP_sha256(), data, len, sha, shahex);
    struct curl_slist *h = NULL, *t;
    const char *fixed[4][2] = {{"Content-Type", content_type(data, len)},
                               {"Content-MD5", md5},
                               {"x-amz-checksum-sha256", sha},
                               {"x-amz-content-sha256", shahex}};
    for (int i = 0; i < 4; i++) {
        snprintf(line, sizeof(line), "%s: %s", fixed[i][0], fixed[i][1]);
        if (!(t = curl_slist_append(h, line)))
            goto fail;
        h = t;
    }
    if (src_url) {
        imgpipe_s3_meta_url(src_url, url, sizeof(url));
        snprintf(line, sizeof(line), "x-amz-meta-imgpipe-url: %s", url);
        if (!(t = curl_slist_append(h, line)))
            goto fail;
        h = t;
    }
    return h;
fail:
    curl_slist_free_all(h);
    return NULL;
}

/* The ETag of a single-part PUT is the body's MD5 (quoted). */
static int etag_is(const char *etag, const char *md5hex)
{
    size_t n = strlen(etag);
    if (n >= 2 && etag[0] == '"' && etag[n - 1] == '"')
        etag++, n -= 2;
    return n == 32 && strncasecmp(etag, md5hex, 32) == 0;
}

int imgpipe_s3_put(imgpipe_s3 *s, const char *name, const void *data, size_t len,
                   const char *src_url, char *err)
{
    char md5hex[33];
    struct curl_slist *h = put_headers(data, len, src_url, md5hex);
    if (!h)
        return imgpipe_errf(err, IMGPIPE_ENOMEM, "out of memory");
    struct s3_req rq = {.max = 1 << 16};
    int rc = request_retry(s, "PUT", name, data, len, h, &rq, err);
    if (rc == IMGPIPE_OK && !etag_is(rq.etag, md5hex))
        rc = imgpipe_errf(err, IMGPIPE_EHTTP,
                          "PUT '%s' to %s: the service's ETag %s is not the MD5 %s of what was "
                          "sent",
                          name, s->url, rq.etag[0] ? rq.etag : "(none)", md5hex);
    else if (rc && rq.config)
        rc = IMGPIPE_EDISK; /* every later PUT would be refused alike */
    else if (rc == IMGPIPE_EHTTP && rq.transient)
        rc = IMGPIPE_ENET; /* unavailable through every retry: worth another try later */
    curl_slist_free_all(h);
    imgpipe_buf_free(&rq.body);
    return rc;
}

int imgpipe_s3_head(imgpipe_s3 *s, const char *name, uint64_t *size, char *url, size_t ucap,
                    char *err)
{
    struct s3_req rq = {.max = 1 << 16};
    int rc = request_retry(s, "HEAD", name, NULL, 0, NULL, &rq, err);
    imgpipe_buf_free(&rq.body);
    if (rc && rq.status == 404)
        return 0;
    if (rc)
        return rc;
    if (size)
        *size = rq.length > 0 ? (uint64_t)rq.length : 0;
    if (url)
        snprintf(url, ucap, "%s", rq.meta_url);
    return 1;
}

int imgpipe_s3_get(imgpipe_s3 *s, const char *name, uint64_t max, imgpipe_buf *b, char *err)
{
    struct s3_req rq = {.max = max};
    int rc = request_retry(s, "GET", name, NULL, 0, NULL, &rq, err);
    if (rc == IMGPIPE_OK && imgpipe_buf_append(b, rq.body.data, rq.body.len))
        rc = imgpipe_errf(err, IMGPIPE_ENOMEM, "out of memory");
    imgpipe_buf_free(&rq.body);
    return rc;
}
