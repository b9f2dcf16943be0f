#include "run/limiter.h"

/* A doubling that brings less than this many times the answers per second did not hide
 * latency: what limits is elsewhere. A latency-bound run gains close to 2x. */
#define GAIN 1.3
#define MIN_WINDOW 8 /* answers before a window's rate is read */

void imgpipe_limiter_init(imgpipe_limiter *l, int start, int soft, int max)
{
    if (soft > max)
        soft = max;
    *l = (imgpipe_limiter){.limit = start < soft ? start : soft, .soft = soft, .max = max};
    l->start = l->limit;
}

void imgpipe_limiter_reset(imgpipe_limiter *l)
{
    imgpipe_limiter_init(l, l->start, l->soft, l->max);
}

static int window(const imgpipe_limiter *l)
{
    /* Half as many answers as may be in flight: enough to read a rate from, few enough
     * that a list of a few hundred links still sees the limit climb. */
    return l->limit / 2 > MIN_WINDOW ? l->limit / 2 : MIN_WINDOW;
}

static int long_run(const imgpipe_limiter *l)
{
    return l->answers >= (long)IMGPIPE_LIMITER_LONG_RUN * l->soft;
}

static void set_limit(imgpipe_limiter *l, int limit, double now)
{
    l->limit = limit;
    l->since = now;
    l->n = 0;
}

static void double_limit(imgpipe_limiter *l, double now)
{
    set_limit(l, l->limit * 2 < l->max ? l->limit * 2 : l->max, now);
}

void imgpipe_limiter_idle(imgpipe_limiter *l, double seconds)
{
    if (l->ended < IMGPIPE_LIMITER_FIRST)
        l->idle += seconds;
}

/* One of the first transfers to end, answered or failed with a status: its wait for a first
 * byte. Returns whether it was among the first. */
static int note_first(imgpipe_limiter *l, double wait)
{
    if (l->ended >= IMGPIPE_LIMITER_FIRST)
        return 0;
    if (l->ended++ == 0 || wait < l->first_wait)
        l->first_wait = wait;
    return 1;
}

void imgpipe_limiter_failed(imgpipe_limiter *l, double wait)
{
    if (!l->settled && wait >= 0)
        note_first(l, wait);
}

/* Not settled, not jumped, with room above: a jump is still to be decided. */
static int open_to_jump(const imgpipe_limiter *l)
{
    return !l->settled && !l->jumped && l->limit < l->max;
}

static int may_jump(const imgpipe_limiter *l)
{
    return open_to_jump(l) && l->idle >= IMGPIPE_LIMITER_LATENCY;
}

static void jump(imgpipe_limiter *l, double now)
{
    l->before = l->limit;
    l->jumped = 1;
    set_limit(l, l->max, now);
}

int imgpipe_limiter_deciding(const imgpipe_limiter *l)
{
    return open_to_jump(l) && l->ended < IMGPIPE_LIMITER_FIRST &&
           (l->ended == 0 || l->first_wait >= IMGPIPE_LIMITER_LATENCY);
}

/* Requests that had no answer for that long will each give one that waited as long: the
 * first answers' evidence, a round trip early. An answer that came sooner says otherwise. */
int imgpipe_limiter_silent(imgpipe_limiter *l, int silent, double now)
{
    if (silent >= IMGPIPE_LIMITER_FIRST && imgpipe_limiter_deciding(l) && may_jump(l))
        jump(l, now);
    return l->limit;
}

/* The first answers all waited long for their first byte, while the caller had nothing
 * to do: latency, to hide at once. */
static int jump_on_latency(imgpipe_limiter *l, double now, double wait)
{
    if (!note_first(l, wait) || l->ended < IMGPIPE_LIMITER_FIRST ||
        l->first_wait < IMGPIPE_LIMITER_LATENCY || !may_jump(l))
        return 0;
    jump(l, now);
    return 1;
}

/* The first answers to transfers started after the jump: waits twice as long as the first
 * answers' mean the server queues. Read as soon as there are a few, not a rate window
 * later, which a short run never reaches. When they do, back to the level before, from
 * where the doublings go on while they pay: waits of a few milliseconds can double with
 * the loop's own work of opening the jump's connections, and a far server that looked
 * like a queueing one must not be held at the start for the whole run. */
static int jump_paid(imgpipe_limiter *l, double now)
{
    int before = l->before;
    l->before = 0; /* checked */
    if (l->wait_min <= 2 * l->first_wait)
        return 1;     /* the jump stays */
    l->last_rate = 0; /* the rates before the jump had other company: read them again */
    set_limit(l, before, now);
    return 0;
}

int imgpipe_limiter_sample(imgpipe_limiter *l, double started, double now, double bytes,
                           double wait)
{
    if (l->settled)
        return l->limit;
    l->answers++;
    if (jump_on_latency(l, now, wait))
        return l->limit;
    if (l->waiting) {      /* at soft, the last doubling paid: the next once the run is long */
        if (long_run(l)) { /* a window at soft first: the one that paid may be old news */
            l->waiting = 0;
            l->last_rate = 0;
            set_limit(l, l->limit, now);
        }
        return l->limit;
    }
    if (started < l->since)
        return l->limit;
    if (l->n++ == 0) {
        l->first = now;
        l->bytes = 0;
        if (l->before)
            l->wait_min = wait;
    } else {
        l->bytes += bytes;
    }
    if (l->before && wait < l->wait_min)
        l->wait_min = wait;
    if (l->before && l->n >= MIN_WINDOW && !jump_paid(l, now))
        return l->limit;
    /* A window spans a round trip at least: it ends with an answer to a transfer started
     * after its first answer came. Small bodies answer in waves, a level's worth at once
     * each round trip; a rate read inside one wave measured the CPU, not the server (a
     * worker with 2000 small jobs at 100 ms saw no gain in a doubling that brought 2x). */
    if (l->n < window(l) || started < l->first)
        return l->limit;
    double span = now > l->first ? now - l->first : 1e-12;
    double rate = (l->n - 1) / span, bps = l->bytes / span;
    l->n = 0;
    if (l->last_rate > 0 && (rate < l->last_rate * GAIN || bps < l->last_bps * GAIN)) {
        l->limit /= 2; /* the last doubling did not pay: back to the level before */
        l->settled = 1;
        return l->limit;
    }
    l->last_rate = rate;
    l->last_bps = bps;
    if (l->limit >= l->max) {
        l->settled = 1;
        return l->limit;
    }
    if (l->limit >= l->soft && !long_run(l))
        l->waiting = 1;
    else
        double_limit(l, now);
    return l->limit;
}
