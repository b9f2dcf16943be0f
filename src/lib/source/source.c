/* Sources: a spec (imgur:..., a URL, a URL list file, '-') turned into a stream of links.
 * An Imgur answer is a page of at most a few hundred items, so it is parsed whole. A paged
 * listing fetches its next page on a thread of its own as soon as a page arrives, so the
 * next page's round trip overlaps the downloads of this one instead of stalling them;
 * one page ahead at most, so a run that stops early costs one API request more. URL lists
 * are read a line at a time, so a list of any length streams. */
#include "source/source.h"

#include "common/clock.h"
#include "common/stop.h"
#include "net/fetch.h"
#include "source/imgur.h"
#include "source/urllist.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define IMGUR_PREFIX "imgur:"
#define API_ATTEMPT_MS 60000 /* an API answer that trickles in is not waited for longer */

enum source_kind { SOURCE_LINKS, SOURCE_LINES };

/* One page's answer, whichever thread fetched it. */
struct page {
    int number;
    int rc;
    char err[IMGPIPE_ERRLEN];
    imgpipe_strvec links;
    imgpipe_source_counts counts;
};

/* What an imgur: source needs to fetch its pages after open: copies, since the caller's
 * opts need not outlive the open. The prefetch thread only reads these, and writes only
 * `ahead` until it is joined. */
struct imgur_pager {
    char *spec; /* without "imgur:"; NULL for other sources */
    char *base; /* the API base URL, no trailing '/' */
    char *auth; /* the "Authorization: Client-ID ..." header line */
    char *cacert;
    long connect_timeout_ms, timeout_ms, read_timeout_ms, retry_wait_ms;
    const volatile sig_atomic_t *stop;
    int insecure, retries;
    int next;  /* the page to fetch next, counted from the spec's own page */
    int pages; /* how many pages to fetch in all */
    int ended; /* an empty page or a failure was seen: no more requests */
    pthread_t thread;
    int prefetching;       /* a thread fetches page `next` into `ahead`; not joined yet */
    int ahead_ready;       /* joined: `ahead` holds page `next` */
    atomic_int prefetched; /* that thread is done */
    struct page ahead;
};

struct imgpipe_source {
    enum source_kind kind;
    imgpipe_strvec links; /* SOURCE_LINKS: the links at hand, handed out in order */
    size_t pos;
    struct imgur_pager imgur;
    FILE *fp; /* SOURCE_LINES */
    int owns_fp;
    int waits; /* fp is a pipe or a terminal: a line may be a writer's time away */
    const volatile sig_atomic_t *stop; /* the run's: a line without an end is left */
    double deadline;                   /* then, or at this imgpipe_now() (0: none) */
    char *line;
    size_t line_cap;
    char *name; /* the spec, for error messages */
    imgpipe_source_counts counts;
};

static int page_url(const struct imgur_pager *p, int page, char *url, size_t cap, char *err)
{
    char path[512];
    int rc = imgpipe_imgur_page_path(p->spec, page, path, sizeof(path), err);
    if (rc)
        return rc;
    if ((size_t)snprintf(url, cap, "%s%s", p->base, path) >= cap)
        return imgpipe_errf(err, IMGPIPE_EINVAL, "Imgur API URL too long: %s", p->base);
    return IMGPIPE_OK;
}

/* An API failure is reported with the API's own words when the body has them, and with
 * the wait the API asked for (why's "(... retry after N s ...)"), so the user knows when
 * to try again: a Retry-After longer than imgpipe waits ends the request at once. */
static int imgur_http_error(const char *url, long status, const imgpipe_buf *body, const char *why,
                            const char *tries, char *err)
{
    const char *wait = strstr(why, "retry after") ? strchr(why, '(') : NULL;
    char more[IMGPIPE_ERRLEN / 2] = "";
    if (wait)
        snprintf(more, sizeof(more), " %s", wait);
    else if (status == 401 || status == 403) /* what to do, not only what Imgur said */
        snprintf(more, sizeof(more),
                 " (the API refused the Client-ID: check it, or register "
                 "an application at https://api.imgur.com/oauth2/addclient)");
    char api_err[IMGPIPE_ERRLEN] = "";
    imgpipe_strvec ignored = {0};
    imgpipe_source_counts c = {0};
    if (body->len && imgpipe_imgur_parse((const char *)body->data, body->len, &ignored, &c,
                                         api_err) == IMGPIPE_OK)
        api_err[0] = '\0';
    imgpipe_strvec_free(&ignored);
    if (api_err[0])
        return imgpipe_errf(err, IMGPIPE_EHTTP, "%s: HTTP %ld: %s%s%s", url, status, api_err, more,
                            tries);
    return imgpipe_errf(err, IMGPIPE_EHTTP, "%s: HTTP %ld with no error text%s%s", url, status,
                        more, tries);
}

