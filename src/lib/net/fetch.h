/* One HTTP transfer with libcurl into memory: the setup and the classification of its
 * outcome are shared by every executor (a blocking perform, a multi handle, ...). */
#ifndef IMGPIPE_FETCH_H
#define IMGPIPE_FETCH_H

#include "common/util.h"

#include <curl/curl.h>
#include <signal.h>
#include <time.h>

/* The longest link fetched: no server takes a longer request line (nginx and Apache stop
 * at 8 KB by default), libcurl's request buffer ends near 1 MB, and every mode (the procs
 * workers' messages too) holds a link of this length alike. */
#define IMGPIPE_URL_MAX 65536

typedef struct imgpipe_fetch_opts {
    long connect_timeout_ms; /* 0: 3 s */
    long read_timeout_ms;    /* abort when nothing arrives for this long; 0: 30 s */
    long timeout_ms;         /* whole transfer (imgpipe_fetch: its retries too); 0: none */
    long attempt_timeout_ms; /* imgpipe_fetch: each attempt's own bound; 0: none */
    uint64_t max_bytes;      /* 0: 50 MiB */
    int max_redirs;          /* 0: 5; negative: no redirects */
    const char *auth_header; /* a full "Authorization: ..." line, or NULL */
    CURLSH *share;           /* a share handle (DNS, connections), or NULL */
    long min_speed;          /* bytes/s below which, over read_timeout, a transfer fails; 0: 1 */
    int insecure;            /* skip TLS certificate and host verification */
    const char *cacert;      /* a PEM file of CA certificates to verify with; NULL: system's */
    int pipewait; /* in a multi handle: an https transfer waits to multiplex on the host's
                     connection being set up rather than open one of its own */
    const volatile sig_atomic_t *stop; /* non-zero: abort the transfer (Ctrl-C) */
    int retries;        /* imgpipe_fetch: transient failures retried (imgpipe_retry_count) */
    long retry_wait_ms; /* imgpipe_fetch: the first backoff; 0: IMGPIPE_RETRY_WAIT_MS */
} imgpipe_fetch_opts;

/* Where a successful (2xx) response's body goes instead of into memory, piece by piece as
 * it arrives: returns 0, or non-zero to end the transfer (the sink keeps its reason;
 * imgpipe_transfer_finish then reports IMGPIPE_EIO, t->sink_failed set). */
typedef int (*imgpipe_body_sink)(void *arg, const void *data, size_t len);

typedef struct imgpipe_transfer {
    CURL *easy;             /* borrowed: the caller owns the handle */
    imgpipe_buf body;       /* owned: the caller may take it (then zero it); with a sink, only
                               the body of an answer that is not 2xx (its first 64 KB) */
    imgpipe_body_sink sink; /* NULL: bodies go to body */
    void *sink_arg;
    int sink_failed;
    uint64_t received;        /* 2xx body bytes received, held against max_bytes */
    long long content_length; /* the answer's announced Content-Length, or -1 */
    int error_cut;    /* a non-2xx body was cut at its first 64 KB: the status says it all */
    long http_status; /* after finish */
    int overflow;     /* the body went over max_bytes */
    uint64_t max_bytes;
    struct curl_slist *headers;
    const volatile sig_atomic_t *stop;
    long retry_after_ms;        /* the server's Retry-After, or -1 */
    long quota_remaining;       /* the lowest X-RateLimit-*Remaining seen, or -1 */
    long quota_reset_s;         /* X-RateLimit-UserReset (epoch seconds), or -1 */
    int transient;              /* after finish: worth retrying */
    int in_headers;             /* a status line came, the blank line after the headers not yet */
    unsigned long header_lines; /* every hop's, as they come: the server said something */
    char curl_err[CURL_ERROR_SIZE];
} imgpipe_transfer;

/* Sets up easy (reset first) to GET url into t->body; a url that is not http(s) or is
 * longer than IMGPIPE_URL_MAX fails here (IMGPIPE_EINVAL). */
int imgpipe_transfer_init(imgpipe_transfer *t, CURL *easy, const char *url,
                          const imgpipe_fetch_opts *opts, char *err);

/* Sends the 2xx body of the transfer set up by init to sink instead of t->body. */
void imgpipe_transfer_sink(imgpipe_transfer *t, imgpipe_body_sink sink, void *arg);

/* Classifies the transfer's outcome after curl returned rc: 0 for a complete 2xx body
 * (206 is not one: no request asks for a range, so a 206 holds only a part),
 * else ENET, ETIMEOUT, ETOOBIG, EHTTP, EREMOVED or ECANCELED with a sentence in err, and
 * t->transient set when another attempt may succeed (timeouts, resets, cut bodies, 408,
 * 429, 500, 502, 503, 504). */
int imgpipe_transfer_finish(imgpipe_transfer *t, CURLcode rc, char *err);

/* Frees what init allocated and the body (unless taken). */
void imgpipe_transfer_cleanup(imgpipe_transfer *t);

/* A blocking GET with a handle of its own, retried after transient failures as a download
 * is (opts->retries, backoff with jitter, Retry-After), all within opts->timeout_ms when
 * it is set (the whole request's, waits included): body filled from the last attempt
 * (even for a non-2xx answer, so an API's error text can be read), *http_status set when
 * the server answered, *attempts the transfers made. */
int imgpipe_fetch(const char *url, const imgpipe_fetch_opts *opts, imgpipe_buf *body,
                  long *http_status, int *attempts, char *err);

/* A Retry-After header's value (delta seconds or an HTTP date, read against now) in
 * milliseconds, clamped to a day; -1 when it is neither. */
long imgpipe_retry_after_ms(const char *value, time_t now);

/* The failure of a link longer than IMGPIPE_URL_MAX, in err: IMGPIPE_EINVAL. */
int imgpipe_url_too_long(char *err);

/* 1 when url starts with http:// or https:// (case-insensitive). */
int imgpipe_url_is_http(const char *url);

#endif
