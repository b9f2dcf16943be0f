/* imgpipe — list images, download them concurrently, make thumbnails.
 *
 * The public API of libimgpipe. Conventions, once for the whole header:
 *  - Functions return an int status: 0 (IMGPIPE_OK) on success, a negative IMGPIPE_E* code
 *    on failure; imgpipe_strerror() names the code.
 *  - Functions that can fail for reasons a user must read take `char *err`, a buffer of
 *    IMGPIPE_ERRLEN bytes the caller owns, and fill it with a sentence that says what
 *    failed and on which input. It is left untouched on success.
 *  - Whoever allocates frees: every _new/_open has a _free that accepts NULL. Other
 *    pointer arguments must not be NULL unless their comment says they may be (as with
 *    the C library's own functions, a NULL there is the caller's bug, not an input).
 *  - Nothing here keeps global mutable state; call imgpipe_global_init() once, before any
 *    thread is started, and the rest is thread-safe for distinct objects.
 *
 * A run, in five steps (examples/get_gallery.c is a whole program):
 *
 *     imgpipe_global_init();
 *     imgpipe_source *src;                                  // 1. sources
 *     imgpipe_source_opts so = {.client_id = id};
 *     if (imgpipe_source_open(&src, "imgur:random", &so, err)) ...
 *     imgpipe_get_opts o = {.dir = "images",                // 2. options and executor
 *                           .mode = IMGPIPE_MODE_ASYNC,
 *                           .nthumbs = 1, .thumbs = {{128, 128}}};
 *     imgpipe_summary sum;                                  // 3. a callback per item,
 *     imgpipe_get(&o, &src, 1, on_item, ctx, &sum, err);    // 4. run (blocks)
 *     printf("%llu done\n", sum.done);                      // 5. the summary
 *     imgpipe_source_free(src);
 *     imgpipe_global_cleanup();
 *
 * The callback is never called from two threads at once, whatever the mode, so it may
 * touch the caller's state without a lock. To stop a run from a signal handler, point
 * opts.stop at a sig_atomic_t and set it. Thumbnails of files on disk: imgpipe_thumbs();
 * of bytes in memory: imgpipe_thumb_make().
 */
#ifndef IMGPIPE_H
#define IMGPIPE_H

#include <signal.h>
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
    IMGPIPE_EINVAL = -1,     /* a bad argument or spec */
    IMGPIPE_ENOMEM = -2,     /* out of memory */
    IMGPIPE_EIO = -3,        /* a file system call failed */
    IMGPIPE_ENET = -4,       /* connect, TLS, reset, DNS: the transfer itself failed */
    IMGPIPE_EHTTP = -5,      /* the server answered with a non-2xx status */
    IMGPIPE_EAPI = -6,       /* the API said no, or answered in a shape we do not know */
    IMGPIPE_ETOOBIG = -7,    /* over --max-bytes or --max-pixels */
    IMGPIPE_EFORMAT = -8,    /* not an image format we handle */
    IMGPIPE_ECORRUPT = -9,   /* an image that fails to decode */
    IMGPIPE_ECONFIG = -10,   /* configuration missing (e.g. IMGUR_CLIENT_ID) */
    IMGPIPE_ETIMEOUT = -11,  /* a deadline or timeout passed */
    IMGPIPE_ECANCELED = -12, /* stopped on request */
    IMGPIPE_EREMOVED = -13,  /* the host says the image was removed (Imgur's removed.png) */
    IMGPIPE_EDISK = -14      /* the output directory cannot be written: the run stops */
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
    long timeout_ms;         /* each API request, its retries and their waits included;
                                0: none (each attempt still ends after 60 s) */
    int pages;          /* imgur: listings (gallery/, r/, tag/): read up to this many pages from the
                           spec's page on, one after another, ending at the first empty page;
                           0: 1. Other sources have one answer and ignore it. */
    int retries;        /* API requests: more attempts after a transient failure (as for
                           imgpipe_get_opts: 0: 3, < 0: none), honouring Retry-After */
    long retry_wait_ms; /* the first backoff, doubled each attempt; 0: 500 ms */
    int insecure;       /* skip TLS verification */
    const char *cacert; /* PEM file of CA certificates to verify with; NULL: the system's */
    long read_timeout_ms; /* an attempt that receives nothing this long ends; 0: 30 s */
    const volatile sig_atomic_t *stop; /* set (a signal handler): an API request in flight,
                                          or its wait to retry, ends (IMGPIPE_ECANCELED) */
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
 *   imgur:random | imgur:gallery/<section>/<sort>/<window>/<page> | imgur:album/<id> |
 *   imgur:r/<subreddit>/<sort>/<window>/<page> | imgur:tag/<tag>/<sort>/<window>/<page>
 *   (in gallery/, r/ and tag/ all but the first part optional)
 *   -  (URLs on stdin) | http(s)://... (one image) | a path to a file of URLs.
 * Imgur specs fetch and parse the first page here, so API failures surface from open:
 * IMGPIPE_ECONFIG when client_id is missing, IMGPIPE_EHTTP/EAPI with the API's own text.
 * Later pages (opts->pages) are fetched by imgpipe_source_next when the links at hand are
 * used up; a failure there is its negative return, with the API's text in err. */
