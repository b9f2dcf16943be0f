#include "testutil.h"
#include "store/name.h"
#include "store/nametpl.h"
#include "common/util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void assert_name(const char *url, const char *want)
{
    char out[IMGPIPE_NAME_MAX + 1];
    imgpipe_name_from_url(url, out);
    assert_string_equal(out, want);
}

/* The hash names show: of the URL as shown, its password hidden. */
static uint64_t shown_hash(const char *url)
{
    char *shown = imgpipe_redact_dup(url);
    uint64_t h = imgpipe_hash64(shown, strlen(shown));
    free(shown);
    return h;
}

/* "image-<16 hex of the URL's hash>", the name when nothing usable is left. */
static void fallback(const char *url, char *out)
{
    snprintf(out, IMGPIPE_NAME_MAX + 1, "image-%016" PRIx64, shown_hash(url));
}

static void assert_fallback(const char *url)
{
    char want[IMGPIPE_NAME_MAX + 1];
    fallback(url, want);
    assert_name(url, want);
}

/* "-<8 hex of the low 32 bits of the URL's hash>", the dedup tag. */
static void tag(const char *url, char *out)
{
    snprintf(out, 16, "-%08" PRIx32, (uint32_t)shown_hash(url));
}

/* Whether s is well-formed UTF-8 (no truncated or stray sequences). */
static int valid_utf8(const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    while (*s) {
        int n = *s < 0x80             ? 0
                : (*s & 0xE0) == 0xC0 ? 1
                : (*s & 0xF0) == 0xE0 ? 2
                : (*s & 0xF8) == 0xF0 ? 3
                                      : -1;
        if (n < 0)
            return 0;
        s++;
        for (int i = 0; i < n; i++, s++)
            if ((*s & 0xC0) != 0x80)
                return 0;
    }
    return 1;
}

/* "https://x/" + prefix + unit repeated count times + suffix, malloc'd. */
static char *long_url(const char *prefix, const char *unit, size_t count, const char *suffix)
{
    size_t cap = 16 + strlen(prefix) + strlen(unit) * count + strlen(suffix);
    char *url = malloc(cap);
    assert_non_null(url);
    char *p = url + sprintf(url, "https://x/%s", prefix);
    for (size_t i = 0; i < count; i++)
        p += sprintf(p, "%s", unit);
    strcpy(p, suffix);
    return url;
}

/* ---- imgpipe_name_from_url ------------------------------------------------------------ */

static void test_plain(void **state)
{
    (void)state;
    assert_name("https://i.imgur.com/abc.jpg", "abc.jpg");
    assert_name("http://host:8080/a/b/c/d.png", "d.png");
    assert_name("dir/file.png", "file.png");
    assert_name("file.png", "file.png");
    assert_name("https://x/con", "con");
    assert_name("https://x/a b.jpg", "a b.jpg");
    assert_name("https://x/Mixed.JPG", "Mixed.JPG");
}

static void test_query_and_fragment_dropped(void **state)
{
    (void)state;
    assert_name("https://x/a.jpg?x=1", "a.jpg");
    assert_name("https://x/a.jpg#frag", "a.jpg");
    assert_name("https://x/a.jpg?x=1#frag", "a.jpg");
    assert_name("https://x/a.jpg#f?x=1", "a.jpg");
    assert_name("https://x/a.jpg?next=/b/c.png", "a.jpg");
    assert_name("https://x/a.jpg#/b/c.png", "a.jpg");
}

