/* imgpipe_thumbs: thumbnails of image files already on disk (the tutorial's second half).
 * The files are listed first (paths only), then made on the same seq, threads or procs
 * executors as `get`: each file is a task whose work is reading it and writing its
 * thumbnails beside it. This half is CPU-bound, and in C threads scale as well as
 * processes. */
#include "run/job.h"
#include "image/codec.h"
#include "run/run.h"
#include "common/stop.h"
#include "common/workpool.h"
#include "store/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* file://HOST/ABSOLUTE-PATH: what a thumbnail in a bucket records as its source. */
static void file_url(const char *path, char *out, size_t cap)
{
    char host[256] = "localhost", *abs = realpath(path, NULL);
    gethostname(host, sizeof(host) - 1);
    snprintf(out, cap, "file://%s%s", host, abs ? abs : path);
    free(abs);
}

/* A file whose first bytes are no image's is refused before the rest is read. */
static int image_head(void *arg, const void *head, size_t n, uint64_t size, char *err)
{
    (void)arg;
    char why[IMGPIPE_ERRLEN];
    int rc = imgpipe_image_sniff(head, n, size, why);
    /* worded as imgpipe_job_thumbs words the whole file's check */
    return rc ? imgpipe_errf(err, rc, "thumbnail: %s", why) : IMGPIPE_OK;
}

/* Thumbnails of one file: read through its directory's descriptor, written beside it, or
 * to the run's bucket as PREFIX/NAME_thumbnail.EXT, where a name whose object another
 * file wrote is refused, not replaced. */
static void thumb_file(const imgpipe_run *r, const char *path, imgpipe_outcome *res)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, (size_t)(slash - path) + 1) : strdup(".");
    int dirfd = dir ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    char url[4200];
    imgpipe_output out = {.dirfd = dirfd};
    if (r->s3) {
        file_url(path, url, sizeof(url));
        out = (imgpipe_output){.dirfd = -1, .s3 = r->s3, .url = url, .guard = 1};
    }
    imgpipe_buf b = {0};
    res->thumbs = 0;
    if (dirfd < 0)
        res->status =
            imgpipe_errf(res->error, IMGPIPE_EIO, "cannot open its directory: %s", strerror(errno));
    else if ((res->status =
                  imgpipe_store_read_checked(dirfd, slash ? slash + 1 : path, SIZE_MAX / 2,
                                             image_head, NULL, &b, res->error)) == 0)
        res->status = imgpipe_job_thumbs(r->opts, &out, slash ? slash + 1 : path, b.data, b.len,
                                         &res->thumbs, res->thumb_names, res->error);
    res->bytes = b.len;
    imgpipe_buf_free(&b);
    if (dirfd >= 0)
        close(dirfd);
    free(dir);
}

static int wanted(const struct dirent *d)
{
    const char *name = d->d_name, *dot = strrchr(name, '.');
    if (name[0] == '.' || !dot || imgpipe_is_thumb_name(name))
        return 0;
    return imgpipe_codec_by_ext(dot + 1) != NULL;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

/* The temporary files a killed run (thumbs or get, on this host, by a process that no
 * longer exists) left in dir, where thumbnails are written: imgpipe_store_sweep. Once per
 * folder in a row, so that `thumbs *.jpg` does not list one folder once a file. */
static void sweep_dir(const char *dir, char *last, size_t cap)
{
    if (strcmp(dir, last) == 0)
        return;
    snprintf(last, cap, "%s", dir);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        imgpipe_store_sweep(fd);
        close(fd);
    }
}

static void sweep_for(const char *path, int is_dir, char *last, size_t cap)
{
    const char *slash = strrchr(path, '/');
    char *dir = is_dir  ? strdup(path)
                : slash ? strndup(path, (size_t)(slash - path) + 1)
                        : strdup(".");
    if (dir)
        sweep_dir(dir, last, cap);
    free(dir);
}

/* A directory adds its image files; anything else is taken as a file, to fail or not
 * when it is made, unless it is named as a thumbnail: a shell glob of a folder run twice makes
 * no x_thumbnail_thumbnail.jpg, as `thumbs pics` does not. */
