#include "run/limiter.h"

/* A doubling that brings less than this many times the answers per second did not hide
 * latency: what limits is elsewhere. A latency-bound run gains close to 2x. */
#define GAIN 1.3
#define MIN_WINDOW 8 /* answers before a window's rate is read */

void imgpipe_limiter_init(imgpipe_limiter *l, int start, int max)
{
    *l = (imgpipe_limiter){.limit = start < max ? start : max, .max = max};
}

static int window(const imgpipe_limiter *l)
{
    /* Half as many answers as may be in flight: enough to read a rate from, few enough
     * that a list of a few hundred links still sees the limit climb. */
    return l->limit / 2 > MIN_WINDOW ? l->limit / 2 : MIN_WINDOW;
}

int imgpipe_limiter_sample(imgpipe_limiter *l, double started, double now)
{
    if (l->settled || started < l->since)
        return l->limit;
    if (l->n++ == 0)
        l->first = now;
    if (l->n < window(l))
        return l->limit;
    double rate = now > l->first ? (l->n - 1) / (now - l->first) : 1e12;
    l->n = 0;
    if (l->last_rate > 0 && rate < l->last_rate * GAIN) {
        l->limit /= 2; /* the last doubling did not pay: back to the level before */
        l->settled = 1;
        return l->limit;
    }
    l->last_rate = rate;
    if (l->limit >= l->max) {
        l->settled = 1;
        return l->limit;
    }
    l->limit = l->limit * 2 < l->max ? l->limit * 2 : l->max;
    l->since = now;
    return l->limit;
}
