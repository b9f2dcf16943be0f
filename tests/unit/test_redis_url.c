#include "queue/redis_url.h"
#include "testutil.h"

#include <string.h>

static void test_defaults(void **state)
{
    (void)state;
    imgpipe_redis_url u;
    char err[IMGPIPE_ERRLEN];
    assert_int_equal(imgpipe_redis_url_parse("redis://127.0.0.1", &u, err), IMGPIPE_OK);
    assert_string_equal(u.host, "127.0.0.1");
    assert_int_equal(u.port, 6379);
    assert_int_equal(u.db, 0);
    assert_string_equal(u.password, "");
    assert_string_equal(u.path, "");
    assert_int_equal(imgpipe_redis_url_parse("redis://localhost/", &u, err), IMGPIPE_OK);
    assert_string_equal(u.host, "localhost");
    assert_int_equal(u.db, 0);
}

static void test_port_db_password(void **state)
{
    (void)state;
    imgpipe_redis_url u;
    char err[IMGPIPE_ERRLEN];
    assert_int_equal(imgpipe_redis_url_parse("redis://:s3cret@redis.lan:6380/2", &u, err),
                     IMGPIPE_OK);
    assert_string_equal(u.host, "redis.lan");
    assert_int_equal(u.port, 6380);
    assert_int_equal(u.db, 2);
    assert_string_equal(u.password, "s3cret");
    assert_int_equal(imgpipe_redis_url_parse("redis://user:pw@h:1", &u, err), IMGPIPE_OK);
    assert_string_equal(u.password, "pw");
    assert_string_equal(u.host, "h");
    assert_int_equal(u.port, 1);
    assert_int_equal(imgpipe_redis_url_parse("redis://pw@h", &u, err), IMGPIPE_OK);
    assert_string_equal(u.password, "pw");
}

static void test_unix(void **state)
{
    (void)state;
    imgpipe_redis_url u;
    char err[IMGPIPE_ERRLEN];
    assert_int_equal(imgpipe_redis_url_parse("unix:/run/redis.sock", &u, err), IMGPIPE_OK);
    assert_string_equal(u.path, "/run/redis.sock");
    assert_string_equal(u.host, "");
    assert_int_equal(imgpipe_redis_url_parse("unix:///run/r.sock?db=3", &u, err), IMGPIPE_OK);
    assert_string_equal(u.path, "/run/r.sock");
    assert_int_equal(u.db, 3);
}

static void expect_bad(const char *url, const char *why)
{
    imgpipe_redis_url u;
    char err[IMGPIPE_ERRLEN];
    assert_int_equal(imgpipe_redis_url_parse(url, &u, err), IMGPIPE_EINVAL);
    assert_non_null(strstr(err, why));
    assert_non_null(strstr(err, url));
}

static void test_rejects(void **state)
{
    (void)state;
    expect_bad("http://127.0.0.1:6379", "expected redis://");
    expect_bad("redis://", "no host");
    expect_bad("redis://:6379", "no host");
    expect_bad("redis://h:0", "port");
    expect_bad("redis://h:65536", "port");
    expect_bad("redis://h:63x", "port");
    expect_bad("redis://h:", "port");
    expect_bad("redis://h/x", "database");
    expect_bad("redis://h/-1", "database");
    expect_bad("unix:relative.sock", "absolute path");
    expect_bad("unix:/s.sock?db=x", "?db=N");
    char err[IMGPIPE_ERRLEN];
    imgpipe_redis_url u;
    assert_int_equal(imgpipe_redis_url_parse("", &u, err), IMGPIPE_EINVAL);
    assert_int_equal(imgpipe_redis_url_parse(NULL, &u, err), IMGPIPE_EINVAL);
}

static void test_long_parts(void **state)
{
    (void)state;
    char url[600] = "redis://";
    memset(url + 8, 'h', 300);
    url[308] = '\0';
    expect_bad(url, "host name too long");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),   cmocka_unit_test(test_port_db_password),
        cmocka_unit_test(test_unix),       cmocka_unit_test(test_rejects),
        cmocka_unit_test(test_long_parts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
