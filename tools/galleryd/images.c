/* Images served from a directory (the make_corpus.sh layout), and reading the pixel size
 * out of image headers so gallery items carry width/height like Imgur's do. */
#include "galleryd.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

const char *gd_mime_type(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (!dot)
        return NULL;
    if (strcasecmp(dot, ".jpg") == 0 || strcasecmp(dot, ".jpeg") == 0)
        return "image/jpeg";
    if (strcasecmp(dot, ".png") == 0)
        return "image/png";
    if (strcasecmp(dot, ".gif") == 0)
        return "image/gif";
    if (strcasecmp(dot, ".webp") == 0)
        return "image/webp";
    return NULL;
}

static unsigned be16(const unsigned char *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

static unsigned le16(const unsigned char *p)
{
    return (unsigned)p[1] << 8 | p[0];
}

static unsigned le24(const unsigned char *p)
{
    return (unsigned)p[2] << 16 | (unsigned)p[1] << 8 | p[0];
}

/* Walks JPEG marker segments up to the first SOFn, which holds the frame size. */
static void jpeg_size(const unsigned char *d, size_t n, int *w, int *h)
{
    size_t i = 2;
    while (i + 4 <= n) {
        if (d[i] != 0xFF)
            return;
        unsigned m = d[i + 1];
        if (m == 0xFF) { /* fill byte */
            i++;
            continue;
        }
        if (m == 0x01 || (m >= 0xD0 && m <= 0xD8)) { /* markers without a length */
            i += 2;
            continue;
        }
        unsigned len = be16(d + i + 2);
        if (m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC) {
            if (i + 9 > n)
                return;
            *h = (int)be16(d + i + 5);
            *w = (int)be16(d + i + 7);
            return;
        }
        i += 2 + len;
    }
}

static void webp_size(const unsigned char *d, size_t n, int *w, int *h)
{
    if (n >= 30 && memcmp(d + 12, "VP8 ", 4) == 0) {
        *w = (int)(le16(d + 26) & 0x3fff);
        *h = (int)(le16(d + 28) & 0x3fff);
    } else if (n >= 25 && memcmp(d + 12, "VP8L", 4) == 0) {
        unsigned long bits = (unsigned long)d[21] | (unsigned long)d[22] << 8 |
                             (unsigned long)d[23] << 16 | (unsigned long)d[24] << 24;
        *w = (int)(1 + (bits & 0x3fff));
        *h = (int)(1 + ((bits >> 14) & 0x3fff));
    } else if (n >= 30 && memcmp(d + 12, "VP8X", 4) == 0) {
        *w = (int)(1 + le24(d + 24));
        *h = (int)(1 + le24(d + 27));
    }
}

void gd_image_size(const unsigned char *d, size_t n, int *w, int *h)
{
    *w = *h = 0;
    if (n >= 24 && memcmp(d, "\x89PNG\r\n\x1a\n", 8) == 0) {
        *w = (int)(be16(d + 16) << 16 | be16(d + 18));
        *h = (int)(be16(d + 20) << 16 | be16(d + 22));
    } else if (n >= 10 && memcmp(d, "GIF8", 4) == 0) {
        *w = (int)le16(d + 6);
        *h = (int)le16(d + 8);
    } else if (n >= 4 && d[0] == 0xFF && d[1] == 0xD8) {
        jpeg_size(d, n, w, h);
    } else if (n >= 16 && memcmp(d, "RIFF", 4) == 0 && memcmp(d + 8, "WEBP", 4) == 0) {
        webp_size(d, n, w, h);
    }
    if (*w < 0 || *h < 0)
        *w = *h = 0;
}

int gd_read_file(const char *path, unsigned char **out, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    struct stat st;
    unsigned char *data = NULL;
    if (fstat(fileno(f), &st) == 0 && st.st_size >= 0)
        data = malloc((size_t)st.st_size + 1);
    size_t n = data ? fread(data, 1, (size_t)st.st_size, f) : 0;
    int bad = !data || ferror(f) || n != (size_t)st.st_size;
    int saved = errno;
    fclose(f);
    if (bad) {
        free(data);
        errno = !data ? ENOMEM : saved ? saved : EIO;
        return -1;
    }
    data[n] = '\0'; /* callers may treat text files as strings */
    *out = data;
    *size = n;
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct gd_image *)a)->name, ((const struct gd_image *)b)->name);
}

static int add_image(struct gd_gallery *g, size_t *cap, const char *dir, const char *name)
{
    char path[4096];
    struct stat st;
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
        return 0;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return 0;
    if (g->count == *cap) {
        size_t ncap = *cap ? *cap * 2 : 64;
        struct gd_image *p = realloc(g->images, ncap * sizeof *p);
        if (!p)
            return -1;
        g->images = p;
        *cap = ncap;
    }
    struct gd_image *im = &g->images[g->count];
    memset(im, 0, sizeof *im);
    im->name = strdup(name);
    if (!im->name || gd_read_file(path, &im->data, &im->size) != 0) {
        fprintf(stderr, "galleryd: cannot read %s: %s\n", path, strerror(errno));
        free(im->name);
        return -1;
    }
    gd_image_size(im->data, im->size, &im->width, &im->height);
    g->count++;
    return 0;
}

/* Loads DIR/i/ when it exists (make_corpus.sh writes the images there), else DIR. */
int gd_gallery_load_dir(struct gd_gallery *g, const char *dir)
{
    char sub[4096];
    struct stat st;
    snprintf(sub, sizeof sub, "%s/i", dir);
    const char *from = (stat(sub, &st) == 0 && S_ISDIR(st.st_mode)) ? sub : dir;
    DIR *d = opendir(from);
    if (!d) {
        fprintf(stderr, "galleryd: cannot open %s: %s\n", from, strerror(errno));
        return -1;
    }
    size_t cap = 0;
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || !gd_mime_type(e->d_name))
            continue;
        rc = add_image(g, &cap, from, e->d_name);
    }
    closedir(d);
    if (rc != 0)
        return -1;
    if (g->count)
        qsort(g->images, g->count, sizeof *g->images, by_name);
    return 0;
}

const struct gd_image *gd_gallery_find(const struct gd_gallery *g, const char *name)
{
    struct gd_image key = {.name = (char *)name};
    if (!g->count)
        return NULL;
    return bsearch(&key, g->images, g->count, sizeof key, by_name);
}

void gd_gallery_free(struct gd_gallery *g)
{
    for (size_t i = 0; i < g->count; i++) {
        free(g->images[i].name);
        free(g->images[i].data);
    }
    free(g->images);
    g->images = NULL;
    g->count = 0;
}
