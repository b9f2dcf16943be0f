#include "common/workpool.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

struct imgpipe_workpool {
    pthread_mutex_t lock;
    pthread_cond_t ready;
    imgpipe_work *head, *tail;
    int stopping;
    int nthreads;
    pthread_t threads[];
};

int imgpipe_ncpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

static imgpipe_work *take(imgpipe_workpool *p)
{
    pthread_mutex_lock(&p->lock);
    while (!p->head && !p->stopping)
        pthread_cond_wait(&p->ready, &p->lock);
    imgpipe_work *w = p->head;
    if (w && !(p->head = w->next))
        p->tail = NULL;
    pthread_mutex_unlock(&p->lock);
    return w;
}

static void *pool_thread(void *arg)
{
    imgpipe_workpool *p = arg;
    imgpipe_work *w;
    while ((w = take(p)))
        w->fn(w);
    return NULL;
}

imgpipe_workpool *imgpipe_workpool_new(int nthreads)
{
    if (nthreads <= 0)
        nthreads = imgpipe_ncpus();
    imgpipe_workpool *p = calloc(1, sizeof(*p) + (size_t)nthreads * sizeof(pthread_t));
    if (!p)
        return NULL;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->ready, NULL);
    while (p->nthreads < nthreads &&
           pthread_create(&p->threads[p->nthreads], NULL, pool_thread, p) == 0)
        p->nthreads++;
    if (p->nthreads == 0) {
        imgpipe_workpool_free(p);
        return NULL;
    }
    return p;
}

void imgpipe_workpool_submit(imgpipe_workpool *p, imgpipe_work *w)
{
    w->next = NULL;
    pthread_mutex_lock(&p->lock);
    if (p->tail)
        p->tail->next = w;
    else
        p->head = w;
    p->tail = w;
    pthread_cond_signal(&p->ready);
    pthread_mutex_unlock(&p->lock);
}

void imgpipe_workpool_free(imgpipe_workpool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->stopping = 1; /* threads drain the queue before they see it */
    pthread_cond_broadcast(&p->ready);
    pthread_mutex_unlock(&p->lock);
    for (int i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    pthread_cond_destroy(&p->ready);
    pthread_mutex_destroy(&p->lock);
    free(p);
}
