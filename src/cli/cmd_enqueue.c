/* imgpipe enqueue: one Redis job per image link, for workers on any host. */
#include "cli.h"

#include <getopt.h>
#include <signal.h>
#include <string.h>

static const char usage[] =
    "usage: imgpipe enqueue [options] [SOURCE...]\n"
    "\n"
    "Reads every SOURCE (default imgur:random; the Imgur API is asked here, once) and adds\n"
    "one job per image link to QUEUE on Redis. File names are given here, so they are the\n"
    "same whichever worker runs a job. Run 'imgpipe worker' on any host to do them.\n"
    "\n"
    "  -r, --redis URL           redis://[[user]:password@]host[:port][/db] or unix:/path;\n"
    "                            %-encode '@', ':' or '/' in the password as %40, %3A, %2F\n"
    "                            (default: $IMGPIPE_REDIS_URL, else " IMGPIPE_REDIS_DEFAULT_URL
    ")\n"
    "  -q, --queue QUEUE         the queue (default: default)\n"
    "  -o, --output DIR          where workers write, made absolute here (default: images);\n"
    "                            each worker writes into DIR on its own host\n"
    "  -t, --thumb WxH           thumbnails to make as well (128x128, 128, 128x, x128);\n"
    "                            repeat for several sizes\n"
    "      --fit FIT             contain (the default), cover or pad, as in 'imgpipe get'\n"
    "      --upscale             enlarge images smaller than the size (default: never)\n"
    "      --pad-colour COLOUR   padding and flattening colour (default: white)\n"
    "      --format FORMAT       jpeg, png, webp or avif (default: the source's)\n"
    "      --quality N           JPEG, WebP and AVIF thumbnail quality, 1..100 (default: 85;\n"
    "                            AVIF: 60)\n"
    "      --effort N            1..9, slower and smaller when higher (see 'imgpipe get')\n"
    "  -h, --help                this help\n"
    "\n"
    "Exit status: 0 queued, 1 Redis or a source failed, 2 usage or configuration error.\n";

enum { OPT_QUALITY = 256 };

static const struct option longopts[] = {{"redis", required_argument, NULL, 'r'},
                                         {"queue", required_argument, NULL, 'q'},
                                         {"output", required_argument, NULL, 'o'},
                                         {"thumb", required_argument, NULL, 't'},
                                         {"quality", required_argument, NULL, OPT_QUALITY},
                                         {"help", no_argument, NULL, 'h'},
                                         CLI_THUMB_LONGOPTS,
                                         {0, 0, 0, 0}};

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
        e->url = optarg;
        return -1;
    case 'q':
        o->queue = optarg;
        return -1;
    case 'o':
        o->dir = optarg;
        return -1;
    case 't':
        return cli_add_size("--thumb", o->thumbs, &o->nthumbs, optarg) ? CLI_EXIT_USAGE : -1;
    case OPT_QUALITY:
        return cli_parse_int("--quality", optarg, 1, 100, &o->quality) ? CLI_EXIT_USAGE : -1;
    CLI_THUMB_CASES:
        return cli_thumb_option(&o->thumb, c, optarg);
    case 'h':
        fputs(usage, stdout);
        return CLI_EXIT_OK;
    default:
        fputs(usage, stderr);
        return CLI_EXIT_USAGE;
    }
}

int cmd_enqueue(int argc, char **argv)
{
    struct enqueue_cli e = {.opts = {.queue = "default", .dir = "images"}};
    int c;
    while ((c = getopt_long(argc, argv, "r:q:o:t:h", longopts, NULL)) != -1) {
        int rc = parse_option(&e, c);
        if (rc >= 0)
            return rc;
    }
    char err[IMGPIPE_ERRLEN];
    imgpipe_queue *q;
    signal(SIGPIPE, SIG_IGN); /* a Redis that closes the socket: an error, not a kill */
    /* Redis first: an unreachable Redis should not cost an Imgur API request. */
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
    uint64_t count = 0;
    char batch[64];
    if (imgpipe_queue_enqueue(q, &e.opts, sources, n, &count, batch, err)) {
        cli_error("%s (%llu jobs were queued before that)", err, (unsigned long long)count);
        rc = CLI_EXIT_FAILED;
    } else {
        cli_print_skipped(sources, n);
        printf("enqueued %llu jobs on queue '%s' (batch %s)\n", (unsigned long long)count,
               e.opts.queue, batch);
    }
    cli_free_sources(sources, n);
    imgpipe_queue_free(q);
    return rc;
}
