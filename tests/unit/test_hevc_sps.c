/* hevc_sps.c: the picture size of hand-made SPS units (sub-layers, chroma 4:4:4, emulation
 * prevention), refusals (truncated, not an SPS, an over-long ue(v)) and hvcC records. */
#include "image/codec.h"
#include "testutil.h"

#include <string.h>

static void test_sizes(void **state)
{
    (void)state;
    static const struct {
        int sub;
        unsigned prof, lev, chroma;
        uint32_t w, h;
    } cases[] = {
        {0, 0, 0, 1, 64, 64},
        {0, 0, 0, 1, 20000, 20000},
        {0, 0, 0, 3, 4032, 3024}, /* separate_colour_plane_flag read */
        {1, 1, 0, 1, 1920, 1080},
        {3, 5, 2, 1, 8, 8},           /* sub-layers 0 and 2 with a profile, 1 with a level */
        {6, 0x3f, 0x3f, 2, 1, 1},     /* the most profile_tier_level can hold */
        {0, 0, 0, 0, 4294967294u, 7}, /* ue(v) of 31 leading zeros */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        unsigned char sps[300];
        size_t n = testutil_hevc_sps(sps, sizeof(sps), cases[i].sub, cases[i].prof, cases[i].lev,
                                     cases[i].chroma, cases[i].w, cases[i].h, 4);
        assert_non_null(memchr(sps + 2, 3, n - 2)); /* zeros in the PTL: 00 00 03 written */
        uint32_t w = 0, h = 0;
        assert_int_equal(imgpipe_hevc_sps_size(sps, n, &w, &h), 0);
        assert_int_equal(w, cases[i].w);
        assert_int_equal(h, cases[i].h);
        /* cut anywhere before the height ends: refused, never read past */
        size_t whole = testutil_hevc_sps(sps, sizeof(sps), cases[i].sub, cases[i].prof,
                                         cases[i].lev, cases[i].chroma, cases[i].w, cases[i].h, 0);
        for (size_t cut = 0; cut + 1 < whole; cut++)
            assert_int_equal(imgpipe_hevc_sps_size(sps, cut, &w, &h), -1);
    }
}

static void test_refused(void **state)
{
    (void)state;
    unsigned char sps[300];
    uint32_t w, h;
    size_t n = testutil_hevc_sps(sps, sizeof(sps), 0, 0, 0, 1, 64, 64, 4);
    sps[0] = 0x40; /* a VPS header */
    assert_int_equal(imgpipe_hevc_sps_size(sps, n, &w, &h), -1);
    n = testutil_hevc_sps(sps, sizeof(sps), 7, 0, 0, 1, 64, 64, 4); /* 8 sub-layers */
    assert_int_equal(imgpipe_hevc_sps_size(sps, n, &w, &h), -1);
    n = testutil_hevc_sps(sps, sizeof(sps), 0, 0, 0, 4, 64, 64, 4); /* chroma_format_idc 4 */
    assert_int_equal(imgpipe_hevc_sps_size(sps, n, &w, &h), -1);
    n = testutil_hevc_sps(sps, sizeof(sps), 0, 0, 0, 1, 0, 64, 4); /* no width */
    assert_int_equal(imgpipe_hevc_sps_size(sps, n, &w, &h), -1);
    /* a width of 2^32 - 1: ue(v) with 32 leading zeros, past 32 bits, refused */
    n = testutil_hevc_sps(sps, sizeof(sps), 0, 0, 0, 1, 0xffffffffu, 64, 4);
    assert_int_equal(imgpipe_hevc_sps_size(sps, n, &w, &h), -1);
    n = testutil_hevc_sps(sps, sizeof(sps), 0, 0, 0, 1, 0xfffffffeu, 64, 4); /* 31: read */
    assert_int_equal(imgpipe_hevc_sps_size(sps, n, &w, &h), 0);
    assert_int_equal(w, 0xfffffffeu);
}

/* hvcC: 22 bytes of fields, then arrays of units; the unit's own type is what counts. */
static size_t hvcc(unsigned char *out, const unsigned char *const *units, const size_t *lens, int n)
{
    memset(out, 0, 22);
    out[0] = 1;
    out[21] = 3;
    out[22] = (unsigned char)n;
    size_t at = 23;
    for (int i = 0; i < n; i++) {
        out[at] = 0x80 | 32; /* says VPS: the unit's header decides */
        out[at + 1] = 0, out[at + 2] = 1;
        out[at + 3] = (unsigned char)(lens[i] >> 8), out[at + 4] = (unsigned char)lens[i];
        memcpy(out + at + 5, units[i], lens[i]);
        at += 5 + lens[i];
    }
    return at;
}

