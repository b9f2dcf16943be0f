/* The async executor: one libcurl multi event loop keeps up to N transfers in flight
 * (keep-alive, HTTP/2 multiplexing when offered), as asyncio/aiohttp does; each finished
 * body goes to a pool of one thread per core for the CPU work (check, store, thumbnails),
 * so downloads and thumbnails overlap. Outcomes are reported on the loop's thread.
 *
 * A slot holds one task from its start until it is reported; N slots may be transferring
 * and up to N more waiting for or in the CPU pool, so a transfer that ends starts the next
 * one at once instead of waiting for its CPU work (measured: 0.55 s -> 0.4x s for 160
 * images at 100 ms latency). Without thumbnails a body goes to a file in DIR as it arrives,
 * written and hashed by the pool (run/stream.h) and checked there: memory is N libcurl
 * receive buffers, N blocks and the queue's QUEUED_MAX. With thumbnails, up to 2N bodies
 * are in memory. */
#include "net/hostrate.h"
#include "common/stop.h"
#include "run/run.h"
#include "run/stream.h"
#include "common/workpool.h"
#include "run/limiter.h"

#include <stdlib.h>
#include <string.h>

/* In flight by default. A body written to its file as it arrives holds no memory, so the
 * count adapts (run/limiter.c): 16, doubled to 32 and 64 while a doubling pays; 256 as
 * soon as the first requests show latency (8 of them with no answer after 10 ms); else, in
 * a run long enough to pay for a probe (256 answers), 128 and 256 while a doubling pays.
 * Measured (bench/RESULTS.md, 2026-12-03) on 2-core machines, 160 images, interleaved:
 * with no added latency -j 16 beat -j 64 by 7-10% (plain HTTP, HTTPS/1.1; 2000 images:
 * within 3%), and starting at 16 instead of 64 got all of it. At 100 ms -j 160 beat 64 by
 * 22-45%: a start at 16 jumps on the silence 10 ms after the first requests, and ends
 * 1-3% behind a start at 64, whose first 64 requests go out sooner. At 5-20 ms, below or
 * near the threshold, within 5% of the best -j. 2000 jobs at 100 ms were 2.5x faster at
 * 256 (bench/worker_jobs.sh). A body kept in memory (thumbnails, a bucket) costs 2N bodies:
 * there a fixed 16, the fastest or within a few percent of it in the sweeps of 2026-12-02,
 * when every body was in memory. */
#define ADAPTIVE_START 16
#define ADAPTIVE_SOFT 64
#define ADAPTIVE_MAX 256
#define DEFAULT_IN_FLIGHT_IN_MEMORY 16
#define POLL_MS 200
#define QUEUED_MAX 64  /* blocks waiting for the pool: 8 MB, milliseconds of its work */
#define PAGE_POLL_MS 5 /* waiting for a page fetched ahead: it lands within a round trip */
/* While the first answers may make the limit jump: a fifth of its 10 ms. */
#define SILENCE_POLL_MS 2

struct async;

struct slot {
    imgpipe_work work; /* first: the pool hands it back */
    struct async *a;
    imgpipe_task task;
    imgpipe_transfer tr;
    imgpipe_stream stream; /* where the body goes when spooling */
    int spooling;          /* no thumbnails: the body goes to a file as it arrives */
    imgpipe_outcome out;
    CURL *easy;
    int in_multi;
    int in_transfer;             /* counted in a->transferring */
    double retry_at;             /* waiting for its next attempt until then; 0: not waiting */
    double sent_at;              /* when this attempt's request went out; 0: not yet */
    unsigned long lines_at_send; /* the transfer's header lines then: none since, no answer */
    int rate_ok;                 /* this attempt's start is reserved with --rate */
    uint64_t rng;
    struct slot *next; /* on the free list, or the done list */
};

