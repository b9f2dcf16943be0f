#include "report.h"
#include "cli.h"
#include "json.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DRAW_EVERY 0.1 /* seconds between redraws of the progress line */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void cli_report_option(struct cli_report *r, int c)
{
    if (c == 'q')
        r->quiet = 1;
    else if (c == 'v')
        r->verbose = 1;
    else if (c == CLI_OPT_JSON)
        r->json = 1;
    else if (c == CLI_OPT_STATS)
        r->stats_path = optarg;
}

void cli_report_start(struct cli_report *r)
{
    r->started = now();
    r->progress = !r->quiet && !r->verbose && !r->json && isatty(STDERR_FILENO);
}

void cli_report_clear(struct cli_report *r)
{
    if (r->drawn) {
        fputs("\r\033[K", stderr);
        r->drawn = 0;
    }
}

static void draw(struct cli_report *r)
{
    double t = now(), elapsed = t - r->started;
    if (t - r->last_draw < DRAW_EVERY)
        return;
    r->last_draw = t;
    char size[32], rate[32];
    cli_format_bytes(r->bytes, size, sizeof(size));
    cli_format_bytes(elapsed > 0 ? (uint64_t)((double)r->bytes / elapsed) : 0, rate, sizeof(rate));
    uint64_t seen = r->done + r->failed + r->skipped;
    fprintf(stderr, "\r\033[Kimgpipe: %llu", (unsigned long long)r->done);
    if (r->total)
        fprintf(stderr, "/%llu", (unsigned long long)r->total);
    fprintf(stderr, " done, %llu failed, %s, %s/s", (unsigned long long)r->failed, size, rate);
    if (r->total && seen && seen < r->total && elapsed > 0.5)
        fprintf(stderr, ", ETA %.0f s", elapsed / (double)seen * (double)(r->total - seen));
    r->drawn = 1;
}

/* get's items are names in DIR; thumbs' items are paths already. */
static void item_path(const struct cli_report *r, const char *name, char *out, size_t cap)
{
    if (r->opts->dir)
        snprintf(out, cap, "%s/%s", r->opts->dir, name);
    else
        snprintf(out, cap, "%s", name);
}

/* The thumbnails the library says it wrote, under the names it wrote them (a size may
 * have been written under its sized name): beside the image, in DIR or in its folder. */
static void thumb_paths_json(const struct cli_report *r, const imgpipe_item *item, FILE *f)
{
    char path[4600];
    const char *slash = strrchr(item->name, '/');
    int folder = slash ? (int)(slash + 1 - item->name) : 0, first = 1;
    fputc('[', f);
    for (int i = 0; i < IMGPIPE_THUMB_MAX_SIZES; i++) {
        if (!item->thumb_names[i])
            continue;
        if (r->opts->dir)
            item_path(r, item->thumb_names[i], path, sizeof(path));
        else
            snprintf(path, sizeof(path), "%.*s%s", folder, item->name, item->thumb_names[i]);
        fputs(first ? "" : ",", f);
        cli_json_string(f, path);
        first = 0;
    }
    fputc(']', f);
}

static const char *item_state(const imgpipe_item *item)
{
    return item->skipped ? "skipped" : item->status ? "failed" : "ok";
}

static void item_json(const struct cli_report *r, const imgpipe_item *item)
{
    char path[4600];
    if (r->names_are_paths) /* thumbs -o s3://: the file read, not the bucket */
        snprintf(path, sizeof(path), "%s", item->name);
    else
        item_path(r, item->name, path, sizeof(path));
    fputs("{\"url\":", stdout);
    cli_json_string(stdout, item->url);
    fputs(",\"path\":", stdout);
    if (item->status)
        fputs("null", stdout);
    else
        cli_json_string(stdout, path);
    fputs(",\"thumbnails\":", stdout);
    thumb_paths_json(r, item, stdout);
    printf(",\"bytes\":%llu,\"sha256\":", (unsigned long long)item->bytes);
    cli_json_string(stdout, item->sha256);
    printf(",\"ms\":%.0f,\"attempts\":%d,\"status\":\"%s\",\"error\":", item->seconds * 1000.0,
           item->attempts, item_state(item));
    if (item->status)
        cli_json_string(stdout, item->error);
    else
        fputs("null", stdout);
    fputs("}\n", stdout);
}

