/* imgpipe worker: runs jobs from Redis queues until stopped (or, with --burst, done). */
#include "cli.h"

#include <getopt.h>
#include <signal.h>
#include <string.h>

static const char usage[] =
    "usage: imgpipe worker [options] [QUEUE...]\n"
    "\n"
    "Takes jobs from the QUEUEs (default: default), the first queue first, and runs up to N\n"
    "at once, writing each job's file into its DIR on this host. Jobs of a worker that stops\n"
    "heartbeating go to other workers after --claim-after seconds. SIGTERM or SIGINT: take\n"
    "no more jobs, finish those in flight, exit 0.\n"
    "\n"
    "  -r, --redis URL           as for enqueue (default: $IMGPIPE_REDIS_URL, else\n"
    "                            " IMGPIPE_REDIS_DEFAULT_URL ")\n"
    "  -b, --burst               exit once the queues are empty\n"
    "  -j, --jobs N              jobs in flight (default: 16)\n"
    "  -n, --name NAME           this worker's name, unique (default: HOST:PID)\n"
    "      --claim-after S       take over jobs of workers silent for S seconds (default: 60)\n"
    "      --retries N           retry transient failures (timeouts, resets, cut bodies,\n"
    "                            408, 429, 500, 502, 503, 504) N times after the first\n"
    "                            attempt, as get does (default: 3); each retry goes back\n"
    "                            on the queue; then the job goes to the failed list\n"
    "      --connect-timeout S   seconds to connect (default: 3)\n"
    "      --read-timeout S      abort a transfer silent for S seconds (default: 30)\n"
    "      --max-bytes SIZE      refuse images larger than SIZE (default: 50M)\n"
    "  -k, --insecure            do not verify TLS certificates\n"
    "      --cacert FILE         verify TLS certificates with the CA certificates in FILE\n"
    "      --s3-endpoint URL     the service of jobs for s3://BUCKET/PREFIX (default:\n"
    "                            $IMGPIPE_S3_ENDPOINT, $AWS_ENDPOINT_URL, else AWS);\n"
    "                            credentials from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY\n"
    "      --metrics-listen ADDR serve this worker's counters for Prometheus at\n"
    "                            http://ADDR/metrics (ADDR: HOST:PORT)\n"
    "  -q, --quiet               print only failures\n"
    "  -h, --help                this help\n"
    "\n"
    "A job whose file cannot be written fails alone; a DIR that takes no file at all\n"
    "stops the worker (exit 1), leaving that job queued.\n"
    "\n"
    "Exit status: 0 stopped or done, 1 Redis unreachable at start, NAME in use by a live\n"
    "worker, or a DIR that cannot be written; 2 usage error.\n";

enum {
    OPT_CLAIM = 256,
    OPT_RETRIES,
    OPT_CONNECT_TIMEOUT,
    OPT_READ_TIMEOUT,
    OPT_MAX_BYTES,
    OPT_CACERT,
    OPT_METRICS_LISTEN,
    OPT_S3_ENDPOINT
};

