/* When to try a failed transfer again. */
#ifndef IMGPIPE_RETRY_H
#define IMGPIPE_RETRY_H

#include <stdint.h>

#define IMGPIPE_RETRY_DEFAULT 3
#define IMGPIPE_RETRY_WAIT_MS 500L
#define IMGPIPE_RETRY_CAP_MS 30000L        /* the longest backoff of our own */
#define IMGPIPE_RETRY_AFTER_MAX_MS 120000L /* the longest Retry-After we wait */

/* The wait before the next attempt, after `attempts` (>= 1) failed: the server's
 * Retry-After when it gave one (retry_after_ms >= 0), else base * 2^(attempts-1), capped,
 * with "equal jitter" (half fixed, half random) so that clients that failed together do
 * not come back together. -1 when the server asks for longer than we wait. */
long imgpipe_retry_delay_ms(int attempts, long base_ms, long retry_after_ms, uint64_t *rng);

/* The number of retries an option value means (0: the default, negative: none). */
int imgpipe_retry_count(int option);

/* A fast PRNG step (xorshift64*); *state must not be 0. */
uint64_t imgpipe_rand64(uint64_t *state);

#endif
