/* imgpipe links: print the image links of the sources, one a line. */
#include "cli.h"

#include <getopt.h>
#include <string.h>

static const char usage[] =
    "usage: imgpipe links [-q] [--pages N] [-k] [--cacert FILE] [SOURCE...]\n"
    "\n"
    "Prints the image links of each SOURCE (default imgur:random), one a line, in order.\n"
    "Only JPEG and PNG items of Imgur answers are printed; albums are expanded.\n"
    "\n"
    "  -q, --quiet   do not print what was skipped\n"
    "      --pages N read N pages of imgur: listings (gallery/, r/, tag/), one after\n"
    "                another from the spec's page, ending at the first empty one;\n"
    "                1..1000 (default: 1)\n"
    "  -k, --insecure  do not verify TLS certificates\n"
    "      --cacert FILE\n"
    "                verify TLS certificates with the CA certificates in FILE (PEM)\n"
    "  -h, --help    this help\n";

enum { OPT_PAGES = 256, OPT_CACERT };

int cmd_links(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"quiet", no_argument, NULL, 'q'},    {"pages", required_argument, NULL, OPT_PAGES},
        {"insecure", no_argument, NULL, 'k'}, {"cacert", required_argument, NULL, OPT_CACERT},
        {"help", no_argument, NULL, 'h'},     {0, 0, 0, 0}};
    int quiet = 0, insecure = 0, c;
    const char *cacert = NULL;
    while ((c = getopt_long(argc, argv, "qkh", longopts, NULL)) != -1) {
        if (c == 'q') {
            quiet = 1;
        } else if (c == 'k') {
            insecure = 1;
        } else if (c == OPT_CACERT) {
            cacert = optarg; /* checked after the options: --help goes first */
        } else if (c == OPT_PAGES) {
            if (cli_set_pages(optarg))
                return CLI_EXIT_USAGE;
        } else if (c == 'h') {
            fputs(usage, stdout);
            return CLI_EXIT_OK;
        } else {
            fputs(usage, stderr);
            return CLI_EXIT_USAGE;
        }
    }
    if (cacert && cli_check_cacert(cacert))
        return CLI_EXIT_USAGE;
    imgpipe_source **sources;
    cli_set_source_net(insecure, cacert, 0, 0);
    int n, rc = cli_open_sources(argc - optind, argv + optind, &sources, &n);
    if (rc)
        return rc;
    char err[IMGPIPE_ERRLEN];
    const char *url;
    for (int i = 0; i < n && rc == CLI_EXIT_OK; i++) {
        int r;
        while ((r = imgpipe_source_next(sources[i], &url, err)) > 0)
            puts(url);
        if (r < 0) {
            cli_error("%s", err);
            rc = CLI_EXIT_FAILED;
        }
    }
    if (!quiet)
        cli_print_skipped(sources, n);
    cli_free_sources(sources, n);
    if (fflush(stdout) != 0) {
        cli_error("cannot write the links to standard output");
        rc = CLI_EXIT_FAILED;
    }
    return rc;
}
