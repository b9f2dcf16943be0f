/* imgpipe status and imgpipe requeue-failed: look at the Redis queues, and put failed jobs
 * back. */
#include "cli.h"

#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

static const char status_usage[] =
    "usage: imgpipe status [options] [QUEUE...]\n"
    "\n"
    "Shows, per QUEUE (default: every queue), the jobs waiting, in progress (by worker,\n"
    "with age), retries scheduled, done and failed (with the last errors), and the live\n"
    "workers.\n"
    "\n"
    "  -r, --redis URL           as for enqueue (default: $IMGPIPE_REDIS_URL, else\n"
    "                            " IMGPIPE_REDIS_DEFAULT_URL ")\n"
    "      --url URL             where the job of URL is, in each queue that knows it:\n"
    "                            waiting, in progress (by whom), scheduled, done, failed\n"
    "                            (exit 1 when no queue knows it)\n"
    "      --json                print JSON, for scripts\n"
    "  -h, --help                this help\n"
    "\n"
    "Exit status: 0 shown, 1 Redis unreachable (or --url unknown), 2 usage error.\n";

static const char purge_usage[] =
    "usage: imgpipe purge [options] QUEUE...\n"
    "\n"
    "Empties each QUEUE: its waiting jobs and scheduled retries are dropped (and may be\n"
    "queued again); jobs in hand finish; done and failed stay counted.\n"
    "\n"
    "  -r, --redis URL           as for enqueue\n"
    "  -h, --help                this help\n";

static const char requeue_usage[] =
    "usage: imgpipe requeue-failed [options] [QUEUE...]\n"
    "\n"
    "Puts every job of the failed list of each QUEUE (default: default) back on the queue,\n"
    "with its retries counted afresh.\n"
    "\n"
    "  -r, --redis URL           as for enqueue\n"
    "  -h, --help                this help\n";

enum { OPT_JSON = 256, OPT_URL };

static const struct option longopts[] = {{"redis", required_argument, NULL, 'r'},
                                         {"json", no_argument, NULL, OPT_JSON},
                                         {"url", required_argument, NULL, OPT_URL},
                                         {"help", no_argument, NULL, 'h'},
                                         {0, 0, 0, 0}};

/* Parses the options of the commands (json and job NULL where a command has no such
 * option); -1 to go on, else the exit code. */
static int parse(int argc, char **argv, const char *usage, const char **url, int *json,
                 const char **job)
{
    int c;
    while ((c = getopt_long(argc, argv, "r:h", longopts, NULL)) != -1) {
        if (c == 'r') {
            *url = optarg;
        } else if (c == OPT_JSON && json) {
            *json = 1;
        } else if (c == OPT_URL && job) {
            *job = optarg;
        } else if (c == 'h') {
            fputs(usage, stdout);
            return CLI_EXIT_OK;
        } else {
            fputs(usage, stderr);
            return CLI_EXIT_USAGE;
        }
    }
    return -1;
}

static void print_held(json_t *held)
{
    size_t i;
    json_t *h;
    json_array_foreach(held, i, h)
    {
        printf("    held by %s for %.1f s (delivery %lld): %s\n",
               json_string_value(json_object_get(h, "worker")),
               (double)json_integer_value(json_object_get(h, "age_ms")) / 1000.0,
               (long long)json_integer_value(json_object_get(h, "deliveries")),
               json_string_value(json_object_get(h, "url")));
    }
}

static void print_failures(json_t *failures)
{
    size_t i;
    json_t *f;
    json_array_foreach(failures, i, f)
    {
        printf("    failed %s: %s\n", json_string_value(json_object_get(f, "url")),
               json_string_value(json_object_get(f, "error")));
    }
}

static long long num(json_t *o, const char *key)
{
    return (long long)json_integer_value(json_object_get(o, key));
}

static void print_text(json_t *doc)
{
    size_t i;
    json_t *q, *w;
    json_array_foreach(json_object_get(doc, "queues"), i, q)
    {
        printf("queue %s: %lld waiting, %lld in progress, %lld scheduled, %lld done, %lld failed, "
               "%lld retried\n",
               json_string_value(json_object_get(q, "name")), num(q, "waiting"),
               num(q, "in_progress"), num(q, "scheduled"), num(q, "done"), num(q, "failed"),
               num(q, "retried"));
        if (num(q, "refused"))
            printf("    %lld outcomes refused (their workers had lost the job to another)\n",
                   num(q, "refused"));
        print_held(json_object_get(q, "held"));
        print_failures(json_object_get(q, "failures"));
    }
    json_t *workers = json_object_get(doc, "workers");
    printf("%zu live workers\n", json_array_size(workers));
    json_array_foreach(workers, i, w)
    {
        printf("  %s (host %s, pid %lld, queues %s): %lld done, %lld failed, %lld in flight, "
               "heartbeat %.1f s ago\n",
               json_string_value(json_object_get(w, "name")),
               json_string_value(json_object_get(w, "host")), num(w, "pid"),
               json_string_value(json_object_get(w, "queues")), num(w, "done"), num(w, "failed"),
               num(w, "in_flight"), (double)num(w, "heartbeat_age_ms") / 1000.0);
    }
}

