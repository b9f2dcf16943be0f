/* Parsing Redis URLs and connecting with hiredis 0.14's synchronous API. */
#include "queue/redis_url.h"

#include <stdlib.h>
#include <string.h>

static int bad(char *err, const char *text, const char *why)
{
    return imgpipe_errf(err, IMGPIPE_EINVAL, "bad Redis URL '%s': %s", text, why);
}

/* Copies [s, s+n) into out (cap bytes); 0 when it does not fit. */
static int copy_part(char *out, size_t cap, const char *s, size_t n)
{
    if (n >= cap)
        return 0;
    memcpy(out, s, n);
    out[n] = '\0';
    return 1;
}

static int parse_number(const char *s, size_t n, long lo, long hi, int *out)
{
    char buf[16];
    if (n == 0 || !copy_part(buf, sizeof(buf), s, n))
        return 0;
    char *end;
    long v = strtol(buf, &end, 10);
    if (*end || buf[0] == '-' || buf[0] == '+' || v < lo || v > hi)
        return 0;
    *out = (int)v;
    return 1;
}

/* unix:/path, unix:///path, with an optional ?db=N. */
static int parse_unix(const char *text, const char *rest, imgpipe_redis_url *u, char *err)
{
    if (strncmp(rest, "//", 2) == 0)
        rest += 2;
    const char *q = strchr(rest, '?');
    size_t n = q ? (size_t)(q - rest) : strlen(rest);
    if (n == 0 || rest[0] != '/')
        return bad(err, text, "a unix socket needs an absolute path");
    if (!copy_part(u->path, sizeof(u->path), rest, n))
        return bad(err, text, "path too long");
    if (q && (strncmp(q, "?db=", 4) != 0 || !parse_number(q + 4, strlen(q + 4), 0, 65535, &u->db)))
        return bad(err, text, "the only query is ?db=N");
    return IMGPIPE_OK;
}

/* [[user]:password@] before the host: the user is ignored (Redis 6 ACL users are not
 * supported by hiredis 0.14's AUTH helper, and the default user is what we log in as). */
static int parse_auth(const char *text, const char **p, const char *host_end, imgpipe_redis_url *u,
                      char *err)
{
    const char *at = memchr(*p, '@', (size_t)(host_end - *p));
    if (!at)
        return IMGPIPE_OK;
    const char *colon = memchr(*p, ':', (size_t)(at - *p));
    const char *pw = colon ? colon + 1 : *p;
    if (!copy_part(u->password, sizeof(u->password), pw, (size_t)(at - pw)))
        return bad(err, text, "password too long");
    *p = at + 1;
    return IMGPIPE_OK;
}

static int parse_tcp(const char *text, const char *p, imgpipe_redis_url *u, char *err)
{
    const char *slash = strchr(p, '/');
    const char *end = slash ? slash : p + strlen(p);
    int rc = parse_auth(text, &p, end, u, err);
    if (rc)
        return rc;
    const char *colon = memchr(p, ':', (size_t)(end - p));
    const char *host_end = colon ? colon : end;
    if (host_end == p)
        return bad(err, text, "no host");
    if (!copy_part(u->host, sizeof(u->host), p, (size_t)(host_end - p)))
        return bad(err, text, "host name too long");
    if (colon && !parse_number(colon + 1, (size_t)(end - colon - 1), 1, 65535, &u->port))
        return bad(err, text, "the port is not a number from 1 to 65535");
    if (slash && slash[1] && !parse_number(slash + 1, strlen(slash + 1), 0, 65535, &u->db))
        return bad(err, text, "the database after '/' is not a number");
    return IMGPIPE_OK;
}

int imgpipe_redis_url_parse(const char *text, imgpipe_redis_url *u, char *err)
{
    memset(u, 0, sizeof(*u));
    u->port = 6379;
    if (!text || !*text)
        return bad(err, "", "empty");
    if (strncmp(text, "unix:", 5) == 0)
        return parse_unix(text, text + 5, u, err);
    if (strncmp(text, "redis://", 8) == 0)
        return parse_tcp(text, text + 8, u, err);
    return bad(err, text, "expected redis://[:password@]host[:port][/db] or unix:/path");
}

static int command_ok(redisContext *c, const char *url, char *err, const char *what,
                      const char *fmt, const char *arg)
{
    redisReply *r = redisCommand(c, fmt, arg);
    int rc = IMGPIPE_OK;
    if (!r)
        rc = imgpipe_errf(err, IMGPIPE_ENET, "Redis at %s: %s failed: %s", url, what, c->errstr);
    else if (r->type == REDIS_REPLY_ERROR)
        rc = imgpipe_errf(err, IMGPIPE_ECONFIG, "Redis at %s refused %s: %s", url, what, r->str);
    if (r)
        freeReplyObject(r);
    return rc;
}

static redisContext *open_context(const imgpipe_redis_url *u, long timeout_ms)
{
    struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
    redisContext *c = u->path[0] ? redisConnectUnixWithTimeout(u->path, tv)
                                 : redisConnectWithTimeout(u->host, u->port, tv);
    if (c && !c->err)
        redisSetTimeout(c, tv);
    return c;
}

int imgpipe_redis_connect(const char *url, long timeout_ms, redisContext **out, char *err)
{
    imgpipe_redis_url u;
    *out = NULL;
    int rc = imgpipe_redis_url_parse(url, &u, err);
    if (rc)
        return rc;
    redisContext *c = open_context(&u, timeout_ms);
    if (!c)
        return imgpipe_errf(err, IMGPIPE_ENOMEM, "cannot connect to Redis at %s", url);
    if (c->err) {
        imgpipe_errf(err, IMGPIPE_ENET, "cannot connect to Redis at %s: %s", url, c->errstr);
        redisFree(c);
        return IMGPIPE_ENET;
    }
    if (u.password[0])
        rc = command_ok(c, url, err, "AUTH", "AUTH %s", u.password);
    char db[16];
    snprintf(db, sizeof(db), "%d", u.db);
    if (!rc && u.db)
        rc = command_ok(c, url, err, "SELECT", "SELECT %s", db);
    if (!rc)
        rc = command_ok(c, url, err, "PING", "PING%s", "");
    if (rc) {
        redisFree(c);
        return rc;
    }
    *out = c;
    return IMGPIPE_OK;
}
