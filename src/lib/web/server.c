/* What the dashboard and the metrics endpoint share: the listening address and the
 * headers of every response. */
#include "web/web.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>

/* The host of "HOST[:PORT]" or "[V6][:PORT]" (*h, *len; brackets left out) and its port
 * (*port after the ':', NULL when none). -1 for a '[' without its ']', or text after it. */
static int host_span(const char *s, const char **h, size_t *len, const char **port)
{
    const char *end = s[0] == '[' ? strchr(s, ']') : strrchr(s, ':');
    if (s[0] == '[' && (!end || (end[1] && end[1] != ':')))
        return -1;
    *h = s + (s[0] == '[');
    *len = end ? (size_t)(end - *h) : strlen(s);
    *port = s[0] == '[' ? (end[1] ? end + 2 : NULL) : end ? end + 1 : NULL;
    return 0;
}

/* Splits "HOST:PORT" / "[V6]:PORT" into host and port. */
static int split(const char *listen, char host[256], char port[16], char *err)
{
    const char *h, *p;
    size_t len;
    if (host_span(listen, &h, &len, &p) || !p || len == 0 || len >= 256 || strlen(p) == 0 ||
        strlen(p) > 5 || strspn(p, "0123456789") != strlen(p))
        return imgpipe_errf(err, IMGPIPE_EINVAL,
                            "bad listen address '%s': expected HOST:PORT, e.g. 127.0.0.1:8080",
                            listen);
    snprintf(host, 256, "%.*s", (int)len, h);
    snprintf(port, 16, "%s", p);
    if (atoi(port) > 65535)
        return imgpipe_errf(err, IMGPIPE_EINVAL, "bad port in listen address '%s'", listen);
    return IMGPIPE_OK;
}

static int is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
    return sa->sa_family == AF_INET6 &&
           IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)sa)->sin6_addr);
}

#define IDLE_TIMEOUT_S 30    /* a connection silent this long is closed */
#define MAX_CONNECTIONS 1024 /* at once, each with its thread */
#define MIN_CONNECTIONS 64

/* As many connections as the descriptor limit leaves room for (two each: the socket and a
 * file being served), up to MAX_CONNECTIONS: a few dozen idle connections (a browser's,
 * or a slowloris') must not leave the page without an answer. */
static unsigned connection_limit(void)
{
    struct rlimit rl;
    rlim_t n = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
                   ? (rl.rlim_cur > 64 ? (rl.rlim_cur - 64) / 2 : 0)
                   : MAX_CONNECTIONS;
    return n < MIN_CONNECTIONS   ? MIN_CONNECTIONS
           : n > MAX_CONNECTIONS ? MAX_CONNECTIONS
                                 : (unsigned)n;
}

/* Unescapes a URL's path or argument as MHD does, except that one holding an escaped NUL
 * becomes "\x01", which no route, file or queue is called: cut at the NUL,
 * "/files/a.png%00.txt" would serve a.png, another file than the one asked for. */
static size_t unescape(void *cls, struct MHD_Connection *conn, char *s)
{
    (void)cls, (void)conn;
    size_t n = MHD_http_unescape(s);
    if (strlen(s) == n)
        return n;
    strcpy(s, "\x01"); /* s held "%00": room for 2 bytes */
    return 1;
}

/* Whether a Host header names this machine by a loopback name or by an address: a page a
 * DNS rebinding sent to 127.0.0.1 names the attacker's domain, which resolves anew. */
int imgpipe_web_host_local(const char *host)
{
    char name[256];
    unsigned char addr[sizeof(struct in6_addr)];
    const char *h, *port;
    size_t len;
    if (host_span(host, &h, &len, &port) || len == 0 || len >= sizeof(name))
        return 0;
    snprintf(name, sizeof(name), "%.*s", (int)len, h);
    if (host[0] == '[')
        return inet_pton(AF_INET6, name, addr) == 1;
    if (inet_pton(AF_INET, name, addr) == 1)
        return 1;
    if (name[len - 1] == '.') /* the absolute form of a name: "localhost." */
        name[--len] = '\0';
    return strcasecmp(name, "localhost") == 0 ||
           (len > 10 && strcasecmp(name + len - 10, ".localhost") == 0); /* RFC 6761 */
}

