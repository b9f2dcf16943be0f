/* imgpipe enqueue: one Redis job per image link, for workers on any host. */
#include "cli.h"
#include "options.h"

#include <signal.h>
#include <string.h>

static const char intro[] =
    "Reads every SOURCE (default imgur:random; the Imgur API is asked here, once) and adds\n"
    "one job per image link to QUEUE on Redis. File names are given here, so they are the\n"
    "same whichever worker runs a job, and a name is given to one URL only, in every batch\n"
    "to the same DIR. Run 'imgpipe worker' on any host to do them.\n";

static const char outro[] =
    "Exit status: 0 queued, 1 Redis or a source failed, 2 usage or configuration error.\n";

enum { OPT_QUALITY = 256, OPT_FORCE, OPT_S3_ENDPOINT, OPT_PAGES };

static const struct cli_option options[] = {
    {"redis", 'r', "URL",
     "redis://[[user]:password@]host[:port][/db] or unix:/path;\n"
     "%-encode '@', ':' or '/' in the password as %40, %3A, %2F\n"
     "(default: $IMGPIPE_REDIS_URL, else " IMGPIPE_REDIS_DEFAULT_URL ")",
     'r', 0, 0},
    {"queue", 'Q', "QUEUE",
     "the queue (default: default): UTF-8 text, no control\n"
     "characters; -q, its old spelling, warns",
     'Q', 0, 0},
    {NULL, 'q', "QUEUE", "old spelling of -Q", 'Q', CLI_OPT_HIDDEN | CLI_OPT_DEPRECATED,
     "-Q/--queue"},
    {"output", 'o', "DIR",
     "where workers write, made absolute here (default: images);\n"
     "one spelling per directory: '.', '//' and a trailing '/'\n"
     "dropped, a '..' only after a directory here, not a link;\n"
     "each worker writes into DIR on its own host; or\n"
     "s3://BUCKET/PREFIX, one bucket for every worker (checked\n"
     "here with AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)",
     'o', 0, 0},
    {"s3-endpoint", 0, "URL",
     "the S3-compatible service (default: $IMGPIPE_S3_ENDPOINT,\n"
     "$AWS_ENDPOINT_URL, else AWS)",
     OPT_S3_ENDPOINT, 0, 0},
    {"thumb", 't', "WxH",
     "thumbnails to make as well (128x128, 128, 128x, x128);\n"
     "repeat for several sizes",
     't', 0, 0},
    CLI_THUMB_OPTIONS,
    {"quality", 0, "N",
     "JPEG, WebP and AVIF thumbnail quality, 1..100 (default: 85;\n"
     "AVIF: 60)",
     OPT_QUALITY, 0, 0},
    {"force", 0, NULL,
     "queue links the queue holds or has done already (they\n"
     "are skipped, and counted, without it)",
     OPT_FORCE, 0, 0},
    {"pages", 0, "N", "read N pages of imgur: listings, 1..1000 (default: 1)", OPT_PAGES, 0, 0},
    {"help", 'h', NULL, "this help", 'h', 0, 0},
};

const struct cli_command cli_enqueue_command = {"enqueue", "[options] [SOURCE...]", intro, outro,
                                                CLI_OPTIONS(options)};

struct enqueue_cli {
    imgpipe_enqueue_opts opts;
    const char *url;
};

/* Returns -1 to go on, else the exit code. */
static int parse_option(struct enqueue_cli *e, int c)
{
    imgpipe_enqueue_opts *o = &e->opts;
    switch (c) {
    case 'r':
        return (e->url = cli_hide_password(optarg)) ? -1 : CLI_EXIT_FAILED;
    case 'Q':
        o->queue = optarg;
        return -1;
    case 'o':
        o->dir = optarg;
        return -1;
    case 't':
        return cli_add_size("--thumb", o->thumbs, &o->nthumbs, optarg) ? CLI_EXIT_USAGE : -1;
    case OPT_QUALITY:
        return cli_parse_int("--quality", optarg, 1, 100, &o->quality) ? CLI_EXIT_USAGE : -1;
    case OPT_FORCE:
        o->force = 1;
        return -1;
    case OPT_S3_ENDPOINT:
        o->s3_endpoint = optarg;
        return -1;
    case OPT_PAGES:
        return cli_set_pages(optarg) ? CLI_EXIT_USAGE : -1;
    CLI_THUMB_CASES:
        return cli_thumb_option(&o->thumb, c, optarg);
    case 'h':
        cli_print_help(&cli_enqueue_command, stdout);
        return CLI_EXIT_OK;
    default:
        return CLI_EXIT_USAGE;
    }
}

int cmd_enqueue(int argc, char **argv)
{
    struct enqueue_cli e = {.opts = {.queue = "default", .dir = "images"}};
    int c;
    while ((c = cli_getopt(&cli_enqueue_command, argc, argv)) != -1) {
        int rc = parse_option(&e, c);
        if (rc >= 0)
            return rc;
    }
    char err[IMGPIPE_ERRLEN];
    imgpipe_queue *q;
    signal(SIGPIPE, SIG_IGN); /* a Redis that closes the socket: an error, not a kill */
    /* Usage errors first, then Redis: an unreachable Redis should not cost an Imgur API
     * request, nor hide a malformed spec or a missing IMGUR_CLIENT_ID (exit 2). */
    static char *default_spec[] = {"imgur:random"};
    if (argc - optind > 0 ? cli_check_sources(argc - optind, argv + optind)
                          : cli_check_sources(1, default_spec))
        return CLI_EXIT_USAGE;
    if (imgpipe_queue_open(&q, e.url, err)) {
        cli_error("%s", err);
        return CLI_EXIT_FAILED;
    }
    imgpipe_source **sources;
    int n, rc = cli_open_sources(argc - optind, argv + optind, &sources, &n);
    if (rc) {
        imgpipe_queue_free(q);
        return rc;
    }
    uint64_t count = 0, skipped = 0;
    char batch[64];
    int status = imgpipe_queue_enqueue(q, &e.opts, sources, n, &count, &skipped, batch, err);
    if (status) {
        cli_error("%s (%llu jobs were queued before that)", err, (unsigned long long)count);
        rc = status == IMGPIPE_ECONFIG || status == IMGPIPE_EINVAL ? CLI_EXIT_USAGE
                                                                   : CLI_EXIT_FAILED;
    } else {
        cli_print_skipped(sources, n);
        printf("enqueued %llu jobs on queue '%s' (batch %s)\n", (unsigned long long)count,
               e.opts.queue, batch);
        if (skipped)
            printf("skipped %llu links the queue holds or has done (--force queues them)\n",
                   (unsigned long long)skipped);
    }
    cli_free_sources(sources, n);
    imgpipe_queue_free(q);
    return rc;
}
