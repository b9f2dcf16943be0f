/* The procs executor: N forked worker processes, as multiprocessing.Pool. Each worker
 * talks to the parent over its own SOCK_SEQPACKET socketpair and holds one task at a time,
 * so the parent always knows which task a worker holds: a worker that dies (killed, out
 * of memory) fails that one task, and the others go on. Names, the sources and the
 * callback stay in the parent, so outcomes are reported exactly as in the other modes. */
#include "net/hostrate.h"
#include "run/run.h"
#include "common/stop.h"
#include "common/workpool.h"
#include "source/source.h"
#include "store/store.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#define MAX_URL (IMGPIPE_URL_MAX + 1) /* a message holds the longest link fetched */
#define STOP_POLL_MS 100 /* how soon the parent hears a stop a signal did not wake it for */
#define STOP_GRACE 3.0   /* seconds a stopped worker has to end its transfer, then SIGKILL */
#define AGAIN_POLL_MS 20 /* how soon a source that had no link at hand is asked again */

struct task_msg {
    uint64_t index;
    int replace;
    char name[IMGPIPE_RELNAME_MAX + 1];
    char adopt[IMGPIPE_RELNAME_MAX + 1];
    char url[MAX_URL];
};

struct worker {
    pid_t pid;
    int fd;     /* -1 once the worker is gone */
    int busy;   /* holds task */
    int killed; /* the parent killed it after a stop: its task was interrupted, not failed */
    imgpipe_task task;
};

/* The stop flag in a worker: its copy of the caller's (which clients made before the fork,
 * an S3 one say, also read), else one of its own. A worker's handler must set it: the
 * caller's flag may be set by a thread or a handler that a forked process does not run. */
static volatile sig_atomic_t worker_own_stop, *worker_stop;

static void on_worker_stop(int sig)
{
    __atomic_store_n(worker_stop, sig, __ATOMIC_RELAXED);
}

/* The parent asks a worker to stop with SIGTERM, and a terminal's SIGINT reaches it too:
 * either ends its transfer as a stop ends the parent's, removing the temporary file. So
 * does the parent's death (SIGKILL included), so that no worker outlives it. */
