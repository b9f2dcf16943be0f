/* imgpipe dashboard: a web page over the Redis queues, the output gallery, and /metrics. */
#include "cli.h"
#include "options.h"

#include <signal.h>
#include <string.h>

enum { OPT_AUTH = 256 };

static const struct cli_option options[] = {
    {"redis", 'r', "URL",
     "as for enqueue (default: $IMGPIPE_REDIS_URL, else\n" IMGPIPE_REDIS_DEFAULT_URL ")", 'r', 0,
     0},
    {"listen", 'l', "HOST:PORT",
     "address to serve on (default: 127.0.0.1:8080; port 0\n"
     "picks a free one)",
     'l', 0, 0},
    {"auth", 0, "USER:PASSWORD", "require HTTP basic auth; needed off loopback", OPT_AUTH, 0, 0},
    {"dir", 'd', "DIR", "show DIR's images (and their thumbnails) as a gallery", 'd', 0, 0},
    {"help", 'h', NULL, "this help", 'h', 0, 0},
};

const struct cli_command cli_dashboard_command = {
    "dashboard", "[options] [QUEUE...]",
    "Serves a web page showing the QUEUEs (default: every queue ever used): jobs waiting, in\n"
    "progress, done and failed, throughput and ETA, the workers, the failures by reason\n"
    "with buttons to requeue or drop them; a gallery of DIR's images; and Prometheus\n"
    "metrics at /metrics. SIGTERM or SIGINT stops it.\n",
    "Exit status: 0 stopped, 1 cannot listen, 2 usage error.\n", CLI_OPTIONS(options)};

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
    while ((c = cli_getopt(&cli_dashboard_command, argc, argv)) != -1) {
        if (c == 'r') {
            if (!(o.url = cli_hide_password(optarg)))
                return CLI_EXIT_FAILED;
        } else if (c == 'l') {
            o.listen = optarg;
        } else if (c == OPT_AUTH) {
            if (!(o.auth = cli_hide_auth(optarg)))
                return CLI_EXIT_FAILED;
        } else if (c == 'd') {
            o.dir = optarg;
        } else if (c == 'h') {
            cli_print_help(&cli_dashboard_command, stdout);
            return CLI_EXIT_OK;
        } else {
            return CLI_EXIT_USAGE;
        }
    }
    o.queues = (const char *const *)(argv + optind);
    o.nqueues = argc - optind;
    if (cli_check_queue_names(o.queues, o.nqueues))
        return CLI_EXIT_USAGE;
    cli_catch_stop_signals();
    char err[IMGPIPE_ERRLEN];
    int rc = imgpipe_dashboard_run(&o, &cli_stop_signal, err);
    if (rc == IMGPIPE_EINVAL)
        cli_error("dashboard: %s (see --listen and --auth USER:PASSWORD)", err);
    else if (rc)
        cli_error("%s", err);
    return rc == IMGPIPE_OK ? CLI_EXIT_OK : rc == IMGPIPE_EINVAL ? CLI_EXIT_USAGE : CLI_EXIT_FAILED;
}
