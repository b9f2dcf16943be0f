/* galleryd: a small Imgur-shaped HTTP server, the test and benchmark peer of imgpipe.
 * This file: options, start-up, the port file, and a clean stop on SIGINT/SIGTERM. */
#include "galleryd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct options {
    long port;
    const char *host, *port_file, *dir, *client_id;
    long count, latency_ms, page_size, fail_page;
    int log;
};

static void usage(FILE *f)
{
    fputs("usage: galleryd --port P [--host ADDR] [--port-file FILE] [--dir DIR] [--count N]\n"
          "                [--latency-ms N] [--client-id ID] [--page-size K] [--fail-page P]\n"
          "                [--log] [--help]\n"
          "\n"
          "An Imgur-shaped HTTP server for testing and benchmarking imgpipe.\n"
          "  --port P         port to listen on; 0 picks a free one\n"
          "  --host ADDR      IPv4 or IPv6 address to bind (default 127.0.0.1)\n"
          "  --port-file FILE write the bound port there (atomically, via FILE.tmp)\n"
          "  --dir DIR        serve the images in DIR/i/ (or DIR); DIR/gallery.json, if\n"
          "                   present, is the gallery response, {{base}} -> http://HOST:PORT\n"
          "  --count N        without --dir: generate N sample images (default 24, max 10000)\n"
          "  --latency-ms N   delay every response by N ms\n"
          "  --client-id ID   the only Client-ID accepted (default: any non-empty one)\n"
          "  --page-size K    gallery pages of K items: page P is items P*K..P*K+K-1, pages\n"
          "                   past the end are empty (default 0: all on page 0)\n"
          "  --fail-page P    gallery page P (of every gallery route) answers 500 with\n"
          "                   Imgur's error JSON\n"
          "  --log            print every request's method and path on stderr\n"
          "\n"
          "Routes (GET/HEAD):\n"
          "  /i/NAME                       an image, from memory; 404 if unknown\n"
          "  /stats/peak, /stats/reset     the most requests answered at once; zero it\n"
          "  /stats/first                  the most at once before the first answer left\n"
          "  /x/ANYTHING                   always a 40x30 PNG, whatever follows /x/ (for tests\n"
          "                                of hostile link names: .., %2F, very long names)\n"
          "  /3/gallery[/SECTION[/SORT[/WINDOW[/PAGE]]]]  items (no PAGE: page 0); without\n"
          "                                --page-size PAGE >= 1 is empty\n"
          "  /3/gallery/r/SUB[/SORT[/WINDOW[/PAGE]]]  the same items, any SUB\n"
          "  /3/gallery/t/TAG[/SORT[/WINDOW[/PAGE]]]  the same items as a tag:\n"
          "                                {\"data\":{\"name\":TAG,\"items\":[...]},...}\n"
          "                                (DIR/gallery.json, if any, is page 0 of all three)\n"
          "  /3/album/sample[/images]      the album: the last two images\n"
          "  /broken/3/...  200, malformed JSON      /fail/3/...  500, Imgur error\n"
          "  /shape/3/...   200, unexpected shape    /nosuccess/3/...  200, success false\n"
          "All /3/ routes need 'Authorization: Client-ID <id>' (403 otherwise).\n"
          "\n"
          "Faults: /f/FAULT/KEY/NAME, NAME an image (else the first JPEG), KEY any token: the\n"
          "request count is per full path. K and S are numbers.\n"
          "  500xK 502xK 503xK 504xK 408xK  the first K requests get that status, then the image\n"
          "  429xK  429xKrS  429xKdS  the first K get 429, Retry-After S s (default 1) or, with\n"
          "                         d, an HTTP date S s ahead; then the image\n"
          "  resetxK   the first K get the full Content-Length, half the body, a close\n"
          "  short     Content-Length is the size + 1000, then the image and a close\n"
          "  big       Content-Length 200 MiB, then the image and a close\n"
          "  drip      the image at 1 byte per second\n"
          "  stall     headers, then nothing for 60 s\n"
          "  ctype     the image as Content-Type: text/html\n"
          "  quota<n>  the image with X-RateLimit-ClientRemaining: n (Imgur's quota headers)\n"
          "  html      200 text/html, a 'Not found' page\n"
          "  loop      302 to itself\n"
          "  removed   302 to /removed.png, a 161x81 PNG like Imgur's placeholder\n"
          "  redirect  302 to /i/NAME\n"
          "  bomb      200 image/png whose header declares 30000x30000 RGBA\n"
          "  hugeretry 429 with Retry-After: 10000000000000000\n"
          "  bighead   the image with a 110 KB header line\n"
          "  (a counted fault)/KEY/3/...  then the API's answer to /3/... (API retries)\n"
          "  other     404 'unknown fault'\n",
          f);
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int bad_option(const char *what, const char *value)
{
    fprintf(stderr, "galleryd: bad %s: %s\n", what, value);
    usage(stderr);
    return 2;
}

/* Returns -1 to go on, or the exit status (0 after --help, 2 for bad options). */
static int parse_options(int argc, char **argv, struct options *o)
{
    static const struct option longopts[] = {{"port", required_argument, NULL, 'p'},
                                             {"host", required_argument, NULL, 'H'},
                                             {"port-file", required_argument, NULL, 'f'},
                                             {"dir", required_argument, NULL, 'd'},
                                             {"count", required_argument, NULL, 'n'},
                                             {"latency-ms", required_argument, NULL, 'l'},
                                             {"client-id", required_argument, NULL, 'c'},
                                             {"page-size", required_argument, NULL, 'k'},
                                             {"fail-page", required_argument, NULL, 'F'},
                                             {"log", no_argument, NULL, 'L'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    *o = (struct options){.port = -1, .host = "127.0.0.1", .count = -1, .fail_page = -1};
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'p':
            if (parse_long(optarg, 0, 65535, &o->port))
                return bad_option("--port", optarg);
            break;
        case 'H':
            o->host = optarg;
            break;
        case 'f':
            o->port_file = optarg;
            break;
        case 'd':
            o->dir = optarg;
            break;
        case 'n':
            if (parse_long(optarg, 0, 10000, &o->count))
                return bad_option("--count", optarg);
            break;
        case 'l':
            if (parse_long(optarg, 0, 600000, &o->latency_ms))
                return bad_option("--latency-ms", optarg);
            break;
        case 'c':
            if (!*optarg)
                return bad_option("--client-id", "(empty)");
            o->client_id = optarg;
            break;
        case 'k':
            if (parse_long(optarg, 0, 10000, &o->page_size))
                return bad_option("--page-size", optarg);
            break;
        case 'F':
            if (parse_long(optarg, 0, 100000000, &o->fail_page))
                return bad_option("--fail-page", optarg);
            break;
        case 'L':
            o->log = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc)
        return bad_option("argument", argv[optind]);
    if (o->port < 0)
        return bad_option("options", "--port is required");
    if (o->dir && o->count >= 0)
        return bad_option("options", "--count is for the sample only");
    if (o->count < 0)
        o->count = 24;
    return -1;
}

union addr {
    struct sockaddr sa;
    struct sockaddr_in v4;
    struct sockaddr_in6 v6;
};

/* Links must name an address a client can reach, so wildcard binds become loopback. */
static void set_base(struct gd_server *s, const char *host, int v6, unsigned port)
{
    if (!v6)
        snprintf(s->base, sizeof s->base, "http://%s:%u",
                 strcmp(host, "0.0.0.0") == 0 ? "127.0.0.1" : host, port);
    else
        snprintf(s->base, sizeof s->base, "http://[%s]:%u", strcmp(host, "::") == 0 ? "::1" : host,
                 port);
}

static int make_addr(const char *host, unsigned port, union addr *a, int *v6)
{
    memset(a, 0, sizeof *a);
    *v6 = 0;
    if (inet_pton(AF_INET, host, &a->v4.sin_addr) == 1) {
        a->v4.sin_family = AF_INET;
        a->v4.sin_port = htons((unsigned short)port);
        return 0;
    }
    if (strlen(host) < INET6_ADDRSTRLEN && inet_pton(AF_INET6, host, &a->v6.sin6_addr) == 1) {
        a->v6.sin6_family = AF_INET6;
        a->v6.sin6_port = htons((unsigned short)port);
        *v6 = 1;
        return 0;
    }
    return -1;
}

/* Written to FILE.tmp and renamed, so a reader polling for FILE never sees half of it. */
static int write_port_file(const char *file, unsigned port)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", file) >= (int)sizeof tmp)
        return -1;
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    int bad = fprintf(f, "%u\n", port) < 0;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, file) != 0) {
        remove(tmp);
        return -1;
    }
    return 0;
}

