/* The state of one `get` run that every executor shares: where links come from, how they
 * are named, where files go, where outcomes are reported. Executors take tasks from it
 * and hand outcomes back; the order of names is the order of links, in every mode. */
#ifndef IMGPIPE_RUN_H
#define IMGPIPE_RUN_H

#include "common/clock.h"
#include "net/fetch.h"
#include "run/job.h"
#include "store/nametpl.h"

#include <pthread.h>
#include <stdatomic.h>

typedef struct imgpipe_task {
    uint64_t index;
    char *url; /* owned */
    char name[IMGPIPE_RELNAME_MAX + 1];
    int dirfd;             /* where it goes; -1: the run's directory */
    struct imgpipe_s3 *s3; /* or this bucket; NULL: dirfd */
    int replace;           /* a file at name may be replaced (this URL's own, by the ledger; a queue
                              job run again); 0: the name was free, a file that appears is kept */
    char adopt[IMGPIPE_RELNAME_MAX + 1]; /* a name refused for a file the ledger does not
                                            record: the image itself if it holds the bytes
                                            (final_name); "" when none */
    const imgpipe_get_opts *job_opts;    /* its thumbnails; NULL: the run's options */
    void *ctx;                           /* the supplier's own, e.g. a queue job */
    uint64_t name_key; /* the key of the name the set holds for a link of the sources, where
                          its outcome is noted for a repeat of it (imgpipe_nameset_settle);
                          0: none */
} imgpipe_task;

struct imgpipe_run;

/* Where tasks come from when not from the run's sources (a queue, say). Returns 1 with a
 * task, 0 at the end, IMGPIPE_RUN_AGAIN when there is none yet, or a negative code with
 * err. Executors that set run.polls see IMGPIPE_RUN_AGAIN and come back; for the others
 * imgpipe_run_next waits and asks again. */
typedef int (*imgpipe_supply_fn)(struct imgpipe_run *r, imgpipe_task *t, char *err);
#define IMGPIPE_RUN_AGAIN 2

struct imgpipe_outcome;
/* What a task is when it is not a download (thumbs: a file on disk): fills the outcome.
 * Runs wherever the executor runs tasks (a thread, a worker process); the seq, threads
 * and procs executors honour it, async (built on transfers) does not. */
typedef void (*imgpipe_perform_fn)(struct imgpipe_run *r, imgpipe_task *t,
                                   struct imgpipe_outcome *o);

/* A supplier's look at each outcome of its tasks before the run counts and reports it
 * (the queue worker decides there what Redis records). It may turn a disk error that is
 * the item's own into an item failure, or set r->fatal. Called where reports are made. */
typedef void (*imgpipe_outcome_fn)(struct imgpipe_run *r, imgpipe_task *t,
                                   struct imgpipe_outcome *o);

typedef struct imgpipe_run {
    const imgpipe_get_opts *opts;
    imgpipe_fetch_opts fetch;
    imgpipe_source *const *sources;
    int nsources, cur;
    imgpipe_nameset *names;
    int dirfd;             /* the output directory; with s3, the state directory (the ledger) */
    struct imgpipe_s3 *s3; /* the output bucket, or NULL */
    uint64_t next_index;
    imgpipe_item_cb cb;
    void *userdata;
    imgpipe_summary *sum;
    pthread_mutex_t lock;     /* guards the sources, names, sum and cb for threaded executors */
    CURLSH *share;            /* DNS and connections shared by threads; NULL elsewhere */
    double deadline;          /* CLOCK_MONOTONIC seconds; 0: none */
    imgpipe_supply_fn supply; /* NULL: tasks come from sources */
    void *supply_ctx;
    /* Set by a supply returning IMGPIPE_RUN_AGAIN: ask again within this many ms (0: when
     * a transfer wakes the loop, or after the executor's own poll interval). */
    long supply_again_ms;
    imgpipe_outcome_fn on_outcome; /* NULL: none */
    int polls;                     /* the executor handles IMGPIPE_RUN_AGAIN itself */
    int in_flight;                 /* the async executor's limit on transfers, now */
    imgpipe_perform_fn perform;    /* NULL: a task is its URL's download */
    int own_dirs; /* tasks write to directories of their own: a disk error fails one task,
                     it does not stop the run */
    int retries;
    int sha_names; /* the name template holds {sha256}: names are known after download */
    int no_spool;  /* bodies stay in memory: too few file descriptors to spool them */
    struct imgpipe_ledger *ledger; /* NULL: none */
    struct imgpipe_hostrate *rate; /* NULL: no --rate */
    /* Reserves a start for a request to url, kept elsewhere than in this process (a rate
     * for a whole fleet): the seconds to wait. NULL: the run's own rate. */
    double (*reserve)(struct imgpipe_run *r, const char *url);
    size_t failed_pos; /* --retry-failed: the next of the ledger's failures */
    atomic_int fatal;  /* a disk error stops the run: no new task starts; read
                          by every thread, set under lock after fatal_err */
    char fatal_err[IMGPIPE_ERRLEN];
    struct imgpipe_repeats *repeats; /* links listed again, waiting for their first's outcome,
                                        and the failures they may repeat; NULL: none yet */
} imgpipe_run;

/* The next link as a task (1), the end of all sources (0), none yet (IMGPIPE_RUN_AGAIN,
 * from a supply only), or a read error (< 0). */
int imgpipe_run_next(imgpipe_run *r, imgpipe_task *t, char *err);

