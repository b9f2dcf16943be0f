/* imgpipe thumbs: thumbnails of image files and directories already on disk. */
#include "cli.h"
#include "report.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>

static const char usage[] =
    "usage: imgpipe thumbs [options] PATH...\n"
    "\n"
    "Makes a thumbnail of each JPEG, PNG, WebP, GIF, AVIF or HEIC/HEIF file, and of each\n"
    "such file (*.jpg, *.jpeg, *.png, *.webp, *.gif, *.avif, *.heic, *.heif, *.hif) in each\n"
    "directory PATH (not recursively; files that are thumbnails already are skipped),\n"
    "written beside it as NAME_thumbnail.EXT in the same format; a GIF's (first frame) as\n"
    "NAME_thumbnail.gif.png, a HEIC's as NAME_thumbnail.heic.jpg.\n"
    "\n"
    "  -m, --mode MODE     seq (one after another), threads or procs (N workers)\n"
    "                      (default: threads)\n"
    "  -j, --jobs N        workers (default: one per core)\n"
    "  -s, --size WxH      fit thumbnails to WxH (default: 128x128): 128 is 128x128, 128x\n"
    "                      any height, x128 any width; repeat for several sizes from one\n"
    "                      decode (then NAME_thumbnail_WxH.EXT)\n"
    "      --fit FIT       contain (fit inside, the default), cover (fill WxH, cropped\n"
    "                      from the centre) or pad (fit inside, padded to exactly WxH)\n"
    "      --upscale       enlarge images smaller than the size (default: never)\n"
    "      --pad-colour COLOUR\n"
    "                      the padding of --fit pad, and the background alpha is\n"
    "                      flattened onto for JPEG: #rrggbb, #rrggbbaa, white, black or\n"
    "                      transparent (default: white)\n"
    "      --format FORMAT\n"
    "                      jpeg, png, webp or avif (default: the source's; GIF: png,\n"
    "                      HEIC: jpeg); the name gets its extension: NAME_thumbnail.png.webp\n"
    "      --quality N     JPEG, WebP and AVIF quality, 1..100 (default: 85; AVIF: 60)\n"
    "      --effort N      1..9, slower and smaller when higher: PNG zlib level, WebP\n"
    "                      method, AVIF speed 10-N, JPEG progressive from 7 (default:\n"
    "                      PNG 3, WebP method 4, AVIF speed 8)\n"
    "      --max-pixels N  refuse images over N pixels (width x height, read from the\n"
    "                      header before decoding); N may end in M for millions\n"
    "                      (default: 100M)\n"
    "  -v, --verbose       print a line for every file\n"
    "      --json          one JSON object per file on stdout, then a summary\n"
    "      --stats FILE    write the summary as JSON to FILE\n"
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
                                         {"verbose", no_argument, NULL, 'v'},
                                         {"json", no_argument, NULL, CLI_OPT_JSON},
                                         {"stats", required_argument, NULL, CLI_OPT_STATS},
                                         {"help", no_argument, NULL, 'h'},
                                         CLI_THUMB_LONGOPTS,
                                         {0, 0, 0, 0}};

static int parse_option(imgpipe_get_opts *o, struct cli_report *r, int c)
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
        return cli_add_size("--size", o->thumbs, &o->nthumbs, optarg) ? CLI_EXIT_USAGE : -1;
    case OPT_QUALITY:
        return cli_parse_int("--quality", optarg, 1, 100, &o->thumb.quality) ? CLI_EXIT_USAGE : -1;
    case OPT_MAX_PIXELS:
        return cli_parse_pixels(optarg, &o->thumb.max_pixels) ? CLI_EXIT_USAGE : -1;
    CLI_THUMB_CASES:
        return cli_thumb_option(&o->thumb, c, optarg);
    case 'q':
    case 'v':
    case CLI_OPT_JSON:
    case CLI_OPT_STATS:
        cli_report_option(r, c);
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
    struct cli_report report = {.opts = &o};
    int c;
    while ((c = getopt_long(argc, argv, "m:j:s:vqh", longopts, NULL)) != -1) {
        int rc = parse_option(&o, &report, c);
        if (rc >= 0)
            return rc;
    }
    if (optind == argc) {
        cli_error("thumbs: give at least one file or directory");
        fputs(usage, stderr);
        return CLI_EXIT_USAGE;
    }
    if (o.nthumbs == 0)
        o.thumbs[o.nthumbs++] = (imgpipe_thumb_size){128, 128};
    imgpipe_summary sum;
    char err[IMGPIPE_ERRLEN];
    cli_report_start(&report);
    if (imgpipe_thumbs(&o, (const char *const *)(argv + optind), argc - optind, cli_report_item,
                       &report, &sum, err)) {
        cli_error("%s", err);
        return CLI_EXIT_FAILED;
    }
    if (cli_report_finish(&report, &sum, "images read") != 0)
        return CLI_EXIT_FAILED;
    return sum.failed ? CLI_EXIT_FAILED : CLI_EXIT_OK;
}