static void test_percent_decoding(void **state)
{
    (void)state;
    assert_name("https://x/%41b%63.jpg", "Abc.jpg");
    assert_name("https://x/a%20b.jpg", "a b.jpg");
    assert_name("https://x/%C3%A9t%C3%A9.jpg", "\xC3\xA9t\xC3\xA9.jpg");
    /* Invalid escapes stay as they are. */
    assert_name("https://x/a%zz%4.jpg", "a%zz%4.jpg");
    assert_name("https://x/a%", "a%");
    assert_name("https://x/a%4", "a%4");
    assert_name("https://x/100%.jpg", "100%.jpg");
    /* Decoded once only. */
    assert_name("https://x/a%252F.jpg", "a%2F.jpg");
    /* The C1 controls (NEL, CSI) are control characters too, encoded or raw; the letters
     * next to them (U+00A0 and up, 0xC2 then the first byte of another) are kept. */
    assert_name("https://x/a%C2%85b%C2%9B.jpg", "ab.jpg");
    assert_name("https://x/a\xC2\x9F.jpg", "a.jpg");
    assert_name("https://x/%C2%A0%C2%BF.jpg", "\xC2\xA0\xC2\xBF.jpg");
    assert_name("https://x/a%C2", "a\xC2");
    /* a dropped control byte between must not join 0xC2 and the C1's second byte */
    assert_name("https://x/a%C2%01%9Bb.jpg", "ab.jpg");
    assert_name("https://x/a%C2%7F%0A%9Bb.jpg", "ab.jpg");
    assert_name("https://x/a%C2%01", "a\xC2");
    assert_name("https://x/%C2%C3%A9.jpg", "\xC2\xC3\xA9.jpg");
}

static void test_traversal_made_safe(void **state)
{
    (void)state;
    char out[IMGPIPE_NAME_MAX + 1];
    imgpipe_name_from_url("https://x/..%2F..%2Fetc%2Fpasswd", out);
    assert_null(strchr(out, '/'));
    assert_true(out[0] != '.');
    assert_string_equal(out, "_.._etc_passwd");
    assert_name("https://x/..%5C..%5Cwin.ini", "_.._win.ini");
    assert_name("https://x/a\\b.jpg", "a_b.jpg");
    assert_name("https://x/%2F", "_");
    assert_fallback("https://x/%2e%2e");
    assert_fallback("https://x/%2E");
}

static void test_dots_and_empty(void **state)
{
    (void)state;
    assert_fallback("");
    assert_fallback("..");
    assert_fallback(".");
    assert_fallback("https://x/..");
    assert_fallback("https://x/.");
    assert_fallback("https://x/...");
    assert_fallback("http://host/");
    assert_fallback("http://host");
    assert_fallback("http:///user:pw@host"); /* libcurl reads "http://user:pw@host/" */
    assert_fallback("http:/user:pw@host");
    /* a name never carries a hash of the password: two passwords, one name */
    char weak[IMGPIPE_NAME_MAX + 1], other[IMGPIPE_NAME_MAX + 1];
    imgpipe_name_from_url("http://user:weak@host/", weak);
    imgpipe_name_from_url("http://user:other@host/", other);
    assert_string_equal(weak, other);
    assert_int_equal(imgpipe_url_name_hash("https://tok@h/x"),
                     imgpipe_url_name_hash("https://k@h/x"));
    assert_int_not_equal(imgpipe_url_name_hash("https://h/x"),
                         imgpipe_url_name_hash("https://h/y"));
    assert_name("http:///user:pw@host/a.jpg", "a.jpg");
    assert_fallback("http://host?x=/a.jpg");
    assert_fallback("http://host#/a.jpg");
    assert_fallback("https://x/dir/");
    assert_fallback("https://x/a.jpg/");
    assert_fallback("/");
    assert_fallback("https://x/?q=a.jpg");
    assert_name("https://x/.hidden", "hidden");
    assert_name("https://x/...jpg", "jpg");
    assert_name("https://x/a..", "a..");
    /* Distinct URLs give distinct fallbacks. */
    char a[IMGPIPE_NAME_MAX + 1], b[IMGPIPE_NAME_MAX + 1];
    imgpipe_name_from_url("http://a/", a);
    imgpipe_name_from_url("http://b/", b);
    assert_string_not_equal(a, b);
    imgpipe_name_from_url(NULL, a);
    fallback("", b);
    assert_string_equal(a, b);
}