static int collect(imgpipe_strvec *files, const char *path, char *swept, size_t cap)
{
    struct stat st;
    struct dirent **list;
    int is_dir = stat(path, &st) == 0 && S_ISDIR(st.st_mode);
    sweep_for(path, is_dir, swept, cap);
    if (!is_dir) {
        const char *slash = strrchr(path, '/');
        return imgpipe_is_thumb_name(slash ? slash + 1 : path) ? IMGPIPE_OK
                                                               : imgpipe_strvec_push(files, path);
    }
    int n = scandir(path, &list, wanted, by_name);
    if (n < 0)
        return imgpipe_strvec_push(files, path); /* fails with the reason when read */
    int rc = IMGPIPE_OK;
    size_t len = strlen(path);
    const char *sep = len && path[len - 1] == '/' ? "" : "/";
    for (int i = 0; i < n; i++) {
        char *p = malloc(len + strlen(list[i]->d_name) + 2);
        if (p && rc == IMGPIPE_OK) {
            sprintf(p, "%s%s%s", path, sep, list[i]->d_name);
            rc = imgpipe_strvec_push(files, p);
        } else if (!p) {
            rc = IMGPIPE_ENOMEM;
        }
        free(p);
        free(list[i]);
    }
    free(list);
    return rc;
}

/* The files in order, as the run's tasks; called under the run's lock. */
struct listing {
    imgpipe_strvec files;
    size_t next;
};

static int supply(imgpipe_run *r, imgpipe_task *t, char *err)
{
    struct listing *l = r->supply_ctx;
    if (l->next >= l->files.n)
        return 0;
    t->url = strdup(l->files.v[l->next]);
    if (!t->url)
        return imgpipe_errf(err, IMGPIPE_ENOMEM, "out of memory");
    t->index = l->next++;
    t->name[0] = '\0'; /* reported by its path */
    return 1;
}

static void perform(imgpipe_run *r, imgpipe_task *t, imgpipe_outcome *o)
{
    thumb_file(r, t->url, o);
}

