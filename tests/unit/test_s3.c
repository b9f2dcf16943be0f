#include "net/s3.h"
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

static void test_encode_key(void **state)
{
    (void)state;
    char out[256];
    assert_int_equal(imgpipe_s3_encode_key("p/a b+c%d.png", out, sizeof(out)), IMGPIPE_OK);
    assert_string_equal(out, "p/a%20b%2Bc%25d.png");
    assert_int_equal(imgpipe_s3_encode_key("x/\xc3\xbcn\xc3\xaf.png", out, sizeof(out)),
                     IMGPIPE_OK);
    assert_string_equal(out, "x/%C3%BCn%C3%AF.png");
    assert_int_equal(imgpipe_s3_encode_key("A-z_0.9~", out, sizeof(out)), IMGPIPE_OK);
    assert_string_equal(out, "A-z_0.9~");
    /* Reserved bytes a URL parser would read as structure are encoded, never passed. */
    assert_int_equal(imgpipe_s3_encode_key("a?b#c&d=e;f:g@h", out, sizeof(out)), IMGPIPE_OK);
    assert_string_equal(out, "a%3Fb%23c%26d%3De%3Bf%3Ag%40h");
    /* Too long for the buffer: refused, never cut (a cut key would be another object). */
    assert_int_equal(imgpipe_s3_encode_key("abcd", out, 4), IMGPIPE_EINVAL);
    assert_int_equal(imgpipe_s3_encode_key("ab ", out, 5), IMGPIPE_EINVAL);
    assert_int_equal(imgpipe_s3_encode_key("ab ", out, 6), IMGPIPE_OK);
}

static void test_parse_url(void **state)
{
    (void)state;
    char b[64], p[1100], err[IMGPIPE_ERRLEN];
    assert_int_equal(imgpipe_s3_parse_url("s3://my-bucket.1/a/b/", b, sizeof(b), p, sizeof(p), err),
                     IMGPIPE_OK);
    assert_string_equal(b, "my-bucket.1");
    assert_string_equal(p, "a/b");
    assert_int_equal(imgpipe_s3_parse_url("s3://bkt", b, sizeof(b), p, sizeof(p), err), IMGPIPE_OK);
    assert_string_equal(b, "bkt");
    assert_string_equal(p, "");
    const char *bad[] = {"s3://",           "s3://ab",      "s3://Bucket/p", "s3://b_k/p",
                         "s3://-bk/p",      "s3://bk-/p",   "http://bkt/p",  "s3://bkt//p",
                         "s3://bkt/a/../p", "s3://bkt/./p", "s3://bkt/a\nb"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        assert_int_equal(imgpipe_s3_parse_url(bad[i], b, sizeof(b), p, sizeof(p), err),
                         IMGPIPE_EINVAL);
        assert_true(strlen(err) > 0);
    }
    char longp[1200] = "s3://bkt/";
    memset(longp + 9, 'a', 1100);
    longp[1109] = '\0';
    assert_int_equal(imgpipe_s3_parse_url(longp, b, sizeof(b), p, sizeof(p), err), IMGPIPE_EINVAL);
}

/* No credentials: refused at open with a sentence naming the variables, nothing sent. */
/* An object records its source URL without the password a link may carry, and in ASCII. */
static void test_meta_url_keeps_no_secret(void **state)
{
    (void)state;
    char out[256];
    imgpipe_s3_meta_url("https://user:s3cret@img.example/a b.jpg?x=1", out, sizeof(out));
    assert_string_equal(out, "https://img.example/a%20b.jpg?x=1");
    imgpipe_s3_meta_url("https://tok3n@img.example/p/a.jpg", out, sizeof(out));
    assert_string_equal(out, "https://img.example/p/a.jpg");
    imgpipe_s3_meta_url("http://img.example/q@at.jpg", out, sizeof(out)); /* '@' in the path */
    assert_string_equal(out, "http://img.example/q@at.jpg");
    /* libcurl sends these passwords (extra slashes, quotes, '@', '\\'): none is kept. */
    imgpipe_s3_meta_url("http:///user:s3\"c<r\\t@img.example/a.jpg", out, sizeof(out));
    assert_string_equal(out, "http:///img.example/a.jpg");
    imgpipe_s3_meta_url("https://user:p@ss@img.example:8/a.jpg", out, sizeof(out));
    assert_string_equal(out, "https://img.example:8/a.jpg");
}

static void test_open_needs_credentials(void **state)
{
    (void)state;
    imgpipe_s3 *s = NULL;
    char err[IMGPIPE_ERRLEN] = "";
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    imgpipe_s3_config cfg = {.endpoint = "http://127.0.0.1:9"};
    assert_int_equal(imgpipe_s3_open(&s, "s3://bkt/p", &cfg, err), IMGPIPE_ECONFIG);
    assert_null(s);
    assert_non_null(strstr(err, "AWS_SECRET_ACCESS_KEY"));
    cfg.key_id = "id";
    cfg.secret = "very-secret";
    cfg.endpoint = "http://user:pw@127.0.0.1:9";
    assert_int_equal(imgpipe_s3_open(&s, "s3://bkt/p", &cfg, err), IMGPIPE_EINVAL);
    assert_null(strstr(err, "pw"));
    cfg.endpoint = "ftp://127.0.0.1:9";
    assert_int_equal(imgpipe_s3_open(&s, "s3://bkt/p", &cfg, err), IMGPIPE_EINVAL);
    cfg.endpoint = "http://127.0.0.1:9/";
    assert_int_equal(imgpipe_s3_open(&s, "s3://bkt/p", &cfg, err), IMGPIPE_OK);
    assert_string_equal(imgpipe_s3_url(s), "s3://bkt/p");
    imgpipe_s3_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_key),
        cmocka_unit_test(test_parse_url),
        cmocka_unit_test(test_meta_url_keeps_no_secret),
        cmocka_unit_test(test_open_needs_credentials),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
