/* Redis connection URLs: redis://[[user]:password@]host[:port][/db] and unix:/path[?db=N].
 * The user and password may be percent-encoded (%40 for '@', %3A for ':', %2F for '/'). A
 * URL is shown only as imgpipe_redis_url_redact makes it: a password is never printed. */
#ifndef IMGPIPE_REDIS_URL_H
#define IMGPIPE_REDIS_URL_H

#include "common/util.h"

#include <hiredis/hiredis.h>

typedef struct imgpipe_redis_url {
    char host[256];     /* TCP host; "" for a unix socket */
    int port;           /* 6379 when not given */
    char path[256];     /* unix socket path; "" for TCP */
    char user[256];     /* an ACL user (Redis 6+), decoded; "" for the default user */
    char password[256]; /* decoded; "" when none */
    int db;             /* SELECT this database; 0 by default */
} imgpipe_redis_url;

/* Parses text into u; IMGPIPE_EINVAL with err naming the URL (redacted) and what is wrong. */
int imgpipe_redis_url_parse(const char *text, imgpipe_redis_url *u, char *err);

/* text as it may be shown: the password (everything after the user, or the whole userinfo
 * when it has no ':') replaced by "***", so redis://u:pw@h:1 reads redis://u:***@h:1.
 * Works on any text, parsable or not; cut to cap bytes. */
void imgpipe_redis_url_redact(const char *text, char *out, size_t cap);

/* Connects (with timeout_ms for connect and every command), AUTHs and SELECTs as the URL
 * says. *out is a live context, or NULL with err naming the URL and the reason. */
int imgpipe_redis_connect(const char *url, long timeout_ms, redisContext **out, char *err);

#endif
