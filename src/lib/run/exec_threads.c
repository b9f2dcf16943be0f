/* The threads executor: a pool of N workers taking links from the run under its lock, as
 * the tutorial's DownloadWorker threads take them from a Queue. Each worker keeps its own
 * curl handle, and with it its own keep-alive connections; the DNS cache and TLS sessions
 * are shared through a curl share handle (so a worker's first connection to a host skips
 * the lookup and resumes a session). Connections are not shared: libcurl documents its
 * shared connection cache as unsafe between threads. */
#include "run/run.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_THREADS 8
#define AGAIN_WAIT_MS 20 /* how often a worker asks a source that had no link at hand */

struct pool {
    imgpipe_run *run;
    pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
    int failed; /* a source read error stops every worker */
    char err[IMGPIPE_ERRLEN];
};

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *userp)
{
    (void)h;
    (void)access;
    pthread_mutex_lock(&((struct pool *)userp)->share_locks[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *userp)
{
    (void)h;
    pthread_mutex_unlock(&((struct pool *)userp)->share_locks[data]);
}

/* 1 with a task, 0 when there is no more work. A source with no link at hand yet (a pipe
 * whose writer is slow, a page on its way) is waited for without the run's lock: the
 * other workers must be able to report what they finished meanwhile, or a done image
 * would wait for the next line to reach the ledger. */
static int take(struct pool *p, imgpipe_task *t)
{
    char err[IMGPIPE_ERRLEN];
    for (;;) {
        pthread_mutex_lock(&p->run->lock);
        int rc = p->failed ? 0 : imgpipe_run_next(p->run, t, err);
        if (rc < 0 && !p->failed) {
            p->failed = rc;
            memcpy(p->err, err, sizeof(err));
        }
        pthread_mutex_unlock(&p->run->lock);
        if (rc != IMGPIPE_RUN_AGAIN)
            return rc > 0;
        if (imgpipe_run_stopping(p->run) || imgpipe_run_remaining_ms(p->run) == 0)
            return 0;
        nanosleep(&(struct timespec){.tv_nsec = AGAIN_WAIT_MS * 1000000L}, NULL);
    }
}

static void *worker(void *arg)
{
    struct pool *p = arg;
    CURL *easy = curl_easy_init();
    imgpipe_task t;
    imgpipe_outcome o;
    while (easy && take(p, &t)) {
        imgpipe_run_perform(p->run, easy, &t, &o);
        pthread_mutex_lock(&p->run->lock);
        imgpipe_run_report(p->run, &t, &o);
        pthread_mutex_unlock(&p->run->lock);
    }
    curl_easy_cleanup(easy);
    return NULL;
}

static CURLSH *share_new(struct pool *p)
{
    CURLSH *sh = curl_share_init();
    if (!sh)
        return NULL;
    curl_share_setopt(sh, CURLSHOPT_LOCKFUNC, share_lock);
    curl_share_setopt(sh, CURLSHOPT_UNLOCKFUNC, share_unlock);
    curl_share_setopt(sh, CURLSHOPT_USERDATA, p);
    curl_share_setopt(sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    return sh;
}

static int run_pool(struct pool *p, int n, char *err)
{
    pthread_t *threads = calloc((size_t)n, sizeof(*threads));
    if (!threads)
        return imgpipe_errf(err, IMGPIPE_ENOMEM, "out of memory");
    int started = 0;
    while (started < n && pthread_create(&threads[started], NULL, worker, p) == 0)
        started++;
    for (int i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    free(threads);
    if (started == 0)
        return imgpipe_errf(err, IMGPIPE_ENOMEM, "cannot start worker threads");
    if (p->failed)
        return imgpipe_errf(err, p->failed, "%s", p->err);
    return IMGPIPE_OK;
}

int imgpipe_exec_threads(imgpipe_run *r, char *err)
{
    struct pool p = {.run = r};
    r->polls = 1; /* take() waits for a source itself, outside the lock */
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&p.share_locks[i], NULL);
    CURLSH *sh = share_new(&p);
    int rc, n = r->opts->jobs > 0 ? r->opts->jobs : DEFAULT_THREADS;
    if (!sh) {
        rc = imgpipe_errf(err, IMGPIPE_ENOMEM, "cannot create a libcurl share handle");
    } else {
        r->fetch.share = sh;
        imgpipe_run_plan_fds(r, 2L * n); /* a socket and a temporary file per thread */
        rc = run_pool(&p, n, err);
        r->fetch.share = NULL;
        curl_share_cleanup(sh);
    }
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_destroy(&p.share_locks[i]);
    return rc;
}