struct async {
    imgpipe_run *r;
    CURLM *multi;
    CURLSH *share; /* TLS sessions and DNS answers, for every slot's handle */
    imgpipe_workpool *pool;
    imgpipe_stream_hub *hub; /* the streams' blocks */
    struct slot *slots;
    int nslots;
    struct slot *free;
    int busy;         /* slots taken: in transfer, in the pool, or done */
    int transferring; /* slots in a transfer or waiting to retry one */
    int max_transfers;
    int cap;      /* the most max_transfers may become: slots are 2 x cap */
    int adaptive; /* no -j given and bodies streamed: lim sets max_transfers */
    imgpipe_limiter lim;
    pthread_mutex_t done_lock; /* guards done */
    struct slot *done;         /* finished by the pool, to report */
    double flush_at;           /* when streams' partly filled blocks are next looked at */
    int eof;
    int again; /* the last top_up found no task yet */
    int freed; /* slots freed since the last top_up: ask for tasks before waiting */
};

/* On a pool thread, the slot's last act there: the loop reports it. */
static void post_done(struct slot *s)
{
    imgpipe_transfer_cleanup(&s->tr); /* the body is the bulk of a slot's memory */
    pthread_mutex_lock(&s->a->done_lock);
    s->next = s->a->done;
    s->a->done = s;
    pthread_mutex_unlock(&s->a->done_lock);
    curl_multi_wakeup(s->a->multi);
}

static void cpu_work(imgpipe_work *w)
{
    struct slot *s = (struct slot *)w;
    imgpipe_run_complete(s->a->r, &s->task, &s->tr.body, &s->out);
    post_done(s);
}

/* Every block of a spooled body is written: it is checked and put in place. */
static void landed(imgpipe_stream *st, void *arg)
{
    struct slot *s = arg;
    imgpipe_run_land(s->a->r, &s->task, &st->spool, &s->out);
    post_done(s);
}

static void end_transfer(struct async *a, struct slot *s)
{
    if (s->in_transfer) {
        s->in_transfer = 0;
        a->transferring--;
    }
}

static void finish_slot(struct async *a, struct slot *s)
{
    end_transfer(a, s);
    imgpipe_run_report(a->r, &s->task, &s->out);
    imgpipe_transfer_cleanup(&s->tr);
    imgpipe_stream_discard(&s->stream); /* what a failed or cancelled transfer received */
    s->next = a->free;
    a->free = s;
    a->busy--;
    a->freed = 1;
}

/* libcurl is about to send the request, on a connection set up or reused: the wait for an
 * answer starts now (run/limiter.h reads the silence that follows). Per request: a
 * redirect's next one, or the same one again on a fresh connection after a kept-alive one
 * turned out closed, whose first try libcurl's own timings count as answered. */
static int request_sent(void *p, char *ip, char *local_ip, int port, int local_port)
{
    (void)ip;
    (void)local_ip;
    (void)port;
    (void)local_port;
    struct slot *s = p;
    s->sent_at = imgpipe_now();
    s->lines_at_send = s->tr.header_lines;
    return CURL_PREREQFUNC_OK;
}

/* Starts (or restarts, for a retry) the slot's transfer. */
static void launch(struct async *a, struct slot *s)
{
    imgpipe_transfer_cleanup(&s->tr);
    s->retry_at = 0;
    if (!s->rate_ok) {
        s->rate_ok = 1;
        double wait = imgpipe_run_reserve(a->r, s->task.url);
        if (wait > 0) {
            s->retry_at = imgpipe_now() + wait; /* waits like a retry, then comes back */
            return;
        }
    }
    s->rate_ok = 0; /* the next attempt reserves its own start */
    imgpipe_fetch_opts fo = imgpipe_run_fetch_opts(a->r);
    s->out.status = imgpipe_transfer_init(&s->tr, s->easy, s->task.url, &fo, s->out.error);
    if (s->out.status == IMGPIPE_OK && s->spooling)
        imgpipe_stream_begin(&s->stream, imgpipe_run_dirfd(a->r, &s->task), &s->tr);
    curl_easy_setopt(s->easy, CURLOPT_PRIVATE, s);
    s->sent_at = 0;
    if (a->adaptive) {
        curl_easy_setopt(s->easy, CURLOPT_PREREQFUNCTION, request_sent);
        curl_easy_setopt(s->easy, CURLOPT_PREREQDATA, s);
    }
    if (s->out.status == IMGPIPE_OK && curl_multi_add_handle(a->multi, s->easy) != CURLM_OK)
        s->out.status = imgpipe_errf(s->out.error, IMGPIPE_ENOMEM, "cannot add a transfer");
    s->in_multi = s->out.status == IMGPIPE_OK;
    if (s->out.status)
        finish_slot(a, s);
}