static uint64_t items_seen(const imgpipe_source_counts *c)
{
    return c->links + c->skipped_type + c->skipped_album;
}

/* Fetches and parses page pg->number into pg; touches nothing else, so it may run on the
 * prefetch thread. */
static void fetch_into(const struct imgur_pager *p, struct page *pg)
{
    char url[1024], why[IMGPIPE_ERRLEN];
    pg->rc = page_url(p, pg->number, url, sizeof(url), pg->err);
    if (pg->rc)
        return;
    imgpipe_fetch_opts fo = {.connect_timeout_ms = p->connect_timeout_ms,
                             .timeout_ms = p->timeout_ms,
                             .attempt_timeout_ms = API_ATTEMPT_MS,
                             .read_timeout_ms = p->read_timeout_ms,
                             .max_bytes = 64u << 20,
                             .auth_header = p->auth,
                             .insecure = p->insecure,
                             .cacert = p->cacert,
                             .retries = p->retries,
                             .retry_wait_ms = p->retry_wait_ms,
                             .stop = p->stop};
    imgpipe_buf body = {0};
    long status = 0;
    int attempts = 0;
    int rc = imgpipe_fetch(url, &fo, &body, &status, &attempts, why);
    char tries[48] = "";
    if (attempts > 1)
        snprintf(tries, sizeof(tries), " (after %d attempts)", attempts);
    if (rc == IMGPIPE_EHTTP)
        rc = imgur_http_error(url, status, &body, why, tries, pg->err);
    else if (rc)
        imgpipe_errf(pg->err, rc, "Imgur API request %s failed: %s%s", url, why, tries);
    else if ((rc = imgpipe_imgur_parse((const char *)body.data, body.len, &pg->links, &pg->counts,
                                       why)))
        imgpipe_errf(pg->err, rc, "%s: %s", url, why);
    imgpipe_buf_free(&body);
    pg->rc = rc;
}

static int more_pages(const struct imgur_pager *p)
{
    return p->spec && !p->ended && p->next < p->pages;
}

static void *prefetch_main(void *arg)
{
    struct imgur_pager *p = arg;
    fetch_into(p, &p->ahead);
    atomic_store(&p->prefetched, 1);
    return NULL;
}

/* Starts fetching the next page; when no thread can be had, it is fetched when needed. */
static void start_prefetch(struct imgur_pager *p)
{
    p->ahead = (struct page){.number = p->next};
    atomic_store(&p->prefetched, 0);
    p->prefetching = pthread_create(&p->thread, NULL, prefetch_main, p) == 0;
}

static void join_prefetch(struct imgur_pager *p)
{
    if (p->prefetching) {
        pthread_join(p->thread, NULL);
        p->ahead_ready = 1;
    }
    p->prefetching = 0;
}

/* Makes pg the links at hand and moves on to the next page, then starts fetching that.
 * A page that adds to no count had no items (see imgpipe_imgur_parse): Imgur's end of a
 * listing, so nothing more is asked for. */
static int install_page(imgpipe_source *s, struct page *pg, char *err)
{
    struct imgur_pager *p = &s->imgur;
    p->next++;
    if (pg->rc || items_seen(&pg->counts) == 0)
        p->ended = 1;
    if (pg->rc) {
        imgpipe_strvec_free(&pg->links);
        return imgpipe_errf(err, pg->rc, "%s", pg->err);
    }
    imgpipe_strvec_free(&s->links);
    s->links = pg->links;
    pg->links = (imgpipe_strvec){0};
    s->pos = 0;
    s->counts.links += pg->counts.links;
    s->counts.skipped_type += pg->counts.skipped_type;
    s->counts.skipped_album += pg->counts.skipped_album;
    if (more_pages(p))
        start_prefetch(p);
    return IMGPIPE_OK;
}

/* The next page, from the prefetch thread if one is at it, else fetched here. */
static int next_page(imgpipe_source *s, char *err)
{
    struct imgur_pager *p = &s->imgur;
    join_prefetch(p);
    if (p->ahead_ready) {
        p->ahead_ready = 0;
        return install_page(s, &p->ahead, err);
    }
    struct page pg = {.number = p->next};
    fetch_into(p, &pg);
    return install_page(s, &pg, err);
}

