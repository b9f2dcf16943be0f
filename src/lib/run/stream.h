/* A body on its way from the transfer loop to its file through the CPU pool. The loop
 * copies each piece libcurl hands it into a block; a pool thread writes the full blocks
 * to the stream's spool (run/spool.h: the file and the digest) in order, while the
 * transfer goes on. The loop's thread then only receives: writing and hashing on it held
 * every other transfer up behind it (bench/RESULTS.md, 2026-12-03), and no byte is read
 * back. The blocks waiting for the pool are bounded for the whole run: past the bound the
 * loop waits, and so stops taking bytes off the sockets, until a block is written. */
#ifndef IMGPIPE_STREAM_H
#define IMGPIPE_STREAM_H

#include "common/workpool.h"
#include "run/spool.h"

/* The blocks and the lock the streams of one loop share. */
typedef struct imgpipe_stream_hub imgpipe_stream_hub;

typedef struct imgpipe_stream imgpipe_stream;

/* Runs on a pool thread once every block of a body is written; the stream is idle. */
typedef void (*imgpipe_stream_end_fn)(imgpipe_stream *st, void *arg);

struct imgpipe_stream {
    imgpipe_work work; /* the stream's own turn in the pool */
    imgpipe_stream_hub *hub;
    imgpipe_spool spool;        /* the pool's while a turn is due, else the loop's */
    struct imgpipe_block *fill; /* the loop's: the block being filled */
    double fill_at;             /* when its first byte came */
    /* Under the hub's lock: */
    struct imgpipe_block *head, *tail; /* full, for the pool, in order */
    int running;                       /* a turn is queued or running */
    int ending;                        /* the last block is queued: end runs after it */
    int cancel;                        /* stopping: what is queued is dropped, not written */
    int failed;                        /* the spool refused a write: the transfer is ended */
    int nomem;                         /* no block could be had for a piece (the loop's) */
    imgpipe_stream_end_fn end;
    void *end_arg;
};

/* How old (s) the first byte of a block not yet full may be before the block goes to the
 * file anyway. */
#define IMGPIPE_STREAM_FLUSH_S 0.1

/* The shared part, over pool; at most max_queued blocks wait for it. NULL: no memory. */
imgpipe_stream_hub *imgpipe_stream_hub_new(imgpipe_workpool *pool, int max_queued);

/* After every stream is idle (the pool drained) and freed. */
void imgpipe_stream_hub_free(imgpipe_stream_hub *h);

void imgpipe_stream_init(imgpipe_stream *st, imgpipe_stream_hub *hub);

/* On an idle stream, before each attempt: the spool starts again in dirfd and t's 2xx body
 * comes to the stream. */
void imgpipe_stream_begin(imgpipe_stream *st, int dirfd, imgpipe_transfer *t);

/* On the loop's thread, every IMGPIPE_STREAM_FLUSH_S or so while the transfer is under
 * way (now: imgpipe_now()): a partly filled block that old goes to the file, so bytes
 * followed by a pause are on disk, not held for the next piece. */
void imgpipe_stream_flush(imgpipe_stream *st, double now);

/* After the transfer's last byte: the partly filled block is queued, and end(st, arg) runs
 * on a pool thread after the last block is written (or failed to be: spool.write_errno
 * says so). Until it runs, the stream is the pool's. */
void imgpipe_stream_end(imgpipe_stream *st, imgpipe_stream_end_fn end, void *arg);

/* After a transfer that failed, or on a cancel: waits for the stream's turn in the pool
 * to end, dropping what it has not written; the stream is then idle. Never between
 * imgpipe_stream_end and its callback: the stream is the pool's then. */
void imgpipe_stream_stop(imgpipe_stream *st);

/* On an idle stream: why the body could not be taken (the disk's error, or no memory for
 * a block), with a sentence naming name; 0 when it could. */
int imgpipe_stream_error(const imgpipe_stream *st, const char *name, char *err);

/* Stops the stream and removes its temporary file, if any. */
void imgpipe_stream_discard(imgpipe_stream *st);

void imgpipe_stream_free(imgpipe_stream *st);

#endif
