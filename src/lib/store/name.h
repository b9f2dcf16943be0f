/* File names for downloaded images: safe, short, deterministic. */
#ifndef IMGPIPE_NAME_H
#define IMGPIPE_NAME_H

#include <stddef.h>
#include <stdint.h>

#define IMGPIPE_NAME_MAX 200 /* bytes, excluding the terminating NUL */

/* The last segment of the URL's path, made safe. In order: drop "#fragment", then
 * "?query"; skip "scheme://authority" when the URL starts with one; take what follows the
 * last '/' (so "http://host", "http://host/" and "http://host/dir/" leave nothing); decode
 * %XX (an invalid escape stays as it is); then '/' and '\\' become '_', control bytes and
 * DEL are dropped, leading '.' are dropped (so "." and ".." never come out). At most
 * IMGPIPE_NAME_MAX bytes: a longer name loses bytes from the end of its stem, keeping the
 * extension (the last '.'-suffix, dot included) when it is at most 16 bytes; a cut never
 * splits a well-formed UTF-8 sequence. When nothing is left, the name is
 * "image-<16 lowercase hex digits of imgpipe_hash64(url)>" over the whole URL string.
 * url may be NULL (as ""). out must hold IMGPIPE_NAME_MAX + 1. */
void imgpipe_name_from_url(const char *url, char *out);

/* The same rules on a name that is not a URL (no %XX decoding): for names made from a
 * template. When nothing is left, "image-<hash of key>". */
void imgpipe_name_clean(const char *raw, const char *key, char *out);

/* Names already given in one run, so that two links with the same name get distinct
 * names. Keeps 64-bit hashes, not the names: a few bytes per link. */
typedef struct imgpipe_nameset imgpipe_nameset;

imgpipe_nameset *imgpipe_nameset_new(void);
void imgpipe_nameset_free(imgpipe_nameset *set);

/* imgpipe_name_from_url(), then, when that name was given before in this set, the name
 * with "-<8 lowercase hex digits: the low 32 bits of imgpipe_hash64(url)>" inserted before
 * the extension, and when even that was taken "-2", "-3", ... after it ("a-1b2c3d4e-2.jpg");
 * the stem is cut (UTF-8 safe) so the result stays within IMGPIPE_NAME_MAX. Names compare
 * case-sensitively, by 64-bit hash: a hash collision can only make a name longer, never
 * give one twice. Records the result. Deterministic for the same sequence of URLs.
 * Returns 0, or IMGPIPE_ENOMEM (out is then ""). */
int imgpipe_nameset_assign(imgpipe_nameset *set, const char *url, char *out);

/* The same, for a base name made otherwise (a template): distinct variants derive from
 * url's hash. */
int imgpipe_nameset_assign_name(imgpipe_nameset *set, const char *base, const char *url, char *out);

#endif