static void test_config(void **state)
{
    (void)state;
    unsigned char a[300], b[300], rec[700];
    static const unsigned char pps[] = {0x44, 0x01, 0xc1, 0x73, 0xc0, 0x89};
    size_t na = testutil_hevc_sps(a, sizeof(a), 0, 0, 0, 1, 640, 64, 2);
    size_t nb = testutil_hevc_sps(b, sizeof(b), 2, 1, 3, 1, 64, 480, 2);
    const unsigned char *units[] = {pps, a, b};
    size_t lens[] = {sizeof(pps), na, nb};
    uint32_t w, h;
    size_t n = hvcc(rec, units, lens, 3);
    assert_int_equal(imgpipe_hevc_config_size(rec, n, &w, &h), 1);
    assert_int_equal(w, 640); /* the largest of each side over every SPS */
    assert_int_equal(h, 480);
    for (size_t cut = 0; cut < n; cut++) /* a cut record or unit: refused or no SPS yet */
        assert_true(imgpipe_hevc_config_size(rec, cut, &w, &h) <= 0);
    n = hvcc(rec, units, lens, 1);
    assert_int_equal(imgpipe_hevc_config_size(rec, n, &w, &h), 0);
    b[2] = 0xff; /* 8 sub-layers: unreadable, so the record is */
    n = hvcc(rec, units, lens, 3);
    assert_int_equal(imgpipe_hevc_config_size(rec, n, &w, &h), -1);
}

/* Units with `size`-byte lengths: a PPS, an SPS of w x h, a slice-like unit of 400 bytes. */
static size_t stream(unsigned char *out, unsigned size, uint32_t w, uint32_t h, size_t ends[3])
{
    unsigned char sps[300], slice[400];
    static const unsigned char pps[] = {0x44, 0x01, 0xc1, 0x73, 0xc0, 0x89};
    size_t ns = testutil_hevc_sps(sps, sizeof(sps), 1, 1, 1, 1, w, h, 250), at = 0;
    memset(slice, 0x5a, sizeof(slice));
    slice[0] = 0x26, slice[1] = 0x01; /* an IDR slice's header */
    const unsigned char *units[] = {pps, sps, slice};
    size_t lens[] = {sizeof(pps), size == 1 ? 255 : ns, size == 1 ? 255 : sizeof(slice)};
    for (int i = 0; i < 3; i++) {
        for (unsigned b = size; b-- > 0;)
            out[at++] = (unsigned char)(lens[i] >> (8 * b));
        memcpy(out + at, units[i], lens[i]); /* 1-byte lengths: the SPS's tail cut to 255 */
        at += lens[i];
        ends[i] = at;
    }
    return at;
}

/* The NAL units of an item's data, fed in pieces split anywhere (a length field, an SPS
 * head), with 1-, 2- and 4-byte lengths; cut units and the unit cap refused. */
static void test_walk(void **state)
{
    (void)state;
    unsigned char data[2000];
    static const unsigned sizes[] = {1, 2, 4};
    for (int s = 0; s < 3; s++) {
        size_t ends[3], n = stream(data, sizes[s], 4032, 3024, ends);
        for (size_t split = 0; split <= n; split += split < 300 ? 1 : 97) {
            uint64_t units = 0;
            struct imgpipe_hevc_walk w = {.length_size = sizes[s], .units = &units};
            assert_int_equal(imgpipe_hevc_walk_feed(&w, data, split), 0);
            assert_int_equal(imgpipe_hevc_walk_feed(&w, data + split, n - split), 0);
            assert_int_equal(imgpipe_hevc_walk_end(&w), 0);
            assert_int_equal(w.found, 1);
            assert_int_equal(w.width, 4032);
            assert_int_equal(w.height, 3024);
            assert_int_equal(units, 3);
        }
        for (size_t cut = 1; cut < n; cut++) { /* ends inside a length or a unit */
            uint64_t units = 0;
            struct imgpipe_hevc_walk w = {.length_size = sizes[s], .units = &units};
            assert_int_equal(imgpipe_hevc_walk_feed(&w, data, cut), 0);
            if (cut != ends[0] && cut != ends[1])
                assert_int_equal(imgpipe_hevc_walk_end(&w), -1);
        }
    }
    uint64_t units = 0;
    struct imgpipe_hevc_walk w = {.length_size = 3, .units = &units};
    assert_int_equal(imgpipe_hevc_walk_feed(&w, data, 8), -1);
    /* an SPS that cannot be read as far as its size */
    size_t ends[3], n = stream(data, 4, 64, 64, ends);
    data[4 + 6 + 4 + 2] = 0xff; /* 8 sub-layers */
    w = (struct imgpipe_hevc_walk){.length_size = 4, .units = &units};
    assert_int_equal(imgpipe_hevc_walk_feed(&w, data, n), -1);
    /* empty units count against the cap too */
    static const unsigned char empty[4096] = {0};
    units = 0;
    w = (struct imgpipe_hevc_walk){.length_size = 4, .units = &units};
    int rc = 0;
    for (int i = 0; i < 1100 && rc == 0; i++) /* 4 MB: a million 4-byte lengths */
        rc = imgpipe_hevc_walk_feed(&w, empty, sizeof(empty));
    assert_int_equal(rc, -2);
    assert_int_equal(units, IMGPIPE_HEVC_MAX_UNITS + 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_walk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