int imgpipe_source_open(imgpipe_source **out, const char *spec, const imgpipe_source_opts *opts,
                        char *err);

/* Checks the form of an imgur: spec, with no request (other specs pass: a file is read at
 * open): IMGPIPE_OK, or IMGPIPE_EINVAL with a message that lists the accepted forms. For a
 * caller that has other things to reach first (Redis) and wants usage errors before. */
int imgpipe_source_check(const char *spec, char *err);

/* Next link: 1 and *url set (borrowed, valid until the next call), 0 at the end,
 * negative on a read error or a failed API request for a later page. Blocks while it
 * fetches a page. */
int imgpipe_source_next(imgpipe_source *s, const char **url, char *err);

const imgpipe_source_counts *imgpipe_source_counts_get(const imgpipe_source *s);
void imgpipe_source_free(imgpipe_source *s);

/* ---- thumbnails ------------------------------------------------------------------ */

#define IMGPIPE_THUMB_MAX_SIZES 8

/* How a thumbnail fills its box (W x H). */
typedef enum imgpipe_fit {
    IMGPIPE_FIT_CONTAIN = 0, /* fit inside, aspect kept (the default) */
    IMGPIPE_FIT_COVER,       /* fill W x H, aspect kept, the overflow cropped from the centre */
    IMGPIPE_FIT_PAD          /* fit inside, then padded to exactly W x H with pad_colour */
} imgpipe_fit;

typedef struct imgpipe_thumb_opts {
    int quality;         /* 1..100 for JPEG, WebP and AVIF; 0 means 85 (AVIF: 60) */
    uint64_t max_pixels; /* refuse sources above this many pixels; 0 means 100 MP */
    imgpipe_fit fit;
    int upscale; /* 1: a source smaller than the box is enlarged (off: never enlarged) */
    /* RGBA, straight alpha: the padding of IMGPIPE_FIT_PAD, and (composited on white) the
     * background alpha is flattened onto for a format without alpha (JPEG). All zero
     * (with pad_set 0) means white. */
    unsigned char pad_colour[4];
    int pad_set;
    /* Output format: NULL keeps the source's (GIF: PNG; HEIC/HEIF: JPEG), or "jpeg",
     * "png", "webp", "avif". */
    const char *format;
    /* 1..9, more is slower and smaller; 0: the format's default. PNG: zlib level (default
     * 3); WebP: method 0..6 (effort * 2 / 3, default 4); AVIF: speed 10 - effort (default
     * speed 8); JPEG: 7 and more write progressive JPEG (smaller). */
    int effort;
} imgpipe_thumb_opts;

typedef struct imgpipe_thumb_out {
    int width, height; /* the box in (0: that side unbounded); the thumbnail's size out */
    imgpipe_buf data;  /* encoded thumbnail, in opts->format (see there) */
} imgpipe_thumb_out;

