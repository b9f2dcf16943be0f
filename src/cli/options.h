/* One table of options per command. From it come getopt_long's arrays, the OPTIONS part of
 * `imgpipe CMD --help`, the errors for unknown options, and `imgpipe help-options`, which the
 * bash completion reads and tests/e2e/test_help.sh checks the man page against. */
#ifndef IMGPIPE_CLI_OPTIONS_H
#define IMGPIPE_CLI_OPTIONS_H

#include <getopt.h> /* optarg, optind */
#include <stdio.h>

enum cli_option_flags {
    CLI_OPT_HIDDEN = 1,     /* accepted, but listed in no help and offered by no completion */
    CLI_OPT_DEPRECATED = 2, /* accepted with a warning naming the spelling to use instead */
    CLI_OPT_ALIAS = 4       /* another spelling of the option whose id it has */
};

struct cli_option {
    const char *name; /* long name without "--", or NULL for a short letter alone */
    int letter;       /* short letter, or 0 */
    const char *arg;  /* the value's name in help (DIR, N, WxH), or NULL for a flag */
    const char *help; /* what it does; '\n' starts another line of help */
    int id;           /* what cli_getopt returns for it: its letter, or a value >= 256 */
    int flags;        /* enum cli_option_flags */
    const char *use;  /* CLI_OPT_DEPRECATED: the spelling to use instead, e.g. "-Q/--queue" */
};

struct cli_command {
    const char *name;     /* get */
    const char *synopsis; /* "[options] [SOURCE...]" */
    const char *intro;    /* the paragraph between the usage line and the options */
    const char *outro;    /* what follows the options (exit status), or NULL */
    const struct cli_option *options;
    int noptions;
};

#define CLI_OPTIONS(table) (table), (int)(sizeof(table) / sizeof((table)[0]))

/* The next option of argv, as getopt_long: its table id (optarg set when it takes a value),
 * -1 after the last option, or '?' for an unknown option or a missing value, reported in one
 * line with a hint to the command's --help. A deprecated spelling prints a warning. */
int cli_getopt(const struct cli_command *cmd, int argc, char **argv);

/* The usage line, intro, options and outro of cmd. */
void cli_print_help(const struct cli_command *cmd, FILE *out);

/* `imgpipe help-options` lines of cmd: command, long, short, value, flags, help, tab-separated
 * ("-" for an empty field); the help's lines joined with spaces. */
void cli_print_option_table(const struct cli_command *cmd, FILE *out);

/* Every command, for `imgpipe help-options` and the dispatcher. */
extern const struct cli_command cli_links_command, cli_get_command, cli_thumbs_command,
    cli_enqueue_command, cli_worker_command, cli_status_command, cli_requeue_command,
    cli_purge_command, cli_dashboard_command;

#endif