static void start(struct async *a, struct slot *s)
{
    memset(&s->out, 0, sizeof(s->out));
    memset(&s->tr, 0, sizeof(s->tr));
    s->rate_ok = 0;
    s->spooling = imgpipe_run_spools(a->r, &s->task);
    s->in_transfer = 1;
    a->transferring++;
    s->out.started = imgpipe_now();
    s->rng = imgpipe_hash64(s->task.url, strlen(s->task.url)) ^ (uint64_t)(s->out.started * 1e9);
    launch(a, s);
}

/* The limit on transfers, told to the run too (a worker sizes its reads by it). */
static void set_in_flight(struct async *a, int n)
{
    a->max_transfers = n;
    a->r->in_flight = n;
}

/* A worker with nothing in hand and nothing to take: what it takes next may be for other
 * hosts, at another latency, so the count starts again. */
static void idle(struct async *a)
{
    if (!a->adaptive || !a->r->supply)
        return;
    imgpipe_limiter_reset(&a->lim);
    set_in_flight(a, a->lim.limit);
}

/* Starts tasks while slots are free; 0, a source read error, or no memory for a handle.
 * Past the deadline, tasks are still taken from the sources, to be reported as not
 * started. */
static int top_up(struct async *a, char *err)
{
    a->again = 0;
    a->freed = 0;
    while (!a->eof && a->free && a->transferring < a->max_transfers) {
        struct slot *s = a->free;
        if (!s->easy && !(s->easy = curl_easy_init()))
            return imgpipe_errf(err, IMGPIPE_ENOMEM, "cannot create a libcurl handle");
        int rc = imgpipe_run_next(a->r, &s->task, err);
        if (rc < 0)
            return rc;
        if (rc == IMGPIPE_RUN_AGAIN && imgpipe_run_remaining_ms(a->r) == 0) {
            a->eof = 1; /* past the deadline, a link not yet written is not waited for */
            break;
        }
        if (rc == IMGPIPE_RUN_AGAIN) {
            a->again = 1; /* a supply, a page or a line with none yet: the loop asks again */
            if (a->busy == 0)
                idle(a);
            break;
        }
        if (rc == 0) {
            a->eof = 1;
            break;
        }
        a->free = s->next;
        a->busy++;
        if (imgpipe_run_remaining_ms(a->r) == 0) {
            imgpipe_run_timed_out(&s->out, 0);
            finish_slot(a, s);
        } else {
            start(a, s);
        }
    }
    return IMGPIPE_OK;
}

/* Seconds from the request sent to the first byte of the answer: the server's and the
 * path's latency, without the connection's set-up or a wait for one; -1 with no byte. */
static double first_byte_wait(CURL *easy)
{
    curl_off_t sent = 0, first = 0;
    if (curl_easy_getinfo(easy, CURLINFO_PRETRANSFER_TIME_T, &sent) != CURLE_OK ||
        curl_easy_getinfo(easy, CURLINFO_STARTTRANSFER_TIME_T, &first) != CURLE_OK || first == 0)
        return -1;
    return first > sent ? (double)(first - sent) / 1e6 : 0;
}

/* Tells the limiter how many requests were sent IMGPIPE_LIMITER_LATENCY or more ago with no
 * byte of an answer yet (up to the IMGPIPE_LIMITER_FIRST it needs). Returns how soon to look
 * again in ms: 0 when the limit just rose; SILENCE_POLL_MS while a younger request may
 * still come of age, or the loop was too busy to tell; -1 when nothing can change before
 * the next answer. */