static int copy_api_config(struct imgur_pager *p, const char *spec, const imgpipe_source_opts *opts)
{
    const char *base = opts->api_url && *opts->api_url ? opts->api_url : "https://api.imgur.com";
    size_t blen = strlen(base);
    while (blen > 0 && base[blen - 1] == '/')
        blen--;
    size_t alen = strlen("Authorization: Client-ID ") + strlen(opts->client_id) + 1;
    p->spec = strdup(spec + strlen(IMGUR_PREFIX));
    p->base = strndup(base, blen);
    p->auth = malloc(alen);
    p->cacert = opts->cacert ? strdup(opts->cacert) : NULL;
    if (!p->spec || !p->base || !p->auth || (opts->cacert && !p->cacert))
        return IMGPIPE_ENOMEM;
    snprintf(p->auth, alen, "Authorization: Client-ID %s", opts->client_id);
    p->connect_timeout_ms = opts->connect_timeout_ms;
    p->timeout_ms = opts->timeout_ms;
    p->read_timeout_ms = opts->read_timeout_ms;
    p->stop = opts->stop;
    p->insecure = opts->insecure;
    p->retries = opts->retries;
    p->retry_wait_ms = opts->retry_wait_ms;
    /* Only listings have pages; random and album answer once. */
    p->pages = imgpipe_imgur_is_paged(p->spec) && opts->pages > 1 ? opts->pages : 1;
    return IMGPIPE_OK;
}

/* The first page is fetched here, so API failures surface before anything is downloaded. */
static int open_imgur(imgpipe_source *s, const char *spec, const imgpipe_source_opts *opts,
                      char *err)
{
    if (!opts->client_id || !*opts->client_id)
        return imgpipe_errf(err, IMGPIPE_ECONFIG, "source '%s' needs an Imgur Client-ID", spec);
    /* The Client-ID goes into a header line as is: a line break in it would add headers
     * of its own to every API request. It is a secret, so the message does not show it. */
    for (const unsigned char *c = (const unsigned char *)opts->client_id; *c; c++)
        if (*c < 0x20 || *c == 0x7f)
            return imgpipe_errf(err, IMGPIPE_ECONFIG,
                                "source '%s': the Imgur Client-ID holds a control character "
                                "(a line break?); give the Client-ID alone",
                                spec);
    if (opts->pages < 0)
        return imgpipe_errf(err, IMGPIPE_EINVAL, "source '%s': negative page count %d", spec,
                            opts->pages);
    int rc = copy_api_config(&s->imgur, spec, opts);
    if (rc)
        return rc;
    return next_page(s, err);
}

static int open_lines(imgpipe_source *s, const char *spec, char *err)
{
    s->kind = SOURCE_LINES;
    if (strcmp(spec, "-") == 0) {
        s->fp = stdin;
    } else if (!(s->fp = fopen(spec, "r"))) {
        return imgpipe_errf(err, IMGPIPE_EIO, "cannot open URL list '%s': %s", spec,
                            strerror(errno));
    } else {
        s->owns_fp = 1;
    }
    struct stat st;
    s->waits = fstat(fileno(s->fp), &st) == 0 && !S_ISREG(st.st_mode);
    return IMGPIPE_OK;
}

/* Whether reading the next line would wait for its writer: nothing in stdio's buffer and
 * nothing ready on the pipe. Only where the buffer can be looked into (glibc); elsewhere
 * the read waits, as it always did. */
static int lines_would_block(const imgpipe_source *s)
{
#ifdef __GLIBC__
    if (!s->waits || s->fp->_IO_read_ptr < s->fp->_IO_read_end)
        return 0;
    struct pollfd p = {.fd = fileno(s->fp), .events = POLLIN};
    return poll(&p, 1, 0) == 0;
#else
    (void)s;
    return 0;
#endif
}

static int open_spec(imgpipe_source *s, const char *spec, const imgpipe_source_opts *opts,
                     char *err)
{
    if (strncmp(spec, IMGUR_PREFIX, strlen(IMGUR_PREFIX)) == 0)
        return open_imgur(s, spec, opts, err);
    if (imgpipe_url_is_http(spec)) {
        s->counts.links = 1;
        return imgpipe_strvec_push(&s->links, spec);
    }
    return open_lines(s, spec, err);
}

int imgpipe_source_check(const char *spec, char *err)
{
    char path[512];
    if (strncmp(spec, IMGUR_PREFIX, strlen(IMGUR_PREFIX)) != 0)
        return IMGPIPE_OK;
    return imgpipe_imgur_path(spec + strlen(IMGUR_PREFIX), path, sizeof(path), err);
}

int imgpipe_source_open(imgpipe_source **out, const char *spec, const imgpipe_source_opts *opts,
                        char *err)
{
    *out = NULL;
    imgpipe_source *s = calloc(1, sizeof(*s));
    if (!s || !(s->name = strdup(spec))) {
        free(s);
        return imgpipe_errf(err, IMGPIPE_ENOMEM, "out of memory");
    }
    int rc = open_spec(s, spec, opts, err);
    if (rc) {
        if (rc == IMGPIPE_ENOMEM)
            imgpipe_errf(err, rc, "out of memory");
        imgpipe_source_free(s);
        return rc;
    }
    *out = s;
    return IMGPIPE_OK;
}

