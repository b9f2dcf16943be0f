/* Parsing the Imgur API's JSON responses into image links. Pure: no I/O, so it is unit
 * tested and fuzzed on its own. */
#ifndef IMGPIPE_IMGUR_H
#define IMGPIPE_IMGUR_H

#include "util.h"

/* Parses a response of /3/gallery/..., /3/album/<id> or /3/album/<id>/images.
 * `data` may be an array of items (gallery) or an object with `images[]` (album).
 * Keeps items whose "type" is image/jpeg or image/png and whose "link" is http(s);
 * expands album items (is_album true) from their images[] with the same filter; counts
 * the rest in counts->skipped_type / skipped_album. Appends kept links to `links` in order
 * and adds their number to counts->links.
 * Errors, with the API's own text in err where it gave one:
 *   IMGPIPE_EAPI — malformed JSON (with line/column), "success": false (with
 *   data.error and status), or a shape that is not the above. */
int imgpipe_imgur_parse(const char *json, size_t len, imgpipe_strvec *links,
                        imgpipe_source_counts *counts, char *err);

/* Turns an imgur: spec (without the "imgur:" prefix) into the API path to request:
 *   random                               -> /3/gallery/random/random/
 *   gallery/<section>/<sort>/<window>/<page> -> /3/gallery/<section>/<sort>/<window>/<page>
 *        (trailing parts optional: gallery/hot, gallery/hot/viral, ...)
 *   album/<id>                           -> /3/album/<id>
 * Each part must be [A-Za-z0-9_-]+. Writes into path (cap bytes). IMGPIPE_EINVAL with a
 * message that lists the accepted forms otherwise. */
int imgpipe_imgur_path(const char *spec, char *path, size_t cap, char *err);

#endif
