/* imgpipe links: print the image links of the sources, one a line. */
#include "cli.h"
#include "options.h"

#include <string.h>

enum { OPT_PAGES = 256, OPT_CACERT };

static const struct cli_option options[] = {
    {"quiet", 'q', NULL, "do not print what was skipped", 'q', 0, 0},
    {"pages", 0, "N",
     "read N pages of imgur: listings (gallery/, r/, tag/), one after\n"
     "another from the spec's page, ending at the first empty one;\n"
     "1..1000 (default: 1)",
     OPT_PAGES, 0, 0},
    {"insecure", 'k', NULL, "do not verify TLS certificates", 'k', 0, 0},
    {"cacert", 0, "FILE", "verify TLS certificates with the CA certificates in FILE (PEM)",
     OPT_CACERT, 0, 0},
    {"help", 'h', NULL, "this help", 'h', 0, 0},
};

const struct cli_command cli_links_command = {
    "links", "[-q] [--pages N] [-k] [--cacert FILE] [SOURCE...]",
    "Prints the image links of each SOURCE (default imgur:random), one a line, in order.\n"
    "Only JPEG and PNG items of Imgur answers are printed; albums are expanded.\n",
    NULL, CLI_OPTIONS(options)};

int cmd_links(int argc, char **argv)
{
    int quiet = 0, insecure = 0, c;
    const char *cacert = NULL;
    while ((c = cli_getopt(&cli_links_command, argc, argv)) != -1) {
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
            cli_print_help(&cli_links_command, stdout);
            return CLI_EXIT_OK;
        } else {
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
