/* Redis connection URLs: redis://[[user]:password@]host[:port][/db] and unix:/path[?db=N]. */
#ifndef IMGPIPE_REDIS_URL_H
#define IMGPIPE_REDIS_URL_H

#include "common/util.h"

#include <hiredis/hiredis.h>

typedef struct imgpipe_redis_url {
    char host[256];     /* TCP host; "" for a unix socket */
    int port;           /* 6379 when not given */
    char path[256];     /* unix socket path; "" for TCP */
    char password[256]; /* "" when none */
    int db;             /* SELECT this database; 0 by default */
} imgpipe_redis_url;

/* Parses text into u; IMGPIPE_EINVAL with err naming the URL and what is wrong. */
int imgpipe_redis_url_parse(const char *text, imgpipe_redis_url *u, char *err);

/* Connects (with timeout_ms for connect and every command), AUTHs and SELECTs as the URL
 * says. *out is a live context, or NULL with err naming the URL and the reason. */
int imgpipe_redis_connect(const char *url, long timeout_ms, redisContext **out, char *err);

#endif
