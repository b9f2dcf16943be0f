/* The gallery: the originals of an output directory, a page at a time, with their
 * thumbnail, size and source URL. Files are opened relative to the directory's descriptor,
 * one path component at a time, without following symlinks: a name cannot leave it. */
#include "store/ledger.h"
#include "web/web.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int plain_name(const char *name)
{
    return name[0] && name[0] != '.' && !strchr(name, '/') && strlen(name) < 256;
}

/* A shard folder of --layout sharded: two lowercase hex digits ("00".."ff"). */
static int shard_folder(const char *name)
{
    return strspn(name, "0123456789abcdef") == 2 && name[2] == '\0';
}

/* A file directly in DIR, or in one of its shard folders ("ab/x.jpg"). */
static int servable_name(const char *name)
{
    const char *slash = strchr(name, '/');
    if (!slash)
        return plain_name(name);
    return slash - name == 2 && strspn(name, "0123456789abcdef") == 2 && plain_name(slash + 1);
}

/* name's folder (DIR, or its shard folder reached without following a symlink) for
 * openat, and name within it; -1 when there is none. *owned is the descriptor to close. */
static int folder_of(int dirfd, const char **name, int *owned)
{
    *owned = -1;
    const char *slash = strchr(*name, '/');
    if (!slash)
        return dirfd;
    char shard[3] = {(*name)[0], (*name)[1], '\0'};
    *owned = openat(dirfd, shard, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    *name = slash + 1;
    return *owned;
}

int imgpipe_web_open_file(int dirfd, const char *name, uint64_t *size)
{
    if (!servable_name(name))
        return -1;
    int owned, in = folder_of(dirfd, &name, &owned);
    int fd = in >= 0 ? openat(in, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK) : -1;
    if (owned >= 0)
        close(owned);
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

/* Adds the regular files of the folder fd (not hidden) to names, each after prefix; with
 * depth 0, the files of its shard folders too (real folders, not symlinks). Takes fd. */
static int add_files(int fd, const char *prefix, int depth, imgpipe_strvec *names)
{
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return depth ? IMGPIPE_OK : IMGPIPE_EIO; /* a shard folder gone meanwhile: none */
    }
    struct dirent *e;
    struct stat st;
    int rc = IMGPIPE_OK;
    char path[300];
    while (rc == IMGPIPE_OK && (e = readdir(d))) {
        if (!plain_name(e->d_name) || fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW))
            continue;
        snprintf(path, sizeof(path), "%s%s", prefix, e->d_name);
        if (S_ISREG(st.st_mode))
            rc = imgpipe_strvec_push(names, path);
        else if (S_ISDIR(st.st_mode) && depth == 0 && shard_folder(e->d_name)) {
            int sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            strcat(path, "/");
            rc = sub >= 0 ? add_files(sub, path, 1, names) : IMGPIPE_OK;
        }
    }
    closedir(d);
    return rc;
}

/* The sorted names of the images and thumbnails of DIR: the regular files directly in it
 * (not hidden), and those of its shard folders as "ab/x.jpg" (--layout sharded). */
static int list_files(int dirfd, imgpipe_strvec *names, char *err)
{
    /* Opened afresh, not dup'ed: a duplicate shares dirfd's position with every other
     * connection's thread listing it at the same time, and each would see part of DIR. */
    int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = fd >= 0 ? add_files(fd, "", 0, names) : IMGPIPE_EIO;
    if (rc == IMGPIPE_EIO)
        return imgpipe_errf(err, IMGPIPE_EIO, "cannot read the gallery directory: %s",
                            strerror(errno));
    if (rc)
        return imgpipe_errf(err, IMGPIPE_ENOMEM, "out of memory listing the gallery");
    qsort(names->v, names->n, sizeof(char *), by_name);
    return IMGPIPE_OK;
}

static int in_names(const imgpipe_strvec *names, const char *name)
{
    return bsearch(&name, names->v, names->n, sizeof(char *), by_name) != NULL;
}

/* What follows "<stem>_thumbnail" in a thumbnail's name is an optional size ("_128x128",
 * "_x64"), then the rest: from its first '.', or nothing. The rest, or NULL when s is not
 * that. */
static const char *after_size(const char *s)
{
    const char *dot = strchr(s, '.'), *end = dot ? dot : s + strlen(s);
    int digits = 0, x = 0;
    if (s == end)
        return end;
    if (*s != '_')
        return NULL;
    for (const char *p = s + 1; p < end; p++) {
        if (isdigit((unsigned char)*p))
            digits++;
        else if ((*p == 'x' || *p == 'X') && !x)
            x = 1;
        else
            return NULL;
    }
    return x && digits ? end : NULL;
}

/* 1 when a thumbnail's rest is named for a source of extension ext: the rest is ext, or
 * ext and a format's extension (a.gif's is "a_thumbnail.gif.png", see imgpipe_thumb_name). */
static int named_for(const char *rest, const char *ext)
{
    size_t n = strlen(ext);
    return strncmp(rest, ext, n) == 0 &&
           (rest[n] == '\0' || (n && rest[n] == '.' && !strchr(rest + n + 1, '.')));
}

/* 1 when another file of names is the source a thumbnail's rest is named for: stem plus
 * the rest, or plus the rest without its added format extension. */
