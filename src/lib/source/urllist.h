/* URL lists: one URL a line; blank lines and lines starting with '#' are ignored. */
#ifndef IMGPIPE_URLLIST_H
#define IMGPIPE_URLLIST_H

#include <stddef.h>

/* Trims the line in place (spaces, tabs, CR, LF at both ends) and returns the URL it
 * holds, or NULL when the line is blank or a comment. A UTF-8 byte order mark at the
 * start of the line is dropped. */
char *imgpipe_urllist_line(char *line);

#endif
