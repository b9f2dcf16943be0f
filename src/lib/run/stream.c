#include "run/stream.h"
#include "common/clock.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Each transfer that is receiving fills one, so memory is this times the transfers in
 * flight plus the queue's bound: half libcurl's receive buffer (net/fetch.c) keeps that
 * within what the buffers themselves take, and the writes still few. */
#define BLOCK_SIZE (128u * 1024)

struct imgpipe_block {
    struct imgpipe_block *next;
    size_t len;
    unsigned char data[BLOCK_SIZE];
};

struct imgpipe_stream_hub {
    pthread_mutex_t lock;
    pthread_cond_t changed; /* a block was written or a stream's turn ended */
    imgpipe_workpool *pool;
    struct imgpipe_block *free; /* kept for reuse (a fresh block faults its pages in): as
                                   many as were ever in use at once */
    int queued, max_queued;
};

imgpipe_stream_hub *imgpipe_stream_hub_new(imgpipe_workpool *pool, int max_queued)
{
    imgpipe_stream_hub *h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    pthread_mutex_init(&h->lock, NULL);
    pthread_cond_init(&h->changed, NULL);
    h->pool = pool;
    h->max_queued = max_queued > 0 ? max_queued : 1;
    return h;
}

void imgpipe_stream_hub_free(imgpipe_stream_hub *h)
{
    if (!h)
        return;
    while (h->free) {
        struct imgpipe_block *b = h->free;
        h->free = b->next;
        free(b);
    }
    pthread_cond_destroy(&h->changed);
    pthread_mutex_destroy(&h->lock);
    free(h);
}

/* Under the lock. */
static void put_block(imgpipe_stream_hub *h, struct imgpipe_block *b)
{
    b->next = h->free;
    h->free = b;
}

static struct imgpipe_block *get_block(imgpipe_stream_hub *h)
{
    pthread_mutex_lock(&h->lock);
    struct imgpipe_block *b = h->free;
    if (b)
        h->free = b->next;
    pthread_mutex_unlock(&h->lock);
    if (!b && !(b = malloc(sizeof(*b))))
        return NULL;
    b->next = NULL;
    b->len = 0;
    return b;
}

/* Under the lock: b goes after the stream's queued blocks, and the stream gets a turn in
 * the pool unless it has one. */
static int enqueue(imgpipe_stream *st, struct imgpipe_block *b)
{
    b->next = NULL;
    if (st->tail)
        st->tail->next = b;
    else
        st->head = b;
    st->tail = b;
    st->hub->queued++;
    int submit = !st->running;
    st->running = 1;
    return submit;
}

/* A stream's turn: its blocks are written in order, outside the lock. */
static void drain(imgpipe_work *w)
{
    imgpipe_stream *st = (imgpipe_stream *)w;
    imgpipe_stream_hub *h = st->hub;
    pthread_mutex_lock(&h->lock);
    struct imgpipe_block *b;
    while ((b = st->head)) {
        if (!(st->head = b->next))
            st->tail = NULL;
        int write = !st->cancel && !st->failed;
        pthread_mutex_unlock(&h->lock);
        int bad = write && imgpipe_spool_take(&st->spool, b->data, b->len) != 0;
        pthread_mutex_lock(&h->lock);
        st->failed |= bad;
        h->queued--;
        put_block(h, b);
        pthread_cond_broadcast(&h->changed);
    }
    int end = st->ending && !st->cancel;
    imgpipe_stream_end_fn fn = st->end;
    void *arg = st->end_arg;
    st->ending = 0;
    st->running = 0;
    pthread_cond_broadcast(&h->changed);
    pthread_mutex_unlock(&h->lock);
    if (end) /* last: the stream is end's from here */
        fn(st, arg);
}

/* Queues the block being filled, waiting while the pool has max_queued blocks to write
 * (or, unless wait, leaving it to fill on when the queue is full): -1 when the spool has
 * refused a write (the transfer ends). */
static int queue_fill(imgpipe_stream *st, int wait)
{
    imgpipe_stream_hub *h = st->hub;
    pthread_mutex_lock(&h->lock);
    while (wait && h->queued >= h->max_queued && !st->failed)
        pthread_cond_wait(&h->changed, &h->lock);
    int failed = st->failed, submit = 0;
    if (!failed && h->queued < h->max_queued) {
        submit = enqueue(st, st->fill);
        st->fill = NULL;
    }
    pthread_mutex_unlock(&h->lock);
    if (submit)
        imgpipe_workpool_submit(h->pool, &st->work);
    return failed ? -1 : 0;
}

