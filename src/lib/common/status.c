#include "imgpipe.h"

#include <curl/curl.h>

/* A switch without default, so -Wswitch names a code added without its text. */
static const char *status_text(enum imgpipe_status s)
{
    switch (s) {
    case IMGPIPE_OK:
        return "success";
    case IMGPIPE_EINVAL:
        return "invalid argument";
    case IMGPIPE_ENOMEM:
        return "out of memory";
    case IMGPIPE_EIO:
        return "file system error";
    case IMGPIPE_ENET:
        return "transfer failed";
    case IMGPIPE_EHTTP:
        return "HTTP error status";
    case IMGPIPE_EAPI:
        return "API error";
    case IMGPIPE_ETOOBIG:
        return "too large";
    case IMGPIPE_EFORMAT:
        return "unsupported format";
    case IMGPIPE_ECORRUPT:
        return "corrupt image";
    case IMGPIPE_ECONFIG:
        return "configuration missing";
    case IMGPIPE_ETIMEOUT:
        return "timed out";
    case IMGPIPE_ECANCELED:
        return "canceled";
    case IMGPIPE_EREMOVED:
        return "removed";
    case IMGPIPE_EDISK:
        return "cannot write output";
    }
    return NULL;
}

const char *imgpipe_strerror(int status)
{
    const char *s = status_text((enum imgpipe_status)status);
    return s ? s : "unknown error";
}

int imgpipe_global_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? IMGPIPE_OK : IMGPIPE_ENOMEM;
}

void imgpipe_global_cleanup(void)
{
    curl_global_cleanup();
}