/* Decodes an encoded JPEG, PNG, WebP, GIF, AVIF or HEIC/HEIF image once (an animation:
 * its first frame) and makes n thumbnails from it, each fitted to outs[i].width x
 * outs[i].height by opts->fit, aspect kept, never upscaled unless opts->upscale, EXIF
 * (or HEIF irot/imir) orientation applied, alpha kept where the output format has it, an
 * embedded ICC profile converted to sRGB. The size is checked against max_pixels from
 * the header, before decoding (for HEIC also the coded size its HEVC parameter sets and
 * grid declare). Thread-safe: each thread reuses its own codec handles and
 * buffers, freed when it exits. On failure no out holds data. The caller frees
 * outs[i].data. */
int imgpipe_thumb_make(const void *src, size_t len, const imgpipe_thumb_opts *opts,
                       imgpipe_thumb_out *outs, int n, char *err);

/* Checks a thumbnail format name ("jpeg", "png", "webp", "avif"; NULL is fine: keep
 * the source's). 0 or IMGPIPE_EINVAL. */
int imgpipe_thumb_format_check(const char *format);

/* Parses a fit mode, "contain", "cover" or "pad". 0 or IMGPIPE_EINVAL. */
int imgpipe_parse_fit(const char *text, imgpipe_fit *fit);

/* The name imgpipe_parse_fit reads for fit; NULL for a value that is none of them. */
const char *imgpipe_fit_name(imgpipe_fit fit);

/* Parses a colour: "#rgb", "#rrggbb", "#rrggbbaa" (the '#' optional), "white", "black"
 * or "transparent", into RGBA. 0 or IMGPIPE_EINVAL. */
int imgpipe_parse_colour(const char *text, unsigned char rgba[4]);

/* The format of an encoded image by its magic bytes: "jpeg", "png", "gif", "webp", "avif",
 * "heif" or NULL. */
const char *imgpipe_sniff_format(const void *data, size_t len);

/* ---- thumbnail file names --------------------------------------------------------- */

typedef struct imgpipe_thumb_size {
    int width, height;
} imgpipe_thumb_size;

/* The file name of the thumbnail of `name`: "<stem>_thumbnail<ext>" as in the tutorial, or
 * "<stem>_thumbnail_<W>x<H><ext>" when `sized` (several sizes in one run, or a size other
 * than the one an existing unsized thumbnail has; an unbounded side is left out: "_128x",
 * "_x128"). Thumbnails are named for their format: when the source's extension is not
 * one of the thumbnail format's, the format's is added after it, e.g. "a_thumbnail.gif.png"
 * (a GIF's thumbnail is a PNG) or with format "webp" "a_thumbnail.png.webp", so that no
 * two sources share a thumbnail's name; a name without extension gets none. */
int imgpipe_thumb_name(const char *name, const imgpipe_thumb_size *size, int sized, char *out,
                       size_t cap);
/* The same for thumbnails written in `format` (NULL: the source's, as above). */
int imgpipe_thumb_name_as(const char *name, const imgpipe_thumb_size *size, int sized,
                          const char *format, char *out, size_t cap);

/* 1 when name is a thumbnail's name by the rule above, so directory scans skip it. */
int imgpipe_is_thumb_name(const char *name);

/* Parses a thumbnail box as vipsthumbnail takes it: "128" (128x128), "128x128", "128x"
 * (width 128, any height) or "x128" (height 128, any width); 1..65535 each, an unbounded
 * side is 0. */
int imgpipe_parse_size(const char *text, imgpipe_thumb_size *size);

/* ---- get: download links into a directory, with thumbnails -------------------------- */

typedef enum imgpipe_mode {
    IMGPIPE_MODE_SEQ = 0, /* one after another (the tutorial's single.py) */
    IMGPIPE_MODE_THREADS, /* a pool of threads fed by a queue */
    IMGPIPE_MODE_PROCS,   /* forked worker processes */
    IMGPIPE_MODE_ASYNC    /* one event loop, many transfers in flight */
} imgpipe_mode;