/* The listening socket is made here, not by MHD, so that the port (and with it the base
 * URL every handler reads) is known before MHD starts a thread: written after, it would
 * be a data race as ThreadSanitizer sees it. -1 (printed) on failure. */
static int listen_on(const union addr *a, int v6, unsigned *port)
{
    socklen_t len = v6 ? sizeof a->v6 : sizeof a->v4;
    union addr bound;
    int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, &a->sa, len) != 0 || listen(fd, 1024) != 0 ||
        getsockname(fd, &bound.sa, &len) != 0) {
        close(fd);
        return -1;
    }
    *port = ntohs(v6 ? bound.v6.sin6_port : bound.v4.sin_port);
    return fd;
}

static struct MHD_Daemon *start(struct gd_server *s, const struct options *o, unsigned *port)
{
    union addr a;
    int v6;
    if (make_addr(o->host, (unsigned)o->port, &a, &v6) != 0) {
        fprintf(stderr, "galleryd: --host is not an IP address: %s\n", o->host);
        return NULL;
    }
    int fd = listen_on(&a, v6, port);
    if (fd < 0) {
        fprintf(stderr, "galleryd: cannot listen on %s port %ld: %s\n", o->host, o->port,
                strerror(errno));
        return NULL;
    }
    set_base(s, o->host, v6, *port);
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_ERROR_LOG | (v6 ? MHD_USE_IPv6 : 0);
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, 0, NULL, NULL, gd_handle, s, MHD_OPTION_LISTEN_SOCKET, fd,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)1024, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
        /* room for the bighead fault's 110 KB header (the pool is only touched as used) */
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(256 * 1024), MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "galleryd: cannot listen on %s port %ld\n", o->host, o->port);
        close(fd);
    }
    return d;
}

