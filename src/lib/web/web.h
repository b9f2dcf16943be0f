/* The web layer: the dashboard's HTTP server (dashboard.c), what it reads from and does to
 * Redis (state.c), the gallery of an output directory (gallery.c) and the Prometheus text
 * format (prom.c, also used by the per-process metrics of metrics.c). */
#ifndef IMGPIPE_WEB_H
#define IMGPIPE_WEB_H

#include "queue/queue.h"

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>

#define IMGPIPE_WEB_PAGE_MAX 100 /* failures or gallery items per page, at most */

/* One Redis connection shared by the server's threads under a lock, reopened when lost. */
typedef struct imgpipe_web_redis {
    pthread_mutex_t lock;
    const char *url;
    imgpipe_queue *q;          /* NULL while Redis is down */
    long long retry_at;        /* monotonic ms before which no reconnect is tried */
    char down[IMGPIPE_ERRLEN]; /* why, while q is NULL */
} imgpipe_web_redis;

/* Takes the lock and returns a live connection, or NULL (lock still held) with err. */
redisContext *imgpipe_web_redis_get(imgpipe_web_redis *r, char *err);
/* Releases the lock; drops the connection when it broke during the request. */
void imgpipe_web_redis_put(imgpipe_web_redis *r);

/* The dashboard's state: status's document (same numbers as `imgpipe status --json`) for
 * the queues (none: every queue of imgpipe:queues, at most 64), with per queue the
 * reasons of its latest failures. NULL with err when Redis fails. */
json_t *imgpipe_web_state(imgpipe_web_redis *r, const char *const *queues, int nqueues, char *err);

/* A page of a queue's failures, newest first, older than `before` (an entry id; NULL for
 * the newest) in *doc: {"failures":[{id,url,error,reason,worker}], "next": id or null}.
 * IMGPIPE_EINVAL for a bad queue name or id, IMGPIPE_ENET when Redis is down. */
int imgpipe_web_failures(imgpipe_web_redis *r, const char *queue, const char *before, int count,
                         json_t **doc, char *err);

/* The state-changing actions: "requeue" or "drop" a failure (id) or all of them (id
 * NULL), "purge" the waiting jobs. *count says how many entries were affected. */
int imgpipe_web_action(imgpipe_web_redis *r, const char *action, const char *queue, const char *id,
                       long long *count, char *err);

/* The dashboard's /metrics body from a state document (malloc'd). */
char *imgpipe_web_metrics(const json_t *state);

/* Prometheus text format helpers: a buffer with # HELP/# TYPE headers and samples whose
 * label values are escaped. */
void imgpipe_prom_head(imgpipe_buf *b, const char *name, const char *type, const char *help);
void imgpipe_prom_sample(imgpipe_buf *b, const char *name, const char *k1, const char *v1,
                         const char *k2, const char *v2, double value); /* k NULL: no label */
/* A NUL-terminated copy of the buffer's text (the buffer is freed), or NULL. */
char *imgpipe_prom_finish(imgpipe_buf *b);

/* The gallery: a page of the originals of dir (sorted by name) with their thumbnail, size
 * and source URL (from the ledger): {"items":[{name,href,bytes,thumb,thumb_href,url}],
 * "page","pages","total"}. Names are text (U+FFFD for a byte not UTF-8); href and
 * thumb_href are "/files/NAME" with the name's bytes, URL-escaped, so they reach the file. */
json_t *imgpipe_web_gallery(int dirfd, long page, int per_page, char *err);

/* Opens a file of the gallery for serving: name is one path component, not hidden, a
 * regular file reached without following a symlink. -1 when it is not servable. */
int imgpipe_web_open_file(int dirfd, const char *name, uint64_t *size);

/* Starts an MHD daemon (a thread per connection) on listen, "HOST:PORT" or "[V6]:PORT";
 * fills url with "http://HOST:PORT/" (the port bound) and loopback. A non-loopback address
 * is refused unless remote_ok. Returns 0, or a negative code with err. */
int imgpipe_web_start(struct MHD_Daemon **out, const char *listen, int remote_ok,
                      MHD_AccessHandlerCallback handler, void *cls, char url[300], int *loopback,
                      char *err);

/* Whether a Host header's value names this machine: an IP address, with its port or not,
 * "localhost" or a name under ".localhost" (with a final dot or not). 1 or 0. */
int imgpipe_web_host_local(const char *host);

/* The status a request's Host headers call for, for a server that answers only this
 * machine's names: 0 (go on), 400 (none in HTTP/1.1, or more than one, RFC 9112 3.2) or 403
 * (another machine's name, as a DNS rebinding sends). */
unsigned imgpipe_web_host_status(struct MHD_Connection *conn, const char *version);

/* Only our own script and style run; images come from us too; no one frames us. */
#define IMGPIPE_WEB_CSP                                                                            \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "                    \
    "connect-src 'self'; frame-ancestors 'none'"

/* Adds the headers every answer carries: no sniffing, no framing, no referrer, and the
 * content security policy csp (NULL: IMGPIPE_WEB_CSP). */
void imgpipe_web_secure(struct MHD_Response *r, const char *csp);

/* Queues a response with the headers every answer carries (no sniffing, no framing, no
 * caching, a strict content security policy). Takes data (MHD_RESPMEM_MUST_FREE or
 * PERSISTENT). */
enum MHD_Result imgpipe_web_respond(struct MHD_Connection *conn, unsigned status, const char *type,
                                    void *data, size_t len, enum MHD_ResponseMemoryMode mem);
/* A JSON document (consumed) as the answer. */
enum MHD_Result imgpipe_web_json(struct MHD_Connection *conn, unsigned status, json_t *doc);
/* {"error": msg} with status. */
enum MHD_Result imgpipe_web_error(struct MHD_Connection *conn, unsigned status, const char *msg);
/* 405 {"error"} with the Allow header ("GET, HEAD"). */
enum MHD_Result imgpipe_web_not_allowed(struct MHD_Connection *conn, const char *allow);

#endif
