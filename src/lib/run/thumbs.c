/* imgpipe_thumbs: thumbnails of image files already on disk (the tutorial's second half).
 * The files are listed first (paths only), then made seq, on threads or in processes:
 * this half is CPU-bound, and in C threads scale as well as processes. */
#include "run/job.h"
#include "image/codec.h"
#include "run/run.h"
#include "common/workpool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct thumbs_run {
    const imgpipe_get_opts *opts;
    imgpipe_strvec files;
    imgpipe_item_cb cb;
    void *userdata;
    imgpipe_summary *sum;
    pthread_mutex_t lock;
    size_t next; /* threads: the next file to take, under lock */
};

struct result {
    uint64_t index, bytes;
    int status, thumbs;
    char error[IMGPIPE_ERRLEN];
};

static void report(struct thumbs_run *r, const struct result *res)
{
    const char *path = r->files.v[res->index];
    imgpipe_item item = {.index = res->index,
                         .url = path,
                         .name = path,
                         .status = res->status,
                         .error = res->status ? res->error : "",
                         .bytes = res->bytes,
                         .thumbs = res->thumbs};
    if (res->status) {
        r->sum->failed++;
    } else {
        r->sum->done++;
        r->sum->bytes += res->bytes;
    }
    r->sum->thumbs += (uint64_t)res->thumbs;
    if (r->cb)
        r->cb(&item, r->userdata);
}

static int read_file(int dirfd, const char *name, imgpipe_buf *b, char *err)
{
    int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return imgpipe_errf(err, IMGPIPE_EIO, "cannot open: %s", strerror(errno));
    struct stat st;
    int rc = IMGPIPE_OK;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        rc = imgpipe_errf(err, IMGPIPE_EIO, "not a regular file");
    else if (imgpipe_buf_reserve(b, (size_t)st.st_size + 1) != IMGPIPE_OK)
        rc = imgpipe_errf(err, IMGPIPE_ENOMEM, "out of memory");
    while (rc == IMGPIPE_OK) {
        ssize_t n = read(fd, b->data + b->len, b->cap - b->len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            rc = imgpipe_errf(err, IMGPIPE_EIO, "cannot read: %s", strerror(errno));
        else if (n == 0)
            break;
        else if ((b->len += (size_t)n) == b->cap && imgpipe_buf_reserve(b, 65536))
            rc = imgpipe_errf(err, IMGPIPE_ENOMEM, "out of memory");
    }
    close(fd);
    return rc;
}

/* Thumbnails of one file, written beside it through its directory's descriptor. */
static void thumb_file(const imgpipe_get_opts *opts, const char *path, struct result *res)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, (size_t)(slash - path) + 1) : strdup(".");
    int dirfd = dir ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    imgpipe_buf b = {0};
    res->thumbs = 0;
    if (dirfd < 0)
        res->status =
            imgpipe_errf(res->error, IMGPIPE_EIO, "cannot open its directory: %s", strerror(errno));
    else if ((res->status = read_file(dirfd, slash ? slash + 1 : path, &b, res->error)) == 0)
        res->status = imgpipe_job_thumbs(opts, dirfd, slash ? slash + 1 : path, b.data, b.len,
                                         &res->thumbs, res->error);
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

/* A directory adds its image files; anything else is taken as a file, to fail or not
 * when it is made. */