static void test_control_bytes_dropped(void **state)
{
    (void)state;
    assert_name("https://x/a\x01"
                "b\x7f"
                "c\t.jpg",
                "abc.jpg");
    assert_name("https://x/a%00b%0A%0d%7F.jpg", "ab.jpg");
    assert_name("https://x/%01.%02.jpg", "jpg");
    assert_fallback("https://x/%00%01%1f");
    assert_name("https://x/\x1b[31mred.jpg", "[31mred.jpg");
}

static void test_long_name_keeps_extension(void **state)
{
    (void)state;
    char out[IMGPIPE_NAME_MAX + 1];
    char *url = long_url("", "a", 1000, ".jpg");
    imgpipe_name_from_url(url, out);
    assert_int_equal(strlen(out), IMGPIPE_NAME_MAX);
    assert_string_equal(out + IMGPIPE_NAME_MAX - 4, ".jpg");
    assert_int_equal(strspn(out, "a"), IMGPIPE_NAME_MAX - 4);
    free(url);

    /* Exactly at the limit: unchanged; one more: cut. */
    url = long_url("", "b", IMGPIPE_NAME_MAX - 4, ".png");
    imgpipe_name_from_url(url, out);
    assert_string_equal(out, url + 10);
    free(url);
    url = long_url("", "b", IMGPIPE_NAME_MAX - 3, ".png");
    imgpipe_name_from_url(url, out);
    assert_int_equal(strlen(out), IMGPIPE_NAME_MAX);
    assert_string_equal(out + IMGPIPE_NAME_MAX - 4, ".png");
    free(url);

    /* Percent-escapes count by their decoded bytes. */
    url = long_url("", "%41", 1000, ".jpg");
    imgpipe_name_from_url(url, out);
    assert_int_equal(strlen(out), IMGPIPE_NAME_MAX);
    assert_int_equal(strspn(out, "A"), IMGPIPE_NAME_MAX - 4);
    free(url);
}

static void test_long_extension(void **state)
{
    (void)state;
    char out[IMGPIPE_NAME_MAX + 1];
    /* 16 bytes with the dot: kept. */
    char *url = long_url("", "a", 500, ".abcdefghijklmno");
    imgpipe_name_from_url(url, out);
    assert_int_equal(strlen(out), IMGPIPE_NAME_MAX);
    assert_string_equal(out + IMGPIPE_NAME_MAX - 16, ".abcdefghijklmno");
    free(url);
    /* 17 bytes: not an extension worth keeping; a plain cut. */
    url = long_url("", "a", 500, ".abcdefghijklmnop");
    imgpipe_name_from_url(url, out);
    assert_int_equal(strlen(out), IMGPIPE_NAME_MAX);
    assert_int_equal(strspn(out, "a"), IMGPIPE_NAME_MAX);
    free(url);
    /* A name that is mostly extension. */
    url = long_url("a.", "b", 1000, "");
    imgpipe_name_from_url(url, out);
    assert_int_equal(strlen(out), IMGPIPE_NAME_MAX);
    assert_memory_equal(out, "a.bbb", 5);
    free(url);
}

static void test_utf8_never_split(void **state)
{
    (void)state;
    char out[IMGPIPE_NAME_MAX + 1];
    /* "a" + e-acute...: the cut at 196 falls inside a 2-byte sequence; it moves back to 195. */
    char *url = long_url("a", "\xC3\xA9", 600, ".jpg");
    imgpipe_name_from_url(url, out);
    assert_true(valid_utf8(out));
    assert_int_equal(strlen(out), IMGPIPE_NAME_MAX - 1);
    assert_string_equal(out + strlen(out) - 4, ".jpg");
    free(url);
    /* Percent-encoded, no extension: the cut at 200 moves back to 199. */
    url = long_url("a", "%C3%A9", 600, "");
    imgpipe_name_from_url(url, out);
    assert_true(valid_utf8(out));
    assert_int_equal(strlen(out), IMGPIPE_NAME_MAX - 1);
    free(url);
    /* 4-byte sequences at each offset against the cut. */
    for (int pad = 0; pad < 4; pad++) {
        char prefix[8] = "";
        memset(prefix, 'x', (size_t)pad);
        url = long_url(prefix, "\xF0\x9F\x98\x80", 100, ".png");
        imgpipe_name_from_url(url, out);
        assert_true(valid_utf8(out));
        assert_true(strlen(out) <= IMGPIPE_NAME_MAX && strlen(out) > IMGPIPE_NAME_MAX - 4);
        assert_string_equal(out + strlen(out) - 4, ".png");
        free(url);
    }
    /* Not UTF-8 at all (Latin-1 bytes): cut at the limit, nothing to protect. */
    url = long_url("", "\xE9", 300, "");
    imgpipe_name_from_url(url, out);
    assert_int_equal(strlen(out), IMGPIPE_NAME_MAX);
    free(url);
}

