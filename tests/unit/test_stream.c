/* A body handed from the transfer loop to the CPU pool (run/stream.h): the file holds the
 * pieces in the order they came, the digest is the whole body's, a slow or paused body
 * is on disk before it ends, a write the disk refuses is reported, and a stop drops what was queued
 * and leaves no file behind. */
#include "testutil.h"
#include "common/clock.h"
#include "common/sha256.h"
#include "run/stream.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* What the end callback saw, for the test's thread. */
struct ended {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int done;
    int write_errno;
    uint64_t bytes;
    char sha[65];
    unsigned char *file; /* the temporary file's content */
    size_t file_len;
};

static void on_end(imgpipe_stream *st, void *arg)
{
    struct ended *e = arg;
    struct stat sb;
    e->write_errno = st->spool.write_errno;
    e->bytes = st->spool.bytes;
    imgpipe_spool_digest(&st->spool, e->sha);
    if (st->spool.tmp.fd >= 0 && fstat(st->spool.tmp.fd, &sb) == 0) {
        e->file_len = (size_t)sb.st_size;
        e->file = malloc(e->file_len + 1);
        e->file_len = (size_t)pread(st->spool.tmp.fd, e->file, e->file_len, 0);
    }
    pthread_mutex_lock(&e->lock);
    e->done = 1;
    pthread_cond_signal(&e->cond);
    pthread_mutex_unlock(&e->lock);
}

static void ended_init(struct ended *e)
{
    memset(e, 0, sizeof(*e));
    pthread_mutex_init(&e->lock, NULL);
    pthread_cond_init(&e->cond, NULL);
}

static void ended_free(struct ended *e)
{
    free(e->file);
    pthread_cond_destroy(&e->cond);
    pthread_mutex_destroy(&e->lock);
}

static void wait_end(struct ended *e)
{
    pthread_mutex_lock(&e->lock);
    while (!e->done)
        pthread_cond_wait(&e->cond, &e->lock);
    pthread_mutex_unlock(&e->lock);
}

struct fixture {
    char *dir;
    int dirfd;
    imgpipe_workpool *pool;
    imgpipe_stream_hub *hub;
    imgpipe_stream st;
    imgpipe_transfer tr;
    struct ended end;
};

static void setup(struct fixture *f, int max_queued)
{
    memset(f, 0, sizeof(*f));
    f->dir = testutil_tmpdir();
    f->dirfd = open(f->dir, O_RDONLY | O_DIRECTORY);
    assert_true(f->dirfd >= 0);
    assert_non_null(f->pool = imgpipe_workpool_new(2));
    assert_non_null(f->hub = imgpipe_stream_hub_new(f->pool, max_queued));
    imgpipe_stream_init(&f->st, f->hub);
    ended_init(&f->end);
    imgpipe_stream_begin(&f->st, f->dirfd, &f->tr);
}

static void teardown(struct fixture *f)
{
    imgpipe_workpool_free(f->pool);
    imgpipe_stream_free(&f->st);
    imgpipe_stream_hub_free(f->hub);
    ended_free(&f->end);
    close(f->dirfd);
    testutil_rmtree(f->dir);
    free(f->dir);
}

/* Temporary files in dir, and the size of the largest. */
static int tmp_files(const char *dir, off_t *size)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    *size = 0;
    while ((e = readdir(d))) {
        struct stat sb;
        if (strncmp(e->d_name, IMGPIPE_TMP_PREFIX, strlen(IMGPIPE_TMP_PREFIX)) != 0 ||
            fstatat(dirfd(d), e->d_name, &sb, 0) != 0)
            continue;
        n++;
        *size = sb.st_size > *size ? sb.st_size : *size;
    }
    closedir(d);
    return n;
}

static void sleep_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

/* The largest temporary file in dir once it reaches want bytes, or after 2 s for the pool. */
static off_t wait_tmp_size(const char *dir, off_t want)
{
    off_t size = 0;
    for (int i = 0; i < 200 && size < want; i++) {
        tmp_files(dir, &size);
        sleep_ms(10);
    }
    return size;
}

static unsigned char *random_body(size_t len, unsigned seed)
{
    unsigned char *b = malloc(len);
    assert_non_null(b);
    for (size_t i = 0; i < len; i++) {
        seed = seed * 1103515245u + 12345u;
        b[i] = (unsigned char)(seed >> 16);
    }
    return b;
}

