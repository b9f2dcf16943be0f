#include "testutil.h"
#include "util.h"

#include <string.h>

static void test_errf_formats_and_returns_status(void **state)
{
    (void)state;
    char err[IMGPIPE_ERRLEN];
    assert_int_equal(imgpipe_errf(err, IMGPIPE_EIO, "cannot open %s", "x.jpg"), IMGPIPE_EIO);
    assert_string_equal(err, "cannot open x.jpg");
    assert_int_equal(imgpipe_errf(NULL, IMGPIPE_ENOMEM, "ignored"), IMGPIPE_ENOMEM);
}

static void test_strerror_names_every_code(void **state)
{
    (void)state;
    for (int s = 0; s >= IMGPIPE_ECANCELED; s--)
        assert_string_not_equal(imgpipe_strerror(s), "unknown error");
    assert_string_equal(imgpipe_strerror(-999), "unknown error");
}

static void test_buf_grows(void **state)
{
    (void)state;
    imgpipe_buf b = {0};
    for (int i = 0; i < 10000; i++)
        assert_int_equal(imgpipe_buf_append(&b, "abc", 3), IMGPIPE_OK);
    assert_int_equal(b.len, 30000);
    assert_memory_equal(b.data + 29997, "abc", 3);
    imgpipe_buf_free(&b);
    assert_null(b.data);
}

static void test_strvec_copies(void **state)
{
    (void)state;
    imgpipe_strvec sv = {0};
    char s[] = "hello";
    assert_int_equal(imgpipe_strvec_push(&sv, s), IMGPIPE_OK);
    s[0] = 'j';
    assert_string_equal(sv.v[0], "hello");
    imgpipe_strvec_free(&sv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errf_formats_and_returns_status),
        cmocka_unit_test(test_strerror_names_every_code),
        cmocka_unit_test(test_buf_grows),
        cmocka_unit_test(test_strvec_copies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