/* ---- imgpipe_nameset ------------------------------------------------------------------ */

static void assign(imgpipe_nameset *set, const char *url, char *out)
{
    assert_int_equal(imgpipe_nameset_assign(set, url, out), IMGPIPE_OK);
}

static void test_same_name_twice(void **state)
{
    (void)state;
    imgpipe_nameset *set = imgpipe_nameset_new();
    assert_non_null(set);
    char out[IMGPIPE_NAME_MAX + 1], want[IMGPIPE_NAME_MAX + 1], t[16];
    assign(set, "https://x/a.jpg", out);
    assert_string_equal(out, "a.jpg");
    assign(set, "https://y/a.jpg", out);
    tag("https://y/a.jpg", t);
    snprintf(want, sizeof(want), "a%s.jpg", t);
    assert_string_equal(out, want);
    /* The same URL again: its tag is taken too, so a counter follows. */
    assign(set, "https://y/a.jpg", out);
    snprintf(want, sizeof(want), "a%s-2.jpg", t);
    assert_string_equal(out, want);
    assign(set, "https://y/a.jpg", out);
    snprintf(want, sizeof(want), "a%s-3.jpg", t);
    assert_string_equal(out, want);
    /* No extension: the tag goes at the end. */
    assign(set, "https://x/noext", out);
    assign(set, "https://y/noext", out);
    tag("https://y/noext", t);
    snprintf(want, sizeof(want), "noext%s", t);
    assert_string_equal(out, want);
    imgpipe_nameset_free(set);
    imgpipe_nameset_free(NULL);
}

/* A thumbnail's tag before an extension too long to keep apart: every suffixed candidate
 * would still read as a thumbnail's name, so the walk must leave that shape, not spin. */
static void test_thumb_tag_before_long_extension(void **state)
{
    (void)state;
    imgpipe_nameset *set = imgpipe_nameset_new();
    assert_non_null(set);
    char a[IMGPIPE_NAME_MAX + 1], b[IMGPIPE_NAME_MAX + 1];
    const char *url = "https://h/x_thumbnail.an-extension-far-too-long";
    assign(set, url, a);
    assign(set, url, b);
    assert_false(imgpipe_is_thumb_name(a));
    assert_false(imgpipe_is_thumb_name(b));
    assert_string_not_equal(a, b);
    imgpipe_nameset_free(set);
}

/* The same link a thousand times: a thousand names, each new (the walk resumes where the
 * last one ended; the fuzzer found the walk from the start quadratic). */
static void test_same_url_many_times(void **state)
{
    (void)state;
    imgpipe_nameset *set = imgpipe_nameset_new();
    assert_non_null(set);
    char out[IMGPIPE_NAME_MAX + 1], want[IMGPIPE_NAME_MAX + 1], t[16];
    tag("https://y/a.jpg", t);
    for (int i = 0; i < 1000; i++) {
        assign(set, "https://y/a.jpg", out);
        if (i >= 2) {
            snprintf(want, sizeof(want), "a%s-%d.jpg", t, i);
            assert_string_equal(out, want);
        }
    }
    imgpipe_nameset_free(set);
}