/* Checks a --name template: fields {name} {stem} {ext} {id} {index} {host} {hash}
 * {sha256}, literal text without '/', '\\', control bytes or a leading '.', and at least
 * one field. IMGPIPE_EINVAL with the reason in err. */
int imgpipe_name_template_check(const char *tpl, char *err);

/* Parses "seq", "threads", "procs", "async". */
int imgpipe_parse_mode(const char *text, imgpipe_mode *mode);
const char *imgpipe_mode_name(imgpipe_mode mode);

typedef struct imgpipe_get_opts {
    const char *dir; /* output directory, created when missing; NULL: "images" */
    imgpipe_mode mode;
    int jobs;                  /* workers, or transfers in flight; 0: the mode's default */
    long timeout_ms;           /* deadline for the whole run: then transfers stop and what is
                                  unfinished fails as timed out; 0: none */
    long connect_timeout_ms;   /* 0: 3 s */
    long read_timeout_ms;      /* a transfer that receives nothing this long fails; 0: 30 s */
    uint64_t max_bytes;        /* bodies larger than this fail; 0: 50 MiB */
    int retries;               /* more attempts after a transient failure; 0: 3, < 0: none */
    long retry_wait_ms;        /* first backoff, doubled each attempt, jittered; 0: 500 ms */
    long min_speed;            /* bytes/s below which, over read_timeout, a transfer fails */
    int per_host;              /* connections per host (async); 0: no limit */
    double rate;               /* requests per second per host; 0: no limit */
    int insecure;              /* skip TLS verification */
    const char *cacert;        /* PEM file of CA certificates to verify with; NULL: system's */
    int no_ledger;             /* do not read or write DIR/.imgpipe/ledger */
    int retry_failed;          /* only links the ledger has as failed: the ledger's, the
                                  sources are not read (the ledger keeps no password: such
                                  a link fails, to be retried from its list) */
    const char *name_template; /* file names: fields {name} {stem} {ext} {id} {index} {host}
                                  {hash} {sha256}; NULL: "{name}". {index}: the link's
                                  place in the sources, from 0 (a link listed again: its
                                  first place). A link an earlier run stored under another
                                  name is skipped there while its file is */
    int sharded;               /* files in 256 folders named by 2 hex digits of a hash */
    /* Told, as a sentence, what the run decided on its own (e.g. slowing down for a host
     * whose quota runs low); with the item callback's userdata; may be NULL. */
    void (*notice)(const char *msg, void *userdata);
    const volatile sig_atomic_t *stop; /* set non-zero (by a signal handler) to stop: no
                                          new link starts, transfers in flight abort */
    int nthumbs;                       /* thumbnail sizes, 0..IMGPIPE_THUMB_MAX_SIZES */
    imgpipe_thumb_size thumbs[IMGPIPE_THUMB_MAX_SIZES];
    imgpipe_thumb_opts thumb;
    /* Object storage: dir "s3://bucket/prefix" PUTs every image and thumbnail to an
     * S3-compatible service (SigV4; credentials from AWS_ACCESS_KEY_ID,
     * AWS_SECRET_ACCESS_KEY, AWS_REGION). The bucket is checked before any download: an
     * unreachable service, a missing bucket or refused credentials end the call with
     * IMGPIPE_ENET or IMGPIPE_ECONFIG. */
    const char *s3_endpoint; /* path-style endpoint "http(s)://host:port"; NULL:
                                $IMGPIPE_S3_ENDPOINT, $AWS_ENDPOINT_URL, else AWS */
    const char *state_dir;   /* with a bucket: the local directory of the ledger (the
                                restart state), required unless no_ledger */
} imgpipe_get_opts;

