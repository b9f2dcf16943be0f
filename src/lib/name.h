/* File names for downloaded images: safe, short, deterministic. */
#ifndef IMGPIPE_NAME_H
#define IMGPIPE_NAME_H

#include <stddef.h>
#include <stdint.h>

#define IMGPIPE_NAME_MAX 200 /* bytes, excluding the terminating NUL */

/* The last segment of the URL's path (query and fragment dropped, %XX decoded), made safe:
 * no '/' or '\\' (each becomes '_'), no control bytes or DEL (dropped), no leading '.'
 * (dropped), at most IMGPIPE_NAME_MAX bytes (the extension kept when it is short, and a
 * cut never splits a UTF-8 sequence). When nothing is left (empty, "..", "/"), the name
 * is "image-<16 hex digits of imgpipe_hash64(url)>". out must hold IMGPIPE_NAME_MAX + 1. */
void imgpipe_name_from_url(const char *url, char *out);

/* Names already given in one run, so that two links with the same name get distinct
 * names. Keeps 64-bit hashes, not the names: a few bytes per link. */
typedef struct imgpipe_nameset imgpipe_nameset;

imgpipe_nameset *imgpipe_nameset_new(void);
void imgpipe_nameset_free(imgpipe_nameset *set);

/* imgpipe_name_from_url(), then, when that name was given before in this set, the name
 * with "-<8 hex digits of the URL's hash>" inserted before the extension (and a counter
 * after that if even that was taken). Records the result. Deterministic for the same
 * sequence of URLs. Returns 0, or IMGPIPE_ENOMEM. */
int imgpipe_nameset_assign(imgpipe_nameset *set, const char *url, char *out);

#endif
