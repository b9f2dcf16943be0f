/* imgpipe — list images, download them concurrently, make thumbnails.
 *
 * The public API of libimgpipe. Conventions, once for the whole header:
 *  - Functions return an int status: 0 (IMGPIPE_OK) on success, a negative IMGPIPE_E* code
 *    on failure; imgpipe_strerror() names the code.
 *  - Functions that can fail for reasons a user must read take `char *err`, a buffer of
 *    IMGPIPE_ERRLEN bytes the caller owns, and fill it with a sentence that says what
 *    failed and on which input. It is left untouched on success.
 *  - Whoever allocates frees: every _new/_open has a _free that accepts NULL.
 *  - Nothing here keeps global mutable state; call imgpipe_global_init() once, before any
 *    thread is started, and the rest is thread-safe for distinct objects.
 */
#ifndef IMGPIPE_H
#define IMGPIPE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define IMGPIPE_VERSION "0.1.0"
#define IMGPIPE_ERRLEN 512

/* Numbers are stable: never reuse one. */
enum imgpipe_status {
    IMGPIPE_OK = 0,
    IMGPIPE_EINVAL = -1,    /* a bad argument or spec */
    IMGPIPE_ENOMEM = -2,    /* out of memory */
    IMGPIPE_EIO = -3,       /* a file system call failed */
    IMGPIPE_ENET = -4,      /* connect, TLS, reset, DNS: the transfer itself failed */
    IMGPIPE_EHTTP = -5,     /* the server answered with a non-2xx status */
    IMGPIPE_EAPI = -6,      /* the API said no, or answered in a shape we do not know */
    IMGPIPE_ETOOBIG = -7,   /* over --max-bytes or --max-pixels */
    IMGPIPE_EFORMAT = -8,   /* not an image format we handle */
    IMGPIPE_ECORRUPT = -9,  /* an image that fails to decode */
    IMGPIPE_ECONFIG = -10,  /* configuration missing (e.g. IMGUR_CLIENT_ID) */
    IMGPIPE_ETIMEOUT = -11, /* a deadline or timeout passed */
    IMGPIPE_ECANCELED = -12 /* stopped on request */
};

/* A static, human-readable name for a status code. */
const char *imgpipe_strerror(int status);

/* One-time initialisation (libcurl's global state). Call before starting threads. */
int imgpipe_global_init(void);
void imgpipe_global_cleanup(void);

/* ---- growable byte buffer --------------------------------------------------------- */

typedef struct imgpipe_buf {
    unsigned char *data;
    size_t len;
    size_t cap;
} imgpipe_buf;

int imgpipe_buf_reserve(imgpipe_buf *b, size_t extra);
int imgpipe_buf_append(imgpipe_buf *b, const void *data, size_t len);
void imgpipe_buf_free(imgpipe_buf *b);

/* ---- sources: a spec turned into a stream of image links --------------------------- */

typedef struct imgpipe_source_opts {
    const char *api_url;     /* Imgur API base, e.g. "https://api.imgur.com" */
    const char *client_id;   /* Imgur Client-ID; required for imgur: specs */
    long connect_timeout_ms; /* 0: library default */
    long timeout_ms;         /* whole API request; 0: library default */
} imgpipe_source_opts;

/* What a source skipped, by reason, for the summary. */
typedef struct imgpipe_source_counts {
    uint64_t links;         /* links produced */
    uint64_t skipped_type;  /* gif, mp4, anything not image/jpeg or image/png */
    uint64_t skipped_album; /* albums with no images[] to expand */
    uint64_t skipped_lines; /* blank and comment lines in URL lists */
} imgpipe_source_counts;

typedef struct imgpipe_source imgpipe_source;

/* Opens a source spec:
 *   imgur:random | imgur:gallery/<section>/<sort>/<window>/<page> | imgur:album/<id>
 *   -  (URLs on stdin) | http(s)://... (one image) | a path to a file of URLs.
 * Imgur specs fetch and parse the API response here, so API failures surface from open:
 * IMGPIPE_ECONFIG when client_id is missing, IMGPIPE_EHTTP/EAPI with the API's own text. */
int imgpipe_source_open(imgpipe_source **out, const char *spec, const imgpipe_source_opts *opts,
                        char *err);

/* Next link: 1 and *url set (borrowed, valid until the next call), 0 at the end,
 * negative on a read error. */
int imgpipe_source_next(imgpipe_source *s, const char **url, char *err);

const imgpipe_source_counts *imgpipe_source_counts_get(const imgpipe_source *s);
void imgpipe_source_free(imgpipe_source *s);

/* ---- thumbnails ------------------------------------------------------------------ */

#define IMGPIPE_THUMB_MAX_SIZES 8

typedef struct imgpipe_thumb_opts {
    int quality;         /* JPEG quality 1..100; 0 means 85 */
    uint64_t max_pixels; /* refuse sources above this many pixels; 0 means 100 MP */
} imgpipe_thumb_opts;

typedef struct imgpipe_thumb_out {
    int width, height; /* the fit box in; the thumbnail's size out */
    imgpipe_buf data;  /* encoded thumbnail, same format as the source (GIF: PNG) */
} imgpipe_thumb_out;

