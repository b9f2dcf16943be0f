/* The stop flag a caller's signal handler sets (imgpipe_get_opts.stop and the like), read
 * from any thread. A plain read of a volatile sig_atomic_t is what C promises a handler in
 * the same thread; other threads read it here atomically, as the handler writes it. */
#ifndef IMGPIPE_STOP_H
#define IMGPIPE_STOP_H

#include <signal.h>

/* 1 when stop is set (NULL: never). */
static inline int imgpipe_stop_set(const volatile sig_atomic_t *stop)
{
    return stop && __atomic_load_n(stop, __ATOMIC_RELAXED) != 0;
}

#endif