static const struct option longopts[] = {
    {"redis", required_argument, NULL, 'r'},
    {"burst", no_argument, NULL, 'b'},
    {"jobs", required_argument, NULL, 'j'},
    {"name", required_argument, NULL, 'n'},
    {"claim-after", required_argument, NULL, OPT_CLAIM},
    {"retries", required_argument, NULL, OPT_RETRIES},
    {"connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT},
    {"read-timeout", required_argument, NULL, OPT_READ_TIMEOUT},
    {"max-bytes", required_argument, NULL, OPT_MAX_BYTES},
    {"insecure", no_argument, NULL, 'k'},
    {"cacert", required_argument, NULL, OPT_CACERT},
    {"metrics-listen", required_argument, NULL, OPT_METRICS_LISTEN},
    {"s3-endpoint", required_argument, NULL, OPT_S3_ENDPOINT},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {0, 0, 0, 0}};

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

struct worker_cli {
    imgpipe_worker_opts opts;
    int quiet;
    const char *metrics_listen;
};

/* Returns -1 to go on, else the exit code. */
static int parse_option(struct worker_cli *w, int c)
{
    imgpipe_worker_opts *o = &w->opts;
    switch (c) {
    case 'r':
        o->url = optarg;
        return -1;
    case 'b':
        o->burst = 1;
        return -1;
    case 'j':
        return cli_parse_int("--jobs", optarg, 1, 4096, &o->jobs) ? CLI_EXIT_USAGE : -1;
    case 'n':
        o->name = optarg;
        return -1;
    case OPT_CLAIM:
        return cli_parse_seconds("--claim-after", optarg, &o->claim_after_ms) ? CLI_EXIT_USAGE : -1;
    case OPT_RETRIES:
        if (cli_parse_int("--retries", optarg, 0, 1000, &o->retries))
            return CLI_EXIT_USAGE;
        o->retries = o->retries ? o->retries : -1; /* 0 means none, not the default */
        return -1;
    case OPT_CONNECT_TIMEOUT:
        return cli_parse_seconds("--connect-timeout", optarg, &o->get.connect_timeout_ms)
                   ? CLI_EXIT_USAGE
                   : -1;
    case OPT_READ_TIMEOUT:
        return cli_parse_seconds("--read-timeout", optarg, &o->get.read_timeout_ms) ? CLI_EXIT_USAGE
                                                                                    : -1;
    case OPT_MAX_BYTES:
        return cli_parse_bytes("--max-bytes", optarg, &o->get.max_bytes) ? CLI_EXIT_USAGE : -1;
    case 'k':
        o->get.insecure = 1;
        return -1;
    case OPT_CACERT:
        o->get.cacert = optarg; /* checked after the options: --help goes first */
        return -1;
    case OPT_S3_ENDPOINT:
        o->get.s3_endpoint = optarg;
        return -1;
    case 'q':
        w->quiet = 1;
        return -1;
    case OPT_METRICS_LISTEN:
        w->metrics_listen = optarg;
        return -1;
    case 'h':
        fputs(usage, stdout);
        return CLI_EXIT_OK;
    default:
        fputs(usage, stderr);
        return CLI_EXIT_USAGE;
    }
}

static void on_item(const imgpipe_item *item, void *userdata)
{
    imgpipe_metrics_observe(userdata, item);
    if (item->status)
        fprintf(stderr, "imgpipe: FAILED %s: %s\n", item->url, item->error);
}

static void on_notice(const char *msg, void *userdata)
{
    (void)userdata;
    cli_error("%s", msg);
}

static void catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    /* hiredis writes with write(): a Redis that closes the socket must be an error, not a
     * SIGPIPE that kills us. Over a file size limit, write() fails with EFBIG instead. */
    signal(SIGPIPE, SIG_IGN);
    signal(SIGXFSZ, SIG_IGN);
}

int cmd_worker(int argc, char **argv)
{
    struct worker_cli w = {.opts = {.stop = &stop_requested, .notice = on_notice}};
    int c;
    while ((c = getopt_long(argc, argv, "r:bj:n:kqh", longopts, NULL)) != -1) {
        int rc = parse_option(&w, c);
        if (rc >= 0)
            return rc;
    }
    if (w.opts.get.cacert && cli_check_cacert(w.opts.get.cacert))
        return CLI_EXIT_USAGE;
    w.opts.queues = (const char *const *)(argv + optind);
    w.opts.nqueues = argc - optind;
    catch_signals();
    imgpipe_summary sum;
    char err[IMGPIPE_ERRLEN];
    imgpipe_metrics *metrics = NULL;
    int status = w.metrics_listen ? imgpipe_metrics_start(&metrics, w.metrics_listen, err) : 0;
    if (status == IMGPIPE_OK)
        status = imgpipe_worker_run(&w.opts, on_item, metrics, &sum, err);
    imgpipe_metrics_free(metrics);
    if (status) {
        cli_error("%s", err);
        return status == IMGPIPE_EINVAL ? CLI_EXIT_USAGE : CLI_EXIT_FAILED;
    }
    if (!w.quiet) {
        char size[32];
        cli_format_bytes(sum.bytes, size, sizeof(size));
        fprintf(stderr, "imgpipe: worker done: %llu jobs done (%s), %llu failed, in %.2f s\n",
                (unsigned long long)sum.done, size, (unsigned long long)sum.failed, sum.seconds);
    }
    return CLI_EXIT_OK;
}