static int read_silence(struct async *a)
{
    double now = imgpipe_now();
    int silent = 0, younger = 0;
    for (int i = 0; i < a->nslots && silent < IMGPIPE_LIMITER_FIRST; i++) {
        struct slot *s = &a->slots[i];
        if (!s->in_multi || s->sent_at == 0 || s->tr.header_lines != s->lines_at_send)
            continue;
        if (now - s->sent_at >= IMGPIPE_LIMITER_LATENCY)
            silent++;
        else
            younger = 1;
    }
    int was = a->max_transfers;
    set_in_flight(a, imgpipe_limiter_silent(&a->lim, silent, now));
    if (a->max_transfers > was)
        return 0;
    return younger || silent >= IMGPIPE_LIMITER_FIRST ? SILENCE_POLL_MS : -1;
}

/* A finished transfer: its body goes to the pool, a failure is reported at once. */
static void transfer_done(struct async *a, CURL *easy, CURLcode code)
{
    struct slot *s;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&s);
    curl_multi_remove_handle(a->multi, easy);
    s->in_multi = 0;
    s->out.status = imgpipe_transfer_finish(&s->tr, code, s->out.error);
    imgpipe_run_note_transfer(&s->out, &s->tr);
    if (s->out.status && s->spooling) {
        imgpipe_stream_stop(&s->stream); /* the pool is done with it: its error can be read */
        int why = imgpipe_stream_error(&s->stream, s->task.name, s->out.error);
        if (why) { /* the disk's error, not the network's: another attempt would not help */
            s->out.status = why;
            s->out.transient = 0;
            s->out.retry_after_ms = 0;
        }
    }
    if (s->out.status == IMGPIPE_ETIMEOUT && imgpipe_run_remaining_ms(a->r) == 0)
        imgpipe_run_timed_out(&s->out, 1);
    if (s->out.status) {
        if (a->adaptive)
            imgpipe_limiter_failed(&a->lim, first_byte_wait(easy));
        long delay = imgpipe_run_retry_delay(a->r, &s->out, &s->rng);
        if (delay >= 0)
            s->retry_at = imgpipe_now() + (double)delay / 1000.0; /* the slot waits */
        else
            finish_slot(a, s);
        return;
    }
    if (a->adaptive)
        set_in_flight(a, imgpipe_limiter_sample(&a->lim, s->out.started, imgpipe_now(),
                                                (double)s->tr.received, first_byte_wait(easy)));
    end_transfer(a, s);
    if (s->spooling) {
        imgpipe_stream_end(&s->stream, landed, s);
        return;
    }
    s->work.fn = cpu_work;
    imgpipe_workpool_submit(a->pool, &s->work);
}

static void drain_transfers(struct async *a)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(a->multi, &left)))
        if (m->msg == CURLMSG_DONE)
            transfer_done(a, m->easy_handle, m->data.result);
}

static void drain_done(struct async *a)
{
    pthread_mutex_lock(&a->done_lock);
    struct slot *s = a->done;
    a->done = NULL;
    pthread_mutex_unlock(&a->done_lock);
    while (s) {
        struct slot *next = s->next;
        finish_slot(a, s);
        s = next;
    }
}

/* Past the deadline, or on a stop: every transfer in flight or waiting to be retried
 * ends and is reported. */
static void cancel_transfers(struct async *a, int timed_out)
{
    for (int i = 0; i < a->nslots; i++) {
        struct slot *s = &a->slots[i];
        if (!s->in_multi && s->retry_at == 0)
            continue;
        int flying = s->in_multi; /* a transfer cut in flight was an attempt */
        if (s->in_multi)
            curl_multi_remove_handle(a->multi, s->easy);
        s->in_multi = 0;
        s->retry_at = 0;
        if (timed_out) {
            s->out.attempts += flying;
            imgpipe_run_timed_out(&s->out, 1);
        } else {
            s->out.status = imgpipe_errf(s->out.error, IMGPIPE_ECANCELED, "interrupted");
            s->out.transient = 0;
        }
        finish_slot(a, s);
    }
}

/* Every IMGPIPE_STREAM_FLUSH_S while transfers are under way: what a paused body has
 * received goes to its file (run/stream.h). Returns the ms until the next look, or -1. */
