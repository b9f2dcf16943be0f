/* Requests per second per host: each request reserves the next free start time of its
 * host, so N requests to one host at rate R start 1/R seconds apart, whatever executor
 * runs them. Thread-safe. */
#ifndef IMGPIPE_HOSTRATE_H
#define IMGPIPE_HOSTRATE_H

typedef struct imgpipe_hostrate imgpipe_hostrate;

/* rate <= 0: no limit until imgpipe_hostrate_slow() sets one. NULL when out of memory. */
imgpipe_hostrate *imgpipe_hostrate_new(double rate);
void imgpipe_hostrate_free(imgpipe_hostrate *h);

/* Reserves a start for a request to url's host: the seconds to wait before it (0: now).
 * h may be NULL (no limit: always 0). */
double imgpipe_hostrate_reserve(imgpipe_hostrate *h, const char *url);

/* Slows url's host to at most `rate` requests per second from now on (a server that says
 * its quota runs low). 1 when that is slower than before, 0 when it was already. */
int imgpipe_hostrate_slow(imgpipe_hostrate *h, const char *url, double rate);

#endif
