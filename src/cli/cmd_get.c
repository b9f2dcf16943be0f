/* imgpipe get: download the images of the sources into a directory, with thumbnails. */
#include "cli.h"
#include "options.h"
#include "report.h"

#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char intro[] =
    "Downloads every image link of each SOURCE (default imgur:random) into DIR, each file\n"
    "named after the last segment of its URL, written whole or not at all. A rerun skips\n"
    "what DIR/.imgpipe/ledger records as done (and still there) and retries the rest.\n";

static const char outro[] =
    "Exit status: 0 all done, 1 some items failed, 2 usage or configuration error,\n"
    "130/143 stopped by SIGINT/SIGTERM (in-flight transfers end, nothing partial is left).\n";

enum {
    OPT_QUALITY = 256,
    OPT_MAX_BYTES,
    OPT_TIMEOUT,
    OPT_CONNECT_TIMEOUT,
    OPT_READ_TIMEOUT,
    OPT_MIN_SPEED,
    OPT_RETRIES,
    OPT_RETRY_WAIT,
    OPT_PER_HOST,
    OPT_RATE,
    OPT_RETRY_FAILED,
    OPT_NO_LEDGER,
    OPT_NAME,
    OPT_LAYOUT,
    OPT_PAGES,
    OPT_MAX_PIXELS,
    OPT_CACERT,
    OPT_METRICS_LISTEN,
    OPT_S3_ENDPOINT,
    OPT_STATE
};

static const struct cli_option options[] = {
    {"output", 'o', "DIR",
     "output directory, created if missing (default: images);\n"
     "or s3://BUCKET/PREFIX: PUT to an S3-compatible service\n"
     "(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION)",
     'o', 0, 0},
    {"s3-endpoint", 0, "URL",
     "the service for s3:// (path-style; default:\n"
     "$IMGPIPE_S3_ENDPOINT, $AWS_ENDPOINT_URL, else AWS)",
     OPT_S3_ENDPOINT, 0, 0},
    {"state", 0, "DIR", "with s3://: the local directory of the ledger", OPT_STATE, 0, 0},
    {"mode", 'm', "MODE",
     "how links are run (default: async):\n"
     "  seq      one after another\n"
     "  threads  a pool of N threads (default N: 8)\n"
     "  procs    N worker processes (default N: cores)\n"
     "  async    one event loop, N transfers in flight\n"
     "           (default N: 16, doubled up to 64 while that\n"
     "           doubles the answers and bytes per second;\n"
     "           256 when 8 requests have had no answer for\n"
     "           10 ms, else up to 256 in a long run; 16 with\n"
     "           --thumb or a bucket), CPU work on every core",
     'm', 0, 0},
    {"jobs", 'j', "N", "the N of the mode", 'j', 0, 0},
    {"name", 0, "TEMPLATE",
     "file names from fields {name} {stem} {ext} {id} {index}\n"
     "{host} {hash} {sha256}, e.g. '{index}-{id}{ext}'\n"
     "(default: {name}, the URL's last segment)",
     OPT_NAME, 0, 0},
    {"layout", 0, "LAYOUT",
     "flat (default), or sharded: files in 256 folders 00..ff\n"
     "inside DIR, for runs of millions of files",
     OPT_LAYOUT, 0, 0},
    {"thumb", 't', "WxH",
     "also make a thumbnail fitting WxH (128 is 128x128, 128x any\n"
     "height, x128 any width), named NAME_thumbnail.EXT; repeat\n"
     "for several sizes (then NAME_thumbnail_WxH.EXT)",
     't', 0, 0},
    CLI_THUMB_OPTIONS,
    {"quality", 0, "N",
     "JPEG, WebP and AVIF thumbnail quality, 1..100 (default: 85;\n"
     "AVIF: 60)",
     OPT_QUALITY, 0, 0},
    {"max-bytes", 0, "SIZE", "refuse images larger than SIZE, e.g. 20M (default: 50M)",
     OPT_MAX_BYTES, 0, 0},
    {"max-pixels", 0, "N",
     "refuse images over N pixels (width x height, read from the\n"
     "header before anything is stored or decoded); N may end\n"
     "in M for millions (default: 100M)",
     OPT_MAX_PIXELS, 0, 0},
    {"timeout", 0, "S",
     "deadline for the whole run: then transfers stop, no partial\n"
     "file is left, unfinished links fail as timed out (a list not\n"
     "read to its end by then is said so: exit 1)",
     OPT_TIMEOUT, 0, 0},
    {"connect-timeout", 0, "S", "seconds to connect (default: 3)", OPT_CONNECT_TIMEOUT, 0, 0},
    {"read-timeout", 0, "S",
     "abort a transfer that receives less than --min-speed for\n"
     "S seconds (default: 30)",
     OPT_READ_TIMEOUT, 0, 0},
    {"min-speed", 0, "BYTES",
     "bytes/s a transfer must keep up over --read-timeout\n"
     "(default: 1)",
     OPT_MIN_SPEED, 0, 0},
    {"retries", 0, "N",
     "retry transient failures (timeouts, resets, cut bodies,\n"
     "408, 429, 500, 502, 503, 504) N times, 0..1000 (default: 3),\n"
     "with exponential backoff and jitter, honouring Retry-After;\n"
     "Imgur API requests alike",
     OPT_RETRIES, 0, 0},
    {"retry-wait", 0, "S", "the first backoff, doubled each retry (default: 0.5)", OPT_RETRY_WAIT,
     0, 0},
    {"per-host", 0, "N", "at most N connections per host (async mode)", OPT_PER_HOST, 0, 0},
    {"rate", 0, "N", "at most N requests per second per host", OPT_RATE, 0, 0},
    {"retry-failed", 0, NULL,
     "only the links the ledger records as failed (SOURCE is\n"
     "then not read and may be left out)",
     OPT_RETRY_FAILED, 0, 0},
    {"no-ledger", 0, NULL, "neither read nor write DIR/.imgpipe/ledger", OPT_NO_LEDGER, 0, 0},
    {"pages", 0, "N", "read N pages of imgur: listings, 1..1000 (default: 1)", OPT_PAGES, 0, 0},
    {"insecure", 'k', NULL, "do not verify TLS certificates (API requests too)", 'k', 0, 0},
    {"cacert", 0, "FILE",
     "verify TLS certificates with the CA certificates in FILE\n"
     "(PEM), for downloads and API requests",
     OPT_CACERT, 0, 0},
    {"verbose", 'v', NULL, "print a line for every item", 'v', 0, 0},
    {"json", 0, NULL,
     "one JSON object per item on stdout (url, path, thumbnails,\n"
     "bytes, sha256, ms, attempts, status, error), then a summary",
     CLI_OPT_JSON, 0, 0},
    {"stats", 0, "FILE", "write the summary as JSON to FILE", CLI_OPT_STATS, 0, 0},
    {"metrics-listen", 0, "ADDR",
     "serve this run's counters for Prometheus at\n"
     "http://ADDR/metrics (ADDR: HOST:PORT)",
     OPT_METRICS_LISTEN, 0, 0},
    {"quiet", 'q', NULL, "print only failures (no progress line, no summary)", 'q', 0, 0},
    {"help", 'h', NULL, "this help", 'h', 0, 0},
};

