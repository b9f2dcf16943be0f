/* What happens to one downloaded image, whatever executor fetched it: check, store,
 * thumbnails. Knows nothing about concurrency. */
#ifndef IMGPIPE_JOB_H
#define IMGPIPE_JOB_H

#include "common/util.h"

/* Checks body with imgpipe_image_check (a known format, complete, within the pixel
 * budget), makes its thumbnails from the bytes in memory, and only then writes it as
 * `name` through dirfd, then the thumbnails: an image that does not decode is not stored.
 * *thumbs counts thumbnails written. An image that was stored but whose thumbnail could
 * not be written still fails, with the reason. */
int imgpipe_job_store(const imgpipe_get_opts *opts, int dirfd, const char *name,
                      const imgpipe_buf *body, int *thumbs, char *err);

/* The file name of name's thumbnail for box, one of n sizes, written in format (NULL: the
 * source's): imgpipe_thumb_name_as's, sized
 * when n > 1, and also when n is 1 but a file of the unsized name is there that is not a
 * thumbnail of this source (data, len) for this box, so that thumbnails of different
 * sizes never replace each other. */
int imgpipe_job_thumb_name(int dirfd, const char *name, const imgpipe_thumb_size *box, int n,
                           const char *format, const void *data, size_t len, char *out, size_t cap);

/* Writes the thumbnails of one encoded image (already in memory) beside it. */
int imgpipe_job_thumbs(const imgpipe_get_opts *opts, int dirfd, const char *name, const void *data,
                       size_t len, int *thumbs, char *err);

#endif