/* One link's outcome, handed to the item callback. Pointers are borrowed for the call. */
typedef struct imgpipe_item {
    uint64_t index;    /* position of the link in the sources, from 0 */
    const char *url;   /* as it may be shown: a password in it reads *** (user:***@host) */
    const char *name;  /* the file name in dir */
    int status;        /* IMGPIPE_OK or a negative IMGPIPE_E* code */
    const char *error; /* what failed, "" on success */
    uint64_t bytes;
    int thumbs;      /* thumbnails written */
    int attempts;    /* transfers tried (retries + 1); 0 when skipped */
    int skipped;     /* done in an earlier run (the ledger says so, the file is there:
                        name is where), or listed before in this run and done there (a
                        link listed again whose first failed fails with its reason: "same
                        link as one before it in this run: ...", never before the first) */
    double seconds;  /* from its first transfer to its outcome */
    char sha256[65]; /* of the stored bytes, hex; "" when none */
    /* The thumbnails written, by size (opts->thumbs[i]): each one's file name as written,
     * beside the image (get: relative to dir; thumbs: in the image's folder), NULL for a
     * size not written now. */
    const char *thumb_names[IMGPIPE_THUMB_MAX_SIZES];
} imgpipe_item;

/* Called once per link, never from two threads at once. */
typedef void (*imgpipe_item_cb)(const imgpipe_item *item, void *userdata);

typedef struct imgpipe_summary {
    uint64_t done, failed, skipped;
    uint64_t bytes, thumbs;
    double seconds;
    uint64_t not_tried; /* links left when an error of the whole directory ended the run */
} imgpipe_summary;

/* 1 when an output is a bucket ("s3://bucket/prefix") rather than a directory. */
int imgpipe_output_is_bucket(const char *output);

/* Reads every source to its end and downloads each link into opts->dir, with thumbnails.
 * A failed link is reported through cb and counted; it does not stop the others. Returns
 * 0 when the run went through (read sum->failed for item failures), or a negative code
 * when it could not run (output directory, a source's read error) with err filled. */
int imgpipe_get(const imgpipe_get_opts *opts, imgpipe_source *const *sources, int nsources,
                imgpipe_item_cb cb, void *userdata, imgpipe_summary *sum, char *err);

/* ---- thumbs: thumbnails of files on disk ------------------------------------------ */

/* Makes the thumbnails (opts->thumbs; mode and jobs apply; dir only when it is
 * "s3://bucket/prefix", see below) of each path: a
 * file, or a directory whose *.jpg, *.jpeg, *.png, *.webp, *.gif, *.avif, *.heic, *.heif and
 * *.hif files are taken in name order
 * (not recursively), skipping hidden files and files that are thumbnails already
 * (imgpipe_is_thumb_name; a path so named is skipped too). Each file is one
 * item for cb (url is the path); a missing or unreadable path is a failed item. With
 * opts->dir "s3://bucket/prefix" the thumbnails are PUT there as prefix/NAME_thumbnail.EXT
 * instead (the bucket checked first; two files of one name refused with IMGPIPE_EINVAL; an
 * object another file wrote is not replaced: that item fails). opts->stop set: no new file
 * starts, those in hand are finished, sum->not_tried counts the rest and IMGPIPE_ECANCELED
 * is returned. Returns 0 when the run went through, or a negative code with err. */
int imgpipe_thumbs(const imgpipe_get_opts *opts, const char *const *paths, int npaths,
                   imgpipe_item_cb cb, void *userdata, imgpipe_summary *sum, char *err);

/* ---- distributed mode: a job queue on Redis ----------------------------------------- *
 * Jobs live in Redis Streams (one stream and one consumer group per queue; docs/queue.md
 * has the keys and the life of a job). Delivery is at least once: a job may run twice,
 * which writes the same file again, atomically. URLs are redis://[[user]:password@]host
 * [:port][/db] (user and password may be percent-encoded; messages show the password as
 * ***) or unix:/path; NULL means $IMGPIPE_REDIS_URL, else redis://127.0.0.1:6379. The
 * queue calls write to sockets through hiredis: a process using them ignores SIGPIPE (the
 * imgpipe commands do), or a Redis that closes the connection kills it. */

#define IMGPIPE_REDIS_DEFAULT_URL "redis://127.0.0.1:6379"