/* Pieces of every size from 1 byte to more than two blocks, through a queue of one block:
 * the loop waits for the pool, and the file and digest are the body's, in order. */
static void test_order_and_digest(void **state)
{
    (void)state;
    struct fixture f;
    setup(&f, 1);
    size_t len = 3u << 20, sizes[] = {1, 7, 4096, 65536, 131071, 131073, 300000};
    unsigned char *body = random_body(len, 7);
    for (size_t off = 0, i = 0; off < len; i++) {
        size_t n = sizes[i % 7] < len - off ? sizes[i % 7] : len - off;
        assert_int_equal(f.tr.sink(f.tr.sink_arg, body + off, n), 0);
        off += n;
    }
    imgpipe_stream_end(&f.st, on_end, &f.end);
    wait_end(&f.end);
    char want[65];
    imgpipe_sha256_hex(body, len, want);
    assert_int_equal(f.end.write_errno, 0);
    assert_int_equal(f.end.bytes, len);
    assert_string_equal(f.end.sha, want);
    assert_int_equal(f.end.file_len, len);
    assert_memory_equal(f.end.file, body, len);
    free(body);
    teardown(&f);
}

/* Two bodies at once, one ending while its blocks still wait for the pool and the other
 * goes on: each file holds its own bytes (a block is never reused while queued). */
static void test_two_bodies_keep_their_bytes(void **state)
{
    (void)state;
    struct fixture f;
    setup(&f, 64);
    imgpipe_stream st2;
    imgpipe_transfer tr2 = {0};
    struct ended end2;
    ended_init(&end2);
    imgpipe_stream_init(&st2, f.hub);
    imgpipe_stream_begin(&st2, f.dirfd, &tr2);
    size_t len = (1u << 20) + 4321, piece = 50000;
    unsigned char *a = random_body(len, 21), *b = random_body(2 * len, 22);
    for (size_t off = 0; off < len; off += piece) {
        size_t n = len - off < piece ? len - off : piece;
        assert_int_equal(f.tr.sink(f.tr.sink_arg, a + off, n), 0);
        assert_int_equal(tr2.sink(tr2.sink_arg, b + off, n), 0);
    }
    imgpipe_stream_end(&f.st, on_end, &f.end);
    for (size_t off = len; off < 2 * len; off += piece) {
        size_t n = 2 * len - off < piece ? 2 * len - off : piece;
        assert_int_equal(tr2.sink(tr2.sink_arg, b + off, n), 0);
    }
    imgpipe_stream_end(&st2, on_end, &end2);
    wait_end(&f.end);
    wait_end(&end2);
    assert_int_equal(f.end.file_len, len);
    assert_memory_equal(f.end.file, a, len);
    assert_int_equal(end2.file_len, 2 * len);
    assert_memory_equal(end2.file, b, 2 * len);
    imgpipe_workpool_free(f.pool);
    f.pool = NULL;
    imgpipe_stream_free(&st2);
    ended_free(&end2);
    free(a);
    free(b);
    teardown(&f);
}

/* A body of no byte: end still runs, with no file and the empty digest. */
static void test_empty_body_ends(void **state)
{
    (void)state;
    struct fixture f;
    setup(&f, 4);
    imgpipe_stream_end(&f.st, on_end, &f.end);
    wait_end(&f.end);
    char want[65];
    imgpipe_sha256_hex("", 0, want);
    assert_int_equal(f.end.bytes, 0);
    assert_null(f.end.file);
    assert_string_equal(f.end.sha, want);
    teardown(&f);
}

/* Bytes a few apart in time (a slow server) reach the file before the body ends, not when
 * a block fills. */
static void test_slow_body_on_disk(void **state)
{
    (void)state;
    struct fixture f;
    setup(&f, 4);
    assert_int_equal(f.tr.sink(f.tr.sink_arg, "\xff\xd8\xff", 3), 0);
    sleep_ms(150);
    assert_int_equal(f.tr.sink(f.tr.sink_arg, "\xe0", 1), 0);
    assert_int_equal(wait_tmp_size(f.dir, 4), 4);
    imgpipe_stream_discard(&f.st);
    off_t size;
    assert_int_equal(tmp_files(f.dir, &size), 0);
    teardown(&f);
}

