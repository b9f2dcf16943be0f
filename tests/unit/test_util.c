#include "testutil.h"
#include "common/retry.h"
#include "common/sha256.h"
#include "common/util.h"

#include <stdlib.h>
#include <stdio.h>
#include <string.h>

static void test_errf_formats_and_returns_status(void **state)
{
    (void)state;
    char err[IMGPIPE_ERRLEN];
    assert_int_equal(imgpipe_errf(err, IMGPIPE_EIO, "cannot open %s", "x.jpg"), IMGPIPE_EIO);
    assert_string_equal(err, "cannot open x.jpg");
    assert_int_equal(imgpipe_errf(NULL, IMGPIPE_ENOMEM, "ignored"), IMGPIPE_ENOMEM);
}

/* A message is one line with nothing a terminal acts on, whatever a library or a server
 * put in the text it quotes (libheif ends its messages with a newline). */
static void test_errf_is_one_line(void **state)
{
    (void)state;
    char err[IMGPIPE_ERRLEN];
    imgpipe_errf(err, IMGPIPE_ECORRUPT, "corrupt HEIF: %s (limit: --max-pixels)", "too big\n");
    assert_string_equal(err, "corrupt HEIF: too big (limit: --max-pixels)");
    imgpipe_errf(err, IMGPIPE_EAPI, "API says: %s", "\x1b[2Jgone\r\n\tfor good\x7f\n");
    assert_string_equal(err, "API says: [2Jgone for good");
    imgpipe_errf(err, IMGPIPE_EIO, "%s", "\n\n");
    assert_string_equal(err, "");
    imgpipe_errf(err, IMGPIPE_EAPI, "API says: %s", "a\xC2\x9B[31mred \xC2\xA0ok");
    assert_string_equal(err, "API says: a [31mred \xC2\xA0ok");
}

/* A message longer than IMGPIPE_ERRLEN is cut after its password is hidden: a cut inside
 * the userinfo would leave no '@' to find the password by. */
static void test_errf_hides_a_password_it_cuts(void **state)
{
    (void)state;
    char pw[1200], err[IMGPIPE_ERRLEN];
    memset(pw, 'S', sizeof(pw) - 1);
    pw[sizeof(pw) - 1] = '\0';
    imgpipe_errf(err, IMGPIPE_ENET, "cannot fetch http://user:%s@h/x.jpg: refused", pw);
    assert_string_equal(err, "cannot fetch http://user:***@h/x.jpg: refused");
    imgpipe_errf(err, IMGPIPE_ENET, "%.500s http://u:p@h/", pw);
    assert_null(strstr(err, ":p@"));
    assert_int_equal(strlen(err), IMGPIPE_ERRLEN - 1);
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

/* A digest's hex read back gives the same bytes; anything but 64 hex digits is refused. */
static void test_sha256_hex_round_trip(void **state)
{
    (void)state;
    const char *abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    unsigned char md[IMGPIPE_SHA256_LEN];
    char hex[65];
    assert_int_equal(imgpipe_sha256_from_hex(abc, md), 0);
    assert_int_equal(md[0], 0xba);
    assert_int_equal(md[31], 0xad);
    imgpipe_sha256_to_hex(md, hex);
    assert_string_equal(hex, abc);
    assert_int_equal(imgpipe_sha256_from_hex(
                         "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD", md),
                     0);
    imgpipe_sha256_to_hex(md, hex);
    assert_string_equal(hex, abc);
    char bad[80];
    const char *cuts[] = {"", "b",
                          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015a"};
    for (size_t i = 0; i < sizeof(cuts) / sizeof(*cuts); i++)
        assert_int_equal(imgpipe_sha256_from_hex(cuts[i], md), -1);
    snprintf(bad, sizeof(bad), "%s0", abc); /* 65 digits */
    assert_int_equal(imgpipe_sha256_from_hex(bad, md), -1);
    snprintf(bad, sizeof(bad), "%s", abc);
    bad[10] = 'g';
    assert_int_equal(imgpipe_sha256_from_hex(bad, md), -1);
    bad[10] = ' ';
    assert_int_equal(imgpipe_sha256_from_hex(bad, md), -1);
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

/* Every URL's password in a text is hidden, whatever surrounds it; the user stays, a token
 * (userinfo without ':') goes whole; '@' in a path is not userinfo. */
static void test_redact_hides_url_passwords(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"https://u:pw@h/x.jpg", "https://u:***@h/x.jpg"},
        {"http://tok@h:8/x", "http://***@h:8/x"},
        {"GET 'http://u:p@ss:w@h/x': refused, then redis://:pw@r:1",
         "GET 'http://u:***@h/x': refused, then redis://:***@r:1"},
        {"https://h/@me/x.jpg", "https://h/@me/x.jpg"},
        {"https://u:pw@h", "https://u:***@h"},
        {"https://u:pw@h?q=a@b", "https://u:***@h?q=a@b"},
        {"http://@h/", "http://***@h/"},
        {"no url here: a@b", "no url here: a@b"},
    };
    char out[128];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n = imgpipe_redact(cases[i][0], out, sizeof(out));
        assert_string_equal(out, cases[i][1]);
        assert_int_equal(n, strlen(cases[i][1]));
        assert_int_equal(imgpipe_has_userinfo(cases[i][0]), strcmp(cases[i][0], cases[i][1]) != 0);
        char *dup = imgpipe_redact_dup(cases[i][0]);
        assert_string_equal(dup, cases[i][1]);
        free(dup);
    }
    /* Cut short: never a byte of the password, always terminated. */
    for (size_t cap = 1; cap < 24; cap++) {
        char small[24];
        memset(small, 'x', sizeof(small));
        imgpipe_redact("https://user:SECRET@host/x", small, cap);
        assert_true(memchr(small, '\0', cap) != NULL);
        assert_null(strstr(small, "SEC"));
    }
    char err[IMGPIPE_ERRLEN];
    imgpipe_errf(err, IMGPIPE_EHTTP, "%s: HTTP 401", "https://a:SECRET@h/x");
    assert_string_equal(err, "https://a:***@h/x: HTTP 401");
}

