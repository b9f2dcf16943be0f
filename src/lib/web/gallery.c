/* The gallery: the originals of an output directory, a page at a time, with their
 * thumbnail, size and source URL. Files are opened relative to the directory's descriptor,
 * one path component at a time, without following symlinks: a name cannot leave it. */
#include "store/ledger.h"
#include "web/web.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int servable_name(const char *name)
{
    return name[0] && name[0] != '.' && !strchr(name, '/') && strlen(name) < 256;
}

int imgpipe_web_open_file(int dirfd, const char *name, uint64_t *size)
{
    if (!servable_name(name))
        return -1;
    int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    struct stat st;
    if (fd >= 0 && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))) {
        close(fd);
        fd = -1;
    }
    if (fd >= 0)
        *size = (uint64_t)st.st_size;
    return fd;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted names of the regular files of dir (not hidden). */
static int list_files(int dirfd, imgpipe_strvec *names, char *err)
{
    int fd = dup(dirfd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0)
            close(fd);
        return imgpipe_errf(err, IMGPIPE_EIO, "cannot read the gallery directory: %s",
                            strerror(errno));
    }
    rewinddir(d);
    struct dirent *e;
    struct stat st;
    int rc = IMGPIPE_OK;
    while (rc == IMGPIPE_OK && (e = readdir(d)))
        if (servable_name(e->d_name) && fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
            S_ISREG(st.st_mode))
            rc = imgpipe_strvec_push(names, e->d_name);
    closedir(d);
    if (rc)
        return imgpipe_errf(err, IMGPIPE_ENOMEM, "out of memory listing the gallery");
    qsort(names->v, names->n, sizeof(char *), by_name);
    return IMGPIPE_OK;
}

/* The first thumbnail of name ("<stem>_thumbnail..."), found by a binary search in the
 * sorted names, or NULL. */
static const char *thumb_of(const imgpipe_strvec *names, const char *name)
{
    const char *dot = strrchr(name, '.');
    size_t stem = dot && dot != name ? (size_t)(dot - name) : strlen(name);
    char prefix[300];
    snprintf(prefix, sizeof(prefix), "%.*s_thumbnail", (int)stem, name);
    size_t lo = 0, hi = names->n, plen = strlen(prefix);
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (strcmp(names->v[mid], prefix) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < names->n && strncmp(names->v[lo], prefix, plen) == 0; lo++)
        if (imgpipe_is_thumb_name(names->v[lo]))
            return names->v[lo];
    return NULL;
}

/* Fills the "url" of the items whose name a done line of the ledger gives (the last one
 * wins). The ledger is read as text, never opened for writing: a running get owns it. */
static void ledger_urls(int dirfd, json_t *items)
{
    int sub = openat(dirfd, ".imgpipe", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int fd = sub >= 0 ? openat(sub, "ledger", O_RDONLY | O_NOFOLLOW | O_CLOEXEC) : -1;
    if (sub >= 0)
        close(sub);
    FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
    if (!f) {
        if (fd >= 0)
            close(fd);
        return;
    }
    char *line = NULL, *name, *url;
    size_t cap = 0, i;
    ssize_t n;
    json_t *it;
    while ((n = getline(&line, &cap, f)) > 0 && line[n - 1] == '\n') {
        line[n - 1] = '\0';
        enum imgpipe_ledger_state st;
        uint64_t bytes;
        if (imgpipe_ledger_parse_line(line, &st, &bytes, &name, &url) || st != IMGPIPE_LEDGER_DONE)
            continue;
        char *shown = imgpipe_redact_dup(url); /* an older imgpipe's ledger kept passwords */
        json_array_foreach(
            items, i, it) if (strcmp(json_string_value(json_object_get(it, "name")), name) == 0)
            json_object_set_new(it, "url", json_string(shown ? shown : ""));
        free(shown);
    }
    free(line);
    fclose(f);
}

static json_t *item(int dirfd, const imgpipe_strvec *names, const char *name)
{
    struct stat st;
    const char *thumb = thumb_of(names, name);
    long long bytes = fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 ? st.st_size : 0;
    return json_pack("{s:s,s:I,s:s?,s:n}", "name", name, "bytes", (json_int_t)bytes, "thumb", thumb,
                     "url");
}

json_t *imgpipe_web_gallery(int dirfd, long page, int per_page, char *err)
{
    imgpipe_strvec names = {0};
    if (list_files(dirfd, &names, err))
        return NULL;
    size_t total = 0;
    for (size_t i = 0; i < names.n; i++)
        total += !imgpipe_is_thumb_name(names.v[i]);
    per_page = per_page < 1 ? 1 : per_page > IMGPIPE_WEB_PAGE_MAX ? IMGPIPE_WEB_PAGE_MAX : per_page;
    long pages = (long)((total + (size_t)per_page - 1) / (size_t)per_page);
    page = page < 1 ? 1 : page;
    json_t *items = json_array();
    size_t first = (size_t)(page - 1) * (size_t)per_page, seen = 0;
    for (size_t i = 0; i < names.n && json_array_size(items) < (size_t)per_page; i++) {
        if (imgpipe_is_thumb_name(names.v[i]))
            continue;
        if (seen++ >= first)
            json_array_append_new(items, item(dirfd, &names, names.v[i]));
    }
    ledger_urls(dirfd, items);
    imgpipe_strvec_free(&names);
    return json_pack("{s:o,s:I,s:I,s:I}", "items", items, "page", (json_int_t)page, "pages",
                     (json_int_t)pages, "total", (json_int_t)total);
}
