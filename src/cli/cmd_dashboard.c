/* imgpipe dashboard: a web page over the Redis queues, the output gallery, and /metrics. */
#include "cli.h"

#include <getopt.h>
#include <signal.h>
#include <string.h>

static const char usage[] =
    "usage: imgpipe dashboard [options] [QUEUE...]\n"
    "\n"
    "Serves a web page showing the QUEUEs (default: every queue ever used): jobs waiting, in\n"
    "progress, done and failed, throughput and ETA, the workers, the failures by reason\n"
    "with buttons to requeue or drop them; a gallery of DIR's images; and Prometheus\n"
    "metrics at /metrics. SIGTERM or SIGINT stops it.\n"
    "\n"
    "  -r, --redis URL           as for enqueue (default: $IMGPIPE_REDIS_URL, else\n"
    "                            " IMGPIPE_REDIS_DEFAULT_URL ")\n"
    "  -l, --listen HOST:PORT    address to serve on (default: 127.0.0.1:8080; port 0\n"
    "                            picks a free one)\n"
    "      --auth USER:PASSWORD  require HTTP basic auth; needed off loopback\n"
    "  -d, --dir DIR             show DIR's images (and their thumbnails) as a gallery\n"
    "  -h, --help                this help\n"
    "\n"
    "Exit status: 0 stopped, 1 cannot listen, 2 usage error.\n";

enum { OPT_AUTH = 256 };

static const struct option longopts[] = {{"redis", required_argument, NULL, 'r'},
                                         {"listen", required_argument, NULL, 'l'},
                                         {"auth", required_argument, NULL, OPT_AUTH},
                                         {"dir", required_argument, NULL, 'd'},
                                         {"help", no_argument, NULL, 'h'},
                                         {0, 0, 0, 0}};

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void on_ready(const char *url, int loopback, void *userdata)
{
    (void)userdata;
    printf("imgpipe dashboard on %s\n", url);
    fflush(stdout);
    if (!loopback)
        cli_error("warning: basic auth over plain HTTP sends the password in the clear; "
                  "put the dashboard behind a TLS proxy");
}

int cmd_dashboard(int argc, char **argv)
{
    imgpipe_dashboard_opts o = {.ready = on_ready};
    int c;
    while ((c = getopt_long(argc, argv, "r:l:d:h", longopts, NULL)) != -1) {
        if (c == 'r') {
            o.url = optarg;
        } else if (c == 'l') {
            o.listen = optarg;
        } else if (c == OPT_AUTH) {
            o.auth = optarg;
        } else if (c == 'd') {
            o.dir = optarg;
        } else if (c == 'h') {
            fputs(usage, stdout);
            return CLI_EXIT_OK;
        } else {
            fputs(usage, stderr);
            return CLI_EXIT_USAGE;
        }
    }
    o.queues = (const char *const *)(argv + optind);
    o.nqueues = argc - optind;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    char err[IMGPIPE_ERRLEN];
    int rc = imgpipe_dashboard_run(&o, &stop_requested, err);
    if (rc)
        cli_error("%s", err);
    return rc == IMGPIPE_OK ? CLI_EXIT_OK : rc == IMGPIPE_EINVAL ? CLI_EXIT_USAGE : CLI_EXIT_FAILED;
}