/* What libcurl 7.88 sends as the password is what is hidden: quotes, '<', '>', '`' and '\'
 * belong to the password, not to a sentence around the URL; "http:///u:pw@h" and
 * "http:/u:pw@h" are sent as "http://u:pw@h"; the user ends at the first ':', the
 * password at the last '@'. Only '/', '?', '#', a space or a control byte end the part. */
static void test_redact_hides_what_libcurl_sends(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"http://alice:Sec\"ret1@h/a.jpg", "http://alice:***@h/a.jpg"},
        {"http://alice:Sec<ret2@h/b.jpg", "http://alice:***@h/b.jpg"},
        {"http://alice:Sec'ret3@h/c.jpg", "http://alice:***@h/c.jpg"},
        {"http://alice:Sec\\ret4@h/d.jpg", "http://alice:***@h/d.jpg"},
        {"http://alice:Sec>r`t@h/d.jpg", "http://alice:***@h/d.jpg"},
        {"http:///alice:Secret5@h/e.jpg", "http:///alice:***@h/e.jpg"},
        {"HTTPS:////t0k@h", "HTTPS:////***@h"},
        {"http:/alice:pw@h/x", "http:/alice:***@h/x"},
        {"http://\\alice:pw@h/x", "http://\\alice:***@h/x"},
        {"http://al:ice:pw@h/x", "http://al:***@h/x"},
        {"http://alice:p@ss@h/x", "http://alice:***@h/x"},
        {"http://alice:p%40ss@h/x", "http://alice:***@h/x"},
        {"http://alice:S\xc3\xa9{|}^[];,=@h:80/x", "http://alice:***@h:80/x"},
        {"FAILED \"http://u:a\"b@h/x\": HTTP 404", "FAILED \"http://u:***@h/x\": HTTP 404"},
        {"<http://u:a>b@h/x>", "<http://u:***@h/x>"},
        {"'http://u:a'b@h/x' and 'https://t:o\\k@h2'", "'http://u:***@h/x' and 'https://t:***@h2'"},
        {"see http://h\tand a@b", "see http://h\tand a@b"},
        {"http://h:8/x@y and https://h/?u=a@b#c@d", "http://h:8/x@y and https://h/?u=a@b#c@d"},
    };
    char out[128];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n = imgpipe_redact(cases[i][0], out, sizeof(out));
        assert_string_equal(out, cases[i][1]);
        assert_int_equal(n, strlen(cases[i][1]));
        assert_int_equal(imgpipe_has_userinfo(cases[i][0]), strcmp(cases[i][0], cases[i][1]) != 0);
    }
    char err[IMGPIPE_ERRLEN];
    imgpipe_errf(err, IMGPIPE_EHTTP, "'%s': HTTP 401", "http:///a:S\"E'C<R>E\\T@h/x");
    assert_string_equal(err, "'http:///a:***@h/x': HTTP 401");
}

