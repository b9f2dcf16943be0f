#include "json.h"

#include <string.h>

int cli_utf8_seq(const unsigned char *s, size_t n, size_t *len)
{
    unsigned c = s[0];
    size_t need = c < 0x80             ? 1
                  : (c & 0xe0) == 0xc0 ? 2
                  : (c & 0xf0) == 0xe0 ? 3
                  : (c & 0xf8) == 0xf0 ? 4
                                       : 0;
    if (need == 0 || need > n)
        return 0;
    unsigned cp = need == 1 ? c : c & (0x7f >> need);
    for (size_t i = 1; i < need; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    /* overlong forms, surrogates and values past U+10FFFF are not UTF-8 */
    static const unsigned min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min[need] || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
        return 0;
    *len = need;
    return 1;
}

void cli_json_string(FILE *f, const char *str)
{
    const unsigned char *s = (const unsigned char *)(str ? str : "");
    size_t n = strlen((const char *)s);
    fputc('"', f);
    for (size_t i = 0; i < n;) {
        size_t len;
        unsigned char c = s[i];
        if (c == '"' || c == '\\') {
            fputc('\\', f);
            fputc(c, f);
            i++;
        } else if (c < 0x20 || c == 0x7f) {
            fprintf(f, "\\u%04x", c);
            i++;
        } else if (cli_utf8_seq(s + i, n - i, &len)) {
            fwrite(s + i, 1, len, f);
            i += len;
        } else {
            fputs("\\ufffd", f);
            i++;
        }
    }
    fputc('"', f);
}