/* Reports the links listed again whose first occurrence never had an outcome (the run
 * stopped first), and frees what the run kept for repeats. Called once the executor ended. */
void imgpipe_run_end_repeats(imgpipe_run *r);

/* After a run stopped early: reads the rest of the links without running them, and
 * returns how many there were (not tried). */
uint64_t imgpipe_run_count_rest(imgpipe_run *r);

/* What became of one task. */
typedef struct imgpipe_outcome {
    int status;
    uint64_t bytes;
    int thumbs;
    int attempts;
    int transient;       /* the last failure may pass on another attempt */
    long retry_after_ms; /* what the server asked for, or -1 */
    int has_quota;       /* the last response said how many requests are left: */
    long quota_left;     /* X-RateLimit-*Remaining */
    double started;      /* imgpipe_now() at the first attempt */
    double seconds;
    char sha256[65];
    char name[IMGPIPE_RELNAME_MAX + 1]; /* a name by content, given once the bytes were
                                           known (procs: the parent learns it so); else "" */
    int kept; /* that name already held these bytes: nothing of this run was put there */
    char error[IMGPIPE_ERRLEN];
    char thumb_names[IMGPIPE_THUMB_MAX_SIZES][IMGPIPE_THUMBNAME_LEN]; /* "" when not written */
} imgpipe_outcome;

/* Where task t's files go: its bucket or directory, else the run's. */
imgpipe_output imgpipe_run_output(const imgpipe_run *r, const imgpipe_task *t);

/* Milliseconds left before the run's deadline: -1 without one, 0 once it passed. */
long imgpipe_run_remaining_ms(const imgpipe_run *r);

/* The fetch options for a transfer started now: the run's, with the whole-transfer
 * timeout cut to the time left before the deadline. */
imgpipe_fetch_opts imgpipe_run_fetch_opts(const imgpipe_run *r);

/* Fills o for a task the deadline stopped; started says whether its transfer had begun. */
void imgpipe_run_timed_out(imgpipe_outcome *o, int started);

/* 1 once the run should start nothing new: the caller's stop flag or a fatal error. */
int imgpipe_run_stopping(const imgpipe_run *r);

/* After a failed attempt: the wait before the next one, or -1 when there is none to make
 * (a permanent failure, no retries left, a wait past the deadline, a stop). */
long imgpipe_run_retry_delay(const imgpipe_run *r, const imgpipe_outcome *o, uint64_t *rng);

/* The seconds to wait before a request to url may start (--rate): r->reserve's answer,
 * or the run's own. */
double imgpipe_run_reserve(imgpipe_run *r, const char *url);

/* Sleeps in short steps so that a stop is heard; 0 when it was cut short. */
int imgpipe_run_wait(const imgpipe_run *r, double seconds);

/* Copies what a finished transfer says about retrying into o. */
void imgpipe_run_note_transfer(imgpipe_outcome *o, const imgpipe_transfer *tr);

/* Counts an outcome (after r->on_outcome) and hands it to the callback (as its name: the
 * task's name, or its URL when it has none); frees the task's URL. Threaded executors call
 * it under r->lock. */
void imgpipe_run_report(imgpipe_run *r, imgpipe_task *t, imgpipe_outcome *o);

/* Fetches one task with easy (a handle reused across tasks, for keep-alive), stores it
 * and makes its thumbnails; or, when the run has a perform function, runs that instead.
 * Touches nothing shared but the output directory. */
void imgpipe_run_perform(imgpipe_run *r, CURL *easy, imgpipe_task *t, imgpipe_outcome *o);

/* After a transfer: checks, stores and thumbnails its body. */
void imgpipe_run_complete(imgpipe_run *r, imgpipe_task *t, const imgpipe_buf *body,
                          imgpipe_outcome *o);

struct imgpipe_spool;
/* 1 when t's body goes to a spool (run/spool.h) as it arrives: it has no thumbnails to
 * make, which need the body in memory, and no bucket to go to. t NULL: the run's own
 * tasks (those of a source, not a queue's jobs). */
int imgpipe_run_spools(const imgpipe_run *r, const imgpipe_task *t);

/* An executor that keeps tasks_fds descriptors open per task at most (a socket, and a
 * temporary file per body under way or waiting for its check) tells the run: when the
 * soft RLIMIT_NOFILE leaves too few for that, bodies stay in memory rather than fail
 * with "too many open files". */
void imgpipe_run_plan_fds(imgpipe_run *r, long fds);
/* Whether the soft RLIMIT_NOFILE leaves fds descriptors for tasks (and the run's own). */
int imgpipe_run_fds_fit(long fds);

/* The task's directory: its own, or the run's. */
int imgpipe_run_dirfd(const imgpipe_run *r, const imgpipe_task *t);

/* After a transfer into spool: checks the file and puts it in place under t's name (a
 * write that failed on the way, in spool, fails the outcome). */
void imgpipe_run_land(imgpipe_run *r, imgpipe_task *t, struct imgpipe_spool *spool,
                      imgpipe_outcome *o);

/* Executors. Each returns 0 or a negative code with err (a source read error). */
int imgpipe_exec_seq(imgpipe_run *r, char *err);
int imgpipe_exec_threads(imgpipe_run *r, char *err);
int imgpipe_exec_async(imgpipe_run *r, char *err);
int imgpipe_exec_procs(imgpipe_run *r, char *err);

#endif
