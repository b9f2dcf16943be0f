/* Where a run's files go: a directory (written atomically through its descriptor) or a
 * bucket (each object PUT whole, checked by its digests). job.c and run.c write, read and
 * look up names through this, whichever it is. */
#ifndef IMGPIPE_OUTPUT_H
#define IMGPIPE_OUTPUT_H

#include "common/util.h"
#include "net/s3.h"

typedef struct imgpipe_output {
    int dirfd;       /* the directory, when s3 is NULL */
    imgpipe_s3 *s3;  /* the bucket and prefix, or NULL */
    const char *url; /* the source URL of what is written, for an object's metadata */
    int guard;       /* refuse to replace an object another source (url) wrote */
} imgpipe_output;

/* Writes data as name: imgpipe_store_put with flags, or imgpipe_s3_put (a PUT has no
 * "only if absent" here: guard is what keeps another source's object). */
int imgpipe_output_write(const imgpipe_output *o, const char *name, const void *data, size_t len,
                         int flags, char *err);

/* 1 when something is at name (in a bucket: an object; a lookup that fails says 0). */
int imgpipe_output_exists(const imgpipe_output *o, const char *name);

/* Whether name holds a file this output wrote for url, of *size bytes: 1 with *size, 0 when
 * not (absent, not a regular file, an object of another URL). */
int imgpipe_output_stat(const imgpipe_output *o, const char *name, const char *url, uint64_t *size);

/* 1 when name is taken by something that is not url's (a bucket's object records its
 * source URL; a directory's files do not: anything there is taken). */
int imgpipe_output_taken(const imgpipe_output *o, const char *name, const char *url);

/* Whether name holds the bytes of digest sha256 (hex), len long (imgpipe_store_holds): 1
 * yes, 0 nothing there, -1 something else, -2 cannot tell. A bucket says 0: its PUT replaces, and
 * guard is what keeps another source's object. */
int imgpipe_output_holds(const imgpipe_output *o, const char *name, const char *sha256,
                         uint64_t len);

/* Takes back a file this run put at name (a bucket's object stays). */
void imgpipe_output_remove(const imgpipe_output *o, const char *name);

/* Reads name (at most max bytes) into b. */
int imgpipe_output_read(const imgpipe_output *o, const char *name, uint64_t max, imgpipe_buf *b,
                        char *err);

#endif
