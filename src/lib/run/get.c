/* imgpipe_get: sets up a run (output directory, names, fetch options) and hands it to the
 * executor of the chosen mode. */
#include "run/run.h"
#include "source/source.h"
#include "image/codec.h"
#include "common/stop.h"
#include "net/hostrate.h"
#include "store/ledger.h"
#include "common/retry.h"
#include "store/store.h"

#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *const mode_names[] = {"seq", "threads", "procs", "async"};

int imgpipe_parse_mode(const char *text, imgpipe_mode *mode)
{
    for (size_t i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++) {
        if (strcmp(text, mode_names[i]) == 0) {
            *mode = (imgpipe_mode)i;
            return IMGPIPE_OK;
        }
    }
    return IMGPIPE_EINVAL;
}

const char *imgpipe_mode_name(imgpipe_mode mode)
{
    return (unsigned)mode < sizeof(mode_names) / sizeof(mode_names[0]) ? mode_names[mode] : "?";
}

static int execute(imgpipe_run *r, char *err)
{
    switch (r->opts->mode) {
    case IMGPIPE_MODE_SEQ:
        return imgpipe_exec_seq(r, err);
    case IMGPIPE_MODE_THREADS:
        return imgpipe_exec_threads(r, err);
    case IMGPIPE_MODE_ASYNC:
        return imgpipe_exec_async(r, err);
    case IMGPIPE_MODE_PROCS:
        return imgpipe_exec_procs(r, err);
    }
    return imgpipe_errf(err, IMGPIPE_EINVAL, "unknown mode %d", (int)r->opts->mode);
}

int imgpipe_output_is_bucket(const char *output)
{
    return imgpipe_s3_is_url(output);
}

/* The run's output: a directory, or a bucket (checked before anything is downloaded)
 * with the ledger in the state directory. */
static int open_output(imgpipe_run *r, char *err)
{
    const imgpipe_get_opts *o = r->opts;
    const char *dir = o->dir ? o->dir : "images";
    r->dirfd = -1;
    if (!imgpipe_s3_is_url(dir))
        return imgpipe_store_open_dir(dir, &r->dirfd, err);
    if (!o->state_dir && !o->no_ledger)
        return imgpipe_errf(err, IMGPIPE_EINVAL,
                            "writing to %s needs a local state directory for the ledger that "
                            "makes a rerun skip finished links",
                            dir);
    imgpipe_s3_config cfg = {.endpoint = o->s3_endpoint,
                             .connect_timeout_ms = o->connect_timeout_ms,
                             .read_timeout_ms = o->read_timeout_ms,
                             .retries = o->retries,
                             .retry_wait_ms = o->retry_wait_ms,
                             .insecure = o->insecure,
                             .cacert = o->cacert,
                             .stop = o->stop,
                             .abort = o->stop}; /* "ends the transfers in flight" */
    int rc = imgpipe_s3_open(&r->s3, dir, &cfg, err);
    if (rc == IMGPIPE_OK)
        rc = imgpipe_s3_check(r->s3, err);
    if (rc == IMGPIPE_OK && o->state_dir)
        rc = imgpipe_store_open_dir(o->state_dir, &r->dirfd, err);
    if (rc) {
        imgpipe_s3_free(r->s3);
        r->s3 = NULL;
    }
    return rc;
}

static void close_output(imgpipe_run *r)
{
    if (r->dirfd >= 0)
        close(r->dirfd);
    imgpipe_s3_free(r->s3);
}

/* A directory that cannot hold the ledger stops the run before its first link, as a disk
 * error after it would: the message names the directory, and the links count as not
 * tried. */
static int not_started(imgpipe_run *r, char *err)
{
    char why[IMGPIPE_ERRLEN];
    const imgpipe_get_opts *o = r->opts;
    const char *dir = r->s3 ? o->state_dir : o->dir ? o->dir : "images";
    snprintf(why, sizeof(why), "%s", err);
    r->sum->not_tried = imgpipe_run_count_rest(r);
    return imgpipe_errf(err, IMGPIPE_EDISK, "stopped: in %s: %s; %llu links not tried", dir, why,
                        (unsigned long long)r->sum->not_tried);
}