static long flush_streams(struct async *a)
{
    if (a->transferring == 0)
        return -1;
    double now = imgpipe_now();
    if (now >= a->flush_at) {
        for (int i = 0; i < a->nslots; i++)
            if (a->slots[i].in_multi && a->slots[i].spooling)
                imgpipe_stream_flush(&a->slots[i].stream, now);
        a->flush_at = now + IMGPIPE_STREAM_FLUSH_S;
    }
    return (long)((a->flush_at - now) * 1000.0) + 1;
}

/* Restarts the slots whose retry is due; returns the ms until the next one, or -1. */
static long retry_due(struct async *a)
{
    double now = imgpipe_now(), next = 0;
    for (int i = 0; i < a->nslots; i++) {
        struct slot *s = &a->slots[i];
        if (s->retry_at == 0)
            continue;
        if (s->retry_at <= now)
            launch(a, s);
        else if (next == 0 || s->retry_at < next)
            next = s->retry_at;
    }
    return next == 0 ? -1 : (long)((next - now) * 1000.0) + 1;
}

/* Waits for a socket, the pool or the clock; with requests out (running: libcurl's
 * handles in progress), the time it took is time the loop had nothing to do, which tells
 * the limiter whether waits for first bytes were the server's. Waiting for a page of the
 * API, a read from Redis, a retry's or --rate's turn is not. */
static void poll_idle(struct async *a, int wait_ms, int running)
{
    double t0 = imgpipe_now();
    curl_multi_poll(a->multi, NULL, 0, wait_ms, NULL);
    if (a->adaptive && running > 0)
        imgpipe_limiter_idle(&a->lim, imgpipe_now() - t0);
}

static int loop(struct async *a, char *err)
{
    int rc = IMGPIPE_OK, running = 0;
    for (;;) {
        if (rc == IMGPIPE_OK)
            rc = top_up(a, err);
        if (a->busy == 0 && (a->eof || rc || imgpipe_run_stopping(a->r)))
            return rc;
        curl_multi_perform(a->multi, &running);
        drain_transfers(a);
        drain_done(a);
        long left = imgpipe_run_remaining_ms(a->r);
        int stop = imgpipe_stop_set(a->r->opts->stop);
        if (left == 0 || stop)
            cancel_transfers(a, !stop);
        long retry = retry_due(a), flush = flush_streams(a);
        int wait = left < 0 || left > POLL_MS ? POLL_MS : (int)left + 1;
        if (retry >= 0 && retry < wait)
            wait = (int)retry;
        if (flush >= 0 && flush < wait)
            wait = (int)flush;
        if (a->again && !a->r->supply && wait > PAGE_POLL_MS)
            wait = PAGE_POLL_MS;
        if (a->again && a->r->supply_again_ms > 0 && wait > a->r->supply_again_ms)
            wait = (int)a->r->supply_again_ms;
        if (a->adaptive && imgpipe_limiter_deciding(&a->lim)) {
            int look = read_silence(a);
            if (look >= 0 && look < wait)
                wait = look;
        }
        if (a->freed && !a->eof && rc == IMGPIPE_OK) /* the last reports made room */
            wait = 0;
        if (a->busy || !a->eof) /* idle with no task yet: wait before asking again */
            poll_idle(a, wait, running);
    }
}

/* Transfers to one host multiplex over HTTP/2 where the server offers it; each connection
 * carries as many streams as the server advertises (nginx: 128), up to what we keep in
 * flight, and a host gets another connection only when those are taken. Over HTTP/1.1
 * (no ALPN h2, or plain http) each transfer needs a keep-alive connection of its own,
 * so only --per-host caps them per host. */
static void set_multiplexing(struct async *a, int per_host)
{
    curl_multi_setopt(a->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
    curl_multi_setopt(a->multi, CURLMOPT_MAX_CONCURRENT_STREAMS,
                      (long)(a->cap > 100 ? a->cap : 100));
    curl_multi_setopt(a->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)a->cap);
    if (per_host > 0)
        curl_multi_setopt(a->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)per_host);
}

