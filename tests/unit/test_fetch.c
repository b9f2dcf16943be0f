#include "testutil.h"
#include "net/fetch.h"

#include <string.h>

/* Retry-After as a server may send it, well-formed or not. */
static void test_retry_after(void **state)
{
    (void)state;
    time_t now = 1700000000;
    assert_int_equal(imgpipe_retry_after_ms("0", now), 0);
    assert_int_equal(imgpipe_retry_after_ms("120", now), 120000);
    /* Longer than a day is clamped there, so the arithmetic cannot overflow. */
    assert_int_equal(imgpipe_retry_after_ms("10000000000000000", now), 86400L * 1000);
    assert_int_equal(imgpipe_retry_after_ms("9223372036854775807", now), 86400L * 1000);
    assert_int_equal(imgpipe_retry_after_ms("99999999999999999999999999", now), 86400L * 1000);
    /* An HTTP date: the seconds from now, 0 when it has passed, clamped when far. */
    assert_int_equal(imgpipe_retry_after_ms("Tue, 14 Nov 2023 22:13:00 GMT", now), 0);
    assert_int_equal(imgpipe_retry_after_ms("Tue, 14 Nov 2023 22:14:00 GMT", now), 40000);
    assert_int_equal(imgpipe_retry_after_ms("Fri, 31 Dec 9999 23:59:59 GMT", now), 86400L * 1000);
    assert_int_equal(imgpipe_retry_after_ms("Thu, 01 Jan 1970 00:00:01 GMT", now), 0);
    /* Neither: no Retry-After at all. */
    assert_int_equal(imgpipe_retry_after_ms("-5", now), -1);
    assert_int_equal(imgpipe_retry_after_ms("soon", now), -1);
    assert_int_equal(imgpipe_retry_after_ms("", now), -1);
    assert_int_equal(imgpipe_retry_after_ms("12abc", now), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_retry_after),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
