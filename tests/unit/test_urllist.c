#include "testutil.h"
#include "source/urllist.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_and_trimmed),
        cmocka_unit_test(test_result_points_into_line),
        cmocka_unit_test(test_blank_and_comments),
        cmocka_unit_test(test_inner_hash_and_spaces_kept),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