static void test_three_way_collision(void **state)
{
    (void)state;
    imgpipe_nameset *set = imgpipe_nameset_new();
    char a[IMGPIPE_NAME_MAX + 1], b[IMGPIPE_NAME_MAX + 1], c[IMGPIPE_NAME_MAX + 1];
    char want[IMGPIPE_NAME_MAX + 1], t[16];
    assign(set, "https://x/p.png", a);
    assign(set, "https://y/p.png", b);
    assign(set, "https://z/p.png?v=2", c);
    assert_string_equal(a, "p.png");
    assert_string_not_equal(a, b);
    assert_string_not_equal(b, c);
    assert_string_not_equal(a, c);
    tag("https://z/p.png?v=2", t);
    snprintf(want, sizeof(want), "p%s.png", t);
    assert_string_equal(c, want);
    imgpipe_nameset_free(set);
}

static void test_tagged_name_already_taken(void **state)
{
    (void)state;
    imgpipe_nameset *set = imgpipe_nameset_new();
    char out[IMGPIPE_NAME_MAX + 1], url[128], want[IMGPIPE_NAME_MAX + 1], t[16];
    tag("https://z/a.jpg", t);
    snprintf(url, sizeof(url), "https://x/a%s.jpg", t);
    assign(set, "https://x/a.jpg", out);
    assign(set, url, out); /* takes the name https://z/a.jpg would get second */
    assign(set, "https://z/a.jpg", out);
    snprintf(want, sizeof(want), "a%s-2.jpg", t);
    assert_string_equal(out, want);
    imgpipe_nameset_free(set);
}

/* The queue's registry walks names with imgpipe_name_candidate: the walk must be the
 * set's, so a URL gets the same name from either (the tagged names above included). */
static void test_candidate_walk_is_the_sets(void **state)
{
    (void)state;
    imgpipe_nameset *set = imgpipe_nameset_new();
    char out[IMGPIPE_NAME_MAX + 1], c[IMGPIPE_NAME_MAX + 1], url[128], t[16];
    tag("https://z/a.jpg", t);
    snprintf(url, sizeof(url), "https://x/a%s.jpg", t);
    assign(set, "https://x/a.jpg", out);
    assign(set, url, out);
    assign(set, "https://z/a.jpg", out); /* the third candidate of https://z/a.jpg */
    imgpipe_name_candidate("a.jpg", "https://z/a.jpg", 0, c);
    assert_string_equal(c, "a.jpg");
    imgpipe_name_candidate("a.jpg", "https://z/a.jpg", 2, c);
    assert_string_equal(c, out);
    for (uint64_t n = 1; n < 50; n++) { /* distinct, never a thumbnail's name */
        char d[IMGPIPE_NAME_MAX + 1];
        imgpipe_name_candidate("a_thumbnail.jpg", "https://z/a_thumbnail.jpg", n, c);
        imgpipe_name_candidate("a_thumbnail.jpg", "https://z/a_thumbnail.jpg", n + 1, d);
        assert_false(imgpipe_is_thumb_name(c));
        assert_string_not_equal(c, d);
    }
    imgpipe_nameset_free(set);
}

/* A name held aside for a link (its recorded name, a file holding its bytes): the same
 * link finds it its own (a duplicate), another link cannot claim it, case folded. */
static void test_reserve(void **state)
{
    (void)state;
    imgpipe_nameset *set = imgpipe_nameset_new();
    char out[IMGPIPE_NAME_MAX + 1];
    assert_int_equal(imgpipe_nameset_reserve(set, "a-1.jpg", "https://x/a.jpg"), 0);
    assert_int_equal(imgpipe_nameset_reserve(set, "a-1.jpg", "https://x/a.jpg"), 1);
    assert_int_equal(imgpipe_nameset_reserve(set, "A-1.JPG", "https://y/a.jpg"), 2);
    assert_int_equal(imgpipe_nameset_claim(set, "a-1.jpg", "https://y/a.jpg", NULL, NULL, out), 0);
    assert_string_not_equal(out, "a-1.jpg");
    imgpipe_nameset_free(set);
}

