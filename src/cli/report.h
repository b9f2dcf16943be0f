/* What `get` and `thumbs` tell the user while they run and when they end: failures on
 * stderr, a progress line redrawn in place on a terminal, -v one line per item, --json one
 * object per item on stdout, and the summary (also as JSON with --stats FILE). */
#ifndef IMGPIPE_CLI_REPORT_H
#define IMGPIPE_CLI_REPORT_H

#include "imgpipe.h"

#include <stdio.h>

/* The long options of the report shared by get and thumbs (beside -q and -v). */
enum { CLI_OPT_JSON = 1000, CLI_OPT_STATS };

#define CLI_REASONS 16 /* by -status: IMGPIPE_E* codes are small and stable */

struct cli_report {
    int quiet, verbose, json, progress; /* progress: decided by cli_report_start */
    const char *stats_path;             /* --stats FILE, or NULL */
    const char *limits; /* appended to a failure over a limit: the options that set them */
    const imgpipe_get_opts *opts; /* for the thumbnails' names and the directory */
    int names_are_paths;          /* thumbs: an item's name is its file's path, not a name in dir */
    uint64_t total;               /* links expected, 0 when unknown (URL lists) */
    uint64_t done, failed, skipped, bytes;
    uint64_t by_reason[CLI_REASONS];
    double started, last_draw;
    int drawn; /* a progress line is on the screen */
};

/* Takes -q, -v, CLI_OPT_JSON or CLI_OPT_STATS (with optarg). */
void cli_report_option(struct cli_report *r, int c);

/* Decides on the progress line (stderr is a terminal, neither -q, -v nor --json). */
void cli_report_start(struct cli_report *r);

/* Removes the progress line, so that other lines can be printed. */
void cli_report_clear(struct cli_report *r);

/* The notice callback: a sentence the run wants the user to read (userdata: the report). */
void cli_report_notice(const char *msg, void *userdata);

/* The item callback (userdata: the struct cli_report). */
void cli_report_item(const imgpipe_item *item, void *userdata);

/* Clears the progress line, prints the summary (unless -q), writes --json's summary
 * object and --stats FILE. Returns 0, or -1 when --stats or --json could not be written. */
/* --stats FILE, before the run: the file can be written (its folder takes files, it is
 * not a folder), so that a wrong path is a usage error at once, not a failure once every
 * link is done. 0, or -1 printed. */
int cli_report_check_stats(const struct cli_report *r);

int cli_report_finish(struct cli_report *r, const imgpipe_summary *sum, const char *what);

#endif
