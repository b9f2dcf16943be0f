/* The Redis side of distributed mode, shared by the queue operations and the worker: key
 * names, reply helpers, the job fields. docs/queue.md describes the keys. */
#ifndef IMGPIPE_QUEUE_H
#define IMGPIPE_QUEUE_H

#include "queue/redis_url.h"

#include <jansson.h>

#define IMGPIPE_Q_GROUP "imgpipe"           /* the one consumer group of every queue */
#define IMGPIPE_Q_PREFIX "imgpipe:q:"       /* + queue: the stream of jobs */
#define IMGPIPE_Q_WORKER "imgpipe:w:"       /* + worker name: its heartbeat hash (TTL) */
#define IMGPIPE_Q_WORKERS "imgpipe:workers" /* SET of worker names */
#define IMGPIPE_Q_QUEUES "imgpipe:queues"   /* SET of queue names */
#define IMGPIPE_Q_NAMES "imgpipe:names:"    /* + output location: HASH name -> URL */
#define IMGPIPE_Q_RATE "imgpipe:rate:"      /* + host: its next free start, µs (a rate limit) */
#define IMGPIPE_Q_KEYLEN 320
#define IMGPIPE_Q_LIST_MAX 64 /* queues shown when none is named */

/* "imgpipe:q:<queue><suffix>", suffix "" (the stream), ":failed" or ":stats". */
void imgpipe_q_key(char out[IMGPIPE_Q_KEYLEN], const char *queue, const char *suffix);

/* 1 when a queue name is usable: 1..128 bytes of UTF-8, no control characters. UTF-8
 * because the name is shown and sent back by the dashboard as JSON text, which has no
 * other bytes. */
int imgpipe_q_name_ok(const char *queue);
#define IMGPIPE_Q_NAME_RULE "1 to 128 bytes of UTF-8 text without control characters"

/* Text read from Redis (a URL, an error, a worker's or a queue's name) as a JSON string:
 * any byte that is not part of valid UTF-8 becomes U+FFFD, because jansson refuses such a
 * string and the entry that holds it would not be shown at all. Entries are acted on by
 * their id, so the replacement loses nothing that is needed. NULL: out of memory. */
json_t *imgpipe_q_json_text(const char *text);

/* As imgpipe_q_json_text, of text with the passwords of its URLs hidden (imgpipe_redact):
 * a job keeps its URL's password, for its worker; what is shown of it does not. */
json_t *imgpipe_q_json_shown(const char *text);

/* Creates the stream and its group when missing (entries added before are delivered). */
int imgpipe_q_ensure_group(redisContext *c, const char *queue, char *err);

/* Sends argv and reads the reply; NULL with err filled (the context is then dead when
 * c->err is set). */
redisReply *imgpipe_q_cmd(redisContext *c, char *err, int argc, const char **argv);

/* As imgpipe_q_cmd; *nogroup is set when Redis's error code is NOGROUP (the stream or its
 * group is gone). */
redisReply *imgpipe_q_cmd_ex(redisContext *c, char *err, int argc, const char **argv, int *nogroup);
/* The checks of imgpipe_q_cmd_ex on a reply r (NULL: the connection failed) read for the
 * command named what; r is freed when it is an error. */
redisReply *imgpipe_q_reply_ex(redisContext *c, redisReply *r, char *err, const char *what,
                               int *nogroup);

/* Element i of array reply r when it has the given type, else NULL: every reply is checked
 * this way before it is indexed (a proxy or another server may answer in other shapes). */
redisReply *imgpipe_q_elem(const redisReply *r, size_t i, int type);

/* A field of a flat [k1, v1, k2, v2, ...] reply array, or NULL. */
const char *imgpipe_q_field(const redisReply *kv, const char *name);

/* The connection of an open queue handle, for layers above that send their own commands
 * (the dashboard) on the connection that imgpipe_queue_status_json also uses. */
redisContext *imgpipe_q_context(imgpipe_queue *q);

/* Every queue ever used (at most cap), sorted; names point into *keep, which the caller
 * frees. */
int imgpipe_q_all_queues(redisContext *c, const char **names, int cap, redisReply **keep);

/* The Redis URL of a handle as messages show it: without its password. */
const char *imgpipe_q_shown_url(const imgpipe_queue *q);

/* The spelling of output DIR that names it in Redis (registry key, jobs' dir field): an
 * s3:// URL without trailing slashes, else the absolute path (from the working directory)
 * without empty or "." segments nor a trailing slash; a ".." drops the segment before it
 * when that is a directory here and not a symbolic link, and is refused otherwise. */
int imgpipe_q_output(const char *dir, char *out, size_t cap, char *err);

/* "imgpipe:names:<output>": the name registry of an output location (an absolute DIR, or
 * a bucket URL), shared by every queue that writes there. */
void imgpipe_q_names_key(char *out, size_t cap, const char *output);

/* Loads a Lua script for EVALSHA; its SHA1 in sha. */
int imgpipe_q_script_load(redisContext *c, const char *script, char sha[48], char *err);

/* Redis's own clock in ms, so every host measures ages on one clock; -1 on failure. */
long long imgpipe_q_time_ms(redisContext *c);

#endif