static void test_fallback_and_long_names_dedup(void **state)
{
    (void)state;
    imgpipe_nameset *set = imgpipe_nameset_new();
    char a[IMGPIPE_NAME_MAX + 1], b[IMGPIPE_NAME_MAX + 1], c[IMGPIPE_NAME_MAX + 1];
    assign(set, "http://host/", a);
    assign(set, "http://host/", b);
    assert_string_not_equal(a, b);
    assert_memory_equal(a, b, strlen(a));

    char *url = long_url("", "\xC3\xA9", 600, ".jpg");
    assign(set, url, a);
    assign(set, url, b);
    assign(set, url, c);
    for (const char *s = a; s; s = s == a ? b : s == b ? c : NULL) {
        assert_true(strlen(s) <= IMGPIPE_NAME_MAX);
        assert_true(valid_utf8(s));
        assert_string_equal(s + strlen(s) - 4, ".jpg");
    }
    assert_string_not_equal(a, b);
    assert_string_not_equal(b, c);
    assert_string_not_equal(a, c);
    free(url);
    imgpipe_nameset_free(set);
}

static void test_deterministic(void **state)
{
    (void)state;
    static const char *const urls[] = {"https://x/a.jpg", "https://y/a.jpg", "https://x/a.jpg",
                                       "http://h/",       "http://h/",       "https://x/b.png",
                                       "https://z/a.jpg", "https://x/a.jpg"};
    size_t n = sizeof(urls) / sizeof(urls[0]);
    imgpipe_nameset *s1 = imgpipe_nameset_new(), *s2 = imgpipe_nameset_new();
    char a[IMGPIPE_NAME_MAX + 1], b[IMGPIPE_NAME_MAX + 1];
    for (size_t i = 0; i < n; i++) {
        assign(s1, urls[i], a);
        assign(s2, urls[i], b);
        assert_string_equal(a, b);
    }
    imgpipe_nameset_free(s1);
    imgpipe_nameset_free(s2);
}

static void test_many_distinct_names(void **state)
{
    (void)state;
    imgpipe_nameset *set = imgpipe_nameset_new();
    char url[64], want[64], out[IMGPIPE_NAME_MAX + 1];
    for (int i = 0; i < 100000; i++) {
        snprintf(url, sizeof(url), "https://x/img%d.jpg", i);
        assign(set, url, out);
        snprintf(want, sizeof(want), "img%d.jpg", i);
        assert_string_equal(out, want);
    }
    /* Every one of them is remembered after all the growing. */
    for (int i = 0; i < 100000; i += 997) {
        snprintf(url, sizeof(url), "https://y/img%d.jpg", i);
        assign(set, url, out);
        snprintf(want, sizeof(want), "img%d.jpg", i);
        assert_string_not_equal(out, want);
    }
    imgpipe_nameset_free(set);
}

static void test_template_fields(void **state)
{
    (void)state;
    char out[IMGPIPE_NAME_MAX + 1];
    const char *url = "https://i.example.com:8080/a/b/Abc12.jpg?x=1";
    imgpipe_name_expand("{index}-{id}{ext}", url, 42, "", out);
    assert_string_equal(out, "42-Abc12.jpg");
    imgpipe_name_expand("{host}_{stem}.{name}", url, 0, "", out);
    assert_string_equal(out, "i.example.com:8080_Abc12.Abc12.jpg");
    imgpipe_name_expand("{sha256}{ext}", url, 0, "00ff", out);
    assert_string_equal(out, "00ff.jpg");
    imgpipe_name_expand("{hash}", url, 0, "", out);
    assert_int_equal(strlen(out), 16);
    /* a field that expands to nothing leaves a name that is still safe */
    imgpipe_name_expand("{ext}", "http://h/noext", 0, "", out);
    assert_true(strncmp(out, "image-", 6) == 0);
    /* long expansions are cut to the limit, extension kept */
    char tpl[600];
    memset(tpl, 'z', 500);
    strcpy(tpl + 500, "{ext}");
    imgpipe_name_expand(tpl, url, 0, "", out);
    assert_int_equal(strlen(out), IMGPIPE_NAME_MAX);
    assert_string_equal(out + IMGPIPE_NAME_MAX - 4, ".jpg");
}

