/* Parsing Redis URLs and connecting with hiredis 0.14's synchronous API. */
#include "queue/redis_url.h"

#include <stdlib.h>
#include <string.h>

static int bad(char *err, const char *text, const char *why)
{
    char shown[512];
    imgpipe_redis_url_redact(text, shown, sizeof(shown));
    return imgpipe_errf(err, IMGPIPE_EINVAL, "bad Redis URL '%s': %s", shown, why);
}

void imgpipe_redis_url_redact(const char *text, char *out, size_t cap)
{
    if (!cap)
        return;
    const char *scheme = strstr(text, "://");
    const char *start = scheme ? scheme + 3 : text;
    const char *at = strrchr(start, '@'); /* hosts never hold '@': the last one ends userinfo */
    if (!at) {
        snprintf(out, cap, "%s", text);
        return;
    }
    const char *colon = scheme ? memchr(start, ':', (size_t)(at - start)) : NULL;
    const char *keep = colon ? colon + 1 : start; /* the user, when there is one */
    snprintf(out, cap, "%.*s***%s", (int)(keep - text), text, at);
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

static int hex_digit(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* Decodes %XX escapes of [s, s+n) into out: 0, or a reason (a bad escape, %00, too long). */
static const char *decode_part(char *out, size_t cap, const char *s, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            int hi = i + 2 < n ? hex_digit(s[i + 1]) : -1;
            int lo = i + 2 < n ? hex_digit(s[i + 2]) : -1;
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                return "a bad %-escape in the user or password (write %XX, not %00)";
            c = hi * 16 + lo;
            i += 2;
        }
        if (o + 1 >= cap)
            return "user or password too long";
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return NULL;
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

/* [[user]:password@] before the host: "user:pw" logs in as an ACL user (AUTH user pw),
 * ":pw" and "pw" as the default user. The last '@' ends it, so a password may hold '@',
 * ':' or '/' even unencoded. */
static int parse_auth(const char *text, const char **p, imgpipe_redis_url *u, char *err)
{
    const char *at = strrchr(*p, '@');
    if (!at)
        return IMGPIPE_OK;
    const char *colon = memchr(*p, ':', (size_t)(at - *p));
    const char *pw = colon ? colon + 1 : *p;
    const char *why =
        colon ? decode_part(u->user, sizeof(u->user), *p, (size_t)(colon - *p)) : NULL;
    if (!why)
        why = decode_part(u->password, sizeof(u->password), pw, (size_t)(at - pw));
    if (why)
        return bad(err, text, why);
    *p = at + 1;
    return IMGPIPE_OK;
}

static int parse_tcp(const char *text, const char *p, imgpipe_redis_url *u, char *err)
{
    int rc = parse_auth(text, &p, u, err);
    if (rc)
        return rc;
    const char *slash = strchr(p, '/');
    const char *end = slash ? slash : p + strlen(p);
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
    return bad(err, text, "expected redis://[[user]:password@]host[:port][/db] or unix:/path");
}

/* Sends argv; IMGPIPE_ENET when the connection failed, ECONFIG when Redis said no. */
static int command_ok(redisContext *c, const char *shown, char *err, int argc, const char **argv)
{
    redisReply *r = redisCommandArgv(c, argc, argv, NULL);
    int rc = IMGPIPE_OK;
    if (!r)
        rc = imgpipe_errf(err, IMGPIPE_ENET, "Redis at %s: %s failed: %s", shown, argv[0],
                          c->errstr);
    else if (r->type == REDIS_REPLY_ERROR)
        rc = imgpipe_errf(err, IMGPIPE_ECONFIG, "Redis at %s refused %s: %s", shown, argv[0],
                          r->str ? r->str : "");
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

/* AUTH [user] password, SELECT db, PING; the password goes to Redis only. */
static int handshake(redisContext *c, const imgpipe_redis_url *u, const char *shown, char *err)
{
    char db[16];
    snprintf(db, sizeof(db), "%d", u->db);
    const char *auth[] = {"AUTH", u->user[0] ? u->user : u->password, u->password};
    const char *select[] = {"SELECT", db}, *ping[] = {"PING"};
    int rc = IMGPIPE_OK;
    if (u->password[0] || u->user[0])
        rc = command_ok(c, shown, err, u->user[0] ? 3 : 2, auth);
    if (!rc && u->db)
        rc = command_ok(c, shown, err, 2, select);
    return rc ? rc : command_ok(c, shown, err, 1, ping);
}

int imgpipe_redis_connect(const char *url, long timeout_ms, redisContext **out, char *err)
{
    imgpipe_redis_url u;
    char shown[512];
    *out = NULL;
    int rc = imgpipe_redis_url_parse(url, &u, err);
    if (rc)
        return rc;
    imgpipe_redis_url_redact(url, shown, sizeof(shown));
    redisContext *c = open_context(&u, timeout_ms);
    if (!c)
        rc = imgpipe_errf(err, IMGPIPE_ENOMEM, "cannot connect to Redis at %s", shown);
    else if (c->err)
        rc = imgpipe_errf(err, IMGPIPE_ENET, "cannot connect to Redis at %s: %s", shown, c->errstr);
    else
        rc = handshake(c, &u, shown, err);
    explicit_bzero(&u, sizeof(u)); /* no copy of the password left on the stack */
    if (rc && c)
        redisFree(c);
    if (rc)
        return rc;
    *out = c;
    return IMGPIPE_OK;
}
