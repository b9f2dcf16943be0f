/* Writing output files: whole or not at all, and never outside the output directory. */
#ifndef IMGPIPE_STORE_H
#define IMGPIPE_STORE_H

#include "common/util.h"

/* Creates dir with its parents when missing (mode 0777 & ~umask) and opens it; *dirfd is
 * the descriptor every store call writes through, so names are resolved in dir only. dir
 * itself is the user's path and may be a symbolic link; nothing inside it is followed. */
int imgpipe_store_open_dir(const char *dir, int *dirfd, char *err);

/* Writes data to a temporary file in the directory, then renames it to name: a reader
 * sees the old file or the whole new one, never a part. A shard folder ("ab/") is opened
 * without following a link. Errors are coded by imgpipe_store_errno_code. name must be a single
 * path component that does not start with '.' (temporary files do). */
int imgpipe_store_write(int dirfd, const char *name, const void *data, size_t len, char *err);

/* imgpipe_store_put's flags. NOREPLACE: the name was free when it was given; a file that
 * another process put there since is never replaced (renameat2 RENAME_NOREPLACE, else
 * link + unlink; a file system that has neither gets a check just before the rename):
 * IMGPIPE_EIO, saying so; unless it holds the very bytes (another run of the same link
 * was first), which is success. */
#define IMGPIPE_STORE_NOREPLACE 1

/* imgpipe_store_write with flags. */
int imgpipe_store_put(int dirfd, const char *name, const void *data, size_t len, int flags,
                      char *err);

/* Opens the folder name inside dirfd (creating it first when create), never following a
 * symbolic link: one planted there is refused with a sentence saying so. */
int imgpipe_store_subdir(int dirfd, const char *name, int create, int *out, char *err);

/* The code for a failed file system call: IMGPIPE_EDISK when every later write in the
 * directory would fail alike (no space, quota, read-only, permission, I/O error), which
 * ends a run; IMGPIPE_EIO when it is about one file (a directory in the way, a file over
 * the size limit), which fails that item only. */
int imgpipe_store_errno_code(int e);

/* 1 when name is a file name store may write: one component, no leading '.', no control
 * bytes, not empty, at most 255 bytes. */
int imgpipe_store_name_ok(const char *name);

/* Removes the temporary files that processes of this host which no longer exist left in
 * the directory (a run killed with SIGKILL). Others' temporary files are left alone. */
void imgpipe_store_sweep(int dirfd);

/* 1 when something (a file, a folder, a link) is at name in dirfd; links not followed. */
int imgpipe_store_exists(int dirfd, const char *name);

/* Whether name holds these bytes: 1 when it is a regular file (a link not followed) of
 * len bytes whose SHA-256 is sha256 (hex), 0 when nothing is there, -1 when something
 * else is (other bytes, a link, a folder), -2 when that cannot be told (EMFILE, EIO...). */
int imgpipe_store_holds(int dirfd, const char *name, const char *sha256, uint64_t len);

/* Removes the file at name (a link itself, not what it points to): 0, or -1 with errno. */
int imgpipe_store_remove(int dirfd, const char *name);

/* Reads the regular file name (no symbolic link followed, a FIFO or device refused without
 * blocking) of at most max bytes into b (appended; the caller frees it). */
int imgpipe_store_read(int dirfd, const char *name, uint64_t max, imgpipe_buf *b, char *err);

/* How much of a file imgpipe_store_read_checked hands its check first. */
#define IMGPIPE_STORE_HEAD 65536
/* Looks at a file's first n bytes (all of it when it is shorter than IMGPIPE_STORE_HEAD)
 * and its size: 0 to read the rest, or a status with err to stop there. */
typedef int (*imgpipe_store_head_fn)(void *arg, const void *head, size_t n, uint64_t size,
                                     char *err);
/* imgpipe_store_read, refusing the file when check refuses its head, before the rest of it
 * is read or memory taken for it. */
int imgpipe_store_read_checked(int dirfd, const char *name, uint64_t max,
                               imgpipe_store_head_fn check, void *arg, imgpipe_buf *b, char *err);

/* A file written into a directory under a hidden temporary name (IMGPIPE_TMP_PREFIX,
 * created O_EXCL without following a link), piece by piece as its bytes arrive, and put in
 * place under its final name only when it is whole: a reader never sees it before. */
typedef struct imgpipe_store_tmp {
    int dirfd; /* borrowed: where the temporary file is */
    int fd;    /* -1: none open */
    char path[96];
} imgpipe_store_tmp;

/* Creates an empty temporary file in dirfd. Errors are coded by imgpipe_store_errno_code,
 * and errno is left as the failed call set it. */
int imgpipe_store_tmp_open(int dirfd, imgpipe_store_tmp *t, char *err);

/* Appends len bytes: 0, or the errno of the failed write. */
int imgpipe_store_tmp_write(imgpipe_store_tmp *t, const void *data, size_t len);

/* Empties the file for a new attempt: 0, or an errno. */
int imgpipe_store_tmp_rewind(imgpipe_store_tmp *t);

/* Reads the file's len bytes (as written) into b (appended; the caller frees it) for a
 * check: from the page cache, where they were just written. */
int imgpipe_store_tmp_read(const imgpipe_store_tmp *t, size_t len, imgpipe_buf *b, char *err);

/* The file's len bytes (as written) at *data for a check that reads a part of them. On a
 * local file system they are mapped read-only (*mapped set): only the pages the check
 * touches are looked up, no copy made. Elsewhere (NFS, FUSE, ...) a page that cannot be
 * read back would kill the process with SIGBUS instead of failing a call, so they are
 * read into scratch. IMGPIPE_EIO when the file is shorter than len. */
int imgpipe_store_tmp_view(const imgpipe_store_tmp *t, size_t len, imgpipe_buf *scratch,
                           const void **data, int *mapped, char *err);

/* Ends what imgpipe_store_tmp_view gave (scratch is the caller's). */
void imgpipe_store_tmp_unview(const void *data, size_t len, int mapped);

/* Puts the file in place as name (a single component, or "ab/" and one: the shard folder
 * is opened without following a link, created when missing) in the same directory, then
 * closes it; on failure the temporary file is removed. flags as imgpipe_store_put's, data
 * and len the file's content (what a file found at name under NOREPLACE is compared with).
 * Errors are coded as store_write's. */
int imgpipe_store_tmp_commit(imgpipe_store_tmp *t, const char *name, int flags, const void *data,
                             size_t len, char *err);

/* Closes and removes the temporary file, if one is open. */
void imgpipe_store_tmp_discard(imgpipe_store_tmp *t);

/* The prefix of temporary files, so that scanners can skip them. */
#define IMGPIPE_TMP_PREFIX ".imgpipe-"

#endif