static enum MHD_Result count_host(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *value)
{
    const char **host = cls;
    (void)kind;
    if (strcasecmp(key, MHD_HTTP_HEADER_HOST) == 0)
        *host = *host ? "" : value; /* a second one: "", which no check passes */
    return MHD_YES;
}

unsigned imgpipe_web_host_status(struct MHD_Connection *conn, const char *version)
{
    const char *host = NULL;
    MHD_get_connection_values(conn, MHD_HEADER_KIND, count_host, &host);
    if (!host) /* HTTP/1.0 may leave it out (no browser does); HTTP/1.1 must send one */
        return strcmp(version, MHD_HTTP_VERSION_1_0) == 0 ? 0 : 400;
    if (!host[0])
        return 400;
    return imgpipe_web_host_local(host) ? 0 : 403;
}

int imgpipe_web_start(struct MHD_Daemon **out, const char *listen, int remote_ok,
                      MHD_AccessHandlerCallback handler, void *cls, char url[300], int *loopback,
                      char *err)
{
    char host[256], port[16];
    *out = NULL;
    if (split(listen, host, port, err))
        return IMGPIPE_EINVAL;
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICSERV},
                    *ai = NULL;
    int gai = getaddrinfo(host, port, &hints, &ai);
    if (gai)
        return imgpipe_errf(err, IMGPIPE_EINVAL, "cannot resolve listen address '%s': %s", listen,
                            gai_strerror(gai));
    *loopback = is_loopback(ai->ai_addr);
    if (!*loopback && !remote_ok) {
        freeaddrinfo(ai);
        return imgpipe_errf(err, IMGPIPE_EINVAL,
                            "listening on %s, not a loopback address, needs basic auth credentials",
                            listen);
    }
    /* poll, not select: descriptors past FD_SETSIZE work */
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL_INTERNAL_THREAD |
                     (ai->ai_family == AF_INET6 ? MHD_USE_IPv6 : 0);
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, 0, NULL, NULL, handler, cls, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
        MHD_OPTION_CONNECTION_LIMIT, connection_limit(), MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)IDLE_TIMEOUT_S, MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL, MHD_OPTION_END);
    int v6 = ai->ai_family == AF_INET6;
    freeaddrinfo(ai);
    if (!d)
        return imgpipe_errf(err, IMGPIPE_ENET, "cannot listen on %s (address in use, or not ours)",
                            listen);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    snprintf(url, 300, "http://%s%s%s:%u/", v6 ? "[" : "", host, v6 ? "]" : "",
             info ? (unsigned)info->port : (unsigned)atoi(port));
    *out = d;
    return IMGPIPE_OK;
}

void imgpipe_web_secure(struct MHD_Response *r, const char *csp)
{
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, "Content-Security-Policy", csp ? csp : IMGPIPE_WEB_CSP);
}

/* imgpipe_web_respond's, with an Allow header when allow is not NULL. */
static enum MHD_Result respond(struct MHD_Connection *conn, unsigned status, const char *type,
                               void *data, size_t len, enum MHD_ResponseMemoryMode mem,
                               const char *allow)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, data, mem);
    if (!r) {
        if (mem == MHD_RESPMEM_MUST_FREE)
            free(data);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (allow)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
    imgpipe_web_secure(r, NULL);
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

enum MHD_Result imgpipe_web_respond(struct MHD_Connection *conn, unsigned status, const char *type,
                                    void *data, size_t len, enum MHD_ResponseMemoryMode mem)
{
    return respond(conn, status, type, data, len, mem, NULL);
}

static enum MHD_Result json_answer(struct MHD_Connection *conn, unsigned status, json_t *doc,
                                   const char *allow)
{
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (!text)
        return MHD_NO;
    return respond(conn, status, "application/json; charset=utf-8", text, strlen(text),
                   MHD_RESPMEM_MUST_FREE, allow);
}

enum MHD_Result imgpipe_web_json(struct MHD_Connection *conn, unsigned status, json_t *doc)
{
    return json_answer(conn, status, doc, NULL);
}

enum MHD_Result imgpipe_web_error(struct MHD_Connection *conn, unsigned status, const char *msg)
{
    return json_answer(conn, status, json_pack("{s:s}", "error", msg), NULL);
}

enum MHD_Result imgpipe_web_not_allowed(struct MHD_Connection *conn, const char *allow)
{
    /* RFC 9110: a 405 says which methods are */
    return json_answer(conn, 405, json_pack("{s:s}", "error", "method not allowed"), allow);
}