static int collect(imgpipe_strvec *files, const char *path)
{
    struct stat st;
    struct dirent **list;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return imgpipe_strvec_push(files, path);
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

static void run_seq(struct thumbs_run *r)
{
    struct result res;
    for (size_t i = 0; i < r->files.n; i++) {
        res.index = i;
        thumb_file(r->opts, r->files.v[i], &res);
        report(r, &res);
    }
}

static void *thread_main(void *arg)
{
    struct thumbs_run *r = arg;
    struct result res;
    for (;;) {
        pthread_mutex_lock(&r->lock);
        size_t i = r->next++;
        pthread_mutex_unlock(&r->lock);
        if (i >= r->files.n)
            return NULL;
        res.index = i;
        thumb_file(r->opts, r->files.v[i], &res);
        pthread_mutex_lock(&r->lock);
        report(r, &res);
        pthread_mutex_unlock(&r->lock);
    }
}

static int run_threads(struct thumbs_run *r, int n, char *err)
{
    pthread_t *t = calloc((size_t)n, sizeof(*t));
    int started = 0;
    while (t && started < n && pthread_create(&t[started], NULL, thread_main, r) == 0)
        started++;
    for (int i = 0; i < started; i++)
        pthread_join(t[i], NULL);
    free(t);
    return started ? IMGPIPE_OK : imgpipe_errf(err, IMGPIPE_ENOMEM, "cannot start threads");
}

/* Child k makes files k, k+n, k+2n... and writes each result to its pipe (one write of
 * less than PIPE_BUF bytes, so it arrives whole). */
static void child_main(struct thumbs_run *r, int k, int n, int fd)
{
    struct result res;
    for (size_t i = (size_t)k; i < r->files.n; i += (size_t)n) {
        memset(&res, 0, sizeof(res));
        res.index = i;
        thumb_file(r->opts, r->files.v[i], &res);
        if (write(fd, &res, sizeof(res)) != (ssize_t)sizeof(res))
            break;
    }
    _exit(0);
}

static int read_results(struct thumbs_run *r, struct pollfd *pfd, int n, char *reported)
{
    int open_pipes = n;
    struct result res;
    while (open_pipes > 0) {
        if (poll(pfd, (nfds_t)n, -1) < 0 && errno != EINTR)
            return IMGPIPE_EIO;
        for (int k = 0; k < n; k++) {
            if (pfd[k].fd < 0 || !pfd[k].revents)
                continue;
            ssize_t got = read(pfd[k].fd, &res, sizeof(res));
            if (got == (ssize_t)sizeof(res) && res.index < r->files.n && !reported[res.index]) {
                res.error[IMGPIPE_ERRLEN - 1] = '\0';
                reported[res.index] = 1;
                report(r, &res);
            } else if (got <= 0) {
                close(pfd[k].fd);
                pfd[k].fd = -1;
                open_pipes--;
            }
        }
    }
    return IMGPIPE_OK;
}

static int run_procs(struct thumbs_run *r, int n, char *err)
{
    struct pollfd *pfd = calloc((size_t)n, sizeof(*pfd));
    pid_t *pids = calloc((size_t)n, sizeof(*pids));
    char *reported = calloc(r->files.n + 1, 1);
    int started = 0, rc = IMGPIPE_OK;
    fflush(NULL);
    while (pfd && pids && reported && started < n) {
        int p[2];
        if (pipe(p) != 0 || (pids[started] = fork()) < 0)
            break;
        if (pids[started] == 0) {
            for (int k = 0; k < started; k++)
                close(pfd[k].fd);
            close(p[0]);
            child_main(r, started, n, p[1]);
        }
        close(p[1]);
        pfd[started++] = (struct pollfd){.fd = p[0], .events = POLLIN};
    }
    if (started < n) /* a partial start would leave files nobody makes */
        rc = imgpipe_errf(err, IMGPIPE_ENOMEM, "cannot start %d worker processes", n);
    else
        rc = read_results(r, pfd, n, reported);
    for (int k = 0; k < started; k++) {
        if (pfd[k].fd >= 0)
            close(pfd[k].fd);
        waitpid(pids[k], NULL, 0);
    }
    struct result res = {.status = IMGPIPE_EIO};
    snprintf(res.error, sizeof(res.error), "its worker process died");
    for (size_t i = 0; rc == IMGPIPE_OK && i < r->files.n; i++)
        if (!reported[i])
            res.index = i, report(r, &res);
    free(pfd);
    free(pids);
    free(reported);
    return rc;
}

static int execute(struct thumbs_run *r, char *err)
{
    int jobs = r->opts->jobs > 0 ? r->opts->jobs : imgpipe_ncpus();
    switch (r->opts->mode) {
    case IMGPIPE_MODE_SEQ:
        run_seq(r);
        return IMGPIPE_OK;
    case IMGPIPE_MODE_THREADS:
    case IMGPIPE_MODE_ASYNC: /* no I/O to overlap: the CPU pool is the whole of it */
        return run_threads(r, jobs, err);
    case IMGPIPE_MODE_PROCS:
        return run_procs(r, jobs, err);
    }
    return imgpipe_errf(err, IMGPIPE_EINVAL, "unknown mode %d", (int)r->opts->mode);
}

int imgpipe_thumbs(const imgpipe_get_opts *opts, const char *const *paths, int npaths,
                   imgpipe_item_cb cb, void *userdata, imgpipe_summary *sum, char *err)
{
    memset(sum, 0, sizeof(*sum));
    if (opts->nthumbs < 1 || opts->nthumbs > IMGPIPE_THUMB_MAX_SIZES)
        return imgpipe_errf(err, IMGPIPE_EINVAL, "give 1 to %d thumbnail sizes",
                            IMGPIPE_THUMB_MAX_SIZES);
    struct thumbs_run r = {.opts = opts, .cb = cb, .userdata = userdata, .sum = sum};
    int rc = IMGPIPE_OK;
    for (int i = 0; i < npaths && rc == IMGPIPE_OK; i++)
        rc = collect(&r.files, paths[i]);
    if (rc) {
        imgpipe_strvec_free(&r.files);
        return imgpipe_errf(err, rc, "out of memory listing the files");
    }
    pthread_mutex_init(&r.lock, NULL);
    double t0 = imgpipe_now();
    rc = execute(&r, err);
    sum->seconds = imgpipe_now() - t0;
    pthread_mutex_destroy(&r.lock);
    imgpipe_strvec_free(&r.files);
    return rc;
}
