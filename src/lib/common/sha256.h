/* SHA-256 (FIPS 180-4), for the ledger and item reports: a digest of what was stored. */
#ifndef IMGPIPE_SHA256_H
#define IMGPIPE_SHA256_H

#include <stddef.h>

/* Writes the 64 lowercase hex digits of SHA-256(data) and a NUL into hex. */
void imgpipe_sha256_hex(const void *data, size_t len, char hex[65]);

#endif
