/* The web layer's pieces that need no server: the Prometheus text format's escaping, the
 * gallery's file checks, and its pages with thumbnails and ledger URLs. */
#include "testutil.h"
#include "web/web.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void test_prom_escapes_labels_and_help(void **state)
{
    (void)state;
    imgpipe_buf b = {0};
    imgpipe_prom_head(&b, "x_total", "counter", "line\\one\nline two \"quoted\"");
    imgpipe_prom_sample(&b, "x_total", "queue", "a\"b\\c\nd", "reason", "r", 3);
    imgpipe_prom_sample(&b, "x_total", NULL, NULL, NULL, NULL, 0.25);
    char *text = imgpipe_prom_finish(&b);
    assert_non_null(text);
    assert_string_equal(text, "# HELP x_total line\\\\one\\nline two \"quoted\"\n"
                              "# TYPE x_total counter\n"
                              "x_total{queue=\"a\\\"b\\\\c\\nd\",reason=\"r\"} 3\n"
                              "x_total 0.25\n");
    free(text);
}

/* A name that resolves anew (a DNS rebinding) is not this machine; addresses and
 * localhost are, with a port or not. */
static void test_host_local(void **state)
{
    (void)state;
    const char *local[] = {"localhost.",  "127.0.0.1",       "127.0.0.1:8080", "10.1.2.3:80",
                           "[::1]:8080",  "[::1]",           "localhost",      "LocalHost:8080",
                           "a.localhost", "x.y.localhost:1", "[fe80::1]:9"};
    const char *other[] = {"",
                           ":8080",
                           "evil.example",
                           "evil.example:8080",
                           "127.0.0.1.nip.io:8080",
                           "localhost.evil.example",
                           "notlocalhost",
                           "[::1",
                           "[::1]x",
                           "[evil.example]:80",
                           "127.1",
                           ".localhost",
                           "[]:80",
                           "127.0.0.1.",
                           "localhost..",
                           ".",
                           "evil.example."};
    for (size_t i = 0; i < sizeof(local) / sizeof(*local); i++)
        assert_int_equal(imgpipe_web_host_local(local[i]), 1);
    for (size_t i = 0; i < sizeof(other) / sizeof(*other); i++) {
        if (imgpipe_web_host_local(other[i]))
            fail_msg("'%s' taken for this machine", other[i]);
    }
}