/* The most of a list line kept, from its first byte that is not a blank: a link longer
 * than IMGPIPE_URL_MAX fails as too long, and the rest of its line is read and dropped,
 * so that a line without an end (a binary file given as a list, /dev/zero) costs no more
 * memory than this. The slack keeps a link of the longest length whole with its CR. */
#define LINE_KEEP_MAX (IMGPIPE_URL_MAX + 16)

#define LINE_LOOK_EVERY (1u << 20) /* bytes of one line read between two looks at a stop */

/* A stop or the deadline came while one line was being read: the list ends there. */
static int line_interrupted(const imgpipe_source *s)
{
    return imgpipe_stop_set(s->stop) || (s->deadline > 0 && imgpipe_now() >= s->deadline);
}

/* Reads one line into s->line, as kept above. A NUL byte becomes a space, so that such a
 * line fails as the malformed link it is rather than as the other link before its NUL.
 * 1 with a line, 0 at the end of the list (or a stop amid a line without an end,
 * /dev/zero), IMGPIPE_ETIMEOUT at the deadline amid such a line (the list was not read
 * to its end: the run says so), else IMGPIPE_EIO or IMGPIPE_ENOMEM. */
static int read_line(imgpipe_source *s, char *err)
{
    size_t n = 0, total = 0;
    int c, any = 0;
    if (!s->line && !(s->line = malloc(s->line_cap = LINE_KEEP_MAX + 1)))
        return imgpipe_errf(err, IMGPIPE_ENOMEM, "out of memory while reading '%s'", s->name);
    errno = 0;
    while ((c = getc_unlocked(s->fp)) != EOF) {
        any = 1;
        if (c == '\n')
            break;
        if (++total % LINE_LOOK_EVERY == 0 && line_interrupted(s))
            return imgpipe_stop_set(s->stop) ? 0 : IMGPIPE_ETIMEOUT;
        if (n < LINE_KEEP_MAX && (n > 0 || (c != ' ' && c != '\t')))
            s->line[n++] = c == '\0' ? ' ' : (char)c;
    }
    s->line[n] = '\0';
    if (c == EOF && ferror(s->fp))
        return imgpipe_errf(err, IMGPIPE_EIO, "cannot read URL list '%s': %s", s->name,
                            strerror(errno ? errno : EIO));
    return any;
}

static int next_line(imgpipe_source *s, const char **url, char *err)
{
    for (;;) {
        int rc = read_line(s, err);
        if (rc <= 0)
            return rc;
        char *u = imgpipe_urllist_line(s->line);
        if (u) {
            s->counts.links++;
            *url = u;
            return 1;
        }
        s->counts.skipped_lines++;
    }
}

int imgpipe_source_next(imgpipe_source *s, const char **url, char *err)
{
    if (s->kind == SOURCE_LINES)
        return next_line(s, url, err);
    /* A loop: a page of gifs only has items but no links, and the next may have some. */
    while (s->pos >= s->links.n) {
        if (!more_pages(&s->imgur))
            return 0;
        imgpipe_strvec_free(&s->links);
        s->pos = 0;
        int rc = next_page(s, err);
        if (rc)
            return rc;
    }
    *url = s->links.v[s->pos++];
    return 1;
}

void imgpipe_source_settle(imgpipe_source *s)
{
    join_prefetch(&s->imgur);
}

const char *imgpipe_source_name(const imgpipe_source *s)
{
    return s->name;
}

void imgpipe_source_interrupt_on(imgpipe_source *s, const volatile sig_atomic_t *stop,
                                 double deadline)
{
    s->stop = stop;
    s->deadline = deadline;
}

int imgpipe_source_would_block(const imgpipe_source *s)
{
    if (s->kind == SOURCE_LINES)
        return lines_would_block(s);
    const struct imgur_pager *p = &s->imgur;
    return s->kind == SOURCE_LINKS && s->pos >= s->links.n && more_pages(p) && p->prefetching &&
           !atomic_load(&p->prefetched);
}

const imgpipe_source_counts *imgpipe_source_counts_get(const imgpipe_source *s)
{
    return &s->counts;
}

void imgpipe_source_free(imgpipe_source *s)
{
    if (!s)
        return;
    join_prefetch(&s->imgur);
    imgpipe_strvec_free(&s->imgur.ahead.links);
    if (s->owns_fp)
        fclose(s->fp);
    free(s->line);
    free(s->name);
    free(s->imgur.spec);
    free(s->imgur.base);
    free(s->imgur.auth);
    free(s->imgur.cacert);
    imgpipe_strvec_free(&s->links);
    free(s);
}