/* The URL to use for `url` (which may be NULL): url, $IMGPIPE_REDIS_URL, or the default. */
const char *imgpipe_queue_url(const char *url);

typedef struct imgpipe_queue imgpipe_queue; /* one connection, for one thread */

/* IMGPIPE_OK when queue is a name a queue can have (1 to 128 bytes of UTF-8 text without
 * control characters), else IMGPIPE_EINVAL with err saying so: a command given one checks
 * it before it connects, as enqueue and worker do. */
int imgpipe_queue_name_check(const char *queue, char *err);

/* Connects; IMGPIPE_ENET (or ECONFIG for a refused AUTH) with err naming the URL. */
int imgpipe_queue_open(imgpipe_queue **out, const char *url, char *err);
void imgpipe_queue_free(imgpipe_queue *q);

typedef struct imgpipe_enqueue_opts {
    const char *queue;       /* NULL: "default" */
    const char *dir;         /* where workers write; made absolute here; NULL: "images"; or
                                "s3://bucket/prefix" (checked here, see imgpipe_get_opts) */
    const char *s3_endpoint; /* as imgpipe_get_opts's, for that check */
    int nthumbs;
    imgpipe_thumb_size thumbs[IMGPIPE_THUMB_MAX_SIZES];
    int quality; /* 0: 85 */
    int force;   /* queue a link even when the queue holds it or has done it */
    /* fit, upscale, pad_colour/pad_set, format and effort for the workers' thumbnails
     * (thumb.quality and thumb.max_pixels are not used: quality above, the worker's own
     * --max-pixels) */
    imgpipe_thumb_opts thumb;
} imgpipe_enqueue_opts;

/* Reads every source to its end and adds one job per link, named here (so names are the
 * same whoever runs the job). A name is given to one URL only, in every batch and every
 * queue that writes to the same dir (a registry in Redis); a URL queued again gets its
 * name of before. A link the queue holds (waiting, in progress, scheduled) or has done is
 * skipped unless opts->force, and counted in *skipped (may be NULL). *count jobs were
 * added under the batch id written to batch (64 bytes). Returns 0, or a negative code
 * with err (then some jobs may be queued). */
int imgpipe_queue_enqueue(imgpipe_queue *q, const imgpipe_enqueue_opts *opts,
                          imgpipe_source *const *sources, int nsources, uint64_t *count,
                          uint64_t *skipped, char batch[64], char *err);

/* Puts every job of the queue's failed list back on the queue, with fresh retries. */
int imgpipe_queue_requeue_failed(imgpipe_queue *q, const char *queue, uint64_t *count, char *err);

/* The state of the queues (none named: every queue ever used, by name) and the live
 * workers as a JSON document (malloc'd, the caller frees): {"queues":[{"name","waiting",
 * "in_progress","done","failed","retried","scheduled" (retries waiting for their time),
 * "refused" (outcomes of workers that had lost their claim),
 * "held":[{"id","worker","url","age_ms","deliveries"}],"failures":[{"id","url","error"}]}],
 * "workers":[{"name","host","pid","queues","done","failed","in_flight","heartbeat_age_ms"}]}. */
int imgpipe_queue_status_json(imgpipe_queue *q, const char *const *queues, int nqueues, char **json,
                              char *err);

/* Empties a queue: its waiting and scheduled jobs are dropped (*count of them), and may be
 * queued again; jobs in hand finish. Done and failed stay counted. */
int imgpipe_queue_purge(imgpipe_queue *q, const char *queue, uint64_t *count, char *err);

/* The jobs of url in the queues (none named: every queue) as JSON (malloc'd):
 * {"url","jobs":[{"queue","url","state": "waiting"|"in_progress"|"scheduled"|"done"|"failed",
 * and when known "id","name","attempt","worker","age_ms","error"}]}; "jobs" is empty when
 * no queue knows the URL. Each "url" is as it may be shown: a password in it reads ***. */
int imgpipe_queue_lookup_json(imgpipe_queue *q, const char *const *queues, int nqueues,
                              const char *url, char **json, char *err);