const struct cli_command cli_get_command = {"get", "[options] [SOURCE...]", intro, outro,
                                            CLI_OPTIONS(options)};

struct get_cli {
    imgpipe_get_opts opts;
    struct cli_report report;
    const char *metrics_listen;
    imgpipe_metrics *metrics;
};

/* The options of each transfer. Returns -1 when c is not one of them, else 0 or the
 * exit code of a bad value. */
static int parse_transfer_option(imgpipe_get_opts *o, int c)
{
    uint64_t v;
    int bad;
    switch (c) {
    case OPT_MAX_BYTES:
        return cli_parse_bytes("--max-bytes", optarg, &o->max_bytes) ? 2 : 0;
    case OPT_TIMEOUT:
        return cli_parse_seconds("--timeout", optarg, &o->timeout_ms) ? 2 : 0;
    case OPT_CONNECT_TIMEOUT:
        return cli_parse_seconds("--connect-timeout", optarg, &o->connect_timeout_ms) ? 2 : 0;
    case OPT_READ_TIMEOUT:
        return cli_parse_seconds("--read-timeout", optarg, &o->read_timeout_ms) ? 2 : 0;
    case OPT_MIN_SPEED:
        bad = cli_parse_bytes("--min-speed", optarg, &v) || v > 1000000000;
        o->min_speed = (long)v;
        return bad ? 2 : 0;
    case OPT_RETRIES:
        bad = cli_parse_int("--retries", optarg, 0, CLI_RETRIES_MAX, &o->retries);
        o->retries = o->retries ? o->retries : -1; /* 0 means none, not the default */
        return bad ? 2 : 0;
    case OPT_RETRY_WAIT:
        return cli_parse_seconds("--retry-wait", optarg, &o->retry_wait_ms) ? 2 : 0;
    case OPT_PER_HOST:
        return cli_parse_int("--per-host", optarg, 1, 1024, &o->per_host) ? 2 : 0;
    case OPT_RATE:
        return cli_parse_rate(optarg, &o->rate) ? 2 : 0;
    case 'k':
        o->insecure = 1;
        cli_set_source_insecure();
        return 0;
    case OPT_CACERT:
        o->cacert = optarg; /* checked after the options: --help goes first */
        return 0;
    default:
        return -1;
    }
}