static void worker_signals(imgpipe_run *r, imgpipe_get_opts *opts, pid_t parent)
{
    worker_stop = (volatile sig_atomic_t *)r->opts->stop; /* the caller's, but our copy */
    if (!worker_stop) {
        worker_stop = &worker_own_stop;
        *opts = *r->opts;
        opts->stop = worker_stop;
        r->opts = opts;
        r->fetch.stop = worker_stop;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_worker_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
#ifdef __linux__
    prctl(PR_SET_PDEATHSIG, SIGTERM);
#endif
    if (getppid() != parent) /* it died before prctl: no signal will come */
        *worker_stop = SIGTERM;
}

static void child_main(imgpipe_run *r, int fd, pid_t parent, const sigset_t *mask)
{
    imgpipe_get_opts opts;
    worker_signals(r, &opts, parent);
    pthread_sigmask(SIG_SETMASK, mask, NULL);
    CURL *easy = curl_easy_init();
    r->rate = NULL; /* the parent paces starts for every worker */
    struct task_msg m;
    imgpipe_outcome o;
    ssize_t n;
    /* A stop while idle interrupts recv: the worker still waits for the parent's word. */
    while (easy && ((n = recv(fd, &m, sizeof(m), 0)) > 0 || (n < 0 && errno == EINTR))) {
        if (n < 0)
            continue;
        m.url[MAX_URL - 1] = m.name[IMGPIPE_RELNAME_MAX] = m.adopt[IMGPIPE_RELNAME_MAX] = '\0';
        imgpipe_task t = {.index = m.index, .url = m.url, .dirfd = -1, .replace = m.replace};
        memcpy(t.name, m.name, sizeof(t.name));
        memcpy(t.adopt, m.adopt, sizeof(t.adopt));
        imgpipe_run_perform(r, easy, &t, &o);
        if (send(fd, &o, sizeof(o), MSG_NOSIGNAL) != (ssize_t)sizeof(o))
            break;
    }
    curl_easy_cleanup(easy);
    _exit(0); /* never flush or free what the parent owns */
}

/* ws[0..i-1] are running; ws[i] is started. */
static int spawn(imgpipe_run *r, struct worker *ws, int i)
{
    struct worker *w = &ws[i];
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
        return -1;
    for (int k = 0; k < r->nsources; k++)
        imgpipe_source_settle(r->sources[k]);
    fflush(NULL);
    /* Blocked until the child has its own handlers: a stop sent in between would kill it
     * as the default action, leaving its temporary file. */
    sigset_t stops, old;
    sigemptyset(&stops);
    sigaddset(&stops, SIGTERM);
    sigaddset(&stops, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stops, &old);
    pid_t parent = getpid();
    w->pid = fork();
    if (w->pid == 0) {
        /* A child must hold no other worker's parent end, or that worker never reads
         * end-of-file when the parent closes it. */
        for (int k = 0; k < i; k++)
            close(ws[k].fd);
        close(sv[0]);
        child_main(r, sv[1], parent, &old);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (w->pid < 0) {
        close(sv[0]);
        close(sv[1]);
        return -1;
    }
    close(sv[1]);
    w->fd = sv[0];
    return 0;
}

/* Sends the next task to an idle worker: 1 sent, 0 no more tasks, IMGPIPE_RUN_AGAIN none
 * at hand yet, < 0 read error. */
static int assign(imgpipe_run *r, struct worker *w, struct task_msg *m, char *err)
{
    int rc = imgpipe_run_next(r, &w->task, err);
    if (rc <= 0 || rc == IMGPIPE_RUN_AGAIN)
        return rc;
    imgpipe_outcome o;
    if (strlen(w->task.url) >= MAX_URL) {
        memset(&o, 0, sizeof(o));
        o.status = imgpipe_url_too_long(o.error);
        imgpipe_run_report(r, &w->task, &o);
        return 1;
    }
    /* Rate limits are the parent's, so that N workers share them. */
    double wait = imgpipe_hostrate_reserve(r->rate, w->task.url);
    if (wait > 0 && !imgpipe_run_wait(r, wait)) { /* its turn is past the deadline, or a stop */
        memset(&o, 0, sizeof(o));
        if (imgpipe_run_stopping(r))
            o.status = imgpipe_errf(o.error, IMGPIPE_ECANCELED, "interrupted");
        else
            imgpipe_run_timed_out(&o, 0);
        imgpipe_run_report(r, &w->task, &o);
        return 1;
    }
    m->index = w->task.index;
    m->replace = w->task.replace;
    memcpy(m->name, w->task.name, sizeof(m->name));
    memcpy(m->adopt, w->task.adopt, sizeof(m->adopt));
    strcpy(m->url, w->task.url);
    size_t len = offsetof(struct task_msg, url) + strlen(m->url) + 1;
    if (send(w->fd, m, len, MSG_NOSIGNAL) != (ssize_t)len) {
        memset(&o, 0, sizeof(o));
        o.status = imgpipe_errf(o.error, IMGPIPE_EIO, "worker process %d is gone", (int)w->pid);
        imgpipe_run_report(r, &w->task, &o);
        close(w->fd);
        w->fd = -1;
        return 1;
    }
    w->busy = 1;
    return 1;
}

static void collect(imgpipe_run *r, struct worker *w)
{
    imgpipe_outcome o;
    ssize_t n = recv(w->fd, &o, sizeof(o), 0);
    if (n == (ssize_t)sizeof(o)) {
        o.error[IMGPIPE_ERRLEN - 1] = o.name[IMGPIPE_RELNAME_MAX] = '\0';
        o.sha256[sizeof(o.sha256) - 1] = '\0';
        for (int i = 0; i < IMGPIPE_THUMB_MAX_SIZES; i++)
            o.thumb_names[i][IMGPIPE_THUMBNAME_LEN - 1] = '\0';
    } else {
        int status = 0;
        waitpid(w->pid, &status, 0);
        memset(&o, 0, sizeof(o));
        if (w->killed)
            o.status = imgpipe_errf(o.error, IMGPIPE_ECANCELED, "interrupted");
        else
            o.status = imgpipe_errf(o.error, IMGPIPE_EIO, "worker process %d died (%s %d)",
                                    (int)w->pid, WIFSIGNALED(status) ? "signal" : "exit status",
                                    WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
        close(w->fd);
        w->fd = -1;
        w->pid = 0;
    }
    w->busy = 0;
    imgpipe_run_report(r, &w->task, &o);
}

/* On the caller's stop, the workers are stopped too (their transfers end, their outcomes
 * come back as interrupted); one still busy STOP_GRACE later is killed. *asked: when they
 * were asked, 0 before, -1 once the late ones were killed. */
static void stop_workers(const imgpipe_run *r, struct worker *ws, int n, double *asked)
{
    if (*asked < 0 || !imgpipe_stop_set(r->opts->stop))
        return;
    int late = *asked > 0 && imgpipe_now() - *asked > STOP_GRACE;
    if (*asked > 0 && !late)
        return;
    for (int i = 0; i < n; i++)
        if (ws[i].pid > 0 && (!late || ws[i].busy)) {
            kill(ws[i].pid, late ? SIGKILL : SIGTERM);
            ws[i].killed = late;
        }
    *asked = late ? -1 : imgpipe_now();
}

/* m: the parent's one message buffer (large, so not on the stack; not static, so that two
 * runs in one process do not share it). */
static int loop(imgpipe_run *r, struct worker *ws, struct pollfd *pfd, int n, struct task_msg *m,
                char *err)
{
    int eof = 0, rc = IMGPIPE_OK;
    double asked = 0;
    r->polls = 1; /* a source with no link at hand says so, and the loop goes on */
    for (;;) {
        stop_workers(r, ws, n, &asked);
        int busy = 0, alive = 0, again = 0;
        for (int i = 0; i < n; i++) {
            while (!eof && !rc && !again && ws[i].fd >= 0 && !ws[i].busy) {
                int a = assign(r, &ws[i], m, err);
                again = a == IMGPIPE_RUN_AGAIN;
                eof = a == 0 || (again && imgpipe_run_remaining_ms(r) == 0);
                rc = a < 0 ? a : 0;
            }
            busy += ws[i].busy;
            alive += ws[i].fd >= 0;
            pfd[i] = (struct pollfd){.fd = ws[i].busy ? ws[i].fd : -1, .events = POLLIN};
        }
        if (!busy && (eof || rc || imgpipe_run_stopping(r)))
            return rc;
        if (!alive)
            return imgpipe_errf(err, IMGPIPE_EIO, "every worker process died");
        /* A source with no link at hand is asked again soon; meanwhile the outcomes of the
         * busy workers are collected and reported, not held until its next line comes. */
        int timeout = again && !eof ? AGAIN_POLL_MS : r->opts->stop ? STOP_POLL_MS : -1;
        if (poll(pfd, (nfds_t)n, timeout) < 0 && errno != EINTR)
            return imgpipe_errf(err, IMGPIPE_EIO, "poll: %s", strerror(errno));
        for (int i = 0; i < n; i++)
            if (pfd[i].fd >= 0 && pfd[i].revents)
                collect(r, &ws[i]);
    }
}

int imgpipe_exec_procs(imgpipe_run *r, char *err)
{
    int n = r->opts->jobs > 0 ? r->opts->jobs : imgpipe_ncpus();
    struct worker *ws = calloc((size_t)n, sizeof(*ws));
    struct pollfd *pfd = calloc((size_t)n, sizeof(*pfd));
    struct task_msg *m = malloc(sizeof(*m));
    int started = 0, killed = 0, rc;
    while (ws && pfd && m && started < n && spawn(r, ws, started) == 0)
        started++;
    if (started == 0)
        rc =
            imgpipe_errf(err, IMGPIPE_ENOMEM, "cannot start worker processes: %s", strerror(errno));
    else
        rc = loop(r, ws, pfd, started, m, err);
    for (int i = 0; i < started; i++) {
        if (ws[i].fd >= 0)
            close(ws[i].fd); /* the worker reads end-of-file and exits */
        if (ws[i].pid > 0)
            waitpid(ws[i].pid, NULL, 0);
        if (ws[i].busy)
            free(ws[i].task.url);
        killed |= ws[i].killed;
    }
    if (killed && r->dirfd >= 0)
        imgpipe_store_sweep(r->dirfd); /* the temporary files of the killed, now reaped */
    free(ws);
    free(pfd);
    free(m);
    return rc;
}
