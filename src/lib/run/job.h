/* What happens to one downloaded image, whatever executor fetched it: check, store,
 * thumbnails. Knows nothing about concurrency. */
#ifndef IMGPIPE_JOB_H
#define IMGPIPE_JOB_H

#include "common/util.h"

/* Checks body with imgpipe_image_check (a known format, complete, within the pixel
 * budget), writes it as `name` through dirfd, then writes its thumbnails made from the
 * bytes in memory. *thumbs counts thumbnails written.
 * An image that was stored but whose thumbnail failed still fails, with the reason. */
int imgpipe_job_store(const imgpipe_get_opts *opts, int dirfd, const char *name,
                      const imgpipe_buf *body, int *thumbs, char *err);

/* Writes the thumbnails of one encoded image (already in memory) beside it. */
int imgpipe_job_thumbs(const imgpipe_get_opts *opts, int dirfd, const char *name, const void *data,
                       size_t len, int *thumbs, char *err);

#endif