static int owned(const imgpipe_strvec *names, size_t stem, const char *name, const char *rest)
{
    char owner[600];
    const char *last = strrchr(rest, '.');
    snprintf(owner, sizeof(owner), "%.*s%s", (int)stem, name, rest);
    if (*rest && in_names(names, owner))
        return 1;
    snprintf(owner, sizeof(owner), "%.*s%.*s", (int)stem, name, (int)(last ? last - rest : 0),
             rest);
    return last && last != rest && in_names(names, owner);
}

/* The thumbnail of name: the first "<stem>_thumbnail[_WxH]<ext>[.fmt]" of the sorted
 * names, so that a.png never shows a.jpg's "a_thumbnail.jpg.png"; else (thumbnails named
 * by another tool, e.g. b.gif's "b_thumbnail.png") the first "<stem>_thumbnail..." that
 * no other file is the source of. NULL when there is none. */
static const char *thumb_of(const imgpipe_strvec *names, const char *name)
{
    const char *dot = strrchr(name, '.'), *fallback = NULL;
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
    for (; lo < names->n && strncmp(names->v[lo], prefix, plen) == 0; lo++) {
        const char *rest = after_size(names->v[lo] + plen);
        if (!rest || !imgpipe_is_thumb_name(names->v[lo]))
            continue;
        if (named_for(rest, name + stem))
            return names->v[lo];
        if (!fallback && !owned(names, stem, name, rest))
            fallback = names->v[lo];
    }
    return fallback;
}

/* DIR/.imgpipe/ledger for reading, when it is a regular file reached without a symlink. */
static FILE *open_ledger(int dirfd)
{
    int sub = openat(dirfd, ".imgpipe", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    /* O_NONBLOCK and a regular file only: a FIFO planted there would hang the page */
    int fd = sub >= 0 ? openat(sub, "ledger", O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK) : -1;
    struct stat st;
    if (sub >= 0)
        close(sub);
    FILE *f = fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? fdopen(fd, "r") : NULL;
    if (!f && fd >= 0)
        close(fd);
    return f;
}

/* Fills the "url" of the items whose file (shown[i], the name as on disk) a done line of
 * the ledger names (the last one wins). The ledger is read as text, never opened for
 * writing: a running get owns it. */
static void ledger_urls(int dirfd, json_t *items, const char *const *shown)
{
    FILE *f = open_ledger(dirfd);
    if (!f)
        return;
    char *line = NULL, *name, *url;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) > 0 && line[n - 1] == '\n') {
        line[n - 1] = '\0';
        enum imgpipe_ledger_state st;
        uint64_t bytes;
        if (imgpipe_ledger_parse_line(line, &st, &bytes, &name, &url) || st != IMGPIPE_LEDGER_DONE)
            continue;
        /* redacted (an older imgpipe's ledger kept passwords), U+FFFD for bytes not UTF-8 */
        for (size_t i = 0; i < json_array_size(items); i++)
            if (strcmp(shown[i], name) == 0)
                json_object_set_new(json_array_get(items, i), "url", imgpipe_q_json_shown(url));
    }
    free(line);
    fclose(f);
}

/* "/files/NAME" with every byte of name but encodeURIComponent's unreserved ones as %XX:
 * a link that reaches the file whatever its name holds ('?', '#', '%', bytes not UTF-8). */
static json_t *href(const char *name)
{
    static const char hex[] = "0123456789ABCDEF";
    char out[8 + 3 * 256], *o = out + sprintf(out, "/files/");
    for (const unsigned char *p = (const unsigned char *)name; *p && o < out + sizeof(out) - 4;
         p++) {
        if (isalnum(*p) || strchr("-_.!~*'()", *p))
            *o++ = (char)*p;
        else
            o += sprintf(o, "%%%c%c", hex[*p >> 4], hex[*p & 15]);
    }
    *o = '\0';
    return json_string(out);
}

/* An item: the names as text (a byte that is not UTF-8 shows as U+FFFD), the links to the
 * files as they are on disk. */
static json_t *item(int dirfd, const imgpipe_strvec *names, const char *name)
{
    struct stat st;
    const char *thumb = thumb_of(names, name), *in_folder = name;
    int owned, in = folder_of(dirfd, &in_folder, &owned);
    long long bytes =
        in >= 0 && fstatat(in, in_folder, &st, AT_SYMLINK_NOFOLLOW) == 0 ? st.st_size : 0;
    if (owned >= 0)
        close(owned);
    return json_pack("{s:o,s:o,s:I,s:o?,s:o?,s:n}", "name", imgpipe_q_json_text(name), "href",
                     href(name), "bytes", (json_int_t)bytes, "thumb",
                     thumb ? imgpipe_q_json_text(thumb) : NULL, "thumb_href",
                     thumb ? href(thumb) : NULL, "url");
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
    /* past the last page: none (and no overflow of (page - 1) * per_page) */
    size_t first = page > pages ? total : (size_t)(page - 1) * (size_t)per_page, seen = 0, n = 0;
    const char *shown[IMGPIPE_WEB_PAGE_MAX];
    json_t *items = json_array(), *it;
    for (size_t i = 0; i < names.n && n < (size_t)per_page; i++) {
        if (imgpipe_is_thumb_name(names.v[i]) || seen++ < first)
            continue;
        if ((it = item(dirfd, &names, names.v[i])) && json_array_append_new(items, it) == 0)
            shown[n++] = names.v[i];
    }
    ledger_urls(dirfd, items, shown);
    imgpipe_strvec_free(&names);
    return json_pack("{s:o,s:I,s:I,s:I}", "items", items, "page", (json_int_t)page, "pages",
                     (json_int_t)pages, "total", (json_int_t)total);
}
