/* The dashboard's /metrics: the queues and workers of a state document (state.c), so
 * Prometheus reads the same numbers as the page and `imgpipe status --json`. */
#include "web/web.h"

#include <string.h>

static double num(const json_t *o, const char *key)
{
    return (double)json_integer_value(json_object_get(o, key));
}

struct family {
    const char *name, *type, *field, *help;
};

static const struct family queue_families[] = {
    {"imgpipe_queue_waiting", "gauge", "waiting", "Jobs waiting in the queue."},
    {"imgpipe_queue_in_progress", "gauge", "in_progress", "Jobs held by a worker."},
    {"imgpipe_queue_failed", "gauge", "failed", "Jobs in the queue's failed list."},
    {"imgpipe_queue_done_total", "counter", "done", "Jobs done since the queue was created."},
    {"imgpipe_queue_retried_total", "counter", "retried", "Transient failures retried."},
    {"imgpipe_queue_scheduled", "gauge", "scheduled", "Retries waiting for their time."},
    {"imgpipe_queue_refused_total", "counter", "refused",
     "Outcomes refused: their worker had lost the job to another."},
};

static const struct family worker_families[] = {
    {"imgpipe_worker_in_flight", "gauge", "in_flight", "Jobs in the worker's hands."},
    {"imgpipe_worker_done_total", "counter", "done", "Jobs the worker did (as of its beat)."},
    {"imgpipe_worker_failed_total", "counter", "failed", "Jobs that failed on the worker."},
};

static void queues(imgpipe_buf *b, const json_t *list)
{
    size_t i, j;
    const json_t *q, *g;
    for (size_t f = 0; f < sizeof(queue_families) / sizeof(*queue_families); f++) {
        const struct family *fam = &queue_families[f];
        imgpipe_prom_head(b, fam->name, fam->type, fam->help);
        json_array_foreach(list, i, q) imgpipe_prom_sample(
            b, fam->name, "queue", json_string_value(json_object_get(q, "name")), NULL, NULL,
            num(q, fam->field));
    }
    imgpipe_prom_head(b, "imgpipe_queue_failed_by_reason", "gauge",
                      "Failures by reason among the latest 500 of the failed list.");
    json_array_foreach(list, i, q)
    {
        json_array_foreach(json_object_get(q, "reasons"), j, g)
            imgpipe_prom_sample(b, "imgpipe_queue_failed_by_reason", "queue",
                                json_string_value(json_object_get(q, "name")), "reason",
                                json_string_value(json_object_get(g, "reason")), num(g, "count"));
    }
}

static void workers(imgpipe_buf *b, const json_t *list)
{
    size_t i;
    const json_t *w;
    imgpipe_prom_head(b, "imgpipe_worker_up", "gauge", "1 for each worker with a live heartbeat.");
    json_array_foreach(list, i, w)
        imgpipe_prom_sample(b, "imgpipe_worker_up", "worker",
                            json_string_value(json_object_get(w, "name")), NULL, NULL, 1);
    imgpipe_prom_head(b, "imgpipe_worker_heartbeat_age_seconds", "gauge",
                      "Time since the worker's last heartbeat.");
    json_array_foreach(list, i, w)
        imgpipe_prom_sample(b, "imgpipe_worker_heartbeat_age_seconds", "worker",
                            json_string_value(json_object_get(w, "name")), NULL, NULL,
                            num(w, "heartbeat_age_ms") / 1000.0);
    for (size_t f = 0; f < sizeof(worker_families) / sizeof(*worker_families); f++) {
        const struct family *fam = &worker_families[f];
        imgpipe_prom_head(b, fam->name, fam->type, fam->help);
        json_array_foreach(list, i, w) imgpipe_prom_sample(
            b, fam->name, "worker", json_string_value(json_object_get(w, "name")), NULL, NULL,
            num(w, fam->field));
    }
}

char *imgpipe_web_metrics(const json_t *state)
{
    imgpipe_buf b = {0};
    imgpipe_prom_head(&b, "imgpipe_redis_up", "gauge", "1 when the dashboard reached Redis.");
    imgpipe_prom_sample(&b, "imgpipe_redis_up", NULL, NULL, NULL, NULL, state ? 1 : 0);
    if (state) {
        queues(&b, json_object_get(state, "queues"));
        workers(&b, json_object_get(state, "workers"));
    }
    return imgpipe_prom_finish(&b);
}
