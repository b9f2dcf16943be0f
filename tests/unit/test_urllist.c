#include "testutil.h"
#include "source/urllist.h"

#include <imgpipe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Runs one line through imgpipe_urllist_line and returns the URL, or NULL. */
static const char *url_of(char *buf, size_t cap, const char *line)
{
    assert_true(strlen(line) < cap);
    strcpy(buf, line);
    return imgpipe_urllist_line(buf);
}

static void test_plain_and_trimmed(void **state)
{
    (void)state;
    char buf[256];
    assert_string_equal(url_of(buf, sizeof(buf), "https://x/a.jpg"), "https://x/a.jpg");
    assert_string_equal(url_of(buf, sizeof(buf), "https://x/a.jpg\n"), "https://x/a.jpg");
    assert_string_equal(url_of(buf, sizeof(buf), "https://x/a.jpg\r\n"), "https://x/a.jpg");
    assert_string_equal(url_of(buf, sizeof(buf), " \t https://x/a.jpg \t\r\n"), "https://x/a.jpg");
    assert_string_equal(url_of(buf, sizeof(buf), "\thttps://x/a.jpg\t"), "https://x/a.jpg");
}

static void test_result_points_into_line(void **state)
{
    (void)state;
    char buf[] = "  https://x/a.jpg  \n";
    char *url = imgpipe_urllist_line(buf);
    assert_ptr_equal(url, buf + 2);
    assert_string_equal(url, "https://x/a.jpg");
}

static void test_blank_and_comments(void **state)
{
    (void)state;
    char buf[256];
    assert_null(url_of(buf, sizeof(buf), ""));
    assert_null(url_of(buf, sizeof(buf), "\n"));
    assert_null(url_of(buf, sizeof(buf), "\r\n"));
    assert_null(url_of(buf, sizeof(buf), " \t \r\n"));
    assert_null(url_of(buf, sizeof(buf), "# a comment"));
    assert_null(url_of(buf, sizeof(buf), "#https://x/a.jpg"));
    assert_null(url_of(buf, sizeof(buf), "  # x"));
    assert_null(url_of(buf, sizeof(buf), "\t#\r\n"));
    assert_null(imgpipe_urllist_line(NULL));
}

static void test_inner_hash_and_spaces_kept(void **state)
{
    (void)state;
    char buf[256];
    /* A '#' after the start is the URL's fragment, not a comment. */
    assert_string_equal(url_of(buf, sizeof(buf), "https://x/a.jpg#frag\r\n"),
                        "https://x/a.jpg#frag");
    assert_string_equal(url_of(buf, sizeof(buf), " a b "), "a b");
}

/* A list saved by a Windows editor starts with a UTF-8 byte order mark. */
static void test_bom_dropped(void **state)
{
    (void)state;
    char buf[256];
    assert_string_equal(url_of(buf, sizeof(buf), "\xEF\xBB\xBFhttps://x/a.jpg\r\n"),
                        "https://x/a.jpg");
    assert_null(url_of(buf, sizeof(buf), "\xEF\xBB\xBF# a comment"));
    assert_null(url_of(buf, sizeof(buf), "\xEF\xBB\xBF\r\n"));
}

/* Through the source: a BOM-led file gives every one of its URLs, the first included. */
static void test_bom_file_keeps_first_url(void **state)
{
    (void)state;
    char *dir = testutil_tmpdir();
    char path[4096];
    snprintf(path, sizeof(path), "%s/urls.txt", dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("\xEF\xBB\xBFhttp://127.0.0.1/a.jpg\r\nhttp://127.0.0.1/b.jpg\r\n", fp);
    fclose(fp);
    imgpipe_source *src;
    char err[IMGPIPE_ERRLEN];
    imgpipe_source_opts so = {0};
    assert_int_equal(imgpipe_source_open(&src, path, &so, err), 0);
    const char *url;
    assert_int_equal(imgpipe_source_next(src, &url, err), 1);
    assert_string_equal(url, "http://127.0.0.1/a.jpg");
    assert_int_equal(imgpipe_source_next(src, &url, err), 1);
    assert_string_equal(url, "http://127.0.0.1/b.jpg");
    assert_int_equal(imgpipe_source_next(src, &url, err), 0);
    assert_int_equal(imgpipe_source_counts_get(src)->links, 2);
    imgpipe_source_free(src);
    testutil_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_and_trimmed),
        cmocka_unit_test(test_result_points_into_line),
        cmocka_unit_test(test_blank_and_comments),
        cmocka_unit_test(test_inner_hash_and_spaces_kept),
        cmocka_unit_test(test_bom_dropped),
        cmocka_unit_test(test_bom_file_keeps_first_url),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
