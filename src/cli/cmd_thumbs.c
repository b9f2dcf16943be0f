/* imgpipe thumbs: thumbnails of image files and directories already on disk. */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>

static const char usage[] =
    "usage: imgpipe thumbs [options] PATH...\n"
    "\n"
    "Makes a thumbnail of each JPEG, PNG, WebP or GIF file, and of each such file (*.jpg,\n"
    "*.jpeg, *.png, *.webp, *.gif) in each directory PATH (not recursively; files that are\n"
    "thumbnails already are skipped), written beside it as NAME_thumbnail.EXT in the same\n"
    "format; a GIF's (first frame) as NAME_thumbnail.png.\n"
    "\n"
    "  -m, --mode MODE     seq (one after another), threads or procs (N workers)\n"
    "                      (default: threads)\n"
    "  -j, --jobs N        workers (default: one per core)\n"
    "  -s, --size WxH      fit thumbnails within WxH (default: 128x128); repeat for several\n"
    "                      sizes from one decode (then NAME_thumbnail_WxH.EXT)\n"
    "      --quality N     JPEG and WebP quality, 1..100 (default: 85)\n"
    "      --max-pixels N  refuse images over N pixels (width x height, read from the\n"
    "                      header before decoding); N may end in M for millions\n"
    "                      (default: 100M)\n"
    "  -q, --quiet         print only failures\n"
    "  -h, --help          this help\n"
    "\n"
    "Exit status: 0 all done, 1 some files failed, 2 usage error.\n";

enum { OPT_QUALITY = 256, OPT_MAX_PIXELS };

static const struct option longopts[] = {{"mode", required_argument, NULL, 'm'},
                                         {"jobs", required_argument, NULL, 'j'},
                                         {"size", required_argument, NULL, 's'},
                                         {"quality", required_argument, NULL, OPT_QUALITY},
                                         {"max-pixels", required_argument, NULL, OPT_MAX_PIXELS},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"help", no_argument, NULL, 'h'},
                                         {0, 0, 0, 0}};

static void on_item(const imgpipe_item *item, void *userdata)
{
    (void)userdata;
    if (item->status) fprintf(stderr, "imgpipe: FAILED %s: %s\n", item->url, item->error);
}

/* "N" or "NM" (millions of pixels), 1 .. 2^40. */
static int parse_pixels(const char *text, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (end != text && (*end == 'M' || *end == 'm') && end[1] == '\0') {
        end++;
        v = v > (1ULL << 40) / 1000000 ? 0 : v * 1000000;
    }
    if (errno || end == text || *end || !isdigit((unsigned char)text[0]) || v < 1 ||
        v > (1ULL << 40)) {
        cli_error("--max-pixels: '%s' is not a pixel count like 50000000 or 50M", text);
        return -1;
    }
    *out = v;
    return 0;
}

/* Returns -1 to go on, else the exit code. */
static int parse_option(imgpipe_get_opts *o, int *quiet, int c)
{
    switch (c) {
    case 'm':
        if (imgpipe_parse_mode(optarg, &o->mode) == IMGPIPE_OK && o->mode != IMGPIPE_MODE_ASYNC)
            return -1;
        cli_error("--mode: '%s' is not one of seq, threads, procs", optarg);
        return CLI_EXIT_USAGE;
    case 'j':
        return cli_parse_int("--jobs", optarg, 1, 4096, &o->jobs) ? CLI_EXIT_USAGE : -1;
    case 's':
        if (o->nthumbs == IMGPIPE_THUMB_MAX_SIZES) {
            cli_error("--size: at most %d sizes", IMGPIPE_THUMB_MAX_SIZES);
            return CLI_EXIT_USAGE;
        }
        if (imgpipe_parse_size(optarg, &o->thumbs[o->nthumbs]) != IMGPIPE_OK) {
            cli_error("--size: '%s' is not a size like 128x128", optarg);
            return CLI_EXIT_USAGE;
        }
        o->nthumbs++;
        return -1;
    case OPT_QUALITY:
        return cli_parse_int("--quality", optarg, 1, 100, &o->thumb.quality) ? CLI_EXIT_USAGE : -1;
    case OPT_MAX_PIXELS:
        return parse_pixels(optarg, &o->thumb.max_pixels) ? CLI_EXIT_USAGE : -1;
    case 'q':
        *quiet = 1;
        return -1;
    case 'h':
        fputs(usage, stdout);
        return CLI_EXIT_OK;
    default:
        fputs(usage, stderr);
        return CLI_EXIT_USAGE;
    }
}

int cmd_thumbs(int argc, char **argv)
{
    imgpipe_get_opts o = {.mode = IMGPIPE_MODE_THREADS};
    int quiet = 0, c;
    while ((c = getopt_long(argc, argv, "m:j:s:qh", longopts, NULL)) != -1) {
        int rc = parse_option(&o, &quiet, c);
        if (rc >= 0) return rc;
    }
    if (optind == argc) {
        cli_error("thumbs: give at least one file or directory");
        fputs(usage, stderr);
        return CLI_EXIT_USAGE;
    }
    if (o.nthumbs == 0) o.thumbs[o.nthumbs++] = (imgpipe_thumb_size){128, 128};
    imgpipe_summary sum;
    char err[IMGPIPE_ERRLEN];
    if (imgpipe_thumbs(&o, (const char *const *)(argv + optind), argc - optind, on_item, NULL, &sum,
                       err)) {
        cli_error("%s", err);
        return CLI_EXIT_FAILED;
    }
    if (!quiet)
        fprintf(stderr, "imgpipe: %llu thumbnails of %llu images, %llu failed, in %.2f s\n",
                (unsigned long long)sum.thumbs, (unsigned long long)sum.done,
                (unsigned long long)sum.failed, sum.seconds);
    return sum.failed ? CLI_EXIT_FAILED : CLI_EXIT_OK;
}