/* Handles in one multi share its connections, but each keeps its own TLS session cache:
 * a connection opened later (HTTP/1.1, or a second HTTP/2 one) resumes the session another
 * handle made instead of a full handshake. Only the loop's thread uses the handles, so
 * the share needs no locks. */
static CURLSH *share_new(void)
{
    CURLSH *sh = curl_share_init();
    if (sh) {
        curl_share_setopt(sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
        curl_share_setopt(sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    }
    return sh;
}

/* The most the adaptive count may reach: 256, or less where the descriptors (3 per
 * transfer) are too few for it, rather than no spooling at all. */
static int adaptive_cap(void)
{
    int cap = ADAPTIVE_MAX;
    while (cap > ADAPTIVE_SOFT && !imgpipe_run_fds_fit(3L * cap))
        cap /= 2;
    return cap;
}

/* The most transfers in flight, and whether their number adapts. A socket per transfer and
 * a temporary file per slot (transferring, or waiting for the pool): 3N descriptors at
 * most; too few of them, and bodies stay in memory. */
static void choose_limits(struct async *a, imgpipe_run *r)
{
    int jobs = r->opts->jobs;
    a->cap = jobs > 0 ? jobs : adaptive_cap();
    imgpipe_run_plan_fds(r, 3L * a->cap);
    int spooled = imgpipe_run_spools(r, NULL);
    a->adaptive = jobs <= 0 && spooled;
    if (jobs <= 0 && !spooled)
        a->cap = DEFAULT_IN_FLIGHT_IN_MEMORY;
    imgpipe_limiter_init(&a->lim, ADAPTIVE_START, ADAPTIVE_SOFT, a->cap);
    set_in_flight(a, a->adaptive ? a->lim.limit : a->cap);
    a->nslots = 2 * a->cap;
}

static int setup(struct async *a, imgpipe_run *r, char *err)
{
    a->r = r;
    r->polls = 1;
    choose_limits(a, r);
    pthread_mutex_init(&a->done_lock, NULL);
    a->multi = curl_multi_init();
    a->slots = calloc((size_t)a->nslots, sizeof(*a->slots));
    a->pool = imgpipe_workpool_new(0);
    a->hub = a->pool ? imgpipe_stream_hub_new(a->pool, QUEUED_MAX) : NULL;
    for (int i = 0; a->slots && i < a->nslots; i++) /* no file: teardown may free any slot's */
        imgpipe_stream_init(&a->slots[i].stream, a->hub);
    if (!a->multi || !a->slots || !a->pool || !a->hub)
        return imgpipe_errf(err, IMGPIPE_ENOMEM, "cannot set up the async executor");
    set_multiplexing(a, r->opts->per_host);
    if (!(a->share = share_new()))
        return imgpipe_errf(err, IMGPIPE_ENOMEM, "cannot set up the async executor");
    r->fetch.share = a->share;
    r->fetch.pipewait = 1;
    for (int i = a->nslots - 1; i >= 0; i--) { /* handles are made as slots are first used */
        struct slot *s = &a->slots[i];
        s->a = a;
        s->next = a->free;
        a->free = s;
    }
    return IMGPIPE_OK;
}

static void teardown(struct async *a)
{
    imgpipe_workpool_free(a->pool);
    for (int i = 0; a->slots && i < a->nslots; i++) {
        if (a->slots[i].in_multi)
            curl_multi_remove_handle(a->multi, a->slots[i].easy);
        curl_easy_cleanup(a->slots[i].easy);
        imgpipe_stream_free(&a->slots[i].stream);
    }
    free(a->slots);
    imgpipe_stream_hub_free(a->hub);
    curl_multi_cleanup(a->multi);
    if (a->share) {
        a->r->fetch.share = NULL;
        curl_share_cleanup(a->share);
    }
    pthread_mutex_destroy(&a->done_lock);
}

int imgpipe_exec_async(imgpipe_run *r, char *err)
{
    struct async a = {0};
    int rc = setup(&a, r, err);
    if (rc == IMGPIPE_OK)
        rc = loop(&a, err);
    teardown(&a);
    return rc;
}