static void print_job(json_t *j)
{
    printf("queue %s: %s is %s", json_string_value(json_object_get(j, "queue")),
           json_string_value(json_object_get(j, "url")),
           json_string_value(json_object_get(j, "state")));
    if (json_object_get(j, "worker"))
        printf(" (held by %s for %.1f s)", json_string_value(json_object_get(j, "worker")),
               (double)num(j, "age_ms") / 1000.0);
    if (json_object_get(j, "name"))
        printf(", as %s, attempt %lld", json_string_value(json_object_get(j, "name")),
               num(j, "attempt") + 1);
    if (json_object_get(j, "error"))
        printf(": %s", json_string_value(json_object_get(j, "error")));
    putchar('\n');
}

/* status --url: 0 when a queue knows the URL, 1 when none does. */
static int show_job(const char *text, int json, const char *job)
{
    json_t *doc = json_loads(text, 0, NULL), *j;
    size_t i, n = json_array_size(json_object_get(doc, "jobs"));
    if (json)
        printf("%s\n", text);
    else
        json_array_foreach(json_object_get(doc, "jobs"), i, j) print_job(j);
    if (!n && !json)
        printf("no queue knows %s\n", job);
    json_decref(doc);
    return n ? CLI_EXIT_OK : CLI_EXIT_FAILED;
}

int cmd_status(int argc, char **argv)
{
    const char *url = NULL, *job = NULL;
    int json = 0, rc = parse(argc, argv, status_usage, &url, &json, &job);
    if (rc >= 0)
        return rc;
    signal(SIGPIPE, SIG_IGN); /* a Redis that closes the socket: an error, not a kill */
    char err[IMGPIPE_ERRLEN], *text = NULL;
    imgpipe_queue *q;
    const char *const *queues = (const char *const *)(argv + optind);
    if (imgpipe_queue_open(&q, url, err) ||
        (job ? imgpipe_queue_lookup_json(q, queues, argc - optind, job, &text, err)
             : imgpipe_queue_status_json(q, queues, argc - optind, &text, err))) {
        cli_error("%s", err);
        if (q)
            imgpipe_queue_free(q);
        return CLI_EXIT_FAILED;
    }
    imgpipe_queue_free(q);
    if (job) {
        rc = show_job(text, json, job);
        free(text);
        return rc;
    }
    json_t *doc = json ? NULL : json_loads(text, 0, NULL);
    if (json)
        printf("%s\n", text);
    else if (doc)
        print_text(doc);
    json_decref(doc);
    free(text);
    return CLI_EXIT_OK;
}

int cmd_requeue_failed(int argc, char **argv)
{
    const char *url = NULL;
    int rc = parse(argc, argv, requeue_usage, &url, NULL, NULL);
    if (rc >= 0)
        return rc;
    signal(SIGPIPE, SIG_IGN);
    char err[IMGPIPE_ERRLEN];
    imgpipe_queue *q;
    if (imgpipe_queue_open(&q, url, err)) {
        cli_error("%s", err);
        return CLI_EXIT_FAILED;
    }
    static char *fallback[] = {"default"};
    char **queues = optind < argc ? argv + optind : fallback;
    int n = optind < argc ? argc - optind : 1;
    rc = CLI_EXIT_OK;
    for (int i = 0; i < n && rc == CLI_EXIT_OK; i++) {
        uint64_t count;
        if (imgpipe_queue_requeue_failed(q, queues[i], &count, err)) {
            cli_error("%s", err);
            rc = CLI_EXIT_FAILED;
        } else {
            printf("requeued %llu failed jobs on queue '%s'\n", (unsigned long long)count,
                   queues[i]);
        }
    }
    imgpipe_queue_free(q);
    return rc;
}

int cmd_purge(int argc, char **argv)
{
    const char *url = NULL;
    int rc = parse(argc, argv, purge_usage, &url, NULL, NULL);
    if (rc >= 0)
        return rc;
    if (optind >= argc) { /* no default: emptying a queue is asked for by name */
        fputs(purge_usage, stderr);
        return CLI_EXIT_USAGE;
    }
    signal(SIGPIPE, SIG_IGN);
    char err[IMGPIPE_ERRLEN];
    imgpipe_queue *q;
    if (imgpipe_queue_open(&q, url, err)) {
        cli_error("%s", err);
        return CLI_EXIT_FAILED;
    }
    rc = CLI_EXIT_OK;
    for (int i = optind; i < argc && rc == CLI_EXIT_OK; i++) {
        uint64_t count;
        if (imgpipe_queue_purge(q, argv[i], &count, err)) {
            cli_error("%s", err);
            rc = CLI_EXIT_FAILED;
        } else {
            printf("purged %llu jobs from queue '%s'\n", (unsigned long long)count, argv[i]);
        }
    }
    imgpipe_queue_free(q);
    return rc;
}
