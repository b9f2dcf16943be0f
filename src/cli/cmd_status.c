/* imgpipe status and imgpipe requeue-failed: look at the Redis queues, and put failed jobs
 * back. */
#include "cli.h"
#include "options.h"

#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

static const char redis_help[] =
    "as for enqueue (default: $IMGPIPE_REDIS_URL, else\n" IMGPIPE_REDIS_DEFAULT_URL ")";

enum { OPT_JSON = 256, OPT_URL };

static const struct cli_option status_options[] = {
    {"redis", 'r', "URL", redis_help, 'r', 0, 0},
    {"queue", 'Q', "QUEUE", "a queue to show, as a QUEUE argument; repeat for more", 'Q', 0, 0},
    {"url", 0, "URL",
     "where the job of URL is, in each queue that knows it:\n"
     "waiting, in progress (by whom), scheduled, done, failed\n"
     "(exit 1 when no queue knows it)",
     OPT_URL, 0, 0},
    {"json", 0, NULL, "print JSON, for scripts", OPT_JSON, 0, 0},
    {"help", 'h', NULL, "this help", 'h', 0, 0},
};

const struct cli_command cli_status_command = {
    "status", "[options] [QUEUE...]",
    "Shows, per QUEUE (default: every queue), the jobs waiting, in progress (by worker,\n"
    "with age), retries scheduled, done and failed (with the last errors), and the live\n"
    "workers. Bytes that are not UTF-8 show as U+FFFD; control characters as \\xHH.\n",
    "Exit status: 0 shown, 1 Redis unreachable (or --url unknown), 2 usage error.\n",
    CLI_OPTIONS(status_options)};

static const struct cli_option requeue_options[] = {
    {"redis", 'r', "URL", "as for enqueue", 'r', 0, 0},
    {"queue", 'Q', "QUEUE", "a queue to requeue, as a QUEUE argument; repeat for more", 'Q', 0, 0},
    {"help", 'h', NULL, "this help", 'h', 0, 0},
};

const struct cli_command cli_requeue_command = {
    "requeue-failed", "[options] [QUEUE...]",
    "Puts every job of the failed list of each QUEUE (default: default) back on the queue,\n"
    "with its retries counted afresh.\n",
    NULL, CLI_OPTIONS(requeue_options)};

static const struct cli_option purge_options[] = {
    {"redis", 'r', "URL", "as for enqueue", 'r', 0, 0},
    {"queue", 'Q', "QUEUE", "a queue to empty, as a QUEUE argument; repeat for more", 'Q', 0, 0},
    {"help", 'h', NULL, "this help", 'h', 0, 0},
};

const struct cli_command cli_purge_command = {
    "purge", "[options] QUEUE...",
    "Empties each QUEUE: its waiting jobs and scheduled retries are dropped (and may be\n"
    "queued again); jobs in hand finish; done and failed stay counted.\n",
    NULL, CLI_OPTIONS(purge_options)};

/* The options of both commands, then the queues: -Q's, then the QUEUE arguments, in *queues
 * (argc + 1 entries, to free). -1 to go on, else the exit code. */
static int parse(const struct cli_command *cmd, int argc, char **argv, const char **url, int *json,
                 const char **job, const char ***queues, int *nqueues)
{
    int c;
    *nqueues = 0;
    if (!(*queues = calloc((size_t)argc + 1, sizeof(**queues)))) {
        cli_error("out of memory");
        return CLI_EXIT_FAILED;
    }
    while ((c = cli_getopt(cmd, argc, argv)) != -1) {
        if (c == 'r') {
            if (!(*url = cli_hide_password(optarg)))
                return CLI_EXIT_FAILED;
        } else if (c == 'Q') {
            (*queues)[(*nqueues)++] = optarg;
        } else if (c == OPT_JSON && json) {
            *json = 1;
        } else if (c == OPT_URL && job) {
            *job = optarg;
        } else if (c == 'h') {
            cli_print_help(cmd, stdout);
            return CLI_EXIT_OK;
        } else {
            return CLI_EXIT_USAGE;
        }
    }
    for (int i = optind; i < argc; i++)
        (*queues)[(*nqueues)++] = argv[i];
    return cli_check_queue_names(*queues, *nqueues) ? CLI_EXIT_USAGE : -1;
}

static void put_field(json_t *o, const char *key)
{
    cli_put_text(stdout, json_string_value(json_object_get(o, key)));
}

static long long num(json_t *o, const char *key)
{
    return (long long)json_integer_value(json_object_get(o, key));
}

static void print_held(json_t *held)
{
    size_t i;
    json_t *h;
    json_array_foreach(held, i, h)
    {
        fputs("    held by ", stdout);
        put_field(h, "worker");
        printf(" for %.1f s (delivery %lld): ", (double)num(h, "age_ms") / 1000.0,
               num(h, "deliveries"));
        put_field(h, "url");
        putchar('\n');
    }
}

static void print_failures(json_t *failures)
{
    size_t i;
    json_t *f;
    json_array_foreach(failures, i, f)
    {
        fputs("    failed ", stdout);
        put_field(f, "url");
        fputs(": ", stdout);
        put_field(f, "error");
        putchar('\n');
    }
}

static void print_queue(json_t *q)
{
    fputs("queue ", stdout);
    put_field(q, "name");
    printf(": %lld waiting, %lld in progress, %lld scheduled, %lld done, %lld failed, "
           "%lld retried\n",
           num(q, "waiting"), num(q, "in_progress"), num(q, "scheduled"), num(q, "done"),
           num(q, "failed"), num(q, "retried"));
    if (num(q, "refused"))
        printf("    %lld outcomes refused (their workers had lost the job to another)\n",
               num(q, "refused"));
    print_held(json_object_get(q, "held"));
    print_failures(json_object_get(q, "failures"));
}

