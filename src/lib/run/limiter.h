/* How many transfers the async executor keeps in flight when the user did not say (-j):
 * the fewest that keep the server busy. It starts at a level that suits a fast server and
 * doubles while a doubling nearly doubles the answers per second (latency to hide: the
 * server answers each after a wait, however many ask); once one does not, it goes back to
 * the level before and stays (the CPU, the link or the server is the limit, and more in
 * flight only costs). Once per run: a host's latency does not change within one. */
#ifndef IMGPIPE_LIMITER_H
#define IMGPIPE_LIMITER_H

typedef struct imgpipe_limiter {
    int limit;        /* transfers allowed in flight now */
    int max;          /* never above */
    int settled;      /* 1 once the limit stays */
    double since;     /* when the limit last changed */
    double first;     /* this window's first answer */
    int n;            /* answers in this window */
    double last_rate; /* answers per second at the level before, 0: none yet */
} imgpipe_limiter;

void imgpipe_limiter_init(imgpipe_limiter *l, int start, int max);

/* One answer, now, to a transfer started at started (imgpipe_now's clock). Answers to
 * transfers started before the last change had other company and are not counted.
 * Returns the limit from now on. */
int imgpipe_limiter_sample(imgpipe_limiter *l, double started, double now);

#endif
