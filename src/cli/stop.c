/* The stop flag of a command's run, set by SIGINT or SIGTERM. The library reads it from
 * its threads atomically (common/stop.h), so the handler writes it atomically too. */
#include "cli.h"

#include <errno.h>
#include <string.h>

volatile sig_atomic_t cli_stop_signal;

static void on_stop_signal(int sig)
{
    int saved = errno;
    __atomic_store_n(&cli_stop_signal, sig, __ATOMIC_RELAXED);
    errno = saved;
}

void cli_catch_stop_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
}

int cli_stopped_by(void)
{
    return __atomic_load_n(&cli_stop_signal, __ATOMIC_RELAXED);
}
