#include "common/retry.h"

uint64_t imgpipe_rand64(uint64_t *state)
{
    uint64_t x = *state ? *state : 0x9e3779b97f4a7c15ULL;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545f4914f6cdd1dULL;
}

int imgpipe_retry_count(int option)
{
    return option == 0 ? IMGPIPE_RETRY_DEFAULT : option < 0 ? 0 : option;
}

long imgpipe_retry_delay_ms(int attempts, long base_ms, long retry_after_ms, uint64_t *rng)
{
    if (retry_after_ms > IMGPIPE_RETRY_AFTER_MAX_MS)
        return -1;
    if (retry_after_ms >= 0)
        return retry_after_ms;
    long d = base_ms > 0 ? base_ms : IMGPIPE_RETRY_WAIT_MS;
    for (int i = 1; i < attempts && d < IMGPIPE_RETRY_CAP_MS; i++)
        d *= 2;
    if (d > IMGPIPE_RETRY_CAP_MS)
        d = IMGPIPE_RETRY_CAP_MS;
    return d / 2 + (long)(imgpipe_rand64(rng) % (uint64_t)(d / 2 + 1));
}