/* Returns -1 to go on, else the exit code. */
static int parse_option(struct get_cli *g, int c)
{
    imgpipe_get_opts *o = &g->opts;
    int rc = parse_transfer_option(o, c);
    if (rc >= 0)
        return rc ? CLI_EXIT_USAGE : -1;
    switch (c) {
    case 'o':
        o->dir = optarg;
        return -1;
    case OPT_S3_ENDPOINT:
        o->s3_endpoint = optarg;
        return -1;
    case OPT_STATE:
        o->state_dir = optarg;
        return -1;
    case 'm':
        if (imgpipe_parse_mode(optarg, &o->mode) == IMGPIPE_OK)
            return -1;
        cli_error("--mode: '%s' is not one of seq, threads, procs, async", optarg);
        return CLI_EXIT_USAGE;
    case 'j':
        return cli_parse_int("--jobs", optarg, 1, 4096, &o->jobs) ? CLI_EXIT_USAGE : -1;
    case 't':
        return cli_add_size("--thumb", o->thumbs, &o->nthumbs, optarg) ? CLI_EXIT_USAGE : -1;
    case OPT_QUALITY:
        return cli_parse_int("--quality", optarg, 1, 100, &o->thumb.quality) ? CLI_EXIT_USAGE : -1;
    CLI_THUMB_CASES:
        return cli_thumb_option(&o->thumb, c, optarg);
    case OPT_RETRY_FAILED:
        o->retry_failed = 1;
        return -1;
    case OPT_NO_LEDGER:
        o->no_ledger = 1;
        return -1;
    case OPT_MAX_PIXELS:
        return cli_parse_pixels(optarg, &o->thumb.max_pixels) ? CLI_EXIT_USAGE : -1;
    case OPT_PAGES:
        return cli_set_pages(optarg) ? CLI_EXIT_USAGE : -1;
    case 'q':
    case 'v':
    case CLI_OPT_JSON:
    case CLI_OPT_STATS:
        cli_report_option(&g->report, c);
        return -1;
    case OPT_NAME: {
        char err[IMGPIPE_ERRLEN];
        o->name_template = optarg;
        if (imgpipe_name_template_check(optarg, err) == IMGPIPE_OK)
            return -1;
        cli_error("--name: %s", err);
        return CLI_EXIT_USAGE;
    }
    case OPT_LAYOUT:
        if (strcmp(optarg, "flat") == 0 || strcmp(optarg, "sharded") == 0) {
            o->sharded = optarg[0] == 's';
            return -1;
        }
        cli_error("--layout: '%s' is not flat or sharded", optarg);
        return CLI_EXIT_USAGE;
    case OPT_METRICS_LISTEN:
        g->metrics_listen = optarg;
        return -1;
    case 'h':
        cli_print_help(&cli_get_command, stdout);
        return CLI_EXIT_OK;
    default:
        return CLI_EXIT_USAGE;
    }
}

static void on_item(const imgpipe_item *item, void *userdata)
{
    struct get_cli *g = userdata;
    imgpipe_metrics_observe(g->metrics, item);
    cli_report_item(item, &g->report);
}

/* The links expected, when every source is an Imgur answer or a URL (known at open);
 * 0 (unknown) when a URL list streams. */
static uint64_t expected_links(char **specs, int nspecs, imgpipe_source **sources, int n)
{
    uint64_t total = 0;
    for (int i = 0; i < nspecs; i++)
        if (strncmp(specs[i], "imgur:", 6) != 0 && strstr(specs[i], "://") == NULL)
            return 0;
    for (int i = 0; i < n; i++)
        total += imgpipe_source_counts_get(sources[i])->links;
    return total;
}

