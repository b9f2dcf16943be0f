/* libFuzzer target: URL list lines and the file names made from their URLs.
 * The input is split into lines (each keeps its '\n', as getline gives them); every URL
 * goes through imgpipe_name_from_url and a nameset. Aborts when a name breaks the rules of
 * name.h: non-empty, at most IMGPIPE_NAME_MAX bytes, no '/' or '\\', no leading '.', no
 * control byte or DEL; or when one nameset gives the same name twice, or gives different
 * names for the same sequence of URLs. */
#include "store/name.h"
#include "source/urllist.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_name(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > IMGPIPE_NAME_MAX)
        abort();
    if (name[0] == '.')
        abort();
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        if (*p == '/' || *p == '\\' || *p < 0x20 || *p == 0x7f)
            abort();
}

static void check_url(const char *line, size_t line_len, const char *url)
{
    if (url < line || url >= line + line_len)
        abort();
    size_t n = strlen(url);
    if (n == 0 || url[0] == '#')
        abort();
    const char *trim = " \t\r\n";
    if (strchr(trim, url[0]) || strchr(trim, url[n - 1]))
        abort();
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    char **names = calloc(size + 1, sizeof(*names)); /* at most one URL per input byte */
    imgpipe_nameset *set = imgpipe_nameset_new();
    imgpipe_nameset *again = imgpipe_nameset_new();
    if (!text || !names || !set || !again)
        abort();
    memcpy(text, data, size);
    text[size] = '\0';

    size_t nnames = 0;
    char name[IMGPIPE_NAME_MAX + 1], name2[IMGPIPE_NAME_MAX + 1];
    for (size_t start = 0; start < size;) {
        char *nl = memchr(text + start, '\n', size - start);
        size_t end = nl ? (size_t)(nl - text) + 1 : size;
        char saved = text[end];
        text[end] = '\0';
        char *line = text + start;
        size_t line_len = end - start;
        char *url = imgpipe_urllist_line(line);
        if (url) {
            check_url(line, line_len, url);
            imgpipe_name_from_url(url, name);
            check_name(name);
            if (imgpipe_nameset_assign(set, url, name) != 0)
                abort();
            check_name(name);
            if (imgpipe_nameset_assign(again, url, name2) != 0)
                abort();
            if (strcmp(name, name2) != 0)
                abort();
            names[nnames] = strdup(name);
            if (!names[nnames])
                abort();
            nnames++;
        }
        text[end] = saved;
        start = end;
    }

    qsort(names, nnames, sizeof(*names), cmp_names);
    for (size_t i = 1; i < nnames; i++)
        if (strcmp(names[i - 1], names[i]) == 0)
            abort();

    for (size_t i = 0; i < nnames; i++)
        free(names[i]);
    free(names);
    imgpipe_nameset_free(again);
    imgpipe_nameset_free(set);
    free(text);
    return 0;
}
