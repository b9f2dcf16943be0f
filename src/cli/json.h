/* Writing JSON that is valid for any input: URLs and error texts come from servers and
 * may hold any byte. */
#ifndef IMGPIPE_CLI_JSON_H
#define IMGPIPE_CLI_JSON_H

#include <stdio.h>

/* Writes s as a JSON string: quotes, backslashes and control bytes escaped, and every
 * byte that is not part of valid UTF-8 written as U+FFFD, so the output always parses. */
void cli_json_string(FILE *f, const char *s);

/* 1 when the UTF-8 sequence at s (n bytes available) is valid; its length in *len. */
int cli_utf8_seq(const unsigned char *s, size_t n, size_t *len);

#endif