static int execute(imgpipe_run *r, char *err)
{
    switch (r->opts->mode) {
    case IMGPIPE_MODE_SEQ:
        return imgpipe_exec_seq(r, err);
    case IMGPIPE_MODE_THREADS:
    case IMGPIPE_MODE_ASYNC: /* no I/O to overlap: the CPU pool is the whole of it */
        return imgpipe_exec_threads(r, err);
    case IMGPIPE_MODE_PROCS:
        return imgpipe_exec_procs(r, err);
    }
    return imgpipe_errf(err, IMGPIPE_EINVAL, "unknown mode %d", (int)r->opts->mode);
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static int by_base(const void *a, const void *b)
{
    return strcmp(base_name(*(char *const *)a), base_name(*(char *const *)b));
}

/* 1 when a and b are one file named twice (`pics pics/a.jpg`, `a.jpg ./a.jpg`): lstat, so
 * that a symbolic link is not taken for its target. */
static int same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return lstat(a, &sa) == 0 && lstat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

/* Of a and b (one file named twice), removes the one named later and returns the other:
 * the file keeps the path it was first named by. */
static char *drop_later(imgpipe_strvec *files, char *a, char *b)
{
    char *keep = NULL, *drop = NULL;
    size_t j = 0;
    for (size_t i = 0; i < files->n; i++) {
        char *p = files->v[i];
        if ((p == a || p == b) && !keep)
            keep = p, drop = p == a ? b : a;
        else if (p == drop) {
            free(p);
            continue;
        }
        files->v[j++] = p;
    }
    files->n = j;
    return keep;
}

/* IMGPIPE_EINVAL when two files have one name (sorted by name: O(n log n)); one file
 * named twice is kept once, as its two thumbnails would be one object. */
static int same_names(imgpipe_strvec *files, const char *dir, char *err)
{
    size_t n = files->n;
    char **v = n ? malloc(n * sizeof(*v)) : NULL;
    if (n && !v)
        return imgpipe_errf(err, IMGPIPE_ENOMEM, "out of memory");
    if (n)
        memcpy(v, files->v, n * sizeof(*v));
    qsort(v, n, sizeof(*v), by_base);
    int rc = IMGPIPE_OK;
    size_t keep = 0; /* the first of a run of one name */
    for (size_t i = 1; i < n && rc == IMGPIPE_OK; i++) {
        if (by_base(&v[keep], &v[i]) != 0)
            keep = i;
        else if (same_file(v[keep], v[i]))
            v[keep] = drop_later(files, v[keep], v[i]);
        else
            rc = imgpipe_errf(err, IMGPIPE_EINVAL,
                              "'%s' and '%s' would have the same thumbnail name in %s", v[keep],
                              v[i], dir);
    }
    free(v);
    return rc;
}

/* Two files of one name would have one thumbnail's name in the bucket: said before any
 * work, as is a bucket that cannot be written. */
static int open_bucket(const imgpipe_get_opts *o, imgpipe_strvec *files, imgpipe_s3 **s3, char *err)
{
    int rc = same_names(files, o->dir, err);
    if (rc)
        return rc;
    imgpipe_s3_config cfg = {.endpoint = o->s3_endpoint,
                             .retries = o->retries,
                             .retry_wait_ms = o->retry_wait_ms,
                             .insecure = o->insecure,
                             .cacert = o->cacert,
                             .stop = o->stop};
    rc = imgpipe_s3_open(s3, o->dir, &cfg, err);
    if (rc == IMGPIPE_OK && (rc = imgpipe_s3_check(*s3, err))) {
        imgpipe_s3_free(*s3);
        *s3 = NULL;
    }
    return rc;
}

int imgpipe_thumbs(const imgpipe_get_opts *opts, const char *const *paths, int npaths,
                   imgpipe_item_cb cb, void *userdata, imgpipe_summary *sum, char *err)
{
    memset(sum, 0, sizeof(*sum));
    if (opts->nthumbs < 1 || opts->nthumbs > IMGPIPE_THUMB_MAX_SIZES)
        return imgpipe_errf(err, IMGPIPE_EINVAL, "give 1 to %d thumbnail sizes",
                            IMGPIPE_THUMB_MAX_SIZES);
    int rc = imgpipe_thumb_opts_check(&opts->thumb, opts->thumbs, opts->nthumbs, err);
    if (rc)
        return rc;
    imgpipe_get_opts o = *opts;
    if (o.jobs <= 0)
        o.jobs = imgpipe_ncpus(); /* CPU-bound: one worker per core, in every mode */
    struct listing l = {0};
    char swept[4096] = "";
    for (int i = 0; i < npaths && rc == IMGPIPE_OK; i++)
        rc = collect(&l.files, paths[i], swept, sizeof(swept));
    if (rc) {
        imgpipe_strvec_free(&l.files);
        return imgpipe_errf(err, rc, "out of memory listing the files");
    }
    imgpipe_s3 *s3 = NULL;
    if (imgpipe_s3_is_url(opts->dir) && (rc = open_bucket(opts, &l.files, &s3, err))) {
        imgpipe_strvec_free(&l.files);
        return rc;
    }
    imgpipe_run r = {.opts = &o,
                     .dirfd = -1,
                     .s3 = s3,
                     .cb = cb,
                     .userdata = userdata,
                     .sum = sum,
                     .supply = supply,
                     .supply_ctx = &l,
                     .perform = perform,
                     .own_dirs = 1};
    pthread_mutex_init(&r.lock, NULL);
    double t0 = imgpipe_now();
    rc = execute(&r, err);
    /* Stopped: no new file was started, those in flight were finished (their temporary
     * files renamed or removed), and the rest are counted. */
    if (rc == IMGPIPE_OK && imgpipe_stop_set(opts->stop)) {
        sum->not_tried = l.files.n - l.next;
        rc = imgpipe_errf(err, IMGPIPE_ECANCELED, "interrupted; %llu files not tried",
                          (unsigned long long)sum->not_tried);
    }
    sum->seconds = imgpipe_now() - t0;
    pthread_mutex_destroy(&r.lock);
    imgpipe_strvec_free(&l.files);
    imgpipe_s3_free(s3);
    return rc;
}
