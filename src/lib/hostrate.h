/* Requests per second per host: each request reserves the next free start time of its
 * host, so N requests to one host at rate R start 1/R seconds apart, whatever executor
 * runs them. Thread-safe. */
#ifndef IMGPIPE_HOSTRATE_H
#define IMGPIPE_HOSTRATE_H

typedef struct imgpipe_hostrate imgpipe_hostrate;

/* NULL when rate <= 0 (no limit) or out of memory. */
imgpipe_hostrate *imgpipe_hostrate_new(double rate);
void imgpipe_hostrate_free(imgpipe_hostrate *h);

/* Reserves a start for a request to url's host: the seconds to wait before it (0: now).
 * h may be NULL (no limit: always 0). */
double imgpipe_hostrate_reserve(imgpipe_hostrate *h, const char *url);

#endif