/* "imgpipe: <what> <url>": the URL as text (a queue's may hold control characters). */
static void line_head(const char *what, const imgpipe_item *item)
{
    fprintf(stderr, "imgpipe: %s ", what);
    cli_put_text(stderr, item->url);
}

static void item_line(const imgpipe_item *item)
{
    char size[32];
    cli_format_bytes(item->bytes, size, sizeof(size));
    if (item->skipped) {
        line_head("skipped", item);
        fputs(": already done as ", stderr);
        cli_put_text(stderr, item->name);
        fputc('\n', stderr);
    } else if (!item->status) {
        line_head("ok", item);
        fputs(" -> ", stderr);
        cli_put_text(stderr, item->name);
        fprintf(stderr, " (%s, %d thumbnails, %.2f s)\n", size, item->thumbs, item->seconds);
    }
}

static void failure_line(const imgpipe_item *item, const char *limits)
{
    const char *hint = item->status == IMGPIPE_ETOOBIG && limits ? limits : "";
    line_head("FAILED", item);
    if (item->attempts > 1)
        fprintf(stderr, ": %s%s (after %d attempts)\n", item->error, hint, item->attempts);
    else
        fprintf(stderr, ": %s%s\n", item->error, hint);
}

void cli_report_notice(const char *msg, void *userdata)
{
    struct cli_report *r = userdata;
    cli_report_clear(r);
    fputs("imgpipe: ", stderr);
    cli_put_text(stderr, msg); /* it may quote a queue's URL */
    fputc('\n', stderr);
}

void cli_report_item(const imgpipe_item *item, void *userdata)
{
    struct cli_report *r = userdata;
    if (item->skipped) {
        r->skipped++;
    } else if (item->status) {
        r->failed++;
        r->by_reason[-item->status < CLI_REASONS ? -item->status : 0]++;
    } else {
        r->done++;
        r->bytes += item->bytes;
    }
    if (r->json)
        item_json(r, item);
    if (item->status && item->status != IMGPIPE_ECANCELED) {
        cli_report_clear(r);
        failure_line(item, r->limits); /* one line says the run was interrupted, not one per item */
    } else if (r->verbose) {
        item_line(item);
    }
    if (r->progress)
        draw(r);
}

static void summary_json(const struct cli_report *r, const imgpipe_summary *s, FILE *f)
{
    fprintf(f,
            "{\"summary\":{\"done\":%llu,\"failed\":%llu,\"skipped\":%llu,\"not_tried\":%llu,"
            "\"bytes\":%llu,"
            "\"thumbnails\":%llu,\"seconds\":%.3f,\"images_per_second\":%.1f,"
            "\"failed_by_reason\":{",
            (unsigned long long)s->done, (unsigned long long)s->failed,
            (unsigned long long)s->skipped, (unsigned long long)s->not_tried,
            (unsigned long long)s->bytes, (unsigned long long)s->thumbs, s->seconds,
            s->seconds > 0 ? (double)s->done / s->seconds : 0.0);
    int first = 1;
    for (int i = 0; i < CLI_REASONS; i++) {
        if (!r->by_reason[i])
            continue;
        fputs(first ? "" : ",", f);
        cli_json_string(f, imgpipe_strerror(-i));
        fprintf(f, ":%llu", (unsigned long long)r->by_reason[i]);
        first = 0;
    }
    fputs("}}}\n", f);
}

