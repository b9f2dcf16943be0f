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
    "Shows, per QUEUE (default: default), the jobs waiting, in progress (by worker, with\n"
    "age), done and failed (with the last errors), and the live workers.\n"
    "\n"
    "  -r, --redis URL           as for enqueue (default: $IMGPIPE_REDIS_URL, else\n"
    "                            " IMGPIPE_REDIS_DEFAULT_URL ")\n"
    "      --json                print JSON, for scripts\n"
    "  -h, --help                this help\n"
    "\n"
    "Exit status: 0 shown, 1 Redis unreachable, 2 usage error.\n";

static const char requeue_usage[] =
    "usage: imgpipe requeue-failed [options] [QUEUE...]\n"
    "\n"
    "Puts every job of the failed list of each QUEUE (default: default) back on the queue,\n"
    "with its retries counted afresh.\n"
    "\n"
    "  -r, --redis URL           as for enqueue\n"
    "  -h, --help                this help\n";

enum { OPT_JSON = 256 };

static const struct option longopts[] = {{"redis", required_argument, NULL, 'r'},
                                         {"json", no_argument, NULL, OPT_JSON},
                                         {"help", no_argument, NULL, 'h'},
                                         {0, 0, 0, 0}};

/* Parses the options of both commands; -1 to go on, else the exit code. */
static int parse(int argc, char **argv, const char *usage, const char **url, int *json)
{
    int c;
    while ((c = getopt_long(argc, argv, "r:h", longopts, NULL)) != -1) {
        if (c == 'r') {
            *url = optarg;
        } else if (c == OPT_JSON && json) {
            *json = 1;
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
        printf("queue %s: %lld waiting, %lld in progress, %lld done, %lld failed, %lld retried\n",
               json_string_value(json_object_get(q, "name")), num(q, "waiting"),
               num(q, "in_progress"), num(q, "done"), num(q, "failed"), num(q, "retried"));
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

int cmd_status(int argc, char **argv)
{
    const char *url = NULL;
    int json = 0, rc = parse(argc, argv, status_usage, &url, &json);
    if (rc >= 0)
        return rc;
    signal(SIGPIPE, SIG_IGN); /* a Redis that closes the socket: an error, not a kill */
    char err[IMGPIPE_ERRLEN], *text = NULL;
    imgpipe_queue *q;
    if (imgpipe_queue_open(&q, url, err) ||
        imgpipe_queue_status_json(q, (const char *const *)(argv + optind), argc - optind, &text,
                                  err)) {
        cli_error("%s", err);
        if (q)
            imgpipe_queue_free(q);
        return CLI_EXIT_FAILED;
    }
    imgpipe_queue_free(q);
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
    int rc = parse(argc, argv, requeue_usage, &url, NULL);
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
