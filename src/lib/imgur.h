/* Parsing the Imgur API's JSON responses into image links. Pure: no I/O, so it is unit
 * tested and fuzzed on its own. */
#ifndef IMGPIPE_IMGUR_H
#define IMGPIPE_IMGUR_H

#include "util.h"

/* Parses a response of /3/gallery/..., /3/album/<id> or /3/album/<id>/images.
 * `data` may be an array of items (gallery, album/<id>/images) or an object with
 * `images[]` (album). Keeps items whose "type" is image/jpeg or image/png (any case) and
 * whose "link" is http(s):// with something after the scheme and no space or control byte;
 * expands album items (is_album true) from their images[] with the same filter (members are
 * not expanded further). Counts the rest: skipped_type for items that are not such images
 * (including non-objects and items without a string link), skipped_album for an album
 * whose images[] is missing or empty (an /album/<id> answer with none counts too).
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
 *        (<section> required, the rest optional: gallery/hot, gallery/hot/viral, ...)
 *   album/<id>                           -> /3/album/<id>
 * Each part must be [A-Za-z0-9_-]+. Writes into path (cap bytes). IMGPIPE_EINVAL with a
 * message that lists the accepted forms otherwise. */
int imgpipe_imgur_path(const char *spec, char *path, size_t cap, char *err);

#endif
