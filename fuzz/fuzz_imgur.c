/* libFuzzer target: the Imgur API response parser and the imgur: spec parser.
 * Checks what the headers promise: kept links are http(s):// (scheme in any case) with no
 * space or control byte, counts.links matches, and a failure leaves links and counts
 * unchanged. */
#include "source/imgur.h"
#include "common/util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_link(const char *link)
{
    size_t skip;
    if (strncasecmp(link, "http://", 7) == 0)
        skip = 7;
    else if (strncasecmp(link, "https://", 8) == 0)
        skip = 8;
    else
        abort();
    if (link[skip] == '\0')
        abort();
    for (const unsigned char *p = (const unsigned char *)link; *p; p++)
        if (*p <= 0x20 || *p == 0x7f)
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[IMGPIPE_ERRLEN];
    imgpipe_strvec links = {0};
    imgpipe_source_counts counts = {0};
    int rc = imgpipe_imgur_parse((const char *)data, size, &links, &counts, err);
    if (rc == IMGPIPE_OK) {
        if (counts.links != links.n)
            abort();
        for (size_t i = 0; i < links.n; i++)
            check_link(links.v[i]);
    } else {
        if (rc != IMGPIPE_EAPI && rc != IMGPIPE_ENOMEM)
            abort();
        if (links.n != 0 || counts.links || counts.skipped_type || counts.skipped_album)
            abort();
        if (memchr(err, '\0', sizeof(err)) == NULL)
            abort();
    }
    imgpipe_strvec_free(&links);

    /* The same bytes as an imgur: spec. */
    char *spec = malloc(size + 1);
    if (!spec)
        return 0;
    memcpy(spec, data, size);
    spec[size] = '\0';
    char path[256];
    rc = imgpipe_imgur_path(spec, path, sizeof(path), err);
    if (rc == IMGPIPE_OK) {
        if (strncmp(path, "/3/", 3) != 0)
            abort();
    } else if (memchr(err, '\0', sizeof(err)) == NULL) {
        abort();
    }
    free(spec);
    return 0;
}
