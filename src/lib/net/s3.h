/* An S3-compatible object store: objects PUT whole with AWS Signature V4 (libcurl's
 * CURLOPT_AWS_SIGV4), checked by their MD5 and SHA-256, path-style addressing for a custom
 * endpoint. One client serves many threads: it lends each call an easy handle of its own. */
#ifndef IMGPIPE_S3_H
#define IMGPIPE_S3_H

#include "common/util.h"

#include <signal.h>

#define IMGPIPE_S3_KEY_MAX 1024 /* S3's own limit on a key, in bytes */

typedef struct imgpipe_s3_config {
    const char *endpoint;    /* "http(s)://host:port"; NULL: $IMGPIPE_S3_ENDPOINT,
                                $AWS_ENDPOINT_URL, else AWS's regional endpoint */
    const char *region;      /* NULL: $AWS_REGION, $AWS_DEFAULT_REGION, else us-east-1 */
    const char *key_id;      /* NULL: $AWS_ACCESS_KEY_ID */
    const char *secret;      /* NULL: $AWS_SECRET_ACCESS_KEY */
    long connect_timeout_ms; /* 0: 3 s */
    long timeout_ms;         /* one request; 0: 60 s */
    long read_timeout_ms;    /* a request that moves no byte this long fails; 0: 30 s */
    int retries;             /* after a transient failure (imgpipe_retry_count) */
    long retry_wait_ms;      /* the first backoff; 0: IMGPIPE_RETRY_WAIT_MS */
    int insecure;
    const char *cacert;
    const volatile sig_atomic_t *stop; /* set: retries stop waiting */
    /* set: a request in flight is ended too (IMGPIPE_ECANCELED); NULL: it is finished, as a
     * worker finishes its jobs in flight on SIGTERM */
    const volatile sig_atomic_t *abort;
} imgpipe_s3_config;

typedef struct imgpipe_s3 imgpipe_s3;

/* Splits "s3://bucket[/prefix]" into bucket and prefix (without leading or trailing '/').
 * IMGPIPE_EINVAL with the reason for anything else or a bucket name S3 refuses. */
int imgpipe_s3_parse_url(const char *url, char *bucket, size_t bcap, char *prefix, size_t pcap,
                         char *err);

/* 1 when text starts with s3:// */
int imgpipe_s3_is_url(const char *text);

/* A client for the bucket and prefix of url ("s3://bucket/prefix"). Nothing is sent yet:
 * imgpipe_s3_check says whether the bucket can be written. IMGPIPE_ECONFIG when no
 * credentials are set. */
int imgpipe_s3_open(imgpipe_s3 **out, const char *url, const imgpipe_s3_config *cfg, char *err);
void imgpipe_s3_free(imgpipe_s3 *s);

/* "s3://bucket/prefix" as given, for messages. */
const char *imgpipe_s3_url(const imgpipe_s3 *s);

/* Asks the bucket whether it is there and the credentials are good (a HEAD of the bucket,
 * which S3 answers 404 for a missing bucket and 403 for a bad signature or key): the
 * service unreachable (IMGPIPE_ENET, after retries), the bucket missing and refused
 * credentials (IMGPIPE_ECONFIG) each fail with a sentence that says which, before any
 * work starts. Nothing is written: a key allowed to PUT but not to list is refused here. */
int imgpipe_s3_check(imgpipe_s3 *s, char *err);

/* PUTs data as prefix/name, with Content-MD5 and x-amz-checksum-sha256 (the service
 * refuses a body that does not match, so an object is whole or absent) and the returned
 * ETag compared with the MD5. src_url goes into x-amz-meta-imgpipe-url without its
 * userinfo. Transient failures (connection, 5xx, SlowDown, 429) are retried with backoff;
 * IMGPIPE_EDISK for refused credentials or a missing bucket (every later PUT would fail
 * alike); IMGPIPE_ENET or IMGPIPE_ETIMEOUT when the service stayed unavailable through
 * every retry (worth trying again later); IMGPIPE_EHTTP for a refusal of this object. */
int imgpipe_s3_put(imgpipe_s3 *s, const char *name, const void *data, size_t len,
                   const char *src_url, char *err);

/* The source URL as an object's metadata holds it: without user:password@, printable
 * ASCII only (S3 metadata is US-ASCII; other bytes percent-encoded), cut to cap. */
void imgpipe_s3_meta_url(const char *url, char *out, size_t cap);

/* Whether prefix/name is there: 1 (with its size and its x-amz-meta-imgpipe-url, "" when
 * none, into url of ucap bytes), 0 when it is not, negative when the service could not
 * say. size and url may be NULL. */
int imgpipe_s3_head(imgpipe_s3 *s, const char *name, uint64_t *size, char *url, size_t ucap,
                    char *err);

/* Reads prefix/name (at most max bytes) into b (appended). */
int imgpipe_s3_get(imgpipe_s3 *s, const char *name, uint64_t max, imgpipe_buf *b, char *err);

/* Percent-encodes a key for a URL path as S3 and SigV4 want it: unreserved bytes
 * (A-Z a-z 0-9 - _ . ~) and '/' as they are, every other byte as %XX. 0, or
 * IMGPIPE_EINVAL when it does not fit cap. */
int imgpipe_s3_encode_key(const char *key, char *out, size_t cap);

#endif
