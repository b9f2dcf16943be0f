/* imgpipe: list images, download them concurrently, make thumbnails. */
#include "cli.h"
#include "options.h"

#include <locale.h>
#include <string.h>

static const char usage[] =
    "usage: imgpipe <command> [options] [args]\n"
    "\n"
    "Commands:\n"
    "  links  [SOURCE...]                         print the image links, one a line\n"
    "  get    [-o DIR] [-m MODE] [--thumb WxH]... [SOURCE...]\n"
    "                                             download images (and thumbnails)\n"
    "  thumbs [-t WxH]... PATH...                 make thumbnails of files or directories\n"
    "\n"
    "Distributed mode (a queue on Redis; workers on any number of hosts):\n"
    "  enqueue [--redis URL] [-Q QUEUE] [-o DIR] [--thumb WxH]... [SOURCE...]\n"
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
    "  AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION\n"
    "                    credentials and region for -o s3://BUCKET/PREFIX\n"
    "  IMGPIPE_S3_ENDPOINT, AWS_ENDPOINT_URL\n"
    "                    an S3-compatible service instead of AWS (or --s3-endpoint)\n"
    "\n"
    "Exit status: 0 all done, 1 some items failed, 2 usage or configuration error.\n"
    "Run 'imgpipe <command> --help' for a command's options.\n";

struct command {
    const struct cli_command *cli;
    int (*run)(int argc, char **argv);
};

static const struct command commands[] = {
    {&cli_links_command, cmd_links},
    {&cli_get_command, cmd_get},
    {&cli_thumbs_command, cmd_thumbs},
    {&cli_enqueue_command, cmd_enqueue},
    {&cli_worker_command, cmd_worker},
    {&cli_status_command, cmd_status},
    {&cli_requeue_command, cmd_requeue_failed},
    {&cli_purge_command, cmd_purge},
    {&cli_dashboard_command, cmd_dashboard},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

/* imgpipe help-options [CMD...]: the option tables, for the completion and the tests. */
static int help_options(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        size_t k = 0;
        while (k < NCOMMANDS && strcmp(argv[i], commands[k].cli->name) != 0)
            k++;
        if (k == NCOMMANDS) {
            cli_error("help-options: unknown command '%s'; try 'imgpipe --help'", argv[i]);
            return CLI_EXIT_USAGE;
        }
    }
    for (size_t k = 0; k < NCOMMANDS; k++) {
        int wanted = argc < 2;
        for (int i = 1; i < argc; i++)
            wanted |= strcmp(argv[i], commands[k].cli->name) == 0;
        if (wanted)
            cli_print_option_table(commands[k].cli, stdout);
    }
    return fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAILED;
}

/* Links, lists and API answers are UTF-8 whatever the user's locale: libcurl converts an
 * IDN host (http://café.example/) to its ASCII form through the locale's character set,
 * and in the C locale a program starts in, refused every such link as malformed. */
static void use_utf8_ctype(void)
{
    if (!setlocale(LC_CTYPE, "C.UTF-8"))
        setlocale(LC_CTYPE, "");
}

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
    if (strcmp(argv[1], "help-options") == 0)
        return help_options(argc - 1, argv + 1);
    for (size_t i = 0; i < NCOMMANDS; i++) {
        if (strcmp(argv[1], commands[i].cli->name) != 0)
            continue;
        use_utf8_ctype();
        if (imgpipe_global_init() != IMGPIPE_OK) {
            cli_error("cannot initialise libcurl");
            return CLI_EXIT_FAILED;
        }
        int rc = commands[i].run(argc - 1, argv + 1);
        imgpipe_global_cleanup();
        return rc;
    }
    cli_error("unknown command '%s'; try 'imgpipe --help'", argv[1]);
    return CLI_EXIT_USAGE;
}
