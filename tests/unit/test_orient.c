/* EXIF orientation parsing and the eight upright transforms (src/lib/orient.c). */
#include "testutil.h"
#include "image/image.h"

#include <stdlib.h>
#include <string.h>

/* A little-endian TIFF block with IFD0 holding one entry (tag, type, count, value). */
static size_t tiff_le(unsigned char *t, unsigned tag, unsigned type, unsigned count, unsigned value)
{
    memset(t, 0, 26);
    memcpy(t, "II*\0\x08\0\0\0\x01\0", 10);
    t[10] = (unsigned char)tag, t[11] = (unsigned char)(tag >> 8);
    t[12] = (unsigned char)type, t[13] = (unsigned char)(type >> 8);
    t[14] = (unsigned char)count;
    t[18] = (unsigned char)value, t[19] = (unsigned char)(value >> 8);
    return 26;
}

static void test_exif_reads_orientation(void **state)
{
    (void)state;
    unsigned char t[26];
    for (unsigned o = 1; o <= 8; o++)
        assert_int_equal(imgpipe_exif_orientation(t, tiff_le(t, 0x0112, 3, 1, o)), (int)o);
    const unsigned char be[] = "MM\0*\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0\x06\0\0\0\0\0\0";
    assert_int_equal(imgpipe_exif_orientation(be, sizeof(be) - 1), 6);
}

static void test_exif_broken_reads_as_1(void **state)
{
    (void)state;
    unsigned char t[26];
    size_t n = tiff_le(t, 0x0112, 3, 1, 6);
    for (size_t cut = 0; cut < 20; cut++) /* the entry ends at byte 22 */
        assert_int_equal(imgpipe_exif_orientation(t, cut), 1);
    assert_int_equal(imgpipe_exif_orientation(NULL, 0), 1);
    tiff_le(t, 0x0112, 3, 1, 9);
    assert_int_equal(imgpipe_exif_orientation(t, n), 1);
    tiff_le(t, 0x0112, 3, 1, 0);
    assert_int_equal(imgpipe_exif_orientation(t, n), 1);
    tiff_le(t, 0x0112, 4, 1, 6); /* LONG, not SHORT */
    assert_int_equal(imgpipe_exif_orientation(t, n), 1);
    tiff_le(t, 0x0110, 3, 1, 6); /* another tag */
    assert_int_equal(imgpipe_exif_orientation(t, n), 1);
    tiff_le(t, 0x0112, 3, 1, 6);
    t[4] = 0xF0; /* IFD offset past the end */
    assert_int_equal(imgpipe_exif_orientation(t, n), 1);
    tiff_le(t, 0x0112, 3, 1, 6);
    t[8] = 0xFF, t[9] = 0xFF; /* 65535 entries claimed */
    tiff_le(t, 0x0111, 3, 1, 6);
    t[8] = 0xFF, t[9] = 0xFF;
    assert_int_equal(imgpipe_exif_orientation(t, n), 1);
    memcpy(t, "XX*\0", 4);
    assert_int_equal(imgpipe_exif_orientation(t, n), 1);
}

static void test_jpeg_orientation_walks_markers(void **state)
{
    (void)state;
    unsigned char px[16 * 16];
    memset(px, 100, sizeof(px));
    size_t len, elen;
    unsigned char *jpeg = testutil_jpeg(px, 16, 16, 1, 80, &len);
    assert_int_equal(imgpipe_jpeg_orientation(jpeg, len), 1);
    unsigned char *exif = testutil_jpeg_add_exif(jpeg, len, 8, 0, &elen);
    assert_int_equal(imgpipe_jpeg_orientation(exif, elen), 8);
    /* Cut inside the APP1 segment: never read past len, and fall back to 1. */
    for (size_t cut = 0; cut < 2 + 2 + 34; cut++) /* SOI, marker, 34-byte segment */
        assert_int_equal(imgpipe_jpeg_orientation(exif, cut), 1);
    /* A segment length running past the end. */
    exif[4] = 0xFF;
    assert_int_equal(imgpipe_jpeg_orientation(exif, elen), 1);
    free(exif);
    free(jpeg);
}

/* A 3x2 one-channel image numbered row by row:  1 2 3 / 4 5 6. */
static void expect_transform(int o, int w, int h, const char *want)
{
    struct imgpipe_image img;
    assert_int_equal(imgpipe_image_alloc(&img, 3, 2, 1), IMGPIPE_OK);
    for (int i = 0; i < 6; i++)
        img.pixels[i] = (unsigned char)('1' + i);
    assert_int_equal(imgpipe_orient(&img, o), IMGPIPE_OK);
    assert_int_equal(img.width, w);
    assert_int_equal(img.height, h);
    assert_memory_equal(img.pixels, want, 6);
    imgpipe_image_free(&img);
}

static void test_orient_all_eight(void **state)
{
    (void)state;
    expect_transform(1, 3, 2, "123456");
    expect_transform(2, 3, 2, "321654");
    expect_transform(3, 3, 2, "654321");
    expect_transform(4, 3, 2, "456123");
    expect_transform(5, 2, 3, "142536");
    expect_transform(6, 2, 3, "415263"); /* clockwise: the left column becomes the top row */
    expect_transform(7, 2, 3, "635241");
    expect_transform(8, 2, 3, "362514"); /* counter-clockwise */
    expect_transform(0, 3, 2, "123456");
    expect_transform(42, 3, 2, "123456");
}

static void test_orient_keeps_channels(void **state)
{
    (void)state;
    struct imgpipe_image img;
    assert_int_equal(imgpipe_image_alloc(&img, 2, 1, 4), IMGPIPE_OK);
    memcpy(img.pixels, "abcdABCD", 8);
    assert_int_equal(imgpipe_orient(&img, 6), IMGPIPE_OK);
    assert_int_equal(img.width, 1);
    assert_int_equal(img.height, 2);
    assert_memory_equal(img.pixels, "abcdABCD", 8);
    imgpipe_image_free(&img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exif_reads_orientation),
        cmocka_unit_test(test_exif_broken_reads_as_1),
        cmocka_unit_test(test_jpeg_orientation_walks_markers),
        cmocka_unit_test(test_orient_all_eight),
        cmocka_unit_test(test_orient_keeps_channels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
