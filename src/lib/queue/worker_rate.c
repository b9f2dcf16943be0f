/* --rate for a fleet: one start time per host kept in Redis, so every worker on every host
 * reserves its requests from the same schedule, and N workers together stay at the rate
 * one would keep. Without Redis (lost for a while), each worker keeps the rate alone. */
#include "queue/worker_int.h"
#include "net/hostrate.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* KEYS: the host's key. ARGV: the interval in µs. Reserves the host's next free start
 * (its "theoretical arrival time", GCRA with a burst of one) and returns the µs to wait
 * for it, on Redis's clock. The key expires once its time has passed. */
static const char reserve_script[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"
    "local tat = tonumber(redis.call('GET', KEYS[1]) or '0') or 0\n"
    "local start = math.max(tat, now)\n"
    "local nxt = start + tonumber(ARGV[1])\n"
    "redis.call('SET', KEYS[1], string.format('%.0f', nxt), 'PX',\n"
    "  math.floor((nxt - now) / 1000) + 1000)\n"
    "return math.floor(start - now)\n";

int imgpipe_wk_rate_load(struct worker *w, char *err)
{
    int rc = w->o->get.rate > 0 ? imgpipe_q_script_load(w->c, reserve_script, w->rate_sha, err)
                                : IMGPIPE_OK;
    if (rc)
        w->rate_sha[0] = '\0';
    return rc;
}

static double fleet_reserve(imgpipe_run *r, const char *url)
{
    struct worker *w = r->supply_ctx;
    if (!w->c) /* Redis away: our own share of the rate, not none */
        return imgpipe_hostrate_reserve(r->rate, url);
    size_t len;
    const char *host = imgpipe_url_host(url, &len);
    char key[IMGPIPE_Q_KEYLEN], interval[32];
    snprintf(key, sizeof(key), "%s%.*s", IMGPIPE_Q_RATE, (int)(len < 255 ? len : 255),
             host ? host : "");
    snprintf(interval, sizeof(interval), "%.0f", ceil(1e6 / w->o->get.rate));
    int sha = w->rate_sha[0] != '\0';
    const char *argv[] = {sha ? "EVALSHA" : "EVAL", sha ? w->rate_sha : reserve_script, "1", key,
                          interval};
    redisReply *rep = imgpipe_wk_command(w, 5, argv);
    double wait = rep && rep->type == REDIS_REPLY_INTEGER ? (double)rep->integer / 1e6 : -1;
    if (rep)
        freeReplyObject(rep);
    return wait >= 0 ? wait : imgpipe_hostrate_reserve(r->rate, url);
}

void imgpipe_wk_rate_setup(struct worker *w, imgpipe_run *r)
{
    if (w->o->get.rate <= 0)
        return;
    r->rate = imgpipe_hostrate_new(w->o->get.rate);
    r->reserve = fleet_reserve;
}
