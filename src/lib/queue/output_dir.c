/* The one spelling of an output directory that names it in Redis: its name registry's key
 * and its jobs' dir field. Two spellings of one directory would be two registries, and a
 * name given once in each would be two URLs' file (docs/queue.md). enqueue may run where
 * DIR does not exist (workers share a mount at the same path), so the spelling is made
 * from the text, not by realpath; and an absolute path without "." or ".." segments,
 * repeated or trailing slashes is its own spelling, as before, so registries in use keep
 * their keys. */
#include "queue/queue.h"
#include "net/s3.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Why the ".." after path cannot be dropped with path's last segment; NULL when it can:
 * a directory that is not a symbolic link has as parent the path before it, whatever
 * links that path passes through. A link's parent is the text's only by chance, and a
 * path missing here cannot be checked. */
static const char *no_way_up(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? "does not exist on this host" : strerror(errno);
    if (S_ISLNK(st.st_mode))
        return "is a symbolic link";
    return S_ISDIR(st.st_mode) ? NULL : "is not a directory";
}

/* Drops the last segment of out (absolute, length *n) for a "..". */
static int up(const char *dir, char *out, size_t *n, char *err)
{
    if (*n <= 1)
        return IMGPIPE_OK; /* "/.." is "/" */
    out[*n] = '\0';
    const char *why = no_way_up(out);
    if (why)
        return imgpipe_errf(err, IMGPIPE_EINVAL,
                            "the output directory '%s': '..' follows %s, which %s; give DIR "
                            "without '..'",
                            dir, out, why);
    while (out[*n - 1] != '/')
        (*n)--;
    *n = *n > 1 ? *n - 1 : 1;
    return IMGPIPE_OK;
}

/* Appends segment p (len bytes) to out (absolute, length *n). */
static int down(const char *dir, const char *p, size_t len, char *out, size_t cap, size_t *n,
                char *err)
{
    if (*n + 1 + len >= cap)
        return imgpipe_errf(err, IMGPIPE_EINVAL, "the output directory '%s' is too long", dir);
    if (*n > 1)
        out[(*n)++] = '/';
    memcpy(out + *n, p, len);
    *n += len;
    return IMGPIPE_OK;
}

/* Appends path's segments to out (absolute, length *n), no empty or "." one kept. */
static int walk(const char *dir, const char *path, char *out, size_t cap, size_t *n, char *err)
{
    int rc = IMGPIPE_OK;
    for (const char *p = path; *p && rc == IMGPIPE_OK; p += *p == '/') {
        size_t len = strcspn(p, "/");
        if (len == 2 && p[0] == '.' && p[1] == '.')
            rc = up(dir, out, n, err);
        else if (len > 0 && !(len == 1 && p[0] == '.'))
            rc = down(dir, p, len, out, cap, n, err);
        p += len;
    }
    out[*n] = '\0';
    return rc;
}

/* An s3:// URL without trailing slashes (imgpipe_s3_open reads the rest). */
static int bucket(const char *dir, char *out, size_t cap, char *err)
{
    if ((size_t)snprintf(out, cap, "%s", dir) >= cap)
        return imgpipe_errf(err, IMGPIPE_EINVAL, "the output '%s' is too long", dir);
    for (size_t n = strlen(out); n > 1 && out[n - 1] == '/'; n--)
        out[n - 1] = '\0';
    return IMGPIPE_OK;
}

int imgpipe_q_output(const char *dir, char *out, size_t cap, char *err)
{
    if (imgpipe_s3_is_url(dir))
        return bucket(dir, out, cap, err);
    if (cap < 2)
        return imgpipe_errf(err, IMGPIPE_EINVAL, "no room for the output directory");
    size_t n = 1;
    out[0] = '/';
    out[1] = '\0';
    int rc = IMGPIPE_OK;
    if (dir[0] != '/') {
        char cwd[4096];
        if (!getcwd(cwd, sizeof(cwd)))
            return imgpipe_errf(err, IMGPIPE_EINVAL,
                                "cannot make the output directory '%s' absolute: %s", dir,
                                strerror(errno));
        rc = walk(dir, cwd, out, cap, &n, err);
    }
    return rc ? rc : walk(dir, dir, out, cap, &n, err);
}