static void summary_line(const struct cli_report *r, const imgpipe_summary *s, const char *what)
{
    char size[32];
    cli_format_bytes(s->bytes, size, sizeof(size));
    fprintf(stderr, "imgpipe: %llu %s (%s), %llu thumbnails, %llu failed",
            (unsigned long long)s->done, what, size, (unsigned long long)s->thumbs,
            (unsigned long long)s->failed);
    const char *sep = " (";
    for (int i = 0; i < CLI_REASONS; i++) {
        if (!r->by_reason[i])
            continue;
        fprintf(stderr, "%s%llu %s", sep, (unsigned long long)r->by_reason[i],
                imgpipe_strerror(-i));
        sep = ", ";
    }
    fputs(sep[0] == ',' ? ")" : "", stderr);
    if (s->skipped)
        fprintf(stderr, ", %llu already done", (unsigned long long)s->skipped);
    if (s->not_tried)
        fprintf(stderr, ", %llu not tried", (unsigned long long)s->not_tried);
    fprintf(stderr, ", in %.2f s", s->seconds);
    if (s->seconds > 0 && s->done)
        fprintf(stderr, " (%.1f images/s)", (double)s->done / s->seconds);
    if (r->opts->dir) { /* one '/' after the folder, given with one (s3://b/p/) or not */
        size_t n = strlen(r->opts->dir);
        fprintf(stderr, " -> %s%s", r->opts->dir, n && r->opts->dir[n - 1] == '/' ? "" : "/");
    }
    fputc('\n', stderr);
}

/* The summary into the file at path: 0; -1 when it cannot be opened (said so, naming
 * path); -2 when a write or the close failed (errno says why). */
static int summary_file(const struct cli_report *r, const imgpipe_summary *s, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        cli_error("--stats: cannot write '%s': %s", path, strerror(errno));
        return -1;
    }
    summary_json(r, s, f);
    int bad = ferror(f);
    bad |= fclose(f) != 0;
    return bad ? -2 : 0;
}

/* A regular stats file appears whole or not at all, like every file imgpipe writes. Into
 * a FIFO, a device or through a link (--stats /dev/stdout, a pipe a monitor reads), it is
 * written to as the shell's '>' would, never replaced by a file. */
static int write_stats(const struct cli_report *r, const imgpipe_summary *s)
{
    struct stat st;
    int through = lstat(r->stats_path, &st) == 0 && !S_ISREG(st.st_mode);
    char tmp[4200];
    snprintf(tmp, sizeof(tmp), "%s.tmp.%d", r->stats_path, (int)getpid());
    int rc = summary_file(r, s, through ? r->stats_path : tmp);
    if (rc == 0 && !through && rename(tmp, r->stats_path) != 0)
        rc = -2;
    if (rc == -2)
        cli_error("--stats: cannot write '%s': %s", r->stats_path, strerror(errno));
    if (rc == -2 && !through)
        unlink(tmp);
    return rc ? -1 : 0;
}

int cli_report_check_stats(const struct cli_report *r)
{
    const char *path = r->stats_path;
    struct stat st;
    if (!path)
        return 0;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        cli_error("--stats: '%s' is a directory", path);
        return -1;
    }
    if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode))
        return 0; /* a FIFO, device or link: written through, as the shell's '>' would */
    /* a regular file is written beside itself and renamed: its folder must take files */
    const char *slash = strrchr(path, '/');
    char dir[4200];
    snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) + 1 : 1, slash ? path : ".");
    if (access(dir, W_OK | X_OK) != 0) {
        cli_error("--stats: cannot write '%s': %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

int cli_report_finish(struct cli_report *r, const imgpipe_summary *sum, const char *what)
{
    cli_report_clear(r);
    if (!r->quiet)
        summary_line(r, sum, what);
    int bad = 0;
    if (r->json) { /* a full disk or a closed pipe under --json is a failed run, said so */
        summary_json(r, sum, stdout);
        if (fflush(stdout) != 0 || ferror(stdout)) {
            cli_error("--json: cannot write to standard output: %s", strerror(errno));
            bad = -1;
        }
    }
    if (r->stats_path && write_stats(r, sum) != 0)
        bad = -1;
    return bad;
}
