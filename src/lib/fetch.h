/* One HTTP transfer with libcurl into memory: the setup and the classification of its
 * outcome are shared by every executor (a blocking perform, a multi handle, ...). */
#ifndef IMGPIPE_FETCH_H
#define IMGPIPE_FETCH_H

#include "util.h"

#include <curl/curl.h>

typedef struct imgpipe_fetch_opts {
    long connect_timeout_ms; /* 0: 3 s */
    long read_timeout_ms;    /* abort when nothing arrives for this long; 0: 30 s */
    long timeout_ms;         /* whole transfer; 0: none */
    uint64_t max_bytes;      /* 0: 50 MiB */
    int max_redirs;          /* 0: 5; negative: no redirects */
    const char *auth_header; /* a full "Authorization: ..." line, or NULL */
    CURLSH *share;           /* a share handle (DNS, connections), or NULL */
} imgpipe_fetch_opts;

typedef struct imgpipe_transfer {
    CURL *easy;       /* borrowed: the caller owns the handle */
    imgpipe_buf body; /* owned: the caller may take it (then zero it) */
    long http_status; /* after finish */
    int overflow;     /* the body went over max_bytes */
    uint64_t max_bytes;
    struct curl_slist *headers;
    char curl_err[CURL_ERROR_SIZE];
} imgpipe_transfer;

/* Sets up easy (reset first) to GET url into t->body. */
int imgpipe_transfer_init(imgpipe_transfer *t, CURL *easy, const char *url,
                          const imgpipe_fetch_opts *opts, char *err);

/* Classifies the transfer's outcome after curl returned rc: 0 for a complete 2xx body,
 * else ENET, ETIMEOUT, ETOOBIG or EHTTP with a sentence in err. */
int imgpipe_transfer_finish(imgpipe_transfer *t, CURLcode rc, char *err);

/* Frees what init allocated and the body (unless taken). */
void imgpipe_transfer_cleanup(imgpipe_transfer *t);

/* A blocking GET with a handle of its own: body filled (even for a non-2xx answer, so an
 * API's error text can be read), *http_status set when the server answered. */
int imgpipe_fetch(const char *url, const imgpipe_fetch_opts *opts, imgpipe_buf *body,
                  long *http_status, char *err);

/* 1 when url starts with http:// or https:// (case-insensitive). */
int imgpipe_url_is_http(const char *url);

#endif
