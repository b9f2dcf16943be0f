/* A download written to a temporary file in its output directory as it arrives, then read
 * back from the page cache for its digest and the codec table's check (run_land) and
 * renamed to its name only when whole and valid. A body is in
 * memory only while a CPU thread checks it, not while it downloads or waits, and no
 * buffer grows by copies or faults in fresh pages per body. For tasks without thumbnails;
 * those decode the image from memory anyway. */
#ifndef IMGPIPE_SPOOL_H
#define IMGPIPE_SPOOL_H

#include "net/fetch.h"
#include "store/store.h"

typedef struct imgpipe_spool {
    imgpipe_store_tmp tmp; /* fd -1: no file yet (none made before the first byte) */
    uint64_t bytes;
    int dirfd;
    int write_errno; /* a failed create or write: why, for the outcome; 0: none */
} imgpipe_spool;

/* An empty spool: no file. */
void imgpipe_spool_init(imgpipe_spool *s);

/* Before each attempt: t's 2xx body goes to s, into a temporary file of dirfd made when
 * the first byte comes; the file of an earlier attempt is emptied. */
void imgpipe_spool_begin(imgpipe_spool *s, int dirfd, imgpipe_transfer *t);

/* After a transfer that failed because s could not write: the disk's error (coded by
 * imgpipe_store_errno_code) with a sentence naming name; 0 when s had none. */
int imgpipe_spool_error(const imgpipe_spool *s, const char *name, char *err);

/* Removes the temporary file, if any; s can begin again. */
void imgpipe_spool_discard(imgpipe_spool *s);

void imgpipe_spool_free(imgpipe_spool *s);

#endif