typedef struct imgpipe_worker_opts {
    const char *url;           /* Redis; NULL as for imgpipe_queue_url */
    const char *const *queues; /* taken in this order (strict priority); none: "default" */
    int nqueues;
    const char *name;            /* the consumer name; NULL: "<host>:<pid>" (must be unique) */
    int burst;                   /* exit once nothing is waiting nor can be claimed */
    int jobs;                    /* jobs in flight; 0: adaptive, 32 to 64 (16 while their
                                    bodies are in memory: thumbnails, a bucket) */
    long claim_after_ms;         /* take over jobs of a worker silent this long; 0: 60 s */
    int retries;                 /* as get's: more attempts after a transient failure;
                                    0: 3, < 0: none */
    imgpipe_get_opts get;        /* timeouts and max_bytes (dir, mode, thumbs come per job) */
    volatile sig_atomic_t *stop; /* set non-zero (e.g. from a signal handler) to stop taking
                                   jobs: those in flight finish, then the call returns */
    /* Told, as a sentence, when Redis goes away and comes back; may be NULL. */
    void (*notice)(const char *msg, void *userdata);
} imgpipe_worker_opts;

/* Runs jobs from the queues on the async engine until stopped (or, with burst, until
 * the queues are empty). Each job's final outcome goes to cb (item->url, ->name, ->status;
 * the index counts jobs of this worker) once it is queued for Redis (written there before
 * the worker next reads jobs: once a quarter of its slots are free); an attempt that will
 * be retried goes to notice instead. Redis
 * going away is waited out with backoff. A file that cannot be written fails its job; a
 * directory that takes no file stops the run with IMGPIPE_EDISK (that job stays queued).
 * Returns 0, or a negative code with err: bad options, Redis unreachable at start
 * (IMGPIPE_ENET), the name held by a live worker (IMGPIPE_ECONFIG), IMGPIPE_EDISK. */
int imgpipe_worker_run(const imgpipe_worker_opts *opts, imgpipe_item_cb cb, void *userdata,
                       imgpipe_summary *sum, char *err);

/* ---- the dashboard: a web page over the queues, and Prometheus metrics ------------- */

typedef struct imgpipe_dashboard_opts {
    const char *url;           /* Redis; NULL as for imgpipe_queue_url */
    const char *const *queues; /* shown; none: every queue ever used (at most 64) */
    int nqueues;
    const char *listen; /* "HOST:PORT" (IPv6 as "[::1]:PORT"; port 0 picks one); NULL:
                           "127.0.0.1:8080" */
    const char *auth;   /* "user:password" for HTTP basic auth, or NULL; required when
                           listen is not a loopback address */
    const char *dir;    /* the gallery's directory, or NULL for no gallery */
    /* Called once listening, with the page's URL and whether the address is loopback. */
    void (*ready)(const char *url, int loopback, void *userdata);
    void *userdata;
} imgpipe_dashboard_opts;

/* Serves the dashboard until *stop is set (polled every 100 ms). Returns 0, or a negative
 * code with err when it cannot start (bad address, an open non-loopback address without
 * auth, the directory, the port taken). Redis being down is shown on the page, not an
 * error. */
int imgpipe_dashboard_run(const imgpipe_dashboard_opts *opts, volatile sig_atomic_t *stop,
                          char *err);

/* A process's own counters, served in Prometheus's text format at /metrics: jobs done and
 * failed by reason, bytes, and a histogram of job seconds. Thread-safe. */
typedef struct imgpipe_metrics imgpipe_metrics;

/* Starts serving at listen ("HOST:PORT"; loopback only unless the caller means it). */
int imgpipe_metrics_start(imgpipe_metrics **out, const char *listen, char *err);
/* Counts one item's outcome (call it from the item callback). */
void imgpipe_metrics_observe(imgpipe_metrics *m, const imgpipe_item *item);
/* Stops serving and frees; NULL is fine. */
void imgpipe_metrics_free(imgpipe_metrics *m);

#ifdef __cplusplus
}
#endif
#endif
