#include "net/hostrate.h"
#include "common/clock.h"
#include "common/util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS 4096 /* hosts remembered; a clash only shares a schedule, never skips a wait */

struct imgpipe_hostrate {
    double interval; /* --rate, for every host; 0: none */
    pthread_mutex_t lock;
    double next[SLOTS];   /* the next free start of the hosts hashed there */
    double slowed[SLOTS]; /* a longer interval for hosts that asked for it, or 0 */
};

imgpipe_hostrate *imgpipe_hostrate_new(double rate)
{
    imgpipe_hostrate *h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    h->interval = rate > 0 ? 1.0 / rate : 0;
    pthread_mutex_init(&h->lock, NULL);
    return h;
}

void imgpipe_hostrate_free(imgpipe_hostrate *h)
{
    if (!h)
        return;
    pthread_mutex_destroy(&h->lock);
    free(h);
}

static uint64_t host_hash(const char *url)
{
    size_t n;
    const char *host = imgpipe_url_host(url, &n);
    return imgpipe_hash64(host, n);
}

double imgpipe_hostrate_reserve(imgpipe_hostrate *h, const char *url)
{
    if (!h)
        return 0;
    size_t slot = (size_t)(host_hash(url) % SLOTS);
    double now = imgpipe_now();
    pthread_mutex_lock(&h->lock);
    double gap = h->slowed[slot] > h->interval ? h->slowed[slot] : h->interval;
    double start = h->next[slot] > now ? h->next[slot] : now;
    h->next[slot] = gap > 0 ? start + gap : 0;
    pthread_mutex_unlock(&h->lock);
    return gap > 0 ? start - now : 0;
}

int imgpipe_hostrate_slow(imgpipe_hostrate *h, const char *url, double rate)
{
    if (!h || !(rate > 0))
        return 0;
    size_t slot = (size_t)(host_hash(url) % SLOTS);
    pthread_mutex_lock(&h->lock);
    int slower = 1.0 / rate > h->slowed[slot] && 1.0 / rate > h->interval;
    if (slower)
        h->slowed[slot] = 1.0 / rate;
    pthread_mutex_unlock(&h->lock);
    return slower;
}
