/* The worker's name and heartbeat: a thread with its own connection keeps
 * imgpipe:w:<name> alive (TTL claim_after), so others claim our entries only once we are
 * gone. A name whose heartbeat is alive belongs to that worker: a second one is refused. */
#include "queue/worker_int.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* On Redis's clock, so ages read the same from every host. ARGV[9] non-empty takes the
 * name: when the key belongs to another worker (another host or pid; ARGV[9] may name the
 * pid of a dead worker of this host, which is replaced), nothing is written and the
 * holder's {host, pid, heartbeat age in ms} is returned. */
static const char beat_script[] =
    "local t = redis.call('TIME')\n"
    "local now = t[1] * 1000 + math.floor(t[2] / 1000)\n"
    "if ARGV[9] ~= '' then\n"
    "  local cur = redis.call('HMGET', KEYS[1], 'host', 'pid', 'beat')\n"
    "  if cur[1] and not (cur[1] == ARGV[1] and (cur[2] == ARGV[2] or cur[2] == ARGV[9])) then\n"
    "    return {cur[1], cur[2] or '', tostring(now - (tonumber(cur[3]) or now))}\n"
    "  end\n"
    "end\n"
    "redis.call('HSET', KEYS[1], 'host', ARGV[1], 'pid', ARGV[2], 'queues', ARGV[3],\n"
    "  'done', ARGV[4], 'failed', ARGV[5], 'in_flight', ARGV[6], 'beat', now)\n"
    "redis.call('PEXPIRE', KEYS[1], ARGV[7])\n"
    "redis.call('SADD', KEYS[2], ARGV[8])\n"
    "return 1\n";

/* How often the heartbeat is refreshed: claim_after / 3, from 100 ms to 10 s. */
static long beat_every_ms(const struct worker *w)
{
    return w->claim_ms / 3 < 100 ? 100 : w->claim_ms / 3 > 10000 ? 10000 : w->claim_ms / 3;
}

/* One beat; claim as for ARGV[9]. *holder is the script's reply when the name is taken. */
static int beat(struct worker *w, const char *claim, redisReply **holder, char *err)
{
    char key[IMGPIPE_Q_KEYLEN], pid[16], done[24], failed[24], inflight[16], ttl[24], queues[1024];
    if (!w->beat_c && imgpipe_redis_connect(w->url, 1000, &w->beat_c, err))
        return IMGPIPE_ENET;
    snprintf(key, sizeof(key), "%s%s", IMGPIPE_Q_WORKER, w->name);
    snprintf(pid, sizeof(pid), "%ld", (long)getpid());
    pthread_mutex_lock(&w->lock);
    snprintf(done, sizeof(done), "%llu", w->done);
    snprintf(failed, sizeof(failed), "%llu", w->failed);
    snprintf(inflight, sizeof(inflight), "%d", w->inflight);
    pthread_mutex_unlock(&w->lock);
    /* claim_after, but at least three beats: under 0.3 s a heartbeat of claim_after would
     * lapse between beats, and live workers would claim each other's jobs. */
    long every = beat_every_ms(w);
    snprintf(ttl, sizeof(ttl), "%ld", w->claim_ms > 3 * every ? w->claim_ms : 3 * every);
    size_t n = 0;
    queues[0] = '\0';
    for (int i = 0; i < w->nqueues && n < sizeof(queues); i++)
        n += (size_t)snprintf(queues + n, sizeof(queues) - n, "%s%s", i ? " " : "", w->queues[i]);
    const char *argv[] = {"EVAL",   beat_script, "2",     key,  IMGPIPE_Q_WORKERS,
                          w->host,  pid,         queues,  done, failed,
                          inflight, ttl,         w->name, claim};
    redisReply *r = imgpipe_q_cmd(w->beat_c, err, 14, argv);
    if (!r && w->beat_c->err) {
        redisFree(w->beat_c);
        w->beat_c = NULL;
    }
    if (!r)
        return IMGPIPE_ENET;
    if (r->type == REDIS_REPLY_ARRAY && holder) {
        *holder = r;
        return IMGPIPE_OK;
    }
    int ok = r->type == REDIS_REPLY_INTEGER;
    freeReplyObject(r);
    return ok ? IMGPIPE_OK
              : imgpipe_errf(err, IMGPIPE_EAPI, "Redis answered the heartbeat unexpectedly");
}

