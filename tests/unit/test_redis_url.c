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
    assert_string_equal(u.user, "");
    assert_int_equal(imgpipe_redis_url_parse("redis://user:pw@h:1", &u, err), IMGPIPE_OK);
    assert_string_equal(u.user, "user");
    assert_string_equal(u.password, "pw");
    assert_string_equal(u.host, "h");
    assert_int_equal(u.port, 1);
    assert_int_equal(imgpipe_redis_url_parse("redis://pw@h", &u, err), IMGPIPE_OK);
    assert_string_equal(u.user, "");
    assert_string_equal(u.password, "pw");
}

/* %XX in the user and the password; '@', ':' and '/' may also stand unencoded in the
 * password, since the last '@' ends it. */
static void test_percent_decoding(void **state)
{
    (void)state;
    imgpipe_redis_url u;
    char err[IMGPIPE_ERRLEN];
    assert_int_equal(imgpipe_redis_url_parse("redis://al%69ce:p%40ss%3Aw%2Frd%25@h:7/3", &u, err),
                     IMGPIPE_OK);
    assert_string_equal(u.user, "alice");
    assert_string_equal(u.password, "p@ss:w/rd%");
    assert_string_equal(u.host, "h");
    assert_int_equal(u.port, 7);
    assert_int_equal(u.db, 3);
    assert_int_equal(imgpipe_redis_url_parse("redis://:a@b:c/d@h2/1", &u, err), IMGPIPE_OK);
    assert_string_equal(u.user, "");
    assert_string_equal(u.password, "a@b:c/d");
    assert_string_equal(u.host, "h2");
    assert_int_equal(u.db, 1);
    assert_int_equal(imgpipe_redis_url_parse("redis://:%7e%7E@h", &u, err), IMGPIPE_OK);
    assert_string_equal(u.password, "~~");
}

/* The password never reaches an error message, even of a URL that does not parse. */
static void expect_bad_secret(const char *url, const char *secret, const char *why)
{
    imgpipe_redis_url u;
    char err[IMGPIPE_ERRLEN];
    assert_int_equal(imgpipe_redis_url_parse(url, &u, err), IMGPIPE_EINVAL);
    assert_non_null(strstr(err, why));
    assert_null(strstr(err, secret));
    assert_non_null(strstr(err, "***"));
}

static void test_bad_escapes(void **state)
{
    (void)state;
    expect_bad_secret("redis://:s3cret%4@h", "s3cret", "%-escape");
    expect_bad_secret("redis://:s3cret%zz@h", "s3cret", "%-escape");
    expect_bad_secret("redis://:s3cret%00x@h", "s3cret", "%-escape");
    expect_bad_secret("redis://us%g0r:s3cret@h", "s3cret", "%-escape");
    expect_bad_secret("redis://:s3cret@h:99999", "s3cret", "port");
    expect_bad_secret("redis://:s3cret@", "s3cret", "no host");
    expect_bad_secret("redis://:s3cret@h/x", "s3cret", "database");
    char url[600] = "redis://:";
    memset(url + 9, 'p', 300);
    strcpy(url + 309, "@h");
    expect_bad_secret(url, "pppp", "too long");
}

static void expect_redacted(const char *url, const char *shown)
{
    char out[512];
    imgpipe_redis_url_redact(url, out, sizeof(out));
    assert_string_equal(out, shown);
}

static void test_redact(void **state)
{
    (void)state;
    expect_redacted("redis://127.0.0.1:6379", "redis://127.0.0.1:6379");
    expect_redacted("redis://:pw@h:1/2", "redis://:***@h:1/2");
    expect_redacted("redis://alice:p%40ss@h", "redis://alice:***@h");
    expect_redacted("redis://pw@h", "redis://***@h");
    expect_redacted("redis://:a@b:c/d@h2/1", "redis://:***@h2/1");
    expect_redacted("redis://u:pw@h:63x", "redis://u:***@h:63x");
    expect_redacted("unix:/run/redis.sock?db=2", "unix:/run/redis.sock?db=2");
    expect_redacted("garbage:pw@h", "***@h");
    expect_redacted("", "");
    char small[12];
    imgpipe_redis_url_redact("redis://:secretpassword@host", small, sizeof(small));
    assert_null(strstr(small, "secret"));
    assert_string_equal(small, "redis://:**");
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
        cmocka_unit_test(test_defaults),    cmocka_unit_test(test_port_db_password),
        cmocka_unit_test(test_unix),        cmocka_unit_test(test_rejects),
        cmocka_unit_test(test_long_parts),  cmocka_unit_test(test_percent_decoding),
        cmocka_unit_test(test_bad_escapes), cmocka_unit_test(test_redact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
