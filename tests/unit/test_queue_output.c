/* imgpipe_q_output: one spelling per output directory, the key of its name registry. */
#include "queue/queue.h"
#include "testutil.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char out[4096], err[IMGPIPE_ERRLEN];

static const char *spell(const char *dir)
{
    return imgpipe_q_output(dir, out, sizeof(out), err) == IMGPIPE_OK ? out : err;
}

static void test_absolute_spellings_are_one(void **state)
{
    (void)state;
    /* Already canonical: kept as is, so registries in use keep their keys. */
    assert_string_equal(spell("/srv/img"), "/srv/img");
    assert_string_equal(spell("/"), "/");
    assert_string_equal(spell("//srv///img"), "/srv/img");
    assert_string_equal(spell("/srv/./img/."), "/srv/img");
    assert_string_equal(spell("/srv/img//"), "/srv/img");
    assert_string_equal(spell("/./"), "/");
    assert_string_equal(spell("/.."), "/");
    assert_string_equal(spell("s3://bucket/prefix//"), "s3://bucket/prefix");
}

static void test_relative_from_cwd(void **state)
{
    (void)state;
    char *tmp = testutil_tmpdir(), saved[PATH_MAX], real[PATH_MAX], want[PATH_MAX + 8];
    assert_non_null(getcwd(saved, sizeof(saved)));
    assert_int_equal(chdir(tmp), 0);
    assert_non_null(getcwd(real, sizeof(real)));
    assert_string_equal(spell("."), real);
    assert_string_equal(spell("./"), real);
    snprintf(want, sizeof(want), "%s/out", real);
    assert_string_equal(spell("out"), want);
    assert_string_equal(spell("./out/."), want);
    assert_string_equal(spell("out//"), want);
    assert_int_equal(chdir(saved), 0);
    testutil_rmtree(tmp);
    free(tmp);
}

static void test_dotdot_resolved_only_through_real_directories(void **state)
{
    (void)state;
    char *tmp = testutil_tmpdir(), p[PATH_MAX + 32], want[PATH_MAX + 32];
    snprintf(p, sizeof(p), "%s/a", tmp);
    assert_int_equal(mkdir(p, 0700), 0);
    snprintf(p, sizeof(p), "%s/a/b", tmp);
    assert_int_equal(mkdir(p, 0700), 0);
    snprintf(p, sizeof(p), "%s/link", tmp);
    assert_int_equal(symlink("a/b", p), 0);
    snprintf(want, sizeof(want), "%s/out", tmp);
    snprintf(p, sizeof(p), "%s/a/../out", tmp);
    assert_string_equal(spell(p), want);
    snprintf(p, sizeof(p), "%s/link/../out", tmp); /* physically a/out */
    assert_int_equal(imgpipe_q_output(p, out, sizeof(out), err), IMGPIPE_EINVAL);
    assert_non_null(strstr(err, "symbolic link"));
    snprintf(p, sizeof(p), "%s/missing/../out", tmp); /* cannot be checked here */
    assert_int_equal(imgpipe_q_output(p, out, sizeof(out), err), IMGPIPE_EINVAL);
    assert_non_null(strstr(err, "does not exist"));
    testutil_rmtree(tmp);
    free(tmp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_absolute_spellings_are_one),
        cmocka_unit_test(test_relative_from_cwd),
        cmocka_unit_test(test_dotdot_resolved_only_through_real_directories),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
