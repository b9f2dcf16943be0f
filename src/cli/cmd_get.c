/* imgpipe get: download the images of the sources into a directory, with thumbnails. */
#include "cli.h"

#include <getopt.h>
#include <string.h>

static const char usage[] =
    "usage: imgpipe get [options] [SOURCE...]\n"
    "\n"
    "Downloads every image link of each SOURCE (default imgur:random) into DIR, each file\n"
    "named after the last segment of its URL, written whole or not at all.\n"
    "\n"
    "  -o, --output DIR          output directory, created if missing (default: images)\n"
    "  -m, --mode MODE           how links are run (default: async):\n"
    "                              seq      one after another\n"
    "                              threads  a pool of N threads (default N: 8)\n"
    "                              procs    N worker processes (default N: cores)\n"
    "                              async    one event loop, N transfers in flight\n"
    "                                       (default N: 64), CPU work on every core\n"
    "  -j, --jobs N              the N of the mode\n"
    "  -t, --thumb WxH           also make a thumbnail fitting WxH, named NAME_thumbnail.EXT;\n"
    "                            repeat for several sizes (then NAME_thumbnail_WxH.EXT)\n"
    "      --quality N           JPEG thumbnail quality, 1..100 (default: 85)\n"
    "      --max-bytes SIZE      refuse images larger than SIZE, e.g. 20M (default: 50M)\n"
    "      --timeout S           deadline for the whole run: then transfers stop, no partial\n"
    "                            file is left, unfinished links fail as timed out\n"
    "      --connect-timeout S   seconds to connect (default: 3)\n"
    "      --read-timeout S      abort a transfer that receives nothing for S seconds\n"
    "                            (default: 30)\n"
    "  -q, --quiet               print only failures\n"
    "  -h, --help                this help\n"
    "\n"
    "Exit status: 0 all done, 1 some items failed, 2 usage or configuration error.\n";

enum { OPT_QUALITY = 256, OPT_MAX_BYTES, OPT_TIMEOUT, OPT_CONNECT_TIMEOUT, OPT_READ_TIMEOUT };

static const struct option longopts[] = {
    {"output", required_argument, NULL, 'o'},
    {"mode", required_argument, NULL, 'm'},
    {"jobs", required_argument, NULL, 'j'},
    {"thumb", required_argument, NULL, 't'},
    {"quality", required_argument, NULL, OPT_QUALITY},
    {"max-bytes", required_argument, NULL, OPT_MAX_BYTES},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT},
    {"read-timeout", required_argument, NULL, OPT_READ_TIMEOUT},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {0, 0, 0, 0}};

struct get_cli {
    imgpipe_get_opts opts;
    int quiet;
};

static int add_thumb(imgpipe_get_opts *o, const char *text)
{
    if (o->nthumbs == IMGPIPE_THUMB_MAX_SIZES) {
        cli_error("--thumb: at most %d sizes", IMGPIPE_THUMB_MAX_SIZES);
        return -1;
    }
    if (imgpipe_parse_size(text, &o->thumbs[o->nthumbs]) != IMGPIPE_OK) {
        cli_error("--thumb: '%s' is not a size like 128x128", text);
        return -1;
    }
    o->nthumbs++;
    return 0;
}

/* Returns -1 to go on, else the exit code. */
static int parse_option(struct get_cli *g, int c)
{
    imgpipe_get_opts *o = &g->opts;
    switch (c) {
    case 'o':
        o->dir = optarg;
        return -1;
    case 'm':
        if (imgpipe_parse_mode(optarg, &o->mode) == IMGPIPE_OK) return -1;
        cli_error("--mode: '%s' is not one of seq, threads, procs, async", optarg);
        return CLI_EXIT_USAGE;
    case 'j':
        return cli_parse_int("--jobs", optarg, 1, 4096, &o->jobs) ? CLI_EXIT_USAGE : -1;
    case 't':
        return add_thumb(o, optarg) ? CLI_EXIT_USAGE : -1;
    case OPT_QUALITY:
        return cli_parse_int("--quality", optarg, 1, 100, &o->thumb.quality) ? CLI_EXIT_USAGE : -1;
    case OPT_MAX_BYTES:
        return cli_parse_bytes("--max-bytes", optarg, &o->max_bytes) ? CLI_EXIT_USAGE : -1;
    case OPT_TIMEOUT:
        return cli_parse_seconds("--timeout", optarg, &o->timeout_ms) ? CLI_EXIT_USAGE : -1;
    case OPT_CONNECT_TIMEOUT:
        return cli_parse_seconds("--connect-timeout", optarg, &o->connect_timeout_ms)
                   ? CLI_EXIT_USAGE
                   : -1;
    case OPT_READ_TIMEOUT:
        return cli_parse_seconds("--read-timeout", optarg, &o->read_timeout_ms) ? CLI_EXIT_USAGE
                                                                                : -1;
    case 'q':
        g->quiet = 1;
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
    (void)userdata;
    if (item->status) fprintf(stderr, "imgpipe: FAILED %s: %s\n", item->url, item->error);
}

static void print_summary(const struct get_cli *g, const imgpipe_summary *s)
{
    char size[32];
    cli_format_bytes(s->bytes, size, sizeof(size));
    fprintf(stderr, "imgpipe: %llu downloaded (%s), %llu thumbnails, %llu failed, in %.2f s",
            (unsigned long long)s->done, size, (unsigned long long)s->thumbs,
            (unsigned long long)s->failed, s->seconds);
    if (s->seconds > 0 && s->done)
        fprintf(stderr, " (%.1f images/s)", (double)s->done / s->seconds);
    fprintf(stderr, " -> %s/\n", g->opts.dir ? g->opts.dir : "images");
}

int cmd_get(int argc, char **argv)
{
    struct get_cli g = {.opts = {.dir = "images", .mode = IMGPIPE_MODE_ASYNC}};
    int c;
    while ((c = getopt_long(argc, argv, "o:m:j:t:qh", longopts, NULL)) != -1) {
        int rc = parse_option(&g, c);
        if (rc >= 0) return rc;
    }
    imgpipe_source **sources;
    int n, rc = cli_open_sources(argc - optind, argv + optind, &sources, &n);
    if (rc) return rc;
    imgpipe_summary sum;
    char err[IMGPIPE_ERRLEN];
    int status = imgpipe_get(&g.opts, sources, n, on_item, NULL, &sum, err);
    if (status) {
        cli_error("%s", err);
        rc = status == IMGPIPE_EINVAL ? CLI_EXIT_USAGE : CLI_EXIT_FAILED;
    } else {
        rc = sum.failed ? CLI_EXIT_FAILED : CLI_EXIT_OK;
    }
    if (!g.quiet) {
        cli_print_skipped(sources, n);
        print_summary(&g, &sum);
    }
    cli_free_sources(sources, n);
    return rc;
}
