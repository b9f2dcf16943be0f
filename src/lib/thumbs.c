/* imgpipe_thumbs: thumbnails of image files already on disk (the tutorial's second half). */
#include "job.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct thumbs_run {
    const imgpipe_get_opts *opts;
    imgpipe_item_cb cb;
    void *userdata;
    imgpipe_summary *sum;
    uint64_t index;
};

static void report(struct thumbs_run *r, const char *path, int status, const char *error,
                   uint64_t bytes, int thumbs)
{
    imgpipe_item item = {.index = r->index++,
                         .url = path,
                         .name = path,
                         .status = status,
                         .error = status ? error : "",
                         .bytes = bytes,
                         .thumbs = thumbs};
    if (status) {
        r->sum->failed++;
    } else {
        r->sum->done++;
        r->sum->bytes += bytes;
    }
    r->sum->thumbs += (uint64_t)thumbs;
    if (r->cb) r->cb(&item, r->userdata);
}

static int read_file(int dirfd, const char *name, imgpipe_buf *b, char *err)
{
    int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return imgpipe_errf(err, IMGPIPE_EIO, "cannot open: %s", strerror(errno));
    struct stat st;
    int rc = IMGPIPE_OK;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        rc = imgpipe_errf(err, IMGPIPE_EIO, "not a regular file");
    else if (imgpipe_buf_reserve(b, (size_t)st.st_size + 1) != IMGPIPE_OK)
        rc = imgpipe_errf(err, IMGPIPE_ENOMEM, "out of memory");
    while (rc == IMGPIPE_OK) {
        ssize_t n = read(fd, b->data + b->len, b->cap - b->len);
        if (n < 0 && errno == EINTR) continue;
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

static void thumb_file(struct thumbs_run *r, int dirfd, const char *name, const char *path)
{
    char err[IMGPIPE_ERRLEN] = "";
    imgpipe_buf b = {0};
    int thumbs = 0;
    int rc = read_file(dirfd, name, &b, err);
    if (rc == IMGPIPE_OK)
        rc = imgpipe_job_thumbs(r->opts, dirfd, name, b.data, b.len, &thumbs, err);
    report(r, path, rc, err, b.len, thumbs);
    imgpipe_buf_free(&b);
}

static int wanted(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (name[0] == '.' || !dot || imgpipe_is_thumb_name(name)) return 0;
    return !strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg") || !strcasecmp(dot, ".png");
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int select_wanted(const struct dirent *d)
{
    return wanted(d->d_name);
}

static void thumb_dir(struct thumbs_run *r, const char *dir)
{
    char err[IMGPIPE_ERRLEN];
    struct dirent **list;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int n = fd < 0 ? -1 : scandir(dir, &list, select_wanted, by_name);
    if (n < 0) {
        imgpipe_errf(err, IMGPIPE_EIO, "cannot read directory: %s", strerror(errno));
        report(r, dir, IMGPIPE_EIO, err, 0, 0);
        if (fd >= 0) close(fd);
        return;
    }
    size_t dlen = strlen(dir);
    for (int i = 0; i < n; i++) {
        char *path = malloc(dlen + strlen(list[i]->d_name) + 2);
        if (path) {
            strcpy(path, dir);
            strcpy(path + dlen, dir[dlen - 1] == '/' ? "" : "/");
            strcat(path, list[i]->d_name);
            thumb_file(r, fd, list[i]->d_name, path);
        }
        free(path);
        free(list[i]);
    }
    free(list);
    close(fd);
}

static void thumb_path(struct thumbs_run *r, const char *path)
{
    char err[IMGPIPE_ERRLEN];
    struct stat st;
    if (stat(path, &st) != 0) {
        imgpipe_errf(err, IMGPIPE_EIO, "%s", strerror(errno));
        report(r, path, IMGPIPE_EIO, err, 0, 0);
        return;
    }
    if (S_ISDIR(st.st_mode)) {
        thumb_dir(r, path);
        return;
    }
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, (size_t)(slash - path) + 1) : strdup(".");
    int fd = dir ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    if (fd < 0) {
        imgpipe_errf(err, IMGPIPE_EIO, "cannot open its directory: %s", strerror(errno));
        report(r, path, IMGPIPE_EIO, err, 0, 0);
    } else {
        thumb_file(r, fd, slash ? slash + 1 : path, path);
        close(fd);
    }
    free(dir);
}

int imgpipe_thumbs(const imgpipe_get_opts *opts, const char *const *paths, int npaths,
                   imgpipe_item_cb cb, void *userdata, imgpipe_summary *sum, char *err)
{
    memset(sum, 0, sizeof(*sum));
    if (opts->nthumbs < 1 || opts->nthumbs > IMGPIPE_THUMB_MAX_SIZES)
        return imgpipe_errf(err, IMGPIPE_EINVAL, "give 1 to %d thumbnail sizes",
                            IMGPIPE_THUMB_MAX_SIZES);
    struct thumbs_run r = {.opts = opts, .cb = cb, .userdata = userdata, .sum = sum};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < npaths; i++)
        thumb_path(&r, paths[i]);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    sum->seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    return IMGPIPE_OK;
}
