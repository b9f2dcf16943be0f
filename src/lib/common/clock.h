/* The one clock every timing and deadline in libimgpipe reads. */
#ifndef IMGPIPE_CLOCK_H
#define IMGPIPE_CLOCK_H

/* Seconds on CLOCK_MONOTONIC: never jumps when the wall clock is set, so deadlines, backoff
 * and rates hold across an NTP step. */
double imgpipe_now(void);

#endif