static void test_template_check(void **state)
{
    (void)state;
    char err[IMGPIPE_ERRLEN];
    assert_int_equal(imgpipe_name_template_check("{index}-{name}", err), IMGPIPE_OK);
    assert_int_equal(imgpipe_name_template_check("{sha256}{ext}", err), IMGPIPE_OK);
    const char *bad[] = {"a/{name}", "a\\{name}", ".{name}",  "name",
                         "{nope}",   "{name",     "x\x01{id}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(imgpipe_name_template_check(bad[i], err), IMGPIPE_EINVAL);
    assert_true(imgpipe_name_template_has_sha("x{sha256}"));
    assert_false(imgpipe_name_template_has_sha("{name}"));
}

static void test_shard(void **state)
{
    (void)state;
    char out[IMGPIPE_RELNAME_MAX + 1], again[IMGPIPE_RELNAME_MAX + 1];
    imgpipe_name_shard("img0001.jpg", out);
    imgpipe_name_shard("img0001.jpg", again);
    assert_string_equal(out, again);
    assert_int_equal(out[2], '/');
    assert_non_null(strchr("0123456789abcdef", out[0]));
    assert_string_equal(out + 3, "img0001.jpg");
}

/* Sizes as vipsthumbnail takes them; everything else refused. */
static void test_parse_size(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int w, h;
    } good[] = {{"128", 128, 128}, {"128x96", 128, 96}, {"128x", 128, 0},
                {"x96", 0, 96},    {"1X1", 1, 1},       {"65535", 65535, 65535}};
    static const char *const bad[] = {"",      "x",    "0",    "0x5",  "5x0",
                                      "65536", "12y",  "x12x", "12xx", "-5",
                                      "+5",    " 5",   "5 ",   "5x-1", "99999999999999999999",
                                      "xx",    "1x2x3"};
    imgpipe_thumb_size s;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        assert_int_equal(imgpipe_parse_size(good[i].text, &s), 0);
        if (s.width != good[i].w || s.height != good[i].h)
            fail_msg("'%s' gave %dx%d", good[i].text, s.width, s.height);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (imgpipe_parse_size(bad[i], &s) == 0)
            fail_msg("'%s' was taken as a size", bad[i]);
}

/* Names for an output format: the format's extension after the source's unless the
 * source's is one of the format's; every name is a thumbnail's, no two sources share. */
