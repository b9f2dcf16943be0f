/* imgpipe: list images, download them concurrently, make thumbnails. */
#include "cli.h"

#include <string.h>

static const char usage[] =
    "usage: imgpipe <command> [options] [args]\n"
    "\n"
    "Commands:\n"
    "  links  [SOURCE...]                         print the image links, one a line\n"
    "  get    [-o DIR] [-m MODE] [--thumb WxH]... [SOURCE...]\n"
    "                                             download images (and thumbnails)\n"
    "  thumbs [-s WxH]... PATH...                 make thumbnails of files or directories\n"
    "\n"
    "Distributed mode (a queue on Redis; workers on any number of hosts):\n"
    "  enqueue [--redis URL] [-q QUEUE] [-o DIR] [--thumb WxH]... [SOURCE...]\n"
    "                                             add one job per image link\n"
    "  worker  [--redis URL] [--burst] [-j N] [--name NAME] [QUEUE...]\n"
    "                                             run jobs (--burst: until none is left)\n"
    "  status  [--redis URL] [--json] [--url URL] [QUEUE...]\n"
    "                                             queues, jobs held, failures, workers;\n"
    "                                             or where the job of URL is\n"
    "  requeue-failed [--redis URL] [QUEUE...]    put failed jobs back on their queue\n"
    "  purge   [--redis URL] QUEUE...             drop a queue's waiting and scheduled jobs\n"
    "  dashboard [--redis URL] [--listen HOST:PORT] [--dir DIR] [QUEUE...]\n"
    "                                             a web page of the queues, and /metrics\n"
    "\n"
    "SOURCE is imgur:random (the default), imgur:gallery/<section>/<sort>/<window>/<page>,\n"
    "imgur:r/<subreddit>/<sort>/<window>/<page>, imgur:tag/<tag>/<sort>/<window>/<page>\n"
    "(all but the first part optional; --pages N reads N pages of these), imgur:album/<id>,\n"
    "a file of URLs (one a line, '#' comments), '-' for stdin, or a URL.\n"
    "\n"
    "Environment:\n"
    "  IMGUR_CLIENT_ID   Client-ID of an Imgur application, for imgur: sources\n"
    "  IMGUR_API_URL     Imgur API base URL (default https://api.imgur.com)\n"
    "  IMGPIPE_REDIS_URL Redis for distributed mode (default redis://127.0.0.1:6379)\n"
    "\n"
    "Exit status: 0 all done, 1 some items failed, 2 usage or configuration error.\n"
    "Run 'imgpipe <command> --help' for a command's options.\n";

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
};

static const struct command commands[] = {
    {"links", cmd_links},
    {"get", cmd_get},
    {"thumbs", cmd_thumbs},
    {"enqueue", cmd_enqueue},
    {"worker", cmd_worker},
    {"status", cmd_status},
    {"requeue-failed", cmd_requeue_failed},
    {"purge", cmd_purge},
    {"dashboard", cmd_dashboard},
};

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage, stderr);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(usage, stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
        printf("imgpipe %s\n", IMGPIPE_VERSION);
        return CLI_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(argv[1], commands[i].name) != 0)
            continue;
        if (imgpipe_global_init() != IMGPIPE_OK) {
            cli_error("cannot initialise libcurl");
            return CLI_EXIT_FAILED;
        }
        int rc = commands[i].run(argc - 1, argv + 1);
        imgpipe_global_cleanup();
        return rc;
    }
    cli_error("unknown command '%s'", argv[1]);
    fputs(usage, stderr);
    return CLI_EXIT_USAGE;
}
