#include "store/nametpl.h"
#include "common/util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* In the order of enum field. */
static const char *const fields[] = {"name",  "stem", "ext",  "id",
                                     "index", "host", "hash", "sha256"};

enum field { F_NAME, F_STEM, F_EXT, F_ID, F_INDEX, F_HOST, F_HASH, F_SHA256 };

/* What the fields of one link are made from, worked out once per expansion. */
struct link {
    const char *url, *sha256;
    uint64_t index;
    char name[IMGPIPE_NAME_MAX + 1]; /* imgpipe_name_from_url(url) */
    size_t stem;                     /* the name's length without its extension */
};

/* The field at p (just after '{'): its index, with *len the bytes up to and with '}'. */
static int field_at(const char *p, size_t *len)
{
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        size_t n = strlen(fields[i]);
        if (strncmp(p, fields[i], n) == 0 && p[n] == '}') {
            *len = n + 1;
            return (int)i;
        }
    }
    return -1;
}

int imgpipe_name_template_check(const char *tpl, char *err)
{
    int nfields = 0;
    if (tpl[0] == '.')
        return imgpipe_errf(err, IMGPIPE_EINVAL,
                            "name template '%s': a name may not start with '.'", tpl);
    for (const char *p = tpl; *p; p++) {
        size_t len;
        if (*p == '{') {
            if (field_at(p + 1, &len) < 0)
                return imgpipe_errf(
                    err, IMGPIPE_EINVAL,
                    "name template '%s': unknown field at '%.16s'; fields are {name} "
                    "{stem} {ext} {id} {index} {host} {hash} {sha256}",
                    tpl, p);
            p += len;
            nfields++;
        } else if (*p == '/' || *p == '\\' || (unsigned char)*p < 0x20 || *p == 0x7f) {
            return imgpipe_errf(err, IMGPIPE_EINVAL,
                                "name template '%s': no '/', '\\' or control characters (the "
                                "sharded layout makes folders)",
                                tpl);
        }
    }
    if (nfields == 0)
        return imgpipe_errf(err, IMGPIPE_EINVAL,
                            "name template '%s': every link would get the same name; use a field "
                            "such as {name}, {index} or {sha256}",
                            tpl);
    return IMGPIPE_OK;
}

int imgpipe_name_template_has_sha(const char *tpl)
{
    return strstr(tpl, "{sha256}") != NULL;
}

static void host_of(const char *url, char *out, size_t cap)
{
    size_t n;
    const char *host = imgpipe_url_host(url, &n);
    snprintf(out, cap, "%.*s", (int)n, host);
}

static void field_value(enum field f, const struct link *l, char *v, size_t cap)
{
    switch (f) {
    case F_NAME:
        snprintf(v, cap, "%s", l->name);
        break;
    case F_STEM:
    case F_ID:
        snprintf(v, cap, "%.*s", (int)l->stem, l->name);
        break;
    case F_EXT:
        snprintf(v, cap, "%s", l->name + l->stem);
        break;
    case F_INDEX:
        snprintf(v, cap, "%" PRIu64, l->index);
        break;
    case F_HOST:
        host_of(l->url, v, cap);
        break;
    case F_HASH:
        snprintf(v, cap, "%016" PRIx64, imgpipe_url_name_hash(l->url));
        break;
    case F_SHA256:
        snprintf(v, cap, "%s", l->sha256 ? l->sha256 : "");
        break;
    }
}

/* Writes the expansion of tpl into raw (at most cap - 1 bytes, then '\0') and returns
 * its whole length, as snprintf does. */
static size_t expand_into(const char *tpl, const struct link *l, char *raw, size_t cap)
{
    char v[512];
    size_t n = 0;
    for (const char *p = tpl; *p; p++) {
        size_t len;
        int f = *p == '{' ? field_at(p + 1, &len) : -1;
        if (f < 0) {
            if (n + 1 < cap)
                raw[n] = *p;
            n++;
            continue;
        }
        field_value((enum field)f, l, v, sizeof(v));
        size_t vlen = strlen(v);
        if (n < cap)
            memcpy(raw + n, v, n + vlen < cap ? vlen : cap - 1 - n);
        n += vlen;
        p += len;
    }
    raw[n < cap ? n : cap - 1] = '\0';
    return n;
}

void imgpipe_name_expand(const char *tpl, const char *url, uint64_t index, const char *sha256,
                         char *out)
{
    char raw[2048];
    struct link l = {.url = url, .sha256 = sha256, .index = index};
    imgpipe_name_from_url(url, l.name);
    const char *dot = strrchr(l.name, '.');
    l.stem = dot && dot != l.name ? (size_t)(dot - l.name) : strlen(l.name);
    size_t n = expand_into(tpl, &l, raw, sizeof(raw));
    /* A longer expansion is made whole: the name is cut to IMGPIPE_NAME_MAX from it, with
     * its extension, the last field, kept (cut at the buffer, {ext} was lost). Short of
     * memory, the cut one is used. */
    char *whole = n < sizeof(raw) ? NULL : malloc(n + 1);
    if (whole)
        expand_into(tpl, &l, whole, n + 1);
    imgpipe_name_clean(whole ? whole : raw, url, out);
    free(whole);
}

void imgpipe_name_shard(const char *name, char *out)
{
    snprintf(out, IMGPIPE_RELNAME_MAX + 1, "%02x/%s",
             (unsigned)(imgpipe_hash64(name, strlen(name)) & 0xff), name);
}
