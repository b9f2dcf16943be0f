/* A small pool of threads for CPU work (checks, stores, thumbnails) handed off by an
 * event loop. Callers bound how much they submit; the queue itself is a linked list. */
#ifndef IMGPIPE_WORKPOOL_H
#define IMGPIPE_WORKPOOL_H

typedef struct imgpipe_workpool imgpipe_workpool;

typedef struct imgpipe_work {
    void (*fn)(struct imgpipe_work *w); /* runs on a pool thread */
    struct imgpipe_work *next;          /* the pool's; embed the struct in your own */
} imgpipe_work;

/* nthreads <= 0: one per online core. NULL when no thread could be started. */
imgpipe_workpool *imgpipe_workpool_new(int nthreads);

/* Queues w; never blocks. */
void imgpipe_workpool_submit(imgpipe_workpool *p, imgpipe_work *w);

/* Runs what is queued to the end, then stops the threads and frees the pool. */
void imgpipe_workpool_free(imgpipe_workpool *p);

/* Online cores, at least 1. */
int imgpipe_ncpus(void);

#endif
