/* Opening sources from the command line: defaults and environment. */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char missing_client_id[] =
    "IMGUR_CLIENT_ID is not set, and source '%s' asks the Imgur API, which needs one.\n"
    "  Register an application at https://api.imgur.com/oauth2/addclient (choose\n"
    "  'anonymous usage without user authorization'), then: export IMGUR_CLIENT_ID=<Client-ID>\n"
    "  Or give links instead: imgpipe get urls.txt";

/* --pages, shared by the commands that open sources: 0 is the library's default, 1. */
static int source_pages;

int cli_set_pages(const char *text)
{
    return cli_parse_int("--pages", text, 1, 1000, &source_pages);
}

/* -k, --cacert, --retries, --retry-wait and the timeouts of the command, for its API
 * requests too. */
static imgpipe_source_opts source_net;

void cli_set_source_net(int insecure, const char *cacert, int retries, long retry_wait_ms)
{
    source_net.insecure = insecure;
    source_net.cacert = cacert;
    source_net.retries = retries;
    source_net.retry_wait_ms = retry_wait_ms;
}

/* libcurl takes any file as the CA file and then fails every transfer with it: a file
 * that cannot hold a CA (a directory, an empty file, an image given by mistake) is said
 * once, before anything runs, as the usage error it is. */
int cli_check_cacert(const char *path)
{
    FILE *fp = fopen(path, "r");
    if (!fp) {
        cli_error("--cacert: cannot read '%s': %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    char line[256];
    int pem = 0, dir = fstat(fileno(fp), &st) == 0 && S_ISDIR(st.st_mode);
    while (!dir && !pem && fgets(line, sizeof(line), fp))
        pem = strncmp(line, "-----BEGIN ", 11) == 0 && strstr(line, "CERTIFICATE-----") != NULL;
    fclose(fp);
    if (dir)
        cli_error("--cacert: '%s' is a directory, not a file of PEM certificates", path);
    else if (!pem)
        cli_error("--cacert: '%s' holds no PEM certificate (-----BEGIN CERTIFICATE-----)", path);
    return dir || !pem ? -1 : 0;
}

void cli_set_source_timeouts(long connect_timeout_ms, long read_timeout_ms, long timeout_ms)
{
    source_net.connect_timeout_ms = connect_timeout_ms;
    source_net.read_timeout_ms = read_timeout_ms;
    source_net.timeout_ms = timeout_ms;
}

void cli_set_source_insecure(void)
{
    source_net.insecure = 1;
}

static int is_imgur(const char *spec)
{
    return strncmp(spec, "imgur:", 6) == 0;
}

/* The usage and configuration errors of the specs, found with no request: every spec is
 * checked before the first is opened, so a bad one costs no API request. */
int cli_check_sources(int nspecs, char **specs)
{
    const char *client_id = getenv("IMGUR_CLIENT_ID");
    for (int i = 0; i < nspecs; i++) {
        char err[IMGPIPE_ERRLEN];
        if (imgpipe_source_check(specs[i], err)) {
            cli_error("%s", err);
            return CLI_EXIT_USAGE;
        }
        if (is_imgur(specs[i]) && (!client_id || !*client_id)) {
            cli_error(missing_client_id, specs[i]);
            return CLI_EXIT_USAGE;
        }
    }
    return CLI_EXIT_OK;
}

int cli_open_sources(int nspecs, char **specs, imgpipe_source ***out, int *n)
{
    static char *default_spec[] = {"imgur:random"};
    if (nspecs <= 0) {
        nspecs = 1;
        specs = default_spec;
    }
    imgpipe_source_opts so = {.api_url = getenv("IMGUR_API_URL"),
                              .client_id = getenv("IMGUR_CLIENT_ID"),
                              .pages = source_pages,
                              .connect_timeout_ms = source_net.connect_timeout_ms,
                              .timeout_ms = source_net.timeout_ms,
                              .read_timeout_ms = source_net.read_timeout_ms,
                              .insecure = source_net.insecure,
                              .cacert = source_net.cacert,
                              .retries = source_net.retries,
                              .retry_wait_ms = source_net.retry_wait_ms,
                              .stop = &cli_stop_signal}; /* set once a command catches it */
    if (cli_check_sources(nspecs, specs))
        return CLI_EXIT_USAGE;
    imgpipe_source **sources = calloc((size_t)nspecs, sizeof(*sources));
    if (!sources) {
        cli_error("out of memory");
        return CLI_EXIT_FAILED;
    }
    /* Every source is opened before any download, so an API failure downloads nothing. */
    for (int i = 0; i < nspecs; i++) {
        char err[IMGPIPE_ERRLEN];
        int rc = imgpipe_source_open(&sources[i], specs[i], &so, err);
        if (rc) {
            cli_error("%s", cli_stopped_by() ? "interrupted" : err);
            cli_free_sources(sources, i);
            if (cli_stopped_by()) /* SIGINT or SIGTERM during an API request, or a FIFO's open */
                return 128 + cli_stopped_by();
            return rc == IMGPIPE_EINVAL || rc == IMGPIPE_ECONFIG ? CLI_EXIT_USAGE : CLI_EXIT_FAILED;
        }
    }
    *out = sources;
    *n = nspecs;
    return CLI_EXIT_OK;
}

void cli_free_sources(imgpipe_source **sources, int n)
{
    for (int i = 0; i < n; i++)
        imgpipe_source_free(sources[i]);
    free(sources);
}

void cli_print_skipped(imgpipe_source *const *sources, int n)
{
    uint64_t type = 0, album = 0;
    for (int i = 0; i < n; i++) {
        const imgpipe_source_counts *c = imgpipe_source_counts_get(sources[i]);
        type += c->skipped_type;
        album += c->skipped_album;
    }
    if (type + album)
        fprintf(stderr,
                "imgpipe: %llu links skipped (%llu not JPEG or PNG, %llu albums without "
                "images)\n",
                (unsigned long long)(type + album), (unsigned long long)type,
                (unsigned long long)album);
}
