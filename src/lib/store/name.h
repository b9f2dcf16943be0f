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
/* The hash of a URL that names show (image-<hash>, -<hash>, {hash}), taken without its
 * password: a name is seen by whoever reads DIR, and a hash of a weak password can be
 * searched for. Links that differ only in their password share it; their names then
 * differ by the walk past -<hash>. */
uint64_t imgpipe_url_name_hash(const char *url);

typedef struct imgpipe_nameset imgpipe_nameset;

imgpipe_nameset *imgpipe_nameset_new(void);
void imgpipe_nameset_free(imgpipe_nameset *set);

/* imgpipe_name_from_url(), then, when that name was given before in this set, the name
 * with "-<8 lowercase hex digits: the low 32 bits of imgpipe_hash64(url)>" inserted before
 * the extension, and when even that was taken "-2", "-3", ... after it ("a-1b2c3d4e-2.jpg");
 * the stem is cut (UTF-8 safe) so the result stays within IMGPIPE_NAME_MAX. Names compare
 * by imgpipe_name_key (case folded), by 64-bit hash: a hash collision can only make a name longer,
 * never give one twice. Records the result. Deterministic for the same sequence of URLs. Returns 0,
 * or IMGPIPE_ENOMEM (out is then ""). */
int imgpipe_nameset_assign(imgpipe_nameset *set, const char *url, char *out);

/* The same, for a base name made otherwise (a template): distinct variants derive from
 * url's hash. A thumbnail's name (imgpipe_is_thumb_name) is never given: it is reserved
 * for thumbnails, so an original and a thumbnail never share a name. */
int imgpipe_nameset_assign_name(imgpipe_nameset *set, const char *base, const char *url, char *out);

/* Candidate n of url's name walk from base, as the set functions walk it: base (n = 0),
 * "<stem>-<hex><ext>" (n = 1), "<stem>-<hex>-<n><ext>". For walks kept elsewhere (the
 * queue's name registry in Redis). Never a thumbnail's name when n > 0. */
void imgpipe_name_candidate(const char *base, const char *url, uint64_t n, char *out);

/* 1 when name may not be given to the link being named (a file of an earlier run, say). */
typedef int (*imgpipe_name_taken_fn)(void *ctx, const char *name);

/* For `get`: the first of base, "<stem>-<hex><ext>", "<stem>-<hex>-2<ext>", ... (as
 * above) that no other URL holds in this set, that is not a thumbnail's name, and that
 * taken (may be NULL) does not refuse. Returns 0 with a new name, 1 when url itself got
 * out earlier in this set (a duplicate link: the same name, not a second one), or
 * IMGPIPE_ENOMEM. Deterministic for the same sequence of URLs and the same answers of
 * taken. */
int imgpipe_nameset_claim(imgpipe_nameset *set, const char *base, const char *url,
                          imgpipe_name_taken_fn taken, void *ctx, char *out);

/* Holds name for url in the set, unless it is there already: 0, 1 when url holds it
 * already, 2 when another URL does, or IMGPIPE_ENOMEM. For a name a link has besides its
 * walk from the base name (run.c: the one an earlier run recorded for it, or a file that
 * holds its bytes), which no other link of the run may then get. */
int imgpipe_nameset_reserve(imgpipe_nameset *set, const char *name, const char *url);

/* The index url was first given in this set with imgpipe_nameset_first_index: *first,
 * or index itself, then remembered, when url is new. A template with {index} names a link
 * listed twice as it named it first, so a duplicate is found as one (one download, one
 * name). 0 or IMGPIPE_ENOMEM. */
int imgpipe_nameset_first_index(imgpipe_nameset *set, const char *url, uint64_t index,
                                uint64_t *first);

/* What became of the link holding the name of key name_key (the name claim or reserve
 * gave it): imgpipe_nameset_state says PENDING until imgpipe_nameset_settle says it was
 * done or failed, with the caller's note (its low 18 bits) given back in *note. Kept in
 * the name's own slot: no memory per link. A link listed again (claim returned 1) is
 * reported as its first occurrence's outcome says. */
enum { IMGPIPE_NAME_PENDING, IMGPIPE_NAME_DONE, IMGPIPE_NAME_FAILED };
void imgpipe_nameset_settle(imgpipe_nameset *set, uint64_t name_key, int failed, uint32_t note);
int imgpipe_nameset_state(const imgpipe_nameset *set, uint64_t name_key, uint32_t *note);

/* A value kept under a key of the caller's (one that does not meet a name's: a name's
 * hash mixed with a constant, say): set, or replaced. 0 or IMGPIPE_ENOMEM; noted: 1 with
 * *value, 0 when none. */
int imgpipe_nameset_note(imgpipe_nameset *set, uint64_t key, uint64_t value);
int imgpipe_nameset_noted(const imgpipe_nameset *set, uint64_t key, uint64_t *value);

/* The hash names are compared by: ASCII case folded, since "A.jpg" and "a.jpg" are one
 * file on a case-insensitive file system. Never 0. */
uint64_t imgpipe_name_key(const char *name);

#endif