/* 1 when the holder is a worker of this host whose process is gone (killed with -9, say):
 * its name may be taken over at once. */
static int holder_dead_here(const struct worker *w, const redisReply *h, long *pid)
{
    const redisReply *host = imgpipe_q_elem(h, 0, REDIS_REPLY_STRING);
    const redisReply *p = imgpipe_q_elem(h, 1, REDIS_REPLY_STRING);
    char *end;
    *pid = p ? strtol(p->str, &end, 10) : 0;
    if (!host || strcmp(host->str, w->host) != 0 || !p || *end || *pid <= 0)
        return 0;
    return kill((pid_t)*pid, 0) != 0 && errno == ESRCH;
}

static int name_taken(const struct worker *w, const redisReply *h, char *err)
{
    const redisReply *host = imgpipe_q_elem(h, 0, REDIS_REPLY_STRING);
    const redisReply *pid = imgpipe_q_elem(h, 1, REDIS_REPLY_STRING);
    const redisReply *age = imgpipe_q_elem(h, 2, REDIS_REPLY_STRING);
    return imgpipe_errf(err, IMGPIPE_ECONFIG,
                        "worker name '%s' is in use by a live worker (host %s, pid %s, heartbeat "
                        "%.1f s ago): give this one another name, or wait until that heartbeat "
                        "expires (claim-after %.0f s after its last beat)",
                        w->name, host ? host->str : "?", pid ? pid->str : "?",
                        age ? atof(age->str) / 1000.0 : 0.0, (double)w->claim_ms / 1000.0);
}

int imgpipe_wk_claim_name(struct worker *w, char *err)
{
    redisReply *holder = NULL;
    int rc = beat(w, "-", &holder, err);
    long pid;
    if (rc == IMGPIPE_OK && holder && holder_dead_here(w, holder, &pid)) {
        char dead[24];
        snprintf(dead, sizeof(dead), "%ld", pid);
        freeReplyObject(holder);
        holder = NULL;
        rc = beat(w, dead, &holder, err);
    }
    if (rc == IMGPIPE_OK && holder)
        rc = name_taken(w, holder, err);
    if (holder)
        freeReplyObject(holder);
    return rc;
}

static void beat_wait(struct worker *w, long ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts); /* the clock of w->wake (worker_init) */
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L)
        ts.tv_sec++, ts.tv_nsec -= 1000000000L;
    pthread_cond_timedwait(&w->wake, &w->lock, &ts);
}

/* Beats every claim_after / 3, so one late beat never lets the heartbeat expire. */
static void *heartbeat_main(void *arg)
{
    struct worker *w = arg;
    char err[IMGPIPE_ERRLEN];
    long every = beat_every_ms(w);
    pthread_mutex_lock(&w->lock);
    while (!w->stopping) {
        beat_wait(w, every);
        if (w->stopping)
            break;
        pthread_mutex_unlock(&w->lock);
        beat(w, "", NULL, err);
        pthread_mutex_lock(&w->lock);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

int imgpipe_wk_heartbeat_start(struct worker *w, char *err)
{
    if (pthread_create(&w->beater, NULL, heartbeat_main, w))
        return imgpipe_errf(err, IMGPIPE_ENOMEM, "cannot start the heartbeat thread");
    return IMGPIPE_OK;
}

/* Gone for good: others may claim what we still hold (nothing, after a clean stop). */
void imgpipe_wk_heartbeat_stop(struct worker *w)
{
    pthread_mutex_lock(&w->lock);
    w->stopping = 1;
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->beater, NULL);
    redisContext *c = w->beat_c ? w->beat_c : w->c;
    if (!c)
        return;
    redisReply *r = redisCommand(c, "DEL %s%s", IMGPIPE_Q_WORKER, w->name);
    if (r)
        freeReplyObject(r);
    r = redisCommand(c, "SREM %s %s", IMGPIPE_Q_WORKERS, w->name);
    if (r)
        freeReplyObject(r);
}
