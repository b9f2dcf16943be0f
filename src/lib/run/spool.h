/* A download written to a temporary file in its output directory as it arrives, its
 * SHA-256 taken from the same pieces on their way to the file (not read back for it),
 * then checked through a view of the file (store_tmp_view: mapped where that is safe, so
 * the codec table's walk pages in only what it reads) and renamed to its name only when
 * whole and valid. For tasks without thumbnails; those decode the image from memory
 * anyway. */
#ifndef IMGPIPE_SPOOL_H
#define IMGPIPE_SPOOL_H

#include "common/sha256.h"
#include "net/fetch.h"
#include "store/store.h"

typedef struct imgpipe_spool {
    imgpipe_store_tmp tmp; /* fd -1: no file yet (none made before the first byte) */
    uint64_t bytes;
    int dirfd;
    int write_errno;    /* a failed create or write: why, for the outcome; 0: none */
    imgpipe_sha256 sha; /* of every byte written */
} imgpipe_spool;

/* An empty spool: no file. */
void imgpipe_spool_init(imgpipe_spool *s);

/* Before each attempt: the file and digest of an earlier attempt are emptied; what
 * imgpipe_spool_take gets next goes into a temporary file of dirfd, made with its first
 * byte. */
void imgpipe_spool_reset(imgpipe_spool *s, int dirfd);

/* Writes a piece of the body to the file and adds it to the digest: 0, or -1 with
 * write_errno set (later pieces are refused too). */
int imgpipe_spool_take(imgpipe_spool *s, const void *data, size_t len);

/* imgpipe_spool_reset, then t's 2xx body goes to imgpipe_spool_take on the thread that
 * receives it. */
void imgpipe_spool_begin(imgpipe_spool *s, int dirfd, imgpipe_transfer *t);

/* After the last piece: the digest of the body (64 hex digits; "" when libcrypto failed). */
void imgpipe_spool_digest(imgpipe_spool *s, char hex[65]);

/* After a transfer that failed because s could not write: the disk's error (coded by
 * imgpipe_store_errno_code) with a sentence naming name; 0 when s had none. */
int imgpipe_spool_error(const imgpipe_spool *s, const char *name, char *err);

/* Removes the temporary file, if any; s can begin again. */
void imgpipe_spool_discard(imgpipe_spool *s);

void imgpipe_spool_free(imgpipe_spool *s);

#endif
