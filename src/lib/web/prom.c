/* The Prometheus text exposition format (version 0.0.4): a "# HELP" and a "# TYPE" line
 * per metric family, then "name{label="value"} number" lines. */
#include "web/web.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put(imgpipe_buf *b, const char *s)
{
    (void)imgpipe_buf_append(b, s, strlen(s));
}

/* HELP text escapes backslash and newline; label values also escape the double quote. */
static void put_escaped(imgpipe_buf *b, const char *s, int quote)
{
    for (; *s; s++) {
        if (*s == '\\')
            put(b, "\\\\");
        else if (*s == '\n')
            put(b, "\\n");
        else if (*s == '"' && quote)
            put(b, "\\\"");
        else
            (void)imgpipe_buf_append(b, s, 1);
    }
}

void imgpipe_prom_head(imgpipe_buf *b, const char *name, const char *type, const char *help)
{
    put(b, "# HELP ");
    put(b, name);
    put(b, " ");
    put_escaped(b, help, 0);
    put(b, "\n# TYPE ");
    put(b, name);
    put(b, " ");
    put(b, type);
    put(b, "\n");
}

static void label(imgpipe_buf *b, const char *k, const char *v, int first)
{
    put(b, first ? "{" : ",");
    put(b, k);
    put(b, "=\"");
    put_escaped(b, v, 1);
    put(b, "\"");
}

void imgpipe_prom_sample(imgpipe_buf *b, const char *name, const char *k1, const char *v1,
                         const char *k2, const char *v2, double value)
{
    char num[64];
    put(b, name);
    if (k1)
        label(b, k1, v1, 1);
    if (k2)
        label(b, k2, v2, !k1);
    if (k1 || k2)
        put(b, "}");
    if (isinf(value))
        snprintf(num, sizeof(num), " %s\n", value > 0 ? "+Inf" : "-Inf");
    else if (value == floor(value) && fabs(value) < 1e15)
        snprintf(num, sizeof(num), " %.0f\n", value);
    else
        snprintf(num, sizeof(num), " %.6g\n", value);
    put(b, num);
}

char *imgpipe_prom_finish(imgpipe_buf *b)
{
    char *out = NULL;
    if (imgpipe_buf_append(b, "", 1) == 0)
        out = strndup((const char *)b->data, b->len);
    imgpipe_buf_free(b);
    return out;
}
