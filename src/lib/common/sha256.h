/* SHA-256 (FIPS 180-4), for the ledger and item reports: a digest of what was stored. */
#ifndef IMGPIPE_SHA256_H
#define IMGPIPE_SHA256_H

#include <stddef.h>

/* Writes the 64 lowercase hex digits of SHA-256(data) and a NUL into hex. */
void imgpipe_sha256_hex(const void *data, size_t len, char hex[65]);

/* A digest computed piece by piece, as a body arrives: new, update with each piece, then
 * final. new returns NULL when out of memory; a failed step makes final write "". */
typedef struct imgpipe_sha256 imgpipe_sha256;
imgpipe_sha256 *imgpipe_sha256_new(void);
void imgpipe_sha256_update(imgpipe_sha256 *s, const void *data, size_t len);
/* Starts over, as for a new message (a retried download). */
void imgpipe_sha256_reset(imgpipe_sha256 *s);
/* The hex digest of everything given since new or reset. */
void imgpipe_sha256_final(imgpipe_sha256 *s, char hex[65]);
void imgpipe_sha256_free(imgpipe_sha256 *s);

#endif
