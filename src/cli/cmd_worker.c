/* imgpipe worker: runs jobs from Redis queues until stopped (or, with --burst, done). */
#include "cli.h"
#include "options.h"
#include "report.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

static const char intro[] =
    "Takes jobs from the QUEUEs (default: default), the first queue first, and runs up to N\n"
    "at once, writing each job's file into its DIR on this host. Jobs of a worker that stops\n"
    "heartbeating go to other workers after --claim-after seconds. SIGTERM or SIGINT: take\n"
    "no more jobs, finish those in flight, exit 0.\n";

static const char outro[] =
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
    OPT_RETRY_WAIT,
    OPT_MAX_PIXELS,
    OPT_RATE,
    OPT_PER_HOST,
    OPT_S3_ENDPOINT
};

static const struct cli_option options[] = {
    {"redis", 'r', "URL",
     "as for enqueue (default: $IMGPIPE_REDIS_URL, else\n" IMGPIPE_REDIS_DEFAULT_URL ")", 'r', 0,
     0},
    {"queue", 'Q', "QUEUE", "a queue to take jobs from, as a QUEUE argument; repeat for more", 'Q',
     0, 0},
    {"burst", 'b', NULL, "exit once the queues are empty", 'b', 0, 0},
    {"jobs", 'j', "N", "jobs in flight (default: 16-256, adapting; 16 with thumbnails or a bucket)",
     'j', 0, 0},
    {"name", 'n', "NAME", "this worker's name, unique (default: HOST:PID)", 'n', 0, 0},
    {"claim-after", 0, "S", "take over jobs of workers silent for S seconds (default: 60)",
     OPT_CLAIM, 0, 0},
    {"retries", 0, "N",
     "retry transient failures (timeouts, resets, cut bodies,\n"
     "408, 429, 500, 502, 503, 504) N times after the first\n"
     "attempt, 0..1000, as get does (default: 3); each retry goes\n"
     "back on the queue after --retry-wait; then the job goes to\n"
     "the failed list",
     OPT_RETRIES, 0, 0},
    {"connect-timeout", 0, "S", "seconds to connect (default: 3)", OPT_CONNECT_TIMEOUT, 0, 0},
    {"read-timeout", 0, "S", "abort a transfer silent for S seconds (default: 30)",
     OPT_READ_TIMEOUT, 0, 0},
    {"retry-wait", 0, "S",
     "the first wait before a retry, doubled each retry, jittered\n"
     "(default: 0.5); a server's Retry-After is honoured; the job\n"
     "waits in the queue's scheduled set, not in a worker",
     OPT_RETRY_WAIT, 0, 0},
    {"max-bytes", 0, "SIZE", "refuse images larger than SIZE (default: 50M)", OPT_MAX_BYTES, 0, 0},
    {"max-pixels", 0, "N",
     "refuse images over N pixels, read from the header (default:\n"
     "100M)",
     OPT_MAX_PIXELS, 0, 0},
    {"rate", 0, "N",
     "at most N requests per second per host, for all the workers\n"
     "on this Redis together (each with --rate)",
     OPT_RATE, 0, 0},
    {"per-host", 0, "N", "at most N connections per host from this worker", OPT_PER_HOST, 0, 0},
    {"insecure", 'k', NULL, "do not verify TLS certificates", 'k', 0, 0},
    {"cacert", 0, "FILE", "verify TLS certificates with the CA certificates in FILE", OPT_CACERT, 0,
     0},
    {"s3-endpoint", 0, "URL",
     "the service of jobs for s3://BUCKET/PREFIX (default:\n"
     "$IMGPIPE_S3_ENDPOINT, $AWS_ENDPOINT_URL, else AWS);\n"
     "credentials from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY",
     OPT_S3_ENDPOINT, 0, 0},
    {"metrics-listen", 0, "ADDR",
     "serve this worker's counters for Prometheus at\n"
     "http://ADDR/metrics (ADDR: HOST:PORT)",
     OPT_METRICS_LISTEN, 0, 0},
    {"verbose", 'v', NULL, "print a line for every job", 'v', 0, 0},
    {"json", 0, NULL, "one JSON object per job on stdout, as get prints them", CLI_OPT_JSON, 0, 0},
    {"quiet", 'q', NULL, "print only failures", 'q', 0, 0},
    {"help", 'h', NULL, "this help", 'h', 0, 0},
};

const struct cli_command cli_worker_command = {"worker", "[options] [QUEUE...]", intro, outro,
                                               CLI_OPTIONS(options)};

struct worker_cli {
    imgpipe_worker_opts opts;
    const char **queues; /* -Q's, then the QUEUE arguments */
    int nqueues;
    struct cli_report report;
    imgpipe_metrics *metrics;
    const char *metrics_listen;
};