static void catch_signals(void)
{
    cli_catch_stop_signals();
    signal(SIGXFSZ, SIG_IGN); /* over a file size limit, write() fails with EFBIG instead */
}

static int exit_code(int status, const imgpipe_summary *sum)
{
    if (status == IMGPIPE_ECANCELED)
        return 128 + (cli_stopped_by() ? cli_stopped_by() : SIGINT);
    if (status)
        return status == IMGPIPE_EINVAL || status == IMGPIPE_ECONFIG ? CLI_EXIT_USAGE
                                                                     : CLI_EXIT_FAILED;
    return sum->failed ? CLI_EXIT_FAILED : CLI_EXIT_OK;
}

static double seconds_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* What is left of a deadline of ms after spent seconds; 1 ms at least, as 0 means none. */
static long deadline_left(long ms, double spent)
{
    double left = (double)ms - spent * 1000.0;
    return left >= 1.0 ? (long)left : 1;
}

int cmd_get(int argc, char **argv)
{
    struct get_cli g = {.opts = {.dir = "images", .mode = IMGPIPE_MODE_ASYNC}};
    int c;
    while ((c = cli_getopt(&cli_get_command, argc, argv)) != -1) {
        int rc = parse_option(&g, c);
        if (rc >= 0)
            return rc;
    }
    if ((g.opts.cacert && cli_check_cacert(g.opts.cacert)) || cli_report_check_stats(&g.report))
        return CLI_EXIT_USAGE;
    if (g.opts.retry_failed && g.opts.no_ledger) {
        cli_error("--retry-failed reads the failures from the ledger: not with --no-ledger");
        return CLI_EXIT_USAGE;
    }
    if (imgpipe_output_is_bucket(g.opts.dir) && !g.opts.state_dir && !g.opts.no_ledger) {
        cli_error("-o %s: a bucket needs --state DIR, a local directory for the ledger that "
                  "makes a rerun skip finished links (or --no-ledger)",
                  g.opts.dir);
        return CLI_EXIT_USAGE;
    }
    char err[IMGPIPE_ERRLEN];
    int status = g.metrics_listen ? imgpipe_metrics_start(&g.metrics, g.metrics_listen, err) : 0;
    if (status) {
        cli_error("--metrics-listen: %s", err);
        return status == IMGPIPE_EINVAL ? CLI_EXIT_USAGE : CLI_EXIT_FAILED;
    }
    imgpipe_source **sources = NULL;
    int n = 0, rc = 0;
    cli_set_source_net(g.opts.insecure, g.opts.cacert, g.opts.retries, g.opts.retry_wait_ms);
    cli_set_source_timeouts(g.opts.connect_timeout_ms, g.opts.read_timeout_ms, g.opts.timeout_ms);
    double opened = seconds_now();
    catch_signals(); /* before the API request: a stop ends it too (cli_open_sources) */
    /* --retry-failed takes the ledger's failures: no source is opened (no API request). */
    if (!g.opts.retry_failed &&
        (rc = cli_open_sources(argc - optind, argv + optind, &sources, &n))) {
        imgpipe_metrics_free(g.metrics);
        return rc;
    }
    if (g.opts.timeout_ms > 0) /* --timeout is the command's: the API's answer counts */
        g.opts.timeout_ms = deadline_left(g.opts.timeout_ms, seconds_now() - opened);
    g.opts.stop = &cli_stop_signal;
    g.report.opts = &g.opts;
    g.report.limits = " (limits: --max-bytes, --max-pixels)";
    g.opts.notice = cli_report_notice;
    g.report.total = expected_links(argv + optind, argc - optind, sources, n);
    cli_report_start(&g.report);
    imgpipe_summary sum;
    status = imgpipe_get(&g.opts, sources, n, on_item, &g, &sum, err);
    if (status)
        cli_error("%s", err);
    if (status == IMGPIPE_EINVAL)
        g.report.quiet = 1; /* a usage error ran nothing: no summary */
    cli_report_clear(&g.report);
    if (!g.report.quiet)
        cli_print_skipped(sources, n);
    int stats = cli_report_finish(&g.report, &sum, "downloaded");
    cli_free_sources(sources, n);
    imgpipe_metrics_free(g.metrics);
    rc = exit_code(status, &sum);
    return rc == CLI_EXIT_OK && stats ? CLI_EXIT_FAILED : rc;
}
