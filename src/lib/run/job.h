/* What happens to one downloaded image, whatever executor fetched it: check, store,
 * thumbnails. Knows nothing about concurrency. */
#ifndef IMGPIPE_JOB_H
#define IMGPIPE_JOB_H

#include "common/util.h"
#include "run/output.h"
#include "store/store.h"

/* The longest thumbnail name a job reports: a shard folder and one file name. */
#define IMGPIPE_THUMBNAME_LEN 264

/* What a job may do with a file already at its name: none is there (IMGPIPE_JOB_NEW:
 * one that appears meanwhile is not replaced); this link's own, to rewrite; or a queue
 * job's, which another run of the same job may have stored and recorded done (rewritten
 * with the same bytes, but never taken back: that would leave the done job no file). */
enum { IMGPIPE_JOB_NEW = 0, IMGPIPE_JOB_REWRITE = 1, IMGPIPE_JOB_SHARED = 2 };

/* Checks body with imgpipe_image_check (a known format, complete, within the pixel
 * budget), makes its thumbnails from the bytes in memory (the check is not made twice),
 * and only then writes it as `name` to out, then the thumbnails: an image that does
 * not decode is not stored. replace IMGPIPE_JOB_NEW: the name was free when it was given,
 * so a file that appeared there since (another process) is not replaced: the item fails. *thumbs
 * counts thumbnails written, names[i] (when not NULL) is size i's file name, "" when not written.
 * An image that was stored but whose thumbnail could not be written still fails, and is
 * taken back with the thumbnails written (unless a file of these bytes was there before,
 * or replace is IMGPIPE_JOB_SHARED). */
int imgpipe_job_store(const imgpipe_get_opts *opts, const imgpipe_output *out, const char *name,
                      int replace, const imgpipe_buf *body, int *thumbs,
                      char (*names)[IMGPIPE_THUMBNAME_LEN], char *err);

/* The same check for a body received into the temporary file tmp, whose len bytes are
 * at data (a mapping of it; len 0 when no byte came and there is no file); then tmp is
 * renamed to name, or removed when the check fails; replace as imgpipe_job_store's. */
int imgpipe_job_land(const imgpipe_get_opts *opts, imgpipe_store_tmp *tmp, const void *data,
                     size_t len, const char *name, int replace, char *err);

/* The file name of name's thumbnail for box, one of n sizes, written in format (NULL: the
 * source's), of a w x h source: imgpipe_thumb_name_as's, sized when n > 1, and also when n
 * is 1 but a file of the unsized name is there that is not a thumbnail of this source for
 * this box, so that thumbnails of different sizes never replace each other. */
int imgpipe_job_thumb_name(const imgpipe_output *out, const char *name,
                           const imgpipe_thumb_size *box, int n, const char *format, int w, int h,
                           char *buf, size_t cap);

/* The format data's thumbnails are written in: --format's, else the one its bytes' codec
 * writes (its own; GIF: png, HEIC: jpeg), whatever its name's extension says; NULL when
 * the bytes are no format known (a name then goes by its extension). */
const char *imgpipe_job_thumb_format(const imgpipe_get_opts *opts, const void *data, size_t len);

/* The size of an encoded image from its header (after the full check); 0 or an error. */
int imgpipe_job_image_size(const void *data, size_t len, int *w, int *h, char *err);

/* Writes the thumbnails of one encoded image (already in memory) beside it; thumbs and
 * names as for imgpipe_job_store. */
int imgpipe_job_thumbs(const imgpipe_get_opts *opts, const imgpipe_output *out, const char *name,
                       const void *data, size_t len, int *thumbs,
                       char (*names)[IMGPIPE_THUMBNAME_LEN], char *err);

#endif