/* The options a worker shares with get; -1 when c is not one of them, else as below. */
static int parse_get_option(imgpipe_get_opts *o, int c)
{
    switch (c) {
    case OPT_RETRY_WAIT:
        return cli_parse_seconds("--retry-wait", optarg, &o->retry_wait_ms) ? CLI_EXIT_USAGE : -2;
    case OPT_MAX_PIXELS:
        return cli_parse_pixels(optarg, &o->thumb.max_pixels) ? CLI_EXIT_USAGE : -2;
    case OPT_RATE:
        return cli_parse_rate(optarg, &o->rate) ? CLI_EXIT_USAGE : -2;
    case OPT_PER_HOST:
        return cli_parse_int("--per-host", optarg, 1, 1024, &o->per_host) ? CLI_EXIT_USAGE : -2;
    default:
        return -1;
    }
}

/* Returns -1 to go on, else the exit code. */
static int parse_option(struct worker_cli *w, int c)
{
    imgpipe_worker_opts *o = &w->opts;
    int rc = parse_get_option(&o->get, c);
    if (rc != -1)
        return rc == -2 ? -1 : rc;
    switch (c) {
    case 'r':
        return (o->url = cli_hide_password(optarg)) ? -1 : CLI_EXIT_FAILED;
    case 'Q':
        w->queues[w->nqueues++] = optarg;
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
        if (cli_parse_int("--retries", optarg, 0, CLI_RETRIES_MAX, &o->retries))
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
    case 'v':
    case CLI_OPT_JSON:
        cli_report_option(&w->report, c);
        return -1;
    case OPT_METRICS_LISTEN:
        w->metrics_listen = optarg;
        return -1;
    case 'h':
        cli_print_help(&cli_worker_command, stdout);
        return CLI_EXIT_OK;
    default:
        return CLI_EXIT_USAGE;
    }
}

static void on_item(const imgpipe_item *item, void *userdata)
{
    struct worker_cli *w = userdata;
    imgpipe_metrics_observe(w->metrics, item);
    cli_report_item(item, &w->report);
    if (item->status == IMGPIPE_ECANCELED) { /* abandoned: a job's own failure here */
        fputs("imgpipe: FAILED ", stderr);
        cli_put_text(stderr, item->url);
        fprintf(stderr, ": %s\n", item->error);
    }
}

static void on_notice(const char *msg, void *userdata)
{
    struct worker_cli *w = userdata;
    cli_report_notice(msg, &w->report);
}

static void catch_signals(void)
{
    cli_catch_stop_signals();
    /* hiredis writes with write(): a Redis that closes the socket must be an error, not a
     * SIGPIPE that kills us. Over a file size limit, write() fails with EFBIG instead. */
    signal(SIGPIPE, SIG_IGN);
    signal(SIGXFSZ, SIG_IGN);
}

static int run(struct worker_cli *w, int argc, char **argv)
{
    for (int i = optind; i < argc; i++)
        w->queues[w->nqueues++] = argv[i];
    w->opts.queues = w->queues;
    w->opts.nqueues = w->nqueues;
    catch_signals();
    imgpipe_summary sum;
    char err[IMGPIPE_ERRLEN];
    w->report.opts = &w->opts.get; /* no dir: each job has its own; items show their names */
    w->report.limits = " (limits: --max-bytes, --max-pixels)";
    cli_report_start(&w->report);
    w->report.progress = 0; /* a worker runs until stopped: no ETA to draw */
    int status = w->metrics_listen ? imgpipe_metrics_start(&w->metrics, w->metrics_listen, err) : 0;
    if (status == IMGPIPE_OK)
        status = imgpipe_worker_run(&w->opts, on_item, w, &sum, err);
    imgpipe_metrics_free(w->metrics);
    if (status) {
        cli_error("%s", err);
        return status == IMGPIPE_EINVAL ? CLI_EXIT_USAGE : CLI_EXIT_FAILED;
    }
    if (!w->report.quiet) {
        char size[32];
        cli_format_bytes(sum.bytes, size, sizeof(size));
        fprintf(stderr, "imgpipe: worker done: %llu jobs done (%s), %llu failed, in %.2f s\n",
                (unsigned long long)sum.done, size, (unsigned long long)sum.failed, sum.seconds);
    }
    return CLI_EXIT_OK;
}

int cmd_worker(int argc, char **argv)
{
    struct worker_cli w = {.opts = {.stop = &cli_stop_signal, .notice = on_notice}};
    int c, rc = -1;
    w.queues = calloc((size_t)argc + 1, sizeof(*w.queues)); /* -Q's and QUEUEs: argv's words */
    if (!w.queues) {
        cli_error("out of memory");
        return CLI_EXIT_FAILED;
    }
    while (rc < 0 && (c = cli_getopt(&cli_worker_command, argc, argv)) != -1)
        rc = parse_option(&w, c);
    if (rc < 0 && w.opts.get.cacert && cli_check_cacert(w.opts.get.cacert))
        rc = CLI_EXIT_USAGE;
    if (rc < 0)
        rc = run(&w, argc, argv);
    free(w.queues);
    return rc;
}
