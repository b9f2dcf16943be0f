#include "testutil.h"
#include "common/retry.h"
#include "common/sha256.h"
#include "common/util.h"

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
    for (int s = 0; s >= IMGPIPE_EDISK; s--)
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

static void test_sha256_known_answers(void **state)
{
    (void)state;
    char hex[65];
    imgpipe_sha256_hex("", 0, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    imgpipe_sha256_hex("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"; /* 56 bytes */
    imgpipe_sha256_hex(two, strlen(two), hex);
    assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    char million[1000];
    memset(million, 'a', sizeof(million));
    imgpipe_sha256_hex(million, sizeof(million), hex);
    assert_string_equal(hex, "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3");
}

static void test_retry_delay_backs_off_with_jitter(void **state)
{
    (void)state;
    uint64_t rng = 42;
    for (int attempt = 1; attempt <= 12; attempt++) {
        long full = 500L << (attempt - 1 < 7 ? attempt - 1 : 7);
        if (full > IMGPIPE_RETRY_CAP_MS)
            full = IMGPIPE_RETRY_CAP_MS;
        for (int k = 0; k < 100; k++) {
            long d = imgpipe_retry_delay_ms(attempt, 500, -1, &rng);
            assert_in_range(d, full / 2, full);
        }
    }
    assert_int_equal(imgpipe_retry_delay_ms(1, 500, 7000, &rng), 7000);
    assert_int_equal(imgpipe_retry_delay_ms(1, 500, 0, &rng), 0);
    assert_int_equal(imgpipe_retry_delay_ms(1, 500, IMGPIPE_RETRY_AFTER_MAX_MS + 1, &rng), -1);
    assert_int_equal(imgpipe_retry_count(0), IMGPIPE_RETRY_DEFAULT);
    assert_int_equal(imgpipe_retry_count(-1), 0);
    assert_int_equal(imgpipe_retry_count(5), 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errf_formats_and_returns_status),
        cmocka_unit_test(test_strerror_names_every_code),
        cmocka_unit_test(test_buf_grows),
        cmocka_unit_test(test_strvec_copies),
        cmocka_unit_test(test_sha256_known_answers),
        cmocka_unit_test(test_retry_delay_backs_off_with_jitter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
