/* SHA-256 (FIPS 180-4), for the ledger and item reports: a digest of what was stored. */
#ifndef IMGPIPE_SHA256_H
#define IMGPIPE_SHA256_H

#include <stddef.h>

/* Writes the 64 lowercase hex digits of SHA-256(data) and a NUL into hex. */
void imgpipe_sha256_hex(const void *data, size_t len, char hex[65]);

#define IMGPIPE_SHA256_LEN 32 /* bytes of a digest */

/* A digest's bytes as 64 lowercase hex digits and a NUL, and back: 0, or -1 when hex is
 * not exactly 64 hex digits. */
void imgpipe_sha256_to_hex(const unsigned char md[IMGPIPE_SHA256_LEN], char hex[65]);
int imgpipe_sha256_from_hex(const char *hex, unsigned char md[IMGPIPE_SHA256_LEN]);

/* A digest taken piece by piece, as a body arrives. Zeroed: not started. */
typedef struct imgpipe_sha256 {
    void *md; /* libcrypto's context, made on the first update */
    int failed;
} imgpipe_sha256;

/* Adds len bytes; a failure (no memory) shows in the final digest, left empty. */
void imgpipe_sha256_update(imgpipe_sha256 *h, const void *data, size_t len);

/* The digest of every byte added since the last final (or ever) into hex ("" on a
 * failure); h can then take a new body. */
void imgpipe_sha256_final(imgpipe_sha256 *h, char hex[65]);

/* Frees the context. */
void imgpipe_sha256_free(imgpipe_sha256 *h);

#endif
