/* Writing output files: whole or not at all, and never outside the output directory. */
#ifndef IMGPIPE_STORE_H
#define IMGPIPE_STORE_H

#include "common/util.h"

/* Creates dir with its parents when missing (mode 0777 & ~umask) and opens it; *dirfd is
 * the descriptor every store call writes through, so names are resolved in dir only. */
int imgpipe_store_open_dir(const char *dir, int *dirfd, char *err);

/* Writes data to a temporary file in the directory, then renames it to name: a reader
 * sees the old file or the whole new one, never a part. name must be a single path
 * component that does not start with '.' (temporary files do). */
int imgpipe_store_write(int dirfd, const char *name, const void *data, size_t len, char *err);

/* 1 when name is a file name store may write: one component, no leading '.', no control
 * bytes, not empty, at most 255 bytes. */
int imgpipe_store_name_ok(const char *name);

/* Removes the temporary files that processes of this host which no longer exist left in
 * the directory (a run killed with SIGKILL). Others' temporary files are left alone. */
void imgpipe_store_sweep(int dirfd);

/* The prefix of temporary files, so that scanners can skip them. */
#define IMGPIPE_TMP_PREFIX ".imgpipe-"

#endif
