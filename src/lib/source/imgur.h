/* Parsing the Imgur API's JSON responses into image links. Pure: no I/O, so it is unit
 * tested and fuzzed on its own. */
#ifndef IMGPIPE_IMGUR_H
#define IMGPIPE_IMGUR_H

#include "common/util.h"

/* Parses a response of /3/gallery/..., /3/album/<id> or /3/album/<id>/images.
 * `data` may be an array of items (gallery, album/<id>/images), an object with `items[]`
 * (a tag, /3/gallery/t/<tag>: items parsed like a gallery's) or an object with `images[]`
 * (album). Keeps items whose "type" is image/jpeg or image/png (any case) and
 * whose "link" is http(s):// with something after the scheme and no space or control byte;
 * expands album items (is_album true) from their images[] with the same filter (members are
 * not expanded further). Counts the rest: skipped_type for items that are not such images
 * (including non-objects and items without a string link), skipped_album for an album
 * whose images[] is missing or empty (an /album/<id> answer with none counts too).
 * Every item adds at least one to links + skipped_type + skipped_album, so a response
 * that adds none had no items: an empty page, where pagination ends.
 * Appends kept links to `links` in order and adds to `counts` (may be NULL); on failure
 * neither is changed.
 * Errors, with the API's own text in err where it gave one:
 *   IMGPIPE_EAPI — malformed JSON (with line/column; duplicate keys count as malformed),
 *   a refusal ("success": false, or no "success" and a data.error; the message quotes
 *   data.error — a string or {"code","message"} — and status), or a shape that is not
 *   the above. IMGPIPE_ENOMEM when out of memory. */
int imgpipe_imgur_parse(const char *json, size_t len, imgpipe_strvec *links,
                        imgpipe_source_counts *counts, char *err);

/* Turns an imgur: spec (without the "imgur:" prefix) into the API path to request:
 *   random                               -> /3/gallery/random/random/
 *   gallery/<section>/<sort>/<window>/<page> -> /3/gallery/<section>/<sort>/<window>/<page>
 *   r/<subreddit>/<sort>/<window>/<page>     -> /3/gallery/r/<subreddit>/<sort>/<window>/<page>
 *   tag/<tag>/<sort>/<window>/<page>         -> /3/gallery/t/<tag>/<sort>/<window>/<page>
 *        (the first part required, the rest optional: gallery/hot, r/pics/top, ...)
 *   album/<id>                           -> /3/album/<id>
 * Each part must be [A-Za-z0-9_-]+, a <page> a number of at most 9 digits. Writes into
 * path (cap bytes). IMGPIPE_EINVAL with a message that lists the accepted forms otherwise. */
int imgpipe_imgur_path(const char *spec, char *path, size_t cap, char *err);

/* 1 when spec (without "imgur:") names a paged listing: gallery/, r/ or tag/. */
int imgpipe_imgur_is_paged(const char *spec);

/* The path of page n of spec, n counted from the spec's own page (0 when it names none):
 * n = 0 is imgpipe_imgur_path(); for n > 0 every part is spelled out, the ones left out
 * with Imgur's defaults (gallery: viral/day, r: time/week, tag: viral/week), e.g.
 * ("r/pics", 2) -> /3/gallery/r/pics/time/week/2. n > 0 on a spec without pages
 * (random, album) is IMGPIPE_EINVAL. */
int imgpipe_imgur_page_path(const char *spec, int n, char *path, size_t cap, char *err);

#endif