/* Bytes followed by a pause with no next piece: the loop's flush puts them on disk. */
static void test_paused_body_flushed(void **state)
{
    (void)state;
    struct fixture f;
    setup(&f, 4);
    assert_int_equal(f.tr.sink(f.tr.sink_arg, "\xff\xd8\xff", 3), 0);
    imgpipe_stream_flush(&f.st, imgpipe_now()); /* too young: stays in the block */
    sleep_ms(150);
    off_t size = 0;
    tmp_files(f.dir, &size);
    assert_int_equal(size, 0);
    imgpipe_stream_flush(&f.st, imgpipe_now());
    assert_int_equal(wait_tmp_size(f.dir, 3), 3);
    imgpipe_stream_discard(&f.st);
    teardown(&f);
}

/* A disk that refuses the write (a file size limit: EFBIG) ends the body with the disk's
 * error, whether it shows while pieces still come or only after the last one. */
static void test_refused_write_is_reported(void **state)
{
    (void)state;
    struct rlimit old, low;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    low = old;
    low.rlim_cur = 200 * 1024;
    signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &low), 0);
    struct fixture f;
    setup(&f, 2);
    size_t len = 1u << 20;
    unsigned char *body = random_body(len, 3);
    int refused = 0;
    for (size_t off = 0; off < len && !refused; off += 65536)
        refused = f.tr.sink(f.tr.sink_arg, body + off, 65536) != 0;
    char err[IMGPIPE_ERRLEN] = "";
    if (refused) {
        imgpipe_stream_stop(&f.st);
        assert_int_not_equal(imgpipe_stream_error(&f.st, "big.jpg", err), IMGPIPE_OK);
    } else {
        imgpipe_stream_end(&f.st, on_end, &f.end);
        wait_end(&f.end);
        assert_int_equal(f.end.write_errno, EFBIG);
        assert_int_not_equal(imgpipe_spool_error(&f.st.spool, "big.jpg", err), IMGPIPE_OK);
    }
    assert_non_null(strstr(err, "cannot write 'big.jpg'"));
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    free(body);
    teardown(&f);
}

/* A stop while blocks wait for the pool: end never runs, and the discard leaves no file;
 * the stream can then take a new body. */
static void test_stop_drops_queued(void **state)
{
    (void)state;
    struct fixture f;
    setup(&f, 64);
    size_t len = 4u << 20;
    unsigned char *body = random_body(len, 11);
    for (size_t off = 0; off < len; off += 131072)
        assert_int_equal(f.tr.sink(f.tr.sink_arg, body + off, 131072), 0);
    imgpipe_stream_discard(&f.st);
    off_t size;
    assert_int_equal(tmp_files(f.dir, &size), 0);
    assert_int_equal(f.end.done, 0);
    imgpipe_stream_begin(&f.st, f.dirfd, &f.tr); /* a retry */
    assert_int_equal(f.tr.sink(f.tr.sink_arg, body, 1000), 0);
    imgpipe_stream_end(&f.st, on_end, &f.end);
    wait_end(&f.end);
    assert_int_equal(f.end.bytes, 1000);
    assert_int_equal(f.end.file_len, 1000);
    assert_memory_equal(f.end.file, body, 1000);
    free(body);
    teardown(&f);
}

int main(void)
{
    /* A defect that loops a block forever must fail the test, not fill the disk. */
    struct rlimit cap;
    if (getrlimit(RLIMIT_FSIZE, &cap) == 0 &&
        (cap.rlim_max == RLIM_INFINITY || cap.rlim_max > (rlim_t)64 << 20)) {
        cap.rlim_cur = (rlim_t)64 << 20;
        signal(SIGXFSZ, SIG_IGN);
        setrlimit(RLIMIT_FSIZE, &cap);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_and_digest),
        cmocka_unit_test(test_two_bodies_keep_their_bytes),
        cmocka_unit_test(test_empty_body_ends),
        cmocka_unit_test(test_slow_body_on_disk),
        cmocka_unit_test(test_paused_body_flushed),
        cmocka_unit_test(test_refused_write_is_reported),
        cmocka_unit_test(test_stop_drops_queued),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
