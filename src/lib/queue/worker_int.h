/* The worker's state, shared by its parts and private to them:
 *   worker.c         the run: options, the connection, the supply and outcome callbacks
 *   worker_read.c    reading entries: claims, our own pending ones, new ones
 *   worker_ahead.c   reading the next batch while the current one is handed out
 *   worker_take.c    an entry as a task: its directory, its options
 *   worker_record.c  what becomes of a job (done, retried, failed) and its MULTI/EXEC
 *   heartbeat.c      the worker's name and its heartbeat key
 * The life of a job and the keys: docs/queue.md. */
#ifndef IMGPIPE_WORKER_INT_H
#define IMGPIPE_WORKER_INT_H

#include "queue/queue.h"
#include "run/run.h"

#include <pthread.h>

/* A directory opened for jobs, shared by every job that writes there. */
struct wk_dir {
    struct wk_dir *next;
    char *path;
    int fd, refs;
    struct imgpipe_s3 *s3; /* a bucket ("s3://..."): fd is -1 */
};

/* What the worker makes of a job's outcome. */
enum wk_verdict {
    WK_RECORDED, /* done or failed: goes to the callback */
    WK_RETRIED,  /* queued again: a notice, not an outcome */
    WK_LEFT      /* its directory failed: left pending for a claim, not recorded */
};

/* A job taken from a stream, from XREADGROUP to its recorded outcome. */
struct wk_job {
    struct wk_job *next;
    int qi;
    char id[48];
    imgpipe_strvec fields; /* the entry's k, v, k, v ...: copied on retry or failure */
    int attempt;           /* retries already made (the entry's attempt field) */
    enum wk_verdict verdict;
    int in_memory; /* its body is held in memory (thumbnails, a bucket) */
    struct wk_dir *dir;
    imgpipe_get_opts opts;
};

enum wk_rec_kind { WK_ACK, WK_GONE, WK_RETRY, WK_FAIL, WK_BACK };

/* An outcome to write to Redis. */
struct wk_rec {
    struct wk_rec *next;
    enum wk_rec_kind kind;
    int qi;
    char id[48];
    char *url;             /* the job's, for the queue's URL states */
    long delay_ms;         /* a retry's wait */
    imgpipe_strvec fields; /* the entry's fields for a retry or a failure */
};

struct worker {
    const imgpipe_worker_opts *o;
    const char *url, *name;
    char shown_url[512]; /* the URL without its password, for messages */
    const char *const *queues;
    int nqueues, jobs, retries;
    long claim_ms;
    char (*streams)[IMGPIPE_Q_KEYLEN];
    redisContext *c;
    double retry_at, backoff, idle_until, reclaim_at, due_at;
    uint64_t rng;                      /* retry jitter */
    char record_sha[48], rate_sha[48]; /* scripts loaded on each connection */
    int lost;          /* the connection went away: say so once, and when it is back */
    int refusing;      /* the outcome script refused a key of another type: until it takes
                        * them, a reconnect keeps the backoff and says nothing */
    redisReply *batch; /* entries read and not yet handed out (checked by wk_batch_set) */
    size_t batch_pos;
    int batch_qi;
    int batch_own;          /* the batch is our own pending entries, read again */
    redisReply *next_batch; /* entries read ahead (queue 0), handed out after the batch */
    int ahead;              /* a read ahead was sent and its reply not yet read */
    int ahead_flush;        /* the replies of the outcomes sent with it, read after it */
    int *own_done;          /* our own pending entries (from an earlier life) re-read, per queue */
    char (*own_last)[48];
    struct wk_job *flight;
    struct wk_job *reported; /* between the outcome hook and the item callback */
    int inflight;
    int in_memory, in_memory_max; /* jobs in flight whose bodies are held in memory */
    uint64_t uncounted;           /* attempts the run counted as failures that were not outcomes */
    uint64_t failed_at_take;      /* jobs failed before they were tasks: not the run's */
    struct wk_dir *dirs;
    struct wk_rec *recs, **recs_tail;
    struct wk_rec *sending; /* sent, their replies not yet read: back to recs if lost */
    int nrecs;              /* records not yet sent */
    double recs_since;      /* when the oldest of them was made */
    int dir_failed;         /* a directory cannot be written: stop, and say why (dir_err) */
    char dir_err[IMGPIPE_ERRLEN];
    imgpipe_item_cb cb;
    void *userdata;
    /* shared with the heartbeat thread */
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int stopping;
    unsigned long long done, failed;
    char host[256];
    pthread_t beater;
    redisContext *beat_c; /* the heartbeat's own connection */
};

#define IMGPIPE_WK_BACKOFF_MIN_S 0.1 /* reconnecting to Redis: first wait, doubled up to a max */
#define IMGPIPE_WK_IDLE_READ_S 0.05  /* after an empty read, ask Redis again no sooner */
/* The most held in reserve, whatever -j: at 256 in flight and 100 ms per answer a slot
 * frees every 0.4 ms, so 32 cover 12 ms, many Redis round trips. */
#define IMGPIPE_WK_RESERVE_MAX 32

/* Entries a worker holds unstarted beyond its free slots: enough that a slot that frees
 * rarely waits on Redis, few enough that a short queue is shared among the workers, not
 * hoarded by the first to read. */
