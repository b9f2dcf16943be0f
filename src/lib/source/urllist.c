/* URL lists: one URL a line. */
#include "source/urllist.h"

#include <string.h>

static int is_trim(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

char *imgpipe_urllist_line(char *line)
{
    if (!line)
        return NULL;
    /* Editors on Windows start a UTF-8 file with a byte order mark, which is never part of
     * a URL: without this, the list's first URL is lost. */
    if (strncmp(line, "\xEF\xBB\xBF", 3) == 0)
        line += 3;
    while (is_trim(*line))
        line++;
    size_t n = strlen(line);
    while (n > 0 && is_trim(line[n - 1]))
        n--;
    line[n] = '\0';
    /* Only a '#' that starts the (trimmed) line is a comment: '#' inside a URL is its
     * fragment. */
    if (line[0] == '\0' || line[0] == '#')
        return NULL;
    return line;
}
