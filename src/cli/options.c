#include "options.h"
#include "cli.h"

#include <ctype.h>
#include <getopt.h>
#include <string.h>

#define CLI_MAX_OPTIONS 64
#define LONG_BASE 0x10000 /* getopt's val for table entry i: LONG_BASE + i, beyond any letter */
#define HELP_COLUMN 28

struct getopt_arrays {
    const struct cli_command *cmd;
    struct option longopts[CLI_MAX_OPTIONS + 1];
    char shortopts[2 * CLI_MAX_OPTIONS + 2];
};

/* getopt_long's arrays for cmd, made from its table on first use. */
static const struct getopt_arrays *arrays_for(const struct cli_command *cmd)
{
    static struct getopt_arrays a;
    if (a.cmd == cmd)
        return &a;
    memset(&a, 0, sizeof(a));
    a.cmd = cmd;
    size_t s = 0, l = 0;
    a.shortopts[s++] = ':'; /* a missing value returns ':', told apart from unknown */
    for (int i = 0; i < cmd->noptions && i < CLI_MAX_OPTIONS; i++) {
        const struct cli_option *o = &cmd->options[i];
        if (o->letter) {
            a.shortopts[s++] = (char)o->letter;
            if (o->arg)
                a.shortopts[s++] = ':';
        }
        if (o->name)
            a.longopts[l++] = (struct option){o->name, o->arg ? required_argument : no_argument,
                                              NULL, LONG_BASE + i};
    }
    return &a;
}

static const struct cli_option *by_letter(const struct cli_command *cmd, int c)
{
    for (int i = 0; i < cmd->noptions; i++)
        if (c && cmd->options[i].letter == c)
            return &cmd->options[i];
    return NULL;
}

/* The option as the user typed it: "-x", or argv's word up to '='. */
static void typed(int c, char **argv, char *out, size_t cap)
{
    if (c > 0 && c < LONG_BASE) {
        snprintf(out, cap, "-%c", c);
        return;
    }
    const char *w = argv[optind - 1];
    size_t n = strcspn(w, "=");
    snprintf(out, cap, "%.*s", (int)(n < 64 ? n : 64), w);
}

static int bad_option(const struct cli_command *cmd, int rc, char **argv)
{
    char word[80];
    if (rc == ':') {
        typed(optopt, argv, word, sizeof(word));
        cli_error("%s: option '%s' needs a value; try 'imgpipe %s --help'", cmd->name, word,
                  cmd->name);
    } else if (optopt >= LONG_BASE) {
        typed(optopt, argv, word, sizeof(word));
        cli_error("%s: option '%s' takes no value; try 'imgpipe %s --help'", cmd->name, word,
                  cmd->name);
    } else {
        typed(optopt && isprint(optopt) ? optopt : 0, argv, word, sizeof(word));
        cli_error("%s: unknown or ambiguous option '%s'; try 'imgpipe %s --help'", cmd->name, word,
                  cmd->name);
    }
    return '?';
}

int cli_getopt(const struct cli_command *cmd, int argc, char **argv)
{
    /* A table that outgrew the arrays would lose options: say so, run nothing. */
    if (cmd->noptions > CLI_MAX_OPTIONS) {
        cli_error("%s: %d options, more than the %d the CLI was built for", cmd->name,
                  cmd->noptions, CLI_MAX_OPTIONS);
        return '?';
    }
    const struct getopt_arrays *a = arrays_for(cmd);
    opterr = 0;
    optopt = 0;
    int rc = getopt_long(argc, argv, a->shortopts, a->longopts, NULL);
    if (rc == -1)
        return -1;
    if (rc == '?' || rc == ':')
        return bad_option(cmd, rc, argv);
    const struct cli_option *o =
        rc >= LONG_BASE ? &cmd->options[rc - LONG_BASE] : by_letter(cmd, rc);
    if (o->flags & CLI_OPT_DEPRECATED) {
        if (rc >= LONG_BASE) /* argv[optind - 1] may be the value by now: name it from the table */
            cli_error("warning: '--%s' is deprecated in '%s'; use %s", o->name, cmd->name, o->use);
        else
            cli_error("warning: '-%c' is deprecated in '%s'; use %s", rc, cmd->name, o->use);
    }
    return o->id;
}

/* "  -o, --output DIR" or "      --json": the option's part of a help line. */
static int spec(const struct cli_option *o, char *out, size_t cap)
{
    char letter[8] = "    ";
    if (o->letter)
        snprintf(letter, sizeof(letter), "-%c%s", o->letter, o->name ? ", " : "");
    return snprintf(out, cap, "  %s%s%s%s%s", letter, o->name ? "--" : "", o->name ? o->name : "",
                    o->arg ? " " : "", o->arg ? o->arg : "");
}

static void print_option(const struct cli_option *o, FILE *out)
{
    char head[96];
    int n = spec(o, head, sizeof(head));
    fputs(head, out);
    if (n > HELP_COLUMN - 2) {
        fputc('\n', out);
        n = 0;
    }
    const char *h = o->help;
    while (*h) {
        size_t len = strcspn(h, "\n");
        fprintf(out, "%*s%.*s\n", HELP_COLUMN - n, "", (int)len, h);
        n = 0;
        h += len + (h[len] == '\n');
    }
}

void cli_print_help(const struct cli_command *cmd, FILE *out)
{
    fprintf(out, "usage: imgpipe %s %s\n\n%s\n", cmd->name, cmd->synopsis, cmd->intro);
    for (int i = 0; i < cmd->noptions; i++)
        if (!(cmd->options[i].flags & CLI_OPT_HIDDEN))
            print_option(&cmd->options[i], out);
    if (cmd->outro)
        fprintf(out, "\n%s", cmd->outro);
}

void cli_print_option_table(const struct cli_command *cmd, FILE *out)
{
    static const char *const names[] = {"hidden", "deprecated", "alias"};
    for (int i = 0; i < cmd->noptions; i++) {
        const struct cli_option *o = &cmd->options[i];
        char flags[64] = "";
        for (int f = 0; f < 3; f++)
            if (o->flags & (1 << f))
                snprintf(flags + strlen(flags), sizeof(flags) - strlen(flags), "%s%s",
                         flags[0] ? "," : "", names[f]);
        fprintf(out, "%s\t%s%s\t", cmd->name, o->name ? "--" : "-", o->name ? o->name : "");
        if (o->letter)
            fprintf(out, "-%c", o->letter);
        else
            fputc('-', out);
        fprintf(out, "\t%s\t%s\t", o->arg ? o->arg : "-", flags[0] ? flags : "-");
        for (const char *h = o->help; *h; h++)
            if (!isspace((unsigned char)*h) || !isspace((unsigned char)h[1]))
                fputc(isspace((unsigned char)*h) ? ' ' : *h, out);
        fputc('\n', out);
    }
}