/* A partly filled block whose first byte is IMGPIPE_STREAM_FLUSH_S old goes to the file
 * (on the next piece, or imgpipe_stream_flush), unless the queue is full: a slow body is
 * on disk as it comes, not held until a block fills. */
static int flush_old(imgpipe_stream *st, double now)
{
    if (!st->fill || !st->fill->len || now - st->fill_at < IMGPIPE_STREAM_FLUSH_S)
        return 0;
    return queue_fill(st, 0);
}

/* libcurl's piece of the body, on the loop's thread. */
static int put(void *arg, const void *data, size_t len)
{
    imgpipe_stream *st = arg;
    const unsigned char *p = data;
    while (len > 0) {
        if (!st->fill) {
            if (!(st->fill = get_block(st->hub))) {
                st->nomem = 1;
                return -1;
            }
            st->fill_at = imgpipe_now();
        }
        size_t n = BLOCK_SIZE - st->fill->len;
        n = n < len ? n : len;
        memcpy(st->fill->data + st->fill->len, p, n);
        st->fill->len += n;
        p += n;
        len -= n;
        if (st->fill->len == BLOCK_SIZE && queue_fill(st, 1) != 0)
            return -1;
    }
    return flush_old(st, imgpipe_now());
}

void imgpipe_stream_flush(imgpipe_stream *st, double now)
{
    flush_old(st, now); /* a refused write shows on the next piece, or at the end */
}

void imgpipe_stream_init(imgpipe_stream *st, imgpipe_stream_hub *hub)
{
    memset(st, 0, sizeof(*st));
    st->hub = hub;
    st->work.fn = drain;
    imgpipe_spool_init(&st->spool);
}

void imgpipe_stream_begin(imgpipe_stream *st, int dirfd, imgpipe_transfer *t)
{
    imgpipe_spool_reset(&st->spool, dirfd);
    pthread_mutex_lock(&st->hub->lock);
    st->failed = 0;
    pthread_mutex_unlock(&st->hub->lock);
    st->nomem = 0;
    imgpipe_transfer_sink(t, put, st);
}

void imgpipe_stream_end(imgpipe_stream *st, imgpipe_stream_end_fn end, void *arg)
{
    imgpipe_stream_hub *h = st->hub;
    pthread_mutex_lock(&h->lock);
    /* The last block waits for room as any other, so the queue's bound holds; after a
     * refused write it is dropped (end reads the spool's error). */
    while (st->fill && st->fill->len && h->queued >= h->max_queued && !st->failed)
        pthread_cond_wait(&h->changed, &h->lock);
    int queued = st->fill && st->fill->len && !st->failed;
    int submit = queued ? enqueue(st, st->fill) : 0;
    if (st->fill && !queued)
        put_block(h, st->fill);
    st->fill = NULL;
    st->ending = 1;
    st->end = end;
    st->end_arg = arg;
    submit |= !st->running;
    st->running = 1;
    pthread_mutex_unlock(&h->lock);
    if (submit)
        imgpipe_workpool_submit(h->pool, &st->work);
}

void imgpipe_stream_stop(imgpipe_stream *st)
{
    imgpipe_stream_hub *h = st->hub;
    if (!h)
        return;
    pthread_mutex_lock(&h->lock);
    st->cancel = 1;
    while (st->running)
        pthread_cond_wait(&h->changed, &h->lock);
    st->cancel = 0;
    st->ending = 0;
    if (st->fill)
        put_block(h, st->fill);
    st->fill = NULL;
    pthread_mutex_unlock(&h->lock);
}

int imgpipe_stream_error(const imgpipe_stream *st, const char *name, char *err)
{
    if (st->nomem)
        return imgpipe_errf(err, IMGPIPE_ENOMEM, "out of memory receiving '%s'", name);
    return imgpipe_spool_error(&st->spool, name, err);
}

void imgpipe_stream_discard(imgpipe_stream *st)
{
    imgpipe_stream_stop(st);
    imgpipe_spool_discard(&st->spool);
}

void imgpipe_stream_free(imgpipe_stream *st)
{
    imgpipe_stream_discard(st);
    imgpipe_spool_free(&st->spool);
}
