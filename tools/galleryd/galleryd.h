/* galleryd internals: an Imgur-shaped HTTP server used as the test and benchmark peer of
 * imgpipe. Everything it serves lives in memory, loaded or generated at start. */
#ifndef GALLERYD_H
#define GALLERYD_H

#include <stdatomic.h>
#include <stddef.h>
#include <microhttpd.h>

struct gd_image {
    char *name; /* file name as served under /i/, e.g. img0000.jpg */
    unsigned char *data;
    size_t size;
    int width, height; /* from the image header; 0 when unknown */
};

struct gd_gallery {
    struct gd_image *images; /* sorted by name, so /i/ lookups can bsearch */
    size_t count;
};

/* json.c: a growable text buffer. Append failures are sticky (failed = 1) so callers
 * build a whole body and check once at the end. */
struct gd_buf {
    char *data;
    size_t len, cap;
    int failed;
};

void gd_buf_append(struct gd_buf *b, const char *s, size_t n);
void gd_buf_puts(struct gd_buf *b, const char *s);
void gd_buf_printf(struct gd_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void gd_buf_json_string(struct gd_buf *b, const char *s); /* with the quotes */
void gd_buf_url_path(struct gd_buf *b, const char *s);    /* percent-encodes a segment */
void gd_buf_free(struct gd_buf *b);

/* images.c */
/* Reads a whole file into malloc'd memory, NUL-terminated; 0, or -1 with errno set. */
int gd_read_file(const char *path, unsigned char **out, size_t *size);
const char *gd_mime_type(const char *name); /* NULL when not a served image type */
void gd_image_size(const unsigned char *data, size_t size, int *width, int *height);
int gd_gallery_load_dir(struct gd_gallery *g, const char *dir); /* 0, or -1 (printed) */
const struct gd_image *gd_gallery_find(const struct gd_gallery *g, const char *name);
void gd_gallery_free(struct gd_gallery *g);

/* sample.c */
int gd_gallery_generate(struct gd_gallery *g, size_t count); /* 0, or -1 (printed) */
int gd_fixed_png(unsigned char **out, size_t *size);         /* 40x30 RGB PNG */
int gd_grey_png(int w, int h, unsigned char **out, size_t *size);

/* faults.c: /f/<fault>/<key>/<name> and /removed.png, see the comment there. */
struct gd_faults;
struct gd_faults *gd_faults_new(void);    /* NULL (printed) on failure */
void gd_faults_stop(struct gd_faults *f); /* before MHD_stop_daemon: ends stalls and drips */
void gd_faults_free(struct gd_faults *f);

/* routes.c */
struct gd_server {
    struct gd_gallery gallery;
    const char *dir;       /* --dir, or NULL for the generated sample */
    const char *client_id; /* --client-id, or NULL: any non-empty id */
    unsigned latency_ms;
    size_t page_size; /* --page-size: items per gallery page; 0: all on page 0 */
    long fail_page;   /* --fail-page: this gallery page answers 500; -1: none */
    int log;          /* --log: every request on stderr */
    char base[96];    /* http://HOST:PORT, the prefix of every link we hand out */
    unsigned char *x_png;
    size_t x_png_size;
    struct gd_faults *faults; /* counters and canned bodies; mutable even via a const server */
    struct gd_load *load;     /* requests being answered, and their peak (/stats/) */
};

/* How many requests are being answered at once: tests read the peak (GET /stats/peak)
 * to see how many a client keeps in flight, the peak before the first answer left (GET
 * /stats/first: what a client sent on no answer at all), and zero them (GET /stats/reset). */
struct gd_load {
    atomic_int in_flight, peak;
    atomic_int answered, first; /* answers since the reset; the peak while none */
};

enum MHD_Result gd_queue(struct MHD_Connection *conn, unsigned status, const char *type, void *data,
                         size_t len, enum MHD_ResponseMemoryMode mem);
enum MHD_Result gd_queue_text(struct MHD_Connection *conn, unsigned status, const char *text);

enum MHD_Result gd_handle(void *cls, struct MHD_Connection *conn, const char *url,
                          const char *method, const char *version, const char *upload_data,
                          size_t *upload_data_size, void **con_cls);

/* routes.c: the Imgur API's answer to GET path (/3/...), as if asked directly */
enum MHD_Result gd_api_route(const struct gd_server *s, struct MHD_Connection *conn,
                             const char *path);
/* faults.c; url starts with /f/ or is /removed.png */
enum MHD_Result gd_fault(const struct gd_server *s, struct MHD_Connection *conn, const char *url);

#endif