static inline int imgpipe_wk_reserve(const struct worker *w)
{
    int half = w->jobs / 2;
    return half < 1 ? 1 : half > IMGPIPE_WK_RESERVE_MAX ? IMGPIPE_WK_RESERVE_MAX : half;
}

/* worker.c */
void imgpipe_wk_notice(struct worker *w, const char *fmt, const char *a, const char *b);
void imgpipe_wk_drop(struct worker *w, const char *why);
int imgpipe_wk_connected(struct worker *w);
redisReply *imgpipe_wk_command(struct worker *w, int argc, const char **argv);
/* The same, with the outcomes not yet recorded sent in the same round trip. */
redisReply *imgpipe_wk_command_flushing(struct worker *w, int argc, const char **argv);
/* A reply read for the command named what, checked as imgpipe_wk_command's. */
redisReply *imgpipe_wk_checked(struct worker *w, redisReply *raw, const char *what);

/* worker_read.c */
size_t imgpipe_wk_batch_left(const struct worker *w);
/* Refills the batch: the free slots and a reserve (imgpipe_wk_reserve), so a slot that
 * frees takes its next job without a round trip to Redis; the outcomes recorded so far go
 * in the same round trip. 1 with entries, 0 when Redis had none, -1 when it was
 * not asked (idle wait, reconnect backoff). */
int imgpipe_wk_fill(struct worker *w);
/* The entries of an XREADGROUP reply r (freed): NULL when there are none, or when the
 * reply is not shaped as entries (the connection is dropped, with a notice). */
redisReply *imgpipe_wk_group_entries(struct worker *w, redisReply *r);
/* Moves the due scheduled retries of every queue back to their streams. */
void imgpipe_wk_move_due(struct worker *w);
/* 1 when --burst may end: nothing waiting or scheduled, nothing held by a dead worker. */
int imgpipe_wk_burst_done(struct worker *w);

/* worker_ahead.c */
/* Sends the read of a reserve's worth more when the batch is down to half a reserve (the
 * plain case: one queue, no claim or due retries to look at; imgpipe_wk_fill does the
 * rest). */
void imgpipe_wk_read_ahead(struct worker *w);
/* Reads its reply into next_batch: waiting for it when block, else only once it came. */
void imgpipe_wk_ahead_collect(struct worker *w, int block);
/* Before any other command on the connection: the read ahead's reply is read first. */
void imgpipe_wk_settle(struct worker *w);
/* An exhausted batch gives way to the one read ahead. */
void imgpipe_wk_batch_next(struct worker *w);

/* worker_take.c */
/* The next entry of the batch as a task: 1; 0 when it was settled without one;
 * IMGPIPE_WK_HELD when it waits for a job held in memory to end (it stays next). */
#define IMGPIPE_WK_HELD 2
int imgpipe_wk_take(struct worker *w, imgpipe_task *t);
void imgpipe_wk_job_free(struct worker *w, struct wk_job *j);
void imgpipe_wk_dir_close(struct worker *w, struct wk_dir *d);
/* 0 when a small file can be written in d; else a sentence in err. */
int imgpipe_wk_dir_writable(const struct wk_dir *d, char *err);

/* worker_record.c */
/* Queues the job's outcome for Redis: done, another attempt (a transient failure with
 * retries left), or the failed list. Sets j->verdict. */
void imgpipe_wk_finish(struct worker *w, struct wk_job *j, int status, int transient,
                       long retry_after_ms, const char *error);
/* Queues an ack alone (an entry gone from the stream). */
void imgpipe_wk_ack(struct worker *w, int qi, const char *id);
void imgpipe_wk_flush(struct worker *w);
/* The two halves of a flush, for a command sent with it: appends the MULTI (0: nothing to
 * send, or the connection was dropped), then reads its replies. */
int imgpipe_wk_flush_append(struct worker *w);
void imgpipe_wk_flush_collect(struct worker *w, int sent);
/* 1 when the records should go on their own, not with the next read: `jobs` of them,
 * nothing left in flight, or the oldest waiting past a short while. */
int imgpipe_wk_flush_due(const struct worker *w);
/* Loads the outcome script on a new connection. */
int imgpipe_wk_record_load(struct worker *w, char *err);
void imgpipe_wk_recs_free(struct worker *w);
/* Entries read and not started (from index from on; entries NULL: none) go back to the
 * stream when the worker stops, for another worker now rather than by a claim after
 * claim_after. */
void imgpipe_wk_give_back(struct worker *w, const redisReply *entries, size_t from, int qi);
/* Records sent whose replies were lost go back to be sent again. */
void imgpipe_wk_recs_unsend(struct worker *w);

/* worker_rate.c */
/* With --rate: the run reserves its requests' starts from a schedule per host in Redis. */
void imgpipe_wk_rate_setup(struct worker *w, imgpipe_run *r);
/* Loads the rate script on a new connection. */
int imgpipe_wk_rate_load(struct worker *w, char *err);

/* heartbeat.c */
/* Takes the worker's name (refused while a live worker has it) and beats once. */
int imgpipe_wk_claim_name(struct worker *w, char *err);
int imgpipe_wk_heartbeat_start(struct worker *w, char *err);
/* Stops the thread and deletes the heartbeat key. */
void imgpipe_wk_heartbeat_stop(struct worker *w);

#endif