/* Runs until SIGINT or SIGTERM. The signals are blocked before MHD starts its threads,
 * which inherit the mask, so only sigwait() here ever sees them. */
static int serve(struct gd_server *s, const struct options *o)
{
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);
    unsigned port;
    struct MHD_Daemon *d = start(s, o, &port);
    if (!d)
        return 1;
    if (o->port_file && write_port_file(o->port_file, port) != 0) {
        fprintf(stderr, "galleryd: cannot write %s: %s\n", o->port_file, strerror(errno));
        gd_faults_stop(s->faults);
        MHD_stop_daemon(d);
        return 1;
    }
    fprintf(stderr, "galleryd: serving %zu images on %s (api: %s/3/gallery/random/random/)\n",
            s->gallery.count, s->base, s->base);
    int sig;
    while (sigwait(&stop, &sig) != 0) {
    }
    gd_faults_stop(s->faults); /* stalled and dripping readers would hold up the join */
    MHD_stop_daemon(d);
    return 0;
}

static int load(struct gd_server *s, const struct options *o)
{
    if (gd_fixed_png(&s->x_png, &s->x_png_size) != 0)
        return -1;
    if (!(s->faults = gd_faults_new()))
        return -1;
    if (!(s->load = calloc(1, sizeof(*s->load))))
        return -1;
    if (o->dir)
        return gd_gallery_load_dir(&s->gallery, o->dir);
    return gd_gallery_generate(&s->gallery, (size_t)o->count);
}

int main(int argc, char **argv)
{
    struct options o;
    int rc = parse_options(argc, argv, &o);
    if (rc >= 0)
        return rc;
    struct gd_server s = {.dir = o.dir,
                          .client_id = o.client_id,
                          .latency_ms = (unsigned)o.latency_ms,
                          .page_size = (size_t)o.page_size,
                          .fail_page = o.fail_page,
                          .log = o.log};
    rc = load(&s, &o) == 0 ? serve(&s, &o) : 1;
    gd_gallery_free(&s.gallery);
    free(s.x_png);
    gd_faults_free(s.faults);
    free(s.load);
    return rc;
}