static void test_thumb_name_formats(void **state)
{
    (void)state;
    static const struct {
        const char *src, *format;
        int w, h, sized;
        const char *want;
    } cases[] = {
        {"a.png", "webp", 1, 1, 0, "a_thumbnail.png.webp"},
        {"a.gif", "webp", 1, 1, 0, "a_thumbnail.gif.webp"},
        {"a.webp", "webp", 1, 1, 0, "a_thumbnail.webp"},
        {"a.JPEG", "jpeg", 1, 1, 0, "a_thumbnail.JPEG"},
        {"a.jpg", "avif", 64, 0, 1, "a_thumbnail_64x.jpg.avif"},
        {"a.jpg", NULL, 0, 48, 1, "a_thumbnail_x48.jpg"},
        {"a.gif", NULL, 1, 1, 0, "a_thumbnail.gif.png"},
        {"a.heic", NULL, 1, 1, 0, "a_thumbnail.heic.jpg"},
        {"a.HEIF", "png", 1, 1, 0, "a_thumbnail.HEIF.png"},
        {"noext", "webp", 1, 1, 0, "noext_thumbnail"},
        {"a.tar", "png", 1, 1, 0, "a_thumbnail.tar.png"},
    };
    char out[256];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        imgpipe_thumb_size sz = {cases[i].w, cases[i].h};
        assert_int_equal(imgpipe_thumb_name_as(cases[i].src, &sz, cases[i].sized, cases[i].format,
                                               out, sizeof(out)),
                         0);
        assert_string_equal(out, cases[i].want);
        assert_true(imgpipe_is_thumb_name(out));
    }
    imgpipe_thumb_size sz = {1, 1};
    assert_int_equal(imgpipe_thumb_name_as("a.png", &sz, 0, "gif", out, sizeof(out)),
                     IMGPIPE_EINVAL);
    /* sources are not thumbnails, even with two extensions */
    assert_false(imgpipe_is_thumb_name("a.png.webp"));
    assert_false(imgpipe_is_thumb_name("a_thumbnail-1b2c3d4e.png.webp"));
    assert_false(imgpipe_is_thumb_name("a_thumbnail.png.txt"));
    assert_true(imgpipe_is_thumb_name("a_thumbnail_x64.png"));
    assert_true(imgpipe_is_thumb_name("a_thumbnail_64x.gif.avif"));
    assert_false(imgpipe_is_thumb_name("a_thumbnail_x.png"));
    /* one file with a thumbnail's name on a case-insensitive file system */
    assert_true(imgpipe_is_thumb_name("C_THUMBNAIL.PNG"));
    assert_true(imgpipe_is_thumb_name("x_Thumbnail.jpg"));
    assert_true(imgpipe_is_thumb_name("x_thumbNAIL_64X64.jpg"));
    assert_true(imgpipe_is_thumb_name("a_THUMBNAIL.GIF.PNG"));
    assert_false(imgpipe_is_thumb_name("A_THUMBNAILS.PNG"));
    /* the suffixed candidate of a link named like a format's thumbnail leaves that shape */
    imgpipe_nameset *set = imgpipe_nameset_new();
    char a[IMGPIPE_NAME_MAX + 1];
    assert_int_equal(imgpipe_nameset_assign(set, "https://h/a_thumbnail.png.webp", a), 0);
    assert_false(imgpipe_is_thumb_name(a));
    /* ... and keeps both extensions: a_thumbnail-<8 hex>.png.webp */
    assert_int_equal(strncmp(a, "a_thumbnail-", 12), 0);
    assert_int_equal(strlen(a), strlen("a_thumbnail-12345678.png.webp"));
    assert_string_equal(a + 20, ".png.webp");
    assert_int_equal(imgpipe_nameset_assign(set, "https://h/X_THUMBNAIL.GIF.PNG", a), 0);
    assert_false(imgpipe_is_thumb_name(a));
    assert_string_equal(a + 20, ".GIF.PNG");
    imgpipe_nameset_free(set);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_size),
        cmocka_unit_test(test_thumb_name_formats),
        cmocka_unit_test(test_template_fields),
        cmocka_unit_test(test_template_check),
        cmocka_unit_test(test_shard),
        cmocka_unit_test(test_plain),
        cmocka_unit_test(test_query_and_fragment_dropped),
        cmocka_unit_test(test_percent_decoding),
        cmocka_unit_test(test_traversal_made_safe),
        cmocka_unit_test(test_dots_and_empty),
        cmocka_unit_test(test_control_bytes_dropped),
        cmocka_unit_test(test_long_name_keeps_extension),
        cmocka_unit_test(test_long_extension),
        cmocka_unit_test(test_utf8_never_split),
        cmocka_unit_test(test_same_name_twice),
        cmocka_unit_test(test_three_way_collision),
        cmocka_unit_test(test_thumb_tag_before_long_extension),
        cmocka_unit_test(test_same_url_many_times),
        cmocka_unit_test(test_tagged_name_already_taken),
        cmocka_unit_test(test_candidate_walk_is_the_sets),
        cmocka_unit_test(test_reserve),
        cmocka_unit_test(test_fallback_and_long_names_dedup),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_many_distinct_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
