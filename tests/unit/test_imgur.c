#include "testutil.h"
#include "source/imgur.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parses s; the result vector and counts are left in the out parameters. */
static int parse(const char *s, imgpipe_strvec *links, imgpipe_source_counts *counts, char *err)
{
    memset(counts, 0, sizeof(*counts));
    err[0] = '\0';
    return imgpipe_imgur_parse(s, strlen(s), links, counts, err);
}

static void assert_links(const imgpipe_strvec *links, const char *const *want, size_t n)
{
    assert_int_equal(links->n, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(links->v[i], want[i]);
}

static const char GALLERY[] =
    "{\"data\":["
    "{\"id\":\"a\",\"type\":\"image/jpeg\",\"link\":\"https://i.imgur.com/a.jpg\"},"
    "{\"id\":\"b\",\"type\":\"image/png\",\"link\":\"http://i.imgur.com/b.png\"},"
    "{\"id\":\"c\",\"type\":\"image/gif\",\"link\":\"https://i.imgur.com/c.gif\"},"
    "{\"id\":\"d\",\"type\":\"video/mp4\",\"link\":\"https://i.imgur.com/d.mp4\"},"
    "{\"id\":\"e\",\"is_album\":true,\"images\":["
    "  {\"type\":\"image/jpeg\",\"link\":\"https://i.imgur.com/e1.jpg\"},"
    "  {\"type\":\"image/gif\",\"link\":\"https://i.imgur.com/e2.gif\"},"
    "  {\"type\":\"IMAGE/PNG\",\"link\":\"https://i.imgur.com/e3.png\"}]},"
    "{\"id\":\"f\",\"is_album\":true,\"link\":\"https://imgur.com/a/f\"},"
    "{\"id\":\"g\",\"is_album\":true,\"images\":[]},"
    "{\"id\":\"h\",\"is_album\":false,\"type\":\"image/jpeg\",\"link\":\"https://i.imgur.com/"
    "h.jpg\"}"
    "],\"success\":true,\"status\":200}";

static void test_gallery_filters_and_expands(void **state)
{
    (void)state;
    imgpipe_strvec links = {0};
    imgpipe_source_counts c;
    char err[IMGPIPE_ERRLEN];
    assert_int_equal(parse(GALLERY, &links, &c, err), IMGPIPE_OK);
    static const char *const want[] = {"https://i.imgur.com/a.jpg", "http://i.imgur.com/b.png",
                                       "https://i.imgur.com/e1.jpg", "https://i.imgur.com/e3.png",
                                       "https://i.imgur.com/h.jpg"};
    assert_links(&links, want, 5);
    assert_int_equal(c.links, 5);
    assert_int_equal(c.skipped_type, 3);  /* c.gif, d.mp4, e2.gif */
    assert_int_equal(c.skipped_album, 2); /* f (no images[]), g (empty) */
    assert_int_equal(c.skipped_lines, 0);
    imgpipe_strvec_free(&links);
}

static void test_counts_accumulate_and_links_append(void **state)
{
    (void)state;
    imgpipe_strvec links = {0};
    imgpipe_source_counts c = {0};
    char err[IMGPIPE_ERRLEN];
    assert_int_equal(imgpipe_imgur_parse(GALLERY, strlen(GALLERY), &links, &c, err), 0);
    assert_int_equal(imgpipe_imgur_parse(GALLERY, strlen(GALLERY), &links, &c, err), 0);
    assert_int_equal(links.n, 10);
    assert_int_equal(c.links, 10);
    assert_int_equal(c.skipped_type, 6);
    assert_int_equal(c.skipped_album, 4);
    /* counts may be NULL when the caller does not want them. */
    assert_int_equal(imgpipe_imgur_parse(GALLERY, strlen(GALLERY), &links, NULL, err), 0);
    assert_int_equal(links.n, 15);
    imgpipe_strvec_free(&links);
}

static void test_album_object(void **state)
{
    (void)state;
    imgpipe_strvec links = {0};
    imgpipe_source_counts c;
    char err[IMGPIPE_ERRLEN];
    const char *json = "{\"data\":{\"id\":\"x\",\"title\":\"t\",\"is_album\":true,\"images\":["
                       "{\"type\":\"image/png\",\"link\":\"https://i.imgur.com/1.png\"},"
                       "{\"type\":\"video/mp4\",\"link\":\"https://i.imgur.com/2.mp4\"},"
                       "{\"type\":\"image/jpeg\",\"link\":\"https://i.imgur.com/3.jpg\"}]},"
                       "\"success\":true,\"status\":200}";
    assert_int_equal(parse(json, &links, &c, err), IMGPIPE_OK);
    static const char *const want[] = {"https://i.imgur.com/1.png", "https://i.imgur.com/3.jpg"};
    assert_links(&links, want, 2);
    assert_int_equal(c.links, 2);
    assert_int_equal(c.skipped_type, 1);
    assert_int_equal(c.skipped_album, 0);
    imgpipe_strvec_free(&links);
}

static void test_album_images_array(void **state)
{
    (void)state;
    imgpipe_strvec links = {0};
    imgpipe_source_counts c;
    char err[IMGPIPE_ERRLEN];
    const char *json =
        "{\"data\":["
        "{\"id\":\"1\",\"type\":\"image/jpeg\",\"link\":\"https://i.imgur.com/1.jpg\"},"
        "{\"id\":\"2\",\"type\":\"image/gif\",\"link\":\"https://i.imgur.com/2.gif\"}"
        "],\"success\":true,\"status\":200}";
    assert_int_equal(parse(json, &links, &c, err), IMGPIPE_OK);
    static const char *const want[] = {"https://i.imgur.com/1.jpg"};
    assert_links(&links, want, 1);
    assert_int_equal(c.skipped_type, 1);
    imgpipe_strvec_free(&links);
}

static void test_empty_album_object_counts_skipped_album(void **state)
{
    (void)state;
    imgpipe_strvec links = {0};
    imgpipe_source_counts c;
    char err[IMGPIPE_ERRLEN];
    assert_int_equal(parse("{\"data\":{\"images\":[]},\"success\":true}", &links, &c, err), 0);
    assert_int_equal(links.n, 0);
    assert_int_equal(c.skipped_album, 1);
    assert_int_equal(parse("{\"data\":{\"is_album\":true},\"success\":true}", &links, &c, err), 0);
    assert_int_equal(c.skipped_album, 1);
    imgpipe_strvec_free(&links);
}

static void test_tag_items(void **state)
{
    (void)state;
    imgpipe_strvec links = {0};
    imgpipe_source_counts c;
    char err[IMGPIPE_ERRLEN];
    const char *json =
        "{\"data\":{\"name\":\"cats\",\"display_name\":\"Cats\",\"total_items\":3,\"items\":["
        "{\"id\":\"a\",\"type\":\"image/jpeg\",\"link\":\"https://i.imgur.com/a.jpg\"},"
        "{\"id\":\"b\",\"type\":\"image/gif\",\"link\":\"https://i.imgur.com/b.gif\"},"
        "{\"id\":\"c\",\"is_album\":true,\"images\":["
        "  {\"type\":\"image/png\",\"link\":\"https://i.imgur.com/c1.png\"}]},"
        "{\"id\":\"d\",\"is_album\":true}"
        "]},\"success\":true,\"status\":200}";
    assert_int_equal(parse(json, &links, &c, err), IMGPIPE_OK);
    static const char *const want[] = {"https://i.imgur.com/a.jpg", "https://i.imgur.com/c1.png"};
    assert_links(&links, want, 2);
    assert_int_equal(c.skipped_type, 1);
    assert_int_equal(c.skipped_album, 1);
    imgpipe_strvec_free(&links);
}

/* An empty page adds nothing to any count; that is how a source sees pagination end. */
static void test_empty_pages_count_nothing(void **state)
{
    (void)state;
    imgpipe_strvec links = {0};
    imgpipe_source_counts c;
    char err[IMGPIPE_ERRLEN];
    assert_int_equal(parse("{\"data\":[],\"success\":true,\"status\":200}", &links, &c, err), 0);
    assert_int_equal(c.links + c.skipped_type + c.skipped_album, 0);
    assert_int_equal(
        parse("{\"data\":{\"name\":\"cats\",\"items\":[]},\"success\":true}", &links, &c, err), 0);
    assert_int_equal(c.links + c.skipped_type + c.skipped_album, 0);
    /* A page of gifs only is not empty. */
    assert_int_equal(parse("{\"data\":[{\"type\":\"image/gif\",\"link\":\"https://x/a.gif\"}]}",
                           &links, &c, err),
                     0);
    assert_int_equal(c.skipped_type, 1);
    assert_int_equal(links.n, 0);
}

static void test_api_error_string(void **state)
{
    (void)state;
    imgpipe_strvec links = {0};
    imgpipe_source_counts c;
    char err[IMGPIPE_ERRLEN];
    const char *json = "{\"data\":{\"error\":\"Authentication required\",\"request\":"
                       "\"/3/gallery/hot\",\"method\":\"GET\"},\"success\":false,\"status\":403}";
    assert_int_equal(parse(json, &links, &c, err), IMGPIPE_EAPI);
    assert_string_equal(err, "Imgur API error (status 403): Authentication required");
    assert_int_equal(links.n, 0);
    assert_int_equal(c.links, 0);
}

static void test_api_error_object(void **state)
{
    (void)state;
    imgpipe_strvec links = {0};
    imgpipe_source_counts c;
    char err[IMGPIPE_ERRLEN];
    const char *json = "{\"data\":{\"error\":{\"code\":2008,\"message\":\"Imgur is temporarily "
                       "over capacity\",\"type\":\"ImgurException\"},\"request\":\"/3/album/x\","
                       "\"method\":\"GET\"},\"success\":false,\"status\":429}";
    assert_int_equal(parse(json, &links, &c, err), IMGPIPE_EAPI);
    assert_non_null(strstr(err, "Imgur is temporarily over capacity"));
    assert_non_null(strstr(err, "429"));
}

static void test_api_error_odd_shapes(void **state)
{
    (void)state;
    imgpipe_strvec links = {0};
    imgpipe_source_counts c;
    char err[IMGPIPE_ERRLEN];
    /* No error text at all, and no status. */
    assert_int_equal(parse("{\"success\":false}", &links, &c, err), IMGPIPE_EAPI);
    assert_non_null(strstr(err, "Imgur API error"));
    /* error is a number; status is a string. */
    assert_int_equal(
        parse("{\"data\":{\"error\":5},\"success\":false,\"status\":\"x\"}", &links, &c, err),
        IMGPIPE_EAPI);
    /* error object with a code only. */
    assert_int_equal(parse("{\"data\":{\"error\":{\"code\":2008}},\"success\":false,"
                           "\"status\":429}",
                           &links, &c, err),
                     IMGPIPE_EAPI);
    assert_string_equal(err, "Imgur API error (status 429): error code 2008");
    /* no "success" but an error. */
    assert_int_equal(parse("{\"data\":{\"error\":\"Bad\"},\"status\":500}", &links, &c, err),
                     IMGPIPE_EAPI);
    assert_string_equal(err, "Imgur API error (status 500): Bad");
    /* control bytes in the server's text do not reach the terminal. */
    assert_int_equal(
        parse("{\"data\":{\"error\":\"a\\u001b[31mb\"},\"success\":false,\"status\":400}", &links,
              &c, err),
        IMGPIPE_EAPI);
    assert_null(strchr(err, 0x1b));
    assert_int_equal(links.n, 0);
}

static void test_malformed_json(void **state)
{
    (void)state;
    imgpipe_strvec links = {0};
    imgpipe_source_counts c;
    char err[IMGPIPE_ERRLEN];
    assert_int_equal(parse("{\"data\": [1, 2,, 3]}", &links, &c, err), IMGPIPE_EAPI);
    assert_non_null(strstr(err, "malformed JSON at line 1, column"));
    assert_int_equal(parse("{\"data\":\n[\n}", &links, &c, err), IMGPIPE_EAPI);
    assert_non_null(strstr(err, "line 3"));
    assert_int_equal(parse("", &links, &c, err), IMGPIPE_EAPI);
    assert_non_null(strstr(err, "malformed JSON"));
    assert_int_equal(parse("<html>502 Bad Gateway</html>", &links, &c, err), IMGPIPE_EAPI);
    assert_int_equal(imgpipe_imgur_parse(NULL, 0, &links, &c, err), IMGPIPE_EAPI);
    /* A NUL inside the buffer, and a buffer that is not NUL-terminated at len. */
    assert_int_equal(imgpipe_imgur_parse("{\"data\":[]}\0x", 13, &links, &c, err), IMGPIPE_EAPI);
    assert_int_equal(imgpipe_imgur_parse("{\"data\":[]}garbage", 11, &links, &c, err), 0);
    assert_int_equal(links.n, 0);
}

static void test_wrong_shapes(void **state)
{
    (void)state;
    imgpipe_strvec links = {0};
    imgpipe_source_counts c;
    char err[IMGPIPE_ERRLEN];
    assert_int_equal(parse("{\"data\":5,\"success\":true}", &links, &c, err), IMGPIPE_EAPI);
    assert_string_equal(err, "Imgur API answer has an unexpected shape: \"data\" is neither a "
                             "list of items, a tag nor an album");
    assert_int_equal(parse("{\"data\":{\"id\":1},\"success\":true}", &links, &c, err),
                     IMGPIPE_EAPI);
    assert_int_equal(parse("{\"data\":{\"images\":\"x\"},\"success\":true}", &links, &c, err),
                     IMGPIPE_EAPI);
    /* A tag whose items are not a list. */
    assert_int_equal(
        parse("{\"data\":{\"name\":\"cats\",\"items\":{}},\"success\":true}", &links, &c, err),
        IMGPIPE_EAPI);
    assert_int_equal(parse("{\"success\":true}", &links, &c, err), IMGPIPE_EAPI);
    assert_non_null(strstr(err, "unexpected shape"));
    assert_int_equal(parse("[1,2,3]", &links, &c, err), IMGPIPE_EAPI);
    assert_int_equal(parse("\"data\"", &links, &c, err), IMGPIPE_EAPI);
    assert_int_equal(parse("null", &links, &c, err), IMGPIPE_EAPI);
    assert_int_equal(links.n, 0);
}

static void test_bad_items_are_skipped(void **state)
{
    (void)state;
    imgpipe_strvec links = {0};
    imgpipe_source_counts c;
    char err[IMGPIPE_ERRLEN];
    const char *json =
        "{\"data\":[1, \"x\", null, [], {}, true,"
        "{\"type\":\"image/jpeg\"},"
        "{\"type\":\"image/jpeg\",\"link\":5},"
        "{\"type\":\"image/jpeg\",\"link\":[\"https://x/a.jpg\"]},"
        "{\"type\":7,\"link\":\"https://x/a.jpg\"},"
        "{\"type\":\"image/jpeg\",\"link\":\"file:///etc/passwd\"},"
        "{\"type\":\"image/jpeg\",\"link\":\"javascript:alert(1)\"},"
        "{\"type\":\"image/jpeg\",\"link\":\"https://\"},"
        "{\"type\":\"image/jpeg\",\"link\":\"https://x/a b.jpg\"},"
        "{\"type\":\"image/jpeg\",\"link\":\"https://x/a\\n.jpg\"},"
        "{\"type\":\"image/jpegx\",\"link\":\"https://x/a.jpg\"},"
        "{\"type\":\"image/jpeg\",\"link\":\"HTTPS://x/ok.jpg\"},"
        "{\"is_album\":true,\"images\":5},"
        "{\"is_album\":true,\"images\":[1,{\"type\":\"image/png\",\"link\":\"ftp://x/a.png\"}]},"
        "{\"is_album\":\"yes\",\"type\":\"image/png\",\"link\":\"https://x/b.png\"}"
        "],\"success\":true,\"status\":200}";
    assert_int_equal(parse(json, &links, &c, err), IMGPIPE_OK);
    static const char *const want[] = {"HTTPS://x/ok.jpg", "https://x/b.png"};
    assert_links(&links, want, 2);
    assert_int_equal(c.skipped_type, 18);
    assert_int_equal(c.skipped_album, 1);
    imgpipe_strvec_free(&links);
}

static void test_hostile_input_does_not_crash(void **state)
{
    (void)state;
    imgpipe_strvec links = {0};
    imgpipe_source_counts c;
    char err[IMGPIPE_ERRLEN];
    /* Deep nesting: jansson's depth limit turns it into an error, not a stack overflow. */
    size_t depth = 100000;
    char *deep = malloc(depth * 2 + 32);
    assert_non_null(deep);
    size_t n = (size_t)sprintf(deep, "{\"data\":");
    memset(deep + n, '[', depth);
    memset(deep + n + depth, ']', depth);
    strcpy(deep + n + 2 * depth, "}");
    assert_int_equal(parse(deep, &links, &c, err), IMGPIPE_EAPI);
    free(deep);
    /* Huge numbers. */
    assert_int_equal(parse("{\"data\":[1e400]}", &links, &c, err), IMGPIPE_EAPI);
    assert_int_equal(parse("{\"data\":[],\"status\":99999999999999999999999}", &links, &c, err),
                     IMGPIPE_EAPI);
    assert_int_equal(parse("{\"data\":{\"error\":\"x\"},\"success\":false,"
                           "\"status\":9223372036854775807}",
                           &links, &c, err),
                     IMGPIPE_EAPI);
    assert_non_null(strstr(err, "9223372036854775807"));
    /* A huge error text is cut, not overflowed. */
    char big[8192];
    n = (size_t)sprintf(big, "{\"data\":{\"error\":\"");
    memset(big + n, 'A', 6000);
    strcpy(big + n + 6000, "\"},\"success\":false}");
    assert_int_equal(parse(big, &links, &c, err), IMGPIPE_EAPI);
    assert_true(strlen(err) < IMGPIPE_ERRLEN);
    /* Duplicate keys are refused rather than resolved one way or another. */
    assert_int_equal(parse("{\"data\":[],\"data\":5}", &links, &c, err), IMGPIPE_EAPI);
    assert_int_equal(links.n, 0);
}

/* One item whose text is not valid Unicode (a lone surrogate escape, invalid UTF-8 bytes,
 * an encoded surrogate, an overlong form, a NUL escape) costs at most that item, never
 * the page. */
static void test_bad_text_costs_one_item_at_most(void **state)
{
    (void)state;
    imgpipe_strvec links = {0};
    imgpipe_source_counts c;
    char err[IMGPIPE_ERRLEN];
    const char *json =
        "{\"data\":["
        "{\"title\":\"lone \\ud800 high\",\"type\":\"image/jpeg\",\"link\":\"https://x/1.jpg\"},"
        "{\"title\":\"lone \\uDC00 low\",\"type\":\"image/jpeg\",\"link\":\"https://x/2.jpg\"},"
        "{\"title\":\"high at end \\ud800\",\"type\":\"image/png\",\"link\":\"https://x/3.png\"},"
        "{\"title\":\"bad \xff\xfe bytes \xc3\",\"type\":\"image/jpeg\","
        "\"link\":\"https://x/4.jpg\"},"
        "{\"title\":\"encoded surrogate \xed\xa0\x80, overlong \xc0\xaf\",\"type\":\"image/jpeg\","
        "\"link\":\"https://x/5.jpg\"},"
        "{\"title\":\"nul \\u0000\",\"type\":\"image/jpeg\",\"link\":\"https://x/6.jpg\"},"
        "{\"title\":\"a pair \\ud83d\\ude00 and \\\\ud800 is text\",\"type\":\"image/jpeg\","
        "\"link\":\"https://x/7.jpg\"},"
        "{\"title\":\"ok \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\",\"type\":\"image/jpeg\","
        "\"link\":\"https://x/8.jpg\"},"
        /* The link itself is not text, or hides a NUL: that item is skipped. */
        "{\"type\":\"image/jpeg\",\"link\":\"https://x/\xff.jpg\"},"
        "{\"type\":\"image/jpeg\",\"link\":\"https://x/\\udc00.jpg\"},"
        "{\"type\":\"image/jpeg\",\"link\":\"https://x/9.jpg\\u0000.exe\"}"
        "],\"success\":true,\"status\":200}";
    assert_int_equal(parse(json, &links, &c, err), IMGPIPE_OK);
    static const char *const want[] = {"https://x/1.jpg", "https://x/2.jpg", "https://x/3.png",
                                       "https://x/4.jpg", "https://x/5.jpg", "https://x/6.jpg",
                                       "https://x/7.jpg", "https://x/8.jpg"};
    assert_links(&links, want, 8);
    assert_int_equal(c.skipped_type, 3);
    imgpipe_strvec_free(&links);
    /* The repair does not make broken JSON parse. */
    assert_int_equal(parse("{\"data\":[\"\\ud800\"", &links, &c, err), IMGPIPE_EAPI);
    assert_int_equal(parse("{\"data\":[\xff]}", &links, &c, err), IMGPIPE_EAPI);
    assert_int_equal(links.n, 0);
}

/* ---- imgpipe_imgur_path ---------------------------------------------------------------- */

static void assert_path(const char *spec, const char *want)
{
    char path[256], err[IMGPIPE_ERRLEN];
    assert_int_equal(imgpipe_imgur_path(spec, path, sizeof(path), err), IMGPIPE_OK);
    assert_string_equal(path, want);
}

static void assert_bad_spec(const char *spec)
{
    char path[256] = "untouched", err[IMGPIPE_ERRLEN] = "";
    assert_int_equal(imgpipe_imgur_path(spec, path, sizeof(path), err), IMGPIPE_EINVAL);
    assert_non_null(strstr(err, "imgur:gallery/<section>"));
    assert_non_null(strstr(err, "imgur:album/<id>"));
    assert_non_null(strstr(err, "imgur:r/<subreddit>"));
    assert_non_null(strstr(err, "imgur:tag/<tag>"));
    assert_string_equal(path, "untouched");
}

static void test_path_forms(void **state)
{
    (void)state;
    assert_path("random", "/3/gallery/random/random/");
    assert_path("gallery/hot", "/3/gallery/hot");
    assert_path("gallery/hot/viral", "/3/gallery/hot/viral");
    assert_path("gallery/top/top/week", "/3/gallery/top/top/week");
    assert_path("gallery/user/rising/all/2", "/3/gallery/user/rising/all/2");
    assert_path("album/AbC_1-2", "/3/album/AbC_1-2");
    assert_path("r/pics", "/3/gallery/r/pics");
    assert_path("r/earthporn/top/all/3", "/3/gallery/r/earthporn/top/all/3");
    assert_path("tag/cats", "/3/gallery/t/cats");
    assert_path("tag/funny_cats/top/month/0", "/3/gallery/t/funny_cats/top/month/0");
}

static void assert_page_path(const char *spec, int n, const char *want)
{
    char path[256], err[IMGPIPE_ERRLEN];
    assert_int_equal(imgpipe_imgur_page_path(spec, n, path, sizeof(path), err), IMGPIPE_OK);
    assert_string_equal(path, want);
}

static void test_page_paths(void **state)
{
    (void)state;
    /* Page 0 is the spec as written; later pages spell out Imgur's defaults. */
    assert_page_path("gallery/hot", 0, "/3/gallery/hot");
    assert_page_path("gallery/hot", 1, "/3/gallery/hot/viral/day/1");
    assert_page_path("gallery/top/top", 2, "/3/gallery/top/top/day/2");
    assert_page_path("gallery/hot/viral/week/4", 3, "/3/gallery/hot/viral/week/7");
    assert_page_path("r/pics", 1, "/3/gallery/r/pics/time/week/1");
    assert_page_path("r/pics/top/all/999999999", 1, "/3/gallery/r/pics/top/all/1000000000");
    assert_page_path("tag/cats", 2, "/3/gallery/t/cats/viral/week/2");
    assert_page_path("tag/cats/top", 0, "/3/gallery/t/cats/top");
    assert_page_path("random", 0, "/3/gallery/random/random/");
    assert_true(imgpipe_imgur_is_paged("gallery/hot"));
    assert_true(imgpipe_imgur_is_paged("r/pics"));
    assert_true(imgpipe_imgur_is_paged("tag/cats"));
    assert_false(imgpipe_imgur_is_paged("random"));
    assert_false(imgpipe_imgur_is_paged("album/x"));
    assert_false(imgpipe_imgur_is_paged(NULL));
    char path[256], err[IMGPIPE_ERRLEN];
    assert_int_equal(imgpipe_imgur_page_path("album/x", 1, path, sizeof(path), err),
                     IMGPIPE_EINVAL);
    assert_non_null(strstr(err, "no pages"));
    assert_int_equal(imgpipe_imgur_page_path("random", 1, path, sizeof(path), err), IMGPIPE_EINVAL);
    assert_int_equal(imgpipe_imgur_page_path("r/pics", -1, path, sizeof(path), err),
                     IMGPIPE_EINVAL);
    char small[20];
    assert_int_equal(imgpipe_imgur_page_path("r/pics", 1, small, sizeof(small), err),
                     IMGPIPE_EINVAL);
    assert_non_null(strstr(err, "too long"));
}

static void test_path_invalid(void **state)
{
    (void)state;
    assert_bad_spec("gallery/../x");
    assert_bad_spec("album/");
    assert_bad_spec("album");
    assert_bad_spec("album/a/b");
    assert_bad_spec("foo");
    assert_bad_spec("");
    assert_bad_spec("gallery/a b");
    assert_bad_spec("gallery");
    assert_bad_spec("gallery/");
    assert_bad_spec("gallery/hot/");
    assert_bad_spec("gallery//hot");
    assert_bad_spec("gallery/a/b/c/d/e");
    assert_bad_spec("gallery/hot?x=1");
    assert_bad_spec("random/x");
    assert_bad_spec("RANDOM");
    assert_bad_spec("album/%2e%2e");
    assert_bad_spec("r/");
    assert_bad_spec("r");
    assert_bad_spec("r//x");
    assert_bad_spec("r/pics/");
    assert_bad_spec("r/a.b");
    assert_bad_spec("r/pics/top/all/x");
    assert_bad_spec("r/pics/top/all/1/2");
    assert_bad_spec("tag/");
    assert_bad_spec("tag/a/b/c/d/e");
    assert_bad_spec("tag/caf\xc3\xa9");
    assert_bad_spec("tag/cats/top/week/1234567890");
    assert_bad_spec("t/cats");
    assert_bad_spec("gallery/hot/viral/day/-1");
    char err[IMGPIPE_ERRLEN];
    char path[256];
    assert_int_equal(imgpipe_imgur_path(NULL, path, sizeof(path), err), IMGPIPE_EINVAL);
}

static void test_path_buffer_too_small(void **state)
{
    (void)state;
    char path[8], err[IMGPIPE_ERRLEN];
    assert_int_equal(imgpipe_imgur_path("album/abcdef", path, sizeof(path), err), IMGPIPE_EINVAL);
    assert_non_null(strstr(err, "too long"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gallery_filters_and_expands),
        cmocka_unit_test(test_counts_accumulate_and_links_append),
        cmocka_unit_test(test_album_object),
        cmocka_unit_test(test_album_images_array),
        cmocka_unit_test(test_empty_album_object_counts_skipped_album),
        cmocka_unit_test(test_tag_items),
        cmocka_unit_test(test_empty_pages_count_nothing),
        cmocka_unit_test(test_api_error_string),
        cmocka_unit_test(test_api_error_object),
        cmocka_unit_test(test_api_error_odd_shapes),
        cmocka_unit_test(test_malformed_json),
        cmocka_unit_test(test_wrong_shapes),
        cmocka_unit_test(test_bad_items_are_skipped),
        cmocka_unit_test(test_hostile_input_does_not_crash),
        cmocka_unit_test(test_bad_text_costs_one_item_at_most),
        cmocka_unit_test(test_path_forms),
        cmocka_unit_test(test_page_paths),
        cmocka_unit_test(test_path_invalid),
        cmocka_unit_test(test_path_buffer_too_small),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
