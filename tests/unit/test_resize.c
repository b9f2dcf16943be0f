/* The Lanczos3 resampler (src/lib/resize.c) on synthetic rasters. */
#include "testutil.h"
#include "image/image.h"

#include <stdlib.h>
#include <string.h>

static void fill(struct imgpipe_image *img, const unsigned char *px)
{
    for (int y = 0; y < img->height; y++)
        for (int x = 0; x < img->width; x++)
            memcpy(img->pixels + y * img->stride + (size_t)x * img->channels, px,
                   (size_t)img->channels);
}

static void test_uniform_stays_uniform(void **state)
{
    (void)state;
    const unsigned char px[4] = {200, 13, 255, 77};
    const int sizes[][4] = {{640, 480, 64, 48}, {100, 3, 7, 1}, {5, 300, 1, 9}, {33, 17, 32, 16}};
    for (int ch = 1; ch <= 4; ch++)
        for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
            struct imgpipe_image src, dst;
            assert_int_equal(imgpipe_image_alloc(&src, sizes[s][0], sizes[s][1], ch), 0);
            fill(&src, px);
            assert_int_equal(imgpipe_resize(&src, sizes[s][2], sizes[s][3], &dst), 0);
            assert_int_equal(dst.width, sizes[s][2]);
            assert_int_equal(dst.height, sizes[s][3]);
            assert_int_equal(dst.channels, ch);
            for (int i = 0; i < dst.width * dst.height; i++)
                assert_memory_equal(dst.pixels + (size_t)i * ch, px, (size_t)ch);
            imgpipe_image_free(&src);
            imgpipe_image_free(&dst);
        }
}

static void test_same_size_is_a_copy(void **state)
{
    (void)state;
    struct imgpipe_image src, dst;
    assert_int_equal(imgpipe_image_alloc(&src, 7, 5, 3), 0);
    for (size_t i = 0; i < src.stride * 5; i++)
        src.pixels[i] = (unsigned char)(i * 37);
    assert_int_equal(imgpipe_resize(&src, 7, 5, &dst), 0);
    assert_memory_equal(dst.pixels, src.pixels, src.stride * 5);
    imgpipe_image_free(&src);
    imgpipe_image_free(&dst);
}

/* A 1-pixel-wide white line on black, shrunk 8x: an antialiased filter spreads its energy
 * (about 255/8 at the line's output pixel) instead of dropping or keeping it whole, which is
 * what point sampling would do. */
static void test_antialiases_thin_lines(void **state)
{
    (void)state;
    struct imgpipe_image src, dst;
    assert_int_equal(imgpipe_image_alloc(&src, 64, 8, 1), 0);
    memset(src.pixels, 0, src.stride * 8);
    for (int y = 0; y < 8; y++)
        src.pixels[y * src.stride + 20] = 255;
    assert_int_equal(imgpipe_resize(&src, 8, 1, &dst), 0);
    int sum = 0;
    for (int x = 0; x < 8; x++) {
        sum += dst.pixels[x];
        assert_true(dst.pixels[x] < 80);
    }
    /* Energy kept: 255 / 8 = 31.9, plus what clamping Lanczos' negative lobes adds. */
    assert_in_range(sum, 28, 42);
    assert_in_range(dst.pixels[2], 20, 40);
    imgpipe_image_free(&src);
    imgpipe_image_free(&dst);
}

/* Transparent pixels carry colour that must not leak into visible ones. */
static void test_premultiplied_alpha(void **state)
{
    (void)state;
    struct imgpipe_image src, dst;
    assert_int_equal(imgpipe_image_alloc(&src, 16, 16, 2), 0);
    for (int y = 0; y < 16; y++)
        for (int x = 0; x < 16; x++) {
            unsigned char *p = src.pixels + y * src.stride + x * 2;
            p[0] = (x + y) % 2 ? 255 : 0; /* white is invisible, black is opaque */
            p[1] = (x + y) % 2 ? 0 : 255;
        }
    assert_int_equal(imgpipe_resize(&src, 4, 4, &dst), 0);
    for (int i = 0; i < 16; i++) {
        assert_int_equal(dst.pixels[i * 2], 0);
        assert_in_range(dst.pixels[i * 2 + 1], 120, 135);
    }
    imgpipe_image_free(&src);
    imgpipe_image_free(&dst);
}

static void test_rejects_bad_sizes(void **state)
{
    (void)state;
    struct imgpipe_image src, dst;
    assert_int_equal(imgpipe_image_alloc(&src, 4, 4, 3), 0);
    assert_int_equal(imgpipe_resize(&src, 0, 4, &dst), IMGPIPE_EINVAL);
    assert_int_equal(imgpipe_resize(&src, 4, -1, &dst), IMGPIPE_EINVAL);
    imgpipe_image_free(&src);
    assert_int_equal(imgpipe_image_alloc(&src, 4, 4, 5), IMGPIPE_EINVAL);
    assert_null(src.pixels);
}

/* Feeds a 4x2 gray image (row 0 black, row 1 at 240) to a resizer to 4x1 whose rows span
 * ext_h source units; returns the result's first sample. */
static int two_rows_to_one(double ext_h)
{
    const unsigned char rows[2][4] = {{0, 0, 0, 0}, {240, 240, 240, 240}};
    struct imgpipe_resizer *r;
    struct imgpipe_image dst;
    assert_int_equal(imgpipe_resizer_new_part(&r, 4, 2, 4, ext_h, 1, 4, 1), 0);
    imgpipe_resizer_row(r, rows[0]);
    imgpipe_resizer_row(r, rows[1]);
    assert_int_equal(imgpipe_resizer_finish(r, &dst), 0);
    int v = dst.pixels[0];
    imgpipe_image_free(&dst);
    imgpipe_resizer_free(r);
    return v;
}

/* A DCT-scaled JPEG's last row may stand for a quarter of a row: it weighs that much, not
 * as much as a whole one (a 1000x3 JPEG's thumbnail was 36 levels off). */
static void test_partial_last_row_weighs_its_part(void **state)
{
    (void)state;
    int whole = two_rows_to_one(2.0), quarter = two_rows_to_one(1.25);
    assert_in_range(whole, 110, 130);
    assert_true(quarter < whole - 40);
    /* Spanning its whole size is the plain resize; more than that, or a row less, is refused. */
    struct imgpipe_resizer *r;
    assert_int_equal(imgpipe_resizer_new_part(&r, 4, 2, 4, 2.5, 1, 4, 1), IMGPIPE_EINVAL);
    assert_int_equal(imgpipe_resizer_new_part(&r, 4, 2, 3, 2, 1, 4, 1), IMGPIPE_EINVAL);
    assert_null(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uniform_stays_uniform),
        cmocka_unit_test(test_same_size_is_a_copy),
        cmocka_unit_test(test_antialiases_thin_lines),
        cmocka_unit_test(test_premultiplied_alpha),
        cmocka_unit_test(test_rejects_bad_sizes),
        cmocka_unit_test(test_partial_last_row_weighs_its_part),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