static void put(int dirfd, const char *name, const char *text)
{
    int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static void test_open_file_refuses_what_is_not_directly_in_dir(void **state)
{
    (void)state;
    char *dir = testutil_tmpdir();
    int dirfd = open(dir, O_RDONLY | O_DIRECTORY);
    assert_true(dirfd >= 0);
    put(dirfd, "a.png", "12345");
    assert_int_equal(mkdirat(dirfd, "sub", 0755), 0);
    put(dirfd, "sub/b.png", "x");
    put(dirfd, ".hidden.png", "x");
    assert_int_equal(symlinkat("a.png", dirfd, "link.png"), 0);
    assert_int_equal(mkfifoat(dirfd, "fifo.png", 0644), 0);
    uint64_t size = 0;
    int fd = imgpipe_web_open_file(dirfd, "a.png", &size);
    assert_true(fd >= 0);
    assert_int_equal(size, 5);
    close(fd);
    const char *bad[] = {"link.png",    "sub/b.png", "../a.png", "..", ".",
                         ".hidden.png", "sub",       "fifo.png", "",   "missing.png"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
        assert_int_equal(imgpipe_web_open_file(dirfd, bad[i], &size), -1);
    close(dirfd);
    testutil_rmtree(dir);
    free(dir);
}

static const char *item_str(json_t *items, size_t i, const char *key)
{
    return json_string_value(json_object_get(json_array_get(items, i), key));
}

static void test_gallery_pages_with_thumbs_and_ledger_urls(void **state)
{
    (void)state;
    char *dir = testutil_tmpdir();
    int dirfd = open(dir, O_RDONLY | O_DIRECTORY);
    const char *names[] = {"c.jpg", "a.png", "a_thumbnail.png", "b.gif", "b_thumbnail_64x64.png",
                           "d.webp"};
    for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
        put(dirfd, names[i], "xx");
    assert_int_equal(mkdirat(dirfd, ".imgpipe", 0755), 0);
    /* The last done line for a name wins; a failed line gives no URL. */
    put(dirfd, ".imgpipe/ledger",
        "done\t2\t-\ta.png\thttp://h/old-a.png\n"
        "done\t2\t-\ta.png\thttp://h/a.png?<script>\n"
        "failed\t0\t-\tc.jpg\thttp://h/c.jpg\n"
        "torn line without a newline");
    char err[IMGPIPE_ERRLEN];
    json_t *g = imgpipe_web_gallery(dirfd, 1, 3, err);
    assert_non_null(g);
    assert_int_equal(json_integer_value(json_object_get(g, "total")), 4);
    assert_int_equal(json_integer_value(json_object_get(g, "pages")), 2);
    json_t *items = json_object_get(g, "items");
    assert_int_equal(json_array_size(items), 3);
    assert_string_equal(item_str(items, 0, "name"), "a.png");
    assert_string_equal(item_str(items, 0, "thumb"), "a_thumbnail.png");
    assert_string_equal(item_str(items, 0, "url"), "http://h/a.png?<script>");
    assert_string_equal(item_str(items, 1, "thumb"), "b_thumbnail_64x64.png");
    assert_null(item_str(items, 1, "url"));
    assert_string_equal(item_str(items, 2, "name"), "c.jpg");
    assert_null(item_str(items, 2, "thumb"));
    assert_null(item_str(items, 2, "url"));
    json_decref(g);
    g = imgpipe_web_gallery(dirfd, 2, 3, err);
    assert_int_equal(json_array_size(json_object_get(g, "items")), 1);
    assert_string_equal(item_str(json_object_get(g, "items"), 0, "name"), "d.webp");
    json_decref(g);
    close(dirfd);
    testutil_rmtree(dir);
    free(dir);
}

/* A name that is not UTF-8 is listed (U+FFFD in its text) with links that reach it and its
 * URL from the ledger; a.png and a.jpg each get their own thumbnail; b.gif, whose
 * thumbnail another tool named "b_thumbnail.png", still gets it; a page past the end (its
 * first item's index overflowing) is empty. */
static void test_gallery_names_and_thumbnails(void **state)
{
    (void)state;
    char *dir = testutil_tmpdir();
    int dirfd = open(dir, O_RDONLY | O_DIRECTORY);
    const char *names[] = {
        "a.jpg", "a.png",           "a_thumbnail_16x16.jpg.png", "a_thumbnail_16x16.png",
        "b.gif", "b_thumbnail.png", "caf\xe9 #?%.png",           "caf\xe9 #?%_thumbnail.png"};
    for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
        put(dirfd, names[i], "xx");
    assert_int_equal(mkdirat(dirfd, ".imgpipe", 0755), 0);
    put(dirfd, ".imgpipe/ledger", "done\t2\t-\tcaf\xe9 #?%.png\thttp://h/caf%E9\xe9.png\n");
    char err[IMGPIPE_ERRLEN];
    json_t *g = imgpipe_web_gallery(dirfd, 1, 24, err), *items = json_object_get(g, "items");
    assert_int_equal(json_integer_value(json_object_get(g, "total")), 4);
    assert_int_equal(json_array_size(items), 4);
    assert_string_equal(item_str(items, 0, "thumb"), "a_thumbnail_16x16.jpg.png");
    assert_string_equal(item_str(items, 1, "name"), "a.png");
    assert_string_equal(item_str(items, 1, "thumb"), "a_thumbnail_16x16.png");
    assert_string_equal(item_str(items, 1, "thumb_href"), "/files/a_thumbnail_16x16.png");
    assert_string_equal(item_str(items, 2, "thumb"), "b_thumbnail.png");
    assert_string_equal(item_str(items, 3, "name"), "caf\xef\xbf\xbd #?%.png");
    assert_string_equal(item_str(items, 3, "href"), "/files/caf%E9%20%23%3F%25.png");
    assert_string_equal(item_str(items, 3, "thumb_href"),
                        "/files/caf%E9%20%23%3F%25_thumbnail.png");
    assert_string_equal(item_str(items, 3, "url"), "http://h/caf%E9\xef\xbf\xbd.png");
    json_decref(g);
    g = imgpipe_web_gallery(dirfd, 2305843009213693953L, 24, err);
    assert_int_equal(json_array_size(json_object_get(g, "items")), 0);
    json_decref(g);
    close(dirfd);
    testutil_rmtree(dir);
    free(dir);
}

#define LISTERS 8
#define MANY_FILES 3000

struct lister {
    int dirfd;
    long long total;
};

static void *list_gallery(void *arg)
{
    struct lister *l = arg;
    char err[IMGPIPE_ERRLEN];
    json_t *g = imgpipe_web_gallery(l->dirfd, 1, 24, err);
    l->total = g ? json_integer_value(json_object_get(g, "total")) : -1;
    json_decref(g);
    return NULL;
}

/* The dashboard answers each connection in its thread: galleries listed at the same time
 * each see every file of DIR (they shared one directory position, each seeing a part). */
static void test_gallery_listed_by_threads_at_once(void **state)
{
    (void)state;
    char *dir = testutil_tmpdir();
    int dirfd = open(dir, O_RDONLY | O_DIRECTORY);
    char name[32];
    for (int i = 0; i < MANY_FILES; i++) {
        snprintf(name, sizeof(name), "img%05d.jpg", i);
        put(dirfd, name, "x");
    }
    for (int round = 0; round < 5; round++) {
        pthread_t t[LISTERS];
        struct lister l[LISTERS];
        for (int i = 0; i < LISTERS; i++) {
            l[i] = (struct lister){.dirfd = dirfd};
            assert_int_equal(pthread_create(&t[i], NULL, list_gallery, &l[i]), 0);
        }
        for (int i = 0; i < LISTERS; i++) {
            pthread_join(t[i], NULL);
            assert_int_equal(l[i].total, MANY_FILES);
        }
    }
    close(dirfd);
    testutil_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prom_escapes_labels_and_help),
        cmocka_unit_test(test_host_local),
        cmocka_unit_test(test_open_file_refuses_what_is_not_directly_in_dir),
        cmocka_unit_test(test_gallery_pages_with_thumbs_and_ledger_urls),
        cmocka_unit_test(test_gallery_names_and_thumbnails),
        cmocka_unit_test(test_gallery_listed_by_threads_at_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
