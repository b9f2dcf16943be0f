#include "nametpl.h"
#include "util.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static const char *const fields[] = {"name",  "stem", "ext",  "id",
                                     "index", "host", "hash", "sha256"};

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
        return imgpipe_errf(err, IMGPIPE_EINVAL, "--name '%s': a name may not start with '.'", tpl);
    for (const char *p = tpl; *p; p++) {
        size_t len;
        if (*p == '{') {
            if (field_at(p + 1, &len) < 0)
                return imgpipe_errf(err, IMGPIPE_EINVAL,
                                    "--name '%s': unknown field at '%.16s'; fields are {name} "
                                    "{stem} {ext} {id} {index} {host} {hash} {sha256}",
                                    tpl, p);
            p += len;
            nfields++;
        } else if (*p == '/' || *p == '\\' || (unsigned char)*p < 0x20 || *p == 0x7f) {
            return imgpipe_errf(err, IMGPIPE_EINVAL,
                                "--name '%s': no '/', '\\' or control characters (use "
                                "--layout sharded for folders)",
                                tpl);
        }
    }
    if (nfields == 0)
        return imgpipe_errf(err, IMGPIPE_EINVAL,
                            "--name '%s': every link would get the same name; use a field "
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

static void field_value(int f, const char *url, uint64_t index, const char *sha, char *v,
                        size_t cap)
{
    char name[IMGPIPE_NAME_MAX + 1];
    imgpipe_name_from_url(url, name);
    const char *dot = strrchr(name, '.');
    size_t stem = dot && dot != name ? (size_t)(dot - name) : strlen(name);
    switch (f) {
    case 0:
        snprintf(v, cap, "%s", name);
        break;
    case 1:
    case 3:
        snprintf(v, cap, "%.*s", (int)stem, name);
        break;
    case 2:
        snprintf(v, cap, "%s", name + stem);
        break;
    case 4:
        snprintf(v, cap, "%" PRIu64, index);
        break;
    case 5:
        host_of(url, v, cap);
        break;
    case 6:
        snprintf(v, cap, "%016" PRIx64, imgpipe_hash64(url, strlen(url)));
        break;
    default:
        snprintf(v, cap, "%s", sha ? sha : "");
        break;
    }
}

void imgpipe_name_expand(const char *tpl, const char *url, uint64_t index, const char *sha256,
                         char *out)
{
    char raw[2048], v[512];
    size_t n = 0;
    for (const char *p = tpl; *p && n < sizeof(raw) - 1; p++) {
        size_t len;
        int f = *p == '{' ? field_at(p + 1, &len) : -1;
        if (f < 0) {
            raw[n++] = *p;
            continue;
        }
        field_value(f, url, index, sha256, v, sizeof(v));
        n += (size_t)snprintf(raw + n, sizeof(raw) - n, "%s", v);
        n = n < sizeof(raw) - 1 ? n : sizeof(raw) - 1;
        p += len;
    }
    raw[n] = '\0';
    imgpipe_name_clean(raw, url, out);
}

void imgpipe_name_shard(const char *name, char *out)
{
    snprintf(out, IMGPIPE_RELNAME_MAX + 1, "%02x/%s",
             (unsigned)(imgpipe_hash64(name, strlen(name)) & 0xff), name);
}