/* Decodes an encoded JPEG, PNG, WebP or GIF image once (an animation: its first frame)
 * and makes n thumbnails from it, each fitting within outs[i].width x outs[i].height,
 * aspect kept, never upscaled, EXIF orientation applied, alpha kept, an embedded ICC
 * profile converted to sRGB. The size is checked against max_pixels from the header,
 * before decoding. Thread-safe: each thread reuses its own codec handles and buffers,
 * freed when it exits. On failure no out holds data. The caller frees outs[i].data. */
int imgpipe_thumb_make(const void *src, size_t len, const imgpipe_thumb_opts *opts,
                       imgpipe_thumb_out *outs, int n, char *err);

/* The format of an encoded image by its magic bytes: "jpeg", "png", "gif", "webp" or NULL. */
const char *imgpipe_sniff_format(const void *data, size_t len);

/* ---- thumbnail file names --------------------------------------------------------- */

typedef struct imgpipe_thumb_size {
    int width, height;
} imgpipe_thumb_size;

/* The file name of the thumbnail of `name`: "<stem>_thumbnail<ext>" as in the tutorial, or
 * "<stem>_thumbnail_<W>x<H><ext>" when `sized` (several sizes in one run). */
int imgpipe_thumb_name(const char *name, const imgpipe_thumb_size *size, int sized, char *out,
                       size_t cap);

/* 1 when name is a thumbnail's name by the rule above, so directory scans skip it. */
int imgpipe_is_thumb_name(const char *name);

/* Parses "WxH" (e.g. "128x128"; 1..65535 each). */
int imgpipe_parse_size(const char *text, imgpipe_thumb_size *size);

/* ---- get: download links into a directory, with thumbnails -------------------------- */

typedef enum imgpipe_mode {
    IMGPIPE_MODE_SEQ = 0, /* one after another (the tutorial's single.py) */
    IMGPIPE_MODE_THREADS, /* a pool of threads fed by a queue */
    IMGPIPE_MODE_PROCS,   /* forked worker processes */
    IMGPIPE_MODE_ASYNC    /* one event loop, many transfers in flight */
} imgpipe_mode;

/* Parses "seq", "threads", "procs", "async". */
int imgpipe_parse_mode(const char *text, imgpipe_mode *mode);
const char *imgpipe_mode_name(imgpipe_mode mode);

typedef struct imgpipe_get_opts {
    const char *dir; /* output directory, created when missing; NULL: "images" */
    imgpipe_mode mode;
    int jobs;                /* workers, or transfers in flight; 0: the mode's default */
    long timeout_ms;         /* deadline for the whole run: then transfers stop and what is
                                unfinished fails as timed out; 0: none */
    long connect_timeout_ms; /* 0: 3 s */
    long read_timeout_ms;    /* a transfer that receives nothing this long fails; 0: 30 s */
    uint64_t max_bytes;      /* bodies larger than this fail; 0: 50 MiB */
    int nthumbs;             /* thumbnail sizes, 0..IMGPIPE_THUMB_MAX_SIZES */
    imgpipe_thumb_size thumbs[IMGPIPE_THUMB_MAX_SIZES];
    imgpipe_thumb_opts thumb;
} imgpipe_get_opts;

/* One link's outcome, handed to the item callback. Pointers are borrowed for the call. */
typedef struct imgpipe_item {
    uint64_t index; /* position of the link in the sources, from 0 */
    const char *url;
    const char *name;  /* the file name in dir */
    int status;        /* IMGPIPE_OK or a negative IMGPIPE_E* code */
    const char *error; /* what failed, "" on success */
    uint64_t bytes;
    int thumbs; /* thumbnails written */
} imgpipe_item;

/* Called once per link, never from two threads at once. */
typedef void (*imgpipe_item_cb)(const imgpipe_item *item, void *userdata);

typedef struct imgpipe_summary {
    uint64_t done, failed;
    uint64_t bytes, thumbs;
    double seconds;
} imgpipe_summary;

/* Reads every source to its end and downloads each link into opts->dir, with thumbnails.
 * A failed link is reported through cb and counted; it does not stop the others. Returns
 * 0 when the run went through (read sum->failed for item failures), or a negative code
 * when it could not run (output directory, a source's read error) with err filled. */
int imgpipe_get(const imgpipe_get_opts *opts, imgpipe_source *const *sources, int nsources,
                imgpipe_item_cb cb, void *userdata, imgpipe_summary *sum, char *err);

/* ---- thumbs: thumbnails of files on disk ------------------------------------------ */

/* Makes the thumbnails (opts->thumbs; mode and jobs apply, dir does not) of each path: a
 * file, or a directory whose *.jpg, *.jpeg, *.png, *.webp and *.gif files are taken in name order
 * (not recursively), skipping hidden files and files that are thumbnails already. Each file is one
 * item for cb (url is the path); a missing or unreadable path is a failed item. Returns 0 when the
 * run went through, or a negative code with err. */
int imgpipe_thumbs(const imgpipe_get_opts *opts, const char *const *paths, int npaths,
                   imgpipe_item_cb cb, void *userdata, imgpipe_summary *sum, char *err);

#ifdef __cplusplus
}
#endif
#endif