/* The deadline ended the run with a source not read to its end (a pipe whose writer had
 * not finished, a page not fetched, a line without an end): links it may still hold were
 * never tried, which a run that reports only its items' outcomes would keep quiet. */
static int unfinished_at_deadline(const imgpipe_run *r)
{
    return r->deadline > 0 && !r->opts->retry_failed && r->cur < r->nsources &&
           imgpipe_now() >= r->deadline;
}

int imgpipe_get(const imgpipe_get_opts *opts, imgpipe_source *const *sources, int nsources,
                imgpipe_item_cb cb, void *userdata, imgpipe_summary *sum, char *err)
{
    memset(sum, 0, sizeof(*sum));
    if (opts->nthumbs < 0 || opts->nthumbs > IMGPIPE_THUMB_MAX_SIZES)
        return imgpipe_errf(err, IMGPIPE_EINVAL, "at most %d thumbnail sizes",
                            IMGPIPE_THUMB_MAX_SIZES);
    int bad = opts->nthumbs > 0
                  ? imgpipe_thumb_opts_check(&opts->thumb, opts->thumbs, opts->nthumbs, err)
                  : IMGPIPE_OK;
    if (bad)
        return bad;
    if (opts->name_template && imgpipe_name_template_check(opts->name_template, err))
        return IMGPIPE_EINVAL;
    if (opts->retry_failed && opts->no_ledger)
        return imgpipe_errf(err, IMGPIPE_EINVAL,
                            "retrying the ledger's failures needs the ledger, which is turned off");
    imgpipe_run r = {.opts = opts,
                     .fetch = {.connect_timeout_ms = opts->connect_timeout_ms,
                               .read_timeout_ms = opts->read_timeout_ms,
                               .max_bytes = opts->max_bytes,
                               .min_speed = opts->min_speed,
                               .insecure = opts->insecure,
                               .stop = opts->stop},
                     .retries = imgpipe_retry_count(opts->retries),
                     .sha_names =
                         opts->name_template && imgpipe_name_template_has_sha(opts->name_template),
                     .sources = sources,
                     .nsources = nsources,
                     .cb = cb,
                     .userdata = userdata,
                     .sum = sum};
    int rc = open_output(&r, err);
    if (rc)
        return rc;
    r.names = imgpipe_nameset_new();
    if (!r.names) {
        close_output(&r);
        return imgpipe_errf(err, IMGPIPE_ENOMEM, "out of memory");
    }
    if (!opts->no_ledger &&
        (rc = imgpipe_ledger_open(r.dirfd, opts->retry_failed, &r.ledger, err))) {
        if (rc == IMGPIPE_EDISK)
            rc = not_started(&r, err);
        imgpipe_nameset_free(r.names);
        close_output(&r);
        return rc;
    }
    if (r.dirfd >= 0)
        imgpipe_store_sweep(r.dirfd);
    r.rate = imgpipe_hostrate_new(opts->rate);
    pthread_mutex_init(&r.lock, NULL);
    double t0 = imgpipe_now();
    if (opts->timeout_ms > 0)
        r.deadline = t0 + (double)opts->timeout_ms / 1000.0;
    rc = execute(&r, err);
    imgpipe_run_end_repeats(&r);
    if (rc == IMGPIPE_OK && atomic_load(&r.fatal)) {
        sum->not_tried = imgpipe_run_count_rest(&r);
        rc = imgpipe_errf(err, IMGPIPE_EDISK, "%s; %llu links not tried", r.fatal_err,
                          (unsigned long long)sum->not_tried);
    } else if (rc == IMGPIPE_OK && imgpipe_stop_set(opts->stop))
        rc = imgpipe_errf(err, IMGPIPE_ECANCELED, "interrupted");
    else if (rc == IMGPIPE_OK && unfinished_at_deadline(&r))
        rc = imgpipe_errf(err, IMGPIPE_ETIMEOUT,
                          "the deadline passed before the links were all read from '%s': those "
                          "after the last one read were not tried",
                          imgpipe_source_name(r.sources[r.cur]));
    sum->seconds = imgpipe_now() - t0;
    pthread_mutex_destroy(&r.lock);
    imgpipe_hostrate_free(r.rate);
    imgpipe_ledger_free(r.ledger);
    imgpipe_nameset_free(r.names);
    close_output(&r);
    return rc;
}