/* A text that is one link may hold a space or a control byte in its password: libcurl
 * refuses it, but it is hidden all the same (a link's own field: the item, the ledger). */
static void test_redact_a_link_with_a_space(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"http://alice:p w@h/x.jpg", "http://alice:***@h/x.jpg"},
        {"http://alice:p\tw@h/y.jpg", "http://alice:***@h/y.jpg"},
        {"https://to ken@h", "https://***@h"},
        {"http://h/a b.jpg", "http://h/a b.jpg"},
    };
    char out[128];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        imgpipe_redact(cases[i][0], out, sizeof(out));
        assert_string_equal(out, cases[i][1]);
        assert_int_equal(imgpipe_has_userinfo(cases[i][0]), strcmp(cases[i][0], cases[i][1]) != 0);
    }
}

/* A password holding '/', '?' or '#' unencoded ends the authority at a port that is no
 * number: libcurl refuses the link, and the password is hidden all the same; links that
 * libcurl fetches keep every '@' of their path. */
static void test_redact_a_password_with_a_slash(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"http://u:hun/ter2@h:8/x.png", "http://u:***@h:8/x.png"},
        {"http://u:hun?ter2@h/x.png", "http://u:***@h/x.png"},
        {"http://u:hun#ter2@h", "http://u:***@h"},
        {"http://u:a/b@c@h/p@2x.png", "http://u:***@h/p@2x.png"},
        {"failed http://u:p/w@h/x: why", "failed http://u:***@h/x: why"},
        {"https://cdn/x@2x.png", "https://cdn/x@2x.png"},
        {"http://h:80/a@b.png", "http://h:80/a@b.png"},
        {"http://[::1]/a@b.png", "http://[::1]/a@b.png"},
        {"http://[::1]:80/a@b.png", "http://[::1]:80/a@b.png"},
        {"http://h:abc/no-at", "http://h:abc/no-at"},
    };
    char out[128];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        imgpipe_redact(cases[i][0], out, sizeof(out));
        assert_string_equal(out, cases[i][1]);
        assert_int_equal(imgpipe_has_userinfo(cases[i][0]), strcmp(cases[i][0], cases[i][1]) != 0);
    }
}

/* The host is split from its userinfo as libcurl splits it, whatever the password holds. */
static void test_url_host_and_authority(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"https://h:8/x", "h:8"},
        {"http://u:pw@h/x", "h"},
        {"http://u:p@ss@h:8?q", "h:8"},
        {"http:///u:p\"w@h/x", "h"},
        {"http:/u:p\\w@h#f", "h"},
        {"HTTP://[::1]:8/x", "[::1]:8"},
        {"h/x", "h"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n;
        const char *h = imgpipe_url_host(cases[i][0], &n);
        assert_int_equal(n, strlen(cases[i][1]));
        assert_memory_equal(h, cases[i][1], n);
    }
    size_t len, info;
    const char *a = imgpipe_url_authority("http:///al:p'w@h:8/x", &len, &info);
    assert_non_null(a);
    assert_int_equal(len, strlen("al:p'w@h:8"));
    assert_int_equal(info, strlen("al:p'w@"));
    assert_memory_equal(a, "al:p'w@h:8", len);
    assert_null(imgpipe_url_authority("h/x", &len, &info));
    assert_null(imgpipe_url_authority("1http://u:p@h", &len, &info));
    assert_null(imgpipe_url_authority("mailto:u@h", &len, &info));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errf_formats_and_returns_status),
        cmocka_unit_test(test_errf_is_one_line),
        cmocka_unit_test(test_errf_hides_a_password_it_cuts),
        cmocka_unit_test(test_strerror_names_every_code),
        cmocka_unit_test(test_buf_grows),
        cmocka_unit_test(test_strvec_copies),
        cmocka_unit_test(test_sha256_known_answers),
        cmocka_unit_test(test_sha256_hex_round_trip),
        cmocka_unit_test(test_retry_delay_backs_off_with_jitter),
        cmocka_unit_test(test_redact_hides_url_passwords),
        cmocka_unit_test(test_redact_hides_what_libcurl_sends),
        cmocka_unit_test(test_redact_a_link_with_a_space),
        cmocka_unit_test(test_redact_a_password_with_a_slash),
        cmocka_unit_test(test_url_host_and_authority),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
