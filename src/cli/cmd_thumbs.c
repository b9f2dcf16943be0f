/* imgpipe thumbs: thumbnails of image files and directories already on disk. */
#include "cli.h"
#include "options.h"
#include "report.h"

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>

static const char intro[] =
    "Makes a thumbnail of each JPEG, PNG, WebP, GIF, AVIF or HEIC/HEIF file, and of each\n"
    "such file (*.jpg, *.jpeg, *.png, *.webp, *.gif, *.avif, *.heic, *.heif, *.hif) in each\n"
    "directory PATH (not recursively; hidden files are skipped, and files that are\n"
    "thumbnails already, NAME_thumbnail[_WxH].EXT, whether named here or found there),\n"
    "written beside it as NAME_thumbnail.EXT in the same format; a GIF's (first frame) as\n"
    "NAME_thumbnail.gif.png, a HEIC's as NAME_thumbnail.heic.jpg.\n";

enum { OPT_QUALITY = 256, OPT_MAX_PIXELS, OPT_S3_ENDPOINT };

static const struct cli_option options[] = {
    {"mode", 'm', "MODE",
     "seq (one after another), threads or procs (N workers)\n"
     "(default: threads)",
     'm', 0, 0},
    {"jobs", 'j', "N", "workers (default: one per core)", 'j', 0, 0},
    {"thumb", 't', "WxH",
     "fit thumbnails to WxH (default: 128x128): 128 is 128x128,\n"
     "128x any height, x128 any width; repeat for several sizes\n"
     "from one decode (then NAME_thumbnail_WxH.EXT)",
     't', 0, 0},
    {"size", 's', "WxH", "the same as -t/--thumb (its older spelling)", 't', CLI_OPT_ALIAS, 0},
    CLI_THUMB_OPTIONS,
    {"quality", 0, "N",
     "JPEG, WebP and AVIF thumbnail quality, 1..100 (default: 85;\n"
     "AVIF: 60)",
     OPT_QUALITY, 0, 0},
    {"max-pixels", 0, "N",
     "refuse images over N pixels (width x height, read from the\n"
     "header before decoding); N may end in M for millions\n"
     "(default: 100M)",
     OPT_MAX_PIXELS, 0, 0},
    {"output", 'o', "URL",
     "s3://BUCKET/PREFIX: PUT the thumbnails there as\n"
     "PREFIX/NAME_thumbnail.EXT instead (AWS_ACCESS_KEY_ID,\n"
     "AWS_SECRET_ACCESS_KEY, AWS_REGION; two files of one name\n"
     "are refused; another file's object is never replaced)",
     'o', 0, 0},
    {"s3-endpoint", 0, "URL",
     "the S3-compatible service (default: $IMGPIPE_S3_ENDPOINT,\n"
     "$AWS_ENDPOINT_URL, else AWS)",
     OPT_S3_ENDPOINT, 0, 0},
    {"verbose", 'v', NULL, "print a line for every file", 'v', 0, 0},
    {"json", 0, NULL, "one JSON object per file on stdout, then a summary", CLI_OPT_JSON, 0, 0},
    {"stats", 0, "FILE", "write the summary as JSON to FILE", CLI_OPT_STATS, 0, 0},
    {"quiet", 'q', NULL, "print only failures", 'q', 0, 0},
    {"help", 'h', NULL, "this help", 'h', 0, 0},
};

const struct cli_command cli_thumbs_command = {
    "thumbs", "[options] PATH...", intro,
    "Exit status: 0 all done, 1 some files failed, 2 usage error, 130/143 stopped by\n"
    "SIGINT/SIGTERM (no new file starts, those in hand are finished, nothing partial is left).\n",
    CLI_OPTIONS(options)};

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
    case 't':
        return cli_add_size("--thumb", o->thumbs, &o->nthumbs, optarg) ? CLI_EXIT_USAGE : -1;
    case OPT_QUALITY:
        return cli_parse_int("--quality", optarg, 1, 100, &o->thumb.quality) ? CLI_EXIT_USAGE : -1;
    case OPT_MAX_PIXELS:
        return cli_parse_pixels(optarg, &o->thumb.max_pixels) ? CLI_EXIT_USAGE : -1;
    case 'o':
        o->dir = optarg; /* checked after the options: --help goes first */
        return -1;
    case OPT_S3_ENDPOINT:
        o->s3_endpoint = optarg;
        return -1;
    CLI_THUMB_CASES:
        return cli_thumb_option(&o->thumb, c, optarg);
    case 'q':
    case 'v':
    case CLI_OPT_JSON:
    case CLI_OPT_STATS:
        cli_report_option(r, c);
        return -1;
    case 'h':
        cli_print_help(&cli_thumbs_command, stdout);
        return CLI_EXIT_OK;
    default:
        return CLI_EXIT_USAGE;
    }
}

int cmd_thumbs(int argc, char **argv)
{
    imgpipe_get_opts o = {.mode = IMGPIPE_MODE_THREADS};
    struct cli_report report = {
        .opts = &o, .names_are_paths = 1, .limits = " (limit: --max-pixels)"};
    int c;
    while ((c = cli_getopt(&cli_thumbs_command, argc, argv)) != -1) {
        int rc = parse_option(&o, &report, c);
        if (rc >= 0)
            return rc;
    }
    if (optind == argc) {
        cli_error("thumbs: give at least one file or directory; try 'imgpipe thumbs --help'");
        return CLI_EXIT_USAGE;
    }
    if (o.dir && !imgpipe_output_is_bucket(o.dir)) {
        cli_error("--output: thumbnails go beside their files, or to s3://BUCKET/PREFIX, "
                  "not to '%s'",
                  o.dir);
        return CLI_EXIT_USAGE;
    }
    if (cli_report_check_stats(&report))
        return CLI_EXIT_USAGE;
    if (o.nthumbs == 0)
        o.thumbs[o.nthumbs++] = (imgpipe_thumb_size){128, 128};
    imgpipe_summary sum;
    char err[IMGPIPE_ERRLEN];
    /* A stop finishes the files in hand: killed, a thumbnail's temporary file would stay. */
    cli_catch_stop_signals();
    o.stop = &cli_stop_signal;
    cli_report_start(&report);
    signal(SIGXFSZ, SIG_IGN); /* a thumbnail over a file size limit fails alone (EFBIG) */
    int status = imgpipe_thumbs(&o, (const char *const *)(argv + optind), argc - optind,
                                cli_report_item, &report, &sum, err);
    if (status)
        cli_error("%s", err);
    if (status && status != IMGPIPE_ECANCELED)
        return status == IMGPIPE_EINVAL || status == IMGPIPE_ECONFIG ? CLI_EXIT_USAGE
                                                                     : CLI_EXIT_FAILED;
    int stats = cli_report_finish(&report, &sum, "images read");
    if (status == IMGPIPE_ECANCELED)
        return 128 + (cli_stopped_by() ? cli_stopped_by() : SIGINT);
    if (stats != 0)
        return CLI_EXIT_FAILED;
    return sum.failed ? CLI_EXIT_FAILED : CLI_EXIT_OK;
}