static void print_worker(json_t *w)
{
    fputs("  ", stdout);
    put_field(w, "name");
    fputs(" (host ", stdout);
    put_field(w, "host");
    printf(", pid %lld, queues ", num(w, "pid"));
    put_field(w, "queues");
    printf("): %lld done, %lld failed, %lld in flight, heartbeat %.1f s ago\n", num(w, "done"),
           num(w, "failed"), num(w, "in_flight"), (double)num(w, "heartbeat_age_ms") / 1000.0);
}

static void print_text(json_t *doc)
{
    size_t i;
    json_t *q, *w;
    json_array_foreach(json_object_get(doc, "queues"), i, q) print_queue(q);
    json_t *workers = json_object_get(doc, "workers");
    printf("%zu live workers\n", json_array_size(workers));
    json_array_foreach(workers, i, w) print_worker(w);
}

static void print_job(json_t *j)
{
    fputs("queue ", stdout);
    put_field(j, "queue");
    fputs(": ", stdout);
    put_field(j, "url");
    fputs(" is ", stdout);
    put_field(j, "state");
    if (json_object_get(j, "worker")) {
        fputs(" (held by ", stdout);
        put_field(j, "worker");
        printf(" for %.1f s)", (double)num(j, "age_ms") / 1000.0);
    }
    if (json_object_get(j, "name")) {
        fputs(", as ", stdout);
        put_field(j, "name");
        printf(", attempt %lld", num(j, "attempt") + 1);
    }
    if (json_object_get(j, "error")) {
        fputs(": ", stdout);
        put_field(j, "error");
    }
    putchar('\n');
}

/* status --url: 0 when a queue knows the URL, 1 when none does. */
static int show_job(const char *text, int json)
{
    json_t *doc = json_loads(text, 0, NULL), *j;
    size_t i, n = json_array_size(json_object_get(doc, "jobs"));
    if (json)
        printf("%s\n", text);
    else
        json_array_foreach(json_object_get(doc, "jobs"), i, j) print_job(j);
    if (!n && !json) {
        fputs("no queue knows ", stdout);
        put_field(doc, "url"); /* the library's copy of job: its password reads *** */
        putchar('\n');
    }
    json_decref(doc);
    return n ? CLI_EXIT_OK : CLI_EXIT_FAILED;
}

static int show(const char *url, int json, const char *job, const char **queues, int n);

int cmd_status(int argc, char **argv)
{
    const char *url = NULL, *job = NULL, **queues;
    int json = 0, n, rc = parse(&cli_status_command, argc, argv, &url, &json, &job, &queues, &n);
    if (rc < 0)
        rc = show(url, json, job, queues, n);
    free(queues);
    return rc;
}

static int show(const char *url, int json, const char *job, const char **queues, int n)
{
    signal(SIGPIPE, SIG_IGN); /* a Redis that closes the socket: an error, not a kill */
    char err[IMGPIPE_ERRLEN], *text = NULL;
    imgpipe_queue *q;
    if (imgpipe_queue_open(&q, url, err) ||
        (job ? imgpipe_queue_lookup_json(q, queues, n, job, &text, err)
             : imgpipe_queue_status_json(q, queues, n, &text, err))) {
        cli_error("%s", err);
        if (q)
            imgpipe_queue_free(q);
        return CLI_EXIT_FAILED;
    }
    imgpipe_queue_free(q);
    if (job) {
        int rc = show_job(text, json);
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

static int requeue(const char *url, const char **queues, int n);

int cmd_requeue_failed(int argc, char **argv)
{
    const char *url = NULL, **queues;
    int n, rc = parse(&cli_requeue_command, argc, argv, &url, NULL, NULL, &queues, &n);
    if (rc < 0)
        rc = requeue(url, queues, n);
    free(queues);
    return rc;
}

static int requeue(const char *url, const char **queues, int n)
{
    int rc;
    signal(SIGPIPE, SIG_IGN);
    char err[IMGPIPE_ERRLEN];
    imgpipe_queue *q;
    if (imgpipe_queue_open(&q, url, err)) {
        cli_error("%s", err);
        return CLI_EXIT_FAILED;
    }
    static const char *fallback[] = {"default"};
    if (n == 0)
        queues = fallback, n = 1;
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

static int purge(const char *url, const char **queues, int n);

int cmd_purge(int argc, char **argv)
{
    const char *url = NULL, **queues;
    int n, rc = parse(&cli_purge_command, argc, argv, &url, NULL, NULL, &queues, &n);
    if (rc < 0 && n == 0) { /* no default: emptying a queue is asked for by name */
        cli_error("purge: name the queues to empty; try 'imgpipe purge --help'");
        rc = CLI_EXIT_USAGE;
    }
    if (rc < 0)
        rc = purge(url, queues, n);
    free(queues);
    return rc;
}

static int purge(const char *url, const char **queues, int n)
{
    signal(SIGPIPE, SIG_IGN);
    char err[IMGPIPE_ERRLEN];
    imgpipe_queue *q;
    if (imgpipe_queue_open(&q, url, err)) {
        cli_error("%s", err);
        return CLI_EXIT_FAILED;
    }
    int rc = CLI_EXIT_OK;
    for (int i = 0; i < n && rc == CLI_EXIT_OK; i++) {
        uint64_t count;
        if (imgpipe_queue_purge(q, queues[i], &count, err)) {
            cli_error("%s", err);
            rc = CLI_EXIT_FAILED;
        } else {
            printf("purged %llu jobs from queue '%s'\n", (unsigned long long)count, queues[i]);
        }
    }
    imgpipe_queue_free(q);
    return rc;
}
