/* An LD_PRELOAD shim for test_wall_clock.sh: the wall clock (CLOCK_REALTIME) reads an hour
 * ahead of the system's, as if it had been set back by an hour right after a process read
 * it. A wait computed from it would last an hour; one on CLOCK_MONOTONIC is unaffected.
 * Test-only. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <time.h>

int clock_gettime(clockid_t clk, struct timespec *ts)
{
    int (*real)(clockid_t, struct timespec *) =
        (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT, "clock_gettime");
    int rc = real(clk, ts);
    if (rc == 0 && clk == CLOCK_REALTIME)
        ts->tv_sec += 3600;
    return rc;
}
