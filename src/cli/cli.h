/* Shared by the imgpipe subcommands: exit codes, option values, sources, messages.
 * Only the CLI prints and decides exit codes; the library returns statuses. */
#ifndef IMGPIPE_CLI_H
#define IMGPIPE_CLI_H

#include "imgpipe.h"

#include <signal.h>
#include <stdio.h>

enum cli_exit {
    CLI_EXIT_OK = 0,     /* every item done */
    CLI_EXIT_FAILED = 1, /* some items failed, or the run could not complete */
    CLI_EXIT_USAGE = 2   /* bad usage or missing configuration */
};

/* --retries N: the most, the same in get and worker (each a transfer's retries). */
#define CLI_RETRIES_MAX 1000

/* Prints "imgpipe: <message>" on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* SIGINT and SIGTERM set cli_stop_signal (to the signal's number), the flag a command points
 * its run's stop at; cli_stopped_by() reads it (0: not stopped). */
extern volatile sig_atomic_t cli_stop_signal;
void cli_catch_stop_signals(void);
int cli_stopped_by(void);

/* Option values. Each returns 0, or prints what is wrong with which option and returns -1. */
int cli_parse_seconds(const char *opt, const char *text, long *ms);
int cli_parse_bytes(const char *opt, const char *text, uint64_t *bytes);
int cli_parse_int(const char *opt, const char *text, int lo, int hi, int *value);

/* --max-pixels: "N" or "NM" (millions), 1 .. 2^40. */
int cli_parse_pixels(const char *text, uint64_t *out);
/* --rate: requests per second, "5", "0.5" or "5/s". */
int cli_parse_rate(const char *text, double *rate);

/* Adds a WxH thumbnail size from option opt to sizes[*n] (at most IMGPIPE_THUMB_MAX_SIZES);
 * prints what is wrong and returns -1. */
int cli_add_size(const char *opt, imgpipe_thumb_size *sizes, int *n, const char *text);

/* The thumbnail settings get, thumbs and enqueue share: --fit, --upscale, --pad-colour,
 * --format, --effort. Their getopt entries, case labels and parser. */
enum { CLI_OPT_FIT = 1100, CLI_OPT_UPSCALE, CLI_OPT_PAD_COLOUR, CLI_OPT_FORMAT, CLI_OPT_EFFORT };
/* Their entries in a command's option table (options.h). */
#define CLI_THUMB_OPTIONS                                                                          \
    {"fit",                                                                                        \
     0,                                                                                            \
     "FIT",                                                                                        \
     "contain (fit inside, the default), cover (fill WxH, cropped\n"                               \
     "from the centre) or pad (fit inside, padded to exactly WxH)",                                \
     CLI_OPT_FIT,                                                                                  \
     0,                                                                                            \
     0},                                                                                           \
        {"upscale",       0, NULL, "enlarge images smaller than the size (default: never)",        \
         CLI_OPT_UPSCALE, 0, 0},                                                                   \
        {"pad-colour",                                                                             \
         0,                                                                                        \
         "COLOUR",                                                                                 \
         "the padding of --fit pad, and the background alpha is\n"                                 \
         "flattened onto for JPEG: #rrggbb, #rrggbbaa, white, black\n"                             \
         "or transparent (default: white)",                                                        \
         CLI_OPT_PAD_COLOUR,                                                                       \
         0,                                                                                        \
         0},                                                                                       \
        {"format",                                                                                 \
         0,                                                                                        \
         "FORMAT",                                                                                 \
         "thumbnails in jpeg, png, webp or avif (default: the source's;\n"                         \
         "GIF: png, HEIC: jpeg), named NAME_thumbnail.png.webp when\n"                             \
         "the source's extension is not the format's",                                             \
         CLI_OPT_FORMAT,                                                                           \
         0,                                                                                        \
         0},                                                                                       \
    {                                                                                              \
        "effort", 0, "N",                                                                          \
            "1..9, slower and smaller when higher: PNG zlib level, WebP\n"                         \
            "method, AVIF speed 10-N, JPEG progressive from 7\n"                                   \
            "(default: PNG 3, WebP method 4, AVIF speed 8)",                                       \
            CLI_OPT_EFFORT, 0, 0                                                                   \
    }
#define CLI_THUMB_CASES                                                                            \
    case CLI_OPT_FIT:                                                                              \
    case CLI_OPT_UPSCALE:                                                                          \
    case CLI_OPT_PAD_COLOUR:                                                                       \
    case CLI_OPT_FORMAT:                                                                           \
    case CLI_OPT_EFFORT
/* Takes one of them (arg: its value): -1 to go on, or CLI_EXIT_USAGE (printed). */
int cli_thumb_option(imgpipe_thumb_opts *t, int c, const char *arg);

/* The specs' usage and configuration errors (a malformed imgur: spec, IMGUR_CLIENT_ID
 * unset), printed, with no request: 0 or CLI_EXIT_USAGE. cli_open_sources does it too. */
int cli_check_sources(int nspecs, char **specs);
/* Opens every source spec (imgur:random when there is none), reading IMGUR_CLIENT_ID and
 * IMGUR_API_URL. On failure prints why and returns the exit code; *out is then NULL. */
int cli_open_sources(int nspecs, char **specs, imgpipe_source ***out, int *n);
void cli_free_sources(imgpipe_source **sources, int n);

/* --pages N (1..1000) for the sources cli_open_sources opens next: 0, or -1 (printed). */
int cli_set_pages(const char *text);
void cli_set_source_insecure(void);

/* TLS and retry settings for the API requests of the sources cli_open_sources opens next
 * (0 / NULL: the library's defaults). */
void cli_set_source_net(int insecure, const char *cacert, int retries, long retry_wait_ms);
/* The API requests' connect and read timeouts and whole-request deadline (0: the
 * library's). */
void cli_set_source_timeouts(long connect_timeout_ms, long read_timeout_ms, long timeout_ms);

/* --cacert FILE: 0 when FILE can be read, else -1 (printed). */
int cli_check_cacert(const char *path);

/* Prints the links a set of sources skipped, e.g. "2 links skipped (gif/video 1, album 1)". */
void cli_print_skipped(imgpipe_source *const *sources, int n);

/* Human sizes for summaries: "1.5 MB". */
void cli_format_bytes(uint64_t bytes, char *out, size_t cap);

/* Writes text with its control characters escaped (\xHH, C1 as \uHHHH): one line, nothing
 * a terminal acts on. */
void cli_put_text(FILE *f, const char *text);

/* -r URL: the URL's password is overwritten with '*' in argv (ps and /proc/PID/cmdline show
 * a command line to every user of the host); returns a copy to connect with, kept until
 * the next call or exit. NULL when out of memory (printed). */
const char *cli_hide_password(char *arg);

/* Each name of queues is one a queue can have; else -1, the first bad one printed. */
int cli_check_queue_names(const char *const *queues, int n);

/* --auth USER:PASSWORD: the same, for what follows the first ':'. */
const char *cli_hide_auth(char *arg);

int cmd_links(int argc, char **argv);
int cmd_get(int argc, char **argv);
int cmd_thumbs(int argc, char **argv);
int cmd_enqueue(int argc, char **argv);
int cmd_worker(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_requeue_failed(int argc, char **argv);
int cmd_purge(int argc, char **argv);
int cmd_dashboard(int argc, char **argv);

#endif
