/* A process's own counters at /metrics (worker and get --metrics-listen): fed by the item
 * callback, read by the server's threads, under one lock. */
#include "web/web.h"

#include <stdlib.h>
#include <string.h>

#define REASONS 16 /* -status for IMGPIPE_E* codes; the last slot takes any other */

static const double buckets[] = {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
#define NBUCKETS (sizeof(buckets) / sizeof(*buckets))

struct imgpipe_metrics {
    pthread_mutex_t lock;
    struct MHD_Daemon *mhd;
    uint64_t done, skipped, bytes, failed[REASONS];
    uint64_t le[NBUCKETS], count; /* job seconds: per bucket (not cumulative), and all */
    double sum;
};

void imgpipe_metrics_observe(imgpipe_metrics *m, const imgpipe_item *it)
{
    if (!m)
        return;
    pthread_mutex_lock(&m->lock);
    if (it->skipped) {
        m->skipped++;
    } else if (it->status == IMGPIPE_OK) {
        m->done++;
        m->bytes += it->bytes;
    } else {
        int r = -it->status;
        m->failed[r > 0 && r < REASONS - 1 ? r : REASONS - 1]++;
    }
    if (!it->skipped) {
        size_t b = 0;
        while (b < NBUCKETS && it->seconds > buckets[b])
            b++;
        if (b < NBUCKETS)
            m->le[b]++;
        m->count++;
        m->sum += it->seconds;
    }
    pthread_mutex_unlock(&m->lock);
}

static void histogram(imgpipe_buf *b, const imgpipe_metrics *m)
{
    const char *name = "imgpipe_job_seconds";
    char le[32];
    uint64_t cum = 0;
    imgpipe_prom_head(b, name, "histogram", "Seconds from a job's first transfer to its outcome.");
    for (size_t i = 0; i < NBUCKETS; i++) {
        cum += m->le[i];
        snprintf(le, sizeof(le), "%g", buckets[i]);
        imgpipe_prom_sample(b, "imgpipe_job_seconds_bucket", "le", le, NULL, NULL, (double)cum);
    }
    imgpipe_prom_sample(b, "imgpipe_job_seconds_bucket", "le", "+Inf", NULL, NULL,
                        (double)m->count);
    imgpipe_prom_sample(b, "imgpipe_job_seconds_sum", NULL, NULL, NULL, NULL, m->sum);
    imgpipe_prom_sample(b, "imgpipe_job_seconds_count", NULL, NULL, NULL, NULL, (double)m->count);
}

static char *render(imgpipe_metrics *m)
{
    imgpipe_buf b = {0};
    pthread_mutex_lock(&m->lock);
    imgpipe_prom_head(&b, "imgpipe_jobs_done_total", "counter", "Jobs done by this process.");
    imgpipe_prom_sample(&b, "imgpipe_jobs_done_total", NULL, NULL, NULL, NULL, (double)m->done);
    imgpipe_prom_head(&b, "imgpipe_jobs_skipped_total", "counter",
                      "Jobs skipped: done by an earlier run.");
    imgpipe_prom_sample(&b, "imgpipe_jobs_skipped_total", NULL, NULL, NULL, NULL,
                        (double)m->skipped);
    imgpipe_prom_head(&b, "imgpipe_jobs_failed_total", "counter", "Jobs failed, by reason.");
    for (int r = 1; r < REASONS; r++)
        if (m->failed[r])
            imgpipe_prom_sample(&b, "imgpipe_jobs_failed_total", "reason",
                                r < REASONS - 1 ? imgpipe_strerror(-r) : "other", NULL, NULL,
                                (double)m->failed[r]);
    imgpipe_prom_head(&b, "imgpipe_bytes_total", "counter", "Bytes of images stored.");
    imgpipe_prom_sample(&b, "imgpipe_bytes_total", NULL, NULL, NULL, NULL, (double)m->bytes);
    histogram(&b, m);
    pthread_mutex_unlock(&m->lock);
    return imgpipe_prom_finish(&b);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **con_cls)
{
    (void)version, (void)upload, (void)upload_size, (void)con_cls;
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return imgpipe_web_not_allowed(conn, "GET, HEAD");
    if (strcmp(url, "/metrics") != 0)
        return imgpipe_web_error(conn, 404, "only /metrics here");
    char *text = render(cls);
    return text ? imgpipe_web_respond(conn, 200, "text/plain; version=0.0.4; charset=utf-8", text,
                                      strlen(text), MHD_RESPMEM_MUST_FREE)
                : MHD_NO;
}

int imgpipe_metrics_start(imgpipe_metrics **out, const char *listen, char *err)
{
    imgpipe_metrics *m = calloc(1, sizeof(*m));
    char url[300];
    int loopback;
    *out = NULL;
    if (!m)
        return imgpipe_errf(err, IMGPIPE_ENOMEM, "out of memory");
    pthread_mutex_init(&m->lock, NULL);
    /* Counters only, nothing to change: any address the caller names is fine. */
    int rc = imgpipe_web_start(&m->mhd, listen, 1, handle, m, url, &loopback, err);
    if (rc) {
        imgpipe_metrics_free(m);
        return rc;
    }
    *out = m;
    return IMGPIPE_OK;
}

void imgpipe_metrics_free(imgpipe_metrics *m)
{
    if (!m)
        return;
    if (m->mhd)
        MHD_stop_daemon(m->mhd);
    pthread_mutex_destroy(&m->lock);
    free(m);
}
